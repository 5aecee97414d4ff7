#!/usr/bin/env bash
# ctest: serial
# MOBIKE (RFC 4555, X4) with strongSwan 5.9.8 (`mobike = yes`, its default),
# the laptop of tests/lib/netns.sh roam_setup moving from home NAT nat1 to
# home NAT nat2 under a ping every 0.1 s to the corporate server:
#   A. strongSwan client -> natsec gateway: at most 1 s of pings lost, the
#      gateway shows the laptop at nat2's address, took one address update,
#      checked it (COOKIE2), the IKE SPIs are the ones before; strongSwan's
#      kernel-libipsec cannot move an installed ESP SA, so strongSwan
#      re-keys its CHILD_SA right after the update (with PFS: the gateway
#      offers the group) and the CHILD SPIs change through that re-key only;
#   B. natsec client -> strongSwan gateway: the same, strongSwan shows the
#      laptop at nat2's address with the same IKE SPIs (and re-keys its
#      CHILD_SA after the update, as in A).
# No IKE_SA_INIT goes out during the moves, and tshark decodes the capture
# (the MOBIKE INFORMATIONAL exchanges among it) without a malformed frame.
# strongSwan's kernel-libipsec always encapsulates ESP in UDP, so only moves
# between NATs are tried here (plain ESP: tests/net/test_mobike_roam.sh).
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

PINGS=40

netns_init
nsd_check_build
roam_setup
cap=$NATSEC_TMP/inet.pcapng

