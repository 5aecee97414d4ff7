#!/usr/bin/env bash
# Installs every Debian package natsec needs to build, test, demo and
# benchmark. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  libssl-dev      # OpenSSL 3 libcrypto: every cipher, hash, DH
  libcmocka-dev   # unit test framework
  libinih-dev     # INI configuration parser
  libjson-c-dev   # JSON output of natsecctl
  libsystemd-dev  # sd_notify: Type=notify readiness and the watchdog under systemd
  libcap-ng-dev   # capabilities: keep only the three natsecd needs after set-up
  libseccomp-dev  # the system call allow-list after set-up
  # network tests
  iproute2 nftables conntrack ethtool iputils-ping iperf3 tshark procps psmisc jq python3 openssl
  python3-prometheus-client # parses natsecctl metrics in the tests
  systemd         # systemd-analyze verify of systemd/natsecd.service
  # the Debian package (make deb) and its manual pages
  dpkg-dev debhelper lintian pandoc
  # interop tests
  strongswan-charon strongswan-swanctl libcharon-extra-plugins
  libstrongswan-standard-plugins libstrongswan-extra-plugins
  libcharon-extauth-plugins # strongSwan's eap-mschapv2 (EAP interop, X12)
  freeradius      # the RADIUS server of the EAP pass-through tests (X16)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No system service may start during the installation (FreeRADIUS' would
# hold port 1812 on the host): a policy-rc.d that says no, unless one is
# there already.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
rc=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
[ "$own_policy" = 0 ] || rm -f "$policy"
[ "$rc" = 0 ] || exit "$rc"
# The tests start their own freeradius with a private configuration in the
# gateway's namespace; the system one stays off, also after a reboot.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now freeradius.service >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null 2>&1 && [ -e /etc/init.d/freeradius ]; then
  update-rc.d freeradius disable >/dev/null 2>&1 || true
fi
# The Debian strongSwan package may start its system service; the tests run
# their own charon per namespace and must not meet a system one.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now strongswan-starter.service >/dev/null 2>&1 || true
fi
