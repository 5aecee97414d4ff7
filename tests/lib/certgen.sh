# shellcheck shell=bash
# tests/lib/certgen.sh - RSA certificates made with openssl during a test,
# under the CA of tests/fixtures/certs, in $NATSEC_TMP (after netns_init).
#
# certgen_frag_set makes what the IKE fragmentation tests (X5) need: an
# RSA-4096 intermediate under the fixtures' CA; alice@corp.example with
# an RSA-4096 certificate under it that names 40 devices besides (with the
# intermediate about 4 KB of DER, as some corporate CAs issue them); and
# vpn.corp.example with an RSA-2048 one. Files in $NATSEC_TMP: NAME.key,
# NAME.pem (the certificate alone) and NAME-chain.pem (with the
# intermediate after it) for alice and gw; inter.pem.

CERTGEN_CA=${CERTGEN_CA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/certs" && pwd)/ca}

# An RSA key of BITS in $NATSEC_TMP/NAME.key: certgen_key NAME BITS.
certgen_key() {
  openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$NATSEC_TMP/$1.key"
}

# $NATSEC_TMP/NAME.pem for NAME.key with SUBJECT and the extensions EXT,
# signed by ISSUER (ISSUER.pem and ISSUER.key): certgen_issue NAME SUBJECT EXT ISSUER.
certgen_issue() {
  local name=$1 subj=$2 ext=$3 issuer=$4 dir=$NATSEC_TMP
  openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" ||
    fail "cannot make $name's certificate request"
  printf '%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' "$ext" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 -extfile "$dir/$name.ext" \
    -out "$dir/$name.pem" 2>/dev/null || fail "cannot issue $name's certificate"
}

# The extensions of an end entity certificate with subjectAltName SAN: certgen_leaf_ext SAN.
certgen_leaf_ext() {
  printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectAltName = %s' "$1"
}

# The bytes of DER of the first certificate of each FILE, added up: certgen_der_len FILE...
certgen_der_len() {
  local f n=0
  for f in "$@"; do
    n=$((n + $(openssl x509 -in "$f" -outform DER | wc -c)))
  done
  echo "$n"
}

# The set described above: certgen_frag_set.
certgen_frag_set() {
  local k1 k2 names i
  # RSA-4096 key generation takes a second or more each: side by side.
  certgen_key inter 4096 &
  k1=$!
  certgen_key alice 4096 &
  k2=$!
  BG_PIDS+=("$k1" "$k2") # ended by the cleanup should the script fail first
  certgen_key gw 2048 || fail "cannot make the gateway's key"
  wait "$k1" && wait "$k2" || fail "cannot make the RSA-4096 keys"
  certgen_issue inter "/C=CH/O=Corp/CN=Corp RSA-4096 Intermediate" \
    "$(printf 'basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign')" \
    "$CERTGEN_CA"
  names=email:alice@corp.example
  for i in $(seq -w 1 40); do names="$names,DNS:alice-device-$i.clients.corp.example"; done
  certgen_issue alice "/C=CH/O=Corp/OU=Remote Workers/CN=alice" "$(certgen_leaf_ext "$names")" \
    "$NATSEC_TMP/inter"
  certgen_issue gw "/C=CH/O=Corp/CN=vpn.corp.example" "$(certgen_leaf_ext DNS:vpn.corp.example)" \
    "$NATSEC_TMP/inter"
  for i in alice gw; do
    cat "$NATSEC_TMP/$i.pem" "$NATSEC_TMP/inter.pem" >"$NATSEC_TMP/$i-chain.pem"
  done
}
