/* Unit tests for the per-source table of half-open IKE SAs
 * (src/ike/halfopen.h): counts, the largest holder and its oldest SA, the
 * rule that picks a victim, sources freed at 0, IPv6 sources by /64, hash
 * collisions, growth, and random operations against a plain model.
 * X13 (fair share per source), R15 (bounded state). */
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

#include "ike/halfopen.h"
#include "util/addr.h"

static struct ns_addr src_of(const char *text)
{
    struct ns_addr a, s;
    assert_int_equal(ns_addr_parse(&a, text), 0);
    ns_halfopen_source_of(&a, &s);
    return s;
}

/* A hash for the tests: any function of the source does (the engine uses
 * a keyed SipHash); the collision test uses a constant instead. */
static uint64_t hash_of(const struct ns_addr *s)
{
    uint64_t h = 1469598103934665603ull ^ s->family;
    for (size_t i = 0; i < sizeof(s->a); i++)
        h = (h ^ s->a[i]) * 1099511628211ull;
    return h;
}

static unsigned count_of(const struct ns_halfopen_table *t, const char *text)
{
    struct ns_addr s = src_of(text);
    return ns_halfopen_count(t, &s, hash_of(&s));
}

static void add(struct ns_halfopen_table *t, struct ns_halfopen_link *l, const char *text)
{
    struct ns_addr s = src_of(text);
    assert_int_equal(ns_halfopen_add(t, l, &s, hash_of(&s)), 0);
    assert_true(ns_halfopen_consistent(t));
}

static void del(struct ns_halfopen_table *t, struct ns_halfopen_link *l)
{
    ns_halfopen_del(t, l);
    assert_null(l->src);
    assert_true(ns_halfopen_consistent(t));
}

/* X13 R15: counts per source, the largest holder, a source freed when its
 * last half-open SA goes, and a link that is not counted left alone. */
static void counts_and_sources(void **state)
{
    (void)state;
    struct ns_halfopen_table t;
    assert_int_equal(ns_halfopen_init(&t), 0);
    struct ns_halfopen_link a[3] = {0}, b = {0}, loose = {0};
    assert_int_equal(ns_halfopen_sources(&t), 0);
    assert_int_equal(ns_halfopen_largest(&t), 0);
    for (int i = 0; i < 3; i++)
        add(&t, &a[i], "198.51.100.7");
    add(&t, &b, "203.0.113.9");
    assert_int_equal(count_of(&t, "198.51.100.7"), 3);
    assert_int_equal(count_of(&t, "203.0.113.9"), 1);
    assert_int_equal(count_of(&t, "203.0.113.10"), 0);
    assert_int_equal(ns_halfopen_sources(&t), 2);
    assert_int_equal(ns_halfopen_largest(&t), 3);

    del(&t, &b);
    assert_int_equal(ns_halfopen_sources(&t), 1); /* its entry is gone */
    assert_int_equal(count_of(&t, "203.0.113.9"), 0);
    del(&t, &b); /* twice: nothing */
    del(&t, &loose);
    assert_int_equal(ns_halfopen_sources(&t), 1);
    del(&t, &a[1]);
    assert_int_equal(ns_halfopen_largest(&t), 2);
    del(&t, &a[0]);
    del(&t, &a[2]);
    assert_int_equal(ns_halfopen_sources(&t), 0);
    assert_int_equal(ns_halfopen_largest(&t), 0);
    /* An emptied source comes back as a new one. */
    add(&t, &a[0], "198.51.100.7");
    assert_int_equal(count_of(&t, "198.51.100.7"), 1);
    del(&t, &a[0]);
    ns_halfopen_free(&t);
}

/* X13 R15: the victim is the oldest half-open SA of a largest holder, and
 * only for a newcomer holding at least two fewer (afterwards it holds no
 * more than the holder keeps); the holder itself and one just below it
 * are refused, and among equal shares nothing is evicted. */
