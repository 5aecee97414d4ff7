/* Unit tests for the sockets of src/net: raw ESP (IP protocol 50, R14)
 * and the UDP details (marks, truncation, per-datagram errors in a batch,
 * IPv6). Each test runs in a forked child inside its own network namespace
 * with only loopback, so nothing leaves it and no host ESP is seen; the
 * IPv6 cases enable IPv6 there themselves (support/test_netns.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/rawesp.h"
#include "net/udp.h"
#include "support/test_netns.h"
#include "util/log.h"

#define MARK 0x4e53

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s (errno %s)\n", __FILE__, __LINE__, #cond,     \
                    strerror(errno));                                                              \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

static struct ns_addr addr(const char *s)
{
    struct ns_addr a;
    CHECK(ns_addr_parse(&a, s) == 0);
    return a;
}

static void wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK(poll(&p, 1, 2000) == 1);
}

/* One ESP packet over loopback: SPI, sequence number, payload. */
static void raw_esp_roundtrip(const char *local)
{
    struct ns_addr lo = addr(local);
    struct ns_raw_esp s;
    CHECK(ns_raw_esp_open(&s, &lo, MARK) == 0);
    uint32_t mark = 0;
    socklen_t ml = sizeof(mark);
    CHECK(getsockopt(s.fd, SOL_SOCKET, SO_MARK, &mark, &ml) == 0 && mark == MARK);
    uint8_t esp[40];
    for (size_t i = 0; i < sizeof(esp); i++)
        esp[i] = (uint8_t)(0xa0 + i);
    struct ns_dgram out[2] = {{.data = esp, .len = sizeof(esp)}, {.data = esp, .len = 12}};
    out[0].peer.addr = lo;
    out[1].peer.addr = lo;
    out[1].local.addr = lo; /* explicit source */
    CHECK(ns_raw_esp_send(&s, out, 2) == 2);
    CHECK(s.send_errors == 0);

    uint8_t b0[256], b1[256];
    struct ns_dgram in[4] = {{.data = b0, .cap = sizeof(b0)}, {.data = b1, .cap = sizeof(b1)}};
    int got = 0;
    while (got < 2) {
        wait_readable(s.fd);
        int n = ns_raw_esp_recv(&s, in + got, (unsigned)(2 - got));
        CHECK(n >= 0);
        got += n;
    }
    CHECK(in[0].len == sizeof(esp) && memcmp(b0, esp, sizeof(esp)) == 0 && !in[0].truncated);
    CHECK(in[1].len == 12 && memcmp(b1, esp, 12) == 0);
    CHECK(ns_addr_equal(&in[0].peer.addr, &lo) && in[0].peer.port == 0);
    CHECK(ns_addr_equal(&in[0].local.addr, &lo));
    CHECK(in[0].ifindex == (int)if_nametoindex("lo"));
    CHECK(s.bad_headers == 0);

    /* Too small a buffer: marked truncated, never overrun. */
    CHECK(ns_raw_esp_send(&s, out, 1) == 1);
    uint8_t small[8];
    struct ns_dgram t = {.data = small, .cap = sizeof(small)};
    wait_readable(s.fd);
    CHECK(ns_raw_esp_recv(&s, &t, 1) == 1);
    CHECK(t.truncated && t.len <= sizeof(small));
    CHECK(ns_raw_esp_recv(&s, &t, 1) == 0); /* nothing else waiting */
    ns_raw_esp_close(&s);
}

static void raw_esp_v4_child(void)
{
    raw_esp_roundtrip("127.0.0.1");

    /* IPv4 options: the ESP packet must still start at the SPI. */
    struct ns_addr any = addr("0.0.0.0"), lo = addr("127.0.0.1");
    struct ns_raw_esp s;
    CHECK(ns_raw_esp_open(&s, &any, 0) == 0);
    const uint8_t nops[4] = {1, 1, 1, 0};
    if (setsockopt(s.fd, IPPROTO_IP, IP_OPTIONS, nops, sizeof(nops)) == 0) {
        uint8_t esp[16] = {0, 0, 0x10, 0x01, 0, 0, 0, 1, 'p', 'a', 'y', 'l', 'o', 'a', 'd', '!'};
        struct ns_dgram out = {.data = esp, .len = sizeof(esp)};
        out.peer.addr = lo;
        CHECK(ns_raw_esp_send(&s, &out, 1) == 1);
        uint8_t b[64];
        struct ns_dgram in = {.data = b, .cap = sizeof(b)};
        wait_readable(s.fd);
        CHECK(ns_raw_esp_recv(&s, &in, 1) == 1);
        CHECK(in.len == sizeof(esp) && memcmp(b, esp, sizeof(esp)) == 0);
    }
    ns_raw_esp_close(&s);
}

