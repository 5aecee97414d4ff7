/* Addresses and routes around the TUN device (through net/ifconf.h, which
 * remembers them and undoes them at shutdown).
 *
 * Gateway: the TUN device holds the pool's first host with the pool's
 * prefix length, which routes the whole pool into it, and IPv4 forwarding
 * is on, so the corporate network reaches every client's virtual IP
 * through natsecd.
 *
 * Client, while connected: the virtual IP on the TUN device, and the
 * negotiated remote subnets routed into it in conf.route_table, which a
 * policy rule consults for every packet except natsecd's own (marked with
 * conf.fwmark). So even a full tunnel (0.0.0.0/0) never captures the IKE
 * and ESP packets that carry it. */
#include <errno.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "util/log.h"

int nsd_routes_gateway(struct nsd *d)
{
    const struct ns_conf *c = &d->conf;
    if (c->pool.family != AF_INET) {
        NS_ERR("gateway: the pool must be IPv4");
        return -1;
    }
    struct ns_addr gw_addr;
    ns_addr_from_ipv4(&gw_addr, ns_addr_to_ipv4(&c->pool) + 1);
    if (ns_ifconf_add_addr(&d->ifc, &gw_addr, c->pool_prefix) != 0)
        return -1;
    if (ns_ifconf_set_forwarding(AF_INET, true, &d->forwarding_was) != 0)
        NS_WARN("cannot turn IPv4 forwarding on: clients reach only this host");
    else
        d->forwarding_set = true;
    char a[NS_ADDR_STRLEN], p[NS_ADDR_STRLEN];
    NS_INFO("%s: %s/%u, pool %s/%u routed into it, IPv4 forwarding on", d->tun.name,
            ns_addr_str(&gw_addr, a), c->pool_prefix, ns_addr_str(&c->pool, p), c->pool_prefix);
    return 0;
}

void nsd_routes_gateway_down(struct nsd *d)
{
    /* Forwarding goes back to what it was; the address and the pool route
     * go with ns_ifconf_cleanup. */
    if (d->forwarding_set && !d->forwarding_was)
        ns_ifconf_set_forwarding(AF_INET, false, NULL);
    d->forwarding_set = false;
}

/* Splits the IPv4 range lo..hi into the fewest prefixes (at most max). */
static unsigned range_to_prefixes(uint32_t lo, uint32_t hi, struct ns_addr *dst, unsigned *plen,
                                  unsigned max)
{
    unsigned n = 0;
    uint64_t cur = lo, end = (uint64_t)hi + 1;
    while (cur < end && n < max) {
        unsigned bits = 32;
        /* The largest block aligned at cur that ends before end. */
        while (bits > 0) {
            uint64_t size = (uint64_t)1 << (33 - bits);
            if ((cur & (size - 1)) != 0 || cur + size > end)
                break;
            bits--;
        }
        ns_addr_from_ipv4(&dst[n], (uint32_t)cur);
        plen[n++] = bits;
        cur += (uint64_t)1 << (32 - bits);
    }
    return n;
}

void nsd_routes_client_up(struct nsd *d, uint64_t ike_sa_id, const struct ns_addr *vip,
                          const struct ns_ts *remote, unsigned n)
{
    struct nsd_client_net *cn = &d->client;
    if (cn->up)
        nsd_routes_client_down(d);
    memset(cn, 0, sizeof(*cn));
    cn->up = true;
    cn->ike_sa_id = ike_sa_id;
    char a[NS_ADDR_STRLEN];
    if (vip && vip->family == AF_INET) {
        if (ns_ifconf_add_addr(&d->ifc, vip, 32) == 0)
            cn->vip = *vip;
        else
            NS_ERR("cannot put the virtual IP %s on %s", ns_addr_str(vip, a), d->tun.name);
    } else {
        NS_WARN("no IPv4 virtual IP received; the tunnel carries no traffic of this host");
    }
    unsigned n_routes = 0;
    for (unsigned i = 0; i < n; i++) {
        if (remote[i].lo.family != AF_INET) {
            NS_WARN("remote selector of another family than IPv4 not routed");
            continue;
        }
        n_routes += range_to_prefixes(ns_addr_to_ipv4(&remote[i].lo),
                                      ns_addr_to_ipv4(&remote[i].hi), &cn->route_dst[n_routes],
                                      &cn->route_plen[n_routes], NSD_MAX_ROUTES - n_routes);
    }
    const struct ns_addr *src = cn->vip.family ? &cn->vip : NULL;
    for (unsigned i = 0; i < n_routes; i++) {
        if (ns_ifconf_add_route(&d->ifc, &cn->route_dst[i], cn->route_plen[i], src) != 0) {
            NS_ERR("cannot route %s/%u into %s", ns_addr_str(&cn->route_dst[i], a),
                   cn->route_plen[i], d->tun.name);
            continue;
        }
        cn->route_dst[cn->n_routes] = cn->route_dst[i];
        cn->route_plen[cn->n_routes++] = cn->route_plen[i];
        NS_INFO("route %s/%u into %s (table %u)", ns_addr_str(&cn->route_dst[i], a),
                cn->route_plen[i], d->tun.name, d->conf.route_table);
    }
    if (cn->vip.family)
        NS_INFO("tunnel up: virtual IP %s on %s", ns_addr_str(&cn->vip, a), d->tun.name);
}

void nsd_routes_client_down(struct nsd *d)
{
    struct nsd_client_net *cn = &d->client;
    if (!cn->up || !d->ifc_open)
        return;
    for (unsigned i = 0; i < cn->n_routes; i++)
        ns_ifconf_del_route(&d->ifc, &cn->route_dst[i], cn->route_plen[i]);
    if (cn->vip.family)
        ns_ifconf_del_addr(&d->ifc, &cn->vip, 32);
    memset(cn, 0, sizeof(*cn));
    NS_INFO("tunnel down: virtual IP and routes removed from %s", d->tun.name);
}
