/* The RADIUS packets of EAP pass-through (RFC 2865, RFC 3579, RFC 2548):
 * the Access-Request natsec sends and the Access-Challenge, Access-Accept
 * and Access-Reject it takes back.
 *
 *   Access-Request: User-Name, NAS-Identifier, Service-Type (Framed),
 *     NAS-Port-Type (Virtual), Calling-Station-Id, the EAP packet split
 *     into EAP-Message attributes of at most 253 bytes, State (echoed from
 *     the last answer), Message-Authenticator (HMAC-MD5 over the packet
 *     with the shared secret, RFC 3579 3.2).
 *   Answers: the Response Authenticator (MD5 over the packet, the Request
 *     Authenticator and the secret) and the Message-Authenticator are both
 *     checked, on every answer; an answer failing either is dropped. The
 *     EAP-Message attributes are joined, State kept, Framed-IP-Address,
 *     Class (or Filter-Id) and the MS-MPPE-Recv-Key and Send-Key taken (the
 *     keys decrypted with the secret and the Request Authenticator, RFC
 *     2548 2.4.2-3); the MSK is Recv-Key | Send-Key.
 *
 * Parsing reads through util/buf.h only. No I/O, no clock: the client
 * (eap/radius_client.h) decides what goes where and when. */
#ifndef NATSEC_EAP_RADIUS_H
#define NATSEC_EAP_RADIUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eap/eap_backend.h"
#include "util/buf.h"

enum ns_radius_code {
    NS_RADIUS_ACCESS_REQUEST = 1,
    NS_RADIUS_ACCESS_ACCEPT = 2,
    NS_RADIUS_ACCESS_REJECT = 3,
    NS_RADIUS_ACCESS_CHALLENGE = 11,
};

enum ns_radius_attr {
    NS_RADIUS_A_USER_NAME = 1,
    NS_RADIUS_A_SERVICE_TYPE = 6,
    NS_RADIUS_A_FRAMED_IP_ADDRESS = 8,
    NS_RADIUS_A_FILTER_ID = 11,
    NS_RADIUS_A_STATE = 24,
    NS_RADIUS_A_CLASS = 25,
    NS_RADIUS_A_VENDOR_SPECIFIC = 26,
    NS_RADIUS_A_CALLING_STATION_ID = 31,
    NS_RADIUS_A_NAS_IDENTIFIER = 32,
    NS_RADIUS_A_NAS_PORT_TYPE = 61,
    NS_RADIUS_A_EAP_MESSAGE = 79,
    NS_RADIUS_A_MESSAGE_AUTHENTICATOR = 80,
};

#define NS_RADIUS_VENDOR_MICROSOFT 311
#define NS_RADIUS_MS_MPPE_SEND_KEY 16
#define NS_RADIUS_MS_MPPE_RECV_KEY 17

#define NS_RADIUS_HDR_LEN 20
#define NS_RADIUS_AUTH_LEN 16
#define NS_RADIUS_MAX_PACKET 4096 /* RFC 2865 3 */
#define NS_RADIUS_ATTR_MAX 253    /* an attribute's value */
/* The longest MPPE key taken (EAP-TLS' are 32 bytes). */
#define NS_RADIUS_MPPE_KEY_MAX 32
#define NS_RADIUS_SECRET_MAX 128

/* Builds an Access-Request for rq into w: Identifier id, Request
 * Authenticator req_auth (16 random bytes, a new one for every new
 * request), nas_id as NAS-Identifier. Message-Authenticator is computed
 * over the finished packet. Returns 0, or -1 when w is too small, the
 * packet would exceed 4096 bytes, or a field is too long. */
int ns_radius_build_request(struct ns_writer *w, uint8_t id,
                            const uint8_t req_auth[NS_RADIUS_AUTH_LEN],
                            const struct ns_eapb_request *rq, const char *nas_id,
                            const uint8_t *secret, size_t secret_len);

/* The Identifier of a datagram that may be a RADIUS answer (-1: too short
 * to be one), to find the request it answers. */
int ns_radius_answer_id(const uint8_t *pkt, size_t len);

/* Checks and parses an answer to the request (Identifier id, Request
 * Authenticator req_auth) into out. Returns 0, or -1 with out->why set:
 * malformed, an unexpected code or Identifier, a wrong Response
 * Authenticator, a missing or wrong Message-Authenticator, keys that do
 * not decrypt. Only a verified answer fills the rest of out. */
int ns_radius_parse_answer(const uint8_t *pkt, size_t len, uint8_t id,
                           const uint8_t req_auth[NS_RADIUS_AUTH_LEN], const uint8_t *secret,
                           size_t secret_len, struct ns_eapb_answer *out);

/* The server's side, for tests and the fuzz target (the codec reads what
 * it writes): an answer of code to request (id, req_auth) carrying a's
 * eap, state, framed_ip, class_name and, when a->msk_len is 32 or more,
 * MS-MPPE-Recv-Key = msk[0..16) and Send-Key = msk[16..32) (the
 * EAP-MSCHAPv2 keys), each hidden with salt. 0 or -1. */
int ns_radius_build_answer(struct ns_writer *w, uint8_t code, uint8_t id,
                           const uint8_t req_auth[NS_RADIUS_AUTH_LEN],
                           const struct ns_eapb_answer *a, uint16_t salt, const uint8_t *secret,
                           size_t secret_len);

/* RFC 2548 2.4.2: hides key[0..key_len) (at most NS_RADIUS_MPPE_KEY_MAX)
 * behind the secret, the Request Authenticator and salt (its top bit set
 * here) into out: Salt (2 bytes) then the encrypted String; returns its
 * length (2 + a multiple of 16), or -1. unhide is the inverse on a
 * received Salt | String: the key into key (NS_RADIUS_MPPE_KEY_MAX bytes)
 * and its length, or -1 when it is malformed or its length byte is wrong. */
int ns_radius_mppe_hide(const uint8_t *key, size_t key_len, uint16_t salt,
                        const uint8_t req_auth[NS_RADIUS_AUTH_LEN], const uint8_t *secret,
                        size_t secret_len, uint8_t *out, size_t out_cap);
int ns_radius_mppe_unhide(const uint8_t *in, size_t in_len,
                          const uint8_t req_auth[NS_RADIUS_AUTH_LEN], const uint8_t *secret,
                          size_t secret_len, uint8_t key[NS_RADIUS_MPPE_KEY_MAX]);

#endif
