/* CREATE_CHILD_SA re-key of a CHILD_SA (RFC 7296 1.3.3, 2.8, 2.8.1), both
 * roles: answering the peer's re-key, starting ours and taking its answer,
 * and resolving a simultaneous re-key of the same child by both sides.
 * Parsing, error answers and the dispatch are in create_child_exchange.c. */
#include <openssl/crypto.h>
#include <string.h>

#include "conf/proposal_parse.h"
#include "crypto/rand.h"
#include "ike/create_child.h"
#include "ike/proposal_select.h"
#include "ike/ts_narrow.h"

/* ---- responder: CHILD_SA re-key ---- */

/* Marks child i replaced by successor_in: we delete it (our re-key) or the
 * peer does. */
static void mark_rekeyed(struct ns_ike_engine *e, struct ns_ikesa *sa, int i, uint32_t successor_in,
                         bool by_us)
{
    if (i < 0)
        return;
    struct ns_ike_child *c = &sa->child[i];
    ns_eng_child_state(e, c, by_us ? NS_CHILD_RETIRING : NS_CHILD_REKEYED,
                       by_us ? "replaced by our re-key" : "replaced by the peer's re-key");
    c->successor_spi = successor_in;
    c->retire_at = e->now + (by_us ? NS_IKE_REKEY_GRACE_MS : NS_IKE_PEER_DELETE_WAIT_MS);
    c->poll_at = by_us && e->ops.child_usage ? e->now + NS_IKE_SUCCESSOR_POLL_MS : NS_IKE_NEVER;
    ns_eng_sched(e, sa);
}

/* What a simultaneous re-key of child O decided: the child (by inbound SPI)
 * made by each exchange and each exchange's lowest nonce. */
static void resolve_child(struct ns_ike_engine *e, struct ns_ikesa *sa, uint32_t old_in,
                          uint32_t ours_in, const uint8_t *ours_n, size_t ours_len,
                          uint32_t theirs_in, const uint8_t *theirs_n, size_t theirs_len)
{
    int o = ns_eng_child_by_in(sa, old_in);
    int a = ns_eng_child_by_in(sa, ours_in);
    int b = ns_eng_child_by_in(sa, theirs_in);
    if (a < 0 || b < 0)
        return;
    e->ctr.rekey_collisions++;
    bool ours_redundant = ns_eng_nonce_cmp(ours_n, ours_len, theirs_n, theirs_len) < 0;
    struct ns_ike_child *redundant = &sa->child[ours_redundant ? a : b];
    struct ns_ike_child *winner = &sa->child[ours_redundant ? b : a];
    NS_INFO("ike: IKE SA %016llx: simultaneous re-key of CHILD SA in 0x%08x: the one in "
            "0x%08x (%s) is redundant (lowest nonce, 2.8.1), in 0x%08x survives",
            (unsigned long long)sa->id, old_in, redundant->spi_in,
            ours_redundant ? "ours, we delete it" : "the peer's, it deletes it", winner->spi_in);
    /* The redundant one goes to its initiator (us after the grace time, so
     * that traffic on it still arrives), the old one to the winner's. */
    uint32_t winner_in = winner->spi_in;
    mark_rekeyed(e, sa, ours_redundant ? a : b, winner_in, ours_redundant);
    mark_rekeyed(e, sa, o, winner_in, !ours_redundant);
}

/* The selectors of the answer, from our child's: the peer's side (TSi) is
 * its remote, ours (TSr) its local. Tunnel mode checks that the request
 * covers them (a re-key keeps the selectors, 2.8); transport mode keeps
 * them as they are, the substituted addresses of a NAT included. */
static bool child_ts_ok(const struct ns_ike_child *old, const struct ns_create_child_msg *m)
{
    if (!m->has_ts || m->tsi.n == 0 || m->tsr.n == 0)
        return false;
    if (old->mode == NS_ESP_TRANSPORT)
        return true;
    return ns_ts_check_narrowed(m->tsi.ts, m->tsi.n, old->remote_ts, old->n_remote_ts, NULL) &&
           ns_ts_check_narrowed(m->tsr.ts, m->tsr.n, old->local_ts, old->n_local_ts, NULL);
}

