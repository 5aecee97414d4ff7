/* What one authenticated identity may hold on a gateway (R15, R6): at most
 * ike_sas_per_id established IKE SAs, the unique-ID policy (unique =
 * replace, keep, no), and a virtual IP it asks for only when it was the
 * last to hold it. One gateway engine and client engines in this process
 * on the simulated network of tests/support/ike_sim. */
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
#include "support/ike_net.h"
#include "support/test_addr.h"
#include "util/log.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 16
#define T0 1000000u

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
};

static struct net *N;

/* ---- nodes ---- */

/* Node 0: the gateway, with these extra [natsecd] lines and a pool of five
 * client addresses (10.99.0.2 to .6). alice, bob and mallory have sections
 * of their own. */
static struct ike_node *add_gateway(const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
             "ike_proposals = aes128gcm16-prfsha256-x25519\npool = 10.99.0.0/29\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 60\n%s\n"
             "[peer alice@corp.example]\npsk = alice-secret-0123456789\nsubnets = 192.0.2.0/24\n"
             "[peer bob@corp.example]\npsk = bob-secret-0123456789\nsubnets = 192.0.2.0/24\n"
             "[peer mallory@corp.example]\npsk = mallory-secret-0123456789\n"
             "subnets = 192.0.2.0/24\n",
             extra ? extra : "");
    return ike_net_add_started_node(&N->net, "gateway", GW_ADDR, -1, IKE_SIM_MAX_SPIS, text, NULL);
}

/* A client of identity `user`@corp.example at address a (its own public
 * address), with extra [natsecd] lines; not connected yet. */
static struct ike_node *add_client(const char *user, const char *a, const char *extra)
{
    char name[40];
    snprintf(name, sizeof(name), "%s-%s", user, a);
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = %s@corp.example\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\nike_proposals = aes128gcm16-prfsha256-x25519\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 3\ndpd = 60\n%s\n"
             "[peer vpn.corp.example]\npsk = %s-secret-0123456789\nsubnets = 192.0.2.0/24\n",
             user, extra ? extra : "", user);
    return ike_net_add_started_node(&N->net, name, a, -1, IKE_SIM_MAX_SPIS, text, NULL);
}

static void run_for(uint64_t ms)
{
    ike_net_run_for(&N->net, ms);
}

/* Connects and runs the handshake to its end. */
static void connect_now(struct ike_node *n)
{
    ike_net_connect(&N->net, n->e, &n->addr);
    run_for(200);
}

static void disconnect_now(struct ike_node *n)
{
    assert_int_equal(ns_ike_engine_disconnect(n->e, N->net.now), 0);
    run_for(200);
}

static bool is_up(const struct ike_node *n)
{
    return ike_net_one_established(n->e) && ike_node_children(n) == 1;
}

static struct ns_ike_counters gw_counters(void)
{
    return ike_net_counters(N->node[0].e);
}

static bool log_has(const char *needle)
{
    return ike_sim_log_has(&N->net.log, needle);
}

static const char *vip_str(const struct ike_node *n)
{
    static char buf[NS_ADDR_STRLEN];
    return ns_addr_str(&n->vip, buf);
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_INFO, .guard = 100000)

/* ================= per-identity limit ================= */

/* R15: by default one identity holds at most 4 IKE SAs (clients that do
 * not send INITIAL_CONTACT, e.g. several devices of one user): alice's
 * fifth is refused with AUTHENTICATION_FAILED, so she cannot take the
 * whole pool (five addresses here), and bob still gets the last one. */
static void default_limit_is_four(void **state)
{
    (void)state;
    add_gateway(NULL);
    struct ike_node *a[5];
    char addr[32];
    for (unsigned i = 0; i < 5; i++) {
        snprintf(addr, sizeof(addr), "203.0.113.%u", 10 + i);
        a[i] = add_client("alice", addr, "initial_contact = no");
        connect_now(a[i]);
    }
    for (unsigned i = 0; i < 4; i++)
        assert_true(is_up(a[i]));
    assert_false(is_up(a[4]));
    assert_int_equal(a[4]->n_client_down, 1);
    assert_int_equal(a[4]->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.ike_established, 4);
    assert_int_equal(c.identity_refused, 1);
    assert_int_equal(c.ike_sas - c.half_open, 4);
    assert_true(log_has("'alice@corp.example' already holds 4 IKE SA(s), the most "
                        "ike_sas_per_id allows"));

    struct ike_node *b = add_client("bob", "203.0.113.30", NULL);
    connect_now(b);
    assert_true(is_up(b));
    assert_string_equal(vip_str(b), "10.99.0.6");
    /* One of alice's goes: her next one fits again. */
    disconnect_now(a[0]);
    connect_now(a[4]);
    assert_true(is_up(a[4]));
}

/* R15: ike_sas_per_id is configurable; with unique = no INITIAL_CONTACT
 * (sent by default) still deletes the identity's older IKE SAs first
 * (RFC 7296 2.4), so a restarted client is never refused. */
