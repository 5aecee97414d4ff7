/* Unit tests for src/crypto/ikekeys: IKEv2 key derivation (RFC 7296 2.14,
 * 2.17, 2.18) against a NIST CAVP SP 800-135 IKEv2 (SHA-256) record, and
 * against the formulas composed by hand with OpenSSL's one-shot HMAC(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "crypto/ikekeys.h"
#include "support/test_hex.h"

static const EVP_MD *md_of(enum ns_prf_alg alg)
{
    return alg == NS_PRF_HMAC_SHA1       ? EVP_sha1()
           : alg == NS_PRF_HMAC_SHA2_256 ? EVP_sha256()
           : alg == NS_PRF_HMAC_SHA2_384 ? EVP_sha384()
                                         : EVP_sha512();
}

/* prf(K, S) and prf+(K, S) straight from RFC 7296 2.13, with HMAC(). */
static size_t ref_prf(enum ns_prf_alg alg, const uint8_t *key, size_t key_len, const uint8_t *msg,
                      size_t msg_len, uint8_t *out)
{
    unsigned len = 0;
    assert_non_null(HMAC(md_of(alg), key, (int)key_len, msg, msg_len, out, &len));
    return len;
}

static void ref_prf_plus(enum ns_prf_alg alg, const uint8_t *key, size_t key_len,
                         const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len)
{
    uint8_t t[64], msg[64 + 1024 + 1];
    size_t t_len = 0, done = 0;
    assert_true(seed_len <= 1024);
    for (unsigned n = 1; done < out_len; n++) {
        memcpy(msg, t, t_len);
        memcpy(msg + t_len, seed, seed_len);
        msg[t_len + seed_len] = (uint8_t)n;
        t_len = ref_prf(alg, key, key_len, msg, t_len + seed_len + 1, t);
        size_t take = out_len - done < t_len ? out_len - done : t_len;
        memcpy(out + done, t, take);
        done += take;
    }
}

/* Concatenation of the seven keys in RFC 7296 2.14 order. */
static size_t keys_concat(const struct ns_ike_keys *k, uint8_t *out)
{
    size_t n = 0;
#define PUT(field, len)                                                                            \
    do {                                                                                           \
        memcpy(out + n, k->field, len);                                                            \
        n += len;                                                                                  \
    } while (0)
    PUT(sk_d, k->d_len);
    PUT(sk_ai, k->integ_len);
    PUT(sk_ar, k->integ_len);
    PUT(sk_ei, k->encr_len);
    PUT(sk_er, k->encr_len);
    PUT(sk_pi, k->d_len);
    PUT(sk_pr, k->d_len);
#undef PUT
    return n;
}

/* NIST CAVP SP 800-135 IKEv2 KDF, SHA-256 (the record NSS carries in its
 * ike-sha256-vectors as cases 6, 7 and 8): Ni, Nr and SPIs of 8 bytes each,
 * a 32-byte g^ir, and a 132-byte DKM. */
#define CAVP_NI "3f302be1abcb28e1"
#define CAVP_NR "8c332ee006064c9b"
#define CAVP_GIR "0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29"
#define CAVP_GIR_NEW "25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c"
#define CAVP_SPII 0x40dac39e1e1a8640ull
#define CAVP_SPIR 0x8619a1cf9a6e4c07ull
#define CAVP_SKEYSEED "5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe"
#define CAVP_DKM                                                                                   \
    "0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec"                             \
    "e98aca531188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6"                             \
    "cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4"                             \
    "e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986"                             \
    "d12d4aad"
#define CAVP_SKEYSEED_REKEY "2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398"

/* SKEYSEED = prf(Ni | Nr, g^ir) and the DKM = prf+(SKEYSEED, Ni | Nr | SPIi
 * | SPIr). The DKM is 132 bytes: SK_d, SK_pi and SK_pr take 3 * 32, which
 * leaves 36 for the integrity and encryption keys, e.g. 0 and 18 each. */
