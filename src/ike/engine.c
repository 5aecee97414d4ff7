/* The IKEv2 SA engine's entry points (ike/engine.h): creation, the
 * datagram dispatcher, and the client's connect and disconnect.
 *
 * Dispatch order for a datagram, cheapest test first, and nothing about an
 * SA changes before its SK payload has verified:
 *   parse -> IKE_SA_INIT request (gateway) | find the SA by our SPI
 *   -> the exchange, direction and message ID the SA's state expects
 *   -> SK verify and decrypt -> endpoints update (R4) -> the exchange. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "ike/engine_frag.h"
#include "ike/engine_mobike.h"
#include "ike/engine_qcd.h"
#include "ike/ike_sa.h"
#include "util/container.h"

static bool ops_ok(const struct ns_ike_ops *ops)
{
    return ops && ops->send && ops->alloc_spi && ops->release_spi && ops->child_up &&
           ops->child_down;
}

static int engine_role_init(struct ns_ike_engine *e)
{
    const struct ns_conf *c = e->conf;
    if (c->role == NS_CONF_GATEWAY) {
        if (ns_cookie_init(&e->cookie, e->now, 0) != 0)
            return -1;
        e->pool = ns_pool_new(&c->pool, c->pool_prefix);
        if (!e->pool) {
            NS_ERR("ike: cannot make the virtual IP pool (/%u)", c->pool_prefix);
            return -1;
        }
        if (c->pool6.family) {
            e->pool6 = ns_pool6_new(&c->pool6, c->pool6_prefix);
            if (!e->pool6) {
                NS_ERR("ike: cannot make the IPv6 virtual IP pool (/%u)", c->pool6_prefix);
                return -1;
            }
        }
        return 0;
    }
    if (c->role != NS_CONF_CLIENT || c->n_peers == 0)
        return -1;
    e->gw_peer = ns_conf_find_peer(c, &c->remote_id);
    if (!e->gw_peer)
        e->gw_peer = &c->peers[0];
    return 0;
}

struct ns_ike_engine *ns_ike_engine_new(const struct ns_conf *conf, const struct ns_ike_ops *ops,
                                        uint64_t now_ms)
{
    if (!conf || !ops_ok(ops))
        return NULL;
    struct ns_ike_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->conf = conf;
    e->ops = *ops;
    e->now = now_ms;
    e->reported_wakeup = NS_IKE_NEVER;
    ns_eng_frag_init(e);
    static const char *const rl_kind[NS_ENG_RL_KINDS] = {
        [NS_ENG_RL_INIT] = "ike: refused or odd IKE_SA_INIT",
        [NS_ENG_RL_HALF_OPEN] = "ike: half-open IKE SA replaced or expired",
        [NS_ENG_RL_COOKIE] = "ike: wrong or stale COOKIE",
        [NS_ENG_RL_DROP] = "ike: dropped message",
        [NS_ENG_RL_AUTH] = "ike: failed IKE_AUTH",
    };
    for (unsigned k = 0; k < NS_ENG_RL_KINDS; k++)
        ns_ratelimit_init(&e->rl[k], rl_kind[k], NS_ENG_RL_BURST, NS_ENG_RL_INTERVAL_MS);
    if (ns_random_bytes(e->hash_key, sizeof(e->hash_key)) != 0 ||
        ns_htab_init(&e->by_id, 64) != 0 || ns_htab_init(&e->by_init, 64) != 0 ||
        ns_htab_init(&e->by_ident, 64) != 0 || ns_htab_init(&e->by_ike_sa_id, 64) != 0 ||
        ns_htab_init(&e->by_cookie, 64) != 0 || ns_halfopen_init(&e->ho) != 0 ||
        engine_role_init(e) != 0) {
        ns_ike_engine_free(e);
        return NULL;
    }
    return e;
}

void ns_ike_engine_free(struct ns_ike_engine *e)
{
    if (!e)
        return;
    /* Freeing unlinks the SA from the head of its chain. */
    for (size_t i = 0; i < e->by_id.nb; i++)
        while (e->by_id.b[i])
            ns_eng_sa_free(e, NS_CONTAINER_OF(e->by_id.b[i], struct ns_ikesa, by_id));
    ns_cookie_clear(&e->cookie);
    ns_pool_free(e->pool);
    ns_pool6_free(e->pool6);
    ns_htab_free(&e->by_id);
    ns_htab_free(&e->by_init);
    ns_htab_free(&e->by_ident);
    ns_htab_free(&e->by_ike_sa_id);
    ns_htab_free(&e->by_cookie);
    ns_halfopen_free(&e->ho); /* empty: every SA left it when it was freed */
    free(e->heap);
    OPENSSL_cleanse(&e->qcd_token, sizeof(e->qcd_token));
    free(e);
}

