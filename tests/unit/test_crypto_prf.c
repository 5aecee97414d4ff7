/* Unit tests for src/crypto/prf: HMAC-SHA2 PRFs against RFC 4231, and prf+
 * (RFC 7296 2.13) against its definition computed with OpenSSL's HMAC(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "crypto/prf.h"
#include "support/test_hex.h"

/* RFC 4231 section 4 inputs; case 5's output is truncated to 128 bits
 * there, so only its first 16 bytes are compared. */
struct rfc4231_case {
    uint8_t key[131];
    size_t key_len;
    const char *data;
    size_t data_len;
    const char *sha256, *sha384, *sha512;
};

static void rfc4231_cases(struct rfc4231_case c[7])
{
    static const char jefe_data[] = "what do ya want for nothing?";
    static const char trunc_data[] = "Test With Truncation";
    static const char big_key_data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char big_data[] =
        "This is a test using a larger than block-size key and a larger than block-size data. "
        "The key needs to be hashed before being used by the HMAC algorithm.";
    static char dd[50], cd[50];
    memset(dd, 0xdd, sizeof(dd));
    memset(cd, 0xcd, sizeof(cd));
    memset(c, 0, 7 * sizeof(*c));

    memset(c[0].key, 0x0b, 20);
    c[0].key_len = 20;
    c[0].data = "Hi There";
    c[0].data_len = 8;
    c[0].sha256 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
    c[0].sha384 = "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
                  "faea9ea9076ede7f4af152e8b2fa9cb6";
    c[0].sha512 = "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854";

    memcpy(c[1].key, "Jefe", 4);
    c[1].key_len = 4;
    c[1].data = jefe_data;
    c[1].data_len = sizeof(jefe_data) - 1;
    c[1].sha256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    c[1].sha384 = "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                  "8e2240ca5e69e2c78b3239ecfab21649";
    c[1].sha512 = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737";

    memset(c[2].key, 0xaa, 20);
    c[2].key_len = 20;
    c[2].data = dd;
    c[2].data_len = 50;
    c[2].sha256 = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
    c[2].sha384 = "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
                  "2a5ab39dc13814b94e3ab6e101a34f27";
    c[2].sha512 = "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
                  "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb";

    for (uint8_t i = 0; i < 25; i++)
        c[3].key[i] = (uint8_t)(i + 1);
    c[3].key_len = 25;
    c[3].data = cd;
    c[3].data_len = 50;
    c[3].sha256 = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
    c[3].sha384 = "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
                  "6801dd23c4a7d679ccf8a386c674cffb";
    c[3].sha512 = "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
                  "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd";

    memset(c[4].key, 0x0c, 20);
    c[4].key_len = 20;
    c[4].data = trunc_data;
    c[4].data_len = sizeof(trunc_data) - 1;
    c[4].sha256 = "a3b6167473100ee06e0c796c2955552b";
    c[4].sha384 = "3abf34c3503b2a23a46efc619baef897";
    c[4].sha512 = "415fad6271580a531d4179bc891d87a6";

    memset(c[5].key, 0xaa, 131);
    c[5].key_len = 131;
    c[5].data = big_key_data;
    c[5].data_len = sizeof(big_key_data) - 1;
    c[5].sha256 = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
    c[5].sha384 = "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
                  "0c2ef6ab4030fe8296248df163f44952";
    c[5].sha512 = "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598";

    memset(c[6].key, 0xaa, 131);
    c[6].key_len = 131;
    c[6].data = big_data;
    c[6].data_len = sizeof(big_data) - 1;
    c[6].sha256 = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";
    c[6].sha384 = "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
                  "a678cc31e799176d3860e6110c46523e";
    c[6].sha512 = "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
                  "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58";
}

static void check_rfc4231(enum ns_prf_alg alg, size_t which)
{
    struct rfc4231_case cases[7];
    rfc4231_cases(cases);
    for (size_t i = 0; i < 7; i++) {
        const char *hex = which == 256   ? cases[i].sha256
                          : which == 384 ? cases[i].sha384
                                         : cases[i].sha512;
        uint8_t want[NS_PRF_MAX_LEN], got[NS_PRF_MAX_LEN];
        size_t want_len = test_unhex(hex, want, sizeof(want));
        assert_int_equal(ns_prf(alg, cases[i].key, cases[i].key_len, (const uint8_t *)cases[i].data,
                                cases[i].data_len, got),
                         0);
        print_message("RFC 4231 case %zu, SHA-%zu\n", i + 1, which);
        assert_memory_equal(got, want, want_len);
    }
}

