/* IKEv2 Diffie-Hellman on OpenSSL 3 EVP_PKEY: groups 31 (X25519), 19
 * (ECP-256), 14 (MODP-2048) and the legacy 2 (MODP-1024). OpenSSL does all the arithmetic; this file
 * converts between the IKEv2 wire encodings and OpenSSL's, and validates
 * the peer's value explicitly so that the checks do not depend on which
 * ones a given OpenSSL version happens to do inside EVP_PKEY_derive. */
#include "crypto/dh.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fuzz_memo.h"

#define X25519_LEN 32
#define ECP256_COORD 32
#define ECP256_POINT (1 + 2 * ECP256_COORD) /* 0x04 | x | y (SEC1) */
#define MODP2048_LEN 256
#define MODP1024_LEN 128
/* MODP-1024 has no named group in OpenSSL 3: its private exponent length
 * is given explicitly, twice the group's 80-bit strength with margin
 * (RFC 3526 8 sizes exponents the same way). */
#define MODP1024_PRIV_BITS 256

struct ns_dh {
    enum ns_dh_group group;
    EVP_PKEY *pkey;
};

/* A MODP group (g = 2): RFC 3526 group 14 is named in OpenSSL 3, RFC 2409
 * group 2 is not and is given by its prime. */
struct modp {
    size_t len;
    BIGNUM *(*prime)(BIGNUM *bn);
    const char *name; /* OpenSSL's group name, or NULL */
};

static const struct modp *modp_of(enum ns_dh_group group)
{
    static const struct modp modp2048 = {MODP2048_LEN, BN_get_rfc3526_prime_2048, "modp_2048"};
    static const struct modp modp1024 = {MODP1024_LEN, BN_get_rfc2409_prime_1024, NULL};
    switch (group) {
    case NS_DH_MODP2048:
        return &modp2048;
    case NS_DH_MODP1024:
        return &modp1024;
    case NS_DH_ECP256:
    case NS_DH_CURVE25519:
        break;
    }
    return NULL;
}

/* The domain parameters of m into bld: the group name, or p and g. */
static bool modp_push_domain(OSSL_PARAM_BLD *bld, const struct modp *m, BIGNUM *p, BIGNUM *g)
{
    if (m->name != NULL)
        return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, m->name, 0) == 1;
    return OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) == 1 &&
           OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) == 1;
}

size_t ns_dh_public_len(enum ns_dh_group group)
{
    switch (group) {
    case NS_DH_MODP1024:
        return MODP1024_LEN;
    case NS_DH_MODP2048:
        return MODP2048_LEN;
    case NS_DH_ECP256:
        return 2 * ECP256_COORD; /* RFC 5903 7: x | y, no SEC1 prefix */
    case NS_DH_CURVE25519:
        return X25519_LEN;
    }
    return 0;
}

size_t ns_dh_shared_len(enum ns_dh_group group)
{
    switch (group) {
    case NS_DH_MODP1024:
        return MODP1024_LEN;
    case NS_DH_MODP2048:
        return MODP2048_LEN;
    case NS_DH_ECP256:
        return ECP256_COORD; /* RFC 5903 7: the x coordinate only */
    case NS_DH_CURVE25519:
        return X25519_LEN;
    }
    return 0;
}

static struct ns_dh *dh_wrap(enum ns_dh_group group, EVP_PKEY *pkey)
{
    if (pkey == NULL)
        return NULL;
    struct ns_dh *dh = malloc(sizeof(*dh));
    if (dh == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    dh->group = group;
    dh->pkey = pkey;
    return dh;
}

/* A key of the given type from OSSL_PARAMs built by bld, or NULL. */
static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* A fresh key pair of MODP group m. A named group carries OpenSSL's own
 * exponent size for its strength; an unnamed one gets MODP1024_PRIV_BITS. */
static EVP_PKEY *modp_generate(const struct modp *m)
{
    EVP_PKEY *params = NULL, *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *p = m->prime(NULL), *g = BN_new();
    if (bld == NULL || p == NULL || g == NULL || BN_set_word(g, 2) != 1 ||
        !modp_push_domain(bld, m, p, g) ||
        (m->name == NULL &&
         OSSL_PARAM_BLD_push_int(bld, OSSL_PKEY_PARAM_DH_PRIV_LEN, MODP1024_PRIV_BITS) != 1))
        goto out;
    params = pkey_from_params("DH", bld, EVP_PKEY_KEY_PARAMETERS);
    ctx = params != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL) : NULL;
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_generate(ctx, &pkey) != 1)
        pkey = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(params);
    BN_free(g);
    BN_free(p);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *dh_generate(enum ns_dh_group group)
{
    switch (group) {
    case NS_DH_CURVE25519:
        return EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    case NS_DH_ECP256:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case NS_DH_MODP1024:
    case NS_DH_MODP2048:
        return modp_generate(modp_of(group));
    }
    return NULL;
}

