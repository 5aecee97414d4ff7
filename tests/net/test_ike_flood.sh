#!/usr/bin/env bash
# ctest: serial
# IKE_SA_INIT flood (R15): one host on the internet sends 10,000 valid
# IKE_SA_INIT requests, each with its own SPI, KE value and nonce, as fast
# as its socket takes them (tests/net/tools/ike_flood, bounded in count and
# time). The gateway must
#   - hold at most cookie_threshold half-open SAs and answer the rest with
#     a COOKIE (RFC 7296 2.6), keeping no state for them;
#   - still let a real client connect during the flood (its IKE_SA_INIT is
#     sent amid the flood and answers the COOKIE challenge: the capture
#     shows both);
#   - keep its memory bounded (RSS printed before and after, asserted);
#   - keep its log bounded under a flood of requests it refuses (a proposal
#     it does not accept): at most 10 such lines every 10 s, and a line
#     with the count of the rest, not one line per request.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

FLOOD_COUNT=10000
RSS_LIMIT_KIB=$((64 * 1024))
THRESHOLD=100
HALF_OPEN_MAX=1000
REFUSED_COUNT=5000

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/ike_flood" ] || fail "ike_flood not built: $NSD_TOOLS/ike_flood"
topo_setup

nsd_conf_gateway gw cookie_threshold=$THRESHOLD half_open_max=$HALF_OPEN_MAX
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
# alice connects once and goes down again, so that her next "up" is a
# single quick control request that can be timed inside the flood.
nsd_start alice c1
nsd_wait_up alice
"$NSC_BIN" -s "$(nsd_sock alice)" down >/dev/null || fail "natsecctl down failed"
nsd_wait alice '.tunnel_up == false and (.ike_sas | length) == 0' 10 || fail "alice did not go down"
nsd_wait gw '(.ike_sas | length) == 0' 10 || fail "the gateway kept alice's SA after her DELETE"

rss_before=$(nsd_rss_kib gw)
step "gateway RSS before the flood: $rss_before KiB"

cap=$NATSEC_TMP/flood.pcapng
capture_start inet br0 "$cap" "dst host $GW_PUB and (udp port 500 or udp port 4500)"

step "R15: $FLOOD_COUNT IKE_SA_INIT from $PUB_ADDR as fast as possible; alice connects in the middle"
flood_out=$NATSEC_TMP/flood.out
run_bg pub "$NSD_TOOLS/ike_flood" -d "$GW_PUB" -p 500 -n "$FLOOD_COUNT" -t 60 >"$flood_out" 2>&1
flood_pid=$BG_PID
sleep 0.02
"$NSC_BIN" -s "$(nsd_sock alice)" up >/dev/null || fail "natsecctl up failed"
peak_half_open=$(nsd_q gw .counters.ike.half_open)
wait "$flood_pid" || fail "ike_flood failed: $(cat "$flood_out")"
step "flood: $(cat "$flood_out")"
nsd_wait_up alice 1 20
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice has no working tunnel after the flood"
capture_stop "$cap"

# alice's first IKE_SA_INIT lies between the first and the last flood packet.
frame_times() {
  ike_tshark "$cap" -Y "$1" -T fields -e frame.time_epoch 2>/dev/null
}
flood_first=$(frame_times "ip.src == $PUB_ADDR" | awk 'NR == 1')
flood_last=$(frame_times "ip.src == $PUB_ADDR" | awk 'END { print }')
alice_init=$(frame_times "ip.src == $NAT1_PUB && isakmp.exchangetype == 34" | awk 'NR == 1')
step "flood on the wire from $flood_first to $flood_last, alice's IKE_SA_INIT at $alice_init"
[ -n "$alice_init" ] && [ -n "$flood_first" ] || fail "capture lacks the flood or alice's IKE_SA_INIT"
awk -v a="$alice_init" -v f="$flood_first" -v l="$flood_last" 'BEGIN { exit !(f < a && a < l) }' ||
  step "note: alice's request fell outside the flood's wire window (it still met cookie mode, see below)"

ike=$(nsd_json gw | jq -c .counters.ike)
step "gateway IKE counters: $(jq -c '{half_open, cookies_sent, cookies_rejected, half_open_refused, established, dropped_malformed}' <<<"$ike")"
read -r sent real cookie < <(sed -n 's/.*sent=\([0-9]*\).*real=\([0-9]*\).*cookie=\([0-9]*\).*/\1 \2 \3/p' "$flood_out")
[ "${sent:-0}" -eq "$FLOOD_COUNT" ] || fail "the flood sent ${sent:-0} of $FLOOD_COUNT"
[ "${real:-0}" -le "$THRESHOLD" ] || fail "the gateway did full IKE_SA_INIT work for $real flood requests (threshold $THRESHOLD)"
[ "$(jq .cookies_sent <<<"$ike")" -ge $((FLOOD_COUNT / 2)) ] ||
  fail "only $(jq .cookies_sent <<<"$ike") COOKIEs for $FLOOD_COUNT requests"
