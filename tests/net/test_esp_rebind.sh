#!/usr/bin/env bash
# ctest: serial
# NAT rebinding under traffic (R4), with a ping every 0.1 s from the client
# to the corporate server:
#   (a) the NAT forgets every mapping (conntrack flush);
#   (b) the NAT's masquerade moves to ports 20000-30000 and forgets every
#       mapping, so the client's public port changes;
#   (c) the same to ports 30001-40000 after an IKE SA re-key, whose new IKE
#       SA carries the CHILD_SAs under the old one's data-plane id;
#   (d) five such moves in a row, one every 1.2 s, under one ping stream.
# In each of (a) to (c) at most one ping may be lost, and in all of (d)
# together: the gateway moves the SA to the new address and port on the
# first authenticated ESP packet from there (RFC 7296 2.23) before that
# packet reaches its TUN device, so even the reply to it goes to the new
# port, and every later packet, ESP and IKE, goes there. What may be lost
# is a reply on its way to the NAT at the moment it forgets the mapping.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

PINGS=60

netns_init
nsd_check_build
topo_setup

# dpd = 2: once the pings stop, the gateway's liveness check shows where
# its IKE messages go after the move.
nsd_conf_gateway gw dpd=2
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"

# Run $PINGS pings 0.1 s apart in the background, call ACTION... after 3 s,
# and print how many were lost: pings_around ACTION...
pings_around() {
  local out=$NATSEC_TMP/ping.out
  run_bg c1 ping -c "$PINGS" -i 0.1 -W 1 "$SRV_ADDR" >"$out" 2>&1
  local pid=$BG_PID
  sleep 3
  "$@"
  ping_lost "$out" "$pid" "$PINGS"
}

before=$(nsd_q gw '.ike_sas[0].remote')
moves_start=$(nsd_q gw .counters.ike.peer_moves)
step "R4 (a): conntrack flush on nat1 during pings (gateway sees alice at $before)"
lost=$(pings_around nat_flush_conntrack nat1)
after=$(nsd_q gw '.ike_sas[0].remote')
step "(a) lost $lost of $PINGS pings; alice at $after afterwards"
[ "$lost" -le 1 ] || fail "(a) lost $lost pings after a conntrack flush"
[[ $after == "$NAT1_PUB":* ]] || fail "(a) gateway lost track of alice: $after"

