/* The first CHILD_SA, negotiated inside IKE_AUTH (RFC 7296 1.2, 2.9,
 * 2.17), both roles; the exchange itself is in ike/auth_exchange.c.
 *
 * The client proposes its traffic selectors (in tunnel mode any address
 * of its family to its configured subnets) with a configuration request,
 * then checks that the gateway's answer is a proposal it offered, a
 * virtual IP, and selectors within what it asked, and installs the
 * CHILD_SA.
 *
 * The gateway grants a virtual IP from the pool (R6), the ESP proposal,
 * the traffic selectors narrowed to {virtual IP} <-> (allowed subnets ∩
 * what was asked) (R9), an inbound SPI, and installs it before answering.
 *
 * Transport mode (USE_TRANSPORT_MODE, R13) is host to host: no
 * configuration payload and no virtual IP; the selectors are the two
 * hosts' own addresses, substituted through a NAT as RFC 7296 2.23.1 says
 * (ts_transport.h), and the addresses as received become the original
 * addresses of the checksum fixup (R2). */
#include <stdlib.h>
#include <string.h>

#include "ike/auth_child.h"
#include "ike/auth_eap.h"
#include "ike/proposal_select.h"
#include "ike/ts_narrow.h"
#include "ike/ts_transport.h"

static bool has_notify(const struct ns_ike_payloads *pl, uint16_t type)
{
    return ns_ike_find_notify(pl, type) != NULL;
}

/* ================= initiator (client) ================= */

/* Whether a client's [peer] section routes IPv6 into the tunnel: then it
 * asks for an IPv6 virtual IP too (X8). */
static bool peer_wants_ipv6(const struct ns_conf_peer *p)
{
    if (p->vip6_prefix)
        return true;
    for (unsigned i = 0; i < p->n_subnets; i++)
        if (p->subnets[i].lo.family == AF_INET6)
            return true;
    return false;
}

static void ts_any(struct ns_ts *ts, uint8_t family)
{
    struct ns_addr any;
    memset(&any, 0, sizeof(any));
    any.family = family;
    ns_ts_from_addr(ts, &any);
    memset(ts->hi.a, 0xff, ns_addr_len(&any));
}

static void client_traffic_selectors(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                                     struct ns_ike_prop_ts *pt)
{
    /* TSi: any address of each family we ask a virtual IP of, whatever the
     * outer family (an IPv6 path carries IPv4 inside and the reverse); the
     * gateway narrows them to the virtual IPs it gives us. TSr: the subnets
     * we route into the tunnel. */
    (void)e;
    const struct ns_conf_peer *p = sa->peer;
    pt->n_tsi = 0;
    ts_any(&pt->tsi[pt->n_tsi++], AF_INET);
    if (peer_wants_ipv6(p))
        ts_any(&pt->tsi[pt->n_tsi++], AF_INET6);
    pt->n_tsr = p->n_subnets < NS_CONF_MAX_SUBNETS ? p->n_subnets : NS_CONF_MAX_SUBNETS;
    memcpy(pt->tsr, p->subnets, pt->n_tsr * sizeof(struct ns_ts));
    if (pt->n_tsr == 0) {
        pt->tsr[0] = pt->tsi[0];
        pt->n_tsr = 1;
    }
}

/* Transport mode: TSi our own address, TSr the gateway's as we send to it
 * (2.23.1: IP1 and IPN2), every protocol and port. */
static void client_transport_selectors(const struct ns_ikesa *sa, struct ns_ike_prop_ts *pt)
{
    ns_ts_from_addr(&pt->tsi[0], &sa->local.addr);
    ns_ts_from_addr(&pt->tsr[0], &sa->remote.addr);
    pt->n_tsi = 1;
    pt->n_tsr = 1;
}

static struct ns_ts_transport_view transport_view(const struct ns_ikesa *sa)
{
    struct ns_ts_transport_view v = {
        .local = sa->local.addr,
        .remote = sa->remote.addr,
        .nat_local = sa->nat_local,
        .nat_remote = sa->nat_remote,
    };
    return v;
}

int ns_eng_auth_child_propose(const struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (!sa->prop && !(sa->prop = calloc(1, sizeof(*sa->prop))))
        return -1;
    if (sa->want_transport)
        client_transport_selectors(sa, sa->prop);
    else
        client_traffic_selectors(e, sa, sa->prop);
    return 0;
}

#define CP_IP6_ADDR_LEN NS_IKE_CP_IP6_ADDR_LEN

