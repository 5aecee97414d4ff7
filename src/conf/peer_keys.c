/* What the keys of a [peer <identity>] section mean, and how a section
 * begins: the [natsecd] keys are in keys.c. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/creds.h"
#include "conf/parse.h"
#include "conf/proposal_parse.h"
#include "conf/value.h"

#define MIN_PSK_LEN 16 /* shorter keys get a warning */

static const char *const peer_keys[NS_CONF_P_PEER_KEYS] = {
    "psk",  "subnets",  "mode",         "ike_proposals", "esp_proposals",
    "auth", "eap_user", "eap_password", "vip6_prefix"};

static int set_psk(struct ns_conf_parser *p, struct ns_conf_peer *peer, const char *v, char *err,
                   size_t errlen)
{
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        if (ns_conf_value_hex(v + 2, peer->psk, sizeof(peer->psk), &peer->psk_len, err, errlen) !=
            0) {
            /* The reason without the value: a typo in a key is still most
             * of the key, and start errors go to logs. */
            snprintf(err, errlen,
                     "0x must be followed by an even number of hex digits, at most %zu bytes "
                     "(the value is not shown: it is a secret)",
                     sizeof(peer->psk));
            return -1;
        }
    } else {
        size_t n = strlen(v);
        if (n > sizeof(peer->psk)) {
            snprintf(err, errlen, "longer than %zu bytes", sizeof(peer->psk));
            return -1;
        }
        memcpy(peer->psk, v, n);
        peer->psk_len = n;
    }
    if (peer->psk_len < MIN_PSK_LEN)
        NS_WARN("%s:%d: the psk of [peer %s] is %zu bytes; use at least %d random bytes", p->name,
                p->line, peer->name, peer->psk_len, MIN_PSK_LEN);
    return 0;
}

static int subnet_item(const char *item, void *arg, char *err, size_t errlen)
{
    struct ns_conf_peer *peer = arg;
    if (peer->n_subnets == NS_CONF_MAX_SUBNETS) {
        snprintf(err, errlen, "more than %d subnets", NS_CONF_MAX_SUBNETS);
        return -1;
    }
    return ns_conf_value_ts(item, &peer->subnets[peer->n_subnets++], err, errlen);
}

static int set_peer_key(struct ns_conf_parser *p, struct ns_conf_peer *peer,
                        enum ns_conf_p_peer_key k, const char *v, char *err, size_t errlen)
{
    int n;
    switch (k) {
    case NS_CONF_P_PSK:
        return set_psk(p, peer, v, err, errlen);
    case NS_CONF_P_SUBNETS:
        return ns_conf_value_list(v, subnet_item, peer, err, errlen);
    case NS_CONF_P_MODE:
        if (strcmp(v, "tunnel") == 0)
            peer->mode = NS_ESP_TUNNEL;
        else if (strcmp(v, "transport") == 0)
            peer->mode = NS_ESP_TRANSPORT;
        else {
            snprintf(err, errlen, "'%s' is neither tunnel nor transport", v);
            return -1;
        }
        return 0;
    case NS_CONF_P_IKE:
        n = ns_proposal_list_parse(v, NS_PROTO_IKE, peer->ike, NS_MAX_PROPOSALS, err, errlen);
        peer->n_ike = n > 0 ? (unsigned)n : 0;
        return n < 0 ? -1 : 0;
    case NS_CONF_P_ESP:
        n = ns_proposal_list_parse(v, NS_PROTO_ESP, peer->esp, NS_MAX_PROPOSALS, err, errlen);
        peer->n_esp = n > 0 ? (unsigned)n : 0;
        return n < 0 ? -1 : 0;
    case NS_CONF_P_AUTH:
        return ns_conf_p_set_auth(peer, v, err, errlen);
    case NS_CONF_P_EAP_USER:
        n = (int)strlen(v);
        if (n > NS_EAP_IDENTITY_MAX) {
            snprintf(err, errlen, "longer than %d bytes", NS_EAP_IDENTITY_MAX);
            return -1;
        }
        memcpy(peer->eap_user, v, (size_t)n + 1);
        peer->eap_user_len = (size_t)n;
        return 0;
    case NS_CONF_P_EAP_PASSWORD:
        return ns_conf_p_nt_hash(v, peer->eap_nt_hash, err, errlen);
    case NS_CONF_P_VIP6_PREFIX: {
        uint64_t len;
        if (ns_conf_value_uint(v, NS_CONF_VIP6_PREFIX_MIN, 127, &len, err, errlen) != 0)
            return -1;
        peer->vip6_prefix = (unsigned)len;
        return 0;
    }
    default:
        return -1;
    }
}

