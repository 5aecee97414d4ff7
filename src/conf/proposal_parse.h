/* strongSwan-style proposal strings ("aes128gcm16-prfsha256-x25519") to
 * struct ns_proposal and back. One string is one suite: at most one
 * algorithm of each kind; alternatives are separate proposals in a
 * comma-separated list. AH is never accepted (R1). */
#ifndef NATSEC_CONF_PROPOSAL_PARSE_H
#define NATSEC_CONF_PROPOSAL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/proposal.h"

/* Parses one proposal for protocol NS_PROTO_IKE or NS_PROTO_ESP. Tokens,
 * separated by '-':
 *   encryption aes128gcm16 aes256gcm16 aes128gcm aes256gcm chacha20poly1305
 *              aes128 aes256 (CBC) null (ESP only) 3des (legacy)
 *   integrity  sha256 sha384 sha512 (HMAC-SHA2-x, truncated to half),
 *              sha1 sha (HMAC-SHA1-96, RFC 2404; legacy in IKE)
 *   prf        prfsha256 prfsha384 prfsha512 prfsha1 (legacy) (IKE only)
 *   dh         x25519 curve25519 ecp256 modp2048 modp1024 (legacy)
 *              (IKE: required; ESP: PFS)
 *   esn noesn  (ESP only; default noesn)
 * IKE without a prf token takes the PRF of its integrity (sha256 ->
 * prfsha256, sha1 -> prfsha1), or prfsha256 with an AEAD. Legacy
 * algorithms parse here; whether they are allowed is the configuration's
 * decision (legacy_proposals, see ns_proposal_legacy). Returns 0, or -1 with a reason
 * in err. */
int ns_proposal_parse(const char *s, uint8_t protocol, struct ns_proposal *out, char *err,
                      size_t errlen);

/* natsec's name of one algorithm as proposal strings write it ("aes256",
 * "3des", "sha1", "prfsha1", "modp1024"), or NULL when natsec has none. */
const char *ns_proposal_encr_name(enum ns_encr_alg encr, unsigned key_bits);
const char *ns_proposal_integ_name(enum ns_integ_alg integ);
const char *ns_proposal_prf_name(enum ns_prf_alg prf);
const char *ns_proposal_dh_name(enum ns_dh_group dh);

/* Whether two suites are the same (every field). */
bool ns_proposal_same(const struct ns_proposal *a, const struct ns_proposal *b);

/* A comma-separated list of proposals, most preferred first, into out[0..max).
 * Returns the count (at least 1), or -1 with a reason in err. */
int ns_proposal_list_parse(const char *s, uint8_t protocol, struct ns_proposal *out, unsigned max,
                           char *err, size_t errlen);

/* The canonical string of a proposal (parses back to the same struct). */
const char *ns_proposal_str(const struct ns_proposal *p, char *buf, size_t len);

/* The weak algorithms a suite uses (X12), which only legacy_proposals
 * allows: a mask of NS_LEGACY_*. HMAC-SHA1-96 for ESP is not among them
 * (RFC 8221: MUST-). */
#define NS_LEGACY_MODP1024 0x1u /* DH group 2, in IKE or as ESP PFS */
#define NS_LEGACY_PRF_SHA1 0x2u
#define NS_LEGACY_IKE_SHA1 0x4u /* HMAC-SHA1-96 protecting IKE */
#define NS_LEGACY_3DES 0x8u
unsigned ns_proposal_legacy(const struct ns_proposal *p);
/* The names of the algorithms in mask, comma-separated, into buf. */
const char *ns_proposal_legacy_str(unsigned mask, char *buf, size_t len);

#endif
