#!/usr/bin/env bash
# X6: a client behind a home NAT that lets no UDP out (nftables drops all
# of it) connects by itself over TCP (RFC 8229) with transport = auto,
# within 5 s: UDP gets tcp_fallback (2 s) to answer, then TCP. It pings
# and moves 50 MB each way through the tunnel, SHA-256 checked. Then UDP
# is let out again: the client's UDP probe gets an answer and its IKE SA
# moves back to UDP with MOBIKE (RFC 4555 3.5, RFC 8229 7): an
# UPDATE_SA_ADDRESSES over UDP, taken by the gateway; the same IKE SA
# (SPIs) and CHILD_SA, no new IKE SA and no new TCP connection; a capture
# shows ESP in UDP) while a ping every 0.1 s runs through the tunnel,
# losing at most 2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/tcp.sh
. "$here/tools/tcp.sh"

SIZE_MB=${NATSEC_TCP_MB:-50}

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
topo_setup
nat_block_udp nat1 on

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example transport=auto tcp_fallback=2000 tcp_udp_probe=3
tcap=$NATSEC_TMP/tcp.pcapng
capture_start inet br0 "$tcap" "host $NAT1_PUB and tcp port 4500"
t0=$(date +%s%N)
nsd_start alice c1

step "X6: UDP is blocked; alice falls back to TCP and is up within 5 s"
nsd_wait_up alice 1 5
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(nsd_q alice '.ike_sas[0].transport')" = tcp ] || fail "alice is up, but not over TCP: $(nsd_json alice)"
[ "$(nsd_q gw '.ike_sas[0].transport')" = tcp ] || fail "the gateway does not see alice over TCP"
[ "$(nsd_q alice .tcp.fallbacks)" -ge 1 ] || fail "no fallback counted"
step "  up over TCP after $ms ms"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through the TCP tunnel"
[ "$(nsd_q alice .counters.dataplane.keepalives_tx)" -eq 0 ] || fail "NAT keepalives sent on a TCP SA"
capture_stop "$tcap"
# Debian 12's Wireshark (4.0) has no RFC 8229 dissector (its "tcpencap"
# is the older Cisco / Check Point format, README): the stream is checked
# by its bytes. The client's first bytes are "IKETCP" and a frame with the
# non-ESP marker (IKE_SA_INIT, exchange type 34 at IKE header byte 18).
first=$(tshark -n -r "$tcap" -Y "tcp.len > 0 && ip.src == $NAT1_PUB" -T fields -e tcp.payload 2>/dev/null | sed -n 1p)
step "  first bytes on the TCP connection: ${first:0:40}..."
[[ $first == 494b45544350????00000000* ]] || fail "the stream does not start with IKETCP and an IKE frame"
[ "${first:60:2}" = 22 ] || fail "the first frame is not IKE_SA_INIT"

step "X6: $SIZE_MB MB up and down over TCP, SHA-256 checked"
data=$NATSEC_TMP/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$data"
t1=$(date +%s)
xfer_both c1 "$data" 5003 120 | sed 's/^/  /'
step "  $SIZE_MB MB each way in $(($(date +%s) - t1)) s; tcp counters: $(nsd_q alice '.tcp | del(.connections) | tostring')"
[ "$(nsd_q gw '.tcp.esp_in')" -gt 1000 ] || fail "the gateway's ESP did not come over TCP"

step "X6: UDP allowed again: alice's probe gets an answer and MOBIKE moves its IKE SA back to UDP"
[ "$(nsd_q alice '.ike_sas[0].mobike')" = true ] || fail "MOBIKE is not on for alice's IKE SA"
ike_id=$(nsd_q alice '.ike_sas[0].id')
spis=$(nsd_q alice '.ike_sas[0] | "\(.spi_i) \(.spi_r)"')
spi_in=$(nsd_q alice '.ike_sas[0].children[0].spi_in')
connects=$(nsd_q alice .tcp.connects)
established=$(nsd_q alice .counters.ike.established)
updates=$(nsd_q alice .counters.ike.mobike_updates)
gw_updates=$(nsd_q gw .counters.ike.mobike_updates)
cap=$NATSEC_TMP/udp.pcapng
capture_start inet br0 "$cap" "host $NAT1_PUB and udp port 4500"
pings=$NATSEC_TMP/ping.out
run_bg c1 ping -c 100 -i 0.1 -W 1 "$SRV_ADDR" >"$pings" 2>&1
nat_block_udp nat1 off
nsd_wait alice "(.tcp.udp_returns >= 1) and (.ike_sas | length == 1) and (.ike_sas[0].transport == \"udp\")" 15 ||
  fail "alice did not come back to UDP: $(nsd_json alice)"
nsd_wait gw '[.ike_sas[] | select(.state == "ESTABLISHED" and .transport == "udp")] | length == 1' 5 ||
  fail "the gateway did not follow alice to UDP: $(nsd_json gw)"
[ "$(nsd_q alice '.ike_sas[0].id')" = "$ike_id" ] || fail "a new IKE SA, not the same one moved"
[ "$(nsd_q alice '.ike_sas[0].children[0].spi_in')" = "$spi_in" ] || fail "a new CHILD_SA, not the same one"
# The established one: the probe's IKE_SA_INIT left a half-open SA beside it.
gw_spis=$(nsd_q gw '.ike_sas[] | select(.state == "ESTABLISHED") | "\(.spi_i) \(.spi_r)"')
[ "$gw_spis" = "$spis" ] || fail "the gateway's IKE SA has other SPIs: $gw_spis, not $spis"
nsd_wait gw ".counters.ike.mobike_updates > $gw_updates" 5 ||
  fail "the gateway took no UPDATE_SA_ADDRESSES: the IKE SA did not move with MOBIKE"
[ "$(nsd_q alice .counters.ike.mobike_updates)" -gt "$updates" ] || fail "alice counted no MOBIKE update"
[ "$(nsd_q alice .counters.ike.established)" = "$established" ] || fail "alice made a new IKE SA (re-connected)"
[ "$(nsd_q alice .tcp.connects)" = "$connects" ] || fail "alice dialled TCP again"
wait_for "grep -q 'packets transmitted' '$pings'" 15 || fail "ping did not finish"
lost=$(( $(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$pings") - $(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$pings") ))
step "  moved with MOBIKE (IKE SA $spis) with $lost of 100 pings lost"
[ "$lost" -le 2 ] || fail "the tunnel was not up throughout: $lost pings lost"
capture_stop "$cap"
esp=$(tshark -n -r "$cap" -Y "esp" -T fields -e esp.spi 2>/dev/null | grep -c . || true)
[ "$esp" -ge 3 ] || fail "no ESP in UDP on the wire after the move back ($esp packets)"
step "  back on UDP: $esp ESP-in-UDP packets captured; gateway: $(nsd_q gw '.ike_sas | map(.transport) | tostring')"
nsd_alive gw
nsd_alive alice
step "PASS"
