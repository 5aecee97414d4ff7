/* Unit tests for public-key signatures (src/crypto/pubkey, X7): the
 * AlgorithmIdentifiers of RFC 7427 Appendix A byte for byte (A.1 PKCS#1,
 * A.3 ECDSA, A.4 RSASSA-PSS as published and as its errata corrects), the
 * ECDSA-256 test vector of RFC 4754 8.1 (auth method 9's raw r | s), and
 * sign/verify with every scheme natsec uses on the fixture keys
 * (tests/fixtures/certs). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <string.h>

#include "crypto/pubkey.h"
#include "crypto/x509.h"
#include "support/certs.h"

struct bytes {
    uint8_t b[512];
    size_t n;
};

static struct bytes hex(const char *s)
{
    struct bytes r = {.n = 0};
    int hi = -1;
    for (; *s; s++) {
        int v = (*s >= '0' && *s <= '9')   ? *s - '0'
                : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
                : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10
                                           : -1;
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(r.n < sizeof(r.b));
            r.b[r.n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return r;
}

/* ---- RFC 7427 Appendix A ---- */

struct algid_vector {
    const char *what;
    const char *der;
    struct ns_sig_scheme scheme;
    bool encodes_so; /* natsec's encoding is exactly these bytes */
};

static const struct algid_vector vectors[] = {
    /* A.1 PKCS #1 1.5 RSA Encryption (parameters NULL) */
    {"A.1.1 sha1WithRSAEncryption",
     "300d06092a864886f70d0101050500",
     {NS_SIG_RSA_PKCS1, NS_HASH_SHA1, 0, 0},
     true},
    {"A.1.2 sha256WithRSAEncryption",
     "300d06092a864886f70d01010b0500",
     {NS_SIG_RSA_PKCS1, NS_HASH_SHA256, 0, 0},
     true},
    {"A.1.3 sha384WithRSAEncryption",
     "300d06092a864886f70d01010c0500",
     {NS_SIG_RSA_PKCS1, NS_HASH_SHA384, 0, 0},
     true},
    {"A.1.4 sha512WithRSAEncryption",
     "300d06092a864886f70d01010d0500",
     {NS_SIG_RSA_PKCS1, NS_HASH_SHA512, 0, 0},
     true},
    /* A.3 ECDSA (no parameters) */
    {"A.3.1 ecdsa-with-sha1", "300906072a8648ce3d0401", {NS_SIG_ECDSA, NS_HASH_SHA1, 0, 0}, true},
    {"A.3.2 ecdsa-with-sha256",
     "300a06082a8648ce3d040302",
     {NS_SIG_ECDSA, NS_HASH_SHA256, 0, 0},
     true},
    {"A.3.3 ecdsa-with-sha384",
     "300a06082a8648ce3d040303",
     {NS_SIG_ECDSA, NS_HASH_SHA384, 0, 0},
     true},
    {"A.3.4 ecdsa-with-sha512",
     "300a06082a8648ce3d040304",
     {NS_SIG_ECDSA, NS_HASH_SHA512, 0, 0},
     true},
    /* A.4.1 RSASSA-PSS with empty parameters: every default (SHA-1). */
    {"A.4.1 RSASSA-PSS empty parameters",
     "300d06092a864886f70d01010a3000",
     {NS_SIG_RSA_PSS, NS_HASH_SHA1, NS_HASH_SHA1, 20},
     true},
    /* A.4.2 RSASSA-PSS with the default parameters written out. */
    {"A.4.2 RSASSA-PSS default parameters",
     "303e06092a864886f70d01010a3031a00b300906052b0e03021a0500a118301606092a864886f70d0101083009060"
     "52b0e03021a0500a203020114a303020101",
     {NS_SIG_RSA_PSS, NS_HASH_SHA1, NS_HASH_SHA1, 20},
     false},
    /* A.4.3 RSASSA-PSS with SHA-256 as published (trailerField written
     * out although it is the default) ... */
    {"A.4.3 RSASSA-PSS SHA-256 (as published)",
     "304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a864886f70d01010"
     "8300d06096086480165030402010500a203020120a303020101",
     {NS_SIG_RSA_PSS, NS_HASH_SHA256, NS_HASH_SHA256, 32},
     false},
    /* ... and as the errata corrects it (DER: the default left out): what
     * natsec sends. */
    {"A.4.3 RSASSA-PSS SHA-256 (errata)",
     "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d01010"
     "8300d06096086480165030402010500a203020120",
     {NS_SIG_RSA_PSS, NS_HASH_SHA256, NS_HASH_SHA256, 32},
     true},
};

