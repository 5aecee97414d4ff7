/* NAT keepalives (X1, R4): the side behind a NAT sends one to the peer's
 * natt_port when it has sent nothing to that peer for the interval, so the
 * NAT keeps its UDP mapping, and so that, when the NAT forgot it anyway
 * and gives the next packet a new public port, the peer learns the new
 * mapping at once instead of sending into the dead one until we send
 * traffic.
 *
 * A keepalive is an ESP dummy packet (RFC 4303 2.6, esp.h
 * ns_esp_encap_dummy) on an outbound CHILD_SA of the IKE SA: authenticated,
 * so the peer may move the SA to where it came from (R4) and then discards
 * it. An IKE SA without a CHILD_SA sends the unauthenticated 0xFF byte of
 * RFC 3948 4 instead: it has nothing a NAT rebinding could cut off.
 *
 * keepalive = auto (conf.h) learns the interval from the NAT
 * (natt/ka_learn.h): some of the keepalives are IKE liveness checks with
 * NAT detection (ns_ike_engine_natd_check), whose answers say whether our
 * public address or port changed since the previous one; a change after a
 * silence means the NAT forgot the mapping within it. The first check goes
 * right after the IKE SA is established, so the next one can compare.
 *
 * "Sent nothing" is the newest of: the last ESP packet out on any CHILD_SA
 * of the IKE SA (the SAD's per-SA stats), the last keepalive, and the time
 * the IKE SA was established. A silence, for learning, is the time without
 * a packet either way (the IKE SA's last_rx too): no NAT forgets a mapping
 * that carried a packet within its timeout. One timer scans the engine's
 * SAs, every second with keepalive = auto (so a keepalive goes out at most
 * NS_KA_SLACK_MS late; every 5 s while no SA is behind a NAT), else ten
 * times per interval. The record per IKE SA is kept in an array sorted by
 * IKE SA id, rebuilt by each scan from the SAs it sees, so records of
 * deleted SAs vanish without a hook into SA deletion and the cost is
 * O(n log n) per scan, nothing per packet. */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "daemon/tcp.h"
#include "esp/esp.h"
#include "natt/ka_learn.h"
#include "natt/udp_demux.h"
#include "util/log.h"

#define SCAN_AUTO_MS NS_KA_SLACK_MS
#define SCAN_IDLE_MS NS_KA_FLOOR_MS

struct ka_rec {
    uint64_t ike_sa_id;
    uint64_t last_ka_ms;     /* our last keepalive (or check); 0: none yet */
    uint32_t silence_max_ms; /* longest silence seen since the last check went */
    uint32_t check_silence;  /* the longest silence before the check in flight */
    unsigned seen_answers, seen_changes, seen_without; /* the engine's counts, last look */
    bool check_pending;                                /* a check's answer is awaited */
    bool first_check_sent; /* the one right after establishment */
    bool no_natd;          /* the peer answers checks without NAT detection */
    /* Our own endpoint at the last answer: an answer after it changed
     * (MOBIKE, X4) tells of the new path, not of the NAT forgetting. */
    struct ns_endpoint answer_local;
    struct ns_ka_learn learn;
};

struct ka_set {
    struct ka_rec *v;
    size_t n, cap;
};

struct nsd_keepalive {
    struct ka_set prev, cur; /* prev sorted by id; cur filled by this scan */
    uint64_t scan_ms;
    bool any_behind_nat; /* the last scan saw an SA behind a NAT */
};

static int rec_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct ka_rec *)a)->ike_sa_id, y = ((const struct ka_rec *)b)->ike_sa_id;
    return x < y ? -1 : x > y;
}

static const struct ka_rec *prev_rec(const struct nsd_keepalive *k, uint64_t id)
{
    struct ka_rec key = {.ike_sa_id = id};
    return k->prev.n ? bsearch(&key, k->prev.v, k->prev.n, sizeof(key), rec_cmp) : NULL;
}

