#include "net/tcp_stream.h"

#include <string.h>

#include "util/buf.h"

const uint8_t ns_tcp_prefix[NS_TCP_PREFIX_LEN] = {'I', 'K', 'E', 'T', 'C', 'P'};

/* The least frame: a length field and either a marker with at least one
 * byte behind it or an ESP packet's SPI and sequence number. */
#define LEAST_FRAME (NS_TCP_LEN_FIELD + NS_TCP_MARKER_LEN + 1)

const char *ns_tcp_kind_name(enum ns_tcp_kind k)
{
    switch (k) {
    case NS_TCP_NEED_MORE:
        return "need-more";
    case NS_TCP_IKE:
        return "ike";
    case NS_TCP_ESP:
        return "esp";
    case NS_TCP_BAD_PREFIX:
        return "bad-prefix";
    case NS_TCP_BAD_LENGTH:
        return "bad-length";
    case NS_TCP_BAD_FRAME:
        return "bad-frame";
    }
    return "unknown";
}

static size_t clip_max(size_t cap, size_t max_frame)
{
    if (max_frame > cap)
        max_frame = cap;
    return max_frame > NS_TCP_FRAME_MAX ? NS_TCP_FRAME_MAX : max_frame;
}

void ns_tcp_rx_init(struct ns_tcp_rx *rx, uint8_t *buf, size_t cap, bool want_prefix,
                    size_t max_frame)
{
    memset(rx, 0, sizeof(*rx));
    rx->buf = buf;
    rx->cap = cap;
    rx->want_prefix = want_prefix;
    rx->max_frame = clip_max(cap, max_frame);
}

bool ns_tcp_rx_rebuffer(struct ns_tcp_rx *rx, uint8_t *buf, size_t cap, size_t max_frame)
{
    size_t n = rx->tail - rx->head;
    if (n > cap)
        return false;
    memmove(buf, rx->buf + rx->head, n);
    rx->buf = buf;
    rx->cap = cap;
    rx->head = 0;
    rx->tail = n;
    rx->max_frame = clip_max(cap, max_frame);
    return true;
}

uint8_t *ns_tcp_rx_room(struct ns_tcp_rx *rx, size_t *room)
{
    if (rx->head > 0) {
        memmove(rx->buf, rx->buf + rx->head, rx->tail - rx->head);
        rx->tail -= rx->head;
        rx->head = 0;
    }
    *room = rx->cap - rx->tail;
    return rx->buf + rx->tail;
}

void ns_tcp_rx_commit(struct ns_tcp_rx *rx, size_t n)
{
    size_t room = rx->cap - rx->tail;
    rx->tail += n < room ? n : room;
}

size_t ns_tcp_rx_pending(const struct ns_tcp_rx *rx)
{
    return rx->tail - rx->head;
}

static enum ns_tcp_kind fail(struct ns_tcp_rx *rx, struct ns_tcp_frame *f, enum ns_tcp_kind k)
{
    rx->error = k;
    f->kind = k;
    return k;
}

/* Matches what has arrived of the prefix, byte by byte (it may come one
 * byte a segment). NS_TCP_IKE stands for "matched whole". */
static enum ns_tcp_kind take_prefix(struct ns_tcp_rx *rx)
{
    while (rx->prefix_seen < NS_TCP_PREFIX_LEN && rx->head < rx->tail) {
        if (rx->buf[rx->head] != ns_tcp_prefix[rx->prefix_seen])
            return NS_TCP_BAD_PREFIX;
        rx->head++;
        rx->prefix_seen++;
    }
    if (rx->prefix_seen < NS_TCP_PREFIX_LEN)
        return NS_TCP_NEED_MORE;
    rx->want_prefix = false;
    return NS_TCP_IKE;
}

enum ns_tcp_kind ns_tcp_rx_next(struct ns_tcp_rx *rx, struct ns_tcp_frame *f)
{
    f->kind = NS_TCP_NEED_MORE;
    f->data = NULL;
    f->len = 0;
    if (rx->error != NS_TCP_NEED_MORE)
        return fail(rx, f, rx->error);
    if (rx->want_prefix) {
        enum ns_tcp_kind k = take_prefix(rx);
        if (k == NS_TCP_BAD_PREFIX)
            return fail(rx, f, k);
        if (k == NS_TCP_NEED_MORE)
            return k;
    }
    struct ns_reader r;
    ns_reader_init(&r, rx->buf + rx->head, rx->tail - rx->head);
    uint16_t len = ns_read_u16(&r);
    if (!ns_reader_ok(&r))
        return NS_TCP_NEED_MORE;
    if (len < LEAST_FRAME || len > rx->max_frame)
        return fail(rx, f, NS_TCP_BAD_LENGTH);
    struct ns_reader body = ns_read_sub(&r, (size_t)len - NS_TCP_LEN_FIELD);
    if (!ns_reader_ok(&body))
        return NS_TCP_NEED_MORE;
    uint8_t *start = rx->buf + rx->head + NS_TCP_LEN_FIELD;
    uint32_t spi = ns_read_u32(&body);
    if (spi == 0) {
        f->kind = NS_TCP_IKE;
        f->data = start + NS_TCP_MARKER_LEN;
        f->len = ns_reader_left(&body);
    } else {
        if ((size_t)len - NS_TCP_LEN_FIELD < NS_TCP_ESP_MIN)
            return fail(rx, f, NS_TCP_BAD_FRAME);
        f->kind = NS_TCP_ESP;
        f->data = start;
        f->len = (size_t)len - NS_TCP_LEN_FIELD;
    }
    rx->head += len;
    return f->kind;
}

size_t ns_tcp_frame_header(uint8_t hdr[NS_TCP_IKE_HDR], size_t body_len, bool ike)
{
    size_t hlen = ike ? NS_TCP_IKE_HDR : NS_TCP_LEN_FIELD;
    if ((ike && body_len == 0) || body_len > NS_TCP_FRAME_MAX - hlen)
        return 0;
    struct ns_writer w;
    ns_writer_init(&w, hdr, NS_TCP_IKE_HDR);
    ns_write_u16(&w, (uint16_t)(body_len + hlen));
    if (ike)
        ns_write_zeros(&w, NS_TCP_MARKER_LEN);
    return ns_writer_ok(&w) ? hlen : 0;
}
