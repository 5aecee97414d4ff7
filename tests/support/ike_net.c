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

static char *node_at(const struct ike_net *net, unsigned i)
{
    return (char *)net->nodes + (size_t)i * net->layout.size;
}

static void *field(const struct ike_net *net, unsigned i, size_t off)
{
    return node_at(net, i) + off;
}

static struct ns_ike_engine **engine_p(const struct ike_net *net, unsigned i)
{
    return field(net, i, net->layout.e);
}

static int nat_of(const struct ike_net *net, unsigned i)
{
    return *(const int *)field(net, i, net->layout.nat);
}

static struct ike_sim_spis *spis_of(const struct ike_net *net, unsigned i)
{
    return field(net, i, net->layout.spis);
}

static unsigned index_of(const struct ike_net *net, const void *node)
{
    size_t off = (size_t)((const char *)node - (const char *)net->nodes);
    assert_true(off % net->layout.size == 0 && off / net->layout.size < *net->n_nodes);
    return (unsigned)(off / net->layout.size);
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
    int to = ike_sim_nat_route(net->nat, net->nat ? *net->n_nats : 0, dst, local);
    if (to != -2)
        return to;
    for (unsigned i = 0; i < *net->n_nodes; i++) {
        const struct ns_addr *a = field(net, i, net->layout.addr);
        if (nat_of(net, i) < 0 && ns_addr_equal(a, &dst->addr)) {
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
    if (to < 0 || !*engine_p(cur, (unsigned)to))
        return;
    if (captured(p, to))
        return;
    if (cur->layout.blackhole != IKE_NET_NONE &&
        *(const bool *)field(cur, (unsigned)to, cur->layout.blackhole))
        return;
    if (cur->before_input)
        cur->before_input(to, p, &local);
    ns_ike_engine_input(*engine_p(cur, (unsigned)to), &local, &p->src, p->data, p->len, *cur->now);
    if (cur->after_input)
        cur->after_input();
}

static struct ns_ike_engine *engine_of(unsigned i)
{
    return *engine_p(cur, i);
}

void ike_net_send(struct ike_net *net, int idx, const struct ns_endpoint *local,
                  const struct ns_endpoint *remote, const uint8_t *msg, size_t len)
{
    struct ns_endpoint src = *local;
    int nat = nat_of(net, (unsigned)idx);
    if (nat >= 0) {
        src.addr = net->nat[nat].pub;
        src.port = ike_sim_nat_map(&net->nat[nat], idx, local);
    }
    ike_sim_enqueue(net->q, &src, remote, msg, len);
}

void ike_net_run_until(struct ike_net *net, uint64_t until)
{
    ike_sim_run_until(&net->world, until);
}

int ike_net_add_nat(struct ike_net *net, const char *pub, uint16_t first_port)
{
    assert_true(net->nat && *net->n_nats < net->max_nats);
    struct ike_sim_nat *nat = &net->nat[*net->n_nats];
    nat->pub = test_addr(pub);
    nat->next_port = first_port;
    return (int)(*net->n_nats)++;
}

void ike_net_free(struct ike_net *net, void *owner)
{
    ike_net_close(net);
    free(owner);
}

void ike_net_run_for(struct ike_net *net, uint64_t ms)
{
    ike_sim_run_until(&net->world, *net->now + ms);
}

void ike_net_node_init(struct ike_net *net, void *node, const char *name, const char *a, int nat,
                       unsigned spi_cap, const char *text)
{
    unsigned i = index_of(net, node);
    char *node_name = field(net, i, net->layout.name);
    snprintf(node_name, net->layout.name_size, "%s", name);
    *(struct ns_addr *)field(net, i, net->layout.addr) = test_addr(a);
    *(int *)field(net, i, net->layout.nat) = nat;
    spis_of(net, i)->cap = spi_cap;
    ike_sim_load(field(net, i, net->layout.conf), node_name, text);
}

void *ike_net_add_node(struct ike_net *net, const char *name, const char *a, int nat,
                       unsigned spi_cap, const char *text)
{
    assert_true(*net->n_nodes < net->max_nodes);
    void *node = node_at(net, (*net->n_nodes)++);
    ike_net_node_init(net, node, name, a, nat, spi_cap, text);
    return node;
}

void ike_net_node_start(struct ike_net *net, void *node, const struct ns_ike_ops *ops)
{
    unsigned i = index_of(net, node);
    struct ns_ike_engine **e = engine_p(net, i);
    struct ns_ike_ops o = ops ? *ops : ike_node_ops;
    o.ctx = node;
    o.alloc_spi = ike_net_alloc_spi;
    o.release_spi = ike_net_release_spi;
    *e = ns_ike_engine_new(field(net, i, net->layout.conf), &o, *net->now);
    assert_non_null(*e);
}

void ike_net_connect(struct ike_net *net, struct ns_ike_engine *e, const struct ns_addr *addr)
{
    assert_int_equal(ns_ike_engine_connect(e, addr, *net->now), 0);
}

void ike_net_child_down_ignored(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    (void)ctx;
    (void)in_spi;
    (void)out_spi;
}

uint32_t ike_net_alloc_spi(void *ctx)
{
    return ike_sim_spi_alloc(spis_of(cur, index_of(cur, ctx)));
}

void ike_net_release_spi(void *ctx, uint32_t spi)
{
    unsigned i = index_of(cur, ctx);
    ike_sim_spi_release(spis_of(cur, i), spi, field(cur, i, cur->layout.name));
}

int ike_net_open(struct ike_net *net)
{
    cur = net;
    net->world = (struct ike_sim_world){.q = net->q,
                                        .now = net->now,
                                        .n_nodes = net->n_nodes,
                                        .engine = engine_of,
                                        .deliver = deliver,
                                        .guard = net->guard};
    return ike_sim_log_open(net->log, net->log_level);
}

void ike_net_close(struct ike_net *net)
{
    for (unsigned i = 0; i < *net->n_nodes; i++) {
        ns_ike_engine_free(*engine_p(net, i));
        ns_conf_free(field(net, i, net->layout.conf));
    }
    for (unsigned i = 0; i < *net->n_nodes; i++) {
        assert_int_equal(ike_sim_spi_live(spis_of(net, i)), 0); /* every SPI given back */
        if (net->teardown_node)
            net->teardown_node(i);
    }
    ike_sim_log_close(net->log);
    cur = NULL;
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

void ike_net_log_must_have(const struct ike_net *net, const char *needle)
{
    struct ike_sim_log *log = net->log;
    if (!ike_sim_log_has(log, needle)) {
        fprintf(stderr, "--- log:\n%.*s---\n", (int)log->len, log->buf ? log->buf : "");
        fail_msg("the log does not say: %s", needle);
    }
}

void ike_net_log_must_not_have(const struct ike_net *net, const char *needle)
{
    if (ike_sim_log_has(net->log, needle))
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
    w->got = ike_net_sk_open(*engine_p(cur, (unsigned)to), p->data, p->len, w->answer) == 0;
    return w->got;
}

int ike_net_sk_request(struct ike_net *net, int from, const struct ns_ike_sa_status *sa,
                       uint8_t exchange, uint32_t msg_id, ike_net_sk_fill fill, void *arg,
                       struct ike_net_sk *answer)
{
    struct ns_ike_sa_keys k;
    assert_int_equal(
        ns_ike_engine_sa_keys(*engine_p(net, (unsigned)from), sa->spi_i, sa->spi_r, &k), 0);
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
    ike_net_run_until(net, *net->now + IKE_NET_SK_WAIT_MS);
    net->capture = NULL;
    return w.got ? 0 : -1;
}
