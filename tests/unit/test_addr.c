/* Unit tests for addresses, endpoints and traffic selectors (src/util/addr). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util/addr.h"

static struct ns_addr A(const char *s) {
    struct ns_addr a;
    assert_int_equal(ns_addr_parse(&a, s), 0);
    return a;
}

static void
parse_and_print_round_trip(void **state)
{
    (void)state;
    char buf[NS_ADDR_STRLEN];
    struct ns_addr a = A("192.0.2.10");
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(ns_addr_len(&a), 4);
    assert_string_equal(ns_addr_str(&a, buf), "192.0.2.10");
    assert_int_equal(ns_addr_to_ipv4(&a), 0xc000020a);

    a = A("2001:db8::1");
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(ns_addr_len(&a), 16);
    assert_string_equal(ns_addr_str(&a, buf), "2001:db8::1");
    assert_int_equal(ns_addr_to_ipv4(&a), 0);

    a = A("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
    assert_true(strlen(ns_addr_str(&a, buf)) < NS_ADDR_STRLEN);

    struct ns_addr unset;
    memset(&unset, 0, sizeof(unset));
    assert_int_equal(ns_addr_len(&unset), 0);
    assert_string_equal(ns_addr_str(&unset, buf), "(none)");
}

static void parse_rejects_garbage(void **state)
{
    (void)state;
    struct ns_addr a = A("10.0.0.1");
    const char *bad[] = {"",          "10.0.0", "10.0.0.256",  "10.0.0.1/24",
                         " 10.0.0.1", "::g",    "example.com", "1.2.3.4.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ns_addr_parse(&a, bad[i]), -1);
        /* A failed parse leaves the old value alone. */
        assert_true(ns_addr_equal(&a, &((struct ns_addr){.family = AF_INET, .a = {10, 0, 0, 1}})));
    }
    assert_int_equal(ns_addr_parse(&a, NULL), -1);
}

static void from_ipv4_zeroes_the_rest(void **state)
{
    (void)state;
    struct ns_addr a;
    memset(&a, 0xee, sizeof(a));
    ns_addr_from_ipv4(&a, 0x0a000001);
    struct ns_addr b = A("10.0.0.1");
    assert_memory_equal(&a, &b, sizeof(a));
}

static void compare_and_equal(void **state)
{
    (void)state;
    struct ns_addr a = A("10.0.0.1"), b = A("10.0.0.2"), c = A("::1"), d = A("10.0.0.1");
    assert_true(ns_addr_cmp(&a, &b) < 0);
    assert_true(ns_addr_cmp(&b, &a) > 0);
    assert_int_equal(ns_addr_cmp(&a, &d), 0);
    assert_true(ns_addr_equal(&a, &d));
    assert_false(ns_addr_equal(&a, &b));
    /* IPv4 orders before IPv6 whatever the bytes. */
    assert_true(ns_addr_cmp(&a, &c) < 0);
    assert_true(ns_addr_cmp(&c, &a) > 0);
    assert_false(ns_addr_equal(&a, &c));
    /* An IPv6 address starting with an IPv4 address's bytes is another address. */
    struct ns_addr e = A("a00:1::");
    assert_memory_equal(e.a, a.a, 2);
    assert_false(ns_addr_equal(&a, &e));
}

static void endpoint_strings_and_equality(void **state)
{
    (void)state;
    char buf[NS_ENDPOINT_STRLEN];
    struct ns_endpoint e = {.addr = A("198.51.100.7"), .port = 4500};
    assert_string_equal(ns_endpoint_str(&e, buf), "198.51.100.7:4500");
    struct ns_endpoint f = {.addr = A("2001:db8::7"), .port = 500};
    assert_string_equal(ns_endpoint_str(&f, buf), "[2001:db8::7]:500");
    struct ns_endpoint g = {.addr = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), .port = 65535};
    assert_string_equal(ns_endpoint_str(&g, buf),
                        "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    struct ns_endpoint e2 = e;
    assert_true(ns_endpoint_equal(&e, &e2));
    e2.port = 4501;
    assert_false(ns_endpoint_equal(&e, &e2));
}

