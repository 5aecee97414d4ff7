/* The network the IKE engine unit tests share on top of ike_sim.h: the
 * loop's view of a test's nodes, delivery to the node an address or NAT
 * mapping names, SPI allocation through each node's ike_sim_spis, sending
 * through a node's NAT, the fixture's setup and teardown (every engine
 * and configuration freed, every SPI given back), and SK messages: what
 * the engines sent, opened with their keys, and requests a test writes,
 * sealed as a node's engine would.
 *
 * A test's nodes are an array of its struct node, each beginning with a
 * struct ike_node (ike_node.h), or of struct ike_node itself. One network
 * at a time: the loop's callbacks carry no context. Failures are cmocka
 * assertions: not for fuzz targets. */
#ifndef NATSEC_TESTS_IKE_NET_H
#define NATSEC_TESTS_IKE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/msg.h"
#include "support/ike_node.h"
#include "support/ike_sim.h"

#define IKE_NET_MAX_NATS 4

struct ike_net_capture;

/* What a fixture's setup gives ike_net_open. */
struct ike_net_opts {
    void *nodes;        /* the test's struct node[], each beginning with a struct ike_node */
    size_t node_size;   /* sizeof(struct node) */
    unsigned max_nodes; /* room in nodes */
    uint64_t now;       /* the simulated time the test starts at (ms) */
    enum ns_log_level log_level;
    unsigned guard; /* most loop steps in one run */
    /* Optional: the send of every node started without ops of its own
     * (NULL: ike_node_send); it ends in ike_node_send or drops. */
    void (*send)(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                 const uint8_t *msg, size_t len, bool natt_marker);
    /* Optional: called around each datagram handed to node `to`'s engine
     * (a test that checks where answers go). */
    void (*before_input)(int to, const struct ike_sim_pkt *p, const struct ns_endpoint *local);
    void (*after_input)(void);
    /* Optional: more checks for node i at teardown, after its engine is freed. */
    void (*teardown_node)(unsigned i);
    void *owner; /* freed at teardown (ike_net_teardown): the test's fixture */
    /* Optional: a NAT with this public address, mapping from nat_first_port
     * on, added at once (the first NAT: index 0). */
    const char *nat;
    uint16_t nat_first_port;
};

/* The nodes fields of struct ike_net_opts for a test's array of nodes. */
#define IKE_NET_NODES(arr)                                                                         \
    .nodes = (arr), .node_size = sizeof((arr)[0]),                                                 \
    .max_nodes = (unsigned)(sizeof(arr) / sizeof((arr)[0]))

/* Defines the setup and teardown of a test program whose fixture is
 * `static struct net *N`, holding its struct ike_net net and its nodes
 * node[]: setup allocates it zeroed and opens its network with these
 * struct ike_net_opts fields, teardown is ike_net_teardown. */
#define IKE_NET_FIXTURE(...)                                                                       \
    static int setup(void **state)                                                                 \
    {                                                                                              \
        (void)state;                                                                               \
        N = calloc(1, sizeof(*N));                                                                 \
        if (!N)                                                                                    \
            return -1;                                                                             \
        struct ike_net_opts o = {IKE_NET_NODES(N->node), .owner = N, __VA_ARGS__};                 \
        return ike_net_open(&N->net, &o);                                                          \
    }                                                                                              \
    static int teardown(void **state)                                                              \
    {                                                                                              \
        return ike_net_teardown(state);                                                            \
    }

/* A test's network: its nodes, NATs, queue, clock and log. */
struct ike_net {
    struct ike_net_opts o;
    unsigned n_nodes;
    struct ike_sim_nat nat[IKE_NET_MAX_NATS];
    unsigned n_nats;
    struct ike_sim_queue q;
    uint64_t now;
    struct ike_sim_log log;
    struct ike_sim_world world;      /* filled by ike_net_open */
    struct ike_net_capture *capture; /* ike_net_sk_request's, while it runs */
};

/* A fixture's setup: net wired to the loop as o says, the log opened.
 * 0 or -1. */
int ike_net_open(struct ike_net *net, const struct ike_net_opts *o);
/* Frees every node's engine and configuration and fails the test unless
 * each node gave back every SPI; closes the log. */
void ike_net_close(struct ike_net *net);
/* A fixture's teardown (cmocka's signature): ike_net_close of the current
 * network, then its owner freed. */
int ike_net_teardown(void **state);

/* Adds a NAT with public address pub that maps from first_port on; its
 * index (a node's nat). */
int ike_net_add_nat(struct ike_net *net, const char *pub, uint16_t first_port);

/* Runs the loop until `until` (simulated ms). */
void ike_net_run_until(struct ike_net *net, uint64_t until);
/* Runs the loop for ms more (simulated). */
void ike_net_run_for(struct ike_net *net, uint64_t ms);

