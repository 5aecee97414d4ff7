/* Creates natsecd's parts (event loop, UDP sockets on ike_port and
 * natt_port, the raw ESP socket, the TUN device, rtnetlink, the SAD, the
 * IKE engine) and maps the engine's callbacks onto them. */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "daemon/tcp.h"
#include "esp/pkt.h"
#include "natt/udp_demux.h"
#include "util/log.h"
#include "util/time.h"

/* Socket buffers big enough for bursts from thousands of peers (R12) and
 * for a flood that must not crowd out real clients (R15). */

#define NSD_GOODBYE_MS 1000

/* During a shutdown: waits until fd takes more or the deadline passes. */
static bool goodbye_wait_writable(const struct nsd *d, int fd)
{
    uint64_t now = ns_now_ms();
    if (d->goodbye_deadline_ms == 0 || now >= d->goodbye_deadline_ms)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return poll(&p, 1, (int)(d->goodbye_deadline_ms - now)) > 0;
}

/* ---- engine callbacks ---- */

static void op_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                    const uint8_t *msg, size_t len, bool natt_marker)
{
    struct nsd *d = ctx;
    if (nsd_tcp_send_ike(d, local, remote, msg, len))
        return; /* RFC 8229: on the peer's TCP connection */
    struct ns_udp *s = local->port == d->conf.natt_port ? &d->natt : &d->ike;
    const uint8_t *out = msg;
    size_t out_len = len;
    if (natt_marker) {
        if (len + NS_NATT_MARKER_LEN > d->ike_out_cap) {
            NS_WARN("IKE message of %zu bytes too large to send", len);
            return;
        }
        memcpy(d->ike_out + NS_NATT_MARKER_LEN, msg, len);
        out = ns_natt_add_marker(d->ike_out + NS_NATT_MARKER_LEN);
        out_len = len + NS_NATT_MARKER_LEN;
    }
    const struct ns_addr *from = ns_addr_is_any(&local->addr) ? NULL : &local->addr;
    /* Without IKE fragmentation (X5: a peer that does not offer it, or
     * fragmentation = no) a message above the path MTU must go as IP
     * fragments. On the NAT-T port, where ESP keeps DF, it is lifted
     * for this send only: the engine calls this holding sad_lock exclusive
     * (natsecd.h), and the outbound worker sends ESP only holding it
     * shared, so no ESP packet leaves meanwhile. */
    int rc;
    while ((rc = ns_udp_sendto_fragmentable(s, from, remote, out, out_len)) != 0 &&
           (errno == EAGAIN || errno == EWOULDBLOCK) && goodbye_wait_writable(d, s->fd))
        ;
    if (rc == 0)
        d->cnt.ike_tx++;
}

static void op_set_wakeup(void *ctx, uint64_t when_ms)
{
    struct nsd *d = ctx;
    if (when_ms == NS_IKE_NEVER)
        ns_loop_timer_cancel(d->loop, &d->engine_timer);
    else
        ns_loop_timer_arm_at(d->loop, &d->engine_timer, when_ms);
}

static uint32_t op_alloc_spi(void *ctx)
{
    struct nsd *d = ctx;
    return ns_sad_alloc_spi(d->sad);
}

static void op_release_spi(void *ctx, uint32_t spi)
{
    struct nsd *d = ctx;
    /* After child_down the SPI went with its SA: -1 then is expected. */
    (void)ns_sad_release_spi(d->sad, spi);
}

/* The outbound SA of a CHILD_SA and its transport-mode state (whose
 * checksum fixups need both directions' addresses), installed together:
 * neither stays when the other fails. 0 or -1 (logged). */
static int install_outbound(struct nsd *d, const struct ns_esp_sa_spec *in,
                            const struct ns_esp_sa_spec *out)
{
    if (nsd_transport_child_up(d, in, out) != 0)
        return -1;
    if (!ns_sad_install(d->sad, out)) {
        NS_ERR("CHILD_SA: cannot install outbound SA 0x%08x", out->spi);
        nsd_transport_child_down(d, in->spi);
        return -1;
    }
    return 0;
}

static int op_child_up(void *ctx, const struct ns_esp_sa_spec *in, const struct ns_esp_sa_spec *out)
{
    struct nsd *d = ctx;
    struct ns_esp_sa *sa_in = ns_sad_install(d->sad, in);
    if (!sa_in) {
        NS_ERR("CHILD_SA: cannot install inbound SA 0x%08x", in->spi);
        return -1;
    }
    if (install_outbound(d, in, out) != 0) {
        ns_sad_remove(d->sad, sa_in);
        return -1;
    }
    char peer[NS_ENDPOINT_STRLEN];
    NS_DBG("CHILD_SA in the SAD: in 0x%08x out 0x%08x, %s to %s", in->spi, out->spi,
           out->udp_encap ? "ESP in UDP" : "plain ESP", ns_endpoint_str(&out->peer, peer));
    return 0;
}

