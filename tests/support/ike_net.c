/* The IKE engine tests' node harness (ike_net.h). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

/* The network the loop's context-free callbacks work on. */
static struct ike_net *cur;

/* Node i of the test's array (each begins with a struct ike_node). */
static struct ike_node *node_at(const struct ike_net *net, unsigned i)
{
    return (struct ike_node *)((char *)net->o.nodes + (size_t)i * net->o.node_size);
}

static unsigned index_of(const struct ike_net *net, const void *node)
{
    size_t off = (size_t)((const char *)node - (const char *)net->o.nodes);
    assert_true(off % net->o.node_size == 0 && off / net->o.node_size < net->n_nodes);
    return (unsigned)(off / net->o.node_size);
}

struct ike_net *ike_net_current(void)
{
    assert_non_null(cur);
    return cur;
}

int ike_net_node_index(const struct ike_net *net, const void *node)
{
    return (int)index_of(net, node);
}

int ike_net_route(const struct ike_net *net, const struct ns_endpoint *dst,
                  struct ns_endpoint *local)
{
    int to = ike_sim_nat_route(net->nat, net->n_nats, dst, local);
    if (to != -2)
        return to;
    for (unsigned i = 0; i < net->n_nodes; i++) {
        const struct ike_node *n = node_at(net, i);
        if (n->nat < 0 && ns_addr_equal(&n->addr, &dst->addr)) {
            *local = *dst;
            return (int)i;
        }
    }
    return -1;
}

static bool captured(struct ike_sim_pkt *p, int to);

static void deliver(struct ike_sim_pkt *p)
{
    struct ns_endpoint local;
    int to = ike_net_route(cur, &p->dst, &local);
    if (to < 0 || !node_at(cur, (unsigned)to)->e)
        return;
    if (captured(p, to))
        return;
    struct ike_node *n = node_at(cur, (unsigned)to);
    if (n->blackhole)
        return;
    if (cur->o.before_input)
        cur->o.before_input(to, p, &local);
    ns_ike_engine_input(n->e, &local, &p->src, p->data, p->len, cur->now);
    if (cur->o.after_input)
        cur->o.after_input();
}

static struct ns_ike_engine *engine_of(unsigned i)
{
    return node_at(cur, i)->e;
}

void ike_net_send(struct ike_net *net, int idx, const struct ns_endpoint *local,
                  const struct ns_endpoint *remote, const uint8_t *msg, size_t len)
{
    struct ns_endpoint src = *local;
    int nat = node_at(net, (unsigned)idx)->nat;
    if (nat >= 0) {
        src.addr = net->nat[nat].pub;
        src.port = ike_sim_nat_map(&net->nat[nat], idx, local);
    }
    ike_sim_enqueue(&net->q, &src, remote, msg, len);
}

void ike_net_run_until(struct ike_net *net, uint64_t until)
{
    ike_sim_run_until(&net->world, until);
}

int ike_net_add_nat(struct ike_net *net, const char *pub, uint16_t first_port)
{
    assert_true(net->n_nats < IKE_NET_MAX_NATS);
    struct ike_sim_nat *nat = &net->nat[net->n_nats];
    nat->pub = test_addr(pub);
    nat->next_port = first_port;
    return (int)net->n_nats++;
}

void ike_net_run_for(struct ike_net *net, uint64_t ms)
{
    ike_sim_run_until(&net->world, net->now + ms);
}

void *ike_net_add_node(struct ike_net *net, const char *name, const char *a, int nat,
                       unsigned spi_cap, const char *text)
{
    assert_true(net->n_nodes < net->o.max_nodes);
    struct ike_node *n = node_at(net, net->n_nodes++);
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->addr = test_addr(a);
    n->nat = nat;
    n->spis.cap = spi_cap;
    ike_sim_load(&n->conf, n->name, text);
    return n;
}

void ike_net_node_start(struct ike_net *net, void *node, const struct ns_ike_ops *ops)
{
    struct ike_node *n = node_at(net, index_of(net, node));
    struct ns_ike_ops o = ops ? *ops : ike_node_ops;
    if (!ops && net->o.send)
        o.send = net->o.send;
    o.ctx = node;
    o.alloc_spi = ike_net_alloc_spi;
    o.release_spi = ike_net_release_spi;
    n->e = ns_ike_engine_new(&n->conf, &o, net->now);
    assert_non_null(n->e);
}

