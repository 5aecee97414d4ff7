/* Unit tests for the TUN offload segmentation (src/net/gso): TCP
 * super-packets from a TUN device with IFF_VNET_HDR and TSO are cut into
 * MTU-sized packets that must be exactly what the kernel would have sent
 * one by one (R13: TCP through the tunnel arrives intact).
 *
 * Every checksum is verified from scratch by the naive reference below,
 * which shares no code with src/net/gso.c or src/esp/csum.c; the payload
 * of the segments is compared byte for byte with the original. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "net/gso.h"

#define BIG 70000

static uint8_t pkt[BIG];
static uint8_t seg[4096];
static uint8_t joined[BIG];

/* RFC 1071 sum of big-endian words, folded (not complemented). */
static uint32_t ref_add(uint32_t acc, const uint8_t *p, size_t n)
{
    uint64_t a = acc;
    for (size_t i = 0; i + 1 < n; i += 2)
        a += (uint64_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        a += (uint64_t)p[n - 1] << 8;
    while (a >> 16)
        a = (a & 0xffff) + (a >> 16);
    return (uint32_t)a;
}

/* 0xffff when the L4 checksum (TCP or UDP) of the IP packet p is right. */
static uint32_t ref_l4_sum(const uint8_t *p, size_t len, size_t l4, uint8_t proto)
{
    uint8_t ph[40];
    size_t phl;
    size_t l4len = len - l4;
    memset(ph, 0, sizeof(ph));
    if (p[0] >> 4 == 4) {
        memcpy(ph, p + 12, 8);
        ph[9] = proto;
        ph[10] = (uint8_t)(l4len >> 8);
        ph[11] = (uint8_t)l4len;
        phl = 12;
    } else {
        memcpy(ph, p + 8, 32);
        ph[34] = (uint8_t)(l4len >> 8);
        ph[35] = (uint8_t)l4len;
        ph[39] = proto;
        phl = 40;
    }
    return ref_add(ref_add(0, ph, phl), p + l4, l4len);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* A TCP packet in pkt: IPv4 (20-byte header) or IPv6, a TCP header of
 * tcp_hl bytes (options filled), payload bytes of a pattern. Its checksum
 * fields hold junk, as the kernel's partial sums would be to us. Returns
 * the length. */
static size_t build_tcp(bool v6, size_t tcp_hl, size_t payload, uint32_t seq, uint16_t id,
                        uint8_t flags)
{
    size_t l3 = v6 ? 40 : 20;
    size_t len = l3 + tcp_hl + payload;
    memset(pkt, 0, l3 + tcp_hl);
    if (!v6) {
        pkt[0] = 0x45;
        put16(pkt + 2, (uint16_t)(len > 0xffff ? 0 : len));
        put16(pkt + 4, id);
        pkt[6] = 0x40; /* DF */
        pkt[8] = 64;
        pkt[9] = 6;
        put16(pkt + 10, 0xbeef);
        const uint8_t s[4] = {10, 99, 0, 2}, d[4] = {192, 0, 2, 80};
        memcpy(pkt + 12, s, 4);
        memcpy(pkt + 16, d, 4);
    } else {
        pkt[0] = 0x60;
        put16(pkt + 4, (uint16_t)(len - 40));
        pkt[6] = 6;
        pkt[7] = 64;
        for (int i = 0; i < 16; i++) {
            pkt[8 + i] = (uint8_t)(0x20 + i);
            pkt[24 + i] = (uint8_t)(0xf0 - i);
        }
    }
    uint8_t *t = pkt + l3;
    put16(t, 40000);
    put16(t + 2, 5201);
    put32(t + 4, seq);
    put32(t + 8, 0x11223344);
    t[12] = (uint8_t)((tcp_hl / 4) << 4);
    t[13] = flags;
    put16(t + 14, 65000);
    put16(t + 16, 0x1234);
    for (size_t i = 20; i < tcp_hl; i++)
        t[i] = (uint8_t)(i == 20 ? 1 : 0x55); /* NOP then filler */
    for (size_t i = 0; i < payload; i++)
        pkt[l3 + tcp_hl + i] = (uint8_t)(i * 7 + (i >> 8));
    return len;
}

static void check_tso(bool v6, size_t tcp_hl, size_t payload, uint16_t mss, uint32_t seq,
                      uint16_t id, uint8_t flags)
{
    size_t l3 = v6 ? 40 : 20, hl = l3 + tcp_hl;
    size_t len = build_tcp(v6, tcp_hl, payload, seq, id, flags);
    struct ns_vnet_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
        .hdr_len = (uint16_t)hl,
        .gso_size = mss,
        .csum_start = (uint16_t)l3,
        .csum_offset = 16,
    };
    struct ns_gso_iter it;
    assert_int_equal(ns_gso_init(&it, &h, pkt, len), 0);
    unsigned expect = payload == 0 ? 1 : (unsigned)((payload + mss - 1) / mss);
    assert_int_equal(ns_gso_left(&it), expect);
    size_t got = 0;
    unsigned i = 0;
    int n;
    while ((n = ns_gso_next(&it, seg, sizeof(seg))) > 0) {
        size_t chunk = payload - got < mss ? payload - got : mss;
        bool last = got + chunk == payload;
        assert_int_equal((size_t)n, hl + chunk);
        if (!v6) {
            assert_int_equal(get16(seg + 2), n);
            assert_int_equal(get16(seg + 4), (uint16_t)(id + i));
            assert_int_equal(ref_add(0, seg, 20), 0xffff); /* IPv4 header checksum */
            assert_memory_equal(seg + 12, pkt + 12, 8);
        } else {
            assert_int_equal(get16(seg + 4), n - 40);
            assert_memory_equal(seg + 8, pkt + 8, 32);
        }
        const uint8_t *t = seg + l3;
        assert_int_equal(get32(t + 4), (uint32_t)(seq + got));
        assert_int_equal(get32(t + 8), 0x11223344);
        uint8_t want = flags;
        if (!last)
            want &= (uint8_t) ~(0x01 | 0x08); /* FIN and PSH only on the last */
        if (i > 0)
            want &= (uint8_t)~0x80; /* CWR only on the first */
        assert_int_equal(t[13], want);
        assert_memory_equal(t + 20, pkt + l3 + 20, tcp_hl - 20); /* options */
        assert_int_equal(ref_l4_sum(seg, (size_t)n, l3, 6), 0xffff);
        memcpy(joined + got, seg + hl, chunk);
        got += chunk;
        i++;
        assert_int_equal(ns_gso_left(&it), expect - i);
    }
    assert_int_equal(n, 0);
    assert_int_equal(i, expect);
    assert_int_equal(got, payload);
    assert_memory_equal(joined, pkt + hl, payload);
}

/* R13 */
static void tso_ipv4_cut_at_gso_size(void **state)
{
    (void)state;
    /* ACK|PSH|FIN|CWR, a sequence number and an IP ID that wrap. */
    check_tso(false, 32, 5000, 1448, 0xfffff000u, 0xfffe, 0x10 | 0x08 | 0x01 | 0x80);
    check_tso(false, 20, 64000, 1360, 1, 7, 0x10 | 0x08);
    check_tso(false, 20, 2 * 1360, 1360, 99, 7, 0x10); /* exact multiple */
    check_tso(false, 20, 1, 1360, 99, 7, 0x10);        /* odd, one segment */
    check_tso(false, 20, 3001, 1000, 5, 5, 0x10);      /* odd last segment */
}

/* R13 */
static void tso_ipv6_cut_at_gso_size(void **state)
{
    (void)state;
    check_tso(true, 32, 5000, 1428, 0xffffff00u, 0, 0x10 | 0x08 | 0x01 | 0x80);
    check_tso(true, 20, 65000 - 60, 1340, 12345, 0, 0x10 | 0x08);
    check_tso(true, 40, 777, 1340, 1, 0, 0x10);
}

/* R13: a header-only TSO packet is passed on as one segment. */
static void tso_without_payload_is_one_packet(void **state)
{
    (void)state;
    check_tso(false, 20, 0, 1400, 10, 10, 0x10 | 0x01);
}

/* R13: a single packet whose checksum the kernel left to the "device"
 * (NEEDS_CSUM, the field holding the pseudo-header sum) leaves complete. */
static void partial_checksum_completed(void **state)
{
    (void)state;
    for (size_t payload = 0; payload < 40; payload += 7) {
        /* UDP over IPv4 */
        size_t len = 20 + 8 + payload;
        memset(pkt, 0, len);
        pkt[0] = 0x45;
        put16(pkt + 2, (uint16_t)len);
        pkt[8] = 64;
        pkt[9] = 17;
        const uint8_t s[4] = {10, 99, 0, 2}, d[4] = {192, 0, 2, 80};
        memcpy(pkt + 12, s, 4);
        memcpy(pkt + 16, d, 4);
        put16(pkt + 10, 0);
        uint32_t ipsum = ref_add(0, pkt, 20);
        put16(pkt + 10, (uint16_t)~ipsum);
        put16(pkt + 20, 5000);
        put16(pkt + 22, 53);
        put16(pkt + 24, (uint16_t)(8 + payload));
        for (size_t i = 0; i < payload; i++)
            pkt[28 + i] = (uint8_t)(0xa5 ^ i);
        /* What the kernel puts in the field: the pseudo-header sum. */
        uint8_t ph[12] = {0};
        memcpy(ph, pkt + 12, 8);
        ph[9] = 17;
        put16(ph + 10, (uint16_t)(8 + payload));
        put16(pkt + 26, (uint16_t)ref_add(0, ph, 12));
        struct ns_vnet_hdr h = {
            .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 6};
        struct ns_gso_iter it;
        assert_int_equal(ns_gso_init(&it, &h, pkt, len), 0);
        assert_int_equal(ns_gso_left(&it), 1);
        int n = ns_gso_next(&it, seg, sizeof(seg));
        assert_int_equal(n, (int)len);
        assert_int_equal(ref_l4_sum(seg, len, 20, 17), 0xffff);
        assert_memory_equal(seg, pkt, 26);
        assert_memory_equal(seg + 28, pkt + 28, payload);
        assert_int_equal(ns_gso_next(&it, seg, sizeof(seg)), 0);
    }
}

/* A packet with no offload work is copied unchanged. */
static void plain_packet_copied(void **state)
{
    (void)state;
    size_t len = build_tcp(false, 20, 100, 1, 1, 0x10);
    struct ns_vnet_hdr h;
    uint8_t raw[NS_VNET_HDR_LEN] = {VIRTIO_NET_HDR_F_DATA_VALID, 0};
    ns_vnet_hdr_parse(raw, &h);
    assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    struct ns_gso_iter it;
    assert_int_equal(ns_gso_init(&it, &h, pkt, len), 0);
    assert_int_equal(ns_gso_next(&it, seg, sizeof(seg)), (int)len);
    assert_memory_equal(seg, pkt, len);
    assert_int_equal(ns_gso_next(&it, seg, sizeof(seg)), 0);
    /* The header round-trips. */
    struct ns_vnet_hdr w = {1, 3, 54, 1400, 20, 16}, r;
    ns_vnet_hdr_write(&w, raw);
    ns_vnet_hdr_parse(raw, &r);
    assert_memory_equal(&w, &r, sizeof(w));
}

/* Headers that do not match the packet are refused, never read past. */
static void malformed_refused(void **state)
{
    (void)state;
    struct ns_gso_iter it;
    size_t len = build_tcp(false, 20, 3000, 1, 1, 0x10);
    struct ns_vnet_hdr tso = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1400};
    assert_int_equal(ns_gso_init(&it, &tso, pkt, len), 0);

    struct ns_vnet_hdr h = tso;
    h.gso_size = 0;
    assert_int_equal(ns_gso_init(&it, &h, pkt, len), -1);
    h = tso;
    h.gso_type = 5; /* UDP_L4: never asked for */
    assert_int_equal(ns_gso_init(&it, &h, pkt, len), -1);
    h = tso;
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* an IPv4 packet */
    assert_int_equal(ns_gso_init(&it, &h, pkt, len), -1);
    assert_int_equal(ns_gso_init(&it, &tso, pkt, 39), -1); /* TCP header cut */
    assert_int_equal(ns_gso_init(&it, &tso, pkt, 19), -1); /* IP header cut */
    struct ns_vnet_hdr none = {0};
    assert_int_equal(ns_gso_init(&it, &none, pkt, 0), -1); /* an empty read */
    pkt[32] = 0xf0;                                        /* data offset 60 */
    assert_int_equal(ns_gso_init(&it, &tso, pkt, 70), -1);
    pkt[32] = 0x50;
    pkt[9] = 17; /* UDP under a TCP GSO type */
    assert_int_equal(ns_gso_init(&it, &tso, pkt, len), -1);
    pkt[9] = 6;
    pkt[7] = 1; /* a fragment */
    assert_int_equal(ns_gso_init(&it, &tso, pkt, len), -1);
    pkt[7] = 0;
    pkt[0] = 0x4f; /* IHL 60 but no room for TCP after it */
    assert_int_equal(ns_gso_init(&it, &tso, pkt, 70), -1);
    pkt[0] = 0x45;

    struct ns_vnet_hdr c = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16};
    assert_int_equal(ns_gso_init(&it, &c, pkt, 37), -1); /* field past the end */
    c.csum_start = 60000;
    assert_int_equal(ns_gso_init(&it, &c, pkt, len), -1);

    /* A segment that does not fit the caller's buffer. */
    assert_int_equal(ns_gso_init(&it, &tso, pkt, len), 0);
    assert_int_equal(ns_gso_next(&it, seg, 100), -1);
}

