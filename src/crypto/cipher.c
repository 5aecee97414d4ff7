/* ESP / IKE SK payload protection on OpenSSL 3 EVP.
 *
 * Everything expensive happens once in ns_cipher_new: the cipher contexts
 * are created with their key schedule (one for each direction, because a
 * CBC decryption schedule differs from the encryption one) and the HMAC
 * context is keyed. Per packet, seal and open only set the IV (EVP_*Init_ex2
 * with a NULL cipher and key keeps both) and re-initialise HMAC with a NULL
 * key, which keeps the key. Our code allocates nothing per packet; note that
 * OpenSSL 3.0's HMAC re-initialisation itself duplicates its digest state
 * (EVP_MD_CTX_copy_ex), which the AEAD suites avoid entirely.
 *
 * An ns_cipher is not safe for concurrent use; an SA has one per direction. */
#include "crypto/cipher.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fuzz_memo.h"
#include "crypto/hmac.h"

#define AEAD_SALT_LEN 4
#define AEAD_IV_LEN 8
#define AEAD_TAG_LEN 16
#define CBC_IV_LEN 16   /* AES: the IV is one block */
#define DES3_BLOCK_LEN 8 /* 3DES-CBC (RFC 2451): 8-byte blocks and IV */
#define DES3_KEY_LEN 24  /* three DES keys, parity bits included */
#define HMAC_MAX_OUT 64

struct ns_cipher {
    bool aead;
    size_t iv_len, icv_len, block_len;
    uint8_t salt[AEAD_SALT_LEN];
    EVP_CIPHER_CTX *enc, *dec; /* both NULL for NULL encryption */
    EVP_MAC_CTX *mac;          /* NULL for AEAD */
    bool can_seal, can_open;   /* one of them false when keyed one way */
#ifdef NATSEC_FUZZ
    /* The algorithms and keys, naming the contexts to the fuzz targets'
     * memo (fuzz_memo.h); empty when it is off. */
    uint8_t memo_key[3 * sizeof(uint64_t) + NS_CIPHER_MAX_ENCR_KEY + NS_CIPHER_MAX_INTEG_KEY];
    size_t memo_key_len;
#endif
};

bool ns_encr_is_aead(enum ns_encr_alg encr)
{
    return encr == NS_ENCR_AES_GCM_16 || encr == NS_ENCR_CHACHA20_POLY1305;
}

static bool integ_is_hmac(enum ns_integ_alg integ)
{
    return integ == NS_INTEG_HMAC_SHA1_96 || integ == NS_INTEG_HMAC_SHA2_256_128 ||
           integ == NS_INTEG_HMAC_SHA2_384_192 || integ == NS_INTEG_HMAC_SHA2_512_256;
}

/* Bytes of the encryption key proper (salt excluded); 0 when unsupported,
 * except NULL encryption, whose key is legitimately empty. */
static bool encr_key_bytes(enum ns_encr_alg encr, unsigned key_bits, size_t *out)
{
    switch (encr) {
    case NS_ENCR_NULL:
        *out = 0;
        return key_bits == 0;
    case NS_ENCR_3DES:
        *out = DES3_KEY_LEN;
        return key_bits == 0 || key_bits == 192;
    case NS_ENCR_AES_CBC:
    case NS_ENCR_AES_GCM_16:
        *out = key_bits / 8;
        return key_bits == 128 || key_bits == 256;
    case NS_ENCR_CHACHA20_POLY1305:
        *out = 32;
        return key_bits == 0 || key_bits == 256;
    }
    return false;
}

bool ns_cipher_supported(enum ns_encr_alg encr, unsigned key_bits, enum ns_integ_alg integ)
{
    size_t key_len;
    if (!encr_key_bytes(encr, key_bits, &key_len))
        return false;
    return ns_encr_is_aead(encr) ? integ == NS_INTEG_NONE : integ_is_hmac(integ);
}

size_t ns_encr_keymat_len(enum ns_encr_alg encr, unsigned key_bits)
{
    size_t key_len;
    if (!encr_key_bytes(encr, key_bits, &key_len))
        return 0;
    return key_len + (ns_encr_is_aead(encr) ? AEAD_SALT_LEN : 0);
}

