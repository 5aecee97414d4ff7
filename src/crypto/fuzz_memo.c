/* The fuzz targets' memo of costly OpenSSL operations (fuzz_memo.h). Only
 * in NATSEC_FUZZ builds; this file is empty otherwise. */
#include "crypto/fuzz_memo.h"

#ifdef NATSEC_FUZZ

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

/* Entries live in one array allocated when the memo is turned on; once
 * it is full, each new entry takes the place of the oldest, reusing its
 * buffers. So a warm memo allocates nothing of its own, and an input that
 * adds entries frees about what it allocates: libFuzzer reruns an input
 * that ends with more allocations than frees, to look for leaks. */
#define MAX_ENTRIES 4096
#define SLOTS (2 * MAX_ENTRIES) /* a power of two */
#define NO_ENTRY UINT32_MAX
#define MAX_SPARE 4 /* cipher context sets kept per key */
#define MAX_REFS 2  /* key pairs in one key */

struct spare {
    EVP_CIPHER_CTX *enc, *dec;
    EVP_MAC_CTX *mac;
};

struct entry {
    bool slotted; /* in slots[] (its key matches) */
    uint64_t hash;
    uint8_t *key;
    size_t key_len, key_cap;
    EVP_PKEY *refs[MAX_REFS]; /* named in the key by address: held */
    size_t n_refs;
    uint8_t rng_after[NS_FUZZ_RNG_MAX]; /* random operations: the stream after */
    size_t rng_len;
    int rc;
    uint8_t *out;
    size_t out_len, out_cap;
    EVP_PKEY *pkey;
    struct spare spare[MAX_SPARE];
    size_t n_spare;
};

static const struct ns_fuzz_rng *rng;
static pthread_t owner;
static struct entry *entries; /* MAX_ENTRIES, the first n_entries used */
static size_t n_entries, oldest;
static uint32_t slots[SLOTS]; /* open addressing, linear probing: entry indices */
static struct ns_fuzz_memo_stats stats;

/* The operation in progress. */
static struct {
    bool active;
    enum ns_memo_kind kind;
    uint8_t *key;
    size_t len, cap;
    bool oom;
    EVP_PKEY *refs[MAX_REFS];
    size_t n_refs;
    uint8_t rng_before[NS_FUZZ_RNG_MAX];
    size_t rng_len;
    uint64_t hash;
    size_t slot; /* where the key is, or the free slot it would take */
    struct entry *found;
} op;

NS_MEMO_BOOKKEEPING static bool is_random(enum ns_memo_kind kind)
{
    return kind == NS_MEMO_DH_NEW || kind == NS_MEMO_SIGN;
}

/* What e holds, let go of; its buffers stay for the next entry. */
NS_MEMO_BOOKKEEPING static void entry_clear(struct entry *e)
{
    for (size_t i = 0; i < e->n_refs; i++)
        EVP_PKEY_free(e->refs[i]);
    for (size_t i = 0; i < e->n_spare; i++) {
        EVP_CIPHER_CTX_free(e->spare[i].enc);
        EVP_CIPHER_CTX_free(e->spare[i].dec);
        EVP_MAC_CTX_free(e->spare[i].mac);
    }
    EVP_PKEY_free(e->pkey);
    if (e->out)
        OPENSSL_cleanse(e->out, e->out_cap);
    e->n_refs = e->n_spare = e->out_len = e->rng_len = 0;
    e->pkey = NULL;
}

NS_MEMO_BOOKKEEPING static void forget_all(void)
{
    for (size_t i = 0; entries && i < MAX_ENTRIES; i++) {
        entry_clear(&entries[i]);
        OPENSSL_free(entries[i].out);
        OPENSSL_free(entries[i].key);
    }
    OPENSSL_free(entries);
    entries = NULL;
    n_entries = oldest = 0;
    for (size_t i = 0; i < SLOTS; i++)
        slots[i] = NO_ENTRY;
}

/* Buffers every entry gets when the memo is turned on, so that a new
 * entry allocates nothing: keys and outputs longer than these (rare:
 * PRF data over whole messages) grow by a realloc, a free for each
 * allocation. */
#define KEY_CAP 512
#define OUT_CAP 256

NS_MEMO_BOOKKEEPING static bool preallocate(void)
{
    if (op.cap < KEY_CAP) {
        uint8_t *k = OPENSSL_realloc(op.key, KEY_CAP);
        if (!k)
            return false;
        op.key = k;
        op.cap = KEY_CAP;
    }
    for (size_t i = 0; i < MAX_ENTRIES; i++) {
        struct entry *e = &entries[i];
        if (!(e->key = OPENSSL_malloc(KEY_CAP)) || !(e->out = OPENSSL_zalloc(OUT_CAP)))
            return false;
        e->key_cap = KEY_CAP;
        e->out_cap = OUT_CAP;
    }
    return true;
}

