/* IKE fragmentation (RFC 7383): see frag.h. */
#include "ike/frag.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/rand.h"
#include "util/buf.h"

#define GENERIC_HDR_LEN 4
#define SKF_HDR_LEN (GENERIC_HDR_LEN + NS_FRAG_FIELDS_LEN)

/* ---- one fragment ---- */

int ns_frag_parse(const uint8_t *msg, size_t len, const struct ns_ike_payload *skf,
                  struct ns_skf *out)
{
    if (skf->type != NS_PL_SKF || len < NS_IKE_HEADER_LEN + GENERIC_HDR_LEN)
        return NS_IKE_ESYNTAX;
    /* The payload is a view that must point into this very message, and
     * reach its end (the last payload, 2.5). */
    uintptr_t m = (uintptr_t)msg, body = (uintptr_t)skf->body;
    if (body < m + NS_IKE_HEADER_LEN + GENERIC_HDR_LEN || body > m + len ||
        (m + len) - body != skf->body_len)
        return NS_IKE_ESYNTAX;
    struct ns_reader r;
    ns_reader_init(&r, skf->body, skf->body_len);
    out->number = ns_read_u16(&r);
    out->total = ns_read_u16(&r);
    if (!ns_reader_ok(&r))
        return NS_IKE_ELENGTH;
    out->next_payload = skf->next_payload;
    out->aad_len = (size_t)(body - m) + NS_FRAG_FIELDS_LEN;
    out->body_len = ns_reader_left(&r);
    return NS_IKE_OK;
}

int ns_frag_open(struct ns_cipher *c, uint8_t *msg, const struct ns_skf *f, size_t *pt_off,
                 size_t *pt_len)
{
    size_t iv_len = ns_cipher_iv_len(c), icv_len = ns_cipher_icv_len(c);
    if (f->body_len < iv_len + 1 + icv_len)
        return NS_IKE_ELENGTH;
    size_t ct_len = f->body_len - iv_len - icv_len;
    if (!ns_cipher_is_aead(c) && ct_len % ns_cipher_block_len(c) != 0)
        return NS_IKE_ELENGTH;
    uint8_t *iv = msg + f->aad_len;
    uint8_t *pt = iv + iv_len;
    if (ns_cipher_open(c, msg, f->aad_len, iv, pt, ct_len, NULL, pt + ct_len) != 0)
        return NS_IKE_EAUTH;
    size_t pad = pt[ct_len - 1];
    if (pad + 1 > ct_len)
        return NS_IKE_ESYNTAX;
    *pt_off = (size_t)(pt - msg);
    *pt_len = ct_len - 1 - pad;
    return NS_IKE_OK;
}

/* ---- splitting ---- */

/* Padding so that content plus the pad length byte fill whole blocks. */
static size_t pad_for(size_t content, size_t block)
{
    return (block - (content + 1) % block) % block;
}

size_t ns_frag_sealed_len(const struct ns_ike_builder *b, const struct ns_cipher *c)
{
    size_t pt = ns_writer_len(&b->w) - b->sk_body;
    return b->sk_body + pt + pad_for(pt, ns_cipher_block_len(c)) + 1 + ns_cipher_icv_len(c);
}

/* The most content one fragment of at most max_msg bytes carries. */
static size_t room(const struct ns_cipher *c, size_t max_msg)
{
    size_t fixed = NS_IKE_HEADER_LEN + SKF_HDR_LEN + ns_cipher_iv_len(c) + ns_cipher_icv_len(c);
    size_t block = ns_cipher_block_len(c);
    if (max_msg <= fixed + block)
        return 0;
    /* Content, padding and the pad length byte fill whole blocks. */
    size_t blocks = (max_msg - fixed) / block;
    return blocks * block - 1;
}

/* One SKF message: header copied from hdr (Next Payload and length set
 * here), fragment number of total, content chunk[0..n). Its length, or a
 * negative NS_IKE_E* code. */
