#!/usr/bin/env bash
# ctest: serial
# Re-keys through a NAT that rebound the client's mapping (R4, X3): the
# gateway has 10 s CHILD_SA and 20 s IKE SA lifetimes (alice the default
# hours), so every re-key is the gateway's request to alice. 3 s into a
# ping every 0.1 s, nat1 moves its masquerade to ports 20000-30000 and
# forgets its mappings (conntrack flush): alice's next ESP packet comes
# from a new public port, the gateway moves the SAs there, and its re-keys
# (CHILD_SA and IKE SA) go to the new port, reach alice and complete; the
# capture on the internet shows no IKE to the old port after the move.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

PINGS=260

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw child_lifetime=10 ike_lifetime=20
nsd_peer gw alice@corp.example "$NSD_PSK" "$CORP_NET"
nsd_start gw gw
nsd_conf_client alice alice@corp.example
nsd_peer alice vpn.corp.example "$NSD_PSK" "$CORP_NET"
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
before=$(nsd_q gw '.ike_sas[0].remote')
[ "$(nsd_q gw .counters.ike.child_rekeys)" -eq 0 ] || fail "a re-key before the NAT moved"

cap=$NATSEC_TMP/rekey.pcapng
capture_start inet br0 "$cap" "udp port 4500 and host $NAT1_PUB"
out=$NATSEC_TMP/ping.out
run_bg c1 ping -c "$PINGS" -i 0.1 -W 1 "$SRV_ADDR" >"$out" 2>&1
ping_pid=$BG_PID
sleep 3
step "R4: nat1 moves to ports 20000-30000 and flushes conntrack (gateway sees alice at $before)"
nat_set_port_range nat1 20000 30000
nat_flush_conntrack nat1
nsd_wait gw '.ike_sas[0].remote | test(":(2[0-9]{4}|30000)$")' 5 || fail "the gateway did not follow alice to the new port"
after=$(nsd_q gw '.ike_sas[0].remote')
port=${after##*:}
step "the gateway moved alice to $after; the gateway's re-keys come now"
[ "$(nsd_q gw .counters.ike.child_rekeys)" -eq 0 ] || fail "the gateway re-keyed before the move: nothing shown"
wait "$ping_pid" || true
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
[ "$sent" = "$PINGS" ] || fail "ping did not run to the end: $(tail -n 3 "$out")"
lost=$((sent - got))
capture_stop "$cap"

cr=$(nsd_q alice .counters.ike.child_rekeys)
ir=$(nsd_q alice .counters.ike.ike_rekeys)
step "alice answered $cr CHILD_SA and $ir IKE SA re-keys of the gateway; $lost of $sent pings lost"
[ "$cr" -ge 2 ] || fail "alice saw only $cr CHILD_SA re-keys"
[ "$ir" -ge 1 ] || fail "alice saw no IKE SA re-key"
grep -q 'the peer re-keyed CHILD SA' "$(nsd_log alice)" || fail "the re-keys were not the gateway's"
[ "$(nsd_q gw .counters.ike.rekey_failures)" -eq 0 ] || fail "the gateway's re-keys failed"
[ "$(nsd_q gw .counters.ike.retransmits)" -eq 0 ] || fail "the gateway had to retransmit (sent to a stale port?)"
# One ping may go with the NAT's move (a reply on its way when the NAT
# forgets the mapping), none with a re-key (X3).
[ "$lost" -le 1 ] || fail "lost $lost pings in a NAT move and $((cr + ir)) re-keys"

# The capture: every CREATE_CHILD_SA request of the gateway went to the new
# port and was answered from it; nothing IKE went to the old one after it.
reqs=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 36 && ip.src == $GW_PUB && udp.dstport == $port && isakmp.flag_r == 0" 2>/dev/null | wc -l)
rsps=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 36 && ip.dst == $GW_PUB && udp.srcport == $port && isakmp.flag_r == 1" 2>/dev/null | wc -l)
stale=$(tshark -n -r "$cap" -Y "isakmp && ip.src == $GW_PUB && udp.dstport != $port && frame.time_relative > 4" 2>/dev/null | wc -l)
step "capture: $reqs CREATE_CHILD_SA requests to $NAT1_PUB:$port, $rsps answers from it, $stale IKE messages to another port"
[ "$reqs" -ge $((cr + ir)) ] && [ "$rsps" -ge $((cr + ir)) ] || fail "the re-keys did not go to alice's new port"
[ "$stale" -eq 0 ] || fail "the gateway sent IKE to a stale port"
esp_peer=$(nsd_q gw '.ike_sas[0].children[0].esp_peer')
[ "$esp_peer" = "$(nsd_q gw '.ike_sas[0].remote')" ] && [ "${esp_peer##*:}" = "$port" ] ||
  fail "the re-keyed CHILD_SA sends to $esp_peer"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel after the re-keys"
nsd_alive gw
nsd_alive alice
step "PASS"
