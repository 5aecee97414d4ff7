#!/usr/bin/env bash
# ctest: serial
# Simultaneous re-keys (X3, RFC 7296 2.8.1, 2.8.2): alice (behind nat1) and
# the gateway are told to re-key the same SA ("natsecctl rekey" on both)
# while nat1 drops IKE messages on 4500 (those with the non-ESP marker: ESP
# still flows). Half a second later nat1 lets requests through but still
# drops answers, so the retransmitted requests (1 s after the first send)
# cross: each side answers the other's while its own is out. Then nat1
# lets everything through, and the next retransmissions (3 s) are answered
# from the responders' caches. Each side then knows both exchanges and
# resolves by the nonces: the SA of the exchange with the lowest nonce is
# redundant and deleted by its initiator. Twice for the CHILD_SA, twice for
# the IKE SA, with a ping every 0.1 s:
#   - both sides started a re-key of the same SA, both answered the other's
#     and both resolved the collision by the nonces;
#   - one pair of SAs survives, the same on both sides (SPIs), and nothing
#     else is left;
#   - traffic continues: no ping is lost (X3: re-keys lose no packet; the
#     ESP of the old SAs flows while IKE is held).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

nsd_conf_gateway gw
nsd_peer gw alice@corp.example "$NSD_PSK" "$CORP_NET"
nsd_start gw gw
nsd_conf_client alice alice@corp.example
nsd_peer alice vpn.corp.example "$NSD_PSK" "$CORP_NET"
nsd_start alice c1
nsd_wait_up alice
nsd_wait_up gw
nsx c1 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel to start with"

# The one settled state: one IKE SA and one CHILD_SA each side, the same.
settled() {
  [ "$(nsd_q alice '[.ike_sas[] | select(.state == "ESTABLISHED")] | length')" -eq 1 ] &&
    [ "$(nsd_q gw '[.ike_sas[] | select(.state == "ESTABLISHED")] | length')" -eq 1 ] &&
    [ "$(nsd_q alice '.ike_sas | length')" -eq 1 ] && [ "$(nsd_q gw '.ike_sas | length')" -eq 1 ] &&
    [ "$(nsd_q alice '.ike_sas[0].children | length')" -eq 1 ] &&
    [ "$(nsd_q gw '.ike_sas[0].children | length')" -eq 1 ] &&
    [ "$(nsd_q alice '.ike_sas[0].spi_i + .ike_sas[0].spi_r')" = "$(nsd_q gw '.ike_sas[0].spi_i + .ike_sas[0].spi_r')" ] &&
    [ "$(nsd_q alice '.ike_sas[0].children[0].spi_out')" = "$(nsd_q gw '.ike_sas[0].children[0].spi_in')" ] &&
    [ "$(nsd_q alice '.ike_sas[0].children[0].spi_in')" = "$(nsd_q gw '.ike_sas[0].children[0].spi_out')" ]
}

# Lines of a log after line FROM: log_since NAME FROM.
log_since() {
  tail -n +"$(($2 + 1))" "$(nsd_log "$1")"
}

PINGS=340
out=$NATSEC_TMP/ping.out
run_bg c1 ping -c "$PINGS" -i 0.1 -W 1 "$SRV_ADDR" >"$out" 2>&1
ping_pid=$BG_PID
rounds=0
for what in child child ike ike; do
  rounds=$((rounds + 1))
  la=$(wc -l <"$(nsd_log alice)")
  lg=$(wc -l <"$(nsd_log gw)")
  old_child=$(nsd_q alice '.ike_sas[0].children[0].spi_in')
  old_ike=$(nsd_q alice '.ike_sas[0].spi_i')
  step "round $rounds: both sides re-key the $what SA at once"
  nat_hold_ike nat1 all
  "$NSC_BIN" -s "$(nsd_sock alice)" rekey "$what" >/dev/null &
  p1=$!
  "$NSC_BIN" -s "$(nsd_sock gw)" rekey "$what" >/dev/null || fail "natsecctl rekey failed on gw"
  wait "$p1" || fail "natsecctl rekey failed on alice"
  sleep 0.5
  nat_hold_ike nat1 answers # the requests sent again at 1 s cross
  sleep 1.2
  nat_hold_ike nat1 off # the ones at 3 s get the cached answers
  wait_for settled 10 || {
    nsd_json alice >&2
    nsd_json gw >&2
    fail "round $rounds: no single pair of SAs after the simultaneous re-key"
  }
  sleep 2.5 # the replaced and redundant SAs go after the grace time
  settled || fail "round $rounds: SAs came back after settling"
  if [ "$what" = child ]; then
    pat='re-keying CHILD SA'
    ans='the peer re-keyed CHILD SA'
    [ "$(nsd_q alice '.ike_sas[0].children[0].spi_in')" != "$old_child" ] || fail "the CHILD_SA was not replaced"
  else
    pat='re-keying IKE SA'
    ans='the peer re-keys the IKE SA'
    [ "$(nsd_q alice '.ike_sas[0].spi_i')" != "$old_ike" ] || fail "the IKE SA was not replaced"
  fi
  for n in alice gw; do
    from=$la
    [ "$n" = gw ] && from=$lg
    log_since "$n" "$from" | quiet_grep "$pat" || fail "$n did not start a re-key"
    log_since "$n" "$from" | quiet_grep -E "$ans" || fail "$n did not answer the other's re-key: no collision"
    log_since "$n" "$from" | grep -E 'simultaneous|overtaken|TEMPORARY_FAILURE|is busy|stands' |
      sed -e "s/^/    $n: /" -e 's/ ike: / /' || true
    log_since "$n" "$from" | quiet_grep -E 'redundant \(lowest nonce|re-key won \(2\.8\.2\)' ||
      fail "$n did not resolve the collision by the nonces"
  done
done
wait "$ping_pid" || true
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
[ "$sent" = "$PINGS" ] || fail "ping did not run to the end: $(tail -n 3 "$out")"
lost=$((sent - got))
coll_a=$(nsd_q alice .counters.ike.rekey_collisions)
coll_g=$(nsd_q gw .counters.ike.rekey_collisions)
step "collisions resolved by the nonces: alice $coll_a, gw $coll_g; $lost of $sent pings lost in 8 re-keys"
[ "$coll_a" -eq 4 ] && [ "$coll_g" -eq 4 ] || fail "not every collision was resolved by the nonces"
[ "$lost" -eq 0 ] || fail "lost $lost pings in 8 re-keys"
[ "$(nsd_q alice .counters.ike.rekey_failures)" -eq 0 ] || fail "alice: a re-key failed"
[ "$(nsd_q gw .counters.ike.rekey_failures)" -eq 0 ] || fail "gw: a re-key failed"
! grep -q 'connection down' "$(nsd_log alice)" || fail "the tunnel went down"
nsx c1 ping -c 3 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "no tunnel after the re-keys"
nsd_alive gw
nsd_alive alice
step "PASS"
