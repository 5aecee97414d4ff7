#include "natt/udp_demux.h"

#include <string.h>

#include "util/buf.h"

/* An ESP header is SPI and sequence number; a shorter datagram that does
 * not start with the marker cannot be ESP (RFC 3948 2.2). */
#define ESP_MIN_LEN 8
/* The smallest IKE header (RFC 7296 3.1) that can follow the marker;
 * shorter is left for the IKE parser to reject, but empty is not IKE. */
#define IKE_MIN_LEN 1

enum ns_natt_kind ns_natt_classify(const uint8_t *data, size_t len, const uint8_t **body,
                                   size_t *body_len)
{
    *body = NULL;
    *body_len = 0;
    struct ns_reader r;
    ns_reader_init(&r, data, len);
    if (len == NS_NATT_KEEPALIVE_LEN)
        return ns_read_u8(&r) == NS_NATT_KEEPALIVE_BYTE ? NS_NATT_KEEPALIVE : NS_NATT_INVALID;
    uint32_t first = ns_read_u32(&r);
    if (!ns_reader_ok(&r))
        return NS_NATT_INVALID;
    if (first == 0) {
        /* Non-ESP marker: SPI 0 is never a valid ESP SPI (RFC 4303 2.1). */
        if (ns_reader_left(&r) < IKE_MIN_LEN)
            return NS_NATT_INVALID;
        *body = ns_reader_pos(&r);
        *body_len = ns_reader_left(&r);
        return NS_NATT_IKE;
    }
    if (len < ESP_MIN_LEN)
        return NS_NATT_INVALID;
    *body = data;
    *body_len = len;
    return NS_NATT_ESP;
}

size_t ns_natt_keepalive(uint8_t *buf, size_t cap)
{
    if (cap < NS_NATT_KEEPALIVE_LEN)
        return 0;
    buf[0] = NS_NATT_KEEPALIVE_BYTE;
    return NS_NATT_KEEPALIVE_LEN;
}

uint8_t *ns_natt_add_marker(uint8_t *msg)
{
    memset(msg - NS_NATT_MARKER_LEN, 0, NS_NATT_MARKER_LEN);
    return msg - NS_NATT_MARKER_LEN;
}

const char *ns_natt_kind_name(enum ns_natt_kind k)
{
    switch (k) {
    case NS_NATT_KEEPALIVE:
        return "keepalive";
    case NS_NATT_IKE:
        return "ike";
    case NS_NATT_ESP:
        return "esp";
    default:
        return "invalid";
    }
}
