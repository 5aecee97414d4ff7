#!/usr/bin/env bash
# strongSwan 5.9.8 client -> natsec gateway (R14), on one topology, one
# natsec gateway configured like a real one (every suite of the matrix
# accepted, two identities):
#   1. strongSwan road warrior in c1 behind the home NAT nat1: IKE, a virtual
#      IP from natsec's pool, ping and 20 MB over TCP each way (SHA-256
#      checked) to the corporate server; on the wire IKE floats 500 -> 4500
#      and ESP is only in UDP 4500 (R14 R4 R13 R10 R11); `natsecctl status
#      --json` and `swanctl --list-sas` agree on SPIs, algorithms, identities
#      and the NAT side (X10)
#   2. PSK with an FQDN client identity (the first case used an email one) (R3)
#   3. every proposal of the matrix in lib_interop.sh offered alone by
#      strongSwan, accepted by natsec, ping and comparison each (X9, R16)
#   4. no NAT (client in pub): strongSwan's user-space backend forces UDP
#      encapsulation (no plain ESP), natsec reads the peer as behind a NAT and
#      itself not, ESP in UDP 4500 carries the ping (R14)
#   5. no NAT against a charon without kernel-libipsec (genuine NAT
#      detection; it cannot install ESP here, so IKE only): with `mobike = no`
#      IKE stays on port 500 and nobody sees a NAT; with MOBIKE on, strongSwan
#      moves IKE to 4500 anyway and natsec still sees no NAT and keeps ESP
#      plain; with `encap = yes` natsec sees the peer behind a NAT and
#      encapsulates (R14, forced encapsulation honoured)
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

XFER_MB=20

netns_init
nsd_check_build
[ -x "$NSD_TOOLS/tcpxfer" ] || fail "tcpxfer not built"
step "building topology (prefix $NS_PREFIX)"
topo_setup

# The natsec gateway: every IKE and ESP suite of the matrix, most common first.
ike_all=$(printf '%s\n' "${IOP_CASES[@]}" | awk '!seen[$1]++ { print $1 }' | paste -sd, | sed 's/,/, /g')
esp_all=$(printf '%s\n' "${IOP_CASES[@]}" | awk '!seen[$2]++ { print $2 }' | paste -sd, | sed 's/,/, /g')
nsd_conf_gateway gw ike_proposals="$ike_all" esp_proposals="$esp_all"
nsd_peer gw "$IOP_EMAIL_ID" "$IOP_PSK" "$CORP_NET"
nsd_peer gw "$IOP_FQDN_ID" "$IOP_PSK" "$CORP_NET"
nsd_start gw gw
step "natsec gateway: ike_proposals = $ike_all; esp_proposals = $esp_all"

# Load strongSwan client NAME's connection "home" (child "home") with
# identity CID and proposals IKE, ESP, plus connection options OPTS...:
# cl_load NAME CID IKE ESP [OPTS...].
cl_load() {
  local name=$1 cid=$2 ike=$3 esp=$4
  shift 4
  sw_load "$name" "$(iop_sw_conn_opts "$(sw_conf_client "$GW_PUB" "$IOP_GW_ID" "$cid" "$IOP_PSK" \
    "$CORP_NET" "$ike" "$esp")" "$@")"
}

# Initiate strongSwan client NAME and wait for natsec to have the IKE SA with a CHILD_SA: cl_up NAME.
cl_up() {
  sw_initiate "$1" home 15 || {
    tail -n 30 "$(sw_log "$1")" >&2
    tail -n 10 "$(nsd_log gw)" >&2
    fail "swanctl --initiate of $1 failed"
  }
  sw_child_installed "$1" home || fail "$1: no INSTALLED CHILD_SA"
  nsd_wait_up gw 1 10
}

