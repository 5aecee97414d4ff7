/* IKEv2 header and generic payload chain (RFC 7296 3.1, 3.2). Every read
 * goes through ns_reader, so no length the peer sends can move a read past
 * the datagram; the parsed payloads are views into the caller's buffer. */
#include "ike/msg.h"

const char *ns_ike_strerror(int err)
{
    switch (err) {
    case NS_IKE_OK:
        return "ok";
    case NS_IKE_ETRUNC:
        return "truncated: a length runs past its enclosing data";
    case NS_IKE_ELENGTH:
        return "impossible or inconsistent length";
    case NS_IKE_EVERSION:
        return "unsupported major version";
    case NS_IKE_ETOOMANY:
        return "too many payloads or substructures";
    case NS_IKE_ECRITICAL:
        return "unsupported critical payload";
    case NS_IKE_ESYNTAX:
        return "invalid syntax";
    case NS_IKE_EAUTH:
        return "integrity check failed";
    case NS_IKE_ENOSPACE:
        return "output buffer too small";
    case NS_IKE_ECRYPTO:
        return "cipher failure";
    default:
        return "unknown error";
    }
}

int ns_ike_parse_header(const uint8_t *msg, size_t len, struct ns_ike_header *h)
{
    struct ns_reader r;
    ns_reader_init(&r, msg, len);
    h->spi_i = ns_read_u64(&r);
    h->spi_r = ns_read_u64(&r);
    h->next_payload = ns_read_u8(&r);
    h->version = ns_read_u8(&r);
    h->exchange = ns_read_u8(&r);
    h->flags = ns_read_u8(&r);
    h->msg_id = ns_read_u32(&r);
    h->length = ns_read_u32(&r);
    if (!ns_reader_ok(&r))
        return NS_IKE_ETRUNC;
    /* Version before length: a future major version may lay out the rest
     * differently, and the answer to it is INVALID_MAJOR_VERSION (2.5). */
    if ((h->version >> 4) != (NS_IKE_VERSION >> 4))
        return NS_IKE_EVERSION;
    if (h->length < NS_IKE_HEADER_LEN)
        return NS_IKE_ELENGTH;
    if (h->length > len)
        return NS_IKE_ETRUNC;
    if (h->length < len)
        return NS_IKE_ELENGTH;
    return NS_IKE_OK;
}

/* The payload types natsec has a meaning for (wire.h). Anything else is
 * "not understood" in the sense of 3.2 and its critical bit decides. */
static bool known_type(uint8_t type)
{
    return (type >= NS_PL_SA && type <= NS_PL_EAP) || type == NS_PL_SKF;
}

int ns_ike_parse_chain(uint8_t first, const uint8_t *data, size_t len, struct ns_ike_payloads *out)
{
    struct ns_reader r;
    ns_reader_init(&r, data, len);
    out->n = 0;
    out->unsupported_critical = 0;
    uint8_t type = first;
    int critical_err = NS_IKE_OK;

    while (type != NS_PL_NONE) {
        if (ns_reader_left(&r) < 4)
            return NS_IKE_ETRUNC;
        uint8_t next = ns_read_u8(&r);
        bool critical = (ns_read_u8(&r) & 0x80) != 0; /* the other 7 bits are reserved: ignored */
        uint16_t plen = ns_read_u16(&r);
        if (plen < 4)
            return NS_IKE_ELENGTH;
        if (plen - 4u > ns_reader_left(&r))
            return NS_IKE_ETRUNC;
        const uint8_t *body = ns_read_bytes(&r, plen - 4u);
        bool encrypted = (type == NS_PL_SK || type == NS_PL_SKF);

        if (known_type(type)) {
            if (out->n >= NS_IKE_MAX_PAYLOADS)
                return NS_IKE_ETOOMANY;
            struct ns_ike_payload *p = &out->p[out->n++];
            p->type = type;
            p->critical = critical;
            p->next_payload = next;
            p->body = body;
            p->body_len = (uint16_t)(plen - 4u);
        } else if (critical) {
            if (!out->unsupported_critical)
                out->unsupported_critical = type;
            critical_err = NS_IKE_ECRITICAL;
        }

        if (encrypted) {
            /* 3.14: the Encrypted payload is the last; its Next Payload is
             * the first inner payload, so the outer chain stops here. */
            if (ns_reader_left(&r) != 0)
                return NS_IKE_ESYNTAX;
            return critical_err;
        }
        type = next;
    }
    /* The chain said "no next payload": anything left is not IKE. */
    if (ns_reader_left(&r) != 0)
        return NS_IKE_ELENGTH;
    return critical_err;
}

int ns_ike_parse_message(const uint8_t *msg, size_t len, struct ns_ike_header *h,
                         struct ns_ike_payloads *out)
{
    out->n = 0;
    out->unsupported_critical = 0;
    int err = ns_ike_parse_header(msg, len, h);
    if (err)
        return err;
    return ns_ike_parse_chain(h->next_payload, msg + NS_IKE_HEADER_LEN, len - NS_IKE_HEADER_LEN,
                              out);
}

const struct ns_ike_payload *ns_ike_find(const struct ns_ike_payloads *pl, uint8_t type)
{
    for (unsigned i = 0; i < pl->n && i < NS_IKE_MAX_PAYLOADS; i++)
        if (pl->p[i].type == type)
            return &pl->p[i];
    return NULL;
}

const struct ns_ike_payload *ns_ike_find_notify(const struct ns_ike_payloads *pl, uint16_t type)
{
    for (unsigned i = 0; i < pl->n && i < NS_IKE_MAX_PAYLOADS; i++) {
        /* Only a well-formed Notify (its SPI within it) is a match: a
         * malformed one is no notify of any type. */
        struct ns_ike_notify n;
        if (pl->p[i].type == NS_PL_NOTIFY && ns_ike_parse_notify(&pl->p[i], &n) == NS_IKE_OK &&
            n.type == type)
            return &pl->p[i];
    }
    return NULL;
}

uint16_t ns_ike_first_error_notify(const struct ns_ike_payloads *pl, struct ns_ike_notify *out)
{
    for (unsigned i = 0; i < pl->n && i < NS_IKE_MAX_PAYLOADS; i++) {
        struct ns_ike_notify n;
        if (pl->p[i].type == NS_PL_NOTIFY && ns_ike_parse_notify(&pl->p[i], &n) == NS_IKE_OK &&
            ns_ike_notify_is_error(n.type)) {
            if (out)
                *out = n;
            return n.type;
        }
    }
    return 0;
}