static void same_scheme(const struct ns_sig_scheme *a, const struct ns_sig_scheme *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->hash, b->hash);
    if (a->kind == NS_SIG_RSA_PSS) {
        assert_int_equal(a->mgf1, b->mgf1);
        assert_int_equal(a->salt_len, b->salt_len);
    }
}

static void rfc7427_algorithm_identifiers(void **state) /* X7 */
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct algid_vector *v = &vectors[i];
        struct bytes want = hex(v->der);
        struct ns_sig_scheme got;
        print_message("%s\n", v->what);
        assert_int_equal(ns_sig_algid_decode(want.b, want.n, &got), 0);
        same_scheme(&got, &v->scheme);
        uint8_t enc[NS_SIG_ALGID_MAX];
        size_t len = 0;
        assert_int_equal(ns_sig_algid_encode(&v->scheme, enc, &len), 0);
        if (v->encodes_so) {
            assert_int_equal(len, want.n);
            assert_memory_equal(enc, want.b, want.n);
        }
    }
    /* The other PSS suites natsec signs with, as strongSwan writes them. */
    struct ns_sig_scheme pss512 = {NS_SIG_RSA_PSS, NS_HASH_SHA512, NS_HASH_SHA512, 64}, got;
    struct bytes want =
        hex("304106092a864886f70d01010a3034a00f300d06096086480165030402030500a11c301a"
            "06092a864886f70d010108300d06096086480165030402030500a203020140");
    uint8_t enc[NS_SIG_ALGID_MAX];
    size_t len;
    assert_int_equal(ns_sig_algid_encode(&pss512, enc, &len), 0);
    assert_int_equal(len, want.n);
    assert_memory_equal(enc, want.b, len);
    assert_int_equal(ns_sig_algid_decode(want.b, want.n, &got), 0);
    same_scheme(&got, &pss512);
}

static void algorithm_identifiers_refused(void **state) /* X7 */
{
    (void)state;
    static const char *const bad[] = {
        "", "30", "300a06082a8648ce3d04030200",     /* a trailing byte */
        "300b06082a8648ce3d040302",                 /* length past the end */
        "300d06096086480165030403020500",           /* A.2.2 dsa-with-sha256: not natsec's */
        "300c06082a8648ce3d0403020400",             /* ECDSA with an OCTET STRING parameter */
        "301206092a864886f70d01010a3005a303020102", /* PSS trailerField 2 */
        /* PSS with an unknown hash (2.16.840.1.101.3.4.2.0) */
        "301e06092a864886f70d01010a3011a00f300d06096086480165030402000500",
        /* PSS with another mask generation function (1.2.840.113549.1.1.0) */
        "302b06092a864886f70d01010a301ea11c301a06092a864886f70d010100300d0609608648016503040201050"
        "0",
        /* PSS with a salt of 2^64 - 1 */
        ("303006092a864886f70d01010a3023a00f300d06096086480165030402010500a2100"
         "20e00ffffffffffffffffffffffffff"),
        "3003060100", /* OID of zero length */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct bytes b = hex(bad[i]);
        struct ns_sig_scheme s;
        print_message("%s\n", bad[i]);
        assert_int_equal(ns_sig_algid_decode(b.b, b.n, &s), -1);
        assert_int_equal(s.kind, NS_SIG_NONE);
    }
}

/* ---- RFC 4754 8.1: ECDSA-256, what auth method 9 carries ---- */

static EVP_PKEY *p256_public(const struct bytes *x, const struct bytes *y)
{
    uint8_t point[65];
    point[0] = 0x04;
    memcpy(point + 1, x->b, 32);
    memcpy(point + 33, y->b, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_non_null(bld);
    assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
    assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 65));
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

