/* Unit tests for the IKE SA and CHILD_SA state machines (src/ike/sa_state):
 * every legal move is allowed, every other pair of states is refused, and
 * a refused move leaves the state, counts and (strict mode) would abort.
 * The legal moves are written out here a second time, from the life cycle
 * RFC 7296 describes, so a change to the table has to change both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ike/sa_state.h"

struct move {
    int from, to;
};

/* X2, X3, R15: the IKE SA's life. */
static const struct move ike_legal[] = {
    {NS_IKE_ST_NEW, NS_IKE_ST_INIT_SENT},         /* client sends IKE_SA_INIT */
    {NS_IKE_ST_NEW, NS_IKE_ST_INIT_DONE},         /* gateway answers it */
    {NS_IKE_ST_NEW, NS_IKE_ST_ESTABLISHED},       /* made by an IKE re-key */
    {NS_IKE_ST_NEW, NS_IKE_ST_DEAD},              /* failed before anything went out */
    {NS_IKE_ST_INIT_SENT, NS_IKE_ST_AUTH_SENT},   /* IKE_SA_INIT answered */
    {NS_IKE_ST_INIT_SENT, NS_IKE_ST_DEAD},        /* no answer, or refused */
    {NS_IKE_ST_INIT_DONE, NS_IKE_ST_ESTABLISHED}, /* IKE_AUTH verified */
    {NS_IKE_ST_INIT_DONE, NS_IKE_ST_DEAD},        /* half-open timeout, AUTH failed */
    {NS_IKE_ST_AUTH_SENT, NS_IKE_ST_ESTABLISHED}, /* IKE_AUTH answer verified */
    {NS_IKE_ST_AUTH_SENT, NS_IKE_ST_DEAD},        /* refused, no answer */
    /* X12: EAP in IKE_AUTH (RFC 7296 2.16), R15: every EAP state is half-open. */
    {NS_IKE_ST_INIT_DONE, NS_IKE_ST_EAP_SENT},          /* no AUTH: our EAP Request */
    {NS_IKE_ST_EAP_SENT, NS_IKE_ST_EAP_DONE},           /* EAP-Success sent */
    {NS_IKE_ST_EAP_SENT, NS_IKE_ST_DEAD},               /* EAP-Failure, half-open timeout */
    {NS_IKE_ST_EAP_DONE, NS_IKE_ST_ESTABLISHED},        /* AUTH from the MSK verified */
    {NS_IKE_ST_EAP_DONE, NS_IKE_ST_DEAD},               /* wrong AUTH, half-open timeout */
    {NS_IKE_ST_AUTH_SENT, NS_IKE_ST_EAP_RESP_SENT},     /* gateway's AUTH good, EAP answered */
    {NS_IKE_ST_EAP_RESP_SENT, NS_IKE_ST_EAP_AUTH_SENT}, /* EAP-Success, our MSK AUTH sent */
    {NS_IKE_ST_EAP_RESP_SENT, NS_IKE_ST_DEAD},          /* EAP-Failure, no answer */
    {NS_IKE_ST_EAP_AUTH_SENT, NS_IKE_ST_ESTABLISHED},   /* gateway's MSK AUTH verified */
    {NS_IKE_ST_EAP_AUTH_SENT, NS_IKE_ST_DEAD},          /* refused, no answer */
    {NS_IKE_ST_ESTABLISHED, NS_IKE_ST_REKEYED},         /* CHILD_SAs moved to its successor */
    {NS_IKE_ST_ESTABLISHED, NS_IKE_ST_REDUNDANT},       /* the peer's losing re-key */
    {NS_IKE_ST_ESTABLISHED, NS_IKE_ST_DELETING},        /* our DELETE */
    {NS_IKE_ST_ESTABLISHED, NS_IKE_ST_DEAD},            /* the peer's DELETE, expiry, dead peer */
    {NS_IKE_ST_REKEYED, NS_IKE_ST_DEAD},                /* deleted by either side */
    {NS_IKE_ST_REDUNDANT, NS_IKE_ST_DEAD},              /* the peer deleted it, or never did */
    {NS_IKE_ST_DELETING, NS_IKE_ST_DEAD},               /* our DELETE answered or unanswered */
};

/* X3: a CHILD_SA's life. */
static const struct move child_legal[] = {
    {NS_CHILD_INSTALLED, NS_CHILD_REKEYING}, /* our re-key sent */
    {NS_CHILD_INSTALLED, NS_CHILD_RETIRING}, /* the peer's re-key of it, and we delete it */
    {NS_CHILD_INSTALLED, NS_CHILD_REKEYED},  /* the peer's re-key of it, the peer deletes */
    {NS_CHILD_REKEYING, NS_CHILD_INSTALLED}, /* our re-key refused or failed */
    {NS_CHILD_REKEYING, NS_CHILD_RETIRING},  /* our re-key done */
    {NS_CHILD_REKEYING, NS_CHILD_REKEYED},   /* a collision the peer's re-key won */
    {NS_CHILD_RETIRING, NS_CHILD_REKEYED},   /* a collision decided later: the peer's */
    {NS_CHILD_RETIRING, NS_CHILD_DELETING},  /* grace over: our DELETE */
    {NS_CHILD_REKEYED, NS_CHILD_RETIRING},   /* a collision decided later: ours */
    {NS_CHILD_REKEYED, NS_CHILD_DELETING},   /* fallback: our DELETE */
};

static bool listed(const struct move *m, size_t n, int from, int to)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].from == from && m[i].to == to)
            return true;
    return false;
}

