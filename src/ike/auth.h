/* Shared-key authentication of IKE_AUTH (RFC 7296 2.15).
 *
 *   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets> )
 *   SignedOctets = RealMessage | NonceData | prf(SK_px, RestOfIDPayload)
 *
 * For the initiator's AUTH (sent by the initiator, verified by the
 * responder): RealMessage is the IKE_SA_INIT request as sent (the whole
 * message from the IKE header, as the initiator sent it, i.e. the second
 * one when a COOKIE or INVALID_KE made it repeat), NonceData is Nr, SK_px
 * is SK_pi and RestOfIDPayload is from IDi. For the responder's AUTH: the
 * IKE_SA_INIT response, Ni, SK_pr, IDr.
 *
 * The same formula with the EAP MSK in place of the shared secret gives
 * the AUTH of EAP (2.16), so key is just "the secret". */
#ifndef NATSEC_IKE_AUTH_H
#define NATSEC_IKE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/prf.h"

/* The inputs of one AUTH value (see above for which ones per role). */
struct ns_auth_input {
    enum ns_prf_alg prf;     /* the IKE SA's negotiated PRF */
    const uint8_t *real_msg; /* first message the signer sent */
    size_t real_msg_len;
    const uint8_t *peer_nonce; /* nonce of the other side */
    size_t peer_nonce_len;
    const uint8_t *sk_p; /* SK_pi (initiator) or SK_pr (responder) */
    size_t sk_p_len;
    const uint8_t *id_rest; /* RestOfIDPayload: ID type, 3 reserved, data */
    size_t id_rest_len;
};

/* Writes the SignedOctets into out[0..cap) and their length into *out_len
 * (also the input of a signature method, X7). Returns 0, or -1 when cap is
 * too small or the PRF fails. Needed size: real_msg_len + peer_nonce_len +
 * ns_prf_len(prf). */
int ns_auth_signed_octets(const struct ns_auth_input *in, uint8_t *out, size_t cap,
                          size_t *out_len);

/* The SignedOctets as three parts to concatenate (the message, the nonce,
 * MACedIDFor{I,R} written into mac), without a copy of the message: what a
 * signature method (X7) hashes. Returns 0, or -1 on bad input or a PRF
 * failure. */
int ns_auth_signed_parts(const struct ns_auth_input *in, uint8_t mac[NS_PRF_MAX_LEN],
                         const uint8_t *parts[3], size_t lens[3]);

/* The shared-key AUTH value, ns_prf_len(in->prf) bytes into out (at least
 * NS_PRF_MAX_LEN bytes), its length into *out_len. Returns 0 or -1. */
int ns_auth_psk_compute(const struct ns_auth_input *in, const uint8_t *key, size_t key_len,
                        uint8_t out[NS_PRF_MAX_LEN], size_t *out_len);

/* Whether a received AUTH value (method SHARED_KEY_MIC) is the expected one;
 * the comparison is in constant time, and a wrong length is false. */
bool ns_auth_psk_verify(const struct ns_auth_input *in, const uint8_t *key, size_t key_len,
                        const uint8_t *auth, size_t auth_len);

#endif
