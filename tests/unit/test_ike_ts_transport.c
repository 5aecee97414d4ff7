/* Unit tests for transport-mode traffic selectors through a NAT
 * (src/ike/ts_transport; RFC 7296 2.23.1) and for what they feed: the
 * original addresses of the checksum fixup (R2, RFC 3948 3.1.2).
 *
 * The names follow 2.23.1: the initiator's own address IP1 appears as IPN1
 * behind its NAT; the responder's own IP2 appears as IPN2. R13: transport
 * mode through a NAT. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>

#include "util/csum.h"
#include "ike/ts_narrow.h"
#include "ike/ts_transport.h"
#include "support/test_addr.h"
#include "util/addr.h"
#include "util/buf.h"

static struct ns_ts host(const char *s)
{
    struct ns_ts t;
    struct ns_addr a = test_addr(s);
    ns_ts_from_addr(&t, &a);
    return t;
}

static struct ns_ts host_port(const char *s, uint8_t proto, uint16_t lo, uint16_t hi)
{
    struct ns_ts t = host(s);
    t.ip_proto = proto;
    t.port_lo = lo;
    t.port_hi = hi;
    return t;
}

static void assert_addr(const struct ns_addr *got, const char *want)
{
    if (!want) {
        assert_int_equal(got->family, 0);
        return;
    }
    struct ns_addr w = test_addr(want);
    char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN];
    if (!ns_addr_equal(got, &w))
        fail_msg("address %s, expected %s", ns_addr_str(got, a), ns_addr_str(&w, b));
}

static void assert_host_ts(const struct ns_ts *t, const char *want)
{
    assert_addr(&t->lo, want);
    assert_addr(&t->hi, want);
}

static struct ns_ts_transport_view view(const char *local, const char *remote, bool nat_local,
                                        bool nat_remote)
{
    struct ns_ts_transport_view v = {
        .local = test_addr(local),
        .remote = test_addr(remote),
        .nat_local = nat_local,
        .nat_remote = nat_remote,
    };
    return v;
}

#define IP1 "10.1.0.2"
#define IPN1 "198.51.100.11"
#define IP2 "10.2.0.5"
#define IPN2 "198.51.100.12"
#define GW "198.51.100.1"

/* R13, R2: the telecommuter case. The initiator behind a NAT proposes its
 * private address; the responder installs and answers the NAT's address,
 * keeping the private one as the original source of the initiator's
 * checksums; the initiator gets its own address back and keeps the NAT's
 * as the original destination of the responder's checksums. */
static void initiator_behind_nat(void **state)
{
    (void)state;
    struct ns_ts tsi = host(IP1), tsr = host(GW);
    struct ns_ts_transport r, i;
    struct ns_ts_transport_view rv = view(GW, IPN1, false, true);
    assert_true(ns_ts_transport_responder(&tsi, 1, &tsr, 1, &rv, &r));
    assert_int_equal(r.n_tsi, 1);
    assert_int_equal(r.n_tsr, 1);
    assert_host_ts(&r.tsi[0], IPN1);
    assert_host_ts(&r.tsr[0], GW);
    assert_addr(&r.orig_src, IP1);
    assert_addr(&r.orig_dst, GW);

    struct ns_ts_transport_view iv = view(IP1, GW, true, false);
    assert_true(ns_ts_transport_initiator(r.tsi, r.n_tsi, r.tsr, r.n_tsr, &iv, &i));
    assert_host_ts(&i.tsi[0], IP1);
    assert_host_ts(&i.tsr[0], GW);
    assert_addr(&i.orig_src, GW);
    assert_addr(&i.orig_dst, IPN1);
    /* What the initiator installs is a narrowing of what it proposed. */
    assert_true(ns_ts_check_narrowed(&tsi, 1, i.tsi, i.n_tsi, NULL));
    assert_true(ns_ts_check_narrowed(&tsr, 1, i.tsr, i.n_tsr, NULL));
}

