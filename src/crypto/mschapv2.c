/* MS-CHAPv2 (RFC 2759) and MPPE keys (RFC 3079): see mschapv2.h. */
#include "crypto/mschapv2.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <string.h>

#include "crypto/hash.h"

#define DES_KEY_LEN 8
#define DES_BLOCK_LEN 8

/* RFC 2759 8.7 and RFC 3079 3.4, without their terminating NULs. */
static const char magic_sign[] = "Magic server to client signing constant";
static const char magic_pad[] = "Pad to make it do more than one iteration";
static const char magic_master[] = "This is the MPPE Master Key";
static const char magic_client_send[] =
    "On the client side, this is the send key; on the server side, it is the receive key.";
static const char magic_client_receive[] =
    "On the client side, this is the receive key; on the server side, it is the send key.";

/* ---- the legacy provider, in a library context of our own ------------- */

static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *legacy_ctx;
static EVP_MD *md4;
static EVP_CIPHER *des_ecb;

static void legacy_load(void)
{
    legacy_ctx = OSSL_LIB_CTX_new();
    if (legacy_ctx == NULL || OSSL_PROVIDER_load(legacy_ctx, "legacy") == NULL)
        return;
    md4 = EVP_MD_fetch(legacy_ctx, "MD4", NULL);
    des_ecb = EVP_CIPHER_fetch(legacy_ctx, "DES-ECB", NULL);
}

bool ns_mschapv2_available(void)
{
    return pthread_once(&legacy_once, legacy_load) == 0 && md4 != NULL && des_ecb != NULL;
}

static int md4_of(const uint8_t *data, size_t len, uint8_t out[NS_MSCHAPV2_HASH_LEN])
{
    unsigned got = 0;
    if (!ns_mschapv2_available() || EVP_Digest(data, len, out, &got, md4, NULL) != 1 ||
        got != NS_MSCHAPV2_HASH_LEN)
        return -1;
    return 0;
}

/* DesEncrypt (RFC 2759 8.6): one block with a key of 7 bytes, spread over
 * 8 with odd parity in each low bit (RFC 2759 9.3 shows the layout). */
