/* Malformed input for the IKEv2 codec: truncation at every byte, lengths
 * too long and too short at every level (header, generic payload, proposal,
 * transform, attribute, traffic selector, CP attribute), nested lengths and
 * counts that disagree, too many elements, and thousands of deterministic
 * random mutations. Inputs are copied into heap buffers of their exact size,
 * so that ASan catches a single byte read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "ike/msg.h"

static const struct ns_ike_header hdr = {
    .spi_i = 0x0102030405060708ull,
    .spi_r = 0x1112131415161718ull,
    .exchange = NS_IKE_AUTH,
    .flags = NS_IKE_FLAG_INITIATOR,
    .msg_id = 1,
};

/* ---- hand-written payload bodies with known offsets ---- */

/* Two proposals; the first has a KEY_LENGTH (TV) and an unknown TLV
 * attribute. Offsets: P1 0 (length at 2, count at 7), transform A 8 (length
 * 10), its TLV attribute 20 (length 22), transform B 26 (length 28), P2 34
 * (length 36, count 41), its transform 46 (length 48). */
static const uint8_t sa_body[] = {
    2,    0,    0,    34,   1,    1,    0, 2,  /* P1: more, 34, #1 IKE, no SPI, 2 */
    3,    0,    0,    18,   1,    0,    0, 12, /* ENCR AES-CBC, more */
    0x80, 0x0e, 0x01, 0x00,                    /* KEY_LENGTH 256 */
    0x00, 0x20, 0x00, 0x02, 0xaa, 0xbb,        /* TLV type 32, 2 bytes */
    0,    0,    0,    8,    2,    0,    0, 5,  /* PRF HMAC-SHA2-256, last */
    0,    0,    0,    24,   2,    3,    4, 1,  0xca, 0xfe, 0, 1, /* P2: last, 24, #2 ESP, SPI, 1 */
    0,    0,    0,    12,   1,    0,    0, 20, 0x80, 0x0e, 0, 128, /* ENCR AES-GCM-16-128 */
};

/* IPv4 selector at 4 (length at 6), IPv6 selector at 20 (length at 22). */
static const uint8_t ts_body[] = {
    2,    0,    0,    0,                           /* two selectors */
    7,    6,    0,    16,   0,    80,   1,    187, /* v4, TCP, ports 80-443 */
    10,   0,    0,    1,    10,   0,    0,    255, /* 10.0.0.1 - 10.0.0.255 */
    8,    0,    0,    40,   0,    0,    255,  255, /* v6, any protocol and port */
    0x20, 1,    0x0d, 0xb8, 0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    0,    0, /* 2001:db8:: */
    0x20, 1,    0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* Attributes at 4 (length at 6), 12 (empty), 16 (length at 18). */
static const uint8_t cp_body[] = {
    2, 0, 0, 0,                    /* CFG_REPLY */
    0, 1, 0, 4,  10,   9, 0,    2, /* INTERNAL_IP4_ADDRESS 10.9.0.2 */
    0, 3, 0, 0,                    /* INTERNAL_IP4_DNS, empty */
    0, 8, 0, 17, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 64,
};

/* A payload view over an exact-size heap copy of body (freed by unview). */
static struct ns_ike_payload view(uint8_t type, const uint8_t *body, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, body, len);
    return (struct ns_ike_payload){.type = type, .body = copy, .body_len = (uint16_t)len};
}

static void unview(struct ns_ike_payload *p)
{
    free((void *)p->body);
}

static struct ns_ike_sa sa_out;
static struct ns_ike_ts_list ts_out;
static struct ns_ike_cp cp_out;

/* Runs the typed parser for p's type; the result code only. */
static int parse_typed(const struct ns_ike_payload *p)
{
    struct ns_ike_ke ke;
    struct ns_ike_notify n;
    struct ns_ike_id id;
    struct ns_ike_auth a;
    struct ns_ike_delete d;
    struct ns_ike_cert c;
    const uint8_t *nonce;
    size_t nonce_len;
    switch (p->type) {
    case NS_PL_SA:
        return ns_ike_parse_sa(p, &sa_out);
    case NS_PL_KE:
        return ns_ike_parse_ke(p, &ke);
    case NS_PL_NONCE:
        return ns_ike_parse_nonce(p, &nonce, &nonce_len);
    case NS_PL_NOTIFY:
        return ns_ike_parse_notify(p, &n);
    case NS_PL_IDI:
    case NS_PL_IDR:
        return ns_ike_parse_id(p, &id);
    case NS_PL_AUTH:
        return ns_ike_parse_auth(p, &a);
    case NS_PL_TSI:
    case NS_PL_TSR:
        return ns_ike_parse_ts(p, &ts_out);
    case NS_PL_CP:
        return ns_ike_parse_cp(p, &cp_out);
    case NS_PL_DELETE:
        return ns_ike_parse_delete(p, &d);
    case NS_PL_CERT:
    case NS_PL_CERTREQ:
        return ns_ike_parse_cert(p, &c);
    default:
        return NS_IKE_OK;
    }
}

