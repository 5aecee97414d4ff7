/* Public-key signatures and RFC 7427 AlgorithmIdentifiers: see pubkey.h. */
#include "crypto/pubkey.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/fuzz_memo.h"

#define MAX_SALT 512 /* more than any RSA key natsec takes could hold */

size_t ns_hash_len(enum ns_hash_alg h)
{
    switch (h) {
    case NS_HASH_SHA1:
        return 20;
    case NS_HASH_SHA256:
        return 32;
    case NS_HASH_SHA384:
        return 48;
    case NS_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

const char *ns_hash_name(enum ns_hash_alg h)
{
    static const char *const names[] = {"none", "SHA-1", "SHA-256", "SHA-384", "SHA-512"};
    return (unsigned)h < sizeof(names) / sizeof(names[0]) ? names[h] : "unknown";
}

static const EVP_MD *hash_md(enum ns_hash_alg h)
{
    switch (h) {
    case NS_HASH_SHA1:
        return EVP_sha1();
    case NS_HASH_SHA256:
        return EVP_sha256();
    case NS_HASH_SHA384:
        return EVP_sha384();
    case NS_HASH_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

static int hash_nid(enum ns_hash_alg h)
{
    static const int nids[] = {NID_undef, NID_sha1, NID_sha256, NID_sha384, NID_sha512};
    return (unsigned)h < sizeof(nids) / sizeof(nids[0]) ? nids[h] : NID_undef;
}

static enum ns_hash_alg hash_of_nid(int nid)
{
    for (enum ns_hash_alg h = NS_HASH_SHA1; h <= NS_HASH_SHA512; h++)
        if (hash_nid(h) == nid)
            return h;
    return NS_HASH_NONE;
}

/* ---- keys ---- */

enum ns_key_type ns_pkey_type(const EVP_PKEY *key)
{
    if (!key)
        return NS_KEY_NONE;
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
        return NS_KEY_RSA;
    if (id != EVP_PKEY_EC)
        return NS_KEY_OTHER;
    char group[64];
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL))
        return NS_KEY_OTHER;
    switch (OBJ_sn2nid(group)) {
    case NID_X9_62_prime256v1:
        return NS_KEY_EC_P256;
    case NID_secp384r1:
        return NS_KEY_EC_P384;
    case NID_secp521r1:
        return NS_KEY_EC_P521;
    default:
        return NS_KEY_OTHER;
    }
}

const char *ns_pkey_str(const EVP_PKEY *key, char buf[NS_SIG_STRLEN])
{
    switch (ns_pkey_type(key)) {
    case NS_KEY_RSA:
        snprintf(buf, NS_SIG_STRLEN, "RSA-%d", EVP_PKEY_get_bits(key));
        break;
    case NS_KEY_EC_P256:
        snprintf(buf, NS_SIG_STRLEN, "ECDSA P-256");
        break;
    case NS_KEY_EC_P384:
        snprintf(buf, NS_SIG_STRLEN, "ECDSA P-384");
        break;
    case NS_KEY_EC_P521:
        snprintf(buf, NS_SIG_STRLEN, "ECDSA P-521");
        break;
    case NS_KEY_NONE:
        snprintf(buf, NS_SIG_STRLEN, "no key");
        break;
    default:
        snprintf(buf, NS_SIG_STRLEN, "%s (unsupported)", EVP_PKEY_get0_type_name(key));
        break;
    }
    return buf;
}

bool ns_sig_fits_key(const struct ns_sig_scheme *s, enum ns_key_type t)
{
    if (!hash_md(s->hash))
        return false;
    switch (s->kind) {
    case NS_SIG_ECDSA:
        return t == NS_KEY_EC_P256 || t == NS_KEY_EC_P384 || t == NS_KEY_EC_P521;
    case NS_SIG_RSA_PKCS1:
        return t == NS_KEY_RSA;
    case NS_SIG_RSA_PSS:
        return t == NS_KEY_RSA && hash_md(s->mgf1) && s->salt_len <= MAX_SALT;
    default:
        return false;
    }
}

const char *ns_sig_scheme_str(const struct ns_sig_scheme *s, char buf[NS_SIG_STRLEN])
{
    static const char *const digits[] = {"?", "1", "256", "384", "512"};
    const char *d = (unsigned)s->hash < 5 ? digits[s->hash] : "?";
    switch (s->kind) {
    case NS_SIG_ECDSA:
        snprintf(buf, NS_SIG_STRLEN, "ecdsa-with-SHA%s", d);
        break;
    case NS_SIG_RSA_PKCS1:
        snprintf(buf, NS_SIG_STRLEN, "sha%sWithRSAEncryption", d);
        break;
    case NS_SIG_RSA_PSS:
        snprintf(buf, NS_SIG_STRLEN, "RSASSA-PSS(%s, MGF1-%s, salt %u)", ns_hash_name(s->hash),
                 ns_hash_name(s->mgf1), s->salt_len);
        break;
    default:
        snprintf(buf, NS_SIG_STRLEN, "none");
        break;
    }
    return buf;
}

/* ---- AlgorithmIdentifier (RFC 7427 3, Appendix A) ---- */

/* The signature OID of (kind, hash) for ECDSA and PKCS#1, NID_undef if none. */
static int sig_nid(enum ns_sig_kind kind, enum ns_hash_alg h)
{
    static const int ecdsa[] = {NID_undef, NID_ecdsa_with_SHA1, NID_ecdsa_with_SHA256,
                                NID_ecdsa_with_SHA384, NID_ecdsa_with_SHA512};
    static const int pkcs1[] = {NID_undef, NID_sha1WithRSAEncryption, NID_sha256WithRSAEncryption,
                                NID_sha384WithRSAEncryption, NID_sha512WithRSAEncryption};
    if ((unsigned)h > NS_HASH_SHA512)
        return NID_undef;
    return kind == NS_SIG_ECDSA ? ecdsa[h] : kind == NS_SIG_RSA_PKCS1 ? pkcs1[h] : NID_undef;
}

/* A hash AlgorithmIdentifier with NULL parameters, as RFC 4055 and the
 * RFC 7427 examples write them. */
static X509_ALGOR *hash_algor(enum ns_hash_alg h)
{
    X509_ALGOR *a = X509_ALGOR_new();
    if (a && !X509_ALGOR_set0(a, OBJ_nid2obj(hash_nid(h)), V_ASN1_NULL, NULL)) {
        X509_ALGOR_free(a);
        a = NULL;
    }
    return a;
}

/* Sets alg's parameters to the DER of der[0..len) as a SEQUENCE. */
static bool set_seq_param(X509_ALGOR *alg, int nid, const unsigned char *der, int len)
{
    ASN1_STRING *str = ASN1_STRING_new();
    if (!str || !ASN1_STRING_set(str, der, len) ||
        !X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_SEQUENCE, str)) {
        ASN1_STRING_free(str);
        return false;
    }
    return true;
}

/* RSASSA-PSS-params (RFC 4055 3.1) with every value that is not the
 * default, so the DER is the canonical one. */
static bool pss_params(const struct ns_sig_scheme *s, X509_ALGOR *alg)
{
    RSA_PSS_PARAMS *p = RSA_PSS_PARAMS_new();
    unsigned char *mgf_der = NULL, *der = NULL;
    bool ok = false;
    if (!p)
        return false;
    if (s->hash != NS_HASH_SHA1 && !(p->hashAlgorithm = hash_algor(s->hash)))
        goto out;
    if (s->mgf1 != NS_HASH_SHA1) {
        X509_ALGOR *mh = hash_algor(s->mgf1);
        int n = mh ? i2d_X509_ALGOR(mh, &mgf_der) : -1;
        X509_ALGOR_free(mh);
        if (n <= 0 || !(p->maskGenAlgorithm = X509_ALGOR_new()) ||
            !set_seq_param(p->maskGenAlgorithm, NID_mgf1, mgf_der, n))
            goto out;
    }
    if (s->salt_len != 20 &&
        (!(p->saltLength = ASN1_INTEGER_new()) || !ASN1_INTEGER_set(p->saltLength, s->salt_len)))
        goto out;
    int n = i2d_RSA_PSS_PARAMS(p, &der);
    ok = n > 0 && set_seq_param(alg, NID_rsassaPss, der, n);
out:
    OPENSSL_free(mgf_der);
    OPENSSL_free(der);
    RSA_PSS_PARAMS_free(p);
    return ok;
}

int ns_sig_algid_encode(const struct ns_sig_scheme *s, uint8_t out[NS_SIG_ALGID_MAX], size_t *len)
{
    if (!hash_md(s->hash) || (s->kind == NS_SIG_RSA_PSS && !hash_md(s->mgf1)))
        return -1;
    X509_ALGOR *alg = X509_ALGOR_new();
    unsigned char *der = NULL;
    int rc = -1, n = -1;
    if (!alg)
        return -1;
    bool ok;
    if (s->kind == NS_SIG_RSA_PSS)
        ok = pss_params(s, alg);
    else if (sig_nid(s->kind, s->hash) != NID_undef)
        /* ECDSA takes no parameters (RFC 5758 3.2), PKCS#1 a NULL (RFC 4055 5). */
        ok = X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid(s->kind, s->hash)),
                             s->kind == NS_SIG_ECDSA ? V_ASN1_UNDEF : V_ASN1_NULL, NULL);
    else
        ok = false;
    if (ok)
        n = i2d_X509_ALGOR(alg, &der);
    if (n > 0 && n <= NS_SIG_ALGID_MAX) {
        memcpy(out, der, (size_t)n);
        *len = (size_t)n;
        rc = 0;
    }
    OPENSSL_free(der);
    X509_ALGOR_free(alg);
    return rc;
}

