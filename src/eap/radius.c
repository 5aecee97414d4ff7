/* RADIUS packets for EAP pass-through: see radius.h. */
#include "eap/radius.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/hmac.h"

#define MA_LEN 16
#define HDR_AUTH_OFF 4

static int hmac_md5(const uint8_t *secret, size_t secret_len, const uint8_t *msg, size_t len,
                    uint8_t out[MA_LEN])
{
    EVP_MAC_CTX *ctx = ns_hmac_ctx_new("MD5", secret, secret_len);
    size_t got = 0;
    int rc = -1;
    if (ctx && EVP_MAC_update(ctx, msg, len) == 1 && EVP_MAC_final(ctx, out, &got, MA_LEN) == 1 &&
        got == MA_LEN)
        rc = 0;
    EVP_MAC_CTX_free(ctx);
    return rc;
}

/* MD5(packet with the Request Authenticator in its place | secret): the
 * Response Authenticator (RFC 2865 3). */
static int response_auth(const uint8_t *pkt, size_t len, const uint8_t req_auth[16],
                         const uint8_t *secret, size_t secret_len, uint8_t out[16])
{
    const uint8_t *parts[] = {pkt, req_auth, pkt + NS_RADIUS_HDR_LEN, secret};
    const size_t lens[] = {HDR_AUTH_OFF, NS_RADIUS_AUTH_LEN, len - NS_RADIUS_HDR_LEN, secret_len};
    return ns_md5_parts(parts, lens, 4, out);
}

static void attr(struct ns_writer *w, uint8_t type, const void *val, size_t len)
{
    ns_write_u8(w, type);
    ns_write_u8(w, (uint8_t)(2 + len));
    ns_write_bytes(w, val, len);
}

static void attr_u32(struct ns_writer *w, uint8_t type, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    attr(w, type, b, 4);
}

/* The EAP packet in EAP-Message attributes of at most 253 bytes each (RFC
 * 3579 3.1). */
static void attr_eap(struct ns_writer *w, const uint8_t *eap, size_t len)
{
    for (size_t off = 0; off < len; off += NS_RADIUS_ATTR_MAX) {
        size_t n = len - off < NS_RADIUS_ATTR_MAX ? len - off : NS_RADIUS_ATTR_MAX;
        attr(w, NS_RADIUS_A_EAP_MESSAGE, eap + off, n);
    }
}

/* Finishes a packet started at start: its Length, then the
 * Message-Authenticator at ma (its value zeroed so far) over the packet as
 * it is (the Request Authenticator in place). */
static int finish(struct ns_writer *w, size_t start, size_t ma, const uint8_t *secret,
                  size_t secret_len)
{
    size_t len = ns_writer_len(w) - start;
    if (!ns_writer_ok(w) || len > NS_RADIUS_MAX_PACKET)
        return -1;
    uint8_t *p = w->data + start;
    ns_put_u16(p + 2, (uint16_t)len);
    return hmac_md5(secret, secret_len, p, len, p + ma);
}

int ns_radius_build_request(struct ns_writer *w, uint8_t id,
                            const uint8_t req_auth[NS_RADIUS_AUTH_LEN],
                            const struct ns_eapb_request *rq, const char *nas_id,
                            const uint8_t *secret, size_t secret_len)
{
    size_t nas_len = nas_id ? strlen(nas_id) : 0;
    if (rq->user_len == 0 || rq->user_len > NS_RADIUS_ATTR_MAX || nas_len > NS_RADIUS_ATTR_MAX ||
        rq->state_len > NS_RADIUS_ATTR_MAX || rq->eap_len < NS_EAP_HDR_LEN ||
        rq->eap_len > NS_EAPB_EAP_MAX)
        return -1;
    size_t start = ns_writer_len(w);
    char calling[NS_ENDPOINT_STRLEN];
    ns_write_u8(w, NS_RADIUS_ACCESS_REQUEST);
    ns_write_u8(w, id);
    ns_write_u16(w, 0);
    ns_write_bytes(w, req_auth, NS_RADIUS_AUTH_LEN);
    attr(w, NS_RADIUS_A_USER_NAME, rq->user, rq->user_len);
    if (nas_len)
        attr(w, NS_RADIUS_A_NAS_IDENTIFIER, nas_id, nas_len);
    attr_u32(w, NS_RADIUS_A_SERVICE_TYPE, 2);  /* Framed */
    attr_u32(w, NS_RADIUS_A_NAS_PORT_TYPE, 5); /* Virtual */
    if (rq->client.addr.family) {
        ns_endpoint_str(&rq->client, calling);
        attr(w, NS_RADIUS_A_CALLING_STATION_ID, calling, strlen(calling));
    }
    attr_eap(w, rq->eap, rq->eap_len);
    if (rq->state_len)
        attr(w, NS_RADIUS_A_STATE, rq->state, rq->state_len);
    size_t ma = ns_writer_len(w) - start + 2;
    ns_write_u8(w, NS_RADIUS_A_MESSAGE_AUTHENTICATOR);
    ns_write_u8(w, 2 + MA_LEN);
    ns_write_zeros(w, MA_LEN);
    return finish(w, start, ma, secret, secret_len);
}

