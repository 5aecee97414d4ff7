/* Unit tests for the gateway's virtual IPv4 pool (src/ike/pool). R6: every
 * client gets its own inner address; R12: O(1) for thousands of clients. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ike/pool.h"
#include "util/addr.h"

static struct ns_addr addr(const char *s)
{
    struct ns_addr a;
    assert_int_equal(ns_addr_parse(&a, s), 0);
    return a;
}

static struct ns_pool *pool(const char *net, unsigned len)
{
    struct ns_addr a = addr(net);
    struct ns_pool *p = ns_pool_new(&a, len);
    assert_non_null(p);
    return p;
}

/* R6 */
static void rejects_bad_prefixes(void **state)
{
    (void)state;
    struct ns_addr v4 = addr("10.99.0.0"), v6 = addr("2001:db8::");
    assert_null(ns_pool_new(&v6, 120));
    assert_null(ns_pool_new(&v4, 31)); /* no room for gateway and a client */
    assert_null(ns_pool_new(&v4, 32));
    assert_null(ns_pool_new(&v4, NS_POOL_MIN_PREFIX - 1));
    assert_null(ns_pool_new(NULL, 24));
}

/* R6: network, gateway (first host) and broadcast are never given out. */
static void exhausts_slash24_uniquely(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 24);
    assert_int_equal(ns_pool_capacity(p), 253);
    struct ns_addr gw, mask;
    ns_pool_gateway_addr(p, &gw);
    ns_pool_netmask(p, &mask);
    struct ns_addr exp_gw = addr("10.99.0.1"), exp_mask = addr("255.255.255.0");
    assert_true(ns_addr_equal(&gw, &exp_gw));
    assert_true(ns_addr_equal(&mask, &exp_mask));

    uint8_t seen[256] = {0};
    for (unsigned i = 0; i < 253; i++) {
        struct ns_addr a;
        assert_int_equal(ns_pool_alloc(p, NULL, &a), 0);
        uint32_t v = ns_addr_to_ipv4(&a);
        assert_int_equal(v >> 8, 0x0a6300);
        uint8_t host = (uint8_t)v;
        assert_true(host >= 2 && host <= 254);
        assert_int_equal(seen[host], 0);
        seen[host] = 1;
        assert_true(ns_pool_is_allocated(p, &a));
    }
    assert_int_equal(ns_pool_in_use(p), 253);
    struct ns_addr a;
    assert_int_equal(ns_pool_alloc(p, NULL, &a), -1);
    ns_pool_free(p);
}

/* R6: the first client gets .2, right after the gateway. */
static void first_address_follows_gateway(void **state)
{
    (void)state;
    struct ns_pool *p = pool("192.168.77.130", 25); /* host bits ignored */
    struct ns_addr a, exp = addr("192.168.77.130");
    assert_int_equal(ns_pool_alloc(p, NULL, &a), 0);
    assert_true(ns_addr_equal(&a, &exp));
    assert_int_equal(ns_pool_capacity(p), 125);
    ns_pool_free(p);
}

static void slash30_has_one_client(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.0.0.4", 30);
    struct ns_addr a, exp = addr("10.0.0.6");
    assert_int_equal(ns_pool_capacity(p), 1);
    assert_int_equal(ns_pool_alloc(p, NULL, &a), 0);
    assert_true(ns_addr_equal(&a, &exp));
    assert_int_equal(ns_pool_alloc(p, NULL, &a), -1);
    assert_int_equal(ns_pool_release(p, &exp), 0);
    assert_int_equal(ns_pool_alloc(p, NULL, &a), 0);
    ns_pool_free(p);
}

/* R6: release puts an address back; it is reused last, not first. */
static void release_and_reallocate(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 24);
    struct ns_addr a[253];
    for (unsigned i = 0; i < 253; i++)
        assert_int_equal(ns_pool_alloc(p, NULL, &a[i]), 0);
    assert_int_equal(ns_pool_release(p, &a[10]), 0);
    assert_false(ns_pool_is_allocated(p, &a[10]));
    assert_int_equal(ns_pool_release(p, &a[10]), -1); /* double release */
    assert_int_equal(ns_pool_in_use(p), 252);
    struct ns_addr b;
    assert_int_equal(ns_pool_alloc(p, NULL, &b), 0);
    assert_true(ns_addr_equal(&b, &a[10]));
    assert_int_equal(ns_pool_alloc(p, NULL, &b), -1);
    ns_pool_free(p);

    /* Not full: a released address goes behind every never-used one. */
    p = pool("10.99.0.0", 24);
    struct ns_addr x, y;
    assert_int_equal(ns_pool_alloc(p, NULL, &x), 0);
    assert_int_equal(ns_pool_release(p, &x), 0);
    assert_int_equal(ns_pool_alloc(p, NULL, &y), 0);
    assert_false(ns_addr_equal(&x, &y));
    ns_pool_free(p);
}

