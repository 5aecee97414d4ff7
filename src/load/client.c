/* natsec-load's emulated clients: each one's engine callbacks (its I/O:
 * sends, SPIs, the CHILD_SA into the shared SAD, up and down), its state
 * machine (idle -> connecting -> up, or failed), the window of setups in
 * flight, its UDP sockets and the receive path that hands datagrams to the
 * engine or, once floated, to the ESP echo check. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "esp/pkt.h"
#include "load.h"
#include "natt/udp_demux.h"
#include "util/backoff.h"
#include "util/time.h"

static struct client *ctx_client(void *ctx)
{
    return ctx;
}

/* ---- the engine's I/O ---- */

static void op_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                    const uint8_t *msg, size_t len, bool natt_marker)
{
    struct client *c = ctx_client(ctx);
    uint8_t buf[RX_BUF];
    size_t off = natt_marker ? NS_NATT_MARKER_LEN : 0;
    if (len + off > sizeof(buf)) {
        G.tx_err++;
        return;
    }
    memset(buf, 0, off);
    memcpy(buf + off, msg, len);
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(remote, &ss);
    (void)local; /* the marker goes exactly with the NAT-T port (engine.h) */
    int fd = c->fd[natt_marker ? 1 : 0];
    if (natt_marker)
        c->floated = true;
    if (sendto(fd, buf, len + off, 0, (struct sockaddr *)&ss, sl) < 0)
        G.tx_err++;
    else
        G.tx++;
}

static uint32_t op_alloc_spi(void *ctx)
{
    (void)ctx;
    return ns_sad_alloc_spi(G.sad);
}

static void op_release_spi(void *ctx, uint32_t spi)
{
    (void)ctx;
    (void)ns_sad_release_spi(G.sad, spi); /* -1: it was installed and is gone */
}

static int op_child_up(void *ctx, const struct ns_esp_sa_spec *in, const struct ns_esp_sa_spec *out)
{
    struct client *c = ctx_client(ctx);
    struct ns_esp_sa *si = ns_sad_install(G.sad, in);
    if (!si)
        return -1;
    struct ns_esp_sa *so = ns_sad_install(G.sad, out);
    if (!so) {
        ns_sad_remove(G.sad, si);
        return -1;
    }
    c->ike_sa_id = in->ike_sa_id;
    c->spi_in = in->spi;
    c->spi_out = out->spi;
    c->sa_out = so;
    c->child = true;
    return 0;
}

static void op_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    struct client *c = ctx_client(ctx);
    (void)ns_sad_remove_inbound(G.sad, in_spi);
    (void)ns_sad_remove_outbound(G.sad, c->ike_sa_id, out_spi);
    if (c->spi_out == out_spi) {
        c->sa_out = NULL;
        c->child = false;
    }
}

static void set_add(struct client_set *s, unsigned i, uint64_t due_ms)
{
    G.c[i].set_pos = s->n;
    s->idx[s->n] = i;
    s->due_ms[s->n++] = due_ms;
}

static void set_del(struct client_set *s, struct client *c)
{
    unsigned pos = c->set_pos;
    s->n--;
    s->idx[pos] = s->idx[s->n];
    s->due_ms[pos] = s->due_ms[s->n];
    G.c[s->idx[pos]].set_pos = pos;
}

void load_inflight_del(struct client *c)
{
    set_del(&G.inflight, c);
}

static void op_client_up(void *ctx, uint64_t ike_sa_id, const struct ns_addr *vip,
                         const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n,
                         const struct ns_addr *dns, unsigned n_dns)
{
    (void)ike_sa_id;
    (void)vip6;
    (void)remote;
    (void)n;
    (void)dns;
    (void)n_dns;
    struct client *c = ctx_client(ctx);
    if (vip) {
        c->vip = *vip;
        c->vip_set = vip->family != 0;
    }
    if (c->state == C_CONNECTING && c->child) {
        c->state = C_UP;
        c->t_up_ns = ns_now_ns();
        c->attempt = 0;
        if (!G.holding)
            G.t_last_up_ns = c->t_up_ns; /* the setup rate counts first setups only */
        G.up++;
        load_inflight_del(c);
    }
}

/* --reconnect: a client that went down waits natsecd's client's back-off
 * (util/backoff.h), then connects again; not a failure (the engine cannot
 * be freed from inside its own callback: the main loop does it,
 * load_reconnect_due). */
