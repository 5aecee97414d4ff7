/* The Encrypted and Authenticated payload, SK (RFC 7296 3.14; RFC 5282 for
 * AEAD). Layout of its body: IV | ciphertext | ICV, where the plaintext is
 * inner payloads | padding | pad length (1 byte). The integrity covers the
 * message from the IKE header on: ns_cipher gets aad = header .. SK generic
 * header, and for CBC+HMAC computes the ICV over aad | IV | ciphertext,
 * which is exactly "the whole message up to the ICV"; for an AEAD the same
 * aad is RFC 5282's associated data. Everything happens in place. */
#include <stdint.h>

#include "ike/msg.h"

#define GENERIC_HDR_LEN 4
#define PAYLOAD_MAX 65535

static void fail(struct ns_ike_builder *b, int err)
{
    if (!b->err)
        b->err = err;
}

void ns_ike_sk_begin(struct ns_ike_builder *b, const struct ns_cipher *c, const uint8_t *iv)
{
    if (b->sk_start || b->sealed || b->open) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    ns_ike_build_open(b, NS_PL_SK, false);
    /* The SK payload stays open through its inner payloads; it is tracked
     * by sk_start, not by the open flag, so they can be opened inside. */
    b->open = false;
    /* Any non-zero start marks the SK as begun; when the writer is already
     * full the value is never used and finish reports ENOSPACE. */
    b->sk_start = ns_writer_ok(&b->w) ? b->pl_start : NS_IKE_HEADER_LEN;
    size_t iv_len = ns_cipher_iv_len(c);
    if (iv_len)
        ns_write_bytes(&b->w, iv, iv_len);
    b->sk_body = ns_writer_len(&b->w);
}

void ns_ike_sk_seal(struct ns_ike_builder *b, struct ns_cipher *c)
{
    if (!b->sk_start || b->sealed || b->open) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    b->sealed = true;
    if (!ns_writer_ok(&b->w) || b->err)
        return;
    /* 3.14: padding to the cipher's block size; the pad length byte is
     * part of the padded plaintext. ns_cipher_block_len is 16 for CBC and
     * 4 for the others, for which any length would do. */
    size_t block = ns_cipher_block_len(c);
    size_t pt_len = ns_writer_len(&b->w) - b->sk_body;
    size_t pad = (block - (pt_len + 1) % block) % block;
    ns_write_zeros(&b->w, pad);
    ns_write_u8(&b->w, (uint8_t)pad);
    uint8_t *icv = ns_write_reserve(&b->w, ns_cipher_icv_len(c));
    if (!icv)
        return;
    size_t total = ns_writer_len(&b->w);
    if (total - b->sk_start > PAYLOAD_MAX || total > NS_IKE_MAX_MSG) {
        fail(b, NS_IKE_ELENGTH);
        return;
    }
    /* Lengths first: both are inside the authenticated data. */
    ns_write_u16_at(&b->w, b->sk_start + 2, (uint16_t)(total - b->sk_start));
    ns_write_u32_at(&b->w, NS_IKE_HDR_LENGTH_OFF, (uint32_t)total);
    uint8_t *msg = b->w.data;
    size_t aad_len = b->sk_start + GENERIC_HDR_LEN;
    if (ns_cipher_seal(c, msg, aad_len, msg + aad_len, msg + b->sk_body, pt_len + pad + 1, NULL,
                       icv) != 0)
        fail(b, NS_IKE_ECRYPTO);
}

/* Whether sk lies inside msg[0..len) as an SK payload after the header
 * whose body reaches exactly to the end (3.14: it is the last payload). By
 * address, since sk is a view that must point into this very message. */
static bool sk_in_msg(const uint8_t *msg, size_t len, const struct ns_ike_payload *sk)
{
    uintptr_t m = (uintptr_t)msg, body = (uintptr_t)sk->body;
    if (len < NS_IKE_HEADER_LEN + GENERIC_HDR_LEN)
        return false;
    if (body < m + NS_IKE_HEADER_LEN + GENERIC_HDR_LEN || body > m + len)
        return false;
    return (m + len) - body == sk->body_len;
}

int ns_ike_sk_open(struct ns_cipher *c, uint8_t *msg, size_t len, const struct ns_ike_payload *sk,
                   struct ns_ike_payloads *inner)
{
    inner->n = 0;
    inner->unsupported_critical = 0;
    if (sk->type != NS_PL_SK || !sk_in_msg(msg, len, sk))
        return NS_IKE_ESYNTAX;
    size_t aad_len = (size_t)(sk->body - msg);
    size_t iv_len = ns_cipher_iv_len(c);
    size_t icv_len = ns_cipher_icv_len(c);
    if (sk->body_len < iv_len + 1 + icv_len)
        return NS_IKE_ELENGTH;
    size_t ct_len = sk->body_len - iv_len - icv_len;
    /* Only CBC needs whole blocks; an AEAD takes any length (RFC 5282 3). */
    if (!ns_cipher_is_aead(c) && ct_len % ns_cipher_block_len(c) != 0)
        return NS_IKE_ELENGTH;
    uint8_t *iv = msg + aad_len;
    uint8_t *pt = iv + iv_len;
    if (ns_cipher_open(c, msg, aad_len, iv, pt, ct_len, NULL, pt + ct_len) != 0)
        return NS_IKE_EAUTH;

    /* Authenticated from here on: a bad pad length is the peer's syntax
     * error, not an attack on the integrity. */
    size_t pad = pt[ct_len - 1];
    if (pad + 1 > ct_len)
        return NS_IKE_ESYNTAX;
    int err = ns_ike_parse_chain(sk->next_payload, pt, ct_len - 1 - pad, inner);
    if (err && err != NS_IKE_ECRITICAL)
        return err;
    for (unsigned i = 0; i < inner->n; i++)
        if (inner->p[i].type == NS_PL_SK || inner->p[i].type == NS_PL_SKF)
            return NS_IKE_ESYNTAX; /* no encryption inside the encryption */
    return err;
}
