/* The fair share of half-open IKE SAs per source (X13, ike/halfopen.h) in
 * the engine: a gateway engine and many client engines in this process on
 * the simulated network of tests/support/ike_sim, some behind one NAT
 * address (an attacker's host, or a carrier-grade NAT with many honest
 * clients). The clients are real initiators: they return the gateway's
 * COOKIEs (RFC 7296 2.6), so every request below has proved its address,
 * and an attacker is a client whose IKE_AUTH never leaves.
 *
 * Every case names X13 and R15 (bounded state for unauthenticated peers):
 * half_open_max is never exceeded, and one source holding the whole table
 * no longer starves every other. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/cookie.h"
#include "ike/engine.h"
#include "ike/msg.h"
#include "support/ike_net.h"
#include "support/test_addr.h"
#include "util/log.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 128
#define T0 1000000u
#define HALF_OPEN_MAX 40 /* the gateway's, below */
#define ALL UINT_MAX     /* auth_drop: never sends IKE_AUTH */

struct node {
    struct ike_node ike; /* its address is private when behind a NAT */
    unsigned auth_drop;  /* IKE_AUTH requests still to lose (ALL: every one) */
};

struct net {
    struct node node[MAX_NODES];
    struct ike_net net;
    bool mute;
    uint8_t cookie[NS_COOKIE_LEN]; /* the last COOKIE the gateway sent */
    bool has_cookie;
    unsigned n_clients; /* for distinct identities */
};

static struct net *N;

/* ---- the network ---- */

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    struct node *n = ctx;
    assert_true(len >= NS_IKE_HEADER_LEN);
    assert_int_equal(marker, local->port == 4500);
    if (n == &N->node[0] && msg[18] == NS_IKE_SA_INIT && msg[16] == NS_PL_NOTIFY &&
        len >= NS_IKE_HEADER_LEN + 8 + NS_COOKIE_LEN &&
        ns_get_u16(msg + NS_IKE_HEADER_LEN + 6) == NS_N_COOKIE) {
        memcpy(N->cookie, msg + NS_IKE_HEADER_LEN + 8, NS_COOKIE_LEN);
        N->has_cookie = true;
    }
    if (N->mute)
        return;
    bool request = !(msg[19] & NS_IKE_FLAG_RESPONSE);
    if (request && msg[18] == NS_IKE_AUTH && n->auth_drop > 0) {
        if (n->auth_drop != ALL)
            n->auth_drop--;
        return;
    }
    ike_node_send(ctx, local, remote, msg, len, marker);
}

static void check_table(void);

static void run_for(uint64_t ms)
{
    ike_net_run_for(&N->net, ms);
    check_table();
}

/* ---- nodes ---- */

/* Node 0, the gateway, with these limits. Any identity with the common
 * PSK may connect. */
static struct node *add_gateway(unsigned half_open_max, unsigned cookie_threshold)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
             "ike_proposals = aes128gcm16-prfsha256-x25519\n"
             "pool = 10.99.0.0/24\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 60\n"
             "half_open_max = %u\ncookie_threshold = %u\n"
             "[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
             "subnets = 192.0.2.0/24\n"
             "[peer %%default]\npsk = common-secret-0123456789\nsubnets = 192.0.2.80/32\n",
             half_open_max, cookie_threshold);
    return ike_net_add_started_node(&N->net, "gateway", GW_ADDR, -1, IKE_SIM_MAX_SPIS, text, NULL);
}

/* A NAT at pub; every NAT here maps from port 20000 on. */
static int add_nat(const char *pub)
{
    return ike_net_add_nat(&N->net, pub, 20000);
}

/* A client with its own identity (user<k>@corp.example, the %default
 * section), at a, behind NAT nat (-1: none), connecting at once. */
static struct node *add_client(const char *name, const char *a, int nat, unsigned auth_drop,
                               const char *psk)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = user%u@corp.example\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\nike_proposals = aes128gcm16-prfsha256-x25519\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 60\n"
             "[peer vpn.corp.example]\npsk = %s\nsubnets = 192.0.2.80/32\n",
             N->n_clients++, psk ? psk : "common-secret-0123456789");
    struct node *n = ike_net_add_started_node(&N->net, name, a, nat, IKE_SIM_MAX_SPIS, text, NULL);
    n->auth_drop = auth_drop;
    ike_net_connect(&N->net, n->ike.e, &n->ike.addr);
    return n;
}

/* count clients named <prefix><i> behind one NAT (private 192.168.x.y),
 * each losing its first auth_drop IKE_AUTH requests. */
