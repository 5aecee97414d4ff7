/* Unit tests for the IKEv2 SA engine (src/ike/engine.h): one gateway engine
 * and one or more client engines in this process, a simulated network that
 * carries their datagrams, simulated time, and simulated NATs that rewrite
 * a client's source address and port (a rebinding changes the port).
 *
 * Each scenario names the requirement it shows (R4, R5, R6, R9, R14, R15). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "ike/engine.h"
#include "ike/msg.h"
#include "support/alloc_count.h"
#include "support/ike_net.h"
#include "support/test_addr.h"
#include "util/log.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 40
#define MAX_NATS 4
#define MAX_SPIS 64
#define PKT_MAX 4096
#define MAX_SENT 4096
#define T0 1000000u

/* ---- the simulated world ---- */

/* Every datagram an engine handed to ops->send, as sent (before any NAT). */
struct sent {
    int node;
    struct ns_endpoint local, remote;
    uint8_t exchange, flags;
    uint32_t msg_id;
    bool marker;
    uint64_t t;
    uint8_t data[PKT_MAX];
    size_t len;
};

enum verdict { PASS, DROP, DUP };
typedef enum verdict (*filter_fn)(const struct sent *s, unsigned nth);

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
    struct sent sent[MAX_SENT];
    unsigned n_sent;
    filter_fn filter;
    bool mute; /* drop everything sent, unrecorded */
    /* The datagram being delivered, to check the gateway answers exactly
     * where a request came from (R4). */
    bool delivering;
    int cur_node;
    struct ns_endpoint cur_src, cur_dst;
};

static struct net *N;

static bool ep_is(struct ns_endpoint a, const struct ns_endpoint *b)
{
    return ns_endpoint_equal(&a, b);
}

static int node_index(const struct ike_node *n)
{
    return ike_net_node_index(&N->net, n);
}

/* ---- NAT ---- */

static struct ns_endpoint nat_public(int nat_i, int node, uint16_t priv_port)
{
    struct ike_sim_nat *nat = &N->net.nat[nat_i];
    for (unsigned i = 0; i < nat->n; i++)
        if (nat->m[i].node == node && nat->m[i].priv.port == priv_port)
            return (struct ns_endpoint){.addr = nat->pub, .port = nat->m[i].pub_port};
    fail_msg("no mapping for node %d port %u", node, priv_port);
    return (struct ns_endpoint){0};
}

/* ---- the network ---- */

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    struct ike_node *n = ctx;
    int idx = node_index(n);
    assert_true(len >= NS_IKE_HEADER_LEN);
    if (N->mute)
        return;
    /* The marker goes exactly with the NAT-T port (RFC 3948 2.2). */
    assert_int_equal(marker, local->port == 4500);
    assert_true(N->n_sent < MAX_SENT);
    struct sent *s = &N->sent[N->n_sent++];
    *s = (struct sent){.node = idx,
                       .local = *local,
                       .remote = *remote,
                       .exchange = msg[18],
                       .flags = msg[19],
                       .msg_id = ns_get_u32(msg + 20),
                       .marker = marker,
                       .t = N->net.now,
                       .len = len};
    memcpy(s->data, msg, len);
    if (idx == 0 && (s->flags & NS_IKE_FLAG_RESPONSE) && N->delivering && N->cur_node == 0) {
        /* R4: the gateway answers to exactly where the request came from. */
        assert_true(ns_endpoint_equal(remote, &N->cur_src));
        assert_true(ns_endpoint_equal(local, &N->cur_dst));
    }
    enum verdict v = PASS;
    if (N->filter) {
        unsigned nth = 0;
        for (unsigned i = 0; i + 1 < N->n_sent; i++)
            nth += N->sent[i].node == idx && N->sent[i].exchange == s->exchange &&
                   N->sent[i].flags == s->flags;
        v = N->filter(s, nth);
    }
    if (v == DROP)
        return;
    ike_net_send(&N->net, idx, local, remote, msg, len);
    if (v == DUP)
        ike_net_send(&N->net, idx, local, remote, msg, len);
}

/* The datagram being delivered, for R4's check in ops_send. */
static void before_input(int to, const struct ike_sim_pkt *p, const struct ns_endpoint *local)
{
    N->delivering = true;
    N->cur_node = to;
    N->cur_src = p->src;
    N->cur_dst = *local;
}

static void after_input(void)
{
    N->delivering = false;
}

/* Runs the world until `until`: delivers every datagram at once, and fires
 * the engines' timers in time order. */
static void run_until(uint64_t until)
{
    ike_net_run_until(&N->net, until);
}

static void run_for(uint64_t ms)
{
    run_until(N->net.now + ms);
}

static unsigned live_spis(const struct ike_node *n)
{
    return ike_sim_spi_live(&n->spis);
}

/* ---- configurations ---- */

struct gw_opts {
    const char *extra;         /* more [natsecd] lines */
    const char *pool;          /* default 10.99.0.0/24 */
    bool no_default;           /* no [peer %default] */
    const char *ike;           /* ike_proposals */
    const char *dns;           /* default 192.0.2.53 */
    const char *alice_subnets; /* default 192.0.2.0/24, 198.18.0.0/16 */
};

/* base's lines, except those whose key extra sets too, then extra: a
 * test overrides a default without a "set twice" configuration error. */
static void merge(char *out, size_t cap, const char *base, const char *extra)
{
    size_t n = 0;
    out[0] = 0;
    for (const char *l = base; *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) + 1 : strlen(l);
        size_t klen = strcspn(l, " =");
        bool overridden = false;
        for (const char *x = extra; x && *x; x += strcspn(x, "\n") + (x[strcspn(x, "\n")] != 0))
            overridden |= strncmp(x, l, klen) == 0 && x[klen] == ' ';
        if (!overridden && n + len < cap) {
            memcpy(out + n, l, len);
            n += len;
            out[n] = 0;
        }
        l += len;
    }
    snprintf(out + n, cap - n, "%s\n", extra ? extra : "");
}

/* Node 0 is always the gateway, at GW_ADDR. */
static struct ike_node *add_gateway(const struct gw_opts *o)
{
    char text[4096], settings[1024];
    merge(settings, sizeof(settings),
          "retransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 60\n"
          "half_open_max = 50\ncookie_threshold = 20\n",
          o ? o->extra : NULL);
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
             "ike_proposals = %s\n"
             "pool = %s\ndns = %s\n%s\n"
             "[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
             "subnets = %s\n"
             "[peer bob@corp.example]\npsk = bob-secret-0123456789\nsubnets = 192.0.2.0/24\n"
             "%s",
             o && o->ike ? o->ike : "aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048",
             o && o->pool ? o->pool : "10.99.0.0/24", o && o->dns ? o->dns : "192.0.2.53", settings,
             o && o->alice_subnets ? o->alice_subnets : "192.0.2.0/24, 198.18.0.0/16",
             o && o->no_default ? ""
                                : "[peer %default]\npsk = common-secret-0123456789\n"
                                  "subnets = 192.0.2.80/32\n");
    return ike_net_add_started_node(&N->net, "gateway", GW_ADDR, -1, MAX_SPIS, text, NULL);
}

struct cl_opts {
    const char *id;    /* default alice@corp.example */
    const char *psk;   /* default alice's */
    const char *extra; /* more [natsecd] lines */
    const char *peer;  /* more [peer] lines */
    const char *subnets;
};

static struct ike_node *add_client(const char *name, const char *a, int nat,
                                   const struct cl_opts *o)
{
    char text[2048], settings[1024];
    merge(settings, sizeof(settings), "retransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 60\n",
          o ? o->extra : NULL);
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = %s\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\n%s\n"
             "[peer vpn.corp.example]\npsk = %s\nsubnets = %s\n%s",
             o && o->id ? o->id : "alice@corp.example", settings,
             o && o->psk ? o->psk : "alice-secret-0123456789",
             o && o->subnets ? o->subnets : "192.0.2.0/24", o && o->peer ? o->peer : "");
    return ike_net_add_started_node(&N->net, name, a, nat, MAX_SPIS, text, NULL);
}

static void connect_client(struct ike_node *n)
{
    ike_net_connect(&N->net, n->e, &n->addr);
}

/* ---- inspection ---- */

/* The gateway's SA of a remote identity. */
static struct ns_ike_sa_status gw_sa_of(const char *id_text)
{
    struct ns_conf_id id;
    assert_int_equal(ns_conf_id_parse(id_text, &id), 0);
    struct ike_net_sas l = ike_net_sas_of(N->node[0].e);
    for (unsigned i = 0; i < l.n; i++)
        if (ns_conf_id_equal(&l.st[i].remote_id, &id))
            return l.st[i];
    fail_msg("no gateway SA for %s", id_text);
    return l.st[0];
}

static struct ns_ike_counters counters(const struct ike_node *n)
{
    return ike_net_counters(n->e);
}

static bool established(const struct ike_node *n)
{
    return ike_net_one_established(n->e);
}

/* The gateway child whose inbound SPI is the client's outbound one. */
static const struct ike_node_child *gw_child_for(const struct ike_node *cl)
{
    const struct ike_node *gw = &N->node[0];
    const struct ike_node_child *c = ike_node_last_child(cl);
    for (unsigned i = 0; i < gw->n_child_up; i++)
        if (ike_node_child(gw, i)->in.spi == c->out.spi)
            return ike_node_child(gw, i);
    fail_msg("the gateway has no CHILD SA with SPI 0x%08x", c->out.spi);
    return NULL;
}

/* Both ends installed the same CHILD_SA: SPIs paired, each direction's keys
 * equal on both ends, same algorithms. */
static void assert_child_pair(const struct ike_node *cl)
{
    const struct ike_node_child *c = ike_node_last_child(cl);
    const struct ike_node_child *g = gw_child_for(cl);
    assert_int_equal(c->in.spi, g->out.spi);
    const struct ns_esp_sa_spec *pairs[2][2] = {{&c->out, &g->in}, {&g->out, &c->in}};
    for (int i = 0; i < 2; i++) {
        const struct ns_esp_sa_spec *a = pairs[i][0], *b = pairs[i][1];
        assert_int_equal(a->encr, b->encr);
        assert_int_equal(a->integ, b->integ);
        assert_int_equal(a->encr_key_len, b->encr_key_len);
        assert_true(a->encr_key_len > 0);
        assert_memory_equal(a->encr_key, b->encr_key, a->encr_key_len);
        assert_int_equal(a->integ_key_len, b->integ_key_len);
        assert_memory_equal(a->integ_key, b->integ_key, a->integ_key_len);
    }
    /* The two directions have different keys. */
    assert_memory_not_equal(c->in.encr_key, c->out.encr_key, c->in.encr_key_len);
    assert_int_equal(c->in.mode, NS_ESP_TUNNEL);
    assert_int_equal(g->in.mode, NS_ESP_TUNNEL);
    assert_int_equal(c->in.ike_sa_id, ike_net_one_sa(cl->e).id);
}

