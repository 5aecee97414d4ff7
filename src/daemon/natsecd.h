/* natsecd's private state, shared by the files of src/daemon: main.c
 * (arguments, configuration, process), wiring.c (creating the parts and
 * the engine's callbacks), dataplane.c (packets between TUN and the
 * sockets), keepalive.c (X1), routes.c (TUN addresses, routes, rule),
 * control.c (the UNIX control socket) and status.c (its JSON).
 *
 * Everything runs on one thread in one event loop, so nothing here is
 * locked. */
#ifndef NATSEC_DAEMON_NATSECD_H
#define NATSEC_DAEMON_NATSECD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "esp/sad.h"
#include "ike/engine.h"
#include "net/dgram.h"
#include "net/ifconf.h"
#include "net/loop.h"
#include "net/rawesp.h"
#include "net/timer.h"
#include "net/tun.h"
#include "net/udp.h"

/* Counters of the daemon's own, outside the engine and the SAD. */
struct nsd_counters {
    uint64_t keepalives_rx;  /* 0xFF on natt_port: discarded as RFC 3948 says */
    uint64_t keepalives_tx;  /* sent by us (X1) */
    uint64_t natt_invalid;   /* port-4500 datagrams that are none of IKE, ESP, keepalive */
    uint64_t truncated;      /* datagrams or TUN packets larger than our buffers */
    uint64_t raw_bad_header; /* protocol-50 packets with a broken IP header */
    uint64_t tun_rx, tun_tx; /* plaintext packets from and to the TUN device */
    uint64_t esp_rx, esp_tx; /* ESP packets received and sent (UDP and raw) */
    uint64_t ike_rx, ike_tx; /* IKE datagrams received and sent */
    uint64_t send_blocked;   /* packets dropped because a socket buffer was full */
    uint64_t tun_tcp_supers; /* TCP super-packets written to TUN (net/gso.h) */
    uint64_t tun_udp_supers; /* UDP super-packets written to TUN (net/tun_uso.h) */
};

/* A client's tunnel as configured on the host (client_up), so that
 * client_down removes exactly that. */
#define NSD_MAX_ROUTES 64
struct nsd_client_net {
    bool up;
    uint64_t ike_sa_id;
    struct ns_addr vip;
    struct ns_addr route_dst[NSD_MAX_ROUTES];
    unsigned route_plen[NSD_MAX_ROUTES];
    unsigned n_routes;
};

struct nsd_keepalive;
struct nsd_transport;

/* One rx/tx buffer and its datagram descriptor, allocated once at start. */
struct nsd_slot {
    uint8_t *buf;
    size_t cap;
};

struct nsd {
    const char *conf_path;
    struct ns_conf conf;
    uint64_t start_ms;

    struct ns_loop *loop;
    struct ns_udp ike;  /* conf.ike_port */
    struct ns_udp natt; /* conf.natt_port: IKE with marker, ESP in UDP, keepalives */
    struct ns_raw_esp raw;
    struct ns_tun tun;
    struct ns_ifconf ifc; /* addresses, routes and rule of the TUN device */
    bool ifc_open;
    bool forwarding_was; /* gateway: net.ipv4.ip_forward before us */
    bool forwarding_set;

    bool dataplane_on; /* the sockets and TUN are in the loop */
    struct ns_sad *sad;
    struct ns_ike_engine *engine;
    struct ns_timer engine_timer; /* fires at the engine's earliest deadline */
    struct ns_timer keepalive_timer;
    struct nsd_keepalive *ka; /* keepalive.c's per-IKE-SA records */

    /* Buffers: NS_NET_BATCH_MAX slots, reused by every receive path (the
     * loop runs one callback at a time, and each finishes its batch). */
    struct nsd_slot slot[NS_NET_BATCH_MAX];
    size_t slot_cap;
    uint8_t *ike_out; /* one IKE message with room for the non-ESP marker */
    size_t ike_out_cap;

    /* Liveness report rate limit (engine esp_activity): the last IKE SA
     * reported and when. */
    uint64_t act_id, act_ms;

    struct nsd_client_net client;
    struct nsd_transport *transport; /* transport.c: transport-mode peers and routes */

    int control_fd;
    struct nsd_counters cnt;
};

/* wiring.c */
int nsd_start(struct nsd *d);
/* SIGTERM/SIGINT, before nsd_stop: an IKE DELETE to every peer (X2), sent
 * without waiting for answers, flushed for at most about a second. */
void nsd_shutdown(struct nsd *d);
void nsd_stop(struct nsd *d);
/* After any engine call: re-arm the engine timer at its next deadline. */
void nsd_engine_rearm(struct nsd *d);
/* Client: (re)start the connection to the gateway ("up"). 0 or -1. */
int nsd_client_connect(struct nsd *d);

/* dataplane.c */
int nsd_dataplane_start(struct nsd *d);
void nsd_dataplane_stop(struct nsd *d);

/* keepalive.c */
void nsd_keepalive_start(struct nsd *d);
void nsd_keepalive_stop(struct nsd *d);

/* routes.c */
int nsd_routes_gateway(struct nsd *d);
void nsd_routes_gateway_down(struct nsd *d);
void nsd_routes_client_up(struct nsd *d, uint64_t ike_sa_id, const struct ns_addr *vip,
                          const struct ns_ts *remote, unsigned n);
void nsd_routes_client_down(struct nsd *d);

/* transport.c: host-to-host transport mode (R2, R13). child_up: before
 * installing a transport-mode CHILD_SA (others are ignored), route the
 * peer's address into the TUN device, or refuse (-1) a second host behind
 * the same NAT. child_down: after its removal. client_up: true when the
 * client's connection is in transport mode (then no tunnel routes). */
int nsd_transport_child_up(struct nsd *d, const struct ns_esp_sa_spec *in,
                           const struct ns_esp_sa_spec *out);
void nsd_transport_child_down(struct nsd *d, uint32_t in_spi);
bool nsd_transport_client_up(struct nsd *d, uint64_t ike_sa_id);
/* Adds "transport" (original addresses, fixup count) to a CHILD_SA's JSON. */
void nsd_transport_child_json(struct nsd *d, json_object *o, uint32_t spi_in);
void nsd_transport_free(struct nsd *d);

/* reconnect.c: a client's automatic reconnection with back-off (X2). */
void nsd_reconnect_schedule(struct nsd *d);
void nsd_reconnect_down(struct nsd *d, enum ns_ike_down_reason why); /* from client_down */
void nsd_reconnect_up(struct nsd *d);                                /* from client_up */
void nsd_reconnect_stop(struct nsd *d);

/* control.c */
int nsd_control_start(struct nsd *d);
void nsd_control_stop(struct nsd *d);

/* status.c: the answer to "status-json" (a new reference). */
json_object *nsd_status_json(struct nsd *d);

#endif
