/* Build-then-parse round trips for the IKEv2 codec (src/ike/msg*.c,
 * payload*.c): every payload type field by field, whole IKE_SA_INIT-like
 * messages, unknown payloads with and without the critical bit, and the
 * builder's own error reporting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "ike/msg.h"

#define SPI_I 0x0102030405060708ull
#define SPI_R 0x1112131415161718ull

static const struct ns_ike_header hdr_init = {
    .spi_i = SPI_I,
    .exchange = NS_IKE_SA_INIT,
    .flags = NS_IKE_FLAG_INITIATOR,
    .msg_id = 0,
};

static const struct ns_ike_header hdr_auth = {
    .spi_i = SPI_I,
    .spi_r = SPI_R,
    .exchange = NS_IKE_AUTH,
    .flags = NS_IKE_FLAG_INITIATOR,
    .msg_id = 1,
};

/* Fills n bytes with a pattern that differs per seed, so fields that were
 * swapped or shifted do not compare equal by accident. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* Parses buf[0..len) as a message and returns its one payload of type. */
static const struct ns_ike_payload *parse_one(const uint8_t *buf, int len, uint8_t type,
                                              struct ns_ike_payloads *pl)
{
    struct ns_ike_header h;
    assert_true(len > 0);
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, pl), NS_IKE_OK);
    assert_int_equal(pl->n, 1);
    const struct ns_ike_payload *p = ns_ike_find(pl, type);
    assert_non_null(p);
    return p;
}

static void header_round_trip(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    int len = ns_ike_build_finish(&b);
    assert_int_equal(len, NS_IKE_HEADER_LEN);

    struct ns_ike_header h;
    assert_int_equal(ns_ike_parse_header(buf, (size_t)len, &h), NS_IKE_OK);
    assert_true(h.spi_i == SPI_I);
    assert_true(h.spi_r == SPI_R);
    assert_int_equal(h.next_payload, NS_PL_NONE);
    assert_int_equal(h.version, NS_IKE_VERSION); /* 0 in the template means 2.0 */
    assert_int_equal(h.exchange, NS_IKE_AUTH);
    assert_int_equal(h.flags, NS_IKE_FLAG_INITIATOR);
    assert_int_equal(h.msg_id, 1);
    assert_int_equal(h.length, NS_IKE_HEADER_LEN);

    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_int_equal(pl.n, 0);
    /* Minor version differences are fine; major version 1 (IKEv1) is not. */
    buf[17] = 0x21;
    assert_int_equal(ns_ike_parse_header(buf, (size_t)len, &h), NS_IKE_OK);
    buf[17] = 0x10;
    assert_int_equal(ns_ike_parse_header(buf, (size_t)len, &h), NS_IKE_EVERSION);
    assert_int_equal(h.exchange, NS_IKE_AUTH); /* still filled in for the answer */
}

static void sa_round_trip(void **state)
{
    (void)state;
    static struct ns_ike_sa sa, got;
    memset(&sa, 0, sizeof(sa));
    sa.n = 5;
    /* IKE proposal: AES-GCM-16-128, PRF-HMAC-SHA2-256, Curve25519. */
    sa.prop[0] = (struct ns_ike_sa_proposal){.num = 1, .protocol = 1, .n_t = 3};
    sa.prop[0].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 20, 128, false};
    sa.prop[0].t[1] = (struct ns_ike_transform){NS_TRANS_PRF, 5, 0, false};
    sa.prop[0].t[2] = (struct ns_ike_transform){NS_TRANS_DH, 31, 0, false};
    /* ESP proposal with a 4-byte SPI: AES-CBC-256, HMAC-SHA2-256-128, ESN. */
    sa.prop[1] = (struct ns_ike_sa_proposal){.num = 2, .protocol = 3, .spi_len = 4, .n_t = 3};
    memcpy(sa.prop[1].spi, "\xc0\xff\xee\x01", 4);
    sa.prop[1].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 12, 256, false};
    sa.prop[1].t[1] = (struct ns_ike_transform){NS_TRANS_INTEG, 12, 0, false};
    sa.prop[1].t[2] = (struct ns_ike_transform){NS_TRANS_ESN, 0, 0, false};
    /* IKE re-key proposal with an 8-byte SPI; number 0 means "position". */
    sa.prop[2] = (struct ns_ike_sa_proposal){.protocol = 1, .spi_len = 8, .n_t = 1};
    memcpy(sa.prop[2].spi, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    sa.prop[2].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 28, 0, false};
    /* R16: ESP with NULL encryption and an integrity algorithm. */
    sa.prop[3] = (struct ns_ike_sa_proposal){.num = 4, .protocol = 3, .spi_len = 4, .n_t = 2};
    memcpy(sa.prop[3].spi, "\x00\x00\x10\x01", 4);
    sa.prop[3].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, NS_ENCR_NULL, 0, false};
    sa.prop[3].t[1] = (struct ns_ike_transform){NS_TRANS_INTEG, 14, 0, false};
    /* R1: an AH proposal (protocol 2) still parses, so it can be refused. */
    sa.prop[4] = (struct ns_ike_sa_proposal){.num = 5, .protocol = 2, .spi_len = 4, .n_t = 1};
    memcpy(sa.prop[4].spi, "\x00\x00\x20\x02", 4);
    sa.prop[4].t[0] = (struct ns_ike_transform){NS_TRANS_INTEG, 12, 0, false};

    uint8_t buf[512];
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_add_sa(&b, &sa);
    int len = ns_ike_build_finish(&b);
    /* 4 generic + (8 + 3*8 + 4) + (8 + 4 + 3*8 + 4) + (8 + 8 + 8) + (8 + 4 + 2*8)
     * + (8 + 4 + 8) */
    assert_int_equal(len, NS_IKE_HEADER_LEN + 4 + 36 + 40 + 24 + 28 + 20);

    struct ns_ike_payloads pl;
    const struct ns_ike_payload *p = parse_one(buf, len, NS_PL_SA, &pl);
    assert_int_equal(ns_ike_parse_sa(p, &got), NS_IKE_OK);
    assert_int_equal(got.n, 5);
    for (unsigned i = 0; i < 5; i++) {
        const struct ns_ike_sa_proposal *x = &sa.prop[i], *y = &got.prop[i];
        assert_int_equal(y->num, i + 1);
        assert_int_equal(y->protocol, x->protocol);
        assert_int_equal(y->spi_len, x->spi_len);
        assert_memory_equal(y->spi, x->spi, x->spi_len);
        assert_int_equal(y->n_t, x->n_t);
        for (unsigned j = 0; j < x->n_t; j++) {
            assert_int_equal(y->t[j].type, x->t[j].type);
            assert_int_equal(y->t[j].id, x->t[j].id);
            assert_int_equal(y->t[j].key_len, x->t[j].key_len);
            assert_false(y->t[j].unknown_attr);
        }
    }
}