/* The test's next node (a struct node that begins with a struct
 * ike_node), counted in n_nodes: its name, address a, NAT nat (-1: none),
 * an SPI pool of at most spi_cap SPIs, and its configuration parsed from
 * text (ike_sim_load); no engine yet. Fails the test when there is no
 * room for it. */
void *ike_net_add_node(struct ike_net *net, const char *name, const char *a, int nat,
                       unsigned spi_cap, const char *text);
/* Creates node's engine from its configuration with the test's ops
 * (NULL: ike_node_ops with the network's send), at the network's time:
 * ctx is node, and SPIs come from node's pool (ike_net_alloc_spi,
 * ike_net_release_spi), whatever ops says. Fails the test when the engine
 * cannot be made. */
void ike_net_node_start(struct ike_net *net, void *node, const struct ns_ike_ops *ops);
/* ike_net_add_node, then ike_net_node_start with ops. */
void *ike_net_add_started_node(struct ike_net *net, const char *name, const char *a, int nat,
                               unsigned spi_cap, const char *text, const struct ns_ike_ops *ops);
/* Starts engine e's connection from addr now; fails the test when it
 * refuses. */
void ike_net_connect(struct ike_net *net, struct ns_ike_engine *e, const struct ns_addr *addr);

/* The node an arriving datagram to dst reaches (its local endpoint in
 * *local): through a NAT's mapping or at a node's own address. -1: none. */
int ike_net_route(const struct ike_net *net, const struct ns_endpoint *dst,
                  struct ns_endpoint *local);
/* The network ike_net_open wired (one at a time). */
struct ike_net *ike_net_current(void);
/* The index of node (one of the test's nodes) in net's nodes. */
int ike_net_node_index(const struct ike_net *net, const void *node);
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

/* How many of an engine's IKE SAs are ESTABLISHED. */
unsigned ike_net_established(const struct ns_ike_engine *e);
/* Whether an engine has exactly one IKE SA, ESTABLISHED. */
bool ike_net_one_established(const struct ns_ike_engine *e);
/* An engine's counters. */
struct ns_ike_counters ike_net_counters(const struct ns_ike_engine *e);

/* Fails the test, showing the log, unless the log says needle. */
void ike_net_log_must_have(struct ike_net *net, const char *needle);
/* Fails the test when the log says needle. */
void ike_net_log_must_not_have(struct ike_net *net, const char *needle);

/* ops->alloc_spi and ops->release_spi for a ctx that is a test's node. */
uint32_t ike_net_alloc_spi(void *ctx);
void ike_net_release_spi(void *ctx, uint32_t spi);

/* ---- SK messages: reading what the engines sent, playing a peer ---- */

/* An SK-protected message opened: its header and its inner payloads,
 * which point into msg (decrypted in place): use it where it is. */
struct ike_net_sk {
    uint8_t msg[IKE_SIM_PKT_MAX];
    size_t len;
    struct ns_ike_header h;
    struct ns_ike_payloads inner;
};

/* Opens a copy of msg, an SK-protected message of one of engine e's IKE
 * SAs (the SPIs of its header; e sent it or it was sent to e), with that
 * SA's keys (ns_ike_engine_sa_keys). 0, or -1 when it is not one of e's
 * IKE SAs or does not verify. */
int ike_net_sk_open(const struct ns_ike_engine *e, const uint8_t *msg, size_t len,
                    struct ike_net_sk *out);

/* Writes a test's payloads into the open SK payload of a request. */
typedef void (*ike_net_sk_fill)(struct ns_ike_builder *b, void *arg);

/* How long (simulated ms) ike_net_sk_request waits for the answer. */
#define IKE_NET_SK_WAIT_MS 100

/* The answer ike_net_sk_request waits for (the harness's, while it runs). */
struct ike_net_capture {
    int to; /* the node the request came from */
    uint64_t spi_i, spi_r;
    uint32_t msg_id;
    struct ike_net_sk *answer;
    bool got;
};

/* A request with content the engines would never send, as node `from`
 * sends it to its peer in its IKE SA sa (from's status snapshot of it):
 * an exchange with message ID msg_id whose SK payload holds what fill
 * writes (fill NULL: nothing), sealed with sa's keys as from's engine
 * would seal it, sent from sa's local endpoint to its remote through
 * from's NAT. The network then runs for IKE_NET_SK_WAIT_MS; the answer
 * (a response in sa with msg_id, to `from`) is taken off the network
 * before from's engine, which sent no such request, sees it, and opened
 * into *answer. Returns 0, or -1 when nothing answered. from's engine
 * does not know the message ID was used: its own next request may carry
 * it again. */
int ike_net_sk_request(struct ike_net *net, int from, const struct ns_ike_sa_status *sa,
                       uint8_t exchange, uint32_t msg_id, ike_net_sk_fill fill, void *arg,
                       struct ike_net_sk *answer);

#endif
