/* The client's side of RFC 8229 (daemon/tcp.h): which transport a
 * connection attempt uses, the fallback to TCP, the connection to the
 * gateway and its re-dialling, and the way back to UDP.
 *
 *   transport = udp   never TCP.
 *   transport = tcp   every attempt over TCP to gateway:tcp_port.
 *   transport = auto  UDP first; when IKE_SA_INIT has no answer after
 *                     tcp_fallback ms, the attempt is dropped and made
 *                     again over TCP, and later attempts (reconnects
 *                     after DPD, say) stay on TCP. While on TCP, every
 *                     tcp_udp_probe seconds an IKE_SA_INIT goes out over
 *                     UDP from a probe engine of its own; when the gateway
 *                     answers it, UDP works again: the IKE SA moves back to
 *                     UDP (on_switch), keeping its SAs.
 *
 * A connection that breaks under an IKE SA is dialled again, with a
 * back-off from 0.5 s to 8 s; the IKE SA and its CHILD_SAs go on over the
 * new one, and the gateway follows the first authenticated message on it
 * (tcp.h). The initiator sends "IKETCP" first on every connection. NAT
 * keepalives are not sent over TCP (keepalive.c); DPD goes on as over
 * UDP and is what notices a gateway that is gone. */
#include <string.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "daemon/tcp_int.h"
#include "net/tcp_sock.h"
#include "util/buf.h"
#include "util/log.h"

#define REDIAL_FIRST_MS 500
#define REDIAL_MAX_MS 8000
/* A replaced connection's queue (the DELETE of the old IKE SA) gets this
 * long to leave before it is closed. */
#define RETIRE_MS 2000
#define IKE_EXCHANGE_SA_INIT 34

struct client_sa {
    bool any;
    bool init_sent; /* IKE_SA_INIT sent, no answer yet */
    bool established;
};

static void client_sa_of(void *arg, const struct ns_ike_sa_status *st)
{
    struct client_sa *s = arg;
    s->any = true;
    s->init_sent |= st->state && strcmp(st->state, "INIT_SENT") == 0;
    s->established |= st->established_ms != 0;
}

static struct client_sa client_sa(const struct nsd *d)
{
    struct client_sa s = {0};
    if (d->engine)
        ns_ike_engine_foreach(d->engine, client_sa_of, &s);
    return s;
}

struct nsd_tcp_conn *nsd_tcp_client_dial(struct nsd_tcp *t)
{
    struct nsd *d = t->d;
    struct ns_endpoint to = {.addr = d->conf.gateway, .port = d->conf.tcp_port};
    int fd = ns_tcp_connect(&to, d->conf.fwmark);
    if (fd < 0) {
        t->cnt.connect_failures++;
        return NULL;
    }
    struct ns_endpoint local = {.addr = t->local_addr, .port = 0};
    struct nsd_tcp_conn *c = nsd_tcp_conn_open(t, fd, &to, &local, true);
    if (!c) {
        close(fd);
        t->cnt.connect_failures++;
        return NULL;
    }
    c->connecting = true;
    struct ns_tcp_out prefix = {.hdr_len = 0, .body = ns_tcp_prefix, .body_len = NS_TCP_PREFIX_LEN};
    nsd_tcp_conn_send(t, c, &prefix, 1);
    t->cc = c;
    t->cnt.connects++;
    char e[NS_ENDPOINT_STRLEN];
    NS_INFO("tcp: connecting to the gateway at %s", ns_endpoint_str(&to, e));
    return c;
}

/* The connection stops being the one the SA uses; what it has queued
 * still leaves. */
static void retire(struct nsd_tcp *t)
{
    struct nsd_tcp_conn *c = t->cc;
    t->cc = NULL;
    if (!c || c->dead)
        return;
    c->retired = true;
    c->retired_ms = ns_loop_now_ms(t->d->loop);
}

static void stop_probe(struct nsd_tcp *t)
{
    if (t->probe) {
        ns_ike_engine_free(t->probe);
        t->probe = NULL;
    }
    t->probe_ok = false;
}

