#!/usr/bin/env bash
# natsec client -> strongSwan 5.9.8 gateway (R14), on one topology:
#   1. through the home NAT nat1: IKE, a virtual IP from strongSwan's pool,
#      ping and 20 MB over TCP each way (SHA-256 checked) to the corporate
#      server; on the wire IKE floats 500 -> 4500 and ESP is only in UDP 4500
#      (R14 R4 R13 R10 R11); `natsecctl status --json` and `swanctl
#      --list-sas` agree on SPIs, algorithms, identities and the NAT side (X10)
#   2. PSK with an FQDN client identity (the first case used an email one),
#      ended by the gateway's Delete this time: natsec brings the tunnel
#      down and reconnects by itself (R3, X2)
#   3. every proposal of the matrix in lib_interop.sh, ping and comparison
#      each (X9, R16 for ESP null-sha256)
#   4. no NAT (client in pub): strongSwan's user-space backend forces UDP
#      encapsulation (it has no plain ESP), natsec reads the peer as behind a
#      NAT, ESP in UDP 4500 carries the ping (R14)
#   5. no NAT against a charon without kernel-libipsec (genuine NAT detection;
#      it cannot install ESP here, so IKE only): IKE stays on port 500 and
#      both report no NAT; with `encap = yes` natsec sees a NAT and moves to
#      4500 (R14, forced encapsulation honoured)
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

# Load the strongSwan gateway's connection "rw" (child "net") for client
# identity CID with proposals IKE and ESP, plus connection options OPTS...:
# gw_load CID IKE ESP [OPTS...].
gw_load() {
  local cid=$1 ike=$2 esp=$3
  shift 3
  sw_load "${GW_SW:-gw}" "$(iop_sw_conn_opts "$(sw_conf_gateway "$GW_PUB" "$IOP_GW_ID" "$cid" \
    "$IOP_PSK" "$VIP_POOL" "$CORP_NET" "$ike" "$esp")" "$@")"
}

# Start natsec client NAME in namespace NS with identity ID and proposals
# (natsec's defaults where empty): client_start NAME NS ID IKE ESP.
client_start() {
  local name=$1 ns=$2 id=$3 ike=$4 esp=$5 props=()
  [ -n "$ike" ] && props+=(ike_proposals="$ike")
  [ -n "$esp" ] && props+=(esp_proposals="$esp")
  nsd_conf_client "$name" "$id" "${props[@]}"
  nsd_peer "$name" "$IOP_GW_ID" "$IOP_PSK" "$CORP_NET"
  nsd_start "$name" "$ns"
}

# Disconnect natsec client NAME (natsecctl down: a Delete), check strongSwan
# dropped the IKE SA, stop natsecd: client_down NAME.
client_down() {
  local name=$1
  "$NSC_BIN" -s "$(nsd_sock "$name")" down >/dev/null || fail "natsecctl down failed for $name"
  wait_for "! sw_ike_established '${GW_SW:-gw}'" 10 || fail "strongSwan kept the IKE SA after natsec's Delete"
  nsd_alive "$name"
  nsd_stop "$name"
}

# The natsec client's virtual IP, checked to come from strongSwan's pool: client_vip NAME.
client_vip() {
  local vip
  vip=$(nsd_q "$1" .virtual_ip)
  case $vip in 10.99.0.*) ;; *) fail "$1: virtual IP '$vip' is not from strongSwan's pool $VIP_POOL" ;; esac
  echo "$vip"
}

ping_srv() {
  local ns=$1 count=$2 out
  out=$(nsx "$ns" ping -c "$count" -i 0.2 -W 2 "$SRV_ADDR") || fail "ping $SRV_ADDR from $ns through the tunnel failed: $out"
}

sw_start gw gw

# ---------------------------------------------------------------------------
step "1. natsec client in c1 behind nat1 ($NAT1_PUB), identity $IOP_EMAIL_ID, to the strongSwan gateway"
read -r ike esp <<<"${IOP_CASES[0]}"
gw_load "$IOP_EMAIL_ID" "$ike" "$esp"
cap=$NATSEC_TMP/nat.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
client_start alice c1 "$IOP_EMAIL_ID" "$ike" "$esp"
nsd_wait_up alice 1 15
sw_child_installed gw net || fail "strongSwan has no INSTALLED CHILD_SA"
vip=$(client_vip alice)
step "  virtual IP $vip from strongSwan's pool"
ping_srv c1 5
iop_compare alice gw rw yes "$NAT1_PUB"
iop_tcp_transfer c1 srv "$SRV_ADDR" 5001 "$XFER_MB" # R13 upload
iop_tcp_transfer srv c1 "$vip" 5002 "$XFER_MB"      # R13 download
capture_stop "$cap"
iop_check_counters gw rw alice "$XFER_MB"
wire=$(iop_wire "$cap")
iop_check_nat_wire "$wire" # R4: IKE_SA_INIT on 500, everything after on 4500
grep -qx "$NAT1_PUB 4500 $GW_PUB 4500 35" <<<"$wire" || fail "no IKE_AUTH on 4500 on the wire"
step "  wire: $(grep -c 'esp$' <<<"$wire") ESP-in-UDP packets, IKE on 500 then 4500 only"
# R14 X2: natsec offers its QCD token (RFC 6290); strongSwan, which has no
# QCD, ignores the status notify and hands out none: connected all the same.
[ "$(nsd_q alice .counters.ike.qcd_tokens_sent)" -eq 1 ] || fail "natsec did not offer its QCD token"
[ "$(nsd_q alice .counters.ike.qcd_tokens_taken)" -eq 0 ] || fail "natsec took a QCD token from strongSwan"
client_down alice

