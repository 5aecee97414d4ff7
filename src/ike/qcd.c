/* Quick crash detection (RFC 6290, X2), both roles.
 *
 * A token maker (conf qcd with its secret loaded, ns_conf_qcd_secret)
 * gives its peer a QCD token for each IKE SA, in IKE_AUTH and in the
 * answer to an IKE re-key, or, after a re-key a gateway started, in an
 * INFORMATIONAL request on the new IKE SA (4.3): prf(secret, SPIi | SPIr),
 * HMAC-SHA2-256 (5.1),
 * so that after a restart, with every SA forgotten but the secret kept, it
 * makes the same token again from the SPIs of a request alone. To a
 * protected request for IKE SPIs it has no SA of, it answers, unprotected
 * (RFC 7296 2.21.4), INVALID_IKE_SPI with that token. The token taker (a
 * client) kept the token with its IKE SA; the answer's token equal to it
 * (compared in constant time) proves the gateway lost the SA, and the
 * client drops it at once and connects again with its usual back-off,
 * rather than after its liveness check's retransmissions (a minute).
 *
 * Negotiation: the client puts its own token in its first IKE_AUTH
 * request (it is a maker too, with its own secret); a gateway answers with
 * its token only to a client that sent one, so a peer without QCD sees no
 * new payload (RFC 6290 4.2 lets either side send one freely; natsec does
 * not). A gateway keeps no tokens of its clients (R12: it holds an SA per
 * client, and a client that restarts connects again with INITIAL_CONTACT);
 * a client keeps the one of its IKE SA in its engine.
 *
 * Safety (RFC 6290 9, R15): a token goes only inside SK payloads, except
 * in a crash answer, which is sent only for SPIs that no SA of ours has
 * (so never a token of a live SA), only for a protected INFORMATIONAL or
 * CREATE_CHILD_SA request, and at most qcd_rate a second (a token bucket;
 * refused ones counted). A client takes a crash answer only from the
 * gateway's address and port, for the request it has out (its message
 * ID), for an established IKE SA that holds a token, with that token;
 * anything else changes nothing and is counted. RFC 6290 4 has a taker
 * accept tokens from any address, for clusters of makers; natsec has no
 * such clusters and takes R15's stricter line.
 *
 * The same answer without a token goes to an IKE_AUTH request for an IKE
 * SA the gateway does not have: a half-open SA lost to a restart or
 * evicted for the fair share in a storm (X13). RFC 7296 2.21.4 allows it;
 * without it the client would retransmit its IKE_AUTH into no SA for its
 * whole retransmission time before it starts again. Being unprotected,
 * it is a hint (2.4): the client still takes a real answer until its
 * next retransmission is due, and only then gives the attempt up, as one
 * to retry. It shares the crash answers' rate. */
#include <openssl/crypto.h>
#include <string.h>

#include "crypto/prf.h"
#include "ike/engine_qcd.h"
#include "ike/ike_sa.h"

/* A token we make: the PRF's output. */
#define QCD_OUR_LEN 32
/* The least an SK (or SKF) payload body of a real request holds: an IV of
 * 8 bytes, the pad length, a 16-byte ICV (AES-GCM, ChaCha20-Poly1305;
 * CBC holds more). A crash answer (76 bytes) goes only to a request at
 * least 57 bytes long: at most 1.4 times what a spoofed request sends
 * towards its victim. */
#define QCD_MIN_SK_BODY 25

bool ns_eng_qcd_maker(const struct ns_ike_engine *e)
{
    return e->conf->qcd && e->conf->qcd_secret_set;
}

static int make_token(const struct ns_ike_engine *e, uint64_t spi_i, uint64_t spi_r,
                      uint8_t out[QCD_OUR_LEN])
{
    uint8_t spis[16];
    ns_put_u64(spis, spi_i);
    ns_put_u64(spis + 8, spi_r);
    return ns_prf(NS_PRF_HMAC_SHA2_256, e->conf->qcd_secret, sizeof(e->conf->qcd_secret), spis,
                  sizeof(spis), out);
}

/* Adds N(QCD_TOKEN) for these SPIs (4.1: protocol IKE, no SPI). */
static bool add_token(const struct ns_ike_engine *e, uint64_t spi_i, uint64_t spi_r,
                      struct ns_ike_builder *b)
{
    uint8_t tok[QCD_OUR_LEN];
    if (make_token(e, spi_i, spi_r, tok) != 0)
        return false;
    ns_ike_add_notify(b, NS_PROTO_IKE, NULL, 0, NS_N_QCD_TOKEN, tok, sizeof(tok));
    OPENSSL_cleanse(tok, sizeof(tok));
    return true;
}

void ns_eng_qcd_offer(struct ns_ike_engine *e, const struct ns_ikesa *sa, struct ns_ike_builder *b)
{
    if (ns_eng_qcd_maker(e) && add_token(e, sa->spi_i, sa->spi_r, b))
        e->ctr.qcd_tokens_sent++;
}

