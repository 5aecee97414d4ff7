# shellcheck shell=bash
# tests/interop/lib_interop.sh - what the natsec <-> strongSwan interop tests
# (tests/interop/test_sw_*.sh, test_lifecycle_sw*.sh) share: identities, the
# proposal matrix, the comparison of `natsecctl status --json` with
# `swanctl --list-sas`, a SHA-256-checked TCP transfer, capture summaries,
# pings through the tunnel and the re-key bookkeeping of the life cycle tests.
#
# Source tests/lib/netns.sh, tests/net/tools/nsd.sh and tests/lib/strongswan.sh
# first; this file only adds to them.
# shellcheck disable=SC2034 # the variables are used by the sourcing scripts

IOP_PSK='natsec-interop-psk-7c1e9a5d3b2f4e60'
IOP_GW_ID=vpn.corp.example      # FQDN (ID_FQDN)
IOP_EMAIL_ID=alice@corp.example # user FQDN (ID_RFC822_ADDR)
IOP_FQDN_ID=laptop.home.example # FQDN

# The proposal matrix, as "IKE ESP" pairs written the same way in
# natsecd.conf and swanctl.conf. X9: AES-GCM-128/256 with X25519, ECP-256 and
# MODP-2048, ChaCha20-Poly1305, AES-256-CBC + SHA-256 with MODP-2048 (what the
# Windows and macOS built-in clients offer); R16: ESP with NULL encryption and
# HMAC-SHA-256. The DH group in ESP is PFS for re-keys (not used in IKE_AUTH).
IOP_CASES=(
  "aes128gcm16-prfsha256-x25519 aes128gcm16-x25519"
  "aes128gcm16-prfsha256-ecp256 aes128gcm16-ecp256"
  "aes128gcm16-prfsha256-modp2048 aes128gcm16-modp2048"
  "aes256gcm16-prfsha256-x25519 aes256gcm16-x25519"
  "aes256gcm16-prfsha256-ecp256 aes256gcm16-ecp256"
  "aes256gcm16-prfsha256-modp2048 aes256gcm16-modp2048"
  "chacha20poly1305-prfsha256-x25519 chacha20poly1305-x25519"
  "aes256-sha256-modp2048 aes256-sha256-modp2048"
  "aes128gcm16-prfsha256-x25519 null-sha256"
)

# IKE proposal IKE as natsec prints it: with the PRF it takes from the
# integrity algorithm when none is written: iop_ike_full IKE.
iop_ike_full() {
  case $1 in
    *prf*) echo "$1" ;;
    *) sed -E 's/-sha(1|256|384|512)-/-sha\1-prfsha\1-/' <<<"$1" ;;
  esac
}

# ESP proposal ESP without its DH group: what a CHILD_SA created in IKE_AUTH
# has (RFC 7296 1.2: no KE there, the group is PFS for re-keys): iop_esp_no_pfs ESP.
iop_esp_no_pfs() {
  sed -E 's/-(x25519|curve25519|ecp256|modp2048|modp1024)$//' <<<"$1"
}

# The strongSwan load list without kernel-libipsec: charon then does not fake
# a NAT (its NAT detection is genuine), but it cannot install ESP SAs here (no
# ESP in this kernel), so only IKE can be observed with it.
IOP_PLUGINS_NETLINK_ONLY=${SW_PLUGINS/kernel-libipsec /}

# swanctl.conf text CONF with extra settings EXTRA (e.g. "encap = yes") added
# to its connection: iop_sw_conn_opts CONF EXTRA...
iop_sw_conn_opts() {
  local conf=$1 opt
  shift
  for opt in "$@"; do
    conf=$(sed "0,/^    version = 2\$/s//&\n    $opt/" <<<"$conf")
  done
  printf '%s\n' "$conf"
}

