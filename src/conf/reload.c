/* What a reload may change (daemon/reload.c): the [peer] sections, and
 * log_level and log_target. Everything else in [natsecd] (sockets, TUN
 * device, pool, proposals, timers, ...) is what the running daemon was
 * built from, so a change there is refused and needs a restart.
 *
 * Both sides are compared as written, not as parsed: "yes" and "true" are
 * a change, which only makes a reload refuse more than it must. A key
 * added to keys.c is compared without an edit here. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/parse.h"

/* The keys a running natsecd takes from a new file. */
static bool reloadable(const char *key)
{
    return strcmp(key, "log_level") == 0 || strcmp(key, "log_target") == 0;
}

static void digest_peer(struct ns_conf_peer *peer, const struct ns_conf_p_peer_meta *m)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned len = 0;
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (int k = 0; ok && k < NS_CONF_P_PEER_KEYS; k++) {
        if (!m->key_line[k])
            continue;
        /* A key set whose copy failed (no memory) gets a digest no other
         * section has: the section counts as changed. */
        const char *name = ns_conf_p_peer_key_name((enum ns_conf_p_peer_key)k);
        const char *v = m->value[k] ? m->value[k] : "\n(unknown)\n";
        ok = EVP_DigestUpdate(ctx, name, strlen(name) + 1) == 1 &&
             EVP_DigestUpdate(ctx, v, strlen(v) + 1) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, peer->digest, &len) == 1 && len == NS_CONF_DIGEST_LEN;
    EVP_MD_CTX_free(ctx);
    if (!ok) /* also a digest no other section has */
        memset(peer->digest, 0xff, sizeof(peer->digest));
}

void ns_conf_p_seal(struct ns_conf_parser *p)
{
    for (unsigned i = 0; i < p->c->n_peers; i++) {
        struct ns_conf_p_peer_meta *m = &p->meta[i];
        digest_peer(&p->c->peers[i], m);
        for (int k = 0; k < NS_CONF_P_PEER_KEYS; k++) {
            if (m->value[k]) /* a PSK among them */
                OPENSSL_cleanse(m->value[k], strlen(m->value[k]));
            free(m->value[k]);
            m->value[k] = NULL;
        }
    }
}

int ns_conf_reload_check(const struct ns_conf *old, const struct ns_conf *nw, const char *path,
                         char *err, size_t errlen)
{
    for (unsigned i = 0; i < NS_CONF_MAX_MAIN_KEYS; i++) {
        const char *key = ns_conf_p_main_key_name(i);
        if (!key)
            break;
        const char *a = old->main_value[i], *b = nw->main_value[i];
        bool set_a = old->main_value_line[i] != 0, set_b = nw->main_value_line[i] != 0;
        if (reloadable(key) || (!set_a && !set_b) || (a && b && strcmp(a, b) == 0))
            continue;
        snprintf(err, errlen, "%s:%d: %s cannot change without a restart (was %s%s%s, now %s%s%s)",
                 path, set_b ? nw->main_value_line[i] : nw->main_line, key, set_a ? "'" : "",
                 set_a ? (a ? a : "?") : "the default", set_a ? "'" : "", set_b ? "'" : "",
                 set_b ? (b ? b : "?") : "the default", set_b ? "'" : "");
        return -1;
    }
    return 0;
}

const struct ns_conf_peer *ns_conf_same_peer(const struct ns_conf *nw, const struct ns_conf_peer *p)
{
    const struct ns_conf_peer *q = NULL;
    if (p->is_default) {
        for (unsigned i = 0; i < nw->n_peers && !q; i++)
            if (nw->peers[i].is_default)
                q = &nw->peers[i];
    } else {
        q = ns_conf_find_peer(nw, &p->id);
        if (q && q->is_default)
            q = NULL; /* p's own section is gone; %default is another one */
    }
    if (!q || strcmp(q->name, p->name) != 0 ||
        memcmp(q->digest, p->digest, NS_CONF_DIGEST_LEN) != 0)
        return NULL;
    return q;
}
