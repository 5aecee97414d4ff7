/* Unit tests for shared-key AUTH (src/ike/auth, RFC 7296 2.15).
 *
 * The expected values come from an independent composition with OpenSSL's
 * HMAC here in the test. That composition is itself checked against a
 * published example with every input: the PSK AUTH unit test of Android's
 * IKEv2 library (IkeAuthPskPayloadTest, PRF HMAC-SHA1). natsec's PRFs are
 * HMAC-SHA2 only, so the module is compared with the checked composition
 * for SHA2-256/384/512. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "ike/auth.h"

/* ---- the published example (Android IkeAuthPskPayloadTest) ---- */

static const char *const EX_INIT_REQUEST = "5f54bf6d8b48e6e1000000000000000021202208"
                                           "0000000000000150220000300000002c01010004"
                                           "0300000c0100000c800e00800300000803000002"
                                           "0300000804000002000000080200000228000088"
                                           "00020000b4a2faf4bb54878ae21d638512ece55d"
                                           "9236fc5046ab6cef82220f421f3ce6361faf3656"
                                           "4ecb6d28798a94aad7b2b4b603ddeaaa5630adb9"
                                           "ece8ac37534036040610ebdd92f46bef84f0be7d"
                                           "b860351843858f8acf87056e272377f70c9f2d81"
                                           "e29c7b0ce4f291a3a72476bb0b278fd4b7b0a4c2"
                                           "6bbeb08214c707137607958729000024c39b7f36"
                                           "8f4681b89fa9b7be6465abd7c5f68b6ed5d3b4c7"
                                           "2cb4240eb5c464122900001c00004004e54f73b7"
                                           "d83f6beb881eab2051d8663f421d10b02b00001c"
                                           "00004005d915368ca036004cb578ae3e3fb26850"
                                           "9aeab19000000020699369228741c6d4ca094c93"
                                           "e242c9de19e7b7c60000000500000500";
static const char *const EX_NONCE_R =
    "9756112ca539f5c25abacc7ee92b73091942a9c06950f98848f1af1694c4ddff";
static const char *const EX_IDI_REST = "010000000a50500d"; /* IPv4 10.80.80.13 */
static const char *const EX_PSK = "6A756E69706572313233";  /* "juniper123" */
static const char *const EX_SK_PI = "094787780EE466E2CB049FA327B43908BC57E485";
static const char *const EX_AUTH = "df7c038aefaaa32d3f44b228b52a332744dfb2c1";

struct bytes {
    uint8_t b[1024];
    size_t n;
};

static struct bytes hex(const char *s)
{
    struct bytes r = {.n = 0};
    size_t len = strlen(s);
    assert_int_equal(len % 2, 0);
    assert_true(len / 2 <= sizeof(r.b));
    for (size_t i = 0; i < len; i += 2) {
        char pair[3] = {s[i], s[i + 1], 0};
        r.b[r.n++] = (uint8_t)strtoul(pair, NULL, 16);
    }
    return r;
}

/* The test's own AUTH: prf(prf(K, "Key Pad for IKEv2"), msg | nonce |
 * prf(SK_p, IDrest)) with OpenSSL's HMAC, one step at a time. */
static size_t ref_auth(const EVP_MD *md, const struct bytes *key, const struct bytes *msg,
                       const struct bytes *nonce, const struct bytes *skp, const struct bytes *id,
                       uint8_t out[64])
{
    uint8_t padded[64], maced[64];
    unsigned plen = 0, mlen = 0, alen = 0;
    const char pad[] = "Key Pad for IKEv2";
    assert_non_null(
        HMAC(md, key->b, (int)key->n, (const uint8_t *)pad, strlen(pad), padded, &plen));
    assert_non_null(HMAC(md, skp->b, (int)skp->n, id->b, id->n, maced, &mlen));
    uint8_t *so = malloc(msg->n + nonce->n + mlen);
    assert_non_null(so);
    memcpy(so, msg->b, msg->n);
    memcpy(so + msg->n, nonce->b, nonce->n);
    memcpy(so + msg->n + nonce->n, maced, mlen);
    assert_non_null(HMAC(md, padded, (int)plen, so, msg->n + nonce->n + mlen, out, &alen));
    free(so);
    return alen;
}

/* The reference composition reproduces the published AUTH. */
static void reference_matches_published_example(void **state)
{
    (void)state;
    struct bytes msg = hex(EX_INIT_REQUEST), nonce = hex(EX_NONCE_R), id = hex(EX_IDI_REST);
    struct bytes psk = hex(EX_PSK), skp = hex(EX_SK_PI), want = hex(EX_AUTH);
    assert_int_equal(msg.n, 0x150); /* the header's length field */
    uint8_t got[64];
    size_t n = ref_auth(EVP_sha1(), &psk, &msg, &nonce, &skp, &id, got);
    assert_int_equal(n, want.n);
    assert_memory_equal(got, want.b, want.n);
}