# swanctl --list-sas of instance NAME as flat "path=value" lines, e.g.
# "rw.child-sas.net-1.spi-in=5d3e5295", lists joined by commas: iop_sw_flat NAME.
iop_sw_flat() {
  sw_list_sas "$1" --pretty | awk '
    function path(k,   p, i) { p = ""; for (i = 2; i <= n; i++) p = p st[i] "."; return p k }
    /^ *\}$/ { n--; next }
    inlist && /^ *\]$/ { print path(lk) "=" items; inlist = 0; next }
    inlist { sub(/^ */, ""); items = items (items == "" ? "" : ",") $0; next }
    / = \[$/ { lk = $1; items = ""; inlist = 1; next }
    / \{$/ { sub(/^ */, ""); sub(/ \{$/, ""); st[++n] = $0; next }
    / = / { k = $1; sub(/^ *[^ ]+ = /, ""); print path(k) "=" $0 }'
}

# The value of KEY (a regex on the path, anchored) in flat output FLAT; empty if absent.
_iop_get() {
  sed -n "s/^$2=//p" <<<"$1" | head -n 1
}

# strongSwan's names for one natsec proposal string, as "ENCR[/BITS]-INTEG-PRF-DH"
# with absent parts left out (the form _iop_sw_alg prints): _iop_ns_alg STRING.
_iop_ns_alg() {
  local t out=() encr='' integ='' prf='' dh=''
  IFS=- read -r -a parts <<<"$1"
  for t in "${parts[@]}"; do
    case $t in
      aes128gcm16) encr=AES_GCM_16/128 ;;
      aes256gcm16) encr=AES_GCM_16/256 ;;
      chacha20poly1305) encr=CHACHA20_POLY1305 ;;
      aes128) encr=AES_CBC/128 ;;
      aes256) encr=AES_CBC/256 ;;
      null) encr=NULL ;;
      3des) encr=3DES_CBC ;;
      sha1) integ=HMAC_SHA1_96 ;;
      sha256) integ=HMAC_SHA2_256_128 ;;
      sha384) integ=HMAC_SHA2_384_192 ;;
      sha512) integ=HMAC_SHA2_512_256 ;;
      prfsha1) prf=PRF_HMAC_SHA1 ;;
      prfsha256) prf=PRF_HMAC_SHA2_256 ;;
      prfsha384) prf=PRF_HMAC_SHA2_384 ;;
      prfsha512) prf=PRF_HMAC_SHA2_512 ;;
      x25519) dh=CURVE_25519 ;;
      ecp256) dh=ECP_256 ;;
      modp2048) dh=MODP_2048 ;;
      modp1024) dh=MODP_1024 ;;
      *) encr="unknown($t)" ;;
    esac
  done
  for t in "$encr" "$integ" "$prf" "$dh"; do
    [ -n "$t" ] && out+=("$t")
  done
  (IFS=-; echo "${out[*]}")
}

# The same form from the flat swanctl output FLAT under PREFIX (an IKE SA or
# a CHILD SA path): _iop_sw_alg FLAT PREFIX. ChaCha20 has one key size.
_iop_sw_alg() {
  local flat=$1 p=$2 encr bits t out=()
  encr=$(_iop_get "$flat" "${p}encr-alg")
  bits=$(_iop_get "$flat" "${p}encr-keysize")
  [ -n "$bits" ] && [ "$encr" != CHACHA20_POLY1305 ] && encr=$encr/$bits
  out+=("$encr")
  for t in integ-alg prf-alg dh-group; do
    t=$(_iop_get "$flat" "$p$t")
    [ -n "$t" ] && out+=("$t")
  done
  (IFS=-; echo "${out[*]}")
}

# Fail with MSG unless A equals B, else print an "ok" line: _iop_eq WHAT A B.
_iop_eq() {
  if [ "$2" != "$3" ]; then
    echo "--- natsec status:" >&2
    echo "$_IOP_NJ" | jq -c 'del(.counters)' >&2
    echo "--- swanctl --list-sas:" >&2
    echo "$_IOP_SF" >&2
    fail "natsec and strongSwan disagree on $1: natsec '$2', strongSwan '$3'"
  fi
  _IOP_AGREED=$((_IOP_AGREED + 1))
}

