/* EAP in IKE_AUTH (RFC 7296 2.16) with EAP-MSCHAPv2 (X12): a natsec client
 * logging in with a user name and password to a natsec gateway that shows
 * its ECDSA certificate (X7), both engines in this process on the
 * simulated network of tests/support/ike_sim (a NAT in front of the
 * client), with the certificates of tests/fixtures/certs.
 *
 * Shown: a login with a virtual IP and a CHILD_SA in five IKE_AUTH
 * exchanges, the gateway's SA known by the user name; a wrong password and
 * an unknown user refused with EAP-Failure and AUTHENTICATION_FAILED and a
 * log line naming the user (never the password); a client that wants
 * EAP-MD5, one that repeats an old EAP Response, one that never stops
 * repeating (too many rounds); a lost answer retransmitted from the
 * response cache; a client that stalls mid-EAP dropped at the half-open
 * timeout (R15); a gateway the client does not trust gets no EAP at all;
 * an EAP client to a PSK section refused.
 *
 * The odd clients are a natsec client whose EAP answers this program
 * changes on their way out (ns_eap_peer_input is wrapped at link time). */
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

#include "eap/eap_auth.h"
#include "eap/eap_mschapv2.h"
#include "ike/engine.h"
#include "ike/msg.h"
#include "support/certs.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 3
#define T0 1000000u
#define PASSWORD "correct horse battery"

/* How the client's EAP answers are changed on their way out. */
enum twist {
    STRAIGHT,    /* as natsec builds them */
    WANT_MD5,    /* the Challenge answered with a Nak for EAP-MD5 */
    REPEAT_ONCE, /* the Challenge answered once with the old Identity Response */
    REPEAT_EVER, /* every Request answered with the first Response */
};

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
    /* IKE_AUTH messages sent, by direction, and what to drop. */
    unsigned auth_requests, auth_responses;
    uint32_t drop_response_id;   /* the gateway's IKE_AUTH answer with this ID, once (0: none) */
    uint32_t drop_requests_from; /* the client's IKE_AUTH requests from this ID on (0: none) */
    enum twist twist;
    unsigned twisted;
    uint8_t first_resp[NS_EAP_OUT_MAX];
    size_t first_resp_len;
};

static struct net *N;

/* ---- the network ---- */

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    if (len >= NS_IKE_HEADER_LEN && msg[18] == NS_IKE_AUTH) {
        bool response = msg[19] & NS_IKE_FLAG_RESPONSE;
        uint32_t id = ns_get_u32(msg + 20);
        if (response) {
            N->auth_responses++;
            if (id == N->drop_response_id) {
                N->drop_response_id = 0;
                return;
            }
        } else {
            N->auth_requests++;
            if (N->drop_requests_from && id >= N->drop_requests_from)
                return;
        }
    }
    ike_node_send(ctx, local, remote, msg, len, marker);
}

static void run_for(uint64_t ms)
{
    ike_net_run_for(&N->net, ms);
}

/* ---- the odd clients ---- */

enum ns_eap_step __real_ns_eap_peer_input(struct ns_eap_peer *p, const uint8_t *pkt, size_t len,
                                          struct ns_writer *out);
enum ns_eap_step __wrap_ns_eap_peer_input(struct ns_eap_peer *p, const uint8_t *pkt, size_t len,
                                          struct ns_writer *out);

enum ns_eap_step __wrap_ns_eap_peer_input(struct ns_eap_peer *p, const uint8_t *pkt, size_t len,
                                          struct ns_writer *out)
{
    size_t start = ns_writer_len(out);
    bool challenge = len > 5 && pkt[4] == NS_EAP_T_MSCHAPV2 && pkt[5] == NS_MSCHAPV2_CHALLENGE;
    if (N->twist == WANT_MD5 && challenge) {
        static const uint8_t md5 = NS_EAP_T_MD5;
        N->twisted++;
        ns_eap_build_nak(out, pkt[1], &md5, 1);
        return NS_EAP_STEP_SEND;
    }
    bool request = len > 0 && pkt[0] == NS_EAP_REQUEST;
    if ((N->twist == REPEAT_ONCE && challenge && !N->twisted) ||
        (N->twist == REPEAT_EVER && request && N->first_resp_len)) {
        N->twisted++;
        ns_write_bytes(out, N->first_resp, N->first_resp_len);
        return NS_EAP_STEP_SEND;
    }
    enum ns_eap_step st = __real_ns_eap_peer_input(p, pkt, len, out);
    if (st == NS_EAP_STEP_SEND && !N->first_resp_len) {
        N->first_resp_len = ns_writer_len(out) - start;
        memcpy(N->first_resp, out->data + start, N->first_resp_len);
    }
    return st;
}

