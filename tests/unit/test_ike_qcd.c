/* Quick crash detection (RFC 6290, src/ike/qcd.c): a natsec gateway and
 * natsec clients in this process on the simulated network of
 * tests/support/ike_net. The gateway "restarts": its engine is freed
 * (every SA forgotten, nothing sent) and made again with the same
 * configuration, so the same QCD secret, as natsecd reads it again from
 * qcd_secret_file after a SIGKILL.
 *
 * Without QCD, a client learns of the restart only when its liveness check
 * (dpd) has gone unanswered through every retransmission; with it, the
 * restarted gateway answers that check with INVALID_IKE_SPI and the IKE
 * SA's token, and the client drops the SA at once (X2, X15). Unprotected
 * answers are a way to end a client's connection, so everything about one
 * that does not fit is ignored and counted (R15). */
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

#include "crypto/prf.h"
#include "crypto/rand.h"
#include "ike/engine.h"
#include "ike/msg.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 4
#define T0 1000000u
#define DPD_S 5

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
    /* The last request a client sent (node index >= 1) and from where:
     * what a forger on the path sees. */
    struct ns_ike_header last_req;
    struct ns_endpoint last_req_to, last_req_from;
    int last_req_node;
    /* The gateway's last IKE_AUTH answer, as sent. */
    uint8_t auth_resp[IKE_SIM_PKT_MAX];
    size_t auth_resp_len;
    /* What to do when a client sends its first IKE_AUTH request, once:
     * restart this gateway, or blackhole it, or (hint_at_auth) put an
     * unprotected INVALID_IKE_SPI from the gateway's address ahead of its
     * real answer. */
    struct ike_node *restart_at_auth, *blackhole_at_auth;
    bool hint_at_auth;
    uint64_t auth_sent_at;
};

static struct net *N;

static void restart_gateway(struct ike_node *gw);
static void forge_answer(const struct ns_endpoint *from, const uint8_t *token, uint32_t msg_id);

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    int idx = ike_net_node_index(&N->net, ctx);
    struct ns_ike_header h;
    if (ns_ike_parse_header(msg, len, &h) == NS_IKE_OK) {
        bool response = h.flags & NS_IKE_FLAG_RESPONSE;
        if (idx != 0 && !response) {
            N->last_req = h;
            N->last_req_to = *remote;
            N->last_req_from = *local;
            N->last_req_node = idx;
        }
        if (idx == 0 && response && h.exchange == NS_IKE_AUTH && len <= sizeof(N->auth_resp)) {
            memcpy(N->auth_resp, msg, len);
            N->auth_resp_len = len;
        }
        if (idx != 0 && !response && h.exchange == NS_IKE_AUTH) {
            N->auth_sent_at = N->net.now;
            if (N->restart_at_auth)
                restart_gateway(N->restart_at_auth);
            if (N->blackhole_at_auth)
                N->blackhole_at_auth->blackhole = true;
            if (N->hint_at_auth)
                forge_answer(remote, NULL, h.msg_id);
            N->restart_at_auth = N->blackhole_at_auth = NULL;
            N->hint_at_auth = false;
        }
    }
    ike_node_send(ctx, local, remote, msg, len, marker);
}

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_DEBUG, .guard = 200000, .send = ops_send,
                .nat = "203.0.113.7", .nat_first_port = 40000)

/* ---- nodes ---- */

static void run_for(uint64_t ms)
{
    ike_net_run_for(&N->net, ms);
}

static const uint8_t gw_secret[32] = {0x51, 0xc7, 0x0d, 0x22, 0x9e, 0x41, 0x3a, 0x77,
                                      0x08, 0xb5, 0x6f, 0xe1, 0x13, 0x2c, 0x90, 0x4d,
                                      0xa2, 0x5b, 0x37, 0xc4, 0x6e, 0x0f, 0x81, 0xd9,
                                      0x24, 0x7a, 0xbe, 0x15, 0x63, 0xf0, 0x8c, 0x39};

/* As ns_conf_qcd_secret leaves it after reading qcd_secret_file. */
static void give_secret(struct ike_node *n, const uint8_t *secret)
{
    memcpy(n->conf.qcd_secret, secret, sizeof(n->conf.qcd_secret));
    n->conf.qcd_secret_set = true;
}