static void release_rejects_foreign_addresses(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 24);
    const char *bad[] = {"10.99.0.0", "10.99.0.1", "10.99.0.255", "10.98.0.5", "2001:db8::5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ns_addr a = addr(bad[i]);
        assert_int_equal(ns_pool_release(p, &a), -1);
        assert_false(ns_pool_is_allocated(p, &a));
    }
    struct ns_addr never = addr("10.99.0.77");
    assert_int_equal(ns_pool_release(p, &never), -1);
    assert_int_equal(ns_pool_in_use(p), 0);
    ns_pool_free(p);
}

/* R6: a reconnecting client asking for its old address gets it if free. */
static void prefer_gives_old_address_back(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 24);
    struct ns_addr a, b, c, want = addr("10.99.0.42");
    assert_int_equal(ns_pool_alloc(p, &want, &a), 0);
    assert_true(ns_addr_equal(&a, &want));
    /* Taken: someone else asking for it gets another one. */
    assert_int_equal(ns_pool_alloc(p, &want, &b), 0);
    assert_false(ns_addr_equal(&b, &want));
    /* Outside the pool, the gateway, or 0.0.0.0: ignored. */
    struct ns_addr gw = addr("10.99.0.1"), outside = addr("172.16.0.9"), zero = addr("0.0.0.0");
    assert_int_equal(ns_pool_alloc(p, &gw, &c), 0);
    assert_false(ns_addr_equal(&c, &gw));
    assert_int_equal(ns_pool_alloc(p, &outside, &c), 0);
    assert_int_equal(ns_addr_to_ipv4(&c) >> 8, 0x0a6300);
    assert_int_equal(ns_pool_alloc(p, &zero, &c), 0);
    assert_int_equal(ns_addr_to_ipv4(&c) >> 8, 0x0a6300);
    /* Released, then asked for again: back. */
    assert_int_equal(ns_pool_release(p, &want), 0);
    assert_int_equal(ns_pool_alloc(p, &want, &a), 0);
    assert_true(ns_addr_equal(&a, &want));

    /* Taking from the middle keeps the list whole: exhaust the rest. */
    unsigned got = 0;
    while (ns_pool_alloc(p, NULL, &c) == 0) {
        assert_false(ns_addr_equal(&c, &want));
        got++;
    }
    assert_int_equal(got + 5, 253);
    ns_pool_free(p);
}

/* R6 R12: a /16 serves 65000 clients, each unique, quickly. */
static void slash16_many_allocations_fast(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.64.0.0", 16);
    assert_int_equal(ns_pool_capacity(p), 65533);
    uint8_t *seen = calloc(65536, 1);
    struct ns_addr *a = malloc(sizeof(*a) * 65000);
    assert_non_null(seen);
    assert_non_null(a);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < 65000; i++) {
        assert_int_equal(ns_pool_alloc(p, NULL, &a[i]), 0);
        uint32_t host = ns_addr_to_ipv4(&a[i]) & 0xffff;
        assert_int_equal(seen[host], 0);
        seen[host] = 1;
    }
    /* Churn: release every other one and take them again. */
    for (unsigned i = 0; i < 65000; i += 2)
        assert_int_equal(ns_pool_release(p, &a[i]), 0);
    for (unsigned i = 0; i < 65000; i += 2)
        assert_int_equal(ns_pool_alloc(p, NULL, &a[i]), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* O(1) each: well under a microsecond per operation even sanitized;
     * a linear scan would be about 100 times slower than this bound. */
    assert_true(ms < 500.0);
    assert_int_equal(ns_pool_in_use(p), 65000);
    assert_false(seen[0] || seen[1] || seen[0xffff]);
    free(seen);
    free(a);
    ns_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_prefixes),
        cmocka_unit_test(exhausts_slash24_uniquely),
        cmocka_unit_test(first_address_follows_gateway),
        cmocka_unit_test(slash30_has_one_client),
        cmocka_unit_test(release_and_reallocate),
        cmocka_unit_test(release_rejects_foreign_addresses),
        cmocka_unit_test(prefer_gives_old_address_back),
        cmocka_unit_test(slash16_many_allocations_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
