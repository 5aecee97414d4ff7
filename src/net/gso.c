#include "net/gso.h"

#include <linux/virtio_net.h>
#include <string.h>

#include "net/ipmerge.h"
#include "util/buf.h"
#include "util/csum.h"
#include "util/inet.h"

_Static_assert(sizeof(struct virtio_net_hdr) == NS_VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");

void ns_vnet_hdr_parse(const uint8_t raw[NS_VNET_HDR_LEN], struct ns_vnet_hdr *h)
{
    struct virtio_net_hdr v;
    memcpy(&v, raw, sizeof(v));
    h->flags = v.flags;
    h->gso_type = v.gso_type;
    h->hdr_len = v.hdr_len;
    h->gso_size = v.gso_size;
    h->csum_start = v.csum_start;
    h->csum_offset = v.csum_offset;
}

void ns_vnet_hdr_write(const struct ns_vnet_hdr *h, uint8_t raw[NS_VNET_HDR_LEN])
{
    struct virtio_net_hdr v = {
        .flags = h->flags,
        .gso_type = h->gso_type,
        .hdr_len = h->hdr_len,
        .gso_size = h->gso_size,
        .csum_start = h->csum_start,
        .csum_offset = h->csum_offset,
    };
    memcpy(raw, &v, sizeof(v));
}

/* The TCP header offset of a TSO packet, or 0 when it is not a plain
 * IPv4/IPv6 TCP packet we can cut (fragments and IPv6 extension headers,
 * which the kernel's TCP never hands over for TSO, are refused). */
static size_t tcp_offset(const uint8_t *pkt, size_t len, bool v6)
{
    if (len < NS_IPV4_MIN_HDR)
        return 0;
    if (!v6) {
        if (pkt[0] >> 4 != 4)
            return 0;
        size_t ihl = ns_ipv4_hdr_len(pkt);
        if (ihl < NS_IPV4_MIN_HDR || ihl > len || pkt[NS_IPV4_PROTO_OFF] != NS_IPPROTO_TCP ||
            ns_ipv4_is_fragment(pkt))
            return 0;
        return ihl;
    }
    if (len < NS_IPV6_HDR || pkt[0] >> 4 != 6 || pkt[6] != NS_IPPROTO_TCP)
        return 0;
    return NS_IPV6_HDR;
}

int ns_gso_init(struct ns_gso_iter *it, const struct ns_vnet_hdr *h, const uint8_t *pkt, size_t len)
{
    memset(it, 0, sizeof(*it));
    it->pkt = pkt;
    it->len = len;
    if (len == 0)
        return -1; /* nothing to send (and 0 from ns_gso_next means done) */
    uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (type == VIRTIO_NET_HDR_GSO_NONE) {
        if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            size_t start = h->csum_start, field = start + (size_t)h->csum_offset;
            if (start >= len || field + 2 > len)
                return -1;
            it->csum = true;
            it->l4 = start;
            it->csum_off = field;
        }
        return 0;
    }
    if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
        return -1;
    if (h->gso_size == 0)
        return -1;
    it->v6 = type == VIRTIO_NET_HDR_GSO_TCPV6;
    size_t l4 = tcp_offset(pkt, len, it->v6);
    if (l4 == 0 || l4 + NS_TCP_MIN_HDR > len)
        return -1;
    size_t doff = (size_t)(pkt[l4 + 12] >> 4) * 4;
    if (doff < NS_TCP_MIN_HDR || l4 + doff > len)
        return -1;
    it->tso = true;
    it->l4 = l4;
    it->hlen = l4 + doff;
    it->mss = h->gso_size;
    return 0;
}

unsigned ns_gso_left(const struct ns_gso_iter *it)
{
    if (!it->tso)
        return it->index == 0 ? 1 : 0;
    size_t payload = it->len - it->hlen;
    if (payload == 0)
        return it->index == 0 ? 1 : 0;
    size_t rest = payload - it->off;
    return (unsigned)((rest + it->mss - 1) / it->mss);
}

/* Ones' complement sum of p[0..n) as big-endian 16-bit words, folded to
 * 16 bits (the form ns_csum_add chains): eight bytes per step, since it
 * runs over every byte of every segment. The sum of native-order words is
 * the byte-swapped sum of big-endian ones (RFC 1071 2(B)). */
