/* The system call allow-list natsecd runs under once it is set up (X14),
 * with libseccomp: what the event loop, the data plane (both threads),
 * IKE, the control socket, logging, notifications, a reload and the
 * shutdown use, and nothing that would help an attacker who took over a
 * parser: no execve, no new threads or processes, no ptrace, no mount or
 * namespace calls, no module or key calls, no changes of identity or
 * capabilities, and sockets only of the families natsecd uses (UNIX, IPv4,
 * IPv6, netlink). Anything else fails with EPERM (rather than killing the
 * process: a call this list forgot shows as an error in the log, not as a
 * gateway that vanishes). Calls of another architecture's ABI (i386, x32)
 * kill the process, libseccomp's default.
 *
 * The filter goes on every thread at once (TSYNC), so the outbound worker
 * thread, started during set-up, is bound by it too. */
#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/natsecd.h"
#include "util/log.h"

static const char *const allowed[] = {
    /* the event loop, timers, signals */
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "poll",
    "ppoll",
    "rt_sigreturn",
    "rt_sigprocmask",
    "restart_syscall",
    "sched_yield",
    /* file descriptors: TUN, sockets, eventfd, signalfd, the configuration at a reload */
    "read",
    "readv",
    "write",
    "writev",
    "pread64",
    "pwrite64", /* dns_apply = file: resolv.conf, open since set-up */
    "ftruncate",
    "close",
    "openat",
    "newfstatat",
    "fstat",
    "statx",
    "lseek",
    "fcntl",
    "getdents64",
    "ioctl",
    "unlink",
    "unlinkat",
    "access",
    /* sockets */
    "socket",
    "bind",
    "connect",
    "listen",
    "accept4",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "recvfrom",
    "recvmsg",
    "recvmmsg",
    "shutdown",
    /* memory, threads' locks, randomness; the outbound worker, started
     * during set-up, may register itself with the kernel after the filter */
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "brk",
    "futex",
    "getrandom",
    "rseq",
    "set_robust_list",
    "sigaltstack",
    /* who we are, and leaving */
    "getpid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "uname",
    "tgkill",
    "exit",
    "exit_group",
};

/* socket(2) only for these families. */
static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};

int nsd_seccomp_install(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) {
        NS_ERR("seccomp: cannot create the filter");
        return -1;
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        int nr = seccomp_syscall_resolve_name(allowed[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        if (nr == SCMP_SYS(socket)) {
            for (size_t f = 0; rc == 0 && f < sizeof(families) / sizeof(families[0]); f++) {
                struct scmp_arg_cmp domain = {.arg = 0,
                                              .op = SCMP_CMP_EQ,
                                              .datum_a = (scmp_datum_t)families[f],
                                              .datum_b = 0};
                rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &domain);
            }
            continue;
        }
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        NS_ERR("seccomp: cannot install the system call filter: %s", strerror(-rc));
        return -1;
    }
    NS_INFO("seccomp: system call allow-list installed");
    return 0;
}
