/* The TCP connections of RFC 8229 (daemon/tcp.h): the table, reading
 * frames into the engine and the inbound ESP path, writing IKE messages
 * and batches of ESP, closing, and the status.
 *
 * Connections are registered edge-triggered (EPOLLIN | EPOLLOUT): a read
 * goes on until the socket is empty, and EPOLLOUT comes only after a
 * write the socket could not take whole, which is when queued bytes wait
 * (net/tcp_txq.h). So the outbound worker, which cannot touch the event
 * loop, can leave bytes queued: the main thread writes them when the
 * kernel has room.
 *
 * A connection is never closed inside an engine callback or while its
 * frames are being read: it is marked dead and closed by nsd_tcp_reap at
 * the end of the event, or by the sweep. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/tcp_int.h"
#include "esp/flow.h"
#include "esp/mss.h"
#include "esp/pkt.h"
#include "net/tcp_sock.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

/* What a client's inner packets lose to the TCP framing beside ESP in
 * UDP: the outer TCP header with timestamps (32 bytes) and the length
 * field (2) instead of the UDP header (8). */
#define NSD_TCP_CLAMP_EXTRA 26
/* IKE header fields (RFC 7296 3.1). */
#define IKE_HDR_LEN 28
#define IKE_FLAG_RESPONSE 0x20

#define SWEEP_MS 1000

static void on_conn(struct ns_loop *loop, int fd, uint32_t events, void *arg);

const char *nsd_tcp_close_name(enum nsd_tcp_close why)
{
    static const char *const names[NSD_TCP_CLOSE_N] = {"peer", "error", "junk", "handshake_timeout",
                                                       "idle", "local"};
    return why < NSD_TCP_CLOSE_N ? names[why] : "?";
}

struct nsd_tcp_conn *nsd_tcp_conn_open(struct nsd_tcp *t, int fd, const struct ns_endpoint *peer,
                                       const struct ns_endpoint *local, bool ours)
{
    struct nsd_tcp_conn *c = NULL;
    for (unsigned i = 0; i < t->cap && !c; i++)
        if (t->conn[i].fd < 0 && !t->conn[i].dead)
            c = &t->conn[i];
    if (!c)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->t = t;
    c->fd = -1;
    /* Ours talks to a gateway that proved nothing yet either, but it is
     * the one we chose: full-size frames from the start. */
    size_t cap = ours ? NSD_TCP_RX_LARGE : NSD_TCP_RX_SMALL;
    c->rxbuf = malloc(cap);
    if (!c->rxbuf || ns_tcp_txq_init(&c->txq, NSD_TCP_SENDQ) != 0) {
        free(c->rxbuf);
        ns_tcp_txq_free(&c->txq);
        NS_ERR("tcp: out of memory for a connection");
        return NULL;
    }
    ns_tcp_rx_init(&c->rx, c->rxbuf, cap, !ours, cap);
    if (ns_loop_add(t->d->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, on_conn, c) != 0) {
        free(c->rxbuf);
        ns_tcp_txq_free(&c->txq);
        return NULL;
    }
    c->fd = fd;
    c->ours = ours;
    c->proven = ours;
    c->peer = *peer;
    c->local = *local;
    c->opened_ms = c->last_valid_ms = ns_loop_now_ms(t->d->loop);
    return c;
}

void nsd_tcp_conn_kill(struct nsd_tcp *t, struct nsd_tcp_conn *c, enum nsd_tcp_close why)
{
    if (c->fd < 0 || c->dead)
        return;
    c->dead = true;
    c->why = why;
    t->n_dead++;
}

