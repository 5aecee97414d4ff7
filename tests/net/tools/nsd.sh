# shellcheck shell=bash
# tests/net/tools/nsd.sh - run natsecd instances in the namespaces of
# tests/lib/netns.sh (source that first) and ask them for their status.
#
# Each instance has a NAME (a word: "gw", "alice") and lives in
# $NATSEC_TMP/nsd-NAME.{conf,log,sock}. Its TUN device is "nsec0" (every
# instance runs in its own namespace). Status queries go through natsecctl
# and are read with jq.
#
#   nsd_conf_gateway NAME [KEY=VALUE...]  write the [natsecd] part of a gateway
#   nsd_conf_client NAME ID REMOTE_ID [KEY=VALUE...]  the same for a client
#   nsd_peer NAME IDENTITY PSK SUBNETS [KEY=VALUE...]  append a [peer] section
#   nsd_corp_peers NAME IDENTITY...       a [peer] with $NSD_PSK and $CORP_NET for each
#   nsd_conf_corp_client NAME ID [KEY=VALUE...]  nsd_conf_client and its gateway's
#                                         [peer vpn.corp.example] with $NSD_PSK and $CORP_NET
#   nsd_start NAME NS                     start natsecd -f in NS, wait for its socket
#   nsd_stop NAME                         stop it (TERM, by PID)
#   nsd_json NAME                         print its status JSON
#   nsd_q NAME JQ_FILTER                  print jq -r FILTER of its status
#   nsd_wait NAME JQ_CONDITION TIMEOUT    wait until the filter prints "true"
#   nsd_wait_up NAME [COUNT] [TIMEOUT]    wait for COUNT ESTABLISHED IKE SAs with a CHILD_SA
#   nsd_log NAME                          path of its log

NSD_BUILD=${NATSEC_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build/gcc}
NSD_BIN=$NSD_BUILD/src/daemon/natsecd
NSC_BIN=$NSD_BUILD/src/ctl/natsecctl
NSD_TOOLS=$NSD_BUILD/tests/net/tools
NSD_PSK=0x3f9c1a7e55d2b8046ac1e9f0d2b3c4a5968778695a4b3c2d1e0f
declare -A NSD_PID=() # instance name -> natsecd PID

nsd_check_build() {
  [ -x "$NSD_BIN" ] || fail "natsecd not built: $NSD_BIN (set NATSEC_BUILD)"
  [ -x "$NSC_BIN" ] || fail "natsecctl not built: $NSC_BIN"
  command -v jq >/dev/null || fail "jq is needed to read natsecctl --json"
}

nsd_log() { echo "$NATSEC_TMP/nsd-$1.log"; }
nsd_sock() { echo "$NATSEC_TMP/nsd-$1.sock"; }
nsd_conf() { echo "$NATSEC_TMP/nsd-$1.conf"; }

# Print KEY=VALUE arguments as "key = value" lines.
_nsd_kv() {
  local kv
  for kv in "$@"; do
    echo "${kv%%=*} = ${kv#*=}"
  done
}

# The same for [natsecd], where NATSEC_TX_THREAD=yes|no and
# NATSEC_WORKERS=auto|N (unset: natsecd's defaults) add tx_thread and
# workers to every instance that does not set them.
_nsd_main_kv() {
  local kv tx=${NATSEC_TX_THREAD:-} wk=${NATSEC_WORKERS:-}
  for kv in "$@"; do
    [ "${kv%%=*}" = tx_thread ] && tx=
    [ "${kv%%=*}" = workers ] && wk=
  done
  _nsd_kv "$@"
  [ -z "$tx" ] || echo "tx_thread = $tx"
  [ -z "$wk" ] || echo "workers = $wk"
}

# A file that will hold a PSK is the operator's secret: private, as natsecd
# asks (it warns on stderr about one others may read).
_nsd_private() { chmod 600 "$(nsd_conf "$1")"; }

# The QCD secret (RFC 6290) of daemon NAME in the run's folder, not the
# host's /var/lib/natsec: made at its first start, kept across restarts
# of the same NAME, unless the test gives qcd_secret_file: _nsd_qcd NAME [KEY=VALUE...].
_nsd_qcd() {
  local name=$1
  shift
  [[ " ${*%%=*} " == *" qcd_secret_file "* ]] || echo "qcd_secret_file = $NATSEC_TMP/qcd-$name.secret"
}

