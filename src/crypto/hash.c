#include "crypto/hash.h"

#include <openssl/evp.h>

int ns_sha1_parts(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t out[20])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int got = 0;
    int rc = -1;
    if (ctx == NULL || EVP_DigestInit_ex2(ctx, EVP_sha1(), NULL) != 1)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0)
            continue;
        if (parts[i] == NULL || EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, out, &got) == 1 && got == NS_SHA1_LEN)
        rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}