NS_MEMO_BOOKKEEPING void ns_fuzz_memo_enable(const struct ns_fuzz_rng *r)
{
    forget_all();
    rng = NULL;
    if (!r || !(entries = OPENSSL_zalloc(MAX_ENTRIES * sizeof(*entries))))
        return;
    if (!preallocate()) {
        forget_all();
        return;
    }
    rng = r;
    owner = pthread_self();
}

NS_MEMO_BOOKKEEPING void ns_fuzz_memo_stats(struct ns_fuzz_memo_stats *out)
{
    *out = stats;
}

NS_MEMO_BOOKKEEPING bool ns_memo_begin(enum ns_memo_kind kind)
{
    if (!rng || op.active || !pthread_equal(owner, pthread_self()))
        return false;
    op.active = true;
    op.kind = kind;
    op.len = 0;
    op.oom = false;
    op.n_refs = 0;
    op.found = NULL;
    op.rng_len = rng->get(op.rng_before);
    ns_memo_add_u64(kind);
    if (is_random(kind))
        ns_memo_add(op.rng_before, op.rng_len);
    return true;
}

NS_MEMO_BOOKKEEPING void ns_memo_add(const void *p, size_t len)
{
    if (op.oom || len == 0)
        return;
    if (op.len + len > op.cap) {
        size_t cap = op.cap ? op.cap : 1024;
        while (cap < op.len + len)
            cap *= 2;
        uint8_t *k = OPENSSL_realloc(op.key, cap);
        if (!k) {
            op.oom = true;
            return;
        }
        op.key = k;
        op.cap = cap;
    }
    memcpy(op.key + op.len, p, len);
    op.len += len;
}

NS_MEMO_BOOKKEEPING void ns_memo_add_u64(uint64_t v)
{
    ns_memo_add(&v, sizeof(v));
}

NS_MEMO_BOOKKEEPING void ns_memo_add_pkey(EVP_PKEY *pkey)
{
    uintptr_t a = (uintptr_t)pkey;
    ns_memo_add(&a, sizeof(a));
    if (op.n_refs < MAX_REFS)
        op.refs[op.n_refs++] = pkey;
    else
        op.oom = true; /* a key the memo could not hold: not kept */
}

