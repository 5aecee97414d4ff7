/* The authenticator's side of EAP-Identity then EAP-MSCHAPv2: see
 * eap_auth.h. */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "eap/eap_auth.h"
#include "eap/eap_mschapv2.h"

enum server_state {
    S_IDENTITY = 1,  /* Request/Identity out */
    S_CHALLENGE = 2, /* MS-CHAPv2 Challenge out */
    S_SUCCESS = 3,   /* MS-CHAPv2 Success out: its acknowledgement awaited */
    S_DONE = 4,      /* EAP-Success sent */
    S_FAILED = 5,    /* EAP-Failure sent */
};

void ns_eap_why(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, NS_EAP_WHY_MAX, fmt, ap);
    va_end(ap);
}

/* EAP-Failure answering the Response with our outstanding Identifier. */
static enum ns_eap_step fail(struct ns_eap_server *s, struct ns_writer *out)
{
    s->state = S_FAILED;
    ns_eap_build_result(out, NS_EAP_FAILURE, s->id);
    OPENSSL_cleanse(s->nt_hash, sizeof(s->nt_hash));
    OPENSSL_cleanse(s->msk, sizeof(s->msk));
    return NS_EAP_STEP_FAILURE;
}

/* Our outstanding Request, built again from the state. */
static void request(const struct ns_eap_server *s, struct ns_writer *out)
{
    switch (s->state) {
    case S_IDENTITY:
        ns_eap_build(out, NS_EAP_REQUEST, s->id, NS_EAP_T_IDENTITY, NULL, 0);
        break;
    case S_CHALLENGE:
        ns_eap_mschapv2_build_challenge(out, s->id, s->ms_id, s->challenge, s->name,
                                        strlen(s->name));
        break;
    case S_SUCCESS:
        ns_eap_mschapv2_build_success(out, s->id, s->ms_id, s->auth_response,
                                      "natsec welcomes you");
        break;
    default:
        break;
    }
}

static enum ns_eap_step sent(struct ns_writer *out)
{
    return ns_writer_ok(out) ? NS_EAP_STEP_SEND : NS_EAP_STEP_FAILURE;
}

enum ns_eap_step ns_eap_server_begin(struct ns_eap_server *s, const char *name,
                                     struct ns_writer *out)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name ? name : "natsec");
    if (ns_random_bytes(&s->id, 1) != 0) {
        ns_eap_why(s->why, "no random bytes for the EAP Identifier");
        return NS_EAP_STEP_FAILURE;
    }
    s->state = S_IDENTITY;
    request(s, out);
    return sent(out);
}

/* The identity given: the user looked up (an unknown one is run through
 * a Challenge all the same, so that the exchange does not tell who has an
 * account), then the Challenge. */
static enum ns_eap_step on_identity(struct ns_eap_server *s, const struct ns_eap *p,
                                    ns_eap_user_fn *find, void *ctx, struct ns_writer *out)
{
    const uint8_t *id;
    size_t len;
    if (ns_eap_identity(p, &id, &len) != NS_EAP_OK || len == 0) {
        ns_eap_why(s->why, "the EAP-Identity Response holds no usable identity");
        return fail(s, out);
    }
    memcpy(s->identity, id, len);
    s->identity_len = len;
    s->user_known = find(ctx, id, len, s->nt_hash);
    if (ns_random_bytes(s->challenge, sizeof(s->challenge)) != 0 ||
        (!s->user_known && ns_random_bytes(s->nt_hash, sizeof(s->nt_hash)) != 0)) {
        ns_eap_why(s->why, "no random bytes for the MS-CHAPv2 challenge");
        return fail(s, out);
    }
    s->id++;
    s->ms_id = s->id;
    s->state = S_CHALLENGE;
    request(s, out);
    return sent(out);
}

static enum ns_eap_step on_response(struct ns_eap_server *s, const struct ns_eap *p,
                                    struct ns_writer *out)
{
    char who[NS_EAP_NAME_STRLEN], name[NS_EAP_NAME_STRLEN];
    struct ns_eap_mschapv2 m;
    ns_eap_name_str(s->identity, s->identity_len, who);
    if (ns_eap_mschapv2_parse(p, &m) != NS_EAP_OK || m.op != NS_MSCHAPV2_RESPONSE ||
        m.ms_id != s->ms_id) {
        ns_eap_why(s->why, "user '%s': no MS-CHAPv2 Response to our Challenge", who);
        return fail(s, out);
    }
    if (m.name_len != s->identity_len || memcmp(m.name, s->identity, m.name_len) != 0) {
        ns_eap_why(s->why, "user '%s' answers the MS-CHAPv2 Challenge as '%s'", who,
                   ns_eap_name_str(m.name, m.name_len, name));
        return fail(s, out);
    }
    const char *user;
    size_t user_len;
    ns_mschapv2_strip_domain((const char *)m.name, m.name_len, &user, &user_len);
    /* Checked for an unknown user too (against a random hash), so that
     * the time to answer does not tell either. */
    bool right = ns_mschapv2_nt_response_ok(s->challenge, m.peer_challenge, user, user_len,
                                            s->nt_hash, m.nt_response);
    if (!s->user_known) {
        ns_eap_why(s->why, "unknown user '%s' (no [user] section)", who);
        return fail(s, out);
    }
    if (!right) {
        ns_eap_why(s->why, "user '%s': wrong password (MS-CHAPv2 NT-Response)", who);
        return fail(s, out);
    }
    if (ns_mschapv2_authenticator_response(s->nt_hash, m.nt_response, m.peer_challenge,
                                           s->challenge, user, user_len, s->auth_response) != 0 ||
        ns_mschapv2_msk(s->nt_hash, m.nt_response, s->msk) != 0) {
        ns_eap_why(s->why, "user '%s': MS-CHAPv2 keys could not be computed (OpenSSL)", who);
        return fail(s, out);
    }
    OPENSSL_cleanse(s->nt_hash, sizeof(s->nt_hash));
    s->id++;
    s->state = S_SUCCESS;
    request(s, out);
    return sent(out);
}

