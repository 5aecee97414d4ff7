/* The metrics come from the same status JSON as natsecctl status, so the
 * two never disagree. Every family has its HELP and TYPE line; counters
 * end in _total. A counter natsecd adds later to a group appears with a
 * generic HELP rather than not at all.
 *
 *   natsec_info{version,role,local_id} 1
 *   natsec_uptime_seconds, natsec_tunnel_up (client)
 *   natsec_ike_sas, natsec_ike_half_open, ... (gauges: how many now)
 *   natsec_ike_<event>_total              counters.ike
 *   natsec_esp_drops_total{reason}        counters.esp_drops
 *   natsec_dataplane_<counter>_total      counters.dataplane
 *   natsec_ike_sas_established, natsec_child_sas (from the SA list)
 * With --per-peer, per IKE SA (labels id and peer, the remote identity):
 *   natsec_peer_info{id,peer,remote,virtual_ip,state} 1
 *   natsec_peer_{bytes,packets}_{in,out}_total, natsec_peer_child_sas,
 *   natsec_peer_established_seconds, natsec_peer_rekeys_total */
#include "ctl/metrics.h"

#include <inttypes.h>
#include <string.h>

struct family {
    const char *key;  /* in the status JSON */
    const char *name; /* metric name */
    const char *help;
    bool gauge;
};

