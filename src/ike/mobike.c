/* MOBIKE (RFC 4555), both roles, for a single-homed gateway and a client
 * that moves.
 *
 * Negotiation (3.3): both sides put MOBIKE_SUPPORTED in IKE_AUTH; the
 * gateway adds NO_ADDITIONAL_ADDRESSES, it has no other address to offer
 * (3.6). Transport-mode CHILD_SAs do not move (1.1), so an IKE SA with one
 * keeps MOBIKE off.
 *
 * The client decides where the SA goes (3.5): when the daemon sees the
 * route to the gateway use another source address, the IKE SA and its
 * CHILD_SAs move to it at once and an INFORMATIONAL request with
 * UPDATE_SA_ADDRESSES and NAT detection goes from it (on the NAT-T port,
 * so a NAT on the new path passes it, 3.5), as soon as the window is free;
 * a request already out is retransmitted to and from the new endpoints.
 * The gateway's answer carries its NAT detection, which says whether ESP
 * is in UDP (a NAT either side) or plain protocol 50 (none).
 *
 * The gateway moves the IKE SA and every CHILD_SA only for such a request
 * that verified and carries the next message ID: a copy of the last one
 * gets the cached answer and moves nothing, an older one is dropped, one
 * that did not verify is dropped (all counted by the dispatcher,
 * engine.c). It answers with its own NAT detection, and checks that the
 * new address answers (an INFORMATIONAL with COOKIE2, 3.10) before it
 * counts it proven; one that never answers ends the IKE SA like any
 * unanswered request. ESP goes to the new address from the update on, as
 * the request was authenticated with the IKE SA's keys and losing a
 * second of traffic per move is what MOBIKE is there to avoid; but until
 * the check passes only a small budget of it (ops->path_verified, the
 * SAD's NS_SAD_UNVERIFIED_BUDGET), so a peer cannot aim the SA's traffic
 * at an address that never asked for it (3.10, 5.2). */
#include <string.h>

#include "crypto/rand.h"
#include "ike/engine_mobike.h"
#include "ike/ike_sa.h"

bool ns_eng_mobike_state(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_mobike_state st,
                         const char *why)
{
    if (sa->mob.st == st)
        return true;
    return ns_mobike_state_move(&sa->mob.st, st, sa->id, why, &e->ctr.illegal_transitions);
}

void ns_eng_mobike_auth_add(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                            struct ns_ike_builder *b)
{
    if (!e->conf->mobike || sa->want_transport)
        return;
    if (sa->initiator) {
        ns_ike_add_notify(b, 0, NULL, 0, NS_N_MOBIKE_SUPPORTED, NULL, 0);
        return;
    }
    if (sa->mob.st == NS_MOBIKE_OFF)
        return;
    ns_ike_add_notify(b, 0, NULL, 0, NS_N_MOBIKE_SUPPORTED, NULL, 0);
    ns_ike_add_notify(b, 0, NULL, 0, NS_N_NO_ADDITIONAL_ADDRESSES, NULL, 0);
}

void ns_eng_mobike_auth_seen(struct ns_ike_engine *e, struct ns_ikesa *sa,
                             const struct ns_ike_payloads *in, bool transport)
{
    if (!e->conf->mobike || transport || sa->mob.st != NS_MOBIKE_OFF ||
        !ns_ike_find_notify(in, NS_N_MOBIKE_SUPPORTED))
        return;
    sa->mob.proven = sa->remote;
    ns_eng_mobike_state(e, sa, NS_MOBIKE_IDLE, "both sides support MOBIKE");
}

void ns_eng_mobike_read(const struct ns_ike_payloads *in, struct ns_mobike_req *r)
{
    memset(r, 0, sizeof(*r));
    for (unsigned i = 0; i < in->n; i++) {
        struct ns_ike_notify n;
        if (in->p[i].type != NS_PL_NOTIFY || ns_ike_parse_notify(&in->p[i], &n) != NS_IKE_OK)
            continue;
        if (n.type == NS_N_UPDATE_SA_ADDRESSES) {
            r->update = true;
        } else if (n.type == NS_N_COOKIE2 && !r->cookie2 && n.len >= 8 && n.len <= 64) {
            r->cookie2 = n.data;
            r->cookie2_len = n.len;
        }
    }
}

