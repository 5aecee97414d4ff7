# shellcheck shell=bash
# tests/lib/netns.sh - build the natsec test network out of network namespaces.
#
# Sourced by tests/net/test_*.sh and tests/interop/test_*.sh (run as root).
# Every namespace of a run is named "$NS_PREFIX-<short>", NS_PREFIX defaults to
# "ns<PID>", so runs can go in parallel and cleanup deletes exactly its own.
# Functions take the SHORT names below; ns_name turns one into the full name.
#
# ADDRESS PLAN (all tests use these; the RFC 5737 ranges are only test hosts
# that exist inside our namespaces, nothing is sent to the real ones)
#
#   "internet": namespace inet, bridge br0, subnet 198.51.100.0/24, no router,
#   no default routes (hosts on it reach each other directly).
#     gw    wan0   198.51.100.1    gateway public address       $GW_PUB
#     nat1  wan0   198.51.100.11   home NAT 1 public address    $NAT1_PUB
#     nat2  wan0   198.51.100.12   home NAT 2 public address    $NAT2_PUB
#     pub   eth0   198.51.100.21   client on the internet, no NAT $PUB_ADDR
#     (bridge ports in inet are named after the host: gw, nat1, nat2, pub)
#
#   corporate network 192.0.2.0/24 ($CORP_NET), bridge corp0 inside gw:
#     gw    corp0  192.0.2.1       gateway inside address       $GW_CORP
#     srv   eth0   192.0.2.10      corporate server             $SRV_ADDR
#     srv2  eth0   192.0.2.20      second corporate host        $SRV2_ADDR
#   gw forwards (ip_forward=1) but drops anything arriving on wan0 for corp0
#   that is not an established/related connection: the corporate network is
#   reachable only through a tunnel (packets that come out of a TUN device).
#
#   home 1 LAN 10.1.0.0/24 ($HOME_NET), bridge lan0 inside nat1:
#     nat1  lan0   10.1.0.1        NAT inside address           $NAT_LAN
#     c1    eth0   10.1.0.2        client 1                     $C1_ADDR
#     c1b   eth0   10.1.0.3        second client behind nat1    $C1B_ADDR
#   home 2 LAN, the SAME subnet and host address (R6), bridge lan0 in nat2:
#     nat2  lan0   10.1.0.1
#     c2    eth0   10.1.0.2        client 2                     $C2_ADDR
#   Clients route by default via 10.1.0.1. Each NAT: ip_forward=1, nftables
#   "table ip nat" chain postrouting masquerading the LAN out of wan0, and
#   "table inet filter" chains forward/input with policy drop: LAN->WAN and
#   established/related back only, no new connections from the WAN.
#
#   VPN virtual IP pool suggested for gateways: 10.99.0.0/24 ($VIP_POOL).
#
# Debian 12's bash 5.2.15 prints a harmless "wait_for: No record of process N"
# when a background job ends while an EXIT trap is set; ignore it.
#
# IPv6 is disabled in every namespace (quiet captures) unless NATSEC_IPV6=1.
# A run's scratch directory is $NATSEC_TMP; it is removed on success and kept
# (and printed) when the script exits non-zero, or always with NATSEC_KEEP=1.

# shellcheck disable=SC2034 # the address plan is used by the sourcing scripts
GW_PUB=198.51.100.1
NAT1_PUB=198.51.100.11
NAT2_PUB=198.51.100.12
PUB_ADDR=198.51.100.21
INET_NET=198.51.100.0/24
CORP_NET=192.0.2.0/24
GW_CORP=192.0.2.1
SRV_ADDR=192.0.2.10
SRV2_ADDR=192.0.2.20
HOME_NET=10.1.0.0/24
NAT_LAN=10.1.0.1
C1_ADDR=10.1.0.2
C1B_ADDR=10.1.0.3
C2_ADDR=10.1.0.2
VIP_POOL=10.99.0.0/24

NS_PREFIX=${NS_PREFIX:-ns$$}
NATSEC_TMP=${NATSEC_TMP:-}
BG_PIDS=()
BG_PID=
declare -A NAT_LAN_OF=()     # NAT short name -> its LAN address (x.y.z.1)
declare -A NAT_NET_OF=()     # NAT short name -> its LAN subnet (x.y.z.0/24)
declare -A CAPTURE_PID=()    # capture file -> dumpcap PID
_NETNS_CLEANED=0
_NETNS_OWNER=$BASHPID       # only this shell cleans up (not a forked child that inherited the trap)