static void client_wait(struct client *c)
{
    if (c->state == C_CONNECTING)
        load_inflight_del(c);
    else if (c->state == C_UP)
        G.up--;
    if (c->state == C_UP)
        G.downs++;
    c->state = C_WAITING;
    uint64_t at_ms = ns_now_ns() / 1000000 + ns_backoff_ms(c->attempt++, ns_random_u64());
    set_add(&G.waiting, (unsigned)(c - G.c), at_ms);
}

static void op_client_down(void *ctx, enum ns_ike_down_reason reason)
{
    struct client *c = ctx_client(ctx);
    if (c->state == C_WAITING)
        return; /* its engine, given up already, being freed */
    c->down_reason = (int)reason;
    if (c->state == C_UP) {
        /* Read-only, allowed from a callback (ike/engine.h). */
        struct ns_ike_counters k;
        ns_ike_engine_counters(c->e, &k);
        G.qcd_downs += k.qcd_replies_accepted > 0;
    }
    if (G.reconnect && G.holding && (c->state == C_CONNECTING || c->state == C_UP)) {
        client_wait(c);
        return;
    }
    if (c->state == C_CONNECTING) {
        load_inflight_del(c);
        G.failed++;
        G.fail_reason[(unsigned)reason < 8 ? (unsigned)reason : 7]++;
    } else if (c->state == C_UP) {
        G.up--; /* lost after setup: counts as a failure too */
        G.failed++;
        G.fail_reason[(unsigned)reason < 8 ? (unsigned)reason : 7]++;
    }
    c->state = C_FAILED;
}

/* ---- sockets ---- */

static int udp_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        load_die("socket: %s", strerror(errno));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        load_die("bind: %s (raise net.ipv4.ip_local_port_range for many clients)", strerror(errno));
    return fd;
}

/* The source address the kernel uses towards the gateway: what the NAT
 * detection hashes must be computed over. */
void load_learn_local_addr(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(&G.gw_ike, &ss);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) != 0)
        load_die("no route to the gateway: %s", strerror(errno));
    struct sockaddr_storage me;
    socklen_t ml = sizeof(me);
    struct ns_endpoint ep;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0 ||
        ns_endpoint_from_sockaddr(&ep, (struct sockaddr *)&me, ml) != 0)
        load_die("getsockname: %s", strerror(errno));
    close(fd);
    G.local_addr = ep.addr;
}

/* Raises the open file limit to need; false when not possible (a
 * container may refuse to raise the hard limit). */
bool load_raise_fd_limit(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        load_die("getrlimit: %s", strerror(errno));
    if (rl.rlim_cur >= need)
        return true;
    struct rlimit want = {.rlim_cur = need, .rlim_max = rl.rlim_max < need ? need : rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
        return true;
    if (rl.rlim_max >= need) {
        want.rlim_max = rl.rlim_max;
        return setrlimit(RLIMIT_NOFILE, &want) == 0;
    }
    return false;
}

/* ---- clients ---- */

/* The engine tells each change of its next deadline, so the tick passes
 * over thousands of clients compare a number instead of asking each
 * engine. */
static void op_set_wakeup(void *ctx, uint64_t at_ms)
{
    struct client *c = ctx_client(ctx);
    c->wake_ms = at_ms;
    if (c->state == C_CONNECTING)
        G.inflight.due_ms[c->set_pos] = at_ms;
}

static const struct ns_ike_ops ops_template = {
    .send = op_send,
    .set_wakeup = op_set_wakeup,
    .alloc_spi = op_alloc_spi,
    .release_spi = op_release_spi,
    .child_up = op_child_up,
    .child_down = op_child_down,
    .client_up = op_client_up,
    .client_down = op_client_down,
};

/* A new engine for client i, connecting; a client whose connect cannot
 * even start has failed (or, with --reconnect in the hold, waits). */
static void engine_connect(struct client *c, unsigned i, uint64_t now_ns)
{
    struct ns_ike_ops ops = ops_template;
    ops.ctx = c;
    c->wake_ms = 0; /* until the new engine reports: tick at once */
    c->state = C_CONNECTING;
    c->t_start_ns = now_ns;
    set_add(&G.inflight, i, 0);
    c->e = ns_ike_engine_new(&c->conf, &ops, now_ns / 1000000);
    if (!c->e)
        load_die("cannot make client engine %u", i);
    if (ns_ike_engine_connect(c->e, &G.local_addr, now_ns / 1000000) != 0) {
        if (G.reconnect && G.holding) {
            client_wait(c);
            return;
        }
        load_inflight_del(c);
        c->state = C_FAILED;
        G.failed++;
        G.fail_reason[7]++;
    }
}

void load_client_start(unsigned i, uint64_t now_ns)
{
    struct client *c = &G.c[i];
    c->conf = G.tmpl; /* shares the template's peers (read only) */
    char id[NS_CONF_ID_STRLEN];
    snprintf(id, sizeof(id), G.id_fmt, i);
    if (ns_conf_id_parse(id, &c->conf.local_id) != 0)
        load_die("bad identity '%s'", id);
    for (int k = 0; k < (G.shared_port ? 1 : 2); k++) {
        c->fd[k] = udp_socket();
        uint64_t which = G.shared_port ? 2 : (uint64_t)k;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((uint64_t)i << 2) | which};
        if (epoll_ctl(G.ep, EPOLL_CTL_ADD, c->fd[k], &ev) != 0)
            load_die("epoll_ctl: %s", strerror(errno));
    }
    if (G.shared_port)
        c->fd[1] = c->fd[0];
    if (!G.t_first_ns)
        G.t_first_ns = now_ns;
    G.started++;
    engine_connect(c, i, now_ns);
}

