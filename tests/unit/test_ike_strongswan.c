/* Decoding real IKEv2 messages produced by strongSwan 5.9.8 (fixtures in
 * tests/fixtures/strongswan/, made by make-fixtures.sh there; README.md
 * describes them). Two sets: "." (AES-GCM-16-128, PRF-HMAC-SHA2-256,
 * Curve25519) and "cbc" (AES-CBC-256, HMAC-SHA2-256-128, MODP-2048).
 *
 * Each message is parsed, every SK payload is decrypted and authenticated
 * with the SK_e/SK_a keys charon logged (keys.txt) and compared with
 * charon's logged plaintext (*.plain.hex), and the concrete contents are
 * checked: SPIs, proposals and transforms, KE groups and lengths, nonces,
 * NAT detection hashes, identities, AUTH, CP, traffic selectors, notifies,
 * deletes. Values that change with each regeneration of the fixtures
 * (SPIs, nonces, keys, hashes) are compared with keys.txt, not hard-coded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "ike/msg.h"

#define MAX_FILE 4096

/* ---- fixture files ---- */

static void fixture_path(const char *set, const char *file, char *out, size_t cap)
{
    const char *root = getenv("NATSEC_FIXTURES");
    if (!root)
        fail_msg("NATSEC_FIXTURES is not set (CTest sets it to tests/fixtures)");
    snprintf(out, cap, "%s/strongswan/%s/%s", root, set, file);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the hex digits of s into out; returns the byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v = hexval((unsigned char)*s);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
            continue;
        }
        assert_true(n < cap);
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    assert_true(hi < 0);
    return n;
}

/* A message file: '#' comment lines, then hex. */
static size_t load_hex(const char *set, const char *name, uint8_t *out, size_t cap)
{
    char path[512], line[1024];
    fixture_path(set, name, path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("missing fixture %s", path);
    size_t n = 0;
    while (fgets(line, sizeof(line), f))
        if (line[0] != '#')
            n += unhex(line, out + n, cap - n);
    fclose(f);
    return n;
}

/* A "name = hex" value from the set's keys.txt. */
static size_t key(const char *set, const char *name, uint8_t *out, size_t cap)
{
    char path[512], line[2048];
    fixture_path(set, "keys.txt", path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("missing %s", path);
    size_t nl = strlen(name);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, nl) == 0 && strncmp(line + nl, " = ", 3) == 0) {
            fclose(f);
            return unhex(line + nl + 3, out, cap);
        }
    }
    fclose(f);
    fail_msg("%s has no %s", path, name);
    return 0;
}

static uint64_t key_u64(const char *set, const char *name)
{
    uint8_t b[8];
    assert_int_equal(key(set, name, b, sizeof(b)), 8);
    return ((uint64_t)ns_get_u32(b) << 32) | ns_get_u32(b + 4);
}

/* Asserts that data[0..len) equals the keys.txt value name. */
static void assert_key(const char *set, const char *name, const uint8_t *data, size_t len)
{
    uint8_t want[512];
    size_t n = key(set, name, want, sizeof(want));
    assert_int_equal(len, n);
    assert_memory_equal(data, want, n);
}

/* ---- receiving a fixture message like natsec would ---- */

static bool is_cbc(const char *set)
{
    return strcmp(set, "cbc") == 0;
}

/* The cipher that protects messages from the initiator (i) or responder. */
static struct ns_cipher *ike_cipher(const char *set, bool from_initiator)
{
    uint8_t ek[NS_CIPHER_MAX_ENCR_KEY], ak[NS_CIPHER_MAX_INTEG_KEY];
    size_t ek_len = key(set, from_initiator ? "sk_ei" : "sk_er", ek, sizeof(ek));
    struct ns_cipher *c;
    if (is_cbc(set)) {
        size_t ak_len = key(set, from_initiator ? "sk_ai" : "sk_ar", ak, sizeof(ak));
        c = ns_cipher_new(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128, ek, ek_len, ak, ak_len);
    } else {
        c = ns_cipher_new(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, ek, ek_len, NULL, 0);
    }
    assert_non_null(c);
    return c;
}

struct rx {
    uint8_t buf[MAX_FILE];
    size_t len;
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    struct ns_ike_payloads inner; /* n = 0 when there is no SK */
};

