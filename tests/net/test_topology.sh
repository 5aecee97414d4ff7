#!/usr/bin/env bash
# ctest: serial
# Self-test of tests/lib/netns.sh: the standard topology behaves like the
# internet, a corporate network behind a gateway and home NATs (R5, R6, R10:
# an unmodified Linux nftables masquerade NAT), and every helper does what it
# says. No VPN here; the later tests rely on these facts.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/netns.sh
. "$here/../lib/netns.sh"

netns_init
step "building topology (prefix $NS_PREFIX)"
t0=$(date +%s%N)
topo_setup
step "built in $((($(date +%s%N) - t0) / 1000000)) ms: $(netns_list_ours | tr '\n' ' ')"

# Send COUNT small UDP datagrams from NS, source port SPORT, to ADDR:PORT.
udp_send() {
  local ns=$1 sport=$2 addr=$3 port=$4 count=${5:-3}
  nsx "$ns" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[1])))
for i in range(int(sys.argv[4])):
    s.sendto(b"natsec-topology-test", (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.02)
' "$sport" "$addr" "$port" "$count" || fail "UDP send from $ns failed"
}

# Print "src_addr:src_port" of the UDP packets to port 9999 in capture FILE, one per line, unique.
udp_sources() {
  tshark -n -r "$1" -Y 'udp.dstport == 9999' -T fields -e ip.src -e udp.srcport 2>/dev/null |
    tr '\t' ':' | sort -u
}

# ---------------------------------------------------------------- reachability
step "basic reachability"
nsx c1 ping -c 1 -W 2 "$GW_PUB" >/dev/null || fail "c1 (behind nat1) cannot ping the gateway $GW_PUB"
nsx c1b ping -c 1 -W 2 "$GW_PUB" >/dev/null || fail "c1b (behind nat1) cannot ping the gateway"
nsx c2 ping -c 1 -W 2 "$GW_PUB" >/dev/null || fail "c2 (behind nat2) cannot ping the gateway"
nsx pub ping -c 1 -W 2 "$GW_PUB" >/dev/null || fail "pub cannot ping the gateway"
nsx gw ping -c 1 -W 2 "$SRV_ADDR" >/dev/null || fail "gw cannot ping the server $SRV_ADDR"
nsx gw ping -c 1 -W 2 "$SRV2_ADDR" >/dev/null || fail "gw cannot ping srv2 $SRV2_ADDR"
nsx srv ping -c 1 -W 2 "$SRV2_ADDR" >/dev/null || fail "srv cannot reach srv2 on the corporate LAN"

step "the corporate network is not reachable from the internet"
# even a host that routes the corporate subnet at the gateway gets nothing
must nsx pub ip route add "$CORP_NET" via "$GW_PUB"
if nsx pub ping -c 2 -i 0.2 -W 1 "$SRV_ADDR" >/dev/null 2>&1; then
  fail "server $SRV_ADDR answered a host on the internet"
fi
nsx gw nft list chain inet filter forward | quiet_grep -E 'counter packets [1-9].* drop' ||
  fail "the gateway's wan0->corp0 drop rule did not count the attempt"
# and the NATed clients have no route there at all
if nsx c1 ping -c 1 -W 1 "$SRV_ADDR" >/dev/null 2>&1; then
  fail "c1 reached the server without a tunnel"
fi

step "a home NAT admits no new inbound connection"
must nsx pub ip route add "$HOME_NET" via "$NAT1_PUB"
if nsx pub ping -c 2 -i 0.2 -W 1 "$C1_ADDR" >/dev/null 2>&1; then
  fail "a host on the internet reached $C1_ADDR behind nat1"
fi

# ------------------------------------------------- R6: same address, two NATs
step "R6: c1 and c2 share 10.1.0.2 and appear as their NATs' addresses"
cap=$NATSEC_TMP/gw-icmp.pcapng
capture_start gw wan0 "$cap" 'icmp'
nsx c1 ping -c 2 -i 0.2 -W 2 "$GW_PUB" >/dev/null || fail "ping from c1"
nsx c2 ping -c 2 -i 0.2 -W 2 "$GW_PUB" >/dev/null || fail "ping from c2"
capture_stop "$cap"
srcs=$(tshark -n -r "$cap" -Y 'icmp.type == 8' -T fields -e ip.src 2>/dev/null | sort -u | tr '\n' ' ')
[ "$srcs" = "$NAT1_PUB $NAT2_PUB " ] || fail "echo requests at the gateway came from '$srcs'"

