#!/usr/bin/env bash
# ESP tunnel mode through a NAT (R13): a telecommuter behind an nftables
# masquerade NAT pings the corporate server from its virtual IP, then
# sends it 50 MB over TCP and receives 50 MB back, both checked by SHA-256.
# The capture on the internet shows only ESP in UDP 4500 for it (R14).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

SIZE_MB=50

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up alice
vip=$(nsd_q alice .virtual_ip)

cap=$NATSEC_TMP/wire.pcapng
capture_start inet br0 "$cap" "ip and host $NAT1_PUB"

step "R13: ping from the virtual IP $vip to the corporate server $SRV_ADDR"
out=$(nsx c1 ping -c 10 -i 0.1 -W 2 "$SRV_ADDR") || fail "ping through the tunnel failed: $out"
echo "  $(grep -E 'packets transmitted|rtt' <<<"$out" | tr '\n' ' ')"
# The server saw the virtual IP, not the NAT's address (tunnel mode).
srv_cap=$NATSEC_TMP/srv.pcapng
capture_start srv eth0 "$srv_cap" icmp
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "second ping failed"
capture_stop "$srv_cap"
srcs=$(tshark -n -r "$srv_cap" -Y 'icmp.type == 8' -T fields -e ip.src 2>/dev/null | sort -u)
[ "$srcs" = "$vip" ] || fail "the server saw echo requests from '$srcs', expected the virtual IP $vip"

step "R13: $SIZE_MB MB over TCP from the telecommuter to the server, SHA-256 checked"
data=$NATSEC_TMP/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$data"
want=$(sha256sum "$data" | cut -d' ' -f1)
recv_out=$NATSEC_TMP/recv.out
run_bg srv "$NSD_TOOLS/tcpxfer" -l 5001 -r -t 120 >"$recv_out" 2>/dev/null
recv_pid=$BG_PID
wait_for "nsx srv ss -ltn | quiet_grep ':5001 '" 5 || fail "receiver did not listen"
send_out=$(nsx c1 "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p 5001 -s "$data" -t 120) || fail "sending failed"
wait "$recv_pid" || fail "receiver failed: $(cat "$recv_out")"
got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$recv_out")
secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$send_out")
step "upload: $(cat "$recv_out"); sender $send_out"
[ "$got" = "$want" ] || fail "SHA-256 differs: sent $want, received $got"
step "upload of $SIZE_MB MB took $secs s ($(awk -v s="$secs" -v m=$SIZE_MB 'BEGIN { printf "%.0f", m * 8 / s }') Mbit/s)"

step "R13: $SIZE_MB MB over TCP from the server to the telecommuter's virtual IP, SHA-256 checked"
run_bg c1 "$NSD_TOOLS/tcpxfer" -l 5002 -r -t 120 >"$recv_out" 2>/dev/null
recv_pid=$BG_PID
wait_for "nsx c1 ss -ltn | quiet_grep ':5002 '" 5 || fail "receiver did not listen"
send_out=$(nsx srv "$NSD_TOOLS/tcpxfer" -c "$vip" -p 5002 -s "$data" -t 120) || fail "sending failed"
wait "$recv_pid" || fail "receiver failed: $(cat "$recv_out")"
got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$recv_out")
secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$send_out")
[ "$got" = "$want" ] || fail "SHA-256 differs: sent $want, received $got"
step "download of $SIZE_MB MB took $secs s ($(awk -v s="$secs" -v m=$SIZE_MB 'BEGIN { printf "%.0f", m * 8 / s }') Mbit/s)"
capture_stop "$cap"

step "R14: on the internet the telecommuter's traffic is only IKE and ESP in UDP 4500"
total=$(tshark -n -r "$cap" 2>/dev/null | wc -l)
other=$(tshark -n -r "$cap" -Y "!(udp.port == 4500 && (esp || isakmp)) && !(udp.port == 500 && isakmp)" 2>/dev/null | wc -l)
esp=$(tshark -n -r "$cap" -Y "udp.port == 4500 && esp" 2>/dev/null | wc -l)
step "$total packets captured, $esp ESP in UDP 4500, $other other"
[ "$other" -eq 0 ] || fail "$other packets of other kinds on the wire"
[ "$esp" -gt 1000 ] || fail "only $esp ESP-in-UDP packets for $((2 * SIZE_MB)) MB"

child=$(nsd_json alice | jq -c '.ike_sas[0].children[0] | {bytes_in, packets_in, bytes_out, packets_out}')
step "client CHILD_SA counters: $child"
[ "$(jq .bytes_out <<<"$child")" -gt $((SIZE_MB * 1024 * 1024)) ] || fail "bytes_out does not account for the upload"
[ "$(jq .bytes_in <<<"$child")" -gt $((SIZE_MB * 1024 * 1024)) ] || fail "bytes_in does not account for the download"
drops=$(nsd_json gw | jq -c '.counters.esp_drops')
step "gateway ESP drops: $drops"

nsd_alive gw
nsd_alive alice
step "PASS"