# Print "FAIL: MSG" on stderr and exit 1 (the EXIT trap then cleans up).
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Print a progress line on stdout, prefixed with the script's name.
step() {
  echo "[$(basename "${0:-test}")] $*"
}

# Run a command and fail the test with its text when it fails.
must() {
  "$@" || fail "command failed ($?): $*"
}

# grep that reads all of its input: `cmd | grep -q` stops reading at the
# first match, so cmd may die of SIGPIPE writing what follows it, and under
# pipefail the pipeline then fails although it matched (seen as rare
# failures of checks that had matched). Use it after a pipe.
quiet_grep() { grep "$@" >/dev/null; }

# Set up a run: scratch dir, EXIT/INT/TERM traps that call netns_cleanup.
netns_init() {
  [ "$(id -u)" -eq 0 ] || fail "network tests need root"
  if [ -z "$NATSEC_TMP" ]; then
    NATSEC_TMP=$(mktemp -d "/tmp/natsec-${NS_PREFIX}.XXXXXX")
  fi
  mkdir -p "$NATSEC_TMP"
  _NETNS_OWNER=$BASHPID
  trap 'netns_cleanup' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Print the full namespace name of SHORT ("gw" -> "ns1234-gw").
ns_name() {
  echo "$NS_PREFIX-$1"
}

# Run CMD... inside namespace SHORT: nsx SHORT CMD...
nsx() {
  local ns=$1
  shift
  ip netns exec "$NS_PREFIX-$ns" "$@"
}

# Print the namespaces that belong to this run (full names), one per line.
netns_list_ours() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NS_PREFIX}-" || true
}

# Create namespace SHORT with loopback up (and IPv6 off unless NATSEC_IPV6=1).
ns_create() {
  local ns=$1
  must ip netns add "$NS_PREFIX-$ns"
  must ip -n "$NS_PREFIX-$ns" link set lo up
  if [ "${NATSEC_IPV6:-0}" != 1 ]; then
    nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
      fail "cannot disable IPv6 in $ns"
  fi
}

# Connect namespaces A and B with a veth pair: veth_link A IF_A B IF_B (both up).
veth_link() {
  local a=$1 ifa=$2 b=$3 ifb=$4
  must ip -n "$NS_PREFIX-$a" link add "$ifa" type veth peer name "$ifb" netns "$NS_PREFIX-$b"
  must ip -n "$NS_PREFIX-$a" link set "$ifa" up
  must ip -n "$NS_PREFIX-$b" link set "$ifb" up
}

# Create bridge BR (no address, STP off, no forward delay) in namespace SHORT.
bridge_create() {
  local ns=$1 br=$2
  must ip -n "$NS_PREFIX-$ns" link add "$br" type bridge forward_delay 0 stp_state 0
  must ip -n "$NS_PREFIX-$ns" link set "$br" up
}

# Create the "internet": namespace inet with bridge br0.
inet_create() {
  ns_create inet
  bridge_create inet br0
}

# Attach SHORT to the internet bridge as IFACE with ADDR/LEN: inet_attach SHORT IFACE ADDR/LEN.
inet_attach() {
  local ns=$1 ifc=$2 addr=$3
  veth_link inet "$ns" "$ns" "$ifc"
  must ip -n "$NS_PREFIX-inet" link set "$ns" master br0
  must ip -n "$NS_PREFIX-$ns" addr add "$addr" dev "$ifc"
}

# Create the gateway (gw, 198.51.100.1) with its corporate LAN and servers srv (192.0.2.10) and srv2 (192.0.2.20).
gw_create() {
  ns_create gw
  inet_attach gw wan0 "$GW_PUB/24"
  bridge_create gw corp0
  must ip -n "$NS_PREFIX-gw" addr add "$GW_CORP/24" dev corp0
  must nsx gw sysctl -qw net.ipv4.ip_forward=1
  local srv addr
  for srv in srv srv2; do
    addr=$SRV_ADDR
    [ "$srv" = srv2 ] && addr=$SRV2_ADDR
    ns_create "$srv"
    veth_link gw "$srv" "$srv" eth0
    must ip -n "$NS_PREFIX-gw" link set "$srv" master corp0
    must ip -n "$NS_PREFIX-$srv" addr add "$addr/24" dev eth0
    must ip -n "$NS_PREFIX-$srv" route add default via "$GW_CORP"
  done
  nsx gw nft -f - <<EOF || fail "gateway nftables rules rejected"
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan0" oifname "corp0" ct state established,related accept
    iifname "wan0" oifname "corp0" counter drop
  }
}
EOF
}

