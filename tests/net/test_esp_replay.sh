#!/usr/bin/env bash
# Anti-replay (RFC 4303 3.4.3): ESP packets captured on the internet and
# sent again, by an attacker elsewhere on the internet, are dropped and
# counted as replays, and change nothing: nothing reaches the corporate
# server, and the SA does not move to the attacker's address (R4, R15: only
# an authentic, newest packet moves an SA). Both encapsulations: ESP in UDP
# 4500 (alice, behind nat1) and plain ESP, IP protocol 50 (bob, no NAT).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

COPIES=3

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/pktsend" ] || fail "pktsend not built"
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example bob@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_conf_corp_client bob bob@corp.example
nsd_start bob pub
nsd_wait_up alice
nsd_wait_up bob

step "capture one ESP packet of each client on the internet"
cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "ip and dst host $GW_PUB and (udp port 4500 or ip proto 50)"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's ping failed"
nsx pub ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's ping failed"
capture_stop "$cap"
udp_hex=$(tshark -n -r "$cap" -Y "ip.src == $NAT1_PUB && udp.dstport == 4500 && esp" -T fields -e udp.payload 2>/dev/null | awk 'NR == 1')
[ -n "$udp_hex" ] || fail "no ESP-in-UDP packet of alice captured"
one=$NATSEC_TMP/one.pcap
tshark -n -r "$cap" -Y "ip.src == $PUB_ADDR && ip.proto == 50" -F pcap -w "$one" 2>/dev/null
# The first record: pcap file header 24 bytes, record header 16 (its
# captured length at offset 8), then Ethernet 14 and IPv4 20 (no options).
rec_len=$(od -An -tu4 -j 32 -N 4 "$one" | tr -d ' ')
[ -n "$rec_len" ] && [ "$rec_len" -gt 42 ] || fail "no protocol-50 packet of bob captured"
esp_hex=$(od -An -tx1 -v -j 74 -N $((rec_len - 34)) "$one" | tr -d ' \n')
[ -n "$esp_hex" ] || fail "no protocol-50 packet of bob captured"
echo "  alice's: SPI ${udp_hex:0:8} seq ${udp_hex:8:8}, $((${#udp_hex} / 2)) bytes; bob's: SPI ${esp_hex:0:8} seq ${esp_hex:8:8}, $((${#esp_hex} / 2)) bytes"

state() {
  nsd_json gw | jq -c '{replay: .counters.esp_drops.replay, sas: ([.ike_sas[] | {remote, pin: .children[0].packets_in}] | sort_by(.remote))}'
}
srv_requests() {
  tshark -n -r "$NATSEC_TMP/srv.pcapng" -Y 'icmp.type == 8' 2>/dev/null | wc -l
}

before=$(state)
capture_start srv eth0 "$NATSEC_TMP/srv.pcapng" icmp
step "replay alice's ESP-in-UDP packet $COPIES times from nat2's address (an attacker on the internet)"
nsx nat2 "$NSD_TOOLS/pktsend" -d "$GW_PUB" -p 4500 -b 4500 -c $COPIES "$udp_hex" >/dev/null || fail "pktsend failed"
step "replay bob's protocol-50 packet $COPIES times from nat2's address"
nsx nat2 "$NSD_TOOLS/pktsend" -d "$GW_PUB" -r -c $COPIES "$esp_hex" >/dev/null || fail "pktsend -r failed"
want=$(($(jq .replay <<<"$before") + 2 * COPIES))
wait_for "[ \"\$(nsd_q gw .counters.esp_drops.replay)\" -ge $want ]" 5 || true
capture_stop
after=$(state)
step "gateway before: $before"
step "gateway after:  $after"
[ "$(jq .replay <<<"$after")" -eq "$want" ] || fail "replays counted: $(jq .replay <<<"$after"), expected $want"
[ "$(jq -c .sas <<<"$after")" = "$(jq -c .sas <<<"$before")" ] ||
  fail "a replayed packet changed an SA (address or packet count)"
[ "$(srv_requests)" -eq 0 ] || fail "a replayed ping reached the server"

step "both tunnels still work"
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's tunnel broke"
nsx pub ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's tunnel broke"
nsd_alive gw
step "PASS"
