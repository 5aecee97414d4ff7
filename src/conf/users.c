/* The EAP-MSCHAPv2 logins of natsecd's configuration (X12): a gateway's
 * [user <name>] sections (password or nt_hash), a client's eap_user and
 * eap_password in its [peer], and the checks between them and the [peer]
 * sections with auth = eap-mschapv2. Passwords are turned into their NT
 * hash as they are read and never kept; the hash needs MD4, from OpenSSL's
 * legacy provider, which is loaded only then (crypto/mschapv2.h). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/parse.h"
#include "conf/value.h"

enum { USER_PASSWORD, USER_NT_HASH };

int ns_conf_p_nt_hash(const char *password, uint8_t out[16], char *err, size_t errlen)
{
    if (!ns_mschapv2_available()) {
        snprintf(err, errlen,
                 "EAP-MSCHAPv2 needs MD4 and DES from OpenSSL's legacy provider, which does "
                 "not load (is ossl-modules/legacy.so of libssl3 there?)");
        return -1;
    }
    if (ns_mschapv2_nt_hash(password, strlen(password), out) != 0) {
        snprintf(err, errlen,
                 "not UTF-8 text of at most %d characters (the value is not shown: it is a "
                 "secret)",
                 NS_MSCHAPV2_PASSWORD_MAX);
        return -1;
    }
    return 0;
}

/* Room for one more user. */
static bool grow_users(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    if (c->n_users < p->users_cap)
        return true;
    unsigned cap = p->users_cap ? p->users_cap * 2 : 8;
    struct ns_conf_user *nu =
        ns_conf_p_grow_wiped(c->users, c->n_users * sizeof(*nu), cap * sizeof(*nu));
    if (!nu)
        return false;
    c->users = nu;
    p->users_cap = cap;
    return true;
}

static bool name_ok(const char *name, size_t n)
{
    if (n == 0 || n > NS_EAP_IDENTITY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < ' ' || name[i] == 127)
            return false;
    return true;
}

void ns_conf_p_begin_user(struct ns_conf_parser *p, const char *name)
{
    struct ns_conf *c = p->c;
    size_t n = strlen(name);
    p->sec = NS_CONF_P_BAD;
    if (!name_ok(name, n)) {
        ns_conf_p_error(p, p->line,
                        "[user] needs a name of 1 to %d characters, the one the client logs in "
                        "with, e.g. [user alice]",
                        NS_EAP_IDENTITY_MAX);
        return;
    }
    const struct ns_conf_user *dup = ns_conf_find_user(c, (const uint8_t *)name, n);
    if (dup) {
        ns_conf_p_error(p, p->line, "duplicate [user %s] (first on line %d)", name, dup->line);
        return;
    }
    if (!grow_users(p)) {
        ns_conf_p_error(p, p->line, "out of memory");
        return;
    }
    struct ns_conf_user *u = &c->users[c->n_users++];
    memset(u, 0, sizeof(*u));
    memcpy(u->name, name, n + 1);
    u->name_len = n;
    u->line = p->line;
    p->user_key_line[USER_PASSWORD] = p->user_key_line[USER_NT_HASH] = 0;
    p->sec = NS_CONF_P_USER;
}

static int set_nt_hash(const char *v, uint8_t out[16], char *err, size_t errlen)
{
    size_t len = 0;
    if (v[0] != '0' || (v[1] != 'x' && v[1] != 'X') ||
        ns_conf_value_hex(v + 2, out, NS_MSCHAPV2_HASH_LEN, &len, err, errlen) != 0 ||
        len != NS_MSCHAPV2_HASH_LEN) {
        snprintf(err, errlen,
                 "not 0x and 32 hex digits (the MD4 of the password as UTF-16LE; the value is not "
                 "shown: it is a secret)");
        return -1;
    }
    return 0;
}

void ns_conf_p_user_key(struct ns_conf_parser *p, const char *name, const char *value)
{
    struct ns_conf_user *u = &p->c->users[p->c->n_users - 1];
    int k = strcmp(name, "password") == 0  ? USER_PASSWORD
            : strcmp(name, "nt_hash") == 0 ? USER_NT_HASH
                                           : -1;
    if (k < 0) {
        ns_conf_p_error(p, p->line, "unknown key '%s' in [user %s] (password or nt_hash)", name,
                        u->name);
        return;
    }
    int other = p->user_key_line[!k];
    if (p->user_key_line[k] || other) {
        ns_conf_p_error(p, p->line,
                        "[user %s] has its password already (line %d): give one of "
                        "password and nt_hash, once",
                        u->name, p->user_key_line[k] ? p->user_key_line[k] : other);
        return;
    }
    p->user_key_line[k] = p->line;
    char why[256];
    int rc = k == USER_PASSWORD ? ns_conf_p_nt_hash(value, u->nt_hash, why, sizeof(why))
                                : set_nt_hash(value, u->nt_hash, why, sizeof(why));
    if (rc != 0)
        ns_conf_p_error(p, p->line, "%s: %s", name, why);
}

