/* Unit tests for the signature side of certificate authentication
 * (src/ike/auth_cert.c, X7) below the exchange: which auth method and
 * scheme natsec signs with, by its key and by the hashes the peer
 * announced in SIGNATURE_HASH_ALGORITHMS (RFC 7427 4), and what it takes:
 * RFC 7427 (method 14), the RFC 4754 ECDSA methods (9, 10) and RSA method
 * 1 of RFC 7296 with SHA-2, while SHA-1 is refused by name both in method
 * 14 and in method 1. A peer natsec cannot play in the engine tests (one
 * without RFC 7427, one signing with SHA-1) is played here with the
 * fixture keys. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto/pubkey.h"
#include "crypto/x509.h"
#include "ike/auth_cert.h"
#include "support/certs.h"
#include "support/ike_sim.h"

/* One side of an exchange: its configuration, and what certificate
 * authentication reads of its SA, whose peer IKE_SA_INIT message is given. */
struct side {
    struct ns_conf conf;
    struct ns_cert_sa sa;
    uint8_t peer_init[512];
};

static struct ike_sim_log logs;

static void side_init(struct side *s, const char *name, const char *id, bool rsa_pss)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = %s\ngateway = 198.51.100.1\n"
             "remote_id = vpn.corp.example\ncert = %s/certs/%s.pem\nkey = %s/certs/%s.key\n"
             "ca = %s\nrsa_pss = %s\n[peer vpn.corp.example]\nauth = pubkey\n"
             "subnets = 192.0.2.0/24\n",
             id, getenv("NATSEC_FIXTURES"), name, getenv("NATSEC_FIXTURES"), name,
             cert_path("ca.pem"), rsa_pss ? "yes" : "no");
    ike_sim_load(&s->conf, name, text);
    s->sa = (struct ns_cert_sa){.conf = &s->conf, .id = 0x1234};
}

static void side_free(struct side *s)
{
    ns_conf_free(&s->conf);
}

/* The peer's IKE_SA_INIT answer, with SIGNATURE_HASH_ALGORITHMS listing
 * the n hashes (none at all with n < 0). */
static void peer_announces(struct side *s, const uint16_t *hashes, int n)
{
    struct ns_ike_header h = {
        .spi_i = 1, .spi_r = 2, .exchange = NS_IKE_SA_INIT, .flags = NS_IKE_FLAG_RESPONSE};
    struct ns_ike_builder b;
    uint8_t nonce[32] = {7}, list[16];
    ns_ike_build_begin(&b, s->peer_init, sizeof(s->peer_init), &h);
    ns_ike_add_nonce(&b, nonce, sizeof(nonce));
    for (int i = 0; i < n; i++) {
        list[2 * i] = (uint8_t)(hashes[i] >> 8);
        list[2 * i + 1] = (uint8_t)hashes[i];
    }
    if (n >= 0)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_SIGNATURE_HASH_ALGORITHMS, list, 2 * (size_t)n);
    int len = ns_ike_build_finish(&b);
    assert_true(len > 0);
    s->sa.peer_init = s->peer_init;
    s->sa.peer_init_len = (size_t)len;
}

/* Fixed signed octets (their parts are checked in test_ike_auth.c). */
static const uint8_t MSG[] = "the IKE_SA_INIT message as sent";
static const uint8_t NONCE[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SK_P[32] = {0x55};
static const uint8_t ID_REST[] = {NS_ID_RFC822_ADDR, 0, 0, 0, 'b', '@', 'c'};

static struct ns_auth_input signed_input(void)
{
    return (struct ns_auth_input){.prf = NS_PRF_HMAC_SHA2_256,
                                  .real_msg = MSG,
                                  .real_msg_len = sizeof(MSG),
                                  .peer_nonce = NONCE,
                                  .peer_nonce_len = sizeof(NONCE),
                                  .sk_p = SK_P,
                                  .sk_p_len = sizeof(SK_P),
                                  .id_rest = ID_REST,
                                  .id_rest_len = sizeof(ID_REST)};
}

struct auth_value {
    uint8_t method;
    uint8_t data[NS_AUTH_DATA_MAX];
    size_t len;
};

static struct auth_value sign(struct side *s)
{
    struct auth_value a;
    struct ns_auth_input in = signed_input();
    assert_int_equal(ns_eng_cert_sign(&s->sa, &in, &a.method, a.data, sizeof(a.data), &a.len), 0);
    return a;
}

/* Verifies a as the AUTH of identity id with the certificate of signer,
 * as checked by the side verifier. */
static bool verify(struct side *verifier, struct side *signer, const char *id,
                   const struct auth_value *a, char *why, size_t whylen)
{
    static uint8_t buf[4096];
    struct ns_ike_header h = {.spi_i = 1, .spi_r = 2, .exchange = NS_IKE_AUTH, .msg_id = 1};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &h);
    ns_eng_cert_add_certs(&signer->conf, &b);
    int len = ns_ike_build_finish(&b);
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    struct ns_conf_id cid;
    assert_int_equal(ns_conf_id_parse(id, &cid), 0);
    struct ns_ike_auth auth = {.method = a->method, .data = a->data, .len = a->len};
    struct ns_auth_input in = signed_input();
    why[0] = '\0';
    return ns_eng_cert_verify(&verifier->sa, &pl, &cid, &in, &auth, NULL, why, whylen);
}

