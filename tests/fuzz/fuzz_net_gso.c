/* libFuzzer target for the TUN offload segmentation (src/net/gso.c): the
 * first 10 bytes are the virtio-net header the kernel would put in front
 * of a TUN packet, the rest the packet. Every segment must fit the output
 * buffer it was given, no larger than the packet, and the iterator must
 * end. Kernel input is trusted-ish, but it is still read bounds-checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/gso.h"

static uint8_t out[2048];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < NS_VNET_HDR_LEN)
        return 0;
    struct ns_vnet_hdr h;
    ns_vnet_hdr_parse(data, &h);
    /* A copy of exactly the packet's length, so ASan sees any over-read. */
    size_t len = size - NS_VNET_HDR_LEN;
    uint8_t *pkt = malloc(len ? len : 1);
    if (!pkt)
        return 0;
    memcpy(pkt, data + NS_VNET_HDR_LEN, len);
    struct ns_gso_iter it;
    if (ns_gso_init(&it, &h, pkt, len) == 0) {
        unsigned want = ns_gso_left(&it), got = 0;
        int n;
        while ((n = ns_gso_next(&it, out, sizeof(out))) > 0) {
            if ((size_t)n > sizeof(out) || (size_t)n > len)
                abort();
            got++;
        }
        if (n == 0 && got != want)
            abort();
    }
    /* In place, as the data plane does with a packet read into its slot:
     * only a non-GSO packet is accepted, and it keeps its length. */
    if (ns_gso_single(&h, pkt, len) == 0 && (h.gso_type & 0x7f) != 0)
        abort();
    free(pkt);
    return 0;
}