/* ---- nodes ---- */

static struct ike_node *new_node(const char *name, const char *a, int nat, const char *text)
{
    return ike_net_add_started_node(&N->net, name, a, nat, IKE_SIM_MAX_SPIS, text, NULL);
}

#define EAP_PEERS                                                                                  \
    "[peer %default]\nauth = eap-mschapv2\nsubnets = 192.0.2.0/24\n"                               \
    "[user alice]\npassword = " PASSWORD "\n"                                                      \
    "[user bob]\nnt_hash = 0x44EBBA8D5312B8D611474411F56989AE\n"

/* The gateway (node 0) with certificate NAME; peers: its [peer] and
 * [user] sections. */
static struct ike_node *gateway_cert(const char *name, const char *peers)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 2\n%s\n%s",
             cert_conf_lines(name, "ca.pem"), peers ? peers : EAP_PEERS);
    return new_node("gateway", GW_ADDR, -1, text);
}

static struct ike_node *gateway(const char *peers)
{
    return gateway_cert("gw-ecdsa", peers);
}

/* A client behind the NAT logging in as user with password, trusting ca. */
static struct ike_node *client(const char *user, const char *password, const char *ca)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = laptop-17.corp.example\ngateway = " GW_ADDR
             "\nremote_id = vpn.corp.example\nretransmit_timeout = 1.0\nretransmit_tries = 2\n"
             "ca = %s\n[peer vpn.corp.example]\nauth = eap-mschapv2\neap_user = %s\n"
             "eap_password = %s\nsubnets = 192.0.2.0/24\n",
             cert_path(ca), user, password);
    return new_node("client", "192.168.1.10", 0, text);
}

static void connect_run(struct ike_node *cl, uint64_t ms)
{
    ike_net_connect(&N->net, cl->e, &cl->addr);
    run_for(ms);
}

/* ---- inspection ---- */

static struct ns_ike_counters counters(const struct ike_node *n)
{
    return ike_net_counters(n->e);
}

static unsigned established(const struct ike_node *n)
{
    return ike_net_established(n->e);
}

static void log_must_have(const char *needle)
{
    ike_net_log_must_have(&N->net, needle);
}

static void log_must_not_have(const char *needle)
{
    ike_net_log_must_not_have(&N->net, needle);
}

static void assert_up(const struct ike_node *gw, const struct ike_node *cl)
{
    assert_int_equal(established(cl), 1);
    assert_int_equal(established(gw), 1);
    assert_int_equal(cl->n_client_up, 1);
    assert_int_equal(cl->n_child_up, 1);
    assert_int_equal(gw->n_child_up, 1);
    assert_int_equal(gw->child[0].in.spi, cl->child[0].out.spi);
    assert_int_equal(gw->child[0].out.spi, cl->child[0].in.spi);
    assert_int_equal(cl->vip.family, AF_INET);
    assert_int_equal(counters(gw).half_open, 0);
}

/* The client was refused: down for authentication, nothing left on
 * either side. */
static void assert_refused(const struct ike_node *gw, const struct ike_node *cl)
{
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_int_equal(cl->n_child_up, 0);
    assert_int_equal(ike_net_sas_of(cl->e).n, 0);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_int_equal(gw->n_child_up, 0);
    assert_true(counters(gw).auth_failures >= 1);
    assert_int_equal(counters(gw).half_open, 0);
    log_must_not_have(PASSWORD);
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_DEBUG, .guard = 100000, .send = ops_send,
                .nat = "203.0.113.5", .nat_first_port = 40000)

/* ================= scenarios ================= */

