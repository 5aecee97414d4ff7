#!/usr/bin/env bash
# X6: the home NAT resets the client's TCP connection to the gateway
# (RFC 8229) in the middle of a 20 MB download (once 2000 ESP frames came
# in over it): it answers every packet of it with a TCP reset and forgets
# its mappings until the client closed the connection. The client dials
# again (0.5 s, doubling), the same IKE SA goes on over the new connection
# (the gateway follows the first authenticated packet on it) and the
# transfer completes, SHA-256 checked.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

SIZE_MB=20

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example transport=tcp
nsd_start alice c1
nsd_wait_up alice 1 10
[ "$(nsd_q alice '.ike_sas[0].transport')" = tcp ] || fail "alice is not over TCP"
ike_id=$(nsd_q alice '.ike_sas[0].id')
port_before=$(nsd_q gw '.ike_sas[0].remote')

data=$NATSEC_TMP/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$data"
want=$(sha256sum "$data" | cut -d' ' -f1)
# Slow enough to be mid-transfer when the reset comes: a 40 Mbit/s link.
nsx srv tc qdisc add dev eth0 root tbf rate 40mbit burst 32kb latency 50ms
out=$NATSEC_TMP/xfer.out
run_bg srv "$NSD_TOOLS/tcpxfer" -l 5003 -s "$data" -t 60 >"$out" 2>&1
wait_for "nsx srv ss -ltn | quiet_grep ':5003 '" 5 || fail "sender did not listen"
recv_out=$NATSEC_TMP/recv.out
run_bg c1 "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p 5003 -r -t 60 >"$recv_out" 2>&1
recv_pid=$BG_PID
esp_in=$(nsd_q alice .tcp.esp_in)
nsd_wait alice ".tcp.esp_in > $esp_in + 2000" 30 || fail "the download did not start"
! grep -q sha256= "$recv_out" || fail "the download ended before the reset"
broken=$(nsd_q alice '.tcp.closed.peer + .tcp.closed.error')

step "X6: nat1 resets alice's TCP connection to the gateway mid-transfer"
nsx nat1 nft -f - <<EOF || fail "reset rule rejected"
table inet rst {
  chain forward {
    type filter hook forward priority -20; policy accept;
    tcp dport 4500 reject with tcp reset
  }
}
EOF
nat_flush_conntrack nat1
nsd_wait alice "(.tcp.closed.peer + .tcp.closed.error) > $broken" 30 ||
  fail "nat1's resets did not break alice's connection"
nsx nat1 nft delete table inet rst
nat_flush_conntrack nat1

step "X6: alice dials again and the transfer completes over the same IKE SA"
t0=$(date +%s)
wait_for "grep -q 'sha256=' '$recv_out' || ! kill -0 $recv_pid" 60 || fail "the transfer did not end"
got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$recv_out")
[ "$got" = "$want" ] || fail "the transfer failed after the reset: $(cat "$recv_out")"
step "  $(cat "$recv_out") ($(($(date +%s) - t0)) s after the reset ended)"
status=$(nsd_json alice)
step "  alice tcp counters: $(jq -c '.tcp | del(.connections)' <<<"$status")"
[ "$(jq -r '.ike_sas[0].id' <<<"$status")" = "$ike_id" ] || fail "a new IKE SA, not the same one"
[ "$(jq -r .tcp.connects <<<"$status")" -ge 2 ] || fail "alice did not dial again"
port_after=$(nsd_q gw '.ike_sas[0].remote')
step "  the gateway moved alice from $port_before to $port_after"
[ "$port_after" != "$port_before" ] || fail "the gateway did not follow the new connection"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping after the reset"
nsd_alive gw
nsd_alive alice
step "PASS"
