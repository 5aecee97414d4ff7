/* The IKE engine tests' node harness (ike_net.h). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support/ike_net.h"

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

static void deliver(struct ike_sim_pkt *p)
{
    struct ns_endpoint local;
    int to = ike_net_route(cur, &p->dst, &local);
    if (to < 0 || !*engine_p(cur, (unsigned)to))
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
