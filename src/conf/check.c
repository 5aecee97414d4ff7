/* Validation of natsecd's configuration as a whole (required keys, keys of
 * the other role, conflicts between keys), and the O(1) index of peers by
 * identity. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf/creds.h"
#include "conf/parse.h"

/* ---- whole-file validation --------------------------------------------- */

/* Where a conflict between two keys shows: the later of the two. */
static int later_line(const struct ns_conf_parser *p, const char *a, const char *b)
{
    int la = ns_conf_p_key_line(p, a), lb = ns_conf_p_key_line(p, b);
    return la > lb ? la : lb;
}

static void require(struct ns_conf_parser *p, const char *key, const char *what)
{
    if (!ns_conf_p_key_line(p, key))
        ns_conf_p_error(p, p->main_line, "[natsecd] needs '%s' (%s)", key, what);
}

static void refuse_for_role(struct ns_conf_parser *p, const char *key, const char *role)
{
    int line = ns_conf_p_key_line(p, key);
    if (line)
        ns_conf_p_error(p, line, "'%s' is not a %s setting", key, role);
}

/* Of the identity as ns_conf_id_match compares it: letters of the text
 * types folded to lower case. */
static uint32_t id_hash(const struct ns_conf_id *id)
{
    bool fold = ns_conf_id_text_type(id->type);
    uint32_t h = 2166136261u ^ id->type; /* FNV-1a */
    for (size_t i = 0; i < id->len; i++)
        h = (h ^ (uint8_t)(fold ? tolower(id->data[i]) : id->data[i])) * 16777619u;
    return h;
}

static const struct ns_conf_peer *lookup(const struct ns_conf *c, const struct ns_conf_id *id,
                                         bool is_default)
{
    if (!c->n_peer_slots)
        return NULL;
    unsigned mask = c->n_peer_slots - 1;
    for (unsigned s = id_hash(id) & mask; c->peer_slots[s]; s = (s + 1) & mask) {
        const struct ns_conf_peer *peer = &c->peers[c->peer_slots[s] - 1];
        if (peer->is_default == is_default && ns_conf_id_match(&peer->id, id))
            return peer;
    }
    return NULL;
}

static void slot_put(unsigned *slots, unsigned n_slots, const struct ns_conf_id *id, unsigned i)
{
    unsigned s = id_hash(id) & (n_slots - 1);
    while (slots[s])
        s = (s + 1) & (n_slots - 1);
    slots[s] = i + 1; /* 0 marks an empty slot */
}

/* Open addressing at most half full; grown by doubling and rehashing. */
int ns_conf_p_index_add(struct ns_conf *c, unsigned i)
{
    const struct ns_conf_peer *peer = &c->peers[i];
    const struct ns_conf_peer *dup = lookup(c, &peer->id, peer->is_default);
    if (dup)
        return (int)(dup - c->peers);
    if ((i + 1) * 2 > c->n_peer_slots) {
        unsigned n = c->n_peer_slots ? c->n_peer_slots * 2 : 16;
        unsigned *slots = calloc(n, sizeof(*slots));
        if (!slots)
            return -2;
        for (unsigned k = 0; k < i; k++)
            slot_put(slots, n, &c->peers[k].id, k);
        free(c->peer_slots);
        c->peer_slots = slots;
        c->n_peer_slots = n;
    }
    slot_put(c->peer_slots, c->n_peer_slots, &peer->id, i);
    return -1;
}

static void validate_peers(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    for (unsigned i = 0; i < c->n_peers; i++) {
        struct ns_conf_peer *peer = &c->peers[i];
        const struct ns_conf_p_peer_meta *m = &p->meta[i];
        if (!m->key_line[NS_CONF_P_PSK] && peer->auth == NS_CONF_AUTH_PSK)
            ns_conf_p_error(p, peer->line, "[peer %s] needs 'psk' (or auth = pubkey)", peer->name);
        /* No implicit any-to-any (R9): a tunnel's reach is always written. */
        if (!m->key_line[NS_CONF_P_SUBNETS] && peer->mode == NS_ESP_TUNNEL)
            ns_conf_p_error(p, peer->line, "[peer %s] needs 'subnets'", peer->name);
        if (peer->is_default && c->role == NS_CONF_CLIENT)
            ns_conf_p_error(p, peer->line, "[peer %%default] is for a gateway only");
        if (peer->n_ike == 0) {
            memcpy(peer->ike, c->ike, sizeof(c->ike));
            peer->n_ike = c->n_ike;
        }
        if (peer->n_esp == 0) {
            memcpy(peer->esp, c->esp, sizeof(c->esp));
            peer->n_esp = c->n_esp;
        }
    }
}