static void login(void **state) /* X12 X7 R6 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    connect_run(cl, 3000);
    assert_up(gw, cl);
    /* IDi, Identity, Response, Success acknowledgement, AUTH: five
     * exchanges, each with its own message ID (2.16). */
    assert_int_equal(N->auth_requests, 5);
    assert_int_equal(N->auth_responses, 5);
    struct ns_addr want = test_addr("10.99.0.2");
    assert_true(ns_addr_equal(&cl->vip, &want));
    /* The gateway knows the client by the user it logged in as. */
    struct ns_ike_sa_status st = ike_net_one_sa(gw->e);
    struct ns_conf_id alice;
    assert_int_equal(ns_conf_id_parse("alice", &alice), 0);
    assert_true(ns_conf_id_equal(&st.remote_id, &alice));
    assert_string_equal(st.peer_name, "%default");
    log_must_have("'laptop-17.corp.example' logs in with EAP-MSCHAPv2 ([peer %default])");
    log_must_have("user 'alice' authenticated by EAP-MSCHAPv2 (IDi 'laptop-17.corp.example', "
                  "[peer %default])");
    /* The client checked the gateway's certificate first (X7), and the
     * gateway's MS-CHAPv2 proof before EAP-Success. */
    log_must_have("'vpn.corp.example' authenticated by certificate 'C=CH, O=Corp, "
                  "CN=vpn.corp.example' (issuer 'C=CH, O=natsec test, CN=natsec Test CA'), "
                  "ECDSA P-256, ecdsa-with-SHA256 (RFC 7427)");
    log_must_have("logged in as user 'alice' (EAP-MSCHAPv2; the gateway proved it knows our "
                  "password)");
    log_must_not_have(PASSWORD);
    assert_int_equal(counters(gw).illegal_transitions, 0);
    assert_int_equal(counters(cl).illegal_transitions, 0);
}

/* X12 X2: quick crash detection (RFC 6290) with EAP: the client's token
 * goes in its first IKE_AUTH request, which the gateway keeps through the
 * EAP rounds, and the gateway's in its last answer (its AUTH after
 * EAP-Success); after a restart of the gateway (same secret) the client's
 * first liveness check (dpd 30 s) ends the IKE SA. */
static void login_with_qcd(void **state)
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    /* As ns_conf_qcd_secret leaves them; the engines read them as they go. */
    memset(gw->conf.qcd_secret, 0x42, sizeof(gw->conf.qcd_secret));
    gw->conf.qcd_secret_set = true;
    memset(cl->conf.qcd_secret, 0x17, sizeof(cl->conf.qcd_secret));
    cl->conf.qcd_secret_set = true;
    connect_run(cl, 3000);
    assert_up(gw, cl);
    assert_int_equal(counters(gw).qcd_tokens_sent, 1);
    assert_int_equal(counters(cl).qcd_tokens_taken, 1);
    ns_ike_engine_free(gw->e);
    gw->e = NULL;
    ike_net_node_start(&N->net, gw, NULL);
    run_for(31000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_PEER_DELETE);
    assert_int_equal(counters(cl).qcd_replies_accepted, 1);
}

/* A user given by its NT hash logs in the same way, here to a gateway
 * with an RSA certificate (which signs only with RFC 7427's hashes: the
 * client announces them). */
static void login_by_nt_hash(void **state) /* X12 X7 */
{
    (void)state;
    struct ike_node *gw = gateway_cert("gw-rsa", NULL);
    struct ike_node *cl = client("bob", "clientPass", "ca.pem");
    connect_run(cl, 3000);
    assert_up(gw, cl);
    log_must_have("RSA-2048, sha256WithRSAEncryption (RFC 7427)");
}

static void wrong_password(void **state) /* X12 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", "Tr0ub4dor&3", "ca.pem");
    connect_run(cl, 3000);
    assert_refused(gw, cl);
    log_must_have("authentication failed: EAP-MSCHAPv2: user 'alice': wrong password");
    log_must_have("the gateway refused user 'alice' (EAP-Failure)");
    log_must_not_have("Tr0ub4dor");
    /* Identity, Response: refused at the third exchange. */
    assert_int_equal(N->auth_requests, 3);
}