static void raw_esp_ipv4(void **state)
{
    (void)state;
    test_in_netns(raw_esp_v4_child, 0);
}

static void raw_esp_v6_child(void)
{
    raw_esp_roundtrip("::1");
}

static void raw_esp_ipv6(void **state)
{
    (void)state;
    test_in_netns(raw_esp_v6_child, TEST_NETNS_IPV6);
}

static void udp_details_child(void)
{
    struct ns_addr lo = addr("127.0.0.1"), any = addr("0.0.0.0");
    struct ns_udp a, b, dup;
    CHECK(ns_udp_open(&a, &lo, 0, MARK) == 0);
    CHECK(ns_udp_open(&b, &any, 0, 0) == 0);
    uint32_t mark = 0;
    socklen_t ml = sizeof(mark);
    CHECK(getsockopt(a.fd, SOL_SOCKET, SO_MARK, &mark, &ml) == 0 && mark == MARK);
    int pmtu = 0;
    socklen_t pl = sizeof(pmtu);
    CHECK(getsockopt(a.fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, &pl) == 0 && pmtu == IP_PMTUDISC_DO);
    /* A port in use is a clear error. */
    CHECK(ns_udp_open(&dup, &lo, a.local.port, 0) == -1 && dup.fd == -1);

    /* A datagram the kernel refuses in the middle of a batch is dropped and
     * counted; the rest go. (Only loopback exists: 192.0.2.1 is
     * unreachable.) */
    struct ns_endpoint to_b = {.addr = lo, .port = b.local.port};
    struct ns_endpoint nowhere = {.addr = addr("192.0.2.1"), .port = 9};
    uint8_t big[3000];
    memset(big, 'z', sizeof(big));
    struct ns_dgram out[3] = {
        {.data = (uint8_t *)"one", .len = 3, .peer = to_b},
        {.data = (uint8_t *)"lost", .len = 4, .peer = nowhere},
        {.data = big, .len = sizeof(big), .peer = to_b},
    };
    CHECK(ns_udp_send(&a, out, 3) == 3);
    CHECK(a.send_errors == 1);

    /* Received on the wildcard socket: the local address still comes
     * through (from IP_PKTINFO), and the big one is truncated. */
    uint8_t b0[64], b1[64];
    struct ns_dgram in[2] = {{.data = b0, .cap = sizeof(b0)}, {.data = b1, .cap = sizeof(b1)}};
    int got = 0;
    while (got < 2) {
        wait_readable(b.fd);
        int n = ns_udp_recv(&b, in + got, (unsigned)(2 - got));
        CHECK(n >= 0);
        got += n;
    }
    CHECK(in[0].len == 3 && memcmp(b0, "one", 3) == 0 && !in[0].truncated);
    CHECK(ns_addr_equal(&in[0].local.addr, &lo) && in[0].local.port == b.local.port);
    CHECK(ns_addr_equal(&in[0].peer.addr, &lo) && in[0].peer.port == a.local.port);
    CHECK(in[0].ifindex == (int)if_nametoindex("lo"));
    CHECK(in[1].truncated && in[1].len == sizeof(b1));

    /* A reply from the address the request came to. */
    CHECK(ns_udp_sendto(&b, &in[0].local.addr, &in[0].peer, "back", 4) == 0);
    wait_readable(a.fd);
    CHECK(ns_udp_recv(&a, in, 1) == 1 && in[0].len == 4 && memcmp(b0, "back", 4) == 0);
    CHECK(in[0].peer.port == b.local.port);
    CHECK(ns_udp_sendto(&a, NULL, &nowhere, "x", 1) == -1 && errno == ENETUNREACH);
    CHECK(ns_udp_recv(&a, in, 1) == 0);
    ns_udp_close(&a);
    ns_udp_close(&b);
    ns_udp_close(&b); /* twice is harmless */
}

static void udp_details(void **state)
{
    (void)state;
    test_in_netns(udp_details_child, 0);
}

static int pmtudisc_of(int fd)
{
    int v = -1;
    socklen_t l = sizeof(v);
    CHECK(getsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, &l) == 0);
    return v;
}

/* X7, X11: on a 1500-byte link a 3000-byte datagram is refused while the
 * socket sets DF (ESP), leaves as IP fragments and arrives whole when sent
 * with ns_udp_sendto_fragmentable (an IKE message), and DF is back for the
 * next send; a socket set !df (the IKE port) fragments every datagram. */