/* The key is as long as the hash output (RFC 2404 2, RFC 4868 2.1.1). */
size_t ns_integ_key_len(enum ns_integ_alg integ)
{
    switch (integ) {
    case NS_INTEG_NONE:
        return 0;
    case NS_INTEG_HMAC_SHA1_96:
        return 20;
    case NS_INTEG_HMAC_SHA2_256_128:
        return 32;
    case NS_INTEG_HMAC_SHA2_384_192:
        return 48;
    case NS_INTEG_HMAC_SHA2_512_256:
        return 64;
    }
    return 0;
}

/* RFC 4868 truncates to half the output; RFC 2404 to 96 of SHA-1's 160
 * bits. */
size_t ns_integ_icv_len(enum ns_integ_alg integ)
{
    return integ == NS_INTEG_HMAC_SHA1_96 ? 12 : ns_integ_key_len(integ) / 2;
}

static const EVP_CIPHER *evp_cipher_of(enum ns_encr_alg encr, unsigned key_bits)
{
    switch (encr) {
    case NS_ENCR_AES_CBC:
        return key_bits == 128 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    case NS_ENCR_AES_GCM_16:
        return key_bits == 128 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    case NS_ENCR_CHACHA20_POLY1305:
        return EVP_chacha20_poly1305();
    case NS_ENCR_3DES:
        return EVP_des_ede3_cbc(); /* in OpenSSL 3's default provider */
    case NS_ENCR_NULL:
        break;
    }
    return NULL;
}

static const char *hmac_digest_of(enum ns_integ_alg integ)
{
    switch (integ) {
    case NS_INTEG_HMAC_SHA1_96:
        return "SHA1";
    case NS_INTEG_HMAC_SHA2_256_128:
        return "SHA2-256";
    case NS_INTEG_HMAC_SHA2_384_192:
        return "SHA2-384";
    case NS_INTEG_HMAC_SHA2_512_256:
        return "SHA2-512";
    case NS_INTEG_NONE:
        break;
    }
    return NULL;
}

