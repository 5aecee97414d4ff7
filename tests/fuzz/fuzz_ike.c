/* libFuzzer target for the IKEv2 message codec (src/ike/msg*.c, payload*.c,
 * sk.c): everything that reads a datagram from the network.
 *
 * Input: byte 0 selects what the rest is.
 *   bit 0 = 0, "raw": a datagram. Header, payload chain, the typed parser of
 *     every payload found, and, for an SK payload, ns_ike_sk_open with the
 *     fixed test key, then the typed parsers on the inner payloads.
 *   bit 0 = 1, "sealed": byte 1 is the first inner payload type and the
 *     rest is the plaintext inner chain. It is sealed with the fixed key
 *     into an IKE_AUTH message through the builder, then parsed and opened
 *     like a received one, so the fuzzer reaches the inner payload parsing
 *     and the padding checks behind a valid ICV.
 *   bits 1-2: the suite (0 AES-GCM-16-128, 1 AES-CBC-256 + HMAC-SHA2-256-128,
 *     2 ChaCha20-Poly1305, 3 as 0).
 * Every structured payload that parses is rebuilt with the builder and
 * parsed again; a difference aborts (a parse/build disagreement).
 * Certificates (X7): an X.509 CERT payload's data goes through the
 * certificate parser and the name checks, and its names as printed for the
 * log must be printable ASCII, as an ID payload's identity printed (R15:
 * a peer's bytes never reach a log line raw); an AUTH payload's data through
 * the RFC 7427 AlgorithmIdentifier decoder and the signature check of its
 * method (14, 9, 10, 11, 1) against fixed keys of each type.
 *
 * The seed corpus in tests/fuzz/corpus/ike/ is written by this same file
 * compiled as a program (so the key and format cannot drift):
 *   cc -DFUZZ_IKE_SEEDGEN -Isrc tests/fuzz/fuzz_ike.c <gcc build>/libnatsec_core.a \
 *      -lcrypto -o /tmp/seedgen && /tmp/seedgen tests/fuzz/corpus/ike [fixture.hex ...]
 * Hex fixtures given on the command line become raw-mode seeds; for one with
 * an SK payload and a NAME.plain.hex beside it (tests/fixtures/strongswan),
 * the plaintext also becomes a sealed-mode seed. A PEM certificate given
 * (tests/fixtures/certs/NAME.pem) becomes raw-cert-NAME: its DER in a CERT
 * payload with a CERTREQ and AUTH payloads of methods 14 (RFC 7427, with
 * an AlgorithmIdentifier), 9 and 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "conf/conf.h"
#include "crypto/pubkey.h"
#include "crypto/x509.h"
#include "ike/msg.h"

#define MODE_SEALED 0x01
#define N_SUITES 3

static struct ns_cipher *suite_cipher(unsigned suite)
{
    static struct ns_cipher *cache[N_SUITES];
    static const struct {
        enum ns_encr_alg encr;
        unsigned bits;
        enum ns_integ_alg integ;
    } s[N_SUITES] = {
        {NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE},
        {NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128},
        {NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE},
    };
    suite %= N_SUITES;
    if (!cache[suite]) {
        /* Fixed test keys: 0x00 0x01 ... for encryption, 0x80 ... for
         * integrity. Kept for the whole run: the contexts are reusable. */
        uint8_t ek[NS_CIPHER_MAX_ENCR_KEY], ik[NS_CIPHER_MAX_INTEG_KEY];
        for (unsigned i = 0; i < sizeof(ek); i++)
            ek[i] = (uint8_t)i;
        for (unsigned i = 0; i < sizeof(ik); i++)
            ik[i] = (uint8_t)(0x80 + i);
        cache[suite] = ns_cipher_new(s[suite].encr, s[suite].bits, s[suite].integ, ek,
                                     ns_encr_keymat_len(s[suite].encr, s[suite].bits), ik,
                                     ns_integ_key_len(s[suite].integ));
        if (!cache[suite])
            abort();
    }
    return cache[suite];
}

