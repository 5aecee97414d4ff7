/* Unit tests for the gateway's virtual IPv6 pool (src/ike/pool6, X8):
 * each client its own /128 (R6), the gateway's own address never given,
 * exhaustion refused, addresses outside the pool refused; prefixes
 * delegated to clients that ask for one (ike/pool6_deleg), apart from the
 * addresses and from one another. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ike/pool6.h"
#include "support/test_addr.h"
#include "util/addr.h"

static struct ns_pool6 *pool6(const char *net, unsigned len)
{
    struct ns_addr a = test_addr(net);
    struct ns_pool6 *p = ns_pool6_new(&a, len);
    assert_non_null(p);
    return p;
}

static void assert_addr_is(const struct ns_addr *a, const char *want)
{
    char s[NS_ADDR_STRLEN];
    assert_string_equal(ns_addr_str(a, s), want);
}

/* X8 */
static void rejects_bad_prefixes(void **state)
{
    (void)state;
    struct ns_addr v4 = test_addr("10.99.0.0"), v6 = test_addr("2001:db8::");
    assert_null(ns_pool6_new(&v4, 120));
    assert_null(ns_pool6_new(&v6, 127));
    assert_null(ns_pool6_new(&v6, NS_POOL6_MIN_PREFIX - 1));
    assert_null(ns_pool6_new(NULL, 64));
    for (unsigned len = NS_POOL6_MIN_PREFIX; len <= NS_POOL6_MAX_PREFIX; len++) {
        struct ns_pool6 *p = ns_pool6_new(&v6, len);
        assert_non_null(p);
        ns_pool6_free(p);
    }
}

/* X8, R6: a /120 gives 253 distinct /128s after the gateway's, then is
 * exhausted; released addresses come back. */
static void exhausts_slash120_uniquely(void **state)
{
    (void)state;
    struct ns_pool6 *p = pool6("2001:db8:99::", 120);
    struct ns_addr gw, a, first;
    ns_pool6_gateway_addr(p, &gw);
    assert_addr_is(&gw, "2001:db8:99::1");
    assert_int_equal(ns_pool6_capacity(p), 253);
    static bool seen[256];
    memset(seen, 0, sizeof(seen));
    for (unsigned i = 0; i < 253; i++) {
        assert_int_equal(ns_pool6_alloc(p, NULL, 1, &a), 0);
        if (i == 0)
            first = a;
        assert_int_equal(a.family, AF_INET6);
        assert_memory_equal(a.a, gw.a, 15);
        assert_false(ns_addr_equal(&a, &gw));
        assert_true(a.a[15] >= 2 && a.a[15] <= 254);
        assert_false(seen[a.a[15]]);
        seen[a.a[15]] = true;
        assert_true(ns_pool6_is_allocated(p, &a));
    }
    assert_addr_is(&first, "2001:db8:99::2");
    assert_int_equal(ns_pool6_in_use(p), 253);
    assert_int_equal(ns_pool6_alloc(p, NULL, 1, &a), -1);
    assert_int_equal(ns_pool6_release(p, &first), 0);
    assert_int_equal(ns_pool6_alloc(p, NULL, 1, &a), 0);
    assert_true(ns_addr_equal(&a, &first));
    ns_pool6_free(p);
}

/* X8: a /64 serves its first 2^20 addresses; a requested address goes back
 * to the identity that held it; foreign addresses are refused. */
static void slash64_prefer_and_foreign(void **state)
{
    (void)state;
    struct ns_pool6 *p = pool6("2001:db8:5:6::", 64);
    assert_int_equal(ns_pool6_capacity(p), (1u << 20) - 3);
    struct ns_addr a, b, again;
    assert_int_equal(ns_pool6_alloc(p, NULL, 7, &a), 0);
    assert_int_equal(ns_pool6_alloc(p, NULL, 8, &b), 0);
    assert_addr_is(&a, "2001:db8:5:6::2");
    assert_addr_is(&b, "2001:db8:5:6::3");
    assert_int_equal(ns_pool6_release(p, &a), 0);
    assert_int_equal(ns_pool6_alloc(p, &a, 7, &again), 0); /* its last holder asks */
    assert_true(ns_addr_equal(&again, &a));
    assert_int_equal(ns_pool6_release(p, &a), 0);
    assert_int_equal(ns_pool6_alloc(p, &a, 9, &again), 0); /* someone else asks */
    assert_false(ns_addr_equal(&again, &a));
    struct ns_addr other = test_addr("2001:db8:5:7::2"), high = test_addr("2001:db8:5:6::1:0:2"),
                   v4 = test_addr("10.0.0.2");
    assert_int_equal(ns_pool6_release(p, &other), -1);
    assert_int_equal(ns_pool6_release(p, &high), -1);
    assert_int_equal(ns_pool6_release(p, &v4), -1);
    assert_false(ns_pool6_is_allocated(p, &other));
    ns_pool6_free(p);
}

