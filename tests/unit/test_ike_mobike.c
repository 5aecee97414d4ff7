/* MOBIKE (RFC 4555, X4, R4) on the simulated network of
 * tests/support/ike_net: a natsec client and a natsec gateway in this
 * process; the client sits behind home NAT A, moves behind NAT B (another
 * private address: another uplink), onto the Internet without a NAT, and
 * back. The test keeps a model of each node's data plane (every ESP SA
 * installed through child_up / child_in_up / child_out_up, moved by
 * path_changed or peer_moved, removed by child_down) and checks that
 * every ESP SA ends on the new path with the right encapsulation, that
 * the IKE and CHILD SPIs stay, and that no IKE_SA_INIT is sent again. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/engine.h"
#include "ike/msg.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

#define GW_ADDR "198.51.100.1"
#define NAT_A "192.0.2.10"  /* home NAT of uplink 1 */
#define NAT_B "192.0.2.20"  /* home NAT of uplink 2 */
#define PRIV_A "10.1.0.2"   /* the client's address behind NAT A */
#define PRIV_B "10.2.0.2"   /* ... behind NAT B */
#define PUBLIC "203.0.113.30" /* the client on the Internet, no NAT */
#define THIRD "203.0.113.99"  /* someone else */
#define MAX_NODES 2
#define MAX_ESP 32
#define MAX_REC 256
#define T0 1000000u

/* One ESP SA in a node's modelled data plane. */
struct esp_rec {
    bool used;
    uint32_t spi;
    bool out;
    uint64_t ike_sa_id;
    struct ns_endpoint local, peer;
    bool udp_encap;
    bool unverified; /* outbound: bounded until the path is checked */
};

struct node {
    struct ike_node ike;
    struct esp_rec esp[MAX_ESP];
    unsigned n_path_changed;
};

/* What the engines sent: enough to count exchanges and replay one. */
struct rec {
    int node;
    struct ns_endpoint local, remote;
    uint8_t exchange, flags;
    uint32_t msg_id;
    uint8_t data[IKE_SIM_PKT_MAX];
    size_t len;
};

struct net {
    struct node node[MAX_NODES];
    struct ike_net net;
    struct rec rec[MAX_REC];
    unsigned n_rec;
    /* A dead path: nothing the client sends from dead_local, nor the
     * gateway to dead_remote, arrives. */
    struct ns_addr dead_local;
    struct ns_endpoint dead_remote;
    /* The client's answers to the gateway's INFORMATIONAL requests (its
     * COOKIE2 checks) get lost. */
    bool drop_info_answers;
};

static struct net *N;

/* ---- the modelled data plane ---- */

static void esp_add(struct node *n, const struct ns_esp_sa_spec *s)
{
    for (unsigned i = 0; i < MAX_ESP; i++) {
        struct esp_rec *r = &n->esp[i];
        if (r->used)
            continue;
        *r = (struct esp_rec){true,     s->spi,  s->dir == NS_ESP_OUTBOUND, s->ike_sa_id,
                              s->local, s->peer, s->udp_encap, s->path_unverified};
        return;
    }
    fail_msg("too many ESP SAs");
}

static void esp_del(struct node *n, uint32_t spi, bool out)
{
    for (unsigned i = 0; i < MAX_ESP; i++)
        if (n->esp[i].used && n->esp[i].spi == spi && n->esp[i].out == out)
            n->esp[i].used = false;
}

static int ops_child_up(void *ctx, const struct ns_esp_sa_spec *in,
                        const struct ns_esp_sa_spec *out)
{
    assert_int_equal(ike_node_child_up(ctx, in, out), 0);
    esp_add(ctx, in);
    esp_add(ctx, out);
    return 0;
}

static int ops_child_in_up(void *ctx, const struct ns_esp_sa_spec *in)
{
    assert_int_equal(ike_node_child_in_up(ctx, in), 0);
    esp_add(ctx, in);
    return 0;
}

static int ops_child_out_up(void *ctx, const struct ns_esp_sa_spec *in,
                            const struct ns_esp_sa_spec *out)
{
    assert_int_equal(ike_node_child_out_up(ctx, in, out), 0);
    esp_add(ctx, out);
    return 0;
}

static void ops_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    esp_del(ctx, in_spi, false);
    esp_del(ctx, out_spi, true);
    ike_node_child_down(ctx, in_spi, out_spi);
}

static void ops_path_changed(void *ctx, uint64_t id, const struct ns_endpoint *local,
                             const struct ns_endpoint *peer, bool udp_encap)
{
    struct node *n = ctx;
    n->n_path_changed++;
    for (unsigned i = 0; i < MAX_ESP; i++) {
        struct esp_rec *r = &n->esp[i];
        if (r->used && r->ike_sa_id == id) {
            r->local = *local;
            r->peer = *peer;
            r->udp_encap = udp_encap;
        }
    }
}

