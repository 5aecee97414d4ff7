/* The host's inbound SPIs (R7): an open-addressing hash table from SPI to
 * owner, which holds both SPIs reserved for a negotiation in progress (no
 * owner yet) and SPIs of installed SAs. One table for both is what makes an
 * SPI unique across all of them, and finding an inbound SA by SPI alone one
 * probe in the common case.
 *
 * Linear probing at a load of at most 1/2, with deletion by backward shift
 * (no tombstones, so lookups stay short however many SAs come and go). The
 * hash is seeded at random so a peer cannot aim lookups at one cluster. */
#ifndef NATSEC_ESP_SPI_H
#define NATSEC_ESP_SPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SPIs 1..255 are reserved by IANA (RFC 4303 2.1) and 0 is never valid. */
#define NS_SPI_MIN 256u

struct ns_spi_slot {
    uint32_t spi; /* 0 = empty slot */
    void *owner;  /* NULL = reserved, not yet bound */
};

struct ns_spi_table {
    struct ns_spi_slot *slots;
    size_t size;  /* power of two */
    size_t count; /* occupied slots */
    uint64_t seed;
};

int ns_spi_table_init(struct ns_spi_table *t);
void ns_spi_table_free(struct ns_spi_table *t);

/* Reserves a random, unused SPI >= NS_SPI_MIN; returns it, or 0 when the
 * random generator or memory fails. */
uint32_t ns_spi_reserve_random(struct ns_spi_table *t);
/* Reserves a given SPI; -1 when it is invalid or already present. */
int ns_spi_reserve(struct ns_spi_table *t, uint32_t spi);
/* Binds owner to spi: a reservation is taken over, an absent SPI is added.
 * Returns -1 when spi is invalid or already bound to an owner. */
int ns_spi_bind(struct ns_spi_table *t, uint32_t spi, void *owner);
/* Drops spi (reserved or bound); returns -1 when it is absent. */
int ns_spi_release(struct ns_spi_table *t, uint32_t spi);
/* Whether spi is reserved or bound. */
bool ns_spi_present(const struct ns_spi_table *t, uint32_t spi);
/* The owner bound to spi, or NULL (absent or only reserved). */
void *ns_spi_owner(const struct ns_spi_table *t, uint32_t spi);

#endif
