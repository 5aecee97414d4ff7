# shellcheck shell=bash
# bench/many.sh - sourced by bench/run.sh (part "many"): a gateway for a
# whole company (R12, X15). bench/scale.sh twice, with the Release build:
#   1. $MANY_N telecommuters behind $MANY_NATS home NATs (own identity, UDP
#      port, virtual IP and SPIs each) connect to one natsec gateway and
#      echo through their tunnels: the gateway's VmRSS growth per client;
#   2. the same clients, then the gateway is killed (SIGKILL) and started
#      again: how long until every one is connected again (they notice by
#      their liveness check every $MANY_DPD s and connect again with
#      natsecd's client's back-off), and the clients connected every 5 s.
# Results go to R[many.*]; the storm's table to MANY_STORM_TABLE.
#
# Knobs: BENCH_MANY_CLIENTS (100000), BENCH_MANY_NATS (16), BENCH_MANY_DPD
# (30).

MANY_N=${BENCH_MANY_CLIENTS:-100000}
MANY_NATS=${BENCH_MANY_NATS:-16}
MANY_DPD=${BENCH_MANY_DPD:-30}
MANY_STORM_TABLE=""
MANY_LINE=""

# One scale.sh run into LOG, its RESULT line (prefix WHAT) into MANY_LINE:
# many_run WHAT LOG [VAR=VALUE...].
many_run() {
  local what=$1 log=$2
  shift 2
  env NATSEC_BUILD="$BUILD" SCALE_CLIENTS="$MANY_N" SCALE_NATS="$MANY_NATS" "$@" \
    bash "$here/scale.sh" >"$log" 2>&1 || true
  MANY_LINE=$(grep "^RESULT $what " "$log" || true)
  [ -n "$MANY_LINE" ] ||
    NOTES+=("bench/scale.sh ($what) gave no result: $(tail -n 3 "$log" | tr '\n' ' ')")
}

many_bench() {
  local log line
  log=$(mktemp)
  say "many: $MANY_N telecommuters behind $MANY_NATS NATs (bench/scale.sh, about 2 min)"
  many_run scale "$log"
  line=$MANY_LINE
  R[many.connected]=$(field "$line" connected)
  R[many.echoed]=$(field "$line" echoed)
  R[many.rss]=$(field "$line" rss_per_client_kib)
  say "many: the same clients, the gateway killed and started again (about 3 min)"
  many_run storm "$log" SCALE_STORM=1 SCALE_STORM_DPD="$MANY_DPD" SCALE_STORM_MAX=120 SCALE_TIMEOUT=300
  line=$MANY_LINE
  R[many.storm.before]=$(field "$line" before)
  R[many.storm.after]=$(field "$line" after)
  R[many.storm.s]=$(field "$line" recovered_s)
  R[many.storm.attempts]=$(field "$line" attempts)
  MANY_STORM_TABLE=$(grep '^|' "$log" || true)
  rm -f "$log"
}

many_goal_rss() { ge 8 "$(r many.rss)" && [ "$(r many.connected)" = "$MANY_N" ]; }
many_goal_storm() { ge 60 "$(r many.storm.s)" && [ "$(r many.storm.after)" = "$MANY_N" ]; }

many_rows() {
  echo "| many: $MANY_N telecommuters behind $MANY_NATS NATs, connected (echoes answered) | $(fmt "$(r many.connected)") ($(fmt "$(r many.echoed)")) | | | | | all | $(yes_no many_goal_rss) |"
  echo "| many: gateway RSS per client at $MANY_N, KiB | $(fmt "$(r many.rss)" 2) | | | | | <= 8 KiB | $(yes_no many_goal_rss) |"
  echo "| restart storm: all $MANY_N connected again after a SIGKILL and restart, s (dpd $MANY_DPD s; attempts) | $(fmt "$(r many.storm.s)" 1) ($(fmt "$(r many.storm.attempts)")) | | | | | <= 60 s, none gives up | $(yes_no many_goal_storm) |"
}