# ---------------------------------------------------------------------------
step "2. PSK with an FQDN identity ($IOP_FQDN_ID) for the client" # R3
gw_load "$IOP_FQDN_ID" "$ike" "$esp"
client_start fqdn c1 "$IOP_FQDN_ID" "$ike" "$esp"
nsd_wait_up fqdn 1 15
ping_srv c1 2
iop_compare fqdn gw rw yes "$NAT1_PUB"
# this time the gateway ends it: natsec takes strongSwan's Delete and brings
# the tunnel down, then reconnects by itself (X2: a gateway's Delete is a
# restart or an administrator's close, a road warrior comes back) with a
# new IKE SA; the down state lasts 0.5-1 s (the back-off), so its log says
# it, in order, and the status shows the new connection
old_spi=$(nsd_q fqdn '.ike_sas[0].spi_i')
sw_swanctl gw --terminate --ike rw --timeout 10 >/dev/null || fail "swanctl --terminate failed"
wait_for "grep -q 'connection down: deleted by the peer' '$(nsd_log fqdn)'" 10 ||
  fail "natsec did not take strongSwan's Delete: $(tail -n 10 "$(nsd_log fqdn)")"
nsd_wait fqdn "(.ike_sas | length) == 1 and .ike_sas[0].state == \"ESTABLISHED\" and .ike_sas[0].spi_i != \"$old_spi\" and .tunnel_up" 15 ||
  fail "natsec did not reconnect after strongSwan's Delete: $(nsd_json fqdn | jq -c '{tunnel_up, ike_sas}')"
awk '/connection down: deleted by the peer/ { d = 1 } d && /tunnel down: virtual IP and routes removed/ { t = 1 }
     t && /reconnect: attempt/ { ok = 1 } END { exit !ok }' "$(nsd_log fqdn)" ||
  fail "natsec did not bring the tunnel down before reconnecting: $(tail -n 15 "$(nsd_log fqdn)")"
wait_for "sw_child_installed gw net" 10 || fail "strongSwan has no CHILD_SA after natsec reconnected"
ping_srv c1 2
client_down fqdn

# ---------------------------------------------------------------------------
step "3. the proposal matrix (X9, R16)"
i=0
for c in "${IOP_CASES[@]}"; do
  read -r ike esp <<<"$c"
  i=$((i + 1))
  step " 3.$i IKE $ike, ESP $esp"
  gw_load "$IOP_EMAIL_ID" "$ike" "$esp"
  client_start "p$i" c1 "$IOP_EMAIL_ID" "$ike" "$esp"
  nsd_wait_up "p$i" 1 15
  ping_srv c1 2
  iop_compare "p$i" gw rw yes "$NAT1_PUB"
  # the negotiated suites are the configured ones (ESP without its PFS group in IKE_AUTH)
  got=$(nsd_q "p$i" '.ike_sas[0].proposal')
  [ "$got" = "$(iop_ike_full "$ike")" ] || fail "natsec negotiated IKE $got, not $ike"
  got=$(nsd_q "p$i" '.ike_sas[0].children[0].proposal')
  [ "$got" = "$(iop_esp_no_pfs "$esp")" ] || fail "natsec negotiated ESP $got for $esp"
  client_down "p$i"
done
# X9: natsec's default list (X25519 KE first) against a gateway that takes
# only what Windows and macOS clients are configured with: strongSwan
# answers INVALID_KE_PAYLOAD, natsec retries with MODP-2048.
ike=aes256-sha256-modp2048
step " 3.$((i + 1)) natsec's default proposals, strongSwan accepts only IKE $ike, ESP $ike"
gw_load "$IOP_EMAIL_ID" "$ike" "$ike"
client_start pdef c1 "$IOP_EMAIL_ID" "" ""
nsd_wait_up pdef 1 15
ping_srv c1 2
iop_compare pdef gw rw yes "$NAT1_PUB"
got=$(nsd_json pdef | jq -r '.ike_sas[0] | .proposal + " " + .children[0].proposal')
[ "$got" = "aes256-sha256-prfsha256-modp2048 aes256-sha256" ] || fail "natsec negotiated $got"
grep -q 'generating IKE_SA_INIT response 0 \[ N(INVAL_KE) \]' "$(sw_log gw)" || fail "strongSwan did not answer INVALID_KE_PAYLOAD"
client_down pdef

