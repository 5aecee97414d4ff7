#!/usr/bin/env bash
# ctest: serial
# Least privilege (X14): natsecd started as root with `user = nobody`
# becomes that user after set-up, keeping only CAP_NET_ADMIN, CAP_NET_RAW
# and CAP_NET_BIND_SERVICE in its main thread (none in the outbound
# worker), no_new_privs, and the system call filter on every thread; and
# the gateway and the client (which configures its tunnel's address and
# routes only after the drop) still do everything:
#   - a tunnel with traffic, CHILD_SA and IKE SA re-keys (X3), a NAT
#     rebinding the gateway follows (R4), a reload, a clean stop;
#   - natsecd started as another user without capabilities says which are
#     missing and why, and creates nothing; with exactly those three as
#     ambient capabilities (what systemd's unit gives), it runs.
# /proc/PID/status and /proc/PID/task/*/status are read after set-up.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup
# After the drop natsecd reads its file again at a reload, as nobody: the
# file is root's, readable by the group natsecd runs as (0640), as the
# Debian package installs it.
chmod 0755 "$NATSEC_TMP"
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
WANT_CAPS=0000000000003400 # CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13)

# Field F of /proc/PID/status (or of a task's): status_of FILE FIELD.
field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "$1"; }

# Check the credentials of natsecd NAME after set-up: check_creds NAME.
check_creds() {
  local pid=${NSD_PID[$1]} st t
  st=/proc/$pid/status
  echo "  $1 (pid $pid): Uid $(field "$st" Uid) Gid $(field "$st" Gid) Groups '$(field "$st" Groups)' CapEff $(field "$st" CapEff) CapPrm $(field "$st" CapPrm) CapBnd $(field "$st" CapBnd) CapAmb $(field "$st" CapAmb) NoNewPrivs $(field "$st" NoNewPrivs) Seccomp $(field "$st" Seccomp)"
  [ "$(field "$st" Uid)" = "$NOBODY $NOBODY $NOBODY $NOBODY" ] || fail "$1: Uid is $(field "$st" Uid)"
  [ "$(field "$st" Gid)" = "$NOGROUP $NOGROUP $NOGROUP $NOGROUP" ] || fail "$1: Gid is $(field "$st" Gid)"
  [ -z "$(field "$st" Groups)" ] || fail "$1: supplementary groups $(field "$st" Groups)"
  [ "$(field "$st" CapEff)" = $WANT_CAPS ] || fail "$1: CapEff $(field "$st" CapEff)"
  [ "$(field "$st" CapPrm)" = $WANT_CAPS ] || fail "$1: CapPrm $(field "$st" CapPrm)"
  [ "$(field "$st" CapInh)" = 0000000000000000 ] || fail "$1: CapInh $(field "$st" CapInh)"
  [ "$(field "$st" CapAmb)" = 0000000000000000 ] || fail "$1: CapAmb $(field "$st" CapAmb)"
  [ "$(field "$st" NoNewPrivs)" = 1 ] || fail "$1: NoNewPrivs is not set"
  [ "$(field "$st" Seccomp)" = 2 ] || fail "$1: no seccomp filter (Seccomp $(field "$st" Seccomp))"
  # Every thread: the same user, no capability beyond the three, filtered.
  local n=0
  for t in /proc/"$pid"/task/*/status; do
    n=$((n + 1))
    [ "$(field "$t" Uid)" = "$NOBODY $NOBODY $NOBODY $NOBODY" ] || fail "$1: thread $t has Uid $(field "$t" Uid)"
    (($((16#$(field "$t" CapEff))) & ~0x3400)) && fail "$1: thread $t has CapEff $(field "$t" CapEff)"
    [ "$(field "$t" Seccomp)" = 2 ] || fail "$1: thread $t is not filtered"
  done
  echo "  $1: $n threads, each as nobody, filtered, no capability beyond the three"
}

step "X14: gateway and client started as root with user = nobody"
nsd_conf_gateway gw user=nobody
nsd_corp_peers gw alice@corp.example
chgrp nogroup "$(nsd_conf gw)" && chmod 0640 "$(nsd_conf gw)"
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example user=nobody child_lifetime=3600
chgrp nogroup "$(nsd_conf alice)" && chmod 0640 "$(nsd_conf alice)"
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
grep -q "running as uid $NOBODY gid $NOGROUP" "$(nsd_log gw)" || fail "the gateway did not log its drop"
check_creds gw
check_creds alice

step "X14: the tunnel carries traffic (the client set its address and routes as nobody)"
nsx c1 ping -n -c 5 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice cannot ping the server"
data=$NATSEC_TMP/data.bin
head -c $((4 * 1024 * 1024)) /dev/urandom >"$data"
run_bg srv "$NSD_TOOLS/tcpxfer" -l 5001 -r -t 30 >"$NATSEC_TMP/recv.out" 2>/dev/null
recv_pid=$BG_PID
wait_for "nsx srv ss -ltn | quiet_grep ':5001 '" 5 || fail "the receiver did not listen"
nsx c1 "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p 5001 -s "$data" -t 30 >/dev/null || fail "sending 4 MB failed"
wait "$recv_pid" || fail "the receiver failed: $(cat "$NATSEC_TMP/recv.out")"
[ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$NATSEC_TMP/recv.out")" = "$(sha256sum "$data" | cut -d' ' -f1)" ] ||
  fail "4 MB over TCP arrived damaged"
echo "  4 MB over TCP through the tunnel, SHA-256 checked"

step "X3: CHILD_SA and IKE SA re-keys as nobody"
c0=$(nsd_q gw '.counters.ike.child_rekeys')
i0=$(nsd_q gw '.counters.ike.ike_rekeys')
"$NSC_BIN" -s "$(nsd_sock alice)" rekey child >/dev/null
nsd_wait gw ".counters.ike.child_rekeys > $c0" 10 || fail "no CHILD_SA re-key"
"$NSC_BIN" -s "$(nsd_sock gw)" rekey ike >/dev/null
nsd_wait gw ".counters.ike.ike_rekeys > $i0" 10 || fail "no IKE SA re-key"
nsx c1 ping -n -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no traffic after the re-keys"

step "R4: a NAT rebinding the gateway follows, as nobody"
before=$(nsd_q gw '.ike_sas[0].remote')
moves=$(nsd_q gw '.counters.ike.peer_moves')
nat_set_port_range nat1 20000 30000
nat_flush_conntrack nat1
nsx c1 ping -n -c 5 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || true
nsd_wait gw ".counters.ike.peer_moves > $moves" 10 || fail "the gateway did not follow the NAT"
after=$(nsd_q gw '.ike_sas[0].remote')
echo "  gateway moved alice from $before to $after"
[ "$before" != "$after" ] || fail "alice's address did not change"
nsx c1 ping -n -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no traffic after the rebinding"

step "X14: a reload as nobody; no call refused by the filter in either log"
"$NSC_BIN" -s "$(nsd_sock gw)" reload >/dev/null || fail "the reload as nobody failed"
! grep -i "not permitted" "$(nsd_log gw)" "$(nsd_log alice)" || fail "a refused operation in a log"
check_creds gw

step "X14: both stop cleanly: the client's policy rule undone, no error or warning logged"
nsd_stop alice
nsd_stop gw
grep -q 'natsecd: stopped' "$(nsd_log gw)" || fail "the gateway did not stop cleanly"
[ -z "$(ip -n "$(ns_name c1)" rule show | grep 'lookup 220' || true)" ] || fail "alice's policy rule is left"
! grep -E " (ERROR|WARN) " "$(nsd_log gw)" "$(nsd_log alice)" | grep -v "keeps running as root" ||
  fail "an error or warning in a log"

step "X14: started as nobody without capabilities: it says what is missing, creates nothing"
# Its QCD secret (X2) goes where that user may write it (systemd's
# StateDirectory=natsec is the natsec user's); the folder comes below.
run=$NATSEC_TMP/run-gw2
nsd_conf_gateway gw2 qcd_secret_file="$run/qcd_secret"
nsd_corp_peers gw2 alice@corp.example
chgrp nogroup "$(nsd_conf gw2)" && chmod 0640 "$(nsd_conf gw2)"
rc=0
nsx gw setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups --inh-caps=-all \
  "$NSD_BIN" -c "$(nsd_conf gw2)" -f >"$NATSEC_TMP/nocaps.out" 2>&1 || rc=$?
sed 's/^/  /' "$NATSEC_TMP/nocaps.out"
[ "$rc" -eq 1 ] || fail "natsecd without capabilities exited $rc"
grep -q "without CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE (CAP_NET_ADMIN for the TUN device" \
  "$NATSEC_TMP/nocaps.out" || fail "the message does not name the missing capabilities and why"
grep -q "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE" "$NATSEC_TMP/nocaps.out" ||
  fail "the message does not say how to give them"
[ ! -e "$(nsd_sock gw2)" ] || fail "a control socket was created"
[ ! -e "$run/qcd_secret" ] || fail "a QCD secret was made"
! ip -n "$(ns_name gw)" link show nsec0 >/dev/null 2>&1 || fail "a TUN device was created"

step "X14: started as nobody with exactly the three capabilities (the systemd unit's way)"
# Its control socket goes where that user may create it (systemd's
# RuntimeDirectory=natsec is the natsec user's), and its QCD secret.
mkdir -m 0750 "$run"
chown "$NOBODY:$NOGROUP" "$run"
sed -i "s#^control = .*#control = $run/natsecd.sock#" "$(nsd_conf gw2)"
run_bg gw setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups \
  --inh-caps=+net_admin,+net_raw,+net_bind_service --ambient-caps=+net_admin,+net_raw,+net_bind_service \
  "$NSD_BIN" -c "$(nsd_conf gw2)" -f >>"$(nsd_log gw2)" 2>&1
NSD_PID[gw2]=$BG_PID
wait_for "'$NSC_BIN' -s '$run/natsecd.sock' status --json" 10 || {
  cat "$(nsd_log gw2)" >&2
  fail "natsecd with the three ambient capabilities did not start"
}
st=/proc/${NSD_PID[gw2]}/status
echo "  gw2: Uid $(field "$st" Uid) CapEff $(field "$st" CapEff) CapInh $(field "$st" CapInh) Seccomp $(field "$st" Seccomp)"
[ "$(field "$st" Uid)" = "$NOBODY $NOBODY $NOBODY $NOBODY" ] || fail "gw2 does not run as nobody"
[ "$(field "$st" CapEff)" = $WANT_CAPS ] || fail "gw2: CapEff $(field "$st" CapEff)"
[ "$(field "$st" Seccomp)" = 2 ] || fail "gw2: no seccomp filter"
[ "$(stat -c '%a %u %s' "$run/qcd_secret")" = "600 $NOBODY 32" ] ||
  fail "gw2's QCD secret is $(stat -c '%a %u %s' "$run/qcd_secret"), expected mode 600, nobody's, 32 bytes"
nsd_stop gw2
step "PASS"
