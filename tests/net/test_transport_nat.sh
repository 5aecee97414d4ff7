#!/usr/bin/env bash
# R2 R13: ESP transport mode through a NAT. A host behind an nftables
# masquerade NAT (c1, 10.1.0.2 behind nat1 198.51.100.11) and a public host
# (gw, 198.51.100.1) protect everything between their addresses in
# transport mode (USE_TRANSPORT_MODE, no virtual IP). Each side learned in
# the negotiation the addresses the other's checksums are computed over
# (RFC 7296 2.23.1) and fixes TCP and UDP checksums on receipt (RFC 1624,
# RFC 3948 3.1.2): a UDP exchange both ways, UDP with no checksum (stays
# zero), and 50 MB of TCP each way checked by SHA-256 arrive with no new
# InCsumErrors in either receiver's /proc/net/snmp. A packet sent with a
# wrong checksum is still counted there: the fixup is incremental, it does
# not hide errors. On the wire there is nothing but IKE and ESP in UDP.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/transport.sh
. "$here/tools/transport.sh"

SIZE_MB=50

netns_init
nsd_check_build
for t in tcpxfer udpx; do [ -x "$NSD_TOOLS/$t" ] || fail "$t not built"; done
inet_create
gw_create
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"

nsd_conf_gateway gw
tp_peer gw alice@home.example
nsd_start gw gw
nsd_conf_client alice alice@home.example
tp_peer alice vpn.corp.example
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw

step "R13: the CHILD_SA is in transport mode on both sides, with the RFC 7296 2.23.1 selectors"
gw_child=$(tp_child gw)
c_child=$(tp_child alice)
echo "  gateway: $(jq -c '{mode, encapsulation, local_ts, remote_ts, transport}' <<<"$gw_child")"
echo "  client:  $(jq -c '{mode, encapsulation, local_ts, remote_ts, transport}' <<<"$c_child")"
for c in "$gw_child" "$c_child"; do
  [ "$(jq -r .mode <<<"$c")" = transport ] || fail "CHILD_SA not in transport mode: $c"
  [ "$(jq -r .encapsulation <<<"$c")" = udp ] || fail "CHILD_SA not ESP in UDP behind a NAT: $c"
done
[ "$(nsd_q alice .virtual_ip)" = null ] || fail "a virtual IP in transport mode"
[ "$(jq -r '.local_ts | join(",")' <<<"$gw_child")" = "$GW_PUB/32" ] || fail "gateway local selector"
[ "$(jq -r '.remote_ts | join(",")' <<<"$gw_child")" = "$NAT1_PUB/32" ] ||
  fail "gateway's remote selector is not the NAT's address (2.23.1 substitution)"
[ "$(jq -r '.local_ts | join(",")' <<<"$c_child")" = "$C1_ADDR/32" ] || fail "client local selector"
[ "$(jq -r '.remote_ts | join(",")' <<<"$c_child")" = "$GW_PUB/32" ] || fail "client remote selector"

step "R2: the original addresses of the checksum fixup, from the negotiation"
# The gateway fixes the client's packets from 10.1.0.2 -> gw (what the client's stack used);
# the client fixes the gateway's from gw -> 198.51.100.11 (the gateway's view of the client).
[ "$(jq -r '.transport | "\(.checksum_fixup) \(.orig_src) \(.orig_dst)"' <<<"$gw_child")" = "true $C1_ADDR $GW_PUB" ] ||
  fail "gateway's fixup addresses: $(jq -c .transport <<<"$gw_child")"
[ "$(jq -r '.transport | "\(.checksum_fixup) \(.orig_src) \(.orig_dst)"' <<<"$c_child")" = "true $GW_PUB $NAT1_PUB" ] ||
  fail "client's fixup addresses: $(jq -c .transport <<<"$c_child")"
table=$("$NSC_BIN" -s "$(nsd_sock gw)" status)
grep -E "transport mode" <<<"$table" | sed 's/^/  /'
grep -F "checksum fixup from original src $C1_ADDR dst $GW_PUB" <<<"$table" | sed 's/^ */  natsecctl: /'
grep -qF "checksum fixup from original src $C1_ADDR dst $GW_PUB" <<<"$table" ||
  fail "natsecctl status does not show the fixup addresses"

read -r gw_udp0 gw_tcp0 < <(tp_csum_errors gw) || fail "cannot read /proc/net/snmp in gw"
read -r c_udp0 c_tcp0 < <(tp_csum_errors c1) || fail "cannot read /proc/net/snmp in c1"
step "InCsumErrors before: gw Udp $gw_udp0 Tcp $gw_tcp0, c1 Udp $c_udp0 Tcp $c_tcp0"

cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "ip and host $NAT1_PUB"
tuncap=$NATSEC_TMP/gw-tun.pcapng
capture_start gw nsec0 "$tuncap" "udp port 7001"

step "R13: ping between the hosts (ICMP has no pseudo-header checksum)"
nsx c1 ping -c 3 -i 0.2 -W 2 "$GW_PUB" >/dev/null || fail "ping c1 -> gw failed"
nsx gw ping -c 3 -i 0.2 -W 2 "$NAT1_PUB" >/dev/null || fail "ping gw -> c1 (through the NAT's address) failed"

