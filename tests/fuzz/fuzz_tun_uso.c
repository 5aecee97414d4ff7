/* libFuzzer target for UDP coalescing toward TUN (src/net/tun_uso.c,
 * R12): the datagrams are decrypted inner packets, untrusted
 * network input. They are run through ns_uso_start / ns_uso_append /
 * ns_uso_finish as the data plane's merge_run does, and every run is
 * checked: nothing beyond the caller's buffer or 65535 bytes; a refused
 * append leaves the run untouched; only IPv4 datagrams without options or
 * fragmentation, or IPv6 with UDP next, are taken, none after a shorter
 * one; a run of one goes out as it came with an all-zero header; a longer
 * run has a consistent virtio-net header and, cut by the reference
 * segmenter (what Linux does with the write, tests/support/uso_ref.h), gives
 * back exactly the datagrams that were taken, byte for byte.
 *
 * Random bytes almost never make a datagram with right checksums, so the
 * input describes how to build each one:
 *   byte 0: the caller's buffer, (b + 1) * 257 bytes (257..65792);
 *   then records: flags, a 16-bit length, [repeat] [offset, xor] [zero]
 *   [fill] [raw bytes], with flags
 *     T    0x01  template: the previous datagram's IP and UDP headers (or
 *                a default one of the version V asks for), IPv4 ID + 1,
 *                length bytes of payload made from fill; else the packet
 *                is the next length raw bytes of the input;
 *     V    0x02  IPv6 for a template;
 *     L    0x04  set the IP and UDP length fields from the buffer;
 *     I    0x08  set the IPv4 header checksum;
 *     U    0x10  set the UDP checksum (0 sent as 0xffff);
 *     X    0x20  xor one header byte (before the fixes): a change of flow;
 *     R    0x40  the record gives 1 + repeat % 80 datagrams;
 *     Z    0x80  zero forms of checksums, after the fixes, as zero says:
 *                0x01 IPv4: the ID moved so that the header checksum is 0,
 *                stored as 0xffff (valid, but not what the kernel makes);
 *                0x02 a payload word set so that the UDP checksum is 0,
 *                stored as 0xffff, or with 0x04 as 0 (no checksum, and yet
 *                it verifies). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../support/uso_ref.h"
#include "net/tun_uso.h"

#define F_T 0x01
#define F_V 0x02
#define F_L 0x04
#define F_I 0x08
#define F_U 0x10
#define F_X 0x20
#define F_R 0x40
#define F_Z 0x80

#define MAX_PKTS 400
#define MAX_BYTES (256u << 10) /* built per input, to keep executions fast */
#define MAX_PKT (0xffff + 40)

struct pkt {
    uint8_t *p;
    size_t len;
};

static struct pkt pkts[MAX_PKTS];
static unsigned npkts;
static size_t built;
static uint8_t expect[MAX_PKT]; /* what the run's buffer must hold */
static uint8_t cut[0xffff + USO_REF_MAX_SEGS * 64];
static size_t cut_len[USO_REF_MAX_SEGS];

static const uint8_t default4[28] = {0x45, 0,    0,    0,    0x12, 0x34, 0x40, 0, 64, 17,
                                     0,    0,    10,   99,   0,    2,    192,  0, 2,  80,
                                     0x9c, 0x40, 0x13, 0x8c, 0,    0,    0,    0};
static const uint8_t default6[48] = {
    0x60, 0, 0, 0, 0, 0, 17, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
    0,    0, 0, 0, 0, 0, 0,  2,  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
    0,    0, 0, 0, 0, 0, 0,  80, 0x0d, 0x96, 0xc3, 0x50, 0, 0, 0, 0};

/* The UDP offset the packet's IP header names, or 0 when it names none
 * inside len. */
static size_t udp_at(const uint8_t *p, size_t len)
{
    if (len >= 20 && p[0] >> 4 == 4) {
        size_t ihl = (size_t)(p[0] & 15) * 4;
        return ihl >= 20 && ihl + 8 <= len ? ihl : 0;
    }
    if (len >= 48 && p[0] >> 4 == 6)
        return 40;
    return 0;
}

/* Sets the payload word at the even offset k so that the UDP checksum
 * computes to 0, and stores field. */
