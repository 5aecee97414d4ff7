/* natsecctl: asks a running natsecd over its UNIX control socket for its
 * status (a table, the daemon's JSON, or Prometheus metrics), to bring a
 * client's connection up or down, to re-key, to disconnect a peer, or to
 * change the log level.
 *
 * The protocol is one request line (daemon/control.c lists them) and one
 * JSON answer, after which the daemon closes the connection. The table and
 * the metrics are built here from the JSON, so the daemon has one output
 * format and the tool can never disagree with --json. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/metrics.h"
#include "util/version.h"

#define DEFAULT_SOCKET "/run/natsec/natsecd.sock"
/* 100,000 IKE SAs are some 150 MB of status; a runaway daemon is stopped. */
#define MAX_ANSWER (1u << 30)

static void usage(FILE *out)
{
    fprintf(out, "usage: natsecctl [-s SOCKET] COMMAND\n"
                 "       natsecctl --version | --help\n"
                 "  -s SOCKET  control socket of natsecd (default " DEFAULT_SOCKET ")\n"
                 "commands:\n"
                 "  status [--json]     IKE SAs, CHILD_SAs and counters\n"
                 "  status --summary [--json]  counters only (at once with 100,000 SAs)\n"
                 "  up                  client: connect to the gateway\n"
                 "  down                client: disconnect (and stop reconnecting)\n"
                 "  rekey [ike|child]   re-key every CHILD_SA (the default) or IKE SA now\n"
                 "  reload              read the configuration file again (peers, log level)\n"
                 "  version             natsecctl's version and the running natsecd's\n"
                 "  metrics [--per-peer]  the counters in the Prometheus text format\n"
                 "  log-level [LEVEL]   show or set the log level (error, warn, info, debug)\n"
                 "  disconnect WHAT     delete the IKE SAs of a peer: its identity, its\n"
                 "                      address[:port] as status shows it, or an IKE SA id\n");
}

/* Sends one request and returns the whole answer (NUL-terminated, heap), or
 * NULL with a message printed. */
static char *ask(const char *path, const char *request)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        fprintf(stderr, "natsecctl: socket path too long: %s\n", path);
        return NULL;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "natsecctl: socket: %s\n", strerror(errno));
        return NULL;
    }
    /* A daemon that hangs must not hang the tool (and the tests using it). */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        fprintf(stderr, "natsecctl: natsecd is not reachable at %s: %s\n", path, strerror(errno));
        close(fd);
        return NULL;
    }
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        fprintf(stderr, "natsecctl: request too long\n");
        close(fd);
        return NULL;
    }
    if (write(fd, line, (size_t)n) != n) {
        fprintf(stderr, "natsecctl: cannot send the request to %s: %s\n", path, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return NULL;
    }
    for (;;) {
        if (len + 1 == cap) {
            if (cap >= MAX_ANSWER) {
                fprintf(stderr, "natsecctl: answer from natsecd too large\n");
                goto fail;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                goto fail;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "natsecctl: reading the answer of natsecd: %s\n", strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    if (len == 0) {
        fprintf(stderr, "natsecctl: natsecd closed the connection without an answer\n");
        free(buf);
        return NULL;
    }
    return buf;
fail:
    close(fd);
    free(buf);
    return NULL;
}

/* ---- table output ---- */

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return "-";
    return json_object_get_string(v);
}

/* Whether key is there and not null. */
static bool has(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null);
}

static int64_t num(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return 0;
    return json_object_get_int64(v);
}

static bool flag(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static json_object *arr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    return v;
}

static const char *nat_text(json_object *sa)
{
    bool l = flag(sa, "nat_local"), r = flag(sa, "nat_remote");
    if (l && r)
        return "both sides behind a NAT";
    if (l)
        return "local side behind a NAT";
    if (r)
        return "remote side behind a NAT";
    return "no NAT";
}

static void print_ts_list(const char *label, json_object *list)
{
    printf("%s", label);
    size_t n = list ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : " ", json_object_get_string(json_object_array_get_idx(list, i)));
    if (n == 0)
        printf(" -");
    printf("\n");
}

