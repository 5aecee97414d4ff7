# shellcheck shell=bash
# tests/net/tools/topo6.sh - IPv6 on the test network of tests/lib/netns.sh
# (source that and tools/nsd.sh first; set NATSEC_IPV6=1 before any
# namespace is made, so netns.sh leaves IPv6 on).
#
# ADDRESS PLAN (RFC 3849 documentation prefix and ULAs, only inside our
# namespaces):
#   internet bridge br0 in inet: 2001:db8:100::/64 ($INET6_NET)
#     gw    wan0   2001:db8:100::1    ($GW_PUB6)
#     nat6  wan0   2001:db8:100::11   NAT66 public address ($NAT6_PUB)
#     pub6  eth0   2001:db8:100::21   IPv6-only client, no IPv4 ($PUB6_ADDR)
#   corporate network 2001:db8:c0::/64 ($CORP6_NET) on gw's corp0:
#     gw 2001:db8:c0::1 ($GW_CORP6), srv 2001:db8:c0::10 ($SRV6_ADDR)
#   NAT66 LAN fd00:1::/64 in nat6 (lan0 fd00:1::1): c6 fd00:1::2 ($C6_ADDR)
#   virtual IPv6 pool: 2001:db8:99::/112 ($VIP6_POOL)
# Addresses are added with nodad: no duplicate address detection delay.

# shellcheck disable=SC2034 # used by the sourcing scripts
INET6_NET=2001:db8:100::/64
GW_PUB6=2001:db8:100::1
NAT6_PUB=2001:db8:100::11
PUB6_ADDR=2001:db8:100::21
CORP6_NET=2001:db8:c0::/64
GW_CORP6=2001:db8:c0::1
SRV6_ADDR=2001:db8:c0::10
NAT6_LAN=fd00:1::1
C6_ADDR=fd00:1::2
VIP6_POOL=2001:db8:99::/112

# Add ADDR/LEN to IFACE in SHORT without DAD: addr6 SHORT IFACE ADDR/LEN.
addr6() {
  must ip -n "$(ns_name "$1")" -6 addr add "$3" dev "$2" nodad
}

# IPv6 beside IPv4 on the gateway made by gw_create: its public address,
# its corporate address, srv's address and route, forwarding.
gw6_add() {
  addr6 gw wan0 "$GW_PUB6/64"
  addr6 gw corp0 "$GW_CORP6/64"
  addr6 srv eth0 "$SRV6_ADDR/64"
  must ip -n "$(ns_name srv)" -6 route add default via "$GW_CORP6"
  must nsx gw sysctl -qw net.ipv6.conf.all.forwarding=1
}

# A client with IPv6 alone outside (no IPv4 address on any interface but
# loopback), directly on the internet: pub6_create SHORT.
pub6_create() {
  ns_create "$1"
  veth_link inet "$1" "$1" eth0
  must ip -n "$(ns_name inet)" link set "$1" master br0
  addr6 "$1" eth0 "$PUB6_ADDR/64"
}

# A NAT66 (nftables masquerade for IPv6) nat6 between the internet and the
# LAN fd00:1::/64, and the client c6 behind it: nat66_create.
nat66_create() {
  ns_create nat6
  veth_link inet nat6 nat6 wan0
  must ip -n "$(ns_name inet)" link set nat6 master br0
  addr6 nat6 wan0 "$NAT6_PUB/64"
  bridge_create nat6 lan0
  addr6 nat6 lan0 "$NAT6_LAN/64"
  must nsx nat6 sysctl -qw net.ipv6.conf.all.forwarding=1
  nsx nat6 nft -f - <<EOF || fail "NAT66: nftables rules rejected"
table ip6 nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" ip6 saddr fd00:1::/64 masquerade
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
  }
}
EOF
  ns_create c6
  veth_link nat6 c6 c6 eth0
  must ip -n "$(ns_name nat6)" link set c6 master lan0
  addr6 c6 eth0 "$C6_ADDR/64"
  must ip -n "$(ns_name c6)" -6 route add default via "$NAT6_LAN"
}

# Make NAT66 map UDP sources to public ports LO..HI and forget its mappings
# (the client's public port changes): nat66_move LO HI.
nat66_move() {
  nsx nat6 nft -f - <<EOF || fail "nat66_move $1-$2: nft rejected the rules"
flush chain ip6 nat postrouting
add rule ip6 nat postrouting oifname "wan0" ip6 saddr fd00:1::/64 meta l4proto udp masquerade to :$1-$2
add rule ip6 nat postrouting oifname "wan0" ip6 saddr fd00:1::/64 masquerade
EOF
  nat_flush_conntrack nat6
}

# The dual-stack test network: the standard internet and gateway (IPv4)
# with IPv6 added, nat1 and its client c1 (IPv4 NAT), pub6 (IPv6 alone),
# and nat6 with its client c6 (NAT66): topo6_setup.
topo6_setup() {
  inet_create
  gw_create
  gw6_add
  nat_create nat1 "$NAT1_PUB"
  client_create c1 nat1 "$C1_ADDR"
  pub6_create pub6
  nat66_create
}

# The DNS tests' network: the gateway (started) with pool6, DNS servers of
# both families and two split DNS domains, and the client alice behind
# nat1 (c1, not started) running as nobody with dns_apply = MODE:
# dns_setup MODE.
dns_setup() {
  local both="$CORP_NET, $CORP6_NET"
  inet_create
  gw_create
  gw6_add
  nat_create nat1 "$NAT1_PUB"
  client_create c1 nat1 "$C1_ADDR"
  nsd_conf_gateway gw pool6="$VIP6_POOL" dns="192.0.2.53, 2001:db8:c0::53" \
    dns_domains="corp.example, lab.corp.example"
  nsd_peer gw alice@corp.example "$NSD_PSK" "$both"
  nsd_start gw gw
  nsd_conf_client alice alice@corp.example user=nobody dns_apply="$1"
  nsd_peer alice vpn.corp.example "$NSD_PSK" "$both"
}
