/* Quick crash detection (RFC 6290, X2) and the answers for IKE SAs we do
 * not have (qcd.c) as the message paths call them: engine-internal, like
 * ike_sa.h. */
#ifndef NATSEC_IKE_ENGINE_QCD_H
#define NATSEC_IKE_ENGINE_QCD_H

#include <stdbool.h>

#include "ike/ike_sa.h"

/* We make tokens: qcd on and its secret loaded. */
bool ns_eng_qcd_maker(const struct ns_ike_engine *e);
/* Client, IKE_AUTH request: our token, when we make them. */
void ns_eng_qcd_offer(struct ns_ike_engine *e, const struct ns_ikesa *sa, struct ns_ike_builder *b);
/* An answer that hands out sa's token (IKE_AUTH, an IKE re-key; sa: the
 * new one): ours when we make them and the peer sent one. */
void ns_eng_qcd_answer(struct ns_ike_engine *e, const struct ns_ikesa *sa,
                       struct ns_ike_builder *b);
/* The peer's IKE_AUTH message, IKE re-key answer or INFORMATIONAL
 * request in, for sa: a token there marks the peer as one that takes
 * ours; a client keeps it. */
void ns_eng_qcd_seen(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_payloads *in);
/* Gateway: our IKE re-key made fresh: its token goes to a client that
 * takes them in an INFORMATIONAL request on it (RFC 6290 4.3). A client
 * sends none: natsec gateways keep no tokens. */
void ns_eng_qcd_after_rekey(struct ns_ike_engine *e, struct ns_ikesa *fresh);
/* A message for IKE SPIs of no SA of ours: the crash answer, or for an
 * IKE_AUTH request a gateway's plain INVALID_IKE_SPI, when due. */
void ns_eng_qcd_no_sa(struct ns_ike_engine *e, const struct ns_ike_rx *rx,
                      const struct ns_ike_header *h, const struct ns_ike_payloads *pl);
/* An unprotected INVALID_IKE_SPI response for sa: dropped with the
 * token kept, else ignored; counted either way. */
void ns_eng_qcd_crash_answer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                             const struct ns_ike_rx *rx, const struct ns_ike_header *h,
                             const struct ns_ike_payloads *pl);

/* Client: an unprotected INVALID_IKE_SPI response to IKE_AUTH for sa,
 * a hint that the gateway lost the half-open SA: taken (the request is
 * given up at its next retransmission) or ignored, counted either way. */
void ns_eng_lost_sa_hint(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_header *h);

#endif
