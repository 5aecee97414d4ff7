/* libFuzzer target for the RFC 8229 stream framing (src/net/tcp_stream.c):
 * any byte stream, cut into reads at places the input chooses, is framed
 * without reading or writing outside the connection's buffer; every frame
 * handed out lies inside it, within max_frame, and is what the framing
 * rules say (IKE after a zero marker, ESP with a non-zero SPI and at least
 * 8 bytes); an error is latched. The first input byte picks max_frame and
 * whether the prefix is expected, the second the size of each read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp_stream.h"

#define BUF_CAP 4096

static void check_frame(const struct ns_tcp_rx *rx, const uint8_t *buf,
                        const struct ns_tcp_frame *f)
{
    if (f->data < buf || f->data + f->len > buf + BUF_CAP || f->len + 2 > rx->max_frame)
        abort();
    if (f->kind == NS_TCP_IKE) {
        const uint8_t *m = f->data - NS_TCP_MARKER_LEN;
        if (f->len == 0 || m[0] || m[1] || m[2] || m[3])
            abort();
    } else if (f->len < NS_TCP_ESP_MIN ||
               (f->data[0] | f->data[1] | f->data[2] | f->data[3]) == 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t *buf = malloc(BUF_CAP); /* exactly the connection's buffer, for ASan */
    if (!buf)
        return 0;
    struct ns_tcp_rx rx;
    size_t max_frame = 8 + (size_t)data[0] * 32;
    ns_tcp_rx_init(&rx, buf, BUF_CAP, data[0] & 1, max_frame);
    size_t chunk = 1 + data[1] % 97;
    data += 2;
    size -= 2;
    enum ns_tcp_kind err = NS_TCP_NEED_MORE;
    while (size > 0) {
        size_t room;
        uint8_t *at = ns_tcp_rx_room(&rx, &room);
        size_t n = size < chunk ? size : chunk;
        if (n > room)
            n = room;
        if (n == 0)
            abort(); /* max_frame <= cap: a whole frame always fits */
        memcpy(at, data, n);
        ns_tcp_rx_commit(&rx, n);
        data += n;
        size -= n;
        struct ns_tcp_frame f;
        enum ns_tcp_kind k;
        while ((k = ns_tcp_rx_next(&rx, &f)) == NS_TCP_IKE || k == NS_TCP_ESP)
            check_frame(&rx, buf, &f);
        if (err != NS_TCP_NEED_MORE && k != err)
            abort(); /* latched */
        if (k != NS_TCP_NEED_MORE) {
            err = k;
            if (f.kind != k || f.data || f.len)
                abort();
        }
        (void)ns_tcp_kind_name(k);
    }
    free(buf);
    return 0;
}
