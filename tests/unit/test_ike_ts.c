/* Unit tests for traffic selector narrowing (src/ike/ts_narrow). R9: the
 * gateway narrows to virtual IP /32 <-> the identity's subnets, never an
 * implicit any-to-any; R17: an employee and a contractor get different
 * destinations. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netinet/in.h>

#include "ike/ts_narrow.h"
#include "support/test_addr.h"
#include "util/addr.h"

static struct ns_ts ts(const char *cidr)
{
    struct ns_ts t;
    assert_int_equal(ns_ts_from_prefix(&t, cidr), 0);
    return t;
}

static struct ns_ts ts_port(const char *cidr, uint8_t proto, uint16_t lo, uint16_t hi)
{
    struct ns_ts t = ts(cidr);
    t.ip_proto = proto;
    t.port_lo = lo;
    t.port_hi = hi;
    return t;
}

static bool ts_eq(const struct ns_ts *x, const struct ns_ts *y)
{
    return x->ip_proto == y->ip_proto && x->port_lo == y->port_lo && x->port_hi == y->port_hi &&
           ns_addr_equal(&x->lo, &y->lo) && ns_addr_equal(&x->hi, &y->hi);
}

static bool ts_is(const struct ns_ts *got, const char *cidr)
{
    struct ns_ts want = ts(cidr);
    return ts_eq(got, &want);
}

#define assert_ts(got, cidr) assert_true(ts_is((got), (cidr)))

struct narrowed {
    int rc;
    struct ns_ts tsi[8], tsr[8];
    unsigned ni, nr;
};

static struct narrowed gw(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr,
                          unsigned n_tsr, const char *vip, const struct ns_ts *allowed,
                          unsigned n_allowed)
{
    struct narrowed r;
    struct ns_addr v = test_addr(vip);
    r.rc = ns_ts_narrow_gateway(tsi, n_tsi, tsr, n_tsr, &v, NULL, 128, allowed, n_allowed, r.tsi,
                                &r.ni, r.tsr, &r.nr, 8);
    return r;
}

/* X8: both families in one CHILD_SA. The client asks 0.0.0.0/0 and ::/0
 * on both sides; it gets its two virtual IPs as TSi and the subnets of
 * both families as TSr. Without an IPv6 virtual IP the IPv6 subnets go,
 * and an IPv6-only client gets no IPv4 subnet. */
static void dual_family_narrowing(void **state)
{
    (void)state;
    struct ns_ts any[] = {ts("0.0.0.0/0"), ts("::/0")};
    struct ns_ts allowed[] = {ts("192.0.2.0/24"), ts("2001:db8:c0::/64")};
    struct ns_addr v4 = test_addr("10.99.0.2"), v6 = test_addr("2001:db8:99::2");
    struct narrowed r;
    r.rc = ns_ts_narrow_gateway(any, 2, any, 2, &v4, &v6, 128, allowed, 2, r.tsi, &r.ni, r.tsr,
                                &r.nr, 8);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.ni, 2);
    assert_ts(&r.tsi[0], "10.99.0.2/32");
    assert_ts(&r.tsi[1], "2001:db8:99::2/128");
    assert_int_equal(r.nr, 2);
    assert_ts(&r.tsr[0], "192.0.2.0/24");
    assert_ts(&r.tsr[1], "2001:db8:c0::/64");

    r.rc = ns_ts_narrow_gateway(any, 2, any, 2, &v4, NULL, 128, allowed, 2, r.tsi, &r.ni, r.tsr,
                                &r.nr, 8);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.ni, 1);
    assert_int_equal(r.nr, 1);
    assert_ts(&r.tsr[0], "192.0.2.0/24");

    r.rc = ns_ts_narrow_gateway(any, 2, any, 2, NULL, &v6, 128, allowed, 2, r.tsi, &r.ni, r.tsr,
                                &r.nr, 8);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.ni, 1);
    assert_ts(&r.tsi[0], "2001:db8:99::2/128");
    assert_int_equal(r.nr, 1);
    assert_ts(&r.tsr[0], "2001:db8:c0::/64");

    /* An IPv6 virtual IP but only IPv4 subnets asked: IPv4 alone. */
    r.rc = ns_ts_narrow_gateway(any, 2, any, 1, &v4, &v6, 128, allowed, 2, r.tsi, &r.ni, r.tsr,
                                &r.nr, 8);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.nr, 1);
    assert_ts(&r.tsr[0], "192.0.2.0/24");
    /* Nothing of the client's family allowed: refused. */
    r.rc = ns_ts_narrow_gateway(any + 1, 1, any + 1, 1, NULL, &v6, 128, allowed, 1, r.tsi, &r.ni,
                                r.tsr, &r.nr, 8);
    assert_int_equal(r.rc, NS_TS_UNACCEPTABLE);
}

