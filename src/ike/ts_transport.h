/* Traffic selectors of a transport-mode CHILD_SA through a NAT (RFC 7296
 * 2.23.1; R2, R13).
 *
 * In transport mode the selectors are the two hosts' own addresses, and a
 * NAT makes each side know them differently:
 *
 *   initiator IP1 --NAT--> IPN1 ....... IPN2 <--NAT-- IP2 responder
 *
 * The initiator proposes TSi = IP1 (its own address) and TSr = IPN2 (the
 * address it sends to). The responder keeps those as received (the
 * addresses the initiator's TCP/UDP checksums are computed over), replaces
 * TSi with the address its IKE packets come from (IPN1) when the peer is
 * behind a NAT and TSr with its own address (IP2) when it is itself behind
 * one, narrows on the result and answers with it. The initiator keeps the
 * answer as received (IPN1, IP2: what the responder's checksums are
 * computed over) and substitutes back (IP1 for IPN1 when it is behind a
 * NAT, IPN2 for IP2 when the responder is) before it checks the narrowing
 * and installs the SA.
 *
 * So each side ends with selectors in its own addresses, which is what its
 * packets carry, and with the original addresses of the peer's packets for
 * the incremental checksum fixup on receipt (RFC 3948 3.1.2), which is what
 * NAT-OA carried in IKEv1. Without a NAT nothing is substituted and no
 * fixup is needed.
 *
 * A side without a NAT gets no substitution: there the peer's claimed
 * address must be the IKE address it sees, so a peer cannot get another
 * host's traffic protected by naming its address. Every selector of a list
 * must hold the same single address (2.23.1: "IP1-IP1"); protocol and port
 * limits are kept. */
#ifndef NATSEC_IKE_TS_TRANSPORT_H
#define NATSEC_IKE_TS_TRANSPORT_H

#include <stdbool.h>

#include "esp/sa_spec.h"
#include "util/addr.h"

/* One side of the IKE SA as this host sees it. */
struct ns_ts_transport_view {
    struct ns_addr local, remote; /* the IKE SA's addresses as used now */
    bool nat_local, nat_remote;   /* from NAT detection (2.23) */
};

/* The outcome for one CHILD_SA. tsi/tsr: the selectors after substitution,
 * in the order of the IKE message (TSi is the initiator's side). orig_src,
 * orig_dst: the addresses the peer's checksums are computed over, its own
 * first; family 0 when they are the ones its packets are delivered with
 * (no NAT changed them: no fixup). */
struct ns_ts_transport {
    struct ns_ts tsi[NS_SA_MAX_TS], tsr[NS_SA_MAX_TS];
    unsigned n_tsi, n_tsr;
    struct ns_addr orig_src, orig_dst;
};

/* The single address all n selectors hold (each lo == hi, one family), or
 * false. */
bool ns_ts_transport_addr(const struct ns_ts *ts, unsigned n, struct ns_addr *out);

/* Responder: from the initiator's proposal tsi/tsr, the selectors to
 * install and answer with (tsi: the peer's side). Returns false when the
 * proposal is not a transport-mode one (not single addresses, more than
 * NS_SA_MAX_TS selectors) or names addresses the responder does not see without a NAT:
 * answer TS_UNACCEPTABLE. */
bool ns_ts_transport_responder(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr,
                               unsigned n_tsr, const struct ns_ts_transport_view *v,
                               struct ns_ts_transport *out);

/* Initiator: from the responder's answer tsi/tsr, the selectors to check
 * against the proposal and install (tsi: our side). Returns false when the
 * answer is not single addresses. */
bool ns_ts_transport_initiator(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr,
                               unsigned n_tsr, const struct ns_ts_transport_view *v,
                               struct ns_ts_transport *out);

#endif
