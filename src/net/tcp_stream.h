/* The byte stream of IKE and ESP over TCP (RFC 8229 3, RFC 9329 3).
 *
 * The initiator opens each connection with the 6-byte prefix "IKETCP",
 * then both sides send frames:
 *
 *   Length (2 bytes, counting itself) | 4 zero bytes (non-ESP marker) | IKE message
 *   Length (2 bytes, counting itself) | ESP packet (a non-zero SPI first)
 *
 * A receiver keeps one buffer per connection (struct ns_tcp_rx): bytes are
 * read into its free room and whole frames are taken out of it, parsed
 * through the bounds-checked reader (util/buf.h). The buffer bounds what
 * a connection may hold: a frame longer than max_frame (which the caller
 * keeps small until the peer has proved itself) is an error, as are a
 * wrong prefix, a length too short for a marker or an SPI, a marker with
 * nothing behind it, and an ESP packet shorter than SPI and sequence
 * number. Every error is latched: the caller closes the connection. */
#ifndef NATSEC_NET_TCP_STREAM_H
#define NATSEC_NET_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_TCP_PREFIX_LEN 6
extern const uint8_t ns_tcp_prefix[NS_TCP_PREFIX_LEN]; /* "IKETCP" */
#define NS_TCP_LEN_FIELD 2
#define NS_TCP_MARKER_LEN 4
/* The largest frame the 16-bit length can describe, length field included. */
#define NS_TCP_FRAME_MAX 65535
/* ESP's SPI and sequence number: the least an ESP frame carries. */
#define NS_TCP_ESP_MIN 8
/* The header in front of an IKE message (length and marker). */
#define NS_TCP_IKE_HDR (NS_TCP_LEN_FIELD + NS_TCP_MARKER_LEN)

enum ns_tcp_kind {
    NS_TCP_NEED_MORE = 0, /* no whole frame buffered yet */
    NS_TCP_IKE,           /* data: the IKE message after the marker */
    NS_TCP_ESP,           /* data: the ESP packet, SPI first */
    NS_TCP_BAD_PREFIX,    /* the stream did not start with "IKETCP" */
    NS_TCP_BAD_LENGTH,    /* a length below the least frame, or above max_frame */
    NS_TCP_BAD_FRAME,     /* a marker without a message, ESP shorter than 8 bytes */
};
const char *ns_tcp_kind_name(enum ns_tcp_kind k);

struct ns_tcp_frame {
    enum ns_tcp_kind kind;
    uint8_t *data; /* inside the receive buffer, writable, valid until ns_tcp_rx_room */
    size_t len;
};

struct ns_tcp_rx {
    uint8_t *buf;
    size_t cap;
    size_t head, tail;      /* the unread bytes are buf[head..tail) */
    size_t prefix_seen;     /* bytes of the prefix matched so far */
    bool want_prefix;       /* the responder's side: the stream starts with "IKETCP" */
    size_t max_frame;       /* the longest frame accepted, length field included */
    enum ns_tcp_kind error; /* latched: NS_TCP_NEED_MORE while none */
};

/* buf (cap bytes) is the connection's; max_frame is clipped to cap and
 * to NS_TCP_FRAME_MAX. */
void ns_tcp_rx_init(struct ns_tcp_rx *rx, uint8_t *buf, size_t cap, bool want_prefix,
                    size_t max_frame);
/* Moves the unread bytes into a new buffer (a connection that proved
 * itself gets a larger one) and sets the new max_frame. Returns false
 * (nothing changes) when they do not fit. */
bool ns_tcp_rx_rebuffer(struct ns_tcp_rx *rx, uint8_t *buf, size_t cap, size_t max_frame);
/* Where the next read goes and how much fits there (0 only while a frame
 * longer than the free room is incomplete, which max_frame <= cap rules
 * out). Moves the unread bytes to the front first, so frames handed out
 * before are no longer valid. */
uint8_t *ns_tcp_rx_room(struct ns_tcp_rx *rx, size_t *room);
/* n bytes were read into the room. */
void ns_tcp_rx_commit(struct ns_tcp_rx *rx, size_t n);
/* The next whole frame, NS_TCP_NEED_MORE, or an error (latched: every
 * later call returns it). */
enum ns_tcp_kind ns_tcp_rx_next(struct ns_tcp_rx *rx, struct ns_tcp_frame *f);
/* Bytes buffered and not yet handed out. */
size_t ns_tcp_rx_pending(const struct ns_tcp_rx *rx);

/* Writes the header for a body of body_len bytes: the length field, and
 * for IKE the marker. Returns the header's length (2, or 6 for IKE), or 0
 * when the frame would be longer than NS_TCP_FRAME_MAX or an IKE body is
 * empty. */
size_t ns_tcp_frame_header(uint8_t hdr[NS_TCP_IKE_HDR], size_t body_len, bool ike);

#endif
