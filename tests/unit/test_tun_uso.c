/* Unit tests for UDP coalescing toward TUN (src/net/tun_uso):
 * consecutive datagrams of one flow, decrypted from the peer, go to TUN as
 * one super-datagram with a virtio-net header of GSO type UDP_L4, so the
 * gateway pays one write and one stack traversal per run instead of per
 * datagram (R12: gateway scaling, per-packet cost).
 *
 * The datagrams are untrusted network input, and what the kernel makes of
 * the super-datagram must be exactly what arrived: every merged run is cut
 * again by the reference segmenter (support/uso_ref.h, written from what
 * Linux does with such a write and sharing no code with src/net/tun_uso.c
 * or src/esp/csum.c) and compared byte for byte with the datagrams it was
 * built from. Everything the kernel would not give back unchanged must be
 * refused, and a refusal must leave the run being built untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/virtio_net.h>
#include <string.h>

#include "net/tun_uso.h"
#include "support/uso_ref.h"

#define SUPER_CAP 65536
#define MAX_DG 70

struct flow {
    bool v6;
    uint8_t tos; /* IPv4 TOS, IPv6 traffic class */
    uint8_t ttl; /* IPv4 TTL, IPv6 hop limit */
    bool df;
    uint32_t label; /* IPv6 flow label */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
};

static const struct flow flow4 = {
    .v6 = false,
    .tos = 0xb8, /* EF, so that the byte is compared, not assumed 0 */
    .ttl = 63,
    .df = true,
    .src = {10, 99, 0, 2},
    .dst = {192, 0, 2, 80},
    .sport = 40000,
    .dport = 5004,
};

static const struct flow flow6 = {
    .v6 = true,
    .tos = 0x2e,
    .ttl = 61,
    .label = 0xabcde,
    .src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
    .dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34},
    .sport = 3478,
    .dport = 50123,
};

static uint8_t dg[MAX_DG][2048];
static size_t dg_len[MAX_DG];
static uint8_t super[SUPER_CAP];
static uint8_t shadow[SUPER_CAP];
static uint8_t cut[80000];
static size_t cut_len[USO_REF_MAX_SEGS];

static size_t l4_of(const uint8_t *p)
{
    return p[0] >> 4 == 4 ? (size_t)(p[0] & 15) * 4 : 40;
}

/* Makes the IPv4 header checksum (canonical) and the UDP checksum (over
 * the buffer's length) of p right again, after a field was changed, so
 * that a refusal is due to that field alone. */
static void refix(uint8_t *p, size_t len)
{
    size_t l4 = l4_of(p);
    if (p[0] >> 4 == 4)
        uso_ref_put16(p + 10, uso_ref_ipv4_csum(p, l4));
    uso_ref_put16(p + l4 + 6, uso_ref_udp_csum(p, l4, len));
}

/* One datagram of f in p, correct in every length and checksum; the
 * payload is a pattern that differs with salt. Returns its length. */
static size_t build(uint8_t *p, const struct flow *f, size_t payload, uint16_t id, unsigned salt)
{
    size_t l4 = f->v6 ? 40 : 20, len = l4 + 8 + payload;
    memset(p, 0, l4 + 8);
    if (!f->v6) {
        p[0] = 0x45;
        p[1] = f->tos;
        uso_ref_put16(p + 2, (uint16_t)len);
        uso_ref_put16(p + 4, id);
        p[6] = f->df ? 0x40 : 0;
        p[8] = f->ttl;
        p[9] = 17;
        memcpy(p + 12, f->src, 4);
        memcpy(p + 16, f->dst, 4);
    } else {
        p[0] = (uint8_t)(0x60 | f->tos >> 4);
        p[1] = (uint8_t)(f->tos << 4 | (f->label >> 16 & 0xf));
        uso_ref_put16(p + 2, (uint16_t)f->label);
        uso_ref_put16(p + 4, (uint16_t)(len - 40));
        p[6] = 17;
        p[7] = f->ttl;
        memcpy(p + 8, f->src, 16);
        memcpy(p + 24, f->dst, 16);
    }
    uso_ref_put16(p + l4, f->sport);
    uso_ref_put16(p + l4 + 2, f->dport);
    uso_ref_put16(p + l4 + 4, (uint16_t)(8 + payload));
    for (size_t i = 0; i < payload; i++)
        p[l4 + 8 + i] = (uint8_t)(salt * 37 + i * 7 + (i >> 8));
    refix(p, len);
    return len;
}