/* ---- dispatch ---- */

static void drop(struct ns_ike_engine *e, const struct ns_ike_rx *rx, uint64_t *counter,
                 const char *why)
{
    char ep[NS_ENDPOINT_STRLEN];
    (*counter)++;
    NS_ENG_LOG_LIMITED(e, NS_ENG_RL_DROP, NS_LOG_DEBUG, "ike: dropped a message from %s: %s",
                       ns_endpoint_str(&rx->remote, ep), why);
}

/* Whether the SA's state takes a request of this exchange from the peer. */
static bool request_expected(const struct ns_ikesa *sa, uint8_t exchange)
{
    switch (exchange) {
    case NS_IKE_AUTH: /* the first, or the next round of EAP (2.16) */
        return !sa->initiator &&
               (sa->state == NS_IKE_ST_INIT_DONE || sa->state == NS_IKE_ST_EAP_SENT ||
                sa->state == NS_IKE_ST_EAP_DONE);
    case NS_INFORMATIONAL:
    case NS_CREATE_CHILD_SA: /* answered TEMPORARY_FAILURE unless ESTABLISHED (2.25) */
        return ns_ike_state_authenticated(sa->state);
    default:
        return false;
    }
}

static uint8_t response_exchange(enum ns_ike_req_kind k)
{
    switch (k) {
    case NS_REQ_INIT:
        return NS_IKE_SA_INIT;
    case NS_REQ_AUTH:
        return NS_IKE_AUTH;
    case NS_REQ_DELETE_IKE:
    case NS_REQ_DPD:
    case NS_REQ_DELETE_CHILD:
    case NS_REQ_MOBIKE_UPDATE:
    case NS_REQ_MOBIKE_CHECK:
    case NS_REQ_NATD_CHECK:
        return NS_INFORMATIONAL;
    case NS_REQ_REKEY_CHILD:
    case NS_REQ_REKEY_IKE:
        return NS_CREATE_CHILD_SA;
    case NS_REQ_NONE:
        break;
    }
    return 0;
}

static void dispatch_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                             const struct ns_ike_rx *rx, const struct ns_ike_header *h,
                             const struct ns_ike_payloads *inner)
{
    sa->peer_req_id = h->msg_id + 1;
    switch (h->exchange) {
    case NS_IKE_AUTH:
        ns_eng_auth_request(e, sa, rx, inner);
        break;
    case NS_INFORMATIONAL:
        ns_eng_info_request(e, sa, rx, inner);
        break;
    case NS_CREATE_CHILD_SA:
        ns_eng_create_child_request(e, sa, rx, inner);
        break;
    default:
        break; /* request_expected lets no other exchange through */
    }
}

/* Whether a request is a copy of the one we answered last (2.2): its
 * message ID and its exchange. Another exchange with that ID is no copy,
 * and the cached response, of another exchange, is no answer to it (3.1);
 * it is dropped like any request out of the window. */
static bool is_retransmission(const struct ns_ikesa *sa, const struct ns_ike_header *h)
{
    return sa->resp.p && sa->resp.len >= NS_IKE_HEADER_LEN && h->msg_id == sa->resp_id &&
           sa->resp.p[NS_IKE_HDR_EXCHANGE_OFF] == h->exchange;
}

/* What a verified SK message (or one put together from its fragments)
 * leads to: inner holds its payloads, rc is ns_ike_sk_open's answer. */