static void victim_rule(void **state)
{
    (void)state;
    struct ns_halfopen_table t;
    assert_int_equal(ns_halfopen_init(&t), 0);
    struct ns_halfopen_link a[5] = {0}, b = {0}, c = {0};
    for (int i = 0; i < 5; i++)
        add(&t, &a[i], "192.0.2.1");
    add(&t, &b, "192.0.2.2");
    assert_ptr_equal(ns_halfopen_victim(&t, 0), &a[0]);
    assert_ptr_equal(ns_halfopen_victim(&t, 1), &a[0]);
    assert_ptr_equal(ns_halfopen_victim(&t, 3), &a[0]);
    assert_null(ns_halfopen_victim(&t, 4));
    assert_null(ns_halfopen_victim(&t, 5));
    assert_null(ns_halfopen_victim(&t, 4000000000u));
    /* The oldest goes first; after it the next oldest. */
    del(&t, &a[0]);
    assert_ptr_equal(ns_halfopen_victim(&t, 0), &a[1]);
    del(&t, &a[2]); /* from the middle: the order stays */
    assert_ptr_equal(ns_halfopen_victim(&t, 0), &a[1]);
    del(&t, &a[1]);
    assert_ptr_equal(ns_halfopen_victim(&t, 0), &a[3]);
    /* a: 2 (a3, a4), b: 1. A newcomer with 0 still takes a's oldest. */
    assert_ptr_equal(ns_halfopen_victim(&t, 0), &a[3]);
    assert_null(ns_halfopen_victim(&t, 1));
    del(&t, &a[3]);
    /* Equal shares of one each: nobody is evicted. */
    add(&t, &c, "192.0.2.3");
    assert_int_equal(ns_halfopen_largest(&t), 1);
    assert_null(ns_halfopen_victim(&t, 0));
    del(&t, &a[4]);
    del(&t, &b);
    del(&t, &c);
    assert_null(ns_halfopen_victim(&t, 0));
    ns_halfopen_free(&t);
}

/* X13: an IPv6 source is its /64 (every address in it returns cookies);
 * IPv4 addresses are their own; the families never mix. */
static void ipv6_by_prefix(void **state)
{
    (void)state;
    struct ns_halfopen_table t;
    assert_int_equal(ns_halfopen_init(&t), 0);
    struct ns_halfopen_link l[6] = {0};
    add(&t, &l[0], "2001:db8:1:2::1");
    add(&t, &l[1], "2001:db8:1:2:ffff:ffff:ffff:fffe");
    add(&t, &l[2], "2001:db8:1:3::1");
    add(&t, &l[3], "1.2.3.4");
    add(&t, &l[4], "1.2.3.5");
    add(&t, &l[5], "102:304::"); /* the same first bytes as 1.2.3.4 */
    assert_int_equal(count_of(&t, "2001:db8:1:2::abcd"), 2);
    assert_int_equal(count_of(&t, "2001:db8:1:3::"), 1);
    assert_int_equal(count_of(&t, "1.2.3.4"), 1);
    assert_int_equal(count_of(&t, "102:304::1"), 1);
    assert_int_equal(ns_halfopen_sources(&t), 5);
    struct ns_addr s = src_of("2001:db8:1:2:aaaa::1");
    assert_memory_equal(s.a + 8, (uint8_t[8]){0}, 8);
    for (int i = 0; i < 6; i++)
        del(&t, &l[i]);
    assert_int_equal(ns_halfopen_sources(&t), 0);
    ns_halfopen_free(&t);
}

/* X13: sources whose hashes collide (one chain) stay apart, and any of
 * them leaves the chain without disturbing the others. */
static void colliding_hashes(void **state)
{
    (void)state;
    struct ns_halfopen_table t;
    assert_int_equal(ns_halfopen_init(&t), 0);
    enum { N = 40 };
    struct ns_halfopen_link l[N] = {0};
    struct ns_addr s[N];
    for (unsigned i = 0; i < N; i++) {
        char text[32];
        snprintf(text, sizeof(text), "203.0.113.%u", i % 10);
        s[i] = src_of(text);
        assert_int_equal(ns_halfopen_add(&t, &l[i], &s[i], 42), 0);
    }
    assert_true(ns_halfopen_consistent(&t));
    assert_int_equal(ns_halfopen_sources(&t), 10);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(ns_halfopen_count(&t, &s[i], 42), 4);
    for (unsigned i = 0; i < N; i += 10) /* all of 203.0.113.0 */
        ns_halfopen_del(&t, &l[i]);
    assert_true(ns_halfopen_consistent(&t));
    assert_int_equal(ns_halfopen_sources(&t), 9);
    assert_int_equal(ns_halfopen_count(&t, &s[0], 42), 0);
    assert_int_equal(ns_halfopen_count(&t, &s[5], 42), 4);
    for (unsigned i = 0; i < N; i++)
        ns_halfopen_del(&t, &l[i]);
    assert_true(ns_halfopen_consistent(&t));
    assert_int_equal(ns_halfopen_sources(&t), 0);
    ns_halfopen_free(&t);
}

/* X13 R15: thousands of sources and one source with thousands of SAs (the
 * hash and the count lists grow), then all gone again. */
