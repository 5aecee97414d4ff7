/* IKEv2 key derivation (RFC 7296 2.13, 2.14, 2.17, 2.18). */
#ifndef NATSEC_CRYPTO_IKEKEYS_H
#define NATSEC_CRYPTO_IKEKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/cipher.h"
#include "crypto/prf.h"

struct ns_ike_keys {
    uint8_t sk_d[NS_PRF_MAX_LEN];
    uint8_t sk_ai[NS_CIPHER_MAX_INTEG_KEY], sk_ar[NS_CIPHER_MAX_INTEG_KEY];
    uint8_t sk_ei[NS_CIPHER_MAX_ENCR_KEY], sk_er[NS_CIPHER_MAX_ENCR_KEY];
    uint8_t sk_pi[NS_PRF_MAX_LEN], sk_pr[NS_PRF_MAX_LEN];
    size_t d_len;     /* = prf length, also for sk_pi and sk_pr */
    size_t integ_len; /* 0 for AEAD */
    size_t encr_len;  /* key + salt for AEAD */
};

/* Initial IKE SA: SKEYSEED = prf(Ni | Nr, g^ir); then
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). SPIs are in host order here and
 * are serialized big-endian. Returns 0 or -1. */
int ns_ike_derive_keys(enum ns_prf_alg prf, size_t encr_keymat_len, size_t integ_key_len,
                       const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                       const uint8_t *g_ir, size_t g_ir_len, uint64_t spi_i, uint64_t spi_r,
                       struct ns_ike_keys *out);

/* IKE SA re-key (2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr),
 * with the old SA's PRF; the new SA's keys from its own PRF and SPIs. */
int ns_ike_rekey_keys(enum ns_prf_alg old_prf, const uint8_t *old_sk_d, size_t old_sk_d_len,
                      enum ns_prf_alg new_prf, size_t encr_keymat_len, size_t integ_key_len,
                      const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                      const uint8_t *g_ir, size_t g_ir_len, uint64_t spi_i, uint64_t spi_r,
                      struct ns_ike_keys *out);

/* CHILD_SA KEYMAT (2.17): prf+(SK_d, [g^ir (new) |] Ni | Nr), g_ir NULL
 * without PFS. The caller splits it: encr_i | integ_i | encr_r | integ_r
 * (initiator-to-responder keys first). */
int ns_child_keymat(enum ns_prf_alg prf, const uint8_t *sk_d, size_t sk_d_len, const uint8_t *g_ir,
                    size_t g_ir_len, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
                    size_t nr_len, uint8_t *out, size_t out_len);

#endif