static void add_clients_behind(struct node **out, unsigned count, const char *prefix, int nat,
                               unsigned auth_drop)
{
    for (unsigned i = 0; i < count; i++) {
        char name[40], a[32];
        snprintf(name, sizeof(name), "%s%u", prefix, i);
        snprintf(a, sizeof(a), "192.168.%u.%u", 1 + N->net.n_nodes / 200, 1 + N->net.n_nodes % 200);
        out[i] = add_client(name, a, nat, auth_drop, NULL);
    }
}

/* ---- inspection ---- */

static struct ns_ike_counters gw_counters(void)
{
    return ike_net_counters(N->node[0].ike.e);
}

struct find {
    uint64_t spi_i;
    const char *state;
    unsigned n;
};

static void find_spi(void *arg, const struct ns_ike_sa_status *st)
{
    struct find *f = arg;
    f->n += st->spi_i == f->spi_i;
    if (st->spi_i == f->spi_i)
        f->state = st->state;
}

static void first_spi(void *arg, const struct ns_ike_sa_status *st)
{
    uint64_t *spi = arg;
    *spi = st->spi_i;
}

static uint64_t client_spi_i(const struct node *cl)
{
    uint64_t spi = 0;
    ns_ike_engine_foreach(cl->ike.e, first_spi, &spi);
    assert_true(spi != 0);
    return spi;
}

static bool gw_has(uint64_t spi_i, const char *state)
{
    struct find f = {.spi_i = spi_i};
    ns_ike_engine_foreach(N->node[0].ike.e, find_spi, &f);
    assert_true(f.n <= 1);
    return f.n == 1 && (!state || strcmp(f.state, state) == 0);
}

static bool client_up(const struct node *cl)
{
    return cl->ike.n_client_up == 1 && cl->ike.n_child_up == 1 &&
           gw_has(client_spi_i(cl), "ESTABLISHED");
}

/* R15 and the table's own invariants after every step. */
static void check_table(void)
{
    const struct ns_ike_engine *e = N->node[0].ike.e;
    struct ns_ike_counters c;
    ns_ike_engine_counters(e, &c);
    assert_true(c.half_open <= N->node[0].ike.conf.half_open_max);
    assert_true(ns_ike_engine_consistent(e));
    assert_true(c.half_open_sources <= c.half_open);
    assert_true(c.half_open_largest <= c.half_open);
    assert_int_equal(c.half_open_sources == 0, c.half_open_largest == 0);
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_INFO, .guard = 400000, .send = ops_send)

/* ================= scenarios ================= */

/* X13 R15 (a): one host that returns COOKIEs but never sends IKE_AUTH
 * holds the whole table (40 half-open SAs from one address); an honest
 * client from another address still completes IKE_SA_INIT and IKE_AUTH,
 * because its request replaces the attacker's oldest half-open SA. Before
 * X13 it was refused until the attacker's SAs timed out. SAs answered
 * less than two retransmission intervals (2 s) ago are not replaced, so
 * the honest client's first two tries, 0.1 and 1.1 s after the table
 * filled, are refused and its third, at 3.1 s, gets in. */
static void attacker_cannot_starve_others(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 10);
    int att_nat = add_nat("203.0.113.66");
    struct node *att[HALF_OPEN_MAX];
    add_clients_behind(att, HALF_OPEN_MAX, "attacker", att_nat, ALL);
    run_for(100);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_sources, 1);
    assert_int_equal(c.half_open_largest, HALF_OPEN_MAX);
    assert_int_equal(c.cookies_sent, HALF_OPEN_MAX - 10); /* they all returned theirs */
    assert_int_equal(c.half_open_refused, 0);
    assert_int_equal(c.half_open_evicted, 0);
    uint64_t oldest = client_spi_i(att[0]), second = client_spi_i(att[1]);
    assert_true(gw_has(oldest, "INIT_DONE") && gw_has(second, "INIT_DONE"));

    struct node *honest = add_client("honest", "203.0.113.20", -1, 0, NULL);
    run_for(2000);
    assert_false(client_up(honest));
    c = gw_counters();
    assert_int_equal(c.half_open_evicted, 0);
    assert_int_equal(c.half_open_refused, 2);
    assert_true(gw_has(oldest, "INIT_DONE"));
    run_for(1500);
    assert_true(client_up(honest));
    c = gw_counters();
    assert_int_equal(c.cookies_sent, HALF_OPEN_MAX - 10 + 1); /* the honest one's too */
    assert_int_equal(c.half_open_evicted, 1);
    assert_int_equal(c.half_open_refused, 2);
    assert_int_equal(c.ike_established, 1);
    assert_int_equal(c.half_open, HALF_OPEN_MAX - 1); /* the honest one completed */
    assert_int_equal(c.half_open_sources, 1);
    assert_int_equal(c.half_open_largest, HALF_OPEN_MAX - 1);
    assert_false(gw_has(oldest, NULL)); /* the attacker's oldest went */
    assert_true(gw_has(second, "INIT_DONE"));

    /* (d) The attacker's half-open SAs time out; its source goes with
     * them, the honest client stays. */
    run_for(40000);
    c = gw_counters();
    assert_int_equal(c.half_open, 0);
    assert_int_equal(c.half_open_sources, 0);
    assert_int_equal(c.half_open_largest, 0);
    assert_int_equal(c.ike_sas, 1);
    assert_true(client_up(honest));
}