static EVP_CIPHER_CTX *cipher_ctx_new(const EVP_CIPHER *cipher, const uint8_t *key, bool encrypt,
                                      bool aead)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return NULL;
    int ok = encrypt ? EVP_EncryptInit_ex2(ctx, cipher, key, NULL, NULL)
                     : EVP_DecryptInit_ex2(ctx, cipher, key, NULL, NULL);
    /* ESP and IKE pad themselves (RFC 4303 2.4, RFC 7296 3.14). */
    if (ok == 1 && !aead)
        ok = EVP_CIPHER_CTX_set_padding(ctx, 0);
    if (ok != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

#ifdef NATSEC_FUZZ
NS_MEMO_BOOKKEEPING static void memo_key_add(struct ns_cipher *c, const void *p, size_t len)
{
    memcpy(c->memo_key + c->memo_key_len, p, len);
    c->memo_key_len += len;
}

/* Fuzz builds, with the fuzz targets' memo on: c's contexts from a set
 * keyed alike that an ns_cipher_free gave back (true), or none (false,
 * with c->memo_key set so that c's own go back when it is freed). */
NS_MEMO_BOOKKEEPING static bool memo_take(struct ns_cipher *c, enum ns_encr_alg encr,
                                          unsigned key_bits, enum ns_integ_alg integ,
                                          const uint8_t *encr_key, size_t encr_key_len,
                                          const uint8_t *integ_key, size_t integ_key_len)
{
    if (!ns_memo_begin(NS_MEMO_CIPHER))
        return false;
    const uint64_t algs[3] = {encr, key_bits, integ};
    memo_key_add(c, algs, sizeof(algs));
    if (encr_key_len)
        memo_key_add(c, encr_key, encr_key_len);
    if (integ_key_len)
        memo_key_add(c, integ_key, integ_key_len);
    ns_memo_add(c->memo_key, c->memo_key_len);
    return ns_memo_cipher_take(&c->enc, &c->dec, &c->mac);
}

/* The contexts of c back to the memo, when it takes them. */
NS_MEMO_BOOKKEEPING static void memo_give(struct ns_cipher *c)
{
    if (c->memo_key_len == 0 || !ns_memo_begin(NS_MEMO_CIPHER))
        return;
    ns_memo_add(c->memo_key, c->memo_key_len);
    if (ns_memo_cipher_give(c->enc, c->dec, c->mac)) {
        c->enc = c->dec = NULL;
        c->mac = NULL;
    }
}
#endif

static struct ns_cipher *cipher_new(bool seal, bool open, enum ns_encr_alg encr,
                                    unsigned key_bits, enum ns_integ_alg integ,
                                    const uint8_t *encr_key, size_t encr_key_len,
                                    const uint8_t *integ_key, size_t integ_key_len)
{
    if (!ns_cipher_supported(encr, key_bits, integ) ||
        encr_key_len != ns_encr_keymat_len(encr, key_bits) ||
        integ_key_len != ns_integ_key_len(integ) || (encr_key_len != 0 && encr_key == NULL) ||
        (integ_key_len != 0 && integ_key == NULL))
        return NULL;
    struct ns_cipher *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->aead = ns_encr_is_aead(encr);
    c->can_seal = seal;
    c->can_open = open;
    if (c->aead) {
        /* keymat = key | salt (RFC 4106 8.1, RFC 5282 7.1, RFC 7634 4). */
        memcpy(c->salt, encr_key + encr_key_len - AEAD_SALT_LEN, AEAD_SALT_LEN);
        c->iv_len = AEAD_IV_LEN;
        c->icv_len = AEAD_TAG_LEN;
        c->block_len = 4;
    } else {
        c->iv_len = encr == NS_ENCR_AES_CBC ? CBC_IV_LEN : encr == NS_ENCR_3DES ? DES3_BLOCK_LEN : 0;
        c->icv_len = ns_integ_icv_len(integ);
        /* CBC pads to its block, which is as long as its IV. */
        c->block_len = c->iv_len != 0 ? c->iv_len : 4;
    }
#ifdef NATSEC_FUZZ
    /* The memo keeps sets of both contexts only. */
    if (seal && open &&
        memo_take(c, encr, key_bits, integ, encr_key, encr_key_len, integ_key, integ_key_len))
        return c;
#endif
    if (!c->aead) {
        c->mac = ns_hmac_ctx_new(hmac_digest_of(integ), integ_key, integ_key_len);
        if (c->mac == NULL)
            goto fail;
    }
    const EVP_CIPHER *cipher = evp_cipher_of(encr, key_bits);
    if (cipher != NULL) {
        if (seal && (c->enc = cipher_ctx_new(cipher, encr_key, true, c->aead)) == NULL)
            goto fail;
        if (open && (c->dec = cipher_ctx_new(cipher, encr_key, false, c->aead)) == NULL)
            goto fail;
    }
    return c;
fail:
#ifdef NATSEC_FUZZ
    c->memo_key_len = 0; /* a set keyed halfway is no spare */
#endif
    ns_cipher_free(c);
    return NULL;
}

struct ns_cipher *ns_cipher_new(enum ns_encr_alg encr, unsigned key_bits, enum ns_integ_alg integ,
                                const uint8_t *encr_key, size_t encr_key_len,
                                const uint8_t *integ_key, size_t integ_key_len)
{
    return cipher_new(true, true, encr, key_bits, integ, encr_key, encr_key_len, integ_key,
                      integ_key_len);
}

struct ns_cipher *ns_cipher_new_oneway(enum ns_cipher_dir dir, enum ns_encr_alg encr,
                                       unsigned key_bits, enum ns_integ_alg integ,
                                       const uint8_t *encr_key, size_t encr_key_len,
                                       const uint8_t *integ_key, size_t integ_key_len)
{
    return cipher_new(dir == NS_CIPHER_SEAL, dir == NS_CIPHER_OPEN, encr, key_bits, integ,
                      encr_key, encr_key_len, integ_key, integ_key_len);
}

void ns_cipher_free(struct ns_cipher *c)
{
    if (c == NULL)
        return;
#ifdef NATSEC_FUZZ
    memo_give(c);
#endif
    EVP_CIPHER_CTX_free(c->enc);
    EVP_CIPHER_CTX_free(c->dec);
    EVP_MAC_CTX_free(c->mac);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

size_t ns_cipher_iv_len(const struct ns_cipher *c)
{
    return c->iv_len;
}

size_t ns_cipher_block_len(const struct ns_cipher *c)
{
    return c->block_len;
}

size_t ns_cipher_icv_len(const struct ns_cipher *c)
{
    return c->icv_len;
}

bool ns_cipher_is_aead(const struct ns_cipher *c)
{
    return c->aead;
}

/* EVP takes int lengths. AEAD has no place for the ESN high bits outside
 * the AAD, so a caller passing them has built the AAD wrong. CBC works on
 * whole blocks; NULL encryption takes any length. */
static bool args_ok(const struct ns_cipher *c, const uint8_t *aad, size_t aad_len,
                    const uint8_t *iv, const uint8_t *data, size_t len, const uint8_t *esn_hi,
                    const uint8_t *icv)
{
    if (aad_len > INT_MAX || len > INT_MAX || (aad == NULL && aad_len != 0) ||
        (data == NULL && len != 0) || (iv == NULL && c->iv_len != 0) || icv == NULL)
        return false;
    if (c->aead)
        return esn_hi == NULL;
    return (c->enc == NULL && c->dec == NULL) || len % c->block_len == 0;
}

static void aead_nonce(const struct ns_cipher *c, const uint8_t *iv, uint8_t nonce[12])
{
    memcpy(nonce, c->salt, AEAD_SALT_LEN);
    memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
}

static int aead_seal(struct ns_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                     uint8_t *data, size_t len, uint8_t *icv)
{
    uint8_t nonce[AEAD_SALT_LEN + AEAD_IV_LEN], tail[AEAD_TAG_LEN];
    int n;
    aead_nonce(c, iv, nonce);
    if (EVP_EncryptInit_ex2(c->enc, NULL, NULL, nonce, NULL) != 1)
        return -1;
    if (aad_len != 0 && EVP_EncryptUpdate(c->enc, NULL, &n, aad, (int)aad_len) != 1)
        return -1;
    if (len != 0 && (EVP_EncryptUpdate(c->enc, data, &n, data, (int)len) != 1 || (size_t)n != len))
        return -1;
    if (EVP_EncryptFinal_ex(c->enc, tail, &n) != 1 || n != 0)
        return -1;
    /* The tag as a parameter straight to the provider: EVP_CIPHER_CTX_ctrl
     * would translate the control into this through a lookup table on
     * every packet. */
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, icv,
                                                         AEAD_TAG_LEN),
                       OSSL_PARAM_construct_end()};
    return EVP_CIPHER_CTX_get_params(c->enc, p) == 1 ? 0 : -1;
}