/* R9: the usual remote-access proposal 0.0.0.0/0 <-> 0.0.0.0/0 becomes
 * vip/32 <-> the configured subnets. */
static void any_to_any_is_narrowed(void **state)
{
    (void)state;
    struct ns_ts any = ts("0.0.0.0/0");
    struct ns_ts allowed[] = {ts("192.0.2.0/24"), ts("198.51.100.0/25")};
    struct narrowed r = gw(&any, 1, &any, 1, "10.99.0.2", allowed, 2);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.ni, 1);
    assert_ts(&r.tsi[0], "10.99.0.2/32");
    assert_int_equal(r.nr, 2);
    assert_ts(&r.tsr[0], "192.0.2.0/24");
    assert_ts(&r.tsr[1], "198.51.100.0/25");
    for (unsigned i = 0; i < r.nr; i++)
        assert_false(ts_eq(&r.tsr[i], &any));
}

/* R9: Windows and macOS send IPv4 and IPv6 "any"; with IPv4 policy only
 * the IPv4 part survives, on both sides. */
static void ipv6_any_is_dropped_for_ipv4_policy(void **state)
{
    (void)state;
    struct ns_ts any[] = {ts("0.0.0.0/0"), ts("::/0")};
    struct ns_ts allowed = ts("192.0.2.0/24");
    struct narrowed r = gw(any, 2, any, 2, "10.99.0.7", &allowed, 1);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.ni, 1);
    assert_ts(&r.tsi[0], "10.99.0.7/32");
    assert_int_equal(r.nr, 1);
    assert_ts(&r.tsr[0], "192.0.2.0/24");
}

/* R9: a client asking for a virtual IP proposes TSi = 0.0.0.0 (it does not
 * know its address yet) and the subnets it wants as TSr. */
static void placeholder_tsi_becomes_vip(void **state)
{
    (void)state;
    struct ns_ts ph = ts("0.0.0.0/32");
    assert_true(ns_ts_is_placeholder(&ph));
    struct ns_ts not_ph = ts("0.0.0.0/0");
    assert_false(ns_ts_is_placeholder(&not_ph));
    struct ns_ts ph6 = ts("::/128");
    assert_true(ns_ts_is_placeholder(&ph6));

    struct ns_ts want = ts("192.0.2.0/24");
    struct ns_ts allowed = ts("192.0.2.0/24");
    struct narrowed r = gw(&ph, 1, &want, 1, "10.99.0.3", &allowed, 1);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.ni, 1);
    assert_ts(&r.tsi[0], "10.99.0.3/32");
    assert_ts(&r.tsr[0], "192.0.2.0/24");
}

/* R9: a TSi that cannot hold the virtual IP (the client's private address
 * behind its NAT, say) is refused, not widened. */
static void tsi_without_vip_is_unacceptable(void **state)
{
    (void)state;
    struct ns_ts priv = ts("192.168.1.5/32"), any = ts("0.0.0.0/0");
    struct ns_ts allowed = ts("192.0.2.0/24");
    struct narrowed r = gw(&priv, 1, &any, 1, "10.99.0.2", &allowed, 1);
    assert_int_equal(r.rc, NS_TS_UNACCEPTABLE);
    assert_int_equal(r.ni, 0);
    assert_int_equal(r.nr, 0);
    /* No virtual IP at all: nothing to narrow TSi to. */
    struct ns_ts out_i[2], out_r[2];
    unsigned ni = 9, nr = 9;
    assert_int_equal(ns_ts_narrow_gateway(&any, 1, &any, 1, NULL, NULL, 128, &allowed, 1, out_i,
                                          &ni, out_r, &nr, 2),
        NS_TS_UNACCEPTABLE);
    assert_int_equal(ni, 0);
}

