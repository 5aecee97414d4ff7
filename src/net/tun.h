/* The TUN device: plaintext IP packets between the host's stack and
 * natsecd (IFF_TUN | IFF_NO_PI: every read or write is one IPv4 or IPv6
 * packet). Its MTU, addresses and routes are set with net/ifconf.h.
 *
 * The device is opened with IFF_VNET_HDR when the kernel allows it: every
 * packet then travels behind a virtio-net header (net/gso.h), which
 * ns_tun_read and ns_tun_write add and strip, so their callers still see
 * bare packets. ns_tun_offload turns on checksum and TCP segmentation
 * offload: reads may then return TCP super-packets of up to 64 KB, which
 * only ns_tun_read_vnet returns (with their header, for net/gso.h). */
#ifndef NATSEC_NET_TUN_H
#define NATSEC_NET_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/dgram.h"

struct ns_tun {
    int fd; /* non-blocking; -1 when closed */
    char name[IF_NAMESIZE];
    int ifindex;
    uint64_t write_errors; /* packets the kernel refused */
    bool vnet;             /* IFF_VNET_HDR: a header before every packet */
    bool offload;          /* TUNSETOFFLOAD checksum + TSO4/6 accepted */
    bool uso_write;        /* the kernel takes UDP_L4 super-packets (net/tun_uso.h) */
};

/* Creates (or attaches to) the TUN device name ("" lets the kernel pick
 * tunN). multi_queue opens one queue of an IFF_MULTI_QUEUE device, for one
 * queue per worker thread later; every queue must agree on it. The device
 * exists while a queue is open and goes away, with its addresses and
 * routes, when the last one closes. Returns 0, or -1 (logged). */
int ns_tun_open(struct ns_tun *t, const char *name, bool multi_queue);
void ns_tun_close(struct ns_tun *t);

/* Reads up to n packets (one read each) into d[i].data (d[i].cap bytes,
 * which must exceed the MTU: a read that fills cap is marked truncated).
 * Returns the count (0 when none waits), or -1 (logged). */
int ns_tun_read(struct ns_tun *t, struct ns_dgram *d, unsigned n);
/* Writes d[0..n) (data, len). A packet the kernel refuses is dropped and
 * counted. Returns how many were consumed; fewer than n when the device
 * queue is full; -1 when the device is unusable (logged). */
int ns_tun_write(struct ns_tun *t, const struct ns_dgram *d, unsigned n);

struct ns_vnet_hdr;
/* Asks for checksum offload and TCP segmentation (TSO4, TSO6). 0, or -1
 * when the device has no virtio header or the kernel refuses (the device
 * then stays without offloads and every packet goes singly). Also sets
 * uso_write when the kernel knows UDP segmentation offload (TUN_F_USO4,
 * Linux 6.2), whose writes then may carry UDP super-packets; reads are
 * left without it (no UDP super-packet is ever read). */
int ns_tun_offload(struct ns_tun *t);
/* One read into buf (cap bytes, at least 65535 + room to be sure nothing
 * is cut) with its header in *h (all zero on a device without one).
 * Returns the packet length, 0 when none waits, -1 on an error (logged). A
 * read that fills cap is returned as cap: the caller drops it. */
int ns_tun_read_vnet(struct ns_tun *t, uint8_t *buf, size_t cap, struct ns_vnet_hdr *h);
/* The same as one ns_tun_read_vnet, laid out for the common case of a
 * packet that fits a slot: the header is read into the NS_VNET_HDR_LEN
 * bytes before data (which the caller must own: the ESP head room), the
 * packet into data (cap bytes) and only what exceeds cap (a TCP
 * super-packet) into big + cap (big_cap > cap bytes in all); copying
 * data's first cap bytes to big then makes the whole packet contiguous at
 * big. One system call and no copy for a packet of at most cap bytes.
 * Returns the packet length (>= big_cap: cut, drop it), 0 when none waits,
 * -1 on an error (logged). */
int ns_tun_read_split(struct ns_tun *t, uint8_t *data, size_t cap, uint8_t *big, size_t big_cap,
                      struct ns_vnet_hdr *h);
/* One write of data (len bytes) behind header h (a device with offloads:
 * e.g. a coalesced TCP super-packet). Returns 1 when written or refused
 * (counted), 0 when the queue is full, -1 when the device is unusable. */
int ns_tun_write_vnet(struct ns_tun *t, const struct ns_vnet_hdr *h, const uint8_t *data,
                      size_t len);

#endif
