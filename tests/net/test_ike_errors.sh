#!/usr/bin/env bash
# Failed negotiations: a wrong PSK, an identity the gateway does not know,
# no acceptable IKE proposal, no acceptable ESP proposal. Each gives a
# clear log line on both sides, leaves no SA behind, and the gateway keeps
# serving: an established client keeps its tunnel through it all, and a new
# good client connects afterwards. A refusal the gateway did not
# authenticate (AUTHENTICATION_FAILED without its AUTH, an unprotected
# NO_PROPOSAL_CHOSEN) may be forged (RFC 7296 2.4): the client tries again
# (X2); after the gateway proved itself and refused the CHILD_SA it stops.
# R3: the identity selects the PSK and policy; an unknown one is refused.
# R15: failed peers leave no state on the gateway.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

netns_init
nsd_check_build
topo_setup

# Wait until log of NAME has a line matching the extended regex: log_has NAME REGEX.
log_has() {
  wait_for "grep -qE -- '$2' '$(nsd_log "$1")'" 10 || {
    echo "--- log of $1:" >&2
    cat "$(nsd_log "$1")" >&2
    fail "$1's log has no line matching: $2"
  }
  echo "  $1: $(grep -E -- "$2" "$(nsd_log "$1")" | awk 'NR == 1' | cut -d' ' -f2-)"
}

# The client NAME is not connected and holds no SA: client_down NAME.
client_down() {
  nsd_wait "$1" '.tunnel_up == false and (.ike_sas | length) == 0' 10 ||
    fail "$1 still has a tunnel or an SA: $(nsd_json "$1" | jq -c '{tunnel_up, ike_sas}')"
}

# The client NAME has no tunnel and tries again by itself: client_retries NAME.
client_retries() {
  log_has "$1" "reconnect: next attempt in"
  [ "$(nsd_q "$1" .tunnel_up)" = false ] || fail "$1 has a tunnel"
}

# The gateway holds no IKE SA of IDENTITY: gw_forgot IDENTITY.
gw_forgot() {
  nsd_wait gw "[.ike_sas[] | select(.remote_id == \"$1\")] | length == 0" 10 ||
    fail "the gateway still holds an SA for $1"
}

step "a bad configuration is refused at start with file:line: reason and exit code 1"
nsd_conf_gateway bad
printf '[peer alice@corp.example]\npsk = %s\nsubnets = 192.0.2.0/33\n' "$NSD_PSK" >>"$(nsd_conf bad)"
set +e
msg=$(nsx gw "$NSD_BIN" -c "$(nsd_conf bad)" -f 2>&1)
rc=$?
set -e
echo "  natsecd: rc $rc: $msg"
[ "$rc" -eq 1 ] || fail "natsecd accepted a bad configuration (rc $rc)"
grep -qE "$(nsd_conf bad):[0-9]+: .*subnets" <<<"$msg" || fail "no file:line: reason for the bad configuration"
[ ! -e "$(nsd_sock bad)" ] || fail "natsecd created its control socket despite a bad configuration"
set +e
msg=$("$NSC_BIN" -s "$(nsd_sock bad)" status 2>&1)
rc=$?
set -e
echo "  natsecctl without a daemon: rc $rc: $msg"
[ "$rc" -ne 0 ] && [[ $msg == *"not reachable"* ]] || fail "natsecctl without a daemon: rc $rc, '$msg'"

nsd_conf_gateway gw ike_proposals=aes128gcm16-prfsha256-x25519 esp_proposals=aes128gcm16
nsd_corp_peers gw alice@corp.example mallory@corp.example frank@corp.example dave@corp.example
nsd_start gw gw

step "alice (behind nat2) connects first and stays connected throughout"
nsd_conf_corp_client alice alice@corp.example
nsd_start alice c2
nsd_wait_up alice
nsx c2 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice cannot reach the server"

step "R3: wrong PSK"
nsd_conf_client mallory mallory@corp.example
nsd_peer mallory vpn.corp.example "not-the-right-key-at-all-0123456789" "$CORP_NET"
nsd_start mallory c1
log_has gw "authentication failed.*mallory@corp\.example.*(PSK|verify)"
log_has mallory "AUTHENTICATION_FAILED"
client_retries mallory
nsd_stop mallory
gw_forgot mallory@corp.example

step "R3: unknown identity"
nsd_conf_corp_client stranger stranger@evil.example
nsd_start stranger c1
log_has gw "unknown identity.*stranger@evil\.example"
log_has stranger "AUTHENTICATION_FAILED"
client_retries stranger
nsd_stop stranger
gw_forgot stranger@evil.example

step "no acceptable IKE proposal"
nsd_conf_corp_client frank1 frank@corp.example ike_proposals=aes256-sha512-modp2048
nsd_start frank1 c1
log_has gw "no acceptable IKE proposal"
log_has frank1 "unprotected IKE_SA_INIT answer .*not taken \(the gateway answered NO_PROPOSAL_CHOSEN\)"
[ "$(nsd_q frank1 .tunnel_up)" = false ] || fail "frank1 has a tunnel"
nsd_stop frank1

step "no acceptable ESP proposal"
nsd_conf_corp_client frank2 frank@corp.example esp_proposals=chacha20poly1305
nsd_start frank2 c1
log_has gw "frank@corp\.example.*no CHILD SA: NO_PROPOSAL_CHOSEN"
log_has frank2 "no CHILD SA: NO_PROPOSAL_CHOSEN"
client_down frank2
gw_forgot frank@corp.example
nsd_stop frank2

counters=$(nsd_json gw | jq -c '.counters.ike')
echo "  gateway IKE counters: $(jq -c '{auth_failures, no_proposal_sent, half_open, ike_sas}' <<<"$counters")"
[ "$(jq .auth_failures <<<"$counters")" -ge 2 ] || fail "auth failures not counted"
[ "$(jq .no_proposal_sent <<<"$counters")" -ge 1 ] || fail "NO_PROPOSAL_CHOSEN not counted"
[ "$(jq .half_open <<<"$counters")" -eq 0 ] || fail "half-open SAs left behind"

step "the gateway keeps serving: alice still has her tunnel, dave connects now"
[ "$(nsd_q gw '[.ike_sas[] | select(.remote_id == "alice@corp.example" and .state == "ESTABLISHED")] | length')" -eq 1 ] ||
  fail "alice's SA is gone from the gateway"
nsx c2 ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "alice lost her tunnel"
nsd_conf_corp_client dave dave@corp.example
nsd_start dave c1b
nsd_wait_up dave
nsx c1b ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "dave cannot reach the server"
[ "$(nsd_q gw '.ike_sas | length')" -eq 2 ] || fail "gateway holds $(nsd_q gw '.ike_sas | length') SAs, expected alice's and dave's"

nsd_alive gw
step "PASS"
