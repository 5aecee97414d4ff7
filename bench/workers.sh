# shellcheck shell=bash
# bench/workers.sh - sourced by bench/run.sh (part "workers"): how the
# gateway's data plane scales with its workers (workers = N, docs/design.md).
#
# For workers = 1 and 2, and 1, 8 and 64 clients at once: natsec-load in c1
# (behind nat1) connects that many emulated telecommuters to a natsec
# gateway and then streams ESP from all of them in turn (--flood: UDP
# datagrams of $WK_PAYLOAD bytes to srv's port 9, dropped there), as fast as
# its one thread seals them. Over $WK_DUR s in the middle of the stream the
# gateway's own counters give the packets it decrypted and delivered
# (aggregate and per worker), and /proc the CPU time each data-plane thread
# used (workers = 1: the main thread, which decrypts inbound ESP there), so
# the packets per CPU-second of one worker show what a core does whatever
# else shares the machine. Results go to R[wk.W.N.*]; workers_table prints
# the rows.
#
# Knobs: BENCH_WORKERS (1,2), BENCH_WORKERS_CLIENTS (1,8,64),
# BENCH_WORKERS_DURATION (5 s), BENCH_WORKERS_PAYLOAD (1400 bytes).

WK_SET=${BENCH_WORKERS:-1,2}
WK_CLIENTS=${BENCH_WORKERS_CLIENTS:-1,8,64}
WK_DUR=${BENCH_WORKERS_DURATION:-5}
WK_PAYLOAD=${BENCH_WORKERS_PAYLOAD:-1400}