static void udp_df_child(void)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    ifr.ifr_mtu = 1500;
    int ctl = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(ctl >= 0 && ioctl(ctl, SIOCSIFMTU, &ifr) == 0);
    close(ctl);
    struct ns_addr lo = addr("127.0.0.1");
    struct ns_udp a, b;
    CHECK(ns_udp_open(&a, &lo, 0, 0) == 0 && ns_udp_open(&b, &lo, 0, 0) == 0);
    struct ns_endpoint to_b = {.addr = lo, .port = b.local.port};
    static uint8_t big[3000], got[4000];
    memset(big, 'k', sizeof(big));
    CHECK(a.df && pmtudisc_of(a.fd) == IP_PMTUDISC_DO);
    CHECK(ns_udp_sendto(&a, NULL, &to_b, big, sizeof(big)) == -1 && errno == EMSGSIZE);
    CHECK(ns_udp_sendto_fragmentable(&a, NULL, &to_b, big, sizeof(big)) == 0);
    struct ns_dgram in = {.data = got, .cap = sizeof(got)};
    wait_readable(b.fd);
    CHECK(ns_udp_recv(&b, &in, 1) == 1 && in.len == sizeof(big) && !in.truncated);
    CHECK(memcmp(got, big, sizeof(big)) == 0);
    CHECK(a.df && pmtudisc_of(a.fd) == IP_PMTUDISC_DO);
    CHECK(ns_udp_sendto(&a, NULL, &to_b, big, sizeof(big)) == -1 && errno == EMSGSIZE);
    CHECK(ns_udp_set_df(&a, false) == 0 && !a.df && pmtudisc_of(a.fd) == IP_PMTUDISC_DONT);
    CHECK(ns_udp_sendto(&a, NULL, &to_b, big, sizeof(big)) == 0);
    CHECK(ns_udp_sendto_fragmentable(&a, NULL, &to_b, big, sizeof(big)) == 0);
    CHECK(!a.df && pmtudisc_of(a.fd) == IP_PMTUDISC_DONT);
    for (int k = 0; k < 2; k++) {
        wait_readable(b.fd);
        CHECK(ns_udp_recv(&b, &in, 1) == 1 && in.len == sizeof(big));
    }
    ns_udp_close(&a);
    ns_udp_close(&b);
}

static void udp_df_lifted_for_one_send(void **state)
{
    (void)state;
    test_in_netns(udp_df_child, 0);
}

static void udp_v6_child(void)
{
    struct ns_addr lo6 = addr("::1"), any = addr("0.0.0.0");
    struct ns_udp a, b, v4;
    CHECK(ns_udp_open(&a, &lo6, 0, MARK) == 0);
    CHECK(ns_udp_open(&b, &lo6, 0, 0) == 0);
    /* IPv6-only: an IPv4 socket can share the port. */
    CHECK(ns_udp_open(&v4, &any, b.local.port, 0) == 0);
    struct ns_dgram out = {.data = (uint8_t *)"six", .len = 3, .peer = b.local};
    out.local.addr = lo6;
    CHECK(ns_udp_send(&a, &out, 1) == 1);
    uint8_t buf[16];
    struct ns_dgram in = {.data = buf, .cap = sizeof(buf)};
    wait_readable(b.fd);
    CHECK(ns_udp_recv(&b, &in, 1) == 1);
    CHECK(in.len == 3 && memcmp(buf, "six", 3) == 0);
    CHECK(ns_addr_equal(&in.local.addr, &lo6) && ns_addr_equal(&in.peer.addr, &lo6));
    CHECK(in.peer.port == a.local.port);
    ns_udp_close(&a);
    ns_udp_close(&b);
    ns_udp_close(&v4);
}

static void udp_ipv6(void **state)
{
    (void)state;
    test_in_netns(udp_v6_child, TEST_NETNS_IPV6);
}

/* X8: one socket serves IPv4 and IPv6 peers (a gateway's default
 * listen); both arrive in their own family, never IPv4-mapped, and an
 * answer to each leaves from the address it was sent to. */
