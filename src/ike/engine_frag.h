/* The engine's IKE fragmentation (RFC 7383, engine_frag.c) as the send and receive paths call it:
 * engine-internal, like ike_sa.h. */
#ifndef NATSEC_IKE_ENGINE_FRAG_H
#define NATSEC_IKE_ENGINE_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/ike_sa.h"

/* The most bytes one of our IKE messages of the SA may take in one
 * datagram: fragment_size less the IP and UDP headers and the non-ESP
 * marker; 0 when the SA does not fragment. */
size_t ns_eng_frag_max_msg(const struct ns_ike_engine *e, const struct ns_ikesa *sa);
/* Seals the SK message open in b as SKF fragments into e->buf, one after
 * the other, when the SA fragments and the message is too large: their
 * total length; 0 when b is to be sealed whole; a negative NS_IKE_E*
 * code on failure. */
int ns_eng_frag_seal(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_builder *b);
/* ns_eng_frag_input's answer when there is nothing more to do now. */
#define NS_ENG_FRAG_WAIT 1
/* An SKF message that passed the message ID checks (again: a copy of the
 * request answered last). NS_ENG_FRAG_WAIT, or an NS_IKE_* code as
 * ns_ike_sk_open's: with NS_IKE_OK or ECRITICAL for a complete message,
 * *inner points into *whole (heap, the caller frees it; NULL for a copy
 * of a request answered, whose fragment 1 verified). */
int ns_eng_frag_input(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_header *h,
                      const struct ns_ike_payload *skf, uint8_t *msg, size_t len, bool again,
                      struct ns_ike_payloads *inner, uint8_t **whole);
/* The earliest reassembly deadline of the SA (NS_IKE_NEVER). */
uint64_t ns_eng_frag_due(const struct ns_ikesa *sa);
/* Abandons the reassemblies whose deadline passed. */
void ns_eng_frag_expire(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Frees every reassembly of the SA. */
void ns_eng_frag_free(struct ns_ikesa *sa);
/* For the log line of a request given up: when our message of len bytes
 * was larger than fragment_size and the SA does not fragment, why it went
 * as IP fragments (in buf); NULL otherwise. */
const char *ns_eng_frag_hint(const struct ns_ike_engine *e, const struct ns_ikesa *sa, size_t len,
                             char *buf, size_t buflen);
/* Gateway: a half-open SA whose IKE_SA_INIT was answered saw no IKE_AUTH;
 * when the SA does not fragment, a line (limited) says that a large
 * IKE_AUTH came as IP fragments, which the path may have dropped. */
void ns_eng_frag_no_auth(struct ns_ike_engine *e, const struct ns_ikesa *sa);
/* Sets the bounds of the engine's reassembly pools (frag.h). */
void ns_eng_frag_init(struct ns_ike_engine *e);
/* IKE_SA_INIT: our IKEV2_FRAGMENTATION_SUPPORTED, when configured (a
 * responder only when the request had it); and whether the peer's
 * message pl had it. */
void ns_eng_frag_notify(const struct ns_ike_engine *e, struct ns_ike_builder *b);
bool ns_eng_frag_offered(const struct ns_ike_payloads *pl);

#endif
