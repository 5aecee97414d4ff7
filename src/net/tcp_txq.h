/* A TCP connection's bounded send queue (RFC 8229 frames on their way
 * out), and the one system call that writes a batch of frames.
 *
 * Frames go straight to the socket with one sendmsg per batch; only what
 * the socket did not take is queued, and the queue is written out first
 * the next time. A frame is whole or absent: the rest of one the socket
 * took in part is always queued (the queue keeps room for one), while a
 * new frame that does not fit below the queue's limit is dropped and
 * counted. Dropping inner packets is what a full link does to UDP too;
 * queuing them without end would only add delay (head-of-line blocking)
 * for every flow in the tunnel. */
#ifndef NATSEC_NET_TCP_TXQ_H
#define NATSEC_NET_TCP_TXQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net/tcp_stream.h"

struct ns_tcp_txq {
    uint8_t *buf;
    size_t cap;          /* limit + one whole frame */
    size_t limit;        /* new frames are accepted while the queue is below this */
    size_t off, len;     /* queued bytes: buf[off..off+len) */
    uint64_t dropped;    /* frames dropped for want of room */
    uint64_t frames_out; /* frames written or queued */
    uint64_t bytes_out;  /* bytes the socket took */
};

/* limit: bytes of whole frames that may wait. Returns 0 or -1 (memory). */
int ns_tcp_txq_init(struct ns_tcp_txq *q, size_t limit);
void ns_tcp_txq_free(struct ns_tcp_txq *q);
bool ns_tcp_txq_empty(const struct ns_tcp_txq *q);

/* One frame of a batch: its header (ns_tcp_frame_header) and body. */
struct ns_tcp_out {
    uint8_t hdr[NS_TCP_IKE_HDR];
    size_t hdr_len;
    const uint8_t *body;
    size_t body_len;
};

/* Writes what is queued, then the n frames, with one sendmsg (two when
 * the queue wraps); queues what the socket did not take, drops whole
 * frames that do not fit; fd < 0 (a connection still being made) only
 * queues. Returns 0 (all written or queued; dropped
 * frames counted), 1 when bytes wait in the queue (watch for EPOLLOUT),
 * or -1 when the connection failed (errno). */
int ns_tcp_txq_send(struct ns_tcp_txq *q, int fd, const struct ns_tcp_out *f, unsigned n);
/* Writes what is queued: as ns_tcp_txq_send with no new frame. */
int ns_tcp_txq_flush(struct ns_tcp_txq *q, int fd);

#endif
