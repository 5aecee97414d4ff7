#!/usr/bin/env bash
# NAT keepalives (X1, RFC 3948 4): nat1 forgets UDP mappings after 30 s of
# silence. alice (keepalive = 20, a fixed interval) sends a keepalive to
# the gateway's 4500 after 20 s with nothing sent: an ESP dummy packet
# (RFC 4303 2.6) on her CHILD_SA, authenticated where the 0xFF byte is not,
# which the gateway counts and discards; dave behind the same NAT sends
# none (keepalive = 0), as the control. Liveness checks are off on every side, so the
# keepalives are the only packets. After 90 s of idleness the corporate
# server still reaches alice's virtual IP through the gateway (her mapping
# lived), and not dave's (his expired): the keepalives are what kept it.
# The gateway, not behind a NAT, sends none though its keepalive is set
# too. X10: the TUN devices run IPv6 as a host's do, so the kernel sends
# its own link noise into them (MLD, router solicitations); it is counted
# as link_local and never as a policy drop: no_policy stays 0 everywhere.
# Takes about 100 s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

IDLE=40
NAT_TIMEOUT=15
KEEPALIVE=5

netns_init
nsd_check_build
topo_setup
nat_set_udp_timeout nat1 $NAT_TIMEOUT
# IPv6 on the interfaces made from now on: the TUN devices.
for ns in gw c1 c1b; do
  nsx "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=0 || fail "cannot enable IPv6 in $ns"
done

nsd_conf_gateway gw dpd=0 keepalive=$KEEPALIVE
nsd_corp_peers gw alice@corp.example dave@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example keepalive=$KEEPALIVE dpd=0
nsd_conf_corp_client dave dave@corp.example keepalive=0 dpd=0
nsd_start alice c1
nsd_start dave c1b
nsd_wait_up alice
nsd_wait_up dave
va=$(nsd_q alice .virtual_ip)
vd=$(nsd_q dave .virtual_ip)
nsx srv ping -c 1 -W 2 "$va" >/dev/null || fail "the server cannot reach alice at first"
nsx srv ping -c 1 -W 2 "$vd" >/dev/null || fail "the server cannot reach dave at first"

cap=$NATSEC_TMP/ka.pcapng
capture_start inet br0 "$cap" "ip and host $NAT1_PUB"
step "X1: $IDLE s without traffic; nat1's UDP mappings expire after $NAT_TIMEOUT s; alice keepalive $KEEPALIVE s, dave none"
sleep $IDLE
capture_stop "$cap"

# A dummy packet is the ESP header, an IV, 4 bytes of trailer and the ICV:
# at most 8 + 8 + 4 + 16 bytes with alice's AES-GCM, 44 with the UDP header.
ka_filter="udp.dstport == 4500 && ip.dst == $GW_PUB && esp && udp.length <= 44"
ka=$(tshark -n -r "$cap" -Y "$ka_filter" -T fields -e frame.time_relative -e udp.srcport -e esp.spi -e udp.length 2>/dev/null)
echo "$ka" | awk 'NF { if (f == "") f = $1; printf "  keepalive %6.1f s after the first, from %s:%s, ESP SPI %s, UDP length %s\n", $1 - f, "'"$NAT1_PUB"'", $2, $3, $4 }'
n_ka=$(echo "$ka" | awk 'NF' | wc -l)
other=$(tshark -n -r "$cap" -Y "!($ka_filter)" 2>/dev/null | wc -l)
step "$n_ka keepalives on the wire, $other other packets during the idle time"
[ "$n_ka" -ge $((IDLE / KEEPALIVE - 1)) ] || fail "only $n_ka keepalives in $IDLE s"
[ "$(echo "$ka" | awk 'NF { print $3 }' | sort -u | wc -l)" -eq 1 ] || fail "keepalives on more than one SPI"
[ "$other" -eq 0 ] || fail "other traffic kept the NAT mapping alive"
# Gaps between keepalives stay under the NAT's timeout.
echo "$ka" | awk -v t=$NAT_TIMEOUT 'NF { if (p != "" && $1 - p >= t) bad = 1; p = $1 } END { exit bad }' ||
  fail "a gap between keepalives reached the NAT timeout"
step "alice sent $(nsd_q alice .counters.dataplane.keepalives_tx), the gateway received $(nsd_q gw .counters.dataplane.keepalives_rx) and discarded them"
[ "$(nsd_q gw .counters.dataplane.keepalives_rx)" -ge "$n_ka" ] || fail "the gateway did not count the keepalives"
[ "$(nsd_q gw .counters.esp_drops.dummy)" -ge "$n_ka" ] || fail "the gateway did not take them as ESP dummy packets"
[ "$(nsd_q dave .counters.dataplane.keepalives_tx)" -eq 0 ] || fail "dave sent keepalives with keepalive = 0"
gw_ka=$(tshark -n -r "$cap" -Y "udp.srcport == 4500 && ip.src == $GW_PUB" 2>/dev/null | wc -l)
step "X1: the gateway (no NAT in front of it) sent $(nsd_q gw .counters.dataplane.keepalives_tx) keepalives, $gw_ka on the wire"
[ "$(nsd_q gw .counters.dataplane.keepalives_tx)" -eq 0 ] || fail "the gateway sent keepalives"
[ "$gw_ka" -eq 0 ] || fail "$gw_ka keepalives from the gateway on the wire"

for n in gw alice dave; do
  step "X10: $n: no_policy $(nsd_q $n .counters.esp_drops.no_policy), link_local $(nsd_q $n .counters.esp_drops.link_local), TUN packets read $(nsd_q $n .counters.dataplane.tun_rx)"
  [ "$(nsd_q $n .counters.esp_drops.no_policy)" -eq 0 ] || fail "$n counted its own link noise as policy drops"
done
[ "$(nsd_q alice .counters.esp_drops.link_local)" -ge 1 ] ||
  fail "alice's TUN device sent no link noise: IPv6 is not on, the check proves nothing"

step "after $IDLE s the server reaches alice through the gateway; dave's mapping is gone"
out=$(nsx srv ping -c 3 -i 0.2 -W 2 "$va" 2>&1) || fail "the gateway cannot reach the idle alice after $IDLE s: $out"
echo "  alice: $(grep 'packets transmitted' <<<"$out")"
if nsx srv ping -c 2 -i 0.2 -W 1 "$vd" >/dev/null 2>&1; then
  fail "dave was reachable without keepalives: the NAT timeout did not act, the test proves nothing"
fi
echo "  dave: unreachable, as expected without keepalives"

nsd_alive gw
step "PASS"
