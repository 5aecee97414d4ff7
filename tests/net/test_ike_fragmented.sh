#!/usr/bin/env bash
# IKE messages larger than the path MTU leave as IP fragments (X7, R4)
# without IKE fragmentation (RFC 7383, X5: fragmentation = no here, as
# with a peer that does not offer it; test_ike_frag_nat.sh has it on), so
# an IKE_AUTH carrying an RSA certificate chain (an RSA-4096 end entity
# under the RSA-2048 intermediate of tests/fixtures/certs, with the
# intermediate sent along) is about 3,000 bytes, twice the 1500-byte MTU
# of every link here. alice, behind nat1,
# and the gateway each authenticate with such a chain; the tunnel comes up
# through the NAT, the capture shows both IKE_AUTH messages in IP fragments
# on the NAT-T port, and the ESP packets on the same port keep the
# don't-fragment bit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

CERTS=$here/../fixtures/certs

netns_init
nsd_check_build
command -v openssl >/dev/null || fail "openssl is needed to make the certificates"

# An RSA-4096 certificate for SUBJECT with SAN, issued by the fixtures'
# sub-ca, followed by sub-ca's own (the chain to send): big_chain NAME SUBJECT SAN.
big_chain() {
  local name=$1 dir=$NATSEC_TMP
  openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$dir/$name.key" ||
    fail "cannot make $name's key"
  openssl req -new -key "$dir/$name.key" -subj "$2" -out "$dir/$name.csr" || fail "cannot make $name's request"
  printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectAltName = %s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' \
    "$3" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$CERTS/sub-ca.pem" -CAkey "$CERTS/sub-ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 -extfile "$dir/$name.ext" \
    -out "$dir/$name.pem" 2>/dev/null || fail "cannot issue $name's certificate"
  cat "$CERTS/sub-ca.pem" >>"$dir/$name.pem"
}
step "RSA-4096 certificate chains for the gateway and alice"
big_chain gw "/C=CH/O=Corp/CN=vpn.corp.example" "DNS:vpn.corp.example"
big_chain alice "/C=CH/O=Corp/CN=alice" "email:alice@corp.example"

topo_setup
nsd_conf_gateway gw cert="$NATSEC_TMP/gw.pem" key="$NATSEC_TMP/gw.key" ca="$CERTS/ca.pem" \
  fragmentation=no
printf '[peer %%default]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf gw)"
nsd_conf_client alice alice@corp.example cert="$NATSEC_TMP/alice.pem" key="$NATSEC_TMP/alice.key" \
  ca="$CERTS/ca.pem" fragmentation=no
printf '[peer vpn.corp.example]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf alice)"

cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "ip and host $NAT1_PUB"
nsd_start gw gw
nsd_start alice c1
step "X7: alice connects through nat1 with IKE_AUTH messages above the path MTU"
nsd_wait_up alice 1 15 || {
  tail -n 20 "$(nsd_log alice)" >&2
  fail "alice's tunnel did not come up"
}
nsd_wait_up gw
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through the tunnel"
capture_stop "$cap"

# The IKE_AUTH messages (reassembled by tshark) and the fragments they came in.
auth=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 35" -T fields -e ip.src -e udp.length 2>/dev/null)
echo "$auth" | awk 'NF { print "  IKE_AUTH from " $1 ": UDP length " $2 }'
req=$(awk -v a="$NAT1_PUB" '$1 == a { print $2; exit }' <<<"$auth")
rsp=$(awk -v a="$GW_PUB" '$1 == a { print $2; exit }' <<<"$auth")
[ -n "$req" ] && [ "$req" -ge 2700 ] || fail "alice's IKE_AUTH is ${req:-missing}, not about 3,000 bytes"
[ -n "$rsp" ] && [ "$rsp" -ge 2400 ] || fail "the gateway's IKE_AUTH is ${rsp:-missing} bytes, not well above the MTU"
frag_out=$(tshark -n -r "$cap" -o ip.defragment:FALSE -Y "ip.src == $NAT1_PUB && ip.flags.mf == 1" 2>/dev/null | wc -l)
frag_in=$(tshark -n -r "$cap" -o ip.defragment:FALSE -Y "ip.src == $GW_PUB && ip.flags.mf == 1" 2>/dev/null | wc -l)
step "IP fragments on the wire: $frag_out from alice's NAT, $frag_in from the gateway"
[ "$frag_out" -ge 1 ] && [ "$frag_in" -ge 1 ] || fail "the IKE_AUTH messages did not travel as IP fragments"

# ESP in UDP (no non-ESP marker) keeps DF.
esp_nodf=$(tshark -n -r "$cap" -o ip.defragment:FALSE -Y "udp.port == 4500 && esp && ip.flags.df == 0" 2>/dev/null | wc -l)
esp_df=$(tshark -n -r "$cap" -o ip.defragment:FALSE -Y "udp.port == 4500 && esp && ip.flags.df == 1" 2>/dev/null | wc -l)
step "ESP in UDP: $esp_df packets with DF, $esp_nodf without"
[ "$esp_df" -ge 6 ] && [ "$esp_nodf" -eq 0 ] || fail "ESP packets without DF"
grep -q "authenticated" "$(nsd_log gw)" || fail "the gateway logged no authentication"
grep -E "authenticated" "$(nsd_log gw)" | sed 's/^/  gw: /' | head -n 2

nsd_alive gw
nsd_alive alice
step "PASS"
