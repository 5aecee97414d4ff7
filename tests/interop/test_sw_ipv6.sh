#!/usr/bin/env bash
# X8 with strongSwan 5.9.8 over an IPv6 outside path (the client has no
# IPv4 address outside), IPv4 and IPv6 inside:
#   1. a strongSwan client asking for virtual IPs of both families
#      (vips = 0.0.0.0, ::) from a natsec gateway with pool and pool6: it
#      gets one of each (INTERNAL_IP6_ADDRESS), one CHILD_SA carries the
#      corporate subnets of both families, and it pings the IPv4 and the
#      IPv6 server;
#   2. a natsec client to a strongSwan gateway with pools of both families:
#      natsec gets both virtual IPs and both families' selectors and pings
#      both servers.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=SCRIPTDIR/../net/tools/nsd.sh
. "$here/../net/tools/nsd.sh"
# shellcheck source=SCRIPTDIR/../net/tools/topo6.sh
. "$here/../net/tools/topo6.sh"
# shellcheck source=SCRIPTDIR/../lib/strongswan.sh
. "$here/../lib/strongswan.sh"
# shellcheck source=SCRIPTDIR/lib_interop.sh
. "$here/lib_interop.sh"

export NATSEC_IPV6=1
netns_init
nsd_check_build
step "building the dual-stack topology (prefix $NS_PREFIX)"
topo6_setup
BOTH="$CORP_NET, $CORP6_NET"

# Both servers answer pings from namespace NS through its tunnel: ping_both NS WHO.
ping_both() {
  nsx "$1" ping -c 2 -i 0.2 -W 2 "$SRV_ADDR" >/dev/null || fail "$2 cannot ping $SRV_ADDR through the tunnel"
  nsx "$1" ping -c 2 -i 0.2 -W 2 "$SRV6_ADDR" >/dev/null || fail "$2 cannot ping $SRV6_ADDR through the tunnel"
}

# ---------------------------------------------------------------------------
step "1. strongSwan client in pub6 (IPv6 only outside), vips = 0.0.0.0, ::, to the natsec gateway"
nsd_conf_gateway gw pool6="$VIP6_POOL"
nsd_peer gw "$IOP_EMAIL_ID" "$IOP_PSK" "$BOTH"
nsd_start gw gw
sw_start pub6 alice
conf=$(sw_conf_client "$GW_PUB6" "$IOP_GW_ID" "$IOP_EMAIL_ID" "$IOP_PSK" "$BOTH")
sw_load alice "${conf/vips = 0.0.0.0/vips = 0.0.0.0, ::}"
sw_initiate alice home 15 || {
  tail -n 30 "$(sw_log alice)" >&2
  tail -n 10 "$(nsd_log gw)" >&2
  fail "swanctl --initiate of alice failed"
}
sw_child_installed alice home || fail "alice: no INSTALLED CHILD_SA"
nsd_wait_up gw 1 10
v4=$(nsx pub6 ip -4 -o addr show dev ipsec0 | awk '{print $4}' | cut -d/ -f1)
v6=$(nsx pub6 ip -6 -o addr show dev ipsec0 scope global | awk '{print $4}' | cut -d/ -f1)
gw_sa=$(nsd_json gw | jq -c '.ike_sas[0] | {remote, virtual_ip, virtual_ip6, local_ts: .children[0].local_ts, remote_ts: .children[0].remote_ts}')
step "  strongSwan's virtual IPs $v4 and $v6; natsec gateway: $gw_sa"
[[ $v4 == 10.99.0.* ]] || fail "strongSwan's IPv4 virtual IP '$v4' is not from natsec's pool"
[[ $v6 == 2001:db8:99::* ]] || fail "strongSwan's IPv6 virtual IP '$v6' is not from natsec's pool6"
[ "$(jq -r .virtual_ip6 <<<"$gw_sa")" = "$v6" ] || fail "natsec shows another IPv6 virtual IP than strongSwan holds"
[[ $(jq -r .remote <<<"$gw_sa") == "[$PUB6_ADDR]:"* ]] || fail "the IKE SA does not run over IPv6"
[ "$(jq -c .local_ts <<<"$gw_sa")" = "[\"$CORP_NET\",\"$CORP6_NET\"]" ] || fail "not both families' subnets"
[ "$(jq -c .remote_ts <<<"$gw_sa")" = "[\"$v4/32\",\"$v6/128\"]" ] || fail "strongSwan's side is not its two virtual IPs"
ping_both pub6 "the strongSwan client"
sw_stop alice
nsd_stop gw

# ---------------------------------------------------------------------------
step "2. natsec client in pub6 (IPv6 only outside) to a strongSwan gateway with pools of both families"
sw_start gw gw
gconf=$(sw_conf_gateway "$GW_PUB6" "$IOP_GW_ID" "$IOP_EMAIL_ID" "$IOP_PSK" "$VIP_POOL" "$BOTH" |
  sed -e 's/pools = rwpool$/pools = rwpool, rwpool6/' \
    -e "/^pools {/a\\  rwpool6 {\\n    addrs = $VIP6_POOL\\n  }")
grep -q "rwpool6 {" <<<"$gconf" || fail "no IPv6 pool in the strongSwan gateway's configuration"
sw_load gw "$gconf"
NSD_GATEWAY=$GW_PUB6 nsd_conf_client bob "$IOP_EMAIL_ID"
nsd_peer bob "$IOP_GW_ID" "$IOP_PSK" "$BOTH"
nsd_start bob pub6
nsd_wait_up bob 1 15
bob=$(nsd_json bob | jq -c '{virtual_ip, virtual_ip6, remote: .ike_sas[0].remote, local_ts: .ike_sas[0].children[0].local_ts, remote_ts: .ike_sas[0].children[0].remote_ts}')
step "  natsec client: $bob"
[[ $(jq -r .virtual_ip <<<"$bob") == 10.99.0.* ]] || fail "no IPv4 virtual IP from strongSwan's pool"
[[ $(jq -r .virtual_ip6 <<<"$bob") == 2001:db8:99::* ]] || fail "no IPv6 virtual IP from strongSwan's IPv6 pool"
[ "$(jq -c .remote_ts <<<"$bob")" = "[\"$CORP_NET\",\"$CORP6_NET\"]" ] || fail "not both families' subnets"
sw_list_sas gw | grep -q "$(jq -r .virtual_ip6 <<<"$bob")" || fail "strongSwan does not show natsec's IPv6 virtual IP"
ping_both pub6 "the natsec client"
nsd_alive bob
step "PASS"
