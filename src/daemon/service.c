/* natsecd under systemd (Type=notify, systemd/natsecd.service), through
 * libsystemd's sd_notify: READY=1 once everything is set up (sockets, TUN
 * device, routes, control socket: main.c calls nsd_service_ready after
 * nsd_start), RELOADING=1 and READY=1 around a reload, STOPPING=1 at
 * SIGTERM, and WATCHDOG=1 from a timer of the event loop every half of
 * WatchdogSec, so a loop that hangs stops the keep-alives and systemd
 * restarts natsecd. Without NOTIFY_SOCKET (not under systemd) every call
 * does nothing. */
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "util/log.h"
#include "util/version.h"

static struct {
    struct ns_timer timer;
    uint64_t interval_ms; /* 0: no watchdog */
} wd;

static void on_watchdog(struct ns_timer *t, void *arg)
{
    struct nsd *d = arg;
    sd_notify(0, "WATCHDOG=1");
    ns_loop_timer_arm(d->loop, t, wd.interval_ms);
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
    wd.interval_ms = usec / 2000 ? usec / 2000 : 1;
    ns_timer_init(&wd.timer, on_watchdog, d);
    sd_notify(0, "WATCHDOG=1");
    ns_loop_timer_arm(d->loop, &wd.timer, wd.interval_ms);
    NS_INFO("systemd: watchdog keep-alive every %llu ms", (unsigned long long)wd.interval_ms);
}

void nsd_service_status(const char *state)
{
    sd_notify(0, state);
}

void nsd_service_stop(struct nsd *d)
{
    if (wd.interval_ms && d->loop)
        ns_loop_timer_cancel(d->loop, &wd.timer);
    wd.interval_ms = 0;
}
