/* A client's gateway given by name (X8): resolved once at start, before
 * the system call filter, into at most one IPv6 and one IPv4 address, the
 * IPv6 one first as happy eyeballs (RFC 8305) prefers. The address in use
 * is d->conf.gateway, which every path towards the gateway reads. A
 * connect attempt races the two (nsd_client_connect, ike/race.c): the
 * address in use at once, the other RACE_DELAY_MS later unless the first
 * answered, and the one answered first becomes the address in use. It
 * starts on the other address when this host has no route to the one in
 * use, and when the attempt before failed or the connection was lost. */
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/natsecd.h"
#include "util/log.h"

int nsd_gateway_resolve(struct nsd *d)
{
    const char *name = d->conf.gateway_name;
    d->n_gw_cand = d->gw_cur = 0;
    if (!name[0])
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        NS_ERR("gateway %s: %s", name, gai_strerror(rc));
        return -1;
    }
    struct ns_endpoint v6 = {.port = 0}, v4 = {.port = 0};
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        struct ns_endpoint ep;
        if (ns_endpoint_from_sockaddr(&ep, ai->ai_addr, ai->ai_addrlen) != 0)
            continue;
        struct ns_endpoint *slot = ep.addr.family == AF_INET6 ? &v6 : &v4;
        if (!slot->addr.family)
            *slot = ep;
    }
    freeaddrinfo(res);
    if (v6.addr.family)
        d->gw_cand[d->n_gw_cand++] = v6.addr;
    if (v4.addr.family)
        d->gw_cand[d->n_gw_cand++] = v4.addr;
    if (d->n_gw_cand == 0) {
        NS_ERR("gateway %s: no IPv4 or IPv6 address", name);
        return -1;
    }
    d->conf.gateway = d->gw_cand[0];
    char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN];
    NS_INFO("gateway %s is %s%s%s", name, ns_addr_str(&d->gw_cand[0], a),
            d->n_gw_cand > 1 ? ", then " : "",
            d->n_gw_cand > 1 ? ns_addr_str(&d->gw_cand[1], b) : "");
    return 0;
}

bool nsd_gateway_next(struct nsd *d)
{
    if (d->n_gw_cand < 2)
        return false;
    d->gw_cur = (d->gw_cur + 1) % d->n_gw_cand;
    d->conf.gateway = d->gw_cand[d->gw_cur];
    char a[NS_ADDR_STRLEN];
    NS_INFO("gateway %s: trying %s", d->conf.gateway_name, ns_addr_str(&d->conf.gateway, a));
    return true;
}

bool nsd_gateway_alt(struct nsd *d, struct ns_addr *gw, struct ns_addr *local)
{
    if (d->n_gw_cand < 2)
        return false;
    *gw = d->gw_cand[(d->gw_cur + 1) % d->n_gw_cand];
    return nsd_local_addr_towards(d, gw, local, true) == 0;
}

void nsd_gateway_use(struct nsd *d, const struct ns_addr *gw)
{
    for (unsigned i = 0; i < d->n_gw_cand; i++) {
        if (ns_addr_equal(&d->gw_cand[i], gw)) {
            d->gw_cur = i;
            d->conf.gateway = *gw;
            char a[NS_ADDR_STRLEN];
            NS_INFO("gateway %s: using %s", d->conf.gateway_name, ns_addr_str(gw, a));
        }
    }
}
