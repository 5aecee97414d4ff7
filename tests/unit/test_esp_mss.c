/* Unit tests for TCP MSS clamping (src/esp/mss; X11).
 *
 * X11: a SYN or SYN-ACK whose MSS exceeds what the tunnel MTU allows leaves
 * with the tunnel's MSS (MTU - 40 for IPv4, - 60 for IPv6), and its TCP
 * checksum is then checked from scratch by the naive reference below, which
 * shares no code with csum.c or mss.c. Everything that must not be touched
 * (smaller MSS, no MSS, no SYN, fragments, malformed headers or options) is
 * compared byte for byte with the original. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "esp/mss.h"

#define MTU 1400

/* ---- reference checksum (RFC 1071 4.1, RFC 793, RFC 8200 8.1) ---- */

static uint32_t ref_add(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t ref_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* The TCP checksum of the segment at tcp (seg_len bytes) as a sender
 * computes it: pseudo-header, then the segment with its field taken as 0. */
static uint16_t ref_tcp_csum(bool v6, const uint8_t *src, const uint8_t *dst, const uint8_t *tcp,
                             size_t seg_len)
{
    uint8_t ph[40];
    size_t n;
    size_t alen = v6 ? 16 : 4;
    memcpy(ph, src, alen);
    memcpy(ph + alen, dst, alen);
    if (v6) {
        ph[32] = (uint8_t)(seg_len >> 24);
        ph[33] = (uint8_t)(seg_len >> 16);
        ph[34] = (uint8_t)(seg_len >> 8);
        ph[35] = (uint8_t)seg_len;
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = 6;
        n = 40;
    } else {
        ph[8] = 0;
        ph[9] = 6;
        ph[10] = (uint8_t)(seg_len >> 8);
        ph[11] = (uint8_t)seg_len;
        n = 12;
    }
    uint8_t *copy = malloc(seg_len);
    assert_non_null(copy);
    memcpy(copy, tcp, seg_len);
    copy[16] = copy[17] = 0;
    uint16_t c = ref_fold(ref_add(ref_add(0, ph, n), copy, seg_len));
    free(copy);
    return c;
}

/* ---- packet builders ---- */

struct pkt {
    uint8_t b[1600];
    size_t len; /* whole packet */
    size_t l4;  /* TCP header offset */
    bool v6;
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Fills the TCP header at p->b + p->l4 with opts (a multiple of 4 bytes)
 * and payload bytes of data, and sets its correct checksum. */
static void put_tcp(struct pkt *p, uint8_t flags, const uint8_t *opts, size_t opt_len,
                    size_t payload)
{
    uint8_t *t = p->b + p->l4;
    put16(t, 40000);
    put16(t + 2, 443);
    put16(t + 4, 0x1234);
    put16(t + 6, 0x5678);
    memset(t + 8, 0, 4);
    t[12] = (uint8_t)((20 + opt_len) / 4 << 4);
    t[13] = flags;
    put16(t + 14, 64240);
    put16(t + 18, 0);
    if (opt_len)
        memcpy(t + 20, opts, opt_len);
    for (size_t i = 0; i < payload; i++)
        t[20 + opt_len + i] = (uint8_t)(i * 37 + 11);
    size_t seg = 20 + opt_len + payload;
    p->len = p->l4 + seg;
    const uint8_t *src = p->v6 ? p->b + 8 : p->b + 12;
    const uint8_t *dst = p->v6 ? p->b + 24 : p->b + 16;
    put16(t + 16, ref_tcp_csum(p->v6, src, dst, t, seg));
}

/* An IPv4 TCP packet 10.99.0.2 -> 192.0.2.10 (header checksum left 0:
 * clamping neither reads nor changes it). */
static void build_v4(struct pkt *p, uint8_t flags, const uint8_t *opts, size_t opt_len,
                     size_t payload)
{
    memset(p, 0, sizeof(*p));
    p->l4 = 20;
    uint8_t *ip = p->b;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + 20 + opt_len + payload));
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 6;
    const uint8_t src[4] = {10, 99, 0, 2}, dst[4] = {192, 0, 2, 10};
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    put_tcp(p, flags, opts, opt_len, payload);
}

