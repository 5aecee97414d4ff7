/* Unit tests for NAT detection (src/natt/natd, RFC 7296 2.23).
 * R14: NAT presence is detected from NAT_DETECTION_SOURCE_IP and
 * NAT_DETECTION_DESTINATION_IP; without a NAT nothing floats. R4: with a
 * NAT both sides learn it from the first exchange, which is what makes IKE
 * move to 4500. Expected hashes are computed here with OpenSSL's SHA-1, and
 * one comes from a published example (Android's IkeNotifyPayloadTest). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/sha.h>
#include <string.h>

#include "natt/natd.h"
#include "support/test_addr.h"
#include "util/addr.h"

/* SHA-1(SPIi | SPIr | IP | Port) composed by hand. */
static void ref_hash(uint64_t spi_i, uint64_t spi_r, const struct ns_endpoint *e, uint8_t out[20])
{
    uint8_t buf[8 + 8 + 16 + 2];
    size_t n = 0;
    for (int i = 7; i >= 0; i--)
        buf[n++] = (uint8_t)(spi_i >> (8 * i));
    for (int i = 7; i >= 0; i--)
        buf[n++] = (uint8_t)(spi_r >> (8 * i));
    size_t alen = e->addr.family == AF_INET ? 4 : 16;
    memcpy(buf + n, e->addr.a, alen);
    n += alen;
    buf[n++] = (uint8_t)(e->port >> 8);
    buf[n++] = (uint8_t)e->port;
    SHA1(buf, n, out);
}

/* R14: the published example: SPIi 5f54bf6d8b48e6e1, SPIr 0 (a request),
 * 10.80.80.13 port 500. */
static void published_example(void **state)
{
    (void)state;
    const uint8_t want[20] = {0xe5, 0x4f, 0x73, 0xb7, 0xd8, 0x3f, 0x6b, 0xeb, 0x88, 0x1e,
                              0xab, 0x20, 0x51, 0xd8, 0x66, 0x3f, 0x42, 0x1d, 0x10, 0xb0};
    struct ns_endpoint e = test_ep("10.80.80.13", 500);
    uint8_t got[NS_NATD_HASH_LEN];
    ns_natd_hash(0x5f54bf6d8b48e6e1ull, 0, &e, got);
    assert_memory_equal(got, want, 20);
}

/* R14: SPIs big-endian in header order, then address and port. */
static void hash_matches_hand_computed(void **state)
{
    (void)state;
    const struct ns_endpoint eps[] = {test_ep("198.51.100.1", 500), test_ep("203.0.113.7", 40123),
                                      test_ep("2001:db8::1", 4500)};
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        uint8_t want[20], got[NS_NATD_HASH_LEN];
        ref_hash(0x0102030405060708ull, 0xf0e0d0c0b0a09080ull, &eps[i], want);
        ns_natd_hash(0x0102030405060708ull, 0xf0e0d0c0b0a09080ull, &eps[i], got);
        assert_memory_equal(got, want, 20);
    }
    /* Every input counts: SPI order, spi_r, address, port. */
    struct ns_endpoint e = test_ep("198.51.100.1", 500), e4500 = test_ep("198.51.100.1", 4500);
    uint8_t a[20], b[20];
    ns_natd_hash(1, 2, &e, a);
    ns_natd_hash(2, 1, &e, b);
    assert_memory_not_equal(a, b, 20);
    ns_natd_hash(1, 0, &e, b);
    assert_memory_not_equal(a, b, 20);
    ns_natd_hash(1, 2, &e4500, b);
    assert_memory_not_equal(a, b, 20);
}

/* The two notifies as one side puts them in IKE_SA_INIT. */
struct natd_notifies {
    uint8_t src[NS_NATD_HASH_LEN], dst[NS_NATD_HASH_LEN];
};

static struct natd_notifies sender(uint64_t spi_i, uint64_t spi_r, const char *from,
                                   uint16_t from_port, const char *to, uint16_t to_port)
{
    struct natd_notifies n;
    struct ns_endpoint f = test_ep(from, from_port), t = test_ep(to, to_port);
    ns_natd_hash(spi_i, spi_r, &f, n.src);
    ns_natd_hash(spi_i, spi_r, &t, n.dst);
    return n;
}

