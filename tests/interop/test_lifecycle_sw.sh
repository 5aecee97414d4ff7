#!/usr/bin/env bash
# ctest: serial
# SA life cycle against strongSwan 5.9.8 (X2, X3, R4, R14), the peer behind
# or in front of nat1, with a ping every 0.1 s through the tunnel and PFS
# (x25519) in the CHILD_SA re-keys:
#   (A) strongSwan road warrior alice (c1) -> natsec gateway: CHILD_SA and
#       IKE SA re-keys started by strongSwan (its own short rekey_time, and
#       swanctl --rekey) and by natsec (short lifetimes, natsecctl rekey):
#       every re-key completes on both sides, at most one ping lost per
#       re-key, one IKE SA and one CHILD_SA left on each side;
#   (B) alice's charon killed with SIGKILL and started again: the natsec
#       gateway ends up with exactly one IKE SA for alice (INITIAL_CONTACT);
#   (C) natsec client alice -> strongSwan gateway: the same re-keys both
#       ways; then the gateway's charon is killed with SIGKILL and started
#       again: alice notices within the liveness timeout, reconnects by
#       herself, and the ping resumes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=../net/tools/nsd.sh
. "$here/../net/tools/nsd.sh"
# shellcheck source=../lib/strongswan.sh
. "$here/../lib/strongswan.sh"
# shellcheck source=lib_interop.sh
. "$here/lib_interop.sh"

PSK='natsec-lifecycle-interop-psk-5a7e19c3'
GW_ID=vpn.corp.example
CLIENT_ID=alice@corp.example
IKE=aes128gcm16-prfsha256-x25519
ESP=aes128gcm16-x25519 # x25519: PFS in CHILD_SA re-keys
DPD=3
RT=0.5
TRIES=3
# The liveness timeout: at most dpd after the last packet from the peer
# (which came at most when it was killed) the check goes out, and it is
# given up 0.5 + 1 + 2 + 4 s later: 10.5 s. The limit adds 2 s for the
# event loop and this script's polling of the log on a loaded machine.
NOTICE_MAX_MS=12500

netns_init
nsd_check_build
topo_setup

# Re-keys both ways during a ping: natsec instance N, strongSwan instance S
# with IKE SA name IKE and CHILD_SA name CHILD, pings from NS for SECS:
# rekey_run N S IKE CHILD NS SECS [PING_SOURCE].
rekey_run() {
  local n=$1 s=$2 ike=$3 child=$4 ns=$5 secs=$6 src=${7:-}
  local out=$NATSEC_TMP/ping-$n.out
  iop_pings_start "$ns" "$secs" "$out" "$src"
  sleep 3
  step "  natsec re-keys the CHILD_SA, then strongSwan (swanctl --rekey)"
  "$NSC_BIN" -s "$(nsd_sock "$n")" rekey child >/dev/null || fail "natsecctl rekey failed"
  sleep 3
  sw_swanctl "$s" --rekey --child "$child" >/dev/null || fail "swanctl --rekey --child failed"
  sleep 3
  step "  natsec re-keys the IKE SA, then strongSwan"
  "$NSC_BIN" -s "$(nsd_sock "$n")" rekey ike >/dev/null || fail "natsecctl rekey ike failed"
  sleep 3
  sw_swanctl "$s" --rekey --ike "$ike" >/dev/null || fail "swanctl --rekey --ike failed"
  local lost
  wait "$IOP_PING_PID" || true
  lost=$(iop_pings_lost "$out")
  sleep 3
  local cr ir sc
  cr=$(nsd_q "$n" .counters.ike.child_rekeys)
  ir=$(nsd_q "$n" .counters.ike.ike_rekeys)
  sc=$(iop_sw_rekey_counts "$s")
  local started answered
  started=$(grep -c 're-keying CHILD SA' "$(nsd_log "$n")" || true)
  answered=$(grep -c 'the peer re-keyed CHILD SA' "$(nsd_log "$n")" || true)
  step "  natsec: $cr CHILD_SA re-keys ($started started, $answered by strongSwan), $ir IKE SA re-keys; strongSwan started/answered: CHILD_SA $sc (IKE SA); $lost pings lost"
  [ "$started" -ge 1 ] && [ "$answered" -ge 1 ] || fail "CHILD_SA re-keys did not go both ways"
  [ "$(grep -c 're-keying IKE SA' "$(nsd_log "$n")")" -ge 1 ] || fail "natsec did not re-key the IKE SA"
  grep -q 'the peer re-keys the IKE SA' "$(nsd_log "$n")" || fail "strongSwan did not re-key the IKE SA"
  [ "$ir" -ge 2 ] || fail "only $ir IKE SA re-keys"
  [ "$(nsd_q "$n" .counters.ike.rekey_failures)" -eq 0 ] || fail "natsec: a re-key failed"
  [ "$(nsd_q "$n" .counters.ike.expired)" -eq 0 ] || fail "natsec: an SA reached its hard lifetime"
  ! grep -qiE 'failed|NO_PROPOSAL_CHOSEN|TS_UNACCEPTABLE|INVALID_SYNTAX' <<<"$(grep -E 'CREATE_CHILD_SA|rekey' "$(sw_log "$s")")" ||
    { grep -iE 'failed|NO_PROPOSAL' "$(sw_log "$s")" | head >&2; fail "strongSwan reports a failed re-key"; }
  wait_for "iop_settled $n $s" 10 || {
    sw_list_sas "$s" >&2
    nsd_json "$n" >&2
    fail "not exactly one IKE SA and one CHILD_SA, the same, on both sides"
  }
  [ "$lost" -le $((cr + ir)) ] || fail "lost $lost pings in $((cr + ir)) re-keys"
  LOST=$lost
  REKEYS=$((cr + ir))
}

