/* Unit tests for src/crypto/mschapv2 (X12: EAP-MSCHAPv2 for the clients
 * built into Windows, macOS/iOS and the strongSwan app): RFC 2759 section
 * 9.2's worked example, RFC 3079 section 3.5's MPPE key example, the MSK
 * composed by hand, the UTF-16LE password encoding, and the checks both
 * sides make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <string.h>

#include "crypto/mschapv2.h"
#include "support/test_hex.h"

/* RFC 2759 9.2 (and RFC 3079 3.5, which repeats it). */
#define USER "User"
#define PASSWORD "clientPass"
#define AUTH_CHALLENGE "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28"
#define PEER_CHALLENGE "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E"
#define CHALLENGE "D0 2E 43 86 BC E9 12 26"
#define NT_RESPONSE "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"
#define PASSWORD_HASH "44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"
#define PASSWORD_HASH_HASH "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"
#define AUTH_RESPONSE "S=407A5589115FD0D6209F510FE9C04566932CDA56"
/* RFC 3079 3.5 */
#define MASTER_KEY "FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31"
#define SEND_START_KEY_128 "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"

struct vec {
    uint8_t auth_ch[16], peer_ch[16], challenge[8], nt_response[24], hash[16], hash_hash[16];
};

static struct vec rfc2759(void)
{
    struct vec v;
    assert_int_equal(test_unhex(AUTH_CHALLENGE, v.auth_ch, 16), 16);
    assert_int_equal(test_unhex(PEER_CHALLENGE, v.peer_ch, 16), 16);
    assert_int_equal(test_unhex(CHALLENGE, v.challenge, 8), 8);
    assert_int_equal(test_unhex(NT_RESPONSE, v.nt_response, 24), 24);
    assert_int_equal(test_unhex(PASSWORD_HASH, v.hash, 16), 16);
    assert_int_equal(test_unhex(PASSWORD_HASH_HASH, v.hash_hash, 16), 16);
    return v;
}

/* X12: every intermediate value of RFC 2759 9.2. */
static void rfc2759_9_2_worked_example(void **state)
{
    /* X12 */
    (void)state;
    assert_true(ns_mschapv2_available());
    struct vec v = rfc2759();
    uint8_t hash[16], hash_hash[16], challenge[8], nt_response[24];
    char auth[NS_MSCHAPV2_AUTH_RESPONSE_LEN + 1];
    assert_int_equal(ns_mschapv2_nt_hash(PASSWORD, strlen(PASSWORD), hash), 0);
    assert_memory_equal(hash, v.hash, 16);
    assert_int_equal(ns_mschapv2_nt_hash_hash(hash, hash_hash), 0);
    assert_memory_equal(hash_hash, v.hash_hash, 16);
    assert_int_equal(
        ns_mschapv2_challenge_hash(v.peer_ch, v.auth_ch, USER, strlen(USER), challenge), 0);
    assert_memory_equal(challenge, v.challenge, 8);
    assert_int_equal(
        ns_mschapv2_nt_response(v.auth_ch, v.peer_ch, USER, strlen(USER), hash, nt_response), 0);
    assert_memory_equal(nt_response, v.nt_response, 24);
    assert_int_equal(ns_mschapv2_authenticator_response(hash, nt_response, v.peer_ch, v.auth_ch,
                                                        USER, strlen(USER), auth),
                     0);
    assert_string_equal(auth, AUTH_RESPONSE);
}

/* X12: RFC 3079 3.5: the master key and the 128-bit start key printed as
 * SendStartKey128, which is the server's send key (GetAsymmetricStartKey
 * with IsSend and IsServer TRUE, i.e. Magic3) and so the client's receive
 * key: the second half of the MSK (RADIUS' MS-MPPE-Send-Key). */
