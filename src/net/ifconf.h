/* The host configuration natsecd makes for its TUN device, remembered so
 * that all of it is undone on shutdown: MTU and link up, addresses, routes
 * into the device in a dedicated table, and one policy rule per address
 * family, "not fwmark M lookup T", so that natsecd's own packets (its
 * sockets carry mark M) never follow a route into the tunnel while
 * everything else does. The rule goes in with the first route of its
 * family. */
#ifndef NATSEC_NET_IFCONF_H
#define NATSEC_NET_IFCONF_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/netlink.h"
#include "util/addr.h"

#define NS_IFCONF_RULE_PRIORITY 220 /* before main (32766), after local (0) */

struct ns_ifconf_prefix {
    struct ns_addr addr;
    unsigned plen;
};

struct ns_ifconf {
    struct ns_nl nl;
    int ifindex;
    char ifname[IF_NAMESIZE];
    uint32_t fwmark;
    uint32_t table;
    uint32_t rule_priority;
    bool rule4, rule6; /* installed by us */
    struct ns_ifconf_prefix *addrs, *routes;
    unsigned n_addrs, n_routes, cap_addrs, cap_routes;
};

/* Opens netlink for the interface ifname (which must exist: the TUN is
 * opened first). rule_priority 0 means NS_IFCONF_RULE_PRIORITY. 0 or -1. */
int ns_ifconf_init(struct ns_ifconf *c, const char *ifname, uint32_t fwmark, uint32_t table,
                   uint32_t rule_priority);
/* Sets the MTU (0 leaves it) and brings the link up. */
int ns_ifconf_up(struct ns_ifconf *c, unsigned mtu);
/* Client: its virtual IP as a /32. Gateway: an address of the pool with
 * the pool's length, which also routes the whole pool into the device
 * (in the main table). */
int ns_ifconf_add_addr(struct ns_ifconf *c, const struct ns_addr *a, unsigned plen);
int ns_ifconf_del_addr(struct ns_ifconf *c, const struct ns_addr *a, unsigned plen);
/* Routes dst/plen into the device in the table (installing the policy rule
 * of that family first), with src as preferred source (may be NULL). */
int ns_ifconf_add_route(struct ns_ifconf *c, const struct ns_addr *dst, unsigned plen,
                        const struct ns_addr *src);
int ns_ifconf_del_route(struct ns_ifconf *c, const struct ns_addr *dst, unsigned plen);
/* Removes every route, address and rule this ns_ifconf added, and closes
 * netlink. Call it before closing the TUN device (whose routes would go
 * with it anyway). Safe to call twice, and after a failed init. */
void ns_ifconf_cleanup(struct ns_ifconf *c);

/* Gateway: turns IP forwarding of family AF_INET or AF_INET6 on or off
 * (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding), storing the old
 * value in *was (may be NULL) so that it can be restored. 0 or -1. */
int ns_ifconf_set_forwarding(int family, bool on, bool *was);

#endif
