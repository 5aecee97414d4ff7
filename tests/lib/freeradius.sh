# shellcheck shell=bash
# tests/lib/freeradius.sh - a private FreeRADIUS 3 (Debian `freeradius`) for
# the EAP pass-through tests (X16): its configuration copied from the
# package's /etc/freeradius/3.0 into the test's scratch folder, with our
# clients and users files, EAP-MSCHAPv2 as the first EAP method, running as
# root in the foreground (`freeradius -f -d DIR`) inside a namespace of the
# test, listening on one address and port only (-i, -p), killed by its PID
# at the end (BG_PIDS of tests/lib/netns.sh). The system's own freeradius
# service is never touched.
#
# Source tests/lib/netns.sh first.

FR_BIN=${FR_BIN:-/usr/sbin/freeradius}
FR_ETC=/etc/freeradius/3.0
declare -A FR_PID=()

fr_dir() { echo "$NATSEC_TMP/freeradius-$1"; }
fr_log() { echo "$(fr_dir "$1")/radius.out"; }

# Write instance NAME's configuration: RADIUS client 127.0.0.1 with SECRET,
# and USERS (the text of the users file, mods-config/files/authorize):
# fr_setup NAME SECRET USERS.
fr_setup() {
  local name=$1 secret=$2 users=$3 dir
  { [ -x "$FR_BIN" ] && [ -d "$FR_ETC" ]; } || fail "FreeRADIUS is not installed (Debian freeradius; scripts/deps.sh)"
  dir=$(fr_dir "$name")
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -a "$FR_ETC/." "$dir/"
  mkdir -p "$dir/log" "$dir/run"
  # Its own folders, and no change of user (root reads the copy).
  sed -i -e "s|^raddbdir = .*|raddbdir = $dir|" -e "s|^logdir = .*|logdir = $dir/log|" \
    -e "s|^run_dir = .*|run_dir = $dir/run|" -e '/^[[:space:]]*user = freerad/d' \
    -e '/^[[:space:]]*group = freerad/d' "$dir/radiusd.conf"
  sed -i 's/default_eap_type = md5/default_eap_type = mschapv2/' "$dir/mods-available/eap"
  # Refusals at once: natsec's retries are shorter than the 1 s default.
  sed -i 's/^\([[:space:]]*\)reject_delay = .*/\1reject_delay = 0/' "$dir/radiusd.conf"
  printf 'client natsec {\n\tipaddr = 127.0.0.1\n\tsecret = %s\n}\n' "$secret" >"$dir/clients.conf"
  printf '%s\n' "$users" >"$dir/mods-config/files/authorize"
}

# Start instance NAME in namespace NS, its default virtual server on
# 127.0.0.1 port PORT (authentication; PORT+1 accounting; the package's
# inner-tunnel keeps 127.0.0.1:18120), and wait until it is ready:
# fr_start NAME NS PORT.
fr_start() {
  local name=$1 ns=$2 port=$3 dir site
  dir=$(fr_dir "$name")
  site=$dir/sites-available/default
  # The package's listen sections (every address, ports 1812/1813) give
  # way to ours.
  awk -v port="$port" '
    skip { depth += gsub(/\{/, "{") - gsub(/\}/, "}"); if (depth == 0) skip = 0; next }
    /^[[:space:]]*listen[[:space:]]*\{/ { skip = 1; depth = 1; next }
    { print }
    /^server default \{/ {
      printf "listen {\n\ttype = auth\n\tipaddr = 127.0.0.1\n\tport = %d\n}\n", port
      printf "listen {\n\ttype = acct\n\tipaddr = 127.0.0.1\n\tport = %d\n}\n", port + 1
    }' "$site" >"$site.new"
  mv "$site.new" "$site"
  nsx "$ns" ip link set lo up
  run_bg "$ns" "$FR_BIN" -f -X -d "$dir" -l stdout >"$(fr_log "$name")" 2>&1
  FR_PID[$name]=$BG_PID
  wait_for "grep -q '^Ready to process requests' '$(fr_log "$name")'" 15 || {
    tail -n 30 "$(fr_log "$name")" >&2
    fail "freeradius $name did not come up in $ns"
  }
}

# Stop instance NAME by its PID: fr_stop NAME.
fr_stop() {
  local pid=${FR_PID[$1]:-}
  [ -n "$pid" ] && stop_pid "$pid"
  unset "FR_PID[$1]"
}