unsigned ns_eng_auth_child_want6(const struct ns_ikesa *sa)
{
    return sa->peer->vip6_prefix ? sa->peer->vip6_prefix : 128;
}

/* The CP request: an IPv4 address (the one we had, when we had one: the
 * gateway gives it back if it is free and ours, RFC 7296 3.15.1) and DNS;
 * with want6 an IPv6 address (a /128) or prefix and IPv6 DNS too (X8). */
void ns_eng_auth_child_add_cp_request(struct ns_ike_builder *b, const struct ns_addr *hint,
                                      const struct ns_addr *hint6, unsigned hint6_len,
                                      unsigned want6)
{
    struct ns_ike_cp cp;
    uint8_t addr[4], addr6[CP_IP6_ADDR_LEN];
    memset(&cp, 0, sizeof(cp));
    cp.type = NS_CFG_REQUEST;
    cp.attr[0].type = NS_CP_INTERNAL_IP4_ADDRESS;
    if (hint->family == AF_INET) {
        ns_put_u32(addr, ns_addr_to_ipv4(hint));
        cp.attr[0].data = addr;
        cp.attr[0].len = 4;
    }
    cp.attr[1].type = NS_CP_INTERNAL_IP4_DNS;
    cp.n = 2;
    if (want6) {
        struct ns_ike_cp_attr *a = &cp.attr[cp.n++];
        a->type = NS_CP_INTERNAL_IP6_ADDRESS;
        memset(addr6, 0, sizeof(addr6));
        if (hint6 && hint6->family == AF_INET6 && hint6_len == want6)
            memcpy(addr6, hint6->a, 16);
        addr6[16] = (uint8_t)want6;
        /* An address without a hint is an empty value, as others send it;
         * a prefix always carries its length (::/len: any). */
        if (want6 < 128 || (hint6 && hint6->family == AF_INET6 && hint6_len == want6)) {
            a->data = addr6;
            a->len = CP_IP6_ADDR_LEN;
        }
        cp.attr[cp.n++].type = NS_CP_INTERNAL_IP6_DNS;
    }
    /* Split DNS (RFC 8598): the gateway may name the domains its servers
     * are for. */
    cp.attr[cp.n++].type = NS_CP_INTERNAL_DNS_DOMAIN;
    ns_ike_add_cp(b, &cp);
}

/* One attribute of a CP reply into sa: a virtual IP (the first of each
 * family counts), a DNS server or a split DNS domain; others, and wrong lengths, are ignored. */
static void client_cp_attr(struct ns_ikesa *sa, const struct ns_ike_cp_attr *a)
{
    struct ns_addr addr;
    memset(&addr, 0, sizeof(addr));
    if (a->type == NS_CP_INTERNAL_DNS_DOMAIN) {
        (void)ns_cp_dns_domain_add(sa->dns_domains, a->data, a->len);
        return;
    }
    if ((a->type == NS_CP_INTERNAL_IP4_ADDRESS || a->type == NS_CP_INTERNAL_IP4_DNS) &&
        a->len == 4) {
        ns_addr_from_ipv4(&addr, ns_get_u32(a->data));
    } else if ((a->type == NS_CP_INTERNAL_IP6_ADDRESS && a->len == CP_IP6_ADDR_LEN) ||
               (a->type == NS_CP_INTERNAL_IP6_DNS && a->len == 16)) {
        addr.family = AF_INET6;
        memcpy(addr.a, a->data, 16);
    } else {
        return;
    }
    if (a->type == NS_CP_INTERNAL_IP4_ADDRESS && !sa->vip.family) {
        sa->vip = addr;
    } else if (a->type == NS_CP_INTERNAL_IP6_ADDRESS && !sa->vip6.family) {
        /* A prefix only when we asked for one: a gateway that gives an
         * address may still send a shorter length (strongSwan: /64). */
        sa->vip6 = addr;
        sa->vip6_len = sa->peer->vip6_prefix ? (uint8_t)ns_ike_cp_ip6_prefix_len(a->data) : 128;
    } else if ((a->type == NS_CP_INTERNAL_IP4_DNS || a->type == NS_CP_INTERNAL_IP6_DNS) &&
             sa->n_dns < NS_CONF_MAX_DNS)
        sa->dns[sa->n_dns++] = addr;
}