static int sa_with(const uint8_t *body, size_t len)
{
    struct ns_ike_payload p = view(NS_PL_SA, body, len);
    int err = ns_ike_parse_sa(&p, &sa_out);
    unview(&p);
    return err;
}

static int ts_with(const uint8_t *body, size_t len)
{
    struct ns_ike_payload p = view(NS_PL_TSI, body, len);
    int err = ns_ike_parse_ts(&p, &ts_out);
    unview(&p);
    return err;
}

static int cp_with(const uint8_t *body, size_t len)
{
    struct ns_ike_payload p = view(NS_PL_CP, body, len);
    int err = ns_ike_parse_cp(&p, &cp_out);
    unview(&p);
    return err;
}

/* ---- a message with every payload type ---- */

static int build_everything(uint8_t *buf, size_t cap)
{
    uint8_t data[64];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + 1);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, cap, &hdr);
    ns_ike_build_open(&b, NS_PL_SA, false);
    ns_write_bytes(&b.w, sa_body, sizeof(sa_body));
    ns_ike_build_close(&b);
    ns_ike_add_ke(&b, 31, data, 32);
    ns_ike_add_nonce(&b, data, 32);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_NAT_DETECTION_SOURCE_IP, data, 20);
    ns_ike_add_notify(&b, 3, data, 4, NS_N_REKEY_SA, NULL, 0);
    ns_ike_add_id(&b, NS_PL_IDI, NS_ID_FQDN, (const uint8_t *)"a.example", 9);
    ns_ike_add_id(&b, NS_PL_IDR, NS_ID_IPV4_ADDR, data, 4);
    ns_ike_add_auth(&b, NS_AUTH_SHARED_KEY_MIC, data, 32);
    ns_ike_build_open(&b, NS_PL_TSI, false);
    ns_write_bytes(&b.w, ts_body, sizeof(ts_body));
    ns_ike_build_close(&b);
    ns_ike_build_open(&b, NS_PL_CP, false);
    ns_write_bytes(&b.w, cp_body, sizeof(cp_body));
    ns_ike_build_close(&b);
    ns_ike_add_delete(&b, 3, 4, data, 2);
    ns_ike_add_vendor(&b, data, 16);
    ns_ike_add_cert(&b, NS_PL_CERT, 4, data, 40);
    ns_ike_add_cert(&b, NS_PL_CERTREQ, 4, data, 20);
    return ns_ike_build_finish(&b);
}

#define N_EVERYTHING 14 /* payloads in build_everything */

/* Parses a message and every payload in it; the first error, or OK. The
 * message is copied to an exact-size heap buffer first. */
static int parse_all(const uint8_t *msg, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, msg, len);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    int err = ns_ike_parse_message(copy, len, &h, &pl);
    assert_true(err <= 0 && err >= NS_IKE_ECRYPTO);
    if (err == NS_IKE_OK || err == NS_IKE_ECRITICAL) {
        for (unsigned i = 0; i < pl.n; i++) {
            int e = parse_typed(&pl.p[i]);
            assert_true(e <= 0 && e >= NS_IKE_ECRYPTO);
            if (!err)
                err = e;
        }
    }
    free(copy);
    return err;
}

static uint8_t msg[2048];
static size_t msg_len;

static int setup(void **state)
{
    (void)state;
    int len = build_everything(msg, sizeof(msg));
    assert_true(len > 0);
    msg_len = (size_t)len;
    return 0;
}