static void ops_path_verified(void *ctx, uint64_t id, bool verified)
{
    struct node *n = ctx;
    for (unsigned i = 0; i < MAX_ESP; i++)
        if (n->esp[i].used && n->esp[i].out && n->esp[i].ike_sa_id == id)
            n->esp[i].unverified = !verified;
}

static void ops_peer_moved(void *ctx, uint64_t id, const struct ns_endpoint *local,
                           const struct ns_endpoint *peer)
{
    struct node *n = ctx;
    ike_node_peer_moved(ctx, id, local, peer);
    for (unsigned i = 0; i < MAX_ESP; i++)
        if (n->esp[i].used && n->esp[i].ike_sa_id == id)
            n->esp[i].peer = *peer;
}

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    int idx = ike_net_node_index(&N->net, ctx);
    if (len >= NS_IKE_HEADER_LEN && N->n_rec < MAX_REC && len <= IKE_SIM_PKT_MAX) {
        struct rec *r = &N->rec[N->n_rec++];
        r->node = idx;
        r->local = *local;
        r->remote = *remote;
        r->exchange = msg[18];
        r->flags = msg[19];
        r->msg_id = ns_get_u32(msg + 20);
        memcpy(r->data, msg, len);
        r->len = len;
    }
    if (idx == 1 && N->drop_info_answers && len >= NS_IKE_HEADER_LEN &&
        msg[18] == NS_INFORMATIONAL && (msg[19] & NS_IKE_FLAG_RESPONSE))
        return;
    if ((idx == 1 && ns_addr_equal(&local->addr, &N->dead_local)) ||
        (idx == 0 && ns_endpoint_equal(remote, &N->dead_remote)))
        return;
    ike_node_send(ctx, local, remote, msg, len, marker);
}

/* The client has an address on each uplink (path testing). */
static unsigned ops_local_addrs(void *ctx, int family, struct ns_addr *out, unsigned max)
{
    (void)ctx;
    const char *a[] = {PRIV_A, PRIV_B};
    unsigned n = 0;
    for (unsigned i = 0; i < 2 && n < max; i++) {
        out[n] = test_addr(a[i]);
        if (out[n].family == family)
            n++;
    }
    return n;
}

static const struct ns_ike_ops node_ops = {.send = ops_send,
                                           .child_up = ops_child_up,
                                           .child_down = ops_child_down,
                                           .child_in_up = ops_child_in_up,
                                           .child_out_up = ops_child_out_up,
                                           .path_changed = ops_path_changed,
                                           .path_verified = ops_path_verified,
                                           .peer_moved = ops_peer_moved,
                                           .local_addrs = ops_local_addrs,
                                           .client_up = ike_node_client_up,
                                           .client_down = ike_node_client_down};

/* ---- the network ---- */

static void run_for(uint64_t ms)
{
    ike_net_run_for(&N->net, ms);
}

#define GW_CONF                                                                                    \
    "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"               \
    "retransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 0\n"
#define GW_PEER "[peer alice@corp.example]\npsk = alice-secret-0123456789\nsubnets = 192.0.2.0/24\n"
#define CL_CONF                                                                                    \
    "[natsecd]\nrole = client\nlocal_id = alice@corp.example\ngateway = " GW_ADDR "\n"           \
    "remote_id = vpn.corp.example\nretransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 0\n"
#define CL_PEER "[peer vpn.corp.example]\npsk = alice-secret-0123456789\nsubnets = 192.0.2.0/24\n"

static struct node *new_node(const char *name, const char *a, int nat, const char *text)
{
    return ike_net_add_started_node(&N->net, name, a, nat, IKE_SIM_MAX_SPIS, text, &node_ops);
}

/* The gateway (node 0) and alice behind NAT A (node 1), connected; extra
 * lines go into [natsecd] of each. */
static void connected(const char *gw_extra, const char *cl_extra)
{
    char gw[1024], cl[1024];
    snprintf(gw, sizeof(gw), GW_CONF "%s" GW_PEER, gw_extra ? gw_extra : "");
    snprintf(cl, sizeof(cl), CL_CONF "%s" CL_PEER, cl_extra ? cl_extra : "");
    assert_int_equal(ike_net_add_nat(&N->net, NAT_A, 40000), 0);
    assert_int_equal(ike_net_add_nat(&N->net, NAT_B, 50000), 1);
    new_node("gateway", GW_ADDR, -1, gw);
    struct node *c = new_node("alice", PRIV_A, 0, cl);
    ike_net_connect(&N->net, c->ike.e, &c->ike.addr);
    run_for(500);
    assert_true(ike_net_one_established(N->node[0].ike.e));
    assert_true(ike_net_one_established(c->ike.e));
}

static struct node *gwn(void)
{
    return &N->node[0];
}