/* --reconnect: the attempts that are due start, each with a fresh engine
 * (the old one gave up) on the client's own sockets, as natsecd's client
 * keeps its ports. */
void load_reconnect_due(uint64_t now_ns)
{
    uint64_t now_ms = now_ns / 1000000;
    for (unsigned k = 0; k < G.waiting.n;) {
        if (G.waiting.due_ms[k] > now_ms) {
            k++;
            continue;
        }
        unsigned i = G.waiting.idx[k];
        struct client *c = &G.c[i];
        set_del(&G.waiting, c); /* the last one moves to k */
        G.reconnects++;
        ns_ike_engine_free(c->e);
        c->e = NULL;
        c->floated = c->child = c->vip_set = false;
        c->sa_out = NULL;
        engine_connect(c, i, now_ns);
    }
}

void load_client_tick(struct client *c, uint64_t now_ms)
{
    if (c->e && c->wake_ms <= now_ms)
        ns_ike_engine_tick(c->e, now_ms);
}

void load_inflight_tick(uint64_t now_ms)
{
    /* A client that is done leaves the set and the last one takes its
     * place: seen at the next pass. */
    for (unsigned k = 0; k < G.inflight.n; k++)
        if (G.inflight.due_ms[k] <= now_ms)
            load_client_tick(&G.c[G.inflight.idx[k]], now_ms);
}

/* ---- the receive path ---- */

/* which: 0 the client's "500" socket, 1 its "4500", 2 one socket for both
 * (then IKE without a marker until the engine floats, ESP after). */
static void rx(unsigned idx, int which, uint64_t now_ns)
{
    struct client *c = &G.c[idx];
    static uint8_t buf[NS_PKT_HEADROOM + RX_BUF + NS_PKT_TAILROOM];
    uint8_t *data = buf + NS_PKT_HEADROOM;
    for (int guard = 0; guard < 64; guard++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n =
            recvfrom(c->fd[which == 0 ? 0 : 1], data, RX_BUF, 0, (struct sockaddr *)&ss, &sl);
        if (n < 0)
            return;
        struct ns_endpoint from, local = {.addr = G.local_addr};
        if (ns_endpoint_from_sockaddr(&from, (struct sockaddr *)&ss, sl) != 0)
            continue;
        if (which == 0 || (which == 2 && !c->floated)) {
            local.port = G.tmpl.ike_port;
            G.rx_ike++;
            if (c->e)
                ns_ike_engine_input(c->e, &local, &from, data, (size_t)n, now_ns / 1000000);
            continue;
        }
        const uint8_t *body;
        size_t blen;
        switch (ns_natt_classify(data, (size_t)n, &body, &blen)) {
        case NS_NATT_IKE:
            local.port = G.tmpl.natt_port;
            G.rx_ike++;
            if (c->e)
                ns_ike_engine_input(c->e, &local, &from, data + (body - data), blen,
                                    now_ns / 1000000);
            break;
        case NS_NATT_ESP:
            G.rx_esp++;
            load_esp_input(c, idx, buf, sizeof(buf), (size_t)n, now_ns);
            break;
        default:
            G.rx_other++;
            break;
        }
    }
}

void load_poll_once(int timeout_ms)
{
    struct epoll_event ev[EPOLL_BATCH];
    int n = epoll_wait(G.ep, ev, EPOLL_BATCH, timeout_ms);
    uint64_t now = ns_now_ns();
    for (int i = 0; i < n; i++)
        rx((unsigned)(ev[i].data.u64 >> 2), (int)(ev[i].data.u64 & 3), now);
}