static void sk_verified(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                        const struct ns_ike_header *h, bool again, int rc,
                        const struct ns_ike_payloads *inner)
{
    bool response = h->flags & NS_IKE_FLAG_RESPONSE;
    if (rc == NS_IKE_EAUTH) {
        drop(e, rx, &e->ctr.dropped_unauth, "SK payload did not verify");
        return;
    }
    if (again) {
        /* Answered already: the same response again, to where this copy
         * came from; an old message ID never moves the SA (replays). */
        if (rc == NS_IKE_OK || rc == NS_IKE_ECRITICAL)
            ns_eng_resend_response(e, sa, &rx->local, &rx->remote);
        return;
    }
    if (rc == NS_IKE_ECRITICAL && !response) {
        /* Authenticated, but it needs a payload we do not know (2.5). */
        uint8_t type = inner->unsupported_critical;
        sa->peer_req_id = h->msg_id + 1;
        ns_eng_follow_peer(e, sa, &rx->local, &rx->remote);
        ns_eng_respond_notify(e, sa, rx, h->exchange, NS_N_UNSUPPORTED_CRITICAL_PAYLOAD, &type, 1);
        return;
    }
    if (rc != NS_IKE_OK) {
        drop(e, rx, &e->ctr.dropped_malformed, ns_ike_strerror(rc));
        return;
    }
    ns_eng_follow_peer(e, sa, &rx->local, &rx->remote);
    if (response)
        ns_eng_mobike_path_answered(e, sa, rx);
    if (!response) {
        dispatch_request(e, sa, rx, h, inner);
    } else if (sa->out.kind == NS_REQ_AUTH) {
        ns_eng_auth_response(e, sa, inner);
    } else if (sa->out.kind == NS_REQ_REKEY_CHILD || sa->out.kind == NS_REQ_REKEY_IKE) {
        ns_eng_create_child_response(e, sa, inner);
    } else if (sa->out.kind == NS_REQ_MOBIKE_UPDATE || sa->out.kind == NS_REQ_MOBIKE_CHECK) {
        ns_eng_mobike_response(e, sa, rx, inner);
    } else {
        ns_eng_info_response(e, sa, inner);
    }
}

/* An SK-protected message (every exchange after IKE_SA_INIT), or one
 * fragment of one (SKF, RFC 7383) when the SA negotiated fragmentation. */
static void sk_message(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                       const struct ns_ike_header *h, const struct ns_ike_payloads *pl,
                       uint8_t *msg, size_t len)
{
    const struct ns_ike_payload *sk = ns_ike_find(pl, NS_PL_SK);
    const struct ns_ike_payload *skf = sk ? NULL : ns_ike_find(pl, NS_PL_SKF);
    if ((!sk && !skf) || !ns_eng_sa_keyed(sa)) {
        drop(e, rx, &e->ctr.dropped_malformed, "no SK payload, or no keys yet");
        return;
    }
    if (skf && !sa->frag) {
        drop(e, rx, &e->ctr.dropped_malformed, "a fragment, but fragmentation was not negotiated");
        return;
    }
    bool response = h->flags & NS_IKE_FLAG_RESPONSE;
    bool again = !response && is_retransmission(sa, h);
    if (response) {
        if (sa->state == NS_IKE_ST_DEAD || sa->out.kind == NS_REQ_NONE || h->msg_id != sa->out.id ||
            h->exchange != response_exchange(sa->out.kind)) {
            drop(e, rx, &e->ctr.dropped_unexpected, "response to no request of ours");
            return;
        }
    } else if (!again) {
        if (sa->state == NS_IKE_ST_DEAD || h->msg_id != sa->peer_req_id ||
            !request_expected(sa, h->exchange)) {
            drop(e, rx, &e->ctr.dropped_unexpected, "request not expected in this state");
            return;
        }
    }
    if (ns_eng_sa_cipher_in(sa) != 0) {
        drop(e, rx, &e->ctr.dropped_malformed, "cannot key the SK ciphers");
        return;
    }
    struct ns_ike_payloads inner;
    uint8_t *whole = NULL; /* a message put together: inner points into it */
    int rc = skf ? ns_eng_frag_input(e, sa, h, skf, msg, len, again, &inner, &whole)
                 : ns_ike_sk_open(sa->sk_in, msg, len, sk, &inner);
    /* Not needed past here: the inner payloads point into msg (ike_sa.h). */
    ns_eng_sa_cipher_drop(sa, false);
    if (rc != NS_ENG_FRAG_WAIT)
        sk_verified(e, sa, rx, h, again, rc, &inner);
    free(whole);
}

