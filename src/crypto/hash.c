#include "crypto/hash.h"

#include <openssl/evp.h>

static int digest_parts(const EVP_MD *md, size_t want, const uint8_t *const *parts,
                        const size_t *lens, size_t n, uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int got = 0;
    int rc = -1;
    if (ctx == NULL || EVP_DigestInit_ex2(ctx, md, NULL) != 1)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0)
            continue;
        if (parts[i] == NULL || EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, out, &got) == 1 && got == want)
        rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int ns_sha1_parts(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t out[20])
{
    return digest_parts(EVP_sha1(), NS_SHA1_LEN, parts, lens, n, out);
}

int ns_md5_parts(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t out[16])
{
    return digest_parts(EVP_md5(), NS_MD5_LEN, parts, lens, n, out);
}
