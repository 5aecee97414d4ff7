/* Encryption plus integrity, as one keyed object, for both ESP (RFC 4303)
 * and IKEv2's SK payload (RFC 7296 3.14). Algorithm numbers are the IKEv2
 * transform IDs (IANA "Transform Type 1" and "Transform Type 3").
 *
 * AEAD (AES-GCM-16 per RFC 4106/5282, ChaCha20-Poly1305 per RFC 7634): the
 * encryption key material is key || 4-byte salt; nonce = salt || 8-byte IV;
 * integ must be NS_INTEG_NONE.
 * Non-AEAD (AES-CBC, 3DES-CBC or NULL, with HMAC-SHA2 per RFC 4868 or
 * HMAC-SHA1-96 per RFC 2404): the ICV is the
 * truncated HMAC over aad || iv || ciphertext || esn_hi, which is exactly the
 * wire order of both ESP (SPI, sequence, IV, payload; RFC 4303 2.2.1 for the
 * ESN high bits) and IKE (header ... SK header, IV, payload).
 *
 * The OpenSSL contexts are created and keyed once in ns_cipher_new; seal and
 * open only set the IV, so they do no allocation. An ns_cipher is not safe
 * for concurrent use (an SA has one per direction). */
#ifndef NATSEC_CRYPTO_CIPHER_H
#define NATSEC_CRYPTO_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ns_encr_alg {
    /* Legacy (RFC 2451; RFC 8221: SHOULD NOT): only with legacy_proposals,
     * for the Windows clients that offer nothing else by default. */
    NS_ENCR_3DES = 3,
    NS_ENCR_NULL = 11,
    NS_ENCR_AES_CBC = 12,
    NS_ENCR_AES_GCM_16 = 20,
    NS_ENCR_CHACHA20_POLY1305 = 28,
};

enum ns_integ_alg {
    NS_INTEG_NONE = 0,
    /* RFC 8221 keeps it a MUST- for ESP and Windows offers it for ESP in
     * every configuration; HMAC-SHA1 as a MAC is not broken. */
    NS_INTEG_HMAC_SHA1_96 = 2,
    NS_INTEG_HMAC_SHA2_256_128 = 12,
    NS_INTEG_HMAC_SHA2_384_192 = 13,
    NS_INTEG_HMAC_SHA2_512_256 = 14,
};

#define NS_CIPHER_MAX_ICV 32
#define NS_CIPHER_MAX_IV 16
#define NS_CIPHER_MAX_ENCR_KEY 36 /* 32-byte key + 4-byte salt */
#define NS_CIPHER_MAX_INTEG_KEY 64

struct ns_cipher;

bool ns_encr_is_aead(enum ns_encr_alg encr);
/* Whether the pair (encr with key_bits, integ) is one natsec implements:
 * key_bits is 128 or 256 for AES, 256 for ChaCha20 (or 0 meaning 256),
 * 192 for 3DES (or 0 meaning 192), 0 for NULL; AEAD needs NS_INTEG_NONE, the others need an HMAC. */
bool ns_cipher_supported(enum ns_encr_alg encr, unsigned key_bits, enum ns_integ_alg integ);
/* Bytes of key material the encryption takes (salt included for AEAD). */
size_t ns_encr_keymat_len(enum ns_encr_alg encr, unsigned key_bits);
/* Bytes of key material the integrity algorithm takes (0 for NONE). */
size_t ns_integ_key_len(enum ns_integ_alg integ);
/* Bytes of the truncated ICV it writes (0 for NONE). */
size_t ns_integ_icv_len(enum ns_integ_alg integ);

/* NULL when the combination is unsupported or a key length is wrong. */
struct ns_cipher *ns_cipher_new(enum ns_encr_alg encr, unsigned key_bits, enum ns_integ_alg integ,
                                const uint8_t *encr_key, size_t encr_key_len,
                                const uint8_t *integ_key, size_t integ_key_len);
/* The same keyed for one direction only: an ESP SA only seals (outbound)
 * or only opens (inbound), and a gateway holds two per client, so the
 * OpenSSL context of the other direction would be wasted memory (R12). The
 * other call returns -1. */
enum ns_cipher_dir {
    NS_CIPHER_SEAL,
    NS_CIPHER_OPEN,
};
struct ns_cipher *ns_cipher_new_oneway(enum ns_cipher_dir dir, enum ns_encr_alg encr,
                                       unsigned key_bits, enum ns_integ_alg integ,
                                       const uint8_t *encr_key, size_t encr_key_len,
                                       const uint8_t *integ_key, size_t integ_key_len);
void ns_cipher_free(struct ns_cipher *c);

size_t ns_cipher_iv_len(const struct ns_cipher *c); /* 8 AEAD, 16 AES-CBC, 8 3DES, 0 NULL */
/* Payload alignment: 16 AES-CBC, 8 3DES, else 4. */
size_t ns_cipher_block_len(const struct ns_cipher *c);
size_t ns_cipher_icv_len(const struct ns_cipher *c);
bool ns_cipher_is_aead(const struct ns_cipher *c);

/* Encrypts data[0..len) in place and writes the ICV. For CBC, len must be a
 * multiple of the block length. esn_hi is NULL or the 4 high bytes of a 64-bit ESP
 * sequence number (non-AEAD only; AEAD callers put them in aad, and an
 * AEAD cipher given esn_hi returns -1). Returns 0, or -1 on a bad length. */
int ns_cipher_seal(struct ns_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                   uint8_t *data, size_t len, const uint8_t *esn_hi, uint8_t *icv);
/* Verifies the ICV (in constant time, before decrypting for non-AEAD) and
 * decrypts data in place. Returns 0, or -1 when the ICV does not verify or a
 * length is bad; then data is unspecified and must be dropped. */
int ns_cipher_open(struct ns_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                   uint8_t *data, size_t len, const uint8_t *esn_hi, const uint8_t *icv);

#endif
