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
#   - frank (c1c) at the defaults with the fixtures' 17.5 KB chain (an
#     RSA-4096 end entity naming 400 devices under three RSA-4096
#     intermediates): more than a natsec peer takes whole (9216 bytes);
#     in fragments it comes up and pings too.
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
# shellcheck source=../lib/certgen.sh
. "$here/../lib/certgen.sh"

CERTS=$here/../fixtures/certs
T0=$(date +%s)

netns_init
nsd_check_build
command -v openssl >/dev/null || fail "openssl is needed to make the certificates"

step "certificates: RSA-4096 intermediate, RSA-4096 alice, RSA-2048 gateway"
certgen_frag_set
der=$(certgen_der_len "$NATSEC_TMP/alice.pem" "$NATSEC_TMP/inter.pem")
step "alice's chain: $der bytes DER"
[ "$der" -ge 3800 ] || fail "alice's chain is only $der bytes"

frank_der=0
for i in 1 2 3 4; do
  openssl crl2pkcs7 -nocrl -certfile "$CERTS/frank-big.pem" | openssl pkcs7 -print_certs |
    awk -v n="$i" '/BEGIN/ { k++ } k == n' >"$NATSEC_TMP/frank-$i.pem"
  frank_der=$((frank_der + $(certgen_der_len "$NATSEC_TMP/frank-$i.pem")))
done
step "frank's chain: $frank_der bytes DER in 4 certificates"
[ "$frank_der" -ge 16000 ] || fail "frank's chain is only $frank_der bytes"

topo_setup
client_create c1c nat1 10.1.0.4
nat_drop_ip_fragments nat1

nsd_conf_gateway gw cert="$NATSEC_TMP/gw-chain.pem" key="$NATSEC_TMP/gw.key" ca="$CERTS/ca.pem"
printf '[peer %%default]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf gw)"
client_conf() { # NAME [KEY=VALUE...]
  local name=$1
  shift
  nsd_conf_client "$name" alice@corp.example cert="$NATSEC_TMP/alice-chain.pem" \
    key="$NATSEC_TMP/alice.key" ca="$CERTS/ca.pem" retransmit_timeout=0.5 retransmit_tries=3 "$@"
  printf '[peer vpn.corp.example]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf "$name")"
}
client_conf alice
client_conf alice2 fragmentation=no
nsd_conf_client frank frank@corp.example cert="$CERTS/frank-big.pem" key="$CERTS/frank-big.key" \
  ca="$CERTS/ca.pem" retransmit_timeout=0.5 retransmit_tries=3
printf '[peer vpn.corp.example]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf frank)"

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

step "X5 X7: frank, a $frank_der-byte chain, through the same nat1"
gw_got0=$gw_got
nsd_start frank c1c
nsd_wait_up frank 1 15
nsx c1c ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through frank's tunnel"
f_sent=$(nsd_q frank .counters.ike.frag_sent)
gw_got=$(nsd_q gw .counters.ike.frag_reassembled)
step "frank sent $f_sent fragments; the gateway has put $gw_got message(s) together, $(nsd_q gw .counters.ike.frag_dropped_busy) fragment(s) refused for memory"
[ "$f_sent" -ge 14 ] && [ "$gw_got" -gt "$gw_got0" ] || fail "frank's IKE_AUTH did not go in fragments"
grep -q "'frank@corp.example' authenticated by certificate" "$(nsd_log gw)" ||
  fail "the gateway did not authenticate frank by his certificate"

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
dropped=$(nat_ip_fragments_dropped nat1)
step "nat1 dropped $dropped IP fragments (alice2's IKE_AUTH, each try)"
[ "${dropped:-0}" -ge 4 ] || fail "nat1 dropped no IP fragments"
[ "$(nsd_q gw '[.ike_sas[] | select(.state == "ESTABLISHED")] | length')" -eq 2 ] ||
  fail "the gateway should hold the IKE SAs of alice and frank only"
capture_stop "$cap"

# The wire, decoded: SKF payloads (type 53) both ways for alice, no frame
# tshark calls malformed.
frags=$(ike_tshark "$cap" -Y "isakmp.frag.number" -T fields -e ip.src 2>/dev/null | sort | uniq -c | awk '{ printf "%s %s; ", $2, $1 }')
step "IKE fragments on the wire (source, count): $frags"
ike_tshark "$cap" -Y "isakmp.frag.number && ip.src == $NAT1_PUB" 2>/dev/null | quiet_grep . ||
  fail "no IKE fragment from alice's NAT"
ike_tshark "$cap" -Y "isakmp.frag.number && ip.src == $GW_PUB" 2>/dev/null | quiet_grep . ||
  fail "no IKE fragment from the gateway"
malformed=$(ike_tshark "$cap" -Y _ws.malformed 2>/dev/null)
[ -z "$malformed" ] || fail "tshark finds malformed frames: $malformed"

nsd_alive gw
nsd_alive alice
nsd_alive alice2
nsd_alive frank
step "PASS in $(($(date +%s) - T0)) s"
