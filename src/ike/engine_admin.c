/* What an administrator asks of the engine beyond re-keys: deleting one
 * IKE SA (ike/engine.h ns_ike_engine_delete_sa, natsecctl disconnect). */
#include "ike/ike_sa.h"

int ns_ike_engine_delete_sa(struct ns_ike_engine *e, uint64_t ike_sa_id, uint64_t now_ms)
{
    e->now = now_ms;
    struct ns_ikesa *sa = ns_eng_find_dp(e, ike_sa_id);
    if (!sa)
        sa = ns_eng_find_id(e, ike_sa_id); /* half-open: not in the data plane yet */
    if (!sa || sa->state == NS_IKE_ST_DELETING || sa->state == NS_IKE_ST_DEAD)
        return -1;
    ns_eng_log_sa(sa);
    if (sa->state == NS_IKE_ST_ESTABLISHED || sa->state == NS_IKE_ST_REKEYED)
        ns_eng_delete_ike(e, sa, NS_IKE_DOWN_LOCAL);
    else
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL); /* nothing authenticated to tell */
    ns_eng_log_done();
    ns_eng_report_wakeup(e);
    return 0;
}
