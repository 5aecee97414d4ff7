/* The life cycle of established SAs (RFC 7296 1.3, 2.8, 2.18; X3):
 *
 *   soft lifetime (time, or bytes through ops->child_usage, or packets:
 *   a 32-bit sequence number must never run out, RFC 4303 3.3.3) -> re-key by
 *   CREATE_CHILD_SA (create_child_exchange.c), whichever side comes first;
 *   hard lifetime -> delete. The soft time is the lifetime minus 10 % and
 *   a random further 0-10 %, drawn per SA on each side, so that thousands
 *   of clients set up together do not re-key together and the two ends of
 *   one SA rarely start at the same moment.
 *
 *   A CHILD_SA replaced by a re-key is RETIRING on the side whose re-key
 *   created its successor, which deletes it once the successor has carried
 *   inbound traffic or after a short grace time, so that nothing still on
 *   the wire for it is lost; it is REKEYED on the other side, which waits
 *   for that DELETE (with a long fallback). The SAD sends on the newest CHILD_SA, so outbound
 *   traffic moves to the successor as soon as it is installed.
 *
 *   An IKE SA replaced by a re-key hands its CHILD_SAs, virtual IP,
 *   client role and ike_sa_id to the new one and is REKEYED until the
 *   re-key's initiator deletes it.
 *
 * Also the ike_sa_id index (engine.h: ike_sa_id stays across IKE
 * re-keys) and natsecctl's "rekey". */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "ike/engine_mobike.h"
#include "ike/ike_sa.h"
#include "util/container.h"

/* Traffic polls: as often as the traffic needs, within these; only the
 * packet limit (no byte lifetime) allows the longer wait, which at a rate
 * no single SA reaches still leaves over 10 % of the sequence numbers. */
#define POLL_MIN_MS 250
#define POLL_MAX_MS 10000
#define POLL_MAX_PACKETS_MS 60000
#define POLL_FIRST_MS 1000
/* Without ESN an SA has 2^32 - 1 sequence numbers. */
#define SEQ_LIMIT_32 UINT32_MAX

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* lifetime minus 10 % minus a random 0-10 %. */
static uint64_t soft(uint64_t lifetime)
{
    uint64_t margin = lifetime / 10;
    uint64_t jitter = margin ? ns_random_u64() % (margin + 1) : 0;
    return lifetime - margin - jitter;
}

void ns_eng_life_ike_start(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint64_t life = (uint64_t)e->conf->ike_lifetime_s * 1000;
    sa->expire_at = e->now + life;
    sa->rekey_at = e->now + soft(life);
    sa->retry_at = 0;
}

void ns_eng_life_child_start(struct ns_ike_engine *e, struct ns_ike_child *c)
{
    uint64_t life = (uint64_t)e->conf->child_lifetime_s * 1000;
    c->cstate = NS_CHILD_INSTALLED; /* where a new CHILD_SA starts */
    c->expire_at = e->now + life;
    c->rekey_at = e->now + soft(life);
    c->retire_at = NS_IKE_NEVER;
    c->successor_spi = 0;
    c->install_seq = ++e->child_seq;
    c->poll_bytes = 0;
    c->poll_packets = 0;
    c->poll_ms = e->now;
    c->soft_bytes = 0;
    c->soft_packets = 0;
    c->poll_at = NS_IKE_NEVER;
    if (!e->ops.child_usage)
        return;
    uint64_t bytes = e->conf->child_lifetime_bytes;
    if (bytes)
        c->soft_bytes = soft(bytes);
    if (!c->alg.esn)
        c->soft_packets = soft(SEQ_LIMIT_32);
    if (c->soft_bytes || c->soft_packets)
        c->poll_at = e->now + POLL_FIRST_MS;
}

/* ---- small helpers ---- */

int ns_eng_child_by_in(const struct ns_ikesa *sa, uint32_t spi)
{
    for (unsigned i = 0; i < sa->n_child; i++)
        if (sa->child[i].spi_in == spi)
            return (int)i;
    return -1;
}

int ns_eng_child_by_out(const struct ns_ikesa *sa, uint32_t spi)
{
    for (unsigned i = 0; i < sa->n_child; i++)
        if (sa->child[i].spi_out == spi)
            return (int)i;
    return -1;
}

int ns_eng_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c)
        return c;
    return a_len < b_len ? -1 : a_len > b_len;
}

