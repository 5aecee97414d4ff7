/* TUN offloads (IFF_VNET_HDR): the virtio-net header the kernel puts in
 * front of every TUN packet once offloads are on, and the segmentation of
 * the TCP super-packets (TSO, up to 64 KB) it then hands us into packets
 * no larger than the MTU it was cut for (gso_size), each with correct IP
 * and TCP headers and checksums, so each can be encrypted on its own.
 *
 * The header is kernel input: every field is checked against the packet
 * before it is used, and a packet that does not add up is refused. */
#ifndef NATSEC_NET_GSO_H
#define NATSEC_NET_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr: 10 bytes, host byte order (legacy TUN). */
#define NS_VNET_HDR_LEN 10

struct ns_vnet_hdr {
    uint8_t flags;    /* VIRTIO_NET_HDR_F_NEEDS_CSUM, _DATA_VALID */
    uint8_t gso_type; /* VIRTIO_NET_HDR_GSO_NONE, _TCPV4, _TCPV6 (| _ECN) */
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
};

void ns_vnet_hdr_parse(const uint8_t raw[NS_VNET_HDR_LEN], struct ns_vnet_hdr *h);
void ns_vnet_hdr_write(const struct ns_vnet_hdr *h, uint8_t raw[NS_VNET_HDR_LEN]);

/* Walks the segments of one packet read from TUN with its header. */
struct ns_gso_iter {
    const uint8_t *pkt;
    size_t len;
    bool v6;
    bool tso;        /* TCP segmentation; else one packet, checksum done */
    bool csum;       /* single packet: complete the partial checksum */
    size_t l4;       /* TCP header offset (tso) / csum_start (csum) */
    size_t hlen;     /* IP + TCP headers (tso) */
    size_t mss;      /* payload per segment (tso) */
    size_t csum_off; /* csum_start + csum_offset (csum) */
    size_t off;      /* payload consumed so far */
    unsigned index;  /* segments produced so far */
};

/* Checks h against pkt (len bytes, the IP packet after the header).
 * Returns 0, or -1 when the packet cannot be what the header says (not
 * IPv4/IPv6, lengths or offsets outside it, an unknown GSO type, a GSO
 * packet that is not TCP). pkt must stay unchanged while iterating. */
int ns_gso_init(struct ns_gso_iter *it, const struct ns_vnet_hdr *h, const uint8_t *pkt,
                size_t len);
/* Writes the next segment, a complete IP packet with valid checksums, to
 * out (cap bytes). Returns its length, 0 when there are no more, -1 when
 * it does not fit in cap (the rest is abandoned). */
int ns_gso_next(struct ns_gso_iter *it, uint8_t *out, size_t cap);

/* A packet that is not a super-packet (no GSO type), made ready in place:
 * the partial checksum completed when the header asks for it (the same
 * packet ns_gso_init + one ns_gso_next would copy out). 0, or -1 when the
 * header does not fit the packet or asks for segmentation. */
int ns_gso_single(const struct ns_vnet_hdr *h, uint8_t *pkt, size_t len);

/* Segments still to come (a bound for the caller's batch). */
unsigned ns_gso_left(const struct ns_gso_iter *it);

/* Coalescing (GRO) for writes to TUN: consecutive in-order TCP segments of
 * one flow, each with a verified checksum, become one super-packet written
 * with a GSO header, so the kernel walks its stack once for all of them
 * (and forwards them as one through a TSO-capable link). Only segments the
 * kernel would itself merge are taken: same IP and TCP headers but for
 * lengths, IPv4 ID (+1 each), sequence number (contiguous) and checksums;
 * ACK with at most PSH (which ends the super-packet); every segment but the
 * last exactly as long as the first. */
struct ns_gro {
    uint8_t *buf; /* the super-packet being built */
    size_t cap;
    size_t len;
    size_t l4, hlen, mss;
    unsigned segs;
    bool v6, closed;
    uint32_t next_seq;
    uint16_t next_id;
};

/* Starts g in buf (cap bytes) with pkt. Returns false when pkt is not a
 * segment that may be merged (the caller writes it alone); g is then
 * unusable until the next successful start. */
bool ns_gro_start(struct ns_gro *g, uint8_t *buf, size_t cap, const uint8_t *pkt, size_t len);
/* Appends pkt when it continues g's flow; false (g unchanged) when not. */
bool ns_gro_append(struct ns_gro *g, const uint8_t *pkt, size_t len);
/* Fixes the lengths and checksums of the super-packet (the TCP field holds
 * the pseudo-header sum for the kernel to finish) and fills h for the
 * write; a single segment goes out unchanged with an all-zero h. Returns
 * the length at g->buf. */
size_t ns_gro_finish(struct ns_gro *g, struct ns_vnet_hdr *h);

#endif
