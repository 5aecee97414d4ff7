/* IKE_AUTH with a pre-shared key (RFC 7296 1.2, 2.15) or certificates
 * (X7: signatures and CERT/CERTREQ in ike/auth_cert.c), both roles: the
 * exchange and authentication. The first CHILD_SA it carries, with the
 * configuration payload (3.15), is negotiated in ike/auth_child.c.
 *
 * The gateway picks the peer section by IDi (the identity, else %default:
 * R3), verifies AUTH with its PSK or, with auth = pubkey, the client's
 * certificate, that it holds IDi and AUTH's signature. A certificate then
 * decides the section by every name it holds (the first section written
 * for one of them), so that one certificate always gets the same reach
 * whichever of its names, however spelt, it claims (R9, R17). Then it
 * negotiates the CHILD_SA and installs it before answering. A CHILD_SA
 * failure leaves the IKE SA up with an error notify in the answer (1.2);
 * an authentication failure answers AUTHENTICATION_FAILED and deletes the
 * IKE SA.
 *
 * The client checks the gateway's identity and AUTH, then its CHILD_SA
 * answer, and reports its virtual IP and routes (ops->client_up).
 *
 * With auth = eap-mschapv2 (RFC 7296 2.16, X12) the client sends no AUTH,
 * the gateway answers with its certificate's AUTH and an EAP Request, and
 * the EAP rounds (ike/auth_eap_gw.c, auth_eap_client.c) end in both AUTH
 * payloads from the MSK; the CHILD_SA of the client's first request is
 * negotiated then, by the same functions as here. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "conf/id_cert.h"
#include "ike/auth.h"
#include "ike/auth_cert.h"
#include "ike/auth_child.h"
#include "ike/auth_eap.h"
#include "ike/cookie.h"
#include "ike/engine_mobike.h"
#include "ike/engine_qcd.h"
#include "ike/ike_sa.h"
#include "ike/proposal_select.h"

/* RestOfIDPayload (3.5) of one of our identities: type, 3 reserved, data. */
static size_t id_rest(const struct ns_conf_id *id, uint8_t out[4 + NS_CONF_ID_MAX])
{
    out[0] = id->type;
    out[1] = out[2] = out[3] = 0;
    memcpy(out + 4, id->data, id->len);
    return 4 + id->len;
}

static bool id_from_payload(const struct ns_ike_payload *p, struct ns_ike_id *wire,
                            struct ns_conf_id *out)
{
    if (!p || ns_ike_parse_id(p, wire) != NS_IKE_OK || wire->len > NS_CONF_ID_MAX)
        return false;
    memset(out, 0, sizeof(*out));
    out->type = wire->type;
    memcpy(out->data, wire->data, wire->len);
    out->len = wire->len;
    return true;
}

/* What certificate authentication reads of sa (ike/auth_cert.h). */
static struct ns_cert_sa cert_sa(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    const struct ns_msgbuf *peer_init = sa->initiator ? &sa->init_resp : &sa->init_req;
    return (struct ns_cert_sa){e->conf, sa->id, peer_init->p, peer_init->len};
}

int ns_eng_our_auth(const struct ns_ike_engine *e, const struct ns_ikesa *sa, uint8_t *method,
                    uint8_t *out, size_t *out_len)
{
    const struct ns_conf_id *me = &e->conf->local_id;
    uint8_t rest[4 + NS_CONF_ID_MAX];
    const struct ns_msgbuf *m = sa->initiator ? &sa->init_req : &sa->init_resp;
    struct ns_auth_input in = {
        .prf = sa->ike_alg.prf,
        .real_msg = m->p,
        .real_msg_len = m->len,
        .peer_nonce = sa->initiator ? sa->nr : sa->ni,
        .peer_nonce_len = sa->initiator ? sa->nr_len : sa->ni_len,
        .sk_p = sa->initiator ? sa->keys.sk_pi : sa->keys.sk_pr,
        .sk_p_len = sa->keys.d_len,
        .id_rest = rest,
        .id_rest_len = id_rest(me, rest),
    };
    *method = NS_AUTH_SHARED_KEY_MIC;
    if (ns_eng_eap_msk(sa))
        return ns_auth_psk_compute(&in, sa->eap->msk, sizeof(sa->eap->msk), out, out_len);
    if (sa->peer->auth != NS_CONF_AUTH_PSK) {
        struct ns_cert_sa cs = cert_sa(e, sa);
        return ns_eng_cert_sign(&cs, &in, method, out, NS_AUTH_DATA_MAX, out_len);
    }
    return ns_auth_psk_compute(&in, sa->peer->psk, sa->peer->psk_len, out, out_len);
}

