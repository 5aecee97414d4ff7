# shellcheck shell=bash
# tests/net/tools/transport.sh - helpers of the transport-mode tests
# (tests/net/test_transport_*.sh; R2, R13). Source netns.sh and nsd.sh first.
#
#   tp_peer NAME IDENTITY                   append a transport-mode [peer] section
#   tp_csum_errors NS                       print "UDP TCP": InCsumErrors in NS's /proc/net/snmp
#   tp_udp_exchange FROM_NS TO_NS TO_ADDR PORT COUNT [-z]   echo COUNT datagrams, all must match
#   tp_tcp_transfer FROM_NS TO_NS TO_ADDR PORT FILE          one TCP transfer, SHA-256 checked
#   tp_child NAME                           the first CHILD_SA of NAME's first IKE SA (JSON)

# Append a [peer] section in transport mode (no subnets: the selectors are the hosts' addresses).
tp_peer() {
  local name=$1 id=$2
  {
    echo "[peer $id]"
    echo "psk = $NSD_PSK"
    echo "mode = transport"
    echo
  } >>"$(nsd_conf "$name")"
}

# InCsumErrors of Udp and Tcp, read inside namespace NS (the counters are per namespace).
tp_csum_errors() {
  nsx "$1" cat /proc/net/snmp | awk '
    $1 == "Udp:" || $1 == "Tcp:" {
      if (!($1 in hdr)) { for (i = 2; i <= NF; i++) if ($i == "InCsumErrors") col[$1] = i; hdr[$1] = 1; next }
      val[$1] = $(col[$1])
    }
    END { if (!("Udp:" in val) || !("Tcp:" in val)) exit 1; print val["Udp:"], val["Tcp:"] }'
}

# An echo server in TO_NS and COUNT datagrams from FROM_NS, each checked: tp_udp_exchange FROM TO ADDR PORT COUNT [-z].
tp_udp_exchange() {
  local from=$1 to=$2 addr=$3 port=$4 count=$5 z=${6:-} out srv_out pid
  srv_out=$NATSEC_TMP/udpx-srv-$port.out
  # shellcheck disable=SC2086 # $z is empty or -z
  run_bg "$to" "$NSD_TOOLS/udpx" -l "$port" -n "$count" -t 60 $z >"$srv_out" 2>&1
  pid=$BG_PID
  wait_for "nsx '$to' ss -lun | quiet_grep ':$port '" 5 || fail "udpx did not listen on $port in $to"
  # shellcheck disable=SC2086
  out=$(nsx "$from" "$NSD_TOOLS/udpx" -c "$addr" -p "$port" -n "$count" -s 1200 -t 60 $z) ||
    fail "UDP exchange $from -> $addr:$port failed: $out"
  wait "$pid" || fail "udpx server in $to: $(cat "$srv_out")"
  step "UDP $from -> $addr:$port ${z:+(no checksum) }: $out"
}

# tcpxfer receiver in TO_NS, sender in FROM_NS; fails unless the SHA-256 matches: tp_tcp_transfer FROM TO ADDR PORT FILE.
tp_tcp_transfer() {
  local from=$1 to=$2 addr=$3 port=$4 file=$5 want got out recv_out pid
  want=$(sha256sum "$file" | cut -d' ' -f1)
  recv_out=$NATSEC_TMP/tcpxfer-$port.out
  run_bg "$to" "$NSD_TOOLS/tcpxfer" -l "$port" -r -t 120 >"$recv_out" 2>"$recv_out.err"
  pid=$BG_PID
  wait_for "nsx '$to' ss -ltn | quiet_grep ':$port '" 5 || fail "tcpxfer did not listen on $port in $to"
  out=$(nsx "$from" "$NSD_TOOLS/tcpxfer" -c "$addr" -p "$port" -s "$file" -t 120) ||
    fail "TCP transfer $from -> $addr:$port failed: $out"
  wait "$pid" || fail "tcpxfer receiver in $to: $(cat "$recv_out" "$recv_out.err")"
  got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$recv_out")
  [ "$got" = "$want" ] || fail "TCP $from -> $addr:$port: SHA-256 differs: sent $want, received '$got'"
  step "TCP $from -> $addr:$port: $(cat "$recv_out") (SHA-256 matches)"
}

tp_child() {
  nsd_json "$1" | jq -c '.ike_sas[0].children[0]'
}
