/* natsec-load: N telecommuters from one process, against one IKEv2 gateway
 * (natsecd or any other, e.g. strongSwan), for the scale benchmark (R12,
 * issue 8).
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
 *          hold; replies are decrypted and counted.
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
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "esp/esp.h"
#include "esp/pkt.h"
#include "esp/sad.h"
#include "ike/engine.h"
#include "natt/udp_demux.h"
#include "util/addr.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

#define MAX_CLIENTS 100000
#define RX_BUF 4096
#define EPOLL_BATCH 256

enum cstate {
    C_IDLE = 0,
    C_CONNECTING,
    C_UP,
    C_FAILED,
};

struct client {
    struct ns_ike_engine *e;
    struct ns_conf conf; /* the template's, with this client's local_id */
    int fd[2];           /* [0] the client's "500", [1] its "4500" (may be one socket) */
    enum cstate state;
    bool floated; /* the engine sent on the NAT-T port: later datagrams without a marker are ESP */
    bool child, vip_set;
    int down_reason;
    unsigned inflight_pos;
    uint64_t t_start_ns, t_up_ns;
    uint64_t ike_sa_id;
    uint32_t spi_in, spi_out;
    struct ns_addr vip;
    struct ns_esp_sa *sa_out;
    uint16_t echo_seq;
    bool echo_sent, echo_ok, keepalive_sent;
};

static struct {
    /* options */
    struct ns_endpoint gw_ike, gw_natt;
    struct ns_addr local_addr;
    unsigned n, window;
    const char *id_fmt, *remote_id, *psk, *subnet, *ike_props, *esp_props, *label;
    long gw_pid;
    double timeout_s, hold_s;
    struct ns_addr ping;
    bool verbose;
    bool shared_port; /* one socket per client (the fd limit is too low for two) */

    struct ns_conf tmpl;
    struct client *c;
    struct ns_sad *sad;
    int ep;
    unsigned started, up, failed;
    unsigned *inflight;
    unsigned n_inflight;
    uint64_t t_first_ns, t_last_up_ns;
    uint64_t rx_ike, rx_esp, rx_other, tx, tx_err;
    uint64_t esp_sent, esp_replies, esp_bad, keepalives;
    unsigned fail_reason[8];
} G;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("natsec-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static struct client *ctx_client(void *ctx)
{
    return ctx;
}

/* ---- the engine's I/O ---- */

static void op_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                    const uint8_t *msg, size_t len, bool natt_marker)
{
    struct client *c = ctx_client(ctx);
    uint8_t buf[RX_BUF];
    size_t off = natt_marker ? NS_NATT_MARKER_LEN : 0;
    if (len + off > sizeof(buf)) {
        G.tx_err++;
        return;
    }
    memset(buf, 0, off);
    memcpy(buf + off, msg, len);
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(remote, &ss);
    (void)local; /* the marker goes exactly with the NAT-T port (engine.h) */
    int fd = c->fd[natt_marker ? 1 : 0];
    if (natt_marker)
        c->floated = true;
    if (sendto(fd, buf, len + off, 0, (struct sockaddr *)&ss, sl) < 0)
        G.tx_err++;
    else
        G.tx++;
}

static uint32_t op_alloc_spi(void *ctx)
{
    (void)ctx;
    return ns_sad_alloc_spi(G.sad);
}

static void op_release_spi(void *ctx, uint32_t spi)
{
    (void)ctx;
    (void)ns_sad_release_spi(G.sad, spi); /* -1: it was installed and is gone */
}

static int op_child_up(void *ctx, const struct ns_esp_sa_spec *in, const struct ns_esp_sa_spec *out)
{
    struct client *c = ctx_client(ctx);
    struct ns_esp_sa *si = ns_sad_install(G.sad, in);
    if (!si)
        return -1;
    struct ns_esp_sa *so = ns_sad_install(G.sad, out);
    if (!so) {
        ns_sad_remove(G.sad, si);
        return -1;
    }
    c->ike_sa_id = in->ike_sa_id;
    c->spi_in = in->spi;
    c->spi_out = out->spi;
    c->sa_out = so;
    c->child = true;
    return 0;
}