/* "re-key in 3412 s, hard lifetime in 3600 s, 2 re-keys" (X10). */
static void print_rekey(const char *indent, json_object *o)
{
    json_object *v;
    bool due = json_object_object_get_ex(o, "rekey_in_s", &v) && v;
    const char *state = str(o, "state");
    printf("%s", indent);
    if (strcmp(state, "-") != 0 && strcmp(state, "INSTALLED") != 0 &&
        strcmp(state, "ESTABLISHED") != 0)
        printf("%s, ", state);
    if (due)
        printf("re-key in %" PRId64 " s, ", num(o, "rekey_in_s"));
    if (json_object_object_get_ex(o, "expire_in_s", &v) && v)
        printf("hard lifetime in %" PRId64 " s, ", num(o, "expire_in_s"));
    int64_t n = num(o, "rekeys");
    printf("%" PRId64 " re-key%s\n", n, n == 1 ? "" : "s");
}

/* "MOBIKE on, 2 address updates, the last 12 s ago" (X4). */
static void print_mobike(json_object *sa)
{
    if (!flag(sa, "mobike")) {
        printf("  MOBIKE      off\n");
        return;
    }
    int64_t n = num(sa, "address_updates");
    const char *st = str(sa, "mobike_state");
    printf("  MOBIKE      on%s%s, %" PRId64 " address update%s", strcmp(st, "IDLE") ? ", " : "",
           strcmp(st, "IDLE") ? st : "", n, n == 1 ? "" : "s");
    json_object *v;
    if (json_object_object_get_ex(sa, "last_update_s_ago", &v) && v)
        printf(", the last %" PRId64 " s ago", json_object_get_int64(v));
    printf("\n");
}

/* X1: "keepalive   auto, every 10 s (learned: 2 mapping changes, lived 10 s,
 * lost after 20 s, 5 checks)". */
static void print_keepalive(json_object *sa)
{
    json_object *k;
    if (!json_object_object_get_ex(sa, "keepalive", &k) ||
        !json_object_is_type(k, json_type_object))
        return;
    printf("  keepalive   %s, every %" PRId64 " s", str(k, "mode"), num(k, "interval_s"));
    if (strcmp(str(k, "mode"), "auto") != 0) {
        printf("\n");
        return;
    }
    if (!flag(k, "learning")) {
        printf(" (not learned: the peer answers no NAT detection)\n");
        return;
    }
    int64_t n = num(k, "mapping_changes");
    printf(" (learned: %" PRId64 " mapping change%s, lived %" PRId64 " s", n, n == 1 ? "" : "s",
           num(k, "lived_s"));
    json_object *v;
    if (json_object_object_get_ex(k, "lost_after_s", &v) && v)
        printf(", lost after %" PRId64 " s", num(k, "lost_after_s"));
    int64_t c = num(k, "checks");
    printf(", %" PRId64 " check%s)\n", c, c == 1 ? "" : "s");
}

static void print_child(json_object *c)
{
    const char *integ = str(c, "integrity");
    bool aead = strcmp(integ, "-") == 0;
    printf("    CHILD_SA  SPIs in %s out %s  %s%s%s  %s mode, %s%s\n", str(c, "spi_in"),
           str(c, "spi_out"), str(c, "encryption"), aead ? "" : " ", aead ? "" : integ,
           str(c, "mode"), strcmp(str(c, "encapsulation"), "udp") == 0 ? "ESP in UDP" : "plain ESP",
           flag(c, "esn") ? ", ESN" : "");
    print_ts_list("      local ts ", arr(c, "local_ts"));
    print_ts_list("      remote ts", arr(c, "remote_ts"));
    print_rekey("      ", c);
    json_object *t;
    if (json_object_object_get_ex(c, "transport", &t) && json_object_is_type(t, json_type_object)) {
        /* R2: where received checksums are fixed from (RFC 3948 3.1.2). */
        if (flag(t, "checksum_fixup"))
            printf("      checksum fixup from original src %s dst %s, %" PRId64 " packets fixed\n",
                   str(t, "orig_src"), str(t, "orig_dst"), num(t, "csum_fixups"));
        else
            printf("      checksum fixup none (no NAT changed the addresses), %" PRId64
                   " packets fixed\n",
                   num(t, "csum_fixups"));
    }
    printf("      in  %" PRId64 " bytes %" PRId64 " packets   out %" PRId64 " bytes %" PRId64
           " packets\n",
           num(c, "bytes_in"), num(c, "packets_in"), num(c, "bytes_out"), num(c, "packets_out"));
}