/* A re-key we answer: the inbound direction now, the outbound one once the
 * initiator has the new CHILD_SA (ike/engine.h child_in_up). */
static int op_child_in_up(void *ctx, const struct ns_esp_sa_spec *in)
{
    struct nsd *d = ctx;
    if (!ns_sad_install(d->sad, in)) {
        NS_ERR("CHILD_SA: cannot install inbound SA 0x%08x", in->spi);
        return -1;
    }
    return 0;
}

static int op_child_out_up(void *ctx, const struct ns_esp_sa_spec *in,
                           const struct ns_esp_sa_spec *out)
{
    return install_outbound(ctx, in, out);
}

static void op_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    struct nsd *d = ctx;
    struct ns_esp_sa *sa = ns_sad_find_inbound(d->sad, in_spi);
    if (sa) {
        uint64_t ike = ns_esp_sa_ike_sa_id(sa);
        ns_sad_remove(d->sad, sa);
        (void)ns_sad_remove_outbound(d->sad, ike, out_spi);
    }
    nsd_transport_child_down(d, in_spi);
    NS_DBG("CHILD_SA out of the SAD: in 0x%08x out 0x%08x", in_spi, out_spi);
}

static void op_peer_moved(void *ctx, uint64_t ike_sa_id, const struct ns_endpoint *local,
                          const struct ns_endpoint *peer)
{
    struct nsd *d = ctx;
    size_t n = ns_sad_update_peer(d->sad, ike_sa_id, peer);
    char l[NS_ENDPOINT_STRLEN], p[NS_ENDPOINT_STRLEN];
    NS_INFO("IKE SA %016llx moved: local %s, peer %s (%zu ESP SAs follow)",
            (unsigned long long)ike_sa_id, ns_endpoint_str(local, l), ns_endpoint_str(peer, p), n);
}

static void op_path_changed(void *ctx, uint64_t ike_sa_id, const struct ns_endpoint *local,
                            const struct ns_endpoint *peer, bool udp_encap)
{
    struct nsd *d = ctx;
    size_t n = ns_sad_update_path(d->sad, ike_sa_id, local, peer, udp_encap);
    char l[NS_ENDPOINT_STRLEN], p[NS_ENDPOINT_STRLEN];
    NS_INFO("IKE SA %016llx moved (MOBIKE): local %s, peer %s, ESP %s (%zu ESP SAs follow)",
            (unsigned long long)ike_sa_id, ns_endpoint_str(local, l), ns_endpoint_str(peer, p),
            udp_encap ? "in UDP" : "as protocol 50", n);
}

static void op_path_verified(void *ctx, uint64_t ike_sa_id, bool verified)
{
    struct nsd *d = ctx;
    size_t n = ns_sad_set_path_verified(d->sad, ike_sa_id, verified);
    NS_DBG("IKE SA %016llx: path %s (%zu outbound ESP SAs)", (unsigned long long)ike_sa_id,
           verified ? "checked, ESP unbounded" : "not checked yet, ESP bounded", n);
}

static void op_client_up(void *ctx, uint64_t ike_sa_id, const struct ns_addr *vip,
                         const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n,
                         const struct ns_addr *dns, unsigned n_dns)
{
    struct nsd *d = ctx;
    nsd_reconnect_up(d);
    if (nsd_transport_client_up(d, ike_sa_id))
        return;
    nsd_routes_client_up(d, ike_sa_id, vip, vip6, remote, n);
    nsd_dns_up(d, ike_sa_id, dns, n_dns);
}

/* The raced connect goes on over the name's other address. */
static void op_client_path(void *ctx, const struct ns_addr *local, const struct ns_addr *gateway)
{
    struct nsd *d = ctx;
    nsd_gateway_use(d, gateway);
    nsd_netwatch_connected(d, local);
}

static void op_client_down(void *ctx, enum ns_ike_down_reason reason)
{
    struct nsd *d = ctx;
    NS_INFO("connection down: %s", ns_ike_down_reason_str(reason));
    nsd_routes_client_down(d);
    nsd_dns_down(d);
    nsd_reconnect_down(d, reason);
}

