/* UDP segmentation offload for writes to TUN (USO): consecutive
 * UDP datagrams of one flow that the gateway (or client) decapsulated in
 * one batch become one super-datagram written with a virtio header of GSO
 * type UDP_L4, so the kernel walks its stack (routing, netfilter,
 * forwarding, veth) once for all of them and cuts them back into the same
 * datagrams only where it must: at a device without USO or at the
 * receiving socket. For small packets (a 64-byte UDP flood, VoIP, games)
 * this replaces one TUN write system call and one stack traversal per
 * packet by one per run.
 *
 * Only datagrams the kernel's own segmentation reproduces exactly are
 * merged: same IP header but for total length, IPv4 ID (+1 each) and
 * header checksum; same ports; a verified, non-zero UDP checksum (an
 * inner datagram with a wrong checksum must stay wrong, so it goes alone);
 * every payload exactly as long as the first but the last, which may be
 * shorter and ends the run. Needs a kernel that takes VIRTIO_NET_HDR_GSO_UDP_L4
 * on TUN writes (6.2 and later: net/tun.h says whether). */
#ifndef NATSEC_NET_TUN_USO_H
#define NATSEC_NET_TUN_USO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/gso.h"

/* virtio_net.h of Linux 6.2; Debian 12's headers predate it. */
#define NS_VIRTIO_NET_HDR_GSO_UDP_L4 5
/* The kernel's UDP_MAX_SEGMENTS before 6.x raised it. */
#define NS_USO_MAX_SEGS 64

struct ns_uso {
    uint8_t *buf; /* the super-datagram being built */
    size_t cap;
    size_t len;
    size_t l4;  /* UDP header offset */
    size_t seg; /* payload per datagram (gso_size) */
    unsigned segs;
    bool v6, closed;
    uint16_t next_id; /* IPv4 ID the next datagram must carry */
};

/* Starts u in buf (cap bytes) with pkt (len bytes, one IP packet). Returns
 * false when pkt is not a datagram that may be merged (the caller writes
 * it alone); u is then unusable until the next successful start. */
bool ns_uso_start(struct ns_uso *u, uint8_t *buf, size_t cap, const uint8_t *pkt, size_t len);
/* Appends pkt when it continues u's flow; false (u unchanged) when not. */
bool ns_uso_append(struct ns_uso *u, const uint8_t *pkt, size_t len);
/* Fixes the IP and UDP lengths and checksums of the super-datagram (the UDP
 * checksum field holds the pseudo-header sum for the kernel to finish per
 * datagram) and fills h; a single datagram is left unchanged with an
 * all-zero h. Returns the length at u->buf. */
size_t ns_uso_finish(struct ns_uso *u, struct ns_vnet_hdr *h);

#endif
