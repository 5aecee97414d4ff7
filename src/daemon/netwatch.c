/* A client's watch over its own network (MOBIKE, RFC 4555, X4): an
 * rtnetlink socket subscribed to link, address and route changes (IPv4
 * and IPv6). Their content is not read: any of them may change the way to
 * the gateway, so each one (re)arms a short timer, and when the burst has
 * settled the kernel is asked which source address it now uses towards the
 * gateway outside the tunnel (the connect()ed probe of wiring.c). When it
 * changed, the IKE SA moves to it (ns_ike_engine_mobike_move); no route at
 * all (every uplink down) waits for the next change. The tunnel's own
 * routes (routes.c) cause events too; they find the route unchanged, and
 * leave the IKE SA where path testing (the engine's, through
 * nsd_netwatch_local_addrs) may have moved it.
 *
 * A fixed `listen` address never moves, so no watch runs then. */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "util/log.h"

/* How long the events of one change (a link down brings an address and
 * several routes down with it) are let settle before the look-up. */
#define NETWATCH_SETTLE_MS 30

static void on_settled(struct ns_timer *t, void *arg)
{
    (void)t;
    struct nsd *d = arg;
    if (!d->engine)
        return;
    struct ns_addr now, other_gw;
    const struct ns_addr *gw = NULL;
    if (nsd_local_addr_towards(d, &d->conf.gateway, &now, true) != 0) {
        /* A gateway by name: its address of the other family, when the
         * route goes there now (an IPv4 uplink gone, an IPv6 one up). */
        if (!nsd_gateway_alt(d, &other_gw, &now)) {
            NS_DBG("netwatch: no route to the gateway for now");
            return;
        }
        gw = &other_gw;
    }
    if (!gw && ns_addr_equal(&d->netwatch.route_src, &now))
        return;
    d->netwatch.route_src = now;
    struct ns_addr was = ns_ike_engine_client_local(d->engine);
    if (!was.family || (!gw && ns_addr_equal(&was, &now)))
        return;
    char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN];
    int rc = ns_ike_engine_mobike_move_to(d->engine, &now, gw, ns_loop_now_ms(d->loop));
    nsd_engine_rearm(d);
    if (rc == 0 && gw)
        nsd_gateway_use(d, gw);
    if (rc == 0)
        NS_INFO("netwatch: the route to the gateway now leaves from %s (was %s): moving the "
                "tunnel (MOBIKE)",
                ns_addr_str(&now, a), ns_addr_str(&was, b));
    else if (rc < 0)
        NS_INFO("netwatch: the route to the gateway now leaves from %s (was %s), and the IKE SA "
                "cannot move (no MOBIKE)",
                ns_addr_str(&now, a), ns_addr_str(&was, b));
}

static void on_event(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct nsd *d = arg;
    uint8_t buf[8192];
    bool any = false;
    /* Drained whole; what the kernel says is not parsed, only that it
     * said something (ENOBUFS after an overflow says it too). */
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0 || (n < 0 && errno == ENOBUFS)) {
            any = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (any)
        ns_loop_timer_arm(loop, &d->netwatch.settle, NETWATCH_SETTLE_MS);
}

int nsd_netwatch_start(struct nsd *d)
{
    if (d->netwatch.on || !ns_addr_is_any(&d->conf.listen))
        return 0;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) {
        NS_WARN("netwatch: no rtnetlink socket (%s): the tunnel will not follow address "
                "changes",
                strerror(errno));
        return -1;
    }
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
                                          RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        ns_loop_add(d->loop, fd, EPOLLIN, on_event, d) != 0) {
        NS_WARN("netwatch: cannot listen to rtnetlink (%s): the tunnel will not follow address "
                "changes",
                strerror(errno));
        close(fd);
        return -1;
    }
    ns_timer_init(&d->netwatch.settle, on_settled, d);
    d->netwatch.fd = fd;
    d->netwatch.on = true;
    NS_DBG("netwatch: watching links, addresses and routes (MOBIKE)");
    return 0;
}

void nsd_netwatch_stop(struct nsd *d)
{
    if (!d->netwatch.on)
        return;
    ns_loop_timer_cancel(d->loop, &d->netwatch.settle);
    ns_loop_remove(d->loop, d->netwatch.fd);
    close(d->netwatch.fd);
    d->netwatch.on = false;
}

void nsd_netwatch_connected(struct nsd *d, const struct ns_addr *local)
{
    d->netwatch.route_src = *local;
}

unsigned nsd_netwatch_local_addrs(void *ctx, int family, struct ns_addr *out, unsigned max)
{
    struct nsd *d = ctx;
    struct ifaddrs *all;
    if (max == 0 || getifaddrs(&all) != 0)
        return 0;
    unsigned n = 0;
    for (const struct ifaddrs *i = all; i && n < max; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
            (i->ifa_flags & (IFF_UP | IFF_RUNNING)) != (IFF_UP | IFF_RUNNING) ||
            (i->ifa_flags & IFF_LOOPBACK) || strcmp(i->ifa_name, d->conf.tun) == 0)
            continue;
        /* A link-local IPv6 address reaches no gateway. */
        if (family == AF_INET6 &&
            IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr))
            continue;
        struct ns_endpoint ep;
        socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        if (ns_endpoint_from_sockaddr(&ep, i->ifa_addr, len) != 0)
            continue;
        out[n++] = ep.addr;
    }
    freeifaddrs(all);
    return n;
}