void ns_eng_nonce_min(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out,
                      size_t *out_len)
{
    bool first = ns_eng_nonce_cmp(a, a_len, b, b_len) <= 0;
    const uint8_t *m = first ? a : b;
    size_t len = first ? a_len : b_len;
    if (len > NS_IKE_MAX_NONCE)
        len = NS_IKE_MAX_NONCE;
    memmove(out, m, len);
    *out_len = len;
}

void ns_eng_life_retry_later(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->retry_at = e->now + 1000 + ns_random_u32() % 2000;
    ns_eng_sched(e, sa);
}

void ns_eng_child_drop_and_tell(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i)
{
    uint32_t spi = sa->child[i].spi_in;
    ns_eng_child_remove(e, sa, i);
    if (sa->n_del < NS_IKE_MAX_CHILD)
        sa->del_spis[sa->n_del++] = spi;
    ns_eng_sched(e, sa);
}

/* ---- the ike_sa_id index ---- */

void ns_eng_index_ike_sa_id(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->in_ike_sa_id_idx)
        return;
    sa->by_ike_sa_id.hash = ns_eng_hash_id(e, sa->ike_sa_id);
    ns_htab_add(&e->by_ike_sa_id, &sa->by_ike_sa_id);
    sa->in_ike_sa_id_idx = true;
}

void ns_eng_unindex_ike_sa_id(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (!sa->in_ike_sa_id_idx)
        return;
    ns_htab_del(&e->by_ike_sa_id, &sa->by_ike_sa_id);
    sa->in_ike_sa_id_idx = false;
}

struct ns_ikesa *ns_eng_find_ike_sa_id(const struct ns_ike_engine *e, uint64_t ike_sa_id)
{
    if (!e->by_ike_sa_id.nb)
        return NULL;
    uint64_t h = ns_eng_hash_id(e, ike_sa_id);
    for (struct ns_hnode *n = ns_htab_chain(&e->by_ike_sa_id, h); n; n = n->next) {
        struct ns_ikesa *sa = NS_CONTAINER_OF(n, struct ns_ikesa, by_ike_sa_id);
        if (n->hash == h && sa->ike_sa_id == ike_sa_id)
            return sa;
    }
    return NULL;
}

/* ---- IKE SA re-key: the move ---- */

void ns_eng_ike_move(struct ns_ike_engine *e, struct ns_ikesa *old, struct ns_ikesa *fresh)
{
    free(fresh->child); /* none: a new IKE SA makes no CHILD_SA of its own */
    fresh->child = old->child;
    fresh->n_child = old->n_child;
    old->child = NULL;
    old->n_child = 0;
    memcpy(fresh->del_spis, old->del_spis, sizeof(old->del_spis));
    fresh->n_del = old->n_del;
    old->n_del = 0;
    fresh->vip = old->vip;
    fresh->vip6 = old->vip6;
    fresh->vip6_len = old->vip6_len;
    memset(&old->vip, 0, sizeof(old->vip)); /* the new one holds them now */
    memset(&old->vip6, 0, sizeof(old->vip6));
    memcpy(fresh->dns, old->dns, sizeof(old->dns));
    fresh->n_dns = old->n_dns;
    /* The ESP SAs carry the line's id: the new IKE SA answers to it. */
    ns_eng_unindex_ike_sa_id(e, fresh);
    ns_eng_unindex_ike_sa_id(e, old);
    fresh->ike_sa_id = old->ike_sa_id;
    ns_eng_index_ike_sa_id(e, fresh);
    if (e->client_sa == old)
        e->client_sa = fresh;
    fresh->rekeys = old->rekeys + 1;
    ns_eng_mobike_inherit(e, fresh, old);
    if (old->state != NS_IKE_ST_REKEYED)
        ns_eng_sa_state(e, old, NS_IKE_ST_REKEYED, "CHILD_SAs moved to its successor");
    e->ctr.ike_rekeys++;
    NS_INFO("ike: IKE SA %016llx re-keyed: now IKE SA %016llx (SPIs %016llx %016llx, %u "
            "CHILD SA(s) moved, re-key %u)",
            (unsigned long long)old->id, (unsigned long long)fresh->id,
            (unsigned long long)fresh->spi_i, (unsigned long long)fresh->spi_r, fresh->n_child,
            fresh->rekeys);
    ns_eng_sched(e, fresh);
    ns_eng_sched(e, old);
}

