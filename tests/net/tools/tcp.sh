# Helpers of the IKE/ESP-over-TCP tests (RFC 8229, X6), sourced after
# netns.sh and nsd.sh.

# Make NAT drop every UDP packet it would forward out (a hotel network
# that lets only TCP out), or stop: nat_block_udp NAT on|off.
nat_block_udp() {
  local nat=$1
  nsx "$nat" nft delete table inet noudp 2>/dev/null || true
  [ "$2" = off ] && return 0
  nsx "$nat" nft -f - <<EOF || fail "nat_block_udp $nat: nft rejected the rules"
table inet noudp {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "lan0" oifname "wan0" meta l4proto udp counter drop
  }
}
EOF
}

# One transfer of FILE through the tunnel from client namespace NS to the
# server and one back, each SHA-256 checked; prints each tcpxfer summary:
# xfer_both NS FILE PORT TIMEOUT.
xfer_both() {
  local ns=$1 data=$2 port=$3 timeout=$4 want out pid send recv got
  want=$(sha256sum "$data" | cut -d' ' -f1)
  out=$NATSEC_TMP/xfer-$port.out
  run_bg srv "$NSD_TOOLS/tcpxfer" -l "$port" -r -t "$timeout" >"$out" 2>&1
  pid=$BG_PID
  wait_for "nsx srv ss -ltn | quiet_grep ':$port '" 5 || fail "receiver did not listen"
  send=$(nsx "$ns" "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p "$port" -s "$data" -t "$timeout") ||
    fail "upload failed: $send"
  wait "$pid" || fail "receiver failed: $(cat "$out")"
  got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$out")
  [ "$got" = "$want" ] || fail "upload: SHA-256 differs: sent $want, received $got"
  echo "up:   $send"
  run_bg srv "$NSD_TOOLS/tcpxfer" -l "$((port + 1))" -s "$data" -t "$timeout" >"$out" 2>&1
  pid=$BG_PID
  wait_for "nsx srv ss -ltn | quiet_grep ':$((port + 1)) '" 5 || fail "sender did not listen"
  recv=$(nsx "$ns" "$NSD_TOOLS/tcpxfer" -c "$SRV_ADDR" -p "$((port + 1))" -r -t "$timeout") ||
    fail "download failed: $recv"
  wait "$pid" || fail "server sender failed: $(cat "$out")"
  got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<<"$recv")
  [ "$got" = "$want" ] || fail "download: SHA-256 differs: sent $want, received $got"
  echo "down: $recv"
}