static const struct ns_ike_header fuzz_hdr = {
    .spi_i = 0x0102030405060708ull,
    .spi_r = 0x1112131415161718ull,
    .exchange = NS_IKE_AUTH,
    .flags = NS_IKE_FLAG_INITIATOR,
    .msg_id = 1,
};

static uint8_t rebuild_buf[NS_IKE_MAX_MSG + 64];

/* Builds a message holding only what add() writes and returns its single
 * payload, or aborts: a parsed structure must always be buildable. */
static const struct ns_ike_payload *rebuilt(void (*add)(struct ns_ike_builder *, const void *),
                                            const void *arg, struct ns_ike_payloads *pl)
{
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, rebuild_buf, sizeof(rebuild_buf), &fuzz_hdr);
    add(&b, arg);
    int len = ns_ike_build_finish(&b);
    struct ns_ike_header h;
    if (len < 0 || ns_ike_parse_message(rebuild_buf, (size_t)len, &h, pl) != NS_IKE_OK ||
        pl->n != 1)
        abort();
    return &pl->p[0];
}

static void add_sa(struct ns_ike_builder *b, const void *arg)
{
    ns_ike_add_sa(b, arg);
}

static void add_cp(struct ns_ike_builder *b, const void *arg)
{
    ns_ike_add_cp(b, arg);
}

struct ts_arg {
    uint8_t type;
    const struct ns_ike_ts_list *list;
};

static void add_ts(struct ns_ike_builder *b, const void *arg)
{
    const struct ts_arg *t = arg;
    ns_ike_add_ts(b, t->type, t->list->ts, t->list->n);
}

static void check_sa(const struct ns_ike_sa *sa)
{
    static struct ns_ike_sa again;
    struct ns_ike_payloads pl;
    if (ns_ike_parse_sa(rebuilt(add_sa, sa, &pl), &again) != NS_IKE_OK || again.n != sa->n)
        abort();
    for (unsigned i = 0; i < sa->n; i++) {
        const struct ns_ike_sa_proposal *x = &sa->prop[i], *y = &again.prop[i];
        if ((x->num && x->num != y->num) || x->protocol != y->protocol ||
            x->spi_len != y->spi_len || memcmp(x->spi, y->spi, x->spi_len) != 0 || x->n_t != y->n_t)
            abort();
        for (unsigned j = 0; j < x->n_t; j++)
            if (x->t[j].type != y->t[j].type || x->t[j].id != y->t[j].id ||
                x->t[j].key_len != y->t[j].key_len)
                abort();
    }
}

static void check_ts(uint8_t type, const struct ns_ike_ts_list *ts)
{
    static struct ns_ike_ts_list again;
    struct ns_ike_payloads pl;
    struct ts_arg arg = {type, ts};
    if (ns_ike_parse_ts(rebuilt(add_ts, &arg, &pl), &again) != NS_IKE_OK || again.n != ts->n)
        abort();
    for (unsigned i = 0; i < ts->n; i++) {
        const struct ns_ts *x = &ts->ts[i], *y = &again.ts[i];
        if (x->ip_proto != y->ip_proto || x->port_lo != y->port_lo || x->port_hi != y->port_hi ||
            memcmp(&x->lo, &y->lo, sizeof(x->lo)) != 0 ||
            memcmp(&x->hi, &y->hi, sizeof(x->hi)) != 0)
            abort();
    }
}

static void check_cp(const struct ns_ike_cp *cp)
{
    static struct ns_ike_cp again;
    struct ns_ike_payloads pl;
    if (ns_ike_parse_cp(rebuilt(add_cp, cp, &pl), &again) != NS_IKE_OK || again.n != cp->n ||
        again.type != cp->type)
        abort();
    for (unsigned i = 0; i < cp->n; i++)
        if (again.attr[i].type != cp->attr[i].type || again.attr[i].len != cp->attr[i].len ||
            memcmp(again.attr[i].data, cp->attr[i].data, cp->attr[i].len) != 0)
            abort();
}

/* Text for a log line: printable ASCII only, else abort. */
static void check_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            abort();
}

