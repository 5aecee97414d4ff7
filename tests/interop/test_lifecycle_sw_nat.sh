#!/usr/bin/env bash
# ctest: serial
# SA life cycle against strongSwan 5.9.8 through nat1, the cases
# test_lifecycle_sw.sh leaves out (X3, R4, R14), with a ping every 0.1 s
# through the tunnel all along and PFS (x25519) in the CHILD_SA re-keys:
#   (A) strongSwan road warrior alice (c1, behind nat1) -> natsec gateway:
#     (1) simultaneous re-key (X3, RFC 7296 2.8.1, 2.8.2): natsec and
#         strongSwan re-key the same CHILD_SA at once, then the same IKE SA,
#         their requests made to cross at nat1 (nat_hold_ike). Both sides
#         start a re-key, answer the other's and resolve the collision the
#         same way (natsec's "ours is redundant" is strongSwan's "won");
#         one pair of SAs survives, the same on both sides (SPIs, compared
#         field by field with iop_compare), nothing else is left; no re-key
#         failure on natsec, none in strongSwan's log;
#     (2) nat1 moves its masquerade to new ports and forgets its mappings
#         (R4): alice's next ESP packet comes from a new public port, the
#         gateway follows, and its re-keys (CHILD_SA, IKE SA) go to the new
#         port (status JSON and capture: nothing to another port, no
#         retransmission) and complete on both sides;
#     (3) nat1 rebinds again and strongSwan re-keys at once (CHILD_SA, IKE
#         SA) from the new port: the gateway answers there and both
#         complete;
#     at most one ping lost per re-key and per rebinding.
#   (B) natsec client alice (c1, behind nat1) -> strongSwan gateway, the
#     roles of (A) swapped:
#     (1) the same simultaneous re-keys of the CHILD_SA and the IKE SA;
#     (2) nat1 rebinds (R4); strongSwan (kernel-libipsec reports no ESP
#         mapping changes to charon) learns alice's new port from her
#         liveness check, which she sends once its ESP to the stale port
#         stops arriving (dpd), and re-keys the CHILD_SA by itself on the
#         move; then the strongSwan gateway re-keys the CHILD_SA and the IKE
#         SA: every request reaches alice at the new port (capture) and
#         completes on both sides. The pings lost are those of the liveness
#         delay plus at most one per re-key.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=../net/tools/nsd.sh
. "$here/../net/tools/nsd.sh"
# shellcheck source=../lib/strongswan.sh
. "$here/../lib/strongswan.sh"
# shellcheck source=lib_interop.sh
. "$here/lib_interop.sh"

IKE=aes128gcm16-prfsha256-x25519
ESP=aes128gcm16-x25519 # x25519: PFS in CHILD_SA re-keys
# strongSwan retransmits as natsec does (1 s, doubling: 1 s and 3 s after
# the first send), so that both sides' requests go again inside the
# windows nat_hold_ike opens.
SW_RETRANSMIT=$'retransmit_timeout = 1.0\n  retransmit_base = 2.0'
DPD=2 # (B): alice's liveness check after 2 s without strongSwan's ESP

netns_init
nsd_check_build
topo_setup

# Lines of FILE after line FROM: since FILE FROM.
since() {
  tail -n +"$(($2 + 1))" "$1"
}

# True when a line of FILE after line FROM matches the extended regex ERE
# (grep reads a copy: grep -q closing a pipe early fails the pipe under
# pipefail): logged FILE FROM ERE.
logged() {
  grep -qE "$3" <<<"$(since "$1" "$2")"
}

# Lines of FILE now: lines FILE.
lines() {
  wc -l <"$1"
}

# Fail when strongSwan instance S logged a failed or refused re-key after
# line FROM of its log: sw_no_rekey_failure S FROM.
sw_no_rekey_failure() {
  local bad
  bad=$(since "$(sw_log "$1")" "$2" | grep -E 'rekeying failed|N\((TEMP_FAIL|NO_CHILD_SA|NO_PROP|TS_UNACCEPT|INVAL_SYN|INVAL_KE)\)|failed to establish|no CHILD_SA built' || true)
  [ -z "$bad" ] || {
    echo "$bad" >&2
    fail "strongSwan logs a failed re-key"
  }
}

