/* Typed bodies of the small IKEv2 payloads: KE, Nonce, Notify, ID, AUTH,
 * Delete, CERT/CERTREQ (RFC 7296 3.4-3.11). Each reads a fixed part and
 * takes the rest as data; a body shorter than its fixed part is ELENGTH
 * (the generic length was impossible for the type). */
#include "ike/msg.h"

/* Reader over the body of p when p has one of the two expected types. */
static bool open_body(const struct ns_ike_payload *p, uint8_t t1, uint8_t t2, struct ns_reader *r)
{
    if (p->type != t1 && p->type != t2)
        return false;
    ns_reader_init(r, p->body, p->body_len);
    return true;
}

/* The unread rest of r as data (possibly empty). */
static void take_rest(struct ns_reader *r, const uint8_t **data, size_t *len)
{
    *len = ns_reader_left(r);
    *data = ns_read_bytes(r, *len);
}

int ns_ike_parse_ke(const struct ns_ike_payload *p, struct ns_ike_ke *out)
{
    struct ns_reader r;
    if (!open_body(p, NS_PL_KE, NS_PL_KE, &r))
        return NS_IKE_ESYNTAX;
    out->group = ns_read_u16(&r);
    ns_read_skip(&r, 2); /* reserved */
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    take_rest(&r, &out->data, &out->len);
    return NS_IKE_OK;
}

int ns_ike_parse_nonce(const struct ns_ike_payload *p, const uint8_t **nonce, size_t *len)
{
    if (p->type != NS_PL_NONCE)
        return NS_IKE_ESYNTAX;
    /* 3.9: at least 128 bits and at most 256 octets. */
    if (p->body_len < 16 || p->body_len > 256)
        return NS_IKE_ELENGTH;
    *nonce = p->body;
    *len = p->body_len;
    return NS_IKE_OK;
}

int ns_ike_parse_notify(const struct ns_ike_payload *p, struct ns_ike_notify *out)
{
    struct ns_reader r;
    if (!open_body(p, NS_PL_NOTIFY, NS_PL_NOTIFY, &r))
        return NS_IKE_ESYNTAX;
    out->protocol = ns_read_u8(&r);
    out->spi_len = ns_read_u8(&r);
    out->type = ns_read_u16(&r);
    out->spi = ns_read_bytes(&r, out->spi_len);
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    take_rest(&r, &out->data, &out->len);
    return NS_IKE_OK;
}

int ns_ike_parse_id(const struct ns_ike_payload *p, struct ns_ike_id *out)
{
    struct ns_reader r;
    if (!open_body(p, NS_PL_IDI, NS_PL_IDR, &r))
        return NS_IKE_ESYNTAX;
    out->rest = p->body;
    out->rest_len = p->body_len;
    out->type = ns_read_u8(&r);
    ns_read_skip(&r, 3); /* reserved */
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    take_rest(&r, &out->data, &out->len);
    /* Address identities have a fixed size (3.5); the others are strings
     * or opaque and only the engine can judge them. */
    if (out->type == NS_ID_IPV4_ADDR && out->len != 4)
        return NS_IKE_ELENGTH;
    if (out->type == NS_ID_IPV6_ADDR && out->len != 16)
        return NS_IKE_ELENGTH;
    return NS_IKE_OK;
}

int ns_ike_parse_auth(const struct ns_ike_payload *p, struct ns_ike_auth *out)
{
    struct ns_reader r;
    if (!open_body(p, NS_PL_AUTH, NS_PL_AUTH, &r))
        return NS_IKE_ESYNTAX;
    out->method = ns_read_u8(&r);
    ns_read_skip(&r, 3); /* reserved */
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    take_rest(&r, &out->data, &out->len);
    return NS_IKE_OK;
}

int ns_ike_parse_delete(const struct ns_ike_payload *p, struct ns_ike_delete *out)
{
    struct ns_reader r;
    if (!open_body(p, NS_PL_DELETE, NS_PL_DELETE, &r))
        return NS_IKE_ESYNTAX;
    out->protocol = ns_read_u8(&r);
    out->spi_len = ns_read_u8(&r);
    out->n_spi = ns_read_u16(&r);
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    /* An SPI count without SPI bytes to go with it is meaningless (3.11:
     * deleting the IKE SA has SPI size 0 and count 0). */
    if (out->spi_len == 0 && out->n_spi != 0)
        return NS_IKE_ESYNTAX;
    /* At most 255 * 65535: no overflow in size_t. */
    size_t need = (size_t)out->spi_len * out->n_spi;
    if (ns_reader_left(&r) != need)
        return NS_IKE_ELENGTH;
    out->spis = ns_read_bytes(&r, need);
    return NS_IKE_OK;
}

int ns_ike_parse_cert(const struct ns_ike_payload *p, struct ns_ike_cert *out)
{
    struct ns_reader r;
    if (!open_body(p, NS_PL_CERT, NS_PL_CERTREQ, &r))
        return NS_IKE_ESYNTAX;
    out->encoding = ns_read_u8(&r);
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    take_rest(&r, &out->data, &out->len);
    return NS_IKE_OK;
}