# utime + stime in clock ticks of the threads of PID whose name matches
# the extended regex RE: wk_ticks PID RE.
wk_ticks() {
  local t sum=0 comm
  for t in /proc/"$1"/task/*; do
    comm=$(cat "$t/comm" 2>/dev/null) || continue
    [[ $comm =~ $2 ]] || continue
    # Fields 14 and 15 after the ")" that ends the name.
    sum=$((sum + $(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')))
  done
  echo "$sum"
}

# The data-plane threads of a gateway with W workers, as regexes; W = 1:
# the main thread (it decrypts inbound ESP).
wk_threads() {
  local i
  if [ "$1" -eq 1 ]; then
    echo '^natsecd$'
    return
  fi
  for ((i = 0; i < $1; i++)); do echo "^natsecd-w$i\$"; done
}

# One measurement: wk_run W N.
wk_run() {
  local w=$1 n=$2 name=wk$1x$2 key="wk.$1.$2" js0 js1 re i k
  local hz
  hz=$(getconf CLK_TCK)
  VIP_POOL=10.99.0.0/16 NSD_LOG_LEVEL=warn nsd_conf_gateway "$name" "workers=$w"
  nsd_peer "$name" %default "$PSK" "$CORP_NET"
  if ! natsec_start "$name" gw; then
    NOTES+=("workers = $w, $n clients: the gateway did not start")
    nsd_stop "$name"
    return
  fi
  local pid=${NSD_PID[$name]} log=$NATSEC_TMP/wk-load-$w-$n.log
  run_bg c1 timeout $((WK_DUR + 60)) "$BUILD/src/load/natsec-load" -g "$GW_PUB" -k "$PSK" \
    -n "$n" -w 64 -i "wk$w-%u@corp.example" -s "$CORP_NET" -P "$SRV_ADDR" -t 30 \
    -H $((WK_DUR + 5)) --flood "$WK_PAYLOAD" -l "$name" >"$log" 2>&1
  local lpid=$BG_PID
  if ! nsd_wait "$name" "[.ike_sas[] | select(.state == \"ESTABLISHED\")] | length >= $n" 40; then
    NOTES+=("workers = $w, $n clients: not all connected")
    wait "$lpid" || true
    nsd_stop "$name"
    return
  fi
  # The stream has begun when the gateway's delivered count moves.
  local a b tries=0
  a=$(nsd_summary "$name" | jq -r .counters.dataplane.tun_tx)
  while sleep 0.5; do
    b=$(nsd_summary "$name" | jq -r .counters.dataplane.tun_tx)
    [ "$b" -gt $((a + 100)) ] && break
    a=$b
    tries=$((tries + 1))
    [ "$tries" -lt 20 ] || break
  done
  local -a t0=() t1=()
  mapfile -t res < <(wk_threads "$w")
  for re in "${res[@]}"; do t0+=("$(wk_ticks "$pid" "$re")"); done
  js0=$(nsd_summary "$name")
  sleep "$WK_DUR"
  for re in "${res[@]}"; do t1+=("$(wk_ticks "$pid" "$re")"); done
  js1=$(nsd_summary "$name")
  wait "$lpid" || true
  nsd_stop "$name"
  local d
  d=$(($(jq -r .counters.dataplane.tun_tx <<<"$js1") - $(jq -r .counters.dataplane.tun_tx <<<"$js0")))
  R[$key.kpps]=$(awk -v d="$d" -v s="$WK_DUR" 'BEGIN { printf "%.1f", d / s / 1000 }')
  R[$key.mbps]=$(awk -v d="$d" -v s="$WK_DUR" -v b=$((WK_PAYLOAD + 28)) 'BEGIN { printf "%.0f", d * b * 8 / s / 1e6 }')
  local per="" eff=""
  for ((i = 0; i < ${#res[@]}; i++)); do
    if [ "$w" -eq 1 ]; then
      k=$d
    else
      k=$(($(jq -r ".workers.threads[$i].tun_tx" <<<"$js1") - $(jq -r ".workers.threads[$i].tun_tx" <<<"$js0")))
    fi
    local cpu=$((t1[i] - t0[i]))
    per+="${per:+ / }$(awk -v k="$k" -v s="$WK_DUR" 'BEGIN { printf "%.1f", k / s / 1000 }')"
    eff+="${eff:+ / }$(awk -v k="$k" -v c="$cpu" -v hz="$hz" 'BEGIN { if (c > 0) printf "%.0f", k / (c / hz) / 1000; else printf "-" }')"
  done
  R[$key.per]=$per
  R[$key.eff]=$eff
  local line
  line=$(grep '^RESULT flood' "$log" || true)
  R[$key.sent]=$(awk -v p="$(field "$line" pps)" 'BEGIN { if (p != "") printf "%.1f", p / 1000 }')
  say "workers = $w, $n clients: ${R[$key.kpps]} kpps delivered (${R[$key.mbps]} Mbit/s), per worker ${R[$key.per]} kpps, ${R[$key.eff]} kpps per CPU-second; natsec-load sent ${R[$key.sent]} kpps"
}

workers_bench() {
  local w n
  # srv drops the stream without an answer (no ICMP back through the tunnel).
  nsx srv nft -f - <<EOF || NOTES+=("srv: cannot drop the stream's port")
table inet wkbench {
  chain input {
    type filter hook input priority filter; policy accept;
    udp dport 9 drop
  }
}
EOF
  for w in ${WK_SET//,/ }; do
    for n in ${WK_CLIENTS//,/ }; do
      wk_run "$w" "$n"
    done
  done
  nsx srv nft delete table inet wkbench 2>/dev/null || true
}

workers_table() {
  local w n
  echo "| workers | clients | delivered, k packets/s | Mbit/s (inner) | per worker, k packets/s | per worker, k packets per CPU-second | natsec-load sent, k packets/s |"
  echo "|---:|---:|---:|---:|---|---|---:|"
  for w in ${WK_SET//,/ }; do
    for n in ${WK_CLIENTS//,/ }; do
      local k="wk.$w.$n"
      echo "| $w | $n | $(fmt "$(r "$k.kpps")" 1) | $(fmt "$(r "$k.mbps")") | $(r "$k.per") | $(r "$k.eff") | $(fmt "$(r "$k.sent")" 1) |"
    done
  done
}

# From the figures: a gateway of 16 cores, each worker doing what one did
# here at 64 clients with the most workers measured.
workers_16() {
  local w n k eff
  for w in ${WK_SET//,/ }; do :; done
  for n in ${WK_CLIENTS//,/ }; do :; done
  k="wk.$w.$n"
  eff=$(r "$k.eff" | tr '/' '\n' | awk '/^ *[0-9.]+ *$/ { s += $1; c++ } END { if (c) printf "%.0f", s / c }')
  if [ -z "$eff" ]; then
    echo "16 cores: no figure (the workers part did not measure)."
    return
  fi
  awk -v e="$eff" -v b=$((WK_PAYLOAD + 28)) -v w="$w" -v n="$n" 'BEGIN {
    printf "16 cores, from these figures: one worker decrypted and delivered about %d k packets per CPU-second (workers = %d, %d clients); 16 workers, one per core, would so reach about %.1f M packets/s, %.1f Gbit/s of %d-byte packets, if the work spread evenly (many clients: the 4-tuple hash) and nothing else bounded it (the NIC and its queues, memory bandwidth; the kernel UDP and TUN work is inside each worker CPU time already). One client stays on one worker: about %d k packets/s, %.1f Gbit/s.\n",
      e, w, n, e * 16 / 1000, e * 16 * 1000 * b * 8 / 1e9, b, e, e * 1000 * b * 8 / 1e9 }'
}
