/* Unit tests for the life cycle of SAs in the IKEv2 engine (src/ike/engine.h,
 * lifecycle.c, create_child_exchange.c): CREATE_CHILD_SA re-keys of CHILD
 * and IKE SAs started by either side, simultaneous re-keys (RFC 7296
 * 2.8.1), PFS, byte lifetimes, re-keys through a NAT that rebound the
 * client's mapping, hard lifetimes, and liveness failures.
 *
 * As in test_ike_engine.c: one gateway engine and client engines in this
 * process, a simulated network and NAT, simulated time. Here each node also
 * has a model of its data plane: the ESP SAs child_up installed (the
 * newest outbound one of an IKE SA carries the traffic, as in the SAD),
 * with packet counters, so a test sends "packets" both ways every 100 ms
 * through a re-key and counts what would have been lost.
 *
 * Each scenario names the requirement it shows (R4, X2, X3). */
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

#include "crypto/dh.h"
#include "crypto/rand.h"
#include "ike/engine.h"
#include "ike/msg.h"
#include "support/ike_net.h"
#include "support/test_addr.h"
#include "util/log.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 8
#define MAX_NATS 2
#define MAX_ESP 128
#define MAX_SPIS 256
#define PKT_MAX 4096
#define MAX_SENT 8192
#define T0 1000000u

/* ---- the simulated world ---- */

/* One direction of a CHILD_SA as the node's data plane holds it. */
struct esp_sa {
    bool live, in;
    uint32_t spi;
    uint64_t ike_sa_id;
    uint64_t seq; /* installation order: the newest outbound one sends */
    struct ns_esp_sa_spec spec;
    uint64_t packets, bytes;
};

struct node {
    struct ike_node ike;
    struct esp_sa esp[MAX_ESP];
    unsigned n_esp;
    uint64_t esp_seq;
    unsigned n_in_only, n_out_later; /* responder re-keys: outbound installed later */
    bool plain_ops;                  /* no child_in_up / child_out_up: both at once */
    uint64_t in_only_at, out_later_at;
    unsigned n_seq_overflow; /* packets the model SAD refused: sequence numbers used up */
};

struct sent {
    int node;
    struct ns_endpoint local, remote; /* as the engine sent it (before the NAT) */
    uint8_t exchange, flags;
    uint32_t msg_id;
    uint64_t t;
    uint8_t data[PKT_MAX];
    size_t len;
};

enum verdict { PASS, DROP };
typedef enum verdict (*filter_fn)(const struct sent *s);

struct net {
    struct node node[MAX_NODES];
    struct ike_net net;
    struct sent sent[MAX_SENT];
    unsigned n_sent;
    filter_fn filter;
    /* Where each delivered datagram went (R4): the NAT's public endpoint
     * of the destination node, as addressed by the sender. */
};

static struct net *N;

static int node_index(const struct node *n)
{
    return ike_net_node_index(&N->net, n);
}

/* ---- NAT ---- */

/* The public endpoint of a node's private port (mapping it if needed, as
 * the node's next packet would). */
static struct ns_endpoint public_of(struct node *n, uint16_t port)
{
    struct ns_endpoint priv = {.addr = n->ike.addr, .port = port};
    if (n->ike.nat < 0)
        return priv;
    struct ike_sim_nat *nat = &N->net.nat[n->ike.nat];
    return (struct ns_endpoint){.addr = nat->pub,
                                .port = ike_sim_nat_map(nat, node_index(n), &priv)};
}

/* ---- the network ---- */

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    struct node *n = ctx;
    int idx = node_index(n);
    assert_true(len >= NS_IKE_HEADER_LEN);
    assert_int_equal(marker, local->port == 4500);
    assert_true(N->n_sent < MAX_SENT);
    struct sent *s = &N->sent[N->n_sent++];
    *s = (struct sent){.node = idx,
                       .local = *local,
                       .remote = *remote,
                       .exchange = msg[18],
                       .flags = msg[19],
                       .msg_id = ns_get_u32(msg + 20),
                       .t = N->net.now,
                       .len = len};
    memcpy(s->data, msg, len);
    if (N->filter && N->filter(s) == DROP)
        return;
    ike_net_send(&N->net, idx, local, remote, msg, len);
}

/* Delivers everything queued, then fires the timers due up to `until`. */
static void run_until(uint64_t until)
{
    ike_net_run_until(&N->net, until);
}

static void run_for(uint64_t ms)
{
    run_until(N->net.now + ms);
}

/* ---- the model data plane ---- */

static struct esp_sa *esp_find(struct node *n, bool in, uint32_t spi)
{
    for (unsigned i = 0; i < n->n_esp; i++)
        if (n->esp[i].live && n->esp[i].in == in && n->esp[i].spi == spi)
            return &n->esp[i];
    return NULL;
}

static unsigned esp_live(const struct node *n, bool in)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n->n_esp; i++)
        k += n->esp[i].live && n->esp[i].in == in;
    return k;
}

/* What the SAD sends on: the newest live outbound SA of the IKE SA. */
static struct esp_sa *esp_newest_out(struct node *n, uint64_t ike_sa_id)
{
    struct esp_sa *best = NULL;
    for (unsigned i = 0; i < n->n_esp; i++) {
        struct esp_sa *s = &n->esp[i];
        if (s->live && !s->in && s->ike_sa_id == ike_sa_id && (!best || s->seq > best->seq))
            best = s;
    }
    return best;
}

static void esp_add(struct node *n, const struct ns_esp_sa_spec *s, bool in)
{
    assert_true(n->n_esp < MAX_ESP);
    assert_null(esp_find(n, in, s->spi)); /* R7: never two with one SPI */
    struct esp_sa *e = &n->esp[n->n_esp++];
    memset(e, 0, sizeof(*e));
    e->live = true;
    e->in = in;
    e->spi = s->spi;
    e->ike_sa_id = s->ike_sa_id;
    e->seq = ++n->esp_seq;
    e->spec = *s;
}

static int ops_child_up(void *ctx, const struct ns_esp_sa_spec *in,
                        const struct ns_esp_sa_spec *out)
{
    struct node *n = ctx;
    if (ike_node_child_up(ctx, in, out) != 0)
        return -1;
    esp_add(n, in, true);
    esp_add(n, out, false);
    return 0;
}

/* The responder of a re-key: inbound first, outbound when the engine
 * sees the initiator has the new CHILD_SA. */
static int ops_child_in_up(void *ctx, const struct ns_esp_sa_spec *in)
{
    struct node *n = ctx;
    if (ike_node_child_in_up(ctx, in) != 0)
        return -1;
    esp_add(n, in, true);
    n->n_in_only++;
    n->in_only_at = N->net.now;
    return 0;
}

static int ops_child_out_up(void *ctx, const struct ns_esp_sa_spec *in,
                            const struct ns_esp_sa_spec *out)
{
    struct node *n = ctx;
    assert_int_equal(ike_node_child_out_up(ctx, in, out), 0);
    assert_non_null(esp_find(n, true, in->spi)); /* its inbound half is in */
    esp_add(n, out, false);
    n->n_out_later++;
    n->out_later_at = N->net.now;
    return 0;
}

static void ops_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    struct node *n = ctx;
    struct esp_sa *i = esp_find(n, true, in_spi);
    assert_non_null(i);
    struct esp_sa *o = NULL;
    for (unsigned k = 0; k < n->n_esp; k++)
        if (n->esp[k].live && !n->esp[k].in && n->esp[k].spi == out_spi &&
            n->esp[k].ike_sa_id == i->ike_sa_id)
            o = &n->esp[k];
    i->live = false;
    if (o) /* absent: a re-key's outbound half that never went in */
        o->live = false;
    ike_node_child_down(ctx, in_spi, out_spi);
}

