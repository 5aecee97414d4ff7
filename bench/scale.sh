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
#
# Knobs (environment): SCALE_CLIENTS (100000), SCALE_NATS (16), SCALE_WINDOW
# (16 setups in flight per NAT), SCALE_TIMEOUT (300 s of setup at most),
# NATSEC_BUILD (a build directory; default build/release, built in Release).
# Everything runs in namespaces named ns<PID>-* that this script creates and
# deletes; nothing is sent outside them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

CLIENTS=${SCALE_CLIENTS:-100000}
NATS=${SCALE_NATS:-16}
WINDOW=${SCALE_WINDOW:-16}
TIMEOUT=${SCALE_TIMEOUT:-300}
if [ "$NATS" -lt 1 ] || [ "$NATS" -gt 200 ]; then
  echo "scale.sh: SCALE_NATS must be 1..200" >&2
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
nat_homes_create "$NATS"

VIP_POOL=10.98.0.0/15 NSD_LOG_LEVEL=warn nsd_conf_gateway gw dpd=0 seccomp=no
nsd_peer gw %default "$NSD_PSK" "$CORP_NET"
nsd_start gw gw
gw_pid=${NSD_PID[gw]}
sleep 1
rss0=$(nsd_rss_kib gw)

# NAT k gets clients [first, first + n) of the whole run.
pids=()
t_start=$(date +%s.%N)
for ((k = 1; k <= NATS; k++)); do
  n=$((CLIENTS / NATS + (k <= CLIENTS % NATS ? 1 : 0)))
  run_bg "h$k" timeout $((TIMEOUT + 120)) "$LOAD_BIN" -g "$GW_PUB" -k "$NSD_PSK" -n "$n" \
    -w "$WINDOW" -i "home$k-user%u@corp.example" -s "$CORP_NET" -P "$SRV_ADDR" \
    -t "$TIMEOUT" -H 5 -l "nat$k" >"$NATSEC_TMP/load-$k.log" 2>&1
  pids+=("$BG_PID")
done
for p in "${pids[@]}"; do wait "$p" || true; done
t_end=$(date +%s.%N)
rss1=$(nsd_rss_kib gw)
held=$(nsd_q gw '[.ike_sas[] | select(.state == "ESTABLISHED")] | length')

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
per=$(awk -v a="$rss0" -v b="$rss1" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / n; else print "-" }')
wall=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }')
say "connected $ok of $CLIENTS (gateway holds $held), echoes answered $echoed; gateway VmRSS $rss0 -> $rss1 KiB: $per KiB per client; load processes ran ${wall}s"
echo "RESULT scale clients=$CLIENTS nats=$NATS connected=$ok held=$held echoed=$echoed load_s=$wall rss_before_kib=$rss0 rss_after_kib=$rss1 rss_per_client_kib=$per gw_pid=$gw_pid"
