/* The peer's side of EAP-Identity then EAP-MSCHAPv2: see eap_auth.h. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "eap/eap_auth.h"
#include "eap/eap_mschapv2.h"

enum peer_state {
    P_START = 1,     /* nothing answered yet, or Identity only */
    P_RESPONDED = 2, /* our MS-CHAPv2 Response is out */
    P_VERIFIED = 3,  /* the authenticator response checked, our acknowledgement out */
    P_REFUSED = 4,   /* an MS-CHAPv2 Failure acknowledged: EAP-Failure comes next */
    P_DONE = 5,      /* EAP-Success taken */
    P_FAILED = 6,
};

static enum ns_eap_step fail(struct ns_eap_peer *p)
{
    p->state = P_FAILED;
    OPENSSL_cleanse(p->msk, sizeof(p->msk));
    return NS_EAP_STEP_FAILURE;
}

bool ns_eap_peer_init(struct ns_eap_peer *p, const char *user, size_t user_len,
                      const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN])
{
    memset(p, 0, sizeof(*p));
    if (user_len == 0 || user_len > NS_EAP_IDENTITY_MAX)
        return false;
    memcpy(p->user, user, user_len);
    p->user_len = user_len;
    memcpy(p->nt_hash, nt_hash, NS_MSCHAPV2_HASH_LEN);
    p->state = P_START;
    return true;
}

/* Keeps what was built into out as our last Response (its Identifier
 * id) and reports it to be sent. */
static enum ns_eap_step answer(struct ns_eap_peer *p, uint8_t id, struct ns_writer *out,
                               size_t start)
{
    size_t n = ns_writer_len(out) - start;
    if (!ns_writer_ok(out) || n > sizeof(p->last)) {
        ns_eap_why(p->why, "our EAP Response does not fit");
        return fail(p);
    }
    memcpy(p->last, out->data + start, n);
    p->last_len = n;
    p->last_id = id;
    p->answered = true;
    return NS_EAP_STEP_SEND;
}

static enum ns_eap_step on_challenge(struct ns_eap_peer *p, const struct ns_eap *e,
                                     const struct ns_eap_mschapv2 *m, struct ns_writer *out)
{
    if (p->state != P_START) {
        ns_eap_why(p->why, "a second MS-CHAPv2 Challenge (natsec does not retry a refused login)");
        return fail(p);
    }
    const char *user;
    size_t user_len;
    ns_mschapv2_strip_domain((const char *)p->user, p->user_len, &user, &user_len);
    memcpy(p->challenge, m->challenge, sizeof(p->challenge));
    if (ns_random_bytes(p->peer_challenge, sizeof(p->peer_challenge)) != 0 ||
        ns_mschapv2_nt_response(p->challenge, p->peer_challenge, user, user_len, p->nt_hash,
                                p->nt_response) != 0) {
        ns_eap_why(p->why,
                   "no MS-CHAPv2 Response could be computed (random bytes, OpenSSL's legacy "
                   "provider)");
        return fail(p);
    }
    size_t start = ns_writer_len(out);
    ns_eap_mschapv2_build_response(out, e->id, m->ms_id, p->peer_challenge, p->nt_response, p->user,
                                   p->user_len);
    p->state = P_RESPONDED;
    return answer(p, e->id, out, start);
}

/* The authenticator's Success: it proves it knows the password (RFC 2759
 * 8.7) before anything of ours is taken as authenticated. */
static enum ns_eap_step on_success(struct ns_eap_peer *p, const struct ns_eap *e,
                                   const struct ns_eap_mschapv2 *m, struct ns_writer *out)
{
    char who[NS_EAP_NAME_STRLEN];
    const uint8_t *auth;
    const char *user;
    size_t user_len;
    ns_eap_name_str(p->user, p->user_len, who);
    if (p->state != P_RESPONDED) {
        ns_eap_why(p->why, "an MS-CHAPv2 Success before our Response");
        return fail(p);
    }
    ns_mschapv2_strip_domain((const char *)p->user, p->user_len, &user, &user_len);
    if (ns_eap_mschapv2_success_auth(m->message, m->message_len, &auth) != NS_EAP_OK ||
        !ns_mschapv2_authenticator_response_ok(p->nt_hash, p->nt_response, p->peer_challenge,
                                               p->challenge, user, user_len, (const char *)auth,
                                               NS_MSCHAPV2_AUTH_RESPONSE_LEN)) {
        ns_eap_why(p->why,
                   "the gateway's MS-CHAPv2 authenticator response is wrong: it does not know the "
                   "password of user '%s' (not the real gateway?)",
                   who);
        return fail(p);
    }
    if (ns_mschapv2_msk(p->nt_hash, p->nt_response, p->msk) != 0) {
        ns_eap_why(p->why, "the MSK could not be computed (OpenSSL)");
        return fail(p);
    }
    size_t start = ns_writer_len(out);
    ns_eap_mschapv2_build_ack(out, e->id, NS_MSCHAPV2_SUCCESS);
    p->state = P_VERIFIED;
    return answer(p, e->id, out, start);
}