static int build_child_answer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                              const struct ns_ike_rx *rx, const struct ns_sa_choice *ch,
                              uint32_t spi_in, const uint8_t *nr, const struct ns_dh *dh,
                              const struct ns_ike_child *old)
{
    uint8_t spi[4];
    struct ns_ike_sa resp;
    ns_put_u32(spi, spi_in);
    if (ns_sa_response(ch, spi, 4, 0, &resp) != NS_SA_OK)
        return -1;
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, true, rx->msg_id) != 0)
        return -1;
    if (old->mode == NS_ESP_TRANSPORT)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_USE_TRANSPORT_MODE, NULL, 0);
    ns_ike_add_sa(&b, &resp);
    ns_ike_add_nonce(&b, nr, NS_IKE_NONCE_LEN);
    if (dh && ns_eng_add_ke(&b, dh) != 0)
        return -1;
    ns_ike_add_ts(&b, NS_PL_TSI, old->remote_ts, old->n_remote_ts);
    ns_ike_add_ts(&b, NS_PL_TSR, old->local_ts, old->n_local_ts);
    return ns_eng_sk_end(e, sa, &b);
}

/* Installs the peer's re-key of child old; 0 or an error notify. */
static uint16_t child_install_responder(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                        const struct ns_ike_child *old,
                                        const struct ns_sa_choice *ch,
                                        const struct ns_create_child_msg *m, uint32_t spi_in,
                                        const uint8_t *nr, struct ns_dh *dh)
{
    uint8_t shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    if (dh && ns_create_child_shared_secret(dh, &m->ke, shared, &shared_len) != 0)
        return NS_N_INVALID_SYNTAX;
    struct ns_child_params p = {
        .alg = ch->chosen,
        .mode = old->mode,
        .spi_in = spi_in,
        .spi_out = ns_get_u32(ch->spi),
        .local_ts = old->local_ts,
        .n_local_ts = old->n_local_ts,
        .remote_ts = old->remote_ts,
        .n_remote_ts = old->n_remote_ts,
        .orig_src = old->orig_src,
        .orig_dst = old->orig_dst,
        .ni = m->nonce,
        .ni_len = m->nonce_len,
        .nr = nr,
        .nr_len = NS_IKE_NONCE_LEN,
        .g_ir = dh ? shared : NULL,
        .g_ir_len = shared_len,
        .we_initiated = false,
        .rekeys = old->rekeys + 1,
        .defer_out = true, /* send on it once the initiator has it */
    };
    int rc = ns_eng_child_install(e, sa, &p);
    OPENSSL_cleanse(shared, sizeof(shared));
    return rc == 0 ? 0 : NS_N_NO_ADDITIONAL_SAS;
}

