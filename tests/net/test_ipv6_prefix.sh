#!/usr/bin/env bash
# X8: a prefix delegated from pool6 (RFC 7296 3.15.1). The gateway's pool6
# is a /56; bob (IPv6 alone outside) asks for a /64 with vip6_prefix = 64:
#   - natsecctl shows the /64 on both sides and bob's selectors are the /64;
#   - an address of bob's /64 other than his TUN address (as a host behind
#     him would have) reaches the IPv6 server and is reached from it: the
#     gateway routes the whole prefix to bob;
#   - carol (a /128 client behind NAT66, natsecd_spoof) sends with a source
#     in bob's /64: dropped and counted by the gateway (R17), while a
#     source in bob's /64 from bob passes.
# Without delegation bob would hold one /128 and the second address would
# neither pass the gateway's anti-spoofing nor be routed back.
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
[ -x "$NSD_TOOLS/natsecd_spoof" ] || fail "natsecd_spoof not built"
inet_create
gw_create
gw6_add
pub6_create pub6
nat66_create

POOL6=2001:db8:99::/56
BOTH="$CORP_NET, $CORP6_NET"
nsd_conf_gateway gw pool6="$POOL6"
nsd_peer gw bob@corp.example "$NSD_PSK" "$BOTH"
nsd_peer gw carol@corp.example "$NSD_PSK" "$BOTH"
nsd_start gw gw
NSD_GATEWAY=$GW_PUB6 nsd_conf_client bob bob@corp.example
nsd_peer bob vpn.corp.example "$NSD_PSK" "$BOTH" vip6_prefix=64
NSD_GATEWAY=$GW_PUB6 nsd_conf_client carol carol@corp.example
nsd_peer carol vpn.corp.example "$NSD_PSK" "$BOTH"
nsd_start bob pub6
NSD_BIN=$NSD_TOOLS/natsecd_spoof nsd_start carol c6
nsd_wait_up bob
nsd_wait_up carol

step "X8: bob's /64 from pool6 $POOL6"
b6=$(nsd_q bob .virtual_ip6)
c6=$(nsd_q carol .virtual_ip6)
gw_bob=$(nsd_json gw | jq -c '.ike_sas[] | select(.remote_id == "bob@corp.example")')
step "bob: $b6; carol: $c6; gateway: $(jq -c '{virtual_ip6, virtual_ip6_prefix_len, remote_ts: .children[0].remote_ts}' <<<"$gw_bob")"
prefix=$(jq -r .virtual_ip6 <<<"$gw_bob")
[ "$(jq -r .virtual_ip6_prefix_len <<<"$gw_bob")" = 64 ] || fail "the gateway did not delegate a /64 to bob"
[[ $prefix == 2001:db8:99:80:: ]] || fail "bob's prefix $prefix is not the first /64 of the pool's second half"
[ "$b6" = "${prefix}1" ] || fail "bob's TUN address $b6 is not his prefix's second address"
[ "$(jq -r '.children[0].remote_ts[1]' <<<"$gw_bob")" = "$prefix/64" ] ||
  fail "the gateway's selector for bob is not his /64"
[[ $c6 == 2001:db8:99::* ]] || fail "carol has no /128 from the first half: $c6"

step "X8: an address of bob's /64 beside his own reaches $SRV6_ADDR and back"
host=${prefix}99
must nsx pub6 ip -6 addr add "$host/128" dev lo
nsx pub6 ping -c 3 -i 0.1 -W 2 -I "$host" "$SRV6_ADDR" >/dev/null || fail "$host cannot reach $SRV6_ADDR"
nsx srv ping -c 3 -i 0.1 -W 2 "$host" >/dev/null || fail "the server cannot reach $host in bob's prefix"

step "R17: carol's packets with a source in bob's /64 are dropped and counted"
grep -q "TEST BUILD natsecd_spoof" "$(nsd_log carol)" || fail "carol does not run the spoofing test build"
nsx c6 ping -c 2 -i 0.1 -W 2 -I "$c6" "$SRV6_ADDR" >/dev/null || fail "carol's own IPv6 pings do not pass"
spoof=${prefix}77
must nsx c6 ip -6 addr add "$spoof/128" dev nsec0 nodad
nsd_spoof_counted c6 "$spoof" "$SRV6_ADDR" 4

for n in gw bob carol; do nsd_alive "$n"; done
step "PASS"