void nsd_tcp_reap(struct nsd_tcp *t)
{
    for (unsigned i = 0; i < t->cap && t->n_dead; i++) {
        struct nsd_tcp_conn *c = &t->conn[i];
        if (!c->dead)
            continue;
        char p[NS_ENDPOINT_STRLEN];
        NS_DBG("tcp: connection with %s closed (%s; %llu IKE, %llu ESP in)",
               ns_endpoint_str(&c->peer, p), nsd_tcp_close_name(c->why),
               (unsigned long long)c->ike_in, (unsigned long long)c->esp_in);
        ns_loop_remove(t->d->loop, c->fd);
        close(c->fd);
        t->cnt.closed[c->why]++;
        t->esp_dropped_closed += c->txq.dropped;
        free(c->rxbuf);
        ns_tcp_txq_free(&c->txq);
        bool ours = c->ours;
        enum nsd_tcp_close why = c->why;
        c->fd = -1;
        c->dead = false;
        t->n_dead--;
        if (ours && why != NSD_TCP_CLOSE_LOCAL)
            nsd_tcp_client_lost(t, c);
        else if (ours && t->cc == c)
            t->cc = NULL;
    }
}

void nsd_tcp_conn_send(struct nsd_tcp *t, struct nsd_tcp_conn *c, const struct ns_tcp_out *f,
                       unsigned n)
{
    if (c->dead)
        return;
    int rc = ns_tcp_txq_send(&c->txq, c->connecting ? -1 : c->fd, f, n);
    if (rc < 0)
        nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_ERROR);
}

struct nsd_tcp_conn *nsd_tcp_find_peer(const struct nsd_tcp *t, const struct ns_endpoint *peer)
{
    for (unsigned i = 0; i < t->cap; i++) {
        struct nsd_tcp_conn *c = &t->conn[i];
        if (c->fd >= 0 && !c->ours && ns_endpoint_equal(&c->peer, peer))
            return c;
    }
    return NULL;
}

unsigned nsd_tcp_count_source(const struct nsd_tcp *t, const struct ns_addr *a)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->cap; i++)
        if (t->conn[i].fd >= 0 && !t->conn[i].dead && ns_addr_equal(&t->conn[i].peer.addr, a))
            n++;
    return n;
}

/* ---- receiving ---- */

/* The endpoints the engine and the ESP path see for c: on the gateway
 * the client's TCP address and port and our NAT-T port (IKE over TCP
 * carries the non-ESP marker, as on the NAT-T port); on the client the
 * ones the engine last sent between. */
static void conn_endpoints(const struct nsd_tcp *t, const struct nsd_tcp_conn *c,
                           struct ns_endpoint *local, struct ns_endpoint *remote)
{
    if (c->ours) {
        *local = t->last_local;
        *remote = t->last_remote;
        return;
    }
    local->addr = c->local.addr;
    local->port = t->d->conf.natt_port;
    *remote = c->peer;
}

static uint64_t drops(const struct ns_ike_counters *k)
{
    return k->dropped_malformed + k->dropped_unexpected + k->dropped_unknown_spi +
           k->dropped_unauth + k->cookies_rejected + k->half_open_refused;
}

/* Something valid came in on c. */
static void valid_input(struct nsd_tcp *t, struct nsd_tcp_conn *c)
{
    c->last_valid_ms = ns_loop_now_ms(t->d->loop);
    if (c->ours)
        t->redials = 0;
}

static void prove(struct nsd_tcp_conn *c)
{
    if (c->proven)
        return;
    c->proven = true;
    c->grow = true;
}

static void take_ike(struct nsd_tcp *t, struct nsd_tcp_conn *c, uint8_t *msg, size_t len)
{
    struct nsd *d = t->d;
    struct ns_endpoint local, remote;
    conn_endpoints(t, c, &local, &remote);
    c->ike_in++;
    t->cnt.ike_in++;
    d->cnt.ike_rx++;
    struct ns_ike_counters before, after;
    ns_ike_engine_counters(d->engine, &before);
    ns_ike_engine_input(d->engine, &local, &remote, msg, len, ns_loop_now_ms(d->loop));
    ns_ike_engine_counters(d->engine, &after);
    if (drops(&after) == drops(&before) && c->proven)
        valid_input(t, c);
    nsd_engine_rearm(d);
}