# Terminate strongSwan client NAME's IKE SA (a Delete) and check natsec dropped it: cl_down NAME.
cl_down() {
  sw_swanctl "$1" --terminate --ike home --timeout 10 >/dev/null || fail "swanctl --terminate of $1 failed"
  nsd_wait gw '(.ike_sas | length) == 0' 10 || fail "natsec kept the IKE SA after strongSwan's Delete: $(nsd_json gw | jq -c .ike_sas)"
  nsd_alive gw
}

# strongSwan client NAME's virtual IP (on ipsec0), checked to come from natsec's pool: cl_vip NAME NS.
cl_vip() {
  local vip
  vip=$(nsx "$2" ip -4 -o addr show dev ipsec0 | awk '{print $4}' | cut -d/ -f1)
  case $vip in 10.99.0.*) ;; *) fail "$1: virtual IP '$vip' is not from natsec's pool $VIP_POOL" ;; esac
  echo "$vip"
}

ping_srv() {
  local ns=$1 count=$2 out
  out=$(nsx "$ns" ping -c "$count" -i 0.2 -W 2 "$SRV_ADDR") || fail "ping $SRV_ADDR from $ns through the tunnel failed: $out"
}

sw_start c1 alice

# ---------------------------------------------------------------------------
step "1. strongSwan client in c1 behind nat1 ($NAT1_PUB), identity $IOP_EMAIL_ID, to the natsec gateway"
read -r ike esp <<<"${IOP_CASES[0]}"
cl_load alice "$IOP_EMAIL_ID" "$ike" "$esp"
cap=$NATSEC_TMP/nat.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
cl_up alice
vip=$(cl_vip alice c1)
step "  virtual IP $vip from natsec's pool"
ping_srv c1 5
iop_compare gw alice home yes "$NAT1_PUB"
iop_tcp_transfer c1 srv "$SRV_ADDR" 5001 "$XFER_MB" # R13 upload
iop_tcp_transfer srv c1 "$vip" 5002 "$XFER_MB"      # R13 download
capture_stop "$cap"
iop_check_counters alice home gw "$XFER_MB"
wire=$(iop_wire "$cap")
iop_check_nat_wire "$wire" # R4: IKE_SA_INIT on 500, everything after on 4500
grep -qx "$GW_PUB 4500 $NAT1_PUB 4500 35" <<<"$wire" || fail "natsec's IKE_AUTH response is not on 4500"
step "  wire: $(grep -c 'esp$' <<<"$wire") ESP-in-UDP packets, IKE on 500 then 4500 only"
# R14 X2: strongSwan offers no QCD token, so natsec hands it none: its
# IKE_AUTH answer is what it was before quick crash detection (RFC 6290).
[ "$(nsd_q gw .counters.ike.qcd_tokens_sent)" -eq 0 ] || fail "natsec sent a QCD token to strongSwan, which offered none"
cl_down alice

# ---------------------------------------------------------------------------
step "2. PSK with an FQDN identity ($IOP_FQDN_ID) for the client" # R3
cl_load alice "$IOP_FQDN_ID" "$ike" "$esp"
cl_up alice
ping_srv c1 2
iop_compare gw alice home yes "$NAT1_PUB"
[ "$(nsd_q gw '.ike_sas[0].peer_section')" = "$IOP_FQDN_ID" ] || fail "natsec did not use [peer $IOP_FQDN_ID]"
cl_down alice

# ---------------------------------------------------------------------------
step "3. the proposal matrix, each suite offered alone by strongSwan (X9, R16)"
i=0
for c in "${IOP_CASES[@]}"; do
  read -r ike esp <<<"$c"
  i=$((i + 1))
  step " 3.$i IKE $ike, ESP $esp"
  cl_load alice "$IOP_EMAIL_ID" "$ike" "$esp"
  cl_up alice
  ping_srv c1 2
  iop_compare gw alice home yes "$NAT1_PUB"
  got=$(nsd_q gw '.ike_sas[0].proposal')
  [ "$got" = "$(iop_ike_full "$ike")" ] || fail "natsec chose IKE $got, strongSwan offered $ike"
  got=$(nsd_q gw '.ike_sas[0].children[0].proposal')
  [ "$got" = "$(iop_esp_no_pfs "$esp")" ] || fail "natsec chose ESP $got, strongSwan offered $esp"
  cl_down alice
