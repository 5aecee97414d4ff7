/* Prefixes delegated from pool6 (X8, RFC 7296 3.15.1: INTERNAL_IP6_ADDRESS
 * carries a prefix length): a client that asks for a prefix gets one of
 * the length it asks, within bounds, routed to it and anti-spoofed to it.
 *
 * The region is the second half of the pool6 prefix P/L (the /128
 * addresses come from the first 2^20 addresses of the first half, so the
 * two never meet; a pool longer than /107 has no room and delegates
 * nothing). Prefixes are aligned blocks of length k, L + 8 <= k <= 127: a
 * client asking for a shorter one gets an L + 8 (the region then still
 * holds 128 of them). Prefixes of different lengths share the region.
 *
 * Like the address pool, a released prefix is reused as late as possible
 * and given back on request only to the identity that held it last: it
 * stays as a tombstone with its holder's tag until a new prefix needs its
 * space, or the table (NS_POOL6_DELEG_MAX entries, live and tombstones) is
 * full and it is the oldest tombstone.
 *
 * Cost: allocation and release are O(n) in the entries (a sorted array:
 * memmove and one pass), n <= NS_POOL6_DELEG_MAX; memory grows with use,
 * 48 bytes an entry. */
#ifndef NATSEC_IKE_POOL6_DELEG_H
#define NATSEC_IKE_POOL6_DELEG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/addr.h"

#define NS_POOL6_DELEG_MAX 4096
/* The longest pool6 with a delegation region (its first half must hold
 * the 2^20 addresses of the /128 allocator). */
#define NS_POOL6_DELEG_MAX_POOL 107
/* How much longer than the pool the shortest delegated prefix is. */
#define NS_POOL6_DELEG_MIN_EXTRA 8

struct ns_pool6_deleg;

/* The delegation region of the pool prefix/prefix_len; NULL when the
 * pool is longer than NS_POOL6_DELEG_MAX_POOL or memory runs out. */
struct ns_pool6_deleg *ns_pool6_deleg_new(const struct ns_addr *prefix, unsigned prefix_len);
void ns_pool6_deleg_free(struct ns_pool6_deleg *d);

/* The length a client asking for asked gets: asked clamped to
 * [L + NS_POOL6_DELEG_MIN_EXTRA, 127]. */
unsigned ns_pool6_deleg_len(const struct ns_pool6_deleg *d, unsigned asked);
/* A free prefix of length len (as ns_pool6_deleg_len gives) for owner;
 * prefer (NULL or family 0: none) is given back when it is a free prefix
 * of that length that owner (not 0) held last. Its first address into
 * out. 0, or -1 when the region or the table is full. */
int ns_pool6_deleg_alloc(struct ns_pool6_deleg *d, unsigned len, const struct ns_addr *prefer,
                         uint64_t owner, struct ns_addr *out);
/* Releases the live prefix whose first address is base: 0, or -1 when
 * there is none. */
int ns_pool6_deleg_release(struct ns_pool6_deleg *d, const struct ns_addr *base);
/* Whether a lies in a live delegated prefix. */
bool ns_pool6_deleg_covers(const struct ns_pool6_deleg *d, const struct ns_addr *a);
uint32_t ns_pool6_deleg_in_use(const struct ns_pool6_deleg *d);

#endif