/* The CP reply: our virtual IPs and DNS servers; at least one virtual IP. */
static bool client_cp(struct ns_ikesa *sa, const struct ns_ike_payloads *in)
{
    const struct ns_ike_payload *p = ns_ike_find(in, NS_PL_CP);
    struct ns_ike_cp cp;
    if (!p || ns_ike_parse_cp(p, &cp) != NS_IKE_OK || cp.type != NS_CFG_REPLY)
        return false;
    sa->n_dns = 0;
    sa->dns_domains[0] = '\0';
    memset(&sa->vip, 0, sizeof(sa->vip));
    memset(&sa->vip6, 0, sizeof(sa->vip6));
    for (unsigned i = 0; i < cp.n; i++)
        client_cp_attr(sa, &cp.attr[i]);
    return sa->vip.family != 0 || sa->vip6.family != 0;
}

/* The gateway's CHILD_SA answer; a reason when it is not acceptable. */
const char *ns_eng_auth_child_accept(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                     const struct ns_ike_payloads *in, struct ns_ike_ts_list *tsi,
                                     struct ns_ike_ts_list *tsr)
{
    const struct ns_ike_payload *sp = ns_ike_find(in, NS_PL_SA);
    const struct ns_ike_payload *ip = ns_ike_find(in, NS_PL_TSI);
    const struct ns_ike_payload *rp = ns_ike_find(in, NS_PL_TSR);
    struct ns_ike_sa sa_pl;
    struct ns_sa_choice ch;
    bool transport = has_notify(in, NS_N_USE_TRANSPORT_MODE);
    if (transport && !sa->want_transport)
        return "the gateway answered transport mode, we asked for tunnel mode";
    if (sa->want_transport && !transport)
        return "the gateway refused transport mode (does its [peer] section for us say "
               "'mode = transport'?)";
    if (!transport && !client_cp(sa, in))
        return "no virtual IP in the configuration reply";
    if (!sp || ns_ike_parse_sa(sp, &sa_pl) != NS_IKE_OK ||
        ns_sa_accept(sa->peer->esp, sa->peer->n_esp, NS_PROTO_ESP, &sa_pl, NS_SA_F_NO_DH, &ch) !=
            NS_SA_OK ||
        ch.spi_len != 4)
        return "the gateway chose an ESP proposal we did not offer";
    if (!ip || !rp || ns_ike_parse_ts(ip, tsi) != NS_IKE_OK ||
        ns_ike_parse_ts(rp, tsr) != NS_IKE_OK || tsi->n > NS_SA_MAX_TS || tsr->n > NS_SA_MAX_TS)
        return "the gateway's traffic selectors are not within what we asked";
    struct ns_ts_transport tt;
    if (transport) {
        /* 2.23.1: keep the answer as received (the addresses the gateway's
         * checksums are over), then substitute our own view back. */
        struct ns_ts_transport_view v = transport_view(sa);
        if (!ns_ts_transport_initiator(tsi->ts, tsi->n, tsr->ts, tsr->n, &v, &tt))
            return "the gateway's transport-mode traffic selectors are not single addresses";
        memcpy(tsi->ts, tt.tsi, tt.n_tsi * sizeof(struct ns_ts));
        tsi->n = tt.n_tsi;
        memcpy(tsr->ts, tt.tsr, tt.n_tsr * sizeof(struct ns_ts));
        tsr->n = tt.n_tsr;
    }
    if (!sa->prop ||
        !ns_ts_check_narrowed(sa->prop->tsi, sa->prop->n_tsi, tsi->ts, tsi->n, &sa->vip) ||
        !ns_ts_check_narrowed(sa->prop->tsr, sa->prop->n_tsr, tsr->ts, tsr->n, NULL))
        return "the gateway's traffic selectors are not within what we asked";
    struct ns_child_params cp = {
        .alg = ch.chosen,
        .mode = transport ? NS_ESP_TRANSPORT : NS_ESP_TUNNEL,
        .spi_in = sa->pending_spi,
        .spi_out = ns_get_u32(ch.spi),
        .local_ts = tsi->ts,
        .n_local_ts = tsi->n,
        .remote_ts = tsr->ts,
        .n_remote_ts = tsr->n,
    };
    if (transport) {
        cp.orig_src = tt.orig_src;
        cp.orig_dst = tt.orig_dst;
    }
    if (ns_eng_child_install(e, sa, &cp) != 0)
        return "the data plane did not take the CHILD SA";
    sa->pending_spi = 0; /* now the child's: released with it */
    return NULL;
}

/* ================= responder (gateway) ================= */

