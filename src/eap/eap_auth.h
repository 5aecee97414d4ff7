/* The two ends of one EAP authentication as natsec runs it inside IKE_AUTH
 * (RFC 7296 2.16): EAP-Identity, then EAP-MSCHAPv2 (draft-kamath-pppext-
 * eap-mschapv2, RFC 2759) ending in its 64-byte MSK (RFC 3079), both ways
 * mutual: the authenticator proves it knows the password with the
 * MS-CHAPv2 authenticator response, and the peer accepts EAP-Success only
 * after checking it.
 *
 *   authenticator (gateway)                 peer (client)
 *   Request/Identity                  ->
 *                                     <-    Response/Identity "alice"
 *   Request/MSCHAPv2 Challenge        ->
 *                                     <-    Response/MSCHAPv2 Response
 *   Request/MSCHAPv2 Success "S=.."   ->    (checks S=)
 *                                     <-    Response/MSCHAPv2 Success
 *   Success                           ->    MSK on both sides
 *
 * Pure state machines: no I/O, no clock, no allocation. The caller hands
 * each received EAP packet in and sends what comes out; the transport (IKE)
 * is reliable and carries one packet each way per round. Every packet is
 * parsed through eap/eap.h; sizes and rounds are bounded
 * (NS_EAP_MAX_PACKET, NS_EAP_MAX_ROUNDS). Nothing else but EAP-MSCHAPv2 is
 * run: an authenticator that answers a Nak or another method with
 * Failure, a peer that answers another method's Request with a Nak for
 * EAP-MSCHAPv2 (RFC 3748 5.3.1). A Response to an earlier Request (the
 * wrong Identifier) makes the authenticator send its outstanding Request
 * again; a Request again with the Identifier the peer answered last gets
 * the same Response again (RFC 3748 4.1). */
#ifndef NATSEC_EAP_EAP_AUTH_H
#define NATSEC_EAP_EAP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mschapv2.h"
#include "eap/eap.h"
#include "util/buf.h"

/* Packets each side takes in one EAP authentication; the exchange above
 * needs 3 (Identity, Response, Success acknowledgement), the rest leaves
 * room for repeats and a Notification. */
#define NS_EAP_MAX_ROUNDS 8
/* The largest EAP packet taken: an MS-CHAPv2 Response with the longest
 * Name is 313 bytes. */
#define NS_EAP_MAX_PACKET 1024
/* Room for the longest packet either side builds. */
#define NS_EAP_OUT_MAX 512
#define NS_EAP_WHY_MAX 320

enum ns_eap_step {
    NS_EAP_STEP_SEND = 0,    /* out holds the next packet to send; more rounds follow */
    NS_EAP_STEP_SUCCESS = 1, /* done, the MSK is ready; authenticator: out holds EAP-Success */
    NS_EAP_STEP_FAILURE = 2, /* done, refused: why says why; authenticator: out holds
                                EAP-Failure */
};

/* The authenticator finds a user by the identity it gave: its NT password
 * hash into nt_hash and true, or false for a user it does not know. */
typedef bool ns_eap_user_fn(void *ctx, const uint8_t *name, size_t len,
                            uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN]);

struct ns_eap_server {
    uint8_t state; /* private: where the exchange is */
    uint8_t id;    /* the Identifier of our outstanding Request */
    uint8_t ms_id; /* MS-CHAPv2-ID of the Challenge */
    unsigned rounds;
    uint8_t identity[NS_EAP_IDENTITY_MAX];
    size_t identity_len;
    bool user_known;
    uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN];
    uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN];
    char auth_response[NS_MSCHAPV2_AUTH_RESPONSE_LEN + 1];
    char name[64]; /* ours, in the Challenge */
    uint8_t msk[NS_MSCHAPV2_MSK_LEN];
    /* FAILURE: why (naming the user, never the password). SEND: empty, or
     * what was odd about the input (a repeat), worth a debug line. */
    char why[NS_EAP_WHY_MAX];
};

/* Starts an authentication: the Request/Identity (a random Identifier)
 * into out. name is ours, sent in the Challenge (at most 63 bytes kept).
 * Returns NS_EAP_STEP_SEND, or FAILURE when out is too small or no random
 * bytes come. */
enum ns_eap_step ns_eap_server_begin(struct ns_eap_server *s, const char *name,
                                     struct ns_writer *out);
/* One packet from the peer (pkt[0..len), the EAP payload's body): the
 * next Request, EAP-Success (msk ready) or EAP-Failure into out. find
 * looks the identity up (once). */
enum ns_eap_step ns_eap_server_input(struct ns_eap_server *s, const uint8_t *pkt, size_t len,
                                     ns_eap_user_fn *find, void *ctx, struct ns_writer *out);

struct ns_eap_peer {
    uint8_t state; /* private */
    unsigned rounds;
    uint8_t user[NS_EAP_IDENTITY_MAX];
    size_t user_len;
    uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN];
    uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN]; /* the authenticator's */
    uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN];
    uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN];
    /* Our last Response, sent again for a repeated Request. */
    bool answered;
    uint8_t last_id;
    uint8_t last[NS_EAP_OUT_MAX];
    size_t last_len;
    char failure[96]; /* the MS-CHAPv2 Failure the authenticator sent, for the log */
    uint8_t msk[NS_MSCHAPV2_MSK_LEN];
    /* FAILURE: why. SEND: empty, or what the Request asked that we
     * declined (another method), worth a log line. */
    char why[NS_EAP_WHY_MAX];
};

/* Sets up the peer with the user name it logs in with and the NT hash of
 * its password. false when user is empty or longer than
 * NS_EAP_IDENTITY_MAX. */
bool ns_eap_peer_init(struct ns_eap_peer *p, const char *user, size_t user_len,
                      const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN]);
/* One packet from the authenticator: the Response into out (SEND),
 * SUCCESS (EAP-Success after a verified MS-CHAPv2 Success: msk ready,
 * nothing to send) or FAILURE. */
enum ns_eap_step ns_eap_peer_input(struct ns_eap_peer *p, const uint8_t *pkt, size_t len,
                                   struct ns_writer *out);

/* Writes a reason into why (NS_EAP_WHY_MAX bytes): shared by both sides. */
void ns_eap_why(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Wipes the secrets (NT hash, MSK, challenges) of either side. */
void ns_eap_server_wipe(struct ns_eap_server *s);
void ns_eap_peer_wipe(struct ns_eap_peer *p);

#endif