[ "$peak_half_open" -le "$HALF_OPEN_MAX" ] || fail "half-open SAs $peak_half_open above half_open_max"
[ "$(jq .half_open <<<"$ike")" -le "$THRESHOLD" ] || fail "$(jq .half_open <<<"$ike") half-open SAs kept"

# The real client met the COOKIE challenge and answered it: her second
# IKE_SA_INIT carries the gateway's COOKIE notify (RFC 7296 2.6).
with_cookie=$(ike_tshark "$cap" -Y "ip.src == $NAT1_PUB && isakmp.exchangetype == 34 && isakmp.notify.msgtype == 16390" 2>/dev/null | wc -l)
step "alice sent $with_cookie IKE_SA_INIT with the gateway's COOKIE"
[ "$with_cookie" -ge 1 ] || fail "alice did not go through the COOKIE exchange"

rss_after=$(nsd_rss_kib gw)
step "gateway RSS before $rss_before KiB, after $rss_after KiB (limit $RSS_LIMIT_KIB KiB)"
[ "$rss_after" -lt "$RSS_LIMIT_KIB" ] || fail "gateway RSS $rss_after KiB above $RSS_LIMIT_KIB KiB"

step "R15: $REFUSED_COUNT IKE_SA_INIT with a proposal the gateway refuses: its log stays bounded"
gw_log=$(nsd_log gw)
summary='refused or odd IKE_SA_INIT: [0-9]* similar lines suppressed'
refused_out=$NATSEC_TMP/refused.out
# The first flood's accepted requests log "assuming no NAT" under the same
# kind of line; a new 10 s window of the limiter must start before this
# flood, or all of its lines may be held back (seen: 10 + 5090 counted, 0
# about the refusals).
sleep 11
no_proposal_before=$(nsd_q gw .counters.ike.no_proposal_sent)
lines_before=$(grep -c "no acceptable IKE proposal" "$gw_log" || true)
summaries_before=$(grep -c "$summary" "$gw_log" || true)
t0=$(date +%s)
# -c: the gateway is still in COOKIE mode (the first flood's half-open SAs),
# so the flood returns each COOKIE and its proposal is judged after it.
run_bg pub "$NSD_TOOLS/ike_flood" -d "$GW_PUB" -p 500 -x -c -n "$REFUSED_COUNT" -t 30 >"$refused_out" 2>&1
refused_pid=$BG_PID
wait "$refused_pid" || fail "ike_flood -x failed: $(cat "$refused_out")"
t1=$(date +%s)
step "refused flood: $(cat "$refused_out") in about $((t1 - t0)) s"
refused=$(($(nsd_q gw .counters.ike.no_proposal_sent) - no_proposal_before))
[ "$refused" -ge $((REFUSED_COUNT * 9 / 10)) ] || fail "only $refused of $REFUSED_COUNT requests refused"
# The count of the lines held back comes once their 10 s window is over.
wait_for "[ \$(grep -c '$summary' '$gw_log') -gt $summaries_before ]" 15 ||
  fail "no line with the count of the suppressed lines: $(tail -n 5 "$gw_log")"
lines=$(($(grep -c "no acceptable IKE proposal" "$gw_log" || true) - lines_before))
suppressed=$(grep -o "$summary" "$gw_log" | tail -n +$((summaries_before + 1)) |
  awk '{ n += $(NF - 3) } END { print n + 0 }')
# At most 10 a window: the windows the flood touched, 10 s each.
max_lines=$((10 * ((t1 - t0) / 10 + 2)))
step "gateway: $refused requests refused, $lines log lines about them (at most $max_lines), $suppressed counted in: $(grep -o "$summary.*" "$gw_log" | tail -n 1)"
[ "$lines" -le "$max_lines" ] || fail "$lines log lines for $refused refused requests (at most $max_lines)"
[ "$lines" -ge 1 ] || fail "no log line about the refused requests"
[ $((lines + suppressed)) -ge "$refused" ] || fail "$lines lines and $suppressed counted for $refused refusals"

nsd_alive gw
step "PASS"
