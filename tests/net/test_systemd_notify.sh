#!/usr/bin/env bash
# ctest: serial
# natsecd under systemd's Type=notify protocol (X14), with a stand-in for
# systemd's notification socket (tools/notify_sink.py).
#
# X14: READY=1 is sent only once the IKE and NAT-T sockets are bound, the
#      TUN device is up with the pool's address and route, IPv4 forwarding
#      is on and the control socket listens: natsecd is stopped the moment
#      READY=1 arrives and all of that is checked in that state.
#      With WATCHDOG_USEC set, WATCHDOG=1 keep-alives keep coming from the
#      event loop, every half of the interval; RELOADING=1 and READY=1
#      around a reload; STOPPING=1 at SIGTERM, and
#      no keep-alive after it. A natsecd whose loop hangs (SIGSTOP) sends
#      no keep-alives, which is what lets systemd restart it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

sock=$NATSEC_TMP/notify.sock
out=$NATSEC_TMP/notify.txt
: >"$out"
check=$NATSEC_TMP/ready-check.sh
gwns=$(ns_name gw)
cat >"$check" <<EOC
#!/usr/bin/env bash
# Runs while natsecd is stopped at its READY=1: is everything set up?
ok=0
bad() { echo "  at READY=1: \$*" >&2; ok=1; }
ip -n $gwns -br link show nsec0 2>/dev/null | grep -q 'UP' || bad "nsec0 is not up"
ip -n $gwns -4 addr show dev nsec0 2>/dev/null | grep -q '10.99.0.1/24' || bad "nsec0 has no 10.99.0.1/24"
ip -n $gwns route show table all 2>/dev/null | grep -q '^10.99.0.0/24 dev nsec0' || bad "no route for the pool into nsec0"
[ "\$(ip netns exec $gwns cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || bad "IPv4 forwarding is off"
# Sockets are matched by inode against natsecd's own descriptors (ss -p
# would read every process's, which takes seconds on a busy machine).
fds=\$(find /proc/\$SENDER_PID/fd -lname 'socket:*' -printf '%l\\n' 2>/dev/null | tr -dc '0-9\\n')
owns() { local i; for i in "\$@"; do grep -qx "\$i" <<<"\$fds" && return 0; done; return 1; }
for port in 500 4500; do
  # shellcheck disable=SC2046
  owns \$(ip netns exec $gwns ss -Hulne "sport = :\$port" | grep -o 'ino:[0-9]*' | cut -d: -f2) ||
    bad "UDP \$port is not bound by natsecd"
done
# shellcheck disable=SC2046
owns \$(ip netns exec $gwns ss -Hxl src "$(nsd_sock gw)" | awk '{ print \$6 }') || bad "the control socket does not listen"
exit \$ok
EOC
/usr/bin/python3 "$here/tools/notify_sink.py" "$sock" "$out" bash "$check" &
BG_PIDS+=("$!")
wait_for "[ -S '$sock' ]" 5 || fail "the notification socket stand-in did not start"

step "X14: READY=1 only after sockets, TUN, routes and the control socket are set up"
nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
# WATCHDOG_PID names natsecd itself: bash execs it.
run_bg gw env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 \
  bash -c 'export WATCHDOG_PID=$$; exec "$0" "$@"' "$NSD_BIN" -c "$(nsd_conf gw)" -f \
  >>"$(nsd_log gw)" 2>&1
NSD_PID[gw]=$BG_PID
wait_for "grep -q 'CHECK=' '$out'" 30 || {
  cat "$out" "$(nsd_log gw)" >&2
  fail "no READY=1 from natsecd"
}
grep -E "READY=1|CHECK" "$out" | sed 's/^/  notify: /'
grep -q " ${NSD_PID[gw]} CHECK=0\$" "$out" || fail "natsecd said READY=1 before it was set up"
[ "$(grep -c 'READY=1' "$out")" -eq 1 ] || fail "READY=1 sent more than once"
grep -q "READY=1.*STATUS=natsecd .* gateway on nsec0" "$out" || fail "READY=1 without its STATUS"
nsd_wait gw '.role == "gateway"' 5 || fail "natsecd does not answer after READY=1"

step "X14: WATCHDOG=1 keeps coming from the event loop, every half of WATCHDOG_USEC"
sleep 3
wd=$(grep -c ' WATCHDOG=1$' "$out" || true)
gap=$(awk '/ WATCHDOG=1$/ { if (last != "") { d = $1 - last; if (d > max) max = d } last = $1 } END { printf "%.3f", max }' "$out")
echo "  $wd keep-alives so far, longest gap ${gap}s"
[ "$wd" -ge 6 ] || fail "only $wd WATCHDOG=1 in about 3 s (expected one every 0.5 s)"
awk -v g="$gap" 'BEGIN { exit !(g <= 0.8) }' || fail "a gap of ${gap}s between keep-alives (interval 0.5 s)"

step "X14: a stopped loop sends no keep-alives"
kill -STOP "${NSD_PID[gw]}"
n0=$(grep -c ' WATCHDOG=1$' "$out" || true)
sleep 1.5
n1=$(grep -c ' WATCHDOG=1$' "$out" || true)
kill -CONT "${NSD_PID[gw]}"
[ "$n1" -eq "$n0" ] || fail "keep-alives while natsecd was stopped"
wait_for "[ \$(grep -c ' WATCHDOG=1\$' '$out') -gt $n1 ]" 3 || fail "no keep-alive after natsecd continued"

step "X14: a reload (SIGHUP) says RELOADING=1, then READY=1"
kill -HUP "${NSD_PID[gw]}"
wait_for "[ \$(grep -c 'READY=1' '$out') -ge 2 ]" 5 || fail "no READY=1 after the reload"
sed -n '/RELOADING=1/,/READY=1/p' "$out" | quiet_grep 'READY=1' || fail "no RELOADING=1 before the second READY=1"
grep -E "RELOADING=1|READY=1" "$out" | tail -n 2 | sed 's/^/  notify: /'

step "X14: STOPPING=1 at SIGTERM, then no keep-alive"
kill -TERM "${NSD_PID[gw]}"
wait_for "! kill -0 ${NSD_PID[gw]}" 5 || fail "natsecd did not stop"
grep -q ' STOPPING=1$' "$out" || fail "no STOPPING=1"
! sed -n '/ STOPPING=1$/,$p' "$out" | quiet_grep 'WATCHDOG=1' || fail "a keep-alive after STOPPING=1"
step "PASS"
