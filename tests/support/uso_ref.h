/* Reference for UDP segmentation offload on TUN writes: what
 * Linux does with an IP packet written to a TUN device with a virtio-net
 * header of GSO type UDP_L4 (virtio_net_hdr_to_skb, then
 * inet_gso_segment / ipv6_gso_segment and __udp_gso_segment): the payload
 * is cut into gso_size pieces, each behind a copy of the IP and UDP
 * headers with its own lengths, the IPv4 ID of the first plus the index,
 * a recomputed IPv4 header checksum, and the UDP checksum the kernel
 * derives from the partial field (adjusted from the super-packet's UDP
 * length to the segment's, then completed over the segment; a computed 0
 * goes out as 0xffff, skb_checksum_help's CSUM_MANGLED_0).
 *
 * Written from the kernel's behaviour, sharing no code with
 * src/net/tun_uso.c or src/esp/csum.c. Header-only (static inline) so that
 * the cmocka tests and the libFuzzer targets, which link only natsec_core
 * and not natsec_test_support (that one needs cmocka), use the same copy. */
#ifndef NATSEC_TEST_USO_REF_H
#define NATSEC_TEST_USO_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/gso.h"

#define USO_REF_GSO_UDP_L4 5
#define USO_REF_NEEDS_CSUM 1
/* UDP_MAX_SEGMENTS of the kernels natsec targets (6.2 up to its raise). */
#define USO_REF_MAX_SEGS 64

static inline uint16_t uso_ref_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void uso_ref_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 1071: ones' complement sum of big-endian words (an odd last byte
 * padded with zero), folded but not complemented. */