/* Every CHILD_SA of sa follows sa's endpoints and encapsulation: the
 * records, a re-keyed one's directions not installed yet, the data plane. */
static void children_follow(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    bool encap = ns_eng_udp_encap(e, sa);
    for (unsigned i = 0; i < sa->n_child; i++) {
        struct ns_ike_child *c = &sa->child[i];
        c->udp_encap = encap;
        for (unsigned k = 0; c->pending && k < 2; k++) {
            c->pending[k].local = sa->local;
            c->pending[k].peer = sa->remote;
            c->pending[k].udp_encap = encap;
        }
    }
    if (sa->n_child == 0)
        return;
    if (e->ops.path_changed)
        e->ops.path_changed(e->ops.ctx, sa->ike_sa_id, &sa->local, &sa->remote, encap);
    else if (e->ops.peer_moved)
        e->ops.peer_moved(e->ops.ctx, sa->ike_sa_id, &sa->local, &sa->remote);
}

static void path_verified(struct ns_ike_engine *e, struct ns_ikesa *sa, bool verified)
{
    sa->mob.unchecked = !verified;
    if (sa->n_child && e->ops.path_verified)
        e->ops.path_verified(e->ops.ctx, sa->ike_sa_id, verified);
}

static void count_update(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->mob.updates++;
    sa->mob.last_update_ms = e->now;
    e->ctr.mobike_updates++;
}

void ns_eng_mobike_take(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                        const struct ns_ike_payloads *in, const struct ns_mobike_req *r)
{
    char id[NS_CONF_ID_STRLEN], a[NS_ENDPOINT_STRLEN], b[NS_ENDPOINT_STRLEN];
    if (!r->update)
        return;
    /* Only the original initiator moves an IKE SA (3.5): the client, also
     * in an IKE SA a re-key made, whoever started that; and not one whose
     * MOBIKE is off: RFC 7296 2.23 alone applies there. */
    bool from_responder = e->conf->role != NS_CONF_GATEWAY;
    if (from_responder || sa->mob.st == NS_MOBIKE_OFF) {
        e->ctr.mobike_refused++;
        NS_WARN("ike: IKE SA %016llx: UPDATE_SA_ADDRESSES from '%s' ignored (%s)",
                (unsigned long long)sa->id, ns_eng_id_str(&sa->remote_id, id),
                from_responder ? "sent by the responder" : "MOBIKE is off");
        return;
    }
    bool was_encap = ns_eng_udp_encap(e, sa);
    struct ns_endpoint was_local = sa->local, was_remote = sa->remote;
    ns_endpoint_str(&sa->remote, a);
    sa->local = rx->local;
    sa->remote = rx->remote;
    ns_eng_natd_eval(e, sa, in, sa->spi_r, &rx->remote, &rx->local);
    bool encap = ns_eng_udp_encap(e, sa);
    bool changed = encap != was_encap || !ns_endpoint_equal(&was_local, &sa->local) ||
                   !ns_endpoint_equal(&was_remote, &sa->remote);
    if (!changed && !sa->mob.moved_since_update) {
        /* Where it was already (a client that checks its NAT mapping). */
        NS_DBG("ike: IKE SA %016llx: UPDATE_SA_ADDRESSES from where the peer is already",
               (unsigned long long)sa->id);
        return;
    }
    sa->mob.moved_since_update = false;
    count_update(e, sa);
    NS_INFO("ike: IKE SA %016llx: '%s' moved from %s to %s (MOBIKE), NAT: peer %s, local %s, "
            "ESP %s%s",
            (unsigned long long)sa->id, ns_eng_id_str(&sa->remote_id, id), a,
            ns_endpoint_str(&sa->remote, b), sa->nat_remote ? "yes" : "no",
            sa->nat_local ? "yes" : "no", encap ? "in UDP" : "as protocol 50",
            encap != was_encap ? " (switched)" : "");
    if (changed) /* else an authenticated packet moved the data plane already */
        children_follow(e, sa);
    if (ns_endpoint_equal(&sa->mob.proven, &sa->remote)) {
        path_verified(e, sa, true);
        return;
    }
    path_verified(e, sa, false);
    if (sa->mob.st == NS_MOBIKE_IDLE || sa->mob.st == NS_MOBIKE_CHECK_SENT)
        ns_eng_mobike_state(e, sa, NS_MOBIKE_CHECK_WAIT, "peer moved to an address not checked");
}

