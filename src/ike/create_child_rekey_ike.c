/* CREATE_CHILD_SA re-key of the IKE SA (RFC 7296 1.3.2, 2.8, 2.8.2, 2.18),
 * both roles: answering the peer's re-key, starting ours and taking its
 * answer, and resolving a simultaneous re-key of the IKE SA by both sides.
 * Parsing, error answers and the dispatch are in create_child_exchange.c. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "ike/create_child.h"
#include "ike/engine_qcd.h"
#include "ike/proposal_select.h"

/* ---- responder: IKE SA re-key ---- */

/* A new IKE SA for a re-key of old: same peer, identity, endpoints, NAT
 * view; keys from old's SK_d (2.18). NULL on failure. */
static struct ns_ikesa *new_ike_sa(struct ns_ike_engine *e, struct ns_ikesa *old, bool initiator,
                                   uint64_t our_spi, uint64_t peer_spi,
                                   const struct ns_proposal *alg, const uint8_t *ni, size_t ni_len,
                                   const uint8_t *nr, size_t nr_len, const uint8_t *g_ir,
                                   size_t g_ir_len)
{
    if (ns_eng_find_id(e, our_spi) || ns_eng_find_ike_sa_id(e, our_spi))
        return NULL;
    struct ns_ikesa *sa = ns_eng_sa_new_id(e, initiator, our_spi);
    if (!sa)
        return NULL;
    sa->spi_i = initiator ? our_spi : peer_spi;
    sa->spi_r = initiator ? peer_spi : our_spi;
    sa->peer = old->peer;
    sa->remote_id = old->remote_id;
    sa->local = old->local;
    sa->remote = old->remote;
    sa->init_remote = old->init_remote;
    sa->nat_local = old->nat_local;
    sa->nat_remote = old->nat_remote;
    sa->frag = old->frag; /* negotiated once, in IKE_SA_INIT (RFC 7383 2.3) */
    sa->qcd_peer = old->qcd_peer;
    sa->want_transport = old->want_transport;
    sa->ike_alg = *alg;
    memcpy(sa->ni, ni, ni_len);
    sa->ni_len = ni_len;
    memcpy(sa->nr, nr, nr_len);
    sa->nr_len = nr_len;
    ns_eng_nonce_min(ni, ni_len, nr, nr_len, sa->nonce_min, &sa->nonce_min_len);
    size_t encr_len = ns_encr_keymat_len(alg->encr, alg->key_bits);
    size_t integ_len = ns_integ_key_len(alg->integ);
    if (ns_ike_rekey_keys(old->ike_alg.prf, old->keys.sk_d, old->keys.d_len, alg->prf, encr_len,
                          integ_len, ni, ni_len, nr, nr_len, g_ir, g_ir_len, sa->spi_i, sa->spi_r,
                          &sa->keys) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return NULL;
    }
    if (ns_eng_sa_ciphers(sa) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return NULL;
    }
    /* Keyable: built again when a message comes or goes (ike_sa.h). */
    ns_eng_sa_cipher_drop(sa, false);
    ns_eng_sa_cipher_drop(sa, true);
    sa->next_req_id = 0;
    sa->peer_req_id = 0;
    sa->rekey_of = old->id;
    sa->established_ms = e->now;
    if (old->in_ident_idx)
        ns_eng_index_ident(e, sa);
    ns_eng_sa_state(e, sa, NS_IKE_ST_ESTABLISHED, "made by a re-key");
    return sa;
}

/* A replaced (REKEYED) or REDUNDANT IKE SA waits for the peer's DELETE,
 * until this fallback time. */
static void await_peer_delete(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->rekey_at = e->now + NS_IKE_PEER_DELETE_WAIT_MS;
    ns_eng_sched(e, sa);
}