/* A hash AlgorithmIdentifier: its hash, when its parameters are NULL or
 * absent (both are met in the wild). */
static enum ns_hash_alg hash_of_algor(const X509_ALGOR *a)
{
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, a);
    if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
        return NS_HASH_NONE;
    return hash_of_nid(OBJ_obj2nid(obj));
}

/* The SEQUENCE parameter of an AlgorithmIdentifier as DER, or NULL. */
static const unsigned char *seq_param(const X509_ALGOR *a, int want_nid, long *len)
{
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, a);
    if (OBJ_obj2nid(obj) != want_nid || ptype != V_ASN1_SEQUENCE || !pval)
        return NULL;
    *len = ASN1_STRING_length(pval);
    return ASN1_STRING_get0_data(pval);
}

/* RSASSA-PSS-params, defaults filled in (SHA-1, MGF1-SHA-1, salt 20). */
static int pss_decode(const X509_ALGOR *alg, struct ns_sig_scheme *out)
{
    long len = 0;
    const unsigned char *p = seq_param(alg, NID_rsassaPss, &len);
    const unsigned char *end = p ? p + len : NULL;
    RSA_PSS_PARAMS *pss = p ? d2i_RSA_PSS_PARAMS(NULL, &p, len) : NULL;
    int rc = -1;
    if (!pss || p != end)
        goto out;
    out->kind = NS_SIG_RSA_PSS;
    out->hash = pss->hashAlgorithm ? hash_of_algor(pss->hashAlgorithm) : NS_HASH_SHA1;
    out->mgf1 = NS_HASH_SHA1;
    if (pss->maskGenAlgorithm) {
        const unsigned char *m = seq_param(pss->maskGenAlgorithm, NID_mgf1, &len);
        const unsigned char *mend = m ? m + len : NULL;
        X509_ALGOR *mh = m ? d2i_X509_ALGOR(NULL, &m, len) : NULL;
        out->mgf1 = mh && m == mend ? hash_of_algor(mh) : NS_HASH_NONE;
        X509_ALGOR_free(mh);
    }
    int64_t salt = 20;
    if (pss->saltLength && !ASN1_INTEGER_get_int64(&salt, pss->saltLength))
        goto out;
    int64_t trailer = 1;
    if (pss->trailerField && !ASN1_INTEGER_get_int64(&trailer, pss->trailerField))
        goto out;
    if (out->hash == NS_HASH_NONE || out->mgf1 == NS_HASH_NONE || salt < 0 || salt > MAX_SALT ||
        trailer != 1)
        goto out;
    out->salt_len = (unsigned)salt;
    rc = 0;
out:
    RSA_PSS_PARAMS_free(pss);
    return rc;
}

