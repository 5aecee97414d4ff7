#!/usr/bin/env bash
# Bad ESP input from an attacker on the internet (nat2's address), on UDP
# 4500 and on IP protocol 50: random bytes, truncated ESP, an unknown SPI,
# and a wrong ICV on a live SA (with a sequence number far ahead, which must
# not move the replay window). Each is dropped and counted by reason; no SA
# moves; both tunnels (alice: ESP in UDP behind nat1, bob: plain ESP) keep
# working. R7: inbound ESP is found by SPI alone. R15: no state changes from
# unauthenticated packets.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/pktsend" ] || fail "pktsend not built"
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example bob@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_conf_corp_client bob bob@corp.example
nsd_start bob pub
nsd_wait_up alice
nsd_wait_up bob
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's tunnel does not work"
nsx pub ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's tunnel does not work"

# The gateway's inbound SPIs of each client (what an attacker sees on the wire).
spi_a=$(nsd_q gw '.ike_sas[] | select(.remote_id == "alice@corp.example") | .children[0].spi_in | ltrimstr("0x")')
spi_b=$(nsd_q gw '.ike_sas[] | select(.remote_id == "bob@corp.example") | .children[0].spi_in | ltrimstr("0x")')
unknown=00000100 # 256: the lowest SPI natsec allocates, never the random one it chose
far_seq=00100000  # far ahead of the real sequence numbers
body=$(printf '%0200d' 0)

state() {
  nsd_json gw | jq -c '{drops: .counters.esp_drops | {no_sa, auth, malformed, replay},
    natt_invalid: .counters.dataplane.natt_invalid,
    sas: ([.ike_sas[] | {remote, auth_drops: .children[0].auth_drops}] | sort_by(.remote))}'
}
before=$(state)

step "UDP 4500: random bytes, truncated ESP, unknown SPI, wrong ICV on alice's SA $spi_a"
nsx nat2 "$NSD_TOOLS/pktsend" -d "$GW_PUB" -p 4500 -b 4500 \
  "rand:200" \
  "${spi_a}0000" \
  "${spi_a}00000099aabbccdd" \
  "${unknown}00000001$body" \
  "${spi_a}${far_seq}$body" >/dev/null || fail "pktsend failed"
step "protocol 50: random bytes, truncated ESP, unknown SPI, wrong ICV on bob's SA $spi_b"
nsx nat2 "$NSD_TOOLS/pktsend" -d "$GW_PUB" -r \
  "rand:200" \
  "${spi_b}0000" \
  "${spi_b}00000099aabbccdd" \
  "${unknown}00000001$body" \
  "${spi_b}${far_seq}$body" >/dev/null || fail "pktsend -r failed"
sleep 0.5
after=$(state)
step "before: $before"
step "after:  $after"

delta() { echo $(($(jq "$1" <<<"$after") - $(jq "$1" <<<"$before"))); }
# Per packet: random -> no_sa (a random SPI); 6 bytes -> 4500 framing
# invalid / raw malformed; SPI+seq+4 -> malformed (shorter than IV + ICV);
# unknown SPI -> no_sa; wrong ICV -> auth.
[ "$(delta .drops.no_sa)" -eq 4 ] || fail "no_sa +$(delta .drops.no_sa), expected 4"
[ "$(delta .drops.auth)" -eq 2 ] || fail "auth +$(delta .drops.auth), expected 2"
[ $(($(delta .drops.malformed) + $(delta .natt_invalid))) -eq 4 ] ||
  fail "truncated packets: malformed +$(delta .drops.malformed), natt_invalid +$(delta .natt_invalid), expected 4 in all"
[ "$(delta .drops.replay)" -eq 0 ] || fail "replay drops counted for packets that were never authentic"
[ "$(jq -c '[.sas[].auth_drops]' <<<"$after")" = "[1,1]" ] || fail "wrong-ICV drops not counted on each SA"
[ "$(jq -c '[.sas[].remote]' <<<"$after")" = "$(jq -c '[.sas[].remote]' <<<"$before")" ] || fail "an SA moved"

step "both tunnels still work (the forged far-ahead sequence number did not move the replay window)"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's tunnel broke"
nsx pub ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's tunnel broke"
[ "$(nsd_q gw .counters.esp_drops.replay)" -eq 0 ] || fail "real packets were taken for replays"

nsd_alive gw
step "PASS"