/* R9 R17: the seed's example. Employee A may reach 192.0.2.0/24;
 * contractor C only 192.0.2.10. */
static void employee_and_contractor_policies(void **state)
{
    (void)state;
    struct ns_ts any = ts("0.0.0.0/0");
    struct ns_ts employee = ts("192.0.2.0/24"), contractor = ts("192.0.2.10/32");

    struct narrowed a = gw(&any, 1, &any, 1, "10.99.0.2", &employee, 1);
    assert_int_equal(a.rc, NS_TS_OK);
    assert_ts(&a.tsr[0], "192.0.2.0/24");

    struct narrowed c = gw(&any, 1, &any, 1, "10.99.0.3", &contractor, 1);
    assert_int_equal(c.rc, NS_TS_OK);
    assert_int_equal(c.nr, 1);
    assert_ts(&c.tsr[0], "192.0.2.10/32");
    assert_ts(&c.tsi[0], "10.99.0.3/32"); /* not A's address */

    /* C asks for the whole subnet: gets only its host. */
    struct ns_ts subnet = ts("192.0.2.0/24");
    c = gw(&any, 1, &subnet, 1, "10.99.0.3", &contractor, 1);
    assert_int_equal(c.rc, NS_TS_OK);
    assert_int_equal(c.nr, 1);
    assert_ts(&c.tsr[0], "192.0.2.10/32");

    /* C asks for another host only: refused. A may have it. */
    struct ns_ts other = ts("192.0.2.20/32");
    c = gw(&any, 1, &other, 1, "10.99.0.3", &contractor, 1);
    assert_int_equal(c.rc, NS_TS_UNACCEPTABLE);
    a = gw(&any, 1, &other, 1, "10.99.0.2", &employee, 1);
    assert_int_equal(a.rc, NS_TS_OK);
    assert_ts(&a.tsr[0], "192.0.2.20/32");

    /* A asks for something outside its subnets: refused. */
    struct ns_ts outside = ts("10.0.0.0/8");
    a = gw(&any, 1, &outside, 1, "10.99.0.2", &employee, 1);
    assert_int_equal(a.rc, NS_TS_UNACCEPTABLE);
}

/* R9: protocol and port limits the client put in are kept, never widened. */
static void protocol_and_ports_are_kept(void **state)
{
    (void)state;
    struct ns_ts tsi = ts_port("0.0.0.0/0", IPPROTO_TCP, 0, 65535);
    struct ns_ts tsr = ts_port("192.0.2.0/24", IPPROTO_TCP, 443, 443);
    struct ns_ts allowed = ts("192.0.2.0/24");
    struct narrowed r = gw(&tsi, 1, &tsr, 1, "10.99.0.2", &allowed, 1);
    assert_int_equal(r.rc, NS_TS_OK);
    assert_int_equal(r.tsi[0].ip_proto, IPPROTO_TCP);
    struct ns_ts want_i = ts_port("10.99.0.2/32", IPPROTO_TCP, 0, 65535);
    assert_true(ts_eq(&r.tsi[0], &want_i));
    assert_true(ts_eq(&r.tsr[0], &tsr));
    /* UDP asked on the right, TCP-only on the left is still TCP-only. */
    struct ns_ts ph = ts_port("0.0.0.0/32", IPPROTO_UDP, 5000, 5001);
    r = gw(&ph, 1, &tsr, 1, "10.99.0.2", &allowed, 1);
    assert_int_equal(r.rc, NS_TS_OK);
    struct ns_ts want_ph = ts_port("10.99.0.2/32", IPPROTO_UDP, 5000, 5001);
    assert_true(ts_eq(&r.tsi[0], &want_ph));
}

/* Duplicates and covered intersections are dropped; max bounds the list. */
static void narrow_list_dedups_and_bounds(void **state)
{
    (void)state;
    struct ns_ts offered[] = {ts("0.0.0.0/0"), ts("192.0.2.0/24"), ts("10.0.0.0/8")};
    struct ns_ts policy[] = {ts("192.0.2.0/24"), ts("10.1.0.0/16"), ts("10.2.0.0/16")};
    struct ns_ts out[8];
    unsigned n = ns_ts_narrow_list(offered, 3, policy, 3, out, 8);
    assert_int_equal(n, 3);
    assert_ts(&out[0], "192.0.2.0/24");
    assert_ts(&out[1], "10.1.0.0/16");
    assert_ts(&out[2], "10.2.0.0/16");
    n = ns_ts_narrow_list(offered, 3, policy, 3, out, 2);
    assert_int_equal(n, 2);
    assert_int_equal(ns_ts_narrow_list(offered, 3, policy, 0, out, 8), 0);
}

