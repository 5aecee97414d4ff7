#!/usr/bin/env bash
# ctest: serial
# X8: IPv6 outside the tunnel. One gateway listening on IPv4 and IPv6 at
# once (its default) serves at the same time
#   bob,   a client with IPv6 alone outside (no IPv4 address), no NAT:
#          plain ESP (R14) over IPv6, IKE on UDP 500 over IPv6; then, in
#          his place, dora with force_encap = yes: ESP in UDP 4500;
#   carol, a client behind a NAT66 (nftables masquerade for IPv6): the NAT
#          is detected from IPv6 addresses (R5), ESP goes in UDP 4500, and
#          when the NAT66 moves her public port during pings the gateway
#          follows losing at most one ping (R4);
#   alice, a client behind an IPv4 NAT, as ever (R6).
# All of them reach the IPv4 corporate server through their tunnels.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/topo6.sh
. "$here/tools/topo6.sh"

export NATSEC_IPV6=1
netns_init
nsd_check_build
topo6_setup

nsd_conf_gateway gw dpd=2
nsd_corp_peers gw alice@corp.example bob@corp.example carol@corp.example
nsd_start gw gw

cap=$NATSEC_TMP/wire6.pcapng
capture_start inet br0 "$cap" "ip6 and (udp port 500 or udp port 4500 or ip6 proto 50)"

NSD_GATEWAY=$GW_PUB6 nsd_conf_corp_client bob bob@corp.example
NSD_GATEWAY=$GW_PUB6 nsd_conf_corp_client carol carol@corp.example keepalive=1
nsd_conf_corp_client alice alice@corp.example
nsd_start bob pub6
nsd_start carol c6
nsd_start alice c1
nsd_wait_up bob
nsd_wait_up carol
nsd_wait_up alice
nsd_wait_up gw 3

[ -z "$(nsx pub6 ip -4 addr show dev eth0)" ] || fail "bob has an IPv4 address outside"
step "X8: bob (IPv6 only), carol (NAT66) and alice (IPv4 NAT) ping the IPv4 server"
nsx pub6 ping -c 3 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's ping over the IPv6 path failed"
nsx c6 ping -c 3 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "carol's ping through the NAT66 failed"
nsx c1 ping -c 3 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's ping over IPv4 failed"
capture_stop "$cap"

gw_sa() { nsd_json gw | jq -c ".ike_sas[] | select(.remote_id == \"$1\")"; }
bob_gw=$(gw_sa bob@corp.example)
carol_gw=$(gw_sa carol@corp.example)
alice_gw=$(gw_sa alice@corp.example)
step "gateway: bob $(jq -c '{remote, udp_encap, nat_remote}' <<<"$bob_gw")"
step "gateway: carol $(jq -c '{remote, udp_encap, nat_remote}' <<<"$carol_gw")"
step "gateway: alice $(jq -c '{remote, udp_encap, nat_remote}' <<<"$alice_gw")"
[ "$(jq -r .remote <<<"$bob_gw")" = "[$PUB6_ADDR]:500" ] || fail "bob not seen at his IPv6 address"
[ "$(jq -r '.children[0].encapsulation' <<<"$bob_gw")" = esp ] || fail "bob's ESP is not plain (R14)"
[ "$(jq -r .nat_remote <<<"$bob_gw")" = false ] || fail "a NAT reported in front of bob"
[[ $(jq -r .remote <<<"$carol_gw") == "[$NAT6_PUB]:"* ]] || fail "carol not seen at the NAT66's address"
[ "$(jq -r .nat_remote <<<"$carol_gw")" = true ] || fail "the NAT66 in front of carol not detected (R5)"
[ "$(jq -r '.children[0].encapsulation' <<<"$carol_gw")" = udp ] || fail "carol's ESP not in UDP"
[[ $(jq -r .remote <<<"$alice_gw") == "$NAT1_PUB:"* ]] || fail "alice not seen at nat1's IPv4 address"

