/* UDP generic segmentation offload on the outer socket (issue 8): runs of
 * equal-size ESP-in-UDP datagrams to one peer (what a TSO-segmented TCP
 * super-packet becomes) leave in one message with a UDP_SEGMENT control
 * message, so the kernel walks its stack (routing, netfilter, NAT, veth,
 * bridge) once per run instead of once per datagram, and cuts it at the
 * device or at the last moment in software. The datagrams on the wire are
 * the same as without it. */
#ifndef NATSEC_NET_UDPGSO_H
#define NATSEC_NET_UDPGSO_H

#include <stdbool.h>
#include <stdint.h>

#include "net/dgram.h"

/* The kernel's limits: UDP_MAX_SEGMENTS (64 before 6.x raised it) and an
 * IP packet of at most 64 KB for the whole run. */
#define NS_UDP_GSO_MAX_SEGS 64
#define NS_UDP_GSO_MAX_BYTES 65000

/* How many of d[0..n) (n >= 1) one UDP_SEGMENT send can carry, from d[0]:
 * consecutive datagrams with d[0]'s peer and local address, each exactly
 * d[0].len bytes but the last, which may be shorter (it ends the run), at
 * most NS_UDP_GSO_MAX_SEGS of them and NS_UDP_GSO_MAX_BYTES in all. At
 * least 1; 1 means "send it alone". */
unsigned ns_udp_gso_run(const struct ns_dgram *d, unsigned n);

/* Sends d[0..n) from UDP socket fd of this family like ns_sockio_send, with
 * runs (ns_udp_gso_run) of two or more as one message each with
 * UDP_SEGMENT = d[first].len, all in one sendmmsg per batch. When the
 * kernel refuses a run it goes out datagram by datagram; after
 * NS_UDP_GSO_GIVE_UP refusals in a row *gso is turned off (a kernel or
 * path without UDP GSO) and the caller sends without it from then on.
 * Returns how many datagrams were consumed (as ns_sockio_send), -1 when
 * the socket is unusable. */
#define NS_UDP_GSO_GIVE_UP 8
int ns_udp_gso_send(int fd, int family, const struct ns_dgram *d, unsigned n, const char *what,
                    uint64_t *errors, bool *gso, unsigned *refusals);

/* Whether the kernel knows UDP_SEGMENT (set to 0 on fd, which changes
 * nothing for ordinary sends). */
bool ns_udp_gso_probe(int fd);

#endif
