#!/usr/bin/env bash
# X6: a client with transport = auto that is up over UDP goes to TCP by
# itself when the UDP path dies later: the home NAT starts dropping all UDP
# out, the client's DPD fails (dpd 2 s, two retransmissions from 0.5 s),
# it connects again, UDP gets tcp_fallback (1 s) to answer IKE_SA_INIT,
# then TCP carries the new IKE SA. The bound is what those timers add up
# to plus slack for a loaded machine. Afterwards the tunnel pings and the
# gateway holds exactly one IKE SA for the client: its own dpd is left
# long (30 s) so that the dead SA must be replaced by the new one rather
# than expire on the gateway's liveness check. Then UDP comes back: alice
# runs with mobike = no, so her UDP probe's answer moves the IKE SA back
# by a liveness check over UDP that the gateway follows as a NAT
# rebinding (R4): the same IKE SA and CHILD_SA, no new IKE SA, no MOBIKE
# update, at most 2 of 50 pings lost.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/tcp.sh
. "$here/tools/tcp.sh"

# dpd 2 s + retransmissions 0.5 + 1 s + tcp_fallback 1 s is about 4.5 s;
# the rest of the bound is for a loaded CI machine.
BOUND_S=15

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example transport=auto tcp_fallback=1000 \
  dpd=2 retransmit_timeout=0.5 retransmit_tries=2 mobike=no tcp_udp_probe=2
nsd_start alice c1

step "X6: UDP works; alice comes up over UDP"
nsd_wait_up alice 1 10
[ "$(nsd_q alice '.ike_sas[0].transport')" = udp ] || fail "alice is up, but not over UDP: $(nsd_json alice)"
[ "$(nsd_q gw '.ike_sas[0].transport')" = udp ] || fail "the gateway does not see alice over UDP"
old_id=$(nsd_q alice '.ike_sas[0].id')
cap=$NATSEC_TMP/udp.pcapng
capture_start inet br0 "$cap" "host $NAT1_PUB and udp port 4500"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through the UDP tunnel"
capture_stop "$cap"
esp=$(tshark -n -r "$cap" -Y "esp" -T fields -e esp.spi 2>/dev/null | grep -c . || true)
[ "$esp" -ge 3 ] || fail "no ESP in UDP on the wire ($esp packets)"
step "  up over UDP: $esp ESP-in-UDP packets captured"

step "X6: the home NAT starts dropping all UDP out; alice must reach TCP within $BOUND_S s"
t0=$(date +%s%N)
nat_block_udp nat1 on
nsd_wait alice '[.ike_sas[] | select(.state == "ESTABLISHED" and .transport == "tcp" and (.children | length) > 0)] | length == 1' "$BOUND_S" || {
  tail -n 40 "$(nsd_log alice)" >&2
  fail "alice did not reach TCP within $BOUND_S s: $(nsd_json alice)"
}
ms=$((($(date +%s%N) - t0) / 1000000))
step "  up over TCP $ms ms after UDP was blocked; fallbacks: $(nsd_q alice .tcp.fallbacks)"
[ "$(nsd_q alice '.ike_sas | length')" -eq 1 ] || fail "alice holds more than its TCP IKE SA: $(nsd_json alice)"
[ "$(nsd_q alice '.ike_sas[0].id')" != "$old_id" ] || fail "alice's IKE SA over TCP is the dead one"
[ "$(nsd_q alice .tcp.fallbacks)" -ge 1 ] || fail "no fallback counted"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through the TCP tunnel"

step "X6: the gateway holds one IKE SA for alice, over TCP"
gw_alice='[.ike_sas[] | select(.remote_id == "alice@corp.example")]'
nsd_wait gw "$gw_alice | length == 1 and .[0].transport == \"tcp\" and .[0].state == \"ESTABLISHED\"" 5 ||
  fail "the gateway does not hold exactly one IKE SA for alice over TCP: $(nsd_json gw)"
step "  gateway: $(nsd_q gw "$gw_alice | map({transport, state}) | tostring")"

step "X6: UDP comes back; without MOBIKE alice's IKE SA moves back to UDP by a liveness check"
[ "$(nsd_q alice '.ike_sas[0].mobike')" = false ] || fail "MOBIKE is on for alice's IKE SA"
tcp_id=$(nsd_q alice '.ike_sas[0].id')
spi_in=$(nsd_q alice '.ike_sas[0].children[0].spi_in')
established=$(nsd_q alice .counters.ike.established)
connects=$(nsd_q alice .tcp.connects)
pings=$NATSEC_TMP/ping.out
run_bg c1 ping -c 50 -i 0.1 -W 1 "$SRV_ADDR" >"$pings" 2>&1
ping_pid=$BG_PID
nat_block_udp nat1 off
nsd_wait alice '(.tcp.udp_returns >= 1) and (.ike_sas | length == 1) and (.ike_sas[0].transport == "udp")' 15 ||
  fail "alice did not come back to UDP: $(nsd_json alice)"
nsd_wait gw "$gw_alice | length == 1 and .[0].transport == \"udp\"" 5 ||
  fail "the gateway did not follow alice to UDP: $(nsd_json gw)"
lost=$(ping_lost "$pings" "$ping_pid" 50)
step "  back on UDP with $lost of 50 pings lost; gateway MOBIKE updates: $(nsd_q gw .counters.ike.mobike_updates)"
[ "$(nsd_q alice '.ike_sas[0].id')" = "$tcp_id" ] || fail "a new IKE SA, not the same one moved"
[ "$(nsd_q alice '.ike_sas[0].children[0].spi_in')" = "$spi_in" ] || fail "a new CHILD_SA, not the same one"
[ "$(nsd_q alice .counters.ike.established)" = "$established" ] || fail "alice made a new IKE SA (re-connected)"
[ "$(nsd_q alice .tcp.connects)" = "$connects" ] || fail "alice dialled TCP again"
[ "$(nsd_q gw .counters.ike.mobike_updates)" -eq 0 ] || fail "an address update without MOBIKE"
[ "$lost" -le 2 ] || fail "the tunnel was not up throughout: $lost pings lost"
nsd_alive gw
nsd_alive alice
step "PASS"