static void rfc4754_ecdsa256_vector(void **state) /* X7 */
{
    (void)state;
    struct bytes x = hex("2442A5CC 0ECD015F A3CA31DC 8E2BBC70 BF42D60C BCA20085 E0822CB0 4235E970");
    struct bytes y = hex("6FC98BD7 E50211A4 A27102FA 3549DF79 EBCB4BF2 46B80945 CDDFE7D5 09BBFD7D");
    struct bytes sig =
        hex("CB28E099 9B9C7715 FD0A80D8 E47A7707 9716CBBF 917DD72E 97566EA1 C066957C"
            "86FA3BB4 E26CAD5B F90B7F81 899256CE 7594BB1E A0C89212 748BFF3B 3D5B0315");
    EVP_PKEY *key = p256_public(&x, &y);
    assert_int_equal(ns_pkey_type(key), NS_KEY_EC_P256);
    const struct ns_sig_scheme s = {NS_SIG_ECDSA, NS_HASH_SHA256, 0, 0};
    /* The message "abc" in two parts, as signed octets come. */
    const uint8_t *parts[2] = {(const uint8_t *)"a", (const uint8_t *)"bc"};
    const size_t lens[2] = {1, 2};
    assert_int_equal(ns_pkey_verify(key, &s, true, parts, lens, 2, sig.b, sig.n), 1);
    /* Any other message, a flipped bit, or a wrong size is refused. */
    const size_t lens2[2] = {1, 1};
    assert_int_equal(ns_pkey_verify(key, &s, true, parts, lens2, 2, sig.b, sig.n), 0);
    sig.b[40] ^= 0x01;
    assert_int_equal(ns_pkey_verify(key, &s, true, parts, lens, 2, sig.b, sig.n), 0);
    sig.b[40] ^= 0x01;
    assert_int_equal(ns_pkey_verify(key, &s, true, parts, lens, 2, sig.b, sig.n - 1), 0);
    /* The raw form is not DER: read as DER it does not verify. */
    assert_int_equal(ns_pkey_verify(key, &s, false, parts, lens, 2, sig.b, sig.n), 0);
    EVP_PKEY_free(key);
}

/* ---- signing and verifying with the fixture keys ---- */

struct creds_pair {
    struct ns_x509_creds *c;
};

static struct ns_x509_creds *load(const char *name)
{
    char cert[64], key[64], err[512];
    snprintf(cert, sizeof(cert), "%s.pem", name);
    snprintf(key, sizeof(key), "%s.key", name);
    struct ns_x509_creds *c = ns_x509_creds_new();
    assert_non_null(c);
    if (ns_x509_creds_load_cert(c, cert_path(cert), err, sizeof(err)) != 0 ||
        ns_x509_creds_load_key(c, cert_path(key), err, sizeof(err)) != 0 ||
        ns_x509_creds_check(c, 0, err, sizeof(err)) != 0)
        fail_msg("%s: %s", name, err);
    return c;
}

/* Signs with the private key, verifies with the certificate's public key
 * (a different EVP_PKEY object), then refuses a changed message. */
static void round_trip(struct ns_x509_creds *c, const struct ns_sig_scheme *s, bool raw)
{
    char name[NS_SIG_STRLEN];
    print_message("%s%s\n", ns_sig_scheme_str(s, name), raw ? " (raw)" : "");
    uint8_t msg[300], sig[NS_SIG_MAX];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 13);
    const uint8_t *parts[3] = {msg, msg + 100, msg + 290};
    const size_t lens[3] = {100, 190, 10};
    size_t len = 0;
    assert_int_equal(
        ns_pkey_sign(ns_x509_creds_key(c), s, raw, parts, lens, 3, sig, sizeof(sig), &len), 0);
    EVP_PKEY *pub = ns_x509_pubkey(ns_x509_creds_cert(c));
    /* The same bytes in one part. */
    const uint8_t *whole[1] = {msg};
    const size_t wlen[1] = {sizeof(msg)};
    assert_int_equal(ns_pkey_verify(pub, s, raw, whole, wlen, 1, sig, len), 1);
    msg[150] ^= 0x80;
    assert_int_equal(ns_pkey_verify(pub, s, raw, whole, wlen, 1, sig, len), 0);
    msg[150] ^= 0x80;
    sig[len / 2] ^= 0x01;
    assert_int_equal(ns_pkey_verify(pub, s, raw, whole, wlen, 1, sig, len), 0);
}

