/* IKE_SA_INIT (RFC 7296 1.2, 2.6, 2.7, 2.23), both roles.
 *
 * Initiator (client): SA, KE, Ni, NAT_DETECTION_SOURCE_IP and _DESTINATION_IP;
 * repeats the request with a COOKIE first, or with the group an
 * INVALID_KE_PAYLOAD asks for; on the answer derives the keys, learns who is
 * behind a NAT and floats to the NAT-T port when anyone is (or encapsulation
 * is forced), then starts IKE_AUTH. The answer is not protected: anyone who
 * saw the request can forge one. So only answers from where the request
 * went are read, and one that would end the attempt (an error notify, a
 * proposal or DH group we did not offer, a KE value that is no group
 * element, a COOKIE / INVALID_KE_PAYLOAD round too many) is a hint only
 * (RFC 7296 2.4, 2.21.1): the request stays outstanding, a valid answer is
 * still taken, and without one the request times out like an unanswered
 * one (the client then tries again), its log line naming the last hint.
 *
 * Responder (gateway): creates no state for a request it refuses (COOKIE,
 * INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, over half_open_max: R15), resends
 * its cached answer to a retransmission recognised by (peer endpoint, SPIi),
 * and otherwise answers SA, KE, Nr and the NAT detection notifies from a
 * new half-open SA. At half_open_max a request from a source holding at
 * least two half-open SAs fewer than the largest holder replaces that
 * holder's oldest one instead of being refused (ike/halfopen.h, X13),
 * unless that one was answered less than two retransmission intervals ago. */
#include <stddef.h>
#include <string.h>

#include "crypto/rand.h"
#include "ike/auth_cert.h"
#include "ike/engine_frag.h"
#include "ike/ike_sa.h"
#include "ike/proposal_select.h"
#include "natt/natd.h"
#include "util/container.h"

#define MAX_NATD_SRC 8

/* The NAT detection notifies of a received IKE_SA_INIT. */
struct natd_seen {
    const uint8_t *src[MAX_NATD_SRC];
    size_t src_len[MAX_NATD_SRC];
    size_t n_src;
    const uint8_t *dst;
    size_t dst_len;
};

static void natd_collect(const struct ns_ike_payloads *pl, struct natd_seen *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < pl->n; i++) {
        struct ns_ike_notify n;
        if (pl->p[i].type != NS_PL_NOTIFY || ns_ike_parse_notify(&pl->p[i], &n) != NS_IKE_OK)
            continue;
        if (n.type == NS_N_NAT_DETECTION_SOURCE_IP && s->n_src < MAX_NATD_SRC) {
            s->src[s->n_src] = n.data;
            s->src_len[s->n_src++] = n.len;
        } else if (n.type == NS_N_NAT_DETECTION_DESTINATION_IP && !s->dst) {
            s->dst = n.data;
            s->dst_len = n.len;
        }
    }
}

/* Evaluates the peer's NAT detection: pkt_src is the peer as we see it,
 * pkt_dst our own endpoint as the peer addressed it. */
void ns_eng_natd_eval(struct ns_ike_engine *e, struct ns_ikesa *sa,
                      const struct ns_ike_payloads *pl, uint64_t spi_r,
                      const struct ns_endpoint *pkt_src, const struct ns_endpoint *pkt_dst)
{
    struct natd_seen s;
    struct ns_natd_result r;
    natd_collect(pl, &s);
    if (ns_natd_check(sa->spi_i, spi_r, s.src, s.src_len, s.n_src, s.dst, s.dst_len, pkt_src,
                      pkt_dst, &r) != 0)
        NS_ENG_LOG_LIMITED(e, NS_ENG_RL_INIT, NS_LOG_INFO,
                           "ike: IKE SA %016llx: the peer sends no NAT detection, assuming no NAT",
                           (unsigned long long)sa->id);
    sa->nat_local = r.local_behind_nat;
    sa->nat_remote = r.peer_behind_nat;
}

/* Our NAT detection notifies: SOURCE over where we send from (or a hash
 * that matches nothing, to force encapsulation), DESTINATION over where we
 * send to, with the SPIs as they are in this message's header. */
int ns_eng_add_natd(struct ns_ike_engine *e, struct ns_ike_builder *b, uint64_t spi_i,
                    uint64_t spi_r, const struct ns_endpoint *local,
                    const struct ns_endpoint *remote)
{
    uint8_t src[NS_NATD_HASH_LEN], dst[NS_NATD_HASH_LEN];
    if (e->conf->force_encap) {
        if (ns_natd_hash_forced(src) != 0)
            return -1;
    } else {
        ns_natd_hash(spi_i, spi_r, local, src);
    }
    ns_natd_hash(spi_i, spi_r, remote, dst);
    ns_ike_add_notify(b, 0, NULL, 0, NS_N_NAT_DETECTION_SOURCE_IP, src, sizeof(src));
    ns_ike_add_notify(b, 0, NULL, 0, NS_N_NAT_DETECTION_DESTINATION_IP, dst, sizeof(dst));
    return 0;
}

