#include "esp/htab.h"

#include <stdlib.h>

#define INITIAL_SIZE 16

int ns_esp_htab_init(struct ns_esp_htab *t)
{
    t->buckets = calloc(INITIAL_SIZE, sizeof(*t->buckets));
    if (!t->buckets)
        return -1;
    t->size = INITIAL_SIZE;
    t->count = 0;
    return 0;
}

void ns_esp_htab_free(struct ns_esp_htab *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->size = t->count = 0;
}

static void grow(struct ns_esp_htab *t)
{
    size_t size = t->size * 2;
    struct ns_esp_hnode **b = calloc(size, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < t->size; i++) {
        struct ns_esp_hnode *n = t->buckets[i];
        while (n) {
            struct ns_esp_hnode *next = n->next;
            size_t j = (size_t)(n->hash & (size - 1));
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->size = size;
}

void ns_esp_htab_insert(struct ns_esp_htab *t, struct ns_esp_hnode *node, uint64_t hash)
{
    if (t->count >= t->size)
        grow(t);
    size_t i = (size_t)(hash & (t->size - 1));
    node->hash = hash;
    node->next = t->buckets[i];
    t->buckets[i] = node;
    t->count++;
}

void ns_esp_htab_remove(struct ns_esp_htab *t, struct ns_esp_hnode *node)
{
    struct ns_esp_hnode **pp = &t->buckets[node->hash & (t->size - 1)];
    while (*pp && *pp != node)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = node->next;
        node->next = NULL;
        t->count--;
    }
}

static struct ns_esp_hnode *from(struct ns_esp_hnode *n, uint64_t hash)
{
    while (n && n->hash != hash)
        n = n->next;
    return n;
}

struct ns_esp_hnode *ns_esp_htab_first(const struct ns_esp_htab *t, uint64_t hash)
{
    return from(t->buckets[hash & (t->size - 1)], hash);
}

struct ns_esp_hnode *ns_esp_htab_next(const struct ns_esp_hnode *node)
{
    return from(node->next, node->hash);
}
