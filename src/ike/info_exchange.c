/* INFORMATIONAL exchanges (RFC 7296 1.4, 1.5, 2.4), both roles: DELETE of
 * the IKE SA (answered empty, then the SA goes), DELETE of CHILD_SAs
 * (answered with the SPIs of our own halves, 1.4.1; ours after a re-key or
 * at a hard lifetime), the liveness check (answered empty, or with NAT
 * detection when it carries some: natd_check.c), and
 * AUTHENTICATION_FAILED from an initiator that refused our AUTH (2.21.2). */
#include <string.h>

#include "ike/engine_mobike.h"
#include "ike/engine_qcd.h"
#include "ike/ike_sa.h"

#define MAX_DEL_SPIS 16

/* What a request asks for. */
struct info_req {
    bool delete_ike;
    bool auth_failed;
    uint8_t answer_spis[MAX_DEL_SPIS * 4]; /* our inbound SPIs of deleted children */
    uint16_t n_answer;
};

/* The peer deletes its inbound SPI: our outbound one of the same child. */
static void delete_children(struct ns_ike_engine *e, struct ns_ikesa *sa,
                            const struct ns_ike_delete *d, struct info_req *r)
{
    for (uint16_t k = 0; k < d->n_spi; k++) {
        uint32_t spi = ns_get_u32(d->spis + 4 * k);
        for (unsigned i = 0; i < sa->n_child; i++) {
            if (sa->child[i].spi_out != spi)
                continue;
            if (r->n_answer < MAX_DEL_SPIS)
                ns_put_u32(r->answer_spis + 4 * r->n_answer++, sa->child[i].spi_in);
            ns_eng_child_remove(e, sa, i);
            break;
        }
    }
}

static void read_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                         const struct ns_ike_payloads *in, struct info_req *r)
{
    memset(r, 0, sizeof(*r));
    for (unsigned i = 0; i < in->n; i++) {
        const struct ns_ike_payload *p = &in->p[i];
        struct ns_ike_delete d;
        struct ns_ike_notify n;
        if (p->type == NS_PL_DELETE && ns_ike_parse_delete(p, &d) == NS_IKE_OK) {
            if (d.protocol == NS_PROTO_IKE)
                r->delete_ike = true;
            else if (d.protocol == NS_PROTO_ESP && d.spi_len == 4)
                delete_children(e, sa, &d, r);
        } else if (p->type == NS_PL_NOTIFY && ns_ike_parse_notify(p, &n) == NS_IKE_OK) {
            r->auth_failed |= n.type == NS_N_AUTHENTICATION_FAILED;
        }
    }
}

void ns_eng_info_request(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_payloads *in)
{
    struct info_req r;
    struct ns_mobike_req mr;
    char id[NS_CONF_ID_STRLEN];
    read_request(e, sa, in, &r);
    ns_eng_mobike_read(in, &mr);
    ns_eng_qcd_seen(e, sa, in); /* a new token after the peer's IKE re-key */
    if (r.delete_ike || r.auth_failed) {
        /* Answer first (cached: a retransmission finds the DEAD SA). */
        ns_eng_respond_notify(e, sa, rx, NS_INFORMATIONAL, 0, NULL, 0);
        if (r.auth_failed) {
            e->ctr.auth_failures++;
            NS_WARN("ike: IKE SA %016llx: '%s' refused our AUTH (AUTHENTICATION_FAILED)",
                    (unsigned long long)sa->id, ns_eng_id_str(&sa->remote_id, id));
        } else {
            NS_INFO("ike: IKE SA %016llx: '%s' deletes the IKE SA", (unsigned long long)sa->id,
                    ns_eng_id_str(&sa->remote_id, id));
        }
        if (!r.auth_failed)
            ns_eng_life_ike_deleted(e, sa); /* a simultaneous re-key's end (2.8.2) */
        ns_eng_sa_kill(e, sa, r.auth_failed ? NS_IKE_DOWN_AUTH_FAILED : NS_IKE_DOWN_PEER_DELETE);
        return;
    }
    ns_eng_mobike_take(e, sa, rx, in, &mr);
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_INFORMATIONAL, true, rx->msg_id) != 0)
        return;
    if (r.n_answer)
        ns_ike_add_delete(&b, NS_PROTO_ESP, 4, r.answer_spis, r.n_answer);
    if (ns_eng_mobike_answer(e, sa, rx, &mr, &b) != 0)
        return;
    if (!mr.update && ns_eng_natd_check_answer(e, sa, rx, in, &b) != 0) {
        ns_eng_sa_cipher_drop(sa, true); /* as ns_eng_sk_end would */
        return;
    }
    int len = ns_eng_sk_end(e, sa, &b);
    if (len > 0)
        ns_eng_respond(e, sa, rx, e->buf, (size_t)len);
    ns_eng_mobike_run(e, sa); /* the check of a new address, when the window is free */
}