static void rfc3079_3_5_master_and_start_keys(void **state)
{
    /* X12 */
    (void)state;
    struct vec v = rfc2759();
    uint8_t master[16], want[16], key[16];
    assert_int_equal(ns_mschapv2_master_key(v.hash_hash, v.nt_response, master), 0);
    test_unhex(MASTER_KEY, want, 16);
    assert_memory_equal(master, want, 16);
    test_unhex(SEND_START_KEY_128, want, 16);
    assert_int_equal(ns_mschapv2_start_key(master, 16, true, true, key), 0); /* server send */
    assert_memory_equal(key, want, 16);
    assert_int_equal(ns_mschapv2_start_key(master, 16, false, false, key), 0); /* client receive */
    assert_memory_equal(key, want, 16);
    /* The other direction uses the other text: a different key. */
    uint8_t other[16];
    assert_int_equal(ns_mschapv2_start_key(master, 16, true, false, other), 0);
    assert_memory_not_equal(other, want, 16);
    assert_int_equal(ns_mschapv2_start_key(master, 16, false, true, key), 0);
    assert_memory_equal(key, other, 16);
    assert_int_equal(ns_mschapv2_start_key(master, 8, true, true, key), 0); /* 40/56-bit MPPE */
    assert_memory_equal(key, want, 8);
    assert_int_equal(ns_mschapv2_start_key(master, 21, true, true, key), -1);
}

/* X12: the 64-byte MSK of EAP-MSCHAPv2 (what strongSwan and Windows key
 * IKEv2's AUTH with): server receive key | server send key | 32 zeros; the
 * receive key (Magic2) composed here by hand from RFC 3079 3.4's formula,
 * the send key RFC 3079 3.5's SendStartKey128. */
static void msk_is_receive_send_and_zeros(void **state)
{
    /* X12 */
    (void)state;
    struct vec v = rfc2759();
    uint8_t msk[64], want[16], master[16], digest[20], pad1[40] = {0}, pad2[40];
    unsigned len = 0;
    assert_int_equal(ns_mschapv2_msk(v.hash, v.nt_response, msk), 0);
    test_unhex(SEND_START_KEY_128, want, 16);
    assert_memory_equal(msk + 16, want, 16);

    test_unhex(MASTER_KEY, master, 16);
    memset(pad2, 0xf2, sizeof(pad2));
    static const char magic2[] =
        "On the client side, this is the send key; on the server side, it is the receive key.";
    assert_int_equal(sizeof(magic2) - 1, 84);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha1(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, master, 16), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, pad1, 40), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, magic2, 84), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, pad2, 40), 1);
    assert_int_equal(EVP_DigestFinal_ex(ctx, digest, &len), 1);
    EVP_MD_CTX_free(ctx);
    assert_memory_equal(msk, digest, 16);
    static const uint8_t zeros[32];
    assert_memory_equal(msk + 32, zeros, 32);
}

/* RFC 2759 8.3: the password is hashed as UTF-16LE; UTF-8 input is
 * converted (a BMP character and one above it, as a surrogate pair), the
 * expected value computed here with MD4 over bytes written by hand.
 * Malformed UTF-8 and over-long passwords are refused. */
