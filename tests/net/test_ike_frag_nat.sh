#!/usr/bin/env bash
# IKE fragmentation (RFC 7383, X5, X7) through a NAT that drops every IP
# fragment: nat1 drops, before its connection tracking could put them
# together, every packet with MF set or a fragment offset (both ways).
# Behind it alice (c1) authenticates with a certificate chain of about
# 4 KiB (an RSA-4096 end entity under an RSA-4096 intermediate of the
# fixtures' CA, made here); the gateway's chain (RSA-2048 under the same
# intermediate) is above the MTU too.
#   - alice at the defaults (fragmentation = yes): IKE_AUTH goes in SKF
#     fragments both ways, no IP fragment on the wire, the tunnel comes up
#     and pings; tshark decodes every frame (no malformed one).
#   - alice2 (c1b, the same certificate) with fragmentation = no: its
#     IKE_AUTH goes as IP fragments, nat1 drops them; alice2 gives up with
#     a line that says so, and so does the gateway when the half-open SA
#     expires (30 s after IKE_SA_INIT; alice2 starts first so the two
#     cases overlap).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

CERTS=$here/../fixtures/certs
T0=$(date +%s)

netns_init
nsd_check_build
command -v openssl >/dev/null || fail "openssl is needed to make the certificates"

# The keys first, side by side (RSA-4096 key generation takes a second or
# more each): key NAME BITS.
key() {
  openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$NATSEC_TMP/$1.key"
}
# issue NAME SUBJECT EXT ISSUER: NAME.pem for NAME.key signed by ISSUER
# (.pem/.key) with the extensions EXT.
issue() {
  local name=$1 subj=$2 ext=$3 issuer=$4 dir=$NATSEC_TMP
  openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" ||
    fail "cannot make $name's request"
  printf '%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' "$ext" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 -extfile "$dir/$name.ext" \
    -out "$dir/$name.pem" 2>/dev/null || fail "cannot issue $name's certificate"
}
leaf_ext() {
  printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectAltName = %s' "$1"
}
step "certificates: RSA-4096 intermediate, RSA-4096 alice, RSA-2048 gateway"
key inter 4096 &
k1=$!
key alice 4096 &
k2=$!
BG_PIDS+=("$k1" "$k2") # ended by the cleanup should the script fail first
key gw 2048 || fail "cannot make the gateway's key"
wait "$k1" && wait "$k2" || fail "cannot make the RSA-4096 keys"
issue inter "/C=CH/O=Corp/CN=Corp RSA-4096 Intermediate" \
  "$(printf 'basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign')" \
  "$CERTS/ca"
# alice's certificate names her devices too, as some corporate CAs do:
# with the intermediate about 4 KB of DER.
names=email:alice@corp.example
for i in $(seq -w 1 40); do names="$names,DNS:alice-device-$i.clients.corp.example"; done
issue alice "/C=CH/O=Corp/OU=Remote Workers/CN=alice" "$(leaf_ext "$names")" "$NATSEC_TMP/inter"
issue gw "/C=CH/O=Corp/CN=vpn.corp.example" "$(leaf_ext DNS:vpn.corp.example)" "$NATSEC_TMP/inter"
cat "$NATSEC_TMP/inter.pem" >>"$NATSEC_TMP/alice.pem"
cat "$NATSEC_TMP/inter.pem" >>"$NATSEC_TMP/gw.pem"
der=0
for f in alice inter; do # the first certificate of each file
  der=$((der + $(openssl x509 -in "$NATSEC_TMP/$f.pem" -outform DER | wc -c)))
done
step "alice's chain: $der bytes DER"
[ "$der" -ge 3800 ] || fail "alice's chain is only $der bytes"

topo_setup
# Before the connection tracking (defragmentation at priority -400) sees
# them: every IP fragment, first or not, either way.
nsx nat1 nft -f - <<'EOF' || fail "nat1: nftables rules rejected"
table ip nofrag {
  chain pre {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 counter drop
  }
}
EOF