/* An IPv6 TCP packet fd00::2 -> 2001:db8::10, with ext_len bytes of a
 * hop-by-hop options header first when ext_len > 0 (a multiple of 8). */
static void build_v6(struct pkt *p, uint8_t flags, const uint8_t *opts, size_t opt_len,
                     size_t payload, size_t ext_len)
{
    memset(p, 0, sizeof(*p));
    uint8_t *ip = p->b;
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)(ext_len + 20 + opt_len + payload));
    ip[6] = ext_len ? 0 : 6;
    ip[7] = 64;
    ip[8] = 0xfd;
    ip[23] = 2;
    ip[24] = 0x20;
    ip[25] = 0x01;
    ip[26] = 0x0d;
    ip[27] = 0xb8;
    ip[39] = 0x10;
    if (ext_len) {
        ip[40] = 6;                          /* next header: TCP */
        ip[41] = (uint8_t)(ext_len / 8 - 1); /* length in 8 bytes, less the first */
        ip[42] = 1;                          /* PadN over the rest */
        ip[43] = (uint8_t)(ext_len - 4);
    }
    p->v6 = true;
    p->l4 = 40 + ext_len;
    put_tcp(p, flags, opts, opt_len, payload);
}

static size_t seg_len(const struct pkt *p)
{
    return p->len - p->l4;
}

static void assert_csum_ok(const struct pkt *p)
{
    const uint8_t *t = p->b + p->l4;
    const uint8_t *src = p->v6 ? p->b + 8 : p->b + 12;
    const uint8_t *dst = p->v6 ? p->b + 24 : p->b + 16;
    assert_int_equal(get16(t + 16), ref_tcp_csum(p->v6, src, dst, t, seg_len(p)));
}

/* Runs the clamp on an exact-size heap copy (ASan sees any over-read) and
 * copies the result back. */
static bool clamp(struct pkt *p, size_t len, uint16_t max)
{
    uint8_t *c = malloc(len);
    assert_non_null(c);
    memcpy(c, p->b, len);
    bool r = ns_mss_clamp(c, len, max);
    memcpy(p->b, c, len);
    free(c);
    return r;
}

static void assert_untouched(struct pkt *p, size_t len, uint16_t max)
{
    struct pkt orig = *p;
    assert_false(clamp(p, len, max));
    assert_memory_equal(p->b, orig.b, sizeof(p->b));
}

#define SYN 0x02
#define ACK 0x10

/* The options a Linux SYN carries: MSS, SACK permitted, timestamps, NOP,
 * window scale (20 bytes). The MSS value sits at option offset 2. */
static const uint8_t linux_syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 1,
                                           2, 3, 0,    0,    0, 0, 1, 3,  3, 7};

/* The MSS value in the options at option offset at. */
static uint16_t mss_at(const struct pkt *p, size_t at)
{
    return get16(p->b + p->l4 + 20 + at);
}

/* ---- tests ---- */

/* X11: MSS 1460 in a SYN becomes 1360 (1400 - 40), checksum correct. */
static void syn_v4_clamped(void **state)
{
    (void)state;
    struct pkt p;
    build_v4(&p, SYN, linux_syn_opts, sizeof(linux_syn_opts), 0);
    uint16_t before = get16(p.b + p.l4 + 16);
    assert_true(ns_mss_clamp_mtu(p.b, p.len, MTU));
    assert_int_equal(mss_at(&p, 2), 1360);
    assert_int_not_equal(get16(p.b + p.l4 + 16), before);
    assert_csum_ok(&p);
    /* Nothing else changed: the rest of the options are as they were. */
    assert_memory_equal(p.b + p.l4 + 20 + 4, linux_syn_opts + 4, sizeof(linux_syn_opts) - 4);
    /* A second pass finds nothing to do. */
    assert_untouched(&p, p.len, 1360);
}

