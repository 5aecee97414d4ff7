/* Public-key signatures for IKEv2 authentication (X7), over OpenSSL 3:
 * ECDSA (P-256, P-384, P-521) and RSA (RSASSA-PKCS1-v1_5 and RSASSA-PSS)
 * with SHA-1 (recognised, so callers can refuse it by name) and SHA-2.
 *
 * The AlgorithmIdentifier that RFC 7427 (Digital Signature, auth method 14)
 * puts in front of a signature is encoded and decoded here: encoding gives
 * the DER that RFC 7427 Appendix A lists (RSASSA-PSS as its errata
 * corrects: no explicit default trailerField); decoding takes any DER
 * AlgorithmIdentifier of these schemes, PSS parameters included.
 *
 * ECDSA signatures are the DER Ecdsa-Sig-Value of RFC 3279 (what RFC 7427
 * carries), or with `raw` the fixed-size r | s of RFC 4754 (auth methods
 * 9, 10, 11). The data to sign is given as parts that are concatenated
 * (IKEv2's signed octets: message | nonce | MACedID), so no copy of a
 * message is needed. */
#ifndef NATSEC_CRYPTO_PUBKEY_H
#define NATSEC_CRYPTO_PUBKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

/* Hash algorithm numbers of the IANA "IKEv2 Hash Algorithms" registry
 * (RFC 7427 section 7), the values SIGNATURE_HASH_ALGORITHMS carries. */
enum ns_hash_alg {
    NS_HASH_NONE = 0,
    NS_HASH_SHA1 = 1,
    NS_HASH_SHA256 = 2,
    NS_HASH_SHA384 = 3,
    NS_HASH_SHA512 = 4,
};

enum ns_sig_kind {
    NS_SIG_NONE = 0,
    NS_SIG_ECDSA = 1,
    NS_SIG_RSA_PKCS1 = 2, /* RSASSA-PKCS1-v1_5 */
    NS_SIG_RSA_PSS = 3,   /* RSASSA-PSS with MGF1 */
};

struct ns_sig_scheme {
    enum ns_sig_kind kind;
    enum ns_hash_alg hash;
    /* RSASSA-PSS only: MGF1's hash and the salt length in bytes. */
    enum ns_hash_alg mgf1;
    unsigned salt_len;
};

/* The key types natsec signs and verifies with. */
enum ns_key_type {
    NS_KEY_NONE = 0,
    NS_KEY_RSA = 1, /* rsaEncryption or RSASSA-PSS keys */
    NS_KEY_EC_P256 = 2,
    NS_KEY_EC_P384 = 3,
    NS_KEY_EC_P521 = 4,
    NS_KEY_OTHER = 5, /* Ed25519, DSA, another curve...: refused */
};

#define NS_SIG_ALGID_MAX 96 /* the longest AlgorithmIdentifier encoded here is 67 bytes */
#define NS_SIG_MAX 1024     /* RSA up to 8192 bits; DER ECDSA P-521 is 139 */
#define NS_SIG_STRLEN 80

/* The hash's output length in bytes, 0 if unknown. */
size_t ns_hash_len(enum ns_hash_alg h);
/* "SHA-1", "SHA-256", ...; "unknown" otherwise. */
const char *ns_hash_name(enum ns_hash_alg h);

enum ns_key_type ns_pkey_type(const EVP_PKEY *key);
/* "RSA-2048", "ECDSA P-256", ... */
const char *ns_pkey_str(const EVP_PKEY *key, char buf[NS_SIG_STRLEN]);
/* Whether a scheme can be made with (and checked against) a key type. */
bool ns_sig_fits_key(const struct ns_sig_scheme *s, enum ns_key_type t);

/* "ecdsa-with-SHA256", "sha256WithRSAEncryption",
 * "RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32)". */
const char *ns_sig_scheme_str(const struct ns_sig_scheme *s, char buf[NS_SIG_STRLEN]);

/* The DER AlgorithmIdentifier of a scheme into out, its length into *len.
 * ECDSA without parameters, PKCS#1 with NULL, PSS with every parameter
 * that differs from the default. Returns 0, or -1 for a scheme it cannot
 * name. */
int ns_sig_algid_encode(const struct ns_sig_scheme *s, uint8_t out[NS_SIG_ALGID_MAX], size_t *len);
/* A DER AlgorithmIdentifier (exactly len bytes) to a scheme. Returns 0,
 * or -1 when malformed or not a signature scheme named above (a PSS hash
 * other than SHA-1/SHA-2, another mask generation than MGF1, a trailer
 * other than 1, a salt that does not fit). */
int ns_sig_algid_decode(const uint8_t *der, size_t len, struct ns_sig_scheme *out);

/* Signs the concatenation of parts with key. Returns 0 with the signature
 * in sig[0..*sig_len), or -1 (the key does not fit the scheme, cap too
 * small, OpenSSL failed). */
int ns_pkey_sign(EVP_PKEY *key, const struct ns_sig_scheme *s, bool raw,
                 const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *sig,
                 size_t cap, size_t *sig_len);
/* Verifies a signature of the concatenation of parts. Returns 1 when it is
 * valid, 0 when it is not (a malformed signature included), -1 when the key
 * does not fit the scheme or OpenSSL failed. */
int ns_pkey_verify(EVP_PKEY *key, const struct ns_sig_scheme *s, bool raw,
                   const uint8_t *const *parts, const size_t *lens, size_t n, const uint8_t *sig,
                   size_t sig_len);

#endif
