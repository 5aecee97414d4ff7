#!/usr/bin/env bash
# Where natsecd logs and what every line says (X14).
#
# X14: log_target = syslog sends every line to syslog(3) (facility daemon,
#      the priority of its level, "natsecd[PID]:"), which journald keeps
#      under systemd; with log_target unset (auto) natsecd logs to syslog
#      when it goes to the background or its stderr is the journal
#      (JOURNAL_STREAM), and to stderr when run with -f from a shell (also
#      a shell inside a service: INVOCATION_ID alone does not count).
#      Every line has its level, and a line about a peer ends with the
#      peer's identity and outer address ("[peer alice@corp.example
#      198.51.100.11:4500]", after NAT, R4).
# The syslog daemon is a stand-in (tools/syslog_sink.py) bound to /dev/log
# in a private mount namespace (tools/with_devlog.sh): nothing reaches the
# host's log.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

sock=$NATSEC_TMP/log.sock
sys=$NATSEC_TMP/syslog.txt
: >"$sys"
/usr/bin/python3 "$here/tools/syslog_sink.py" "$sock" "$sys" &
BG_PIDS+=("$!")
wait_for "[ -S '$sock' ]" 5 || fail "the syslog stand-in did not start"

# Start natsecd for NAME in NS with /dev/log the stand-in: gw_devlog NAME NS [natsecd options...].
# The processes exec one another, so $BG_PID is natsecd's PID.
gw_devlog() {
  local name=$1 ns=$2
  shift 2
  run_bg "$ns" unshare --mount --propagation private bash "$here/tools/with_devlog.sh" "$sock" \
    "$NSD_BIN" -c "$(nsd_conf "$name")" "$@" >>"$(nsd_log "$name")" 2>&1
  NSD_PID[$name]=$BG_PID
}

# The syslog lines of PID: sys_of PID.
sys_of() { grep -E "natsecd\[$1\]: " "$sys" || true; }

# Fail unless every syslog line of PID has the priority its level word says: check_levels PID.
check_levels() {
  local bad
  bad=$(sys_of "$1" | grep -vE '^<27>.*\]: ERROR |^<28>.*\]: WARN |^<30>.*\]: INFO |^<31>.*\]: DEBUG ' || true)
  [ -z "$bad" ] || fail "syslog lines without a level or with the wrong priority: $bad"
}

step "X14: log_target = syslog, natsecd -f: every line to syslog with its level and priority"
nsd_conf_gateway gw log_target=syslog
nsd_corp_peers gw alice@corp.example
gw_devlog gw gw -f
wait_for "'$NSC_BIN' -s '$(nsd_sock gw)' status --json" 10 || {
  cat "$(nsd_log gw)" "$sys" >&2
  fail "natsecd with log_target = syslog did not start"
}
gw_pid=${NSD_PID[gw]}
wait_for "sys_of $gw_pid | quiet_grep 'started'" 5 || fail "no 'started' line in syslog"
sys_of "$gw_pid" | head -n 3 | sed 's/^/  syslog: /'

step "X14: a client run with -f (INVOCATION_ID inherited from a service) logs to stderr"
nsd_conf_corp_client alice alice@corp.example
INVOCATION_ID=0123456789abcdef0123456789abcdef nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice cannot ping the server"
grep -q ' INFO natsecd .* started' "$(nsd_log alice)" || fail "alice's stderr has no start line"
[ "$(grep -c "natsecd\[${NSD_PID[alice]}\]" "$sys" || true)" -eq 0 ] || fail "alice logged to syslog"
[ ! -s "$(nsd_log gw)" ] || { cat "$(nsd_log gw)" >&2; fail "the syslog gateway wrote to stderr"; }

