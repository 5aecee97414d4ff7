#!/usr/bin/env bash
# ctest: serial
# A laptop that changes networks under a running ping (X4, MOBIKE, RFC 4555;
# R4). The client "lap" has three uplinks, one up at a time: eth1 behind
# home NAT nat1 (10.1.0.5), eth2 behind nat2 (another home, 10.2.0.5), eth3
# straight on the internet without a NAT (198.51.100.31). It pings the
# corporate server every 0.1 s while it moves:
#   1 -> 2 -> 1 behind NATs: at most 1 s of pings lost each time (printed),
#     the gateway shows the new public address:port, the IKE SA and
#     CHILD_SA SPIs do not change, no new IKE_SA_INIT goes out (capture),
#     and natsecctl status counts the address updates;
#   1 -> internet: ESP becomes plain protocol 50 (capture); internet -> 2:
#     ESP in UDP 4500 again.
# The client's natsecd sees each change through rtnetlink and sends
# UPDATE_SA_ADDRESSES from the new address; tshark decodes the whole
# capture without a malformed frame.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

PINGS=40 # 4 s, the move after 1.5 s

netns_init
nsd_check_build
roam_setup

# dpd = 0 on both: liveness checks would be IKE traffic of their own.
nsd_conf_gateway gw dpd=0
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example dpd=0
nsd_start alice lap
nsd_wait_up alice
nsd_wait_up gw
nsx lap ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
[ "$(nsd_q gw '.ike_sas[0].mobike')" = true ] || fail "the gateway has MOBIKE off"
[ "$(nsd_q alice '.ike_sas[0].mobike')" = true ] || fail "the client has MOBIKE off"

cap=$NATSEC_TMP/inet.pcapng
capture_start inet br0 "$cap" "udp port 500 or udp port 4500 or ip proto 50"

sas() { nsd_json gw | jq -c '.ike_sas[0] | {spi_i, spi_r, spi_in: .children[0].spi_in, spi_out: .children[0].spi_out}'; }
spis0=$(sas)
step "gateway sees alice at $(nsd_q gw '.ike_sas[0].remote'), SPIs $spis0"

# After a move to uplink N: at most 10 pings lost, the gateway has alice at
# WANT_ADDR with ESP in UDP or not (ENCAP), the SPIs unchanged, UPDATES
# address updates so far: moved N WANT_ADDR ENCAP UPDATES.
moved() {
  local n=$1 want=$2 encap=$3 updates=$4 lost remote
  lost=$(ping_during lap "$PINGS" 1.5 roam_uplink "$n")
  wait_for "[ \"\$(nsd_q gw '.ike_sas[0].address_updates')\" -ge $updates ]" 5 || true
  remote=$(nsd_q gw '.ike_sas[0].remote')
  step "uplink $n: $lost of $PINGS pings lost; gateway sees alice at $remote, ESP in UDP: $(nsd_q gw '.ike_sas[0].udp_encap'), $(nsd_q gw '.ike_sas[0].address_updates') address updates"
  [ "$lost" -le 10 ] || fail "uplink $n: $lost pings lost (more than 1 s)"
  [ "${remote%:*}" = "$want" ] || fail "uplink $n: the gateway has alice at $remote, not $want"
  [ "$(nsd_q gw '.ike_sas[0].udp_encap')" = "$encap" ] || fail "uplink $n: udp_encap is not $encap"
  [ "$(nsd_q alice '.ike_sas[0].udp_encap')" = "$encap" ] || fail "uplink $n: the client's udp_encap is not $encap"
  [ "$(sas)" = "$spis0" ] || fail "uplink $n: SPIs changed: $(sas), were $spis0"
  [ "$(nsd_q gw '.ike_sas | length')" = 1 ] || fail "uplink $n: the gateway has more than one IKE SA"
  [ "$(nsd_q gw '.ike_sas[0].address_updates')" = "$updates" ] ||
    fail "uplink $n: $(nsd_q gw '.ike_sas[0].address_updates') address updates, expected $updates"
}