/* A realistic set of inputs: the example's message, nonce and ID with
 * keys sized for each SHA-2 PRF. */
struct inputs {
    struct bytes msg, nonce, id, psk, skp;
    struct ns_auth_input in;
};

static void make_inputs(struct inputs *t, enum ns_prf_alg prf)
{
    t->msg = hex(EX_INIT_REQUEST);
    t->nonce = hex(EX_NONCE_R);
    t->id = hex(EX_IDI_REST);
    t->psk = hex(EX_PSK);
    t->skp.n = ns_prf_len(prf);
    for (size_t i = 0; i < t->skp.n; i++)
        t->skp.b[i] = (uint8_t)(0x40 + i);
    t->in = (struct ns_auth_input){.prf = prf,
                                   .real_msg = t->msg.b,
                                   .real_msg_len = t->msg.n,
                                   .peer_nonce = t->nonce.b,
                                   .peer_nonce_len = t->nonce.n,
                                   .sk_p = t->skp.b,
                                   .sk_p_len = t->skp.n,
                                   .id_rest = t->id.b,
                                   .id_rest_len = t->id.n};
}

static void psk_matches_reference_for_sha2(void **state)
{
    (void)state;
    const struct {
        enum ns_prf_alg prf;
        const EVP_MD *(*md)(void);
    } algs[] = {{NS_PRF_HMAC_SHA2_256, EVP_sha256},
                {NS_PRF_HMAC_SHA2_384, EVP_sha384},
                {NS_PRF_HMAC_SHA2_512, EVP_sha512}};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        struct inputs t;
        make_inputs(&t, algs[i].prf);
        uint8_t want[64], got[NS_PRF_MAX_LEN];
        size_t wn = ref_auth(algs[i].md(), &t.psk, &t.msg, &t.nonce, &t.skp, &t.id, want);
        size_t gn = 0;
        assert_int_equal(ns_auth_psk_compute(&t.in, t.psk.b, t.psk.n, got, &gn), 0);
        assert_int_equal(gn, ns_prf_len(algs[i].prf));
        assert_int_equal(gn, wn);
        assert_memory_equal(got, want, wn);
        assert_true(ns_auth_psk_verify(&t.in, t.psk.b, t.psk.n, got, gn));
    }
}

/* SignedOctets = RealMessage | Nonce | prf(SK_p, RestOfIDPayload). */
static void signed_octets_layout(void **state)
{
    (void)state;
    struct inputs t;
    make_inputs(&t, NS_PRF_HMAC_SHA2_256);
    uint8_t out[1024];
    size_t n = 0;
    assert_int_equal(ns_auth_signed_octets(&t.in, out, sizeof(out), &n), 0);
    assert_int_equal(n, t.msg.n + t.nonce.n + 32);
    assert_memory_equal(out, t.msg.b, t.msg.n);
    assert_memory_equal(out + t.msg.n, t.nonce.b, t.nonce.n);
    uint8_t mac[32];
    unsigned mlen = 0;
    assert_non_null(HMAC(EVP_sha256(), t.skp.b, (int)t.skp.n, t.id.b, t.id.n, mac, &mlen));
    assert_memory_equal(out + t.msg.n + t.nonce.n, mac, 32);
    /* Exactly enough room, and one byte short. */
    assert_int_equal(ns_auth_signed_octets(&t.in, out, n, &n), 0);
    assert_int_equal(ns_auth_signed_octets(&t.in, out, n - 1, &n), -1);
    assert_int_equal(ns_auth_signed_octets(&t.in, out, 0, &n), -1);
}

