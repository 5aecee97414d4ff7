/* The inbound packet paths and the IKE port; the outbound one (TUN ->
 * ESP) is dataplane_tx.c's.
 *
 *   UDP natt_port -> demux: keepalive (discard), IKE (engine), ESP (decap)
 *   raw ESP -> decap
 *   UDP ike_port -> engine
 *   decap OK -> TUN; an authentic newest packet from a new address -> the
 *   engine's esp_from, which moves the IKE SA and, through peer_moved, the
 *   ESP SAs (R4). Never the other way round: only the engine moves SAs.
 *
 * One loop, rx_batches, serves the NAT-T socket and the raw ESP ones:
 * receive a batch -> demux -> ESP open -> TUN write. The offloads (UDP GRO
 * inside ns_udp_recv, TUN super-packets inside ns_tun_batch_write,
 * net/tun_batch.h) are behind those calls, not in this file. Every wakeup
 * moves whole batches with one system call each way (recvmmsg/sendmmsg),
 * in the buffers allocated at start: nothing is allocated per packet. A
 * callback handles at most NSD_ROUNDS batches before it lets the other
 * descriptors have a turn (epoll is level-triggered, so what is left is
 * seen again at once).
 *
 * With the outbound worker (natsecd.h) on_natt and on_raw run outside the
 * loop's guard and take sad_lock themselves: shared to decrypt, so the
 * worker goes on encrypting meanwhile, exclusive for an IKE message and for
 * the engine calls the batch's ESP packets call for, which are collected
 * (struct rx_reports) and made once its decryption is done, before its
 * packets go to TUN. Without the worker the same calls are made packet by
 * packet. With workers > 1 each worker runs nsd_rx_natt on its own socket
 * and nsd_rx_raw on its raw ones (the packets of its SPIs; struct nsd_rx:
 * its TUN queue, buffers and counters), holding its part of
 * sad_lock shared per batch, and queues the IKE messages and the engine
 * calls for the main thread (workers.c). */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "daemon/tcp.h"
#include "esp/esp.h"
#include "esp/mss.h"
#include "esp/pkt.h"
#include "natt/udp_demux.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

#define NSD_ROUNDS 4
/* Liveness for DPD needs no more than one report a second per IKE SA. */
#define NSD_ACTIVITY_MS 1000

int nsd_slots_alloc(struct nsd_slot *slot, size_t cap, const char *whose)
{
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++) {
        slot[i].buf = malloc(cap);
        if (!slot[i].buf) {
            NS_ERR("out of memory for %s buffers", whose);
            return -1;
        }
        slot[i].cap = cap;
    }
    return 0;
}

void nsd_slots_prepare(const struct nsd_slot *slot, struct ns_dgram *dg, struct ns_pkt *pkt)
{
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++) {
        ns_pkt_init(&pkt[i], slot[i].buf, slot[i].cap);
        memset(&dg[i], 0, sizeof(dg[i]));
        dg[i].data = ns_pkt_data(&pkt[i]);
        dg[i].cap = ns_pkt_max_data(&pkt[i]);
    }
}

/* ---- inbound: ESP -> TUN ---- */

/* What the ESP packets of a batch tell the engine, one entry per run of
 * packets of one IKE SA: the endpoints of the run's last newest packet, and
 * whether they differ from the SA's peer (a move, R4) or it is liveness
 * only. Copies, not SA pointers: the engine calls made for one entry may
 * remove the SAs of the next. */
struct rx_report {
    uint64_t ike_sa_id;
    struct ns_endpoint local, from;
    bool move;
};

struct rx_reports {
    struct rx_report r[NS_NET_BATCH_MAX];
    unsigned n;
    bool engine_called; /* nsd_engine_rearm due */
    bool worker_moved;  /* a worker queued a move for the main thread */
    uint64_t now_ms;
};

/* Whether the engine hears of r: a move always, liveness at most once a
 * second. */
static bool report_due(const struct nsd_rx *p, const struct rx_reports *rx,
                       const struct rx_report *r)
{
    return r->move || r->ike_sa_id != p->act_id || rx->now_ms - p->act_ms >= NSD_ACTIVITY_MS;
}

/* The main thread moves to holding want of sad_lock; a worker holds its
 * part shared for any want but none. */
static void hold(struct nsd_rx *p, enum nsd_hold want)
{
    if (!p->worker) {
        nsd_sad_hold(p->d, want);
        return;
    }
    if (p->held == (want != NSD_HOLD_NONE))
        return;
    pthread_rwlock_t *part = nsd_worker_lock(p->worker);
    if (p->held)
        pthread_rwlock_unlock(part);
    else
        pthread_rwlock_rdlock(part);
    p->held = !p->held;
}

