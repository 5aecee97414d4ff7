#!/usr/bin/env bash
# ctest: serial
# natsecd's outbound worker thread (workers = 1, tx_thread = yes) under
# ThreadSanitizer (R12: both directions of a tunnel on two cores, safely;
# X3, R4): the TSan build (make build-tsan, in build/clang-tsan) at both
# ends, a telecommuter behind nat1 and the gateway, with 10 s CHILD_SA and
# 20 s IKE SA lifetimes, while
#   - TCP runs both ways at once, rounds of 8 MB each way, SHA-256 checked,
#     until both re-key kinds happened (the SAD's changes meet the worker);
#   - in one round the NAT moves the client to another port (the gateway
#     moves the SAs, exclusive, while its worker encrypts towards them);
#   - runs of UDP datagrams go both ways (udpburst), every one intact;
#   - both daemons stop on SIGTERM (the worker stopped and joined on the
#     shutdown path).
# Each natsecd runs its outbound worker, and neither reports anything to
# TSan. The TSan build comes from make build-tsan (make test and make
# test-net make it first); NATSEC_TSAN_BUILD points elsewhere. Without it
# the test fails: it never passes on a build it did not check.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
NATSEC_BUILD=${NATSEC_TSAN_BUILD:-${NATSEC_SRC:-$here/../..}/build/clang-tsan}
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

MB=8
MAX_S=60

[ -x "$NSD_BIN" ] || fail "no ThreadSanitizer build of natsecd in $NATSEC_BUILD (make build-tsan)"
grep -q __tsan_init "$NSD_BIN" || fail "$NSD_BIN is not built with ThreadSanitizer"
for t in tcpxfer udpburst; do
  [ -x "$NSD_TOOLS/$t" ] || fail "$t not built in $NATSEC_BUILD"
done
netns_init
nsd_check_build
topo_setup
# Every report of either daemon goes to a file of its own: there must be none.
nsd_tsan_init

# workers = 1: the outbound thread beside the main one is what is under
# test; more workers (the default on several CPUs) replace it with
# threads of their own (test_workers_tsan).
nsd_conf_gateway gw workers=1 tx_thread=yes child_lifetime=10 ike_lifetime=20
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example workers=1 tx_thread=yes child_lifetime=10 ike_lifetime=20
nsd_start alice c1
nsd_wait_up alice 1 30
nsd_wait_up gw 1 30
vip=$(nsd_q alice .virtual_ip)
for n in gw alice; do
  # (TSan adds a thread of its own, so count the worker by its name.)
  workers=$(cat "/proc/${NSD_PID[$n]}"/task/*/comm | grep -cx natsecd-tx || true)
  [ "$workers" -eq 1 ] || fail "$n runs $workers outbound worker threads, not 1"
done

data=$NATSEC_TMP/data.bin
head -c $((MB * 1024 * 1024)) /dev/urandom >"$data"
want=$(sha256sum "$data" | cut -d' ' -f1)

# One round: $MB MB up and $MB MB down at once, each SHA-256 checked; runs
# ACTION... meanwhile: xfer_round N [ACTION...].
xfer_round() {
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
    sleep 0.3
    "$@"
  fi
  for p in "${pids[@]}"; do
    wait "$p" || fail "round $r: a transfer failed (up: $(cat "$up"); down: $(cat "$down"))"
  done
  [ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$up")" = "$want" ] || fail "round $r: upload SHA-256 differs"
  [ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$down")" = "$want" ] || fail "round $r: download SHA-256 differs"
}

move_nat() {
  # Checked without pipefail, as test_esp_rebind does (nft | quiet_grep).
  (
    set +o pipefail
    nat_set_port_range nat1 20000 30000
  ) || fail "cannot move nat1's masquerade to 20000-30000"
  nat_flush_conntrack nat1
}

step "X3, R4: $MB MB each way per round, through re-keys, a NAT rebinding in round 2"
start=$SECONDS
round=0
while :; do
  round=$((round + 1))
  if [ "$round" -eq 2 ]; then
    xfer_round "$round" move_nat
  else
    xfer_round "$round"
  fi
  cr=$(nsd_q gw .counters.ike.child_rekeys)
  ir=$(nsd_q gw .counters.ike.ike_rekeys)
  [ "$round" -ge 2 ] && [ "$cr" -ge 2 ] && [ "$ir" -ge 1 ] && break
  [ $((SECONDS - start)) -lt "$MAX_S" ] || break
done
moves=$(nsd_q gw .counters.ike.peer_moves)
remote=$(nsd_q gw '.ike_sas[0].remote')
step "$round rounds in $((SECONDS - start)) s: $cr CHILD_SA and $ir IKE SA re-keys, $moves peer moves (alice now at $remote)"
[ "$cr" -ge 2 ] || fail "only $cr CHILD_SA re-keys in $((SECONDS - start)) s"
[ "$ir" -ge 1 ] || fail "no IKE SA re-key in $((SECONDS - start)) s"
[ "$moves" -ge 1 ] || fail "the gateway did not move alice's SAs"
port=${remote##*:}
[ "$port" -ge 20000 ] && [ "$port" -le 30000 ] || fail "the gateway did not follow alice to her new port: $remote"

n=$(nsd_tsan_reports)
[ "$n" -eq 0 ] || fail "ThreadSanitizer reported races in $n process(es) during the transfers"

step "R12: runs of UDP datagrams both ways"
burst() { # burst SENDER_NS RECEIVER_NS DEST PORT
  local out=$NATSEC_TMP/burst.out
  run_bg "$2" "$NSD_TOOLS/udpburst" -l "$4" -r 100 -t 30 >"$out" 2>&1
  local pid=$BG_PID
  sleep 0.5
  nsx "$1" "$NSD_TOOLS/udpburst" -c "$3" -p "$4" -r 100 >/dev/null || fail "udpburst to $3 failed"
  wait "$pid" || fail "UDP runs to $3: $(cat "$out")"
  echo "  to $3: $(cat "$out")"
}
burst c1 srv "$SRV_ADDR" 5003
burst srv c1 "$vip" 5004

step "SIGTERM both: the worker stops and is joined on the shutdown path"
for n in alice gw; do
  pid=${NSD_PID[$n]}
  nsd_stop "$n"
  ! kill -0 "$pid" 2>/dev/null || fail "$n did not exit"
  grep -q 'natsecd: stopped' "$(nsd_log "$n")" || fail "$n did not stop cleanly: $(tail -n 5 "$(nsd_log "$n")")"
done
n=$(nsd_tsan_reports)
[ "$n" -eq 0 ] || fail "ThreadSanitizer reported races in $n process(es)"
step "PASS (no ThreadSanitizer report)"
