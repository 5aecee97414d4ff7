#!/usr/bin/env bash
# The proposals of the IKEv2 clients people already have (X9, X12), each
# offered by a strongSwan 5.9.8 road warrior in c1 behind nat1 (PSK; the
# native clients' EAP comes separately) to a natsec gateway; each accepted
# case brings the tunnel up, pings the corporate server and checks the
# negotiated algorithms in `natsecctl status --json` (and that strongSwan
# agrees, iop_compare). The sets, as the clients' documentation gives them:
#   Windows 10/11 built-in client, unchanged (no registry value, no
#     Set-VpnConnectionIPsecConfiguration): IKE aes256-sha1-modp1024,
#     3des-sha1-modp1024; ESP aes256-sha1, 3des-sha1
#   Windows with the registry value NegotiateDH2048_AES256 (under
#     RasMan\Parameters): IKE aes256-sha256-modp2048; ESP still aes256-sha1
#   macOS/iOS (the IKEv2 defaults of Apple's configuration profiles:
#     AES-256, SHA2-256, DH group 14; group 19 where a profile sets it): IKE
#     aes256-sha256-modp2048, aes256-sha256-ecp256; ESP aes256-sha256
#   Android strongSwan app (unless a profile sets its own: strongSwan's
#     `default` keyword; in 5.9.8 an AES/Camellia/3DES-CBC/CTR proposal and
#     an AEAD one over SHA-2/SHA-1, X25519 first)
# Steps:
#   1. gateway at default settings: Windows default refused with
#      NO_PROPOSAL_CHOSEN (natsec's log line and counter, strongSwan's log);
#      Windows AES-256/MODP-2048, macOS/iOS and the Android app accepted
#   2. gateway with legacy_proposals = yes: the start-up log line names the
#      weak algorithms; Windows default accepted (AES-256, SHA-1, MODP-1024),
#      and a client offering only its 3DES suite gets 3DES for IKE and ESP
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

# "IKE ESP" as swanctl.conf takes them (commas separate proposals).
WIN_DEFAULT="aes256-sha1-modp1024,3des-sha1-modp1024 aes256-sha1,3des-sha1"
WIN_MODP2048="aes256-sha256-modp2048 aes256-sha1"
APPLE="aes256-sha256-modp2048,aes256-sha256-ecp256 aes256-sha256"
ANDROID_APP="default default"

netns_init
nsd_check_build
step "building topology (prefix $NS_PREFIX)"
topo_setup

# (Re)start the natsec gateway with [natsecd] settings KV... and alice's PSK: gw_start [KV...].
gw_start() {
  nsd_stop gw
  : >"$(nsd_log gw)"
  nsd_conf_gateway gw "$@"
  nsd_peer gw "$IOP_EMAIL_ID" "$IOP_PSK" "$CORP_NET"
  nsd_start gw gw
}

# Load strongSwan alice's connection with the set "IKE ESP": cl_load SET.
cl_load() {
  local ike esp
  read -r ike esp <<<"$1"
  sw_load alice "$(sw_conf_client "$GW_PUB" "$IOP_GW_ID" "$IOP_EMAIL_ID" "$IOP_PSK" "$CORP_NET" \
    "$ike" "$esp")"
}

