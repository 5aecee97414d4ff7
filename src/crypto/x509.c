/* X.509 credentials, verification and names: see x509.h. */
#include "crypto/x509.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/hash.h"
#include "crypto/pubkey.h"
#include "util/escape.h"

struct ns_x509_creds {
    X509 *chain[NS_X509_MAX_CHAIN];
    uint8_t *der[NS_X509_MAX_CHAIN];
    size_t der_len[NS_X509_MAX_CHAIN];
    unsigned n_chain;
    EVP_PKEY *key;
    X509_STORE *store;
    unsigned n_ca;
    uint8_t certreq[NS_X509_MAX_CAS * NS_SHA1_LEN];
    size_t certreq_len;
};

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    ERR_clear_error();
    return -1;
}

struct ns_x509_creds *ns_x509_creds_new(void)
{
    return calloc(1, sizeof(struct ns_x509_creds));
}

void ns_x509_creds_free(struct ns_x509_creds *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n_chain; i++) {
        X509_free(c->chain[i]);
        OPENSSL_free(c->der[i]);
    }
    EVP_PKEY_free(c->key);
    X509_STORE_free(c->store);
    free(c);
}

/* A BIO on a regular file, or NULL with a reason. */
static BIO *open_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fail(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(err, errlen, "'%s' is not a regular file%s", path, "");
        return NULL;
    }
    BIO *b = BIO_new_file(path, "r");
    if (!b)
        fail(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    return b;
}

/* Every certificate of a PEM file into out (at most cap); how many, or -1
 * on a PEM block that is a broken certificate. */
static int read_certs(BIO *b, X509 **out, unsigned cap, unsigned *n)
{
    *n = 0;
    for (;;) {
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x)
            break;
        if (*n == cap) {
            X509_free(x);
            return -2;
        }
        out[(*n)++] = x;
    }
    /* Running out of PEM blocks is the normal end of the file. */
    unsigned long e = ERR_peek_last_error();
    bool eof = !e || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
    ERR_clear_error();
    return eof ? 0 : -1;
}

int ns_x509_creds_load_cert(struct ns_x509_creds *c, const char *path, char *err, size_t errlen)
{
    BIO *b = open_file(path, err, errlen);
    if (!b)
        return -1;
    X509 *certs[NS_X509_MAX_CHAIN];
    unsigned n;
    int rc = read_certs(b, certs, NS_X509_MAX_CHAIN, &n);
    BIO_free(b);
    if (rc == 0 && n == 0)
        return fail(err, errlen, "no PEM certificate in '%s'%s", path, "");
    if (rc != 0) {
        for (unsigned i = 0; i < n; i++)
            X509_free(certs[i]);
        return fail(err, errlen,
                    rc == -2 ? "'%s' holds more than 8 certificates%s"
                             : "'%s' holds a PEM certificate that does not parse%s",
                    path, "");
    }
    for (unsigned i = 0; i < c->n_chain; i++) {
        X509_free(c->chain[i]);
        OPENSSL_free(c->der[i]);
    }
    c->n_chain = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(certs[i], &der);
        c->chain[i] = certs[i];
        c->der[i] = der;
        c->der_len[i] = len > 0 ? (size_t)len : 0;
        c->n_chain++;
        if (len <= 0)
            return fail(err, errlen, "cannot encode the certificate of '%s'%s", path, "");
    }
    return 0;
}

