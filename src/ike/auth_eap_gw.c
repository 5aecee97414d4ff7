/* The gateway's side of EAP in IKE_AUTH (RFC 7296 2.16): see auth_eap.h.
 * The users are the configuration's [user] sections, looked up by the EAP
 * identity the client gives. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ike/auth_cert.h"
#include "ike/auth_eap.h"

static bool find_user(void *ctx, const uint8_t *name, size_t len,
                      uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN])
{
    const struct ns_conf_user *u = ns_conf_find_user(ctx, name, len);
    if (!u)
        return false;
    memcpy(nt_hash, u->nt_hash, NS_MSCHAPV2_HASH_LEN);
    return true;
}

/* What the last answer needs of the first request: its CHILD_SA,
 * configuration and notify payloads (INITIAL_CONTACT, USE_TRANSPORT_MODE). */
static bool kept_type(uint8_t type)
{
    return type == NS_PL_SA || type == NS_PL_TSI || type == NS_PL_TSR || type == NS_PL_CP ||
           type == NS_PL_NOTIFY;
}

static bool keep_first(struct ns_eng_eap *x, const struct ns_ike_payloads *in)
{
    size_t need = 0, off = 0;
    for (unsigned i = 0; i < in->n; i++)
        if (kept_type(in->p[i].type))
            need += in->p[i].body_len;
    if (need > NS_ENG_EAP_KEEP_MAX)
        return false;
    x->kept = malloc(need ? need : 1);
    if (!x->kept)
        return false;
    x->kept_len = need;
    for (unsigned i = 0; i < in->n; i++) {
        if (!kept_type(in->p[i].type))
            continue;
        struct ns_ike_payload *p = &x->first.p[x->first.n++];
        *p = in->p[i];
        memcpy(x->kept + off, in->p[i].body, in->p[i].body_len);
        p->body = x->kept + off;
        off += in->p[i].body_len;
    }
    return true;
}

void ns_eng_eap_free(struct ns_ikesa *sa)
{
    struct ns_eng_eap *x = sa->eap;
    if (!x)
        return;
    if (x->kept) {
        OPENSSL_cleanse(x->kept, x->kept_len);
        free(x->kept);
    }
    OPENSSL_cleanse(x, sizeof(*x)); /* the MSK, an NT hash */
    free(x);
    sa->eap = NULL;
}

int ns_eng_eap_respond(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                       const uint8_t *pkt, size_t len, uint16_t notify)
{
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_IKE_AUTH, true, rx->msg_id) != 0)
        return -1;
    ns_ike_add_eap(&b, pkt, len);
    if (notify)
        ns_ike_add_notify(&b, 0, NULL, 0, notify, NULL, 0);
    int n = ns_eng_sk_end(e, sa, &b);
    if (n < 0)
        return -1;
    ns_eng_respond(e, sa, rx, e->buf, (size_t)n);
    return 0;
}

/* IDr, our certificate and its AUTH (X7), and the first EAP Request. */
static int first_answer(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                        const uint8_t *pkt, size_t len)
{
    const struct ns_conf_id *me = &e->conf->local_id;
    uint8_t auth[NS_AUTH_DATA_MAX], method;
    size_t auth_len;
    struct ns_ike_builder b;
    if (ns_eng_our_auth(e, sa, &method, auth, &auth_len) != 0 ||
        ns_eng_sk_begin(e, sa, &b, NS_IKE_AUTH, true, rx->msg_id) != 0)
        return -1;
    ns_ike_add_id(&b, NS_PL_IDR, me->type, me->data, me->len);
    ns_eng_cert_add_certs(e->conf, &b);
    ns_ike_add_auth(&b, method, auth, auth_len);
    ns_ike_add_eap(&b, pkt, len);
    int n = ns_eng_sk_end(e, sa, &b);
    if (n < 0)
        return -1;
    ns_eng_respond(e, sa, rx, e->buf, (size_t)n);
    return 0;
}

