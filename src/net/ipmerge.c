#include "net/ipmerge.h"

#include <string.h>

#include "util/buf.h"
#include "util/csum.h"
#include "util/inet.h"

size_t ns_ipmerge_l4(const uint8_t *pkt, size_t len, uint8_t proto, bool *v6)
{
    if (len >= NS_IPV4_MIN_HDR && pkt[0] == 0x45) {
        if (pkt[NS_IPV4_PROTO_OFF] != proto || ns_ipv4_is_fragment(pkt) ||
            ns_get_u16(pkt + NS_IPV4_TOTLEN_OFF) != len ||
            ns_csum_fold(ns_csum_add(0, pkt, NS_IPV4_MIN_HDR)) != 0 ||
            ns_get_u16(pkt + 10) == 0xffff)
            return 0;
        *v6 = false;
        return NS_IPV4_MIN_HDR;
    }
    if (len >= NS_IPV6_HDR && ns_ip_version(pkt) == 6) {
        if (pkt[6] != proto || (size_t)ns_get_u16(pkt + 4) + NS_IPV6_HDR != len)
            return 0;
        *v6 = true;
        return NS_IPV6_HDR;
    }
    return 0;
}

/* Whether a and b agree in every byte of [from, to). */
static bool same(const uint8_t *a, const uint8_t *b, size_t from, size_t to)
{
    return memcmp(a + from, b + from, to - from) == 0;
}

bool ns_ipmerge_continues(const uint8_t *first, const uint8_t *pkt, bool v6, uint16_t next_id)
{
    if (v6) /* all but the payload length */
        return same(first, pkt, 0, 4) && same(first, pkt, 6, NS_IPV6_HDR);
    /* Version to TOS, flags to protocol, addresses: equal. */
    return same(first, pkt, 0, 2) && same(first, pkt, 6, 10) && same(first, pkt, 12, 20) &&
           ns_get_u16(pkt + 4) == next_id;
}

uint32_t ns_ipmerge_finish(uint8_t *p, size_t len, size_t l4, bool v6, uint8_t proto)
{
    uint32_t sum;
    if (!v6) {
        ns_put_u16(p + 2, (uint16_t)len);
        ns_put_u16(p + 10, 0);
        ns_put_u16(p + 10, ns_csum_ipv4_header(p, l4));
        sum = ns_csum_add(0, p + 12, 8);
    } else {
        ns_put_u16(p + 4, (uint16_t)(len - NS_IPV6_HDR));
        sum = ns_csum_add(0, p + 8, 32);
    }
    return sum + proto + (uint32_t)(len - l4);
}
