/* Unit tests for the ESP anti-replay window and ESN inference
 * (src/esp/replay; RFC 4303 3.4.3 and appendix A). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "esp/replay.h"

/* Check then update, as the decapsulation path does. */
static bool accept(struct ns_replay *r, uint64_t seq)
{
    if (!ns_replay_check(r, seq))
        return false;
    return ns_replay_update(r, seq, true) != NS_REPLAY_SEEN;
}

static void window_is_at_least_1024(void **state)
{
    (void)state;
    assert_true(NS_REPLAY_WINDOW >= 1024);
    /* The ring must hold a whole window whatever its alignment. */
    assert_true(NS_REPLAY_WORDS * 64 >= NS_REPLAY_WINDOW + 64);
}

static void first_packets_and_duplicates(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    assert_false(ns_replay_check(&r, 0)); /* the counter starts at 1 */
    assert_true(accept(&r, 1));
    assert_false(accept(&r, 1));
    assert_true(accept(&r, 3));
    assert_true(accept(&r, 2)); /* reordered, still inside */
    assert_false(accept(&r, 2));
    assert_false(accept(&r, 3));
    assert_int_equal(r.top, 3);
}

static void window_edges(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    const uint64_t top = 100000;
    assert_true(accept(&r, top));
    /* Exactly NS_REPLAY_WINDOW numbers, top included, are inside. */
    assert_true(ns_replay_check(&r, top - NS_REPLAY_WINDOW + 1));
    assert_false(ns_replay_check(&r, top - NS_REPLAY_WINDOW));
    assert_false(ns_replay_check(&r, 1));
    for (uint64_t s = top - NS_REPLAY_WINDOW + 1; s < top; s++)
        assert_true(accept(&r, s));
    for (uint64_t s = top - NS_REPLAY_WINDOW + 1; s <= top; s++)
        assert_false(ns_replay_check(&r, s));
}

static void update_reports_newest(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    assert_int_equal(ns_replay_update(&r, 10, true), NS_REPLAY_NEWEST);
    assert_int_equal(ns_replay_update(&r, 5, true), NS_REPLAY_INSIDE);
    assert_int_equal(ns_replay_update(&r, 11, true), NS_REPLAY_NEWEST);
    assert_int_equal(ns_replay_update(&r, 5000, true), NS_REPLAY_NEWEST);
    assert_int_equal(ns_replay_update(&r, 4999, true), NS_REPLAY_INSIDE);
    /* A number recorded since its check (another thread's copy). */
    assert_int_equal(ns_replay_update(&r, 4999, true), NS_REPLAY_SEEN);
    assert_int_equal(ns_replay_update(&r, 5000, true), NS_REPLAY_SEEN);
}

static void big_jump_clears_stale_bits(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    for (uint64_t s = 1; s <= 5000; s++)
        assert_true(accept(&r, s));
    /* Jump by more than the ring and by less; the bits of numbers that were
     * seen before must not leak into the positions of new numbers. */
    assert_true(accept(&r, 5000 + 3 * NS_REPLAY_WINDOW));
    for (uint64_t s = 5001 + 2 * NS_REPLAY_WINDOW; s < 5000 + 3 * NS_REPLAY_WINDOW; s++)
        assert_true(accept(&r, s));
    uint64_t t = r.top;
    assert_true(accept(&r, t + 100));
    for (uint64_t s = t + 1; s < t + 100; s++)
        assert_true(accept(&r, s));
}

/* The window against a plain reference: a bitmap of every number ever
 * accepted and the rule of RFC 4303 3.4.3, on random reordered traffic. */
static void matches_reference_model(void **state)
{
    (void)state;
    enum { SPACE = 300000 };
    uint8_t *seen = calloc(SPACE, 1);
    assert_non_null(seen);
    struct ns_replay r;
    ns_replay_init(&r);
    uint64_t top = 0;
    srand(12345);
    uint64_t next = 1;
    for (int i = 0; i < 400000; i++) {
        uint64_t s;
        int pick = rand() % 100;
        if (pick < 60)
            s = next++; /* in order */
        else if (pick < 90)
            s = next > 6000 ? next - 1 - (uint64_t)(rand() % 6000) : 1; /* late or replayed */
        else
            s = next + (uint64_t)(rand() % 3000); /* ahead */
        if (s >= SPACE - 4000)
            break;
        bool expect = s != 0 && !seen[s] && (s > top || top - s < NS_REPLAY_WINDOW);
        bool got = ns_replay_check(&r, s);
        assert_int_equal(got, expect);
        if (got) {
            enum ns_replay_verdict v = ns_replay_update(&r, s, true);
            assert_int_equal(v, s > top ? NS_REPLAY_NEWEST : NS_REPLAY_INSIDE);
            seen[s] = 1;
            if (s > top)
                top = s;
            if (s >= next)
                next = s + 1;
        }
    }
    free(seen);
}