void ns_eng_info_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                          const struct ns_ike_payloads *in)
{
    if (sa->out.kind == NS_REQ_NATD_CHECK)
        ns_eng_natd_check_response(e, sa, in);
    if (sa->out.kind == NS_REQ_DPD)
        ns_eng_mobike_nat_moved(e, sa); /* the silence may have been a new mapping */
    /* Otherwise what the peer deleted of its own is known to us already. */
    if (sa->out.kind == NS_REQ_DELETE_IKE) {
        ns_eng_sa_kill(e, sa, sa->down_reason);
        return;
    }
    if (sa->out.kind == NS_REQ_DELETE_CHILD) {
        /* The peer no longer sends on them: now they go here too. */
        for (unsigned i = 0; i < sa->n_child;) {
            if (sa->child[i].cstate == NS_CHILD_DELETING)
                ns_eng_child_remove(e, sa, i);
            else
                i++;
        }
    }
    ns_eng_request_done(e, sa); /* a liveness check: last_rx is already updated */
}

/* A new SK INFORMATIONAL request with our next message ID: its length in
 * e->buf, or -1. del_ike adds a DELETE of the IKE SA, notify a notify. */
static int build_info_request(struct ns_ike_engine *e, struct ns_ikesa *sa, bool del_ike,
                              uint16_t notify, uint32_t *msg_id)
{
    struct ns_ike_builder b;
    *msg_id = sa->next_req_id;
    if (ns_eng_sk_begin(e, sa, &b, NS_INFORMATIONAL, false, *msg_id) != 0)
        return -1;
    if (del_ike)
        ns_ike_add_delete(&b, NS_PROTO_IKE, 0, NULL, 0);
    if (notify)
        ns_ike_add_notify(&b, 0, NULL, 0, notify, NULL, 0);
    int len = ns_eng_sk_end(e, sa, &b);
    if (len > 0)
        sa->next_req_id++;
    return len;
}

int ns_eng_delete_children(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->out.kind != NS_REQ_NONE || sa->n_del == 0)
        return -1;
    uint8_t spis[NS_IKE_MAX_CHILD * 4];
    for (unsigned i = 0; i < sa->n_del; i++)
        ns_put_u32(spis + 4 * i, sa->del_spis[i]);
    struct ns_ike_builder b;
    uint32_t id = sa->next_req_id;
    if (ns_eng_sk_begin(e, sa, &b, NS_INFORMATIONAL, false, id) != 0)
        return -1;
    ns_ike_add_delete(&b, NS_PROTO_ESP, 4, spis, (uint16_t)sa->n_del);
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0 || ns_eng_request(e, sa, NS_REQ_DELETE_CHILD, id, e->buf, (size_t)len) != 0)
        return -1;
    sa->next_req_id++;
    NS_DBG("ike: IKE SA %016llx: DELETE of %u CHILD SA(s) sent", (unsigned long long)sa->id,
           sa->n_del);
    sa->n_del = 0;
    return 0;
}

void ns_eng_delete_ike(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_down_reason why)
{
    if (sa->state == NS_IKE_ST_DELETING || sa->state == NS_IKE_ST_DEAD ||
        sa->out.kind == NS_REQ_DELETE_IKE)
        return;
    sa->down_reason = why;
    if (!ns_ike_state_authenticated(sa->state)) {
        ns_eng_sa_kill(e, sa, why); /* nothing authenticated to tell */
        return;
    }
    /* The tunnel stops now, whatever the peer answers. */
    ns_eng_children_down(e, sa);
    if (sa->out.kind != NS_REQ_NONE) {
        sa->out.then_delete = true; /* after the outstanding exchange (window 1) */
        return;
    }
    sa->out.then_delete = false;
    uint32_t id;
    int len = build_info_request(e, sa, true, 0, &id);
    /* A replaced or redundant SA keeps its state: its line goes on in
     * another IKE SA, and only its DELETE is left. */
    if (sa->state == NS_IKE_ST_ESTABLISHED)
        ns_eng_sa_state(e, sa, NS_IKE_ST_DELETING, ns_ike_down_reason_str(why));
    if (len < 0 || ns_eng_request(e, sa, NS_REQ_DELETE_IKE, id, e->buf, (size_t)len) != 0) {
        ns_eng_sa_kill(e, sa, why);
        return;
    }
    NS_INFO("ike: deleting IKE SA %016llx (%s)", (unsigned long long)sa->id,
            ns_ike_down_reason_str(why));
}

void ns_eng_dpd(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint32_t id;
    int len = build_info_request(e, sa, false, 0, &id);
    NS_DBG("ike: IKE SA %016llx: liveness check", (unsigned long long)sa->id);
    if (len < 0 || ns_eng_request(e, sa, NS_REQ_DPD, id, e->buf, (size_t)len) != 0)
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_TIMEOUT);
}

void ns_eng_info_notify_once(struct ns_ike_engine *e, struct ns_ikesa *sa, uint16_t notify)
{
    uint32_t id;
    int len = build_info_request(e, sa, false, notify, &id);
    if (len > 0)
        ns_eng_send(e, &sa->local, &sa->remote, e->buf, (size_t)len);
}