static void everything_message_is_valid(void **state)
{
    (void)state;
    assert_int_equal(parse_all(msg, msg_len), NS_IKE_OK);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(msg, msg_len, &h, &pl), NS_IKE_OK);
    assert_int_equal(pl.n, N_EVERYTHING);
    assert_int_equal(ns_ike_parse_sa(&pl.p[0], &sa_out), NS_IKE_OK);
    assert_int_equal(sa_out.n, 2);
    assert_true(sa_out.prop[0].t[0].unknown_attr);
    assert_int_equal(sa_out.prop[0].t[0].key_len, 256);
    assert_int_equal(ns_ike_parse_ts(ns_ike_find(&pl, NS_PL_TSI), &ts_out), NS_IKE_OK);
    assert_int_equal(ts_out.n, 2);
    assert_int_equal(ns_ike_parse_cp(ns_ike_find(&pl, NS_PL_CP), &cp_out), NS_IKE_OK);
    assert_int_equal(cp_out.n, 3);
}

/* ---- truncation ---- */

static void truncated_at_every_offset(void **state)
{
    (void)state;
    uint8_t work[2048];
    for (size_t cut = 0; cut < msg_len; cut++) {
        /* As received: the header promises more than arrived. */
        int err = parse_all(msg, cut);
        assert_int_equal(err, NS_IKE_ETRUNC);
        /* And with a header that agrees with the cut, so the payload chain
         * itself meets the truncation. */
        if (cut >= NS_IKE_HEADER_LEN) {
            memcpy(work, msg, cut);
            ns_put_u32(work + 24, (uint32_t)cut);
            err = parse_all(work, cut);
            assert_true(err < 0);
        }
    }
}

/* Every typed parser on every prefix of its body: no crash, and the ones
 * whose body is entirely structure (SA, TS) always fail. */
static void payload_bodies_truncated(void **state)
{
    (void)state;
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(msg, msg_len, &h, &pl), NS_IKE_OK);
    for (unsigned i = 0; i < pl.n; i++) {
        for (size_t cut = 0; cut < pl.p[i].body_len; cut++) {
            struct ns_ike_payload p = view(pl.p[i].type, pl.p[i].body, cut);
            int err = parse_typed(&p);
            if (p.type == NS_PL_SA || p.type == NS_PL_TSI)
                assert_true(err < 0);
            /* Fixed parts: KE 4, Notify 4 (+SPI), ID/AUTH 4, Delete 4. */
            if (cut < 4 && p.type != NS_PL_CERT && p.type != NS_PL_CERTREQ &&
                p.type != NS_PL_VENDOR)
                assert_true(err < 0);
            unview(&p);
        }
    }
}

/* ---- length fields too long and too short, level by level ---- */

static void header_length_wrong(void **state)
{
    (void)state;
    uint8_t work[2048 + 1];
    struct ns_ike_header h;
    const struct {
        uint32_t length;
        int want;
    } cases[] = {
        {(uint32_t)msg_len + 1, NS_IKE_ETRUNC},
        {(uint32_t)msg_len - 1, NS_IKE_ELENGTH},
        {NS_IKE_HEADER_LEN - 1, NS_IKE_ELENGTH},
        {0, NS_IKE_ELENGTH},
        {0xffffffffu, NS_IKE_ETRUNC},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(work, msg, msg_len);
        ns_put_u32(work + 24, cases[i].length);
        assert_int_equal(ns_ike_parse_header(work, msg_len, &h), cases[i].want);
        assert_int_equal(parse_all(work, msg_len), cases[i].want);
    }
    /* A datagram longer than the header says: trailing bytes are refused. */
    memcpy(work, msg, msg_len);
    work[msg_len] = 0;
    assert_int_equal(parse_all(work, msg_len + 1), NS_IKE_ELENGTH);
    /* A header alone, and less. */
    assert_int_equal(ns_ike_parse_header(msg, NS_IKE_HEADER_LEN - 1, &h), NS_IKE_ETRUNC);
    assert_int_equal(ns_ike_parse_header(NULL, 0, &h), NS_IKE_ETRUNC);
}