static void ike_every_pair(void **state)
{
    (void)state;
    size_t n = sizeof(ike_legal) / sizeof(ike_legal[0]), allowed = 0;
    for (int from = 0; from < NS_IKE_ST_COUNT; from++) {
        for (int to = 0; to < NS_IKE_ST_COUNT; to++) {
            bool want = listed(ike_legal, n, from, to);
            if (ns_ike_state_move_ok(from, to) != want)
                fail_msg("IKE %s -> %s: table says %d, life cycle says %d", ns_ike_state_name(from),
                         ns_ike_state_name(to), ns_ike_state_move_ok(from, to), want);
            allowed += want;
        }
    }
    assert_int_equal(allowed, n);
    assert_false(ns_ike_state_move_ok(NS_IKE_ST_COUNT, NS_IKE_ST_DEAD));
    assert_false(ns_ike_state_move_ok(NS_IKE_ST_NEW, NS_IKE_ST_COUNT));
}

static void child_every_pair(void **state)
{
    (void)state;
    size_t n = sizeof(child_legal) / sizeof(child_legal[0]), allowed = 0;
    for (int from = 0; from < NS_CHILD_ST_COUNT; from++) {
        for (int to = 0; to < NS_CHILD_ST_COUNT; to++) {
            bool want = listed(child_legal, n, from, to);
            if (ns_child_state_move_ok(from, to) != want)
                fail_msg("CHILD %s -> %s: table says %d, life cycle says %d",
                         ns_child_state_name(from), ns_child_state_name(to),
                         ns_child_state_move_ok(from, to), want);
            allowed += want;
        }
    }
    assert_int_equal(allowed, n);
}

/* Walks each legal move through the mover: the state changes, nothing is
 * counted; then every illegal one: refused, state unchanged, counted. */
static void ike_mover(void **state)
{
    (void)state;
    ns_sa_state_set_strict(false);
    uint64_t illegal = 0;
    size_t n = sizeof(ike_legal) / sizeof(ike_legal[0]), refused = 0;
    for (int from = 0; from < NS_IKE_ST_COUNT; from++) {
        for (int to = 0; to < NS_IKE_ST_COUNT; to++) {
            enum ns_ike_state st = from;
            bool ok = ns_ike_state_move(&st, to, 0x1234, "test", &illegal);
            bool want = listed(ike_legal, n, from, to);
            assert_int_equal(ok, want);
            assert_int_equal(st, want ? to : from);
            refused += !want;
        }
    }
    assert_int_equal(illegal, refused);
    ns_sa_state_set_strict(true);
}

static void child_mover(void **state)
{
    (void)state;
    ns_sa_state_set_strict(false);
    uint64_t illegal = 0;
    size_t n = sizeof(child_legal) / sizeof(child_legal[0]), refused = 0;
    for (int from = 0; from < NS_CHILD_ST_COUNT; from++) {
        for (int to = 0; to < NS_CHILD_ST_COUNT; to++) {
            enum ns_child_state st = from;
            bool ok = ns_child_state_move(&st, to, 0xc0ffee, "test", &illegal);
            bool want = listed(child_legal, n, from, to);
            assert_int_equal(ok, want);
            assert_int_equal(st, want ? to : from);
            refused += !want;
        }
    }
    assert_int_equal(illegal, refused);
    ns_sa_state_set_strict(true);
}

/* States are in life-cycle order, and every one has a name for status
 * and logs. */
static void names_and_order(void **state)
{
    (void)state;
    assert_true(NS_IKE_ST_NEW < NS_IKE_ST_INIT_SENT);
    assert_true(NS_IKE_ST_AUTH_SENT < NS_IKE_ST_ESTABLISHED);
    assert_true(NS_IKE_ST_ESTABLISHED < NS_IKE_ST_REKEYED);
    assert_true(NS_IKE_ST_DELETING < NS_IKE_ST_DEAD);
    for (int st = 0; st < NS_IKE_ST_COUNT; st++)
        assert_string_not_equal(ns_ike_state_name(st), "?");
    for (int st = 0; st < NS_CHILD_ST_COUNT; st++)
        assert_string_not_equal(ns_child_state_name(st), "?");
    assert_string_equal(ns_ike_state_name(NS_IKE_ST_ESTABLISHED), "ESTABLISHED");
    assert_string_equal(ns_ike_state_name(NS_IKE_ST_COUNT), "?");
    assert_true(ns_ike_state_half_open(NS_IKE_ST_INIT_DONE));
    assert_false(ns_ike_state_half_open(NS_IKE_ST_ESTABLISHED));
    /* R15: a client in the middle of EAP has not authenticated. */
    assert_true(ns_ike_state_half_open(NS_IKE_ST_EAP_SENT));
    assert_true(ns_ike_state_half_open(NS_IKE_ST_EAP_DONE));
    assert_true(ns_ike_state_half_open(NS_IKE_ST_EAP_RESP_SENT));
    assert_true(ns_ike_state_half_open(NS_IKE_ST_EAP_AUTH_SENT));
    assert_false(ns_ike_state_authenticated(NS_IKE_ST_EAP_DONE));
    assert_true(NS_IKE_ST_EAP_AUTH_SENT < NS_IKE_ST_ESTABLISHED);
    assert_true(ns_ike_state_authenticated(NS_IKE_ST_REKEYED));
    assert_false(ns_ike_state_authenticated(NS_IKE_ST_DEAD));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ike_every_pair),  cmocka_unit_test(child_every_pair),
        cmocka_unit_test(ike_mover),       cmocka_unit_test(child_mover),
        cmocka_unit_test(names_and_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
