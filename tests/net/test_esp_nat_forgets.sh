#!/usr/bin/env bash
# A NAT that forgets faster than the keepalive (R4, X1): nat1 drops idle UDP
# mappings after 12 s and gives a random public port to the next packet, as
# carrier NATs do. Both sides run at default settings (keepalive = auto,
# dpd = 30). The tunnel stays idle for a minute, five NAT lifetimes: the
# NAT's conntrack entry for alice's port 4500 shows another public port
# afterwards, so the mapping expired meanwhile. Then the first ping from
# the corporate server to alice's virtual IP must be answered: alice's
# keepalives are authenticated (ESP dummy packets, RFC 4303 2.6, and IKE
# liveness checks with NAT detection), so the gateway followed the new
# mapping, and alice learned from the gateway's NAT detection that her
# mapping changed and shortened her interval below the NAT's 12 s, which
# `natsecctl status` shows. Then, with the interval learned, nat1 forgets
# every mapping at once: alice's next keepalive, an ESP dummy packet, moves
# the gateway to her new mapping by itself. Her liveness checks (dpd) move
# the SA too; a round in which one of her IKE messages reached the gateway
# before it moved proves nothing about the dummy packet and is done again.
# Takes about 80 s; nothing in it is timed against other load.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

IDLE=60
NAT_TIMEOUT=12

netns_init
nsd_check_build
inet_create
gw_create
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"
nat_set_udp_timeout nat1 $NAT_TIMEOUT
nat_random_ports nat1

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up alice
va=$(nsd_q alice .virtual_ip)
nsx srv ping -c 1 -W 2 "$va" >/dev/null || fail "the server cannot reach alice at first"

port0=$(nat_udp_port nat1 "$C1_ADDR" 4500 "$GW_PUB" 4500)
[ -n "$port0" ] || fail "nat1 has no mapping for alice's port 4500"
step "R4, X1: alice is $NAT1_PUB:$port0 to the gateway; $IDLE s idle, nat1 forgets after $NAT_TIMEOUT s"
sleep $IDLE

port1=$(nat_udp_port nat1 "$C1_ADDR" 4500 "$GW_PUB" 4500)
gw_sees=$(nsd_q gw '.ike_sas[0].remote')
step "after the idle time nat1 maps alice to port ${port1:-none}; the gateway sends to $gw_sees"
[ -n "$port1" ] && [ "$port1" != "$port0" ] ||
  fail "nat1's mapping did not change (${port0} -> ${port1:-none}): the NAT did not forget, the test proves nothing"

out=$(nsx srv ping -c 1 -W 2 "$va" 2>&1) ||
  fail "R4: the first ping to the idle alice was lost (the gateway sends to $gw_sees, nat1 maps $NAT1_PUB:$port1): $out"
echo "  $(grep 'packets transmitted' <<<"$out")"
[ "$gw_sees" = "$NAT1_PUB:$port1" ] || fail "the gateway sends to $gw_sees, not to nat1's mapping $NAT1_PUB:$port1"

ka_mode=$(nsd_q alice '.ike_sas[0].keepalive.mode')
ka_s=$(nsd_q alice '.ike_sas[0].keepalive.interval_s')
ka_exp=$(nsd_q alice '.ike_sas[0].keepalive.mapping_changes')
step "X1: alice's keepalive: $ka_mode, interval $ka_s s, $ka_exp mapping change(s) learned"
[ "$ka_mode" = auto ] || fail "keepalive mode is '$ka_mode', not the default auto"
[ "$ka_exp" -ge 1 ] || fail "alice did not learn that her mapping changed"
[ "$ka_s" -lt $NAT_TIMEOUT ] || fail "the learned interval $ka_s s is not below the NAT's $NAT_TIMEOUT s"
text=$("$NSC_BIN" -s "$(nsd_sock alice)" status)
quiet_grep -E "keepalive +auto, every $ka_s s" <<<"$text" ||
  fail "natsecctl status does not show the learned interval: $text"
grep -E "keepalive +auto" <<<"$text" | sed 's/^/  /'

# R4 by the dummy packets alone: once the interval is known to be safe,
# keepalives are ESP dummy packets (RFC 4303 2.6), not checks. nat1 then
# forgets every mapping at once; the next dummy packet makes a new one, and
# the gateway follows it because the packet is authenticated.
wait_for '[ "$(nsd_q gw .counters.esp_drops.dummy)" -ge 1 ]' 25 ||
  fail "no ESP dummy packet reached the gateway after the interval was learned"
# One round: nat1 forgets; alice's next dummy packet comes through a new
# mapping. Sets moved=1 when the gateway followed it with no IKE message of
# alice's arriving meanwhile (her liveness check would move it too).
flush_round() {
  local dummy0 checks0 ike0 ike1 port2 checks1
  moved=0
  dummy0=$(nsd_q gw .counters.esp_drops.dummy)
  checks0=$(nsd_q alice '.ike_sas[0].keepalive.checks')
  ike0=$(nsd_q gw .counters.dataplane.ike_rx)
  nat_flush_conntrack nat1
  step "R4: nat1 forgot every mapping; waiting for alice's next keepalive"
  wait_for '[ "$(nsd_q gw .counters.esp_drops.dummy)" -gt '"$dummy0"' ]' 15 ||
    fail "no dummy packet came after the flush"
  port2=$(nat_udp_port nat1 "$C1_ADDR" 4500 "$GW_PUB" 4500)
  gw_sees=$(nsd_q gw '.ike_sas[0].remote')
  ike1=$(nsd_q gw .counters.dataplane.ike_rx)
  checks1=$(nsd_q alice '.ike_sas[0].keepalive.checks')
  step "nat1 maps alice to port ${port2:-none} now; the gateway sends to $gw_sees; checks $checks0 -> $checks1, IKE messages in $ike0 -> $ike1"
  if [ "$ike1" != "$ike0" ]; then
    step "an IKE message of alice's came meanwhile (her liveness check): once more"
    return 0
  fi
  [ "$checks1" = "$checks0" ] || fail "a check of the mapping went out too: the dummy packet proves nothing"
  [ -n "$port2" ] && [ "$gw_sees" = "$NAT1_PUB:$port2" ] ||
    fail "the gateway did not follow the dummy packet to nat1's new mapping ${port2:-none}"
  moved=1
}
moved=0
for round in 1 2 3; do
  flush_round
  [ "$moved" = 1 ] && break
done
[ "$moved" = 1 ] || fail "in $round rounds an IKE message of alice's always came before the gateway moved"
out=$(nsx srv ping -c 1 -W 2 "$va" 2>&1) || fail "R4: the first ping after the flush was lost: $out"
echo "  $(grep 'packets transmitted' <<<"$out")"

rx=$(nsd_q gw .counters.dataplane.keepalives_rx)
dummy=$(nsd_q gw .counters.esp_drops.dummy)
tun_rx=$(nsd_q gw '.ike_sas[0].children[0].packets_in')
step "the gateway counted $rx keepalives, $dummy of them ESP dummy packets; $tun_rx packets in on the CHILD_SA"
[ "$rx" -ge "$dummy" ] || fail "the gateway did not count its dummy packets as keepalives"
# The replies to the three pings are all the traffic alice sent.
[ "$tun_rx" -le 3 ] || fail "the dummy packets were counted as traffic ($tun_rx packets in)"

nsd_alive gw
nsd_alive alice
step "PASS"
