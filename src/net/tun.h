/* The TUN device: plaintext IP packets between the host's stack and
 * natsecd (IFF_TUN | IFF_NO_PI: every read or write is one bare IPv4 or
 * IPv6 packet). Its MTU, addresses and routes are set with net/ifconf.h. */
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

#endif