/* Finishes u, which holds dg[0..n), and checks the super-datagram, its
 * header, and that the kernel's segmentation gives back dg[0..n) exactly. */
static void finish_and_check(struct ns_uso *u, unsigned n)
{
    struct ns_vnet_hdr h;
    size_t len = ns_uso_finish(u, &h);
    size_t l4 = l4_of(dg[0]), hl = l4 + 8, total = dg_len[0];
    for (unsigned i = 1; i < n; i++)
        total += dg_len[i] - hl;
    assert_int_equal(len, total);
    assert_ptr_equal(u->buf, super);
    if (n == 1) {
        /* Goes out as it came, with no offload asked for. */
        assert_int_equal(h.flags, 0);
        assert_int_equal(h.gso_type, 0);
        assert_int_equal(h.hdr_len, 0);
        assert_int_equal(h.gso_size, 0);
        assert_int_equal(h.csum_start, 0);
        assert_int_equal(h.csum_offset, 0);
        assert_memory_equal(super, dg[0], dg_len[0]);
        return;
    }
    assert_true(len <= 0xffff);
    assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(h.gso_type, NS_VIRTIO_NET_HDR_GSO_UDP_L4);
    assert_int_equal(h.hdr_len, hl);
    assert_int_equal(h.gso_size, dg_len[0] - hl);
    assert_int_equal(h.csum_start, l4);
    assert_int_equal(h.csum_offset, 6);
    /* The super-datagram itself: lengths, a header the kernel's ip_rcv
     * takes, the partial UDP checksum, everything else the first's. */
    if (l4 == 20) {
        assert_int_equal(uso_ref_get16(super + 2), len);
        assert_int_equal(uso_ref_sum(0, super, 20), 0xffff);
        assert_memory_equal(super, dg[0], 2);
        assert_memory_equal(super + 4, dg[0] + 4, 6);
        assert_memory_equal(super + 12, dg[0] + 12, 8);
    } else {
        assert_int_equal(uso_ref_get16(super + 4), len - 40);
        assert_memory_equal(super, dg[0], 4);
        assert_memory_equal(super + 6, dg[0] + 6, 34);
    }
    assert_memory_equal(super + l4, dg[0] + l4, 4);
    assert_int_equal(uso_ref_get16(super + l4 + 4), len - l4);
    assert_int_equal(uso_ref_get16(super + l4 + 6), uso_ref_pseudo(super, len - l4));
    int k = uso_ref_segment(&h, super, len, cut, sizeof(cut), cut_len, USO_REF_MAX_SEGS);
    assert_int_equal(k, n);
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(cut_len[i], dg_len[i]);
        assert_memory_equal(cut + off, dg[i], dg_len[i]);
        off += cut_len[i];
    }
}

/* dg[0..n) merged into one run, all taken, then checked. */
static void merge_and_check(unsigned n)
{
    struct ns_uso u;
    assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
    for (unsigned i = 1; i < n; i++)
        assert_true(ns_uso_append(&u, dg[i], dg_len[i]));
    finish_and_check(&u, n);
}

/* A refused append leaves u and the bytes it built exactly as they were. */
static void append_refused(struct ns_uso *u, const uint8_t *p, size_t len)
{
    struct ns_uso before = *u;
    memcpy(shadow, u->buf, u->len);
    assert_false(ns_uso_append(u, p, len));
    assert_ptr_equal(u->buf, before.buf);
    assert_int_equal(u->cap, before.cap);
    assert_int_equal(u->len, before.len);
    assert_int_equal(u->l4, before.l4);
    assert_int_equal(u->seg, before.seg);
    assert_int_equal(u->segs, before.segs);
    assert_int_equal(u->v6, before.v6);
    assert_int_equal(u->closed, before.closed);
    assert_int_equal(u->next_id, before.next_id);
    assert_memory_equal(u->buf, shadow, before.len);
}