static int aead_open(struct ns_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                     uint8_t *data, size_t len, const uint8_t *icv)
{
    uint8_t nonce[AEAD_SALT_LEN + AEAD_IV_LEN], tag[AEAD_TAG_LEN], tail[AEAD_TAG_LEN];
    int n;
    aead_nonce(c, iv, nonce);
    memcpy(tag, icv, AEAD_TAG_LEN); /* the parameter takes a non-const pointer */
    /* The expected tag goes in with the nonce: one call, no control
     * translation (see aead_seal). */
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
                                                         AEAD_TAG_LEN),
                       OSSL_PARAM_construct_end()};
    if (EVP_DecryptInit_ex2(c->dec, NULL, NULL, nonce, p) != 1)
        goto fail;
    if (aad_len != 0 && EVP_DecryptUpdate(c->dec, NULL, &n, aad, (int)aad_len) != 1)
        goto fail;
    if (len != 0 && (EVP_DecryptUpdate(c->dec, data, &n, data, (int)len) != 1 || (size_t)n != len))
        goto fail;
    /* The tag is checked (in constant time) here. */
    if (EVP_DecryptFinal_ex(c->dec, tail, &n) != 1 || n != 0)
        goto fail;
    return 0;
fail:
    /* Never leave unauthenticated plaintext where a careless caller could
     * use it. */
    if (len != 0)
        OPENSSL_cleanse(data, len);
    return -1;
}