#ifdef NATSEC_FUZZ
/* Fuzz builds: through the fuzz targets' memo when it is on (fuzz_memo.h). */
NS_MEMO_BOOKKEEPING static EVP_PKEY *dh_generate_memo(enum ns_dh_group group)
{
    if (!ns_memo_begin(NS_MEMO_DH_NEW))
        return dh_generate(group);
    ns_memo_add_u64(group);
    struct ns_memo_result r = {0};
    if (!ns_memo_find(&r)) {
        r.pkey = dh_generate(group);
        ns_memo_keep(&r);
    }
    ns_memo_end();
    return r.pkey;
}
#endif

struct ns_dh *ns_dh_new(enum ns_dh_group group)
{
#ifdef NATSEC_FUZZ
    return dh_wrap(group, dh_generate_memo(group));
#else
    return dh_wrap(group, dh_generate(group));
#endif
}

/* An EC key pair from a private scalar: the public point is computed with
 * OpenSSL's EC_POINT_mul, since EVP_PKEY_fromdata does not derive it. */
static EVP_PKEY *ecp256_from_private(const uint8_t *priv, size_t priv_len)
{
    EVP_PKEY *pkey = NULL;
    uint8_t point[ECP256_POINT];
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pub = group != NULL ? EC_POINT_new(group) : NULL;
    BIGNUM *d = BN_secure_new();
    BN_CTX *bn = BN_CTX_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (priv_len != ECP256_COORD || pub == NULL || d == NULL || bn == NULL || bld == NULL ||
        BN_bin2bn(priv, (int)priv_len, d) == NULL)
        goto out;
    /* The scalar must be in [1, n-1]. */
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0)
        goto out;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (EC_POINT_mul(group, pub, d, NULL, NULL, bn) != 1 ||
        EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point), bn) !=
            sizeof(point))
        goto out;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1)
        goto out;
    pkey = pkey_from_params("EC", bld, EVP_PKEY_KEYPAIR);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_CTX_free(bn);
    BN_clear_free(d);
    EC_POINT_free(pub);
    EC_GROUP_free(group);
    return pkey;
}

/* A key pair of MODP group m from a private exponent x in [2, p-2]; the
 * public value g^x mod p (g = 2) is computed with OpenSSL's BN_mod_exp. */
static EVP_PKEY *modp_from_private(const struct modp *m, const uint8_t *priv, size_t priv_len)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *p = m->prime(NULL);
    BIGNUM *x = BN_secure_new(), *y = BN_new(), *g = BN_new(), *pm1 = BN_new();
    BN_CTX *bn = BN_CTX_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (priv_len == 0 || priv_len > m->len || p == NULL || x == NULL || y == NULL || g == NULL ||
        pm1 == NULL || bn == NULL || bld == NULL || BN_bin2bn(priv, (int)priv_len, x) == NULL ||
        BN_set_word(g, 2) != 1 || BN_sub(pm1, p, BN_value_one()) != 1)
        goto out;
    if (BN_cmp(x, BN_value_one()) <= 0 || BN_cmp(x, pm1) >= 0)
        goto out;
    BN_set_flags(x, BN_FLG_CONSTTIME);
    if (BN_mod_exp_mont_consttime(y, g, x, p, bn, NULL) != 1)
        goto out;
    if (!modp_push_domain(bld, m, p, g) ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, x) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) != 1)
        goto out;
    pkey = pkey_from_params("DH", bld, EVP_PKEY_KEYPAIR);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_CTX_free(bn);
    BN_free(pm1);
    BN_free(g);
    BN_free(y);
    BN_clear_free(x);
    BN_free(p);
    return pkey;
}

