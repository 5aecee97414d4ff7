/* IKEv2 key derivation (RFC 7296 2.13, 2.14, 2.17, 2.18) from ns_prf and
 * ns_prf_plus. Every intermediate secret is wiped before returning. */
#include "crypto/ikekeys.h"

#include <openssl/crypto.h>
#include <string.h>

#include "util/buf.h"

/* RFC 7296 3.9: a nonce is 16 to 256 octets. SKEYSEED's key is Ni | Nr in
 * one piece, so this bounds the buffer that holds it. */
#define NONCE_MAX 256
#define KEYMAT_MAX (3 * NS_PRF_MAX_LEN + 2 * NS_CIPHER_MAX_INTEG_KEY + 2 * NS_CIPHER_MAX_ENCR_KEY)

static bool nonces_ok(const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len)
{
    return ni != NULL && nr != NULL && ni_len != 0 && nr_len != 0 && ni_len <= NONCE_MAX &&
           nr_len <= NONCE_MAX;
}

static const uint8_t *take(const uint8_t *p, uint8_t *dst, size_t n)
{
    memcpy(dst, p, n);
    return p + n;
}

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
static int ike_keys_from_skeyseed(enum ns_prf_alg prf, const uint8_t *skeyseed, size_t skeyseed_len,
                                  size_t encr_keymat_len, size_t integ_key_len, const uint8_t *ni,
                                  size_t ni_len, const uint8_t *nr, size_t nr_len, uint64_t spi_i,
                                  uint64_t spi_r, struct ns_ike_keys *out)
{
    const size_t p = ns_prf_len(prf);
    uint8_t spis[16], keymat[KEYMAT_MAX];
    ns_put_u64(spis, spi_i);
    ns_put_u64(spis + 8, spi_r);
    const uint8_t *parts[] = {ni, nr, spis};
    const size_t lens[] = {ni_len, nr_len, sizeof(spis)};
    const size_t total = 3 * p + 2 * integ_key_len + 2 * encr_keymat_len;
    if (ns_prf_plus_parts(prf, skeyseed, skeyseed_len, parts, lens, 3, keymat, total) != 0)
        return -1;
    const uint8_t *k = keymat;
    k = take(k, out->sk_d, p);
    k = take(k, out->sk_ai, integ_key_len);
    k = take(k, out->sk_ar, integ_key_len);
    k = take(k, out->sk_ei, encr_keymat_len);
    k = take(k, out->sk_er, encr_keymat_len);
    k = take(k, out->sk_pi, p);
    take(k, out->sk_pr, p);
    out->d_len = p;
    out->integ_len = integ_key_len;
    out->encr_len = encr_keymat_len;
    OPENSSL_cleanse(keymat, sizeof(keymat));
    return 0;
}

static bool lengths_ok(enum ns_prf_alg prf, size_t encr_keymat_len, size_t integ_key_len,
                       struct ns_ike_keys *out)
{
    return out != NULL && ns_prf_len(prf) != 0 && encr_keymat_len <= NS_CIPHER_MAX_ENCR_KEY &&
           integ_key_len <= NS_CIPHER_MAX_INTEG_KEY;
}

int ns_ike_derive_keys(enum ns_prf_alg prf, size_t encr_keymat_len, size_t integ_key_len,
                       const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                       const uint8_t *g_ir, size_t g_ir_len, uint64_t spi_i, uint64_t spi_r,
                       struct ns_ike_keys *out)
{
    if (!lengths_ok(prf, encr_keymat_len, integ_key_len, out) ||
        !nonces_ok(ni, ni_len, nr, nr_len) || g_ir == NULL || g_ir_len == 0)
        return -1;
    memset(out, 0, sizeof(*out));
    uint8_t nonces[2 * NONCE_MAX], skeyseed[NS_PRF_MAX_LEN];
    memcpy(nonces, ni, ni_len);
    memcpy(nonces + ni_len, nr, nr_len);
    /* SKEYSEED = prf(Ni | Nr, g^ir) */
    int rc = ns_prf(prf, nonces, ni_len + nr_len, g_ir, g_ir_len, skeyseed);
    if (rc == 0)
        rc = ike_keys_from_skeyseed(prf, skeyseed, ns_prf_len(prf), encr_keymat_len, integ_key_len,
                                    ni, ni_len, nr, nr_len, spi_i, spi_r, out);
    OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
    if (rc != 0)
        OPENSSL_cleanse(out, sizeof(*out));
    return rc;
}

int ns_ike_rekey_keys(enum ns_prf_alg old_prf, const uint8_t *old_sk_d, size_t old_sk_d_len,
                      enum ns_prf_alg new_prf, size_t encr_keymat_len, size_t integ_key_len,
                      const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                      const uint8_t *g_ir, size_t g_ir_len, uint64_t spi_i, uint64_t spi_r,
                      struct ns_ike_keys *out)
{
    if (!lengths_ok(new_prf, encr_keymat_len, integ_key_len, out) || ns_prf_len(old_prf) == 0 ||
        old_sk_d == NULL || old_sk_d_len == 0 || !nonces_ok(ni, ni_len, nr, nr_len) ||
        g_ir == NULL || g_ir_len == 0)
        return -1;
    memset(out, 0, sizeof(*out));
    /* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old PRF, so
     * it is as long as the old PRF's output; the new PRF takes it as its
     * key whatever its length (HMAC accepts any). */
    uint8_t skeyseed[NS_PRF_MAX_LEN];
    const uint8_t *parts[] = {g_ir, ni, nr};
    const size_t lens[] = {g_ir_len, ni_len, nr_len};
    int rc = ns_prf_parts(old_prf, old_sk_d, old_sk_d_len, parts, lens, 3, skeyseed);
    if (rc == 0)
        rc = ike_keys_from_skeyseed(new_prf, skeyseed, ns_prf_len(old_prf), encr_keymat_len,
                                    integ_key_len, ni, ni_len, nr, nr_len, spi_i, spi_r, out);
    OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
    if (rc != 0)
        OPENSSL_cleanse(out, sizeof(*out));
    return rc;
}

int ns_child_keymat(enum ns_prf_alg prf, const uint8_t *sk_d, size_t sk_d_len, const uint8_t *g_ir,
                    size_t g_ir_len, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
                    size_t nr_len, uint8_t *out, size_t out_len)
{
    if (sk_d == NULL || sk_d_len == 0 || (g_ir == NULL && g_ir_len != 0) ||
        !nonces_ok(ni, ni_len, nr, nr_len))
        return -1;
    /* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) */
    const uint8_t *parts[] = {g_ir, ni, nr};
    const size_t lens[] = {g_ir == NULL ? 0 : g_ir_len, ni_len, nr_len};
    return ns_prf_plus_parts(prf, sk_d, sk_d_len, parts, lens, 3, out, out_len);
}
