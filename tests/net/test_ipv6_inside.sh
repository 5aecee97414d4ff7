#!/usr/bin/env bash
# X8: IPv6 inside the tunnel. A gateway with pool6 and corporate subnets of
# both families (192.0.2.0/24, 2001:db8:c0::/64) serves
#   bob,   IPv6 alone outside (no IPv4 address): IPv4 and IPv6 inside, one
#          CHILD_SA with selectors of both families; 50 MB of TCP over IPv6
#          inside reach the IPv6 server intact (SHA-256), their SYNs
#          clamped to MSS = MTU - 60 (X11);
#   alice, dual-stack behind an IPv4 NAT: reaches the IPv6 and the IPv4
#          server at once, IPv6 inside IPv4 outside;
#   carol, behind a NAT66, runs natsecd_spoof (its outbound SA takes any
#          inner addresses): her packets with alice's IPv6 virtual IP as
#          source are dropped and counted by the gateway (R17);
#   dave,  dual-stack on the internet with subnets = 0.0.0.0/0, ::/0: a
#          capture on his outside interface shows no IPv6 packet of his
#          but natsecd's own (IKE, ESP) and neighbor discovery.
# natsecctl status shows both virtual IPs and both families' selectors.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/topo6.sh
. "$here/tools/topo6.sh"

export NATSEC_IPV6=1
netns_init
nsd_check_build
[ -x "$NSD_TOOLS/natsecd_spoof" ] || fail "natsecd_spoof not built"
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
topo6_setup
DAVE6=2001:db8:100::31
pub_create pub "$PUB_ADDR"
addr6 pub eth0 "$DAVE6/64"

BOTH="$CORP_NET, $CORP6_NET"
nsd_conf_gateway gw pool6="$VIP6_POOL" dns="192.0.2.53, 2001:db8:c0::53"
for id in alice@corp.example bob@corp.example carol@corp.example; do
  nsd_peer gw "$id" "$NSD_PSK" "$BOTH"
done
nsd_peer gw dave@corp.example "$NSD_PSK" "0.0.0.0/0, ::/0"
nsd_start gw gw

corp_client() { # NAME ID GATEWAY SUBNETS
  NSD_GATEWAY=$3 nsd_conf_client "$1" "$2"
  nsd_peer "$1" vpn.corp.example "$NSD_PSK" "$4"
}
corp_client bob bob@corp.example "$GW_PUB6" "$BOTH"
corp_client alice alice@corp.example "$GW_PUB" "$BOTH"
corp_client carol carol@corp.example "$GW_PUB6" "$BOTH"
corp_client dave dave@corp.example "$GW_PUB6" "0.0.0.0/0, ::/0"
nsd_start bob pub6
nsd_start alice c1
NSD_BIN=$NSD_TOOLS/natsecd_spoof nsd_start carol c6
nsd_start dave pub
for n in bob alice carol dave; do nsd_wait_up "$n"; done

step "X8: natsecctl status shows both virtual IPs and both families' selectors"
b4=$(nsd_q bob .virtual_ip)
b6=$(nsd_q bob .virtual_ip6)
a6=$(nsd_q alice .virtual_ip6)
c6=$(nsd_q carol .virtual_ip6)
gw_bob=$(nsd_json gw | jq -c '.ike_sas[] | select(.remote_id == "bob@corp.example")')
step "bob: $b4 and $b6; gateway: $(jq -c '{virtual_ip, virtual_ip6, local_ts: .children[0].local_ts, remote_ts: .children[0].remote_ts}' <<<"$gw_bob")"
[[ $b4 == 10.99.0.* ]] || fail "bob has no IPv4 virtual IP: $b4"
[[ $b6 == 2001:db8:99::* ]] || fail "bob has no IPv6 virtual IP from pool6: $b6"
[ "$(jq -r .virtual_ip6 <<<"$gw_bob")" = "$b6" ] || fail "the gateway shows another IPv6 virtual IP for bob"
[ "$(jq -c '.children[0].local_ts' <<<"$gw_bob")" = "[\"$CORP_NET\",\"$CORP6_NET\"]" ] ||
  fail "the gateway's selectors for bob are not both corporate subnets"
[ "$(jq -c '.children[0].remote_ts' <<<"$gw_bob")" = "[\"$b4/32\",\"$b6/128\"]" ] ||
  fail "bob's side is not his two virtual IPs"
table=$("$NSC_BIN" -s "$(nsd_sock bob)" status)
grep -q "virtual IP $b4, $b6" <<<"$table" || fail "natsecctl status does not show both virtual IPs: $table"
grep -q "$CORP6_NET" <<<"$table" || fail "natsecctl status does not show the IPv6 selector"
[ "$a6" != "$b6" ] && [ "$c6" != "$b6" ] && [ "$a6" != "$c6" ] || fail "two clients share an IPv6 virtual IP"