static void sockaddr_round_trip(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    struct ns_endpoint e = {.addr = A("203.0.113.9"), .port = 4500}, back;
    socklen_t len = ns_endpoint_to_sockaddr(&e, &ss);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 4500);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xcb007109);
    memset(&back, 0xaa, sizeof(back));
    assert_int_equal(ns_endpoint_from_sockaddr(&back, (struct sockaddr *)&ss, len), 0);
    assert_true(ns_endpoint_equal(&e, &back));

    struct ns_endpoint e6 = {.addr = A("2001:db8::99"), .port = 500};
    len = ns_endpoint_to_sockaddr(&e6, &ss);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(ns_endpoint_from_sockaddr(&back, (struct sockaddr *)&ss, len), 0);
    assert_true(ns_endpoint_equal(&e6, &back));

    /* Too short, other family, unset address. */
    assert_int_equal(ns_endpoint_from_sockaddr(&back, (struct sockaddr *)&ss, 8), -1);
    ss.ss_family = AF_UNIX;
    assert_int_equal(ns_endpoint_from_sockaddr(&back, (struct sockaddr *)&ss, sizeof(ss)), -1);
    struct ns_endpoint none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(ns_endpoint_to_sockaddr(&none, &ss), 0);
}

static void prefix_selectors(void **state)
{
    (void)state;
    struct ns_ts ts;
    char buf[NS_TS_STRLEN];
    assert_int_equal(ns_ts_from_prefix(&ts, "10.1.2.3/16"), 0);
    assert_int_equal(ts.ip_proto, 0);
    assert_int_equal(ts.port_lo, 0);
    assert_int_equal(ts.port_hi, 65535);
    struct ns_addr lo = A("10.1.0.0"), hi = A("10.1.255.255");
    assert_true(ns_addr_equal(&ts.lo, &lo));
    assert_true(ns_addr_equal(&ts.hi, &hi));
    assert_string_equal(ns_ts_str(&ts, buf), "10.1.0.0/16");

    assert_int_equal(ns_ts_from_prefix(&ts, "192.0.2.10"), 0);
    assert_true(ns_addr_equal(&ts.lo, &ts.hi));
    assert_string_equal(ns_ts_str(&ts, buf), "192.0.2.10/32");

    assert_int_equal(ns_ts_from_prefix(&ts, "0.0.0.0/0"), 0);
    hi = A("255.255.255.255");
    assert_true(ns_addr_equal(&ts.hi, &hi));
    assert_string_equal(ns_ts_str(&ts, buf), "0.0.0.0/0");

    assert_int_equal(ns_ts_from_prefix(&ts, "10.0.0.0/25"), 0);
    hi = A("10.0.0.127");
    assert_true(ns_addr_equal(&ts.hi, &hi));

    assert_int_equal(ns_ts_from_prefix(&ts, "2001:db8:1::/48"), 0);
    lo = A("2001:db8:1::");
    hi = A("2001:db8:1:ffff:ffff:ffff:ffff:ffff");
    assert_true(ns_addr_equal(&ts.lo, &lo));
    assert_true(ns_addr_equal(&ts.hi, &hi));
    assert_string_equal(ns_ts_str(&ts, buf), "2001:db8:1::/48");

    assert_int_equal(ns_ts_from_prefix(&ts, "2001:db8::/127"), 0);
    hi = A("2001:db8::1");
    assert_true(ns_addr_equal(&ts.hi, &hi));
}

/* A selector prints as a prefix exactly when its range is one, whatever
 * the range (R9: the subnets logged are the ones negotiated): every IPv4
 * range [10.0.x.a, 10.0.y.b] with a and b at the ends of a byte or
 * inside it, against the prefix computed here from the masks. */
