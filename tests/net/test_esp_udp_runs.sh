#!/usr/bin/env bash
# ctest: serial
# UDP super-packets on TUN (R12, R13): runs of UDP datagrams of one
# flow, of every size from 16 to 1400 bytes with a shorter last one, go
# through the tunnel both ways (telecommuter behind nat1 -> corporate
# server, and back to the virtual IP). The receiving natsecd writes each
# batch's runs to TUN as UDP super-packets (net/tun_uso.h) when the kernel
# takes them; every datagram must arrive intact, once, none lost, and the
# super-packets must have been used (tun_udp_supers). Then one datagram
# with a wrong UDP checksum in the middle of such a run: the server's stack
# must count it in InCsumErrors and never deliver it (merging must not
# repair a checksum).
#
# Between hosts of one machine a checksum left to "offload" is never
# computed nor checked, so the gateway's veth to the server gets checksum
# offload turned off: the kernel then computes every datagram's UDP
# checksum from what natsecd wrote, and the server's stack verifies it; a
# super-packet with a wrong pseudo-header sum shows as lost datagrams and
# InCsumErrors.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

RUNS=120 # about 4,000 datagrams each way
BURST=$NSD_TOOLS/udpburst

netns_init
nsd_check_build
[ -x "$BURST" ] || fail "udpburst not built"
topo_setup
command -v ethtool >/dev/null || fail "ethtool not installed (scripts/deps.sh)"
nsx gw ethtool -K srv tx off >/dev/null || fail "cannot turn checksum offload off on the gateway's veth"

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up alice
vip=$(nsd_q alice .virtual_ip)
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel"

supers() { nsd_q "$1" .counters.dataplane.tun_udp_supers; }
# Udp InCsumErrors of NS (its column found by name in the header line).
udp_csum_errors() {
  nsx "$1" cat /proc/net/snmp | awk '$1 == "Udp:" {
    if (!c) { for (i = 2; i <= NF; i++) if ($i == "InCsumErrors") c = i; next }
    print $c }'
}

# Runs from NS to HOST (port PORT, received in RNS) through the tunnel; the
# receiving natsecd is RNSD: burst NS HOST PORT RNS RNSD.
burst() {
  local ns=$1 host=$2 port=$3 rns=$4 rnsd=$5 out=$NATSEC_TMP/recv-$3.out s0 s1
  s0=$(supers "$rnsd")
  run_bg "$rns" "$BURST" -l "$port" -r "$RUNS" -t 30 >"$out" 2>&1
  local pid=$BG_PID
  wait_for "nsx $rns ss -lun | quiet_grep ':$port '" 5 || fail "receiver did not bind"
  local sent
  sent=$(nsx "$ns" "$BURST" -c "$host" -p "$port" -r "$RUNS") || fail "sending failed"
  wait "$pid" || fail "$ns -> $host: not every datagram arrived intact: $(cat "$out"); $sent"
  s1=$(supers "$rnsd")
  step "  $sent; $(cat "$out"); $rnsd wrote $((s1 - s0)) UDP super-packets"
  [ $((s1 - s0)) -gt 0 ] || fail "$rnsd wrote no UDP super-packet for $RUNS runs"
}

if [ "$(supers gw)" = null ]; then fail "no tun_udp_supers counter"; fi
step "R13: $RUNS runs of datagrams, telecommuter -> corporate server (checksums verified there)"
e0=$(udp_csum_errors srv)
burst c1 "$SRV_ADDR" 7101 srv gw
[ "$(udp_csum_errors srv)" -eq "$e0" ] || fail "the server counted checksum errors: $e0 -> $(udp_csum_errors srv)"
step "R13: $RUNS runs of datagrams, corporate server -> the virtual IP $vip"
burst srv "$vip" 7102 c1 alice

step "R13: one datagram with a wrong checksum in the middle of a run"
bad=$("$BURST" -m -r "$RUNS")
e0=$(udp_csum_errors srv)
out=$NATSEC_TMP/recv-bad.out
run_bg srv "$BURST" -l 7103 -r "$RUNS" -x "$bad" -t 30 >"$out" 2>&1
pid=$BG_PID
wait_for "nsx srv ss -lun | quiet_grep ':7103 '" 5 || fail "receiver did not bind"
sent=$(nsx c1 "$BURST" -c "$SRV_ADDR" -p 7103 -S "$vip" -x "$bad" -r "$RUNS") || fail "raw sending failed"
wait "$pid" || fail "the good datagrams did not all arrive, or the bad one did: $(cat "$out")"
e1=$(udp_csum_errors srv)
step "  $sent; $(cat "$out"); server InCsumErrors $e0 -> $e1"
[ $((e1 - e0)) -eq 1 ] || fail "the server counted $((e1 - e0)) checksum errors, expected exactly the bad datagram"

nsd_alive gw
nsd_alive alice
step "PASS"
