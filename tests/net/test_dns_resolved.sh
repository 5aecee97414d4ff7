#!/usr/bin/env bash
# X8: a client with dns_apply = resolved hands the gateway's DNS servers
# (both families) and split DNS domains to systemd-resolved over D-Bus,
# and takes them back when the tunnel goes down. The host's resolver is
# never touched: a private dbus-daemon (its socket in the scratch
# directory) runs fake_resolved, which owns org.freedesktop.resolve1 and
# records each call; natsecd finds that bus through DBUS_SYSTEM_BUS_ADDRESS.
# This proves what natsecd sends (SetLinkDNS on its TUN device's index with
# both servers, SetLinkDomains with the domains as routing-only domains,
# RevertLink when the tunnel goes down), with the D-Bus signatures
# resolved has, as user nobody under the system call filter (X14). It does
# not prove what a real systemd-resolved then does with them.
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
nsd_check_build
[ -x "$NSD_TOOLS/fake_resolved" ] || fail "fake_resolved not built"
command -v dbus-daemon >/dev/null || fail "dbus-daemon is missing (package dbus)"

BUS=$NATSEC_TMP/system_bus
cat >"$NATSEC_TMP/bus.conf" <<EOF2
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF2
dbus-daemon --config-file="$NATSEC_TMP/bus.conf" --nofork --nopidfile >"$NATSEC_TMP/bus.log" 2>&1 &
BG_PIDS+=($!)
wait_for "[ -S '$BUS' ]" 5 || fail "the private dbus-daemon did not start: $(cat "$NATSEC_TMP/bus.log")"
chmod 777 "$BUS"
CALLS=$NATSEC_TMP/resolved.calls
"$NSD_TOOLS/fake_resolved" "unix:path=$BUS" >"$CALLS" 2>&1 &
BG_PIDS+=($!)
wait_for "grep -q ready '$CALLS'" 5 || fail "fake_resolved did not start: $(cat "$CALLS")"

dns_setup resolved

step "X8: the tunnel up, natsecd gives resolved both DNS servers and the split DNS domains"
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$BUS" nsd_start alice c1
nsd_wait_up alice
ifindex=$(nsx c1 cat /sys/class/net/nsec0/ifindex)
wait_for "grep -q '^SetLinkDomains' '$CALLS'" 5 || fail "no SetLinkDomains: $(cat "$CALLS")"
step "calls: $(grep -v ready "$CALLS" | tr '\n' ';')"
grep -qx "SetLinkDNS $ifindex 192.0.2.53 2001:db8:c0::53" "$CALLS" ||
  fail "SetLinkDNS does not name nsec0 ($ifindex) with both servers"
grep -qx "SetLinkDomains $ifindex ~corp.example ~lab.corp.example" "$CALLS" ||
  fail "SetLinkDomains does not give both domains as routing-only domains of nsec0"
grep -q "DNS servers from the gateway go to systemd-resolved" "$(nsd_log alice)" ||
  fail "alice does not say she uses systemd-resolved"

step "X8: the tunnel goes down (the gateway stops): RevertLink"
nsd_stop gw
wait_for "grep -qx 'RevertLink $ifindex' '$CALLS'" 10 || fail "no RevertLink of nsec0: $(cat "$CALLS")"
nsd_alive alice
nsd_stop alice
step "PASS"