static void nist_cavp_ikev2_sha256_skeyseed_and_dkm(void **state)
{
    (void)state;
    uint8_t ni[8], nr[8], gir[32], skeyseed[32], dkm[132], got[512], nonces[16];
    test_unhex(CAVP_NI, ni, 8);
    test_unhex(CAVP_NR, nr, 8);
    test_unhex(CAVP_GIR, gir, 32);
    test_unhex(CAVP_SKEYSEED, skeyseed, 32);
    assert_int_equal(test_unhex(CAVP_DKM, dkm, sizeof(dkm)), 132);

    memcpy(nonces, ni, 8);
    memcpy(nonces + 8, nr, 8);
    assert_int_equal(ns_prf(NS_PRF_HMAC_SHA2_256, nonces, 16, gir, 32, got), 0);
    assert_memory_equal(got, skeyseed, 32);

    struct ns_ike_keys keys;
    assert_int_equal(ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, 18, 0, ni, 8, nr, 8, gir, 32,
                                        CAVP_SPII, CAVP_SPIR, &keys),
                     0);
    assert_int_equal(keys.d_len, 32);
    assert_int_equal(keys.integ_len, 0);
    assert_int_equal(keys.encr_len, 18);
    assert_int_equal(keys_concat(&keys, got), 132);
    assert_memory_equal(got, dkm, 132);
    /* The same split with 2-byte integrity and 16-byte encryption keys. */
    assert_int_equal(ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, 16, 2, ni, 8, nr, 8, gir, 32,
                                        CAVP_SPII, CAVP_SPIR, &keys),
                     0);
    assert_int_equal(keys_concat(&keys, got), 132);
    assert_memory_equal(got, dkm, 132);
}

/* IKE SA re-key: SKEYSEED(rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr),
 * SK_d being the first 32 bytes of the DKM above; the new keys are
 * prf+(SKEYSEED(rekey), Ni | Nr | SPIi | SPIr). */
static void nist_cavp_ikev2_sha256_rekey_skeyseed(void **state)
{
    (void)state;
    uint8_t ni[8], nr[8], gir_new[32], dkm[132], skeyseed_rekey[32], seed[32], want[512], got[512];
    test_unhex(CAVP_NI, ni, 8);
    test_unhex(CAVP_NR, nr, 8);
    test_unhex(CAVP_GIR_NEW, gir_new, 32);
    test_unhex(CAVP_DKM, dkm, sizeof(dkm));
    test_unhex(CAVP_SKEYSEED_REKEY, skeyseed_rekey, 32);
    memcpy(seed, ni, 8);
    memcpy(seed + 8, nr, 8);
    for (int i = 0; i < 8; i++) {
        seed[16 + i] = (uint8_t)(CAVP_SPII >> (56 - 8 * i));
        seed[24 + i] = (uint8_t)(CAVP_SPIR >> (56 - 8 * i));
    }
    struct ns_ike_keys keys;
    assert_int_equal(ns_ike_rekey_keys(NS_PRF_HMAC_SHA2_256, dkm, 32, NS_PRF_HMAC_SHA2_256, 32, 32,
                                       ni, 8, nr, 8, gir_new, 32, CAVP_SPII, CAVP_SPIR, &keys),
                     0);
    const size_t total = keys_concat(&keys, got);
    assert_int_equal(total, 7 * 32);
    ref_prf_plus(NS_PRF_HMAC_SHA2_256, skeyseed_rekey, 32, seed, 32, want, total);
    assert_memory_equal(got, want, total);
}

/* The initial derivation composed by hand for every PRF and for an AEAD
 * (36-byte keys with salt, no integrity key) and HMAC suites; X12: the
 * HMAC-SHA1 PRF and 3DES with HMAC-SHA1-96 (24- and 20-byte keys) too. */