/* How the peer proves itself in this AUTH payload: with the section's
 * PSK; once EAP has ended, with its MSK (2.16); else by a signature (a
 * certificate section, and an EAP section's gateway). */
enum proof { BY_PSK, BY_SIGNATURE, BY_MSK };

static enum proof proof_of(const struct ns_ikesa *sa, const struct ns_conf_peer *peer)
{
    if (ns_eng_eap_msk(sa))
        return BY_MSK;
    return peer->auth == NS_CONF_AUTH_PSK ? BY_PSK : BY_SIGNATURE;
}

/* Whether the peer's AUTH payload verifies over the signed octets in. */
static bool auth_verifies(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                          const struct ns_conf_peer *peer, const struct ns_ike_payloads *pl,
                          const struct ns_conf_id *cid, const struct ns_ike_auth *auth,
                          const struct ns_auth_input *in_, const struct ns_conf_peer **proved,
                          char *why, size_t whylen)
{
    struct ns_auth_input in = *in_;
    char who[NS_CONF_ID_STRLEN];
    enum proof how = proof_of(sa, peer);
    if ((how == BY_SIGNATURE) != (auth->method != NS_AUTH_SHARED_KEY_MIC)) {
        snprintf(why, whylen,
                 "'%s' authenticates with %s (AUTH method %u), its [peer %s] says auth = %s",
                 ns_eng_id_str(cid, who), how == BY_SIGNATURE ? "a pre-shared key" : "a signature",
                 auth->method, peer->name, ns_conf_auth_name(peer->auth));
        return false;
    }
    if (how == BY_SIGNATURE) {
        struct ns_cert_sa cs = cert_sa(e, sa);
        return ns_eng_cert_verify(&cs, pl, cid, &in, auth, proved, why, whylen);
    }
    if (how == BY_MSK) {
        if (ns_auth_psk_verify(&in, sa->eap->msk, sizeof(sa->eap->msk), auth->data, auth->len))
            return true;
        snprintf(why, whylen, "AUTH of '%s' does not verify with the MSK of EAP-MSCHAPv2",
                 ns_eng_id_str(cid, who));
        return false;
    }
    if (peer->psk_len > 0 &&
        ns_auth_psk_verify(&in, peer->psk, peer->psk_len, auth->data, auth->len))
        return true;
    snprintf(why, whylen, "AUTH of '%s' does not verify (wrong PSK?)", ns_eng_id_str(cid, who));
    return false;
}