/* A refused start writes nothing into the caller's buffer. */
static void start_refused(const uint8_t *p, size_t len)
{
    struct ns_uso u;
    memset(super, 0xa5, sizeof(super));
    assert_false(ns_uso_start(&u, super, sizeof(super), p, len));
    for (size_t i = 0; i < sizeof(super); i++)
        if (super[i] != 0xa5)
            fail_msg("refused start wrote byte %zu", i);
}

/* dg[0] and dg[1], a run of two of f, 200 bytes of payload each. */
static void pair(const struct flow *f)
{
    dg_len[0] = build(dg[0], f, 200, 100, 0);
    dg_len[1] = build(dg[1], f, 200, 101, 1);
}

/* p (a changed copy of dg[1]) does not continue the run of dg[0]: refused,
 * and the run then takes the real dg[1] and still segments back. */
static void not_a_continuation(const uint8_t *p, size_t len)
{
    struct ns_uso u;
    assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
    append_refused(&u, p, len);
    assert_true(ns_uso_append(&u, dg[1], dg_len[1]));
    append_refused(&u, p, len);
    finish_and_check(&u, 2);
}

/* p can neither start a run nor continue one. */
static void never_merged(const uint8_t *p, size_t len)
{
    start_refused(p, len);
    not_a_continuation(p, len);
}

static uint8_t m[2048];

static size_t copy1(void)
{
    memcpy(m, dg[1], dg_len[1]);
    return dg_len[1];
}

/* Runs of n = 2..64 datagrams of payload s (and the same with a shorter
 * last one), IDs wrapping in the middle, merge and segment back. */
static void runs_segment_back(const struct flow *f)
{
    static const size_t sizes[] = {1, 2, 63, 333, 1000};
    size_t hl = f->v6 ? 48 : 28;
    for (unsigned n = 2; n <= USO_REF_MAX_SEGS; n++) {
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            size_t s = sizes[si];
            for (int short_last = 0; short_last < 2; short_last++) {
                if ((short_last && s < 2) || hl + n * s > 0xffff)
                    continue;
                uint16_t id0 = (uint16_t)(0xffff - n / 2);
                for (unsigned i = 0; i < n; i++) {
                    size_t p = s;
                    if (short_last && i == n - 1)
                        p = n % 2 ? s - 1 : 1;
                    dg_len[i] = build(dg[i], f, p, (uint16_t)(id0 + i), i);
                }
                merge_and_check(n);
            }
        }
    }
}

/* R12: IPv4 runs come back from the kernel byte for byte. */
static void ipv4_runs_segment_back(void **state)
{
    (void)state;
    runs_segment_back(&flow4);
    struct flow f = flow4; /* without DF, TOS 0 */
    f.df = false;
    f.tos = 0;
    runs_segment_back(&f);
}

/* R12: IPv6 runs come back from the kernel byte for byte. */
static void ipv6_runs_segment_back(void **state)
{
    (void)state;
    runs_segment_back(&flow6);
}

/* R12: a single datagram goes out unchanged with no offload. */
static void single_datagram_unchanged(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const struct flow *f = v ? &flow6 : &flow4;
        dg_len[0] = build(dg[0], f, 777, 5, 3);
        struct ns_uso u;
        assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
        finish_and_check(&u, 1);
        /* Also after a refused append (a datagram of another flow). */
        struct flow g = *f;
        g.dport++;
        dg_len[1] = build(dg[1], &g, 777, 6, 4);
        assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
        append_refused(&u, dg[1], dg_len[1]);
        finish_and_check(&u, 1);
    }
}

/* The datagram's UDP checksum computes to 0 and is sent as 0xffff: the
 * last two payload bytes chosen so that it does. */
