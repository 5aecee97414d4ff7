#!/usr/bin/env bash
# X6, R15: junk on the gateway's TCP port (RFC 8229) is closed and counted
# while a real client connects over TCP meanwhile: random bytes, a wrong
# prefix, an HTTP request, an impossible frame length, a short ESP packet
# (each closed at once), a slowloris connection that sends one byte a
# second (closed by tcp_handshake_timeout), and more idle connections from
# one address than tcp_per_source (the rest refused at once, the others
# closed by the handshake limit). Last, alice's path goes silent (her NAT
# drops the connection's packets): the gateway closes the connection that
# carries nothing valid any more after tcp_idle_timeout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw tcp_handshake_timeout=3 tcp_per_source=4 tcp_idle_timeout=8
nsd_corp_peers gw alice@corp.example
nsd_start gw gw

step "X6, R15: junk connections from pub ($PUB_ADDR) to the gateway's TCP port 4500"
out=$NATSEC_TMP/junk.json
run_bg pub python3 "$here/tools/tcp_junk.py" "$GW_PUB" 4500 8 >"$out" 2>"$out.err"
junk_pid=$BG_PID

step "X6: meanwhile alice connects over TCP and pings"
nsd_conf_corp_client alice alice@corp.example transport=tcp
nsd_start alice c1
nsd_wait_up alice 1 10
[ "$(nsd_q alice '.ike_sas[0].transport')" = tcp ] || fail "alice is not over TCP"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping through the TCP tunnel"

wait_for "[ -s '$out' ]" 40 || fail "the junk client did not finish: $(cat "$out.err")"
wait "$junk_pid" 2>/dev/null || true
step "  junk client: $(cat "$out")"
for kind in random wrong_prefix http oversize_length short_esp; do
  t=$(jq -r ".$kind" "$out")
  [ "$t" != null ] && awk -v t="$t" 'BEGIN { exit !(t < 1.5) }' ||
    fail "$kind: not closed at once ($t)"
done
t=$(jq -r .slowloris "$out")
[ "$t" != null ] && awk -v t="$t" 'BEGIN { exit !(t >= 2.5 && t < 6) }' ||
  fail "slowloris: not closed by the 3 s handshake limit ($t)"
[ "$(jq -r .closed_at_once "$out")" -ge 4 ] || fail "the per-source cap did not refuse the extra connections"

status=$(nsd_json gw)
step "  gateway tcp counters: $(jq -c '.tcp | del(.connections)' <<<"$status")"
[ "$(jq -r .tcp.closed.junk <<<"$status")" -ge 5 ] || fail "junk closings not counted"
[ "$(jq -r .tcp.closed.handshake_timeout <<<"$status")" -ge 1 ] || fail "handshake timeouts not counted"
[ "$(jq -r .tcp.refused_per_source <<<"$status")" -ge 4 ] || fail "per-source refusals not counted"
[ "$(jq -r '[.ike_sas[] | select(.state == "ESTABLISHED" and .transport == "tcp")] | length' <<<"$status")" -eq 1 ] ||
  fail "alice's IKE SA over TCP is gone"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no ping after the junk"

step "X6, X10: natsecctl status shows the transport and the TCP counters"
text=$("$NSC_BIN" -s "$(nsd_sock gw)" status)
grep -E "^TCP|transport" <<<"$text" | sed 's/^/  /'
quiet_grep -x "  transport   TCP (RFC 8229)" <<<"$text" || fail "no transport line for alice's IKE SA"
quiet_grep -E "^TCP closed: .*junk [5-9]" <<<"$text" || fail "no TCP closings by reason"
quiet_grep -E "^  TCP $NAT1_PUB:[0-9]+ -> $GW_PUB:4500  proven" <<<"$text" || fail "alice's connection not listed"

step "X6, R15: alice's path goes silent; the gateway closes the idle connection"
nsx nat1 nft -f - <<EOF || fail "drop rule rejected"
table inet silent {
  chain forward {
    type filter hook forward priority -20; policy accept;
    tcp dport 4500 drop
    tcp sport 4500 drop
  }
}
EOF
nsd_wait gw '.tcp.closed.idle >= 1' 15 || fail "the idle connection was not closed: $(nsd_json gw | jq -c .tcp)"
step "  closed as idle: $(nsd_q gw '.tcp.closed | tostring')"
nsd_alive gw
step "PASS"