static void sa_attribute_formats(void **state)
{
    (void)state;
    /* One proposal, one transform with: an unknown TLV attribute (3 bytes
     * of value), KEY_LENGTH as TV, an unknown TV attribute. */
    const uint8_t body[] = {
        0,    0,    0,    31,   1,    1,    0,
        1, /* proposal: last, len 31, #1, IKE, no SPI, 1 */
        0,    0,    0,    23,   1,    0,    0,
        20,                                       /* transform: last, len 23, ENCR, AES-GCM-16 */
        0x00, 0x20, 0x00, 0x03, 0xaa, 0xbb, 0xcc, /* TLV type 32, 3 bytes */
        0x80, 0x0e, 0x01, 0x00,                   /* KEY_LENGTH 256 */
        0x80, 0x21, 0x12, 0x34,                   /* TV type 33 */
    };
    struct ns_ike_payload p = {.type = NS_PL_SA, .body = body, .body_len = sizeof(body)};
    static struct ns_ike_sa sa;
    assert_int_equal(ns_ike_parse_sa(&p, &sa), NS_IKE_OK);
    assert_int_equal(sa.n, 1);
    assert_int_equal(sa.prop[0].n_t, 1);
    assert_int_equal(sa.prop[0].t[0].id, 20);
    assert_int_equal(sa.prop[0].t[0].key_len, 256);
    assert_true(sa.prop[0].t[0].unknown_attr);

    /* KEY_LENGTH in TLV form is not what 3.3.5 defines. */
    uint8_t tlv[] = {0,  0, 0, 22, 1,  1,    0,    1,    0,    0,    0,
                     14, 1, 0, 0,  20, 0x00, 0x0e, 0x00, 0x02, 0x01, 0x00};
    p.body = tlv;
    p.body_len = sizeof(tlv);
    assert_int_equal(ns_ike_parse_sa(&p, &sa), NS_IKE_ESYNTAX);
    /* Nor is a second KEY_LENGTH, or a zero one. */
    uint8_t twice[] = {0, 0, 0, 24, 1,    1,    0,    1,    0,    0,    0,    16,
                       1, 0, 0, 20, 0x80, 0x0e, 0x00, 0x80, 0x80, 0x0e, 0x01, 0x00};
    p.body = twice;
    p.body_len = sizeof(twice);
    assert_int_equal(ns_ike_parse_sa(&p, &sa), NS_IKE_ESYNTAX);
    twice[18] = twice[19] = 0;
    p.body_len = 20;
    twice[3] = 20;
    twice[11] = 12;
    assert_int_equal(ns_ike_parse_sa(&p, &sa), NS_IKE_ESYNTAX);
}

static void ke_round_trip(void **state)
{
    (void)state;
    uint8_t pub[256], buf[512];
    fill(pub, sizeof(pub), 3);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_add_ke(&b, 14, pub, sizeof(pub));
    int len = ns_ike_build_finish(&b);
    assert_int_equal(len, NS_IKE_HEADER_LEN + 4 + 4 + 256);

    struct ns_ike_payloads pl;
    struct ns_ike_ke ke;
    const struct ns_ike_payload *p = parse_one(buf, len, NS_PL_KE, &pl);
    assert_false(p->critical);
    assert_int_equal(ns_ike_parse_ke(p, &ke), NS_IKE_OK);
    assert_int_equal(ke.group, 14);
    assert_int_equal(ke.len, 256);
    assert_memory_equal(ke.data, pub, 256);
}

static void nonce_round_trip_and_bounds(void **state)
{
    (void)state;
    uint8_t nonce[257], buf[600];
    fill(nonce, sizeof(nonce), 9);
    const size_t sizes[] = {15, 16, 32, 256, 257};
    const int want[] = {NS_IKE_ELENGTH, NS_IKE_OK, NS_IKE_OK, NS_IKE_OK, NS_IKE_ELENGTH};
    for (unsigned i = 0; i < 5; i++) {
        struct ns_ike_builder b;
        ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
        ns_ike_add_nonce(&b, nonce, sizes[i]);
        int len = ns_ike_build_finish(&b);
        struct ns_ike_payloads pl;
        const struct ns_ike_payload *p = parse_one(buf, len, NS_PL_NONCE, &pl);
        const uint8_t *n = NULL;
        size_t n_len = 0;
        assert_int_equal(ns_ike_parse_nonce(p, &n, &n_len), want[i]);
        if (want[i] == NS_IKE_OK) {
            assert_int_equal(n_len, sizes[i]);
            assert_memory_equal(n, nonce, sizes[i]);
        }
    }
}

