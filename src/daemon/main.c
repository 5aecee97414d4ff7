/* natsecd -c CONFIG [-f] [-d]: arguments, configuration, logging, the
 * process (foreground or background) and the main loop.
 *
 * A bad configuration is refused before anything is created, with the
 * loader's "file:line: reason" and exit code 1. In the background the
 * parent exits only once the child has everything set up (sockets bound,
 * TUN created, control socket listening), with the child's verdict, so an
 * init script or a test sees a start failure as a failing command.
 *
 * SIGTERM and SIGINT stop it gracefully (X2): a DELETE to every peer
 * (nsd_shutdown), then the TUN device, routes and rule go, and it exits 0. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/proposal_parse.h"
#include "daemon/natsecd.h"
#include "util/log.h"
#include "util/time.h"
#include "util/version.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: natsecd -c CONFIG [-f] [-d]\n"
                 "       natsecd --version | --help\n"
                 "IKEv2/ESP IPsec gateway or client that works through NAT.\n"
                 "  -c, --config CONFIG  configuration file (natsecd.conf(5))\n"
                 "  -f, --foreground     stay in the foreground\n"
                 "  -d, --debug          log at debug level (overrides log_level)\n"
                 "  -V, --version        print the version and exit\n"
                 "  -h, --help           print this help and exit\n");
}

/* Forks; the parent waits for one byte from the child (0 = ready) and exits
 * with it. Returns the write end of the pipe in the child, or -1. */
static int background(void)
{
    int p[2];
    if (pipe(p) != 0) {
        fprintf(stderr, "natsecd: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "natsecd: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        unsigned char verdict = 1;
        ssize_t r;
        do
            r = read(p[0], &verdict, 1);
        while (r < 0 && errno == EINTR);
        if (r != 1) {
            int st;
            waitpid(pid, &st, 0);
            verdict = 1;
        }
        _exit(verdict);
    }
    close(p[0]);
    if (setsid() < 0)
        fprintf(stderr, "natsecd: setsid: %s\n", strerror(errno));
    if (chdir("/") != 0)
        fprintf(stderr, "natsecd: chdir /: %s\n", strerror(errno));
    return p[1];
}

static void tell_parent(int fd, unsigned char verdict)
{
    if (fd < 0)
        return;
    if (write(fd, &verdict, 1) != 1)
        NS_WARN("cannot report start-up to the parent process: %s", strerror(errno));
    close(fd);
}

/* X12: an administrator reading the log sees that weak algorithms are
 * allowed, and which. */
static void log_legacy(const struct ns_conf *c)
{
    if (!c->legacy_proposals)
        return;
    char names[160];
    unsigned m = ns_conf_legacy_in_use(c);
    NS_WARN("natsecd: legacy_proposals = yes: weak algorithms allowed: %s",
            m ? ns_proposal_legacy_str(m, names, sizeof(names)) : "none in any proposal list");
}

int main(int argc, char **argv)
{
    const char *conf_path = NULL;
    bool foreground = false, debug = false;
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
        {"debug", no_argument, NULL, 'd'},        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:fdVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            conf_path = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 'd':
            debug = true;
            break;
        case 'V':
            printf("natsecd %s\n", ns_version_long());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!conf_path || optind != argc) {
        usage(stderr);
        return 2;
    }

    static struct nsd d;
    d.conf_path = conf_path;
    d.control_fd = -1;
    char err[1024];
    if (ns_conf_load(conf_path, &d.conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "natsecd: %s\n", err);
        return 1;
    }
    ns_log_set_level(debug ? NS_LOG_DEBUG : d.conf.log_level);
    d.foreground = foreground;
    d.debug = debug;
    ns_log_set_target(nsd_log_target(d.conf.log_target, foreground), "natsecd");

    /* The control socket may go to a peer that closed it: a write error is
     * handled where it happens, not by a signal. */
    signal(SIGPIPE, SIG_IGN);

    if (nsd_privileges_prepare(&d) != 0) {
        if (ns_log_get_target() == NS_LOG_TARGET_SYSLOG)
            fprintf(stderr, "natsecd: cannot start; the reason is in the system log\n");
        ns_conf_free(&d.conf);
        return 1;
    }
    /* Once it is clear natsecd can run at all: it may make the file. */
    if (ns_conf_qcd_secret(&d.conf, conf_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "natsecd: %s\n", err);
        ns_conf_free(&d.conf);
        return 1;
    }

    int ready_fd = -1;
    if (!foreground) {
        ready_fd = background();
        if (ready_fd < 0) {
            ns_conf_free(&d.conf);
            return 1;
        }
    }
    d.start_ms = ns_now_ms();
    if (nsd_start(&d) != 0 || nsd_reload_start(&d) != 0 || nsd_dns_prepare(&d) != 0 ||
        nsd_privileges_drop(&d) != 0 ||
        (d.conf.seccomp && nsd_seccomp_install() != 0)) {
        NS_ERR("natsecd: start-up failed, exiting");
        if (ns_log_get_target() == NS_LOG_TARGET_SYSLOG)
            fprintf(stderr, "natsecd: start-up failed; the reason is in the system log\n");
        nsd_stop(&d);
        ns_conf_free(&d.conf);
        tell_parent(ready_fd, 1);
        return 1;
    }
    NS_INFO("natsecd %s %s started (pid %d, config %s)", ns_version_long(),
            d.conf.role == NS_CONF_GATEWAY ? "gateway" : "client", (int)getpid(), conf_path);
    log_legacy(&d.conf);
    tell_parent(ready_fd, 0);
    nsd_service_ready(&d);

    int rc = ns_loop_run(d.loop);
    int sig = ns_loop_stop_signal(d.loop);
    if (sig != 0) {
        /* The peers hear of it now, not after their liveness timeout. */
        NS_INFO("natsecd: %s, shutting down", strsignal(sig));
        nsd_service_status("STOPPING=1");
        nsd_shutdown(&d);
    }
    nsd_service_stop(&d);
    nsd_stop(&d);
    nsd_reload_free(&d);
    ns_conf_free(&d.conf);
    NS_INFO("natsecd: stopped");
    return rc == 0 ? 0 : 1;
}