static void print_counters(const char *title, json_object *o)
{
    if (!o || !json_object_is_type(o, json_type_object))
        return;
    printf("%s:", title);
    int col = (int)strlen(title) + 1;
    json_object_object_foreach(o, key, val)
    {
        if (!json_object_is_type(val, json_type_int))
            continue; /* nested: printed on its own */
        char item[96];
        int n = snprintf(item, sizeof(item), " %s %" PRId64, key, json_object_get_int64(val));
        if (col + n > 78) {
            printf("\n ");
            col = 1;
        }
        printf("%s", item);
        col += n;
    }
    printf("\n");
}

/* IKE and ESP over TCP: the counters, closings by reason, and each
 * connection. */
static void print_tcp(json_object *tcp)
{
    if (!tcp || !json_object_is_type(tcp, json_type_object))
        return;
    print_counters("TCP", tcp);
    print_counters("TCP closed", json_object_object_get(tcp, "closed"));
    json_object *conns = arr(tcp, "connections");
    size_t n = conns ? json_object_array_length(conns) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conns, i);
        printf("  TCP %s -> %s  %s, %" PRId64 " s, %" PRId64 " bytes in, %" PRId64 " out, %" PRId64
               " queued, %" PRId64 " frames dropped\n",
               str(c, "peer"), str(c, "local"), flag(c, "proven") ? "proven" : "not proven yet",
               num(c, "age_s"), num(c, "bytes_in"), num(c, "bytes_out"), num(c, "queued"),
               num(c, "frames_dropped"));
    }
}

static void print_table(json_object *root)
{
    printf("natsecd %s, identity %s, up %" PRId64 " s, pid %" PRId64 ", device %s\n",
           str(root, "role"), str(root, "local_id"), num(root, "uptime_s"), num(root, "pid"),
           str(root, "tun"));
    if (strcmp(str(root, "role"), "client") == 0)
        printf("tunnel %s, virtual IP %s%s%s\n", flag(root, "tunnel_up") ? "up" : "down",
               str(root, "virtual_ip"), has(root, "virtual_ip6") ? ", " : "",
               has(root, "virtual_ip6") ? str(root, "virtual_ip6") : "");
    json_object *sas = arr(root, "ike_sas");
    size_t n = sas ? json_object_array_length(sas) : 0;
    if (flag(root, "summary")) {
        json_object *counters = NULL, *ike = NULL;
        if (json_object_object_get_ex(root, "counters", &counters))
            json_object_object_get_ex(counters, "ike", &ike);
        int64_t all = ike ? num(ike, "ike_sas") : 0, half = ike ? num(ike, "half_open") : 0;
        printf("%" PRId64 " IKE SA%s, %" PRId64 " of them half-open\n", all, all == 1 ? "" : "s",
               half);
    } else {
        printf("%zu IKE SA%s\n", n, n == 1 ? "" : "s");
    }
    for (size_t i = 0; i < n; i++) {
        json_object *sa = json_object_array_get_idx(sas, i);
        printf("\nIKE SA %s  %s  %s\n", str(sa, "id"), str(sa, "state"),
               flag(sa, "initiator") ? "(initiator)" : "(responder)");
        printf("  identities  local %s  remote %s\n", str(sa, "local_id"), str(sa, "remote_id"));
        printf("  addresses   local %s  remote %s  (%s)\n", str(sa, "local"), str(sa, "remote"),
               nat_text(sa));
        printf("  transport   %s\n",
               strcmp(str(sa, "transport"), "tcp") == 0 ? "TCP (RFC 8229)" : "UDP");
        printf("  IKE SPIs    i %s  r %s  %s\n", str(sa, "spi_i"), str(sa, "spi_r"),
               str(sa, "proposal"));
        printf("  virtual IP  %s%s%s\n", str(sa, "virtual_ip"), has(sa, "virtual_ip6") ? ", " : "",
               has(sa, "virtual_ip6") ? str(sa, "virtual_ip6") : "");
        print_mobike(sa);
        print_rekey("  lifetime    ", sa);
        print_keepalive(sa);
        json_object *children = arr(sa, "children");
        size_t nc = children ? json_object_array_length(children) : 0;
        for (size_t j = 0; j < nc; j++)
            print_child(json_object_array_get_idx(children, j));
    }
    json_object *counters;
    if (json_object_object_get_ex(root, "counters", &counters)) {
        printf("\n");
        print_counters("IKE", json_object_object_get(counters, "ike"));
        print_counters("ESP drops", json_object_object_get(counters, "esp_drops"));
        print_counters("data plane", json_object_object_get(counters, "dataplane"));
    }
    print_tcp(json_object_object_get(root, "tcp"));
}

