#!/usr/bin/env bash
# bench/scale.sh - many telecommuters behind many home NATs against one
# natsecd gateway (R12): the gateway's memory per client.
#
# SCALE_NATS namespaces, each a home NAT with its own public address and the
# same LAN behind it, hold one natsec-load process each; together they
# connect SCALE_CLIENTS clients (each its own identity, UDP port, virtual IP
# from a /15 pool, IKE SA and CHILD_SA) and send an ICMP echo through every
# tunnel. The gateway's VmRSS is read before the first client and once every
# load process has finished (the gateway runs with dpd = 0, so the SAs of
# clients that went quiet stay up while it is read); RSS per client is the
# growth over the clients the gateway holds then.
#
# Prints one RESULT line:
#   RESULT scale clients=... nats=... connected=... echoed=... setup_s=...
#   rss_before_kib=... rss_after_kib=... rss_per_client_kib=...
#   status_listed=... status_s=... summary_ms=...
# (the gateway's whole status, every SA listed, and its summary, each
# asked once all clients are in: how many SAs the list held, and how long
# each answer took).
#
# With SCALE_STORM=1, a restart storm instead: once every client is
# connected the gateway is killed (SIGKILL) and started again; the clients
# (natsec-load --reconnect: natsecd's client's back-off with jitter) notice
# by their liveness check (dpd SCALE_STORM_DPD s) and connect again. Prints
# a table of the clients connected every SCALE_STORM_STEP s from 2 s before
# the kill, and
#   RESULT storm clients=... before=... after=... recovered_s=... (from
#   the restart until every client is connected again) ...
#
# Knobs (environment): SCALE_CLIENTS (100000), SCALE_NATS (16), SCALE_WINDOW
# (16 setups in flight per NAT), SCALE_TIMEOUT (300 s of setup at most),
# SCALE_STORM (0), SCALE_STORM_DPD (10), SCALE_STORM_MAX (180 s to wait for
# the recovery), SCALE_STORM_STEP (5), SCALE_STORM_SIGNAL (KILL; TERM: a
# routine restart, the gateway sends every client a DELETE first),
# SCALE_GW_CONF (key=value words for the gateway's [natsecd] section, e.g.
# "half_open_max=60 cookie_threshold=10" for a small storm that fills the
# half-open table), SCALE_LOAD_NICE (10: the load processes' nice value; the
# clients emulated here would each have their own CPU, so they must not
# take the gateway's share of this machine's), SCALE_GW_LOG (the gateway's
# log level, warn; debug to
# follow a storm), NATSEC_BUILD (a build directory; default build/release,
# built in Release).
# Everything runs in namespaces named ns<PID>-* that this script creates and
# deletes; nothing is sent outside them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

CLIENTS=${SCALE_CLIENTS:-100000}
NATS=${SCALE_NATS:-16}
WINDOW=${SCALE_WINDOW:-16}
TIMEOUT=${SCALE_TIMEOUT:-300}
STORM=${SCALE_STORM:-0}
STORM_DPD=${SCALE_STORM_DPD:-10}
STORM_MAX=${SCALE_STORM_MAX:-180}
STORM_STEP=${SCALE_STORM_STEP:-5}
STORM_SIGNAL=${SCALE_STORM_SIGNAL:-KILL}
GW_CONF=${SCALE_GW_CONF:-}
LOAD_NICE=${SCALE_LOAD_NICE:-10}
if [ "$NATS" -lt 1 ] || [ "$NATS" -gt 200 ]; then
  echo "scale.sh: SCALE_NATS must be 1..200" >&2
  exit 2
fi
if [ "$STORM" = 1 ] && [ $((TIMEOUT + STORM_MAX + 60)) -gt 600 ]; then
  # natsec-load holds its clients at most 600 s.
  echo "scale.sh: SCALE_TIMEOUT + SCALE_STORM_MAX must be at most 540 s" >&2
  exit 2
fi
if [ "$CLIENTS" -lt "$NATS" ] || [ "$CLIENTS" -gt 1000000 ]; then
  echo "scale.sh: SCALE_CLIENTS must be SCALE_NATS..1000000" >&2
  exit 2
fi

if [ -z "${NATSEC_BUILD:-}" ]; then
  NATSEC_BUILD=$root/build/release
  cmake -S "$root" -B "$NATSEC_BUILD" -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$NATSEC_BUILD" --target natsecd natsecctl natsec-load >/dev/null
fi
LOAD_BIN=$NATSEC_BUILD/src/load/natsec-load

# shellcheck source=SCRIPTDIR/../tests/lib/netns.sh
. "$root/tests/lib/netns.sh"
# shellcheck source=SCRIPTDIR/../tests/net/tools/nsd.sh
. "$root/tests/net/tools/nsd.sh"
netns_init
nsd_check_build
say() { echo "[scale $(($(date +%s) - T0))s] $*" >&2; }
T0=$(date +%s)

