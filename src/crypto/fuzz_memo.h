/* Test-only memo of the costly OpenSSL operations, for fuzz targets
 * (tests/fuzz) whose random stream is deterministic: the same operation on
 * the same inputs, and for the random ones from the same state of the
 * random stream, gives the result it gave the first time, as a table
 * lookup. Compiled only into builds with NATSEC_FUZZ (CMake's option of
 * that name), and off there until a fuzz target turns it on; production
 * builds have none of it.
 *
 * What is kept, keyed by every byte the result depends on:
 * - DH key pairs (ns_dh_new): by group and the random stream's state; the
 *   stream is left where the generation left it.
 * - DH shared secrets (ns_dh_derive), PRF and prf+ outputs: by their
 *   inputs (the key pair by identity: the memo holds a reference to it, so
 *   its address names no other key while the entry lives).
 * - Signatures (ns_pkey_sign): by key, scheme, data and the stream's state.
 * - The SK/ESP cipher contexts (ns_cipher_new): keyed contexts that an
 *   ns_cipher_free gives back wait for the next ns_cipher_new with the
 *   same algorithms and keys; seal and open set the IV every time, so a
 *   reused context is one freshly keyed.
 * A pure operation that moved the random stream is not kept. Whatever
 * comes from the memo is exactly what the operation would give, so an
 * input runs the same with the memo empty, warm or off.
 *
 * Single-threaded: only the thread that turned it on uses it. Its storage
 * comes from OpenSSL's allocator, which tests/fuzz/heap_snapshot.c does
 * not follow (its blocks never belong to an engine's snapshot). */
#ifndef NATSEC_CRYPTO_FUZZ_MEMO_H
#define NATSEC_CRYPTO_FUZZ_MEMO_H

#ifdef NATSEC_FUZZ

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define NS_FUZZ_RNG_MAX 32

/* The fuzz target's random stream (what backs RAND_bytes). */
struct ns_fuzz_rng {
    size_t (*get)(uint8_t state[NS_FUZZ_RNG_MAX]); /* its whole state, in bytes */
    void (*set)(const uint8_t *state, size_t len);
};

/* On with the target's stream (kept by pointer), or off (NULL): off
 * forgets everything. */
void ns_fuzz_memo_enable(const struct ns_fuzz_rng *rng);

struct ns_fuzz_memo_stats {
    uint64_t hits, misses, evictions;
};
void ns_fuzz_memo_stats(struct ns_fuzz_memo_stats *out);

/* ---- for src/crypto ---- */

/* On the memo's own code, and the wrappers that call it: bookkeeping, not
 * code under test, so no coverage instrumentation (no features for the
 * fuzzer, no comparisons traced). */
#define NS_MEMO_BOOKKEEPING __attribute__((no_sanitize("coverage")))

enum ns_memo_kind {
    NS_MEMO_DH_NEW = 1, /* random */
    NS_MEMO_DH_DERIVE,
    NS_MEMO_PRF,
    NS_MEMO_PRF_PLUS,
    NS_MEMO_SIGN, /* random */
    NS_MEMO_CIPHER,
};

/* Starts the key of one operation; false when the memo is off (or in use
 * on another thread, or by an operation in progress): compute as usual. */
bool ns_memo_begin(enum ns_memo_kind kind);
void ns_memo_add(const void *p, size_t len);
void ns_memo_add_u64(uint64_t v);
/* A key pair that is part of the key: by address, a reference held. */
void ns_memo_add_pkey(EVP_PKEY *pkey);

/* What the operation gave. */
struct ns_memo_result {
    int rc;
    const uint8_t *out; /* find: the recorded bytes (valid until ns_memo_end) */
    size_t out_len;
    EVP_PKEY *pkey; /* NS_MEMO_DH_NEW: the key pair (find: up-referenced) */
};

/* True with the recorded result (the random stream set as the operation
 * left it); false: compute, then ns_memo_keep. Either way ns_memo_end
 * follows. */
bool ns_memo_find(struct ns_memo_result *r);
void ns_memo_keep(const struct ns_memo_result *r);
void ns_memo_end(void);

/* Cipher contexts: a spare keyed set for the key built since
 * ns_memo_begin(NS_MEMO_CIPHER), taken (true) or none (false); and a set
 * given back for that key (true: kept; false: the caller frees it). Each
 * ends the operation. */
bool ns_memo_cipher_take(EVP_CIPHER_CTX **enc, EVP_CIPHER_CTX **dec, EVP_MAC_CTX **mac);
bool ns_memo_cipher_give(EVP_CIPHER_CTX *enc, EVP_CIPHER_CTX *dec, EVP_MAC_CTX *mac);

#endif /* NATSEC_FUZZ */

#endif