int ns_sig_algid_decode(const uint8_t *der, size_t len, struct ns_sig_scheme *out)
{
    memset(out, 0, sizeof(*out));
    if (!der || len == 0 || len > NS_SIG_ALGID_MAX * 4)
        return -1;
    const unsigned char *p = der;
    X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, (long)len);
    int rc = -1;
    if (!alg || p != der + len)
        goto out;
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    int nid = OBJ_obj2nid(obj);
    if (nid == NID_rsassaPss) {
        rc = pss_decode(alg, out);
        goto out;
    }
    for (enum ns_hash_alg h = NS_HASH_SHA1; h <= NS_HASH_SHA512; h++) {
        for (enum ns_sig_kind k = NS_SIG_ECDSA; k <= NS_SIG_RSA_PKCS1; k++) {
            /* NULL or absent parameters are both accepted for either kind. */
            if (sig_nid(k, h) == nid && (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL)) {
                out->kind = k;
                out->hash = h;
                rc = 0;
                goto out;
            }
        }
    }
out:
    X509_ALGOR_free(alg);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    ERR_clear_error();
    return rc;
}

/* ---- signing and verifying ---- */

/* The size of r and of s in a raw ECDSA signature: the order's bytes. */
static size_t ec_half(const EVP_PKEY *key)
{
    return ((size_t)EVP_PKEY_get_bits(key) + 7) / 8;
}