# Stop the pings iop_pings_start started and print how many were lost:
# those missing up to the last one answered (SIGINT ends ping with a request
# maybe still on its way): pings_stop FILE.
pings_stop() {
  kill -INT "$IOP_PING_PID" 2>/dev/null || true
  wait "$IOP_PING_PID" 2>/dev/null || true
  awk '/bytes from .*icmp_seq=/ {
         s = $0; sub(/.*icmp_seq=/, "", s); sub(/ .*/, "", s)
         if (!(s in got)) { got[s] = 1; n++ }
         if (s + 0 > max) max = s + 0 }
       END { if (n == 0) exit 1; print max - n }' "$1" || fail "no ping was answered: $(tail -n 3 "$1")"
}

# The port natsec instance N sees its peer at (its IKE SA's remote):
# peer_port N.
peer_port() {
  local r
  r=$(nsd_q "$1" '.ike_sas[0].remote')
  echo "${r##*:}"
}

# True when the only CHILD_SA of natsec instance N is no longer the one
# with inbound SPI OLD, and both sides are settled: child_replaced N S OLD.
child_replaced() {
  iop_settled "$1" "$2" && [ "$(nsd_q "$1" '.ike_sas[0].children[0].spi_in')" != "$3" ]
}

# The same for the IKE SA (initiator SPI OLD): ike_replaced N S OLD.
ike_replaced() {
  iop_settled "$1" "$2" && [ "$(nsd_q "$1" '.ike_sas[0].spi_i')" != "$3" ]
}

# One simultaneous re-key (X3) of WHAT (child | ike) between natsec
# instance N and strongSwan instance S (IKE SA IKE_NAME, CHILD_SA CHILD),
# the IKE messages held at NAT so that the requests cross:
# collide N S IKE_NAME CHILD WHAT NAT NAT_PUB.
collide() {
  local n=$1 s=$2 ike=$3 child=$4 what=$5 nat=$6 natpub=$7
  local ln ls old p1 pat ans sw_sent sw_got coll_before
  local -a arg
  ln=$(lines "$(nsd_log "$n")")
  ls=$(lines "$(sw_log "$s")")
  coll_before=$(nsd_q "$n" .counters.ike.rekey_collisions)
  if [ "$what" = child ]; then
    old=$(nsd_q "$n" '.ike_sas[0].children[0].spi_in')
    arg=(--child "$child")
    pat='re-keying CHILD SA'
    ans='the peer re-keyed CHILD SA'
    sw_sent='generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\)'
    sw_got='parsed CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\)'
  else
    old=$(nsd_q "$n" '.ike_sas[0].spi_i')
    arg=(--ike "$ike")
    pat='re-keying IKE SA'
    ans='the peer re-keys the IKE SA'
    sw_sent='generating CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]'
    sw_got='parsed CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]'
  fi
  step "  both re-key the $what SA at once; nat1 holds IKE, then lets requests cross, then answers"
  nat_hold_ike "$nat" all
  sw_swanctl "$s" --rekey "${arg[@]}" >/dev/null &
  p1=$!
  "$NSC_BIN" -s "$(nsd_sock "$n")" rekey "$what" >/dev/null || fail "natsecctl rekey $what failed"
  wait "$p1" || fail "swanctl --rekey ${arg[*]} failed"
  sleep 0.3
  nat_hold_ike "$nat" answers # the requests sent again at 1 s cross
  sleep 1.5
  nat_hold_ike "$nat" off # the ones at 3 s get the cached answers
  wait_for "${what}_replaced $n $s $old" 12 || {
    sw_list_sas "$s" >&2
    nsd_json "$n" >&2
    fail "no single pair of SAs after the simultaneous $what re-key"
  }
  sleep 2.5 # the replaced and redundant SAs go after their grace times
  iop_settled "$n" "$s" || fail "SAs came back after the simultaneous $what re-key settled"
  iop_compare "$n" "$s" "$ike" yes "$natpub"
  # Both sides started a re-key and answered the other's: a collision.
  logged "$(nsd_log "$n")" "$ln" "$pat" || fail "natsec did not start a $what re-key"
  logged "$(nsd_log "$n")" "$ln" "$ans" || fail "natsec did not answer strongSwan's $what re-key: no collision"
  logged "$(sw_log "$s")" "$ls" "$sw_sent" || fail "strongSwan did not start a $what re-key"
  logged "$(sw_log "$s")" "$ls" "$sw_got" || fail "strongSwan did not answer natsec's $what re-key: no collision"
  # Both resolved it by the nonces, to the same end.
  local nl sl
  nl=$(since "$(nsd_log "$n")" "$ln" | grep -E 'redundant \(lowest nonce|re-key won \(2\.8\.2\)' || true)
  sl=$(since "$(sw_log "$s")" "$ls" | grep -E 'rekey collision (won|lost)' || true)
  sed -e 's/^/    natsec: /' <<<"$nl"
  sed -e 's/^/    strongSwan: /' <<<"$sl"
  [ -n "$nl" ] || fail "natsec did not resolve the $what collision by the nonces"
  [ "$(nsd_q "$n" .counters.ike.rekey_collisions)" -eq $((coll_before + 1)) ] ||
    fail "natsec counted $(($(nsd_q "$n" .counters.ike.rekey_collisions) - coll_before)) collisions"
  [ -n "$sl" ] || fail "strongSwan did not notice the $what collision"
  local ours_lost=no sw_lost=no
  grep -qE "\(ours, we delete it\)|its re-key won" <<<"$nl" && ours_lost=yes
  grep -q 'collision lost' <<<"$sl" && sw_lost=yes
  [ "$ours_lost" != "$sw_lost" ] || fail "natsec and strongSwan disagree on who won the $what collision"
  sw_no_rekey_failure "$s" "$ls"
  [ "$(nsd_q "$n" .counters.ike.rekey_failures)" -eq 0 ] || fail "natsec counted a failed re-key"
}