# Compare natsecd NSD's only IKE SA (and its only CHILD_SA) with strongSwan
# instance SW's only IKE SA named CONN (X10, R4, R14): SPIs, algorithms,
# identities, virtual IP, traffic selectors, encapsulation and which side is
# behind a NAT. SW_FORCES is yes when that strongSwan fakes its
# NAT_DETECTION_SOURCE_IP (kernel-libipsec, or encap = yes), which natsec must
# read as "the peer is behind a NAT" whatever strongSwan reports for itself.
# NAT_PUB is the public address of the NAT in front of the side behind one.
# CHILD (yes/no) says whether a CHILD_SA is expected:
# iop_compare NSD SW CONN SW_FORCES NAT_PUB [CHILD].
iop_compare() {
  local nsd=$1 sw=$2 conn=$3 forces=$4 natpub=$5 child=${6:-yes}
  local n s p c nl nr sl sr sfake want_nr
  _IOP_NJ=$(nsd_json "$nsd") || fail "natsecctl status --json failed for $nsd"
  _IOP_SF=$(iop_sw_flat "$sw") || fail "swanctl --list-sas failed for $sw"
  _IOP_AGREED=0
  _iop_eq "number of IKE SAs" "$(jq '.ike_sas | length' <<<"$_IOP_NJ")" \
    "$(grep -c '^[^.]*\.uniqueid=' <<<"$_IOP_SF" || true)"
  _iop_eq "IKE SA name on strongSwan" "$conn" "$(sed -n 's/^\([^.]*\)\.uniqueid=.*/\1/p' <<<"$_IOP_SF")"
  n=$(jq -c '.ike_sas[0]' <<<"$_IOP_NJ")
  s=$conn.
  _iop_eq "IKE SA state" "$(jq -r .state <<<"$n")" "$(_iop_get "$_IOP_SF" "${s}state")"
  _iop_eq "IKE SPIi" "$(jq -r .spi_i <<<"$n")" "0x$(_iop_get "$_IOP_SF" "${s}initiator-spi")"
  _iop_eq "IKE SPIr" "$(jq -r .spi_r <<<"$n")" "0x$(_iop_get "$_IOP_SF" "${s}responder-spi")"
  _iop_eq "who initiated (natsec initiator)" "$(jq -r .initiator <<<"$n")" \
    "$([ "$(_iop_get "$_IOP_SF" "${s}initiator")" = yes ] && echo false || echo true)"
  _iop_eq "IKE algorithms" "$(_iop_ns_alg "$(jq -r .proposal <<<"$n")")" "$(_iop_sw_alg "$_IOP_SF" "$s")"
  _iop_eq "natsec's identity" "$(jq -r .local_id <<<"$n")" "$(_iop_get "$_IOP_SF" "${s}remote-id")"
  _iop_eq "strongSwan's identity" "$(jq -r .remote_id <<<"$n")" "$(_iop_get "$_IOP_SF" "${s}local-id")"
  # The client's virtual IP: by role, not by who initiated (after a re-key
  # the gateway may be the IKE SA's initiator).
  if [ "$(jq -r .role <<<"$_IOP_NJ")" = client ]; then
    _iop_eq "natsec's virtual IP" "$(jq -r .virtual_ip <<<"$n")" "$(_iop_get "$_IOP_SF" "${s}remote-vips")"
  else
    _iop_eq "strongSwan's virtual IP" "$(jq -r .virtual_ip <<<"$n")" "$(_iop_get "$_IOP_SF" "${s}local-vips")"
  fi
  # Which side is behind a NAT. strongSwan's nat-local/nat-remote are what its
  # NAT detection found; natsec's nat_remote is also true when strongSwan
  # faked its source hash (RFC 7296 2.23 forced encapsulation).
  nl=$(jq -r .nat_local <<<"$n")
  nr=$(jq -r .nat_remote <<<"$n")
  sl=$([ "$(_iop_get "$_IOP_SF" "${s}nat-local")" = yes ] && echo true || echo false)
  sr=$([ "$(_iop_get "$_IOP_SF" "${s}nat-remote")" = yes ] && echo true || echo false)
  sfake=$(_iop_get "$_IOP_SF" "${s}nat-fake")
  _iop_eq "natsec behind a NAT (natsec nat_local, strongSwan nat-remote)" "$nl" "$sr"
  want_nr=$sl
  [ "$forces" = yes ] && want_nr=true
  _iop_eq "strongSwan behind a NAT or forcing encapsulation (natsec nat_remote)" "$nr" "$want_nr"
  [ "$sfake" = yes ] && [ "$forces" != yes ] && fail "strongSwan reports nat-fake but the test did not expect it to force encapsulation"
  # Addresses: each side's peer is the other's local address, unless the
  # other is behind the NAT, then it is the NAT's public address.
  local nloc nrem sloc srem
  nloc=$(jq -r .local <<<"$n")
  nrem=$(jq -r .remote <<<"$n")
  sloc=$(_iop_get "$_IOP_SF" "${s}local-host"):$(_iop_get "$_IOP_SF" "${s}local-port")
  srem=$(_iop_get "$_IOP_SF" "${s}remote-host"):$(_iop_get "$_IOP_SF" "${s}remote-port")
  if [ "$nl" = true ]; then
    _iop_eq "natsec's public address" "$natpub:${nloc##*:}" "$srem"
  else
    _iop_eq "natsec's address" "$nloc" "$srem"
  fi
  if [ "$sl" = true ]; then
    _iop_eq "strongSwan's public address" "$nrem" "$natpub:${sloc##*:}"
  else
    _iop_eq "strongSwan's address" "$nrem" "$sloc"
  fi
  # CHILD_SA
  local nchild schild
  nchild=$(jq '.children | length' <<<"$n")
  schild=$(grep -c "^${conn}\.child-sas\.[^.]*\.spi-in=" <<<"$_IOP_SF" || true)
  if [ "$child" != yes ]; then
    _iop_eq "number of CHILD_SAs" "$nchild" 0
    _iop_eq "number of CHILD_SAs" "$schild" 0
    step "  natsecctl status and swanctl --list-sas agree ($_IOP_AGREED checks): IKE $(jq -r '.spi_i + "/" + .spi_r + " " + .proposal' <<<"$n"), NAT local/remote $nl/$nr, no CHILD_SA"
    return 0
  fi
  _iop_eq "number of CHILD_SAs" "$nchild" "$schild"
  _iop_eq "one CHILD_SA" "$nchild" 1
  c=$(jq -c '.children[0]' <<<"$n")
  p=$(sed -n "s/^\(${conn}\.child-sas\.[^.]*\.\)spi-in=.*/\1/p" <<<"$_IOP_SF")
  _iop_eq "CHILD_SA state" INSTALLED "$(_iop_get "$_IOP_SF" "${p}state")"
  _iop_eq "natsec inbound SPI = strongSwan outbound SPI" "$(jq -r .spi_in <<<"$c")" "0x$(_iop_get "$_IOP_SF" "${p}spi-out")"
  _iop_eq "natsec outbound SPI = strongSwan inbound SPI" "$(jq -r .spi_out <<<"$c")" "0x$(_iop_get "$_IOP_SF" "${p}spi-in")"
  _iop_eq "ESP algorithms" "$(_iop_ns_alg "$(jq -r .proposal <<<"$c")")" "$(_iop_sw_alg "$_IOP_SF" "$p")"
  _iop_eq "ESP protocol and mode" "ESP $(jq -r '.mode | ascii_upcase' <<<"$c")" \
    "$(_iop_get "$_IOP_SF" "${p}protocol") $(_iop_get "$_IOP_SF" "${p}mode")"
  _iop_eq "UDP encapsulation of ESP" "$(jq -r .encapsulation <<<"$c")" \
    "$([ "$(_iop_get "$_IOP_SF" "${p}encap")" = yes ] && echo udp || echo esp)"
  _iop_eq "natsec local TS = strongSwan remote TS" "$(jq -r '.local_ts | join(",")' <<<"$c")" "$(_iop_get "$_IOP_SF" "${p}remote-ts")"
  _iop_eq "natsec remote TS = strongSwan local TS" "$(jq -r '.remote_ts | join(",")' <<<"$c")" "$(_iop_get "$_IOP_SF" "${p}local-ts")"
  step "  natsecctl status and swanctl --list-sas agree ($_IOP_AGREED checks): IKE $(jq -r '.spi_i + "/" + .spi_r + " " + .proposal' <<<"$n"), ESP $(jq -r '.spi_in + "/" + .spi_out + " " + .proposal + " " + .encapsulation' <<<"$c"), NAT local/remote $nl/$nr"
}

