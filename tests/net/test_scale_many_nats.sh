#!/usr/bin/env bash
# ctest: serial
# 2,000 telecommuters behind 8 home NATs at once against one natsecd gateway.
#
# R12: thousands of clients behind many NATs are connected together: each
#      of the 8 NATs (its own public address) hides 250 clients emulated by
#      one natsec-load process (its own identity, UDP port, IKE SA and
#      CHILD_SA each); all 2,000 connect, every virtual IP and every SPI the
#      gateway chose is distinct, and one ICMP echo through every tunnel to
#      the corporate server comes back.
# R6:  every LAN behind the 8 NATs uses the same private subnet and host
#      address; the gateway tells the clients apart by the NAT-mapped
#      address and port alone, and no client's packet reaches another: each
#      reply decrypts under the receiving client's own inbound SA and is the
#      answer to that client's own echo from its own virtual IP (natsec-load
#      counts anything else, decryptable or not, and it must be zero).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/netns.sh
. "$here/../lib/netns.sh"
# shellcheck source=tools/nsd.sh
. "$here/tools/nsd.sh"

N_NATS=8
PER_NAT=250
TOTAL=$((N_NATS * PER_NAT))
LOAD_BIN=$NSD_BUILD/src/load/natsec-load
[ -x "$LOAD_BIN" ] || fail "natsec-load not built: $LOAD_BIN"

netns_init
nsd_check_build
T0=$(date +%s)

step "the internet, the gateway with its corporate server, $N_NATS NATs (198.51.100.11-$((10 + N_NATS))) with the same LAN 10.1.0.0/24 behind each"
inet_create
gw_create
nat_homes_create "$N_NATS"

VIP_POOL=10.99.0.0/20 NSD_LOG_LEVEL=warn nsd_conf_gateway gw
nsd_peer gw %default "$NSD_PSK" "$CORP_NET"
nsd_start gw gw

step "R12: $N_NATS natsec-load processes, $PER_NAT clients each, connect and echo through their tunnels"
pids=()
for ((k = 1; k <= N_NATS; k++)); do
  run_bg "h$k" timeout 50 "$LOAD_BIN" -g "$GW_PUB" -k "$NSD_PSK" -n "$PER_NAT" -w 32 \
    -i "home$k-user%u@corp.example" -s "$CORP_NET" -P "$SRV_ADDR" -t 30 -H 3 -l "nat$k" \
    -d "$NATSEC_TMP/clients-$k.txt" >"$NATSEC_TMP/load-$k.log" 2>&1
  pids+=("$BG_PID")
done
for ((k = 1; k <= N_NATS; k++)); do
  wait "${pids[$((k - 1))]}" || {
    cat "$NATSEC_TMP/load-$k.log" >&2
    fail "natsec-load behind nat$k failed (exit $?)"
  }
done

for ((k = 1; k <= N_NATS; k++)); do
  line=$(grep '^RESULT load' "$NATSEC_TMP/load-$k.log") || fail "nat$k: natsec-load printed no RESULT"
  step "nat$k: ${line#RESULT load }"
  for want in "ok=$PER_NAT" "failed=0" "unique_vips=$PER_NAT" "unique_spis=$PER_NAT" \
    "esp_replies=$PER_NAT" "esp_bad=0" "esp_foreign=0"; do
    [[ " $line " == *" $want "* ]] || {
      cat "$NATSEC_TMP/load-$k.log" >&2
      fail "nat$k: expected $want in: $line"
    }
  done
done

step "R12: across all NATs, $TOTAL distinct identities, virtual IPs and gateway SPIs"
cat "$NATSEC_TMP"/clients-*.txt >"$NATSEC_TMP/clients.txt"
for col in 1 2 3; do
  n=$(cut -d' ' -f"$col" "$NATSEC_TMP/clients.txt" | sort -u | wc -l)
  [ "$n" -eq "$TOTAL" ] || fail "column $col of the clients' view: $n distinct values, expected $TOTAL"
done

step "R6, R12: the gateway's view agrees: $TOTAL IKE SAs, each behind its own NAT address and port"
gw_json=$(nsd_json gw)
jq '[.ike_sas[] | select(.state == "ESTABLISHED" and (.children | length) == 1)] | length' <<<"$gw_json" >"$NATSEC_TMP/n"
[ "$(cat "$NATSEC_TMP/n")" -eq "$TOTAL" ] || fail "gateway has $(cat "$NATSEC_TMP/n") established IKE SAs with one CHILD_SA, expected $TOTAL"
[ "$(jq '[.ike_sas[].remote] | unique | length' <<<"$gw_json")" -eq "$TOTAL" ] || fail "remote endpoints are not distinct"
[ "$(jq '[.ike_sas[].virtual_ip] | unique | length' <<<"$gw_json")" -eq "$TOTAL" ] || fail "virtual IPs are not distinct"
[ "$(jq '[.ike_sas[].children[].spi_in] | unique | length' <<<"$gw_json")" -eq "$TOTAL" ] || fail "inbound SPIs are not distinct"
# Each NAT's public address carries exactly its own 250 clients, under their own identities.
for ((k = 1; k <= N_NATS; k++)); do
  n=$(jq --arg a "198.51.100.$((10 + k)):" --arg id "home$k-user" \
    '[.ike_sas[] | select((.remote | startswith($a)) and (.remote_id | startswith($id)))] | length' <<<"$gw_json")
  [ "$n" -eq "$PER_NAT" ] || fail "nat$k: $n clients at its address with its identities, expected $PER_NAT"
done
# The gateway's view of each client matches the client's own (identity -> virtual IP, SPI).
jq -r '.ike_sas[] | "\(.remote_id) \(.virtual_ip) \(.children[0].spi_in)"' <<<"$gw_json" | sort >"$NATSEC_TMP/gw-view.txt"
cut -d' ' -f1-3 "$NATSEC_TMP/clients.txt" | sort >"$NATSEC_TMP/client-view.txt"
# natsecctl prints SPIs as 0x-prefixed hex: compare on the same form.
sed -E 's/ 0x([0-9a-f]+)$/ \1/' "$NATSEC_TMP/gw-view.txt" >"$NATSEC_TMP/gw-view-hex.txt"
diff -q "$NATSEC_TMP/gw-view-hex.txt" "$NATSEC_TMP/client-view.txt" >/dev/null || {
  diff "$NATSEC_TMP/gw-view-hex.txt" "$NATSEC_TMP/client-view.txt" | head -n 10 >&2
  fail "the gateway's identities, virtual IPs and SPIs differ from the clients'"
}
step "X10: the status streamed whole (above), and its summary counts the same without listing them"
summary=$("$NSC_BIN" -s "$(nsd_sock gw)" status --summary --json)
[ "$(jq '.counters.ike.ike_sas' <<<"$summary")" -eq "$TOTAL" ] || fail "summary: $(jq -c '.counters.ike' <<<"$summary")"
[ "$(jq 'has("ike_sas")' <<<"$summary")" = false ] || fail "the summary lists the IKE SAs"
[ "$(jq '.counters.ike.ike_sas' <<<"$gw_json")" -eq "$TOTAL" ] || fail "the full status' counters differ"
nsd_alive gw
step "PASS: $TOTAL clients behind $N_NATS NATs in $(($(date +%s) - T0)) s"