/* X13 R15 (e): the largest holder's own new request is refused when the
 * table is full (nothing of anyone else's is touched), also when it comes
 * again; it gets no COOKIE either, which would only bring it back to be
 * refused (in a restart storm that round trip cost thousands of datagrams
 * a second on both sides). */
static void largest_holder_refused(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 10);
    int att_nat = add_nat("203.0.113.66");
    struct node *att[HALF_OPEN_MAX + 1];
    add_clients_behind(att, HALF_OPEN_MAX, "attacker", att_nat, ALL);
    run_for(100);
    assert_int_equal(gw_counters().half_open, HALF_OPEN_MAX);
    uint64_t oldest = client_spi_i(att[0]);

    add_clients_behind(&att[HALF_OPEN_MAX], 1, "more", att_nat, ALL);
    run_for(100);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.cookies_sent, HALF_OPEN_MAX - 10); /* none for "more" */
    assert_int_equal(c.half_open_refused, 1);
    assert_int_equal(c.half_open_evicted, 0);
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_largest, HALF_OPEN_MAX);
    assert_false(gw_has(client_spi_i(att[HALF_OPEN_MAX]), NULL));
    assert_true(gw_has(oldest, "INIT_DONE"));
    /* Its retransmissions (1 s, then 2 s later): refused, no COOKIE. */
    run_for(3500);
    c = gw_counters();
    assert_int_equal(c.cookies_sent, HALF_OPEN_MAX - 10);
    assert_int_equal(c.half_open_refused, 3);
    assert_int_equal(c.half_open_evicted, 0);
    assert_true(gw_has(oldest, "INIT_DONE"));
}

/* X13 R15: two holders of a full table end with equal shares: the smaller
 * one's requests replace the larger one's oldest SAs only while that moves
 * the two closer (30/10 -> 20/20); after that both are refused. */
static void shares_converge(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 10);
    int a_nat = add_nat("203.0.113.66"), b_nat = add_nat("203.0.113.77");
    struct node *a[30], *b[25];
    add_clients_behind(a, 30, "a", a_nat, ALL);
    run_for(100);
    add_clients_behind(b, 10, "b", b_nat, ALL);
    run_for(100);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_sources, 2);
    assert_int_equal(c.half_open_largest, 30);

    run_for(2000); /* a's SAs old enough to be replaced */
    add_clients_behind(&b[10], 15, "b", b_nat, ALL);
    run_for(100);
    c = gw_counters();
    assert_int_equal(c.half_open_evicted, 10);
    assert_int_equal(c.half_open_refused, 5);
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_sources, 2);
    assert_int_equal(c.half_open_largest, 20);
    /* a's ten oldest went, in age order. */
    for (unsigned i = 0; i < 30; i++)
        assert_int_equal(gw_has(client_spi_i(a[i]), "INIT_DONE"), i >= 10);
    for (unsigned i = 0; i < 25; i++)
        assert_int_equal(gw_has(client_spi_i(b[i]), "INIT_DONE"), i < 20);
}

/* X13 R15 (b): 2 x half_open_max/2 honest clients behind ONE address (a
 * carrier-grade NAT), each half-open for a while (its first IKE_AUTH is
 * lost): while the table is not full none is refused, up to the whole
 * table held by that one address (no per-address cap), and all connect. */