done
# X9: what an unconfigured charon or the Android app offers (two proposals
# of 34 and 36 transforms), and a legacy-first offer like the built-in
# clients' (SHA-1/MODP-1024 first, which natsec does not take): natsec picks
# its own first acceptable suite, asking for MODP-2048 by INVALID_KE_PAYLOAD.
for c in "default default aes128gcm16-prfsha256-x25519 aes128gcm16" \
  "aes256-sha1-modp1024,aes256-sha256-modp2048 aes256-sha1,aes256-sha256 aes256-sha256-prfsha256-modp2048 aes256-sha256"; do
  read -r ike esp want_ike want_esp <<<"$c"
  i=$((i + 1))
  step " 3.$i strongSwan offers IKE $ike, ESP $esp"
  cl_load alice "$IOP_EMAIL_ID" "$ike" "$esp"
  invalid_ke=$(nsd_q gw .counters.ike.invalid_ke_sent)
  cl_up alice
  ping_srv c1 2
  iop_compare gw alice home yes "$NAT1_PUB"
  got=$(nsd_json gw | jq -r '.ike_sas[0] | .proposal + " " + .children[0].proposal')
  [ "$got" = "$want_ike $want_esp" ] || fail "natsec chose $got, expected $want_ike $want_esp"
  if [ "$ike" != default ]; then
    [ "$(nsd_q gw .counters.ike.invalid_ke_sent)" -gt "$invalid_ke" ] || fail "natsec did not send INVALID_KE_PAYLOAD"
  fi
  cl_down alice
done
sw_stop alice

# ---------------------------------------------------------------------------
step "4. no NAT: strongSwan client (kernel-libipsec) in pub ($PUB_ADDR)" # R14
read -r ike esp <<<"${IOP_CASES[0]}"
sw_start pub bob
cl_load bob "$IOP_EMAIL_ID" "$ike" "$esp"
cap=$NATSEC_TMP/nonat.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
cl_up bob
ping_srv pub 3
# kernel-libipsec fakes its NAT_DETECTION_SOURCE_IP: natsec must see the peer
# "behind a NAT", itself not, and encapsulate
iop_compare gw bob home yes "$PUB_ADDR"
[ "$(iop_sw_flat bob | sed -n 's/^home\.nat-fake=//p')" = yes ] || fail "strongSwan does not report its faked NAT"
capture_stop "$cap"
wire=$(iop_wire "$cap")
grep -qx "$PUB_ADDR 500 $GW_PUB 500 34" <<<"$wire" || fail "no IKE_SA_INIT on 500"
grep -qx "$GW_PUB 4500 $PUB_ADDR 4500 esp" <<<"$wire" || fail "no ESP in UDP 4500 from natsec"
! grep -q ' - esp$' <<<"$wire" || fail "plain ESP on the wire although strongSwan's backend cannot take it"
cl_down bob
sw_stop bob