bool ns_eng_peer_auth_ok(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                         const struct ns_conf_peer *peer, const struct ns_ike_payloads *pl,
                         const struct ns_ike_id *id, const struct ns_conf_id *cid,
                         const struct ns_ike_auth *auth, const struct ns_conf_peer **proved,
                         char *why, size_t whylen)
{
    const struct ns_msgbuf *m = sa->initiator ? &sa->init_resp : &sa->init_req;
    struct ns_auth_input in = {
        .prf = sa->ike_alg.prf,
        .real_msg = m->p,
        .real_msg_len = m->len,
        .peer_nonce = sa->initiator ? sa->ni : sa->nr,
        .peer_nonce_len = sa->initiator ? sa->ni_len : sa->nr_len,
        .sk_p = sa->initiator ? sa->keys.sk_pr : sa->keys.sk_pi,
        .sk_p_len = sa->keys.d_len,
        .id_rest = id->rest,
        .id_rest_len = id->rest_len,
    };
    if (auth_verifies(e, sa, peer, pl, cid, auth, &in, proved, why, whylen))
        return true;
    /* The client may sign its request repeated with the COOKIE we answered
     * an earlier copy with, where that repeat never reached us and the SA
     * was made from a later copy without (a load that crossed
     * cookie_threshold between them, init_exchange.c): the same request
     * with that COOKIE, made with either secret. */
    if (sa->initiator || e->ctr.cookies_sent == 0)
        return false;
    size_t cap = sa->init_req.len + 8 + NS_COOKIE_LEN;
    uint8_t *again = malloc(cap);
    char why_again[256];
    bool ok = false;
    for (int prev = 0; again && prev < 2 && !ok; prev++) {
        if (ns_eng_init_req_cookied(e, sa, prev, again, cap, &in.real_msg_len) != 0)
            continue;
        in.real_msg = again;
        ok = auth_verifies(e, sa, peer, pl, cid, auth, &in, proved, why_again, sizeof(why_again));
    }
    free(again);
    return ok;
}

static void mark_established(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    /* The IKE_SA_INIT messages and EAP's MSK were only needed for the AUTH
     * payloads. */
    ns_msgbuf_clear(&sa->init_req);
    ns_msgbuf_clear(&sa->init_resp);
    ns_eng_eap_free(sa);
    sa->established_ms = e->now;
    e->ctr.ike_established++;
    ns_eng_sa_state(e, sa, NS_IKE_ST_ESTABLISHED, "IKE_AUTH done");
    ns_eng_log_established(e, sa);
}

/* ================= initiator (client) ================= */

/* IDi, [CERT], INITIAL_CONTACT, [CERTREQ], [IDr], AUTH (not with EAP), CP
 * (tunnel mode) or USE_TRANSPORT_MODE, SA, TSi, TSr. */
static int build_auth_request(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    const struct ns_conf *c = e->conf;
    const struct ns_conf_peer *p = sa->peer;
    uint8_t auth[NS_AUTH_DATA_MAX], spi[4], method;
    size_t auth_len;
    struct ns_ike_sa offer;
    bool certs = p->auth == NS_CONF_AUTH_PUBKEY;
    /* With EAP no AUTH now (2.16): the gateway's EAP Request answers. */
    bool eap = p->auth == NS_CONF_AUTH_EAP_MSCHAPV2;
    ns_put_u32(spi, sa->pending_spi);
    if ((!eap && ns_eng_our_auth(e, sa, &method, auth, &auth_len) != 0) ||
        ns_sa_offer(p->esp, p->n_esp, NS_PROTO_ESP, spi, 4, NS_SA_F_NO_DH, &offer) != NS_SA_OK)
        return -1;
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_IKE_AUTH, false, 1) != 0)
        return -1;
    ns_ike_add_id(&b, NS_PL_IDI, c->local_id.type, c->local_id.data, c->local_id.len);
    if (certs)
        ns_eng_cert_add_certs(e->conf, &b);
    /* We keep no other SA with this gateway: it may drop stale ones (2.4). */
    if (c->initial_contact)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INITIAL_CONTACT, NULL, 0);
    if (certs || eap)
        ns_eng_cert_add_certreq(e->conf, &b);
    if (c->remote_id.type)
        ns_ike_add_id(&b, NS_PL_IDR, c->remote_id.type, c->remote_id.data, c->remote_id.len);
    if (!eap)
        ns_ike_add_auth(&b, method, auth, auth_len);
    ns_eng_qcd_offer(e, sa, &b); /* after AUTH, before CP and the CHILD_SA (RFC 6290 4.2) */
    if (sa->want_transport)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_USE_TRANSPORT_MODE, NULL, 0);
    else
        ns_eng_auth_child_add_cp_request(&b, &e->client_vip_hint, &e->client_vip6_hint,
                                         e->client_vip6_hint_len,
                                         sa->prop->n_tsi > 1 ? ns_eng_auth_child_want6(sa) : 0);
    ns_eng_mobike_auth_add(e, sa, &b);
    ns_ike_add_sa(&b, &offer);
    ns_ike_add_ts(&b, NS_PL_TSI, sa->prop->tsi, sa->prop->n_tsi);
    ns_ike_add_ts(&b, NS_PL_TSR, sa->prop->tsr, sa->prop->n_tsr);
    return ns_eng_sk_end(e, sa, &b);
}

