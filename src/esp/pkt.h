/* A packet in a caller-owned buffer with free space before and after it, so
 * that ESP can add its header and trailer (or strip them and put an IP header
 * back) in place: the data plane never copies or allocates per packet.
 *
 * Contract for the daemon: read every packet (from TUN, from the UDP 4500
 * socket, from the raw ESP socket) into buf + NS_PKT_HEADROOM, at most
 * cap - NS_PKT_HEADROOM - NS_PKT_TAILROOM bytes, then set head and len. After
 * ns_esp_encap/decap the result is at buf + head, len bytes long. */
#ifndef NATSEC_ESP_PKT_H
#define NATSEC_ESP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room before the data: the ESP header and IV on output (8 + 16), an IPv6
 * header rebuilt in front of a transport-mode payload on input (40), and a
 * 2-byte RFC 8229 length prefix or 4-byte non-ESP marker for the caller. */
#define NS_PKT_HEADROOM 64
/* Room after the data: padding (up to 15), pad length and next header (2),
 * and the ICV (up to 32). */
#define NS_PKT_TAILROOM 64

struct ns_pkt {
    uint8_t *buf; /* start of the caller's buffer */
    size_t cap;   /* its size */
    size_t head;  /* offset of the first byte of the packet */
    size_t len;   /* bytes of packet */
};

/* Points pkt at buf with the standard headroom and no data yet. */
static inline void ns_pkt_init(struct ns_pkt *pkt, uint8_t *buf, size_t cap)
{
    pkt->buf = buf;
    pkt->cap = cap;
    pkt->head = cap < NS_PKT_HEADROOM ? cap : NS_PKT_HEADROOM;
    pkt->len = 0;
}

/* Whether head and len lie inside the buffer (checked by ESP before it
 * trusts the room computations). */
static inline bool ns_pkt_valid(const struct ns_pkt *pkt)
{
    return pkt->buf && pkt->head <= pkt->cap && pkt->len <= pkt->cap - pkt->head;
}

static inline uint8_t *ns_pkt_data(const struct ns_pkt *pkt)
{
    return pkt->buf + pkt->head;
}

static inline size_t ns_pkt_headroom(const struct ns_pkt *pkt)
{
    return pkt->head;
}

static inline size_t ns_pkt_tailroom(const struct ns_pkt *pkt)
{
    return pkt->cap - pkt->head - pkt->len;
}

/* The most data a receive may put at ns_pkt_data() so that ESP processing
 * still has its tail room. */
static inline size_t ns_pkt_max_data(const struct ns_pkt *pkt)
{
    size_t used = pkt->head + NS_PKT_TAILROOM;
    return pkt->cap > used ? pkt->cap - used : 0;
}

#endif
