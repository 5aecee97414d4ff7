/* Forged answers to a client's requests (R15, X2): a natsec client and a
 * natsec gateway in this process on the simulated network of
 * tests/support/ike_net, and a forger that sees the client's IKE_SA_INIT
 * requests (it knows SPIi) and answers each before the gateway can.
 *
 * An IKE_SA_INIT answer is not protected: an error notify, a proposal or
 * group the client did not offer, a KE value that is no group element, or
 * one COOKIE / INVALID_KE round too many in it is a hint only (RFC 7296
 * 2.4, 2.21.1). The client keeps its request outstanding and takes the
 * real answer when it comes; an answer from an address the request did not
 * go to is not even looked at. When no valid answer comes the request
 * times out, and the client tries again (ns_ike_down_retry). An IKE_AUTH
 * answer that is SK-valid but proves nothing (no IDr and AUTH: a rogue
 * that answered IKE_SA_INIT says AUTHENTICATION_FAILED) is no authenticated
 * refusal either: the client tries again. */
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

#include "conf/proposal_parse.h"
#include "crypto/dh.h"
#include "crypto/rand.h"
#include "ike/engine.h"
#include "ike/msg.h"
#include "ike/proposal_select.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

#define GW_ADDR "198.51.100.1"
#define CL_ADDR "203.0.113.20"
#define MAX_NODES 3
#define T0 1000000u

/* What the forger answers to each IKE_SA_INIT request of the client. */
enum forgery {
    F_NONE,
    F_NOTIFY,     /* an error notify (notify below) */
    F_COOKIE,     /* a fresh COOKIE each time */
    F_INVALID_KE, /* INVALID_KE_PAYLOAD asking for a group (group below) */
    F_UNOFFERED,  /* SA, KE, Nr with a proposal the client did not offer */
    F_GROUP,      /* the client's proposal, a KE of another group */
    F_BAD_KE,     /* the client's proposal, an X25519 value of all zeros */
    F_ACCEPTABLE, /* a well-formed answer with the forger's own X25519 key */
};

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
    /* The forger: what, from where, how many more times. */
    enum forgery forge;
    uint16_t notify, group;
    struct ns_endpoint forge_from;
    unsigned forge_left, forged;
    unsigned init_requests; /* IKE_SA_INIT requests the client sent */
};

static struct net *N;

/* The client's proposal, the one answers pick. */
#define CL_IKE "aes128gcm16-prfsha256-x25519"

/* ---- the forger ---- */

static void forged_answer(const uint8_t *req, size_t req_len, const struct ns_endpoint *to)
{
    struct ns_ike_header rh;
    struct ns_ike_payloads rpl;
    assert_int_equal(ns_ike_parse_message(req, req_len, &rh, &rpl), NS_IKE_OK);
    struct ns_ike_header h = {.spi_i = rh.spi_i,
                              .version = NS_IKE_VERSION,
                              .exchange = NS_IKE_SA_INIT,
                              .flags = NS_IKE_FLAG_RESPONSE};
    uint8_t buf[IKE_SIM_PKT_MAX], nonce[32], cookie[16], ke[64];
    struct ns_ike_builder b;
    assert_int_equal(ns_random_bytes(nonce, sizeof(nonce)), 0);
    assert_int_equal(ns_random_bytes(cookie, sizeof(cookie)), 0);
    bool answer = N->forge >= F_UNOFFERED;
    if (answer)
        h.spi_r = ns_random_u64() | 1;
    ns_ike_build_begin(&b, buf, sizeof(buf), &h);
    if (N->forge == F_NOTIFY) {
        ns_ike_add_notify(&b, 0, NULL, 0, N->notify, NULL, 0);
    } else if (N->forge == F_COOKIE) {
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE, cookie, sizeof(cookie));
    } else if (N->forge == F_INVALID_KE) {
        uint8_t g[2] = {(uint8_t)(N->group >> 8), (uint8_t)N->group};
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INVALID_KE_PAYLOAD, g, sizeof(g));
    } else if (answer) {
        char err[128];
        struct ns_proposal p;
        struct ns_ike_sa sa;
        const char *text = N->forge == F_UNOFFERED ? "aes256gcm16-prfsha384-x25519" : CL_IKE;
        assert_int_equal(ns_proposal_parse(text, NS_PROTO_IKE, &p, err, sizeof(err)), 0);
        assert_int_equal(ns_sa_offer(&p, 1, NS_PROTO_IKE, NULL, 0, 0, &sa), NS_SA_OK);
        ns_ike_add_sa(&b, &sa);
        memset(ke, 0, sizeof(ke));
        if (N->forge == F_GROUP) {
            ns_ike_add_ke(&b, NS_DH_ECP256, ke, 64);
        } else {
            if (N->forge != F_BAD_KE) {
                struct ns_dh *dh = ns_dh_new(NS_DH_CURVE25519);
                assert_non_null(dh);
                assert_int_equal(ns_dh_public(dh, ke, 32), 0);
                ns_dh_free(dh);
            }
            ns_ike_add_ke(&b, NS_DH_CURVE25519, ke, 32);
        }
        ns_ike_add_nonce(&b, nonce, sizeof(nonce));
    }
    int len = ns_ike_build_finish(&b);
    assert_true(len > 0);
    ike_sim_enqueue(&N->net.q, &N->forge_from, to, buf, (size_t)len);
    N->forged++;
}