int ns_eng_auth_start(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->pending_spi = e->ops.alloc_spi(e->ops.ctx);
    if (!sa->pending_spi) {
        NS_ERR("ike: IKE SA %016llx: no inbound SPI available", (unsigned long long)sa->id);
        return -1;
    }
    sa->want_transport = sa->peer->mode == NS_ESP_TRANSPORT;
    if (ns_eng_auth_child_propose(e, sa) != 0)
        return -1;
    int len = build_auth_request(e, sa);
    if (len < 0)
        return -1;
    sa->next_req_id = 2;
    return ns_eng_request(e, sa, NS_REQ_AUTH, 1, e->buf, (size_t)len);
}

void ns_eng_auth_client_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const char *why,
                               bool tell_peer)
{
    char ep[NS_ENDPOINT_STRLEN];
    NS_ERR("ike: authentication with gateway %s failed: %s", ns_endpoint_str(&sa->remote, ep), why);
    e->ctr.auth_failures++;
    if (tell_peer)
        ns_eng_info_notify_once(e, sa, NS_N_AUTHENTICATION_FAILED);
    ns_eng_sa_kill(e, sa, NS_IKE_DOWN_AUTH_FAILED);
}

/* What the gateway's AUTHENTICATION_FAILED most likely means. */
static const char *refusal_hint(enum ns_conf_auth auth)
{
    switch (auth) {
    case NS_CONF_AUTH_PUBKEY:
        return "the gateway answered AUTHENTICATION_FAILED (does it trust our certificate's CA, "
               "and does the certificate hold our identity?)";
    case NS_CONF_AUTH_EAP_MSCHAPV2:
        return "the gateway answered AUTHENTICATION_FAILED (does its [peer] section for our "
               "identity say auth = eap-mschapv2, and does it know our user name?)";
    default:
        return "the gateway answered AUTHENTICATION_FAILED (wrong PSK or identity?)";
    }
}

bool ns_eng_auth_client_gateway(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                const struct ns_ike_payloads *in, struct ns_ike_id *idr)
{
    uint16_t err = ns_ike_first_error_notify(in, NULL);
    if (err == NS_N_AUTHENTICATION_FAILED) {
        ns_eng_auth_client_failed(e, sa, refusal_hint(sa->peer->auth), false);
        return false;
    }
    struct ns_ike_id id;
    struct ns_conf_id cid;
    struct ns_ike_auth auth;
    const struct ns_ike_payload *ap = ns_ike_find(in, NS_PL_AUTH);
    if (!id_from_payload(ns_ike_find(in, NS_PL_IDR), &id, &cid) || !ap ||
        ns_ike_parse_auth(ap, &auth) != NS_IKE_OK) {
        char why[96];
        snprintf(why, sizeof(why), "no IDr or AUTH in the answer%s%s", err ? ": " : "",
                 err ? ns_eng_notify_name(err) : "");
        ns_eng_auth_client_failed(e, sa, why, false);
        return false;
    }
    const struct ns_conf_id *want = &e->conf->remote_id;
    if (want->type && !ns_conf_id_same(want, &cid)) {
        char a[NS_CONF_ID_STRLEN], b[NS_CONF_ID_STRLEN], why[2 * NS_CONF_ID_STRLEN + 64];
        snprintf(why, sizeof(why), "the gateway is '%s', expected '%s'", ns_eng_id_str(&cid, a),
                 ns_eng_id_str(want, b));
        ns_eng_auth_client_failed(e, sa, why, true);
        return false;
    }
    char why[1024];
    if (!ns_eng_peer_auth_ok(e, sa, sa->peer, in, &id, &cid, &auth, NULL, why, sizeof(why))) {
        if (sa->peer->auth == NS_CONF_AUTH_PSK && auth.method == NS_AUTH_SHARED_KEY_MIC)
            snprintf(why, sizeof(why), "the gateway's AUTH does not verify (wrong PSK?)");
        ns_eng_auth_client_failed(e, sa, why, true);
        return false;
    }
    sa->remote_id = cid;
    if (idr)
        *idr = id;
    return true;
}

