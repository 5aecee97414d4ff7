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
 * Every wakeup moves whole batches with one system call each way
 * (recvmmsg/sendmmsg), in the buffers allocated at start: nothing is
 * allocated per packet. A callback handles at most NSD_ROUNDS batches
 * before it lets the other descriptors have a turn (epoll is
 * level-triggered, so what is left is seen again at once).
 *
 * With the outbound worker (natsecd.h) on_natt and on_raw run outside the
 * loop's guard and take sad_lock themselves: shared to decrypt, so the
 * worker goes on encrypting meanwhile, exclusive for an IKE message and for
 * the engine calls the batch's ESP packets call for, which are collected
 * (struct rx_reports) and made once its decryption is done, before its
 * packets go to TUN. Without the worker the same calls are made packet by
 * packet. With workers > 1 each worker runs nsd_rx_natt on its own socket
 * (struct nsd_rx: its TUN queue, buffers and counters), holding its part of
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
#include "net/gso.h"
#include "net/tun_uso.h"
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
        if (p->worker)
            nsd_worker_report(p->worker, r->ike_sa_id, &r->local, &r->from, r->move);
        else if (r->move)
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

static void to_tun_plain(struct nsd_rx *p, struct ns_dgram *out, unsigned n)
{
    if (!n)
        return;
    int w = ns_tun_write(p->tun, out, n);
    if (w < 0)
        w = 0;
    p->cnt->tun_tx += (unsigned)w;
    p->cnt->send_blocked += n - (unsigned)w;
}

/* With offloads: runs of consecutive TCP segments of one flow go to the
 * kernel as one super-packet (net/gso.h, ns_gro), and runs of UDP
 * datagrams of one flow as one UDP super-packet (net/tun_uso.h) where the
 * kernel takes them; the rest one by one.
 *
 * The run of out[i..) that merges into one super-packet in d->tun_super:
 * its end j (i + 1: none, write out[i] alone), the length and header in
 * *len, *h. */
static unsigned merge_run(struct nsd_rx *p, const struct ns_dgram *out, unsigned i, unsigned n,
                          size_t *len, struct ns_vnet_hdr *h)
{
    unsigned j = i + 1;
    if (j == n) /* the batch's last packet: no run to start (no copy, no checksum) */
        return j;
    struct ns_gro g;
    if (ns_gro_start(&g, p->tun_super, NSD_TUN_SUPER_MAX, out[i].data, out[i].len)) {
        while (j < n && ns_gro_append(&g, out[j].data, out[j].len))
            j++;
        *len = ns_gro_finish(&g, h);
        return j;
    }
    struct ns_uso u;
    if (p->tun->uso_write &&
        ns_uso_start(&u, p->tun_super, NSD_TUN_SUPER_MAX, out[i].data, out[i].len)) {
        while (j < n && ns_uso_append(&u, out[j].data, out[j].len))
            j++;
        *len = ns_uso_finish(&u, h);
    }
    return j;
}

static void to_tun(struct nsd_rx *p, struct ns_dgram *out, unsigned n)
{
    struct ns_tun *tun = p->tun;
    if (!tun->offload) {
        to_tun_plain(p, out, n);
        return;
    }
    unsigned i = 0;
    while (i < n) {
        size_t len = 0;
        struct ns_vnet_hdr h;
        unsigned j = merge_run(p, out, i, n, &len, &h);
        if (j == i + 1) {
            to_tun_plain(p, &out[i], 1);
            i = j;
            continue;
        }
        uint64_t refused = tun->write_errors;
        int w = ns_tun_write_vnet(tun, &h, p->tun_super, len);
        if (w > 0 && tun->write_errors != refused && h.gso_type == NS_VIRTIO_NET_HDR_GSO_UDP_L4) {
            /* A kernel that announced USO but refuses its writes: the
             * datagrams go one by one, now and from now on. */
            NS_WARN("tun %s: UDP segmentation offload refused; writing datagrams singly",
                    tun->name);
            tun->write_errors = refused;
            tun->uso_write = false;
            to_tun_plain(p, &out[i], j - i);
        } else if (w > 0) {
            p->cnt->tun_tx += j - i;
            if (h.gso_type == NS_VIRTIO_NET_HDR_GSO_UDP_L4)
                p->cnt->tun_udp_supers++;
            else
                p->cnt->tun_tcp_supers++;
        } else {
            p->cnt->send_blocked += j - i;
        }
        i = j;
    }
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

void nsd_rx_natt(struct nsd_rx *p, struct ns_udp *sock)
{
    struct nsd *d = p->d;
    struct ns_dgram in[NS_NET_BATCH_MAX], out[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    struct rx_reports rx;
    rx.n = 0;
    rx.engine_called = false;
    rx.now_ms = p->worker ? ns_now_ms() : ns_loop_now_ms(d->loop);
    /* Datagrams already taken from the kernel (UDP GRO) are finished
     * before returning: epoll would not report them again. */
    for (int round = 0; round < NSD_ROUNDS || ns_udp_pending(sock); round++) {
        nsd_slots_prepare(p->slot, in, pkt);
        int n = ns_udp_recv(sock, in, NS_NET_BATCH_MAX);
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
                p->cnt->truncated++;
                continue;
            }
            if (!listened(&d->conf, &in[i].local.addr)) {
                p->cnt->not_listened++;
                continue;
            }
            const uint8_t *body;
            size_t body_len;
            switch (ns_natt_classify(in[i].data, in[i].len, &body, &body_len)) {
            case NS_NATT_KEEPALIVE:
                p->cnt->keepalives_rx++;
                break;
            case NS_NATT_INVALID:
                p->cnt->natt_invalid++;
                NS_DBG("port %u: invalid datagram of %zu bytes dropped", d->conf.natt_port,
                       in[i].len);
                break;
            case NS_NATT_IKE:
                /* body lies inside our writable buffer. */
                natt_ike(p, &rx, &in[i], (uint8_t *)body, body_len);
                break;
            case NS_NATT_ESP:
                hold(p, NSD_HOLD_SHARED);
                pkt[i].len = in[i].len;
                (void)esp_in(p, &rx, &pkt[i], &in[i].local, &in[i].peer, ESP_VIA_UDP, now_ns, out,
                             &n_out);
                break;
            }
        }
        /* The engine first: a reply to a packet from a new address must
         * find its SA moved when it is encrypted (R4). */
        reports_flush(p, &rx);
        to_tun(p, out, n_out);
        if (p->worker)
            hold(p, NSD_HOLD_NONE); /* the main thread may have its turn */
        if (n < NS_NET_BATCH_MAX && !ns_udp_pending(sock))
            break;
    }
    rx_done(p, &rx);
}

