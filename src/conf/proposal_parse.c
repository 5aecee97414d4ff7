#include "conf/proposal_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf/value.h"

enum kind { K_ENCR, K_INTEG, K_PRF, K_DH, K_ESN };

struct token {
    const char *name;
    enum kind kind;
    int value;
    unsigned key_bits;
};

/* Every name natsec accepts; the first name of each algorithm is the one
 * ns_proposal_str prints. */
static const struct token tokens[] = {
    {"aes128gcm16", K_ENCR, NS_ENCR_AES_GCM_16, 128},
    {"aes256gcm16", K_ENCR, NS_ENCR_AES_GCM_16, 256},
    {"aes128gcm", K_ENCR, NS_ENCR_AES_GCM_16, 128},
    {"aes256gcm", K_ENCR, NS_ENCR_AES_GCM_16, 256},
    {"chacha20poly1305", K_ENCR, NS_ENCR_CHACHA20_POLY1305, 256},
    {"aes128", K_ENCR, NS_ENCR_AES_CBC, 128},
    {"aes256", K_ENCR, NS_ENCR_AES_CBC, 256},
    {"null", K_ENCR, NS_ENCR_NULL, 0},
    {"3des", K_ENCR, NS_ENCR_3DES, 192},
    {"sha1", K_INTEG, NS_INTEG_HMAC_SHA1_96, 0},
    {"sha", K_INTEG, NS_INTEG_HMAC_SHA1_96, 0},
    {"sha256", K_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0},
    {"sha384", K_INTEG, NS_INTEG_HMAC_SHA2_384_192, 0},
    {"sha512", K_INTEG, NS_INTEG_HMAC_SHA2_512_256, 0},
    {"sha2_256", K_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0},
    {"sha2_384", K_INTEG, NS_INTEG_HMAC_SHA2_384_192, 0},
    {"sha2_512", K_INTEG, NS_INTEG_HMAC_SHA2_512_256, 0},
    {"prfsha1", K_PRF, NS_PRF_HMAC_SHA1, 0},
    {"prfsha256", K_PRF, NS_PRF_HMAC_SHA2_256, 0},
    {"prfsha384", K_PRF, NS_PRF_HMAC_SHA2_384, 0},
    {"prfsha512", K_PRF, NS_PRF_HMAC_SHA2_512, 0},
    {"x25519", K_DH, NS_DH_CURVE25519, 0},
    {"curve25519", K_DH, NS_DH_CURVE25519, 0},
    {"ecp256", K_DH, NS_DH_ECP256, 0},
    {"modp2048", K_DH, NS_DH_MODP2048, 0},
    {"modp1024", K_DH, NS_DH_MODP1024, 0},
    {"esn", K_ESN, 1, 0},
    {"noesn", K_ESN, 0, 0},
};

static const char *const kind_names[] = {"encryption", "integrity", "prf", "DH group", "esn"};

static const struct token *find_token(const char *t)
{
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
        if (strcasecmp(tokens[i].name, t) == 0)
            return &tokens[i];
    return NULL;
}

static enum ns_prf_alg prf_of_integ(enum ns_integ_alg integ)
{
    switch (integ) {
    case NS_INTEG_HMAC_SHA1_96:
        return NS_PRF_HMAC_SHA1;
    case NS_INTEG_HMAC_SHA2_384_192:
        return NS_PRF_HMAC_SHA2_384;
    case NS_INTEG_HMAC_SHA2_512_256:
        return NS_PRF_HMAC_SHA2_512;
    default:
        return NS_PRF_HMAC_SHA2_256;
    }
}

