/* Unit tests for the gateway's virtual IPv4 pool (src/ike/pool). R6: every
 * client gets its own inner address; R12: O(1) for thousands of clients. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ike/pool.h"
#include "support/test_addr.h"
#include "util/addr.h"

static struct ns_pool *pool(const char *net, unsigned len)
{
    struct ns_addr a = test_addr(net);
    struct ns_pool *p = ns_pool_new(&a, len);
    assert_non_null(p);
    return p;
}

/* R6 */
static void rejects_bad_prefixes(void **state)
{
    (void)state;
    struct ns_addr v4 = test_addr("10.99.0.0"), v6 = test_addr("2001:db8::");
    assert_null(ns_pool_new(&v6, 120));
    assert_null(ns_pool_new(&v4, 31)); /* no room for gateway and a client */
    assert_null(ns_pool_new(&v4, 32));
    assert_null(ns_pool_new(&v4, NS_POOL_MIN_PREFIX - 1));
    assert_null(ns_pool_new(NULL, 24));
    /* The configuration's whole range is accepted (conf/keys.c). */
    for (unsigned len = NS_POOL_MIN_PREFIX; len <= NS_POOL_MAX_PREFIX; len++) {
        struct ns_pool *p = ns_pool_new(&v4, len);
        assert_non_null(p);
        assert_int_equal(ns_pool_capacity(p), ((uint32_t)1 << (32 - len)) - 3);
        ns_pool_free(p);
    }
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
    struct ns_addr exp_gw = test_addr("10.99.0.1"), exp_mask = test_addr("255.255.255.0");
    assert_true(ns_addr_equal(&gw, &exp_gw));
    assert_true(ns_addr_equal(&mask, &exp_mask));

    uint8_t seen[256] = {0};
    for (unsigned i = 0; i < 253; i++) {
        struct ns_addr a;
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), 0);
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
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), -1);
    ns_pool_free(p);
}

/* R6: the first client gets .2, right after the gateway. */
static void first_address_follows_gateway(void **state)
{
    (void)state;
    struct ns_pool *p = pool("192.168.77.130", 25); /* host bits ignored */
    struct ns_addr a, exp = test_addr("192.168.77.130");
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), 0);
    assert_true(ns_addr_equal(&a, &exp));
    assert_int_equal(ns_pool_capacity(p), 125);
    ns_pool_free(p);
}

static void slash30_has_one_client(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.0.0.4", 30);
    struct ns_addr a, exp = test_addr("10.0.0.6");
    assert_int_equal(ns_pool_capacity(p), 1);
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), 0);
    assert_true(ns_addr_equal(&a, &exp));
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), -1);
    assert_int_equal(ns_pool_release(p, &exp), 0);
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), 0);
    ns_pool_free(p);
}

/* R6: release puts an address back; it is reused last, not first. */
static void release_and_reallocate(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 24);
    struct ns_addr a[253];
    for (unsigned i = 0; i < 253; i++)
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &a[i]), 0);
    assert_int_equal(ns_pool_release(p, &a[10]), 0);
    assert_false(ns_pool_is_allocated(p, &a[10]));
    assert_int_equal(ns_pool_release(p, &a[10]), -1); /* double release */
    assert_int_equal(ns_pool_in_use(p), 252);
    struct ns_addr b;
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &b), 0);
    assert_true(ns_addr_equal(&b, &a[10]));
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &b), -1);
    ns_pool_free(p);

    /* Not full: a released address goes behind every never-used one. */
    p = pool("10.99.0.0", 24);
    struct ns_addr x, y;
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &x), 0);
    assert_int_equal(ns_pool_release(p, &x), 0);
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &y), 0);
    assert_false(ns_addr_equal(&x, &y));
    ns_pool_free(p);
}

static void release_rejects_foreign_addresses(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 24);
    const char *bad[] = {"10.99.0.0", "10.99.0.1", "10.99.0.255", "10.98.0.5", "2001:db8::5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ns_addr a = test_addr(bad[i]);
        assert_int_equal(ns_pool_release(p, &a), -1);
        assert_false(ns_pool_is_allocated(p, &a));
    }
    struct ns_addr never = test_addr("10.99.0.77");
    assert_int_equal(ns_pool_release(p, &never), -1);
    assert_int_equal(ns_pool_in_use(p), 0);
    ns_pool_free(p);
}

