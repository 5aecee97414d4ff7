#!/usr/bin/env bash
# bench/run.sh - `make bench`: natsec against the VPNs a user would
# pick instead, measured side by side in one run on this machine.
#
#   1. installs what the benchmark needs beyond scripts/deps.sh (wireguard-go,
#      wireguard-tools, jq), builds natsec in Release in build/release;
#   2. per-packet cost: bench/esp_bench (natsec ESP encap+decap against bare
#      OpenSSL AES-128-GCM, 64/512/1400 bytes);
#   3. throughput in network namespaces, the topology of tests/net (a
#      telecommuter c1 behind the nftables masquerade NAT nat1, the gateway
#      gw, the corporate server srv; tests/lib/netns.sh): iperf3 TCP with one
#      and four streams (median of REPS runs of DUR s), UDP with 64-byte
#      payloads (packets per second delivered), ping RTT; through no VPN,
#      strongSwan (kernel-libipsec, both ends), wireguard-go (both ends) and
#      natsec (natsecd, both ends);
#   4. scale: natsec-load (src/load) emulating LOAD_N telecommuters behind
#      nat1 against a strongSwan gateway, then a natsec gateway;
#   4b. workers (bench/workers.sh): natsec-load streaming ESP from 1, 8 and
#      64 clients at once into a natsec gateway with workers = 1 and 2: the
#      packets it delivers, per worker, and per worker CPU-second;
#   4c. many (bench/many.sh, bench/scale.sh): 100,000 telecommuters behind
#      16 home NATs against one natsec gateway (its memory per client), then
#      a restart storm (SIGKILL and start with all of them connected: how
#      long until every one is back);
#   5. prints one table with the ratios and whether each goal is met, and
#      writes it with the machine's facts to bench/RESULTS.md (its
#      "## Profile" section, written by hand, is kept).
#
# Bounded to BENCH_BUDGET seconds (1320) in all: when the throughput runs
# would not fit, their duration (then repetitions) shrink and the table says
# so. Everything runs in namespaces named ns<PID>-* that this script creates
# and deletes; nothing is sent outside them.
#
# Knobs (environment): BENCH_BUDGET (1320), BENCH_DURATION (10), BENCH_REPS (3),
# BENCH_UDP_DURATION (5), BENCH_LOAD_CLIENTS (10000), BENCH_LOAD_WINDOW (64),
# BENCH_ONLY (comma list of parts: esp,tput,load,workers,many; default all),
# BENCH_PATHS (comma list of throughput paths: none,strongswan,wireguard,natsec,
# natsec_tcp (natsec with transport = tcp, RFC 8229: TCP single stream only);
# default all),
# BENCH_RESULTS (output file, default bench/RESULTS.md); NATSEC_WORKERS
# (auto or N: workers of every natsecd started without its own, such as
# both tunnel ends of the throughput runs; unset: natsecd's default, auto).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
T_START=$(date +%s)
LOADAVG0=$(cut -d' ' -f1-3 /proc/loadavg)
# Before anything is written (RESULTS.md itself is tracked): the commit built.
NATSEC_VERSION=$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')

BUDGET=${BENCH_BUDGET:-1320}
DUR=${BENCH_DURATION:-10}
REPS=${BENCH_REPS:-3}
UDP_DUR=${BENCH_UDP_DURATION:-5}
LOAD_N=${BENCH_LOAD_CLIENTS:-10000}
LOAD_WINDOW=${BENCH_LOAD_WINDOW:-64}
ONLY=${BENCH_ONLY:-esp,tput,load,workers,many}
PATHS=${BENCH_PATHS:-none,strongswan,wireguard,natsec,natsec_tcp}
RESULTS=${BENCH_RESULTS:-$here/RESULTS.md}
BUILD=$root/build/release
PSK=natsec-bench-psk-0123456789abcdef
GOAL_N=10000
NOTES=()

elapsed() { echo $(($(date +%s) - T_START)); }
remaining() { echo $((BUDGET - $(elapsed))); }
say() { echo "[bench $(elapsed)s] $*" >&2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }
want_path() { [[ ",$PATHS," == *",$1,"* ]]; }

[ "$(id -u)" -eq 0 ] || {
  echo "bench/run.sh: needs root (network namespaces)" >&2
  exit 1
}

