/* Unit tests for src/crypto/hash: SHA-1 over parts (NAT_DETECTION hashes,
 * RFC 7296 2.23) against the FIPS 180 examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <string.h>

#include "crypto/hash.h"

static const uint8_t sha1_abc[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
                                     0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};

static void sha1_of_abc_matches_fips180_whole_or_in_parts(void **state)
{
    (void)state;
    uint8_t out[NS_SHA1_LEN];
    const uint8_t *whole[] = {(const uint8_t *)"abc"};
    const size_t whole_len[] = {3};
    assert_int_equal(ns_sha1_parts(whole, whole_len, 1, out), 0);
    assert_memory_equal(out, sha1_abc, 20);
    const uint8_t *parts[] = {(const uint8_t *)"a", NULL, (const uint8_t *)"bc"};
    const size_t lens[] = {1, 0, 2};
    memset(out, 0, sizeof(out));
    assert_int_equal(ns_sha1_parts(parts, lens, 3, out), 0);
    assert_memory_equal(out, sha1_abc, 20);
}

static void sha1_of_nothing_is_the_empty_string_hash(void **state)
{
    (void)state;
    static const uint8_t empty[20] = {0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55,
                                      0xbf, 0xef, 0x95, 0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09};
    uint8_t out[NS_SHA1_LEN];
    assert_int_equal(ns_sha1_parts(NULL, NULL, 0, out), 0);
    assert_memory_equal(out, empty, 20);
}

static void sha1_refuses_a_null_part_with_a_length(void **state)
{
    (void)state;
    uint8_t out[NS_SHA1_LEN];
    const uint8_t *parts[] = {NULL};
    const size_t lens[] = {4};
    assert_int_equal(ns_sha1_parts(parts, lens, 1, out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha1_of_abc_matches_fips180_whole_or_in_parts),
        cmocka_unit_test(sha1_of_nothing_is_the_empty_string_hash),
        cmocka_unit_test(sha1_refuses_a_null_part_with_a_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