static uint32_t sum_fast(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc += v;
        acc += acc < v; /* end-around carry */
    }
    if (i < n) {
        uint8_t tail[8] = {0};
        memcpy(tail, p + i, n - i);
        uint64_t v;
        memcpy(&v, tail, 8);
        acc += v;
        acc += acc < v;
    }
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    uint16_t s = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = (uint16_t)(s >> 8 | s << 8);
#endif
    return s;
}

/* The TCP checksum of the segment at out + l4 (its field zero), with the
 * pseudo-header of the IP header at out. */
static uint16_t tcp_csum(const uint8_t *out, size_t l4, size_t total, bool v6)
{
    size_t seg = total - l4;
    uint32_t sum = v6 ? ns_csum_add(0, out + 8, 32) : ns_csum_add(0, out + 12, 8);
    sum += NS_IPPROTO_TCP + (uint32_t)seg;
    sum += sum_fast(out + l4, seg);
    return ns_csum_fold(sum);
}

static int next_tso(struct ns_gso_iter *it, uint8_t *out, size_t cap)
{
    size_t payload = it->len - it->hlen;
    size_t chunk = payload - it->off < it->mss ? payload - it->off : it->mss;
    size_t total = it->hlen + chunk;
    if (total > cap || total > 0xffff)
        return -1;
    memcpy(out, it->pkt, it->hlen);
    memcpy(out + it->hlen, it->pkt + it->hlen + it->off, chunk);
    bool last = it->off + chunk >= payload;
    if (!it->v6) {
        ns_put_u16(out + 2, (uint16_t)total);
        ns_put_u16(out + 4, (uint16_t)(ns_get_u16(it->pkt + 4) + it->index));
        ns_put_u16(out + 10, 0);
        ns_put_u16(out + 10, ns_csum_ipv4_header(out, it->l4));
    } else {
        ns_put_u16(out + 4, (uint16_t)(total - NS_IPV6_HDR));
    }
    uint8_t *tcp = out + it->l4;
    ns_put_u32(tcp + 4, ns_get_u32(it->pkt + it->l4 + 4) + (uint32_t)it->off);
    if (!last)
        tcp[13] &= (uint8_t) ~(NS_TCP_FIN | NS_TCP_PSH);
    if (it->index > 0)
        tcp[13] &= (uint8_t)~NS_TCP_CWR; /* congestion window reduced: once */
    ns_put_u16(tcp + 16, 0);
    ns_put_u16(tcp + 16, tcp_csum(out, it->l4, total, it->v6));
    it->off += chunk;
    it->index++;
    return (int)total;
}

/* The field holds the pseudo-header sum; the kernel left the rest to the
 * device (CHECKSUM_PARTIAL). */
static void finish_csum(const struct ns_gso_iter *it, uint8_t *out)
{
    uint16_t c = ns_csum_fold(sum_fast(out + it->l4, it->len - it->l4));
    ns_put_u16(out + it->csum_off, c ? c : 0xffff);
}

int ns_gso_next(struct ns_gso_iter *it, uint8_t *out, size_t cap)
{
    if (ns_gso_left(it) == 0)
        return 0;
    if (it->tso)
        return next_tso(it, out, cap);
    if (it->len > cap || it->len > 0xffff)
        return -1;
    memcpy(out, it->pkt, it->len);
    if (it->csum)
        finish_csum(it, out);
    it->index++;
    return (int)it->len;
}

int ns_gso_single(const struct ns_vnet_hdr *h, uint8_t *pkt, size_t len)
{
    struct ns_gso_iter it;
    if (ns_gso_init(&it, h, pkt, len) != 0 || it.tso)
        return -1;
    if (it.csum)
        finish_csum(&it, pkt);
    return 0;
}

/* ---- coalescing ---- */

#define GRO_MAX_SEGS 64

/* The TCP offset of a segment that may be merged: an IP header that
 * ns_ipmerge_l4 takes; a correct TCP checksum; ACK, maybe PSH, nothing
 * else; some payload. 0 when not. */