static void on_natt(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    nsd_rx_natt(&d->rx, &d->natt);
}

static void on_raw(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    struct nsd_rx *p = &d->rx;
    struct ns_dgram in[NS_NET_BATCH_MAX], out[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    struct rx_reports rx;
    rx.n = 0;
    rx.engine_called = false;
    rx.now_ms = ns_loop_now_ms(loop);
    for (int round = 0; round < NSD_ROUNDS; round++) {
        nsd_slots_prepare(p->slot, in, pkt);
        int n = ns_raw_esp_recv(&d->raw, in, NS_NET_BATCH_MAX);
        if (n <= 0)
            break;
        uint64_t now_ns = ns_now_ns();
        unsigned n_out = 0;
        nsd_sad_hold(d, NSD_HOLD_SHARED);
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) {
                if (in[i].len == 0)
                    p->cnt->raw_bad_header++;
                else
                    p->cnt->truncated++;
                continue;
            }
            if (!listened(&d->conf, &in[i].local.addr)) {
                p->cnt->not_listened++;
                continue;
            }
            /* The raw socket put the ESP packet at in[i].data, which is
             * where the slot's packet starts. */
            pkt[i].head = (size_t)(in[i].data - pkt[i].buf);
            pkt[i].len = in[i].len;
            (void)esp_in(p, &rx, &pkt[i], &in[i].local, &in[i].peer, ESP_VIA_RAW, now_ns, out,
                         &n_out);
        }
        reports_flush(p, &rx); /* before delivery, as on_natt */
        to_tun(p, out, n_out);
        if (n < NS_NET_BATCH_MAX)
            break;
    }
    rx_done(p, &rx);
}

unsigned nsd_esp_in_stream(struct nsd *d, struct ns_pkt *pkt, unsigned n,
                           const struct ns_endpoint *local, const struct ns_endpoint *from)
{
    struct nsd_rx *p = &d->rx;
    struct ns_dgram out[NS_NET_BATCH_MAX];
    struct rx_reports rx;
    rx.n = 0;
    rx.engine_called = false;
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
        .d = d, .tun = &d->tun, .cnt = &d->cnt, .slot = d->slot, .tun_super = d->tun_super};
    /* Each offload where the kernel has it, unless the configuration
     * turns it off (to measure or test the path of a kernel without). */
    if (d->conf.tun_offload && ns_tun_offload(&d->tun) == 0)
        NS_DBG("tun %s: checksum and TCP segmentation offload on%s", d->tun.name,
               d->tun.uso_write && d->conf.tun_uso ? ", UDP segmentation on writes" : "");
    if (!d->conf.tun_uso)
        d->tun.uso_write = false;
    nsd_natt_offloads(d, &d->natt);
    /* With a thread beside the main one, inbound ESP takes sad_lock itself;
     * with workers, they receive on the NAT-T port. */
    bool workers = nsd_workers_count(&d->conf) > 1;
    int (*add_esp)(struct ns_loop *, int, uint32_t, ns_io_fn, void *) =
        d->conf.tx_thread || workers ? ns_loop_add_unguarded : ns_loop_add;
    if (ns_loop_add(d->loop, d->ike.fd, EPOLLIN, on_ike, d) != 0 ||
        (!workers && add_esp(d->loop, d->natt.fd, EPOLLIN, on_natt, d) != 0) ||
        add_esp(d->loop, d->raw.fd, EPOLLIN, on_raw, d) != 0 ||
        (d->raw.fd6 >= 0 && add_esp(d->loop, d->raw.fd6, EPOLLIN, on_raw, d) != 0))
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
    int natt = nsd_workers_count(&d->conf) > 1 ? -1 : d->natt.fd; /* the workers' */
    int fds[] = {d->ike.fd, natt, d->raw.fd, d->raw.fd6};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            ns_loop_remove(d->loop, fds[i]);
}
