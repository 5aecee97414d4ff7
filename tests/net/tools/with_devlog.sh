#!/usr/bin/env bash
# with_devlog.sh SOCKET CMD...: runs CMD in a private mount namespace where
# /dev/log is SOCKET (a datagram socket a test listens on), so a program's
# syslog(3) lines reach the test and never the host's syslog. /dev is a
# fresh tmpfs there holding only what natsecd opens (null, zero, urandom,
# random, net/tun), bound from the real /dev.
# Run it under `unshare --mount --propagation private`.
set -euo pipefail
sock=$1
shift
[ -S "$sock" ] || { echo "with_devlog: $sock is not a socket" >&2; exit 1; }
old=$(mktemp -d "${TMPDIR:-/tmp}/natsec-olddev.XXXXXX")
mount --bind /dev "$old"
mount -t tmpfs -o mode=0755,size=64k natsec-dev /dev
for n in null zero urandom random; do
  touch "/dev/$n"
  mount --bind "$old/$n" "/dev/$n"
done
mkdir /dev/net
touch /dev/net/tun
mount --bind "$old/net/tun" /dev/net/tun
touch /dev/log
mount --bind "$sock" /dev/log
umount -l "$old"
rmdir "$old"
exec "$@"
