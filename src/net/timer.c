#include "net/timer.h"

#include <stdlib.h>

void ns_timer_init(struct ns_timer *t, ns_timer_fn fn, void *arg)
{
    t->deadline_ms = 0;
    t->seq = 0;
    t->slot = 0;
    t->fn = fn;
    t->arg = arg;
}

bool ns_timer_armed(const struct ns_timer *t)
{
    return t->slot != 0;
}

void ns_timer_heap_init(struct ns_timer_heap *h)
{
    h->v = NULL;
    h->n = 0;
    h->cap = 0;
    h->next_seq = 1;
}

void ns_timer_heap_fini(struct ns_timer_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->v[i]->slot = 0;
    free(h->v);
    ns_timer_heap_init(h);
}

static bool before(const struct ns_timer *a, const struct ns_timer *b)
{
    return a->deadline_ms < b->deadline_ms || (a->deadline_ms == b->deadline_ms && a->seq < b->seq);
}

static void place(struct ns_timer_heap *h, size_t i, struct ns_timer *t)
{
    h->v[i] = t;
    t->slot = i + 1;
}

static void sift_up(struct ns_timer_heap *h, size_t i)
{
    struct ns_timer *t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(t, h->v[parent]))
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct ns_timer_heap *h, size_t i)
{
    struct ns_timer *t = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && before(h->v[child + 1], h->v[child]))
            child++;
        if (!before(h->v[child], t))
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, t);
}

/* Restores the heap after the entry at i changed or was replaced. */
static void fix(struct ns_timer_heap *h, size_t i)
{
    if (i > 0 && before(h->v[i], h->v[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

int ns_timer_heap_arm(struct ns_timer_heap *h, struct ns_timer *t, uint64_t deadline_ms)
{
    if (t->slot) {
        t->deadline_ms = deadline_ms;
        t->seq = h->next_seq++;
        fix(h, t->slot - 1);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct ns_timer **v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    t->deadline_ms = deadline_ms;
    t->seq = h->next_seq++;
    place(h, h->n++, t);
    sift_up(h, h->n - 1);
    return 0;
}

void ns_timer_heap_cancel(struct ns_timer_heap *h, struct ns_timer *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    t->slot = 0;
    struct ns_timer *last = h->v[--h->n];
    if (i == h->n)
        return;
    place(h, i, last);
    fix(h, i);
}

uint64_t ns_timer_heap_next(const struct ns_timer_heap *h)
{
    return h->n ? h->v[0]->deadline_ms : NS_TIMER_NEVER;
}

size_t ns_timer_heap_count(const struct ns_timer_heap *h)
{
    return h->n;
}

unsigned ns_timer_heap_expire(struct ns_timer_heap *h, uint64_t now_ms)
{
    /* Timers armed from here on have seq >= limit and wait for the next
     * call. Meeting one at the top ends this pass: a due timer ordered
     * after it (only possible if a callback armed one in the past) is
     * merely left for the next call, which the loop makes at once. */
    const uint64_t limit = h->next_seq;
    unsigned fired = 0;
    while (h->n > 0) {
        struct ns_timer *t = h->v[0];
        if (t->deadline_ms > now_ms || t->seq >= limit)
            break;
        ns_timer_heap_cancel(h, t);
        fired++;
        if (t->fn)
            t->fn(t, t->arg);
    }
    return fired;
}
