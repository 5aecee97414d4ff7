/* NAT keepalives (X1, RFC 3948 4): the side behind a NAT sends one 0xFF
 * byte from natt_port to the peer's natt_port when it has sent nothing to
 * that peer for `keepalive` seconds, so the NAT keeps its UDP mapping.
 *
 * "Sent nothing" is the newest of: the last ESP packet out on any CHILD_SA
 * of the IKE SA (the SAD's per-SA stats), the last keepalive, and the time
 * the IKE SA was established. One timer scans the engine's SAs ten times
 * per interval. The time of the last keepalive per IKE SA is kept in an
 * array sorted by IKE SA id, rebuilt by each scan from the SAs it sees, so
 * records of deleted SAs vanish without a hook into SA deletion and the
 * cost is O(n log n) per scan, nothing per packet. */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "natt/udp_demux.h"
#include "util/log.h"

struct ka_rec {
    uint64_t ike_sa_id;
    uint64_t last_ka_ms;
};

struct ka_set {
    struct ka_rec *v;
    size_t n, cap;
};

struct nsd_keepalive {
    struct ka_set prev, cur; /* prev sorted by id; cur filled by this scan */
    uint64_t interval_ms;
};

static int rec_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct ka_rec *)a)->ike_sa_id, y = ((const struct ka_rec *)b)->ike_sa_id;
    return x < y ? -1 : x > y;
}

static uint64_t prev_last_ka(const struct nsd_keepalive *k, uint64_t id)
{
    struct ka_rec key = {.ike_sa_id = id};
    const struct ka_rec *r =
        k->prev.n ? bsearch(&key, k->prev.v, k->prev.n, sizeof(key), rec_cmp) : NULL;
    return r ? r->last_ka_ms : 0;
}

static void remember(struct nsd_keepalive *k, uint64_t id, uint64_t last_ka_ms)
{
    struct ka_set *c = &k->cur;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct ka_rec *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return; /* forgetting only means an early keepalive */
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = (struct ka_rec){id, last_ka_ms};
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
    uint64_t last_ka = prev_last_ka(k, st->id);
    uint64_t last = st->established_ms > last_ka ? st->established_ms : last_ka;
    for (unsigned i = 0; i < st->n_child; i++) {
        struct ns_esp_sa *sa = ns_sad_find_outbound(d->sad, st->id, st->child[i].spi_out);
        if (!sa)
            continue;
        uint64_t used = ns_esp_sa_stats(sa)->last_used_ns / 1000000u;
        if (used > last)
            last = used;
    }
    uint64_t interval = (uint64_t)d->conf.keepalive_s * 1000u;
    if (s->now_ms < last + interval) {
        remember(k, st->id, last_ka);
        return;
    }
    uint8_t ka[NS_NATT_KEEPALIVE_LEN];
    size_t len = ns_natt_keepalive(ka, sizeof(ka));
    struct ns_endpoint to = st->remote;
    const struct ns_addr *from = st->local.addr.family ? &st->local.addr : NULL;
    if (ns_udp_sendto(&d->natt, from, &to, ka, len) == 0) {
        d->cnt.keepalives_tx++;
        char ep[NS_ENDPOINT_STRLEN];
        NS_DBG("NAT keepalive to %s", ns_endpoint_str(&to, ep));
    }
    remember(k, st->id, s->now_ms);
}

static void on_timer(struct ns_timer *t, void *arg)
{
    struct nsd *d = arg;
    struct nsd_keepalive *k = d->ka;
    k->cur.n = 0;
    struct scan s = {.d = d, .now_ms = ns_loop_now_ms(d->loop)};
    ns_ike_engine_foreach(d->engine, scan_sa, &s);
    if (k->cur.n) /* v is NULL until the first record */
        qsort(k->cur.v, k->cur.n, sizeof(*k->cur.v), rec_cmp);
    struct ka_set old = k->prev;
    k->prev = k->cur;
    k->cur = old;
    ns_loop_timer_arm(d->loop, t, k->interval_ms);
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
    /* Scan ten times per interval (at most every 10 s, at least every 1 s)
     * so a keepalive goes out at most a tenth of the interval late. */
    uint64_t iv = (uint64_t)d->conf.keepalive_s * 100u;
    d->ka->interval_ms = iv < 1000 ? 1000 : iv > 10000 ? 10000 : iv;
    ns_timer_init(&d->keepalive_timer, on_timer, d);
    ns_loop_timer_arm(d->loop, &d->keepalive_timer, d->ka->interval_ms);
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