static struct node *cln(void)
{
    return &N->node[1];
}

/* Uplink 1 goes down (NAT A forgets alice, and drops what comes for her)
 * and the client gets address a behind NAT nat (-1: none); the daemon's
 * route watch tells the engine. */
static void move_to(const char *a, int nat)
{
    struct node *c = cln();
    for (unsigned i = 0; i < N->net.n_nats; i++)
        ike_sim_nat_rebind(&N->net.nat[i], 1);
    c->ike.addr = test_addr(a);
    c->ike.nat = nat;
    assert_int_equal(ns_ike_engine_mobike_move(c->ike.e, &c->ike.addr, N->net.now), 0);
}

static unsigned count_sent(int node, uint8_t exchange, bool response)
{
    unsigned k = 0;
    for (unsigned i = 0; i < N->n_rec; i++)
        if (N->rec[i].node == node && N->rec[i].exchange == exchange &&
            !!(N->rec[i].flags & NS_IKE_FLAG_RESPONSE) == response)
            k++;
    return k;
}

static struct ns_endpoint endpoint(const char *a, uint16_t port)
{
    return (struct ns_endpoint){test_addr(a), port};
}

/* Every ESP SA of node n (at least want of them) goes to peer from local
 * in the given encapsulation. */
static void assert_esp_path(const struct node *n, unsigned want, const struct ns_endpoint *local,
                            const struct ns_endpoint *peer, bool encap)
{
    unsigned k = 0;
    char a[NS_ENDPOINT_STRLEN], b[NS_ENDPOINT_STRLEN];
    for (unsigned i = 0; i < MAX_ESP; i++) {
        const struct esp_rec *r = &n->esp[i];
        if (!r->used)
            continue;
        k++;
        if (!ns_endpoint_equal(&r->peer, peer))
            fail_msg("%s: ESP SA 0x%08x goes to %s, not %s", n->ike.name, r->spi,
                     ns_endpoint_str(&r->peer, a), ns_endpoint_str(peer, b));
        if (local && !ns_addr_equal(&r->local.addr, &local->addr))
            fail_msg("%s: ESP SA 0x%08x sends from %s, not %s", n->ike.name, r->spi,
                     ns_endpoint_str(&r->local, a), ns_endpoint_str(local, b));
        if (r->udp_encap != encap)
            fail_msg("%s: ESP SA 0x%08x %s", n->ike.name, r->spi,
                     encap ? "not in UDP" : "still in UDP");
    }
    assert_true(k >= want);
}

/* The gateway's public endpoint for alice behind nat (her NAT-T port). */
static struct ns_endpoint nat_ep(int nat)
{
    struct ns_endpoint priv = {cln()->ike.addr, 4500};
    return (struct ns_endpoint){N->net.nat[nat].pub, ike_sim_nat_map(&N->net.nat[nat], 1, &priv)};
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_DEBUG, .guard = 100000)

/* ================= scenarios ================= */

/* Outbound ESP SAs of node n that are bounded (path not checked). */
static unsigned count_unverified(const struct node *n)
{
    unsigned k = 0;
    for (unsigned i = 0; i < MAX_ESP; i++)
        k += n->esp[i].used && n->esp[i].out && n->esp[i].unverified;
    return k;
}

/* X4: both say MOBIKE_SUPPORTED; the gateway adds NO_ADDITIONAL_ADDRESSES. */
static void negotiated_by_default(void **state)
{
    (void)state;
    connected(NULL, NULL);
    struct ns_ike_sa_status g = ike_net_one_sa(gwn()->ike.e), c = ike_net_one_sa(cln()->ike.e);
    assert_true(g.mobike);
    assert_true(c.mobike);
    assert_int_equal(g.addr_updates, 0);
    ike_net_log_must_have(&N->net, "MOBIKE OFF -> IDLE");
    bool saw = false;
    for (unsigned i = 0; i < N->n_rec; i++) {
        struct ike_net_sk m;
        if (N->rec[i].node != 0 || N->rec[i].exchange != NS_IKE_AUTH ||
            ike_net_sk_open(gwn()->ike.e, N->rec[i].data, N->rec[i].len, &m) != 0)
            continue;
        assert_non_null(ns_ike_find_notify(&m.inner, NS_N_MOBIKE_SUPPORTED));
        assert_non_null(ns_ike_find_notify(&m.inner, NS_N_NO_ADDITIONAL_ADDRESSES));
        saw = true;
    }
    assert_true(saw);
}

/* X4: `mobike = no` on either side: off on both, and the client's move is
 * refused (it reconnects instead). */
static void off_when_either_says_no(void **state)
{
    (void)state;
    connected(NULL, "mobike = no\n");
    assert_false(ike_net_one_sa(gwn()->ike.e).mobike);
    assert_false(ike_net_one_sa(cln()->ike.e).mobike);
    struct ns_addr b = test_addr(PRIV_B);
    assert_int_equal(ns_ike_engine_mobike_move(cln()->ike.e, &b, N->net.now), -1);
}

