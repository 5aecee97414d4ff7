/* TCP MSS clamping (esp/mss.h, X11). */
#include "esp/mss.h"

#include <string.h>

#include "util/csum.h"
#include "util/inet.h"

#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define OPT_MSS_LEN 4
/* IPv6 extension headers walked before giving up (a SYN carries none in
 * practice; the bound keeps a crafted chain cheap). */
#define IPV6_MAX_EXT 8

/* The TCP segment of an IPv4 packet: its offset and length, or false when
 * the packet is not an unfragmented IPv4 TCP packet with sane lengths. */
static bool ipv4_tcp(const uint8_t *p, size_t len, size_t *l4, size_t *l4_len)
{
    if (len < NS_IPV4_MIN_HDR)
        return false;
    size_t ihl = ns_ipv4_hdr_len(p);
    size_t total = ns_get_u16(p + 2);
    if (ihl < NS_IPV4_MIN_HDR || total < ihl || total > len)
        return false;
    /* A fragment (MF or an offset): the TCP header may be elsewhere, and
     * SYNs are never fragmented in practice. */
    if (ns_ipv4_is_fragment(p) || p[NS_IPV4_PROTO_OFF] != NS_IPPROTO_TCP)
        return false;
    *l4 = ihl;
    *l4_len = total - ihl;
    return true;
}

/* The same for IPv6, through hop-by-hop, routing and destination options
 * headers; a fragment header or any other next header ends it. */
static bool ipv6_tcp(const uint8_t *p, size_t len, size_t *l4, size_t *l4_len)
{
    if (len < NS_IPV6_HDR)
        return false;
    size_t end = NS_IPV6_HDR + (size_t)ns_get_u16(p + 4);
    if (end > len || end == NS_IPV6_HDR) /* truncated, or a jumbogram / nothing */
        return false;
    uint8_t nh = p[6];
    size_t off = NS_IPV6_HDR;
    for (unsigned i = 0; nh != NS_IPPROTO_TCP; i++) {
        if (i == IPV6_MAX_EXT || (nh != 0 && nh != 43 && nh != 60))
            return false;
        if (end - off < 8) /* every one of these is at least 8 bytes */
            return false;
        size_t ext = ((size_t)p[off + 1] + 1) * 8;
        if (ext > end - off)
            return false;
        nh = p[off];
        off += ext;
    }
    *l4 = off;
    *l4_len = end - off;
    return true;
}

/* Writes v at offset at of the TCP segment tcp and moves its checksum
 * along. The checksum sums 16-bit words from the start of the segment (an
 * even offset from the start of the pseudo-header), so the words touched
 * are those around at: one when at is even, two when it is odd. */
static void set16_fix_csum(uint8_t *tcp, size_t at, uint16_t v)
{
    size_t from = at & ~(size_t)1, n = at & 1 ? 4 : 2;
    uint8_t old[4], neu[4];
    memcpy(old, tcp + from, n);
    ns_put_u16(tcp + at, v);
    memcpy(neu, tcp + from, n);
    ns_put_u16(tcp + 16, ns_csum_replace(ns_get_u16(tcp + 16), old, neu, n));
}

/* The TCP header of a segment with SYN set in ip_packet: its offset and
 * length (data offset), or false when there is none with sane lengths. */
static bool syn_header(const uint8_t *ip_packet, size_t len, size_t *l4, size_t *doff)
{
    if (!ip_packet || len == 0)
        return false;
    size_t l4_len;
    unsigned version = ip_packet[0] >> 4;
    if (!(version == 4 ? ipv4_tcp(ip_packet, len, l4, &l4_len)
                       : version == 6 && ipv6_tcp(ip_packet, len, l4, &l4_len)))
        return false;
    if (l4_len < NS_TCP_MIN_HDR)
        return false;
    const uint8_t *tcp = ip_packet + *l4;
    *doff = (size_t)(tcp[12] >> 4) * 4;
    return *doff >= NS_TCP_MIN_HDR && *doff <= l4_len && (tcp[13] & NS_TCP_SYN);
}

bool ns_mss_syn(const uint8_t *ip_packet, size_t len)
{
    size_t l4, doff;
    return syn_header(ip_packet, len, &l4, &doff);
}

bool ns_mss_clamp(uint8_t *ip_packet, size_t len, uint16_t max_mss)
{
    size_t l4, doff;
    if (!syn_header(ip_packet, len, &l4, &doff))
        return false;
    uint8_t *tcp = ip_packet + l4;
    /* First pass: the options must parse to the end (or EOL), so nothing is
     * changed in a segment the receiver would read differently. */
    size_t mss_at[(60 - NS_TCP_MIN_HDR) / OPT_MSS_LEN];
    unsigned n_mss = 0;
    for (size_t i = NS_TCP_MIN_HDR; i < doff;) {
        uint8_t kind = tcp[i];
        if (kind == OPT_EOL)
            break;
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        if (doff - i < 2)
            return false;
        size_t olen = tcp[i + 1];
        if (olen < 2 || olen > doff - i)
            return false;
        if (kind == OPT_MSS) {
            if (olen != OPT_MSS_LEN)
                return false;
            mss_at[n_mss++] = i + 2;
        }
        i += olen;
    }
    bool changed = false;
    for (unsigned k = 0; k < n_mss; k++) {
        if (ns_get_u16(tcp + mss_at[k]) > max_mss) {
            set16_fix_csum(tcp, mss_at[k], max_mss);
            changed = true;
        }
    }
    return changed;
}

bool ns_mss_clamp_mtu(uint8_t *ip_packet, size_t len, unsigned mtu)
{
    if (!ip_packet || len == 0)
        return false;
    unsigned overhead = ns_ip_version(ip_packet) == 6 ? NS_MSS_IPV6_OVERHEAD : NS_MSS_IPV4_OVERHEAD;
    if (mtu <= overhead)
        return false;
    unsigned max = mtu - overhead;
    return ns_mss_clamp(ip_packet, len, (uint16_t)(max > 0xffff ? 0xffff : max));
}