void ns_eng_life_ike_deleted(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_create_child *cc = sa->create_child;
    if (sa->n_child && cc && cc->ike && cc->coll_ike_id) {
        /* Both sides re-keyed it and the peer's re-key won: the peer
         * deletes the old one, its new IKE SA takes the CHILD_SAs. */
        struct ns_ikesa *to = ns_eng_find_id(e, cc->coll_ike_id);
        if (to && to->state == NS_IKE_ST_ESTABLISHED) {
            e->ctr.rekey_collisions++;
            NS_INFO("ike: simultaneous re-key of IKE SA %016llx: the peer deletes it, its "
                    "re-key won (2.8.2): IKE SA %016llx survives, ours is redundant",
                    (unsigned long long)sa->id, (unsigned long long)to->id);
            ns_eng_ike_move(e, sa, to);
        }
        return;
    }
    struct ns_ikesa *old = sa->rekey_of ? ns_eng_find_id(e, sa->rekey_of) : NULL;
    if (old && sa->state == NS_IKE_ST_REDUNDANT && old->state == NS_IKE_ST_REKEYED) {
        /* The peer deleted its redundant IKE SA: it knows the outcome, and
         * the old one, ours to delete, can go now. */
        NS_DBG("ike: IKE SA %016llx: the peer deleted its redundant IKE SA %016llx",
               (unsigned long long)old->id, (unsigned long long)sa->id);
        ns_eng_delete_ike(e, old, NS_IKE_DOWN_LOCAL);
        return;
    }
    if (old && old->create_child && old->create_child->ike &&
        old->create_child->coll_ike_id == sa->id) {
        /* The IKE SA we made answering the peer's re-key, deleted by the
         * peer before our own re-key's answer came: the peer found it
         * redundant (lowest nonce), ours will survive. */
        e->ctr.rekey_collisions++;
        NS_INFO("ike: simultaneous re-key of IKE SA %016llx: the peer deletes IKE SA %016llx, "
                "which is redundant (lowest nonce, 2.8.2); ours will survive",
                (unsigned long long)old->id, (unsigned long long)sa->id);
        old->create_child->coll_ike_id = 0;
        ns_eng_sa_state(e, sa, NS_IKE_ST_REDUNDANT, "the peer's re-key lost");
    }
}

/* ---- deadlines ---- */

/* When a re-key request may start: its soft time, not before retry_at. */
static uint64_t start_at(const struct ns_ikesa *sa, uint64_t when)
{
    return when == NS_IKE_NEVER ? when : max_u64(when, sa->retry_at);
}

uint64_t ns_eng_life_due(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    if (sa->state == NS_IKE_ST_REKEYED || sa->state == NS_IKE_ST_REDUNDANT)
        return sa->out.kind == NS_REQ_NONE ? sa->rekey_at : NS_IKE_NEVER;
    if (sa->state != NS_IKE_ST_ESTABLISHED || sa->out.then_delete)
        return NS_IKE_NEVER;
    uint64_t due = sa->expire_at;
    bool idle = sa->out.kind == NS_REQ_NONE;
    if (idle && sa->n_del)
        due = max_u64(e->now, sa->retry_at);
    if (idle && !sa->create_child)
        due = min_u64(due, start_at(sa, sa->rekey_at));
    for (unsigned i = 0; i < sa->n_child; i++) {
        const struct ns_ike_child *c = &sa->child[i];
        switch (c->cstate) {
        case NS_CHILD_INSTALLED:
            due = min_u64(due, min_u64(c->expire_at, c->poll_at));
            if (idle)
                due = min_u64(due, start_at(sa, c->rekey_at));
            break;
        case NS_CHILD_REKEYING:
            due = min_u64(due, min_u64(c->expire_at, c->poll_at));
            break;
        case NS_CHILD_RETIRING:
        case NS_CHILD_REKEYED:
            /* Its hard lifetime only hastens the DELETE its re-key calls for. */
            due = min_u64(due, c->poll_at);
            if (idle)
                due = min_u64(due, min_u64(c->retire_at, c->expire_at));
            break;
        case NS_CHILD_DELETING:
            break; /* goes with the answer to our DELETE */
        }
    }
    return due;
}

/* ---- traffic polls ---- */

/* The wait until the next look, for count growing from last (at last_ms)
 * towards target: halfway there at the present rate, within [min, max]. */
static uint64_t poll_wait(uint64_t now, uint64_t last_ms, uint64_t last, uint64_t count,
                          uint64_t target, uint64_t max_ms)
{
    uint64_t dt = now > last_ms ? now - last_ms : 1;
    uint64_t rate = count > last ? (count - last) * 1000 / dt : 0;
    uint64_t wait = rate && target > count ? (target - count) * 1000 / rate / 2 : max_ms;
    return wait < POLL_MIN_MS ? POLL_MIN_MS : wait > max_ms ? max_ms : wait;
}