static unsigned count_sent(int node, uint8_t exchange, bool response, uint16_t port)
{
    unsigned k = 0;
    for (unsigned i = 0; i < N->n_sent; i++) {
        const struct sent *s = &N->sent[i];
        k += s->node == node && s->exchange == exchange &&
             !!(s->flags & NS_IKE_FLAG_RESPONSE) == response && s->local.port == port;
    }
    return k;
}

static bool log_has(const char *needle)
{
    return ike_sim_log_has(&N->net.log, needle);
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_INFO, .guard = 200000, .before_input = before_input,
                .after_input = after_input, .send = ops_send)

/* ================= scenarios ================= */

/* R14: no NAT in the path: IKE stays on port 500, nobody reports a NAT,
 * ESP is not encapsulated. */
static void no_nat_stays_on_500(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(1000);
    assert_true(established(gw));
    assert_true(established(cl));
    for (unsigned i = 0; i < N->n_sent; i++) {
        assert_int_equal(N->sent[i].local.port, 500);
        assert_int_equal(N->sent[i].remote.port, 500);
        assert_false(N->sent[i].marker);
    }
    struct ns_ike_sa_status c = ike_net_one_sa(cl->e), g = ike_net_one_sa(gw->e);
    assert_false(c.nat_local || c.nat_remote || c.udp_encap);
    assert_false(g.nat_local || g.nat_remote || g.udp_encap);
    assert_int_equal(cl->n_client_up, 1);
    assert_true(ns_addr_equal(&cl->vip, &c.vip));
    assert_true(ns_addr_equal(&g.vip, &c.vip));
    char v[NS_ADDR_STRLEN];
    assert_string_equal(ns_addr_str(&cl->vip, v), "10.99.0.2");
    assert_int_equal(cl->n_dns, 1);
    assert_child_pair(cl);
    assert_false(cl->child[0].out.udp_encap);
    assert_false(gw->child[0].out.udp_encap);
    /* R9: the gateway's selectors are vip/32 <-> the identity's subnets. */
    char ts[NS_TS_STRLEN];
    assert_int_equal(gw->child[0].in.n_remote_ts, 1);
    assert_string_equal(ns_ts_str(&gw->child[0].in.remote_ts[0], ts), "10.99.0.2/32");
    assert_string_equal(ns_ts_str(&gw->child[0].in.local_ts[0], ts), "192.0.2.0/24");
    assert_string_equal(ns_ts_str(&cl->routes[0], ts), "192.0.2.0/24");
    assert_int_equal(c.n_child, 1);
    assert_int_equal(c.child[0].spi_in, cl->child[0].in.spi);
    assert_true(log_has("established: local 'vpn.corp.example' 198.51.100.1:500, remote "
                        "'alice@corp.example' 203.0.113.20:500, NAT: local no, remote no"));
    assert_int_equal(counters(gw).children_installed, 1);
    assert_int_equal(counters(cl).children_installed, 1);
    /* R4/R14: without a NAT a peer has no reason to move: verified ESP from
     * another port does not move the SA. */
    struct ns_endpoint other = test_ep("203.0.113.20", 4500), local = test_ep(GW_ADDR, 500);
    ns_ike_engine_esp_from(gw->e, g.id, &local, &other, N->net.now);
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &c.local));
    assert_int_equal(gw->n_moved, 0);
    /* Nor does ESP that came in on the NAT-T port, from anywhere: only IKE
     * floats to 4500, and only when a NAT was detected. */
    struct ns_endpoint natt = test_ep(GW_ADDR, 4500), elsewhere = test_ep("203.0.113.99", 4500);
    ns_ike_engine_esp_from(gw->e, g.id, &natt, &other, N->net.now);
    ns_ike_engine_esp_from(gw->e, g.id, &natt, &elsewhere, N->net.now);
    g = ike_net_one_sa(gw->e);
    assert_true(ep_is(g.remote, &c.local));
    assert_true(ep_is(g.local, &local));
    assert_int_equal(gw->n_moved, 0);
    assert_int_equal(counters(gw).peer_moves, 0);
}

/* R4: a NAT is detected in IKE_SA_INIT and IKE_AUTH goes from the client's
 * port 4500 to the gateway's 4500 with the non-ESP marker; each side knows
 * who is behind the NAT; the gateway uses the NAT's mapping. */
static void nat_floats_to_4500(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    struct ike_node *cl = add_client("client", "192.168.1.10", nat, NULL);
    connect_client(cl);
    run_for(1000);
    assert_true(established(gw) && established(cl));
    int c = node_index(cl);
    assert_int_equal(count_sent(c, NS_IKE_SA_INIT, false, 500), 1);
    assert_int_equal(count_sent(c, NS_IKE_AUTH, false, 4500), 1);
    assert_int_equal(count_sent(c, NS_IKE_AUTH, false, 500), 0);
    assert_int_equal(count_sent(0, NS_IKE_AUTH, true, 4500), 1);
    struct ns_ike_sa_status cs = ike_net_one_sa(cl->e), gs = ike_net_one_sa(gw->e);
    assert_true(cs.nat_local);
    assert_false(cs.nat_remote);
    assert_false(gs.nat_local);
    assert_true(gs.nat_remote);
    assert_true(cs.udp_encap && gs.udp_encap);
    struct ns_endpoint pub = nat_public(nat, c, 4500);
    assert_true(ns_endpoint_equal(&gs.remote, &pub));
    assert_int_equal(gs.local.port, 4500);
    assert_int_equal(cs.local.port, 4500);
    assert_int_equal(cs.remote.port, 4500);
    assert_child_pair(cl);
    const struct ike_node_child *g = gw_child_for(cl);
    assert_true(g->out.udp_encap && cl->child[0].out.udp_encap);
    assert_true(ns_endpoint_equal(&g->out.peer, &pub));
    assert_true(log_has("NAT: local no, remote yes"));
    assert_true(log_has("NAT: local yes, remote no"));
}

/* R14/R4: forced encapsulation floats to 4500 without any NAT. */
static void forced_encap_without_nat(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct cl_opts o = {.extra = "force_encap = yes"};
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, &o);
    connect_client(cl);
    run_for(1000);
    assert_true(established(gw) && established(cl));
    assert_int_equal(count_sent(node_index(cl), NS_IKE_AUTH, false, 4500), 1);
    struct ns_ike_sa_status gs = ike_net_one_sa(gw->e), cs = ike_net_one_sa(cl->e);
    assert_true(gs.nat_remote); /* the forced hash matches nothing */
    assert_false(cs.nat_local);
    assert_true(cs.forced_encap && cs.udp_encap && gs.udp_encap);
    assert_true(
        ns_endpoint_equal(&gs.remote, &(struct ns_endpoint){test_addr("203.0.113.20"), 4500}));
    assert_child_pair(cl);
    assert_true(gw_child_for(cl)->out.udp_encap);
}

/* Forced encapsulation on the gateway's side: the client sees a "NAT" at
 * the gateway and floats; the gateway follows to 4500 on the first
 * authenticated message there. */
static void gateway_forced_encap(void **state)
{
    (void)state;
    struct gw_opts go = {.extra = "force_encap = yes"};
    struct ike_node *gw = add_gateway(&go);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(1000);
    assert_true(established(gw) && established(cl));
    struct ns_ike_sa_status gs = ike_net_one_sa(gw->e), cs = ike_net_one_sa(cl->e);
    assert_true(cs.nat_remote);
    assert_false(cs.nat_local || gs.nat_local || gs.nat_remote);
    assert_int_equal(count_sent(node_index(cl), NS_IKE_AUTH, false, 4500), 1);
    assert_int_equal(count_sent(0, NS_IKE_AUTH, true, 4500), 1);
    assert_int_equal(gs.local.port, 4500);
    assert_int_equal(gs.remote.port, 4500);
    assert_child_pair(cl);
    assert_true(gw_child_for(cl)->out.udp_encap && cl->child[0].out.udp_encap);
    assert_int_equal(gw->n_moved, 0); /* floating is not a move of an installed SA */
}

/* R6, R5: two clients with the same private address behind two NATs, and
 * two behind one NAT, all at once: distinct virtual IPs and SAs, each
 * CHILD_SA aimed at its own NAT mapping. */
static void overlapping_private_addresses(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    int nat1 = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    int nat2 = ike_net_add_nat(&N->net, "203.0.113.6", 40000);
    int nat3 = ike_net_add_nat(&N->net, "203.0.113.7", 50000);
    struct cl_opts bob = {.id = "bob@corp.example", .psk = "bob-secret-0123456789"};
    struct cl_opts carol = {
        .id = "carol@corp.example", .psk = "common-secret-0123456789", .subnets = "192.0.2.80/32"};
    struct cl_opts dave = {
        .id = "dave@corp.example", .psk = "common-secret-0123456789", .subnets = "192.0.2.80/32"};
    struct ike_node *cl[4] = {add_client("alice", "192.168.1.10", nat1, NULL),
                              add_client("bob", "192.168.1.10", nat2, &bob),
                              add_client("carol", "10.0.0.2", nat3, &carol),
                              add_client("dave", "10.0.0.3", nat3, &dave)};
    for (int i = 0; i < 4; i++)
        connect_client(cl[i]);
    run_for(1000);
    const char *ids[4] = {"alice@corp.example", "bob@corp.example", "carol@corp.example",
                          "dave@corp.example"};
    assert_int_equal(ike_net_sas_of(gw->e).n, 4);
    for (int i = 0; i < 4; i++) {
        assert_true(established(cl[i]));
        assert_int_equal(cl[i]->n_client_up, 1);
        struct ns_ike_sa_status g = gw_sa_of(ids[i]);
        struct ns_endpoint pub = nat_public(cl[i]->nat, node_index(cl[i]), 4500);
        assert_true(ns_endpoint_equal(&g.remote, &pub));
        assert_true(ns_addr_equal(&g.vip, &cl[i]->vip));
        assert_child_pair(cl[i]);
        assert_true(ns_endpoint_equal(&gw_child_for(cl[i])->out.peer, &pub));
        for (int k = 0; k < i; k++) {
            assert_false(ns_addr_equal(&cl[i]->vip, &cl[k]->vip));
            assert_int_not_equal(ike_net_one_sa(cl[i]->e).id, ike_net_one_sa(cl[k]->e).id);
            assert_int_not_equal(gw_sa_of(ids[i]).id, gw_sa_of(ids[k]).id);
        }
    }
    /* The %default identities may reach only their one server (R9). */
    char ts[NS_TS_STRLEN];
    assert_string_equal(ns_ts_str(&gw_child_for(cl[2])->in.local_ts[0], ts), "192.0.2.80/32");
    assert_int_equal(gw->n_child_up, 4);
}

