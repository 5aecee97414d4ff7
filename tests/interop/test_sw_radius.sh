#!/usr/bin/env bash
# EAP passed through to RADIUS (X16, X12, RFC 3579): strongSwan 5.9.8 road
# warriors behind nat1 log in with EAP-MSCHAPv2 to a natsec gateway
# (ECDSA certificate, X7) with `eap_backend = radius`, the users checked by
# a real FreeRADIUS 3.2 started by this test in the gateway's namespace.
# natsecd's radius_server lines name a dead server first, then FreeRADIUS.
#   A. alice (Framed-IP-Address 10.99.0.77): the dead first server is given
#      up after its tries and the second answers (failover); the MSK from
#      MS-MPPE-Recv/Send-Key makes both AUTH payloads; virtual IP is the
#      Framed-IP-Address (R6), ping the corporate server
#   B. carol (Class "narrow", [peer narrow] subnets = $SRV_ADDR/32): her
#      CHILD_SA is narrowed to that one server (R9, R17): ping it, the other
#      corporate server unreachable
#   C. alice with a wrong password: FreeRADIUS' Access-Reject, refused; the
#      log names the user, never the password
#   D. FreeRADIUS down: a login is refused within the configured timeouts
#      (2 servers x 2 tries x 0.5 s), and carol's tunnel keeps working, also
#      during the wait (no ping lost or held: natsecd's loop never waits)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=SCRIPTDIR/../net/tools/nsd.sh
. "$here/../net/tools/nsd.sh"
# shellcheck source=SCRIPTDIR/../lib/strongswan.sh
. "$here/../lib/strongswan.sh"
# shellcheck source=SCRIPTDIR/../lib/freeradius.sh
. "$here/../lib/freeradius.sh"
# shellcheck source=SCRIPTDIR/lib_interop.sh
. "$here/lib_interop.sh"

CERTS=$here/../fixtures/certs
SW_PLUGINS="$SW_PLUGINS pkcs8 eap-identity eap-mschapv2"
SECRET='radius-shared-7d2a91c4'
ALICE_PW='Al1ce-radius-pass-3e8b'
CAROL_PW='Car0l-radius-pass-51f0'
WRONG='Wr0ng-radius-pass-0a6d'
ALICE_VIP=10.99.0.77
DEAD_PORT=18130
FR_PORT=18812

netns_init
nsd_check_build
[ -f /usr/lib/ipsec/plugins/libstrongswan-eap-mschapv2.so ] ||
  fail "strongSwan's eap-mschapv2 plugin is missing (Debian libcharon-extauth-plugins; scripts/deps.sh)"
step "building topology (prefix $NS_PREFIX)"
topo_setup

# strongSwan client NAME in NS logging in as USER with PASSWORD: client NAME NS USER PASSWORD.
client() {
  sw_start "$2" "$1"
  iop_sw_eap_client "$1" eap-mschapv2 "$3" "$4"
}

# The SA natsec holds for USER, as jq selects it: sa_of USER FIELD.
sa_of() {
  nsd_q gw "[.ike_sas[] | select(.remote_id == \"$1\")][0]$2"
}

# ---------------------------------------------------------------------------
step "FreeRADIUS in the gateway's namespace, natsec gateway with eap_backend = radius" # X16
fr_setup fr "$SECRET" "$(printf '%s\n' \
  "alice	Cleartext-Password := \"$ALICE_PW\"" "	Framed-IP-Address = $ALICE_VIP" \
  "carol	Cleartext-Password := \"$CAROL_PW\"" "	Class = \"narrow\"")"
fr_start fr gw "$FR_PORT"
secret_file=$NATSEC_TMP/radius.secret
printf '%s\n' "$SECRET" >"$secret_file"
chmod 600 "$secret_file"
nsd_conf_gateway gw cert="$CERTS/gw-ecdsa.pem" key="$CERTS/gw-ecdsa.key" eap_backend=radius \
  "radius_server=127.0.0.1:$DEAD_PORT" "radius_server=127.0.0.1:$FR_PORT" \
  radius_secret_file="$secret_file" \
  radius_timeout=0.5 radius_tries=2
printf '[peer %%default]\nauth = eap-mschapv2\nsubnets = %s\n\n[peer narrow]\nauth = eap-mschapv2\nsubnets = %s/32\n' \
  "$CORP_NET" "$SRV_ADDR" >>"$(nsd_conf gw)"
nsd_start gw gw
log_has "natsec" "$(nsd_log gw)" "radius: EAP goes to 2 RADIUS server\(s\), first 127.0.0.1:$DEAD_PORT"

step "A. alice: first server dead, FreeRADIUS answers; Framed-IP-Address" # X16 R6
client alice c1 alice "$ALICE_PW"
sw_initiate alice home 15 || {
  tail -n 30 "$(sw_log alice)" "$(nsd_log gw)" >&2
  fail "alice could not log in through RADIUS"
}
nsd_wait_up gw 1 10
log_has "natsec failed over" "$(nsd_log gw)" \
  "radius: server 1 did not answer 2 tries of 500 ms; trying server 2"
log_has "natsec" "$(nsd_log gw)" "the RADIUS server accepted user 'alice'"
rs=$(nsd_q gw '.radius | "\(.servers[0].timeouts) \(.servers[0].answers) \(.servers[1].answers) \(.current)"')
read -r dead_timeouts dead_answers fr_answers current <<<"$rs"
{ [ "$dead_timeouts" -ge 2 ] && [ "$dead_answers" = 0 ] && [ "$fr_answers" -ge 1 ] && [ "$current" = 2 ]; } ||
  fail "natsecctl status shows radius '$rs', expected server 1 timed out twice, server 2 answered and is used first"