static struct ns_natd_result receiver(const struct natd_notifies *n, uint64_t spi_i, uint64_t spi_r,
                                      const char *from, uint16_t from_port, const char *to,
                                      uint16_t to_port)
{
    struct ns_endpoint f = test_ep(from, from_port), t = test_ep(to, to_port);
    const uint8_t *srcs[1] = {n->src};
    const size_t lens[1] = {NS_NATD_HASH_LEN};
    struct ns_natd_result r;
    assert_int_equal(
        ns_natd_check(spi_i, spi_r, srcs, lens, 1, n->dst, NS_NATD_HASH_LEN, &f, &t, &r), 0);
    return r;
}

/* R14: no NAT in the path: nobody is behind a NAT, IKE stays on 500 and
 * ESP is plain protocol 50. */
static void no_nat(void **state)
{
    (void)state;
    const uint64_t spi_i = 0x1111222233334444ull, spi_r = 0x5555666677778888ull;
    struct natd_notifies req = sender(spi_i, 0, "192.0.2.10", 500, "198.51.100.1", 500);
    struct ns_natd_result r = receiver(&req, spi_i, 0, "192.0.2.10", 500, "198.51.100.1", 500);
    assert_false(r.peer_behind_nat);
    assert_false(r.local_behind_nat);
    assert_false(ns_natd_any(&r));
    struct natd_notifies resp = sender(spi_i, spi_r, "198.51.100.1", 500, "192.0.2.10", 500);
    r = receiver(&resp, spi_i, spi_r, "198.51.100.1", 500, "192.0.2.10", 500);
    assert_false(ns_natd_any(&r));
}

/* R4 R14: a telecommuter behind a masquerading NAT. The gateway sees the
 * client behind a NAT; the client sees itself behind one. */
static void client_behind_nat(void **state)
{
    (void)state;
    const uint64_t spi_i = 0xa1a2a3a4a5a6a7a8ull, spi_r = 0xb1b2b3b4b5b6b7b8ull;
    /* Request: the client hashes its private address; the NAT rewrites the
     * source to 203.0.113.7:40123. */
    struct natd_notifies req = sender(spi_i, 0, "192.168.1.5", 500, "198.51.100.1", 500);
    struct ns_natd_result g = receiver(&req, spi_i, 0, "203.0.113.7", 40123, "198.51.100.1", 500);
    assert_true(g.peer_behind_nat);
    assert_false(g.local_behind_nat);
    assert_true(ns_natd_any(&g));
    /* Response: the gateway answers where the request came from; the NAT
     * rewrites the destination back to the private address. */
    struct natd_notifies resp = sender(spi_i, spi_r, "198.51.100.1", 500, "203.0.113.7", 40123);
    struct ns_natd_result c =
        receiver(&resp, spi_i, spi_r, "198.51.100.1", 500, "192.168.1.5", 500);
    assert_false(c.peer_behind_nat);
    assert_true(c.local_behind_nat);
    assert_true(ns_natd_any(&c));
    /* Checked with the wrong SPIs (spi_r 0 on the response), nothing
     * matches: the SPIs bind the hashes to this exchange. */
    struct ns_natd_result w = receiver(&resp, spi_i, 0, "198.51.100.1", 500, "192.168.1.5", 500);
    assert_true(w.peer_behind_nat);
    assert_true(w.local_behind_nat);
}

/* A NAT that keeps the address but changes the port is a NAT too. */
static void port_only_translation(void **state)
{
    (void)state;
    struct natd_notifies req = sender(7, 0, "192.0.2.10", 500, "198.51.100.1", 500);
    struct ns_natd_result r = receiver(&req, 7, 0, "192.0.2.10", 1500, "198.51.100.1", 500);
    assert_true(r.peer_behind_nat);
    assert_false(r.local_behind_nat);
}

/* A multihomed peer sends several SOURCE_IP notifies; one match suffices.
 * A hash of the wrong length matches nothing. */
