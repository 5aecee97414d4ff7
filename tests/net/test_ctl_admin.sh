#!/usr/bin/env bash
# natsecctl as an operator's tool (X14): metrics in the Prometheus text
# format, the log level at run time, the running daemon's version, and
# disconnecting one peer by identity or by address.
#
# X14: `natsecctl metrics` parses with python3-prometheus-client's parser,
#      every family has HELP and TYPE, the numbers are natsecd's status
#      (--per-peer adds series per IKE SA, and only then);
#      `natsecctl log-level debug` makes debug lines appear at once;
#      `natsecctl disconnect ID|ADDRESS` makes the gateway delete exactly
#      that peer's IKE SA (the client hears the DELETE), nobody else's.
# X10: the counters are the ones natsecctl status shows.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

PY=/usr/bin/python3 # Debian's, with python3-prometheus-client
$PY -c 'import prometheus_client' 2>/dev/null ||
  fail "python3-prometheus-client is not installed (scripts/deps.sh)"

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example erin@corp.example
nsd_start gw gw
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c1
nsd_conf_corp_client erin erin@corp.example
nsd_start erin c2
nsd_wait_up alice
nsd_wait_up erin
nsd_wait_up gw 2

ctl() { "$NSC_BIN" -s "$(nsd_sock "$1")" "${@:2}"; }
metrics() { ctl "$@" | $PY "$here/tools/prom_check.py"; }

step "X14: version of the running natsecd"
v=$(ctl gw version)
echo "$v" | sed 's/^/  /'
want=$(head -n 1 "$NATSEC_SRC/VERSION")
grep -q "^natsecctl $want" <<<"$v" || fail "natsecctl version: no natsecctl line with $want"
grep -q "^natsecd $want.* (pid ${NSD_PID[gw]})\$" <<<"$v" || fail "natsecctl version: natsecd's line is wrong"

