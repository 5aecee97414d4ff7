#include "util/csum.h"

#include "util/buf.h"
#include "util/inet.h"

static uint32_t fold_carries(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

uint32_t ns_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    /* Folding after every call keeps the sum far from overflow whatever
     * the number of calls; 32767 words of 0xffff fit in 32 bits. */
    while (len > 1) {
        size_t chunk = len > 65534 ? 65534 : len & ~(size_t)1;
        for (size_t i = 0; i < chunk; i += 2)
            sum += (uint32_t)((p[i] << 8) | p[i + 1]);
        sum = fold_carries(sum);
        p += chunk;
        len -= chunk;
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    return fold_carries(sum);
}

uint16_t ns_csum_fold(uint32_t sum)
{
    return (uint16_t)~fold_carries(sum);
}

/* ~HC + ~m + m' folded and complemented, with m and m' ones' complement
 * sums of the old and new words (RFC 1624 3, extended to many words). */
static uint16_t replace_sums(uint16_t hc, uint32_t m_old, uint32_t m_new)
{
    uint32_t sum = (uint16_t)~hc;
    sum += (uint16_t)~fold_carries(m_old);
    sum += fold_carries(m_new);
    return ns_csum_fold(sum);
}

uint16_t ns_csum_replace(uint16_t hc, const uint8_t *old_words, const uint8_t *new_words,
                         size_t len)
{
    return replace_sums(hc, ns_csum_add(0, old_words, len), ns_csum_add(0, new_words, len));
}

uint16_t ns_csum_ipv4_header(const uint8_t *hdr, size_t len)
{
    return ns_csum_fold(ns_csum_add(0, hdr, len));
}

static uint32_t addr_sum(const struct ns_addr *a)
{
    return ns_csum_add(0, a->a, ns_addr_len(a));
}

uint16_t ns_csum_pseudo(uint8_t proto, const uint8_t *seg, size_t len, const struct ns_addr *src,
                        const struct ns_addr *dst)
{
    /* The IPv4 pseudo-header's 16-bit length and IPv6's 32-bit one sum to
     * the same words for any real segment length. */
    uint32_t sum = addr_sum(src) + addr_sum(dst);
    sum += proto;
    sum += (uint32_t)(len >> 16) & 0xffff;
    sum += (uint32_t)len & 0xffff;
    sum = ns_csum_add(fold_carries(sum), seg, len);
    return ns_csum_fold(sum);
}

int ns_csum_field_offset(uint8_t proto)
{
    switch (proto) {
    case 6: /* TCP */
        return 16;
    case 17:  /* UDP */
    case 136: /* UDP-Lite */
        return 6;
    case 58: /* ICMPv6 */
        return 2;
    default:
        return -1;
    }
}

int ns_csum_fix_transport(uint8_t proto, uint8_t *seg, size_t len, const struct ns_addr *osrc,
                          const struct ns_addr *odst, const struct ns_addr *nsrc,
                          const struct ns_addr *ndst)
{
    int off = ns_csum_field_offset(proto);
    if (off < 0)
        return 0;
    if (!ns_addr_len(osrc) || !ns_addr_len(odst) || !ns_addr_len(nsrc) || !ns_addr_len(ndst))
        return -1;
    if (len < (size_t)off + 2)
        return -1;
    uint16_t hc = ns_get_u16(seg + off);
    if (proto == NS_IPPROTO_UDP && hc == 0)
        return 0; /* RFC 768: no checksum was computed; there is none to fix */
    uint16_t nc =
        replace_sums(hc, addr_sum(osrc) + addr_sum(odst), addr_sum(nsrc) + addr_sum(ndst));
    if (nc == 0 && proto == NS_IPPROTO_UDP)
        nc = 0xffff; /* the same value in ones' complement, not "none" */
    ns_put_u16(seg + off, nc);
    return 0;
}