step "R2 R13: UDP both ways (the gateway echoes to the NAT's address)"
tp_udp_exchange c1 gw "$GW_PUB" 7000 300
step "R2: UDP with no checksum stays without one"
tp_udp_exchange c1 gw "$GW_PUB" 7001 50 -z

step "R2 R13: $SIZE_MB MB over TCP each way, SHA-256 checked"
data=$NATSEC_TMP/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$data"
tp_tcp_transfer c1 gw "$GW_PUB" 5001 "$data"
# The public host connects to the NAT's address: only the transport SA gets it to c1.
tp_tcp_transfer gw c1 "$NAT1_PUB" 5002 "$data"
capture_stop "$tuncap"

read -r gw_udp1 gw_tcp1 < <(tp_csum_errors gw)
read -r c_udp1 c_tcp1 < <(tp_csum_errors c1)
step "R2: InCsumErrors after: gw Udp $gw_udp1 Tcp $gw_tcp1, c1 Udp $c_udp1 Tcp $c_tcp1"
[ "$gw_udp1" -eq "$gw_udp0" ] && [ "$gw_tcp1" -eq "$gw_tcp0" ] ||
  fail "the gateway's stack counted checksum errors (Udp $gw_udp0 -> $gw_udp1, Tcp $gw_tcp0 -> $gw_tcp1)"
[ "$c_udp1" -eq "$c_udp0" ] && [ "$c_tcp1" -eq "$c_tcp0" ] ||
  fail "the client's stack counted checksum errors (Udp $c_udp0 -> $c_udp1, Tcp $c_tcp0 -> $c_tcp1)"

gw_fix=$(tp_child gw | jq .transport.csum_fixups)
c_fix=$(tp_child alice | jq .transport.csum_fixups)
gw_in=$(tp_child gw | jq .packets_in)
step "R2: checksums fixed: gateway $gw_fix (of $gw_in packets in), client $c_fix"
[ "$gw_fix" -ge $((300 + 20000)) ] || fail "the gateway fixed only $gw_fix checksums"
[ "$c_fix" -ge $((300 + 20000)) ] || fail "the client fixed only $c_fix checksums"
# Every packet in is fixed but the 6 ICMP ones of the pings and the 50 zero-checksum datagrams.
[ "$gw_fix" -eq $((gw_in - 6 - 50)) ] || fail "gateway: $gw_fix fixed of $gw_in in, expected all but 56"

step "R2: on the gateway's TUN device the zero UDP checksums arrive as zero"
zero=$(tshark -n -r "$tuncap" -Y "udp.dstport == 7001 && udp.checksum == 0x0000" 2>/dev/null | wc -l)
nonzero=$(tshark -n -r "$tuncap" -Y "udp.dstport == 7001 && udp.checksum != 0x0000" 2>/dev/null | wc -l)
step "  $zero datagrams to port 7001 with checksum 0, $nonzero with another"
[ "$zero" -ge 50 ] && [ "$nonzero" -eq 0 ] || fail "zero UDP checksums were changed"

step "R2: a datagram and a SYN sent with a wrong checksum are still counted as errors"
nsx c1 "$NSD_TOOLS/udpx" -b udp -S "$C1_ADDR" -c "$GW_PUB" -p 7002 >/dev/null || fail "udpx -b udp"
nsx c1 "$NSD_TOOLS/udpx" -b tcp -S "$C1_ADDR" -c "$GW_PUB" -p 5003 >/dev/null || fail "udpx -b tcp"
wait_for "[ \"\$(tp_csum_errors gw)\" = \"$((gw_udp1 + 1)) $((gw_tcp1 + 1))\" ]" 5 ||
  fail "gw InCsumErrors Udp/Tcp: '$(tp_csum_errors gw)', expected '$((gw_udp1 + 1)) $((gw_tcp1 + 1))'"
step "  gw InCsumErrors Udp/Tcp now $(tp_csum_errors gw): exactly the two bad packets"
capture_stop "$cap"

step "R13: the NAT's traffic on the internet is only IKE and ESP in UDP"
other=$(tshark -n -r "$cap" -Y "!(udp.port == 4500 && (esp || isakmp)) && !(udp.port == 500 && isakmp) && !(udp.port == 4500 && udp.length == 9)" 2>/dev/null | wc -l)
esp=$(tshark -n -r "$cap" -Y "udp.port == 4500 && esp" 2>/dev/null | wc -l)
# Bytes, not frames: with UDP GSO a capture on a veth sees one frame per run
# of ESP packets that the wire of a real NIC carries one by one.
esp_bytes=$(tshark -n -r "$cap" -Y "udp.port == 4500 && esp" -T fields -e frame.len 2>/dev/null |
  awk '{s += $1} END {print s + 0}')
step "  $esp ESP in UDP 4500 ($esp_bytes bytes), $other other"
[ "$other" -eq 0 ] || fail "$other packets between the hosts not protected"
[ "$esp_bytes" -gt 30000000 ] || fail "only $esp_bytes bytes of ESP for the traffic"

nsd_alive gw
nsd_alive alice
step "PASS"
