/* libFuzzer target for the port-4500 demultiplexer (src/natt/udp_demux.c):
 * any datagram is classified without reading outside it, and the body it
 * hands on lies inside it and matches the RFC 3948 framing rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "natt/udp_demux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan flags any read past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    const uint8_t *body;
    size_t blen;
    enum ns_natt_kind k = ns_natt_classify(copy, size, &body, &blen);
    switch (k) {
    case NS_NATT_KEEPALIVE:
        if (size != 1 || copy[0] != 0xff || body || blen)
            abort();
        break;
    case NS_NATT_IKE:
        if (size < 5 || body != copy + 4 || blen != size - 4 || copy[0] || copy[1] || copy[2] ||
            copy[3])
            abort();
        break;
    case NS_NATT_ESP:
        if (size < 8 || body != copy || blen != size ||
            (copy[0] | copy[1] | copy[2] | copy[3]) == 0)
            abort();
        break;
    default:
        if (body || blen)
            abort();
        break;
    }
    (void)ns_natt_kind_name(k);
    free(copy);
    return 0;
}
