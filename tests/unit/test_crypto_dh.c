/* Unit tests for src/crypto/dh: X25519 against RFC 7748, ECP-256 against
 * RFC 5903, MODP-2048 agreement and padding, and rejection of invalid peer
 * values in every group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <openssl/bn.h>
#include <string.h>

#include "crypto/dh.h"
#include "support/test_hex.h"

/* shared = X25519(scalar, u) through ns_dh: the private key is the scalar
 * and the peer's public value is u. */
static int x25519(const char *scalar_hex, const uint8_t u[32], uint8_t out[32])
{
    uint8_t k[32];
    assert_int_equal(test_unhex(scalar_hex, k, sizeof(k)), 32);
    struct ns_dh *dh = ns_dh_new_from_private(NS_DH_CURVE25519, k, 32);
    assert_non_null(dh);
    int rc = ns_dh_derive(dh, u, 32, out, 32);
    ns_dh_free(dh);
    return rc;
}

/* RFC 7748 5.2, both test vectors (the second one's u has its top bit set,
 * which X25519 must ignore). */
static void rfc7748_5_2_x25519_scalar_multiplication(void **state)
{
    (void)state;
    uint8_t u[32], want[32], got[32];
    test_unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u, 32);
    test_unhex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552", want, 32);
    assert_int_equal(
        x25519("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", u, got), 0);
    assert_memory_equal(got, want, 32);
    test_unhex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", u, 32);
    test_unhex("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957", want, 32);
    assert_int_equal(
        x25519("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", u, got), 0);
    assert_memory_equal(got, want, 32);
}

/* RFC 7748 6.1: Alice's and Bob's public keys and their shared secret. */
static void rfc7748_6_1_x25519_alice_and_bob(void **state)
{
    (void)state;
    uint8_t a_priv[32], b_priv[32], a_pub[32], b_pub[32], shared[32], got[32];
    test_unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a_priv, 32);
    test_unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", a_pub, 32);
    test_unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b_priv, 32);
    test_unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pub, 32);
    test_unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", shared, 32);
    struct ns_dh *alice = ns_dh_new_from_private(NS_DH_CURVE25519, a_priv, 32);
    struct ns_dh *bob = ns_dh_new_from_private(NS_DH_CURVE25519, b_priv, 32);
    assert_non_null(alice);
    assert_non_null(bob);
    assert_int_equal(ns_dh_group_of(alice), NS_DH_CURVE25519);
    assert_int_equal(ns_dh_public(alice, got, sizeof(got)), 0);
    assert_memory_equal(got, a_pub, 32);
    assert_int_equal(ns_dh_public(bob, got, sizeof(got)), 0);
    assert_memory_equal(got, b_pub, 32);
    assert_int_equal(ns_dh_derive(alice, b_pub, 32, got, sizeof(got)), 0);
    assert_memory_equal(got, shared, 32);
    assert_int_equal(ns_dh_derive(bob, a_pub, 32, got, sizeof(got)), 0);
    assert_memory_equal(got, shared, 32);
    ns_dh_free(alice);
    ns_dh_free(bob);
}

/* RFC 8031 2.2: a low-order peer point gives an all-zero secret, which
 * must be rejected. u = 0 has order 2 and u = 1 order 4; the clamped
 * scalar is a multiple of 8, so both give zero. */
static void x25519_low_order_peer_points_are_rejected(void **state)
{
    (void)state;
    uint8_t u[32] = {0}, out[32];
    const char *k = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    assert_int_equal(x25519(k, u, out), -1);
    u[0] = 1;
    assert_int_equal(x25519(k, u, out), -1);
    struct ns_dh *fresh = ns_dh_new(NS_DH_CURVE25519);
    assert_non_null(fresh);
    memset(u, 0, sizeof(u));
    assert_int_equal(ns_dh_derive(fresh, u, 32, out, 32), -1);
    ns_dh_free(fresh);
}