/* An ID payload's identity as the log prints it. */
static void check_id(const struct ns_ike_id *id)
{
    struct ns_conf_id cid;
    char buf[NS_CONF_ID_STRLEN];
    if (id->len > sizeof(cid.data))
        return;
    memset(&cid, 0, sizeof(cid));
    cid.type = id->type;
    memcpy(cid.data, id->data, id->len);
    cid.len = id->len;
    check_printable(ns_conf_id_str(&cid, buf));
}

/* A CERT payload's certificate: parsed, then asked for its names. */
static void check_cert(const struct ns_ike_cert *c)
{
    if (c->encoding != NS_CERT_X509_SIGNATURE)
        return;
    X509 *x = ns_x509_parse(c->data, c->len);
    if (!x)
        return;
    char buf[NS_X509_STRLEN];
    check_printable(ns_x509_subject_str(x, buf));
    check_printable(ns_x509_issuer_str(x, buf));
    check_printable(ns_x509_alt_names_str(x, buf));
    static const uint8_t name[] = "alice@corp.example";
    ns_x509_has_name(x, NS_X509_NAME_EMAIL, name, sizeof(name) - 1);
    ns_x509_has_name(x, NS_X509_NAME_DN, c->data, c->len);
    static const uint8_t kid[20] = {0x23, 0xf7};
    ns_x509_has_name(x, NS_X509_NAME_KEYID, kid, sizeof(kid));
    ns_x509_pubkey(x);
    ns_x509_free(x);
}

/* An AUTH payload's signature checked as its method says, with a fixed key
 * of the type the method needs (a forgery never verifies). */
static void check_auth_signature(const struct ns_ike_auth *a)
{
    static EVP_PKEY *ec, *rsa;
    if (!ec) {
        ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        if (!ec || !rsa)
            abort();
    }
    static const uint8_t octets[] = "signed octets";
    const uint8_t *parts[1] = {octets};
    const size_t lens[1] = {sizeof(octets)};
    struct ns_sig_scheme s = {NS_SIG_ECDSA, NS_HASH_SHA256, 0, 0};
    int v = 0;
    if (a->method == NS_AUTH_DIGITAL_SIGNATURE && a->len >= 1) {
        size_t alen = a->data[0] < a->len - 1 ? a->data[0] : a->len - 1;
        if (ns_sig_algid_decode(a->data + 1, alen, &s) == 0)
            v = ns_pkey_verify(s.kind == NS_SIG_ECDSA ? ec : rsa, &s, false, parts, lens, 1,
                               a->data + 1 + alen, a->len - 1 - alen);
    } else if (a->method == NS_AUTH_ECDSA_256) {
        v = ns_pkey_verify(ec, &s, true, parts, lens, 1, a->data, a->len);
    } else if (a->method == NS_AUTH_RSA_SIG) {
        s.kind = NS_SIG_RSA_PKCS1;
        v = ns_pkey_verify(rsa, &s, false, parts, lens, 1, a->data, a->len);
    }
    if (v == 1)
        abort(); /* nobody holds these keys */
}