static void generic_payload_length_wrong(void **state)
{
    (void)state;
    uint8_t work[2048];
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(msg, msg_len, &h, &pl), NS_IKE_OK);
    for (unsigned i = 0; i < pl.n; i++) {
        size_t off = (size_t)(pl.p[i].body - msg) - 4;
        uint16_t len = ns_get_u16(msg + off + 2);
        const uint16_t bad[] = {(uint16_t)(len + 1), (uint16_t)(len - 1), 3, 0, 0xffff};
        for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            memcpy(work, msg, msg_len);
            ns_put_u16(work + off + 2, bad[k]);
            assert_true(parse_all(work, msg_len) < 0);
        }
        /* Below the generic header size is always ELENGTH. */
        memcpy(work, msg, msg_len);
        ns_put_u16(work + off + 2, 3);
        assert_int_equal(parse_all(work, msg_len), NS_IKE_ELENGTH);
    }
    /* The last payload running past the message is ETRUNC. */
    size_t last = (size_t)(pl.p[pl.n - 1].body - msg) - 4;
    memcpy(work, msg, msg_len);
    ns_put_u16(work + last + 2, (uint16_t)(ns_get_u16(msg + last + 2) + 1));
    assert_int_equal(parse_all(work, msg_len), NS_IKE_ETRUNC);
    /* A chain that says "more" where the message ends. */
    memcpy(work, msg, msg_len);
    work[last] = NS_PL_VENDOR;
    assert_int_equal(parse_all(work, msg_len), NS_IKE_ETRUNC);
    /* A chain that says "no more" before the message ends. */
    memcpy(work, msg, msg_len);
    work[(size_t)(pl.p[0].body - msg) - 4] = NS_PL_NONE;
    assert_int_equal(parse_all(work, msg_len), NS_IKE_ELENGTH);
}

/* Patches the 16-bit field at off of a copy of body and parses it. */
static int sa_patched16(size_t off, uint16_t v)
{
    uint8_t b[sizeof(sa_body)];
    memcpy(b, sa_body, sizeof(b));
    ns_put_u16(b + off, v);
    return sa_with(b, sizeof(b));
}

static void proposal_length_wrong(void **state)
{
    (void)state;
    assert_int_equal(sa_with(sa_body, sizeof(sa_body)), NS_IKE_OK);
    /* First proposal: one byte longer eats P2's header, shorter cuts its
     * last transform; below the proposal header size is impossible. */
    assert_true(sa_patched16(2, 35) < 0);
    assert_int_equal(sa_patched16(2, 33), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(2, 7), NS_IKE_ELENGTH);
    assert_int_equal(sa_patched16(2, 0), NS_IKE_ELENGTH);
    assert_int_equal(sa_patched16(2, 0xffff), NS_IKE_ETRUNC);
    /* Last proposal: past the SA payload, or short of its transform. */
    assert_int_equal(sa_patched16(36, 25), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(36, 23), NS_IKE_ETRUNC);
    /* A proposal too short for its own SPI. */
    assert_int_equal(sa_patched16(36, 10), NS_IKE_ELENGTH);
}

static void transform_length_wrong(void **state)
{
    (void)state;
    /* Transform A (18): longer swallows B's header, shorter cuts the TLV
     * attribute, 7 is below the transform header. */
    assert_true(sa_patched16(10, 19) < 0);
    assert_int_equal(sa_patched16(10, 17), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(10, 7), NS_IKE_ELENGTH);
    assert_int_equal(sa_patched16(10, 0xffff), NS_IKE_ETRUNC);
    /* Transform B (last of P1): past its proposal. */
    assert_int_equal(sa_patched16(28, 9), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(28, 4), NS_IKE_ELENGTH);
    /* The last transform of the last proposal. */
    assert_int_equal(sa_patched16(48, 13), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(48, 11), NS_IKE_ETRUNC);
}

static void attribute_length_wrong(void **state)
{
    (void)state;
    /* The TLV attribute's 2 bytes claimed as 3 (past the transform), 1
     * (one byte left over: not an attribute header), 0 (two left). */
    assert_int_equal(sa_patched16(22, 3), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(22, 1), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(22, 0), NS_IKE_ETRUNC);
    assert_int_equal(sa_patched16(22, 0xffff), NS_IKE_ETRUNC);
    /* Turning the TLV into TV leaves its value bytes as a short header. */
    assert_int_equal(sa_patched16(20, 0x8020), NS_IKE_ETRUNC);
    /* Turning the TV KEY_LENGTH into TLV is refused outright. */
    assert_int_equal(sa_patched16(16, 0x000e), NS_IKE_ESYNTAX);
}

