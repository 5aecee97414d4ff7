/* The engine's timers: one deadline per SA (the earliest of its
 * retransmission, half-open expiry, liveness check and linger), kept in a
 * binary min-heap, so a change costs O(log n) and finding what is due O(1)
 * with thousands of SAs. The daemon learns the earliest deadline through
 * ops->set_wakeup and calls ns_ike_engine_tick then.
 *
 * Liveness does not touch the heap on every packet: the deadline is armed
 * at last_rx + dpd, and when it fires with newer activity it is simply
 * re-armed further out. */
#include <stdlib.h>

#include "ike/engine_frag.h"
#include "ike/ike_sa.h"

static bool less(const struct ns_ikesa *a, const struct ns_ikesa *b)
{
    return a->due < b->due;
}

static void heap_set(struct ns_ike_engine *e, size_t i, struct ns_ikesa *sa)
{
    e->heap[i] = sa;
    sa->heap_pos = i;
}

static void sift_up(struct ns_ike_engine *e, size_t i)
{
    struct ns_ikesa *sa = e->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(sa, e->heap[parent]))
            break;
        heap_set(e, i, e->heap[parent]);
        i = parent;
    }
    heap_set(e, i, sa);
}

static void sift_down(struct ns_ike_engine *e, size_t i)
{
    struct ns_ikesa *sa = e->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct ns_ikesa *best = sa;
        if (l < e->heap_n && less(e->heap[l], best)) {
            m = l;
            best = e->heap[l];
        }
        if (r < e->heap_n && less(e->heap[r], best))
            m = r;
        if (m == i)
            break;
        heap_set(e, i, e->heap[m]);
        i = m;
    }
    heap_set(e, i, sa);
}

static int heap_insert(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (e->heap_n == e->heap_cap) {
        size_t cap = e->heap_cap ? e->heap_cap * 2 : 64;
        struct ns_ikesa **h = realloc(e->heap, cap * sizeof(*h));
        if (!h)
            return -1;
        e->heap = h;
        e->heap_cap = cap;
    }
    heap_set(e, e->heap_n++, sa);
    sift_up(e, sa->heap_pos);
    return 0;
}

