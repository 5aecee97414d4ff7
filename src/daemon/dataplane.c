/* The packet paths between the TUN device and the sockets.
 *
 *   TUN -> SPD lookup + ESP encap -> UDP natt_port (udp_encap) or raw ESP
 *   UDP natt_port -> demux: keepalive (discard), IKE (engine), ESP (decap)
 *   raw ESP -> decap
 *   UDP ike_port -> engine
 *   decap OK -> TUN; an authentic newest packet from a new address -> the
 *   engine's esp_from, which moves the IKE SA and, through peer_moved, the
 *   ESP SAs (R4). Never the other way round: only the engine moves SAs.
 *
 * Every wakeup moves whole batches with one system call each way
 * (recvmmsg/sendmmsg, and several TUN reads), in the buffers allocated at
 * start: nothing is allocated per packet. A callback handles at most
 * NSD_ROUNDS batches before it lets the other descriptors have a turn
 * (epoll is level-triggered, so what is left is seen again at once). */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "esp/esp.h"
#include "esp/mss.h"
#include "esp/pkt.h"
#include "natt/udp_demux.h"
#include "net/gso.h"
#include "net/tun_uso.h"
#include "util/log.h"
#include "util/time.h"

#define NSD_ROUNDS 4
/* Liveness for DPD needs no more than one report a second per IKE SA. */
#define NSD_ACTIVITY_MS 1000

/* Points each datagram descriptor at a slot, leaving the ESP head room. */
static void prepare_rx(struct nsd *d, struct ns_dgram *dg, struct ns_pkt *pkt)
{
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++) {
        ns_pkt_init(&pkt[i], d->slot[i].buf, d->slot[i].cap);
        memset(&dg[i], 0, sizeof(dg[i]));
        dg[i].data = ns_pkt_data(&pkt[i]);
        dg[i].cap = ns_pkt_max_data(&pkt[i]);
    }
}

static bool wildcard(const struct ns_addr *a)
{
    static const uint8_t zero[16];
    return a->family == 0 || memcmp(a->a, zero, ns_addr_len(a)) == 0;
}

/* ---- outbound: TUN -> ESP ---- */

static void flush_out(struct nsd *d, struct ns_dgram *udp, unsigned nu, struct ns_dgram *raw,
                      unsigned nr)
{
    if (nu) {
        int sent = ns_udp_send(&d->natt, udp, nu);
        if (sent < 0)
            sent = 0;
        d->cnt.esp_tx += (unsigned)sent;
        d->cnt.send_blocked += nu - (unsigned)sent;
    }
    if (nr) {
        int sent = ns_raw_esp_send(&d->raw, raw, nr);
        if (sent < 0)
            sent = 0;
        d->cnt.esp_tx += (unsigned)sent;
        d->cnt.send_blocked += nr - (unsigned)sent;
    }
}

/* Encapsulates pkt[0..n) (inner IP packets) and sends them. */
static void encap_batch(struct nsd *d, struct ns_pkt *pkt, unsigned n)
{
    struct ns_dgram udp[NS_NET_BATCH_MAX], raw[NS_NET_BATCH_MAX];
    uint64_t now_ns = ns_now_ns();
    unsigned nu = 0, nr = 0;
    for (unsigned i = 0; i < n; i++) {
        (void)ns_mss_clamp_mtu(ns_pkt_data(&pkt[i]), pkt[i].len, d->conf.mtu); /* X11 */
        struct ns_esp_sa *sa = NULL;
        if (ns_esp_output(d->sad, &pkt[i], now_ns, &sa) != NS_ESP_OK)
            continue; /* counted in the SAD by reason */
        bool encap = ns_esp_sa_udp_encap(sa);
        struct ns_dgram *o = encap ? &udp[nu++] : &raw[nr++];
        memset(o, 0, sizeof(*o));
        o->data = ns_pkt_data(&pkt[i]);
        o->len = pkt[i].len;
        o->peer = *ns_esp_sa_peer(sa);
        if (!encap)
            o->peer.port = 0;
        const struct ns_endpoint *local = ns_esp_sa_local(sa);
        if (!wildcard(&local->addr))
            o->local.addr = local->addr;
    }
    flush_out(d, udp, nu, raw, nr);
}