static void op_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    struct client *c = ctx_client(ctx);
    (void)ns_sad_remove_inbound(G.sad, in_spi);
    (void)ns_sad_remove_outbound(G.sad, c->ike_sa_id, out_spi);
    if (c->spi_out == out_spi) {
        c->sa_out = NULL;
        c->child = false;
    }
}

static void inflight_del(struct client *c)
{
    unsigned pos = c->inflight_pos;
    unsigned last = G.inflight[--G.n_inflight];
    G.inflight[pos] = last;
    G.c[last].inflight_pos = pos;
}

static void op_client_up(void *ctx, uint64_t ike_sa_id, const struct ns_addr *vip,
                         const struct ns_ts *remote, unsigned n, const struct ns_addr *dns,
                         unsigned n_dns)
{
    (void)ike_sa_id;
    (void)remote;
    (void)n;
    (void)dns;
    (void)n_dns;
    struct client *c = ctx_client(ctx);
    if (vip) {
        c->vip = *vip;
        c->vip_set = vip->family != 0;
    }
    if (c->state == C_CONNECTING && c->child) {
        c->state = C_UP;
        c->t_up_ns = ns_now_ns();
        G.t_last_up_ns = c->t_up_ns;
        G.up++;
        inflight_del(c);
    }
}

static void op_client_down(void *ctx, enum ns_ike_down_reason reason)
{
    struct client *c = ctx_client(ctx);
    if (c->state == C_CONNECTING) {
        inflight_del(c);
        G.failed++;
        G.fail_reason[(unsigned)reason < 8 ? (unsigned)reason : 7]++;
    } else if (c->state == C_UP) {
        G.up--; /* lost after setup: counts as a failure too */
        G.failed++;
        G.fail_reason[(unsigned)reason < 8 ? (unsigned)reason : 7]++;
    }
    c->state = C_FAILED;
    c->down_reason = (int)reason;
}

/* ---- sockets ---- */

static int udp_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        die("bind: %s (raise net.ipv4.ip_local_port_range for many clients)", strerror(errno));
    return fd;
}

/* The source address the kernel uses towards the gateway: what the NAT
 * detection hashes must be computed over. */
static void learn_local_addr(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(&G.gw_ike, &ss);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) != 0)
        die("no route to the gateway: %s", strerror(errno));
    struct sockaddr_storage me;
    socklen_t ml = sizeof(me);
    struct ns_endpoint ep;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0 ||
        ns_endpoint_from_sockaddr(&ep, (struct sockaddr *)&me, ml) != 0)
        die("getsockname: %s", strerror(errno));
    close(fd);
    G.local_addr = ep.addr;
}

/* Raises the open file limit to need; false when not possible (a
 * container may refuse to raise the hard limit). */
static bool raise_fd_limit(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("getrlimit: %s", strerror(errno));
    if (rl.rlim_cur >= need)
        return true;
    struct rlimit want = {.rlim_cur = need, .rlim_max = rl.rlim_max < need ? need : rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
        return true;
    if (rl.rlim_max >= need) {
        want.rlim_max = rl.rlim_max;
        return setrlimit(RLIMIT_NOFILE, &want) == 0;
    }
    return false;
}

/* ---- clients ---- */

static const struct ns_ike_ops ops_template = {
    .send = op_send,
    .alloc_spi = op_alloc_spi,
    .release_spi = op_release_spi,
    .child_up = op_child_up,
    .child_down = op_child_down,
    .client_up = op_client_up,
    .client_down = op_client_down,
};

static void client_start(unsigned i, uint64_t now_ns)
{
    struct client *c = &G.c[i];
    c->conf = G.tmpl; /* shares the template's peers (read only) */
    char id[NS_CONF_ID_STRLEN];
    snprintf(id, sizeof(id), G.id_fmt, i);
    if (ns_conf_id_parse(id, &c->conf.local_id) != 0)
        die("bad identity '%s'", id);
    for (int k = 0; k < (G.shared_port ? 1 : 2); k++) {
        c->fd[k] = udp_socket();
        uint64_t which = G.shared_port ? 2 : (uint64_t)k;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((uint64_t)i << 2) | which};
        if (epoll_ctl(G.ep, EPOLL_CTL_ADD, c->fd[k], &ev) != 0)
            die("epoll_ctl: %s", strerror(errno));
    }
    if (G.shared_port)
        c->fd[1] = c->fd[0];
    struct ns_ike_ops ops = ops_template;
    ops.ctx = c;
    c->e = ns_ike_engine_new(&c->conf, &ops, now_ns / 1000000);
    if (!c->e)
        die("cannot make client engine %u", i);
    c->state = C_CONNECTING;
    c->t_start_ns = now_ns;
    c->inflight_pos = G.n_inflight;
    G.inflight[G.n_inflight++] = i;
    if (!G.t_first_ns)
        G.t_first_ns = now_ns;
    G.started++;
    if (ns_ike_engine_connect(c->e, &G.local_addr, now_ns / 1000000) != 0) {
        inflight_del(c);
        c->state = C_FAILED;
        G.failed++;
        G.fail_reason[7]++;
    }
}