static uint8_t segs[64][1600];
static size_t seg_len[64];
static uint8_t super[65536];

/* Cuts the TCP packet in pkt (from build_tcp) at mss into segs[]. */
static unsigned cut(bool v6, size_t len, uint16_t mss)
{
    struct ns_vnet_hdr h = {.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
                            .gso_size = mss};
    struct ns_gso_iter it;
    assert_int_equal(ns_gso_init(&it, &h, pkt, len), 0);
    unsigned n = 0;
    int l;
    while ((l = ns_gso_next(&it, segs[n], sizeof(segs[n]))) > 0)
        seg_len[n++] = (size_t)l;
    assert_int_equal(l, 0);
    return n;
}

/* R13: segments cut from a super-packet coalesce back into it; the kernel,
 * finishing the partial checksum, gets the right one. */
static void gro_rebuilds_super_packet(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        bool v6 = v == 1;
        size_t l3 = v6 ? 40 : 20, hl = l3 + 32;
        size_t len = build_tcp(v6, 32, 20 * 1400 + 333, 0xffffff00u, 0xfff0, 0x10 | 0x08);
        unsigned n = cut(v6, len, 1400);
        assert_int_equal(n, 21);
        struct ns_gro g;
        assert_true(ns_gro_start(&g, super, sizeof(super), segs[0], seg_len[0]));
        for (unsigned i = 1; i < n; i++)
            assert_true(ns_gro_append(&g, segs[i], seg_len[i]));
        struct ns_vnet_hdr h;
        assert_int_equal(ns_gro_finish(&g, &h), len);
        assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
        assert_int_equal(h.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
        assert_int_equal(h.gso_size, 1400);
        assert_int_equal(h.hdr_len, hl);
        assert_int_equal(h.csum_start, l3);
        assert_int_equal(h.csum_offset, 16);
        /* Payload, options, sequence number, flags (PSH from the last). */
        assert_memory_equal(super + hl, pkt + hl, len - hl);
        assert_memory_equal(super + l3, pkt + l3, 16);
        assert_memory_equal(super + l3 + 18, pkt + l3 + 18, 32 - 18);
        if (!v6) {
            assert_int_equal(get16(super + 2), len);
            assert_int_equal(get16(super + 4), 0xfff0);
            assert_int_equal(ref_add(0, super, 20), 0xffff);
        } else {
            assert_int_equal(get16(super + 4), len - 40);
        }
        /* What the kernel does with NEEDS_CSUM: sum from csum_start with
         * the field as it is, complement, store. */
        uint16_t c = (uint16_t)~ref_add(0, super + l3, len - l3);
        put16(super + l3 + 16, c);
        assert_int_equal(ref_l4_sum(super, len, l3, 6), 0xffff);
    }
}

