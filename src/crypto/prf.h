/* IKEv2 pseudo-random functions (HMAC-SHA2, RFC 4868; HMAC-SHA1, RFC 2104,
 * legacy, only with legacy_proposals) and prf+
 * (RFC 7296 2.13). Algorithm numbers are IKEv2 "Transform Type 2" IDs. */
#ifndef NATSEC_CRYPTO_PRF_H
#define NATSEC_CRYPTO_PRF_H

#include <stddef.h>
#include <stdint.h>

enum ns_prf_alg {
    NS_PRF_HMAC_SHA1 = 2,
    NS_PRF_HMAC_SHA2_256 = 5,
    NS_PRF_HMAC_SHA2_384 = 6,
    NS_PRF_HMAC_SHA2_512 = 7,
};

#define NS_PRF_MAX_LEN 64

/* Output length in bytes (also the preferred key length), 0 if unknown. */
size_t ns_prf_len(enum ns_prf_alg alg);
/* out receives ns_prf_len(alg) bytes. Returns 0 or -1. */
int ns_prf(enum ns_prf_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data,
           size_t data_len, uint8_t *out);
/* prf+ (K, S) = T1 | T2 | ..., truncated to out_len (at most 255 blocks). */
int ns_prf_plus(enum ns_prf_alg alg, const uint8_t *key, size_t key_len, const uint8_t *seed,
                size_t seed_len, uint8_t *out, size_t out_len);

/* The same over a message given as n parts (parts[i], lens[i]) that are
 * concatenated, so callers need no buffer for "a | b | c" (SKEYSEED for a
 * re-key, KEYMAT with PFS, the AUTH payload's signed octets). A part may be
 * NULL when its length is 0. */
int ns_prf_parts(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                 const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out);
int ns_prf_plus_parts(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                      const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out,
                      size_t out_len);

#endif