step "X14: lines about a peer name its identity and outer address (after NAT)"
remote=$(nsd_q gw '.ike_sas[0].remote')
[[ $remote == "$NAT1_PUB":* ]] || fail "the gateway sees alice at $remote"
ctx="[peer alice@corp.example $remote]"
sys_of "$gw_pid" | grep -F "$ctx" | head -n 3 | sed 's/^/  gw: /'
n=$(sys_of "$gw_pid" | grep -cF "$ctx" || true)
[ "$n" -ge 1 ] || fail "no gateway line ends with '$ctx'"
# Whatever the gateway logged about establishing alice's SAs names her.
est=$(sys_of "$gw_pid" | grep -E 'IKE SA [0-9a-f]+ established|CHILD SA installed' || true)
[ -n "$est" ] || fail "the gateway logged nothing about establishing alice's SA"
! grep -vF "$ctx" <<<"$est" | quiet_grep . || fail "lines about alice's SA without '$ctx': $(grep -vF "$ctx" <<<"$est")"
# The client's lines about the gateway name it likewise.
grep -qF "[peer vpn.corp.example $GW_PUB:4500]" "$(nsd_log alice)" ||
  fail "no client line ends with '[peer vpn.corp.example $GW_PUB:4500]'"
# The IKE_SA_INIT before anyone is authenticated: the sender's address.
grep -qE "IKE_SA_INIT done.* \[peer $GW_PUB:[0-9]+\]\$" "$(nsd_log alice)" ||
  fail "alice's IKE_SA_INIT line does not name the gateway's address"
"$NSC_BIN" -s "$(nsd_sock gw)" log-level debug >/dev/null
"$NSC_BIN" -s "$(nsd_sock gw)" rekey child >/dev/null
wait_for "sys_of $gw_pid | quiet_grep '^<31>.*\]: DEBUG .*\[peer alice@corp.example '" 5 ||
  fail "no debug line with priority 7 about alice after log-level debug and a re-key"
check_levels "$gw_pid"
"$NSC_BIN" -s "$(nsd_sock alice)" down >/dev/null
grep -qF "deleting IKE SA" "$(nsd_log alice)" || fail "alice did not log her down"
! grep -E "ike: (deleting IKE SA|CHILD SA removed|.*re-keying)" "$(nsd_log alice)" "$sys" | grep -vq "\[peer " ||
  fail "lines about deleting or re-keying an SA without the peer: $(grep -E "ike: (deleting IKE SA|CHILD SA removed|.*re-keying)" "$(nsd_log alice)" "$sys" | grep -v "\[peer ")"
nsd_stop alice
nsd_stop gw

step "X14: log_target unset, natsecd in the background: syslog"
nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
gw_devlog gw gw
wait "$BG_PID" || fail "natsecd in the background exited $? at start"
bg_pid=$(nsd_q gw .pid)
BG_PIDS+=("$bg_pid")
[ "$bg_pid" != "${NSD_PID[gw]}" ] || fail "natsecd did not go to the background"
wait_for "sys_of $bg_pid | quiet_grep 'started'" 5 || fail "no 'started' line in syslog from the background natsecd"
check_levels "$bg_pid"
[ ! -s "$(nsd_log gw)" ] || { cat "$(nsd_log gw)" >&2; fail "the background natsecd wrote to stderr"; }
stop_pid "$bg_pid"

step "X14: log_target unset, stderr is the journal (JOURNAL_STREAM): syslog"
journal=$NATSEC_TMP/journal-stream
: >"$journal"
js=$(stat -c '%d:%i' "$journal")
run_bg gw unshare --mount --propagation private env JOURNAL_STREAM="$js" \
  bash "$here/tools/with_devlog.sh" "$sock" "$NSD_BIN" -c "$(nsd_conf gw)" -f 2>>"$journal"
js_pid=$BG_PID
wait_for "sys_of $js_pid | quiet_grep 'started'" 10 || fail "no 'started' line in syslog with JOURNAL_STREAM set"
[ ! -s "$journal" ] || { cat "$journal" >&2; fail "natsecd wrote to the journal stream instead of syslog"; }
check_levels "$js_pid"
stop_pid "$js_pid"
step "PASS"