static void ecdsa_sign_verify(void **state) /* X7 */
{
    (void)state;
    struct ns_x509_creds *p256 = load("gw-ecdsa"), *p384 = load("carol-p384");
    char buf[NS_SIG_STRLEN];
    assert_string_equal(ns_pkey_str(ns_x509_creds_key(p256), buf), "ECDSA P-256");
    assert_string_equal(ns_pkey_str(ns_x509_creds_key(p384), buf), "ECDSA P-384");
    for (enum ns_hash_alg h = NS_HASH_SHA256; h <= NS_HASH_SHA512; h++) {
        struct ns_sig_scheme s = {NS_SIG_ECDSA, h, 0, 0};
        round_trip(p256, &s, false);
        round_trip(p384, &s, false);
    }
    /* RFC 4754 sizes: r | s of 32 bytes each on P-256, 48 on P-384. */
    struct ns_sig_scheme s256 = {NS_SIG_ECDSA, NS_HASH_SHA256, 0, 0};
    struct ns_sig_scheme s384 = {NS_SIG_ECDSA, NS_HASH_SHA384, 0, 0};
    round_trip(p256, &s256, true);
    round_trip(p384, &s384, true);
    uint8_t sig[NS_SIG_MAX];
    size_t len;
    const uint8_t *parts[1] = {(const uint8_t *)"x"};
    const size_t lens[1] = {1};
    assert_int_equal(
        ns_pkey_sign(ns_x509_creds_key(p384), &s384, true, parts, lens, 1, sig, sizeof(sig), &len),
        0);
    assert_int_equal(len, 96);
    ns_x509_creds_free(p256);
    ns_x509_creds_free(p384);
}

/* P-521 (auth method 11's curve): a key made here, r | s of 66 bytes. */
static void ecdsa_p521(void **state) /* X7 */
{
    (void)state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    assert_non_null(key);
    char buf[NS_SIG_STRLEN];
    assert_int_equal(ns_pkey_type(key), NS_KEY_EC_P521);
    assert_string_equal(ns_pkey_str(key, buf), "ECDSA P-521");
    struct ns_sig_scheme s = {NS_SIG_ECDSA, NS_HASH_SHA512, 0, 0};
    const uint8_t *parts[1] = {(const uint8_t *)"P-521"};
    const size_t lens[1] = {5};
    uint8_t sig[NS_SIG_MAX];
    size_t len;
    for (int raw = 0; raw < 2; raw++) {
        assert_int_equal(ns_pkey_sign(key, &s, raw, parts, lens, 1, sig, sizeof(sig), &len), 0);
        if (raw)
            assert_int_equal(len, 132);
        assert_int_equal(ns_pkey_verify(key, &s, raw, parts, lens, 1, sig, len), 1);
        sig[3] ^= 0x10;
        assert_int_equal(ns_pkey_verify(key, &s, raw, parts, lens, 1, sig, len), 0);
    }
    EVP_PKEY_free(key);
}

