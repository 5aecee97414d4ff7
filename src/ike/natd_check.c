/* Liveness checks with NAT detection (X1, R4): how a client behind a NAT
 * learns that the NAT forgot its mapping and gave it a new public port.
 *
 * The client sends an INFORMATIONAL request with NAT_DETECTION_SOURCE_IP
 * and _DESTINATION_IP, as MOBIKE does in its INFORMATIONAL exchanges (RFC
 * 4555 3.5, 3.8). The gateway answers with its own, computed as in RFC
 * 7296 2.23 over the addresses the request really had: its
 * DESTINATION_IP is a hash of our public address and port as the gateway
 * sees them, which we cannot compute ourselves (we do not know the
 * mapping) but can compare with the previous answer's: the same SPIs, so a
 * different hash means a different public address or port, a new mapping.
 * The request is authenticated, so the gateway also moves the IKE SA and
 * its CHILD_SAs to where it came from, as it does for any verified message
 * from a peer behind a NAT. A gateway that ignores NAT detection here
 * answers empty; that is counted and teaches nothing. */
#include <stdlib.h>
#include <string.h>

#include "ike/engine_mobike.h"
#include "ike/ike_sa.h"
#include "natt/natd.h"

/* The first NAT_DETECTION_DESTINATION_IP notify of pl, or NULL; whether
 * pl has any NAT detection at all in *any. */
static const struct ns_ike_payload *find_natd(const struct ns_ike_payloads *pl,
                                              struct ns_ike_notify *dst, bool *any)
{
    *any = false;
    for (unsigned i = 0; i < pl->n; i++) {
        struct ns_ike_notify n;
        if (pl->p[i].type != NS_PL_NOTIFY || ns_ike_parse_notify(&pl->p[i], &n) != NS_IKE_OK)
            continue;
        if (n.type == NS_N_NAT_DETECTION_SOURCE_IP)
            *any = true;
        if (n.type == NS_N_NAT_DETECTION_DESTINATION_IP) {
            *any = true;
            *dst = n;
            return &pl->p[i];
        }
    }
    return NULL;
}

int ns_eng_natd_check_answer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                             const struct ns_ike_rx *rx, const struct ns_ike_payloads *in,
                             struct ns_ike_builder *b)
{
    struct ns_ike_notify dst;
    bool any;
    (void)find_natd(in, &dst, &any);
    if (!any)
        return 0;
    return ns_eng_add_natd(e, b, sa->spi_i, sa->spi_r, &rx->local, &rx->remote);
}

void ns_eng_natd_check_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                const struct ns_ike_payloads *in)
{
    struct ns_ike_natd_watch *w = sa->natd; /* made with the check */
    struct ns_ike_notify dst;
    bool any;
    if (!w)
        return;
    if (!find_natd(in, &dst, &any) || dst.len != sizeof(w->last)) {
        if (w->without++ == 0)
            NS_INFO("ike: IKE SA %016llx: the peer answers liveness checks without NAT "
                    "detection; the keepalive interval cannot be learned",
                    (unsigned long long)sa->id);
        return;
    }
    if (w->have && memcmp(w->last, dst.data, sizeof(w->last)) != 0) {
        w->changes++;
        NS_INFO("ike: IKE SA %016llx: the NAT gave us a new public address or port (NAT "
                "detection changed)",
                (unsigned long long)sa->id);
        ns_eng_mobike_nat_moved(e, sa);
    }
    memcpy(w->last, dst.data, sizeof(w->last));
    w->have = true;
    w->answers++;
}

int ns_ike_engine_natd_check(struct ns_ike_engine *e, uint64_t ike_sa_id, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = ns_eng_find_ike_sa_id(e, ike_sa_id);
    if (!sa || sa->state != NS_IKE_ST_ESTABLISHED || !sa->nat_local || sa->out.kind != NS_REQ_NONE)
        return -1;
    if (!sa->natd && !(sa->natd = calloc(1, sizeof(*sa->natd))))
        return -1;
    struct ns_ike_builder b;
    uint32_t id = sa->next_req_id;
    if (ns_eng_sk_begin(e, sa, &b, NS_INFORMATIONAL, false, id) != 0)
        return -1;
    if (ns_eng_add_natd(e, &b, sa->spi_i, sa->spi_r, &sa->local, &sa->remote) != 0) {
        ns_eng_sa_cipher_drop(sa, true); /* as ns_eng_sk_end would */
        return -1;
    }
    int len = ns_eng_sk_end(e, sa, &b);
    if (len < 0)
        return -1;
    ns_eng_log_sa(sa);
    int rc = ns_eng_request(e, sa, NS_REQ_NATD_CHECK, id, e->buf, (size_t)len);
    if (rc == 0) {
        sa->next_req_id++;
        NS_DBG("ike: IKE SA %016llx: liveness check with NAT detection", (unsigned long long)sa->id);
    }
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
    return rc;
}
