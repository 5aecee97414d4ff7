/* Shared-key AUTH (RFC 7296 2.15): see auth.h. */
#include "ike/auth.h"

#include <openssl/crypto.h>
#include <string.h>

/* The 17 ASCII bytes of the RFC's key pad, without a terminating NUL. */
static const uint8_t KEY_PAD[] = {'K', 'e', 'y', ' ', 'P', 'a', 'd', ' ', 'f',
                                  'o', 'r', ' ', 'I', 'K', 'E', 'v', '2'};

/* MACedIDFor{I,R} = prf(SK_px, RestOfIDPayload). */
static int maced_id(const struct ns_auth_input *in, uint8_t out[NS_PRF_MAX_LEN])
{
    if (!in->sk_p || in->sk_p_len == 0 || !in->id_rest || in->id_rest_len == 0)
        return -1;
    return ns_prf(in->prf, in->sk_p, in->sk_p_len, in->id_rest, in->id_rest_len, out);
}

/* Both parts of the message must be present: an AUTH over an empty
 * message or nonce would sign nothing of the exchange. */
static bool input_ok(const struct ns_auth_input *in)
{
    return ns_prf_len(in->prf) != 0 && in->real_msg && in->real_msg_len && in->peer_nonce &&
           in->peer_nonce_len;
}

int ns_auth_signed_octets(const struct ns_auth_input *in, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!input_ok(in))
        return -1;
    size_t plen = ns_prf_len(in->prf);
    if (in->real_msg_len > cap || in->peer_nonce_len > cap - in->real_msg_len ||
        plen > cap - in->real_msg_len - in->peer_nonce_len)
        return -1;
    uint8_t mac[NS_PRF_MAX_LEN];
    if (maced_id(in, mac) != 0)
        return -1;
    memcpy(out, in->real_msg, in->real_msg_len);
    memcpy(out + in->real_msg_len, in->peer_nonce, in->peer_nonce_len);
    memcpy(out + in->real_msg_len + in->peer_nonce_len, mac, plen);
    *out_len = in->real_msg_len + in->peer_nonce_len + plen;
    return 0;
}

int ns_auth_signed_parts(const struct ns_auth_input *in, uint8_t mac[NS_PRF_MAX_LEN],
                         const uint8_t *parts[3], size_t lens[3])
{
    if (!input_ok(in) || maced_id(in, mac) != 0)
        return -1;
    parts[0] = in->real_msg;
    lens[0] = in->real_msg_len;
    parts[1] = in->peer_nonce;
    lens[1] = in->peer_nonce_len;
    parts[2] = mac;
    lens[2] = ns_prf_len(in->prf);
    return 0;
}

int ns_auth_psk_compute(const struct ns_auth_input *in, const uint8_t *key, size_t key_len,
                        uint8_t out[NS_PRF_MAX_LEN], size_t *out_len)
{
    if (!input_ok(in) || !key || key_len == 0)
        return -1;
    size_t plen = ns_prf_len(in->prf);
    uint8_t mac[NS_PRF_MAX_LEN], padded[NS_PRF_MAX_LEN];
    int rc = -1;
    if (maced_id(in, mac) != 0 ||
        ns_prf(in->prf, key, key_len, KEY_PAD, sizeof(KEY_PAD), padded) != 0)
        goto out;
    /* The signed octets as parts: no copy of the (up to 64 KiB) message. */
    const uint8_t *parts[3] = {in->real_msg, in->peer_nonce, mac};
    const size_t lens[3] = {in->real_msg_len, in->peer_nonce_len, plen};
    if (ns_prf_parts(in->prf, padded, plen, parts, lens, 3, out) != 0)
        goto out;
    *out_len = plen;
    rc = 0;
out:
    /* prf(PSK, pad) is as good as the PSK itself. */
    OPENSSL_cleanse(padded, sizeof(padded));
    return rc;
}

bool ns_auth_psk_verify(const struct ns_auth_input *in, const uint8_t *key, size_t key_len,
                        const uint8_t *auth, size_t auth_len)
{
    uint8_t want[NS_PRF_MAX_LEN];
    size_t want_len = 0;
    if (!auth || ns_auth_psk_compute(in, key, key_len, want, &want_len) != 0)
        return false;
    /* The length is public (it follows from the PRF); the bytes are
     * compared in constant time so timing reveals no prefix of AUTH. */
    bool same = auth_len == want_len && CRYPTO_memcmp(want, auth, want_len) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return same;
}