static void within(void **state)
{
    (void)state;
    struct ns_ts a = ts("192.0.2.0/24"), b = ts("192.0.2.128/25"), c = ts("192.0.3.0/24");
    assert_true(ns_ts_within(&b, &a));
    assert_false(ns_ts_within(&a, &b));
    assert_false(ns_ts_within(&c, &a));
    assert_true(ns_ts_within(&a, &a));
    struct ns_ts v6 = ts("::/0");
    assert_false(ns_ts_within(&a, &v6));
    struct ns_ts tcp = ts_port("192.0.2.0/24", IPPROTO_TCP, 80, 80);
    assert_true(ns_ts_within(&tcp, &a));
    assert_false(ns_ts_within(&a, &tcp)); /* any protocol is not within TCP */
    struct ns_ts tcp_wide = ts_port("192.0.2.0/24", IPPROTO_TCP, 0, 65535);
    assert_true(ns_ts_within(&tcp, &tcp_wide));
    assert_false(ns_ts_within(&tcp_wide, &tcp));
}

/* R9, client side: the gateway's answer must be inside what we proposed. */
static void initiator_checks_narrowed_answer(void **state)
{
    (void)state;
    struct ns_ts any = ts("0.0.0.0/0"), ph = ts("0.0.0.0/32");
    struct ns_ts got_i = ts("10.99.0.2/32"), got_r = ts("192.0.2.0/24");
    struct ns_addr vip = test_addr("10.99.0.2"), other_vip = test_addr("10.99.0.9");

    assert_true(ns_ts_check_narrowed(&any, 1, &got_i, 1, &vip));
    assert_true(ns_ts_check_narrowed(&any, 1, &got_r, 1, NULL));
    assert_true(ns_ts_check_narrowed(&any, 1, &any, 1, NULL)); /* equal is a subset */
    /* Placeholder: only the address the CP reply assigned. */
    assert_true(ns_ts_check_narrowed(&ph, 1, &got_i, 1, &vip));
    assert_false(ns_ts_check_narrowed(&ph, 1, &got_i, 1, &other_vip));
    assert_false(ns_ts_check_narrowed(&ph, 1, &got_i, 1, NULL));
    /* Wider, elsewhere, empty, or a protocol widened: refused. */
    struct ns_ts want = ts("192.0.2.0/25");
    assert_false(ns_ts_check_narrowed(&want, 1, &got_r, 1, NULL));
    struct ns_ts elsewhere = ts("198.51.100.0/24");
    assert_false(ns_ts_check_narrowed(&any, 1, &elsewhere, 0, NULL));
    assert_false(ns_ts_check_narrowed(&got_r, 1, &elsewhere, 1, NULL));
    struct ns_ts tcp = ts_port("192.0.2.0/24", IPPROTO_TCP, 0, 65535);
    assert_false(ns_ts_check_narrowed(&tcp, 1, &got_r, 1, NULL));
    /* Every selector must fit somewhere. */
    struct ns_ts two[] = {got_r, elsewhere};
    assert_false(ns_ts_check_narrowed(&got_r, 1, two, 2, NULL));
    struct ns_ts both[] = {ts("192.0.2.0/24"), ts("198.51.100.0/24")};
    assert_true(ns_ts_check_narrowed(both, 2, two, 2, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(any_to_any_is_narrowed),
        cmocka_unit_test(dual_family_narrowing),
        cmocka_unit_test(ipv6_any_is_dropped_for_ipv4_policy),
        cmocka_unit_test(placeholder_tsi_becomes_vip),
        cmocka_unit_test(tsi_without_vip_is_unacceptable),
        cmocka_unit_test(employee_and_contractor_policies),
        cmocka_unit_test(protocol_and_ports_are_kept),
        cmocka_unit_test(narrow_list_dedups_and_bounds),
        cmocka_unit_test(within),
        cmocka_unit_test(initiator_checks_narrowed_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
