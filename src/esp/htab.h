/* An intrusive chained hash table: the caller embeds struct ns_esp_hnode in its
 * own objects and supplies a 64-bit hash of the key; the table compares
 * hashes, the caller compares keys. No allocation except for the bucket
 * array, which doubles when the table holds more nodes than buckets, so
 * chains stay O(1) long. Used by the SA database for the outbound /32 index
 * and the per-IKE-SA index. */
#ifndef NATSEC_ESP_HTAB_H
#define NATSEC_ESP_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct ns_esp_hnode {
    struct ns_esp_hnode *next;
    uint64_t hash;
};

struct ns_esp_htab {
    struct ns_esp_hnode **buckets;
    size_t size; /* power of two */
    size_t count;
};

/* splitmix64's finalizer: every input bit reaches every output bit, so the
 * low bits used as a bucket index are as good as the high ones. Callers mix
 * in a random per-table seed so a peer cannot predict collisions. */
static inline uint64_t ns_esp_mix64(uint64_t z)
{
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

int ns_esp_htab_init(struct ns_esp_htab *t);
void ns_esp_htab_free(struct ns_esp_htab *t);
/* Links node in. Never fails: when growing runs out of memory the chains
 * just get longer. */
void ns_esp_htab_insert(struct ns_esp_htab *t, struct ns_esp_hnode *node, uint64_t hash);
/* Unlinks node, which must be in t. */
void ns_esp_htab_remove(struct ns_esp_htab *t, struct ns_esp_hnode *node);
/* The first node with this hash, then the next ones; NULL at the end. */
struct ns_esp_hnode *ns_esp_htab_first(const struct ns_esp_htab *t, uint64_t hash);
struct ns_esp_hnode *ns_esp_htab_next(const struct ns_esp_hnode *node);

#endif