/* ---- initiator ---- */

/* Builds and sends the IKE_SA_INIT request from the SA's current material
 * (cookie, group, nonce); it replaces an earlier one as the request to
 * retransmit and as the message our AUTH signs. */
static int init_send(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    struct ns_ike_header h = {.spi_i = sa->spi_i,
                              .version = NS_IKE_VERSION,
                              .exchange = NS_IKE_SA_INIT,
                              .flags = NS_IKE_FLAG_INITIATOR};
    struct ns_ike_sa offer;
    if (ns_sa_offer(sa->peer->ike, sa->peer->n_ike, NS_PROTO_IKE, NULL, 0, 0, &offer) != NS_SA_OK)
        return -1;
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, e->buf, sizeof(e->buf), &h);
    if (sa->cookie_len) /* the COOKIE goes first (2.6) */
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE, sa->cookie, sa->cookie_len);
    ns_ike_add_sa(&b, &offer);
    if (ns_eng_add_ke(&b, sa->dh) != 0)
        return -1;
    ns_ike_add_nonce(&b, sa->ni, sa->ni_len);
    if (ns_eng_add_natd(e, &b, sa->spi_i, 0, &sa->local, &sa->remote) != 0)
        return -1;
    ns_eng_cert_init_payloads(e->conf, sa->peer, &b); /* certificates only (X7) */
    ns_eng_frag_notify(e, &b);
    int len = ns_ike_build_finish(&b);
    if (len < 0 || ns_msgbuf_set(&sa->init_req, e->buf, (size_t)len) != 0)
        return -1;
    return ns_eng_request(e, sa, NS_REQ_INIT, 0, e->buf, (size_t)len);
}

int ns_eng_init_start(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->peer->n_ike == 0)
        return -1;
    sa->ni_len = NS_IKE_NONCE_LEN;
    if (ns_random_bytes(sa->ni, sa->ni_len) != 0)
        return -1;
    sa->ke_group = (uint16_t)sa->peer->ike[0].dh;
    sa->dh = ns_dh_new((enum ns_dh_group)sa->ke_group);
    if (!sa->dh)
        return -1;
    sa->next_req_id = 1; /* IKE_SA_INIT is 0 */
    if (init_send(e, sa) != 0)
        return -1;
    ns_eng_sa_state(e, sa, NS_IKE_ST_INIT_SENT, "IKE_SA_INIT sent");
    return 0;
}

/* A failure of our own (building, memory, a signature) while the gateway
 * has proved nothing: the client tries again. */
static void init_fail(struct ns_ike_engine *e, struct ns_ikesa *sa, const char *why)
{
    char ep[NS_ENDPOINT_STRLEN];
    NS_ERR("ike: IKE_SA_INIT with %s failed: %s", ns_endpoint_str(&sa->remote, ep), why);
    ns_eng_sa_kill(e, sa, NS_IKE_DOWN_SETUP);
}

/* Why an unprotected answer was not taken (ns_ikesa.init_hint). */
enum ns_init_hint {
    HINT_NONE = 0,
    HINT_NOTIFY,   /* an error notify: init_hint_arg */
    HINT_PROPOSAL, /* a proposal we did not offer */
    HINT_GROUP,    /* a DH group that is not our KE's */
    HINT_KE,       /* a KE value that is no group element */
    HINT_KE_ASKS,  /* INVALID_KE_PAYLOAD for group init_hint_arg, not offered */
    HINT_ROUNDS,   /* one COOKIE / INVALID_KE_PAYLOAD round too many */
};

const char *ns_eng_init_hint_str(const struct ns_ikesa *sa, char *buf, size_t len)
{
    switch ((enum ns_init_hint)sa->init_hint) {
    case HINT_NONE:
        return NULL;
    case HINT_NOTIFY:
        snprintf(buf, len, "the gateway answered %s", ns_eng_notify_name(sa->init_hint_arg));
        return buf;
    case HINT_PROPOSAL:
        return "it chose a proposal we did not offer";
    case HINT_GROUP:
        return "its DH group is not the one of our KE";
    case HINT_KE:
        return "its KE value is no element of the group";
    case HINT_KE_ASKS:
        snprintf(buf, len, "INVALID_KE_PAYLOAD asks for DH group %u, which we do not offer",
                 sa->init_hint_arg);
        return buf;
    case HINT_ROUNDS:
        return "too many COOKIE / INVALID_KE_PAYLOAD rounds";
    }
    return NULL;
}

/* An answer not taken: kept for the time-out's log line, logged when it
 * is the first (a forger may send many). */
