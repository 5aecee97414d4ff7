# shellcheck shell=bash
# tests/lib/strongswan.sh - run strongSwan 5.9.8 charon instances in test namespaces.
#
# Source tests/lib/netns.sh first (this library uses nsx, fail, wait_for,
# stop_pid, NATSEC_TMP and NS_PREFIX from it); netns_cleanup calls sw_cleanup.
#
# Each instance has a NAME (any word, e.g. "gw" or "alice") and lives in
# $NATSEC_TMP/sw-NAME/: strongswan.conf, swanctl/swanctl.conf, charon.log,
# charon.out (stdout/stderr), charon.vici (the vici socket) and run/ (bound
# over /run in a private mount namespace, since 5.9.8 writes its pid file to a
# fixed path there). A kernel without ESP (as on the test machines)
# makes charon use kernel-libipsec (a TUN device ipsec0, MTU 1400,
# routes in table 220) listed before kernel-netlink, and needs the kdf plugin.
# libipsec cannot do plain ESP: strongSwan then always fakes a NAT (its
# NAT_DETECTION_SOURCE_IP never matches) and uses UDP encapsulation.
#
# Knobs (environment, read by sw_start):
#   SW_CHARON     charon binary            (/usr/lib/ipsec/charon)
#   SW_PLUGINS    charon "load" list       (the list from the notes)
#   SW_LOG_IKE    filelog level of ike     (2; 4 logs the SK_* keys)
#   SW_LOG_LEVELS extra filelog levels, ';' separated, e.g. "enc = 3; chd = 4"

SW_CHARON=${SW_CHARON:-/usr/lib/ipsec/charon}
SW_PLUGINS=${SW_PLUGINS:-random nonce openssl kdf pem pkcs1 x509 pubkey curve25519 kernel-libipsec kernel-netlink socket-default vici updown}
declare -A SW_NS=()  # instance name -> namespace short name
declare -A SW_PID=() # instance name -> charon PID

# Print the directory of instance NAME: sw_dir NAME.
sw_dir() {
  echo "$NATSEC_TMP/sw-$1"
}

# Print the vici URI of instance NAME (for swanctl --uri): sw_uri NAME.
sw_uri() {
  echo "unix://$NATSEC_TMP/sw-$1/charon.vici"
}

# Print the path of the charon log of instance NAME: sw_log NAME.
sw_log() {
  echo "$NATSEC_TMP/sw-$1/charon.log"
}

# Print the PID of the charon of instance NAME: sw_pid NAME.
sw_pid() {
  echo "${SW_PID[$1]:-}"
}

