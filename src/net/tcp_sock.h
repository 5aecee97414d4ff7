/* TCP sockets for IKE and ESP over TCP (RFC 8229): the gateway's listening
 * socket and the connections it accepts, and the client's connection to
 * the gateway. Every socket is non-blocking, marked with the configured
 * fwmark (natsecd's own packets never enter the tunnel) and has
 * TCP_NODELAY: frames are whole packets written in batches, and Nagle's
 * delay would hold back the last, small one of each batch. */
#ifndef NATSEC_NET_TCP_SOCK_H
#define NATSEC_NET_TCP_SOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/addr.h"

/* A listening socket on addr:port; dual (addr ::): IPv4 peers too, whose
 * addresses ns_tcp_accept gives as IPv4. Returns the descriptor or -1
 * (logged). */
int ns_tcp_listen(const struct ns_addr *addr, uint16_t port, uint32_t fwmark, int backlog,
                  bool dual);
/* Accepts one waiting connection: its descriptor (non-blocking,
 * TCP_NODELAY) with both ends in *peer and *local, or -1 (errno; EAGAIN
 * when none waits). */
int ns_tcp_accept(int lfd, struct ns_endpoint *peer, struct ns_endpoint *local);
/* Starts a connection to `to` (the answer comes as EPOLLOUT, then
 * ns_tcp_connect_result). Returns the descriptor or -1 (logged). */
int ns_tcp_connect(const struct ns_endpoint *to, uint32_t fwmark);
/* 0 once connected, else the errno that ended the attempt. */
int ns_tcp_connect_result(int fd);
/* Both ends of a connected socket. 0 or -1. */
int ns_tcp_endpoints(int fd, struct ns_endpoint *local, struct ns_endpoint *peer);

#endif
