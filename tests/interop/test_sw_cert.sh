#!/usr/bin/env bash
# X.509 certificate authentication against strongSwan 5.9.8 (X7, R3), with
# the certificates of tests/fixtures/certs (one CA for all):
#   A. strongSwan road warrior in c1 behind nat1, ECDSA P-256 certificate
#      alice@corp.example, to the natsec gateway with an RSA certificate and
#      `[peer %default] auth = pubkey` (any client of the CA): strongSwan
#      sends its certificate (send_cert = ifasked) because natsec's
#      IKE_SA_INIT answer carries a CERTREQ; RFC 7427 both ways
#      (SIGNATURE_HASH_ALGORITHMS both ways); virtual IP, ping the corporate
#      server; both sides report the other authenticated with the
#      certificate and signature scheme (natsec's log, charon's log) and
#      `natsecctl status --json` and `swanctl --list-sas` agree (X10)
#   A2. a strongSwan client whose certificate (alice@corp.example in its
#      subjectAltName) comes from another CA: natsec answers
#      AUTHENTICATION_FAILED and logs why, strongSwan reports it
#   B. natsec client in c1 behind nat1 with an RSA certificate
#      (bob@corp.example, PKCS#1 v1.5) to a strongSwan gateway with an
#      ECDSA certificate: virtual IP, ping, both logs, status comparison
#   B2. the same with RSASSA-PSS both ways (natsec rsa_pss = yes, a
#      strongSwan gateway with an RSA certificate and rsa_pss = yes)
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
# pkcs8: the fixtures' private keys are PKCS#8 ("BEGIN PRIVATE KEY").
SW_PLUGINS="$SW_PLUGINS pkcs8"

netns_init
nsd_check_build
step "building topology (prefix $NS_PREFIX)"
topo_setup

ping_srv() {
  local ns=$1 count=$2 out
  out=$(nsx "$ns" ping -c "$count" -i 0.2 -W 2 "$SRV_ADDR") || fail "ping $SRV_ADDR from $ns through the tunnel failed: $out"
}

# ---------------------------------------------------------------------------
step "A. strongSwan client (ECDSA, $IOP_EMAIL_ID) behind nat1 -> natsec gateway (RSA)" # X7 R3
nsd_conf_gateway gw cert="$CERTS/gw-rsa.pem" key="$CERTS/gw-rsa.key" ca="$CERTS/ca.pem"
printf '[peer %%default]\nauth = pubkey\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf gw)"
nsd_start gw gw
sw_start c1 alice
sw_install_certs alice "$CERTS/alice-ecdsa.pem" "$CERTS/alice-ecdsa.key" "$CERTS/ca.pem"
sw_load alice "$(sw_conf_cert_client "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" alice-ecdsa.pem "$CORP_NET")"
cap=$NATSEC_TMP/cert-a.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500'
sw_initiate alice home 15 || {
  tail -n 30 "$(sw_log alice)" "$(nsd_log gw)" >&2
  fail "strongSwan could not connect with its certificate"
}
nsd_wait_up gw 1 10
sw_child_installed alice home || fail "strongSwan has no INSTALLED CHILD_SA"
ping_srv c1 3
iop_compare gw alice home yes "$NAT1_PUB"
capture_stop "$cap"
# natsec saw strongSwan's certificate and ECDSA signature (RFC 7427) ...
log_has "natsec (gateway)" "$(nsd_log gw)" \
  "'$IOP_EMAIL_ID' authenticated by certificate 'C=CH, O=Corp, CN=alice' \(issuer 'C=CH, O=natsec test, CN=natsec Test CA'\), ECDSA P-256, ecdsa-with-SHA256 \(RFC 7427\)"
# ... and strongSwan natsec's RSA one, and both announced their hashes.
log_has "strongSwan (client)" "$(sw_log alice)" \
  "authentication of '$IOP_GW_ID' with RSA_EMSA_PKCS1_SHA2_256 successful"
# natsec's IKE_SA_INIT answer asks for a certificate of its CA, strongSwan
# (send_cert = ifasked) sends it and asks for one of its own CA in turn.
log_has "strongSwan (client) read natsec's CERTREQ" "$(sw_log alice)" \
  "received cert request for \"C=CH, O=natsec test, CN=natsec Test CA\""
log_has "strongSwan (client)" "$(sw_log alice)" "sending end entity cert \"C=CH, O=Corp, CN=alice\""
grep -qE "parsed IKE_SA_INIT response 0 \[.*CERTREQ" "$(sw_log alice)" ||
  fail "natsec's IKE_SA_INIT answer has no CERTREQ"
grep -qE "generating IKE_AUTH request 1 \[ IDi CERT " "$(sw_log alice)" ||
  fail "strongSwan did not send its certificate"
grep -qE "parsed IKE_AUTH response 1 \[ IDr CERT AUTH " "$(sw_log alice)" ||
  fail "natsec did not send its certificate"
# SIGNATURE_HASH_ALGORITHMS (16431) in both IKE_SA_INIT messages on the wire.
notes=$(ike_tshark "$cap" -Y 'isakmp.exchangetype == 34' -T fields -e isakmp.notify.msgtype 2>/dev/null)
[ "$(grep -c 16431 <<<"$notes")" -ge 2 ] || fail "SIGNATURE_HASH_ALGORITHMS not in both IKE_SA_INIT messages: $notes"
step "  SIGNATURE_HASH_ALGORITHMS in both IKE_SA_INIT messages, CERT and CERTREQ both ways"
sw_swanctl alice --terminate --ike home --timeout 10 >/dev/null || fail "swanctl --terminate failed"
nsd_wait gw '(.ike_sas | length) == 0' 10 || fail "natsec kept the IKE SA after strongSwan's Delete"

