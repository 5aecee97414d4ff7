/* From configured proposals (struct ns_proposal, one suite each) to the SA
 * payload (struct ns_ike_sa of ike/msg.h) and back (RFC 7296 2.7, 3.3).
 *
 * Offering: each configured proposal becomes one SA proposal, numbered from
 * 1 in preference order, with one transform per type: ENCR (with the
 * KEY_LENGTH attribute for AES), PRF (IKE), INTEG (only without an AEAD),
 * DH (IKE always; ESP only with PFS), ESN (ESP always: 0 or 1).
 *
 * Selecting (responder): our first configured proposal that one of the
 * peer's proposals offers, strongSwan style (our preference order). A peer
 * proposal may list several algorithms per type; it matches ours when, for
 * each type ours needs, it offers our algorithm, and it contains no
 * transform type unknown for its protocol (3.3.6). AH proposals (protocol
 * 2) are never chosen and never offered (R1).
 *
 * Accepting (initiator): the response must hold exactly one proposal with
 * one transform per type, and be one we offered. */
#ifndef NATSEC_IKE_PROPOSAL_SELECT_H
#define NATSEC_IKE_PROPOSAL_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/proposal.h"
#include "ike/msg.h"

enum ns_sa_sel_err {
    NS_SA_OK = 0,
    NS_SA_NO_PROPOSAL_CHOSEN = -1, /* answer NO_PROPOSAL_CHOSEN */
    NS_SA_INVALID = -2,            /* a malformed or non-offered response, or a bad argument */
};

/* Flags for offer and select. */
#define NS_SA_F_NO_DH 0x1u /* ESP in IKE_AUTH: no KE there, so no DH transform (1.2) */

/* What the responder chose, or what the initiator was given. */
struct ns_sa_choice {
    struct ns_proposal chosen;
    uint8_t peer_num; /* the peer's proposal number, echoed in the response */
    uint8_t spi_len;  /* the SPI of the proposal: the peer's SPI as selector */
    uint8_t spi[8];   /* (4 bytes for ESP, 8 for IKE re-key, none initially) */
};

/* Builds the SA payload we offer. spi/spi_len: none (0) for the initial
 * IKE SA, our new 8-byte IKE SPI for an IKE re-key, our 4-byte inbound SPI
 * for ESP. Every proposal must have props[i].protocol == protocol. Returns
 * NS_SA_OK, or NS_SA_INVALID for n 0 or too many, an AH or mixed protocol,
 * an IKE proposal without a DH group, or an SPI length that does not fit
 * the protocol. */
int ns_sa_offer(const struct ns_proposal *props, unsigned n, uint8_t protocol, const uint8_t *spi,
                uint8_t spi_len, unsigned flags, struct ns_ike_sa *out);

/* Responder: chooses from the peer's SA payload (protocol NS_PROTO_IKE or
 * NS_PROTO_ESP). ke_group is the group of the KE payload that came with it
 * (IKE_SA_INIT, or CREATE_CHILD_SA with PFS), 0 if none: among our
 * proposals the peer offers, the first whose group is ke_group is preferred
 * (no INVALID_KE round trip needed), else our first match; check the
 * result with ns_sa_ke_group_to_request. Returns NS_SA_OK with *out, or
 * NS_SA_NO_PROPOSAL_CHOSEN. */
int ns_sa_select(const struct ns_proposal *ours, unsigned n_ours, uint8_t protocol,
                 const struct ns_ike_sa *peer, uint16_t ke_group, unsigned flags,
                 struct ns_sa_choice *out);

/* Responder: the one-proposal SA payload of the response: the chosen suite
 * with the peer's proposal number (3.3.6) and our SPI (none for the initial
 * IKE SA, our new IKE SPI for a re-key, our inbound ESP SPI). Returns
 * NS_SA_OK or NS_SA_INVALID (SPI length). */
int ns_sa_response(const struct ns_sa_choice *choice, const uint8_t *our_spi, uint8_t spi_len,
                   unsigned flags, struct ns_ike_sa *out);

/* Initiator: validates the responder's SA payload against what we offered:
 * exactly one proposal of the protocol, one transform per type, each type
 * the suite needs present, equal to one of offered[]. The choice's spi is
 * the responder's (for ESP: its inbound SPI, our outbound). Returns NS_SA_OK
 * with *out or NS_SA_INVALID. */
int ns_sa_accept(const struct ns_proposal *offered, unsigned n_offered, uint8_t protocol,
                 const struct ns_ike_sa *resp, unsigned flags, struct ns_sa_choice *out);

/* Responder, INVALID_KE_PAYLOAD (2.7): 0 when the KE payload's group is the
 * chosen proposal's group (or the proposal has no DH: ESP without PFS),
 * else the group to put in INVALID_KE_PAYLOAD. */
uint16_t ns_sa_ke_group_to_request(const struct ns_proposal *chosen, uint16_t ke_group);

/* The peer's proposals for a log line: each as natsec writes a suite
 * ("3des-sha1-prfsha1-modp1024"), several algorithms of one kind joined by
 * '/', proposals by ", "; an algorithm natsec has no name for as its
 * number ("encr23", "dh30", "encr12:192" for a key size). Cut short with
 * "..." when buf is full. Returns buf. */
const char *ns_sa_offer_str(const struct ns_ike_sa *sa, char *buf, size_t len);

/* Whether the peer's SA payload would find a suite among those
 * legacy_proposals = yes adds (Windows' defaults, ns_conf_legacy_suites):
 * the hint a refusal's log line gives. */
bool ns_sa_legacy_would_match(const struct ns_ike_sa *peer, uint8_t protocol, unsigned flags);

/* Initiator, on INVALID_KE_PAYLOAD: whether the requested group is in one
 * of the proposals we offered (else the exchange fails; we never switch to
 * a group we did not offer). */
bool ns_sa_offers_group(const struct ns_proposal *offered, unsigned n_offered, uint16_t group);

#endif
