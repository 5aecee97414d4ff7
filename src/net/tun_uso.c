#include "net/tun_uso.h"

#include <linux/virtio_net.h>
#include <string.h>

#include "util/csum.h"
#include "net/ipmerge.h"
#include "util/buf.h"
#include "util/inet.h"


/* The UDP checksum of the datagram at pkt + l4 (len - l4 bytes) over the
 * pseudo-header: 0 when its field is correct. */
static uint16_t udp_csum(const uint8_t *pkt, size_t l4, size_t len, bool v6)
{
    size_t seg = len - l4;
    uint32_t sum = v6 ? ns_csum_add(0, pkt + 8, 32) : ns_csum_add(0, pkt + 12, 8);
    sum += NS_IPPROTO_UDP + (uint32_t)seg;
    sum = ns_csum_add(sum, pkt + l4, seg);
    return ns_csum_fold(sum);
}

/* The UDP offset of a datagram that may be merged: an IP header that
 * ns_ipmerge_l4 takes; a UDP length that agrees; a non-zero, correct UDP
 * checksum; some payload. 0 when not. */
static size_t mergeable(const uint8_t *pkt, size_t len, bool *v6)
{
    size_t l4 = ns_ipmerge_l4(pkt, len, NS_IPPROTO_UDP, v6);
    if (l4 == 0 || l4 + NS_UDP_HDR >= len) /* no payload: nothing to merge */
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
    u->seg = len - l4 - NS_UDP_HDR;
    u->segs = 1;
    u->v6 = v6;
    u->next_id = v6 ? 0 : (uint16_t)(ns_get_u16(pkt + 4) + 1);
    return true;
}

bool ns_uso_append(struct ns_uso *u, const uint8_t *pkt, size_t len)
{
    if (u->closed || u->segs >= NS_USO_MAX_SEGS)
        return false;
    bool v6 = false;
    size_t l4 = mergeable(pkt, len, &v6);
    if (l4 != u->l4 || v6 != u->v6)
        return false;
    size_t payload = len - l4 - NS_UDP_HDR;
    if (payload > u->seg || u->len + payload > u->cap || u->len + payload > 0xffff)
        return false;
    if (!ns_ipmerge_continues(u->buf, pkt, v6, u->next_id) ||
        memcmp(u->buf + l4, pkt + l4, 4) != 0) /* ports */
        return false;
    memcpy(u->buf + u->len, pkt + l4 + NS_UDP_HDR, payload);
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
    uint32_t sum = ns_ipmerge_finish(p, u->len, u->l4, u->v6, NS_IPPROTO_UDP);
    ns_put_u16(p + u->l4 + 4, (uint16_t)(u->len - u->l4));
    /* CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented;
     * the kernel puts each datagram's own length in it as it cuts. */
    ns_put_u16(p + u->l4 + 6, (uint16_t)~ns_csum_fold(sum));
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->gso_type = NS_VIRTIO_NET_HDR_GSO_UDP_L4;
    h->hdr_len = (uint16_t)(u->l4 + NS_UDP_HDR);
    h->gso_size = (uint16_t)u->seg;
    h->csum_start = (uint16_t)u->l4;
    h->csum_offset = 6;
    return u->len;
}