# ---------------------------------------------------------------------------
step "A2. strongSwan client with a certificate from another CA (claims $IOP_EMAIL_ID)" # X7 R3
sw_stop alice
rm -rf "$(sw_dir alice)"
sw_start c1 mallory
sw_install_certs mallory "$CERTS/mallory-other.pem" "$CERTS/mallory-other.key" "$CERTS/ca.pem"
cp "$CERTS/other-ca.pem" "$(sw_dir mallory)/swanctl/x509ca/"
sw_load mallory "$(sw_conf_cert_client "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" mallory-other.pem "$CORP_NET")"
! sw_initiate mallory home 10 || fail "strongSwan connected with a certificate of another CA"
log_has "natsec refused" "$(nsd_log gw)" \
  "authentication failed: the certificate 'C=CH, O=Corp, CN=mallory' of '$IOP_EMAIL_ID' is not trusted: unable to get local issuer certificate"
log_has "strongSwan was told" "$(sw_log mallory)" "received AUTHENTICATION_FAILED notify error"
[ "$(nsd_q gw '.ike_sas | length')" = 0 ] || fail "natsec kept an IKE SA for the refused client"
sw_stop mallory
nsd_stop gw

# ---------------------------------------------------------------------------
step "B. natsec client (RSA, bob@corp.example) behind nat1 -> strongSwan gateway (ECDSA)" # X7 R3
sw_start gw gw
sw_install_certs gw "$CERTS/gw-ecdsa.pem" "$CERTS/gw-ecdsa.key" "$CERTS/ca.pem"
sw_load gw "$(sw_conf_cert_gateway "$GW_PUB" "$IOP_GW_ID" gw-ecdsa.pem %any "$VIP_POOL" "$CORP_NET")"
nsd_conf_client bob bob@corp.example cert="$CERTS/bob-rsa.pem" key="$CERTS/bob-rsa.key" ca="$CERTS/ca.pem"
printf '[peer %s]\nauth = pubkey\nsubnets = %s\n' "$IOP_GW_ID" "$CORP_NET" >>"$(nsd_conf bob)"
nsd_start bob c1
nsd_wait_up bob 1 15
sw_child_installed gw net || fail "strongSwan has no INSTALLED CHILD_SA"
ping_srv c1 3
iop_compare bob gw rw yes "$NAT1_PUB"
log_has "natsec (client)" "$(nsd_log bob)" \
  "'$IOP_GW_ID' authenticated by certificate 'C=CH, O=Corp, CN=vpn.corp.example' \(issuer 'C=CH, O=natsec test, CN=natsec Test CA'\), ECDSA P-256, ecdsa-with-SHA256 \(RFC 7427\)"
log_has "strongSwan (gateway)" "$(sw_log gw)" \
  "authentication of 'bob@corp.example' with RSA_EMSA_PKCS1_SHA2_256 successful"
grep -qE "parsed IKE_AUTH request 1 \[ IDi CERT N\(INIT_CONTACT\) CERTREQ IDr AUTH " "$(sw_log gw)" ||
  fail "natsec's IKE_AUTH request is not IDi CERT N(INIT_CONTACT) CERTREQ IDr AUTH ..."
"$NSC_BIN" -s "$(nsd_sock bob)" down >/dev/null || fail "natsecctl down failed"
wait_for "! sw_ike_established gw" 10 || fail "strongSwan kept the IKE SA after natsec's Delete"
nsd_stop bob
sw_stop gw

# ---------------------------------------------------------------------------
step "B2. RSASSA-PSS both ways: natsec client rsa_pss = yes, strongSwan gateway (RSA) rsa_pss = yes" # X7
sw_start gw gwpss "rsa_pss = yes"
sw_install_certs gwpss "$CERTS/gw-rsa.pem" "$CERTS/gw-rsa.key" "$CERTS/ca.pem"
sw_load gwpss "$(sw_conf_cert_gateway "$GW_PUB" "$IOP_GW_ID" gw-rsa.pem bob@corp.example "$VIP_POOL" "$CORP_NET")"
nsd_conf_client pss bob@corp.example cert="$CERTS/bob-rsa.pem" key="$CERTS/bob-rsa.key" \
  ca="$CERTS/ca.pem" rsa_pss=yes
printf '[peer %s]\nauth = pubkey\nsubnets = %s\n' "$IOP_GW_ID" "$CORP_NET" >>"$(nsd_conf pss)"
nsd_start pss c1
nsd_wait_up pss 1 15
ping_srv c1 2
iop_compare pss gwpss rw yes "$NAT1_PUB"
log_has "natsec (client)" "$(nsd_log pss)" \
  "'$IOP_GW_ID' authenticated by certificate 'C=CH, O=Corp, CN=vpn.corp.example' \(issuer 'C=CH, O=natsec test, CN=natsec Test CA'\), RSA-2048, RSASSA-PSS\(SHA-256, MGF1-SHA-256, salt 32\) \(RFC 7427\)"
log_has "strongSwan (gateway)" "$(sw_log gwpss)" \
  "authentication of 'bob@corp.example' with RSA_EMSA_PSS_SHA2_256_SALT_32 successful"
nsd_stop pss
sw_stop gwpss
step "PASS"
