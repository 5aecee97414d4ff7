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
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian strongSwan package may start its system service; the tests run
# their own charon per namespace and must not meet a system one.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now strongswan-starter.service >/dev/null 2>&1 || true
fi