static void several_source_hashes(void **state)
{
    (void)state;
    const uint64_t spi_i = 42;
    struct ns_endpoint a = test_ep("192.0.2.10", 500), b = test_ep("2001:db8::10", 500);
    struct ns_endpoint dst = test_ep("198.51.100.1", 500);
    uint8_t ha[20], hb[20], hd[20];
    ns_natd_hash(spi_i, 0, &a, ha);
    ns_natd_hash(spi_i, 0, &b, hb);
    ns_natd_hash(spi_i, 0, &dst, hd);
    const uint8_t *srcs[2] = {hb, ha};
    size_t lens[2] = {20, 20};
    struct ns_natd_result r;
    assert_int_equal(ns_natd_check(spi_i, 0, srcs, lens, 2, hd, 20, &a, &dst, &r), 0);
    assert_false(r.peer_behind_nat);
    assert_false(r.local_behind_nat);
    /* Only the other address: a NAT. */
    assert_int_equal(ns_natd_check(spi_i, 0, srcs, lens, 1, hd, 20, &a, &dst, &r), 0);
    assert_true(r.peer_behind_nat);
    /* Truncated hashes never match. */
    lens[1] = 19;
    assert_int_equal(ns_natd_check(spi_i, 0, srcs, lens, 2, hd, 20, &a, &dst, &r), 0);
    assert_true(r.peer_behind_nat);
    assert_int_equal(ns_natd_check(spi_i, 0, srcs, lens, 2, hd, 21, &a, &dst, &r), 0);
    assert_true(r.local_behind_nat);
}

/* A peer that sends no NAT detection (or only one kind) does no NAT-T:
 * -1, and no NAT is assumed. */
static void missing_notifies(void **state)
{
    (void)state;
    struct ns_endpoint a = test_ep("192.0.2.10", 500), dst = test_ep("198.51.100.1", 500);
    uint8_t h[20] = {0};
    const uint8_t *srcs[1] = {h};
    const size_t lens[1] = {20};
    struct ns_natd_result r = {true, true};
    assert_int_equal(ns_natd_check(1, 0, srcs, lens, 0, h, 20, &a, &dst, &r), -1);
    assert_false(ns_natd_any(&r));
    r = (struct ns_natd_result){true, true};
    assert_int_equal(ns_natd_check(1, 0, srcs, lens, 1, NULL, 0, &a, &dst, &r), -1);
    assert_false(ns_natd_any(&r));
}

/* R14: forced encapsulation: a random SOURCE_IP hash that matches nothing,
 * so the peer believes we are behind a NAT and both sides encapsulate. */
static void forced_hash_never_matches(void **state)
{
    (void)state;
    uint8_t f1[NS_NATD_HASH_LEN], f2[NS_NATD_HASH_LEN];
    assert_int_equal(ns_natd_hash_forced(f1), 0);
    assert_int_equal(ns_natd_hash_forced(f2), 0);
    assert_memory_not_equal(f1, f2, NS_NATD_HASH_LEN);
    struct ns_endpoint src = test_ep("192.0.2.10", 500), dst = test_ep("198.51.100.1", 500);
    uint8_t real_src[20], hd[20];
    ns_natd_hash(9, 0, &src, real_src);
    ns_natd_hash(9, 0, &dst, hd);
    assert_memory_not_equal(f1, real_src, 20);
    const uint8_t *srcs[1] = {f1};
    const size_t lens[1] = {20};
    struct ns_natd_result r;
    assert_int_equal(ns_natd_check(9, 0, srcs, lens, 1, hd, 20, &src, &dst, &r), 0);
    assert_true(r.peer_behind_nat);
    assert_false(r.local_behind_nat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(published_example),
        cmocka_unit_test(hash_matches_hand_computed),
        cmocka_unit_test(no_nat),
        cmocka_unit_test(client_behind_nat),
        cmocka_unit_test(port_only_translation),
        cmocka_unit_test(several_source_hashes),
        cmocka_unit_test(missing_notifies),
        cmocka_unit_test(forced_hash_never_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