void ns_create_child_child_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                   const struct ns_ike_rx *rx, const struct ns_create_child_msg *m)
{
    int oi = ns_eng_child_by_out(sa, m->rekey_spi);
    if (oi < 0) {
        ns_create_child_answer_error(e, sa, rx, NS_N_CHILD_SA_NOT_FOUND, NULL, 0, m->rekey_spi);
        return;
    }
    if (sa->child[oi].cstate == NS_CHILD_DELETING || (sa->create_child && sa->create_child->ike)) {
        ns_create_child_answer_error(e, sa, rx, NS_N_TEMPORARY_FAILURE, NULL, 0, 0);
        return;
    }
    /* A copy: installing may move the array's entries. */
    struct ns_ike_child old = sa->child[oi];
    const struct ns_conf_peer *peer = sa->peer;
    struct ns_sa_choice ch;
    if (!m->has_sa || !m->nonce ||
        ns_sa_select(peer->esp, peer->n_esp, NS_PROTO_ESP, &m->sa, m->has_ke ? m->ke.group : 0, 0,
                     &ch) != NS_SA_OK ||
        ch.spi_len != 4) {
        e->ctr.no_proposal_sent++;
        ns_create_child_answer_error(e, sa, rx, NS_N_NO_PROPOSAL_CHOSEN, NULL, 0, 0);
        return;
    }
    if (ch.chosen.dh && (!m->has_ke || m->ke.group != (uint16_t)ch.chosen.dh)) {
        e->ctr.invalid_ke_sent++;
        ns_create_child_answer_invalid_ke(e, sa, rx, (uint16_t)ch.chosen.dh);
        return;
    }
    if (!child_ts_ok(&old, m)) {
        ns_create_child_answer_error(e, sa, rx, NS_N_TS_UNACCEPTABLE, NULL, 0, 0);
        return;
    }
    uint32_t spi_in = e->ops.alloc_spi(e->ops.ctx);
    uint8_t nr[NS_IKE_NONCE_LEN];
    struct ns_dh *dh = ch.chosen.dh ? ns_dh_new(ch.chosen.dh) : NULL;
    /* Always an answer: the request's message ID is used up, its
     * retransmissions would meet nothing. No SPI, key or place in the data
     * plane for one more SA: NO_ADDITIONAL_SAS; an answer that cannot be
     * built: TEMPORARY_FAILURE, a fault of the moment after which the peer
     * re-keys again soon (RFC 7296 2.25). */
    uint16_t err = 0;
    if (!spi_in || (ch.chosen.dh && !dh) || ns_random_bytes(nr, sizeof(nr)) != 0)
        err = NS_N_NO_ADDITIONAL_SAS;
    if (!err)
        err = child_install_responder(e, sa, &old, &ch, m, spi_in, nr, dh);
    int len = err ? -1 : build_child_answer(e, sa, rx, &ch, spi_in, nr, dh, &old);
    ns_dh_free(dh);
    if (len < 0) {
        int ni = err ? -1 : ns_eng_child_by_in(sa, spi_in);
        if (ni >= 0) {
            /* Installed, but no answer could be built: taken out again
             * (which gives its SPI back). */
            NS_ERR("ike: IKE SA %016llx: cannot build the answer to the peer's re-key of CHILD "
                   "SA in 0x%08x",
                   (unsigned long long)sa->id, old.spi_in);
            ns_eng_child_remove(e, sa, (unsigned)ni);
        } else if (spi_in) {
            e->ops.release_spi(e->ops.ctx, spi_in);
        }
        ns_create_child_answer_error(e, sa, rx, err ? err : NS_N_TEMPORARY_FAILURE, NULL, 0, 0);
        return;
    }
    ns_eng_respond(e, sa, rx, e->buf, (size_t)len);
    e->ctr.child_rekeys++;
    char alg[NS_IKE_ALG_STRLEN];
    ns_proposal_str(&ch.chosen, alg, sizeof(alg));
    NS_INFO("ike: IKE SA %016llx: the peer re-keyed CHILD SA in 0x%08x out 0x%08x: now in "
            "0x%08x out 0x%08x (%s%s)",
            (unsigned long long)sa->id, old.spi_in, old.spi_out, spi_in, ns_get_u32(ch.spi), alg,
            ch.chosen.dh ? ", PFS" : "");
    uint8_t their_min[NS_IKE_MAX_NONCE];
    size_t their_len;
    ns_eng_nonce_min(m->nonce, m->nonce_len, nr, sizeof(nr), their_min, &their_len);
    struct ns_create_child *cc = sa->create_child;
    if (cc && !cc->ike && cc->old_spi_in == old.spi_in) {
        /* We are re-keying the same child: resolved when our answer comes. */
        cc->coll_spi_in = spi_in;
        memcpy(cc->coll_nonce, their_min, their_len);
        cc->coll_nonce_len = their_len;
        return;
    }
    oi = ns_eng_child_by_in(sa, old.spi_in);
    if (oi >= 0 && old.cstate == NS_CHILD_RETIRING) {
        /* Our re-key of it completed before this request came: the same
         * decision now (2.8.1), with our exchange's nonces kept on its
         * child. */
        int a = ns_eng_child_by_in(sa, old.successor_spi);
        if (a >= 0) {
            struct ns_ike_child *ours = &sa->child[a];
            uint8_t ours_min[NS_IKE_MAX_NONCE];
            size_t ours_len = ours->nonce_min_len;
            memcpy(ours_min, ours->nonce_min, ours_len);
            resolve_child(e, sa, old.spi_in, ours->spi_in, ours_min, ours_len, spi_in, their_min,
                          their_len);
            return;
        }
    }
    mark_rekeyed(e, sa, oi, spi_in, false);
}

