/* Certificate authentication of IKE_AUTH (X7, R3): see auth_cert.h. */
#include "ike/auth_cert.h"

#include <stdio.h>
#include <string.h>

#include "conf/id_cert.h"
#include "crypto/x509.h"
#include "ike/ike_sa.h"

#define HASH_BIT(h) (1u << (h))
/* What natsec announces in SIGNATURE_HASH_ALGORITHMS and accepts in a
 * signature: SHA-2 only (RFC 8247 2.4). */
static const enum ns_hash_alg OUR_HASHES[] = {NS_HASH_SHA256, NS_HASH_SHA384, NS_HASH_SHA512};
#define N_OUR_HASHES (sizeof(OUR_HASHES) / sizeof(OUR_HASHES[0]))

/* Whether certificates sign in an SA with peer: a client's gateway
 * section says pubkey, or eap-mschapv2 (the gateway signs), a gateway once
 * any section uses them (the peer is not known before IKE_AUTH). */
static bool uses_certs(const struct ns_conf *conf, const struct ns_conf_peer *peer)
{
    if (!conf->creds)
        return false;
    if (conf->role == NS_CONF_CLIENT)
        return peer && peer->auth != NS_CONF_AUTH_PSK;
    return true;
}

void ns_eng_cert_add_certreq(const struct ns_conf *conf, struct ns_ike_builder *b)
{
    size_t len;
    const uint8_t *req = ns_x509_creds_certreq(conf->creds, &len);
    if (req)
        ns_ike_add_cert(b, NS_PL_CERTREQ, NS_CERT_X509_SIGNATURE, req, len);
}

void ns_eng_cert_init_payloads(const struct ns_conf *conf, const struct ns_conf_peer *peer,
                               struct ns_ike_builder *b)
{
    if (!uses_certs(conf, peer))
        return;
    uint8_t list[2 * N_OUR_HASHES];
    for (size_t i = 0; i < N_OUR_HASHES; i++) {
        list[2 * i] = 0;
        list[2 * i + 1] = (uint8_t)OUR_HASHES[i];
    }
    ns_ike_add_notify(b, 0, NULL, 0, NS_N_SIGNATURE_HASH_ALGORITHMS, list, sizeof(list));
    if (conf->role == NS_CONF_GATEWAY)
        ns_eng_cert_add_certreq(conf, b);
}

void ns_eng_cert_add_certs(const struct ns_conf *conf, struct ns_ike_builder *b)
{
    const struct ns_x509_creds *c = conf->creds;
    for (unsigned i = 0; i < ns_x509_creds_chain_len(c); i++) {
        size_t len;
        const uint8_t *der = ns_x509_creds_chain_der(c, i, &len);
        ns_ike_add_cert(b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, der, len);
    }
}

/* The hashes the peer announced in its IKE_SA_INIT (RFC 7427 4), as bits
 * HASH_BIT(h); 0 when it sent no SIGNATURE_HASH_ALGORITHMS. The message is
 * the one kept for the AUTH payloads, read again here so that nothing
 * needs keeping per half-open SA. */
static unsigned peer_hashes(const struct ns_cert_sa *sa)
{
    struct ns_ike_header h;
    struct ns_ike_payloads pl;
    struct ns_ike_notify n;
    if (!sa->peer_init ||
        ns_ike_parse_message(sa->peer_init, sa->peer_init_len, &h, &pl) != NS_IKE_OK)
        return 0;
    const struct ns_ike_payload *p = ns_ike_find_notify(&pl, NS_N_SIGNATURE_HASH_ALGORITHMS);
    if (!p || ns_ike_parse_notify(p, &n) != NS_IKE_OK)
        return 0;
    unsigned bits = 0;
    for (size_t i = 0; i + 1 < n.len; i += 2) {
        unsigned v = (unsigned)n.data[i] << 8 | n.data[i + 1];
        if (v >= NS_HASH_SHA1 && v <= NS_HASH_SHA512)
            bits |= HASH_BIT(v);
    }
    return bits;
}