static void udp_zero(uint8_t *p, size_t l4, size_t len, size_t k, uint16_t field)
{
    uso_ref_put16(p + k, 0);
    uso_ref_put16(p + l4 + 6, 0);
    uint32_t a = uso_ref_pseudo(p, len - l4);
    a += uso_ref_sum(0, p + l4, len - l4);
    uso_ref_put16(p + k, (uint16_t)(0xffff - uso_ref_sum(a, NULL, 0)));
    uso_ref_put16(p + l4 + 6, field);
}

static void fix(uint8_t *p, size_t len, uint8_t flags, uint8_t zero)
{
    size_t l4 = udp_at(p, len);
    if (l4 == 0)
        return;
    bool v4 = p[0] >> 4 == 4;
    if (flags & F_L) {
        if (v4)
            uso_ref_put16(p + 2, (uint16_t)len);
        else
            uso_ref_put16(p + 4, (uint16_t)(len - 40));
        uso_ref_put16(p + l4 + 4, (uint16_t)(len - l4));
    }
    bool alt4 = v4 && (flags & F_Z) && (zero & 1);
    if (alt4) {
        /* ID + the canonical checksum: the header then sums to 0xffff
         * without it, its canonical checksum is 0. */
        uint16_t c = uso_ref_ipv4_csum(p, l4);
        uso_ref_put16(p + 4, uso_ref_add16(uso_ref_get16(p + 4), c));
    }
    if (v4 && ((flags & F_I) || alt4)) {
        uint16_t c = uso_ref_ipv4_csum(p, l4);
        uso_ref_put16(p + 10, c == 0 && alt4 ? 0xffff : c);
    }
    if (flags & F_U)
        uso_ref_put16(p + l4 + 6, uso_ref_udp_csum(p, l4, len));
    if ((flags & F_Z) && (zero & 2) && len >= l4 + 10)
        udp_zero(p, l4, len, l4 + 8 + ((len - l4 - 10) & ~(size_t)1), zero & 4 ? 0 : 0xffff);
}

/* Room for one more packet of len bytes, allocated to its exact size so
 * that ASan sees any over-read; NULL when the input has enough. */
static uint8_t *add(size_t len)
{
    if (npkts == MAX_PKTS || built + len > MAX_BYTES)
        return NULL;
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        abort();
    pkts[npkts].p = p;
    pkts[npkts].len = len;
    npkts++;
    built += len;
    return p;
}

/* Reads the records of data into pkts. */
static void parse(const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i + 3 <= size) {
        uint8_t flags = data[i];
        size_t n = (size_t)data[i + 1] << 8 | data[i + 2];
        i += 3;
        unsigned reps = 1;
        uint8_t xoff = 0, xval = 0, zero = 0, fill = 0;
        if (flags & F_R) {
            if (i >= size)
                return;
            reps = 1 + data[i++] % 80;
        }
        if (flags & F_X) {
            if (i + 2 > size)
                return;
            xoff = data[i];
            xval = data[i + 1];
            i += 2;
        }
        if (flags & F_Z) {
            if (i >= size)
                return;
            zero = data[i++];
        }
        const uint8_t *raw = NULL;
        if (flags & F_T) {
            if (i >= size)
                return;
            fill = data[i++];
        } else {
            if (n > size - i)
                n = size - i;
            raw = data + i;
            i += n;
        }
        for (unsigned r = 0; r < reps; r++) {
            const uint8_t *base = NULL;
            size_t hl = 0;
            bool from_prev = false;
            if (flags & F_T) {
                bool want6 = flags & F_V;
                if (npkts > 0) {
                    const struct pkt *q = &pkts[npkts - 1];
                    size_t l4 = udp_at(q->p, q->len);
                    if (l4 && (q->p[0] >> 4 == 6) == want6) {
                        base = q->p;
                        hl = l4 + 8;
                        from_prev = true;
                    }
                }
                if (!base) {
                    base = want6 ? default6 : default4;
                    hl = want6 ? sizeof(default6) : sizeof(default4);
                }
                if (n > MAX_PKT - hl)
                    n = MAX_PKT - hl;
            }
            size_t len = raw ? n : hl + n;
            uint8_t *p = add(len);
            if (!p)
                return;
            if (raw) {
                memcpy(p, raw, n);
            } else {
                memcpy(p, base, hl);
                for (size_t k = 0; k < n; k++)
                    p[hl + k] = (uint8_t)(fill + k * 29 + (k >> 8) + r);
                if (from_prev && p[0] >> 4 == 4)
                    uso_ref_put16(p + 4, (uint16_t)(uso_ref_get16(p + 4) + 1));
            }
            if ((flags & F_X) && len > 0) {
                size_t at = udp_at(p, len);
                p[xoff % (at ? at + 8 : len)] ^= xval;
            }
            fix(p, len, flags, zero);
        }
    }
}