void ns_create_child_ike_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_rx *rx, const struct ns_create_child_msg *m)
{
    if (sa->create_child && !sa->create_child->ike) {
        ns_create_child_answer_error(e, sa, rx, NS_N_TEMPORARY_FAILURE, NULL, 0, 0);
        return;
    }
    const struct ns_conf_peer *peer = sa->peer;
    struct ns_sa_choice ch;
    if (!m->nonce || !m->has_ke ||
        ns_sa_select(peer->ike, peer->n_ike, NS_PROTO_IKE, &m->sa, m->ke.group, 0, &ch) !=
            NS_SA_OK ||
        ch.spi_len != 8) {
        e->ctr.no_proposal_sent++;
        ns_create_child_answer_error(e, sa, rx, NS_N_NO_PROPOSAL_CHOSEN, NULL, 0, 0);
        return;
    }
    uint16_t want = ns_sa_ke_group_to_request(&ch.chosen, m->ke.group);
    if (want) {
        e->ctr.invalid_ke_sent++;
        ns_create_child_answer_invalid_ke(e, sa, rx, want);
        return;
    }
    uint8_t nr[NS_IKE_NONCE_LEN], shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    struct ns_dh *dh = ns_dh_new(ch.chosen.dh);
    struct ns_ikesa *fresh = NULL;
    int len = -1;
    if (dh && ns_random_bytes(nr, sizeof(nr)) == 0 &&
        ns_create_child_shared_secret(dh, &m->ke, shared, &shared_len) == 0)
        fresh = new_ike_sa(e, sa, false, ns_eng_fresh_spi(e), ns_get_u64(ch.spi), &ch.chosen,
                           m->nonce, m->nonce_len, nr, sizeof(nr), shared, shared_len);
    OPENSSL_cleanse(shared, sizeof(shared));
    if (fresh) {
        uint8_t spi[8];
        struct ns_ike_sa resp;
        struct ns_ike_builder b;
        ns_put_u64(spi, fresh->spi_r);
        if (ns_sa_response(&ch, spi, 8, 0, &resp) == NS_SA_OK &&
            ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, true, rx->msg_id) == 0) {
            ns_ike_add_sa(&b, &resp);
            ns_ike_add_nonce(&b, nr, sizeof(nr));
            if (ns_eng_add_ke(&b, dh) == 0) {
                ns_eng_qcd_answer(e, fresh, &b); /* the new SPIs' token (RFC 6290 4.3) */
                len = ns_eng_sk_end(e, sa, &b);
            }
        }
    }
    ns_dh_free(dh);
    if (len < 0) {
        if (fresh)
            ns_eng_sa_kill(e, fresh, NS_IKE_DOWN_NEGOTIATION);
        ns_create_child_answer_error(e, sa, rx, NS_N_NO_ADDITIONAL_SAS, NULL, 0, 0);
        return;
    }
    ns_eng_respond(e, sa, rx, e->buf, (size_t)len);
    NS_INFO("ike: IKE SA %016llx: the peer re-keys the IKE SA: new IKE SA %016llx",
            (unsigned long long)sa->id, (unsigned long long)fresh->id);
    if (sa->create_child && sa->create_child->ike) {
        /* We are re-keying it too: resolved when our answer comes. */
        sa->create_child->coll_ike_id = fresh->id;
        return;
    }
    ns_eng_ike_move(e, sa, fresh);
    await_peer_delete(e, sa);
}

/* ---- initiator ---- */

int ns_create_child_send_ike_request(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_create_child *cc = sa->create_child;
    const struct ns_conf_peer *peer = sa->peer;
    uint8_t spi[8];
    struct ns_ike_sa offer;
    ns_put_u64(spi, cc->new_ike_spi);
    if (ns_sa_offer(peer->ike, peer->n_ike, NS_PROTO_IKE, spi, 8, 0, &offer) != NS_SA_OK)
        return -1;
    uint32_t id = sa->next_req_id;
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, false, id) != 0)
        return -1;
    ns_ike_add_sa(&b, &offer);
    ns_ike_add_nonce(&b, cc->ni, sizeof(cc->ni));
    if (ns_eng_add_ke(&b, cc->dh) != 0)
        return -1;
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0)
        return -1;
    sa->next_req_id++;
    return ns_eng_request(e, sa, NS_REQ_REKEY_IKE, id, e->buf, (size_t)len);
}

int ns_eng_create_child_rekey_ike(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->out.kind != NS_REQ_NONE || sa->create_child)
        return -1;
    struct ns_create_child *cc = calloc(1, sizeof(*cc));
    if (!cc)
        return -1;
    sa->create_child = cc;
    cc->ike = true;
    cc->new_ike_spi = ns_eng_fresh_spi(e);
    /* The group in use now: the one the peer chose before. */
    cc->ke_group = (uint16_t)sa->ike_alg.dh;
    cc->dh = ns_dh_new(sa->ike_alg.dh);
    if (!cc->dh || ns_random_bytes(cc->ni, sizeof(cc->ni)) != 0 ||
        ns_create_child_send_ike_request(e, sa) != 0) {
        NS_WARN("ike: IKE SA %016llx: cannot start its re-key", (unsigned long long)sa->id);
        ns_eng_create_child_drop(e, sa);
        return -1;
    }
    NS_INFO("ike: re-keying IKE SA %016llx", (unsigned long long)sa->id);
    return 0;
}

