#!/usr/bin/env bash
# ctest: serial
# Liveness and restarts (X2), alice behind nat1, a ping every 0.1 s:
#   (a) the gateway's natsecd is killed with SIGKILL (it tells nobody) and
#       started again: alice notices within the liveness timeout (dpd 3 s
#       of silence, then the check and its 3 retransmissions 0.5 + 1 + 2 +
#       4 s), deletes her SAs, reconnects by herself (back-off from about
#       1 s) and the ping resumes; the gateway runs with qcd = no, so that
#       the liveness timeout is what shows it (test_gateway_qcd.sh: with
#       quick crash detection, at the first check);
#   (b) alice's natsecd is killed with SIGKILL and started again: its new
#       IKE SA carries INITIAL_CONTACT, and the gateway ends up with exactly
#       one IKE SA (and one CHILD_SA) for alice@corp.example; ping resumes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

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

nsd_conf_gateway gw dpd=$DPD retransmit_timeout=$RT retransmit_tries=$TRIES qcd=no
nsd_peer gw alice@corp.example "$NSD_PSK" "$CORP_NET"
nsd_start gw gw
nsd_conf_client alice alice@corp.example dpd=$DPD retransmit_timeout=$RT retransmit_tries=$TRIES
nsd_peer alice vpn.corp.example "$NSD_PSK" "$CORP_NET"
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"

# Pings every 0.1 s in the background until stop_pings; prints nothing.
start_pings() {
  run_bg c1 ping -i 0.1 -W 1 -D -O "$SRV_ADDR" >"$NATSEC_TMP/ping-$1.out" 2>&1
  PING_PID=$BG_PID
}
stop_pings() {
  kill -INT "$PING_PID" 2>/dev/null || true
  wait "$PING_PID" 2>/dev/null || true
}

step "X2 (a): SIGKILL the gateway, start it again"
start_pings a
sleep 2
t_kill=$(now_ms)
nsd_crash gw
sleep 1
nsd_start gw gw
wait_for "grep -q 'connection down' '$(nsd_log alice)'" 20 || fail "alice did not notice the dead gateway"
t_down=$(now_ms)
grep 'connection down' "$(nsd_log alice)" | head -n 1 | quiet_grep 'peer not answering' ||
  fail "alice's connection went down for another reason: $(grep 'connection down' "$(nsd_log alice)")"
nsd_wait_up alice 1 40
nsd_wait_up gw 1 5
t_up=$(now_ms)
wait_for "[ -n \"\$(first_reply_after '$NATSEC_TMP/ping-a.out' $t_up)\" ]" 10 || fail "ping did not resume"
t_ping=$(first_reply_after "$NATSEC_TMP/ping-a.out" "$t_kill")
stop_pings
noticed=$((t_down - t_kill))
step "(a) alice noticed after ${noticed} ms (limit ${NOTICE_MAX_MS} ms), reconnected $(((t_up - t_down) / 100))00 ms later, ping resumed $(((t_ping - t_kill) / 1000)) s after the kill"
[ "$noticed" -le "$NOTICE_MAX_MS" ] || fail "alice took ${noticed} ms to notice the dead gateway"
grep -q 'reconnect: attempt' "$(nsd_log alice)" || fail "alice did not reconnect by herself"
[ "$(nsd_q gw '.ike_sas | length')" -eq 1 ] || fail "the restarted gateway has not exactly one IKE SA"

step "X2 (b): SIGKILL alice's natsecd, start it again"
start_pings b
sleep 2
old_ike=$(nsd_q gw '.ike_sas[0].spi_r')
nsd_crash alice
t_kill=$(now_ms)
sleep 1
mv "$(nsd_log alice)" "$(nsd_log alice).1"
nsd_start alice c1
nsd_wait_up alice 1 15
nsd_wait gw '[.ike_sas[] | select(.remote_id == "alice@corp.example")] | length == 1' 10 || {
  nsd_json gw >&2
  fail "the gateway does not hold exactly one IKE SA for alice"
}
wait_for "[ -n \"\$(first_reply_after '$NATSEC_TMP/ping-b.out' $t_kill)\" ]" 10 || fail "ping did not resume"
t_ping=$(first_reply_after "$NATSEC_TMP/ping-b.out" "$t_kill")
stop_pings
[ "$(nsd_q gw '.ike_sas[0].spi_r')" != "$old_ike" ] || fail "the gateway kept the old IKE SA"
[ "$(nsd_q gw '[.ike_sas[].children[]] | length')" -eq 1 ] || fail "the gateway kept the old CHILD_SA"
grep -q "INITIAL_CONTACT from 'alice@corp.example': deleted 1 older IKE SA" "$(nsd_log gw)" ||
  fail "the gateway did not replace the old IKE SA on INITIAL_CONTACT"
step "(b) the gateway holds one IKE SA for alice (the old one replaced on INITIAL_CONTACT); ping resumed $(((t_ping - t_kill) / 1000)) s after the kill"
nsd_alive gw
nsd_alive alice
step "PASS"