/* Never ask for a passphrase on a terminal: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int ns_x509_creds_load_key(struct ns_x509_creds *c, const char *path, char *err, size_t errlen)
{
    BIO *b = open_file(path, err, errlen);
    if (!b)
        return -1;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    BIO_free(b);
    if (!k)
        return fail(err, errlen, "no PEM private key in '%s'%s", path,
                    " (or an encrypted one: natsec takes only unencrypted keys)");
    enum ns_key_type t = ns_pkey_type(k);
    if (t == NS_KEY_OTHER) {
        char kt[NS_SIG_STRLEN];
        fail(err, errlen, "'%s': key type %s; natsec signs with RSA or ECDSA P-256/384/521", path,
             ns_pkey_str(k, kt));
        EVP_PKEY_free(k);
        return -1;
    }
    EVP_PKEY_free(c->key);
    c->key = k;
    return 0;
}

/* Adds the certificates of one PEM file as trust anchors; how many, or -1. */
static int add_ca_file(struct ns_x509_creds *c, const char *path, bool must, char *err,
                       size_t errlen)
{
    BIO *b = open_file(path, err, errlen);
    if (!b)
        return -1;
    X509 *certs[NS_X509_MAX_CAS];
    unsigned n;
    int rc = read_certs(b, certs, NS_X509_MAX_CAS - c->n_ca, &n);
    BIO_free(b);
    if (rc == -2)
        snprintf(err, errlen, "more than %d CA certificates", NS_X509_MAX_CAS);
    else if (rc != 0)
        fail(err, errlen, "'%s' holds a PEM certificate that does not parse%s", path, "");
    else if (n == 0 && must)
        fail(err, errlen, "no PEM certificate in '%s'%s", path, "");
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        unsigned char *spki = NULL;
        int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certs[i]), &spki);
        const uint8_t *parts[1] = {spki};
        size_t lens[1] = {len > 0 ? (size_t)len : 0};
        if (len <= 0 || !X509_STORE_add_cert(c->store, certs[i]) ||
            ns_sha1_parts(parts, lens, 1, c->certreq + c->certreq_len) != 0)
            rc = -1;
        else
            c->certreq_len += NS_SHA1_LEN;
        OPENSSL_free(spki);
        if (rc != 0)
            fail(err, errlen, "cannot add the CA certificates of '%s'%s", path, "");
    }
    for (unsigned i = 0; i < n; i++)
        X509_free(certs[i]); /* the store keeps its own reference */
    if (rc != 0)
        return -1;
    c->n_ca += n;
    return (int)n;
}

int ns_x509_creds_load_ca(struct ns_x509_creds *c, const char *path, char *err, size_t errlen)
{
    X509_STORE_free(c->store);
    c->store = X509_STORE_new();
    c->n_ca = 0;
    c->certreq_len = 0;
    if (!c->store)
        return fail(err, errlen, "out of memory%s%s", "", "");
    /* A CA given as trust anchor may be an intermediate: the chain ends
     * at any configured certificate, as in strongSwan's x509ca. */
    X509_STORE_set_flags(c->store, X509_V_FLAG_PARTIAL_CHAIN);
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return add_ca_file(c, path, true, err, errlen) < 0 ? -1 : 0;
    DIR *d = opendir(path);
    if (!d)
        return fail(err, errlen, "cannot open directory '%s': %s", path, strerror(errno));
    int rc = 0;
    for (struct dirent *de; rc == 0 && (de = readdir(d));) {
        char file[4096];
        struct stat fst;
        if (de->d_name[0] == '.' ||
            snprintf(file, sizeof(file), "%s/%s", path, de->d_name) >= (int)sizeof(file) ||
            stat(file, &fst) != 0 || !S_ISREG(fst.st_mode))
            continue;
        rc = add_ca_file(c, file, false, err, errlen) < 0 ? -1 : 0;
    }
    closedir(d);
    if (rc == 0 && c->n_ca == 0)
        return fail(err, errlen, "no PEM CA certificate in directory '%s'%s", path, "");
    return rc;
}

static const char *time_str(const ASN1_TIME *t, char *buf, size_t cap)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, cap, "(bad time)");
    return buf;
}

int ns_x509_creds_check(const struct ns_x509_creds *c, unsigned flags, char *err, size_t errlen)
{
    char subj[NS_X509_STRLEN], when[64];
    if (!c->n_chain || !c->key)
        return fail(err, errlen, "a certificate needs its key and a key its certificate%s%s", "",
                    "");
    X509 *x = c->chain[0];
    ns_x509_subject_str(x, subj);
    if (flags & NS_X509_UNCHECKED)
        return 0;
    if (X509_check_private_key(x, c->key) != 1)
        return fail(err, errlen, "the key is not the one of the certificate '%s'%s", subj, "");
    if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0)
        return fail(err, errlen, "the certificate '%s' is not valid before %s", subj,
                    time_str(X509_get0_notBefore(x), when, sizeof(when)));
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
        return fail(err, errlen, "the certificate '%s' expired on %s", subj,
                    time_str(X509_get0_notAfter(x), when, sizeof(when)));
    return 0;
}

bool ns_x509_creds_has_cert(const struct ns_x509_creds *c)
{
    return c && c->n_chain > 0;
}

bool ns_x509_creds_has_key(const struct ns_x509_creds *c)
{
    return c && c->key;
}

bool ns_x509_creds_has_ca(const struct ns_x509_creds *c)
{
    return c && c->store && c->n_ca > 0;
}

const X509 *ns_x509_creds_cert(const struct ns_x509_creds *c)
{
    return c && c->n_chain ? c->chain[0] : NULL;
}