static void ops_peer_moved(void *ctx, uint64_t id, const struct ns_endpoint *local,
                           const struct ns_endpoint *peer)
{
    struct node *n = ctx;
    ike_node_peer_moved(ctx, id, local, peer);
    for (unsigned i = 0; i < n->n_esp; i++)
        if (n->esp[i].live && n->esp[i].ike_sa_id == id)
            n->esp[i].spec.peer = *peer;
}

static int ops_child_usage(void *ctx, uint64_t ike_sa_id, uint32_t in_spi, uint32_t out_spi,
                           struct ns_ike_child_usage *u)
{
    struct node *n = ctx;
    struct esp_sa *i = esp_find(n, true, in_spi);
    struct esp_sa *o = NULL;
    for (unsigned k = 0; k < n->n_esp; k++)
        if (n->esp[k].live && !n->esp[k].in && n->esp[k].spi == out_spi &&
            n->esp[k].ike_sa_id == ike_sa_id)
            o = &n->esp[k];
    if (!i)
        return -1;
    *u = (struct ns_ike_child_usage){i->bytes, i->packets, o ? o->bytes : 0, o ? o->packets : 0};
    return 0;
}

/* The next node added gets no child_in_up / child_out_up. */
static bool plain_next;

/* Starts n's engine with this test's ops. */
static void start(struct node *n)
{
    n->plain_ops = plain_next;
    plain_next = false;
    struct ns_ike_ops ops = {.send = ops_send,
                             .child_up = ops_child_up,
                             .child_down = ops_child_down,
                             .peer_moved = ops_peer_moved,
                             .client_up = ike_node_client_up,
                             .client_down = ike_node_client_down,
                             .child_usage = ops_child_usage,
                             .child_in_up = n->plain_ops ? NULL : ops_child_in_up,
                             .child_out_up = n->plain_ops ? NULL : ops_child_out_up};
    ike_net_node_start(&N->net, n, &ops);
}

/* ---- traffic ---- */

/* The IKE SA id a node's data plane uses for its (one) connection. */
static uint64_t dp_id_of(const struct node *n);

/* One packet of `bytes` from a to b on a's newest outbound SA of its IKE
 * SA: true when b has the inbound SA with that SPI and the same keys (it
 * would decrypt). Liveness is reported to b's engine as the daemon does. */
static bool esp_send(struct node *a, struct node *b, size_t bytes)
{
    struct esp_sa *o = esp_newest_out(a, dp_id_of(a));
    if (!o)
        return false;
    /* The packet count stands for the sequence number, which never wraps
     * (the SAD refuses with NS_ESP_SEQ_OVERFLOW). */
    if (!o->spec.esn && o->packets >= UINT32_MAX) {
        a->n_seq_overflow++;
        return false;
    }
    struct esp_sa *i = esp_find(b, true, o->spi);
    if (!i || i->spec.encr_key_len != o->spec.encr_key_len ||
        memcmp(i->spec.encr_key, o->spec.encr_key, o->spec.encr_key_len) != 0)
        return false;
    o->packets++;
    o->bytes += bytes;
    i->packets++;
    i->bytes += bytes;
    ns_ike_engine_esp_activity(b->ike.e, i->ike_sa_id, N->net.now);
    return true;
}

/* Traffic both ways every 100 ms for ms milliseconds, with the engines
 * running in between; returns how many packets did not arrive. */
static unsigned traffic_for(struct node *cl, uint64_t ms, size_t bytes)
{
    struct node *gw = &N->node[0];
    unsigned lost = 0;
    for (uint64_t t = 0; t < ms; t += 100) {
        lost += !esp_send(cl, gw, bytes);
        lost += !esp_send(gw, cl, bytes);
        run_for(100);
    }
    return lost;
}

/* ---- configurations ---- */

/* Node 0 is the gateway at GW_ADDR; extra: more [natsecd] lines, peer:
 * more lines of alice's [peer] section. */
static struct node *add_gateway(const char *extra, const char *peer)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
             "ike_proposals = aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048\n"
             "pool = 10.99.0.0/24\nretransmit_timeout = 1.0\nretransmit_tries = 3\n%s\n"
             "[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
             "subnets = 192.0.2.0/24, 198.18.0.0/16\n%s\n",
             extra ? extra : "dpd = 60", peer ? peer : "");
    struct node *n = ike_net_add_node(&N->net, "gateway", GW_ADDR, -1, MAX_SPIS, text);
    start(n);
    return n;
}

static struct node *add_client(const char *name, const char *a, int nat, const char *extra,
                               const char *peer)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = alice@corp.example\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\nretransmit_timeout = 1.0\nretransmit_tries = 3\n"
             "%s\n"
             "[peer vpn.corp.example]\npsk = alice-secret-0123456789\nsubnets = 192.0.2.0/24\n"
             "%s\n",
             extra ? extra : "dpd = 60", peer ? peer : "");
    struct node *n = ike_net_add_node(&N->net, name, a, nat, MAX_SPIS, text);
    start(n);
    return n;
}

/* ---- inspection ---- */

static uint64_t dp_id_of(const struct node *n)
{
    struct ike_net_sas l = ike_net_sas_of(n->ike.e);
    for (unsigned i = 0; i < l.n; i++)
        if (l.st[i].n_child)
            return l.st[i].id;
    return l.n ? l.st[0].id : 0;
}

static struct ns_ike_counters counters(const struct node *n)
{
    return ike_net_counters(n->ike.e);
}

static bool established(const struct node *n)
{
    struct ike_net_sas l = ike_net_sas_of(n->ike.e);
    return l.n == 1 && strcmp(l.st[0].state, "ESTABLISHED") == 0 && l.st[0].n_child >= 1;
}

static bool log_has(const char *needle)
{
    return ike_sim_log_has(&N->net.log, needle);
}

/* The one settled state after a re-key: one IKE SA each side with the same
 * SPIs, one CHILD_SA each side, paired (the client's outbound SPI is the
 * gateway's inbound and back), with the same keys each way, and nothing
 * else left in either data plane. */
static void assert_settled(struct node *cl)
{
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status c = ike_net_one_sa(cl->ike.e), g = ike_net_one_sa(gw->ike.e);
    assert_string_equal(c.state, "ESTABLISHED");
    assert_string_equal(g.state, "ESTABLISHED");
    assert_true(c.spi_i == g.spi_i && c.spi_r == g.spi_r);
    assert_int_equal(c.n_child, 1);
    assert_int_equal(g.n_child, 1);
    assert_string_equal(c.child[0].state, "INSTALLED");
    assert_string_equal(g.child[0].state, "INSTALLED");
    assert_int_equal(c.child[0].spi_out, g.child[0].spi_in);
    assert_int_equal(c.child[0].spi_in, g.child[0].spi_out);
    assert_int_equal(esp_live(cl, true), 1);
    assert_int_equal(esp_live(cl, false), 1);
    assert_int_equal(esp_live(gw, true), 1);
    assert_int_equal(esp_live(gw, false), 1);
    struct esp_sa *co = esp_newest_out(cl, c.id), *go = esp_newest_out(gw, g.id);
    assert_non_null(co);
    assert_non_null(go);
    struct esp_sa *gi = esp_find(gw, true, co->spi), *ci = esp_find(cl, true, go->spi);
    assert_non_null(gi);
    assert_non_null(ci);
    assert_memory_equal(co->spec.encr_key, gi->spec.encr_key, co->spec.encr_key_len);
    assert_memory_equal(go->spec.encr_key, ci->spec.encr_key, go->spec.encr_key_len);
    assert_memory_not_equal(co->spec.encr_key, go->spec.encr_key, co->spec.encr_key_len);
}

/* Opens a message one node sent with the keys of the other one (its IKE
 * SA with the SPIs of the header). */
static bool open_sent(const struct sent *s, struct ike_net_sk *out)
{
    int other = s->node == 0 ? 1 : 0;
    return ike_net_sk_open(N->node[other].ike.e, s->data, s->len, out) == 0;
}

/* ---- fixture ---- */

