#!/usr/bin/env bash
# ctest: serial
# Re-keys under traffic (X3, R4): alice behind nat1 and the gateway, both
# with 10 s CHILD_SA and 25 s IKE SA lifetimes (re-keyed 10-20 % before, by
# whichever side comes first), for 2 minutes while alice pings the
# corporate server every 0.1 s through the tunnel.
#   - every re-key that starts completes (each side's log: started ==
#     completed, no failures, nothing reaches its hard lifetime);
#   - no ping is lost (X3: a re-key loses no packet; the old SAs stay until
#     the successor carries traffic or the peer answered their DELETE);
#   - the tunnel never goes down, and one IKE SA with one CHILD_SA is left
#     on each side, the same SPIs on both;
#   - natsecctl shows the time to the next re-key and the re-key counts.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

SECONDS_RUN=${LIFECYCLE_SOAK_S:-120}
PINGS=$((SECONDS_RUN * 10))

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw child_lifetime=10 ike_lifetime=25
nsd_peer gw alice@corp.example "$NSD_PSK" "$CORP_NET"
nsd_start gw gw
nsd_conf_client alice alice@corp.example child_lifetime=10 ike_lifetime=25
nsd_peer alice vpn.corp.example "$NSD_PSK" "$CORP_NET"
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"

step "X3: $PINGS pings every 0.1 s for ${SECONDS_RUN} s with 10 s CHILD_SA and 25 s IKE SA lifetimes"
out=$NATSEC_TMP/ping.out
run_bg c1 ping -c "$PINGS" -i 0.1 -W 1 "$SRV_ADDR" >"$out" 2>&1
ping_pid=$BG_PID
sleep 5
# X10: the table shows when the next re-key comes and how many there were.
table=$("$NSC_BIN" -s "$(nsd_sock alice)" status)
grep -E '^  lifetime +re-key in [0-9]+ s, hard lifetime in [0-9]+ s, [0-9]+ re-keys?$' <<<"$table" >/dev/null ||
  { echo "$table" >&2; fail "natsecctl status shows no IKE SA re-key timer"; }
grep -E '^      re-key in [0-9]+ s, hard lifetime in [0-9]+ s, [0-9]+ re-keys?$' <<<"$table" >/dev/null ||
  { echo "$table" >&2; fail "natsecctl status shows no CHILD_SA re-key timer"; }
wait "$ping_pid" || true
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
[ "$sent" = "$PINGS" ] || fail "ping did not run to the end: $(tail -n 3 "$out")"
lost=$((sent - got))
sleep 3 # let the last re-key's old SAs go

# Each re-key is counted by both ends, and each side's log has a line
# where one starts and one where it ends. Re-keys go on after the pings
# (10 s lifetimes), so a single reading may fall in the middle of one
# (seen: gw read at 19 CHILD_SA re-keys, alice at 20 a moment later);
# read both sides until none is half-way: the same counts on both, twice,
# and every start in the logs ended.
declare -A c_start c_done c_over c_resp i_start i_resp i_done
rekey_counts() { nsd_q "$1" '.counters.ike | "\(.child_rekeys) \(.ike_rekeys) \(.rekey_failures) \(.expired)"'; }
read_logs() {
  local n log
  for n in gw alice; do
    log=$(nsd_log "$n")
    c_start[$n]=$(grep -c 're-keying CHILD SA' "$log" || true)
    c_done[$n]=$(grep -c ': re-keyed CHILD SA' "$log" || true)
    i_start[$n]=$(grep -c 're-keying IKE SA' "$log" || true)
    i_done[$n]=$(grep -cE 'IKE SA [0-9a-f]+ re-keyed: now IKE SA' "$log" || true)
    c_over[$n]=$(grep -cE 'was overtaken by the peer|the peer is busy' "$log" || true)
    c_resp[$n]=$(grep -c 'the peer re-keyed CHILD SA' "$log" || true)
    i_resp[$n]=$(grep -c 'the peer re-keys the IKE SA' "$log" || true)
  done
}
no_rekey_halfway() {
  local g a g2
  g=$(rekey_counts gw) && a=$(rekey_counts alice) && read_logs && g2=$(rekey_counts gw) || return 1
  [ "$g" = "$a" ] && [ "$g" = "$g2" ] || return 1
  [ "${c_start[gw]}" -eq $((c_done[gw] + c_over[gw])) ] &&
    [ "${c_start[alice]}" -eq $((c_done[alice] + c_over[alice])) ] || return 1
  read -r cr ir failures expired <<<"$g"
}
if ! wait_for no_rekey_halfway 20; then
  read_logs
  for n in gw alice; do
    echo "  $n: counts $(rekey_counts "$n") (CHILD_SA, IKE SA, failures, expired); CHILD_SA re-keys started ${c_start[$n]}, done ${c_done[$n]}, overtaken ${c_over[$n]}" >&2
  done
  fail "a re-key did not complete, or the two sides count different re-keys"