# Create a home NAT SHORT with WAN address WAN_ADDR and LAN PREFIX.0/24 (default 10.1.0): nat_create SHORT WAN_ADDR [PREFIX].
nat_create() {
  local ns=$1 wan=$2 prefix=${3:-10.1.0}
  NAT_LAN_OF[$ns]=$prefix.1
  NAT_NET_OF[$ns]=$prefix.0/24
  ns_create "$ns"
  inet_attach "$ns" wan0 "$wan/24"
  bridge_create "$ns" lan0
  must ip -n "$NS_PREFIX-$ns" addr add "$prefix.1/24" dev lan0
  must nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
  nsx "$ns" nft -f - <<EOF || fail "NAT $ns: nftables rules rejected"
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" ip saddr $prefix.0/24 masquerade
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname { "lo", "lan0" } accept
  }
}
EOF
}

# Create client SHORT with ADDR (/24) on the LAN of NAT, default route via the NAT: client_create SHORT NAT ADDR.
client_create() {
  local ns=$1 nat=$2 addr=$3
  [ -n "${NAT_LAN_OF[$nat]:-}" ] || fail "client_create: unknown NAT $nat"
  ns_create "$ns"
  veth_link "$nat" "$ns" "$ns" eth0
  must ip -n "$NS_PREFIX-$nat" link set "$ns" master lan0
  must ip -n "$NS_PREFIX-$ns" addr add "$addr/24" dev eth0
  must ip -n "$NS_PREFIX-$ns" route add default via "${NAT_LAN_OF[$nat]}"
}

# Create host SHORT directly on the internet with ADDR (no NAT, no default route): pub_create SHORT ADDR.
pub_create() {
  local ns=$1 addr=$2
  ns_create "$ns"
  inet_attach "$ns" eth0 "$addr/24"
}

# Build the whole standard topology of the address plan (inet, gw, srv, srv2, nat1, c1, c1b, nat2, c2, pub).
topo_setup() {
  inet_create
  gw_create
  nat_create nat1 "$NAT1_PUB"
  client_create c1 nat1 "$C1_ADDR"
  client_create c1b nat1 "$C1B_ADDR"
  nat_create nat2 "$NAT2_PUB"
  client_create c2 nat2 "$C2_ADDR"
  pub_create pub "$PUB_ADDR"
}

# A laptop with three uplinks, for roaming (X4): namespace lap with eth1 on
# nat1's LAN ($LAP1), eth2 on the LAN of nat2 made with prefix 10.2.0
# ($LAP2), eth3 straight on the internet ($LAP3, no NAT); eth1 up with the
# default route through nat1, the others down. Builds inet, gw, nat1 and
# nat2 as well: roam_setup.
LAP1=10.1.0.5
LAP2=10.2.0.5
LAP3=198.51.100.31
roam_setup() {
  inet_create
  gw_create
  nat_create nat1 "$NAT1_PUB" 10.1.0
  nat_create nat2 "$NAT2_PUB" 10.2.0
  ns_create lap
  veth_link nat1 lap1 lap eth1
  must ip -n "$NS_PREFIX-nat1" link set lap1 master lan0
  must ip -n "$NS_PREFIX-lap" addr add "$LAP1/24" dev eth1
  veth_link nat2 lap2 lap eth2
  must ip -n "$NS_PREFIX-nat2" link set lap2 master lan0
  must ip -n "$NS_PREFIX-lap" addr add "$LAP2/24" dev eth2
  veth_link inet lap lap eth3
  must ip -n "$NS_PREFIX-inet" link set lap master br0
  must ip -n "$NS_PREFIX-lap" addr add "$LAP3/24" dev eth3
  must ip -n "$NS_PREFIX-lap" link set eth2 down
  must ip -n "$NS_PREFIX-lap" link set eth3 down
  must ip -n "$NS_PREFIX-lap" route add default via 10.1.0.1 dev eth1
  # A home router forwards only its own LAN's addresses: a packet the
  # laptop still sends from the other uplink's address (its sockets and
  # IPsec stacks learn of the move a moment later) goes nowhere, as on a
  # real one, instead of crossing un-NATed.
  must nsx nat1 nft insert rule inet filter forward iifname lan0 ip saddr != 10.1.0.0/24 drop
  must nsx nat2 nft insert rule inet filter forward iifname lan0 ip saddr != 10.2.0.0/24 drop
}

