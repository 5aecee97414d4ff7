/* Unit tests for the gateway's virtual IPv6 pool (src/ike/pool6, X8):
 * each client its own /128 (R6), the gateway's own address never given,
 * exhaustion refused, addresses outside the pool refused. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_prefixes),
        cmocka_unit_test(exhausts_slash120_uniquely),
        cmocka_unit_test(slash64_prefer_and_foreign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