static void password_utf16le_and_refusals(void **state)
{
    (void)state;
    /* "pä€𝄞": U+0070, U+00E4, U+20AC, U+1D11E */
    static const char utf8[] = "p\xc3\xa4\xe2\x82\xac\xf0\x9d\x84\x9e";
    static const uint8_t u16[] = {0x70, 0x00, 0xe4, 0x00, 0xac,
                                  0x20, 0x34, 0xd8, 0x1e, 0xdd}; /* D834 DD1E */
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    assert_non_null(lib);
    OSSL_PROVIDER *legacy = OSSL_PROVIDER_load(lib, "legacy");
    assert_non_null(legacy);
    EVP_MD *md4 = EVP_MD_fetch(lib, "MD4", NULL);
    assert_non_null(md4);
    uint8_t want[16], got[16];
    unsigned len = 0;
    assert_int_equal(EVP_Digest(u16, sizeof(u16), want, &len, md4, NULL), 1);
    assert_int_equal(ns_mschapv2_nt_hash(utf8, strlen(utf8), got), 0);
    assert_memory_equal(got, want, 16);
    /* MD4 of nothing (RFC 1320 A.5): the empty password */
    assert_int_equal(ns_mschapv2_nt_hash("", 0, got), 0);
    test_unhex("31d6cfe0d16ae931b73c59d7e0c089c0", want, 16);
    assert_memory_equal(got, want, 16);
    EVP_MD_free(md4);
    OSSL_PROVIDER_unload(legacy);
    OSSL_LIB_CTX_free(lib);

    static const char *const bad[] = {
        "\xc0\x80",         /* overlong NUL */
        "\x80",             /* a continuation byte alone */
        "ab\xc3",           /* cut short */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xe2\x28\xa1",     /* a bad continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ns_mschapv2_nt_hash(bad[i], strlen(bad[i]), got), -1);
    char longest[NS_MSCHAPV2_PASSWORD_MAX + 1];
    memset(longest, 'x', sizeof(longest));
    assert_int_equal(ns_mschapv2_nt_hash(longest, NS_MSCHAPV2_PASSWORD_MAX, got), 0);
    assert_int_equal(ns_mschapv2_nt_hash(longest, sizeof(longest), got), -1);
}

/* What each side checks: the authenticator the NT-Response (a wrong
 * password, user or challenge fails), the peer the authenticator response
 * (either case of hex; a changed digit or length fails). The domain part
 * of "DOMAIN\User" is not hashed (RFC 2759 4). */
static void checks_of_both_sides_and_domain(void **state)
{
    /* X12 */
    (void)state;
    struct vec v = rfc2759();
    uint8_t wrong[16];
    assert_true(ns_mschapv2_nt_response_ok(v.auth_ch, v.peer_ch, USER, 4, v.hash, v.nt_response));
    assert_int_equal(ns_mschapv2_nt_hash("clientpass", 10, wrong), 0);
    assert_false(ns_mschapv2_nt_response_ok(v.auth_ch, v.peer_ch, USER, 4, wrong, v.nt_response));
    assert_false(
        ns_mschapv2_nt_response_ok(v.auth_ch, v.peer_ch, "user", 4, v.hash, v.nt_response));
    v.auth_ch[0] ^= 1;
    assert_false(ns_mschapv2_nt_response_ok(v.auth_ch, v.peer_ch, USER, 4, v.hash, v.nt_response));
    v.auth_ch[0] ^= 1;

    char lower[] = "S=407a5589115fd0d6209f510fe9c04566932cda56";
    assert_true(ns_mschapv2_authenticator_response_ok(v.hash, v.nt_response, v.peer_ch, v.auth_ch,
                                                      USER, 4, AUTH_RESPONSE, 42));
    assert_true(ns_mschapv2_authenticator_response_ok(v.hash, v.nt_response, v.peer_ch, v.auth_ch,
                                                      USER, 4, lower, 42));
    lower[41] = '7';
    assert_false(ns_mschapv2_authenticator_response_ok(v.hash, v.nt_response, v.peer_ch, v.auth_ch,
                                                       USER, 4, lower, 42));
    assert_false(ns_mschapv2_authenticator_response_ok(v.hash, v.nt_response, v.peer_ch, v.auth_ch,
                                                       USER, 4, AUTH_RESPONSE, 41));

    const char *name;
    size_t len;
    ns_mschapv2_strip_domain("CORP\\User", 9, &name, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(name, USER, 4);
    uint8_t nt[24];
    assert_int_equal(ns_mschapv2_nt_response(v.auth_ch, v.peer_ch, name, len, v.hash, nt), 0);
    assert_memory_equal(nt, v.nt_response, 24);
    ns_mschapv2_strip_domain("alice@corp.example", 18, &name, &len);
    assert_int_equal(len, 18);
    ns_mschapv2_strip_domain("a\\b\\", 4, &name, &len);
    assert_int_equal(len, 0);
    char big[NS_MSCHAPV2_USER_MAX + 1];
    memset(big, 'u', sizeof(big));
    assert_int_equal(ns_mschapv2_nt_response(v.auth_ch, v.peer_ch, big, sizeof(big), v.hash, nt),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc2759_9_2_worked_example),
        cmocka_unit_test(rfc3079_3_5_master_and_start_keys),
        cmocka_unit_test(msk_is_receive_send_and_zeros),
        cmocka_unit_test(password_utf16le_and_refusals),
        cmocka_unit_test(checks_of_both_sides_and_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