/* The address the RADIUS server assigned (Framed-IP-Address, X16): that
 * one or none; it must be a free address of the pool, which is what the
 * gateway routes into its TUN device. 0 or an error notify. */
static uint16_t gw_framed_vip(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    char a[NS_ADDR_STRLEN];
    const struct ns_addr *want = &sa->eap->framed_ip;
    if (ns_pool_take(e->pool, want, ns_eng_vip_owner(e, &sa->remote_id)) != 0) {
        NS_WARN("ike: IKE SA %016llx: the RADIUS server assigns %s, which is not a free "
                "address of the pool",
                (unsigned long long)sa->id, ns_addr_str(want, a));
        return NS_N_INTERNAL_ADDRESS_FAILURE;
    }
    sa->vip = *want;
    return 0;
}

/* The client's IPv6 virtual IP: an address, or a prefix when it asked for
 * one of length len6 < 128 and pool6 delegates (else an address: the
 * reply says which). 0, or -1 when pool6 has no room. */
static int gw_assign_vip6(struct ns_ike_engine *e, struct ns_ikesa *sa,
                          const struct ns_addr *prefer6, unsigned len6, uint64_t owner)
{
    unsigned len = len6 < 128 ? ns_pool6_prefix_len(e->pool6, len6) : 0;
    if (len) {
        if (ns_pool6_alloc_prefix(e->pool6, len, prefer6, owner, &sa->vip6) == 0) {
            sa->vip6_len = (uint8_t)len;
            return 0;
        }
        NS_WARN("ike: IKE SA %016llx: pool6 has no free /%u prefix left",
                (unsigned long long)sa->id, len);
        return -1;
    }
    sa->vip6_len = 128;
    if (ns_pool6_alloc(e->pool6, prefer6, owner, &sa->vip6) == 0)
        return 0;
    NS_WARN("ike: IKE SA %016llx: the IPv6 virtual IP pool (pool6) is exhausted",
            (unsigned long long)sa->id);
    return -1;
}

/* A virtual IP for the client (R6); 0 or an error notify. */
static uint16_t gw_assign_vip(struct ns_ike_engine *e, struct ns_ikesa *sa,
                              const struct ns_ike_payloads *in, struct ns_auth_gw_child *gc)
{
    const struct ns_ike_payload *p = ns_ike_find(in, NS_PL_CP);
    struct ns_ike_cp cp;
    struct ns_addr prefer, prefer6;
    bool asked = false, asked6 = false;
    unsigned len6 = 128;
    memset(&prefer, 0, sizeof(prefer));
    memset(&prefer6, 0, sizeof(prefer6));
    if (!p || ns_ike_parse_cp(p, &cp) != NS_IKE_OK || cp.type != NS_CFG_REQUEST)
        return NS_N_FAILED_CP_REQUIRED;
    for (unsigned i = 0; i < cp.n; i++) {
        const struct ns_ike_cp_attr *a = &cp.attr[i];
        if (a->type == NS_CP_INTERNAL_IP4_ADDRESS) {
            asked = true;
            if (a->len == 4 && ns_get_u32(a->data) != 0)
                ns_addr_from_ipv4(&prefer, ns_get_u32(a->data));
        } else if (a->type == NS_CP_INTERNAL_IP6_ADDRESS) {
            asked6 = true;
            if (a->len == CP_IP6_ADDR_LEN) {
                prefer6.family = AF_INET6;
                memcpy(prefer6.a, a->data, 16);
                len6 = ns_ike_cp_ip6_prefix_len(a->data);
            }
        }
        gc->dns_asked |= a->type == NS_CP_INTERNAL_IP4_DNS;
        gc->dns6_asked |= a->type == NS_CP_INTERNAL_IP6_DNS;
        gc->domains_asked |= a->type == NS_CP_INTERNAL_DNS_DOMAIN;
    }
    /* An IPv6 address only from pool6: without one, IPv4 alone, or
     * nothing for a client that asked IPv6 alone. */
    asked6 = asked6 && e->pool6;
    if (!asked && !asked6)
        return NS_N_FAILED_CP_REQUIRED;
    uint64_t owner = ns_eng_vip_owner(e, &sa->remote_id);
    if (asked6 && gw_assign_vip6(e, sa, &prefer6, len6, owner) != 0)
        return NS_N_INTERNAL_ADDRESS_FAILURE;
    if (!asked)
        return 0;
    if (sa->eap && sa->eap->have_framed_ip)
        return gw_framed_vip(e, sa);
    if (ns_pool_alloc(e->pool, &prefer, owner, &sa->vip) != 0) {
        NS_WARN("ike: IKE SA %016llx: the virtual IP pool is exhausted",
                (unsigned long long)sa->id);
        return NS_N_INTERNAL_ADDRESS_FAILURE;
    }
    return 0;
}