step "X8: bob (IPv6 outside) and alice (IPv4 outside) reach the IPv6 and the IPv4 server"
nsx pub6 ping -c 2 -i 0.1 -W 2 "$SRV6_ADDR" >/dev/null || fail "bob cannot reach $SRV6_ADDR"
nsx pub6 ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "bob cannot reach $SRV_ADDR"
nsx c1 ping -c 2 -i 0.1 -W 2 "$SRV6_ADDR" >/dev/null || fail "alice cannot reach $SRV6_ADDR"
nsx c1 ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "alice cannot reach $SRV_ADDR"
nsx srv ping -c 2 -i 0.1 -W 2 "$b6" >/dev/null || fail "the server cannot reach bob's IPv6 virtual IP"

step "X8, X11: 50 MB of TCP from bob to $SRV6_ADDR inside, SHA-256 checked, SYN MSS = MTU - 60"
data=$NATSEC_TMP/data.bin
head -c 50000000 /dev/urandom >"$data"
want=$(sha256sum "$data" | cut -d' ' -f1)
cap=$NATSEC_TMP/srv6.pcapng
capture_start srv eth0 "$cap" "ip6 and tcp port 5006 and ip6[53] & 2 != 0"
recv_out=$NATSEC_TMP/recv.out
run_bg srv "$NSD_TOOLS/tcpxfer" -l 5006 -r -t 40 >"$recv_out" 2>/dev/null
wait_for "nsx srv ss -Hltn | grep -q ':5006'" 5 || fail "tcpxfer did not listen"
send_out=$(nsx pub6 "$NSD_TOOLS/tcpxfer" -c "$SRV6_ADDR" -p 5006 -s "$data" -t 40) || fail "sending failed"
wait_for "grep -q sha256 '$recv_out'" 10 || fail "receiver did not finish"
capture_stop "$cap"
got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$recv_out")
step "sent: $send_out; received: $(cat "$recv_out")"
[ "$got" = "$want" ] || fail "SHA-256 differs: sent $want, received $got"
mss=$(tshark -n -r "$cap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0" -T fields -e tcp.options.mss_val 2>/dev/null | head -1)
step "SYN from bob at the server: MSS $mss"
[ "$mss" = 1340 ] || fail "bob's SYN over IPv6 carries MSS '$mss', not 1400 - 60"

step "R17: carol's packets with alice's IPv6 virtual IP $a6 as source are dropped and counted"
grep -q "TEST BUILD natsecd_spoof" "$(nsd_log carol)" || fail "carol does not run the spoofing test build"
nsx c6 ping -c 2 -i 0.1 -W 2 -I "$c6" "$SRV6_ADDR" >/dev/null || fail "carol's own IPv6 pings do not pass"
must nsx c6 ip -6 addr add "$a6/128" dev nsec0 nodad
nsd_spoof_counted c6 "$a6" "$SRV6_ADDR" 5

step "X8: dave's full tunnel (0.0.0.0/0, ::/0): no IPv6 packet of his leaves around it"
wcap=$NATSEC_TMP/dave-eth0.pcapng
capture_start pub eth0 "$wcap" "ip6 and src $DAVE6"
nsx pub ping -c 3 -i 0.1 -W 2 "$SRV6_ADDR" >/dev/null || fail "dave cannot reach $SRV6_ADDR through his tunnel"
nsx pub ping -c 3 -i 0.1 -W 1 "$PUB6_ADDR" >/dev/null 2>&1 || true
nsx pub ping -c 3 -i 0.1 -W 1 "$GW_PUB6" >/dev/null 2>&1 || true
capture_stop "$wcap"
own="udp.port == 500 || udp.port == 4500 || esp"
nd="icmpv6.type >= 133 && icmpv6.type <= 136"
total=$(tshark -n -r "$wcap" 2>/dev/null | wc -l)
leaks=$(tshark -n -r "$wcap" -Y "!($own) && !($nd)" 2>/dev/null | wc -l)
step "dave's outside interface: $total IPv6 packets from him, $leaks neither natsecd's own nor neighbor discovery"
tshark -n -r "$wcap" -Y "!($own) && !($nd)" 2>/dev/null | head -5 | sed 's/^/  leak: /'
[ "$total" -ge 6 ] || fail "the capture saw no ESP of dave's: it proves nothing"
[ "$leaks" -eq 0 ] || fail "$leaks IPv6 packets of dave's went around the tunnel"

for n in gw bob alice carol dave; do nsd_alive "$n"; done
step "PASS"