static void growth(void **state)
{
    (void)state;
    struct ns_halfopen_table t;
    assert_int_equal(ns_halfopen_init(&t), 0);
    enum { SOURCES = 3000, HEAVY = 5000 };
    struct ns_halfopen_link *l = calloc(SOURCES + HEAVY, sizeof(*l));
    assert_non_null(l);
    struct ns_addr heavy = src_of("198.51.100.200");
    for (unsigned i = 0; i < SOURCES + HEAVY; i++) {
        struct ns_addr s = heavy;
        if (i < SOURCES) {
            s.a[2] = (uint8_t)(i >> 8);
            s.a[3] = (uint8_t)i;
            s.a[0] = 10;
        }
        assert_int_equal(ns_halfopen_add(&t, &l[i], &s, hash_of(&s)), 0);
    }
    assert_true(ns_halfopen_consistent(&t));
    assert_int_equal(ns_halfopen_sources(&t), SOURCES + 1);
    assert_int_equal(ns_halfopen_largest(&t), HEAVY);
    assert_int_equal(ns_halfopen_count(&t, &heavy, hash_of(&heavy)), HEAVY);
    assert_ptr_equal(ns_halfopen_victim(&t, 1), &l[SOURCES]);
    for (unsigned i = SOURCES + HEAVY; i-- > 0;)
        ns_halfopen_del(&t, &l[i]);
    assert_true(ns_halfopen_consistent(&t));
    assert_int_equal(ns_halfopen_sources(&t), 0);
    assert_int_equal(ns_halfopen_largest(&t), 0);
    free(l);
    ns_halfopen_free(&t);
}

/* X13 R15: random additions and removals over a few sources, checked after
 * every step against a plain model (counts, oldest per source, largest,
 * the victim for every newcomer count) and the table's own walk. */
static void random_against_model(void **state)
{
    (void)state;
    enum { SRC = 12, LINKS = 300, STEPS = 20000 };
    struct ns_halfopen_table t;
    assert_int_equal(ns_halfopen_init(&t), 0);
    static struct ns_halfopen_link l[LINKS];
    static int owner[LINKS];      /* model: the source of link i, -1 when not counted */
    static unsigned stamp[LINKS]; /* model: when it was added */
    memset(l, 0, sizeof(l));
    struct ns_addr s[SRC];
    for (int i = 0; i < SRC; i++) {
        s[i] = src_of(i % 2 ? "2001:db8::1" : "192.0.2.1");
        s[i].a[i % 2 ? 7 : 3] = (uint8_t)(i + 1);
    }
    for (int i = 0; i < LINKS; i++)
        owner[i] = -1;
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (unsigned step = 1; step <= STEPS; step++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        unsigned i = (unsigned)(r % LINKS);
        if (owner[i] < 0) {
            /* Skewed: low-numbered sources get more. */
            int k = (int)((r >> 20) % SRC);
            k = (r >> 40) & 1 ? k / 3 : k;
            assert_int_equal(ns_halfopen_add(&t, &l[i], &s[k], hash_of(&s[k])), 0);
            owner[i] = k;
            stamp[i] = step;
        } else {
            ns_halfopen_del(&t, &l[i]);
            owner[i] = -1;
        }
        unsigned count[SRC] = {0}, max = 0, sources = 0;
        int oldest[SRC];
        for (int k = 0; k < SRC; k++)
            oldest[k] = -1;
        for (int j = 0; j < LINKS; j++) {
            int k = owner[j];
            if (k < 0)
                continue;
            count[k]++;
            if (oldest[k] < 0 || stamp[j] < stamp[oldest[k]])
                oldest[k] = j;
        }
        for (int k = 0; k < SRC; k++) {
            max = count[k] > max ? count[k] : max;
            sources += count[k] > 0;
            assert_int_equal(ns_halfopen_count(&t, &s[k], hash_of(&s[k])), count[k]);
        }
        assert_int_equal(ns_halfopen_largest(&t), max);
        assert_int_equal(ns_halfopen_sources(&t), sources);
        for (unsigned c = 0; c <= max + 1; c++) {
            struct ns_halfopen_link *v = ns_halfopen_victim(&t, c);
            if (max < 2 || c > max - 2) {
                assert_null(v);
                continue;
            }
            assert_non_null(v);
            int j = (int)(v - l);
            assert_true(j >= 0 && j < LINKS && owner[j] >= 0);
            assert_int_equal(count[owner[j]], max); /* a largest holder ... */
            assert_int_equal(oldest[owner[j]], j);  /* ... and its oldest */
        }
        if (step % 97 == 0)
            assert_true(ns_halfopen_consistent(&t));
    }
    for (int i = 0; i < LINKS; i++)
        ns_halfopen_del(&t, &l[i]);
    assert_true(ns_halfopen_consistent(&t));
    assert_int_equal(ns_halfopen_sources(&t), 0);
    ns_halfopen_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_sources),
        cmocka_unit_test(victim_rule),
        cmocka_unit_test(ipv6_by_prefix),
        cmocka_unit_test(colliding_hashes),
        cmocka_unit_test(growth),
        cmocka_unit_test(random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