int nsd_tcp_client_connecting(struct nsd *d, const struct ns_addr *local)
{
    struct nsd_tcp *t = d->tcp;
    if (!t)
        return 0;
    struct ns_loop *loop = d->loop;
    t->local_addr = *local;
    stop_probe(t);
    ns_loop_timer_cancel(loop, &t->fallback_timer);
    ns_loop_timer_cancel(loop, &t->redial_timer);
    switch (d->conf.transport) {
    case NS_CONF_TRANSPORT_UDP:
        t->on_tcp = false;
        break;
    case NS_CONF_TRANSPORT_TCP:
        t->on_tcp = true;
        break;
    case NS_CONF_TRANSPORT_AUTO:
        t->on_tcp = t->sticky;
        break;
    }
    retire(t);
    if (!t->on_tcp) {
        if (d->conf.transport == NS_CONF_TRANSPORT_AUTO)
            ns_loop_timer_arm(loop, &t->fallback_timer, d->conf.tcp_fallback_ms);
        return 0;
    }
    t->redials = 0;
    if (d->conf.transport == NS_CONF_TRANSPORT_AUTO && d->conf.tcp_udp_probe_s)
        ns_loop_timer_arm(loop, &t->probe_timer, (uint64_t)d->conf.tcp_udp_probe_s * 1000);
    return nsd_tcp_client_dial(t) ? 0 : -1;
}

/* auto: UDP had tcp_fallback ms to answer IKE_SA_INIT. */
static void on_fallback(struct ns_timer *tm, void *arg)
{
    (void)tm;
    struct nsd_tcp *t = arg;
    struct nsd *d = t->d;
    struct client_sa s = client_sa(d);
    if (t->on_tcp || !s.init_sent)
        return; /* answered (or gone): UDP works */
    NS_WARN("no answer over UDP in %u ms: connecting over TCP port %u (RFC 8229)",
            d->conf.tcp_fallback_ms, d->conf.tcp_port);
    t->sticky = true;
    t->cnt.fallbacks++;
    (void)ns_ike_engine_disconnect(d->engine, ns_loop_now_ms(d->loop));
    nsd_engine_rearm(d);
    if (nsd_client_connect(d) != 0)
        nsd_reconnect_schedule(d);
}

void nsd_tcp_client_lost(struct nsd_tcp *t, struct nsd_tcp_conn *c)
{
    if (t->cc != c)
        return; /* a retired one */
    t->cc = NULL;
    if (!t->on_tcp)
        return;
    uint64_t ms = (uint64_t)REDIAL_FIRST_MS << (t->redials < 4 ? t->redials : 4);
    if (ms > REDIAL_MAX_MS)
        ms = REDIAL_MAX_MS;
    t->redials++;
    NS_WARN("tcp: the connection to the gateway broke; dialling again in %llu ms",
            (unsigned long long)ms);
    ns_loop_timer_arm(t->d->loop, &t->redial_timer, ms);
}

static void on_redial(struct ns_timer *tm, void *arg)
{
    (void)tm;
    struct nsd_tcp *t = arg;
    if (!t->on_tcp || t->cc || !client_sa(t->d).any)
        return; /* the engine's next message dials when it needs to */
    if (!nsd_tcp_client_dial(t))
        nsd_tcp_client_lost(t, NULL);
}

/* ---- the UDP probe ---- */

static void probe_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                       const uint8_t *msg, size_t len, bool natt_marker)
{
    (void)natt_marker;
    struct nsd_tcp *t = ctx;
    struct ns_reader r;
    ns_reader_init(&r, msg, len);
    (void)ns_read_skip(&r, 18);
    uint8_t exchange = ns_read_u8(&r);
    if (ns_reader_ok(&r) && exchange != IKE_EXCHANGE_SA_INIT) {
        /* It goes on to IKE_AUTH: the gateway answered over UDP. */
        t->probe_ok = true;
        ns_loop_timer_arm(t->d->loop, &t->switch_timer, 0);
        return;
    }
    const struct ns_addr *from = ns_addr_is_any(&local->addr) ? NULL : &local->addr;
    (void)ns_udp_sendto(&t->d->ike, from, remote, msg, len);
}

static uint32_t probe_alloc_spi(void *ctx)
{
    (void)ctx;
    uint32_t spi;
    while ((spi = ns_random_u32()) < 256)
        ; /* 1..255 are reserved (RFC 4303 2.1) */
    return spi;
}

static void probe_release_spi(void *ctx, uint32_t spi)
{
    (void)ctx;
    (void)spi;
}

static int probe_child_up(void *ctx, const struct ns_esp_sa_spec *in,
                          const struct ns_esp_sa_spec *out)
{
    (void)ctx;
    (void)in;
    (void)out;
    return -1;
}

