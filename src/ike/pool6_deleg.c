/* Delegated prefixes from pool6: see pool6_deleg.h. Addresses are 128-bit
 * numbers (two 64-bit halves); entries are kept sorted by first address and
 * never overlap one another, live or tombstone. */
#include "ike/pool6_deleg.h"

#include <stdlib.h>
#include <string.h>

struct u128 {
    uint64_t h, l;
};

struct entry {
    struct u128 lo, hi;
    uint64_t owner;
    uint64_t seq; /* release order, for evicting the oldest tombstone */
    uint8_t len;
    bool live;
};

struct ns_pool6_deleg {
    struct u128 lo, hi; /* the region */
    unsigned pool_len;
    struct entry *e;
    unsigned n, cap;
    uint32_t live;
    uint64_t seq;
};

static struct u128 from_addr(const struct ns_addr *a)
{
    struct u128 v = {0, 0};
    for (int i = 0; i < 8; i++) {
        v.h = v.h << 8 | a->a[i];
        v.l = v.l << 8 | a->a[8 + i];
    }
    return v;
}

static void to_addr(struct u128 v, struct ns_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->family = AF_INET6;
    for (int i = 7; i >= 0; i--) {
        a->a[i] = (uint8_t)v.h;
        a->a[8 + i] = (uint8_t)v.l;
        v.h >>= 8;
        v.l >>= 8;
    }
}

static int cmp(struct u128 x, struct u128 y)
{
    if (x.h != y.h)
        return x.h < y.h ? -1 : 1;
    return x.l < y.l ? -1 : x.l > y.l;
}

/* 2^bits - 1, bits in [0, 128]. */
static struct u128 low_mask(unsigned bits)
{
    struct u128 m = {0, 0};
    if (bits >= 64) {
        m.l = ~(uint64_t)0;
        m.h = bits >= 128 ? ~(uint64_t)0 : (((uint64_t)1 << (bits - 64)) - 1);
    } else {
        m.l = bits ? (((uint64_t)1 << bits) - 1) : 0;
    }
    return m;
}

static struct u128 u_or(struct u128 x, struct u128 y)
{
    return (struct u128){x.h | y.h, x.l | y.l};
}

static struct u128 and_not(struct u128 x, struct u128 y)
{
    return (struct u128){x.h & ~y.h, x.l & ~y.l};
}

/* x + 1; *wrapped when x was the last address. */
static struct u128 inc(struct u128 x, bool *wrapped)
{
    struct u128 r = {x.h + (x.l == ~(uint64_t)0), x.l + 1};
    *wrapped = r.h == 0 && r.l == 0;
    return r;
}

struct ns_pool6_deleg *ns_pool6_deleg_new(const struct ns_addr *prefix, unsigned prefix_len)
{
    if (!prefix || prefix->family != AF_INET6 || prefix_len > NS_POOL6_DELEG_MAX_POOL)
        return NULL;
    struct ns_pool6_deleg *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    struct u128 half = low_mask(127 - prefix_len);
    d->lo = u_or(and_not(from_addr(prefix), low_mask(128 - prefix_len)), inc(half, &(bool){0}));
    d->hi = u_or(d->lo, half);
    d->pool_len = prefix_len;
    return d;
}

void ns_pool6_deleg_free(struct ns_pool6_deleg *d)
{
    if (!d)
        return;
    free(d->e);
    free(d);
}

unsigned ns_pool6_deleg_len(const struct ns_pool6_deleg *d, unsigned asked)
{
    unsigned shortest = d->pool_len + NS_POOL6_DELEG_MIN_EXTRA;
    return asked < shortest ? shortest : asked > 127 ? 127 : asked;
}

/* The first block of len bits' size that no entry overlaps, into *out;
 * false when the region has none. */
static bool find_gap(const struct ns_pool6_deleg *d, unsigned len, struct u128 *out)
{
    struct u128 mask = low_mask(128 - len), c = d->lo;
    bool wrapped = false;
    for (unsigned i = 0; i < d->n; i++) {
        const struct entry *e = &d->e[i];
        if (cmp(e->hi, c) < 0)
            continue;
        if (cmp(u_or(c, mask), e->lo) < 0)
            break;
        c = inc(u_or(e->hi, mask), &wrapped); /* the next aligned block after e */
        if (wrapped)
            return false;
    }
    if (cmp(u_or(c, mask), d->hi) > 0)
        return false;
    *out = c;
    return true;
}

static void remove_at(struct ns_pool6_deleg *d, unsigned i)
{
    memmove(&d->e[i], &d->e[i + 1], (d->n - i - 1) * sizeof(d->e[0]));
    d->n--;
}

/* The first entry whose last address is lo or after (entries are sorted
 * and disjoint, so their last addresses are sorted too). */