static void make_udp_csum_zero(uint8_t *p, size_t len)
{
    size_t l4 = l4_of(p);
    p[len - 2] = 0;
    p[len - 1] = 0;
    uint32_t a = uso_ref_pseudo(p, len - l4);
    a += uso_ref_sum(0, p + l4, 6);
    a += uso_ref_sum(0, p + l4 + 8, len - l4 - 8);
    uint16_t s0 = uso_ref_sum(a, NULL, 0);
    uso_ref_put16(p + len - 2, (uint16_t)(0xffff - s0));
    refix(p, len);
}

/* R12: both forms of a zero checksum. A UDP checksum that
 * computes to 0 is sent as 0xffff, by the peer and by the kernel: merged.
 * An IPv4 header checksum that computes to 0 is stored as 0 by the kernel;
 * a header that carries 0xffff instead (also valid: RFC 1624 updates, as
 * NATs make them, can give it) would come back changed, so it is refused. */
static void zero_checksums(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const struct flow *f = v ? &flow6 : &flow4;
        for (unsigned i = 0; i < 3; i++)
            dg_len[i] = build(dg[i], f, 100, (uint16_t)(7 + i), i);
        make_udp_csum_zero(dg[1], dg_len[1]);
        assert_int_equal(uso_ref_get16(dg[1] + l4_of(dg[1]) + 6), 0xffff);
        assert_int_equal(uso_ref_sum(uso_ref_pseudo(dg[1], dg_len[1] - l4_of(dg[1])),
                                     dg[1] + l4_of(dg[1]), dg_len[1] - l4_of(dg[1])),
                         0xffff);
        merge_and_check(3);
        make_udp_csum_zero(dg[0], dg_len[0]); /* as the first */
        merge_and_check(3);
    }
    /* An ID that makes the canonical header checksum 0. */
    dg_len[0] = build(dg[0], &flow4, 100, 0, 0);
    uint16_t id = uso_ref_get16(dg[0] + 10);
    for (unsigned i = 0; i < 3; i++)
        dg_len[i] = build(dg[i], &flow4, 100, (uint16_t)(id + i), i);
    assert_int_equal(uso_ref_get16(dg[0] + 10), 0);
    merge_and_check(3);
    /* The same header with 0xffff: refused first or later. */
    uso_ref_put16(dg[0] + 10, 0xffff);
    assert_int_equal(uso_ref_sum(0, dg[0], 20), 0xffff); /* valid all the same */
    start_refused(dg[0], dg_len[0]);
    memcpy(m, dg[0], dg_len[0]);
    size_t len = dg_len[0];
    dg_len[0] = build(dg[0], &flow4, 100, (uint16_t)(id - 1), 9);
    dg_len[1] = build(dg[1], &flow4, 100, id, 0);
    not_a_continuation(m, len);
}

/* R12: a datagram whose checksums are not right goes alone (the
 * receiver must see it wrong), as does one with no UDP checksum (the
 * kernel would put one in). */
static void bad_checksums_refused(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const struct flow *f = v ? &flow6 : &flow4;
        size_t l4 = v ? 40 : 20;
        pair(f);
        size_t len = copy1();
        m[l4 + 7] ^= 1; /* UDP checksum */
        never_merged(m, len);
        len = copy1();
        m[len - 1] ^= 0x40; /* a payload byte */
        never_merged(m, len);
        len = copy1();
        uso_ref_put16(m + l4 + 6, 0); /* no checksum */
        never_merged(m, len);
        /* No checksum where the checksum computes to 0: the field then
         * verifies all the same, but the kernel would send 0xffff. */
        len = copy1();
        make_udp_csum_zero(m, len);
        uso_ref_put16(m + l4 + 6, 0);
        assert_int_equal(uso_ref_sum(uso_ref_pseudo(m, len - l4), m + l4, len - l4), 0xffff);
        never_merged(m, len);
        if (!v) {
            len = copy1();
            m[11] ^= 1; /* IPv4 header checksum */
            never_merged(m, len);
            len = copy1();
            m[8] ^= 1; /* TTL, header checksum left as it was */
            never_merged(m, len);
        }
    }
}

/* R12: IPv4 with options, fragments, other protocols, other
 * versions go alone. */
