/* Unit tests for the event loop (src/net/loop): descriptors with a
 * socketpair and a UDP pair on 127.0.0.1, timers against the monotonic
 * clock, removal from inside a callback, and signals through signalfd.
 * Loopback only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/loop.h"
#include "net/udp.h"
#include "util/time.h"

struct pair_ctx {
    int reads;
    int other_fd; /* removed by the first callback that runs */
    bool other_ran;
    char last[16];
};

static void on_readable(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    struct pair_ctx *c = arg;
    assert_true(events & EPOLLIN);
    ssize_t n = read(fd, c->last, sizeof(c->last) - 1);
    assert_true(n > 0);
    c->last[n] = '\0';
    c->reads++;
    if (c->other_fd >= 0) {
        /* Its event may already be collected in this round: it must not be
         * delivered after the removal. */
        assert_int_equal(ns_loop_remove(loop, c->other_fd), 0);
        c->other_fd = -1;
    }
}

static void on_other(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct pair_ctx *c = arg;
    c->other_ran = true;
}

static void socketpair_events_and_removal(void **state)
{
    (void)state;
    struct ns_loop *loop = ns_loop_new();
    assert_non_null(loop);
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, b), 0);
    struct pair_ctx c = {.other_fd = b[1]};
    struct pair_ctx c2 = {0};
    assert_int_equal(ns_loop_add(loop, a[1], EPOLLIN, on_readable, &c), 0);
    assert_int_equal(ns_loop_add(loop, b[1], EPOLLIN, on_other, &c2), 0);
    /* One registration per descriptor. */
    assert_int_equal(ns_loop_add(loop, a[1], EPOLLIN, on_readable, &c), -1);

    /* Both readable in the same round; whichever runs first... */
    assert_int_equal(write(a[0], "ping", 4), 4);
    assert_int_equal(write(b[0], "x", 1), 1);
    int ran = ns_loop_run_once(loop, 1000);
    if (c2.other_ran) {
        /* on_other ran first, then on_readable removed it: fine. */
        assert_int_equal(ran, 2);
    } else {
        assert_int_equal(ran, 1);
    }
    assert_int_equal(c.reads, 1);
    assert_string_equal(c.last, "ping");
    /* After removal nothing more from b. */
    c2.other_ran = false;
    assert_int_equal(ns_loop_run_once(loop, 10), 0);
    assert_false(c2.other_ran);
    assert_int_equal(ns_loop_remove(loop, b[1]), -1); /* not registered */

    assert_int_equal(ns_loop_modify(loop, a[1], EPOLLIN | EPOLLOUT), 0);
    assert_int_equal(ns_loop_remove(loop, a[1]), 0);
    ns_loop_free(loop);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

struct timer_ctx {
    struct ns_loop *loop;
    uint64_t fired_ms;
    int fired;
    bool stop;
};

static void on_timer(struct ns_timer *t, void *arg)
{
    (void)t;
    struct timer_ctx *c = arg;
    c->fired_ms = ns_now_ms();
    c->fired++;
    if (c->stop)
        ns_loop_stop(c->loop);
}

static void timers_fire_on_time(void **state)
{
    (void)state;
    struct ns_loop *loop = ns_loop_new();
    assert_non_null(loop);
    struct timer_ctx early = {.loop = loop}, late = {.loop = loop, .stop = true},
                     cancelled = {.loop = loop};
    struct ns_timer t1, t2, t3;
    ns_timer_init(&t1, on_timer, &early);
    ns_timer_init(&t2, on_timer, &late);
    ns_timer_init(&t3, on_timer, &cancelled);
    uint64_t start = ns_now_ms();
    assert_int_equal(ns_loop_timer_arm(loop, &t2, 60), 0);
    assert_int_equal(ns_loop_timer_arm(loop, &t1, 20), 0);
    assert_int_equal(ns_loop_timer_arm(loop, &t3, 30), 0);
    ns_loop_timer_cancel(loop, &t3);
    assert_int_equal(ns_loop_run(loop), 0); /* t2 stops it */
    assert_int_equal(early.fired, 1);
    assert_int_equal(late.fired, 1);
    assert_int_equal(cancelled.fired, 0);
    assert_true(early.fired_ms >= start + 20);
    assert_true(late.fired_ms >= start + 60);
    assert_true(late.fired_ms >= early.fired_ms);
    /* Never much late either (a loaded machine gets a generous bound). */
    assert_true(late.fired_ms < start + 2000);
    ns_loop_free(loop);
}

