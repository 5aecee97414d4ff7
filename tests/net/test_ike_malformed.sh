#!/usr/bin/env bash
# Malformed and hostile datagrams on the IKE port 500 and the NAT-T port
# 4500: truncated headers, impossible lengths, a wrong version, an unknown
# critical payload, random bytes, bad framing on 4500, and a forged message
# for an established IKE SA sent from another address. Every one is
# dropped and counted; the gateway stays up, keeps its SAs where they were
# (R15: no address update from an unauthenticated packet, R4), and the
# client's tunnel keeps working.
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

# IKE header as hex: hdr SPI_I(16 hex) SPI_R(16 hex) NEXT EXCH FLAGS MSGID LEN (decimal except SPIs).
hdr() {
  printf '%s%s%02x20%02x%02x%08x%08x' "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}

# The sum of every counter a dropped datagram can land in.
drops() {
  nsd_json gw | jq '.counters as $c | ($c.ike | .dropped_malformed + .dropped_unexpected
    + .dropped_unknown_spi + .dropped_unauth) + $c.dataplane.natt_invalid
    + $c.dataplane.truncated + $c.esp_drops.no_sa + $c.esp_drops.malformed'
}

# Send the packets in the remaining arguments from pub to the gateway's PORT (with PREFIX, may be empty): send PORT PREFIX PACKET...
send() {
  local port=$1 prefix=$2
  shift 2
  local args=(-d "$GW_PUB" -p "$port")
  [ -n "$prefix" ] && args+=(-x "$prefix")
  nsx pub "$NSD_TOOLS/pktsend" "${args[@]}" "$@" >/dev/null || fail "pktsend failed"
}

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw

sa_before=$(nsd_json gw | jq -c '.ike_sas[0] | {id, remote, spi_i, spi_r, state}')
step "established: $sa_before"
spi_i=$(jq -r '.spi_i | ltrimstr("0x")' <<<"$sa_before")
spi_r=$(jq -r '.spi_r | ltrimstr("0x")' <<<"$sa_before")
rnd_spi=0123456789abcdef
zero=0000000000000000

# One set of bad IKE messages (without the non-ESP marker).
bad=(
  "$(hdr $rnd_spi $zero 33 34 8 0 28 | cut -c1-20)"                   # truncated: 10 bytes of header
  "$(hdr $rnd_spi $zero 0 34 8 0 1000)"                               # length field beyond the datagram
  "$(hdr $rnd_spi $zero 0 34 8 0 12)"                                 # length field below the header size
  "$(hdr $rnd_spi $zero 33 34 8 0 32)00000002"                        # SA payload with length 2
  "$(hdr $rnd_spi $zero 33 34 8 0 40)0000001000000000"                # payload length past the message end
  "$(hdr $rnd_spi $zero 0 34 8 0 28 | sed 's/^\(.\{34\}\)20/\130/')"  # major version 3
  "$(hdr $rnd_spi $zero 200 34 8 0 36)0080000800000000"               # unknown payload 200, critical bit set
  "$(hdr $rnd_spi $zero 46 37 8 5 60)$(printf '00000020%056d' 0)"     # SK for an SA that does not exist
  "rand:8"
  "rand:100"
  "rand:1200"
)
# A forged INFORMATIONAL for alice's real IKE SA, with garbage in the SK
# payload: it names the SA, so only the ICV check can throw it out.
forged="$(hdr "$spi_i" "$spi_r" 46 37 8 2 80)00000034$(printf "%096d" 0)"

before=$(drops)
step "R15: ${#bad[@]} malformed datagrams on port 500, and a forged message for alice's SA"
send 500 "" "${bad[@]}" "$forged"
step "the same on port 4500 behind the non-ESP marker, plus bad 4500 framing"
send 4500 00000000 "${bad[@]}" "$forged"
# 4500 framing: a lone byte that is not 0xFF, a marker with nothing after it,
# a short non-marker datagram (not even an ESP header), random "ESP" with an
# unknown SPI, and 0xFF keepalives (discarded, counted as keepalives).
send 4500 "" 17 00000000 0102 "11223344$(printf '%0120d' 0)" "rand:300"
send 4500 "" ff ff
sent=$((2 * (${#bad[@]} + 1) + 5))

wait_for "[ \$((\$(drops) - $before)) -ge $sent ]" 10 || true
after=$(drops)
counters=$(nsd_json gw | jq -c '{ike: .counters.ike | {dropped_malformed, dropped_unexpected, dropped_unknown_spi, dropped_unauth}, natt_invalid: .counters.dataplane.natt_invalid, esp_no_sa: .counters.esp_drops.no_sa, keepalives_rx: .counters.dataplane.keepalives_rx}')
step "drops counted: $((after - before)) of $sent sent; $counters"
[ $((after - before)) -ge "$sent" ] || fail "only $((after - before)) of $sent bad datagrams were counted as drops"
[ "$(jq .ike.dropped_unauth <<<"$counters")" -ge 2 ] || fail "the forged SK messages were not counted as unauthenticated"
[ "$(jq .keepalives_rx <<<"$counters")" -ge 2 ] || fail "keepalives not counted"

step "the gateway is up, alice's SA unchanged (not moved to the forger's address), the tunnel works"
nsd_alive gw
sa_after=$(nsd_json gw | jq -c '.ike_sas[0] | {id, remote, spi_i, spi_r, state}')
[ "$sa_after" = "$sa_before" ] || fail "alice's SA changed: $sa_before -> $sa_after"
[ "$(nsd_q gw '.ike_sas | length')" -eq 1 ] || fail "the gateway holds $(nsd_q gw '.ike_sas | length') IKE SAs"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice's tunnel stopped working"
[ "$(nsd_q alice '.ike_sas[0].state')" = ESTABLISHED ] || fail "alice's IKE SA is not established any more"

step "PASS"
