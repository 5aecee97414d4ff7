/* The status as JSON (X10): one object per IKE SA from the engine's
 * snapshot, with its CHILD_SAs' traffic counters from the SAD, and the
 * global counters (IKE drops and events, ESP drops by reason, the daemon's
 * own demux and device counters). natsecctl prints it as is (--json) or as
 * a table. 64-bit identifiers and SPIs are hex strings: JSON numbers are
 * not exact beyond 2^53.
 *
 * The answer is built in parts so that control.c can stream it with the
 * IKE thread serving between them: the head (who this is), one object per
 * IKE SA, the tail (counters); the summary is head and tail only, O(1) in
 * the number of SAs. */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "daemon/tcp.h"
#include "util/time.h"
#include "util/version.h"

static void add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v));
}

static void add_bool(json_object *o, const char *k, bool v)
{
    json_object_object_add(o, k, json_object_new_boolean(v));
}

static void add_hex(json_object *o, const char *k, uint64_t v, int digits)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "0x%0*" PRIx64, digits, v);
    add_str(o, k, buf);
}

static void add_id(json_object *o, const char *k, const struct ns_conf_id *id)
{
    if (id->type == 0) {
        json_object_object_add(o, k, NULL);
        return;
    }
    char buf[NS_CONF_ID_STRLEN];
    add_str(o, k, ns_conf_id_str(id, buf));
}

static void add_endpoint(json_object *o, const char *k, const struct ns_endpoint *e)
{
    char buf[NS_ENDPOINT_STRLEN];
    if (e->addr.family == 0)
        json_object_object_add(o, k, NULL);
    else
        add_str(o, k, ns_endpoint_str(e, buf));
}

/* A virtual IP, or null when there is none (family 0). */
static void add_vip(json_object *o, const char *key, const struct ns_addr *a)
{
    char s[NS_ADDR_STRLEN];
    json_object_object_add(o, key, a->family ? json_object_new_string(ns_addr_str(a, s)) : NULL);
}

static json_object *ts_list(const struct ns_ts *ts, unsigned n)
{
    json_object *a = json_object_new_array();
    for (unsigned i = 0; i < n; i++) {
        char buf[NS_TS_STRLEN];
        json_object_array_add(a, json_object_new_string(ns_ts_str(&ts[i], buf)));
    }
    return a;
}

static const char *encr_name(const struct ns_proposal *p, char *buf, size_t len)
{
    switch (p->encr) {
    case NS_ENCR_NULL:
        return "null";
    case NS_ENCR_AES_CBC:
        snprintf(buf, len, "aes%u-cbc", p->key_bits);
        return buf;
    case NS_ENCR_AES_GCM_16:
        snprintf(buf, len, "aes%ugcm16", p->key_bits);
        return buf;
    case NS_ENCR_CHACHA20_POLY1305:
        return "chacha20poly1305";
    case NS_ENCR_3DES:
        return "3des-cbc";
    }
    snprintf(buf, len, "encr-%d", (int)p->encr);
    return buf;
}

static const char *integ_name(enum ns_integ_alg a)
{
    switch (a) {
    case NS_INTEG_NONE:
        return NULL;
    case NS_INTEG_HMAC_SHA1_96:
        return "hmac-sha1-96";
    case NS_INTEG_HMAC_SHA2_256_128:
        return "hmac-sha256-128";
    case NS_INTEG_HMAC_SHA2_384_192:
        return "hmac-sha384-192";
    case NS_INTEG_HMAC_SHA2_512_256:
        return "hmac-sha512-256";
    }
    return "unknown";
}

/* Seconds from now to a deadline (0 when due), or null when none. */
static void add_in_s(json_object *o, const char *k, uint64_t now_ms, uint64_t when_ms)
{
    if (when_ms == NS_IKE_NEVER)
        json_object_object_add(o, k, NULL);
    else
        add_u64(o, k, when_ms > now_ms ? (when_ms - now_ms + 999) / 1000 : 0);
}

