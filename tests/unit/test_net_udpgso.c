/* Unit tests for UDP segmentation offload on the outer socket (src/net/
 * udpgso): which datagrams of a batch may share one UDP_SEGMENT
 * send, and that such a send on loopback delivers exactly the datagrams
 * of the batch, in order, byte for byte (R13: ESP packets arrive as they
 * were sealed; R4: each to its own peer), and that UDP GRO on receive
 * hands back the same datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/udp.h"
#include "net/udpgso.h"

static uint8_t bufs[NS_NET_BATCH_MAX][2048];

static void fill(struct ns_dgram *d, unsigned n, const size_t *lens, uint16_t port)
{
    memset(d, 0, n * sizeof(*d));
    for (unsigned i = 0; i < n; i++) {
        d[i].data = bufs[i];
        d[i].len = lens[i];
        for (size_t j = 0; j < lens[i]; j++)
            bufs[i][j] = (uint8_t)(i * 31 + j);
        d[i].peer.addr.family = AF_INET;
        d[i].peer.addr.a[0] = 127;
        d[i].peer.addr.a[3] = 1;
        d[i].peer.port = port;
    }
}

/* Runs: equal sizes, a shorter last one ends the run, a longer one, another
 * peer or another source address starts a new one; limits respected. */
static void runs(void **state)
{
    (void)state;
    struct ns_dgram d[NS_NET_BATCH_MAX];
    size_t l1[] = {1400, 1400, 1400, 700, 1400};
    fill(d, 5, l1, 4500);
    assert_int_equal(ns_udp_gso_run(d, 5), 4);
    assert_int_equal(ns_udp_gso_run(&d[3], 2), 1); /* 700 then a longer one */
    size_t l2[] = {100, 100, 100};
    fill(d, 3, l2, 4500);
    d[1].peer.port = 4501;
    assert_int_equal(ns_udp_gso_run(d, 3), 1);
    assert_int_equal(ns_udp_gso_run(&d[1], 2), 1);
    fill(d, 3, l2, 4500);
    d[2].local.addr.family = AF_INET;
    d[2].local.addr.a[0] = 10;
    assert_int_equal(ns_udp_gso_run(d, 3), 2);
    size_t big[NS_NET_BATCH_MAX];
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++)
        big[i] = 64;
    fill(d, NS_NET_BATCH_MAX, big, 4500);
    assert_int_equal(ns_udp_gso_run(d, NS_NET_BATCH_MAX), NS_UDP_GSO_MAX_SEGS);
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++)
        big[i] = 1500;
    fill(d, NS_NET_BATCH_MAX, big, 4500);
    unsigned r = ns_udp_gso_run(d, NS_NET_BATCH_MAX);
    assert_true(r * 1500 <= NS_UDP_GSO_MAX_BYTES);
    assert_true((r + 1) * 1500 > NS_UDP_GSO_MAX_BYTES);
    assert_int_equal(ns_udp_gso_run(d, 1), 1);
    assert_int_equal(ns_udp_gso_run(d, 0), 0);
}

/* A batch of runs and singles through loopback with GSO on arrives as the
 * same datagrams, in order, byte for byte. */