/* R14: the NAT detection notifies carry a 20-byte SHA-1 hash as data. */
static void notify_round_trip(void **state)
{
    (void)state;
    uint8_t hash[20], data[40], buf[512];
    fill(hash, sizeof(hash), 1);
    fill(data, sizeof(data), 2);
    const uint8_t spi[4] = {0xde, 0xad, 0xbe, 0xef};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_NAT_DETECTION_SOURCE_IP, hash, 20);
    ns_ike_add_notify(&b, 3, spi, 4, NS_N_REKEY_SA, NULL, 0);
    ns_ike_add_notify(&b, 0, NULL, 0, 40000, data, sizeof(data)); /* unknown: passed through */
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INVALID_KE_PAYLOAD, (const uint8_t *)"\x00\x1f", 2);
    int len = ns_ike_build_finish(&b);
    assert_true(len > 0);

    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    struct ns_ike_notify n;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_int_equal(pl.n, 4);
    assert_null(ns_ike_find_notify(&pl, NS_N_COOKIE));

    const struct ns_ike_payload *p = ns_ike_find_notify(&pl, NS_N_NAT_DETECTION_SOURCE_IP);
    assert_ptr_equal(p, &pl.p[0]);
    assert_int_equal(ns_ike_parse_notify(p, &n), NS_IKE_OK);
    assert_int_equal(n.protocol, 0);
    assert_int_equal(n.spi_len, 0);
    assert_int_equal(n.type, NS_N_NAT_DETECTION_SOURCE_IP);
    assert_int_equal(n.len, 20);
    assert_memory_equal(n.data, hash, 20);

    p = ns_ike_find_notify(&pl, NS_N_REKEY_SA);
    assert_ptr_equal(p, &pl.p[1]);
    assert_int_equal(ns_ike_parse_notify(p, &n), NS_IKE_OK);
    assert_int_equal(n.protocol, 3);
    assert_int_equal(n.spi_len, 4);
    assert_memory_equal(n.spi, spi, 4);
    assert_int_equal(n.len, 0);

    p = ns_ike_find_notify(&pl, 40000);
    assert_int_equal(ns_ike_parse_notify(p, &n), NS_IKE_OK);
    assert_int_equal(n.type, 40000);
    assert_int_equal(n.len, sizeof(data));
    assert_memory_equal(n.data, data, sizeof(data));

    p = ns_ike_find_notify(&pl, NS_N_INVALID_KE_PAYLOAD);
    assert_int_equal(ns_ike_parse_notify(p, &n), NS_IKE_OK);
    assert_int_equal(n.len, 2);
    assert_int_equal(ns_get_u16(n.data), 31);

    /* An SPI size larger than the body is a length error. */
    const uint8_t bad[] = {3, 8, 0x40, 0x09, 1, 2, 3, 4};
    struct ns_ike_payload q = {.type = NS_PL_NOTIFY, .body = bad, .body_len = sizeof(bad)};
    assert_int_equal(ns_ike_parse_notify(&q, &n), NS_IKE_ELENGTH);
}

/* R3: FQDN, RFC 822 and KEY_ID identities (and DN, IP for completeness). */
static void id_round_trip(void **state)
{
    (void)state;
    const struct {
        uint8_t pt, type;
        const char *data;
        size_t len;
    } ids[] = {
        {NS_PL_IDI, NS_ID_FQDN, "vpn.corp.example", 16},
        {NS_PL_IDR, NS_ID_RFC822_ADDR, "alice@corp.example", 18},
        {NS_PL_IDI, NS_ID_KEY_ID, "\x00\x01\x02\xff", 4},
        {NS_PL_IDR, NS_ID_DER_ASN1_DN, "\x30\x0b\x31\x09\x30\x07\x06\x03\x55\x04\x03", 11},
        {NS_PL_IDI, NS_ID_IPV4_ADDR, "\xc0\x00\x02\x0a", 4},
        {NS_PL_IDR, NS_ID_IPV6_ADDR, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16},
    };
    for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        uint8_t buf[128];
        struct ns_ike_builder b;
        ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
        ns_ike_add_id(&b, ids[i].pt, ids[i].type, (const uint8_t *)ids[i].data, ids[i].len);
        int len = ns_ike_build_finish(&b);
        struct ns_ike_payloads pl;
        struct ns_ike_id id;
        const struct ns_ike_payload *p = parse_one(buf, len, ids[i].pt, &pl);
        assert_int_equal(ns_ike_parse_id(p, &id), NS_IKE_OK);
        assert_int_equal(id.type, ids[i].type);
        assert_int_equal(id.len, ids[i].len);
        assert_memory_equal(id.data, ids[i].data, ids[i].len);
        /* RestOfIDPayload (2.15): type, 3 reserved bytes, data. */
        assert_int_equal(id.rest_len, 4 + ids[i].len);
        assert_int_equal(id.rest[0], ids[i].type);
        assert_memory_equal(id.rest + 1, "\0\0\0", 3);
        assert_ptr_equal(id.rest + 4, id.data);
    }
    /* An IPv4 identity must hold 4 bytes. */
    const uint8_t bad[] = {NS_ID_IPV4_ADDR, 0, 0, 0, 10, 0, 0};
    struct ns_ike_payload q = {.type = NS_PL_IDI, .body = bad, .body_len = sizeof(bad)};
    struct ns_ike_id id;
    assert_int_equal(ns_ike_parse_id(&q, &id), NS_IKE_ELENGTH);
}

static void auth_round_trip(void **state)
{
    (void)state;
    uint8_t mac[32], buf[128];
    fill(mac, sizeof(mac), 5);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_add_auth(&b, NS_AUTH_SHARED_KEY_MIC, mac, sizeof(mac));
    int len = ns_ike_build_finish(&b);
    struct ns_ike_payloads pl;
    struct ns_ike_auth a;
    assert_int_equal(ns_ike_parse_auth(parse_one(buf, len, NS_PL_AUTH, &pl), &a), NS_IKE_OK);
    assert_int_equal(a.method, NS_AUTH_SHARED_KEY_MIC);
    assert_int_equal(a.len, 32);
    assert_memory_equal(a.data, mac, 32);
}

static struct ns_ts ts_v4(uint8_t proto, uint16_t plo, uint16_t phi, const char *lo, const char *hi)
{
    struct ns_ts t = {.ip_proto = proto, .port_lo = plo, .port_hi = phi};
    t.lo.family = t.hi.family = AF_INET;
    memcpy(t.lo.a, lo, 4);
    memcpy(t.hi.a, hi, 4);
    return t;
}