/* A wrong PSK: AUTHENTICATION_FAILED on both sides, clear log lines, the
 * SA gone, and the gateway keeps serving another client. */
static void wrong_psk(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct cl_opts bad = {.psk = "not-alices-secret-at-all"};
    struct ike_node *mallory = add_client("mallory", "203.0.113.66", -1, &bad);
    struct cl_opts bob = {.id = "bob@corp.example", .psk = "bob-secret-0123456789"};
    struct ike_node *good = add_client("bob", "203.0.113.20", -1, &bob);
    connect_client(mallory);
    connect_client(good);
    run_for(1000);
    assert_int_equal(mallory->n_client_down, 1);
    assert_int_equal(mallory->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_int_equal(mallory->n_child_up, 0);
    assert_int_equal(ike_net_sas_of(mallory->e).n, 0);
    assert_true(established(good));
    assert_int_equal(ike_net_sas_of(gw->e).n, 1);
    assert_int_equal(counters(gw).auth_failures, 1);
    assert_int_equal(counters(mallory).auth_failures, 1);
    assert_int_equal(gw->n_child_up, 1);
    assert_true(log_has("IKE_AUTH from 203.0.113.66:500: authentication failed: AUTH of "
                        "'alice@corp.example' does not verify (wrong PSK?)"));
    assert_true(log_has("authentication with gateway 198.51.100.1:500 failed: the gateway "
                        "answered AUTHENTICATION_FAILED"));
    /* No virtual IP was used up by the failure: bob got the first one. */
    char v[NS_ADDR_STRLEN];
    assert_string_equal(ns_addr_str(&good->vip, v), "10.99.0.2");
}

/* R3: an identity with no [peer] section and no %default is refused. */
static void unknown_identity(void **state)
{
    (void)state;
    struct gw_opts go = {.no_default = true};
    struct ike_node *gw = add_gateway(&go);
    struct cl_opts o = {.id = "eve@elsewhere.example", .psk = "common-secret-0123456789"};
    struct ike_node *cl = add_client("eve", "203.0.113.66", -1, &o);
    connect_client(cl);
    run_for(1000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_int_equal(counters(gw).auth_failures, 1);
    assert_true(log_has("unknown identity 'eve@elsewhere.example'"));
}

/* No acceptable IKE proposal: NO_PROPOSAL_CHOSEN and no state at the
 * gateway; the answer is unprotected, so the client waits for a valid one
 * until its request times out and then tries again (RFC 7296 2.21.1, X2).
 * No acceptable ESP proposal: IKE SA up, no CHILD_SA, the client deletes
 * the IKE SA. */
static void assert_no_ike_proposal(const struct ike_node *gw, const struct cl_opts *o)
{
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, o);
    connect_client(cl);
    run_for(1000);
    assert_int_equal(cl->n_client_down, 0);
    assert_true(log_has("not taken (the gateway answered NO_PROPOSAL_CHOSEN)"));
    run_for(20000); /* sends after 0, 1, 3, 7 s; given up at 15 s */
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_TIMEOUT);
    assert_true(ns_ike_down_retry(cl->down_reason));
    assert_int_equal(counters(gw).no_proposal_sent, 4);
    assert_int_equal(counters(gw).ike_sas, 0);
    assert_true(log_has("giving up; the last unprotected answer: the gateway answered "
                        "NO_PROPOSAL_CHOSEN"));
}

static void no_acceptable_proposal(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct cl_opts o = {.extra = "ike_proposals = chacha20poly1305-prfsha512-ecp256"};
    assert_no_ike_proposal(gw, &o);

    struct cl_opts o2 = {.id = "bob@corp.example",
                         .psk = "bob-secret-0123456789",
                         .extra = "esp_proposals = null-sha256"};
    struct ike_node *cl2 = add_client("bob", "203.0.113.21", -1, &o2);
    connect_client(cl2);
    run_for(1000);
    assert_int_equal(cl2->n_client_down, 1);
    assert_int_equal(cl2->down_reason, NS_IKE_DOWN_NEGOTIATION);
    assert_int_equal(cl2->n_child_up, 0);
    assert_int_equal(gw->n_child_up, 0);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0); /* deleted by the client */
    assert_true(log_has("no CHILD SA: NO_PROPOSAL_CHOSEN"));
}

/* X12: a client offering only Windows' default suites (3DES, HMAC-SHA1
 * PRF and integrity, MODP-1024) gets NO_PROPOSAL_CHOSEN from a gateway at
 * default settings. */
static void legacy_suites_refused_by_default(void **state)
{
    /* X12 */
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct cl_opts o = {.extra = "legacy_proposals = yes\nike_proposals = 3des-sha1-modp1024\n"
                                 "esp_proposals = 3des-sha1"};
    assert_no_ike_proposal(gw, &o);
    assert_int_equal(counters(gw).no_proposal_sent, 4); /* each of the client's sends */
    assert_true(log_has("no acceptable IKE proposal in 3des-sha1-prfsha1-modp1024, "
                        "NO_PROPOSAL_CHOSEN (it offers only weak algorithms, which "
                        "legacy_proposals = yes allows)"));
}

/* X12: with legacy_proposals = yes on the gateway (and the Windows suites
 * in its written IKE list; ESP takes the default list, to which 3des-sha1
 * is appended) the same client gets an
 * IKE SA of 3des-sha1-prfsha1-modp1024 (SHA-1 key derivation, 3DES and
 * HMAC-SHA1-96 in the SK payload, the SHA-1 PRF in AUTH) and a 3des-sha1
 * CHILD_SA whose keys both ends agree on; an AES-256/SHA-1/MODP-1024
 * client after it gets aes256-sha1. */
static void legacy_suites_with_legacy_proposals(void **state)
{
    /* X12 */
    (void)state;
    struct gw_opts go = {.extra = "legacy_proposals = yes",
                         .ike = "aes128gcm16-prfsha256-x25519, aes256-sha1-modp1024, "
                                "3des-sha1-modp1024"};
    struct ike_node *gw = add_gateway(&go);
    struct cl_opts o = {.extra = "legacy_proposals = yes\nike_proposals = 3des-sha1-modp1024\n"
                                 "esp_proposals = 3des-sha1"};
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, &o);
    connect_client(cl);
    run_for(1000);
    assert_true(established(cl) && established(gw));
    const struct ns_proposal ike = ike_net_one_sa(cl->e).ike_alg;
    assert_int_equal(ike.encr, NS_ENCR_3DES);
    assert_int_equal(ike.integ, NS_INTEG_HMAC_SHA1_96);
    assert_int_equal(ike.prf, NS_PRF_HMAC_SHA1);
    assert_int_equal(ike.dh, NS_DH_MODP1024);
    assert_child_pair(cl);
    assert_int_equal(cl->child[0].out.encr, NS_ENCR_3DES);
    assert_int_equal(cl->child[0].out.integ, NS_INTEG_HMAC_SHA1_96);
    assert_int_equal(cl->child[0].out.encr_key_len, 24);
    assert_int_equal(cl->child[0].out.integ_key_len, 20);

    struct cl_opts o2 = {.id = "bob@corp.example",
                         .psk = "bob-secret-0123456789",
                         .extra = "legacy_proposals = yes\nike_proposals = aes256-sha1-modp1024\n"
                                  "esp_proposals = aes256-sha1"};
    struct ike_node *cl2 = add_client("bob", "203.0.113.21", -1, &o2);
    connect_client(cl2);
    run_for(1000);
    assert_true(established(cl2));
    assert_int_equal(ike_net_one_sa(cl2->e).ike_alg.encr, NS_ENCR_AES_CBC);
    assert_int_equal(ike_net_one_sa(cl2->e).ike_alg.prf, NS_PRF_HMAC_SHA1);
    assert_child_pair(cl2);
    assert_int_equal(cl2->child[0].out.integ, NS_INTEG_HMAC_SHA1_96);
}

/* The client's first KE group is not the gateway's: INVALID_KE_PAYLOAD,
 * the client repeats with the asked group and succeeds. */
static void invalid_ke_retry(void **state)
{
    (void)state;
    struct gw_opts go = {.ike = "aes128gcm16-prfsha256-x25519"};
    struct ike_node *gw = add_gateway(&go);
    struct cl_opts o = {
        .extra = "ike_proposals = aes128gcm16-prfsha256-ecp256, aes128gcm16-prfsha256-x25519"};
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, &o);
    connect_client(cl);
    run_for(1000);
    assert_int_equal(counters(gw).invalid_ke_sent, 1);
    assert_true(established(cl) && established(gw));
    assert_int_equal(ike_net_one_sa(cl->e).ike_alg.dh, NS_DH_CURVE25519);
    assert_int_equal(count_sent(node_index(cl), NS_IKE_SA_INIT, false, 500), 2);
    assert_child_pair(cl);
}

/* Flood helpers: clients whose answers never come back. */
static enum verdict pass_all(const struct sent *s, unsigned nth)
{
    (void)s;
    (void)nth;
    return PASS;
}

/* R15: above cookie_threshold half-open SAs the gateway answers with a
 * COOKIE and keeps no state; a real client repeats with the cookie and
 * connects during the flood; half-open state stays bounded. */
