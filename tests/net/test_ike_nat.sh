#!/usr/bin/env bash
# IKEv2 NAT detection and port floating through a real NAT (nftables
# masquerade), checked on the wire by tshark on the internet bridge and in
# both daemons' status.
#
# R4: behind a NAT, IKE starts on UDP 500 and moves to 4500 for IKE_AUTH;
#     the gateway records the client's NAT-mapped address and port.
# R14: without a NAT, IKE stays on 500 and no NAT is reported; UDP
#     encapsulation only when needed or when forced by configuration.
# R10: nothing but the two IPsec hosts is configured (an unmodified NAT).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

# Count packets in capture FILE matching display FILTER: pkts FILE FILTER.
pkts() {
  ike_tshark "$1" -Y "$2" 2>/dev/null | wc -l
}

# Print the IKE exchanges in FILE as "exchange udp-src-port udp-dst-port", one per line.
ike_lines() {
  ike_tshark "$1" -Y isakmp -T fields -e isakmp.exchangetype -e udp.srcport -e udp.dstport 2>/dev/null
}

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example bob@corp.example carol@corp.example
nsd_start gw gw

# ------------------------------------------------------------ behind a NAT
step "R4: alice behind nat1 connects; IKE_SA_INIT on 500, IKE_AUTH on 4500"
cap=$NATSEC_TMP/nat.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
capture_stop "$cap"
ike_lines "$cap" | sed 's/^/  wire: exchange /'

[ "$(pkts "$cap" 'isakmp.exchangetype == 34 && udp.port == 500')" -eq 2 ] ||
  fail "expected IKE_SA_INIT request and response on port 500"
[ "$(pkts "$cap" 'isakmp.exchangetype == 34 && udp.port == 4500')" -eq 0 ] ||
  fail "IKE_SA_INIT seen on 4500"
[ "$(pkts "$cap" 'isakmp.exchangetype == 35 && udp.srcport == 4500 && udp.dstport == 4500')" -ge 1 ] ||
  fail "IKE_AUTH request did not move to 4500 (NAT: its source port is the NAT's mapping of 4500)"
[ "$(pkts "$cap" 'isakmp.exchangetype == 35 && ip.src == '"$GW_PUB"' && udp.srcport == 4500')" -ge 1 ] ||
  fail "the gateway's IKE_AUTH response is not on 4500"
[ "$(pkts "$cap" 'isakmp.exchangetype == 35 && udp.port == 500')" -eq 0 ] ||
  fail "IKE_AUTH seen on port 500 behind a NAT"
# The responder answers to the address and port the request came from (R4):
# every IKE packet from the gateway goes to the NAT's public address.
[ "$(pkts "$cap" "isakmp && ip.src == $GW_PUB && ip.dst != $NAT1_PUB")" -eq 0 ] ||
  fail "the gateway sent IKE somewhere other than the NAT's public address"

step "both sides report the NAT on the client's side, the virtual IP is assigned"
gw_sa=$(nsd_json gw | jq -c '.ike_sas[] | select(.remote_id == "alice@corp.example")')
cl_sa=$(nsd_json alice | jq -c '.ike_sas[0]')
echo "  gateway: $(jq -c '{state, local, remote, nat_local, nat_remote, virtual_ip}' <<<"$gw_sa")"
echo "  client:  $(jq -c '{state, local, remote, nat_local, nat_remote, virtual_ip}' <<<"$cl_sa")"
[ "$(jq -r '.nat_local' <<<"$gw_sa")" = false ] || fail "gateway thinks it is behind a NAT"
[ "$(jq -r '.nat_remote' <<<"$gw_sa")" = true ] || fail "gateway did not see the client behind a NAT"
[ "$(jq -r '.nat_local' <<<"$cl_sa")" = true ] || fail "client did not see itself behind a NAT"
[ "$(jq -r '.nat_remote' <<<"$cl_sa")" = false ] || fail "client thinks the gateway is behind a NAT"
remote=$(jq -r '.remote' <<<"$gw_sa")
[[ $remote == "$NAT1_PUB":* ]] || fail "gateway records the client at $remote, not at the NAT's address"
# The NAT-mapped port of the client's 4500, as the capture saw it.
wire_port=$(ike_tshark "$cap" -Y "isakmp.exchangetype == 35 && ip.src == $NAT1_PUB" \
  -T fields -e udp.srcport 2>/dev/null | awk 'NR == 1')
[ "$remote" = "$NAT1_PUB:$wire_port" ] || fail "gateway records $remote, the wire shows $NAT1_PUB:$wire_port"
[ "$(jq -r '.local' <<<"$cl_sa")" = "$C1_ADDR:4500" ] || fail "client's local endpoint $(jq -r .local <<<"$cl_sa")"
[ "$(jq -r '.remote' <<<"$cl_sa")" = "$GW_PUB:4500" ] || fail "client's remote endpoint $(jq -r .remote <<<"$cl_sa")"
vip=$(jq -r '.virtual_ip' <<<"$gw_sa")
[[ $vip == 10.99.0.* ]] || fail "no virtual IP from the pool assigned: $vip"
[ "$(jq -r '.virtual_ip' <<<"$cl_sa")" = "$vip" ] || fail "client's virtual IP differs from the gateway's"
[ "$(nsd_q alice .virtual_ip)" = "$vip" ] || fail "client's tunnel does not carry the virtual IP"
[[ $(nsx c1 ip -4 addr show dev nsec0) == *"inet $vip/32"* ]] || fail "virtual IP $vip not on the client's TUN"
[ "$(jq -r '.children[0].encapsulation' <<<"$gw_sa")" = udp ] || fail "CHILD_SA not UDP-encapsulated behind a NAT"
step "alice: $C1_ADDR:4500 -> $remote at the gateway, virtual IP $vip"