say "$NATS home NATs with $CLIENTS clients in all behind them, one natsecd gateway"
inet_create
gw_create
# Each home holds thousands of client sockets on one address. Namespaces
# share the host's UDP hash table (16,384 slots here) unless
# udp_child_hash_entries gives each new one its own: with 200,000 client
# sockets every datagram delivered walked a chain of some twelve, a tenth
# of the gateway's CPU (its sends are delivered in its context), which a
# gateway's real clients would not cost it. The setting applies to
# namespaces created while it is set, and is put back at once.
udp_child_old=$(cat /proc/sys/net/ipv4/udp_child_hash_entries 2>/dev/null || true)
udp_child_restore() {
  [ -z "$udp_child_old" ] || sysctl -qw net.ipv4.udp_child_hash_entries="$udp_child_old"
  udp_child_old=
}
# Put back also when a step below fails (then netns_cleanup, with the status).
scale_exit() {
  local rc=$?
  udp_child_restore
  (exit "$rc")
  netns_cleanup
}
trap scale_exit EXIT
[ -z "$udp_child_old" ] || sysctl -qw net.ipv4.udp_child_hash_entries=16384
nat_homes_create "$NATS"
udp_child_restore

# shellcheck disable=SC2086 # GW_CONF: key=value words
VIP_POOL=10.98.0.0/15 NSD_LOG_LEVEL=${SCALE_GW_LOG:-warn} nsd_conf_gateway gw dpd=0 seccomp=no $GW_CONF
nsd_peer gw %default "$NSD_PSK" "$CORP_NET"
nsd_start gw gw
gw_pid=${NSD_PID[gw]}
sleep 1
rss0=$(nsd_rss_kib gw)

# The clients NAT k holds: an equal share.
share() { echo $((CLIENTS / NATS + ($1 <= CLIENTS % NATS ? 1 : 0))); }

if [ "$STORM" != 1 ]; then
  pids=()
  t_start=$(date +%s.%N)
  for ((k = 1; k <= NATS; k++)); do
    run_bg "h$k" nice -n "$LOAD_NICE" timeout $((TIMEOUT + 120)) "$LOAD_BIN" -g "$GW_PUB" -k "$NSD_PSK" -n "$(share "$k")" \
      -w "$WINDOW" -i "home$k-user%u@corp.example" -s "$CORP_NET" -P "$SRV_ADDR" \
      -t "$TIMEOUT" -H 8 --dpd 0 -l "nat$k" >"$NATSEC_TMP/load-$k.log" 2>&1
    pids+=("$BG_PID")
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  t_end=$(date +%s.%N)
  rss1=$(nsd_rss_kib gw)
  say "gateway VmRSS $rss0 -> $rss1 KiB"
  t0=$(date +%s%N)
  held=$(nsd_summary gw | jq -r '.counters.ike.ike_sas' || true)
  summary_ms=$((($(date +%s%N) - t0) / 1000000))
  # The whole status, streamed: every SA in it, and natsecd serving
  # meanwhile (its RSS is read before, so the stream's buffers are not
  # counted per client).
  t0=$(date +%s%N)
  listed=$(nsd_json gw | jq '.ike_sas | length' || echo 0)
  status_s=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  say "status: the summary in $summary_ms ms (it counts $held IKE SAs); the whole list ($listed SAs) in $status_s s"

  ok=0 echoed=0
  for ((k = 1; k <= NATS; k++)); do
    line=$(grep '^RESULT load' "$NATSEC_TMP/load-$k.log" || true)
    [ -n "$line" ] || {
      say "nat$k: no RESULT: $(tail -n 3 "$NATSEC_TMP/load-$k.log" | tr '\n' ' ')"
      continue
    }
    [[ $line =~ \ ok=([0-9]+) ]] && ok=$((ok + BASH_REMATCH[1]))
    [[ $line =~ \ esp_replies=([0-9]+) ]] && echoed=$((echoed + BASH_REMATCH[1]))
    grep -m1 'setups ok' "$NATSEC_TMP/load-$k.log" >&2 || true
  done
  [[ $held =~ ^[0-9]+$ ]] || held=$ok
  per=$(awk -v a="$rss0" -v b="$rss1" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / n; else print "-" }')
  wall=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }')
  say "connected $ok of $CLIENTS (gateway holds $held), echoes answered $echoed; gateway VmRSS $rss0 -> $rss1 KiB: $per KiB per client; load processes ran ${wall}s"
  echo "RESULT scale clients=$CLIENTS nats=$NATS connected=$ok held=$held echoed=$echoed load_s=$wall rss_before_kib=$rss0 rss_after_kib=$rss1 rss_per_client_kib=$per status_listed=$listed status_s=$status_s summary_ms=$summary_ms gw_pid=$gw_pid"
  exit 0
fi

