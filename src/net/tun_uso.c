#include "net/tun_uso.h"

#include <linux/virtio_net.h>
#include <string.h>

#include "esp/csum.h"
#include "util/buf.h"

#define IPV4_MIN 20
#define IPV6_LEN 40
#define UDP_LEN 8
#define PROTO_UDP 17

/* The UDP checksum of the datagram at pkt + l4 (len - l4 bytes) over the
 * pseudo-header: 0 when its field is correct. */
static uint16_t udp_csum(const uint8_t *pkt, size_t l4, size_t len, bool v6)
{
    size_t seg = len - l4;
    uint32_t sum = v6 ? ns_csum_add(0, pkt + 8, 32) : ns_csum_add(0, pkt + 12, 8);
    sum += PROTO_UDP + (uint32_t)seg;
    sum = ns_csum_add(sum, pkt + l4, seg);
    return ns_csum_fold(sum);
}

/* The UDP offset of a datagram that may be merged: IPv4 without options or
 * fragmentation, or IPv6 with UDP right after its header; lengths that
 * agree with len; a correct IPv4 header checksum, not 0xffff (valid too,
 * the other form of 0 that incremental updates can leave, but the kernel
 * stores 0 when it recomputes it per datagram); a non-zero, correct UDP
 * checksum; some payload. 0 when not. */
static size_t mergeable(const uint8_t *pkt, size_t len, bool *v6)
{
    size_t l4;
    if (len >= IPV4_MIN && pkt[0] == 0x45) {
        if (pkt[9] != PROTO_UDP || (ns_get_u16(pkt + 6) & 0x3fff) != 0 ||
            ns_get_u16(pkt + 2) != len || ns_csum_fold(ns_csum_add(0, pkt, IPV4_MIN)) != 0 ||
            ns_get_u16(pkt + 10) == 0xffff)
            return 0;
        l4 = IPV4_MIN;
        *v6 = false;
    } else if (len >= IPV6_LEN && pkt[0] >> 4 == 6) {
        if (pkt[6] != PROTO_UDP || (size_t)ns_get_u16(pkt + 4) + IPV6_LEN != len)
            return 0;
        l4 = IPV6_LEN;
        *v6 = true;
    } else {
        return 0;
    }
    if (l4 + UDP_LEN >= len) /* no payload: nothing to merge */
        return 0;
    const uint8_t *udp = pkt + l4;
    if (ns_get_u16(udp + 4) != len - l4 || ns_get_u16(udp + 6) == 0 || udp_csum(pkt, l4, len, *v6))
        return 0;
    return l4;
}

bool ns_uso_start(struct ns_uso *u, uint8_t *buf, size_t cap, const uint8_t *pkt, size_t len)
{
    memset(u, 0, sizeof(*u));
    bool v6 = false;
    size_t l4 = mergeable(pkt, len, &v6);
    if (l4 == 0 || len > cap)
        return false;
    memcpy(buf, pkt, len);
    u->buf = buf;
    u->cap = cap;
    u->len = len;
    u->l4 = l4;
    u->seg = len - l4 - UDP_LEN;
    u->segs = 1;
    u->v6 = v6;
    u->next_id = v6 ? 0 : (uint16_t)(ns_get_u16(pkt + 4) + 1);
    return true;
}

/* Whether a and b agree in every byte of [from, to). */
static bool same(const uint8_t *a, const uint8_t *b, size_t from, size_t to)
{
    return memcmp(a + from, b + from, to - from) == 0;
}

bool ns_uso_append(struct ns_uso *u, const uint8_t *pkt, size_t len)
{
    if (u->closed || u->segs >= NS_USO_MAX_SEGS)
        return false;
    bool v6 = false;
    size_t l4 = mergeable(pkt, len, &v6);
    if (l4 != u->l4 || v6 != u->v6)
        return false;
    size_t payload = len - l4 - UDP_LEN;
    if (payload > u->seg || u->len + payload > u->cap || u->len + payload > 0xffff)
        return false;
    const uint8_t *a = u->buf;
    if (!v6) {
        /* Version to TOS, flags to protocol, addresses: equal. */
        if (!same(a, pkt, 0, 2) || !same(a, pkt, 6, 10) || !same(a, pkt, 12, 20) ||
            ns_get_u16(pkt + 4) != u->next_id)
            return false;
    } else if (!same(a, pkt, 0, 4) || !same(a, pkt, 6, IPV6_LEN)) {
        return false;
    }
    if (!same(a + l4, pkt + l4, 0, 4)) /* ports */
        return false;
    memcpy(u->buf + u->len, pkt + l4 + UDP_LEN, payload);
    u->len += payload;
    u->segs++;
    u->next_id++;
    if (payload < u->seg)
        u->closed = true; /* only the last may be short */
    return true;
}

size_t ns_uso_finish(struct ns_uso *u, struct ns_vnet_hdr *h)
{
    memset(h, 0, sizeof(*h));
    if (u->segs < 2)
        return u->len;
    uint8_t *p = u->buf;
    size_t udp_len = u->len - u->l4;
    uint32_t sum;
    if (!u->v6) {
        ns_put_u16(p + 2, (uint16_t)u->len);
        ns_put_u16(p + 10, 0);
        ns_put_u16(p + 10, ns_csum_ipv4_header(p, u->l4));
        sum = ns_csum_add(0, p + 12, 8);
    } else {
        ns_put_u16(p + 4, (uint16_t)(u->len - IPV6_LEN));
        sum = ns_csum_add(0, p + 8, 32);
    }
    ns_put_u16(p + u->l4 + 4, (uint16_t)udp_len);
    sum += PROTO_UDP + (uint32_t)udp_len;
    /* CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented;
     * the kernel puts each datagram's own length in it as it cuts. */
    ns_put_u16(p + u->l4 + 6, (uint16_t)~ns_csum_fold(sum));
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->gso_type = NS_VIRTIO_NET_HDR_GSO_UDP_L4;
    h->hdr_len = (uint16_t)(u->l4 + UDP_LEN);
    h->gso_size = (uint16_t)u->seg;
    h->csum_start = (uint16_t)u->l4;
    h->csum_offset = 6;
    return u->len;
}