static void off_when_gateway_says_no(void **state)
{
    (void)state;
    connected("mobike = no\n", NULL);
    assert_false(ike_net_one_sa(gwn()->ike.e).mobike);
    assert_false(ike_net_one_sa(cln()->ike.e).mobike);
}

/* X4 R4: uplink 1 down, uplink 2 (NAT B) up: the gateway moves the IKE SA
 * and the CHILD_SA to NAT B's mapping after the authenticated update,
 * checks the new address (COOKIE2), SPIs stay, no new IKE_SA_INIT. */
static void update_moves_sas(void **state)
{
    (void)state;
    connected(NULL, NULL);
    struct ns_ike_sa_status g0 = ike_net_one_sa(gwn()->ike.e);
    unsigned inits = count_sent(1, NS_IKE_SA_INIT, false);
    uint64_t t_move = N->net.now;
    move_to(PRIV_B, 1);
    run_for(200);
    struct ns_ike_sa_status g = ike_net_one_sa(gwn()->ike.e), c = ike_net_one_sa(cln()->ike.e);
    struct ns_endpoint pub_b = nat_ep(1);
    char a[NS_ENDPOINT_STRLEN];
    if (!ns_endpoint_equal(&g.remote, &pub_b))
        fail_msg("the gateway has alice at %s", ns_endpoint_str(&g.remote, a));
    assert_true(g.spi_i == g0.spi_i && g.spi_r == g0.spi_r);
    assert_int_equal(g.n_child, 1);
    assert_true(g.child[0].spi_in == g0.child[0].spi_in &&
                g.child[0].spi_out == g0.child[0].spi_out);
    assert_true(g.nat_remote && g.udp_encap);
    assert_int_equal(g.addr_updates, 1);
    assert_int_equal(g.last_update_ms, t_move);
    assert_int_equal(c.addr_updates, 1);
    assert_int_equal(count_sent(1, NS_IKE_SA_INIT, false), inits);
    struct ns_endpoint gw_natt = endpoint(GW_ADDR, 4500);
    assert_esp_path(gwn(), 2, NULL, &pub_b, true);
    struct ns_endpoint priv_b = endpoint(PRIV_B, 4500);
    assert_esp_path(cln(), 2, &priv_b, &gw_natt, true);
    struct ns_ike_counters gc = ike_net_counters(gwn()->ike.e);
    assert_int_equal(gc.mobike_updates, 1);
    assert_int_equal(gc.mobike_checks, 1); /* the COOKIE2 came back from NAT B */
    assert_int_equal(gc.illegal_transitions, 0);
    assert_string_equal(g.mobike_state, "IDLE");
    assert_int_equal(cln()->ike.n_client_down, 0);
    ike_net_log_must_have(&N->net, "moved from 192.0.2.10:");
}

/* X4: onto the Internet (no NAT): ESP becomes protocol 50 on both sides;
 * behind a NAT again: ESP in UDP again. */
static void nat_disappears_and_appears(void **state)
{
    (void)state;
    connected(NULL, NULL);
    move_to(PUBLIC, -1);
    run_for(200);
    struct ns_ike_sa_status g = ike_net_one_sa(gwn()->ike.e), c = ike_net_one_sa(cln()->ike.e);
    assert_false(g.nat_remote || g.nat_local || g.udp_encap);
    assert_false(c.nat_remote || c.nat_local || c.udp_encap);
    struct ns_endpoint pub = endpoint(PUBLIC, 4500), gw_natt = endpoint(GW_ADDR, 4500);
    assert_esp_path(gwn(), 2, NULL, &pub, false);
    assert_esp_path(cln(), 2, &pub, &gw_natt, false);
    ike_net_log_must_have(&N->net, "ESP as protocol 50 (switched)");

    move_to(PRIV_B, 1);
    run_for(200);
    g = ike_net_one_sa(gwn()->ike.e);
    c = ike_net_one_sa(cln()->ike.e);
    assert_true(g.nat_remote && g.udp_encap);
    assert_true(c.nat_local && c.udp_encap);
    struct ns_endpoint pub_b = nat_ep(1);
    assert_esp_path(gwn(), 2, NULL, &pub_b, true);
    assert_int_equal(g.addr_updates, 2);
    assert_int_equal(ike_net_counters(gwn()->ike.e).mobike_checks, 2);
}

/* X4: the client moves while its CHILD_SA re-key is out: the update waits
 * for the window, the re-key completes (the gateway's new CHILD_SA waits
 * for the initiator before it sends: its outbound half is installed
 * later), and every ESP SA, the re-keyed one's halves included, ends on
 * the new path. */
