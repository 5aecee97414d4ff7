/* Unit tests for util/ratelimit (R15: a flood of packets from peers not
 * yet authenticated fills neither the disk nor the journal): per kind, at
 * most `burst` lines a window, then one line with the count held back.
 * The clock is a number the tests advance; the log goes to memory. */
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

#include "util/log.h"
#include "util/ratelimit.h"

static char *buf;
static size_t buf_len;
static FILE *log_f;

static int setup(void **state)
{
    (void)state;
    log_f = open_memstream(&buf, &buf_len);
    if (!log_f)
        return -1;
    ns_log_set_stream(log_f);
    ns_log_set_level(NS_LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ns_log_set_stream(NULL);
    fclose(log_f);
    free(buf);
    buf = NULL;
    return 0;
}

/* How many lines of the captured log contain needle. */
static unsigned count(const char *needle)
{
    fflush(log_f);
    unsigned n = 0;
    for (const char *p = buf; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void expect_logged(const char *needle)
{
    if (count(needle) == 0)
        fail_msg("log \"%s\" lacks \"%s\"", buf ? buf : "", needle);
}

/* R15: burst lines a window, the rest counted; the count comes first in
 * the next window, and then lines go through again. */
static void burst_then_summary(void **state)
{
    (void)state;
    struct ns_ratelimit rl;
    ns_ratelimit_init(&rl, "test: bad thing", 3, 1000);
    assert_int_equal(ns_ratelimit_due(&rl), NS_RATELIMIT_NEVER);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(ns_ratelimit_allow(&rl, NS_LOG_INFO, 5000 + i * 10), i < 3);
    assert_int_equal(count("suppressed"), 0);
    assert_int_equal(ns_ratelimit_due(&rl), 6000);
    /* Still the same window at 5999. */
    assert_false(ns_ratelimit_allow(&rl, NS_LOG_INFO, 5999));
    assert_int_equal(count("suppressed"), 0);
    assert_true(ns_ratelimit_allow(&rl, NS_LOG_INFO, 6000));
    expect_logged("INFO test: bad thing: 8 similar lines suppressed (at most 3 logged every "
                  "1000 ms)");
    assert_int_equal(ns_ratelimit_due(&rl), NS_RATELIMIT_NEVER);
    assert_true(ns_ratelimit_allow(&rl, NS_LOG_INFO, 6001));
    assert_true(ns_ratelimit_allow(&rl, NS_LOG_INFO, 6002));
    assert_false(ns_ratelimit_allow(&rl, NS_LOG_INFO, 6003));
    assert_int_equal(count("suppressed"), 1);
}

/* R15: a flood that stops is still reported, once its window is over,
 * by the owner's timer (flush); flush before that says nothing. */
static void flush_reports_after_the_flood(void **state)
{
    (void)state;
    struct ns_ratelimit rl;
    ns_ratelimit_init(&rl, "test: flood", 2, 10000);
    for (unsigned i = 0; i < 7; i++)
        ns_ratelimit_allow(&rl, NS_LOG_INFO, 100);
    ns_ratelimit_flush(&rl, 10099);
    assert_int_equal(count("suppressed"), 0);
    ns_ratelimit_flush(&rl, 10100);
    expect_logged("test: flood: 5 similar lines suppressed");
    assert_int_equal(ns_ratelimit_due(&rl), NS_RATELIMIT_NEVER);
    ns_ratelimit_flush(&rl, 50000); /* nothing more to say */
    assert_int_equal(count("suppressed"), 1);
    /* Quiet since: the next line goes through at once. */
    assert_true(ns_ratelimit_allow(&rl, NS_LOG_INFO, 60000));
}

/* The summary has the level of the most severe line it stands for. */
static void summary_level_is_the_worst(void **state)
{
    (void)state;
    struct ns_ratelimit rl;
    ns_ratelimit_init(&rl, "test: mixed", 1, 1000);
    assert_true(ns_ratelimit_allow(&rl, NS_LOG_INFO, 0));
    assert_false(ns_ratelimit_allow(&rl, NS_LOG_INFO, 1));
    assert_false(ns_ratelimit_allow(&rl, NS_LOG_WARN, 2));
    assert_false(ns_ratelimit_allow(&rl, NS_LOG_INFO, 3));
    ns_ratelimit_flush(&rl, 1000);
    expect_logged("WARN test: mixed: 3 similar lines suppressed");
    ns_ratelimit_allow(&rl, NS_LOG_INFO, 2000);
    ns_ratelimit_allow(&rl, NS_LOG_INFO, 2001);
    ns_ratelimit_flush(&rl, 3000);
    expect_logged("INFO test: mixed: 1 similar lines suppressed");
}

/* A clock that goes back starts a new window rather than stalling. */
static void clock_going_back(void **state)
{
    (void)state;
    struct ns_ratelimit rl;
    ns_ratelimit_init(&rl, "test: back", 1, 1000);
    assert_true(ns_ratelimit_allow(&rl, NS_LOG_INFO, 5000));
    assert_false(ns_ratelimit_allow(&rl, NS_LOG_INFO, 5001));
    assert_true(ns_ratelimit_allow(&rl, NS_LOG_INFO, 10));
    expect_logged("test: back: 1 similar lines suppressed");
}

/* R15: lines below the log level are neither logged nor counted by
 * NS_LOG_LIMITED; the others go through the limiter. */
static void macro_respects_the_level(void **state)
{
    (void)state;
    struct ns_ratelimit rl;
    ns_ratelimit_init(&rl, "test: macro", 2, 1000);
    for (unsigned i = 0; i < 5; i++)
        NS_LOG_LIMITED(&rl, 0, NS_LOG_DEBUG, "debug line %u", i);
    assert_int_equal(count("debug line"), 0);
    assert_int_equal(ns_ratelimit_due(&rl), NS_RATELIMIT_NEVER);
    for (unsigned i = 0; i < 5; i++)
        NS_LOG_LIMITED(&rl, 0, NS_LOG_INFO, "info line %u", i);
    assert_int_equal(count("info line"), 2);
    ns_ratelimit_flush(&rl, 1000);
    expect_logged("test: macro: 3 similar lines suppressed");
}

/* R15: a flood of 1,000,000 lines in 100 s (10,000 a second) leaves at
 * most burst + 1 lines per window: 10 windows of 10 s, 10 lines each,
 * and the counts add up to the flood. */
static void flood_is_bounded(void **state)
{
    (void)state;
    struct ns_ratelimit rl;
    ns_ratelimit_init(&rl, "test: flood", 10, 10000);
    for (uint64_t i = 0; i < 1000000; i++)
        NS_LOG_LIMITED(&rl, i / 10, NS_LOG_INFO, "flood line");
    ns_ratelimit_flush(&rl, 100000);
    unsigned lines = count("flood line"), summaries = count("similar lines suppressed");
    assert_int_equal(lines, 10 * 10);
    assert_int_equal(summaries, 10);
    /* Every summary is of one window: 100,000 lines, 10 of them logged. */
    assert_int_equal(count("test: flood: 99990 similar lines suppressed"), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(burst_then_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(flush_reports_after_the_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(summary_level_is_the_worst, setup, teardown),
        cmocka_unit_test_setup_teardown(clock_going_back, setup, teardown),
        cmocka_unit_test_setup_teardown(macro_respects_the_level, setup, teardown),
        cmocka_unit_test_setup_teardown(flood_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
