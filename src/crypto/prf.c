/* IKEv2 PRFs (HMAC-SHA2, RFC 4868) and prf+ (RFC 7296 2.13) on OpenSSL's
 * EVP_MAC. This is control-plane code (a few calls per IKE exchange), so a
 * context per call is fine; what matters is that prf+ keys HMAC once and
 * re-initialises it per block instead of re-keying. */
#include "crypto/prf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "crypto/fuzz_memo.h"
#include "crypto/hmac.h"

/* RFC 7296 2.13: the one-byte counter limits prf+ to 255 blocks. */
#define PRF_PLUS_MAX_BLOCKS 255

static const char *digest_name(enum ns_prf_alg alg)
{
    switch (alg) {
    case NS_PRF_HMAC_SHA1:
        return "SHA1";
    case NS_PRF_HMAC_SHA2_256:
        return "SHA2-256";
    case NS_PRF_HMAC_SHA2_384:
        return "SHA2-384";
    case NS_PRF_HMAC_SHA2_512:
        return "SHA2-512";
    }
    return NULL;
}

size_t ns_prf_len(enum ns_prf_alg alg)
{
    switch (alg) {
    case NS_PRF_HMAC_SHA1:
        return 20;
    case NS_PRF_HMAC_SHA2_256:
        return 32;
    case NS_PRF_HMAC_SHA2_384:
        return 48;
    case NS_PRF_HMAC_SHA2_512:
        return 64;
    }
    return 0;
}

/* A keyed HMAC context, or NULL. */
static EVP_MAC_CTX *hmac_new(enum ns_prf_alg alg, const uint8_t *key, size_t key_len)
{
    return ns_hmac_ctx_new(digest_name(alg), key, key_len);
}

static int hmac_update_parts(EVP_MAC_CTX *ctx, const uint8_t *const *parts, const size_t *lens,
                             size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0)
            continue;
        if (parts[i] == NULL || EVP_MAC_update(ctx, parts[i], lens[i]) != 1)
            return -1;
    }
    return 0;
}

static int hmac_final(EVP_MAC_CTX *ctx, uint8_t *out, size_t want)
{
    size_t got = 0;
    if (EVP_MAC_final(ctx, out, &got, want) != 1 || got != want)
        return -1;
    return 0;
}

static int prf_parts(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                     const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out)
{
    EVP_MAC_CTX *ctx = hmac_new(alg, key, key_len);
    if (ctx == NULL || out == NULL)
        goto fail;
    if (hmac_update_parts(ctx, parts, lens, n) != 0 || hmac_final(ctx, out, ns_prf_len(alg)) != 0)
        goto fail;
    EVP_MAC_CTX_free(ctx);
    return 0;
fail:
    EVP_MAC_CTX_free(ctx);
    return -1;
}

int ns_prf(enum ns_prf_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data,
           size_t data_len, uint8_t *out)
{
    const uint8_t *parts[] = {data};
    const size_t lens[] = {data_len};
    return ns_prf_parts(alg, key, key_len, parts, lens, 1, out);
}

/* T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); out = T1 | T2 | ... */
static int prf_plus_parts(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                          const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out,
                          size_t out_len)
{
    const size_t block = ns_prf_len(alg);
    if (block == 0 || out == NULL || out_len > PRF_PLUS_MAX_BLOCKS * block)
        return -1;
    EVP_MAC_CTX *ctx = hmac_new(alg, key, key_len);
    if (ctx == NULL)
        return -1;
    uint8_t t[NS_PRF_MAX_LEN];
    int rc = -1;
    size_t done = 0;
    for (unsigned i = 1; done < out_len; i++) {
        const uint8_t counter = (uint8_t)i;
        /* A NULL key re-initialises with the key already set (no re-keying). */
        if (i > 1 && (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(ctx, t, block) != 1))
            goto out;
        if (hmac_update_parts(ctx, parts, lens, n) != 0 || EVP_MAC_update(ctx, &counter, 1) != 1 ||
            hmac_final(ctx, t, block) != 0)
            goto out;
        size_t take = out_len - done < block ? out_len - done : block;
        memcpy(out + done, t, take);
        done += take;
    }
    rc = 0;
out:
    OPENSSL_cleanse(t, sizeof(t));
    EVP_MAC_CTX_free(ctx);
    if (rc != 0)
        OPENSSL_cleanse(out, out_len);
    return rc;
}

#ifdef NATSEC_FUZZ
/* Fuzz builds: a PRF output through the fuzz targets' memo when it is on
 * (fuzz_memo.h), keyed by the key and the concatenated data it covers.
 * plus_len: prf+'s output length, or 0 for the PRF itself. Only successes
 * are kept. */
NS_MEMO_BOOKKEEPING static int prf_memo(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                                        const uint8_t *const *parts, const size_t *lens, size_t n,
                                        uint8_t *out, size_t plus_len)
{
    bool plus = plus_len != 0;
    if (out == NULL || !ns_memo_begin(plus ? NS_MEMO_PRF_PLUS : NS_MEMO_PRF))
        return plus ? prf_plus_parts(alg, key, key_len, parts, lens, n, out, plus_len)
                    : prf_parts(alg, key, key_len, parts, lens, n, out);
    ns_memo_add_u64(alg);
    ns_memo_add_u64(plus_len);
    ns_memo_add_u64(key_len);
    ns_memo_add(key, key_len);
    for (size_t i = 0; i < n; i++)
        ns_memo_add(parts[i], lens[i]);
    struct ns_memo_result r = {0};
    if (ns_memo_find(&r)) {
        memcpy(out, r.out, r.out_len);
    } else {
        r.rc = plus ? prf_plus_parts(alg, key, key_len, parts, lens, n, out, plus_len)
                    : prf_parts(alg, key, key_len, parts, lens, n, out);
        r.out = out;
        r.out_len = plus ? plus_len : ns_prf_len(alg);
        if (r.rc == 0)
            ns_memo_keep(&r);
    }
    ns_memo_end();
    return r.rc;
}
#endif

int ns_prf_parts(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                 const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out)
{
#ifdef NATSEC_FUZZ
    return prf_memo(alg, key, key_len, parts, lens, n, out, 0);
#else
    return prf_parts(alg, key, key_len, parts, lens, n, out);
#endif
}

int ns_prf_plus_parts(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                      const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out,
                      size_t out_len)
{
#ifdef NATSEC_FUZZ
    if (out_len != 0)
        return prf_memo(alg, key, key_len, parts, lens, n, out, out_len);
#endif
    return prf_plus_parts(alg, key, key_len, parts, lens, n, out, out_len);
}

int ns_prf_plus(enum ns_prf_alg alg, const uint8_t *key, size_t key_len, const uint8_t *seed,
                size_t seed_len, uint8_t *out, size_t out_len)
{
    const uint8_t *parts[] = {seed};
    const size_t lens[] = {seed_len};
    return ns_prf_plus_parts(alg, key, key_len, parts, lens, 1, out, out_len);
}
