/* EAP in IKE_AUTH (RFC 7296 2.16) with EAP-MSCHAPv2 (X12), private to the
 * engine: the gateway in auth_eap_gw.c, the client in auth_eap_client.c,
 * the EAP state machines of eap/eap_auth.h inside them.
 *
 *   client                                  gateway
 *   IDi, [CERTREQ], [IDr], CP, SA, TS  ->   (no AUTH: the section says eap-mschapv2)
 *                                      <-   IDr, CERT, AUTH (signature), EAP Request/Identity
 *   (checks the gateway's certificate)
 *   EAP Response/Identity              ->   INIT_DONE -> EAP_SENT
 *                                      <-   EAP MSCHAPv2 Challenge
 *   EAP MSCHAPv2 Response              ->
 *                                      <-   EAP MSCHAPv2 Success (authenticator response)
 *   EAP MSCHAPv2 Success ack           ->
 *                                      <-   EAP-Success             EAP_SENT -> EAP_DONE
 *   AUTH (from the MSK)                ->
 *                                      <-   AUTH (from the MSK), CP, SA, TS: ESTABLISHED
 *
 * Each round is an IKE_AUTH exchange of its own message ID, so the engine's
 * retransmission and response cache (retransmit.c) carry it like any
 * other. The client's CHILD_SA request of the first message is answered in
 * the last one; the gateway keeps it meanwhile. Until its AUTH from the
 * MSK verified, the client is half-open (R15): the half-open bounds and
 * timeout (NS_IKE_HALF_OPEN_MS from IKE_SA_INIT) apply to the whole
 * exchange, and EAP itself is bounded in rounds and sizes. The identity
 * the client authenticated as is its EAP identity (the user name): the
 * identity rules, its virtual IP and the log lines name that user. */
#ifndef NATSEC_IKE_AUTH_EAP_H
#define NATSEC_IKE_AUTH_EAP_H

#include <stdbool.h>

#include "eap/eap_auth.h"
#include "ike/ike_sa.h"

/* The bytes of the client's first IKE_AUTH request the gateway keeps for
 * the last one: its CHILD_SA, CP and notify payloads. More is refused. */
#define NS_ENG_EAP_KEEP_MAX 4096

struct ns_eng_eap {
    union {
        struct ns_eap_server server; /* gateway */
        struct ns_eap_peer peer;     /* client */
    } m;
    bool have_msk;
    uint8_t msk[NS_MSCHAPV2_MSK_LEN];
    /* The peer's ID payload as it signs it (RestOfIDPayload, 2.15): the
     * gateway keeps the client's IDi, the client the gateway's IDr. */
    uint8_t id_rest[4 + NS_CONF_ID_MAX];
    size_t id_rest_len;
    struct ns_conf_id id; /* the same as an identity, for log lines */
    /* Gateway: the payloads of the client's first IKE_AUTH request, their
     * bodies copied to kept (heap, kept_len bytes). */
    struct ns_ike_payloads first;
    uint8_t *kept;
    size_t kept_len;
    /* Gateway with eap_backend = radius (auth_eap_backend.c): the server's
     * State to echo, the request that waits for the server's answer (rx,
     * Identifier of the client's EAP Response), rounds so far, and what
     * the Access-Accept assigned: Framed-IP-Address, and the Class that
     * names the user's [peer] section (empty: none), looked up again when
     * the SA moves to it, since a reload may replace the sections
     * meanwhile. */
    bool backend;
    bool pending;
    struct ns_ike_rx pending_rx;
    uint8_t last_eap_id;
    unsigned backend_rounds;
    uint8_t state[NS_EAPB_STATE_MAX];
    size_t state_len;
    bool have_framed_ip;
    struct ns_addr framed_ip;
    char class_name[NS_EAPB_CLASS_MAX + 1];
};

/* Whether EAP succeeded on this SA: AUTH is from the MSK. */
static inline bool ns_eng_eap_msk(const struct ns_ikesa *sa)
{
    return sa->eap && sa->eap->have_msk;
}

/* The peer's ID payload as kept, for its AUTH from the MSK. */
static inline struct ns_ike_id ns_eng_eap_peer_id(const struct ns_eng_eap *x)
{
    struct ns_ike_id id = {.type = x->id.type,
                           .data = x->id.data,
                           .len = x->id.len,
                           .rest = x->id_rest,
                           .rest_len = x->id_rest_len};
    return id;
}

/* Gateway: the client's first IKE_AUTH, without AUTH, for an EAP section
 * (sa->peer); id is its IDi. Answers with our certificate and the first
 * EAP Request, or fails the SA. */
void ns_eng_eap_gw_start(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_payloads *in, const struct ns_ike_id *id);
/* Gateway: a further IKE_AUTH request (states EAP_SENT, EAP_DONE). */
void ns_eng_eap_gw_request(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                           const struct ns_ike_payloads *in);

/* auth_eap_gw.c, for auth_eap_backend.c: an IKE_AUTH answer with our EAP
 * packet and, when not 0, a notify (0 or -1); the end of a failed login
 * (EAP-Failure pkt, if any, and AUTHENTICATION_FAILED; the SA dies),
 * logged with method (what ran) and why. */
int ns_eng_eap_respond(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                       const uint8_t *pkt, size_t len, uint16_t notify);
void ns_eng_eap_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                       const uint8_t *pkt, size_t len, const char *method, const char *why);
/* auth_eap_backend.c: a client's EAP packet during EAP with eap_backend =
 * radius, passed to ops->eap_backend; the request then waits. */
void ns_eng_eap_backend_round(struct ns_ike_engine *e, struct ns_ikesa *sa,
                              const struct ns_ike_rx *rx, const struct ns_ike_payload *ep);
/* The [peer] section a RADIUS Class names: one of that name with auth =
 * eap-mschapv2, else NULL. */
const struct ns_conf_peer *ns_eng_eap_class_peer(const struct ns_ike_engine *e, const char *name);
/* The method a log line names: "EAP-MSCHAPv2", or "EAP on RADIUS". */
const char *ns_eng_eap_method(const struct ns_eng_eap *x);

/* Client: an IKE_AUTH answer while the section says eap-mschapv2. */
void ns_eng_eap_client_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                const struct ns_ike_payloads *in);

/* The SA dies: a request of it at the EAP backend is cancelled
 * (ops->eap_backend_cancel). */
void ns_eng_eap_cancel(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Wipes and frees sa->eap (the SA is established or dies). */
void ns_eng_eap_free(struct ns_ikesa *sa);

#endif
