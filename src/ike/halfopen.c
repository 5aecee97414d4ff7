/* Per-source fair share of the half-open IKE SAs (ike/halfopen.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ike/halfopen.h"

#define INITIAL_CHAINS 16
#define INITIAL_COUNTS 16

struct ns_halfopen_src {
    struct ns_halfopen_src *hnext;            /* hash chain */
    struct ns_halfopen_src *prev, *next;      /* the sources holding the same count */
    struct ns_halfopen_link *oldest, *newest; /* its half-open SAs */
    uint64_t hash;
    unsigned count;
    struct ns_addr addr;
};

void ns_halfopen_source_of(const struct ns_addr *addr, struct ns_addr *src)
{
    memset(src, 0, sizeof(*src));
    src->family = addr->family;
    memcpy(src->a, addr->a, addr->family == AF_INET6 ? 8 : 4);
}

int ns_halfopen_init(struct ns_halfopen_table *t)
{
    memset(t, 0, sizeof(*t));
    t->hb = calloc(INITIAL_CHAINS, sizeof(*t->hb));
    t->by_n = calloc(INITIAL_COUNTS, sizeof(*t->by_n));
    if (!t->hb || !t->by_n) {
        ns_halfopen_free(t);
        return -1;
    }
    t->nb = INITIAL_CHAINS;
    t->n_by_n = INITIAL_COUNTS;
    return 0;
}

void ns_halfopen_free(struct ns_halfopen_table *t)
{
    for (size_t i = 0; i < t->nb; i++) {
        while (t->hb[i]) {
            struct ns_halfopen_src *s = t->hb[i];
            t->hb[i] = s->hnext;
            free(s);
        }
    }
    free(t->hb);
    free(t->by_n);
    memset(t, 0, sizeof(*t));
}

/* ---- the hash of sources ---- */

static bool same_source(const struct ns_halfopen_src *s, const struct ns_addr *src, uint64_t hash)
{
    return s->hash == hash && s->addr.family == src->family &&
           memcmp(s->addr.a, src->a, sizeof(src->a)) == 0;
}

static struct ns_halfopen_src *find(const struct ns_halfopen_table *t, const struct ns_addr *src,
                                    uint64_t hash)
{
    for (struct ns_halfopen_src *s = t->hb[hash & (t->nb - 1)]; s; s = s->hnext)
        if (same_source(s, src, hash))
            return s;
    return NULL;
}

/* Doubles the chains when there are more sources than chains; a failure
 * only leaves the chains longer. */
static void grow_chains(struct ns_halfopen_table *t)
{
    size_t nb = t->nb * 2;
    struct ns_halfopen_src **hb = calloc(nb, sizeof(*hb));
    if (!hb)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        while (t->hb[i]) {
            struct ns_halfopen_src *s = t->hb[i];
            t->hb[i] = s->hnext;
            s->hnext = hb[s->hash & (nb - 1)];
            hb[s->hash & (nb - 1)] = s;
        }
    }
    free(t->hb);
    t->hb = hb;
    t->nb = nb;
}