static void rfc4231_hmac_sha2_256_cases_1_to_7(void **state)
{
    (void)state;
    check_rfc4231(NS_PRF_HMAC_SHA2_256, 256);
}

static void rfc4231_hmac_sha2_384_cases_1_to_7(void **state)
{
    (void)state;
    check_rfc4231(NS_PRF_HMAC_SHA2_384, 384);
}

static void rfc4231_hmac_sha2_512_cases_1_to_7(void **state)
{
    (void)state;
    check_rfc4231(NS_PRF_HMAC_SHA2_512, 512);
}

/* RFC 2202 section 3 (HMAC-SHA-1), test cases 1, 2, 3 and 6: the legacy
 * PRF (X12) that Windows' default proposals use. */
static void rfc2202_hmac_sha1_cases_1_2_3_6(void **state)
{
    /* X12 */
    (void)state;
    uint8_t k1[20], k3[20], k6[80], d3[50];
    memset(k1, 0x0b, sizeof(k1));
    memset(k3, 0xaa, sizeof(k3));
    memset(k6, 0xaa, sizeof(k6));
    memset(d3, 0xdd, sizeof(d3));
    const struct {
        const uint8_t *key;
        size_t key_len;
        const uint8_t *data;
        size_t data_len;
        const char *digest;
    } cases[] = {
        {k1, 20, (const uint8_t *)"Hi There", 8, "b617318655057264e28bc0b6fb378c8ef146be00"},
        {(const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28,
         "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
        {k3, 20, d3, 50, "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
        {k6, 80, (const uint8_t *)"Test Using Larger Than Block-Size Key - Hash Key First", 54,
         "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
    };
    assert_int_equal(ns_prf_len(NS_PRF_HMAC_SHA1), 20);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t want[20], got[NS_PRF_MAX_LEN];
        assert_int_equal(test_unhex(cases[i].digest, want, sizeof(want)), 20);
        assert_int_equal(ns_prf(NS_PRF_HMAC_SHA1, cases[i].key, cases[i].key_len, cases[i].data,
                                cases[i].data_len, got),
                         0);
        assert_memory_equal(got, want, 20);
    }
}

static void prf_lengths_and_unknown_algorithm(void **state)
{
    (void)state;
    uint8_t out[NS_PRF_MAX_LEN];
    assert_int_equal(ns_prf_len(NS_PRF_HMAC_SHA2_256), 32);
    assert_int_equal(ns_prf_len(NS_PRF_HMAC_SHA2_384), 48);
    assert_int_equal(ns_prf_len(NS_PRF_HMAC_SHA2_512), 64);
    assert_int_equal(ns_prf_len((enum ns_prf_alg)1), 0); /* HMAC-MD5: not implemented */
    assert_int_equal(ns_prf((enum ns_prf_alg)1, (const uint8_t *)"k", 1, NULL, 0, out), -1);
    assert_int_equal(ns_prf_plus((enum ns_prf_alg)4, (const uint8_t *)"k", 1, NULL, 0, out, 8), -1);
}

/* prf+ by its definition (RFC 7296 2.13), with OpenSSL's one-shot HMAC():
 * T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n). */
static void reference_prf_plus(const EVP_MD *md, const uint8_t *key, size_t key_len,
                               const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len)
{
    uint8_t t[64], msg[64 + 256 + 1];
    unsigned t_len = 0;
    size_t done = 0;
    for (unsigned n = 1; done < out_len; n++) {
        size_t m = 0;
        memcpy(msg, t, t_len);
        m += t_len;
        memcpy(msg + m, seed, seed_len);
        m += seed_len;
        msg[m++] = (uint8_t)n;
        assert_non_null(HMAC(md, key, (int)key_len, msg, m, t, &t_len));
        size_t take = out_len - done < t_len ? out_len - done : t_len;
        memcpy(out + done, t, take);
        done += take;
    }
}

static void prf_plus_matches_rfc7296_definition(void **state)
{
    (void)state;
    const struct {
        enum ns_prf_alg alg;
        const EVP_MD *md;
    } algs[] = {{NS_PRF_HMAC_SHA2_256, EVP_sha256()},
                {NS_PRF_HMAC_SHA2_384, EVP_sha384()},
                {NS_PRF_HMAC_SHA2_512, EVP_sha512()},
                {NS_PRF_HMAC_SHA1, EVP_sha1()}}; /* X12 */
    const size_t lens[] = {1, 31, 32, 33, 64, 100, 392, 1000};
    uint8_t key[48], seed[80], got[1000], want[1000];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 5 + 3);
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (uint8_t)(0xff - i);
    for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
            assert_int_equal(
                ns_prf_plus(algs[a].alg, key, sizeof(key), seed, sizeof(seed), got, lens[l]), 0);
            reference_prf_plus(algs[a].md, key, sizeof(key), seed, sizeof(seed), want, lens[l]);
            assert_memory_equal(got, want, lens[l]);
        }
    }
}