# ---- restart storm: every client connected, the gateway killed (SIGKILL:
# it tells nobody) and started again at once; the clients notice by their
# liveness check (dpd STORM_DPD s, then natsecd's default retransmissions:
# 1 s doubling, 5 of them, 31 s) and connect again with natsecd's client's
# back-off and jitter (natsec-load --reconnect). Shorter retransmission
# timers would make a client abandon a setup the busy gateway is still
# working on and start another, each abandoned half-open SA holding a slot
# of half_open_max for 30 s: that collapses the storm (seen with 0.5 s x 3
# at 20,000 clients: a full half-open table, 1,346 of 20,000 back after
# two minutes, the gateway 98 % idle). Each load process prints a TIMELINE line every second.
# The number connected is summed over the processes by wall clock.
latest() { # the sum over the load processes of FIELD in their last TIMELINE line: latest FIELD
  local k sum=0 line
  for ((k = 1; k <= NATS; k++)); do
    line=$(grep '^TIMELINE' "$NATSEC_TMP/load-$k.log" | tail -n 1 || true)
    [[ $line =~ \ $1=([0-9]+) ]] && sum=$((sum + BASH_REMATCH[1]))
  done
  echo "$sum"
}
holding() { # whether every load process is in its hold phase (prints TIMELINE)
  local k
  for ((k = 1; k <= NATS; k++)); do
    grep -q '^TIMELINE' "$NATSEC_TMP/load-$k.log" || return 1
  done
}
pids=()
for ((k = 1; k <= NATS; k++)); do
  run_bg "h$k" nice -n "$LOAD_NICE" "$LOAD_BIN" -g "$GW_PUB" -k "$NSD_PSK" -n "$(share "$k")" -w "$WINDOW" \
    -i "home$k-user%u@corp.example" -s "$CORP_NET" -t "$TIMEOUT" -H $((TIMEOUT + STORM_MAX + 60)) \
    -l "nat$k" --reconnect --timeline --dpd "$STORM_DPD" \
    >"$NATSEC_TMP/load-$k.log" 2>&1
  pids+=("$BG_PID")
done
wait_for holding "$TIMEOUT" || say "not every load process finished its setup in ${TIMEOUT}s"
before=$(latest up)
say "connected before the kill: $before of $CLIENTS"
sleep 3
t_kill=$(($(date +%s%N) / 1000000))
kill -"$STORM_SIGNAL" "$gw_pid"
wait "$gw_pid" 2>/dev/null || true
unset "NSD_PID[gw]"
mv "$(nsd_log gw)" "$(nsd_log gw).killed"
nsd_start gw gw
t_restart=$(($(date +%s%N) / 1000000))
say "gateway stopped (SIG$STORM_SIGNAL), started again after $((t_restart - t_kill)) ms"
t_all=
deadline=$((t_restart + STORM_MAX * 1000))
while [ "$(($(date +%s%N) / 1000000))" -lt "$deadline" ]; do
  sleep 1
  # Done when every client has lost its connection and has it back.
  if [ "$(latest downs)" -ge "$CLIENTS" ] && [ "$(latest up)" -ge "$CLIENTS" ]; then
    t_all=$(($(date +%s%N) / 1000000))
    break
  fi
done
sleep 2
held=$(nsd_summary gw | jq -r '.counters.ike.ike_sas' 2>/dev/null || echo '?')
after=$(latest up)
for p in "${pids[@]}"; do stop_pid "$p"; done
gw_counters=$(nsd_summary gw | jq -r '.counters.ike | "half-open refused \(.half_open_refused), evicted \(.half_open_evicted), COOKIEs sent \(.cookies_sent), IKE_AUTHs for lost half-open SAs answered \(.lost_sa_answers), AUTH failures \(.auth_failures), unexpected dropped \(.dropped_unexpected)"' 2>/dev/null || echo 'no status')

# Connected clients every STORM_STEP s from 2 s before the kill: for each
# load process its last TIMELINE line at or before that moment.
echo "| seconds after the kill | clients connected | of $CLIENTS |"
echo "|---:|---:|---:|"
for ((k = 1; k <= NATS; k++)); do
  grep '^TIMELINE' "$NATSEC_TMP/load-$k.log" | sed "s/^/$k /"
done | awk -v t0="$t_kill" -v step="$STORM_STEP" -v n="$CLIENTS" -v end="$(($(date +%s%N) / 1000000))" '
  { split($3, w, "="); split($4, u, "="); t[NR] = w[2]; p[NR] = $1; v[NR] = u[2] }
  END {
    for (s = -2; t0 + s * 1000 <= end; s += step) {
      delete last; delete lt
      for (i = 1; i <= NR; i++)
        if (t[i] <= t0 + s * 1000 && t[i] >= lt[p[i]]) { lt[p[i]] = t[i]; last[p[i]] = v[i] }
      sum = 0
      for (q in last) sum += last[q]
      printf "| %d | %d | %.1f %% |\n", s, sum, 100 * sum / n
    }
  }'
downs=$(latest downs)
qcd_downs=$(latest qcd)
attempts=$(latest attempts)
recover=-
[ -n "$t_all" ] && recover=$(awk -v a="$t_restart" -v b="$t_all" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
say "all $CLIENTS connected again ${recover} s after the restart (gateway holds $held; $gw_counters); connections lost $downs ($qcd_downs on the gateway's QCD crash answer, RFC 6290), attempts $attempts"
echo "RESULT storm signal=$STORM_SIGNAL clients=$CLIENTS nats=$NATS before=$before after=$after held=$held recovered_s=$recover dpd_s=$STORM_DPD downs=$downs qcd_downs=$qcd_downs attempts=$attempts"
