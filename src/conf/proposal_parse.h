/* strongSwan-style proposal strings ("aes128gcm16-prfsha256-x25519") to
 * struct ns_proposal and back. One string is one suite: at most one
 * algorithm of each kind; alternatives are separate proposals in a
 * comma-separated list. AH is never accepted (R1). */
#ifndef NATSEC_CONF_PROPOSAL_PARSE_H
#define NATSEC_CONF_PROPOSAL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/proposal.h"

/* Parses one proposal for protocol NS_PROTO_IKE or NS_PROTO_ESP. Tokens,
 * separated by '-':
 *   encryption aes128gcm16 aes256gcm16 aes128gcm aes256gcm chacha20poly1305
 *              aes128 aes256 (CBC) null (ESP only)
 *   integrity  sha256 sha384 sha512 (HMAC-SHA2-x, truncated to half),
 *              sha1 sha (HMAC-SHA1-96, RFC 2404; ESP only)
 *   prf        prfsha256 prfsha384 prfsha512 (IKE only)
 *   dh         x25519 curve25519 ecp256 modp2048 (IKE: required; ESP: PFS)
 *   esn noesn  (ESP only; default noesn)
 * IKE without a prf token takes the PRF of its integrity (sha256 ->
 * prfsha256), or prfsha256 with an AEAD. Returns 0, or -1 with a reason
 * in err. */
int ns_proposal_parse(const char *s, uint8_t protocol, struct ns_proposal *out, char *err,
                      size_t errlen);

/* A comma-separated list of proposals, most preferred first, into out[0..max).
 * Returns the count (at least 1), or -1 with a reason in err. */
int ns_proposal_list_parse(const char *s, uint8_t protocol, struct ns_proposal *out, unsigned max,
                           char *err, size_t errlen);

/* The canonical string of a proposal (parses back to the same struct). */
const char *ns_proposal_str(const struct ns_proposal *p, char *buf, size_t len);

#endif
