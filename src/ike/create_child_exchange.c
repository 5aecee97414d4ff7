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
 * additional CHILD_SAs are refused with NO_ADDITIONAL_SAS. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "conf/proposal_parse.h"
#include "crypto/rand.h"
#include "ike/ike_sa.h"
#include "ike/proposal_select.h"
#include "ike/ts_narrow.h"

#define MAX_KE_RETRIES 2
/* A failed CHILD_SA re-key (NO_PROPOSAL_CHOSEN, ...) is tried again this
 * often, until the hard lifetime. */
#define FAILED_RETRY_MIN_MS 2000

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be64(const uint8_t *p)
{
    return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

/* ---- parsing ---- */

/* The payloads of a CREATE_CHILD_SA message that natsec reads. */
struct ccsa_msg {
    bool has_sa;
    struct ns_ike_sa sa;
    const uint8_t *nonce;
    size_t nonce_len;
    bool has_ke;
    struct ns_ike_ke ke;
    bool has_ts;
    struct ns_ike_ts_list tsi, tsr;
    bool rekey; /* N(REKEY_SA) of ESP with a 4-byte SPI */
    uint32_t rekey_spi;
    bool transport;
    uint16_t error; /* the first error notify (responses), 0 if none */
    struct ns_ike_notify error_n;
};

/* false: a payload that is there does not parse (INVALID_SYNTAX). */
static bool parse_msg(const struct ns_ike_payloads *in, struct ccsa_msg *m)
{
    memset(m, 0, sizeof(*m));
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
            m->rekey_spi = get_be32(n.spi);
        } else if (n.type == NS_N_USE_TRANSPORT_MODE) {
            m->transport = true;
        } else if (n.type != 0 && n.type < 16384 && !m->error) {
            m->error = n.type;
            m->error_n = n;
        }
    }
    return true;
}

static int add_ke(struct ns_ike_builder *b, const struct ns_dh *dh)
{
    uint8_t pub[NS_DH_MAX_PUBLIC];
    enum ns_dh_group g = ns_dh_group_of(dh);
    size_t len = ns_dh_public_len(g);
    if (ns_dh_public(dh, pub, len) != 0)
        return -1;
    ns_ike_add_ke(b, (uint16_t)g, pub, len);
    return 0;
}

/* Our KE's shared secret with the peer's KE payload into shared (its
 * length in *len). 0 or -1 (the peer's value is not a group element). */
static int shared_secret(struct ns_dh *dh, const struct ns_ike_ke *ke, uint8_t *shared, size_t *len)
{
    *len = ns_dh_shared_len(ns_dh_group_of(dh));
    return ns_dh_derive(dh, ke->data, ke->len, shared, *len);
}

/* ---- responder: answers ---- */

/* An error answer: one notify, with the child's protocol and SPI for
 * CHILD_SA_NOT_FOUND (3.10.1). */
static void answer_error(struct ns_ike_engine *e, struct ns_ikesa *sa, uint32_t msg_id,
                         uint16_t type, const uint8_t *data, size_t len, uint32_t spi)
{
    char id[NS_CONF_ID_STRLEN];
    NS_INFO("ike: IKE SA %016llx: CREATE_CHILD_SA from '%s' answered %s",
            (unsigned long long)sa->id, ns_eng_id_str(&sa->remote_id, id),
            ns_eng_notify_name(type));
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, true, msg_id) != 0)
        return;
    uint8_t s[4];
    put_be32(s, spi);
    if (spi)
        ns_ike_add_notify(&b, NS_PROTO_ESP, s, 4, type, data, len);
    else
        ns_ike_add_notify(&b, 0, NULL, 0, type, data, len);
    int n = ns_eng_sk_end(e, sa, &b);
    if (n > 0)
        ns_eng_respond(e, sa, msg_id, e->buf, (size_t)n);
}

static void answer_invalid_ke(struct ns_ike_engine *e, struct ns_ikesa *sa, uint32_t msg_id,
                              uint16_t group)
{
    uint8_t g[2] = {(uint8_t)(group >> 8), (uint8_t)group};
    answer_error(e, sa, msg_id, NS_N_INVALID_KE_PAYLOAD, g, 2, 0);
}

