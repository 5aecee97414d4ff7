#!/usr/bin/env bash
# systemd/natsecd.service (X14): `systemd-analyze verify` finds nothing to
# say about it (it exits 0 even with unknown keys, so its output must be
# empty too), and it has what an operable, confined IPsec service needs:
# Type=notify with a watchdog, a reload, a runtime directory for the
# control socket, never root, exactly the three network capabilities, and
# the file system protections. The manuals it names are checked where they
# are installed (tests/net/test_deb_package.sh); here --man=no.
set -euo pipefail
build=${NATSEC_BUILD:?set NATSEC_BUILD}
src=${NATSEC_SRC:?set NATSEC_SRC}
unit=$src/systemd/natsecd.service
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd, scripts/deps.sh)"
[ -f "$unit" ] || fail "no $unit"

# The installed paths do not exist here: verify a copy that runs the build.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/natsec-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sed -e "s#/usr/sbin/natsecd#$build/src/daemon/natsecd#g" -e "s#/usr/sbin/natsecctl#$build/src/ctl/natsecctl#g" \
  "$unit" >"$tmp/natsecd.service"
rc=0
out=$(systemd-analyze verify --man=no "$tmp/natsecd.service" 2>&1) || rc=$?
[ "$rc" -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $rc): $out"
echo "ok: systemd-analyze verify is clean"

# A broken copy is reported, so the check above can see a fault.
sed 's/^ProtectHome=yes/ProtectHome=perhaps/' "$tmp/natsecd.service" >"$tmp/broken.service"
out=$(systemd-analyze verify --man=no "$tmp/broken.service" 2>&1 || true)
[ -n "$out" ] || fail "systemd-analyze verify says nothing about ProtectHome=perhaps"

# One value of KEY in [Service]: value KEY.
value() {
  awk -F= -v k="$1" '/^\[/ { sec = $0 } sec == "[Service]" && $1 == k { sub(/^[^=]*=/, ""); print }' "$unit"
}
want() {
  [ "$(value "$1")" = "$2" ] || fail "$1 is '$(value "$1")', expected '$2'"
}
want Type notify
want NotifyAccess main
[[ $(value WatchdogSec) =~ ^[0-9]+s$ ]] || fail "no WatchdogSec"
[[ $(value ExecStart) == "/usr/sbin/natsecd -f -c /etc/natsec/natsecd.conf" ]] ||
  fail "ExecStart is '$(value ExecStart)'"
[ "$(value ExecReload)" = "/usr/sbin/natsecctl reload" ] || fail "ExecReload is '$(value ExecReload)'"
want RuntimeDirectory natsec
want StateDirectory natsec
want StateDirectoryMode 0700
want User natsec
want NoNewPrivileges yes
want ProtectSystem strict
want ProtectHome yes
want PrivateTmp yes
caps="CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE"
want CapabilityBoundingSet "$caps"
want AmbientCapabilities "$caps"
# The control socket natsecd listens on by default is in the runtime directory.
grep -q '"/run/natsec/natsecd.sock"' "$src/src/conf/conf.c" || fail "the default control socket is not in /run/natsec"
# The QCD secret natsecd makes by default is in the state directory.
grep -q '"/var/lib/natsec/qcd_secret"' "$src/src/conf/conf.h" || fail "the default QCD secret is not in /var/lib/natsec"
echo "ok: Type=notify, watchdog, reload, natsec user, capabilities ($caps), protections"
echo PASS
