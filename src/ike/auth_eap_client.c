/* The client's side of EAP in IKE_AUTH (RFC 7296 2.16): see auth_eap.h.
 * It logs in with its [peer] section's eap_user and the NT hash of its
 * eap_password, after checking the gateway's certificate and AUTH (X7), and
 * takes EAP-Success only once the gateway proved it knows the password
 * (eap/eap_auth.h). */
#include <stdlib.h>
#include <string.h>

#include "ike/auth_cert.h"
#include "ike/auth_eap.h"

/* Our next IKE_AUTH request: the EAP packet, or (pkt NULL) our AUTH from
 * the MSK. 0, or -1 after killing the SA. */
static int send_request(struct ns_ike_engine *e, struct ns_ikesa *sa, const uint8_t *pkt,
                        size_t len)
{
    uint8_t auth[NS_AUTH_DATA_MAX], method;
    size_t auth_len;
    struct ns_ike_builder b;
    uint32_t id = sa->next_req_id;
    int n = -1;
    if ((pkt || ns_eng_our_auth(e, sa, &method, auth, &auth_len) == 0) &&
        ns_eng_sk_begin(e, sa, &b, NS_IKE_AUTH, false, id) == 0) {
        if (pkt)
            ns_ike_add_eap(&b, pkt, len);
        else
            ns_ike_add_auth(&b, method, auth, auth_len);
        n = ns_eng_sk_end(e, sa, &b);
    }
    if (n < 0 || ns_eng_request(e, sa, NS_REQ_AUTH, id, e->buf, (size_t)n) != 0) {
        NS_ERR("ike: IKE SA %016llx: cannot send our IKE_AUTH request during EAP",
               (unsigned long long)sa->id);
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_NEGOTIATION);
        return -1;
    }
    sa->next_req_id++;
    return 0;
}

static void eap_round(struct ns_ike_engine *e, struct ns_ikesa *sa,
                      const struct ns_ike_payloads *in)
{
    struct ns_eng_eap *x = sa->eap;
    const struct ns_ike_payload *ep = ns_ike_find(in, NS_PL_EAP);
    char why[128];
    if (!ep) {
        uint16_t err = ns_ike_first_error_notify(in, NULL);
        snprintf(why, sizeof(why),
                 "the gateway's IKE_AUTH answer holds no EAP payload%s%s (does its [peer] "
                 "section for us say auth = eap-mschapv2?)",
                 err ? ": " : "", err ? ns_eng_notify_name(err) : "");
        ns_eng_auth_client_failed(e, sa, why, !err);
        return;
    }
    uint8_t pkt[NS_EAP_OUT_MAX];
    struct ns_writer w;
    ns_writer_init(&w, pkt, sizeof(pkt));
    enum ns_eap_step st = ns_eap_peer_input(&x->m.peer, ep->body, ep->body_len, &w);
    char who[NS_EAP_NAME_STRLEN];
    switch (st) {
    case NS_EAP_STEP_SEND:
        if (x->m.peer.why[0])
            NS_INFO("ike: IKE SA %016llx: EAP: %s", (unsigned long long)sa->id, x->m.peer.why);
        if (send_request(e, sa, pkt, ns_writer_len(&w)) == 0 && sa->state == NS_IKE_ST_AUTH_SENT)
            ns_eng_sa_state(e, sa, NS_IKE_ST_EAP_RESP_SENT, "EAP answered");
        return;
    case NS_EAP_STEP_SUCCESS:
        memcpy(x->msk, x->m.peer.msk, sizeof(x->msk));
        x->have_msk = true;
        NS_INFO("ike: IKE SA %016llx: logged in as user '%s' (EAP-MSCHAPv2; the gateway proved "
                "it knows our password); our AUTH from the MSK is next",
                (unsigned long long)sa->id,
                ns_eap_name_str(x->m.peer.user, x->m.peer.user_len, who));
        if (send_request(e, sa, NULL, 0) == 0)
            ns_eng_sa_state(e, sa, NS_IKE_ST_EAP_AUTH_SENT, "EAP-Success");
        return;
    case NS_EAP_STEP_FAILURE:
        /* The gateway knows when it sent EAP-Failure; anything else is
         * ours to tell. */
        ns_eng_auth_client_failed(e, sa, x->m.peer.why,
                                  !(ep->body_len && ep->body[0] == NS_EAP_FAILURE));
        return;
    }
}

/* The gateway's first answer: its identity and certificate AUTH, then
 * EAP begins. */
static void first_answer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                         const struct ns_ike_payloads *in)
{
    struct ns_ike_id idr;
    if (!ns_eng_auth_client_gateway(e, sa, in, &idr))
        return;
    const struct ns_conf_peer *p = sa->peer;
    struct ns_eng_eap *x = calloc(1, sizeof(*x));
    if (!x || !ns_eap_peer_init(&x->m.peer, p->eap_user, p->eap_user_len, p->eap_nt_hash)) {
        free(x);
        ns_eng_auth_client_failed(e, sa, "no memory for EAP", false);
        return;
    }
    sa->eap = x;
    memcpy(x->id_rest, idr.rest, idr.rest_len);
    x->id_rest_len = idr.rest_len;
    x->id = sa->remote_id;
    eap_round(e, sa, in);
}

/* The gateway's AUTH from the MSK over its IDr of the first answer, then
 * the CHILD_SA. */
static void final_answer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                         const struct ns_ike_payloads *in)
{
    struct ns_eng_eap *x = sa->eap;
    char why[1024];
    struct ns_ike_auth auth;
    const struct ns_ike_payload *ap = ns_ike_find(in, NS_PL_AUTH);
    struct ns_ike_id id = ns_eng_eap_peer_id(x);
    if (ns_ike_first_error_notify(in, NULL) == NS_N_AUTHENTICATION_FAILED) {
        ns_eng_auth_client_failed(e, sa,
                                  "the gateway refused our AUTH from the MSK of EAP-MSCHAPv2 "
                                  "(AUTHENTICATION_FAILED)",
                                  false);
        return;
    }
    if (!ap || ns_ike_parse_auth(ap, &auth) != NS_IKE_OK) {
        ns_eng_auth_client_failed(e, sa, "no AUTH in the gateway's last IKE_AUTH answer", true);
        return;
    }
    if (!ns_eng_peer_auth_ok(e, sa, sa->peer, in, &id, &x->id, &auth, NULL, why, sizeof(why))) {
        ns_eng_auth_client_failed(e, sa, why, true);
        return;
    }
    ns_eng_auth_client_finish(e, sa, in);
}

void ns_eng_eap_client_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                const struct ns_ike_payloads *in)
{
    switch (sa->state) {
    case NS_IKE_ST_AUTH_SENT:
        first_answer(e, sa, in);
        break;
    case NS_IKE_ST_EAP_RESP_SENT:
        eap_round(e, sa, in);
        break;
    case NS_IKE_ST_EAP_AUTH_SENT:
        final_answer(e, sa, in);
        break;
    default:
        break;
    }
}