static json_object *child_json(struct nsd *d, uint64_t ike_id, const struct ns_ike_child_status *c,
                               uint64_t now_ms)
{
    json_object *o = json_object_new_object();
    add_hex(o, "spi_in", c->spi_in, 8);
    add_str(o, "state", c->state ? c->state : "?");
    add_in_s(o, "rekey_in_s", now_ms, c->rekey_ms);
    add_in_s(o, "expire_in_s", now_ms, c->expire_ms);
    add_u64(o, "rekeys", c->rekeys);
    add_hex(o, "spi_out", c->spi_out, 8);
    add_str(o, "mode", c->mode == NS_ESP_TUNNEL ? "tunnel" : "transport");
    add_str(o, "encapsulation", c->udp_encap ? "udp" : "esp");
    add_str(o, "proposal", c->alg_str);
    char buf[32];
    add_str(o, "encryption", encr_name(&c->alg, buf, sizeof(buf)));
    const char *integ = integ_name(c->alg.integ);
    json_object_object_add(o, "integrity", integ ? json_object_new_string(integ) : NULL);
    add_bool(o, "esn", c->alg.esn);
    json_object_object_add(o, "local_ts", ts_list(c->local_ts, c->n_local_ts));
    json_object_object_add(o, "remote_ts", ts_list(c->remote_ts, c->n_remote_ts));
    struct ns_esp_sa *in = ns_sad_find_inbound(d->sad, c->spi_in);
    struct ns_esp_sa *out = ns_sad_find_outbound(d->sad, ike_id, c->spi_out);
    const struct ns_esp_sa_stats *si = in ? ns_esp_sa_stats(in) : NULL;
    const struct ns_esp_sa_stats *so = out ? ns_esp_sa_stats(out) : NULL;
    add_u64(o, "bytes_in", si ? si->bytes : 0);
    add_u64(o, "packets_in", si ? si->packets : 0);
    add_u64(o, "bytes_out", so ? so->bytes : 0);
    add_u64(o, "packets_out", so ? so->packets : 0);
    add_u64(o, "replay_drops", si ? si->replay_drops : 0);
    add_u64(o, "auth_drops", si ? si->auth_drops : 0);
    if (out) {
        add_endpoint(o, "esp_peer", ns_esp_sa_peer(out));
    }
    nsd_transport_child_json(d, o, c->spi_in);
    return o;
}

json_object *nsd_status_sa_json(struct nsd *d, const struct ns_ike_sa_status *st, uint64_t now_ms)
{
    json_object *o = json_object_new_object();
    add_hex(o, "id", st->id, 16);
    add_str(o, "state", st->state ? st->state : "?");
    add_bool(o, "initiator", st->initiator);
    add_id(o, "local_id", &st->local_id);
    add_id(o, "remote_id", &st->remote_id);
    add_str(o, "peer_section", st->peer_name ? st->peer_name : "");
    add_endpoint(o, "local", &st->local);
    add_endpoint(o, "remote", &st->remote);
    add_bool(o, "nat_local", st->nat_local);
    add_bool(o, "nat_remote", st->nat_remote);
    add_bool(o, "fragmentation", st->fragmentation);
    add_bool(o, "udp_encap", st->udp_encap);
    add_str(o, "transport", nsd_tcp_carries(d, &st->remote) ? "tcp" : "udp");
    add_bool(o, "forced_encap", st->forced_encap);
    add_hex(o, "spi_i", st->spi_i, 16);
    add_hex(o, "spi_r", st->spi_r, 16);
    add_vip(o, "virtual_ip", &st->vip);
    add_vip(o, "virtual_ip6", &st->vip6);
    /* A prefix delegated from pool6 (X8): virtual_ip6 is its first address. */
    if (st->vip6.family && st->vip6_len < 128)
        add_u64(o, "virtual_ip6_prefix_len", st->vip6_len);
    add_str(o, "proposal", st->ike_alg_str);
    add_u64(o, "age_s", (now_ms - st->created_ms) / 1000);
    add_u64(o, "established_s", st->established_ms ? (now_ms - st->established_ms) / 1000 : 0);
    add_u64(o, "idle_s", st->last_rx_ms ? (now_ms - st->last_rx_ms) / 1000 : 0);
    add_in_s(o, "rekey_in_s", now_ms, st->rekey_ms);
    add_in_s(o, "expire_in_s", now_ms, st->expire_ms);
    add_u64(o, "rekeys", st->rekeys);
    /* MOBIKE (X4): on or off, and the address updates so far. */
    add_bool(o, "mobike", st->mobike);
    add_str(o, "mobike_state", st->mobike_state ? st->mobike_state : "?");
    add_u64(o, "address_updates", st->addr_updates);
    json_object_object_add(
        o, "last_update_s_ago",
        st->last_update_ms ? json_object_new_int64((int64_t)((now_ms - st->last_update_ms) / 1000))
                           : NULL);
    json_object *ka = nsd_keepalive_json(d, st->id);
    if (ka)
        json_object_object_add(o, "keepalive", ka);
    json_object *children = json_object_new_array();
    for (unsigned i = 0; i < st->n_child; i++)
        json_object_array_add(children, child_json(d, st->id, &st->child[i], now_ms));
    json_object_object_add(o, "children", children);
    return o;
}

