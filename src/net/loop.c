#include "net/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/log.h"
#include "util/time.h"

#define MAX_EVENTS 64
#define MAX_SIGNAL 65 /* signals are 1..64 on Linux */

/* One registered descriptor. gen changes whenever the slot is reused, and
 * travels in the epoll event, so an event collected for an fd that was
 * removed (and perhaps reused) by an earlier callback is recognised. */
struct io_slot {
    ns_io_fn fn;
    void *arg;
    uint32_t gen;
    bool used;
    bool unguarded; /* runs with the guard left (ns_loop_add_unguarded) */
};

struct ns_loop {
    int epfd;
    struct io_slot *io; /* indexed by fd */
    size_t n_io;
    struct ns_timer_heap timers;
    uint64_t now_ms;
    bool stop;
    int stop_signo;

    int sigfd;
    sigset_t sigmask;    /* signals delivered through sigfd */
    sigset_t saved_mask; /* the thread's mask before the first one */
    struct {
        ns_signal_fn fn;
        void *arg;
    } sig[MAX_SIGNAL];

    /* ns_loop_set_guard: held says whether the caller's thread holds it. */
    struct {
        void (*enter)(void *arg);
        void (*leave)(void *arg);
        void *arg;
        bool held;
    } guard;
};

struct ns_loop *ns_loop_new(void)
{
    struct ns_loop *l = calloc(1, sizeof(*l));
    if (!l) {
        NS_ERR("loop: out of memory");
        return NULL;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        NS_ERR("loop: epoll_create1: %s", strerror(errno));
        free(l);
        return NULL;
    }
    l->sigfd = -1;
    sigemptyset(&l->sigmask);
    ns_timer_heap_init(&l->timers);
    l->now_ms = ns_now_ms();
    return l;
}

void ns_loop_free(struct ns_loop *l)
{
    if (!l)
        return;
    if (l->sigfd >= 0) {
        close(l->sigfd);
        pthread_sigmask(SIG_SETMASK, &l->saved_mask, NULL);
    }
    ns_timer_heap_fini(&l->timers);
    close(l->epfd);
    free(l->io);
    free(l);
}

static uint64_t pack(int fd, uint32_t gen)
{
    return (uint64_t)gen << 32 | (uint32_t)fd;
}

static int add(struct ns_loop *l, int fd, uint32_t events, ns_io_fn fn, void *arg, bool unguarded)
{
    if (fd < 0 || !fn) {
        NS_ERR("loop: add: bad descriptor %d or no callback", fd);
        return -1;
    }
    if ((size_t)fd >= l->n_io) {
        size_t n = l->n_io ? l->n_io : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct io_slot *io = realloc(l->io, n * sizeof(*io));
        if (!io) {
            NS_ERR("loop: add fd %d: out of memory", fd);
            return -1;
        }
        memset(io + l->n_io, 0, (n - l->n_io) * sizeof(*io));
        l->io = io;
        l->n_io = n;
    }
    struct io_slot *s = &l->io[fd];
    if (s->used) {
        NS_ERR("loop: fd %d is already registered", fd);
        return -1;
    }
    s->gen++;
    struct epoll_event ev = {.events = events, .data.u64 = pack(fd, s->gen)};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        NS_ERR("loop: epoll_ctl add fd %d: %s", fd, strerror(errno));
        return -1;
    }
    s->fn = fn;
    s->arg = arg;
    s->used = true;
    s->unguarded = unguarded;
    return 0;
}

int ns_loop_add(struct ns_loop *l, int fd, uint32_t events, ns_io_fn fn, void *arg)
{
    return add(l, fd, events, fn, arg, false);
}

int ns_loop_add_unguarded(struct ns_loop *l, int fd, uint32_t events, ns_io_fn fn, void *arg)
{
    return add(l, fd, events, fn, arg, true);
}

int ns_loop_modify(struct ns_loop *l, int fd, uint32_t events)
{
    if (fd < 0 || (size_t)fd >= l->n_io || !l->io[fd].used) {
        NS_ERR("loop: modify: fd %d is not registered", fd);
        return -1;
    }
    struct epoll_event ev = {.events = events, .data.u64 = pack(fd, l->io[fd].gen)};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) != 0) {
        NS_ERR("loop: epoll_ctl mod fd %d: %s", fd, strerror(errno));
        return -1;
    }
    return 0;
}

int ns_loop_remove(struct ns_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->n_io || !l->io[fd].used) {
        NS_ERR("loop: remove: fd %d is not registered", fd);
        return -1;
    }
    l->io[fd].used = false;
    l->io[fd].gen++;
    if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) != 0) {
        NS_ERR("loop: epoll_ctl del fd %d: %s", fd, strerror(errno));
        return -1;
    }
    return 0;
}

uint64_t ns_loop_now_ms(const struct ns_loop *l)
{
    return l->now_ms;
}

int ns_loop_timer_arm_at(struct ns_loop *l, struct ns_timer *t, uint64_t deadline_ms)
{
    if (ns_timer_heap_arm(&l->timers, t, deadline_ms) != 0) {
        NS_ERR("loop: timer: out of memory");
        return -1;
    }
    return 0;
}

int ns_loop_timer_arm(struct ns_loop *l, struct ns_timer *t, uint64_t delay_ms)
{
    uint64_t at = delay_ms > NS_TIMER_NEVER - l->now_ms ? NS_TIMER_NEVER : l->now_ms + delay_ms;
    return ns_loop_timer_arm_at(l, t, at);
}

