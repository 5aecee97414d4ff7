#!/usr/bin/env bash
# ctest: serial
# A gateway with two data-plane workers (workers = 2) under
# ThreadSanitizer (R12: the clients' packets served by several cores at
# once, safely; R4, R7): the TSan build (make build-tsan, in
# build/clang-tsan) as the gateway, four telecommuters (alice and bob
# behind nat1, carol behind nat2, dave with no NAT: plain ESP, which the
# workers' raw sockets take by SPI) and 16 clients emulated by natsec-load
# behind nat2, with 10 s CHILD_SA lifetimes, while
#   - each of alice, bob, carol and dave sends 4 MB up and receives 4 MB
#     down at once, SHA-256 checked, in rounds until a CHILD_SA re-key
#     happened;
#   - after the first round nat1 moves alice and bob to other ports (their
#     ESP then hashes to any worker; the gateway moves the SAs from the
#     report a worker hands to the main thread, R4);
#   - each load client's ICMP echo comes back through its tunnel;
#   - natsecctl reads the gateway's status (every worker's counters) five
#     times a second;
#   - the gateway stops on SIGTERM (the workers stopped and joined).
# Then: each worker received ESP and read TUN (the kernel spread the
# clients' 4-tuples over the sockets and their flows over the TUN queues),
# the workers' counts add up to the gateway's, nothing was dropped as a
# replay or an ICV failure (no number was lost to a race between workers),
# the queue to the main thread dropped nothing, and TSan reported nothing.
# The TSan build comes from make build-tsan; NATSEC_TSAN_BUILD points
# elsewhere. Without it the test fails.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
NATSEC_BUILD=${NATSEC_TSAN_BUILD:-${NATSEC_SRC:-$here/../..}/build/clang-tsan}
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# The clients and natsec-load need no TSan: the gcc build's, beside it.
PLAIN_BUILD=${NATSEC_PLAIN_BUILD:-$(cd "$NATSEC_BUILD/.." && pwd)/gcc}
LOAD_BIN=$PLAIN_BUILD/src/load/natsec-load

MB=4
MAX_S=45
LOAD_N=16

[ -x "$NSD_BIN" ] || fail "no ThreadSanitizer build of natsecd in $NATSEC_BUILD (make build-tsan)"
grep -q __tsan_init "$NSD_BIN" || fail "$NSD_BIN is not built with ThreadSanitizer"
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built in $NATSEC_BUILD"
[ -x "$LOAD_BIN" ] || fail "natsec-load not built: $LOAD_BIN"
[ -x "$PLAIN_BUILD/src/daemon/natsecd" ] || fail "natsecd not built in $PLAIN_BUILD"
netns_init
nsd_check_build
topo_setup
nsd_tsan_init