#define ALICE 0xa11ceu /* owner tags, as the gateway derives them from identities */
#define BOB 0xb0bu

/* R6: a reconnecting client asking for its old address gets it back when
 * it is free and its identity held it last; every other request for it
 * (another identity, no identity, an address nobody held) gets another
 * one, so nobody inherits what was meant for the address's last holder. */
static void prefer_gives_old_address_back(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 24);
    struct ns_addr a, b, c, want;
    assert_int_equal(ns_pool_alloc(p, NULL, ALICE, &want), 0);
    /* Taken: someone else asking for it gets another one. */
    assert_int_equal(ns_pool_alloc(p, &want, BOB, &b), 0);
    assert_false(ns_addr_equal(&b, &want));
    /* Outside the pool, the gateway, or 0.0.0.0: ignored. */
    struct ns_addr gw = test_addr("10.99.0.1"), outside = test_addr("172.16.0.9"),
                   zero = test_addr("0.0.0.0");
    assert_int_equal(ns_pool_alloc(p, &gw, ALICE, &c), 0);
    assert_false(ns_addr_equal(&c, &gw));
    assert_int_equal(ns_pool_alloc(p, &outside, ALICE, &c), 0);
    assert_int_equal(ns_addr_to_ipv4(&c) >> 8, 0x0a6300);
    assert_int_equal(ns_pool_alloc(p, &zero, ALICE, &c), 0);
    assert_int_equal(ns_addr_to_ipv4(&c) >> 8, 0x0a6300);
    /* Released: not for bob, nor for a request without an identity ... */
    assert_int_equal(ns_pool_release(p, &want), 0);
    assert_int_equal(ns_pool_alloc(p, &want, BOB, &c), 0);
    assert_false(ns_addr_equal(&c, &want));
    assert_int_equal(ns_pool_alloc(p, &want, 0, &c), 0);
    assert_false(ns_addr_equal(&c, &want));
    /* ... but for alice, who held it last. */
    assert_int_equal(ns_pool_alloc(p, &want, ALICE, &a), 0);
    assert_true(ns_addr_equal(&a, &want));
    /* A free address nobody held is not given on request. */
    struct ns_addr never = test_addr("10.99.0.42");
    assert_int_equal(ns_pool_alloc(p, &never, ALICE, &c), 0);
    assert_false(ns_addr_equal(&c, &never));

    /* Taking from the middle keeps the list whole: exhaust the rest. */
    unsigned got = 0, before = ns_pool_in_use(p);
    while (ns_pool_alloc(p, NULL, 0, &c) == 0) {
        assert_false(ns_addr_equal(&c, &want));
        got++;
    }
    assert_int_equal(got + before, 253);
    ns_pool_free(p);
}

/* R6: the last holder is whoever was given the address last: once bob
 * got alice's old address (in turn, from the released list) and gave it
 * back, alice's request for it is refused; bob's is granted. */
static void last_holder_is_the_latest(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 29); /* .2 to .6 */
    struct ns_addr a, x, want;
    assert_int_equal(ns_pool_alloc(p, NULL, ALICE, &want), 0); /* .2 */
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &x), 0); /* .3 to .6 */
    assert_int_equal(ns_pool_release(p, &want), 0);
    assert_int_equal(ns_pool_alloc(p, NULL, BOB, &a), 0);
    assert_true(ns_addr_equal(&a, &want));
    struct ns_addr six = test_addr("10.99.0.6");
    assert_int_equal(ns_pool_release(p, &six), 0);
    assert_int_equal(ns_pool_release(p, &want), 0);
    assert_int_equal(ns_pool_alloc(p, &want, ALICE, &a), 0);
    assert_true(ns_addr_equal(&a, &six)); /* the head of the released list */
    assert_int_equal(ns_pool_release(p, &six), 0);
    assert_int_equal(ns_pool_alloc(p, &want, BOB, &a), 0);
    assert_true(ns_addr_equal(&a, &want));
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
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &a[i]), 0);
        uint32_t host = ns_addr_to_ipv4(&a[i]) & 0xffff;
        assert_int_equal(seen[host], 0);
        seen[host] = 1;
    }
    /* Churn: release every other one and take them again. */
    for (unsigned i = 0; i < 65000; i += 2)
        assert_int_equal(ns_pool_release(p, &a[i]), 0);
    for (unsigned i = 0; i < 65000; i += 2)
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &a[i]), 0);
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