int main(int argc, char **argv)
{
    const char *path = DEFAULT_SOCKET;
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            path = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("natsecctl %s\n", ns_version_long());
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i++];
    bool json = false, per_peer = false;
    const char *request;
    char request_buf[1024];
    if (strcmp(cmd, "status") == 0) {
        request = "status-json";
        for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
            if (strcmp(argv[i], "--json") == 0)
                json = true;
            else if (strcmp(argv[i], "--summary") == 0)
                request = "status-summary";
            else
                break;
        }
    } else if (strcmp(cmd, "up") == 0 || strcmp(cmd, "down") == 0 || strcmp(cmd, "reload") == 0) {
        request = cmd;
    } else if (strcmp(cmd, "metrics") == 0) {
        if (i < argc && strcmp(argv[i], "--per-peer") == 0) {
            per_peer = true;
            i++;
        }
        request = "status-json";
    } else if (strcmp(cmd, "log-level") == 0) {
        request = cmd;
        if (i < argc) {
            snprintf(request_buf, sizeof(request_buf), "log-level %s", argv[i++]);
            request = request_buf;
        }
    } else if (strcmp(cmd, "disconnect") == 0) {
        if (i >= argc || argv[i][0] == '\0' || strchr(argv[i], '\n') ||
            strlen(argv[i]) > sizeof(request_buf) - 16) {
            usage(stderr);
            return 2;
        }
        snprintf(request_buf, sizeof(request_buf), "disconnect %s", argv[i++]);
        request = request_buf;
    } else if (strcmp(cmd, "version") == 0) {
        /* Ours first, so it prints even when no natsecd runs. */
        printf("natsecctl %s\n", ns_version_long());
        request = "version";
    } else if (strcmp(cmd, "rekey") == 0) {
        request = "rekey-child";
        if (i < argc && (strcmp(argv[i], "ike") == 0 || strcmp(argv[i], "child") == 0))
            request = strcmp(argv[i++], "ike") == 0 ? "rekey-ike" : "rekey-child";
    } else {
        usage(stderr);
        return 2;
    }
    if (i != argc) {
        usage(stderr);
        return 2;
    }

    char *answer = ask(path, request);
    if (!answer)
        return 1;
    json_object *root = json_tokener_parse(answer);
    if (!root || !json_object_is_type(root, json_type_object)) {
        fprintf(stderr, "natsecctl: natsecd sent an answer that is not JSON\n");
        json_object_put(root);
        free(answer);
        return 1;
    }
    int rc = 0;
    json_object *err;
    if (json_object_object_get_ex(root, "error", &err)) {
        fprintf(stderr, "natsecctl: %s\n", json_object_get_string(err));
        rc = 1;
    } else if (json) {
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    } else if (strcmp(cmd, "status") == 0) {
        print_table(root);
    } else if (strcmp(cmd, "metrics") == 0) {
        if (ctl_metrics_print(stdout, root, per_peer) != 0) {
            fprintf(stderr, "natsecctl: cannot write the metrics: %s\n", strerror(errno));
            rc = 1;
        }
    } else if (strcmp(cmd, "version") == 0) {
        printf("natsecd %s (pid %" PRId64 ")\n", str(root, "version"), num(root, "pid"));
    } else {
        printf("%s\n", str(root, "result"));
    }
    json_object_put(root);
    free(answer);
    return rc;
}