/* X11: the SYN-ACK of the other end is clamped too. */
static void synack_v4_clamped(void **state)
{
    (void)state;
    struct pkt p;
    build_v4(&p, SYN | ACK, linux_syn_opts, sizeof(linux_syn_opts), 0);
    assert_true(clamp(&p, p.len, 1360));
    assert_int_equal(mss_at(&p, 2), 1360);
    assert_csum_ok(&p);
}

/* X11: an MSS no larger than the limit is left alone, byte for byte. */
static void smaller_mss_untouched(void **state)
{
    (void)state;
    struct pkt p;
    uint8_t opts[4] = {2, 4, 0x04, 0xb0}; /* 1200 */
    build_v4(&p, SYN, opts, sizeof(opts), 0);
    assert_untouched(&p, p.len, 1360);
    opts[2] = 0x05; /* 1360: equal */
    opts[3] = 0x50;
    build_v4(&p, SYN, opts, sizeof(opts), 0);
    assert_untouched(&p, p.len, 1360);
}

/* X11: no MSS option (the peer then assumes 536), or not a SYN. */
static void no_mss_or_no_syn_untouched(void **state)
{
    (void)state;
    struct pkt p;
    const uint8_t opts[8] = {1, 1, 4, 2, 1, 3, 3, 7}; /* NOP NOP SACK-perm NOP WS */
    build_v4(&p, SYN, opts, sizeof(opts), 0);
    assert_untouched(&p, p.len, 1360);
    build_v4(&p, SYN, NULL, 0, 0); /* no options at all */
    assert_untouched(&p, p.len, 1360);
    /* An MSS option outside a SYN means nothing (RFC 9293 3.7.1). */
    build_v4(&p, ACK, linux_syn_opts, sizeof(linux_syn_opts), 100);
    assert_untouched(&p, p.len, 1360);
    /* The option after an EOL is not an option. */
    const uint8_t after_eol[8] = {0, 0, 0, 0, 2, 4, 0x05, 0xb4};
    build_v4(&p, SYN, after_eol, sizeof(after_eol), 0);
    assert_untouched(&p, p.len, 1360);
}

/* X11: an MSS value at an odd offset (after one NOP) spans two checksum
 * words; the fix must still be exact. Also a SYN with data (TCP Fast Open)
 * of odd length, and two MSS options (both clamped). */
static void odd_offset_and_data(void **state)
{
    (void)state;
    struct pkt p;
    const uint8_t opts[8] = {1, 2, 4, 0xff, 0xf0, 1, 1, 0}; /* NOP MSS=65520 NOP NOP EOL */
    build_v4(&p, SYN, opts, sizeof(opts), 333);
    assert_true(clamp(&p, p.len, 1360));
    assert_int_equal(mss_at(&p, 3), 1360);
    assert_csum_ok(&p);

    const uint8_t two[8] = {2, 4, 0x23, 0x28, 2, 4, 0x05, 0xb4}; /* 9000, 1460 */
    build_v4(&p, SYN, two, sizeof(two), 0);
    assert_true(clamp(&p, p.len, 1360));
    assert_int_equal(mss_at(&p, 2), 1360);
    assert_int_equal(mss_at(&p, 6), 1360);
    assert_csum_ok(&p);
}