/* R6: an address taken back by `prefer` from the middle of the released
 * list and released again queues at its tail, like any other. */
static void preferred_then_released_is_reused_last(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.99.0.0", 29); /* .2 to .6 */
    struct ns_addr a;
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(ns_pool_alloc(p, NULL, 100 + i, &a), 0);
    for (uint32_t host = 2; host <= 4; host++) {
        ns_addr_from_ipv4(&a, 0x0a630000u + host);
        assert_int_equal(ns_pool_release(p, &a), 0);
    }
    struct ns_addr want = test_addr("10.99.0.3");
    assert_int_equal(ns_pool_alloc(p, &want, 101, &a), 0); /* .3's holder */
    assert_true(ns_addr_equal(&a, &want));
    assert_int_equal(ns_pool_release(p, &want), 0);
    /* .2, .4, then .3. */
    const uint32_t order[] = {2, 4, 3};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), 0);
        assert_int_equal(ns_addr_to_ipv4(&a), 0x0a630000u + order[i]);
    }
    assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), -1);
    ns_pool_free(p);
}

/* A reference model of the order pool.h promises, O(n) per operation:
 * never-used addresses ascending first, then released ones in release
 * order; a preferred free address that the same owner held last is taken
 * from wherever it is. */
struct model {
    uint32_t n;
    uint8_t *state;  /* 0 never used, 1 given out, 2 released */
    uint64_t *owner; /* who held it last, 0: nobody */
    uint32_t *fifo;  /* released, oldest first */
    uint32_t nf;
};

static int model_alloc(struct model *m, int64_t prefer, uint64_t owner)
{
    uint32_t i;
    if (prefer >= 0 && m->state[prefer] != 1 && owner != 0 && m->owner[prefer] == owner) {
        i = (uint32_t)prefer;
    } else {
        for (i = 0; i < m->n && m->state[i] != 0; i++)
            ;
        if (i == m->n) {
            if (m->nf == 0)
                return -1;
            i = m->fifo[0];
        }
    }
    if (m->state[i] == 2) {
        uint32_t k = 0;
        while (m->fifo[k] != i)
            k++;
        memmove(&m->fifo[k], &m->fifo[k + 1], (m->nf - k - 1) * sizeof(uint32_t));
        m->nf--;
    }
    m->state[i] = 1;
    m->owner[i] = owner;
    return (int)i;
}

/* R6: thousands of random allocations (plain and preferred, valid and
 * not, by three owners and none), releases (valid, double, foreign)
 * against the model: the same address every time, the same answers, the
 * same count. */
static void matches_reference_order(void **state)
{
    (void)state;
    const unsigned lens[] = {30, 29, 24, 20};
    srand(7);
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        struct ns_pool *p = pool("10.96.0.0", lens[li]);
        struct model m = {.n = ns_pool_capacity(p)};
        m.state = calloc(m.n, 1);
        m.owner = calloc(m.n, sizeof(uint64_t));
        m.fifo = malloc(m.n * sizeof(uint32_t));
        assert_non_null(m.state);
        assert_non_null(m.owner);
        assert_non_null(m.fifo);
        uint32_t net = 0x0a600000u, in_use = 0;
        for (unsigned step = 0; step < 20000; step++) {
            int op = rand() % 8;
            /* Indexes around the pool: -2 (network), -1 (gateway), n
             * (broadcast) and beyond are not client addresses. */
            int64_t idx = (int64_t)(rand() % (m.n + 4)) - 2;
            struct ns_addr a;
            ns_addr_from_ipv4(&a, net + 2 + (uint32_t)idx);
            bool valid = idx >= 0 && idx < (int64_t)m.n;
            if (op < 3) { /* release */
                bool given = valid && m.state[idx] == 1;
                assert_int_equal(ns_pool_release(p, &a), given ? 0 : -1);
                if (given) {
                    m.state[idx] = 2;
                    m.fifo[m.nf++] = (uint32_t)idx;
                    in_use--;
                }
            } else {
                struct ns_addr got;
                bool pref = op >= 6;
                uint64_t owner = (uint64_t)(rand() % 4);
                int want = model_alloc(&m, pref && valid ? idx : -1, owner);
                int rc = ns_pool_alloc(p, pref ? &a : NULL, owner, &got);
                assert_int_equal(rc, want < 0 ? -1 : 0);
                if (want >= 0) {
                    assert_int_equal(ns_addr_to_ipv4(&got), net + 2 + (uint32_t)want);
                    in_use++;
                }
            }
            assert_int_equal(ns_pool_in_use(p), in_use);
            if (valid)
                assert_int_equal(ns_pool_is_allocated(p, &a), m.state[idx] == 1);
        }
        free(m.state);
        free(m.owner);
        free(m.fifo);
        ns_pool_free(p);
    }
}