/* counters.ike: what the engine counts (ike/engine.h struct ns_ike_counters). */
static const struct family ike_families[] = {
    {"ike_sas", "natsec_ike_sas", "IKE SAs in the table now, half-open ones included", true},
    {"half_open", "natsec_ike_half_open", "IKE SAs not yet authenticated now (R15)", true},
    {"half_open_sources", "natsec_ike_half_open_sources",
     "source addresses (IPv6: /64) holding half-open IKE SAs now (X13)", true},
    {"half_open_largest", "natsec_ike_half_open_largest",
     "the most half-open IKE SAs one source holds now (X13)", true},
    {"dropped_malformed", "natsec_ike_dropped_malformed_total",
     "IKE messages dropped: did not parse, bad SK, wrong sizes", false},
    {"dropped_unexpected", "natsec_ike_dropped_unexpected_total",
     "IKE messages dropped: invalid for the SA's state or message ID", false},
    {"dropped_unknown_spi", "natsec_ike_dropped_unknown_spi_total",
     "IKE messages dropped: no IKE SA with that SPI", false},
    {"dropped_unauth", "natsec_ike_dropped_unauth_total",
     "IKE messages dropped: the SK payload did not verify", false},
    {"auth_failures", "natsec_ike_auth_failures_total", "AUTHENTICATION_FAILED sent or received",
     false},
    {"cookies_sent", "natsec_ike_cookies_sent_total", "COOKIE challenges sent (R15)", false},
    {"cookies_rejected", "natsec_ike_cookies_rejected_total",
     "IKE_SA_INIT requests with a wrong or stale COOKIE", false},
    {"half_open_refused", "natsec_ike_half_open_refused_total",
     "IKE_SA_INIT requests refused at half_open_max", false},
    {"half_open_evicted", "natsec_ike_half_open_evicted_total",
     "half-open IKE SAs replaced by a request from a source holding fewer (X13)", false},
    {"invalid_ke_sent", "natsec_ike_invalid_ke_sent_total", "INVALID_KE_PAYLOAD answers sent",
     false},
    {"no_proposal_sent", "natsec_ike_no_proposal_sent_total", "NO_PROPOSAL_CHOSEN answers sent",
     false},
    {"retransmits", "natsec_ike_retransmits_total", "IKE requests sent again by the timer", false},
    {"responses_resent", "natsec_ike_responses_resent_total",
     "cached IKE responses sent again for retransmitted requests", false},
    {"ike_established", "natsec_ike_established_total", "IKE SAs established", false},
    {"ike_deleted", "natsec_ike_deleted_total", "IKE SAs deleted", false},
    {"children_installed", "natsec_ike_children_installed_total", "CHILD_SAs installed", false},
    {"peer_moves", "natsec_ike_peer_moves_total",
     "authenticated address or port changes of a peer (R4)", false},
    {"ike_rekeys", "natsec_ike_rekeys_total", "IKE SAs re-keyed", false},
    {"child_rekeys", "natsec_ike_child_rekeys_total", "CHILD_SAs re-keyed", false},
    {"rekey_collisions", "natsec_ike_rekey_collisions_total",
     "simultaneous re-keys resolved by the nonces", false},
    {"rekey_failures", "natsec_ike_rekey_failures_total", "re-keys refused or failed", false},
    {"expired", "natsec_ike_expired_total", "SAs deleted at their hard lifetime", false},
    {"qcd_tokens_sent", "natsec_ike_qcd_tokens_sent_total",
     "QCD tokens handed out in IKE_AUTH and IKE re-keys (RFC 6290)", false},
    {"qcd_tokens_taken", "natsec_ike_qcd_tokens_taken_total", "the gateway's QCD tokens kept",
     false},
    {"qcd_replies_sent", "natsec_ike_qcd_replies_sent_total",
     "crash answers sent: INVALID_IKE_SPI with the QCD token, for an IKE SA we do not have",
     false},
    {"qcd_replies_limited", "natsec_ike_qcd_replies_limited_total",
     "crash and lost-SA answers not sent: over qcd_rate (R15)", false},
    {"qcd_replies_accepted", "natsec_ike_qcd_replies_accepted_total",
     "crash answers with the kept QCD token: the IKE SA dropped, connecting again", false},
    {"qcd_replies_bad_token", "natsec_ike_qcd_replies_bad_token_total",
     "crash answers with a wrong QCD token, ignored (R15)", false},
    {"qcd_replies_ignored", "natsec_ike_qcd_replies_ignored_total",
     "unprotected INVALID_IKE_SPI ignored: no token kept, another sender, no request out (R15)",
     false},
    {"lost_sa_answers", "natsec_ike_lost_sa_answers_total",
     "INVALID_IKE_SPI sent to an IKE_AUTH for a half-open IKE SA no longer held", false},
    {"lost_sa_hints", "natsec_ike_lost_sa_hints_total",
     "client: the gateway's INVALID_IKE_SPI to our IKE_AUTH taken: attempt given up early",
     false},
    {"lost_sa_hints_ignored", "natsec_ike_lost_sa_hints_ignored_total",
     "client: unprotected INVALID_IKE_SPI to IKE_AUTH ignored: another sender, no request out",
     false},
    {"frag_sent", "natsec_ike_frag_sent_total", "IKE fragments sent (RFC 7383)", false},
    {"frag_received", "natsec_ike_frag_received_total", "IKE fragments verified and kept",
     false},
    {"frag_reassembled", "natsec_ike_frag_reassembled_total",
     "IKE messages put together from fragments", false},
    {"frag_dropped_out_of_range", "natsec_ike_frag_dropped_out_of_range_total",
     "IKE fragments dropped: number or total out of range, malformed", false},
    {"frag_dropped_wrong_total", "natsec_ike_frag_dropped_wrong_total_total",
     "IKE fragments dropped: total below that of the message being put together", false},
    {"frag_dropped_duplicate", "natsec_ike_frag_dropped_duplicate_total",
     "IKE fragments dropped: already held", false},
    {"frag_dropped_overlapping", "natsec_ike_frag_dropped_overlapping_total",
     "IKE fragments dropped: another with the number of one held", false},
    {"frag_dropped_forged", "natsec_ike_frag_dropped_forged_total",
     "IKE fragments dropped: the ICV did not verify", false},
    {"frag_dropped_too_big", "natsec_ike_frag_dropped_too_big_total",
     "IKE messages in fragments abandoned: too large", false},
    {"frag_expired", "natsec_ike_frag_expired_total",
     "IKE messages in fragments abandoned: not complete in time", false},
    {"frag_dropped_busy", "natsec_ike_frag_dropped_busy_total",
     "IKE fragments dropped: the reassembly bounds of the gateway were reached (R15)", false},
    {"frag_reassembling", "natsec_ike_frag_reassembling",
     "IKE messages being put together from fragments now", true},
    {"frag_reassembling_half_open", "natsec_ike_frag_reassembling_half_open",
     "of them, of IKE SAs not yet authenticated now (R15)", true},
    {"frag_held_bytes", "natsec_ike_frag_held_bytes",
     "bytes held by IKE messages being put together now", true},
};

