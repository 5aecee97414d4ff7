#!/usr/bin/env bash
# X6, X8, X11: IKE and ESP over TCP (RFC 8229) on an IPv6-only outside that
# lets no UDP out. carol sits behind a NAT66 (nat6) that drops every UDP
# packet it would forward, with no IPv4 address outside; with transport =
# auto her IKE_SA_INIT over UDP gets no answer in tcp_fallback (2 s), she
# connects over TCP to the gateway's IPv6 address (the gateway listens on
# both versions) and is up within 10 s: "IKETCP" starts the stream on the
# wire over IPv6, the gateway sees her at the NAT66's address over TCP,
# and pings and 4 MB each way (SHA-256 checked) reach the IPv4 corporate
# server. alice (IPv4 NAT, UDP) is up beside her.
#
# The gateway clamps the inner TCP MSS per SA: on carol's SA (over TCP)
# to MTU 1400 - 40 - 26 (the outer TCP header with timestamps and the
# length field, less the UDP header they replace) = 1334 both ways, on
# alice's (over UDP) to 1400 - 40 = 1360. Both clients run with mtu =
# 1500, so their own clamps (1434 and 1460) are above the gateway's: the
# MSS the server and the clients see is the one the gateway set.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/topo6.sh
. "$here/tools/topo6.sh"
# shellcheck source=tools/tcp.sh
. "$here/tools/tcp.sh"

export NATSEC_IPV6=1
netns_init
nsd_check_build
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
inet_create
gw_create
gw6_add
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"
nat66_create
nat_block_udp nat6 on
[ -z "$(nsx c6 ip -4 addr show dev eth0)" ] || fail "carol has an IPv4 address outside"

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example carol@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example mtu=1500
nsd_start alice c1
NSD_GATEWAY=$GW_PUB6 nsd_conf_corp_client carol carol@corp.example transport=auto tcp_fallback=2000 mtu=1500
cap=$NATSEC_TMP/tcp6.pcapng
capture_start inet br0 "$cap" "ip6 and tcp port 4500"
t0=$(date +%s%N)
nsd_start carol c6

step "X6, X8: UDP blocked on an IPv6-only outside: carol falls back to TCP over IPv6 within 10 s"
nsd_wait_up carol 1 10
step "  up after $((($(date +%s%N) - t0) / 1000000)) ms"
nsd_wait_up alice
dropped=$(nsx nat6 nft list table inet noudp | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
[ "${dropped:-0}" -ge 1 ] || fail "nat6 dropped no UDP: the fallback was not tested"
[ "$(nsd_q carol '.ike_sas[0].transport')" = tcp ] || fail "carol is up, but not over TCP"
[ "$(nsd_q carol .tcp.fallbacks)" -ge 1 ] || fail "no fallback counted"
gw_sa() { nsd_json gw | jq -c ".ike_sas[] | select(.remote_id == \"$1\" and .state == \"ESTABLISHED\")"; }
carol_gw=$(gw_sa carol@corp.example)
alice_gw=$(gw_sa alice@corp.example)
step "  gateway: carol $(jq -c '{remote, transport}' <<<"$carol_gw"), alice $(jq -c '{remote, transport}' <<<"$alice_gw")"
[[ $(jq -r .remote <<<"$carol_gw") == "[$NAT6_PUB]:"* ]] || fail "the gateway does not see carol at the NAT66's address"
[ "$(jq -r .transport <<<"$carol_gw")" = tcp ] || fail "the gateway does not see carol over TCP"
[ "$(jq -r .transport <<<"$alice_gw")" = udp ] || fail "the gateway does not see alice over UDP"
nsd_q gw '.tcp.connections[].peer' | quiet_grep -F "[$NAT6_PUB]:" || fail "no TCP connection from the NAT66's address"
nsx c6 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through carol's tunnel"
capture_stop "$cap"
first=$(tshark -n -r "$cap" -Y "tcp.len > 0 && ipv6.src == $NAT6_PUB" -T fields -e tcp.payload 2>/dev/null | sed -n 1p)
step "  first bytes on the TCP connection over IPv6: ${first:0:40}..."
[[ $first == 494b45544350* ]] || fail "the stream over IPv6 does not start with IKETCP"

step "X6, X11: 4 MB each way for carol (TCP) and 1 MB for alice (UDP), inner MSS clamped per SA"
# SYNs as they reach the server, SYN-ACKs as they reach the clients.
syn='tcp[tcpflags] & (tcp-syn | tcp-ack) == tcp-syn'
ack='tcp[tcpflags] & (tcp-syn | tcp-ack) == (tcp-syn | tcp-ack)'
capture_start srv eth0 "$NATSEC_TMP/srv.pcapng" "tcp portrange 5003-5006 and $syn"
capture_start c6 nsec0 "$NATSEC_TMP/carol.pcapng" "tcp portrange 5003-5004 and $ack"
capture_start c1 nsec0 "$NATSEC_TMP/alice.pcapng" "tcp portrange 5005-5006 and $ack"
data=$NATSEC_TMP/data.bin
head -c $((4 * 1024 * 1024)) /dev/urandom >"$data"
xfer_both c6 "$data" 5003 60 | sed 's/^/  carol /'
head -c $((1024 * 1024)) "$data" >"$data.1"
xfer_both c1 "$data.1" 5005 60 | sed 's/^/  alice /'
capture_stop
must mergecap -w "$NATSEC_TMP/syns.pcapng" "$NATSEC_TMP"/{srv,carol,alice}.pcapng
# A capture cut short makes tshark fail after what it read: the checks
# below say what is missing.
syns=$(tshark -n -r "$NATSEC_TMP/syns.pcapng" -T fields -e ip.src -e ip.dst -e tcp.options.mss_val 2>/dev/null || true)
carol_vip=$(nsd_q carol .virtual_ip)
alice_vip=$(nsd_q alice .virtual_ip)
# The MSS values of the SYNs from SRC to DST: mss_of SRC DST.
mss_of() { awk -v s="$1" -v d="$2" '$1 == s && $2 == d { print $3 }' <<<"$syns" | sort -u | tr '\n' ' '; }
carol_syn=$(mss_of "$carol_vip" "$SRV_ADDR")
alice_syn=$(mss_of "$alice_vip" "$SRV_ADDR")
carol_ack=$(mss_of "$SRV_ADDR" "$carol_vip")
alice_ack=$(mss_of "$SRV_ADDR" "$alice_vip")
step "  SYNs at the server: carol $carol_syn, alice $alice_syn; SYN-ACKs at the clients: carol $carol_ack, alice $alice_ack"
[ "$carol_syn" = "1334 " ] || fail "carol's SYNs (ESP over TCP) reach the server with MSS $carol_syn, not 1334"
[ "$carol_ack" = "1334 " ] || fail "the server's SYN-ACKs reach carol (ESP over TCP) with MSS $carol_ack, not 1334"
[ "$alice_syn" = "1360 " ] || fail "alice's SYNs (ESP over UDP) reach the server with MSS $alice_syn, not 1360"
[ "$alice_ack" = "1360 " ] || fail "the server's SYN-ACKs reach alice (ESP over UDP) with MSS $alice_ack, not 1360"
[ "$(nsd_q gw .tcp.esp_in)" -gt 1000 ] || fail "carol's ESP did not reach the gateway over TCP"
nsd_alive gw
nsd_alive carol
nsd_alive alice
step "PASS"
