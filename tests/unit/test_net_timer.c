/* Unit tests for the timer heap (src/net/timer): deadline order, ties in
 * arming order, cancel and re-arm from anywhere (callbacks included), and
 * ten thousand timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "net/timer.h"

/* Each fired timer appends its id here. */
struct log {
    int ids[20000];
    unsigned n;
};

struct tctx {
    struct log *log;
    int id;
    uint64_t fired_at_deadline;
    struct ns_timer_heap *heap;
    struct ns_timer *other; /* for callbacks that touch another timer */
    int rearms;             /* re-arm itself this many more times */
};

static void record(struct ns_timer *t, void *arg)
{
    struct tctx *c = arg;
    c->log->ids[c->log->n++] = c->id;
    c->fired_at_deadline = t->deadline_ms;
}

static void fires_in_deadline_order(void **state)
{
    (void)state;
    struct ns_timer_heap h;
    ns_timer_heap_init(&h);
    static struct log log;
    log.n = 0;
    const uint64_t deadlines[] = {50, 10, 40, 20, 30, 10, 60};
    enum { N = sizeof(deadlines) / sizeof(deadlines[0]) };
    struct ns_timer t[N];
    struct tctx c[N];
    for (int i = 0; i < N; i++) {
        c[i] = (struct tctx){.log = &log, .id = i};
        ns_timer_init(&t[i], record, &c[i]);
        assert_false(ns_timer_armed(&t[i]));
        assert_int_equal(ns_timer_heap_arm(&h, &t[i], deadlines[i]), 0);
        assert_true(ns_timer_armed(&t[i]));
    }
    assert_int_equal(ns_timer_heap_count(&h), N);
    assert_int_equal(ns_timer_heap_next(&h), 10);
    assert_int_equal(ns_timer_heap_expire(&h, 9), 0);
    /* Both 10s, in the order they were armed. */
    assert_int_equal(ns_timer_heap_expire(&h, 10), 2);
    assert_int_equal(log.ids[0], 1);
    assert_int_equal(log.ids[1], 5);
    assert_false(ns_timer_armed(&t[1]));
    assert_int_equal(ns_timer_heap_expire(&h, 45), 3);
    assert_int_equal(log.ids[2], 3);
    assert_int_equal(log.ids[3], 4);
    assert_int_equal(log.ids[4], 2);
    assert_int_equal(ns_timer_heap_expire(&h, 1000), 2);
    assert_int_equal(log.ids[5], 0);
    assert_int_equal(log.ids[6], 6);
    assert_int_equal(ns_timer_heap_next(&h), NS_TIMER_NEVER);
    ns_timer_heap_fini(&h);
}

static void cancel_and_rearm(void **state)
{
    (void)state;
    struct ns_timer_heap h;
    ns_timer_heap_init(&h);
    static struct log log;
    log.n = 0;
    struct ns_timer t[5];
    struct tctx c[5];
    for (int i = 0; i < 5; i++) {
        c[i] = (struct tctx){.log = &log, .id = i};
        ns_timer_init(&t[i], record, &c[i]);
        assert_int_equal(ns_timer_heap_arm(&h, &t[i], (uint64_t)(i + 1) * 10), 0);
    }
    ns_timer_heap_cancel(&h, &t[0]); /* the root */
    ns_timer_heap_cancel(&h, &t[3]); /* the middle */
    ns_timer_heap_cancel(&h, &t[3]); /* twice: harmless */
    ns_timer_heap_cancel(&h, &t[4]); /* the last slot */
    assert_false(ns_timer_armed(&t[0]));
    assert_int_equal(ns_timer_heap_count(&h), 2);
    assert_int_equal(ns_timer_heap_next(&h), 20);
    /* Re-arming moves a timer, later and earlier. */
    assert_int_equal(ns_timer_heap_arm(&h, &t[1], 100), 0);
    assert_int_equal(ns_timer_heap_arm(&h, &t[4], 5), 0);
    assert_int_equal(ns_timer_heap_count(&h), 3);
    assert_int_equal(ns_timer_heap_next(&h), 5);
    assert_int_equal(ns_timer_heap_expire(&h, 1000), 3);
    assert_int_equal(log.n, 3);
    assert_int_equal(log.ids[0], 4);
    assert_int_equal(log.ids[1], 2);
    assert_int_equal(log.ids[2], 1);
    ns_timer_heap_fini(&h);
}

static void rearm_self(struct ns_timer *t, void *arg)
{
    struct tctx *c = arg;
    record(t, arg);
    if (c->rearms-- > 0)
        ns_timer_heap_arm(c->heap, t, t->deadline_ms); /* "again, now" */
}

static void cancel_other(struct ns_timer *t, void *arg)
{
    struct tctx *c = arg;
    record(t, arg);
    ns_timer_heap_cancel(c->heap, c->other);
}

