/* Host-to-host ESP transport mode (R2, R13) on the host: which packets go
 * into the TUN device, one transport-mode peer per address, and the status.
 *
 * A transport-mode CHILD_SA protects everything between this host's
 * address and the peer's (its selectors are those two single addresses,
 * as the IKE layer substituted them through a NAT: RFC 7296 2.23.1). So
 * the peer's address is routed into the TUN device, in conf.route_table
 * with this host's address as preferred source, under the "not fwmark"
 * policy rule that keeps natsecd's own IKE and ESP sockets (which carry
 * the mark) on the ordinary routes. The route lives as long as some
 * transport-mode CHILD_SA with that peer address does (a re-key installs
 * the new SA before the old one goes).
 *
 * Two hosts behind one NAT both appear here with the NAT's public address:
 * their selectors would be identical and no outgoing packet could be told
 * apart (the inner ports are the hosts' own, which may collide, and a flow
 * this host starts has no owner yet). So a second transport-mode CHILD_SA
 * for an address already held by another IKE SA from another endpoint is
 * refused with a clear error; tunnel mode, where each host has its own
 * virtual IP, is the answer for them (README, "Transport mode").
 *
 * Few hosts talk in transport mode at once, so the records are a plain
 * array searched linearly. */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "util/log.h"

struct tp_rec {
    uint32_t spi_in;
    uint64_t ike_sa_id;
    struct ns_addr peer_addr;  /* the peer's selector address, routed into TUN */
    struct ns_addr local_addr; /* ours: the routes' preferred source */
    struct ns_endpoint peer;   /* outer endpoint at installation */
};

struct nsd_transport {
    struct tp_rec *r;
    size_t n, cap;
};

static unsigned host_plen(const struct ns_addr *a)
{
    return a->family == AF_INET ? 32 : 128;
}

static struct tp_rec *find_addr(struct nsd_transport *t, const struct ns_addr *a)
{
    for (size_t i = 0; i < t->n; i++)
        if (ns_addr_equal(&t->r[i].peer_addr, a))
            return &t->r[i];
    return NULL;
}

static struct tp_rec *add_rec(struct nsd *d)
{
    if (!d->transport) {
        d->transport = calloc(1, sizeof(*d->transport));
        if (!d->transport)
            return NULL;
    }
    struct nsd_transport *t = d->transport;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        struct tp_rec *r = realloc(t->r, cap * sizeof(*r));
        if (!r)
            return NULL;
        t->r = r;
        t->cap = cap;
    }
    return &t->r[t->n++];
}

int nsd_transport_child_up(struct nsd *d, const struct ns_esp_sa_spec *in,
                           const struct ns_esp_sa_spec *out)
{
    if (out->mode != NS_ESP_TRANSPORT)
        return 0;
    char p[NS_ADDR_STRLEN], l[NS_ADDR_STRLEN], e1[NS_ENDPOINT_STRLEN], e2[NS_ENDPOINT_STRLEN];
    if (out->n_remote_ts == 0 || out->n_local_ts == 0) {
        NS_ERR("transport mode: CHILD_SA 0x%08x without selectors", in->spi);
        return -1;
    }
    /* Single addresses, as the IKE layer checked (ts_transport.h). */
    const struct ns_addr *peer = &out->remote_ts[0].lo, *local = &out->local_ts[0].lo;
    struct tp_rec *old = d->transport ? find_addr(d->transport, peer) : NULL;
    if (old && old->ike_sa_id != out->ike_sa_id && !ns_endpoint_equal(&old->peer, &out->peer)) {
        NS_ERR("transport mode: refusing the CHILD_SA of IKE SA %016llx from %s: %s is already "
               "in transport mode with IKE SA %016llx from %s. Two hosts behind one NAT share "
               "its address, so their selectors would be the same (RFC 7296 2.23.1) and this "
               "host could not tell which SA a packet to %s belongs to; use tunnel mode for "
               "them (README, 'Transport mode')",
               (unsigned long long)out->ike_sa_id, ns_endpoint_str(&out->peer, e1),
               ns_addr_str(peer, p), (unsigned long long)old->ike_sa_id,
               ns_endpoint_str(&old->peer, e2), p);
        return -1;
    }
    if (!old && ns_ifconf_add_route(&d->ifc, peer, host_plen(peer), local) != 0) {
        NS_ERR("transport mode: cannot route %s into %s", ns_addr_str(peer, p), d->tun.name);
        return -1;
    }
    struct tp_rec *r = add_rec(d);
    if (!r) {
        NS_ERR("transport mode: out of memory");
        if (!old)
            ns_ifconf_del_route(&d->ifc, peer, host_plen(peer));
        return -1;
    }
    r->spi_in = in->spi;
    r->ike_sa_id = out->ike_sa_id;
    r->peer_addr = *peer;
    r->local_addr = *local;
    r->peer = out->peer;
    if (ns_addr_len(&in->orig_src)) {
        char os[NS_ADDR_STRLEN], od[NS_ADDR_STRLEN];
        NS_INFO("transport mode: %s <-> %s through %s (table %u); a NAT is in the way: "
                "received TCP/UDP checksums are fixed from %s -> %s (RFC 3948 3.1.2)",
                ns_addr_str(local, l), ns_addr_str(peer, p), d->tun.name, d->conf.route_table,
                ns_addr_str(&in->orig_src, os), ns_addr_str(&in->orig_dst, od));
    } else {
        NS_INFO("transport mode: %s <-> %s through %s (table %u); no NAT changed the addresses: "
                "no checksum fixup",
                ns_addr_str(local, l), ns_addr_str(peer, p), d->tun.name, d->conf.route_table);
    }
    return 0;
}