static void init_hint(struct ns_ike_engine *e, const struct ns_ike_rx *rx, struct ns_ikesa *sa,
                      enum ns_init_hint hint, uint16_t arg)
{
    char ep[NS_ENDPOINT_STRLEN], buf[128];
    bool first = sa->init_hint == HINT_NONE;
    sa->init_hint = (uint8_t)hint;
    sa->init_hint_arg = arg;
    e->ctr.dropped_unexpected++;
    ns_log(first ? NS_LOG_INFO : NS_LOG_DEBUG,
           "ike: IKE SA %016llx: unprotected IKE_SA_INIT answer from %s not taken (%s): waiting "
           "for a valid one until the request times out (RFC 7296 2.4)",
           (unsigned long long)sa->id, ns_endpoint_str(&rx->remote, ep),
           ns_eng_init_hint_str(sa, buf, sizeof(buf)));
}

/* Another round (COOKIE, INVALID_KE_PAYLOAD) is allowed only a few times,
 * so a responder (or a forger) cannot keep us looping; past them the
 * request stays as it is. */
static bool retry_allowed(struct ns_ike_engine *e, const struct ns_ike_rx *rx, struct ns_ikesa *sa)
{
    if (sa->init_retries < NS_IKE_MAX_INIT_RETRY) {
        sa->init_retries++;
        return true;
    }
    init_hint(e, rx, sa, HINT_ROUNDS, 0);
    return false;
}

static void on_cookie(struct ns_ike_engine *e, const struct ns_ike_rx *rx, struct ns_ikesa *sa,
                      const struct ns_ike_notify *n)
{
    if (n->len == 0 || n->len > NS_IKE_MAX_COOKIE) {
        e->ctr.dropped_malformed++;
        return;
    }
    if (!retry_allowed(e, rx, sa))
        return;
    memcpy(sa->cookie, n->data, n->len);
    sa->cookie_len = n->len;
    NS_INFO("ike: IKE SA %016llx: the gateway asks for a COOKIE, repeating "
            "IKE_SA_INIT with it",
            (unsigned long long)sa->id);
    if (init_send(e, sa) != 0)
        init_fail(e, sa, "cannot repeat IKE_SA_INIT");
}

static void on_invalid_ke(struct ns_ike_engine *e, const struct ns_ike_rx *rx, struct ns_ikesa *sa,
                          const struct ns_ike_notify *n)
{
    if (n->len != 2) {
        e->ctr.dropped_malformed++;
        return;
    }
    uint16_t group = (uint16_t)((n->data[0] << 8) | n->data[1]);
    if (group == sa->ke_group || !ns_sa_offers_group(sa->peer->ike, sa->peer->n_ike, group)) {
        init_hint(e, rx, sa, HINT_KE_ASKS, group);
        return;
    }
    if (!retry_allowed(e, rx, sa))
        return;
    NS_INFO("ike: IKE SA %016llx: the gateway wants DH group %u, repeating "
            "IKE_SA_INIT",
            (unsigned long long)sa->id, group);
    ns_dh_free(sa->dh);
    sa->ke_group = group;
    sa->dh = ns_dh_new((enum ns_dh_group)group);
    if (!sa->dh || init_send(e, sa) != 0)
        init_fail(e, sa, "cannot repeat IKE_SA_INIT");
}

/* The parsed SA, KE and nonce of an IKE_SA_INIT message; false when one is
 * missing or malformed. */
struct init_payloads {
    struct ns_ike_sa sa;
    struct ns_ike_ke ke;
    const uint8_t *nonce;
    size_t nonce_len;
};

static bool parse_init(const struct ns_ike_payloads *pl, struct init_payloads *ip)
{
    const struct ns_ike_payload *sa = ns_ike_find(pl, NS_PL_SA);
    const struct ns_ike_payload *ke = ns_ike_find(pl, NS_PL_KE);
    const struct ns_ike_payload *no = ns_ike_find(pl, NS_PL_NONCE);
    return sa && ke && no && ns_ike_parse_sa(sa, &ip->sa) == NS_IKE_OK &&
           ns_ike_parse_ke(ke, &ip->ke) == NS_IKE_OK &&
           ns_ike_parse_nonce(no, &ip->nonce, &ip->nonce_len) == NS_IKE_OK;
}

static void log_init_done(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    char l[NS_ENDPOINT_STRLEN], r[NS_ENDPOINT_STRLEN];
    /* Debug on the gateway: a flood of IKE_SA_INIT must not flood the log. */
    ns_log(sa->initiator ? NS_LOG_INFO : NS_LOG_DEBUG,
           "ike: IKE_SA_INIT done, IKE SA %016llx: %s <-> %s, NAT: local %s, "
           "remote %s%s",
           (unsigned long long)sa->id, ns_endpoint_str(&sa->local, l),
           ns_endpoint_str(&sa->remote, r), sa->nat_local ? "yes" : "no",
           sa->nat_remote ? "yes" : "no", e->conf->force_encap ? " (encapsulation forced)" : "");
}

