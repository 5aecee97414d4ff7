#!/usr/bin/env bash
# The Debian package (X14): `make deb` (scripts/mkdeb.sh: debian/,
# debhelper, dpkg-buildpackage) builds natsec_<VERSION>_<arch>.deb,
# lintian finds no error in it, and it installs into a throwaway root (an
# overlay over / in this test's private mount namespace, entered with
# chroot: the host's / is never written) where
#   - the files are there with their modes: natsecd, natsecctl, the unit,
#     the manual pages, /etc/natsec/natsecd.conf as a conffile, root's and
#     readable by the natsec group only (it holds PSKs);
#   - the natsec system user exists;
#   - systemd-analyze verify finds nothing to say about the installed unit
#     (its manual pages included);
#   - natsecd started from the installed path with the unit's ExecStart,
#     User= and AmbientCapabilities= (setpriv does what systemd would), in
#     the gateway's network namespace, brings a tunnel up with a client;
#   - dpkg --purge leaves nothing: no file, no user, no group.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The whole test runs in a private mount namespace: the overlay and the
# chroot's mounts vanish with it, whatever happens.
if [ -z "${NATSEC_DEB_MNTNS:-}" ]; then
  NATSEC_DEB_MNTNS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

for t in dpkg-buildpackage dh lintian pandoc systemd-analyze setpriv nsenter; do
  command -v "$t" >/dev/null || fail "$t is missing (scripts/deps.sh)"
done
netns_init
nsd_check_build

# The throwaway root, outside NATSEC_TMP so nothing ever deletes through
# its mounts; unmounted first at exit (and gone with the namespace anyway).
R=$(mktemp -d /tmp/natsec-debroot.XXXXXX)
OVL=$(mktemp -d /tmp/natsec-debovl.XXXXXX)
root_cleanup() {
  umount -R -l "$R" 2>/dev/null || true
  umount -l "$OVL" 2>/dev/null || true
  rmdir "$R" "$OVL" 2>/dev/null || true
}
trap 'root_cleanup; netns_cleanup' EXIT
inroot() { chroot "$R" "$@"; }

version=$(head -n 1 "$NATSEC_SRC/VERSION")
arch=$(dpkg --print-architecture)

step "X14: make deb builds natsec_${version}_$arch.deb"
deb=$("$NATSEC_SRC/scripts/mkdeb.sh" "$NATSEC_BUILD/deb") || fail "scripts/mkdeb.sh failed"
[ "$(basename "$deb")" = "natsec_${version}_$arch.deb" ] || fail "the package is $deb"
echo "  $deb ($(stat -c %s "$deb") bytes)"

step "X14: lintian reports no error"
lintian --fail-on error "$deb" >"$NATSEC_TMP/lintian.txt" 2>&1 || {
  cat "$NATSEC_TMP/lintian.txt" >&2
  fail "lintian reports errors"
}
echo "  lintian: $(grep -c '^E: ' "$NATSEC_TMP/lintian.txt" || true) errors, $(grep -c '^W: ' "$NATSEC_TMP/lintian.txt" || true) warnings"
grep '^W: ' "$NATSEC_TMP/lintian.txt" | sed 's/^/    /' || true

step "X14: the throwaway root: an overlay over / in this test's mount namespace"
mount -t tmpfs -o size=512m natsec-debovl "$OVL"
mkdir "$OVL/upper" "$OVL/work"
mount -t overlay natsec-debroot -o "lowerdir=/,upperdir=$OVL/upper,workdir=$OVL/work" "$R"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=0755 natsec-run "$R/run"
mount -t tmpfs -o mode=1777 natsec-tmp "$R/tmp"
# /dev with only what dpkg, its scripts and natsecd open, from the real one.
mount -t tmpfs -o mode=0755,size=64k natsec-dev "$R/dev"
for n in null zero urandom random; do
  touch "$R/dev/$n"
  mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir "$R/dev/net"
