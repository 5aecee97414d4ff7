/* The engine's MOBIKE (RFC 4555, mobike.c) as the exchanges call it: engine-internal, like
 * ike_sa.h. */
#ifndef NATSEC_IKE_ENGINE_MOBIKE_H
#define NATSEC_IKE_ENGINE_MOBIKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/ike_sa.h"

/* The one way the MOBIKE state changes (checked as ns_eng_sa_state). */
bool ns_eng_mobike_state(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_mobike_state st,
                         const char *why);
/* IKE_AUTH: adds MOBIKE_SUPPORTED to ours when we offer it (the client
 * when configured; the gateway when the client said it too, then with
 * NO_ADDITIONAL_ADDRESSES: it has one address). */
void ns_eng_mobike_auth_add(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                            struct ns_ike_builder *b);
/* IKE_AUTH: the peer's message in; MOBIKE is on when both said so and the
 * CHILD_SA is a tunnel (RFC 4555 1.1: transport mode does not move). */
void ns_eng_mobike_auth_seen(struct ns_ike_engine *e, struct ns_ikesa *sa,
                             const struct ns_ike_payloads *in, bool transport);
/* What an INFORMATIONAL request carries for MOBIKE. */
struct ns_mobike_req {
    bool update; /* UPDATE_SA_ADDRESSES */
    const uint8_t *cookie2;
    size_t cookie2_len;
};
void ns_eng_mobike_read(const struct ns_ike_payloads *in, struct ns_mobike_req *r);
/* Gateway: takes an authenticated, new UPDATE_SA_ADDRESSES request: the
 * IKE SA and every CHILD_SA move to where it came from, NAT detection is
 * done again from its notifies, ESP switches between UDP and protocol 50
 * as that says, and a check of the new address is queued. */
void ns_eng_mobike_take(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                        const struct ns_ike_payloads *in, const struct ns_mobike_req *r);
/* Adds to the answer of r what MOBIKE needs: our NAT detection after an
 * update, the COOKIE2 copied. 0 or -1. */
int ns_eng_mobike_answer(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_mobike_req *r, struct ns_ike_builder *b);
/* Sends the update or check that waits, when the window is free. Returns
 * true when it sent one. */
bool ns_eng_mobike_run(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* The answer to our NS_REQ_MOBIKE_* request. */
void ns_eng_mobike_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                            const struct ns_ike_rx *rx, const struct ns_ike_payloads *in);
/* Client, path testing (RFC 4555 3.9): our request is being
 * retransmitted unanswered; the same message goes from each other local
 * address too (ops->local_addrs). */
void ns_eng_mobike_probe_paths(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Client: a verified response arrived on rx->local; when that is not the
 * address in use, the path through it works and the IKE SA moves there
 * (an update follows when the window frees). */
void ns_eng_mobike_path_answered(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_rx *rx);
/* Client behind a NAT, MOBIKE on: our NAT may have given us a new public
 * address or port (a liveness check's NAT detection changed, or one was
 * needed after a silence and answered). A peer with MOBIKE follows only
 * an update (RFC 4555 3.5): one goes when the window frees. */
void ns_eng_mobike_nat_moved(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* An IKE re-key made fresh out of old: MOBIKE goes on there. */
void ns_eng_mobike_inherit(struct ns_ike_engine *e, struct ns_ikesa *fresh,
                           const struct ns_ikesa *old);

#endif