/* Every CHILD_SA's ESP SAs removed once the engines are gone. */
static void no_esp_left(unsigned i)
{
    assert_int_equal(esp_live(&N->node[i], true) + esp_live(&N->node[i], false), 0);
}

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_DEBUG, .guard = 400000, .teardown_node = no_esp_left)

/* A client behind a NAT connected to the gateway, with traffic flowing. */
static struct node *connected_pair(const char *gw_extra, const char *cl_extra, const char *gw_peer,
                                   const char *cl_peer)
{
    struct node *gw = add_gateway(gw_extra, gw_peer);
    (void)gw;
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    struct node *cl = add_client("client", "192.168.1.10", nat, cl_extra, cl_peer);
    ike_net_connect(&N->net, cl->ike.e, &cl->ike.addr);
    run_for(500);
    assert_true(established(cl));
    assert_true(established(&N->node[0]));
    assert_int_equal(traffic_for(cl, 1000, 100), 0);
    return cl;
}

/* The same with a client whose data plane has no child_in_up/out_up. */
static struct node *connected_pair_plain_client(const char *gw_extra, const char *cl_extra)
{
    add_gateway(gw_extra, NULL);
    int nat = ike_net_add_nat(&N->net, "203.0.113.5", 40000);
    plain_next = true;
    struct node *cl = add_client("client", "192.168.1.10", nat, cl_extra, NULL);
    assert_true(cl->plain_ops);
    ike_net_connect(&N->net, cl->ike.e, &cl->ike.addr);
    run_for(500);
    assert_true(established(cl));
    assert_int_equal(traffic_for(cl, 1000, 100), 0);
    return cl;
}

/* ================= scenarios ================= */

/* X3: the client's CHILD_SA reaches its soft lifetime first (600 s,
 * re-keyed between 480 s and 540 s; the gateway's is 3600 s): a
 * CREATE_CHILD_SA with REKEY_SA gives new SPIs and keys on both sides, the
 * old pair goes after the grace time, the data plane keeps its IKE SA id,
 * and no packet is lost while traffic runs both ways every 100 ms. */
static void child_rekey_by_client(void **state)
{
    (void)state;
    struct node *cl = connected_pair("dpd = 60\nchild_lifetime = 3600",
                                     "dpd = 60\nchild_lifetime = 600", NULL, NULL);
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status before = ike_net_one_sa(cl->ike.e);
    uint64_t gw_id = ike_net_one_sa(gw->ike.e).id;
    assert_true(before.child[0].rekey_ms >= T0 + 480000 && before.child[0].rekey_ms <= T0 + 541000);
    assert_int_equal(before.child[0].expire_ms, before.child[0].created_ms + 600000);
    assert_int_equal(before.child[0].rekeys, 0);
    unsigned lost = traffic_for(cl, 560000, 100);
    printf("# child re-key by the client: %u packets lost\n", lost);
    assert_int_equal(lost, 0);
    assert_int_equal(counters(cl).child_rekeys, 1);
    assert_int_equal(counters(gw).child_rekeys, 1);
    assert_settled(cl);
    struct ns_ike_sa_status after = ike_net_one_sa(cl->ike.e);
    assert_int_not_equal(after.child[0].spi_in, before.child[0].spi_in);
    assert_int_not_equal(after.child[0].spi_out, before.child[0].spi_out);
    assert_int_equal(after.child[0].rekeys, 1);
    assert_int_equal(ike_net_one_sa(gw->ike.e).child[0].rekeys, 1);
    assert_int_equal(after.id, before.id); /* the data plane's IKE SA id */
    assert_int_equal(ike_net_one_sa(gw->ike.e).id, gw_id);
    assert_int_equal(after.spi_i, before.spi_i); /* the IKE SA itself unchanged */
    assert_int_equal(cl->ike.n_child_up, 2);
    assert_int_equal(cl->ike.n_child_down, 1);
    assert_int_equal(gw->ike.n_child_down, 1);
    /* The gateway answered: it sent on the new CHILD_SA only once the
     * client had it. */
    assert_int_equal(gw->n_in_only, 1);
    assert_int_equal(gw->n_out_later, 1);
    assert_int_equal(cl->n_in_only, 0);
    /* ... as soon as the client's first packet came in on it (traffic every
     * 100 ms, looked at every 200 ms), long before the client's DELETE of
     * the old one would have told it (grace time 2 s without traffic). */
    assert_true(gw->out_later_at - gw->in_only_at <= 400);
    /* The request carried REKEY_SA naming the client's old inbound SPI and
     * came from the client. */
    unsigned reqs = 0;
    for (unsigned i = 0; i < N->n_sent; i++) {
        const struct sent *s = &N->sent[i];
        if (s->exchange != NS_CREATE_CHILD_SA || (s->flags & NS_IKE_FLAG_RESPONSE))
            continue;
        reqs++;
        assert_int_equal(s->node, node_index(cl));
    }
    assert_int_equal(reqs, 1);
    assert_int_equal(cl->ike.n_client_down, 0);
}

/* X3, R4: the gateway's CHILD_SA lifetime is the shorter one: the gateway
 * re-keys, its request goes to the client's NAT mapping on 4500, and the
 * old CHILD_SA is deleted by the gateway. The client's data plane has no
 * child_in_up/child_out_up: the engine installs both directions at once. */
static void child_rekey_by_gateway(void **state)
{
    (void)state;
    /* The client's data plane installs both directions at once (no
     * child_in_up / child_out_up): the engine falls back to child_up. */
    struct node *cl = connected_pair_plain_client("dpd = 60\nchild_lifetime = 600",
                                                  "dpd = 60\nchild_lifetime = 3600");
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status before = ike_net_one_sa(gw->ike.e);
    unsigned lost = traffic_for(cl, 560000, 100);
    printf("# child re-key by the gateway: %u packets lost\n", lost);
    assert_int_equal(lost, 0);
    assert_settled(cl);
    assert_int_not_equal(ike_net_one_sa(gw->ike.e).child[0].spi_in, before.child[0].spi_in);
    struct ns_endpoint pub = public_of(cl, 4500);
    unsigned reqs = 0, dels = 0;
    for (unsigned i = 0; i < N->n_sent; i++) {
        const struct sent *s = &N->sent[i];
        if (s->node != 0 || (s->flags & NS_IKE_FLAG_RESPONSE))
            continue;
        if (s->exchange == NS_CREATE_CHILD_SA) {
            reqs++;
            assert_true(ns_endpoint_equal(&s->remote, &pub)); /* R4 */
        }
        dels += s->exchange == NS_INFORMATIONAL;
    }
    assert_int_equal(reqs, 1);
    assert_true(dels >= 1);
    /* The gateway's new outbound SA goes to the NAT mapping too. */
    struct esp_sa *o = esp_newest_out(gw, ike_net_one_sa(gw->ike.e).id);
    assert_true(ns_endpoint_equal(&o->spec.peer, &pub));
    assert_true(o->spec.udp_encap);
    assert_int_equal(cl->n_in_only, 0); /* child_up: both directions at once */
    assert_int_equal(cl->ike.n_child_up, 2);
}

/* X3: the answer to a CHILD_SA re-key is lost once. The responder has the
 * new CHILD_SA but keeps sending on the old one until the initiator shows
 * it has the new one (its first packet on it), so nothing the responder
 * sends while the initiator retransmits is lost. */
static unsigned nth_resp_dropped;
static enum verdict drop_first_create_child_response(const struct sent *s)
{
    if (s->exchange == NS_CREATE_CHILD_SA && (s->flags & NS_IKE_FLAG_RESPONSE) &&
        nth_resp_dropped++ == 0)
        return DROP;
    return PASS;
}

static void lost_answer_loses_no_traffic(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    nth_resp_dropped = 0;
    N->filter = drop_first_create_child_response;
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
    unsigned lost = traffic_for(cl, 6000, 100);
    N->filter = NULL;
    printf("# CHILD_SA re-key with its answer lost once: %u packets lost\n", lost);
    assert_int_equal(lost, 0);
    assert_int_equal(counters(cl).retransmits, 1);
    assert_int_equal(counters(gw).responses_resent, 1);
    assert_int_equal(gw->n_out_later, 1);
    assert_settled(cl);
}