static void update_during_rekey(void **state)
{
    (void)state;
    connected(NULL, NULL);
    assert_int_equal(ns_ike_engine_rekey(cln()->ike.e, 0, false, N->net.now), 1);
    move_to(PRIV_B, 1); /* the re-key request went from uplink 1: lost */
    run_for(5000);      /* retransmitted from uplink 2; then the update */
    struct ns_ike_sa_status g = ike_net_one_sa(gwn()->ike.e);
    assert_int_equal(g.n_child, 1);
    assert_int_equal(ike_net_counters(gwn()->ike.e).child_rekeys, 1);
    assert_int_equal(g.addr_updates, 1);
    struct ns_endpoint pub_b = nat_ep(1);
    assert_esp_path(gwn(), 2, NULL, &pub_b, true);
    assert_int_equal(ike_net_counters(gwn()->ike.e).illegal_transitions, 0);
    assert_int_equal(cln()->ike.n_client_down, 0);
}

/* X4: the gateway's own request (a CHILD_SA re-key) is being retransmitted
 * to the old, dead path when the update comes: the retransmissions follow
 * the IKE SA to the new address, are answered there, and the COOKIE2
 * check goes once the window is free. */
static void update_while_retransmission_pending(void **state)
{
    (void)state;
    connected(NULL, NULL);
    for (unsigned i = 0; i < N->net.n_nats; i++)
        ike_sim_nat_rebind(&N->net.nat[i], 1); /* uplink 1 is gone */
    assert_int_equal(ns_ike_engine_rekey(gwn()->ike.e, 0, false, N->net.now), 1);
    run_for(1500); /* sent, lost, retransmitted once, lost */
    assert_true(ike_net_counters(gwn()->ike.e).retransmits >= 1);
    assert_int_equal(ike_net_counters(gwn()->ike.e).child_rekeys, 0);
    move_to(PRIV_B, 1);
    run_for(5000);
    struct ns_ike_counters gc = ike_net_counters(gwn()->ike.e);
    assert_int_equal(gc.child_rekeys, 1);
    assert_int_equal(gc.mobike_updates, 1);
    assert_int_equal(gc.mobike_checks, 1);
    struct ns_endpoint pub_b = nat_ep(1);
    assert_esp_path(gwn(), 2, NULL, &pub_b, true);
    assert_true(ike_net_one_established(gwn()->ike.e));
    assert_int_equal(cln()->ike.n_client_down, 0);
}

/* X4 (RFC 4555 3.9): the path in use dies without the client's routes
 * changing; its request goes unanswered, so its retransmissions go from
 * its other address too, the answer through that one moves the IKE SA
 * there, and an update follows: the tunnel lives on, nothing reconnects. */
/* X4, R4: after an authenticated UPDATE_SA_ADDRESSES the gateway sends
 * ESP to the new address at once, but only a bounded amount until its
 * COOKIE2 return routability check of that address comes back (RFC 4555
 * 3.10); the answer lifts the bound. */
static void esp_bounded_until_new_path_checked(void **state)
{
    (void)state;
    connected(NULL, NULL);
    assert_int_equal(count_unverified(gwn()), 0);
    move_to(PRIV_B, 1);
    struct ns_endpoint pub_b = nat_ep(1);
    N->dead_remote = pub_b; /* the gateway's answer and check get lost */
    run_for(300);
    assert_esp_path(gwn(), 2, NULL, &pub_b, true);
    if (count_unverified(gwn()) == 0)
        fail_msg("the gateway sends ESP to %s unbounded before its check", "NAT B");
    memset(&N->dead_remote, 0, sizeof(N->dead_remote));
    run_for(3000);
    assert_true(ike_net_counters(gwn()->ike.e).mobike_checks >= 1);
    assert_esp_path(gwn(), 2, NULL, &pub_b, true);
    assert_int_equal(count_unverified(gwn()), 0);
    assert_int_equal(count_unverified(cln()), 0); /* the client's sending is not bounded */
    assert_int_equal(cln()->ike.n_client_down, 0);
}

/* Every outbound ESP SA of node n is bounded (at least one exists). */
static void assert_all_out_unverified(const struct node *n, const char *when)
{
    unsigned k = 0;
    for (unsigned i = 0; i < MAX_ESP; i++) {
        const struct esp_rec *r = &n->esp[i];
        if (!r->used || !r->out)
            continue;
        k++;
        if (!r->unverified)
            fail_msg("%s: outbound ESP SA 0x%08x is unbounded %s", n->ike.name, r->spi, when);
    }
    assert_true(k >= 1);
}

/* X4 R15 (RFC 4555 3.10): a CHILD_SA re-keyed while the gateway's check
 * of a new address is out sends no more there than the one it replaces;
 * the check's answer lifts the bound of both. */
