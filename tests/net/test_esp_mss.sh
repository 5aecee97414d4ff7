#!/usr/bin/env bash
# X11: the tunnel's MTU and TCP MSS clamping. alice behind nat1, every link
# of the internet at MTU 1500, the TUN devices at natsecd's default 1400:
#   - the ESP-in-UDP packets of a full-size transfer fit the 1500-byte path
#     unfragmented (the TUN MTU leaves room for ESP and UDP);
#   - alice's stack announces MSS 1460 (a route with advmss 1460 to the
#     server, as a LAN behind her would), and the capture at the server shows
#     the SYN with MSS <= 1360 (1400 - 40): natsecd clamped it on the way in;
#   - the server's SYN-ACK (MSS 1460 from its 1500-byte LAN) reaches alice
#     with MSS <= 1360: clamped on the gateway's side;
#   - with the gateway's ICMP "fragmentation needed" dropped (the PMTU black
#     hole of many home routers and clouds), 5 MB go up and 5 MB come down
#     over connections alice opens, both checked by SHA-256: with the server
#     sending 1460-byte segments they would stall at the gateway's TUN.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

SIZE_MB=5
TUN_MTU=1400
# A capture on a veth or bridge sees a UDP GSO run as one frame, as large as
# the run; on a real wire it leaves as separate datagrams. The outer-size
# check below is about those datagrams, so this test sends them one by one
# (udp_gso = no on both daemons).
MAX_MSS=$((TUN_MTU - 40))

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
topo_setup

for ns_if in gw:wan0 nat1:wan0 inet:gw inet:nat1; do
  mtu=$(nsx "${ns_if%%:*}" cat "/sys/class/net/${ns_if#*:}/mtu")
  [ "$mtu" -eq 1500 ] || fail "internet link ${ns_if} has MTU $mtu, the test wants 1500"
done

nsd_conf_gateway gw udp_gso=no
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example udp_gso=no
nsd_start alice c1
nsd_wait_up alice
vip=$(nsd_q alice .virtual_ip)

step "X11: the TUN devices have MTU $TUN_MTU (the configuration's default)"
for ns in gw c1; do
  mtu=$(nsx "$ns" cat /sys/class/net/nsec0/mtu)
  [ "$mtu" -eq "$TUN_MTU" ] || fail "nsec0 in $ns has MTU $mtu, expected $TUN_MTU"
done

# alice announces MSS 1460 towards the server: a more specific route in
# natsecd's table with advmss 1460 (it goes with the TUN device).
table=$(nsx c1 ip -4 route show table all dev nsec0 | sed -n "s|^$CORP_NET .*table \([0-9]*\).*|\1|p")
[ -n "$table" ] || fail "no route to $CORP_NET into nsec0 on alice: $(nsx c1 ip -4 route show table all)"
must nsx c1 ip route add "$SRV_ADDR/32" dev nsec0 table "$table" src "$vip" advmss 1460

# The gateway's ICMP "fragmentation needed" never leaves (a PMTU black hole).
nsx gw nft -f - <<EOF || fail "gateway: nftables rejected the ICMP drop"
table inet pmtu_hole {
  chain out {
    type filter hook output priority filter; policy accept;
    icmp type destination-unreachable icmp code frag-needed counter drop
  }
}
EOF

srv_cap=$NATSEC_TMP/srv.pcapng
tun_cap=$NATSEC_TMP/tun.pcapng
wire_cap=$NATSEC_TMP/wire.pcapng
capture_start srv eth0 "$srv_cap" "tcp portrange 5003-5004 and tcp[tcpflags] & tcp-syn != 0"
capture_start c1 nsec0 "$tun_cap" "tcp portrange 5003-5004 and tcp[tcpflags] & tcp-syn != 0"
capture_start inet br0 "$wire_cap" "host $NAT1_PUB and udp port 4500"

data=$NATSEC_TMP/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$data"
want=$(sha256sum "$data" | cut -d' ' -f1)
out=$NATSEC_TMP/xfer.out

