#!/usr/bin/env bash
# ctest: serial
# Reload without dropping anyone (X14): natsecctl reload and SIGHUP.
#
# X14: a gateway with three connected clients reloads a file that adds
#      dave, removes bob and narrows carol's subnets to one server:
#      - alice's section is unchanged: her IKE SA and CHILD_SA stay the
#        same (same SPIs), and her ping running through the reload loses
#        nothing;
#      - bob's section is gone: the gateway deletes his IKE SA (he hears
#        the DELETE) and refuses him when he tries again;
#      - carol's section changed: her SA is deleted, she reconnects and her
#        new CHILD_SA has the narrowed selectors (R17: only the server);
#      - dave's new section takes effect: he connects.
#      A broken file (natsecctl reload, and SIGHUP) and a change to a
#      [natsecd] key are refused with file:line, and everything keeps
#      running with the configuration it had.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

ctl() { "$NSC_BIN" -s "$(nsd_sock gw)" "$@"; }
# The gateway's IKE SA of identity ID as compact JSON (empty if none): gw_sa ID.
gw_sa() { nsd_json gw | jq -c --arg id "$1" '.ike_sas[] | select(.remote_id == $id and .state == "ESTABLISHED")'; }

nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example bob@corp.example carol@corp.example
nsd_start gw gw
for c in "alice c1" "bob c2" "carol pub"; do
  read -r name ns <<<"$c"
  nsd_conf_corp_client "$name" "$name@corp.example"
  nsd_start "$name" "$ns"
done
for name in alice bob carol; do nsd_wait_up "$name"; done
nsd_wait_up gw 3
alice0=$(gw_sa alice@corp.example)
bob0=$(gw_sa bob@corp.example)
carol0=$(gw_sa carol@corp.example)

step "X14: alice pings through the whole reload (20 per second)"
ping_out=$NATSEC_TMP/alice-ping.txt
run_bg c1 ping -n -i 0.05 -c 240 -W 1 "$SRV_ADDR" >"$ping_out" 2>&1
ping_pid=$BG_PID
sleep 1

step "X14: reload: dave added, bob removed, carol narrowed to $SRV_ADDR/32, alice unchanged"
nsd_conf_gateway gw
nsd_corp_peers gw alice@corp.example dave@corp.example
nsd_peer gw carol@corp.example "$NSD_PSK" "$SRV_ADDR/32"
out=$(ctl reload) || fail "natsecctl reload failed"
echo "  $out"
[[ $out == *"1 [peer] section(s) added, 1 removed, 1 changed, 1 unchanged; 2 IKE SA(s) deleted"* ]] ||
  fail "unexpected reload summary"

step "X14: alice keeps her IKE SA and CHILD_SA"
alice1=$(gw_sa alice@corp.example)
for k in .id .spi_i .spi_r '.children[0].spi_in' '.children[0].spi_out'; do
  [ "$(jq -r "$k" <<<"$alice0")" = "$(jq -r "$k" <<<"$alice1")" ] || fail "alice's $k changed in the reload"
done

step "X14: bob's IKE SA is deleted; he hears it, and is refused when he tries again"
wait_for "grep -q 'connection down: deleted by the peer' '$(nsd_log bob)'" 5 || fail "bob did not hear the DELETE"
[ -z "$(gw_sa bob@corp.example)" ] || fail "bob still has an IKE SA"
wait_for "grep -q 'reconnect: attempt' '$(nsd_log bob)'" 5 || fail "bob did not try again"
sleep 1
[ -z "$(gw_sa bob@corp.example)" ] || fail "bob got in again without a section"
nsx c2 ping -n -c 1 -W 1 "$SRV_ADDR" >/dev/null 2>&1 && fail "bob still reaches the server"

step "X14: carol is reconnected with the narrowed selectors"
nsd_wait gw '[.ike_sas[] | select(.remote_id == "carol@corp.example" and .state == "ESTABLISHED" and (.children | length) > 0)] | length == 1' 15 ||
  fail "carol did not come back"