# Send SIZE_MB of random data over TCP from namespace FROM to DST_ADDR (in
# namespace TO) and fail unless the receiver's SHA-256 matches (R13):
# iop_tcp_transfer FROM TO DST_ADDR PORT SIZE_MB.
iop_tcp_transfer() {
  local from=$1 to=$2 dst=$3 port=$4 mb=$5 data out recv_pid want got send secs
  data=$NATSEC_TMP/xfer-$mb.bin
  [ -s "$data" ] || head -c $((mb * 1024 * 1024)) /dev/urandom >"$data"
  want=$(sha256sum "$data" | cut -d' ' -f1)
  out=$NATSEC_TMP/xfer-recv-$port.out
  run_bg "$to" "$NSD_TOOLS/tcpxfer" -l "$port" -r -t 60 >"$out" 2>/dev/null
  recv_pid=$BG_PID
  wait_for "nsx $to ss -ltn | quiet_grep ':$port '" 5 || fail "tcpxfer receiver did not listen in $to"
  send=$(nsx "$from" "$NSD_TOOLS/tcpxfer" -c "$dst" -p "$port" -s "$data" -t 60) ||
    fail "sending $mb MB from $from to $dst failed"
  wait "$recv_pid" || fail "tcpxfer receiver in $to failed: $(cat "$out")"
  got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$out")
  secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$send")
  [ "$got" = "$want" ] || fail "$mb MB $from -> $dst: SHA-256 differs (sent $want, received '$got')"
  step "  $mb MB over TCP $from -> $dst ($to): SHA-256 equal, $secs s"
}

