#include "esp/replay.h"

#include <string.h>

#include "util/spin.h"

void ns_replay_init(struct ns_replay *r)
{
    memset(r, 0, sizeof(*r));
}

/* The window's words and top are read without the lock and written under
 * it (replay.h: threads). */
static inline uint64_t load(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void store(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

uint64_t ns_replay_infer(const struct ns_replay *r, uint32_t seq_lo, bool esn)
{
    if (!esn)
        return seq_lo;
    /* RFC 4303 A2.1, with W the window size, Tl/Th the halves of top. */
    const uint32_t w = NS_REPLAY_WINDOW;
    uint64_t top = load(&r->top);
    uint32_t tl = (uint32_t)top;
    uint32_t th = (uint32_t)(top >> 32);
    uint32_t bottom = tl - w + 1; /* modulo 2^32 on purpose */
    uint64_t seqh;
    if (tl >= w - 1) {
        /* Case A: the window lies within one 2^32 subspace. A number below
         * its bottom can only be from the next subspace. */
        seqh = seq_lo >= bottom ? th : (uint64_t)th + 1;
    } else {
        /* Case B: the window straddles two subspaces; numbers above its
         * wrapped bottom are from the previous one. */
        if (seq_lo >= bottom) {
            if (th == 0)
                return 0; /* before the first packet ever */
            seqh = th - 1;
        } else {
            seqh = th;
        }
    }
    if (seqh > UINT32_MAX)
        return 0; /* the 64-bit space is exhausted; the sender must rekey */
    return (seqh << 32) | seq_lo;
}

static inline uint64_t word_index(uint64_t seq)
{
    return (seq >> 6) % NS_REPLAY_WORDS;
}

bool ns_replay_check(const struct ns_replay *r, uint64_t seq)
{
    if (seq == 0)
        return false;
    uint64_t top = load(&r->top);
    if (seq > top)
        return true;
    if (top - seq >= NS_REPLAY_WINDOW)
        return false;
    return !(load(&r->bits[word_index(seq)]) & (UINT64_C(1) << (seq & 63)));
}

enum ns_replay_verdict ns_replay_update(struct ns_replay *r, uint64_t seq, bool shared)
{
    if (shared)
        ns_spin_lock(&r->lock);
    enum ns_replay_verdict v = NS_REPLAY_SEEN;
    if (ns_replay_check(r, seq)) {
        v = NS_REPLAY_INSIDE;
        if (seq > r->top) {
            /* Clear the words the window slides over; never more than the ring. */
            uint64_t cur = r->top >> 6, next = seq >> 6;
            uint64_t diff = next - cur;
            if (diff > NS_REPLAY_WORDS)
                diff = NS_REPLAY_WORDS;
            for (uint64_t i = 1; i <= diff; i++)
                store(&r->bits[(cur + i) % NS_REPLAY_WORDS], 0);
            store(&r->top, seq);
            v = NS_REPLAY_NEWEST;
        }
        uint64_t *w = &r->bits[word_index(seq)];
        store(w, load(w) | UINT64_C(1) << (seq & 63));
    }
    if (shared)
        ns_spin_unlock(&r->lock);
    return v;
}
