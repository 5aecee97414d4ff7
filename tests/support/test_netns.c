#include "support/test_netns.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/netlink.h"
#include "support/test_skip.h"

/* An exit status of the child that no CHECK in a test uses. */
#define NO_IPV6_EXIT 75

static void child_fail(const char *what)
{
    fprintf(stderr, "test_in_netns: %s: %s\n", what, strerror(errno));
    _exit(2);
}

static void write_sysctl(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        child_fail(path);
    ssize_t n = write(fd, value, strlen(value));
    if (n != (ssize_t)strlen(value))
        child_fail(path);
    close(fd);
}

/* A new namespace may inherit a host's disable_ipv6 (sysctl
 * net.core.devconf_inherit_init_net); the case needs it on whatever the
 * host does. Before loopback comes up, so that it gets ::1. */
static void enable_ipv6(void)
{
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    if (probe < 0) {
        if (errno == EAFNOSUPPORT)
            _exit(NO_IPV6_EXIT);
        child_fail("socket(AF_INET6)");
    }
    close(probe);
    write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "0");
    write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "0");
    write_sysctl("/proc/sys/net/ipv6/conf/lo/disable_ipv6", "0");
}

void test_in_netns(void (*fn)(void), unsigned flags)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0)
            child_fail("unshare(CLONE_NEWNET)");
        if (flags & TEST_NETNS_IPV6)
            enable_ipv6();
        struct ns_nl nl;
        if (ns_nl_open(&nl) != 0 || ns_nl_link_set(&nl, (int)if_nametoindex("lo"), true, 0) != 0)
            child_fail("loopback up");
        ns_nl_close(&nl);
        fn();
        fflush(NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == NO_IPV6_EXIT)
        test_skip("this kernel has no IPv6 (socket(AF_INET6): EAFNOSUPPORT)");
    assert_int_equal(WEXITSTATUS(status), 0);
}
