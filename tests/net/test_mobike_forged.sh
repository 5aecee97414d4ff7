#!/usr/bin/env bash
# Address updates a third host sends (X4, MOBIKE, RFC 4555 3.5; R15): alice
# (c1 behind nat1) moves to another address on her LAN (a second address,
# the default route's source switched to it), so her natsecd sends a real
# UPDATE_SA_ADDRESSES, captured on the internet. Then "pub", a host on the
# internet, sends the gateway:
#   (a) that captured update again, byte for byte: the cached answer goes
#       back, nothing moves (responses_resent);
#   (b) a copy with its ICV changed: dropped unauthenticated (dropped_unauth);
#   (c) the captured update once alice made a newer request: dropped as out
#       of the window (dropped_unexpected).
# After each the gateway still has alice where she is, with the same
# address-update count; her pings still go through.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw dpd=0
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
# A fixed keepalive: keepalive = auto would check her NAT mapping with
# INFORMATIONAL requests of its own, and the capture below takes her first
# INFORMATIONAL request after the move to be the update.
nsd_conf_corp_client alice alice@corp.example dpd=0 keepalive=20
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw

cap=$NATSEC_TMP/inet.pcapng
capture_start inet br0 "$cap" "udp port 4500 and host $NAT1_PUB"
step "alice moves from $C1_ADDR to 10.1.0.7 on her LAN"
must ip -n "$NS_PREFIX-c1" addr add 10.1.0.7/24 dev eth0
must ip -n "$NS_PREFIX-c1" route replace default via "$NAT_LAN" src 10.1.0.7
wait_for "[ \"\$(nsd_q gw '.ike_sas[0].address_updates')\" = 1 ]" 5 || fail "the gateway took no update"
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel after the move"
capture_stop
# The update: the first IKE request (non-ESP marker, then an IKE header with
# exchange INFORMATIONAL) alice's NAT sent after the move.
upd=$(tshark -n -r "$cap" -Y "ip.src == $NAT1_PUB && isakmp.exchangetype == 37 && isakmp.flag_r == 0" \
  -T fields -e udp.payload 2>/dev/null | head -n 1)
[ -n "$upd" ] || fail "no UPDATE_SA_ADDRESSES captured"
where=$(nsd_q gw '.ike_sas[0].remote')
step "captured the update ($(((${#upd}) / 2)) bytes); the gateway has alice at $where"

# Sends hex payload HEX from pub to the gateway's NAT-T port: from_pub HEX.
from_pub() {
  nsx pub python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 4500))' "$1" "$GW_PUB"
}
ctr() { nsd_q gw ".counters.ike.$1"; }
unchanged() {
  local now
  now=$(nsd_q gw '.ike_sas[0].remote')
  [ "$now" = "$where" ] || fail "$1: the gateway moved alice to $now"
  [ "$(nsd_q gw '.ike_sas[0].address_updates')" = 1 ] || fail "$1: an address update was counted"
  [ "$(ctr mobike_updates)" = 1 ] || fail "$1: mobike_updates changed"
}

step "(a) the update replayed from $PUB_ADDR"
r0=$(ctr responses_resent)
m0=$(ctr peer_moves)
from_pub "$upd"
wait_for "[ \"\$(nsd_q gw .counters.ike.responses_resent)\" -gt $r0 ]" 3 || fail "(a) not counted as a retransmission"
unchanged "(a)"
[ "$(ctr peer_moves)" = "$m0" ] || fail "(a) peer_moves changed"

step "(b) a copy with a changed ICV"
u0=$(ctr dropped_unauth)
last=${upd: -2}
from_pub "${upd:0:${#upd}-2}$(printf '%02x' $((0x$last ^ 0x5a)))"
wait_for "[ \"\$(nsd_q gw .counters.ike.dropped_unauth)\" -gt $u0 ]" 3 || fail "(b) not counted unauthenticated"
unchanged "(b)"

step "(c) the update again after a newer request of alice's (a CHILD_SA re-key)"
"$NSC_BIN" -s "$(nsd_sock alice)" rekey >/dev/null || fail "natsecctl rekey failed"
wait_for "[ \"\$(nsd_q gw .counters.ike.child_rekeys)\" -ge 1 ]" 5 || fail "the re-key did not happen"
x0=$(ctr dropped_unexpected)
from_pub "$upd"
wait_for "[ \"\$(nsd_q gw .counters.ike.dropped_unexpected)\" -gt $x0 ]" 3 || fail "(c) not counted as out of the window"
unchanged "(c)"
step "counters: responses_resent $(ctr responses_resent), dropped_unauth $(ctr dropped_unauth), dropped_unexpected $(ctr dropped_unexpected), mobike_updates $(ctr mobike_updates), peer_moves $(ctr peer_moves)"

nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's tunnel broke"
nsd_alive gw
nsd_alive alice
step "PASS"
