#!/usr/bin/env bash
# R2 R13: ESP transport mode with no NAT in the path. A host on the
# internet (pub, 198.51.100.21) and a public host (gw, 198.51.100.1) in
# transport mode: the selectors are their own addresses as each sees them,
# so no checksum fixup is needed and none is applied (status: no original
# addresses, 0 checksums fixed on both sides), yet a UDP exchange and 50 MB
# of TCP each way (SHA-256 checked) arrive with no new InCsumErrors in the
# receivers' /proc/net/snmp. Without a NAT the wire carries plain ESP,
# IP protocol 50 (R14). Last, an identity whose [peer] section on the
# public host says tunnel mode asks for transport mode: refused, and both
# sides say why.
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
pub_create pub "$PUB_ADDR"

nsd_conf_gateway gw
tp_peer gw bob@example.net
nsd_peer gw dave@example.net "$NSD_PSK" "$CORP_NET" # tunnel mode only
nsd_start gw gw
nsd_conf_client bob bob@example.net
tp_peer bob vpn.corp.example
nsd_start bob pub
nsd_wait_up bob
nsd_wait_up gw

step "R13: transport mode without a NAT: the selectors are the two hosts' addresses"
gw_child=$(tp_child gw)
c_child=$(tp_child bob)
echo "  gateway: $(jq -c '{mode, encapsulation, local_ts, remote_ts, transport}' <<<"$gw_child")"
echo "  client:  $(jq -c '{mode, encapsulation, local_ts, remote_ts, transport}' <<<"$c_child")"
for c in "$gw_child" "$c_child"; do
  [ "$(jq -r .mode <<<"$c")" = transport ] || fail "CHILD_SA not in transport mode: $c"
  [ "$(jq -r .encapsulation <<<"$c")" = esp ] || fail "not plain ESP without a NAT (R14): $c"
  # R2: no NAT changed an address: no original addresses, no fixup.
  [ "$(jq -r '.transport | "\(.checksum_fixup) \(.orig_src) \(.orig_dst)"' <<<"$c")" = "false null null" ] ||
    fail "a checksum fixup was set up without a NAT: $(jq -c .transport <<<"$c")"
done
[ "$(jq -r '.remote_ts | join(",")' <<<"$gw_child")" = "$PUB_ADDR/32" ] || fail "gateway remote selector"
[ "$(jq -r '.remote_ts | join(",")' <<<"$c_child")" = "$GW_PUB/32" ] || fail "client remote selector"
table=$("$NSC_BIN" -s "$(nsd_sock bob)" status)
grep -F "checksum fixup none" <<<"$table" | sed 's/^ */  natsecctl: /'
grep -qF "checksum fixup none (no NAT changed the addresses)" <<<"$table" ||
  fail "natsecctl status does not say that no fixup is applied"

read -r gw_udp0 gw_tcp0 < <(tp_csum_errors gw) || fail "cannot read /proc/net/snmp in gw"
read -r c_udp0 c_tcp0 < <(tp_csum_errors pub) || fail "cannot read /proc/net/snmp in pub"

cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "ip and host $PUB_ADDR"

step "R13: UDP both ways, and with no checksum"
tp_udp_exchange pub gw "$GW_PUB" 7000 300
tp_udp_exchange pub gw "$GW_PUB" 7001 50 -z
step "R13: $SIZE_MB MB over TCP each way, SHA-256 checked"
data=$NATSEC_TMP/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$data"
tp_tcp_transfer pub gw "$GW_PUB" 5001 "$data"
tp_tcp_transfer gw pub "$PUB_ADDR" 5002 "$data"
capture_stop "$cap"

read -r gw_udp1 gw_tcp1 < <(tp_csum_errors gw)
read -r c_udp1 c_tcp1 < <(tp_csum_errors pub)
step "R2: InCsumErrors: gw Udp $gw_udp0 -> $gw_udp1 Tcp $gw_tcp0 -> $gw_tcp1, pub Udp $c_udp0 -> $c_udp1 Tcp $c_tcp0 -> $c_tcp1"
[ "$gw_udp1" -eq "$gw_udp0" ] && [ "$gw_tcp1" -eq "$gw_tcp0" ] || fail "the gateway's stack counted checksum errors"
[ "$c_udp1" -eq "$c_udp0" ] && [ "$c_tcp1" -eq "$c_tcp0" ] || fail "the client's stack counted checksum errors"

gw_child=$(tp_child gw)
c_child=$(tp_child bob)
step "R2: no fixup applied: gateway $(jq .transport.csum_fixups <<<"$gw_child") of $(jq .packets_in <<<"$gw_child") packets in, client $(jq .transport.csum_fixups <<<"$c_child") of $(jq .packets_in <<<"$c_child")"
[ "$(jq .packets_in <<<"$gw_child")" -gt 20000 ] && [ "$(jq .packets_in <<<"$c_child")" -gt 20000 ] ||
  fail "the traffic did not go through the SAs"
[ "$(jq .transport.csum_fixups <<<"$gw_child")" -eq 0 ] && [ "$(jq .transport.csum_fixups <<<"$c_child")" -eq 0 ] ||
  fail "checksums were changed without a NAT"

step "R14: on the internet the hosts' traffic is plain ESP (protocol 50) and IKE on 500"
other=$(tshark -n -r "$cap" -Y "!(ip.proto == 50 && !udp) && !(udp.port == 500 && isakmp)" 2>/dev/null | wc -l)
esp=$(tshark -n -r "$cap" -Y "ip.proto == 50 && !udp" 2>/dev/null | wc -l)
step "  $esp protocol-50 packets, $other other"
[ "$other" -eq 0 ] || fail "$other packets between the hosts not protected or not plain ESP"
[ "$esp" -gt 20000 ] || fail "only $esp ESP packets for the traffic"

nsd_alive gw
nsd_alive bob

step "R13: dave asks for transport mode, the public host's section for him says tunnel"
nsd_stop bob
nsd_conf_client dave dave@example.net
tp_peer dave vpn.corp.example
nsd_start dave pub
wait_for "grep -q \"its \[peer\] section for us does not say 'mode = transport'\" '$(nsd_log dave)'" 15 || {
  tail -n 20 "$(nsd_log dave)" >&2
  fail "dave's natsecd did not say why it got no CHILD_SA"
}
grep -q "'dave@example.net' asks for transport mode, its \[peer dave@example.net\] section says tunnel" "$(nsd_log gw)" ||
  fail "the public host did not log the mode mismatch"
echo "  dave: $(grep -m1 'does not say' "$(nsd_log dave)" | sed 's/.*ike: //')"
echo "  gw:   $(grep -m1 'asks for transport mode' "$(nsd_log gw)" | sed 's/.*ike: //')"
[ "$(nsd_q dave '[.ike_sas[] | .children[]] | length')" = 0 ] || fail "dave got a CHILD_SA"
nsd_alive gw
step "PASS"
