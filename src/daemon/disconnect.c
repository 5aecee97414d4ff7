/* natsecctl disconnect WHAT: deletes the IKE SAs WHAT names, with a DELETE
 * to each peer (ns_ike_engine_delete_sa), so the peer's side goes at once.
 * WHAT is matched against every IKE SA as status shows it: its id
 * ("0x..." as in status), the peer's authenticated identity, its outer
 * address with port ("198.51.100.11:4500", as used now, after NAT) or
 * without (every SA from that address: everyone behind one NAT). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "util/log.h"

#define NSD_DISCONNECT_MAX 4096 /* SAs one request deletes; a NAT hides at most this many */

struct match {
    const char *what;
    uint64_t *ids;
    unsigned n;
    bool truncated;
    char first[NS_CONF_ID_STRLEN + NS_ENDPOINT_STRLEN + 4]; /* the first match, for the log */
};

static bool matches(const char *what, const struct ns_ike_sa_status *st)
{
    char buf[NS_CONF_ID_STRLEN];
    snprintf(buf, sizeof(buf), "0x%016" PRIx64, st->id);
    if (strcmp(what, buf) == 0)
        return true;
    if (st->remote_id.type && strcmp(what, ns_conf_id_str(&st->remote_id, buf)) == 0)
        return true;
    if (st->remote.addr.family == 0)
        return false;
    char ep[NS_ENDPOINT_STRLEN], addr[NS_ADDR_STRLEN];
    return strcmp(what, ns_endpoint_str(&st->remote, ep)) == 0 ||
           strcmp(what, ns_addr_str(&st->remote.addr, addr)) == 0;
}

static void collect(void *arg, const struct ns_ike_sa_status *st)
{
    struct match *m = arg;
    if (!matches(m->what, st))
        return;
    for (unsigned i = 0; i < m->n; i++)
        if (m->ids[i] == st->id)
            return; /* an IKE SA and the one it was re-keyed into share the id */
    if (m->n == NSD_DISCONNECT_MAX) {
        m->truncated = true;
        return;
    }
    if (m->n == 0) {
        char id[NS_CONF_ID_STRLEN], ep[NS_ENDPOINT_STRLEN];
        snprintf(m->first, sizeof(m->first), "%s at %s",
                 st->remote_id.type ? ns_conf_id_str(&st->remote_id, id) : "(unauthenticated)",
                 st->remote.addr.family ? ns_endpoint_str(&st->remote, ep) : "-");
    }
    m->ids[m->n++] = st->id;
}

json_object *nsd_disconnect(struct nsd *d, const char *what)
{
    json_object *o = json_object_new_object();
    struct match m = {.what = what, .ids = malloc(NSD_DISCONNECT_MAX * sizeof(uint64_t))};
    if (!m.ids) {
        json_object_object_add(o, "error", json_object_new_string("out of memory"));
        return o;
    }
    ns_ike_engine_foreach(d->engine, collect, &m);
    unsigned deleted = 0;
    uint64_t now = ns_loop_now_ms(d->loop);
    for (unsigned i = 0; i < m.n; i++)
        if (ns_ike_engine_delete_sa(d->engine, m.ids[i], now) == 0)
            deleted++;
    nsd_engine_rearm(d);
    free(m.ids);
    char msg[NS_CONF_ID_STRLEN + 160];
    if (deleted == 0) {
        snprintf(msg, sizeof(msg), "no IKE SA matches '%s' (an id, identity, or address[:port])",
                 what);
        json_object_object_add(o, "error", json_object_new_string(msg));
        return o;
    }
    if (deleted == 1)
        snprintf(msg, sizeof(msg), "deleting the IKE SA of %s", m.first);
    else
        snprintf(msg, sizeof(msg), "deleting %u IKE SAs (%s%s)", deleted, what,
                 m.truncated ? ", more remain: ask again" : "");
    NS_INFO("control: disconnect %s: %s", what, msg);
    json_object_object_add(o, "result", json_object_new_string(msg));
    json_object_object_add(o, "deleted", json_object_new_int64(deleted));
    return o;
}
