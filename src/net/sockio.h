/* Pieces shared by the UDP and raw ESP sockets of src/net (not part of the
 * public surface): socket marks, the packet-info control messages that
 * carry a datagram's local address, and the batched send loop. */
#ifndef NATSEC_NET_SOCKIO_H
#define NATSEC_NET_SOCKIO_H

#include <stdint.h>
#include <sys/socket.h>

#include "net/dgram.h"

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
#define NS_SOCKIO_CTL_SPACE 64

/* Sets SO_MARK (needs CAP_NET_ADMIN); mark 0 does nothing. 0 or -1. */
int ns_sockio_set_mark(int fd, uint32_t mark, const char *what);
/* Asks for the packet-info of every received datagram. 0 or -1. */
int ns_sockio_want_pktinfo(int fd, int family, const char *what);

/* The socket address of e for a socket of this family: an IPv4 endpoint
 * becomes IPv4-mapped for an IPv6 socket (one that serves both versions,
 * net/udp.h). Returns its length, 0 for an unset family. */
socklen_t ns_sockio_sockaddr(int family, const struct ns_endpoint *e, struct sockaddr_storage *ss);

/* Points m's control data at ctl (NS_SOCKIO_CTL_SPACE bytes) holding the
 * source address src for a send (IPv4 mapped on an IPv6 socket), or at
 * nothing when src is unset or IPv6 on an IPv4 socket. */
void ns_sockio_put_src(struct msghdr *m, int family, void *ctl, const struct ns_addr *src);
/* Reads the destination address and interface of a received datagram
 * from its packet-info; leaves them untouched when there is none. */
void ns_sockio_get_dst(const struct msghdr *m, struct ns_addr *dst, int *ifindex);

/* Sends d[0..n) with sendmmsg from a socket of this family. A datagram the
 * kernel refuses (no route, too big, ...) is dropped, counted in *errors
 * and logged at debug level; the loop goes on with the next. Returns how
 * many were consumed (sent or dropped): fewer than n only when the socket
 * buffer is full. -1 (logged) when the socket itself is unusable. */
int ns_sockio_send(int fd, int family, const struct ns_dgram *d, unsigned n, const char *what,
                   uint64_t *errors);

#endif
