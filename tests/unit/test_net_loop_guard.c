/* Unit tests for the event loop's guard (ns_loop_set_guard), what lets
 * natsecd run its outbound data path on a second core (R12): the loop
 * holds the guard for timers and ordinary callbacks, leaves it while it
 * waits and for unguarded callbacks, and returns holding it. Socketpairs
 * only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/loop.h"

/* A guard that records its calls and checks they alternate. */
struct log_guard {
    bool held;
    int enters, leaves;
};

static void log_enter(void *arg)
{
    struct log_guard *g = arg;
    assert_false(g->held);
    g->held = true;
    g->enters++;
}

static void log_leave(void *arg)
{
    struct log_guard *g = arg;
    assert_true(g->held);
    g->held = false;
    g->leaves++;
}

struct seen {
    struct log_guard *g;
    int guarded_runs, unguarded_runs, timer_runs;
    bool guarded_held, unguarded_held, timer_held;
};

static void drain(int fd)
{
    char buf[64];
    assert_true(read(fd, buf, sizeof(buf)) > 0);
}

static void on_guarded(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)events;
    struct seen *s = arg;
    drain(fd);
    s->guarded_runs++;
    s->guarded_held = s->g->held;
}

static void on_unguarded(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)events;
    struct seen *s = arg;
    drain(fd);
    s->unguarded_runs++;
    s->unguarded_held = s->g->held;
}

static void on_timer(struct ns_timer *t, void *arg)
{
    (void)t;
    struct seen *s = arg;
    s->timer_runs++;
    s->timer_held = s->g->held;
}

/* R12: each callback runs in the state its registration asks for, timers
 * under the guard, and ns_loop_run_once returns holding it; nothing enters
 * it twice or leaves it unheld (log_enter/log_leave assert that). */
static void callbacks_run_as_registered(void **state)
{
    (void)state;
    struct ns_loop *loop = ns_loop_new();
    assert_non_null(loop);
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, b), 0);
    struct log_guard g = {.held = true}; /* the caller holds it when it sets it */
    struct seen s = {.g = &g};
    ns_loop_set_guard(loop, log_enter, log_leave, &g);
    assert_int_equal(ns_loop_add(loop, a[0], EPOLLIN, on_guarded, &s), 0);
    assert_int_equal(ns_loop_add_unguarded(loop, b[0], EPOLLIN, on_unguarded, &s), 0);

    /* Both ready in one round: whatever order epoll gives, each sees its own state. */
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "y", 1), 1);
    assert_int_equal(ns_loop_run_once(loop, 1000), 2);
    assert_int_equal(s.guarded_runs, 1);
    assert_int_equal(s.unguarded_runs, 1);
    assert_true(s.guarded_held);
    assert_false(s.unguarded_held);
    assert_true(g.held);

    /* A due timer runs held; the round ends held. */
    struct ns_timer t;
    ns_timer_init(&t, on_timer, &s);
    assert_int_equal(ns_loop_timer_arm(loop, &t, 0), 0);
    g.enters = g.leaves = 0;
    ns_loop_run_once(loop, 0);
    assert_int_equal(s.timer_runs, 1);
    assert_true(s.timer_held);
    assert_true(g.held);
    /* Left for the wait, entered again to return: once each. */
    assert_int_equal(g.enters, 1);
    assert_int_equal(g.leaves, 1);

    /* Removed: no more calls, whatever runs. */
    ns_loop_set_guard(loop, NULL, NULL, NULL);
    g.enters = g.leaves = 0;
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(ns_loop_run_once(loop, 1000), 1);
    assert_int_equal(s.guarded_runs, 2);
    assert_int_equal(g.enters + g.leaves, 0);

    ns_loop_free(loop);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

/* The guard as natsecd uses it: a lock another thread takes between the
 * loop's rounds. */
struct shared {
    pthread_mutex_t mu;
    int wake_fd;               /* the loop's socket the thread writes to */
    atomic_bool in_loop;       /* the main thread is about to run the loop */
    atomic_bool thread_had_it; /* the thread held the lock while the loop waited */
    int got;                   /* what the thread's timed lock returned */
    struct ns_loop *loop;
    bool callback_saw_it;
};

static void mu_enter(void *arg)
{
    struct shared *sh = arg;
    pthread_mutex_lock(&sh->mu);
}

static void mu_leave(void *arg)
{
    struct shared *sh = arg;
    pthread_mutex_unlock(&sh->mu);
}

static void *other_thread(void *arg)
{
    struct shared *sh = arg;
    while (!atomic_load(&sh->in_loop))
        usleep(1000);
    usleep(20000); /* the loop is in epoll_wait by now, or soon */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    sh->got = pthread_mutex_timedlock(&sh->mu, &until);
    if (sh->got == 0)
        atomic_store(&sh->thread_had_it, true);
    /* Wakes the loop either way (a failure must end the test, not hang it);
     * with the lock still held, so its callback has to wait for it. */
    if (write(sh->wake_fd, "w", 1) != 1)
        sh->got = errno;
    if (atomic_load(&sh->thread_had_it))
        pthread_mutex_unlock(&sh->mu);
    return NULL;
}

static void on_wake(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct shared *sh = arg;
    drain(fd);
    /* Guarded: the thread is out, and cannot come back while this runs. */
    sh->callback_saw_it = atomic_load(&sh->thread_had_it);
    ns_loop_stop(loop);
}

/* R12: while the loop waits another thread gets the guard (natsecd's
 * worker encrypts then), a guarded callback runs only once it let go, and
 * ns_loop_run returns holding it (natsecd's shutdown runs excluded). */
static void another_thread_gets_it_while_the_loop_waits(void **state)
{
    (void)state;
    struct shared sh;
    memset(&sh, 0, sizeof(sh));
    pthread_mutex_init(&sh.mu, NULL);
    atomic_init(&sh.in_loop, false);
    atomic_init(&sh.thread_had_it, false);
    sh.loop = ns_loop_new();
    assert_non_null(sh.loop);
    int p[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, p), 0);
    sh.wake_fd = p[1];
    assert_int_equal(ns_loop_add(sh.loop, p[0], EPOLLIN, on_wake, &sh), 0);
    pthread_mutex_lock(&sh.mu);
    ns_loop_set_guard(sh.loop, mu_enter, mu_leave, &sh);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_thread, &sh), 0);
    atomic_store(&sh.in_loop, true);
    assert_int_equal(ns_loop_run(sh.loop), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(sh.got, 0);
    assert_true(sh.callback_saw_it);
    /* Held on return: EBUSY from here, as from any other thread. */
    assert_int_equal(pthread_mutex_trylock(&sh.mu), EBUSY);
    ns_loop_set_guard(sh.loop, NULL, NULL, NULL);
    pthread_mutex_unlock(&sh.mu);
    ns_loop_free(sh.loop);
    close(p[0]);
    close(p[1]);
    pthread_mutex_destroy(&sh.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(callbacks_run_as_registered),
        cmocka_unit_test(another_thread_gets_it_while_the_loop_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