static int op_child_usage(void *ctx, uint64_t ike_sa_id, uint32_t in_spi, uint32_t out_spi,
                          struct ns_ike_child_usage *u)
{
    struct nsd *d = ctx;
    struct ns_esp_sa *in = ns_sad_find_inbound(d->sad, in_spi);
    struct ns_esp_sa *out = ns_sad_find_outbound(d->sad, ike_sa_id, out_spi);
    if (!in)
        return -1;
    /* No outbound half yet: a re-key we answered, waiting for the peer. */
    static const struct ns_esp_sa_stats none;
    const struct ns_esp_sa_stats *si = ns_esp_sa_stats(in),
                                 *so = out ? ns_esp_sa_stats(out) : &none;
    *u = (struct ns_ike_child_usage){si->bytes, si->packets, so->bytes, so->packets};
    return 0;
}

/* ---- timers and signals ---- */

void nsd_engine_rearm(struct nsd *d)
{
    op_set_wakeup(d, ns_ike_engine_next_wakeup(d->engine));
}

static void on_engine_timer(struct ns_timer *t, void *arg)
{
    (void)t;
    struct nsd *d = arg;
    ns_ike_engine_tick(d->engine, ns_loop_now_ms(d->loop));
    nsd_engine_rearm(d);
}

/* ---- client ---- */

/* The source address the kernel uses towards the gateway, learned with a
 * connect()ed UDP socket carrying our mark (so the answer is the route
 * outside the tunnel). */
int nsd_local_addr_towards(struct nsd *d, const struct ns_addr *gw, struct ns_addr *out,
                           bool quiet)
{
    struct ns_udp probe;
    struct ns_addr any = {.family = gw->family};
    if (ns_udp_open(&probe, &any, 0, d->conf.fwmark) != 0)
        return -1;
    struct ns_endpoint to = {.addr = *gw, .port = d->conf.ike_port};
    struct sockaddr_storage ss;
    socklen_t len = ns_endpoint_to_sockaddr(&to, &ss);
    int rc = -1;
    if (connect(probe.fd, (struct sockaddr *)&ss, len) == 0) {
        len = sizeof(ss);
        struct ns_endpoint me;
        if (getsockname(probe.fd, (struct sockaddr *)&ss, &len) == 0 &&
            ns_endpoint_from_sockaddr(&me, (struct sockaddr *)&ss, len) == 0) {
            *out = me.addr;
            rc = 0;
        }
    }
    if (rc != 0 && !quiet) {
        char a[NS_ADDR_STRLEN];
        NS_ERR("no route to the gateway %s: %s", ns_addr_str(gw, a), strerror(errno));
    }
    ns_udp_close(&probe);
    return rc;
}

/* How long the first path of a raced connect has to answer before the
 * second starts: RFC 8305 5's recommended Connection Attempt Delay. */
#define RACE_DELAY_MS 250

int nsd_client_connect(struct nsd *d)
{
    struct ns_addr local;
    /* A gateway by name: after a failed attempt or a lost connection the
     * other address, and the other at once where there is no route to
     * one (gateway_name.c). */
    if (d->reconnect.retrying)
        nsd_gateway_next(d);
    for (unsigned tried = 1;; tried++) {
        if (!ns_addr_is_any(&d->conf.listen)) {
            local = d->conf.listen;
            break;
        }
        if (nsd_local_addr_towards(d, &d->conf.gateway, &local, false) == 0)
            break;
        if (tried >= d->n_gw_cand || !nsd_gateway_next(d))
            return -1;
    }
    if (nsd_tcp_client_connecting(d, &local) != 0)
        return -1;
    /* Happy eyeballs (RFC 8305): over UDP, the name's other address too,
     * unless the first answers within RACE_DELAY_MS. */
    struct ns_addr alt_gw, alt_local;
    struct ns_endpoint gw_ep = {.addr = d->conf.gateway, .port = d->conf.ike_port};
    uint64_t now = ns_loop_now_ms(d->loop);
    int rc = ns_addr_is_any(&d->conf.listen) && !nsd_tcp_carries(d, &gw_ep) &&
                     nsd_gateway_alt(d, &alt_gw, &alt_local)
                 ? ns_ike_engine_connect_race(d->engine, &local, &alt_local, &alt_gw,
                                              RACE_DELAY_MS, now)
                 : ns_ike_engine_connect(d->engine, &local, now);
    nsd_engine_rearm(d);
    if (rc == 0)
        nsd_netwatch_connected(d, &local);
    if (rc == 0) {
        char a[NS_ADDR_STRLEN], g[NS_ADDR_STRLEN];
        NS_INFO("connecting from %s to the gateway %s", ns_addr_str(&local, a),
                ns_addr_str(&d->conf.gateway, g));
    }
    return rc;
}

/* ---- start and stop ---- */

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

