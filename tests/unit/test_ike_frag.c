/* IKE fragmentation (RFC 7383, X5), src/ike/frag.c on its own: messages
 * cut into SKF fragments and put together again, in order, reversed, with
 * duplicates, with one missing until the deadline, too many or too large,
 * with a smaller or larger total, with another fragment of the same
 * number, and with forged fragments that must change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include <stdlib.h>

#include "crypto/cipher.h"
#include "ike/frag.h"
#include "ike/msg.h"

#define MAX_FRAGS 16
#define MSG_ID 7u

static const struct ns_ike_header hdr_auth = {
    .spi_i = 0x0102030405060708ull,
    .spi_r = 0x1112131415161718ull,
    .exchange = NS_IKE_AUTH,
    .flags = NS_IKE_FLAG_INITIATOR,
    .msg_id = MSG_ID,
};

static const struct ns_frag_limits lim = {.max_frags = 8, .max_bytes = 6000, .timeout_ms = 1000};

/* One message's fragments as sent: copies, so each test may damage them. */
struct frags {
    uint8_t data[MAX_FRAGS][1400];
    size_t len[MAX_FRAGS];
    unsigned n;
    uint8_t plain[8192]; /* the inner payload chain the fragments carry */
    size_t plain_len;
};

struct ciphers {
    struct ns_cipher *out, *in; /* the same keys: sender's and receiver's */
};

static struct ciphers gcm(void)
{
    uint8_t key[36];
    for (unsigned i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 13 + 1);
    struct ciphers c = {
        ns_cipher_new(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, key, sizeof(key), NULL, 0),
        ns_cipher_new(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, key, sizeof(key), NULL, 0)};
    assert_non_null(c.out);
    assert_non_null(c.in);
    return c;
}

static struct ciphers cbc(void)
{
    uint8_t key[16], ikey[32];
    for (unsigned i = 0; i < sizeof(ikey); i++)
        ikey[i] = (uint8_t)(i * 5 + 3);
    memcpy(key, ikey + 7, sizeof(key));
    struct ciphers c = {ns_cipher_new(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, key,
                                      sizeof(key), ikey, sizeof(ikey)),
                        ns_cipher_new(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, key,
                                      sizeof(key), ikey, sizeof(ikey))};
    assert_non_null(c.out);
    assert_non_null(c.in);
    return c;
}

static void ciphers_free(struct ciphers *c)
{
    ns_cipher_free(c->out);
    ns_cipher_free(c->in);
}

/* An IKE_AUTH-like message: an IDi, a CERT of cert_len bytes, an AUTH, cut
 * into fragments of at most max_msg bytes; seed varies the content. */
static void make(struct frags *f, struct ciphers *c, size_t cert_len, size_t max_msg,
                 uint8_t seed)
{
    static uint8_t buf[16384], out[20000];
    uint8_t iv[NS_CIPHER_MAX_IV] = {0}, cert[6000], auth[256];
    assert_true(cert_len <= sizeof(cert));
    for (size_t i = 0; i < cert_len; i++)
        cert[i] = (uint8_t)(seed + i * 7);
    memset(auth, seed, sizeof(auth));
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_sk_begin(&b, c->out, iv);
    ns_ike_add_id(&b, NS_PL_IDI, NS_ID_FQDN, (const uint8_t *)"alice.corp.example", 18);
    ns_ike_add_cert(&b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, cert, cert_len);
    ns_ike_add_auth(&b, NS_AUTH_DIGITAL_SIGNATURE, auth, sizeof(auth));
    f->plain_len = ns_writer_len(&b.w) - b.sk_body;
    assert_true(f->plain_len <= sizeof(f->plain));
    memcpy(f->plain, buf + b.sk_body, f->plain_len);
    unsigned n;
    int len = ns_frag_split(&b, c->out, max_msg, out, sizeof(out), &n);
    assert_true(len > 0);
    assert_true(n <= MAX_FRAGS);
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t one = ns_get_u32(out + off + NS_IKE_HDR_LENGTH_OFF);
        assert_true(one <= max_msg);
        assert_true(one <= sizeof(f->data[0]));
        memcpy(f->data[i], out + off, one);
        f->len[i] = one;
        off += one;
    }
    assert_int_equal(off, (size_t)len);
    f->n = n;
}

/* The pool give() charges reassemblies to (NULL: none). */
static struct ns_frag_pool *give_pool;