static void cgn_clients_not_capped(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 10);
    int cgn = add_nat("203.0.113.5");
    struct node *cl[HALF_OPEN_MAX];
    add_clients_behind(cl, HALF_OPEN_MAX / 2, "cgn", cgn, 1);
    run_for(100);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.half_open, HALF_OPEN_MAX / 2);
    assert_int_equal(c.half_open_sources, 1);
    assert_int_equal(c.half_open_largest, HALF_OPEN_MAX / 2);
    assert_int_equal(c.half_open_refused, 0);

    add_clients_behind(&cl[HALF_OPEN_MAX / 2], HALF_OPEN_MAX / 2, "cgn", cgn, 1);
    run_for(100);
    c = gw_counters();
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_sources, 1);
    assert_int_equal(c.half_open_largest, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_refused, 0);
    assert_int_equal(c.half_open_evicted, 0);

    /* The IKE_AUTH retransmissions get through: everyone is up. */
    run_for(2000);
    for (unsigned i = 0; i < HALF_OPEN_MAX; i++)
        assert_true(client_up(cl[i]));
    c = gw_counters();
    assert_int_equal(c.ike_established, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_refused, 0);
    assert_int_equal(c.half_open_evicted, 0);
    /* (d) completion: counts back to 0, the source freed. */
    assert_int_equal(c.half_open, 0);
    assert_int_equal(c.half_open_sources, 0);
    assert_int_equal(c.half_open_largest, 0);
}

/* X13 R15 (c): when the CGN address itself holds the whole table, a client
 * from a second address still gets in; the price is the CGN's oldest
 * half-open SA, whose client times out and connects again (as natsecd's
 * reconnect does, X2) once there is room. */
static void cgn_holding_table_admits_another(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 10);
    int cgn = add_nat("203.0.113.5");
    struct node *cl[HALF_OPEN_MAX];
    /* Their IKE_AUTH gets through at the third try, 3 s on: until then
     * their SAs are half-open, and after 2 s old enough to be replaced. */
    add_clients_behind(cl, HALF_OPEN_MAX, "cgn", cgn, 2);
    run_for(2000);
    assert_int_equal(gw_counters().half_open, HALF_OPEN_MAX);
    assert_int_equal(gw_counters().half_open_largest, HALF_OPEN_MAX);
    uint64_t oldest = client_spi_i(cl[0]);

    struct node *other = add_client("other", "203.0.113.20", -1, 0, NULL);
    run_for(100);
    assert_true(client_up(other));
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.half_open_evicted, 1);
    assert_int_equal(c.half_open_refused, 0);
    assert_false(gw_has(oldest, NULL));

    run_for(20000);
    for (unsigned i = 1; i < HALF_OPEN_MAX; i++)
        assert_true(client_up(cl[i]));
    assert_int_equal(cl[0]->ike.n_client_up, 0);
    assert_int_equal(cl[0]->ike.n_client_down, 1);
    assert_int_equal(cl[0]->ike.down_reason, NS_IKE_DOWN_TIMEOUT);
    c = gw_counters();
    assert_true(c.dropped_unknown_spi >= 1); /* its IKE_AUTH found no SA */
    assert_int_equal(c.half_open, 0);
    assert_int_equal(c.half_open_sources, 0);

    ike_net_connect(&N->net, cl[0]->ike.e, &cl[0]->ike.addr);
    run_for(100);
    assert_true(client_up(cl[0]));
    assert_int_equal(gw_counters().ike_established, HALF_OPEN_MAX + 1);
}

/* X13 R15 (d): a source's share shrinks on every way out of half-open:
 * IKE_AUTH completed, IKE_AUTH failed (a wrong PSK), expiry; at the end no
 * source is left. */
static void shares_return_to_zero(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 10);
    int cgn = add_nat("203.0.113.5"), att_nat = add_nat("203.0.113.66");
    struct node *ok[5], *att[5];
    add_clients_behind(ok, 5, "cgn", cgn, 1);
    add_clients_behind(att, 5, "attacker", att_nat, ALL);
    struct node *bad = add_client("bad", "203.0.113.30", -1, 1, "a-wrong-secret-0123456789");
    run_for(100);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.half_open, 11);
    assert_int_equal(c.half_open_sources, 3);
    assert_int_equal(c.half_open_largest, 5);

    run_for(1500); /* the held IKE_AUTHs go again */
    for (unsigned i = 0; i < 5; i++)
        assert_true(client_up(ok[i]));
    assert_int_equal(bad->ike.n_client_down, 1);
    assert_int_equal(bad->ike.down_reason, NS_IKE_DOWN_AUTH_FAILED);
    c = gw_counters();
    assert_int_equal(c.auth_failures, 1);
    assert_int_equal(c.half_open, 5);
    assert_int_equal(c.half_open_sources, 1); /* only the attacker's is left */
    assert_int_equal(c.half_open_largest, 5);

    run_for(40000);
    c = gw_counters();
    assert_int_equal(c.half_open, 0);
    assert_int_equal(c.half_open_sources, 0);
    assert_int_equal(c.half_open_largest, 0);
    assert_int_equal(c.ike_sas, 5);
}

