#!/usr/bin/env bash
# Interop harness self-test: a strongSwan road warrior (c1, behind the nftables
# NAT nat1) connects to a strongSwan gateway (gw) with PSK, gets a virtual IP
# from the gateway's pool and pings the corporate server 192.0.2.10 through the
# tunnel. Proves tests/lib/strongswan.sh works on this machine before natsec
# replaces one of the two ends. (R10, R11, R14: two unmodified IPsec hosts
# through an unmodified NAT; R4: IKE floats from 500 to 4500.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=SCRIPTDIR/../lib/strongswan.sh
. "$here/../lib/strongswan.sh"

netns_init
step "building topology (prefix $NS_PREFIX)"
topo_setup

PSK='natsec-interop-test-psk-0123456789'
GW_ID=vpn.corp.example
CLIENT_ID=alice@corp.example

step "starting strongSwan gateway in gw and road warrior in c1"
sw_start gw gw
sw_start c1 alice
sw_load gw "$(sw_conf_gateway "$GW_PUB" "$GW_ID" "$CLIENT_ID" "$PSK" "$VIP_POOL" "$CORP_NET")"
sw_load alice "$(sw_conf_client "$GW_PUB" "$GW_ID" "$CLIENT_ID" "$PSK" "$CORP_NET")"

cap=$NATSEC_TMP/inet.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'

step "initiating"
sw_initiate alice home 20 || {
  tail -n 40 "$(sw_log alice)" >&2
  fail "swanctl --initiate failed"
}
sw_ike_established alice home || fail "client has no ESTABLISHED IKE SA"
sw_ike_established gw rw || fail "gateway has no ESTABLISHED IKE SA"
sw_child_installed alice home || fail "client CHILD SA not installed"
sw_list_sas gw

vip=$(nsx c1 ip -4 -o addr show dev ipsec0 | awk '{print $4}' | cut -d/ -f1)
[ -n "$vip" ] || fail "no virtual IP on the client's ipsec0"
case $vip in 10.99.0.*) ;; *) fail "virtual IP $vip not from the pool $VIP_POOL" ;; esac
step "client virtual IP $vip"

step "pinging the corporate server through the tunnel"
nsx c1 ping -c 3 -i 0.2 -W 2 -I "$vip" "$SRV_ADDR" || fail "ping $SRV_ADDR through the tunnel failed"
# the replies came back through the tunnel: the client's inbound CHILD SA
# counted them ("in  SPI,  N bytes,  M packets")
sas=$(sw_list_sas alice --ike home)
grep -qE '^ +in +[0-9a-f]{8}, +[1-9][0-9]* bytes, +[3-9][0-9]* packets' <<<"$sas" ||
  { echo "$sas" >&2; fail "client CHILD SA counted fewer than 3 inbound packets"; }

capture_stop "$cap"
step "checking the capture on the internet bridge"
summary=$(ike_tshark "$cap" -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e isakmp.exchangetype 2>/dev/null)
head -n 12 <<<"$summary"
# R4: the first exchange on 500 from the NAT's public address, then 4500
grep -qP "^$NAT1_PUB\t500\t$GW_PUB\t500\t34$" <<<"$summary" || fail "no IKE_SA_INIT from $NAT1_PUB:500 to $GW_PUB:500"
grep -qP "^$NAT1_PUB\t4500\t$GW_PUB\t4500\t35$" <<<"$summary" || fail "no IKE_AUTH on 4500"
esp=$(ike_tshark "$cap" -Y 'esp' 2>/dev/null | wc -l)
[ "$esp" -ge 6 ] || fail "expected >= 6 UDP-encapsulated ESP packets on the bridge, saw $esp"
! grep -q "$C1_ADDR" <<<"$summary" || fail "private address $C1_ADDR leaked onto the internet"

step "terminating"
sw_swanctl alice --terminate --ike home --timeout 10 >/dev/null || fail "terminate failed"
wait_for '! sw_ike_established gw rw' 10 || fail "gateway kept the IKE SA after the delete"
sw_stop alice

# Without a NAT (client pub directly on the internet) strongSwan with
# kernel-libipsec still fakes a NAT and encapsulates ESP in UDP 4500: it has no
# plain ESP. natsec's R14 tests (plain ESP when there is no NAT) cannot use
# strongSwan as the peer on this machine; this part keeps that fact checked.
step "no NAT: client in pub ($PUB_ADDR)"
cap=$NATSEC_TMP/inet-nonat.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
sw_start pub bob
sw_load bob "$(sw_conf_client "$GW_PUB" "$GW_ID" "$CLIENT_ID" "$PSK" "$CORP_NET")"
sw_initiate bob home 20 || fail "swanctl --initiate failed without NAT"
nsx pub ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "ping through the tunnel failed without NAT"
sw_list_sas bob --ike home | quiet_grep 'INSTALLED, TUNNEL-in-UDP' ||
  fail "expected strongSwan (kernel-libipsec) to force UDP encapsulation without a NAT"
capture_stop "$cap"
plain_esp=$(ike_tshark "$cap" -Y 'ip.proto == 50' 2>/dev/null | wc -l)
[ "$plain_esp" -eq 0 ] || fail "saw $plain_esp plain ESP packets from kernel-libipsec"
ike_tshark "$cap" -Y 'udp.port == 4500 && esp' 2>/dev/null | quiet_grep ESP || fail "no ESP in UDP 4500 without NAT"
grep -q 'remote host is behind NAT' "$(sw_log bob)" || fail "client did not report the faked NAT"
! grep -q 'local host is behind NAT' "$(sw_log bob)" || fail "client without NAT thinks it is behind one"
sw_swanctl bob --terminate --ike home --timeout 10 >/dev/null || fail "terminate failed"
sw_stop bob
sw_stop gw
step "PASS"