static void rsa_sign_verify(void **state) /* X7 */
{
    (void)state;
    struct ns_x509_creds *rsa = load("bob-rsa");
    char buf[NS_SIG_STRLEN];
    assert_string_equal(ns_pkey_str(ns_x509_creds_key(rsa), buf), "RSA-2048");
    for (enum ns_hash_alg h = NS_HASH_SHA256; h <= NS_HASH_SHA512; h++) {
        struct ns_sig_scheme pkcs1 = {NS_SIG_RSA_PKCS1, h, 0, 0};
        struct ns_sig_scheme pss = {NS_SIG_RSA_PSS, h, h, (unsigned)ns_hash_len(h)};
        round_trip(rsa, &pkcs1, false);
        round_trip(rsa, &pss, false);
    }
    /* A PSS signature checked with another salt length is refused, and so
     * is a PKCS#1 one checked as PSS. */
    struct ns_sig_scheme pss = {NS_SIG_RSA_PSS, NS_HASH_SHA256, NS_HASH_SHA256, 32};
    struct ns_sig_scheme pss20 = pss, pkcs1 = {NS_SIG_RSA_PKCS1, NS_HASH_SHA256, 0, 0};
    pss20.salt_len = 20;
    uint8_t sig[NS_SIG_MAX];
    size_t len;
    const uint8_t *parts[1] = {(const uint8_t *)"signed octets"};
    const size_t lens[1] = {13};
    EVP_PKEY *pub = ns_x509_pubkey(ns_x509_creds_cert(rsa));
    assert_int_equal(
        ns_pkey_sign(ns_x509_creds_key(rsa), &pss, false, parts, lens, 1, sig, sizeof(sig), &len),
        0);
    assert_int_equal(len, 256);
    assert_int_equal(ns_pkey_verify(pub, &pss, false, parts, lens, 1, sig, len), 1);
    assert_int_equal(ns_pkey_verify(pub, &pss20, false, parts, lens, 1, sig, len), 0);
    assert_int_equal(ns_pkey_verify(pub, &pkcs1, false, parts, lens, 1, sig, len), 0);
    ns_x509_creds_free(rsa);
}

static void scheme_must_fit_key(void **state) /* X7 */
{
    (void)state;
    struct ns_x509_creds *ec = load("alice-ecdsa"), *rsa = load("bob-rsa");
    struct ns_sig_scheme ecdsa = {NS_SIG_ECDSA, NS_HASH_SHA256, 0, 0};
    struct ns_sig_scheme pkcs1 = {NS_SIG_RSA_PKCS1, NS_HASH_SHA256, 0, 0};
    struct ns_sig_scheme pss = {NS_SIG_RSA_PSS, NS_HASH_SHA256, NS_HASH_SHA256, 32};
    struct ns_sig_scheme none = {NS_SIG_ECDSA, NS_HASH_NONE, 0, 0};
    uint8_t sig[NS_SIG_MAX] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    size_t len;
    const uint8_t *parts[1] = {(const uint8_t *)"x"};
    const size_t lens[1] = {1};
    assert_int_equal(
        ns_pkey_sign(ns_x509_creds_key(rsa), &ecdsa, false, parts, lens, 1, sig, sizeof(sig), &len),
        -1);
    assert_int_equal(
        ns_pkey_sign(ns_x509_creds_key(ec), &pss, false, parts, lens, 1, sig, sizeof(sig), &len),
        -1);
    assert_int_equal(
        ns_pkey_sign(ns_x509_creds_key(ec), &none, false, parts, lens, 1, sig, sizeof(sig), &len),
        -1);
    assert_int_equal(ns_pkey_verify(ns_x509_pubkey(ns_x509_creds_cert(ec)), &pkcs1, false, parts,
                                    lens, 1, sig, 8),
                     -1);
    /* Too small an output buffer is an error, never an overflow. */
    assert_int_equal(
        ns_pkey_sign(ns_x509_creds_key(rsa), &pkcs1, false, parts, lens, 1, sig, 100, &len), -1);
    assert_false(ns_sig_fits_key(&ecdsa, NS_KEY_RSA));
    assert_true(ns_sig_fits_key(&ecdsa, NS_KEY_EC_P384));
    assert_false(ns_sig_fits_key(&pss, NS_KEY_OTHER));
    ns_x509_creds_free(ec);
    ns_x509_creds_free(rsa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7427_algorithm_identifiers),
        cmocka_unit_test(algorithm_identifiers_refused),
        cmocka_unit_test(rfc4754_ecdsa256_vector),
        cmocka_unit_test(ecdsa_sign_verify),
        cmocka_unit_test(ecdsa_p521),
        cmocka_unit_test(rsa_sign_verify),
        cmocka_unit_test(scheme_must_fit_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
