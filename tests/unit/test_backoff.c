/* Unit tests for util/backoff (X2: a client reconnects with a back-off
 * that doubles, with jitter, so a gateway's clients do not all come back
 * at once after it restarts). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/backoff.h"

/* X2: the range of each attempt's wait: half to all of 1, 2, 4, 8, 16 s,
 * then 30 s for every later attempt. */
static void doubles_to_thirty_seconds(void **state)
{
    (void)state;
    static const uint64_t full[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (unsigned a = 0; a < sizeof(full) / sizeof(full[0]); a++) {
        assert_int_equal(ns_backoff_ms(a, 0), full[a] / 2);
        assert_int_equal(ns_backoff_ms(a, full[a] / 2), full[a]);
        /* Every random value lands inside the range. */
        for (uint64_t r = 1; r < 100000; r = r * 3 + 7) {
            uint64_t ms = ns_backoff_ms(a, r);
            assert_true(ms >= full[a] / 2 && ms <= full[a]);
        }
        assert_true(ns_backoff_ms(a, UINT64_MAX) <= full[a]);
    }
    /* A count far beyond the doubling shifts nothing out of range. */
    assert_int_equal(ns_backoff_ms(1000, 0), 15000);
    assert_int_equal(ns_backoff_ms(UINT32_MAX, 15000), 30000);
}

/* X2: different random values spread the clients over the range, not onto
 * one instant. */
static void jitter_spreads(void **state)
{
    (void)state;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t r = 0; r < 1000; r++) {
        uint64_t ms = ns_backoff_ms(5, r * 2654435761u);
        lo = ms < lo ? ms : lo;
        hi = ms > hi ? ms : hi;
    }
    assert_true(hi - lo >= 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_to_thirty_seconds),
        cmocka_unit_test(jitter_spreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