static int des_encrypt(const uint8_t clear[DES_BLOCK_LEN], const uint8_t key7[7],
                       uint8_t out[DES_BLOCK_LEN])
{
    uint8_t key[DES_KEY_LEN];
    if (!ns_mschapv2_available())
        return -1;
    for (int i = 0; i < DES_KEY_LEN; i++) {
        /* bits 7i .. 7i+6 of the 56-bit key, as the high 7 bits */
        unsigned bit = 7u * (unsigned)i, byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)key7[byte] << 8 | (byte + 1 < 7 ? key7[byte + 1] : 0);
        uint8_t k = (uint8_t)((v << shift) >> 8) & 0xfe;
        key[i] = (uint8_t)(k | !(__builtin_popcount(k) & 1));
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, rc = -1;
    if (ctx != NULL && EVP_EncryptInit_ex2(ctx, des_ecb, key, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_EncryptUpdate(ctx, out, &n, clear, DES_BLOCK_LEN) == 1 && n == DES_BLOCK_LEN)
        rc = 0;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* ---- RFC 2759 ---------------------------------------------------------- */

/* The next code point of UTF-8 s[*i..len), or -1 for malformed input
 * (overlong forms, surrogates and values above U+10FFFF included). */
static long utf8_next(const uint8_t *s, size_t len, size_t *i)
{
    uint8_t c = s[(*i)++];
    if (c < 0x80)
        return c;
    int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
    if (more < 0 || c > 0xf4 || len - *i < (size_t)more)
        return -1;
    long cp = c & (0x3f >> more);
    for (int k = 0; k < more; k++) {
        uint8_t d = s[(*i)++];
        if ((d & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (d & 0x3f);
    }
    static const long min_of[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    return cp;
}

int ns_mschapv2_nt_hash(const char *password, size_t len, uint8_t out[NS_MSCHAPV2_HASH_LEN])
{
    /* Each character is one UTF-16 unit, or two (a surrogate pair). */
    uint8_t u16[NS_MSCHAPV2_PASSWORD_MAX * 4];
    size_t n = 0, chars = 0, i = 0;
    int rc = -1;
    if (password == NULL && len != 0)
        return -1;
    while (i < len) {
        long cp = utf8_next((const uint8_t *)password, len, &i);
        if (cp < 0 || ++chars > NS_MSCHAPV2_PASSWORD_MAX)
            goto out;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            long hi = 0xd800 | (cp >> 10), lo = 0xdc00 | (cp & 0x3ff);
            u16[n++] = (uint8_t)hi;
            u16[n++] = (uint8_t)(hi >> 8);
            cp = lo;
        }
        u16[n++] = (uint8_t)cp;
        u16[n++] = (uint8_t)(cp >> 8);
    }
    rc = md4_of(u16, n, out);
out:
    OPENSSL_cleanse(u16, sizeof(u16));
    return rc;
}

int ns_mschapv2_nt_hash_hash(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                             uint8_t out[NS_MSCHAPV2_HASH_LEN])
{
    return md4_of(nt_hash, NS_MSCHAPV2_HASH_LEN, out);
}

void ns_mschapv2_strip_domain(const char *user, size_t len, const char **name, size_t *name_len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++)
        if (user[i] == '\\')
            start = i + 1;
    *name = user + start;
    *name_len = len - start;
}

int ns_mschapv2_challenge_hash(const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                               const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                               const char *user, size_t user_len,
                               uint8_t out[NS_MSCHAPV2_CHALLENGE_HASH_LEN])
{
    uint8_t digest[NS_SHA1_LEN];
    const uint8_t *parts[] = {peer_challenge, auth_challenge, (const uint8_t *)user};
    const size_t lens[] = {NS_MSCHAPV2_CHALLENGE_LEN, NS_MSCHAPV2_CHALLENGE_LEN, user_len};
    if (user_len > NS_MSCHAPV2_USER_MAX || ns_sha1_parts(parts, lens, 3, digest) != 0)
        return -1;
    memcpy(out, digest, NS_MSCHAPV2_CHALLENGE_HASH_LEN);
    return 0;
}

int ns_mschapv2_nt_response(const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                            const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                            const char *user, size_t user_len,
                            const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                            uint8_t out[NS_MSCHAPV2_NT_RESPONSE_LEN])
{
    uint8_t challenge[NS_MSCHAPV2_CHALLENGE_HASH_LEN], zhash[21] = {0};
    if (ns_mschapv2_challenge_hash(peer_challenge, auth_challenge, user, user_len, challenge) != 0)
        return -1;
    /* ChallengeResponse (8.5): the hash padded with zeros to 21 bytes,
     * three 7-byte DES keys. */
    memcpy(zhash, nt_hash, NS_MSCHAPV2_HASH_LEN);
    int rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = des_encrypt(challenge, zhash + 7 * k, out + DES_BLOCK_LEN * k);
    OPENSSL_cleanse(zhash, sizeof(zhash));
    return rc;
}

bool ns_mschapv2_nt_response_ok(const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                const char *user, size_t user_len,
                                const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                                const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN])
{
    uint8_t want[NS_MSCHAPV2_NT_RESPONSE_LEN];
    return ns_mschapv2_nt_response(auth_challenge, peer_challenge, user, user_len, nt_hash, want) ==
               0 &&
           CRYPTO_memcmp(want, nt_response, sizeof(want)) == 0;
}

/* The 20-byte digest the authenticator response is the hex of (8.7). */
static int auth_digest(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                       const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                       const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                       const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN], const char *user,
                       size_t user_len, uint8_t digest[NS_SHA1_LEN])
{
    uint8_t hash_hash[NS_MSCHAPV2_HASH_LEN], challenge[NS_MSCHAPV2_CHALLENGE_HASH_LEN];
    if (ns_mschapv2_nt_hash_hash(nt_hash, hash_hash) != 0 ||
        ns_mschapv2_challenge_hash(peer_challenge, auth_challenge, user, user_len, challenge) != 0)
        return -1;
    const uint8_t *p1[] = {hash_hash, nt_response, (const uint8_t *)magic_sign};
    const size_t l1[] = {sizeof(hash_hash), NS_MSCHAPV2_NT_RESPONSE_LEN, sizeof(magic_sign) - 1};
    int rc = ns_sha1_parts(p1, l1, 3, digest);
    OPENSSL_cleanse(hash_hash, sizeof(hash_hash));
    if (rc != 0)
        return -1;
    const uint8_t *p2[] = {digest, challenge, (const uint8_t *)magic_pad};
    const size_t l2[] = {NS_SHA1_LEN, sizeof(challenge), sizeof(magic_pad) - 1};
    uint8_t second[NS_SHA1_LEN];
    if (ns_sha1_parts(p2, l2, 3, second) != 0)
        return -1;
    memcpy(digest, second, NS_SHA1_LEN);
    return 0;
}

int ns_mschapv2_authenticator_response(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                                       const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                                       const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                       const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                       const char *user, size_t user_len,
                                       char out[NS_MSCHAPV2_AUTH_RESPONSE_LEN + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t digest[NS_SHA1_LEN];
    if (auth_digest(nt_hash, nt_response, peer_challenge, auth_challenge, user, user_len, digest) !=
        0)
        return -1;
    out[0] = 'S';
    out[1] = '=';
    for (size_t i = 0; i < NS_SHA1_LEN; i++) {
        out[2 + 2 * i] = hex[digest[i] >> 4];
        out[3 + 2 * i] = hex[digest[i] & 0xf];
    }
    out[NS_MSCHAPV2_AUTH_RESPONSE_LEN] = '\0';
    return 0;
}

bool ns_mschapv2_authenticator_response_ok(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                                           const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                                           const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                           const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                           const char *user, size_t user_len, const char *received,
                                           size_t len)
{
    char want[NS_MSCHAPV2_AUTH_RESPONSE_LEN + 1], got[NS_MSCHAPV2_AUTH_RESPONSE_LEN];
    if (len != NS_MSCHAPV2_AUTH_RESPONSE_LEN ||
        ns_mschapv2_authenticator_response(nt_hash, nt_response, peer_challenge, auth_challenge,
                                           user, user_len, want) != 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = received[i];
        got[i] = c >= 'a' && c <= 'f' ? (char)(c - 'a' + 'A') : c;
    }
    return CRYPTO_memcmp(want, got, NS_MSCHAPV2_AUTH_RESPONSE_LEN) == 0;
}

/* ---- RFC 3079 ---------------------------------------------------------- */

int ns_mschapv2_master_key(const uint8_t nt_hash_hash[NS_MSCHAPV2_HASH_LEN],
                           const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                           uint8_t out[NS_MSCHAPV2_HASH_LEN])
{
    uint8_t digest[NS_SHA1_LEN];
    const uint8_t *parts[] = {nt_hash_hash, nt_response, (const uint8_t *)magic_master};
    const size_t lens[] = {NS_MSCHAPV2_HASH_LEN, NS_MSCHAPV2_NT_RESPONSE_LEN,
                           sizeof(magic_master) - 1};
    if (ns_sha1_parts(parts, lens, 3, digest) != 0)
        return -1;
    memcpy(out, digest, NS_MSCHAPV2_HASH_LEN);
    OPENSSL_cleanse(digest, sizeof(digest));
    return 0;
}

int ns_mschapv2_start_key(const uint8_t master_key[NS_MSCHAPV2_HASH_LEN], size_t key_len,
                          bool is_send, bool is_server, uint8_t *out)
{
    static const uint8_t pad1[40] = {0};
    uint8_t pad2[40], digest[NS_SHA1_LEN];
    if (key_len > NS_SHA1_LEN)
        return -1;
    memset(pad2, 0xf2, sizeof(pad2));
    const char *magic = is_send != is_server ? magic_client_send : magic_client_receive;
    const uint8_t *parts[] = {master_key, pad1, (const uint8_t *)magic, pad2};
    const size_t lens[] = {NS_MSCHAPV2_HASH_LEN, sizeof(pad1), sizeof(magic_client_send) - 1,
                           sizeof(pad2)};
    if (ns_sha1_parts(parts, lens, 4, digest) != 0)
        return -1;
    memcpy(out, digest, key_len);
    OPENSSL_cleanse(digest, sizeof(digest));
    return 0;
}

int ns_mschapv2_msk(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                    const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                    uint8_t out[NS_MSCHAPV2_MSK_LEN])
{
    uint8_t hash_hash[NS_MSCHAPV2_HASH_LEN], master[NS_MSCHAPV2_HASH_LEN];
    int rc = -1;
    memset(out, 0, NS_MSCHAPV2_MSK_LEN);
    if (ns_mschapv2_nt_hash_hash(nt_hash, hash_hash) == 0 &&
        ns_mschapv2_master_key(hash_hash, nt_response, master) == 0 &&
        ns_mschapv2_start_key(master, 16, false, true, out) == 0 &&
        ns_mschapv2_start_key(master, 16, true, true, out + 16) == 0)
        rc = 0;
    if (rc != 0)
        OPENSSL_cleanse(out, NS_MSCHAPV2_MSK_LEN);
    OPENSSL_cleanse(hash_hash, sizeof(hash_hash));
    OPENSSL_cleanse(master, sizeof(master));
    return rc;
}
