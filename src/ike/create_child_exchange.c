/* CREATE_CHILD_SA (RFC 7296 1.3, 2.8, 2.17, 2.18, 2.25), both roles and
 * both kinds natsec uses:
 *
 *   CHILD_SA re-key:  SK {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr}
 *                 ->  SK {SA, Nr, [KEr], TSi, TSr}
 *     new SPIs, KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr) (PFS when the ESP
 *     proposal has a DH group), the same selectors and mode.
 *   IKE SA re-key:    SK {SA(IKE, new SPIi), Ni, KEi}
 *                 ->  SK {SA(IKE, new SPIr), Nr, KEr}
 *     SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); the CHILD_SAs move
 *     to the new IKE SA and the re-key's initiator deletes the old one.
 *
 * A simultaneous re-key of the same SA by both sides (2.8.1, 2.8.2) is
 * answered as usual; once both exchanges are known, the SA created by the
 * exchange with the lowest of the four nonces is redundant and is deleted
 * by the side that initiated that exchange, and the other side's new SA
 * replaces the old one. A request that meets an SA we are closing, or an
 * IKE re-key meeting our CHILD_SA re-key (and the reverse), is answered
 * TEMPORARY_FAILURE and retried later by its sender (2.25). Requests for
 * additional CHILD_SAs are refused with NO_ADDITIONAL_SAS.
 *
 * This file: parsing, error answers, the dispatch of requests and answers,
 * and what both kinds share (INVALID_KE_PAYLOAD retry, a failed re-key).
 * The CHILD_SA re-key is in create_child_rekey_child.c, the IKE SA re-key
 * in create_child_rekey_ike.c (create_child.h between them). */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ike/create_child.h"
#include "ike/proposal_select.h"

#define MAX_KE_RETRIES 2
/* A failed CHILD_SA re-key (NO_PROPOSAL_CHOSEN, ...) is tried again this
 * often, until the hard lifetime. */
#define FAILED_RETRY_MIN_MS 2000

/* ---- parsing ---- */

/* false: a payload that is there does not parse (INVALID_SYNTAX). */
static bool parse_msg(const struct ns_ike_payloads *in, struct ns_create_child_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->in = in;
    const struct ns_ike_payload *p;
    if ((p = ns_ike_find(in, NS_PL_SA))) {
        if (ns_ike_parse_sa(p, &m->sa) != NS_IKE_OK)
            return false;
        m->has_sa = true;
    }
    if ((p = ns_ike_find(in, NS_PL_NONCE)) &&
        ns_ike_parse_nonce(p, &m->nonce, &m->nonce_len) != NS_IKE_OK)
        return false;
    if ((p = ns_ike_find(in, NS_PL_KE))) {
        if (ns_ike_parse_ke(p, &m->ke) != NS_IKE_OK)
            return false;
        m->has_ke = true;
    }
    const struct ns_ike_payload *ti = ns_ike_find(in, NS_PL_TSI);
    const struct ns_ike_payload *tr = ns_ike_find(in, NS_PL_TSR);
    if (ti && tr) {
        if (ns_ike_parse_ts(ti, &m->tsi) != NS_IKE_OK || ns_ike_parse_ts(tr, &m->tsr) != NS_IKE_OK)
            return false;
        m->has_ts = true;
    }
    for (unsigned i = 0; i < in->n; i++) {
        struct ns_ike_notify n;
        if (in->p[i].type != NS_PL_NOTIFY || ns_ike_parse_notify(&in->p[i], &n) != NS_IKE_OK)
            continue;
        if (n.type == NS_N_REKEY_SA && n.protocol == NS_PROTO_ESP && n.spi_len == 4) {
            m->rekey = true;
            m->rekey_spi = ns_get_u32(n.spi);
        } else if (n.type == NS_N_USE_TRANSPORT_MODE) {
            m->transport = true;
        } else if (ns_ike_notify_is_error(n.type) && !m->error) {
            m->error = n.type;
            m->error_n = n;
        }
    }
    return true;
}