touch "$R/dev/net/tun"
mount --bind /dev/net/tun "$R/dev/net/tun"
touch "$OVL/upper/.natsec-throwaway"
[ -e "$R/.natsec-throwaway" ] && [ ! -e /.natsec-throwaway ] || fail "the root is not the overlay"
! inroot dpkg -s natsec >/dev/null 2>&1 || fail "natsec is installed already in the host's /"

step "X14: dpkg -i in the throwaway root"
cp "$deb" "$R/tmp/"
inroot dpkg -i "/tmp/$(basename "$deb")" >"$NATSEC_TMP/dpkg-i.txt" 2>&1 || {
  cat "$NATSEC_TMP/dpkg-i.txt" >&2
  fail "dpkg -i failed"
}
[ "$(inroot dpkg-query -W -f '${Status} ${Version}' natsec)" = "install ok installed $version" ] ||
  fail "natsec is not installed: $(inroot dpkg-query -W -f '${Status} ${Version}' natsec)"

step "X14: files, modes, conffile, user"
# path mode owner:group
while read -r path mode owner; do
  [ -e "$R$path" ] || fail "$path is not installed"
  got="$(inroot stat -c '%a %U:%G' "$path")"
  [ "$got" = "$mode $owner" ] || fail "$path is $got, expected $mode $owner"
done <<EOC
/usr/sbin/natsecd 755 root:root
/usr/sbin/natsecctl 755 root:root
/lib/systemd/system/natsecd.service 644 root:root
/usr/share/man/man8/natsecd.8.gz 644 root:root
/usr/share/man/man8/natsecctl.8.gz 644 root:root
/usr/share/man/man5/natsecd.conf.5.gz 644 root:root
/etc/natsec 750 root:natsec
/etc/natsec/natsecd.conf 640 root:natsec
/usr/share/doc/natsec/examples/gateway.conf 644 root:root
EOC
inroot dpkg-query -W -f '${Conffiles}\n' natsec | quiet_grep '^ /etc/natsec/natsecd.conf ' ||
  fail "/etc/natsec/natsecd.conf is not a conffile"
pw=$(inroot getent passwd natsec) || fail "no natsec user"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
echo "  natsec: uid $uid gid $gid home $home shell $shell"
[ "$uid" -lt 1000 ] || fail "natsec is not a system user (uid $uid)"
[ "$shell" = /usr/sbin/nologin ] || fail "natsec's shell is $shell"
inroot getent group natsec >/dev/null || fail "no natsec group"
[ "$(inroot /usr/sbin/natsecd --version | cut -d' ' -f1-2)" = "natsecd $version" ] ||
  fail "the installed natsecd is not version $version"
for page in natsecd.8 natsecctl.8 natsecd.conf.5; do
  inroot man -l "/usr/share/man/man${page##*.}/$page.gz" >/dev/null 2>&1 || fail "man $page does not render"
done
# The manual is docs/config.md: a key the documentation names is in it.
LC_ALL=C.UTF-8 inroot man -l /usr/share/man/man5/natsecd.conf.5.gz 2>/dev/null | quiet_grep 'log_target' ||
  fail "natsecd.conf(5) lacks log_target"