/* The SA a message belongs to: our SPI is SPIr when the original initiator
 * sent it, else SPIi; the other SPI must be the peer's. */
static struct ns_ikesa *find_sa(struct ns_ike_engine *e, const struct ns_ike_header *h)
{
    bool from_initiator = h->flags & NS_IKE_FLAG_INITIATOR;
    struct ns_ikesa *sa = ns_eng_find_id(e, from_initiator ? h->spi_r : h->spi_i);
    if (!sa || sa->initiator == from_initiator)
        return NULL;
    if (from_initiator)
        return sa->spi_i == h->spi_i ? sa : NULL;
    /* The IKE_SA_INIT response brings SPIr (or 0 with COOKIE, INVALID_KE). */
    if (sa->state == NS_IKE_ST_INIT_SENT)
        return h->exchange == NS_IKE_SA_INIT ? sa : NULL;
    return sa->spi_r == h->spi_r ? sa : NULL;
}

static void handle(struct ns_ike_engine *e, struct ns_ike_rx *rx, uint8_t *msg, size_t len)
{
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    int rc = ns_ike_parse_message(msg, len, &h, &pl);
    bool init_req = rc >= 0 || rc == NS_IKE_ECRITICAL;
    init_req = init_req && h.exchange == NS_IKE_SA_INIT && !(h.flags & NS_IKE_FLAG_RESPONSE) &&
               h.spi_r == 0;
    if (init_req && e->conf->role == NS_CONF_GATEWAY) {
        /* ECRITICAL is answered there (UNSUPPORTED_CRITICAL_PAYLOAD). */
        pl.unsupported_critical = rc == NS_IKE_ECRITICAL ? pl.unsupported_critical : 0;
        rx->msg_id = h.msg_id;
        ns_eng_init_request(e, rx, msg, len, &h, &pl);
        return;
    }
    if (rc < 0) {
        drop(e, rx, &e->ctr.dropped_malformed, ns_ike_strerror(rc));
        return;
    }
    struct ns_ikesa *sa = find_sa(e, &h);
    if (!sa) {
        drop(e, rx, &e->ctr.dropped_unknown_spi, "no IKE SA with these SPIs");
        ns_eng_qcd_no_sa(e, rx, &h, &pl);
        return;
    }
    ns_eng_log_sa(sa);
    rx->msg_id = h.msg_id;
    if (h.exchange != NS_IKE_SA_INIT && (h.flags & NS_IKE_FLAG_RESPONSE) &&
        !ns_ike_find(&pl, NS_PL_SK) && !ns_ike_find(&pl, NS_PL_SKF) &&
        ns_ike_find_notify(&pl, NS_N_INVALID_IKE_SPI)) {
        if (h.exchange == NS_IKE_AUTH) {
            ns_eng_lost_sa_hint(e, sa, rx, &h);
            return;
        }
        if (e->conf->qcd) {
            ns_eng_qcd_crash_answer(e, sa, rx, &h, &pl);
            return;
        }
    }
    if (h.exchange != NS_IKE_SA_INIT) {
        sk_message(e, sa, rx, &h, &pl, msg, len);
        return;
    }
    if (sa->state != NS_IKE_ST_INIT_SENT || !(h.flags & NS_IKE_FLAG_RESPONSE) || h.msg_id != 0 ||
        sa->out.kind != NS_REQ_INIT) {
        drop(e, rx, &e->ctr.dropped_unexpected, "IKE_SA_INIT not expected now");
        return;
    }
    ns_eng_init_response(e, sa, rx, &h, msg, len, &pl);
}

