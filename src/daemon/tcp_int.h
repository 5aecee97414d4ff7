/* The state tcp_conn.c, tcp_listen.c and tcp_client.c share (daemon/tcp.h
 * says what each does). */
#ifndef NATSEC_DAEMON_TCP_INT_H
#define NATSEC_DAEMON_TCP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/natsecd.h"
#include "daemon/tcp.h"
#include "net/tcp_stream.h"
#include "net/tcp_txq.h"
#include "net/timer.h"

/* Until a connection proved itself (an IKE SA answered on it, or ESP of a
 * known SA came in), its frames may be no longer than an IKE_SA_INIT needs;
 * then the buffer grows so that one read takes many frames. */
#define NSD_TCP_RX_SMALL 8192
#define NSD_TCP_RX_LARGE (256 * 1024)
/* Whole frames that may wait in a connection's send queue (about 180 full
 * ESP packets); beyond that inner packets are dropped (tcp_txq.h). */
#define NSD_TCP_SENDQ (256 * 1024)

/* Why a connection was closed (the counters of the status). */
enum nsd_tcp_close {
    NSD_TCP_CLOSE_PEER,      /* end of stream or reset by the peer */
    NSD_TCP_CLOSE_ERROR,     /* a socket error, or a send that failed */
    NSD_TCP_CLOSE_JUNK,      /* a wrong prefix, length or frame */
    NSD_TCP_CLOSE_HANDSHAKE, /* no valid IKE_SA_INIT or ESP in time */
    NSD_TCP_CLOSE_IDLE,      /* no valid message for tcp_idle_timeout */
    NSD_TCP_CLOSE_LOCAL,     /* ours: stopping, or the client moved on */
    NSD_TCP_CLOSE_N
};

struct nsd_tcp_conn {
    struct nsd_tcp *t;
    int fd;          /* -1: a free entry */
    bool ours;       /* the client's connection to its gateway */
    bool connecting; /* ours: connect() not finished */
    bool dead;       /* to be closed by nsd_tcp_reap (never inside a callback) */
    enum nsd_tcp_close why;
    bool proven;  /* an IKE SA was answered on it, or known ESP came in */
    bool grow;    /* proven: the larger receive buffer before the next read */
    bool retired; /* ours, replaced: closed once its queue is out */
    uint64_t retired_ms;
    struct ns_endpoint peer, local;
    uint64_t opened_ms, last_valid_ms;
    struct ns_tcp_rx rx;
    uint8_t *rxbuf;
    struct ns_tcp_txq txq;
    uint64_t ike_in, esp_in, bytes_in;
};

struct nsd_tcp_counters {
    uint64_t accepted;
    uint64_t refused_per_source; /* tcp_per_source connections from that address already */
    uint64_t refused_full;       /* tcp_max_connections open already */
    uint64_t closed[NSD_TCP_CLOSE_N];
    uint64_t ike_in, ike_out, esp_in, esp_out;
    uint64_t esp_dropped; /* send queue full, or the connection down */
    uint64_t connects;    /* client: connections opened to the gateway */
    uint64_t connect_failures;
    uint64_t fallbacks;   /* client: UDP got no answer, TCP taken */
    uint64_t udp_returns; /* client: the UDP probe got an answer, back to UDP */
};

struct nsd_tcp {
    struct nsd *d;
    int listen_fd; /* gateway; -1 none */
    struct nsd_tcp_conn *conn;
    unsigned cap;
    unsigned n_dead;
    struct ns_timer sweep; /* once a second: handshake and idle limits, reaping */
    struct nsd_tcp_counters cnt;
    /* Held by an outbound path while it sends a batch's frames (and counts
     * them): with workers > 1 several may send on one connection at once. */
    pthread_mutex_t tx_lock;
    /* Dropped ESP frames of closed connections, kept for the status. */
    uint64_t esp_dropped_closed, esp_out_closed;

    /* Client (tcp_client.c). */
    bool on_tcp;               /* this connection attempt, and its SA, use TCP */
    bool sticky;               /* auto: UDP failed; TCP until the probe says otherwise */
    struct nsd_tcp_conn *cc;   /* the connection to the gateway, or NULL */
    struct ns_addr local_addr; /* towards the gateway */
    struct ns_endpoint last_local, last_remote; /* the engine's last send */
    struct ns_timer fallback_timer, probe_timer, redial_timer, switch_timer;
    unsigned redials;            /* connections lost in a row (back-off) */
    struct ns_ike_engine *probe; /* UDP probe while on TCP */
    bool probe_ok;
};

/* tcp_conn.c */
/* A connection for fd (registered with the loop); NULL when none is free. */
struct nsd_tcp_conn *nsd_tcp_conn_open(struct nsd_tcp *t, int fd, const struct ns_endpoint *peer,
                                       const struct ns_endpoint *local, bool ours);
/* Marks c to be closed by the next reap, counted under why. */
void nsd_tcp_conn_kill(struct nsd_tcp *t, struct nsd_tcp_conn *c, enum nsd_tcp_close why);
/* Closes the connections marked dead. Main thread, exclusive. */
void nsd_tcp_reap(struct nsd_tcp *t);
/* Queues and writes frames on c (main thread, exclusive; or the worker,
 * shared). Marks c dead when the socket failed. */
void nsd_tcp_conn_send(struct nsd_tcp *t, struct nsd_tcp_conn *c, const struct ns_tcp_out *f,
                       unsigned n);
/* The open connection with this peer endpoint (not ours), or NULL. */
struct nsd_tcp_conn *nsd_tcp_find_peer(const struct nsd_tcp *t, const struct ns_endpoint *peer);
/* Open connections from this address. */
unsigned nsd_tcp_count_source(const struct nsd_tcp *t, const struct ns_addr *a);
const char *nsd_tcp_close_name(enum nsd_tcp_close why);

/* tcp_listen.c */
int nsd_tcp_listen_start(struct nsd_tcp *t);
void nsd_tcp_listen_stop(struct nsd_tcp *t);
/* The handshake and idle limits of the gateway's connections. */
void nsd_tcp_listen_sweep(struct nsd_tcp *t, uint64_t now_ms);

/* tcp_client.c */
void nsd_tcp_client_init(struct nsd_tcp *t);
void nsd_tcp_client_stop(struct nsd_tcp *t);
/* Its connection broke (before reaping): dial again if the SA lives on. */
void nsd_tcp_client_lost(struct nsd_tcp *t, struct nsd_tcp_conn *c);
/* A new connection to the gateway, its prefix queued; NULL on failure. */
struct nsd_tcp_conn *nsd_tcp_client_dial(struct nsd_tcp *t);
void nsd_tcp_client_sweep(struct nsd_tcp *t, uint64_t now_ms);

#endif