/* Tells the engine what the collected packets said, exclusive (a worker
 * hands it to the main thread); without taking sad_lock when none of it
 * is due (the usual batch: liveness reported less than a second ago),
 * which would stop the workers. */
static void reports_flush(struct nsd_rx *p, struct rx_reports *rx)
{
    struct nsd *d = p->d;
    unsigned i = 0;
    while (i < rx->n && !report_due(p, rx, &rx->r[i]))
        i++;
    if (i < rx->n && !p->worker)
        nsd_sad_hold(d, NSD_HOLD_EXCLUSIVE);
    for (; i < rx->n; i++) {
        const struct rx_report *r = &rx->r[i];
        if (!report_due(p, rx, r))
            continue;
        if (p->worker) {
            nsd_worker_report(p->worker, r->ike_sa_id, &r->local, &r->from, r->move);
            rx->worker_moved |= r->move;
        } else if (r->move)
            ns_ike_engine_esp_from(d->engine, r->ike_sa_id, &r->local, &r->from, rx->now_ms);
        else
            ns_ike_engine_esp_activity(d->engine, r->ike_sa_id, rx->now_ms);
        rx->engine_called = !p->worker;
        p->act_id = r->ike_sa_id;
        p->act_ms = rx->now_ms;
    }
    rx->n = 0;
}

/* Notes an authentic ESP packet for the engine. Without the worker it is
 * told at once, packet by packet; with it, once the batch is decrypted and
 * before its packets reach TUN, which changes nothing it learns: the SAs'
 * peers cannot move during the batch, and a run's last newest packet
 * decides where they end up, as it would packet by packet. */
static void report_esp(struct nsd_rx *p, struct rx_reports *rx, const struct ns_esp_in_info *info,
                       const struct ns_endpoint *local, const struct ns_endpoint *from)
{
    uint64_t id = ns_esp_sa_ike_sa_id(info->sa);
    struct rx_report *r = rx->n ? &rx->r[rx->n - 1] : NULL;
    if (!r || r->ike_sa_id != id) {
        r = &rx->r[rx->n++];
        r->ike_sa_id = id;
        r->local = *local;
        r->from = *from;
        r->move = info->newest && !ns_endpoint_equal(from, ns_esp_sa_peer(info->sa));
    } else if (info->newest) {
        r->local = *local;
        r->from = *from;
        r->move = !ns_endpoint_equal(from, ns_esp_sa_peer(info->sa));
    }
    if (!p->d->sad_locking)
        reports_flush(p, rx);
}

/* Where an ESP packet came from: ESP in UDP, plain ESP (protocol 50, no
 * ports), or a frame of a TCP connection (RFC 8229), whose SA says
 * whether it was negotiated with UDP encapsulation. */
enum esp_path { ESP_VIA_UDP, ESP_VIA_RAW, ESP_VIA_STREAM };

/* Decapsulates pkt (the ESP packet from its SPI on); on success appends the
 * inner packet to out. Shared. Returns whether it was authentic. */
static bool esp_in(struct nsd_rx *p, struct rx_reports *rx, struct ns_pkt *pkt,
                   struct ns_endpoint *local, struct ns_endpoint *from, enum esp_path path,
                   uint64_t now_ns, struct ns_dgram *out, unsigned *n_out)
{
    struct nsd *d = p->d;
    p->cnt->esp_rx++;
    struct ns_esp_in_info info;
    memset(&info, 0, sizeof(info));
    bool via_udp = path == ESP_VIA_UDP;
    if (path == ESP_VIA_STREAM && pkt->len >= 4) {
        const struct ns_esp_sa *sa = ns_sad_find_inbound(d->sad, ns_get_u32(ns_pkt_data(pkt)));
        via_udp = sa && ns_esp_sa_udp_encap(sa);
    }
    enum ns_esp_result r =
        ns_esp_decap(d->sad, pkt, &from->addr, &local->addr, via_udp, now_ns, &info);
    if (r != NS_ESP_OK && r != NS_ESP_DUMMY)
        return false; /* counted in the SAD by reason */
    if (r == NS_ESP_DUMMY)
        p->cnt->keepalives_rx++; /* the peer's authenticated keepalive (keepalive.c) */
    if (path == ESP_VIA_RAW && info.sa) {
        /* Plain ESP has no ports: compare addresses only, and keep the
         * SA's own port numbers so a move is an address move. */
        from->port = ns_esp_sa_peer(info.sa)->port;
        local->port = ns_esp_sa_local(info.sa)->port;
    }
    if (info.sa)
        report_esp(p, rx, &info, local, from);
    if (r != NS_ESP_OK)
        return info.sa != NULL;
    (void)ns_mss_clamp_mtu(ns_pkt_data(pkt), pkt->len,
                           nsd_tcp_clamp_mtu(d, path == ESP_VIA_STREAM)); /* X11 */
    struct ns_dgram *o = &out[(*n_out)++];
    memset(o, 0, sizeof(*o));
    o->data = ns_pkt_data(pkt);
    o->len = pkt->len;
    return true;
}

