/* UDP generic segmentation offload on the outer socket: runs of
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

/* UDP GRO on receive: with UDP_GRO on, the kernel hands over a run of
 * datagrams of one flow (what a UDP_SEGMENT send made, or what GRO merged
 * on the way) as one message of up to 64 KB with their size in a UDP_GRO
 * control message; it walks the socket layer once for all of them. The
 * messages are received into buffers of their own and cut back into the
 * caller's datagrams (one copy each, in place of a kernel traversal). */
#define NS_UDP_GRO_MSGS 8
#define NS_UDP_GRO_BUF 65536

struct ns_udp_gro; /* the big buffers and what is still to hand out */

/* Turns UDP_GRO on for fd and allocates the buffers. NULL when the kernel
 * or memory says no (fd then stays without it). */
struct ns_udp_gro *ns_udp_gro_new(int fd);
void ns_udp_gro_free(struct ns_udp_gro *g);
/* Like ns_udp_recv (d[i].data, cap set by the caller): up to n datagrams,
 * first those left over from the last call, every one a copy of one
 * datagram as it was sent; local is the socket's bound endpoint. Returns
 * how many, 0 when none waits, -1 on a socket error (logged). */
int ns_udp_gro_recv(int fd, struct ns_udp_gro *g, const struct ns_endpoint *local,
                    struct ns_dgram *d, unsigned n);
/* Whether datagrams received from the kernel wait for the next call:
 * epoll will not say so, the caller must call again. */
bool ns_udp_gro_pending(const struct ns_udp_gro *g);

/* The length of the datagram at offset off of a message of len bytes
 * received with segment size seg (0: not coalesced, one datagram); 0 when
 * off is at the end. */
size_t ns_udp_gro_piece(size_t len, size_t seg, size_t off);

/* Cuts a message (msg, len bytes, segment size seg as the kernel reported
 * it, 0 when not coalesced) from *off on into d[0..n) (data and cap set by
 * the caller), advancing *off: a datagram longer than its d[i].cap is cut
 * to it and marked truncated. An empty message gives one empty datagram
 * (*off then 1). Returns how many of d were filled. */
unsigned ns_udp_gro_split(const uint8_t *msg, size_t len, size_t seg, size_t *off,
                          struct ns_dgram *d, unsigned n);

#endif
