/* Plain hashes that protocols ask for by name. SHA-1 is here only because
 * RFC 7296 2.23 fixes it for NAT_DETECTION_*_IP (SHA-1(SPIi | SPIr | IP |
 * port)); it is never used where collision resistance matters. */
#ifndef NATSEC_CRYPTO_HASH_H
#define NATSEC_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define NS_SHA1_LEN 20
#define NS_MD5_LEN 16

/* SHA-1 of parts[0] | parts[1] | ... | parts[n-1] (lens[i] bytes each; a
 * part may be NULL when its length is 0). Returns 0 or -1. */
int ns_sha1_parts(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t out[20]);
/* MD5 of the parts: only where a protocol fixes it (RADIUS' authenticators
 * and MS-MPPE key hiding, RFC 2865, 2548), never for new designs. */
int ns_md5_parts(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t out[16]);

#endif