/* ---- responder: CHILD_SA re-key ---- */

/* Marks child i replaced by successor_in: we delete it (our re-key) or the
 * peer does. */
static void mark_rekeyed(struct ns_ike_engine *e, struct ns_ikesa *sa, int i, uint32_t successor_in,
                         bool by_us)
{
    if (i < 0)
        return;
    struct ns_ike_child *c = &sa->child[i];
    c->cstate = NS_CHILD_REKEYED;
    c->successor_spi = successor_in;
    c->retire_by_us = by_us;
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
static bool child_ts_ok(const struct ns_ike_child *old, const struct ccsa_msg *m)
{
    if (!m->has_ts || m->tsi.n == 0 || m->tsr.n == 0)
        return false;
    if (old->mode == NS_ESP_TRANSPORT)
        return true;
    return ns_ts_check_narrowed(m->tsi.ts, m->tsi.n, old->remote_ts, old->n_remote_ts, NULL) &&
           ns_ts_check_narrowed(m->tsr.ts, m->tsr.n, old->local_ts, old->n_local_ts, NULL);
}

static int build_child_answer(struct ns_ike_engine *e, struct ns_ikesa *sa, uint32_t msg_id,
                              const struct ns_sa_choice *ch, uint32_t spi_in, const uint8_t *nr,
                              const struct ns_dh *dh, const struct ns_ike_child *old)
{
    uint8_t spi[4];
    struct ns_ike_sa resp;
    put_be32(spi, spi_in);
    if (ns_sa_response(ch, spi, 4, 0, &resp) != NS_SA_OK)
        return -1;
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, true, msg_id) != 0)
        return -1;
    if (old->mode == NS_ESP_TRANSPORT)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_USE_TRANSPORT_MODE, NULL, 0);
    ns_ike_add_sa(&b, &resp);
    ns_ike_add_nonce(&b, nr, NS_IKE_NONCE_LEN);
    if (dh && add_ke(&b, dh) != 0)
        return -1;
    ns_ike_add_ts(&b, NS_PL_TSI, old->remote_ts, old->n_remote_ts);
    ns_ike_add_ts(&b, NS_PL_TSR, old->local_ts, old->n_local_ts);
    return ns_eng_sk_end(e, sa, &b);
}