static void cookies_under_load(void **state)
{
    (void)state;
    struct gw_opts go = {.extra = ""};
    struct ike_node *gw = add_gateway(&go); /* cookie_threshold 20, half_open_max 50 */
    N->filter = pass_all;
    struct ike_node *flood[30];
    for (int i = 0; i < 30; i++) {
        char name[32], a[32];
        snprintf(name, sizeof(name), "flood%d", i);
        snprintf(a, sizeof(a), "203.0.113.%d", 100 + i);
        flood[i] = add_client(name, a, -1, NULL);
        flood[i]->blackhole = true; /* spoofed sources: no answer reaches them */
        connect_client(flood[i]);
    }
    run_for(10);
    struct ns_ike_counters c = counters(gw);
    assert_int_equal(c.half_open, 20);
    assert_int_equal(c.ike_sas, 20);
    assert_int_equal(c.cookies_sent, 10);
    /* The floods retransmit: still no new state. */
    run_for(3500);
    c = counters(gw);
    assert_true(c.half_open <= 20);
    assert_int_equal(c.ike_sas, c.half_open);

    struct ike_node *cl = add_client("real", "203.0.113.20", -1, NULL);
    uint64_t cookies_before = counters(gw).cookies_sent;
    connect_client(cl);
    run_for(100);
    assert_true(established(cl));
    assert_int_equal(counters(gw).cookies_sent, cookies_before + 1);
    assert_int_equal(count_sent(node_index(cl), NS_IKE_SA_INIT, false, 500), 2);
    /* The second one returns the gateway's COOKIE. */
    const struct sent *again = NULL;
    for (unsigned i = 0; i < N->n_sent; i++)
        if (N->sent[i].node == node_index(cl) && N->sent[i].exchange == NS_IKE_SA_INIT)
            again = &N->sent[i];
    assert_non_null(again);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(again->data, again->len, &h, &pl), NS_IKE_OK);
    assert_non_null(ns_ike_find_notify(&pl, NS_N_COOKIE));
    assert_child_pair(cl);
    /* Half-open SAs expire; the flood gives up. */
    run_for(60000);
    c = counters(gw);
    assert_int_equal(c.half_open, 0);
    assert_int_equal(c.ike_sas, 1);
    for (int i = 0; i < 30; i++)
        assert_int_equal(flood[i]->down_reason, NS_IKE_DOWN_TIMEOUT);
}

/* Node 1 (blocker) loses its first IKE_AUTH request; every IKE_SA_INIT
 * answer to node 2 (late) is held back (recorded, not delivered). */
static bool lose_cookie_request; /* and node 2's IKE_SA_INIT with a COOKIE is lost */

static enum verdict hold_answers_to_late(const struct sent *s, unsigned nth)
{
    bool resp = s->flags & NS_IKE_FLAG_RESPONSE;
    if (s->node == 0 && resp && s->exchange == NS_IKE_SA_INIT &&
        ns_addr_equal(&s->remote.addr, &N->node[2].addr))
        return DROP;
    if (lose_cookie_request && s->node == 2 && !resp && s->exchange == NS_IKE_SA_INIT &&
        s->data[16] == NS_PL_NOTIFY)
        return DROP;
    return s->node == 1 && !resp && s->exchange == NS_IKE_AUTH && nth == 0 ? DROP : PASS;
}

/* The gateway's nth IKE_SA_INIT answer to node, held back by the filter. */
static const struct sent *init_answer_to(const struct ike_node *n, unsigned nth)
{
    for (unsigned i = 0; i < N->n_sent; i++) {
        const struct sent *s = &N->sent[i];
        if (s->node == 0 && s->exchange == NS_IKE_SA_INIT && (s->flags & NS_IKE_FLAG_RESPONSE) &&
            ns_addr_equal(&s->remote.addr, &n->addr) && nth-- == 0)
            return s;
    }
    fail_msg("no IKE_SA_INIT answer #%u to %s", nth, n->name);
    return NULL;
}

/* R12, R15: the gateway's load crosses cookie_threshold between a client's
 * IKE_SA_INIT and its retransmission: the first copy is answered with a
 * COOKIE, the second (the load gone) with a half-open SA. The COOKIE
 * reaches the client first, so it repeats its request with the COOKIE,
 * then the answer to the second copy arrives and it takes it: its IKE_AUTH
 * signs the request with the COOKIE, the last one it sent (RFC 7296 2.15),
 * where the gateway kept the copy without. The gateway must check the
 * AUTH over the request the client signs, and the client connects (seen
 * in a restart storm of 20,000 clients: AUTH failures in bursts). */
static void cookie_race(bool lost)
{
    lose_cookie_request = lost;
    struct gw_opts go = {.extra = "half_open_max = 50\ncookie_threshold = 1"};
    struct ike_node *gw = add_gateway(&go);
    N->filter = hold_answers_to_late;
    struct ike_node *blocker = add_client("blocker", "203.0.113.30", -1, NULL);
    connect_client(blocker); /* half-open until its IKE_AUTH is retransmitted in 1 s */
    run_for(100);
    assert_int_equal(counters(gw).half_open, 1);
    struct ike_node *late = add_client("late", "203.0.113.20", -1, NULL);
    connect_client(late);
    run_for(10);
    assert_int_equal(counters(gw).cookies_sent, 1);
    run_for(1100); /* the blocker is in; the late client's retransmission gets an SA */
    assert_true(established(blocker));
    assert_int_equal(counters(gw).half_open, 1);
    const struct sent *cookie = init_answer_to(late, 0), *answer = init_answer_to(late, 1);
    assert_int_equal(ns_get_u64(cookie->data + 8), 0); /* no SPIr: the COOKIE */
    assert_true(ns_get_u64(answer->data + 8) != 0);
    ike_net_send(&N->net, 0, &cookie->local, &cookie->remote, cookie->data, cookie->len);
    run_for(10); /* the client repeats its request with the COOKIE */
    ike_net_send(&N->net, 0, &answer->local, &answer->remote, answer->data, answer->len);
    run_for(3000);
    assert_int_equal(counters(gw).auth_failures, 0);
    assert_true(established(late));
    assert_child_pair(late);
}

static void cookie_after_answer(void **state)
{
    (void)state;
    cookie_race(false);
}

/* The same, and the request with the COOKIE never reaches the gateway (a
 * full socket under the storm): the gateway knows the COOKIE it answered
 * the first copy with, so it checks the AUTH also over the request with
 * that COOKIE. */
static void cookie_after_answer_request_lost(void **state)
{
    (void)state;
    cookie_race(true);
}

static enum verdict drop_client_auth(const struct sent *s, unsigned nth)
{
    (void)nth;
    return s->node != 0 && s->exchange == NS_IKE_AUTH ? DROP : PASS;
}

/* R15: half_open_max bounds the state even for initiators that return
 * the cookie (they receive at their address but never authenticate). */
static void half_open_bounded(void **state)
{
    (void)state;
    struct gw_opts go = {.extra = "half_open_max = 5\ncookie_threshold = 2"};
    struct ike_node *gw = add_gateway(&go);
    N->filter = drop_client_auth;
    for (int i = 0; i < 12; i++) {
        char name[32], a[32];
        snprintf(name, sizeof(name), "flood%d", i);
        snprintf(a, sizeof(a), "203.0.113.%d", 100 + i);
        connect_client(add_client(name, a, -1, NULL));
    }
    run_for(10);
    struct ns_ike_counters c = counters(gw);
    assert_int_equal(c.half_open, 5);
    assert_int_equal(c.ike_sas, 5);
    assert_int_equal(c.cookies_sent, 10);
    assert_int_equal(c.half_open_refused, 7);
}

static enum verdict drop_first_auth_response(const struct sent *s, unsigned nth)
{
    bool resp = s->flags & NS_IKE_FLAG_RESPONSE;
    return s->node == 0 && resp && s->exchange == NS_IKE_AUTH && nth == 0 ? DROP : PASS;
}

static enum verdict drop_first_init_response(const struct sent *s, unsigned nth)
{
    bool resp = s->flags & NS_IKE_FLAG_RESPONSE;
    return s->node == 0 && resp && s->exchange == NS_IKE_SA_INIT && nth == 0 ? DROP : PASS;
}

static enum verdict dup_auth_request(const struct sent *s, unsigned nth)
{
    bool resp = s->flags & NS_IKE_FLAG_RESPONSE;
    return s->node != 0 && !resp && s->exchange == NS_IKE_AUTH && nth == 0 ? DUP : PASS;
}

/* Copies first..first+count-1 of the client's captured IKE_SA_INIT
 * request (N->sent[0]), each with SPIi 0xf1000000 | k from port 1024 + k:
 * as many half-open SAs on the gateway, unless it refuses them. */
static void init_copies(struct ike_node *gw, unsigned first, unsigned count)
{
    const struct sent *init = &N->sent[0];
    uint8_t m[PKT_MAX];
    struct ns_endpoint dst = test_ep(GW_ADDR, 500);
    for (unsigned k = first; k < first + count; k++) {
        memcpy(m, init->data, init->len);
        ns_put_u32(m, 0xf1000000u | k);
        struct ns_endpoint src = {.addr = test_addr("203.0.113.200"), .port = (uint16_t)(1024 + k)};
        src.addr.a[3] = (uint8_t)(200 + k / 50000); /* ports run out at 64511 */
        ns_ike_engine_input(gw->e, &dst, &src, m, init->len, N->net.now);
    }
}

/* A gateway and a client whose IKE_SA_INIT request is captured (N->sent[0])
 * for init_copies, every datagram sent from then on dropped. */
static struct ike_node *gateway_with_captured_init(void)
{
    struct gw_opts go = {.extra = "half_open_max = 100000\ncookie_threshold = 100000"};
    struct ike_node *gw = add_gateway(&go);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    assert_int_equal(N->n_sent, 1);
    N->net.q.qh = N->net.q.qt; /* keep the captured request for copies */
    N->mute = true;            /* the answers go to nobody */
    return gw;
}

/* R12, R15: thousands of half-open SAs (copies of a real IKE_SA_INIT with
 * other SPIs from other ports) in the O(1) tables and the deadline heap; a
 * real client still connects among them, and they all expire. */
