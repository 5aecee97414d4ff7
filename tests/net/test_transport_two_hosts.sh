#!/usr/bin/env bash
# R2 R13: two hosts behind the same NAT in transport mode to one public
# host. Behind one masquerade NAT both hosts have the NAT's address, so
# after the RFC 7296 2.23.1 substitution their selectors would be the same
# and the public host could not tell which SA a packet to that address
# belongs to. natsec takes the first (c1) and refuses the second (c1b) with
# a clear error on both sides (README, "Transport mode"); the first keeps
# working, and a host behind another NAT (c2, with the same private address
# as c1) is in transport mode with the same public host at the same time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"
# shellcheck source=tools/transport.sh
. "$here/tools/transport.sh"

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/udpx" ] || fail "udpx not built"
inet_create
gw_create
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"
client_create c1b nat1 "$C1B_ADDR"
nat_create nat2 "$NAT2_PUB"
client_create c2 nat2 "$C2_ADDR"

nsd_conf_gateway gw
tp_peer gw alice@home.example
tp_peer gw bert@home.example
tp_peer gw carol@elsewhere.example
nsd_start gw gw
for h in alice:c1:alice@home.example carol:c2:carol@elsewhere.example; do
  IFS=: read -r name ns id <<<"$h"
  nsd_conf_client "$name" "$id"
  tp_peer "$name" vpn.corp.example
  nsd_start "$name" "$ns"
  nsd_wait_up "$name"
done
nsd_wait_up gw 2

step "R13: alice (c1 behind nat1) and carol (c2 behind nat2, the same private address) are up"
for name in alice carol; do
  echo "  $name: $(tp_child "$name" | jq -c '{mode, local_ts, remote_ts, transport}')"
done

step "R13: bert (c1b, behind the same NAT as alice) asks for transport mode too"
nsd_conf_client bert bert@home.example
tp_peer bert vpn.corp.example
nsd_start bert c1b
wait_for "grep -q 'takes one transport-mode host per NAT address' '$(nsd_log bert)'" 15 || {
  tail -n 20 "$(nsd_log bert)" >&2
  fail "bert's natsecd did not report the refusal"
}
refusal=$(grep -m1 'refusing the CHILD_SA' "$(nsd_log gw)") || fail "the gateway logged no refusal"
echo "  gateway: ${refusal#*natsecd}"
grep -qF "$NAT1_PUB is already in transport mode" <<<"$refusal" ||
  fail "the gateway's refusal does not name the shared address"
grep -qF "RFC 7296 2.23.1" <<<"$refusal" || fail "the gateway's refusal does not say why"
echo "  bert:    $(grep -m1 'no CHILD SA' "$(nsd_log bert)" | sed 's/.*ike: //')"
echo "  bert:    $(grep -m1 'takes one transport-mode host' "$(nsd_log bert)" | sed 's/.*ike: //')"
children=$(nsd_q bert '[.ike_sas[] | select(.state == "ESTABLISHED") | .children[]] | length')
[ "$children" = 0 ] || fail "bert has $children CHILD_SAs"

step "R13: the gateway still has exactly alice's and carol's transport SAs"
remotes=$(nsd_q gw '[.ike_sas[] | select(.state == "ESTABLISHED") | .children[] | select(.mode == "transport") | .remote_ts[]] | sort | join(" ")')
[ "$remotes" = "$NAT1_PUB/32 $NAT2_PUB/32" ] || fail "the gateway's transport SAs go to '$remotes'"

read -r gw_udp0 gw_tcp0 < <(tp_csum_errors gw)
step "R2 R13: alice and carol exchange UDP with the public host at the same time"
tp_udp_exchange c1 gw "$GW_PUB" 7000 200 &
p1=$!
tp_udp_exchange c2 gw "$GW_PUB" 7001 200 &
p2=$!
wait "$p1" || fail "alice's UDP exchange failed"
wait "$p2" || fail "carol's UDP exchange failed"
nsx gw ping -c 3 -i 0.2 -W 2 "$NAT1_PUB" >/dev/null || fail "gw cannot reach alice"
nsx gw ping -c 3 -i 0.2 -W 2 "$NAT2_PUB" >/dev/null || fail "gw cannot reach carol"
read -r gw_udp1 gw_tcp1 < <(tp_csum_errors gw)
[ "$gw_udp1" -eq "$gw_udp0" ] && [ "$gw_tcp1" -eq "$gw_tcp0" ] || fail "checksum errors on the gateway"
for name in alice carol; do
  fixed=$(tp_child "$name" | jq .transport.csum_fixups)
  step "  $name fixed $fixed checksums of the gateway's answers"
  [ "$fixed" -ge 200 ] || fail "$name fixed only $fixed checksums"
done

nsd_alive gw
nsd_alive alice
nsd_alive carol
nsd_alive bert
step "PASS"
