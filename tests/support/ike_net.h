/* The node harness the IKE engine unit tests share on top of ike_sim.h
 * (test_ike_engine.c, test_ike_rekey.c, test_ike_halfopen.c,
 * test_ike_cert.c): the loop's view of a test's node array, delivery to
 * the node an address or NAT mapping names, SPI allocation through each
 * node's ike_sim_spis, sending through a node's NAT, and the fixture's
 * setup and teardown (every engine and configuration freed, every SPI
 * given back).
 *
 * Each test keeps its own struct node (what its ops callbacks record
 * differs); the harness finds the common fields through their offsets
 * (IKE_NET_LAYOUT). One network at a time: the loop's callbacks carry no
 * context. Failures are cmocka assertions: not for fuzz targets. */
#ifndef NATSEC_TESTS_IKE_NET_H
#define NATSEC_TESTS_IKE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/ike_sim.h"

/* Where a test's struct node keeps what the harness uses. */
struct ike_net_layout {
    size_t size;            /* sizeof(struct node) */
    size_t name, conf, e;   /* char[], struct ns_conf, struct ns_ike_engine * */
    size_t addr, nat, spis; /* struct ns_addr, int (-1: none), struct ike_sim_spis */
    size_t blackhole;       /* bool: nothing reaches it; IKE_NET_NONE: no such field */
};

#define IKE_NET_NONE SIZE_MAX
#define IKE_NET_LAYOUT(T, bh)                                                                      \
    ((struct ike_net_layout){sizeof(T), offsetof(T, name), offsetof(T, conf), offsetof(T, e),      \
                             offsetof(T, addr), offsetof(T, nat), offsetof(T, spis), (bh)})

/* Wires what every test's struct net names alike (node, n_nodes, nat,
 * n_nats, q, now, log) in a struct ike_net initializer; n: the test's net,
 * T: its struct node, bh: as in IKE_NET_LAYOUT. */
#define IKE_NET_OF(n, T, bh)                                                                       \
    .layout = IKE_NET_LAYOUT(T, bh), .nodes = (n)->node, .n_nodes = &(n)->n_nodes,                 \
    .nat = (n)->nat, .n_nats = &(n)->n_nats, .q = &(n)->q, .now = &(n)->now, .log = &(n)->log

/* A test's network: its nodes, NATs, queue, clock and log, and its hooks. */
struct ike_net {
    struct ike_net_layout layout;
    void *nodes; /* struct node[] */
    const unsigned *n_nodes;
    struct ike_sim_nat *nat;
    const unsigned *n_nats;
    struct ike_sim_queue *q;
    uint64_t *now;
    struct ike_sim_log *log;
    enum ns_log_level log_level;
    unsigned guard; /* most loop steps in one run */
    /* Optional: called around each datagram handed to node `to`'s engine
     * (a test that checks where answers go). */
    void (*before_input)(int to, const struct ike_sim_pkt *p, const struct ns_endpoint *local);
    void (*after_input)(void);
    /* Optional: more checks for node i at teardown, after its engine is freed. */
    void (*teardown_node)(unsigned i);
    struct ike_sim_world world; /* filled by ike_net_open */
};

/* Wires net to the loop and opens the log: a fixture's setup. 0 or -1. */
int ike_net_open(struct ike_net *net);
/* Frees every node's engine and configuration and fails the test unless
 * each node gave back every SPI; closes the log: a fixture's teardown. */
void ike_net_close(struct ike_net *net);

/* Runs the loop until `until` (simulated ms). */
void ike_net_run_until(struct ike_net *net, uint64_t until);

/* The node an arriving datagram to dst reaches (its local endpoint in
 * *local): through a NAT's mapping or at a node's own address. -1: none. */
int ike_net_route(const struct ike_net *net, const struct ns_endpoint *dst,
                  struct ns_endpoint *local);
/* A datagram node `idx` sends from local: through its NAT, into the queue. */
void ike_net_send(struct ike_net *net, int idx, const struct ns_endpoint *local,
                  const struct ns_endpoint *remote, const uint8_t *msg, size_t len);

/* The status of every IKE SA of an engine (ns_ike_engine_foreach), at most
 * IKE_NET_MAX_SAS of them. */
#define IKE_NET_MAX_SAS 40
struct ike_net_sas {
    struct ns_ike_sa_status st[IKE_NET_MAX_SAS];
    unsigned n;
};
struct ike_net_sas ike_net_sas_of(const struct ns_ike_engine *e);
/* The one IKE SA of an engine (a client, or a gateway with one client);
 * fails the test when there is not exactly one. */
struct ns_ike_sa_status ike_net_one_sa(const struct ns_ike_engine *e);

/* ops->alloc_spi and ops->release_spi for a ctx that is a test's node. */
uint32_t ike_net_alloc_spi(void *ctx);
void ike_net_release_spi(void *ctx, uint32_t spi);

#endif