/* Every typed parser on every payload; results must be NS_IKE_* codes. */
static void parse_payloads(const struct ns_ike_payloads *pl)
{
    static struct ns_ike_sa sa;
    static struct ns_ike_ts_list ts;
    static struct ns_ike_cp cp;
    for (unsigned i = 0; i < pl->n; i++) {
        const struct ns_ike_payload *p = &pl->p[i];
        struct ns_ike_ke ke;
        struct ns_ike_notify n;
        struct ns_ike_id id;
        struct ns_ike_auth a;
        struct ns_ike_delete d;
        struct ns_ike_cert c;
        const uint8_t *nonce;
        size_t nonce_len;
        int err = NS_IKE_OK;
        switch (p->type) {
        case NS_PL_SA:
            err = ns_ike_parse_sa(p, &sa);
            if (!err)
                check_sa(&sa);
            break;
        case NS_PL_KE:
            err = ns_ike_parse_ke(p, &ke);
            break;
        case NS_PL_NONCE:
            err = ns_ike_parse_nonce(p, &nonce, &nonce_len);
            break;
        case NS_PL_NOTIFY:
            err = ns_ike_parse_notify(p, &n);
            if (!err && ns_ike_find_notify(pl, n.type) == NULL)
                abort();
            break;
        case NS_PL_IDI:
        case NS_PL_IDR:
            err = ns_ike_parse_id(p, &id);
            if (!err)
                check_id(&id);
            break;
        case NS_PL_AUTH:
            err = ns_ike_parse_auth(p, &a);
            if (!err)
                check_auth_signature(&a);
            break;
        case NS_PL_TSI:
        case NS_PL_TSR:
            err = ns_ike_parse_ts(p, &ts);
            if (!err)
                check_ts(p->type, &ts);
            break;
        case NS_PL_CP:
            err = ns_ike_parse_cp(p, &cp);
            if (!err)
                check_cp(&cp);
            break;
        case NS_PL_DELETE:
            err = ns_ike_parse_delete(p, &d);
            break;
        case NS_PL_CERT:
        case NS_PL_CERTREQ:
            err = ns_ike_parse_cert(p, &c);
            if (!err && p->type == NS_PL_CERT)
                check_cert(&c);
            break;
        default:
            break;
        }
        if (err > 0 || err < NS_IKE_ECRYPTO)
            abort();
    }
}

/* Parses a received message in place (msg is writable for SK). */
static void receive(struct ns_cipher *c, uint8_t *msg, size_t len)
{
    struct ns_ike_header h;
    struct ns_ike_payloads pl, inner;
    int err = ns_ike_parse_message(msg, len, &h, &pl);
    if (err != NS_IKE_OK && err != NS_IKE_ECRITICAL)
        return;
    parse_payloads(&pl);
    const struct ns_ike_payload *sk = ns_ike_find(&pl, NS_PL_SK);
    if (!sk)
        return;
    err = ns_ike_sk_open(c, msg, len, sk, &inner);
    if (err == NS_IKE_OK || err == NS_IKE_ECRITICAL)
        parse_payloads(&inner);
}

/* Seals first/plaintext into an IKE_AUTH message in out; its length or -1. */
static int seal(struct ns_cipher *c, uint8_t first, const uint8_t *pt, size_t len, uint8_t *out,
                size_t cap)
{
    static const uint8_t iv[NS_CIPHER_MAX_IV] = {0x1f};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, out, cap, &fuzz_hdr);
    ns_ike_sk_begin(&b, c, iv);
    size_t sk_np = b.np_off; /* the SK header's Next Payload: the first inner type */
    ns_write_bytes(&b.w, pt, len);
    ns_write_u16_at(&b.w, sk_np, (uint16_t)(first << 8));
    ns_ike_sk_seal(&b, c);
    return ns_ike_build_finish(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t work[NS_IKE_MAX_MSG + 256];
    if (size < 1 || size > NS_IKE_MAX_MSG)
        return 0;
    uint8_t mode = data[0];
    struct ns_cipher *c = suite_cipher((mode >> 1) & 3);
    if (!(mode & MODE_SEALED)) {
        /* An exact-size copy, so ASan sees any read past the datagram. */
        uint8_t *msg = malloc(size - 1 ? size - 1 : 1);
        if (!msg)
            return 0;
        memcpy(msg, data + 1, size - 1);
        receive(c, msg, size - 1);
        free(msg);
        return 0;
    }
    if (size < 2)
        return 0;
    int len = seal(c, data[1], data + 2, size - 2, work, sizeof(work));
    if (len <= 0)
        return 0;
    uint8_t *msg = malloc((size_t)len);
    if (!msg)
        return 0;
    memcpy(msg, work, (size_t)len);
    struct ns_ike_header h;
    struct ns_ike_payloads pl, inner;
    /* What the builder sealed must parse and authenticate. */
    if (ns_ike_parse_message(msg, (size_t)len, &h, &pl) != NS_IKE_OK || pl.n != 1 ||
        ns_ike_sk_open(c, msg, (size_t)len, &pl.p[0], &inner) == NS_IKE_EAUTH)
        abort();
    memcpy(msg, work, (size_t)len);
    receive(c, msg, (size_t)len);
    free(msg);
    return 0;
}