/* Installs the peer's re-key of child old; 0 or an error notify. */
static uint16_t child_install_responder(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                        const struct ns_ike_child *old,
                                        const struct ns_sa_choice *ch, const struct ccsa_msg *m,
                                        uint32_t spi_in, const uint8_t *nr, struct ns_dh *dh)
{
    uint8_t shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    if (dh && shared_secret(dh, &m->ke, shared, &shared_len) != 0)
        return NS_N_INVALID_SYNTAX;
    struct ns_child_params p = {
        .alg = ch->chosen,
        .mode = old->mode,
        .spi_in = spi_in,
        .spi_out = get_be32(ch->spi),
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

static void child_request(struct ns_ike_engine *e, struct ns_ikesa *sa, uint32_t msg_id,
                          const struct ccsa_msg *m)
{
    int oi = ns_eng_child_by_out(sa, m->rekey_spi);
    if (oi < 0) {
        answer_error(e, sa, msg_id, NS_N_CHILD_SA_NOT_FOUND, NULL, 0, m->rekey_spi);
        return;
    }
    if (sa->child[oi].cstate == NS_CHILD_DELETING || (sa->ccsa && sa->ccsa->ike)) {
        answer_error(e, sa, msg_id, NS_N_TEMPORARY_FAILURE, NULL, 0, 0);
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
        answer_error(e, sa, msg_id, NS_N_NO_PROPOSAL_CHOSEN, NULL, 0, 0);
        return;
    }
    if (ch.chosen.dh && (!m->has_ke || m->ke.group != (uint16_t)ch.chosen.dh)) {
        e->ctr.invalid_ke_sent++;
        answer_invalid_ke(e, sa, msg_id, (uint16_t)ch.chosen.dh);
        return;
    }
    if (!child_ts_ok(&old, m)) {
        answer_error(e, sa, msg_id, NS_N_TS_UNACCEPTABLE, NULL, 0, 0);
        return;
    }
    uint32_t spi_in = e->ops.alloc_spi(e->ops.ctx);
    uint8_t nr[NS_IKE_NONCE_LEN];
    struct ns_dh *dh = ch.chosen.dh ? ns_dh_new(ch.chosen.dh) : NULL;
    uint16_t err = 0;
    if (!spi_in || (ch.chosen.dh && !dh) || ns_random_bytes(nr, sizeof(nr)) != 0)
        err = NS_N_NO_ADDITIONAL_SAS;
    if (!err)
        err = child_install_responder(e, sa, &old, &ch, m, spi_in, nr, dh);
    if (err) {
        if (spi_in)
            e->ops.release_spi(e->ops.ctx, spi_in);
        ns_dh_free(dh);
        answer_error(e, sa, msg_id, err, NULL, 0, 0);
        return;
    }
    int len = build_child_answer(e, sa, msg_id, &ch, spi_in, nr, dh, &old);
    ns_dh_free(dh);
    if (len < 0) {
        /* Installed but cannot answer: take it out again, the peer retries. */
        int ni = ns_eng_child_by_in(sa, spi_in);
        if (ni >= 0)
            ns_eng_child_remove(e, sa, (unsigned)ni);
        return;
    }
    ns_eng_respond(e, sa, msg_id, e->buf, (size_t)len);
    e->ctr.child_rekeys++;
    char alg[NS_IKE_ALG_STRLEN];
    ns_proposal_str(&ch.chosen, alg, sizeof(alg));
    NS_INFO("ike: IKE SA %016llx: the peer re-keyed CHILD SA in 0x%08x out 0x%08x: now in "
            "0x%08x out 0x%08x (%s%s)",
            (unsigned long long)sa->id, old.spi_in, old.spi_out, spi_in, get_be32(ch.spi), alg,
            ch.chosen.dh ? ", PFS" : "");
    uint8_t their_min[NS_IKE_MAX_NONCE];
    size_t their_len;
    ns_eng_nonce_min(m->nonce, m->nonce_len, nr, sizeof(nr), their_min, &their_len);
    struct ns_ccsa *cc = sa->ccsa;
    if (cc && !cc->ike && cc->old_spi_in == old.spi_in) {
        /* We are re-keying the same child: resolved when our answer comes. */
        cc->coll_spi_in = spi_in;
        memcpy(cc->coll_nonce, their_min, their_len);
        cc->coll_nonce_len = their_len;
        return;
    }
    oi = ns_eng_child_by_in(sa, old.spi_in);
    if (oi >= 0 && old.cstate == NS_CHILD_REKEYED && old.retire_by_us) {
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

/* ---- responder: IKE SA re-key ---- */

/* A new IKE SA for a re-key of old: same peer, identity, endpoints, NAT
 * view; keys from old's SK_d (2.18). NULL on failure. */
static struct ns_ikesa *new_ike_sa(struct ns_ike_engine *e, struct ns_ikesa *old, bool initiator,
                                   uint64_t our_spi, uint64_t peer_spi,
                                   const struct ns_proposal *alg, const uint8_t *ni, size_t ni_len,
                                   const uint8_t *nr, size_t nr_len, const uint8_t *g_ir,
                                   size_t g_ir_len)
{
    if (ns_eng_find_id(e, our_spi) || ns_eng_find_dp(e, our_spi))
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
    sa->keys_ready = true;
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
    ns_eng_set_state(e, sa, NS_IKE_ST_ESTABLISHED);
    return sa;
}

/* The replaced IKE SA waits for the peer's DELETE (with a fallback). */
static void await_peer_delete(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->rekey_at = e->now + NS_IKE_PEER_DELETE_WAIT_MS;
    ns_eng_set_state(e, sa, NS_IKE_ST_REKEYED);
}

static void ike_request(struct ns_ike_engine *e, struct ns_ikesa *sa, uint32_t msg_id,
                        const struct ccsa_msg *m)
{
    if (sa->ccsa && !sa->ccsa->ike) {
        answer_error(e, sa, msg_id, NS_N_TEMPORARY_FAILURE, NULL, 0, 0);
        return;
    }
    const struct ns_conf_peer *peer = sa->peer;
    struct ns_sa_choice ch;
    if (!m->nonce || !m->has_ke ||
        ns_sa_select(peer->ike, peer->n_ike, NS_PROTO_IKE, &m->sa, m->ke.group, 0, &ch) !=
            NS_SA_OK ||
        ch.spi_len != 8) {
        e->ctr.no_proposal_sent++;
        answer_error(e, sa, msg_id, NS_N_NO_PROPOSAL_CHOSEN, NULL, 0, 0);
        return;
    }
    uint16_t want = ns_sa_ke_group_to_request(&ch.chosen, m->ke.group);
    if (want) {
        e->ctr.invalid_ke_sent++;
        answer_invalid_ke(e, sa, msg_id, want);
        return;
    }
    uint8_t nr[NS_IKE_NONCE_LEN], shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    struct ns_dh *dh = ns_dh_new(ch.chosen.dh);
    struct ns_ikesa *fresh = NULL;
    int len = -1;
    if (dh && ns_random_bytes(nr, sizeof(nr)) == 0 &&
        shared_secret(dh, &m->ke, shared, &shared_len) == 0)
        fresh = new_ike_sa(e, sa, false, ns_eng_fresh_spi(e), get_be64(ch.spi), &ch.chosen,
                           m->nonce, m->nonce_len, nr, sizeof(nr), shared, shared_len);
    OPENSSL_cleanse(shared, sizeof(shared));
    if (fresh) {
        uint8_t spi[8];
        struct ns_ike_sa resp;
        struct ns_ike_builder b;
        put_be64(spi, fresh->spi_r);
        if (ns_sa_response(&ch, spi, 8, 0, &resp) == NS_SA_OK &&
            ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, true, msg_id) == 0) {
            ns_ike_add_sa(&b, &resp);
            ns_ike_add_nonce(&b, nr, sizeof(nr));
            if (add_ke(&b, dh) == 0)
                len = ns_eng_sk_end(e, sa, &b);
        }
    }
    ns_dh_free(dh);
    if (len < 0) {
        if (fresh)
            ns_eng_sa_kill(e, fresh, NS_IKE_DOWN_NEGOTIATION);
        answer_error(e, sa, msg_id, NS_N_NO_ADDITIONAL_SAS, NULL, 0, 0);
        return;
    }
    ns_eng_respond(e, sa, msg_id, e->buf, (size_t)len);
    NS_INFO("ike: IKE SA %016llx: the peer re-keys the IKE SA: new IKE SA %016llx",
            (unsigned long long)sa->id, (unsigned long long)fresh->id);
    if (sa->ccsa && sa->ccsa->ike) {
        /* We are re-keying it too: resolved when our answer comes. */
        sa->ccsa->coll_ike_id = fresh->id;
        return;
    }
    ns_eng_ike_move(e, sa, fresh);
    await_peer_delete(e, sa);
}

void ns_eng_ccsa_request(struct ns_ike_engine *e, struct ns_ikesa *sa, uint32_t msg_id,
                         const struct ns_ike_payloads *in)
{
    struct ccsa_msg m;
    if (!parse_msg(in, &m)) {
        answer_error(e, sa, msg_id, NS_N_INVALID_SYNTAX, NULL, 0, 0);
        return;
    }
    if (sa->state != NS_IKE_ST_ESTABLISHED || sa->replaced || sa->want_delete) {
        /* Closing it, or it was re-keyed (2.25). */
        answer_error(e, sa, msg_id, NS_N_TEMPORARY_FAILURE, NULL, 0, 0);
        return;
    }
    if (m.has_sa && m.sa.n > 0 && m.sa.prop[0].protocol == NS_PROTO_IKE)
        ike_request(e, sa, msg_id, &m);
    else if (m.rekey)
        child_request(e, sa, msg_id, &m);
    else
        answer_error(e, sa, msg_id, NS_N_NO_ADDITIONAL_SAS, NULL, 0, 0); /* one CHILD_SA each */
}

/* ---- initiator ---- */

void ns_eng_ccsa_drop(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_ccsa *cc = sa->ccsa;
    if (!cc)
        return;
    if (cc->new_spi_in)
        e->ops.release_spi(e->ops.ctx, cc->new_spi_in);
    int i = cc->ike ? -1 : ns_eng_child_by_in(sa, cc->old_spi_in);
    if (i >= 0 && sa->child[i].cstate == NS_CHILD_REKEYING)
        sa->child[i].cstate = NS_CHILD_ACTIVE;
    ns_dh_free(cc->dh);
    OPENSSL_cleanse(cc, sizeof(*cc));
    free(cc);
    sa->ccsa = NULL;
}

/* The first ESP proposal's PFS group, 0 without PFS. */
static uint16_t pfs_group(const struct ns_conf_peer *peer)
{
    for (unsigned i = 0; i < peer->n_esp; i++)
        if (peer->esp[i].dh)
            return (uint16_t)peer->esp[i].dh;
    return 0;
}

static int send_child_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                              const struct ns_ike_child *old)
{
    struct ns_ccsa *cc = sa->ccsa;
    const struct ns_conf_peer *peer = sa->peer;
    uint8_t spi[4], old_spi[4];
    struct ns_ike_sa offer;
    put_be32(spi, cc->new_spi_in);
    put_be32(old_spi, old->spi_in);
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
    if (cc->dh && add_ke(&b, cc->dh) != 0)
        return -1;
    ns_ike_add_ts(&b, NS_PL_TSI, old->local_ts, old->n_local_ts);
    ns_ike_add_ts(&b, NS_PL_TSR, old->remote_ts, old->n_remote_ts);
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0)
        return -1;
    sa->next_req_id++;
    return ns_eng_request(e, sa, NS_REQ_REKEY_CHILD, id, e->buf, (size_t)len);
}

int ns_eng_ccsa_rekey_child(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i)
{
    if (sa->req_kind != NS_REQ_NONE || sa->ccsa || i >= sa->n_child)
        return -1;
    struct ns_ccsa *cc = calloc(1, sizeof(*cc));
    if (!cc)
        return -1;
    sa->ccsa = cc;
    struct ns_ike_child *old = &sa->child[i];
    cc->old_spi_in = old->spi_in;
    cc->new_spi_in = e->ops.alloc_spi(e->ops.ctx);
    cc->ke_group = pfs_group(sa->peer);
    if (cc->ke_group)
        cc->dh = ns_dh_new((enum ns_dh_group)cc->ke_group);
    if (!cc->new_spi_in || (cc->ke_group && !cc->dh) ||
        ns_random_bytes(cc->ni, sizeof(cc->ni)) != 0 || send_child_request(e, sa, old) != 0) {
        NS_WARN("ike: IKE SA %016llx: cannot start the re-key of CHILD SA in 0x%08x",
                (unsigned long long)sa->id, old->spi_in);
        ns_eng_ccsa_drop(e, sa);
        return -1;
    }
    old->cstate = NS_CHILD_REKEYING;
    NS_INFO("ike: IKE SA %016llx: re-keying CHILD SA in 0x%08x out 0x%08x%s",
            (unsigned long long)sa->id, old->spi_in, old->spi_out, cc->dh ? " (PFS)" : "");
    return 0;
}

static int send_ike_request(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_ccsa *cc = sa->ccsa;
    const struct ns_conf_peer *peer = sa->peer;
    uint8_t spi[8];
    struct ns_ike_sa offer;
    put_be64(spi, cc->new_ike_spi);
    if (ns_sa_offer(peer->ike, peer->n_ike, NS_PROTO_IKE, spi, 8, 0, &offer) != NS_SA_OK)
        return -1;
    uint32_t id = sa->next_req_id;
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_CREATE_CHILD_SA, false, id) != 0)
        return -1;
    ns_ike_add_sa(&b, &offer);
    ns_ike_add_nonce(&b, cc->ni, sizeof(cc->ni));
    if (add_ke(&b, cc->dh) != 0)
        return -1;
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0)
        return -1;
    sa->next_req_id++;
    return ns_eng_request(e, sa, NS_REQ_REKEY_IKE, id, e->buf, (size_t)len);
}