void ns_eng_heap_remove(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    size_t i = sa->heap_pos;
    if (i == SIZE_MAX)
        return;
    sa->heap_pos = SIZE_MAX;
    struct ns_ikesa *last = e->heap[--e->heap_n];
    if (i == e->heap_n)
        return;
    heap_set(e, i, last);
    sift_up(e, i);
    sift_down(e, last->heap_pos);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* A gateway's SA whose client has not authenticated yet, EAP rounds
 * included: it goes NS_IKE_HALF_OPEN_MS after its IKE_SA_INIT (R15). */
static bool gateway_half_open(const struct ns_ikesa *sa)
{
    return !sa->initiator && sa->state != NS_IKE_ST_NEW && ns_ike_state_half_open(sa->state);
}

static bool dpd_armed(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    return sa->state == NS_IKE_ST_ESTABLISHED && sa->out.kind == NS_REQ_NONE && e->conf->dpd_s;
}

/* The SA's next deadline from its state (NS_IKE_NEVER when none). */
static uint64_t sa_deadline(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    if (sa->state == NS_IKE_ST_DEAD)
        return sa->dead_until;
    uint64_t due = NS_IKE_NEVER;
    if (sa->out.kind != NS_REQ_NONE)
        due = sa->out.due;
    if (gateway_half_open(sa))
        due = min_u64(due, sa->created_ms + NS_IKE_HALF_OPEN_MS);
    if (dpd_armed(e, sa))
        due = min_u64(due, sa->last_rx_ms + (uint64_t)e->conf->dpd_s * 1000);
    due = min_u64(due, ns_eng_frag_due(sa));
    return min_u64(due, ns_eng_life_due(e, sa));
}

void ns_eng_sched(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint64_t due = sa_deadline(e, sa);
    if (due == NS_IKE_NEVER) {
        ns_eng_heap_remove(e, sa);
        sa->due = due;
        return;
    }
    if (sa->heap_pos == SIZE_MAX) {
        sa->due = due;
        if (heap_insert(e, sa) != 0)
            NS_ERR("ike: out of memory for the timer of IKE SA %016llx",
                   (unsigned long long)sa->id);
        return;
    }
    uint64_t old = sa->due;
    sa->due = due;
    if (due < old)
        sift_up(e, sa->heap_pos);
    else if (due > old)
        sift_down(e, sa->heap_pos);
}

uint64_t ns_ike_engine_next_wakeup(const struct ns_ike_engine *e)
{
    uint64_t w = e->heap_n ? e->heap[0]->due : NS_IKE_NEVER;
    /* A count of suppressed log lines is reported when its window ends,
     * also when the flood that caused it stopped. */
    for (unsigned k = 0; k < NS_ENG_RL_KINDS; k++) {
        uint64_t due = ns_ratelimit_due(&e->rl[k]);
        if (due < w)
            w = due;
    }
    return w;
}

void ns_eng_report_wakeup(struct ns_ike_engine *e)
{
    uint64_t w = ns_ike_engine_next_wakeup(e);
    if (w == e->reported_wakeup)
        return;
    e->reported_wakeup = w;
    if (e->ops.set_wakeup)
        e->ops.set_wakeup(e->ops.ctx, w);
}

/* One SA's deadline came: do whatever of its timers is due. Returns false
 * when the SA was freed. */
static bool sa_expire(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint64_t now = e->now;
    if (sa->state == NS_IKE_ST_DEAD) {
        ns_eng_sa_free(e, sa);
        return false;
    }
    if (gateway_half_open(sa) && now >= sa->created_ms + NS_IKE_HALF_OPEN_MS) {
        NS_DBG("ike: half-open IKE SA %016llx expired (%s)", (unsigned long long)sa->id,
               ns_ike_state_name(sa->state));
        if (sa->state == NS_IKE_ST_INIT_DONE)
            ns_eng_frag_no_auth(e, sa); /* say why a large IKE_AUTH may be lost */
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_TIMEOUT);
    } else if (sa->out.kind != NS_REQ_NONE && now >= sa->out.due) {
        ns_eng_request_timeout(e, sa);
    } else if (ns_eng_life_due(e, sa) <= now) {
        ns_eng_life_run(e, sa); /* lifetimes: re-keys, deletes, polls */
    } else if (dpd_armed(e, sa) && now >= sa->last_rx_ms + (uint64_t)e->conf->dpd_s * 1000) {
        ns_eng_dpd(e, sa);
    } else if (ns_eng_frag_due(sa) <= now) {
        ns_eng_frag_expire(e, sa); /* fragments that never made a whole message */
    } else {
        ns_eng_sched(e, sa); /* activity moved the deadline on */
    }
    return true;
}

void ns_ike_engine_tick(struct ns_ike_engine *e, uint64_t now_ms)
{
    e->now = now_ms;
    /* Each expiry either frees the SA or moves its deadline past now (or
     * kills it, which makes the deadline a linger in the future), so the
     * loop ends. */
    while (e->heap_n && e->heap[0]->due <= now_ms) {
        struct ns_ikesa *sa = e->heap[0];
        uint64_t before = sa->due;
        if (sa->state != NS_IKE_ST_DEAD) /* a DEAD one is freed, and logs nothing */
            ns_eng_log_sa(sa);
        bool alive = sa_expire(e, sa);
        ns_eng_log_done();
        if (alive && e->heap_n && e->heap[0] == sa && sa->due <= before) {
            /* Defensive: nothing moved it; push it a little so we cannot spin. */
            sa->due = now_ms + 1;
            sift_down(e, 0);
        }
    }
    for (unsigned k = 0; k < NS_ENG_RL_KINDS; k++)
        ns_ratelimit_flush(&e->rl[k], now_ms);
    ns_eng_report_wakeup(e);
}