/* X3: an IKE SA re-key (RFC 7296 2.18) started by the client: new IKE
 * SPIs and keys (SKEYSEED from the old SK_d), the CHILD_SA moves to the
 * new IKE SA unchanged (same ESP SPIs, same data-plane id), the old IKE SA
 * is deleted on both sides, and the new one works: a later CHILD_SA
 * re-key and a liveness check go through it. */
static void ike_rekey_by_client(void **state)
{
    (void)state;
    struct node *cl =
        connected_pair("dpd = 60\nike_lifetime = 3600\nchild_lifetime = 7200",
                       "dpd = 60\nike_lifetime = 600\nchild_lifetime = 7200", NULL, NULL);
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status cb = ike_net_one_sa(cl->ike.e), gb = ike_net_one_sa(gw->ike.e);
    assert_true(cb.rekey_ms >= T0 + 480000 && cb.rekey_ms <= T0 + 541000);
    unsigned lost = traffic_for(cl, 560000, 100);
    assert_int_equal(lost, 0);
    assert_settled(cl);
    struct ns_ike_sa_status ca = ike_net_one_sa(cl->ike.e), ga = ike_net_one_sa(gw->ike.e);
    assert_int_not_equal(ca.spi_i, cb.spi_i);
    assert_int_not_equal(ca.spi_r, cb.spi_r);
    assert_int_equal(ca.id, cb.id); /* the data plane's id stays */
    assert_int_equal(ga.id, gb.id);
    assert_int_equal(ca.rekeys, 1);
    assert_int_equal(ga.rekeys, 1);
    assert_int_equal(ca.child[0].spi_in, cb.child[0].spi_in); /* moved, not re-keyed */
    assert_true(ns_addr_equal(&ga.vip, &gb.vip));
    assert_true(ns_addr_equal(&ca.vip, &cb.vip));
    assert_int_equal(counters(cl).ike_rekeys, 1);
    assert_int_equal(counters(gw).ike_rekeys, 1);
    assert_int_equal(counters(gw).ike_sas, 1);
    assert_int_equal(counters(cl).ike_deleted, 0); /* a re-key is not a deletion */
    assert_int_equal(counters(gw).ike_deleted, 0);
    assert_int_equal(counters(cl).ike_sas, 1); /* the old one closed on both sides */
    assert_int_equal(cl->ike.n_client_down, 0);
    assert_int_equal(cl->ike.n_client_up, 1);
    /* The new IKE SA is a full one: it re-keys the CHILD_SA on request,
     * and answers a liveness check. */
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 5000, 100), 0);
    assert_settled(cl);
    assert_int_equal(counters(gw).child_rekeys, 1);
    run_for(130000);
    assert_settled(cl);
    assert_int_equal(cl->ike.n_client_down, 0);
}

/* X3: the gateway re-keys the IKE SA (it is the initiator of the new one):
 * the client's role and connection move with it. */
static void ike_rekey_by_gateway(void **state)
{
    (void)state;
    struct node *cl =
        connected_pair("dpd = 60\nike_lifetime = 600\nchild_lifetime = 7200",
                       "dpd = 60\nike_lifetime = 3600\nchild_lifetime = 7200", NULL, NULL);
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status cb = ike_net_one_sa(cl->ike.e);
    assert_int_equal(traffic_for(cl, 560000, 100), 0);
    assert_settled(cl);
    struct ns_ike_sa_status ca = ike_net_one_sa(cl->ike.e), ga = ike_net_one_sa(gw->ike.e);
    assert_int_not_equal(ca.spi_i, cb.spi_i);
    assert_true(ga.initiator); /* the gateway initiated the new IKE SA */
    assert_false(ca.initiator);
    assert_int_equal(ca.id, cb.id);
    /* The client still owns the connection: disconnect deletes it. */
    assert_int_equal(ns_ike_engine_disconnect(cl->ike.e, N->net.now), 0);
    run_for(1000);
    assert_int_equal(cl->ike.n_client_down, 1);
    assert_int_equal(cl->ike.down_reason, NS_IKE_DOWN_LOCAL);
    assert_int_equal(counters(gw).ike_sas, 0);
}

/* Filters to make two requests cross: nothing is delivered until both
 * sides have sent theirs (both engines get rekey() before any run). */
static unsigned nth_create_child_req_dropped;
static enum verdict drop_first_gw_create_child_request(const struct sent *s)
{
    if (s->node == 0 && s->exchange == NS_CREATE_CHILD_SA && !(s->flags & NS_IKE_FLAG_RESPONSE) &&
        nth_create_child_req_dropped++ == 0)
        return DROP;
    return PASS;
}

static unsigned nth_create_child_resp_dropped;
static enum verdict drop_first_gw_create_child_response(const struct sent *s)
{
    if (s->node == 0 && s->exchange == NS_CREATE_CHILD_SA && (s->flags & NS_IKE_FLAG_RESPONSE) &&
        nth_create_child_resp_dropped++ == 0)
        return DROP;
    return PASS;
}

/* The four nonces of two crossing CREATE_CHILD_SA exchanges, and the SPI
 * each exchange's SA proposal carried (the new child or IKE SA). */
struct exch {
    int initiator;
    uint8_t ni[256], nr[256];
    size_t ni_len, nr_len;
    uint8_t spi_i[8], spi_r[8]; /* the SA payload SPI of request and response */
};

static void nonce_of(const struct ns_ike_payloads *in, uint8_t *out, size_t *len)
{
    const uint8_t *n;
    assert_int_equal(ns_ike_parse_nonce(ns_ike_find(in, NS_PL_NONCE), &n, len), NS_IKE_OK);
    memcpy(out, n, *len);
}

static void sa_spi_of(const struct ns_ike_payloads *in, uint8_t *out)
{
    static struct ns_ike_sa sa;
    assert_int_equal(ns_ike_parse_sa(ns_ike_find(in, NS_PL_SA), &sa), NS_IKE_OK);
    memcpy(out, sa.prop[0].spi, sa.prop[0].spi_len);
}

/* Reads the successful CREATE_CHILD_SA exchanges (request and answer with
 * an SA payload) from what was sent since `from`. */
static unsigned exchanges(unsigned from, struct exch *x, unsigned max)
{
    unsigned n = 0;
    static struct ike_net_sk sk;
    const struct ns_ike_payloads *in = &sk.inner;
    for (unsigned i = from; i < N->n_sent && n < max; i++) {
        const struct sent *s = &N->sent[i];
        if (s->exchange != NS_CREATE_CHILD_SA || (s->flags & NS_IKE_FLAG_RESPONSE))
            continue;
        if (!open_sent(s, &sk) || !ns_ike_find(in, NS_PL_NONCE))
            continue;
        struct exch *e = &x[n];
        e->initiator = s->node;
        nonce_of(in, e->ni, &e->ni_len);
        sa_spi_of(in, e->spi_i);
        /* Its answer: the other node's response with that message ID. */
        bool answered = false;
        for (unsigned k = i + 1; k < N->n_sent && !answered; k++) {
            const struct sent *r = &N->sent[k];
            if (r->node == s->node || r->exchange != NS_CREATE_CHILD_SA ||
                !(r->flags & NS_IKE_FLAG_RESPONSE) || r->msg_id != s->msg_id)
                continue;
            if (!open_sent(r, &sk) || !ns_ike_find(in, NS_PL_NONCE))
                break;
            nonce_of(in, e->nr, &e->nr_len);
            sa_spi_of(in, e->spi_r);
            answered = true;
        }
        n += answered;
    }
    return n;
}

static int cmp_n(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al < bl ? -1 : al > bl);
}

