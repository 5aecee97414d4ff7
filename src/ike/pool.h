/* The gateway's pool of virtual IPv4 addresses (R6): each client gets its
 * own inner address from a configured prefix, given out through the
 * configuration payload, so clients with the same private address behind
 * one NAT or several never collide.
 *
 * Host addresses exclude the network address, the broadcast address and the
 * first host, which is the gateway's own TUN address. Allocation and release
 * are O(1) (a doubly linked free list over the host indexes); released
 * addresses go to the tail of the list so an address is reused as late as
 * possible (fewer stale packets reach a new owner, and a reconnecting client
 * can usually get its old address back with `prefer`). */
#ifndef NATSEC_IKE_POOL_H
#define NATSEC_IKE_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "util/addr.h"

#define NS_POOL_MIN_PREFIX 16 /* a /16: 65533 client addresses */
#define NS_POOL_MAX_PREFIX 30 /* a /30: one client address */

struct ns_pool;

/* A pool over prefix/prefix_len (IPv4; host bits of prefix are ignored).
 * NULL when the prefix is not IPv4, prefix_len is outside
 * [NS_POOL_MIN_PREFIX, NS_POOL_MAX_PREFIX], or memory runs out. */
struct ns_pool *ns_pool_new(const struct ns_addr *prefix, unsigned prefix_len);
void ns_pool_free(struct ns_pool *p);

/* The gateway's own address (network + 1). */
void ns_pool_gateway_addr(const struct ns_pool *p, struct ns_addr *out);
/* The netmask, for INTERNAL_IP4_NETMASK. */
void ns_pool_netmask(const struct ns_pool *p, struct ns_addr *out);
/* How many client addresses exist (2^(32-len) - 3), and how many are given. */
uint32_t ns_pool_capacity(const struct ns_pool *p);
uint32_t ns_pool_in_use(const struct ns_pool *p);

/* Gives out an address. prefer (NULL or family 0 for none) is the address a
 * client asked for in its CP request: it is given if it is a free client
 * address of this pool, else the next free one is. Returns 0, or -1 when the
 * pool is exhausted. */
int ns_pool_alloc(struct ns_pool *p, const struct ns_addr *prefer, struct ns_addr *out);
/* Returns an address to the pool. Returns 0, or -1 when it is not an
 * address this pool has given out (then nothing changes). */
int ns_pool_release(struct ns_pool *p, const struct ns_addr *a);
/* Whether a is currently given out. */
bool ns_pool_is_allocated(const struct ns_pool *p, const struct ns_addr *a);

#endif