/* The responder accepted: keys, NAT detection, floating, IKE_AUTH. */
static void init_accepted(struct ns_ike_engine *e, const struct ns_ike_rx *rx, struct ns_ikesa *sa,
                          const struct ns_ike_header *h, const uint8_t *msg, size_t len,
                          const struct ns_ike_payloads *pl)
{
    struct init_payloads ip;
    if (h->spi_r == 0 || !parse_init(pl, &ip)) {
        e->ctr.dropped_malformed++; /* maybe forged: keep waiting for the real one */
        return;
    }
    struct ns_sa_choice ch;
    if (ns_sa_accept(sa->peer->ike, sa->peer->n_ike, NS_PROTO_IKE, &ip.sa, 0, &ch) != NS_SA_OK) {
        init_hint(e, rx, sa, HINT_PROPOSAL, 0);
        return;
    }
    if (ch.chosen.dh != (enum ns_dh_group)sa->ke_group || ip.ke.group != sa->ke_group) {
        init_hint(e, rx, sa, HINT_GROUP, 0);
        return;
    }
    sa->ike_alg = ch.chosen;
    sa->spi_r = h->spi_r;
    memcpy(sa->nr, ip.nonce, ip.nonce_len);
    sa->nr_len = ip.nonce_len;
    if (ns_eng_sa_derive(e, sa, ip.ke.data, ip.ke.len) != 0) {
        if (!sa->dh) {
            init_fail(e, sa, "key derivation failed");
            return;
        }
        /* Our DH key is kept: the real answer may still come. */
        sa->spi_r = 0;
        sa->nr_len = 0;
        init_hint(e, rx, sa, HINT_KE, 0);
        return;
    }
    if (ns_eng_sa_ciphers(sa) != 0) {
        init_fail(e, sa, "cannot key the SK ciphers");
        return;
    }
    /* The packet came to sa->local: that is where we sent from. */
    ns_eng_natd_eval(e, sa, pl, sa->spi_r, &rx->remote, &sa->local);
    sa->frag = e->conf->fragmentation && ns_eng_frag_offered(pl);
    if (ns_msgbuf_set(&sa->init_resp, msg, len) != 0) {
        init_fail(e, sa, "out of memory");
        return;
    }
    ns_eng_request_done(e, sa);
    ns_eng_race_won(e, sa);
    if (ns_eng_udp_encap(e, sa)) {
        /* Port floating (2.23, R4): IKE_AUTH and everything after it from
         * our NAT-T port to the gateway's, with the non-ESP marker. */
        sa->local.port = e->conf->natt_port;
        sa->remote.port = e->conf->natt_port;
    }
    log_init_done(e, sa);
    ns_eng_sa_state(e, sa, NS_IKE_ST_AUTH_SENT, "IKE_SA_INIT answered");
    if (ns_eng_auth_start(e, sa) != 0)
        init_fail(e, sa, "cannot build IKE_AUTH");
}

void ns_eng_init_response(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                          const struct ns_ike_header *h, const uint8_t *msg, size_t len,
                          const struct ns_ike_payloads *pl)
{
    struct ns_ike_notify n;
    const struct ns_ike_payload *p;
    if (!ns_endpoint_equal(&rx->remote, &sa->remote)) {
        char from[NS_ENDPOINT_STRLEN], to[NS_ENDPOINT_STRLEN];
        e->ctr.dropped_unexpected++;
        NS_DBG("ike: IKE_SA_INIT answer from %s, our request went to %s: dropped",
               ns_endpoint_str(&rx->remote, from), ns_endpoint_str(&sa->remote, to));
        return;
    }
    if ((p = ns_ike_find_notify(pl, NS_N_COOKIE)) && ns_ike_parse_notify(p, &n) == NS_IKE_OK) {
        on_cookie(e, rx, sa, &n);
        return;
    }
    if ((p = ns_ike_find_notify(pl, NS_N_INVALID_KE_PAYLOAD)) &&
        ns_ike_parse_notify(p, &n) == NS_IKE_OK) {
        on_invalid_ke(e, rx, sa, &n);
        return;
    }
    uint16_t err = ns_ike_first_error_notify(pl, &n);
    if (err) {
        init_hint(e, rx, sa, HINT_NOTIFY, err);
        return;
    }
    init_accepted(e, rx, sa, h, msg, len, pl);
}

/* ---- responder ---- */

/* A stateless answer to an IKE_SA_INIT request: one notify, SPIr 0. */
static void init_refuse(struct ns_ike_engine *e, const struct ns_ike_rx *rx,
                        const struct ns_ike_header *req, uint16_t type, const uint8_t *data,
                        size_t len)
{
    struct ns_ike_header h = {.spi_i = req->spi_i,
                              .version = NS_IKE_VERSION,
                              .exchange = NS_IKE_SA_INIT,
                              .flags = NS_IKE_FLAG_RESPONSE};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, e->buf, sizeof(e->buf), &h);
    ns_ike_add_notify(&b, 0, NULL, 0, type, data, len);
    int n = ns_ike_build_finish(&b);
    if (n > 0)
        ns_eng_send(e, &rx->local, &rx->remote, e->buf, (size_t)n);
}