NS_MEMO_BOOKKEEPING static uint64_t hash_of(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

/* The entry of the key built so far, or NULL (op.slot: its free slot). */
NS_MEMO_BOOKKEEPING static struct entry *lookup(void)
{
    op.hash = hash_of(op.key, op.len);
    for (size_t s = op.hash & (SLOTS - 1);; s = (s + 1) & (SLOTS - 1)) {
        if (slots[s] == NO_ENTRY) {
            op.slot = s;
            return NULL;
        }
        struct entry *e = &entries[slots[s]];
        if (e->hash == op.hash && e->key_len == op.len && memcmp(e->key, op.key, op.len) == 0) {
            op.slot = s;
            return e;
        }
    }
}

/* Takes entry i out of the slots, moving back the entries that probed
 * past it (linear probing's deletion). */
NS_MEMO_BOOKKEEPING static void unslot(uint32_t i)
{
    if (!entries[i].slotted)
        return;
    entries[i].slotted = false;
    size_t s = entries[i].hash & (SLOTS - 1);
    while (slots[s] != i)
        s = (s + 1) & (SLOTS - 1);
    for (size_t j = s;;) {
        slots[s] = NO_ENTRY;
        for (;;) {
            j = (j + 1) & (SLOTS - 1);
            if (slots[j] == NO_ENTRY)
                return;
            size_t home = entries[slots[j]].hash & (SLOTS - 1);
            /* slots[j] may fill the hole at s unless its home lies
             * cyclically in (s, j]. */
            bool stays = s <= j ? (home > s && home <= j) : (home > s || home <= j);
            if (!stays)
                break;
        }
        slots[s] = slots[j];
        s = j;
    }
}

NS_MEMO_BOOKKEEPING static bool set_bytes(uint8_t **buf, size_t *cap, size_t *len, const uint8_t *p,
                                          size_t n)
{
    if (n > *cap) {
        size_t c = n < 64 ? 64 : n;
        uint8_t *b = OPENSSL_realloc(*buf, c);
        if (!b)
            return false;
        *buf = b;
        *cap = c;
    }
    if (n)
        memcpy(*buf, p, n);
    *len = n;
    return true;
}

/* An entry for the key built so far, in its slot: a new one, or the
 * oldest one's place. */
NS_MEMO_BOOKKEEPING static struct entry *insert(void)
{
    uint32_t i;
    if (n_entries < MAX_ENTRIES) {
        i = (uint32_t)n_entries++;
    } else {
        i = (uint32_t)oldest;
        oldest = (oldest + 1) % MAX_ENTRIES;
        unslot(i);
        entry_clear(&entries[i]);
        stats.evictions++;
        (void)lookup(); /* the free slot, after the moves */
    }
    struct entry *e = &entries[i];
    if (!set_bytes(&e->key, &e->key_cap, &e->key_len, op.key, op.len))
        return NULL; /* not slotted: unused until its turn comes again */
    e->hash = op.hash;
    for (size_t k = 0; k < op.n_refs; k++)
        if (EVP_PKEY_up_ref(op.refs[k]) == 1)
            e->refs[e->n_refs++] = op.refs[k];
    slots[op.slot] = i;
    e->slotted = true;
    return e;
}

NS_MEMO_BOOKKEEPING bool ns_memo_find(struct ns_memo_result *r)
{
    if (op.oom)
        return false;
    struct entry *e = lookup();
    if (!e || (op.kind == NS_MEMO_DH_NEW && EVP_PKEY_up_ref(e->pkey) != 1)) {
        stats.misses++;
        return false;
    }
    stats.hits++;
    op.found = e;
    r->rc = e->rc;
    r->out = e->out;
    r->out_len = e->out_len;
    r->pkey = op.kind == NS_MEMO_DH_NEW ? e->pkey : NULL;
    if (e->rng_len)
        rng->set(e->rng_after, e->rng_len);
    return true;
}

NS_MEMO_BOOKKEEPING void ns_memo_keep(const struct ns_memo_result *r)
{
    uint8_t now[NS_FUZZ_RNG_MAX];
    size_t now_len = rng->get(now);
    bool moved = now_len != op.rng_len || memcmp(now, op.rng_before, now_len) != 0;
    /* A pure operation that drew random bytes is not what it seemed:
     * replaying it would leave the stream elsewhere. */
    if (op.oom || op.found || (moved && !is_random(op.kind)))
        return;
    if (op.kind == NS_MEMO_DH_NEW && (!r->pkey || EVP_PKEY_up_ref(r->pkey) != 1))
        return;
    struct entry *e = lookup() ? NULL : insert();
    if (!e) {
        if (op.kind == NS_MEMO_DH_NEW)
            EVP_PKEY_free(r->pkey);
        return;
    }
    e->rc = r->rc;
    e->pkey = op.kind == NS_MEMO_DH_NEW ? r->pkey : NULL;
    if (!set_bytes(&e->out, &e->out_cap, &e->out_len, r->out, r->out_len)) {
        unslot((uint32_t)(e - entries));
        entry_clear(e);
        return;
    }
    if (is_random(op.kind)) {
        memcpy(e->rng_after, now, now_len);
        e->rng_len = now_len;
    }
}

NS_MEMO_BOOKKEEPING void ns_memo_end(void)
{
    op.active = false;
    op.found = NULL;
    op.n_refs = 0;
    if (op.key)
        OPENSSL_cleanse(op.key, op.len); /* keys pass through here */
}

NS_MEMO_BOOKKEEPING bool ns_memo_cipher_take(EVP_CIPHER_CTX **enc, EVP_CIPHER_CTX **dec,
                                             EVP_MAC_CTX **mac)
{
    struct entry *e = op.oom ? NULL : lookup();
    bool ok = e && e->n_spare > 0;
    if (ok) {
        struct spare *s = &e->spare[--e->n_spare];
        *enc = s->enc;
        *dec = s->dec;
        *mac = s->mac;
        stats.hits++;
    } else {
        stats.misses++;
    }
    ns_memo_end();
    return ok;
}

NS_MEMO_BOOKKEEPING bool ns_memo_cipher_give(EVP_CIPHER_CTX *enc, EVP_CIPHER_CTX *dec,
                                             EVP_MAC_CTX *mac)
{
    struct entry *e = NULL;
    if (!op.oom && !(e = lookup()))
        e = insert();
    bool ok = e && e->n_spare < MAX_SPARE;
    if (ok)
        e->spare[e->n_spare++] = (struct spare){enc, dec, mac};
    ns_memo_end();
    return ok;
}

#endif /* NATSEC_FUZZ */
