#!/usr/bin/env bash
# EAP-MSCHAPv2 in IKE_AUTH (X12, RFC 7296 2.16) against strongSwan 5.9.8,
# the gateway showing an ECDSA certificate (X7) of tests/fixtures/certs:
#   A. strongSwan road warrior in c1 behind nat1 (IKE identity
#      laptop.home.example, EAP identity alice) to the natsec gateway with
#      `[peer %default] auth = eap-mschapv2` and `[user alice]`: EAP-Identity,
#      EAP-MSCHAPv2, both AUTH payloads from the MSK; virtual IP, ping the
#      corporate server; natsec knows the client as alice; tshark reads the
#      exchange without a malformed frame
#   B. the same client with a wrong password: refused, natsec's log names the
#      user and never the password, strongSwan is told
#   C. an unknown user: refused the same way, named in the log
#   D. a strongSwan client that wants EAP-MD5: it answers natsec's
#      EAP-MSCHAPv2 Challenge with a Nak for EAP-MD5; refused, named
#   E. natsec client in c1 behind nat1 with EAP-MSCHAPv2 to a strongSwan
#      gateway (eap-mschapv2, EAP-Identity first): virtual IP, ping; the
#      natsec client checked strongSwan's MS-CHAPv2 authenticator response
#   E2. the natsec client with a wrong password: strongSwan's MS-CHAPv2
#      Failure (E=691) acknowledged, EAP-Failure, refused with a log line
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=SCRIPTDIR/../net/tools/nsd.sh
. "$here/../net/tools/nsd.sh"
# shellcheck source=SCRIPTDIR/../lib/strongswan.sh
. "$here/../lib/strongswan.sh"
# shellcheck source=SCRIPTDIR/lib_interop.sh
. "$here/lib_interop.sh"

CERTS=$here/../fixtures/certs
SW_PLUGINS="$SW_PLUGINS pkcs8 eap-identity eap-mschapv2 eap-md5"
PASSWORD='S3cret-EAP-pass-4f1d'
WRONG='Wr0ng-EAP-pass-9c2e'

netns_init
nsd_check_build
[ -f /usr/lib/ipsec/plugins/libstrongswan-eap-mschapv2.so ] ||
  fail "strongSwan's eap-mschapv2 plugin is missing (Debian libcharon-extauth-plugins; scripts/deps.sh)"
step "building topology (prefix $NS_PREFIX)"
topo_setup

ping_srv() {
  local ns=$1 count=$2 out
  out=$(nsx "$ns" ping -c "$count" -i 0.2 -W 2 "$SRV_ADDR") || fail "ping $SRV_ADDR from $ns through the tunnel failed: $out"
}

# strongSwan client NAME in c1 logging in by METHOD as USER with PASSWORD: client NAME METHOD USER PASSWORD.
client() {
  sw_start c1 "$1"
  iop_sw_eap_client "$1" "$2" "$3" "$4"
}

# The refusal of strongSwan client NAME: nothing left on either side, the
# password never in natsec's log: refused NAME.
refused() {
  ! sw_initiate "$1" home 10 || fail "strongSwan $1 connected"
  log_has "strongSwan $1 was told" "$(sw_log "$1")" \
    "received (EAP_FAILURE, EAP authentication failed|AUTHENTICATION_FAILED notify error)"
  [ "$(nsd_q gw '.ike_sas | length')" = 0 ] || fail "natsec kept an IKE SA for the refused client"
  ! grep -qE "$PASSWORD|$WRONG" "$(nsd_log gw)" || fail "a password is in natsec's log"
  sw_stop "$1"
}

# ---------------------------------------------------------------------------
step "A. strongSwan client (EAP-MSCHAPv2, alice) behind nat1 -> natsec gateway (ECDSA)" # X12 X7
nsd_conf_gateway gw cert="$CERTS/gw-ecdsa.pem" key="$CERTS/gw-ecdsa.key"
printf '[peer %%default]\nauth = eap-mschapv2\nsubnets = %s\n\n[user alice]\npassword = %s\n' \
  "$CORP_NET" "$PASSWORD" >>"$(nsd_conf gw)"
nsd_start gw gw
client alice eap-mschapv2 alice "$PASSWORD"
cap=$NATSEC_TMP/eap-a.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500'
sw_initiate alice home 15 || {
  tail -n 30 "$(sw_log alice)" "$(nsd_log gw)" >&2
  fail "strongSwan could not log in with EAP-MSCHAPv2"
}
nsd_wait_up gw 1 10
sw_child_installed alice home || fail "strongSwan has no INSTALLED CHILD_SA"
ping_srv c1 3
capture_stop "$cap"
vip=$(nsd_q gw '.ike_sas[0].virtual_ip')
[ "$(nsd_q gw '.ike_sas[0].remote_id')" = alice ] || fail "natsec does not know the client as alice: $(nsd_json gw)"
step "  natsec: remote alice, virtual IP $vip"
log_has "natsec (gateway)" "$(nsd_log gw)" \
  "user 'alice' authenticated by EAP-MSCHAPv2 \(IDi '$IOP_FQDN_ID', \[peer %default\]\)"
log_has "strongSwan (client)" "$(sw_log alice)" "EAP method EAP_MSCHAPV2 succeeded, MSK established"
log_has "strongSwan (client)" "$(sw_log alice)" \
  "authentication of '$IOP_GW_ID' with (ECDSA_WITH_SHA256_DER|ECDSA-256 signature) successful"