/* ---- the network ---- */

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    int idx = ike_net_node_index(&N->net, ctx);
    bool init_req = msg[18] == NS_IKE_SA_INIT && !(msg[19] & NS_IKE_FLAG_RESPONSE);
    if (idx != 0 && init_req) {
        N->init_requests++;
        /* Sent before the request goes on: it arrives first. */
        if (N->forge != F_NONE && N->forge_left > 0) {
            N->forge_left--;
            forged_answer(msg, len, local);
        }
    }
    ike_node_send(ctx, local, remote, msg, len, marker);
}

static void run_for(uint64_t ms)
{
    ike_net_run_for(&N->net, ms);
}

static struct ike_node *new_node(const char *name, const char *a, const char *text)
{
    return ike_net_add_started_node(&N->net, name, a, -1, IKE_SIM_MAX_SPIS, text, NULL);
}

/* The gateway (node 0) with alice's section, or (rogue) one that knows no
 * alice: it answers her IKE_AUTH with AUTHENTICATION_FAILED alone. */
static struct ike_node *gateway(const char *addr, bool rogue)
{
    return new_node(rogue ? "rogue" : "gateway", addr,
                    rogue ? "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
                            "pool = 10.66.0.0/24\n[peer bob@corp.example]\n"
                            "psk = bob-secret-0123456789\nsubnets = 192.0.2.0/24\n"
                          : "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
                            "pool = 10.99.0.0/24\n[peer alice@corp.example]\n"
                            "psk = alice-secret-0123456789\nsubnets = 192.0.2.0/24\n");
}

/* alice, retransmitting after 1, 2, 4 s and giving up 8 s later. */
static struct ike_node *client(void)
{
    return new_node("alice", CL_ADDR,
                    "[natsecd]\nrole = client\nlocal_id = alice@corp.example\n"
                    "gateway = " GW_ADDR "\nremote_id = vpn.corp.example\n"
                    "ike_proposals = " CL_IKE "\nretransmit_timeout = 1.0\n"
                    "retransmit_tries = 3\n[peer vpn.corp.example]\n"
                    "psk = alice-secret-0123456789\nsubnets = 192.0.2.0/24\n");
}

static void connect_client(struct ike_node *cl)
{
    ike_net_connect(&N->net, cl->e, &cl->addr);
}

/* The forger answers the next `times` requests with `f`, from the
 * gateway's own address and port unless from says otherwise. */
static void forge(enum forgery f, unsigned times, const char *from)
{
    N->forge = f;
    N->forge_left = times;
    N->forge_from.addr = test_addr(from ? from : GW_ADDR);
    N->forge_from.port = 500;
}

static bool established(const struct ike_node *n)
{
    return ike_net_one_established(n->e);
}

static void log_must_have(const char *needle)
{
    ike_net_log_must_have(&N->net, needle);
}

/* The client got its tunnel after the forgery, and the forgery was sent. */
static void assert_connected(const struct ike_node *gw, const struct ike_node *cl)
{
    assert_true(N->forged >= 1);
    if (cl->n_client_down)
        fail_msg("the client went down (%s) instead of waiting for the real answer",
                 ns_ike_down_reason_str(cl->down_reason));
    assert_true(established(cl));
    assert_true(established(gw));
    assert_int_equal(cl->n_client_up, 1);
    assert_int_equal(cl->n_child_up, 1);
}

/* One forged answer to the first request, then the real one: connected. */
static void survives(enum forgery f)
{
    struct ike_node *gw = gateway(GW_ADDR, false);
    struct ike_node *cl = client();
    forge(f, 1, NULL);
    connect_client(cl);
    run_for(3000);
    assert_connected(gw, cl);
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_DEBUG, .guard = 100000, .send = ops_send)

/* ================= scenarios ================= */

/* An error notify in an unprotected answer is a hint (RFC 7296 2.21.1). */
static void forged_error_notify(void **state) /* R15 X2 */
{
    (void)state;
    N->notify = NS_N_NO_PROPOSAL_CHOSEN;
    survives(F_NOTIFY);
    log_must_have("unprotected IKE_SA_INIT answer from 198.51.100.1:500 not taken (the gateway "
                  "answered NO_PROPOSAL_CHOSEN): waiting for a valid one");
}

static void forged_unoffered_proposal(void **state) /* R15 X2 */
{
    (void)state;
    survives(F_UNOFFERED);
    log_must_have("(it chose a proposal we did not offer)");
}