#define RFC5903_I "c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433"
#define RFC5903_GI                                                                                 \
    "dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"                             \
    "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3"
#define RFC5903_R "c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53"
#define RFC5903_GR                                                                                 \
    "d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63"                             \
    "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab"
#define RFC5903_GIR "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de"

/* RFC 5903 8.1: i, g^i, r, g^r and g^ir (its x coordinate, RFC 5903 7). */
static void rfc5903_8_1_ecp256_vector(void **state)
{
    (void)state;
    uint8_t i[32], r[32], gi[64], gr[64], gir[32], got[64];
    test_unhex(RFC5903_I, i, 32);
    test_unhex(RFC5903_GI, gi, 64);
    test_unhex(RFC5903_R, r, 32);
    test_unhex(RFC5903_GR, gr, 64);
    test_unhex(RFC5903_GIR, gir, 32);
    assert_int_equal(ns_dh_public_len(NS_DH_ECP256), 64);
    assert_int_equal(ns_dh_shared_len(NS_DH_ECP256), 32);
    struct ns_dh *init = ns_dh_new_from_private(NS_DH_ECP256, i, 32);
    struct ns_dh *resp = ns_dh_new_from_private(NS_DH_ECP256, r, 32);
    assert_non_null(init);
    assert_non_null(resp);
    assert_int_equal(ns_dh_public(init, got, sizeof(got)), 0);
    assert_memory_equal(got, gi, 64);
    assert_int_equal(ns_dh_public(resp, got, sizeof(got)), 0);
    assert_memory_equal(got, gr, 64);
    assert_int_equal(ns_dh_derive(init, gr, 64, got, 32), 0);
    assert_memory_equal(got, gir, 32);
    assert_int_equal(ns_dh_derive(resp, gi, 64, got, 32), 0);
    assert_memory_equal(got, gir, 32);
    ns_dh_free(init);
    ns_dh_free(resp);
}

/* Off-curve points, the all-zero encoding and coordinates that are not
 * field elements are rejected, as are scalars outside [1, n-1]. */
static void ecp256_invalid_peer_points_are_rejected(void **state)
{
    (void)state;
    uint8_t i[32], peer[64], out[32];
    test_unhex(RFC5903_I, i, 32);
    struct ns_dh *dh = ns_dh_new_from_private(NS_DH_ECP256, i, 32);
    assert_non_null(dh);

    test_unhex(RFC5903_GR, peer, 64);
    peer[63] ^= 1; /* y changed: (x, y') is not on the curve */
    assert_int_equal(ns_dh_derive(dh, peer, 64, out, 32), -1);
    peer[63] ^= 1;
    peer[0] ^= 0x80; /* x changed */
    assert_int_equal(ns_dh_derive(dh, peer, 64, out, 32), -1);
    memset(peer, 0, sizeof(peer)); /* (0, 0): not a point; no encoding for infinity */
    assert_int_equal(ns_dh_derive(dh, peer, 64, out, 32), -1);
    memset(peer, 0xff, sizeof(peer)); /* coordinates >= p */
    assert_int_equal(ns_dh_derive(dh, peer, 64, out, 32), -1);
    test_unhex(RFC5903_GR, peer, 64);
    assert_int_equal(ns_dh_derive(dh, peer, 63, out, 32), -1); /* short */
    assert_int_equal(ns_dh_derive(dh, peer, 64, out, 31), -1); /* no room */
    assert_int_equal(ns_dh_derive(dh, peer, 64, out, 32), 0);  /* still fine */
    ns_dh_free(dh);

    uint8_t zero[32] = {0}, n[32];
    test_unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", n, 32);
    assert_null(ns_dh_new_from_private(NS_DH_ECP256, zero, 32));
    assert_null(ns_dh_new_from_private(NS_DH_ECP256, n, 32));
    assert_null(ns_dh_new_from_private(NS_DH_ECP256, i, 31));
}