# ------------------------------------------------------------ no NAT
step "R14: bob on the internet (no NAT) stays on 500, no NAT reported"
cap=$NATSEC_TMP/nonat.pcapng
capture_start inet br0 "$cap" "host $PUB_ADDR and (udp port 500 or udp port 4500 or ip proto 50)"
nsd_conf_corp_client bob bob@corp.example
nsd_start bob pub
nsd_wait_up bob
capture_stop "$cap"
ike_lines "$cap" | sed 's/^/  wire: exchange /'
[ "$(pkts "$cap" 'isakmp.exchangetype == 34 && udp.srcport == 500 && udp.dstport == 500')" -eq 2 ] ||
  fail "IKE_SA_INIT not on 500"
[ "$(pkts "$cap" 'isakmp.exchangetype == 35 && udp.srcport == 500 && udp.dstport == 500')" -eq 2 ] ||
  fail "IKE_AUTH did not stay on 500 without a NAT"
[ "$(pkts "$cap" 'udp.port == 4500')" -eq 0 ] || fail "port 4500 used without a NAT"
gw_sa=$(nsd_json gw | jq -c '.ike_sas[] | select(.remote_id == "bob@corp.example")')
cl_sa=$(nsd_json bob | jq -c '.ike_sas[0]')
echo "  gateway: $(jq -c '{remote, nat_local, nat_remote, udp_encap}' <<<"$gw_sa")"
echo "  client:  $(jq -c '{remote, nat_local, nat_remote, udp_encap}' <<<"$cl_sa")"
for sa in "$gw_sa" "$cl_sa"; do
  [ "$(jq -r '[.nat_local, .nat_remote, .udp_encap] | any' <<<"$sa")" = false ] ||
    fail "a NAT or UDP encapsulation reported without a NAT: $sa"
  [ "$(jq -r '.children[0].encapsulation' <<<"$sa")" = esp ] || fail "CHILD_SA not plain ESP: $sa"
done
[ "$(jq -r '.remote' <<<"$gw_sa")" = "$PUB_ADDR:500" ] || fail "gateway records bob at $(jq -r .remote <<<"$gw_sa")"
nsd_stop bob

# ------------------------------------------------------------ forced encapsulation
step "R14: carol on the internet with force_encap = yes moves to 4500 without a NAT"
cap=$NATSEC_TMP/forced.pcapng
capture_start inet br0 "$cap" "host $PUB_ADDR and (udp port 500 or udp port 4500 or ip proto 50)"
nsd_conf_corp_client carol carol@corp.example force_encap=yes
nsd_start carol pub
nsd_wait_up carol
nsx pub ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "carol cannot reach the server through the forced-UDP tunnel"
capture_stop "$cap"
ike_lines "$cap" | sed 's/^/  wire: exchange /'
[ "$(pkts "$cap" 'isakmp.exchangetype == 34 && udp.port == 500')" -eq 2 ] || fail "IKE_SA_INIT not on 500"
[ "$(pkts "$cap" 'isakmp.exchangetype == 35 && udp.srcport == 4500 && udp.dstport == 4500')" -eq 2 ] ||
  fail "forced encapsulation: IKE_AUTH not on 4500"
[ "$(pkts "$cap" 'ip.proto == 50')" -eq 0 ] || fail "forced encapsulation: plain ESP on the wire"
[ "$(pkts "$cap" 'udp.port == 4500 && esp')" -ge 4 ] || fail "forced encapsulation: no ESP in UDP 4500 for the pings"
gw_sa=$(nsd_json gw | jq -c '.ike_sas[] | select(.remote_id == "carol@corp.example")')
cl_sa=$(nsd_json carol | jq -c '.ike_sas[0]')
echo "  gateway: $(jq -c '{remote, nat_local, nat_remote, udp_encap, forced_encap}' <<<"$gw_sa")"
echo "  client:  $(jq -c '{remote, nat_local, nat_remote, udp_encap, forced_encap}' <<<"$cl_sa")"
[ "$(jq -r '.forced_encap' <<<"$cl_sa")" = true ] || fail "client does not report forced encapsulation"
[ "$(jq -r '.udp_encap' <<<"$cl_sa")" = true ] || fail "client does not use UDP encapsulation"
[ "$(jq -r '.udp_encap' <<<"$gw_sa")" = true ] || fail "gateway does not use UDP encapsulation"
[ "$(jq -r '.remote' <<<"$gw_sa")" = "$PUB_ADDR:4500" ] || fail "gateway records carol at $(jq -r .remote <<<"$gw_sa")"
# The client is not behind a NAT and knows it: its NAT_DETECTION_DESTINATION_IP matched.
[ "$(jq -r '.nat_local' <<<"$cl_sa")" = false ] || fail "client believes it is behind a NAT"

nsd_alive gw
step "PASS"
