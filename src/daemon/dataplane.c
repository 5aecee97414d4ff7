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
 * One loop, rx_batches, serves both ESP sockets (struct rx_source says how
 * each receives and what one datagram is): receive a batch -> demux -> ESP
 * open -> TUN write. The offloads (UDP GRO inside ns_udp_recv, TUN
 * super-packets inside ns_tun_batch_write, net/tun_batch.h) are behind
 * those calls, not in this file. Every wakeup moves whole batches with one
 * system call each way (recvmmsg/sendmmsg), in the buffers allocated at
 * start: nothing is allocated per packet. A callback handles at most NSD_ROUNDS batches
 * before it lets the other descriptors have a turn (epoll is
 * level-triggered, so what is left is seen again at once).
 *
 * With the outbound worker (natsecd.h) on_natt and on_raw run outside the
 * loop's guard and take sad_lock themselves: shared to decrypt, so the
 * worker goes on encrypting meanwhile, exclusive for an IKE message and for
 * the engine calls the batch's ESP packets call for, which are collected
 * (struct rx_reports) and made once its decryption is done, before its
 * packets go to TUN. Without the worker the same calls are made packet by
 * packet. */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "esp/esp.h"
#include "esp/mss.h"
#include "esp/pkt.h"
#include "natt/udp_demux.h"
#include "util/log.h"
#include "util/time.h"

#define NSD_ROUNDS 4
/* Liveness for DPD needs no more than one report a second per IKE SA. */
#define NSD_ACTIVITY_MS 1000

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
    uint64_t now_ms;
};

/* Whether the engine hears of r: a move always, liveness at most once a
 * second. */
static bool report_due(const struct nsd *d, const struct rx_reports *rx, const struct rx_report *r)
{
    return r->move || r->ike_sa_id != d->act_id || rx->now_ms - d->act_ms >= NSD_ACTIVITY_MS;
}

/* Tells the engine what the collected packets said, exclusive; without
 * taking sad_lock when none of it is due (the usual batch: liveness
 * reported less than a second ago), which would stop the worker. */
static void reports_flush(struct nsd *d, struct rx_reports *rx)
{
    unsigned i = 0;
    while (i < rx->n && !report_due(d, rx, &rx->r[i]))
        i++;
    if (i < rx->n)
        nsd_sad_hold(d, NSD_HOLD_EXCLUSIVE);
    for (; i < rx->n; i++) {
        const struct rx_report *r = &rx->r[i];
        if (!report_due(d, rx, r))
            continue;
        if (r->move)
            ns_ike_engine_esp_from(d->engine, r->ike_sa_id, &r->local, &r->from, rx->now_ms);
        else
            ns_ike_engine_esp_activity(d->engine, r->ike_sa_id, rx->now_ms);
        rx->engine_called = true;
        d->act_id = r->ike_sa_id;
        d->act_ms = rx->now_ms;
    }
    rx->n = 0;
}

/* Notes an authentic ESP packet for the engine. Without the worker it is
 * told at once, packet by packet; with it, once the batch is decrypted and
 * before its packets reach TUN, which changes nothing it learns: the SAs'
 * peers cannot move during the batch, and a run's last newest packet
 * decides where they end up, as it would packet by packet. */
static void report_esp(struct nsd *d, struct rx_reports *rx, const struct ns_esp_in_info *info,
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
    if (!d->sad_locking)
        reports_flush(d, rx);
}

/* Decapsulates pkt (the ESP packet from its SPI on); on success appends the
 * inner packet to out. Shared. */
