/* Random bytes from OpenSSL's CSPRNG. */
#ifndef NATSEC_CRYPTO_RAND_H
#define NATSEC_CRYPTO_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0, or -1 when the generator fails (then buf must not be used). */
int ns_random_bytes(void *buf, size_t len);
uint32_t ns_random_u32(void);
uint64_t ns_random_u64(void);

#endif
