/* What the engine tells the outside: status snapshots and counters for
 * natsecctl (X10), names of states, notifies and down reasons, and the log
 * line of an established IKE SA (tests grep it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/proposal_parse.h"
#include "ike/ike_sa.h"
#include "util/container.h"

const char *ns_ike_down_reason_str(enum ns_ike_down_reason r)
{
    switch (r) {
    case NS_IKE_DOWN_LOCAL:
        return "closed locally";
    case NS_IKE_DOWN_PEER_DELETE:
        return "deleted by the peer";
    case NS_IKE_DOWN_TIMEOUT:
        return "peer not answering";
    case NS_IKE_DOWN_AUTH_FAILED:
        return "authentication failed";
    case NS_IKE_DOWN_NEGOTIATION:
        return "negotiation failed";
    case NS_IKE_DOWN_EXPIRED:
        return "lifetime expired";
    case NS_IKE_DOWN_SETUP:
        return "setup failed";
    }
    return "?";
}

bool ns_ike_down_retry(enum ns_ike_down_reason r)
{
    return r != NS_IKE_DOWN_LOCAL && r != NS_IKE_DOWN_NEGOTIATION;
}

const char *ns_eng_notify_name(uint16_t type)
{
    switch (type) {
    case NS_N_UNSUPPORTED_CRITICAL_PAYLOAD:
        return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case NS_N_INVALID_IKE_SPI:
        return "INVALID_IKE_SPI";
    case NS_N_INVALID_SYNTAX:
        return "INVALID_SYNTAX";
    case NS_N_NO_PROPOSAL_CHOSEN:
        return "NO_PROPOSAL_CHOSEN";
    case NS_N_INVALID_KE_PAYLOAD:
        return "INVALID_KE_PAYLOAD";
    case NS_N_AUTHENTICATION_FAILED:
        return "AUTHENTICATION_FAILED";
    case NS_N_SINGLE_PAIR_REQUIRED:
        return "SINGLE_PAIR_REQUIRED";
    case NS_N_NO_ADDITIONAL_SAS:
        return "NO_ADDITIONAL_SAS";
    case NS_N_INTERNAL_ADDRESS_FAILURE:
        return "INTERNAL_ADDRESS_FAILURE";
    case NS_N_FAILED_CP_REQUIRED:
        return "FAILED_CP_REQUIRED";
    case NS_N_TS_UNACCEPTABLE:
        return "TS_UNACCEPTABLE";
    case NS_N_INVALID_SELECTORS:
        return "INVALID_SELECTORS";
    case NS_N_TEMPORARY_FAILURE:
        return "TEMPORARY_FAILURE";
    case NS_N_CHILD_SA_NOT_FOUND:
        return "CHILD_SA_NOT_FOUND";
    default:
        return "an error notify";
    }
}

void ns_eng_log_established(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    char li[NS_CONF_ID_STRLEN], ri[NS_CONF_ID_STRLEN];
    char le[NS_ENDPOINT_STRLEN], re[NS_ENDPOINT_STRLEN], vip[NS_ADDR_STRLEN],
        vip6[NS_ADDR_STRLEN + 8];
    if (sa->vip6.family) {
        vip6[0] = ' ';
        ns_addr_str(&sa->vip6, vip6 + 1);
        if (sa->vip6_len < 128)
            snprintf(vip6 + strlen(vip6), sizeof(vip6) - strlen(vip6), "/%u", sa->vip6_len);
    } else {
        vip6[0] = 0;
    }
    NS_INFO("ike: IKE SA %016llx established: local '%s' %s, remote '%s' %s, "
            "NAT: local %s, "
            "remote %s%s, virtual IP %s%s",
            (unsigned long long)sa->id, ns_eng_id_str(&e->conf->local_id, li),
            ns_endpoint_str(&sa->local, le), ns_eng_id_str(&sa->remote_id, ri),
            ns_endpoint_str(&sa->remote, re), sa->nat_local ? "yes" : "no",
            sa->nat_remote ? "yes" : "no", e->conf->force_encap ? " (encapsulation forced)" : "",
            sa->vip.family ? ns_addr_str(&sa->vip, vip) : "none", vip6);
}

static void child_status(const struct ns_ike_child *c, struct ns_ike_child_status *out)
{
    memset(out, 0, sizeof(*out));
    out->spi_in = c->spi_in;
    out->spi_out = c->spi_out;
    out->mode = c->mode;
    out->udp_encap = c->udp_encap;
    out->alg = c->alg;
    ns_proposal_str(&c->alg, out->alg_str, sizeof(out->alg_str));
    out->n_local_ts = c->n_local_ts;
    memcpy(out->local_ts, c->local_ts, sizeof(out->local_ts));
    out->n_remote_ts = c->n_remote_ts;
    memcpy(out->remote_ts, c->remote_ts, sizeof(out->remote_ts));
    out->created_ms = c->created_ms;
    out->state = ns_child_state_name(c->cstate);
    out->rekey_ms = c->cstate == NS_CHILD_INSTALLED ? c->rekey_at : NS_IKE_NEVER;
    out->expire_ms = c->expire_at;
    out->rekeys = c->rekeys;
}

static void sa_status(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                      struct ns_ike_sa_status *st)
{
    memset(st, 0, sizeof(*st));
    st->id = sa->ike_sa_id;
    st->spi_i = sa->spi_i;
    st->spi_r = sa->spi_r;
    st->initiator = sa->initiator;
    st->state = ns_ike_state_name(sa->state);
    st->local_id = e->conf->local_id;
    st->remote_id = sa->remote_id;
    st->peer_name = sa->peer && sa->state >= NS_IKE_ST_ESTABLISHED ? sa->peer->name : "";
    st->local = sa->local;
    st->remote = sa->remote;
    st->nat_local = sa->nat_local;
    st->nat_remote = sa->nat_remote;
    st->fragmentation = sa->frag;
    st->udp_encap = ns_eng_udp_encap(e, sa);
    st->forced_encap = e->conf->force_encap;
    st->vip = sa->vip;
    st->vip6 = sa->vip6;
    st->vip6_len = sa->vip6_len;
    st->dns_domains = sa->dns_domains;
    st->ike_alg = sa->ike_alg;
    if (sa->ike_alg.protocol)
        ns_proposal_str(&sa->ike_alg, st->ike_alg_str, sizeof(st->ike_alg_str));
    for (unsigned i = 0; i < sa->n_child && i < NS_IKE_STATUS_MAX_CHILD; i++)
        child_status(&sa->child[i], &st->child[st->n_child++]);
    st->created_ms = sa->created_ms;
    st->established_ms = sa->established_ms;
    st->last_rx_ms = sa->last_rx_ms;
    bool live = sa->state == NS_IKE_ST_ESTABLISHED;
    st->rekey_ms = live && !sa->create_child ? sa->rekey_at : NS_IKE_NEVER;
    st->expire_ms = live ? sa->expire_at : NS_IKE_NEVER;
    st->rekeys = sa->rekeys;
    st->mobike = sa->mob.st != NS_MOBIKE_OFF;
    st->mobike_state = ns_mobike_state_name(sa->mob.st);
    st->addr_updates = sa->mob.updates;
    st->last_update_ms = sa->mob.last_update_ms;
    if (sa->natd) {
        st->natd_answers = sa->natd->answers;
        st->natd_changes = sa->natd->changes;
        st->natd_without = sa->natd->without;
    }
}

void ns_ike_engine_foreach(const struct ns_ike_engine *e, ns_ike_status_fn fn, void *arg)
{
    struct ns_ike_sa_status st;
    for (size_t i = 0; i < e->by_id.nb; i++) {
        for (const struct ns_hnode *n = e->by_id.b[i]; n; n = n->next) {
            const struct ns_ikesa *sa = NS_CONTAINER_OF(n, const struct ns_ikesa, by_id);
            if (sa->state == NS_IKE_ST_DEAD)
                continue; /* gone; only lingering for retransmissions */
            sa_status(e, sa, &st);
            fn(arg, &st);
        }
    }
}