void ns_eng_eap_gw_start(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_payloads *in, const struct ns_ike_id *id)
{
    char who[NS_CONF_ID_STRLEN], me[NS_CONF_ID_STRLEN];
    struct ns_eng_eap *x = calloc(1, sizeof(*x));
    if (!x || !keep_first(x, in)) {
        free(x);
        ns_eng_auth_gw_failed(e, sa, rx,
                              "its first IKE_AUTH request cannot be kept for EAP (more than 4 KB "
                              "of CHILD_SA payloads, or no memory)");
        return;
    }
    sa->eap = x;
    x->backend = e->conf->eap_backend == NS_CONF_EAP_RADIUS;
    memcpy(x->id_rest, id->rest, id->rest_len);
    x->id_rest_len = id->rest_len;
    x->id.type = id->type;
    memcpy(x->id.data, id->data, id->len);
    x->id.len = id->len;
    uint8_t pkt[NS_EAP_OUT_MAX];
    struct ns_writer w;
    ns_writer_init(&w, pkt, sizeof(pkt));
    if (ns_eap_server_begin(&x->m.server, ns_eng_id_str(&e->conf->local_id, me), &w) !=
            NS_EAP_STEP_SEND ||
        first_answer(e, sa, rx, pkt, ns_writer_len(&w)) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return;
    }
    ns_eng_sa_state(e, sa, NS_IKE_ST_EAP_SENT, "EAP-Identity asked");
    NS_INFO("ike: IKE SA %016llx: '%s' logs in with %s ([peer %s]); EAP-Identity asked",
            (unsigned long long)sa->id, ns_eng_id_str(&x->id, who), ns_eng_eap_method(x),
            sa->peer->name);
}

/* The identity the client proved: its EAP identity (the user name), as an
 * e-mail address when it has an '@', else a name. */
static void eap_identity(const struct ns_eap_server *s, struct ns_conf_id *out)
{
    memset(out, 0, sizeof(*out));
    out->type =
        memchr(s->identity, '@', s->identity_len) ? NS_CONF_ID_RFC822_ADDR : NS_CONF_ID_FQDN;
    memcpy(out->data, s->identity, s->identity_len);
    out->len = s->identity_len;
}

const char *ns_eng_eap_method(const struct ns_eng_eap *x)
{
    return x->backend ? "EAP on RADIUS" : "EAP-MSCHAPv2";
}

void ns_eng_eap_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                       const uint8_t *pkt, size_t len, const char *method, const char *why)
{
    char ep[NS_ENDPOINT_STRLEN];
    NS_ENG_LOG_LIMITED(e, NS_ENG_RL_AUTH, NS_LOG_WARN,
                       "ike: IKE_AUTH from %s: authentication failed: %s: %s",
                       ns_endpoint_str(&rx->remote, ep), method, why);
    e->ctr.auth_failures++;
    /* EAP-Failure ends EAP, AUTHENTICATION_FAILED the IKE SA. */
    if (len == 0 || ns_eng_eap_respond(e, sa, rx, pkt, len, NS_N_AUTHENTICATION_FAILED) != 0)
        ns_eng_respond_notify(e, sa, rx, NS_IKE_AUTH, NS_N_AUTHENTICATION_FAILED, NULL, 0);
    ns_eng_sa_kill(e, sa, NS_IKE_DOWN_AUTH_FAILED);
}