log_has "strongSwan (client)" "$(sw_log alice)" "authentication of '$IOP_GW_ID' with EAP successful"
grep -qE "parsed IKE_AUTH response 1 \[ IDr CERT AUTH EAP/REQ/ID \]" "$(sw_log alice)" ||
  fail "natsec's first IKE_AUTH answer is not IDr CERT AUTH EAP/REQ/ID"
grep -q "assigning virtual IP $vip" "$(sw_log alice)" ||
  grep -q "installing new virtual IP $vip" "$(sw_log alice)" || fail "strongSwan did not take virtual IP $vip"
malformed=$(ike_tshark "$cap" -Y '_ws.malformed || _ws.expert.severity == error' 2>/dev/null | wc -l)
[ "$malformed" = 0 ] || fail "tshark finds $malformed malformed frames in the exchange"
step "  tshark: $(ike_tshark "$cap" -Y isakmp 2>/dev/null | wc -l) IKE frames, none malformed"
sw_swanctl alice --terminate --ike home --timeout 10 >/dev/null || fail "swanctl --terminate failed"
nsd_wait gw '(.ike_sas | length) == 0' 10 || fail "natsec kept the IKE SA after strongSwan's Delete"
sw_stop alice

# ---------------------------------------------------------------------------
step "B. a wrong password" # X12
client wrongpw eap-mschapv2 alice "$WRONG"
refused wrongpw
log_has "natsec refused" "$(nsd_log gw)" \
  "authentication failed: EAP-MSCHAPv2: user 'alice': wrong password"

step "C. an unknown user" # X12
client mallory eap-mschapv2 mallory "$PASSWORD"
refused mallory
log_has "natsec refused" "$(nsd_log gw)" \
  "authentication failed: EAP-MSCHAPv2: unknown user 'mallory'"

step "D. a client that wants EAP-MD5" # X12
client md5 eap-md5 alice "$PASSWORD"
refused md5
log_has "natsec refused" "$(nsd_log gw)" \
  "authentication failed: EAP-MSCHAPv2: the client refuses EAP-MSCHAPv2 and asks for EAP-MD5-Challenge \(4\)"
nsd_stop gw

# ---------------------------------------------------------------------------
step "E. natsec client (EAP-MSCHAPv2, alice) behind nat1 -> strongSwan gateway (ECDSA)" # X12 X7
sw_start gw gw
sw_install_certs gw "$CERTS/gw-ecdsa.pem" "$CERTS/gw-ecdsa.key" "$CERTS/ca.pem"
sw_load gw "$(sw_conf_eap_gateway "$GW_PUB" "$IOP_GW_ID" gw-ecdsa.pem alice "$PASSWORD" "$VIP_POOL" "$CORP_NET")"
nsd_conf_client alice "$IOP_FQDN_ID" ca="$CERTS/ca.pem"
printf '[peer %s]\nauth = eap-mschapv2\neap_user = alice\neap_password = %s\nsubnets = %s\n' \
  "$IOP_GW_ID" "$PASSWORD" "$CORP_NET" >>"$(nsd_conf alice)"
nsd_start alice c1
nsd_wait_up alice 1 15
sw_child_installed gw net || fail "strongSwan has no INSTALLED CHILD_SA"
ping_srv c1 3
log_has "natsec (client)" "$(nsd_log alice)" \
  "'$IOP_GW_ID' authenticated by certificate 'C=CH, O=Corp, CN=vpn.corp.example'"
log_has "natsec (client)" "$(nsd_log alice)" \
  "logged in as user 'alice' \(EAP-MSCHAPv2; the gateway proved it knows our password\)"
log_has "strongSwan (gateway)" "$(sw_log gw)" "EAP method EAP_MSCHAPV2 succeeded, MSK established"
log_has "strongSwan (gateway)" "$(sw_log gw)" "authentication of '$IOP_FQDN_ID' with EAP successful"
"$NSC_BIN" -s "$(nsd_sock alice)" down >/dev/null || fail "natsecctl down failed"
wait_for "! sw_ike_established gw" 10 || fail "strongSwan kept the IKE SA after natsec's Delete"
nsd_stop alice

step "E2. the natsec client with a wrong password" # X12
nsd_conf_client bad "$IOP_FQDN_ID" ca="$CERTS/ca.pem"
printf '[peer %s]\nauth = eap-mschapv2\neap_user = alice\neap_password = %s\nsubnets = %s\n' \
  "$IOP_GW_ID" "$WRONG" "$CORP_NET" >>"$(nsd_conf bad)"
nsd_start bad c1
wait_for "grep -q 'the gateway refused user' '$(nsd_log bad)'" 10 || {
  tail -n 20 "$(nsd_log bad)" "$(sw_log gw)" >&2
  fail "the natsec client was not refused"
}
log_has "natsec (client)" "$(nsd_log bad)" \
  "authentication with gateway [0-9.:]+ failed: the gateway refused user 'alice' \(EAP-Failure, MS-CHAPv2 error 691: wrong user name or password\)"
log_has "strongSwan (gateway)" "$(sw_log gw)" "EAP method EAP_MSCHAPV2 failed for peer $IOP_FQDN_ID"
! sw_ike_established gw || fail "strongSwan established an IKE SA with a wrong password"
! grep -q "$WRONG" "$(nsd_log bad)" || fail "the password is in natsec's log"
nsd_stop bad
sw_stop gw
step "PASS"
