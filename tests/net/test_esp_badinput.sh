#!/usr/bin/env bash
# Bad ESP input from an attacker on the internet (nat2's address), on UDP
# 4500 and on IP protocol 50: random bytes, truncated ESP, an unknown SPI,
# and a wrong ICV on a live SA (with a sequence number far ahead, which must
# not move the replay window). Each is dropped and counted by reason; no SA
# moves; both tunnels (alice: ESP in UDP behind nat1, bob: plain ESP) keep
# working. R7: inbound ESP is found by SPI alone. R15: no state changes from
# unauthenticated packets.
#
# Then ESP over the other encapsulation (R4, R14): one authentic ESP packet
# of each client, never delivered (the gateway's own netfilter drops it
# after the capture on its WAN port saw it), is sent again from nat2's
# address in the other encapsulation: alice's as IP protocol 50, bob's in
# UDP to 4500. Each is dropped before its replay window moves and counted as
# wrong_encap (natsecctl status); neither SA moves (bob is not behind a NAT,
# so nothing may move his); both tunnels keep working.
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

# Both tunnels carry pings, none of whose packets is taken for a replay.
tunnels_work() {
  nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's tunnel broke"
  nsx pub ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "bob's tunnel broke"
  [ "$(nsd_q gw .counters.esp_drops.replay)" -eq 0 ] || fail "real packets were taken for replays"
}
step "both tunnels still work (the forged far-ahead sequence number did not move the replay window)"
tunnels_work

step "R4, R14: ESP over the other encapsulation"
[ "$(nsd_q gw '.ike_sas[] | select(.remote_id == "alice@corp.example") | .children[0].encapsulation')" = udp ] ||
  fail "alice's CHILD_SA is not ESP in UDP"
[ "$(nsd_q gw '.ike_sas[] | select(.remote_id == "bob@corp.example") | .children[0].encapsulation')" = esp ] ||
  fail "bob's CHILD_SA is not plain ESP"

step "one ESP packet of each client captured on the gateway's WAN port and kept from natsecd"
cap_a=$NATSEC_TMP/alice.pcapng
cap_b=$NATSEC_TMP/bob.pcapng
# ESP in UDP: longer than a keepalive, no non-ESP marker (udp[8:4]).
capture_start gw wan0 "$cap_a" "src host $NAT1_PUB and udp dst port 4500 and udp[8:4] != 0 and greater 100"
capture_start gw wan0 "$cap_b" "src host $PUB_ADDR and ip proto 50"
# The capture sees a packet before netfilter does: drop them there.
nsx gw nft -f - <<EOF || fail "cannot hold ESP at the gateway"
table inet hold_esp {
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    ip saddr $NAT1_PUB udp dport 4500 @th,64,32 != 0 udp length > 16 counter drop
    ip saddr $PUB_ADDR ip protocol esp counter drop
  }
}
EOF
nsx c1 ping -c 1 -W 1 "$SRV_ADDR" >/dev/null 2>&1 && fail "alice's ping went through the hold"
nsx pub ping -c 1 -W 1 "$SRV_ADDR" >/dev/null 2>&1 && fail "bob's ping went through the hold"
capture_stop "$cap_a" "$cap_b"
nsx gw nft delete table inet hold_esp || fail "cannot release the hold"

# The ESP packet (from the SPI on) of the first frame of CAP: Ethernet (14
# bytes), a 20-byte IPv4 header, and SKIP more (8 for UDP): esp_bytes CAP SKIP.
esp_bytes() {
  local raw
  raw=$(tshark -n -r "$1" -c 1 -T json -x 2>/dev/null | jq -r '.[0]._source.layers.frame_raw[0]')
  [ -n "$raw" ] && [ "$raw" != null ] || fail "no packet in $1"
  echo "${raw:$(((14 + 20 + $2) * 2))}"
}
esp_a=$(esp_bytes "$cap_a" 8)
esp_b=$(esp_bytes "$cap_b" 0)
spi_a=$(nsd_q gw '.ike_sas[] | select(.remote_id == "alice@corp.example") | .children[0].spi_in | ltrimstr("0x")')
spi_b=$(nsd_q gw '.ike_sas[] | select(.remote_id == "bob@corp.example") | .children[0].spi_in | ltrimstr("0x")')
[ "${esp_a:0:8}" = "$spi_a" ] || fail "alice's captured packet has SPI ${esp_a:0:8}, not $spi_a"
[ "${esp_b:0:8}" = "$spi_b" ] || fail "bob's captured packet has SPI ${esp_b:0:8}, not $spi_b"

encap_state() {
  nsd_json gw | jq -c '{drops: .counters.esp_drops | {wrong_encap, replay, auth, no_sa},
    moves: .counters.ike.peer_moves,
    sas: ([.ike_sas[] | {remote_id, remote, esp_peer: .children[0].esp_peer}] | sort_by(.remote_id))}'
}
before=$(encap_state)
step "attacker at $NAT2_PUB: alice's packet (SPI $spi_a) as protocol 50, bob's (SPI $spi_b) in UDP to 4500"
nsx nat2 "$NSD_TOOLS/pktsend" -d "$GW_PUB" -r "$esp_a" >/dev/null || fail "pktsend -r failed"
nsx nat2 "$NSD_TOOLS/pktsend" -d "$GW_PUB" -p 4500 -b 4500 "$esp_b" >/dev/null || fail "pktsend failed"
sleep 0.5
after=$(encap_state)
step "before: $before"
step "after:  $after"
[ "$(jq .drops.wrong_encap <<<"$after")" = 2 ] ||
  fail "wrong_encap is $(jq .drops.wrong_encap <<<"$after"), expected 2"
[ "$(jq -c '.drops | del(.wrong_encap)' <<<"$after")" = "$(jq -c '.drops | del(.wrong_encap)' <<<"$before")" ] ||
  fail "other drop counters moved"
[ "$(jq .moves <<<"$after")" = "$(jq .moves <<<"$before")" ] || fail "a peer move was counted"
[ "$(jq -c .sas <<<"$after")" = "$(jq -c .sas <<<"$before")" ] || fail "an SA moved"

grep -q "wrong_encap 2" <<<"$("$NSC_BIN" -s "$(nsd_sock gw)" status)" ||
  fail "natsecctl status does not show wrong_encap 2"
step "both tunnels still work"
tunnels_work

nsd_alive gw
step "PASS"