unsigned ns_x509_creds_chain_len(const struct ns_x509_creds *c)
{
    return c ? c->n_chain : 0;
}

const uint8_t *ns_x509_creds_chain_der(const struct ns_x509_creds *c, unsigned i, size_t *len)
{
    if (!c || i >= c->n_chain)
        return NULL;
    *len = c->der_len[i];
    return c->der[i];
}

EVP_PKEY *ns_x509_creds_key(const struct ns_x509_creds *c)
{
    return c ? c->key : NULL;
}

const uint8_t *ns_x509_creds_certreq(const struct ns_x509_creds *c, size_t *len)
{
    *len = c ? c->certreq_len : 0;
    return *len ? c->certreq : NULL;
}

/* ---- peer certificates ---- */

X509 *ns_x509_parse(const uint8_t *der, size_t len)
{
    if (!der || len == 0 || len > 65535)
        return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

void ns_x509_free(X509 *x)
{
    X509_free(x);
}

int ns_x509_verify(const struct ns_x509_creds *c, X509 *ee, X509 *const *inter, unsigned n,
                   char *why, size_t whylen)
{
    if (!ns_x509_creds_has_ca(c))
        return fail(why, whylen, "no trust anchors configured%s%s", "", "");
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int rc = -1;
    for (unsigned i = 0; untrusted && i < n; i++)
        if (!sk_X509_push(untrusted, inter[i]))
            goto out;
    if (!ctx || !untrusted || X509_STORE_CTX_init(ctx, c->store, ee, untrusted) != 1) {
        fail(why, whylen, "out of memory%s%s", "", "");
        goto out;
    }
    if (X509_verify_cert(ctx) == 1) {
        rc = 0;
        goto out;
    }
    int e = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    X509 *at = X509_STORE_CTX_get_current_cert(ctx);
    char subj[NS_X509_STRLEN];
    snprintf(why, whylen, "%s (depth %d, '%s')", X509_verify_cert_error_string(e), depth,
             at ? ns_x509_subject_str(at, subj) : "?");
out:
    sk_X509_free(untrusted); /* the certificates stay the caller's */
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

EVP_PKEY *ns_x509_pubkey(const X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    ERR_clear_error();
    return k;
}

/* ---- names ---- */

static bool same_text(const ASN1_STRING *s, const uint8_t *data, size_t len)
{
    return s && (size_t)ASN1_STRING_length(s) == len &&
           strncasecmp((const char *)ASN1_STRING_get0_data(s), (const char *)data, len) == 0 &&
           memchr(data, '\0', len) == NULL;
}

static bool alt_name_has(const X509 *x, enum ns_x509_name kind, const uint8_t *data, size_t len)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; names && !found && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        int type;
        const ASN1_STRING *v = GENERAL_NAME_get0_value(g, &type);
        if (type == GEN_DNS && kind == NS_X509_NAME_DNS)
            found = same_text(v, data, len);
        else if (type == GEN_EMAIL && kind == NS_X509_NAME_EMAIL)
            found = same_text(v, data, len);
        else if (type == GEN_IPADD && kind == NS_X509_NAME_IP)
            found = (size_t)ASN1_STRING_length(v) == len &&
                    memcmp(ASN1_STRING_get0_data(v), data, len) == 0;
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    return found;
}

void ns_x509_each_name(const X509 *x, ns_x509_name_fn *fn, void *ctx)
{
    unsigned char *der = NULL;
    int len = i2d_X509_NAME(X509_get_subject_name(x), &der);
    if (len > 0)
        fn(ctx, NS_X509_NAME_DN, der, (size_t)len);
    OPENSSL_free(der);
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        int type;
        const ASN1_STRING *v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &type);
        enum ns_x509_name kind = type == GEN_DNS     ? NS_X509_NAME_DNS
                                 : type == GEN_EMAIL ? NS_X509_NAME_EMAIL
                                 : type == GEN_IPADD ? NS_X509_NAME_IP
                                                     : 0;
        if (kind && v && ASN1_STRING_length(v) > 0)
            fn(ctx, kind, ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v));
    }
    GENERAL_NAMES_free(names);
    const ASN1_OCTET_STRING *kid = X509_get0_subject_key_id((X509 *)x);
    if (kid && ASN1_STRING_length(kid) > 0)
        fn(ctx, NS_X509_NAME_KEYID, ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid));
    ERR_clear_error();
}