struct ns_dh *ns_dh_new_from_private(enum ns_dh_group group, const uint8_t *priv, size_t priv_len)
{
    if (priv == NULL)
        return NULL;
    switch (group) {
    case NS_DH_CURVE25519:
        if (priv_len != X25519_LEN)
            return NULL;
        return dh_wrap(group,
                       EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, priv_len));
    case NS_DH_ECP256:
        return dh_wrap(group, ecp256_from_private(priv, priv_len));
    case NS_DH_MODP1024:
    case NS_DH_MODP2048:
        return dh_wrap(group, modp_from_private(modp_of(group), priv, priv_len));
    }
    return NULL;
}

#ifdef NATSEC_FUZZ
NS_MEMO_BOOKKEEPING void ns_dh_fuzz_share(struct ns_dh *dst, const struct ns_dh *src)
{
    dst->group = src->group;
    dst->pkey = src->pkey;
    if (EVP_PKEY_up_ref(src->pkey) != 1)
        abort();
}

NS_MEMO_BOOKKEEPING struct ns_dh *ns_dh_fuzz_dup(const struct ns_dh *src)
{
    struct ns_dh *d = calloc(1, sizeof(*d));
    if (d)
        ns_dh_fuzz_share(d, src);
    return d;
}
#endif

void ns_dh_free(struct ns_dh *dh)
{
    if (dh == NULL)
        return;
    EVP_PKEY_free(dh->pkey);
    free(dh);
}

enum ns_dh_group ns_dh_group_of(const struct ns_dh *dh)
{
    return dh->group;
}

int ns_dh_public(const struct ns_dh *dh, uint8_t *out, size_t out_len)
{
    const size_t need = ns_dh_public_len(dh->group);
    if (out == NULL || out_len < need)
        return -1;
    switch (dh->group) {
    case NS_DH_CURVE25519: {
        size_t len = need;
        return EVP_PKEY_get_raw_public_key(dh->pkey, out, &len) == 1 && len == need ? 0 : -1;
    }
    case NS_DH_ECP256: {
        uint8_t point[ECP256_POINT];
        size_t len = 0;
        if (EVP_PKEY_get_octet_string_param(dh->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                            sizeof(point), &len) != 1 ||
            len != sizeof(point) || point[0] != POINT_CONVERSION_UNCOMPRESSED)
            return -1;
        memcpy(out, point + 1, need);
        return 0;
    }
    case NS_DH_MODP1024:
    case NS_DH_MODP2048: {
        BIGNUM *y = NULL;
        int rc = -1;
        /* KE data is the value left-padded to the prime's length (RFC 7296
         * 3.4). */
        if (EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_PUB_KEY, &y) == 1 &&
            BN_bn2binpad(y, out, (int)need) == (int)need)
            rc = 0;
        BN_free(y);
        return rc;
    }
    }
    return -1;
}

/* The peer's X25519 public value. Every 32-byte string is a valid input
 * (RFC 7748 5); low-order points are caught by the all-zero check. */
static EVP_PKEY *x25519_peer(const uint8_t *peer)
{
    return EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer, X25519_LEN);
}

/* The peer's ECP-256 point from x | y. OpenSSL's import rejects coordinates
 * not below p and points not on the curve; the quick public check repeats
 * that (and excludes infinity) whatever the import did. */
