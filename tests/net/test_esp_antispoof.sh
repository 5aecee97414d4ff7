#!/usr/bin/env bash
# Anti-spoofing (R17), the seed's example: employee A (alice, behind nat1)
# may reach the corporate network 192.0.2.0/24; contractor C (carol, behind
# nat2) only the server 192.0.2.10. Carol runs natsecd_spoof, a test build
# whose outbound SA takes any inner addresses, so her packets reach the
# gateway on her real, authenticated SA whatever they carry, as a malicious
# client's would. The gateway must drop and count (ts_mismatch):
#   - carol's packets with alice's virtual IP as the inner source;
#   - carol's packets to another corporate host (192.0.2.20);
# while alice's packets to both hosts and carol's own to 192.0.2.10 pass.
# Captures on the two corporate hosts show what got through. R9: the
# gateway narrowed carol's selectors to her virtual IP and 192.0.2.10/32.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/natsecd_spoof" ] || fail "natsecd_spoof not built"
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example
nsd_peer gw contractor.example "$NSD_PSK" "$SRV_ADDR/32"
nsd_start gw gw

nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
# carol asks for the whole corporate network; the gateway narrows it.
nsd_conf_corp_client carol contractor.example
NSD_BIN=$NSD_TOOLS/natsecd_spoof nsd_start carol c2
nsd_wait_up alice
nsd_wait_up carol
va=$(nsd_q alice .virtual_ip)
vc=$(nsd_q carol .virtual_ip)
carol_sa=$(nsd_json gw | jq -c '.ike_sas[] | select(.remote_id == "contractor.example") | .children[0] | {local_ts, remote_ts}')
step "R9: alice $va; carol (contractor) $vc, gateway selectors for carol $carol_sa"
[ "$(jq -c .local_ts <<<"$carol_sa")" = "[\"$SRV_ADDR/32\"]" ] || fail "carol's selectors not narrowed to $SRV_ADDR/32"
[ "$(jq -c .remote_ts <<<"$carol_sa")" = "[\"$vc/32\"]" ] || fail "carol's remote selector is not her virtual IP"
grep -q "TEST BUILD natsecd_spoof" "$(nsd_log carol)" || fail "carol does not run the spoofing test build"

# carol can send to 192.0.2.20 and as alice: a route into her tunnel, and
# alice's virtual IP on her TUN device.
must nsx c2 ip route add "$SRV2_ADDR/32" dev nsec0
must nsx c2 ip addr add "$va/32" dev nsec0

mismatch() { nsd_q gw .counters.esp_drops.ts_mismatch; }
capture_start srv eth0 "$NATSEC_TMP/srv.pcapng" icmp
capture_start srv2 eth0 "$NATSEC_TMP/srv2.pcapng" icmp

step "carol's own packets to $SRV_ADDR pass"
nsx c2 ping -c 3 -i 0.1 -W 2 -I "$vc" "$SRV_ADDR" >/dev/null || fail "carol cannot reach $SRV_ADDR"

step "R17: carol's packets with alice's virtual IP $va as source are dropped and counted"
nsd_spoof_counted c2 "$va" "$SRV_ADDR" 5

step "R17: carol's packets to $SRV2_ADDR (not allowed for her) are dropped and counted"
nsd_spoof_counted c2 "$vc" "$SRV2_ADDR" 5
m2=$(mismatch)

step "alice's packets to both hosts pass"
nsx c1 ping -c 3 -i 0.1 -W 2 "$SRV_ADDR" >/dev/null || fail "alice cannot reach $SRV_ADDR"
nsx c1 ping -c 3 -i 0.1 -W 2 "$SRV2_ADDR" >/dev/null || fail "alice cannot reach $SRV2_ADDR"
[ "$(mismatch)" -eq "$m2" ] || fail "alice's packets were counted as mismatches"
capture_stop

srv_from=$(tshark -n -r "$NATSEC_TMP/srv.pcapng" -Y 'icmp.type == 8' -T fields -e ip.src 2>/dev/null | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
srv2_from=$(tshark -n -r "$NATSEC_TMP/srv2.pcapng" -Y 'icmp.type == 8' -T fields -e ip.src 2>/dev/null | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
step "echo requests seen by $SRV_ADDR: $srv_from; by $SRV2_ADDR: $srv2_from"
# srv saw carol's 3 and alice's 3 (the spoofed 5 also carry alice's address: there must be exactly 3 from it).
[ "$(tshark -n -r "$NATSEC_TMP/srv.pcapng" -Y "icmp.type == 8 && ip.src == $va" 2>/dev/null | wc -l)" -eq 3 ] ||
  fail "$SRV_ADDR saw a spoofed packet with alice's address"
[ "$(tshark -n -r "$NATSEC_TMP/srv.pcapng" -Y "icmp.type == 8 && ip.src == $vc" 2>/dev/null | wc -l)" -eq 3 ] ||
  fail "$SRV_ADDR did not see carol's 3 own pings"
[ "$(tshark -n -r "$NATSEC_TMP/srv2.pcapng" -Y "icmp.type == 8 && ip.src == $vc" 2>/dev/null | wc -l)" -eq 0 ] ||
  fail "$SRV2_ADDR saw carol's packets"
[ "$(tshark -n -r "$NATSEC_TMP/srv2.pcapng" -Y "icmp.type == 8 && ip.src == $va" 2>/dev/null | wc -l)" -eq 3 ] ||
  fail "$SRV2_ADDR did not see alice's 3 pings"

nsd_alive gw
step "PASS"