static int alloc_buffers(struct nsd *d)
{
    /* Every receive path shares these: a TUN packet up to the MTU, an ESP
     * packet from a peer with a larger MTU, or an IKE message. */
    size_t data = max_sz((size_t)d->conf.mtu + 256, 9216);
    d->slot_cap = NS_PKT_HEADROOM + data + NS_PKT_TAILROOM;
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++) {
        d->slot[i].buf = malloc(d->slot_cap);
        if (!d->slot[i].buf)
            return -1;
        d->slot[i].cap = d->slot_cap;
    }
    d->ike_out_cap = NS_NATT_MARKER_LEN + 65536;
    d->ike_out = malloc(d->ike_out_cap);
    return d->ike_out ? 0 : -1;
}

struct ns_addr nsd_listen_addr(const struct ns_conf *c)
{
    struct ns_addr listen = c->listen;
    if (listen.family == 0)
        listen.family = AF_INET;
    return listen;
}

static int open_sockets(struct nsd *d)
{
    const struct ns_conf *c = &d->conf;
    struct ns_addr listen = nsd_listen_addr(c);
    if (nsd_workers_count(c) > 1) {
        /* The first of the workers' group on natt_port (workers.c). */
        struct ns_addr group = c->listen_dual ? (struct ns_addr){0} : listen;
        if (ns_udp_open_group(&d->natt, &group, c->natt_port, c->fwmark) != 0)
            return -1;
    } else if (c->listen_dual ? ns_udp_open_dual(&d->natt, c->natt_port, c->fwmark) != 0
                              : ns_udp_open(&d->natt, &listen, c->natt_port, c->fwmark) != 0) {
        return -1;
    }
    if (c->listen_dual ? ns_udp_open_dual(&d->ike, c->ike_port, c->fwmark) != 0
                       : ns_udp_open(&d->ike, &listen, c->ike_port, c->fwmark) != 0)
        return -1;
    if (nsd_raw_open(d, &d->raw) != 0)
        return -1;
    /* IKE alone on ike_port: its messages may always be fragmented. */
    if (ns_udp_set_df(&d->ike, false) != 0)
        return -1;
    ns_sock_set_buffers(d->ike.fd, NSD_SOCK_BUFFER);
    ns_sock_set_buffers(d->natt.fd, NSD_SOCK_BUFFER);
    return 0;
}

int nsd_raw_open(const struct nsd *d, struct ns_raw_esp *raw)
{
    const struct ns_conf *c = &d->conf;
    struct ns_addr listen = nsd_listen_addr(c);
    if (c->listen_dual ? ns_raw_esp_open_dual(raw, c->fwmark) != 0
                       : ns_raw_esp_open(raw, &listen, c->fwmark) != 0)
        return -1;
    ns_sock_set_buffers(raw->fd, NSD_SOCK_BUFFER);
    if (raw->fd6 >= 0)
        ns_sock_set_buffers(raw->fd6, NSD_SOCK_BUFFER);
    return 0;
}

static int open_tun(struct nsd *d)
{
    /* Queue 0 of the workers' (workers.c) when there are several. */
    if (ns_tun_open(&d->tun, d->conf.tun, nsd_workers_count(&d->conf) > 1) != 0)
        return -1;
    if (ns_ifconf_init(&d->ifc, d->tun.name, d->conf.fwmark, d->conf.route_table, 0) != 0)
        return -1;
    d->ifc_open = true;
    return ns_ifconf_up(&d->ifc, d->conf.mtu);
}