# One line per packet of capture FILE: "SRC SPORT DST DPORT KIND", KIND being
# the IKE exchange type number (34 IKE_SA_INIT, 35 IKE_AUTH, 37
# INFORMATIONAL), "esp" (plain ESP has SPORT and DPORT "-"), "ka" (NAT
# keepalive) or "other": iop_wire FILE.
iop_wire() {
  ike_tshark "$1" -T fields -E separator='|' -e ip.src -e udp.srcport -e ip.dst \
    -e udp.dstport -e isakmp.exchangetype -e esp.spi -e udp.length 2>/dev/null |
    awk -F'|' '{
      sp = $2 == "" ? "-" : $2; dp = $4 == "" ? "-" : $4
      if ($5 != "") k = $5; else if ($6 != "") k = "esp"; else if ($7 == 9) k = "ka"; else k = "other"
      sub(/,.*/, "", k)
      print $1, sp, $3, dp, k }'
}

# R13: strongSwan's CHILD_SA of connection CONN on instance SW and natsecd
# NSD's first CHILD_SA both count more than MB MiB in each direction (the two
# transfers), with no authentication or replay drops:
# iop_check_counters SW CONN NSD MB.
iop_check_counters() {
  local sw=$1 conn=$2 nsd=$3 min=$(($4 * 1024 * 1024)) sas dir b
  sas=$(iop_sw_flat "$sw")
  for dir in in out; do
    b=$(sed -n "s/^$conn\.child-sas\.[^.]*\.bytes-$dir=//p" <<<"$sas")
    [ "${b:-0}" -gt "$min" ] || fail "strongSwan's CHILD_SA counted only ${b:-0} bytes $dir"
  done
  nsd_json "$nsd" | jq -e --argjson min "$min" \
    '.ike_sas[0].children[0] | .bytes_in > $min and .bytes_out > $min and .auth_drops == 0 and .replay_drops == 0' \
    >/dev/null || fail "natsec's CHILD_SA counters do not account for the transfers: $(nsd_json "$nsd" | jq -c '.ike_sas[0].children[0]')"
}

# R4: on the wire summary WIRE (iop_wire) of a client behind nat1 and the
# gateway: IKE_SA_INIT on 500 from the NAT's public address, ESP in UDP 4500
# from the gateway, and nothing but IKE on 500, then IKE, ESP and keepalives
# on 4500 (no plain ESP, no other port or address): iop_check_nat_wire WIRE.
iop_check_nat_wire() {
  local wire=$1 bad
  grep -qx "$NAT1_PUB 500 $GW_PUB 500 34" <<<"$wire" || fail "no IKE_SA_INIT $NAT1_PUB:500 -> $GW_PUB:500 on the wire"
  grep -qx "$GW_PUB 4500 $NAT1_PUB 4500 esp" <<<"$wire" || fail "no ESP in UDP 4500 from the gateway"
  bad=$(grep -vE "^($NAT1_PUB 500 $GW_PUB 500 34|$GW_PUB 500 $NAT1_PUB 500 34|$NAT1_PUB 4500 $GW_PUB 4500 (35|37|esp|ka)|$GW_PUB 4500 $NAT1_PUB 4500 (35|37|esp))\$" <<<"$wire" || true)
  [ -z "$bad" ] || fail "unexpected packets on the wire (plain ESP, other ports or addresses): $(head -5 <<<"$bad")"
}

# ---- SA life cycle against strongSwan (test_lifecycle_sw*.sh) ----

# swanctl.conf text with strongSwan's own re-key times: IKE SA IKE_S,
# CHILD_SA CHILD_S (life_time is 10 % more, rand_time its default):
# iop_sw_rekey_times IKE_S CHILD_S < swanctl.conf.
iop_sw_rekey_times() {
  awk -v ike="$1" -v child="$2" '
    { print }
    /^    proposals = / { print "    rekey_time = " ike "s" }
    /^        esp_proposals = / { print "        rekey_time = " child "s" }'
}