static struct ns_addr prefix_hi(const struct ns_addr *base, unsigned len)
{
    struct ns_addr hi = *base;
    for (unsigned bit = len; bit < 128; bit++)
        hi.a[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
    return hi;
}

/* Whether the prefixes a/la and b/lb share an address. */
static bool overlap(const struct ns_addr *a, unsigned la, const struct ns_addr *b, unsigned lb)
{
    struct ns_addr ah = prefix_hi(a, la), bh = prefix_hi(b, lb);
    return ns_addr_cmp(a, &bh) <= 0 && ns_addr_cmp(b, &ah) <= 0;
}

/* X8: a /48 pool delegates /64s from its second half, each aligned, none
 * overlapping another or the /128 addresses, which still come from the
 * first half; lengths are clamped to [/56, /127]; a pool longer than /107
 * delegates nothing. */
static void delegates_aligned_disjoint_prefixes(void **state)
{
    (void)state;
    struct ns_pool6 *p = pool6("2001:db8:77::", 48);
    assert_int_equal(ns_pool6_prefix_len(p, 64), 64);
    assert_int_equal(ns_pool6_prefix_len(p, 40), 56);
    assert_int_equal(ns_pool6_prefix_len(p, 128), 127);
    struct ns_addr pre[6], addr;
    unsigned lens[6] = {64, 64, 60, 64, 120, 56};
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(ns_pool6_alloc_prefix(p, lens[i], NULL, 10 + i, &pre[i]), 0);
        struct ns_addr aligned = pre[i];
        for (unsigned bit = lens[i]; bit < 128; bit++)
            aligned.a[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
        assert_true(ns_addr_equal(&aligned, &pre[i]));
        assert_true(pre[i].a[6] & 0x80); /* the second half of the /48 */
        for (unsigned j = 0; j < i; j++)
            assert_false(overlap(&pre[i], lens[i], &pre[j], lens[j]));
        struct ns_addr last = prefix_hi(&pre[i], lens[i]);
        assert_true(ns_pool6_is_allocated(p, &last));
    }
    assert_addr_is(&pre[0], "2001:db8:77:8000::");
    assert_addr_is(&pre[1], "2001:db8:77:8001::");
    assert_addr_is(&pre[2], "2001:db8:77:8010::"); /* a /60 skips to its alignment */
    assert_addr_is(&pre[3], "2001:db8:77:8002::"); /* the gap before it is used */
    assert_int_equal(ns_pool6_prefixes_in_use(p), 6);
    assert_int_equal(ns_pool6_alloc(p, NULL, 1, &addr), 0);
    assert_addr_is(&addr, "2001:db8:77::2");
    assert_int_equal(ns_pool6_in_use(p), 1);
    assert_int_equal(ns_pool6_release(p, &pre[1]), 0);
    assert_int_equal(ns_pool6_release(p, &pre[1]), -1);
    struct ns_addr inside = pre[0];
    inside.a[15] = 9;
    assert_int_equal(ns_pool6_release(p, &inside), -1); /* only by its first address */
    assert_false(ns_pool6_is_allocated(p, &pre[1]));
    assert_int_equal(ns_pool6_prefixes_in_use(p), 5);
    ns_pool6_free(p);

    struct ns_pool6 *small = pool6("2001:db8:78::", 108);
    assert_int_equal(ns_pool6_prefix_len(small, 120), 0);
    assert_int_equal(ns_pool6_alloc_prefix(small, 120, NULL, 1, &addr), -1);
    ns_pool6_free(small);
}

/* X8, R6: a /100 pool's region holds 128 prefixes of /108, then is
 * exhausted; a released prefix is reused as late as possible, goes back
 * on request to its last holder only, and is given to another client
 * once no untouched space is left. */
static void delegation_exhaustion_and_reuse(void **state)
{
    (void)state;
    struct ns_pool6 *p = pool6("2001:db8:79::", 100);
    struct ns_addr pre[128], x, y;
    for (unsigned i = 0; i < 128; i++)
        assert_int_equal(ns_pool6_alloc_prefix(p, 108, NULL, 100 + i, &pre[i]), 0);
    assert_int_equal(ns_pool6_alloc_prefix(p, 108, NULL, 1, &x), -1);
    assert_int_equal(ns_pool6_alloc_prefix(p, 127, NULL, 1, &x), -1);
    assert_int_equal(ns_pool6_release(p, &pre[5]), 0);
    assert_int_equal(ns_pool6_release(p, &pre[9]), 0);
    /* Its holder asks for it back and gets it. */
    assert_int_equal(ns_pool6_alloc_prefix(p, 108, &pre[5], 105, &x), 0);
    assert_true(ns_addr_equal(&x, &pre[5]));
    assert_int_equal(ns_pool6_release(p, &pre[5]), 0);
    /* Another identity asks for it: the other free one (released earlier)
     * is given, not the one asked for. */
    assert_int_equal(ns_pool6_alloc_prefix(p, 108, &pre[5], 7, &x), 0);
    assert_true(ns_addr_equal(&x, &pre[9]));
    assert_int_equal(ns_pool6_alloc_prefix(p, 108, NULL, 7, &y), 0);
    assert_true(ns_addr_equal(&y, &pre[5]));
    assert_int_equal(ns_pool6_prefixes_in_use(p), 128);
    ns_pool6_free(p);

    /* Untouched space first: a released prefix waits while there is any. */
    p = pool6("2001:db8:79::", 64);
    assert_int_equal(ns_pool6_alloc_prefix(p, 80, NULL, 1, &x), 0);
    assert_int_equal(ns_pool6_release(p, &x), 0);
    assert_int_equal(ns_pool6_alloc_prefix(p, 80, NULL, 2, &y), 0);
    assert_false(ns_addr_equal(&x, &y));
    ns_pool6_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_prefixes),
        cmocka_unit_test(exhausts_slash120_uniquely),
        cmocka_unit_test(slash64_prefer_and_foreign),
        cmocka_unit_test(delegates_aligned_disjoint_prefixes),
        cmocka_unit_test(delegation_exhaustion_and_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