/* Under load the request must carry our cookie as its first payload;
 * *proven says it did. */
static bool cookie_ok(struct ns_ike_engine *e, const struct ns_ike_rx *rx,
                      const struct ns_ike_header *h, const struct ns_ike_payloads *pl,
                      const struct init_payloads *ip, bool room, bool *proven)
{
    *proven = false;
    if (e->half_open < e->conf->cookie_threshold)
        return true;
    struct ns_ike_notify n;
    bool has = pl->n > 0 && pl->p[0].type == NS_PL_NOTIFY &&
               ns_ike_parse_notify(&pl->p[0], &n) == NS_IKE_OK && n.type == NS_N_COOKIE;
    if (has && ns_cookie_verify(&e->cookie, e->now, n.data, n.len, ip->nonce, ip->nonce_len,
                                &rx->remote, h->spi_i)) {
        *proven = true;
        return true;
    }
    if (has) {
        char ep[NS_ENDPOINT_STRLEN];
        e->ctr.cookies_rejected++;
        NS_ENG_LOG_LIMITED(e, NS_ENG_RL_COOKIE, NS_LOG_INFO,
                           "ike: IKE_SA_INIT from %s: wrong or stale COOKIE, asking again",
                           ns_endpoint_str(&rx->remote, ep));
    }
    /* A COOKIE now would only bring the request back to be refused at
     * half_open_max: no answer at all, and the client retransmits as it
     * would after that refusal, one round trip and two datagrams cheaper
     * for both (in a restart storm, thousands a second). A source that
     * could take a half-open SA's place (X13) still gets its COOKIE. */
    if (!room) {
        e->ctr.half_open_refused++;
        return false;
    }
    uint8_t cookie[NS_COOKIE_LEN];
    if (ns_cookie_make(&e->cookie, e->now, ip->nonce, ip->nonce_len, &rx->remote, h->spi_i,
                       cookie) == 0) {
        init_refuse(e, rx, h, NS_N_COOKIE, cookie, sizeof(cookie));
        e->ctr.cookies_sent++;
    }
    return false;
}

/* The proposal and group, or a refusal sent (false). */
static bool choose_ike(struct ns_ike_engine *e, const struct ns_ike_rx *rx,
                       const struct ns_ike_header *h, const struct init_payloads *ip,
                       struct ns_sa_choice *ch)
{
    const struct ns_conf *c = e->conf;
    char ep[NS_ENDPOINT_STRLEN];
    if (ns_sa_select(c->ike, c->n_ike, NS_PROTO_IKE, &ip->sa, ip->ke.group, 0, ch) != NS_SA_OK) {
        char offer[320];
        /* X12: say when only legacy_proposals would have let it in */
        bool weak = !c->legacy_proposals && ns_sa_legacy_would_match(&ip->sa, NS_PROTO_IKE, 0);
        NS_ENG_LOG_LIMITED(
            e, NS_ENG_RL_INIT, NS_LOG_INFO,
            "ike: IKE_SA_INIT from %s: no acceptable IKE proposal in %s, NO_PROPOSAL_CHOSEN%s",
            ns_endpoint_str(&rx->remote, ep), ns_sa_offer_str(&ip->sa, offer, sizeof(offer)),
            weak ? " (it offers only weak algorithms, which legacy_proposals = yes allows)" : "");
        init_refuse(e, rx, h, NS_N_NO_PROPOSAL_CHOSEN, NULL, 0);
        e->ctr.no_proposal_sent++;
        return false;
    }
    uint16_t want = ns_sa_ke_group_to_request(&ch->chosen, ip->ke.group);
    if (want) {
        uint8_t g[2] = {(uint8_t)(want >> 8), (uint8_t)want};
        NS_ENG_LOG_LIMITED(e, NS_ENG_RL_INIT, NS_LOG_INFO,
                           "ike: IKE_SA_INIT from %s: KE group %u, asking for %u "
                           "(INVALID_KE_PAYLOAD)",
                           ns_endpoint_str(&rx->remote, ep), ip->ke.group, want);
        init_refuse(e, rx, h, NS_N_INVALID_KE_PAYLOAD, g, sizeof(g));
        e->ctr.invalid_ke_sent++;
        return false;
    }
    return true;
}

