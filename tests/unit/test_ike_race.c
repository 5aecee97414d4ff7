/* Happy eyeballs for a client's connect (X8, RFC 8305 5; ike/race.c): a
 * gateway engine and a client engine on the simulated network of
 * tests/support/ike_sim. The client races a first path that may be
 * blackholed (an IPv6 address no node has) or slow (its IKE_SA_INIT held
 * back by the network) against a second one to the gateway, started 250
 * ms later unless the first answers. Each case checks who won, that the
 * loser is never sent or never retransmitted after the win, that the
 * client reports client_path only when the second path carries the
 * connection, and that no SA or SPI is left behind (teardown checks the
 * SPIs). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/engine.h"
#include "ike/msg.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

#define GW_ADDR "198.51.100.1"
#define GW6_ADDR "2001:db8:100::1" /* no node has it: a blackholed path */
#define CL_ADDR "203.0.113.20"
#define CL6_ADDR "2001:db8:100::20"
#define T0 1000000u
#define RACE_MS 250
#define MAX_SENT 64

struct net {
    struct ike_node node[2];
    struct ike_net net;
    /* IKE_SA_INIT requests the client sent: to whom and when. */
    struct {
        struct ns_endpoint remote;
        uint64_t t;
    } init[MAX_SENT];
    unsigned n_init;
    /* The first IKE_SA_INIT to hold back (a slow path), and the message. */
    bool hold_first;
    uint8_t held[2048];
    size_t held_len;
    struct ns_endpoint held_local, held_remote;
};

static struct net *N;

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    struct ike_node *n = ctx;
    bool init_req = msg[18] == NS_IKE_SA_INIT && !(msg[19] & NS_IKE_FLAG_RESPONSE);
    if (n == &N->node[1] && init_req) {
        assert_true(N->n_init < MAX_SENT);
        N->init[N->n_init].remote = *remote;
        N->init[N->n_init++].t = N->net.now;
        if (N->hold_first && N->held_len == 0) {
            assert_true(len <= sizeof(N->held));
            memcpy(N->held, msg, len);
            N->held_len = len;
            N->held_local = *local;
            N->held_remote = *remote;
            return;
        }
    }
    ike_node_send(ctx, local, remote, msg, len, marker);
}

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_INFO, .guard = 100000, .send = ops_send)

static struct ike_node *gw(void)
{
    return &N->node[0];
}

static struct ike_node *client(void)
{
    return &N->node[1];
}

/* The gateway and a client whose configured gateway is first_gw. */
static void add_nodes(const char *first_gw)
{
    ike_net_add_started_node(&N->net, "gateway", GW_ADDR, -1, IKE_SIM_MAX_SPIS,
                             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
                             "pool = 10.99.0.0/24\nretransmit_timeout = 1.0\n"
                             "retransmit_tries = 3\n"
                             "[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
                             "subnets = 192.0.2.0/24\n",
                             NULL);
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = alice@corp.example\ngateway = %s\n"
             "remote_id = vpn.corp.example\nretransmit_timeout = 1.0\nretransmit_tries = 3\n"
             "[peer vpn.corp.example]\npsk = alice-secret-0123456789\nsubnets = 192.0.2.0/24\n",
             first_gw);
    ike_net_add_started_node(&N->net, "alice", CL_ADDR, -1, IKE_SIM_MAX_SPIS, text, NULL);
}

static void race(const char *local, const char *alt_local, const char *alt_gw)
{
    struct ns_addr l = test_addr(local), al = test_addr(alt_local), ag = test_addr(alt_gw);
    assert_int_equal(ns_ike_engine_connect_race(client()->e, &l, &al, &ag, RACE_MS, N->net.now),
                     0);
}

static unsigned inits_to(const char *addr)
{
    struct ns_addr a = test_addr(addr);
    unsigned n = 0;
    for (unsigned i = 0; i < N->n_init; i++)
        n += ns_addr_equal(&N->init[i].remote.addr, &a);
    return n;
}

static uint64_t first_init_to(const char *addr)
{
    struct ns_addr a = test_addr(addr);
    for (unsigned i = 0; i < N->n_init; i++)
        if (ns_addr_equal(&N->init[i].remote.addr, &a))
            return N->init[i].t;
    fail_msg("no IKE_SA_INIT to %s", addr);
    return 0;
}

/* X8: the first path (IPv6) is blackholed: the second (IPv4) goes 250 ms
 * later and connects, seconds before the first attempt's retransmissions
 * (1 s, 2 s, 4 s) would give up; the first is dropped and never sent
 * again, and client_path names the second path. */
