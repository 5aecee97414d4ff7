/* The gateway's EAP on a backend server (eap_backend = radius, X16, RFC
 * 3579): after natsec's own EAP-Identity request (auth_eap_gw.c), every
 * EAP packet of the client goes to the server through ops->eap_backend
 * and the client's IKE_AUTH request waits; its answer is made when the
 * server's comes (ns_ike_engine_eap_answer). The engine does no I/O, so
 * the wait is state: x->pending and the request's rx. A retransmission of
 * the waiting request is dropped by the engine's message-ID window (its
 * ID was taken), and answered from the response cache once the answer
 * went out. The whole login stays inside the half-open bound and timeout
 * (R15) like EAP-MSCHAPv2's.
 *
 * The server's Access-Accept brings the MSK (the AUTH payloads are
 * computed from it), Framed-IP-Address (the client's virtual IP) and a
 * Class or Filter-Id naming the [peer] section whose subnets the user
 * gets (R9, R17). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "ike/auth_eap.h"

/* EAP-TLS and PEAP take a round per ~1 KB fragment of the server's
 * certificate chain; this leaves room for long chains, and still ends a
 * login that never does. */
#define BACKEND_ROUNDS_MAX 40
#define NS_STR2(x) #x
#define NS_STR(x) NS_STR2(x)
/* What fits an IKE_AUTH answer of NS_IKE_BUF bytes with its headers. */
#define BACKEND_EAP_MAX 3072

/* Refuses the login; the log line names the user (never a password: none
 * passes through here) and why. */
static void backend_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                           const uint8_t *pkt, size_t len, const char *reason)
{
    struct ns_eng_eap *x = sa->eap;
    char who[NS_EAP_NAME_STRLEN], why[NS_EAP_NAME_STRLEN + 2 * NS_EAPB_WHY_MAX];
    if (x->m.server.identity_len)
        snprintf(why, sizeof(why), "user '%s': %s",
                 ns_eap_name_str(x->m.server.identity, x->m.server.identity_len, who), reason);
    else
        snprintf(why, sizeof(why), "%s", reason);
    ns_eng_eap_failed(e, sa, rx, pkt, len, "EAP on RADIUS", why);
}

/* The first Response: the user name the server is asked about
 * (User-Name). */
static bool take_identity(struct ns_eng_eap *x, const struct ns_eap *p)
{
    if (p->type != NS_EAP_T_IDENTITY || p->data_len == 0 || p->data_len > NS_EAP_IDENTITY_MAX ||
        memchr(p->data, 0, p->data_len))
        return false;
    memcpy(x->m.server.identity, p->data, p->data_len);
    x->m.server.identity_len = p->data_len;
    return true;
}

void ns_eng_eap_backend_round(struct ns_ike_engine *e, struct ns_ikesa *sa,
                              const struct ns_ike_rx *rx, const struct ns_ike_payload *ep)
{
    struct ns_eng_eap *x = sa->eap;
    struct ns_eap p;
    if (ep->body_len > NS_EAPB_EAP_MAX || ns_eap_parse(ep->body, ep->body_len, &p) != NS_EAP_OK ||
        p.code != NS_EAP_RESPONSE) {
        backend_failed(e, sa, rx, NULL, 0, "a malformed EAP Response");
        return;
    }
    if (x->m.server.identity_len == 0 && !take_identity(x, &p)) {
        backend_failed(e, sa, rx, NULL, 0,
                       "its first EAP Response is no Identity of 1 to 253 bytes of text");
        return;
    }
    if (++x->backend_rounds > BACKEND_ROUNDS_MAX) {
        backend_failed(e, sa, rx, NULL, 0, "more than " NS_STR(BACKEND_ROUNDS_MAX) " EAP rounds");
        return;
    }
    struct ns_eapb_request rq = {.ike_sa_id = sa->id,
                                 .user = x->m.server.identity,
                                 .user_len = x->m.server.identity_len,
                                 .eap = ep->body,
                                 .eap_len = p.len,
                                 .state = x->state,
                                 .state_len = x->state_len,
                                 .client = rx->remote};
    if (!e->ops.eap_backend || e->ops.eap_backend(e->ops.ctx, &rq) != 0) {
        backend_failed(e, sa, rx, NULL, 0,
                       "the request cannot go to the RADIUS servers (too many in flight?)");
        return;
    }
    x->pending = true;
    x->pending_rx = *rx;
    x->last_eap_id = p.id;
}