static void callbacks_may_arm_and_cancel(void **state)
{
    (void)state;
    struct ns_timer_heap h;
    ns_timer_heap_init(&h);
    static struct log log;
    log.n = 0;
    struct ns_timer a, b, c;
    struct tctx ca = {.log = &log, .id = 1, .heap = &h, .rearms = 3};
    struct tctx cb = {.log = &log, .id = 2, .heap = &h, .other = &c};
    struct tctx cc = {.log = &log, .id = 3};
    ns_timer_init(&a, rearm_self, &ca);
    ns_timer_init(&b, cancel_other, &cb);
    ns_timer_init(&c, record, &cc);
    ns_timer_heap_arm(&h, &a, 10);
    ns_timer_heap_arm(&h, &b, 10);
    ns_timer_heap_arm(&h, &c, 10);
    /* a re-arms itself at a due time: it must wait for the next pass, and
     * b cancels c, which was due in the same pass. */
    assert_int_equal(ns_timer_heap_expire(&h, 10), 2);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.ids[0], 1);
    assert_int_equal(log.ids[1], 2);
    assert_false(ns_timer_armed(&c));
    assert_true(ns_timer_armed(&a));
    assert_int_equal(ns_timer_heap_expire(&h, 10), 1);
    assert_int_equal(ns_timer_heap_expire(&h, 10), 1);
    assert_int_equal(ns_timer_heap_expire(&h, 10), 1);
    assert_int_equal(ns_timer_heap_expire(&h, 10), 0); /* rearms used up */
    assert_int_equal(log.n, 5);
    ns_timer_heap_fini(&h);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void ten_thousand_timers(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct ns_timer_heap h;
    ns_timer_heap_init(&h);
    static struct log log;
    log.n = 0;
    struct ns_timer *t = calloc(N, sizeof(*t));
    struct tctx *c = calloc(N, sizeof(*c));
    bool *cancelled = calloc(N, sizeof(*cancelled));
    assert_non_null(t);
    assert_non_null(c);
    assert_non_null(cancelled);
    uint64_t seed = 42;
    for (int i = 0; i < N; i++) {
        c[i] = (struct tctx){.log = &log, .id = i};
        ns_timer_init(&t[i], record, &c[i]);
        assert_int_equal(ns_timer_heap_arm(&h, &t[i], lcg(&seed) % 5000), 0);
    }
    /* Move a third, cancel a third, in random order. */
    unsigned live = N;
    for (int k = 0; k < N; k++) {
        int i = (int)(lcg(&seed) % N);
        if (cancelled[i])
            continue;
        if (k % 2) {
            ns_timer_heap_cancel(&h, &t[i]);
            cancelled[i] = true;
            live--;
        } else {
            assert_int_equal(ns_timer_heap_arm(&h, &t[i], lcg(&seed) % 5000), 0);
        }
    }
    assert_int_equal(ns_timer_heap_count(&h), live);
    /* Expire in steps: every timer fires once, never early, in order. */
    uint64_t prev = 0;
    for (uint64_t now = 0; now < 5000 + 7; now += 7) {
        unsigned before = log.n;
        ns_timer_heap_expire(&h, now);
        for (unsigned k = before; k < log.n; k++) {
            const struct tctx *x = &c[log.ids[k]];
            assert_true(x->fired_at_deadline <= now);
            assert_true(x->fired_at_deadline >= prev);
            prev = x->fired_at_deadline;
        }
        assert_true(ns_timer_heap_next(&h) > now);
    }
    assert_int_equal(log.n, live);
    assert_int_equal(ns_timer_heap_count(&h), 0);
    for (unsigned k = 0; k < log.n; k++)
        assert_false(cancelled[log.ids[k]]);
    ns_timer_heap_fini(&h);
    free(t);
    free(c);
    free(cancelled);
}

static void fini_disarms(void **state)
{
    (void)state;
    struct ns_timer_heap h;
    ns_timer_heap_init(&h);
    struct ns_timer t;
    ns_timer_init(&t, NULL, NULL);
    assert_int_equal(ns_timer_heap_arm(&h, &t, 1), 0);
    ns_timer_heap_fini(&h);
    assert_false(ns_timer_armed(&t));
    /* A zeroed timer is simply idle. */
    struct ns_timer z;
    memset(&z, 0, sizeof(z));
    assert_false(ns_timer_armed(&z));
    ns_timer_heap_cancel(&h, &z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fires_in_deadline_order),
        cmocka_unit_test(cancel_and_rearm),
        cmocka_unit_test(callbacks_may_arm_and_cancel),
        cmocka_unit_test(ten_thousand_timers),
        cmocka_unit_test(fini_disarms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