static void ts_round_trip(void **state)
{
    (void)state;
    struct ns_ts ts[3];
    ts[0] = ts_v4(0, 0, 65535, "\x0a\x01\x00\x00", "\x0a\x01\x00\xff");
    ts[1] = ts_v4(6, 80, 443, "\xc0\xa8\x01\x05", "\xc0\xa8\x01\x05");
    memset(&ts[2], 0, sizeof(ts[2]));
    ts[2].ip_proto = 17;
    ts[2].port_lo = 500;
    ts[2].port_hi = 4500;
    ts[2].lo.family = ts[2].hi.family = AF_INET6;
    memcpy(ts[2].lo.a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    memset(ts[2].hi.a, 0xff, 16);
    memcpy(ts[2].hi.a, "\x20\x01\x0d\xb8", 4);

    uint8_t buf[256];
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_add_ts(&b, NS_PL_TSI, ts, 3);
    ns_ike_add_ts(&b, NS_PL_TSR, ts, 1);
    int len = ns_ike_build_finish(&b);
    assert_int_equal(len, NS_IKE_HEADER_LEN + (4 + 4 + 16 + 16 + 40) + (4 + 4 + 16));

    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    static struct ns_ike_ts_list got;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_int_equal(ns_ike_parse_ts(ns_ike_find(&pl, NS_PL_TSI), &got), NS_IKE_OK);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.n_skipped, 0);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(got.ts[i].ip_proto, ts[i].ip_proto);
        assert_int_equal(got.ts[i].port_lo, ts[i].port_lo);
        assert_int_equal(got.ts[i].port_hi, ts[i].port_hi);
        assert_int_equal(got.ts[i].lo.family, ts[i].lo.family);
        assert_int_equal(got.ts[i].hi.family, ts[i].hi.family);
        size_t alen = ts[i].lo.family == AF_INET ? 4 : 16;
        assert_memory_equal(got.ts[i].lo.a, ts[i].lo.a, alen);
        assert_memory_equal(got.ts[i].hi.a, ts[i].hi.a, alen);
    }
    assert_int_equal(ns_ike_parse_ts(ns_ike_find(&pl, NS_PL_TSR), &got), NS_IKE_OK);
    assert_int_equal(got.n, 1);
    assert_memory_equal(got.ts[0].hi.a, "\x0a\x01\x00\xff", 4);

    /* A selector type natsec does not represent (FC, 9) is length-checked
     * and left out. */
    const uint8_t fc[] = {2, 0, 0, 0,  9, 0, 0,   12,  1, 2, 3, 4, 5, 6, 7, 8,
                          7, 6, 0, 16, 0, 0, 255, 255, 1, 1, 1, 1, 2, 2, 2, 2};
    struct ns_ike_payload q = {.type = NS_PL_TSI, .body = fc, .body_len = sizeof(fc)};
    assert_int_equal(ns_ike_parse_ts(&q, &got), NS_IKE_OK);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.n_skipped, 1);
    assert_int_equal(got.ts[0].port_hi, 65535);
}

/* R6: the virtual IP is requested and assigned through CP. */
static void cp_round_trip(void **state)
{
    (void)state;
    static struct ns_ike_cp cp, got;
    memset(&cp, 0, sizeof(cp));
    /* A client's request: empty attributes ask for values (3.15.1). */
    cp.type = NS_CFG_REQUEST;
    cp.n = 3;
    cp.attr[0] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_ADDRESS, NULL, 0};
    cp.attr[1] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_DNS, NULL, 0};
    cp.attr[2] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP6_ADDRESS, NULL, 0};
    uint8_t buf[256];
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_add_cp(&b, &cp);
    int len = ns_ike_build_finish(&b);
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_cp(parse_one(buf, len, NS_PL_CP, &pl), &got), NS_IKE_OK);
    assert_int_equal(got.type, NS_CFG_REQUEST);
    assert_int_equal(got.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(got.attr[i].type, cp.attr[i].type);
        assert_int_equal(got.attr[i].len, 0);
    }

    /* The gateway's reply with values. */
    cp.type = NS_CFG_REPLY;
    cp.n = 3;
    cp.attr[0] =
        (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_ADDRESS, (const uint8_t *)"\x0a\x09\0\x02", 4};
    cp.attr[1] =
        (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_NETMASK, (const uint8_t *)"\xff\xff\xff\0", 4};
    cp.attr[2] = (struct ns_ike_cp_attr){
        NS_CP_INTERNAL_IP6_ADDRESS,
        (const uint8_t *)"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x05\x80", 17};
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_add_cp(&b, &cp);
    len = ns_ike_build_finish(&b);
    assert_int_equal(ns_ike_parse_cp(parse_one(buf, len, NS_PL_CP, &pl), &got), NS_IKE_OK);
    assert_int_equal(got.type, NS_CFG_REPLY);
    assert_int_equal(got.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(got.attr[i].type, cp.attr[i].type);
        assert_int_equal(got.attr[i].len, cp.attr[i].len);
        assert_memory_equal(got.attr[i].data, cp.attr[i].data, cp.attr[i].len);
    }
}

/* X8: an INTERNAL_IP6_ADDRESS value names a prefix only when its length
 * is below 128 and the address bits after it are zero (RFC 7296 3.15.1);
 * strongSwan's address/64 and the lengths 0 and 128 name an address. */
static void cp_ip6_prefix_or_address(void **state)
{
    (void)state;
    uint8_t v[17];
    memset(v, 0, sizeof(v));
    v[16] = 64; /* ::/64: any /64 */
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 64);
    memcpy(v, "\x20\x01\x0d\xb8\0\0\x80\0", 8); /* 2001:db8:0:8000::/64 */
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 64);
    v[16] = 49;
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 49);
    v[16] = 48; /* bit 48 is set: an address */
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 128);
    v[16] = 64;
    v[15] = 2; /* 2001:db8:0:8000::2/64, as strongSwan asks again for an address */
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 128);
    v[16] = 128;
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 128);
    memset(v, 0, sizeof(v));
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 128); /* ::/0 */
    v[16] = 200;
    assert_int_equal(ns_ike_cp_ip6_prefix_len(v), 128);
}

