#!/usr/bin/env bash
# IKE and ESP over TCP (RFC 8229, X6) with natsecd's outbound worker under
# ThreadSanitizer (R12): the TSan build (make build-tsan) at both ends, the
# client with transport = tcp. The worker writes ESP frames on the
# connections' send queues while the main thread writes IKE on them,
# flushes them on EPOLLOUT, reads frames and, when the NAT resets the
# connection in the middle of a transfer, closes it and dials again.
# 8 MB go each way at once twice, SHA-256 checked: at full speed, then
# through 40 Mbit/s each way (so that a fast machine is still in the
# middle of it) across the reset, which starts once data flows both ways
# and lasts until alice closed the connection. Both daemons stop on
# SIGTERM; neither reports anything to TSan. Without the TSan build the
# test fails (it never passes on a build it did not check).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
NATSEC_BUILD=${NATSEC_TSAN_BUILD:-${NATSEC_SRC:-$here/../..}/build/clang-tsan}
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

MB=8

[ -x "$NSD_BIN" ] || fail "no ThreadSanitizer build of natsecd in $NATSEC_BUILD (make build-tsan)"
grep -q __tsan_init "$NSD_BIN" || fail "$NSD_BIN is not built with ThreadSanitizer"
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built in $NATSEC_BUILD"
netns_init
nsd_check_build
topo_setup
nsd_tsan_init

# workers = 1: the outbound thread beside the main one is what is under
# test, which more workers (the default on several CPUs) replace.
nsd_conf_gateway gw workers=1 tx_thread=yes
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example workers=1 tx_thread=yes transport=tcp
nsd_start alice c1
nsd_wait_up alice 1 30
[ "$(nsd_q alice '.ike_sas[0].transport')" = tcp ] || fail "alice is not over TCP"
vip=$(nsd_q alice .virtual_ip)

data=$NATSEC_TMP/data.bin
head -c $((MB * 1024 * 1024)) /dev/urandom >"$data"
want=$(sha256sum "$data" | cut -d' ' -f1)

# alice's connections closed by the peer or by an error so far.
alice_broken() { nsd_q alice '.tcp.closed.peer + .tcp.closed.error'; }

# nat1 answers alice's packets to the gateway's TCP port with resets and
# forgets its mappings, until alice closed the connection.
reset_tcp() {
  local before
  before=$(alice_broken)
  nsx nat1 nft -f - <<EOF || fail "reset rule rejected"
table inet rst {
  chain forward {
    type filter hook forward priority -20; policy accept;
    tcp dport 4500 reject with tcp reset
  }
}
EOF
  nat_flush_conntrack nat1
  wait_for "[ \"\$(alice_broken)\" -gt $before ]" 30 || fail "nat1's resets did not break alice's connection"
  nsx nat1 nft delete table inet rst
  nat_flush_conntrack nat1
}

# Wait until data flows both ways over alice's connection (ESP frames
# beyond those counted now), then check that neither transfer is over yet.
mid_transfer() {
  local esp_in esp_out
  esp_in=$(nsd_q alice .tcp.esp_in)
  esp_out=$(nsd_q alice .tcp.esp_out)
  wait_for "[ \"\$(nsd_q alice '.tcp.esp_in > $esp_in + 300 and .tcp.esp_out > $esp_out + 300')\" = true ]" 30 ||
    fail "no data flowed both ways over alice's connection"
  ! grep -q sha256= "$NATSEC_TMP/up.out" "$NATSEC_TMP/down.out" ||
    fail "a transfer ended before the reset: the reset would not be mid-transfer"
}

# 40 Mbit/s each way between nat1 and its LAN: 8 MB take about 2 s.
shape() {
  nsx c1 tc qdisc add dev eth0 root tbf rate 40mbit burst 32kb latency 50ms
  nsx nat1 tc qdisc add dev c1 root tbf rate 40mbit burst 32kb latency 50ms
}

# MB up and MB down at once, SHA-256 checked, ACTION... meanwhile: round N [ACTION...].
round() {
  local r=$1 up=$NATSEC_TMP/up.out down=$NATSEC_TMP/down.out pids=() p
  shift
  run_bg srv "$NSD_TOOLS/tcpxfer" -l 5001 -r -t 60 >"$up" 2>&1
  pids+=("$BG_PID")
  run_bg c1 "$NSD_TOOLS/tcpxfer" -l 5002 -r -t 60 >"$down" 2>&1
  pids+=("$BG_PID")
  wait_for "nsx srv ss -ltn | quiet_grep ':5001 ' && nsx c1 ss -ltn | quiet_grep ':5002 '" 5 ||
    fail "round $r: the receivers did not listen"
  run_bg c1 "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p 5001 -s "$data" -t 60 >/dev/null 2>&1
  pids+=("$BG_PID")
  run_bg srv "$NSD_TOOLS/tcpxfer" -c "$vip" -p 5002 -s "$data" -t 60 >/dev/null 2>&1
  pids+=("$BG_PID")
  if [ $# -gt 0 ]; then
    mid_transfer
    "$@"
  fi
  for p in "${pids[@]}"; do
    wait "$p" || fail "round $r: a transfer failed (up: $(cat "$up"); down: $(cat "$down"))"
  done
  [ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$up")" = "$want" ] || fail "round $r: upload SHA-256 differs"
  [ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$down")" = "$want" ] || fail "round $r: download SHA-256 differs"
}

step "X6, R12: $MB MB each way at once over TCP, then again across a TCP reset"
round 1
shape
round 2 reset_tcp
step "  alice: $(nsd_q alice '.tcp | del(.connections) | tostring')"
nsd_wait alice '.tcp.connects >= 2' 30 || fail "alice did not dial again after the reset"

step "R12: both daemons stop on SIGTERM"
nsd_stop alice
nsd_stop gw
n=$(nsd_tsan_reports)
[ "$n" -eq 0 ] || fail "ThreadSanitizer reported races in $n process(es)"
step "PASS"