void ns_loop_timer_cancel(struct ns_loop *l, struct ns_timer *t)
{
    ns_timer_heap_cancel(&l->timers, t);
}

static void on_signalfd(struct ns_loop *l, int fd, uint32_t events, void *arg)
{
    (void)events;
    (void)arg;
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(fd, &si, sizeof(si));
        if (n != (ssize_t)sizeof(si)) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                NS_ERR("loop: read signalfd: %s", strerror(errno));
            return;
        }
        int signo = (int)si.ssi_signo;
        if (signo <= 0 || signo >= MAX_SIGNAL)
            continue;
        if (l->sig[signo].fn) {
            l->sig[signo].fn(l, signo, l->sig[signo].arg);
        } else {
            NS_INFO("loop: signal %d (%s), stopping", signo, strsignal(signo));
            l->stop_signo = signo;
            ns_loop_stop(l);
        }
    }
}

int ns_loop_on_signal(struct ns_loop *l, int signo, ns_signal_fn fn, void *arg)
{
    if (signo <= 0 || signo >= MAX_SIGNAL || signo == SIGKILL || signo == SIGSTOP) {
        NS_ERR("loop: signal %d cannot be caught", signo);
        return -1;
    }
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signo);
    sigset_t old;
    /* Blocked first, so a signal arriving now waits for the signalfd
     * instead of running its default action. */
    int rc = pthread_sigmask(SIG_BLOCK, &one, &old);
    if (rc != 0) {
        NS_ERR("loop: block signal %d: %s", signo, strerror(rc));
        return -1;
    }
    sigset_t mask = l->sigmask;
    sigaddset(&mask, signo);
    int fd = signalfd(l->sigfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        NS_ERR("loop: signalfd: %s", strerror(errno));
        if (!sigismember(&old, signo))
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        return -1;
    }
    if (l->sigfd < 0) {
        if (ns_loop_add(l, fd, EPOLLIN, on_signalfd, NULL) != 0) {
            close(fd);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            return -1;
        }
        l->saved_mask = old;
        l->sigfd = fd;
    }
    l->sigmask = mask;
    l->sig[signo].fn = fn;
    l->sig[signo].arg = arg;
    return 0;
}

void ns_loop_stop(struct ns_loop *l)
{
    l->stop = true;
}

int ns_loop_stop_signal(const struct ns_loop *l)
{
    return l->stop_signo;
}

void ns_loop_set_guard(struct ns_loop *l, void (*enter)(void *arg), void (*leave)(void *arg),
                       void *arg)
{
    l->guard.enter = enter;
    l->guard.leave = enter ? leave : NULL;
    l->guard.arg = arg;
    l->guard.held = enter != NULL;
}

static void guard_hold(struct ns_loop *l)
{
    if (l->guard.enter && !l->guard.held) {
        l->guard.enter(l->guard.arg);
        l->guard.held = true;
    }
}

static void guard_release(struct ns_loop *l)
{
    if (l->guard.enter && l->guard.held) {
        l->guard.leave(l->guard.arg);
        l->guard.held = false;
    }
}

static int wait_ms(const struct ns_loop *l, int max_wait_ms)
{
    uint64_t next = ns_timer_heap_next(&l->timers);
    int t = -1;
    if (next != NS_TIMER_NEVER) {
        uint64_t d = next > l->now_ms ? next - l->now_ms : 0;
        t = d > 60000 ? 60000 : (int)d; /* a long sleep is re-checked anyway */
    }
    if (max_wait_ms >= 0 && (t < 0 || max_wait_ms < t))
        t = max_wait_ms;
    return t;
}

/* One round, which may end with the guard left: ns_loop_run enters it
 * again only when the next round has something guarded to run, so a busy
 * unguarded callback (natsecd's inbound ESP) does not take it every round. */
static int run_round(struct ns_loop *l, int max_wait_ms)
{
    l->now_ms = ns_now_ms();
    if (ns_timer_heap_next(&l->timers) <= l->now_ms)
        guard_hold(l);
    int ran = (int)ns_timer_heap_expire(&l->timers, l->now_ms);
    if (l->stop)
        return ran;
    /* 0 when a timer armed by the callbacks above is already due. */
    int timeout = wait_ms(l, max_wait_ms);
    struct epoll_event ev[MAX_EVENTS];
    guard_release(l);
    int n = epoll_wait(l->epfd, ev, MAX_EVENTS, timeout);
    if (n < 0) {
        if (errno == EINTR)
            return ran;
        NS_ERR("loop: epoll_wait: %s", strerror(errno));
        return -1;
    }
    l->now_ms = ns_now_ms();
    for (int i = 0; i < n; i++) {
        int fd = (int)(uint32_t)ev[i].data.u64;
        uint32_t gen = (uint32_t)(ev[i].data.u64 >> 32);
        if ((size_t)fd >= l->n_io || !l->io[fd].used || l->io[fd].gen != gen)
            continue; /* removed by an earlier callback of this round */
        if (l->io[fd].unguarded)
            guard_release(l);
        else
            guard_hold(l);
        l->io[fd].fn(l, fd, ev[i].events, l->io[fd].arg);
        ran++;
    }
    return ran;
}

int ns_loop_run_once(struct ns_loop *l, int max_wait_ms)
{
    int ran = run_round(l, max_wait_ms);
    guard_hold(l);
    return ran;
}

int ns_loop_run(struct ns_loop *l)
{
    l->stop = false;
    int rc = 0;
    while (!l->stop && rc == 0)
        if (run_round(l, -1) < 0)
            rc = -1;
    guard_hold(l);
    return rc;
}