int ns_radius_answer_id(const uint8_t *pkt, size_t len)
{
    return len >= NS_RADIUS_HDR_LEN ? pkt[1] : -1;
}

/* b(i) of RFC 2548 2.4.2: MD5(secret | prev), prev being R | A first,
 * then the previous cipher block. */
static int mppe_block(const uint8_t *secret, size_t secret_len, const uint8_t *a, size_t a_len,
                      const uint8_t *b, size_t b_len, uint8_t out[16])
{
    const uint8_t *parts[] = {secret, a, b};
    const size_t lens[] = {secret_len, a_len, b_len};
    return ns_md5_parts(parts, lens, 3, out);
}

int ns_radius_mppe_hide(const uint8_t *key, size_t key_len, uint16_t salt,
                        const uint8_t req_auth[NS_RADIUS_AUTH_LEN], const uint8_t *secret,
                        size_t secret_len, uint8_t *out, size_t out_cap)
{
    uint8_t plain[48] = {0}, b[16], a[2];
    size_t n = (1 + key_len + 15) / 16 * 16;
    if (key_len > NS_RADIUS_MPPE_KEY_MAX || out_cap < 2 + n)
        return -1;
    ns_put_u16(a, salt | 0x8000);
    plain[0] = (uint8_t)key_len;
    memcpy(plain + 1, key, key_len);
    memcpy(out, a, 2);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += 16) {
        rc = i == 0 ? mppe_block(secret, secret_len, req_auth, NS_RADIUS_AUTH_LEN, a, 2, b)
                    : mppe_block(secret, secret_len, out + 2 + i - 16, 16, NULL, 0, b);
        for (size_t j = 0; j < 16; j++)
            out[2 + i + j] = plain[i + j] ^ b[j];
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    OPENSSL_cleanse(b, sizeof(b));
    return rc == 0 ? (int)(2 + n) : -1;
}

int ns_radius_mppe_unhide(const uint8_t *in, size_t in_len,
                          const uint8_t req_auth[NS_RADIUS_AUTH_LEN], const uint8_t *secret,
                          size_t secret_len, uint8_t key[NS_RADIUS_MPPE_KEY_MAX])
{
    uint8_t plain[NS_RADIUS_ATTR_MAX], b[16];
    if (in_len < 2 + 16 || (in_len - 2) % 16 != 0 || in_len - 2 > sizeof(plain) || !(in[0] & 0x80))
        return -1;
    size_t n = in_len - 2;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += 16) {
        rc = i == 0 ? mppe_block(secret, secret_len, req_auth, NS_RADIUS_AUTH_LEN, in, 2, b)
                    : mppe_block(secret, secret_len, in + 2 + i - 16, 16, NULL, 0, b);
        for (size_t j = 0; j < 16; j++)
            plain[i + j] = in[2 + i + j] ^ b[j];
    }
    int key_len = plain[0];
    if (rc != 0 || key_len == 0 || key_len > NS_RADIUS_MPPE_KEY_MAX || (size_t)key_len + 1 > n)
        key_len = -1;
    else
        memcpy(key, plain + 1, (size_t)key_len);
    OPENSSL_cleanse(plain, sizeof(plain));
    OPENSSL_cleanse(b, sizeof(b));
    return key_len;
}