/* Our KE's shared secret with the peer's KE payload into shared (its
 * length in *len). 0 or -1 (the peer's value is not a group element). */
int ns_create_child_shared_secret(struct ns_dh *dh, const struct ns_ike_ke *ke, uint8_t *shared,
                                  size_t *len)
{
    *len = ns_dh_shared_len(ns_dh_group_of(dh));
    return ns_dh_derive(dh, ke->data, ke->len, shared, *len);
}

/* ---- responder: answers ---- */

/* An error answer: one notify, with the child's protocol and SPI for
 * CHILD_SA_NOT_FOUND (3.10.1). When not even that can be built, the
 * request's message ID is given back, so that its retransmission is
 * handled again rather than dropped as out of the window. */
void ns_create_child_answer_error(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                  const struct ns_ike_rx *rx, uint16_t type, const uint8_t *data,
                                  size_t len, uint32_t spi)
{
    char id[NS_CONF_ID_STRLEN];
    NS_INFO("ike: IKE SA %016llx: CREATE_CHILD_SA from '%s' answered %s",
            (unsigned long long)sa->id, ns_eng_id_str(&sa->remote_id, id),
            ns_eng_notify_name(type));
    struct ns_ike_builder b;
    int n = -1;
    if (ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, true, rx->msg_id) == 0) {
        uint8_t s[4];
        ns_put_u32(s, spi);
        if (spi)
            ns_ike_add_notify(&b, NS_PROTO_ESP, s, 4, type, data, len);
        else
            ns_ike_add_notify(&b, 0, NULL, 0, type, data, len);
        n = ns_eng_sk_end(e, sa, &b);
    }
    if (n > 0) {
        ns_eng_respond(e, sa, rx, e->buf, (size_t)n);
        return;
    }
    NS_ERR("ike: IKE SA %016llx: cannot build the answer to CREATE_CHILD_SA request %u; its "
           "retransmission will be handled again",
           (unsigned long long)sa->id, rx->msg_id);
    sa->peer_req_id = rx->msg_id;
}

void ns_create_child_answer_invalid_ke(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                       const struct ns_ike_rx *rx, uint16_t group)
{
    uint8_t g[2] = {(uint8_t)(group >> 8), (uint8_t)group};
    ns_create_child_answer_error(e, sa, rx, NS_N_INVALID_KE_PAYLOAD, g, 2, 0);
}

void ns_eng_create_child_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_rx *rx, const struct ns_ike_payloads *in)
{
    struct ns_create_child_msg m;
    if (!parse_msg(in, &m)) {
        ns_create_child_answer_error(e, sa, rx, NS_N_INVALID_SYNTAX, NULL, 0, 0);
        return;
    }
    if (sa->state != NS_IKE_ST_ESTABLISHED || sa->out.then_delete) {
        /* Closing it, or it was re-keyed (2.25). */
        ns_create_child_answer_error(e, sa, rx, NS_N_TEMPORARY_FAILURE, NULL, 0, 0);
        return;
    }
    if (m.has_sa && m.sa.n > 0 && m.sa.prop[0].protocol == NS_PROTO_IKE)
        ns_create_child_ike_request(e, sa, rx, &m);
    else if (m.rekey)
        ns_create_child_child_request(e, sa, rx, &m);
    else /* one CHILD_SA each */
        ns_create_child_answer_error(e, sa, rx, NS_N_NO_ADDITIONAL_SAS, NULL, 0, 0);
}

/* ---- initiator ---- */

void ns_eng_create_child_drop(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_create_child *cc = sa->create_child;
    if (!cc)
        return;
    if (cc->new_spi_in)
        e->ops.release_spi(e->ops.ctx, cc->new_spi_in);
    int i = cc->ike ? -1 : ns_eng_child_by_in(sa, cc->old_spi_in);
    if (i >= 0 && sa->child[i].cstate == NS_CHILD_REKEYING)
        ns_eng_child_state(e, &sa->child[i], NS_CHILD_INSTALLED, "our re-key of it ended");
    ns_dh_free(cc->dh);
    OPENSSL_cleanse(cc, sizeof(*cc));
    free(cc);
    sa->create_child = NULL;
}