/* ---- initiator: the answer ---- */

/* Our IKE re-key was answered: the new IKE SA, and who keeps what.
 * Returns false when the request went out again (INVALID_KE_PAYLOAD). */
bool ns_create_child_ike_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                  const struct ns_create_child_msg *m)
{
    struct ns_create_child *cc = sa->create_child;
    struct ns_ikesa *coll = cc->coll_ike_id ? ns_eng_find_id(e, cc->coll_ike_id) : NULL;
    if (coll && coll->state != NS_IKE_ST_ESTABLISHED)
        coll = NULL;
    if (m->error) {
        if (m->error == NS_N_INVALID_KE_PAYLOAD && ns_create_child_retry_ke(e, sa, m))
            return false;
        if (coll) {
            /* Refused, but the peer's own re-key went through: that one. */
            NS_INFO("ike: IKE SA %016llx: our re-key was refused (%s), the peer's stands",
                    (unsigned long long)sa->id, ns_eng_notify_name(m->error));
            ns_eng_ike_move(e, sa, coll);
            await_peer_delete(e, sa);
            return true;
        }
        if (m->error == NS_N_TEMPORARY_FAILURE)
            ns_eng_life_retry_later(e, sa);
        else
            ns_create_child_rekey_failed(e, sa, ns_eng_notify_name(m->error));
        return true;
    }
    struct ns_sa_choice ch;
    const struct ns_conf_peer *peer = sa->peer;
    uint8_t shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    if (!m->has_sa || !m->nonce || !m->has_ke ||
        ns_sa_accept(peer->ike, peer->n_ike, NS_PROTO_IKE, &m->sa, 0, &ch) != NS_SA_OK ||
        ch.spi_len != 8 || (uint16_t)ch.chosen.dh != cc->ke_group || m->ke.group != cc->ke_group ||
        ns_create_child_shared_secret(cc->dh, &m->ke, shared, &shared_len) != 0) {
        ns_create_child_rekey_failed(e, sa, "the peer's answer does not fit our offer");
        return true;
    }
    struct ns_ikesa *fresh =
        new_ike_sa(e, sa, true, cc->new_ike_spi, ns_get_u64(ch.spi), &ch.chosen, cc->ni,
                   sizeof(cc->ni), m->nonce, m->nonce_len, shared, shared_len);
    OPENSSL_cleanse(shared, sizeof(shared));
    if (!fresh) {
        ns_create_child_rekey_failed(e, sa, "cannot make the new IKE SA");
        return true;
    }
    ns_eng_qcd_seen(e, fresh, m->in);
    if (coll) {
        e->ctr.rekey_collisions++;
        bool ours_redundant = ns_eng_nonce_cmp(fresh->nonce_min, fresh->nonce_min_len,
                                               coll->nonce_min, coll->nonce_min_len) < 0;
        struct ns_ikesa *keep = ours_redundant ? coll : fresh;
        struct ns_ikesa *drop = ours_redundant ? fresh : coll;
        NS_INFO("ike: simultaneous re-key of IKE SA %016llx: IKE SA %016llx (%s) is redundant "
                "(lowest nonce, 2.8.2), %016llx survives",
                (unsigned long long)sa->id, (unsigned long long)drop->id,
                ours_redundant ? "ours, we delete it" : "the peer's, it deletes it",
                (unsigned long long)keep->id);
        ns_eng_ike_move(e, sa, keep);
        ns_eng_sa_state(e, drop, NS_IKE_ST_REDUNDANT, "lost a simultaneous re-key");
        if (keep == fresh)
            ns_eng_qcd_after_rekey(e, fresh);
        if (ours_redundant) {
            ns_eng_delete_ike(e, fresh, NS_IKE_DOWN_LOCAL);
        } else {
            /* The old one is ours to delete, but only once the peer deleted
             * its redundant one: until then the peer's answer to its own
             * re-key may still have to come through the old one. */
            await_peer_delete(e, coll);
        }
        await_peer_delete(e, sa); /* (ours: the fallback time deletes it) */
        return true;
    }
    ns_eng_ike_move(e, sa, fresh);
    cc->delete_old = true; /* the re-key's initiator deletes the old one */
    ns_eng_qcd_after_rekey(e, fresh);
    return true;
}