static void rekey_during_check_stays_bounded(void **state)
{
    (void)state;
    connected(NULL, NULL);
    uint32_t old_out[MAX_ESP];
    unsigned n_old = 0;
    for (unsigned i = 0; i < MAX_ESP; i++)
        if (gwn()->esp[i].used && gwn()->esp[i].out)
            old_out[n_old++] = gwn()->esp[i].spi;
    N->drop_info_answers = true;
    move_to(PRIV_B, 1);
    run_for(300);
    assert_all_out_unverified(gwn(), "after the move");
    assert_int_equal(ns_ike_engine_rekey(cln()->ike.e, 0, false, N->net.now), 1);
    run_for(2500);
    assert_int_equal(ike_net_counters(gwn()->ike.e).child_rekeys, 1);
    assert_int_equal(ike_net_counters(gwn()->ike.e).mobike_checks, 0);
    bool successor = false;
    for (unsigned i = 0; i < MAX_ESP; i++) {
        const struct esp_rec *r = &gwn()->esp[i];
        bool old = false;
        for (unsigned k = 0; k < n_old; k++)
            old |= r->spi == old_out[k];
        successor |= r->used && r->out && !old;
    }
    assert_true(successor);
    assert_all_out_unverified(gwn(), "after a re-key during the check");
    N->drop_info_answers = false;
    run_for(3000);
    assert_true(ike_net_counters(gwn()->ike.e).mobike_checks >= 1);
    assert_int_equal(count_unverified(gwn()), 0);
    assert_int_equal(cln()->ike.n_client_down, 0);
}

static void dead_path_found_by_path_testing(void **state)
{
    (void)state;
    connected(NULL, NULL);
    struct ns_ike_sa_status g0 = ike_net_one_sa(gwn()->ike.e);
    N->dead_local = test_addr(PRIV_A);
    N->dead_remote = g0.remote;
    unsigned inits = count_sent(1, NS_IKE_SA_INIT, false);
    assert_int_equal(ns_ike_engine_rekey(cln()->ike.e, 0, false, N->net.now), 1);
    run_for(5000);
    struct ns_ike_sa_status c = ike_net_one_sa(cln()->ike.e), g = ike_net_one_sa(gwn()->ike.e);
    char a[NS_ENDPOINT_STRLEN];
    if (ns_addr_equal(&c.local.addr, &N->dead_local))
        fail_msg("the client still uses %s", ns_endpoint_str(&c.local, a));
    struct ns_ike_counters cc = ike_net_counters(cln()->ike.e);
    assert_true(cc.mobike_path_probes >= 1);
    assert_int_equal(cc.mobike_path_switches, 1);
    assert_int_equal(c.addr_updates, 1);
    assert_int_equal(g.addr_updates, 1);
    assert_true(g.spi_i == g0.spi_i && g.spi_r == g0.spi_r);
    assert_int_equal(ike_net_counters(gwn()->ike.e).child_rekeys, 1);
    struct ns_endpoint priv_b = endpoint(PRIV_B, 4500), gw_natt = endpoint(GW_ADDR, 4500);
    cln()->ike.addr = test_addr(PRIV_B); /* for nat_ep: NAT A maps PRIV_B now */
    struct ns_endpoint pub = nat_ep(0);
    if (!ns_endpoint_equal(&g.remote, &pub))
        fail_msg("the gateway has alice at %s", ns_endpoint_str(&g.remote, a));
    assert_esp_path(cln(), 2, &priv_b, &gw_natt, true);
    assert_esp_path(gwn(), 2, NULL, &pub, true);
    assert_int_equal(count_sent(1, NS_IKE_SA_INIT, false), inits);
    assert_int_equal(cln()->ike.n_client_down, 0);
    ike_net_log_must_have(&N->net, "the gateway answers through 10.2.0.2:4500");
}

/* X4 R4 (RFC 4555 3.5): a gateway with MOBIKE may follow a client only on
 * its updates (strongSwan does), so a client behind a NAT that needed a
 * liveness check (the silence of a NAT that gave it a new mapping) sends
 * an UPDATE_SA_ADDRESSES once it is answered; the gateway, which followed
 * the check already (R4), counts it as the address update it was. */