int nsd_start(struct nsd *d)
{
    d->ike.fd = d->natt.fd = d->raw.fd = d->raw.fd6 = d->tun.fd = -1;
    d->control_fd = -1;
    /* auto becomes a number once, so that the sockets, the TUN queues, the
     * SAD and the threads made below, and their teardown, agree on it
     * while CPUs go on- or offline. */
    d->conf.workers = nsd_workers_count(&d->conf);
    if (d->conf.role == NS_CONF_CLIENT && nsd_gateway_resolve(d) != 0)
        return -1;
    d->loop = ns_loop_new();
    if (!d->loop)
        return -1;
    if (ns_loop_on_signal(d->loop, SIGINT, NULL, NULL) != 0 ||
        ns_loop_on_signal(d->loop, SIGTERM, NULL, NULL) != 0)
        return -1;
    if (alloc_buffers(d) != 0) {
        NS_ERR("out of memory for packet buffers");
        return -1;
    }
    if (open_sockets(d) != 0 || open_tun(d) != 0)
        return -1;
    d->sad = ns_sad_new();
    if (!d->sad) {
        NS_ERR("cannot create the SA database");
        return -1;
    }
    /* workers = 1: the outbound path on one thread, inbound on the main
     * one; several threads per direction only with workers. */
    ns_sad_set_shared(d->sad, nsd_workers_count(&d->conf) > 1);
    ns_timer_init(&d->engine_timer, on_engine_timer, d);
    struct ns_ike_ops ops = {
        .ctx = d,
        .send = op_send,
        .set_wakeup = op_set_wakeup,
        .alloc_spi = op_alloc_spi,
        .release_spi = op_release_spi,
        .child_up = op_child_up,
        .child_down = op_child_down,
        .peer_moved = op_peer_moved,
        .path_changed = op_path_changed,
        .path_verified = op_path_verified,
        .local_addrs = nsd_netwatch_local_addrs,
        .client_up = op_client_up,
        .client_down = op_client_down,
        .client_path = op_client_path,
        .child_usage = op_child_usage,
        .child_in_up = op_child_in_up,
        .child_out_up = op_child_out_up,
        .eap_backend = nsd_radius_eap_backend,
        .eap_backend_cancel = nsd_radius_eap_cancel,
    };
    d->engine = ns_ike_engine_new(&d->conf, &ops, ns_loop_now_ms(d->loop));
    if (!d->engine) {
        NS_ERR("cannot create the IKE engine");
        return -1;
    }
    if (d->conf.role == NS_CONF_GATEWAY && nsd_routes_gateway(d) != 0)
        return -1;
    if (nsd_radius_start(d) != 0)
        return -1;
    if (nsd_tcp_start(d) != 0 || nsd_dataplane_start(d) != 0 || nsd_control_start(d) != 0)
        return -1;
    nsd_keepalive_start(d);
    if (d->conf.role == NS_CONF_CLIENT && d->conf.mobike)
        (void)nsd_netwatch_start(d);
    if (d->conf.role == NS_CONF_CLIENT && nsd_client_connect(d) != 0) {
        NS_WARN("not connected; trying again");
        nsd_reconnect_schedule(d);
    }
    return 0;
}

/* Waits (until the goodbye deadline) for fd's send queue to leave the
 * host, so the DELETEs are on the wire before the sockets close. */
static void goodbye_drain(const struct nsd *d, int fd)
{
    int queued;
    while (fd >= 0 && ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0 &&
           ns_now_ms() < d->goodbye_deadline_ms)
        (void)poll(NULL, 0, 1);
}

void nsd_shutdown(struct nsd *d)
{
    if (!d->engine)
        return;
    uint64_t start = ns_now_ms();
    d->goodbye_deadline_ms = start + NSD_GOODBYE_MS;
    nsd_reconnect_stop(d);
    unsigned n = ns_ike_engine_shutdown(d->engine, ns_loop_now_ms(d->loop));
    goodbye_drain(d, d->ike.fd);
    goodbye_drain(d, d->natt.fd);
    d->goodbye_deadline_ms = 0;
    NS_INFO("shutdown: DELETE sent to %u peer(s) in %llu ms", n,
            (unsigned long long)(ns_now_ms() - start));
}

void nsd_stop(struct nsd *d)
{
    nsd_control_stop(d);
    nsd_keepalive_stop(d);
    nsd_netwatch_stop(d);
    nsd_reconnect_stop(d);
    nsd_radius_stop(d);
    if (d->engine) {
        /* Tears SAs down locally: child_down and client_down run now, while
         * the SAD and netlink still exist. */
        ns_ike_engine_free(d->engine);
        d->engine = NULL;
    }
    if (d->loop)
        ns_loop_timer_cancel(d->loop, &d->engine_timer);
    nsd_dataplane_stop(d);
    nsd_tcp_stop(d); /* after the worker, which writes on the connections */
    nsd_routes_client_down(d);
    nsd_dns_close(d);
    nsd_routes_gateway_down(d);
    nsd_transport_free(d);
    if (d->sad) {
        ns_sad_free(d->sad);
        d->sad = NULL;
    }
    if (d->ifc_open) {
        ns_ifconf_cleanup(&d->ifc);
        d->ifc_open = false;
    }
    if (d->tun.fd >= 0)
        ns_tun_close(&d->tun);
    if (d->raw.fd >= 0)
        ns_raw_esp_close(&d->raw);
    if (d->natt.fd >= 0)
        ns_udp_close(&d->natt);
    if (d->ike.fd >= 0)
        ns_udp_close(&d->ike);
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++) {
        free(d->slot[i].buf);
        d->slot[i].buf = NULL;
    }
    free(d->ike_out);
    d->ike_out = NULL;
    if (d->loop) {
        ns_loop_free(d->loop);
        d->loop = NULL;
    }
}