/* The lowest nonce of an exchange. */
static const uint8_t *low(const struct exch *x, size_t *len)
{
    bool i = cmp_n(x->ni, x->ni_len, x->nr, x->nr_len) <= 0;
    *len = i ? x->ni_len : x->nr_len;
    return i ? x->ni : x->nr;
}

/* Which of two exchanges made the redundant SA (2.8.1): the one with the
 * lowest of the four nonces. */
static int redundant_of(const struct exch x[2])
{
    size_t l0, l1;
    const uint8_t *n0 = low(&x[0], &l0), *n1 = low(&x[1], &l1);
    return cmp_n(n0, l0, n1, l1) < 0 ? 0 : 1;
}

/* X3: both sides re-key the same CHILD_SA at the same moment (2.8.1): the
 * requests cross, each side answers the other's, and the CHILD_SA made by
 * the exchange with the lowest of the four nonces is deleted by its
 * initiator; one pair survives, the surviving one is the other exchange's,
 * the old one goes too, and traffic never stops. Then the same when the
 * gateway's request is lost and comes again after the client's exchange is
 * done. */
static void simultaneous_child_rekey(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    for (int round = 0; round < 2; round++) {
        unsigned from = N->n_sent;
        uint32_t old_in = ike_net_one_sa(cl->ike.e).child[0].spi_in;
        if (round == 1) {
            nth_create_child_req_dropped = 0;
            N->filter = drop_first_gw_create_child_request;
        }
        assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
        assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, false, N->net.now), 1);
        unsigned lost = traffic_for(cl, 8000, 100);
        N->filter = NULL;
        printf("# simultaneous CHILD_SA re-key (round %d): %u packets lost\n", round, lost);
        assert_true(lost <= 1);
        assert_int_equal(traffic_for(cl, 35000, 100), 0);
        assert_settled(cl);
        struct ns_ike_sa_status c = ike_net_one_sa(cl->ike.e);
        assert_int_not_equal(c.child[0].spi_in, old_in);
        struct exch x[2];
        unsigned nx = exchanges(from, x, 2);
        if (round == 0) {
            /* Both exchanges completed: the nonces decide. */
            assert_int_equal(nx, 2);
            assert_int_not_equal(x[0].initiator, x[1].initiator);
            assert_int_equal(counters(cl).rekey_collisions, 1);
            assert_int_equal(counters(gw).rekey_collisions, 1);
            const struct exch *win = &x[1 - redundant_of(x)];
            /* The survivor is the winning exchange's: its initiator's
             * inbound SPI was in the request, the responder's in the
             * answer. */
            uint32_t spi_req = ns_get_u32(win->spi_i), spi_resp = ns_get_u32(win->spi_r);
            bool cl_init = win->initiator == node_index(cl);
            assert_int_equal(c.child[0].spi_in, cl_init ? spi_req : spi_resp);
            assert_int_equal(c.child[0].spi_out, cl_init ? spi_resp : spi_req);
        }
    }
    assert_int_equal(cl->ike.n_client_down, 0);
}

/* The gateway's first CREATE_CHILD_SA request is lost; its answers to the
 * client's request held_msg_id are lost until the client has answered a
 * re-key of the gateway's (the retransmission of the lost one). */
static unsigned gw_requests_seen;
static uint32_t held_msg_id;
static bool client_answered;
static enum verdict hold_answer_until_gw_rekey_answered(const struct sent *s)
{
    if (s->exchange != NS_CREATE_CHILD_SA)
        return PASS;
    bool response = s->flags & NS_IKE_FLAG_RESPONSE;
    if (s->node == 0 && !response && gw_requests_seen++ == 0)
        return DROP;
    if (s->node != 0 && response)
        client_answered = true;
    if (s->node == 0 && response && s->msg_id == held_msg_id && !client_answered)
        return DROP;
    return PASS;
}

/* X3: the client re-keys the CHILD_SA its last re-key made while the
 * gateway's re-key of the predecessor, lost once, is still coming; when it
 * comes, the simultaneous re-key of the predecessor (2.8.1) may make the
 * child being re-keyed the redundant one. The answer to that re-key then
 * made a child that replaces nothing: it goes too, no state machine
 * refuses a move, and one pair survives with traffic flowing. Which child
 * is redundant is the nonces' choice, so rounds run until it was the one
 * being re-keyed. */
static void rekey_of_child_made_redundant_meanwhile(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    unsigned rounds, hit = 0;
    for (rounds = 0; rounds < 24 && !hit; rounds++) {
        gw_requests_seen = 0;
        client_answered = false;
        held_msg_id = UINT32_MAX;
        uint64_t collisions = counters(cl).rekey_collisions;
        N->filter = hold_answer_until_gw_rekey_answered;
        assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
        assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, false, N->net.now), 1);
        run_for(100); /* the client's exchange is done, the gateway's lost */
        assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
        held_msg_id = N->sent[N->n_sent - 1].msg_id;
        assert_int_equal(N->sent[N->n_sent - 1].node, node_index(cl));
        struct ns_ike_sa_status before = ike_net_one_sa(cl->ike.e);
        uint32_t rekeying_in = 0;
        for (unsigned i = 0; i < before.n_child; i++)
            if (strcmp(before.child[i].state, "REKEYING") == 0)
                rekeying_in = before.child[i].spi_in;
        assert_int_not_equal(rekeying_in, 0);
        for (unsigned ms = 0; ms < 3000 && !client_answered; ms += 10)
            run_for(10);
        assert_true(client_answered);
        assert_int_equal(counters(cl).rekey_collisions, collisions + 1);
        /* Is the child being re-keyed the redundant one, its re-key still
         * unanswered? */
        struct ns_ike_sa_status mid = ike_net_one_sa(cl->ike.e);
        for (unsigned i = 0; i < mid.n_child; i++)
            if (mid.child[i].spi_in == rekeying_in)
                hit += strcmp(mid.child[i].state, "REKEYING") != 0;
        unsigned lost = traffic_for(cl, 3000, 100);
        N->filter = NULL;
        assert_true(lost <= 1);
        assert_int_equal(traffic_for(cl, 35000, 100), 0);
        assert_settled(cl);
        assert_int_equal(counters(cl).illegal_transitions, 0);
        assert_int_equal(counters(gw).illegal_transitions, 0);
    }
    printf("# the child being re-keyed was the redundant one after %u round(s)\n", rounds);
    assert_int_equal(hit, 1);
    assert_int_equal(cl->ike.n_client_down, 0);
}

/* X3: both sides re-key the IKE SA at once (2.8.2): one new IKE SA
 * survives on both sides with the same SPIs, the CHILD_SA moves to it, the
 * redundant one and the old one are deleted. */