/* The ESP proposal chosen from the request's SA payload for the peer, into
 * gc->choice: 0 or NO_PROPOSAL_CHOSEN. */
static uint16_t gw_choose_esp(const struct ns_ikesa *sa, const struct ns_ike_payloads *in,
                              struct ns_auth_gw_child *gc)
{
    const struct ns_conf_peer *peer = sa->peer;
    const struct ns_ike_payload *sp = ns_ike_find(in, NS_PL_SA);
    struct ns_ike_sa sa_pl;
    if (!sp || ns_ike_parse_sa(sp, &sa_pl) != NS_IKE_OK ||
        ns_sa_select(peer->esp, peer->n_esp, NS_PROTO_ESP, &sa_pl, 0, NS_SA_F_NO_DH, &gc->choice) !=
            NS_SA_OK ||
        gc->choice.spi_len != 4)
        return NS_N_NO_PROPOSAL_CHOSEN;
    return 0;
}

/* The request's TSi and TSr, both present and well formed. */
static bool gw_parse_ts(const struct ns_ike_payloads *in, struct ns_ike_ts_list *tsi,
                        struct ns_ike_ts_list *tsr)
{
    const struct ns_ike_payload *ip = ns_ike_find(in, NS_PL_TSI);
    const struct ns_ike_payload *rp = ns_ike_find(in, NS_PL_TSR);
    return ip && rp && ns_ike_parse_ts(ip, tsi) == NS_IKE_OK &&
           ns_ike_parse_ts(rp, tsr) == NS_IKE_OK;
}

/* ESP proposal and traffic selectors (R9); 0 or an error notify. */
static uint16_t gw_select(struct ns_ikesa *sa, const struct ns_ike_payloads *in,
                          struct ns_auth_gw_child *gc)
{
    const struct ns_conf_peer *peer = sa->peer;
    struct ns_ike_ts_list tsi, tsr;
    uint16_t err = gw_choose_esp(sa, in, gc);
    if (err)
        return err;
    if (!gw_parse_ts(in, &tsi, &tsr))
        return NS_N_TS_UNACCEPTABLE;
    /* No subnets configured means this identity may reach nothing: never
     * an implicit any-to-any (R9). */
    if (ns_ts_narrow_gateway(tsi.ts, tsi.n, tsr.ts, tsr.n, &sa->vip, &sa->vip6, sa->vip6_len,
                             peer->subnets, peer->n_subnets, gc->tsi, &gc->n_tsi, gc->tsr,
                             &gc->n_tsr, NS_SA_MAX_TS) != NS_TS_OK)
        return NS_N_TS_UNACCEPTABLE;
    return 0;
}

/* Transport mode (2.23.1): host to host, no virtual IP; the client's
 * selectors are its own address and ours as it knows them, substituted
 * with what this SA sees when a NAT is in the way. 0 or an error notify. */
static uint16_t gw_select_transport(struct ns_ikesa *sa, const struct ns_ike_payloads *in,
                                    struct ns_auth_gw_child *gc)
{
    struct ns_ike_ts_list tsi, tsr;
    struct ns_ts_transport tt;
    uint16_t err = gw_choose_esp(sa, in, gc);
    if (err)
        return err;
    struct ns_ts_transport_view v = transport_view(sa);
    if (!gw_parse_ts(in, &tsi, &tsr) ||
        !ns_ts_transport_responder(tsi.ts, tsi.n, tsr.ts, tsr.n, &v, &tt)) {
        char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN];
        NS_WARN("ike: IKE SA %016llx: transport mode needs TSi and TSr to be single addresses, "
                "the peer's (%s) and ours (%s) as seen through any NAT",
                (unsigned long long)sa->id, ns_addr_str(&v.remote, a), ns_addr_str(&v.local, b));
        return NS_N_TS_UNACCEPTABLE;
    }
    memcpy(gc->tsi, tt.tsi, tt.n_tsi * sizeof(struct ns_ts));
    gc->n_tsi = tt.n_tsi;
    memcpy(gc->tsr, tt.tsr, tt.n_tsr * sizeof(struct ns_ts));
    gc->n_tsr = tt.n_tsr;
    gc->orig_src = tt.orig_src;
    gc->orig_dst = tt.orig_dst;
    return 0;
}