static void many_half_open_sas(void **state)
{
    (void)state;
    enum { MANY = 10000 };
    struct ike_node *gw = gateway_with_captured_init();
    struct ike_node *cl = &N->node[1];
    const struct sent *init = &N->sent[0];
    uint8_t m[PKT_MAX];
    struct ns_endpoint dst = test_ep(GW_ADDR, 500);
    size_t heap_before = alloc_count_live();
    init_copies(gw, 0, MANY);
    struct ns_ike_counters c = counters(gw);
    assert_int_equal(c.half_open, MANY);
    assert_int_equal(c.ike_sas, MANY);
    /* R12: memory per SA is bounded: what natsec and OpenSSL hold for
     * them, counted at every allocation, so in every build. */
    size_t heap_after = alloc_count_live();
    assert_true(heap_after > heap_before + MANY);
    size_t each = (heap_after - heap_before) / MANY;
    printf("# %u half-open IKE SAs: %zu bytes each\n", (unsigned)MANY, each);
    assert_true(each < 16384);
    /* A copy of one of them again: the cached answer, no new SA. */
    memcpy(m, init->data, init->len);
    ns_put_u32(m, 0xf1000000u | 7);
    struct ns_endpoint src7 = {.addr = test_addr("203.0.113.200"), .port = 1024 + 7};
    ns_ike_engine_input(gw->e, &dst, &src7, m, init->len, N->net.now);
    assert_int_equal(counters(gw).ike_sas, MANY);
    assert_int_equal(counters(gw).responses_resent, 1);
    N->mute = false;
    /* The real client's retransmission gets through among them. */
    run_for(2000);
    assert_true(established(cl));
    assert_child_pair(cl);
    run_for(40000);
    c = counters(gw);
    assert_int_equal(c.half_open, 0);
    assert_int_equal(c.ike_sas, 1);
}

/* What a walk in steps reported: how often each copy's SPIi was seen. */
struct walk_seen {
    unsigned *times; /* by copy number */
    unsigned n_copies, other;
};

static void walk_seen_sa(void *arg, const struct ns_ike_sa_status *st)
{
    struct walk_seen *w = arg;
    uint64_t k = (st->spi_i >> 32) & 0xffffffu; /* init_copies wrote SPIi's first 4 bytes */
    if ((st->spi_i >> 56) == 0xf1u && k < w->n_copies)
        w->times[k]++;
    else
        w->other++;
}

/* R12, X10: natsecd's status at 100,000 SAs walks them in steps, the IKE
 * thread serving between the steps (ns_ike_engine_sa_refs). Between the
 * steps here the gateway takes new half-open SAs (growing its tables past
 * a doubling) and expires the oldest ones: the walk reports every SA that
 * lived from its start to its turn exactly once, none of those that
 * expired before their turn after they did, none created after the start,
 * and the gateway answers the new requests while the walk is under way. */
static void status_walk_in_steps(void **state)
{
    (void)state;
    enum { OLD = 1500, YOUNG = 1500, NEW = 1200, STEP = 64 };
    struct ike_node *gw = gateway_with_captured_init();
    init_copies(gw, 0, OLD);
    run_for(20000);
    init_copies(gw, OLD, YOUNG); /* half-open SAs live 30 s: these 20 s longer */
    assert_int_equal(counters(gw).ike_sas, OLD + YOUNG);

    uint64_t *refs;
    size_t n;
    assert_int_equal(ns_ike_engine_sa_refs(gw->e, &refs, &n), 0);
    assert_int_equal(n, OLD + YOUNG);
    unsigned times[OLD + YOUNG + NEW] = {0};
    struct walk_seen w = {.times = times, .n_copies = OLD + YOUNG + NEW};
    size_t half = n / 2;
    unsigned gone = 0, old_before = 0;
    for (size_t i = 0; i < n; i += STEP) {
        if (i >= half && i < half + STEP) {
            /* Between two steps: new requests answered, the old SAs expire. */
            for (unsigned k = 0; k < OLD; k++)
                old_before += times[k];
            init_copies(gw, OLD + YOUNG, NEW);
            assert_int_equal(counters(gw).ike_sas, OLD + YOUNG + NEW);
            run_for(10001); /* 30 s since the old ones came */
            assert_int_equal(counters(gw).ike_sas, YOUNG + NEW);
        }
        for (size_t j = i; j < i + STEP && j < n; j++)
            gone += !ns_ike_engine_sa_status(gw->e, refs[j], walk_seen_sa, &w);
    }
    free(refs);
    unsigned old_seen = 0;
    for (unsigned k = 0; k < OLD + YOUNG + NEW; k++) {
        assert_true(times[k] <= 1);
        if (k < OLD)
            old_seen += times[k];
        else if (k < OLD + YOUNG)
            assert_int_equal(times[k], 1); /* lived throughout: seen once */
        else
            assert_int_equal(times[k], 0); /* created after the start */
    }
    assert_int_equal(w.other, 0);
    assert_int_equal(old_seen, old_before); /* none after they expired */
    assert_true(old_before > 0 && old_before < OLD);
    assert_int_equal(gone, OLD - old_before);
}

/* Lost packets: the client retransmits; the gateway resends its cached
 * response byte for byte and never processes a request twice; a lost
 * IKE_SA_INIT answer does not create a second half-open SA. */
static void retransmission_and_response_cache(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    struct ike_node *cl = add_client("client", "192.168.1.10", nat, NULL);
    N->filter = drop_first_auth_response;
    connect_client(cl);
    run_for(500);
    assert_false(established(cl));
    assert_true(established(gw));
    run_for(1000); /* the retransmission after retransmit_timeout */
    assert_true(established(cl));
    assert_int_equal(counters(cl).retransmits, 1);
    assert_int_equal(counters(gw).responses_resent, 1);
    assert_int_equal(counters(gw).ike_established, 1);
    assert_int_equal(gw->n_child_up, 1);
    /* The two responses are the same bytes. */
    const struct sent *first = NULL, *second = NULL;
    for (unsigned i = 0; i < N->n_sent; i++) {
        const struct sent *s = &N->sent[i];
        if (s->node == 0 && s->exchange == NS_IKE_AUTH) {
            if (!first)
                first = s;
            else
                second = s;
        }
    }
    assert_non_null(first);
    assert_non_null(second);
    assert_int_equal(first->len, second->len);
    assert_memory_equal(first->data, second->data, first->len);
    assert_true(second->t - first->t >= 1000);
    assert_child_pair(cl);
}

static void lost_init_response(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    N->filter = drop_first_init_response;
    connect_client(cl);
    run_for(500);
    assert_int_equal(counters(gw).half_open, 1);
    run_for(1000);
    assert_true(established(cl) && established(gw));
    assert_int_equal(counters(gw).responses_resent, 1);
    assert_int_equal(counters(gw).ike_sas, 1);
    assert_child_pair(cl);
}

static void duplicated_request(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    N->filter = dup_auth_request;
    connect_client(cl);
    run_for(500);
    assert_true(established(cl) && established(gw));
    assert_int_equal(counters(gw).responses_resent, 1);
    assert_int_equal(gw->n_child_up, 1);
    assert_int_equal(count_sent(0, NS_IKE_AUTH, true, 500), 2);
    const struct sent *r[2];
    unsigned k = 0;
    for (unsigned i = 0; i < N->n_sent && k < 2; i++)
        if (N->sent[i].node == 0 && N->sent[i].exchange == NS_IKE_AUTH)
            r[k++] = &N->sent[i];
    assert_int_equal(r[0]->len, r[1]->len);
    assert_memory_equal(r[0]->data, r[1]->data, r[0]->len);
    /* The client got a response it no longer waits for: dropped, counted. */
    assert_int_equal(counters(cl).dropped_unexpected, 1);
}

static enum verdict drop_everything(const struct sent *s, unsigned nth)
{
    (void)s;
    (void)nth;
    return DROP;
}

/* Requests are retransmitted with exponential backoff, then the SA is
 * given up and the client told (the reconnect policy's hook). */
static void retransmit_backoff_then_give_up(void **state)
{
    (void)state;
    add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    N->filter = drop_everything;
    connect_client(cl);
    run_for(60000);
    uint64_t t[8];
    unsigned n = 0;
    for (unsigned i = 0; i < N->n_sent && n < 8; i++)
        if (N->sent[i].node == node_index(cl))
            t[n++] = N->sent[i].t;
    assert_int_equal(n, 4); /* the first send and retransmit_tries = 3 */
    assert_int_equal(t[1] - t[0], 1000);
    assert_int_equal(t[2] - t[1], 2000);
    assert_int_equal(t[3] - t[2], 4000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_TIMEOUT);
    assert_int_equal(counters(cl).retransmits, 3);
    assert_int_equal(ike_net_sas_of(cl->e).n, 0);
}

/* X8: a client whose subnets hold an IPv6 prefix asks for an IPv6 virtual
 * IP and IPv6 DNS in its CP request; a gateway with pool6 answers with
 * INTERNAL_IP6_ADDRESS (a /128) and INTERNAL_IP6_DNS, and one CHILD_SA
 * carries both families. A client with IPv4 subnets alone gets no IPv6
 * address; with pool6 exhausted (a /126 has one) the next client that
 * asks gets INTERNAL_ADDRESS_FAILURE; a gateway without pool6 gives IPv4
 * alone and drops the IPv6 subnets. */