/* The one-byte counter allows 255 blocks; one byte more is refused. */
static void prf_plus_stops_at_255_blocks(void **state)
{
    (void)state;
    static uint8_t out[255 * 32 + 1];
    const uint8_t key[] = {1, 2, 3};
    assert_int_equal(ns_prf_plus(NS_PRF_HMAC_SHA2_256, key, 3, key, 3, out, 255 * 32), 0);
    uint8_t last[32];
    reference_prf_plus(EVP_sha256(), key, 3, key, 3, out, 255 * 32);
    memcpy(last, out + 254 * 32, 32);
    assert_int_equal(ns_prf_plus(NS_PRF_HMAC_SHA2_256, key, 3, key, 3, out, 255 * 32), 0);
    assert_memory_equal(out + 254 * 32, last, 32);
    assert_int_equal(ns_prf_plus(NS_PRF_HMAC_SHA2_256, key, 3, key, 3, out, 255 * 32 + 1), -1);
}

/* Feeding the message in parts equals feeding it whole, empty parts and
 * NULL empty parts included. */
static void parts_equal_the_concatenation(void **state)
{
    (void)state;
    const uint8_t key[] = "key material";
    const uint8_t whole[] = "g^ir (new) | Ni | Nr";
    const uint8_t *parts[] = {whole, NULL, whole + 5, whole + 5, whole + 12};
    const size_t lens[] = {5, 0, 0, 7, sizeof(whole) - 1 - 12};
    uint8_t a[64], b[64], pa[200], pb[200];
    assert_int_equal(ns_prf(NS_PRF_HMAC_SHA2_512, key, sizeof(key), whole, sizeof(whole) - 1, a),
                     0);
    assert_int_equal(ns_prf_parts(NS_PRF_HMAC_SHA2_512, key, sizeof(key), parts, lens, 5, b), 0);
    assert_memory_equal(a, b, 64);
    assert_int_equal(ns_prf_plus(NS_PRF_HMAC_SHA2_384, key, sizeof(key), whole, sizeof(whole) - 1,
                                 pa, sizeof(pa)),
                     0);
    assert_int_equal(
        ns_prf_plus_parts(NS_PRF_HMAC_SHA2_384, key, sizeof(key), parts, lens, 5, pb, sizeof(pb)),
        0);
    assert_memory_equal(pa, pb, sizeof(pa));
    /* A NULL part with a length is a caller bug, not an empty string. */
    const size_t bad_lens[] = {5, 3, 0, 7, 0};
    assert_int_equal(ns_prf_parts(NS_PRF_HMAC_SHA2_512, key, sizeof(key), parts, bad_lens, 5, b),
                     -1);
}

/* HMAC with an empty key is defined (the key is zero-padded); the PRF must
 * not mistake it for "no key". HMAC-SHA-256("", "") is a well-known value. */
static void empty_key_and_empty_message(void **state)
{
    (void)state;
    uint8_t want[32], got[32];
    test_unhex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", want, 32);
    assert_int_equal(ns_prf(NS_PRF_HMAC_SHA2_256, NULL, 0, NULL, 0, got), 0);
    assert_memory_equal(got, want, 32);
    uint8_t plus[40], ref[40];
    assert_int_equal(ns_prf_plus(NS_PRF_HMAC_SHA2_256, NULL, 0, NULL, 0, plus, sizeof(plus)), 0);
    reference_prf_plus(EVP_sha256(), (const uint8_t *)"", 0, (const uint8_t *)"", 0, ref,
                       sizeof(ref));
    assert_memory_equal(plus, ref, sizeof(ref));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4231_hmac_sha2_256_cases_1_to_7),
        cmocka_unit_test(rfc4231_hmac_sha2_384_cases_1_to_7),
        cmocka_unit_test(rfc4231_hmac_sha2_512_cases_1_to_7),
        cmocka_unit_test(rfc2202_hmac_sha1_cases_1_2_3_6),
        cmocka_unit_test(prf_lengths_and_unknown_algorithm),
        cmocka_unit_test(prf_plus_matches_rfc7296_definition),
        cmocka_unit_test(prf_plus_stops_at_255_blocks),
        cmocka_unit_test(parts_equal_the_concatenation),
        cmocka_unit_test(empty_key_and_empty_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