static inline uint16_t uso_ref_sum(uint32_t acc, const uint8_t *p, size_t n)
{
    uint64_t a = acc;
    for (size_t i = 0; i + 1 < n; i += 2)
        a += (uint64_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        a += (uint64_t)p[n - 1] << 8;
    while (a >> 16)
        a = (a & 0xffff) + (a >> 16);
    return (uint16_t)a;
}

/* The IPv4 header checksum as ip_send_check stores it (the field counted
 * as 0): never 0xffff. */
static inline uint16_t uso_ref_ipv4_csum(const uint8_t *hdr, size_t ihl)
{
    uint32_t a = uso_ref_sum(0, hdr, 10);
    a += uso_ref_sum(0, hdr + 12, ihl - 12);
    return (uint16_t)~uso_ref_sum(a, NULL, 0);
}

/* The UDP pseudo-header sum (folded, not complemented) of the IP packet p
 * p for a UDP length of udp_len. */
static inline uint16_t uso_ref_pseudo(const uint8_t *p, size_t udp_len)
{
    bool v6 = p[0] >> 4 == 6;
    uint32_t a = v6 ? uso_ref_sum(0, p + 8, 32) : uso_ref_sum(0, p + 12, 8);
    a += 17;
    a += (uint32_t)(udp_len >> 16) + (uint32_t)(udp_len & 0xffff);
    return uso_ref_sum(a, NULL, 0);
}

/* The UDP checksum to send for the datagram at p + l4 (len - l4 bytes), its
 * checksum field counted as 0: 0xffff for a computed 0. */
static inline uint16_t uso_ref_udp_csum(const uint8_t *p, size_t l4, size_t len)
{
    uint32_t a = uso_ref_pseudo(p, len - l4);
    a += uso_ref_sum(0, p + l4, 6);
    a += uso_ref_sum(0, p + l4 + 8, len - l4 - 8);
    uint16_t c = (uint16_t)~uso_ref_sum(a, NULL, 0);
    return c ? c : 0xffff;
}

/* csum16_add / csum16_sub of include/net/checksum.h. */
static inline uint16_t uso_ref_add16(uint16_t csum, uint16_t addend)
{
    uint16_t res = (uint16_t)(csum + addend);
    return (uint16_t)(res + (res < addend));
}

static inline uint16_t uso_ref_sub16(uint16_t csum, uint16_t addend)
{
    return uso_ref_add16(csum, (uint16_t)~addend);
}

/* Cuts pkt (len bytes, written to TUN behind h) the way the kernel would.
 * The segments are written one after the other to out (cap bytes), their
 * lengths to seg_len[] (room for max). Returns their number, or -1 when the
 * kernel would refuse the write or drop the packet, or would not segment
 * it: a header that does not ask for UDP segmentation with the checksum
 * left partial at the UDP header, lengths that do not describe the packet
 * exactly, a bad IPv4 header checksum or a fragment, not UDP, a payload
 * that makes fewer than 2 or more than USO_REF_MAX_SEGS datagrams. */
static inline int uso_ref_segment(const struct ns_vnet_hdr *h, const uint8_t *pkt, size_t len,
                                  uint8_t *out, size_t cap, size_t *seg_len, unsigned max)
{
    if (h->gso_type != USO_REF_GSO_UDP_L4 || !(h->flags & USO_REF_NEEDS_CSUM) ||
        h->csum_offset != 6 || h->gso_size == 0 || h->hdr_len > len || len < 1)
        return -1;
    size_t l4;
    bool v6 = pkt[0] >> 4 == 6;
    if (pkt[0] >> 4 == 4) {
        l4 = (size_t)(pkt[0] & 15) * 4;
        if (len < 20 || l4 < 20 || l4 > len || uso_ref_get16(pkt + 2) != len || pkt[9] != 17 ||
            (uso_ref_get16(pkt + 6) & 0x3fff) != 0)
            return -1;
        /* ip_rcv: the header sums to 0xffff (either form of a zero
         * checksum passes; each segment then gets ip_send_check's). */
        if (uso_ref_sum(0, pkt, l4) != 0xffff)
            return -1;
    } else if (v6) {
        l4 = 40;
        if (len < 40 || (size_t)uso_ref_get16(pkt + 4) + 40 != len || pkt[6] != 17)
            return -1;
    } else {
        return -1;
    }
    if (h->csum_start != l4 || l4 + 8 > len || uso_ref_get16(pkt + l4 + 4) != len - l4)
        return -1;
    size_t hl = l4 + 8, payload = len - hl, gso = h->gso_size;
    if (payload <= gso || payload > gso * USO_REF_MAX_SEGS)
        return -1;
    uint16_t id = v6 ? 0 : uso_ref_get16(pkt + 4);
    uint16_t old_ulen = uso_ref_get16(pkt + l4 + 4), field = uso_ref_get16(pkt + l4 + 6);
    size_t off = 0, used = 0;
    unsigned n = 0;
    while (off < payload) {
        size_t piece = payload - off < gso ? payload - off : gso;
        if (n == max || used + hl + piece > cap)
            return -1;
        uint8_t *s = out + used;
        memcpy(s, pkt, hl);
        memcpy(s + hl, pkt + hl + off, piece);
        size_t slen = hl + piece;
        if (!v6) {
            uso_ref_put16(s + 2, (uint16_t)slen);
            uso_ref_put16(s + 4, (uint16_t)(id + n));
            uso_ref_put16(s + 10, uso_ref_ipv4_csum(s, l4));
        } else {
            uso_ref_put16(s + 4, (uint16_t)(slen - 40));
        }
        uint16_t ulen = (uint16_t)(8 + piece);
        uint16_t check = uso_ref_add16(uso_ref_sub16(field, old_ulen), ulen);
        uso_ref_put16(s + l4 + 4, ulen);
        uso_ref_put16(s + l4 + 6, check);
        /* CHECKSUM_PARTIAL completed: summed from csum_start with the field
         * as it is, complemented, 0 sent as 0xffff. */
        uint16_t c = (uint16_t)~uso_ref_sum(0, s + l4, slen - l4);
        uso_ref_put16(s + l4 + 6, c ? c : 0xffff);
        seg_len[n++] = slen;
        used += slen;
        off += piece;
    }
    return (int)n;
}

#endif
