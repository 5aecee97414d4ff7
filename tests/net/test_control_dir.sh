#!/usr/bin/env bash
# The folder of natsecd's control socket (R15): whoever may write it can
# put a socket of their own where natsecctl looks for natsecd's, and hear
# or answer what it asks. natsecd makes a missing folder with mode 0700
# and refuses to start when its group or others may write an existing one.
# Only the gateway's namespace is needed; about 5 s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
inet_create
gw_create

# The gateway configuration NAME with its control socket at PATH: with_control NAME PATH.
with_control() {
  nsd_conf_gateway "$1"
  nsd_corp_peers "$1" alice@corp.example
  sed -i "s#^control = .*#control = $2#" "$(nsd_conf "$1")"
}

step "R15: a control folder others may write (mode 0777): natsecd refuses to start"
open_dir=$NATSEC_TMP/ctl-open
mkdir "$open_dir"
chmod 0777 "$open_dir"
with_control open "$open_dir/natsecd.sock"
set +e
# Bounded: a natsecd that wrongly starts is stopped after 10 s and fails the test.
msg=$(nsx gw timeout 10 "$NSD_BIN" -c "$(nsd_conf open)" -f 2>&1)
rc=$?
set -e
echo "  natsecd: rc $rc: $(grep -E 'control' <<<"$msg" | head -n 1)"
[ "$rc" -eq 1 ] || fail "natsecd started (rc $rc) with its control folder open to others"
grep -qF "control: the folder of $open_dir/natsecd.sock: others may write $open_dir (mode 0777)" <<<"$msg" ||
  fail "no reason naming the folder: $msg"
[ ! -e "$open_dir/natsecd.sock" ] || fail "natsecd made its socket in a folder others may write"

step "R15: a missing control folder is made with mode 0700"
new_dir=$NATSEC_TMP/ctl-new
with_control new "$new_dir/natsecd.sock"
run_bg gw "$NSD_BIN" -c "$(nsd_conf new)" -f >>"$(nsd_log new)" 2>&1
NSD_PID[new]=$BG_PID
wait_for "'$NSC_BIN' -s '$new_dir/natsecd.sock' status --json" 10 || {
  cat "$(nsd_log new)" >&2
  fail "natsecd did not come up with a control folder it made"
}
mode=$(stat -c %a "$new_dir")
echo "  $new_dir: mode $mode"
[ "$mode" = 700 ] || fail "the control folder was made with mode $mode, not 700"
nsd_stop new
step "PASS"
