/* A small rtnetlink client: the handful of requests natsecd makes to set
 * up its TUN device (link state and MTU, addresses, routes in a table, and
 * the policy rule that keeps natsecd's own marked packets out of that
 * table). Each request waits for the kernel's acknowledgement.
 *
 * Every function returns 0, or -1 with errno set to the kernel's answer
 * and the reason logged (with the kernel's extended message when it gives
 * one). The answers an idempotent caller expects (EEXIST on add; ENOENT,
 * ESRCH or EADDRNOTAVAIL on delete) are logged at debug level only. */
#ifndef NATSEC_NET_NETLINK_H
#define NATSEC_NET_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/addr.h"

struct ns_nl {
    int fd; /* -1 when closed */
    uint32_t seq;
};

int ns_nl_open(struct ns_nl *nl);
void ns_nl_close(struct ns_nl *nl);

/* Sets the link up or down, and its MTU unless mtu is 0. */
int ns_nl_link_set(struct ns_nl *nl, int ifindex, bool up, unsigned mtu);
/* Adds or deletes address a/plen on the interface. */
int ns_nl_addr(struct ns_nl *nl, bool add, int ifindex, const struct ns_addr *a, unsigned plen);
/* Adds or deletes the route dst/plen through the interface (scope link) in
 * table; src (may be NULL) is the preferred source address. */
int ns_nl_route(struct ns_nl *nl, bool add, int ifindex, const struct ns_addr *dst, unsigned plen,
                uint32_t table, const struct ns_addr *src);
/* Adds or deletes the rule "priority P: not fwmark M lookup T" of family
 * AF_INET or AF_INET6: everything except natsecd's own packets (marked
 * M) consults table T first. */
int ns_nl_rule(struct ns_nl *nl, bool add, int family, uint32_t fwmark, uint32_t table,
               uint32_t priority);

#endif