static void poll_usage(struct ns_ike_engine *e, struct ns_ike_child *c,
                       const struct ns_ike_child_usage *u)
{
    uint64_t now = e->now, hard = e->conf->child_lifetime_bytes;
    uint64_t bytes = max_u64(u->bytes_in, u->bytes_out);
    uint64_t packets = max_u64(u->packets_in, u->packets_out);
    if (hard && bytes >= hard) {
        c->expire_at = now; /* the loop below deletes it */
        c->poll_at = NS_IKE_NEVER;
        NS_INFO("ike: CHILD SA in 0x%08x: hard byte lifetime reached (%llu bytes)", c->spi_in,
                (unsigned long long)bytes);
        return;
    }
    bool due = c->cstate == NS_CHILD_INSTALLED && c->rekey_at > now;
    if (hard && bytes >= c->soft_bytes && due) {
        NS_INFO("ike: CHILD SA in 0x%08x: soft byte lifetime reached (%llu bytes), re-keying",
                c->spi_in, (unsigned long long)bytes);
        c->rekey_at = now;
        due = false;
    }
    /* The packet count stands for the sequence numbers used: every packet
     * takes one, and the SAD refuses to send past the last. */
    if (c->soft_packets && packets >= c->soft_packets && due) {
        NS_INFO("ike: CHILD SA in 0x%08x: %llu of its 2^32 sequence numbers used, re-keying",
                c->spi_in, (unsigned long long)packets);
        c->rekey_at = now;
    }
    uint64_t wait = POLL_MAX_PACKETS_MS;
    if (hard)
        wait = poll_wait(now, c->poll_ms, c->poll_bytes, bytes,
                         bytes < c->soft_bytes ? c->soft_bytes : hard, POLL_MAX_MS);
    if (c->soft_packets)
        wait = min_u64(wait, poll_wait(now, c->poll_ms, c->poll_packets, packets,
                                       packets < c->soft_packets ? c->soft_packets : SEQ_LIMIT_32,
                                       hard ? POLL_MAX_MS : POLL_MAX_PACKETS_MS));
    c->poll_bytes = bytes;
    c->poll_packets = packets;
    c->poll_ms = now;
    c->poll_at = now + wait;
}

/* A REKEYED child we delete: as soon as its successor carried inbound
 * traffic (the peer sends on it, so nothing more comes on the old one). */
static void poll_successor(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_child *c)
{
    int s = ns_eng_child_by_in(sa, c->successor_spi);
    struct ns_ike_child_usage u;
    if (s < 0 || !e->ops.child_usage ||
        e->ops.child_usage(e->ops.ctx, sa->ike_sa_id, sa->child[s].spi_in, sa->child[s].spi_out,
                           &u) != 0) {
        c->poll_at = NS_IKE_NEVER;
        return;
    }
    if (u.packets_in > 0) {
        c->retire_at = e->now;
        c->poll_at = NS_IKE_NEVER;
        return;
    }
    c->poll_at = e->now + NS_IKE_SUCCESSOR_POLL_MS < c->retire_at
                     ? e->now + NS_IKE_SUCCESSOR_POLL_MS
                     : NS_IKE_NEVER;
}

int ns_eng_child_activate(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i)
{
    struct ns_ike_child *c = &sa->child[i];
    struct ns_esp_sa_spec *p = c->pending;
    if (!p)
        return 0;
    /* The SA may have moved (R4) since: send where the peer is now. */
    p[1].local = sa->local;
    p[1].peer = sa->remote;
    p[1].path_unverified = sa->mob.unchecked;
    int rc = e->ops.child_out_up(e->ops.ctx, &p[0], &p[1]);
    OPENSSL_cleanse(p, 2 * sizeof(*p));
    free(p);
    c->pending = NULL;
    if (rc != 0) {
        NS_ERR("ike: CHILD SA in 0x%08x: the data plane refused its outbound SA 0x%08x", c->spi_in,
               c->spi_out);
        c->expire_at = e->now; /* goes (and the peer is told) at the next run */
        ns_eng_sched(e, sa);
        return -1;
    }
    NS_DBG("ike: CHILD SA in 0x%08x: the peer has it, sending on out 0x%08x", c->spi_in,
           c->spi_out);
    return 0;
}