#ifdef FUZZ_IKE_SEEDGEN
/* ---- seed corpus generator (see the top of the file) ---- */

static void put(const char *dir, const char *name, uint8_t mode, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&mode, 1, 1, f) != 1 || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* The inner payloads of an IKE_AUTH request (also used in the clear). */
static void add_auth_payloads(struct ns_ike_builder *b)
{
    static struct ns_ike_sa sa;
    sa.n = 1;
    sa.prop[0] = (struct ns_ike_sa_proposal){.num = 1, .protocol = 3, .spi_len = 4, .n_t = 3};
    memcpy(sa.prop[0].spi, "\xca\xfe\x00\x01", 4);
    sa.prop[0].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 20, 128, false};
    sa.prop[0].t[1] = (struct ns_ike_transform){NS_TRANS_DH, 31, 0, false};
    sa.prop[0].t[2] = (struct ns_ike_transform){NS_TRANS_ESN, 0, 0, false};
    static struct ns_ike_cp cp;
    cp.type = NS_CFG_REQUEST;
    cp.n = 2;
    cp.attr[0] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_ADDRESS, NULL, 0};
    cp.attr[1] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP6_ADDRESS, NULL, 0};
    struct ns_ts ts[2] = {{.ip_proto = 0, .port_hi = 65535}, {.ip_proto = 6, .port_lo = 80}};
    ts[0].lo.family = ts[0].hi.family = AF_INET;
    memset(ts[0].hi.a, 0xff, 4);
    ts[1].lo.family = ts[1].hi.family = AF_INET6;
    ts[1].port_hi = 443;
    memset(ts[1].hi.a, 0xff, 16);
    uint8_t mac[32], spis[8];
    fill(mac, sizeof(mac), 3);
    fill(spis, sizeof(spis), 4);
    ns_ike_add_id(b, NS_PL_IDI, NS_ID_RFC822_ADDR, (const uint8_t *)"alice@corp.example", 18);
    ns_ike_add_id(b, NS_PL_IDR, NS_ID_FQDN, (const uint8_t *)"vpn.corp.example", 16);
    ns_ike_add_auth(b, NS_AUTH_SHARED_KEY_MIC, mac, sizeof(mac));
    ns_ike_add_cp(b, &cp);
    ns_ike_add_sa(b, &sa);
    ns_ike_add_ts(b, NS_PL_TSI, ts, 2);
    ns_ike_add_ts(b, NS_PL_TSR, ts, 1);
    ns_ike_add_notify(b, 0, NULL, 0, NS_N_INITIAL_CONTACT, NULL, 0);
    ns_ike_add_notify(b, 3, spis, 4, NS_N_REKEY_SA, NULL, 0);
    ns_ike_add_delete(b, 3, 4, spis, 2);
    ns_ike_add_cert(b, NS_PL_CERT, 4, mac, 20);
    ns_ike_add_cert(b, NS_PL_CERTREQ, 4, mac, 20);
    ns_ike_add_vendor(b, mac, 16);
}