int ns_radius_build_answer(struct ns_writer *w, uint8_t code, uint8_t id,
                           const uint8_t req_auth[NS_RADIUS_AUTH_LEN],
                           const struct ns_eapb_answer *a, uint16_t salt, const uint8_t *secret,
                           size_t secret_len)
{
    size_t start = ns_writer_len(w);
    ns_write_u8(w, code);
    ns_write_u8(w, id);
    ns_write_u16(w, 0);
    ns_write_bytes(w, req_auth, NS_RADIUS_AUTH_LEN);
    attr_eap(w, a->eap, a->eap_len);
    if (a->state_len)
        attr(w, NS_RADIUS_A_STATE, a->state, a->state_len);
    if (a->have_framed_ip)
        attr_u32(w, NS_RADIUS_A_FRAMED_IP_ADDRESS, a->framed_ip);
    if (a->class_name[0])
        attr(w, NS_RADIUS_A_CLASS, a->class_name, strnlen(a->class_name, NS_EAPB_CLASS_MAX));
    for (unsigned k = 0; a->msk_len >= 32 && k < 2; k++) {
        uint8_t hidden[2 + 32];
        int n = ns_radius_mppe_hide(a->msk + 16 * k, 16, (uint16_t)(salt + k), req_auth, secret,
                                    secret_len, hidden, sizeof(hidden));
        if (n < 0)
            return -1;
        ns_write_u8(w, NS_RADIUS_A_VENDOR_SPECIFIC);
        ns_write_u8(w, (uint8_t)(2 + 4 + 2 + n));
        ns_write_u32(w, NS_RADIUS_VENDOR_MICROSOFT);
        ns_write_u8(w, k == 0 ? NS_RADIUS_MS_MPPE_RECV_KEY : NS_RADIUS_MS_MPPE_SEND_KEY);
        ns_write_u8(w, (uint8_t)(2 + n));
        ns_write_bytes(w, hidden, (size_t)n);
    }
    size_t ma = ns_writer_len(w) - start + 2;
    ns_write_u8(w, NS_RADIUS_A_MESSAGE_AUTHENTICATOR);
    ns_write_u8(w, 2 + MA_LEN);
    ns_write_zeros(w, MA_LEN);
    if (finish(w, start, ma, secret, secret_len) != 0)
        return -1;
    uint8_t *p = w->data + start;
    return response_auth(p, ns_writer_len(w) - start, req_auth, secret, secret_len,
                         p + HDR_AUTH_OFF);
}

