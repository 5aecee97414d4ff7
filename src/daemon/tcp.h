/* IKE and ESP over TCP (RFC 8229, X6): the hooks the rest of natsecd
 * calls. The gateway listens on tcp_port beside UDP (tcp_listen.c) and
 * never opens a connection itself; a client reaches its gateway over UDP,
 * TCP, or UDP first and TCP when UDP gets no answer (tcp_client.c). Each
 * connection (tcp_conn.c) carries the IKE messages and ESP packets of the
 * IKE SA that uses it, framed as net/tcp_stream.h says.
 *
 * To the IKE engine a connection is the peer's endpoint: on the gateway
 * the client's address and TCP port, to which the engine answers and
 * whose SAs' ESP goes back on that connection; the client's connection
 * stands for its gateway. A client that reconnects comes from a new
 * port; its first authenticated message there moves its SAs as any NAT
 * rebinding does (R4), so the same IKE SA continues (RFC 8229: the initiator re-establishes a
 * broken connection, the responder uses the newest one).
 *
 * A gateway tells its peers apart by endpoint only: a UDP peer with the
 * same address and port number as a TCP client (two hosts behind one
 * carrier-grade NAT that reuses a port number across protocols) would
 * get that client's answers. The engine would need a transport in its
 * endpoints to tell them apart; until then it is a limit (docs/design.md).
 *
 * Threads (natsecd.h): the connections' table and receive side belong to
 * the main thread; send queues are written by whoever holds sad_lock
 * exclusive, or by an outbound path holding it shared and the TCP state's
 * tx_lock (several with workers > 1; the main thread, when it holds
 * sad_lock shared, touches no connection). */
#ifndef NATSEC_DAEMON_TCP_H
#define NATSEC_DAEMON_TCP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp/sad.h"
#include "net/dgram.h"
#include "net/tcp_txq.h"
#include "util/addr.h"

struct nsd;
struct nsd_tcp_conn;

/* Gateway: the listening socket (tcp_port 0: none); client: its state.
 * 0 or -1 (logged). stop closes every connection. */
int nsd_tcp_start(struct nsd *d);
void nsd_tcp_stop(struct nsd *d);

/* The engine's send: true when the message went (or was queued, or was
 * dropped) on a TCP connection, false when it is for UDP. */
bool nsd_tcp_send_ike(struct nsd *d, const struct ns_endpoint *local,
                      const struct ns_endpoint *remote, const uint8_t *msg, size_t len);
/* Whether the IKE SA with this peer endpoint uses TCP (no NAT keepalives
 * then, RFC 9329 6.x; "transport" in the status). */
bool nsd_tcp_carries(const struct nsd *d, const struct ns_endpoint *remote);

/* The MTU the inner TCP MSS clamp uses (X11) for an inner packet whose
 * ESP goes or came over a TCP connection (over_tcp) or not: conf.mtu,
 * less the TCP framing's extra bytes over TCP. */
unsigned nsd_tcp_clamp_mtu(const struct nsd *d, bool over_tcp);
/* Whether the ESP of inner packet ip (len bytes), about to be
 * encapsulated, goes over a TCP connection, as far as the clamp cares: on
 * the client, while it runs over TCP; on the gateway, for a TCP SYN (the
 * only packets the clamp changes), whether the SA the SPD picks for it
 * has a TCP connection as its peer. So the gateway clamps per SA. The
 * main thread exclusive, or the outbound worker shared. */
bool nsd_tcp_out_over_tcp(const struct nsd *d, const uint8_t *ip, size_t len);

/* The outbound path's frames of one batch, grouped per connection, sent
 * with one sendmsg per connection by flush. */
struct nsd_tcp_batch {
    struct nsd_tcp_conn *conn[NS_NET_BATCH_MAX];
    struct ns_tcp_out out[NS_NET_BATCH_MAX];
    unsigned n;
};
void nsd_tcp_batch_init(struct nsd_tcp_batch *b);
/* true when the ESP packet of sa (data, len: valid until flush) belongs
 * on a TCP connection: added to the batch, or dropped and counted when
 * that connection is down. */
bool nsd_tcp_batch_add(struct nsd *d, struct nsd_tcp_batch *b, const struct ns_esp_sa *sa,
                       const uint8_t *data, size_t len);
void nsd_tcp_batch_flush(struct nsd *d, struct nsd_tcp_batch *b);

/* Client: called by nsd_client_connect before the engine connects from
 * local: picks UDP or TCP for this attempt (transport, and in auto what
 * the last attempts showed) and opens the connection for TCP. 0 or -1. */
int nsd_tcp_client_connecting(struct nsd *d, const struct ns_addr *local);
/* Client: an IKE message that came over UDP while the client runs over
 * TCP goes to its UDP probe (tcp_client.c); true when it took it. */
bool nsd_tcp_udp_ike(struct nsd *d, const struct ns_endpoint *local,
                     const struct ns_endpoint *remote, uint8_t *msg, size_t len);

/* The "tcp" object of the status: the counters and connections. */
json_object *nsd_tcp_status_json(struct nsd *d);

#endif