static void unmergeable_ipv4_refused(void **state)
{
    (void)state;
    pair(&flow4);
    /* Options: IHL 6, a 4-byte option of NOPs and EOL. */
    size_t len = dg_len[1] + 4;
    memcpy(m, dg[1], 20);
    m[0] = 0x46;
    m[20] = 1;
    m[21] = 1;
    m[22] = 1;
    m[23] = 0;
    memcpy(m + 24, dg[1] + 20, dg_len[1] - 20);
    uso_ref_put16(m + 2, (uint16_t)len);
    refix(m, len);
    assert_int_equal(uso_ref_sum(0, m, 24), 0xffff);
    never_merged(m, len);
    len = copy1();
    m[6] |= 0x20; /* MF */
    refix(m, len);
    never_merged(m, len);
    len = copy1();
    m[7] = 1; /* fragment offset 8 */
    refix(m, len);
    never_merged(m, len);
    len = copy1();
    m[6] = 0x1f; /* offset high bits, no DF */
    m[7] = 0;
    refix(m, len);
    never_merged(m, len);
    len = copy1();
    m[9] = 6; /* TCP */
    refix(m, len);
    never_merged(m, len);
    len = copy1();
    m[9] = 136; /* UDP-Lite */
    refix(m, len);
    never_merged(m, len);
    len = copy1();
    m[0] = 0x44; /* IHL below 5 (the header checksum still over 20 bytes) */
    uso_ref_put16(m + 10, uso_ref_ipv4_csum(m, 20));
    never_merged(m, len);
    len = copy1();
    m[0] = 0x55; /* version 5 */
    never_merged(m, len);
}

/* R12: IPv6 without UDP right after the header goes alone. */
static void unmergeable_ipv6_refused(void **state)
{
    (void)state;
    pair(&flow6);
    /* A hop-by-hop header (PadN) between IPv6 and UDP. */
    size_t len = dg_len[1] + 8;
    memcpy(m, dg[1], 40);
    m[6] = 0;
    const uint8_t hbh[8] = {17, 0, 1, 4, 0, 0, 0, 0};
    memcpy(m + 40, hbh, 8);
    memcpy(m + 48, dg[1] + 40, dg_len[1] - 40);
    uso_ref_put16(m + 4, (uint16_t)(len - 40));
    uso_ref_put16(m + 48 + 6, uso_ref_udp_csum(m, 48, len));
    never_merged(m, len);
    len = copy1();
    m[6] = 6; /* TCP */
    refix(m, len);
    never_merged(m, len);
    len = copy1();
    m[6] = 44; /* a fragment header */
    refix(m, len);
    never_merged(m, len);
    len = copy1();
    m[0] = 0x70 | (m[0] & 15); /* version 7 */
    never_merged(m, len);
}

/* R12: length fields that do not describe the buffer exactly,
 * and datagrams without payload, go alone. */
static void bad_lengths_refused(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const struct flow *f = v ? &flow6 : &flow4;
        size_t l4 = v ? 40 : 20, ipl = v ? 4 : 2;
        pair(f);
        for (int d = -1; d <= 1; d += 2) {
            size_t len = copy1();
            uso_ref_put16(m + ipl, (uint16_t)(uso_ref_get16(m + ipl) + d)); /* IP length */
            refix(m, len);
            never_merged(m, len);
            len = copy1();
            uso_ref_put16(m + l4 + 4, (uint16_t)(uso_ref_get16(m + l4 + 4) + d)); /* UDP */
            refix(m, len);
            never_merged(m, len);
        }
        /* A buffer shorter or longer than the packet says. */
        size_t len = copy1();
        never_merged(m, len - 1);
        m[len] = 0;
        never_merged(m, len + 1);
        /* Cut inside the headers. */
        never_merged(m, l4 + 7);
        never_merged(m, l4);
        never_merged(m, l4 - 1);
        never_merged(m, 1);
        never_merged(m, 0);
        /* No payload: nothing to merge. */
        len = build(m, f, 0, 101, 1);
        never_merged(m, len);
    }
}

/* R12: a datagram of another flow, or whose IP header differs
 * in anything but what segmentation rewrites, does not continue the run. */