/* Builds the answer of a new half-open SA into e->buf; its length or -1. */
static int build_init_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                               const struct ns_sa_choice *ch)
{
    struct ns_ike_header h = {.spi_i = sa->spi_i,
                              .spi_r = sa->spi_r,
                              .version = NS_IKE_VERSION,
                              .exchange = NS_IKE_SA_INIT,
                              .flags = NS_IKE_FLAG_RESPONSE};
    struct ns_ike_sa resp;
    if (ns_sa_response(ch, NULL, 0, 0, &resp) != NS_SA_OK)
        return -1;
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, e->buf, sizeof(e->buf), &h);
    ns_ike_add_sa(&b, &resp);
    if (ns_eng_add_ke(&b, sa->dh) != 0)
        return -1;
    ns_ike_add_nonce(&b, sa->nr, sa->nr_len);
    if (ns_eng_add_natd(e, &b, sa->spi_i, sa->spi_r, &sa->local, &sa->remote) != 0)
        return -1;
    ns_eng_cert_init_payloads(e->conf, sa->peer, &b); /* certificates only (X7) */
    if (sa->frag) /* 2.3: only to an initiator that offered it */
        ns_eng_frag_notify(e, &b);
    return ns_ike_build_finish(&b);
}

/* The source of the request being handled, for the fair share (X13). */
struct source {
    struct ns_addr key;
    uint64_t hash;
};

/* A new half-open SA for an accepted request, counted for its source;
 * NULL on failure (dropped). */
static struct ns_ikesa *half_open_sa(struct ns_ike_engine *e, const struct ns_ike_rx *rx,
                                     const struct ns_ike_header *h,
                                     const struct ns_ike_payloads *pl,
                                     const struct init_payloads *ip, const struct ns_sa_choice *ch,
                                     const struct source *src)
{
    struct ns_ikesa *sa = ns_eng_sa_new(e, false);
    if (!sa)
        return NULL;
    if (ns_halfopen_add(&e->ho, &sa->ho, &src->key, src->hash) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return NULL;
    }
    sa->spi_i = h->spi_i;
    sa->ike_alg = ch->chosen;
    sa->local = rx->local;
    sa->remote = sa->init_remote = rx->remote;
    sa->peer_req_id = 1; /* IKE_SA_INIT was 0 */
    sa->frag = e->conf->fragmentation && ns_eng_frag_offered(pl);
    memcpy(sa->ni, ip->nonce, ip->nonce_len);
    sa->ni_len = ip->nonce_len;
    sa->nr_len = NS_IKE_NONCE_LEN;
    sa->dh = ns_dh_new(ch->chosen.dh);
    int len = -1;
    if (sa->dh && ns_random_bytes(sa->nr, sa->nr_len) == 0)
        len = build_init_response(e, sa, ch); /* before derive: that frees the DH key */
    if (len < 0 || ns_eng_sa_derive(e, sa, ip->ke.data, ip->ke.len) != 0 ||
        ns_msgbuf_set(&sa->init_resp, e->buf, (size_t)len) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return NULL;
    }
    /* The request came from rx->remote to rx->local. */
    ns_eng_natd_eval(e, sa, pl, 0, &rx->remote, &rx->local);
    ns_eng_index_init(e, sa);
    ns_eng_sa_state(e, sa, NS_IKE_ST_INIT_DONE, "IKE_SA_INIT answered");
    return sa;
}

/* A half-open SA answered this recently is not evicted: its client's
 * IKE_AUTH is most likely on the way, and throwing it away costs that
 * client every retransmission of its IKE_AUTH into no SA (a minute with
 * the usual schedule), where refusing the newcomer costs it one
 * retransmission. Two of our first retransmission intervals cover a round
 * trip and the client's key derivation even on a loaded host. A source
 * holding the table without ever sending IKE_AUTH keeps it only for this
 * long after it filled it (X13): a new request that replaces its
 * endpoint's older half-open SA (ns_eng_cookie_ep_drop) keeps that one's
 * age, so a host re-proving cookies from the same ports cannot keep its
 * SAs young. */
static bool half_open_evictable(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    return e->now >= sa->ho.since_ms + 2 * (uint64_t)e->conf->retransmit_timeout_ms;
}

/* At half_open_max: the half-open SA a request from src would replace, or
 * NULL when it would be refused. */
static struct ns_ikesa *half_open_victim_for(const struct ns_ike_engine *e,
                                             const struct source *src)
{
    struct ns_halfopen_link *l =
        ns_halfopen_victim(&e->ho, ns_halfopen_count(&e->ho, &src->key, src->hash));
    /* The victim is its holder's oldest: when it is too young to go, so
     * are all of that holder's. */
    if (!l || !half_open_evictable(e, NS_CONTAINER_OF(l, struct ns_ikesa, ho)))
        return NULL;
    return NS_CONTAINER_OF(l, struct ns_ikesa, ho);
}

/* Whether a request from src could get a half-open SA now (nothing
 * changed, nothing counted). */
static bool half_open_could_admit(const struct ns_ike_engine *e, const struct source *src)
{
    return e->half_open < e->conf->half_open_max || half_open_victim_for(e, src) != NULL;
}