static const uint16_t SHA2[] = {NS_HASH_SHA256, NS_HASH_SHA384, NS_HASH_SHA512};

static void rfc7427_when_announced(void **state) /* X7 */
{
    (void)state;
    struct side gw, alice, bob, carol;
    side_init(&gw, "gw-ecdsa", "vpn.corp.example", false);
    side_init(&alice, "alice-ecdsa", "alice@corp.example", false);
    side_init(&bob, "bob-rsa", "bob@corp.example", true);
    side_init(&carol, "carol-p384", "carol@corp.example", false);
    char why[1024], name[NS_SIG_STRLEN];
    struct ns_sig_scheme s;
    /* The hash that suits the key, among those announced. */
    peer_announces(&alice, SHA2, 3);
    struct auth_value a = sign(&alice);
    assert_int_equal(a.method, NS_AUTH_DIGITAL_SIGNATURE);
    assert_int_equal(ns_sig_algid_decode(a.data + 1, a.data[0], &s), 0);
    assert_string_equal(ns_sig_scheme_str(&s, name), "ecdsa-with-SHA256");
    assert_true(verify(&gw, &alice, "alice@corp.example", &a, why, sizeof(why)));
    peer_announces(&carol, SHA2, 3);
    a = sign(&carol);
    assert_int_equal(ns_sig_algid_decode(a.data + 1, a.data[0], &s), 0);
    assert_string_equal(ns_sig_scheme_str(&s, name), "ecdsa-with-SHA384");
    assert_true(verify(&gw, &carol, "carol@corp.example", &a, why, sizeof(why)));
    /* Only SHA-512 announced: P-256 signs with it. */
    peer_announces(&alice, SHA2 + 2, 1);
    a = sign(&alice);
    assert_int_equal(ns_sig_algid_decode(a.data + 1, a.data[0], &s), 0);
    assert_string_equal(ns_sig_scheme_str(&s, name), "ecdsa-with-SHA512");
    assert_true(verify(&gw, &alice, "alice@corp.example", &a, why, sizeof(why)));
    /* RSA with rsa_pss = yes. */
    peer_announces(&bob, SHA2 + 1, 2);
    a = sign(&bob);
    assert_int_equal(ns_sig_algid_decode(a.data + 1, a.data[0], &s), 0);
    assert_string_equal(ns_sig_scheme_str(&s, name), "RSASSA-PSS(SHA-384, MGF1-SHA-384, salt 48)");
    assert_true(verify(&gw, &bob, "bob@corp.example", &a, why, sizeof(why)));
    side_free(&gw);
    side_free(&alice);
    side_free(&bob);
    side_free(&carol);
}

/* A peer without RFC 7427 (no SIGNATURE_HASH_ALGORITHMS, or only SHA-1):
 * ECDSA goes as method 9 or 10 (RFC 4754), RSA cannot go without SHA-1. */
static void legacy_methods_without_rfc7427(void **state) /* X7 */
{
    (void)state;
    struct side gw, alice, bob, carol;
    side_init(&gw, "gw-ecdsa", "vpn.corp.example", false);
    side_init(&alice, "alice-ecdsa", "alice@corp.example", false);
    side_init(&bob, "bob-rsa", "bob@corp.example", false);
    side_init(&carol, "carol-p384", "carol@corp.example", false);
    char why[1024];
    peer_announces(&alice, NULL, -1);
    struct auth_value a = sign(&alice);
    assert_int_equal(a.method, NS_AUTH_ECDSA_256);
    assert_int_equal(a.len, 64); /* r | s */
    assert_true(verify(&gw, &alice, "alice@corp.example", &a, why, sizeof(why)));
    assert_true(ike_sim_log_has(&logs, "ECDSA P-256, ECDSA with SHA-256 (AUTH method 9)"));
    const uint16_t sha1 = NS_HASH_SHA1;
    peer_announces(&carol, &sha1, 1);
    a = sign(&carol);
    assert_int_equal(a.method, NS_AUTH_ECDSA_384);
    assert_int_equal(a.len, 96);
    assert_true(verify(&gw, &carol, "carol@corp.example", &a, why, sizeof(why)));
    /* Method 10 on a P-256 certificate is refused. */
    peer_announces(&alice, NULL, -1);
    struct auth_value p256 = sign(&alice);
    p256.method = NS_AUTH_ECDSA_384;
    assert_false(verify(&gw, &alice, "alice@corp.example", &p256, why, sizeof(why)));
    assert_non_null(
        strstr(why, "it signs with AUTH method 10, its certificate has a ECDSA P-256 key"));
    /* RSA: no method without SHA-1 for such a peer; natsec says so. */
    peer_announces(&bob, NULL, -1);
    struct auth_value r;
    struct ns_auth_input in = signed_input();
    assert_int_equal(ns_eng_cert_sign(&bob.sa, &in, &r.method, r.data, sizeof(r.data), &r.len), -1);
    assert_true(ike_sim_log_has(&logs, "cannot authenticate with our certificate: the peer "
                                       "announces no SHA-2 hash in SIGNATURE_HASH_ALGORITHMS "
                                       "(RFC 7427): an RSA key could only sign with auth method 1 "
                                       "and SHA-1, which natsec does not do"));
    side_free(&gw);
    side_free(&alice);
    side_free(&bob);
    side_free(&carol);
}