/* The batch's decrypted packets to the path's TUN queue (runs merged
 * into super-packets where the device takes them: net/tun_batch.h). */
static void to_tun(struct nsd_rx *p, const struct ns_dgram *out, unsigned n)
{
    if (!n)
        return;
    struct ns_tun_wrote w = ns_tun_batch_write(p->tun_out, p->tun, out, n);
    p->cnt->tun_tx += w.written;
    p->cnt->send_blocked += w.blocked;
    p->cnt->tun_tcp_supers += w.tcp_supers;
    p->cnt->tun_udp_supers += w.udp_supers;
}

/* The end of an inbound callback: the engine's timer re-armed if it was
 * called, and sad_lock left as the loop wants it of an unguarded callback
 * (a worker lets go of its part). */
static void rx_done(struct nsd_rx *p, struct rx_reports *rx)
{
    reports_flush(p, rx);
    if (rx->engine_called) {
        nsd_sad_hold(p->d, NSD_HOLD_EXCLUSIVE);
        nsd_engine_rearm(p->d);
    }
    hold(p, NSD_HOLD_NONE);
}

/* An IKE message on the NAT-T port, for the engine on the main thread. */
static void natt_ike(struct nsd_rx *p, struct rx_reports *rx, const struct ns_dgram *in,
                     uint8_t *body, size_t body_len)
{
    struct nsd *d = p->d;
    p->cnt->ike_rx++;
    /* What the ESP before it said goes first, in order. */
    reports_flush(p, rx);
    if (p->worker) {
        nsd_worker_ike(p->worker, &in->local, &in->peer, body, body_len);
        return;
    }
    nsd_sad_hold(d, NSD_HOLD_EXCLUSIVE);
    if (nsd_tcp_udp_ike(d, &in->local, &in->peer, body, body_len))
        return;
    ns_ike_engine_input(d->engine, &in->local, &in->peer, body, body_len, rx->now_ms);
    rx->engine_called = true;
}

/* Whether a datagram that arrived at local is ours: listen with two
 * specific addresses binds the wildcards and takes only those two. */
static bool listened(const struct ns_conf *c, const struct ns_addr *local)
{
    for (unsigned i = 0; i < c->n_listen_only; i++)
        if (ns_addr_equal(&c->listen_only[i], local))
            return true;
    return c->n_listen_only == 0;
}

/* One datagram from the NAT-T port: demux, then the engine or esp_in. */
static void natt_one(struct nsd_rx *p, struct rx_reports *rx, struct ns_dgram *in,
                     struct ns_pkt *pkt, uint64_t now_ns, struct ns_dgram *out, unsigned *n_out)
{
    const uint8_t *body;
    size_t body_len;
    switch (ns_natt_classify(in->data, in->len, &body, &body_len)) {
    case NS_NATT_KEEPALIVE:
        p->cnt->keepalives_rx++;
        break;
    case NS_NATT_INVALID:
        p->cnt->natt_invalid++;
        NS_DBG("port %u: invalid datagram of %zu bytes dropped", p->d->conf.natt_port, in->len);
        break;
    case NS_NATT_IKE:
        /* body lies inside our writable buffer. */
        natt_ike(p, rx, in, (uint8_t *)body, body_len);
        break;
    case NS_NATT_ESP:
        hold(p, NSD_HOLD_SHARED);
        pkt->len = in->len;
        (void)esp_in(p, rx, pkt, &in->local, &in->peer, ESP_VIA_UDP, now_ns, out, n_out);
        break;
    }
}

/* One packet from a raw ESP socket, which put it at in->data, where the
 * slot's packet starts. */
static void raw_one(struct nsd_rx *p, struct rx_reports *rx, struct ns_dgram *in,
                    struct ns_pkt *pkt, uint64_t now_ns, struct ns_dgram *out, unsigned *n_out)
{
    hold(p, NSD_HOLD_SHARED);
    pkt->head = (size_t)(in->data - pkt->buf);
    pkt->len = in->len;
    (void)esp_in(p, rx, pkt, &in->local, &in->peer, ESP_VIA_RAW, now_ns, out, n_out);
}