nsd_conf_gateway gw cert="$NATSEC_TMP/gw.pem" key="$NATSEC_TMP/gw.key" ca="$CERTS/ca.pem"
printf '[peer %%default]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf gw)"
client_conf() { # NAME [KEY=VALUE...]
  local name=$1
  shift
  nsd_conf_client "$name" alice@corp.example cert="$NATSEC_TMP/alice.pem" \
    key="$NATSEC_TMP/alice.key" ca="$CERTS/ca.pem" retransmit_timeout=0.5 retransmit_tries=3 "$@"
  printf '[peer vpn.corp.example]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf "$name")"
}
client_conf alice
client_conf alice2 fragmentation=no

cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "udp and host $NAT1_PUB"
nsd_start gw gw
nsd_start alice2 c1b
t_alice2=$(date +%s)
step "X5: alice, fragmentation = yes, through nat1 that drops IP fragments"
nsd_start alice c1
nsd_wait_up alice 1 15
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through alice's tunnel"
step "alice's tunnel is up and pings"
sent=$(nsd_q alice .counters.ike.frag_sent)
got=$(nsd_q alice .counters.ike.frag_reassembled)
gw_sent=$(nsd_q gw .counters.ike.frag_sent)
gw_got=$(nsd_q gw .counters.ike.frag_reassembled)
step "alice sent $sent fragments and put $got message(s) together; the gateway $gw_sent and $gw_got"
[ "$sent" -ge 4 ] && [ "$gw_got" -ge 1 ] || fail "alice's IKE_AUTH did not go in fragments"
[ "$gw_sent" -ge 2 ] && [ "$got" -ge 1 ] || fail "the gateway's IKE_AUTH did not go in fragments"
[ "$(nsd_q alice '.ike_sas[0].fragmentation')" = true ] || fail "alice's status does not show fragmentation"

step "X5: alice2, fragmentation = no, gives up, and the gateway says why"
wait_for "grep -q 'giving up' '$(nsd_log alice2)'" 15 || fail "alice2 did not give up"
line=$(grep 'giving up' "$(nsd_log alice2)" | head -n 1)
echo "  alice2: ${line#*WARN }"
[[ $line == *"to IKE_AUTH after 4 sends"*"went as IP fragments without IKE fragmentation (fragmentation = no here)"* ]] ||
  fail "alice2's line does not say its IKE_AUTH went as IP fragments"
left=$((t_alice2 + 34 - $(date +%s)))
[ "$left" -lt 5 ] && left=5
wait_for "grep -q 'no IKE_AUTH came within' '$(nsd_log gw)'" "$left" || fail "the gateway said nothing about alice2"
line=$(grep 'no IKE_AUTH came within' "$(nsd_log gw)" | head -n 1)
echo "  gateway: ${line#*INFO }"
[[ $line == *"(the peer did not offer it in IKE_SA_INIT)"*"comes as IP fragments"* ]] ||
  fail "the gateway's line does not name IKE fragmentation"
dropped=$(nsx nat1 nft list chain ip nofrag pre | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')
step "nat1 dropped $dropped IP fragments (alice2's IKE_AUTH, each try)"
[ "${dropped:-0}" -ge 4 ] || fail "nat1 dropped no IP fragments"
[ "$(nsd_q gw '[.ike_sas[] | select(.state == "ESTABLISHED")] | length')" -eq 1 ] ||
  fail "the gateway should hold alice's IKE SA only"
capture_stop "$cap"

# The wire, decoded: SKF payloads (type 53) both ways for alice, no frame
# tshark calls malformed.
frags=$(tshark -n -r "$cap" -Y "isakmp.frag.number" -T fields -e ip.src 2>/dev/null | sort | uniq -c | awk '{ printf "%s %s; ", $2, $1 }')
step "IKE fragments on the wire (source, count): $frags"
tshark -n -r "$cap" -Y "isakmp.frag.number && ip.src == $NAT1_PUB" 2>/dev/null | quiet_grep . ||
  fail "no IKE fragment from alice's NAT"
tshark -n -r "$cap" -Y "isakmp.frag.number && ip.src == $GW_PUB" 2>/dev/null | quiet_grep . ||
  fail "no IKE fragment from the gateway"
malformed=$(tshark -n -r "$cap" -Y _ws.malformed 2>/dev/null)
[ -z "$malformed" ] || fail "tshark finds malformed frames: $malformed"

nsd_alive gw
nsd_alive alice
nsd_alive alice2
step "PASS in $(($(date +%s) - T0)) s"