int ns_eng_ccsa_rekey_ike(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->req_kind != NS_REQ_NONE || sa->ccsa)
        return -1;
    struct ns_ccsa *cc = calloc(1, sizeof(*cc));
    if (!cc)
        return -1;
    sa->ccsa = cc;
    cc->ike = true;
    cc->new_ike_spi = ns_eng_fresh_spi(e);
    /* The group in use now: the one the peer chose before. */
    cc->ke_group = (uint16_t)sa->ike_alg.dh;
    cc->dh = ns_dh_new(sa->ike_alg.dh);
    if (!cc->dh || ns_random_bytes(cc->ni, sizeof(cc->ni)) != 0 || send_ike_request(e, sa) != 0) {
        NS_WARN("ike: IKE SA %016llx: cannot start its re-key", (unsigned long long)sa->id);
        ns_eng_ccsa_drop(e, sa);
        return -1;
    }
    NS_INFO("ike: re-keying IKE SA %016llx", (unsigned long long)sa->id);
    return 0;
}

/* ---- initiator: the answer ---- */

/* INVALID_KE_PAYLOAD: once more with the group asked for, when we offered
 * it. Returns true when the request went out again. */
static bool retry_ke(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ccsa_msg *m)
{
    struct ns_ccsa *cc = sa->ccsa;
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
    ns_msgbuf_clear(&sa->req);
    sa->req_kind = NS_REQ_NONE;
    int i = cc->ike ? -1 : ns_eng_child_by_in(sa, cc->old_spi_in);
    if (!cc->ike && i < 0)
        return false;
    NS_INFO("ike: IKE SA %016llx: the peer wants DH group %u for the re-key, asking again",
            (unsigned long long)sa->id, group);
    int rc = cc->ike ? send_ike_request(e, sa) : send_child_request(e, sa, &sa->child[i]);
    return rc == 0;
}