static void take_esp(struct nsd_tcp *t, struct nsd_tcp_conn *c, struct ns_pkt *pkt, unsigned n)
{
    if (!n)
        return;
    struct ns_endpoint local, remote;
    conn_endpoints(t, c, &local, &remote);
    c->esp_in += n;
    t->cnt.esp_in += n;
    unsigned ok = nsd_esp_in_stream(t->d, pkt, n, &local, c->ours ? NULL : &remote);
    if (ok) {
        prove(c);
        valid_input(t, c);
    }
}

/* Takes every whole frame out of c's buffer. */
static void take_frames(struct nsd_tcp *t, struct nsd_tcp_conn *c)
{
    struct nsd *d = t->d;
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    unsigned n = 0;
    struct ns_tcp_frame f;
    enum ns_tcp_kind k;
    while (!c->dead && (k = ns_tcp_rx_next(&c->rx, &f)) != NS_TCP_NEED_MORE) {
        if (k == NS_TCP_ESP) {
            ns_pkt_init(&pkt[n], d->slot[n].buf, d->slot[n].cap);
            if (f.len > ns_pkt_max_data(&pkt[n])) {
                d->cnt.truncated++;
                continue;
            }
            memcpy(ns_pkt_data(&pkt[n]), f.data, f.len);
            pkt[n].len = f.len;
            if (++n == NS_NET_BATCH_MAX) {
                take_esp(t, c, pkt, n);
                n = 0;
            }
            continue;
        }
        /* In order: the ESP before it first. */
        take_esp(t, c, pkt, n);
        n = 0;
        if (k == NS_TCP_IKE) {
            take_ike(t, c, f.data, f.len);
            continue;
        }
        char p[NS_ENDPOINT_STRLEN];
        NS_DBG("tcp: %s from %s: closing", ns_tcp_kind_name(k), ns_endpoint_str(&c->peer, p));
        nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_JUNK);
    }
    take_esp(t, c, pkt, n);
}

/* A proven connection's larger buffer, before the next read. */
static void grow(struct nsd_tcp_conn *c)
{
    c->grow = false;
    uint8_t *big = malloc(NSD_TCP_RX_LARGE);
    if (!big)
        return; /* frames stay small; the connection still works */
    uint8_t *old = c->rxbuf;
    if (!ns_tcp_rx_rebuffer(&c->rx, big, NSD_TCP_RX_LARGE, NS_TCP_FRAME_MAX)) {
        free(big);
        return;
    }
    c->rxbuf = big;
    free(old);
}

static void read_all(struct nsd_tcp *t, struct nsd_tcp_conn *c)
{
    while (!c->dead) {
        if (c->grow)
            grow(c);
        size_t room;
        uint8_t *at = ns_tcp_rx_room(&c->rx, &room);
        if (room == 0) {
            nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_JUNK);
            return;
        }
        ssize_t r = read(c->fd, at, room);
        if (r > 0) {
            ns_tcp_rx_commit(&c->rx, (size_t)r);
            c->bytes_in += (uint64_t)r;
            take_frames(t, c);
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r < 0 && errno == EINTR)
            continue;
        nsd_tcp_conn_kill(t, c,
                          r == 0 || errno == ECONNRESET ? NSD_TCP_CLOSE_PEER : NSD_TCP_CLOSE_ERROR);
        return;
    }
}

static void connected(struct nsd_tcp *t, struct nsd_tcp_conn *c)
{
    int err = ns_tcp_connect_result(c->fd);
    char p[NS_ENDPOINT_STRLEN];
    if (err != 0) {
        NS_WARN("tcp: connection to %s failed: %s", ns_endpoint_str(&c->peer, p), strerror(err));
        t->cnt.connect_failures++;
        nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_ERROR);
        return;
    }
    c->connecting = false;
    (void)ns_tcp_endpoints(c->fd, &c->local, NULL);
    char l[NS_ENDPOINT_STRLEN];
    NS_INFO("tcp: connected %s -> %s (RFC 8229)", ns_endpoint_str(&c->local, l),
            ns_endpoint_str(&c->peer, p));
    /* A connection dialled again under an established IKE SA: something
     * authenticated on it at once, so the gateway moves there (and counts
     * it proven) without waiting for traffic. */
    if (c->ours && ns_ike_engine_liveness(t->d->engine, ns_loop_now_ms(t->d->loop)) == 0)
        nsd_engine_rearm(t->d);
}