void ns_eng_auth_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                          const struct ns_ike_payloads *in)
{
    ns_eng_request_done(e, sa);
    if (sa->state == NS_IKE_ST_DEAD)
        return; /* a deletion that waited for this exchange */
    if (sa->peer->auth == NS_CONF_AUTH_EAP_MSCHAPV2) {
        ns_eng_eap_client_response(e, sa, in);
        return;
    }
    if (!ns_eng_auth_client_gateway(e, sa, in, NULL))
        return;
    ns_eng_auth_client_finish(e, sa, in);
}

void ns_eng_auth_client_finish(struct ns_ike_engine *e, struct ns_ikesa *sa,
                               const struct ns_ike_payloads *in)
{
    uint16_t err = ns_ike_first_error_notify(in, NULL);
    struct ns_ike_ts_list tsi, tsr;
    const char *why =
        err ? ns_eng_notify_name(err) : ns_eng_auth_child_accept(e, sa, in, &tsi, &tsr);
    mark_established(e, sa); /* authenticated, with or without a CHILD_SA (1.2) */
    if (why) {
        NS_ERR("ike: IKE SA %016llx: no CHILD SA: %s; deleting the IKE SA",
               (unsigned long long)sa->id, why);
        if (err == NS_N_FAILED_CP_REQUIRED && sa->want_transport)
            NS_ERR("ike: the gateway wants tunnel mode with a virtual IP: its [peer] section "
                   "for us does not say 'mode = transport'");
        if (err == NS_N_NO_ADDITIONAL_SAS && sa->want_transport && sa->nat_local)
            NS_ERR("ike: transport mode behind a NAT: the gateway takes one transport-mode "
                   "host per NAT address (RFC 7296 2.23.1); is another host behind this NAT "
                   "connected in transport mode?");
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return;
    }
    if (sa->vip.family)
        e->client_vip_hint = sa->vip;
    if (sa->vip6.family) {
        e->client_vip6_hint = sa->vip6;
        e->client_vip6_hint_len = sa->vip6_len;
    }
    ns_eng_mobike_auth_seen(e, sa, in, sa->want_transport);
    ns_eng_qcd_seen(e, sa, in);
    /* With a delegated prefix the TUN device takes its second address:
     * its first is the subnet-router anycast address (RFC 4291 2.6.1). */
    struct ns_addr own6 = sa->vip6;
    if (own6.family && sa->vip6_len < 128)
        own6.a[15] |= 1;
    if (e->ops.client_up)
        e->ops.client_up(e->ops.ctx, sa->id, &sa->vip, &own6, tsr.ts, tsr.n, sa->dns, sa->n_dns);
}

/* ================= responder (gateway) ================= */