int ns_proposal_parse(const char *s, uint8_t protocol, struct ns_proposal *out, char *err,
                      size_t errlen)
{
    const bool ike = protocol == NS_PROTO_IKE;
    if (protocol != NS_PROTO_IKE && protocol != NS_PROTO_ESP) {
        snprintf(err, errlen, "proposals exist for IKE and ESP only");
        return -1;
    }
    struct ns_proposal p;
    memset(&p, 0, sizeof(p));
    p.protocol = protocol;
    bool seen[5] = {false};
    const char *t = s;
    for (;;) {
        const char *dash = strchr(t, '-');
        size_t n = dash ? (size_t)(dash - t) : strlen(t);
        char tok[32];
        if (n == 0 || n >= sizeof(tok)) {
            snprintf(err, errlen, "malformed proposal '%s'", s);
            return -1;
        }
        memcpy(tok, t, n);
        tok[n] = '\0';
        if (strcasecmp(tok, "ah") == 0) {
            snprintf(err, errlen,
                     "AH is never offered (R1: it cannot cross a NAT); for integrity only use "
                     "ESP with null encryption, e.g. null-sha256");
            return -1;
        }
        const struct token *k = find_token(tok);
        if (!k) {
            snprintf(err, errlen, "unknown or unsupported algorithm '%s' in proposal '%s'", tok, s);
            return -1;
        }
        if (seen[k->kind]) {
            snprintf(err, errlen,
                     "proposal '%s' has more than one %s; write alternatives as separate "
                     "proposals separated by commas",
                     s, kind_names[k->kind]);
            return -1;
        }
        seen[k->kind] = true;
        switch (k->kind) {
        case K_ENCR:
            p.encr = (enum ns_encr_alg)k->value;
            p.key_bits = k->key_bits;
            break;
        case K_INTEG:
            p.integ = (enum ns_integ_alg)k->value;
            break;
        case K_PRF:
            if (!ike) {
                snprintf(err, errlen, "'%s' is a prf, which only IKE proposals have ('%s')", tok,
                         s);
                return -1;
            }
            p.prf = (enum ns_prf_alg)k->value;
            break;
        case K_DH:
            p.dh = (enum ns_dh_group)k->value;
            break;
        case K_ESN:
            if (ike) {
                snprintf(err, errlen, "'%s' applies to ESP proposals only ('%s')", tok, s);
                return -1;
            }
            p.esn = k->value != 0;
            break;
        }
        if (!dash)
            break;
        t = dash + 1;
    }

    if (!seen[K_ENCR]) {
        snprintf(err, errlen, "proposal '%s' has no encryption algorithm", s);
        return -1;
    }
    if (ike && p.encr == NS_ENCR_NULL) {
        snprintf(err, errlen, "IKE must be encrypted: 'null' is for ESP proposals only ('%s')", s);
        return -1;
    }
    bool aead = p.encr == NS_ENCR_AES_GCM_16 || p.encr == NS_ENCR_CHACHA20_POLY1305;
    if (aead && seen[K_INTEG]) {
        snprintf(err, errlen, "'%s': an AEAD cipher takes no separate integrity algorithm", s);
        return -1;
    }
    if (!aead && !seen[K_INTEG]) {
        snprintf(err, errlen, "'%s' needs an integrity algorithm (sha256, sha384, sha512 or sha1)",
                 s);
        return -1;
    }
    if (ike && !seen[K_DH]) {
        snprintf(err, errlen, "IKE proposal '%s' needs a DH group (x25519, ecp256 or modp2048)", s);
        return -1;
    }
    if (ike && !seen[K_PRF])
        p.prf = aead ? NS_PRF_HMAC_SHA2_256 : prf_of_integ(p.integ);
    if (!ns_cipher_supported(p.encr, p.key_bits, p.integ)) {
        snprintf(err, errlen, "proposal '%s' is not a combination natsec supports", s);
        return -1;
    }
    *out = p;
    return 0;
}

bool ns_proposal_same(const struct ns_proposal *a, const struct ns_proposal *b)
{
    return a->protocol == b->protocol && a->encr == b->encr && a->key_bits == b->key_bits &&
           a->integ == b->integ && a->prf == b->prf && a->dh == b->dh && a->esn == b->esn;
}

struct list_ctx {
    uint8_t protocol;
    struct ns_proposal *out;
    unsigned max, n;
};

static int list_item(const char *item, void *arg, char *err, size_t errlen)
{
    struct list_ctx *ctx = arg;
    if (ctx->n == ctx->max) {
        snprintf(err, errlen, "more than %u proposals", ctx->max);
        return -1;
    }
    struct ns_proposal p;
    if (ns_proposal_parse(item, ctx->protocol, &p, err, errlen) != 0)
        return -1;
    for (unsigned i = 0; i < ctx->n; i++) {
        if (ns_proposal_same(&ctx->out[i], &p)) {
            snprintf(err, errlen, "proposal '%s' is listed twice", item);
            return -1;
        }
    }
    ctx->out[ctx->n++] = p;
    return 0;
}