# Write the [natsecd] section of a gateway on the standard topology: nsd_conf_gateway NAME [KEY=VALUE...].
nsd_conf_gateway() {
  local name=$1
  shift
  {
    echo "[natsecd]"
    echo "role = gateway"
    echo "local_id = vpn.corp.example"
    echo "control = $(nsd_sock "$name")"
    echo "tun = nsec0"
    echo "pool = $VIP_POOL"
    echo "log_level = ${NSD_LOG_LEVEL:-info}"
    _nsd_qcd "$name" "$@"
    _nsd_main_kv "$@"
    echo
  } >"$(nsd_conf "$name")"
  _nsd_private "$name"
}

# Write the [natsecd] section of a client of $GW_PUB (of $NSD_GATEWAY when
# set), with dns_apply = no unless given: nsd_conf_client NAME LOCAL_ID [KEY=VALUE...].
nsd_conf_client() {
  local name=$1 id=$2
  shift 2
  {
    echo "[natsecd]"
    echo "role = client"
    echo "local_id = $id"
    echo "gateway = ${NSD_GATEWAY:-$GW_PUB}"
    echo "remote_id = vpn.corp.example"
    echo "control = $(nsd_sock "$name")"
    echo "tun = nsec0"
    echo "log_level = ${NSD_LOG_LEVEL:-info}"
    _nsd_qcd "$name" "$@"
    _nsd_main_kv "$@"
    # A client in a test namespace sees the host's /etc/resolv.conf unless
    # the test gave the namespace its own: it applies DNS only when asked.
    [[ " ${*%%=*} " == *" dns_apply "* ]] || echo "dns_apply = no"
    echo
  } >"$(nsd_conf "$name")"
  _nsd_private "$name"
}

# Append a [peer] section: nsd_peer NAME IDENTITY PSK SUBNETS [KEY=VALUE...].
nsd_peer() {
  local name=$1 id=$2 psk=$3 subnets=$4
  shift 4
  {
    echo "[peer $id]"
    echo "psk = $psk"
    echo "subnets = $subnets"
    _nsd_kv "$@"
    echo
  } >>"$(nsd_conf "$name")"
}

# Append a [peer IDENTITY] with $NSD_PSK and $CORP_NET for each IDENTITY: nsd_corp_peers NAME IDENTITY...
nsd_corp_peers() {
  local name=$1 id
  shift
  for id in "$@"; do
    nsd_peer "$name" "$id" "$NSD_PSK" "$CORP_NET"
  done
}

# A client of the standard gateway (vpn.corp.example, $NSD_PSK, $CORP_NET): nsd_conf_corp_client NAME LOCAL_ID [KEY=VALUE...].
nsd_conf_corp_client() {
  nsd_conf_client "$@"
  nsd_peer "$1" vpn.corp.example "$NSD_PSK" "$CORP_NET"
}

# Start natsecd NAME in namespace NS (foreground, debug with NSD_DEBUG=1) and wait for its control socket: nsd_start NAME NS.
nsd_start() {
  local name=$1 ns=$2 dbg=()
  [ "${NSD_DEBUG:-0}" = 1 ] && dbg=(-d)
  run_bg "$ns" "$NSD_BIN" -c "$(nsd_conf "$name")" -f "${dbg[@]}" >>"$(nsd_log "$name")" 2>&1
  NSD_PID[$name]=$BG_PID
  wait_for "'$NSC_BIN' -s '$(nsd_sock "$name")' status --json" 10 || {
    cat "$(nsd_log "$name")" >&2
    fail "natsecd $name did not come up in $ns"
  }
}

# Stop natsecd NAME (TERM, then KILL after 3 s) by its PID: nsd_stop NAME.
nsd_stop() {
  local pid=${NSD_PID[$1]:-}
  [ -n "$pid" ] && stop_pid "$pid"
  unset "NSD_PID[$1]"
}

# Kill natsecd NAME with SIGKILL (it tells no peer) and reap it: nsd_crash NAME.
nsd_crash() {
  local pid=${NSD_PID[$1]:-}
  [ -n "$pid" ] || fail "natsecd $1 is not running"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  unset "NSD_PID[$1]"
}

# Fail unless natsecd NAME still runs: nsd_alive NAME.
nsd_alive() {
  local pid=${NSD_PID[$1]:-}
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || {
    tail -n 30 "$(nsd_log "$1")" >&2
    fail "natsecd $1 is not running"
  }
}

# Print on stderr, one line each, the counters of every natsecd still
# running (called when a test fails): nsd_report_counters.
nsd_report_counters() {
  local name counters
  for name in "${!NSD_PID[@]}"; do
    kill -0 "${NSD_PID[$name]}" 2>/dev/null || continue
    counters=$(timeout 3 "$NSC_BIN" -s "$(nsd_sock "$name")" status --json 2>/dev/null | jq -c .counters 2>/dev/null)
    echo "counters of $name: ${counters:-(no answer)}" >&2
  done
}

