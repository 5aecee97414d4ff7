#!/usr/bin/env bash
# X6: a client with transport = auto that is up over UDP goes to TCP by
# itself when the UDP path dies later: the home NAT starts dropping all UDP
# out, the client's DPD fails (dpd 2 s, two retransmissions from 0.5 s),
# it connects again, UDP gets tcp_fallback (1 s) to answer IKE_SA_INIT,
# then TCP carries the new IKE SA. The bound is what those timers add up
# to plus slack for a loaded machine. Afterwards the tunnel pings and the
# gateway holds exactly one IKE SA for the client: its own dpd is left
# long (30 s) so that the dead SA must be replaced by the new one rather
# than expire on the gateway's liveness check.
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
  dpd=2 retransmit_timeout=0.5 retransmit_tries=2
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
nsd_alive gw
nsd_alive alice
step "PASS"
