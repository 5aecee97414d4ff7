/* Timers on a binary min-heap with index back-pointers: arm, re-arm and
 * cancel are O(log n), the next deadline is O(1), with no allocation per
 * timer (the caller embeds struct ns_timer in its own object). A gateway
 * holds several timers per peer (retransmit, DPD, re-key, keepalive) for
 * thousands of peers, and most of them are cancelled or moved before they
 * fire, so cancel must not be a search.
 *
 * Times are monotonic milliseconds (util/time.h). Timers with equal
 * deadlines fire in the order they were armed. */
#ifndef NATSEC_NET_TIMER_H
#define NATSEC_NET_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ns_timer;
typedef void (*ns_timer_fn)(struct ns_timer *t, void *arg);

struct ns_timer {
    uint64_t deadline_ms;
    uint64_t seq; /* arming order, breaks ties between equal deadlines */
    size_t slot;  /* heap position + 1; 0 = not armed (so zeroed = idle) */
    ns_timer_fn fn;
    void *arg;
};

struct ns_timer_heap {
    struct ns_timer **v;
    size_t n, cap;
    uint64_t next_seq;
};

#define NS_TIMER_NEVER UINT64_MAX

void ns_timer_init(struct ns_timer *t, ns_timer_fn fn, void *arg);
bool ns_timer_armed(const struct ns_timer *t);

void ns_timer_heap_init(struct ns_timer_heap *h);
/* Disarms every timer still armed and frees the heap's array. */
void ns_timer_heap_fini(struct ns_timer_heap *h);
/* Arms t to fire at deadline_ms, or moves it there if already armed.
 * Returns 0, or -1 when the heap cannot grow (t is then unchanged). */
int ns_timer_heap_arm(struct ns_timer_heap *h, struct ns_timer *t, uint64_t deadline_ms);
/* Disarms t; harmless when it is not armed. */
void ns_timer_heap_cancel(struct ns_timer_heap *h, struct ns_timer *t);
/* The earliest deadline, or NS_TIMER_NEVER. */
uint64_t ns_timer_heap_next(const struct ns_timer_heap *h);
size_t ns_timer_heap_count(const struct ns_timer_heap *h);
/* Fires, in deadline order, every timer due at now_ms; each is disarmed
 * before its callback, which may re-arm it or arm and cancel any other.
 * Timers armed by callbacks fire at the next call at the earliest, so a
 * callback re-arming with delay 0 cannot spin. Returns how many fired. */
unsigned ns_timer_heap_expire(struct ns_timer_heap *h, uint64_t now_ms);

#endif