/* A copy of IKE_SA_INIT request init with SPIi ...spi_lo, and the COOKIE
 * in front when cookie is not NULL (RFC 7296 2.6). */
static size_t init_copy(const struct ike_sim_pkt *init, uint32_t spi_lo, const uint8_t *cookie,
                        uint8_t *out)
{
    memcpy(out, init->data, init->len);
    ns_put_u32(out + 4, spi_lo);
    if (!cookie)
        return init->len;
    uint8_t *n = out + NS_IKE_HEADER_LEN;
    size_t rest = init->len - NS_IKE_HEADER_LEN;
    memcpy(n + 8 + NS_COOKIE_LEN, init->data + NS_IKE_HEADER_LEN, rest);
    n[0] = init->data[16]; /* the notify's next payload: the request's first */
    n[1] = 0;
    ns_put_u16(n + 2, 8 + NS_COOKIE_LEN);
    n[4] = n[5] = 0; /* protocol, SPI size */
    ns_put_u16(n + 6, NS_N_COOKIE);
    memcpy(n + 8, cookie, NS_COOKIE_LEN);
    out[16] = NS_PL_NOTIFY;
    size_t len = NS_IKE_HEADER_LEN + 8 + NS_COOKIE_LEN + rest;
    ns_put_u32(out + 24, (uint32_t)len);
    return len;
}

/* The copy from src, repeated with the COOKIE the gateway asks for. */
static void init_from(const struct ike_sim_pkt *init, uint32_t spi_lo,
                      const struct ns_endpoint *src)
{
    struct ns_endpoint dst = {.addr = test_addr(GW_ADDR), .port = 500};
    uint8_t m[IKE_SIM_PKT_MAX];
    N->has_cookie = false;
    size_t len = init_copy(init, spi_lo, NULL, m);
    ns_ike_engine_input(N->node[0].ike.e, &dst, src, m, len, N->net.now);
    if (N->has_cookie) {
        len = init_copy(init, spi_lo, N->cookie, m);
        ns_ike_engine_input(N->node[0].ike.e, &dst, src, m, len, N->net.now);
    }
    check_table();
}

/* X13: IPv6 sources count by /64: requests from many addresses of one /64
 * (each returning the COOKIE for its own address) are one source, the
 * largest holder; an address of another /64 replaces its oldest SA, and
 * one more address of the first /64 is refused. Copies of a real
 * IKE_SA_INIT with other SPIs. */
static void ipv6_prefix_is_one_source(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 1);
    add_client("client", "203.0.113.20", -1, 0, NULL);
    struct ike_sim_pkt init = N->net.q.q[N->net.q.qh % IKE_SIM_QLEN]; /* its IKE_SA_INIT */
    N->net.q.qh = N->net.q.qt;
    N->mute = true; /* the answers go to nobody */
    for (uint32_t i = 0; i <= HALF_OPEN_MAX + 1; i++) {
        char a[64];
        if (i == HALF_OPEN_MAX) {
            N->net.now += 2000; /* the /64's SAs old enough to be replaced */
            snprintf(a, sizeof(a), "2001:db8:5:7::1");
        } else {
            snprintf(a, sizeof(a), "2001:db8:5:6:%x::%x", i, i + 1);
        }
        struct ns_endpoint src = {.addr = test_addr(a), .port = 500};
        init_from(&init, 0xf1000000u | i, &src);
    }
    N->mute = false;
    struct ns_ike_counters c = gw_counters();
    /* One each but the last: refused, it got no COOKIE. */
    assert_int_equal(c.cookies_sent, HALF_OPEN_MAX);
    assert_int_equal(c.cookies_rejected, 0);
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_sources, 2);
    assert_int_equal(c.half_open_largest, HALF_OPEN_MAX - 1);
    assert_int_equal(c.half_open_evicted, 1);
    assert_int_equal(c.half_open_refused, 1);
    uint64_t hi = (uint64_t)ns_get_u32(init.data) << 32;
    assert_false(gw_has(hi | 0xf1000000u, NULL)); /* the oldest of the /64 */
    assert_true(gw_has(hi | 0xf1000001u, "INIT_DONE"));
    assert_true(gw_has(hi | (0xf1000000u | HALF_OPEN_MAX), "INIT_DONE"));
    assert_false(gw_has(hi | (0xf1000000u | (HALF_OPEN_MAX + 1)), NULL));
}