# nat1 moves its masquerade to ports LO-HI and forgets its mappings (R4):
# rebind LO HI.
rebind() {
  nat_set_port_range nat1 "$1" "$2"
  nat_flush_conntrack nat1
}

# True when PORT is in LO-HI: in_range PORT LO HI.
in_range() {
  [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# The IKE messages of capture FILE as "SRC SPORT DST DPORT EXCHANGE R-FLAG":
# ike_wire FILE.
ike_wire() {
  ike_tshark "$1" -Y isakmp -T fields -E separator=' ' -e ip.src -e udp.srcport -e ip.dst \
    -e udp.dstport -e isakmp.exchangetype -e isakmp.flag_r 2>/dev/null
}

# ---------------------------------------------------------------------------
step "(A) strongSwan road warrior alice behind nat1 -> natsec gateway"
nsd_conf_gateway gw ike_proposals=$IKE esp_proposals=$ESP
nsd_peer gw "$IOP_EMAIL_ID" "$IOP_PSK" "$CORP_NET"
nsd_start gw gw
sw_start c1 alice "$SW_RETRANSMIT"
sw_load alice "$(sw_conf_client "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" "$IOP_PSK" "$CORP_NET" "$IKE" "$ESP")"
sw_initiate alice home 20 || {
  tail -n 30 "$(sw_log alice)" >&2
  fail "strongSwan could not connect"
}
nsd_wait_up gw
wait_for "iop_settled gw alice" 10 || fail "no single pair of SAs to start with"
vip=$(nsd_q gw '.ike_sas[0].virtual_ip')
nsx c1 ping -c 2 -i 0.2 -W 2 -I "$vip" "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
ping_a=$NATSEC_TMP/ping-a.out
iop_pings_start c1 120 "$ping_a" "$vip"
sleep 1

step "(A1) simultaneous re-keys (X3)"
collide gw alice home home child nat1 "$NAT1_PUB"
collide gw alice home home ike nat1 "$NAT1_PUB"

step "(A2) R4: nat1 rebinds alice to ports 20000-29999; the natsec gateway re-keys"
old_port=$(peer_port gw)
ln=$(lines "$(nsd_log gw)")
ls=$(lines "$(sw_log alice)")
rtx=$(nsd_q gw .counters.ike.retransmits)
cap=$NATSEC_TMP/a2.pcapng
capture_start inet br0 "$cap" "udp port 4500 and host $NAT1_PUB"
rebind 20000 29999
wait_for 'in_range "$(peer_port gw)" 20000 29999' 5 || fail "the gateway did not follow alice from port $old_port"
port=$(peer_port gw)
step "  the gateway sees alice at $NAT1_PUB:$port (was $old_port)"
old=$(nsd_q gw '.ike_sas[0].children[0].spi_in')
"$NSC_BIN" -s "$(nsd_sock gw)" rekey child >/dev/null || fail "natsecctl rekey child failed"
wait_for "child_replaced gw alice $old" 10 || fail "the gateway's CHILD_SA re-key did not complete"
old=$(nsd_q gw '.ike_sas[0].spi_i')
"$NSC_BIN" -s "$(nsd_sock gw)" rekey ike >/dev/null || fail "natsecctl rekey ike failed"
wait_for "ike_replaced gw alice $old" 10 || fail "the gateway's IKE SA re-key did not complete"
capture_stop "$cap"
[ "$(peer_port gw)" = "$port" ] || fail "the gateway's IKE SA moved from port $port to $(peer_port gw)"
esp_peer=$(nsd_q gw '.ike_sas[0].children[0].esp_peer')
[ "$esp_peer" = "$NAT1_PUB:$port" ] || fail "the re-keyed CHILD_SA sends to $esp_peer, not $NAT1_PUB:$port"
logged "$(sw_log alice)" "$ls" 'parsed CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\)' ||
  fail "strongSwan did not receive the CHILD_SA re-key"
logged "$(sw_log alice)" "$ls" 'parsed CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]' ||
  fail "strongSwan did not receive the IKE SA re-key"
logged "$(nsd_log gw)" "$ln" 'IKE SA [0-9a-f]+: re-keyed CHILD SA' || fail "the gateway did not complete its CHILD_SA re-key"
logged "$(nsd_log gw)" "$ln" 'IKE SA [0-9a-f]+ re-keyed: now' || fail "the gateway did not complete its IKE SA re-key"
wire=$(ike_wire "$cap")
reqs=$(grep -cE "^$GW_PUB 4500 $NAT1_PUB $port 36 (0|False)\$" <<<"$wire" || true)
rsps=$(grep -cE "^$NAT1_PUB $port $GW_PUB 4500 36 (1|True)\$" <<<"$wire" || true)
stale=$(grep -E "^$GW_PUB 4500 $NAT1_PUB " <<<"$wire" | grep -cvE "^$GW_PUB 4500 $NAT1_PUB $port " || true)
step "  capture: $reqs CREATE_CHILD_SA requests of the gateway to $NAT1_PUB:$port, $rsps answers from there, $stale IKE messages to another port"
[ "$reqs" -ge 2 ] && [ "$rsps" -ge 2 ] || fail "the gateway's re-keys did not go to alice's new port"
[ "$stale" -eq 0 ] || fail "the gateway sent IKE to a stale port"
[ "$(nsd_q gw .counters.ike.retransmits)" -eq "$rtx" ] || fail "the gateway had to retransmit (sent to a stale port?)"
sw_no_rekey_failure alice "$ls"

step "(A3) R4: nat1 rebinds alice to ports 30000-39999 and strongSwan re-keys at once"
old_port=$port
ln=$(lines "$(nsd_log gw)")
ls=$(lines "$(sw_log alice)")
cap=$NATSEC_TMP/a3.pcapng
capture_start inet br0 "$cap" "udp port 4500 and host $NAT1_PUB"
old=$(nsd_q gw '.ike_sas[0].children[0].spi_in')
rebind 30000 39999
sw_swanctl alice --rekey --child home >/dev/null || fail "swanctl --rekey --child failed"
wait_for "child_replaced gw alice $old" 10 || fail "strongSwan's CHILD_SA re-key did not complete"
old=$(nsd_q gw '.ike_sas[0].spi_i')
sw_swanctl alice --rekey --ike home >/dev/null || fail "swanctl --rekey --ike failed"
wait_for "ike_replaced gw alice $old" 10 || fail "strongSwan's IKE SA re-key did not complete"
capture_stop "$cap"
port=$(peer_port gw)
in_range "$port" 30000 39999 || fail "the gateway sees alice at port $port, not the new one"
esp_peer=$(nsd_q gw '.ike_sas[0].children[0].esp_peer')
[ "$esp_peer" = "$NAT1_PUB:$port" ] || fail "the re-keyed CHILD_SA sends to $esp_peer, not $NAT1_PUB:$port"
step "  the gateway sees alice at $NAT1_PUB:$port (was $old_port)"
logged "$(nsd_log gw)" "$ln" 'the peer re-keyed CHILD SA' || fail "the gateway did not answer the CHILD_SA re-key"
logged "$(nsd_log gw)" "$ln" 'the peer re-keys the IKE SA' || fail "the gateway did not answer the IKE SA re-key"
wire=$(ike_wire "$cap")
reqs=$(grep -cE "^$NAT1_PUB $port $GW_PUB 4500 36 (0|False)\$" <<<"$wire" || true)
rsps=$(grep -cE "^$GW_PUB 4500 $NAT1_PUB $port 36 (1|True)\$" <<<"$wire" || true)
stale=$(grep -E "^$GW_PUB 4500 $NAT1_PUB " <<<"$wire" | grep -cvE "^$GW_PUB 4500 $NAT1_PUB $port " || true)
step "  capture: $reqs CREATE_CHILD_SA requests of strongSwan from $NAT1_PUB:$port, $rsps answers to there, $stale IKE messages to another port"
[ "$reqs" -ge 2 ] && [ "$rsps" -ge 2 ] || fail "strongSwan's re-keys were not answered at alice's new port"
[ "$stale" -eq 0 ] || fail "the gateway sent IKE to a stale port"
sw_no_rekey_failure alice "$ls"

sleep 1
lost=$(pings_stop "$ping_a")
cr=$(nsd_q gw .counters.ike.child_rekeys)
ir=$(nsd_q gw .counters.ike.ike_rekeys)
step "(A) natsec gateway: $cr CHILD_SA and $ir IKE SA re-keys installed, $(nsd_q gw .counters.ike.rekey_collisions) collisions, $(nsd_q gw .counters.ike.rekey_failures) failures; strongSwan started/answered: CHILD_SA $(iop_sw_rekey_counts alice) (IKE SA); $lost pings lost in 6 re-keys and 2 rebindings"
# 6 re-keys: 2 simultaneous ones, 2 by the gateway, 2 by strongSwan; one
# ping may go with each, and one with each NAT rebinding.
[ "$lost" -le 8 ] || fail "lost $lost pings"
[ "$(nsd_q gw .counters.ike.rekey_failures)" -eq 0 ] || fail "natsec: a re-key failed"
[ "$(nsd_q gw .counters.ike.expired)" -eq 0 ] || fail "natsec: an SA reached its hard lifetime"
sw_no_rekey_failure alice 0
nsd_alive gw
sw_stop alice
nsd_stop gw

# ---------------------------------------------------------------------------
step "(B) natsec client alice behind nat1 -> strongSwan gateway"
# nat1 back to its plain masquerade, no mapping left from (A)
nsx nat1 nft flush chain ip nat postrouting
nsx nat1 nft add rule ip nat postrouting oifname wan0 ip saddr "$HOME_NET" masquerade
nat_flush_conntrack nat1
sw_start gw swgw "$SW_RETRANSMIT"
sw_load swgw "$(sw_conf_gateway "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" "$IOP_PSK" "$VIP_POOL" "$CORP_NET" "$IKE" "$ESP")"
nsd_conf_client alice "$IOP_EMAIL_ID" ike_proposals=$IKE dpd=$DPD
nsd_peer alice "$IOP_GW_ID" "$IOP_PSK" "$CORP_NET" esp_proposals=$ESP
nsd_start alice c1
nsd_wait_up alice
wait_for "iop_settled alice swgw" 10 || fail "no single pair of SAs to start with"
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
# The port strongSwan sends alice's IKE and ESP to.
sw_port() {
  iop_sw_flat swgw | sed -n 's/^rw\.remote-port=//p'
}
ping_b=$NATSEC_TMP/ping-b.out
iop_pings_start c1 120 "$ping_b"
sleep 1

step "(B1) simultaneous re-keys (X3)"
collide alice swgw rw net child nat1 "$NAT1_PUB"
collide alice swgw rw net ike nat1 "$NAT1_PUB"

old_port=$(sw_port)
rekeys_before=$(($(nsd_q alice .counters.ike.child_rekeys) + $(nsd_q alice .counters.ike.ike_rekeys)))
step "(B2) R4: nat1 rebinds alice to ports 40000-49999 (strongSwan sees her at $NAT1_PUB:$old_port)"
ls=$(lines "$(sw_log swgw)")
ln=$(lines "$(nsd_log alice)")
cap=$NATSEC_TMP/b.pcapng
capture_start inet br0 "$cap" "udp port 4500 and host $NAT1_PUB"
t0=$(date +%s%N)
rebind 40000 49999
wait_for 'in_range "$(sw_port)" 40000 49999' 10 || fail "strongSwan did not follow alice from port $old_port"
moved_ms=$((($(date +%s%N) - t0) / 1000000))
port=$(sw_port)
step "  strongSwan sees alice at $NAT1_PUB:$port after ${moved_ms} ms; the strongSwan gateway re-keys"
old=$(nsd_q alice '.ike_sas[0].children[0].spi_in')
sw_swanctl swgw --rekey --child net >/dev/null || fail "swanctl --rekey --child failed"
wait_for "child_replaced alice swgw $old" 10 || fail "strongSwan's CHILD_SA re-key did not complete"
old=$(nsd_q alice '.ike_sas[0].spi_i')
sw_swanctl swgw --rekey --ike rw >/dev/null || fail "swanctl --rekey --ike failed"
wait_for "ike_replaced alice swgw $old" 10 || fail "strongSwan's IKE SA re-key did not complete"
capture_stop "$cap"
sleep 1
lost=$(pings_stop "$ping_b")
logged "$(nsd_log alice)" "$ln" 'the peer re-keyed CHILD SA' || fail "alice did not answer the CHILD_SA re-key"
logged "$(nsd_log alice)" "$ln" 'the peer re-keys the IKE SA' || fail "alice did not answer the IKE SA re-key"
rekeys=$(($(nsd_q alice .counters.ike.child_rekeys) + $(nsd_q alice .counters.ike.ike_rekeys) - rekeys_before))
wire=$(ike_wire "$cap")
reqs=$(grep -cE "^$GW_PUB 4500 $NAT1_PUB $port 36 (0|False)\$" <<<"$wire" || true)
rsps=$(grep -cE "^$NAT1_PUB $port $GW_PUB 4500 36 (1|True)\$" <<<"$wire" || true)
step "  capture: $reqs CREATE_CHILD_SA requests of strongSwan to $NAT1_PUB:$port, $rsps answers from there; alice answered $rekeys re-keys"
[ "$rekeys" -ge 2 ] || fail "alice answered only $rekeys re-keys"
[ "$reqs" -ge "$rekeys" ] && [ "$rsps" -ge "$rekeys" ] || fail "strongSwan's re-keys did not reach alice at her new port"
sw_no_rekey_failure swgw "$ls"
cr=$(nsd_q alice .counters.ike.child_rekeys)
ir=$(nsd_q alice .counters.ike.ike_rekeys)
step "(B) natsec client: $cr CHILD_SA and $ir IKE SA re-keys installed, $(nsd_q alice .counters.ike.rekey_collisions) collisions, $(nsd_q alice .counters.ike.rekey_failures) failures; strongSwan started/answered: CHILD_SA $(iop_sw_rekey_counts swgw) (IKE SA); $lost pings lost in $((2 + rekeys)) re-keys and a rebinding that strongSwan followed after ${moved_ms} ms"
# strongSwan's ESP went to the stale port until alice's liveness check
# (DPD s of silence, then the check's round trip): those pings, plus one per
# re-key (the 2 simultaneous ones and those after the move).
[ "$lost" -le $(((DPD + 1) * 10 + 2 + rekeys)) ] || fail "lost $lost pings"
[ "$(nsd_q alice .counters.ike.rekey_failures)" -eq 0 ] || fail "natsec: a re-key failed"
[ "$(nsd_q alice .counters.ike.expired)" -eq 0 ] || fail "natsec: an SA reached its hard lifetime"
sw_no_rekey_failure swgw 0
nsd_alive alice
step "PASS"