/* A child we answered the re-key of: the initiator has it once traffic
 * comes in on it. */
static void poll_pending(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i)
{
    struct ns_ike_child *c = &sa->child[i];
    struct ns_ike_child_usage u;
    if (e->ops.child_usage(e->ops.ctx, sa->ike_sa_id, c->spi_in, c->spi_out, &u) == 0 &&
        u.packets_in > 0) {
        if (ns_eng_child_activate(e, sa, i) == 0)
            c->poll_at = c->soft_bytes || c->soft_packets ? e->now : NS_IKE_NEVER;
        return;
    }
    c->poll_at = e->now + NS_IKE_SUCCESSOR_POLL_MS;
}

static void poll_child(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_child *c)
{
    if (c->pending && e->ops.child_usage) {
        poll_pending(e, sa, (unsigned)(c - sa->child));
        return;
    }
    if (c->cstate == NS_CHILD_RETIRING) {
        poll_successor(e, sa, c);
        return;
    }
    if (c->cstate == NS_CHILD_REKEYED) {
        c->poll_at = NS_IKE_NEVER;
        return;
    }
    if (c->cstate == NS_CHILD_DELETING || !e->ops.child_usage ||
        (!c->soft_bytes && !c->soft_packets)) {
        c->poll_at = NS_IKE_NEVER;
        return;
    }
    struct ns_ike_child_usage u;
    if (e->ops.child_usage(e->ops.ctx, sa->ike_sa_id, c->spi_in, c->spi_out, &u) != 0) {
        c->poll_at = NS_IKE_NEVER;
        return;
    }
    poll_usage(e, c, &u);
}

/* ---- running what is due ---- */

/* Hard lifetimes and polls: local work, whatever the request window. Returns
 * false when the IKE SA went (or started going) down. */
static bool run_local(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint64_t now = e->now;
    if (now >= sa->expire_at) {
        NS_WARN("ike: IKE SA %016llx: hard lifetime reached without a re-key, deleting",
                (unsigned long long)sa->id);
        e->ctr.expired++;
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_EXPIRED);
        return false;
    }
    bool expired = false;
    for (unsigned i = 0; i < sa->n_child;) {
        struct ns_ike_child *c = &sa->child[i];
        if (now >= c->poll_at)
            poll_child(e, sa, c);
        bool live = c->cstate == NS_CHILD_INSTALLED || c->cstate == NS_CHILD_REKEYING;
        if (live && now >= c->expire_at) {
            NS_WARN("ike: CHILD SA in 0x%08x out 0x%08x: hard lifetime reached, deleting",
                    c->spi_in, c->spi_out);
            e->ctr.expired++;
            ns_eng_child_drop_and_tell(e, sa, i);
            expired = true;
            continue; /* the last one moved into slot i */
        }
        i++;
    }
    bool coming = sa->create_child && !sa->create_child->ike;
    if (expired && sa->n_child == 0 && !coming) {
        /* Nothing carries traffic any more: a client reconnects, a gateway
         * frees the virtual IP. */
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_EXPIRED);
        return false;
    }
    return true;
}

/* Starts our DELETE of the replaced children whose time came (RETIRING:
 * the grace time; REKEYED: the fallback). */
static bool start_retire(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint64_t newest = 0;
    for (unsigned i = 0; i < sa->n_child; i++)
        if (sa->child[i].cstate != NS_CHILD_DELETING)
            newest = max_u64(newest, sa->child[i].install_seq);
    for (unsigned i = 0; i < sa->n_child;) {
        struct ns_ike_child *c = &sa->child[i];
        bool replaced = c->cstate == NS_CHILD_RETIRING || c->cstate == NS_CHILD_REKEYED;
        if (!replaced || (e->now < c->retire_at && e->now < c->expire_at)) {
            i++;
            continue;
        }
        NS_INFO("ike: CHILD SA in 0x%08x out 0x%08x: replaced by in 0x%08x, deleting it", c->spi_in,
                c->spi_out, c->successor_spi);
        if (c->install_seq == newest && sa->n_del < NS_IKE_MAX_CHILD) {
            /* Our outbound traffic goes on it (a redundant one of a
             * simultaneous re-key): out of the data plane first, so the
             * SAD sends on the survivor before the peer drops it. */
            ns_eng_child_drop_and_tell(e, sa, i);
            continue;
        }
        /* The peer may still send on it until it has our DELETE: it goes
         * when the answer comes. */
        ns_eng_child_state(e, c, NS_CHILD_DELETING, "replaced: our DELETE");
        c->poll_at = NS_IKE_NEVER;
        if (sa->n_del < NS_IKE_MAX_CHILD)
            sa->del_spis[sa->n_del++] = c->spi_in;
        i++;
    }
    return sa->n_del > 0;
}

