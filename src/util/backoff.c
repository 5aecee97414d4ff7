#include "util/backoff.h"

uint64_t ns_backoff_ms(unsigned attempt, uint64_t rnd)
{
    /* Shifts beyond 5 would only be cut to the maximum again. */
    uint64_t base = (uint64_t)NS_BACKOFF_FIRST_MS << (attempt < 5 ? attempt : 5);
    if (base > NS_BACKOFF_MAX_MS)
        base = NS_BACKOFF_MAX_MS;
    return base / 2 + rnd % (base / 2 + 1);
}
