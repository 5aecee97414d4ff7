#include "esp/spi.h"

#include <stdlib.h>

#include "crypto/rand.h"
#include "esp/htab.h"

#define INITIAL_SIZE 64

static size_t home(const struct ns_spi_table *t, uint32_t spi)
{
    return (size_t)(ns_esp_mix64((uint64_t)spi ^ t->seed) & (t->size - 1));
}

/* The slot holding spi, or the empty slot where it would go. */
static size_t probe(const struct ns_spi_table *t, uint32_t spi)
{
    size_t i = home(t, spi);
    while (t->slots[i].spi != 0 && t->slots[i].spi != spi)
        i = (i + 1) & (t->size - 1);
    return i;
}

int ns_spi_table_init(struct ns_spi_table *t)
{
    t->slots = calloc(INITIAL_SIZE, sizeof(*t->slots));
    if (!t->slots)
        return -1;
    t->size = INITIAL_SIZE;
    t->count = 0;
    if (ns_random_bytes(&t->seed, sizeof(t->seed)) != 0) {
        free(t->slots);
        t->slots = NULL;
        return -1;
    }
    return 0;
}

void ns_spi_table_free(struct ns_spi_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->size = t->count = 0;
}

static int grow(struct ns_spi_table *t)
{
    struct ns_spi_table n = *t;
    n.size = t->size * 2;
    n.slots = calloc(n.size, sizeof(*n.slots));
    if (!n.slots)
        return -1;
    for (size_t i = 0; i < t->size; i++)
        if (t->slots[i].spi != 0)
            n.slots[probe(&n, t->slots[i].spi)] = t->slots[i];
    free(t->slots);
    *t = n;
    return 0;
}

/* Adds spi (known absent) with owner; keeps the load at or below 1/2. */
static int insert(struct ns_spi_table *t, uint32_t spi, void *owner)
{
    if ((t->count + 1) * 2 > t->size && grow(t) != 0)
        return -1;
    size_t i = probe(t, spi);
    t->slots[i].spi = spi;
    t->slots[i].owner = owner;
    t->count++;
    return 0;
}

uint32_t ns_spi_reserve_random(struct ns_spi_table *t)
{
    /* With at most a few million SPIs live out of 2^32, a draw collides
     * less than once in a thousand; 64 failures in a row mean a broken
     * generator, not bad luck. */
    for (int tries = 0; tries < 64; tries++) {
        uint32_t spi;
        if (ns_random_bytes(&spi, sizeof(spi)) != 0)
            return 0;
        if (spi < NS_SPI_MIN || ns_spi_present(t, spi))
            continue;
        return insert(t, spi, NULL) == 0 ? spi : 0;
    }
    return 0;
}

int ns_spi_reserve(struct ns_spi_table *t, uint32_t spi)
{
    if (spi < NS_SPI_MIN || ns_spi_present(t, spi))
        return -1;
    return insert(t, spi, NULL);
}

int ns_spi_bind(struct ns_spi_table *t, uint32_t spi, void *owner)
{
    if (spi < NS_SPI_MIN || !owner)
        return -1;
    size_t i = probe(t, spi);
    if (t->slots[i].spi == spi) {
        if (t->slots[i].owner)
            return -1;
        t->slots[i].owner = owner;
        return 0;
    }
    return insert(t, spi, owner);
}

int ns_spi_release(struct ns_spi_table *t, uint32_t spi)
{
    if (spi == 0)
        return -1;
    size_t mask = t->size - 1;
    size_t i = probe(t, spi);
    if (t->slots[i].spi != spi)
        return -1;
    /* Backward-shift deletion: pull later members of the cluster into the
     * hole unless their home lies cyclically in (hole, j]. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (t->slots[j].spi == 0)
            break;
        size_t k = home(t, t->slots[j].spi);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    t->slots[i].spi = 0;
    t->slots[i].owner = NULL;
    t->count--;
    return 0;
}

bool ns_spi_present(const struct ns_spi_table *t, uint32_t spi)
{
    return spi != 0 && t->slots[probe(t, spi)].spi == spi;
}

void *ns_spi_owner(const struct ns_spi_table *t, uint32_t spi)
{
    if (spi == 0)
        return NULL;
    const struct ns_spi_slot *s = &t->slots[probe(t, spi)];
    return s->spi == spi ? s->owner : NULL;
}