static json_object *ike_counters(const struct ns_ike_counters *c)
{
    json_object *o = json_object_new_object();
    add_u64(o, "ike_sas", c->ike_sas);
    add_u64(o, "half_open", c->half_open);
    add_u64(o, "established", c->ike_established);
    add_u64(o, "deleted", c->ike_deleted);
    add_u64(o, "children_installed", c->children_installed);
    add_u64(o, "dropped_malformed", c->dropped_malformed);
    add_u64(o, "dropped_unexpected", c->dropped_unexpected);
    add_u64(o, "dropped_unknown_spi", c->dropped_unknown_spi);
    add_u64(o, "dropped_unauth", c->dropped_unauth);
    add_u64(o, "auth_failures", c->auth_failures);
    add_u64(o, "cookies_sent", c->cookies_sent);
    add_u64(o, "cookies_rejected", c->cookies_rejected);
    add_u64(o, "half_open_refused", c->half_open_refused);
    add_u64(o, "half_open_evicted", c->half_open_evicted);
    add_u64(o, "cookie_replaced", c->cookie_replaced);
    add_u64(o, "identity_refused", c->identity_refused);
    add_u64(o, "identity_replaced", c->identity_replaced);
    add_u64(o, "half_open_sources", c->half_open_sources);
    add_u64(o, "half_open_largest", c->half_open_largest);
    add_u64(o, "invalid_ke_sent", c->invalid_ke_sent);
    add_u64(o, "no_proposal_sent", c->no_proposal_sent);
    add_u64(o, "retransmits", c->retransmits);
    add_u64(o, "responses_resent", c->responses_resent);
    add_u64(o, "peer_moves", c->peer_moves);
    add_u64(o, "ike_rekeys", c->ike_rekeys);
    add_u64(o, "child_rekeys", c->child_rekeys);
    add_u64(o, "rekey_collisions", c->rekey_collisions);
    add_u64(o, "rekey_failures", c->rekey_failures);
    add_u64(o, "expired", c->expired);
    add_u64(o, "illegal_transitions", c->illegal_transitions);
    add_u64(o, "mobike_updates", c->mobike_updates);
    add_u64(o, "mobike_refused", c->mobike_refused);
    add_u64(o, "mobike_checks", c->mobike_checks);
    add_u64(o, "mobike_check_failed", c->mobike_check_failed);
    add_u64(o, "qcd_tokens_sent", c->qcd_tokens_sent);
    add_u64(o, "qcd_tokens_taken", c->qcd_tokens_taken);
    add_u64(o, "qcd_replies_sent", c->qcd_replies_sent);
    add_u64(o, "qcd_replies_limited", c->qcd_replies_limited);
    add_u64(o, "qcd_replies_accepted", c->qcd_replies_accepted);
    add_u64(o, "qcd_replies_bad_token", c->qcd_replies_bad_token);
    add_u64(o, "qcd_replies_ignored", c->qcd_replies_ignored);
    add_u64(o, "lost_sa_answers", c->lost_sa_answers);
    add_u64(o, "lost_sa_hints", c->lost_sa_hints);
    add_u64(o, "lost_sa_hints_ignored", c->lost_sa_hints_ignored);
    const struct ns_frag_counters *f = &c->frag; /* RFC 7383 */
    add_u64(o, "frag_sent", f->sent);
    add_u64(o, "frag_received", f->received);
    add_u64(o, "frag_reassembled", f->reassembled);
    add_u64(o, "frag_dropped_out_of_range", f->out_of_range);
    add_u64(o, "frag_dropped_wrong_total", f->wrong_total);
    add_u64(o, "frag_dropped_duplicate", f->duplicate);
    add_u64(o, "frag_dropped_overlapping", f->overlapping);
    add_u64(o, "frag_dropped_forged", f->forged);
    add_u64(o, "frag_dropped_too_big", f->too_big);
    add_u64(o, "frag_expired", f->expired);
    add_u64(o, "frag_dropped_busy", f->busy);
    add_u64(o, "frag_reassembling", c->frag_reassembling);
    add_u64(o, "frag_reassembling_half_open", c->frag_reassembling_half_open);
    add_u64(o, "frag_held_bytes", c->frag_held);
    add_u64(o, "mobike_path_probes", c->mobike_path_probes);
    add_u64(o, "mobike_path_switches", c->mobike_path_switches);
    return o;
}

static json_object *esp_drops(const struct ns_sad *sad)
{
    json_object *o = json_object_new_object();
    for (int r = NS_ESP_OK + 1; r < NS_ESP_RESULT_COUNT; r++)
        add_u64(o, ns_esp_result_name((enum ns_esp_result)r),
                ns_sad_drops(sad, (enum ns_esp_result)r));
    return o;
}

/* The main thread's counters and the data-plane threads', added up;
 * status runs with sad_lock exclusive, so every thread is between batches. */