/* How we sign: the auth method, the scheme, raw (RFC 4754) or not. */
struct sig_choice {
    uint8_t method;
    struct ns_sig_scheme s;
    bool raw;
};

static int choose(const struct ns_conf *conf, const EVP_PKEY *key, unsigned peer,
                  struct sig_choice *c, char *why, size_t whylen)
{
    static const enum ns_hash_alg by_p256[] = {NS_HASH_SHA256, NS_HASH_SHA384, NS_HASH_SHA512};
    static const enum ns_hash_alg by_p384[] = {NS_HASH_SHA384, NS_HASH_SHA512, NS_HASH_SHA256};
    static const enum ns_hash_alg by_p521[] = {NS_HASH_SHA512, NS_HASH_SHA384, NS_HASH_SHA256};
    const enum ns_hash_alg *pref = by_p256;
    memset(c, 0, sizeof(*c));
    c->raw = true;
    switch (ns_pkey_type(key)) {
    case NS_KEY_EC_P256:
        *c = (struct sig_choice){NS_AUTH_ECDSA_256, {NS_SIG_ECDSA, NS_HASH_SHA256, 0, 0}, true};
        break;
    case NS_KEY_EC_P384:
        pref = by_p384;
        *c = (struct sig_choice){NS_AUTH_ECDSA_384, {NS_SIG_ECDSA, NS_HASH_SHA384, 0, 0}, true};
        break;
    case NS_KEY_EC_P521:
        pref = by_p521;
        *c = (struct sig_choice){NS_AUTH_ECDSA_521, {NS_SIG_ECDSA, NS_HASH_SHA512, 0, 0}, true};
        break;
    case NS_KEY_RSA:
        c->method = 0; /* no legacy method without SHA-1 */
        c->s.kind = conf->rsa_pss ? NS_SIG_RSA_PSS : NS_SIG_RSA_PKCS1;
        break;
    default:
        snprintf(why, whylen, "our key is of a type natsec does not sign with");
        return -1;
    }
    for (size_t i = 0; i < 3; i++) {
        if (peer & HASH_BIT(pref[i])) {
            c->method = NS_AUTH_DIGITAL_SIGNATURE;
            c->raw = false;
            c->s.hash = pref[i];
            if (c->s.kind == NS_SIG_RSA_PSS) {
                c->s.mgf1 = pref[i];
                c->s.salt_len = (unsigned)ns_hash_len(pref[i]);
            }
            return 0;
        }
    }
    if (c->method)
        return 0;
    snprintf(why, whylen,
             "the peer announces no SHA-2 hash in SIGNATURE_HASH_ALGORITHMS (RFC 7427): an RSA "
             "key could only sign with auth method 1 and SHA-1, which natsec does not do");
    return -1;
}

int ns_eng_cert_sign(const struct ns_cert_sa *sa, const struct ns_auth_input *in, uint8_t *method,
                     uint8_t *out, size_t cap, size_t *len)
{
    EVP_PKEY *key = ns_x509_creds_key(sa->conf->creds);
    char why[256], name[NS_SIG_STRLEN];
    struct sig_choice c;
    uint8_t mac[NS_PRF_MAX_LEN];
    const uint8_t *parts[3];
    size_t lens[3], pre = 0, sig_len = 0;
    if (!key || choose(sa->conf, key, peer_hashes(sa), &c, why, sizeof(why)) != 0) {
        NS_ERR("ike: IKE SA %016llx: cannot authenticate with our certificate: %s",
               (unsigned long long)sa->id, key ? why : "no private key");
        return -1;
    }
    if (c.method == NS_AUTH_DIGITAL_SIGNATURE) {
        size_t alen;
        if (cap < 1 + NS_SIG_ALGID_MAX || ns_sig_algid_encode(&c.s, out + 1, &alen) != 0)
            return -1;
        out[0] = (uint8_t)alen;
        pre = 1 + alen;
    }
    if (ns_auth_signed_parts(in, mac, parts, lens) != 0 ||
        ns_pkey_sign(key, &c.s, c.raw, parts, lens, 3, out + pre, cap - pre, &sig_len) != 0) {
        NS_ERR("ike: IKE SA %016llx: signing our AUTH (%s) failed", (unsigned long long)sa->id,
               ns_sig_scheme_str(&c.s, name));
        return -1;
    }
    *method = c.method;
    *len = pre + sig_len;
    NS_DBG("ike: IKE SA %016llx: our AUTH: method %u, %s", (unsigned long long)sa->id, c.method,
           ns_sig_scheme_str(&c.s, name));
    return 0;
}

