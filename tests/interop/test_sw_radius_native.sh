#!/usr/bin/env bash
# The native clients' logins checked by a real FreeRADIUS (X9, X12, X16):
# a strongSwan 5.9.8 road warrior in c1 behind nat1, configured with the
# proposals of each native client (as tests/interop/test_sw_native_proposals.sh
# takes them from the clients' documentation), logs in as alice with
# EAP-MSCHAPv2 to a natsec gateway (ECDSA certificate, legacy_proposals =
# yes for unchanged Windows) whose EAP goes to FreeRADIUS 3.2 in the
# gateway's namespace (eap_backend = radius). For each set: FreeRADIUS
# accepts, both sides' AUTH come from the MSK of its MS-MPPE keys, the
# virtual IP is alice's Framed-IP-Address, natsec negotiated the expected
# suites, and the corporate server answers a ping through the tunnel.
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
SECRET='radius-shared-5b0e77a1'
PASSWORD='Al1ce-native-pass-c94d'
VIP=10.99.0.42
FR_PORT=18812

# "what|IKE|ESP|natsec's IKE|natsec's ESP": the sets (swanctl.conf lists) and
# what natsec must choose from them.
SETS=(
  "Windows default (legacy_proposals = yes)|aes256-sha1-modp1024,3des-sha1-modp1024|aes256-sha1,3des-sha1|aes256-sha1-prfsha1-modp1024|aes256-sha1"
  "Windows (AES-256/MODP-2048 setting)|aes256-sha256-modp2048|aes256-sha1|aes256-sha256-prfsha256-modp2048|aes256-sha1"
  "macOS/iOS|aes256-sha256-modp2048,aes256-sha256-ecp256|aes256-sha256|aes256-sha256-prfsha256-modp2048|aes256-sha256"
  "Android strongSwan app|default|default|aes128gcm16-prfsha256-x25519|aes128gcm16"
)

netns_init
nsd_check_build
[ -f /usr/lib/ipsec/plugins/libstrongswan-eap-mschapv2.so ] ||
  fail "strongSwan's eap-mschapv2 plugin is missing (Debian libcharon-extauth-plugins; scripts/deps.sh)"
step "building topology (prefix $NS_PREFIX)"
topo_setup

step "FreeRADIUS with alice in the gateway's namespace; natsec gateway, eap_backend = radius" # X16
fr_setup fr "$SECRET" "$(printf 'alice\tCleartext-Password := "%s"\n\tFramed-IP-Address = %s' "$PASSWORD" "$VIP")"
fr_start fr gw "$FR_PORT"
secret_file=$NATSEC_TMP/radius.secret
printf '%s\n' "$SECRET" >"$secret_file"
chmod 600 "$secret_file"
nsd_conf_gateway gw cert="$CERTS/gw-ecdsa.pem" key="$CERTS/gw-ecdsa.key" legacy_proposals=yes \
  eap_backend=radius "radius_server=127.0.0.1:$FR_PORT" radius_secret_file="$secret_file" \
  radius_timeout=1 radius_tries=2
printf '[peer %%default]\nauth = eap-mschapv2\nsubnets = %s\n' "$CORP_NET" >>"$(nsd_conf gw)"
nsd_start gw gw
sw_start c1 alice

accepts=0
for set in "${SETS[@]}"; do
  IFS='|' read -r what ike esp want_ike want_esp <<<"$set"
  step "$what: IKE $ike, ESP $esp" # X9 X12 X16
  : >"$(sw_log alice)"
  iop_sw_eap_client alice eap-mschapv2 alice "$PASSWORD" "$ike" "$esp"
  sw_initiate alice home 15 || {
    tail -n 30 "$(sw_log alice)" "$(nsd_log gw)" >&2
    fail "$what: the login through FreeRADIUS failed"
  }
  nsd_wait_up gw 1 10
  grep -q "EAP method EAP_MSCHAPV2 succeeded, MSK established" "$(sw_log alice)" ||
    fail "$what: strongSwan has no MSK from EAP-MSCHAPv2"
  grep -q "authentication of '$IOP_GW_ID' with EAP successful" "$(sw_log alice)" ||
    fail "$what: strongSwan did not verify natsec's AUTH from the MSK"
  now=$(grep -c "Sent Access-Accept" "$(fr_log fr)" || true)
  [ "$now" -gt "$accepts" ] || fail "$what: FreeRADIUS sent no Access-Accept"
  accepts=$now
  got=$(nsd_q gw '.ike_sas[0] | .proposal + " " + .children[0].proposal + " " + .virtual_ip + " " + .remote_id')
  [ "$got" = "$want_ike $want_esp $VIP alice" ] ||
    fail "$what: natsec has '$got', expected '$want_ike $want_esp $VIP alice'"
  out=$(nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR") || fail "$what: ping $SRV_ADDR failed: $out"
  step "  accepted by FreeRADIUS: IKE $want_ike, ESP $want_esp, virtual IP $VIP, ping ok"
  sw_swanctl alice --terminate --ike home --timeout 10 >/dev/null || fail "$what: swanctl --terminate failed"
  nsd_wait gw '(.ike_sas | length) == 0' 10 || fail "$what: natsec kept the IKE SA after the Delete"
done
! grep -q "$PASSWORD\|$SECRET" "$(nsd_log gw)" || fail "the password or the secret is in natsec's log"
sw_stop alice
fr_stop fr
nsd_alive gw
nsd_stop gw
step "PASS"