# ---------------------------------------------------------------------------
step "4. no NAT: natsec client in pub ($PUB_ADDR), strongSwan with kernel-libipsec" # R14
read -r ike esp <<<"${IOP_CASES[0]}"
gw_load "$IOP_EMAIL_ID" "$ike" "$esp"
cap=$NATSEC_TMP/nonat.pcapng
capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
client_start pub pub "$IOP_EMAIL_ID" "$ike" "$esp"
nsd_wait_up pub 1 15
ping_srv pub 3
# kernel-libipsec fakes its NAT_DETECTION_SOURCE_IP: natsec must see the peer
# "behind a NAT", itself not, and encapsulate
iop_compare pub gw rw yes "$PUB_ADDR"
[ "$(iop_sw_flat gw | sed -n 's/^rw\.nat-fake=//p')" = yes ] || fail "strongSwan does not report its faked NAT"
capture_stop "$cap"
wire=$(iop_wire "$cap")
grep -qx "$PUB_ADDR 500 $GW_PUB 500 34" <<<"$wire" || fail "no IKE_SA_INIT on 500"
grep -qx "$PUB_ADDR 4500 $GW_PUB 4500 esp" <<<"$wire" || fail "no ESP in UDP 4500 from natsec"
! grep -q ' - esp$' <<<"$wire" || fail "plain ESP on the wire although strongSwan's backend cannot take it"
client_down pub
sw_stop gw

# ---------------------------------------------------------------------------
step "5. no NAT, charon without kernel-libipsec (genuine NAT detection, IKE only)" # R14 R4
GW_SW=gwnl
SW_PLUGINS=$IOP_PLUGINS_NETLINK_ONLY sw_start gw gwnl
for encap in no yes; do
  step " 5.$encap strongSwan encap = $encap"
  gw_load "$IOP_EMAIL_ID" "$ike" "$esp" "encap = $encap"
  cap=$NATSEC_TMP/nonat-ike-$encap.pcapng
  capture_start inet br0 "$cap" 'udp port 500 or udp port 4500 or ip proto 50'
  client_start "nl$encap" pub "$IOP_EMAIL_ID" "$ike" "$esp"
  # strongSwan answers IKE_AUTH without a CHILD_SA (its kernel has no ESP)
  # and natsec, which needs one, deletes the IKE SA
  wait_for "grep -q 'unable to install inbound and outbound IPsec SA (SAD) in kernel' '$(sw_log gwnl)'" 10 ||
    fail "strongSwan did not get to install the CHILD_SA"
  nsd_wait "nl$encap" '.counters.ike.established >= 1 and (.ike_sas | length) == 0' 10 ||
    fail "natsec did not establish and then delete the IKE SA: $(nsd_json "nl$encap" | jq -c '.ike_sas, .counters.ike')"
  wait_for "! sw_ike_established gwnl" 10 || fail "strongSwan kept the IKE SA after natsec's Delete"
  capture_stop "$cap"
  wire=$(iop_wire "$cap")
  log=$(grep -E 'IKE_SA_INIT done|established:' "$(nsd_log "nl$encap")")
  echo "    natsec: ${log//$'\n'/$'\n'    natsec: }"
  if [ $encap = no ]; then
    # R14: no NAT, so IKE stays on port 500 and nobody sees a NAT
    grep -q "IKE_SA_INIT done.*$PUB_ADDR:500 <-> $GW_PUB:500, NAT: local no, remote no" <<<"$log" ||
      fail "natsec did not stay on port 500 with no NAT seen"
    grep -q "remote host is behind NAT\|local host is behind NAT" "$(sw_log gwnl)" && fail "strongSwan saw a NAT"
    grep -qx "$PUB_ADDR 500 $GW_PUB 500 35" <<<"$wire" || fail "IKE_AUTH not on port 500"
    ! grep -q ' 4500 ' <<<"$wire" || fail "port 4500 used without a NAT: $(grep ' 4500 ' <<<"$wire" | head -3)"
  else
    # forced encapsulation: natsec reads the peer as behind a NAT and floats
    grep -q "IKE_SA_INIT done.*$PUB_ADDR:4500 <-> $GW_PUB:4500, NAT: local no, remote yes" <<<"$log" ||
      fail "natsec did not honour strongSwan's forced encapsulation"
    grep -qx "$PUB_ADDR 500 $GW_PUB 500 34" <<<"$wire" || fail "no IKE_SA_INIT on 500"
    grep -qx "$PUB_ADDR 4500 $GW_PUB 4500 35" <<<"$wire" || fail "IKE_AUTH not moved to 4500"
  fi
  step "  wire: $(tr '\n' ';' <<<"$wire")"
  nsd_stop "nl$encap"
done
sw_stop gwnl
step "PASS"
