#include "net/ifconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

int ns_ifconf_init(struct ns_ifconf *c, const char *ifname, uint32_t fwmark, uint32_t table,
                   uint32_t rule_priority)
{
    memset(c, 0, sizeof(*c));
    c->nl.fd = -1;
    if (strlen(ifname) >= sizeof(c->ifname)) {
        NS_ERR("ifconf: interface name '%s' is too long", ifname);
        return -1;
    }
    strcpy(c->ifname, ifname);
    c->ifindex = (int)if_nametoindex(ifname);
    if (c->ifindex == 0) {
        NS_ERR("ifconf %s: no such interface: %s", ifname, strerror(errno));
        return -1;
    }
    c->fwmark = fwmark;
    c->table = table;
    c->rule_priority = rule_priority ? rule_priority : NS_IFCONF_RULE_PRIORITY;
    return ns_nl_open(&c->nl);
}

int ns_ifconf_up(struct ns_ifconf *c, unsigned mtu)
{
    return ns_nl_link_set(&c->nl, c->ifindex, true, mtu);
}

/* Remembers one prefix in a growable list; -1 when out of memory. */
static int remember(struct ns_ifconf_prefix **v, unsigned *n, unsigned *cap,
                    const struct ns_addr *a, unsigned plen)
{
    if (*n == *cap) {
        unsigned nc = *cap ? *cap * 2 : 8;
        struct ns_ifconf_prefix *nv = realloc(*v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[*n].addr = *a;
    (*v)[*n].plen = plen;
    (*n)++;
    return 0;
}

static void forget(struct ns_ifconf_prefix *v, unsigned *n, const struct ns_addr *a, unsigned plen)
{
    for (unsigned i = 0; i < *n; i++) {
        if (v[i].plen == plen && ns_addr_equal(&v[i].addr, a)) {
            v[i] = v[--*n];
            return;
        }
    }
}

int ns_ifconf_add_addr(struct ns_ifconf *c, const struct ns_addr *a, unsigned plen)
{
    if (ns_nl_addr(&c->nl, true, c->ifindex, a, plen) != 0 && errno != EEXIST)
        return -1;
    if (remember(&c->addrs, &c->n_addrs, &c->cap_addrs, a, plen) != 0) {
        NS_ERR("ifconf %s: out of memory", c->ifname);
        ns_nl_addr(&c->nl, false, c->ifindex, a, plen);
        return -1;
    }
    return 0;
}

int ns_ifconf_del_addr(struct ns_ifconf *c, const struct ns_addr *a, unsigned plen)
{
    forget(c->addrs, &c->n_addrs, a, plen);
    if (ns_nl_addr(&c->nl, false, c->ifindex, a, plen) != 0 && errno != EADDRNOTAVAIL &&
        errno != ENOENT && errno != ENODEV)
        return -1;
    return 0;
}

static int ensure_rule(struct ns_ifconf *c, int family)
{
    bool *have = family == AF_INET ? &c->rule4 : &c->rule6;
    if (*have)
        return 0;
    /* EEXIST: left by an earlier run that did not clean up; the same mark,
     * table and priority make it ours, so it is adopted and removed at the
     * end like a new one. */
    if (ns_nl_rule(&c->nl, true, family, c->fwmark, c->table, c->rule_priority) != 0 &&
        errno != EEXIST)
        return -1;
    *have = true;
    return 0;
}

int ns_ifconf_add_route(struct ns_ifconf *c, const struct ns_addr *dst, unsigned plen,
                        const struct ns_addr *src)
{
    if (ensure_rule(c, dst->family) != 0)
        return -1;
    if (ns_nl_route(&c->nl, true, c->ifindex, dst, plen, c->table, src) != 0 && errno != EEXIST)
        return -1;
    if (remember(&c->routes, &c->n_routes, &c->cap_routes, dst, plen) != 0) {
        NS_ERR("ifconf %s: out of memory", c->ifname);
        ns_nl_route(&c->nl, false, c->ifindex, dst, plen, c->table, NULL);
        return -1;
    }
    return 0;
}

int ns_ifconf_del_route(struct ns_ifconf *c, const struct ns_addr *dst, unsigned plen)
{
    forget(c->routes, &c->n_routes, dst, plen);
    if (ns_nl_route(&c->nl, false, c->ifindex, dst, plen, c->table, NULL) != 0 && errno != ESRCH &&
        errno != ENOENT && errno != ENODEV)
        return -1;
    return 0;
}

void ns_ifconf_cleanup(struct ns_ifconf *c)
{
    if (c->nl.fd >= 0) {
        /* Routes and addresses vanish with a TUN device that is already
         * gone; the errors that says so are expected and not logged. */
        for (unsigned i = 0; i < c->n_routes; i++)
            ns_nl_route(&c->nl, false, c->ifindex, &c->routes[i].addr, c->routes[i].plen, c->table,
                        NULL);
        for (unsigned i = 0; i < c->n_addrs; i++)
            ns_nl_addr(&c->nl, false, c->ifindex, &c->addrs[i].addr, c->addrs[i].plen);
        if (c->rule4)
            ns_nl_rule(&c->nl, false, AF_INET, c->fwmark, c->table, c->rule_priority);
        if (c->rule6)
            ns_nl_rule(&c->nl, false, AF_INET6, c->fwmark, c->table, c->rule_priority);
    }
    ns_nl_close(&c->nl);
    free(c->addrs);
    free(c->routes);
    c->addrs = c->routes = NULL;
    c->n_addrs = c->n_routes = c->cap_addrs = c->cap_routes = 0;
    c->rule4 = c->rule6 = false;
}

int ns_ifconf_set_forwarding(int family, bool on, bool *was)
{
    const char *path = family == AF_INET6 ? "/proc/sys/net/ipv6/conf/all/forwarding"
                                          : "/proc/sys/net/ipv4/ip_forward";
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        NS_ERR("forwarding: open %s: %s", path, strerror(errno));
        return -1;
    }
    char old = '0';
    if (read(fd, &old, 1) != 1) {
        NS_ERR("forwarding: read %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (was)
        *was = old != '0';
    const char *v = on ? "1\n" : "0\n";
    if (pwrite(fd, v, 2, 0) != 2) {
        NS_ERR("forwarding: write %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    NS_INFO("forwarding: %s = %c", path, v[0]);
    return 0;
}