int ns_eng_mobike_answer(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_mobike_req *r, struct ns_ike_builder *b)
{
    if (r->update && e->conf->role == NS_CONF_GATEWAY && sa->mob.st != NS_MOBIKE_OFF &&
        ns_eng_add_natd(e, b, sa->spi_i, sa->spi_r, &rx->local, &rx->remote) != 0)
        return -1;
    if (r->cookie2)
        ns_ike_add_notify(b, 0, NULL, 0, NS_N_COOKIE2, r->cookie2, r->cookie2_len);
    return 0;
}

/* Our INFORMATIONAL request: the client's update (with NAT detection) or
 * the gateway's check (with a fresh COOKIE2). 0 or -1. */
static int send_request(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_req_kind kind)
{
    struct ns_ike_builder b;
    uint32_t id = sa->next_req_id;
    if (ns_eng_sk_begin(e, sa, &b, NS_INFORMATIONAL, false, id) != 0)
        return -1;
    if (kind == NS_REQ_MOBIKE_UPDATE) {
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_UPDATE_SA_ADDRESSES, NULL, 0);
        if (ns_eng_add_natd(e, &b, sa->spi_i, sa->spi_r, &sa->local, &sa->remote) != 0)
            return -1;
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_NO_ADDITIONAL_ADDRESSES, NULL, 0);
    } else {
        if (ns_random_bytes(sa->mob.cookie2, sizeof(sa->mob.cookie2)) != 0)
            return -1;
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE2, sa->mob.cookie2, sizeof(sa->mob.cookie2));
    }
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0 || ns_eng_request(e, sa, kind, id, e->buf, (size_t)len) != 0)
        return -1;
    sa->next_req_id++;
    return 0;
}

bool ns_eng_mobike_run(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->out.kind != NS_REQ_NONE || sa->state != NS_IKE_ST_ESTABLISHED)
        return false;
    char ep[NS_ENDPOINT_STRLEN];
    if (sa->mob.st == NS_MOBIKE_UPDATE_WAIT) {
        if (send_request(e, sa, NS_REQ_MOBIKE_UPDATE) != 0)
            return false; /* tried again when the window next frees */
        ns_eng_mobike_state(e, sa, NS_MOBIKE_UPDATE_SENT, "UPDATE_SA_ADDRESSES sent");
        NS_INFO("ike: IKE SA %016llx: UPDATE_SA_ADDRESSES sent from %s (MOBIKE)",
                (unsigned long long)sa->id, ns_endpoint_str(&sa->local, ep));
        return true;
    }
    if (sa->mob.st == NS_MOBIKE_CHECK_WAIT) {
        if (send_request(e, sa, NS_REQ_MOBIKE_CHECK) != 0)
            return false;
        ns_eng_mobike_state(e, sa, NS_MOBIKE_CHECK_SENT, "COOKIE2 check sent");
        NS_DBG("ike: IKE SA %016llx: return routability check of %s (COOKIE2)",
               (unsigned long long)sa->id, ns_endpoint_str(&sa->remote, ep));
        return true;
    }
    return false;
}

static void update_answered(struct ns_ike_engine *e, struct ns_ikesa *sa,
                            const struct ns_ike_rx *rx, const struct ns_ike_payloads *in)
{
    char ep[NS_ENDPOINT_STRLEN];
    bool was_encap = ns_eng_udp_encap(e, sa);
    ns_eng_natd_eval(e, sa, in, sa->spi_r, &rx->remote, &rx->local);
    /* The mapping the liveness checks compare with is this path's now. */
    const struct ns_ike_payload *d = ns_ike_find_notify(in, NS_N_NAT_DETECTION_DESTINATION_IP);
    struct ns_ike_notify dn;
    if (sa->natd && d && ns_ike_parse_notify(d, &dn) == NS_IKE_OK &&
        dn.len == sizeof(sa->natd->last)) {
        memcpy(sa->natd->last, dn.data, sizeof(sa->natd->last));
        sa->natd->have = true;
    }
    bool encap = ns_eng_udp_encap(e, sa);
    NS_INFO("ike: IKE SA %016llx: the gateway took our address %s (MOBIKE), NAT: local %s, "
            "peer %s, ESP %s%s",
            (unsigned long long)sa->id, ns_endpoint_str(&sa->local, ep),
            sa->nat_local ? "yes" : "no", sa->nat_remote ? "yes" : "no",
            encap ? "in UDP" : "as protocol 50", encap != was_encap ? " (switched)" : "");
    children_follow(e, sa);
}