void ns_eng_qcd_answer(struct ns_ike_engine *e, const struct ns_ikesa *sa,
                       struct ns_ike_builder *b)
{
    if (sa->qcd_peer && ns_eng_qcd_maker(e) && add_token(e, sa->spi_i, sa->spi_r, b))
        e->ctr.qcd_tokens_sent++;
}

/* The well-formed QCD_TOKEN notifies of pl, one after the other: *i is
 * where to go on. NULL after the last. */
static bool next_token(const struct ns_ike_payloads *pl, unsigned *i, struct ns_ike_notify *n)
{
    for (; *i < pl->n; (*i)++) {
        if (pl->p[*i].type != NS_PL_NOTIFY || ns_ike_parse_notify(&pl->p[*i], n) != NS_IKE_OK ||
            n->type != NS_N_QCD_TOKEN)
            continue;
        (*i)++;
        if (n->spi_len == 0 && n->len >= NS_QCD_TOKEN_MIN && n->len <= NS_QCD_TOKEN_MAX)
            return true;
    }
    return false;
}

void ns_eng_qcd_seen(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_payloads *in)
{
    unsigned i = 0;
    struct ns_ike_notify n;
    if (!e->conf->qcd || !next_token(in, &i, &n))
        return;
    sa->qcd_peer = true;
    if (e->conf->role != NS_CONF_CLIENT)
        return;
    struct ns_qcd_token *t = &e->qcd_token;
    t->sa_id = sa->id;
    memcpy(t->tok, n.data, n.len);
    t->len = (uint8_t)n.len;
    e->ctr.qcd_tokens_taken++;
}

void ns_eng_qcd_after_rekey(struct ns_ike_engine *e, struct ns_ikesa *fresh)
{
    if (e->conf->role != NS_CONF_GATEWAY || !fresh->qcd_peer || !ns_eng_qcd_maker(e) ||
        fresh->out.kind != NS_REQ_NONE)
        return;
    struct ns_ike_builder b;
    uint32_t id = fresh->next_req_id;
    if (ns_eng_sk_begin(e, fresh, &b, NS_INFORMATIONAL, false, id) != 0)
        return;
    bool added = add_token(e, fresh->spi_i, fresh->spi_r, &b);
    int len = ns_eng_sk_end(e, fresh, &b);
    if (!added || len < 0)
        return;
    fresh->next_req_id++;
    /* Answered like a liveness check; unanswered, the SA is given up as
     * after one. */
    if (ns_eng_request(e, fresh, NS_REQ_DPD, id, e->buf, (size_t)len) != 0) {
        ns_eng_sa_kill(e, fresh, NS_IKE_DOWN_TIMEOUT);
        return;
    }
    e->ctr.qcd_tokens_sent++;
}

/* ---- maker: the answer after a restart ---- */

/* The token bucket of crash answers: qcd_rate a second, as many at once. */
static bool bucket_take(struct ns_ike_engine *e)
{
    struct ns_qcd_bucket *k = &e->qcd_bucket;
    uint64_t full = (uint64_t)e->conf->qcd_rate * 1000; /* in thousandths of an answer */
    if (!k->started) {
        k->started = true;
        k->level = full;
    } else if (e->now > k->at) {
        uint64_t add = (e->now - k->at) * e->conf->qcd_rate; /* rate/s = rate/1000 per ms */
        k->level = add >= full - k->level ? full : k->level + add;
    }
    k->at = e->now;
    if (k->level < 1000)
        return false;
    k->level -= 1000;
    return true;
}

/* Whether a request for SPIs of no SA of ours gets an answer: a sealed
 * request (never amplified beyond 1.4 times) with both SPIs set, of an
 * exchange that has one: a gateway's IKE_AUTH from an initiator (no
 * token), or INFORMATIONAL and CREATE_CHILD_SA from a token maker. */
static bool no_sa_answered(const struct ns_ike_engine *e, const struct ns_ike_header *h,
                           const struct ns_ike_payloads *pl, bool *auth)
{
    const struct ns_ike_payload *sk = ns_ike_find(pl, NS_PL_SK);
    if (!sk)
        sk = ns_ike_find(pl, NS_PL_SKF);
    if ((h->flags & NS_IKE_FLAG_RESPONSE) || h->spi_i == 0 || h->spi_r == 0 || !sk ||
        sk->body_len < QCD_MIN_SK_BODY)
        return false;
    *auth = h->exchange == NS_IKE_AUTH;
    if (*auth)
        return e->conf->role == NS_CONF_GATEWAY && (h->flags & NS_IKE_FLAG_INITIATOR);
    return ns_eng_qcd_maker(e) &&
           (h->exchange == NS_INFORMATIONAL || h->exchange == NS_CREATE_CHILD_SA);
}

