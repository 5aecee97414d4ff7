#include "crypto/hmac.h"

#include <openssl/core_names.h>

EVP_MAC_CTX *ns_hmac_ctx_new(const char *digest, const uint8_t *key, size_t key_len)
{
    /* A NULL key pointer would mean "keep the old key" to OpenSSL, so an
     * empty key is passed as a real one. */
    static const uint8_t empty_key[1];
    if (digest == NULL || (key == NULL && key_len != 0))
        return NULL;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL)
        return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context holds its own reference */
    if (ctx == NULL)
        return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx, key_len != 0 ? key : empty_key, key_len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}