static void delete_round_trip(void **state)
{
    (void)state;
    const uint8_t spis[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t buf[128];
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_add_delete(&b, 3, 4, spis, 3);
    ns_ike_add_delete(&b, 1, 0, NULL, 0); /* the IKE SA itself (3.11) */
    int len = ns_ike_build_finish(&b);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    struct ns_ike_delete d;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_int_equal(pl.n, 2);
    assert_int_equal(ns_ike_parse_delete(&pl.p[0], &d), NS_IKE_OK);
    assert_int_equal(d.protocol, 3);
    assert_int_equal(d.spi_len, 4);
    assert_int_equal(d.n_spi, 3);
    assert_memory_equal(d.spis, spis, 12);
    assert_int_equal(ns_ike_parse_delete(&pl.p[1], &d), NS_IKE_OK);
    assert_int_equal(d.protocol, 1);
    assert_int_equal(d.spi_len, 0);
    assert_int_equal(d.n_spi, 0);
    /* A count of SPIs without SPI bytes to match is refused. */
    const uint8_t bad[] = {3, 4, 0, 2, 1, 2, 3, 4};
    struct ns_ike_payload q = {.type = NS_PL_DELETE, .body = bad, .body_len = sizeof(bad)};
    assert_int_equal(ns_ike_parse_delete(&q, &d), NS_IKE_ELENGTH);
}

static void vendor_and_cert_round_trip(void **state)
{
    (void)state;
    const uint8_t vid[16] = {0x88, 0x2f, 0xe5, 0x6d, 0x6f, 0xd2, 0x0d, 0xbc,
                             0x22, 0x86, 0x61, 0x2e, 0x28, 0x2c, 0x8d, 0x6c};
    uint8_t cert[300], hashes[40], buf[512];
    fill(cert, sizeof(cert), 11);
    fill(hashes, sizeof(hashes), 12);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_add_vendor(&b, vid, sizeof(vid));
    ns_ike_add_cert(&b, NS_PL_CERT, 4 /* X.509 signature */, cert, sizeof(cert));
    ns_ike_add_cert(&b, NS_PL_CERTREQ, 4, hashes, sizeof(hashes));
    int len = ns_ike_build_finish(&b);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    struct ns_ike_cert c;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_int_equal(pl.n, 3);
    const struct ns_ike_payload *v = ns_ike_find(&pl, NS_PL_VENDOR);
    assert_int_equal(v->body_len, sizeof(vid));
    assert_memory_equal(v->body, vid, sizeof(vid));
    assert_int_equal(ns_ike_parse_cert(ns_ike_find(&pl, NS_PL_CERT), &c), NS_IKE_OK);
    assert_int_equal(c.encoding, 4);
    assert_int_equal(c.len, sizeof(cert));
    assert_memory_equal(c.data, cert, sizeof(cert));
    assert_int_equal(ns_ike_parse_cert(ns_ike_find(&pl, NS_PL_CERTREQ), &c), NS_IKE_OK);
    assert_int_equal(c.len, sizeof(hashes));
    assert_memory_equal(c.data, hashes, sizeof(hashes));
    /* Typed parsers refuse a payload of another type. */
    assert_int_equal(ns_ike_parse_cert(v, &c), NS_IKE_ESYNTAX);
}

/* An IKE_SA_INIT request as natsec sends it: SA, KE, Ni, the two NAT
 * detection notifies (R14), fragmentation support, a vendor ID. */
static int build_sa_init(uint8_t *buf, size_t cap)
{
    static struct ns_ike_sa sa;
    memset(&sa, 0, sizeof(sa));
    sa.n = 1;
    sa.prop[0] = (struct ns_ike_sa_proposal){.num = 1, .protocol = 1, .n_t = 3};
    sa.prop[0].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 20, 128, false};
    sa.prop[0].t[1] = (struct ns_ike_transform){NS_TRANS_PRF, 5, 0, false};
    sa.prop[0].t[2] = (struct ns_ike_transform){NS_TRANS_DH, 31, 0, false};
    uint8_t ke[32], nonce[32], nat_s[20], nat_d[20];
    fill(ke, 32, 1);
    fill(nonce, 32, 2);
    fill(nat_s, 20, 3);
    fill(nat_d, 20, 4);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, cap, &hdr_init);
    ns_ike_add_sa(&b, &sa);
    ns_ike_add_ke(&b, 31, ke, 32);
    ns_ike_add_nonce(&b, nonce, 32);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_NAT_DETECTION_SOURCE_IP, nat_s, 20);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_NAT_DETECTION_DESTINATION_IP, nat_d, 20);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
    ns_ike_add_vendor(&b, (const uint8_t *)"natsec", 6);
    return ns_ike_build_finish(&b);
}

static void ike_sa_init_message(void **state)
{
    (void)state;
    uint8_t buf[512];
    int len = build_sa_init(buf, sizeof(buf));
    assert_true(len > 0);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_int_equal(h.length, (uint32_t)len);
    assert_int_equal(h.next_payload, NS_PL_SA);
    const uint8_t order[] = {NS_PL_SA,     NS_PL_KE,     NS_PL_NONCE, NS_PL_NOTIFY,
                             NS_PL_NOTIFY, NS_PL_NOTIFY, NS_PL_VENDOR};
    assert_int_equal(pl.n, sizeof(order));
    for (unsigned i = 0; i < pl.n; i++) {
        assert_int_equal(pl.p[i].type, order[i]);
        uint8_t next = i + 1 < pl.n ? order[i + 1] : NS_PL_NONE;
        assert_int_equal(pl.p[i].next_payload, next);
    }
    static struct ns_ike_sa sa;
    assert_int_equal(ns_ike_parse_sa(ns_ike_find(&pl, NS_PL_SA), &sa), NS_IKE_OK);
    assert_int_equal(sa.prop[0].t[2].id, 31);
    struct ns_ike_ke ke;
    assert_int_equal(ns_ike_parse_ke(ns_ike_find(&pl, NS_PL_KE), &ke), NS_IKE_OK);
    assert_int_equal(ke.group, 31);
    assert_int_equal(ke.len, 32);
    /* R14 */
    struct ns_ike_notify n;
    assert_int_equal(
        ns_ike_parse_notify(ns_ike_find_notify(&pl, NS_N_NAT_DETECTION_DESTINATION_IP), &n),
        NS_IKE_OK);
    assert_int_equal(n.len, 20);
    assert_non_null(ns_ike_find_notify(&pl, NS_N_IKEV2_FRAGMENTATION_SUPPORTED));
}

/* Builds header + Nonce + a payload of an unassigned type (200) + Vendor. */
static int build_with_unknown(uint8_t *buf, size_t cap, bool critical)
{
    uint8_t nonce[16];
    fill(nonce, 16, 7);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, cap, &hdr_init);
    ns_ike_add_nonce(&b, nonce, 16);
    ns_ike_build_open(&b, 200, critical);
    ns_write_bytes(&b.w, "future", 6);
    ns_ike_build_close(&b);
    ns_ike_add_vendor(&b, (const uint8_t *)"v", 1);
    return ns_ike_build_finish(&b);
}

static void unknown_noncritical_payload_skipped(void **state)
{
    (void)state;
    uint8_t buf[128];
    int len = build_with_unknown(buf, sizeof(buf), false);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_int_equal(pl.n, 2);
    assert_int_equal(pl.p[0].type, NS_PL_NONCE);
    assert_int_equal(pl.p[1].type, NS_PL_VENDOR);
    assert_int_equal(pl.unsupported_critical, 0);
}

