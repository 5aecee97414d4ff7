/* Virtual IPv4 address pool: see pool.h. */
#include "ike/pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NIL UINT32_MAX
#define CHUNK_BITS 12 /* links are allocated 4096 addresses (32 KiB) at a time */
#define CHUNK_LEN (1u << CHUNK_BITS)

struct link {
    uint32_t next, prev;
    uint64_t owner; /* the tag of the identity that held it last, 0: nobody */
};

/* Client address i (0 <= i < n) is net + 2 + i: the network address (net)
 * and the gateway (net + 1) come before it, the broadcast after the last.
 *
 * Every index is in one of three states:
 *   given out:  used bit set;
 *   released:   listed bit set, on the released list (free);
 *   never used: neither bit, and i >= fresh (free).
 * The cursor `fresh` passes an index only by giving it out or by skipping
 * one that is given out or listed, so below it every index is either given
 * out or listed: the never-used ones are exactly the unmarked ones above
 * it, and they go first, in ascending order. */
struct ns_pool {
    uint32_t net; /* network address, host order */
    uint32_t mask;
    uint32_t n; /* client addresses */
    uint32_t in_use;
    uint32_t fresh; /* no never-used address below this index */
    /* The released list in reuse order: allocation takes the head, release
     * appends at the tail. Doubly linked so that a preferred address can be
     * unlinked from the middle in O(1). */
    uint32_t head, tail;
    uint64_t *used, *listed; /* bitmaps over the indexes */
    struct link **chunk;     /* links of block i >> CHUNK_BITS, NULL until one is given out */
    uint32_t n_chunks;
    size_t bytes; /* held now */
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

static struct link *link_of(const struct ns_pool *p, uint32_t i)
{
    return &p->chunk[i >> CHUNK_BITS][i & (CHUNK_LEN - 1)];
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
    p->head = p->tail = NIL;
    size_t words = (p->n + 63) / 64;
    p->n_chunks = (p->n + CHUNK_LEN - 1) >> CHUNK_BITS;
    p->used = calloc(words, sizeof(uint64_t));
    p->listed = calloc(words, sizeof(uint64_t));
    p->chunk = calloc(p->n_chunks, sizeof(*p->chunk));
    p->bytes = sizeof(*p) + 2 * words * sizeof(uint64_t) + p->n_chunks * sizeof(*p->chunk);
    if (!p->used || !p->listed || !p->chunk) {
        ns_pool_free(p);
        return NULL;
    }
    return p;
}

void ns_pool_free(struct ns_pool *p)
{
    if (!p)
        return;
    if (p->chunk)
        for (uint32_t c = 0; c < p->n_chunks; c++)
            free(p->chunk[c]);
    free(p->chunk);
    free(p->used);
    free(p->listed);
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

size_t ns_pool_memory(const struct ns_pool *p)
{
    return p->bytes;
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

/* The links of i's block exist (they must before i is given out, so that
 * its release cannot fail). The last block is only as long as needed. */
static int ensure_links(struct ns_pool *p, uint32_t i)
{
    uint32_t c = i >> CHUNK_BITS;
    if (p->chunk[c])
        return 0;
    uint32_t len = p->n - c * CHUNK_LEN < CHUNK_LEN ? p->n - c * CHUNK_LEN : CHUNK_LEN;
    p->chunk[c] = calloc(len, sizeof(struct link)); /* owner 0: never held */
    if (!p->chunk[c])
        return -1;
    p->bytes += len * sizeof(struct link);
    return 0;
}

static void unlink_listed(struct ns_pool *p, uint32_t i)
{
    struct link *l = link_of(p, i);
    if (l->prev != NIL)
        link_of(p, l->prev)->next = l->next;
    else
        p->head = l->next;
    if (l->next != NIL)
        link_of(p, l->next)->prev = l->prev;
    else
        p->tail = l->prev;
    bit_set(p->listed, i, false);
}

/* Whether index i was given out last to owner (never to owner 0). */
static bool held_last_by(const struct ns_pool *p, uint32_t i, uint64_t owner)
{
    return owner != 0 && p->chunk[i >> CHUNK_BITS] && link_of(p, i)->owner == owner;
}

/* The lowest never-used index from the cursor on (n when none is left). */
static uint32_t next_fresh(struct ns_pool *p)
{
    while (p->fresh < p->n) {
        uint32_t k = p->fresh / 64;
        uint64_t free_bits = ~(p->used[k] | p->listed[k]) & (~(uint64_t)0 << (p->fresh % 64));
        if (free_bits) {
            uint32_t i = k * 64 + (uint32_t)__builtin_ctzll(free_bits);
            p->fresh = i < p->n ? i : p->n;
            break;
        }
        p->fresh = (k + 1) * 64;
    }
    if (p->fresh > p->n)
        p->fresh = p->n;
    return p->fresh;
}

/* Marks address i given to owner. */
static int take(struct ns_pool *p, uint32_t i, uint64_t owner, struct ns_addr *out)
{
    if (ensure_links(p, i) != 0)
        return -1;
    if (bit_get(p->listed, i))
        unlink_listed(p, i);
    if (i == p->fresh)
        p->fresh++;
    bit_set(p->used, i, true);
    link_of(p, i)->owner = owner;
    p->in_use++;
    ns_addr_from_ipv4(out, p->net + 2 + i);
    return 0;
}

int ns_pool_alloc(struct ns_pool *p, const struct ns_addr *prefer, uint64_t owner,
                  struct ns_addr *out)
{
    uint32_t i = index_of(p, prefer);
    if (i == NIL || bit_get(p->used, i) || !held_last_by(p, i, owner)) {
        /* Never-used addresses first, then the longest released. */
        i = next_fresh(p);
        if (i == p->n)
            i = p->head;
        if (i == NIL)
            return -1;
    }
    return take(p, i, owner, out);
}

int ns_pool_take(struct ns_pool *p, const struct ns_addr *a, uint64_t owner)
{
    struct ns_addr out;
    uint32_t i = index_of(p, a);
    if (i == NIL || bit_get(p->used, i))
        return -1;
    return take(p, i, owner, &out);
}

int ns_pool_release(struct ns_pool *p, const struct ns_addr *a)
{
    uint32_t i = index_of(p, a);
    if (i == NIL || !bit_get(p->used, i))
        return -1;
    bit_set(p->used, i, false);
    p->in_use--;
    /* To the tail: reused as late as possible. */
    struct link *l = link_of(p, i);
    l->next = NIL;
    l->prev = p->tail;
    if (p->tail != NIL)
        link_of(p, p->tail)->next = i;
    else
        p->head = i;
    p->tail = i;
    bit_set(p->listed, i, true);
    return 0;
}

bool ns_pool_is_allocated(const struct ns_pool *p, const struct ns_addr *a)
{
    uint32_t i = index_of(p, a);
    return i != NIL && bit_get(p->used, i);
}