static void liveness_after_silence_sends_an_update(void **state)
{
    (void)state;
    connected(NULL, NULL);
    struct ns_ike_sa_status g0 = ike_net_one_sa(gwn()->ike.e);
    for (unsigned i = 0; i < N->net.n_nats; i++)
        ike_sim_nat_rebind(&N->net.nat[i], 1);
    assert_int_equal(ns_ike_engine_liveness(cln()->ike.e, N->net.now), 0);
    run_for(200);
    struct ns_ike_sa_status g = ike_net_one_sa(gwn()->ike.e);
    struct ns_endpoint now_at = nat_ep(0);
    assert_false(ns_endpoint_equal(&now_at, &g0.remote));
    assert_true(ns_endpoint_equal(&g.remote, &now_at));
    assert_int_equal(g.addr_updates, 1);
    assert_int_equal(ike_net_counters(gwn()->ike.e).mobike_updates, 1);
    unsigned updates = 0;
    for (unsigned i = 0; i < N->n_rec; i++) {
        struct ike_net_sk m;
        if (N->rec[i].node == 1 && N->rec[i].exchange == NS_INFORMATIONAL &&
            ike_net_sk_open(cln()->ike.e, N->rec[i].data, N->rec[i].len, &m) == 0 &&
            ns_ike_find_notify(&m.inner, NS_N_UPDATE_SA_ADDRESSES))
            updates++;
    }
    assert_int_equal(updates, 1);
    assert_string_equal(ike_net_one_sa(cln()->ike.e).mobike_state, "IDLE");
    struct ns_endpoint gw_natt = endpoint(GW_ADDR, 4500), priv_a = endpoint(PRIV_A, 4500);
    assert_esp_path(cln(), 2, &priv_a, &gw_natt, true);
    assert_esp_path(gwn(), 2, NULL, &now_at, true);
}

/* X4, X6: the daemon moved the client's IKE SA from a TCP connection back
 * to UDP (RFC 8229 7): the gateway sees it from another NAT mapping,
 * same addresses to the engine. The first message the client sends is
 * the UPDATE_SA_ADDRESSES, counted on both sides; the gateway moves the
 * IKE SA and the CHILD_SA there, SPIs unchanged, no IKE_SA_INIT. */
static void path_change_sends_an_update_first(void **state)
{
    (void)state;
    connected(NULL, NULL);
    struct ns_ike_sa_status g0 = ike_net_one_sa(gwn()->ike.e);
    unsigned inits = count_sent(1, NS_IKE_SA_INIT, false), first = N->n_rec;
    for (unsigned i = 0; i < N->net.n_nats; i++)
        ike_sim_nat_rebind(&N->net.nat[i], 1);
    assert_int_equal(ns_ike_engine_mobike_update(cln()->ike.e, N->net.now), 0);
    run_for(200);
    assert_true(N->n_rec > first);
    const struct rec *r = &N->rec[first];
    struct ike_net_sk m;
    assert_int_equal(r->node, 1);
    assert_int_equal(r->exchange, NS_INFORMATIONAL);
    assert_int_equal(ike_net_sk_open(cln()->ike.e, r->data, r->len, &m), 0);
    assert_non_null(ns_ike_find_notify(&m.inner, NS_N_UPDATE_SA_ADDRESSES));
    assert_non_null(ns_ike_find_notify(&m.inner, NS_N_NAT_DETECTION_SOURCE_IP));
    struct ns_ike_sa_status g = ike_net_one_sa(gwn()->ike.e), c = ike_net_one_sa(cln()->ike.e);
    struct ns_endpoint now_at = nat_ep(0);
    assert_false(ns_endpoint_equal(&now_at, &g0.remote));
    assert_true(ns_endpoint_equal(&g.remote, &now_at));
    assert_true(g.spi_i == g0.spi_i && g.spi_r == g0.spi_r);
    assert_true(g.child[0].spi_in == g0.child[0].spi_in);
    assert_int_equal(ike_net_counters(gwn()->ike.e).mobike_updates, 1);
    assert_int_equal(ike_net_counters(cln()->ike.e).mobike_updates, 1);
    assert_int_equal(c.addr_updates, 1);
    assert_string_equal(c.mobike_state, "IDLE");
    assert_int_equal(count_sent(1, NS_IKE_SA_INIT, false), inits);
    assert_esp_path(gwn(), 2, NULL, &now_at, true);
    assert_int_equal(cln()->ike.n_client_down, 0);
}

/* X6: with MOBIKE off there is no update to send: -1, the daemon checks
 * liveness instead. */
static void path_change_without_mobike(void **state)
{
    (void)state;
    connected(NULL, "mobike = no\n");
    assert_int_equal(ns_ike_engine_mobike_update(cln()->ike.e, N->net.now), -1);
    assert_int_equal(ike_net_counters(cln()->ike.e).mobike_updates, 0);
}

/* The client's UPDATE_SA_ADDRESSES request as it was sent (the last). */
static const struct rec *last_update(void)
{
    const struct rec *u = NULL;
    for (unsigned i = 0; i < N->n_rec; i++) {
        struct ike_net_sk m;
        const struct rec *r = &N->rec[i];
        if (r->node == 1 && r->exchange == NS_INFORMATIONAL && !(r->flags & NS_IKE_FLAG_RESPONSE) &&
            ike_net_sk_open(cln()->ike.e, r->data, r->len, &m) == 0 &&
            ns_ike_find_notify(&m.inner, NS_N_UPDATE_SA_ADDRESSES))
            u = r;
    }
    assert_non_null(u);
    return u;
}

