/* natsec-load: N telecommuters from one process, against one IKEv2 gateway
 * (natsecd or any other, e.g. strongSwan), for the scale benchmark (R12).
 *
 * Each emulated client is a real natsec IKE initiator: its own client
 * engine (ike/engine.h: IKE_SA_INIT, IKE_AUTH with PSK, configuration
 * payload for a virtual IP, the first CHILD_SA, NAT detection and port
 * floating), its own identity (--id, "user%u@corp.example" by default) and
 * its own pair of UDP sockets (the "500" and "4500" of a real client, each
 * with an ephemeral source port, so a NAT in front gives every client its
 * own public ports). The engines share one ESP SAD (SPIs unique across the
 * process, as on a real host). Nothing of the protocol is written here: the
 * tool is the engine's I/O, a window and a stopwatch.
 *
 * Phases:
 *   setup  clients start while fewer than --window are in flight; a setup
 *          is done when the CHILD_SA is installed and the virtual IP
 *          received (client_up); it fails when the engine gives up
 *          (client_down) or --timeout passes.
 *   hold   --hold seconds with every client connected: one NAT keepalive
 *          per client (RFC 3948 4), and with --ping ADDR one ICMP echo per
 *          client through its CHILD_SA (ESP in UDP 4500), spread over the
 *          hold (again for those without a reply, up to 3 times); replies
 *          are decrypted, checked to be the client's own and counted.
 *   report setups per second (successful setups over the time from the
 *          first start to the last success), p50/p99 setup latency,
 *          failures by reason, virtual IP and SPI uniqueness, and with
 *          --gw-pid the gateway's VmRSS before the first client and at the
 *          end of the hold (per connected client) and its CPU time per
 *          setup (utime + stime of the whole process).
 *
 * Every load is bounded: at most --clients (<= 100000) clients, at most
 * --window in flight, --timeout seconds of setup and --hold seconds of hold.
 * The last line is machine-readable:
 *   RESULT load label=... clients=... ok=... failed=... setups_per_s=...
 *   p50_ms=... p99_ms=... ... */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "load.h"
#include "util/log.h"
#include "util/time.h"

struct load_state G;

/* The wall clock in ms: TIMELINE lines of several load processes are
 * merged by it. */
static unsigned long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