static void derive_keys_matches_rfc7296_2_14_by_hand(void **state)
{
    /* X12 */
    (void)state;
    const enum ns_prf_alg prfs[] = {NS_PRF_HMAC_SHA2_256, NS_PRF_HMAC_SHA2_384,
                                    NS_PRF_HMAC_SHA2_512, NS_PRF_HMAC_SHA1};
    /* encr keymat, integ key */
    const size_t suites[][2] = {{36, 0}, {32, 32}, {16, 64}, {24, 20}};
    uint8_t ni[32], nr[48], gir[256], msg[1024], skeyseed[64], want[512], got[512];
    for (size_t i = 0; i < sizeof(ni); i++)
        ni[i] = (uint8_t)(i + 1);
    for (size_t i = 0; i < sizeof(nr); i++)
        nr[i] = (uint8_t)(0x80 + i);
    for (size_t i = 0; i < sizeof(gir); i++)
        gir[i] = (uint8_t)(i * 13);
    const uint64_t spi_i = 0x0102030405060708ull, spi_r = 0xf0e0d0c0b0a09080ull;
    for (size_t p = 0; p < sizeof(prfs) / sizeof(prfs[0]); p++) {
        for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
            const size_t encr = suites[s][0], integ = suites[s][1];
            memcpy(msg, ni, sizeof(ni));
            memcpy(msg + sizeof(ni), nr, sizeof(nr));
            const size_t prf_len =
                ref_prf(prfs[p], msg, sizeof(ni) + sizeof(nr), gir, sizeof(gir), skeyseed);
            size_t n = sizeof(ni) + sizeof(nr);
            for (int b = 7; b >= 0; b--)
                msg[n++] = (uint8_t)(spi_i >> (8 * b));
            for (int b = 7; b >= 0; b--)
                msg[n++] = (uint8_t)(spi_r >> (8 * b));
            const size_t total = 3 * prf_len + 2 * integ + 2 * encr;
            ref_prf_plus(prfs[p], skeyseed, prf_len, msg, n, want, total);

            struct ns_ike_keys keys;
            assert_int_equal(ns_ike_derive_keys(prfs[p], encr, integ, ni, sizeof(ni), nr,
                                                sizeof(nr), gir, sizeof(gir), spi_i, spi_r, &keys),
                             0);
            assert_int_equal(keys.d_len, ns_prf_len(prfs[p]));
            assert_int_equal(keys.integ_len, integ);
            assert_int_equal(keys.encr_len, encr);
            assert_int_equal(keys_concat(&keys, got), total);
            assert_memory_equal(got, want, total);
            /* spot-check the split: SK_er starts after d | ai | ar | ei */
            assert_memory_equal(keys.sk_er, want + prf_len + 2 * integ + encr, encr);
            assert_memory_equal(keys.sk_pr, want + total - prf_len, prf_len);
        }
    }
}

/* Re-key with a different PRF: SKEYSEED comes from the old PRF (so it is
 * 64 bytes for SHA-512) and keys the new PRF's prf+ (RFC 7296 2.18). */
static void rekey_uses_old_prf_for_skeyseed_and_new_prf_for_keys(void **state)
{
    (void)state;
    uint8_t old_sk_d[64], ni[16], nr[16], gir[32], msg[512], skeyseed[64], want[512], got[512];
    memset(old_sk_d, 0x3c, sizeof(old_sk_d));
    memset(ni, 0x11, sizeof(ni));
    memset(nr, 0x22, sizeof(nr));
    memset(gir, 0x33, sizeof(gir));
    size_t n = 0;
    memcpy(msg + n, gir, 32);
    n += 32;
    memcpy(msg + n, ni, 16);
    n += 16;
    memcpy(msg + n, nr, 16);
    n += 16;
    assert_int_equal(ref_prf(NS_PRF_HMAC_SHA2_512, old_sk_d, 64, msg, n, skeyseed), 64);
    n = 0;
    memcpy(msg + n, ni, 16);
    n += 16;
    memcpy(msg + n, nr, 16);
    n += 16;
    memset(msg + n, 0, 7);
    msg[n + 7] = 5; /* SPIi = 5 */
    memset(msg + n + 8, 0, 7);
    msg[n + 15] = 6; /* SPIr = 6 */
    n += 16;
    const size_t total = 3 * 32 + 2 * 20;
    ref_prf_plus(NS_PRF_HMAC_SHA2_256, skeyseed, 64, msg, n, want, total);

    struct ns_ike_keys keys;
    assert_int_equal(ns_ike_rekey_keys(NS_PRF_HMAC_SHA2_512, old_sk_d, 64, NS_PRF_HMAC_SHA2_256, 20,
                                       0, ni, 16, nr, 16, gir, 32, 5, 6, &keys),
                     0);
    assert_int_equal(keys.d_len, 32);
    assert_int_equal(keys_concat(&keys, got), total);
    assert_memory_equal(got, want, total);
}

/* KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr) with
 * PFS (RFC 7296 2.17). */
static void child_keymat_with_and_without_pfs_matches_rfc7296_2_17(void **state)
{
    (void)state;
    uint8_t sk_d[48], ni[20], nr[24], gir[64], seed[128], want[300], got[300];
    memset(sk_d, 0x5a, sizeof(sk_d));
    memset(ni, 0xa1, sizeof(ni));
    memset(nr, 0xb2, sizeof(nr));
    for (size_t i = 0; i < sizeof(gir); i++)
        gir[i] = (uint8_t)i;
    const size_t out_len = 2 * (36 + 0) + 2 * (32 + 32) + 4; /* any length works */

    memcpy(seed, ni, 20);
    memcpy(seed + 20, nr, 24);
    ref_prf_plus(NS_PRF_HMAC_SHA2_384, sk_d, 48, seed, 44, want, out_len);
    assert_int_equal(
        ns_child_keymat(NS_PRF_HMAC_SHA2_384, sk_d, 48, NULL, 0, ni, 20, nr, 24, got, out_len), 0);
    assert_memory_equal(got, want, out_len);

    memcpy(seed, gir, 64);
    memcpy(seed + 64, ni, 20);
    memcpy(seed + 84, nr, 24);
    ref_prf_plus(NS_PRF_HMAC_SHA2_384, sk_d, 48, seed, 108, want, out_len);
    assert_int_equal(
        ns_child_keymat(NS_PRF_HMAC_SHA2_384, sk_d, 48, gir, 64, ni, 20, nr, 24, got, out_len), 0);
    assert_memory_equal(got, want, out_len);
}

static void derivation_refuses_bad_arguments(void **state)
{
    (void)state;
    uint8_t n[257] = {1}, gir[32] = {2}, out[64];
    struct ns_ike_keys keys;
    /* key lengths beyond what struct ns_ike_keys holds */
    assert_int_equal(ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, NS_CIPHER_MAX_ENCR_KEY + 1, 0, n, 16,
                                        n, 16, gir, 32, 1, 2, &keys),
                     -1);
    assert_int_equal(ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, 16, NS_CIPHER_MAX_INTEG_KEY + 1, n,
                                        16, n, 16, gir, 32, 1, 2, &keys),
                     -1);
    /* nonces longer than RFC 7296 3.9 allows, or missing */
    assert_int_equal(
        ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, 16, 32, n, 257, n, 16, gir, 32, 1, 2, &keys), -1);
    assert_int_equal(
        ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, 16, 32, n, 0, n, 16, gir, 32, 1, 2, &keys), -1);
    assert_int_equal(
        ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, 16, 32, n, 256, n, 256, gir, 32, 1, 2, &keys), 0);
    /* unknown PRF, missing g^ir */
    assert_int_equal(
        ns_ike_derive_keys((enum ns_prf_alg)1, 16, 32, n, 16, n, 16, gir, 32, 1, 2, &keys), -1);
    assert_int_equal(
        ns_ike_derive_keys(NS_PRF_HMAC_SHA2_256, 16, 32, n, 16, n, 16, NULL, 0, 1, 2, &keys), -1);
    assert_int_equal(ns_ike_rekey_keys((enum ns_prf_alg)1, n, 32, NS_PRF_HMAC_SHA2_256, 16, 32, n,
                                       16, n, 16, gir, 32, 1, 2, &keys),
                     -1);
    assert_int_equal(ns_child_keymat(NS_PRF_HMAC_SHA2_256, n, 32, NULL, 5, n, 16, n, 16, out, 64),
                     -1);
    assert_int_equal(ns_child_keymat(NS_PRF_HMAC_SHA2_256, NULL, 0, NULL, 0, n, 16, n, 16, out, 64),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nist_cavp_ikev2_sha256_skeyseed_and_dkm),
        cmocka_unit_test(nist_cavp_ikev2_sha256_rekey_skeyseed),
        cmocka_unit_test(derive_keys_matches_rfc7296_2_14_by_hand),
        cmocka_unit_test(rekey_uses_old_prf_for_skeyseed_and_new_prf_for_keys),
        cmocka_unit_test(child_keymat_with_and_without_pfs_matches_rfc7296_2_17),
        cmocka_unit_test(derivation_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
