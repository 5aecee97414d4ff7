#!/usr/bin/env bash
# X8: a client reaches its gateway by a name that resolves to an IPv6 and
# an IPv4 address (each client namespace's /etc/hosts, which `ip netns
# exec` takes from /etc/netns/<namespace>/), IPv6 first, IPv4 250 ms after
# unless IPv6 answered (happy eyeballs, RFC 8305):
#   dave,  dual-stack: connects over IPv6; no IKE over IPv4 is ever sent;
#   erin,  IPv4 alone outside (behind nat1, no IPv6 route): no route to the
#          IPv6 address, so IPv4 at once;
#   frank, dual-stack whose IPv6 path drops everything to the gateway, with
#          the default retransmission (1 s, doubling, 5 times): IPv4 wins
#          the race and he is up in well under the first retransmission's
#          second; the IPv6 attempt is dropped (its one IKE_SA_INIT never
#          sent again).
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
GW_NAME=vpn.corp.example
HOSTS_DIRS=()
# The name resolves to both gateway addresses inside namespace SHORT: hosts_for SHORT.
hosts_for() {
  local dir=/etc/netns/$(ns_name "$1")
  mkdir -p "$dir"
  HOSTS_DIRS+=("$dir")
  printf '%s %s\n%s %s\n' "$GW_PUB6" "$GW_NAME" "$GW_PUB" "$GW_NAME" >"$dir/hosts"
}
remove_hosts() {
  local dir
  for dir in "${HOSTS_DIRS[@]}"; do rm -rf "$dir"; done
  netns_cleanup
}
trap remove_hosts EXIT

inet_create
gw_create
gw6_add
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"
pub_create pub "$PUB_ADDR"
DUAL6=2001:db8:100::31
addr6 pub eth0 "$DUAL6/64"
hosts_for pub
hosts_for c1

nsd_conf_gateway gw
nsd_corp_peers gw dave@corp.example erin@corp.example frank@corp.example
nsd_start gw gw

gw_remote() { nsd_json gw | jq -r ".ike_sas[] | select(.remote_id == \"$1\") | .remote"; }

step "X8: dave (dual-stack) reaches $GW_NAME over IPv6 first"
NSD_GATEWAY=$GW_NAME nsd_conf_corp_client dave dave@corp.example
nsd_start dave pub
nsd_wait_up dave
grep -q "gateway $GW_NAME is $GW_PUB6, then $GW_PUB" "$(nsd_log dave)" || fail "dave did not resolve the name to both"
grep -q "to $GW_PUB:500 dropped before it was sent" "$(nsd_log dave)" ||
  fail "dave's IPv4 attempt was not dropped unsent: $(grep -i "happy\|connecting" "$(nsd_log dave)")"
[[ $(gw_remote dave@corp.example) == "[$DUAL6]:"* ]] || fail "dave is not connected over IPv6: $(gw_remote dave@corp.example)"
nsx pub ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "dave's tunnel carries nothing"
nsd_stop dave

step "X8: erin (no IPv6 route outside) falls back to IPv4 at once"
NSD_GATEWAY=$GW_NAME nsd_conf_corp_client erin erin@corp.example
nsd_start erin c1
nsd_wait_up erin 1 10
[[ $(gw_remote erin@corp.example) == "$NAT1_PUB:"* ]] || fail "erin is not connected over IPv4: $(gw_remote erin@corp.example)"
grep -q "trying $GW_PUB" "$(nsd_log erin)" || fail "erin's log does not say she moved to IPv4"

step "X8: frank's IPv6 path drops everything to the gateway: IPv4 wins the race"
nsx pub nft -f - <<EOF || fail "nft rejected the IPv6 block"
table ip6 block {
  chain out {
    type filter hook output priority filter; policy accept;
    ip6 daddr $GW_PUB6 counter drop
  }
}
EOF
NSD_GATEWAY=$GW_NAME nsd_conf_corp_client frank frank@corp.example
nsd_start frank pub
nsd_wait_up frank 1 15
# natsecd's log lines begin with seconds.milliseconds.
at_ms() { grep -m1 "$1" "$(nsd_log frank)" | awk '{split($1, t, "."); print t[1] * 1000 + t[2]}'; }
ms=$(($(at_ms "IKE SA [0-9a-f]* established") - $(at_ms "ike: connecting from")))
step "frank's IKE SA is established ${ms} ms after his first IKE_SA_INIT"
[[ $(gw_remote frank@corp.example) == "$PUB_ADDR:"* ]] || fail "frank is not connected over IPv4: $(gw_remote frank@corp.example)"
grep -q "happy eyeballs: $GW_PUB:500 answered first" "$(nsd_log frank)" || fail "frank's log does not say IPv4 won the race"
grep -q "gateway $GW_NAME: using $GW_PUB" "$(nsd_log frank)" || fail "frank does not use $GW_PUB from now on"
[ "$ms" -lt 1000 ] || fail "frank took $ms ms: not under the first IKE retransmission (1 s)"
blocked() { nsx pub nft list table ip6 block | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
[ "$(blocked)" -gt 0 ] || fail "no IKE was sent over IPv6 first: the race proves nothing"
sleep 2.5 # past the IPv6 attempt's first two retransmissions (1 s, 2 s after it)
[ "$(blocked)" -eq 1 ] || fail "the dropped IPv6 attempt was sent again: $(blocked) packets"

nsx pub ping -c 2 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "frank's tunnel carries nothing"

for n in gw erin frank; do nsd_alive "$n"; done
step "PASS"
