#include "heap_snapshot.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../support/alloc_wrap.h"

/* Whether p is a live block of the process's heap (not only of the
 * wrappers'): ASan knows; without it every pointer counts as one, and no
 * window is copied. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
#include <sanitizer/allocator_interface.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define heap_block(p) (__sanitizer_get_ownership(p) != 0)
#else
#define heap_block(p) true
#define __asan_poison_memory_region(p, n) ((void)(p), (void)(n))
#define __asan_unpoison_memory_region(p, n) ((void)(p), (void)(n))
#define __lsan_ignore_object(p) ((void)(p))
#endif

/* ---- the live blocks ----
 *
 * An open-addressing table of every live block allocated through the
 * wrappers by the owning thread (the first to allocate: the one that runs
 * the fuzzer's inputs). Addresses are kept complemented here and in the
 * snapshots, so LeakSanitizer, which scans the heap for pointers, never
 * takes this bookkeeping for a reference and still reports real leaks. */

#define EMPTY 0u
#define TOMB 1u

/* A kept block (see hs_restore) is held by its snapshot: a free() of it
 * by the program only marks it free. */
enum { ORDINARY, KEPT_LIVE, KEPT_FREE };

struct live {
    uintptr_t key; /* ~address, or EMPTY, TOMB */
    size_t size;
    bool window;
    uint8_t kept; /* ORDINARY, KEPT_LIVE, KEPT_FREE */
};

static struct live *tab;
static size_t tab_cap, tab_used, tab_tombs;
static pthread_t owner;
static bool have_owner, window_open;

static bool mine(void)
{
    if (!have_owner) {
        owner = pthread_self();
        have_owner = true;
    }
    return pthread_equal(owner, pthread_self());
}

static size_t slot_of(uintptr_t key, size_t cap)
{
    return (size_t)((key >> 4) * 0x9e3779b97f4a7c15ull >> 17) & (cap - 1);
}

static bool grow(void)
{
    size_t cap = tab_cap ? tab_cap : 1024;
    if (tab_used * 4 >= cap)
        cap *= 2;
    struct live *t = __real_calloc(cap, sizeof(*t));
    if (!t)
        return false;
    for (size_t i = 0; i < tab_cap; i++) {
        if (tab[i].key <= TOMB)
            continue;
        size_t s = slot_of(tab[i].key, cap);
        while (t[s].key != EMPTY)
            s = (s + 1) & (cap - 1);
        t[s] = tab[i];
    }
    __real_free(tab);
    tab = t;
    tab_cap = cap;
    tab_tombs = 0;
    return true;
}

static struct live *find(const void *p)
{
    uintptr_t key = ~(uintptr_t)p;
    if (!tab_cap)
        return NULL;
    for (size_t s = slot_of(key, tab_cap);; s = (s + 1) & (tab_cap - 1)) {
        if (tab[s].key == key)
            return &tab[s];
        if (tab[s].key == EMPTY)
            return NULL;
    }
}

static void track(void *p, size_t size)
{
    if (!p || !mine())
        return;
    if ((tab_used + tab_tombs + 1) * 2 > tab_cap && !grow())
        abort(); /* a block the snapshots would not know of */
    uintptr_t key = ~(uintptr_t)p;
    size_t s = slot_of(key, tab_cap);
    while (tab[s].key > TOMB)
        s = (s + 1) & (tab_cap - 1);
    if (tab[s].key == TOMB)
        tab_tombs--;
    tab[s] = (struct live){.key = key, .size = size, .window = window_open, .kept = ORDINARY};
    tab_used++;
}

/* A free() of a kept block: it stays allocated for the next restore, and
 * until then reads as free memory does. Its bytes are zeroed first, so no
 * stale pointer in it keeps a leaked block reachable for LeakSanitizer
 * (kept blocks are its roots); then poisoned, so a use after this free is
 * reported (use-after-poison) as a use after a real one would be. */
static void kept_free(struct live *l, void *p)
{
    if (l->kept == KEPT_FREE) {
        fprintf(stderr, "heap_snapshot: double free of %p (a block of a snapshot)\n", p);
        abort();
    }
    memset(p, 0, l->size);
    __asan_poison_memory_region(p, l->size);
    l->kept = KEPT_FREE;
}