/* Hands fragment i (a copy: opening decrypts in place) to r. */
static enum ns_frag_verdict give(struct ns_frag_reasm *r, struct ns_frag_counters *ctr,
                                 struct ciphers *c, const struct frags *f, unsigned i,
                                 uint64_t now)
{
    uint8_t msg[1400];
    memcpy(msg, f->data[i], f->len[i]);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(msg, f->len[i], &h, &pl), NS_IKE_OK);
    assert_int_equal(h.msg_id, MSG_ID);
    const struct ns_ike_payload *skf = ns_ike_find(&pl, NS_PL_SKF);
    assert_non_null(skf);
    int err;
    return ns_frag_add(r, &lim, give_pool, ctr, c->in, h.msg_id, msg, f->len[i], skf, now, &err);
}

/* The message put together must be the one cut up. */
static void expect_whole(struct ns_frag_reasm *r, const struct frags *f)
{
    size_t len;
    uint8_t first;
    uint8_t *whole = ns_frag_take(r, &len, &first);
    assert_non_null(whole);
    assert_int_equal(first, NS_PL_IDI);
    assert_int_equal(len, f->plain_len);
    assert_memory_equal(whole, f->plain, len);
    struct ns_ike_payloads inner;
    assert_int_equal(ns_ike_parse_chain(first, whole, len, &inner), NS_IKE_OK);
    assert_int_equal(inner.n, 3);
    assert_int_equal(inner.p[1].type, NS_PL_CERT);
    free(whole);
    assert_false(r->active);
}

static void in_order(void **state) /* X5 */
{
    (void)state;
    struct ciphers c[2] = {gcm(), cbc()};
    for (unsigned k = 0; k < 2; k++) {
        struct frags f;
        make(&f, &c[k], 3000, 1000, 1);
        assert_int_equal(f.n, 4);
        struct ns_frag_reasm r = {0};
        struct ns_frag_counters ctr = {0};
        for (unsigned i = 0; i + 1 < f.n; i++)
            assert_int_equal(give(&r, &ctr, &c[k], &f, i, 0), NS_FRAG_HELD);
        assert_int_equal(give(&r, &ctr, &c[k], &f, f.n - 1, 0), NS_FRAG_COMPLETE);
        assert_int_equal(ctr.received, f.n);
        expect_whole(&r, &f);
        ciphers_free(&c[k]);
    }
}

static void reversed(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags f;
    make(&f, &c, 3000, 700, 2);
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    for (unsigned i = f.n; i-- > 1;)
        assert_int_equal(give(&r, &ctr, &c, &f, i, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &f, 0, 0), NS_FRAG_COMPLETE);
    expect_whole(&r, &f);
    ciphers_free(&c);
}

/* Only fragment 1 carries the first inner payload's type. */
static void next_payload_only_in_first(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags f;
    make(&f, &c, 2000, 700, 3);
    for (unsigned i = 0; i < f.n; i++) {
        assert_int_equal(f.data[i][NS_IKE_HDR_NEXT_PAYLOAD_OFF], NS_PL_SKF);
        assert_int_equal(f.data[i][NS_IKE_HEADER_LEN], i == 0 ? NS_PL_IDI : NS_PL_NONE);
        assert_int_equal(ns_get_u16(f.data[i] + NS_IKE_HEADER_LEN + 4), i + 1);
        assert_int_equal(ns_get_u16(f.data[i] + NS_IKE_HEADER_LEN + 6), f.n);
    }
    ciphers_free(&c);
}