# seccomp = no: ThreadSanitizer opens its report file only when it has one.
nsd_conf_gateway gw workers=2 child_lifetime=10 seccomp=no
nsd_corp_peers gw alice@corp.example bob@corp.example carol@corp.example dave@corp.example
nsd_peer gw %default "$NSD_PSK" "$CORP_NET"
nsd_start gw gw
workers=$(cat "/proc/${NSD_PID[gw]}"/task/*/comm | grep -c '^natsecd-w[0-9]' || true)
[ "$workers" -eq 2 ] || fail "the gateway runs $workers data-plane workers, not 2"

# The clients from the plain build: only the gateway is under test.
TSAN_BIN=$NSD_BIN
NSD_BIN=$PLAIN_BUILD/src/daemon/natsecd
declare -A NS_OF=([alice]=c1 [bob]=c1b [carol]=c2 [dave]=pub)
for n in alice bob carol dave; do
  nsd_conf_corp_client "$n" "$n@corp.example"
  nsd_start "$n" "${NS_OF[$n]}"
done
for n in alice bob carol dave; do
  nsd_wait_up "$n" 1 30
done
NSD_BIN=$TSAN_BIN
nsd_wait_up gw 4 30
declare -A VIP=()
for n in alice bob carol dave; do
  VIP[$n]=$(nsd_q "$n" .virtual_ip)
done
[ "$(nsd_q dave '.ike_sas[0].children[0].encapsulation')" = esp ] ||
  fail "dave (no NAT) does not use plain ESP"

data=$NATSEC_TMP/data.bin
head -c $((MB * 1024 * 1024)) /dev/urandom >"$data"
want=$(sha256sum "$data" | cut -d' ' -f1)

# One round: every client $MB MB up and $MB MB down at once, each SHA-256
# checked; runs ACTION... meanwhile: xfer_round N [ACTION...].
xfer_round() {
  local r=$1 pids=() p n port=5100 outs=()
  shift
  for n in alice bob carol dave; do
    port=$((port + 2))
    run_bg srv "$NSD_TOOLS/tcpxfer" -l "$port" -r -t 60 >"$NATSEC_TMP/up-$n.out" 2>&1
    pids+=("$BG_PID")
    run_bg "${NS_OF[$n]}" "$NSD_TOOLS/tcpxfer" -l $((port + 1)) -r -t 60 >"$NATSEC_TMP/down-$n.out" 2>&1
    pids+=("$BG_PID")
    outs+=("$NATSEC_TMP/up-$n.out" "$NATSEC_TMP/down-$n.out")
    wait_for "nsx srv ss -ltn | quiet_grep ':$port ' && nsx ${NS_OF[$n]} ss -ltn | quiet_grep ':$((port + 1)) '" 5 ||
      fail "round $r: $n's receivers did not listen"
    run_bg "${NS_OF[$n]}" "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p "$port" -s "$data" -t 60 >/dev/null 2>&1
    pids+=("$BG_PID")
    run_bg srv "$NSD_TOOLS/tcpxfer" -c "${VIP[$n]}" -p $((port + 1)) -s "$data" -t 60 >/dev/null 2>&1
    pids+=("$BG_PID")
  done
  if [ $# -gt 0 ]; then
    sleep 0.3
    "$@"
  fi
  for p in "${pids[@]}"; do
    wait "$p" || fail "round $r: a transfer failed: $(cat "${outs[@]}")"
  done
  for p in "${outs[@]}"; do
    [ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$p")" = "$want" ] ||
      fail "round $r: SHA-256 differs in $(basename "$p"): $(cat "$p")"
  done
}

# nat1 forgets its mappings and maps to other ports; alice and bob each
# send an echo through the tunnel from there, and the gateway follows both
# (R4) on the report of the worker that decrypted it.
move_nat() {
  (
    set +o pipefail
    nat_set_port_range nat1 20000 30000
  ) || fail "cannot move nat1's masquerade to 20000-30000"
  nat_flush_conntrack nat1
  nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice cannot ping after the rebinding"
  nsx c1b ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "bob cannot ping after the rebinding"
  nsd_wait gw "[.ike_sas[] | select(.remote | test(\":(2[0-9]{4}|30000)$\"))] | length >= 2" 10 ||
    fail "the gateway did not follow alice and bob to their new ports: $(nsd_q gw '[.ike_sas[].remote]')"
}

step "R12: $LOAD_N emulated clients behind nat2 connect; their echoes come back through the workers"
run_bg c2 timeout 40 "$LOAD_BIN" -g "$GW_PUB" -k "$NSD_PSK" -n "$LOAD_N" -w 16 \
  -i "load%u@corp.example" -s "$CORP_NET" -P "$SRV_ADDR" -t 30 -H 2 -l nat2 >"$NATSEC_TMP/load.log" 2>&1
load_pid=$BG_PID

step "R12, R4, R14: $MB MB each way for 4 clients at once per round, through re-keys, nat1 rebinding after round 1"
# The main thread reads every worker's counters (status) all along.
(while :; do nsd_json gw >/dev/null 2>&1 || true; sleep 0.2; done) &
poller=$!
start=$SECONDS
round=0
while :; do
  round=$((round + 1))
  xfer_round "$round"
  [ "$round" -eq 1 ] && move_nat
  cr=$(nsd_q gw .counters.ike.child_rekeys)
  [ "$round" -ge 2 ] && [ "$cr" -ge 1 ] && break
  [ $((SECONDS - start)) -lt "$MAX_S" ] || break
done
kill "$poller" 2>/dev/null || true
wait "$poller" 2>/dev/null || true
step "$round rounds in $((SECONDS - start)) s: $cr CHILD_SA re-keys, $(nsd_q gw .counters.ike.peer_moves) peer moves"
[ "$cr" -ge 1 ] || fail "no CHILD_SA re-key in $((SECONDS - start)) s"
[ "$(nsd_q gw .counters.ike.peer_moves)" -ge 2 ] || fail "the gateway did not move alice's and bob's SAs"

wait "$load_pid" || {
  cat "$NATSEC_TMP/load.log" >&2
  fail "natsec-load failed"
}
line=$(grep '^RESULT load' "$NATSEC_TMP/load.log") || fail "natsec-load printed no RESULT"
for w in "ok=$LOAD_N" "failed=0" "esp_replies=$LOAD_N" "esp_bad=0"; do
  [[ " $line " == *" $w "* ]] || fail "natsec-load: expected $w in: $line"
done

step "R12, R7: both workers carried ESP both ways; their counts add up; no replay or ICV drop"
js=$(nsd_json gw)
echo "$js" | jq -c '.workers' >&2
for i in 0 1; do
  for c in esp_rx tun_tx tun_rx esp_tx; do
    v=$(jq -r ".workers.threads[$i].$c" <<<"$js")
    [ "$v" -gt 0 ] || fail "worker $i: $c is $v"
  done
done
for c in esp_rx tun_tx tun_rx esp_tx; do
  sum=$(jq -r "[.workers.threads[].$c] | add" <<<"$js")
  all=$(jq -r ".counters.dataplane.$c" <<<"$js")
  [ "$sum" -eq "$all" ] || fail "$c: the workers count $sum, the gateway $all"
done
for c in replay auth; do
  v=$(jq -r ".counters.esp_drops.$c" <<<"$js")
  [ "$v" -eq 0 ] || fail "the gateway dropped $v ESP packets as $c"
done
[ "$(jq -r .workers.handoff_dropped <<<"$js")" -eq 0 ] || fail "the queue to the main thread dropped messages"

step "SIGTERM: the workers stop and are joined on the shutdown path"
for n in alice bob carol dave gw; do
  pid=${NSD_PID[$n]}
  nsd_stop "$n"
  ! kill -0 "$pid" 2>/dev/null || fail "$n did not exit"
done
grep -q 'natsecd: stopped' "$(nsd_log gw)" || fail "the gateway did not stop cleanly: $(tail -n 5 "$(nsd_log gw)")"
n=$(nsd_tsan_reports)
[ "$n" -eq 0 ] || fail "ThreadSanitizer reported races in $n process(es)"
step "PASS (no ThreadSanitizer report)"
