/* Batches of packets to and from the TUN device with the device's
 * offloads (net/gso.h, net/tun_uso.h) inside, so the data path reads and
 * writes plain IP packets whatever the kernel takes:
 *
 *   read:  a TCP super-packet (tun_offload) comes back cut into
 *          MTU-sized packets, one per descriptor, the cut going on in the
 *          next batch when it fills this one;
 *   write: runs of TCP segments of one flow go to the kernel as one
 *          super-packet (ns_gro), runs of UDP datagrams of one flow as one
 *          UDP super-packet where the kernel takes it (uso_write); the
 *          rest one by one.
 *
 * Without offloads both are one system call per packet. Nothing is
 * allocated: the reader and the writer carry their big buffers, and each
 * thread that moves packets has its own. */
#ifndef NATSEC_NET_TUN_BATCH_H
#define NATSEC_NET_TUN_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "net/dgram.h"
#include "net/gso.h"
#include "net/tun.h"

/* The largest packet the device reads or takes: a super-packet. */
#define NS_TUN_SUPER_MAX 65536

struct ns_tun_reader {
    struct ns_gso_iter it;
    bool pending; /* it holds segments still to hand out */
    /* The tail of a super-packet, behind room for the part that was read
     * into a descriptor's buffer. */
    uint8_t super[NS_TUN_SUPER_MAX + 1024];
};

/* What one batch read did. */
struct ns_tun_got {
    unsigned read;      /* packets read (each segment of a super-packet) */
    unsigned truncated; /* of them: larger than the buffers, or not what the header says */
    bool more;          /* the device may hold more */
};

/* Fills d[0..n) (data and cap set by the caller; the NS_VNET_HDR_LEN bytes
 * before each data must be the caller's, for the virtio header) with
 * packets, first the rest of a pending super-packet; may_read false only
 * finishes that. Returns how many descriptors were filled; a filled one
 * marked truncated is to be dropped (counted in got). */
unsigned ns_tun_batch_read(struct ns_tun_reader *r, struct ns_tun *t, struct ns_dgram *d,
                           unsigned n, bool may_read, struct ns_tun_got *got);
/* A super-packet is being handed out: read again before waiting. */
bool ns_tun_reader_pending(const struct ns_tun_reader *r);

struct ns_tun_writer {
    uint8_t super[NS_TUN_SUPER_MAX]; /* where a run is merged */
};

/* What one batch write did. */
struct ns_tun_wrote {
    unsigned written;    /* packets the device took */
    unsigned blocked;    /* packets dropped because its queue was full */
    unsigned tcp_supers; /* TCP super-packets written */
    unsigned udp_supers; /* UDP super-packets written */
};

/* Writes d[0..n) (data, len) to t, merging runs in w. */
struct ns_tun_wrote ns_tun_batch_write(struct ns_tun_writer *w, struct ns_tun *t,
                                       const struct ns_dgram *d, unsigned n);

#endif
