/* What an administrator asks of the engine beyond re-keys: deleting one
 * IKE SA (natsecctl disconnect), taking a reloaded configuration's [peer]
 * sections (natsecctl reload, SIGHUP), and a client's virtual IP to ask
 * for. */
#include <string.h>

#include "ike/ike_sa.h"
#include "util/container.h"

int ns_ike_engine_ask_vip(struct ns_ike_engine *e, const struct ns_addr *vip)
{
    if (e->conf->role != NS_CONF_CLIENT)
        return -1;
    if (vip)
        e->client_vip_hint = *vip;
    else
        memset(&e->client_vip_hint, 0, sizeof(e->client_vip_hint));
    return 0;
}

int ns_ike_engine_delete_sa(struct ns_ike_engine *e, uint64_t ike_sa_id, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = ns_eng_find_ike_sa_id(e, ike_sa_id);
    if (!sa)
        sa = ns_eng_find_id(e, ike_sa_id); /* half-open: not in the data plane yet */
    if (!sa || sa->state == NS_IKE_ST_DELETING || sa->state == NS_IKE_ST_DEAD)
        return -1;
    ns_eng_log_sa(sa);
    /* With a DELETE when authenticated, else locally (nothing to tell). */
    ns_eng_delete_ike(e, sa, NS_IKE_DOWN_LOCAL);
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
    return 0;
}

/* Every SA, DEAD ones included; deleting or killing one leaves it in by_id
 * and creates none, so the chains can be walked while it happens. */
#define FOR_EACH_SA(e, sa)                                                                         \
    for (size_t b_ = 0; b_ < (e)->by_id.nb; b_++)                                                  \
        for (struct ns_hnode *n_ = (e)->by_id.b[b_]; n_; n_ = n_->next)                            \
            for (struct ns_ikesa *sa = NS_CONTAINER_OF(n_, struct ns_ikesa, by_id); sa; sa = NULL)

unsigned ns_ike_engine_repeer(struct ns_ike_engine *e, ns_ike_peer_map_fn map, void *arg,
                              uint64_t now_ms)
{
    e->now = now_ms;
    if (e->conf->role == NS_CONF_CLIENT) {
        e->gw_peer = ns_conf_find_peer(e->conf, &e->conf->remote_id);
        if (!e->gw_peer)
            e->gw_peer = &e->conf->peers[0];
    }
    unsigned deleted = 0;
    FOR_EACH_SA(e, sa)
    {
        if (!sa->peer)
            continue; /* a gateway's half-open SA: it finds its section at IKE_AUTH */
        const struct ns_conf_peer *np = map(arg, sa->peer);
        if (np) {
            sa->peer = np;
            continue;
        }
        /* Its section went or changed: the SA goes (its DELETE or its
         * last answer still needs the old section, which the caller
         * keeps while ns_ike_engine_refers_to says so). */
        if (sa->state == NS_IKE_ST_DELETING || sa->state == NS_IKE_ST_DEAD)
            continue;
        ns_eng_log_sa(sa);
        NS_INFO("ike: IKE SA %016llx: its [peer %s] section was %s by a reload",
                (unsigned long long)sa->id, sa->peer->name,
                ns_conf_find_peer(e->conf, &sa->peer->id) ? "changed" : "removed");
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_LOCAL);
        ns_eng_log_done();
        deleted++;
    }
    ns_eng_report_wakeup(e);
    return deleted;
}

bool ns_ike_engine_refers_to(const struct ns_ike_engine *e, const struct ns_conf_peer *peers,
                             unsigned n)
{
    if (e->gw_peer >= peers && e->gw_peer < peers + n)
        return true;
    FOR_EACH_SA(e, sa)
    {
        if (sa->peer >= peers && sa->peer < peers + n)
            return true;
    }
    return false;
}