static void probe_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    (void)ctx;
    (void)in_spi;
    (void)out_spi;
}

static void on_probe(struct ns_timer *tm, void *arg)
{
    (void)tm;
    struct nsd_tcp *t = arg;
    struct nsd *d = t->d;
    stop_probe(t); /* the last one had no answer */
    if (!t->on_tcp || !t->sticky)
        return;
    ns_loop_timer_arm(d->loop, &t->probe_timer, (uint64_t)d->conf.tcp_udp_probe_s * 1000);
    if (!client_sa(d).established)
        return;
    struct ns_ike_ops ops = {
        .ctx = t,
        .send = probe_send,
        .alloc_spi = probe_alloc_spi,
        .release_spi = probe_release_spi,
        .child_up = probe_child_up,
        .child_down = probe_child_down,
    };
    uint64_t now = ns_loop_now_ms(d->loop);
    t->probe = ns_ike_engine_new(&d->conf, &ops, now);
    if (t->probe && ns_ike_engine_connect(t->probe, &t->local_addr, now) != 0)
        stop_probe(t);
    NS_DBG("tcp: probing UDP to the gateway");
}

bool nsd_tcp_udp_ike(struct nsd *d, const struct ns_endpoint *local,
                     const struct ns_endpoint *remote, uint8_t *msg, size_t len)
{
    struct nsd_tcp *t = d->tcp;
    if (!t || !t->on_tcp || d->conf.role != NS_CONF_CLIENT)
        return false;
    if (t->probe)
        ns_ike_engine_input(t->probe, local, remote, msg, len, ns_loop_now_ms(d->loop));
    return true; /* the SA is on TCP: UDP is only the probe's */
}

/* The probe got its answer: the SA itself moves back to UDP. The client
 * sends over UDP from now on. With MOBIKE on, an UPDATE_SA_ADDRESSES goes
 * at once (RFC 8229 7): the gateway moves the IKE SA and its CHILD_SAs to
 * the client's UDP address and port and both sides take the UDP path's
 * NAT detection. Without MOBIKE a liveness check goes instead, and the
 * gateway follows it from there as it follows a NAT rebinding (R4). Either
 * way the tunnel stays up and keeps its SAs. The TCP connection goes once
 * its queue is out. */
static void on_switch(struct ns_timer *tm, void *arg)
{
    (void)tm;
    struct nsd_tcp *t = arg;
    struct nsd *d = t->d;
    bool ok = t->probe_ok;
    stop_probe(t);
    if (!ok || !t->on_tcp)
        return;
    NS_INFO("the gateway answers over UDP again: the IKE SA moves back to UDP");
    t->sticky = false;
    t->on_tcp = false;
    t->cnt.udp_returns++;
    ns_loop_timer_cancel(d->loop, &t->probe_timer);
    ns_loop_timer_cancel(d->loop, &t->redial_timer);
    retire(t);
    uint64_t now = ns_loop_now_ms(d->loop);
    if (ns_ike_engine_mobike_update(d->engine, now) == 0 ||
        ns_ike_engine_liveness(d->engine, now) == 0)
        nsd_engine_rearm(d);
}

/* ---- life ---- */

void nsd_tcp_client_init(struct nsd_tcp *t)
{
    ns_timer_init(&t->fallback_timer, on_fallback, t);
    ns_timer_init(&t->probe_timer, on_probe, t);
    ns_timer_init(&t->redial_timer, on_redial, t);
    ns_timer_init(&t->switch_timer, on_switch, t);
}

void nsd_tcp_client_stop(struct nsd_tcp *t)
{
    struct ns_loop *loop = t->d->loop;
    stop_probe(t);
    ns_loop_timer_cancel(loop, &t->fallback_timer);
    ns_loop_timer_cancel(loop, &t->probe_timer);
    ns_loop_timer_cancel(loop, &t->redial_timer);
    ns_loop_timer_cancel(loop, &t->switch_timer);
}

void nsd_tcp_client_sweep(struct nsd_tcp *t, uint64_t now_ms)
{
    for (unsigned i = 0; i < t->cap; i++) {
        struct nsd_tcp_conn *c = &t->conn[i];
        if (c->fd >= 0 && !c->dead && c->retired &&
            (ns_tcp_txq_empty(&c->txq) || now_ms - c->retired_ms >= RETIRE_MS))
            nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_LOCAL);
    }
}
