/* Traffic selector narrowing (RFC 7296 2.9) for the gateway (R9, R17) and
 * the check of the narrowed answer for the client.
 *
 * The gateway never grants an implicit any-to-any: TSi becomes the
 * client's virtual IP /32, TSr the intersection of what the client asked
 * for with the subnets its identity may reach; an empty result is
 * TS_UNACCEPTABLE. Protocol and port restrictions the client put in its
 * selectors are kept (intersected), never widened.
 *
 * A client that asks for a virtual address and does not know it yet may
 * propose TSi as the single address 0.0.0.0 (or ::): that "placeholder"
 * stands for the address assigned in the configuration payload. */
#ifndef NATSEC_IKE_TS_NARROW_H
#define NATSEC_IKE_TS_NARROW_H

#include <stdbool.h>

#include "util/addr.h"

enum ns_ts_narrow_err {
    NS_TS_OK = 0,
    NS_TS_UNACCEPTABLE = -1, /* answer TS_UNACCEPTABLE */
};

/* Whether ts is the single unspecified address 0.0.0.0 or :: . */
bool ns_ts_is_placeholder(const struct ns_ts *ts);

/* Whether inner lies entirely within outer (address range, protocol where
 * outer's is not 0 = any, and port range). */
bool ns_ts_within(const struct ns_ts *inner, const struct ns_ts *outer);

/* Every non-empty intersection of offered[i] with policy[j], in the order
 * of offered (the peer's first selector is the one that triggered its
 * request, 2.9), duplicates removed, at most max of them (a shorter list is
 * still a valid narrowing). Returns how many were written. */
unsigned ns_ts_narrow_list(const struct ns_ts *offered, unsigned n_offered,
                           const struct ns_ts *policy, unsigned n_policy, struct ns_ts *out,
                           unsigned max);

/* The most selectors one narrowing keeps per side. */
#define NS_TS_NARROW_MAX 32

/* Gateway (responder) narrowing for one client.
 *   tsi/n_tsi, tsr/n_tsr: the client's proposal (its side, our side).
 *   vip, vip6: the virtual IPs assigned to the client (from the pools;
 *     NULL or family 0: none, but not both); vip6_len: 128, or shorter
 *     when vip6 is the first address of a prefix delegated to it.
 *   allowed/n_allowed: the subnets this identity may reach.
 * Writes the narrowed TSi (each vip or the prefix, once per protocol/port restriction
 * the client gave in its family) and TSr (of the families TSi kept: both
 * in one CHILD_SA when the client has both virtual IPs, X8), at most max
 * each. Returns NS_TS_OK, or NS_TS_UNACCEPTABLE when either side ends up
 * empty. */
int ns_ts_narrow_gateway(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr,
                         unsigned n_tsr, const struct ns_addr *vip, const struct ns_addr *vip6,
                         unsigned vip6_len, const struct ns_ts *allowed, unsigned n_allowed,
                         struct ns_ts *out_tsi, unsigned *n_out_tsi, struct ns_ts *out_tsr,
                         unsigned *n_out_tsr, unsigned max);

/* Client (initiator): whether the responder's selectors got[0..n_got) are a
 * non-empty narrowing of what we proposed: each lies within one of
 * proposed[]. assigned (NULL or family 0 if none) is our virtual IP from
 * the CP reply; a placeholder in proposed stands for it. */
bool ns_ts_check_narrowed(const struct ns_ts *proposed, unsigned n_proposed,
                          const struct ns_ts *got, unsigned n_got, const struct ns_addr *assigned);

#endif
