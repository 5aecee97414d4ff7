/* Unit tests for natsecd's system call allow-list (daemon/seccomp.c, X14),
 * installed in the test process itself (each case runs in a process of
 * its own): what natsecd uses still works, an unlisted call is refused
 * with EPERM (new processes, execve, ptrace, namespaces, identity
 * changes), socket(2) only for the families natsecd uses, and a thread
 * that was running before the filter is bound by it too. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "util/log.h"

/* LeakSanitizer's exit check needs ptrace and a new thread, which the
 * filter refuses: it runs before the filter instead (sanitizer builds). */
extern void __lsan_do_leak_check(void) __attribute__((weak));

static void install(void)
{
    if (__lsan_do_leak_check)
        __lsan_do_leak_check();
    ns_log_set_level(NS_LOG_ERROR);
    assert_int_equal(nsd_seccomp_install(), 0);
}

static void expect_eperm(long rc)
{
    assert_int_equal(rc, -1);
    assert_int_equal(errno, EPERM);
}

/* X14: what natsecd does after set-up still works. */
static void listed_calls_work(void **state)
{
    (void)state;
    install();
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(u >= 0);
    close(u);
    int n = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
    assert_true(n >= 0);
    close(n);
    int x = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(x >= 0);
    close(x);
    int f = open("/dev/null", O_WRONLY | O_CLOEXEC); /* a reload reads files */
    assert_true(f >= 0);
    assert_int_equal(write(f, "x", 1), 1);
    close(f);
    void *p = malloc(1 << 20);
    assert_non_null(p);
    free(p);
    assert_true(getpid() > 0);
}

/* X14: an unlisted call is refused with EPERM. */
static void unlisted_calls_refused(void **state)
{
    (void)state;
    install();
    expect_eperm(fork());
    char *const argv[] = {(char *)"/bin/true", NULL};
    expect_eperm(execve("/bin/true", argv, NULL));
    expect_eperm(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
    expect_eperm(unshare(CLONE_NEWNET));
    expect_eperm(setuid(0));
    expect_eperm(chroot("/"));
}

/* X14: socket(2) only for UNIX, IPv4, IPv6 and netlink. */
static void socket_families_limited(void **state)
{
    (void)state;
    install();
    expect_eperm(socket(AF_PACKET, SOCK_RAW, 0));
    expect_eperm(socket(AF_BLUETOOTH, SOCK_STREAM, 0));
    expect_eperm(socket(AF_VSOCK, SOCK_STREAM, 0));
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool running, go;
static int thread_errno;
static long thread_rc;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    running = true;
    pthread_cond_broadcast(&cv);
    while (!go)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    errno = 0;
    thread_rc = socket(AF_PACKET, SOCK_RAW, 0);
    thread_errno = errno;
    return NULL;
}

/* X14: a thread started before the filter (natsecd's outbound worker) is
 * bound by it too. */
static void threads_filtered_too(void **state)
{
    (void)state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, worker, NULL), 0);
    pthread_mutex_lock(&mu);
    while (!running)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    install();
    pthread_mutex_lock(&mu);
    go = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(thread_rc, -1);
    assert_int_equal(thread_errno, EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listed_calls_work),
        cmocka_unit_test(unlisted_calls_refused),
        cmocka_unit_test(socket_families_limited),
        cmocka_unit_test(threads_filtered_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
