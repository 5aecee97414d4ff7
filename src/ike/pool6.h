/* The gateway's pool of virtual IPv6 addresses (pool6, X8): each client
 * gets one address, a /128, from a configured prefix, beside its IPv4
 * address from the IPv4 pool (ike/pool.h).
 *
 * It is the IPv4 pool's allocator over the low bits of the prefix: the
 * first 2^h addresses of the prefix, h = min(128 - length, 20), so a /64
 * serves about a million clients, as the largest IPv4 pool does, with the
 * same memory and the same rules: the prefix's first address (the
 * subnet-router anycast address) and its last of those 2^h are never
 * given, the second is the gateway's own, released addresses are reused
 * as late as possible, and a requested address goes only to the identity
 * that held it last.
 *
 * A client may ask for a prefix instead (RFC 7296 3.15.1): it gets one
 * from the second half of the prefix (ike/pool6_deleg.h) when pool6 is
 * /107 or shorter. */
#ifndef NATSEC_IKE_POOL6_H
#define NATSEC_IKE_POOL6_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "util/addr.h"

struct ns_pool6;

/* A pool over prefix/prefix_len (IPv6, host bits ignored). NULL when the
 * prefix is not IPv6, its length is outside [NS_POOL6_MIN_PREFIX,
 * NS_POOL6_MAX_PREFIX], or memory runs out. */
struct ns_pool6 *ns_pool6_new(const struct ns_addr *prefix, unsigned prefix_len);
void ns_pool6_free(struct ns_pool6 *p);

/* The gateway's own address (the prefix's second). */
void ns_pool6_gateway_addr(const struct ns_pool6 *p, struct ns_addr *out);
uint32_t ns_pool6_capacity(const struct ns_pool6 *p);
/* Addresses given out, and prefixes delegated. */
uint32_t ns_pool6_in_use(const struct ns_pool6 *p);
uint32_t ns_pool6_prefixes_in_use(const struct ns_pool6 *p);

/* As ns_pool_alloc: an address for owner, prefer given when free and
 * owner held it last. 0, or -1 when the pool is exhausted. */
int ns_pool6_alloc(struct ns_pool6 *p, const struct ns_addr *prefer, uint64_t owner,
                   struct ns_addr *out);
/* The length of the prefix a client asking for one of length asked
 * gets, or 0 when this pool delegates none (it is longer than /107). */
unsigned ns_pool6_prefix_len(const struct ns_pool6 *p, unsigned asked);
/* A prefix of length len (as ns_pool6_prefix_len gives) for owner, its
 * first address into out; prefer as for ns_pool6_alloc. 0, or -1 when
 * none is free. */
int ns_pool6_alloc_prefix(struct ns_pool6 *p, unsigned len, const struct ns_addr *prefer,
                          uint64_t owner, struct ns_addr *out);
/* Releases an address or a delegated prefix (by its first address): 0, or
 * -1 when a is neither of those given out by this pool. */
int ns_pool6_release(struct ns_pool6 *p, const struct ns_addr *a);
/* Whether a is a given address or lies in a delegated prefix. */
bool ns_pool6_is_allocated(const struct ns_pool6 *p, const struct ns_addr *a);

#endif