static void tick(struct client *c, uint64_t now_ms)
{
    if (c->e && ns_ike_engine_next_wakeup(c->e) <= now_ms)
        ns_ike_engine_tick(c->e, now_ms);
}

/* ---- ESP: an ICMP echo through the client's CHILD_SA ---- */

static uint16_t csum16(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += ns_get_u16(p + i);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

#define ECHO_LEN 64 /* IPv4 20 + ICMP 8 + 36 bytes of data */

static void send_echo(struct client *c, unsigned idx, uint64_t now_ns)
{
    if (!c->sa_out || !c->vip_set || c->vip.family != AF_INET)
        return;
    uint8_t buf[RX_BUF];
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, buf, sizeof(buf));
    uint8_t *p = ns_pkt_data(&pkt);
    memset(p, 0, ECHO_LEN);
    p[0] = 0x45;
    ns_put_u16(p + 2, ECHO_LEN);
    p[8] = 64;
    p[9] = 1; /* ICMP */
    memcpy(p + 12, c->vip.a, 4);
    memcpy(p + 16, G.ping.a, 4);
    ns_put_u16(p + 10, csum16(p, 20));
    uint8_t *icmp = p + 20;
    icmp[0] = 8; /* echo request */
    ns_put_u16(icmp + 4, (uint16_t)idx);
    ns_put_u16(icmp + 6, ++c->echo_seq);
    memcpy(icmp + 8, "natsec-load", 11);
    ns_put_u16(icmp + 2, csum16(icmp, ECHO_LEN - 20));
    pkt.len = ECHO_LEN;
    if (ns_esp_encap(G.sad, c->sa_out, &pkt, now_ns) != NS_ESP_OK) {
        G.esp_bad++;
        return;
    }
    const struct ns_endpoint *peer = ns_esp_sa_peer(c->sa_out);
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(peer, &ss);
    if (sendto(c->fd[1], ns_pkt_data(&pkt), pkt.len, 0, (struct sockaddr *)&ss, sl) < 0) {
        G.tx_err++;
        return;
    }
    c->echo_sent = true;
    G.esp_sent++;
}

static void send_keepalive(struct client *c)
{
    uint8_t b[1];
    size_t n = ns_natt_keepalive(b, sizeof(b));
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(&G.gw_natt, &ss);
    if (sendto(c->fd[1], b, n, 0, (struct sockaddr *)&ss, sl) < 0) {
        G.tx_err++;
        return;
    }
    c->keepalive_sent = true;
    G.keepalives++;
}

static void esp_input(struct client *c, unsigned idx, uint8_t *buf, size_t cap, size_t len,
                      uint64_t now_ns)
{
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, buf, cap);
    pkt.len = len;
    struct ns_esp_in_info info;
    if (ns_esp_decap(G.sad, &pkt, NULL, NULL, now_ns, &info) != NS_ESP_OK) {
        G.esp_bad++;
        return;
    }
    const uint8_t *p = ns_pkt_data(&pkt);
    if (info.sa != ns_sad_find_inbound(G.sad, c->spi_in) || pkt.len < 28 || p[9] != 1 ||
        p[20] != 0 || ns_get_u16(p + 24) != (uint16_t)idx) {
        G.esp_bad++;
        return;
    }
    if (!c->echo_ok)
        G.esp_replies++;
    c->echo_ok = true;
}