/* Any change of any input fails verification. */
static void verify_rejects_changes(void **state)
{
    (void)state;
    struct inputs t;
    make_inputs(&t, NS_PRF_HMAC_SHA2_256);
    uint8_t auth[NS_PRF_MAX_LEN];
    size_t n = 0;
    assert_int_equal(ns_auth_psk_compute(&t.in, t.psk.b, t.psk.n, auth, &n), 0);
    assert_true(ns_auth_psk_verify(&t.in, t.psk.b, t.psk.n, auth, n));

    /* Wrong PSK, or a PSK that is a prefix of the right one. */
    assert_false(ns_auth_psk_verify(&t.in, (const uint8_t *)"juniper124", 10, auth, n));
    assert_false(ns_auth_psk_verify(&t.in, t.psk.b, t.psk.n - 1, auth, n));
    /* Damaged or truncated AUTH, or longer. */
    uint8_t bad[NS_PRF_MAX_LEN + 1];
    memcpy(bad, auth, n);
    bad[n - 1] ^= 1;
    assert_false(ns_auth_psk_verify(&t.in, t.psk.b, t.psk.n, bad, n));
    assert_false(ns_auth_psk_verify(&t.in, t.psk.b, t.psk.n, auth, n - 1));
    memcpy(bad, auth, n);
    bad[n] = 0;
    assert_false(ns_auth_psk_verify(&t.in, t.psk.b, t.psk.n, bad, n + 1));
    assert_false(ns_auth_psk_verify(&t.in, t.psk.b, t.psk.n, NULL, 0));

    /* Each input: message, nonce, SK_p, ID, PRF. */
    struct inputs u = t;
    u.msg.b[100] ^= 1;
    u.in.real_msg = u.msg.b;
    u.in.peer_nonce = u.nonce.b;
    u.in.sk_p = u.skp.b;
    u.in.id_rest = u.id.b;
    assert_false(ns_auth_psk_verify(&u.in, t.psk.b, t.psk.n, auth, n));
    u.msg.b[100] ^= 1;
    u.nonce.b[0]++;
    assert_false(ns_auth_psk_verify(&u.in, t.psk.b, t.psk.n, auth, n));
    u.nonce.b[0]--;
    u.skp.b[3] ^= 0x10;
    assert_false(ns_auth_psk_verify(&u.in, t.psk.b, t.psk.n, auth, n));
    u.skp.b[3] ^= 0x10;
    u.id.b[7] ^= 1; /* another IP in the ID */
    assert_false(ns_auth_psk_verify(&u.in, t.psk.b, t.psk.n, auth, n));
    u.id.b[7] ^= 1;
    assert_true(ns_auth_psk_verify(&u.in, t.psk.b, t.psk.n, auth, n));
    u.in.prf = NS_PRF_HMAC_SHA2_384;
    assert_false(ns_auth_psk_verify(&u.in, t.psk.b, t.psk.n, auth, n));
}

/* Each side's AUTH uses its own message, the other's nonce and its own
 * SK_p: the initiator's value does not verify as the responder's. */
static void roles_differ(void **state)
{
    (void)state;
    struct inputs i, r;
    make_inputs(&i, NS_PRF_HMAC_SHA2_256);
    make_inputs(&r, NS_PRF_HMAC_SHA2_256);
    r.skp.b[0] ^= 0xff; /* SK_pr differs from SK_pi */
    r.in.sk_p = r.skp.b;
    uint8_t ai[NS_PRF_MAX_LEN], ar[NS_PRF_MAX_LEN];
    size_t ni = 0, nr = 0;
    assert_int_equal(ns_auth_psk_compute(&i.in, i.psk.b, i.psk.n, ai, &ni), 0);
    assert_int_equal(ns_auth_psk_compute(&r.in, r.psk.b, r.psk.n, ar, &nr), 0);
    assert_memory_not_equal(ai, ar, ni);
    assert_false(ns_auth_psk_verify(&r.in, r.psk.b, r.psk.n, ai, ni));
}

static void bad_arguments(void **state)
{
    (void)state;
    struct inputs t;
    make_inputs(&t, NS_PRF_HMAC_SHA2_256);
    uint8_t out[NS_PRF_MAX_LEN];
    size_t n;
    struct ns_auth_input in = t.in;
    in.real_msg_len = 0;
    assert_int_equal(ns_auth_psk_compute(&in, t.psk.b, t.psk.n, out, &n), -1);
    in = t.in;
    in.peer_nonce = NULL;
    assert_int_equal(ns_auth_psk_compute(&in, t.psk.b, t.psk.n, out, &n), -1);
    in = t.in;
    in.id_rest_len = 0;
    assert_int_equal(ns_auth_psk_compute(&in, t.psk.b, t.psk.n, out, &n), -1);
    in = t.in;
    in.prf = (enum ns_prf_alg)1; /* HMAC-MD5: not a natsec PRF */
    assert_int_equal(ns_auth_psk_compute(&in, t.psk.b, t.psk.n, out, &n), -1);
    assert_false(ns_auth_psk_verify(&in, t.psk.b, t.psk.n, out, 20));
    assert_int_equal(ns_auth_psk_compute(&t.in, t.psk.b, 0, out, &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_matches_published_example),
        cmocka_unit_test(psk_matches_reference_for_sha2),
        cmocka_unit_test(signed_octets_layout),
        cmocka_unit_test(verify_rejects_changes),
        cmocka_unit_test(roles_differ),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