/* The re-key did not happen: the SA keeps going until its hard lifetime,
 * and the re-key is tried again later. */
static void rekey_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const char *why)
{
    struct ns_ccsa *cc = sa->ccsa;
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

/* TEMPORARY_FAILURE, or we lost a race we answered meanwhile: when the
 * peer re-keyed the same SA while ours was refused, its SA is the one. */
static void adopt_peer_child(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_ccsa *cc = sa->ccsa;
    int b = cc->coll_spi_in ? ns_eng_child_by_in(sa, cc->coll_spi_in) : -1;
    int o = ns_eng_child_by_in(sa, cc->old_spi_in);
    if (b >= 0 && o >= 0)
        mark_rekeyed(e, sa, o, cc->coll_spi_in, false);
}

/* The peer installed a CHILD_SA we cannot use: tell it to drop it. */
static void refuse_new_child(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_ccsa *cc = sa->ccsa;
    e->ops.release_spi(e->ops.ctx, cc->new_spi_in);
    if (sa->n_del < NS_IKE_MAX_CHILD)
        sa->del_spis[sa->n_del++] = cc->new_spi_in;
    cc->new_spi_in = 0;
}

/* Returns false when the request went out again (INVALID_KE_PAYLOAD). */
static bool child_response(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ccsa_msg *m)
{
    struct ns_ccsa *cc = sa->ccsa;
    int oi = ns_eng_child_by_in(sa, cc->old_spi_in);
    if (m->error) {
        if (m->error == NS_N_INVALID_KE_PAYLOAD && retry_ke(e, sa, m))
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
            rekey_failed(e, sa, ns_eng_notify_name(m->error));
        }
        return true;
    }
    if (oi < 0) {
        /* The old child went meanwhile (hard lifetime, the peer's DELETE):
         * nothing to replace, and nothing known to replace it with. */
        refuse_new_child(e, sa);
        rekey_failed(e, sa, "the CHILD SA went away meanwhile");
        return true;
    }
    struct ns_ike_child old = sa->child[oi];
    struct ns_sa_choice ch;
    const struct ns_conf_peer *peer = sa->peer;
    if (!m->has_sa || !m->nonce ||
        ns_sa_accept(peer->esp, peer->n_esp, NS_PROTO_ESP, &m->sa, 0, &ch) != NS_SA_OK ||
        ch.spi_len != 4) {
        refuse_new_child(e, sa);
        rekey_failed(e, sa, "the peer chose a proposal we did not offer");
        return true;
    }
    uint8_t shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    if (ch.chosen.dh) {
        if (!cc->dh || !m->has_ke || m->ke.group != cc->ke_group ||
            (uint16_t)ch.chosen.dh != cc->ke_group ||
            shared_secret(cc->dh, &m->ke, shared, &shared_len) != 0) {
            refuse_new_child(e, sa);
            rekey_failed(e, sa, "the peer's KE does not fit our PFS group");
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
        .spi_out = get_be32(ch.spi),
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
        rekey_failed(e, sa,
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
    if (oi >= 0)
        sa->child[oi].cstate = NS_CHILD_ACTIVE; /* until decided below */
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

/* Our IKE re-key was answered: the new IKE SA, and who keeps what.
 * Returns false when the request went out again (INVALID_KE_PAYLOAD). */
static bool ike_response(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ccsa_msg *m)
{
    struct ns_ccsa *cc = sa->ccsa;
    struct ns_ikesa *coll = cc->coll_ike_id ? ns_eng_find_id(e, cc->coll_ike_id) : NULL;
    if (coll && (coll->state != NS_IKE_ST_ESTABLISHED || coll->replaced))
        coll = NULL;
    if (m->error) {
        if (m->error == NS_N_INVALID_KE_PAYLOAD && retry_ke(e, sa, m))
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
            rekey_failed(e, sa, ns_eng_notify_name(m->error));
        return true;
    }
    struct ns_sa_choice ch;
    const struct ns_conf_peer *peer = sa->peer;
    uint8_t shared[NS_DH_MAX_SHARED];
    size_t shared_len = 0;
    if (!m->has_sa || !m->nonce || !m->has_ke ||
        ns_sa_accept(peer->ike, peer->n_ike, NS_PROTO_IKE, &m->sa, 0, &ch) != NS_SA_OK ||
        ch.spi_len != 8 || (uint16_t)ch.chosen.dh != cc->ke_group || m->ke.group != cc->ke_group ||
        shared_secret(cc->dh, &m->ke, shared, &shared_len) != 0) {
        rekey_failed(e, sa, "the peer's answer does not fit our offer");
        return true;
    }
    struct ns_ikesa *fresh =
        new_ike_sa(e, sa, true, cc->new_ike_spi, get_be64(ch.spi), &ch.chosen, cc->ni,
                   sizeof(cc->ni), m->nonce, m->nonce_len, shared, shared_len);
    OPENSSL_cleanse(shared, sizeof(shared));
    if (!fresh) {
        rekey_failed(e, sa, "cannot make the new IKE SA");
        return true;
    }
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
        drop->replaced = true; /* never carried anything */
        drop->redundant = !ours_redundant;
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
    return true;
}

void ns_eng_ccsa_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                          const struct ns_ike_payloads *in)
{
    struct ns_ccsa *cc = sa->ccsa;
    struct ccsa_msg m;
    if (!cc) {
        ns_eng_request_done(e, sa);
        return;
    }
    bool done = true;
    if (!parse_msg(in, &m))
        rekey_failed(e, sa, "malformed answer");
    else
        done = cc->ike ? ike_response(e, sa, &m) : child_response(e, sa, &m);
    if (!done)
        return; /* asked again with the DH group the peer wants */
    ns_eng_ccsa_drop(e, sa);
    if (sa->replaced && sa->state == NS_IKE_ST_ESTABLISHED) {
        /* Our re-key replaced it: the answer is in, now delete it. */
        ns_msgbuf_clear(&sa->req);
        sa->req_kind = NS_REQ_NONE;
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_LOCAL);
        return;
    }
    ns_eng_request_done(e, sa);
}
