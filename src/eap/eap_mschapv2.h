/* EAP-MSCHAPv2 type-data (EAP type 26; draft-kamath-pppext-eap-mschapv2,
 * with RFC 2759's packets): what the gateway sends (Challenge, Success and
 * Failure Requests) and what the client answers (Response, and the
 * one-byte Success or Failure acknowledgement).
 *
 *   OpCode (1) | MS-CHAPv2-ID (1) | MS-Length (2) | ...
 *   Challenge  Value-Size = 16 | Challenge (16) | Name
 *   Response   Value-Size = 49 | Peer-Challenge (16) | Reserved (8, zero)
 *              | NT-Response (24) | Flags (1, zero) | Name
 *   Success    Message ("S=<40 hex> M=<text>")
 *   Failure    Message ("E=691 R=0 C=<32 hex> V=3 M=<text>")
 *
 * MS-Length covers OpCode to the end (the EAP Length minus 5); a peer's
 * Success or Failure acknowledgement is the OpCode alone. Change-Password
 * (OpCode 7) is recognised and refused as NS_EAP_BAD like any other. */
#ifndef NATSEC_EAP_EAP_MSCHAPV2_H
#define NATSEC_EAP_EAP_MSCHAPV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mschapv2.h" /* the field lengths */
#include "eap/eap.h"
#include "util/buf.h"

enum ns_mschapv2_op {
    NS_MSCHAPV2_CHALLENGE = 1,
    NS_MSCHAPV2_RESPONSE = 2,
    NS_MSCHAPV2_SUCCESS = 3,
    NS_MSCHAPV2_FAILURE = 4,
    NS_MSCHAPV2_CHANGE_PASSWORD = 7,
};

#define NS_EAP_MSCHAPV2_RESPONSE_LEN 49 /* Peer-Challenge, Reserved, NT-Response, Flags */
#define NS_EAP_MSCHAPV2_NAME_MAX 253    /* bytes of a Name, as an identity */
#define NS_EAP_MSCHAPV2_MESSAGE_MAX 1024

/* One parsed EAP-MSCHAPv2 packet; the pointers are into the EAP packet. */
struct ns_eap_mschapv2 {
    uint8_t op;    /* enum ns_mschapv2_op */
    uint8_t ms_id; /* 0 in an acknowledgement, which has none */
    bool ack;      /* the peer's one-byte Success or Failure acknowledgement */
    /* Challenge: challenge; Response: peer_challenge, nt_response, flags.
     * Both: the Name. */
    uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN];
    uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN];
    uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN];
    uint8_t flags;
    const uint8_t *name;
    size_t name_len;
    /* Success or Failure Request: its Message. */
    const uint8_t *message;
    size_t message_len;
};

/* Parses the type-data of p (an EAP Request or Response of type 26). A
 * Request holds Challenge, Success or Failure; a Response holds Response
 * or a Success or Failure acknowledgement; anything else, a wrong
 * MS-Length or Value-Size, non-zero Reserved bytes, a Name or Message over
 * its maximum is NS_EAP_BAD. */
int ns_eap_mschapv2_parse(const struct ns_eap *p, struct ns_eap_mschapv2 *out);

/* Success Request's Message: the authenticator response "S=" and 40 hex
 * digits (pointed to in *auth, 42 bytes), then optionally " M=<text>". */
int ns_eap_mschapv2_success_auth(const uint8_t *msg, size_t len, const uint8_t **auth);

/* A Failure Request's Message: E=<error> R=<retry 0|1> C=<32 hex>
 * V=<version> M=<text>, each field optional but E; out parameters are
 * left unchanged for absent ones (challenge as has_challenge says). */
struct ns_mschapv2_failure {
    unsigned error; /* 691: authentication failure, 646, 647, 648, 649 */
    bool retry;
    bool has_challenge;
    uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN];
    unsigned version;
    const uint8_t *text;
    size_t text_len;
};
int ns_eap_mschapv2_failure_parse(const uint8_t *msg, size_t len, struct ns_mschapv2_failure *out);

/* Gateway: the Challenge Request with our 16-byte challenge and Name. */
void ns_eap_mschapv2_build_challenge(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                     const uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                     const void *name, size_t name_len);
/* Client: the Response with its peer challenge, NT-Response and Name. */
void ns_eap_mschapv2_build_response(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                    const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                    const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                                    const void *name, size_t name_len);
/* Gateway: the Success Request, Message "<auth> M=<text>" (auth the 42
 * bytes "S=..."); text may be NULL for none. */
void ns_eap_mschapv2_build_success(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                   const char *auth, const char *text);
/* Gateway: the Failure Request "E=<error> R=<retry> C=<challenge hex> V=3
 * M=<text>" (challenge NULL: no C= field). */
void ns_eap_mschapv2_build_failure(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                   unsigned error, bool retry,
                                   const uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                   const char *text);
/* Client: the one-byte acknowledgement of a Success or Failure Request. */
void ns_eap_mschapv2_build_ack(struct ns_writer *w, uint8_t eap_id, uint8_t op);

#endif