static void esp_in(struct nsd *d, struct rx_reports *rx, struct ns_pkt *pkt,
                   struct ns_endpoint *local, struct ns_endpoint *from, bool raw, uint64_t now_ns,
                   struct ns_dgram *out, unsigned *n_out)
{
    nsd_sad_hold(d, NSD_HOLD_SHARED);
    d->cnt.esp_rx++;
    struct ns_esp_in_info info;
    memset(&info, 0, sizeof(info));
    enum ns_esp_result r =
        ns_esp_decap(d->sad, pkt, &from->addr, &local->addr, !raw, now_ns, &info);
    if (r != NS_ESP_OK && r != NS_ESP_DUMMY)
        return; /* counted in the SAD by reason */
    if (raw && info.sa) {
        /* Plain ESP has no ports: compare addresses only, and keep the
         * SA's own port numbers so a move is an address move. */
        from->port = ns_esp_sa_peer(info.sa)->port;
        local->port = ns_esp_sa_local(info.sa)->port;
    }
    if (info.sa)
        report_esp(d, rx, &info, local, from);
    if (r != NS_ESP_OK)
        return;
    (void)ns_mss_clamp_mtu(ns_pkt_data(pkt), pkt->len, d->conf.mtu); /* X11 */
    struct ns_dgram *o = &out[(*n_out)++];
    memset(o, 0, sizeof(*o));
    o->data = ns_pkt_data(pkt);
    o->len = pkt->len;
}

/* The end of an inbound callback: the engine's timer re-armed if it was
 * called, and sad_lock left as the loop wants it of an unguarded callback. */
static void rx_done(struct nsd *d, struct rx_reports *rx)
{
    reports_flush(d, rx);
    if (rx->engine_called) {
        nsd_sad_hold(d, NSD_HOLD_EXCLUSIVE);
        nsd_engine_rearm(d);
    }
    nsd_sad_hold(d, NSD_HOLD_NONE);
}

/* One datagram from the NAT-T port: demux, then the engine or esp_in. */
static void natt_one(struct nsd *d, struct rx_reports *rx, struct ns_dgram *in, struct ns_pkt *pkt,
                     uint64_t now_ns, struct ns_dgram *out, unsigned *n_out)
{
    const uint8_t *body;
    size_t body_len;
    switch (ns_natt_classify(in->data, in->len, &body, &body_len)) {
    case NS_NATT_KEEPALIVE:
        d->cnt.keepalives_rx++;
        break;
    case NS_NATT_INVALID:
        d->cnt.natt_invalid++;
        NS_DBG("port %u: invalid datagram of %zu bytes dropped", d->conf.natt_port, in->len);
        break;
    case NS_NATT_IKE:
        d->cnt.ike_rx++;
        /* What the ESP before it said goes first, in order. */
        reports_flush(d, rx);
        nsd_sad_hold(d, NSD_HOLD_EXCLUSIVE);
        /* body lies inside our writable buffer. */
        ns_ike_engine_input(d->engine, &in->local, &in->peer, (uint8_t *)body, body_len,
                            rx->now_ms);
        rx->engine_called = true;
        break;
    case NS_NATT_ESP:
        pkt->len = in->len;
        esp_in(d, rx, pkt, &in->local, &in->peer, false, now_ns, out, n_out);
        break;
    }
}

/* One packet from the raw ESP socket, which put it at in->data, where the
 * slot's packet starts. */
static void raw_one(struct nsd *d, struct rx_reports *rx, struct ns_dgram *in, struct ns_pkt *pkt,
                    uint64_t now_ns, struct ns_dgram *out, unsigned *n_out)
{
    pkt->head = (size_t)(in->data - pkt->buf);
    pkt->len = in->len;
    esp_in(d, rx, pkt, &in->local, &in->peer, true, now_ns, out, n_out);
}

static int natt_recv(struct nsd *d, struct ns_dgram *in, unsigned n)
{
    return ns_udp_recv(&d->natt, in, n);
}

static bool natt_pending(const struct nsd *d)
{
    return ns_udp_pending(&d->natt);
}

static int raw_recv(struct nsd *d, struct ns_dgram *in, unsigned n)
{
    return ns_raw_esp_recv(&d->raw, in, n);
}

static bool raw_pending(const struct nsd *d)
{
    (void)d;
    return false; /* nothing is kept between receives */
}

/* A socket that carries ESP in: how to receive a batch, whether datagrams
 * it already took wait in our buffers (UDP GRO), and what one is. */