static void fresh_keys_agree(enum ns_dh_group group)
{
    uint8_t pa[NS_DH_MAX_PUBLIC], pb[NS_DH_MAX_PUBLIC], sa[NS_DH_MAX_SHARED], sb[NS_DH_MAX_SHARED];
    const size_t pub_len = ns_dh_public_len(group), sh_len = ns_dh_shared_len(group);
    struct ns_dh *a = ns_dh_new(group), *b = ns_dh_new(group);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(ns_dh_group_of(a), group);
    assert_int_equal(ns_dh_public(a, pa, pub_len), 0);
    assert_int_equal(ns_dh_public(b, pb, pub_len), 0);
    assert_memory_not_equal(pa, pb, pub_len);
    assert_int_equal(ns_dh_derive(a, pb, pub_len, sa, sh_len), 0);
    assert_int_equal(ns_dh_derive(b, pa, pub_len, sb, sh_len), 0);
    assert_memory_equal(sa, sb, sh_len);
    ns_dh_free(a);
    ns_dh_free(b);
}

static void fresh_key_pairs_agree_in_every_group(void **state)
{
    (void)state;
    fresh_keys_agree(NS_DH_CURVE25519);
    fresh_keys_agree(NS_DH_ECP256);
    fresh_keys_agree(NS_DH_MODP2048);
    fresh_keys_agree(NS_DH_MODP1024); /* X12 */
}

/* p + delta, big-endian in len bytes (BN does the carries, since the
 * MODP primes end in 64 one bits). */
static void prime_plus(const BIGNUM *p, long delta, uint8_t *out, size_t len)
{
    BIGNUM *bn = BN_dup(p);
    assert_non_null(bn);
    if (delta >= 0)
        assert_int_equal(BN_add_word(bn, (BN_ULONG)delta), 1);
    else
        assert_int_equal(BN_sub_word(bn, (BN_ULONG)-delta), 1);
    assert_int_equal(BN_bn2binpad(bn, out, (int)len), (int)len);
    BN_free(bn);
}

/* Peer values outside [2, p-2] (RFC 7296 / SP 800-56A) are rejected: 0, 1,
 * p-1, p, p+1 and 2^(8 len)-1, while 2 is accepted. */
static void check_modp_peer_range(enum ns_dh_group group, const BIGNUM *p, size_t len)
{
    uint8_t v[256], out[256];
    /* Sanity against RFC 2409 6 and RFC 3526: p begins and ends with 64
     * one bits. */
    prime_plus(p, 0, v, len);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(v[i], 0xff);
        assert_int_equal(v[len - 8 + i], 0xff);
    }
    struct ns_dh *dh = ns_dh_new(group);
    assert_non_null(dh);

    memset(v, 0, len);
    assert_int_equal(ns_dh_derive(dh, v, len, out, len), -1); /* 0 */
    v[len - 1] = 1;
    assert_int_equal(ns_dh_derive(dh, v, len, out, len), -1); /* 1 */
    prime_plus(p, -1, v, len);
    assert_int_equal(ns_dh_derive(dh, v, len, out, len), -1); /* p-1 */
    prime_plus(p, 0, v, len);
    assert_int_equal(ns_dh_derive(dh, v, len, out, len), -1); /* p */
    prime_plus(p, 1, v, len);
    assert_int_equal(ns_dh_derive(dh, v, len, out, len), -1); /* p+1 */
    memset(v, 0xff, len);
    assert_int_equal(ns_dh_derive(dh, v, len, out, len), -1);     /* 2^(8 len)-1 > p */
    assert_int_equal(ns_dh_derive(dh, v, len - 1, out, len), -1); /* short */

    /* g = 2 itself is a legitimate public value (that of x = 1). */
    memset(v, 0, len);
    v[len - 1] = 2;
    assert_int_equal(ns_dh_derive(dh, v, len, out, len), 0);
    ns_dh_free(dh);
}