struct udp_ctx {
    struct ns_udp *rx;
    struct ns_loop *loop;
    int got;
    int want;
    uint16_t from_port;
    bool local_ok;
};

static void on_udp(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    struct udp_ctx *c = arg;
    uint8_t bufs[8][64];
    struct ns_dgram d[8];
    for (int i = 0; i < 8; i++)
        d[i] = (struct ns_dgram){.data = bufs[i], .cap = sizeof(bufs[i])};
    int n = ns_udp_recv(c->rx, d, 8);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof(want), "msg %d", c->got);
        assert_int_equal(d[i].len, strlen(want));
        assert_memory_equal(d[i].data, want, d[i].len);
        assert_false(d[i].truncated);
        assert_int_equal(d[i].peer.port, c->from_port);
        struct ns_addr lo;
        ns_addr_parse(&lo, "127.0.0.1");
        c->local_ok = ns_addr_equal(&d[i].local.addr, &lo) && d[i].local.port == c->rx->local.port;
        assert_true(c->local_ok);
        c->got++;
    }
    if (c->got == c->want)
        ns_loop_stop(loop);
}

static void udp_pair_through_the_loop(void **state)
{
    (void)state;
    struct ns_addr lo;
    assert_int_equal(ns_addr_parse(&lo, "127.0.0.1"), 0);
    struct ns_udp a, b;
    assert_int_equal(ns_udp_open(&a, &lo, 0, 0), 0);
    assert_int_equal(ns_udp_open(&b, &lo, 0, 0), 0);
    assert_int_not_equal(a.local.port, 0);
    struct ns_loop *loop = ns_loop_new();
    assert_non_null(loop);
    struct udp_ctx c = {.rx = &b, .loop = loop, .want = 20, .from_port = a.local.port};
    assert_int_equal(ns_loop_add(loop, b.fd, EPOLLIN, on_udp, &c), 0);

    /* A batch of 20 with sendmmsg, from an explicit source address. */
    char bufs[20][16];
    struct ns_dgram d[20];
    for (int i = 0; i < 20; i++) {
        int n = snprintf(bufs[i], sizeof(bufs[i]), "msg %d", i);
        d[i] = (struct ns_dgram){.data = (uint8_t *)bufs[i], .len = (size_t)n, .peer = b.local};
        d[i].local.addr = lo;
    }
    assert_int_equal(ns_udp_send(&a, d, 20), 20);
    assert_int_equal(a.send_errors, 0);
    /* A safety timer, so a lost datagram fails the test instead of hanging. */
    struct timer_ctx guard = {.loop = loop, .stop = true};
    struct ns_timer t;
    ns_timer_init(&t, on_timer, &guard);
    ns_loop_timer_arm(loop, &t, 5000);
    assert_int_equal(ns_loop_run(loop), 0);
    assert_int_equal(c.got, 20);
    assert_int_equal(guard.fired, 0);
    ns_loop_free(loop);
    ns_udp_close(&a);
    ns_udp_close(&b);
}

static void on_usr1(struct ns_loop *loop, int signo, void *arg)
{
    (void)loop;
    *(int *)arg = signo;
}

static void signals_through_signalfd(void **state)
{
    (void)state;
    struct ns_loop *loop = ns_loop_new();
    assert_non_null(loop);
    int seen = 0;
    assert_int_equal(ns_loop_on_signal(loop, SIGUSR1, on_usr1, &seen), 0);
    assert_int_equal(ns_loop_on_signal(loop, SIGTERM, NULL, NULL), 0);
    assert_int_equal(ns_loop_on_signal(loop, SIGKILL, NULL, NULL), -1);
    /* Blocked now, so these wait for the loop instead of killing us. */
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    assert_int_equal(ns_loop_run_once(loop, 1000), 1);
    assert_int_equal(seen, SIGUSR1);
    assert_int_equal(kill(getpid(), SIGTERM), 0);
    assert_int_equal(ns_loop_run(loop), 0);
    assert_int_equal(ns_loop_stop_signal(loop), SIGTERM);
    ns_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(socketpair_events_and_removal),
        cmocka_unit_test(timers_fire_on_time),
        cmocka_unit_test(udp_pair_through_the_loop),
        cmocka_unit_test(signals_through_signalfd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
