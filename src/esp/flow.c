#include "esp/flow.h"

#include <string.h>

#include "util/buf.h"
#include "util/inet.h"

/* IPv6 extension headers walked to find the upper layer; a longer chain
 * is legal but never seen in practice and treated as opaque. */
#define MAX_EXT_HEADERS 8

static bool has_ports(uint8_t proto)
{
    return proto == NS_IPPROTO_TCP || proto == NS_IPPROTO_UDP || proto == NS_IPPROTO_SCTP ||
           proto == NS_IPPROTO_UDPLITE;
}

/* Reads the ports at the start of the upper-layer header, if present. */
static void read_ports(struct ns_flow *f, struct ns_reader *r, bool first_fragment)
{
    f->sport = f->dport = 0;
    if (!has_ports(f->proto)) {
        f->ports_known = true; /* nothing to compare */
        return;
    }
    f->ports_known = false;
    if (!first_fragment || ns_reader_left(r) < 4)
        return;
    f->sport = ns_read_u16(r);
    f->dport = ns_read_u16(r);
    f->ports_known = true;
}

static size_t parse_v4(struct ns_flow *f, const uint8_t *pkt, size_t len)
{
    if (len < 20)
        return 0;
    size_t ihl = ns_ipv4_hdr_len(pkt);
    size_t total = ns_get_u16(pkt + 2);
    if (ihl < 20 || ihl > total || total > len)
        return 0;
    f->proto = pkt[9];
    f->src.family = f->dst.family = AF_INET;
    memcpy(f->src.a, pkt + 12, 4);
    memcpy(f->dst.a, pkt + 16, 4);
    uint16_t frag = ns_get_u16(pkt + 6) & 0x1fff;
    struct ns_reader r;
    ns_reader_init(&r, pkt + ihl, total - ihl);
    read_ports(f, &r, frag == 0);
    return total;
}

static size_t parse_v6(struct ns_flow *f, const uint8_t *pkt, size_t len)
{
    if (len < 40)
        return 0;
    size_t total = 40 + (size_t)ns_get_u16(pkt + 4);
    if (total > len)
        return 0; /* a jumbogram (payload length 0) is not sent through a tunnel */
    f->src.family = f->dst.family = AF_INET6;
    memcpy(f->src.a, pkt + 8, 16);
    memcpy(f->dst.a, pkt + 24, 16);
    struct ns_reader r;
    ns_reader_init(&r, pkt + 40, total - 40);
    uint8_t nh = pkt[6];
    bool first = true;
    for (int i = 0; i < MAX_EXT_HEADERS; i++) {
        if (nh == NS_IPPROTO_HOPOPTS || nh == NS_IPPROTO_ROUTING || nh == NS_IPPROTO_DSTOPTS ||
            nh == NS_IPPROTO_AH) {
            const uint8_t *h = ns_read_bytes(&r, 2);
            if (!h)
                break;
            size_t hlen = nh == NS_IPPROTO_AH ? ((size_t)h[1] + 2) * 4 : ((size_t)h[1] + 1) * 8;
            nh = h[0];
            if (!ns_read_skip(&r, hlen - 2))
                break;
        } else if (nh == NS_IPPROTO_FRAGMENT) {
            const uint8_t *h = ns_read_bytes(&r, 8);
            if (!h)
                break;
            nh = h[0];
            if ((ns_get_u16(h + 2) >> 3) != 0) {
                first = false;
                break; /* later headers are in the first fragment only */
            }
        } else {
            break;
        }
    }
    f->proto = nh;
    /* A failed reader (truncated extension header) leaves ports unknown. */
    read_ports(f, &r, first && ns_reader_ok(&r));
    return total;
}

size_t ns_flow_parse(struct ns_flow *f, const uint8_t *pkt, size_t len)
{
    memset(f, 0, sizeof(*f));
    if (len < 1)
        return 0;
    switch (pkt[0] >> 4) {
    case 4:
        return parse_v4(f, pkt, len);
    case 6:
        return parse_v6(f, pkt, len);
    default:
        return 0;
    }
}

static bool v4_link_scoped(const uint8_t *a, bool dst)
{
    static const uint8_t any[4], bcast[4] = {255, 255, 255, 255};
    if (a[0] == 169 && a[1] == 254)
        return true;
    if (dst)
        return (a[0] == 224 && a[1] == 0 && a[2] == 0) || memcmp(a, bcast, 4) == 0;
    return memcmp(a, any, 4) == 0;
}

static bool v6_link_scoped(const uint8_t *a, bool dst)
{
    static const uint8_t any[16];
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* fe80::/10 */
        return true;
    if (dst)
        return a[0] == 0xff && (a[1] & 0x0f) <= 2; /* multicast scope 0, 1, 2 */
    return memcmp(a, any, 16) == 0;
}

bool ns_flow_link_scoped(const struct ns_flow *f)
{
    if (f->src.family == AF_INET)
        return v4_link_scoped(f->src.a, false) || v4_link_scoped(f->dst.a, true);
    if (f->src.family == AF_INET6)
        return v6_link_scoped(f->src.a, false) || v6_link_scoped(f->dst.a, true);
    return false;
}

bool ns_ts_list_match(const struct ns_ts *ts, unsigned n, const struct ns_addr *a, uint8_t proto,
                      uint16_t port, bool ports_known)
{
    for (unsigned i = 0; i < n; i++) {
        const struct ns_ts *t = &ts[i];
        if (ports_known) {
            if (ns_ts_contains(t, a, proto, port))
                return true;
        } else if (t->port_lo == 0 && t->port_hi == 65535 && ns_ts_contains(t, a, proto, 0)) {
            return true;
        }
    }
    return false;
}

bool ns_flow_match(const struct ns_flow *f, bool inbound, const struct ns_ts *local,
                   unsigned n_local, const struct ns_ts *remote, unsigned n_remote)
{
    /* The local side of an inbound packet is its destination. */
    const struct ns_addr *la = inbound ? &f->dst : &f->src;
    const struct ns_addr *ra = inbound ? &f->src : &f->dst;
    uint16_t lport = inbound ? f->dport : f->sport;
    uint16_t rport = inbound ? f->sport : f->dport;
    return ns_ts_list_match(remote, n_remote, ra, f->proto, rport, f->ports_known) &&
           ns_ts_list_match(local, n_local, la, f->proto, lport, f->ports_known);
}