step "(A) strongSwan road warrior -> natsec gateway: re-keys both ways"
nsd_conf_gateway gw ike_proposals=$IKE esp_proposals=$ESP child_lifetime=14 ike_lifetime=40
nsd_peer gw "$CLIENT_ID" "$PSK" "$CORP_NET"
nsd_start gw gw
sw_start c1 alice
sw_load alice "$(sw_conf_client "$GW_PUB" "$GW_ID" "$CLIENT_ID" "$PSK" "$CORP_NET" "$IKE" "$ESP" | iop_sw_rekey_times 35 12)"
sw_initiate alice home 20 || { tail -n 30 "$(sw_log alice)" >&2; fail "strongSwan could not connect"; }
nsd_wait_up gw
vip=$(nsd_q gw '.ike_sas[0].virtual_ip')
rekey_run gw alice home home c1 17 "$vip"
step "(A) $LOST pings lost in $REKEYS re-keys"

step "(B) SIGKILL alice's charon, start it again"
old=$(nsd_q gw '.ike_sas[0].spi_r')
kill -KILL "$(sw_pid alice)"
wait "$(sw_pid alice)" 2>/dev/null || true
unset "SW_PID[alice]"
cp "$(sw_log alice)" "$(sw_log alice).1" # the restart starts a new log
sleep 1
sw_start c1 alice
sw_load alice "$(sw_conf_client "$GW_PUB" "$GW_ID" "$CLIENT_ID" "$PSK" "$CORP_NET" "$IKE" "$ESP")"
sw_initiate alice home 20 || fail "strongSwan could not connect again"
nsd_wait gw "[.ike_sas[] | select(.remote_id == \"$CLIENT_ID\")] | length == 1" 10 || {
  nsd_json gw >&2
  fail "the gateway does not hold exactly one IKE SA for alice"
}
[ "$(nsd_q gw '.ike_sas[0].spi_r')" != "$old" ] || fail "the gateway kept the old IKE SA"
grep -q "INITIAL_CONTACT from '$CLIENT_ID': deleted 1 older IKE SA" "$(nsd_log gw)" ||
  fail "the old IKE SA was not replaced on INITIAL_CONTACT"
vip=$(nsd_q gw '.ike_sas[0].virtual_ip')
nsx c1 ping -c 3 -i 0.2 -W 2 -I "$vip" "$SRV_ADDR" >/dev/null || fail "no tunnel after strongSwan's restart"
step "(B) one IKE SA for alice on the gateway; ping goes"
sw_stop alice
nsd_stop gw

step "(C) natsec client -> strongSwan gateway: re-keys both ways"
sw_start gw swgw
GWCONF=$(sw_conf_gateway "$GW_PUB" "$GW_ID" "$CLIENT_ID" "$PSK" "$VIP_POOL" "$CORP_NET" "$IKE" "$ESP" | iop_sw_rekey_times 35 12)
sw_load swgw "$GWCONF"
nsd_conf_client alice "$CLIENT_ID" ike_proposals=$IKE child_lifetime=14 ike_lifetime=40 \
  dpd=$DPD retransmit_timeout=$RT retransmit_tries=$TRIES
nsd_peer alice "$GW_ID" "$PSK" "$CORP_NET" esp_proposals=$ESP
nsd_start alice c1
nsd_wait_up alice
rekey_run alice swgw rw net c1 17
step "(C) $LOST pings lost in $REKEYS re-keys"

step "(C) SIGKILL the strongSwan gateway, start it again"
out=$NATSEC_TMP/ping-restart.out
run_bg c1 ping -i 0.1 -W 1 -D "$SRV_ADDR" >"$out" 2>&1
ping_pid=$BG_PID
sleep 1
t_kill=$(($(date +%s%N) / 1000000))
kill -KILL "$(sw_pid swgw)"
wait "$(sw_pid swgw)" 2>/dev/null || true
unset "SW_PID[swgw]"
cp "$(sw_log swgw)" "$(sw_log swgw).1"
sleep 1
sw_start gw swgw
sw_load swgw "$GWCONF"
wait_for "grep -q 'connection down' '$(nsd_log alice)'" 20 || fail "alice did not notice the dead gateway"
t_down=$(($(date +%s%N) / 1000000))
grep 'connection down' "$(nsd_log alice)" | tail -n 1 | quiet_grep 'peer not answering' ||
  fail "alice's connection went down for another reason"
nsd_wait_up alice 1 40
wait_for "sw_child_installed swgw net" 10 || fail "the restarted strongSwan gateway has no CHILD_SA"
t0=$(($(date +%s%N) / 1000000))
wait_for "awk -F'[][]' -v t0=$t0 '/bytes from/ && \$2 * 1000 > t0 { f = 1 } END { exit !f }' '$out'" 10 ||
  fail "ping did not resume after the reconnection"
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
noticed=$((t_down - t_kill))
step "(C) alice noticed after ${noticed} ms (limit ${NOTICE_MAX_MS} ms) and reconnected to the restarted strongSwan; ping resumed"
[ "$noticed" -le "$NOTICE_MAX_MS" ] || fail "alice took ${noticed} ms to notice"
grep -q 'reconnect: attempt' "$(nsd_log alice)" || fail "alice did not reconnect by herself"
nsd_alive alice
step "PASS"
