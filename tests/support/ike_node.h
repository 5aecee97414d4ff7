/* A node of the IKE engine unit tests' simulated network (ike_net.h): an
 * engine with its configuration, address, NAT and SPI pool, and what the
 * standard ops callbacks (ike_node_ops) recorded of it: the CHILD_SAs
 * installed and removed, the client's tunnel coming up (virtual IP,
 * routes, DNS) and going down (why, when), the peer moving.
 *
 * A test that needs nothing else uses struct ike_node as its node; one
 * that records more embeds it as the first member of its own node and
 * wraps the callbacks it extends, calling the standard one first.
 * Failures are cmocka assertions: not for fuzz targets. */
#ifndef NATSEC_TESTS_IKE_NODE_H
#define NATSEC_TESTS_IKE_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "esp/sa_spec.h"
#include "ike/engine.h"
#include "support/ike_sim.h"
#include "util/addr.h"

#define IKE_NODE_MAX_CHILD 16 /* CHILD_SAs whose specs a node keeps */
#define IKE_NODE_MAX_ROUTES 8 /* client_up's remote subnets kept */
#define IKE_NODE_MAX_DNS 4    /* client_up's DNS servers kept */

/* One CHILD_SA as child_up installed it. */
struct ike_node_child {
    struct ns_esp_sa_spec in, out;
};

struct ike_node {
    char name[40];
    struct ns_conf conf;
    struct ns_ike_engine *e;
    struct ns_addr addr; /* its own address (private when behind a NAT) */
    int nat;             /* index of its NAT, -1: none */
    bool blackhole;      /* nothing reaches it */
    bool refuse_child;   /* child_up fails */
    struct ike_sim_spis spis;

    /* child_up and child_down: how many CHILD_SAs went in and out; the
     * first IKE_NODE_MAX_CHILD of each are kept. */
    unsigned n_child_up, n_child_down;
    struct ike_node_child child[IKE_NODE_MAX_CHILD];
    uint32_t down_in[IKE_NODE_MAX_CHILD], down_out[IKE_NODE_MAX_CHILD];

    /* client_up: how often, and the last call's IKE SA and settings. */
    unsigned n_client_up;
    uint64_t up_id;
    struct ns_addr vip, vip6;
    struct ns_ts routes[IKE_NODE_MAX_ROUTES];
    unsigned n_routes;
    struct ns_addr dns[IKE_NODE_MAX_DNS];
    unsigned n_dns;

    /* client_down: how often, and the last call's reason and time. */
    unsigned n_client_down;
    enum ns_ike_down_reason down_reason;
    uint64_t down_at;

    /* peer_moved: how often, and where to last. */
    unsigned n_moved;
    struct ns_endpoint moved_to;

    /* client_path: how often, and the last path (a raced connect). */
    unsigned n_client_path;
    struct ns_addr path_local, path_gw;
};

/* The CHILD_SAs a node has now: installed and not removed. */
unsigned ike_node_children(const struct ike_node *n);
/* The i-th CHILD_SA child_up installed (0: the first); fails the test when
 * there is no such one or it was not kept. */
const struct ike_node_child *ike_node_child(const struct ike_node *n, unsigned i);
/* The last CHILD_SA child_up installed. */
const struct ike_node_child *ike_node_last_child(const struct ike_node *n);

/* The standard callbacks; ctx is a struct ike_node (or a node that begins
 * with one). send checks the NAT-T marker goes exactly with port 4500
 * (RFC 3948 2.2) and hands the message to the network the node is on.
 * child_up fails when refuse_child is set, else checks the two directions
 * name each other and records them. */
void ike_node_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                   const uint8_t *msg, size_t len, bool natt_marker);
int ike_node_child_up(void *ctx, const struct ns_esp_sa_spec *in, const struct ns_esp_sa_spec *out);
void ike_node_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi);
/* ops->child_in_up and child_out_up, for a test that installs a
 * responder's re-key in two steps (not in ike_node_ops): child_in_up
 * counts the CHILD_SA in n_child_up with its inbound half, child_out_up
 * adds the outbound half to it. */
int ike_node_child_in_up(void *ctx, const struct ns_esp_sa_spec *in);
int ike_node_child_out_up(void *ctx, const struct ns_esp_sa_spec *in,
                          const struct ns_esp_sa_spec *out);
void ike_node_peer_moved(void *ctx, uint64_t ike_sa_id, const struct ns_endpoint *local,
                         const struct ns_endpoint *peer);
void ike_node_client_up(void *ctx, uint64_t ike_sa_id, const struct ns_addr *vip,
                        const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n,
                        const struct ns_addr *dns, unsigned n_dns);
void ike_node_client_down(void *ctx, enum ns_ike_down_reason reason);

/* All of the above (ike_net_node_start adds ctx and the SPI pool). */
extern const struct ns_ike_ops ike_node_ops;

#endif