# ---------------------------------------------------------------------------
step "5. no NAT, strongSwan client without kernel-libipsec (genuine NAT detection, IKE only)" # R14 R4
SW_PLUGINS=$IOP_PLUGINS_NETLINK_ONLY sw_start pub nl
for v in "no no" "yes no" "no yes"; do # mobike, encap
  read -r mobike encap <<<"$v"
  step " 5.$mobike.$encap strongSwan mobike = $mobike, encap = $encap"
  cl_load nl "$IOP_EMAIL_ID" "$ike" "$esp" "mobike = $mobike" "encap = $encap"
  cap=$NATSEC_TMP/nonat-ike-$mobike-$encap.pcapng
  capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
  swlog_from=$(($(wc -l <"$(sw_log nl)") + 1))
  before=$(grep -c 'CHILD SA installed' "$(nsd_log gw)" || true)
  # The IKE SA comes up; strongSwan cannot install its CHILD_SA (no ESP in
  # this kernel), deletes it and keeps the IKE SA, so --initiate fails.
  ! sw_initiate nl home 15 || fail "a charon without kernel-libipsec installed a CHILD_SA here"
  swlog=$(tail -n +"$swlog_from" "$(sw_log nl)")
  grep -q 'unable to install inbound and outbound IPsec SA (SAD) in kernel' <<<"$swlog" ||
    fail "strongSwan failed for another reason: $(grep -E 'IKE\]|CFG\]' <<<"$swlog" | tail -5)"
  sw_ike_established nl home || fail "strongSwan has no IKE SA"
  nsd_wait gw '(.ike_sas | length) == 1 and (.ike_sas[0].children | length) == 0' 10 ||
    fail "natsec does not hold the IKE SA without CHILD_SA: $(nsd_json gw | jq -c .ike_sas)"
  if [ "$encap" = yes ]; then forces=yes; else forces=no; fi
  iop_compare gw nl home "$forces" "$PUB_ADDR" no
  # how natsec had installed the CHILD_SA strongSwan then deleted
  installed=$(grep 'CHILD SA installed' "$(nsd_log gw)" | tail -n +$((before + 1)))
  [ "$(grep -c . <<<"$installed")" = 1 ] || fail "expected one CHILD SA installed by natsec, log has: $installed"
  echo "    natsec: $installed"
  n=$(nsd_json gw | jq -c '.ike_sas[0]')
  cl_down nl
  capture_stop "$cap"
  wire=$(iop_wire "$cap")
  step "  wire: $(tr '\n' ';' <<<"$wire")"
  [ "$(jq -r .nat_local <<<"$n")" = false ] || fail "natsec thinks it is behind a NAT"
  grep -qx "$PUB_ADDR 500 $GW_PUB 500 34" <<<"$wire" || fail "no IKE_SA_INIT on 500"
  if [ "$encap" = yes ]; then
    # forced encapsulation honoured: natsec sees the peer behind a NAT, IKE on
    # 4500, the CHILD_SA it installed was UDP-encapsulated
    [ "$(jq -r '.nat_remote, .udp_encap' <<<"$n" | paste -sd' ')" = "true true" ] || fail "natsec did not honour encap = yes: $n"
    grep -q 'UDP-encapsulated' <<<"$installed" || fail "natsec installed plain ESP although the peer forces encapsulation"
    grep -qx "$GW_PUB 4500 $PUB_ADDR 4500 35" <<<"$wire" || fail "IKE_AUTH response not on 4500"
  else
    [ "$(jq -r '.nat_remote, .udp_encap' <<<"$n" | paste -sd' ')" = "false false" ] || fail "natsec saw a NAT where there is none: $n"
    grep -q 'UDP-encapsulated' <<<"$installed" && fail "natsec encapsulated ESP without a NAT (R14)"
    if [ "$mobike" = no ]; then
      # R14: no NAT, IKE stays on port 500
      grep -qx "$GW_PUB 500 $PUB_ADDR 500 35" <<<"$wire" || fail "IKE_AUTH response not on port 500"
      ! grep -q ' 4500 ' <<<"$wire" || fail "port 4500 used without a NAT: $(grep ' 4500 ' <<<"$wire" | head -3)"
    else
      # strongSwan floats to 4500 for MOBIKE (allowed by RFC 7296 2.23):
      # natsec answers there, and it is no reason to encapsulate ESP
      grep -qx "$GW_PUB 4500 $PUB_ADDR 4500 35" <<<"$wire" || fail "natsec did not answer IKE_AUTH on 4500"
    fi
  fi
done
sw_stop nl
nsd_alive gw
step "PASS"