static void unknown_critical_payload_reported(void **state)
{
    (void)state;
    uint8_t buf[128];
    int len = build_with_unknown(buf, sizeof(buf), true);
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_ECRITICAL);
    assert_int_equal(pl.unsupported_critical, 200);
    /* The header and the known payloads are still there for the answer. */
    assert_int_equal(h.exchange, NS_IKE_SA_INIT);
    assert_int_equal(pl.n, 2);
    /* The critical bit on a known type means nothing (3.2). */
    uint8_t nonce[16] = {0};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_build_open(&b, NS_PL_NONCE, true);
    ns_write_bytes(&b.w, nonce, 16);
    ns_ike_build_close(&b);
    len = ns_ike_build_finish(&b);
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    assert_true(pl.p[0].critical);
}

static void builder_reports_errors(void **state)
{
    (void)state;
    uint8_t buf[512];
    /* Every prefix-sized buffer smaller than the message is ENOSPACE. */
    int full = build_sa_init(buf, sizeof(buf));
    assert_true(full > 0);
    for (int cap = 0; cap < full; cap++)
        assert_int_equal(build_sa_init(buf, (size_t)cap), NS_IKE_ENOSPACE);
    assert_int_equal(build_sa_init(buf, (size_t)full), full);

    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_build_close(&b); /* nothing open */
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ESYNTAX);

    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_build_open(&b, NS_PL_VENDOR, false); /* never closed */
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ESYNTAX);

    struct ns_ts bad = {0};
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_add_ts(&b, NS_PL_TSI, &bad, 1); /* no address family */
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ESYNTAX);

    static struct ns_ike_sa empty;
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_init);
    ns_ike_add_sa(&b, &empty);
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ESYNTAX);

    /* A payload body beyond the 16-bit length field. */
    static uint8_t big[70000], body[65532];
    ns_ike_build_begin(&b, big, sizeof(big), &hdr_init);
    ns_ike_add_vendor(&b, body, sizeof(body));
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ELENGTH);

    assert_string_equal(ns_ike_strerror(NS_IKE_EAUTH), "integrity check failed");
}

/* ---- SK payload (3.14, RFC 5282) ---- */

struct suite {
    const char *name;
    enum ns_encr_alg encr;
    unsigned key_bits;
    enum ns_integ_alg integ;
};

static const struct suite suites[] = {
    {"AES-GCM-16-128", NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE},
    {"AES-GCM-16-256", NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE},
    {"AES-CBC-256 + HMAC-SHA2-256-128", NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128},
    {"AES-CBC-128 + HMAC-SHA2-512-256", NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_512_256},
    {"ChaCha20-Poly1305", NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE},
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

static struct ns_cipher *suite_cipher(const struct suite *s)
{
    uint8_t ek[NS_CIPHER_MAX_ENCR_KEY], ik[NS_CIPHER_MAX_INTEG_KEY];
    size_t ek_len = ns_encr_keymat_len(s->encr, s->key_bits);
    size_t ik_len = ns_integ_key_len(s->integ);
    fill(ek, sizeof(ek), 0x40);
    fill(ik, sizeof(ik), 0x80);
    struct ns_cipher *c = ns_cipher_new(s->encr, s->key_bits, s->integ, ek, ek_len, ik, ik_len);
    assert_non_null(c);
    return c;
}

static const char idi[] = "alice@corp.example";

/* An IKE_AUTH request with everything inside SK: IDi, AUTH, CP request,
 * SA (ESP), TSi, TSr, INITIAL_CONTACT. */
static int build_ike_auth(struct ns_cipher *c, uint8_t *buf, size_t cap)
{
    static struct ns_ike_sa sa;
    memset(&sa, 0, sizeof(sa));
    sa.n = 1;
    sa.prop[0] = (struct ns_ike_sa_proposal){.num = 1, .protocol = 3, .spi_len = 4, .n_t = 2};
    memcpy(sa.prop[0].spi, "\xca\xfe\x00\x01", 4);
    sa.prop[0].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 20, 256, false};
    sa.prop[0].t[1] = (struct ns_ike_transform){NS_TRANS_ESN, 0, 0, false};
    static struct ns_ike_cp cp;
    memset(&cp, 0, sizeof(cp));
    cp.type = NS_CFG_REQUEST;
    cp.n = 1;
    cp.attr[0].type = NS_CP_INTERNAL_IP4_ADDRESS;
    struct ns_ts any = ts_v4(0, 0, 65535, "\0\0\0\0", "\xff\xff\xff\xff");
    uint8_t iv[NS_CIPHER_MAX_IV], mac[32];
    fill(iv, sizeof(iv), 0x33);
    fill(mac, sizeof(mac), 0x44);

    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, cap, &hdr_auth);
    ns_ike_sk_begin(&b, c, iv);
    ns_ike_add_id(&b, NS_PL_IDI, NS_ID_RFC822_ADDR, (const uint8_t *)idi, strlen(idi));
    ns_ike_add_auth(&b, NS_AUTH_SHARED_KEY_MIC, mac, sizeof(mac));
    ns_ike_add_cp(&b, &cp);
    ns_ike_add_sa(&b, &sa);
    ns_ike_add_ts(&b, NS_PL_TSI, &any, 1);
    ns_ike_add_ts(&b, NS_PL_TSR, &any, 1);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INITIAL_CONTACT, NULL, 0);
    ns_ike_sk_seal(&b, c);
    return ns_ike_build_finish(&b);
}

