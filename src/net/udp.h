/* UDP sockets for IKE (port 500) and NAT-T (port 4500: IKE with the
 * non-ESP marker, and ESP in UDP per RFC 3948). Non-blocking, marked with
 * the configured fwmark so natsecd's own packets never enter the tunnel,
 * with the don't-fragment bit set (ESP in UDP is sized for the path, X11;
 * ns_udp_set_df and ns_udp_sendto_fragmentable lift it for IKE), and
 * reporting the local address each datagram arrived on, so that a gateway
 * bound to the wildcard address answers from the address it was asked
 * (R4). IPv4, IPv6, or both on one IPv6 socket (ns_udp_open_dual): its
 * IPv4 peers are IPv4 addresses to the caller both ways, the mapped form
 * stays inside src/net. */
#ifndef NATSEC_NET_UDP_H
#define NATSEC_NET_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "net/dgram.h"
#include "util/addr.h"

struct ns_udp_gro;

struct ns_udp {
    int fd;                   /* -1 when closed */
    struct ns_endpoint local; /* as bound (port filled in when 0 was asked) */
    uint64_t send_errors;     /* datagrams the kernel refused */
    bool gso;                 /* runs of equal datagrams sent with UDP_SEGMENT */
    unsigned gso_refusals;    /* GSO sends refused in a row (net/udpgso.h) */
    struct ns_udp_gro *gro;   /* UDP_GRO on: coalesced receives (net/udpgso.h) */
    bool df;                  /* datagrams carry DF (path MTU discovery) */
    bool dual;                /* an IPv6 socket that serves IPv4 too */
};

/* Binds addr (family AF_INET or AF_INET6; the wildcard is 0.0.0.0 or ::)
 * and port (0 = any free port). fwmark 0 sets no mark. Returns 0, or -1
 * with the reason logged. */
int ns_udp_open(struct ns_udp *s, const struct ns_addr *addr, uint16_t port, uint32_t fwmark);
/* Binds the wildcard of both IP versions (::, not IPv6-only) and port:
 * one socket for IPv4 and IPv6 peers. On a kernel without IPv6 it binds
 * 0.0.0.0 alone (with a warning). 0, or -1 with the reason logged. */
int ns_udp_open_dual(struct ns_udp *s, uint16_t port, uint32_t fwmark);
/* One socket of a group bound to the same address and port (addr family
 * 0: both versions' wildcard, as ns_udp_open_dual), with SO_REUSEPORT: the
 * kernel gives each datagram that arrives to one of the group by a hash of
 * its addresses and ports, so one peer's datagrams reach one socket while
 * the group stays the same. Every socket of the group is opened this way,
 * by the same user. 0, or -1 with the reason logged. */
int ns_udp_open_group(struct ns_udp *s, const struct ns_addr *addr, uint16_t port,
                      uint32_t fwmark);
void ns_udp_close(struct ns_udp *s);

/* Receives up to n waiting datagrams into d[] (data and cap set by the
 * caller; every other field is filled). Returns how many (0 when none is
 * waiting), or -1 on a socket error (logged). */
int ns_udp_recv(struct ns_udp *s, struct ns_dgram *d, unsigned n);
/* Sends d[0..n) (data, len, peer, and local.addr as the source address or
 * family 0). Returns how many were consumed, sent or dropped and counted in
 * send_errors; fewer than n when the socket buffer is full. -1 when the
 * socket is unusable. */
int ns_udp_send(struct ns_udp *s, const struct ns_dgram *d, unsigned n);
/* Sends runs of equal-size datagrams to one peer in ns_udp_send as one
 * UDP_SEGMENT message each (net/udpgso.h) from now on, when the kernel
 * knows it. 0, or -1 when it does not (nothing changes). */
int ns_udp_enable_gso(struct ns_udp *s);
/* Receives coalesced runs of datagrams (UDP_GRO) in ns_udp_recv from now
 * on, cut back into datagrams; ns_udp_pending then says when some wait in
 * our buffers rather than the socket's. 0, or -1 when the kernel does not
 * know it (nothing changes). */
int ns_udp_enable_gro(struct ns_udp *s);
bool ns_udp_pending(const struct ns_udp *s);
/* Sends one datagram from address from (NULL: the kernel chooses) to to.
 * Returns 0, or -1 with errno set and the reason logged (EAGAIN only at
 * debug level). */
int ns_udp_sendto(struct ns_udp *s, const struct ns_addr *from, const struct ns_endpoint *to,
                  const void *data, size_t len);

/* Datagrams of s carry the don't-fragment bit and fail with EMSGSIZE above
 * the known path MTU (df, as after ns_udp_open), or leave without it and
 * are fragmented by IP where they do not fit (!df). 0, or -1 (logged). */
int ns_udp_set_df(struct ns_udp *s, bool df);
/* ns_udp_sendto for one datagram that IP may fragment on its way even when
 * s sets DF for the rest: an IKE message above the path MTU (a peer
 * without IKE fragmentation, X5) beside ESP on the NAT-T port. DF is lifted for this
 * one send, so no other thread may send on s's descriptor meanwhile. */
int ns_udp_sendto_fragmentable(struct ns_udp *s, const struct ns_addr *from,
                               const struct ns_endpoint *to, const void *data, size_t len);

/* Asks for socket buffers of the given size (as root beyond rmem_max), so
 * bursts from thousands of peers are not dropped. 0 or -1 (logged). */
int ns_sock_set_buffers(int fd, int bytes);

#endif