/* Loads set/name.hex, parses it, and when it has an SK payload decrypts it
 * with the keys of the sender's side and compares the plaintext with
 * name.plain.hex. The response flag in the header tells the sender. */
static void receive(const char *set, const char *name, struct rx *m)
{
    char file[128];
    snprintf(file, sizeof(file), "%s.hex", name);
    m->len = load_hex(set, file, m->buf, sizeof(m->buf));
    assert_int_equal(ns_ike_parse_message(m->buf, m->len, &m->h, &m->pl), NS_IKE_OK);
    assert_int_equal(m->h.length, m->len);
    assert_int_equal(m->h.version, NS_IKE_VERSION);
    m->inner.n = 0;
    const struct ns_ike_payload *sk = ns_ike_find(&m->pl, NS_PL_SK);
    if (!sk)
        return;
    bool from_initiator = (m->h.flags & NS_IKE_FLAG_INITIATOR) != 0;
    struct ns_cipher *c = ike_cipher(set, from_initiator);
    const uint8_t *pt = sk->body + ns_cipher_iv_len(c);
    assert_int_equal(ns_ike_sk_open(c, m->buf, m->len, sk, &m->inner), NS_IKE_OK);

    uint8_t plain[MAX_FILE];
    snprintf(file, sizeof(file), "%s.plain.hex", name);
    size_t plain_len = load_hex(set, file, plain, sizeof(plain));
    assert_memory_equal(pt, plain, plain_len);
    /* The inner chain ends exactly where charon's plaintext ends. */
    if (m->inner.n) {
        const struct ns_ike_payload *last = &m->inner.p[m->inner.n - 1];
        assert_ptr_equal(last->body + last->body_len, pt + plain_len);
    } else {
        assert_int_equal(plain_len, 0);
    }
    ns_cipher_free(c);
}

