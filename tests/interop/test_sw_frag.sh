#!/usr/bin/env bash
# IKE fragmentation (RFC 7383, X5) with strongSwan 5.9.8 (fragmentation =
# yes, its fragment_size 1280), through nat1 that drops every IP fragment
# (nat_drop_ip_fragments), with a certificate chain of about 4 KB: alice's
# RSA-4096 certificate under an RSA-4096 intermediate (tests/lib/certgen.sh);
# the gateway's RSA-2048 one under the same intermediate.
#   A. strongSwan client (alice) in c1 -> natsec gateway: natsec puts
#      strongSwan's fragments together and sends its own answer in
#      fragments; strongSwan reassembles it; ping through the tunnel.
#   B. natsec client (alice) in c1 -> strongSwan gateway: the same the
#      other way round.
# Each time nat1 drops no IP fragment (none is sent), both sides count or
# log fragments both ways, and tshark decodes the capture without a
# malformed frame.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=SCRIPTDIR/../net/tools/nsd.sh
. "$here/../net/tools/nsd.sh"
# shellcheck source=SCRIPTDIR/../lib/strongswan.sh
. "$here/../lib/strongswan.sh"
# shellcheck source=SCRIPTDIR/lib_interop.sh
. "$here/lib_interop.sh"
# shellcheck source=SCRIPTDIR/../lib/certgen.sh
. "$here/../lib/certgen.sh"

CERTS=$here/../fixtures/certs
# pkcs8: the keys made here are PKCS#8 ("BEGIN PRIVATE KEY").
SW_PLUGINS="$SW_PLUGINS pkcs8"
T0=$(date +%s)

netns_init
nsd_check_build
step "certificates: RSA-4096 intermediate, RSA-4096 alice, RSA-2048 gateway"
certgen_frag_set
step "alice's chain: $(certgen_der_len "$NATSEC_TMP/alice.pem" "$NATSEC_TMP/inter.pem") bytes DER"
topo_setup
nat_drop_ip_fragments nat1

ping_srv() {
  local out
  out=$(nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR") || fail "ping $SRV_ADDR through the tunnel failed: $out"
}

# strongSwan instance NAME with certificate WHO (alice or gw) and the
# intermediate, trusting the fixtures' CA: sw_frag_certs NAME WHO.
sw_frag_certs() {
  sw_install_certs "$1" "$NATSEC_TMP/$2.pem" "$NATSEC_TMP/$2.key" "$CERTS/ca.pem"
  cp "$NATSEC_TMP/inter.pem" "$(sw_dir "$1")/swanctl/x509ca/"
}

# The capture: IKE fragments both ways, nothing malformed: check_wire CAP.
check_wire() {
  local cap=$1 from_nat from_gw malformed
  from_nat=$(ike_tshark "$cap" -Y "isakmp.frag.number && ip.src == $NAT1_PUB" 2>/dev/null | wc -l)
  from_gw=$(ike_tshark "$cap" -Y "isakmp.frag.number && ip.src == $GW_PUB" 2>/dev/null | wc -l)
  step "  IKE fragments on the wire: $from_nat from alice's NAT, $from_gw from the gateway"
  [ "$from_nat" -ge 4 ] || fail "alice's IKE_AUTH did not go in IKE fragments"
  [ "$from_gw" -ge 2 ] || fail "the gateway's IKE_AUTH did not go in IKE fragments"
  malformed=$(ike_tshark "$cap" -Y _ws.malformed 2>/dev/null)
  [ -z "$malformed" ] || fail "tshark finds malformed frames: $malformed"
  [ "$(nat_ip_fragments_dropped nat1)" = 0 ] || fail "nat1 dropped IP fragments: some IKE message went whole"
}

# ---------------------------------------------------------------------------
step "A. strongSwan client (alice, 4 KB chain) behind nat1 -> natsec gateway" # X5 X7
nsd_conf_gateway gw cert="$NATSEC_TMP/gw-chain.pem" key="$NATSEC_TMP/gw.key" ca="$CERTS/ca.pem"
printf '[peer %%default]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf gw)"
nsd_start gw gw
sw_start c1 alice
sw_frag_certs alice alice
sw_load alice "$(iop_sw_conn_opts "$(sw_conf_cert_client "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" \
  alice.pem "$CORP_NET")" "fragmentation = yes")"
cap=$NATSEC_TMP/frag-a.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500'
sw_initiate alice home 20 || {
  tail -n 30 "$(sw_log alice)" "$(nsd_log gw)" >&2
  fail "strongSwan could not connect through nat1"
}
nsd_wait_up gw 1 10
ping_srv
capture_stop "$cap"
log_has "strongSwan (client) sent fragments" "$(sw_log alice)" "splitting IKE message .* into [0-9]+ fragments"
log_has "strongSwan (client) put natsec's together" "$(sw_log alice)" "reassembled fragmented IKE message"
[ "$(nsd_q gw .counters.ike.frag_reassembled)" -ge 1 ] || fail "natsec put no fragments together"
[ "$(nsd_q gw .counters.ike.frag_sent)" -ge 2 ] || fail "natsec sent no fragments"
[ "$(nsd_q gw .counters.ike.dropped_unauth)" = 0 ] || fail "natsec found strongSwan's fragments forged"
log_has "natsec (gateway)" "$(nsd_log gw)" "'$IOP_EMAIL_ID' authenticated by certificate 'C=CH, O=Corp, OU=Remote Workers, CN=alice'"
check_wire "$cap"
sw_stop alice
nsd_stop gw

# ---------------------------------------------------------------------------
step "B. natsec client (alice, 4 KB chain) behind nat1 -> strongSwan gateway" # X5 X7
sw_start gw gw
sw_frag_certs gw gw
sw_load gw "$(iop_sw_conn_opts "$(sw_conf_cert_gateway "$GW_PUB" "$IOP_GW_ID" gw.pem %any \
  "$VIP_POOL" "$CORP_NET")" "fragmentation = yes")"
nsd_conf_client alice alice@corp.example cert="$NATSEC_TMP/alice-chain.pem" \
  key="$NATSEC_TMP/alice.key" ca="$CERTS/ca.pem"
printf '[peer %s]\nauth = pubkey\nsubnets = %s\n' "$IOP_GW_ID" "$CORP_NET" >>"$(nsd_conf alice)"
cap=$NATSEC_TMP/frag-b.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500'
nsd_start alice c1
nsd_wait_up alice 1 20
ping_srv
capture_stop "$cap"
log_has "strongSwan (gateway) put natsec's together" "$(sw_log gw)" "reassembled fragmented IKE message"
log_has "strongSwan (gateway) sent fragments" "$(sw_log gw)" "splitting IKE message .* into [0-9]+ fragments"
log_has "strongSwan (gateway)" "$(sw_log gw)" "authentication of '$IOP_EMAIL_ID' with RSA_EMSA_PKCS1_SHA2_256 successful"
[ "$(nsd_q alice .counters.ike.frag_sent)" -ge 4 ] || fail "natsec sent no fragments"
[ "$(nsd_q alice .counters.ike.frag_reassembled)" -ge 1 ] || fail "natsec put no fragments together"
check_wire "$cap"
nsd_stop alice
sw_stop gw
step "PASS in $(($(date +%s) - T0)) s"