static int bad(struct ns_eapb_answer *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad(struct ns_eapb_answer *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
    return -1;
}

/* Parsing state: the keys until both are there. */
struct keys {
    uint8_t recv[NS_RADIUS_MPPE_KEY_MAX], send[NS_RADIUS_MPPE_KEY_MAX];
    int recv_len, send_len;
};

static int vendor_attr(struct ns_reader v, const uint8_t *req_auth, const uint8_t *secret,
                       size_t secret_len, struct keys *k, struct ns_eapb_answer *out)
{
    if (ns_read_u32(&v) != NS_RADIUS_VENDOR_MICROSOFT)
        return 0; /* another vendor's: not ours to read */
    while (ns_reader_ok(&v) && ns_reader_left(&v) > 0) {
        uint8_t type = ns_read_u8(&v), len = ns_read_u8(&v);
        if (!ns_reader_ok(&v) || len < 2)
            return bad(out, "a malformed Microsoft attribute");
        struct ns_reader val = ns_read_sub(&v, len - 2u);
        if (!ns_reader_ok(&val))
            return bad(out, "a Microsoft attribute longer than its Vendor-Specific");
        if (type != NS_RADIUS_MS_MPPE_RECV_KEY && type != NS_RADIUS_MS_MPPE_SEND_KEY)
            continue;
        bool recv = type == NS_RADIUS_MS_MPPE_RECV_KEY;
        int n = ns_radius_mppe_unhide(ns_reader_pos(&val), ns_reader_left(&val), req_auth, secret,
                                      secret_len, recv ? k->recv : k->send);
        if (n < 0)
            return bad(out, "MS-MPPE-%s-Key does not decrypt (another shared secret?)",
                       recv ? "Recv" : "Send");
        *(recv ? &k->recv_len : &k->send_len) = n;
    }
    return ns_reader_ok(&v) ? 0 : bad(out, "a malformed Vendor-Specific attribute");
}

static int one_attr(uint8_t type, struct ns_reader *val, const uint8_t *req_auth,
                    const uint8_t *secret, size_t secret_len, struct keys *k, bool *filter,
                    struct ns_eapb_answer *out)
{
    size_t n = ns_reader_left(val);
    const uint8_t *p = ns_reader_pos(val);
    switch (type) {
    case NS_RADIUS_A_EAP_MESSAGE:
        if (out->eap_len + n > sizeof(out->eap))
            return bad(out, "EAP-Message attributes of more than %zu bytes", sizeof(out->eap));
        memcpy(out->eap + out->eap_len, p, n);
        out->eap_len += n;
        return 0;
    case NS_RADIUS_A_STATE:
        memcpy(out->state, p, n);
        out->state_len = n;
        return 0;
    case NS_RADIUS_A_FRAMED_IP_ADDRESS:
        if (n != 4)
            return bad(out, "a Framed-IP-Address of %zu bytes", n);
        out->have_framed_ip = true;
        out->framed_ip = ns_get_u32(p);
        return 0;
    case NS_RADIUS_A_CLASS:
    case NS_RADIUS_A_FILTER_ID:
        /* The first Class wins; a Filter-Id only without one. */
        if (out->class_name[0] && (type == NS_RADIUS_A_FILTER_ID || !*filter))
            return 0;
        if (n == 0 || memchr(p, 0, n))
            return bad(out, "a Class or Filter-Id that is not text");
        memcpy(out->class_name, p, n);
        out->class_name[n] = 0;
        *filter = type == NS_RADIUS_A_FILTER_ID;
        return 0;
    case NS_RADIUS_A_VENDOR_SPECIFIC:
        return vendor_attr(*val, req_auth, secret, secret_len, k, out);
    default:
        return 0;
    }
}

/* Zeroes the Message-Authenticator's value in the copy and checks it;
 * exactly one of 16 bytes must be there. */
static int check_ma(uint8_t *copy, size_t len, const uint8_t *secret, size_t secret_len,
                    struct ns_eapb_answer *out)
{
    struct ns_reader r;
    size_t at = 0;
    unsigned seen = 0;
    ns_reader_init(&r, copy + NS_RADIUS_HDR_LEN, len - NS_RADIUS_HDR_LEN);
    while (ns_reader_left(&r) > 0) {
        uint8_t type = ns_read_u8(&r), alen = ns_read_u8(&r);
        if (!ns_reader_ok(&r) || alen < 2 || !ns_read_skip(&r, alen - 2u))
            return bad(out, "a malformed attribute");
        if (type == NS_RADIUS_A_MESSAGE_AUTHENTICATOR) {
            if (alen != 2 + MA_LEN)
                return bad(out, "a Message-Authenticator of %u bytes", alen - 2u);
            at = NS_RADIUS_HDR_LEN + r.off - MA_LEN;
            seen++;
        }
    }
    if (seen != 1)
        return bad(out, seen ? "more than one Message-Authenticator"
                             : "no Message-Authenticator (RFC 3579 3.2 requires one)");
    uint8_t got[MA_LEN], want[MA_LEN];
    memcpy(got, copy + at, MA_LEN);
    memset(copy + at, 0, MA_LEN);
    if (hmac_md5(secret, secret_len, copy, len, want) != 0 || CRYPTO_memcmp(got, want, MA_LEN))
        return bad(out, "a wrong Message-Authenticator (another shared secret?)");
    return 0;
}

static enum ns_eapb_verdict verdict_of(uint8_t code)
{
    return code == NS_RADIUS_ACCESS_ACCEPT   ? NS_EAPB_ACCEPT
           : code == NS_RADIUS_ACCESS_REJECT ? NS_EAPB_REJECT
                                             : NS_EAPB_CHALLENGE;
}

static int parse_attrs(const uint8_t *pkt, size_t len, const uint8_t *req_auth,
                       const uint8_t *secret, size_t secret_len, struct ns_eapb_answer *out)
{
    struct keys k = {.recv_len = 0, .send_len = 0};
    bool filter = false;
    struct ns_reader r;
    int rc = 0;
    ns_reader_init(&r, pkt + NS_RADIUS_HDR_LEN, len - NS_RADIUS_HDR_LEN);
    while (rc == 0 && ns_reader_left(&r) > 0) {
        uint8_t type = ns_read_u8(&r), alen = ns_read_u8(&r);
        struct ns_reader val = ns_read_sub(&r, alen >= 2 ? alen - 2u : SIZE_MAX);
        if (!ns_reader_ok(&val))
            rc = bad(out, "a malformed attribute");
        else
            rc = one_attr(type, &val, req_auth, secret, secret_len, &k, &filter, out);
    }
    if (rc == 0 && (k.recv_len > 0) != (k.send_len > 0))
        rc = bad(out, "only one of MS-MPPE-Recv-Key and MS-MPPE-Send-Key");
    if (rc == 0 && k.recv_len + k.send_len > NS_EAPB_MSK_MAX)
        rc = bad(out, "MS-MPPE keys of more than %d bytes together", NS_EAPB_MSK_MAX);
    if (rc == 0 && k.recv_len > 0) {
        memcpy(out->msk, k.recv, (size_t)k.recv_len);
        memcpy(out->msk + k.recv_len, k.send, (size_t)k.send_len);
        out->msk_len = (size_t)(k.recv_len + k.send_len);
    }
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

int ns_radius_parse_answer(const uint8_t *pkt, size_t len, uint8_t id,
                           const uint8_t req_auth[NS_RADIUS_AUTH_LEN], const uint8_t *secret,
                           size_t secret_len, struct ns_eapb_answer *out)
{
    uint8_t copy[NS_RADIUS_MAX_PACKET];
    memset(out, 0, sizeof(*out));
    struct ns_reader r;
    ns_reader_init(&r, pkt, len);
    uint8_t code = ns_read_u8(&r), got_id = ns_read_u8(&r);
    uint16_t plen = ns_read_u16(&r);
    /* Octets past Length are padding (RFC 2865 3). */
    if (!ns_reader_ok(&r) || plen < NS_RADIUS_HDR_LEN || plen > len || plen > NS_RADIUS_MAX_PACKET)
        return bad(out, "not a RADIUS packet (%zu bytes, Length %u)", len, plen);
    if (code != NS_RADIUS_ACCESS_ACCEPT && code != NS_RADIUS_ACCESS_REJECT &&
        code != NS_RADIUS_ACCESS_CHALLENGE)
        return bad(out, "code %u is no answer to an Access-Request", code);
    if (got_id != id)
        return bad(out, "Identifier %u, the request had %u", got_id, id);
    uint8_t want[NS_RADIUS_AUTH_LEN];
    if (response_auth(pkt, plen, req_auth, secret, secret_len, want) != 0 ||
        CRYPTO_memcmp(want, pkt + HDR_AUTH_OFF, NS_RADIUS_AUTH_LEN) != 0)
        return bad(out, "a wrong Response Authenticator (another shared secret?)");
    memcpy(copy, pkt, plen);
    memcpy(copy + HDR_AUTH_OFF, req_auth, NS_RADIUS_AUTH_LEN);
    int rc = check_ma(copy, plen, secret, secret_len, out);
    if (rc == 0)
        rc = parse_attrs(pkt, plen, req_auth, secret, secret_len, out);
    out->verdict = verdict_of(code);
    if (rc == 0 && out->verdict == NS_EAPB_CHALLENGE && out->eap_len == 0)
        rc = bad(out, "an Access-Challenge without EAP-Message");
    if (rc != 0) {
        /* Nothing of a refused answer is used: wipe what was read. */
        char why[NS_EAPB_WHY_MAX];
        memcpy(why, out->why, sizeof(why));
        memset(out, 0, sizeof(*out));
        memcpy(out->why, why, sizeof(why));
        return -1;
    }
    return 0;
}