carol1=$(gw_sa carol@corp.example)
[ "$(jq -r .id <<<"$carol1")" != "$(jq -r .id <<<"$carol0")" ] || fail "carol's IKE SA was not re-created"
ts=$(jq -c '.children[0].local_ts' <<<"$carol1")
echo "  carol's CHILD_SA on the gateway: local ts $ts (was $(jq -c '.children[0].local_ts' <<<"$carol0"))"
[ "$ts" = "[\"$SRV_ADDR/32\"]" ] || fail "carol's selectors are $ts, not $SRV_ADDR/32"
nsd_wait_up carol 1 10
wait_for "nsx pub ping -n -c 1 -W 1 $SRV_ADDR" 5 || fail "carol cannot reach $SRV_ADDR"
nsx pub ping -n -c 2 -i 0.2 -W 1 "$SRV2_ADDR" >/dev/null 2>&1 && fail "carol still reaches $SRV2_ADDR"

step "X14: dave's new section takes effect"
nsd_conf_corp_client dave dave@corp.example
nsd_start dave c1b
nsd_wait_up dave
nsx c1b ping -n -c 2 -i 0.2 -W 1 "$SRV_ADDR" >/dev/null || fail "dave cannot reach the server"

step "X14: a broken file is refused with file:line; everything keeps running"
conf=$(nsd_conf gw)
cp "$conf" "$NATSEC_TMP/good.conf"
printf '[peer eve@corp.example]\npsk = %s\nsubnets = 192.0.2.0/33\n' "$NSD_PSK" >>"$conf"
line=$(grep -n 'subnets = 192.0.2.0/33' "$conf" | cut -d: -f1)
rc=0
ctl reload 2>"$NATSEC_TMP/reload.err" || rc=$?
echo "  $(cat "$NATSEC_TMP/reload.err")"
[ "$rc" -eq 1 ] || fail "natsecctl reload of a broken file exited $rc"
grep -q "refused, the running configuration stays: $conf:$line: " "$NATSEC_TMP/reload.err" ||
  fail "the refusal does not name $conf:$line"
kill -HUP "${NSD_PID[gw]}"
wait_for "[ \$(grep -c 'reload refused' '$(nsd_log gw)') -ge 2 ]" 5 || fail "SIGHUP with a broken file: no refusal logged"
nsd_alive gw
step "X14: a [natsecd] key that needs a restart is refused with its line"
cp "$NATSEC_TMP/good.conf" "$conf"
sed -i 's/^tun = nsec0$/tun = nsec9/' "$conf"
line=$(grep -n '^tun = nsec9' "$conf" | cut -d: -f1)
rc=0
ctl reload 2>"$NATSEC_TMP/reload.err" || rc=$?
echo "  $(cat "$NATSEC_TMP/reload.err")"
[ "$rc" -eq 1 ] && grep -q "$conf:$line: tun cannot change without a restart (was 'nsec0', now 'nsec9')" "$NATSEC_TMP/reload.err" ||
  fail "a tun change was not refused with its line"
cp "$NATSEC_TMP/good.conf" "$conf"
# After all of it: the same SAs as before the broken file, everyone still
# connected.
[ "$(jq -r .id <<<"$(gw_sa alice@corp.example)")" = "$(jq -r .id <<<"$alice0")" ] || fail "alice's IKE SA changed"
for name in carol dave; do
  [ -n "$(gw_sa "$name@corp.example")" ] || fail "$name lost the connection"
done
[ -z "$(gw_sa bob@corp.example)" ] || fail "bob got in"

step "X14: SIGHUP reloads too: bob's section back, the others untouched"
nsd_corp_peers gw bob@corp.example
kill -HUP "${NSD_PID[gw]}"
wait_for "grep -q '1 \[peer\] section(s) added, 0 removed, 0 changed, 3 unchanged; 0 IKE SA(s) deleted' '$(nsd_log gw)'" 5 ||
  fail "SIGHUP did not reload"

step "X14: alice's ping lost nothing"
wait "$ping_pid" || true
tail -n 2 "$ping_out" | sed 's/^/  /'
grep -q '240 packets transmitted, 240 received, 0% packet loss' "$ping_out" || fail "alice lost packets during the reload"
[ "$(jq -r .id <<<"$(gw_sa alice@corp.example)")" = "$(jq -r .id <<<"$alice0")" ] || fail "alice's IKE SA changed"
nsd_alive gw
step "PASS"