/* The gateway, node 0: with a QCD secret unless qcd_off ("qcd = no"). */
static struct ike_node *gateway(bool qcd_off, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "%s%s\n[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
             "subnets = 192.0.2.0/24\n[peer bob@corp.example]\npsk = bob-secret-0123456789\n"
             "subnets = 192.0.2.0/24\n",
             qcd_off ? "qcd = no\n" : "", extra ? extra : "");
    struct ike_node *gw =
        ike_net_add_node(&N->net, "gateway", GW_ADDR, -1, IKE_SIM_MAX_SPIS, text);
    if (!qcd_off)
        give_secret(gw, gw_secret);
    ike_net_node_start(&N->net, gw, NULL);
    return gw;
}

/* A client behind the NAT with dpd DPD_S, retransmitting after 1, 2, 4
 * and 8 s; with its own QCD secret unless qcd_off. */
static struct ike_node *client(const char *name, const char *addr, bool qcd_off)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = %s@corp.example\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\ndpd = %d\nretransmit_timeout = 1.0\n"
             "retransmit_tries = 4\n%s[peer vpn.corp.example]\npsk = %s-secret-0123456789\n"
             "subnets = 192.0.2.0/24\n",
             name, DPD_S, qcd_off ? "qcd = no\n" : "", name);
    struct ike_node *cl = ike_net_add_node(&N->net, name, addr, 0, IKE_SIM_MAX_SPIS, text);
    if (!qcd_off) {
        uint8_t s[32];
        assert_int_equal(ns_random_bytes(s, sizeof(s)), 0);
        give_secret(cl, s);
    }
    ike_net_node_start(&N->net, cl, NULL);
    return cl;
}

static struct ns_ike_counters ctr(const struct ike_node *n)
{
    return ike_net_counters(n->e);
}

static void connect_now(struct ike_node *cl)
{
    ike_net_connect(&N->net, cl->e, &cl->addr);
    run_for(1000);
    assert_true(ike_net_one_established(cl->e));
}

/* A SIGKILL and a start: every SA forgotten, nothing sent, the same
 * configuration and secret. */
static void restart_gateway(struct ike_node *gw)
{
    ns_ike_engine_free(gw->e);
    gw->e = NULL;
    ike_net_node_start(&N->net, gw, NULL);
}

/* Whether the gateway's last IKE_AUTH answer carried a QCD_TOKEN. */
static bool auth_answer_has_token(const struct ike_node *gw)
{
    struct ike_net_sk sk;
    assert_true(N->auth_resp_len > 0);
    assert_int_equal(ike_net_sk_open(gw->e, N->auth_resp, N->auth_resp_len, &sk), 0);
    return ns_ike_find_notify(&sk.inner, NS_N_QCD_TOKEN) != NULL;
}

/* ---- a forger on the path ---- */

/* The gateway's token for these SPIs: what only the secret's holder can
 * make (RFC 6290 5.1). */
static void token_of(const uint8_t *secret, uint64_t spi_i, uint64_t spi_r, uint8_t out[32])
{
    uint8_t spis[16];
    ns_put_u64(spis, spi_i);
    ns_put_u64(spis + 8, spi_r);
    assert_int_equal(ns_prf(NS_PRF_HMAC_SHA2_256, secret, 32, spis, sizeof(spis), out), 0);
}

/* An unprotected INVALID_IKE_SPI answer to the client's last request,
 * with token (NULL: none) and message ID msg_id, sent from `from`; the
 * INVALID_IKE_SPI notify's SPI Size field says spi_size (0 in a real one:
 * its SPI is empty). */
static void forge_answer_spi_size(const struct ns_endpoint *from, const uint8_t *token,
                                  uint32_t msg_id, uint8_t spi_size)
{
    const struct ns_ike_header *q = &N->last_req;
    struct ns_ike_header h = {.spi_i = q->spi_i,
                              .spi_r = q->spi_r,
                              .version = NS_IKE_VERSION,
                              .exchange = q->exchange,
                              .flags = NS_IKE_FLAG_RESPONSE,
                              .msg_id = msg_id};
    uint8_t buf[256];
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &h);
    ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INVALID_IKE_SPI, NULL, 0);
    if (token)
        ns_ike_add_notify(&b, 1, NULL, 0, NS_N_QCD_TOKEN, token, 32);
    int len = ns_ike_build_finish(&b);
    assert_true(len > 0);
    buf[NS_IKE_HEADER_LEN + 5] = spi_size; /* after the generic header and Protocol ID */
    /* The client's request went to the gateway through the NAT: the
     * answer goes to the NAT's mapping of it. */
    struct ike_sim_nat *nat = &N->net.nat[0];
    struct ns_endpoint to = {.addr = nat->pub,
                             .port = ike_sim_nat_map(nat, N->last_req_node, &N->last_req_from)};
    ike_sim_enqueue(&N->net.q, from, &to, buf, (size_t)len);
}