void ns_eng_mobike_response(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                            const struct ns_ike_payloads *in)
{
    enum ns_ike_req_kind kind = sa->out.kind;
    if (kind == NS_REQ_MOBIKE_UPDATE) {
        if (sa->mob.st == NS_MOBIKE_UPDATE_SENT) {
            update_answered(e, sa, rx, in);
            ns_eng_mobike_state(e, sa, NS_MOBIKE_IDLE, "UPDATE_SA_ADDRESSES answered");
        }
        /* UPDATE_WAIT: the address changed again meanwhile; the next
         * update goes when the window frees (below). */
    } else {
        struct ns_mobike_req r;
        ns_eng_mobike_read(in, &r);
        bool ok = r.cookie2 && r.cookie2_len == sizeof(sa->mob.cookie2) &&
                  memcmp(r.cookie2, sa->mob.cookie2, sizeof(sa->mob.cookie2)) == 0;
        char ep[NS_ENDPOINT_STRLEN];
        if (ok) {
            e->ctr.mobike_checks++;
            sa->mob.proven = sa->remote;
            path_verified(e, sa, true);
            NS_DBG("ike: IKE SA %016llx: %s answers (COOKIE2)", (unsigned long long)sa->id,
                   ns_endpoint_str(&sa->remote, ep));
        } else {
            e->ctr.mobike_check_failed++;
            NS_WARN("ike: IKE SA %016llx: the answer to our return routability check has not "
                    "our COOKIE2",
                    (unsigned long long)sa->id);
        }
        if (sa->mob.st == NS_MOBIKE_CHECK_SENT)
            ns_eng_mobike_state(e, sa, NS_MOBIKE_IDLE, ok ? "COOKIE2 returned" : "wrong COOKIE2");
    }
    ns_eng_request_done(e, sa); /* sends what waits (ns_eng_mobike_run first) */
}

void ns_eng_mobike_inherit(struct ns_ike_engine *e, struct ns_ikesa *fresh,
                           const struct ns_ikesa *old)
{
    fresh->mob.updates = old->mob.updates;
    fresh->mob.last_update_ms = old->mob.last_update_ms;
    fresh->mob.proven = old->mob.proven;
    fresh->mob.unchecked = old->mob.unchecked; /* the CHILD_SAs keep their bound */
    enum ns_mobike_state st = NS_MOBIKE_IDLE;
    if (old->mob.st == NS_MOBIKE_OFF)
        return;
    if (old->mob.st == NS_MOBIKE_UPDATE_WAIT || old->mob.st == NS_MOBIKE_UPDATE_SENT)
        st = NS_MOBIKE_UPDATE_WAIT; /* its update dies with it: the new SA sends one */
    else if (old->mob.st == NS_MOBIKE_CHECK_WAIT || old->mob.st == NS_MOBIKE_CHECK_SENT)
        st = NS_MOBIKE_CHECK_WAIT;
    ns_eng_mobike_state(e, fresh, st, "IKE SA re-keyed");
}

/* ---- client ---- */


/* At most this many other addresses are tried per retransmission. */
#define MAX_PATHS 8

/* Whether sa is the client's IKE SA, established, with MOBIKE on. */
static bool mobile_client(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    /* The client is the original initiator (RFC 4555 3.5), also of an IKE
     * SA the gateway's re-key made. */
    return sa == e->client_sa && sa->state == NS_IKE_ST_ESTABLISHED &&
           sa->mob.st != NS_MOBIKE_OFF;
}

void ns_eng_mobike_probe_paths(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (!mobile_client(e, sa) || !e->ops.local_addrs || !sa->out.msg.p)
        return;
    struct ns_addr a[MAX_PATHS];
    unsigned n = e->ops.local_addrs(e->ops.ctx, sa->remote.addr.family, a, MAX_PATHS);
    struct ns_endpoint to = {.addr = sa->remote.addr, .port = e->conf->natt_port};
    char ep[NS_ADDR_STRLEN];
    for (unsigned i = 0; i < n && i < MAX_PATHS; i++) {
        if (a[i].family != sa->remote.addr.family || ns_addr_equal(&a[i], &sa->local.addr))
            continue;
        struct ns_endpoint from = {.addr = a[i], .port = e->conf->natt_port};
        e->ctr.mobike_path_probes++;
        NS_DBG("ike: IKE SA %016llx: no answer yet, trying the path from %s (MOBIKE)",
               (unsigned long long)sa->id, ns_addr_str(&a[i], ep));
        ns_eng_send(e, &from, &to, sa->out.msg.p, sa->out.msg.len);
    }
}

