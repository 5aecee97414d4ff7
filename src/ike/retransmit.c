/* Reliability of IKE exchanges (RFC 7296 2.1, 2.2): the requester keeps its
 * request and sends the same bytes again with exponential backoff
 * (retransmit_timeout, doubling, retransmit_tries times) and gives the SA up
 * after that; the responder keeps its last response and sends it again,
 * byte for byte, when the request comes again, never processing it twice. */
#include "ike/engine_mobike.h"
#include "ike/engine_frag.h"
#include "ike/ike_sa.h"

static const char *req_name(enum ns_ike_req_kind k)
{
    switch (k) {
    case NS_REQ_INIT:
        return "IKE_SA_INIT";
    case NS_REQ_AUTH:
        return "IKE_AUTH";
    case NS_REQ_DELETE_IKE:
        return "INFORMATIONAL (DELETE)";
    case NS_REQ_DPD:
        return "INFORMATIONAL (liveness check)";
    case NS_REQ_REKEY_CHILD:
        return "CREATE_CHILD_SA (CHILD SA re-key)";
    case NS_REQ_REKEY_IKE:
        return "CREATE_CHILD_SA (IKE SA re-key)";
    case NS_REQ_DELETE_CHILD:
        return "INFORMATIONAL (DELETE of CHILD SAs)";
    case NS_REQ_MOBIKE_UPDATE:
        return "INFORMATIONAL (UPDATE_SA_ADDRESSES)";
    case NS_REQ_MOBIKE_CHECK:
        return "INFORMATIONAL (COOKIE2 check)";
    case NS_REQ_NATD_CHECK:
        return "INFORMATIONAL (liveness check with NAT detection)";
    case NS_REQ_NONE:
        break;
    }
    return "none";
}

/* How long to wait after the n-th send (n >= 1). */
static uint64_t backoff(const struct ns_ike_engine *e, unsigned sends)
{
    unsigned shift = sends - 1 < 16 ? sends - 1 : 16;
    return (uint64_t)e->conf->retransmit_timeout_ms << shift;
}

int ns_eng_request(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_req_kind kind,
                   uint32_t msg_id, const uint8_t *msg, size_t len)
{
    if (ns_msgbuf_set(&sa->out.msg, msg, len) != 0)
        return -1;
    sa->out.kind = kind;
    sa->out.id = msg_id;
    sa->out.lost_hint = false;
    if (sa->hold_ms) {
        /* The second path of a race: sent when its time comes (the timeout
         * below), unless the first path answers before. */
        sa->out.sends = 0;
        sa->out.due = e->now + sa->hold_ms;
        sa->hold_ms = 0;
        ns_eng_sched(e, sa);
        return 0;
    }
    sa->out.sends = 1;
    sa->out.due = e->now + backoff(e, 1);
    ns_eng_send(e, &sa->local, &sa->remote, msg, len);
    ns_eng_sched(e, sa);
    return 0;
}

void ns_eng_request_done(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    ns_msgbuf_clear(&sa->out.msg);
    sa->out.kind = NS_REQ_NONE;
    ns_eng_sched(e, sa);
    /* A deletion asked for while this exchange ran goes out now: one
     * request at a time (window size 1). */
    if (sa->out.then_delete) {
        ns_eng_delete_ike(e, sa, sa->down_reason);
        return;
    }
    /* What waited for the window: a MOBIKE update or check first (the
     * path carries everything else), then a re-key or DELETE. */
    ns_eng_mobike_run(e, sa);
    ns_eng_life_run(e, sa);
}

void ns_eng_request_timeout(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->out.sends == 0) { /* a held request's first send */
        char ep[NS_ENDPOINT_STRLEN];
        NS_INFO("ike: IKE SA %016llx: sending %s to %s", (unsigned long long)sa->id,
                req_name(sa->out.kind), ns_endpoint_str(&sa->remote, ep));
        sa->out.sends = 1;
        sa->out.due = e->now + backoff(e, 1);
        ns_eng_send(e, &sa->local, &sa->remote, sa->out.msg.p, sa->out.msg.len);
        ns_eng_sched(e, sa);
        return;
    }
    if (sa->out.lost_hint) {
        char ep[NS_ENDPOINT_STRLEN];
        NS_WARN("ike: IKE SA %016llx: %s has no IKE SA for our IKE_AUTH and sent no answer since: "
                "giving up, to connect again",
                (unsigned long long)sa->id, ns_endpoint_str(&sa->remote, ep));
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_TIMEOUT);
        return;
    }
    if (sa->out.sends > e->conf->retransmit_tries) {
        enum ns_ike_down_reason why =
            sa->out.kind == NS_REQ_DELETE_IKE ? sa->down_reason : NS_IKE_DOWN_TIMEOUT;
        char ep[NS_ENDPOINT_STRLEN], hint[128], frag[256];
        const char *h =
            sa->out.kind == NS_REQ_INIT ? ns_eng_init_hint_str(sa, hint, sizeof(hint)) : NULL;
        const char *f = ns_eng_frag_hint(e, sa, sa->out.msg.len, frag, sizeof(frag));
        NS_WARN("ike: IKE SA %016llx: no answer from %s to %s after %u sends, "
                "giving up%s%s%s",
                (unsigned long long)sa->id, ns_endpoint_str(&sa->remote, ep),
                req_name(sa->out.kind), sa->out.sends, h ? "; the last unprotected answer: " : "",
                h ? h : "", f ? f : "");
        ns_eng_sa_kill(e, sa, why);
        return;
    }
    sa->out.sends++;
    sa->out.due = e->now + backoff(e, sa->out.sends);
    e->ctr.retransmits++;
    NS_DBG("ike: IKE SA %016llx: retransmitting %s (send %u)", (unsigned long long)sa->id,
           req_name(sa->out.kind), sa->out.sends);
    ns_eng_send(e, &sa->local, &sa->remote, sa->out.msg.p, sa->out.msg.len);
    ns_eng_mobike_probe_paths(e, sa);
    ns_eng_sched(e, sa);
}

void ns_eng_respond(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                    const uint8_t *msg, size_t len)
{
    /* Without the cache (no memory) a retransmitted request goes
     * unanswered; the response itself still goes out. */
    if (ns_msgbuf_set(&sa->resp, msg, len) == 0)
        sa->resp_id = rx->msg_id;
    else
        ns_msgbuf_clear(&sa->resp);
    ns_eng_send(e, &rx->local, &rx->remote, msg, len);
}

void ns_eng_resend_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                            const struct ns_endpoint *local, const struct ns_endpoint *remote)
{
    e->ctr.responses_resent++;
    NS_DBG("ike: IKE SA %016llx: request %u again, resending the response",
           (unsigned long long)sa->id, sa->resp_id);
    ns_eng_send(e, local, remote, sa->resp.p, sa->resp.len);
}