# ------------------------------------------ R6: two hosts behind one NAT, port 500
step "R6: two hosts behind nat1 both sending from port 500 get different public ports"
cap=$NATSEC_TMP/gw-udp500.pcapng
capture_start gw wan0 "$cap" 'udp port 9999'
udp_send c1 500 "$GW_PUB" 9999 2
udp_send c1b 500 "$GW_PUB" 9999 2
capture_stop "$cap"
mapfile -t got < <(udp_sources "$cap")
[ ${#got[@]} -eq 2 ] || fail "expected 2 public sources, saw: ${got[*]}"
[[ ${got[0]} == "$NAT1_PUB":* && ${got[1]} == "$NAT1_PUB":* ]] || fail "sources not nat1's address: ${got[*]}"
printf '%s\n' "${got[@]}" | quiet_grep -x "$NAT1_PUB:500" || fail "first host did not keep public port 500: ${got[*]}"
step "public sources: ${got[*]}"

# ------------------------------------------ port range + conntrack flush
step "nat_set_port_range + nat_flush_conntrack move a UDP flow to a new public port"
cap=$NATSEC_TMP/gw-udp.pcapng
capture_start gw wan0 "$cap" 'udp port 9999'
udp_send c2 40000 "$GW_PUB" 9999
capture_stop "$cap"
[ "$(udp_sources "$cap")" = "$NAT2_PUB:40000" ] || fail "before: expected $NAT2_PUB:40000, saw $(udp_sources "$cap")"

nat_set_port_range nat2 20000 20099
capture_start gw wan0 "$cap" 'udp port 9999'
udp_send c2 40000 "$GW_PUB" 9999
capture_stop "$cap"
[ "$(udp_sources "$cap")" = "$NAT2_PUB:40000" ] || fail "without a flush the mapping should stay, saw $(udp_sources "$cap")"

nat_flush_conntrack nat2
capture_start gw wan0 "$cap" 'udp port 9999'
udp_send c2 40000 "$GW_PUB" 9999
capture_stop "$cap"
after=$(udp_sources "$cap")
port=${after#"$NAT2_PUB":}
[[ $after == "$NAT2_PUB":* && $port =~ ^[0-9]+$ ]] || fail "after: unexpected sources '$after'"
[ "$port" -ge 20000 ] && [ "$port" -le 20099 ] || fail "after the flush the public port $port is outside 20000-20099"
step "public source moved from $NAT2_PUB:40000 to $after"
nsx c2 ping -c 1 -W 2 "$GW_PUB" >/dev/null || fail "ICMP no longer NATed after nat_set_port_range"
# a range without a protocol match is what nft rejects: make sure we would notice
if nsx nat2 nft add rule ip nat postrouting masquerade to :1-2 2>/dev/null; then
  fail "nft accepted a port range without a protocol match (the notes say it must not)"
fi

# ------------------------------------------ UDP mapping lifetime
step "nat_set_udp_timeout shortens the UDP mapping lifetime"
nat_set_udp_timeout nat1 2
[ "$(nsx nat1 sysctl -n net.netfilter.nf_conntrack_udp_timeout)" = 2 ] || fail "timeout not set"
udp_send c1 41000 "$GW_PUB" 9999 1
nsx nat1 conntrack -L -p udp --sport 41000 2>/dev/null | quiet_grep 'sport=41000' || fail "no mapping for the UDP flow"
wait_for "! nsx nat1 conntrack -L -p udp --sport 41000 2>/dev/null | quiet_grep sport=41000" 8 ||
  fail "the UDP mapping outlived its 2 s timeout"

# ------------------------------------------ packet loss
step "link_loss drops packets, 0 removes the rule"
link_loss c1 100 eth0
if nsx c1 ping -c 2 -i 0.2 -W 1 "$GW_PUB" >/dev/null 2>&1; then
  fail "ping got through 100% loss"
fi
link_loss c1 30
received=$(nsx c1 ping -c 40 -i 0.02 -W 1 "$GW_PUB" 2>/dev/null | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$received" ] && [ "$received" -gt 0 ] && [ "$received" -lt 40 ] ||
  fail "30% loss each way: expected some but not all of 40 pings answered, got '${received:-?}'"
step "30% loss each way: $received/40 pings answered"
link_loss c1 0
nsx c1 ping -c 3 -i 0.2 -W 2 "$GW_PUB" >/dev/null || fail "ping fails after removing the loss"

# ------------------------------------------ run_bg + cleanup
step "run_bg and teardown"
run_bg srv sleep 300
bgpid=$BG_PID
kill -0 "$bgpid" || fail "run_bg process not running"
netns_cleanup
kill -0 "$bgpid" 2>/dev/null && fail "background process $bgpid survived the cleanup"
left=$(netns_list_ours)
[ -z "$left" ] || fail "namespaces left after cleanup: $left"
step "PASS"