/* ---- the peer ---- */

/* The CERT payloads: the first X.509 one is the peer's certificate, the
 * others intermediates (at most NS_X509_MAX_CHAIN in all). */
struct peer_certs {
    X509 *ee;
    X509 *inter[NS_X509_MAX_CHAIN];
    unsigned n_inter;
    unsigned n_payloads, n_other;
    bool bad_ee; /* the first X.509 CERT did not parse */
};

static void collect_certs(const struct ns_ike_payloads *in, struct peer_certs *pc)
{
    memset(pc, 0, sizeof(*pc));
    for (unsigned i = 0; i < in->n; i++) {
        struct ns_ike_cert c;
        if (in->p[i].type != NS_PL_CERT)
            continue;
        pc->n_payloads++;
        if (ns_ike_parse_cert(&in->p[i], &c) != NS_IKE_OK || c.encoding != NS_CERT_X509_SIGNATURE) {
            pc->n_other++;
            continue;
        }
        if (!pc->ee && !pc->bad_ee) {
            pc->ee = ns_x509_parse(c.data, c.len);
            pc->bad_ee = !pc->ee;
        } else if (pc->n_inter < NS_X509_MAX_CHAIN - 1) {
            /* One that does not parse is left out: the chain says then
             * whether it was needed. */
            X509 *x = ns_x509_parse(c.data, c.len);
            if (x)
                pc->inter[pc->n_inter++] = x;
        }
    }
}

static void free_certs(struct peer_certs *pc)
{
    ns_x509_free(pc->ee);
    for (unsigned i = 0; i < pc->n_inter; i++)
        ns_x509_free(pc->inter[i]);
}

/* The scheme of a legacy ECDSA method (RFC 4754), or false. */
static bool legacy_ecdsa(uint8_t method, enum ns_key_type *curve, struct ns_sig_scheme *s)
{
    static const struct {
        uint8_t method;
        enum ns_key_type curve;
        enum ns_hash_alg hash;
    } m[] = {{NS_AUTH_ECDSA_256, NS_KEY_EC_P256, NS_HASH_SHA256},
             {NS_AUTH_ECDSA_384, NS_KEY_EC_P384, NS_HASH_SHA384},
             {NS_AUTH_ECDSA_521, NS_KEY_EC_P521, NS_HASH_SHA512}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        if (m[i].method == method) {
            *curve = m[i].curve;
            *s = (struct ns_sig_scheme){NS_SIG_ECDSA, m[i].hash, 0, 0};
            return true;
        }
    }
    return false;
}

static bool hash_ok(enum ns_hash_alg h)
{
    for (size_t i = 0; i < N_OUR_HASHES; i++)
        if (OUR_HASHES[i] == h)
            return true;
    return false;
}