nsd_json() {
  "$NSC_BIN" -s "$(nsd_sock "$1")" status --json
}

# The status of NAME without the list of IKE SAs (counters only, answered at
# once with any number of them): nsd_summary NAME.
nsd_summary() {
  "$NSC_BIN" -s "$(nsd_sock "$1")" status --summary --json
}

# jq -r FILTER over the status of NAME: nsd_q NAME FILTER.
nsd_q() {
  nsd_json "$1" | jq -r "$2"
}

# Wait until jq FILTER over the status of NAME prints true: nsd_wait NAME FILTER TIMEOUT.
nsd_wait() {
  local name=$1 filter=$2 timeout=$3
  wait_for "[ \"\$(nsd_q '$name' '$filter')\" = true ]" "$timeout"
}

# Wait for COUNT (default 1) ESTABLISHED IKE SAs with a CHILD_SA on NAME: nsd_wait_up NAME [COUNT] [TIMEOUT].
nsd_wait_up() {
  local name=$1 count=${2:-1} timeout=${3:-15}
  nsd_wait "$name" "[.ike_sas[] | select(.state == \"ESTABLISHED\" and (.children | length) > 0)] | length >= $count" "$timeout" || {
    echo "--- status of $name:" >&2
    nsd_json "$name" >&2
    echo "--- log of $name:" >&2
    tail -n 40 "$(nsd_log "$name")" >&2
    fail "$name: fewer than $count established IKE SAs with a CHILD_SA after ${timeout}s"
  }
}

# R17: COUNT pings from SHORT with source SRC to DST get no answer and the
# gateway gw counts each as a selector mismatch: nsd_spoof_counted SHORT SRC DST COUNT.
nsd_spoof_counted() {
  local ns=$1 src=$2 dst=$3 count=$4 m0 m1
  m0=$(nsd_q gw .counters.esp_drops.ts_mismatch)
  nsx "$ns" ping -c "$count" -i 0.1 -W 1 -I "$src" "$dst" >/dev/null 2>&1 &&
    fail "the pings from $src to $dst were answered"
  wait_for "[ \$((\$(nsd_q gw .counters.esp_drops.ts_mismatch) - $m0)) -ge $count ]" 5 || true
  m1=$(nsd_q gw .counters.esp_drops.ts_mismatch)
  step "ts_mismatch $m0 -> $m1"
  [ $((m1 - m0)) -eq "$count" ] || fail "expected $count packets from $src to $dst counted, got $((m1 - m0))"
}

# The resident set size of natsecd NAME in KiB: nsd_rss_kib NAME.
nsd_rss_kib() {
  awk '/^VmRSS:/ {print $2}' "/proc/${NSD_PID[$1]}/status"
}

# Wait for the background ping PID writing OUT to finish its COUNT pings and
# print how many were lost (fails when it did not run to the end):
# ping_lost OUT PID COUNT. Polled: bash 5.2 may lose track of a background
# job (netns.sh), and wait then returns at once.
ping_lost() {
  local out=$1 pid=$2 count=$3 sent got
  wait_for "grep -q 'packets transmitted' '$out'" $((count / 10 + 5)) || true
  wait "$pid" 2>/dev/null || true
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
  got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
  [ "$sent" = "$count" ] || fail "ping did not run to the end: $(cat "$out")"
  echo $((sent - got))
}

# Ping the corporate server from NS COUNT times 0.1 s apart, run CMD...
# after DELAY seconds, and print how many pings were lost:
# ping_during NS COUNT DELAY CMD...
ping_during() {
  local ns=$1 count=$2 delay=$3 out=$NATSEC_TMP/ping-during.out pid
  shift 3
  run_bg "$ns" ping -c "$count" -i 0.1 -W 1 "$SRV_ADDR" >"$out" 2>&1
  pid=$BG_PID
  sleep "$delay"
  "$@"
  ping_lost "$out" "$pid" "$count"
}

# ThreadSanitizer builds: every report of a natsecd started after
# nsd_tsan_init goes to a file of its own in $NATSEC_TMP;
# nsd_tsan_reports prints them on stderr and how many there are.
nsd_tsan_init() {
  export TSAN_OPTIONS="log_path=$NATSEC_TMP/tsan halt_on_error=0 second_deadlock_stack=1"
}
nsd_tsan_reports() {
  local f n=0
  for f in "$NATSEC_TMP"/tsan.*; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    echo "--- $f:" >&2
    head -n 60 "$f" >&2
  done
  echo "$n"
}