# The laptop's uplink N up, the others down, the default route through it
# (what a network manager does; eth3's subnet holds the gateway): roam_uplink 1|2|3.
roam_uplink() {
  local up=$1 i
  for i in 1 2 3; do
    [ "$i" = "$up" ] || nsx lap ip link set "eth$i" down
  done
  nsx lap ip link set "eth$up" up
  case $up in
  1) nsx lap ip route replace default via 10.1.0.1 dev eth1 ;;
  2) nsx lap ip route replace default via 10.2.0.1 dev eth2 ;;
  esac
}

# COUNT home NATs nat1..natCOUNT at public addresses 198.51.100.11 and up
# (at most 200 fit), each with the same LAN 10.1.0.0/24 and one host hK at
# $C1_ADDR behind it whose ephemeral ports span 10000-65000 (room for a
# load tool's thousands of clients): nat_homes_create COUNT.
nat_homes_create() {
  local k
  if [ "$1" -lt 1 ] || [ "$1" -gt 200 ]; then fail "nat_homes_create: COUNT must be 1..200, got '$1'"; fi
  for ((k = 1; k <= $1; k++)); do
    nat_create "nat$k" "198.51.100.$((10 + k))"
    client_create "h$k" "nat$k" "$C1_ADDR"
    nsx "h$k" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
  done
}

# Make NAT map TCP/UDP sources to public ports LO..HI (other protocols unchanged): nat_set_port_range NAT LO HI.
nat_set_port_range() {
  local nat=$1 lo=$2 hi=$3 net=${NAT_NET_OF[$1]:-$HOME_NET}
  nsx "$nat" nft -f - <<EOF || fail "nat_set_port_range $nat $lo-$hi: nft rejected the rules"
flush chain ip nat postrouting
add rule ip nat postrouting oifname "wan0" ip saddr $net meta l4proto { tcp, udp } masquerade to :$lo-$hi
add rule ip nat postrouting oifname "wan0" ip saddr $net masquerade
EOF
  # (grep reads a copy: grep -q closing a pipe early would fail nft with SIGPIPE under pipefail)
  grep -q "masquerade to :$lo-$hi" <<<"$(nsx "$nat" nft list chain ip nat postrouting)" ||
    fail "nat_set_port_range $nat: rule not in place"
}

# Forget every NAT mapping of NAT (the next packet gets a new one): nat_flush_conntrack NAT.
nat_flush_conntrack() {
  nsx "$1" conntrack -F >/dev/null 2>&1 || fail "conntrack -F failed in $1"
}

# Set the UDP mapping lifetime of NAT (unreplied and stream) to SECONDS: nat_set_udp_timeout NAT SECONDS.
nat_set_udp_timeout() {
  nsx "$1" sysctl -qw net.netfilter.nf_conntrack_udp_timeout="$2" \
    net.netfilter.nf_conntrack_udp_timeout_stream="$2" || fail "cannot set UDP timeout in $1"
}

# Make NAT give every new UDP/TCP mapping a random public port, as carrier
# NATs do, so a mapping that expired comes back on another port: nat_random_ports NAT.
nat_random_ports() {
  local nat=$1 net=${NAT_NET_OF[$1]:-$HOME_NET}
  nsx "$nat" nft -f - <<EOF || fail "nat_random_ports $nat: nft rejected the rules"
flush chain ip nat postrouting
add rule ip nat postrouting oifname "wan0" ip saddr $net masquerade fully-random
EOF
}