static void dual_stack_virtual_ips(void **state)
{
    (void)state;
    struct gw_opts go = {.extra = "pool6 = 2001:db8:99::/126\n",
                         .dns = "192.0.2.53, 2001:db8:c0::53",
                         .alice_subnets = "192.0.2.0/24, 2001:db8:c0::/64",
                         .no_default = true};
    struct ike_node *gw = add_gateway(&go);
    struct cl_opts ao = {.subnets = "192.0.2.0/24, 2001:db8:c0::/64"};
    struct ike_node *a = add_client("alice", "203.0.113.20", -1, &ao);
    connect_client(a);
    run_for(500);
    assert_true(established(a));
    char v[NS_ADDR_STRLEN], ts[NS_TS_STRLEN];
    assert_string_equal(ns_addr_str(&a->vip, v), "10.99.0.2");
    assert_string_equal(ns_addr_str(&a->vip6, v), "2001:db8:99::2");
    struct ns_ike_sa_status g = ike_net_one_sa(gw->e);
    assert_true(ns_addr_equal(&g.vip6, &a->vip6));
    assert_int_equal(a->n_dns, 2);
    assert_string_equal(ns_addr_str(&a->dns[0], v), "192.0.2.53");
    assert_string_equal(ns_addr_str(&a->dns[1], v), "2001:db8:c0::53");
    assert_int_equal(a->n_routes, 2);
    assert_string_equal(ns_ts_str(&a->routes[0], ts), "192.0.2.0/24");
    assert_string_equal(ns_ts_str(&a->routes[1], ts), "2001:db8:c0::/64");
    assert_int_equal(gw->child[0].in.n_remote_ts, 2);
    assert_string_equal(ns_ts_str(&gw->child[0].in.remote_ts[0], ts), "10.99.0.2/32");
    assert_string_equal(ns_ts_str(&gw->child[0].in.remote_ts[1], ts), "2001:db8:99::2/128");
    assert_int_equal(a->child[0].out.n_local_ts, 2);

    /* bob routes IPv4 alone: no IPv6 address asked, none given. */
    struct cl_opts bo = {.id = "bob@corp.example", .psk = "bob-secret-0123456789"};
    struct ike_node *b = add_client("bob", "203.0.113.21", -1, &bo);
    connect_client(b);
    run_for(500);
    assert_true(established(b));
    assert_int_equal(b->vip6.family, 0);
    assert_int_equal(b->n_dns, 1);

    /* A second IPv6 client: pool6 (/126, one address) is exhausted. */
    ns_ike_engine_disconnect(b->e, N->net.now);
    run_for(500);
    struct cl_opts co = {.id = "bob@corp.example",
                         .psk = "bob-secret-0123456789",
                         .subnets = "192.0.2.0/24, 2001:db8:c0::/64"};
    struct ike_node *c = add_client("bob2", "203.0.113.22", -1, &co);
    connect_client(c);
    run_for(500);
    assert_int_equal(c->n_client_down, 1);
    assert_true(log_has("pool6) is exhausted"));
    assert_true(log_has("no CHILD SA: INTERNAL_ADDRESS_FAILURE"));
}

/* X8: a client with vip6_prefix = 64 asks for ::/64 in INTERNAL_IP6_ADDRESS
 * and gets a /64 from pool6's second half (RFC 7296 3.15.1): its TSi and
 * the gateway's inbound selectors are the whole prefix (anti-spoofing to
 * it, R17), the CP reply carries the length, the client's TUN device
 * takes the prefix's second address; another client still gets a /128.
 * Reconnecting, the client asks for its prefix again and gets it. A pool
 * too long to delegate gives an address, which the client takes as one. */
/* A gateway with pool6 = pool and alice, who asks for a /64, established. */
static struct ike_node *alice_asks_slash64(const char *pool6, struct ike_node **gw)
{
    char extra[64];
    snprintf(extra, sizeof(extra), "pool6 = %s\n", pool6);
    struct gw_opts go = {
        .extra = extra, .alice_subnets = "192.0.2.0/24, 2001:db8:c0::/64", .no_default = true};
    *gw = add_gateway(&go);
    struct cl_opts ao = {.subnets = "192.0.2.0/24, 2001:db8:c0::/64", .peer = "vip6_prefix = 64\n"};
    struct ike_node *a = add_client("alice", "203.0.113.20", -1, &ao);
    connect_client(a);
    run_for(500);
    assert_true(established(a));
    return a;
}

static void delegated_prefix(void **state)
{
    (void)state;
    struct ike_node *gw, *a = alice_asks_slash64("2001:db8:99::/48", &gw);
    char v[NS_ADDR_STRLEN], ts[NS_TS_STRLEN];
    assert_string_equal(ns_addr_str(&a->vip6, v), "2001:db8:99:8000::1");
    struct ns_ike_sa_status g = ike_net_one_sa(gw->e);
    assert_string_equal(ns_addr_str(&g.vip6, v), "2001:db8:99:8000::");
    assert_int_equal(g.vip6_len, 64);
    assert_int_equal(gw->child[0].in.n_remote_ts, 2);
    assert_string_equal(ns_ts_str(&gw->child[0].in.remote_ts[1], ts), "2001:db8:99:8000::/64");
    assert_string_equal(ns_ts_str(&a->child[0].out.local_ts[1], ts), "2001:db8:99:8000::/64");
    assert_true(log_has("virtual IP 10.99.0.2 2001:db8:99:8000::/64"));

    struct cl_opts bo = {.id = "bob@corp.example",
                         .psk = "bob-secret-0123456789",
                         .subnets = "192.0.2.0/24, 2001:db8:c0::/64"};
    struct ike_node *b = add_client("bob", "203.0.113.21", -1, &bo);
    connect_client(b);
    run_for(500);
    assert_true(established(b));
    assert_string_equal(ns_addr_str(&b->vip6, v), "2001:db8:99::2");
    assert_string_equal(ns_ts_str(&b->child[0].out.local_ts[1], ts), "2001:db8:99::2/128");

    /* alice again: the same prefix, asked for by name. */
    ns_ike_engine_disconnect(a->e, N->net.now);
    run_for(500);
    connect_client(a);
    run_for(500);
    assert_true(established(a));
    assert_string_equal(ns_addr_str(&a->vip6, v), "2001:db8:99:8000::1");
}

/* X8: pool6 /120 has no room to delegate: a client asking for a prefix
 * gets a /128 and uses it as its address. */
static void prefix_asked_pool_too_long(void **state)
{
    (void)state;
    struct ike_node *gw, *a = alice_asks_slash64("2001:db8:99::/120", &gw);
    char v[NS_ADDR_STRLEN], ts[NS_TS_STRLEN];
    assert_string_equal(ns_addr_str(&a->vip6, v), "2001:db8:99::2");
    assert_string_equal(ns_ts_str(&gw->child[0].in.remote_ts[1], ts), "2001:db8:99::2/128");
}

/* X8: without pool6 a client that asks for IPv6 too gets IPv4 alone, and
 * the IPv6 subnets go (the SA could not carry them). */
static void ipv6_asked_without_pool6(void **state)
{
    (void)state;
    struct gw_opts go = {.alice_subnets = "192.0.2.0/24, 2001:db8:c0::/64"};
    struct ike_node *gw = add_gateway(&go);
    struct cl_opts ao = {.subnets = "192.0.2.0/24, 2001:db8:c0::/64"};
    struct ike_node *a = add_client("alice", "203.0.113.20", -1, &ao);
    connect_client(a);
    run_for(500);
    assert_true(established(a));
    char ts[NS_TS_STRLEN];
    assert_int_equal(a->vip6.family, 0);
    assert_int_equal(a->n_routes, 1);
    assert_string_equal(ns_ts_str(&a->routes[0], ts), "192.0.2.0/24");
    assert_int_equal(gw->child[0].in.n_remote_ts, 1);
}

/* DELETE from the client: both sides remove the CHILD_SA and the gateway
 * gives the virtual IP back (a /30 pool has exactly one: the next client
 * gets INTERNAL_ADDRESS_FAILURE until it is free again). */
static void delete_frees_virtual_ip(void **state)
{
    (void)state;
    struct gw_opts go = {.pool = "10.99.0.0/30"};
    struct ike_node *gw = add_gateway(&go);
    struct ike_node *a = add_client("alice", "203.0.113.20", -1, NULL);
    struct cl_opts bob = {.id = "bob@corp.example", .psk = "bob-secret-0123456789"};
    struct ike_node *b = add_client("bob", "203.0.113.21", -1, &bob);
    connect_client(a);
    run_for(500);
    assert_true(established(a));
    connect_client(b);
    run_for(500);
    assert_int_equal(b->n_client_down, 1);
    assert_int_equal(b->down_reason, NS_IKE_DOWN_NEGOTIATION);
    assert_true(log_has("pool is exhausted"));
    assert_true(log_has("no CHILD SA: INTERNAL_ADDRESS_FAILURE"));

    uint32_t a_in = a->child[0].in.spi, a_out = a->child[0].out.spi;
    struct ns_ike_counters gw_before = counters(gw);
    assert_int_equal(ns_ike_engine_disconnect(a->e, N->net.now), 0);
    run_for(500);
    assert_int_equal(a->n_child_down, 1);
    assert_int_equal(a->down_in[0], a_in);
    assert_int_equal(a->down_out[0], a_out);
    assert_int_equal(a->n_client_down, 1);
    assert_int_equal(a->down_reason, NS_IKE_DOWN_LOCAL);
    assert_int_equal(gw->n_child_down, 1);
    assert_int_equal(gw->down_in[0], a_out); /* the pair, seen from the gateway */
    assert_int_equal(gw->down_out[0], a_in);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    /* Gone within 0.5 s: by the client's DELETE, not a liveness check. */
    assert_int_equal(counters(gw).ike_deleted, gw_before.ike_deleted + 1);
    assert_int_equal(counters(gw).retransmits, gw_before.retransmits);
    assert_int_equal(live_spis(gw), 0);
    assert_int_equal(live_spis(a), 0);

    connect_client(b);
    run_for(500);
    assert_true(established(b));
    char v[NS_ADDR_STRLEN];
    assert_string_equal(ns_addr_str(&b->vip, v), "10.99.0.2");
}

/* A forged IKE message from a new NAT port (right SPIs and message ID,
 * bad ICV): dropped, the SA stays where it is. */
static void forge_from(const struct ike_node *cl, uint16_t port, uint32_t msg_id)
{
    const struct ns_ike_sa_status cs = ike_net_one_sa(cl->e);
    uint8_t m[80];
    memset(m, 0xa5, sizeof(m));
    struct ns_ike_header h = {.spi_i = cs.spi_i,
                              .spi_r = cs.spi_r,
                              .exchange = NS_INFORMATIONAL,
                              .flags = NS_IKE_FLAG_INITIATOR,
                              .msg_id = msg_id,
                              .version = NS_IKE_VERSION};
    for (int i = 0; i < 8; i++) {
        m[i] = (uint8_t)(h.spi_i >> (56 - 8 * i));
        m[8 + i] = (uint8_t)(h.spi_r >> (56 - 8 * i));
    }
    m[16] = NS_PL_SK;
    m[17] = NS_IKE_VERSION;
    m[18] = h.exchange;
    m[19] = h.flags;
    ns_put_u32(m + 20, msg_id);
    ns_put_u32(m + 24, sizeof(m));
    m[28] = 0; /* SK: next payload none, length to the end */
    m[29] = 0;
    ns_put_u16(m + 30, sizeof(m) - 28);
    struct ns_endpoint src = {.addr = N->net.nat[cl->nat].pub, .port = port};
    struct ns_endpoint dst = test_ep(GW_ADDR, 4500);
    ike_sim_enqueue(&N->net.q, &src, &dst, m, sizeof(m));
    run_for(1);
}