/* Starts the most urgent request that is due, if any. */
static void start_next(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint64_t now = e->now;
    if (start_retire(e, sa) || sa->n_del) {
        if (now >= sa->retry_at && ns_eng_delete_children(e, sa) != 0)
            ns_eng_life_retry_later(e, sa);
        return;
    }
    if (sa->create_child || now < sa->retry_at)
        return;
    if (now >= sa->rekey_at) {
        if (ns_eng_create_child_rekey_ike(e, sa) != 0)
            ns_eng_life_retry_later(e, sa);
        return;
    }
    for (unsigned i = 0; i < sa->n_child; i++) {
        const struct ns_ike_child *c = &sa->child[i];
        if (c->cstate != NS_CHILD_INSTALLED || now < c->rekey_at)
            continue;
        if (ns_eng_create_child_rekey_child(e, sa, i) != 0)
            ns_eng_life_retry_later(e, sa);
        return;
    }
}

void ns_eng_life_run(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->state == NS_IKE_ST_REDUNDANT) {
        if (sa->out.kind == NS_REQ_NONE && e->now >= sa->rekey_at) {
            /* The peer's redundant IKE SA of a simultaneous re-key, never
             * deleted by the peer: its answer was lost and the peer never
             * made its half (it followed our DELETE of the old one). Nothing
             * to tell it. */
            NS_INFO("ike: IKE SA %016llx: redundant, the peer never deleted it; closing it",
                    (unsigned long long)sa->id);
            ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL);
        }
        return;
    }
    if (sa->state == NS_IKE_ST_REKEYED) {
        if (sa->out.kind == NS_REQ_NONE && e->now >= sa->rekey_at) {
            NS_INFO("ike: IKE SA %016llx: the peer did not delete the IKE SA it re-keyed; "
                    "deleting it",
                    (unsigned long long)sa->id);
            ns_eng_delete_ike(e, sa, NS_IKE_DOWN_LOCAL);
        }
        return;
    }
    if (sa->state != NS_IKE_ST_ESTABLISHED)
        return;
    if (!run_local(e, sa))
        return;
    if (sa->out.kind == NS_REQ_NONE && !sa->out.then_delete)
        start_next(e, sa);
    ns_eng_sched(e, sa);
}

/* ---- natsecctl rekey ---- */

static unsigned rekey_one(struct ns_ike_engine *e, struct ns_ikesa *sa, bool ike)
{
    if (sa->state != NS_IKE_ST_ESTABLISHED)
        return 0;
    unsigned n = 0;
    if (ike) {
        sa->rekey_at = e->now;
        n = 1;
    } else {
        for (unsigned i = 0; i < sa->n_child; i++) {
            if (sa->child[i].cstate == NS_CHILD_INSTALLED) {
                sa->child[i].rekey_at = e->now;
                n++;
            }
        }
    }
    sa->retry_at = 0;
    ns_eng_log_sa(sa);
    ns_eng_life_run(e, sa);
    ns_eng_log_done();
    ns_eng_sched(e, sa);
    return n;
}

unsigned ns_ike_engine_rekey(struct ns_ike_engine *e, uint64_t ike_sa_id, bool ike, uint64_t now_ms)
{
    e->now = now_ms;
    unsigned n = 0;
    if (ike_sa_id) {
        struct ns_ikesa *sa = ns_eng_find_ike_sa_id(e, ike_sa_id);
        if (sa)
            n = rekey_one(e, sa, ike);
        ns_eng_report_wakeup(e);
        return n;
    }
    /* A re-key adds SAs to the table: walk a copy. */
    size_t cap = e->by_ike_sa_id.n, k = 0;
    struct ns_ikesa **list = cap ? malloc(cap * sizeof(*list)) : NULL;
    for (size_t b = 0; list && b < e->by_ike_sa_id.nb; b++)
        for (struct ns_hnode *h = e->by_ike_sa_id.b[b]; h && k < cap; h = h->next)
            list[k++] = NS_CONTAINER_OF(h, struct ns_ikesa, by_ike_sa_id);
    for (size_t i = 0; i < k; i++)
        n += rekey_one(e, list[i], ike);
    free(list);
    ns_eng_report_wakeup(e);
    return n;
}