/* Whether a request from src may get a half-open SA, and then which one
 * it replaces (*victim, NULL while there is room). Refusals are counted. */
static bool half_open_room(struct ns_ike_engine *e, const struct source *src,
                           struct ns_ikesa **victim)
{
    *victim = NULL;
    if (e->half_open < e->conf->half_open_max)
        return true;
    *victim = half_open_victim_for(e, src);
    if (!*victim) {
        e->ctr.half_open_refused++; /* R15: bounded, and nothing to amplify */
        return false;
    }
    return true;
}

/* The largest holder's oldest half-open SA makes room for a new one from a
 * source holding at least two fewer (X13). Nothing is sent: its peer proved no more than
 * its address, and an IKE_AUTH it may still send finds no SA. */
static void half_open_evict(struct ns_ike_engine *e, const struct ns_ike_rx *rx,
                            struct ns_ikesa *victim)
{
    char a[NS_ENDPOINT_STRLEN], b[NS_ENDPOINT_STRLEN];
    /* Debug: under a flood this happens for every request. */
    NS_ENG_LOG_LIMITED(e, NS_ENG_RL_HALF_OPEN, NS_LOG_DEBUG,
                       "ike: half-open IKE SA %016llx of %s (the largest holder, %u) replaced by a "
                       "request from %s",
                       (unsigned long long)victim->id, ns_endpoint_str(&victim->init_remote, a),
                       ns_halfopen_largest(&e->ho), ns_endpoint_str(&rx->remote, b));
    e->ctr.half_open_evicted++;
    ns_eng_sa_kill(e, victim, NS_IKE_DOWN_LOCAL);
}

/* What of an IKE_SA_INIT request a COOKIE leaves as it is: the type of
 * the first payload after a leading COOKIE notify (if any), and the bytes
 * from there to the end. */
struct init_rest {
    uint8_t first;
    const uint8_t *p;
    size_t len;
    bool cookie;
};

static void init_rest_of(const uint8_t *msg, size_t len, const struct ns_ike_header *h,
                         const struct ns_ike_payloads *pl, struct init_rest *out)
{
    struct ns_ike_notify n;
    const struct ns_ike_payload *p0 = pl->n > 0 ? &pl->p[0] : NULL;
    /* Only a notify that is really the first payload (an unknown payload
     * before it is not recorded in pl). */
    out->cookie = p0 && p0->type == NS_PL_NOTIFY && p0->body == msg + NS_IKE_HEADER_LEN + 4 &&
                  ns_ike_parse_notify(p0, &n) == NS_IKE_OK && n.type == NS_N_COOKIE;
    out->first = out->cookie ? p0->next_payload : h->next_payload;
    out->p = out->cookie ? p0->body + p0->body_len : msg + NS_IKE_HEADER_LEN;
    out->len = (size_t)(msg + len - out->p);
}

/* Whether the request (msg, h, pl) repeats the one sa was made from with
 * a COOKIE it did not carry, or another one: everything else equal. */
static bool init_recookied(const struct ns_ikesa *sa, const uint8_t *msg, size_t len,
                           const struct ns_ike_header *h, const struct ns_ike_payloads *pl)
{
    struct ns_ike_header oh;
    struct ns_ike_payloads opl;
    if (ns_ike_parse_message(sa->init_req.p, sa->init_req.len, &oh, &opl) < 0)
        return false;
    struct init_rest now, then;
    init_rest_of(msg, len, h, pl, &now);
    init_rest_of(sa->init_req.p, sa->init_req.len, &oh, &opl, &then);
    return now.cookie && now.first == then.first && now.len == then.len &&
           memcmp(now.p, then.p, now.len) == 0 && oh.flags == h->flags &&
           oh.version == h->version && oh.msg_id == h->msg_id;
}

int ns_eng_init_req_cookied(const struct ns_ike_engine *e, const struct ns_ikesa *sa, bool prev,
                            uint8_t *out, size_t cap, size_t *len)
{
    const struct ns_msgbuf *m = &sa->init_req;
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    if (sa->initiator || !m->p || ns_ike_parse_message(m->p, m->len, &h, &pl) < 0)
        return -1;
    struct init_rest r;
    init_rest_of(m->p, m->len, &h, &pl, &r);
    uint8_t cookie[NS_COOKIE_LEN];
    size_t notify = 8 + NS_COOKIE_LEN, total = m->len + notify;
    if (r.cookie || total > cap ||
        ns_cookie_made(&e->cookie, prev, sa->ni, sa->ni_len, &sa->init_remote, sa->spi_i, cookie) !=
            0)
        return -1;
    /* As the client's builder puts it first (2.6): Notify, not critical,
     * no protocol, no SPI. */
    memcpy(out, m->p, NS_IKE_HEADER_LEN);
    out[16] = NS_PL_NOTIFY;
    ns_put_u32(out + 24, (uint32_t)total);
    uint8_t *n = out + NS_IKE_HEADER_LEN;
    n[0] = r.first;
    n[1] = 0;
    ns_put_u16(n + 2, (uint16_t)notify);
    n[4] = 0;
    n[5] = 0;
    ns_put_u16(n + 6, NS_N_COOKIE);
    memcpy(n + 8, cookie, NS_COOKIE_LEN);
    memcpy(n + notify, r.p, r.len);
    *len = total;
    return 0;
}