/* R13: 2.23.1's complete scenario, both hosts behind NATs. */
static void both_behind_nats(void **state)
{
    (void)state;
    struct ns_ts tsi = host(IP1), tsr = host(IPN2);
    struct ns_ts_transport r, i;
    struct ns_ts_transport_view rv = view(IP2, IPN1, true, true);
    assert_true(ns_ts_transport_responder(&tsi, 1, &tsr, 1, &rv, &r));
    assert_host_ts(&r.tsi[0], IPN1);
    assert_host_ts(&r.tsr[0], IP2);
    assert_addr(&r.orig_src, IP1);
    assert_addr(&r.orig_dst, IPN2);

    struct ns_ts_transport_view iv = view(IP1, IPN2, true, true);
    assert_true(ns_ts_transport_initiator(r.tsi, r.n_tsi, r.tsr, r.n_tsr, &iv, &i));
    assert_host_ts(&i.tsi[0], IP1);
    assert_host_ts(&i.tsr[0], IPN2);
    assert_addr(&i.orig_src, IP2);
    assert_addr(&i.orig_dst, IPN1);
}

/* R2: without a NAT nothing is substituted and no fixup is set up, also
 * when the initiator forces encapsulation (the responder then believes
 * it is behind a NAT, but sees the address it claims). */
static void no_nat_no_fixup(void **state)
{
    (void)state;
    struct ns_ts tsi = host("198.51.100.21"), tsr = host(GW);
    for (int forced = 0; forced < 2; forced++) {
        struct ns_ts_transport r, i;
        struct ns_ts_transport_view rv = view(GW, "198.51.100.21", false, forced);
        assert_true(ns_ts_transport_responder(&tsi, 1, &tsr, 1, &rv, &r));
        assert_host_ts(&r.tsi[0], "198.51.100.21");
        assert_host_ts(&r.tsr[0], GW);
        assert_addr(&r.orig_src, NULL);
        assert_addr(&r.orig_dst, NULL);
        struct ns_ts_transport_view iv = view("198.51.100.21", GW, false, false);
        assert_true(ns_ts_transport_initiator(r.tsi, r.n_tsi, r.tsr, r.n_tsr, &iv, &i));
        assert_host_ts(&i.tsi[0], "198.51.100.21");
        assert_host_ts(&i.tsr[0], GW);
        assert_addr(&i.orig_src, NULL);
        assert_addr(&i.orig_dst, NULL);
    }
}

/* R9-like: where no NAT is, a peer cannot name another host's address (its
 * traffic would be protected and routed here), nor one of ours we did not
 * receive on. Ranges and mixed addresses are not transport-mode selectors. */
static void refused_proposals(void **state)
{
    (void)state;
    struct ns_ts_transport r;
    struct ns_ts_transport_view rv = view(GW, "198.51.100.21", false, false);
    struct ns_ts me = host(GW), other = host("198.51.100.99"), them = host("198.51.100.21");
    assert_false(ns_ts_transport_responder(&other, 1, &me, 1, &rv, &r));
    assert_false(ns_ts_transport_responder(&them, 1, &other, 1, &rv, &r));
    struct ns_ts range;
    assert_int_equal(ns_ts_from_prefix(&range, "198.51.100.0/24"), 0);
    assert_false(ns_ts_transport_responder(&range, 1, &me, 1, &rv, &r));
    assert_false(ns_ts_transport_responder(&them, 1, &range, 1, &rv, &r));
    struct ns_ts mixed[2] = {them, other};
    assert_false(ns_ts_transport_responder(mixed, 2, &me, 1, &rv, &r));
    assert_false(ns_ts_transport_responder(&them, 0, &me, 1, &rv, &r));
    struct ns_ts v6 = host("2001:db8::1");
    assert_false(ns_ts_transport_responder(&v6, 1, &me, 1, &rv, &r));
    /* Behind a NAT the claimed address is replaced, whatever it is. */
    rv.nat_remote = true;
    assert_true(ns_ts_transport_responder(&other, 1, &me, 1, &rv, &r));
    assert_host_ts(&r.tsi[0], "198.51.100.21");

    /* The initiator refuses answers that are not single addresses; an
     * answer with another address where no NAT is fails its narrowing
     * check against the proposal. */
    struct ns_ts_transport i;
    struct ns_ts_transport_view iv = view("198.51.100.21", GW, false, false);
    assert_false(ns_ts_transport_initiator(&range, 1, &me, 1, &iv, &i));
    assert_false(ns_ts_transport_initiator(&them, 1, mixed, 2, &iv, &i));
    assert_true(ns_ts_transport_initiator(&other, 1, &me, 1, &iv, &i));
    assert_false(ns_ts_check_narrowed(&them, 1, i.tsi, i.n_tsi, NULL));
}

