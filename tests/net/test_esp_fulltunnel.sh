#!/usr/bin/env bash
# A full tunnel (subnets = 0.0.0.0/0) must never capture natsecd's own
# packets: the client routes everything into its TUN device in its own
# table through a rule that natsecd's marked sockets skip, so its IKE and
# ESP still leave through the home NAT while every other packet, the
# gateway's public address included, goes through the tunnel. Without the
# mark the first ESP packet would be routed into the tunnel it carries.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw dpd=2
nsd_peer gw alice@corp.example "$NSD_PSK" 0.0.0.0/0
nsd_start gw gw
nsd_conf_client alice alice@corp.example
nsd_peer alice vpn.corp.example "$NSD_PSK" 0.0.0.0/0
nsd_start alice c1
nsd_wait_up alice
vip=$(nsd_q alice .virtual_ip)

step "client routing: rule and table"
rules=$(nsx c1 ip rule)
table=$(nsx c1 ip route show table 220)
sed 's/^/  /' <<<"$rules"
sed 's/^/  table 220: /' <<<"$table"
grep -q "not from all fwmark 0x4e53 lookup 220" <<<"$rules" || fail "no 'not fwmark' rule"
[ "$(awk '{print $1}' <<<"$table")" = default ] || fail "the full tunnel is not routed"
# An unmarked packet to the gateway goes into the tunnel, a marked one (as
# natsecd's sockets are) to the home NAT.
unmarked=$(nsx c1 ip route get "$GW_PUB")
marked=$(nsx c1 ip route get "$GW_PUB" mark 0x4e53)
echo "  unmarked: $(head -n 1 <<<"$unmarked")"
echo "  marked:   $(head -n 1 <<<"$marked")"
grep -q "dev nsec0" <<<"$unmarked" || fail "unmarked traffic to the gateway bypasses the tunnel"
grep -q "via $NAT_LAN dev eth0" <<<"$marked" || fail "marked traffic would enter the tunnel"

cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "ip and host $NAT1_PUB"
step "pings to the server and to the gateway's public address go through the tunnel"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping to the server in a full tunnel"
nsx c1 ping -c 3 -i 0.2 -W 2 "$GW_PUB" >/dev/null || fail "no ping to the gateway through the tunnel"
step "idle for 4 s: the gateway's liveness check (dpd 2 s) is answered over the NAT"
sleep 4
capture_stop "$cap"
plain_icmp=$(tshark -n -r "$cap" -Y icmp 2>/dev/null | wc -l)
esp=$(tshark -n -r "$cap" -Y "udp.port == 4500 && esp" 2>/dev/null | wc -l)
info=$(tshark -n -r "$cap" -Y "udp.port == 4500 && isakmp.exchangetype == 37" 2>/dev/null | wc -l)
step "on the internet: $esp ESP in UDP 4500, $info INFORMATIONAL, $plain_icmp plain ICMP"
[ "$plain_icmp" -eq 0 ] || fail "pings left the client outside the tunnel"
[ "$esp" -ge 12 ] || fail "the pings were not carried as ESP"
[ "$info" -ge 2 ] || fail "no liveness exchange: IKE is stuck in the tunnel"
[ "$(nsd_q alice '.ike_sas[0].state')" = ESTABLISHED ] || fail "the IKE SA did not survive"
echo "  virtual IP $vip; tunnel counters: $(nsd_json alice | jq -c '.ike_sas[0].children[0] | {packets_in, packets_out}')"

nsd_alive alice
step "PASS"
