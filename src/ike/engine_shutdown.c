/* Stopping the engine with a goodbye (ike/engine.h ns_ike_engine_shutdown):
 * what a daemon does on SIGTERM, so its peers tear their side down at once
 * instead of after a liveness timeout (X2), as strongSwan's peers expect.
 *
 * Every IKE SA whose peer authenticated itself gets one INFORMATIONAL
 * request with a DELETE of the IKE SA (RFC 7296 1.4.1), sent once: a
 * stopping daemon cannot wait for answers or retransmit, and a lost DELETE
 * only leaves the peer to its liveness check. Then every SA goes
 * locally, as ns_ike_engine_free would take it.
 *
 * Message IDs (window of one, 2.3): the DELETE carries our next ID. When a
 * liveness check or a DELETE of CHILD_SAs is still unanswered, it goes
 * again first, so a peer that lost it is in step for the DELETE (both are
 * idempotent for the peer). Our own DELETE of the IKE SA in flight is sent
 * again alone. A re-key in flight is not repeated (it would create an SA
 * only to delete it); if the peer lost it, it drops the DELETE too and
 * falls back to liveness. */
#include "ike/ike_sa.h"
#include "util/container.h"

/* Whether the peer is (or may be, once our IKE_AUTH arrived) authenticated
 * and keyed: an SK message from us means something to it. */
static bool peer_keyed(const struct ns_ikesa *sa)
{
    switch (sa->state) {
    case NS_IKE_ST_AUTH_SENT:
    case NS_IKE_ST_EAP_RESP_SENT:
    case NS_IKE_ST_EAP_AUTH_SENT:
    case NS_IKE_ST_ESTABLISHED:
    case NS_IKE_ST_DELETING:
    case NS_IKE_ST_REKEYED:
    case NS_IKE_ST_REDUNDANT:
        return ns_eng_sa_keyed(sa);
    default:
        return false;
    }
}

/* Sends the goodbye of one SA. Returns true when something went out. */
static bool say_goodbye(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (!peer_keyed(sa) || ns_eng_sa_ciphers(sa) != 0)
        return false;
    bool outstanding = sa->out.kind != NS_REQ_NONE && sa->out.msg.p;
    if (outstanding && sa->out.kind == NS_REQ_DELETE_IKE) {
        ns_eng_send(e, &sa->local, &sa->remote, sa->out.msg.p, sa->out.msg.len);
        return true;
    }
    if (outstanding && (sa->out.kind == NS_REQ_DPD || sa->out.kind == NS_REQ_NATD_CHECK ||
                        sa->out.kind == NS_REQ_DELETE_CHILD))
        ns_eng_send(e, &sa->local, &sa->remote, sa->out.msg.p, sa->out.msg.len);
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, NS_INFORMATIONAL, false, sa->next_req_id) != 0)
        return false;
    ns_ike_add_delete(&b, NS_PROTO_IKE, 0, NULL, 0);
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0)
        return false;
    sa->next_req_id++;
    ns_eng_send(e, &sa->local, &sa->remote, e->buf, (size_t)len);
    char ep[NS_ENDPOINT_STRLEN];
    NS_DBG("ike: IKE SA %016llx: DELETE sent to %s (shutting down)", (unsigned long long)sa->id,
           ns_endpoint_str(&sa->remote, ep));
    return true;
}

unsigned ns_ike_engine_shutdown(struct ns_ike_engine *e, uint64_t now_ms)
{
    if (!e)
        return 0;
    e->now = now_ms;
    unsigned sent = 0;
    /* Killing an SA leaves it in by_id (DEAD, until the timer or
     * ns_ike_engine_free), and creates none: the chains stay as they are
     * while we walk them. */
    for (size_t i = 0; i < e->by_id.nb; i++) {
        for (struct ns_hnode *n = e->by_id.b[i]; n; n = n->next) {
            struct ns_ikesa *sa = NS_CONTAINER_OF(n, struct ns_ikesa, by_id);
            if (sa->state == NS_IKE_ST_DEAD)
                continue;
            ns_eng_log_sa(sa);
            if (say_goodbye(e, sa))
                sent++;
            ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL);
            ns_eng_log_done();
        }
    }
    NS_DBG("ike: shutting down: DELETE sent for %u IKE SA(s)", sent);
    ns_eng_report_wakeup(e);
    return sent;
}