static size_t mergeable(const uint8_t *pkt, size_t len, bool *v6, size_t *hlen)
{
    size_t l4 = ns_ipmerge_l4(pkt, len, NS_IPPROTO_TCP, v6);
    if (l4 == 0 || l4 + NS_TCP_MIN_HDR > len)
        return 0;
    const uint8_t *tcp = pkt + l4;
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    if (doff < NS_TCP_MIN_HDR || l4 + doff >= len) /* no payload: nothing to merge */
        return 0;
    uint8_t fl = tcp[13];
    if ((fl & NS_TCP_ACK) == 0 ||
        (fl & (NS_TCP_FIN | NS_TCP_SYN | NS_TCP_RST | NS_TCP_URG | NS_TCP_ECE | NS_TCP_CWR)))
        return 0;
    if (tcp_csum(pkt, l4, len, *v6) != 0) /* over a correct field: 0 */
        return 0;
    *hlen = l4 + doff;
    return l4;
}

bool ns_gro_start(struct ns_gro *g, uint8_t *buf, size_t cap, const uint8_t *pkt, size_t len)
{
    memset(g, 0, sizeof(*g));
    bool v6 = false;
    size_t hlen = 0;
    size_t l4 = mergeable(pkt, len, &v6, &hlen);
    if (l4 == 0 || len > cap)
        return false;
    memcpy(buf, pkt, len);
    g->buf = buf;
    g->cap = cap;
    g->len = len;
    g->l4 = l4;
    g->hlen = hlen;
    g->mss = len - hlen;
    g->segs = 1;
    g->v6 = v6;
    g->closed = (pkt[l4 + 13] & NS_TCP_PSH) != 0;
    g->next_seq = ns_get_u32(pkt + l4 + 4) + (uint32_t)g->mss;
    g->next_id = v6 ? 0 : (uint16_t)(ns_get_u16(pkt + 4) + 1);
    return true;
}

/* Whether a and b (the super-packet's first headers and a new segment's)
 * agree in every byte of [from, to). */
static bool same(const uint8_t *a, const uint8_t *b, size_t from, size_t to)
{
    return memcmp(a + from, b + from, to - from) == 0;
}

bool ns_gro_append(struct ns_gro *g, const uint8_t *pkt, size_t len)
{
    if (g->closed || g->segs >= GRO_MAX_SEGS)
        return false;
    bool v6 = false;
    size_t hlen = 0;
    size_t l4 = mergeable(pkt, len, &v6, &hlen);
    if (l4 != g->l4 || v6 != g->v6 || hlen != g->hlen)
        return false;
    size_t payload = len - hlen;
    if (payload > g->mss || g->len + payload > g->cap || g->len + payload > 0xffff)
        return false;
    if (!ns_ipmerge_continues(g->buf, pkt, v6, g->next_id))
        return false;
    const uint8_t *ta = g->buf + l4, *tb = pkt + l4;
    /* Ports, ack, offset, window, urgent pointer, options: equal; flags
     * equal but for PSH. */
    if (!same(ta, tb, 0, 4) || !same(ta, tb, 8, 13) || !same(ta, tb, 14, 16) ||
        !same(ta, tb, 18, hlen - l4) || ((ta[13] ^ tb[13]) & (uint8_t)~NS_TCP_PSH) != 0 ||
        ns_get_u32(tb + 4) != g->next_seq)
        return false;
    memcpy(g->buf + g->len, pkt + hlen, payload);
    g->len += payload;
    g->segs++;
    g->next_seq += (uint32_t)payload;
    g->next_id++;
    if (tb[13] & NS_TCP_PSH) {
        g->buf[l4 + 13] |= NS_TCP_PSH;
        g->closed = true;
    }
    if (payload < g->mss)
        g->closed = true; /* only the last may be short */
    return true;
}

size_t ns_gro_finish(struct ns_gro *g, struct ns_vnet_hdr *h)
{
    memset(h, 0, sizeof(*h));
    if (g->segs < 2)
        return g->len;
    uint8_t *p = g->buf;
    uint32_t sum = ns_ipmerge_finish(p, g->len, g->l4, g->v6, NS_IPPROTO_TCP);
    /* CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented. */
    ns_put_u16(p + g->l4 + 16, (uint16_t)~ns_csum_fold(sum));
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->gso_type = g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    h->hdr_len = (uint16_t)g->hlen;
    h->gso_size = (uint16_t)g->mss;
    h->csum_start = (uint16_t)g->l4;
    h->csum_offset = 16;
    return g->len;
}