/* Forgets p; false when p is a kept block, now marked free (the caller
 * must not free it). */
static bool untrack(void *p)
{
    if (!p || !mine())
        return true;
    struct live *l = find(p);
    if (l && l->kept != ORDINARY) {
        kept_free(l, p);
        return false;
    }
    if (l) {
        l->key = TOMB;
        tab_used--;
        tab_tombs++;
    }
    return true;
}

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    track(p, n);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p = __real_calloc(n, size);
    track(p, n * size); /* no overflow: calloc refused it */
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    struct live *l = p && mine() ? find(p) : NULL;
    if (l && l->kept != ORDINARY) {
        /* A kept block never moves: the new one is an ordinary block. */
        if (l->kept == KEPT_FREE) {
            fprintf(stderr, "heap_snapshot: realloc of freed %p (a block of a snapshot)\n", p);
            abort();
        }
        size_t old = l->size;
        void *q = __wrap_malloc(n ? n : 1); /* may move the table: l again below */
        if (!q)
            return NULL;
        memcpy(q, p, n < old ? n : old);
        kept_free(find(p), p);
        return q;
    }
    void *q = __real_realloc(p, n);
    if (q || n == 0)
        (void)untrack(p);
    track(q, n);
    return q;
}

void __wrap_free(void *p)
{
    if (untrack(p))
        __real_free(p);
}

/* ---- snapshots ---- */

struct block {
    uintptr_t old; /* ~address at the snapshot */
    size_t size;
    uint8_t *data; /* contents, pointer slots zero */
    uintptr_t now; /* ~address of the copy (kept: the same for every restore) */
};

struct reloc {
    size_t blk, off;     /* the pointer's slot */
    size_t target, toff; /* where it points */
};

struct hs_snapshot {
    struct block *b; /* by old address */
    size_t n;
    struct reloc *r;
    size_t n_r;
    bool kept; /* the copies are allocated (hs_restore) */
};

void hs_window_open(void)
{
    (void)mine();
    window_open = true;
}

static int by_old(const void *a, const void *b)
{
    uintptr_t x = ~((const struct block *)a)->old, y = ~((const struct block *)b)->old;
    return x < y ? -1 : x > y;
}

/* The block of the window that old points into (one past the end
 * included), or -1. */
static long block_of(const struct hs_snapshot *s, uintptr_t old)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (~s->b[mid].old <= old)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const struct block *b = &s->b[lo - 1];
    return old - ~b->old <= b->size ? (long)(lo - 1) : -1;
}

static bool is_opaque(const void *p, void *const *opaque, size_t n_opaque)
{
    for (size_t i = 0; i < n_opaque; i++)
        if (opaque[i] == p)
            return true;
    return false;
}

/* The live-table entry of kept block i of s. */
static struct live *kept_entry(const struct hs_snapshot *s, size_t i)
{
    return find((const void *)~s->b[i].now);
}

void hs_free(struct hs_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->kept && i < s->n; i++) {
        struct live *l = kept_entry(s, i);
        void *p = (void *)~s->b[i].now;
        if (l->kept == KEPT_FREE)
            __asan_unpoison_memory_region(p, l->size);
        l->kept = ORDINARY;
        (void)untrack(p);
        __real_free(p);
    }
    for (size_t i = 0; i < s->n; i++)
        __real_free(s->b[i].data);
    __real_free(s->b);
    __real_free(s->r);
    __real_free(s);
}

static bool add_reloc(struct hs_snapshot *s, size_t *cap, struct reloc r)
{
    if (s->n_r == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        struct reloc *n = __real_realloc(s->r, c * sizeof(*n));
        if (!n)
            return false;
        s->r = n;
        *cap = c;
    }
    s->r[s->n_r++] = r;
    return true;
}

/* Finds the pointers of block i: to the window (kept as relocations, the
 * slot zeroed), to memory outside any heap block or to a tracked block
 * that outlives the window (left as they are). False for a pointer to a
 * live heap block the wrappers never saw (a library's). */
