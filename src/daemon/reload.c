/* Reload (SIGHUP, natsecctl reload, systemctl reload): the configuration
 * file is read again and its [peer] sections take effect without dropping
 * anyone else:
 *   - a section that is new takes effect for the next IKE_AUTH;
 *   - a section removed or changed (any key, as written) has its IKE SAs
 *     deleted, with a DELETE to the peer, which (a natsec or strongSwan
 *     client) reconnects under the new section, e.g. with narrower
 *     subnets; only those;
 *   - every other IKE SA moves to its unchanged new section and keeps its
 *     CHILD_SAs, keys and traffic;
 *   - [user] sections apply from the next login on;
 *   - log_level and log_target apply at once.
 * A file that does not load is refused with its "file:line: reason", and
 * so is a change to any other [natsecd] key (sockets, TUN device, pool,
 * proposals, timers: what the running daemon was built from), which needs
 * a restart; the running configuration then stays as it was.
 *
 * The old sections stay allocated while an IKE SA that is being deleted
 * (or lingers to answer a retransmission) still points into them; each
 * reload frees those no longer used, and nsd_stop the rest. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "util/log.h"

struct nsd_retired {
    struct ns_conf conf; /* only what moved out of d->conf: peers, index, creds, users, values */
    struct nsd_retired *next;
};

static const struct ns_conf_peer *same_peer(void *arg, const struct ns_conf_peer *old)
{
    return ns_conf_same_peer(arg, old);
}

static bool has_section(const struct ns_conf *c, const char *name)
{
    for (unsigned i = 0; i < c->n_peers; i++)
        if (strcmp(c->peers[i].name, name) == 0)
            return true;
    return false;
}

/* Moves nc's peers, their index, the credentials, the users and the values as
 * written into d->conf, and d->conf's into a retired record. Only those:
 * the outbound worker reads other fields of d->conf (equal in both). */
static struct nsd_retired *swap_in(struct nsd *d, struct ns_conf *nc)
{
    struct nsd_retired *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    struct ns_conf *c = &d->conf;
    r->conf.peers = c->peers;
    r->conf.n_peers = c->n_peers;
    r->conf.peer_slots = c->peer_slots;
    r->conf.n_peer_slots = c->n_peer_slots;
    r->conf.creds = c->creds;
    r->conf.users = c->users;
    r->conf.n_users = c->n_users;
    memcpy(r->conf.main_value, c->main_value, sizeof(c->main_value));
    c->peers = nc->peers;
    c->n_peers = nc->n_peers;
    c->peer_slots = nc->peer_slots;
    c->n_peer_slots = nc->n_peer_slots;
    c->creds = nc->creds;
    c->users = nc->users;
    c->n_users = nc->n_users;
    memcpy(c->main_value, nc->main_value, sizeof(c->main_value));
    memcpy(c->main_value_line, nc->main_value_line, sizeof(c->main_value_line));
    c->main_line = nc->main_line;
    c->log_level = nc->log_level;
    c->log_target = nc->log_target;
    nc->peers = NULL;
    nc->n_peers = 0;
    nc->peer_slots = NULL;
    nc->n_peer_slots = 0;
    nc->creds = NULL;
    nc->users = NULL;
    nc->n_users = 0;
    memset(nc->main_value, 0, sizeof(nc->main_value));
    return r;
}

/* Frees the retired sections no IKE SA uses any more; with all, every one. */
static void free_retired(struct nsd *d, bool all)
{
    for (struct nsd_retired **pp = &d->retired; *pp;) {
        struct nsd_retired *r = *pp;
        if (!all && d->engine &&
            ns_ike_engine_refers_to(d->engine, r->conf.peers, r->conf.n_peers)) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        ns_conf_free(&r->conf);
        free(r);
    }
}

int nsd_reload(struct nsd *d, char *msg, size_t len)
{
    nsd_service_status("RELOADING=1");
    static struct ns_conf nc; /* large: not on the stack */
    char err[1024];
    if (ns_conf_load(d->conf_path, &nc, err, sizeof(err)) != 0 ||
        ns_conf_reload_check(&d->conf, &nc, d->conf_path, err, sizeof(err)) != 0) {
        ns_conf_free(&nc);
        NS_ERR("reload refused, the running configuration stays: %s", err);
        snprintf(msg, len, "refused, the running configuration stays: %s", err);
        nsd_service_status("READY=1");
        return -1;
    }
    unsigned added = 0, removed = 0, changed = 0, kept = 0;
    for (unsigned i = 0; i < d->conf.n_peers; i++) {
        const struct ns_conf_peer *p = &d->conf.peers[i];
        if (ns_conf_same_peer(&nc, p))
            kept++;
        else if (has_section(&nc, p->name))
            changed++;
        else
            removed++;
    }
    for (unsigned i = 0; i < nc.n_peers; i++)
        added += !has_section(&d->conf, nc.peers[i].name);
    struct nsd_retired *r = swap_in(d, &nc);
    ns_conf_free(&nc);
    if (!r) {
        /* Nothing moved (swap_in failed before touching d->conf). */
        NS_ERR("reload refused: out of memory");
        snprintf(msg, len, "refused: out of memory");
        nsd_service_status("READY=1");
        return -1;
    }
    r->next = d->retired;
    d->retired = r;
    if (!d->debug)
        ns_log_set_level(d->conf.log_level);
    ns_log_set_target(nsd_log_target(d->conf.log_target, d->foreground), "natsecd");
    if (d->conf.role == NS_CONF_CLIENT && changed + removed > 0)
        nsd_reconnect_after_reload(d);
    unsigned deleted =
        ns_ike_engine_repeer(d->engine, same_peer, &d->conf, ns_loop_now_ms(d->loop));
    nsd_engine_rearm(d);
    free_retired(d, false);
    snprintf(msg, len,
             "reloaded %s: %u [peer] section(s) added, %u removed, %u changed, %u unchanged; "
             "%u IKE SA(s) deleted",
             d->conf_path, added, removed, changed, kept, deleted);
    NS_INFO("%s", msg);
    nsd_service_status("READY=1");
    return 0;
}

void nsd_reload_free(struct nsd *d)
{
    free_retired(d, true);
}

static void on_sighup(struct ns_loop *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
    char msg[1200];
    nsd_reload(arg, msg, sizeof(msg));
}

int nsd_reload_start(struct nsd *d)
{
    return ns_loop_on_signal(d->loop, SIGHUP, on_sighup, d);
}
