/* The certificate settings (X7): see creds.h. */
#include "conf/creds.h"

#include <stdio.h>
#include <string.h>

#include "conf/id_cert.h"
#include "conf/value.h"
#include "crypto/x509.h"
#include "util/fileperm.h"

/* What our certificates and CERTREQ may take of one IKE_AUTH message; the
 * rest of it (IDs, AUTH with an RSA-8192 signature, configuration payload,
 * proposals, selectors) needs up to about 2.5 KB more. With IKE
 * fragmentation (RFC 7383) the receiver puts the message together in
 * memory: natsec up to NS_FRAG_MAX_BYTES (40 KiB), strongSwan up to 10000
 * bytes by default (charon.max_packet, docs/config.md). Without it the
 * message goes whole, as IP fragments, into the peer's receive buffer:
 * natsecd's holds 9216 bytes. */
#define CERT_BUDGET_FRAG 32768
#define CERT_BUDGET_WHOLE 6144

static int set_path(char *field, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= NS_CONF_FILE_MAX) {
        snprintf(err, errlen, "the path is longer than %d characters", NS_CONF_FILE_MAX - 1);
        return -1;
    }
    strcpy(field, v);
    return 0;
}

int ns_conf_p_set_cert(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return set_path(p->c->cert, v, err, errlen);
}

int ns_conf_p_set_key(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return set_path(p->c->key, v, err, errlen);
}

int ns_conf_p_set_ca(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return set_path(p->c->ca, v, err, errlen);
}

int ns_conf_p_set_rsa_pss(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->rsa_pss, err, errlen);
}

int ns_conf_p_set_auth(struct ns_conf_peer *peer, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "psk") == 0) {
        peer->auth = NS_CONF_AUTH_PSK;
    } else if (strcmp(v, "pubkey") == 0) {
        peer->auth = NS_CONF_AUTH_PUBKEY;
    } else if (strcmp(v, "eap-mschapv2") == 0) {
        peer->auth = NS_CONF_AUTH_EAP_MSCHAPV2;
    } else {
        snprintf(err, errlen, "'%s' is neither psk nor pubkey nor eap-mschapv2", v);
        return -1;
    }
    return 0;
}

/* The first [peer] with auth = how, or NULL. */
static const struct ns_conf_peer *first_peer_with(const struct ns_conf *c, enum ns_conf_auth how)
{
    for (unsigned i = 0; i < c->n_peers; i++)
        if (c->peers[i].auth == how)
            return &c->peers[i];
    return NULL;
}

/* The later of the lines of two [natsecd] keys (where a conflict shows). */
static int later(const struct ns_conf_parser *p, const char *a, const char *b)
{
    int la = ns_conf_p_key_line(p, a), lb = ns_conf_p_key_line(p, b);
    return la > lb ? la : lb;
}

/* Our own certificate must hold local_id, or every peer refuses it (R3). */
static void check_local_id(struct ns_conf_parser *p, const X509 *cert)
{
    const struct ns_conf *c = p->c;
    if (ns_conf_id_in_cert(&c->local_id, cert))
        return;
    char id[NS_CONF_ID_STRLEN], subj[NS_X509_STRLEN], alt[NS_X509_STRLEN];
    ns_conf_p_error(p, later(p, "local_id", "cert"),
                    "local_id '%s' (%s) is not in the certificate %s (subject '%s', "
                    "subjectAltName %s): peers would refuse it (R3)",
                    ns_conf_id_str(&c->local_id, id), ns_conf_id_type_name(c->local_id.type),
                    c->cert, ns_x509_subject_str(cert, subj), ns_x509_alt_names_str(cert, alt));
}

/* The file (or folder) of [natsecd] key `key` may be trusted: refused when
 * others may write it, a warning for its group or owner, or (secret) when
 * others may read it. */
static bool access_ok(struct ns_conf_parser *p, const char *key, const char *path, bool secret)
{
    char why[768];
    enum ns_perm_verdict v = ns_perm_path(path, secret, why, sizeof(why));
    int line = ns_conf_p_key_line(p, key);
    if (v == NS_PERM_REFUSE) {
        ns_conf_p_error(p, line, "%s: %s refused: %s", key, path, why);
        return false;
    }
    if (v == NS_PERM_WARN)
        NS_WARN("%s:%d: %s: %s: %s", p->name, line, key, path, why);
    return true;
}

/* Whether [natsecd] key `key` was written. */
static bool given(const struct ns_conf_parser *p, const char *key)
{
    return ns_conf_p_key_line(p, key) != 0;
}