static void ts_length_wrong(void **state)
{
    (void)state;
    uint8_t b[sizeof(ts_body)];
    assert_int_equal(ts_with(ts_body, sizeof(ts_body)), NS_IKE_OK);
    /* IPv4 selector: its type fixes the length at 16. */
    const uint16_t v4[] = {15, 17, 40, 8};
    for (unsigned i = 0; i < 4; i++) {
        memcpy(b, ts_body, sizeof(b));
        ns_put_u16(b + 6, v4[i]);
        assert_int_equal(ts_with(b, sizeof(b)), NS_IKE_ELENGTH);
    }
    memcpy(b, ts_body, sizeof(b));
    ns_put_u16(b + 6, 7); /* below the selector header */
    assert_int_equal(ts_with(b, sizeof(b)), NS_IKE_ELENGTH);
    memcpy(b, ts_body, sizeof(b));
    ns_put_u16(b + 6, 0xffff);
    assert_int_equal(ts_with(b, sizeof(b)), NS_IKE_ETRUNC);
    /* IPv6 selector: 40 only; longer runs past the payload. */
    const uint16_t v6[] = {16, 39, 24};
    for (unsigned i = 0; i < 3; i++) {
        memcpy(b, ts_body, sizeof(b));
        ns_put_u16(b + 22, v6[i]);
        assert_int_equal(ts_with(b, sizeof(b)), NS_IKE_ELENGTH);
    }
    memcpy(b, ts_body, sizeof(b));
    ns_put_u16(b + 22, 41);
    assert_int_equal(ts_with(b, sizeof(b)), NS_IKE_ETRUNC);
    /* A type that disagrees with the length: v4 type on the v6 selector. */
    memcpy(b, ts_body, sizeof(b));
    b[20] = NS_TS_IPV4_ADDR_RANGE;
    assert_int_equal(ts_with(b, sizeof(b)), NS_IKE_ELENGTH);
}

static void cp_attribute_length_wrong(void **state)
{
    (void)state;
    uint8_t b[sizeof(cp_body)];
    assert_int_equal(cp_with(cp_body, sizeof(cp_body)), NS_IKE_OK);
    /* Last attribute: one byte more than is there. */
    memcpy(b, cp_body, sizeof(b));
    ns_put_u16(b + 18, 18);
    assert_int_equal(cp_with(b, sizeof(b)), NS_IKE_ETRUNC);
    /* Last attribute one short: a single byte left over. */
    ns_put_u16(b + 18, 16);
    assert_int_equal(cp_with(b, sizeof(b)), NS_IKE_ETRUNC);
    /* First attribute too long swallows the next headers and runs out. */
    memcpy(b, cp_body, sizeof(b));
    ns_put_u16(b + 6, 0xffff);
    assert_int_equal(cp_with(b, sizeof(b)), NS_IKE_ETRUNC);
    /* A CP payload too short for its own header. */
    assert_int_equal(cp_with(cp_body, 3), NS_IKE_ELENGTH);
    /* Header only: no attributes is fine. */
    assert_int_equal(cp_with(cp_body, 4), NS_IKE_OK);
    assert_int_equal(cp_out.n, 0);
}

/* ---- nested lengths and counts that disagree ---- */

static void nested_disagreements(void **state)
{
    (void)state;
    uint8_t b[sizeof(sa_body) + 4];
    /* Proposal length larger than its transforms (4 extra bytes inside). */
    memcpy(b, sa_body, 34);
    memset(b + 34, 0, 4);
    memcpy(b + 38, sa_body + 34, sizeof(sa_body) - 34);
    ns_put_u16(b + 2, 38);
    assert_int_equal(sa_with(b, sizeof(b)), NS_IKE_ELENGTH);
    /* Transform count one more than the data holds: the "last" marker of
     * the second transform disagrees first; with that marker saying "more"
     * the data runs out. */
    memcpy(b, sa_body, sizeof(sa_body));
    b[7] = 3;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ESYNTAX);
    b[26] = 3;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ELENGTH);
    memcpy(b, sa_body, sizeof(sa_body));
    /* Transform count one less: the "last" marker disagrees. */
    b[7] = 1;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ESYNTAX);
    /* ...and with the marker fixed, bytes are left after the count. */
    b[8] = 0;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ELENGTH);
    /* Zero transforms with transform data present. */
    memcpy(b, sa_body, sizeof(sa_body));
    b[41] = 0;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ELENGTH);
    /* Proposal "last" markers: "last" with another following, "more" at
     * the end, and a value that is neither. */
    memcpy(b, sa_body, sizeof(sa_body));
    b[0] = 0;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ELENGTH);
    memcpy(b, sa_body, sizeof(sa_body));
    b[34] = 2;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ETRUNC);
    b[34] = 1;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ESYNTAX);
    /* Transform marker neither 0 nor 3. */
    memcpy(b, sa_body, sizeof(sa_body));
    b[8] = 2;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ESYNTAX);
    /* An SPI size that is not 0, 4 or 8. */
    memcpy(b, sa_body, sizeof(sa_body));
    b[40] = 3;
    assert_int_equal(sa_with(b, sizeof(sa_body)), NS_IKE_ESYNTAX);
    /* An SA payload without proposals. */
    assert_int_equal(sa_with(sa_body, 0), NS_IKE_ESYNTAX);

    /* TS count against the selectors present. */
    uint8_t t[sizeof(ts_body)];
    memcpy(t, ts_body, sizeof(t));
    t[0] = 3;
    assert_int_equal(ts_with(t, sizeof(t)), NS_IKE_ELENGTH);
    t[0] = 1;
    assert_int_equal(ts_with(t, sizeof(t)), NS_IKE_ELENGTH);
    t[0] = 0;
    assert_int_equal(ts_with(t, sizeof(t)), NS_IKE_ELENGTH);
    assert_int_equal(ts_with(t, 3), NS_IKE_ELENGTH);

    /* Delete: SPI count and size against the bytes present. */
    const uint8_t del[] = {3, 4, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    struct ns_ike_delete d;
    struct ns_ike_payload p = view(NS_PL_DELETE, del, sizeof(del));
    assert_int_equal(ns_ike_parse_delete(&p, &d), NS_IKE_OK);
    p.body_len = 11;
    assert_int_equal(ns_ike_parse_delete(&p, &d), NS_IKE_ELENGTH);
    unview(&p);
    uint8_t del2[sizeof(del)];
    memcpy(del2, del, sizeof(del));
    del2[3] = 3;
    p = view(NS_PL_DELETE, del2, sizeof(del2));
    assert_int_equal(ns_ike_parse_delete(&p, &d), NS_IKE_ELENGTH);
    unview(&p);
    /* Notify: SPI size against the body. */
    const uint8_t nt[] = {3, 4, 0x40, 0x09, 1, 2, 3};
    p = view(NS_PL_NOTIFY, nt, sizeof(nt));
    struct ns_ike_notify n;
    assert_int_equal(ns_ike_parse_notify(&p, &n), NS_IKE_ELENGTH);
    unview(&p);
}