static void eap_round(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                      const struct ns_ike_payloads *in)
{
    struct ns_eng_eap *x = sa->eap;
    const struct ns_ike_payload *ep = ns_ike_find(in, NS_PL_EAP);
    if (!ep) {
        ns_eng_auth_gw_failed(e, sa, rx, "no EAP payload in its IKE_AUTH request during EAP");
        return;
    }
    if (x->backend) {
        ns_eng_eap_backend_round(e, sa, rx, ep);
        return;
    }
    uint8_t pkt[NS_EAP_OUT_MAX];
    struct ns_writer w;
    ns_writer_init(&w, pkt, sizeof(pkt));
    enum ns_eap_step st =
        ns_eap_server_input(&x->m.server, ep->body, ep->body_len, find_user, (void *)e->conf, &w);
    size_t len = ns_writer_ok(&w) ? ns_writer_len(&w) : 0;
    char who[NS_EAP_NAME_STRLEN];
    switch (st) {
    case NS_EAP_STEP_SEND:
        if (x->m.server.why[0])
            NS_DBG("ike: IKE SA %016llx: EAP: %s", (unsigned long long)sa->id, x->m.server.why);
        if (ns_eng_eap_respond(e, sa, rx, pkt, len, 0) != 0)
            ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return;
    case NS_EAP_STEP_SUCCESS:
        memcpy(x->msk, x->m.server.msk, sizeof(x->msk));
        x->have_msk = true;
        if (ns_eng_eap_respond(e, sa, rx, pkt, len, 0) != 0) {
            ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
            return;
        }
        ns_eng_sa_state(e, sa, NS_IKE_ST_EAP_DONE, "EAP-Success sent");
        NS_INFO("ike: IKE SA %016llx: user '%s' passed EAP-MSCHAPv2; its AUTH from the MSK is next",
                (unsigned long long)sa->id,
                ns_eap_name_str(x->m.server.identity, x->m.server.identity_len, who));
        return;
    case NS_EAP_STEP_FAILURE:
        ns_eng_eap_failed(e, sa, rx, pkt, len, "EAP-MSCHAPv2", x->m.server.why);
        return;
    }
}

/* The client's AUTH from the MSK (2.16), over its IDi of the first
 * request; then it is the user it logged in as. */
static void final_auth(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                       const struct ns_ike_payloads *in)
{
    struct ns_eng_eap *x = sa->eap;
    char who[NS_EAP_NAME_STRLEN], idi[NS_CONF_ID_STRLEN], why[1100 + NS_EAP_NAME_STRLEN];
    char reason[1024];
    struct ns_ike_auth auth;
    const struct ns_ike_payload *ap = ns_ike_find(in, NS_PL_AUTH);
    struct ns_ike_id id = ns_eng_eap_peer_id(x);
    ns_eap_name_str(x->m.server.identity, x->m.server.identity_len, who);
    if (!ap || ns_ike_parse_auth(ap, &auth) != NS_IKE_OK) {
        snprintf(why, sizeof(why), "user '%s' sends no AUTH after EAP-Success", who);
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return;
    }
    if (!ns_eng_peer_auth_ok(e, sa, sa->peer, in, &id, &x->id, &auth, NULL, reason,
                             sizeof(reason))) {
        snprintf(why, sizeof(why), "user '%s' (%s): %s", who, ns_eng_eap_method(x), reason);
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return;
    }
    /* The section the RADIUS server's Class named: its subnets (R9, R17). */
    const struct ns_conf_peer *cls =
        x->class_name[0] ? ns_eng_eap_class_peer(e, x->class_name) : sa->peer;
    if (!cls) {
        snprintf(why, sizeof(why), "user '%s': the [peer %s] of its RADIUS class is gone (reload)",
                 who, x->class_name);
        ns_eng_auth_gw_failed(e, sa, rx, why);
        return;
    }
    sa->peer = cls;
    eap_identity(&x->m.server, &sa->remote_id);
    NS_INFO("ike: IKE SA %016llx: user '%s' authenticated by %s (IDi '%s', [peer %s])",
            (unsigned long long)sa->id, who, ns_eng_eap_method(x), ns_eng_id_str(&x->id, idi),
            sa->peer->name);
    ns_eng_auth_gw_finish(e, sa, rx, &x->first);
}

void ns_eng_eap_gw_request(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                           const struct ns_ike_payloads *in)
{
    if (sa->state == NS_IKE_ST_EAP_DONE)
        final_auth(e, sa, rx, in);
    else
        eap_round(e, sa, rx, in);
}