/* R15: a COOKIE is bound to the address and the port it was sent to. The
 * request repeated with it from another port of the same address is
 * refused (and asked for a cookie of its own): one cookie does not admit
 * the request from every port. */
static void cookie_bound_to_port(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 0); /* a COOKIE for every request */
    add_client("client", "203.0.113.20", -1, 0, NULL);
    struct ike_sim_pkt init = N->net.q.q[N->net.q.qh % IKE_SIM_QLEN]; /* its IKE_SA_INIT */
    N->net.q.qh = N->net.q.qt;
    N->mute = true;
    struct ns_endpoint dst = {.addr = test_addr(GW_ADDR), .port = 500};
    struct ns_endpoint p1 = {.addr = test_addr("203.0.113.30"), .port = 500};
    struct ns_endpoint p2 = {.addr = p1.addr, .port = 501};
    uint8_t m[IKE_SIM_PKT_MAX];
    N->has_cookie = false;
    size_t len = init_copy(&init, 0xf2000001u, NULL, m);
    ns_ike_engine_input(N->node[0].ike.e, &dst, &p1, m, len, N->net.now);
    assert_true(N->has_cookie);
    len = init_copy(&init, 0xf2000001u, N->cookie, m);
    N->has_cookie = false;
    ns_ike_engine_input(N->node[0].ike.e, &dst, &p2, m, len, N->net.now);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.cookies_rejected, 1);
    assert_int_equal(c.half_open, 0);
    assert_true(N->has_cookie); /* asked again, for port 501 */
    /* From the port it was made for, the same cookie admits the request. */
    ns_ike_engine_input(N->node[0].ike.e, &dst, &p1, m, len, N->net.now);
    c = gw_counters();
    assert_int_equal(c.cookies_rejected, 1);
    assert_int_equal(c.half_open, 1);
    check_table();
}

/* R15 X13: an endpoint (address and port) that proves a COOKIE for one
 * SPIi after another holds one half-open SA at a time: each new request
 * replaces its older one. Another port of the same address (a second
 * client behind the same NAT) is another endpoint. An established SA is
 * not half-open and is never replaced. */
static void one_half_open_per_cookie_endpoint(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 0);
    struct node *cl = add_client("client", "203.0.113.20", -1, 0, NULL);
    struct ike_sim_pkt init = N->net.q.q[N->net.q.qh % IKE_SIM_QLEN];
    run_for(100); /* the real client connects through its COOKIE */
    assert_true(client_up(cl));
    N->mute = true;
    struct ns_endpoint p1 = {.addr = test_addr("203.0.113.30"), .port = 500};
    struct ns_endpoint p2 = {.addr = p1.addr, .port = 4500};
    for (uint32_t i = 0; i < 10; i++)
        init_from(&init, 0xf3000000u | i, &p1);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.cookies_sent, 1 + 10);
    assert_int_equal(c.cookies_rejected, 0);
    assert_int_equal(c.cookie_replaced, 9);
    assert_int_equal(c.half_open, 1);
    uint64_t hi = (uint64_t)ns_get_u32(init.data) << 32;
    assert_false(gw_has(hi | 0xf3000000u, NULL));
    assert_true(gw_has(hi | 0xf3000009u, "INIT_DONE"));

    init_from(&init, 0xf3000100u, &p2);
    c = gw_counters();
    assert_int_equal(c.half_open, 2);
    assert_int_equal(c.cookie_replaced, 9);
    assert_true(gw_has(hi | 0xf3000009u, "INIT_DONE"));

    /* A request from the established client's own endpoint. */
    struct ns_endpoint cl_ep = {.addr = cl->ike.addr, .port = 500};
    init_from(&init, 0xf3000200u, &cl_ep);
    c = gw_counters();
    assert_int_equal(c.half_open, 3);
    assert_int_equal(c.cookie_replaced, 9);
    N->mute = false;
    assert_true(client_up(cl));
}

