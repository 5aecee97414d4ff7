/* Unit tests for the TUN device and its host configuration (src/net/tun,
 * netlink, ifconf): device, MTU, address, routes in a table, the "not
 * fwmark" policy rule, packets both ways, forwarding, and cleanup.
 *
 * Every test runs in a forked child inside a network namespace of its own
 * (support/test_netns.h), so nothing touches the host's network; the child
 * reports failures by exit status. The IPv6 case enables IPv6 there itself
 * and is skipped, never passed, on a kernel without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/ifconf.h"
#include "net/netlink.h"
#include "net/tun.h"
#include "support/test_netns.h"
#include "util/log.h"

#define MARK 0x4e53
#define TABLE 220

/* In the child: fail with the line, never return into cmocka. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s (errno %s)\n", __FILE__, __LINE__, #cond,     \
                    strerror(errno));                                                              \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

/* The output of a command run in the child's namespace. */
static const char *run(const char *cmd)
{
    static char out[8192];
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

static struct ns_addr addr(const char *s)
{
    struct ns_addr a;
    CHECK(ns_addr_parse(&a, s) == 0);
    return a;
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void tun_setup_and_cleanup_child(void)
{
    struct ns_tun tun;
    CHECK(ns_tun_open(&tun, "nstest0", false) == 0);
    CHECK(strcmp(tun.name, "nstest0") == 0);
    CHECK(tun.ifindex > 0);
    struct ns_ifconf ic;
    CHECK(ns_ifconf_init(&ic, tun.name, MARK, TABLE, 0) == 0);
    CHECK(ns_ifconf_up(&ic, 1300) == 0);
    struct ns_addr vip = addr("10.99.0.7");
    CHECK(ns_ifconf_add_addr(&ic, &vip, 32) == 0);
    struct ns_addr net = addr("192.0.2.0");
    CHECK(ns_ifconf_add_route(&ic, &net, 24, &vip) == 0);
    struct ns_addr net2 = addr("198.51.100.0");
    CHECK(ns_ifconf_add_route(&ic, &net2, 28, NULL) == 0);
    CHECK(ic.rule4 && !ic.rule6);

    const char *o = run("ip link show nstest0");
    CHECK(strstr(o, "mtu 1300") && strstr(o, ",UP"));
    o = run("ip -4 addr show dev nstest0");
    CHECK(strstr(o, "inet 10.99.0.7/32"));
    o = run("ip -4 route show table 220");
    CHECK(strstr(o, "192.0.2.0/24 dev nstest0") && strstr(o, "src 10.99.0.7"));
    CHECK(strstr(o, "198.51.100.0/28 dev nstest0"));
    o = run("ip -4 rule show");
    CHECK(strstr(o, "220:\tnot from all fwmark 0x4e53 lookup 220"));
    /* The point of the rule: unmarked traffic goes into the tunnel, natsecd's
     * own marked traffic does not (here it has nowhere else to go). */
    o = run("ip route get 192.0.2.5 2>&1");
    CHECK(strstr(o, "dev nstest0"));
    o = run("ip route get 192.0.2.5 mark 0x4e53 2>&1");
    CHECK(!strstr(o, "dev nstest0"));

    /* Deleting one route; adding an existing one is not an error. */
    CHECK(ns_ifconf_del_route(&ic, &net2, 28) == 0);
    CHECK(!strstr(run("ip -4 route show table 220"), "198.51.100.0/28"));
    CHECK(ns_ifconf_add_route(&ic, &net, 24, &vip) == 0);

    ns_ifconf_cleanup(&ic);
    ns_ifconf_cleanup(&ic); /* twice is harmless */
    CHECK(!strstr(run("ip -4 rule show"), "fwmark 0x4e53"));
    CHECK(strlen(run("ip -4 route show table 220")) == 0);
    CHECK(!strstr(run("ip -4 addr show dev nstest0"), "10.99.0.7"));
    ns_tun_close(&tun);
    CHECK(strstr(run("ip link show nstest0 2>&1"), "does not exist"));
}

static void tun_setup_and_cleanup(void **state)
{
    (void)state;
    test_in_netns(tun_setup_and_cleanup_child, 0);
}

static void tun_packets_child(void)
{
    struct ns_tun tun;
    CHECK(ns_tun_open(&tun, "nstest1", false) == 0);
    struct ns_ifconf ic;
    CHECK(ns_ifconf_init(&ic, tun.name, MARK, TABLE, 0) == 0);
    CHECK(ns_ifconf_up(&ic, 1400) == 0);
    /* Gateway style: a pool address with the pool's length. */
    struct ns_addr gw = addr("10.99.0.1");
    CHECK(ns_ifconf_add_addr(&ic, &gw, 24) == 0);
    struct ns_addr net = addr("192.0.2.0");
    CHECK(ns_ifconf_add_route(&ic, &net, 24, NULL) == 0);

    /* Out: an application's datagram to 192.0.2.5 is read from the TUN. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "192.0.2.5", &to.sin_addr);
    CHECK(sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5);
    uint8_t buf[2048];
    struct ns_dgram d = {.data = buf, .cap = sizeof(buf)};
    /* Skip what the stack itself may send when a link comes up (IPv6
     * router solicitations, MLD). */
    bool found = false;
    for (int i = 0; i < 200 && !found; i++) {
        int n = ns_tun_read(&tun, &d, 1);
        CHECK(n >= 0);
        if (n == 0)
            usleep(10000);
        else
            found = (buf[0] >> 4) == 4 && d.len >= 20 && memcmp(buf + 16, &to.sin_addr, 4) == 0;
    }
    CHECK(found);
    CHECK(d.len == 20 + 8 + 5 && !d.truncated);
    CHECK((buf[0] >> 4) == 4 && buf[9] == IPPROTO_UDP);
    CHECK(memcmp(buf + 16, &to.sin_addr, 4) == 0);
    CHECK(memcmp(buf + 28, "hello", 5) == 0);
    /* With natsecd's mark the same datagram stays out of the tunnel. */
    int marked = socket(AF_INET, SOCK_DGRAM, 0);
    uint32_t mark = MARK;
    CHECK(setsockopt(marked, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0);
    CHECK(sendto(marked, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == -1 &&
          errno == ENETUNREACH);
    for (int i = 0; i < 5; i++) {
        d.len = 0;
        CHECK(ns_tun_read(&tun, &d, 1) >= 0);
        CHECK(d.len == 0 || (buf[0] >> 4) != 4);
    }

    /* In: a packet written to the TUN reaches a local socket. */
    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(5555)};
    inet_pton(AF_INET, "10.99.0.1", &me.sin_addr);
    CHECK(bind(rx, (struct sockaddr *)&me, sizeof(me)) == 0);
    uint8_t pkt[20 + 8 + 4] = {0x45, 0, 0, sizeof(pkt), 0, 0, 0x40, 0, 64, IPPROTO_UDP};
    inet_pton(AF_INET, "192.0.2.5", pkt + 12);
    inet_pton(AF_INET, "10.99.0.1", pkt + 16);
    uint16_t c = ip_checksum(pkt, 20);
    pkt[10] = (uint8_t)(c >> 8);
    pkt[11] = (uint8_t)c;
    pkt[20] = 0x30; /* source port 12345 */
    pkt[21] = 0x39;
    pkt[22] = 5555 >> 8;
    pkt[23] = 5555 & 0xff;
    pkt[25] = 12; /* UDP length; checksum 0 = none (IPv4) */
    memcpy(pkt + 28, "pong", 4);
    struct ns_dgram w = {.data = pkt, .len = sizeof(pkt)};
    CHECK(ns_tun_write(&tun, &w, 1) == 1);
    char got[16] = "";
    struct timeval tv = {.tv_sec = 2};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    CHECK(recv(rx, got, sizeof(got), 0) == 4 && memcmp(got, "pong", 4) == 0);

    /* A write that is not IP is dropped and counted, not fatal. */
    uint8_t junk[4] = {0};
    struct ns_dgram j = {.data = junk, .len = sizeof(junk)};
    int wr = ns_tun_write(&tun, &j, 1);
    CHECK(wr == 1);

    close(s);
    close(marked);
    close(rx);
    ns_ifconf_cleanup(&ic);
    ns_tun_close(&tun);
}

static void tun_packets_both_ways(void **state)
{
    (void)state;
    test_in_netns(tun_packets_child, 0);
}

static void ipv6_and_errors_child(void)
{
    struct ns_tun tun;
    CHECK(ns_tun_open(&tun, "nstest2", true) == 0); /* multi-queue too */
    struct ns_ifconf ic;
    CHECK(ns_ifconf_init(&ic, tun.name, MARK, 1000, 300) == 0);
    CHECK(ns_ifconf_up(&ic, 1280) == 0);
    struct ns_addr a6 = addr("fd00:99::7");
    struct ns_addr net6 = addr("2001:db8::");
    CHECK(ns_ifconf_add_addr(&ic, &a6, 128) == 0);
    CHECK(ns_ifconf_add_route(&ic, &net6, 32, &a6) == 0);
    CHECK(ic.rule6 && !ic.rule4);
    CHECK(strstr(run("ip -6 rule show"), "300:\tnot from all fwmark 0x4e53 lookup 1000"));
    CHECK(strstr(run("ip -6 route show table 1000"), "2001:db8::/32 dev nstest2"));
    /* Errors come back as -1 with errno, not as crashes. */
    struct ns_addr bad = addr("10.0.0.0");
    CHECK(ns_nl_addr(&ic.nl, true, ic.ifindex, &bad, 33) == -1 && errno == EINVAL);
    CHECK(ns_nl_route(&ic.nl, true, 9999, &bad, 8, 1000, NULL) == -1 && errno == ENODEV);
    CHECK(ns_nl_link_set(&ic.nl, 9999, true, 0) == -1 && errno == ENODEV);
    struct ns_ifconf none;
    CHECK(ns_ifconf_init(&none, "nosuchdev", MARK, TABLE, 0) == -1);
    ns_ifconf_cleanup(&none);
    ns_ifconf_cleanup(&ic);
    CHECK(!strstr(run("ip -6 rule show"), "fwmark"));
    ns_tun_close(&tun);
}

static void ipv6_routes_and_errors(void **state)
{
    (void)state;
    test_in_netns(ipv6_and_errors_child, TEST_NETNS_IPV6);
}

static void forwarding_child(void)
{
    bool was = true;
    CHECK(ns_ifconf_set_forwarding(AF_INET, true, &was) == 0);
    CHECK(!was); /* a new namespace starts with forwarding off */
    CHECK(strcmp(run("cat /proc/sys/net/ipv4/ip_forward"), "1\n") == 0);
    CHECK(ns_ifconf_set_forwarding(AF_INET, false, &was) == 0);
    CHECK(was);
    CHECK(strcmp(run("cat /proc/sys/net/ipv4/ip_forward"), "0\n") == 0);
}

static void forwarding_switch(void **state)
{
    (void)state;
    test_in_netns(forwarding_child, 0);
}

int main(void)
{
    ns_log_set_level(NS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tun_setup_and_cleanup),
        cmocka_unit_test(tun_packets_both_ways),
        cmocka_unit_test(ipv6_routes_and_errors),
        cmocka_unit_test(forwarding_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