/* A structural error wins over an unknown critical payload: the message is
 * dropped, not answered. */
static void structure_before_critical(void **state)
{
    (void)state;
    const uint8_t m[] = {
        1,   2,    3,  4,    5, 6, 7, 8,  /* SPIi */
        0,   0,    0,  0,    0, 0, 0, 0,  /* SPIr */
        200, 0x20, 37, 0x08,              /* first payload 200, 2.0, INFORMATIONAL, I */
        0,   0,    0,  0,    0, 0, 0, 41, /* message ID, length 41 */
        43,  0x80, 0,  4,                 /* type 200, critical, empty */
        43,  0,    0,  5,    0,           /* Vendor with one byte */
        0,   0,    0,  3,                 /* Vendor with an impossible length */
    };
    uint8_t work[sizeof(m)];
    memcpy(work, m, sizeof(m));
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    /* Payload 200 (critical), Vendor, then a Vendor whose length is 3. */
    assert_int_equal(ns_ike_parse_message(work, sizeof(work), &h, &pl), NS_IKE_ELENGTH);
    work[40] = 4;
    assert_int_equal(ns_ike_parse_message(work, sizeof(work), &h, &pl), NS_IKE_ECRITICAL);
    assert_int_equal(pl.unsupported_critical, 200);
    assert_int_equal(pl.n, 2);
}

/* ---- too many elements ---- */

/* A message of n payloads of type, each with an empty body. */
static int many_payloads(uint8_t *buf, size_t cap, uint8_t type, unsigned n)
{
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, cap, &hdr);
    for (unsigned i = 0; i < n; i++) {
        ns_ike_build_open(&b, type, false);
        ns_ike_build_close(&b);
    }
    ns_ike_add_vendor(&b, NULL, 0);
    return ns_ike_build_finish(&b);
}

