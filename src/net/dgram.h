/* One datagram or packet in a batch of socket I/O (UDP, raw ESP, TUN).
 * The caller owns the buffers; the batch functions only fill or read them,
 * so the data plane can recycle a fixed pool with no allocation per
 * packet. */
#ifndef NATSEC_NET_DGRAM_H
#define NATSEC_NET_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

/* Most messages one batch call moves; larger batches are split. */
#define NS_NET_BATCH_MAX 64

struct ns_dgram {
    uint8_t *data;
    size_t cap; /* receive: size of data */
    size_t len; /* receive: bytes received; send: bytes to send */
    /* Receive: where it came from. Send: where it goes (port 0 for raw
     * ESP). */
    struct ns_endpoint peer;
    /* Receive: the local address it was sent to (and the socket's port).
     * Send: the source address to use, so that a reply leaves from the
     * address the request arrived on; family 0 lets the kernel choose. */
    struct ns_endpoint local;
    int ifindex;    /* receive: the interface it arrived on */
    bool truncated; /* receive: longer than cap, the tail was lost: drop */
};

#endif
