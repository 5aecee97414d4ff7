#!/usr/bin/env bash
# Several clients at once behind NATs, two of them with the same private
# address behind different NATs, two behind the same NAT.
#
# R6: each client gets its own virtual IP and its own IKE and CHILD SAs,
#     told apart by the NAT-mapped address and port alone; traffic of one
#     never shows up on another's SA.
# R5: an unmodified port-translating NAT (nftables masquerade) is enough:
#     it does not look inside IKE, it only rewrites ports.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

# name namespace identity: alice and dave share nat1; erin is behind nat2
# with alice's private address 10.1.0.2.
clients=("alice c1 alice@corp.example" "dave c1b dave@corp.example" "erin c2 erin@corp.example")

nsd_conf_gateway gw
for c in "${clients[@]}"; do
  read -r name ns id <<<"$c"
  nsd_corp_peers gw "$id"
done
nsd_start gw gw

step "R6: three clients connect at the same time (alice, dave behind nat1; erin behind nat2, same private address as alice)"
for c in "${clients[@]}"; do
  read -r name ns id <<<"$c"
  nsd_conf_corp_client "$name" "$id"
done
# Start the three daemons back to back, then wait: their IKE_SA_INITs overlap.
for c in "${clients[@]}"; do
  read -r name ns id <<<"$c"
  run_bg "$ns" "$NSD_BIN" -c "$(nsd_conf "$name")" -f >>"$(nsd_log "$name")" 2>&1
  NSD_PID[$name]=$BG_PID
done
for c in "${clients[@]}"; do
  read -r name ns id <<<"$c"
  nsd_wait_up "$name"
done
nsd_wait_up gw 3

gw_json=$(nsd_json gw)
jq -r '.ike_sas[] | "  gateway SA \(.id): \(.remote_id) at \(.remote), virtual IP \(.virtual_ip), SPIs in \(.children[0].spi_in) out \(.children[0].spi_out)"' <<<"$gw_json"
[ "$(jq '.ike_sas | length' <<<"$gw_json")" -eq 3 ] || fail "gateway has $(jq '.ike_sas | length' <<<"$gw_json") IKE SAs, expected 3"
[ "$(jq '[.ike_sas[].virtual_ip] | unique | length' <<<"$gw_json")" -eq 3 ] || fail "virtual IPs are not distinct"
[ "$(jq '[.ike_sas[].remote] | unique | length' <<<"$gw_json")" -eq 3 ] || fail "remote endpoints are not distinct"
[ "$(jq '[.ike_sas[].id] | unique | length' <<<"$gw_json")" -eq 3 ] || fail "IKE SA ids are not distinct"
[ "$(jq '[.ike_sas[].children[] | .spi_in, .spi_out] | unique | length' <<<"$gw_json")" -eq 6 ] ||
  fail "CHILD_SA SPIs are not distinct"
[ "$(jq '[.ike_sas[] | select(.nat_remote)] | length' <<<"$gw_json")" -eq 3 ] || fail "not every client seen behind a NAT"

# Each client's own view agrees with the gateway's, and the NATs are the right ones.
declare -A vip_of=()
for c in "${clients[@]}"; do
  read -r name ns id <<<"$c"
  g=$(jq -c --arg id "$id" '.ike_sas[] | select(.remote_id == $id)' <<<"$gw_json")
  [ -n "$g" ] || fail "no gateway SA for $id"
  vip=$(nsd_q "$name" .virtual_ip)
  [ "$vip" = "$(jq -r .virtual_ip <<<"$g")" ] || fail "$name: virtual IP $vip, gateway says $(jq -r .virtual_ip <<<"$g")"
  vip_of[$name]=$vip
  nat=$NAT1_PUB
  [ "$ns" = c2 ] && nat=$NAT2_PUB
  [[ $(jq -r .remote <<<"$g") == "$nat":* ]] || fail "$name appears at $(jq -r .remote <<<"$g"), not behind $nat"
  [ "$(nsd_q "$name" '.ike_sas[0].local')" = "10.1.0.$([ "$ns" = c1b ] && echo 3 || echo 2):4500" ] ||
    fail "$name's local endpoint is $(nsd_q "$name" '.ike_sas[0].local')"
done
# alice and dave share nat1's address: only the port tells them apart (R5).
a=$(jq -r '.ike_sas[] | select(.remote_id == "alice@corp.example") | .remote' <<<"$gw_json")
d=$(jq -r '.ike_sas[] | select(.remote_id == "dave@corp.example") | .remote' <<<"$gw_json")
[ "${a%:*}" = "${d%:*}" ] && [ "${a#*:}" != "${d#*:}" ] || fail "alice ($a) and dave ($d) not told apart by port"
step "alice $a (${vip_of[alice]}), dave $d (${vip_of[dave]}), erin (${vip_of[erin]}): distinct"

step "R6: each client's traffic runs on its own SA only"
for c in "${clients[@]}"; do
  read -r name ns id <<<"$c"
  before=$(nsd_json gw | jq -c '[.ike_sas[] | {(.remote_id): .children[0].packets_in}] | add')
  nsx "$ns" ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "$name cannot ping the server through its tunnel"
  after=$(nsd_json gw | jq -c '[.ike_sas[] | {(.remote_id): .children[0].packets_in}] | add')
  for o in "${clients[@]}"; do
    read -r oname ons oid <<<"$o"
    delta=$(($(jq -r --arg id "$oid" '.[$id]' <<<"$after") - $(jq -r --arg id "$oid" '.[$id]' <<<"$before")))
    if [ "$oname" = "$name" ]; then
      [ "$delta" -ge 3 ] || fail "$name's pings did not arrive on its SA (delta $delta)"
    else
      [ "$delta" -eq 0 ] || fail "$name's pings arrived on $oname's SA (delta $delta)"
    fi
  done
done

for c in gw alice dave erin; do nsd_alive "$c"; done
step "PASS"