void ns_eng_auth_gw_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                           const char *why)
{
    char ep[NS_ENDPOINT_STRLEN];
    NS_ENG_LOG_LIMITED(e, NS_ENG_RL_AUTH, NS_LOG_WARN,
                       "ike: IKE_AUTH from %s: authentication failed: %s",
                       ns_endpoint_str(&rx->remote, ep), why);
    e->ctr.auth_failures++;
    ns_eng_respond_notify(e, sa, rx, NS_IKE_AUTH, NS_N_AUTHENTICATION_FAILED, NULL, 0);
    ns_eng_sa_kill(e, sa, NS_IKE_DOWN_AUTH_FAILED);
}

/* Who the client is (R3) and whether its AUTH proves it; a client of an
 * EAP section sends no AUTH (2.16) and is let through to EAP. Returns the
 * peer section (its IDi in *cid and *id), or NULL after failing the SA. */
static const struct ns_conf_peer *gw_authenticate(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                                  const struct ns_ike_rx *rx,
                                                  const struct ns_ike_payloads *in,
                                                  struct ns_conf_id *cid, struct ns_ike_id *id)
{
    char a[NS_CONF_ID_STRLEN], b[NS_CONF_ID_STRLEN], c[NS_CONF_ID_STRLEN];
    char why[3 * NS_CONF_ID_STRLEN + 1024];
    struct ns_ike_id idr;
    struct ns_conf_id want;
    struct ns_ike_auth auth;
    const struct ns_ike_payload *ap = ns_ike_find(in, NS_PL_AUTH);
    const struct ns_ike_payload *rp = ns_ike_find(in, NS_PL_IDR);
    if (!id_from_payload(ns_ike_find(in, NS_PL_IDI), id, cid) ||
        (ap && ns_ike_parse_auth(ap, &auth) != NS_IKE_OK)) {
        ns_eng_auth_gw_failed(e, sa, rx, "no valid IDi or AUTH payload");
        return NULL;
    }
    const struct ns_conf_peer *peer = ns_conf_find_peer_same(e->conf, cid);
    if (!peer) {
        snprintf(why, sizeof(why), "unknown identity '%s' (no [peer] section, no %%default)",
                 ns_eng_id_str(cid, a));
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return NULL;
    }
    if (rp && (!id_from_payload(rp, &idr, &want) || !ns_conf_id_same(&want, &e->conf->local_id))) {
        snprintf(why, sizeof(why), "'%s' asks for gateway identity '%s', we are '%s'",
                 ns_eng_id_str(cid, a), ns_eng_id_str(&want, b),
                 ns_eng_id_str(&e->conf->local_id, c));
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return NULL;
    }
    bool eap = peer->auth == NS_CONF_AUTH_EAP_MSCHAPV2;
    if (eap != !ap) {
        snprintf(why, sizeof(why),
                 eap ? "'%s' sends an AUTH payload, its [peer %s] says auth = %s: it must log in "
                       "with EAP (no AUTH in its first IKE_AUTH)"
                     : "'%s' sends no AUTH payload (it wants EAP), its [peer %s] says auth = %s",
                 ns_eng_id_str(cid, a), peer->name, ns_conf_auth_name(peer->auth));
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return NULL;
    }
    if (eap)
        return peer;
    const struct ns_conf_peer *proved = NULL;
    if (!ns_eng_peer_auth_ok(e, sa, peer, in, id, cid, &auth, &proved, why, sizeof(why))) {
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return NULL;
    }
    if (proved && proved != peer) {
        if (proved->auth != NS_CONF_AUTH_PUBKEY) {
            snprintf(why, sizeof(why),
                     "the certificate of '%s' names [peer %s], which says auth = %s: that "
                     "identity may not use a certificate",
                     ns_eng_id_str(cid, a), proved->name, ns_conf_auth_name(proved->auth));
            ns_eng_auth_gw_failed(e, sa, rx, why);
            return NULL;
        }
        NS_INFO("ike: IKE SA %016llx: '%s' has [peer %s] by the names of its certificate",
                (unsigned long long)sa->id, ns_eng_id_str(cid, a), proved->name);
        peer = proved;
    }
    return peer;
}