/* counters.dataplane: the daemon's own (daemon/natsecd.h). */
static const struct family dataplane_families[] = {
    {"tun_rx", "natsec_dataplane_tun_rx_total", "plaintext packets read from the TUN device",
     false},
    {"tun_tx", "natsec_dataplane_tun_tx_total", "plaintext packets written to the TUN device",
     false},
    {"esp_rx", "natsec_dataplane_esp_rx_total", "ESP packets received (UDP and plain)", false},
    {"esp_tx", "natsec_dataplane_esp_tx_total", "ESP packets sent (UDP and plain)", false},
    {"ike_rx", "natsec_dataplane_ike_rx_total", "IKE datagrams received", false},
    {"ike_tx", "natsec_dataplane_ike_tx_total", "IKE datagrams sent", false},
    {"keepalives_rx", "natsec_dataplane_keepalives_rx_total", "NAT keepalives received", false},
    {"keepalives_tx", "natsec_dataplane_keepalives_tx_total", "NAT keepalives sent (X1)", false},
    {"natt_invalid", "natsec_dataplane_natt_invalid_total",
     "datagrams on the NAT-T port that are none of IKE, ESP, keepalive", false},
    {"truncated", "natsec_dataplane_truncated_total", "packets larger than the buffers", false},
    {"raw_bad_header", "natsec_dataplane_raw_bad_header_total",
     "plain ESP packets with a broken IP header", false},
    {"send_blocked", "natsec_dataplane_send_blocked_total",
     "packets dropped because a socket or TUN buffer was full", false},
    {"send_errors", "natsec_dataplane_send_errors_total", "packets the kernel refused to send",
     false},
    {"tun_write_errors", "natsec_dataplane_tun_write_errors_total",
     "packets the TUN device refused", false},
    {"tun_tcp_supers", "natsec_dataplane_tun_tcp_supers_total",
     "coalesced TCP super-packets written to the TUN device", false},
    {"tun_udp_supers", "natsec_dataplane_tun_udp_supers_total",
     "coalesced UDP super-packets written to the TUN device", false},
};

