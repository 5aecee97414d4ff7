/* Unit tests for the stateless COOKIE (src/ike/cookie). R15: a COOKIE
 * challenge under half-open load needs no state per initiator. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "ike/cookie.h"
#include "support/test_addr.h"
#include "util/addr.h"

static const uint8_t NI[32] = {0x5a, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                               16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint64_t SPI = 0x0123456789abcdefull;

/* R15: the cookie is version | HMAC-SHA-256(secret, Ni | IPi | Porti |
 * SPIi), computed here independently with OpenSSL. */
static void cookie_layout(void **state)
{
    (void)state;
    struct ns_cookie_ctx c;
    assert_int_equal(ns_cookie_init(&c, 1000, 0), 0);
    assert_int_equal(c.rotate_ms, NS_COOKIE_DEFAULT_ROTATE_MS);
    struct ns_endpoint ip = {.addr = test_addr("198.51.100.7"), .port = 4500};
    uint8_t cookie[NS_COOKIE_LEN];
    assert_int_equal(ns_cookie_make(&c, 1000, NI, sizeof(NI), &ip, SPI, cookie), 0);

    uint8_t data[32 + 4 + 2 + 8];
    memcpy(data, NI, 32);
    memcpy(data + 32, (const uint8_t[]){198, 51, 100, 7}, 4);
    memcpy(data + 36, (const uint8_t[]){0x11, 0x94}, 2); /* port 4500 */
    memcpy(data + 38, (const uint8_t[]){0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, 8);
    uint8_t mac[32];
    unsigned mac_len = 0;
    assert_non_null(
        HMAC(EVP_sha256(), c.cur.key, sizeof(c.cur.key), data, sizeof(data), mac, &mac_len));
    assert_int_equal(mac_len, 32);
    const uint8_t ver[4] = {(uint8_t)(c.cur.version >> 24), (uint8_t)(c.cur.version >> 16),
                            (uint8_t)(c.cur.version >> 8), (uint8_t)c.cur.version};
    assert_memory_equal(cookie, ver, 4);
    assert_memory_equal(cookie + 4, mac, 32);
    ns_cookie_clear(&c);
    assert_false(c.cur.valid);
}

/* R15: verifies for the same inputs only. */
static void verify_ok_and_wrong_inputs(void **state)
{
    (void)state;
    struct ns_cookie_ctx c;
    assert_int_equal(ns_cookie_init(&c, 0, 10000), 0);
    struct ns_endpoint ip = {.addr = test_addr("198.51.100.7"), .port = 4500};
    uint8_t cookie[NS_COOKIE_LEN];
    assert_int_equal(ns_cookie_make(&c, 5, NI, sizeof(NI), &ip, SPI, cookie), 0);
    assert_true(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &ip, SPI));

    uint8_t ni2[32];
    memcpy(ni2, NI, 32);
    ni2[31] ^= 1;
    assert_false(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), ni2, sizeof(ni2), &ip, SPI));
    assert_false(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, 31, &ip, SPI));
    struct ns_endpoint ip2 = {.addr = test_addr("198.51.100.8"), .port = 4500};
    struct ns_endpoint ip6 = {.addr = test_addr("2001:db8::7"), .port = 4500};
    /* The same address from another port (R15: a cookie proves the
     * endpoint, so one cookie does not admit the request from every port). */
    struct ns_endpoint port2 = {.addr = ip.addr, .port = 4501};
    struct ns_endpoint port_swapped = {.addr = ip.addr, .port = 0x9411}; /* 4500 byte-swapped */
    assert_false(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &port2, SPI));
    assert_false(
        ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &port_swapped, SPI));
    assert_false(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &ip2, SPI));
    assert_false(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &ip6, SPI));
    assert_false(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &ip, SPI + 1));
    assert_false(
        ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &ip, SPI ^ (1ull << 63)));

    /* Damaged cookies: length, version, MAC. */
    assert_false(ns_cookie_verify(&c, 10, cookie, sizeof(cookie) - 1, NI, sizeof(NI), &ip, SPI));
    assert_false(ns_cookie_verify(&c, 10, NULL, 0, NI, sizeof(NI), &ip, SPI));
    uint8_t bad[NS_COOKIE_LEN];
    memcpy(bad, cookie, sizeof(bad));
    bad[3] ^= 1;
    assert_false(ns_cookie_verify(&c, 10, bad, sizeof(bad), NI, sizeof(NI), &ip, SPI));
    memcpy(bad, cookie, sizeof(bad));
    bad[NS_COOKIE_LEN - 1] ^= 0x80;
    assert_false(ns_cookie_verify(&c, 10, bad, sizeof(bad), NI, sizeof(NI), &ip, SPI));

    /* IPv6 initiators work too; a nonce above 256 bytes is refused. */
    assert_int_equal(ns_cookie_make(&c, 10, NI, sizeof(NI), &ip6, SPI, cookie), 0);
    assert_true(ns_cookie_verify(&c, 10, cookie, sizeof(cookie), NI, sizeof(NI), &ip6, SPI));
    uint8_t big[257] = {0};
    assert_int_equal(ns_cookie_make(&c, 10, big, sizeof(big), &ip, SPI, cookie), -1);
    ns_cookie_clear(&c);
}