/* R4, R15: a forged message from a new port does not move the SA; after a
 * NAT rebinding, the next authenticated message from the new port does,
 * and ESP verified by the data plane does too. */
static void address_update_only_when_authenticated(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    struct cl_opts o = {.extra = "dpd = 10"};
    struct ike_node *cl = add_client("client", "192.168.1.10", nat, &o);
    connect_client(cl);
    run_for(500);
    assert_true(established(gw));
    struct ns_endpoint orig = ike_net_one_sa(gw->e).remote;

    forge_from(cl, 44444, 2);
    assert_int_equal(counters(gw).dropped_unauth, 1);
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &orig));
    assert_int_equal(gw->n_moved, 0);

    /* The NAT forgets the mapping; the client's liveness check (dpd 10 s)
     * comes from a new port, authenticated. */
    ike_sim_nat_rebind(&N->net.nat[nat], node_index(cl));
    run_for(11000);
    struct ns_endpoint now_at = nat_public(nat, node_index(cl), 4500);
    assert_false(ns_endpoint_equal(&now_at, &orig));
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &now_at));
    assert_int_equal(gw->n_moved, 1);
    assert_true(ns_endpoint_equal(&gw->moved_to, &now_at));
    assert_int_equal(counters(gw).peer_moves, 1);
    char line[160], e1[NS_ENDPOINT_STRLEN], e2[NS_ENDPOINT_STRLEN];
    snprintf(line, sizeof(line), "peer moved from %s to %s (authenticated)",
             ns_endpoint_str(&orig, e1), ns_endpoint_str(&now_at, e2));
    assert_true(log_has(line));
    /* Its answer went to the new port and reached the client. */
    assert_int_equal(counters(cl).retransmits, 0);

    /* An old authenticated request replayed from elsewhere: answered from
     * the cache, but the SA does not move (old message ID). */
    const struct sent *old = NULL;
    for (unsigned i = 0; i < N->n_sent; i++)
        if (N->sent[i].node == node_index(cl) && N->sent[i].exchange == NS_INFORMATIONAL)
            old = &N->sent[i];
    assert_non_null(old);
    struct ns_endpoint evil = {.addr = test_addr("203.0.113.99"), .port = 4500};
    struct ns_endpoint dst = test_ep(GW_ADDR, 4500);
    ike_sim_enqueue(&N->net.q, &evil, &dst, old->data, old->len);
    run_for(1);
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &now_at));
    assert_int_equal(gw->n_moved, 1);

    /* ESP that verified, from yet another port (R4 via the data plane). */
    struct ns_endpoint esp_from = {.addr = N->net.nat[nat].pub, .port = 41234};
    ns_ike_engine_esp_from(gw->e, ike_net_one_sa(gw->e).id, &dst, &esp_from, N->net.now);
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &esp_from));
    assert_int_equal(gw->n_moved, 2);
    /* An unknown IKE SA id is ignored. */
    ns_ike_engine_esp_from(gw->e, 12345, &dst, &orig, N->net.now);
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &esp_from));
}

/* X6: a client that dialled a new TCP connection (RFC 8229) sends a
 * liveness check on it at once, so the gateway follows without waiting
 * for traffic or dpd: here the NAT gave the client a new port, and one
 * ns_ike_engine_liveness moves the gateway's SA there within a round
 * trip. Not before the SA is up, not on a gateway, and not beside an
 * outstanding request. */
static void liveness_now_moves_gateway(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    struct ike_node *cl = add_client("client", "192.168.1.10", nat, NULL);
    assert_int_equal(ns_ike_engine_liveness(cl->e, N->net.now), -1); /* no SA yet */
    connect_client(cl);
    assert_int_equal(ns_ike_engine_liveness(cl->e, N->net.now), -1); /* not established */
    run_for(500);
    assert_true(established(gw));
    assert_int_equal(ns_ike_engine_liveness(gw->e, N->net.now), -1); /* a gateway has none */
    struct ns_endpoint orig = ike_net_one_sa(gw->e).remote;
    ike_sim_nat_rebind(&N->net.nat[nat], node_index(cl));
    unsigned sent_before = N->n_sent;
    assert_int_equal(ns_ike_engine_liveness(cl->e, N->net.now), 0);
    /* A second call while the first is outstanding sends nothing more. */
    assert_int_equal(ns_ike_engine_liveness(cl->e, N->net.now), 0);
    unsigned requests = 0;
    for (unsigned i = sent_before; i < N->n_sent; i++)
        if (N->sent[i].node == node_index(cl) && N->sent[i].exchange == NS_INFORMATIONAL)
            requests++;
    assert_int_equal(requests, 1);
    run_for(100);
    struct ns_endpoint now_at = nat_public(nat, node_index(cl), 4500);
    assert_false(ns_endpoint_equal(&now_at, &orig));
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &now_at));
    assert_int_equal(gw->n_moved, 1);
    assert_int_equal(counters(cl).retransmits, 0); /* answered */
}

/* X1, R4: keepalive = auto's check of the NAT mapping
 * (ns_ike_engine_natd_check): an INFORMATIONAL request with NAT detection,
 * which the gateway answers with its own over where the request came
 * from. The first answer is the base, the same mapping again no change;
 * after the NAT forgot the mapping, the check from the new public port
 * moves the gateway's SA there (authenticated) and its answer differs: one
 * change. One request at a time; a gateway (not behind a NAT) and an
 * unknown IKE SA send none. */
static void natd_check_tells_a_new_mapping(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    struct ike_node *cl = add_client("client", "192.168.1.10", nat, NULL);
    connect_client(cl);
    run_for(500);
    assert_true(established(gw));
    uint64_t id = ike_net_one_sa(cl->e).id;
    struct ns_endpoint orig = ike_net_one_sa(gw->e).remote;
    assert_int_equal(ike_net_one_sa(cl->e).natd_answers, 0);

    assert_int_equal(ns_ike_engine_natd_check(cl->e, id, N->net.now), 0);
    assert_int_equal(ns_ike_engine_natd_check(cl->e, id, N->net.now), -1); /* window of 1 */
    run_for(100);
    assert_int_equal(ike_net_one_sa(cl->e).natd_answers, 1);
    assert_int_equal(ike_net_one_sa(cl->e).natd_changes, 0);
    assert_int_equal(ns_ike_engine_natd_check(cl->e, id, N->net.now), 0);
    run_for(100);
    assert_int_equal(ike_net_one_sa(cl->e).natd_answers, 2);
    assert_int_equal(ike_net_one_sa(cl->e).natd_changes, 0);
    assert_int_equal(gw->n_moved, 0);

    ike_sim_nat_rebind(&N->net.nat[nat], node_index(cl));
    assert_int_equal(ns_ike_engine_natd_check(cl->e, id, N->net.now), 0);
    run_for(100);
    struct ns_endpoint now_at = nat_public(nat, node_index(cl), 4500);
    assert_false(ns_endpoint_equal(&now_at, &orig));
    assert_true(ep_is(ike_net_one_sa(gw->e).remote, &now_at));
    assert_int_equal(gw->n_moved, 1);
    assert_int_equal(ike_net_one_sa(cl->e).natd_answers, 3);
    assert_int_equal(ike_net_one_sa(cl->e).natd_changes, 1);
    assert_int_equal(ike_net_one_sa(cl->e).natd_without, 0);
    assert_int_equal(counters(cl).retransmits, 0);
    assert_true(log_has("the NAT gave us a new public address or port"));

    assert_int_equal(ns_ike_engine_natd_check(gw->e, ike_net_one_sa(gw->e).id, N->net.now), -1);
    assert_int_equal(ns_ike_engine_natd_check(cl->e, 12345, N->net.now), -1);
    assert_int_equal(ike_net_one_sa(gw->e).natd_answers, 0);
}

/* Garbage of every kind is dropped and counted; the SA survives. An
 * IKE_SA_INIT with an unknown critical payload gets
 * UNSUPPORTED_CRITICAL_PAYLOAD. */
static void garbage_is_counted(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(500);
    assert_true(established(gw));
    struct ns_endpoint src = test_ep("203.0.113.66", 500), dst = test_ep(GW_ADDR, 500);
    uint8_t junk[PKT_MAX];
    for (int i = 0; i < 50; i++) {
        size_t len = (size_t)(ns_random_u32() % 300);
        ns_random_bytes(junk, len);
        ns_ike_engine_input(gw->e, &dst, &src, junk, len, N->net.now);
    }
    /* Truncations of a real message. */
    const struct sent *init = &N->sent[0];
    for (size_t len = 0; len < init->len; len += 7) {
        memcpy(junk, init->data, len);
        ns_ike_engine_input(gw->e, &dst, &src, junk, len, N->net.now);
    }
    struct ns_ike_counters c = counters(gw);
    assert_true(c.dropped_malformed + c.dropped_unknown_spi >= 50);
    assert_true(established(gw));
    assert_int_equal(c.ike_sas, 1);

    /* IKE_SA_INIT with an unknown critical payload (type 200). */
    uint8_t m[36] = {0};
    m[0] = 0x11;
    m[16] = 200;
    m[17] = NS_IKE_VERSION;
    m[18] = NS_IKE_SA_INIT;
    m[19] = NS_IKE_FLAG_INITIATOR;
    ns_put_u32(m + 24, sizeof(m));
    m[28] = 0;
    m[29] = 0x80;
    ns_put_u16(m + 30, 8);
    unsigned before = N->n_sent;
    ns_ike_engine_input(gw->e, &dst, &src, m, sizeof(m), N->net.now);
    assert_int_equal(N->n_sent, before + 1);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    const struct sent *s = &N->sent[before];
    assert_int_equal(ns_ike_parse_message(s->data, s->len, &h, &pl), NS_IKE_OK);
    const struct ns_ike_payload *np = ns_ike_find_notify(&pl, NS_N_UNSUPPORTED_CRITICAL_PAYLOAD);
    assert_non_null(np);
    struct ns_ike_notify n;
    assert_int_equal(ns_ike_parse_notify(np, &n), NS_IKE_OK);
    assert_int_equal(n.len, 1);
    assert_int_equal(n.data[0], 200);
    assert_int_equal(counters(gw).ike_sas, 1);
    /* The client's SA still works: a liveness exchange goes through. */
    run_for(61000);
    assert_true(established(cl) && established(gw));
}