# Pings every 0.1 s from NS to the corporate server for S seconds, in the
# background, output in FILE, the PID in IOP_PING_PID:
# iop_pings_start NS S FILE [SOURCE].
iop_pings_start() {
  local src=()
  [ -n "${4:-}" ] && src=(-I "$4")
  run_bg "$1" ping -c $(($2 * 10)) -i 0.1 -W 1 "${src[@]}" "$SRV_ADDR" >"$3" 2>&1
  IOP_PING_PID=$BG_PID
}

# How many of the pings in FILE were lost (once they ended): iop_pings_lost FILE.
iop_pings_lost() {
  local sent got
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1")
  got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$1")
  [ -n "$sent" ] && [ "$sent" -gt 0 ] || fail "ping did not run: $(tail -n 3 "$1")"
  echo $((sent - got))
}

# strongSwan's re-keys as its log tells: "CHILD_SA re-keys it started /
# answered, IKE SA re-keys it started / answered": iop_sw_rekey_counts NAME.
iop_sw_rekey_counts() {
  local log
  log=$(sw_log "$1")
  printf '%s/%s, %s/%s' \
    "$(grep -cE 'generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\)' "$log" || true)" \
    "$(grep -cE 'parsed CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\)' "$log" || true)" \
    "$(grep -cE 'generating CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]' "$log" || true)" \
    "$(grep -cE 'parsed CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]' "$log" || true)"
}

# The end state between natsec instance N and strongSwan instance S: one
# IKE SA and one CHILD_SA on each side, the CHILD_SA's SPIs the same:
# iop_settled N S.
iop_settled() {
  local n=$1 s=$2 sas in out
  sas=$(sw_list_sas "$s" 2>/dev/null) || return 1
  [ "$(grep -cE '^[^ ].*: #[0-9]+, ' <<<"$sas")" -eq 1 ] || return 1
  grep -qE '^[^ ].*: #[0-9]+, ESTABLISHED' <<<"$sas" || return 1
  [ "$(grep -cE '^  [^ ].*: #[0-9]+, ' <<<"$sas")" -eq 1 ] || return 1
  grep -qE '^  [^ ].*: #[0-9]+, .*INSTALLED' <<<"$sas" || return 1
  [ "$(nsd_q "$n" '.ike_sas | length')" -eq 1 ] || return 1
  [ "$(nsd_q "$n" '.ike_sas[0].children | length')" -eq 1 ] || return 1
  in=$(nsd_q "$n" '.ike_sas[0].children[0].spi_in' | sed 's/^0x//')
  out=$(nsd_q "$n" '.ike_sas[0].children[0].spi_out' | sed 's/^0x//')
  grep -qE "^ +in +$out" <<<"$sas" && grep -qE "^ +out +$in" <<<"$sas"
}

# Fail unless LOG (a file) has a line matching the extended regex RE: log_has WHAT LOG RE.
log_has() {
  grep -qE "$3" "$2" || {
    tail -n 30 "$2" >&2
    fail "$1: no line matching '$3' in $2"
  }
  step "  $1: $(grep -oE "$3" "$2" | head -n 1)"
}

# Load strongSwan instance NAME (started) as a road warrior of the natsec
# gateway $GW_PUB that checks its certificate against tests/fixtures'
# CA and logs in by EAP METHOD as USER with PASSWORD, offering IKE and ESP
# (swanctl.conf proposal lists; default: one AES-GCM/X25519 suite each):
# iop_sw_eap_client NAME METHOD USER PASSWORD [IKE ESP].
iop_sw_eap_client() {
  local name=$1 conf
  mkdir -p "$(sw_dir "$name")/swanctl/x509ca"
  cp "$(dirname "${BASH_SOURCE[0]}")/../fixtures/certs/ca.pem" "$(sw_dir "$name")/swanctl/x509ca/"
  conf=$(sw_conf_eap_client "$GW_PUB" "$IOP_GW_ID" "$IOP_FQDN_ID" "$2" "$3" "$4" "$CORP_NET")
  if [ $# -ge 6 ]; then
    conf=$(sed -e "s/^    proposals = .*/    proposals = $5/" \
      -e "s/^        esp_proposals = .*/        esp_proposals = $6/" <<<"$conf")
  fi
  sw_load "$name" "$conf"
}