static void no_esn_uses_low_bits_only(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    assert_true(ns_replay_infer(&r, 0xffffffffu, false) == 0xffffffffu);
    assert_true(accept(&r, 0xfffffffeu));
    assert_true(accept(&r, 0xffffffffu));
    /* Without ESN there is no number after 2^32 - 1: 0 is never valid. */
    assert_true(ns_replay_infer(&r, 0, false) == 0);
    assert_false(ns_replay_check(&r, ns_replay_infer(&r, 0, false)));
}

/* RFC 4303 A2.1 case A: the window lies inside one 2^32 subspace. */
static void esn_infer_case_a(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    const uint64_t top = (UINT64_C(2) << 32) | 0x10000;
    assert_true(accept(&r, top));
    uint32_t bottom = 0x10000 - NS_REPLAY_WINDOW + 1;
    assert_true(ns_replay_infer(&r, 0x10000, true) == top);
    assert_true(ns_replay_infer(&r, 0x10001, true) == top + 1);
    assert_true(ns_replay_infer(&r, bottom, true) == ((UINT64_C(2) << 32) | bottom));
    /* Below the window's bottom: only the next subspace can hold it. */
    assert_true(ns_replay_infer(&r, bottom - 1, true) == ((UINT64_C(3) << 32) | (bottom - 1)));
    assert_true(ns_replay_infer(&r, 5, true) == ((UINT64_C(3) << 32) | 5));
}

/* RFC 4303 A2.1 case B: the window straddles two subspaces. */
static void esn_infer_case_b(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    const uint64_t top = (UINT64_C(1) << 32) | 5;
    assert_true(accept(&r, top));
    /* The tail of the previous subspace, inside the window. */
    assert_true(ns_replay_infer(&r, 0xfffffff0u, true) == 0xfffffff0u);
    assert_true(ns_replay_check(&r, 0xfffffff0u));
    /* The current subspace, behind and ahead of top. */
    assert_true(ns_replay_infer(&r, 3, true) == ((UINT64_C(1) << 32) | 3));
    assert_true(ns_replay_infer(&r, 100, true) == ((UINT64_C(1) << 32) | 100));
    /* Far below the wrapped bottom but above top: still the current one. */
    assert_true(ns_replay_infer(&r, 0x80000000u, true) == ((UINT64_C(1) << 32) | 0x80000000u));

    /* At the very start (Th = 0) the previous subspace does not exist. */
    ns_replay_init(&r);
    assert_true(accept(&r, 5));
    assert_true(ns_replay_infer(&r, 0xffffffffu, true) == 0);
    assert_true(ns_replay_infer(&r, 1, true) == 1);
    ns_replay_init(&r);
    assert_true(ns_replay_infer(&r, 1, true) == 1); /* the first packet */
    assert_true(ns_replay_infer(&r, 0, true) == 0);
}

/* A sender crossing 2^32 with ESN: the receiver follows without a gap, and
 * late packets from before the crossing are still placed right. */
static void esn_crossing_the_boundary(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    /* A first packet just below 2^32 would be read as coming from before
     * the start (case B with Th = 0), so the sender has been running. */
    assert_true(accept(&r, UINT64_C(0xfff00000)));
    uint64_t start = UINT64_C(0xffffff00);
    for (uint64_t s = start; s < start + 0x200; s += 2) {
        uint64_t got = ns_replay_infer(&r, (uint32_t)s, true);
        assert_true(got == s);
        assert_true(accept(&r, got));
    }
    /* The odd ones arrive late, across the boundary. */
    for (uint64_t s = start + 1; s < start + 0x200; s += 2) {
        uint64_t got = ns_replay_infer(&r, (uint32_t)s, true);
        assert_true(got == s);
        assert_true(accept(&r, got));
        assert_false(ns_replay_check(&r, got));
    }
    assert_true(r.top == start + 0x1ff);
}

static void esn_end_of_space(void **state)
{
    (void)state;
    struct ns_replay r;
    ns_replay_init(&r);
    r.top = UINT64_MAX - 10;
    /* Case A with Th = 2^32 - 1: a number below the bottom would need
     * Th + 1, which does not exist. */
    assert_true(ns_replay_infer(&r, 0, true) == 0);
    assert_true(ns_replay_infer(&r, 0xfffffff7u, true) == UINT64_MAX - 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_is_at_least_1024),
        cmocka_unit_test(first_packets_and_duplicates),
        cmocka_unit_test(window_edges),
        cmocka_unit_test(update_reports_newest),
        cmocka_unit_test(big_jump_clears_stale_bits),
        cmocka_unit_test(matches_reference_model),
        cmocka_unit_test(no_esn_uses_low_bits_only),
        cmocka_unit_test(esn_infer_case_a),
        cmocka_unit_test(esn_infer_case_b),
        cmocka_unit_test(esn_crossing_the_boundary),
        cmocka_unit_test(esn_end_of_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