step "X4: uplink 1 down, uplink 2 (nat2) up"
moved 2 "$NAT2_PUB" true 1
step "X4: back to uplink 1 (nat1)"
moved 1 "$NAT1_PUB" true 2
natsecctl_table=$("$NSC_BIN" -s "$(nsd_sock gw)" status)
grep -F "MOBIKE      on, 2 address updates" <<<"$natsecctl_table" || fail "natsecctl status does not show the MOBIKE line"
step "X4: onto the internet, no NAT (uplink 3)"
t_plain=$(date +%s.%N)
moved 3 "$LAP3" false 3
step "X4: behind a NAT again (uplink 2)"
t_nat=$(date +%s.%N)
moved 2 "$NAT2_PUB" true 4
capture_stop

inits=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 34" 2>/dev/null | wc -l)
malformed=$(tshark -n -r "$cap" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
informational=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 37" 2>/dev/null | wc -l)
plain=$(tshark -n -r "$cap" -Y "ip.proto == 50 && ip.addr == $LAP3" 2>/dev/null | wc -l)
# Until the gateway's answer to its update says there is no NAT, the
# client keeps ESP in UDP on the new path (it cannot know before); once it
# sends plain ESP from there it never goes back, and the gateway, which
# switched on the update itself, never sends ESP in UDP there.
first_plain=$(tshark -n -r "$cap" -Y "ip.proto == 50 && ip.src == $LAP3" -T fields -e frame.number 2>/dev/null | head -n 1)
udp_early=$(tshark -n -r "$cap" -Y "udp.port == 4500 && esp && ip.src == $LAP3 && frame.number < ${first_plain:-0}" 2>/dev/null | wc -l)
plain_udp=$(tshark -n -r "$cap" -Y "udp.port == 4500 && esp && ((ip.src == $LAP3 && frame.number > ${first_plain:-0}) || ip.dst == $LAP3)" 2>/dev/null | wc -l)
nat_plain=$(tshark -n -r "$cap" -Y "ip.proto == 50 && frame.time_epoch > $t_nat + 2.5" 2>/dev/null | wc -l)
nat_udp=$(tshark -n -r "$cap" -Y "udp.port == 4500 && esp && ip.addr == $NAT2_PUB && frame.time_epoch > $t_nat + 2.5" 2>/dev/null | wc -l)
step "capture: $inits IKE_SA_INIT, $informational INFORMATIONAL, $malformed malformed; without NAT $plain plain ESP and $plain_udp ESP in UDP from $LAP3 after its first plain one or to it ($udp_early in UDP before, while the update was out); behind nat2 again $nat_udp ESP in UDP, $nat_plain plain (after $t_plain / $t_nat)"
[ "$inits" -eq 0 ] || fail "an IKE_SA_INIT went out during the moves"
[ "$malformed" -eq 0 ] || fail "tshark found malformed frames"
[ "$informational" -ge 8 ] || fail "too few INFORMATIONAL exchanges for 4 updates"
[ "$plain" -ge 20 ] || fail "no plain ESP (protocol 50) without a NAT"
[ -n "$first_plain" ] || fail "no plain ESP from $LAP3"
[ "$plain_udp" -eq 0 ] || fail "ESP in UDP from $LAP3 without a NAT after the switch, or to it"
[ "$nat_udp" -ge 10 ] && [ "$nat_plain" -eq 0 ] || fail "ESP not back in UDP behind nat2"
[ "$(nsd_q alice '.ike_sas[0].address_updates')" = 4 ] || fail "the client counts $(nsd_q alice '.ike_sas[0].address_updates') updates"
[ "$(nsd_q gw '.counters.ike.illegal_transitions')" = 0 ] || fail "illegal state transitions"

nsd_alive gw
nsd_alive alice
step "PASS"