# ------------------------------------------------------------ packages
# Only what scripts/deps.sh does not install; Debian packages, no recommends
# (wireguard-tools would otherwise pull in a kernel image).
BENCH_PACKAGES=(wireguard-go wireguard-tools jq iperf3 iproute2 nftables procps)
missing=()
for p in "${BENCH_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ------------------------------------------------------------ build (Release)
say "building natsec (Release) in $BUILD"
cmake -S "$root" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release >/dev/null
have=()
for t in esp_bench natsecd natsecctl natsec-load; do
  if cmake --build "$BUILD" -j "$(nproc)" --target "$t" >"$BUILD/bench-build-$t.log" 2>&1; then
    have+=("$t")
  else
    say "cannot build $t (see $BUILD/bench-build-$t.log)"
    NOTES+=("$t did not build: its figures are missing")
  fi
done
has() { [[ " ${have[*]} " == *" $1 "* ]]; }
NATSEC_OK=0
has natsecd && has natsecctl && NATSEC_OK=1

declare -A R=() # results: key -> number (or "" when not measured)

# ------------------------------------------------------------ helpers
# Median of numbers (empty ones ignored): median N...
median() {
  printf '%s\n' "$@" | awk '/^[0-9.]+$/ {print}' | sort -g |
    awk '{v[NR]=$1} END {if (NR) print (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
}
# a / b with 2 decimals, or "" when either is missing: ratio A B.
ratio() {
  [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] || return 0
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}
# Whether A >= B (numbers): ge A B.
ge() { [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
# Print NUMBER rounded to DIGITS decimals, or "-": fmt NUMBER [DIGITS].
fmt() {
  [[ ${1:-} =~ ^-?[0-9.]+$ ]] || {
    echo "-"
    return
  }
  awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'
}
# The value of key=value in a RESULT line: field LINE KEY.
field() {
  if [[ " $1 " =~ \ $2=([^ ]*) ]]; then echo "${BASH_REMATCH[1]}"; fi
}
# shellcheck source=SCRIPTDIR/workers.sh
. "$here/workers.sh"
# shellcheck source=SCRIPTDIR/many.sh
. "$here/many.sh"

# ------------------------------------------------------------ per-packet cost
if want esp && has esp_bench; then
  say "ESP per-packet cost (esp_bench, about 6 s)"
  if out=$(timeout 120 "$BUILD/bench/esp_bench" 2>&1); then
    grep -v '^RESULT' <<<"$out" >&2 || true
    while read -r line; do
      s=$(field "$line" size)
      R[esp.$s.natsec]=$(field "$line" natsec_ns)
      R[esp.$s.aead]=$(field "$line" aead_ns)
      R[esp.$s.ratio]=$(field "$line" ratio)
    done < <(grep '^RESULT esp' <<<"$out" || true)
  else
    say "esp_bench failed: $out"
    NOTES+=("esp_bench failed")
  fi
fi

if ! want tput && ! want load && ! want workers && ! want many; then
  exit 0
fi

# ------------------------------------------------------------ topology
# shellcheck source=SCRIPTDIR/../tests/lib/netns.sh
. "$root/tests/lib/netns.sh"
# shellcheck source=SCRIPTDIR/../tests/lib/strongswan.sh
. "$root/tests/lib/strongswan.sh"
# shellcheck disable=SC2034 # read by nsd.sh
NATSEC_BUILD=$BUILD
# shellcheck source=SCRIPTDIR/../tests/net/tools/nsd.sh
. "$root/tests/net/tools/nsd.sh"
netns_init
say "building the namespaces (prefix $NS_PREFIX): c1 behind nat1, gw, srv"
inet_create
gw_create
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"
# natsec-load opens a UDP port per emulated client behind the NAT.
nsx c1 sysctl -qw net.ipv4.ip_local_port_range="10000 65000"

WG_GW=wgg$$ WG_CL=wgc$$
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 # the kernel module may exist; we want -go
IPERF_PID=
iperf_server() {
  [ -n "$IPERF_PID" ] && stop_pid "$IPERF_PID"
  run_bg srv iperf3 -s -p 5201 >"$NATSEC_TMP/iperf3-server.log" 2>&1
  IPERF_PID=$BG_PID
  wait_for "nsx srv ss -ltn | grep -q ':5201 '" 5 || say "iperf3 server did not start"
}

# Bits per second of one TCP run with P streams, in Mbit/s: tcp_run P.
tcp_run() {
  local j
  j=$(nsx c1 timeout $((DUR + 20)) iperf3 -c "$SRV_ADDR" -p 5201 -t "$DUR" -P "$1" -J 2>/dev/null) || {
    iperf_server
    return 0
  }
  jq -r '.end.sum_received.bits_per_second / 1e6' <<<"$j" 2>/dev/null || true
}

# Packets per second delivered of a 64-byte-payload UDP flood, in k: udp_run.
udp_run() {
  local j
  j=$(nsx c1 timeout $((UDP_DUR + 20)) iperf3 -c "$SRV_ADDR" -p 5201 -u -b 0 -l 64 -t "$UDP_DUR" -J 2>/dev/null) || {
    iperf_server
    return 0
  }
  jq -r '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds / 1000' <<<"$j" 2>/dev/null || true
}

# Median RTT in ms of 50 pings at 20 ms intervals (the median, since one
# scheduling stall of a shared CPU moves an average a lot): rtt_run.
rtt_run() {
  local v
  v=$({ nsx c1 ping -c 50 -i 0.02 -W 1 "$SRV_ADDR" 2>/dev/null || true; } | sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p')
  # shellcheck disable=SC2086 # one number per word
  median $v
}

# Measure the path c1 -> srv as it is now configured, under result key KEY: measure KEY.
measure() {
  local key=$1 i t1=() t4=() ud=()
  if ! nsx c1 ping -c 3 -i 0.2 -W 2 -q "$SRV_ADDR" >/dev/null 2>&1; then
    say "$key: the corporate server does not answer; no figures"
    NOTES+=("$key: path did not work, no throughput figures")
    return 0
  fi
  iperf_server
  R[$key.rtt]=$(rtt_run)
  for ((i = 0; i < REPS; i++)); do
    t1+=("$(tcp_run 1)")
    t4+=("$(tcp_run 4)")
  done
  R[$key.tcp1]=$(median "${t1[@]}")
  R[$key.tcp4]=$(median "${t4[@]}")
  for ((i = 0; i < REPS; i++)); do
    ud+=("$(udp_run)")
  done
  R[$key.udp]=$(median "${ud[@]}")
  say "$key: TCP x1 ${t1[*]} -> $(fmt "${R[$key.tcp1]}") Mbit/s; TCP x4 ${t4[*]} -> $(fmt "${R[$key.tcp4]}") Mbit/s; UDP 64 B ${ud[*]} -> $(fmt "${R[$key.udp]}" 1) kpps; RTT $(fmt "${R[$key.rtt]}" 3) ms"
}

# TCP single stream only, under key KEY (natsec over TCP): measure_tcp1 KEY.
measure_tcp1() {
  local key=$1 i t1=()
  if ! nsx c1 ping -c 3 -i 0.2 -W 2 -q "$SRV_ADDR" >/dev/null 2>&1; then
    say "$key: the corporate server does not answer; no figures"
    NOTES+=("$key: path did not work, no throughput figures")
    return 0
  fi
  iperf_server
  for ((i = 0; i < REPS; i++)); do
    t1+=("$(tcp_run 1)")
  done
  R[$key.tcp1]=$(median "${t1[@]}")
  say "$key: TCP x1 ${t1[*]} -> $(fmt "${R[$key.tcp1]}") Mbit/s"
}

# ------------------------------------------------------------ throughput
run_none() {
  say "no VPN: routing c1 -> srv in the clear through nat1 and gw"
  local h
  h=$(nsx gw nft -a -e insert rule inet filter forward iifname wan0 oifname corp0 accept |
    sed -n 's/.*# handle \([0-9]*\).*/\1/p')
  nsx nat1 ip route add "$CORP_NET" via "$GW_PUB"
  measure none
  nsx nat1 ip route del "$CORP_NET" via "$GW_PUB"
  if [ -n "$h" ]; then nsx gw nft delete rule inet filter forward handle "$h"; fi
}

run_strongswan() {
  say "strongSwan (kernel-libipsec) at both ends"
  SW_LOG_IKE=1 sw_start gw swgw
  SW_LOG_IKE=1 sw_start c1 swcl
  sw_load swgw "$(sw_conf_gateway "$GW_PUB" vpn.corp.example alice@corp.example "$PSK" "$VIP_POOL" "$CORP_NET")"
  sw_load swcl "$(sw_conf_client "$GW_PUB" vpn.corp.example alice@corp.example "$PSK" "$CORP_NET")"
  if sw_initiate swcl home 20; then
    measure strongswan
  else
    NOTES+=("strongSwan tunnel did not come up")
  fi
  sw_stop swcl
  sw_stop swgw
}

WG_PIDS=()
run_wireguard() {
  say "wireguard-go at both ends"
  local d=$NATSEC_TMP/wg
  mkdir -p "$d"
  (
    umask 077
    wg genkey >"$d/gw.key"
    wg genkey >"$d/cl.key"
  )
  wg pubkey <"$d/gw.key" >"$d/gw.pub"
  wg pubkey <"$d/cl.key" >"$d/cl.pub"
  run_bg gw wireguard-go -f "$WG_GW" >"$d/gw.log" 2>&1
  WG_PIDS+=("$BG_PID")
  run_bg c1 wireguard-go -f "$WG_CL" >"$d/cl.log" 2>&1
  WG_PIDS+=("$BG_PID")
  if ! wait_for "[ -S /var/run/wireguard/$WG_GW.sock ] && [ -S /var/run/wireguard/$WG_CL.sock ]" 10; then
    NOTES+=("wireguard-go did not start: $(head -c 300 "$d/gw.log")")
    return 0
  fi
  nsx gw wg set "$WG_GW" listen-port 51820 private-key "$d/gw.key" peer "$(cat "$d/cl.pub")" allowed-ips 10.99.1.2/32
  nsx gw ip addr add 10.99.1.1/24 dev "$WG_GW"
  nsx gw ip link set "$WG_GW" up
  nsx c1 wg set "$WG_CL" private-key "$d/cl.key" peer "$(cat "$d/gw.pub")" endpoint "$GW_PUB:51820" \
    allowed-ips "$CORP_NET" persistent-keepalive 25
  nsx c1 ip addr add 10.99.1.2/32 dev "$WG_CL"
  nsx c1 ip link set "$WG_CL" up
  nsx c1 ip route add "$CORP_NET" dev "$WG_CL"
  measure wireguard
  for p in "${WG_PIDS[@]}"; do stop_pid "$p"; done
  WG_PIDS=()
  rm -f "/var/run/wireguard/$WG_GW.sock" "/var/run/wireguard/$WG_CL.sock"
}

# Start natsecd NAME in NS from its nsd.sh configuration; 1 when it does not come up: natsec_start NAME NS.
natsec_start() {
  run_bg "$2" "$NSD_BIN" -c "$(nsd_conf "$1")" -f >>"$(nsd_log "$1")" 2>&1
  NSD_PID[$1]=$BG_PID
  wait_for "'$NSC_BIN' -s '$(nsd_sock "$1")' status --json" 10
}

run_natsec() {
  say "natsec at both ends"
  nsd_conf_gateway ngw
  nsd_peer ngw alice@corp.example "$PSK" "$CORP_NET"
  nsd_conf_client ncl alice@corp.example
  nsd_peer ncl vpn.corp.example "$PSK" "$CORP_NET"
  if natsec_start ngw gw && natsec_start ncl c1 &&
    nsd_wait ncl '[.ike_sas[] | select(.state == "ESTABLISHED" and (.children | length) > 0)] | length >= 1' 15; then
    measure natsec
  else
    NOTES+=("natsec tunnel did not come up: $(tail -n 3 "$(nsd_log ncl)" | tr '\n' ' ')")
  fi
  nsd_stop ncl
  nsd_stop ngw
}

# natsec with the client's transport = tcp (RFC 8229): IKE and ESP over one
# TCP connection to the gateway's port 4500.
run_natsec_tcp() {
  say "natsec at both ends, over TCP (RFC 8229)"
  nsd_conf_gateway ngw
  nsd_peer ngw alice@corp.example "$PSK" "$CORP_NET"
  nsd_conf_client ncl alice@corp.example transport=tcp
  nsd_peer ncl vpn.corp.example "$PSK" "$CORP_NET"
  if natsec_start ngw gw && natsec_start ncl c1 &&
    nsd_wait ncl '[.ike_sas[] | select(.state == "ESTABLISHED" and .transport == "tcp" and (.children | length) > 0)] | length >= 1' 15; then
    measure_tcp1 natsec_tcp
  else
    NOTES+=("natsec tunnel over TCP did not come up: $(tail -n 3 "$(nsd_log ncl)" | tr '\n' ' ')")
  fi
  nsd_stop ncl
  nsd_stop ngw
}

# Reserve for the scale part, then fit the throughput runs into what is left.
LOAD_RESERVE=0
want load && LOAD_RESERVE=$((LOAD_N >= 5000 ? 240 : 120))
want many && LOAD_RESERVE=$((LOAD_RESERVE + 420))
n_paths=0
for p in none strongswan wireguard natsec natsec_tcp; do want_path "$p" && n_paths=$((n_paths + 1)); done
tput_cost() { echo $((n_paths * (2 * REPS * ($1 + 2) + REPS * (UDP_DUR + 2) + 12))); }
if want tput; then
  avail=$(($(remaining) - LOAD_RESERVE - 30))
  dur0=$DUR reps0=$REPS
  while [ "$(tput_cost "$DUR")" -gt "$avail" ] && [ "$DUR" -gt 3 ]; do DUR=$((DUR - 1)); done
  while [ "$(tput_cost "$DUR")" -gt "$avail" ] && [ "$REPS" -gt 1 ]; do REPS=$((REPS - 1)); done
  if [ "$DUR" != "$dur0" ] || [ "$REPS" != "$reps0" ]; then
    NOTES+=("time budget: TCP runs shortened from ${reps0} x ${dur0} s to ${REPS} x ${DUR} s to fit ${BUDGET} s")
    say "time budget: TCP runs ${REPS} x ${DUR} s (asked ${reps0} x ${dur0} s)"
  fi
  want_path none && run_none
  want_path strongswan && run_strongswan
  want_path wireguard && run_wireguard
  if ! want_path natsec; then
    :
  elif [ "$NATSEC_OK" = 1 ]; then
    run_natsec
  else
    NOTES+=("natsecd not built: no natsec throughput")
  fi
  want_path natsec_tcp && [ "$NATSEC_OK" = 1 ] && run_natsec_tcp
  [ -n "$IPERF_PID" ] && stop_pid "$IPERF_PID"
  IPERF_PID=
fi

# ------------------------------------------------------------ scale
# The strongSwan gateway for the load: any identity with the shared PSK, a
# /16 pool. Tuned so that its defaults do not decide the result: a large
# IKE SA hash table (the default is one bucket), no per-IP half-open block
# (every client is behind the one NAT address) and the same cookie threshold
# as natsecd's default; logging off, as for natsecd (log_level = warn).
sw_conf_load_gateway() {
  cat <<EOF
connections {
  rw {
    version = 2
    local_addrs = $GW_PUB
    proposals = aes128gcm16-prfsha256-x25519
    pools = rwpool
    local {
      auth = psk
      id = vpn.corp.example
    }
    remote {
      auth = psk
      id = %any
    }
    children {
      net {
        local_ts = $CORP_NET
        esp_proposals = aes128gcm16
      }
    }
  }
}
pools {
  rwpool {
    addrs = 10.99.0.0/16
  }
}
secrets {
  ike-any {
    secret = "$PSK"
  }
}
EOF
}

# Run natsec-load against the gateway with PID under key KEY, at most TIMEOUT s of setup: load_run KEY PID TIMEOUT.
load_run() {
  local key=$1 pid=$2 t=$3 out line
  say "natsec-load: $LOAD_N telecommuters behind nat1 -> $key gateway (window $LOAD_WINDOW, setup at most ${t}s)"
  out=$(nsx c1 timeout $((t + 60)) "$BUILD/src/load/natsec-load" -g "$GW_PUB" -k "$PSK" -n "$LOAD_N" \
    -w "$LOAD_WINDOW" -p "$pid" -P "$SRV_ADDR" -t "$t" -H 5 -l "$key" 2>&1) || true
  { grep -v '^RESULT' <<<"$out" || true; } | tail -n 8 >&2
  line=$({ grep '^RESULT load' <<<"$out" || true; } | tail -n 1)
  [ -n "$line" ] || {
    NOTES+=("natsec-load against $key printed no result")
    return 0
  }
  for f in ok failed setups_per_s p50_ms p99_ms unique_vips unique_spis rss_per_client_kib \
    gw_cpu_ms_per_setup load_cpu_ms_per_setup esp_sent esp_replies keepalives rss_before_kib rss_after_kib; do
    R[load.$key.$f]=$(field "$line" "$f")
  done
}

if want load && has natsec-load; then
  t_sw=$(($(remaining) - 90))
  [ "$t_sw" -gt 120 ] && t_sw=120
  [ "$t_sw" -lt 20 ] && t_sw=20
  SW_LOG_IKE=0 SW_LOG_LEVELS="default = 0; knl = 0; cfg = 0" sw_start gw swload \
    "ikesa_table_size = 32768
  ikesa_table_segments = 16
  block_threshold = 1000000
  cookie_threshold = 100
  init_limit_half_open = 0"
  sw_load swload "$(sw_conf_load_gateway)"
  load_run strongswan "$(sw_pid swload)" "$t_sw"
  sw_stop swload
  if [ "$NATSEC_OK" = 1 ]; then
    VIP_POOL=10.99.0.0/16 NSD_LOG_LEVEL=warn nsd_conf_gateway nload
    nsd_peer nload %default "$PSK" "$CORP_NET"
    if natsec_start nload gw; then
      t_ns=$(($(remaining) - 30))
      [ "$t_ns" -gt 120 ] && t_ns=120
      [ "$t_ns" -lt 20 ] && t_ns=20
      load_run natsec "${NSD_PID[nload]}" "$t_ns"
    else
      NOTES+=("natsecd gateway for the load did not start")
    fi
    nsd_stop nload
  fi
fi

if want workers && has natsec-load && [ "$NATSEC_OK" = 1 ]; then
  say "workers: natsec-load streams ESP into gateways with workers = $WK_SET"
  workers_bench
fi

if want many && has natsec-load && [ "$NATSEC_OK" = 1 ]; then
  many_bench
fi

# ------------------------------------------------------------ the table
r() { echo "${R[$1]:-}"; }
yes_no() { if "$@"; then echo "met"; else echo "NOT met"; fi; }

t1n=$(r natsec.tcp1) t1s=$(r strongswan.tcp1) t1w=$(r wireguard.tcp1) t1o=$(r none.tcp1)
t1t=$(r natsec_tcp.tcp1)
udn=$(r natsec.udp) udw=$(r wireguard.udp)
rtn=$(r natsec.rtt) rtw=$(r wireguard.rtt)
e1400=$(r esp.1400.ratio)
lok=$(r load.natsec.ok) lvip=$(r load.natsec.unique_vips) lspi=$(r load.natsec.unique_spis)
lrss=$(r load.natsec.rss_per_client_kib)
lsn=$(r load.natsec.setups_per_s) lss=$(r load.strongswan.setups_per_s)
goal_tcp() { ge "$(ratio "$t1n" "$t1w")" 2 && ge "$(ratio "$t1n" "$t1s")" 2; }
goal_udp() { ge "$(ratio "$udn" "$udw")" 2; }
goal_rtt() { [ -n "$rtn" ] && ge "$rtw" "$rtn"; }
goal_esp() { [ -n "$e1400" ] && ge 1.25 "$e1400"; }
goal_conc() {
  [ "$LOAD_N" -ge $GOAL_N ] && [ "${lok:-0}" -ge $GOAL_N ] && [ "${lvip:-0}" -ge $GOAL_N ] &&
    [ "${lspi:-0}" -ge $GOAL_N ]
}
goal_rss() { [ -n "$lrss" ] && ge 16 "$lrss" && ge "$lrss" 0; }
goal_rate() { ge "$(ratio "$lsn" "$lss")" 2; }
goal_tcpenc() { ge "$(ratio "$t1t" "$t1n")" 0.5; }
g1=$(yes_no goal_tcp)
g2=$(yes_no goal_udp)
g3=$(yes_no goal_rtt)
g4=$(yes_no goal_esp)
g5=$(yes_no goal_conc)
g6=$(yes_no goal_rss)
g7=$(yes_no goal_rate)
g8=$(yes_no goal_tcpenc)

x() { local v; v=$(ratio "$1" "$2"); [ -n "$v" ] && echo "${v}x" || echo "-"; }
table() {
  echo "| measure | natsec | strongSwan | wireguard-go | baseline | natsec ratios | goal | goal met |"
  echo "|---|---:|---:|---:|---:|---|---|---|"
  echo "| TCP, 1 stream, Mbit/s (median of $REPS x ${DUR} s) | $(fmt "$t1n") | $(fmt "$t1s") | $(fmt "$t1w") | $(fmt "$t1o") no VPN | $(x "$t1n" "$t1s") sw, $(x "$t1n" "$t1w") wg, $(x "$t1n" "$t1o") no VPN | >= 2x wg and >= 2x sw | $g1 |"
  echo "| TCP, 1 stream, natsec over TCP (RFC 8229), Mbit/s (median of $REPS x ${DUR} s) | $(fmt "$t1t") | | | | $(x "$t1t" "$t1n") natsec over UDP | >= 0.5x natsec over UDP | $g8 |"
  echo "| TCP, 4 streams, Mbit/s (median of $REPS x ${DUR} s) | $(fmt "$(r natsec.tcp4)") | $(fmt "$(r strongswan.tcp4)") | $(fmt "$(r wireguard.tcp4)") | $(fmt "$(r none.tcp4)") no VPN | $(x "$(r natsec.tcp4)" "$(r strongswan.tcp4)") sw, $(x "$(r natsec.tcp4)" "$(r wireguard.tcp4)") wg | | |"
  echo "| UDP 64-byte payloads, k packets/s delivered (median of $REPS x ${UDP_DUR} s) | $(fmt "$udn" 1) | $(fmt "$(r strongswan.udp)" 1) | $(fmt "$udw" 1) | $(fmt "$(r none.udp)" 1) no VPN | $(x "$udn" "$(r strongswan.udp)") sw, $(x "$udn" "$udw") wg | >= 2x wg | $g2 |"
  echo "| ping RTT, ms (median of 50) | $(fmt "$rtn" 3) | $(fmt "$(r strongswan.rtt)" 3) | $(fmt "$rtw" 3) | $(fmt "$(r none.rtt)" 3) no VPN | $(x "$rtn" "$rtw") wg | <= wg | $g3 |"
  local s
  for s in 64 512 1400; do
    local gl="" gm=""
    [ "$s" = 1400 ] && gl="<= 1.25x EVP" && gm=$g4
    echo "| ESP encap+decap $s B, ns/packet (AES-128-GCM) | $(fmt "$(r "esp.$s.natsec")" 1) | | | $(fmt "$(r "esp.$s.aead")" 1) bare EVP | $(fmt "$(r "esp.$s.ratio")" 2)x EVP | $gl | $gm |"
  done
  echo "| scale: setups/s, $LOAD_N telecommuters, window $LOAD_WINDOW | $(fmt "$lsn" 1) | $(fmt "$lss" 1) | | | $(x "$lsn" "$lss") sw | >= 2x sw | $g7 |"
  echo "| scale: setup latency p50 / p99, ms | $(fmt "$(r load.natsec.p50_ms)" 1) / $(fmt "$(r load.natsec.p99_ms)" 1) | $(fmt "$(r load.strongswan.p50_ms)" 1) / $(fmt "$(r load.strongswan.p99_ms)" 1) | | | | | |"
  echo "| scale: connected (unique virtual IPs / SPIs), failed | $(fmt "$lok") ($(fmt "$lvip") / $(fmt "$lspi")), $(fmt "$(r load.natsec.failed)") failed | $(fmt "$(r load.strongswan.ok)") ($(fmt "$(r load.strongswan.unique_vips)") / $(fmt "$(r load.strongswan.unique_spis)")), $(fmt "$(r load.strongswan.failed)") failed | | | | 10,000 concurrent, unique VIPs and SPIs | $g5 |"
  echo "| scale: ESP echo replies through the tunnels | $(fmt "$(r load.natsec.esp_replies)") of $(fmt "$(r load.natsec.esp_sent)") | $(fmt "$(r load.strongswan.esp_replies)") of $(fmt "$(r load.strongswan.esp_sent)") | | | | | |"
  echo "| scale: gateway RSS per client, KiB | $(fmt "$lrss" 2) | $(fmt "$(r load.strongswan.rss_per_client_kib)" 2) | | | $(x "$lrss" "$(r load.strongswan.rss_per_client_kib)") sw | <= 16 KiB | $g6 |"
  want many && many_rows
  echo "| scale: gateway CPU per setup, ms (load tool's own) | $(fmt "$(r load.natsec.gw_cpu_ms_per_setup)" 3) ($(fmt "$(r load.natsec.load_cpu_ms_per_setup)" 3)) | $(fmt "$(r load.strongswan.gw_cpu_ms_per_setup)" 3) ($(fmt "$(r load.strongswan.load_cpu_ms_per_setup)" 3)) | | | $(x "$(r load.natsec.gw_cpu_ms_per_setup)" "$(r load.strongswan.gw_cpu_ms_per_setup)") sw | | |"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
facts="$(nproc) CPUs ($cpu), kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), natsec $NATSEC_VERSION, workers ${NATSEC_WORKERS:-auto}"
notes() {
  local n
  for n in "${NOTES[@]}"; do echo "- $n"; done
}

echo
echo "natsec benchmark: $facts; load average at start $LOADAVG0; $(elapsed) s"
echo
table
echo
echo "Goals:"
echo "  TCP single stream >= 2x wireguard-go and >= 2x strongSwan: $g1 (natsec/wg $(x "$t1n" "$t1w"), natsec/sw $(x "$t1n" "$t1s"))"
echo "  64-byte UDP packets/s >= 2x wireguard-go: $g2 ($(x "$udn" "$udw"))"
echo "  RTT no worse than wireguard-go: $g3 (natsec $(fmt "$rtn" 3) ms, wg $(fmt "$rtw" 3) ms)"
echo "  ESP encap+decap 1400 B <= 1.25x bare AEAD: $g4 ($(fmt "$e1400" 2)x)"
echo "  10,000 concurrent telecommuters, unique VIPs and SPIs: $g5 ($(fmt "$lok") of $LOAD_N)"
echo "  gateway RSS <= 16 KiB per client: $g6 ($(fmt "$lrss" 2) KiB)"
echo "  setups/s >= 2x strongSwan gateway: $g7 ($(x "$lsn" "$lss"))"
echo "  TCP single stream over TCP (RFC 8229) >= 0.5x natsec over UDP: $g8 ($(x "$t1t" "$t1n"))"
if want workers; then
  echo
  workers_table
  echo "  $(workers_16)"
fi
[ ${#NOTES[@]} -gt 0 ] && {
  echo "Notes:"
  notes
}

# ------------------------------------------------------------ RESULTS.md
profile=""
[ -f "$RESULTS" ] && profile=$(sed -n '/^## Profile/,$p' "$RESULTS")
{
  echo "# natsec benchmark results"
  echo
  echo "Written by \`make bench\` (bench/run.sh); the \"Profile\" section is kept from run to run."
  echo
  echo "## Machine"
  echo
  echo "- CPUs: $(nproc) ($cpu)"
  echo "- kernel: $(uname -r)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- natsec: $NATSEC_VERSION (a \"-dirty\" suffix: built from a work tree with uncommitted changes), Release build (gcc -O3)"
  echo "- peers: strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null) (kernel-libipsec), wireguard-go $(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null), iperf3 $(dpkg-query -W -f='${Version}' iperf3 2>/dev/null)"
  echo "- natsecd data-plane workers in the throughput runs (both ends): ${NATSEC_WORKERS:-auto, the default} (auto: one per online CPU)"
  echo "- everything (both tunnel ends, the NAT, iperf3, the load tool) shares these CPUs; run time $(elapsed) s"
  echo "- load average when the run started: $LOADAVG0 (anything above 0 is other work sharing the CPUs)"
  echo
  echo "## Results"
  echo
  table
  echo
  echo "How: throughput from the telecommuter c1 (behind the nftables masquerade NAT nat1) to the"
  echo "corporate server srv behind the gateway gw, iperf3 TCP ($REPS runs of ${DUR} s, median),"
  echo "UDP with 64-byte payloads at full speed ($REPS runs of ${UDP_DUR} s, packets received per second, median), ping"
  echo "every 20 ms (median RTT). All tunnels use AES-128-GCM (wireguard-go: ChaCha20-Poly1305, its only suite)."
  echo "Scale: natsec-load emulates $LOAD_N telecommuters behind nat1 (own identity and UDP port"
  echo "each, full IKE_SA_INIT + IKE_AUTH + CP + CHILD_SA, $LOAD_WINDOW setups in flight), then one NAT"
  echo "keepalive and one ESP-encapsulated ICMP echo per client; RSS is the gateway's VmRSS growth"
  echo "divided by the connected clients, CPU its utime+stime during the setups per setup. The"
  echo "strongSwan load gateway has ikesa_table_size 32768, no per-IP half-open block and"
  echo "cookie_threshold 100 (natsecd's default) so that no default decides the result; both"
  echo "gateways log only warnings."
  if want workers; then
    echo
    echo "## Scaling with workers"
    echo
    workers_table
    echo
    echo "How: natsec-load in c1 (behind nat1) connects N emulated telecommuters (own UDP port each,"
    echo "so N 4-tuples) to a natsec gateway with \`workers = W\`, then streams ESP from all of them in"
    echo "turn (UDP datagrams of $WK_PAYLOAD bytes to srv, dropped there) as fast as its one thread"
    echo "seals them; over ${WK_DUR} s the gateway's counters give the packets it decrypted and"
    echo "delivered to TUN, per worker (\`natsecctl status\`: workers.threads), and /proc each"
    echo "data-plane thread's CPU time (W = 1: the main thread, which decrypts there). The load tool,"
    echo "the NAT and the gateway share this machine's $(nproc) CPUs, so the aggregate is bounded by what"
    echo "is left beside the load tool; the packets per CPU-second of a worker are what one core does."
    echo "$(workers_16)"
  fi
  if want many; then
    echo
    echo "## $MANY_N telecommuters behind $MANY_NATS NATs, and a restart storm"
    echo
    echo "bench/scale.sh twice (bench/many.sh): $MANY_N emulated telecommuters, an equal share behind each of"
    echo "$MANY_NATS home NATs (nftables masquerade, each its own public address; one natsec-load"
    echo "process per NAT, at nice 10), each with its own identity, UDP port, virtual IP from a /15 pool"
    echo "and SPIs, connect to one natsec gateway and send an ICMP echo through their tunnels: the"
    echo "gateway's VmRSS growth per client it holds. Then the same clients, with dpd $MANY_DPD s, and"
    echo "the gateway killed (SIGKILL) and started again at once: they notice by the restarted"
    echo "gateway's answer to their next liveness check (RFC 6290) and connect again with natsecd's"
    echo "client's back-off and jitter. Clients connected, from 2 s before the kill:"
    echo
    echo "${MANY_STORM_TABLE:-(no storm table: see the notes)}"
  fi
  if [ ${#NOTES[@]} -gt 0 ]; then
    echo
    echo "Notes of this run:"
    echo
    notes
  fi
  echo
  if [ -n "$profile" ]; then
    echo "$profile"
  else
    echo "## Profile"
    echo
    echo "(not yet written)"
  fi
} >"$RESULTS"
say "wrote $RESULTS"