void nsd_transport_child_down(struct nsd *d, uint32_t in_spi)
{
    struct nsd_transport *t = d->transport;
    for (size_t i = 0; t && i < t->n; i++) {
        if (t->r[i].spi_in != in_spi)
            continue;
        struct ns_addr peer = t->r[i].peer_addr;
        t->r[i] = t->r[--t->n];
        if (!find_addr(t, &peer) && d->ifc_open) {
            char p[NS_ADDR_STRLEN];
            ns_ifconf_del_route(&d->ifc, &peer, host_plen(&peer));
            NS_INFO("transport mode: %s no longer routed into %s", ns_addr_str(&peer, p),
                    d->tun.name);
        }
        return;
    }
}

bool nsd_transport_client_up(struct nsd *d, uint64_t ike_sa_id)
{
    struct nsd_transport *t = d->transport;
    for (size_t i = 0; t && i < t->n; i++) {
        if (t->r[i].ike_sa_id != ike_sa_id)
            continue;
        /* No virtual IP and no subnets: the route went in with the SA. */
        struct nsd_client_net *cn = &d->client;
        if (cn->up)
            nsd_routes_client_down(d);
        memset(cn, 0, sizeof(*cn));
        cn->up = true;
        cn->ike_sa_id = ike_sa_id;
        return true;
    }
    return false;
}

void nsd_transport_child_json(struct nsd *d, json_object *o, uint32_t spi_in)
{
    struct ns_esp_sa *sa = ns_sad_find_inbound(d->sad, spi_in);
    if (!sa)
        return;
    struct ns_esp_sa_info info;
    ns_esp_sa_get_info(sa, &info);
    if (info.mode != NS_ESP_TRANSPORT)
        return;
    char a[NS_ADDR_STRLEN];
    json_object *t = json_object_new_object();
    bool fix = ns_addr_len(&info.orig_src) && ns_addr_len(&info.orig_dst);
    /* The addresses the peer's checksums are computed over, from the
     * negotiation (null: no NAT changed them). */
    json_object_object_add(t, "orig_src",
                           fix ? json_object_new_string(ns_addr_str(&info.orig_src, a)) : NULL);
    json_object_object_add(t, "orig_dst",
                           fix ? json_object_new_string(ns_addr_str(&info.orig_dst, a)) : NULL);
    json_object_object_add(t, "checksum_fixup", json_object_new_boolean(fix));
    json_object_object_add(t, "csum_fixups",
                           json_object_new_int64((int64_t)info.stats.csum_fixups));
    json_object_object_add(o, "transport", t);
}

void nsd_transport_free(struct nsd *d)
{
    if (!d->transport)
        return;
    free(d->transport->r);
    free(d->transport);
    d->transport = NULL;
}