static void too_many(void **state)
{
    (void)state;
    uint8_t buf[4096];
    int len = many_payloads(buf, sizeof(buf), NS_PL_VENDOR, NS_IKE_MAX_PAYLOADS - 1);
    assert_int_equal(parse_all(buf, (size_t)len), NS_IKE_OK);
    len = many_payloads(buf, sizeof(buf), NS_PL_VENDOR, NS_IKE_MAX_PAYLOADS);
    assert_int_equal(parse_all(buf, (size_t)len), NS_IKE_ETOOMANY);
    /* Skipped unknown payloads are not kept, so they do not count. */
    len = many_payloads(buf, sizeof(buf), 199, 500);
    assert_int_equal(parse_all(buf, (size_t)len), NS_IKE_OK);

    /* Proposals: 16 fit, 17 do not. Each is 8 bytes with no transform. */
    uint8_t sa[17 * 8];
    for (unsigned i = 0; i < 17; i++) {
        const uint8_t p[8] = {(uint8_t)(i + 1 < 17 ? 2 : 0), 0, 0, 8, (uint8_t)(i + 1), 1, 0, 0};
        memcpy(sa + 8 * i, p, 8);
    }
    sa[16 * 8 - 8] = 0; /* the 16th is last in the 16-proposal case */
    assert_int_equal(sa_with(sa, 16 * 8), NS_IKE_OK);
    assert_int_equal(sa_out.n, 16);
    sa[16 * 8 - 8] = 2;
    assert_int_equal(sa_with(sa, 17 * 8), NS_IKE_ETOOMANY);

    /* Transforms: NS_IKE_MAX_TRANSFORMS (64) fit, one more does not. */
    uint8_t pr[8 + (NS_IKE_MAX_TRANSFORMS + 1) * 8];
    for (unsigned n = NS_IKE_MAX_TRANSFORMS; n <= NS_IKE_MAX_TRANSFORMS + 1; n++) {
        const uint8_t h[8] = {0, 0,         (uint8_t)((8 + n * 8) >> 8), (uint8_t)(8 + n * 8), 1, 1,
                              0, (uint8_t)n};
        memcpy(pr, h, 8);
        for (unsigned i = 0; i < n; i++) {
            const uint8_t t[8] = {(uint8_t)(i + 1 < n ? 3 : 0), 0, 0, 8, 1, 0, 0, 20};
            memcpy(pr + 8 + 8 * i, t, 8);
        }
        assert_int_equal(sa_with(pr, 8 + n * 8),
                         n == NS_IKE_MAX_TRANSFORMS ? NS_IKE_OK : NS_IKE_ETOOMANY);
    }

    /* Traffic selectors: 16 fit, 17 do not. */
    uint8_t ts[4 + 17 * 16];
    memset(ts, 0, sizeof(ts));
    for (unsigned i = 0; i < 17; i++) {
        ts[4 + 16 * i] = NS_TS_IPV4_ADDR_RANGE;
        ts[4 + 16 * i + 3] = 16;
    }
    ts[0] = 16;
    assert_int_equal(ts_with(ts, 4 + 16 * 16), NS_IKE_OK);
    assert_int_equal(ts_out.n, 16);
    ts[0] = 17;
    assert_int_equal(ts_with(ts, sizeof(ts)), NS_IKE_ETOOMANY);

    /* CP attributes: 32 fit, 33 do not. */
    uint8_t cp[4 + 33 * 4];
    memset(cp, 0, sizeof(cp));
    cp[0] = NS_CFG_REQUEST;
    for (unsigned i = 0; i < 33; i++)
        cp[4 + 4 * i + 1] = NS_CP_INTERNAL_IP4_DNS;
    assert_int_equal(cp_with(cp, 4 + 32 * 4), NS_IKE_OK);
    assert_int_equal(cp_out.n, 32);
    assert_int_equal(cp_with(cp, sizeof(cp)), NS_IKE_ETOOMANY);
}

/* ---- random mutations ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces exactly. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* One mutation of buf[0..*len): a byte, a bit, an interesting value, a
 * 16-bit length-like value, a cut, or an insertion. */
static void mutate(uint8_t *buf, size_t *len, size_t cap)
{
    static const uint8_t interesting[] = {0, 1, 2, 3, 4, 7, 8, 0x7f, 0x80, 0xff};
    size_t n = *len;
    if (n == 0)
        return;
    size_t at = rnd() % n;
    switch (rnd() % 7) {
    case 0:
        buf[at] = (uint8_t)rnd();
        break;
    case 1:
        buf[at] ^= (uint8_t)(1u << (rnd() % 8));
        break;
    case 2:
        buf[at] = interesting[rnd() % sizeof(interesting)];
        break;
    case 3:
        if (at + 1 < n)
            ns_put_u16(buf + at, (uint16_t)(ns_get_u16(buf + at) + (rnd() % 9) - 4));
        break;
    case 4:
        *len = at;
        break;
    case 5:
        if (n < cap) {
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = (uint8_t)rnd();
            *len = n + 1;
        }
        break;
    default:
        if (at + 1 < n)
            ns_put_u16(buf + at, interesting[rnd() % sizeof(interesting)]);
        break;
    }
}