spi_out=$(nsd_q bob '.ike_sas[0].children[0].spi_out')
plain=$(tshark -n -r "$cap" -Y "ipv6.src == $PUB6_ADDR && esp.spi == $spi_out && !udp" 2>/dev/null | wc -l)
ike500=$(tshark -n -r "$cap" -Y "ipv6.addr == $PUB6_ADDR && udp.port == 500 && isakmp" 2>/dev/null | wc -l)
bob4500=$(tshark -n -r "$cap" -Y "ipv6.addr == $PUB6_ADDR && udp.port == 4500" 2>/dev/null | wc -l)
carol_udp=$(tshark -n -r "$cap" -Y "ipv6.src == $NAT6_PUB && udp.dstport == 4500 && esp" 2>/dev/null | wc -l)
step "wire: bob $plain ESP over IPv6 (SPI $spi_out), $ike500 IKE on 500, $bob4500 on 4500; carol $carol_udp ESP in UDP over IPv6"
[ "$plain" -ge 3 ] || fail "bob's ESP is not IP protocol 50 over IPv6"
[ "$ike500" -ge 4 ] && [ "$bob4500" -eq 0 ] || fail "bob's IKE not on UDP 500 alone"
[ "$carol_udp" -ge 3 ] || fail "carol's ESP is not UDP 4500 over IPv6"

step "X1: carol's keepalives cross the NAT66 to the gateway"
ka=$(nsd_q carol .counters.dataplane.keepalives_tx)
ka_gw=$(nsd_q gw .counters.dataplane.keepalives_rx)
nsd_wait carol ".counters.dataplane.keepalives_tx > $ka" 5 || fail "carol sends no keepalives"
nsd_wait gw ".counters.dataplane.keepalives_rx > $ka_gw" 5 || fail "no keepalive from carol reached the gateway"

step "R4: the NAT66 moves carol to ports 20000-30000 during 40 pings"
out=$NATSEC_TMP/ping6.out
run_bg c6 ping -c 40 -i 0.1 -W 1 "$SRV_ADDR" >"$out" 2>&1
pid=$BG_PID
sleep 1.5
nat66_move 20000 30000
wait_for "grep -q 'packets transmitted' '$out'" 10 || true
wait "$pid" 2>/dev/null || true
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
now=$(jq -r .remote <<<"$(gw_sa carol@corp.example)")
esp_peer=$(jq -r '.children[0].esp_peer' <<<"$(gw_sa carol@corp.example)")
step "lost $((sent - got)) of $sent pings; the gateway sees carol at $now (ESP to $esp_peer)"
[ "$sent" = 40 ] || fail "ping did not run to the end: $(cat "$out")"
[ $((sent - got)) -le 1 ] || fail "lost $((sent - got)) pings when the NAT66 moved"
port=${now##*:}
[[ $now == "[$NAT6_PUB]:"* ]] && [ "$port" -ge 20000 ] && [ "$port" -le 30000 ] ||
  fail "the gateway did not follow carol to her new port: $now"
[ "$esp_peer" = "$now" ] || fail "ESP goes to $esp_peer, IKE to $now"

step "R14: on bob's IPv6 path with force_encap = yes, dora's ESP goes in UDP 4500 without a NAT"
nsd_alive bob
nsd_stop bob
NSD_GATEWAY=$GW_PUB6 nsd_conf_corp_client dora bob@corp.example force_encap=yes
nsd_start dora pub6
nsd_wait_up dora
nsx pub6 ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "dora's ping failed"
dora_gw=$(gw_sa bob@corp.example)
step "gateway: dora $(jq -c '{remote, udp_encap, nat_remote}' <<<"$dora_gw")"
[[ $(jq -r .remote <<<"$dora_gw") == "[$PUB6_ADDR]:4500" ]] || fail "dora's IKE did not float to 4500"
[ "$(jq -r '.children[0].encapsulation' <<<"$dora_gw")" = udp ] || fail "dora's ESP is not in UDP"

nsd_alive gw
nsd_alive dora
nsd_alive carol
nsd_alive alice
step "PASS"