void ns_eng_qcd_no_sa(struct ns_ike_engine *e, const struct ns_ike_rx *rx,
                      const struct ns_ike_header *h, const struct ns_ike_payloads *pl)
{
    bool from_initiator = h->flags & NS_IKE_FLAG_INITIATOR;
    uint64_t ours = from_initiator ? h->spi_r : h->spi_i;
    bool auth = false;
    if (!no_sa_answered(e, h, pl, &auth) || ns_eng_find_id(e, ours))
        return;
    if (!bucket_take(e)) {
        e->ctr.qcd_replies_limited++;
        return;
    }
    /* 2.21.4: the request's SPIs and message ID, not protected; the
     * Initiator flag is ours, the opposite of the request's. */
    struct ns_ike_header r = {.spi_i = h->spi_i,
                              .spi_r = h->spi_r,
                              .version = NS_IKE_VERSION,
                              .exchange = h->exchange,
                              .flags = (uint8_t)(NS_IKE_FLAG_RESPONSE |
                                                 (from_initiator ? 0 : NS_IKE_FLAG_INITIATOR)),
                              .msg_id = h->msg_id};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, e->buf, sizeof(e->buf), &r);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INVALID_IKE_SPI, NULL, 0);
    int n = auth || add_token(e, h->spi_i, h->spi_r, &b) ? ns_ike_build_finish(&b) : -1;
    if (n <= 0)
        return;
    if (auth)
        e->ctr.lost_sa_answers++;
    else
        e->ctr.qcd_replies_sent++;
    ns_eng_send(e, &rx->local, &rx->remote, e->buf, (size_t)n);
}

/* ---- taker: an unprotected INVALID_IKE_SPI for one of our SAs ---- */

static void ignored(struct ns_ike_engine *e, const struct ns_ike_rx *rx, uint64_t *counter,
                    const char *why)
{
    char ep[NS_ENDPOINT_STRLEN];
    (*counter)++;
    NS_ENG_LOG_LIMITED(e, NS_ENG_RL_DROP, NS_LOG_DEBUG,
                       "ike: an unprotected INVALID_IKE_SPI from %s changes nothing: %s",
                       ns_endpoint_str(&rx->remote, ep), why);
}

void ns_eng_qcd_crash_answer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                             const struct ns_ike_rx *rx, const struct ns_ike_header *h,
                             const struct ns_ike_payloads *pl)
{
    uint64_t *ign = &e->ctr.qcd_replies_ignored;
    const struct ns_qcd_token *t = &e->qcd_token;
    if (t->len == 0 || t->sa_id != sa->id) {
        ignored(e, rx, ign, "no QCD token kept for this IKE SA");
        return;
    }
    if (!ns_endpoint_equal(&rx->remote, &sa->remote)) {
        ignored(e, rx, ign, "not from the gateway's address and port");
        return;
    }
    if (sa->state != NS_IKE_ST_ESTABLISHED || sa->out.kind == NS_REQ_NONE ||
        h->msg_id != sa->out.id) {
        ignored(e, rx, ign, "answers no request of ours");
        return;
    }
    unsigned i = 0;
    struct ns_ike_notify n;
    bool any = false, match = false;
    while (next_token(pl, &i, &n)) {
        any = true;
        match |= n.len == t->len && CRYPTO_memcmp(n.data, t->tok, n.len) == 0;
    }
    if (!match) {
        ignored(e, rx, any ? &e->ctr.qcd_replies_bad_token : ign,
                any ? "a wrong QCD token" : "no QCD token");
        return;
    }
    e->ctr.qcd_replies_accepted++;
    NS_INFO("ike: IKE SA %016llx: the gateway restarted and lost it (its QCD token, RFC 6290): "
            "dropping it and connecting again",
            (unsigned long long)sa->id);
    ns_eng_sa_kill(e, sa, NS_IKE_DOWN_PEER_DELETE);
}

/* ---- client: the gateway lost our half-open SA ---- */

void ns_eng_lost_sa_hint(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_header *h)
{
    char ep[NS_ENDPOINT_STRLEN];
    const char *why = NULL;
    if (!ns_endpoint_equal(&rx->remote, &sa->remote))
        why = "not from the gateway's address and port";
    else if (sa->out.kind != NS_REQ_AUTH || h->msg_id != sa->out.id)
        why = "answers no IKE_AUTH of ours";
    if (why) {
        e->ctr.lost_sa_hints_ignored++;
        NS_ENG_LOG_LIMITED(e, NS_ENG_RL_DROP, NS_LOG_DEBUG,
                           "ike: an unprotected INVALID_IKE_SPI from %s changes nothing: %s",
                           ns_endpoint_str(&rx->remote, ep), why);
        return;
    }
    if (sa->out.lost_hint)
        return;
    sa->out.lost_hint = true;
    e->ctr.lost_sa_hints++;
    NS_INFO("ike: IKE SA %016llx: %s says, unprotected, that it has no IKE SA for our IKE_AUTH: "
            "giving the attempt up at the next retransmission unless it answers",
            (unsigned long long)sa->id, ns_endpoint_str(&rx->remote, ep));
}