static void simultaneous_ike_rekey(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status before = ike_net_one_sa(cl->ike.e);
    unsigned from = N->n_sent;
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, true, N->net.now), 1);
    assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, true, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 5000, 100), 0);
    /* Read the exchanges while the old IKE SAs linger (their keys). */
    struct exch x[2];
    assert_int_equal(exchanges(from, x, 2), 2);
    run_for(35000);
    assert_settled(cl);
    struct ns_ike_sa_status c = ike_net_one_sa(cl->ike.e);
    assert_int_not_equal(c.spi_i, before.spi_i);
    assert_int_equal(c.child[0].spi_in, before.child[0].spi_in);
    assert_int_equal(counters(cl).rekey_collisions, 1);
    assert_int_equal(counters(gw).rekey_collisions, 1);
    const struct exch *win = &x[1 - redundant_of(x)];
    /* The surviving IKE SA's SPIs are the winning exchange's. */
    uint64_t spi_i = 0, spi_r = 0;
    for (int k = 0; k < 8; k++) {
        spi_i = spi_i << 8 | win->spi_i[k];
        spi_r = spi_r << 8 | win->spi_r[k];
    }
    assert_true(c.spi_i == spi_i && c.spi_r == spi_r);
    assert_int_equal(counters(gw).ike_sas, 1);
    assert_int_equal(counters(cl).ike_sas, 1);
    assert_int_equal(traffic_for(cl, 2000, 100), 0);

    /* Again, but the gateway's answer to the client is lost: the gateway
     * decides first and its DELETE (of its redundant new IKE SA, or of the
     * old one) reaches the client before the client's answer comes again.
     * The client follows the peer's decision; the same single pair. */
    struct ns_ike_sa_status b2 = ike_net_one_sa(cl->ike.e);
    nth_create_child_resp_dropped = 0;
    N->filter = drop_first_gw_create_child_response;
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, true, N->net.now), 1);
    assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, true, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 5000, 100), 0);
    N->filter = NULL;
    run_for(35000);
    assert_settled(cl);
    assert_int_not_equal(ike_net_one_sa(cl->ike.e).spi_i, b2.spi_i);
    assert_int_equal(ike_net_one_sa(cl->ike.e).child[0].spi_in, b2.child[0].spi_in);
    assert_int_equal(counters(cl).rekey_collisions, 2);
    assert_int_equal(counters(gw).rekey_collisions, 2);
    assert_int_equal(counters(cl).ike_deleted, 0);
    assert_int_equal(traffic_for(cl, 2000, 100), 0);
    assert_int_equal(cl->ike.n_client_down, 0);
}

/* X3: PFS: with a DH group in the ESP proposals the CHILD_SA re-key
 * carries KE payloads and the new keys use the new shared secret; a
 * client whose first PFS group the gateway does not take is told the
 * group (INVALID_KE_PAYLOAD) and re-keys with it. */
static void pfs_rekey(void **state)
{
    (void)state;
    struct node *cl = connected_pair(
        "dpd = 60\nesp_proposals = aes128gcm16-x25519",
        "dpd = 60\nesp_proposals = aes256gcm16-ecp256, aes128gcm16-x25519", NULL, NULL);
    struct node *gw = &N->node[0];
    unsigned from = N->n_sent;
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 4000, 100), 0);
    assert_settled(cl);
    assert_int_equal(counters(gw).invalid_ke_sent, 1);
    /* The last request and its answer carry KE of group 31. */
    static struct ike_net_sk sk;
    unsigned with_ke = 0;
    for (unsigned i = from; i < N->n_sent; i++) {
        const struct sent *s = &N->sent[i];
        if (s->exchange != NS_CREATE_CHILD_SA || !open_sent(s, &sk))
            continue;
        const struct ns_ike_payload *ke = ns_ike_find(&sk.inner, NS_PL_KE);
        struct ns_ike_ke k;
        if (ke && ns_ike_parse_ke(ke, &k) == NS_IKE_OK && k.group == NS_DH_CURVE25519)
            with_ke++;
    }
    assert_int_equal(with_ke, 2);
    assert_int_equal(ike_net_one_sa(cl->ike.e).child[0].alg.dh, NS_DH_CURVE25519);
    assert_int_equal(ike_net_one_sa(gw->ike.e).child[0].alg.dh, NS_DH_CURVE25519);
}

/* R4: the NAT rebinds the client's mapping; the gateway learns the new
 * port from the next authenticated ESP packet, and its re-keys (CHILD_SA,
 * then IKE SA) go there and complete; the new CHILD_SA's ESP goes there
 * too. */
static void rekey_after_nat_rebinding(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    struct ns_endpoint old_pub = public_of(cl, 4500);
    ike_sim_nat_rebind(&N->net.nat[cl->ike.nat], node_index(cl));
    struct ns_endpoint new_pub = public_of(cl, 4500);
    assert_false(ns_endpoint_equal(&old_pub, &new_pub));
    /* The client's next ESP packet arrives from the new mapping. */
    struct ns_endpoint gw_local = test_ep(GW_ADDR, 4500);
    ns_ike_engine_esp_from(gw->ike.e, ike_net_one_sa(gw->ike.e).id, &gw_local, &new_pub,
                           N->net.now);
    struct ns_ike_sa_status g = ike_net_one_sa(gw->ike.e);
    assert_true(ns_endpoint_equal(&g.remote, &new_pub));
    unsigned from = N->n_sent;
    assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, false, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 4000, 100), 0);
    assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, true, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 4000, 100), 0);
    assert_settled(cl);
    assert_int_equal(counters(cl).child_rekeys, 1);
    assert_int_equal(counters(cl).ike_rekeys, 1);
    unsigned reqs = 0;
    for (unsigned i = from; i < N->n_sent; i++) {
        const struct sent *s = &N->sent[i];
        if (s->node != 0)
            continue;
        assert_true(ns_endpoint_equal(&s->remote, &new_pub)); /* never the old port */
        reqs += s->exchange == NS_CREATE_CHILD_SA && !(s->flags & NS_IKE_FLAG_RESPONSE);
    }
    assert_int_equal(reqs, 2);
    struct esp_sa *o = esp_newest_out(gw, ike_net_one_sa(gw->ike.e).id);
    assert_true(ns_endpoint_equal(&o->spec.peer, &new_pub));
    g = ike_net_one_sa(gw->ike.e);
    assert_true(ns_endpoint_equal(&g.remote, &new_pub)); /* the new IKE SA too */
}

/* R4: after an IKE SA re-key (new IKE SPIs, the CHILD_SAs moved over with
 * the data plane's id) the NAT rebinds: the first authenticated ESP packet
 * from the new mapping moves the live ESP SAs there, once, so the gateway's
 * ESP follows the client as its IKE messages do. */
static void rebinding_after_ike_rekey_moves_esp(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status before = ike_net_one_sa(gw->ike.e);
    assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, true, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 4000, 100), 0);
    assert_settled(cl);
    struct ns_ike_sa_status g = ike_net_one_sa(gw->ike.e);
    assert_int_not_equal(g.spi_r, before.spi_r); /* a new IKE SA */
    assert_int_equal(g.id, before.id);           /* the data plane's id */
    ike_sim_nat_rebind(&N->net.nat[cl->ike.nat], node_index(cl));
    struct ns_endpoint new_pub = public_of(cl, 4500);
    assert_false(ns_endpoint_equal(&g.remote, &new_pub));
    struct ns_endpoint gw_local = test_ep(GW_ADDR, 4500);
    unsigned moved = gw->ike.n_moved;
    ns_ike_engine_esp_from(gw->ike.e, g.id, &gw_local, &new_pub, N->net.now);
    g = ike_net_one_sa(gw->ike.e);
    assert_true(ns_endpoint_equal(&g.remote, &new_pub));
    assert_int_equal(gw->ike.n_moved, moved + 1);
    /* Every live ESP SA of the connection now has the new endpoint. */
    unsigned live = 0;
    for (unsigned i = 0; i < gw->n_esp; i++) {
        if (!gw->esp[i].live)
            continue;
        live++;
        assert_int_equal(gw->esp[i].ike_sa_id, g.id);
        assert_true(ns_endpoint_equal(&gw->esp[i].spec.peer, &new_pub));
    }
    assert_int_equal(live, 2);
    /* The next packets from there are no move. */
    ns_ike_engine_esp_from(gw->ike.e, g.id, &gw_local, &new_pub, N->net.now);
    assert_int_equal(gw->ike.n_moved, moved + 1);
    assert_int_equal(traffic_for(cl, 2000, 100), 0);
}

/* X3: a CHILD_SA re-keys before its 32-bit sequence numbers run out, with
 * no byte lifetime and its time lifetime far off: the client's outbound SA
 * is made to stand 1000 packets from the end (its model counter, as if 2^32
 * - 1001 packets had gone), traffic goes on at 10 packets a second each
 * way, and a re-key replaces it in time: no packet is refused for overflow
 * and none is lost. */