static void duplicates(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags f;
    make(&f, &c, 3000, 1000, 4);
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    assert_int_equal(give(&r, &ctr, &c, &f, 0, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &f, 0, 0), NS_FRAG_DROPPED);
    assert_int_equal(give(&r, &ctr, &c, &f, 1, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &f, 0, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.duplicate, 2);
    assert_int_equal(r.have, 2);
    for (unsigned i = 2; i + 1 < f.n; i++)
        assert_int_equal(give(&r, &ctr, &c, &f, i, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &f, f.n - 1, 0), NS_FRAG_COMPLETE);
    expect_whole(&r, &f);
    ciphers_free(&c);
}

/* One never comes: nothing completes, and the reassembly goes at its
 * deadline (counted), not before. */
static void missing(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags f;
    make(&f, &c, 3000, 1000, 5);
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    for (unsigned i = 0; i < f.n; i++)
        if (i != 2)
            assert_int_equal(give(&r, &ctr, &c, &f, i, 100), NS_FRAG_HELD);
    size_t len;
    uint8_t first;
    assert_false(ns_frag_expire(&r, &ctr, 100 + lim.timeout_ms - 1));
    assert_true(r.active);
    assert_true(ns_frag_expire(&r, &ctr, 100 + lim.timeout_ms));
    assert_int_equal(ctr.expired, 1);
    assert_false(r.active);
    assert_null(ns_frag_take(&r, &len, &first));
    /* The missing one alone is now a new, incomplete message. */
    assert_int_equal(give(&r, &ctr, &c, &f, 2, 2000), NS_FRAG_HELD);
    ns_frag_reset(&r);
    ciphers_free(&c);
}

/* More fragments than the limit, or more bytes: refused, the second
 * abandoning what was held. */
static void too_many(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags f;
    make(&f, &c, 5000, 600, 6); /* about 10 fragments, limit 8 */
    assert_true(f.n > lim.max_frags);
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    for (unsigned i = 0; i < f.n; i++)
        assert_int_equal(give(&r, &ctr, &c, &f, i, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.out_of_range, f.n);
    assert_int_equal(ctr.received, 0);
    assert_false(r.active);

    struct frags big;
    make(&big, &c, 5900, 1400, 7); /* 6 fragments, more than 6000 bytes */
    assert_true(big.n <= lim.max_frags);
    unsigned i = 0;
    while (give(&r, &ctr, &c, &big, i, 0) == NS_FRAG_HELD)
        i++;
    assert_int_equal(ctr.too_big, 1);
    assert_false(r.active); /* what was held is gone */
    assert_true(i < big.n);
    ciphers_free(&c);
}

/* A smaller total than the message being put together: dropped. A larger
 * one, verified: the sender cut it smaller, start over (RFC 7383 2.5.2). */
static void wrong_total(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags coarse, fine;
    make(&coarse, &c, 3000, 1400, 8);
    make(&fine, &c, 3000, 700, 8);
    assert_true(fine.n > coarse.n);
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    assert_int_equal(give(&r, &ctr, &c, &fine, 0, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &coarse, 1, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.wrong_total, 1);
    assert_int_equal(r.total, fine.n);

    ns_frag_reset(&r);
    assert_int_equal(give(&r, &ctr, &c, &coarse, 0, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &fine, 1, 0), NS_FRAG_HELD);
    assert_int_equal(r.total, fine.n);
    assert_int_equal(r.have, 1);
    for (unsigned i = 0; i < fine.n; i++)
        if (i != 1)
            give(&r, &ctr, &c, &fine, i, 0);
    expect_whole(&r, &fine);

    /* Numbers out of range: 0, above the total, a total of 0. */
    for (unsigned k = 0; k < 3; k++) {
        struct frags bad = fine;
        uint8_t *num = bad.data[0] + NS_IKE_HEADER_LEN + 4;
        if (k == 0)
            ns_put_u16(num, 0);
        else if (k == 1)
            ns_put_u16(num, (uint16_t)(bad.n + 1));
        else
            ns_put_u16(num + 2, 0);
        assert_int_equal(give(&r, &ctr, &c, &bad, 0, 0), NS_FRAG_DROPPED);
    }
    assert_int_equal(ctr.out_of_range, 3);
    assert_false(r.active);
    ciphers_free(&c);
}

/* Forged fragments (bad ICV, another key, changed numbers) in the middle
 * of a reassembly: dropped before they are kept, and the genuine message
 * still comes out whole. */
static void forged(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm(), other = cbc();
    struct frags f, evil;
    make(&f, &c, 3000, 700, 9);
    make(&evil, &other, 3000, 700, 10);
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    assert_int_equal(give(&r, &ctr, &c, &f, 0, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &f, 2, 0), NS_FRAG_HELD);
    /* Each missing number, forged: a flipped ciphertext byte, the numbers
     * of a larger total (which would restart a reassembly), another key. */
    struct frags flip = f;
    flip.data[1][flip.len[1] - 20] ^= 1;
    assert_int_equal(give(&r, &ctr, &c, &flip, 1, 0), NS_FRAG_DROPPED);
    struct frags bigger = f;
    ns_put_u16(bigger.data[1] + NS_IKE_HEADER_LEN + 6, (uint16_t)(f.n + 1));
    assert_int_equal(give(&r, &ctr, &c, &bigger, 1, 0), NS_FRAG_DROPPED);
    assert_int_equal(give(&r, &ctr, &c, &evil, 3, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.forged, 3);
    assert_int_equal(r.have, 2);
    assert_int_equal(r.total, f.n);
    /* A forged copy of a number held: another ICV, dropped unopened. */
    struct frags copy = f;
    copy.data[0][copy.len[0] - 1] ^= 0x80;
    assert_int_equal(give(&r, &ctr, &c, &copy, 0, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.overlapping, 1);
    for (unsigned i = 1; i < f.n; i++)
        if (i != 2)
            give(&r, &ctr, &c, &f, i, 0);
    expect_whole(&r, &f);
    ciphers_free(&c);
    ciphers_free(&other);
}

/* Another genuine fragment with a number held (the message built anew, say):
 * overlapping, dropped; the first one stays. */
static void overlapping(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags a, b;
    make(&a, &c, 3000, 1000, 11);
    make(&b, &c, 3000, 1000, 12);
    assert_int_equal(a.n, b.n);
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    assert_int_equal(give(&r, &ctr, &c, &a, 0, 0), NS_FRAG_HELD);
    assert_int_equal(give(&r, &ctr, &c, &b, 0, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.overlapping, 1);
    for (unsigned i = 1; i < a.n; i++)
        give(&r, &ctr, &c, &a, i, 0);
    expect_whole(&r, &a);
    ciphers_free(&c);
}

/* A size that leaves no room for content, and a message that would need
 * more than NS_FRAG_MAX_FRAGMENTS: refused when cutting. */
/* Reassemblies that share a pool: one more than max_open is refused
 * (busy) until one ends, none passes the pool's bytes (the one in progress
 * stays as it was), and what each holds goes back to the pool when it is
 * taken, expires or is abandoned. */
static void pool_bounds(void **state) /* X5 R15 */
{
    (void)state;
    struct ciphers c = gcm();
    struct frags f;
    make(&f, &c, 2000, 600, 9);
    assert_true(f.n >= 3);
    struct ns_frag_pool pool = {.max_open = 1, .max_bytes = 100000};
    struct ns_frag_reasm a = {0}, b = {0};
    struct ns_frag_counters ctr = {0};
    give_pool = &pool;
    assert_int_equal(give(&a, &ctr, &c, &f, 0, 0), NS_FRAG_HELD);
    assert_int_equal(pool.open, 1);
    assert_int_equal(pool.bytes, a.bytes);
    assert_int_equal(give(&b, &ctr, &c, &f, 0, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.busy, 1);
    assert_false(b.active);
    for (unsigned i = 1; i + 1 < f.n; i++)
        assert_int_equal(give(&a, &ctr, &c, &f, i, 0), NS_FRAG_HELD);
    assert_int_equal(give(&a, &ctr, &c, &f, f.n - 1, 0), NS_FRAG_COMPLETE);
    assert_int_equal(pool.bytes, f.plain_len);
    expect_whole(&a, &f);
    assert_int_equal(pool.open, 0);
    assert_int_equal(pool.bytes, 0);
    assert_int_equal(give(&b, &ctr, &c, &f, 0, 0), NS_FRAG_HELD);
    assert_true(ns_frag_expire(&b, &ctr, lim.timeout_ms));
    assert_int_equal(pool.open, 0);
    assert_int_equal(pool.bytes, 0);

    /* Bytes: room for the first fragment and not one more. */
    pool.max_open = 2;
    assert_int_equal(give(&a, &ctr, &c, &f, 0, 0), NS_FRAG_HELD);
    pool.max_bytes = pool.bytes + 10;
    assert_int_equal(give(&a, &ctr, &c, &f, 1, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.busy, 2);
    assert_true(a.active);
    assert_int_equal(a.have, 1);
    assert_int_equal(give(&b, &ctr, &c, &f, 0, 0), NS_FRAG_DROPPED);
    assert_int_equal(ctr.busy, 3);
    assert_false(b.active); /* its place went back */
    assert_int_equal(pool.open, 1);
    ns_frag_reset(&a);
    assert_int_equal(pool.open, 0);
    assert_int_equal(pool.bytes, 0);
    assert_int_equal(ctr.received, f.n + 2);
    give_pool = NULL;
    ciphers_free(&c);
}

/* The largest IKE_AUTH the configuration allows (conf/creds.c: 32768
 * bytes of certificates and CERTREQ; an RSA-8192 AUTH; 2 KB for the rest)
 * in fragments of the least fragment_size, 576 (IPv4, UDP and the non-ESP
 * marker less), with CBC's larger overhead: within the engine's bounds
 * (NS_FRAG_MAX_FRAGMENTS, NS_FRAG_MAX_BYTES, and its 48 KiB build buffer,
 * ike/ike_sa.h NS_IKE_BUF) and put together again. */
static void largest_chain_fits(void **state) /* X5 X7 */
{
    (void)state;
    struct ciphers c = cbc();
    static uint8_t buf[49152], out[49152], cert[8192], rest[2000], auth[1024];
    uint8_t iv[NS_CIPHER_MAX_IV] = {0}, req[20] = {0};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_sk_begin(&b, c.out, iv);
    ns_ike_add_id(&b, NS_PL_IDI, NS_ID_FQDN, (const uint8_t *)"alice.corp.example", 18);
    for (unsigned i = 0; i < 4; i++) /* 4 x 8192 - 20: with the CERTREQ, 32768 */
        ns_ike_add_cert(&b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, cert, sizeof(cert) - (i ? 0 : 20));
    ns_ike_add_cert(&b, NS_PL_CERTREQ, NS_CERT_X509_SIGNATURE, req, sizeof(req));
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INITIAL_CONTACT, rest, sizeof(rest));
    ns_ike_add_auth(&b, NS_AUTH_DIGITAL_SIGNATURE, auth, sizeof(auth));
    size_t plain_len = ns_writer_len(&b.w) - b.sk_body;
    unsigned n;
    int len = ns_frag_split(&b, c.out, 576 - 20 - 8 - 4, out, sizeof(out), &n);
    assert_true(len > 0);
    assert_true(n <= NS_FRAG_MAX_FRAGMENTS);
    assert_true(plain_len <= NS_FRAG_MAX_BYTES);
    const struct ns_frag_limits max = {NS_FRAG_MAX_FRAGMENTS, NS_FRAG_MAX_BYTES, 30000};
    struct ns_frag_reasm *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    struct ns_frag_counters ctr = {0};
    size_t off = 0;
    enum ns_frag_verdict v = NS_FRAG_DROPPED;
    for (unsigned i = 0; i < n; i++) {
        size_t one = ns_get_u32(out + off + NS_IKE_HDR_LENGTH_OFF);
        struct ns_ike_header h;
        struct ns_ike_payloads pl;
        assert_int_equal(ns_ike_parse_message(out + off, one, &h, &pl), NS_IKE_OK);
        int err;
        v = ns_frag_add(r, &max, NULL, &ctr, c.in, h.msg_id, out + off, one,
                        ns_ike_find(&pl, NS_PL_SKF), 0, &err);
        assert_int_equal(v, i + 1 < n ? NS_FRAG_HELD : NS_FRAG_COMPLETE);
        off += one;
    }
    size_t whole_len;
    uint8_t first;
    uint8_t *whole = ns_frag_take(r, &whole_len, &first);
    assert_non_null(whole);
    assert_int_equal(whole_len, plain_len);
    struct ns_ike_payloads inner;
    assert_int_equal(ns_ike_parse_chain(first, whole, whole_len, &inner), NS_IKE_OK);
    assert_int_equal(inner.n, 8);
    free(whole);
    free(r);
    ciphers_free(&c);
}

static void split_limits(void **state) /* X5 */
{
    (void)state;
    struct ciphers c = gcm();
    static uint8_t buf[16384], out[40000];
    uint8_t iv[NS_CIPHER_MAX_IV] = {0}, cert[6000] = {0};
    size_t sizes[] = {60, 100};
    for (unsigned k = 0; k < 2; k++) {
        struct ns_ike_builder b;
        ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
        ns_ike_sk_begin(&b, c.out, iv);
        ns_ike_add_cert(&b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, cert, sizeof(cert));
        unsigned n;
        assert_int_equal(ns_frag_split(&b, c.out, sizes[k], out, sizeof(out), &n), NS_IKE_ELENGTH);
        assert_int_equal(n, 0);
    }
    ciphers_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order),     cmocka_unit_test(reversed),
        cmocka_unit_test(next_payload_only_in_first),
        cmocka_unit_test(duplicates),   cmocka_unit_test(missing),
        cmocka_unit_test(too_many),     cmocka_unit_test(wrong_total),
        cmocka_unit_test(forged),       cmocka_unit_test(overlapping),
        cmocka_unit_test(split_limits), cmocka_unit_test(pool_bounds),
        cmocka_unit_test(largest_chain_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