# Print the public UDP port NAT maps SRC:SPORT -> DST:DPORT to now (nothing
# when it has no such mapping): nat_udp_port NAT SRC SPORT DST DPORT.
nat_udp_port() {
  local out
  out=$(nsx "$1" conntrack -L -p udp --orig-src "$2" --sport "$3" --orig-dst "$4" --dport "$5" 2>/dev/null) || true
  # The reply direction's dport is the public port: the last dport= of the line.
  awk '{ p = ""; for (i = 1; i <= NF; i++) if ($i ~ /^dport=/) p = substr($i, 7); if (p != "") print p; exit }' <<<"$out"
}

# Make NAT drop the IKE messages it forwards on UDP 4500 (those that start
# with the non-ESP marker; ESP still flows): all of them, only responses
# (the R flag, byte 19 of the IKE header), or none. Holding requests and
# then answers makes two requests sent at once cross (a simultaneous
# re-key): nat_hold_ike NAT all|answers|off.
nat_hold_ike() {
  local nat=$1 match=''
  nsx "$nat" nft delete table inet hold 2>/dev/null || true
  case $2 in
  off) return 0 ;;
  all) ;;
  answers) match='@th,248,8 & 0x20 == 0x20' ;;
  *) fail "nat_hold_ike: all, answers or off, not '$2'" ;;
  esac
  nsx "$nat" nft -f - <<EOF || fail "nat_hold_ike $nat $2: nft rejected the rules"
table inet hold {
  chain forward_ike {
    type filter hook forward priority -10; policy accept;
    udp dport 4500 @th,64,32 0 $match counter drop
    udp sport 4500 @th,64,32 0 $match counter drop
  }
}
EOF
}

# Make NAT drop every IP fragment, first or not, either way, as NATs and
# firewalls that do not reassemble do: before its connection tracking
# (defragmentation at priority -400) sees them: nat_drop_ip_fragments NAT.
nat_drop_ip_fragments() {
  nsx "$1" nft -f - <<'EOF' || fail "nat_drop_ip_fragments $1: nft rejected the rules"
table ip nofrag {
  chain pre {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 counter drop
  }
}
EOF
}

# How many IP fragments NAT dropped since nat_drop_ip_fragments: nat_ip_fragments_dropped NAT.
nat_ip_fragments_dropped() {
  nsx "$1" nft list chain ip nofrag pre |
    awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# Drop PERCENT % of packets entering and of packets leaving NS (only on IFACE if given); 0 removes: link_loss NS PERCENT [IFACE].
link_loss() {
  local ns=$1 pct=$2 ifc=${3:-} in='' out=''
  if [ -n "$ifc" ]; then
    in="iifname \"$ifc\""
    out="oifname \"$ifc\""
  else
    in='iifname != "lo"'
    out='oifname != "lo"'
  fi
  local rnd="numgen random mod 100 < $pct"
  [[ $pct =~ ^[0-9]+$ ]] && [ "$pct" -le 100 ] || fail "link_loss: PERCENT must be 0..100, got '$pct'"
  [ "$pct" -eq 100 ] && rnd='' # numgen mod 100 yields 0..99
  nsx "$ns" nft delete table inet loss 2>/dev/null || true
  [ "$pct" -eq 0 ] && return 0
  nsx "$ns" nft -f - <<EOF || fail "link_loss $ns $pct: nft rejected the rules"
table inet loss {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    $in $rnd counter drop
  }
  chain post {
    type filter hook postrouting priority raw; policy accept;
    $out $rnd counter drop
  }
}
EOF
}

