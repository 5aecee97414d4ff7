/* The parts of a simulated network that the IKE engine unit tests share
 * (tests/unit/test_ike_engine.c, test_ike_rekey.c, ...): NATs that map a
 * client's private endpoint to a public port (a rebinding changes it), a
 * queue of datagrams in flight, the loop that delivers them and fires the
 * engines' timers in simulated time, an SPI pool that checks each SPI is
 * given back exactly once, and the engines' log captured in memory.
 *
 * Each test program keeps its own nodes (what its ops callbacks record
 * differs) and hands them to the loop through struct ike_sim_world, or
 * through the node harness of ike_net.h that wires it.
 * Failures are cmocka assertions: not for fuzz targets. */
#ifndef NATSEC_TESTS_IKE_SIM_H
#define NATSEC_TESTS_IKE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "ike/engine.h"
#include "util/addr.h"
#include "util/log.h"

#define IKE_SIM_MAX_MAPS 512 /* test_ike_halfopen: 40 clients behind one NAT, 2 ports each */
#define IKE_SIM_QLEN 1024
#define IKE_SIM_PKT_MAX 4096
#define IKE_SIM_MAX_SPIS 256

/* ---- NAT ---- */

struct ike_sim_mapping {
    int node; /* -1: forgotten (rebinding) */
    struct ns_endpoint priv;
    uint16_t pub_port;
};

struct ike_sim_nat {
    struct ns_addr pub;
    struct ike_sim_mapping m[IKE_SIM_MAX_MAPS];
    unsigned n;
    uint16_t next_port;
};

/* The public port of node's private endpoint priv, mapped on first use. */
uint16_t ike_sim_nat_map(struct ike_sim_nat *nat, int node, const struct ns_endpoint *priv);
/* The NAT forgets a node's mappings: its next packet gets a new port. */
void ike_sim_nat_rebind(struct ike_sim_nat *nat, int node);
/* Where a datagram to dst goes when dst is one of the NATs' public
 * addresses: the node behind the mapping (its private endpoint in *local),
 * or -1 when the NAT has no mapping and drops it. -2 when dst is no NAT's. */
int ike_sim_nat_route(const struct ike_sim_nat *nat, unsigned n_nats, const struct ns_endpoint *dst,
                      struct ns_endpoint *local);

/* ---- datagrams in flight ---- */

struct ike_sim_pkt {
    struct ns_endpoint src, dst;
    uint8_t data[IKE_SIM_PKT_MAX];
    size_t len;
};

struct ike_sim_queue {
    struct ike_sim_pkt q[IKE_SIM_QLEN];
    unsigned qh, qt;
};

void ike_sim_enqueue(struct ike_sim_queue *q, const struct ns_endpoint *src,
                     const struct ns_endpoint *dst, const uint8_t *msg, size_t len);

/* ---- the loop ---- */

/* A test program's nodes as the loop sees them. */
struct ike_sim_world {
    struct ike_sim_queue *q;
    uint64_t *now;
    const unsigned *n_nodes;
    struct ns_ike_engine *(*engine)(unsigned i); /* NULL: node i has none */
    void (*deliver)(struct ike_sim_pkt *p);
    unsigned guard; /* most steps in one call */
};

/* Runs the world until `until`: delivers every datagram at once, and fires
 * the engines' timers in time order. Nothing is left in flight. */
void ike_sim_run_until(const struct ike_sim_world *w, uint64_t until);

/* ---- SPIs ---- */

/* The SPIs a node's ops->alloc_spi handed out, at most cap of them. */
struct ike_sim_spis {
    uint32_t spi[IKE_SIM_MAX_SPIS];
    bool live[IKE_SIM_MAX_SPIS];
    unsigned n, cap;
};

uint32_t ike_sim_spi_alloc(struct ike_sim_spis *s);
/* Fails the test unless spi is live (released exactly once); owner names
 * the node in the message. */
void ike_sim_spi_release(struct ike_sim_spis *s, uint32_t spi, const char *owner);
unsigned ike_sim_spi_live(const struct ike_sim_spis *s);

/* ---- the log ---- */

struct ike_sim_log {
    FILE *f;
    char *buf;
    size_t len;
};

/* The natsec log goes to memory from level on. 0 or -1. */
int ike_sim_log_open(struct ike_sim_log *l, enum ns_log_level level);
bool ike_sim_log_has(struct ike_sim_log *l, const char *needle);
/* The log back to stderr; with NATSEC_TEST_LOG set, what was captured too. */
void ike_sim_log_close(struct ike_sim_log *l);

/* ---- configurations ---- */

/* Loads a node's configuration from text; fails the test on an error. */
void ike_sim_load(struct ns_conf *conf, const char *name, const char *text);

#endif
