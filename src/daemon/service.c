/* natsecd under systemd (Type=notify, systemd/natsecd.service), through
 * libsystemd's sd_notify: READY=1 once everything is set up (sockets, TUN
 * device, routes, control socket: main.c calls nsd_service_ready after
 * nsd_start), RELOADING=1 and READY=1 around a reload, STOPPING=1 at
 * SIGTERM, and WATCHDOG=1 from a timer of the event loop every half of
 * WatchdogSec, so a loop that hangs stops the keep-alives and systemd
 * restarts natsecd. Without NOTIFY_SOCKET (not under systemd) every call
 * does nothing. And where log lines go when log_target is auto. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "util/log.h"
#include "util/version.h"

static void on_watchdog(struct ns_timer *t, void *arg)
{
    struct nsd *d = arg;
    sd_notify(0, "WATCHDOG=1");
    ns_loop_timer_arm(d->loop, t, d->watchdog_interval_ms);
}

void nsd_service_ready(struct nsd *d)
{
    int rc = sd_notifyf(0, "READY=1\nSTATUS=natsecd %s %s on %s\nMAINPID=%d", ns_version(),
                        d->conf.role == NS_CONF_GATEWAY ? "gateway" : "client", d->tun.name,
                        (int)getpid());
    if (rc < 0)
        NS_WARN("systemd: cannot send READY=1: %s", strerror(-rc));
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    /* Half the timeout, as sd_watchdog_enabled(3) advises; at least 1 ms. */
    d->watchdog_interval_ms = usec / 2000 ? usec / 2000 : 1;
    ns_timer_init(&d->watchdog_timer, on_watchdog, d);
    sd_notify(0, "WATCHDOG=1");
    ns_loop_timer_arm(d->loop, &d->watchdog_timer, d->watchdog_interval_ms);
    NS_INFO("systemd: watchdog keep-alive every %llu ms",
            (unsigned long long)d->watchdog_interval_ms);
}

void nsd_service_status(const char *state)
{
    sd_notify(0, state);
}

void nsd_service_stop(struct nsd *d)
{
    if (d->watchdog_interval_ms && d->loop)
        ns_loop_timer_cancel(d->loop, &d->watchdog_timer);
    d->watchdog_interval_ms = 0;
}

/* Whether stderr is a stream to journald: systemd says so in
 * JOURNAL_STREAM ("device:inode" of that stream, systemd.exec(5)); a
 * program started from inside a service inherits the variable but not
 * the stream. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* log_target = auto: syslog (journald under systemd) when natsecd goes to
 * the background, when its stderr is the journal, or when systemd started
 * it (INVOCATION_ID, parent PID 1); stderr when someone runs it with -f. */
enum ns_log_target nsd_log_target(enum ns_conf_log_target conf, bool foreground)
{
    if (conf == NS_CONF_LOG_STDERR)
        return NS_LOG_TARGET_STDERR;
    if (conf == NS_CONF_LOG_SYSLOG || !foreground || stderr_is_journal() ||
        (getenv("INVOCATION_ID") && getppid() == 1))
        return NS_LOG_TARGET_SYSLOG;
    return NS_LOG_TARGET_STDERR;
}