static int build_sa_init(uint8_t *buf, size_t cap)
{
    static struct ns_ike_sa sa;
    sa.n = 2;
    sa.prop[0] = (struct ns_ike_sa_proposal){.num = 1, .protocol = 1, .n_t = 4};
    sa.prop[0].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 20, 128, false};
    sa.prop[0].t[1] = (struct ns_ike_transform){NS_TRANS_ENCR, 28, 0, false};
    sa.prop[0].t[2] = (struct ns_ike_transform){NS_TRANS_PRF, 5, 0, false};
    sa.prop[0].t[3] = (struct ns_ike_transform){NS_TRANS_DH, 31, 0, false};
    sa.prop[1] = (struct ns_ike_sa_proposal){.num = 2, .protocol = 1, .n_t = 4};
    sa.prop[1].t[0] = (struct ns_ike_transform){NS_TRANS_ENCR, 12, 256, false};
    sa.prop[1].t[1] = (struct ns_ike_transform){NS_TRANS_INTEG, 12, 0, false};
    sa.prop[1].t[2] = (struct ns_ike_transform){NS_TRANS_PRF, 5, 0, false};
    sa.prop[1].t[3] = (struct ns_ike_transform){NS_TRANS_DH, 19, 0, false};
    uint8_t ke[32], nonce[32], nat[20];
    fill(ke, 32, 1);
    fill(nonce, 32, 2);
    fill(nat, 20, 5);
    struct ns_ike_header h = fuzz_hdr;
    h.exchange = NS_IKE_SA_INIT;
    h.spi_r = 0;
    h.msg_id = 0;
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, cap, &h);
    ns_ike_add_sa(&b, &sa);
    ns_ike_add_ke(&b, 31, ke, 32);
    ns_ike_add_nonce(&b, nonce, 32);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_NAT_DETECTION_SOURCE_IP, nat, 20);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_NAT_DETECTION_DESTINATION_IP, nat, 20);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE, nonce, 16);
    ns_ike_build_open(&b, 201, false); /* an unknown payload to skip */
    ns_ike_build_close(&b);
    return ns_ike_build_finish(&b);
}

/* A hex fixture ('#' comment lines, then hex digits) as bytes. */
static size_t read_hex(const char *path, uint8_t *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char line[4096];
    size_t n = 0;
    int hi = -1;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        for (char *p = line; *p; p++) {
            int v = (*p >= '0' && *p <= '9')   ? *p - '0'
                    : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
                    : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10
                                               : -1;
            if (v < 0)
                continue;
            if (hi < 0) {
                hi = v;
            } else if (n < cap) {
                out[n++] = (uint8_t)(hi << 4 | v);
                hi = -1;
            }
        }
    }
    fclose(f);
    return n;
}

/* "PREFIX-strongswan-[SET-]NAME" for .../strongswan/[SET/]NAME.hex. */
static void seed_name(const char *prefix, const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *set = "";
    size_t set_len = 0;
    if (base - path >= 5 && strncmp(base - 5, "/cbc/", 5) == 0) {
        set = "cbc-";
        set_len = 4;
    }
    snprintf(out, cap, "%s-strongswan-%.*s%.*s", prefix, (int)set_len, set, (int)(strlen(base) - 4),
             base);
}

#include <openssl/pem.h>