void ns_conf_p_validate(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    if (!p->main_line) {
        ns_conf_p_error(p, p->line ? p->line : 1, "no [natsecd] section in the file");
        return;
    }
    require(p, "role", "gateway or client");
    require(p, "local_id", "this host's identity");
    if (c->role == NS_CONF_GATEWAY) {
        require(p, "pool", "the virtual IP pool, e.g. 10.99.0.0/24");
        refuse_for_role(p, "gateway", "gateway");
        refuse_for_role(p, "remote_id", "gateway");
        refuse_for_role(p, "initial_contact", "gateway");
        if (!ns_conf_p_key_line(p, "listen")) {
            memset(&c->listen, 0, sizeof(c->listen)); /* 0.0.0.0 and :: */
            c->listen.family = AF_INET6;
            c->listen_dual = true;
        }
        refuse_for_role(p, "transport", "gateway");
        refuse_for_role(p, "tcp_fallback", "gateway");
        refuse_for_role(p, "dns_apply", "gateway");
        refuse_for_role(p, "tcp_udp_probe", "gateway");
        if (c->n_peers == 0)
            ns_conf_p_error(p, p->main_line,
                            "a gateway needs at least one [peer <identity>] section");
    } else if (c->role == NS_CONF_CLIENT) {
        require(p, "gateway", "the gateway's address");
        require(p, "remote_id", "the identity the gateway must prove");
        refuse_for_role(p, "pool", "client");
        refuse_for_role(p, "pool6", "client");
        refuse_for_role(p, "dns", "client");
        refuse_for_role(p, "dns_domains", "client");
        refuse_for_role(p, "ike_sas_per_id", "client");
        refuse_for_role(p, "unique", "client");
        if (c->n_listen_only)
            ns_conf_p_error(p, ns_conf_p_key_line(p, "listen"),
                            "listen: a client listens on one address, or on the wildcards");
        refuse_for_role(p, "tcp_handshake_timeout", "client");
        refuse_for_role(p, "tcp_idle_timeout", "client");
        refuse_for_role(p, "tcp_per_source", "client");
        refuse_for_role(p, "tcp_max_connections", "client");
        if (c->tcp_port == 0 && c->transport != NS_CONF_TRANSPORT_UDP)
            ns_conf_p_error(p, later_line(p, "tcp_port", "transport"),
                            "tcp_port 0 leaves no TCP to fall back on: say transport = udp");
        /* A name may resolve to either version: listen on both. */
        if (!ns_conf_p_key_line(p, "listen") && c->gateway_name[0]) {
            memset(&c->listen, 0, sizeof(c->listen));
            c->listen.family = AF_INET6;
            c->listen_dual = true;
        }
        if (!ns_conf_p_key_line(p, "listen") && c->gateway.family == AF_INET6) {
            memset(&c->listen, 0, sizeof(c->listen)); /* :: */
            c->listen.family = AF_INET6;
        }
        if (c->gateway.family && !c->listen_dual && c->listen.family != c->gateway.family)
            ns_conf_p_error(p, ns_conf_p_key_line(p, "listen"),
                            "listen and gateway are different IP versions");
    }
    if (c->ike_port == c->natt_port)
        ns_conf_p_error(p, later_line(p, "ike_port", "natt_port"),
                        "ike_port and natt_port must differ");
    if (c->cookie_threshold > c->half_open_max)
        ns_conf_p_error(p, later_line(p, "cookie_threshold", "half_open_max"),
                        "cookie_threshold (%u) is above half_open_max (%u)", c->cookie_threshold,
                        c->half_open_max);
    if (c->n_ike == 0 || c->n_esp == 0)
        ns_conf_p_error(p, p->main_line, "internal: the default proposals do not parse");
    ns_conf_p_legacy(p);
    validate_peers(p);
    if (!p->err_line)
        ns_conf_p_check_radius(p);
    if (!p->err_line)
        ns_conf_p_check_users(p);
    if (!p->err_line)
        ns_conf_p_load_creds(p);
    if (p->err_line)
        return;
    if (c->role == NS_CONF_CLIENT) {
        const struct ns_conf_peer *gw = ns_conf_find_peer(c, &c->remote_id);
        if (!gw || gw->is_default)
            ns_conf_p_error(p, ns_conf_p_key_line(p, "remote_id"),
                            "no [peer ...] section for remote_id (it holds the gateway's psk)");
    }
}

const struct ns_conf_peer *ns_conf_find_peer(const struct ns_conf *c, const struct ns_conf_id *id)
{
    static const struct ns_conf_id none; /* %default is stored under the empty ID */
    const struct ns_conf_peer *peer = id ? lookup(c, id, false) : NULL;
    return peer ? peer : lookup(c, &none, true);
}
