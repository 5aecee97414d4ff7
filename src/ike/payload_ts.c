/* Traffic Selector payload body (RFC 7296 3.13): a count, then selectors
 * that each carry their own length. The length must be the one the type
 * implies (16 for IPv4 ranges, 40 for IPv6): a selector whose declared
 * length disagrees with its type is an error, not something to guess at. */
#include "ike/msg.h"

#define TS_V4_LEN 16 /* type, protocol, length, 2 ports, 2 IPv4 addresses */
#define TS_V6_LEN 40 /* the same with 2 IPv6 addresses */

/* Fills one range from the selector's body (after type, protocol and
 * length); the reader is confined to the declared selector length. */
static void read_range(struct ns_reader *r, uint8_t family, size_t alen, struct ns_ts *ts)
{
    ts->port_lo = ns_read_u16(r);
    ts->port_hi = ns_read_u16(r);
    ts->lo.family = family;
    ts->hi.family = family;
    for (size_t i = 0; i < sizeof(ts->lo.a); i++)
        ts->lo.a[i] = ts->hi.a[i] = 0;
    ns_read_copy(r, ts->lo.a, alen);
    ns_read_copy(r, ts->hi.a, alen);
}

int ns_ike_parse_ts(const struct ns_ike_payload *p, struct ns_ike_ts_list *out)
{
    if (p->type != NS_PL_TSI && p->type != NS_PL_TSR)
        return NS_IKE_ESYNTAX;
    struct ns_reader r;
    ns_reader_init(&r, p->body, p->body_len);
    out->n = 0;
    out->n_skipped = 0;
    uint8_t count = ns_read_u8(&r);
    ns_read_skip(&r, 3); /* reserved */
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    if (count > NS_IKE_MAX_TS)
        return NS_IKE_ETOOMANY;

    for (unsigned i = 0; i < count; i++) {
        if (ns_reader_left(&r) == 0)
            return NS_IKE_ELENGTH; /* the count promises more than the length holds */
        if (ns_reader_left(&r) < 4)
            return NS_IKE_ETRUNC;
        uint8_t type = ns_read_u8(&r);
        uint8_t proto = ns_read_u8(&r);
        uint16_t slen = ns_read_u16(&r);
        if (slen < 8)
            return NS_IKE_ELENGTH;
        if (slen - 4u > ns_reader_left(&r))
            return NS_IKE_ETRUNC;
        struct ns_reader sel = ns_read_sub(&r, slen - 4u);
        if (type == NS_TS_IPV4_ADDR_RANGE || type == NS_TS_IPV6_ADDR_RANGE) {
            bool v4 = type == NS_TS_IPV4_ADDR_RANGE;
            if (slen != (v4 ? TS_V4_LEN : TS_V6_LEN))
                return NS_IKE_ELENGTH;
            struct ns_ts *ts = &out->ts[out->n++];
            ts->ip_proto = proto;
            read_range(&sel, v4 ? AF_INET : AF_INET6, v4 ? 4 : 16, ts);
        } else {
            out->n_skipped++;
        }
    }
    if (ns_reader_left(&r) != 0)
        return NS_IKE_ELENGTH; /* bytes beyond the counted selectors */
    return NS_IKE_OK;
}
