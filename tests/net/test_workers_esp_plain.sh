#!/usr/bin/env bash
# R12, R14: plain ESP (IP protocol 50, no NAT in the path) is served by the
# data-plane workers, not by the main thread. A gateway with workers = 2
# and four clients straight on the internet, each pinging through its
# tunnel. Every raw ESP socket sees every protocol-50 packet; each worker's
# keeps those whose SPI modulo 2 is its number. So:
#   - the workers together received every ESP packet the gateway counts
#     (the main thread none);
#   - worker i received exactly the packets of the CHILD_SAs whose inbound
#     SPI modulo 2 is i (every packet of an SA on one worker, none lost or
#     counted twice);
#   - a protocol-50 packet too short to hold an SPI reaches worker 0 and
#     is counted as malformed, once.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

PINGS=20
netns_init
nsd_check_build
inet_create
gw_create
names=(ann ben cat dan)
for k in 0 1 2 3; do
  pub_create "p$k" "198.51.100.$((41 + k))"
done

nsd_conf_gateway gw workers=2
nsd_corp_peers gw ann@corp.example ben@corp.example cat@corp.example dan@corp.example
nsd_start gw gw
for k in 0 1 2 3; do
  nsd_conf_corp_client "${names[$k]}" "${names[$k]}@corp.example"
  nsd_start "${names[$k]}" "p$k"
done
for n in "${names[@]}"; do
  nsd_wait_up "$n" 1 30
done
nsd_wait_up gw 4 30

step "R14: four clients without a NAT ping the server through plain ESP, $PINGS each"
for k in 0 1 2 3; do
  [ "$(nsd_json "${names[$k]}" | jq -r '.ike_sas[0].children[0].encapsulation')" = esp ] ||
    fail "${names[$k]}'s CHILD_SA is not plain ESP"
  nsx "p$k" ping -c "$PINGS" -i 0.05 -W 2 "$SRV_ADDR" >/dev/null &
done
for k in 0 1 2 3; do
  wait -n || fail "a ping through plain ESP failed"
done

step "a protocol-50 packet of 2 bytes to the gateway: too short for an SPI"
nsx p0 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.sendto(b"\x00\x01", ("'"$GW_PUB"'", 0))
'
sleep 0.5

js=$(nsd_json gw)
echo "$js" | jq -c '.workers' >&2
all=$(jq -r '.counters.dataplane.esp_rx' <<<"$js")
sum=$(jq -r '[.workers.threads[].esp_rx] | add' <<<"$js")
step "R12: the workers received $sum ESP packets of the gateway's $all"
[ "$all" -ge $((4 * PINGS)) ] || fail "the gateway counts $all ESP packets, not at least $((4 * PINGS))"
[ "$sum" -eq "$all" ] || fail "the main thread received $((all - sum)) ESP packets: plain ESP is not on the workers"
# The short packet has no SPI: worker 0's socket keeps it, counts it as
# ESP received and the SAD drops it as malformed.
declare -a want=(1 0)
while read -r spi packets; do
  i=$((16#${spi#0x} % 2))
  want[i]=$((want[i] + packets))
done < <(jq -r '.ike_sas[].children[] | "\(.spi_in) \(.packets_in)"' <<<"$js")
for i in 0 1; do
  got=$(jq -r ".workers.threads[$i].esp_rx" <<<"$js")
  step "worker $i: $got ESP packets, expected ${want[i]}: those of its SAs (inbound SPI mod 2 = $i)$([ "$i" = 0 ] && echo ' and the short one')"
  [ "$got" -eq "${want[i]}" ] || fail "worker $i received $got ESP packets, not ${want[i]}"
done
bad=$(jq -r '.counters.esp_drops.malformed' <<<"$js")
[ "$bad" -eq 1 ] || fail "the short protocol-50 packet was counted $bad times as malformed, not once"
nsd_alive gw
step "PASS"