/* A socket ESP arrives on: the NAT-T port's (udp: ESP, IKE and keepalives
 * behind the demux) or the raw protocol-50 ones (raw). One is set. */
struct rx_sock {
    struct ns_udp *udp;
    struct ns_raw_esp *raw;
};

static int rx_recv(const struct rx_sock *s, struct ns_dgram *in, unsigned n)
{
    return s->udp ? ns_udp_recv(s->udp, in, n) : ns_raw_esp_recv(s->raw, in, n);
}

/* Datagrams the socket took from the kernel wait in our buffers (UDP GRO). */
static bool rx_pending(const struct rx_sock *s)
{
    return s->udp && ns_udp_pending(s->udp);
}

/* The inbound path: receive a batch -> demux -> ESP open -> TUN write,
 * until the socket is empty or NSD_ROUNDS batches went. Datagrams already
 * taken from the kernel are finished before returning: epoll would not
 * report them again. */
static void rx_batches(struct nsd_rx *p, const struct rx_sock *s)
{
    struct nsd *d = p->d;
    struct ns_dgram in[NS_NET_BATCH_MAX], out[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    struct rx_reports rx;
    rx.n = 0;
    rx.engine_called = rx.worker_moved = false;
    rx.now_ms = p->worker ? ns_now_ms() : ns_loop_now_ms(d->loop);
    for (int round = 0; round < NSD_ROUNDS || rx_pending(s); round++) {
        nsd_slots_prepare(p->slot, in, pkt);
        int n = rx_recv(s, in, NS_NET_BATCH_MAX);
        if (n <= 0)
            break;
        /* A worker's counters, too, are read by the main thread holding
         * sad_lock exclusive: it counts holding its part. */
        if (p->worker)
            hold(p, NSD_HOLD_SHARED);
        uint64_t now_ns = ns_now_ns();
        unsigned n_out = 0;
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) {
                if (s->raw && in[i].len == 0) /* a broken IP header */
                    p->cnt->raw_bad_header++;
                else
                    p->cnt->truncated++;
                continue;
            }
            if (!listened(&d->conf, &in[i].local.addr)) {
                p->cnt->not_listened++;
                continue;
            }
            if (s->udp)
                natt_one(p, &rx, &in[i], &pkt[i], now_ns, out, &n_out);
            else
                raw_one(p, &rx, &in[i], &pkt[i], now_ns, out, &n_out);
        }
        /* The engine first: a reply to a packet from a new address must
         * find its SA moved when it is encrypted (R4); a worker waits for
         * the main thread to have made the move. */
        reports_flush(p, &rx);
        if (rx.worker_moved) {
            rx.worker_moved = false;
            hold(p, NSD_HOLD_NONE);
            if (!nsd_worker_await(p->worker))
                break;
            hold(p, NSD_HOLD_SHARED);
        }
        to_tun(p, out, n_out);
        if (p->worker)
            hold(p, NSD_HOLD_NONE); /* the main thread may have its turn */
        if (n < NS_NET_BATCH_MAX && !rx_pending(s))
            break;
    }
    rx_done(p, &rx);
}

void nsd_rx_natt(struct nsd_rx *p, struct ns_udp *sock)
{
    rx_batches(p, &(struct rx_sock){.udp = sock});
}

static void on_natt(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    nsd_rx_natt(&d->rx, &d->natt);
}

void nsd_rx_raw(struct nsd_rx *p, struct ns_raw_esp *sock)
{
    rx_batches(p, &(struct rx_sock){.raw = sock});
}

static void on_raw(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    nsd_rx_raw(&d->rx, &d->raw);
}

unsigned nsd_esp_in_stream(struct nsd *d, struct ns_pkt *pkt, unsigned n,
                           const struct ns_endpoint *local, const struct ns_endpoint *from)
{
    struct nsd_rx *p = &d->rx;
    struct ns_dgram out[NS_NET_BATCH_MAX];
    struct rx_reports rx;
    rx.n = 0;
    rx.engine_called = rx.worker_moved = false;
    rx.now_ms = ns_loop_now_ms(d->loop);
    uint64_t now_ns = ns_now_ns();
    unsigned n_out = 0, authentic = 0;
    for (unsigned i = 0; i < n && i < NS_NET_BATCH_MAX; i++) {
        struct ns_endpoint l = *local, f;
        if (from) {
            f = *from;
        } else {
            /* The client's one connection: whatever its ports, it is the
             * SA's peer. */
            const struct ns_esp_sa *sa =
                pkt[i].len >= 4 ? ns_sad_find_inbound(d->sad, ns_get_u32(ns_pkt_data(&pkt[i])))
                                : NULL;
            f = sa ? *ns_esp_sa_peer(sa) : *local;
        }
        authentic += esp_in(p, &rx, &pkt[i], &l, &f, ESP_VIA_STREAM, now_ns, out, &n_out);
    }
    reports_flush(p, &rx);
    to_tun(p, out, n_out);
    if (rx.engine_called)
        nsd_engine_rearm(d);
    return authentic;
}

