#!/usr/bin/env bash
# R14: without a NAT in the path the wire carries plain ESP, IP protocol 50,
# and IKE stays on UDP 500: nothing on 4500. A client directly on the
# internet pings and transfers through the tunnel; a capture on the
# internet bridge shows protocol 50 with the SPIs both daemons report, and
# a NAT-ed client at the same time still gets ESP in UDP (each SA chooses
# its own encapsulation).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw bob@corp.example alice@corp.example
nsd_start gw gw

cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "ip and (udp port 500 or udp port 4500 or ip proto 50)"

nsd_conf_corp_client bob bob@corp.example
nsd_start bob pub
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up bob
nsd_wait_up alice

step "R14: bob (no NAT, $PUB_ADDR) and alice (behind nat1) ping the server"
nsx pub ping -c 5 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's ping through plain ESP failed"
nsx c1 ping -c 5 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's ping through ESP in UDP failed"
nsx srv ping -c 3 -i 0.1 -W 2 "$(nsd_q bob .virtual_ip)" >/dev/null || fail "the server cannot reach bob's virtual IP"
capture_stop "$cap"

bob_child=$(nsd_json bob | jq -c '.ike_sas[0].children[0]')
spi_out=$(jq -r .spi_out <<<"$bob_child")
spi_in=$(jq -r .spi_in <<<"$bob_child")
[ "$(jq -r .encapsulation <<<"$bob_child")" = esp ] || fail "bob's CHILD_SA is not plain ESP"

echo "  wire, bob's traffic:"
tshark -n -r "$cap" -Y "ip.addr == $PUB_ADDR" 2>/dev/null | awk 'NR <= 8 { print "    " $0 }'
plain_out=$(tshark -n -r "$cap" -Y "ip.src == $PUB_ADDR && ip.proto == 50 && !udp && esp.spi == $spi_out" 2>/dev/null | wc -l)
plain_in=$(tshark -n -r "$cap" -Y "ip.dst == $PUB_ADDR && ip.proto == 50 && !udp && esp.spi == $spi_in" 2>/dev/null | wc -l)
udp4500=$(tshark -n -r "$cap" -Y "ip.addr == $PUB_ADDR && udp.port == 4500" 2>/dev/null | wc -l)
ike500=$(tshark -n -r "$cap" -Y "ip.addr == $PUB_ADDR && udp.port == 500 && isakmp" 2>/dev/null | wc -l)
step "bob on the wire: $plain_out protocol-50 packets out (SPI $spi_out), $plain_in in (SPI $spi_in), $ike500 IKE on 500, $udp4500 on 4500"
[ "$plain_out" -ge 5 ] || fail "bob's ESP to the gateway is not IP protocol 50 with SPI $spi_out"
[ "$plain_in" -ge 8 ] || fail "the gateway's ESP to bob is not IP protocol 50 with SPI $spi_in"
[ "$udp4500" -eq 0 ] || fail "bob's traffic used UDP 4500 without a NAT"
[ "$ike500" -ge 4 ] || fail "bob's IKE not on UDP 500"

alice_esp_udp=$(tshark -n -r "$cap" -Y "ip.addr == $NAT1_PUB && udp.port == 4500 && esp" 2>/dev/null | wc -l)
alice_plain=$(tshark -n -r "$cap" -Y "ip.addr == $NAT1_PUB && ip.proto == 50" 2>/dev/null | wc -l)
step "alice on the wire at the same time: $alice_esp_udp ESP in UDP 4500, $alice_plain protocol 50"
[ "$alice_esp_udp" -ge 10 ] && [ "$alice_plain" -eq 0 ] || fail "alice's ESP not in UDP 4500 behind her NAT"

gw_bob=$(nsd_json gw | jq -c '.ike_sas[] | select(.remote_id == "bob@corp.example") | .children[0] | {encapsulation, esp_peer, packets_in, packets_out}')
step "gateway's CHILD_SA for bob: $gw_bob"
[ "$(jq -r .encapsulation <<<"$gw_bob")" = esp ] || fail "gateway uses UDP encapsulation for bob"

nsd_alive gw
step "PASS"