/* How many times needle stands in the captured log. */
static unsigned log_count(const char *needle)
{
    fflush(N->net.log.f);
    unsigned n = 0;
    for (const char *p = N->net.log.buf; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* R15: a flood of IKE_SA_INIT requests the gateway refuses (no acceptable
 * proposal: AES-GCM with a 12-byte ICV), 2000 of them from as many ports
 * in 25 s, leaves at most 10 such lines in its log every 10 s, and one
 * line a window with the count of the rest: 30 and 3 here, not 2000. */
static void refused_flood_log_bounded(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, HALF_OPEN_MAX); /* no COOKIEs: every request is judged */
    add_client("client", "203.0.113.20", -1, 0, NULL);
    struct ike_sim_pkt init = N->net.q.q[N->net.q.qh % IKE_SIM_QLEN];
    N->net.q.qh = N->net.q.qt;
    N->mute = true;
    /* Its ENCR transform, AES-GCM-16 with a 128-bit key, made AES-GCM-12. */
    static const uint8_t encr[] = {1, 0, 0, 20, 0x80, 0x0e, 0, 128};
    uint8_t *t =
        memmem(init.data + NS_IKE_HEADER_LEN, init.len - NS_IKE_HEADER_LEN, encr, sizeof(encr));
    assert_non_null(t);
    t[3] = 19;
    struct ns_endpoint dst = {.addr = test_addr(GW_ADDR), .port = 500};
    uint8_t m[IKE_SIM_PKT_MAX];
    uint64_t start = N->net.now;
    for (uint32_t i = 0; i < 2000; i++) {
        struct ns_endpoint src = {.addr = test_addr("203.0.113.30"), .port = (uint16_t)(10000 + i)};
        N->net.now = start + i * 25000 / 2000;
        size_t len = init_copy(&init, 0xf4000000u | i, NULL, m);
        ns_ike_engine_input(N->node[0].ike.e, &dst, &src, m, len, N->net.now);
    }
    run_for(10000); /* the count of the last window, after the flood */
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.no_proposal_sent, 2000);
    assert_int_equal(c.half_open, 0);
    assert_int_equal(log_count("no acceptable IKE proposal"), 3 * 10);
    assert_int_equal(log_count("ike: refused or odd IKE_SA_INIT: 790 similar lines suppressed"), 2);
    assert_int_equal(log_count("ike: refused or odd IKE_SA_INIT: 390 similar lines suppressed"), 1);
}

/* R15: the half-open SAs of a flood that expire without IKE_AUTH (each
 * says why a large IKE_AUTH may have been lost) do not use up the log
 * lines of the refusals that come next: 20 copies of a request without
 * IKE fragmentation expire, then one request with a proposal the gateway
 * refuses still gets its line. */
static void expiries_do_not_hide_refusals(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, HALF_OPEN_MAX); /* no COOKIEs */
    struct node *cl = ike_net_add_started_node(
        &N->net, "client", "203.0.113.20", -1, IKE_SIM_MAX_SPIS,
        "[natsecd]\nrole = client\nlocal_id = user0@corp.example\ngateway = " GW_ADDR "\n"
        "remote_id = vpn.corp.example\nike_proposals = aes128gcm16-prfsha256-x25519\n"
        "fragmentation = no\n"
        "[peer vpn.corp.example]\npsk = common-secret-0123456789\nsubnets = 192.0.2.80/32\n",
        NULL);
    ike_net_connect(&N->net, cl->ike.e, &cl->ike.addr);
    struct ike_sim_pkt init = N->net.q.q[N->net.q.qh % IKE_SIM_QLEN];
    N->net.q.qh = N->net.q.qt;
    N->mute = true;
    struct ns_endpoint dst = {.addr = test_addr(GW_ADDR), .port = 500};
    uint8_t m[IKE_SIM_PKT_MAX];
    for (uint32_t i = 0; i < 20; i++) {
        struct ns_endpoint src = {.addr = test_addr("203.0.113.30"), .port = (uint16_t)(10000 + i)};
        size_t len = init_copy(&init, 0xf5000000u | i, NULL, m);
        ns_ike_engine_input(N->node[0].ike.e, &dst, &src, m, len, N->net.now);
    }
    assert_int_equal(gw_counters().half_open, 20);
    run_for(32000); /* a half-open SA lives 30 s */
    assert_int_equal(gw_counters().half_open, 0);
    assert_int_equal(log_count("no IKE_AUTH came within"), 10);

    static const uint8_t encr[] = {1, 0, 0, 20, 0x80, 0x0e, 0, 128};
    uint8_t *t =
        memmem(init.data + NS_IKE_HEADER_LEN, init.len - NS_IKE_HEADER_LEN, encr, sizeof(encr));
    assert_non_null(t);
    t[3] = 19; /* AES-GCM-12: refused */
    struct ns_endpoint src = {.addr = test_addr("203.0.113.31"), .port = 500};
    size_t len = init_copy(&init, 0xf5000100u, NULL, m);
    ns_ike_engine_input(N->node[0].ike.e, &dst, &src, m, len, N->net.now);
    assert_int_equal(gw_counters().no_proposal_sent, 1);
    assert_int_equal(log_count("no acceptable IKE proposal"), 1);
}