const struct ns_conf_user *ns_conf_find_user(const struct ns_conf *c, const uint8_t *name,
                                             size_t len)
{
    /* A linear search: one per login, against at most some thousands of
     * sections (a larger user base lives in RADIUS, X16). */
    for (unsigned i = 0; i < c->n_users; i++)
        if (c->users[i].name_len == len && memcmp(c->users[i].name, name, len) == 0)
            return &c->users[i];
    return NULL;
}

/* The first [peer] with auth = eap-mschapv2, or NULL. */
static const struct ns_conf_peer *first_eap_peer(const struct ns_conf *c)
{
    for (unsigned i = 0; i < c->n_peers; i++)
        if (c->peers[i].auth == NS_CONF_AUTH_EAP_MSCHAPV2)
            return &c->peers[i];
    return NULL;
}

/* Every user needs a password. Its NT hash is all zero only when none was
 * given (MD4 gives that for no password anyone could type). */
static bool users_complete(struct ns_conf_parser *p)
{
    static const uint8_t zero[NS_MSCHAPV2_HASH_LEN];
    for (unsigned i = 0; i < p->c->n_users; i++) {
        const struct ns_conf_user *u = &p->c->users[i];
        if (memcmp(u->nt_hash, zero, sizeof(zero)) == 0) {
            ns_conf_p_error(p, u->line, "[user %s] needs 'password' (or 'nt_hash')", u->name);
            return false;
        }
    }
    return true;
}

/* A client's [peer] with eap_user / eap_password, and a gateway's. */
static void check_peer(struct ns_conf_parser *p, const struct ns_conf_peer *peer,
                       const struct ns_conf_p_peer_meta *m)
{
    bool eap = peer->auth == NS_CONF_AUTH_EAP_MSCHAPV2;
    int user = m->key_line[NS_CONF_P_EAP_USER], pass = m->key_line[NS_CONF_P_EAP_PASSWORD];
    if (p->c->role == NS_CONF_GATEWAY) {
        if (user || pass)
            ns_conf_p_error(p, user ? user : pass,
                            "[peer %s]: eap_user and eap_password are a client's (a gateway "
                            "has [user <name>] sections)",
                            peer->name);
        return;
    }
    if (!eap && (user || pass)) {
        ns_conf_p_error(p, user ? user : pass,
                        "[peer %s]: eap_user and eap_password need auth = eap-mschapv2",
                        peer->name);
        return;
    }
    if (eap && !user)
        ns_conf_p_error(p, peer->line,
                        "[peer %s] says auth = eap-mschapv2: it needs 'eap_user' (the user name "
                        "to log in with)",
                        peer->name);
    if (eap && !pass)
        ns_conf_p_error(p, peer->line,
                        "[peer %s] says auth = eap-mschapv2: it needs 'eap_password'", peer->name);
}

void ns_conf_p_check_users(struct ns_conf_parser *p)
{
    const struct ns_conf *c = p->c;
    for (unsigned i = 0; i < c->n_peers; i++)
        check_peer(p, &c->peers[i], &p->meta[i]);
    if (c->role == NS_CONF_CLIENT && c->n_users) {
        ns_conf_p_error(p, c->users[0].line,
                        "[user %s]: [user] sections are a gateway's (a client logs in with "
                        "eap_user and eap_password in its [peer])",
                        c->users[0].name);
        return;
    }
    if (c->role != NS_CONF_GATEWAY || !users_complete(p))
        return;
    const struct ns_conf_peer *eap = first_eap_peer(c);
    if (eap && c->n_users == 0 && c->eap_backend == NS_CONF_EAP_LOCAL)
        ns_conf_p_error(p, eap->line,
                        "[peer %s] says auth = eap-mschapv2: no [user <name>] section gives a "
                        "user name and password to log in with",
                        eap->name);
    else if (!eap && c->n_users)
        NS_WARN("%s:%d: [user %s] is not used: no [peer] section says auth = eap-mschapv2", p->name,
                c->users[0].line, c->users[0].name);
}
