/* A keyed HMAC context from OpenSSL's EVP_MAC, shared by the IKE PRFs
 * (prf.c) and ESP's integrity check (cipher.c). */
#ifndef NATSEC_CRYPTO_HMAC_H
#define NATSEC_CRYPTO_HMAC_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* HMAC with the digest of OpenSSL's name digest ("SHA2-256"...) keyed with
 * key (key_len bytes; an empty key is legal and key may then be NULL).
 * The caller frees it with EVP_MAC_CTX_free. NULL when digest is NULL, key
 * is NULL with a length, or OpenSSL fails. */
EVP_MAC_CTX *ns_hmac_ctx_new(const char *digest, const uint8_t *key, size_t key_len);

#endif