static json_object *dataplane_counters(const struct nsd *d)
{
    struct nsd_counters all = d->cnt;
    nsd_workers_rx_counters(d, &all);
    const struct nsd_counters *c = &all;
    struct nsd_tx_counters t;
    nsd_tx_counters(d, &t);
    json_object *o = json_object_new_object();
    add_u64(o, "tun_rx", t.tun_rx);
    add_u64(o, "tun_tx", c->tun_tx);
    add_u64(o, "esp_rx", c->esp_rx);
    add_u64(o, "esp_tx", t.esp_tx);
    add_u64(o, "ike_rx", c->ike_rx);
    add_u64(o, "ike_tx", c->ike_tx);
    add_u64(o, "keepalives_rx", c->keepalives_rx);
    add_u64(o, "keepalives_tx", c->keepalives_tx);
    add_u64(o, "natt_invalid", c->natt_invalid);
    add_u64(o, "truncated", c->truncated + t.truncated);
    add_u64(o, "not_listened", c->not_listened);
    add_u64(o, "raw_bad_header", c->raw_bad_header);
    add_u64(o, "send_blocked", c->send_blocked + t.send_blocked);
    add_u64(o, "send_errors",
            d->ike.send_errors + d->natt.send_errors + d->raw.send_errors + t.send_errors);
    add_u64(o, "tun_write_errors", d->tun.write_errors + nsd_workers_tun_write_errors(d));
    add_u64(o, "tun_tcp_supers", c->tun_tcp_supers);
    add_u64(o, "tun_udp_supers", c->tun_udp_supers);
    return o;
}

/* With workers > 1: each worker's packets both ways (how evenly the
 * kernel spreads clients and flows over them), and the hand-off queue's
 * drops. NULL without. */
static json_object *workers_json(struct nsd *d)
{
    unsigned n = nsd_workers_n(d);
    if (!n)
        return NULL;
    json_object *a = json_object_new_array();
    for (unsigned i = 0; i < n; i++) {
        struct nsd_counters rx;
        struct nsd_tx_counters tx;
        nsd_worker_counters(d, i, &rx, &tx);
        json_object *o = json_object_new_object();
        add_u64(o, "esp_rx", rx.esp_rx);
        add_u64(o, "tun_tx", rx.tun_tx);
        add_u64(o, "ike_rx", rx.ike_rx);
        add_u64(o, "tun_rx", tx.tun_rx);
        add_u64(o, "esp_tx", tx.esp_tx);
        json_object_array_add(a, o);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "threads", a);
    add_u64(o, "handoff_dropped", nsd_workers_handoff_dropped(d));
    return o;
}

json_object *nsd_status_head(struct nsd *d)
{
    json_object *root = json_object_new_object();
    add_str(root, "role", d->conf.role == NS_CONF_GATEWAY ? "gateway" : "client");
    add_id(root, "local_id", &d->conf.local_id);
    add_str(root, "version", ns_version_long());
    add_u64(root, "pid", (uint64_t)getpid());
    add_u64(root, "uptime_s", (ns_now_ms() - d->start_ms) / 1000);
    add_str(root, "tun", d->tun.name);
    if (d->conf.role == NS_CONF_CLIENT) {
        static const struct ns_addr none;
        json_object_object_add(root, "tunnel_up", json_object_new_boolean(d->client.up));
        add_vip(root, "virtual_ip", d->client.up ? &d->client.vip : &none);
        add_vip(root, "virtual_ip6", d->client.up ? &d->client.vip6 : &none);
    }
    return root;
}

json_object *nsd_status_tail(struct nsd *d)
{
    json_object *root = json_object_new_object();
    struct ns_ike_counters ic;
    ns_ike_engine_counters(d->engine, &ic);
    json_object *counters = json_object_new_object();
    json_object_object_add(counters, "ike", ike_counters(&ic));
    json_object_object_add(counters, "esp_drops", esp_drops(d->sad));
    json_object_object_add(counters, "dataplane", dataplane_counters(d));
    json_object *workers = workers_json(d);
    if (workers)
        json_object_object_add(root, "workers", workers);
    json_object_object_add(root, "counters", counters);
    json_object_object_add(root, "tcp", nsd_tcp_status_json(d));
    if (d->radius)
        json_object_object_add(root, "radius", nsd_radius_status_json(d));
    return root;
}

/* Moves every member of from into to, in order. */
static void merge_into(json_object *to, json_object *from)
{
    json_object_object_foreach(from, k, v) json_object_object_add(to, k, json_object_get(v));
    json_object_put(from);
}

json_object *nsd_status_summary_json(struct nsd *d)
{
    json_object *root = nsd_status_head(d);
    add_bool(root, "summary", true);
    merge_into(root, nsd_status_tail(d));
    return root;
}
