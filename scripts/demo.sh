#!/usr/bin/env bash
# make demo: a telecommuter behind a real NAT (nftables masquerade) reaches a
# corporate server through natsec, in network namespaces on this machine.
#
#   internet (bridge, 198.51.100.0/24)
#     |-- gateway 198.51.100.1 --- corporate LAN 192.0.2.0/24 --- server 192.0.2.10
#     `-- home NAT 198.51.100.11 (masquerade) --- home LAN 10.1.0.0/24 --- laptop 10.1.0.2
#
# The gateway and the laptop run natsecd with the README's example
# configurations (examples/gateway.conf, examples/client.conf; only the
# control socket paths differ, since both run on one machine). The script
# pings the server from the laptop's virtual IP, shows `natsecctl status`
# on both, shows captured packets proving the internet link carries ESP in
# UDP 4500, and tears everything down, also on failure or Ctrl-C.
# `make demo` builds first (and installs what is missing); run as root.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export NATSEC_BUILD=${NATSEC_BUILD:-$src/build/gcc}
if [ "$(id -u)" -ne 0 ]; then
  echo "make demo: needs root (network namespaces, TUN devices, nftables)" >&2
  exit 1
fi
NS_PREFIX=demo$$
# shellcheck source=../tests/lib/netns.sh
. "$src/tests/lib/netns.sh"
# shellcheck source=../tests/net/tools/nsd.sh
. "$src/tests/net/tools/nsd.sh"

say() {
  printf '\n\033[1m== %s\033[0m\n' "$*"
}

netns_init
# The demo needs no jq (the tests do): it reads natsecctl's table.
[ -x "$NSD_BIN" ] && [ -x "$NSC_BIN" ] || fail "natsecd/natsecctl not built in $NATSEC_BUILD (run make demo)"

say "1. Network: internet, gateway with a corporate LAN and server, a home NAT (nftables masquerade) with a laptop"
inet_create
gw_create
nat_create nat1 "$NAT1_PUB"
client_create c1 nat1 "$C1_ADDR"
echo "gateway $GW_PUB, corporate server $SRV_ADDR, home NAT $NAT1_PUB, laptop $C1_ADDR (private)"
nsx nat1 nft list chain ip nat postrouting | grep masquerade | sed 's/^[[:space:]]*/home NAT rule: /'
if nsx c1 ping -c 1 -W 1 "$SRV_ADDR" >/dev/null 2>&1; then
  fail "the laptop reaches the corporate server without a VPN: the demo network is wrong"
fi
echo "without the VPN the laptop cannot reach $SRV_ADDR (the corporate network is private)"

say "2. natsecd on the gateway and on the laptop (configurations from examples/)"
sed "s#^control = .*#control = $(nsd_sock gw)#" "$src/examples/gateway.conf" >"$(nsd_conf gw)"
sed "s#^control = .*#control = $(nsd_sock laptop)#" "$src/examples/client.conf" >"$(nsd_conf laptop)"
cap=$NATSEC_TMP/internet.pcapng
capture_start inet br0 "$cap" "ip and (udp port 500 or udp port 4500 or ip proto 50)"
nsd_start gw gw
nsd_start laptop c1
laptop_status() { "$NSC_BIN" -s "$(nsd_sock laptop)" status 2>/dev/null || true; }
wait_for '[[ $(laptop_status) == *"tunnel up, virtual IP"* ]]' 15 || {
  tail -n 20 "$(nsd_log gw)" "$(nsd_log laptop)" >&2
  fail "the tunnel did not come up"
}
vip=$(laptop_status | sed -n 's/^tunnel up, virtual IP \(.*\)$/\1/p')
echo "tunnel up; the gateway gave the laptop the virtual IP $vip"

say "3. ping the corporate server $SRV_ADDR from the laptop through the tunnel"
nsx c1 ping -c 4 -i 0.3 -W 2 "$SRV_ADDR" || fail "ping through the tunnel failed"
capture_stop "$cap"

say "4. natsecctl status on the gateway"
"$NSC_BIN" -s "$(nsd_sock gw)" status

say "5. natsecctl status on the laptop"
"$NSC_BIN" -s "$(nsd_sock laptop)" status

say "6. what the internet link carried (tshark on the internet bridge)"
tshark -n -r "$cap" -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e _ws.col.Protocol \
  -e _ws.col.Info 2>/dev/null | awk -F'\t' 'NR <= 8 { printf "%s:%s -> %s:%s  %s  %s\n", $1, $2, $3, $4, $5, $6 }'
line=$(tshark -n -r "$cap" -Y 'udp.port == 4500 && esp' -T fields -e ip.src -e udp.srcport -e ip.dst \
  -e udp.dstport -e esp.spi -e esp.sequence 2>/dev/null | awk 'NR == 1')
[ -n "$line" ] || fail "no ESP in UDP 4500 captured"
read -r s sp d dp spi seq <<<"$line"
echo
echo "proof: $s:$sp -> $d:$dp is ESP in UDP 4500 (RFC 3948), SPI $spi, sequence $seq;"
echo "       the NAT rewrote the laptop's 10.1.0.2:4500 to $s:$sp, and the gateway follows it."

say "7. tearing down"
nsd_stop laptop
nsd_stop gw
echo "done: namespaces, daemons and captures are removed on exit"