/* A copy of a request we answered with a half-open SA: same answer. So is
 * the same request repeated with a COOKIE: under a load that crossed
 * cookie_threshold between a request and its retransmission, the first
 * copy got a COOKIE and the second this SA; the client, which got the
 * COOKIE first, repeated its request with it, and then took our answer
 * (nothing tells which request an answer is to). Its IKE_AUTH signs the
 * request it sent last (RFC 7296 2.15), so that is the one our check of
 * its AUTH uses from now on; the keys do not change (same nonce, same KE). */
static void init_again(struct ns_ike_engine *e, const struct ns_ike_rx *rx, struct ns_ikesa *sa,
                       const uint8_t *msg, size_t len, const struct ns_ike_header *h,
                       const struct ns_ike_payloads *pl)
{
    bool same = sa->init_req.len == len && memcmp(sa->init_req.p, msg, len) == 0;
    if (sa->state != NS_IKE_ST_INIT_DONE ||
        (!same &&
         (!init_recookied(sa, msg, len, h, pl) || ns_msgbuf_set(&sa->init_req, msg, len) != 0))) {
        e->ctr.dropped_unexpected++;
        return;
    }
    if (!same)
        NS_DBG("ike: IKE SA %016llx: IKE_SA_INIT repeated with a COOKIE after our answer: "
               "the request IKE_AUTH signs now",
               (unsigned long long)sa->id);
    e->ctr.responses_resent++;
    ns_eng_send(e, &rx->local, &rx->remote, sa->init_resp.p, sa->init_resp.len);
}

void ns_eng_init_request(struct ns_ike_engine *e, const struct ns_ike_rx *rx, const uint8_t *msg,
                         size_t len, const struct ns_ike_header *h,
                         const struct ns_ike_payloads *pl)
{
    struct ns_ikesa *old = ns_eng_find_init(e, &rx->remote, h->spi_i);
    if (old) {
        init_again(e, rx, old, msg, len, h, pl);
        return;
    }
    if (h->msg_id != 0) {
        e->ctr.dropped_malformed++;
        return;
    }
    if (pl->unsupported_critical) {
        uint8_t type = pl->unsupported_critical;
        init_refuse(e, rx, h, NS_N_UNSUPPORTED_CRITICAL_PAYLOAD, &type, 1);
        e->ctr.dropped_malformed++;
        return;
    }
    struct init_payloads ip;
    if (!parse_init(pl, &ip)) {
        e->ctr.dropped_malformed++;
        return;
    }
    /* The COOKIE costs no state, so it is asked for first; only a request
     * that proved its address can meet the hard bound, and its fair share
     * (X13) is that of a real source. */
    struct source src;
    ns_halfopen_source_of(&rx->remote.addr, &src.key);
    src.hash = ns_eng_hash_source(e, &src.key);
    /* Room for it: a free or replaceable slot, or its endpoint's own older
     * half-open SA, which a proven request replaces. */
    bool room = half_open_could_admit(e, &src) || ns_eng_cookie_ep_holds(e, &rx->remote);
    bool proven;
    if (!cookie_ok(e, rx, h, pl, &ip, room, &proven))
        return;
    uint64_t since = e->now;
    if (proven)
        since = ns_eng_cookie_ep_drop(e, &rx->remote); /* before the room check: it frees one */
    struct ns_ikesa *victim;
    if (!half_open_room(e, &src, &victim))
        return;
    struct ns_sa_choice ch;
    if (!choose_ike(e, rx, h, &ip, &ch))
        return;
    struct ns_ikesa *sa = half_open_sa(e, rx, h, pl, &ip, &ch, &src);
    if (!sa) {
        e->ctr.dropped_malformed++; /* a KE value that is not a group element */
        return;
    }
    sa->ho.since_ms = since;
    if (ns_msgbuf_set(&sa->init_req, msg, len) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return;
    }
    if (proven)
        ns_eng_index_cookie(e, sa);
    /* Only a request that got its SA takes another's place: one that fails
     * above (a bad KE value) evicts nothing. For the length of this call
     * the table holds one SA over half_open_max. */
    if (victim)
        half_open_evict(e, rx, victim);
    ns_eng_send(e, &rx->local, &rx->remote, sa->init_resp.p, sa->init_resp.len);
    log_init_done(e, sa);
}