/* Method 14: [length][AlgorithmIdentifier][signature]. */
static bool check_ds(EVP_PKEY *key, const struct ns_ike_auth *auth, const uint8_t *const *parts,
                     const size_t *lens, char *desc, size_t desclen, char *why, size_t whylen)
{
    char name[NS_SIG_STRLEN], kt[NS_SIG_STRLEN];
    struct ns_sig_scheme s;
    size_t alen = auth->len ? auth->data[0] : 0;
    if (auth->len < 2 || 1 + alen >= auth->len ||
        ns_sig_algid_decode(auth->data + 1, alen, &s) != 0) {
        snprintf(why, whylen,
                 "its AUTH (RFC 7427 Digital Signature) names no signature algorithm natsec "
                 "knows");
        return false;
    }
    snprintf(desc, desclen, "%s (RFC 7427)", ns_sig_scheme_str(&s, name));
    if (!hash_ok(s.hash) || (s.kind == NS_SIG_RSA_PSS && !hash_ok(s.mgf1))) {
        snprintf(why, whylen,
                 "its signature %s uses %s, which natsec refuses (SHA-1 is not collision "
                 "resistant, RFC 8247; natsec announces SHA-256, SHA-384, SHA-512)",
                 name, s.hash == NS_HASH_SHA1 || s.mgf1 == NS_HASH_SHA1 ? "SHA-1" : "a hash");
        return false;
    }
    if (!ns_sig_fits_key(&s, ns_pkey_type(key))) {
        snprintf(why, whylen, "its signature algorithm %s does not fit its certificate's %s key",
                 name, ns_pkey_str(key, kt));
        return false;
    }
    if (ns_pkey_verify(key, &s, false, parts, lens, 3, auth->data + 1 + alen,
                       auth->len - 1 - alen) != 1) {
        snprintf(why, whylen, "its AUTH signature (%s) does not verify with its certificate's key",
                 name);
        return false;
    }
    return true;
}

/* Method 1 (RFC 7296): RSASSA-PKCS1-v1_5, the hash not named. SHA-2 is
 * taken; a signature that is valid only with SHA-1 is refused by name. */
static bool check_rsa_legacy(EVP_PKEY *key, const struct ns_ike_auth *auth,
                             const uint8_t *const *parts, const size_t *lens, char *desc,
                             size_t desclen, char *why, size_t whylen)
{
    char kt[NS_SIG_STRLEN];
    if (ns_pkey_type(key) != NS_KEY_RSA) {
        snprintf(why, whylen, "it signs with RSA (AUTH method 1), its certificate has a %s key",
                 ns_pkey_str(key, kt));
        return false;
    }
    for (size_t i = 0; i < N_OUR_HASHES; i++) {
        struct ns_sig_scheme s = {NS_SIG_RSA_PKCS1, OUR_HASHES[i], 0, 0};
        if (ns_pkey_verify(key, &s, false, parts, lens, 3, auth->data, auth->len) == 1) {
            snprintf(desc, desclen, "RSA PKCS#1 v1.5 with %s (AUTH method 1)",
                     ns_hash_name(OUR_HASHES[i]));
            return true;
        }
    }
    struct ns_sig_scheme sha1 = {NS_SIG_RSA_PKCS1, NS_HASH_SHA1, 0, 0};
    if (ns_pkey_verify(key, &sha1, false, parts, lens, 3, auth->data, auth->len) == 1)
        snprintf(why, whylen,
                 "its RSA signature (AUTH method 1) uses SHA-1, which natsec refuses (not "
                 "collision resistant, RFC 8247): the peer should use RFC 7427 signatures");
    else
        snprintf(why, whylen,
                 "its AUTH signature (RSA, AUTH method 1) does not verify with its certificate's "
                 "key");
    return false;
}