static void rekey_before_sequence_numbers_run_out(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct esp_sa *o = esp_newest_out(cl, dp_id_of(cl));
    assert_non_null(o);
    assert_false(o->spec.esn);
    uint32_t old_out = o->spi;
    o->packets = UINT32_MAX - 1000;
    assert_int_equal(traffic_for(cl, 150000, 100), 0);
    assert_int_equal(cl->n_seq_overflow, 0);
    assert_int_equal(counters(cl).child_rekeys, 1);
    assert_settled(cl);
    assert_int_not_equal(ike_net_one_sa(cl->ike.e).child[0].spi_out, old_out);
    assert_true(log_has("sequence numbers"));
}

/* X3: byte lifetime: with child_lifetime_bytes the CHILD_SA is re-keyed
 * when either direction carried 80-90 % of it, long before its time. */
static void byte_lifetime_rekey(void **state)
{
    (void)state;
    struct node *cl =
        connected_pair("dpd = 60", "dpd = 60\nchild_lifetime_bytes = 2000000", NULL, NULL);
    /* 1400 bytes each way every 100 ms: 14 kB/s; 2 MB in about 143 s. */
    assert_int_equal(traffic_for(cl, 100000, 1400), 0);
    assert_int_equal(counters(cl).child_rekeys, 0);
    assert_int_equal(traffic_for(cl, 40000, 1400), 0);
    assert_int_equal(counters(cl).child_rekeys, 1);
    assert_settled(cl);
    assert_true(log_has("soft byte lifetime reached"));
}

/* X3: hard lifetimes delete. The gateway's data plane stops taking new
 * CHILD_SAs, so every re-key fails (NO_ADDITIONAL_SAS); the client retries
 * and, at the hard lifetime, deletes the CHILD_SA on both sides and then
 * the IKE SA, with client_down(EXPIRED). The IKE SA's hard lifetime: its
 * re-key refused (no proposal for this identity), it is deleted when it
 * runs out. */
static void hard_lifetime_deletes(void **state)
{
    (void)state;
    struct node *cl = connected_pair("dpd = 60\nchild_lifetime = 3600",
                                     "dpd = 60\nchild_lifetime = 600", NULL, NULL);
    struct node *gw = &N->node[0];
    gw->ike.refuse_child = true;
    run_for(595000);
    assert_true(counters(cl).rekey_failures >= 1);
    assert_int_equal(cl->ike.n_client_down, 0);
    assert_int_equal(ike_net_one_sa(cl->ike.e).n_child, 1);
    run_for(10000);
    assert_int_equal(counters(cl).expired, 1);
    assert_int_equal(cl->ike.n_client_down, 1);
    assert_int_equal(cl->ike.down_reason, NS_IKE_DOWN_EXPIRED);
    assert_int_equal(counters(gw).ike_sas, 0);

    /* IKE SA: the gateway offers this identity no IKE proposal for a
     * re-key. */
    teardown(state);
    setup(state);
    cl = connected_pair("dpd = 60\nike_lifetime = 3600",
                        "dpd = 60\nike_lifetime = 600\n"
                        "ike_proposals = aes128gcm16-prfsha256-x25519",
                        "ike_proposals = aes256-sha256-modp2048", NULL);
    gw = &N->node[0];
    run_for(595000);
    assert_true(counters(cl).rekey_failures >= 1);
    assert_true(counters(gw).no_proposal_sent >= 1);
    assert_int_equal(cl->ike.n_client_down, 0);
    run_for(10000);
    assert_int_equal(cl->ike.n_client_down, 1);
    assert_int_equal(cl->ike.down_reason, NS_IKE_DOWN_EXPIRED);
    assert_int_equal(counters(gw).ike_sas, 0);
}

/* X2: the gateway vanishes: after dpd seconds of silence the client sends
 * an empty INFORMATIONAL, retransmits it (1 + 2 + 4 + 8 s with 3 tries),
 * then deletes its SAs and reports client_down(TIMEOUT), which is where
 * the daemon's reconnect starts. Traffic in the meantime postpones the
 * check: only silence counts. */
static void dpd_failure_reports_timeout(void **state)
{
    (void)state;
    struct node *cl = connected_pair("dpd = 10", "dpd = 10", NULL, NULL);
    struct node *gw = &N->node[0];
    assert_int_equal(traffic_for(cl, 30000, 100), 0);
    unsigned before = N->n_sent;
    gw->ike.blackhole = true;
    uint64_t silent_from = N->net.now;
    run_for(60000);
    assert_int_equal(cl->ike.n_client_down, 1);
    assert_int_equal(cl->ike.down_reason, NS_IKE_DOWN_TIMEOUT);
    uint64_t took = cl->ike.down_at - silent_from;
    printf("# dead gateway noticed after %llu ms\n", (unsigned long long)took);
    assert_true(took >= 10000 + 15000 - 200 && took <= 10000 + 15000 + 200);
    unsigned checks = 0;
    for (unsigned i = before; i < N->n_sent; i++)
        checks += N->sent[i].node == node_index(cl) && N->sent[i].exchange == NS_INFORMATIONAL &&
                  !(N->sent[i].flags & NS_IKE_FLAG_RESPONSE);
    assert_int_equal(checks, 4);
    assert_int_equal(ike_net_sas_of(cl->ike.e).n, 0);
    assert_int_equal(esp_live(cl, true), 0);
    gw->ike.blackhole = false;
}

/* INITIAL_CONTACT after an IKE re-key: the client restarts (new engine,
 * new NAT port); the gateway finds its re-keyed IKE SA by identity and
 * replaces it: exactly one IKE SA for alice. */
static void restart_after_ike_rekey(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, true, N->net.now), 1);
    run_for(2000);
    assert_int_equal(counters(gw).ike_rekeys, 1);
    cl->ike.blackhole = true;
    ike_sim_nat_rebind(&N->net.nat[cl->ike.nat], node_index(cl));
    struct node *fresh = add_client("fresh", "192.168.1.10", cl->ike.nat, NULL, NULL);
    ike_net_connect(&N->net, fresh->ike.e, &fresh->ike.addr);
    run_for(1000);
    assert_true(established(fresh));
    assert_int_equal(counters(gw).ike_sas, 1);
    assert_int_equal(esp_live(gw, true), 1);
    assert_true(log_has("deleted 1 older IKE SA(s)"));
    /* The old client's engine still thinks it is connected: free it here
     * (its SAs leave its own model data plane). */
    ns_ike_engine_free(cl->ike.e);
    cl->ike.e = NULL;
}

/* X3, R2: a transport-mode CHILD_SA through the NAT re-keys as one (the
 * selectors and the original addresses of the checksum fixup stay, the
 * mode stays), started by either side, and the IKE SA under it too. */
static void transport_mode_rekey(void **state)
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, "mode = transport", "mode = transport");
    struct node *gw = &N->node[0];
    struct ns_ike_sa_status c0 = ike_net_one_sa(cl->ike.e), g0 = ike_net_one_sa(gw->ike.e);
    assert_int_equal(c0.child[0].mode, NS_ESP_TRANSPORT);
    struct esp_sa *gi0 = esp_find(gw, true, g0.child[0].spi_in);
    assert_non_null(gi0);
    struct ns_addr orig_src = gi0->spec.orig_src, orig_dst = gi0->spec.orig_dst;
    char o[NS_ADDR_STRLEN];
    assert_string_equal(ns_addr_str(&orig_src, o), "192.168.1.10"); /* behind the NAT (R2) */
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 3000, 100), 0);
    assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, false, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 3000, 100), 0);
    assert_int_equal(ns_ike_engine_rekey(gw->ike.e, 0, true, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 3000, 100), 0);
    assert_settled(cl);
    assert_int_equal(counters(cl).child_rekeys, 2);
    struct ns_ike_sa_status c = ike_net_one_sa(cl->ike.e), g = ike_net_one_sa(gw->ike.e);
    assert_int_equal(c.child[0].mode, NS_ESP_TRANSPORT);
    assert_int_equal(g.child[0].mode, NS_ESP_TRANSPORT);
    assert_int_equal(c.child[0].rekeys, 2);
    char a[NS_TS_STRLEN], b[NS_TS_STRLEN];
    assert_string_equal(ns_ts_str(&c.child[0].local_ts[0], a),
                        ns_ts_str(&c0.child[0].local_ts[0], b));
    assert_string_equal(ns_ts_str(&g.child[0].remote_ts[0], a),
                        ns_ts_str(&g0.child[0].remote_ts[0], b));
    struct esp_sa *gi = esp_find(gw, true, g.child[0].spi_in);
    assert_non_null(gi);
    assert_int_equal(gi->spec.mode, NS_ESP_TRANSPORT);
    assert_true(ns_addr_equal(&gi->spec.orig_src, &orig_src));
    assert_true(ns_addr_equal(&gi->spec.orig_dst, &orig_dst));
}

