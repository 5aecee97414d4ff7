/* Configuration payload body (RFC 7296 3.15): a type, then attributes of
 * type/length/value. A zero length is normal: a CFG_REQUEST asks for an
 * INTERNAL_IP4_ADDRESS by sending the attribute empty. */
#include "ike/msg.h"

#define CP_ATTR_RESERVED 0x8000 /* the R bit, ignored on receipt */

int ns_ike_parse_cp(const struct ns_ike_payload *p, struct ns_ike_cp *out)
{
    if (p->type != NS_PL_CP)
        return NS_IKE_ESYNTAX;
    struct ns_reader r;
    ns_reader_init(&r, p->body, p->body_len);
    out->n = 0;
    out->type = ns_read_u8(&r);
    ns_read_skip(&r, 3); /* reserved */
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    while (ns_reader_left(&r) > 0) {
        if (out->n >= NS_IKE_MAX_CP_ATTRS)
            return NS_IKE_ETOOMANY;
        if (ns_reader_left(&r) < 4)
            return NS_IKE_ETRUNC;
        struct ns_ike_cp_attr *a = &out->attr[out->n];
        a->type = ns_read_u16(&r) & (uint16_t)~CP_ATTR_RESERVED;
        a->len = ns_read_u16(&r);
        if (a->len > ns_reader_left(&r))
            return NS_IKE_ETRUNC;
        a->data = ns_read_bytes(&r, a->len);
        out->n++;
    }
    return NS_IKE_OK;
}

unsigned ns_ike_cp_ip6_prefix_len(const uint8_t *v)
{
    unsigned len = v[16];
    if (len == 0 || len >= 128)
        return 128;
    for (unsigned bit = len; bit < 128; bit++)
        if (v[bit / 8] & (0x80u >> (bit % 8)))
            return 128;
    return len;
}