static void check_ike_auth_inner(const struct ns_ike_payloads *in)
{
    const uint8_t order[] = {NS_PL_IDI, NS_PL_AUTH, NS_PL_CP,    NS_PL_SA,
                             NS_PL_TSI, NS_PL_TSR,  NS_PL_NOTIFY};
    assert_int_equal(in->n, sizeof(order));
    for (unsigned i = 0; i < in->n; i++)
        assert_int_equal(in->p[i].type, order[i]);
    struct ns_ike_id id;
    assert_int_equal(ns_ike_parse_id(&in->p[0], &id), NS_IKE_OK);
    assert_int_equal(id.type, NS_ID_RFC822_ADDR);
    assert_int_equal(id.len, strlen(idi));
    assert_memory_equal(id.data, idi, strlen(idi));
    struct ns_ike_auth a;
    assert_int_equal(ns_ike_parse_auth(&in->p[1], &a), NS_IKE_OK);
    assert_int_equal(a.len, 32);
    static struct ns_ike_cp cp;
    assert_int_equal(ns_ike_parse_cp(&in->p[2], &cp), NS_IKE_OK);
    assert_int_equal(cp.n, 1);
    assert_int_equal(cp.attr[0].len, 0);
    static struct ns_ike_sa sa;
    assert_int_equal(ns_ike_parse_sa(&in->p[3], &sa), NS_IKE_OK);
    assert_memory_equal(sa.prop[0].spi, "\xca\xfe\x00\x01", 4);
    assert_int_equal(sa.prop[0].t[0].key_len, 256);
    static struct ns_ike_ts_list ts;
    assert_int_equal(ns_ike_parse_ts(&in->p[5], &ts), NS_IKE_OK);
    assert_int_equal(ts.n, 1);
    assert_memory_equal(ts.ts[0].hi.a, "\xff\xff\xff\xff", 4);
    assert_non_null(ns_ike_find_notify(in, NS_N_INITIAL_CONTACT));
}

static void sk_round_trip_every_suite(void **state)
{
    (void)state;
    for (unsigned s = 0; s < N_SUITES; s++) {
        print_message("suite %s\n", suites[s].name);
        struct ns_cipher *c = suite_cipher(&suites[s]);
        uint8_t buf[1024];
        int len = build_ike_auth(c, buf, sizeof(buf));
        assert_true(len > 0);

        struct ns_ike_header h;
        struct ns_ike_payloads pl, inner;
        assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
        assert_int_equal(h.next_payload, NS_PL_SK);
        assert_int_equal(pl.n, 1);
        const struct ns_ike_payload *sk = &pl.p[0];
        assert_int_equal(sk->type, NS_PL_SK);
        assert_int_equal(sk->next_payload, NS_PL_IDI);
        size_t ct = sk->body_len - ns_cipher_iv_len(c) - ns_cipher_icv_len(c);
        assert_int_equal(ct % ns_cipher_block_len(c), 0);
        /* The plaintext is not in the clear. */
        assert_null(memmem(buf, (size_t)len, idi, strlen(idi)));

        assert_int_equal(ns_ike_sk_open(c, buf, (size_t)len, sk, &inner), NS_IKE_OK);
        check_ike_auth_inner(&inner);
        ns_cipher_free(c);
    }
}

/* Changing any single byte of a sealed message, header included, makes the
 * integrity check fail. */
static void sk_tamper_any_byte(void **state)
{
    (void)state;
    for (unsigned s = 0; s < N_SUITES; s++) {
        struct ns_cipher *c = suite_cipher(&suites[s]);
        uint8_t orig[1024], work[1024];
        int len = build_ike_auth(c, orig, sizeof(orig));
        assert_true(len > 0);
        for (int off = 0; off < len; off++) {
            memcpy(work, orig, (size_t)len);
            struct ns_ike_header h;
            struct ns_ike_payloads pl, inner;
            assert_int_equal(ns_ike_parse_message(work, (size_t)len, &h, &pl), NS_IKE_OK);
            struct ns_ike_payload sk = pl.p[0];
            work[off] ^= 0x01;
            assert_int_equal(ns_ike_sk_open(c, work, (size_t)len, &sk, &inner), NS_IKE_EAUTH);
        }
        /* And the untouched message still opens with the same cipher. */
        memcpy(work, orig, (size_t)len);
        struct ns_ike_header h;
        struct ns_ike_payloads pl, inner;
        assert_int_equal(ns_ike_parse_message(work, (size_t)len, &h, &pl), NS_IKE_OK);
        assert_int_equal(ns_ike_sk_open(c, work, (size_t)len, &pl.p[0], &inner), NS_IKE_OK);
        ns_cipher_free(c);
    }
}

/* Seals plaintext pt (inner chain, padding and pad length, chosen by the
 * test) by hand, to reach what the builder never produces. */
static int seal_raw(struct ns_cipher *c, uint8_t first, const uint8_t *pt, size_t pt_len,
                    uint8_t *buf, size_t cap)
{
    struct ns_writer w;
    ns_writer_init(&w, buf, cap);
    ns_write_u64(&w, SPI_I);
    ns_write_u64(&w, SPI_R);
    ns_write_u8(&w, NS_PL_SK);
    ns_write_u8(&w, NS_IKE_VERSION);
    ns_write_u8(&w, NS_IKE_AUTH);
    ns_write_u8(&w, NS_IKE_FLAG_INITIATOR);
    ns_write_u32(&w, 1);
    size_t total = NS_IKE_HEADER_LEN + 4 + ns_cipher_iv_len(c) + pt_len + ns_cipher_icv_len(c);
    ns_write_u32(&w, (uint32_t)total);
    ns_write_u8(&w, first);
    ns_write_u8(&w, 0);
    ns_write_u16(&w, (uint16_t)(total - NS_IKE_HEADER_LEN));
    uint8_t *iv = ns_write_reserve(&w, ns_cipher_iv_len(c));
    memset(iv, 0x55, ns_cipher_iv_len(c));
    uint8_t *data = ns_write_reserve(&w, pt_len);
    memcpy(data, pt, pt_len);
    uint8_t *icv = ns_write_reserve(&w, ns_cipher_icv_len(c));
    assert_true(ns_writer_ok(&w));
    assert_int_equal(ns_cipher_seal(c, buf, NS_IKE_HEADER_LEN + 4, iv, data, pt_len, NULL, icv), 0);
    return (int)total;
}

static int open_raw(struct ns_cipher *c, uint8_t *buf, int len, struct ns_ike_payloads *inner)
{
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    int err = ns_ike_parse_message(buf, (size_t)len, &h, &pl);
    if (err)
        return err;
    return ns_ike_sk_open(c, buf, (size_t)len, &pl.p[0], inner);
}