/* X11: every MSS value at every option offset, against the reference. */
static void all_positions_match_reference(void **state)
{
    (void)state;
    srand(11);
    for (size_t pad = 0; pad < 12; pad++) {
        for (int round = 0; round < 200; round++) {
            uint8_t opts[40];
            memset(opts, 1, sizeof(opts)); /* NOPs */
            size_t opt_len = (pad + 4 + 3) & ~(size_t)3;
            uint16_t mss = (uint16_t)rand();
            opts[pad] = 2;
            opts[pad + 1] = 4;
            put16(opts + pad + 2, mss);
            struct pkt p;
            if (round & 1)
                build_v6(&p, SYN, opts, opt_len, (size_t)(rand() % 50), round & 2 ? 8 : 0);
            else
                build_v4(&p, SYN | ACK, opts, opt_len, (size_t)(rand() % 50));
            uint16_t max = (uint16_t)(rand() % 2000 + 500);
            bool changed = clamp(&p, p.len, max);
            assert_int_equal(changed, mss > max);
            assert_int_equal(mss_at(&p, pad + 2), mss > max ? max : mss);
            assert_csum_ok(&p);
        }
    }
}

/* X11: IPv6, MSS 1440 becomes 1340 (1400 - 60), directly after the fixed
 * header and after a hop-by-hop options header. */
static void ipv6_clamped(void **state)
{
    (void)state;
    uint8_t opts[20];
    memcpy(opts, linux_syn_opts, sizeof(opts));
    put16(opts + 2, 1440);
    for (size_t ext = 0; ext <= 16; ext += 8) {
        struct pkt p;
        build_v6(&p, SYN, opts, sizeof(opts), 0, ext);
        assert_true(ns_mss_clamp_mtu(p.b, p.len, MTU));
        assert_int_equal(mss_at(&p, 2), 1340);
        assert_csum_ok(&p);
    }
    /* The same SYN as IPv4 would get 1360: the limit follows the version. */
    struct pkt p4;
    build_v4(&p4, SYN, opts, sizeof(opts), 0);
    assert_true(ns_mss_clamp_mtu(p4.b, p4.len, MTU));
    assert_int_equal(mss_at(&p4, 2), 1360);
}

/* X11: IPv6 headers that end the walk: a fragment header, an unknown next
 * header, an extension header running past the payload, a jumbogram. */
static void ipv6_unwalkable_untouched(void **state)
{
    (void)state;
    struct pkt p;
    build_v6(&p, SYN, linux_syn_opts, sizeof(linux_syn_opts), 0, 8);
    p.b[6] = 44; /* fragment */
    assert_untouched(&p, p.len, 1340);
    p.b[6] = 17; /* UDP */
    assert_untouched(&p, p.len, 1340);
    p.b[6] = 0;
    p.b[41] = 200; /* hop-by-hop header far longer than the packet */
    assert_untouched(&p, p.len, 1340);
    build_v6(&p, SYN, linux_syn_opts, sizeof(linux_syn_opts), 0, 0);
    put16(p.b + 4, 0); /* jumbogram: payload length 0 */
    assert_untouched(&p, p.len, 1340);
    build_v6(&p, SYN, linux_syn_opts, sizeof(linux_syn_opts), 0, 0);
    put16(p.b + 4, (uint16_t)(seg_len(&p) + 1)); /* claims more than there is */
    assert_untouched(&p, p.len, 1340);
}