step "X14: metrics parse as Prometheus text, with HELP and TYPE, and agree with status"
nsx c1 ping -c 5 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice cannot ping the server"
m=$(metrics gw metrics) || fail "the metrics did not parse"
st=$(nsd_json gw)
jq -r 'to_entries[] | select(.key | test("^natsec_(ike_sas|child_sas|ike_established|esp_drops_total|dataplane_esp_rx|info)")) | "  \(.key) \(.value)"' <<<"$m"
[ "$(jq '.natsec_ike_sas' <<<"$m")" = 2 ] || fail "natsec_ike_sas is not 2"
[ "$(jq '.natsec_ike_sas_established' <<<"$m")" = 2 ] || fail "natsec_ike_sas_established is not 2"
[ "$(jq '.natsec_child_sas' <<<"$m")" = 2 ] || fail "natsec_child_sas is not 2"
[ "$(jq '.natsec_ike_established_total' <<<"$m")" -ge 2 ] || fail "natsec_ike_established_total < 2"
[ "$(jq --arg v "$want" '[to_entries[] | select(.key | startswith("natsec_info{") and contains("role=gateway") and contains("version=" + $v))] | length' <<<"$m")" = 1 ] ||
  fail "natsec_info lacks the version or role"
# Every ESP drop reason of status is one series of natsec_esp_drops_total.
for reason in $(jq -r '.counters.esp_drops | keys[]' <<<"$st"); do
  jq -e --arg k "natsec_esp_drops_total{reason=$reason}" 'has($k)' <<<"$m" >/dev/null ||
    fail "no natsec_esp_drops_total series for reason $reason"
done
# The data plane counters are status's (read again after: the pings were before both).
esp_rx=$(jq '.counters.dataplane.esp_rx' <<<"$st")
m_rx=$(jq '.natsec_dataplane_esp_rx_total' <<<"$m")
[ "$esp_rx" -ge 5 ] && [ "$m_rx" -ge 5 ] && [ "$m_rx" -le "$esp_rx" ] ||
  fail "natsec_dataplane_esp_rx_total $m_rx vs status esp_rx $esp_rx"
# Without --per-peer no series per peer.
[ "$(jq '[keys[] | select(startswith("natsec_peer_"))] | length' <<<"$m")" = 0 ] ||
  fail "per-peer series without --per-peer"

step "X14: metrics --per-peer: one series set per IKE SA, alice's bytes counted"
m=$(metrics gw metrics --per-peer) || fail "the --per-peer metrics did not parse"
alice_id=$(jq -r '.ike_sas[] | select(.remote_id == "alice@corp.example") | .id' <<<"$st")
erin_id=$(jq -r '.ike_sas[] | select(.remote_id == "erin@corp.example") | .id' <<<"$st")
[ "$(jq '[keys[] | select(startswith("natsec_peer_info{"))] | length' <<<"$m")" = 2 ] ||
  fail "expected 2 natsec_peer_info series"
pin=$(jq --arg k "natsec_peer_packets_in_total{id=$alice_id,peer=alice@corp.example}" '.[$k]' <<<"$m")
echo "  alice ($alice_id): packets in $pin"
[ "$pin" -ge 5 ] || fail "alice's natsec_peer_packets_in_total is $pin, expected >= 5"
jq -e --arg k "natsec_peer_child_sas{id=$erin_id,peer=erin@corp.example}" '.[$k] == 1' <<<"$m" >/dev/null ||
  fail "erin's natsec_peer_child_sas is not 1"
# The client's metrics: the tunnel is up.
m=$(metrics alice metrics) || fail "the client's metrics did not parse"
[ "$(jq '.natsec_tunnel_up' <<<"$m")" = 1 ] || fail "alice's natsec_tunnel_up is not 1"

step "X14: log-level at run time"
[ "$(ctl gw log-level)" = info ] || fail "log level is not info at start"
log=$(nsd_log gw)
n0=$(grep -c ' DEBUG ' "$log" || true)
[ "$(ctl gw log-level debug)" = debug ] || fail "log-level debug did not answer debug"
ctl gw rekey child >/dev/null
nsd_wait gw '[.ike_sas[].children[] | .rekeys] | add >= 2' 10 || fail "the re-key did not happen"
n1=$(grep -c ' DEBUG ' "$log" || true)
echo "  DEBUG lines: $n0 before, $n1 after log-level debug and a re-key"
[ "$n1" -gt "$n0" ] || fail "no debug lines after log-level debug"
[ "$(ctl gw log-level warn)" = warn ] || fail "log-level warn did not answer warn"
n2=$(grep -c -E ' (DEBUG|INFO) ' "$log" || true)
ctl gw rekey child >/dev/null
sleep 1
n3=$(grep -c -E ' (DEBUG|INFO) ' "$log" || true)
[ "$n3" -eq "$n2" ] || fail "info or debug lines after log-level warn ($n2 -> $n3)"
rc=0
ctl gw log-level verbose 2>"$NATSEC_TMP/ll.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "unknown log level" "$NATSEC_TMP/ll.err" || fail "log-level verbose was not refused"
ctl gw log-level info >/dev/null

step "X14: disconnect by identity deletes alice's IKE SA only; alice hears the DELETE"
erin_sa=$(nsd_q gw '.ike_sas[] | select(.remote_id == "erin@corp.example") | .id')
out=$(ctl gw disconnect alice@corp.example) || fail "disconnect alice@corp.example failed"
echo "  $out"
[[ $out == *"alice@corp.example at $NAT1_PUB:"* ]] || fail "the answer does not name alice and her address"
nsd_wait gw '[.ike_sas[] | select(.remote_id == "alice@corp.example" and .id == "'"$alice_id"'")] | length == 0' 5 ||
  fail "alice's IKE SA is still on the gateway"
wait_for "grep -q 'connection down: deleted by the peer' '$(nsd_log alice)'" 5 || {
  tail -n 20 "$(nsd_log alice)" >&2
  fail "alice did not hear the gateway's DELETE"
}
[ "$(nsd_q gw '.ike_sas[] | select(.remote_id == "erin@corp.example") | .id')" = "$erin_sa" ] ||
  fail "erin's IKE SA changed"
nsx c2 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "erin's tunnel stopped working"

step "X14: disconnect by address (erin's NAT) deletes erin's IKE SA"
out=$(ctl gw disconnect "$NAT2_PUB") || fail "disconnect $NAT2_PUB failed"
echo "  $out"
nsd_wait gw '[.ike_sas[] | select(.id == "'"$erin_sa"'")] | length == 0' 5 ||
  fail "erin's IKE SA is still on the gateway"

step "X14: disconnect of an unknown peer is an error"
rc=0
ctl gw disconnect nobody@corp.example 2>"$NATSEC_TMP/dc.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "no IKE SA matches" "$NATSEC_TMP/dc.err" || fail "disconnect of nobody was not refused"
nsd_alive gw
step "PASS"