int ns_proposal_list_parse(const char *s, uint8_t protocol, struct ns_proposal *out, unsigned max,
                           char *err, size_t errlen)
{
    struct list_ctx ctx = {protocol, out, max, 0};
    if (ns_conf_value_list(s, list_item, &ctx, err, errlen) != 0)
        return -1;
    return (int)ctx.n;
}

static const char *name_of(enum kind kind, int value, unsigned key_bits)
{
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
        if (tokens[i].kind == kind && tokens[i].value == value &&
            (kind != K_ENCR || tokens[i].key_bits == key_bits))
            return tokens[i].name;
    return NULL;
}

static void append(char *buf, size_t len, size_t *off, enum kind kind, int value, unsigned bits)
{
    static const char *const unknown_fmt[] = {"encr%d", "integ%d", "prf%d", "dh%d", "esn%d"};
    const char *name = name_of(kind, value, bits);
    const char *sep = *off ? "-" : "";
    int n = name ? snprintf(buf + *off, len - *off, "%s%s", sep, name)
                 : snprintf(buf + *off, len - *off, "%s", sep);
    if (n > 0 && (size_t)n < len - *off)
        *off += (size_t)n;
    if (!name && *off < len) {
        n = snprintf(buf + *off, len - *off, unknown_fmt[kind], value);
        if (n > 0 && (size_t)n < len - *off)
            *off += (size_t)n;
    }
}

/* ChaCha20 and 3DES have one key size each, which the wire leaves out
 * (and some callers leave 0). */
static unsigned encr_bits(enum ns_encr_alg encr, unsigned bits)
{
    if (bits != 0)
        return bits;
    return encr == NS_ENCR_CHACHA20_POLY1305 ? 256 : encr == NS_ENCR_3DES ? 192 : 0;
}

const char *ns_proposal_encr_name(enum ns_encr_alg encr, unsigned key_bits)
{
    return name_of(K_ENCR, (int)encr, encr_bits(encr, key_bits));
}

const char *ns_proposal_integ_name(enum ns_integ_alg integ)
{
    return name_of(K_INTEG, (int)integ, 0);
}

const char *ns_proposal_prf_name(enum ns_prf_alg prf)
{
    return name_of(K_PRF, (int)prf, 0);
}

const char *ns_proposal_dh_name(enum ns_dh_group dh)
{
    return name_of(K_DH, (int)dh, 0);
}

const char *ns_proposal_str(const struct ns_proposal *p, char *buf, size_t len)
{
    size_t off = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    unsigned bits = encr_bits(p->encr, p->key_bits);
    append(buf, len, &off, K_ENCR, (int)p->encr, bits);
    if (p->integ != NS_INTEG_NONE)
        append(buf, len, &off, K_INTEG, (int)p->integ, 0);
    if (p->protocol == NS_PROTO_IKE)
        append(buf, len, &off, K_PRF, (int)p->prf, 0);
    if ((int)p->dh != 0)
        append(buf, len, &off, K_DH, (int)p->dh, 0);
    if (p->protocol == NS_PROTO_ESP && p->esn)
        append(buf, len, &off, K_ESN, 1, 0);
    return buf;
}

unsigned ns_proposal_legacy(const struct ns_proposal *p)
{
    unsigned m = 0;
    if (p->dh == NS_DH_MODP1024)
        m |= NS_LEGACY_MODP1024;
    if (p->protocol == NS_PROTO_IKE && p->prf == NS_PRF_HMAC_SHA1)
        m |= NS_LEGACY_PRF_SHA1;
    if (p->protocol == NS_PROTO_IKE && p->integ == NS_INTEG_HMAC_SHA1_96)
        m |= NS_LEGACY_IKE_SHA1;
    if (p->encr == NS_ENCR_3DES)
        m |= NS_LEGACY_3DES;
    return m;
}

const char *ns_proposal_legacy_str(unsigned mask, char *buf, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {NS_LEGACY_MODP1024, "MODP-1024 (DH group 2)"},
        {NS_LEGACY_PRF_SHA1, "the HMAC-SHA1 PRF"},
        {NS_LEGACY_IKE_SHA1, "HMAC-SHA1-96 for IKE integrity"},
        {NS_LEGACY_3DES, "3DES-CBC"},
    };
    size_t off = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(mask & names[i].bit))
            continue;
        int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", names[i].name);
        if (n < 0 || (size_t)n >= len - off)
            break;
        off += (size_t)n;
    }
    return buf;
}
