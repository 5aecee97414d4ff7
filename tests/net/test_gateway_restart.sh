#!/usr/bin/env bash
# ctest: serial
# X2: a routine gateway restart. alice (behind nat1) is connected and pings
# the corporate server every 0.1 s; the gateway's natsecd is stopped with
# SIGTERM (it sends alice a DELETE of her IKE SA) and started again:
#   - alice logs the DELETE at once and tries again by herself (back-off
#     from about 1 s; dpd is 60 s here, so only the DELETE can be why);
#   - she is connected to the restarted gateway with a new IKE SA, the
#     gateway holds exactly one for her, and the ping resumes within
#     RESUME_MAX_MS of the SIGTERM;
#   - after `natsecctl down` she stays down: no attempt follows.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

DPD=60
# The first attempt goes 0.5-1 s after the DELETE; when the gateway is not
# back yet, its IKE_SA_INIT is retransmitted after 1 s, then 2 s more
# (retransmit_timeout 1.0). The gateway restarts within about a second, so
# the ping is back after 2-4 s; the limit leaves room for a loaded machine.
RESUME_MAX_MS=8000

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw dpd=$DPD
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example dpd=$DPD
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
old_spi=$(nsd_q alice '.ike_sas[0].spi_i')

step "X2: SIGTERM the gateway while alice pings, start it again"
out=$NATSEC_TMP/ping.out
run_bg c1 ping -i 0.1 -W 1 -D -O "$SRV_ADDR" >"$out" 2>&1
ping_pid=$BG_PID
sleep 1
t_kill=$(now_ms)
gw_pid=${NSD_PID[gw]}
kill -TERM "$gw_pid"
rc=0
wait "$gw_pid" || rc=$?
unset "NSD_PID[gw]"
[ "$rc" -eq 0 ] || fail "the gateway exited with $rc after SIGTERM"
grep -q 'shutdown: DELETE sent to 1 peer(s)' "$(nsd_log gw)" || fail "the gateway did not send its DELETE"
mv "$(nsd_log gw)" "$(nsd_log gw).1"
nsd_start gw gw
t_restart=$(now_ms)
wait_for "grep -q 'connection down' '$(nsd_log alice)'" 5 || fail "alice did not hear the gateway's DELETE"
grep 'connection down' "$(nsd_log alice)" | head -n 1 | quiet_grep 'deleted by the peer' ||
  fail "alice's connection went down for another reason: $(grep 'connection down' "$(nsd_log alice)")"
grep -q 'reconnect: not trying again' "$(nsd_log alice)" && fail "alice gave up after the gateway's DELETE"
nsd_wait_up alice 1 15
nsd_wait gw '[.ike_sas[] | select(.remote_id == "alice@corp.example" and .state == "ESTABLISHED")] | length == 1' 5 || {
  nsd_json gw >&2
  fail "the restarted gateway does not hold exactly one IKE SA for alice"
}
t_up=$(now_ms)
wait_for "[ -n \"\$(first_reply_after '$out' $t_up)\" ]" 10 || fail "ping did not resume"
t_ping=$(first_reply_after "$out" "$t_restart")
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
grep -q 'reconnect: attempt' "$(nsd_log alice)" || fail "alice did not reconnect by herself"
[ "$(nsd_q alice '.ike_sas[0].spi_i')" != "$old_spi" ] || fail "alice kept the deleted IKE SA"
grep -q 'peer not answering' "$(nsd_log alice)" && fail "alice's liveness check, not the DELETE, brought her down"
resumed=$((t_ping - t_kill))
step "  the gateway restarted $((t_restart - t_kill)) ms after SIGTERM; alice reconnected by herself, ping resumed $resumed ms after the signal (limit $RESUME_MAX_MS ms)"
[ "$resumed" -le "$RESUME_MAX_MS" ] || fail "ping took $resumed ms to resume after the gateway's SIGTERM"
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel after the gateway's restart"

step "X2: natsecctl down: alice stays down"
"$NSC_BIN" -s "$(nsd_sock alice)" down >/dev/null || fail "natsecctl down failed"
nsd_wait alice '.tunnel_up == false and (.ike_sas | length) == 0' 5 ||
  fail "alice still has a tunnel or an SA after natsecctl down: $(nsd_json alice | jq -c '{tunnel_up, ike_sas}')"
attempts=$(grep -c 'reconnect: attempt' "$(nsd_log alice)")
sleep 2.5 # longer than the first back-off delay (at most 1 s)
[ "$(grep -c 'reconnect: attempt' "$(nsd_log alice)")" -eq "$attempts" ] ||
  fail "alice tried to reconnect after natsecctl down"
[ "$(nsd_q alice '.ike_sas | length')" -eq 0 ] || fail "alice connected again after natsecctl down"
nsd_wait gw '(.ike_sas | length) == 0' 5 || fail "the gateway kept alice's IKE SA after her DELETE"
nsd_alive alice
nsd_alive gw
step "PASS"