static void forge_answer(const struct ns_endpoint *from, const uint8_t *token, uint32_t msg_id)
{
    forge_answer_spi_size(from, token, msg_id, 0);
}

/* ================= scenarios ================= */

/* X2 X15: the gateway restarts; the client's next liveness check gets the
 * crash answer and the client goes down at once, by its dpd, not by the
 * retransmissions of its check (1 + 2 + 4 + 8 + 16 s more); then it
 * connects again to the restarted gateway. */
static void restart_detected_at_first_check(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    connect_now(cl);
    assert_true(auth_answer_has_token(gw));
    assert_int_equal(ctr(cl).qcd_tokens_sent, 1); /* the client's offer */
    assert_int_equal(ctr(gw).qcd_tokens_sent, 1);
    assert_int_equal(ctr(cl).qcd_tokens_taken, 1);

    uint64_t killed = N->net.now;
    restart_gateway(gw);
    run_for((DPD_S + 1) * 1000);
    if (cl->n_client_down != 1)
        fail_msg("the client did not notice the restart within its dpd (%d s)", DPD_S);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_PEER_DELETE);
    assert_true(ns_ike_down_retry(cl->down_reason));
    assert_true(cl->down_at - killed <= DPD_S * 1000 + 100);
    assert_int_equal(ike_net_sas_of(cl->e).n, 0);
    assert_int_equal(ike_node_children(cl), 0);
    assert_int_equal(ctr(gw).qcd_replies_sent, 1);
    assert_int_equal(ctr(cl).qcd_replies_accepted, 1);
    ike_net_log_must_have(&N->net, "the gateway restarted and lost it");

    connect_now(cl);
    assert_true(ike_net_one_established(gw->e));
    assert_int_equal(cl->n_client_up, 2);
}

/* X2 R14: a gateway without QCD hands out no token and sends no crash
 * answer: the client notices the restart only when its liveness check
 * times out, as before (dpd + 1 + 2 + 4 + 8 + 16 s). */