static enum ns_eap_step on_ack(struct ns_eap_server *s, const struct ns_eap *p,
                               struct ns_writer *out)
{
    char who[NS_EAP_NAME_STRLEN];
    struct ns_eap_mschapv2 m;
    if (ns_eap_mschapv2_parse(p, &m) != NS_EAP_OK || !m.ack || m.op != NS_MSCHAPV2_SUCCESS) {
        ns_eap_why(s->why, "user '%s' did not acknowledge our MS-CHAPv2 Success",
                   ns_eap_name_str(s->identity, s->identity_len, who));
        return fail(s, out);
    }
    s->state = S_DONE;
    ns_eap_build_result(out, NS_EAP_SUCCESS, s->id);
    return ns_writer_ok(out) ? NS_EAP_STEP_SUCCESS : NS_EAP_STEP_FAILURE;
}

/* The types of a Nak, by name, for the log line. */
static void nak_names(const uint8_t *types, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 8 && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%sEAP-%s (%u)", i ? ", " : "",
                              ns_eap_type_name(types[i]), types[i]);
}

enum ns_eap_step ns_eap_server_input(struct ns_eap_server *s, const uint8_t *pkt, size_t len,
                                     ns_eap_user_fn *find, void *ctx, struct ns_writer *out)
{
    struct ns_eap p;
    s->why[0] = '\0';
    if (s->state == S_DONE || s->state == S_FAILED || s->state == 0) {
        ns_eap_why(s->why, "an EAP message after the authentication ended");
        return fail(s, out);
    }
    if (++s->rounds > NS_EAP_MAX_ROUNDS) {
        ns_eap_why(s->why, "more than %d EAP rounds", NS_EAP_MAX_ROUNDS);
        return fail(s, out);
    }
    if (len > NS_EAP_MAX_PACKET) {
        ns_eap_why(s->why, "an EAP message of %zu bytes (natsec takes at most %d)", len,
                   NS_EAP_MAX_PACKET);
        return fail(s, out);
    }
    if (ns_eap_parse(pkt, len, &p) != NS_EAP_OK || p.code != NS_EAP_RESPONSE) {
        ns_eap_why(s->why, "a malformed EAP message, or an EAP %s where a Response was due",
                   ns_eap_code_name(pkt && len ? pkt[0] : 0));
        return fail(s, out);
    }
    if (p.id != s->id) {
        /* A Response to an earlier Request: ours again (RFC 3748 4.1),
         * bounded by the rounds. */
        ns_eap_why(s->why, "an EAP Response with Identifier %u, %u was due: our Request again",
                   p.id, s->id);
        request(s, out);
        return sent(out);
    }
    if (p.type == NS_EAP_T_NAK && s->state != S_IDENTITY) {
        const uint8_t *types;
        size_t n;
        char names[160] = "none";
        if (ns_eap_nak(&p, &types, &n) == NS_EAP_OK && !(n == 1 && types[0] == 0))
            nak_names(types, n, names, sizeof(names));
        ns_eap_why(s->why,
                   "the client refuses EAP-MSCHAPv2 and asks for %s; natsec runs EAP-MSCHAPv2 only "
                   "(EAP-MD5 and others are refused)",
                   names);
        return fail(s, out);
    }
    uint8_t want = s->state == S_IDENTITY ? NS_EAP_T_IDENTITY : NS_EAP_T_MSCHAPV2;
    if (p.type != want) {
        ns_eap_why(s->why,
                   "the client answers EAP-%s with EAP-%s (type %u); natsec runs EAP-MSCHAPv2 only",
                   ns_eap_type_name(want), ns_eap_type_name(p.type), p.type);
        return fail(s, out);
    }
    switch (s->state) {
    case S_IDENTITY:
        return on_identity(s, &p, find, ctx, out);
    case S_CHALLENGE:
        return on_response(s, &p, out);
    default:
        return on_ack(s, &p, out);
    }
}

void ns_eap_server_wipe(struct ns_eap_server *s)
{
    OPENSSL_cleanse(s, sizeof(*s));
}