# The capture's IKE_SA_INIT messages and malformed frames, checked; its
# INFORMATIONAL count printed: wire_check LABEL.
wire_check() {
  local inits malformed info
  inits=$(ike_tshark "$cap" -Y "isakmp.exchangetype == 34" 2>/dev/null | wc -l)
  malformed=$(ike_tshark "$cap" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
  info=$(ike_tshark "$cap" -Y "isakmp.exchangetype == 37" 2>/dev/null | wc -l)
  step "  $1 wire: $inits IKE_SA_INIT, $info INFORMATIONAL, $malformed malformed"
  [ "$inits" -eq 0 ] || fail "$1: an IKE_SA_INIT went out during the move"
  [ "$malformed" -eq 0 ] || fail "$1: tshark found malformed frames"
  [ "$info" -ge 2 ] || fail "$1: no INFORMATIONAL exchange for the update"
}

# ---------------------------------------------------------------------------
step "A. strongSwan client on the laptop -> natsec gateway"
nsd_conf_gateway gw dpd=0 esp_proposals="aes128gcm16-x25519, aes128gcm16"
nsd_peer gw "$IOP_EMAIL_ID" "$IOP_PSK" "$CORP_NET"
nsd_start gw gw
sw_start lap alice
sw_load alice "$(iop_sw_conn_opts "$(sw_conf_client "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" \
  "$IOP_PSK" "$CORP_NET")" "mobike = yes")"
sw_initiate alice home 15 || {
  tail -n 30 "$(sw_log alice)" >&2
  fail "swanctl --initiate failed"
}
nsd_wait_up gw 1 10
nsx lap ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "A: no tunnel to start with"
[ "$(nsd_q gw '.ike_sas[0].mobike')" = true ] || fail "A: the natsec gateway has MOBIKE off with strongSwan"
sas() { nsd_json gw | jq -c '.ike_sas[0] | {spi_i, spi_r}'; }
spis0=$(sas)
step "  natsec sees the laptop at $(nsd_q gw '.ike_sas[0].remote'), SPIs $spis0"
capture_start inet br0 "$cap" "udp port 500 or udp port 4500 or ip proto 50"
lost=$(ping_during lap "$PINGS" 1.5 roam_uplink 2)
wait_for "[ \"\$(nsd_q gw '.ike_sas[0].address_updates')\" -ge 1 ]" 5 || true
capture_stop "$cap"
remote=$(nsd_q gw '.ike_sas[0].remote')
step "  uplink 2: $lost of $PINGS pings lost; natsec sees the laptop at $remote, $(nsd_q gw '.ike_sas[0].address_updates') address update(s), $(nsd_q gw '.counters.ike.mobike_checks') COOKIE2 check(s) passed"
[ "$lost" -le 10 ] || fail "A: $lost pings lost (more than 1 s)"
[ "${remote%:*}" = "$NAT2_PUB" ] || fail "A: the natsec gateway has the laptop at $remote"
[ "$(sas)" = "$spis0" ] || fail "A: IKE SPIs changed: $(sas), were $spis0"
[ "$(nsd_q gw '.counters.ike.established')" = 1 ] || fail "A: a second IKE SA was set up"
wait_for "[ \"\$(nsd_q gw '.ike_sas[0].children | length')\" = 1 ]" 5 || true
step "  CHILD_SA re-keys after the move: $(nsd_q gw '.counters.ike.child_rekeys') (strongSwan's kernel-libipsec)"
[ "$(nsd_q gw '.ike_sas[0].address_updates')" = 1 ] || fail "A: no address update counted"
[ "$(nsd_q gw '.counters.ike.mobike_checks')" -ge 1 ] || fail "A: strongSwan did not answer the COOKIE2 check"
grep -q "UPDATE_SA_ADDRESSES\|UPD_SA_ADDR" "$(sw_log alice)" || fail "A: strongSwan's log shows no UPDATE_SA_ADDRESSES"
wire_check A
sw_stop alice
nsd_stop gw
roam_uplink 1

# ---------------------------------------------------------------------------
step "B. natsec client on the laptop -> strongSwan gateway"
sw_start gw gw
sw_load gw "$(iop_sw_conn_opts "$(sw_conf_gateway "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" \
  "$IOP_PSK" "$VIP_POOL" "$CORP_NET")" "mobike = yes")"
nsd_conf_client alice "$IOP_EMAIL_ID" dpd=0 esp_proposals="aes128gcm16-x25519, aes128gcm16"
nsd_peer alice "$IOP_GW_ID" "$IOP_PSK" "$CORP_NET"
nsd_start alice lap
nsd_wait_up alice 1 15
nsx lap ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "B: no tunnel to start with"
[ "$(nsd_q alice '.ike_sas[0].mobike')" = true ] || fail "B: the natsec client has MOBIKE off with strongSwan"
flat0=$(iop_sw_flat gw)
sw_spis() { grep -E '^rw\.(initiator-spi|responder-spi)=' <<<"$1" | sort | paste -sd' '; }
spis0=$(sw_spis "$flat0")
step "  strongSwan sees the laptop at $(_iop_get "$flat0" 'rw\.remote-host'):$(_iop_get "$flat0" 'rw\.remote-port'), SPIs $spis0"
capture_start inet br0 "$cap" "udp port 500 or udp port 4500 or ip proto 50"
lost=$(ping_during lap "$PINGS" 1.5 roam_uplink 2)
wait_for "[ \"\$(nsd_q alice '.ike_sas[0].mobike_state')\" = IDLE ]" 5 || true
capture_stop "$cap"
flat=$(iop_sw_flat gw)
remote=$(_iop_get "$flat" 'rw\.remote-host')
step "  uplink 2: $lost of $PINGS pings lost; strongSwan sees the laptop at $remote:$(_iop_get "$flat" 'rw\.remote-port'); the natsec client counts $(nsd_q alice '.ike_sas[0].address_updates') address update(s)"
[ "$lost" -le 10 ] || fail "B: $lost pings lost (more than 1 s)"
[ "$remote" = "$NAT2_PUB" ] || fail "B: strongSwan has the laptop at $remote"
[ "$(sw_spis "$flat")" = "$spis0" ] || fail "B: IKE SPIs changed: $(sw_spis "$flat"), were $spis0"
[ "$(nsd_q alice '.ike_sas | length')" = 1 ] || fail "B: the natsec client has more than one IKE SA"
step "  CHILD_SA re-keys after the move: $(nsd_q alice '.counters.ike.child_rekeys') (strongSwan's kernel-libipsec)"
[ "$(nsd_q alice '.ike_sas[0].address_updates')" = 1 ] || fail "B: the natsec client counts no address update"
grep -q "UPDATE_SA_ADDRESSES\|UPD_SA_ADDR" "$(sw_log gw)" || fail "B: strongSwan's log shows no UPDATE_SA_ADDRESSES"
wire_check B

nsd_alive alice
step "PASS"
