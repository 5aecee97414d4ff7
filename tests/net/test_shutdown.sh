#!/usr/bin/env bash
# ctest: serial
# X2: graceful shutdown. natsecd stopped with SIGTERM or SIGINT sends an
# INFORMATIONAL DELETE for every IKE SA, removes what it set up on the host
# (TUN device, routes, policy rule) and exits 0, so its peer tears down at
# once instead of after its liveness timeout (dpd is 60 s here: anything
# within a few seconds is the DELETE).
#   (a) alice (nat1) and the gateway up; SIGTERM alice: the gateway drops
#       her IKE SA within 2 s and frees her virtual IP: its pool is a /30
#       with one client address, which bob (nat2) then gets;
#   (b) SIGTERM the gateway: bob logs the gateway's DELETE at once,
#       removes his virtual IP and tunnel routes (the policy rule stays
#       while natsecd runs) and tries to reconnect by himself (the gateway
#       stays down here; test_gateway_restart.sh restarts it); then SIGINT
#       bob, whose attempt is still half-open: no DELETE to send.
# After each exit, nothing of natsecd is left in its namespace.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

DPD=60
TABLE=220 # natsecd's default route_table
POOL=10.99.0.0/30
DOWN_MAX_MS=2000

netns_init
nsd_check_build
topo_setup

# What natsecd leaves in NS ("link", "rule", "routes"), one word per thing
# still there: host_state NS.
host_state() {
  local ns=$1
  nsx "$ns" ip link show nsec0 >/dev/null 2>&1 && echo link
  nsx "$ns" ip rule show | quiet_grep "lookup $TABLE" && echo rule
  [ -n "$(nsx "$ns" ip -4 route show table all | grep -E "dev nsec0|table $TABLE")" ] && echo routes
  return 0
}

# Sends SIGNAL to natsecd NAME, waits for it (at most 5 s), fails unless it
# exits 0 and left nothing in NS; sets TOOK to how long it took (ms):
# stop_graceful NAME NS SIGNAL.
stop_graceful() {
  local name=$1 ns=$2 sig=$3 pid=${NSD_PID[$1]} t0 rc=0 i left
  t0=$(now_ms)
  kill "-$sig" "$pid"
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "natsecd $name still runs 5 s after SIG$sig"
  wait "$pid" || rc=$?
  unset "NSD_PID[$name]"
  [ "$rc" -eq 0 ] || fail "natsecd $name exited with $rc after SIG$sig: $(tail -n 5 "$(nsd_log "$name")")"
  left=$(host_state "$ns" | tr '\n' ' ')
  [ -z "$left" ] || fail "natsecd $name left in $ns: $left($(nsx "$ns" ip rule show; nsx "$ns" ip -4 route show table all))"
  TOOK=$(($(now_ms) - t0))
}

nsd_conf_gateway gw dpd=$DPD
sed -i "s|^pool = .*|pool = $POOL|" "$(nsd_conf gw)"
nsd_corp_peers gw alice@corp.example bob@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example dpd=$DPD
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
vip=$(nsd_q alice .virtual_ip)
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
# What the checks after exit look for must be there before (not vacuous).
# (Waited for, at most 5 s: one look right after the first ping saw the
# rule missing now and then, and present a moment later.)
wait_for '[ "$(host_state c1 | tr "\n" " ")" = "link rule routes " ]' 5 ||
  fail "alice's natsecd has not set up link, rule and routes: $(host_state c1 | tr '\n' ' ')"
wait_for '[ "$(host_state gw | tr "\n" " ")" = "link routes " ]' 5 ||
  fail "the gateway's natsecd has not set up link and pool route: $(host_state gw | tr '\n' ' ')"

step "X2 (a): SIGTERM alice (virtual IP $vip, the pool's only client address)"
t_kill=$(now_ms)
stop_graceful alice c1 TERM
grep -q 'shutdown: DELETE sent to 1 peer(s)' "$(nsd_log alice)" ||
  fail "alice did not send her DELETE: $(tail -n 10 "$(nsd_log alice)")"
wait_for "[ \"\$(nsd_q gw '[.ike_sas[] | select(.remote_id == \"alice@corp.example\")] | length')\" = 0 ]" 5 ||
  fail "the gateway still holds alice's IKE SA: $(nsd_json gw)"
gone=$(($(now_ms) - t_kill))
step "  alice exited 0 after $TOOK ms, nothing left in her namespace; the gateway dropped her IKE SA $gone ms after the signal"
[ "$gone" -le "$DOWN_MAX_MS" ] || fail "the gateway took $gone ms to drop alice's IKE SA (limit $DOWN_MAX_MS)"
grep -q 'deleted (deleted by the peer)' "$(nsd_log gw)" || fail "the gateway did not log alice's DELETE"

step "X2 (a): bob gets the virtual IP alice freed"
nsd_conf_corp_client bob bob@corp.example dpd=$DPD
nsd_start bob c2
nsd_wait_up bob 1 15
[ "$(nsd_q bob .virtual_ip)" = "$vip" ] || fail "bob got $(nsd_q bob .virtual_ip), not the freed $vip"
nsx c2 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel for bob"

step "X2 (b): SIGTERM the gateway"
old_spi=$(nsd_q bob '.ike_sas[0].spi_i')
t_kill=$(now_ms)
stop_graceful gw gw TERM
grep -q 'shutdown: DELETE sent to 1 peer(s)' "$(nsd_log gw)" || fail "the gateway did not send its DELETE"
wait_for "grep -q 'connection down: deleted by the peer' '$(nsd_log bob)'" 5 ||
  fail "bob did not hear the gateway's DELETE: $(tail -n 10 "$(nsd_log bob)")"
heard=$(($(now_ms) - t_kill))
step "  the gateway exited 0 after $TOOK ms, nothing left in its namespace; bob logged its DELETE $heard ms after the signal"
[ "$heard" -le "$DOWN_MAX_MS" ] || fail "bob took $heard ms to hear the gateway's DELETE (limit $DOWN_MAX_MS)"
nsd_alive bob
wait_for "[ -z \"\$(host_state c2 | grep routes)\" ]" 2 ||
  fail "bob kept his virtual IP or tunnel routes: $(nsx c2 ip -4 route show table all | grep -E "dev nsec0|table $TABLE")"
[ "$(nsd_q bob '.tunnel_up')" = false ] || fail "bob still reports his tunnel up: $(nsd_json bob)"
# A reconnect attempt may be half-open by now; the deleted IKE SA is gone
# and nothing is established (the gateway is down).
[ "$(nsd_q bob "[.ike_sas[] | select(.spi_i == \"$old_spi\" or .state == \"ESTABLISHED\")] | length")" = 0 ] ||
  fail "bob still lists the deleted or an established IKE SA: $(nsd_json bob)"
wait_for "grep -q 'reconnect: attempt' '$(nsd_log bob)'" 3 ||
  fail "bob does not try to reconnect after the gateway's DELETE: $(tail -n 5 "$(nsd_log bob)")"

step "X2: SIGINT bob (no IKE SA established): exits 0 and cleans up too"
stop_graceful bob c2 INT
grep -q 'shutdown: DELETE sent to 0 peer(s)' "$(nsd_log bob)" || fail "bob's shutdown not logged"
step "  bob exited 0 after $TOOK ms, nothing left in his namespace"
step "PASS"