static bool scan(struct hs_snapshot *s, size_t i, size_t *cap)
{
    struct block *b = &s->b[i];
    for (size_t off = 0; off + sizeof(uintptr_t) <= b->size; off += sizeof(uintptr_t)) {
        uintptr_t v;
        memcpy(&v, b->data + off, sizeof(v));
        long t = block_of(s, v);
        if (t >= 0) {
            if (!add_reloc(s, cap, (struct reloc){i, off, (size_t)t, v - ~s->b[t].old}))
                return false;
            memset(b->data + off, 0, sizeof(v));
        } else if (v && heap_block((const void *)v) && !find((const void *)v)) {
            return false;
        }
    }
    return true;
}

struct hs_snapshot *hs_take(void *const *opaque, size_t n_opaque)
{
    window_open = false;
    struct hs_snapshot *s = __real_calloc(1, sizeof(*s));
    size_t n = 0;
    for (size_t i = 0; i < tab_cap; i++)
        n += tab[i].key > TOMB && tab[i].window;
    if (!s || !(s->b = __real_calloc(n ? n : 1, sizeof(*s->b)))) {
        hs_free(s);
        return NULL;
    }
    bool ok = true;
    for (size_t i = 0; i < tab_cap; i++) {
        if (tab[i].key <= TOMB || !tab[i].window)
            continue;
        tab[i].window = false; /* an ordinary block of the world from now on */
        struct block *b = &s->b[s->n++];
        b->old = tab[i].key;
        b->size = tab[i].size;
        b->data = __real_malloc(b->size ? b->size : 1);
        if (!b->data)
            ok = false;
        else if (is_opaque((void *)~b->old, opaque, n_opaque))
            memset(b->data, 0, b->size); /* replaced after a restore */
        else
            memcpy(b->data, (const void *)~b->old, b->size);
    }
    qsort(s->b, s->n, sizeof(*s->b), by_old);
    size_t cap = 0;
    for (size_t i = 0; ok && i < s->n; i++)
        if (!is_opaque((void *)~s->b[i].old, opaque, n_opaque))
            ok = scan(s, i, &cap);
    if (!ok) {
        hs_free(s);
        return NULL;
    }
    return s;
}

/* The copies, allocated once per snapshot and kept: every restore
 * rewrites the same blocks, which stay in the cache, instead of taking
 * fresh ones from the allocator (whose quarantine hands out cold memory,
 * page faults included). The program frees them as any other block
 * (kept_free); LeakSanitizer ignores them, and hs_live reports one the
 * program did not free. */
static int keep(struct hs_snapshot *s)
{
    for (size_t i = 0; i < s->n; i++) {
        void *p = __wrap_malloc(s->b[i].size ? s->b[i].size : 1);
        if (!p) {
            while (i--) {
                struct live *l = kept_entry(s, i);
                l->kept = ORDINARY;
                __wrap_free((void *)~s->b[i].now);
            }
            return -1;
        }
        __lsan_ignore_object(p);
        s->b[i].now = ~(uintptr_t)p;
        struct live *l = find(p);
        l->kept = KEPT_FREE;
    }
    s->kept = true;
    return 0;
}

int hs_restore(struct hs_snapshot *s)
{
    if (!s->kept && keep(s) != 0)
        return -1;
    if (hs_live(s) != 0) {
        fprintf(stderr, "heap_snapshot: a block of the last restore was never freed (leak)\n");
        abort();
    }
    for (size_t i = 0; i < s->n; i++) {
        void *p = (void *)~s->b[i].now;
        __asan_unpoison_memory_region(p, s->b[i].size);
        memcpy(p, s->b[i].data, s->b[i].size);
        kept_entry(s, i)->kept = KEPT_LIVE;
    }
    for (size_t k = 0; k < s->n_r; k++) {
        const struct reloc *r = &s->r[k];
        uint8_t *slot = (uint8_t *)~s->b[r->blk].now + r->off;
        uintptr_t v = ~s->b[r->target].now + r->toff;
        memcpy(slot, &v, sizeof(v));
    }
    return 0;
}

size_t hs_live(const struct hs_snapshot *s)
{
    size_t n = 0;
    for (size_t i = 0; s->kept && i < s->n; i++)
        n += kept_entry(s, i)->kept == KEPT_LIVE;
    return n;
}

void *hs_moved(const struct hs_snapshot *s, const void *old)
{
    long t = block_of(s, (uintptr_t)old);
    if (t < 0)
        return (void *)old;
    return (void *)(~s->b[t].now + ((uintptr_t)old - ~s->b[t].old));
}