static void udp_dual_child(void)
{
    struct ns_addr lo4 = addr("127.0.0.1"), lo6 = addr("::1");
    struct ns_udp srv, c4, c6;
    CHECK(ns_udp_open_dual(&srv, 0, MARK) == 0);
    CHECK(srv.dual && srv.local.addr.family == AF_INET6);
    CHECK(ns_udp_open(&c4, &lo4, 0, 0) == 0);
    CHECK(ns_udp_open(&c6, &lo6, 0, 0) == 0);
    struct ns_endpoint to4 = {.addr = lo4, .port = srv.local.port};
    struct ns_endpoint to6 = {.addr = lo6, .port = srv.local.port};
    CHECK(ns_udp_sendto(&c4, NULL, &to4, "four", 4) == 0);
    CHECK(ns_udp_sendto(&c6, NULL, &to6, "six", 3) == 0);
    uint8_t b[2][16];
    struct ns_dgram in[2] = {{.data = b[0], .cap = 16}, {.data = b[1], .cap = 16}};
    int got = 0;
    while (got < 2) {
        wait_readable(srv.fd);
        int n = ns_udp_recv(&srv, in + got, (unsigned)(2 - got));
        CHECK(n >= 0);
        got += n;
    }
    for (int i = 0; i < 2; i++) {
        bool v4 = in[i].len == 4;
        CHECK(memcmp(b[i], v4 ? "four" : "six", in[i].len) == 0);
        CHECK(ns_addr_equal(&in[i].peer.addr, v4 ? &lo4 : &lo6));
        CHECK(ns_addr_equal(&in[i].local.addr, v4 ? &lo4 : &lo6));
        CHECK(in[i].peer.port == (v4 ? c4.local.port : c6.local.port));
    }
    /* Answers, one batch, each from the address its request came to. */
    struct ns_dgram out[2];
    for (int i = 0; i < 2; i++) {
        out[i] = in[i];
        out[i].data = (uint8_t *)"ok";
        out[i].len = 2;
    }
    CHECK(ns_udp_send(&srv, out, 2) == 2 && srv.send_errors == 0);
    struct ns_udp *cl[2] = {&c4, &c6};
    for (int i = 0; i < 2; i++) {
        uint8_t r[8];
        struct ns_dgram a = {.data = r, .cap = sizeof(r)};
        wait_readable(cl[i]->fd);
        CHECK(ns_udp_recv(cl[i], &a, 1) == 1 && a.len == 2 && memcmp(r, "ok", 2) == 0);
        CHECK(a.peer.port == srv.local.port);
        CHECK(ns_addr_equal(&a.peer.addr, i == 0 ? &lo4 : &lo6));
    }
    /* DF both ways, lifted both ways. */
    CHECK(ns_udp_set_df(&srv, false) == 0 && pmtudisc_of(srv.fd) == IP_PMTUDISC_DONT);
    ns_udp_close(&srv);
    ns_udp_close(&c4);
    ns_udp_close(&c6);
}

static void udp_dual_stack(void **state)
{
    (void)state;
    test_in_netns(udp_dual_child, TEST_NETNS_IPV6);
}

/* X8: plain ESP (R14) over either IP version from one pair of raw sockets. */
static void raw_dual_child(void)
{
    struct ns_addr lo4 = addr("127.0.0.1"), lo6 = addr("::1");
    struct ns_raw_esp s;
    CHECK(ns_raw_esp_open_dual(&s, MARK) == 0);
    CHECK(s.fd >= 0 && s.fd6 >= 0);
    uint8_t esp[4][12];
    struct ns_dgram out[4];
    memset(out, 0, sizeof(out));
    for (int i = 0; i < 4; i++) {
        memset(esp[i], 0x30 + i, sizeof(esp[i]));
        out[i].data = esp[i];
        out[i].len = sizeof(esp[i]);
        out[i].peer.addr = i % 2 ? lo6 : lo4; /* alternating: four runs */
    }
    CHECK(ns_raw_esp_send(&s, out, 4) == 4 && s.send_errors == 0);
    uint8_t b[4][64];
    struct ns_dgram in[4];
    memset(in, 0, sizeof(in));
    for (int i = 0; i < 4; i++) {
        in[i].data = b[i];
        in[i].cap = sizeof(b[i]);
    }
    int got = 0;
    for (int tries = 0; got < 4 && tries < 50; tries++) {
        struct pollfd p[2] = {{.fd = s.fd, .events = POLLIN}, {.fd = s.fd6, .events = POLLIN}};
        CHECK(poll(p, 2, 2000) > 0);
        int n = ns_raw_esp_recv(&s, in + got, (unsigned)(4 - got));
        CHECK(n >= 0);
        got += n;
    }
    CHECK(got == 4);
    for (int i = 0; i < 4; i++) {
        CHECK(in[i].len == 12);
        int k = b[i][0] - 0x30;
        CHECK(k >= 0 && k < 4 && memcmp(b[i], esp[k], 12) == 0);
        CHECK(ns_addr_equal(&in[i].peer.addr, k % 2 ? &lo6 : &lo4));
        CHECK(ns_addr_equal(&in[i].local.addr, k % 2 ? &lo6 : &lo4));
    }
    ns_raw_esp_close(&s);
    CHECK(s.fd < 0 && s.fd6 < 0);
}

static void raw_esp_dual_stack(void **state)
{
    (void)state;
    test_in_netns(raw_dual_child, TEST_NETNS_IPV6);
}

int main(void)
{
    ns_log_set_level(NS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_esp_ipv4), cmocka_unit_test(raw_esp_ipv6),
        cmocka_unit_test(udp_details),  cmocka_unit_test(udp_df_lifted_for_one_send),
        cmocka_unit_test(udp_ipv6),     cmocka_unit_test(udp_dual_stack),
        cmocka_unit_test(raw_esp_dual_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
