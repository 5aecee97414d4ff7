/* The certificate settings (X7): see creds.h. */
#include "conf/creds.h"

#include <stdio.h>
#include <string.h>

#include "conf/id_cert.h"
#include "conf/value.h"
#include "crypto/x509.h"
#include "util/fileperm.h"

/* What our certificates and CERTREQ may take of one IKE_AUTH message: the
 * engine builds messages of at most 4 KB (NS_IKE_BUF) and natsec has no IKE
 * fragmentation (X5), and the rest of IKE_AUTH (IDs, AUTH with an RSA-4096
 * signature, configuration payload, proposals, selectors) needs the rest. */
#define CERT_BUDGET 2560

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
    } else {
        snprintf(err, errlen, "'%s' is neither psk nor pubkey", v);
        return -1;
    }
    return 0;
}

/* The first [peer] with auth = pubkey, or NULL. */
static const struct ns_conf_peer *first_pubkey_peer(const struct ns_conf *c)
{
    for (unsigned i = 0; i < c->n_peers; i++)
        if (c->peers[i].auth == NS_CONF_AUTH_PUBKEY)
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

static void load(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    char why[768];
    if (!access_ok(p, "cert", c->cert, false) || !access_ok(p, "key", c->key, true) ||
        !access_ok(p, "ca", c->ca, false))
        return;
    c->creds = ns_x509_creds_new();
    if (!c->creds) {
        ns_conf_p_error(p, p->main_line, "out of memory");
        return;
    }
    if (ns_x509_creds_load_cert(c->creds, c->cert, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, ns_conf_p_key_line(p, "cert"), "cert: %s", why);
        return;
    }
    if (ns_x509_creds_load_key(c->creds, c->key, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, ns_conf_p_key_line(p, "key"), "key: %s", why);
        return;
    }
    if (ns_x509_creds_load_ca(c->creds, c->ca, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, ns_conf_p_key_line(p, "ca"), "ca: %s", why);
        return;
    }
    if (ns_x509_creds_check(c->creds, 0, why, sizeof(why)) != 0) {
        ns_conf_p_error(p, later(p, "cert", "key"), "cert/key: %s", why);
        return;
    }
    check_local_id(p, ns_x509_creds_cert(c->creds));
    size_t chain = 0, req;
    for (unsigned i = 0; i < ns_x509_creds_chain_len(c->creds); i++) {
        size_t n;
        ns_x509_creds_chain_der(c->creds, i, &n);
        chain += n;
    }
    ns_x509_creds_certreq(c->creds, &req);
    if (chain + req > CERT_BUDGET)
        ns_conf_p_error(p, ns_conf_p_key_line(p, "cert"),
                        "cert: the certificate chain (%zu bytes DER) and the CERTREQ of the CAs "
                        "(%zu bytes) take more than %d bytes of one IKE_AUTH message; natsec has "
                        "no IKE fragmentation (X5): use fewer intermediates or CAs, or ECDSA",
                        chain, req, CERT_BUDGET);
}

void ns_conf_p_load_creds(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    for (unsigned i = 0; i < c->n_peers; i++) {
        int psk_line = p->meta[i].key_line[NS_CONF_P_PSK];
        if (c->peers[i].auth == NS_CONF_AUTH_PUBKEY && psk_line)
            ns_conf_p_error(p, psk_line,
                            "[peer %s] says auth = pubkey: its psk would not be used (remove "
                            "one of the two)",
                            c->peers[i].name);
    }
    const struct ns_conf_peer *user = first_pubkey_peer(c);
    static const char *const keys[] = {"cert", "key", "ca"};
    static const char *const what[] = {"this host's certificate, PEM",
                                       "the certificate's private key, PEM",
                                       ("the CA certificates peers must chain to: a PEM file "
                                        "or a directory of them")};
    if (!user) {
        for (int i = 0; i < 3; i++)
            if (ns_conf_p_key_line(p, keys[i])) {
                NS_WARN("%s:%d: %s is not used: no [peer] section says auth = pubkey", p->name,
                        ns_conf_p_key_line(p, keys[i]), keys[i]);
                break;
            }
        return;
    }
    for (int i = 0; i < 3; i++)
        if (!ns_conf_p_key_line(p, keys[i]))
            ns_conf_p_error(p, user->line,
                            "[peer %s] says auth = pubkey: [natsecd] needs '%s' (%s)", user->name,
                            keys[i], what[i]);
    if (!p->err_line)
        load(p);
}
