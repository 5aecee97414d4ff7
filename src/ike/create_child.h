/* Private to the CREATE_CHILD_SA exchange (create_child_exchange.c: parsing,
 * error answers, dispatch; create_child_rekey_child.c: CHILD_SA re-key;
 * create_child_rekey_ike.c: IKE SA re-key). Not for the rest of the engine,
 * which uses the ns_eng_create_child_* entry points in ike_sa.h. */
#ifndef NATSEC_IKE_CREATE_CHILD_H
#define NATSEC_IKE_CREATE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/ike_sa.h"
#include "util/buf.h"

/* The payloads of a CREATE_CHILD_SA message that natsec reads. */
struct ns_create_child_msg {
    bool has_sa;
    struct ns_ike_sa sa;
    const uint8_t *nonce;
    size_t nonce_len;
    bool has_ke;
    struct ns_ike_ke ke;
    bool has_ts;
    struct ns_ike_ts_list tsi, tsr;
    bool rekey; /* N(REKEY_SA) of ESP with a 4-byte SPI */
    uint32_t rekey_spi;
    bool transport;
    uint16_t error; /* the first error notify (responses), 0 if none */
    const struct ns_ike_payloads *in; /* the message's payloads, all of them */
    struct ns_ike_notify error_n;
};

/* ---- create_child_exchange.c ---- */
/* Our KE's shared secret with the peer's KE payload into shared (its
 * length in *len). 0 or -1 (the peer's value is not a group element). */
int ns_create_child_shared_secret(struct ns_dh *dh, const struct ns_ike_ke *ke, uint8_t *shared,
                                  size_t *len);
/* An error answer: one notify, with the child's protocol and SPI for
 * CHILD_SA_NOT_FOUND (3.10.1) when spi is not 0. */
void ns_create_child_answer_error(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                  const struct ns_ike_rx *rx, uint16_t type, const uint8_t *data,
                                  size_t len, uint32_t spi);
void ns_create_child_answer_invalid_ke(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                       const struct ns_ike_rx *rx, uint16_t group);
/* INVALID_KE_PAYLOAD: once more with the group asked for, when we offered
 * it. Returns true when the request went out again. */
bool ns_create_child_retry_ke(struct ns_ike_engine *e, struct ns_ikesa *sa,
                              const struct ns_create_child_msg *m);
/* The re-key did not happen: the SA keeps going until its hard lifetime,
 * and the re-key is tried again later. */
void ns_create_child_rekey_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const char *why);

/* ---- create_child_rekey_child.c ---- */
/* Answers the peer's re-key of a CHILD_SA (m->rekey). */
void ns_create_child_child_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                   const struct ns_ike_rx *rx, const struct ns_create_child_msg *m);
/* Sends (again) our re-key request of child old for sa->create_child. 0 or -1. */
int ns_create_child_send_child_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                       const struct ns_ike_child *old);
/* Our CHILD_SA re-key was answered. Returns false when the request went
 * out again (INVALID_KE_PAYLOAD). */
bool ns_create_child_child_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                    const struct ns_create_child_msg *m);

/* ---- create_child_rekey_ike.c ---- */
/* Answers the peer's re-key of the IKE SA (an SA payload of protocol IKE). */
void ns_create_child_ike_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_rx *rx, const struct ns_create_child_msg *m);
/* Sends (again) our IKE SA re-key request for sa->create_child. 0 or -1. */
int ns_create_child_send_ike_request(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Our IKE SA re-key was answered. Returns false when the request went out
 * again (INVALID_KE_PAYLOAD). */
bool ns_create_child_ike_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                  const struct ns_create_child_msg *m);

#endif
