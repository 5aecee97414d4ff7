#!/usr/bin/env bash
# ctest: serial
# MOBIKE across address families (X4, X8; RFC 4555 3.5). The laptop lap
# reaches its gateway by a name of both versions ($GW_PUB and $GW_PUB6 in
# its /etc/hosts). It has two uplinks on the internet, one up at a time:
# eth1 with IPv4 alone ($LAP4), eth2 with IPv6 alone ($LAP6). It pings the
# corporate server (IPv4 inside) every 0.1 s while it moves:
#   IPv4 -> IPv6: natsecd finds no route to $GW_PUB any more but one to
#     $GW_PUB6, sends UPDATE_SA_ADDRESSES from $LAP6 to $GW_PUB6, and the
#     gateway moves the IKE SA and its CHILD_SA to the IPv6 path;
#   IPv6 -> IPv4: the same back.
# Each time at most 1 s of pings is lost, the gateway has one IKE SA with
# the same SPIs at the new address, counts one more address update, and no
# IKE_SA_INIT goes out (the client keeps its IKE SA).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/topo6.sh
. "$here/tools/topo6.sh"

export NATSEC_IPV6=1
PINGS=30 # 3 s, the move after 1 s
GW_NAME=vpn.corp.example
LAP4=198.51.100.41
LAP6=2001:db8:100::41
netns_init
nsd_check_build
hosts_dir=
cleanup() {
  local rc=$?
  [ -z "$hosts_dir" ] || rm -rf "$hosts_dir"
  (exit "$rc")
  netns_cleanup
}
trap cleanup EXIT

inet_create
gw_create
gw6_add
ns_create lap
veth_link inet lap4 lap eth1
must ip -n "$(ns_name inet)" link set lap4 master br0
must ip -n "$(ns_name lap)" addr add "$LAP4/24" dev eth1
veth_link inet lap6 lap eth2
# Its IPv6 address stays while the link is down, as an IPv4 one does.
must nsx lap sysctl -qw net.ipv6.conf.eth2.keep_addr_on_down=1
must ip -n "$(ns_name inet)" link set lap6 master br0
addr6 lap eth2 "$LAP6/64"
must ip -n "$(ns_name lap)" link set eth2 down
hosts_dir=/etc/netns/$(ns_name lap)
mkdir -p "$hosts_dir"
printf '%s %s\n%s %s\n' "$GW_PUB6" "$GW_NAME" "$GW_PUB" "$GW_NAME" >"$hosts_dir/hosts"

# dpd = 0 on both: liveness checks would be IKE traffic of their own.
nsd_conf_gateway gw dpd=0
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
NSD_GATEWAY=$GW_NAME nsd_conf_corp_client alice alice@corp.example dpd=0
nsd_start alice lap
nsd_wait_up alice
nsd_wait_up gw
[ "$(nsd_q gw '.ike_sas[0].remote')" = "$LAP4:500" ] || [ "$(nsd_q gw '.ike_sas[0].remote')" = "$LAP4:4500" ] ||
  fail "alice did not connect over IPv4: $(nsd_q gw '.ike_sas[0].remote')"
nsx lap ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"

cap=$NATSEC_TMP/inet.pcapng
capture_start inet br0 "$cap" "udp port 500 or udp port 4500 or ip proto 50 or ip6 proto 50"
sas() { nsd_json gw | jq -c '.ike_sas[0] | {spi_i, spi_r, spi_in: .children[0].spi_in, spi_out: .children[0].spi_out}'; }
spis0=$(sas)

uplink() { # 4 or 6: that uplink up, the other down
  if [ "$1" = 6 ]; then
    nsx lap ip link set eth1 down
    nsx lap ip link set eth2 up
  else
    nsx lap ip link set eth2 down
    nsx lap ip link set eth1 up
  fi
}

# After a move to uplink FAMILY: moved FAMILY WANT_REMOTE UPDATES.
moved() {
  local fam=$1 want=$2 updates=$3 lost remote
  lost=$(ping_during lap "$PINGS" 1 uplink "$fam")
  wait_for "[ \"\$(nsd_q gw '.ike_sas[0].address_updates')\" -ge $updates ]" 5 || true
  remote=$(nsd_q gw '.ike_sas[0].remote')
  step "IPv$fam uplink: $lost of $PINGS pings lost; the gateway sees alice at $remote, $(nsd_q gw '.ike_sas[0].address_updates') address updates; alice's gateway: $(nsd_q alice '.ike_sas[0].remote')"
  [ "$lost" -le 10 ] || fail "IPv$fam uplink: $lost pings lost (more than 1 s)"
  [ "$remote" = "$want" ] || fail "IPv$fam uplink: the gateway has alice at $remote, not $want"
  [ "$(sas)" = "$spis0" ] || fail "IPv$fam uplink: SPIs changed: $(sas), were $spis0"
  [ "$(nsd_q gw '.ike_sas | length')" = 1 ] || fail "IPv$fam uplink: the gateway has more than one IKE SA"
  [ "$(nsd_q gw '.ike_sas[0].address_updates')" = "$updates" ] ||
    fail "IPv$fam uplink: $(nsd_q gw '.ike_sas[0].address_updates') address updates, expected $updates"
  nsx lap ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "IPv$fam uplink: the tunnel carries nothing"
}

step "X4, X8: from the IPv4 uplink to the IPv6 one"
moved 6 "[$LAP6]:4500" 1
step "X4, X8: back to the IPv4 uplink"
moved 4 "$LAP4:4500" 2
capture_stop
inits=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 34" 2>/dev/null | wc -l)
esp6=$(tshark -n -r "$cap" -Y "esp && ipv6.addr == $LAP6" 2>/dev/null | wc -l)
step "capture: $inits IKE_SA_INIT, $esp6 ESP packets over IPv6"
[ "$inits" -eq 0 ] || fail "an IKE_SA_INIT went out during the moves"
[ "$esp6" -ge 10 ] || fail "no ESP over the IPv6 path"
grep -q "gateway $GW_NAME: using $GW_PUB6" "$(nsd_log alice)" || fail "alice's log does not say she moved to $GW_PUB6"

nsd_alive gw
nsd_alive alice
step "PASS"
