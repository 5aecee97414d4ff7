/* libFuzzer target for IKE fragment reassembly (src/ike/frag.c, RFC 7383,
 * X5): the SKF parser and the reassembly state behind it.
 *
 * One message (an IDi, a CERT, an AUTH) is cut here twice with a fixed
 * AES-GCM key, into fragments of at most 600 and of at most 1100 bytes
 * (the sender cutting it smaller, RFC 7383 2.5.2). The input is a list of
 * operations, one byte each, some followed by arguments:
 *   0: genuine fragment (next byte: which; bit 7 picks the coarse cut)
 *   1: a genuine fragment with one byte changed (which; offset u16; xor)
 *   2: raw bytes (length u16, then the datagram): parsed as an IKE message,
 *      and its SKF payload, if any, offered as a fragment of message 7 or
 *      of the message ID it says
 *   3: time passes (u8 * 100 ms); the deadline is checked
 *   4: the reassembly is abandoned
 * The first byte sets the bytes of the pool the reassembly is charged to
 * (1000 to 6100, around the message's 3.8 KB).
 * Checked after every step: the state stays within the limits, the pool
 * holds exactly what the reassembly does, and a
 * message that comes out whole is exactly the one cut (forged or changed
 * fragments are never kept). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "ike/frag.h"
#include "ike/msg.h"
#include "util/log.h"

#define MSG_ID 7u
#define MAX_FRAGS 32
#define FRAG_MAX 1100

static const struct ns_ike_header hdr = {
    .spi_i = 0x0102030405060708ull,
    .spi_r = 0x1112131415161718ull,
    .exchange = NS_IKE_AUTH,
    .flags = NS_IKE_FLAG_INITIATOR,
    .msg_id = MSG_ID,
};

static const struct ns_frag_limits lim = {.max_frags = 12, .max_bytes = 5000, .timeout_ms = 3000};

struct cut {
    uint8_t data[MAX_FRAGS][FRAG_MAX];
    size_t len[MAX_FRAGS];
    unsigned n;
};

static struct ns_cipher *sealer, *opener;
static struct cut fine, coarse;
static uint8_t plain[8192];
static size_t plain_len;

static void cut(struct cut *c, size_t max_msg)
{
    static uint8_t buf[16384], out[32768];
    uint8_t iv[NS_CIPHER_MAX_IV] = {0}, cert[3500], auth[256];
    for (size_t i = 0; i < sizeof(cert); i++)
        cert[i] = (uint8_t)(i * 7 + 1);
    memset(auth, 0xa5, sizeof(auth));
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr);
    ns_ike_sk_begin(&b, sealer, iv);
    ns_ike_add_id(&b, NS_PL_IDI, NS_ID_FQDN, (const uint8_t *)"alice.corp.example", 18);
    ns_ike_add_cert(&b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, cert, sizeof(cert));
    ns_ike_add_auth(&b, NS_AUTH_DIGITAL_SIGNATURE, auth, sizeof(auth));
    plain_len = ns_writer_len(&b.w) - b.sk_body;
    memcpy(plain, buf + b.sk_body, plain_len);
    unsigned n;
    int len = ns_frag_split(&b, sealer, max_msg, out, sizeof(out), &n);
    if (len <= 0 || n > MAX_FRAGS)
        abort();
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t one = ns_get_u32(out + off + NS_IKE_HDR_LENGTH_OFF);
        if (one > FRAG_MAX)
            abort();
        memcpy(c->data[i], out + off, one);
        c->len[i] = one;
        off += one;
    }
    c->n = n;
}

static void setup(void)
{
    ns_log_set_level(NS_LOG_ERROR);
    uint8_t key[36];
    for (unsigned i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 13 + 1);
    sealer = ns_cipher_new(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, key, sizeof(key), NULL, 0);
    opener = ns_cipher_new(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, key, sizeof(key), NULL, 0);
    if (!sealer || !opener)
        abort();
    cut(&fine, 600);
    cut(&coarse, FRAG_MAX);
}

/* Offers msg[0..len) (writable: it is opened in place) as a fragment. */
static struct ns_frag_pool pool;

static void offer(struct ns_frag_reasm *r, struct ns_frag_counters *ctr, uint8_t *msg, size_t len,
                  bool own_id, uint64_t now)
{
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    int rc = ns_ike_parse_message(msg, len, &h, &pl);
    if (rc != NS_IKE_OK && rc != NS_IKE_ECRITICAL)
        return;
    const struct ns_ike_payload *skf = ns_ike_find(&pl, NS_PL_SKF);
    if (!skf)
        return;
    int err;
    enum ns_frag_verdict v = ns_frag_add(r, &lim, &pool, ctr, opener, own_id ? h.msg_id : MSG_ID,
                                         msg, len, skf, now, &err);
    if (v == NS_FRAG_COMPLETE) {
        size_t n;
        uint8_t first;
        uint8_t *whole = ns_frag_take(r, &n, &first);
        /* Only genuine fragments are kept: it must be the message cut. */
        if (whole && (n != plain_len || first != NS_PL_IDI || memcmp(whole, plain, n) != 0))
            abort();
        if (whole) {
            struct ns_ike_payloads inner;
            if (ns_ike_parse_chain(first, whole, n, &inner) != NS_IKE_OK || inner.n != 3)
                abort();
        }
        free(whole);
    }
}

static void check(const struct ns_frag_reasm *r)
{
    if (pool.open != (r->active ? 1u : 0u) || pool.bytes != (r->active ? r->bytes : 0) ||
        pool.bytes > pool.max_bytes)
        abort();
    if (!r->active)
        return;
    if (r->have > r->total || r->total > lim.max_frags || r->bytes > lim.max_bytes)
        abort();
    unsigned held = 0;
    for (unsigned i = 0; i < NS_FRAG_MAX_FRAGMENTS; i++)
        held += r->piece[i].data != NULL;
    if (held != r->have)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    struct ns_frag_reasm r = {0};
    struct ns_frag_counters ctr = {0};
    uint64_t now = 0;
    static uint8_t msg[65536];
    size_t i = 0;
    pool = (struct ns_frag_pool){.max_open = 1, .max_bytes = 1000 + (size ? data[i++] : 0) * 20u};
    while (i < size) {
        uint8_t op = data[i++];
        switch (op % 5) {
        case 0:
        case 1: {
            if (i >= size)
                break;
            uint8_t which = data[i++];
            const struct cut *c = (which & 0x80) ? &coarse : &fine;
            unsigned k = (which & 0x7f) % c->n;
            memcpy(msg, c->data[k], c->len[k]);
            if (op % 5 == 1) {
                if (i + 3 > size)
                    break;
                size_t at = ns_get_u16(data + i) % c->len[k];
                msg[at] ^= data[i + 2] ? data[i + 2] : 1;
                i += 3;
            }
            offer(&r, &ctr, msg, c->len[k], false, now);
            break;
        }
        case 2: {
            if (i + 2 > size)
                break;
            size_t len = ns_get_u16(data + i);
            i += 2;
            if (len > size - i)
                len = size - i;
            memcpy(msg, data + i, len);
            i += len;
            offer(&r, &ctr, msg, len, op & 0x80, now);
            break;
        }
        case 3:
            if (i < size)
                now += (uint64_t)data[i++] * 100;
            ns_frag_expire(&r, &ctr, now);
            break;
        default:
            ns_frag_reset(&r);
            break;
        }
        check(&r);
    }
    ns_frag_reset(&r);
    return 0;
}