void *ike_net_add_started_node(struct ike_net *net, const char *name, const char *a, int nat,
                               unsigned spi_cap, const char *text, const struct ns_ike_ops *ops)
{
    void *node = ike_net_add_node(net, name, a, nat, spi_cap, text);
    ike_net_node_start(net, node, ops);
    return node;
}

void ike_net_connect(struct ike_net *net, struct ns_ike_engine *e, const struct ns_addr *addr)
{
    assert_int_equal(ns_ike_engine_connect(e, addr, net->now), 0);
}

uint32_t ike_net_alloc_spi(void *ctx)
{
    return ike_sim_spi_alloc(&node_at(cur, index_of(cur, ctx))->spis);
}

void ike_net_release_spi(void *ctx, uint32_t spi)
{
    struct ike_node *n = node_at(cur, index_of(cur, ctx));
    ike_sim_spi_release(&n->spis, spi, n->name);
}

int ike_net_open(struct ike_net *net, const struct ike_net_opts *o)
{
    cur = net;
    net->o = *o;
    net->now = o->now;
    net->world = (struct ike_sim_world){.q = &net->q,
                                        .now = &net->now,
                                        .n_nodes = &net->n_nodes,
                                        .engine = engine_of,
                                        .deliver = deliver,
                                        .guard = o->guard};
    if (o->nat)
        ike_net_add_nat(net, o->nat, o->nat_first_port);
    return ike_sim_log_open(&net->log, o->log_level);
}

void ike_net_close(struct ike_net *net)
{
    for (unsigned i = 0; i < net->n_nodes; i++) {
        ns_ike_engine_free(node_at(net, i)->e);
        ns_conf_free(&node_at(net, i)->conf);
    }
    for (unsigned i = 0; i < net->n_nodes; i++) {
        assert_int_equal(ike_sim_spi_live(&node_at(net, i)->spis), 0); /* every SPI given back */
        if (net->o.teardown_node)
            net->o.teardown_node(i);
    }
    ike_sim_log_close(&net->log);
    cur = NULL;
}

int ike_net_teardown(void **state)
{
    (void)state;
    struct ike_net *net = ike_net_current();
    void *owner = net->o.owner;
    ike_net_close(net);
    free(owner);
    return 0;
}

static void collect_sa(void *arg, const struct ns_ike_sa_status *st)
{
    struct ike_net_sas *l = arg;
    if (l->n < IKE_NET_MAX_SAS)
        l->st[l->n++] = *st;
}

struct ike_net_sas ike_net_sas_of(const struct ns_ike_engine *e)
{
    struct ike_net_sas l;
    l.n = 0;
    ns_ike_engine_foreach(e, collect_sa, &l);
    return l;
}

struct ns_ike_sa_status ike_net_one_sa(const struct ns_ike_engine *e)
{
    struct ike_net_sas l = ike_net_sas_of(e);
    assert_int_equal(l.n, 1);
    return l.st[0];
}

unsigned ike_net_established(const struct ns_ike_engine *e)
{
    struct ike_net_sas l = ike_net_sas_of(e);
    unsigned k = 0;
    for (unsigned i = 0; i < l.n; i++)
        k += strcmp(l.st[i].state, "ESTABLISHED") == 0;
    return k;
}

bool ike_net_one_established(const struct ns_ike_engine *e)
{
    struct ike_net_sas l = ike_net_sas_of(e);
    return l.n == 1 && strcmp(l.st[0].state, "ESTABLISHED") == 0;
}

struct ns_ike_counters ike_net_counters(const struct ns_ike_engine *e)
{
    struct ns_ike_counters c;
    ns_ike_engine_counters(e, &c);
    return c;
}

void ike_net_log_must_have(struct ike_net *net, const char *needle)
{
    struct ike_sim_log *log = &net->log;
    if (!ike_sim_log_has(log, needle)) {
        fprintf(stderr, "--- log:\n%.*s---\n", (int)log->len, log->buf ? log->buf : "");
        fail_msg("the log does not say: %s", needle);
    }
}

void ike_net_log_must_not_have(struct ike_net *net, const char *needle)
{
    if (ike_sim_log_has(&net->log, needle))
        fail_msg("the log says: %s", needle);
}

/* ---- SK messages ---- */