/* Without offloads: one packet per read, straight into the slots. */
static void tun_plain(struct nsd *d)
{
    struct ns_dgram in[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    for (int round = 0; round < NSD_ROUNDS; round++) {
        prepare_rx(d, in, pkt);
        int n = ns_tun_read(&d->tun, in, NS_NET_BATCH_MAX);
        if (n <= 0)
            return;
        unsigned k = 0;
        for (int i = 0; i < n; i++) {
            d->cnt.tun_rx++;
            if (in[i].truncated) {
                d->cnt.truncated++;
                continue;
            }
            if ((unsigned)i != k)
                pkt[k] = pkt[i];
            pkt[k++].len = in[i].len;
        }
        encap_batch(d, pkt, k);
        if (n < NS_NET_BATCH_MAX)
            return;
    }
}

/* With offloads (net/gso.h): a read may return a TCP super-packet of up to
 * 64 KB, cut here into MTU-sized segments, one slot each; a super-packet
 * that fills the batch goes on in the next one. One read and one kernel
 * traversal now carry what took ~45 before. Every read goes straight into
 * the next free slot (its virtio header into the ESP head room before it),
 * so a plain packet costs one read and no copy, as without offloads; only
 * the tail of a super-packet spills into super_buf, behind room for the
 * slot's part, which is copied there to make it whole. The loop runs one
 * callback at a time, so one buffer serves. */
static uint8_t super_buf[65536 + 1024];

_Static_assert(NS_PKT_HEADROOM >= NS_VNET_HDR_LEN, "the virtio header fits the head room");

static void tun_offload(struct nsd *d)
{
    struct ns_dgram in[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    struct ns_gso_iter it;
    bool pending = false;
    for (int round = 0; round < NSD_ROUNDS || pending; round++) {
        prepare_rx(d, in, pkt);
        unsigned k = 0;
        bool empty = false;
        while (k < NS_NET_BATCH_MAX) {
            if (!pending) {
                if (round >= NSD_ROUNDS)
                    break;
                struct ns_vnet_hdr h;
                int r = ns_tun_read_split(&d->tun, in[k].data, in[k].cap, super_buf,
                                          sizeof(super_buf), &h);
                if (r <= 0) {
                    empty = true;
                    break;
                }
                size_t len = (size_t)r;
                d->cnt.tun_rx++;
                if (len >= sizeof(super_buf)) {
                    d->cnt.truncated++;
                    continue;
                }
                if (len <= in[k].cap && ns_gso_single(&h, in[k].data, len) == 0) {
                    pkt[k++].len = len; /* in place */
                    continue;
                }
                memcpy(super_buf, in[k].data, len < in[k].cap ? len : in[k].cap);
                if (ns_gso_init(&it, &h, super_buf, len) != 0) {
                    d->cnt.truncated++;
                    continue;
                }
                d->cnt.tun_rx--; /* counted per segment below */
                pending = true;
            }
            int l = ns_gso_next(&it, in[k].data, in[k].cap);
            if (l <= 0) {
                pending = false;
                if (l < 0) {
                    d->cnt.tun_rx++;
                    d->cnt.truncated++;
                }
                continue;
            }
            d->cnt.tun_rx++;
            pkt[k++].len = (size_t)l;
        }
        encap_batch(d, pkt, k);
        if (empty)
            return;
    }
}

static void on_tun(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    if (d->tun.offload)
        tun_offload(d);
    else
        tun_plain(d);
}

/* ---- inbound: ESP -> TUN ---- */

/* Tells the engine an authentic ESP packet arrived: a move when it came
 * from elsewhere (R4), else liveness at most once a second. */
static void report_esp(struct nsd *d, const struct ns_esp_in_info *info,
                       const struct ns_endpoint *local, const struct ns_endpoint *from,
                       uint64_t now_ms, bool *engine_called)
{
    if (!info->sa)
        return;
    uint64_t id = ns_esp_sa_ike_sa_id(info->sa);
    const struct ns_endpoint *peer = ns_esp_sa_peer(info->sa);
    if (info->newest && !ns_endpoint_equal(from, peer)) {
        ns_ike_engine_esp_from(d->engine, id, local, from, now_ms);
        *engine_called = true;
        d->act_id = id;
        d->act_ms = now_ms;
        return;
    }
    if (id != d->act_id || now_ms - d->act_ms >= NSD_ACTIVITY_MS) {
        ns_ike_engine_esp_activity(d->engine, id, now_ms);
        *engine_called = true;
        d->act_id = id;
        d->act_ms = now_ms;
    }
}

/* Decapsulates pkt (the ESP packet from its SPI on); on success appends the
 * inner packet to out. */
static void esp_in(struct nsd *d, struct ns_pkt *pkt, struct ns_endpoint *local,
                   struct ns_endpoint *from, bool raw, uint64_t now_ns, uint64_t now_ms,
                   struct ns_dgram *out, unsigned *n_out, bool *engine_called)
{
    d->cnt.esp_rx++;
    struct ns_esp_in_info info;
    memset(&info, 0, sizeof(info));
    enum ns_esp_result r = ns_esp_decap(d->sad, pkt, &from->addr, &local->addr, now_ns, &info);
    if (r != NS_ESP_OK && r != NS_ESP_DUMMY)
        return; /* counted in the SAD by reason */
    if (raw && info.sa) {
        /* Plain ESP has no ports: compare addresses only, and keep the
         * SA's own port numbers so a move is an address move. */
        from->port = ns_esp_sa_peer(info.sa)->port;
        local->port = ns_esp_sa_local(info.sa)->port;
    }
    report_esp(d, &info, local, from, now_ms, engine_called);
    if (r != NS_ESP_OK)
        return;
    (void)ns_mss_clamp_mtu(ns_pkt_data(pkt), pkt->len, d->conf.mtu); /* X11 */
    struct ns_dgram *o = &out[(*n_out)++];
    memset(o, 0, sizeof(*o));
    o->data = ns_pkt_data(pkt);
    o->len = pkt->len;
}

static void to_tun_plain(struct nsd *d, struct ns_dgram *out, unsigned n)
{
    if (!n)
        return;
    int w = ns_tun_write(&d->tun, out, n);
    if (w < 0)
        w = 0;
    d->cnt.tun_tx += (unsigned)w;
    d->cnt.send_blocked += n - (unsigned)w;
}

/* With offloads: runs of consecutive TCP segments of one flow go to the
 * kernel as one super-packet (net/gso.h, ns_gro), and runs of UDP
 * datagrams of one flow as one UDP super-packet (net/tun_uso.h) where the
 * kernel takes them; the rest one by one. */
static uint8_t gro_buf[65536];

/* The run of out[i..) that merges into one super-packet in gro_buf: its end
 * j (i + 1: none, write out[i] alone), the length and header in *len, *h. */
static unsigned merge_run(const struct nsd *d, const struct ns_dgram *out, unsigned i, unsigned n,
                          size_t *len, struct ns_vnet_hdr *h)
{
    unsigned j = i + 1;
    struct ns_gro g;
    if (ns_gro_start(&g, gro_buf, sizeof(gro_buf), out[i].data, out[i].len)) {
        while (j < n && ns_gro_append(&g, out[j].data, out[j].len))
            j++;
        *len = ns_gro_finish(&g, h);
        return j;
    }
    struct ns_uso u;
    if (d->tun.uso_write && ns_uso_start(&u, gro_buf, sizeof(gro_buf), out[i].data, out[i].len)) {
        while (j < n && ns_uso_append(&u, out[j].data, out[j].len))
            j++;
        *len = ns_uso_finish(&u, h);
    }
    return j;
}

static void to_tun(struct nsd *d, struct ns_dgram *out, unsigned n)
{
    if (!d->tun.offload) {
        to_tun_plain(d, out, n);
        return;
    }
    unsigned i = 0;
    while (i < n) {
        size_t len = 0;
        struct ns_vnet_hdr h;
        unsigned j = merge_run(d, out, i, n, &len, &h);
        if (j == i + 1) {
            to_tun_plain(d, &out[i], 1);
            i = j;
            continue;
        }
        uint64_t refused = d->tun.write_errors;
        int w = ns_tun_write_vnet(&d->tun, &h, gro_buf, len);
        if (w > 0 && d->tun.write_errors != refused && h.gso_type == NS_VIRTIO_NET_HDR_GSO_UDP_L4) {
            /* A kernel that announced USO but refuses its writes: the
             * datagrams go one by one, now and from now on. */
            NS_WARN("tun %s: UDP segmentation offload refused; writing datagrams singly",
                    d->tun.name);
            d->tun.write_errors = refused;
            d->tun.uso_write = false;
            to_tun_plain(d, &out[i], j - i);
        } else if (w > 0) {
            d->cnt.tun_tx += j - i;
            if (h.gso_type == NS_VIRTIO_NET_HDR_GSO_UDP_L4)
                d->cnt.tun_udp_supers++;
            else
                d->cnt.tun_tcp_supers++;
        } else {
            d->cnt.send_blocked += j - i;
        }
        i = j;
    }
}

static void on_natt(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    struct ns_dgram in[NS_NET_BATCH_MAX], out[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    bool engine_called = false;
    /* Datagrams already taken from the kernel (UDP GRO) are finished
     * before returning: epoll would not report them again. */
    for (int round = 0; round < NSD_ROUNDS || ns_udp_pending(&d->natt); round++) {
        prepare_rx(d, in, pkt);
        int n = ns_udp_recv(&d->natt, in, NS_NET_BATCH_MAX);
        if (n <= 0)
            break;
        uint64_t now_ns = ns_now_ns(), now_ms = ns_loop_now_ms(loop);
        unsigned n_out = 0;
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) {
                d->cnt.truncated++;
                continue;
            }
            const uint8_t *body;
            size_t body_len;
            switch (ns_natt_classify(in[i].data, in[i].len, &body, &body_len)) {
            case NS_NATT_KEEPALIVE:
                d->cnt.keepalives_rx++;
                break;
            case NS_NATT_INVALID:
                d->cnt.natt_invalid++;
                NS_DBG("port %u: invalid datagram of %zu bytes dropped", d->conf.natt_port,
                       in[i].len);
                break;
            case NS_NATT_IKE:
                d->cnt.ike_rx++;
                /* body lies inside our writable buffer. */
                ns_ike_engine_input(d->engine, &in[i].local, &in[i].peer, (uint8_t *)body, body_len,
                                    now_ms);
                engine_called = true;
                break;
            case NS_NATT_ESP:
                pkt[i].len = in[i].len;
                esp_in(d, &pkt[i], &in[i].local, &in[i].peer, false, now_ns, now_ms, out, &n_out,
                       &engine_called);
                break;
            }
        }
        to_tun(d, out, n_out);
        if (n < NS_NET_BATCH_MAX && !ns_udp_pending(&d->natt))
            break;
    }
    if (engine_called)
        nsd_engine_rearm(d);
}

static void on_raw(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    struct nsd *d = arg;
    struct ns_dgram in[NS_NET_BATCH_MAX], out[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    bool engine_called = false;
    for (int round = 0; round < NSD_ROUNDS; round++) {
        prepare_rx(d, in, pkt);
        int n = ns_raw_esp_recv(&d->raw, in, NS_NET_BATCH_MAX);
        if (n <= 0)
            break;
        uint64_t now_ns = ns_now_ns(), now_ms = ns_loop_now_ms(loop);
        unsigned n_out = 0;
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) {
                if (in[i].len == 0)
                    d->cnt.raw_bad_header++;
                else
                    d->cnt.truncated++;
                continue;
            }
            /* The raw socket put the ESP packet at in[i].data, which is
             * where the slot's packet starts. */
            pkt[i].head = (size_t)(in[i].data - pkt[i].buf);
            pkt[i].len = in[i].len;
            esp_in(d, &pkt[i], &in[i].local, &in[i].peer, true, now_ns, now_ms, out, &n_out,
                   &engine_called);
        }
        to_tun(d, out, n_out);
        if (n < NS_NET_BATCH_MAX)
            break;
    }
    if (engine_called)
        nsd_engine_rearm(d);
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
        prepare_rx(d, in, pkt);
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
    /* TUN offloads unless NATSEC_TUN_OFFLOAD=0 (to measure or test the
     * path of a kernel without them). */
    const char *off = getenv("NATSEC_TUN_OFFLOAD");
    if (!(off && strcmp(off, "0") == 0) && ns_tun_offload(&d->tun) == 0)
        NS_DBG("tun %s: checksum and TCP segmentation offload on%s", d->tun.name,
               d->tun.uso_write ? ", UDP segmentation on writes" : "");
    /* NATSEC_TUN_USO=0: UDP datagrams are written one by one even so. */
    const char *uso = getenv("NATSEC_TUN_USO");
    if (uso && strcmp(uso, "0") == 0)
        d->tun.uso_write = false;
    /* UDP GSO on the NAT-T socket (net/udpgso.h) unless NATSEC_UDP_GSO=0. */
    const char *ugso = getenv("NATSEC_UDP_GSO");
    if (!(ugso && strcmp(ugso, "0") == 0) && ns_udp_enable_gso(&d->natt) == 0)
        NS_DBG("udp port %u: segmentation offload on", d->conf.natt_port);
    const char *ugro = getenv("NATSEC_UDP_GRO");
    if (!(ugro && strcmp(ugro, "0") == 0) && ns_udp_enable_gro(&d->natt) == 0)
        NS_DBG("udp port %u: receive offload on", d->conf.natt_port);
    if (ns_loop_add(d->loop, d->ike.fd, EPOLLIN, on_ike, d) != 0 ||
        ns_loop_add(d->loop, d->natt.fd, EPOLLIN, on_natt, d) != 0 ||
        ns_loop_add(d->loop, d->raw.fd, EPOLLIN, on_raw, d) != 0 ||
        ns_loop_add(d->loop, d->tun.fd, EPOLLIN, on_tun, d) != 0)
        return -1;
    d->dataplane_on = true;
    return 0;
}

void nsd_dataplane_stop(struct nsd *d)
{
    if (!d->dataplane_on)
        return;
    d->dataplane_on = false;
    int fds[] = {d->ike.fd, d->natt.fd, d->raw.fd, d->tun.fd};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            ns_loop_remove(d->loop, fds[i]);
}
