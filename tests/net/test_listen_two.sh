#!/usr/bin/env bash
# X8: a gateway with `listen = $GW_PUB, $GW_PUB6` (one specific address of
# each IP version) serves an IPv4 client (dave, on the internet) and an
# IPv6-only one (bob) at once; a third address of the gateway, not listed
# ($GW_OTHER on the same interface), is not served: carol's IKE_SA_INIT to
# it gets no answer and the gateway counts it in not_listened.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/topo6.sh
. "$here/tools/topo6.sh"

export NATSEC_IPV6=1
GW_OTHER=198.51.100.2
netns_init
nsd_check_build
inet_create
gw_create
gw6_add
must ip -n "$(ns_name gw)" addr add "$GW_OTHER/24" dev wan0
pub6_create pub6
pub_create pub "$PUB_ADDR"
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"

nsd_conf_gateway gw listen="$GW_PUB, $GW_PUB6"
nsd_corp_peers gw dave@corp.example bob@corp.example carol@corp.example
nsd_start gw gw
nsd_conf_corp_client dave dave@corp.example
NSD_GATEWAY=$GW_PUB6 nsd_conf_corp_client bob bob@corp.example
NSD_GATEWAY=$GW_OTHER nsd_conf_corp_client carol carol@corp.example retransmit_timeout=0.2 retransmit_tries=2
nsd_start dave pub
nsd_start bob pub6
nsd_start carol c1

step "X8: dave over IPv4 to $GW_PUB and bob over IPv6 to $GW_PUB6"
nsd_wait_up dave
nsd_wait_up bob
nsd_wait_up gw 2
nsx pub ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "dave's tunnel carries nothing"
nsx pub6 ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's tunnel carries nothing"
locals=$(nsd_json gw | jq -r '[.ike_sas[].local | sub(":[0-9]+$"; "")] | sort | join(" ")')
step "the gateway's IKE SAs are at: $locals"
[ "$locals" = "$GW_PUB [$GW_PUB6]" ] || fail "the gateway's IKE SAs are not at $GW_PUB and $GW_PUB6: $locals"

step "X8: carol's IKE_SA_INIT to $GW_OTHER (not listed) gets no answer"
wait_for "[ \"\$(nsd_q gw .counters.dataplane.not_listened)\" -ge 2 ]" 5 ||
  fail "the gateway did not count carol's datagrams: $(nsd_q gw .counters.dataplane.not_listened)"
[ "$(nsd_q gw '.ike_sas | length')" = 2 ] || fail "the gateway made an IKE SA for carol"
[ "$(nsd_q carol '[.ike_sas[] | select(.state == "ESTABLISHED")] | length')" = 0 ] || fail "carol is connected"
step "not_listened: $(nsd_q gw .counters.dataplane.not_listened)"

for n in gw dave bob carol; do nsd_alive "$n"; done
step "PASS"