/* The SK cipher of the messages one side of the IKE SA sends: the
 * original initiator's keys, or the responder's. */
static struct ns_cipher *sk_cipher(const struct ns_ike_sa_keys *k, bool initiator_sends)
{
    return ns_cipher_new(k->alg.encr, k->alg.key_bits, k->alg.integ,
                         initiator_sends ? k->sk_ei : k->sk_er, k->encr_len,
                         initiator_sends ? k->sk_ai : k->sk_ar, k->integ_len);
}

int ike_net_sk_open(const struct ns_ike_engine *e, const uint8_t *msg, size_t len,
                    struct ike_net_sk *out)
{
    struct ns_ike_payloads pl;
    if (len > sizeof(out->msg))
        return -1;
    memcpy(out->msg, msg, len);
    out->len = len;
    if (ns_ike_parse_message(out->msg, len, &out->h, &pl) != NS_IKE_OK)
        return -1;
    const struct ns_ike_payload *sk = ns_ike_find(&pl, NS_PL_SK);
    struct ns_ike_sa_keys k;
    if (!sk || ns_ike_engine_sa_keys(e, out->h.spi_i, out->h.spi_r, &k) != 0)
        return -1;
    struct ns_cipher *c = sk_cipher(&k, out->h.flags & NS_IKE_FLAG_INITIATOR);
    OPENSSL_cleanse(&k, sizeof(k));
    int rc = c && ns_ike_sk_open(c, out->msg, len, sk, &out->inner) == NS_IKE_OK ? 0 : -1;
    ns_cipher_free(c);
    return rc;
}

/* The answer ike_net_sk_request waits for, taken off the network. */
static bool captured(struct ike_sim_pkt *p, int to)
{
    struct ike_net_capture *w = cur->capture;
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    uint8_t copy[IKE_SIM_PKT_MAX];
    if (!w || w->got || to != w->to)
        return false;
    memcpy(copy, p->data, p->len);
    if (ns_ike_parse_message(copy, p->len, &h, &pl) != NS_IKE_OK || h.spi_i != w->spi_i ||
        h.spi_r != w->spi_r || h.msg_id != w->msg_id || !(h.flags & NS_IKE_FLAG_RESPONSE))
        return false;
    w->got = ike_net_sk_open(node_at(cur, (unsigned)to)->e, p->data, p->len, w->answer) == 0;
    return w->got;
}

int ike_net_sk_request(struct ike_net *net, int from, const struct ns_ike_sa_status *sa,
                       uint8_t exchange, uint32_t msg_id, ike_net_sk_fill fill, void *arg,
                       struct ike_net_sk *answer)
{
    struct ns_ike_sa_keys k;
    assert_int_equal(
        ns_ike_engine_sa_keys(node_at(net, (unsigned)from)->e, sa->spi_i, sa->spi_r, &k), 0);
    struct ns_cipher *c = sk_cipher(&k, sa->initiator);
    OPENSSL_cleanse(&k, sizeof(k));
    assert_non_null(c);
    /* The I flag names the original initiator, whichever side asks (3.1). */
    struct ns_ike_header h = {.spi_i = sa->spi_i,
                              .spi_r = sa->spi_r,
                              .version = NS_IKE_VERSION,
                              .exchange = exchange,
                              .flags = sa->initiator ? NS_IKE_FLAG_INITIATOR : 0,
                              .msg_id = msg_id};
    uint8_t msg[IKE_SIM_PKT_MAX], iv[NS_CIPHER_MAX_IV];
    assert_int_equal(ns_random_bytes(iv, ns_cipher_iv_len(c)), 0);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, msg, sizeof(msg), &h);
    ns_ike_sk_begin(&b, c, iv);
    if (fill)
        fill(&b, arg);
    ns_ike_sk_seal(&b, c);
    ns_cipher_free(c);
    int len = ns_ike_build_finish(&b);
    assert_true(len > 0);

    struct ike_net_capture w = {
        .to = from, .spi_i = sa->spi_i, .spi_r = sa->spi_r, .msg_id = msg_id, .answer = answer};
    net->capture = &w;
    ike_net_send(net, from, &sa->local, &sa->remote, msg, (size_t)len);
    ike_net_run_until(net, net->now + IKE_NET_SK_WAIT_MS);
    net->capture = NULL;
    return w.got ? 0 : -1;
}