/* The status a natsecctl shows (X10): time to the next re-key and the
 * re-key count of the IKE SA and of each CHILD_SA. */
static void status_shows_rekey_timers(void **state)
{
    (void)state;
    struct node *cl = connected_pair("dpd = 60",
                                     "dpd = 60\nike_lifetime = 1000\n"
                                     "child_lifetime = 500",
                                     NULL, NULL);
    struct ns_ike_sa_status s = ike_net_one_sa(cl->ike.e);
    assert_true(s.rekey_ms > N->net.now && s.rekey_ms <= s.expire_ms - 100000);
    assert_true(s.child[0].rekey_ms > N->net.now &&
                s.child[0].rekey_ms <= s.child[0].expire_ms - 50000);
    assert_int_equal(s.rekeys, 0);
    assert_string_equal(s.child[0].state, "INSTALLED");
    run_for(500000);
    s = ike_net_one_sa(cl->ike.e);
    assert_int_equal(s.child[0].rekeys, 1);
    run_for(500000);
    s = ike_net_one_sa(cl->ike.e);
    assert_int_equal(s.rekeys, 1);
    assert_true(s.child[0].rekeys >= 2);
}

/* A CHILD_SA re-key the responder cannot complete is still answered,
 * never left unanswered: its message ID is used up, so the initiator's
 * retransmissions would go unanswered too and it would give the IKE SA
 * up. The IKE SA and the old CHILD_SA stay and traffic goes on; said:
 * the initiator's log line about the answer. */
static void assert_rekey_answered(struct node *cl, const char *notify, const char *said)
{
    char line[128];
    unsigned lost = traffic_for(cl, 20000, 100);
    assert_int_equal(cl->ike.n_client_down, 0);
    assert_int_equal(lost, 0);
    assert_int_equal(counters(cl).retransmits, 0);
    snprintf(line, sizeof(line), "CREATE_CHILD_SA from 'alice@corp.example' answered %s", notify);
    assert_true(log_has(line));
    assert_true(log_has(said));
}

/* The gateway's own DH public value fails once (a wrap of ns_dh_public,
 * tests/CMakeLists.txt): its PFS answer to the re-key cannot be built
 * after the new CHILD_SA was installed. TEMPORARY_FAILURE (RFC 7296
 * 2.25): the client re-keys again a moment later, and that succeeds. */
int __real_ns_dh_public(const struct ns_dh *dh, uint8_t *out, size_t out_len);
int __wrap_ns_dh_public(const struct ns_dh *dh, uint8_t *out, size_t out_len);
static bool fail_next_dh_public;
int __wrap_ns_dh_public(const struct ns_dh *dh, uint8_t *out, size_t out_len)
{
    if (fail_next_dh_public) {
        fail_next_dh_public = false;
        return -1;
    }
    return __real_ns_dh_public(dh, out, out_len);
}

static void unbuildable_rekey_answer_is_answered(void **state) /* X3 */
{
    (void)state;
    struct node *cl = connected_pair("dpd = 60\nesp_proposals = aes128gcm16-x25519",
                                     "dpd = 60\nesp_proposals = aes128gcm16-x25519", NULL, NULL);
    struct node *gw = &N->node[0];
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1); /* request built */
    fail_next_dh_public = true; /* the gateway's answer is the next to need it */
    assert_rekey_answered(cl, "TEMPORARY_FAILURE",
                          "the peer is busy (TEMPORARY_FAILURE), re-key later");
    assert_false(fail_next_dh_public);
    assert_true(log_has("cannot build the answer to the peer's re-key of CHILD SA"));
    assert_int_equal(counters(gw).child_rekeys, 1);
    assert_settled(cl); /* nothing left of the CHILD_SA taken out */
}

/* Randomness fails at the gateway while it handles the re-key request (a
 * wrap of ns_random_bytes): no nonce, and not even the IV of an error
 * answer. It then gives the request's message ID back, so that the
 * client's retransmission is handled afresh, and the re-key succeeds. */
int __real_ns_random_bytes(void *buf, size_t len);
int __wrap_ns_random_bytes(void *buf, size_t len);
static bool fail_random;
int __wrap_ns_random_bytes(void *buf, size_t len)
{
    return fail_random ? -1 : __real_ns_random_bytes(buf, len);
}

static void no_answer_at_all_handles_retransmission(void **state) /* X3 */
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
    fail_random = true;
    run_for(10);
    fail_random = false;
    assert_int_equal(traffic_for(cl, 20000, 100), 0);
    assert_int_equal(cl->ike.n_client_down, 0);
    assert_int_equal(counters(gw).child_rekeys, 1);
    assert_int_equal(counters(cl).retransmits, 1);
    assert_settled(cl);
    assert_true(log_has("cannot build the answer to CREATE_CHILD_SA request"));
}

/* The gateway's data plane refuses the re-keyed CHILD_SA: NO_ADDITIONAL_SAS
 * (answered before as now); the re-key is tried again later. */
static void rekey_refused_by_data_plane_is_answered(void **state) /* X3 */
{
    (void)state;
    struct node *cl = connected_pair(NULL, NULL, NULL, NULL);
    struct node *gw = &N->node[0];
    gw->ike.refuse_child = true;
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
    run_for(10);
    gw->ike.refuse_child = false;
    assert_rekey_answered(cl, "NO_ADDITIONAL_SAS",
                          "re-key of a CHILD SA failed: NO_ADDITIONAL_SAS");
    assert_int_equal(counters(gw).child_rekeys, 0);
    assert_settled(cl);
    assert_int_equal(ns_ike_engine_rekey(cl->ike.e, 0, false, N->net.now), 1);
    assert_int_equal(traffic_for(cl, 4000, 100), 0);
    assert_int_equal(counters(gw).child_rekeys, 1);
    assert_settled(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(child_rekey_by_client, setup, teardown),
        cmocka_unit_test_setup_teardown(child_rekey_by_gateway, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_answer_loses_no_traffic, setup, teardown),
        cmocka_unit_test_setup_teardown(ike_rekey_by_client, setup, teardown),
        cmocka_unit_test_setup_teardown(ike_rekey_by_gateway, setup, teardown),
        cmocka_unit_test_setup_teardown(simultaneous_child_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(rekey_of_child_made_redundant_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(simultaneous_ike_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(pfs_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(rekey_after_nat_rebinding, setup, teardown),
        cmocka_unit_test_setup_teardown(rebinding_after_ike_rekey_moves_esp, setup, teardown),
        cmocka_unit_test_setup_teardown(byte_lifetime_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(rekey_before_sequence_numbers_run_out, setup, teardown),
        cmocka_unit_test_setup_teardown(hard_lifetime_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(dpd_failure_reports_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_after_ike_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(transport_mode_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(status_shows_rekey_timers, setup, teardown),
        cmocka_unit_test_setup_teardown(unbuildable_rekey_answer_is_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(rekey_refused_by_data_plane_is_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(no_answer_at_all_handles_retransmission, setup, teardown),
    };
    if (getenv("NATSEC_TEST_FILTER")) /* one scenario, e.g. to read its log */
        cmocka_set_test_filter(getenv("NATSEC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