/* raw-cert-NAME: see the top of the file. */
static void cert_seed(const char *dir, const char *pem)
{
    FILE *f = fopen(pem, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;
    if (f)
        fclose(f);
    if (n <= 0) {
        fprintf(stderr, "%s: no certificate\n", pem);
        exit(1);
    }
    static uint8_t buf[NS_IKE_MAX_MSG];
    uint8_t sig[256], req[20];
    fill(sig, sizeof(sig), 9);
    fill(req, sizeof(req), 8);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &fuzz_hdr);
    ns_ike_add_id(&b, NS_PL_IDI, NS_ID_RFC822_ADDR, (const uint8_t *)"alice@corp.example", 18);
    ns_ike_add_cert(&b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, der, (size_t)n);
    ns_ike_add_cert(&b, NS_PL_CERTREQ, NS_CERT_X509_SIGNATURE, req, sizeof(req));
    static const uint8_t ecdsa256[] = {12,   0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
    uint8_t ds[sizeof(ecdsa256) + 72];
    memcpy(ds, ecdsa256, sizeof(ecdsa256));
    ds[sizeof(ecdsa256)] = 0x30; /* an Ecdsa-Sig-Value's start */
    ds[sizeof(ecdsa256) + 1] = 70;
    memcpy(ds + sizeof(ecdsa256) + 2, sig, 70);
    ns_ike_add_auth(&b, NS_AUTH_DIGITAL_SIGNATURE, ds, sizeof(ds));
    ns_ike_add_auth(&b, NS_AUTH_ECDSA_256, sig, 64);
    ns_ike_add_auth(&b, NS_AUTH_RSA_SIG, sig, 128);
    int len = ns_ike_build_finish(&b);
    const char *base = strrchr(pem, '/');
    char name[256];
    snprintf(name, sizeof(name), "raw-cert-%.*s", (int)(strlen(base ? base + 1 : pem) - 4),
             base ? base + 1 : pem);
    put(dir, name, 0, buf, (size_t)len);
    OPENSSL_free(der);
    X509_free(x);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s corpus-dir [fixture.hex ...]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    static uint8_t buf[NS_IKE_MAX_MSG], pt[NS_IKE_MAX_MSG];
    int len = build_sa_init(buf, sizeof(buf));
    put(dir, "raw-sa-init", 0, buf, (size_t)len);

    /* The IKE_AUTH payloads in the clear (raw), and as an inner chain. */
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &fuzz_hdr);
    add_auth_payloads(&b);
    len = ns_ike_build_finish(&b);
    put(dir, "raw-auth-clear", 0, buf, (size_t)len);
    pt[0] = buf[16]; /* first payload type */
    memcpy(pt + 1, buf + NS_IKE_HEADER_LEN, (size_t)len - NS_IKE_HEADER_LEN);
    for (unsigned s = 0; s < N_SUITES; s++) {
        char name[64];
        snprintf(name, sizeof(name), "sealed-auth-suite%u", s);
        put(dir, name, (uint8_t)(MODE_SEALED | s << 1), pt, (size_t)len - NS_IKE_HEADER_LEN + 1);
        /* And sealed for real with the fixed key, as a raw datagram. */
        struct ns_cipher *c = suite_cipher(s);
        uint8_t iv[NS_CIPHER_MAX_IV] = {0x2a};
        uint8_t sealed[NS_IKE_MAX_MSG];
        ns_ike_build_begin(&b, sealed, sizeof(sealed), &fuzz_hdr);
        ns_ike_sk_begin(&b, c, iv);
        add_auth_payloads(&b);
        ns_ike_sk_seal(&b, c);
        int slen = ns_ike_build_finish(&b);
        if (slen < 0)
            return 1;
        /* The seed must open with the target's key, or it is useless. */
        static uint8_t check[NS_IKE_MAX_MSG];
        memcpy(check, sealed, (size_t)slen);
        struct ns_ike_header h;
        struct ns_ike_payloads pl, inner;
        if (ns_ike_parse_message(check, (size_t)slen, &h, &pl) != NS_IKE_OK ||
            ns_ike_sk_open(c, check, (size_t)slen, &pl.p[0], &inner) != NS_IKE_OK || inner.n < 10)
            return 1;
        snprintf(name, sizeof(name), "raw-auth-sk-suite%u", s);
        put(dir, name, (uint8_t)(s << 1), sealed, (size_t)slen);
    }
    for (int i = 2; i < argc; i++) {
        if (strstr(argv[i], ".pem")) {
            cert_seed(dir, argv[i]);
            continue;
        }
        size_t n = read_hex(argv[i], buf, sizeof(buf));
        char name[256];
        seed_name("raw", argv[i], name, sizeof(name));
        put(dir, name, 0, buf, n);

        /* Its SK plaintext, as an inner chain to seal. */
        struct ns_ike_header h;
        struct ns_ike_payloads pl;
        if (ns_ike_parse_message(buf, n, &h, &pl) != NS_IKE_OK)
            return 1;
        const struct ns_ike_payload *sk = ns_ike_find(&pl, NS_PL_SK);
        char plain[512];
        snprintf(plain, sizeof(plain), "%.*s.plain.hex", (int)(strlen(argv[i]) - 4), argv[i]);
        FILE *f = fopen(plain, "r");
        if (!sk || !f)
            continue;
        fclose(f);
        pt[0] = sk->next_payload;
        size_t pn = read_hex(plain, pt + 1, sizeof(pt) - 1);
        seed_name("sealed", argv[i], name, sizeof(name));
        put(dir, name, MODE_SEALED, pt, pn + 1);
    }
    return 0;
}
#endif
