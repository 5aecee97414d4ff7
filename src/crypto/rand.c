#include "crypto/rand.h"

#include <openssl/rand.h>
#include <stdlib.h>

#include "util/log.h"

int ns_random_bytes(void *buf, size_t len)
{
    if (len > (size_t)INT32_MAX)
        return -1;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* A failing CSPRNG leaves nothing safe to do: SPIs, nonces and IVs would be
 * predictable. */
static void random_or_die(void *buf, size_t len)
{
    if (ns_random_bytes(buf, len) != 0) {
        NS_ERR("random generator failed");
        abort();
    }
}

uint32_t ns_random_u32(void)
{
    uint32_t v;
    random_or_die(&v, sizeof(v));
    return v;
}

uint64_t ns_random_u64(void)
{
    uint64_t v;
    random_or_die(&v, sizeof(v));
    return v;
}