# tshark reading capture FILE with the remaining arguments, IKE decoded on
# every port that talks to UDP 500 or 4500: tshark picks the dissector of
# the lower port first, so when a NAT maps a second client's port 500 to a
# random low port (Linux picks one in 1-511) that has its own dissector
# (49 is TACACS), the IKE message would be decoded as that protocol and
# called malformed: ike_tshark FILE [TSHARK-ARGS...].
ike_tshark() {
  local file=$1 decode=() line
  shift
  while read -r line; do
    [ -n "$line" ] && decode+=(-d "$line")
  done < <(tshark -n -r "$file" -Y 'udp.port == 500 || udp.port == 4500' -T fields \
    -e udp.srcport -e udp.dstport 2>/dev/null | awk '
      { for (i = 1; i <= 2; i++) { o = $(3 - i)
          if (($i == 500 || $i == 4500) && o != 500 && o != 4500)
            seen["udp.port==" o "," ($i == 500 ? "isakmp" : "udpencap")] = 1 } }
      END { for (k in seen) print k }')
  tshark -n -r "$file" "${decode[@]}" "$@"
}

# Start a capture on IFACE in NS writing FILE (pcapng) with capture FILTER; returns once it captures: capture_start NS IFACE FILE FILTER.
# dumpcap, not tshark: it writes the same file without loading every
# dissector first, which takes seconds of CPU when several tests start
# captures at once; tshark reads the files afterwards.
capture_start() {
  local ns=$1 ifc=$2 file=$3 filter=$4 pid
  rm -f "$file"
  ip netns exec "$NS_PREFIX-$ns" dumpcap -q -i "$ifc" -w "$file" -f "$filter" >"$file.log" 2>&1 &
  pid=$!
  BG_PIDS+=("$pid")
  CAPTURE_PID[$file]=$pid
  wait_for "grep -q 'Capturing on' '$file.log' && [ -s '$file' ]" 30 ||
    fail "capture on $ns/$ifc did not start: $(cat "$file.log")"
}

# Stop the capture writing FILE (all captures without argument) and wait until its file is complete: capture_stop [FILE].
capture_stop() {
  local files=("$@") f pid i
  [ ${#files[@]} -eq 0 ] && files=("${!CAPTURE_PID[@]}")
  [ ${#files[@]} -eq 0 ] && return 0
  sleep 0.5 # let packets in flight reach the capture buffer
  for f in "${files[@]}"; do
    pid=${CAPTURE_PID[$f]:-}
    [ -n "$pid" ] || continue
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "CAPTURE_PID[$f]"
  done
}

# Run CMD... in the background inside NS, record its PID for cleanup and put it in $BG_PID: run_bg NS CMD...
run_bg() {
  local ns=$1
  shift
  ip netns exec "$NS_PREFIX-$ns" "$@" &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
}

# Kill one background process by PID (TERM, then KILL after 3 s) and reap it: stop_pid PID.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# The wall clock in ms: now_ms.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The time (ms) of the first reply after time T0 (ms) in the output FILE of ping -D: first_reply_after FILE T0.
first_reply_after() {
  awk -v t0="$2" -F'[][]' '/bytes from/ { t = int($2 * 1000); if (t > t0) { printf "%.0f\n", t; exit } }' "$1"
}

# Poll CONDITION (a shell string, eval'd) every 0.1 s until true or TIMEOUT seconds pass (then return 1): wait_for CONDITION TIMEOUT.
wait_for() {
  local cond=$1 timeout=$2 deadline
  deadline=$(($(date +%s%N) + timeout * 1000000000))
  while :; do
    if eval "$cond" >/dev/null 2>&1; then
      return 0
    fi
    [ "$(date +%s%N)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# Kill recorded PIDs and anything left in our namespaces, delete every namespace with our prefix, drop the scratch dir.
netns_cleanup() {
  local rc=$? pid ns i pids
  local -
  [ "$_NETNS_CLEANED" = 1 ] && return 0
  [ "$BASHPID" = "$_NETNS_OWNER" ] || return 0
  _NETNS_CLEANED=1
  set +e
  # A failed run says what the daemons counted, for a CI log that is all
  # there is to read afterwards.
  if [ "$rc" -ne 0 ] && declare -F nsd_report_counters >/dev/null; then
    nsd_report_counters
  fi
  if declare -F sw_cleanup >/dev/null; then
    sw_cleanup
  fi
  for ((i = ${#BG_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${BG_PIDS[$i]}
    kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
  done
  BG_PIDS=()
  for ns in $(netns_list_ours); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  done
  for ns in $(netns_list_ours); do
    ip netns del "$ns" 2>/dev/null || { sleep 0.2; ip netns del "$ns"; }
  done
  if [ -n "$NATSEC_TMP" ] && [ -d "$NATSEC_TMP" ]; then
    if [ "$rc" -ne 0 ] || [ "${NATSEC_KEEP:-0}" = 1 ]; then
      echo "scratch directory kept: $NATSEC_TMP" >&2
    else
      rm -rf "$NATSEC_TMP"
    fi
  fi
  return 0
}