struct rx_source {
    bool raw; /* IP protocol 50 */
    int (*recv)(struct nsd *d, struct ns_dgram *in, unsigned n);
    bool (*pending)(const struct nsd *d);
    void (*one)(struct nsd *d, struct rx_reports *rx, struct ns_dgram *in, struct ns_pkt *pkt,
                uint64_t now_ns, struct ns_dgram *out, unsigned *n_out);
};

static const struct rx_source natt_source = {false, natt_recv, natt_pending, natt_one};
static const struct rx_source raw_source = {true, raw_recv, raw_pending, raw_one};

/* The inbound path: receive a batch -> demux -> ESP open -> TUN write,
 * until the socket is empty or NSD_ROUNDS batches went. Datagrams already
 * taken from the kernel are finished before returning: epoll would not
 * report them again. */
static void rx_batches(struct nsd *d, const struct rx_source *src)
{
    struct ns_dgram in[NS_NET_BATCH_MAX], out[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    struct rx_reports rx;
    rx.n = 0;
    rx.engine_called = false;
    rx.now_ms = ns_loop_now_ms(d->loop);
    for (int round = 0; round < NSD_ROUNDS || src->pending(d); round++) {
        nsd_slots_prepare(d->slot, in, pkt);
        int n = src->recv(d, in, NS_NET_BATCH_MAX);
        if (n <= 0)
            break;
        uint64_t now_ns = ns_now_ns();
        unsigned n_out = 0;
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) {
                if (src->raw && in[i].len == 0) /* a broken IP header */
                    d->cnt.raw_bad_header++;
                else
                    d->cnt.truncated++;
                continue;
            }
            src->one(d, &rx, &in[i], &pkt[i], now_ns, out, &n_out);
        }
        /* The engine first: a reply to a packet from a new address must
         * find its SA moved when it is encrypted (R4). */
        reports_flush(d, &rx);
        ns_tun_batch_write(&d->tun_out, &d->tun, out, n_out);
        if (n < NS_NET_BATCH_MAX && !src->pending(d))
            break;
    }
    rx_done(d, &rx);
}

static void on_natt(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    rx_batches(arg, &natt_source);
}

static void on_raw(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    rx_batches(arg, &raw_source);
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
            d->cnt.ike_rx++;
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

int nsd_dataplane_start(struct nsd *d)
{
    /* Each offload where the kernel has it, unless the configuration
     * turns it off (to measure or test the path of a kernel without). */
    if (d->conf.tun_offload && ns_tun_offload(&d->tun) == 0)
        NS_DBG("tun %s: checksum and TCP segmentation offload on%s", d->tun.name,
               d->tun.uso_write && d->conf.tun_uso ? ", UDP segmentation on writes" : "");
    if (!d->conf.tun_uso)
        d->tun.uso_write = false;
    if (d->conf.udp_gso && ns_udp_enable_gso(&d->natt) == 0)
        NS_DBG("udp port %u: segmentation offload on", d->conf.natt_port);
    if (d->conf.udp_gro && ns_udp_enable_gro(&d->natt) == 0)
        NS_DBG("udp port %u: receive offload on", d->conf.natt_port);
    /* With the outbound worker, inbound ESP takes sad_lock itself. */
    int (*add_esp)(struct ns_loop *, int, uint32_t, ns_io_fn, void *) =
        d->conf.tx_thread ? ns_loop_add_unguarded : ns_loop_add;
    if (ns_loop_add(d->loop, d->ike.fd, EPOLLIN, on_ike, d) != 0 ||
        add_esp(d->loop, d->natt.fd, EPOLLIN, on_natt, d) != 0 ||
        add_esp(d->loop, d->raw.fd, EPOLLIN, on_raw, d) != 0)
        return -1;
    d->dataplane_on = true;
    /* Last: the GSO state it copies is settled, and the worker starts
     * only with everything in place. */
    return nsd_tx_start(d);
}

void nsd_dataplane_stop(struct nsd *d)
{
    /* The worker first: from then on the main thread is alone. */
    nsd_tx_stop(d);
    if (!d->dataplane_on)
        return;
    d->dataplane_on = false;
    int fds[] = {d->ike.fd, d->natt.fd, d->raw.fd};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            ns_loop_remove(d->loop, fds[i]);
}