static void gateway_without_qcd(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(true, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    connect_now(cl);
    assert_false(auth_answer_has_token(gw));
    assert_int_equal(ctr(gw).qcd_tokens_sent, 0);
    assert_int_equal(ctr(cl).qcd_tokens_taken, 0);
    uint64_t killed = N->net.now;
    restart_gateway(gw);
    run_for((DPD_S + 10) * 1000);
    assert_int_equal(cl->n_client_down, 0);
    run_for(30000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_TIMEOUT);
    assert_true(cl->down_at - killed >= (DPD_S + 1 + 2 + 4 + 8) * 1000);
    assert_int_equal(ctr(gw).qcd_replies_sent, 0);
}

/* R14: a client that shows no QCD (like a peer without it) gets no token:
 * nothing new on the wire; after a restart no crash answer either, since
 * its SA has no token (the gateway cannot tell, it sends the answer). */
static void client_without_qcd_gets_no_token(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", true);
    connect_now(cl);
    assert_false(auth_answer_has_token(gw));
    assert_int_equal(ctr(gw).qcd_tokens_sent, 0);
    assert_int_equal(ctr(cl).qcd_tokens_sent, 0);
    restart_gateway(gw);
    run_for((DPD_S + 10) * 1000);
    assert_int_equal(cl->n_client_down, 0); /* waits for its retransmissions */
    assert_int_equal(ctr(cl).qcd_replies_accepted, 0);
}

/* R15 X2: unprotected INVALID_IKE_SPI answers that do not fit change
 * nothing: a wrong token, none, the right token from another address,
 * the right token for another message ID, the right one with a malformed
 * INVALID_IKE_SPI notify. Each is counted. Then the
 * right one from the gateway's address (a restart in all but name) does
 * end the SA: the forgeries failed for what they lacked. */
static void forged_crash_answers_ignored(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    connect_now(cl);
    gw->blackhole = true; /* the client's check stays unanswered */
    assert_int_equal(ns_ike_engine_liveness(cl->e, N->net.now), 0);
    run_for(10);
    assert_int_equal(N->last_req.exchange, NS_INFORMATIONAL);
    uint32_t id = N->last_req.msg_id;
    uint8_t right[32], wrong[32];
    token_of(gw_secret, N->last_req.spi_i, N->last_req.spi_r, right);
    memcpy(wrong, right, sizeof(wrong));
    wrong[31] ^= 1;
    struct ns_endpoint gw_ep = N->last_req_to;
    struct ns_endpoint other = {.addr = test_addr("198.51.100.66"), .port = gw_ep.port};

    forge_answer(&gw_ep, wrong, id);
    run_for(10);
    assert_int_equal(ctr(cl).qcd_replies_bad_token, 1);
    forge_answer(&gw_ep, NULL, id);
    run_for(10);
    forge_answer(&other, right, id);
    run_for(10);
    forge_answer(&gw_ep, right, id + 1);
    run_for(10);
    assert_int_equal(ctr(cl).qcd_replies_ignored, 3);
    /* The right answer with a malformed INVALID_IKE_SPI notify (its SPI
     * longer than the notify) is no crash answer: validated, then read. */
    uint64_t malformed = ctr(cl).dropped_malformed + ctr(cl).dropped_unauth;
    forge_answer_spi_size(&gw_ep, right, id, 0x9d);
    run_for(10);
    assert_int_equal(ctr(cl).dropped_malformed + ctr(cl).dropped_unauth, malformed + 1);
    assert_int_equal(ctr(cl).qcd_replies_accepted, 0);
    assert_int_equal(cl->n_client_down, 0);
    assert_true(ike_net_one_established(cl->e));

    forge_answer(&gw_ep, right, id);
    run_for(10);
    assert_int_equal(ctr(cl).qcd_replies_accepted, 1);
    assert_int_equal(cl->n_client_down, 1);
    gw->blackhole = false;
}

/* R15: a crash answer only for SPIs no SA has (RFC 6290 9: a token of a
 * live SA never goes unprotected), only to a request as long as a real
 * sealed one (no amplification beyond 1.4), and at most qcd_rate a
 * second. */
static void crash_answers_bounded(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, "qcd_rate = 3\n");
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    connect_now(cl);
    /* A request of the live SA that does not verify: dropped, no answer. */
    struct ns_ike_sa_status st = ike_net_one_sa(gw->e);
    struct ns_endpoint from = {.addr = test_addr("203.0.113.99"), .port = 4500};
    struct ns_endpoint to = {.addr = test_addr(GW_ADDR), .port = 4500};
    uint8_t buf[128];
    for (unsigned i = 0; i < 12; i++) {
        bool live = i < 2;
        struct ns_ike_header h = {.spi_i = live ? st.spi_i : ns_random_u64() | 1,
                                  .spi_r = live ? st.spi_r : ns_random_u64() | 1,
                                  .version = NS_IKE_VERSION,
                                  .exchange = NS_INFORMATIONAL,
                                  .flags = NS_IKE_FLAG_INITIATOR,
                                  .msg_id = 7};
        if (i == 1) /* our SPI, another peer SPI */
            h.spi_i ^= 0x10;
        struct ns_ike_builder b;
        ns_ike_build_begin(&b, buf, sizeof(buf), &h);
        ns_ike_build_open(&b, NS_PL_SK, false);
        ns_write_zeros(&b.w, i == 2 ? 24 : 48); /* 24: shorter than any sealed SK body */
        ns_ike_build_close(&b);
        int len = ns_ike_build_finish(&b);
        assert_true(len > 0);
        ike_sim_enqueue(&N->net.q, &from, &to, buf, (size_t)len);
        run_for(1);
    }
    assert_int_equal(ctr(gw).qcd_replies_sent, 3);
    assert_int_equal(ctr(gw).qcd_replies_limited, 6);
    assert_true(ike_net_one_established(cl->e));
}

/* X2 X3: after an IKE re-key (new SPIs) the client holds the new SA's
 * token, from the gateway's answer to the re-key, so a restart is still
 * noticed at once. */