/* RFC 3526 group 14 (p from OpenSSL's copy). */
static void modp2048_peer_values_outside_2_to_p_minus_2_are_rejected(void **state)
{
    (void)state;
    BIGNUM *p = BN_get_rfc3526_prime_2048(NULL);
    assert_non_null(p);
    check_modp_peer_range(NS_DH_MODP2048, p, 256);
    BN_free(p);
}

/* The prime of RFC 2409 6.2 (the Second Oakley Group, IKEv2 group 2), as
 * printed there: 2^1024 - 2^960 - 1 + 2^64 * { [2^894 pi] + 129093 }. */
static BIGNUM *rfc2409_group2_prime(void)
{
    BIGNUM *p = NULL;
    assert_int_not_equal(
        BN_hex2bn(&p, "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
                      "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
                      "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
                      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF"),
        0);
    return p;
}

/* X12: MODP-1024 (legacy_proposals only) is RFC 2409's group: g^x for a
 * 160-bit x equals an independent BN_mod_exp over the printed prime, two
 * sides agree on the 128-byte g^xy, and values outside [2, p-2] fail. */
static void modp1024_is_rfc2409_group2(void **state)
{
    /* X12 */
    (void)state;
    assert_int_equal(ns_dh_public_len(NS_DH_MODP1024), 128);
    assert_int_equal(ns_dh_shared_len(NS_DH_MODP1024), 128);
    BIGNUM *p = rfc2409_group2_prime();
    uint8_t xa[20], xb[20], pub_a[128], pub_b[128], sa[128], sb[128], want[128];
    for (size_t i = 0; i < 20; i++) {
        xa[i] = (uint8_t)(0x80 + i * 7);
        xb[i] = (uint8_t)(0x33 ^ (i * 11));
    }
    struct ns_dh *a = ns_dh_new_from_private(NS_DH_MODP1024, xa, sizeof(xa));
    struct ns_dh *b = ns_dh_new_from_private(NS_DH_MODP1024, xb, sizeof(xb));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(ns_dh_group_of(a), NS_DH_MODP1024);
    assert_int_equal(ns_dh_public(a, pub_a, sizeof(pub_a)), 0);
    assert_int_equal(ns_dh_public(b, pub_b, sizeof(pub_b)), 0);

    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *g = BN_new(), *x = BN_bin2bn(xa, sizeof(xa), NULL), *y = BN_new();
    BIGNUM *yb = BN_bin2bn(pub_b, sizeof(pub_b), NULL), *z = BN_new();
    assert_true(ctx && g && x && y && yb && z && BN_set_word(g, 2) == 1);
    assert_int_equal(BN_mod_exp(y, g, x, p, ctx), 1);
    assert_int_equal(BN_bn2binpad(y, want, 128), 128);
    assert_memory_equal(pub_a, want, 128);
    assert_int_equal(BN_mod_exp(z, yb, x, p, ctx), 1); /* (g^xb)^xa */
    assert_int_equal(BN_bn2binpad(z, want, 128), 128);

    assert_int_equal(ns_dh_derive(a, pub_b, 128, sa, sizeof(sa)), 0);
    assert_int_equal(ns_dh_derive(b, pub_a, 128, sb, sizeof(sb)), 0);
    assert_memory_equal(sa, want, 128);
    assert_memory_equal(sb, want, 128);
    /* A group-14 sized value is not a group-2 one. */
    uint8_t big[256] = {0};
    big[255] = 5;
    assert_int_equal(ns_dh_derive(a, big, 256, sa, sizeof(sa)), -1);
    BN_free(z);
    BN_free(yb);
    BN_free(y);
    BN_free(x);
    BN_free(g);
    BN_CTX_free(ctx);
    ns_dh_free(a);
    ns_dh_free(b);

    check_modp_peer_range(NS_DH_MODP1024, p, 128);
    BN_free(p);
    uint8_t one = 1, two = 2;
    assert_null(ns_dh_new_from_private(NS_DH_MODP1024, &one, 1));
    struct ns_dh *c = ns_dh_new_from_private(NS_DH_MODP1024, &two, 1);
    assert_non_null(c);
    assert_int_equal(ns_dh_public(c, pub_a, sizeof(pub_a)), 0);
    memset(want, 0, sizeof(want));
    want[127] = 4; /* left-padded to the prime's 128 bytes */
    assert_memory_equal(pub_a, want, 128);
    ns_dh_free(c);
}

/* With private exponents 2 and 3, the public values are 4 and 8 and the
 * shared secret is 2^6 = 64: it checks g^x, and that g^ir is left-padded
 * with zeros to the 256 bytes of the prime (RFC 7296 3.4). */
static void modp2048_small_exponents_show_values_and_left_padding(void **state)
{
    (void)state;
    uint8_t two = 2, three = 3, pub_a[256], pub_b[256], shared[256], want[256];
    assert_int_equal(ns_dh_public_len(NS_DH_MODP2048), 256);
    assert_int_equal(ns_dh_shared_len(NS_DH_MODP2048), 256);
    struct ns_dh *a = ns_dh_new_from_private(NS_DH_MODP2048, &two, 1);
    struct ns_dh *b = ns_dh_new_from_private(NS_DH_MODP2048, &three, 1);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(ns_dh_public(a, pub_a, sizeof(pub_a)), 0);
    assert_int_equal(ns_dh_public(b, pub_b, sizeof(pub_b)), 0);
    memset(want, 0, sizeof(want));
    want[255] = 4;
    assert_memory_equal(pub_a, want, 256);
    want[255] = 8;
    assert_memory_equal(pub_b, want, 256);
    want[255] = 64;
    memset(shared, 0xee, sizeof(shared));
    assert_int_equal(ns_dh_derive(a, pub_b, 256, shared, 256), 0);
    assert_memory_equal(shared, want, 256);
    memset(shared, 0xee, sizeof(shared));
    assert_int_equal(ns_dh_derive(b, pub_a, 256, shared, 256), 0);
    assert_memory_equal(shared, want, 256);
    ns_dh_free(a);
    ns_dh_free(b);
    uint8_t one = 1;
    assert_null(ns_dh_new_from_private(NS_DH_MODP2048, &one, 1));
}

static void lengths_and_unknown_groups(void **state)
{
    (void)state;
    uint8_t k[32] = {1};
    assert_int_equal(ns_dh_public_len(NS_DH_CURVE25519), 32);
    assert_int_equal(ns_dh_shared_len(NS_DH_CURVE25519), 32);
    assert_int_equal(ns_dh_public_len((enum ns_dh_group)1), 0); /* MODP-768 */
    assert_int_equal(ns_dh_shared_len((enum ns_dh_group)15), 0);
    assert_null(ns_dh_new((enum ns_dh_group)5));
    assert_null(ns_dh_new_from_private((enum ns_dh_group)5, k, 32));
    assert_null(ns_dh_new_from_private(NS_DH_CURVE25519, k, 31));
    struct ns_dh *dh = ns_dh_new(NS_DH_CURVE25519);
    assert_non_null(dh);
    uint8_t pub[32];
    assert_int_equal(ns_dh_public(dh, pub, 31), -1);
    ns_dh_free(dh);
    ns_dh_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7748_5_2_x25519_scalar_multiplication),
        cmocka_unit_test(rfc7748_6_1_x25519_alice_and_bob),
        cmocka_unit_test(x25519_low_order_peer_points_are_rejected),
        cmocka_unit_test(rfc5903_8_1_ecp256_vector),
        cmocka_unit_test(ecp256_invalid_peer_points_are_rejected),
        cmocka_unit_test(fresh_key_pairs_agree_in_every_group),
        cmocka_unit_test(modp2048_peer_values_outside_2_to_p_minus_2_are_rejected),
        cmocka_unit_test(modp2048_small_exponents_show_values_and_left_padding),
        cmocka_unit_test(modp1024_is_rfc2409_group2),
        cmocka_unit_test(lengths_and_unknown_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