static void forged_other_group(void **state) /* R15 X2 */
{
    (void)state;
    survives(F_GROUP);
    log_must_have("(its DH group is not the one of our KE)");
}

static void forged_bad_ke(void **state) /* R15 X2 */
{
    (void)state;
    survives(F_BAD_KE);
    log_must_have("(its KE value is no element of the group)");
}

static void forged_invalid_ke_unoffered_group(void **state) /* R15 X2 */
{
    (void)state;
    N->group = NS_DH_MODP2048;
    survives(F_INVALID_KE);
    log_must_have("(INVALID_KE_PAYLOAD asks for DH group 14, which we do not offer)");
}

/* COOKIE after COOKIE while the gateway is out of reach: past the rounds
 * allowed the client takes no more, keeps its request, and connects when
 * the gateway answers it. */
static void forged_cookie_rounds(void **state) /* R15 X2 */
{
    (void)state;
    struct ike_node *gw = gateway(GW_ADDR, false);
    struct ike_node *cl = client();
    gw->blackhole = true;
    forge(F_COOKIE, 8, NULL);
    connect_client(cl);
    run_for(10);
    unsigned sent = N->init_requests;
    assert_true(sent >= 2 && sent < 8); /* the rounds stopped */
    log_must_have("(too many COOKIE / INVALID_KE_PAYLOAD rounds)");
    N->forge = F_NONE;
    gw->blackhole = false;
    run_for(3000);
    assert_connected(gw, cl);
}

/* An answer from where the request did not go is dropped unread: a
 * well-formed one, taken, would have given the client keys the gateway
 * does not have. */
static void answer_from_another_address(void **state) /* R15 */
{
    (void)state;
    struct ike_node *gw = gateway(GW_ADDR, false);
    struct ike_node *cl = client();
    forge(F_ACCEPTABLE, 1, "192.0.2.66");
    connect_client(cl);
    run_for(3000);
    assert_connected(gw, cl);
    log_must_have("IKE_SA_INIT answer from 192.0.2.66:500, our request went to 198.51.100.1:500: "
                  "dropped");
}

/* Only forged answers: the request times out as if unanswered, the log
 * names the last hint, and the client tries again (X2), then connects. */
static void only_forgeries_then_retry(void **state) /* R15 X2 */
{
    (void)state;
    struct ike_node *gw = gateway(GW_ADDR, false);
    struct ike_node *cl = client();
    gw->blackhole = true;
    N->notify = NS_N_NO_PROPOSAL_CHOSEN;
    forge(F_NOTIFY, 100, NULL);
    connect_client(cl);
    run_for(5000);
    assert_int_equal(cl->n_client_down, 0); /* still waiting: hints only */
    run_for(20000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_TIMEOUT);
    assert_true(ns_ike_down_retry(cl->down_reason));
    assert_int_equal(N->init_requests, 4); /* the request and 3 retransmissions */
    log_must_have("to IKE_SA_INIT after 4 sends, giving up; the last unprotected answer: the "
                  "gateway answered NO_PROPOSAL_CHOSEN");
    /* What the daemon's reconnection does, now that the gateway answers. */
    N->forge = F_NONE;
    gw->blackhole = false;
    connect_client(cl);
    run_for(3000);
    assert_true(established(cl));
    assert_int_equal(cl->n_client_up, 1);
}

/* A rogue at the gateway's address answers IKE_SA_INIT, so its IKE_AUTH
 * answer is SK-valid; it carries AUTHENTICATION_FAILED and no IDr or AUTH:
 * the gateway proved nothing, so the client tries again (and then reaches
 * the real gateway). */
static void unproven_auth_failure_is_retried(void **state) /* R15 X2 */
{
    (void)state;
    struct ike_node *rogue = gateway(GW_ADDR, true);
    struct ike_node *cl = client();
    struct ike_node *gw = gateway("198.51.100.99", false);
    connect_client(cl);
    run_for(3000);
    assert_int_equal(cl->n_client_down, 1);
    log_must_have("the gateway answered AUTHENTICATION_FAILED");
    if (!ns_ike_down_retry(cl->down_reason))
        fail_msg("a refusal the gateway did not authenticate (%s) stops the client",
                 ns_ike_down_reason_str(cl->down_reason));
    /* The rogue is gone, the real gateway answers at that address. */
    rogue->addr = test_addr("198.51.100.66");
    gw->addr = test_addr(GW_ADDR);
    connect_client(cl);
    run_for(3000);
    assert_true(established(cl));
    assert_int_equal(cl->n_client_up, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(forged_error_notify),
        T(forged_unoffered_proposal),
        T(forged_other_group),
        T(forged_bad_ke),
        T(forged_invalid_ke_unoffered_group),
        T(forged_cookie_rounds),
        T(answer_from_another_address),
        T(only_forgeries_then_retry),
        T(unproven_auth_failure_is_retried),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