/* IDr, AUTH, then CP (tunnel mode) or USE_TRANSPORT_MODE, SA, TSi, TSr (or the
 * CHILD_SA's error notify). After EAP, AUTH (from the MSK) without IDr
 * and CERT: the client has both from the first answer (2.16). */
static int build_auth_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                               const struct ns_ike_rx *rx, uint16_t child_err,
                               const struct ns_auth_gw_child *gc)
{
    const struct ns_conf_id *me = &e->conf->local_id;
    uint8_t auth[NS_AUTH_DATA_MAX], spi[4], method;
    size_t auth_len;
    struct ns_ike_sa resp;
    bool after_eap = ns_eng_eap_msk(sa);
    ns_put_u32(spi, gc->spi_in);
    if (ns_eng_our_auth(e, sa, &method, auth, &auth_len) != 0 ||
        (!child_err && ns_sa_response(&gc->choice, spi, 4, NS_SA_F_NO_DH, &resp) != NS_SA_OK))
        return -1;
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_IKE_AUTH, true, rx->msg_id) != 0)
        return -1;
    if (!after_eap)
        ns_ike_add_id(&b, NS_PL_IDR, me->type, me->data, me->len);
    if (!after_eap && sa->peer->auth == NS_CONF_AUTH_PUBKEY)
        ns_eng_cert_add_certs(e->conf, &b);
    ns_ike_add_auth(&b, method, auth, auth_len);
    ns_eng_qcd_answer(e, sa, &b);
    if (child_err) {
        ns_ike_add_notify(&b, 0, NULL, 0, child_err, NULL, 0);
    } else {
        if (gc->transport)
            ns_ike_add_notify(&b, 0, NULL, 0, NS_N_USE_TRANSPORT_MODE, NULL, 0);
        else
            ns_eng_auth_child_add_cp_reply(e, &b, sa, gc);
        ns_ike_add_sa(&b, &resp);
        ns_ike_add_ts(&b, NS_PL_TSI, gc->tsi, gc->n_tsi);
        ns_ike_add_ts(&b, NS_PL_TSR, gc->tsr, gc->n_tsr);
    }
    ns_eng_mobike_auth_add(e, sa, &b);
    return ns_eng_sk_end(e, sa, &b);
}

void ns_eng_auth_request(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_payloads *in)
{
    if (sa->state == NS_IKE_ST_EAP_SENT || sa->state == NS_IKE_ST_EAP_DONE) {
        ns_eng_eap_gw_request(e, sa, rx, in);
        return;
    }
    struct ns_conf_id cid;
    struct ns_ike_id id;
    const struct ns_conf_peer *peer = gw_authenticate(e, sa, rx, in, &cid, &id);
    if (!peer)
        return;
    sa->peer = peer;
    if (peer->auth == NS_CONF_AUTH_EAP_MSCHAPV2) {
        ns_eng_eap_gw_start(e, sa, rx, in, &id);
        return;
    }
    sa->remote_id = cid;
    ns_eng_auth_gw_finish(e, sa, rx, in);
}

void ns_eng_auth_gw_finish(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                           const struct ns_ike_payloads *in)
{
    char why[NS_CONF_ID_STRLEN + 128];
    if (!ns_eng_identity_admit(e, sa, ns_ike_find_notify(in, NS_N_INITIAL_CONTACT) != NULL, why,
                               sizeof(why))) {
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return;
    }
    ns_eng_index_ident(e, sa);
    struct ns_auth_gw_child gc;
    memset(&gc, 0, sizeof(gc));
    uint16_t child_err = ns_eng_auth_child_grant(e, sa, in, &gc);
    ns_eng_mobike_auth_seen(e, sa, in, gc.transport || child_err);
    ns_eng_qcd_seen(e, sa, in);
    int len = build_auth_response(e, sa, rx, child_err, &gc);
    if (len < 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return;
    }
    ns_eng_respond(e, sa, rx, e->buf, (size_t)len);
    mark_established(e, sa);
}