/* Full (untruncated) HMAC over aad | iv | data | esn_hi into out. */
static int hmac_compute(struct ns_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                        const uint8_t *data, size_t len, const uint8_t *esn_hi,
                        uint8_t out[HMAC_MAX_OUT])
{
    size_t got = 0;
    if (EVP_MAC_init(c->mac, NULL, 0, NULL) != 1) /* NULL key: keep the key */
        return -1;
    if ((aad_len != 0 && EVP_MAC_update(c->mac, aad, aad_len) != 1) ||
        (c->iv_len != 0 && EVP_MAC_update(c->mac, iv, c->iv_len) != 1) ||
        (len != 0 && EVP_MAC_update(c->mac, data, len) != 1) ||
        (esn_hi != NULL && EVP_MAC_update(c->mac, esn_hi, 4) != 1))
        return -1;
    if (EVP_MAC_final(c->mac, out, &got, HMAC_MAX_OUT) != 1 || got < c->icv_len)
        return -1;
    return 0;
}

static int cbc_crypt(EVP_CIPHER_CTX *ctx, bool encrypt, const uint8_t *iv, uint8_t *data,
                     size_t len)
{
    uint8_t tail[CBC_IV_LEN];
    int n = 0, m = 0;
    int ok = encrypt ? EVP_EncryptInit_ex2(ctx, NULL, NULL, iv, NULL)
                     : EVP_DecryptInit_ex2(ctx, NULL, NULL, iv, NULL);
    if (ok != 1)
        return -1;
    if (len != 0) {
        ok = encrypt ? EVP_EncryptUpdate(ctx, data, &n, data, (int)len)
                     : EVP_DecryptUpdate(ctx, data, &n, data, (int)len);
        if (ok != 1 || (size_t)n != len)
            return -1;
    }
    ok = encrypt ? EVP_EncryptFinal_ex(ctx, tail, &m) : EVP_DecryptFinal_ex(ctx, tail, &m);
    return ok == 1 && m == 0 ? 0 : -1;
}

int ns_cipher_seal(struct ns_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                   uint8_t *data, size_t len, const uint8_t *esn_hi, uint8_t *icv)
{
    if (!c->can_seal || !args_ok(c, aad, aad_len, iv, data, len, esn_hi, icv))
        return -1;
    if (c->aead)
        return aead_seal(c, aad, aad_len, iv, data, len, icv);
    uint8_t mac[HMAC_MAX_OUT];
    /* Encrypt-then-MAC: the ICV covers the ciphertext (RFC 4303 3.3.2). */
    if (c->enc != NULL && cbc_crypt(c->enc, true, iv, data, len) != 0)
        return -1;
    if (hmac_compute(c, aad, aad_len, iv, data, len, esn_hi, mac) != 0)
        return -1;
    memcpy(icv, mac, c->icv_len);
    return 0;
}

int ns_cipher_open(struct ns_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                   uint8_t *data, size_t len, const uint8_t *esn_hi, const uint8_t *icv)
{
    if (!c->can_open || !args_ok(c, aad, aad_len, iv, data, len, esn_hi, icv))
        return -1;
    if (c->aead)
        return aead_open(c, aad, aad_len, iv, data, len, icv);
    uint8_t mac[HMAC_MAX_OUT];
    /* Verify before decrypting: a forged packet costs one HMAC, never a
     * decryption, and no padding oracle exists (RFC 4303 3.4.4). */
    if (hmac_compute(c, aad, aad_len, iv, data, len, esn_hi, mac) != 0 ||
        CRYPTO_memcmp(mac, icv, c->icv_len) != 0)
        return -1;
    if (c->dec != NULL && cbc_crypt(c->dec, false, iv, data, len) != 0)
        return -1;
    return 0;
}