bool ns_x509_dn_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    const unsigned char *pa = a, *pb = b;
    X509_NAME *na = d2i_X509_NAME(NULL, &pa, (long)alen);
    X509_NAME *nb = d2i_X509_NAME(NULL, &pb, (long)blen);
    bool eq = na && nb && pa == a + alen && pb == b + blen && X509_NAME_cmp(na, nb) == 0;
    X509_NAME_free(na);
    X509_NAME_free(nb);
    ERR_clear_error();
    return eq;
}

bool ns_x509_has_name(const X509 *x, enum ns_x509_name kind, const uint8_t *data, size_t len)
{
    if (!x || !data || len == 0)
        return false;
    switch (kind) {
    case NS_X509_NAME_DN: {
        const unsigned char *p = data;
        X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);
        bool eq = n && p == data + len && X509_NAME_cmp(n, X509_get_subject_name(x)) == 0;
        X509_NAME_free(n);
        ERR_clear_error();
        return eq;
    }
    case NS_X509_NAME_DNS:
    case NS_X509_NAME_EMAIL:
    case NS_X509_NAME_IP:
        return alt_name_has(x, kind, data, len);
    case NS_X509_NAME_KEYID: {
        const ASN1_OCTET_STRING *kid = X509_get0_subject_key_id((X509 *)x);
        ERR_clear_error();
        return kid && (size_t)ASN1_STRING_length(kid) == len &&
               memcmp(ASN1_STRING_get0_data(kid), data, len) == 0;
    }
    default:
        return false;
    }
}

static const char *name_str(const X509_NAME *n, char buf[NS_X509_STRLEN])
{
    BIO *b = BIO_new(BIO_s_mem());
    /* "C=CH, O=Corp, CN=alice": the values as UTF-8, then every byte that
     * is not printable ASCII escaped (util/escape.h), as a peer chose them. */
    unsigned long flags = XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT |
                          ASN1_STRFLGS_DUMP_UNKNOWN | ASN1_STRFLGS_DUMP_DER;
    char raw[NS_X509_STRLEN];
    int n_out = b && X509_NAME_print_ex(b, n, 0, flags) >= 0 ? BIO_read(b, raw, sizeof(raw)) : -1;
    if (n_out > 0)
        ns_escape(buf, NS_X509_STRLEN, raw, (size_t)n_out);
    else
        snprintf(buf, NS_X509_STRLEN, "(empty)");
    BIO_free(b);
    ERR_clear_error();
    return buf;
}

const char *ns_x509_subject_str(const X509 *x, char buf[NS_X509_STRLEN])
{
    return name_str(X509_get_subject_name(x), buf);
}

const char *ns_x509_issuer_str(const X509 *x, char buf[NS_X509_STRLEN])
{
    return name_str(X509_get_issuer_name(x), buf);
}

/* Appends "kind:value", the value escaped (util/escape.h). */
static void append(char *buf, size_t *o, const char *kind, const uint8_t *v, size_t len)
{
    int n = snprintf(buf + *o, NS_X509_STRLEN - *o, "%s%s:", *o ? ", " : "", kind);
    if (n < 0 || (size_t)n >= NS_X509_STRLEN - *o) {
        *o = NS_X509_STRLEN - 1;
        return;
    }
    *o += (size_t)n;
    ns_escape(buf + *o, NS_X509_STRLEN - *o, v, len);
    *o += strlen(buf + *o);
}

const char *ns_x509_alt_names_str(const X509 *x, char buf[NS_X509_STRLEN])
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        int type;
        const ASN1_STRING *v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &type);
        const uint8_t *d = v && type != GEN_OTHERNAME && type != GEN_X400 && type != GEN_DIRNAME &&
                                   type != GEN_EDIPARTY && type != GEN_RID
                               ? ASN1_STRING_get0_data(v)
                               : NULL;
        size_t len = d ? (size_t)ASN1_STRING_length(v) : 0;
        char ip[INET6_ADDRSTRLEN];
        if (type == GEN_DNS)
            append(buf, &o, "DNS", d, len);
        else if (type == GEN_EMAIL)
            append(buf, &o, "email", d, len);
        else if (type == GEN_URI)
            append(buf, &o, "URI", d, len);
        else if (type == GEN_IPADD && (len == 4 || len == 16) &&
                 inet_ntop(len == 4 ? AF_INET : AF_INET6, d, ip, sizeof(ip)))
            append(buf, &o, "IP", (const uint8_t *)ip, strlen(ip));
        else
            append(buf, &o, "other", NULL, 0);
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    if (!o)
        snprintf(buf, NS_X509_STRLEN, "none");
    return buf;
}