static void ts_str_prefix_exactly_when_range_is_one(void **state)
{
    (void)state;
    static const unsigned ends[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 63, 64, 127, 128, 254, 255};
    size_t n_ends = sizeof(ends) / sizeof(ends[0]);
    char buf[NS_TS_STRLEN], want[NS_TS_STRLEN];
    for (unsigned x = 0; x < 256; x += 17)
        for (unsigned y = x; y < 256; y += 5)
            for (size_t i = 0; i < n_ends; i++)
                for (size_t k = 0; k < n_ends; k++) {
                    uint32_t lo = 0x0a000000u | x << 8 | ends[i];
                    uint32_t hi = 0x0a000000u | y << 8 | ends[k];
                    if (lo > hi)
                        continue;
                    struct ns_ts ts;
                    memset(&ts, 0, sizeof(ts));
                    ns_addr_from_ipv4(&ts.lo, lo);
                    ns_addr_from_ipv4(&ts.hi, hi);
                    ts.port_hi = 65535;
                    int plen = -1;
                    for (int p = 0; p <= 32 && plen < 0; p++) {
                        uint32_t host = p == 32 ? 0 : 0xffffffffu >> p;
                        if ((lo & host) == 0 && hi == (lo | host))
                            plen = p;
                    }
                    char l[NS_ADDR_STRLEN], h[NS_ADDR_STRLEN];
                    if (plen >= 0)
                        snprintf(want, sizeof(want), "%s/%d", ns_addr_str(&ts.lo, l), plen);
                    else
                        snprintf(want, sizeof(want), "%s..%s", ns_addr_str(&ts.lo, l),
                                 ns_addr_str(&ts.hi, h));
                    assert_string_equal(ns_ts_str(&ts, buf), want);
                }
    struct ns_ts ts;
    memset(&ts, 0, sizeof(ts));
    ts.port_hi = 65535;
    ts.lo = A("2001:db8::");
    ts.hi = A("2001:db8::ffff:ffff:ffff:ffff");
    assert_string_equal(ns_ts_str(&ts, buf), "2001:db8::/64");
    ts.hi = A("2001:db8::ffff:ffff:ffff:fffe");
    assert_string_equal(ns_ts_str(&ts, buf), "2001:db8::..2001:db8::ffff:ffff:ffff:fffe");
    ts.lo = A("::");
    ts.hi = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_string_equal(ns_ts_str(&ts, buf), "::/0");
    ts.lo = A("2001:db8::1");
    ts.hi = A("2001:db8::1");
    assert_string_equal(ns_ts_str(&ts, buf), "2001:db8::1/128");
    ts.hi = A("10.0.0.1"); /* families differ: no prefix */
    assert_string_equal(ns_ts_str(&ts, buf), "2001:db8::1..10.0.0.1");
}