void ns_ike_engine_input(struct ns_ike_engine *e, const struct ns_endpoint *local,
                         const struct ns_endpoint *remote, uint8_t *msg, size_t len,
                         uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ike_rx rx = {.local = *local, .remote = *remote};
    ns_eng_log_from(&rx.remote);
    handle(e, &rx, msg, len);
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
}

/* ---- client ---- */

struct ns_ikesa *ns_eng_client_start(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                                     const struct ns_addr *gateway, unsigned hold_ms)
{
    struct ns_ikesa *sa = ns_eng_sa_new(e, true);
    if (!sa)
        return NULL;
    sa->peer = e->gw_peer;
    sa->local.addr = local_addr && local_addr->family ? *local_addr : e->conf->listen;
    sa->local.port = e->conf->ike_port;
    sa->remote.addr = *gateway;
    sa->remote.port = e->conf->ike_port;
    sa->hold_ms = hold_ms;
    if (ns_eng_init_start(e, sa) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL); /* not client_sa yet: no client_down */
        return NULL;
    }
    char l[NS_ENDPOINT_STRLEN], r[NS_ENDPOINT_STRLEN];
    ns_eng_log_sa(sa);
    NS_INFO("ike: connecting from %s to gateway %s (IKE SA %016llx)%s",
            ns_endpoint_str(&sa->local, l), ns_endpoint_str(&sa->remote, r),
            (unsigned long long)sa->id, hold_ms ? " unless the first path answers" : "");
    ns_eng_log_done();
    return sa;
}

int ns_ike_engine_connect(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                          uint64_t now_ms)
{
    e->now = now_ms;
    if (e->conf->role != NS_CONF_CLIENT || e->client_sa)
        return -1;
    e->client_sa = ns_eng_client_start(e, local_addr, &e->conf->gateway, 0);
    ns_eng_report_wakeup(e);
    return e->client_sa ? 0 : -1;
}

int ns_ike_engine_disconnect(struct ns_ike_engine *e, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = e->client_sa;
    if (!sa)
        return -1;
    ns_eng_race_drop(e);
    ns_eng_log_sa(sa);
    if (sa->state == NS_IKE_ST_ESTABLISHED)
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_LOCAL);
    else if (sa->state != NS_IKE_ST_DELETING)
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL); /* nothing authenticated to tell */
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
    return 0;
}

int ns_ike_engine_liveness(struct ns_ike_engine *e, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = e->client_sa;
    if (!sa || sa->state != NS_IKE_ST_ESTABLISHED)
        return -1;
    ns_eng_log_sa(sa);
    if (sa->out.kind == NS_REQ_NONE)
        ns_eng_dpd(e, sa);
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
    return 0;
}

/* ---- the data plane's reports ---- */

static struct ns_ikesa *live_sa(struct ns_ike_engine *e, uint64_t id)
{
    /* The data plane's id: the IKE SA holding the CHILD_SAs now. */
    struct ns_ikesa *sa = ns_eng_find_ike_sa_id(e, id);
    if (!sa || (sa->state != NS_IKE_ST_ESTABLISHED && sa->state != NS_IKE_ST_DELETING))
        return NULL;
    return sa;
}

void ns_ike_engine_esp_from(struct ns_ike_engine *e, uint64_t ike_sa_id,
                            const struct ns_endpoint *local, const struct ns_endpoint *from,
                            uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = live_sa(e, ike_sa_id);
    if (!sa)
        return;
    /* Only a peer behind a NAT has a mapping that may change: ESP from
     * elsewhere for any other is liveness only, never a move (nor the
     * float to the NAT-T port, which is IKE's alone). */
    if (!sa->nat_remote) {
        sa->last_rx_ms = now_ms;
        return;
    }
    /* The ESP layer verified the ICV: as good as a verified IKE message
     * for the address update (R4, RFC 7296 2.23). */
    ns_eng_log_sa(sa);
    ns_eng_follow_peer(e, sa, local, from);
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
}

void ns_ike_engine_esp_activity(struct ns_ike_engine *e, uint64_t ike_sa_id, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = live_sa(e, ike_sa_id);
    if (sa)
        sa->last_rx_ms = now_ms;
}