/* X13 R15: a host that fills the table from 40 ports and keeps
 * re-proving COOKIEs from them with new SPIs (each new request replaces
 * that port's older half-open SA) cannot keep its SAs too young to be
 * replaced: a replacement keeps the age of the handshake it replaces, so
 * 2 s after the flood began a request from another address takes the
 * flood's oldest SA. */
static void refreshing_flood_cannot_stay_young(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 0);
    add_client("client", "203.0.113.20", -1, 0, NULL);
    struct ike_sim_pkt init = N->net.q.q[N->net.q.qh % IKE_SIM_QLEN];
    N->net.q.qh = N->net.q.qt;
    N->mute = true;
    struct ns_endpoint att = {.addr = test_addr("203.0.113.66")};
    uint32_t spi = 0xf5000000u;
    for (unsigned round = 0; round < 5; round++) {
        for (uint16_t p = 0; p < HALF_OPEN_MAX; p++) {
            att.port = (uint16_t)(30000 + p);
            init_from(&init, spi++, &att);
        }
        N->net.now += 500;
    }
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_largest, HALF_OPEN_MAX);
    assert_int_equal(c.cookie_replaced, 4 * HALF_OPEN_MAX);
    assert_int_equal(c.half_open_evicted, 0);
    /* The newest SAs are 0.5 s old, the handshakes 2.5 s. */
    struct ns_endpoint other = {.addr = test_addr("203.0.113.20"), .port = 500};
    init_from(&init, 0xf5100000u, &other);
    c = gw_counters();
    assert_int_equal(c.half_open_evicted, 1);
    assert_int_equal(c.half_open_refused, 0);
    assert_int_equal(c.half_open, HALF_OPEN_MAX);
    assert_int_equal(c.half_open_sources, 2);
    uint64_t hi = (uint64_t)ns_get_u32(init.data) << 32;
    assert_true(gw_has(hi | 0xf5100000u, "INIT_DONE"));
    N->mute = false;
}

/* X13 R15 R12: a restart storm in small: 3 x half_open_max/2 + 10
 * initiators from three NAT addresses (40, 20 and 10 clients: unequal
 * shares, as after a gateway restart behind a few carrier-grade NATs) all
 * start at once against a table of half_open_max. Every one of them
 * completes within a few retransmissions and none gives up: the fair
 * share must not throw away a half-open SA the gateway has just answered
 * (its client's IKE_AUTH is already on the way and would meet no SA until
 * the client gives up), and a refused request costs only a retransmission. */
static void restart_storm_all_connect(void **state)
{
    (void)state;
    add_gateway(HALF_OPEN_MAX, 10);
    int nat[3] = {add_nat("203.0.113.5"), add_nat("203.0.113.6"), add_nat("203.0.113.7")};
    static const unsigned per_nat[3] = {HALF_OPEN_MAX, HALF_OPEN_MAX / 2, HALF_OPEN_MAX / 4};
    struct node *cl[HALF_OPEN_MAX * 2];
    unsigned n = 0;
    char prefix[8];
    for (unsigned k = 0; k < 3; k++) {
        snprintf(prefix, sizeof(prefix), "n%u-", k);
        add_clients_behind(&cl[n], per_nat[k], prefix, nat[k], 0);
        n += per_nat[k];
    }
    /* Clients retransmit after 1 s and 2 s more and give up 4 s later. */
    run_for(6000);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(cl[i]->ike.n_client_down, 0);
        assert_true(client_up(cl[i]));
    }
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.ike_established, n);
    assert_int_equal(c.half_open, 0);
    assert_int_equal(c.auth_failures, 0);
    assert_int_equal(c.dropped_unknown_spi, 0); /* no IKE_AUTH into an evicted SA */
    assert_true(c.half_open_refused > 0);       /* the table was full */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(attacker_cannot_starve_others, setup, teardown),
        cmocka_unit_test_setup_teardown(largest_holder_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(shares_converge, setup, teardown),
        cmocka_unit_test_setup_teardown(cgn_clients_not_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(cgn_holding_table_admits_another, setup, teardown),
        cmocka_unit_test_setup_teardown(shares_return_to_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(ipv6_prefix_is_one_source, setup, teardown),
        cmocka_unit_test_setup_teardown(cookie_bound_to_port, setup, teardown),
        cmocka_unit_test_setup_teardown(one_half_open_per_cookie_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_flood_log_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(expiries_do_not_hide_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(refreshing_flood_cannot_stay_young, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_storm_all_connect, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