# X9: the client with SET connects, pings the corporate server, and natsec
# negotiated IKE WANT_IKE and ESP WANT_ESP (natsec's proposal strings):
# accepted WHAT SET WANT_IKE WANT_ESP.
accepted() {
  local what=$1 set=$2 want_ike=$3 want_esp=$4 got out
  step "  $what offers IKE ${set% *}, ESP ${set#* }"
  cl_load "$set"
  sw_initiate alice home 15 || {
    tail -n 30 "$(sw_log alice)" "$(nsd_log gw)" >&2
    fail "$what: swanctl --initiate failed"
  }
  sw_child_installed alice home || fail "$what: strongSwan has no INSTALLED CHILD_SA"
  nsd_wait_up gw 1 10
  out=$(nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR") || fail "$what: ping $SRV_ADDR through the tunnel failed: $out"
  got=$(nsd_json gw | jq -r '.ike_sas[0] | .proposal + " " + .children[0].proposal + " " + .children[0].integrity')
  [ "${got% *}" = "$want_ike $want_esp" ] || fail "$what: natsec negotiated $got, expected $want_ike $want_esp"
  iop_compare gw alice home yes "$NAT1_PUB"
  step "  $what: tunnel up, ping ok, IKE $want_ike, ESP $want_esp (integrity ${got##* })"
  sw_swanctl alice --terminate --ike home --timeout 10 >/dev/null || fail "$what: swanctl --terminate failed"
  nsd_wait gw '(.ike_sas | length) == 0' 10 || fail "$what: natsec kept the IKE SA after the Delete"
}

sw_start c1 alice

# ---------------------------------------------------------------------------
step "1. natsec gateway at default settings"
gw_start
step "  Windows default offers IKE ${WIN_DEFAULT% *}, ESP ${WIN_DEFAULT#* }" # X12
cl_load "$WIN_DEFAULT"
refused=$(nsd_q gw .counters.ike.no_proposal_sent)
! sw_initiate alice home 15 || fail "Windows' default legacy suites were accepted at default settings"
grep -q 'received NO_PROPOSAL_CHOSEN notify error' "$(sw_log alice)" ||
  fail "strongSwan did not receive NO_PROPOSAL_CHOSEN: $(grep -E 'IKE\]' "$(sw_log alice)" | tail -5)"
grep -qF "no acceptable IKE proposal in aes256-sha1-prfsha1-modp1024, 3des-sha1-prfsha1-modp1024, NO_PROPOSAL_CHOSEN (it offers only weak algorithms, which legacy_proposals = yes allows)" "$(nsd_log gw)" ||
  fail "natsec logged no refusal: $(tail -n 5 "$(nsd_log gw)")"
[ "$(nsd_q gw .counters.ike.no_proposal_sent)" -gt "$refused" ] || fail "natsec's no_proposal_sent did not count it"
[ "$(nsd_q gw '.ike_sas | length')" = 0 ] || fail "natsec kept state for a refused IKE_SA_INIT"
step "  refused: NO_PROPOSAL_CHOSEN, natsec: $(grep -oE 'IKE_SA_INIT from .*NO_PROPOSAL_CHOSEN' "$(nsd_log gw)" | tail -n 1)"
# X9: HMAC-SHA1-96 for ESP is on by default (RFC 8221 MUST-)
accepted "Windows (AES-256/MODP-2048 setting)" "$WIN_MODP2048" aes256-sha256-prfsha256-modp2048 aes256-sha1
# its KE is for MODP-2048, the group of the first suite: natsec takes that
# suite rather than asking for another group
accepted "macOS/iOS" "$APPLE" aes256-sha256-prfsha256-modp2048 aes256-sha256
accepted "Android strongSwan app" "$ANDROID_APP" aes128gcm16-prfsha256-x25519 aes128gcm16

# ---------------------------------------------------------------------------
step "2. natsec gateway with legacy_proposals = yes" # X12
gw_start legacy_proposals=yes
grep -q 'natsecd: legacy_proposals = yes: weak algorithms allowed: MODP-1024 (DH group 2), the HMAC-SHA1 PRF, HMAC-SHA1-96 for IKE integrity, 3DES-CBC' "$(nsd_log gw)" ||
  fail "no start-up line naming the weak algorithms: $(head -n 5 "$(nsd_log gw)")"
step "  $(grep -o 'legacy_proposals = yes: .*' "$(nsd_log gw)")"
accepted "Windows default" "$WIN_DEFAULT" aes256-sha1-prfsha1-modp1024 aes256-sha1
accepted "Windows default, 3DES only" "3des-sha1-modp1024 3des-sha1" 3des-sha1-prfsha1-modp1024 3des-sha1
# the modern suites still come first for a client that has them
accepted "Windows (AES-256/MODP-2048 setting)" "$WIN_MODP2048" aes256-sha256-prfsha256-modp2048 aes256-sha1
sw_stop alice
nsd_alive gw
step "PASS"
