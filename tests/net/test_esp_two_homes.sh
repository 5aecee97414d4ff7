#!/usr/bin/env bash
# Two homes with the same private subnet and the same host address
# (10.1.0.2 behind nat1 and behind nat2), connected at once.
# R6: both reach the corporate server, the server reaches both virtual
#     IPs, and nothing meant for one ever shows up at the other (captured on
#     both clients' TUN devices and counted on both SAs).
# R8: a protocol that embeds addresses in its payload (tools/callback, like
#     FTP's PORT) works for both, since the inner addresses are the virtual
#     IPs that no NAT rewrites; the same exchange outside the tunnel would
#     carry 10.1.0.2 for both homes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/callback" ] || fail "callback not built"
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example erin@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_conf_corp_client erin erin@corp.example
nsd_start alice c1
nsd_start erin c2
nsd_wait_up alice
nsd_wait_up erin
va=$(nsd_q alice .virtual_ip)
ve=$(nsd_q erin .virtual_ip)
[ "$va" != "$ve" ] || fail "both homes got the virtual IP $va"
[ "$(nsx c1 ip -4 -o addr show dev eth0 | awk '{print $4}')" = "$(nsx c2 ip -4 -o addr show dev eth0 | awk '{print $4}')" ] ||
  fail "the two homes do not share their private address"
step "alice ($C1_ADDR behind nat1) has $va, erin ($C2_ADDR behind nat2) has $ve"

capture_start c1 nsec0 "$NATSEC_TMP/alice-tun.pcapng" ip
capture_start c2 nsec0 "$NATSEC_TMP/erin-tun.pcapng" ip
before=$(nsd_json gw | jq -c '[.ike_sas[] | {(.remote_id): .children[0]}] | add')

step "R6: both reach the server, the server reaches both virtual IPs"
nsx c1 ping -c 5 -i 0.1 -W 2 -p a11ce0 "$SRV_ADDR" >/dev/null || fail "alice cannot reach the server"
nsx c2 ping -c 7 -i 0.1 -W 2 -p e1110 "$SRV_ADDR" >/dev/null || fail "erin cannot reach the server"
nsx srv ping -c 4 -i 0.1 -W 2 "$va" >/dev/null || fail "the server cannot reach alice's virtual IP"
nsx srv ping -c 6 -i 0.1 -W 2 "$ve" >/dev/null || fail "the server cannot reach erin's virtual IP"

step "R8: an address-embedding protocol (callback to the address in the payload) works for both"
run_bg srv "$NSD_TOOLS/callback" -l 7000 -n 2 -t 20 >"$NATSEC_TMP/callback.out" 2>&1
cb_pid=$BG_PID
wait_for "nsx srv ss -lun | quiet_grep ':7000 '" 5 || fail "callback server did not start"
nsx c1 "$NSD_TOOLS/callback" -c "$SRV_ADDR" -p 7000 -a "$va" -t 10 | sed 's/^/  alice: /' ||
  fail "alice was not called back at $va"
nsx c2 "$NSD_TOOLS/callback" -c "$SRV_ADDR" -p 7000 -a "$ve" -t 10 | sed 's/^/  erin: /' ||
  fail "erin was not called back at $ve"
wait "$cb_pid" || true
sed 's/^/  server: /' "$NATSEC_TMP/callback.out"
capture_stop

step "R6: nothing for one home appears at the other"
a_other=$(tshark -n -r "$NATSEC_TMP/alice-tun.pcapng" -Y "ip.addr == $ve" 2>/dev/null | wc -l)
e_other=$(tshark -n -r "$NATSEC_TMP/erin-tun.pcapng" -Y "ip.addr == $va" 2>/dev/null | wc -l)
a_own=$(tshark -n -r "$NATSEC_TMP/alice-tun.pcapng" -Y "ip.addr == $va" 2>/dev/null | wc -l)
e_own=$(tshark -n -r "$NATSEC_TMP/erin-tun.pcapng" -Y "ip.addr == $ve" 2>/dev/null | wc -l)
step "alice's TUN: $a_own packets of hers, $a_other of erin's; erin's TUN: $e_own of hers, $e_other of alice's"
[ "$a_other" -eq 0 ] && [ "$e_other" -eq 0 ] || fail "packets of one home reached the other"
[ "$a_own" -ge 18 ] && [ "$e_own" -ge 26 ] || fail "a home's own packets missing on its TUN"
after=$(nsd_json gw | jq -c '[.ike_sas[] | {(.remote_id): .children[0]}] | add')
for id in alice@corp.example erin@corp.example; do
  din=$(($(jq --arg i "$id" '.[$i].packets_in' <<<"$after") - $(jq --arg i "$id" '.[$i].packets_in' <<<"$before")))
  dout=$(($(jq --arg i "$id" '.[$i].packets_out' <<<"$after") - $(jq --arg i "$id" '.[$i].packets_out' <<<"$before")))
  echo "  gateway SA of $id: +$din in, +$dout out"
  want_in=$([ "$id" = alice@corp.example ] && echo 10 || echo 14) # pings, echo replies, one callback request
  [ "$din" -ge "$want_in" ] && [ "$din" -le $((want_in + 2)) ] ||
    fail "$id: $din packets in on its SA, expected about $want_in (pings + callback)"
done
[ "$(nsd_q gw '.counters.esp_drops.ts_mismatch')" -eq 0 ] || fail "selector mismatches counted"

nsd_alive gw
step "PASS"