static void other_flow_refused(void **state)
{
    (void)state;
    pair(&flow4);
    static const struct {
        size_t off;
        uint8_t x;
    } v4[] = {
        {1, 0x04},  /* TOS */
        {1, 0x01},  /* ECN */
        {6, 0x40},  /* DF */
        {8, 0x01},  /* TTL */
        {12, 0x01}, /* source address */
        {19, 0x80}, /* destination address */
        {21, 0x01}, /* source port */
        {22, 0x01}, /* destination port */
    };
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        size_t len = copy1();
        m[v4[i].off] ^= v4[i].x;
        refix(m, len);
        not_a_continuation(m, len);
    }
    pair(&flow6);
    static const struct {
        size_t off;
        uint8_t x;
    } v6[] = {
        {0, 0x01},  /* traffic class */
        {1, 0x10},  /* traffic class (ECN) */
        {1, 0x01},  /* flow label */
        {3, 0x80},  /* flow label */
        {7, 0x01},  /* hop limit */
        {8, 0x01},  /* source address */
        {39, 0x01}, /* destination address */
        {40, 0x80}, /* source port */
        {43, 0x01}, /* destination port */
    };
    for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
        size_t len = copy1();
        m[v6[i].off] ^= v6[i].x;
        refix(m, len);
        not_a_continuation(m, len);
    }
    /* An IPv4 datagram after IPv6 ones and the other way round. */
    size_t len = build(m, &flow4, 200, 1, 1);
    not_a_continuation(m, len);
    pair(&flow4);
    len = build(m, &flow6, 200, 0, 1);
    not_a_continuation(m, len);
}

/* R12: IPv4 IDs must go up by one, as segmentation numbers them. */
static void id_gap_refused(void **state)
{
    (void)state;
    pair(&flow4);
    static const uint16_t ids[] = {100, 99, 0, 101 + 0x100, 101 - 0x100};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        size_t len = build(m, &flow4, 200, ids[i], 1);
        not_a_continuation(m, len);
    }
    /* A skipped ID: refused, then taken in its turn. */
    dg_len[2] = build(dg[2], &flow4, 200, 102, 2);
    struct ns_uso u;
    assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
    append_refused(&u, dg[2], dg_len[2]);
    assert_true(ns_uso_append(&u, dg[1], dg_len[1]));
    assert_true(ns_uso_append(&u, dg[2], dg_len[2]));
    finish_and_check(&u, 3);
    /* The ID wraps from 0xffff to 0. */
    dg_len[0] = build(dg[0], &flow4, 200, 0xffff, 0);
    dg_len[1] = build(dg[1], &flow4, 200, 0, 1);
    merge_and_check(2);
}

/* R12: every payload as long as the first but the last, which
 * may be shorter and then ends the run. */
static void payload_lengths(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const struct flow *f = v ? &flow6 : &flow4;
        struct ns_uso u;
        dg_len[0] = build(dg[0], f, 500, 1, 0);
        dg_len[1] = build(dg[1], f, 500, 2, 1);
        /* Longer than the first. */
        size_t len = build(m, f, 501, 2, 1);
        assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
        append_refused(&u, m, len);
        len = build(m, f, 1000, 2, 1);
        append_refused(&u, m, len);
        assert_true(ns_uso_append(&u, dg[1], dg_len[1]));
        /* A shorter one ends the run: nothing after it, not even one as
         * short, nor a full one. */
        dg_len[2] = build(dg[2], f, 499, 3, 2);
        assert_true(ns_uso_append(&u, dg[2], dg_len[2]));
        len = build(m, f, 499, 4, 3);
        append_refused(&u, m, len);
        len = build(m, f, 500, 4, 3);
        append_refused(&u, m, len);
        len = build(m, f, 1, 4, 3);
        append_refused(&u, m, len);
        finish_and_check(&u, 3);
        /* The shortest last one, one byte. */
        dg_len[2] = build(dg[2], f, 1, 3, 2);
        merge_and_check(3);
    }
}