static void assert_types(const struct ns_ike_payloads *pl, const uint8_t *types, unsigned n)
{
    assert_int_equal(pl->n, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(pl->p[i].type, types[i]);
}

static void notify_at(const struct ns_ike_payloads *pl, unsigned i, uint16_t type,
                      struct ns_ike_notify *n)
{
    assert_int_equal(ns_ike_parse_notify(&pl->p[i], n), NS_IKE_OK);
    assert_int_equal(n->type, type);
}

static void assert_transform(const struct ns_ike_transform *t, uint8_t type, uint16_t id,
                             uint16_t key_len)
{
    assert_int_equal(t->type, type);
    assert_int_equal(t->id, id);
    assert_int_equal(t->key_len, key_len);
    assert_false(t->unknown_attr);
}

static void assert_ts_v4(const struct ns_ts *ts, const char *lo, const char *hi)
{
    assert_int_equal(ts->ip_proto, 0);
    assert_int_equal(ts->port_lo, 0);
    assert_int_equal(ts->port_hi, 65535);
    assert_int_equal(ts->lo.family, AF_INET);
    assert_int_equal(ts->hi.family, AF_INET);
    assert_memory_equal(ts->lo.a, lo, 4);
    assert_memory_equal(ts->hi.a, hi, 4);
}

/* The IKE proposal each set offers and gets (3 or 4 transforms). */
static void assert_ike_proposal(const char *set, const struct ns_ike_payload *p)
{
    static struct ns_ike_sa sa;
    assert_int_equal(ns_ike_parse_sa(p, &sa), NS_IKE_OK);
    assert_int_equal(sa.n, 1);
    const struct ns_ike_sa_proposal *pr = &sa.prop[0];
    assert_int_equal(pr->num, 1);
    assert_int_equal(pr->protocol, 1);
    assert_int_equal(pr->spi_len, 0);
    if (is_cbc(set)) {
        assert_int_equal(pr->n_t, 4);
        assert_transform(&pr->t[0], NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
        assert_transform(&pr->t[1], NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
        assert_transform(&pr->t[2], NS_TRANS_PRF, 5, 0);
        assert_transform(&pr->t[3], NS_TRANS_DH, 14, 0);
    } else {
        assert_int_equal(pr->n_t, 3);
        assert_transform(&pr->t[0], NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
        assert_transform(&pr->t[1], NS_TRANS_PRF, 5, 0);
        assert_transform(&pr->t[2], NS_TRANS_DH, 31, 0);
    }
}

/* The ESP proposal: spi is the keys.txt name of the sender's inbound SPI;
 * with_dh for the rekey (PFS), whose proposal carries the DH group. */
static void assert_esp_proposal(const char *set, const struct ns_ike_payload *p, const char *spi,
                                bool with_dh)
{
    static struct ns_ike_sa sa;
    assert_int_equal(ns_ike_parse_sa(p, &sa), NS_IKE_OK);
    assert_int_equal(sa.n, 1);
    const struct ns_ike_sa_proposal *pr = &sa.prop[0];
    assert_int_equal(pr->num, 1);
    assert_int_equal(pr->protocol, 3);
    assert_int_equal(pr->spi_len, 4);
    assert_key(set, spi, pr->spi, 4);
    unsigned i = 0;
    if (is_cbc(set)) {
        assert_int_equal(pr->n_t, with_dh ? 4 : 3);
        assert_transform(&pr->t[i++], NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
        assert_transform(&pr->t[i++], NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    } else {
        assert_int_equal(pr->n_t, with_dh ? 3 : 2);
        assert_transform(&pr->t[i++], NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    }
    if (with_dh)
        assert_transform(&pr->t[i++], NS_TRANS_DH, is_cbc(set) ? 14 : 31, 0);
    assert_transform(&pr->t[i], NS_TRANS_ESN, 0, 0); /* no extended sequence numbers */
}

static void assert_ke(const char *set, const struct ns_ike_payload *p, const char *want)
{
    struct ns_ike_ke ke;
    assert_int_equal(ns_ike_parse_ke(p, &ke), NS_IKE_OK);
    assert_int_equal(ke.group, is_cbc(set) ? 14 : 31);
    assert_int_equal(ke.len, is_cbc(set) ? 256 : 32);
    if (want)
        assert_key(set, want, ke.data, ke.len);
}

static void assert_nonce(const char *set, const struct ns_ike_payload *p, const char *want)
{
    const uint8_t *n;
    size_t len;
    assert_int_equal(ns_ike_parse_nonce(p, &n, &len), NS_IKE_OK);
    assert_int_equal(len, 32);
    if (want)
        assert_key(set, want, n, len);
}

/* ---- the exchanges, for one set ---- */

static const char *const sets[] = {"", "cbc"};

/* R14: NAT detection. */
static void ike_sa_init_request(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 2; s++) {
        const char *set = sets[s];
        static struct rx m;
        receive(set, "ike_sa_init_req", &m);
        assert_true(m.h.spi_i == key_u64(set, "spi_i"));
        assert_true(m.h.spi_r == 0);
        assert_int_equal(m.h.exchange, NS_IKE_SA_INIT);
        assert_int_equal(m.h.flags, NS_IKE_FLAG_INITIATOR);
        assert_int_equal(m.h.msg_id, 0);
        assert_int_equal(m.len, is_cbc(set) ? 464 : 232);
        const uint8_t types[] = {NS_PL_SA,     NS_PL_KE,     NS_PL_NONCE,  NS_PL_NOTIFY,
                                 NS_PL_NOTIFY, NS_PL_NOTIFY, NS_PL_NOTIFY, NS_PL_NOTIFY};
        assert_types(&m.pl, types, sizeof(types));
        assert_ike_proposal(set, &m.pl.p[0]);
        assert_ke(set, &m.pl.p[1], "ke_i");
        assert_nonce(set, &m.pl.p[2], "ni");
        struct ns_ike_notify n;
        notify_at(&m.pl, 3, NS_N_NAT_DETECTION_SOURCE_IP, &n);
        assert_int_equal(n.protocol, 0);
        assert_int_equal(n.spi_len, 0);
        assert_int_equal(n.len, 20);
        assert_key(set, "natd_src_hash_req", n.data, n.len);
        notify_at(&m.pl, 4, NS_N_NAT_DETECTION_DESTINATION_IP, &n);
        assert_int_equal(n.len, 20);
        assert_key(set, "natd_dst_hash_req", n.data, n.len);
        assert_ptr_equal(ns_ike_find_notify(&m.pl, NS_N_NAT_DETECTION_DESTINATION_IP), &m.pl.p[4]);
        notify_at(&m.pl, 5, NS_N_IKEV2_FRAGMENTATION_SUPPORTED, &n);
        assert_int_equal(n.len, 0);
        /* SIGNATURE_HASH_ALGORITHMS (RFC 7427): SHA2-256, -384, -512, Identity. */
        notify_at(&m.pl, 6, NS_N_SIGNATURE_HASH_ALGORITHMS, &n);
        assert_int_equal(n.len, 8);
        assert_memory_equal(n.data, "\x00\x02\x00\x03\x00\x04\x00\x05", 8);
        /* REDIRECT_SUPPORTED (RFC 5685): natsec does not implement it; it
         * is passed through as a notify all the same. */
        notify_at(&m.pl, 7, NS_N_REDIRECT_SUPPORTED, &n);
        assert_int_equal(n.len, 0);
    }
}

/* R14 */
static void ike_sa_init_response(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 2; s++) {
        const char *set = sets[s];
        static struct rx m;
        receive(set, "ike_sa_init_resp", &m);
        assert_true(m.h.spi_i == key_u64(set, "spi_i"));
        assert_true(m.h.spi_r == key_u64(set, "spi_r"));
        assert_int_equal(m.h.exchange, NS_IKE_SA_INIT);
        assert_int_equal(m.h.flags, NS_IKE_FLAG_RESPONSE);
        assert_int_equal(m.h.msg_id, 0);
        assert_int_equal(m.len, is_cbc(set) ? 472 : 240);
        const uint8_t types[] = {NS_PL_SA,     NS_PL_KE,     NS_PL_NONCE,
                                 NS_PL_NOTIFY, NS_PL_NOTIFY, NS_PL_NOTIFY,
                                 NS_PL_NOTIFY, NS_PL_NOTIFY, NS_PL_NOTIFY};
        assert_types(&m.pl, types, sizeof(types));
        assert_ike_proposal(set, &m.pl.p[0]);
        assert_ke(set, &m.pl.p[1], "ke_r");
        assert_nonce(set, &m.pl.p[2], "nr");
        struct ns_ike_notify n;
        notify_at(&m.pl, 3, NS_N_NAT_DETECTION_SOURCE_IP, &n);
        assert_int_equal(n.len, 20);
        notify_at(&m.pl, 4, NS_N_NAT_DETECTION_DESTINATION_IP, &n);
        assert_int_equal(n.len, 20);
        notify_at(&m.pl, 5, NS_N_IKEV2_FRAGMENTATION_SUPPORTED, &n);
        notify_at(&m.pl, 6, NS_N_SIGNATURE_HASH_ALGORITHMS, &n);
        notify_at(&m.pl, 7, NS_N_CHILDLESS_IKEV2_SUPPORTED, &n);
        notify_at(&m.pl, 8, NS_N_MULTIPLE_AUTH_SUPPORTED, &n);
        assert_null(ns_ike_find_notify(&m.pl, NS_N_COOKIE));
    }
}

/* R3: FQDN and RFC 822 identities; R6: the CP request for a virtual IP. */
static void ike_auth_request(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 2; s++) {
        const char *set = sets[s];
        static struct rx m;
        receive(set, "ike_auth_req", &m);
        assert_true(m.h.spi_i == key_u64(set, "spi_i"));
        assert_true(m.h.spi_r == key_u64(set, "spi_r"));
        assert_int_equal(m.h.exchange, NS_IKE_AUTH);
        assert_int_equal(m.h.flags, NS_IKE_FLAG_INITIATOR);
        assert_int_equal(m.h.msg_id, 1);
        assert_int_equal(m.pl.n, 1);
        assert_int_equal(m.pl.p[0].type, NS_PL_SK);
        assert_int_equal(m.pl.p[0].next_payload, NS_PL_IDI);

        const uint8_t types[] = {NS_PL_IDI,    NS_PL_NOTIFY, NS_PL_IDR,    NS_PL_AUTH,
                                 NS_PL_CP,     NS_PL_SA,     NS_PL_TSI,    NS_PL_TSR,
                                 NS_PL_NOTIFY, NS_PL_NOTIFY, NS_PL_NOTIFY, NS_PL_NOTIFY,
                                 NS_PL_NOTIFY};
        assert_types(&m.inner, types, sizeof(types));
        struct ns_ike_id id;
        assert_int_equal(ns_ike_parse_id(&m.inner.p[0], &id), NS_IKE_OK);
        assert_int_equal(id.type, NS_ID_RFC822_ADDR);
        assert_int_equal(id.len, 18);
        assert_memory_equal(id.data, "alice@corp.example", 18);
        assert_int_equal(id.rest_len, 22);
        struct ns_ike_notify n;
        notify_at(&m.inner, 1, NS_N_INITIAL_CONTACT, &n);
        assert_int_equal(ns_ike_parse_id(&m.inner.p[2], &id), NS_IKE_OK);
        assert_int_equal(id.type, NS_ID_FQDN);
        assert_int_equal(id.len, 16);
        assert_memory_equal(id.data, "vpn.corp.example", 16);
        struct ns_ike_auth a;
        assert_int_equal(ns_ike_parse_auth(&m.inner.p[3], &a), NS_IKE_OK);
        assert_int_equal(a.method, NS_AUTH_SHARED_KEY_MIC);
        assert_key(set, "auth_i", a.data, a.len);
        static struct ns_ike_cp cp;
        assert_int_equal(ns_ike_parse_cp(&m.inner.p[4], &cp), NS_IKE_OK);
        assert_int_equal(cp.type, NS_CFG_REQUEST);
        assert_int_equal(cp.n, 1);
        assert_int_equal(cp.attr[0].type, NS_CP_INTERNAL_IP4_ADDRESS);
        assert_int_equal(cp.attr[0].len, 0); /* a request: empty */
        /* The initiator's SA carries its own inbound SPI (g2c). */
        assert_esp_proposal(set, &m.inner.p[5], "esp1_spi_g2c", false);
        static struct ns_ike_ts_list ts;
        assert_int_equal(ns_ike_parse_ts(&m.inner.p[6], &ts), NS_IKE_OK);
        assert_int_equal(ts.n, 1);
        assert_ts_v4(&ts.ts[0], "\0\0\0\0", "\xff\xff\xff\xff");
        assert_int_equal(ns_ike_parse_ts(&m.inner.p[7], &ts), NS_IKE_OK);
        assert_int_equal(ts.n, 1);
        assert_ts_v4(&ts.ts[0], "\xc0\x00\x02\x00", "\xc0\x00\x02\xff");
        notify_at(&m.inner, 8, NS_N_MOBIKE_SUPPORTED, &n);
        notify_at(&m.inner, 9, NS_N_NO_ADDITIONAL_ADDRESSES, &n);
        notify_at(&m.inner, 10, NS_N_MULTIPLE_AUTH_SUPPORTED, &n);
        notify_at(&m.inner, 11, NS_N_EAP_ONLY_AUTHENTICATION, &n);
        notify_at(&m.inner, 12, NS_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED, &n);
    }
}

/* R3; R6: the virtual IP in CP(CFG_REPLY); R9: TSi narrowed to it. */
static void ike_auth_response(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 2; s++) {
        const char *set = sets[s];
        static struct rx m;
        receive(set, "ike_auth_resp", &m);
        assert_int_equal(m.h.exchange, NS_IKE_AUTH);
        assert_int_equal(m.h.flags, NS_IKE_FLAG_RESPONSE);
        assert_int_equal(m.h.msg_id, 1);
        const uint8_t types[] = {NS_PL_IDR, NS_PL_AUTH, NS_PL_CP,     NS_PL_SA,
                                 NS_PL_TSI, NS_PL_TSR,  NS_PL_NOTIFY, NS_PL_NOTIFY};
        assert_types(&m.inner, types, sizeof(types));
        struct ns_ike_id id;
        assert_int_equal(ns_ike_parse_id(&m.inner.p[0], &id), NS_IKE_OK);
        assert_int_equal(id.type, NS_ID_FQDN);
        assert_memory_equal(id.data, "vpn.corp.example", 16);
        struct ns_ike_auth a;
        assert_int_equal(ns_ike_parse_auth(&m.inner.p[1], &a), NS_IKE_OK);
        assert_int_equal(a.method, NS_AUTH_SHARED_KEY_MIC);
        assert_key(set, "auth_r", a.data, a.len);
        static struct ns_ike_cp cp;
        assert_int_equal(ns_ike_parse_cp(&m.inner.p[2], &cp), NS_IKE_OK);
        assert_int_equal(cp.type, NS_CFG_REPLY);
        assert_int_equal(cp.n, 1);
        assert_int_equal(cp.attr[0].type, NS_CP_INTERNAL_IP4_ADDRESS);
        assert_int_equal(cp.attr[0].len, 4);
        assert_memory_equal(cp.attr[0].data, "\x0a\x63\x00\x01", 4); /* 10.99.0.1 */
        assert_esp_proposal(set, &m.inner.p[3], "esp1_spi_c2g", false);
        static struct ns_ike_ts_list ts;
        assert_int_equal(ns_ike_parse_ts(&m.inner.p[4], &ts), NS_IKE_OK);
        assert_int_equal(ts.n, 1);
        assert_ts_v4(&ts.ts[0], "\x0a\x63\x00\x01", "\x0a\x63\x00\x01");
        assert_int_equal(ns_ike_parse_ts(&m.inner.p[5], &ts), NS_IKE_OK);
        assert_ts_v4(&ts.ts[0], "\xc0\x00\x02\x00", "\xc0\x00\x02\xff");
        struct ns_ike_notify n;
        notify_at(&m.inner, 6, NS_N_MOBIKE_SUPPORTED, &n);
        notify_at(&m.inner, 7, NS_N_ADDITIONAL_IP4_ADDRESS, &n);
        assert_int_equal(n.len, 4);
        assert_memory_equal(n.data, "\xc0\x00\x02\x01", 4);
    }
}

/* X3: the CHILD_SA rekey with PFS. */
static void create_child_sa(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 2; s++) {
        const char *set = sets[s];
        static struct rx m;
        receive(set, "create_child_sa_req", &m);
        assert_int_equal(m.h.exchange, NS_CREATE_CHILD_SA);
        assert_int_equal(m.h.msg_id, 2);
        const uint8_t req[] = {NS_PL_NOTIFY, NS_PL_SA, NS_PL_NONCE, NS_PL_KE, NS_PL_TSI, NS_PL_TSR};
        assert_types(&m.inner, req, sizeof(req));
        struct ns_ike_notify n;
        notify_at(&m.inner, 0, NS_N_REKEY_SA, &n);
        assert_int_equal(n.protocol, 3);
        assert_int_equal(n.spi_len, 4);
        assert_key(set, "esp1_spi_g2c", n.spi, 4);
        assert_int_equal(n.len, 0);
        assert_esp_proposal(set, &m.inner.p[1], "esp2_spi_g2c", true);
        assert_nonce(set, &m.inner.p[2], NULL);
        assert_ke(set, &m.inner.p[3], NULL);
        static struct ns_ike_ts_list ts;
        assert_int_equal(ns_ike_parse_ts(&m.inner.p[4], &ts), NS_IKE_OK);
        assert_ts_v4(&ts.ts[0], "\x0a\x63\x00\x01", "\x0a\x63\x00\x01");

        receive(set, "create_child_sa_resp", &m);
        assert_int_equal(m.h.flags, NS_IKE_FLAG_RESPONSE);
        const uint8_t resp[] = {NS_PL_SA, NS_PL_NONCE, NS_PL_KE, NS_PL_TSI, NS_PL_TSR};
        assert_types(&m.inner, resp, sizeof(resp));
        assert_esp_proposal(set, &m.inner.p[0], "esp2_spi_c2g", true);
        assert_nonce(set, &m.inner.p[1], NULL);
        assert_ke(set, &m.inner.p[2], NULL);
    }
}

static void informational_delete(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 2; s++) {
        const char *set = sets[s];
        static struct rx m;
        struct ns_ike_delete d;
        /* The old CHILD SA, each side naming its own inbound SPI. */
        const char *child[2][2] = {{"informational_delete_child_req", "esp1_spi_g2c"},
                                   {"informational_delete_child_resp", "esp1_spi_c2g"}};
        for (unsigned i = 0; i < 2; i++) {
            receive(set, child[i][0], &m);
            assert_int_equal(m.h.exchange, NS_INFORMATIONAL);
            assert_int_equal(m.h.msg_id, 3);
            assert_int_equal(m.inner.n, 1);
            assert_int_equal(ns_ike_parse_delete(&m.inner.p[0], &d), NS_IKE_OK);
            assert_int_equal(d.protocol, 3);
            assert_int_equal(d.spi_len, 4);
            assert_int_equal(d.n_spi, 1);
            assert_key(set, child[i][1], d.spis, 4);
        }
        /* The IKE SA: protocol 1, no SPIs; the answer is empty. */
        receive(set, "informational_delete_ike_req", &m);
        assert_int_equal(m.h.msg_id, 4);
        assert_int_equal(m.inner.n, 1);
        assert_int_equal(ns_ike_parse_delete(&m.inner.p[0], &d), NS_IKE_OK);
        assert_int_equal(d.protocol, 1);
        assert_int_equal(d.spi_len, 0);
        assert_int_equal(d.n_spi, 0);
        receive(set, "informational_delete_ike_resp", &m);
        assert_int_equal(m.pl.n, 1);
        assert_int_equal(m.pl.p[0].next_payload, NS_PL_NONE);
        assert_int_equal(m.inner.n, 0);
    }
}

static const char *const sk_messages[] = {
    "ike_auth_req",
    "ike_auth_resp",
    "create_child_sa_req",
    "create_child_sa_resp",
    "informational_delete_child_req",
    "informational_delete_child_resp",
    "informational_delete_ike_req",
    "informational_delete_ike_resp",
};

/* Any single changed byte of a real message fails the integrity check, and
 * the wrong direction's key does not open it. */
static void tampered_messages_fail(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 2; s++) {
        for (unsigned i = 0; i < sizeof(sk_messages) / sizeof(sk_messages[0]); i++) {
            static struct rx m;
            receive(sets[s], sk_messages[i], &m);
            static uint8_t orig[MAX_FILE];
            char file[128];
            snprintf(file, sizeof(file), "%s.hex", sk_messages[i]);
            size_t len = load_hex(sets[s], file, orig, sizeof(orig));
            bool from_i = (m.h.flags & NS_IKE_FLAG_INITIATOR) != 0;
            struct ns_cipher *c = ike_cipher(sets[s], from_i);
            struct ns_cipher *wrong = ike_cipher(sets[s], !from_i);
            struct ns_ike_payloads inner;
            for (size_t off = 0; off < len; off++) {
                memcpy(m.buf, orig, len);
                assert_int_equal(ns_ike_parse_message(m.buf, len, &m.h, &m.pl), NS_IKE_OK);
                m.buf[off] ^= 0x80;
                assert_int_equal(ns_ike_sk_open(c, m.buf, len, &m.pl.p[0], &inner), NS_IKE_EAUTH);
            }
            memcpy(m.buf, orig, len);
            assert_int_equal(ns_ike_parse_message(m.buf, len, &m.h, &m.pl), NS_IKE_OK);
            assert_int_equal(ns_ike_sk_open(wrong, m.buf, len, &m.pl.p[0], &inner), NS_IKE_EAUTH);
            ns_cipher_free(c);
            ns_cipher_free(wrong);
        }
    }
}

