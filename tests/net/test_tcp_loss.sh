#!/usr/bin/env bash
# X6: 10 % loss each way on the client's internet link (nat1's wan0; by
# nftables, as tests/lib/netns.sh link_loss does: this kernel has no
# netem), with segmentation offloads off at both ends of the outer TCP so
# that each packet lost is one segment on the wire, while
# its tunnel runs over TCP (RFC 8229): the outer TCP repairs the losses, the
# IKE SA stays up (DPD every 5 s is answered), and a 20 MB transfer each way
# through the tunnel completes, SHA-256 checked. The inner connections'
# MSS is clamped (X11) to leave room for the TCP framing: MTU 1400 - 40 -
# 26 (outer TCP header with timestamps and the length field, less the UDP
# header they replace) = 1334, both ways.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/tcp.sh
. "$here/tools/tcp.sh"

SIZE_MB=20

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
topo_setup

nsd_conf_gateway gw dpd=5
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example transport=tcp dpd=5
nsd_start alice c1
nsd_wait_up alice 1 10
ike_id=$(nsd_q alice '.ike_sas[0].id')

step "X6: 10 % loss each way on nat1's internet link; $SIZE_MB MB each way over TCP"
for end in "c1 eth0" "gw wan0"; do
  read -r ns ifc <<<"$end"
  must nsx "$ns" ethtool -K "$ifc" tso off gso off gro off
done
link_loss nat1 10 wan0
syn_cap=$NATSEC_TMP/syn.pcapng
synack_cap=$NATSEC_TMP/synack.pcapng
capture_start srv eth0 "$syn_cap" "tcp portrange 5003-5004 and tcp[tcpflags] & tcp-syn != 0"
capture_start c1 nsec0 "$synack_cap" "tcp portrange 5003-5004 and tcp[tcpflags] & tcp-syn != 0"
data=$NATSEC_TMP/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$data"
t0=$(date +%s)
xfer_both c1 "$data" 5003 90 | sed 's/^/  /'
dropped=$(nsx nat1 nft list table inet loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' |
  awk '{ n += $1 } END { print n + 0 }')
step "  done in $(($(date +%s) - t0)) s; nat1 dropped $dropped packets"
[ "$dropped" -ge 1000 ] || fail "the loss rule dropped only $dropped packets"
link_loss nat1 0 wan0
capture_stop "$syn_cap" "$synack_cap"
mss_syn=$(tshark -n -r "$syn_cap" -Y "ip.dst == $SRV_ADDR" -T fields -e tcp.options.mss_val 2>/dev/null | sort -u | tr '\n' ' ')
mss_ack=$(tshark -n -r "$synack_cap" -Y "ip.src == $SRV_ADDR" -T fields -e tcp.options.mss_val 2>/dev/null | sort -u | tr '\n' ' ')
step "  inner MSS: SYNs reaching the server $mss_syn, SYN-ACKs reaching alice $mss_ack"
[ "$mss_syn" = "1334 " ] && [ "$mss_ack" = "1334 " ] || fail "inner MSS not clamped for the TCP framing"

status=$(nsd_json alice)
step "  alice tcp counters: $(jq -c '.tcp | del(.connections)' <<<"$status")"
[ "$(jq -r '.ike_sas[0].id' <<<"$status")" = "$ike_id" ] || fail "the IKE SA did not stay up"
[ "$(jq -r '.ike_sas[0].state' <<<"$status")" = ESTABLISHED ] || fail "the IKE SA is not established"
[ "$(jq -r .tcp.connects <<<"$status")" -eq 1 ] || fail "the TCP connection broke under loss"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping after the lossy transfer"
nsd_alive gw
nsd_alive alice
step "PASS"