step "X14: systemd-analyze verify of the installed unit is clean (manuals included)"
out=$(inroot systemd-analyze verify /lib/systemd/system/natsecd.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify says: $out"

step "X14: natsecd from the installed path, as the unit starts it, brings a tunnel up"
topo_setup
unit=$R/lib/systemd/system/natsecd.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
echo "  ExecStart=$exec_start  User=$user  AmbientCapabilities -> $caps"
conf=$R/etc/natsec/natsecd.conf
{
  echo "[natsecd]"
  echo "role = gateway"
  echo "local_id = vpn.corp.example"
  echo "pool = $VIP_POOL"
  echo "tun = nsec0"
  echo "control = /run/natsec/natsecd.sock"
  echo "[peer alice@corp.example]"
  echo "psk = $NSD_PSK"
  echo "subnets = $CORP_NET"
} >"$conf"
# systemd's RuntimeDirectory=natsec, and what the unit's other lines do.
mkdir -m 0750 "$R/run/natsec"
inroot chown natsec:natsec /run/natsec
# StateDirectory=natsec: where natsecd makes its QCD secret (X2).
mkdir -m 0700 "$R/var/lib/natsec"
inroot chown natsec:natsec /var/lib/natsec
# shellcheck disable=SC2086 # ExecStart is a command line
nsenter --net="/run/netns/$(ns_name gw)" chroot "$R" setpriv --reuid="$user" --regid="$user" \
  --init-groups --inh-caps="$caps" --ambient-caps="$caps" --no-new-privs \
  $exec_start >"$NATSEC_TMP/installed-natsecd.log" 2>&1 &
gw_pid=$!
BG_PIDS+=("$gw_pid")
wait_for "inroot natsecctl status --json" 10 || {
  cat "$NATSEC_TMP/installed-natsecd.log" >&2
  fail "the installed natsecd did not come up"
}
st=/proc/$gw_pid/status
echo "  installed natsecd: Uid $(awk '/^Uid:/ {print $2}' "$st") CapEff $(awk '/^CapEff:/ {print $2}' "$st") Seccomp $(awk '/^Seccomp:/ {print $2}' "$st")"
[ "$(awk '/^Uid:/ {print $2}' "$st")" = "$uid" ] || fail "the installed natsecd does not run as natsec"
qcd=$(inroot stat -c '%a %U %s' /var/lib/natsec/qcd_secret 2>/dev/null || true)
[ "$qcd" = "600 natsec 32" ] || fail "the QCD secret in the state directory is '$qcd', expected mode 600, owner natsec, 32 bytes (X2)"
echo "  QCD secret made in the state directory: $qcd"
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up alice
nsx c1 ping -n -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no traffic through the installed gateway"
inroot natsecctl status --json | jq -e '.ike_sas | map(select(.remote_id == "alice@corp.example" and .state == "ESTABLISHED")) | length == 1' >/dev/null ||
  fail "the installed gateway has no SA with alice"
echo "  alice's tunnel through the installed natsecd carries pings"
nsd_stop alice
kill -TERM "$gw_pid"
wait_for "! kill -0 $gw_pid" 5 || fail "the installed natsecd did not stop"

step "X14: dpkg --purge leaves nothing"
inroot dpkg --purge natsec >"$NATSEC_TMP/dpkg-purge.txt" 2>&1 || {
  cat "$NATSEC_TMP/dpkg-purge.txt" >&2
  fail "dpkg --purge failed"
}
! inroot dpkg-query -W -f '${Status}' natsec 2>/dev/null | quiet_grep installed || fail "natsec is still known to dpkg"
! inroot getent passwd natsec >/dev/null || fail "the natsec user is left"
! inroot getent group natsec >/dev/null || fail "the natsec group is left"
# Every path the package or its scripts made, found in the overlay's upper
# layer (what was written), other than dpkg's own records and logs.
left=$(cd "$OVL/upper" && find . -path ./tmp -prune -o -path ./run -prune -o -path ./var/log -prune -o \
  -path ./var/lib/dpkg -prune -o -path ./var/cache -prune -o -print | grep -i natsec | grep -v '^\./\.natsec-throwaway$' || true)
[ -z "$left" ] || fail "left after purge: $left"
! grep -l natsec "$OVL"/upper/etc/passwd "$OVL"/upper/etc/group "$OVL"/upper/etc/shadow "$OVL"/upper/etc/gshadow 2>/dev/null ||
  fail "natsec is still in the user or group files"
[ ! -e /etc/natsec ] && ! getent passwd natsec >/dev/null || fail "the host's / was changed"
step "PASS"