static void prefix_rejects_garbage(void **state)
{
    (void)state;
    struct ns_ts ts;
    const char *bad[] = {"10.0.0.0/33",   "10.0.0.0/",   "10.0.0.0/-1", "10.0.0.0/+8",
                         "10.0.0.0/ 8",   "10.0.0.0/8x", "/8",          "::/129",
                         "10.0.0.0/0008", "foo/8",       "10.0.0.0/8/8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ns_ts_from_prefix(&ts, bad[i]), -1);
    assert_int_equal(ns_ts_from_prefix(&ts, NULL), -1);
    char longs[200];
    memset(longs, '1', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    assert_int_equal(ns_ts_from_prefix(&ts, longs), -1);
}

static void contains_checks_family_range_proto_port(void **state)
{
    (void)state;
    struct ns_ts ts;
    assert_int_equal(ns_ts_from_prefix(&ts, "10.0.0.0/24"), 0);
    struct ns_addr in = A("10.0.0.200"), out = A("10.0.1.0"), v6 = A("::a00:1"),
                   edge = A("10.0.0.255");
    assert_true(ns_ts_contains_addr(&ts, &in));
    assert_true(ns_ts_contains_addr(&ts, &edge));
    assert_false(ns_ts_contains_addr(&ts, &out));
    assert_false(ns_ts_contains_addr(&ts, &v6));
    struct ns_addr unset;
    memset(&unset, 0, sizeof(unset));
    assert_false(ns_ts_contains_addr(&ts, &unset));

    /* Any protocol, any port. */
    assert_true(ns_ts_contains(&ts, &in, IPPROTO_TCP, 443));
    assert_true(ns_ts_contains(&ts, &in, IPPROTO_ICMP, 0));

    ts.ip_proto = IPPROTO_TCP;
    ts.port_lo = ts.port_hi = 80;
    assert_true(ns_ts_contains(&ts, &in, IPPROTO_TCP, 80));
    assert_false(ns_ts_contains(&ts, &in, IPPROTO_TCP, 81));
    assert_false(ns_ts_contains(&ts, &in, IPPROTO_UDP, 80));
    assert_false(ns_ts_contains(&ts, &out, IPPROTO_TCP, 80));

    /* Ports are ignored for protocols without them. */
    ts.ip_proto = 0;
    assert_true(ns_ts_contains(&ts, &in, IPPROTO_ICMP, 12345));
    assert_false(ns_ts_contains(&ts, &in, IPPROTO_UDP, 53));
    assert_true(ns_ts_contains(&ts, &in, 132 /* SCTP */, 80));
    assert_false(ns_ts_contains(&ts, &in, 136 /* UDP-Lite */, 81));

    char buf[NS_TS_STRLEN];
    assert_string_equal(ns_ts_str(&ts, buf), "10.0.0.0/24[any/80]");
    ts.ip_proto = IPPROTO_UDP;
    ts.port_lo = 1000;
    ts.port_hi = 2000;
    assert_string_equal(ns_ts_str(&ts, buf), "10.0.0.0/24[udp/1000-2000]");
    ts.port_lo = 0;
    ts.port_hi = 65535;
    assert_string_equal(ns_ts_str(&ts, buf), "10.0.0.0/24[udp]");
}

static void single_address_selector(void **state)
{
    (void)state;
    struct ns_ts ts;
    struct ns_addr vip = A("10.99.0.5"), other = A("10.99.0.6");
    memset(&ts, 0xcc, sizeof(ts));
    ns_ts_from_addr(&ts, &vip);
    assert_true(ns_ts_contains(&ts, &vip, IPPROTO_UDP, 9));
    assert_false(ns_ts_contains_addr(&ts, &other));
    char buf[NS_TS_STRLEN];
    assert_string_equal(ns_ts_str(&ts, buf), "10.99.0.5/32");
}

static void intersect_narrows(void **state)
{
    (void)state;
    struct ns_ts x, y, r;
    char buf[NS_TS_STRLEN];
    /* A client asking for everything gets the configured subnet (R9). */
    assert_int_equal(ns_ts_from_prefix(&x, "0.0.0.0/0"), 0);
    assert_int_equal(ns_ts_from_prefix(&y, "10.1.0.0/16"), 0);
    assert_true(ns_ts_intersect(&x, &y, &r));
    assert_string_equal(ns_ts_str(&r, buf), "10.1.0.0/16");
    assert_true(ns_ts_intersect(&y, &x, &r));
    assert_string_equal(ns_ts_str(&r, buf), "10.1.0.0/16");

    /* Overlapping ranges that are not prefixes. */
    assert_int_equal(ns_ts_from_prefix(&x, "10.0.0.0/24"), 0);
    x.lo = A("10.0.0.10");
    y = x;
    y.lo = A("10.0.0.0");
    y.hi = A("10.0.0.20");
    assert_true(ns_ts_intersect(&x, &y, &r));
    assert_string_equal(ns_ts_str(&r, buf), "10.0.0.10..10.0.0.20");

    /* Protocol and ports. */
    assert_int_equal(ns_ts_from_prefix(&x, "10.0.0.0/8"), 0);
    assert_int_equal(ns_ts_from_prefix(&y, "10.2.0.0/16"), 0);
    y.ip_proto = IPPROTO_TCP;
    y.port_lo = 80;
    y.port_hi = 90;
    x.port_lo = 85;
    assert_true(ns_ts_intersect(&x, &y, &r));
    assert_int_equal(r.ip_proto, IPPROTO_TCP);
    assert_int_equal(r.port_lo, 85);
    assert_int_equal(r.port_hi, 90);
    x.ip_proto = IPPROTO_UDP;
    assert_false(ns_ts_intersect(&x, &y, &r));
    x.ip_proto = 0;
    x.port_lo = 91;
    assert_false(ns_ts_intersect(&x, &y, &r));

    /* Disjoint addresses and different families. */
    assert_int_equal(ns_ts_from_prefix(&x, "10.0.0.0/24"), 0);
    assert_int_equal(ns_ts_from_prefix(&y, "10.0.1.0/24"), 0);
    assert_false(ns_ts_intersect(&x, &y, &r));
    assert_int_equal(ns_ts_from_prefix(&y, "::/0"), 0);
    assert_false(ns_ts_intersect(&x, &y, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_and_print_round_trip),
        cmocka_unit_test(parse_rejects_garbage),
        cmocka_unit_test(from_ipv4_zeroes_the_rest),
        cmocka_unit_test(compare_and_equal),
        cmocka_unit_test(endpoint_strings_and_equality),
        cmocka_unit_test(sockaddr_round_trip),
        cmocka_unit_test(prefix_selectors),
        cmocka_unit_test(ts_str_prefix_exactly_when_range_is_one),
        cmocka_unit_test(prefix_rejects_garbage),
        cmocka_unit_test(contains_checks_family_range_proto_port),
        cmocka_unit_test(single_address_selector),
        cmocka_unit_test(intersect_narrows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
