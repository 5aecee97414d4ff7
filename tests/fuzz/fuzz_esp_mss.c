/* libFuzzer target for TCP MSS clamping (src/esp/mss.c, X11): the first two
 * bytes are the MSS limit, the rest an IP packet as TUN or a decapsulated
 * ESP packet would give it. The clamp must read nothing outside the packet
 * (an exact-size copy, for ASan), change at most the MSS options and the
 * TCP checksum, report a change exactly when bytes changed, and keep a
 * TCP checksum correct when it was correct before; ns_mss_syn holds for
 * every packet it changed. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/csum.h"
#include "esp/mss.h"
#include "util/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether p (IPv4 with a 20-byte header or IPv6 without extension headers,
 * TCP) carries a correct TCP checksum; false for anything else. */
static bool tcp_csum_ok(const uint8_t *p, size_t len, bool *applies)
{
    *applies = false;
    struct ns_addr src, dst;
    size_t l4, seg;
    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    if (len >= 20 && p[0] == 0x45 && p[9] == 6) {
        size_t total = (size_t)(p[2] << 8 | p[3]);
        if (total < 40 || total > len)
            return false;
        src.family = dst.family = AF_INET;
        memcpy(src.a, p + 12, 4);
        memcpy(dst.a, p + 16, 4);
        l4 = 20;
        seg = total - 20;
    } else if (len >= 40 && (p[0] >> 4) == 6 && p[6] == 6) {
        size_t pl = (size_t)(p[4] << 8 | p[5]);
        if (pl < 20 || 40 + pl > len)
            return false;
        src.family = dst.family = AF_INET6;
        memcpy(src.a, p + 8, 16);
        memcpy(dst.a, p + 24, 16);
        l4 = 40;
        seg = pl;
    } else {
        return false;
    }
    *applies = true;
    return ns_csum_pseudo(6, p + l4, seg, &src, &dst) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint16_t max = (uint16_t)(data[0] << 8 | data[1]);
    size_t len = size - 2;
    uint8_t *pkt = malloc(len ? len : 1);
    uint8_t *orig = malloc(len ? len : 1);
    if (!pkt || !orig) {
        free(pkt);
        free(orig);
        return 0;
    }
    memcpy(pkt, data + 2, len);
    memcpy(orig, data + 2, len);
    bool applies;
    bool ok_before = tcp_csum_ok(orig, len, &applies);
    bool syn = ns_mss_syn(orig, len);
    bool changed = ns_mss_clamp(pkt, len, max);
    if (changed != (memcmp(pkt, orig, len) != 0) || (changed && !syn))
        abort();
    if (changed) {
        /* Only a TCP header's options and checksum may differ: never the
         * first 20 bytes of any IP header. */
        if (len < 40 || memcmp(pkt, orig, 20) != 0)
            abort();
        bool applies_after;
        if (applies && ok_before && !tcp_csum_ok(pkt, len, &applies_after))
            abort();
    }
    (void)ns_mss_clamp_mtu(pkt, len, max);
    free(pkt);
    free(orig);
    return 0;
}
