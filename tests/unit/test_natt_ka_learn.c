/* Unit tests for learning the keepalive interval from a NAT's mapping
 * lifetime (src/natt/ka_learn.c; X1, R4): the learner against simulated
 * NATs on a simulated clock, driven as natsecd's keepalive.c drives it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "natt/ka_learn.h"

/* An idle tunnel behind a NAT that forgets a mapping after nat_ms of
 * silence: a keepalive every interval (half a second late, as a timer
 * scanning every second is), each either a check or a dummy packet. Any
 * keepalive makes a new mapping after an expiry (the peer follows it, R4);
 * only a check tells the learner, which hears of every expiry since the
 * previous check and of the longest silence meanwhile. */
struct sim {
    struct ns_ka_learn l;
    uint64_t now;
    uint32_t nat_ms;
    uint32_t silence_max;   /* since the last check */
    bool expired_since;     /* since the last check */
    unsigned expiries;      /* silences the NAT did not survive */
    unsigned checks;        /* keepalives that were checks */
    unsigned keepalives;
    uint32_t min_iv;        /* the shortest interval used */
};

#define LATE_MS 500u

static void sim_init(struct sim *s, uint32_t nat_ms)
{
    *s = (struct sim){.now = 1000, .nat_ms = nat_ms, .min_iv = UINT32_MAX};
    ns_ka_learn_init(&s->l, NS_KA_FLOOR_MS, NS_KA_CAP_MS);
}

/* Runs the tunnel idle for ms. */
static void sim_run(struct sim *s, uint64_t ms)
{
    uint64_t end = s->now + ms;
    while (s->now < end) {
        uint32_t silence = s->l.interval_ms + LATE_MS;
        if (s->l.interval_ms < s->min_iv)
            s->min_iv = s->l.interval_ms;
        s->now += silence;
        s->keepalives++;
        if (silence > s->silence_max)
            s->silence_max = silence;
        if (silence > s->nat_ms) {
            s->expiries++;
            s->expired_since = true;
        }
        if (ns_ka_learn_check_due(&s->l, silence, s->now)) {
            s->checks++;
            ns_ka_learn_result(&s->l, s->silence_max, s->expired_since, s->now);
            s->silence_max = 0;
            s->expired_since = false;
        }
    }
}

/* X1: nothing known, the interval is the cap (RFC 3948's 20 s) and the
 * first keepalive is a check; a NAT that keeps mappings longer than that
 * is never seen to change, the interval stays at the cap and checks come
 * only every NS_KA_CHECK_MS. */
static void long_lived_nat_keeps_the_cap(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s, 120000);
    assert_int_equal(s.l.interval_ms, NS_KA_CAP_MS);
    assert_true(ns_ka_learn_check_due(&s.l, 0, s.now));
    sim_run(&s, 3600000);
    assert_int_equal(s.expiries, 0);
    assert_int_equal(s.l.changes, 0);
    assert_int_equal(s.l.interval_ms, NS_KA_CAP_MS);
    assert_int_equal(s.min_iv, NS_KA_CAP_MS);
    assert_true(s.l.lived_ms >= NS_KA_CAP_MS);
    /* A check every 2 minutes (at the first keepalive after), and the first. */
    assert_true(s.checks >= 28 && s.checks <= 32);
    assert_true(s.keepalives >= 170);
}

/* X1, R4: the test's NAT (12 s): the first check after 20.5 s finds the
 * mapping changed, the interval halves to 10.25 s at once, the next check
 * sees 10.75 s survive, and it stays there for the hold time; an hour
 * costs at most one lost mapping per hold time (the upward probes), and
 * checks stay rare once learned. */
static void twelve_second_nat_is_learned(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s, 12000);
    sim_run(&s, 21000);
    assert_int_equal(s.expiries, 1);
    assert_int_equal(s.l.changes, 1);
    assert_int_equal(s.l.interval_ms, 10250);
    assert_int_equal(s.l.lost_ms, 20500);
    assert_int_equal(s.l.lived_ms, 10750);
    assert_int_equal(s.checks, 2);
    unsigned checks = s.checks;
    sim_run(&s, NS_KA_HOLD_MS - 60000);
    assert_int_equal(s.expiries, 1);
    assert_int_equal(s.l.interval_ms, 10250); /* held: no probe upwards yet */
    assert_true(s.checks - checks <= 5);      /* the 2-minute checks only */
    sim_run(&s, 3600000);
    /* Above the NAT's 12 s only as a probe not yet checked. */
    assert_true(s.l.interval_ms < 12000 || s.l.lived_ms < s.l.interval_ms);
    assert_true(s.expiries <= 1 + 3600000 / NS_KA_HOLD_MS + 1);
    assert_true(s.checks < s.keepalives / 4);
}