static void sk_bad_contents(void **state)
{
    (void)state;
    struct ns_cipher *gcm = suite_cipher(&suites[0]);
    struct ns_cipher *cbc = suite_cipher(&suites[2]);
    struct ns_ike_payloads inner;
    uint8_t buf[256];

    /* Pad length runs past the plaintext: authentic, but a syntax error. */
    const uint8_t overpad[4] = {0, 0, 0, 9};
    int len = seal_raw(gcm, NS_PL_NONE, overpad, 4, buf, sizeof(buf));
    assert_int_equal(open_raw(gcm, buf, len, &inner), NS_IKE_ESYNTAX);
    /* Pad length exactly the rest: an empty inner chain (an INFORMATIONAL
     * liveness check looks like this). */
    const uint8_t empty[4] = {0, 0, 0, 3};
    len = seal_raw(gcm, NS_PL_NONE, empty, 4, buf, sizeof(buf));
    assert_int_equal(open_raw(gcm, buf, len, &inner), NS_IKE_OK);
    assert_int_equal(inner.n, 0);
    /* AEAD plaintext needs no alignment: 6 bytes, pad length 0. */
    const uint8_t odd[6] = {0, 0, 0, 5, 'x', 0};
    len = seal_raw(gcm, NS_PL_VENDOR, odd, 6, buf, sizeof(buf));
    assert_int_equal(open_raw(gcm, buf, len, &inner), NS_IKE_OK);
    assert_int_equal(inner.n, 1);
    assert_int_equal(inner.p[0].body_len, 1);
    /* An inner chain whose length disagrees with the plaintext. */
    const uint8_t longer[4] = {0, 0, 0, 9};
    uint8_t pt[8];
    memcpy(pt, longer, 4);
    memcpy(pt + 4, "\0\0\0\0", 4);
    len = seal_raw(gcm, NS_PL_VENDOR, pt, 8, buf, sizeof(buf));
    assert_int_equal(open_raw(gcm, buf, len, &inner), NS_IKE_ETRUNC);
    /* SK inside SK. */
    const uint8_t nested[8] = {0, 0, 0, 4, 0, 0, 0, 3};
    len = seal_raw(gcm, NS_PL_SK, nested, 8, buf, sizeof(buf));
    assert_int_equal(open_raw(gcm, buf, len, &inner), NS_IKE_ESYNTAX);
    /* An unknown critical payload inside is reported like outside. */
    const uint8_t crit[8] = {0, 0x80, 0, 4, 0, 0, 0, 3};
    len = seal_raw(gcm, 200, crit, 8, buf, sizeof(buf));
    assert_int_equal(open_raw(gcm, buf, len, &inner), NS_IKE_ECRITICAL);
    assert_int_equal(inner.unsupported_critical, 200);

    /* CBC ciphertext must be whole blocks; the check comes before the MAC. */
    uint8_t pt17[17] = {0};
    len = seal_raw(gcm, NS_PL_NONE, pt17, 17, buf, sizeof(buf)); /* layout only */
    size_t short_len = NS_IKE_HEADER_LEN + 4 + 16 + 17 + 16;
    ns_put_u32(buf + 24, (uint32_t)short_len);
    ns_put_u16(buf + 30, (uint16_t)(short_len - NS_IKE_HEADER_LEN));
    assert_int_equal(open_raw(cbc, buf, (int)short_len, &inner), NS_IKE_ELENGTH);
    /* An SK body too small for IV, pad length and ICV. */
    size_t tiny = NS_IKE_HEADER_LEN + 4 + 8 + 16; /* no room for the pad length byte */
    ns_put_u32(buf + 24, (uint32_t)tiny);
    ns_put_u16(buf + 30, (uint16_t)(tiny - NS_IKE_HEADER_LEN));
    assert_int_equal(open_raw(gcm, buf, (int)tiny, &inner), NS_IKE_ELENGTH);

    /* A view that is not the last payload of this message is refused. */
    len = build_ike_auth(gcm, buf, sizeof(buf));
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &h, &pl), NS_IKE_OK);
    struct ns_ike_payload sk = pl.p[0];
    sk.body_len--;
    assert_int_equal(ns_ike_sk_open(gcm, buf, (size_t)len, &sk, &inner), NS_IKE_ESYNTAX);
    sk = pl.p[0];
    sk.type = NS_PL_VENDOR;
    assert_int_equal(ns_ike_sk_open(gcm, buf, (size_t)len, &sk, &inner), NS_IKE_ESYNTAX);
    ns_cipher_free(gcm);
    ns_cipher_free(cbc);
}

static void sk_builder_misuse(void **state)
{
    (void)state;
    struct ns_cipher *c = suite_cipher(&suites[0]);
    uint8_t buf[256], iv[8] = {0};
    struct ns_ike_builder b;
    /* Seal without begin. */
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_sk_seal(&b, c);
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ESYNTAX);
    /* Begin without seal. */
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_sk_begin(&b, c, iv);
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ESYNTAX);
    /* A payload after the seal. */
    ns_ike_build_begin(&b, buf, sizeof(buf), &hdr_auth);
    ns_ike_sk_begin(&b, c, iv);
    ns_ike_sk_seal(&b, c);
    ns_ike_add_vendor(&b, iv, 1);
    assert_int_equal(ns_ike_build_finish(&b), NS_IKE_ESYNTAX);
    /* Too small a buffer at every size is ENOSPACE, never a misuse. */
    int full = build_ike_auth(c, buf, sizeof(buf));
    assert_true(full > 0);
    for (int cap = 0; cap < full; cap++)
        assert_int_equal(build_ike_auth(c, buf, (size_t)cap), NS_IKE_ENOSPACE);
    ns_cipher_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_round_trip),
        cmocka_unit_test(sa_round_trip),
        cmocka_unit_test(sa_attribute_formats),
        cmocka_unit_test(ke_round_trip),
        cmocka_unit_test(nonce_round_trip_and_bounds),
        cmocka_unit_test(notify_round_trip),
        cmocka_unit_test(id_round_trip),
        cmocka_unit_test(auth_round_trip),
        cmocka_unit_test(ts_round_trip),
        cmocka_unit_test(cp_round_trip),
        cmocka_unit_test(delete_round_trip),
        cmocka_unit_test(vendor_and_cert_round_trip),
        cmocka_unit_test(ike_sa_init_message),
        cmocka_unit_test(unknown_noncritical_payload_skipped),
        cmocka_unit_test(unknown_critical_payload_reported),
        cmocka_unit_test(builder_reports_errors),
        cmocka_unit_test(sk_round_trip_every_suite),
        cmocka_unit_test(cp_ip6_prefix_or_address),
        cmocka_unit_test(sk_tamper_any_byte),
        cmocka_unit_test(sk_bad_contents),
        cmocka_unit_test(sk_builder_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