/* ---- the receive path ---- */

/* which: 0 the client's "500" socket, 1 its "4500", 2 one socket for both
 * (then IKE without a marker until the engine floats, ESP after). */
static void rx(unsigned idx, int which, uint64_t now_ns)
{
    struct client *c = &G.c[idx];
    static uint8_t buf[NS_PKT_HEADROOM + RX_BUF + NS_PKT_TAILROOM];
    uint8_t *data = buf + NS_PKT_HEADROOM;
    for (int guard = 0; guard < 64; guard++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n =
            recvfrom(c->fd[which == 0 ? 0 : 1], data, RX_BUF, 0, (struct sockaddr *)&ss, &sl);
        if (n < 0)
            return;
        struct ns_endpoint from, local = {.addr = G.local_addr};
        if (ns_endpoint_from_sockaddr(&from, (struct sockaddr *)&ss, sl) != 0)
            continue;
        if (which == 0 || (which == 2 && !c->floated)) {
            local.port = G.tmpl.ike_port;
            G.rx_ike++;
            if (c->e)
                ns_ike_engine_input(c->e, &local, &from, data, (size_t)n, now_ns / 1000000);
            continue;
        }
        const uint8_t *body;
        size_t blen;
        switch (ns_natt_classify(data, (size_t)n, &body, &blen)) {
        case NS_NATT_IKE:
            local.port = G.tmpl.natt_port;
            G.rx_ike++;
            if (c->e)
                ns_ike_engine_input(c->e, &local, &from, data + (body - data), blen,
                                    now_ns / 1000000);
            break;
        case NS_NATT_ESP:
            G.rx_esp++;
            esp_input(c, idx, buf, sizeof(buf), (size_t)n, now_ns);
            break;
        default:
            G.rx_other++;
            break;
        }
    }
}

static void poll_once(int timeout_ms)
{
    struct epoll_event ev[EPOLL_BATCH];
    int n = epoll_wait(G.ep, ev, EPOLL_BATCH, timeout_ms);
    uint64_t now = ns_now_ns();
    for (int i = 0; i < n; i++)
        rx((unsigned)(ev[i].data.u64 >> 2), (int)(ev[i].data.u64 & 3), now);
}

/* ---- the gateway process ---- */