/* A digest context set up for the scheme; NULL when the key does not fit. */
static EVP_MD_CTX *sig_ctx(EVP_PKEY *key, const struct ns_sig_scheme *s, bool sign)
{
    if (!ns_sig_fits_key(s, ns_pkey_type(key)))
        return NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (!ctx)
        return NULL;
    int ok = sign ? EVP_DigestSignInit(ctx, &pctx, hash_md(s->hash), NULL, key)
                  : EVP_DigestVerifyInit(ctx, &pctx, hash_md(s->hash), NULL, key);
    if (ok == 1 && s->kind == NS_SIG_RSA_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, hash_md(s->mgf1)) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)s->salt_len) == 1;
    else if (ok == 1 && s->kind == NS_SIG_RSA_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    if (ok != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static bool update(EVP_MD_CTX *ctx, const uint8_t *const *parts, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lens[i] && EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1)
            return false;
    return true;
}

/* DER Ecdsa-Sig-Value to r | s, each half bytes. */
static bool ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t half, uint8_t *out, size_t cap)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    bool ok = false;
    if (sig && 2 * half <= cap) {
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(sig, &r, &s);
        ok = BN_bn2binpad(r, out, (int)half) == (int)half &&
             BN_bn2binpad(s, out + half, (int)half) == (int)half;
    }
    ECDSA_SIG_free(sig);
    return ok;
}

/* r | s to DER into *der (OPENSSL_malloc'ed); its length, or -1. */
static int ecdsa_raw_to_der(const uint8_t *raw, size_t len, size_t half, unsigned char **der)
{
    if (len != 2 * half)
        return -1;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)half, NULL), *s = BN_bin2bn(raw + half, (int)half, NULL);
    int n = -1;
    if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* owned by sig now */
        n = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return n;
}