static void unknown_user(void **state) /* X12 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("mallory", PASSWORD, "ca.pem");
    connect_run(cl, 3000);
    assert_refused(gw, cl);
    log_must_have("authentication failed: EAP-MSCHAPv2: unknown user 'mallory'");
    /* Refused as late as a wrong password: the exchange does not tell. */
    assert_int_equal(N->auth_requests, 3);
}

static void client_wants_md5(void **state) /* X12 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    N->twist = WANT_MD5;
    connect_run(cl, 3000);
    assert_int_equal(N->twisted, 1);
    assert_refused(gw, cl);
    log_must_have("authentication failed: EAP-MSCHAPv2: the client refuses EAP-MSCHAPv2 and asks "
                  "for EAP-MD5-Challenge (4)");
}

/* An old EAP Response gets the outstanding Request again; the login then
 * goes on. */
static void repeated_response(void **state) /* X12 R15 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    N->twist = REPEAT_ONCE;
    connect_run(cl, 3000);
    assert_int_equal(N->twisted, 1);
    assert_up(gw, cl);
    assert_int_equal(N->auth_requests, 6);
}

static void too_many_rounds(void **state) /* X12 R15 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    N->twist = REPEAT_EVER;
    connect_run(cl, 5000);
    log_must_have("authentication failed: EAP-MSCHAPv2: more than 8 EAP rounds");
    assert_int_equal(N->auth_requests, 1 + NS_EAP_MAX_ROUNDS + 1);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_int_equal(counters(gw).half_open, 0);
}

/* A lost answer: the client sends its request again, and the gateway
 * answers it from its cache, not by running the round twice. */
static void lost_answer(void **state) /* X12 R15 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    N->drop_response_id = 3; /* the MS-CHAPv2 Success Request */
    connect_run(cl, 5000);
    assert_up(gw, cl);
    assert_int_equal(counters(gw).responses_resent, 1);
    assert_int_equal(counters(cl).retransmits, 1);
}

/* A client that stops in the middle of EAP holds a half-open SA, which
 * goes at the half-open timeout (R15). */
static void stalled_mid_eap(void **state) /* X12 R15 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    N->drop_requests_from = 3;
    connect_run(cl, 1000);
    struct ns_ike_sa_status st = ike_net_one_sa(gw->e);
    assert_string_equal(st.state, "EAP_SENT");
    assert_int_equal(counters(gw).half_open, 1);
    /* The client gives up after its tries; the gateway at 30 s. */
    run_for(20000);
    assert_int_equal(counters(gw).half_open, 1);
    run_for(12000);
    assert_int_equal(counters(gw).half_open, 0);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_int_equal(established(gw), 0);
}

/* Nothing of the password goes to a gateway whose certificate the client
 * does not trust: it stops before EAP. */
static void untrusted_gateway_gets_nothing(void **state) /* X12 X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway(NULL);
    struct ike_node *cl = client("alice", PASSWORD, "other-ca.pem");
    connect_run(cl, 3000);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    log_must_have("is not trusted");
    assert_int_equal(N->first_resp_len, 0); /* no EAP Response was ever built */
    assert_int_equal(established(gw), 0);
}

/* An EAP client to a section that wants a PSK, and a PSK client to an
 * EAP section, are refused by name. */
static void method_must_match_the_section(void **state) /* X12 */
{
    (void)state;
    struct ike_node *gw = gateway("[peer %default]\npsk = a long random passphrase for all\n"
                                  "subnets = 192.0.2.0/24\n");
    struct ike_node *cl = client("alice", PASSWORD, "ca.pem");
    connect_run(cl, 3000);
    assert_refused(gw, cl);
    log_must_have("'laptop-17.corp.example' sends no AUTH payload (it wants EAP), its [peer "
                  "%default] says auth = psk");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(login),
        T(login_by_nt_hash),
        T(login_with_qcd),
        T(wrong_password),
        T(unknown_user),
        T(client_wants_md5),
        T(repeated_response),
        T(too_many_rounds),
        T(lost_answer),
        T(stalled_mid_eap),
        T(untrusted_gateway_gets_nothing),
        T(method_must_match_the_section),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