static void blackholed_first_path(void **state)
{
    (void)state;
    add_nodes(GW6_ADDR);
    race(CL6_ADDR, CL_ADDR, GW_ADDR);
    ike_net_run_for(&N->net, 200);
    assert_int_equal(inits_to(GW_ADDR), 0); /* held for 250 ms */
    ike_net_run_for(&N->net, 300);
    assert_int_equal(client()->n_client_up, 1);
    assert_int_equal(first_init_to(GW_ADDR) - T0, RACE_MS);
    assert_true(ike_net_one_established(client()->e));
    assert_true(ike_net_one_established(gw()->e));
    assert_int_equal(client()->n_client_path, 1);
    char a[NS_ADDR_STRLEN];
    assert_string_equal(ns_addr_str(&client()->path_gw, a), GW_ADDR);
    assert_string_equal(ns_addr_str(&client()->path_local, a), CL_ADDR);
    ike_net_run_for(&N->net, 20000);
    assert_int_equal(inits_to(GW6_ADDR), 1); /* dropped: no retransmission */
    assert_int_equal(client()->n_client_down, 0);
    assert_int_equal(ike_net_sas_of(client()->e).n, 1);
    ike_net_log_must_have(&N->net, "happy eyeballs: " GW_ADDR ":500 answered first");
}

/* X8: the first path answers within 250 ms: the second IKE_SA_INIT is
 * never sent, so the gateway never holds a half-open SA for it. */
static void first_path_answers(void **state)
{
    (void)state;
    add_nodes(GW_ADDR);
    race(CL_ADDR, CL6_ADDR, GW6_ADDR);
    ike_net_run_for(&N->net, 2000);
    assert_int_equal(client()->n_client_up, 1);
    assert_int_equal(inits_to(GW6_ADDR), 0);
    assert_int_equal(client()->n_client_path, 0);
    assert_int_equal(ike_net_sas_of(client()->e).n, 1);
    assert_int_equal(ike_net_sas_of(gw()->e).n, 1);
    ike_net_log_must_have(&N->net, "dropped before it was sent");
}

/* X8: a slow first path: its IKE_SA_INIT reaches the gateway only after
 * the second path's has been answered. The client drops the first
 * attempt (its late answer goes nowhere, nothing is retransmitted); the
 * gateway's half-open SA for it goes when half-open SAs go. */
static void slow_first_path(void **state)
{
    (void)state;
    add_nodes(GW_ADDR);
    N->hold_first = true;
    race(CL_ADDR, CL_ADDR, GW_ADDR);
    ike_net_run_for(&N->net, 400);
    assert_int_equal(client()->n_client_up, 1);
    assert_int_equal(client()->n_client_path, 1);
    assert_int_equal(N->n_init, 2);
    ike_net_send(&N->net, 1, &N->held_local, &N->held_remote, N->held, N->held_len);
    ike_net_run_for(&N->net, 100);
    assert_int_equal(ike_net_sas_of(gw()->e).n, 2); /* the late one, half-open */
    assert_int_equal(ike_net_established(gw()->e), 1);
    ike_net_run_for(&N->net, NS_IKE_HALF_OPEN_MS);
    assert_int_equal(ike_net_sas_of(gw()->e).n, 1);
    assert_int_equal(N->n_init, 2);
    assert_int_equal(ike_net_sas_of(client()->e).n, 1);
    assert_true(ike_net_one_established(client()->e));
}

/* X8: both paths blackholed: each attempt retransmits on its own clock;
 * when the first gives up the second goes on, and the client hears of one
 * failure only, when the second gives up too. */
static void both_paths_fail(void **state)
{
    (void)state;
    add_nodes(GW6_ADDR);
    race(CL6_ADDR, CL6_ADDR, "2001:db8:100::2");
    ike_net_run_for(&N->net, 30000);
    assert_int_equal(client()->n_client_down, 1);
    assert_int_equal(client()->down_reason, NS_IKE_DOWN_TIMEOUT);
    assert_int_equal(inits_to(GW6_ADDR), 4); /* the first send and retransmit_tries = 3 */
    assert_int_equal(inits_to("2001:db8:100::2"), 4);
    assert_int_equal(client()->n_client_path, 1); /* the second took over */
    assert_true(client()->down_at - T0 > 7000 + RACE_MS); /* after the second's last wait */
}

/* X8: an administrator's disconnect during the race drops both attempts,
 * with one client_down. */
static void disconnect_during_race(void **state)
{
    (void)state;
    add_nodes(GW6_ADDR);
    race(CL6_ADDR, CL_ADDR, "2001:db8:100::2");
    ike_net_run_for(&N->net, 100);
    assert_int_equal(ns_ike_engine_disconnect(client()->e, N->net.now), 0);
    ike_net_run_for(&N->net, 1000);
    assert_int_equal(client()->n_client_down, 1);
    assert_int_equal(client()->down_reason, NS_IKE_DOWN_LOCAL);
    assert_int_equal(inits_to("2001:db8:100::2"), 0);
    assert_int_equal(ike_net_sas_of(client()->e).n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(blackholed_first_path, setup, teardown),
        cmocka_unit_test_setup_teardown(first_path_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_first_path, setup, teardown),
        cmocka_unit_test_setup_teardown(both_paths_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(disconnect_during_race, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
