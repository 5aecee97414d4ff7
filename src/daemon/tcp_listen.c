/* The gateway's side of RFC 8229 (daemon/tcp.h): it listens on tcp_port
 * beside UDP, accepts, and never connects to a client (RFC 8229: only the initiator does).
 *
 * What a connection costs before it has proved anything is bounded (R15):
 * at most tcp_per_source connections from one address and
 * tcp_max_connections in all; a small receive buffer, so no frame above
 * NSD_TCP_RX_SMALL; tcp_handshake_timeout seconds to send an IKE_SA_INIT
 * the engine answers with an IKE SA, or ESP of a known SA; any framing
 * error (a wrong prefix, an impossible length, a short ESP packet) closes
 * it. A proven connection that carries nothing valid for
 * tcp_idle_timeout seconds (its IKE SA is gone: DPD would have kept it
 * busy) is closed too. Each closing is counted by its reason. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "daemon/tcp_int.h"
#include "net/tcp_sock.h"
#include "util/log.h"

/* Connections taken per wakeup before the loop gives others a turn. */
#define ACCEPT_ROUNDS 64
#define LISTEN_BACKLOG 256

static void on_listen(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)events;
    struct nsd_tcp *t = arg;
    const struct ns_conf *conf = &t->d->conf;
    for (int i = 0; i < ACCEPT_ROUNDS; i++) {
        struct ns_endpoint peer, local;
        int cfd = ns_tcp_accept(fd, &peer, &local);
        if (cfd < 0)
            return; /* none waiting, or the process is out of descriptors: later */
        char p[NS_ENDPOINT_STRLEN];
        if (nsd_tcp_count_source(t, &peer.addr) >= conf->tcp_per_source) {
            close(cfd);
            t->cnt.refused_per_source++;
            NS_DBG("tcp: %s refused: %u connections from that address already",
                   ns_endpoint_str(&peer, p), conf->tcp_per_source);
            continue;
        }
        if (!nsd_tcp_conn_open(t, cfd, &peer, &local, false)) {
            close(cfd);
            t->cnt.refused_full++;
            NS_DBG("tcp: %s refused: %u connections open", ns_endpoint_str(&peer, p),
                   conf->tcp_max_connections);
            continue;
        }
        t->cnt.accepted++;
        NS_DBG("tcp: connection from %s", ns_endpoint_str(&peer, p));
    }
}

int nsd_tcp_listen_start(struct nsd_tcp *t)
{
    const struct ns_conf *c = &t->d->conf;
    struct ns_addr addr = c->listen;
    if (addr.family == 0)
        addr.family = AF_INET;
    t->listen_fd = ns_tcp_listen(&addr, c->tcp_port, c->fwmark, LISTEN_BACKLOG, c->listen_dual);
    if (t->listen_fd < 0)
        return -1;
    if (ns_loop_add(t->d->loop, t->listen_fd, EPOLLIN, on_listen, t) != 0) {
        close(t->listen_fd);
        t->listen_fd = -1;
        return -1;
    }
    char a[NS_ADDR_STRLEN];
    NS_INFO("IKE and ESP over TCP (RFC 8229) on %s port %u", ns_addr_str(&addr, a), c->tcp_port);
    return 0;
}

void nsd_tcp_listen_stop(struct nsd_tcp *t)
{
    if (t->listen_fd < 0)
        return;
    ns_loop_remove(t->d->loop, t->listen_fd);
    close(t->listen_fd);
    t->listen_fd = -1;
}

void nsd_tcp_listen_sweep(struct nsd_tcp *t, uint64_t now_ms)
{
    const struct ns_conf *conf = &t->d->conf;
    uint64_t handshake = (uint64_t)conf->tcp_handshake_s * 1000;
    uint64_t idle = (uint64_t)conf->tcp_idle_s * 1000;
    for (unsigned i = 0; i < t->cap; i++) {
        struct nsd_tcp_conn *c = &t->conn[i];
        if (c->fd < 0 || c->dead || c->ours)
            continue;
        char p[NS_ENDPOINT_STRLEN];
        if (!c->proven && now_ms - c->opened_ms >= handshake) {
            NS_DBG("tcp: %s sent no valid IKE_SA_INIT in %u s: closing",
                   ns_endpoint_str(&c->peer, p), conf->tcp_handshake_s);
            nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_HANDSHAKE);
        } else if (c->proven && now_ms - c->last_valid_ms >= idle) {
            NS_DBG("tcp: %s carried nothing valid for %u s: closing", ns_endpoint_str(&c->peer, p),
                   conf->tcp_idle_s);
            nsd_tcp_conn_kill(t, c, NSD_TCP_CLOSE_IDLE);
        }
    }
}