static enum ns_eap_step on_failure(struct ns_eap_peer *p, const struct ns_eap *e,
                                   const struct ns_eap_mschapv2 *m, struct ns_writer *out)
{
    struct ns_mschapv2_failure f;
    if (ns_eap_mschapv2_failure_parse(m->message, m->message_len, &f) == NS_EAP_OK)
        snprintf(p->failure, sizeof(p->failure), "MS-CHAPv2 error %u%s", f.error,
                 f.error == 691 ? ": wrong user name or password" : "");
    else
        snprintf(p->failure, sizeof(p->failure), "a malformed MS-CHAPv2 Failure");
    size_t start = ns_writer_len(out);
    ns_eap_mschapv2_build_ack(out, e->id, NS_MSCHAPV2_FAILURE);
    p->state = P_REFUSED;
    return answer(p, e->id, out, start);
}

static enum ns_eap_step on_mschapv2(struct ns_eap_peer *p, const struct ns_eap *e,
                                    struct ns_writer *out)
{
    struct ns_eap_mschapv2 m;
    if (ns_eap_mschapv2_parse(e, &m) != NS_EAP_OK) {
        ns_eap_why(p->why, "a malformed EAP-MSCHAPv2 Request");
        return fail(p);
    }
    switch (m.op) {
    case NS_MSCHAPV2_CHALLENGE:
        return on_challenge(p, e, &m, out);
    case NS_MSCHAPV2_SUCCESS:
        return on_success(p, e, &m, out);
    default:
        return on_failure(p, e, &m, out);
    }
}

/* Success or Failure ends it. Success counts only after the authenticator
 * proved itself with the MS-CHAPv2 Success we checked. */
static enum ns_eap_step on_result(struct ns_eap_peer *p, const struct ns_eap *e)
{
    char who[NS_EAP_NAME_STRLEN];
    ns_eap_name_str(p->user, p->user_len, who);
    if (e->code == NS_EAP_SUCCESS && p->state == P_VERIFIED) {
        p->state = P_DONE;
        return NS_EAP_STEP_SUCCESS;
    }
    if (e->code == NS_EAP_SUCCESS)
        ns_eap_why(p->why,
                   "EAP-Success before the gateway proved it knows the password of user '%s' "
                   "(MS-CHAPv2 Success): not taken",
                   who);
    else
        ns_eap_why(p->why, "the gateway refused user '%s' (EAP-Failure%s%s)", who,
                   p->failure[0] ? ", " : "", p->failure);
    return fail(p);
}

enum ns_eap_step ns_eap_peer_input(struct ns_eap_peer *p, const uint8_t *pkt, size_t len,
                                   struct ns_writer *out)
{
    struct ns_eap e;
    p->why[0] = '\0';
    if (p->state == P_DONE || p->state == P_FAILED || p->state == 0) {
        ns_eap_why(p->why, "an EAP message after the authentication ended");
        return fail(p);
    }
    if (++p->rounds > NS_EAP_MAX_ROUNDS) {
        ns_eap_why(p->why, "more than %d EAP rounds", NS_EAP_MAX_ROUNDS);
        return fail(p);
    }
    if (len > NS_EAP_MAX_PACKET || ns_eap_parse(pkt, len, &e) != NS_EAP_OK ||
        e.code == NS_EAP_RESPONSE) {
        ns_eap_why(p->why, "a malformed or oversized EAP message (%zu bytes), or a Response", len);
        return fail(p);
    }
    if (e.code != NS_EAP_REQUEST)
        return on_result(p, &e);
    if (p->answered && e.id == p->last_id) {
        /* The authenticator did not get our Response: the same again. */
        ns_eap_why(p->why, "the EAP Request with Identifier %u again: our Response again", e.id);
        ns_write_bytes(out, p->last, p->last_len);
        return ns_writer_ok(out) ? NS_EAP_STEP_SEND : fail(p);
    }
    if (p->state == P_VERIFIED || p->state == P_REFUSED) {
        ns_eap_why(p->why, "an EAP %s Request where EAP-Success or EAP-Failure was due",
                   ns_eap_type_name(e.type));
        return fail(p);
    }
    size_t start = ns_writer_len(out);
    switch (e.type) {
    case NS_EAP_T_IDENTITY:
        ns_eap_build(out, NS_EAP_RESPONSE, e.id, NS_EAP_T_IDENTITY, p->user, p->user_len);
        return answer(p, e.id, out, start);
    case NS_EAP_T_NOTIFICATION:
        /* RFC 3748 5.2: acknowledged with an empty Notification. */
        ns_eap_build(out, NS_EAP_RESPONSE, e.id, NS_EAP_T_NOTIFICATION, NULL, 0);
        return answer(p, e.id, out, start);
    case NS_EAP_T_MSCHAPV2:
        return on_mschapv2(p, &e, out);
    case NS_EAP_T_NAK:
    case NS_EAP_T_EXPANDED:
        ns_eap_why(p->why, "an EAP %s Request", ns_eap_type_name(e.type));
        return fail(p);
    default: {
        static const uint8_t ours = NS_EAP_T_MSCHAPV2;
        ns_eap_why(p->why,
                   "the gateway asks for EAP-%s (type %u): answered with a Nak for EAP-MSCHAPv2",
                   ns_eap_type_name(e.type), e.type);
        ns_eap_build_nak(out, e.id, &ours, 1);
        return answer(p, e.id, out, start);
    }
    }
}

void ns_eap_peer_wipe(struct ns_eap_peer *p)
{
    OPENSSL_cleanse(p, sizeof(*p));
}
