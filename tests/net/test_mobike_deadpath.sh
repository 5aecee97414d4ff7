#!/usr/bin/env bash
# ctest: serial
# A path that dies without the laptop's routes changing (X4, MOBIKE path
# testing, RFC 4555 3.9): the laptop of netns.sh roam_setup has both home
# uplinks up (eth1 behind nat1 with the default route, eth2 behind nat2,
# each address routed out of its own uplink), pings the corporate server,
# and nat1 loses its internet side. No link, address or route of the
# laptop changes, so only the silence says it: its liveness check goes
# unanswered, the retransmissions go from 10.2.0.5 too, the gateway answers
# through nat2, and the tunnel moves there (UPDATE_SA_ADDRESSES) instead of
# being declared dead: same IKE SPIs, no IKE_SA_INIT, pings through again.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

PINGS=60 # 6 s, nat1 cut after 1 s

netns_init
nsd_check_build
roam_setup
must ip -n "$NS_PREFIX-lap" link set eth2 up
for n in 1 2; do
  must ip -n "$NS_PREFIX-lap" rule add from "10.$n.0.5" lookup "10$n" pref 100
  must ip -n "$NS_PREFIX-lap" route add default via "10.$n.0.1" dev "eth$n" table "10$n"
done

nsd_conf_gateway gw dpd=0
nsd_corp_peers gw alice@corp.example
nsd_start gw gw
# Liveness after 1 s of silence, retransmitted after 0.5, 1 and 2 s.
nsd_conf_corp_client alice alice@corp.example dpd=1 retransmit_timeout=0.5 retransmit_tries=3
nsd_start alice lap
nsd_wait_up alice
nsd_wait_up gw
nsx lap ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"
ike0=$(nsd_json gw | jq -c '.ike_sas[0] | {spi_i, spi_r}')
step "the gateway sees alice at $(nsd_q gw '.ike_sas[0].remote') (IKE SPIs $ike0)"

cap=$NATSEC_TMP/inet.pcapng
capture_start inet br0 "$cap" "udp port 500 or udp port 4500 or ip proto 50"
step "X4: nat1 loses its internet side under pings"
lost=$(ping_during lap "$PINGS" 1 nsx nat1 ip link set wan0 down)
capture_stop
remote=$(nsd_q gw '.ike_sas[0].remote')
probes=$(nsd_q alice '.counters.ike.mobike_path_probes')
switches=$(nsd_q alice '.counters.ike.mobike_path_switches')
inits=$(tshark -n -r "$cap" -Y "isakmp.exchangetype == 34" 2>/dev/null | wc -l)
malformed=$(tshark -n -r "$cap" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
step "$lost of $PINGS pings lost; the gateway sees alice at $remote; the client sent $probes probe(s) from another address and switched $switches time(s); $inits IKE_SA_INIT, $malformed malformed on the wire"
[ "${remote%:*}" = "$NAT2_PUB" ] || fail "the gateway has alice at $remote, not behind nat2"
[ "$switches" -ge 1 ] || fail "the client did not switch paths"
[ "$(nsd_q alice '.ike_sas[0].local' | cut -d: -f1)" = 10.2.0.5 ] || fail "the client does not use 10.2.0.5"
[ "$(nsd_json gw | jq -c '.ike_sas[0] | {spi_i, spi_r}')" = "$ike0" ] || fail "the IKE SA changed"
[ "$inits" -eq 0 ] || fail "an IKE_SA_INIT went out: the client reconnected"
[ "$malformed" -eq 0 ] || fail "tshark found malformed frames"
[ "$lost" -le 30 ] || fail "$lost pings lost: the tunnel did not move within 3 s"
nsx lap ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel after the move"
nsd_alive gw
nsd_alive alice
step "PASS"