static void inject(const struct rec *r, const char *from, bool tamper)
{
    uint8_t copy[IKE_SIM_PKT_MAX];
    memcpy(copy, r->data, r->len);
    if (tamper)
        copy[r->len - 1] ^= 0x5a; /* the ICV */
    struct ns_endpoint src = endpoint(from, 4500);
    ike_sim_enqueue(&N->net.q, &src, &r->remote, copy, r->len);
    run_for(100);
}

/* X4 R15: a third host replays the client's last update, a tampered
 * copy, and, once the client made another request, the same old update:
 * nothing moves, each is counted (cached answer resent, unauthenticated,
 * out of the window). */
static void replayed_or_forged_update_moves_nothing(void **state)
{
    (void)state;
    connected(NULL, NULL);
    move_to(PRIV_B, 1);
    run_for(200);
    const struct rec *u = last_update();
    struct ns_ike_sa_status before = ike_net_one_sa(gwn()->ike.e);
    struct ns_ike_counters c0 = ike_net_counters(gwn()->ike.e);

    inject(u, THIRD, false);
    struct ns_ike_counters c1 = ike_net_counters(gwn()->ike.e);
    assert_int_equal(c1.responses_resent, c0.responses_resent + 1);

    inject(u, THIRD, true);
    struct ns_ike_counters c2 = ike_net_counters(gwn()->ike.e);
    assert_int_equal(c2.dropped_unauth, c1.dropped_unauth + 1);

    /* A liveness check from the client: the update's ID is old now. */
    struct ns_ike_sa_status cs = ike_net_one_sa(cln()->ike.e);
    struct ike_net_sk ans;
    assert_int_equal(ike_net_sk_request(&N->net, 1, &cs, NS_INFORMATIONAL, u->msg_id + 1, NULL,
                                        NULL, &ans),
                     0);
    struct ns_ike_counters c3 = ike_net_counters(gwn()->ike.e);
    inject(u, THIRD, false);
    struct ns_ike_counters c4 = ike_net_counters(gwn()->ike.e);
    assert_int_equal(c4.dropped_unexpected, c3.dropped_unexpected + 1);

    struct ns_ike_sa_status after = ike_net_one_sa(gwn()->ike.e);
    assert_true(ns_endpoint_equal(&after.remote, &before.remote));
    assert_int_equal(after.addr_updates, before.addr_updates);
    assert_int_equal(c4.mobike_updates, c0.mobike_updates);
    assert_int_equal(c4.peer_moves, c0.peer_moves);
    struct ns_endpoint pub_b = nat_ep(1);
    assert_esp_path(gwn(), 2, NULL, &pub_b, true);
}

static void add_update(struct ns_ike_builder *b, void *arg)
{
    (void)arg;
    ns_ike_add_notify(b, 0, NULL, 0, NS_N_UPDATE_SA_ADDRESSES, NULL, 0);
}

/* X4: with MOBIKE off an authenticated UPDATE_SA_ADDRESSES moves nothing
 * (RFC 7296 2.23 alone applies) and is counted. */
static void update_refused_when_off(void **state)
{
    (void)state;
    connected("mobike = no\n", NULL);
    struct ns_ike_sa_status cs = ike_net_one_sa(cln()->ike.e), g0 = ike_net_one_sa(gwn()->ike.e);
    struct ike_net_sk ans;
    assert_int_equal(
        ike_net_sk_request(&N->net, 1, &cs, NS_INFORMATIONAL, 2, add_update, NULL, &ans), 0);
    assert_int_equal(ike_net_counters(gwn()->ike.e).mobike_refused, 1);
    assert_int_equal(ike_net_counters(gwn()->ike.e).mobike_updates, 0);
    assert_null(ns_ike_find_notify(&ans.inner, NS_N_NAT_DETECTION_SOURCE_IP));
    struct ns_ike_sa_status g1 = ike_net_one_sa(gwn()->ike.e);
    assert_true(ns_endpoint_equal(&g1.remote, &g0.remote));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(negotiated_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(off_when_either_says_no, setup, teardown),
        cmocka_unit_test_setup_teardown(off_when_gateway_says_no, setup, teardown),
        cmocka_unit_test_setup_teardown(update_moves_sas, setup, teardown),
        cmocka_unit_test_setup_teardown(nat_disappears_and_appears, setup, teardown),
        cmocka_unit_test_setup_teardown(update_during_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(update_while_retransmission_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_path_found_by_path_testing, setup, teardown),
        cmocka_unit_test_setup_teardown(esp_bounded_until_new_path_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(rekey_during_check_stays_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(liveness_after_silence_sends_an_update, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_or_forged_update_moves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(update_refused_when_off, setup, teardown),
        cmocka_unit_test_setup_teardown(path_change_sends_an_update_first, setup, teardown),
        cmocka_unit_test_setup_teardown(path_change_without_mobike, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