static void random_mutations_never_crash(void **state)
{
    (void)state;
    uint8_t work[2100];
    unsigned ok = 0, failed = 0;
    for (unsigned iter = 0; iter < 50000; iter++) {
        size_t len = msg_len;
        memcpy(work, msg, len);
        unsigned k = 1 + rnd() % 6;
        for (unsigned j = 0; j < k; j++)
            mutate(work, &len, sizeof(work));
        /* Half the time keep the header length honest, so the mutation
         * reaches the payloads instead of stopping at the header. */
        if (len >= NS_IKE_HEADER_LEN && rnd() % 2)
            ns_put_u32(work + 24, (uint32_t)len);
        int err = parse_all(work, len);
        if (err == NS_IKE_OK)
            ok++;
        else
            failed++;
    }
    /* Both outcomes occur: the mutations do reach valid and invalid
     * territory (a run that only ever failed at the header is useless). */
    print_message("mutations: %u parsed, %u refused\n", ok, failed);
    assert_true(ok > 100);
    assert_true(failed > 100);
}

/* Mutates the plaintext of an SK payload, then seals it properly, so that
 * the mutations reach the inner payload parsing behind the ICV. */
static void random_inner_mutations_never_crash(void **state)
{
    (void)state;
    uint8_t ek[20];
    memset(ek, 0x42, sizeof(ek));
    struct ns_cipher *c =
        ns_cipher_new(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, ek, sizeof(ek), NULL, 0);
    assert_non_null(c);
    /* The inner chain: every payload of the everything message. */
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(msg, msg_len, &h, &pl), NS_IKE_OK);
    const uint8_t *inner0 = msg + NS_IKE_HEADER_LEN;
    size_t inner_len = msg_len - NS_IKE_HEADER_LEN;

    uint8_t pt[2100], out[2300];
    unsigned ok = 0, failed = 0;
    for (unsigned iter = 0; iter < 20000; iter++) {
        size_t len = inner_len;
        memcpy(pt, inner0, len);
        unsigned k = 1 + rnd() % 4;
        for (unsigned j = 0; j < k; j++)
            mutate(pt, &len, sizeof(pt));
        uint8_t iv[8] = {0};
        struct ns_ike_builder b;
        struct ns_ike_header sh = hdr;
        ns_ike_build_begin(&b, out, sizeof(out), &sh);
        ns_ike_sk_begin(&b, c, iv);
        ns_write_bytes(&b.w, pt, len);
        /* The first inner type, as the header named it. */
        ns_write_u16_at(&b.w, b.np_off, (uint16_t)(h.next_payload << 8));
        ns_ike_sk_seal(&b, c);
        int mlen = ns_ike_build_finish(&b);
        assert_true(mlen > 0);

        uint8_t *copy = malloc((size_t)mlen);
        assert_non_null(copy);
        memcpy(copy, out, (size_t)mlen);
        struct ns_ike_header oh;
        struct ns_ike_payloads outer, inner;
        assert_int_equal(ns_ike_parse_message(copy, (size_t)mlen, &oh, &outer), NS_IKE_OK);
        int err = ns_ike_sk_open(c, copy, (size_t)mlen, &outer.p[0], &inner);
        assert_true(err <= 0 && err >= NS_IKE_ECRYPTO && err != NS_IKE_EAUTH);
        if (err == NS_IKE_OK || err == NS_IKE_ECRITICAL) {
            for (unsigned i = 0; i < inner.n && !err; i++)
                err = parse_typed(&inner.p[i]);
        }
        if (err == NS_IKE_OK)
            ok++;
        else
            failed++;
        free(copy);
    }
    print_message("inner mutations: %u parsed, %u refused\n", ok, failed);
    assert_true(ok > 100);
    assert_true(failed > 100);
    ns_cipher_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(everything_message_is_valid),
        cmocka_unit_test(truncated_at_every_offset),
        cmocka_unit_test(payload_bodies_truncated),
        cmocka_unit_test(header_length_wrong),
        cmocka_unit_test(generic_payload_length_wrong),
        cmocka_unit_test(proposal_length_wrong),
        cmocka_unit_test(transform_length_wrong),
        cmocka_unit_test(attribute_length_wrong),
        cmocka_unit_test(ts_length_wrong),
        cmocka_unit_test(cp_attribute_length_wrong),
        cmocka_unit_test(nested_disagreements),
        cmocka_unit_test(structure_before_critical),
        cmocka_unit_test(too_many),
        cmocka_unit_test(random_mutations_never_crash),
        cmocka_unit_test(random_inner_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
