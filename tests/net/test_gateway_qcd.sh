#!/usr/bin/env bash
# ctest: serial
# X2 X15: quick crash detection (RFC 6290) after a gateway crash. alice
# (behind nat1, dpd 3 s, retransmissions after 1, 2, 4, 8 and 16 s) is
# connected and pings the corporate server every 0.1 s; the gateway's
# natsecd is killed with SIGKILL (it tells nobody, every SA is lost) and
# started again with the same QCD secret file:
#   - alice's next liveness check (at most dpd after the kill) gets the
#     restarted gateway's unprotected INVALID_IKE_SPI with the QCD token
#     of her IKE SA; she drops it at once (not "peer not answering", which
#     would come dpd + 1 + 2 + 4 + 8 + 16 s = 34 s after the kill at the
#     earliest) and reconnects by herself;
#   - the answer is on the wire (tshark on the gateway's uplink: an IKE
#     INFORMATIONAL response with notify types 4 and 16419, no SK), the
#     counters say one answer sent and one taken;
#   - the secret file is the one natsecd made, mode 0600.
# Budget: 60 s (the script takes about 15).
set -euo pipefail
[ -n "${NATSEC_QCD_BUDGET:-}" ] || exec timeout -s TERM 60 env NATSEC_QCD_BUDGET=1 bash "$0" "$@"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

DPD=3
# At most dpd after the last packet from the gateway (which came at most
# when it was killed) the check goes out and is answered within a round
# trip; the gateway is back 1 s after the kill. The limit adds 2 s for the
# event loop and this script's polling on a loaded machine, and stays far
# below the 34 s the liveness timeout alone would take.
NOTICE_MAX_MS=6000
DPD_ALONE_MS=$(((DPD + 1 + 2 + 4 + 8 + 16) * 1000))

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example dpd=$DPD
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
secret=$NATSEC_TMP/qcd-gw.secret
[ "$(stat -c '%a %s' "$secret")" = "600 32" ] || fail "the gateway's QCD secret is $(stat -c '%a %s' "$secret"), expected mode 600, 32 bytes"
[ "$(nsd_q gw .counters.ike.qcd_tokens_sent)" -eq 1 ] || fail "the gateway handed alice no QCD token"
[ "$(nsd_q alice .counters.ike.qcd_tokens_taken)" -eq 1 ] || fail "alice kept no QCD token"
old_spi=$(nsd_q alice '.ike_sas[0].spi_i')

step "X2: SIGKILL the gateway while alice pings, start it again with the same secret"
pcap=$NATSEC_TMP/gw.pcapng
capture_start gw wan0 "$pcap" "udp port 4500 or udp port 500"
out=$NATSEC_TMP/ping.out
run_bg c1 ping -i 0.1 -W 1 -D -O "$SRV_ADDR" >"$out" 2>&1
ping_pid=$BG_PID
sleep 1
t_kill=$(now_ms)
nsd_crash gw
sleep 1
mv "$(nsd_log gw)" "$(nsd_log gw).1"
nsd_start gw gw
wait_for "grep -q 'connection down' '$(nsd_log alice)'" 20 || fail "alice did not notice the restarted gateway"
t_down=$(now_ms)
grep -q 'the gateway restarted and lost it (its QCD token' "$(nsd_log alice)" ||
  fail "alice's connection went down without the QCD answer: $(grep 'connection down' "$(nsd_log alice)")"
grep -q 'peer not answering' "$(nsd_log alice)" && fail "alice waited for her liveness check's timeout"
nsd_wait_up alice 1 20
t_up=$(now_ms)
wait_for "[ -n \"\$(first_reply_after '$out' $t_up)\" ]" 10 || fail "ping did not resume"
t_ping=$(first_reply_after "$out" "$t_kill")
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
capture_stop "$pcap"

noticed=$((t_down - t_kill))
step "  alice noticed after ${noticed} ms (limit ${NOTICE_MAX_MS} ms; dpd alone: at least ${DPD_ALONE_MS} ms), reconnected $((t_up - t_down)) ms later, ping resumed $((t_ping - t_kill)) ms after the kill"
[ "$noticed" -le "$NOTICE_MAX_MS" ] || fail "alice took ${noticed} ms to notice the restart"
[ "$(nsd_q alice '.ike_sas[0].spi_i')" != "$old_spi" ] || fail "alice kept the lost IKE SA"
grep -q 'reconnect: attempt' "$(nsd_log alice)" || fail "alice did not reconnect by herself"

step "X2: the crash answer on the wire and in the counters"
# The gateway's answer: an INFORMATIONAL response (R flag) whose payloads
# are notifies INVALID_IKE_SPI (4) and QCD_TOKEN (16419), nothing sealed.
answers=$(tshark -n -r "$pcap" \
  -Y 'isakmp.exchangetype == 37 && isakmp.flag_r == 1 && isakmp.notify.msgtype == 4 && isakmp.notify.msgtype == 16419' \
  -T fields -e ip.src -e ip.dst -e isakmp.notify.msgtype 2>/dev/null || true)
[ -n "$answers" ] || {
  tshark -n -r "$pcap" 2>/dev/null | tail -n 20 >&2 || true
  fail "no INVALID_IKE_SPI + QCD_TOKEN answer from the gateway in the capture"
}
echo "  captured: $(head -n 1 <<<"$answers" | tr '\t' ' ')"
[ "$(nsd_q gw .counters.ike.qcd_replies_sent)" -ge 1 ] || fail "the restarted gateway counted no crash answer"
[ "$(nsd_q alice .counters.ike.qcd_replies_accepted)" -eq 1 ] || fail "alice counted no crash answer taken"
[ "$(nsd_q alice .counters.ike.qcd_replies_bad_token)" -eq 0 ] || fail "alice saw a wrong token"
nsd_wait gw '[.ike_sas[] | select(.remote_id == "alice@corp.example" and .state == "ESTABLISHED")] | length == 1' 5 ||
  fail "the restarted gateway does not hold exactly one IKE SA for alice"
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel after the gateway's restart"
nsd_alive alice
nsd_alive gw
step "PASS"
