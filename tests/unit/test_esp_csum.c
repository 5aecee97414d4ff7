/* Unit tests for Internet checksums and the transport-mode checksum fixup
 * through a NAT (src/esp/csum; RFC 1071, RFC 1624, RFC 3948 3.1.2).
 *
 * R2: every fixed checksum is compared with one recomputed from scratch by
 * the naive reference below, which shares no code with csum.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/csum.h"
#include "util/buf.h"

/* Reference: RFC 1071 4.1, word by word in a 64-bit accumulator. */
static uint16_t ref_sum_bytes(const uint8_t *p, size_t n, uint64_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint64_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint64_t)p[n - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

/* Reference transport checksum: pseudo-header built as bytes, as RFC 768
 * (IPv4) and RFC 8200 8.1 (IPv6) draw it, then the segment with its
 * checksum field zeroed. */
static uint16_t ref_transport_csum(uint8_t proto, const uint8_t *seg, size_t len, int field,
                                   const struct ns_addr *src, const struct ns_addr *dst)
{
    uint8_t ph[40];
    size_t phlen;
    if (src->family == AF_INET) {
        memcpy(ph, src->a, 4);
        memcpy(ph + 4, dst->a, 4);
        ph[8] = 0;
        ph[9] = proto;
        ph[10] = (uint8_t)(len >> 8);
        ph[11] = (uint8_t)len;
        phlen = 12;
    } else {
        memcpy(ph, src->a, 16);
        memcpy(ph + 16, dst->a, 16);
        ph[32] = (uint8_t)(len >> 24);
        ph[33] = (uint8_t)(len >> 16);
        ph[34] = (uint8_t)(len >> 8);
        ph[35] = (uint8_t)len;
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = proto;
        phlen = 40;
    }
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, seg, len);
    copy[field] = copy[field + 1] = 0;
    uint16_t s = ref_sum_bytes(ph, phlen, 0);
    s = ref_sum_bytes(copy, len, s);
    free(copy);
    uint16_t c = (uint16_t)~s;
    if (proto == 17 && c == 0)
        c = 0xffff;
    return c;
}

static struct ns_addr A(const char *s) {
    struct ns_addr a;
    assert_int_equal(ns_addr_parse(&a, s), 0);
    return a;
}