static void remember(struct nsd_keepalive *k, const struct ka_rec *r)
{
    struct ka_set *c = &k->cur;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct ka_rec *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return; /* forgetting only means an early keepalive and relearning */
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *r;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The interval this SA uses now, in ms. */
static uint64_t interval_ms(const struct nsd *d, const struct ka_rec *r)
{
    if (!d->conf.keepalive_auto || r->no_natd)
        return (uint64_t)d->conf.keepalive_s * 1000u;
    return r->learn.interval_ms;
}

/* What the engine's counts say since the last look: a check answered
 * (with a result for the learner when there was an answer before it to
 * compare with), or a peer without NAT detection. */
static void read_answers(struct ka_rec *r, const struct ns_ike_sa_status *st, uint64_t now_ms)
{
    if (st->natd_answers < r->seen_answers || st->natd_without < r->seen_without) {
        /* An IKE re-key: the new IKE SA counts from 0 and has other SPIs,
         * so its first answer is a new start. */
        r->seen_answers = r->seen_changes = r->seen_without = 0;
        r->check_pending = false;
        r->first_check_sent = false;
    }
    if (st->natd_without > r->seen_without) {
        r->seen_without = st->natd_without;
        r->check_pending = false;
        r->no_natd = true;
    }
    if (st->natd_answers > r->seen_answers) {
        bool changed = st->natd_changes > r->seen_changes;
        bool same_path = ns_endpoint_equal(&st->local, &r->answer_local);
        if (r->seen_answers > 0 && r->check_pending && same_path) {
            ns_ka_learn_result(&r->learn, r->check_silence, changed, now_ms);
            char ep[NS_ENDPOINT_STRLEN];
            ns_log(changed ? NS_LOG_INFO : NS_LOG_DEBUG,
                   "keepalive to %s: NAT mapping %s after %u ms of silence; interval now %u s",
                   ns_endpoint_str(&st->remote, ep), changed ? "changed" : "kept",
                   (unsigned)r->check_silence, (unsigned)(r->learn.interval_ms / 1000));
        }
        r->seen_answers = st->natd_answers;
        r->seen_changes = st->natd_changes;
        r->check_pending = false;
        r->answer_local = st->local;
    }
}

/* A check of the mapping as this keepalive; false when none can go now. */
static bool send_check(struct nsd *d, struct ka_rec *r, const struct ns_ike_sa_status *st,
                       uint64_t now_ms)
{
    if (r->check_pending || ns_ike_engine_natd_check(d->engine, st->id, now_ms) != 0)
        return false;
    nsd_engine_rearm(d);
    r->check_pending = true;
    r->check_silence = r->silence_max_ms;
    r->silence_max_ms = 0;
    return true;
}

/* An ESP dummy packet on one of the IKE SA's outbound CHILD_SAs, or the
 * 0xFF byte when it has none. */
static int send_keepalive(struct nsd *d, const struct ns_ike_sa_status *st)
{
    const struct ns_addr *from = st->local.addr.family ? &st->local.addr : NULL;
    for (unsigned i = st->n_child; i-- > 0;) {
        struct ns_esp_sa *sa = ns_sad_find_outbound(d->sad, st->id, st->child[i].spi_out);
        if (!sa || !ns_esp_sa_udp_encap(sa))
            continue;
        struct ns_pkt pkt;
        ns_pkt_init(&pkt, d->slot[0].buf, d->slot[0].cap);
        if (ns_esp_encap_dummy(d->sad, sa, &pkt) != NS_ESP_OK)
            continue;
        return ns_udp_sendto(&d->natt, from, ns_esp_sa_peer(sa), ns_pkt_data(&pkt), pkt.len);
    }
    uint8_t ka[NS_NATT_KEEPALIVE_LEN];
    size_t len = ns_natt_keepalive(ka, sizeof(ka));
    return ns_udp_sendto(&d->natt, from, &st->remote, ka, len);
}

struct scan {
    struct nsd *d;
    uint64_t now_ms;
};

static void scan_sa(void *arg, const struct ns_ike_sa_status *st)
{
    struct scan *s = arg;
    struct nsd *d = s->d;
    struct nsd_keepalive *k = d->ka;
    if (!st->nat_local || !st->udp_encap || st->established_ms == 0)
        return;
    if (nsd_tcp_carries(d, &st->remote))
        return; /* TCP keeps its own NAT mapping alive (RFC 8229) */
    k->any_behind_nat = true;
    const struct ka_rec *old = prev_rec(k, st->id);
    struct ka_rec r;
    if (old) {
        r = *old;
    } else {
        memset(&r, 0, sizeof(r));
        r.ike_sa_id = st->id;
        ns_ka_learn_init(&r.learn, NS_KA_FLOOR_MS, d->conf.keepalive_s * 1000u);
    }
    bool learning = d->conf.keepalive_auto && !r.no_natd;

    uint64_t last_out = max_u64(st->established_ms, r.last_ka_ms);
    for (unsigned i = 0; i < st->n_child; i++) {
        struct ns_esp_sa *sa = ns_sad_find_outbound(d->sad, st->id, st->child[i].spi_out);
        if (sa)
            last_out = max_u64(last_out, ns_esp_sa_stats(sa)->last_used_ns / 1000000u);
    }
    uint64_t last_any = max_u64(last_out, st->last_rx_ms);
    uint64_t silence = s->now_ms > last_any ? s->now_ms - last_any : 0;
    if (silence > r.silence_max_ms)
        r.silence_max_ms = silence > UINT32_MAX ? UINT32_MAX : (uint32_t)silence;

    if (learning)
        read_answers(&r, st, s->now_ms);
    if (learning && !r.first_check_sent && st->natd_answers == 0 && st->n_child > 0 &&
        send_check(d, &r, st, s->now_ms)) {
        r.first_check_sent = true;
        r.last_ka_ms = s->now_ms;
    } else if (s->now_ms >= last_out + interval_ms(d, &r)) {
        bool check = learning && ns_ka_learn_check_due(&r.learn, (uint32_t)r.silence_max_ms,
                                                       s->now_ms);
        char ep[NS_ENDPOINT_STRLEN];
        if (check && send_check(d, &r, st, s->now_ms)) {
            d->cnt.keepalives_tx++;
            NS_DBG("NAT keepalive to %s: a liveness check with NAT detection",
                   ns_endpoint_str(&st->remote, ep));
        } else if (send_keepalive(d, st) == 0) {
            d->cnt.keepalives_tx++;
            NS_DBG("NAT keepalive to %s", ns_endpoint_str(&st->remote, ep));
        }
        r.last_ka_ms = s->now_ms;
    }
    remember(k, &r);
}

static uint64_t next_scan_ms(const struct nsd *d)
{
    if (d->conf.keepalive_auto)
        return d->ka->any_behind_nat ? SCAN_AUTO_MS : SCAN_IDLE_MS;
    return d->ka->scan_ms;
}

static void on_timer(struct ns_timer *t, void *arg)
{
    struct nsd *d = arg;
    struct nsd_keepalive *k = d->ka;
    k->cur.n = 0;
    k->any_behind_nat = false;
    struct scan s = {.d = d, .now_ms = ns_loop_now_ms(d->loop)};
    ns_ike_engine_foreach(d->engine, scan_sa, &s);
    if (k->cur.n) /* v is NULL until the first record */
        qsort(k->cur.v, k->cur.n, sizeof(*k->cur.v), rec_cmp);
    struct ka_set old = k->prev;
    k->prev = k->cur;
    k->cur = old;
    ns_loop_timer_arm(d->loop, t, next_scan_ms(d));
}

void nsd_keepalive_start(struct nsd *d)
{
    if (d->conf.keepalive_s == 0)
        return;
    d->ka = calloc(1, sizeof(*d->ka));
    if (!d->ka) {
        NS_ERR("no memory for NAT keepalives; none will be sent");
        return;
    }
    /* A fixed interval is scanned ten times per interval (at most every
     * 10 s, at least every 1 s), so a keepalive goes out at most a tenth
     * of the interval late. */
    uint64_t iv = (uint64_t)d->conf.keepalive_s * 100u;
    d->ka->scan_ms = iv < 1000 ? 1000 : iv > 10000 ? 10000 : iv;
    ns_timer_init(&d->keepalive_timer, on_timer, d);
    ns_loop_timer_arm(d->loop, &d->keepalive_timer, next_scan_ms(d));
}

void nsd_keepalive_stop(struct nsd *d)
{
    if (!d->ka)
        return;
    ns_loop_timer_cancel(d->loop, &d->keepalive_timer);
    free(d->ka->prev.v);
    free(d->ka->cur.v);
    free(d->ka);
    d->ka = NULL;
}

json_object *nsd_keepalive_json(struct nsd *d, uint64_t ike_sa_id)
{
    const struct ka_rec *r = d->ka ? prev_rec(d->ka, ike_sa_id) : NULL;
    if (!r)
        return NULL;
    json_object *o = json_object_new_object();
    bool learning = d->conf.keepalive_auto && !r->no_natd;
    json_object_object_add(o, "mode", json_object_new_string(
                                          d->conf.keepalive_auto ? "auto" : "fixed"));
    json_object_object_add(o, "interval_s", json_object_new_int64(interval_ms(d, r) / 1000));
    json_object_object_add(o, "learning", json_object_new_boolean(learning));
    if (d->conf.keepalive_auto) {
        const struct ns_ka_learn *l = &r->learn;
        json_object_object_add(o, "checks", json_object_new_int64(l->checks));
        json_object_object_add(o, "mapping_changes", json_object_new_int64(l->changes));
        json_object_object_add(o, "lived_s", json_object_new_int64(l->lived_ms / 1000));
        json_object_object_add(o, "lost_after_s",
                               l->lost_ms ? json_object_new_int64(l->lost_ms / 1000) : NULL);
    }
    return o;
}