static int build_one(const uint8_t *hdr, uint8_t next, uint16_t number, uint16_t total,
                     const uint8_t *chunk, size_t n, struct ns_cipher *c, uint8_t *out,
                     size_t cap)
{
    size_t iv_len = ns_cipher_iv_len(c), icv_len = ns_cipher_icv_len(c);
    size_t pad = pad_for(n, ns_cipher_block_len(c));
    size_t total_len = NS_IKE_HEADER_LEN + SKF_HDR_LEN + iv_len + n + pad + 1 + icv_len;
    if (total_len > cap)
        return NS_IKE_ENOSPACE;
    struct ns_writer w;
    ns_writer_init(&w, out, cap);
    ns_write_bytes(&w, hdr, NS_IKE_HDR_NEXT_PAYLOAD_OFF);
    ns_write_u8(&w, NS_PL_SKF);
    ns_write_bytes(&w, hdr + NS_IKE_HDR_NEXT_PAYLOAD_OFF + 1, 7); /* version .. message ID */
    ns_write_u32(&w, (uint32_t)total_len);
    ns_write_u8(&w, number == 1 ? next : NS_PL_NONE);
    ns_write_u8(&w, 0);
    ns_write_u16(&w, (uint16_t)(total_len - NS_IKE_HEADER_LEN));
    ns_write_u16(&w, number);
    ns_write_u16(&w, total);
    uint8_t *iv = ns_write_reserve(&w, iv_len);
    uint8_t *pt = ns_write_reserve(&w, n + pad + 1);
    uint8_t *icv = ns_write_reserve(&w, icv_len);
    if (!ns_writer_ok(&w))
        return NS_IKE_ENOSPACE;
    if (iv_len && ns_random_bytes(iv, iv_len) != 0)
        return NS_IKE_ECRYPTO;
    if (n)
        memcpy(pt, chunk, n);
    memset(pt + n, 0, pad);
    pt[n + pad] = (uint8_t)pad;
    if (ns_cipher_seal(c, out, NS_IKE_HEADER_LEN + SKF_HDR_LEN, iv, pt, n + pad + 1, NULL, icv) !=
        0)
        return NS_IKE_ECRYPTO;
    return (int)total_len;
}

int ns_frag_split(struct ns_ike_builder *b, struct ns_cipher *c, size_t max_msg, uint8_t *out,
                  size_t cap, unsigned *n_frags)
{
    *n_frags = 0;
    if (!b->sk_start || b->sealed || b->open)
        return NS_IKE_ESYNTAX;
    b->sealed = true;
    if (b->err)
        return b->err;
    if (!ns_writer_ok(&b->w))
        return NS_IKE_ENOSPACE;
    size_t per = room(c, max_msg);
    const uint8_t *msg = b->w.data;
    const uint8_t *pt = msg + b->sk_body;
    size_t pt_len = ns_writer_len(&b->w) - b->sk_body;
    if (per == 0)
        return NS_IKE_ELENGTH;
    size_t n = pt_len ? (pt_len + per - 1) / per : 1;
    if (n > NS_FRAG_MAX_FRAGMENTS)
        return NS_IKE_ELENGTH;
    /* The SK payload's Next Payload: the builder wrote the first inner
     * payload's type there. */
    uint8_t first = msg[b->sk_start];
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t chunk = pt_len - i * per < per ? pt_len - i * per : per;
        int k = build_one(msg, first, (uint16_t)(i + 1), (uint16_t)n, pt + i * per, chunk, c,
                          out + off, cap - off);
        if (k < 0)
            return k;
        off += (size_t)k;
    }
    *n_frags = (unsigned)n;
    return (int)off;
}

/* ---- reassembly ---- */

void ns_frag_reset(struct ns_frag_reasm *r)
{
    for (unsigned i = 0; i < NS_FRAG_MAX_FRAGMENTS; i++) {
        if (r->piece[i].data) {
            OPENSSL_cleanse(r->piece[i].data, r->piece[i].len);
            free(r->piece[i].data);
        }
    }
    if (r->pool) {
        r->pool->open--;
        r->pool->bytes -= r->bytes;
    }
    memset(r, 0, sizeof(*r));
}

bool ns_frag_expire(struct ns_frag_reasm *r, struct ns_frag_counters *ctr, uint64_t now_ms)
{
    if (!r->active || now_ms < r->deadline)
        return false;
    ctr->expired++;
    ns_frag_reset(r);
    return true;
}

/* The checks before the ICV (frag.h). NS_FRAG_HELD when it may go on. */
static enum ns_frag_verdict precheck(const struct ns_frag_reasm *r,
                                     const struct ns_frag_limits *lim,
                                     struct ns_frag_counters *ctr, uint32_t msg_id,
                                     const struct ns_skf *f, const uint8_t *icv, size_t icv_len)
{
    if (f->number == 0 || f->total == 0 || f->number > f->total || f->total > lim->max_frags ||
        f->total > NS_FRAG_MAX_FRAGMENTS) {
        ctr->out_of_range++;
        return NS_FRAG_DROPPED;
    }
    if (!r->active || r->msg_id != msg_id)
        return NS_FRAG_HELD;
    if (f->total < r->total) {
        ctr->wrong_total++;
        return NS_FRAG_DROPPED;
    }
    const struct ns_frag_piece *p = &r->piece[f->number - 1];
    if (f->total == r->total && p->data) {
        bool same = p->icv_len == icv_len && CRYPTO_memcmp(p->icv, icv, icv_len) == 0;
        if (same)
            ctr->duplicate++;
        else
            ctr->overlapping++;
        return NS_FRAG_DROPPED;
    }
    return NS_FRAG_HELD;
}