fi
rekeys=$((cr + ir))
step "re-keys: $cr CHILD_SA, $ir IKE SA; pings lost: $lost of $sent"
for n in gw alice; do
  step "  $n: started ${c_start[$n]} CHILD_SA re-keys (${c_done[$n]} done, ${c_over[$n]} overtaken by the peer's), answered ${c_resp[$n]}; started ${i_start[$n]} IKE SA re-keys, answered ${i_resp[$n]}; ${i_done[$n]} IKE SA moves"
done
[ "$failures" -eq 0 ] || fail "re-key failures"
[ "$expired" -eq 0 ] || fail "an SA reached its hard lifetime"
[ "$ir" -eq "${i_done[gw]}" ] || fail "IKE re-keys counted and logged differ"
# 120 s: a CHILD_SA lives 8-9 s, an IKE SA 20-22.5 s (less when the other
# side is first).
[ "$cr" -ge $((SECONDS_RUN / 9 - 1)) ] || fail "only $cr CHILD_SA re-keys in ${SECONDS_RUN} s"
[ "$ir" -ge $((SECONDS_RUN / 23 - 1)) ] || fail "only $ir IKE SA re-keys in ${SECONDS_RUN} s"
[ "$lost" -eq 0 ] || fail "lost $lost pings in $rekeys re-keys"
! grep -q 'connection down' "$(nsd_log alice)" || fail "the tunnel went down during the re-keys"
# One IKE SA and one CHILD_SA on each side, the same, the IKE SA's re-key
# count that of the gateway's counter. Re-keys go on after the ping: one
# that came after it leaves its old CHILD_SA until the grace time without
# inbound traffic (NS_IKE_REKEY_GRACE_MS, 2 s) and the DELETE, so this waits
# for the settled state rather than sampling it once.
settled() {
  local a g
  a=$(nsd_json alice) && g=$(nsd_json gw) || return 1
  jq -e -n --argjson a "$a" --argjson g "$g" '
    ($a.ike_sas | length) == 1 and ($g.ike_sas | length) == 1 and
    ($a.ike_sas[0].children | length) == 1 and ($g.ike_sas[0].children | length) == 1 and
    ($a.ike_sas[0].spi_i + $a.ike_sas[0].spi_r) == ($g.ike_sas[0].spi_i + $g.ike_sas[0].spi_r) and
    $a.ike_sas[0].children[0].spi_out == $g.ike_sas[0].children[0].spi_in and
    $a.ike_sas[0].rekeys == $g.counters.ike.ike_rekeys' >/dev/null
}
wait_for settled 12 || {
  nsd_json alice >&2
  nsd_json gw >&2
  fail "not one IKE SA and one CHILD_SA on each side, the same, with the gateway's re-key count"
}
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel after the re-keys"
nsd_alive gw
nsd_alive alice
step "PASS ($lost of $sent pings lost in $rekeys re-keys)"
