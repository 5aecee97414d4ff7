/* Counts the heap bytes a unit test program holds: every malloc, calloc,
 * realloc and free of natsec's code and the test's own (the program is
 * linked with -Wl,--wrap for each, see tests/CMakeLists.txt) and every
 * allocation of OpenSSL (CRYPTO_set_mem_functions). It measures the same
 * way in every build, sanitizers included, where the C library's own
 * statistics (mallinfo2) see nothing of ASan's allocator. */
#ifndef NATSEC_TESTS_SUPPORT_ALLOC_COUNT_H
#define NATSEC_TESTS_SUPPORT_ALLOC_COUNT_H

#include <stddef.h>

/* Routes OpenSSL's allocations through the counter; call it first in
 * main, before OpenSSL allocates anything. Fails the program when OpenSSL
 * refuses (it has allocated already). */
void alloc_count_start(void);

/* Bytes allocated and not yet freed, as the allocator sized the blocks
 * (malloc_usable_size). */
size_t alloc_count_live(void);

#endif