void load_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("natsec-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

int main(int argc, char **argv)
{
    load_parse_args(argc, argv);
    ns_log_set_level(G.verbose ? NS_LOG_INFO : NS_LOG_WARN);
    if (!load_raise_fd_limit((rlim_t)G.n * 2 + 64)) {
        if (!load_raise_fd_limit((rlim_t)G.n + 64))
            load_die("cannot raise the open file limit to %u", G.n + 64);
        G.shared_port = true;
    }
    load_learn_local_addr();
    G.c = calloc(G.n, sizeof(*G.c));
    struct client_set *sets[] = {&G.inflight, &G.waiting};
    for (unsigned k = 0; k < 2; k++) {
        sets[k]->idx = calloc(G.n, sizeof(*sets[k]->idx));
        sets[k]->due_ms = calloc(G.n, sizeof(*sets[k]->due_ms));
        if (!sets[k]->idx || !sets[k]->due_ms)
            load_die("out of memory");
    }
    G.sad = ns_sad_new();
    G.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!G.c || !G.sad || G.ep < 0)
        load_die("out of memory");

    long rss0 = G.gw_pid ? load_proc_rss_kib(G.gw_pid) : -1;
    double cpu0 = G.gw_pid ? load_proc_cpu_ms(G.gw_pid) : -1;
    if (G.gw_pid && rss0 < 0)
        load_die("cannot read /proc/%ld/status", G.gw_pid);

    /* ---- setup ---- */
    double self0 = load_self_cpu_ms();
    uint64_t t0 = ns_now_ns();
    uint64_t setup_deadline = t0 + (uint64_t)(G.timeout_s * 1e9);
    uint64_t last_sweep = t0;
    unsigned next = 0;
    while (ns_now_ns() < setup_deadline) {
        uint64_t now = ns_now_ns();
        while (next < G.n && G.inflight.n < G.window)
            load_client_start(next++, now);
        if (next == G.n && G.inflight.n == 0)
            break;
        load_poll_once(2);
        now = ns_now_ns();
        uint64_t now_ms = now / 1000000;
        load_inflight_tick(now_ms);
        if (now - last_sweep > 500000000ull) {
            last_sweep = now;
            for (unsigned i = 0; i < next; i++)
                if (G.c[i].state == C_UP)
                    load_client_tick(&G.c[i], now_ms);
        }
    }
    uint64_t t_setup_end = ns_now_ns();
    double cpu1 = G.gw_pid ? load_proc_cpu_ms(G.gw_pid) : -1;
    double self1 = load_self_cpu_ms();
    /* Setups still in flight at the deadline have failed: stop them (their
     * engines report client_down while already marked). */
    unsigned timed_out = G.inflight.n, not_started = G.n - next;
    while (G.inflight.n) {
        struct client *c = &G.c[G.inflight.idx[G.inflight.n - 1]];
        load_inflight_del(c);
        c->state = C_FAILED;
        ns_ike_engine_free(c->e);
        c->e = NULL;
    }

    /* ---- hold: keepalives and a little ESP ---- */
    G.holding = true;
    uint64_t hold_end = t_setup_end + (uint64_t)(G.hold_s * 1e9);
    uint64_t next_timeline = t_setup_end;
    /* With --flood the echoes go at once and the stream fills the hold. */
    double spread = G.flood ? 0 : G.hold_s > 1.5 ? G.hold_s - 1.0 : G.hold_s * 0.5;
    unsigned ka_next = 0, echo_next = 0, flood_next = 0;
    uint64_t last_pass_ms = 0;
    while (ns_now_ns() < hold_end) {
        uint64_t now = ns_now_ns();
        /* Spread keepalives and echoes over the first part of the hold. */
        double frac = spread > 0 ? (double)(now - t_setup_end) / (spread * 1e9) : 1.0;
        unsigned due = frac >= 1.0 ? G.n : (unsigned)(frac * G.n);
        for (; ka_next < due; ka_next++)
            if (G.c[ka_next].state == C_UP)
                load_send_keepalive(&G.c[ka_next]);
        if (G.ping.family)
            for (; echo_next < due; echo_next++)
                if (G.c[echo_next].state == C_UP)
                    load_send_echo(&G.c[echo_next], echo_next, now);
        if (G.flood && next) {
            /* A burst through the clients in turn, then the sockets. */
            for (unsigned b = 0; b < 64; b++, flood_next = (flood_next + 1) % next)
                if (G.c[flood_next].state == C_UP)
                    load_send_flood(&G.c[flood_next], now);
            G.flood_ns = ns_now_ns() - t_setup_end;
        }
        load_poll_once(G.flood ? 0 : 5);
        now = ns_now_ns();
        /* The engines' timers count milliseconds: one pass over the
         * clients in flight and those waiting to reconnect per
         * millisecond, not per wake-up (a storm wakes this loop for every
         * packet, and the passes cover thousands of clients). */
        if (now / 1000000 != last_pass_ms) {
            last_pass_ms = now / 1000000;
            load_inflight_tick(last_pass_ms);
            load_reconnect_due(now);
        }
        if (G.timeline && now >= next_timeline) {
            next_timeline += 1000000000ull;
            printf("TIMELINE wall_ms=%llu up=%u connecting=%u waiting=%u downs=%llu attempts=%llu "
                   "qcd=%llu\n",
                   wall_ms(), G.up, G.inflight.n, G.waiting.n, (unsigned long long)G.downs,
                   (unsigned long long)G.reconnects, (unsigned long long)G.qcd_downs);
            fflush(stdout);
        }
        if (now - last_sweep > 500000000ull) {
            last_sweep = now;
            for (unsigned i = 0; i < next; i++) {
                struct client *c = &G.c[i];
                load_client_tick(c, now / 1000000);
                /* An echo or its reply may be lost on a busy path: up to
                 * ECHO_TRIES per client, half a second apart. */
                if (i < echo_next && c->state == C_UP && c->echo_sent && !c->echo_ok &&
                    c->echo_tries < ECHO_TRIES)
                    load_send_echo(c, i, now);
            }
        }
    }
    long rss1 = G.gw_pid ? load_proc_rss_kib(G.gw_pid) : -1;

    struct load_measure m = {
        .started = next,
        .timed_out = timed_out,
        .not_started = not_started,
        .rss0 = rss0,
        .rss1 = rss1,
        .cpu0 = cpu0,
        .cpu1 = cpu1,
        .self0 = self0,
        .self1 = self1,
    };
    unsigned k = load_report(&m);
    if (G.dump_path && !load_dump_clients(next))
        load_die("cannot write %s", G.dump_path);

    /* Local teardown only (the engines send nothing when freed); the
     * gateway's SAs expire by its liveness checks or go with it. */
    for (unsigned i = 0; i < next; i++) {
        ns_ike_engine_free(G.c[i].e);
        close(G.c[i].fd[0]);
        if (!G.shared_port)
            close(G.c[i].fd[1]);
    }
    ns_sad_free(G.sad);
    ns_conf_free(&G.tmpl);
    free(G.c);
    for (unsigned k = 0; k < 2; k++) {
        free(sets[k]->idx);
        free(sets[k]->due_ms);
    }
    close(G.ep);
    return k == G.n ? 0 : 1;
}