# nat1 masquerades to ports LO-HI and forgets every mapping during pings;
# the gateway must move alice's IKE SA and ESP SAs there losing at most one
# ping. Sets port (alice's new public port): nat_move_checked LABEL LO HI.
nat_move_checked() {
  local label=$1 lo=$2 hi=$3 from moves_before moves_after lost now esp_peer
  from=$(nsd_q gw '.ike_sas[0].remote')
  moves_before=$(nsd_q gw .counters.ike.peer_moves)
  move_nat() {
    # netns.sh checks the rule with "nft ... | quiet_grep", which under pipefail
    # fails when grep's early exit hits nft with SIGPIPE: check without it.
    (
      set +o pipefail
      nat_set_port_range nat1 "$lo" "$hi"
    ) || fail "cannot move nat1's masquerade to $lo-$hi"
    nat_flush_conntrack nat1
  }
  lost=$(pings_around move_nat)
  now=$(nsd_q gw '.ike_sas[0].remote')
  esp_peer=$(nsd_q gw '.ike_sas[0].children[0].esp_peer')
  moves_after=$(nsd_q gw .counters.ike.peer_moves)
  step "($label) lost $lost of $PINGS pings; gateway moved alice from $from to $now (ESP to $esp_peer), peer moves $moves_before -> $moves_after"
  port=${now##*:}
  [[ $now == "$NAT1_PUB":* ]] && [ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ] ||
    fail "($label) the gateway did not move alice to the new port: $now"
  [ "$esp_peer" = "$now" ] || fail "($label) ESP goes to $esp_peer, IKE to $now"
  [ "$moves_after" -gt "$moves_before" ] || fail "($label) no peer move counted"
  [ "$lost" -le 1 ] || fail "($label) lost $lost pings after the NAT moved the client's port"
}

step "R4 (b): nat1 masquerades to ports 20000-30000 and flushes conntrack, during pings"
nat_move_checked b 20000 30000

grep -E "moved" "$(nsd_log gw)" | sed 's/^/  gw: /'

step "R4: IKE follows too: the gateway's liveness check goes to alice's new port and is answered"
cap=$NATSEC_TMP/dpd.pcapng
capture_start inet br0 "$cap" "udp port 4500 and host $NAT1_PUB"
wait_for "[ \$(tshark -n -r '$cap' -Y 'isakmp.exchangetype == 37' 2>/dev/null | wc -l) -ge 2 ]" 10 || true
capture_stop "$cap"
tshark -n -r "$cap" -Y 'isakmp.exchangetype == 37' -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport \
  -e isakmp.flag_r 2>/dev/null | awk 'NR <= 4 { print "  INFORMATIONAL " $1 ":" $2 " -> " $3 ":" $4 (($5 == "True" || $5 == 1) ? " (response)" : " (request)") }'
req=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 37 && ip.src == $GW_PUB && udp.dstport == $port" 2>/dev/null | wc -l)
rsp=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 37 && ip.dst == $GW_PUB && udp.srcport == $port" 2>/dev/null | wc -l)
old=$(tshark -n -r "$cap" -Y "ip.src == $GW_PUB && udp.dstport != $port" 2>/dev/null | wc -l)
[ "$req" -ge 1 ] && [ "$rsp" -ge 1 ] || fail "no liveness exchange with alice's new port $port"
[ "$old" -eq 0 ] || fail "the gateway still sends to an old port"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "tunnel broken after the move"

step "R4 (c): the IKE SA is re-keyed, then nat1 moves to ports 30001-40000 during pings"
ir=$(nsd_q gw .counters.ike.ike_rekeys)
spi_r=$(nsd_q gw '.ike_sas[0].spi_r')
"$NSC_BIN" -s "$(nsd_sock gw)" rekey ike >/dev/null || fail "natsecctl rekey ike failed"
nsd_wait gw "(.counters.ike.ike_rekeys > $ir) and (.ike_sas | length == 1) and
  (.ike_sas[0].spi_r != \"$spi_r\") and (.ike_sas[0].children | length == 1)" 10 ||
  fail "(c) the IKE SA was not re-keyed"
nat_move_checked c 30001 40000

step "R4 (d): five moves of nat1's ports, 1.2 s apart, under one 0.1 s ping stream"
moves_d=$(nsd_q gw .counters.ike.peer_moves)
five_moves() {
  local k
  for k in 0 1 2 3 4; do
    (
      set +o pipefail
      nat_set_port_range nat1 $((41000 + k * 4000)) $((44999 + k * 4000))
    ) || fail "cannot move nat1's masquerade"
    nat_flush_conntrack nat1
    sleep 1.2
  done
}
PINGS=120
# The public ports alice's ESP and IKE came from (not keepalives, which
# move nothing): a flush racing with her traffic can give her two mappings
# in one range (the first made while the flush still runs, then flushed
# too), and the gateway must follow each one.
cap_d=$NATSEC_TMP/moves-d.pcapng
capture_start gw wan0 "$cap_d" "src host $NAT1_PUB and udp dst port 4500 and greater 80"
lost=$(pings_around five_moves)
capture_stop "$cap_d"
moved=$(($(nsd_q gw .counters.ike.peer_moves) - moves_d))
mappings=$(tshark -r "$cap_d" -T fields -e udp.srcport 2>/dev/null | sort -u | grep -c . || true)
now=$(nsd_q gw '.ike_sas[0].remote')
step "(d) lost $lost of $PINGS pings over $moved peer moves ($mappings public ports seen); alice at $now"
[ "$mappings" -ge 6 ] || fail "(d) $mappings public ports seen, expected the one before and five moves"
[ "$moved" -eq $((mappings - 1)) ] || fail "(d) $moved peer moves for $((mappings - 1)) new mappings"
port=${now##*:}
[ "$port" -ge 57000 ] && [ "$port" -le 60999 ] || fail "(d) alice not at the last port range: $now"
[ "$lost" -le 1 ] || fail "(d) lost $lost pings over five moves"

step "X10: the log names every IKE SA in the 16 hex digits natsecctl status shows"
gwlog=$(nsd_log gw)
bad=$(grep -oE "IKE SA [0-9a-fx]+" "$gwlog" | grep -vE "^IKE SA [0-9a-f]{16}$" | sort -u || true)
[ -z "$bad" ] || fail "IKE SAs named otherwise in the log: $bad"
id=$(nsd_q gw '.ike_sas[0].id')
moves_logged=$(grep -c "esp: 2 SA(s) of IKE SA ${id#0x} moved" "$gwlog" || true)
moves_all=$(($(nsd_q gw .counters.ike.peer_moves) - moves_start))
[ "$moves_logged" -eq "$moves_all" ] ||
  fail "$moves_logged ESP moves logged for IKE SA $id, expected $moves_all (one per peer move)"

nsd_alive gw
nsd_alive alice
step "PASS"
