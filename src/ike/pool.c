/* Virtual IPv4 address pool: see pool.h. */
#include "ike/pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NIL UINT32_MAX

/* Client address i (0 <= i < n) is net + 2 + i: the network address (net)
 * and the gateway (net + 1) come before it, the broadcast after the last. */
struct ns_pool {
    uint32_t net; /* network address, host order */
    uint32_t mask;
    uint32_t n; /* client addresses */
    uint32_t in_use;
    /* Free list in reuse order: allocation takes the head, release appends
     * at the tail. next/prev are indexes, NIL ends the list. Doubly linked
     * so that a preferred address can be unlinked from the middle in O(1). */
    uint32_t head, tail;
    uint32_t *next, *prev;
    uint64_t *used; /* bitmap: 1 = given out */
};

static bool bit_get(const uint64_t *map, uint32_t i)
{
    return (map[i / 64] >> (i % 64)) & 1u;
}

static void bit_set(uint64_t *map, uint32_t i, bool v)
{
    if (v)
        map[i / 64] |= (uint64_t)1 << (i % 64);
    else
        map[i / 64] &= ~((uint64_t)1 << (i % 64));
}

struct ns_pool *ns_pool_new(const struct ns_addr *prefix, unsigned prefix_len)
{
    if (!prefix || prefix->family != AF_INET || prefix_len < NS_POOL_MIN_PREFIX ||
        prefix_len > NS_POOL_MAX_PREFIX)
        return NULL;
    struct ns_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->mask = ~(uint32_t)0 << (32 - prefix_len);
    p->net = ns_addr_to_ipv4(prefix) & p->mask;
    p->n = ((uint32_t)1 << (32 - prefix_len)) - 3;
    p->next = malloc(sizeof(uint32_t) * p->n);
    p->prev = malloc(sizeof(uint32_t) * p->n);
    p->used = calloc((p->n + 63) / 64, sizeof(uint64_t));
    if (!p->next || !p->prev || !p->used) {
        ns_pool_free(p);
        return NULL;
    }
    /* Ascending order at first: the first client gets net + 2. */
    for (uint32_t i = 0; i < p->n; i++) {
        p->next[i] = i + 1 < p->n ? i + 1 : NIL;
        p->prev[i] = i > 0 ? i - 1 : NIL;
    }
    p->head = 0;
    p->tail = p->n - 1;
    return p;
}

void ns_pool_free(struct ns_pool *p)
{
    if (!p)
        return;
    free(p->next);
    free(p->prev);
    free(p->used);
    free(p);
}

void ns_pool_gateway_addr(const struct ns_pool *p, struct ns_addr *out)
{
    ns_addr_from_ipv4(out, p->net + 1);
}

void ns_pool_netmask(const struct ns_pool *p, struct ns_addr *out)
{
    ns_addr_from_ipv4(out, p->mask);
}

uint32_t ns_pool_capacity(const struct ns_pool *p)
{
    return p->n;
}

uint32_t ns_pool_in_use(const struct ns_pool *p)
{
    return p->in_use;
}

/* The client index of an address, or NIL when it is not a client address
 * of this pool (other family, other network, network, gateway, broadcast). */
static uint32_t index_of(const struct ns_pool *p, const struct ns_addr *a)
{
    if (!a || a->family != AF_INET)
        return NIL;
    uint32_t v = ns_addr_to_ipv4(a);
    if ((v & p->mask) != p->net)
        return NIL;
    uint32_t host = v - p->net;
    if (host < 2 || host - 2 >= p->n)
        return NIL;
    return host - 2;
}

static void unlink_free(struct ns_pool *p, uint32_t i)
{
    if (p->prev[i] != NIL)
        p->next[p->prev[i]] = p->next[i];
    else
        p->head = p->next[i];
    if (p->next[i] != NIL)
        p->prev[p->next[i]] = p->prev[i];
    else
        p->tail = p->prev[i];
    p->next[i] = p->prev[i] = NIL;
}

int ns_pool_alloc(struct ns_pool *p, const struct ns_addr *prefer, struct ns_addr *out)
{
    uint32_t i = index_of(p, prefer);
    if (i == NIL || bit_get(p->used, i))
        i = p->head;
    if (i == NIL)
        return -1;
    unlink_free(p, i);
    bit_set(p->used, i, true);
    p->in_use++;
    ns_addr_from_ipv4(out, p->net + 2 + i);
    return 0;
}

int ns_pool_release(struct ns_pool *p, const struct ns_addr *a)
{
    uint32_t i = index_of(p, a);
    if (i == NIL || !bit_get(p->used, i))
        return -1;
    bit_set(p->used, i, false);
    p->in_use--;
    /* To the tail: reused as late as possible. */
    p->next[i] = NIL;
    p->prev[i] = p->tail;
    if (p->tail != NIL)
        p->next[p->tail] = i;
    else
        p->head = i;
    p->tail = i;
    return 0;
}

bool ns_pool_is_allocated(const struct ns_pool *p, const struct ns_addr *a)
{
    uint32_t i = index_of(p, a);
    return i != NIL && bit_get(p->used, i);
}
