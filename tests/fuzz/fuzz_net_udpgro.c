/* libFuzzer target for cutting UDP GRO messages (src/net/udpgso.c): the
 * segment size comes from the kernel's UDP_GRO control message and the
 * length from recvmmsg, so both are taken from the input, as are the
 * caller's buffer sizes. Every datagram handed out must lie inside the
 * message and its buffer, the pieces must add up to the message, in order,
 * and every call must make progress. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/udpgso.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t seg = (size_t)data[0] << 8 | data[1]; /* 0..65535, as the kernel's int */
    unsigned n = 1 + data[2] % 8;
    size_t cap = 1 + (size_t)data[3] * 8;
    const uint8_t *msg = data + 4;
    size_t len = size - 4;
    /* Exactly len bytes, so ASan sees any over-read. */
    uint8_t *copy = malloc(len ? len : 1);
    uint8_t *out = malloc(cap);
    if (!copy || !out)
        abort();
    memcpy(copy, msg, len);
    struct ns_dgram d[8];
    size_t off = 0, seen = 0;
    for (int calls = 0; calls < 70000; calls++) {
        memset(d, 0, sizeof(d));
        for (unsigned i = 0; i < n; i++) {
            d[i].data = out;
            d[i].cap = cap;
        }
        size_t before = off;
        unsigned k = ns_udp_gro_split(copy, len, seg, &off, d, n);
        if (k > n)
            abort();
        if (k == 0)
            break;
        if (off <= before)
            abort(); /* no progress */
        for (unsigned i = 0; i < k; i++) {
            if (d[i].len > cap || (d[i].len < cap && d[i].truncated))
                abort();
            if (seen + d[i].len > len && len > 0)
                abort();
            seen += d[i].len;
        }
        if (len == 0)
            break;
    }
    if (off < len)
        abort(); /* the message was not finished */
    if (cap >= (seg ? seg : len) && seen != len)
        abort(); /* nothing truncated: every byte handed out */
    free(copy);
    free(out);
    return 0;
}
