#!/usr/bin/env bash
# A burst of IKE on the NAT-T port reaches the engine whole with several
# data-plane workers (R12, R15): the workers receive IKE on 4500 and hand
# each message to the main thread, which alone runs the engine. With a
# socket buffer's worth of IKE arriving while the main thread is busy (a
# restart storm's liveness checks and IKE_AUTHs), the hand-over must hold
# as much as the NAT-T socket would have with workers = 1, not drop what
# the kernel had already accepted.
#
# A gateway with workers = 2 whose main thread is kept busy by a flood of
# new IKE_SA_INIT requests on port 500 (tests/net/tools/ike_flood, each
# request a key exchange, as in a storm); meanwhile pktsend sends BURST
# copies of an IKE INFORMATIONAL request for an IKE SA the gateway does
# not have (with the non-ESP marker) back to back, in ROUNDS rounds, each
# from its own port, so both workers receive. Then the engine must have
# counted every one of them as an unknown SPI, and the workers' queue
# dropped none (workers.handoff_dropped).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

BURST=3000
FLOOD=20000
ROUNDS=3 # 9,000 messages: what the NAT-T socket would hold with workers = 1

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/pktsend" ] || fail "pktsend not built"
topo_setup

[ -x "$NSD_TOOLS/ike_flood" ] || fail "ike_flood not built"
nsd_conf_gateway gw workers=2 half_open_max=$((2 * FLOOD)) cookie_threshold=$((2 * FLOOD))
nsd_corp_peers gw alice@corp.example
nsd_start gw gw

# SPIi, SPIr (nonzero: an existing IKE SA is meant), SK next, version 2.0,
# INFORMATIONAL, initiator, message ID 1, length 92; an SK payload of 64
# bytes that is never opened (no such IKE SA).
ike="1111111111111111 2222222222222222 2e 20 25 08 00000001 0000005c 00 00 0040"
ike="$ike $(printf '%0120d' 0)"
unknown() { nsd_summary gw | jq '.counters.ike.dropped_unknown_spi'; }
before=$(unknown)

flood_out=$NATSEC_TMP/flood.out
run_bg c2 timeout 30 "$NSD_TOOLS/ike_flood" -d "$GW_PUB" -p 500 -s 100 -n "$FLOOD" -t 20 >"$flood_out" 2>&1
flood_pid=$BG_PID
step "R12 R15: $ROUNDS x $BURST IKE messages for an unknown IKE SA to UDP 4500, back to back, each round from its own port, while $FLOOD IKE_SA_INITs arrive on 500"
sent=0
for ((r = 0; r < ROUNDS; r++)); do
  nsx pub timeout 20 "$NSD_TOOLS/pktsend" -d "$GW_PUB" -p 4500 \
    -b $((4500 + r)) -x 00000000 -c "$BURST" "$ike" >/dev/null || fail "pktsend failed"
  sent=$((sent + BURST))
done
wait "$flood_pid" || fail "ike_flood failed: $(cat "$flood_out")"
step "port 500 meanwhile: $(cat "$flood_out")"
want=$((before + sent))
got=$before
for _ in $(seq 1 50); do
  got=$(unknown)
  [ "$got" -ge "$want" ] && break
  sleep 0.2
done
js=$(nsd_summary gw)
step "engine: $((got - before)) of $sent counted; workers: $(jq -c '.workers | del(.threads)' <<<"$js")"
[ "$(jq -r .workers.handoff_dropped <<<"$js")" -eq 0 ] ||
  fail "the workers' queue to the main thread dropped $(jq -r .workers.handoff_dropped <<<"$js") IKE messages"
[ "$got" -ge "$want" ] || fail "the engine saw $((got - before)) of $sent IKE messages"
nsd_alive gw
step "PASS"
