/* Virtual IPv6 address pool: see pool6.h. Index i of the IPv4 allocator
 * (an address of 0.0.0.0/(32 - h)) stands for the prefix's address i. */
#include "ike/pool6.h"

#include <stdlib.h>
#include <string.h>

#include "ike/pool.h"
#include "ike/pool6_deleg.h"

#define HOST_BITS_MAX 20 /* the IPv4 pool's largest: a /12 */

struct ns_pool6 {
    struct ns_pool *v4;
    struct ns_addr prefix; /* host bits cleared */
    unsigned host_bits;    /* h */
    struct ns_pool6_deleg *deleg; /* NULL: the pool is too long to delegate */
};

struct ns_pool6 *ns_pool6_new(const struct ns_addr *prefix, unsigned prefix_len)
{
    if (!prefix || prefix->family != AF_INET6 || prefix_len < NS_POOL6_MIN_PREFIX ||
        prefix_len > NS_POOL6_MAX_PREFIX)
        return NULL;
    struct ns_pool6 *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->host_bits = 128 - prefix_len < HOST_BITS_MAX ? 128 - prefix_len : HOST_BITS_MAX;
    p->prefix = *prefix;
    for (unsigned bit = prefix_len; bit < 128; bit++)
        p->prefix.a[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    struct ns_addr zero;
    memset(&zero, 0, sizeof(zero));
    zero.family = AF_INET;
    p->v4 = ns_pool_new(&zero, 32 - p->host_bits);
    if (!p->v4) {
        free(p);
        return NULL;
    }
    if (prefix_len <= NS_POOL6_DELEG_MAX_POOL &&
        !(p->deleg = ns_pool6_deleg_new(prefix, prefix_len))) {
        ns_pool6_free(p);
        return NULL;
    }
    return p;
}

void ns_pool6_free(struct ns_pool6 *p)
{
    if (!p)
        return;
    ns_pool_free(p->v4);
    ns_pool6_deleg_free(p->deleg);
    free(p);
}

/* The prefix's address of index i (its low 32 bits ORed with i). */
static void to_v6(const struct ns_pool6 *p, uint32_t i, struct ns_addr *out)
{
    *out = p->prefix;
    for (int k = 0; k < 4; k++)
        out->a[15 - k] |= (uint8_t)(i >> (8 * k));
}

/* The index of a, or false when a is not among the pool's 2^h addresses. */
static bool to_index(const struct ns_pool6 *p, const struct ns_addr *a, struct ns_addr *v4)
{
    if (!a || a->family != AF_INET6 || memcmp(a->a, p->prefix.a, 12) != 0)
        return false;
    uint32_t i =
        (uint32_t)a->a[12] << 24 | (uint32_t)a->a[13] << 16 | (uint32_t)a->a[14] << 8 | a->a[15];
    uint32_t base = (uint32_t)p->prefix.a[12] << 24 | (uint32_t)p->prefix.a[13] << 16 |
                    (uint32_t)p->prefix.a[14] << 8 | p->prefix.a[15];
    if ((i & ~(((uint32_t)1 << p->host_bits) - 1)) != base)
        return false;
    ns_addr_from_ipv4(v4, i & (((uint32_t)1 << p->host_bits) - 1));
    return true;
}

void ns_pool6_gateway_addr(const struct ns_pool6 *p, struct ns_addr *out)
{
    to_v6(p, 1, out);
}

uint32_t ns_pool6_capacity(const struct ns_pool6 *p)
{
    return ns_pool_capacity(p->v4);
}

uint32_t ns_pool6_in_use(const struct ns_pool6 *p)
{
    return ns_pool_in_use(p->v4);
}

int ns_pool6_alloc(struct ns_pool6 *p, const struct ns_addr *prefer, uint64_t owner,
                   struct ns_addr *out)
{
    struct ns_addr want, got;
    bool asked = to_index(p, prefer, &want);
    if (ns_pool_alloc(p->v4, asked ? &want : NULL, owner, &got) != 0)
        return -1;
    to_v6(p, ns_addr_to_ipv4(&got), out);
    return 0;
}

uint32_t ns_pool6_prefixes_in_use(const struct ns_pool6 *p)
{
    return p->deleg ? ns_pool6_deleg_in_use(p->deleg) : 0;
}

unsigned ns_pool6_prefix_len(const struct ns_pool6 *p, unsigned asked)
{
    return p->deleg ? ns_pool6_deleg_len(p->deleg, asked) : 0;
}

int ns_pool6_alloc_prefix(struct ns_pool6 *p, unsigned len, const struct ns_addr *prefer,
                          uint64_t owner, struct ns_addr *out)
{
    return p->deleg ? ns_pool6_deleg_alloc(p->deleg, len, prefer, owner, out) : -1;
}

int ns_pool6_release(struct ns_pool6 *p, const struct ns_addr *a)
{
    struct ns_addr v4;
    if (to_index(p, a, &v4))
        return ns_pool_release(p->v4, &v4);
    return p->deleg ? ns_pool6_deleg_release(p->deleg, a) : -1;
}

bool ns_pool6_is_allocated(const struct ns_pool6 *p, const struct ns_addr *a)
{
    struct ns_addr v4;
    if (to_index(p, a, &v4))
        return ns_pool_is_allocated(p->v4, &v4);
    return p->deleg && ns_pool6_deleg_covers(p->deleg, a);
}