static void
from_hex(const char *hex, uint8_t *out, size_t *len)
{
    size_t n = 0;
    for (const char *p = hex; p[0] && p[1]; p += 2) {
        unsigned v;
        sscanf(p, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    *len = n;
}

/* Two real packets with correct checksums (from the plaintexts of
 * draft-mcgrew-gcm-test-01): a DNS query over UDP and a TCP SYN with
 * options, both 192.168.1.2 -> elsewhere. */
static const char udp_dns_hex[] = "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
                                  "00010000000000000373697009637962"
                                  "65726369747902646b0000010001";
static const char tcp_syn_hex[] = "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
                                  "7002400020bf0000020405b401010402";

static void rfc1071_example(void **state)
{
    (void)state;
    /* RFC 1071 3: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(ns_csum_fold(ns_csum_add(0, d, sizeof(d))), (uint16_t)~0xddf2);
    /* Chained calls give the same as one call. */
    uint32_t s = ns_csum_add(0, d, 4);
    s = ns_csum_add(s, d + 4, 4);
    assert_int_equal(ns_csum_fold(s), (uint16_t)~0xddf2);
    /* An odd length pads with a zero byte. */
    const uint8_t o[] = {0x12, 0x34, 0x56};
    assert_int_equal(ns_csum_fold(ns_csum_add(0, o, 3)), (uint16_t) ~(0x1234 + 0x5600));
}

static void known_packets_verify(void **state)
{
    (void)state;
    uint8_t p[128];
    size_t n;
    from_hex(udp_dns_hex, p, &n);
    assert_int_equal(n, 62);
    /* A correct IPv4 header sums to zero, and so does a correct segment. */
    assert_int_equal(ns_csum_ipv4_header(p, 20), 0);
    struct ns_addr s = A("192.168.1.2"), d = A("192.168.1.1");
    assert_int_equal(ns_csum_pseudo(17, p + 20, n - 20, &s, &d), 0);
    assert_int_equal(ref_transport_csum(17, p + 20, n - 20, 6, &s, &d), 0x2343);

    from_hex(tcp_syn_hex, p, &n);
    assert_int_equal(n, 48);
    assert_int_equal(ns_csum_ipv4_header(p, 20), 0);
    d = A("147.137.21.94");
    assert_int_equal(ns_csum_pseudo(6, p + 20, n - 20, &s, &d), 0);
    assert_int_equal(ref_transport_csum(6, p + 20, n - 20, 16, &s, &d), 0x20bf);

    /* Recomputing the IPv4 header checksum from a zeroed field. */
    ns_put_u16(p + 10, 0);
    assert_int_equal(ns_csum_ipv4_header(p, 20), 0x2690);
}

/* R2: the peer behind a NAT sent from its private address 192.168.1.2 to
 * the address it knew us by; we deliver it from its public mapping. */
static void fixup_known_udp_and_tcp(void **state)
{
    (void)state;
    uint8_t p[128];
    size_t n;
    struct ns_addr osrc = A("192.168.1.2");
    struct ns_addr nsrc = A("198.51.100.77"), ndst = A("10.20.30.40");

    from_hex(udp_dns_hex, p, &n);
    struct ns_addr odst = A("192.168.1.1");
    assert_int_equal(ns_csum_fix_transport(17, p + 20, n - 20, &osrc, &odst, &nsrc, &ndst), 0);
    assert_int_equal(ns_get_u16(p + 26), ref_transport_csum(17, p + 20, n - 20, 6, &nsrc, &ndst));
    assert_int_equal(ns_csum_pseudo(17, p + 20, n - 20, &nsrc, &ndst), 0);

    from_hex(tcp_syn_hex, p, &n);
    odst = A("147.137.21.94");
    assert_int_equal(ns_csum_fix_transport(6, p + 20, n - 20, &osrc, &odst, &nsrc, &ndst), 0);
    assert_int_equal(ns_get_u16(p + 36), ref_transport_csum(6, p + 20, n - 20, 16, &nsrc, &ndst));
    assert_int_equal(ns_csum_pseudo(6, p + 20, n - 20, &nsrc, &ndst), 0);

    /* And back: the fix is its own inverse. */
    assert_int_equal(ns_csum_fix_transport(6, p + 20, n - 20, &nsrc, &ndst, &osrc, &odst), 0);
    assert_int_equal(ns_get_u16(p + 36), 0x20bf);
}

/* R2: a wrong fixup is caught. Moving the checksum from addresses other
 * than the ones the sender used (the NAT's public address taken for the
 * original, the wrong destination, or no fixup at all: the delivered
 * addresses taken for the originals) gives a value that a from-scratch
 * recomputation over the delivered addresses rejects; only the right
 * originals give the recomputed value. */
static void wrong_fixup_is_caught(void **state)
{
    (void)state;
    uint8_t p[128], q[128];
    size_t n;
    from_hex(tcp_syn_hex, p, &n);
    struct ns_addr osrc = A("192.168.1.2"), odst = A("147.137.21.94");
    struct ns_addr nsrc = A("198.51.100.77"), ndst = A("10.20.30.40");
    const struct ns_addr *wrong[][2] = {
        {&nsrc, &odst}, /* the public address as if it were the original */
        {&osrc, &ndst}, /* destination not the one the sender used */
        {&nsrc, &ndst}, /* no fixup: the checksum stays as sent */
    };
    uint16_t want = ref_transport_csum(6, p + 20, n - 20, 16, &nsrc, &ndst);
    for (size_t k = 0; k < sizeof(wrong) / sizeof(wrong[0]); k++) {
        memcpy(q, p, n);
        assert_int_equal(
            ns_csum_fix_transport(6, q + 20, n - 20, wrong[k][0], wrong[k][1], &nsrc, &ndst), 0);
        assert_int_not_equal(ns_get_u16(q + 36), want);
        assert_int_not_equal(ns_csum_pseudo(6, q + 20, n - 20, &nsrc, &ndst), 0);
    }
    memcpy(q, p, n);
    assert_int_equal(ns_csum_fix_transport(6, q + 20, n - 20, &osrc, &odst, &nsrc, &ndst), 0);
    assert_int_equal(ns_get_u16(q + 36), want);
    assert_int_equal(ns_csum_pseudo(6, q + 20, n - 20, &nsrc, &ndst), 0);
}

/* R2: a UDP/IPv4 checksum of zero means "not computed" and stays zero. */
static void udp_zero_checksum_stays_zero(void **state)
{
    (void)state;
    uint8_t p[128];
    size_t n;
    from_hex(udp_dns_hex, p, &n);
    ns_put_u16(p + 26, 0);
    struct ns_addr osrc = A("192.168.1.2"), odst = A("192.168.1.1");
    struct ns_addr nsrc = A("203.0.113.5"), ndst = A("192.0.2.1");
    assert_int_equal(ns_csum_fix_transport(17, p + 20, n - 20, &osrc, &odst, &nsrc, &ndst), 0);
    assert_int_equal(ns_get_u16(p + 26), 0);
}

/* R2: a UDP result of zero is sent as 0xffff, since zero means "none". */
static void udp_result_zero_becomes_ffff(void **state)
{
    (void)state;
    uint8_t p[128];
    size_t n;
    from_hex(udp_dns_hex, p, &n);
    uint8_t *seg = p + 20;
    size_t slen = n - 20;
    struct ns_addr osrc = A("192.168.1.2"), odst = A("192.168.1.1");
    struct ns_addr nsrc = A("203.0.113.5"), ndst = A("192.0.2.1");
    /* Choose the last payload word so that the new checksum computes to
     * zero: a word equal to the checksum without it cancels the sum. */
    ns_put_u16(seg + slen - 2, 0);
    ns_put_u16(seg + 6, 0);
    uint16_t c = ns_csum_pseudo(17, seg, slen, &nsrc, &ndst);
    ns_put_u16(seg + slen - 2, c);
    assert_int_equal(ns_csum_pseudo(17, seg, slen, &nsrc, &ndst), 0);
    /* The packet as the peer sent it, with its own correct checksum. */
    ns_put_u16(seg + 6, ns_csum_pseudo(17, seg, slen, &osrc, &odst));
    assert_int_equal(ns_csum_fix_transport(17, seg, slen, &osrc, &odst, &nsrc, &ndst), 0);
    assert_int_equal(ns_get_u16(seg + 6), 0xffff);
    assert_int_equal(ref_transport_csum(17, seg, slen, 6, &nsrc, &ndst), 0xffff);
}

/* R2: random segments of every kind and length, random addresses of both
 * families: the incremental result always equals the from-scratch one. */
static void fixup_matches_recomputation(void **state)
{
    (void)state;
    srand(4242);
    const uint8_t protos[] = {6, 17, 58};
    uint8_t seg[1600];
    for (int iter = 0; iter < 3000; iter++) {
        uint8_t proto = protos[iter % 3];
        int field = ns_csum_field_offset(proto);
        size_t len = (size_t)field + 2 + (size_t)(rand() % 1400);
        for (size_t i = 0; i < len; i++)
            seg[i] = (uint8_t)rand();
        struct ns_addr a[4];
        int family = (proto == 58 || iter % 2) ? AF_INET6 : AF_INET;
        for (int k = 0; k < 4; k++) {
            memset(&a[k], 0, sizeof(a[k]));
            a[k].family = (uint8_t)family;
            for (size_t i = 0; i < ns_addr_len(&a[k]); i++)
                a[k].a[i] = (uint8_t)rand();
        }
        uint16_t orig = ref_transport_csum(proto, seg, len, field, &a[0], &a[1]);
        ns_put_u16(seg + field, orig);
        assert_int_equal(ns_csum_fix_transport(proto, seg, len, &a[0], &a[1], &a[2], &a[3]), 0);
        uint16_t want = ref_transport_csum(proto, seg, len, field, &a[2], &a[3]);
        uint16_t got = ns_get_u16(seg + field);
        /* 0x0000 and 0xffff are the same ones' complement number; a receiver
         * accepts either for TCP and ICMPv6. */
        if (proto != 17 && (want == 0 || want == 0xffff))
            assert_true(got == 0 || got == 0xffff);
        else
            assert_int_equal(got, want);
        assert_true(ns_csum_pseudo(proto, seg, len, &a[2], &a[3]) == 0 ||
                    ns_csum_pseudo(proto, seg, len, &a[2], &a[3]) == 0xffff);
    }
}

static void replace_matches_rfc1624(void **state)
{
    (void)state;
    /* RFC 1624's router example: a TTL decremented with an incremental
     * update leaves the IPv4 header checksum correct. */
    uint8_t hdr[20] = {0x45, 0, 0,  0x54, 0x12, 0x34, 0x40, 0, 64, 1,
                       0,    0, 10, 0,    0,    1,    10,   0, 0,  2};
    uint16_t c = ns_csum_ipv4_header(hdr, 20);
    ns_put_u16(hdr + 10, c);
    assert_int_equal(ns_csum_ipv4_header(hdr, 20), 0);
    /* Decrement the TTL, incrementally (the classic router case). */
    uint8_t old_w[2] = {hdr[8], hdr[9]};
    hdr[8]--;
    uint8_t new_w[2] = {hdr[8], hdr[9]};
    ns_put_u16(hdr + 10, ns_csum_replace(ns_get_u16(hdr + 10), old_w, new_w, 2));
    assert_int_equal(ns_csum_ipv4_header(hdr, 20), 0);
}

static void too_short_or_unset_fails(void **state)
{
    (void)state;
    uint8_t seg[20] = {0};
    struct ns_addr a = A("10.0.0.1"), b = A("10.0.0.2"), none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(ns_csum_fix_transport(6, seg, 17, &a, &b, &b, &a), -1);
    assert_int_equal(ns_csum_fix_transport(17, seg, 7, &a, &b, &b, &a), -1);
    assert_int_equal(ns_csum_fix_transport(6, seg, 20, &none, &b, &b, &a), -1);
    /* Protocols without a pseudo-header checksum are left alone. */
    seg[2] = 0xab;
    assert_int_equal(ns_csum_fix_transport(1 /* ICMP */, seg, 20, &a, &b, &b, &a), 0);
    assert_int_equal(ns_csum_fix_transport(132 /* SCTP: CRC32c */, seg, 20, &a, &b, &b, &a), 0);
    assert_int_equal(seg[2], 0xab);
    assert_int_equal(ns_csum_field_offset(1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc1071_example),
        cmocka_unit_test(known_packets_verify),
        cmocka_unit_test(fixup_known_udp_and_tcp),
        cmocka_unit_test(wrong_fixup_is_caught),
        cmocka_unit_test(udp_zero_checksum_stays_zero),
        cmocka_unit_test(udp_result_zero_becomes_ffff),
        cmocka_unit_test(fixup_matches_recomputation),
        cmocka_unit_test(replace_matches_rfc1624),
        cmocka_unit_test(too_short_or_unset_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