/* X1: a NAT shorter than the floor: the interval goes down to the floor
 * and not below; expiries go on (nothing better is allowed). */
static void floor_is_kept(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s, 3000);
    sim_run(&s, 120000);
    assert_int_equal(s.l.interval_ms, NS_KA_FLOOR_MS);
    assert_int_equal(s.min_iv, NS_KA_FLOOR_MS);
    assert_true(s.l.changes >= 2);
}

/* X1: the NAT changes (a laptop moves from a 12 s NAT to one that keeps
 * mappings for minutes): after the hold time the interval grows back to
 * the cap by checked steps; then to a 7 s NAT: down again below 7 s. */
static void interval_follows_a_changing_nat(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s, 12000);
    sim_run(&s, 60000);
    assert_int_equal(s.l.interval_ms, 10250);
    s.nat_ms = 300000;
    unsigned exp = s.expiries;
    sim_run(&s, NS_KA_HOLD_MS + 120000);
    assert_int_equal(s.expiries, exp);
    assert_int_equal(s.l.interval_ms, NS_KA_CAP_MS);
    assert_int_equal(s.l.lost_ms, 0);
    /* Found at the next 2-minute check at the latest. */
    s.nat_ms = 7000;
    sim_run(&s, NS_KA_CHECK_MS + 60000);
    assert_true(s.l.interval_ms < 7000);
    assert_true(s.l.interval_ms >= NS_KA_FLOOR_MS);
}

/* The pure rules, step by step: a change sets lost and the interval to
 * max(lost / 2, lived - slack); a survival as long as the lost bound
 * forgets it; a lost bound ages out after NS_KA_HOLD_MS; a short silence
 * (traffic) is no check of a longer interval. */
static void rules_step_by_step(void **state)
{
    (void)state;
    struct ns_ka_learn l;
    ns_ka_learn_init(&l, NS_KA_FLOOR_MS, NS_KA_CAP_MS);
    ns_ka_learn_result(&l, 9000, false, 1000);
    assert_int_equal(l.lived_ms, 9000);
    assert_int_equal(l.interval_ms, NS_KA_CAP_MS); /* 9 s < 20 s: not proven, no growth */
    assert_false(ns_ka_learn_check_due(&l, 2000, 2000));
    assert_true(ns_ka_learn_check_due(&l, 20000, 2000));
    ns_ka_learn_result(&l, 20000, true, 3000);
    assert_int_equal(l.lost_ms, 20000);
    assert_int_equal(l.interval_ms, 10000); /* max(20 / 2, 9 - 1) */
    ns_ka_learn_result(&l, 16000, true, 4000);
    assert_int_equal(l.lost_ms, 16000);
    assert_int_equal(l.interval_ms, 8000); /* max(16 / 2, 9 - 1) */
    ns_ka_learn_result(&l, 14000, false, 5000);
    assert_int_equal(l.lived_ms, 14000);
    assert_int_equal(l.lost_ms, 16000); /* still trusted: hold */
    assert_int_equal(l.interval_ms, 8000);
    ns_ka_learn_result(&l, 17000, false, 6000);
    assert_int_equal(l.lost_ms, 0); /* lived longer than it was lost after */
    assert_int_equal(l.interval_ms, 10000); /* grows by a quarter */
    ns_ka_learn_result(&l, 12000, true, 7000);
    assert_int_equal(l.lived_ms, 0); /* 17 s lived, 12 s lost: the NAT changed */
    assert_int_equal(l.interval_ms, NS_KA_FLOOR_MS + 1000);
    ns_ka_learn_result(&l, 6500, false, 7000 + NS_KA_HOLD_MS);
    assert_int_equal(l.lost_ms, 0); /* aged out */
    assert_int_equal(l.interval_ms, 7500);
    assert_int_equal(l.changes, 3);
    assert_int_equal(l.checks, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_lived_nat_keeps_the_cap),
        cmocka_unit_test(twelve_second_nat_is_learned),
        cmocka_unit_test(floor_is_kept),
        cmocka_unit_test(interval_follows_a_changing_nat),
        cmocka_unit_test(rules_step_by_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