/* Loads the files that were given: cert and key (together), ca. */
static void load(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    char why[768];
    bool own = given(p, "cert"), ca = given(p, "ca");
    if ((own && (!access_ok(p, "cert", c->cert, false) || !access_ok(p, "key", c->key, true))) ||
        (ca && !access_ok(p, "ca", c->ca, false)))
        return;
    c->creds = ns_x509_creds_new();
    if (!c->creds) {
        ns_conf_p_error(p, p->main_line, "out of memory");
        return;
    }
    if (own && ns_x509_creds_load_cert(c->creds, c->cert, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, ns_conf_p_key_line(p, "cert"), "cert: %s", why);
        return;
    }
    if (own && ns_x509_creds_load_key(c->creds, c->key, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, ns_conf_p_key_line(p, "key"), "key: %s", why);
        return;
    }
    if (ca && ns_x509_creds_load_ca(c->creds, c->ca, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, ns_conf_p_key_line(p, "ca"), "ca: %s", why);
        return;
    }
    if (own && ns_x509_creds_check(c->creds, 0, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, later(p, "cert", "key"), "cert/key: %s", why);
        return;
    }
    if (own)
        check_local_id(p, ns_x509_creds_cert(c->creds));
    size_t chain = 0, req;
    for (unsigned i = 0; i < ns_x509_creds_chain_len(c->creds); i++) {
        size_t n;
        ns_x509_creds_chain_der(c->creds, i, &n);
        chain += n;
    }
    ns_x509_creds_certreq(c->creds, &req);
    size_t budget = c->fragmentation ? CERT_BUDGET_FRAG : CERT_BUDGET_WHOLE;
    if (chain + req > budget)
        ns_conf_p_error(p, ns_conf_p_key_line(p, "cert"),
                        "cert: the certificate chain (%zu bytes DER) and the CERTREQ of the CAs "
                        "(%zu bytes) take more than %zu bytes of one IKE_AUTH message%s: use "
                        "fewer intermediates or CAs, or ECDSA",
                        chain, req, budget,
                        c->fragmentation ? "" : " sent whole (fragmentation = no)");
}

const char *ns_conf_auth_name(enum ns_conf_auth auth)
{
    switch (auth) {
    case NS_CONF_AUTH_PSK:
        return "psk";
    case NS_CONF_AUTH_PUBKEY:
        return "pubkey";
    case NS_CONF_AUTH_EAP_MSCHAPV2:
        return "eap-mschapv2";
    }
    return "?";
}

/* The [natsecd] keys the first section of `who` needs and are missing. */
static void require_files(struct ns_conf_parser *p, const struct ns_conf_peer *who, const int *keys,
                          size_t n)
{
    static const char *const name[] = {"cert", "key", "ca"};
    static const char *const what[] = {"this host's certificate, PEM",
                                       "the certificate's private key, PEM",
                                       ("the CA certificates peers must chain to: a PEM file "
                                        "or a directory of them")};
    for (size_t i = 0; who && i < n; i++)
        if (!given(p, name[keys[i]]))
            ns_conf_p_error(p, who->line, "[peer %s] says auth = %s: [natsecd] needs '%s' (%s)",
                            who->name, ns_conf_auth_name(who->auth), name[keys[i]], what[keys[i]]);
}

void ns_conf_p_load_creds(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    for (unsigned i = 0; i < c->n_peers; i++) {
        int psk_line = p->meta[i].key_line[NS_CONF_P_PSK];
        if (c->peers[i].auth != NS_CONF_AUTH_PSK && psk_line)
            ns_conf_p_error(p, psk_line,
                            "[peer %s] says auth = %s: its psk would not be used (remove "
                            "one of the two)",
                            c->peers[i].name, ns_conf_auth_name(c->peers[i].auth));
    }
    /* Certificates show this host to peers of auth = pubkey, and a gateway
     * to its EAP clients; trust anchors check the certificates of pubkey
     * peers, and an EAP client's gateway. */
    bool gw = c->role == NS_CONF_GATEWAY;
    const struct ns_conf_peer *pk = first_peer_with(c, NS_CONF_AUTH_PUBKEY);
    const struct ns_conf_peer *eap = first_peer_with(c, NS_CONF_AUTH_EAP_MSCHAPV2);
    const struct ns_conf_peer *own = pk ? pk : gw ? eap : NULL;
    const struct ns_conf_peer *trust = pk ? pk : gw ? NULL : eap;
    if (!own && !trust) {
        static const char *const keys[] = {"cert", "key", "ca"};
        for (int i = 0; i < 3; i++)
            if (given(p, keys[i])) {
                NS_WARN("%s:%d: %s is not used: no [peer] section says auth = pubkey or "
                        "eap-mschapv2",
                        p->name, ns_conf_p_key_line(p, keys[i]), keys[i]);
                break;
            }
        return;
    }
    static const int cert_key[] = {0, 1}, ca[] = {2};
    require_files(p, own, cert_key, 2);
    require_files(p, trust, ca, 1);
    if (given(p, "cert") != given(p, "key"))
        ns_conf_p_error(p, later(p, "cert", "key"),
                        "cert and key go together: one was given without the other");
    if (!p->err_line)
        load(p);
}