static uint16_t gw_install(struct ns_ike_engine *e, struct ns_ikesa *sa,
                           struct ns_auth_gw_child *gc)
{
    gc->spi_in = e->ops.alloc_spi(e->ops.ctx);
    if (!gc->spi_in)
        return NS_N_NO_ADDITIONAL_SAS;
    struct ns_child_params cp = {
        .alg = gc->choice.chosen,
        .mode = gc->transport ? NS_ESP_TRANSPORT : NS_ESP_TUNNEL,
        .spi_in = gc->spi_in,
        .spi_out = ns_get_u32(gc->choice.spi),
        .local_ts = gc->tsr, /* our side: the subnets */
        .n_local_ts = gc->n_tsr,
        .remote_ts = gc->tsi, /* the client's side: its virtual IP, or its address */
        .n_remote_ts = gc->n_tsi,
        .orig_src = gc->orig_src,
        .orig_dst = gc->orig_dst,
    };
    if (ns_eng_child_install(e, sa, &cp) != 0) {
        e->ops.release_spi(e->ops.ctx, gc->spi_in);
        return NS_N_NO_ADDITIONAL_SAS;
    }
    return 0;
}

uint16_t ns_eng_auth_child_grant(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_payloads *in, struct ns_auth_gw_child *gc)
{
    uint16_t err;
    gc->transport = sa->peer->mode == NS_ESP_TRANSPORT && has_notify(in, NS_N_USE_TRANSPORT_MODE);
    if (gc->transport) {
        err = gw_select_transport(sa, in, gc);
    } else {
        if (has_notify(in, NS_N_USE_TRANSPORT_MODE)) {
            char id[NS_CONF_ID_STRLEN];
            NS_WARN("ike: IKE SA %016llx: '%s' asks for transport mode, its [peer %s] section "
                    "says tunnel: transport mode not allowed",
                    (unsigned long long)sa->id, ns_eng_id_str(&sa->remote_id, id), sa->peer->name);
        }
        err = gw_assign_vip(e, sa, in, gc);
        if (!err)
            err = gw_select(sa, in, gc);
    }
    if (!err)
        err = gw_install(e, sa, gc);
    if (err) {
        char id[NS_CONF_ID_STRLEN];
        NS_WARN("ike: IKE SA %016llx ('%s'): no CHILD SA: %s", (unsigned long long)sa->id,
                ns_eng_id_str(&sa->remote_id, id), ns_eng_notify_name(err));
        ns_eng_vip_release(e, sa);
    }
    return err;
}

void ns_eng_auth_child_add_cp_reply(struct ns_ike_engine *e, struct ns_ike_builder *b,
                                    const struct ns_ikesa *sa, const struct ns_auth_gw_child *gc)
{
    uint8_t addr[4], addr6[CP_IP6_ADDR_LEN], dns[NS_CONF_MAX_DNS][4];
    struct ns_ike_cp cp;
    memset(&cp, 0, sizeof(cp));
    cp.type = NS_CFG_REPLY;
    if (sa->vip.family) {
        ns_put_u32(addr, ns_addr_to_ipv4(&sa->vip));
        cp.attr[cp.n++] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_ADDRESS, addr, 4};
    }
    if (sa->vip6.family) {
        memcpy(addr6, sa->vip6.a, 16);
        addr6[16] = sa->vip6_len; /* 128, or the delegated prefix's */
        cp.attr[cp.n++] =
            (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP6_ADDRESS, addr6, CP_IP6_ADDR_LEN};
    }
    for (unsigned i = 0; i < e->conf->n_dns && i < NS_CONF_MAX_DNS; i++) {
        const struct ns_addr *d = &e->conf->dns[i];
        if (d->family == AF_INET && gc->dns_asked) {
            ns_put_u32(dns[i], ns_addr_to_ipv4(d));
            cp.attr[cp.n++] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_DNS, dns[i], 4};
        } else if (d->family == AF_INET6 && gc->dns6_asked) {
            cp.attr[cp.n++] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP6_DNS, d->a, 16};
        }
    }
    for (unsigned i = 0; gc->domains_asked && i < e->conf->n_dns_domains; i++) {
        const char *dom = e->conf->dns_domains[i];
        cp.attr[cp.n++] =
            (struct ns_ike_cp_attr){NS_CP_INTERNAL_DNS_DOMAIN, (const uint8_t *)dom, strlen(dom)};
    }
    ns_ike_add_cp(b, &cp);
}