/* ---- IKE port ---- */

static void on_ike(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    struct ns_dgram in[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    bool engine_called = false;
    for (int round = 0; round < NSD_ROUNDS; round++) {
        nsd_slots_prepare(d->slot, in, pkt);
        int n = ns_udp_recv(&d->ike, in, NS_NET_BATCH_MAX);
        if (n <= 0)
            break;
        uint64_t now_ms = ns_loop_now_ms(loop);
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) {
                d->cnt.truncated++;
                continue;
            }
            if (!listened(&d->conf, &in[i].local.addr)) {
                d->cnt.not_listened++;
                continue;
            }
            d->cnt.ike_rx++;
            if (nsd_tcp_udp_ike(d, &in[i].local, &in[i].peer, in[i].data, in[i].len))
                continue;
            ns_ike_engine_input(d->engine, &in[i].local, &in[i].peer, in[i].data, in[i].len,
                                now_ms);
            engine_called = true;
        }
        if (n < NS_NET_BATCH_MAX)
            break;
    }
    if (engine_called)
        nsd_engine_rearm(d);
}

void nsd_natt_offloads(struct nsd *d, struct ns_udp *s)
{
    if (d->conf.udp_gso && ns_udp_enable_gso(s) == 0)
        NS_DBG("udp port %u: segmentation offload on", d->conf.natt_port);
    if (d->conf.udp_gro && ns_udp_enable_gro(s) == 0)
        NS_DBG("udp port %u: receive offload on", d->conf.natt_port);
}

int nsd_dataplane_start(struct nsd *d)
{
    d->rx = (struct nsd_rx){
        .d = d, .tun = &d->tun, .cnt = &d->cnt, .slot = d->slot, .tun_out = &d->tun_out};
    /* Each offload where the kernel has it, unless the configuration
     * turns it off (to measure or test the path of a kernel without). */
    if (d->conf.tun_offload && ns_tun_offload(&d->tun) == 0)
        NS_DBG("tun %s: checksum and TCP segmentation offload on%s", d->tun.name,
               d->tun.uso_write && d->conf.tun_uso ? ", UDP segmentation on writes" : "");
    if (!d->conf.tun_uso)
        d->tun.uso_write = false;
    nsd_natt_offloads(d, &d->natt);
    /* With a thread beside the main one, inbound ESP takes sad_lock itself;
     * with workers, they receive ESP, on the NAT-T port and raw. */
    bool workers = nsd_workers_count(&d->conf) > 1;
    int (*add_esp)(struct ns_loop *, int, uint32_t, ns_io_fn, void *) =
        d->conf.tx_thread ? ns_loop_add_unguarded : ns_loop_add;
    if (ns_loop_add(d->loop, d->ike.fd, EPOLLIN, on_ike, d) != 0 ||
        (!workers && (add_esp(d->loop, d->natt.fd, EPOLLIN, on_natt, d) != 0 ||
                      add_esp(d->loop, d->raw.fd, EPOLLIN, on_raw, d) != 0 ||
                      (d->raw.fd6 >= 0 && add_esp(d->loop, d->raw.fd6, EPOLLIN, on_raw, d) != 0))))
        return -1;
    d->dataplane_on = true;
    /* Last: the GSO state they copy is settled, and the threads start
     * only with everything in place. */
    return workers ? nsd_workers_start(d) : nsd_tx_start(d);
}

void nsd_dataplane_stop(struct nsd *d)
{
    /* The threads first: from then on the main thread is alone. */
    nsd_workers_stop(d);
    nsd_tx_stop(d);
    if (!d->dataplane_on)
        return;
    d->dataplane_on = false;
    bool workers = nsd_workers_count(&d->conf) > 1; /* then ESP was the workers' */
    int fds[] = {d->ike.fd, workers ? -1 : d->natt.fd, workers ? -1 : d->raw.fd,
                 workers ? -1 : d->raw.fd6};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            ns_loop_remove(d->loop, fds[i]);
}