static void on_conn(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    struct nsd_tcp_conn *c = arg;
    struct nsd_tcp *t = c->t;
    if (!c->dead && c->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        connected(t, c);
    if (!c->dead && !c->connecting && (events & (EPOLLOUT | EPOLLERR)) &&
        ns_tcp_txq_flush(&c->txq, c->fd) < 0)
        nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_ERROR);
    if (!c->dead && !c->connecting && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        read_all(t, c);
    nsd_tcp_reap(t);
}

/* ---- sending ---- */

bool nsd_tcp_send_ike(struct nsd *d, const struct ns_endpoint *local,
                      const struct ns_endpoint *remote, const uint8_t *msg, size_t len)
{
    struct nsd_tcp *t = d->tcp;
    if (!t)
        return false;
    struct nsd_tcp_conn *c;
    if (d->conf.role == NS_CONF_CLIENT) {
        if (!t->on_tcp)
            return false;
        t->last_local = *local;
        t->last_remote = *remote;
        c = t->cc && !t->cc->dead ? t->cc : nsd_tcp_client_dial(t);
        if (!c)
            return true; /* lost; the engine sends it again */
    } else {
        c = nsd_tcp_find_peer(t, remote);
        if (!c)
            return false;
    }
    struct ns_tcp_out out;
    out.hdr_len = ns_tcp_frame_header(out.hdr, len, true);
    out.body = msg;
    out.body_len = len;
    if (out.hdr_len == 0) {
        NS_WARN("tcp: IKE message of %zu bytes too large for a frame", len);
        return true;
    }
    nsd_tcp_conn_send(t, c, &out, 1);
    t->cnt.ike_out++;
    d->cnt.ike_tx++;
    /* An answer that names our SPI: an IKE SA exists for what came on c
     * (R15: that is what an unproven connection has to reach). */
    struct ns_reader r;
    ns_reader_init(&r, msg, len);
    (void)ns_read_u64(&r);
    uint64_t spi_r = ns_read_u64(&r);
    (void)ns_read_skip(&r, 3);
    uint8_t flags = ns_read_u8(&r);
    if (ns_reader_ok(&r) && spi_r != 0 && (flags & IKE_FLAG_RESPONSE))
        prove(c);
    return true;
}

bool nsd_tcp_carries(const struct nsd *d, const struct ns_endpoint *remote)
{
    const struct nsd_tcp *t = d->tcp;
    if (!t)
        return false;
    if (d->conf.role == NS_CONF_CLIENT)
        return t->on_tcp;
    return nsd_tcp_find_peer(t, remote) != NULL;
}

unsigned nsd_tcp_clamp_mtu(const struct nsd *d, bool over_tcp)
{
    return over_tcp ? d->conf.mtu - NSD_TCP_CLAMP_EXTRA : d->conf.mtu;
}

bool nsd_tcp_out_over_tcp(const struct nsd *d, const uint8_t *ip, size_t len)
{
    const struct nsd_tcp *t = d->tcp;
    if (!t)
        return false;
    if (d->conf.role == NS_CONF_CLIENT)
        return t->on_tcp;
    if (t->listen_fd < 0 || !ns_mss_syn(ip, len))
        return false;
    struct ns_flow flow;
    if (!ns_flow_parse(&flow, ip, len))
        return false;
    const struct ns_esp_sa *sa = ns_sad_lookup_outbound(d->sad, &flow);
    return sa && nsd_tcp_find_peer(t, ns_esp_sa_peer(sa)) != NULL;
}

void nsd_tcp_batch_init(struct nsd_tcp_batch *b)
{
    b->n = 0;
}

bool nsd_tcp_batch_add(struct nsd *d, struct nsd_tcp_batch *b, const struct ns_esp_sa *sa,
                       const uint8_t *data, size_t len)
{
    struct nsd_tcp *t = d->tcp;
    if (!t)
        return false;
    struct nsd_tcp_conn *c;
    if (d->conf.role == NS_CONF_CLIENT) {
        if (!t->on_tcp)
            return false;
        c = t->cc;
    } else {
        const struct ns_endpoint *peer = ns_esp_sa_peer(sa);
        c = b->n && ns_endpoint_equal(&b->conn[b->n - 1]->peer, peer) ? b->conn[b->n - 1]
                                                                      : nsd_tcp_find_peer(t, peer);
        if (!c)
            return false;
    }
    struct ns_tcp_out *o = &b->out[b->n];
    o->hdr_len =
        c && !c->dead && b->n < NS_NET_BATCH_MAX ? ns_tcp_frame_header(o->hdr, len, false) : 0;
    if (o->hdr_len == 0) {
        __atomic_fetch_add(&t->cnt.esp_dropped, 1, __ATOMIC_RELAXED); /* workers at once */
        return true;
    }
    o->body = data;
    o->body_len = len;
    b->conn[b->n++] = c;
    return true;
}

void nsd_tcp_batch_flush(struct nsd *d, struct nsd_tcp_batch *b)
{
    struct nsd_tcp *t = d->tcp;
    if (!b->n)
        return;
    pthread_mutex_lock(&t->tx_lock);
    unsigned i = 0;
    while (i < b->n) {
        struct nsd_tcp_conn *c = b->conn[i];
        unsigned j = i + 1;
        while (j < b->n && b->conn[j] == c)
            j++;
        uint64_t dropped = c->txq.dropped;
        nsd_tcp_conn_send(t, c, &b->out[i], j - i);
        uint64_t lost = c->dead ? j - i : c->txq.dropped - dropped;
        t->cnt.esp_dropped += lost;
        t->cnt.esp_out += (j - i) - lost;
        i = j;
    }
    pthread_mutex_unlock(&t->tx_lock);
    b->n = 0;
}

/* ---- start, stop, status ---- */

static void on_sweep(struct ns_timer *tm, void *arg)
{
    (void)tm;
    struct nsd_tcp *t = arg;
    uint64_t now = ns_loop_now_ms(t->d->loop);
    if (t->d->conf.role == NS_CONF_CLIENT)
        nsd_tcp_client_sweep(t, now);
    else
        nsd_tcp_listen_sweep(t, now);
    nsd_tcp_reap(t);
    ns_loop_timer_arm(t->d->loop, &t->sweep, SWEEP_MS);
}

int nsd_tcp_start(struct nsd *d)
{
    struct nsd_tcp *t = calloc(1, sizeof(*t));
    if (!t) {
        NS_ERR("tcp: out of memory");
        return -1;
    }
    t->d = d;
    t->listen_fd = -1;
    pthread_mutex_init(&t->tx_lock, NULL);
    bool gateway = d->conf.role == NS_CONF_GATEWAY;
    /* The client: its connection and the one it replaces, draining. */
    t->cap = gateway ? d->conf.tcp_max_connections : 2;
    t->conn = calloc(t->cap, sizeof(*t->conn));
    if (!t->conn) {
        free(t);
        NS_ERR("tcp: out of memory");
        return -1;
    }
    for (unsigned i = 0; i < t->cap; i++)
        t->conn[i].fd = -1;
    d->tcp = t;
    ns_timer_init(&t->sweep, on_sweep, t);
    ns_loop_timer_arm(d->loop, &t->sweep, SWEEP_MS);
    if (gateway)
        return d->conf.tcp_port ? nsd_tcp_listen_start(t) : 0;
    nsd_tcp_client_init(t);
    return 0;
}

/* Stopping: what the connections still have queued (the DELETEs of a
 * shutdown) gets a short while to leave. */
static void drain(struct nsd_tcp *t)
{
    uint64_t until = ns_now_ms() + 500;
    bool waiting = true;
    while (waiting && ns_now_ms() < until) {
        waiting = false;
        for (unsigned i = 0; i < t->cap; i++) {
            struct nsd_tcp_conn *c = &t->conn[i];
            if (c->fd >= 0 && !c->dead && !c->connecting && ns_tcp_txq_flush(&c->txq, c->fd) == 1)
                waiting = true;
        }
        if (waiting)
            (void)usleep(5000);
    }
}

void nsd_tcp_stop(struct nsd *d)
{
    struct nsd_tcp *t = d->tcp;
    if (!t)
        return;
    if (d->conf.role == NS_CONF_CLIENT)
        nsd_tcp_client_stop(t);
    nsd_tcp_listen_stop(t);
    drain(t);
    for (unsigned i = 0; i < t->cap; i++)
        nsd_tcp_conn_kill(t, &t->conn[i], NSD_TCP_CLOSE_LOCAL);
    nsd_tcp_reap(t);
    ns_loop_timer_cancel(d->loop, &t->sweep);
    pthread_mutex_destroy(&t->tx_lock);
    free(t->conn);
    free(t);
    d->tcp = NULL;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

json_object *nsd_tcp_status_json(struct nsd *d)
{
    struct nsd_tcp *t = d->tcp;
    if (!t)
        return NULL;
    json_object *o = json_object_new_object();
    const struct nsd_tcp_counters *k = &t->cnt;
    add_u64(o, "port", d->conf.tcp_port);
    add_u64(o, "accepted", k->accepted);
    add_u64(o, "refused_per_source", k->refused_per_source);
    add_u64(o, "refused_full", k->refused_full);
    json_object *closed = json_object_new_object();
    for (unsigned i = 0; i < NSD_TCP_CLOSE_N; i++)
        add_u64(closed, nsd_tcp_close_name(i), k->closed[i]);
    json_object_object_add(o, "closed", closed);
    add_u64(o, "ike_in", k->ike_in);
    add_u64(o, "ike_out", k->ike_out);
    add_u64(o, "esp_in", k->esp_in);
    add_u64(o, "esp_out", k->esp_out);
    add_u64(o, "esp_dropped", k->esp_dropped);
    if (d->conf.role == NS_CONF_CLIENT) {
        add_u64(o, "connects", k->connects);
        add_u64(o, "connect_failures", k->connect_failures);
        add_u64(o, "fallbacks", k->fallbacks);
        add_u64(o, "udp_returns", k->udp_returns);
    }
    json_object *list = json_object_new_array();
    uint64_t now = ns_loop_now_ms(d->loop);
    for (unsigned i = 0; i < t->cap; i++) {
        const struct nsd_tcp_conn *c = &t->conn[i];
        if (c->fd < 0 || c->dead)
            continue;
        char e[NS_ENDPOINT_STRLEN];
        json_object *x = json_object_new_object();
        json_object_object_add(x, "peer", json_object_new_string(ns_endpoint_str(&c->peer, e)));
        json_object_object_add(x, "local", json_object_new_string(ns_endpoint_str(&c->local, e)));
        json_object_object_add(x, "proven", json_object_new_boolean(c->proven));
        add_u64(x, "age_s", (now - c->opened_ms) / 1000);
        add_u64(x, "queued", c->txq.len);
        add_u64(x, "frames_dropped", c->txq.dropped);
        add_u64(x, "bytes_in", c->bytes_in);
        add_u64(x, "bytes_out", c->txq.bytes_out);
        json_object_array_add(list, x);
    }
    json_object_object_add(o, "connections", list);
    return o;
}
