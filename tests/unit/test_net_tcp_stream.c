/* Unit tests for the TCP stream of IKE and ESP (RFC 8229 3; X6):
 * src/net/tcp_stream (framing) and src/net/tcp_txq (the bounded send
 * queue). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tcp_stream.h"
#include "net/tcp_txq.h"

static uint8_t rxbuf[4096];

/* Feeds bytes into rx the way a socket read would. */
static void feed(struct ns_tcp_rx *rx, const void *p, size_t n)
{
    size_t room;
    uint8_t *at = ns_tcp_rx_room(rx, &room);
    assert_true(room >= n);
    memcpy(at, p, n);
    ns_tcp_rx_commit(rx, n);
}

static size_t ike_frame(uint8_t *out, const uint8_t *msg, size_t len)
{
    size_t h = ns_tcp_frame_header(out, len, true);
    memcpy(out + h, msg, len);
    return h + len;
}

static size_t esp_frame(uint8_t *out, const uint8_t *pkt, size_t len)
{
    size_t h = ns_tcp_frame_header(out, len, false);
    memcpy(out + h, pkt, len);
    return h + len;
}

/* X6: the responder's stream starts with "IKETCP", even one byte a read;
 * then an IKE frame (marker stripped) and an ESP frame come out whole. */
static void prefix_then_ike_and_esp(void **state)
{
    (void)state;
    struct ns_tcp_rx rx;
    ns_tcp_rx_init(&rx, rxbuf, sizeof(rxbuf), true, 2048);
    struct ns_tcp_frame f;
    for (size_t i = 0; i < NS_TCP_PREFIX_LEN; i++) {
        assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_NEED_MORE);
        feed(&rx, &ns_tcp_prefix[i], 1);
    }
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_NEED_MORE);
    uint8_t ike[40], esp[60], stream[256];
    memset(ike, 0x11, sizeof(ike));
    memset(esp, 0x22, sizeof(esp));
    esp[0] = 0xc0; /* a non-zero SPI */
    size_t n = ike_frame(stream, ike, sizeof(ike));
    assert_int_equal(n, 2 + 4 + 40);
    assert_int_equal(stream[0], 0);
    assert_int_equal(stream[1], 46); /* the length counts itself */
    n += esp_frame(stream + n, esp, sizeof(esp));
    /* Split inside the second frame's header. */
    feed(&rx, stream, 47);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_IKE);
    assert_int_equal(f.len, 40);
    assert_memory_equal(f.data, ike, 40);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_NEED_MORE);
    feed(&rx, stream + 47, n - 47);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_ESP);
    assert_int_equal(f.len, 60);
    assert_memory_equal(f.data, esp, 60);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_NEED_MORE);
    assert_int_equal(ns_tcp_rx_pending(&rx), 0);
}

/* X6: a stream that does not start with the prefix is refused at the
 * first wrong byte, and the error stays. */
static void wrong_prefix(void **state)
{
    (void)state;
    struct ns_tcp_rx rx;
    ns_tcp_rx_init(&rx, rxbuf, sizeof(rxbuf), true, 2048);
    struct ns_tcp_frame f;
    feed(&rx, "IKEX", 4);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_BAD_PREFIX);
    assert_int_equal(f.kind, NS_TCP_BAD_PREFIX);
    feed(&rx, "TCP", 3);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_BAD_PREFIX);
    /* An HTTP request is not IKE either. */
    ns_tcp_rx_init(&rx, rxbuf, sizeof(rxbuf), true, 2048);
    feed(&rx, "GET / HTTP/1.1\r\n", 16);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_BAD_PREFIX);
}

/* X6, R15: lengths beyond max_frame (what the connection may hold) and
 * below the least frame are refused before anything is buffered for them;
 * a marker without a message and ESP shorter than SPI and sequence number
 * are refused. */
static void bad_lengths_and_frames(void **state)
{
    (void)state;
    struct ns_tcp_rx rx;
    struct ns_tcp_frame f;
    const uint16_t lens[] = {0, 1, 2, 6, 2049, 65535};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        ns_tcp_rx_init(&rx, rxbuf, sizeof(rxbuf), false, 2048);
        uint8_t b[2] = {(uint8_t)(lens[i] >> 8), (uint8_t)lens[i]};
        feed(&rx, b, 2);
        assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_BAD_LENGTH);
    }
    /* Seven bytes with a non-zero SPI: ESP needs eight. */
    ns_tcp_rx_init(&rx, rxbuf, sizeof(rxbuf), false, 2048);
    const uint8_t short_esp[] = {0, 7, 1, 2, 3, 4, 5};
    feed(&rx, short_esp, sizeof(short_esp));
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_BAD_FRAME);
    /* The least IKE frame: marker and one byte. */
    ns_tcp_rx_init(&rx, rxbuf, sizeof(rxbuf), false, 2048);
    const uint8_t least_ike[] = {0, 7, 0, 0, 0, 0, 0x2a};
    feed(&rx, least_ike, sizeof(least_ike));
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_IKE);
    assert_int_equal(f.len, 1);
    assert_int_equal(f.data[0], 0x2a);
}

/* X6: max_frame is clipped to the buffer, and a connection that proved
 * itself moves to a larger buffer keeping what it had buffered. */