static bool check_signature(EVP_PKEY *key, const struct ns_ike_auth *auth,
                            const uint8_t *const *parts, const size_t *lens, char *desc,
                            size_t desclen, char *why, size_t whylen)
{
    char kt[NS_SIG_STRLEN];
    struct ns_sig_scheme s;
    enum ns_key_type curve;
    if (auth->method == NS_AUTH_DIGITAL_SIGNATURE)
        return check_ds(key, auth, parts, lens, desc, desclen, why, whylen);
    if (auth->method == NS_AUTH_RSA_SIG)
        return check_rsa_legacy(key, auth, parts, lens, desc, desclen, why, whylen);
    if (!legacy_ecdsa(auth->method, &curve, &s)) {
        snprintf(why, whylen, "its AUTH method %u is not a signature method natsec takes",
                 auth->method);
        return false;
    }
    snprintf(desc, desclen, "ECDSA with %s (AUTH method %u)", ns_hash_name(s.hash), auth->method);
    if (ns_pkey_type(key) != curve) {
        snprintf(why, whylen, "it signs with AUTH method %u, its certificate has a %s key",
                 auth->method, ns_pkey_str(key, kt));
        return false;
    }
    if (ns_pkey_verify(key, &s, true, parts, lens, 3, auth->data, auth->len) != 1) {
        snprintf(why, whylen,
                 "its AUTH signature (ECDSA, AUTH method %u) does not verify with its "
                 "certificate's key",
                 auth->method);
        return false;
    }
    return true;
}

bool ns_eng_cert_verify(const struct ns_cert_sa *sa, const struct ns_ike_payloads *in,
                        const struct ns_conf_id *cid, const struct ns_auth_input *signed_in,
                        const struct ns_ike_auth *auth, const struct ns_conf_peer **proved,
                        char *why, size_t whylen)
{
    char who[NS_CONF_ID_STRLEN], subj[NS_X509_STRLEN], iss[NS_X509_STRLEN];
    char alt[NS_X509_STRLEN], chain[512], reason[512], desc[128] = "", kt[NS_SIG_STRLEN];
    struct peer_certs pc;
    bool ok = false;
    ns_eng_id_str(cid, who);
    collect_certs(in, &pc);
    if (!pc.ee) {
        if (pc.bad_ee)
            snprintf(why, whylen, "the certificate '%s' sent (CERT payload) is not DER X.509", who);
        else
            snprintf(why, whylen,
                     "'%s' sent no X.509 certificate (%u CERT payloads, %u of another encoding)",
                     who, pc.n_payloads, pc.n_other);
        goto out;
    }
    ns_x509_subject_str(pc.ee, subj);
    if (ns_x509_verify(sa->conf->creds, pc.ee, pc.inter, pc.n_inter, chain, sizeof(chain)) != 0) {
        snprintf(why, whylen, "the certificate '%s' of '%s' is not trusted: %s", subj, who, chain);
        goto out;
    }
    if (!ns_conf_id_in_cert(cid, pc.ee)) {
        snprintf(why, whylen,
                 "identity '%s' (%s) is not in its certificate (subject '%s', subjectAltName %s) "
                 "(R3)",
                 who, ns_conf_id_type_name(cid->type), subj, ns_x509_alt_names_str(pc.ee, alt));
        goto out;
    }
    uint8_t mac[NS_PRF_MAX_LEN];
    const uint8_t *parts[3];
    size_t lens[3];
    EVP_PKEY *key = ns_x509_pubkey(pc.ee);
    if (!key || ns_auth_signed_parts(signed_in, mac, parts, lens) != 0) {
        snprintf(why, whylen, "the certificate '%s' of '%s' has no usable public key", subj, who);
        goto out;
    }
    if (!check_signature(key, auth, parts, lens, desc, sizeof(desc), reason, sizeof(reason))) {
        snprintf(why, whylen, "'%s' (certificate '%s'): %s", who, subj, reason);
        goto out;
    }
    NS_INFO("ike: IKE SA %016llx: '%s' authenticated by certificate '%s' (issuer '%s'), %s, %s",
            (unsigned long long)sa->id, who, subj, ns_x509_issuer_str(pc.ee, iss),
            ns_pkey_str(key, kt), desc);
    if (proved)
        *proved = ns_conf_find_peer_by_cert(sa->conf, pc.ee);
    ok = true;
out:
    free_certs(&pc);
    return ok;
}