static void token_follows_ike_rekey(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    connect_now(cl);
    assert_int_equal(ns_ike_engine_rekey(cl->e, 0, true, N->net.now), 1);
    run_for(3000);
    assert_int_equal(ctr(gw).ike_rekeys, 1);
    assert_int_equal(ctr(cl).qcd_tokens_taken, 2);
    uint64_t killed = N->net.now;
    restart_gateway(gw);
    run_for((DPD_S + 1) * 1000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(ctr(cl).qcd_replies_accepted, 1);
    assert_true(cl->down_at - killed <= DPD_S * 1000 + 100);
}

/* X2 X3: an IKE re-key the gateway starts: its token for the new SPIs
 * follows in an INFORMATIONAL request on the new IKE SA (RFC 6290 4.3),
 * so a restart is still noticed at once. */
static void token_follows_gateway_rekey(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    connect_now(cl);
    assert_int_equal(ns_ike_engine_rekey(gw->e, 0, true, N->net.now), 1);
    run_for(3000);
    assert_int_equal(ctr(cl).ike_rekeys, 1);
    assert_int_equal(ctr(gw).qcd_tokens_sent, 2);
    assert_int_equal(ctr(cl).qcd_tokens_taken, 2);
    assert_int_equal(ike_net_sas_of(cl->e).n, 1); /* the old one deleted */
    uint64_t killed = N->net.now;
    restart_gateway(gw);
    run_for((DPD_S + 1) * 1000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(ctr(cl).qcd_replies_accepted, 1);
    assert_true(cl->down_at - killed <= DPD_S * 1000 + 100);
}

/* X15 X2: a gateway that lost a client's half-open IKE SA (restarted
 * between the two exchanges, or its fair share evicted the SA in a storm)
 * answers the client's IKE_AUTH with an unprotected INVALID_IKE_SPI (RFC
 * 7296 2.21.4). The client takes it as a hint (RFC 7296 2.4: it is not
 * protected): it goes on waiting for a real answer until its next
 * retransmission is due, then ends the attempt as one to retry, instead
 * of retransmitting into no SA for 1 + 2 + 4 + 8 + 16 s. */
static void auth_to_lost_sa_ends_attempt_early(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    N->restart_at_auth = gw;
    ike_net_connect(&N->net, cl->e, &cl->addr);
    run_for(20000);
    assert_null(N->restart_at_auth);
    if (cl->n_client_down != 1)
        fail_msg("the client still waits for an answer to IKE_AUTH from an SA the gateway lost");
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_TIMEOUT);
    assert_true(ns_ike_down_retry(cl->down_reason));
    assert_true(cl->down_at - N->auth_sent_at <= 1000 + 10); /* retransmit_timeout */
    assert_int_equal(ctr(gw).lost_sa_answers, 1);
    assert_int_equal(ctr(cl).lost_sa_hints, 1);
    assert_int_equal(ctr(cl).retransmits, 0);
    ike_net_log_must_have(&N->net, "has no IKE SA for our IKE_AUTH");
    connect_now(cl);
    assert_true(ike_net_one_established(gw->e));
}

/* R15: the hint is taken only from the gateway's address and port, for
 * the IKE_AUTH request out (its message ID); others are counted and change
 * nothing. A hint taken still lets the real answer in until the next
 * retransmission is due: a forger on the path cannot end a handshake that
 * the gateway answers. */
static void lost_sa_hints_checked(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(false, NULL);
    struct ike_node *cl = client("alice", "192.168.1.10", false);
    N->hint_at_auth = true;
    connect_now(cl); /* the hint went ahead of the real answer */
    assert_int_equal(ctr(cl).lost_sa_hints, 1);
    assert_int_equal(cl->n_client_down, 0);

    struct ike_node *bob = client("bob", "192.168.1.11", false);
    N->blackhole_at_auth = gw;
    ike_net_connect(&N->net, bob->e, &bob->addr);
    run_for(10);
    assert_int_equal(N->last_req.exchange, NS_IKE_AUTH);
    uint32_t id = N->last_req.msg_id;
    struct ns_endpoint gw_ep = N->last_req_to;
    struct ns_endpoint other = {.addr = test_addr("198.51.100.66"), .port = gw_ep.port};
    forge_answer(&other, NULL, id);
    forge_answer(&gw_ep, NULL, id + 1);
    run_for(1500);
    assert_int_equal(ctr(bob).lost_sa_hints_ignored, 2);
    assert_int_equal(ctr(bob).lost_sa_hints, 0);
    assert_int_equal(ctr(bob).retransmits, 1);
    assert_int_equal(bob->n_client_down, 0);
    forge_answer(&gw_ep, NULL, id);
    run_for(10);
    uint64_t hinted = N->net.now;
    run_for(2100); /* the retransmission was sent at 1 s, the next due at 3 s */
    assert_int_equal(ctr(bob).lost_sa_hints, 1);
    assert_int_equal(bob->n_client_down, 1);
    assert_int_equal(bob->down_reason, NS_IKE_DOWN_TIMEOUT);
    assert_true(bob->down_at - hinted <= 2000);
    assert_int_equal(ctr(bob).retransmits, 1);
    gw->blackhole = false;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(restart_detected_at_first_check),
        T(gateway_without_qcd),
        T(client_without_qcd_gets_no_token),
        T(forged_crash_answers_ignored),
        T(crash_answers_bounded),
        T(token_follows_ike_rekey),
        T(token_follows_gateway_rekey),
        T(auth_to_lost_sa_ends_attempt_early),
        T(lost_sa_hints_checked),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