static void configured_limit_and_initial_contact(void **state)
{
    (void)state;
    add_gateway("ike_sas_per_id = 2\nunique = no");
    struct ike_node *a1 = add_client("alice", "203.0.113.10", "initial_contact = no");
    struct ike_node *a2 = add_client("alice", "203.0.113.11", "initial_contact = no");
    struct ike_node *a3 = add_client("alice", "203.0.113.12", "initial_contact = no");
    connect_now(a1);
    connect_now(a2);
    connect_now(a3);
    assert_true(is_up(a1) && is_up(a2));
    assert_false(is_up(a3));
    assert_int_equal(a3->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_int_equal(gw_counters().identity_refused, 1);

    struct ike_node *a4 = add_client("alice", "203.0.113.13", NULL);
    connect_now(a4);
    assert_true(is_up(a4));
    assert_int_equal(gw_counters().identity_refused, 1);
    assert_int_equal(ike_net_sas_of(N->node[0].e).n, 1); /* a4's */
    assert_true(log_has("INITIAL_CONTACT from 'alice@corp.example': deleted 2 older IKE SA(s)"));
}

/* R15: unique = keep: the identity's first IKE SA stays, a second one is
 * refused, even with INITIAL_CONTACT; other identities are not affected. */
static void unique_keep_refuses_the_new_one(void **state)
{
    (void)state;
    add_gateway("unique = keep");
    struct ike_node *a1 = add_client("alice", "203.0.113.10", NULL);
    struct ike_node *a2 = add_client("alice", "203.0.113.11", NULL);
    struct ike_node *b = add_client("bob", "203.0.113.30", NULL);
    connect_now(a1);
    connect_now(a2);
    connect_now(b);
    assert_true(is_up(a1));
    assert_false(is_up(a2));
    assert_int_equal(a2->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_true(is_up(b));
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.identity_refused, 1);
    assert_int_equal(c.ike_established, 2);
    assert_true(log_has("'alice@corp.example' already holds 1 IKE SA(s) and unique = keep"));
}

/* R15: unique = replace: the newest IKE SA of an identity wins and the
 * older one is deleted (with a DELETE to its peer, which goes down), also
 * without INITIAL_CONTACT. */
static void unique_replace_deletes_the_old_one(void **state)
{
    (void)state;
    add_gateway("unique = replace");
    struct ike_node *a1 = add_client("alice", "203.0.113.10", "initial_contact = no");
    struct ike_node *a2 = add_client("alice", "203.0.113.11", "initial_contact = no");
    connect_now(a1);
    assert_true(is_up(a1));
    connect_now(a2);
    run_for(1000);
    assert_true(is_up(a2));
    assert_false(is_up(a1));
    assert_int_equal(a1->n_client_down, 1);
    assert_int_equal(a1->down_reason, NS_IKE_DOWN_PEER_DELETE);
    struct ns_ike_counters c = gw_counters();
    assert_int_equal(c.identity_refused, 0);
    assert_int_equal(c.identity_replaced, 1);
    assert_int_equal(c.ike_sas, 1);
    assert_true(log_has("unique = replace: deleting 1 older IKE SA(s) of 'alice@corp.example'"));
}

/* ================= virtual IP of the last holder ================= */

/* R6: a client that reconnects asks for the virtual IP it had (its CP
 * request carries it) and gets it back; another identity asking for an
 * address it never held gets another one, even while that address is
 * free, so nobody inherits the traffic or the firewall rules meant for
 * the address's last holder. */
static void requested_vip_only_for_last_holder(void **state)
{
    (void)state;
    add_gateway(NULL);
    struct ike_node *a = add_client("alice", "203.0.113.10", NULL);
    struct ike_node *b = add_client("bob", "203.0.113.30", NULL);
    connect_now(a);
    connect_now(b);
    assert_string_equal(vip_str(a), "10.99.0.2");
    assert_string_equal(vip_str(b), "10.99.0.3");
    disconnect_now(a);
    disconnect_now(b);

    /* Any client can put any address in its CP request: mallory's engine
     * is made to ask for alice's, which is free now. */
    struct ike_node *m = add_client("mallory", "203.0.113.66", NULL);
    assert_int_equal(ns_ike_engine_ask_vip(m->e, &a->vip), 0);
    connect_now(m);
    assert_true(is_up(m));
    assert_string_equal(vip_str(m), "10.99.0.4");

    connect_now(b);
    assert_string_equal(vip_str(b), "10.99.0.3");
    connect_now(a);
    assert_string_equal(vip_str(a), "10.99.0.2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(default_limit_is_four, setup, teardown),
        cmocka_unit_test_setup_teardown(configured_limit_and_initial_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(unique_keep_refuses_the_new_one, setup, teardown),
        cmocka_unit_test_setup_teardown(unique_replace_deletes_the_old_one, setup, teardown),
        cmocka_unit_test_setup_teardown(requested_vip_only_for_last_holder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