static json_object *member(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *text(json_object *o, const char *key)
{
    json_object *v = member(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static int64_t number(json_object *o, const char *key)
{
    json_object *v = member(o, key);
    return v ? json_object_get_int64(v) : 0;
}

static void head(FILE *out, const char *name, const char *help, bool gauge)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, gauge ? "gauge" : "counter");
}

/* A label value: backslash, double quote and line feed escaped. */
static void label(FILE *out, const char *name, const char *value, bool first)
{
    fprintf(out, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void simple(FILE *out, const char *name, const char *help, bool gauge, int64_t v)
{
    head(out, name, help, gauge);
    fprintf(out, "%s %" PRId64 "\n", name, v);
}

/* One group of counters.<group>: the known families in their order, then
 * whatever else the group holds. */
static void group(FILE *out, json_object *g, const char *prefix, const struct family *f, size_t nf)
{
    if (!g || !json_object_is_type(g, json_type_object))
        return;
    for (size_t i = 0; i < nf; i++) {
        json_object *v = member(g, f[i].key);
        if (v)
            simple(out, f[i].name, f[i].help, f[i].gauge, json_object_get_int64(v));
    }
    json_object_object_foreach(g, key, val)
    {
        bool known = false;
        for (size_t i = 0; i < nf && !known; i++)
            known = strcmp(f[i].key, key) == 0;
        if (known)
            continue;
        char name[160], help[200];
        snprintf(name, sizeof(name), "%s%s_total", prefix, key);
        snprintf(help, sizeof(help), "natsecd counter %s (natsecctl status)", key);
        simple(out, name, help, false, json_object_get_int64(val));
    }
}

static void esp_drops(FILE *out, json_object *g)
{
    if (!g || !json_object_is_type(g, json_type_object))
        return;
    head(out, "natsec_esp_drops_total", "inbound ESP packets dropped, by reason", false);
    json_object_object_foreach(g, key, val)
    {
        fputs("natsec_esp_drops_total{", out);
        label(out, "reason", key, true);
        fprintf(out, "} %" PRId64 "\n", json_object_get_int64(val));
    }
}

static void sa_labels(FILE *out, json_object *sa)
{
    label(out, "id", text(sa, "id"), true);
    label(out, "peer", text(sa, "remote_id"), false);
}

/* Sum of key over the CHILD_SAs of sa. */
static int64_t child_sum(json_object *sa, const char *key)
{
    json_object *children = member(sa, "children");
    int64_t sum = 0;
    size_t n = children ? json_object_array_length(children) : 0;
    for (size_t i = 0; i < n; i++)
        sum += number(json_object_array_get_idx(children, i), key);
    return sum;
}

static int64_t n_children(json_object *sa, const char *key)
{
    (void)key;
    json_object *children = member(sa, "children");
    return children ? (int64_t)json_object_array_length(children) : 0;
}

/* One family with a series per IKE SA: value(sa, key). */
static void per_peer_family(FILE *out, json_object *sas, const char *name, const char *help,
                            bool gauge, int64_t (*value)(json_object *, const char *),
                            const char *key)
{
    head(out, name, help, gauge);
    for (size_t i = 0; i < json_object_array_length(sas); i++) {
        json_object *sa = json_object_array_get_idx(sas, i);
        fprintf(out, "%s{", name);
        sa_labels(out, sa);
        fprintf(out, "} %" PRId64 "\n", value(sa, key));
    }
}

static void per_peer(FILE *out, json_object *sas)
{
    head(out, "natsec_peer_info", "one IKE SA: its peer, outer address, virtual IP and state",
         true);
    for (size_t i = 0; i < json_object_array_length(sas); i++) {
        json_object *sa = json_object_array_get_idx(sas, i);
        fputs("natsec_peer_info{", out);
        sa_labels(out, sa);
        label(out, "remote", text(sa, "remote"), false);
        label(out, "virtual_ip", text(sa, "virtual_ip"), false);
        label(out, "state", text(sa, "state"), false);
        fputs("} 1\n", out);
    }
    per_peer_family(out, sas, "natsec_peer_bytes_in_total", "bytes received in the CHILD_SAs",
                    false, child_sum, "bytes_in");
    per_peer_family(out, sas, "natsec_peer_bytes_out_total", "bytes sent in the CHILD_SAs", false,
                    child_sum, "bytes_out");
    per_peer_family(out, sas, "natsec_peer_packets_in_total", "packets received in the CHILD_SAs",
                    false, child_sum, "packets_in");
    per_peer_family(out, sas, "natsec_peer_packets_out_total", "packets sent in the CHILD_SAs",
                    false, child_sum, "packets_out");
    per_peer_family(out, sas, "natsec_peer_child_sas", "CHILD_SAs of the IKE SA now", true,
                    n_children, NULL);
    per_peer_family(out, sas, "natsec_peer_established_seconds",
                    "seconds since the IKE SA was established", true, number, "established_s");
    per_peer_family(out, sas, "natsec_peer_rekeys_total", "IKE re-keys of the IKE SA", false,
                    number, "rekeys");
}

int ctl_metrics_print(FILE *out, json_object *status, bool per_peer_series)
{
    head(out, "natsec_info", "natsecd's version, role and identity", true);
    fputs("natsec_info{", out);
    label(out, "version", text(status, "version"), true);
    label(out, "role", text(status, "role"), false);
    label(out, "local_id", text(status, "local_id"), false);
    fputs("} 1\n", out);
    simple(out, "natsec_uptime_seconds", "seconds since natsecd started", true,
           number(status, "uptime_s"));
    json_object *up = member(status, "tunnel_up");
    if (up)
        simple(out, "natsec_tunnel_up", "client: 1 while the tunnel to the gateway is up", true,
               json_object_get_boolean(up) ? 1 : 0);

    json_object *sas = member(status, "ike_sas");
    if (!sas || !json_object_is_type(sas, json_type_array))
        sas = NULL;
    int64_t established = 0, children = 0;
    for (size_t i = 0; sas && i < json_object_array_length(sas); i++) {
        json_object *sa = json_object_array_get_idx(sas, i);
        established += strcmp(text(sa, "state"), "ESTABLISHED") == 0;
        children += n_children(sa, NULL);
    }
    simple(out, "natsec_ike_sas_established", "IKE SAs established now", true, established);
    simple(out, "natsec_child_sas", "CHILD_SAs installed now", true, children);

    json_object *counters = member(status, "counters");
    group(out, member(counters, "ike"), "natsec_ike_", ike_families,
          sizeof(ike_families) / sizeof(ike_families[0]));
    esp_drops(out, member(counters, "esp_drops"));
    group(out, member(counters, "dataplane"), "natsec_dataplane_", dataplane_families,
          sizeof(dataplane_families) / sizeof(dataplane_families[0]));
    if (per_peer_series && sas)
        per_peer(out, sas);
    fflush(out);
    return ferror(out) ? -1 : 0;
}