/* ---- initiator: the answer ---- */

/* INVALID_KE_PAYLOAD: once more with the group asked for, when we offered
 * it. Returns true when the request went out again. */
bool ns_create_child_retry_ke(struct ns_ike_engine *e, struct ns_ikesa *sa,
                              const struct ns_create_child_msg *m)
{
    struct ns_create_child *cc = sa->create_child;
    if (m->error_n.len != 2 || cc->ke_retries >= MAX_KE_RETRIES)
        return false;
    uint16_t group = (uint16_t)((m->error_n.data[0] << 8) | m->error_n.data[1]);
    const struct ns_conf_peer *p = sa->peer;
    bool offered = cc->ike ? ns_sa_offers_group(p->ike, p->n_ike, group)
                           : ns_sa_offers_group(p->esp, p->n_esp, group);
    if (!offered || group == cc->ke_group)
        return false;
    struct ns_dh *dh = ns_dh_new((enum ns_dh_group)group);
    if (!dh)
        return false;
    ns_dh_free(cc->dh);
    cc->dh = dh;
    cc->ke_group = group;
    cc->ke_retries++;
    ns_msgbuf_clear(&sa->out.msg);
    sa->out.kind = NS_REQ_NONE;
    int i = cc->ike ? -1 : ns_eng_child_by_in(sa, cc->old_spi_in);
    if (!cc->ike && i < 0)
        return false;
    NS_INFO("ike: IKE SA %016llx: the peer wants DH group %u for the re-key, asking again",
            (unsigned long long)sa->id, group);
    int rc = cc->ike ? ns_create_child_send_ike_request(e, sa)
                     : ns_create_child_send_child_request(e, sa, &sa->child[i]);
    return rc == 0;
}

/* The re-key did not happen: the SA keeps going until its hard lifetime,
 * and the re-key is tried again later. */
void ns_create_child_rekey_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const char *why)
{
    struct ns_create_child *cc = sa->create_child;
    e->ctr.rekey_failures++;
    NS_WARN("ike: IKE SA %016llx: re-key of %s failed: %s", (unsigned long long)sa->id,
            cc->ike ? "the IKE SA" : "a CHILD SA", why);
    uint64_t life = (uint64_t)(cc->ike ? e->conf->ike_lifetime_s : e->conf->child_lifetime_s) * 100;
    uint64_t later = e->now + (life > FAILED_RETRY_MIN_MS ? life : FAILED_RETRY_MIN_MS);
    if (cc->ike) {
        sa->rekey_at = later;
    } else {
        int i = ns_eng_child_by_in(sa, cc->old_spi_in);
        if (i >= 0)
            sa->child[i].rekey_at = later;
    }
}

void ns_eng_create_child_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                  const struct ns_ike_payloads *in)
{
    struct ns_create_child *cc = sa->create_child;
    struct ns_create_child_msg m;
    if (!cc) {
        ns_eng_request_done(e, sa);
        return;
    }
    bool done = true;
    if (!parse_msg(in, &m))
        ns_create_child_rekey_failed(e, sa, "malformed answer");
    else
        done = cc->ike ? ns_create_child_ike_response(e, sa, &m)
                       : ns_create_child_child_response(e, sa, &m);
    if (!done)
        return; /* asked again with the DH group the peer wants */
    bool delete_old = cc->delete_old;
    ns_eng_create_child_drop(e, sa);
    if (delete_old) {
        /* Our re-key replaced it: the answer is in, now delete it. */
        ns_msgbuf_clear(&sa->out.msg);
        sa->out.kind = NS_REQ_NONE;
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_LOCAL);
        return;
    }
    ns_eng_request_done(e, sa);
}