step "X11: $SIZE_MB MB up, alice -> server:5003, SHA-256 checked"
run_bg srv "$NSD_TOOLS/tcpxfer" -l 5003 -r -t 60 >"$out" 2>&1
pid=$BG_PID
wait_for "nsx srv ss -ltn | quiet_grep ':5003 '" 5 || fail "receiver did not listen"
send=$(nsx c1 "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p 5003 -s "$data" -t 60) || fail "upload failed"
wait "$pid" || fail "receiver failed: $(cat "$out")"
got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$out")
[ "$got" = "$want" ] || fail "upload: SHA-256 differs: sent $want, received $got"
step "  upload: $send"

step "X11: $SIZE_MB MB down, alice -> server:5004, the server sends, SHA-256 checked"
run_bg srv "$NSD_TOOLS/tcpxfer" -l 5004 -s "$data" -t 60 >"$out" 2>&1
pid=$BG_PID
wait_for "nsx srv ss -ltn | quiet_grep ':5004 '" 5 || fail "sender did not listen"
recv=$(nsx c1 "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p 5004 -r -t 60) || fail "download failed (stalled in the PMTU black hole?)"
wait "$pid" || fail "server sender failed: $(cat "$out")"
got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<<"$recv")
[ "$got" = "$want" ] || fail "download: SHA-256 differs: sent $want, received $got"
step "  download: $recv"
capture_stop

# "SRC DST SYN ACK MSS" per SYN or SYN-ACK.
syns() {
  tshark -n -r "$1" -T fields -e ip.src -e ip.dst -e tcp.flags.syn -e tcp.flags.ack \
    -e tcp.options.mss_val 2>/dev/null
}
srv_syns=$(syns "$srv_cap")
tun_syns=$(syns "$tun_cap")
echo "$srv_syns" | sed 's/^/  at the server: /'
echo "$tun_syns" | sed 's/^/  on alice nsec0: /'

step "X11: alice's SYNs leave her stack with MSS 1460 and reach the server with MSS <= $MAX_MSS"
n_out=$(awk -v v="$vip" '$1 == v && $4 == 0 && $5 == 1460' <<<"$tun_syns" | wc -l)
[ "$n_out" -ge 2 ] || fail "alice's SYNs did not carry MSS 1460 into the tunnel (the test would prove nothing)"
n_srv=$(awk -v v="$vip" '$1 == v && $4 == 0' <<<"$srv_syns" | wc -l)
n_big=$(awk -v v="$vip" -v m=$MAX_MSS '$1 == v && $4 == 0 && !($5 > 0 && $5 <= m)' <<<"$srv_syns" | wc -l)
[ "$n_srv" -ge 2 ] || fail "the server saw $n_srv SYNs from $vip"
[ "$n_big" -eq 0 ] || fail "$n_big SYNs reached the server with an MSS above $MAX_MSS (or none)"

step "X11: the server's SYN-ACKs (MSS 1460) reach alice with MSS <= $MAX_MSS"
n_sa=$(awk -v s="$SRV_ADDR" '$1 == s && $4 == 1 && $5 == 1460' <<<"$srv_syns" | wc -l)
[ "$n_sa" -ge 2 ] || fail "the server's SYN-ACKs did not announce 1460"
n_in=$(awk -v s="$SRV_ADDR" '$1 == s && $4 == 1' <<<"$tun_syns" | wc -l)
n_big=$(awk -v s="$SRV_ADDR" -v m=$MAX_MSS '$1 == s && $4 == 1 && !($5 > 0 && $5 <= m)' <<<"$tun_syns" | wc -l)
[ "$n_in" -ge 2 ] || fail "alice saw $n_in SYN-ACKs"
[ "$n_big" -eq 0 ] || fail "$n_big SYN-ACKs reached alice with an MSS above $MAX_MSS"

step "X11: ESP in UDP fits the 1500-byte path unfragmented"
max_len=$(tshark -n -r "$wire_cap" -T fields -e ip.len 2>/dev/null | sort -n | tail -n 1)
frags=$(tshark -n -r "$wire_cap" -Y 'ip.flags.mf == 1 || ip.frag_offset > 0' 2>/dev/null | wc -l)
step "  largest outer packet $max_len bytes, $frags fragments"
[ "$max_len" -le 1500 ] || fail "outer packets of $max_len bytes"
[ "$max_len" -gt 1400 ] || fail "no full-size packet went through ($max_len): the test proves nothing"
[ "$frags" -eq 0 ] || fail "$frags IP fragments on the internet"
dropped=$(nsx gw nft list table inet pmtu_hole | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
step "  ICMP fragmentation-needed dropped at the gateway: ${dropped:-0}"

nsd_alive gw
nsd_alive alice
step "PASS"