void ns_eng_mobike_path_answered(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_rx *rx)
{
    if (!mobile_client(e, sa) || ns_addr_equal(&rx->local.addr, &sa->local.addr))
        return;
    char a[NS_ENDPOINT_STRLEN], b[NS_ENDPOINT_STRLEN];
    NS_INFO("ike: IKE SA %016llx: the gateway answers through %s, not %s: moving there (MOBIKE)",
            (unsigned long long)sa->id, ns_endpoint_str(&rx->local, a),
            ns_endpoint_str(&sa->local, b));
    e->ctr.mobike_path_switches++;
    sa->local = rx->local;
    sa->remote = rx->remote;
    count_update(e, sa);
    children_follow(e, sa);
    ns_eng_mobike_state(e, sa, NS_MOBIKE_UPDATE_WAIT, "another path answered");
}

void ns_eng_mobike_nat_moved(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (!mobile_client(e, sa) || !sa->nat_local || sa->mob.st != NS_MOBIKE_IDLE)
        return;
    ns_eng_mobike_state(e, sa, NS_MOBIKE_UPDATE_WAIT, "our NAT may have a new mapping");
}

/* The client's public entry points: an update for why, sent now when the
 * window is free; ends the log context ns_eng_log_sa opened. */
static void send_update(struct ns_ike_engine *e, struct ns_ikesa *sa, const char *why)
{
    count_update(e, sa);
    ns_eng_mobike_state(e, sa, NS_MOBIKE_UPDATE_WAIT, why);
    ns_eng_mobike_run(e, sa);
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
}

int ns_ike_engine_mobike_move(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                              uint64_t now_ms)
{
    return ns_ike_engine_mobike_move_to(e, local_addr, NULL, now_ms);
}

int ns_ike_engine_mobike_move_to(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                                 const struct ns_addr *gateway, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = e->client_sa;
    if (!sa || !local_addr || !local_addr->family || !mobile_client(e, sa) ||
        (gateway && gateway->family != local_addr->family))
        return -1;
    bool new_gw = gateway && !ns_addr_equal(gateway, &sa->remote.addr);
    if (ns_addr_equal(&sa->local.addr, local_addr) && !new_gw)
        return 1;
    ns_eng_log_sa(sa);
    char a[NS_ADDR_STRLEN], b[NS_ADDR_STRLEN], g[NS_ADDR_STRLEN];
    NS_INFO("ike: IKE SA %016llx: our address towards the gateway is now %s (was %s)%s%s",
            (unsigned long long)sa->id, ns_addr_str(local_addr, a), ns_addr_str(&sa->local.addr, b),
            new_gw ? ", the gateway's " : "", new_gw ? ns_addr_str(gateway, g) : "");
    sa->local.addr = *local_addr;
    if (new_gw)
        sa->remote.addr = *gateway;
    /* The NAT-T port on both sides: a NAT on the new path passes it, and
     * the gateway answers there (RFC 4555 3.5, RFC 7296 2.23). */
    sa->local.port = e->conf->natt_port;
    sa->remote.port = e->conf->natt_port;
    /* Until the answer says otherwise the encapsulation stays; the data
     * plane sends from the new address now. */
    children_follow(e, sa);
    send_update(e, sa, "local address changed");
    return 0;
}

int ns_ike_engine_mobike_update(struct ns_ike_engine *e, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = e->client_sa;
    if (!sa || !mobile_client(e, sa))
        return -1;
    ns_eng_log_sa(sa);
    NS_INFO("ike: IKE SA %016llx: the path to the gateway changed: telling it (MOBIKE)",
            (unsigned long long)sa->id);
    send_update(e, sa, "the path to the gateway changed");
    return 0;
}

struct ns_addr ns_ike_engine_client_local(const struct ns_ike_engine *e)
{
    struct ns_addr none;
    memset(&none, 0, sizeof(none));
    return e->client_sa ? e->client_sa->local.addr : none;
}
