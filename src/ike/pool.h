/* The gateway's pool of virtual IPv4 addresses (R6): each client gets its
 * own inner address from a configured prefix, given out through the
 * configuration payload, so clients with the same private address behind
 * one NAT or several never collide.
 *
 * Host addresses exclude the network address, the broadcast address and the
 * first host, which is the gateway's own TUN address. Addresses are given
 * out in ascending order while never-used ones remain; released addresses
 * queue behind those, in release order, so an address is reused as late as
 * possible (fewer stale packets reach a new owner, and a reconnecting client
 * can usually get its old address back with `prefer`).
 *
 * A requested address (`prefer`) is given only to the identity that held
 * it last (`owner`, a tag the caller derives from the authenticated
 * identity): traffic still on its way to an address, and whatever the
 * network behind the gateway grants by address, belong to its last holder,
 * and a peer must not pick them up by asking for that address. An address
 * nobody has held is not given on request either.
 *
 * Cost (R12): release, preferred allocation and lookups are O(1); plain
 * allocation is amortized O(1) (a cursor over never-used addresses only
 * moves forward, a 64-bit word at a time past addresses taken by `prefer`).
 * Memory grows with use, not with the prefix: two bitmaps (n/4 bytes, 256
 * KiB for a /12) at creation, and the free-list links with the last
 * holder's tag (16 bytes an address) only for the 4096-address blocks an
 * address has been given out of. */
#ifndef NATSEC_IKE_POOL_H
#define NATSEC_IKE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "util/addr.h"

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
/* Bytes the pool holds now (for memory accounting and its tests). */
size_t ns_pool_memory(const struct ns_pool *p);

/* Gives out an address to owner (a nonzero tag of the identity; 0: none).
 * prefer (NULL or family 0 for none) is the address a client asked for in
 * its CP request: it is given if it is a free client address of this pool
 * that owner (not 0) held last, else the next free one is. Returns 0, or -1
 * when the pool is exhausted (or, rarely, memory for its links runs out). */
int ns_pool_alloc(struct ns_pool *p, const struct ns_addr *prefer, uint64_t owner,
                  struct ns_addr *out);
/* Gives out exactly a (an address an authentication server assigned, such
 * as RADIUS' Framed-IP-Address) to owner. Returns 0, or -1 when a is not a
 * client address of this pool or is given out already. */
int ns_pool_take(struct ns_pool *p, const struct ns_addr *a, uint64_t owner);
/* Returns an address to the pool. Returns 0, or -1 when it is not an
 * address this pool has given out (then nothing changes). Never fails for
 * an address it gave. */
int ns_pool_release(struct ns_pool *p, const struct ns_addr *a);
/* Whether a is currently given out. */
bool ns_pool_is_allocated(const struct ns_pool *p, const struct ns_addr *a);

#endif