/* X11: malformed IPv4 and TCP headers and options: nothing changes. */
static void malformed_untouched(void **state)
{
    (void)state;
    struct pkt p;
    /* Option lengths: 0, 1, past the header, and an MSS option of 3. */
    const uint8_t bad[][8] = {
        {3, 0, 2, 4, 0x05, 0xb4, 1, 1},  {3, 1, 2, 4, 0x05, 0xb4, 1, 1},
        {2, 4, 0x05, 0xb4, 8, 10, 0, 0}, {2, 3, 0x05, 0xb4, 1, 1, 1, 1},
        {1, 1, 1, 1, 1, 1, 1, 2},        {2, 4, 0x05, 0xb4, 1, 1, 1, 2},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        build_v4(&p, SYN, bad[i], sizeof(bad[i]), 0);
        assert_untouched(&p, p.len, 1360);
    }
    build_v4(&p, SYN, linux_syn_opts, sizeof(linux_syn_opts), 0);
    struct pkt good = p;
    p.b[p.l4 + 12] = 4 << 4; /* data offset below 5 */
    assert_untouched(&p, p.len, 1360);
    p = good;
    p.b[p.l4 + 12] = 15 << 4; /* data offset past the segment */
    assert_untouched(&p, p.len, 1360);
    p = good;
    p.b[0] = 0x44; /* IHL below 5 */
    assert_untouched(&p, p.len, 1360);
    p = good;
    put16(p.b + 2, (uint16_t)(p.len + 1)); /* total length past the buffer */
    assert_untouched(&p, p.len, 1360);
    p = good;
    put16(p.b + 2, 39); /* total length cuts the TCP header */
    assert_untouched(&p, p.len, 1360);
    p = good;
    put16(p.b + 6, 0x2000); /* MF: a first fragment */
    assert_untouched(&p, p.len, 1360);
    p = good;
    put16(p.b + 6, 0x0010); /* a later fragment */
    assert_untouched(&p, p.len, 1360);
    p = good;
    p.b[9] = 17; /* UDP */
    assert_untouched(&p, p.len, 1360);
    p = good;
    p.b[0] = 0x55; /* version 5 */
    assert_untouched(&p, p.len, 1360);
    assert_false(ns_mss_clamp(NULL, 0, 1360));
    assert_false(ns_mss_clamp_mtu(NULL, 0, MTU));
    assert_false(ns_mss_clamp_mtu(good.b, good.len, 40)); /* no room for any MSS */
}

/* X11: every truncation of valid SYNs is refused without reading past it. */
static void truncations_untouched(void **state)
{
    (void)state;
    struct pkt full[2];
    build_v4(&full[0], SYN, linux_syn_opts, sizeof(linux_syn_opts), 0);
    build_v6(&full[1], SYN, linux_syn_opts, sizeof(linux_syn_opts), 0, 8);
    for (int k = 0; k < 2; k++) {
        for (size_t len = 1; len < full[k].len; len++) {
            struct pkt p = full[k];
            assert_untouched(&p, len, 536);
        }
    }
}

/* X6, X11: ns_mss_syn says which packets the clamp may change (the
 * gateway looks up the SA of those alone): SYN and SYN-ACK over both IP
 * versions, not a segment without SYN, not UDP, not a truncated SYN. */
static void syn_recognised(void **state)
{
    (void)state;
    struct pkt p;
    build_v4(&p, SYN, linux_syn_opts, sizeof(linux_syn_opts), 0);
    assert_true(ns_mss_syn(p.b, p.len));
    assert_false(ns_mss_syn(p.b, p.l4 + 19));
    build_v4(&p, SYN | ACK, NULL, 0, 0);
    assert_true(ns_mss_syn(p.b, p.len));
    build_v6(&p, SYN, linux_syn_opts, sizeof(linux_syn_opts), 0, 8);
    assert_true(ns_mss_syn(p.b, p.len));
    build_v4(&p, ACK, linux_syn_opts, sizeof(linux_syn_opts), 100);
    assert_false(ns_mss_syn(p.b, p.len));
    build_v4(&p, SYN, NULL, 0, 0);
    p.b[9] = 17; /* UDP */
    assert_false(ns_mss_syn(p.b, p.len));
    assert_false(ns_mss_syn(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_v4_clamped),        cmocka_unit_test(synack_v4_clamped),
        cmocka_unit_test(smaller_mss_untouched), cmocka_unit_test(no_mss_or_no_syn_untouched),
        cmocka_unit_test(odd_offset_and_data),   cmocka_unit_test(all_positions_match_reference),
        cmocka_unit_test(ipv6_clamped),          cmocka_unit_test(ipv6_unwalkable_untouched),
        cmocka_unit_test(malformed_untouched),   cmocka_unit_test(truncations_untouched),
        cmocka_unit_test(syn_recognised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