static int pkey_sign(EVP_PKEY *key, const struct ns_sig_scheme *s, bool raw,
                     const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *sig,
                     size_t cap, size_t *sig_len)
{
    EVP_MD_CTX *ctx = sig_ctx(key, s, true);
    uint8_t *tmp = NULL;
    size_t len = 0;
    int rc = -1;
    if (!ctx || !update(ctx, parts, lens, n) || EVP_DigestSignFinal(ctx, NULL, &len) != 1 ||
        !(tmp = OPENSSL_malloc(len)) || EVP_DigestSignFinal(ctx, tmp, &len) != 1)
        goto out;
    if (s->kind == NS_SIG_ECDSA && raw) {
        size_t half = ec_half(key);
        if (!ecdsa_der_to_raw(tmp, len, half, sig, cap))
            goto out;
        *sig_len = 2 * half;
    } else {
        if (len > cap)
            goto out;
        memcpy(sig, tmp, len);
        *sig_len = len;
    }
    rc = 0;
out:
    OPENSSL_free(tmp);
    EVP_MD_CTX_free(ctx);
    if (rc != 0)
        ERR_clear_error();
    return rc;
}

#ifdef NATSEC_FUZZ
/* Fuzz builds: through the fuzz targets' memo when it is on (fuzz_memo.h),
 * keyed by the key, the scheme, the data and the random stream's state.
 * Only successes are kept. */
NS_MEMO_BOOKKEEPING static int pkey_sign_memo(EVP_PKEY *key, const struct ns_sig_scheme *s,
                                              bool raw, const uint8_t *const *parts,
                                              const size_t *lens, size_t n, uint8_t *sig,
                                              size_t cap, size_t *sig_len)
{
    if (!key || !s || !sig || !sig_len || !ns_memo_begin(NS_MEMO_SIGN))
        return pkey_sign(key, s, raw, parts, lens, n, sig, cap, sig_len);
    ns_memo_add_pkey(key);
    ns_memo_add_u64(s->kind);
    ns_memo_add_u64(s->hash);
    ns_memo_add_u64(s->mgf1);
    ns_memo_add_u64(s->salt_len);
    ns_memo_add_u64(raw);
    ns_memo_add_u64(cap);
    for (size_t i = 0; i < n; i++)
        ns_memo_add(parts[i], lens[i]);
    struct ns_memo_result r = {0};
    if (ns_memo_find(&r)) {
        memcpy(sig, r.out, r.out_len);
        *sig_len = r.out_len;
    } else {
        r.rc = pkey_sign(key, s, raw, parts, lens, n, sig, cap, sig_len);
        r.out = sig;
        r.out_len = r.rc == 0 ? *sig_len : 0;
        if (r.rc == 0)
            ns_memo_keep(&r);
    }
    ns_memo_end();
    return r.rc;
}
#endif

int ns_pkey_sign(EVP_PKEY *key, const struct ns_sig_scheme *s, bool raw,
                 const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *sig,
                 size_t cap, size_t *sig_len)
{
#ifdef NATSEC_FUZZ
    return pkey_sign_memo(key, s, raw, parts, lens, n, sig, cap, sig_len);
#else
    return pkey_sign(key, s, raw, parts, lens, n, sig, cap, sig_len);
#endif
}

int ns_pkey_verify(EVP_PKEY *key, const struct ns_sig_scheme *s, bool raw,
                   const uint8_t *const *parts, const size_t *lens, size_t n, const uint8_t *sig,
                   size_t sig_len)
{
    EVP_MD_CTX *ctx = sig_ctx(key, s, false);
    unsigned char *der = NULL;
    int rc = -1;
    if (!ctx || !update(ctx, parts, lens, n))
        goto out;
    if (s->kind == NS_SIG_ECDSA && raw) {
        int dn = ecdsa_raw_to_der(sig, sig_len, ec_half(key), &der);
        if (dn <= 0) {
            rc = 0; /* not the size the curve needs: a bad signature */
            goto out;
        }
        sig = der;
        sig_len = (size_t)dn;
    }
    /* 1 valid; 0 or a negative value (a malformed DER signature) invalid. */
    rc = EVP_DigestVerifyFinal(ctx, sig, sig_len) == 1 ? 1 : 0;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
