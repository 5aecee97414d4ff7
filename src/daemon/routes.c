/* Addresses and routes around the TUN device (through net/ifconf.h, which
 * remembers them and undoes them at shutdown).
 *
 * Gateway: the TUN device holds the pool's first host with the pool's
 * prefix length, which routes the whole pool into it, and IPv4 forwarding
 * is on, so the corporate network reaches every client's virtual IP
 * through natsecd; the same for pool6 and IPv6 (X8).
 *
 * Client, while connected: the virtual IPs (IPv4, IPv6) on the TUN device, and the
 * negotiated remote subnets routed into it in conf.route_table, which a
 * policy rule consults for every packet except natsecd's own (marked with
 * conf.fwmark). So even a full tunnel (0.0.0.0/0, ::/0) never captures
 * the IKE and ESP packets that carry it, and with ::/0 no IPv6 packet of
 * the host leaves around the tunnel. */
#include <errno.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "util/log.h"

/* pool6 (X8): its second address on the TUN device with pool6's length
 * routes the whole pool into it; IPv6 forwarding on. */
static int gateway_pool6(struct nsd *d)
{
    const struct ns_conf *c = &d->conf;
    struct ns_addr gw_addr = c->pool6;
    gw_addr.a[15] |= 1;
    if (ns_ifconf_add_addr(&d->ifc, &gw_addr, c->pool6_prefix) != 0)
        return -1;
    if (ns_ifconf_set_forwarding(AF_INET6, true, &d->forwarding6_was) != 0)
        NS_WARN("cannot turn IPv6 forwarding on: clients reach only this host over IPv6");
    else
        d->forwarding6_set = true;
    char a[NS_ADDR_STRLEN], p[NS_ADDR_STRLEN];
    NS_INFO("%s: %s/%u, pool6 %s/%u routed into it, IPv6 forwarding on", d->tun.name,
            ns_addr_str(&gw_addr, a), c->pool6_prefix, ns_addr_str(&c->pool6, p), c->pool6_prefix);
    return 0;
}

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
    return c->pool6.family ? gateway_pool6(d) : 0;
}

void nsd_routes_gateway_down(struct nsd *d)
{
    /* Forwarding goes back to what it was; the addresses and the pool
     * routes go with ns_ifconf_cleanup. */
    if (d->forwarding_set && !d->forwarding_was)
        ns_ifconf_set_forwarding(AF_INET, false, NULL);
    if (d->forwarding6_set && !d->forwarding6_was)
        ns_ifconf_set_forwarding(AF_INET6, false, NULL);
    d->forwarding_set = d->forwarding6_set = false;
}

/* Bit k of a, counted from the least significant. */
static bool addr_bit(const struct ns_addr *a, unsigned k)
{
    return (a->a[ns_addr_len(a) - 1 - k / 8] >> (k % 8)) & 1u;
}

/* a with its k least significant bits set. */
static struct ns_addr with_low_bits(struct ns_addr a, unsigned k)
{
    size_t len = ns_addr_len(&a);
    for (unsigned i = 0; i < k; i++)
        a.a[len - 1 - i / 8] |= (uint8_t)(1u << (i % 8));
    return a;
}

static void addr_inc(struct ns_addr *a)
{
    for (size_t i = ns_addr_len(a); i-- > 0;)
        if (++a->a[i] != 0)
            break;
}

/* Splits the range lo..hi (one family) into the fewest prefixes (at most
 * max): from lo on, each time the largest aligned block that ends by hi. */
static unsigned range_to_prefixes(const struct ns_addr *lo, const struct ns_addr *hi,
                                  struct ns_addr *dst, unsigned *plen, unsigned max)
{
    unsigned bits = (unsigned)ns_addr_len(lo) * 8, n = 0;
    struct ns_addr cur = *lo;
    while (n < max && bits && ns_addr_cmp(&cur, hi) <= 0) {
        unsigned k = 0;
        while (k < bits && !addr_bit(&cur, k)) {
            struct ns_addr top = with_low_bits(cur, k + 1);
            if (ns_addr_cmp(&top, hi) > 0)
                break;
            k++;
        }
        dst[n] = cur;
        plen[n++] = bits - k;
        struct ns_addr top = with_low_bits(cur, k);
        if (ns_addr_cmp(&top, hi) >= 0)
            break; /* also the end of the address space */
        cur = top;
        addr_inc(&cur);
    }
    return n;
}

/* Puts a client's virtual IP of one family on the TUN device (a /32 or
 * /128) into *held. */
static void client_vip(struct nsd *d, const struct ns_addr *vip, uint8_t family,
                       struct ns_addr *held)
{
    char a[NS_ADDR_STRLEN];
    if (!vip || vip->family != family)
        return;
    if (ns_ifconf_add_addr(&d->ifc, vip, family == AF_INET ? 32 : 128) == 0)
        *held = *vip;
    else
        NS_ERR("cannot put the virtual IP %s on %s", ns_addr_str(vip, a), d->tun.name);
}

void nsd_routes_client_up(struct nsd *d, uint64_t ike_sa_id, const struct ns_addr *vip,
                          const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n)
{
    struct nsd_client_net *cn = &d->client;
    if (cn->up)
        nsd_routes_client_down(d);
    memset(cn, 0, sizeof(*cn));
    cn->up = true;
    cn->ike_sa_id = ike_sa_id;
    char a[NS_ADDR_STRLEN];
    client_vip(d, vip, AF_INET, &cn->vip);
    client_vip(d, vip6, AF_INET6, &cn->vip6);
    if (!cn->vip.family && !cn->vip6.family)
        NS_WARN("no virtual IP received; the tunnel carries no traffic of this host");
    unsigned n_routes = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct ns_addr *own = remote[i].lo.family == AF_INET6 ? &cn->vip6 : &cn->vip;
        if (!own->family) {
            char t[NS_TS_STRLEN];
            NS_WARN("remote selector %s not routed: no virtual IP of its family",
                    ns_ts_str(&remote[i], t));
            continue;
        }
        n_routes += range_to_prefixes(&remote[i].lo, &remote[i].hi, &cn->route_dst[n_routes],
                                      &cn->route_plen[n_routes], NSD_MAX_ROUTES - n_routes);
    }
    for (unsigned i = 0; i < n_routes; i++) {
        const struct ns_addr *src = cn->route_dst[i].family == AF_INET6 ? &cn->vip6 : &cn->vip;
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
    if (cn->vip6.family)
        NS_INFO("tunnel up: virtual IPv6 %s on %s", ns_addr_str(&cn->vip6, a), d->tun.name);
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
    if (cn->vip6.family)
        ns_ifconf_del_addr(&d->ifc, &cn->vip6, 128);
    memset(cn, 0, sizeof(*cn));
    NS_INFO("tunnel down: virtual IP and routes removed from %s", d->tun.name);
}
