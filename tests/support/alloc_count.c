#include "support/alloc_count.h"

#include <malloc.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "support/alloc_wrap.h"

/* Atomic: a test may allocate from more than one thread. */
static _Atomic size_t live;

static void *counted(void *p)
{
    if (p)
        live += malloc_usable_size(p);
    return p;
}

void *__wrap_malloc(size_t n)
{
    return counted(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t size)
{
    return counted(__real_calloc(n, size));
}

void *__wrap_realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = __real_realloc(p, n);
    if (q) {
        live -= old;
        live += malloc_usable_size(q);
    } else if (p && n == 0) {
        live -= old; /* freed */
    }
    return q;
}

void __wrap_free(void *p)
{
    if (p)
        live -= malloc_usable_size(p);
    __real_free(p);
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return __wrap_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return __wrap_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    __wrap_free(p);
}

void alloc_count_start(void)
{
    if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1) {
        fprintf(stderr, "alloc_count: OpenSSL allocated before alloc_count_start\n");
        abort();
    }
}

size_t alloc_count_live(void)
{
    return live;
}