static long proc_rss_kib(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* utime + stime of the whole process, in ms. */
static double proc_cpu_ms(long pid)
{
    char path[64], line[2048];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    if (!ok)
        return -1;
    char *p = strrchr(line, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* This process's user + system CPU time, in ms. */
static double self_cpu_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/* ---- report ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* How many distinct values in v[0..n) (sorts v). */
static unsigned distinct_u32(uint32_t *v, unsigned n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u32);
    unsigned d = 1;
    for (unsigned i = 1; i < n; i++)
        d += v[i] != v[i - 1];
    return d;
}

/* ---- options ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: natsec-load --gateway ADDR --psk PSK [options]\n"
            "  -g, --gateway ADDR     the gateway's IPv4 address (IKE on 500, NAT-T on 4500)\n"
            "  -k, --psk PSK          the shared key (text or 0x<hex>, as in natsecd.conf)\n"
            "  -n, --clients N        emulated telecommuters (default 100, at most %d)\n"
            "  -w, --window W         setups in flight at once (default 64)\n"
            "  -i, --id FMT           identity of client N, printf format with one %%u\n"
            "                         (default user%%u@corp.example)\n"
            "  -r, --remote-id ID     the gateway's identity (default vpn.corp.example)\n"
            "  -s, --subnet CIDR      the subnet asked for (default 192.0.2.0/24)\n"
            "      --ike-proposals L  natsecd.conf syntax (default natsec's)\n"
            "      --esp-proposals L  natsecd.conf syntax (default natsec's)\n"
            "  -p, --gw-pid PID       read the gateway's VmRSS and CPU time from /proc\n"
            "  -P, --ping ADDR        one ICMP echo per client through its tunnel to ADDR\n"
            "  -t, --timeout S        seconds for the setup phase (default 120)\n"
            "  -H, --hold S           seconds connected after setup (default 5)\n"
            "  -l, --label NAME       name in the RESULT line (default gateway)\n"
            "  -v, --verbose          engine log at info level (default warn)\n",
            MAX_CLIENTS);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"gateway", required_argument, NULL, 'g'},
        {"psk", required_argument, NULL, 'k'},
        {"clients", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},
        {"id", required_argument, NULL, 'i'},
        {"remote-id", required_argument, NULL, 'r'},
        {"subnet", required_argument, NULL, 's'},
        {"ike-proposals", required_argument, NULL, 1},
        {"esp-proposals", required_argument, NULL, 2},
        {"gw-pid", required_argument, NULL, 'p'},
        {"ping", required_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 't'},
        {"hold", required_argument, NULL, 'H'},
        {"label", required_argument, NULL, 'l'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *gw = NULL;
    G.n = 100;
    G.window = 64;
    G.id_fmt = "user%u@corp.example";
    G.remote_id = "vpn.corp.example";
    G.subnet = "192.0.2.0/24";
    G.timeout_s = 120;
    G.hold_s = 5;
    G.label = "gateway";
    int o;
    while ((o = getopt_long(argc, argv, "g:k:n:w:i:r:s:p:P:t:H:l:vh", lo, NULL)) != -1) {
        switch (o) {
        case 'g':
            gw = optarg;
            break;
        case 'k':
            G.psk = optarg;
            break;
        case 'n':
            G.n = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'w':
            G.window = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'i':
            G.id_fmt = optarg;
            break;
        case 'r':
            G.remote_id = optarg;
            break;
        case 's':
            G.subnet = optarg;
            break;
        case 1:
            G.ike_props = optarg;
            break;
        case 2:
            G.esp_props = optarg;
            break;
        case 'p':
            G.gw_pid = strtol(optarg, NULL, 10);
            break;
        case 'P':
            if (ns_addr_parse(&G.ping, optarg) != 0 || G.ping.family != AF_INET)
                die("--ping wants an IPv4 address");
            break;
        case 't':
            G.timeout_s = atof(optarg);
            break;
        case 'H':
            G.hold_s = atof(optarg);
            break;
        case 'l':
            G.label = optarg;
            break;
        case 'v':
            G.verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (!gw || !G.psk || optind != argc) {
        usage(stderr);
        exit(2);
    }
    if (G.n < 1 || G.n > MAX_CLIENTS)
        die("--clients must be 1..%d", MAX_CLIENTS);
    if (G.window < 1 || G.window > 4096)
        die("--window must be 1..4096");
    if (G.timeout_s <= 0 || G.timeout_s > 3600 || G.hold_s < 0 || G.hold_s > 600)
        die("--timeout must be 0..3600 s and --hold 0..600 s");
    /* The identity format must take exactly one unsigned conversion. */
    const char *pc = strchr(G.id_fmt, '%');
    if (!pc || strncmp(pc, "%u", 2) != 0 || strchr(pc + 2, '%'))
        die("--id must contain exactly one %%u and no other %%");

    /* One client configuration, as natsecd.conf text, checked by the real
     * loader; every client copies it and changes only its local_id. */
    char text[4096];
    int len = snprintf(text, sizeof(text),
                       "[natsecd]\nrole = client\nlocal_id = client.load.example\n"
                       "gateway = %s\nremote_id = %s\nlog_level = warn\n%s%s%s%s%s%s"
                       "[peer %s]\npsk = %s\nsubnets = %s\n",
                       gw, G.remote_id, G.ike_props ? "ike_proposals = " : "",
                       G.ike_props ? G.ike_props : "", G.ike_props ? "\n" : "",
                       G.esp_props ? "esp_proposals = " : "", G.esp_props ? G.esp_props : "",
                       G.esp_props ? "\n" : "", G.remote_id, G.psk, G.subnet);
    if (len < 0 || (size_t)len >= sizeof(text))
        die("options too long");
    char err[512];
    if (ns_conf_load_string(text, "natsec-load", &G.tmpl, err, sizeof(err)) != 0)
        die("%s", err);
    G.gw_ike.addr = G.tmpl.gateway;
    G.gw_ike.port = G.tmpl.ike_port;
    G.gw_natt.addr = G.tmpl.gateway;
    G.gw_natt.port = G.tmpl.natt_port;
    if (G.tmpl.gateway.family != AF_INET)
        die("--gateway must be an IPv4 address");
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    ns_log_set_level(G.verbose ? NS_LOG_INFO : NS_LOG_WARN);
    if (!raise_fd_limit((rlim_t)G.n * 2 + 64)) {
        if (!raise_fd_limit((rlim_t)G.n + 64))
            die("cannot raise the open file limit to %u", G.n + 64);
        G.shared_port = true;
    }
    learn_local_addr();
    G.c = calloc(G.n, sizeof(*G.c));
    G.inflight = calloc(G.n, sizeof(*G.inflight));
    G.sad = ns_sad_new();
    G.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!G.c || !G.inflight || !G.sad || G.ep < 0)
        die("out of memory");

    long rss0 = G.gw_pid ? proc_rss_kib(G.gw_pid) : -1;
    double cpu0 = G.gw_pid ? proc_cpu_ms(G.gw_pid) : -1;
    if (G.gw_pid && rss0 < 0)
        die("cannot read /proc/%ld/status", G.gw_pid);

    /* ---- setup ---- */
    double self0 = self_cpu_ms();
    uint64_t t0 = ns_now_ns();
    uint64_t setup_deadline = t0 + (uint64_t)(G.timeout_s * 1e9);
    uint64_t last_sweep = t0;
    unsigned next = 0;
    while (ns_now_ns() < setup_deadline) {
        uint64_t now = ns_now_ns();
        while (next < G.n && G.n_inflight < G.window)
            client_start(next++, now);
        if (next == G.n && G.n_inflight == 0)
            break;
        poll_once(2);
        now = ns_now_ns();
        uint64_t now_ms = now / 1000000;
        for (unsigned k = 0; k < G.n_inflight; k++)
            tick(&G.c[G.inflight[k]], now_ms);
        if (now - last_sweep > 500000000ull) {
            last_sweep = now;
            for (unsigned i = 0; i < next; i++)
                if (G.c[i].state == C_UP)
                    tick(&G.c[i], now_ms);
        }
    }
    uint64_t t_setup_end = ns_now_ns();
    double cpu1 = G.gw_pid ? proc_cpu_ms(G.gw_pid) : -1;
    double self1 = self_cpu_ms();
    /* Setups still in flight at the deadline have failed: stop them (their
     * engines report client_down while already marked). */
    unsigned timed_out = G.n_inflight, not_started = G.n - next;
    while (G.n_inflight) {
        struct client *c = &G.c[G.inflight[G.n_inflight - 1]];
        inflight_del(c);
        c->state = C_FAILED;
        ns_ike_engine_free(c->e);
        c->e = NULL;
    }

    /* ---- hold: keepalives and a little ESP ---- */
    uint64_t hold_end = t_setup_end + (uint64_t)(G.hold_s * 1e9);
    double spread = G.hold_s > 1.5 ? G.hold_s - 1.0 : G.hold_s * 0.5;
    unsigned ka_next = 0, echo_next = 0;
    while (ns_now_ns() < hold_end) {
        uint64_t now = ns_now_ns();
        /* Spread keepalives and echoes over the first part of the hold. */
        double frac = spread > 0 ? (double)(now - t_setup_end) / (spread * 1e9) : 1.0;
        unsigned due = frac >= 1.0 ? G.n : (unsigned)(frac * G.n);
        for (; ka_next < due; ka_next++)
            if (G.c[ka_next].state == C_UP)
                send_keepalive(&G.c[ka_next]);
        if (G.ping.family)
            for (; echo_next < due; echo_next++)
                if (G.c[echo_next].state == C_UP)
                    send_echo(&G.c[echo_next], echo_next, now);
        poll_once(5);
        now = ns_now_ns();
        if (now - last_sweep > 500000000ull) {
            last_sweep = now;
            for (unsigned i = 0; i < next; i++)
                tick(&G.c[i], now / 1000000);
        }
    }
    long rss1 = G.gw_pid ? proc_rss_kib(G.gw_pid) : -1;

    /* ---- report ---- */
    unsigned ok = G.up;
    uint64_t *lat = calloc(ok ? ok : 1, sizeof(*lat));
    uint32_t *vips = calloc(ok ? ok : 1, sizeof(*vips));
    uint32_t *spis = calloc(ok ? ok : 1, sizeof(*spis));
    if (!lat || !vips || !spis)
        die("out of memory");
    unsigned k = 0, n_vip = 0;
    for (unsigned i = 0; i < next; i++) {
        struct client *c = &G.c[i];
        if (c->state != C_UP || k >= ok)
            continue;
        lat[k] = c->t_up_ns - c->t_start_ns;
        spis[k] = c->spi_out;
        if (c->vip_set && c->vip.family == AF_INET)
            vips[n_vip++] = ns_addr_to_ipv4(&c->vip);
        k++;
    }
    qsort(lat, k, sizeof(*lat), cmp_u64);
    double p50 = k ? (double)lat[(k - 1) / 2] / 1e6 : 0;
    double p99 = k ? (double)lat[(size_t)((k - 1) * 0.99)] / 1e6 : 0;
    double span = G.t_last_up_ns > G.t_first_ns ? (double)(G.t_last_up_ns - G.t_first_ns) / 1e9 : 0;
    double rate = span > 0 ? k / span : 0;
    unsigned uniq_vip = distinct_u32(vips, n_vip);
    unsigned uniq_spi = distinct_u32(spis, k);
    double rss_per = (rss0 >= 0 && rss1 >= 0 && k) ? (double)(rss1 - rss0) / k : -1;
    double cpu_per = (cpu0 >= 0 && cpu1 >= 0 && k) ? (cpu1 - cpu0) / k : -1;
    double self_per = k ? (self1 - self0) / k : -1;
    unsigned failed = G.failed + timed_out + not_started;

    printf("natsec-load %s: %u clients, window %u, %s\n", G.label, G.n, G.window,
           G.shared_port ? "one UDP port per client for IKE and NAT-T (open file limit)"
                         : "two UDP ports per client");
    printf("  setups ok %u, failed %u (timeout %u, not started %u, engine:", k, failed, timed_out,
           not_started);
    for (int r = 0; r < 8; r++)
        if (G.fail_reason[r])
            printf(" %s=%u", r < 5 ? ns_ike_down_reason_str((enum ns_ike_down_reason)r) : "other",
                   G.fail_reason[r]);
    printf(")\n");
    printf("  %.1f setups/s over %.2f s; latency p50 %.1f ms, p99 %.1f ms\n", rate, span, p50, p99);
    printf("  unique virtual IPs %u of %u, unique gateway SPIs %u of %u\n", uniq_vip, k, uniq_spi,
           k);
    printf("  keepalives %lu, ESP echoes sent %lu, replies %lu, bad ESP %lu\n",
           (unsigned long)G.keepalives, (unsigned long)G.esp_sent, (unsigned long)G.esp_replies,
           (unsigned long)G.esp_bad);
    printf("  natsec-load itself: CPU %.3f ms per setup (every client's DH and key derivation)\n",
           self_per);
    if (G.gw_pid)
        printf("  gateway pid %ld: VmRSS %ld KiB before, %ld KiB with %u clients (%.2f KiB per "
               "client); CPU %.2f ms per setup\n",
               G.gw_pid, rss0, rss1, k, rss_per, cpu_per);
    printf("RESULT load label=%s clients=%u ok=%u failed=%u setups_per_s=%.1f p50_ms=%.1f "
           "p99_ms=%.1f unique_vips=%u unique_spis=%u keepalives=%lu esp_sent=%lu "
           "esp_replies=%lu rss_before_kib=%ld rss_after_kib=%ld rss_per_client_kib=%.2f "
           "gw_cpu_ms_per_setup=%.3f load_cpu_ms_per_setup=%.3f\n",
           G.label, G.n, k, failed, rate, p50, p99, uniq_vip, uniq_spi, (unsigned long)G.keepalives,
           (unsigned long)G.esp_sent, (unsigned long)G.esp_replies, rss0, rss1, rss_per, cpu_per,
           self_per);
    fflush(stdout);

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
    free(lat);
    free(vips);
    free(spis);
    free(G.c);
    free(G.inflight);
    close(G.ep);
    return k == G.n ? 0 : 1;
}