static void loopback_delivers_each_datagram(void **state)
{
    (void)state;
    struct ns_addr lo = {.family = AF_INET, .a = {127, 0, 0, 1}};
    struct ns_udp tx, rx;
    assert_int_equal(ns_udp_open(&rx, &lo, 0, 0), 0);
    assert_int_equal(ns_udp_open(&tx, &lo, 0, 0), 0);
    if (ns_udp_enable_gso(&tx) != 0)
        fail_msg("kernel without UDP_SEGMENT");
    size_t lens[] = {1200, 1200, 1200, 1200, 333, 90, 90, 90, 90, 90, 90, 1400, 17};
    unsigned n = sizeof(lens) / sizeof(lens[0]);
    struct ns_dgram d[NS_NET_BATCH_MAX];
    fill(d, n, lens, rx.local.port);
    assert_int_equal(ns_udp_send(&tx, d, n), (int)n);
    assert_true(tx.gso);
    assert_int_equal(tx.send_errors, 0);
    uint8_t got[4096];
    for (unsigned i = 0; i < n; i++) {
        struct pollfd p = {.fd = rx.fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 2000), 1);
        ssize_t r = recv(rx.fd, got, sizeof(got), 0);
        assert_int_equal(r, (ssize_t)lens[i]);
        assert_memory_equal(got, bufs[i], lens[i]);
    }
    assert_int_equal(recv(rx.fd, got, sizeof(got), MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    ns_udp_close(&tx);
    ns_udp_close(&rx);
}

/* Cutting a coalesced message: every piece seg bytes but the last. */
static void pieces(void **state)
{
    (void)state;
    assert_int_equal(ns_udp_gro_piece(3000, 1000, 0), 1000);
    assert_int_equal(ns_udp_gro_piece(3000, 1000, 2000), 1000);
    assert_int_equal(ns_udp_gro_piece(3000, 1000, 3000), 0);
    assert_int_equal(ns_udp_gro_piece(2500, 1000, 2000), 500);
    assert_int_equal(ns_udp_gro_piece(700, 0, 0), 700); /* not coalesced */
    assert_int_equal(ns_udp_gro_piece(700, 1000, 0), 700);
    assert_int_equal(ns_udp_gro_piece(0, 0, 0), 0);
}

/* Cutting from a given offset on, a few at a time: the pieces put back
 * together are the message; too small a buffer cuts and marks one piece;
 * an empty datagram is handed out once. */
static void split_in_steps(void **state)
{
    (void)state;
    static uint8_t msg[3500], joined[3500], out[3][1024];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    size_t off = 0, at = 0;
    unsigned calls = 0;
    while (off < sizeof(msg)) {
        struct ns_dgram d[2];
        memset(d, 0, sizeof(d));
        for (unsigned i = 0; i < 2; i++) {
            d[i].data = out[i];
            d[i].cap = sizeof(out[i]);
        }
        unsigned k = ns_udp_gro_split(msg, sizeof(msg), 1000, &off, d, 2);
        assert_true(k >= 1 && k <= 2);
        for (unsigned i = 0; i < k; i++) {
            assert_false(d[i].truncated);
            assert_int_equal(d[i].len, at + 1000 <= sizeof(msg) ? 1000 : sizeof(msg) - at);
            memcpy(joined + at, d[i].data, d[i].len);
            at += d[i].len;
        }
        calls++;
    }
    assert_int_equal(calls, 2);
    assert_int_equal(at, sizeof(msg));
    assert_memory_equal(joined, msg, sizeof(msg));

    struct ns_dgram d[3];
    memset(d, 0, sizeof(d));
    for (unsigned i = 0; i < 3; i++) {
        d[i].data = out[i];
        d[i].cap = i == 1 ? 600 : sizeof(out[i]);
    }
    off = 0;
    assert_int_equal(ns_udp_gro_split(msg, 2500, 1000, &off, d, 3), 3);
    assert_int_equal(off, 2500);
    assert_false(d[0].truncated);
    assert_true(d[1].truncated);
    assert_int_equal(d[1].len, 600);
    assert_memory_equal(d[1].data, msg + 1000, 600);
    assert_int_equal(d[2].len, 500);
    assert_memory_equal(d[2].data, msg + 2000, 500);

    off = 0;
    assert_int_equal(ns_udp_gro_split(msg, 0, 0, &off, d, 3), 1);
    assert_int_equal(d[0].len, 0);
    assert_int_equal(ns_udp_gro_split(msg, 0, 0, &off, d, 3), 0);
}

/* GSO out, GRO in, through loopback (which keeps the run whole): the
 * receiver gets back every datagram in order, byte for byte, with its
 * sender, also when it asks for fewer at a time than one run holds (the
 * rest waits, and ns_udp_pending says so); one that does not fit the
 * caller's buffer is marked truncated. */
static void gro_returns_each_datagram(void **state)
{
    (void)state;
    struct ns_addr lo = {.family = AF_INET, .a = {127, 0, 0, 1}};
    struct ns_udp tx, rx;
    assert_int_equal(ns_udp_open(&rx, &lo, 0, 0), 0);
    assert_int_equal(ns_udp_open(&tx, &lo, 0, 0), 0);
    if (ns_udp_enable_gso(&tx) != 0 || ns_udp_enable_gro(&rx) != 0)
        fail_msg("kernel without UDP_SEGMENT or UDP_GRO");
    size_t lens[] = {1200, 1200, 1200, 1200, 1200, 1200, 1200, 333, 90, 90, 90, 1400, 17};
    unsigned n = sizeof(lens) / sizeof(lens[0]);
    struct ns_dgram d[NS_NET_BATCH_MAX];
    fill(d, n, lens, rx.local.port);
    uint8_t sent[16][2048];
    for (unsigned i = 0; i < n; i++)
        memcpy(sent[i], bufs[i], lens[i]);
    assert_int_equal(ns_udp_send(&tx, d, n), (int)n);
    uint8_t got[4][2048];
    unsigned seen = 0;
    bool was_pending = false;
    for (int tries = 0; seen < n && tries < 200; tries++) {
        struct ns_dgram in[4];
        memset(in, 0, sizeof(in));
        for (unsigned i = 0; i < 4; i++) {
            in[i].data = got[i];
            in[i].cap = sizeof(got[i]);
        }
        if (!ns_udp_pending(&rx)) {
            struct pollfd p = {.fd = rx.fd, .events = POLLIN};
            assert_int_equal(poll(&p, 1, 2000), 1);
        }
        int r = ns_udp_recv(&rx, in, 4);
        assert_true(r >= 0 && r <= 4);
        was_pending |= ns_udp_pending(&rx);
        for (int i = 0; i < r; i++, seen++) {
            assert_true(seen < n);
            assert_false(in[i].truncated);
            assert_int_equal(in[i].len, lens[seen]);
            assert_memory_equal(in[i].data, sent[seen], lens[seen]);
            assert_int_equal(in[i].peer.port, tx.local.port);
            assert_int_equal(in[i].local.port, rx.local.port);
        }
    }
    assert_int_equal(seen, n);
    assert_true(was_pending); /* runs of 7 came in one message */
    assert_false(ns_udp_pending(&rx));

    /* Too small a buffer: cut and marked. */
    size_t two[] = {1000, 1000};
    fill(d, 2, two, rx.local.port);
    assert_int_equal(ns_udp_send(&tx, d, 2), 2);
    struct ns_dgram small[2];
    memset(small, 0, sizeof(small));
    small[0].data = got[0];
    small[0].cap = 500;
    small[1].data = got[1];
    small[1].cap = 2048;
    struct pollfd p = {.fd = rx.fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    int r = ns_udp_recv(&rx, small, 2);
    assert_int_equal(r, 2);
    assert_true(small[0].truncated);
    assert_int_equal(small[0].len, 500);
    assert_false(small[1].truncated);
    assert_int_equal(small[1].len, 1000);
    assert_memory_equal(small[1].data, bufs[1], 1000);
    ns_udp_close(&tx);
    ns_udp_close(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs),
        cmocka_unit_test(loopback_delivers_each_datagram),
        cmocka_unit_test(pieces),
        cmocka_unit_test(split_in_steps),
        cmocka_unit_test(gro_returns_each_datagram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