static EVP_PKEY *ecp256_peer(const uint8_t *peer)
{
    uint8_t point[ECP256_POINT];
    point[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(point + 1, peer, 2 * ECP256_COORD);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) == 1)
        pkey = pkey_from_params("EC", bld, EVP_PKEY_PUBLIC_KEY);
    OSSL_PARAM_BLD_free(bld);
    if (pkey == NULL)
        return NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_public_check_quick(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

/* The peer's value y in MODP group m, which must be in [2, p-2] (RFC 7296
 * and SP 800-56A partial validation): 0, 1 and p-1 would force the shared
 * secret into {0, 1, p-1}. */
static EVP_PKEY *modp_peer(const struct modp *m, const uint8_t *peer)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *p = m->prime(NULL);
    BIGNUM *y = BN_bin2bn(peer, (int)m->len, NULL), *pm1 = BN_new(), *g = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (p == NULL || y == NULL || pm1 == NULL || g == NULL || bld == NULL ||
        BN_set_word(g, 2) != 1 || BN_sub(pm1, p, BN_value_one()) != 1)
        goto out;
    if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0)
        goto out;
    if (modp_push_domain(bld, m, p, g) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) == 1)
        pkey = pkey_from_params("DH", bld, EVP_PKEY_PUBLIC_KEY);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(g);
    BN_free(pm1);
    BN_free(y);
    BN_free(p);
    return pkey;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) /* no early exit: constant time */
        acc |= p[i];
    return acc == 0;
}

/* ns_dh_derive once its arguments are checked: on failure shared is wiped. */
static int dh_derive(struct ns_dh *dh, const uint8_t *peer, uint8_t *shared, size_t shared_len)
{
    const size_t need = ns_dh_shared_len(dh->group);
    EVP_PKEY *theirs = NULL;
    switch (dh->group) {
    case NS_DH_CURVE25519:
        theirs = x25519_peer(peer);
        break;
    case NS_DH_ECP256:
        theirs = ecp256_peer(peer);
        break;
    case NS_DH_MODP1024:
    case NS_DH_MODP2048:
        theirs = modp_peer(modp_of(dh->group), peer);
        break;
    }
    uint8_t secret[NS_DH_MAX_SHARED];
    size_t len = sizeof(secret);
    int rc = -1;
    EVP_PKEY_CTX *ctx = theirs != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, dh->pkey, NULL) : NULL;
    /* Peer validation is done above, explicitly per group. */
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx, theirs, 0) != 1 ||
        EVP_PKEY_derive(ctx, secret, &len) != 1 || len == 0 || len > need)
        goto out;
    /* MODP: OpenSSL strips leading zeros; g^ir is as long as the prime. */
    memset(shared, 0, need - len);
    memcpy(shared + (need - len), secret, len);
    /* RFC 8031 2.2 (and RFC 7748 6.1): an all-zero X25519 result means a
     * low-order peer point and MUST be rejected. */
    if (dh->group == NS_DH_CURVE25519 && all_zero(shared, need))
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc != 0)
        OPENSSL_cleanse(shared, shared_len);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(theirs);
    return rc;
}

#ifdef NATSEC_FUZZ
/* Fuzz builds: through the fuzz targets' memo when it is on (fuzz_memo.h). */
NS_MEMO_BOOKKEEPING static int dh_derive_memo(struct ns_dh *dh, const uint8_t *peer,
                                              uint8_t *shared, size_t shared_len)
{
    if (!ns_memo_begin(NS_MEMO_DH_DERIVE))
        return dh_derive(dh, peer, shared, shared_len);
    const size_t need = ns_dh_shared_len(dh->group);
    ns_memo_add_pkey(dh->pkey);
    ns_memo_add_u64(dh->group);
    ns_memo_add(peer, ns_dh_public_len(dh->group));
    struct ns_memo_result r = {0};
    if (ns_memo_find(&r)) {
        if (r.rc == 0)
            memcpy(shared, r.out, need);
        else
            OPENSSL_cleanse(shared, shared_len);
    } else {
        r.rc = dh_derive(dh, peer, shared, shared_len);
        r.out = r.rc == 0 ? shared : NULL;
        r.out_len = r.rc == 0 ? need : 0;
        ns_memo_keep(&r);
    }
    ns_memo_end();
    return r.rc;
}
#endif

int ns_dh_derive(struct ns_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *shared,
                 size_t shared_len)
{
    if (peer == NULL || shared == NULL || peer_len != ns_dh_public_len(dh->group) ||
        shared_len < ns_dh_shared_len(dh->group))
        return -1;
#ifdef NATSEC_FUZZ
    return dh_derive_memo(dh, peer, shared, shared_len);
#else
    return dh_derive(dh, peer, shared, shared_len);
#endif
}