/* ---- initiator ---- */

/* The first ESP proposal's PFS group, 0 without PFS. */
static uint16_t pfs_group(const struct ns_conf_peer *peer)
{
    for (unsigned i = 0; i < peer->n_esp; i++)
        if (peer->esp[i].dh)
            return (uint16_t)peer->esp[i].dh;
    return 0;
}

int ns_create_child_send_child_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                       const struct ns_ike_child *old)
{
    struct ns_create_child *cc = sa->create_child;
    const struct ns_conf_peer *peer = sa->peer;
    uint8_t spi[4], old_spi[4];
    struct ns_ike_sa offer;
    ns_put_u32(spi, cc->new_spi_in);
    ns_put_u32(old_spi, old->spi_in);
    if (ns_sa_offer(peer->esp, peer->n_esp, NS_PROTO_ESP, spi, 4, 0, &offer) != NS_SA_OK)
        return -1;
    uint32_t id = sa->next_req_id;
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, false, id) != 0)
        return -1;
    /* The SA re-keyed, named by the SPI we receive on (1.3.3). */
    ns_ike_add_notify(&b, NS_PROTO_ESP, old_spi, 4, NS_N_REKEY_SA, NULL, 0);
    if (old->mode == NS_ESP_TRANSPORT)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_USE_TRANSPORT_MODE, NULL, 0);
    ns_ike_add_sa(&b, &offer);
    ns_ike_add_nonce(&b, cc->ni, sizeof(cc->ni));
    if (cc->dh && ns_eng_add_ke(&b, cc->dh) != 0)
        return -1;
    ns_ike_add_ts(&b, NS_PL_TSI, old->local_ts, old->n_local_ts);
    ns_ike_add_ts(&b, NS_PL_TSR, old->remote_ts, old->n_remote_ts);
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0)
        return -1;
    sa->next_req_id++;
    return ns_eng_request(e, sa, NS_REQ_REKEY_CHILD, id, e->buf, (size_t)len);
}

int ns_eng_create_child_rekey_child(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i)
{
    if (sa->out.kind != NS_REQ_NONE || sa->create_child || i >= sa->n_child)
        return -1;
    struct ns_create_child *cc = calloc(1, sizeof(*cc));
    if (!cc)
        return -1;
    sa->create_child = cc;
    struct ns_ike_child *old = &sa->child[i];
    cc->old_spi_in = old->spi_in;
    cc->new_spi_in = e->ops.alloc_spi(e->ops.ctx);
    cc->ke_group = pfs_group(sa->peer);
    if (cc->ke_group)
        cc->dh = ns_dh_new((enum ns_dh_group)cc->ke_group);
    if (!cc->new_spi_in || (cc->ke_group && !cc->dh) ||
        ns_random_bytes(cc->ni, sizeof(cc->ni)) != 0 ||
        ns_create_child_send_child_request(e, sa, old) != 0) {
        NS_WARN("ike: IKE SA %016llx: cannot start the re-key of CHILD SA in 0x%08x",
                (unsigned long long)sa->id, old->spi_in);
        ns_eng_create_child_drop(e, sa);
        return -1;
    }
    ns_eng_child_state(e, old, NS_CHILD_REKEYING, "our re-key sent");
    NS_INFO("ike: IKE SA %016llx: re-keying CHILD SA in 0x%08x out 0x%08x%s",
            (unsigned long long)sa->id, old->spi_in, old->spi_out, cc->dh ? " (PFS)" : "");
    return 0;
}

/* ---- initiator: the answer ---- */

/* TEMPORARY_FAILURE, or we lost a race we answered meanwhile: when the
 * peer re-keyed the same SA while ours was refused, its SA is the one. */