step "  natsecctl status: server 1 $dead_timeouts timeouts, server 2 $fr_answers answers, server $current used first"
log_has "natsec" "$(nsd_log gw)" \
  "user 'alice' authenticated by EAP on RADIUS \(IDi '$IOP_FQDN_ID', \[peer %default\]\)"
log_has "FreeRADIUS" "$(fr_log fr)" "Sent Access-Accept"
log_has "strongSwan" "$(sw_log alice)" "EAP method EAP_MSCHAPV2 succeeded, MSK established"
log_has "strongSwan" "$(sw_log alice)" "authentication of '$IOP_GW_ID' with EAP successful"
[ "$(sa_of alice .virtual_ip)" = "$ALICE_VIP" ] ||
  fail "alice's virtual IP is $(sa_of alice .virtual_ip), not the Framed-IP-Address $ALICE_VIP"
grep -qE "installing new virtual IP $ALICE_VIP|assigning virtual IP $ALICE_VIP" "$(sw_log alice)" ||
  fail "strongSwan did not take virtual IP $ALICE_VIP"
out=$(nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR") || fail "alice: ping $SRV_ADDR failed: $out"
step "  alice: virtual IP $ALICE_VIP, ping $SRV_ADDR ok"
sw_swanctl alice --terminate --ike home --timeout 10 >/dev/null || fail "swanctl --terminate failed"
nsd_wait gw '(.ike_sas | length) == 0' 10 || fail "natsec kept alice's IKE SA after her Delete"
sw_stop alice

step "B. carol: Class narrow -> [peer narrow], one server only" # X16 R9 R17
client carol c1b carol "$CAROL_PW"
sw_initiate carol home 15 || {
  tail -n 30 "$(sw_log carol)" "$(nsd_log gw)" >&2
  fail "carol could not log in through RADIUS"
}
nsd_wait_up gw 1 10
log_has "natsec" "$(nsd_log gw)" "the RADIUS server accepted user 'carol' with class 'narrow'"
[ "$(sa_of carol .peer_section)" = narrow ] || fail "carol's SA is not under [peer narrow]: $(nsd_json gw)"
ts=$(sa_of carol '.children[0].local_ts | join(",")')
[ "$ts" = "$SRV_ADDR/32" ] || fail "carol's CHILD_SA reaches '$ts', not $SRV_ADDR/32 alone"
out=$(nsx c1b ping -c 2 -i 0.2 -W 2 "$SRV_ADDR") || fail "carol: ping $SRV_ADDR failed: $out"
! nsx c1b ping -c 1 -W 1 "$SRV2_ADDR" >/dev/null 2>&1 || fail "carol reached $SRV2_ADDR outside her class"
step "  carol: CHILD_SA to $ts only; $SRV_ADDR answers, $SRV2_ADDR does not"

step "C. alice with a wrong password" # X16 X12
client wrongpw c1 alice "$WRONG"
! sw_initiate wrongpw home 10 || fail "a wrong password logged in"
log_has "natsec refused" "$(nsd_log gw)" \
  "authentication failed: EAP on RADIUS: user 'alice': the RADIUS server refused the login \(Access-Reject\)"
log_has "FreeRADIUS" "$(fr_log fr)" "Sent Access-Reject"
! grep -qE "$ALICE_PW|$WRONG|$SECRET" "$(nsd_log gw)" || fail "a password or the secret is in natsec's log"
sw_stop wrongpw

step "D. FreeRADIUS down: refused within the timeouts, carol still served" # X16
fr_stop fr
client late c1 alice "$ALICE_PW"
# carol's traffic goes through natsecd's event loop while the login waits
# for the servers: it must not wait with it.
pings=$NATSEC_TMP/carol-ping.txt
run_bg c1b ping -c 15 -i 0.2 -W 1 "$SRV_ADDR" >"$pings" 2>&1
ping_pid=$BG_PID
t0=$(date +%s%N)
! sw_initiate late home 15 || fail "alice logged in with no RADIUS server"
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$ping_pid" || fail "carol's pings during the wait for RADIUS were lost: $(tail -n 3 "$pings")"
max_rtt=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' "$pings")
# A loop that waited for RADIUS would hold a ping for a try (500 ms) or more.
{ grep -q ' 0% packet loss' "$pings" && [ "${max_rtt%.*}" -lt 400 ]; } ||
  fail "carol's tunnel stalled while natsecd waited for RADIUS: $(tail -n 2 "$pings")"
step "  carol's 15 pings meanwhile: none lost, max RTT $max_rtt ms"
log_has "natsec refused" "$(nsd_log gw)" \
  "authentication failed: EAP on RADIUS: user 'alice': no RADIUS server answered \(2 tried, 2 tries of 500 ms each\)"
log_has "strongSwan was told" "$(sw_log late)" "received AUTHENTICATION_FAILED notify error"
[ "$(nsd_q gw .radius.gave_up)" = 1 ] || fail "natsecctl status counts $(nsd_q gw .radius.gave_up) logins no server answered, not 1"
# 2 s of RADIUS timeouts, plus strongSwan's own exchanges around them.
[ "$ms" -lt 6000 ] || fail "the refusal took $ms ms"
step "  refused after $ms ms"
sw_stop late
out=$(nsx c1b ping -c 2 -i 0.2 -W 2 "$SRV_ADDR") || fail "carol's tunnel stopped working: $out"
[ "$(sa_of carol .state)" = ESTABLISHED ] || fail "carol's SA is gone: $(nsd_json gw)"
nsd_alive gw
sw_stop carol
nsd_stop gw
step "PASS"
