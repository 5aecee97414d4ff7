/* The simulated network of the IKE engine unit tests (ike_sim.h). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "support/ike_sim.h"

/* ---- NAT ---- */

uint16_t ike_sim_nat_map(struct ike_sim_nat *nat, int node, const struct ns_endpoint *priv)
{
    for (unsigned i = 0; i < nat->n; i++)
        if (nat->m[i].node == node && ns_endpoint_equal(&nat->m[i].priv, priv))
            return nat->m[i].pub_port;
    assert_true(nat->n < IKE_SIM_MAX_MAPS);
    struct ike_sim_mapping *m = &nat->m[nat->n++];
    m->node = node;
    m->priv = *priv;
    m->pub_port = nat->next_port++;
    return m->pub_port;
}

void ike_sim_nat_rebind(struct ike_sim_nat *nat, int node)
{
    for (unsigned i = 0; i < nat->n; i++)
        if (nat->m[i].node == node)
            nat->m[i].node = -1;
    nat->next_port += 100;
}

int ike_sim_nat_route(const struct ike_sim_nat *nat, unsigned n_nats, const struct ns_endpoint *dst,
                      struct ns_endpoint *local)
{
    for (unsigned i = 0; i < n_nats; i++) {
        if (!ns_addr_equal(&nat[i].pub, &dst->addr))
            continue;
        for (unsigned k = 0; k < nat[i].n; k++) {
            if (nat[i].m[k].node >= 0 && nat[i].m[k].pub_port == dst->port) {
                *local = nat[i].m[k].priv;
                return nat[i].m[k].node;
            }
        }
        return -1; /* no mapping: the NAT drops it */
    }
    return -2;
}

/* ---- datagrams in flight ---- */

void ike_sim_enqueue(struct ike_sim_queue *q, const struct ns_endpoint *src,
                     const struct ns_endpoint *dst, const uint8_t *msg, size_t len)
{
    assert_true(q->qt - q->qh < IKE_SIM_QLEN);
    assert_true(len <= IKE_SIM_PKT_MAX);
    struct ike_sim_pkt *p = &q->q[q->qt++ % IKE_SIM_QLEN];
    p->src = *src;
    p->dst = *dst;
    memcpy(p->data, msg, len);
    p->len = len;
}

/* ---- the loop ---- */

void ike_sim_run_until(const struct ike_sim_world *w, uint64_t until)
{
    struct ike_sim_queue *q = w->q;
    for (unsigned guard = 0; guard < w->guard; guard++) {
        if (q->qh != q->qt) {
            w->deliver(&q->q[q->qh++ % IKE_SIM_QLEN]);
            continue;
        }
        uint64_t next = NS_IKE_NEVER;
        for (unsigned i = 0; i < *w->n_nodes; i++)
            if (w->engine(i)) {
                uint64_t t = ns_ike_engine_next_wakeup(w->engine(i));
                next = t < next ? t : next;
            }
        if (next > until)
            break;
        if (next > *w->now)
            *w->now = next;
        for (unsigned i = 0; i < *w->n_nodes; i++)
            if (w->engine(i) && ns_ike_engine_next_wakeup(w->engine(i)) <= *w->now)
                ns_ike_engine_tick(w->engine(i), *w->now);
    }
    assert_true(q->qh == q->qt);
    if (until > *w->now)
        *w->now = until;
}

/* ---- SPIs ---- */

uint32_t ike_sim_spi_alloc(struct ike_sim_spis *s)
{
    assert_true(s->n < s->cap && s->cap <= IKE_SIM_MAX_SPIS);
    uint32_t spi;
    do
        spi = ns_random_u32();
    while (spi < 256);
    s->spi[s->n] = spi;
    s->live[s->n++] = true;
    return spi;
}

void ike_sim_spi_release(struct ike_sim_spis *s, uint32_t spi, const char *owner)
{
    for (unsigned i = 0; i < s->n; i++) {
        if (s->spi[i] == spi) {
            assert_true(s->live[i]); /* released exactly once */
            s->live[i] = false;
            return;
        }
    }
    fail_msg("%s released SPI 0x%08x it never had", owner, spi);
}

unsigned ike_sim_spi_live(const struct ike_sim_spis *s)
{
    unsigned k = 0;
    for (unsigned i = 0; i < s->n; i++)
        k += s->live[i];
    return k;
}

/* ---- the log ---- */

int ike_sim_log_open(struct ike_sim_log *l, enum ns_log_level level)
{
    l->f = open_memstream(&l->buf, &l->len);
    if (!l->f)
        return -1;
    ns_log_set_stream(l->f);
    ns_log_set_level(level);
    return 0;
}

bool ike_sim_log_has(struct ike_sim_log *l, const char *needle)
{
    fflush(l->f);
    return l->buf && strstr(l->buf, needle) != NULL;
}

void ike_sim_log_close(struct ike_sim_log *l)
{
    ns_log_set_stream(stderr);
    fclose(l->f);
    if (getenv("NATSEC_TEST_LOG") && l->buf)
        fputs(l->buf, stderr);
    free(l->buf);
}

/* ---- configurations ---- */

void ike_sim_load(struct ns_conf *conf, const char *name, const char *text)
{
    char err[512];
    if (ns_conf_load_string(text, name, conf, err, sizeof(err)) != 0)
        fail_msg("config of %s: %s", name, err);
}