# Write strongswan.conf for instance NAME; EXTRA is put verbatim inside charon { }: sw_write_conf NAME [EXTRA].
sw_write_conf() {
  local name=$1 extra=${2:-} dir levels=${SW_LOG_LEVELS:-}
  dir=$(sw_dir "$name")
  mkdir -p "$dir/run" "$dir/swanctl"
  cat >"$dir/strongswan.conf" <<EOF
# strongswan.conf of test instance $name (written by tests/lib/strongswan.sh)
charon {
  load_modular = no
  load = $SW_PLUGINS
  install_virtual_ip = yes
  plugins {
    vici {
      socket = $(sw_uri "$name")
    }
  }
  filelog {
    main {
      path = $dir/charon.log
      time_format = %T
      append = no
      flush_line = yes
      default = 1
      ike = ${SW_LOG_IKE:-2}
      knl = 2
      cfg = 2
      ${levels//;/$'\n'      }
    }
  }
  $extra
}
EOF
}

# Start charon for instance NAME in namespace NS and wait until vici answers; EXTRA goes inside charon { }: sw_start NS NAME [EXTRA].
sw_start() {
  local ns=$1 name=$2 extra=${3:-} dir pid
  [ -x "$SW_CHARON" ] || fail "strongSwan charon not found at $SW_CHARON (scripts/deps.sh installs it)"
  [ -n "${SW_PID[$name]:-}" ] && fail "strongSwan instance $name already running"
  dir=$(sw_dir "$name")
  sw_write_conf "$name" "$extra"
  rm -f "$dir/charon.vici" "$dir/run/charon.pid"
  # ip netns exec, env, unshare (without --fork) and sh all exec: $! is charon's PID.
  ip netns exec "$NS_PREFIX-$ns" env STRONGSWAN_CONF="$dir/strongswan.conf" \
    unshare --mount --propagation private \
    sh -c 'mount --bind "$1" /run && exec "$2"' sh "$dir/run" "$SW_CHARON" \
    >"$dir/charon.out" 2>&1 &
  pid=$!
  SW_PID[$name]=$pid
  SW_NS[$name]=$ns
  BG_PIDS+=("$pid")
  if ! wait_for "[ -S '$dir/charon.vici' ] && sw_swanctl '$name' --stats" 15; then
    tail -n 30 "$dir/charon.out" "$dir/charon.log" >&2 2>/dev/null
    fail "charon $name did not come up in $ns"
  fi
}

# Run swanctl ARGS... against instance NAME (inside its namespace, with its --uri): sw_swanctl NAME ARGS...
sw_swanctl() {
  local name=$1
  shift
  ip netns exec "$NS_PREFIX-${SW_NS[$name]}" \
    env STRONGSWAN_CONF="$(sw_dir "$name")/strongswan.conf" \
    swanctl "$@" --uri "$(sw_uri "$name")"
}

# Write CONTENT as the swanctl.conf of instance NAME and load it (swanctl --load-all --file): sw_load NAME CONTENT.
sw_load() {
  local name=$1 content=$2 d sub out
  d=$(sw_dir "$name")/swanctl
  for sub in x509 x509ca x509aa x509ocsp x509crl x509ac pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
    mkdir -p "$d/$sub"
  done
  printf '%s\n' "$content" >"$d/swanctl.conf"
  if ! out=$(sw_swanctl "$name" --load-all --file "$d/swanctl.conf" 2>&1); then
    echo "$out" >&2
    fail "swanctl --load-all failed for $name"
  fi
  if grep -qiE 'failed|error|invalid' <<<"$out"; then
    echo "$out" >&2
    fail "swanctl --load-all reported an error for $name"
  fi
}

# Initiate CHILD of instance NAME, waiting up to TIMEOUT seconds (default 20); returns swanctl's status: sw_initiate NAME CHILD [TIMEOUT].
sw_initiate() {
  local name=$1 child=$2 timeout=${3:-20}
  sw_swanctl "$name" --initiate --child "$child" --timeout "$timeout" >>"$(sw_dir "$name")/swanctl.out" 2>&1
}

# Print the SAs of instance NAME (swanctl --list-sas, extra ARGS allowed): sw_list_sas NAME [ARGS...].
sw_list_sas() {
  local name=$1
  shift
  sw_swanctl "$name" --list-sas "$@"
}

# True when instance NAME has an ESTABLISHED IKE SA (named IKE if given): sw_ike_established NAME [IKE].
sw_ike_established() {
  local name=$1 ike=${2:-}
  if [ -n "$ike" ]; then
    sw_list_sas "$name" --ike "$ike" 2>/dev/null | quiet_grep "^$ike: .*ESTABLISHED"
  else
    sw_list_sas "$name" 2>/dev/null | quiet_grep 'ESTABLISHED'
  fi
}

# True when instance NAME has an INSTALLED CHILD SA (named CHILD if given): sw_child_installed NAME [CHILD].
sw_child_installed() {
  local name=$1 child=${2:-}
  sw_list_sas "$name" 2>/dev/null | quiet_grep -E "^ +${child:-[^ ]+}: #[0-9]+, .*INSTALLED"
}

# Stop the charon of instance NAME by its PID (TERM, then KILL): sw_stop NAME.
sw_stop() {
  local name=$1 pid=${SW_PID[$1]:-}
  [ -n "$pid" ] || return 0
  stop_pid "$pid"
  unset "SW_PID[$name]"
}

# Stop every charon this run started (called by netns_cleanup).
sw_cleanup() {
  local name
  for name in "${!SW_PID[@]}"; do
    sw_stop "$name"
  done
}

# Print a swanctl.conf for a PSK road-warrior gateway: sw_conf_gateway LOCAL_ADDR GW_ID CLIENT_ID PSK POOL LOCAL_TS [IKE_PROPOSAL] [ESP_PROPOSAL].
sw_conf_gateway() {
  local addr=$1 gwid=$2 cid=$3 psk=$4 pool=$5 ts=$6
  local ike=${7:-aes128gcm16-prfsha256-x25519} esp=${8:-aes128gcm16-x25519}
  cat <<EOF
connections {
  rw {
    version = 2
    local_addrs = $addr
    proposals = $ike
    pools = rwpool
    local {
      auth = psk
      id = $gwid
    }
    remote {
      auth = psk
      id = $cid
    }
    children {
      net {
        local_ts = $ts
        esp_proposals = $esp
      }
    }
  }
}
pools {
  rwpool {
    addrs = $pool
  }
}
secrets {
  ike-rw {
    id-gw = $gwid
    id-client = $cid
    secret = "$psk"
  }
}
EOF
}

# Print a swanctl.conf for a PSK road-warrior client asking for a virtual IP: sw_conf_client GW_ADDR GW_ID CLIENT_ID PSK REMOTE_TS [IKE_PROPOSAL] [ESP_PROPOSAL].
sw_conf_client() {
  local gw=$1 gwid=$2 cid=$3 psk=$4 ts=$5
  local ike=${6:-aes128gcm16-prfsha256-x25519} esp=${7:-aes128gcm16-x25519}
  cat <<EOF
connections {
  home {
    version = 2
    remote_addrs = $gw
    vips = 0.0.0.0
    proposals = $ike
    local {
      auth = psk
      id = $cid
    }
    remote {
      auth = psk
      id = $gwid
    }
    children {
      home {
        remote_ts = $ts
        esp_proposals = $esp
      }
    }
  }
}
secrets {
  ike-home {
    id-gw = $gwid
    id-client = $cid
    secret = "$psk"
  }
}
EOF
}

# ---- certificates (X7) ----------------------------------------------------

# Put certificate CERT (PEM), its private KEY (PEM) and the CA certificate CA
# into the swanctl directories of instance NAME (x509/, private/, x509ca/),
# where the next sw_load picks them up: sw_install_certs NAME CERT KEY CA.
sw_install_certs() {
  local d
  d=$(sw_dir "$1")/swanctl
  mkdir -p "$d/x509" "$d/private" "$d/x509ca"
  if ! { cp "$2" "$d/x509/" && cp "$3" "$d/private/" && cp "$4" "$d/x509ca/"; }; then
    fail "cannot install the certificates of strongSwan instance $1"
  fi
}

# Print a swanctl.conf for a road-warrior gateway that authenticates with
# certificate CERT (a file name in x509/) and takes clients whose
# certificates chain to its x509ca/ and hold CLIENT_ID (%any: any identity
# the certificate holds): sw_conf_cert_gateway LOCAL_ADDR GW_ID CERT CLIENT_ID POOL LOCAL_TS [IKE_PROPOSAL] [ESP_PROPOSAL].
sw_conf_cert_gateway() {
  local addr=$1 gwid=$2 cert=$3 cid=$4 pool=$5 ts=$6
  local ike=${7:-aes128gcm16-prfsha256-x25519} esp=${8:-aes128gcm16-x25519}
  cat <<EOC
connections {
  rw {
    version = 2
    local_addrs = $addr
    proposals = $ike
    pools = rwpool
    local {
      auth = pubkey
      certs = $cert
      id = $gwid
    }
    remote {
      auth = pubkey
      id = $cid
    }
    children {
      net {
        local_ts = $ts
        esp_proposals = $esp
      }
    }
  }
}
pools {
  rwpool {
    addrs = $pool
  }
}
EOC
}

# Print a swanctl.conf for a road-warrior client that authenticates with
# certificate CERT (a file name in x509/) as CLIENT_ID and asks for a virtual
# IP: sw_conf_cert_client GW_ADDR GW_ID CLIENT_ID CERT REMOTE_TS [IKE_PROPOSAL] [ESP_PROPOSAL].
sw_conf_cert_client() {
  local gw=$1 gwid=$2 cid=$3 cert=$4 ts=$5
  local ike=${6:-aes128gcm16-prfsha256-x25519} esp=${7:-aes128gcm16-x25519}
  cat <<EOC
connections {
  home {
    version = 2
    remote_addrs = $gw
    vips = 0.0.0.0
    proposals = $ike
    local {
      auth = pubkey
      certs = $cert
      id = $cid
    }
    remote {
      auth = pubkey
      id = $gwid
    }
    children {
      home {
        remote_ts = $ts
        esp_proposals = $esp
      }
    }
  }
}
EOC
}

# ---- EAP-MSCHAPv2 (X12) ---------------------------------------------------
# The plugins: eap-identity, eap-mschapv2 (Debian's libcharon-extauth-plugins;
# MD4 and DES from the openssl plugin), eap-md5 to offer a refused method.

# Print a swanctl.conf for a road-warrior client that logs in as USER with
# PASSWORD by EAP METHOD (eap-mschapv2, eap-md5), with IKE identity
# CLIENT_ID, and checks the gateway's certificate against x509ca/:
# sw_conf_eap_client GW_ADDR GW_ID CLIENT_ID METHOD USER PASSWORD REMOTE_TS.
sw_conf_eap_client() {
  local gw=$1 gwid=$2 cid=$3 method=$4 user=$5 pass=$6 ts=$7
  cat <<EOC
connections {
  home {
    version = 2
    remote_addrs = $gw
    vips = 0.0.0.0
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = $method
      id = $cid
      eap_id = $user
    }
    remote {
      auth = pubkey
      id = $gwid
    }
    children {
      home {
        remote_ts = $ts
        esp_proposals = aes128gcm16-x25519
      }
    }
  }
}
secrets {
  eap-user {
    id = $user
    secret = "$pass"
  }
}
EOC
}

# Print a swanctl.conf for a road-warrior gateway that shows certificate
# CERT (in x509/) and logs clients in by EAP-MSCHAPv2 (EAP-Identity first)
# as USER with PASSWORD: sw_conf_eap_gateway LOCAL_ADDR GW_ID CERT USER PASSWORD POOL LOCAL_TS.
sw_conf_eap_gateway() {
  local addr=$1 gwid=$2 cert=$3 user=$4 pass=$5 pool=$6 ts=$7
  cat <<EOC
connections {
  rw {
    version = 2
    local_addrs = $addr
    proposals = aes128gcm16-prfsha256-x25519
    pools = rwpool
    send_cert = always
    local {
      auth = pubkey
      certs = $cert
      id = $gwid
    }
    remote {
      auth = eap-mschapv2
      eap_id = %any
    }
    children {
      net {
        local_ts = $ts
        esp_proposals = aes128gcm16-x25519
      }
    }
  }
}
pools {
  rwpool {
    addrs = $pool
  }
}
secrets {
  eap-user {
    id = $user
    secret = "$pass"
  }
}
EOC
}