static void adopt_peer_child(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_create_child *cc = sa->create_child;
    int b = cc->coll_spi_in ? ns_eng_child_by_in(sa, cc->coll_spi_in) : -1;
    int o = ns_eng_child_by_in(sa, cc->old_spi_in);
    if (b >= 0 && o >= 0)
        mark_rekeyed(e, sa, o, cc->coll_spi_in, false);
}

/* The peer installed a CHILD_SA we cannot use: tell it to drop it. */
static void refuse_new_child(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_create_child *cc = sa->create_child;
    e->ops.release_spi(e->ops.ctx, cc->new_spi_in);
    if (sa->n_del < NS_IKE_MAX_CHILD)
        sa->del_spis[sa->n_del++] = cc->new_spi_in;
    cc->new_spi_in = 0;
}

/* Returns false when the request went out again (INVALID_KE_PAYLOAD). */
bool ns_create_child_child_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                    const struct ns_create_child_msg *m)
{
    struct ns_create_child *cc = sa->create_child;
    int oi = ns_eng_child_by_in(sa, cc->old_spi_in);
    if (m->error) {
        if (m->error == NS_N_INVALID_KE_PAYLOAD && ns_create_child_retry_ke(e, sa, m))
            return false;
        if (oi < 0) {
            /* The child went meanwhile: the peer's own re-key of it won and
             * it deleted the old one (2.8.1). Nothing failed. */
            NS_INFO("ike: IKE SA %016llx: our re-key of CHILD SA in 0x%08x was overtaken by "
                    "the peer's (%s)",
                    (unsigned long long)sa->id, cc->old_spi_in, ns_eng_notify_name(m->error));
            return true;
        }
        if (m->error == NS_N_TEMPORARY_FAILURE) {
            NS_INFO("ike: IKE SA %016llx: the peer is busy (TEMPORARY_FAILURE), re-key later",
                    (unsigned long long)sa->id);
            adopt_peer_child(e, sa);
            ns_eng_life_retry_later(e, sa);
        } else if (m->error == NS_N_CHILD_SA_NOT_FOUND) {
            NS_WARN("ike: IKE SA %016llx: the peer has no CHILD SA in 0x%08x out 0x%08x; "
                    "removing ours",
                    (unsigned long long)sa->id, sa->child[oi].spi_in, sa->child[oi].spi_out);
            ns_eng_child_remove(e, sa, (unsigned)oi);
        } else {
            ns_create_child_rekey_failed(e, sa, ns_eng_notify_name(m->error));
        }
        return true;
    }
    if (oi < 0) {
        /* The old child went meanwhile (hard lifetime, the peer's DELETE):
         * nothing to replace, and nothing known to replace it with. */
        refuse_new_child(e, sa);
        ns_create_child_rekey_failed(e, sa, "the CHILD SA went away meanwhile");
        return true;
    }
    struct ns_ike_child old = sa->child[oi];
    struct ns_sa_choice ch;
    const struct ns_conf_peer *peer = sa->peer;
    if (!m->has_sa || !m->nonce ||
        ns_sa_accept(peer->esp, peer->n_esp, NS_PROTO_ESP, &m->sa, 0, &ch) != NS_SA_OK ||
        ch.spi_len != 4) {
        refuse_new_child(e, sa);
        ns_create_child_rekey_failed(e, sa, "the peer chose a proposal we did not offer");
        return true;
    }
    uint8_t shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    if (ch.chosen.dh) {
        if (!cc->dh || !m->has_ke || m->ke.group != cc->ke_group ||
            (uint16_t)ch.chosen.dh != cc->ke_group ||
            ns_create_child_shared_secret(cc->dh, &m->ke, shared, &shared_len) != 0) {
            refuse_new_child(e, sa);
            ns_create_child_rekey_failed(e, sa, "the peer's KE does not fit our PFS group");
            return true;
        }
    }
    bool ts_ok = m->has_ts && m->tsi.n && m->tsr.n;
    if (ts_ok && old.mode == NS_ESP_TUNNEL)
        ts_ok = ns_ts_check_narrowed(old.local_ts, old.n_local_ts, m->tsi.ts, m->tsi.n, NULL) &&
                ns_ts_check_narrowed(old.remote_ts, old.n_remote_ts, m->tsr.ts, m->tsr.n, NULL) &&
                m->tsi.n <= NS_SA_MAX_TS && m->tsr.n <= NS_SA_MAX_TS;
    bool tunnel = old.mode == NS_ESP_TUNNEL;
    struct ns_child_params p = {
        .alg = ch.chosen,
        .mode = old.mode,
        .spi_in = cc->new_spi_in,
        .spi_out = ns_get_u32(ch.spi),
        .local_ts = tunnel ? m->tsi.ts : old.local_ts,
        .n_local_ts = tunnel ? m->tsi.n : old.n_local_ts,
        .remote_ts = tunnel ? m->tsr.ts : old.remote_ts,
        .n_remote_ts = tunnel ? m->tsr.n : old.n_remote_ts,
        .orig_src = old.orig_src,
        .orig_dst = old.orig_dst,
        .ni = cc->ni,
        .ni_len = sizeof(cc->ni),
        .nr = m->nonce,
        .nr_len = m->nonce_len,
        .g_ir = ch.chosen.dh ? shared : NULL,
        .g_ir_len = shared_len,
        .we_initiated = true,
        .rekeys = old.rekeys + 1,
    };
    int rc = ts_ok ? ns_eng_child_install(e, sa, &p) : -1;
    OPENSSL_cleanse(shared, sizeof(shared));
    uint32_t new_in = cc->new_spi_in;
    if (rc != 0) {
        refuse_new_child(e, sa);
        ns_create_child_rekey_failed(e, sa,
                                     ts_ok ? "the data plane did not take the new CHILD SA"
                                           : "the peer's traffic selectors are not the CHILD SA's");
        return true;
    }
    cc->new_spi_in = 0; /* the child's now */
    e->ctr.child_rekeys++;
    char alg[NS_IKE_ALG_STRLEN];
    ns_proposal_str(&ch.chosen, alg, sizeof(alg));
    NS_INFO("ike: IKE SA %016llx: re-keyed CHILD SA in 0x%08x out 0x%08x: now in 0x%08x out "
            "0x%08x (%s%s)",
            (unsigned long long)sa->id, old.spi_in, old.spi_out, new_in, p.spi_out, alg,
            ch.chosen.dh ? ", PFS" : "");
    oi = ns_eng_child_by_in(sa, old.spi_in);
    if (oi >= 0 && sa->child[oi].cstate != NS_CHILD_REKEYING) {
        /* The old child was replaced while our re-key of it was out: it
         * was the redundant one of a simultaneous re-key of its own
         * predecessor (2.8.1). The child this answer made replaces nothing
         * then; it goes as a redundant one of ours does, to the winner. */
        uint32_t winner_in = sa->child[oi].successor_spi;
        NS_INFO("ike: IKE SA %016llx: CHILD SA in 0x%08x was replaced by in 0x%08x meanwhile: "
                "the one in 0x%08x is redundant, we delete it",
                (unsigned long long)sa->id, old.spi_in, winner_in, new_in);
        mark_rekeyed(e, sa, ns_eng_child_by_in(sa, new_in), winner_in, true);
        return true;
    }
    if (oi >= 0)
        ns_eng_child_state(e, &sa->child[oi], NS_CHILD_INSTALLED, "re-key answered");
    if (cc->coll_spi_in && ns_eng_child_by_in(sa, cc->coll_spi_in) >= 0) {
        uint8_t ours[NS_IKE_MAX_NONCE];
        size_t ours_len;
        ns_eng_nonce_min(cc->ni, sizeof(cc->ni), m->nonce, m->nonce_len, ours, &ours_len);
        resolve_child(e, sa, old.spi_in, new_in, ours, ours_len, cc->coll_spi_in, cc->coll_nonce,
                      cc->coll_nonce_len);
        return true;
    }
    mark_rekeyed(e, sa, oi, new_in, true);
    return true;
}