/* Every real message cut short anywhere, or with its header length
 * adjusted to the cut, is refused without a crash. */
static void truncated_messages_fail(void **state)
{
    (void)state;
    const char *all[] = {"ike_sa_init_req", "ike_sa_init_resp", "ike_auth_req", "ike_auth_resp"};
    for (unsigned s = 0; s < 2; s++) {
        for (unsigned i = 0; i < 4; i++) {
            static uint8_t orig[MAX_FILE], work[MAX_FILE];
            char file[128];
            snprintf(file, sizeof(file), "%s.hex", all[i]);
            size_t len = load_hex(sets[s], file, orig, sizeof(orig));
            for (size_t cut = 0; cut < len; cut++) {
                struct ns_ike_header h;
                struct ns_ike_payloads pl;
                memcpy(work, orig, cut);
                assert_true(ns_ike_parse_message(work, cut, &h, &pl) < 0);
                if (cut >= NS_IKE_HEADER_LEN) {
                    ns_put_u32(work + 24, (uint32_t)cut);
                    assert_true(ns_ike_parse_message(work, cut, &h, &pl) < 0);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ike_sa_init_request),    cmocka_unit_test(ike_sa_init_response),
        cmocka_unit_test(ike_auth_request),       cmocka_unit_test(ike_auth_response),
        cmocka_unit_test(create_child_sa),        cmocka_unit_test(informational_delete),
        cmocka_unit_test(tampered_messages_fail), cmocka_unit_test(truncated_messages_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