/* R12: at most NS_USO_MAX_SEGS datagrams in one run. */
static void sixty_fifth_refused(void **state)
{
    (void)state;
    assert_int_equal(NS_USO_MAX_SEGS, USO_REF_MAX_SEGS);
    for (int v = 0; v < 2; v++) {
        const struct flow *f = v ? &flow6 : &flow4;
        for (unsigned i = 0; i <= NS_USO_MAX_SEGS; i++)
            dg_len[i] = build(dg[i], f, 10, (uint16_t)(1000 + i), i);
        struct ns_uso u;
        assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
        for (unsigned i = 1; i < NS_USO_MAX_SEGS; i++)
            assert_true(ns_uso_append(&u, dg[i], dg_len[i]));
        append_refused(&u, dg[NS_USO_MAX_SEGS], dg_len[NS_USO_MAX_SEGS]);
        dg_len[NS_USO_MAX_SEGS] = build(dg[NS_USO_MAX_SEGS], f, 3, 1064, 9);
        append_refused(&u, dg[NS_USO_MAX_SEGS], dg_len[NS_USO_MAX_SEGS]); /* short too */
        finish_and_check(&u, NS_USO_MAX_SEGS);
    }
}

/* R12: the super-datagram fits the caller's buffer and an IP
 * packet (65535 bytes). */
static void cap_and_64k_refused(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const struct flow *f = v ? &flow6 : &flow4;
        size_t hl = v ? 48 : 28;
        struct ns_uso u;
        for (unsigned i = 0; i < 3; i++)
            dg_len[i] = build(dg[i], f, 300, (uint16_t)(50 + i), i);
        /* The first alone does not fit. */
        memset(super, 0xa5, sizeof(super));
        assert_false(ns_uso_start(&u, super, dg_len[0] - 1, dg[0], dg_len[0]));
        assert_int_equal(super[0], 0xa5);
        /* Room for exactly two: the third is refused, the run intact. */
        assert_true(ns_uso_start(&u, super, dg_len[0] + 300, dg[0], dg_len[0]));
        assert_true(ns_uso_append(&u, dg[1], dg_len[1]));
        append_refused(&u, dg[2], dg_len[2]);
        finish_and_check(&u, 2);
        /* One byte short for the second; a shorter second fits. */
        assert_true(ns_uso_start(&u, super, dg_len[0] + 299, dg[0], dg_len[0]));
        append_refused(&u, dg[1], dg_len[1]);
        dg_len[1] = build(dg[1], f, 299, 51, 1);
        assert_true(ns_uso_append(&u, dg[1], dg_len[1]));
        finish_and_check(&u, 2);
        /* 59 datagrams of 1100 bytes and a last one that makes exactly
         * 65535 bytes: taken; one more byte: refused. */
        for (unsigned i = 0; i < 59; i++)
            dg_len[i] = build(dg[i], f, 1100, (uint16_t)(7 + i), i);
        size_t rest = 0xffff - hl - 59 * 1100;
        assert_true(ns_uso_start(&u, super, sizeof(super), dg[0], dg_len[0]));
        for (unsigned i = 1; i < 59; i++)
            assert_true(ns_uso_append(&u, dg[i], dg_len[i]));
        size_t len = build(m, f, rest + 1, 7 + 59, 59);
        append_refused(&u, m, len);
        dg_len[59] = build(dg[59], f, rest, 7 + 59, 59);
        assert_true(ns_uso_append(&u, dg[59], dg_len[59]));
        finish_and_check(&u, 60);
        assert_int_equal(u.len, 0xffff);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_runs_segment_back),    cmocka_unit_test(ipv6_runs_segment_back),
        cmocka_unit_test(single_datagram_unchanged), cmocka_unit_test(zero_checksums),
        cmocka_unit_test(bad_checksums_refused),     cmocka_unit_test(unmergeable_ipv4_refused),
        cmocka_unit_test(unmergeable_ipv6_refused),  cmocka_unit_test(bad_lengths_refused),
        cmocka_unit_test(other_flow_refused),        cmocka_unit_test(id_gap_refused),
        cmocka_unit_test(payload_lengths),           cmocka_unit_test(sixty_fifth_refused),
        cmocka_unit_test(cap_and_64k_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