/* Protocol and port limits survive the substitution; duplicates that it
 * creates are dropped. IPv6 works the same way. */
static void ports_kept_and_ipv6(void **state)
{
    (void)state;
    struct ns_ts tsi[3] = {host_port(IP1, 17, 5000, 5000), host_port(IP1, 6, 0, 65535),
                           host_port(IP1, 17, 5000, 5000)};
    struct ns_ts tsr = host_port(GW, 17, 0, 65535);
    struct ns_ts_transport r;
    struct ns_ts_transport_view rv = view(GW, IPN1, false, true);
    assert_true(ns_ts_transport_responder(tsi, 3, &tsr, 1, &rv, &r));
    assert_int_equal(r.n_tsi, 2);
    assert_host_ts(&r.tsi[0], IPN1);
    assert_int_equal(r.tsi[0].ip_proto, 17);
    assert_int_equal(r.tsi[0].port_lo, 5000);
    assert_int_equal(r.tsi[1].ip_proto, 6);
    assert_int_equal(r.tsr[0].ip_proto, 17);

    struct ns_ts a = host("fd00:1::2"), b = host("2001:db8::1");
    struct ns_ts_transport_view v6 = view("2001:db8::1", "2001:db8:ff::7", false, true);
    assert_true(ns_ts_transport_responder(&a, 1, &b, 1, &v6, &r));
    assert_host_ts(&r.tsi[0], "2001:db8:ff::7");
    assert_addr(&r.orig_src, "fd00:1::2");
    assert_addr(&r.orig_dst, "2001:db8::1");
}

/* R2 end to end in numbers: a TCP segment the initiator sent with a
 * correct checksum over IP1 -> GW arrives from IPN1; fixed from the
 * responder's original addresses it verifies against IPN1 -> GW. The
 * responder's UDP answer over GW -> IPN1, fixed from the initiator's
 * original addresses, verifies against GW -> IP1. */
static void originals_make_checksums_verify(void **state)
{
    (void)state;
    struct ns_ts tsi = host(IP1), tsr = host(GW);
    struct ns_ts_transport r, i;
    struct ns_ts_transport_view rv = view(GW, IPN1, false, true);
    struct ns_ts_transport_view iv = view(IP1, GW, true, false);
    assert_true(ns_ts_transport_responder(&tsi, 1, &tsr, 1, &rv, &r));
    assert_true(ns_ts_transport_initiator(r.tsi, r.n_tsi, r.tsr, r.n_tsr, &iv, &i));

    uint8_t seg[60];
    for (size_t k = 0; k < sizeof(seg); k++)
        seg[k] = (uint8_t)(k * 7 + 3);
    struct ns_addr ip1 = test_addr(IP1), ipn1 = test_addr(IPN1), gw = test_addr(GW);
    ns_put_u16(seg + 16, 0);
    ns_put_u16(seg + 16, ns_csum_pseudo(6, seg, sizeof(seg), &ip1, &gw));
    assert_int_equal(ns_csum_pseudo(6, seg, sizeof(seg), &ipn1, &gw) == 0, 0); /* broken by NAT */
    assert_int_equal(ns_csum_fix_transport(6, seg, sizeof(seg), &r.orig_src, &r.orig_dst,
                                           &r.tsi[0].lo, &r.tsr[0].lo),
                     0);
    assert_int_equal(ns_csum_pseudo(6, seg, sizeof(seg), &ipn1, &gw), 0);

    ns_put_u16(seg + 6, 0);
    ns_put_u16(seg + 6, ns_csum_pseudo(17, seg, sizeof(seg), &gw, &ipn1));
    assert_int_equal(ns_csum_fix_transport(17, seg, sizeof(seg), &i.orig_src, &i.orig_dst,
                                           &i.tsr[0].lo, &i.tsi[0].lo),
                     0);
    assert_int_equal(ns_csum_pseudo(17, seg, sizeof(seg), &gw, &ip1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(initiator_behind_nat), cmocka_unit_test(both_behind_nats),
        cmocka_unit_test(no_nat_no_fixup),      cmocka_unit_test(refused_proposals),
        cmocka_unit_test(ports_kept_and_ipv6),  cmocka_unit_test(originals_make_checksums_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
