/* Happy eyeballs for a client's connect (RFC 8305 5, X8): a gateway with
 * an IPv6 and an IPv4 address is tried on the first at once and on the
 * second after a short delay, and the first IKE_SA_INIT answer decides.
 *
 * The second attempt is an IKE SA of its own (e->race_sa) whose
 * IKE_SA_INIT is built at once but held (ns_ike_request.sends == 0) until
 * its delay runs out: when the first path answers within it, the second
 * is never sent and the gateway never sees it. Once both are out, the one
 * answered second is dropped where it stands: no more retransmissions.
 * The gateway forgets its half of that one as any abandoned handshake
 * (NS_IKE_HALF_OPEN_MS); an INFORMATIONAL that would close it sooner is
 * not allowed before IKE_AUTH (RFC 7296 1.4). */
#include "ike/ike_sa.h"

int ns_ike_engine_connect_race(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                               const struct ns_addr *alt_local, const struct ns_addr *alt_gateway,
                               unsigned delay_ms, uint64_t now_ms)
{
    if (ns_ike_engine_connect(e, local_addr, now_ms) != 0)
        return -1;
    /* Without a second attempt the first still runs: a plain connect. */
    e->race_sa = ns_eng_client_start(e, alt_local, alt_gateway, delay_ms ? delay_ms : 1);
    ns_eng_report_wakeup(e);
    return 0;
}

static void report_path(struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    if (e->ops.client_path)
        e->ops.client_path(e->ops.ctx, &sa->local.addr, &sa->remote.addr);
}

void ns_eng_race_won(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (!e->race_sa || (sa != e->race_sa && sa != e->client_sa))
        return;
    bool second = sa == e->race_sa;
    struct ns_ikesa *loser = second ? e->client_sa : e->race_sa;
    e->race_sa = NULL;
    e->client_sa = sa;
    char w[NS_ENDPOINT_STRLEN], l[NS_ENDPOINT_STRLEN];
    NS_INFO("ike: happy eyeballs: %s answered first; IKE SA %016llx to %s dropped%s",
            ns_endpoint_str(&sa->remote, w), (unsigned long long)loser->id,
            ns_endpoint_str(&loser->remote, l),
            loser->out.sends == 0 ? " before it was sent" : "");
    /* Neither client_sa nor race_sa now: it goes without client_down. */
    ns_eng_sa_kill(e, loser, NS_IKE_DOWN_LOCAL);
    if (second)
        report_path(e, sa);
}

bool ns_eng_race_promote(struct ns_ike_engine *e, enum ns_ike_down_reason why)
{
    struct ns_ikesa *sa = e->race_sa;
    if (!sa)
        return false;
    e->race_sa = NULL;
    if (why == NS_IKE_DOWN_LOCAL) {
        ns_eng_sa_kill(e, sa, why); /* the whole connect is given up */
        return false;
    }
    e->client_sa = sa;
    char ep[NS_ENDPOINT_STRLEN];
    NS_INFO("ike: happy eyeballs: the first path failed (%s); going on to %s",
            ns_ike_down_reason_str(why), ns_endpoint_str(&sa->remote, ep));
    if (sa->out.kind != NS_REQ_NONE && sa->out.sends == 0) {
        sa->out.due = e->now; /* send it now */
        ns_eng_sched(e, sa);
    }
    report_path(e, sa);
    return true;
}

void ns_eng_race_drop(struct ns_ike_engine *e)
{
    struct ns_ikesa *sa = e->race_sa;
    e->race_sa = NULL;
    if (sa)
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL);
}