static void rebuffer_keeps_bytes(void **state)
{
    (void)state;
    static uint8_t small[64], big[8192];
    struct ns_tcp_rx rx;
    ns_tcp_rx_init(&rx, small, sizeof(small), false, 100000);
    assert_int_equal(rx.max_frame, sizeof(small));
    uint8_t esp[1000], stream[1100];
    memset(esp, 0x5a, sizeof(esp));
    size_t n = esp_frame(stream, esp, sizeof(esp));
    feed(&rx, stream, 10);
    struct ns_tcp_frame f;
    /* Too long for the small buffer. */
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_BAD_LENGTH);
    ns_tcp_rx_init(&rx, small, sizeof(small), false, sizeof(small));
    feed(&rx, stream, 10);
    assert_true(ns_tcp_rx_rebuffer(&rx, big, sizeof(big), NS_TCP_FRAME_MAX));
    assert_int_equal(rx.max_frame, sizeof(big));
    feed(&rx, stream + 10, n - 10);
    assert_int_equal(ns_tcp_rx_next(&rx, &f), NS_TCP_ESP);
    assert_int_equal(f.len, 1000);
    assert_memory_equal(f.data, esp, 1000);
}

/* X6: the header writer refuses what the 16-bit length cannot say. */
static void header_limits(void **state)
{
    (void)state;
    uint8_t h[NS_TCP_IKE_HDR];
    assert_int_equal(ns_tcp_frame_header(h, 0, true), 0);
    assert_int_equal(ns_tcp_frame_header(h, NS_TCP_FRAME_MAX - 6, true), 6);
    assert_int_equal(h[0], 0xff);
    assert_int_equal(h[1], 0xff);
    assert_int_equal(ns_tcp_frame_header(h, NS_TCP_FRAME_MAX - 5, true), 0);
    assert_int_equal(ns_tcp_frame_header(h, NS_TCP_FRAME_MAX - 2, false), 2);
    assert_int_equal(ns_tcp_frame_header(h, NS_TCP_FRAME_MAX - 1, false), 0);
    assert_string_equal(ns_tcp_kind_name(NS_TCP_BAD_PREFIX), "bad-prefix");
}

/* Reads everything waiting on fd into rx and counts the ESP frames,
 * checking their order by the counter in their first bytes after the SPI. */
static unsigned drain_frames(int fd, struct ns_tcp_rx *rx, uint32_t *next_seq)
{
    unsigned got = 0;
    for (;;) {
        size_t room;
        uint8_t *at = ns_tcp_rx_room(rx, &room);
        ssize_t r = read(fd, at, room);
        if (r <= 0)
            break;
        ns_tcp_rx_commit(rx, (size_t)r);
        struct ns_tcp_frame f;
        enum ns_tcp_kind k;
        while ((k = ns_tcp_rx_next(rx, &f)) == NS_TCP_ESP) {
            uint32_t seq = ((uint32_t)f.data[4] << 24) | ((uint32_t)f.data[5] << 16) |
                           ((uint32_t)f.data[6] << 8) | f.data[7];
            assert_true(seq >= *next_seq); /* dropped ones leave gaps, never reorder */
            *next_seq = seq + 1;
            got++;
        }
        assert_int_equal(k, NS_TCP_NEED_MORE);
    }
    return got;
}

/* X6: batches go out whole or queued; the queue stays below its limit
 * plus one frame, drops whole frames when full, and the stream the peer
 * reads stays well framed and in order. */
static void txq_bounded_and_framed(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    struct ns_tcp_txq q;
    assert_int_equal(ns_tcp_txq_init(&q, 16384), 0);
    static uint8_t pkts[32][1400];
    struct ns_tcp_out out[32];
    uint32_t seq = 0;
    int rc = 0;
    for (int batch = 0; batch < 40; batch++) {
        for (unsigned i = 0; i < 32; i++) {
            memset(pkts[i], 0xab, sizeof(pkts[i]));
            pkts[i][0] = 0x01; /* SPI */
            pkts[i][4] = (uint8_t)(seq >> 24);
            pkts[i][5] = (uint8_t)(seq >> 16);
            pkts[i][6] = (uint8_t)(seq >> 8);
            pkts[i][7] = (uint8_t)seq;
            seq++;
            out[i].hdr_len = ns_tcp_frame_header(out[i].hdr, sizeof(pkts[i]), false);
            out[i].body = pkts[i];
            out[i].body_len = sizeof(pkts[i]);
        }
        rc = ns_tcp_txq_send(&q, sv[0], out, 32);
        assert_true(rc >= 0);
        assert_true(q.len <= q.limit + NS_TCP_FRAME_MAX);
    }
    /* Nobody read: the queue filled and frames were dropped. */
    assert_int_equal(rc, 1);
    assert_true(q.dropped > 0);
    assert_int_equal(q.frames_out + q.dropped, 40 * 32);
    struct ns_tcp_rx rx;
    static uint8_t big[131072];
    ns_tcp_rx_init(&rx, big, sizeof(big), false, NS_TCP_FRAME_MAX);
    uint32_t next = 0;
    unsigned got = 0;
    for (int i = 0; i < 1000 && (rc = ns_tcp_txq_flush(&q, sv[0])) == 1; i++)
        got += drain_frames(sv[1], &rx, &next);
    assert_int_equal(rc, 0);
    got += drain_frames(sv[1], &rx, &next);
    assert_int_equal(got, q.frames_out);
    assert_int_equal(ns_tcp_rx_pending(&rx), 0);
    /* A closed peer is an error, not a queue. */
    close(sv[1]);
    out[0].hdr_len = ns_tcp_frame_header(out[0].hdr, 1400, false);
    rc = 0;
    for (int i = 0; i < 4 && rc != -1; i++)
        rc = ns_tcp_txq_send(&q, sv[0], out, 1);
    assert_int_equal(rc, -1);
    close(sv[0]);
    ns_tcp_txq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_then_ike_and_esp), cmocka_unit_test(wrong_prefix),
        cmocka_unit_test(bad_lengths_and_frames),  cmocka_unit_test(rebuffer_keeps_bytes),
        cmocka_unit_test(header_limits),           cmocka_unit_test(txq_bounded_and_framed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