const struct ns_conf_peer *ns_eng_eap_class_peer(const struct ns_ike_engine *e, const char *name)
{
    struct ns_conf_id id;
    const struct ns_conf_peer *p =
        ns_conf_id_parse(name, &id) == 0 ? ns_conf_find_peer(e->conf, &id) : NULL;
    return p && !p->is_default && p->auth == NS_CONF_AUTH_EAP_MSCHAPV2 ? p : NULL;
}

/* Access-Accept: the MSK, the virtual IP, the class; EAP-Success out. */
static void accepted(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                     const struct ns_eapb_answer *a)
{
    struct ns_eng_eap *x = sa->eap;
    char who[NS_EAP_NAME_STRLEN];
    if (a->msk_len == 0) {
        backend_failed(e, sa, rx, NULL, 0,
                       "Access-Accept without MS-MPPE keys: an EAP method without an MSK is not "
                       "taken (RFC 7296 2.16 would fall back to a key the server never checked)");
        return;
    }
    const struct ns_conf_peer *cls = NULL;
    if (a->class_name[0]) {
        cls = ns_eng_eap_class_peer(e, a->class_name);
        if (!cls) {
            char why[NS_EAPB_CLASS_MAX + 128];
            snprintf(why, sizeof(why),
                     "the RADIUS server gives class '%s', and no [peer] section of that name "
                     "says auth = eap-mschapv2",
                     a->class_name);
            backend_failed(e, sa, rx, NULL, 0, why);
            return;
        }
    }
    uint8_t success[NS_EAP_HDR_LEN] = {NS_EAP_SUCCESS, x->last_eap_id, 0, NS_EAP_HDR_LEN};
    bool theirs = a->eap_len >= NS_EAP_HDR_LEN && a->eap[0] == NS_EAP_SUCCESS;
    if (ns_eng_eap_respond(e, sa, rx, theirs ? a->eap : success,
                           theirs ? a->eap_len : sizeof(success), 0) != 0) {
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return;
    }
    memset(x->msk, 0, sizeof(x->msk));
    memcpy(x->msk, a->msk, a->msk_len);
    x->have_msk = true;
    snprintf(x->class_name, sizeof(x->class_name), "%s", a->class_name);
    x->have_framed_ip = a->have_framed_ip;
    if (a->have_framed_ip)
        ns_addr_from_ipv4(&x->framed_ip, a->framed_ip);
    ns_eng_sa_state(e, sa, NS_IKE_ST_EAP_DONE, "EAP-Success sent");
    NS_INFO("ike: IKE SA %016llx: the RADIUS server accepted user '%s'%s%s%s; its AUTH from the "
            "MSK is next",
            (unsigned long long)sa->id,
            ns_eap_name_str(x->m.server.identity, x->m.server.identity_len, who),
            cls ? " with class '" : "", cls ? cls->name : "", cls ? "'" : "");
}

void ns_ike_engine_eap_answer(struct ns_ike_engine *e, uint64_t ike_sa_id,
                              const struct ns_eapb_answer *a, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = ns_eng_find_id(e, ike_sa_id);
    if (!sa || sa->state != NS_IKE_ST_EAP_SENT || !sa->eap || !sa->eap->pending)
        return;
    struct ns_eng_eap *x = sa->eap;
    struct ns_ike_rx rx = x->pending_rx;
    x->pending = false;
    switch (a->verdict) {
    case NS_EAPB_CHALLENGE:
        if (a->eap_len > BACKEND_EAP_MAX || a->eap[0] != NS_EAP_REQUEST) {
            backend_failed(e, sa, &rx, NULL, 0,
                           "the RADIUS server's EAP packet is no Request, or too long for IKE");
            return;
        }
        memcpy(x->state, a->state, a->state_len);
        x->state_len = a->state_len;
        if (ns_eng_eap_respond(e, sa, &rx, a->eap, a->eap_len, 0) != 0)
            ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return;
    case NS_EAPB_ACCEPT:
        accepted(e, sa, &rx, a);
        return;
    case NS_EAPB_REJECT: {
        uint8_t failure[NS_EAP_HDR_LEN] = {NS_EAP_FAILURE, x->last_eap_id, 0, NS_EAP_HDR_LEN};
        backend_failed(e, sa, &rx, failure, sizeof(failure),
                       "the RADIUS server refused the login (Access-Reject)");
        return;
    }
    case NS_EAPB_UNREACHABLE:
        backend_failed(e, sa, &rx, NULL, 0, a->why);
        return;
    }
}

void ns_eng_eap_cancel(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->eap && sa->eap->pending && e->ops.eap_backend_cancel)
        e->ops.eap_backend_cancel(e->ops.ctx, sa->id);
    if (sa->eap)
        sa->eap->pending = false;
}
