/* The allocator of a program linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free: every call
 * its own objects make to malloc reaches __wrap_malloc (which the program
 * defines), and __real_malloc is the C library's (or the sanitizer's). */
#ifndef NATSEC_TESTS_SUPPORT_ALLOC_WRAP_H
#define NATSEC_TESTS_SUPPORT_ALLOC_WRAP_H

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

#endif