/* R13: only what the kernel would merge is merged. */
static void gro_refuses_what_does_not_continue(void **state)
{
    (void)state;
    size_t len = build_tcp(false, 20, 6 * 1000, 1000, 1, 0x10);
    unsigned n = cut(false, len, 1000);
    assert_int_equal(n, 6);
    struct ns_gro g;
    struct ns_vnet_hdr h;
    /* A gap in the sequence numbers. */
    assert_true(ns_gro_start(&g, super, sizeof(super), segs[0], seg_len[0]));
    assert_false(ns_gro_append(&g, segs[2], seg_len[2]));
    assert_true(ns_gro_append(&g, segs[1], seg_len[1]));
    /* A bad TCP checksum is never merged (the kernel must see it). */
    segs[2][40] ^= 1;
    assert_false(ns_gro_append(&g, segs[2], seg_len[2]));
    segs[2][40] ^= 1;
    /* Another flow (port). */
    uint8_t other[1600];
    memcpy(other, segs[2], seg_len[2]);
    other[21] ^= 1;
    assert_false(ns_gro_append(&g, other, seg_len[2]));
    assert_true(ns_gro_append(&g, segs[2], seg_len[2]));
    assert_int_equal(ns_gro_finish(&g, &h), 20 + 20 + 3000);
    assert_int_equal(h.gso_size, 1000);

    /* A SYN, FIN or a segment without payload starts nothing. */
    memcpy(other, segs[0], seg_len[0]);
    other[33] |= 0x01;
    assert_false(ns_gro_start(&g, super, sizeof(super), other, seg_len[0]));
    assert_false(ns_gro_start(&g, super, sizeof(super), segs[0], 40));

    /* A short segment ends the super-packet; a single one goes out as is. */
    len = build_tcp(false, 20, 2500, 1, 1, 0x10);
    n = cut(false, len, 1000);
    assert_true(ns_gro_start(&g, super, sizeof(super), segs[2], seg_len[2]));
    assert_int_equal(ns_gro_finish(&g, &h), seg_len[2]);
    assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_memory_equal(super, segs[2], seg_len[2]);
    assert_true(ns_gro_start(&g, super, sizeof(super), segs[0], seg_len[0]));
    assert_true(ns_gro_append(&g, segs[1], seg_len[1]));
    assert_true(ns_gro_append(&g, segs[2], seg_len[2]));
    len = build_tcp(false, 20, 1000, 2501, 3, 0x10);
    assert_int_equal(cut(false, len, 1000), 1);
    assert_false(ns_gro_append(&g, segs[0], seg_len[0])); /* after the short one */

    /* A segment longer than the first is refused. */
    len = build_tcp(false, 20, 500, 1, 1, 0x10);
    assert_int_equal(cut(false, len, 1000), 1);
    assert_true(ns_gro_start(&g, super, sizeof(super), segs[0], seg_len[0]));
    len = build_tcp(false, 20, 600, 501, 2, 0x10);
    assert_int_equal(cut(false, len, 1000), 1);
    assert_false(ns_gro_append(&g, segs[0], seg_len[0]));
    len = build_tcp(false, 20, 500, 501, 2, 0x10); /* the same, 500 long: fine */
    assert_int_equal(cut(false, len, 1000), 1);
    assert_true(ns_gro_append(&g, segs[0], seg_len[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tso_ipv4_cut_at_gso_size),
        cmocka_unit_test(tso_ipv6_cut_at_gso_size),
        cmocka_unit_test(tso_without_payload_is_one_packet),
        cmocka_unit_test(partial_checksum_completed),
        cmocka_unit_test(plain_packet_copied),
        cmocka_unit_test(malformed_refused),
        cmocka_unit_test(gro_rebuilds_super_packet),
        cmocka_unit_test(gro_refuses_what_does_not_continue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