void ns_conf_p_peer_key(struct ns_conf_parser *p, const char *name, const char *value)
{
    struct ns_conf_peer *peer = &p->c->peers[p->c->n_peers - 1];
    struct ns_conf_p_peer_meta *meta = &p->meta[p->c->n_peers - 1];
    if (strcmp(name, "ah_proposals") == 0) {
        char why[256];
        ns_conf_p_refuse_ah(p, value, why, sizeof(why));
        ns_conf_p_error(p, p->line, "%s: %s", name, why);
        return;
    }
    int k = -1;
    for (int i = 0; i < NS_CONF_P_PEER_KEYS; i++)
        if (strcmp(peer_keys[i], name) == 0)
            k = i;
    if (k < 0) {
        ns_conf_p_error(p, p->line, "unknown key '%s' in [peer %s]", name, peer->name);
        return;
    }
    if (meta->key_line[k]) {
        ns_conf_p_error(p, p->line, "'%s' is set twice (first on line %d)", name,
                        meta->key_line[k]);
        return;
    }
    meta->key_line[k] = p->line;
    meta->value[k] = strdup(value);
    char why[512];
    if (set_peer_key(p, peer, (enum ns_conf_p_peer_key)k, value, why, sizeof(why)) != 0)
        ns_conf_p_error(p, p->line, "%s: %s", name, why);
}

void *ns_conf_p_grow_wiped(void *old, size_t used, size_t cap)
{
    uint8_t *n = malloc(cap);
    if (!n)
        return NULL;
    if (old) {
        memcpy(n, old, used);
        OPENSSL_cleanse(old, used);
        free(old);
    }
    return n;
}

/* The peers array with room for cap sections. */
static struct ns_conf_peer *grow_peers(struct ns_conf *c, unsigned cap)
{
    struct ns_conf_peer *np =
        ns_conf_p_grow_wiped(c->peers, c->n_peers * sizeof(*np), cap * sizeof(*np));
    if (np)
        c->peers = np;
    return np;
}

void ns_conf_p_begin_peer(struct ns_conf_parser *p, const char *ident)
{
    struct ns_conf *c = p->c;
    struct ns_conf_peer peer;
    memset(&peer, 0, sizeof(peer));
    if (*ident == '\0') {
        ns_conf_p_error(p, p->line, "[peer] needs an identity, e.g. [peer alice@corp.example]");
        p->sec = NS_CONF_P_BAD;
        return;
    }
    if (strlen(ident) >= sizeof(peer.name)) {
        ns_conf_p_error(p, p->line, "peer identity '%.40s...' is too long", ident);
        p->sec = NS_CONF_P_BAD;
        return;
    }
    strcpy(peer.name, ident);
    if (strcmp(ident, "%default") == 0) {
        peer.is_default = true;
    } else {
        char why[512];
        if (ns_conf_id_parse_err(ident, &peer.id, why, sizeof(why)) != 0) {
            ns_conf_p_error(p, p->line, "[peer %s]: %s", ident, why);
            p->sec = NS_CONF_P_BAD;
            return;
        }
    }
    if (c->n_peers == p->peers_cap) {
        unsigned cap = p->peers_cap ? p->peers_cap * 2 : 8;
        struct ns_conf_peer *np = grow_peers(c, cap);
        struct ns_conf_p_peer_meta *nm = np ? realloc(p->meta, cap * sizeof(*nm)) : NULL;
        if (nm)
            p->meta = nm;
        if (!np || !nm) {
            ns_conf_p_error(p, p->line, "out of memory");
            p->sec = NS_CONF_P_BAD;
            return;
        }
        p->peers_cap = cap;
    }
    peer.mode = NS_ESP_TUNNEL;
    peer.line = p->line;
    c->peers[c->n_peers] = peer;
    int dup = ns_conf_p_index_add(c, c->n_peers);
    if (dup != -1) {
        if (dup >= 0)
            ns_conf_p_error(p, p->line, "duplicate [peer %s] (first on line %d)", ident,
                            c->peers[dup].line);
        else
            ns_conf_p_error(p, p->line, "out of memory");
        p->sec = NS_CONF_P_BAD;
        return;
    }
    memset(&p->meta[c->n_peers], 0, sizeof(p->meta[0]));
    c->n_peers++;
    p->sec = NS_CONF_P_PEER;
}

const char *ns_conf_p_peer_key_name(enum ns_conf_p_peer_key k)
{
    return (unsigned)k < NS_CONF_P_PEER_KEYS ? peer_keys[k] : "?";
}