/* R6 R12: a /12 (a million addresses) costs a few hundred KiB until it is
 * used, grows with the clients actually served, gives every address exactly
 * once, and stays O(1) per operation. */
static void slash12_bounded_memory(void **state)
{
    (void)state;
    struct ns_pool *p = pool("10.16.0.0", 12);
    const uint32_t n = (1u << 20) - 3;
    assert_int_equal(ns_pool_capacity(p), n);
    size_t empty = ns_pool_memory(p);
    assert_true(empty <= 300 * 1024); /* two 128 KiB bitmaps and a directory */

    /* 5000 clients: two 4096-address blocks of links and last holders'
     * tags (64 KiB each). */
    struct ns_addr a;
    for (unsigned i = 0; i < 5000; i++)
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), 0);
    assert_int_equal(ns_pool_memory(p), empty + 2 * 4096 * 16);
    /* A request for an address far away that nobody held gets the next
     * one instead, and costs no block. */
    struct ns_addr far = test_addr("10.31.255.254"); /* the last client address */
    assert_int_equal(ns_pool_alloc(p, &far, ALICE, &a), 0);
    assert_int_equal(ns_addr_to_ipv4(&a), 0x0a100000u + 2 + 5000);
    assert_int_equal(ns_pool_memory(p), empty + 2 * 4096 * 16);

    /* Every address, each once; then none. */
    uint64_t *seen = calloc((1u << 20) / 64, sizeof(uint64_t));
    assert_non_null(seen);
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0); /* CPU time: others' load aside */
    uint32_t given = 5001;
    while (ns_pool_alloc(p, NULL, 0, &a) == 0) {
        uint32_t host = ns_addr_to_ipv4(&a) - 0x0a100000u;
        assert_true(host >= 2 + 5001 && host <= (1u << 20) - 2); /* not the first 5001 */
        assert_int_equal((seen[host / 64] >> (host % 64)) & 1, 0);
        seen[host / 64] |= (uint64_t)1 << (host % 64);
        given++;
    }
    assert_int_equal(given, n);
    assert_int_equal(ns_pool_in_use(p), n);
    /* Release all, take all again: the released list in use. */
    for (uint32_t host = 2; host < (1u << 20) - 1; host++) {
        ns_addr_from_ipv4(&a, 0x0a100000u + host);
        assert_int_equal(ns_pool_release(p, &a), 0);
    }
    assert_int_equal(ns_pool_in_use(p), 0);
    for (uint32_t host = 2; host < (1u << 20) - 1; host++) {
        assert_int_equal(ns_pool_alloc(p, NULL, 0, &a), 0);
        assert_int_equal(ns_addr_to_ipv4(&a), 0x0a100000u + host); /* release order */
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* About 3 million operations: O(1) each is well under this even
     * sanitized on a loaded machine; a linear scan would take hours. */
    fprintf(stderr, "slash12: %.0f ms CPU for about 3 million operations\n", ms);
    assert_true(ms < 5000.0);
    /* Full use: bounded by the links and tags of every address. */
    assert_true(ns_pool_memory(p) <= empty + (size_t)n * 16 + 4096 * 16);
    free(seen);
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
        cmocka_unit_test(last_holder_is_the_latest),
        cmocka_unit_test(slash16_many_allocations_fast),
        cmocka_unit_test(preferred_then_released_is_reused_last),
        cmocka_unit_test(matches_reference_order),
        cmocka_unit_test(slash12_bounded_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
