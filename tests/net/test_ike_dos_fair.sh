#!/usr/bin/env bash
# ctest: serial
# Fair share of half-open IKE SAs per source (X13, R15). A host on the
# internet ("pub") that receives at its address floods the gateway with
# IKE_SA_INIT, answers every COOKIE (RFC 7296 2.6) and never sends IKE_AUTH
# (tests/net/tools/ike_flood -c, paced, bounded in count and time), from
# twice as many source ports as the table has room (a COOKIE binds the
# port, and each port holds one half-open SA that proved one: R15), so it
# holds the whole half-open table (half_open_max=50). The gateway must
#   - keep at most half_open_max half-open SAs, and keep refusing the
#     flood's own new requests (it is the largest holder), while the
#     table is full without even a COOKIE for a port holding none;
#   - still let a real client behind nat1 connect while the flood holds the
#     table: its request replaces the flood's oldest half-open SA
#     (half_open_evicted > 0) instead of being refused until the flood's SAs
#     time out, and the tunnel carries pings to the corporate server.
# Before X13 the client was refused (half_open_refused) for as long as the
# flood went on.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

HALF_OPEN_MAX=50
THRESHOLD=10
FLOOD_RATE=150   # new IKE_SA_INIT per second
FLOOD_COUNT=2250 # 15 s at that rate
FLOOD_LIMIT=30   # seconds, at most
FLOOD_PORTS=$((2 * HALF_OPEN_MAX))

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/ike_flood" ] || fail "ike_flood not built: $NSD_TOOLS/ike_flood"
topo_setup

nsd_conf_gateway gw cookie_threshold=$THRESHOLD half_open_max=$HALF_OPEN_MAX
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example

ike() { nsd_json gw | jq -c .counters.ike; }

step "X13: a COOKIE-returning flood from $PUB_ADDR ($FLOOD_PORTS ports, $FLOOD_RATE/s, $FLOOD_COUNT at most, ${FLOOD_LIMIT}s at most) holds the half-open table"
flood_out=$NATSEC_TMP/flood.out
run_bg pub "$NSD_TOOLS/ike_flood" -d "$GW_PUB" -p 500 -c -s "$FLOOD_PORTS" -r "$FLOOD_RATE" -n "$FLOOD_COUNT" -t "$FLOOD_LIMIT" >"$flood_out" 2>&1
flood_pid=$BG_PID
# R15: full, from one source, and the flood's own requests refused.
nsd_wait gw ".counters.ike.half_open == $HALF_OPEN_MAX and .counters.ike.half_open_largest == $HALF_OPEN_MAX and .counters.ike.half_open_refused > 0" 15 ||
  fail "the flood did not fill the table: $(ike)"
held=$(ike)
step "table held by the flood: $(jq -c '{half_open, half_open_sources, half_open_largest, half_open_refused, half_open_evicted, cookies_sent}' <<<"$held")"
[ "$(jq .half_open_sources <<<"$held")" -eq 1 ] || fail "expected one source, got $(jq .half_open_sources <<<"$held")"
[ "$(jq .half_open_evicted <<<"$held")" -eq 0 ] || fail "the flood evicted its own SAs"

step "X13: alice behind nat1 connects while the flood goes on"
t0=$(date +%s%N)
nsd_start alice c1
nsd_wait_up alice 1 20
t1=$(date +%s%N)
kill -0 "$flood_pid" 2>/dev/null || fail "the flood ended before alice was up: $(cat "$flood_out")"
during=$(ike)
step "alice up after $(((t1 - t0) / 1000000)) ms; gateway: $(jq -c '{half_open, half_open_sources, half_open_largest, half_open_refused, half_open_evicted, established}' <<<"$during")"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's tunnel does not carry pings to $SRV_ADDR"
step "alice pings $SRV_ADDR through the tunnel during the flood"
grep -q "asks for a COOKIE" "$(nsd_log alice)" || fail "alice did not go through the COOKIE exchange"
[ "$(jq .half_open_evicted <<<"$during")" -ge 1 ] || fail "no half-open SA was evicted for alice"
[ "$(jq .half_open <<<"$during")" -le "$HALF_OPEN_MAX" ] || fail "half-open SAs above half_open_max"

# The flood goes on: the table stays bounded and the flood is refused.
sleep 1
kill -0 "$flood_pid" 2>/dev/null || fail "the flood ended too early: $(cat "$flood_out")"
late=$(ike)
[ "$(jq .half_open <<<"$late")" -le "$HALF_OPEN_MAX" ] || fail "half-open SAs above half_open_max"
[ "$(jq .half_open_refused <<<"$late")" -gt "$(jq .half_open_refused <<<"$held")" ] ||
  fail "the flood's requests were no longer refused"
wait "$flood_pid" || fail "ike_flood failed: $(cat "$flood_out")"
step "flood: $(cat "$flood_out")"
read -r sent answers real cookie returned < <(sed -n 's/.*sent=\([0-9]*\).*answers=\([0-9]*\).*real=\([0-9]*\).*cookie=\([0-9]*\).*returned=\([0-9]*\).*/\1 \2 \3 \4 \5/p' "$flood_out")
[ "${sent:-0}" -eq "$FLOOD_COUNT" ] || fail "the flood sent ${sent:-0} of $FLOOD_COUNT"
# Past the threshold every request meets a COOKIE, or, while the table is
# full and the flood, its largest holder, could take no place in it, no
# answer at all, counted as refused (a COOKIE would only bring the request
# back to be refused) (UDP may lose a few). The flood returns every COOKIE
# it gets.
refused_all=$(ike | jq .half_open_refused)
[ $((${cookie:-0} + refused_all)) -ge "$(((FLOOD_COUNT - THRESHOLD) * 9 / 10))" ] ||
  fail "only ${cookie:-0} COOKIEs and $refused_all refusals for $FLOOD_COUNT requests"
[ "$((FLOOD_COUNT - ${answers:-0}))" -le "$refused_all" ] ||
  fail "$((FLOOD_COUNT - ${answers:-0})) requests unanswered, only $refused_all refused"
[ "${returned:-0}" -eq "${cookie:-0}" ] || fail "the flood returned ${returned:-0} of ${cookie:-0} COOKIEs"
# Its half-open SAs: the table's worth, and one more for each evicted.
[ "${real:-0}" -ge "$HALF_OPEN_MAX" ] || fail "the flood got only ${real:-0} half-open SAs"
final=$(ike)
step "gateway IKE counters: $(jq -c '{half_open, half_open_sources, half_open_largest, half_open_refused, half_open_evicted, cookies_sent, cookies_rejected, established}' <<<"$final")"
[ "$(jq .half_open_evicted <<<"$final")" -ge 1 ] || fail "half_open_evicted is 0"
# Every COOKIE came back right: the flood proved its address each time.
[ "$(jq .cookies_rejected <<<"$final")" -eq 0 ] || fail "$(jq .cookies_rejected <<<"$final") COOKIEs rejected"
[ "$(jq .established <<<"$final")" -ge 1 ] || fail "alice's IKE SA is not counted"
nsd_wait_up gw 1 5
nsd_alive gw
step "PASS"