int ns_ike_engine_sa_refs(const struct ns_ike_engine *e, uint64_t **keys, size_t *n)
{
    *keys = NULL;
    *n = 0;
    size_t cap = e->by_id.n, k = 0;
    uint64_t *out = malloc((cap ? cap : 1) * sizeof(*out));
    if (!out)
        return -1;
    for (size_t i = 0; i < e->by_id.nb; i++) {
        for (const struct ns_hnode *h = e->by_id.b[i]; h && k < cap; h = h->next) {
            const struct ns_ikesa *sa = NS_CONTAINER_OF(h, const struct ns_ikesa, by_id);
            if (sa->state != NS_IKE_ST_DEAD)
                out[k++] = sa->id;
        }
    }
    *keys = out;
    *n = k;
    return 0;
}

bool ns_ike_engine_sa_status(const struct ns_ike_engine *e, uint64_t key, ns_ike_status_fn fn,
                             void *arg)
{
    const struct ns_ikesa *sa = ns_eng_find_id(e, key);
    if (!sa || sa->state == NS_IKE_ST_DEAD)
        return false;
    struct ns_ike_sa_status st;
    sa_status(e, sa, &st);
    fn(arg, &st);
    return true;
}

void ns_ike_engine_counters(const struct ns_ike_engine *e, struct ns_ike_counters *out)
{
    *out = e->ctr;
    out->half_open = e->half_open;
    out->half_open_sources = (unsigned)ns_halfopen_sources(&e->ho);
    out->half_open_largest = ns_halfopen_largest(&e->ho);
    out->ike_sas = (unsigned)(e->n_sas - e->n_dead);
    out->frag_reassembling = e->frag_pool[0].open + e->frag_pool[1].open;
    out->frag_reassembling_half_open = e->frag_pool[0].open;
    out->frag_held = e->frag_pool[0].bytes + e->frag_pool[1].bytes;
}