enum ns_frag_verdict ns_frag_add(struct ns_frag_reasm *r, const struct ns_frag_limits *lim,
                                 struct ns_frag_pool *pool, struct ns_frag_counters *ctr,
                                 struct ns_cipher *c, uint32_t msg_id, uint8_t *msg, size_t len,
                                 const struct ns_ike_payload *skf, uint64_t now_ms, int *ike_err)
{
    struct ns_skf f;
    *ike_err = ns_frag_parse(msg, len, skf, &f);
    if (*ike_err != NS_IKE_OK) {
        ctr->out_of_range++;
        return NS_FRAG_DROPPED;
    }
    size_t icv_len = ns_cipher_icv_len(c);
    if (f.body_len < icv_len) {
        ctr->out_of_range++;
        *ike_err = NS_IKE_ELENGTH;
        return NS_FRAG_DROPPED;
    }
    const uint8_t *icv = msg + len - icv_len;
    uint8_t icv_copy[NS_CIPHER_MAX_ICV];
    memcpy(icv_copy, icv, icv_len);
    if (precheck(r, lim, ctr, msg_id, &f, icv_copy, icv_len) == NS_FRAG_DROPPED) {
        *ike_err = NS_IKE_ESYNTAX;
        return NS_FRAG_DROPPED;
    }
    size_t pt_off, pt_len;
    *ike_err = ns_frag_open(c, msg, &f, &pt_off, &pt_len);
    if (*ike_err != NS_IKE_OK) {
        if (*ike_err == NS_IKE_EAUTH)
            ctr->forged++;
        else
            ctr->out_of_range++;
        return NS_FRAG_DROPPED;
    }
    /* Verified: a fragment of another message, or of this one cut
     * smaller (a larger total, 2.5.2), starts over. */
    if (!r->active || r->msg_id != msg_id || f.total > r->total) {
        ns_frag_reset(r);
        if (pool && pool->open >= pool->max_open) {
            ctr->busy++;
            *ike_err = NS_IKE_ENOSPACE;
            return NS_FRAG_DROPPED;
        }
        r->active = true;
        r->msg_id = msg_id;
        r->total = f.total;
        r->deadline = now_ms + lim->timeout_ms;
        r->pool = pool;
        if (pool)
            pool->open++;
    }
    if (r->bytes + pt_len > lim->max_bytes) {
        ctr->too_big++;
        ns_frag_reset(r);
        *ike_err = NS_IKE_ELENGTH;
        return NS_FRAG_DROPPED;
    }
    if (r->pool && pt_len > r->pool->max_bytes - r->pool->bytes) {
        ctr->busy++;
        if (r->have == 0) /* started by this fragment: its place goes back */
            ns_frag_reset(r);
        *ike_err = NS_IKE_ENOSPACE;
        return NS_FRAG_DROPPED;
    }
    struct ns_frag_piece *p = &r->piece[f.number - 1];
    p->data = malloc(pt_len ? pt_len : 1);
    if (!p->data) {
        ns_frag_reset(r);
        *ike_err = NS_IKE_ENOSPACE;
        return NS_FRAG_DROPPED;
    }
    if (pt_len)
        memcpy(p->data, msg + pt_off, pt_len);
    p->len = pt_len;
    memcpy(p->icv, icv_copy, icv_len);
    p->icv_len = icv_len;
    r->bytes += pt_len;
    if (r->pool)
        r->pool->bytes += pt_len;
    r->have++;
    if (f.number == 1)
        r->first_payload = f.next_payload;
    ctr->received++;
    return r->have == r->total ? NS_FRAG_COMPLETE : NS_FRAG_HELD;
}

uint8_t *ns_frag_take(struct ns_frag_reasm *r, size_t *len, uint8_t *first_payload)
{
    *len = 0;
    *first_payload = NS_PL_NONE;
    if (!r->active || r->have != r->total) {
        ns_frag_reset(r);
        return NULL;
    }
    uint8_t *out = malloc(r->bytes ? r->bytes : 1);
    if (out) {
        size_t off = 0;
        for (unsigned i = 0; i < r->total; i++) {
            if (r->piece[i].len)
                memcpy(out + off, r->piece[i].data, r->piece[i].len);
            off += r->piece[i].len;
        }
        *len = off;
        *first_payload = r->first_payload;
    }
    ns_frag_reset(r);
    return out;
}