/* INITIAL_CONTACT: a client that restarts (new engine, new NAT port)
 * replaces its old IKE SA at the gateway. */
static void initial_contact_replaces_old_sa(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    struct ike_node *old = add_client("old", "192.168.1.10", nat, NULL);
    connect_client(old);
    run_for(500);
    assert_true(established(gw));
    uint64_t old_id = ike_net_one_sa(gw->e).id;
    /* It crashes: no DELETE. */
    old->blackhole = true;
    ike_sim_nat_rebind(&N->net.nat[nat], node_index(old));
    struct ike_node *fresh = add_client("fresh", "192.168.1.10", nat, NULL);
    connect_client(fresh);
    run_for(500);
    assert_true(established(fresh));
    struct ns_ike_sa_status g = ike_net_one_sa(gw->e);
    assert_int_not_equal(g.id, old_id);
    assert_int_equal(gw->n_child_down, 1);
    assert_int_equal(gw->down_out[0], old->child[0].in.spi);
    assert_true(log_has("INITIAL_CONTACT from 'alice@corp.example': deleted 1 older IKE SA(s)"));
    assert_child_pair(fresh);
}

/* Liveness: a client that vanishes is detected by the gateway's empty
 * INFORMATIONAL after dpd seconds, retransmitted, then deleted. */
static void dead_peer_detected(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL); /* dpd 60, retransmit 1 s x 3 */
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(500);
    assert_true(established(gw));
    /* While ESP flows, no check is needed. */
    for (int i = 0; i < 10; i++) {
        run_for(10000);
        ns_ike_engine_esp_activity(gw->e, ike_net_one_sa(gw->e).id, N->net.now);
        ns_ike_engine_esp_activity(cl->e, ike_net_one_sa(cl->e).id, N->net.now);
    }
    assert_int_equal(count_sent(0, NS_INFORMATIONAL, false, 500), 0);
    cl->blackhole = true;
    run_for(60000 + 16000);
    assert_int_equal(count_sent(0, NS_INFORMATIONAL, false, 500), 4);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_int_equal(gw->n_child_down, 1);
    assert_int_equal(counters(gw).retransmits, 3); /* retransmit_tries */
    assert_int_equal(counters(gw).ike_deleted, 1);
}

/* DELETE of a CHILD_SA (RFC 7296 1.4.1), as the client's engine sends it
 * for the CHILD_SA a re-key replaced (natsecctl rekey), once the grace
 * time its successor gets without traffic is over: the gateway removes
 * its half and answers with its own inbound SPI of the pair, and that
 * answer takes the client's half out. */
static void child_delete_is_answered_with_pair(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(500);
    assert_int_equal(ns_ike_engine_rekey(cl->e, 0, false, N->net.now), 1);
    unsigned before = N->n_sent;
    run_for(3000); /* the grace time: 2 s */
    assert_int_equal(cl->n_child_up, 2);
    const struct ike_node_child *old = &cl->child[0];
    assert_int_equal(gw->n_child_down, 1);
    assert_int_equal(gw->down_out[0], old->in.spi);
    /* The answer names the gateway's inbound SPI of the pair. */
    const struct sent *r = NULL;
    for (unsigned i = before; i < N->n_sent; i++)
        if (N->sent[i].node == 0 && N->sent[i].exchange == NS_INFORMATIONAL)
            r = &N->sent[i];
    assert_non_null(r);
    struct ike_net_sk answer;
    assert_int_equal(ike_net_sk_open(cl->e, r->data, r->len, &answer), 0);
    struct ns_ike_delete d;
    assert_int_equal(ns_ike_parse_delete(ns_ike_find(&answer.inner, NS_PL_DELETE), &d), NS_IKE_OK);
    assert_int_equal(d.n_spi, 1);
    assert_int_equal(ns_get_u32(d.spis), old->out.spi);
    /* The client's engine removed its half on that answer. */
    assert_int_equal(cl->n_child_down, 1);
    assert_int_equal(cl->down_in[0], old->in.spi);
    assert_int_equal(cl->down_out[0], old->out.spi);
    struct ns_ike_sa_status cs = ike_net_one_sa(cl->e);
    assert_int_equal(cs.n_child, 1);
    assert_int_equal(cs.child[0].spi_in, cl->child[1].in.spi);
}

/* The unknown critical payload (type 211) of critical_payload_in_sk_request. */
static void add_unknown_critical(struct ns_ike_builder *b, void *arg)
{
    (void)arg;
    ns_ike_build_open(b, 211, true);
    ns_write_u32(&b->w, 0xdeadbeef);
    ns_ike_build_close(b);
}

/* An authenticated request with an unknown critical payload inside SK is
 * answered UNSUPPORTED_CRITICAL_PAYLOAD (RFC 7296 2.5) and changes nothing. */
static void critical_payload_in_sk_request(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(500);
    struct ns_ike_sa_status cs = ike_net_one_sa(cl->e);
    struct ike_net_sk r;
    /* The client's first request after IKE_SA_INIT (ID 0) and IKE_AUTH (1). */
    assert_int_equal(ike_net_sk_request(&N->net, node_index(cl), &cs, NS_INFORMATIONAL, 2,
                                        add_unknown_critical, NULL, &r),
                     0);
    struct ns_ike_notify n;
    const struct ns_ike_payload *np =
        ns_ike_find_notify(&r.inner, NS_N_UNSUPPORTED_CRITICAL_PAYLOAD);
    assert_non_null(np);
    assert_int_equal(ns_ike_parse_notify(np, &n), NS_IKE_OK);
    assert_int_equal(n.len, 1);
    assert_int_equal(n.data[0], 211);
    assert_true(established(gw) && established(cl));
    assert_int_equal(gw->n_child_down, 0);
}

/* R14 (RFC 7296 2.2, 3.1; found by fuzz_ike_engine): an authenticated
 * request that reuses the message ID of the request answered last but is
 * of another exchange is not a retransmission of it: no cached IKE_AUTH
 * response goes back as the answer to an INFORMATIONAL, nothing is
 * answered, the SA is unchanged. A real retransmission still is answered. */
static void stale_id_other_exchange_is_not_a_retransmission(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(500);
    assert_true(established(gw) && established(cl));
    struct ns_ike_counters before = counters(gw);
    struct ns_ike_sa_status cs = ike_net_one_sa(cl->e);
    /* Message ID 1 was IKE_AUTH; the same ID as INFORMATIONAL. */
    unsigned sent_before = N->n_sent;
    struct ike_net_sk r;
    assert_int_equal(
        ike_net_sk_request(&N->net, node_index(cl), &cs, NS_INFORMATIONAL, 1, NULL, NULL, &r), -1);
    for (unsigned i = sent_before; i < N->n_sent; i++)
        assert_int_not_equal(N->sent[i].node, 0); /* the gateway said nothing */
    struct ns_ike_counters after = counters(gw);
    assert_int_equal(after.responses_resent, before.responses_resent);
    assert_int_equal(after.dropped_unexpected, before.dropped_unexpected + 1);
    assert_true(established(gw) && established(cl));
    assert_int_equal(gw->n_child_down, 0);
    /* The IKE_AUTH request itself again: its cached response again. */
    const struct sent *auth_req = NULL;
    for (unsigned i = 0; i < N->n_sent; i++)
        if (N->sent[i].node == node_index(cl) && N->sent[i].exchange == NS_IKE_AUTH)
            auth_req = &N->sent[i];
    assert_non_null(auth_req);
    ops_send(cl, &auth_req->local, &auth_req->remote, auth_req->data, auth_req->len,
             auth_req->marker);
    run_for(100);
    assert_int_equal(counters(gw).responses_resent, before.responses_resent + 1);
    assert_int_equal(count_sent(0, NS_IKE_AUTH, true, 500), 2);
}

/* A data plane that refuses the CHILD_SA: the SPI goes back, the IKE SA is
 * deleted by the client, nothing leaks. */
static void child_up_refused(void **state)
{
    (void)state;
    struct ike_node *gw = add_gateway(NULL);
    gw->refuse_child = true;
    struct ike_node *cl = add_client("client", "203.0.113.20", -1, NULL);
    connect_client(cl);
    run_for(1000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_NEGOTIATION);
    assert_int_equal(live_spis(gw), 0);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_true(log_has("no CHILD SA: NO_ADDITIONAL_SAS"));
}

int main(void)
{
    alloc_count_start();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_nat_stays_on_500, setup, teardown),
        cmocka_unit_test_setup_teardown(nat_floats_to_4500, setup, teardown),
        cmocka_unit_test_setup_teardown(forced_encap_without_nat, setup, teardown),
        cmocka_unit_test_setup_teardown(gateway_forced_encap, setup, teardown),
        cmocka_unit_test_setup_teardown(overlapping_private_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_psk, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(no_acceptable_proposal, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_suites_refused_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_suites_with_legacy_proposals, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_ke_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(cookies_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(half_open_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(cookie_after_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(cookie_after_answer_request_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(many_half_open_sas, setup, teardown),
        cmocka_unit_test_setup_teardown(status_walk_in_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(retransmission_and_response_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_init_response, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicated_request, setup, teardown),
        cmocka_unit_test_setup_teardown(retransmit_backoff_then_give_up, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_frees_virtual_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(liveness_now_moves_gateway, setup, teardown),
        cmocka_unit_test_setup_teardown(dual_stack_virtual_ips, setup, teardown),
        cmocka_unit_test_setup_teardown(ipv6_asked_without_pool6, setup, teardown),
        cmocka_unit_test_setup_teardown(delegated_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(prefix_asked_pool_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(address_update_only_when_authenticated, setup, teardown),
        cmocka_unit_test_setup_teardown(natd_check_tells_a_new_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_is_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(initial_contact_replaces_old_sa, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_peer_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(child_delete_is_answered_with_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(critical_payload_in_sk_request, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_id_other_exchange_is_not_a_retransmission, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(child_up_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
