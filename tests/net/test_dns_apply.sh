#!/usr/bin/env bash
# X8: a client applies the DNS servers its gateway sends, both families,
# with dns_apply = file (no systemd-resolved in the namespace): alice runs
# as user nobody under the system call filter (X14) in a namespace whose
# /etc/resolv.conf is its own (ip netns exec bind-mounts
# /etc/netns/<namespace>/resolv.conf over it; the host's is never touched).
#   (a) once the tunnel is up, her resolv.conf names the gateway's IPv4 and
#       IPv6 DNS servers and nothing of the previous content, and the split
#       DNS domains the gateway sent (INTERNAL_DNS_DOMAIN, RFC 8598) as its
#       search list (resolv.conf has no per-domain servers);
#   (b) natsecd stopped (SIGTERM): the previous content is back byte for
#       byte;
#   (c) natsecd again, then the gateway stops: the tunnel goes down and the
#       previous content is back while alice runs on (trying to reconnect).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/topo6.sh
. "$here/tools/topo6.sh"

export NATSEC_IPV6=1
netns_init
ETC_NS=/etc/netns/$(ns_name c1)
etc_netns_was=0
[ -d /etc/netns ] && etc_netns_was=1
dns_cleanup() {
  local rc=$?
  rm -rf "$ETC_NS"
  [ "$etc_netns_was" = 1 ] || rmdir /etc/netns 2>/dev/null
  (exit "$rc")
  netns_cleanup
}
trap dns_cleanup EXIT
nsd_check_build

host_sum=$(sha256sum /etc/resolv.conf 2>/dev/null || echo none)
mkdir -p "$ETC_NS"
ORIG="$NATSEC_TMP/resolv.conf.orig"
printf '# the home network'"'"'s resolver\nnameserver 203.0.113.53\noptions edns0 trust-ad\nsearch home.example\n' >"$ORIG"
cp "$ORIG" "$ETC_NS/resolv.conf"

dns_setup file

resolv() { nsx c1 cat /etc/resolv.conf; }
is_orig() { nsx c1 cmp -s /etc/resolv.conf "$ORIG"; }
has_vpn_dns() {
  local r
  r=$(resolv)
  grep -qx "nameserver 192.0.2.53" <<<"$r" && grep -qx "nameserver 2001:db8:c0::53" <<<"$r"
}

step "(a) X8: the tunnel up, alice's resolv.conf names the gateway's DNS servers of both families and its domains"
nsd_start alice c1
nsd_wait_up alice
wait_for has_vpn_dns 5 || fail "resolv.conf lacks the VPN's DNS servers: $(resolv)"
! grep -q 203.0.113.53 <<<"$(resolv)" || fail "the previous name server is still listed: $(resolv)"
grep -qx "search corp.example lab.corp.example" <<<"$(resolv)" ||
  fail "resolv.conf lacks the split DNS domains as its search list: $(resolv)"
step "$(resolv | grep -v '^#' | tr '\n' ' ')"

step "(b) X8: natsecd stopped, the previous resolv.conf is back"
nsd_stop alice
is_orig || fail "resolv.conf not restored at exit: $(resolv)"

step "(c) X8: the tunnel goes down (the gateway stops), the previous resolv.conf is back"
nsd_start alice c1
nsd_wait_up alice
wait_for has_vpn_dns 5 || fail "resolv.conf lacks the VPN's DNS servers again: $(resolv)"
nsd_stop gw
wait_for is_orig 5 || fail "resolv.conf not restored when the tunnel went down: $(resolv)"
nsd_alive alice
grep -q "previous content put back" "$(nsd_log alice)" || fail "alice does not log the restore"
nsd_stop alice
is_orig || fail "resolv.conf changed after the tunnel went down: $(resolv)"

[ "$(sha256sum /etc/resolv.conf 2>/dev/null || echo none)" = "$host_sum" ] ||
  fail "the host's /etc/resolv.conf changed"
step "PASS"