/* R15: after one rotation the old cookie still verifies; after two it
 * does not; a cookie of the new secret does. */
static void rotation_keeps_one_previous_secret(void **state)
{
    (void)state;
    struct ns_cookie_ctx c;
    assert_int_equal(ns_cookie_init(&c, 0, 1000), 0);
    struct ns_endpoint ip = {.addr = test_addr("203.0.113.9"), .port = 4500};
    uint8_t old[NS_COOKIE_LEN], mid[NS_COOKIE_LEN];
    assert_int_equal(ns_cookie_make(&c, 999, NI, sizeof(NI), &ip, SPI, old), 0);
    uint32_t v0 = c.cur.version;
    /* At 1000 the secret rotates: the cookie made at 999 still verifies. */
    assert_true(ns_cookie_verify(&c, 1000, old, sizeof(old), NI, sizeof(NI), &ip, SPI));
    assert_int_equal(c.cur.version, v0 + 1);
    assert_int_equal(c.prev.version, v0);
    assert_int_equal(ns_cookie_make(&c, 1500, NI, sizeof(NI), &ip, SPI, mid), 0);
    assert_memory_not_equal(old, mid, NS_COOKIE_LEN);
    assert_true(ns_cookie_verify(&c, 1999, old, sizeof(old), NI, sizeof(NI), &ip, SPI));
    /* Second rotation at 2000: the oldest secret is gone. */
    assert_false(ns_cookie_verify(&c, 2000, old, sizeof(old), NI, sizeof(NI), &ip, SPI));
    assert_true(ns_cookie_verify(&c, 2000, mid, sizeof(mid), NI, sizeof(NI), &ip, SPI));
    ns_cookie_clear(&c);
}

/* An idle responder: after two lifetimes nothing old verifies, even though
 * only one rotation takes place. */
static void idle_expiry(void **state)
{
    (void)state;
    struct ns_cookie_ctx c;
    assert_int_equal(ns_cookie_init(&c, 0, 1000), 0);
    struct ns_endpoint ip = {.addr = test_addr("203.0.113.9"), .port = 4500};
    uint8_t ck[NS_COOKIE_LEN];
    assert_int_equal(ns_cookie_make(&c, 0, NI, sizeof(NI), &ip, SPI, ck), 0);
    assert_true(ns_cookie_verify(&c, 1999, ck, sizeof(ck), NI, sizeof(NI), &ip, SPI));
    assert_int_equal(ns_cookie_make(&c, 1999, NI, sizeof(NI), &ip, SPI, ck), 0);
    assert_false(ns_cookie_verify(&c, 4000, ck, sizeof(ck), NI, sizeof(NI), &ip, SPI));
    assert_false(c.prev.valid);
    ns_cookie_clear(&c);
}

/* Explicit rotation (e.g. when the half-open limit trips). */
static void explicit_rotation(void **state)
{
    (void)state;
    struct ns_cookie_ctx c;
    assert_int_equal(ns_cookie_init(&c, 0, 0), 0);
    struct ns_endpoint ip = {.addr = test_addr("192.0.2.1"), .port = 4500};
    uint8_t ck[NS_COOKIE_LEN];
    assert_int_equal(ns_cookie_make(&c, 0, NI, sizeof(NI), &ip, SPI, ck), 0);
    assert_int_equal(ns_cookie_rotate(&c, 1), 0);
    assert_true(ns_cookie_verify(&c, 2, ck, sizeof(ck), NI, sizeof(NI), &ip, SPI));
    assert_int_equal(ns_cookie_rotate(&c, 3), 0);
    assert_false(ns_cookie_verify(&c, 4, ck, sizeof(ck), NI, sizeof(NI), &ip, SPI));
    ns_cookie_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cookie_layout),
        cmocka_unit_test(verify_ok_and_wrong_inputs),
        cmocka_unit_test(rotation_keeps_one_previous_secret),
        cmocka_unit_test(idle_expiry),
        cmocka_unit_test(explicit_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
