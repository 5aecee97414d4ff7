/* Building IKEv2 messages (RFC 7296 3.1, 3.2) into a caller buffer. The
 * builder remembers where the last "Next Payload" field is and fills it in
 * when the following payload is opened, and patches each length when its
 * payload is closed, so callers only add payloads in order. Errors latch
 * (like ns_writer's) and come out of ns_ike_build_finish. */
#include "ike/msg.h"

#define GENERIC_HDR_LEN 4
#define PAYLOAD_MAX 65535 /* the generic header's 16-bit length */

static void fail(struct ns_ike_builder *b, int err)
{
    if (!b->err)
        b->err = err;
}

void ns_ike_build_begin(struct ns_ike_builder *b, uint8_t *buf, size_t cap,
                        const struct ns_ike_header *h)
{
    ns_writer_init(&b->w, buf, cap);
    b->np_off = NS_IKE_HDR_NEXT_PAYLOAD_OFF;
    b->pl_start = 0;
    b->sk_start = 0;
    b->sk_body = 0;
    b->err = 0;
    b->open = false;
    b->sealed = false;
    ns_write_u64(&b->w, h->spi_i);
    ns_write_u64(&b->w, h->spi_r);
    ns_write_u8(&b->w, NS_PL_NONE);
    ns_write_u8(&b->w, h->version ? h->version : NS_IKE_VERSION);
    ns_write_u8(&b->w, h->exchange);
    ns_write_u8(&b->w, h->flags);
    ns_write_u32(&b->w, h->msg_id);
    ns_write_u32(&b->w, 0); /* length: patched by finish (or by sk_seal) */
}

void ns_ike_build_open(struct ns_ike_builder *b, uint8_t type, bool critical)
{
    if (b->open || b->sealed) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    /* Open even when the writer is full, so that the matching close is not
     * mistaken for a misuse: running out of space reports ENOSPACE. */
    b->open = true;
    size_t start = ns_writer_len(&b->w);
    ns_write_u8(&b->w, NS_PL_NONE);
    ns_write_u8(&b->w, critical ? 0x80 : 0);
    ns_write_u16(&b->w, 0); /* length: patched by close */
    if (!ns_writer_ok(&b->w))
        return;
    /* The previous Next Payload byte is followed by a byte already written
     * (the critical flag, or the header's version): rewrite both as a u16
     * so the patch goes through the writer's bounds check. */
    uint8_t after = b->w.data[b->np_off + 1];
    ns_write_u16_at(&b->w, b->np_off, (uint16_t)(type << 8 | after));
    b->np_off = start;
    b->pl_start = start;
}

void ns_ike_build_close(struct ns_ike_builder *b)
{
    if (!b->open) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    b->open = false;
    if (!ns_writer_ok(&b->w))
        return;
    size_t len = ns_writer_len(&b->w) - b->pl_start;
    if (len > PAYLOAD_MAX) {
        fail(b, NS_IKE_ELENGTH);
        return;
    }
    ns_write_u16_at(&b->w, b->pl_start + 2, (uint16_t)len);
}

int ns_ike_build_finish(struct ns_ike_builder *b)
{
    if (b->err)
        return b->err;
    if (!ns_writer_ok(&b->w))
        return NS_IKE_ENOSPACE;
    if (b->open || (b->sk_start && !b->sealed))
        return NS_IKE_ESYNTAX; /* a payload or the SK payload left open */
    size_t len = ns_writer_len(&b->w);
    if (len > NS_IKE_MAX_MSG)
        return NS_IKE_ELENGTH;
    /* After sk_seal the length is already in place and covered by the
     * ICV; writing it again would write the same value. */
    if (!b->sealed)
        ns_write_u32_at(&b->w, NS_IKE_HDR_LENGTH_OFF, (uint32_t)len);
    return ns_writer_ok(&b->w) ? (int)len : NS_IKE_ENOSPACE;
}

/* ---- payloads that are a fixed part and data ---- */

/* Opens type, writes a fixed part of n bytes (fixed may hold fewer: the
 * rest is zero, i.e. RESERVED) and data, closes. */
static void add_simple(struct ns_ike_builder *b, uint8_t type, const uint8_t *fixed, size_t n,
                       const uint8_t *data, size_t len)
{
    ns_ike_build_open(b, type, false);
    ns_write_bytes(&b->w, fixed, n);
    if (len)
        ns_write_bytes(&b->w, data, len);
    ns_ike_build_close(b);
}

void ns_ike_add_ke(struct ns_ike_builder *b, uint16_t group, const uint8_t *data, size_t len)
{
    const uint8_t fixed[4] = {(uint8_t)(group >> 8), (uint8_t)group, 0, 0};
    add_simple(b, NS_PL_KE, fixed, sizeof(fixed), data, len);
}

void ns_ike_add_nonce(struct ns_ike_builder *b, const uint8_t *nonce, size_t len)
{
    add_simple(b, NS_PL_NONCE, NULL, 0, nonce, len);
}

void ns_ike_add_notify(struct ns_ike_builder *b, uint8_t protocol, const uint8_t *spi,
                       uint8_t spi_len, uint16_t type, const uint8_t *data, size_t len)
{
    ns_ike_build_open(b, NS_PL_NOTIFY, false);
    ns_write_u8(&b->w, protocol);
    ns_write_u8(&b->w, spi_len);
    ns_write_u16(&b->w, type);
    if (spi_len)
        ns_write_bytes(&b->w, spi, spi_len);
    if (len)
        ns_write_bytes(&b->w, data, len);
    ns_ike_build_close(b);
}

void ns_ike_add_id(struct ns_ike_builder *b, uint8_t payload_type, uint8_t id_type,
                   const uint8_t *data, size_t len)
{
    if (payload_type != NS_PL_IDI && payload_type != NS_PL_IDR) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    const uint8_t fixed[4] = {id_type, 0, 0, 0};
    add_simple(b, payload_type, fixed, sizeof(fixed), data, len);
}

void ns_ike_add_auth(struct ns_ike_builder *b, uint8_t method, const uint8_t *data, size_t len)
{
    const uint8_t fixed[4] = {method, 0, 0, 0};
    add_simple(b, NS_PL_AUTH, fixed, sizeof(fixed), data, len);
}

void ns_ike_add_vendor(struct ns_ike_builder *b, const uint8_t *data, size_t len)
{
    add_simple(b, NS_PL_VENDOR, NULL, 0, data, len);
}

void ns_ike_add_eap(struct ns_ike_builder *b, const uint8_t *data, size_t len)
{
    add_simple(b, NS_PL_EAP, NULL, 0, data, len);
}

void ns_ike_add_cert(struct ns_ike_builder *b, uint8_t payload_type, uint8_t encoding,
                     const uint8_t *data, size_t len)
{
    if (payload_type != NS_PL_CERT && payload_type != NS_PL_CERTREQ) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    const uint8_t fixed[1] = {encoding};
    add_simple(b, payload_type, fixed, sizeof(fixed), data, len);
}

void ns_ike_add_delete(struct ns_ike_builder *b, uint8_t protocol, uint8_t spi_len,
                       const uint8_t *spis, uint16_t n_spi)
{
    ns_ike_build_open(b, NS_PL_DELETE, false);
    ns_write_u8(&b->w, protocol);
    ns_write_u8(&b->w, spi_len);
    ns_write_u16(&b->w, n_spi);
    size_t n = (size_t)spi_len * n_spi;
    if (n)
        ns_write_bytes(&b->w, spis, n);
    ns_ike_build_close(b);
}