static unsigned first_ending_at_or_after(const struct ns_pool6_deleg *d, struct u128 lo)
{
    unsigned a = 0, b = d->n;
    while (a < b) {
        unsigned m = a + (b - a) / 2;
        if (cmp(d->e[m].hi, lo) < 0)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

static bool free_of_live(const struct ns_pool6_deleg *d, struct u128 lo, struct u128 hi)
{
    for (unsigned i = first_ending_at_or_after(d, lo); i < d->n && cmp(d->e[i].lo, hi) <= 0; i++)
        if (d->e[i].live)
            return false;
    return true;
}

/* With no untouched space left: the block of len bits' size around the
 * oldest tombstone that no live prefix overlaps (every block free of live
 * ones overlaps a tombstone then, and holds it or lies in it). */
static bool oldest_reusable(const struct ns_pool6_deleg *d, unsigned len, struct u128 *out)
{
    struct u128 mask = low_mask(128 - len);
    const struct entry *best = NULL;
    for (unsigned i = 0; i < d->n; i++) {
        const struct entry *e = &d->e[i];
        struct u128 c = and_not(e->lo, mask);
        if (e->live || (best && best->seq < e->seq) || !free_of_live(d, c, u_or(c, mask)))
            continue;
        best = e;
        *out = c;
    }
    return best != NULL;
}

/* Drops the tombstones overlapping [lo, hi]. */
static void evict_overlapping(struct ns_pool6_deleg *d, struct u128 lo, struct u128 hi)
{
    for (unsigned i = 0; i < d->n;) {
        const struct entry *e = &d->e[i];
        if (!e->live && cmp(e->lo, hi) <= 0 && cmp(lo, e->hi) <= 0)
            remove_at(d, i);
        else
            i++;
    }
}

/* Room for one more entry: grows the array, or at the cap drops the
 * oldest tombstone. */
static bool make_room(struct ns_pool6_deleg *d)
{
    if (d->n < d->cap)
        return true;
    if (d->cap < NS_POOL6_DELEG_MAX) {
        unsigned cap = d->cap ? d->cap * 2 : 16;
        struct entry *ne = realloc(d->e, cap * sizeof(*ne));
        if (!ne)
            return false;
        d->e = ne;
        d->cap = cap;
        return true;
    }
    unsigned oldest = d->n;
    for (unsigned i = 0; i < d->n; i++)
        if (!d->e[i].live && (oldest == d->n || d->e[i].seq < d->e[oldest].seq))
            oldest = i;
    if (oldest == d->n)
        return false;
    remove_at(d, oldest);
    return true;
}

/* The entry whose first address is lo, or -1 (binary search). */
static int find(const struct ns_pool6_deleg *d, struct u128 lo)
{
    unsigned a = 0, b = d->n;
    while (a < b) {
        unsigned m = a + (b - a) / 2;
        int c = cmp(d->e[m].lo, lo);
        if (c == 0)
            return (int)m;
        if (c < 0)
            a = m + 1;
        else
            b = m;
    }
    return -1;
}

static void insert(struct ns_pool6_deleg *d, struct u128 lo, unsigned len, uint64_t owner)
{
    unsigned i = 0;
    while (i < d->n && cmp(d->e[i].lo, lo) < 0)
        i++;
    memmove(&d->e[i + 1], &d->e[i], (d->n - i) * sizeof(d->e[0]));
    d->e[i] = (struct entry){.lo = lo,
                             .hi = u_or(lo, low_mask(128 - len)),
                             .owner = owner,
                             .len = (uint8_t)len,
                             .live = true};
    d->n++;
}

int ns_pool6_deleg_alloc(struct ns_pool6_deleg *d, unsigned len, const struct ns_addr *prefer,
                         uint64_t owner, struct ns_addr *out)
{
    if (len != ns_pool6_deleg_len(d, len))
        return -1;
    if (prefer && prefer->family == AF_INET6 && owner) {
        int i = find(d, from_addr(prefer));
        if (i >= 0 && !d->e[i].live && d->e[i].len == len && d->e[i].owner == owner) {
            d->e[i].live = true;
            d->live++;
            to_addr(d->e[i].lo, out);
            return 0;
        }
    }
    struct u128 c = {0, 0};
    if (find_gap(d, len, &c)) {
        if (!make_room(d))
            return -1;
        /* make_room may drop a tombstone but never a live entry: the gap stays free */
    } else if (oldest_reusable(d, len, &c)) {
        evict_overlapping(d, c, u_or(c, low_mask(128 - len)));
        if (!make_room(d))
            return -1;
    } else {
        return -1;
    }
    insert(d, c, len, owner);
    d->live++;
    to_addr(c, out);
    return 0;
}

int ns_pool6_deleg_release(struct ns_pool6_deleg *d, const struct ns_addr *base)
{
    if (!base || base->family != AF_INET6)
        return -1;
    int i = find(d, from_addr(base));
    if (i < 0 || !d->e[i].live)
        return -1;
    d->e[i].live = false;
    d->e[i].seq = ++d->seq;
    d->live--;
    return 0;
}

bool ns_pool6_deleg_covers(const struct ns_pool6_deleg *d, const struct ns_addr *a)
{
    if (!a || a->family != AF_INET6)
        return false;
    struct u128 v = from_addr(a);
    for (unsigned i = 0; i < d->n; i++)
        if (d->e[i].live && cmp(d->e[i].lo, v) <= 0 && cmp(v, d->e[i].hi) <= 0)
            return true;
    return false;
}

uint32_t ns_pool6_deleg_in_use(const struct ns_pool6_deleg *d)
{
    return d->live;
}