/* What the merge rules say of a datagram that was taken (the rest, the
 * checksums and flow, the reference segmentation checks). */
static void check_taken(const uint8_t *p, size_t len)
{
    if (len >= 20 && p[0] >> 4 == 4) {
        if (p[0] != 0x45 || (uso_ref_get16(p + 6) & 0x3fff) != 0 || p[9] != 17 ||
            uso_ref_get16(p + 2) != len || len <= 28)
            abort();
    } else if (len >= 40 && p[0] >> 4 == 6) {
        if (p[6] != 17 || uso_ref_get16(p + 4) + 40u != len || len <= 48)
            abort();
    } else {
        abort();
    }
}

static void check_unchanged(const struct ns_uso *u, const struct ns_uso *b)
{
    if (u->buf != b->buf || u->cap != b->cap || u->len != b->len || u->l4 != b->l4 ||
        u->seg != b->seg || u->segs != b->segs || u->v6 != b->v6 || u->closed != b->closed ||
        u->next_id != b->next_id || memcmp(u->buf, expect, u->len) != 0)
        abort();
}

/* The run u that ns_uso_start began with pkts[i], continued as the data
 * plane does and finished: returns the index after it. */
static unsigned run(struct ns_uso *u, uint8_t *buf, size_t cap, unsigned i)
{
    const struct pkt *first = &pkts[i];
    check_taken(first->p, first->len);
    if (first->len > cap || u->len != first->len || memcmp(buf, first->p, first->len) != 0)
        abort();
    memcpy(expect, first->p, first->len);
    size_t hl = (first->p[0] >> 4 == 6 ? 40 : 20) + 8, seg = first->len - hl;
    size_t len = first->len;
    bool ended = false;
    unsigned j = i + 1;
    while (j < npkts) {
        const struct pkt *q = &pkts[j];
        struct ns_uso before = *u;
        if (!ns_uso_append(u, q->p, q->len)) {
            check_unchanged(u, &before);
            break;
        }
        check_taken(q->p, q->len);
        size_t payload = q->len - hl;
        if (ended || (q->p[0] >> 4 == 6) != (first->p[0] >> 4 == 6) || payload > seg ||
            j - i >= NS_USO_MAX_SEGS || len + payload > cap || len + payload > 0xffff ||
            u->len != len + payload || u->segs != j - i + 1)
            abort();
        memcpy(expect + len, q->p + hl, payload);
        if (memcmp(u->buf + len, expect + len, payload) != 0)
            abort();
        len += payload;
        ended = payload < seg;
        j++;
    }
    unsigned n = j - i;
    struct ns_vnet_hdr h;
    size_t out = ns_uso_finish(u, &h);
    if (out != len || out > cap)
        abort();
    if (n == 1) {
        if (h.flags || h.gso_type || h.hdr_len || h.gso_size || h.csum_start || h.csum_offset ||
            memcmp(buf, first->p, first->len) != 0)
            abort();
        return j;
    }
    if (out > 0xffff || h.flags != 1 || h.gso_type != NS_VIRTIO_NET_HDR_GSO_UDP_L4 ||
        h.hdr_len != hl || h.gso_size != seg || h.csum_start != hl - 8 || h.csum_offset != 6)
        abort();
    int k = uso_ref_segment(&h, buf, out, cut, sizeof(cut), cut_len, USO_REF_MAX_SEGS);
    if (k < 0 || (unsigned)k != n)
        abort();
    size_t off = 0;
    for (unsigned s = 0; s < n; s++) {
        const struct pkt *q = &pkts[i + s];
        if (cut_len[s] != q->len || memcmp(cut + off, q->p, q->len) != 0)
            abort();
        off += q->len;
    }
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cap = ((size_t)data[0] + 1) * 257;
    npkts = 0;
    built = 0;
    parse(data + 1, size - 1);
    uint8_t *buf = malloc(cap);
    if (!buf)
        abort();
    unsigned i = 0;
    while (i < npkts) {
        struct ns_uso u;
        if (ns_uso_start(&u, buf, cap, pkts[i].p, pkts[i].len))
            i = run(&u, buf, cap, i);
        else
            i++; /* written alone */
    }
    free(buf);
    for (unsigned k = 0; k < npkts; k++)
        free(pkts[k].p);
    return 0;
}