static void unhash(struct ns_halfopen_table *t, struct ns_halfopen_src *s)
{
    struct ns_halfopen_src **pp = &t->hb[s->hash & (t->nb - 1)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    t->n_src--;
}

/* ---- the sources by count ---- */

static void level_insert(struct ns_halfopen_table *t, struct ns_halfopen_src *s)
{
    struct ns_halfopen_src **head = &t->by_n[s->count];
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
    if (s->count > t->max)
        t->max = s->count;
}

static void level_remove(struct ns_halfopen_table *t, struct ns_halfopen_src *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        t->by_n[s->count] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    /* The count of s is about to move by one: the largest holder's count
     * is then either another source's at max, or max - 1 (s itself, or
     * nobody when s was the last). */
    if (s->count == t->max && !t->by_n[t->max])
        t->max--;
}

/* Room in by_n for count c. */
static int room_for(struct ns_halfopen_table *t, unsigned c)
{
    if (c < t->n_by_n)
        return 0;
    size_t n = t->n_by_n * 2;
    struct ns_halfopen_src **by_n = realloc(t->by_n, n * sizeof(*by_n));
    if (!by_n)
        return -1;
    memset(by_n + t->n_by_n, 0, (n - t->n_by_n) * sizeof(*by_n));
    t->by_n = by_n;
    t->n_by_n = n;
    return 0;
}

/* ---- the operations ---- */

unsigned ns_halfopen_count(const struct ns_halfopen_table *t, const struct ns_addr *src,
                           uint64_t hash)
{
    const struct ns_halfopen_src *s = find(t, src, hash);
    return s ? s->count : 0;
}

int ns_halfopen_add(struct ns_halfopen_table *t, struct ns_halfopen_link *link,
                    const struct ns_addr *src, uint64_t hash)
{
    struct ns_halfopen_src *s = find(t, src, hash);
    if (room_for(t, s ? s->count + 1 : 1) != 0)
        return -1;
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->hash = hash;
        s->addr = *src;
        if (t->n_src >= t->nb)
            grow_chains(t);
        s->hnext = t->hb[hash & (t->nb - 1)];
        t->hb[hash & (t->nb - 1)] = s;
        t->n_src++;
    } else {
        level_remove(t, s);
    }
    s->count++;
    level_insert(t, s);
    link->src = s;
    link->next = NULL;
    link->prev = s->newest;
    if (s->newest)
        s->newest->next = link;
    else
        s->oldest = link;
    s->newest = link;
    t->n_links++;
    return 0;
}

void ns_halfopen_del(struct ns_halfopen_table *t, struct ns_halfopen_link *link)
{
    struct ns_halfopen_src *s = link->src;
    if (!s)
        return;
    if (link->prev)
        link->prev->next = link->next;
    else
        s->oldest = link->next;
    if (link->next)
        link->next->prev = link->prev;
    else
        s->newest = link->prev;
    link->prev = link->next = NULL;
    link->src = NULL;
    t->n_links--;
    level_remove(t, s);
    if (--s->count == 0) {
        unhash(t, s);
        free(s);
        return;
    }
    level_insert(t, s);
}

struct ns_halfopen_link *ns_halfopen_victim(const struct ns_halfopen_table *t,
                                            unsigned newcomer_count)
{
    /* Only a move that leaves the newcomer with no more than the holder
     * keeps: max >= newcomer + 2 (written so that it cannot overflow). */
    if (t->max < 2 || newcomer_count > t->max - 2)
        return NULL;
    return t->by_n[t->max]->oldest;
}

size_t ns_halfopen_sources(const struct ns_halfopen_table *t)
{
    return t->n_src;
}

unsigned ns_halfopen_largest(const struct ns_halfopen_table *t)
{
    return t->max;
}

/* ---- self-check ---- */

static bool source_consistent(const struct ns_halfopen_table *t, const struct ns_halfopen_src *s)
{
    unsigned n = 0;
    const struct ns_halfopen_link *last = NULL;
    for (const struct ns_halfopen_link *l = s->oldest; l; l = l->next) {
        if (l->src != s || l->prev != last || ++n > s->count)
            return false;
        last = l;
    }
    if (n != s->count || s->newest != last || s->count == 0 || s->count > t->max ||
        s->count >= t->n_by_n)
        return false;
    for (const struct ns_halfopen_src *o = t->by_n[s->count]; o; o = o->next)
        if (o == s)
            return find(t, &s->addr, s->hash) == s;
    return false;
}

bool ns_halfopen_consistent(const struct ns_halfopen_table *t)
{
    size_t sources = 0, links = 0;
    bool max_held = t->max == 0;
    for (size_t i = 0; i < t->nb; i++) {
        for (const struct ns_halfopen_src *s = t->hb[i]; s; s = s->hnext) {
            if ((s->hash & (t->nb - 1)) != i || !source_consistent(t, s))
                return false;
            sources++;
            links += s->count;
            max_held |= s->count == t->max;
        }
    }
    size_t listed = 0;
    for (size_t c = 0; c < t->n_by_n; c++) {
        const struct ns_halfopen_src *prev = NULL;
        for (const struct ns_halfopen_src *s = t->by_n[c]; s; s = s->next) {
            if (s->count != c || s->prev != prev || ++listed > sources)
                return false;
            prev = s;
        }
    }
    return max_held && sources == t->n_src && links == t->n_links && listed == sources;
}