/* Method 1 (RSA, the hash not named): taken with SHA-2, refused with its
 * own reason with SHA-1. Method 14 naming SHA-1: refused by name. */
static void rsa_method_1_and_sha1(void **state) /* X7 */
{
    (void)state;
    struct side gw, bob;
    side_init(&gw, "gw-ecdsa", "vpn.corp.example", false);
    side_init(&bob, "bob-rsa", "bob@corp.example", false);
    char why[1024];
    uint8_t mac[NS_PRF_MAX_LEN];
    const uint8_t *parts[3];
    size_t lens[3];
    struct ns_auth_input in = signed_input();
    assert_int_equal(ns_auth_signed_parts(&in, mac, parts, lens), 0);
    EVP_PKEY *key = ns_x509_creds_key(bob.conf.creds);
    for (enum ns_hash_alg h = NS_HASH_SHA1; h <= NS_HASH_SHA512; h++) {
        struct ns_sig_scheme s = {NS_SIG_RSA_PKCS1, h, 0, 0};
        struct auth_value a = {.method = NS_AUTH_RSA_SIG};
        assert_int_equal(
            ns_pkey_sign(key, &s, false, parts, lens, 3, a.data, sizeof(a.data), &a.len), 0);
        bool ok = verify(&gw, &bob, "bob@corp.example", &a, why, sizeof(why));
        if (h == NS_HASH_SHA1) {
            assert_false(ok);
            assert_string_equal(why, "'bob@corp.example' (certificate 'C=CH, O=Corp, CN=bob'): "
                                     "its RSA signature (AUTH method 1) uses SHA-1, which natsec "
                                     "refuses (not collision resistant, RFC 8247): the peer "
                                     "should use RFC 7427 signatures");
        } else {
            assert_true(ok);
        }
        /* The same signature with an RFC 7427 AlgorithmIdentifier. */
        struct auth_value d = {.method = NS_AUTH_DIGITAL_SIGNATURE};
        size_t alen;
        assert_int_equal(ns_sig_algid_encode(&s, d.data + 1, &alen), 0);
        d.data[0] = (uint8_t)alen;
        memcpy(d.data + 1 + alen, a.data, a.len);
        d.len = 1 + alen + a.len;
        ok = verify(&gw, &bob, "bob@corp.example", &d, why, sizeof(why));
        if (h == NS_HASH_SHA1) {
            assert_false(ok);
            assert_non_null(strstr(why, "its signature sha1WithRSAEncryption uses SHA-1, which "
                                        "natsec refuses"));
        } else {
            assert_true(ok);
        }
    }
    /* A Digital Signature whose AlgorithmIdentifier runs past the data, or
     * names nothing natsec knows. */
    struct auth_value bad = {.method = NS_AUTH_DIGITAL_SIGNATURE, .data = {200, 0x30}, .len = 2};
    assert_false(verify(&gw, &bob, "bob@corp.example", &bad, why, sizeof(why)));
    assert_non_null(strstr(why, "names no signature algorithm natsec knows"));
    struct auth_value psk = {.method = NS_AUTH_SHARED_KEY_MIC, .len = 32};
    assert_false(verify(&gw, &bob, "bob@corp.example", &psk, why, sizeof(why)));
    assert_non_null(strstr(why, "its AUTH method 2 is not a signature method natsec takes"));
    side_free(&gw);
    side_free(&bob);
}

static int setup(void **state)
{
    (void)state;
    return ike_sim_log_open(&logs, NS_LOG_DEBUG);
}

static int teardown(void **state)
{
    (void)state;
    ike_sim_log_close(&logs);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rfc7427_when_announced, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_methods_without_rfc7427, setup, teardown),
        cmocka_unit_test_setup_teardown(rsa_method_1_and_sha1, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
