/* EAP passed through to an EAP backend (eap_backend = radius, X16, RFC
 * 3579) in the IKE engine: a natsec client logging in with EAP-MSCHAPv2 to
 * a natsec gateway whose ops->eap_backend is this program, which plays the
 * RADIUS server with natsec's own EAP-MSCHAPv2 authenticator
 * (eap/eap_auth.h) and answers when the test says so, both engines on the
 * simulated network of tests/support/ike_net (a NAT before the client).
 *
 * Shown: the login waits for the backend (the client's retransmissions of
 * the waiting request get no answer and change nothing) and resumes when
 * the answer comes; the MSK of the answer keys both AUTH payloads; the
 * server's State comes back with the next request; Framed-IP-Address is
 * the virtual IP, a Class moves the user to that [peer] section (R9, R17);
 * Access-Reject, no server, an Accept without keys, a Class naming no EAP
 * section and a Framed-IP-Address outside the pool each refused with a log
 * line naming the user; an answer for an SA that went meanwhile ignored. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "eap/eap_auth.h"
#include "ike/engine.h"
#include "support/certs.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 2
#define T0 1000000u
#define PASSWORD "correct horse battery"

enum verdict_mode {
    SERVE,       /* run EAP-MSCHAPv2 and accept */
    REJECT,      /* Access-Reject at the first request */
    UNREACHABLE, /* no server answered */
    NO_KEYS,     /* accept without MS-MPPE keys */
};

/* The backend: one request in flight at a time, as the engine sends them. */
struct backend {
    bool have;
    uint64_t sa_id;
    uint8_t eap[NS_EAPB_EAP_MAX];
    size_t eap_len;
    uint8_t user[NS_EAP_IDENTITY_MAX];
    size_t user_len;
    uint8_t state[NS_EAPB_STATE_MAX];
    size_t state_len;
    unsigned requests;
    unsigned cancelled; /* eap_backend_cancel calls */
    struct ns_eap_server srv;
    uint8_t sent_state; /* the State of our last Challenge, 0: none yet */
    enum verdict_mode mode;
    const char *class_name;
    const char *framed_ip;
};

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
    unsigned auth_responses;
    struct backend b;
    char secret_path[64];
};

static struct net *N;

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    if (len >= NS_IKE_HEADER_LEN && msg[18] == NS_IKE_AUTH && (msg[19] & NS_IKE_FLAG_RESPONSE))
        N->auth_responses++;
    ike_node_send(ctx, local, remote, msg, len, marker);
}

/* The engine hands a client's EAP packet over; it is kept until serve(). */
static int ops_eap_backend(void *ctx, const struct ns_eapb_request *rq)
{
    (void)ctx;
    struct backend *b = &N->b;
    assert_false(b->have); /* one at a time: the request waits */
    assert_true(rq->eap_len <= sizeof(b->eap) && rq->user_len <= sizeof(b->user));
    b->have = true;
    b->requests++;
    b->sa_id = rq->ike_sa_id;
    memcpy(b->eap, rq->eap, rq->eap_len);
    b->eap_len = rq->eap_len;
    memcpy(b->user, rq->user, rq->user_len);
    b->user_len = rq->user_len;
    memcpy(b->state, rq->state, rq->state_len);
    b->state_len = rq->state_len;
    return 0;
}

static void ops_eap_backend_cancel(void *ctx, uint64_t ike_sa_id)
{
    (void)ctx;
    if (N->b.have && N->b.sa_id == ike_sa_id)
        N->b.have = false;
    N->b.cancelled++;
}

static bool find_user(void *ctx, const uint8_t *name, size_t len,
                      uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN])
{
    (void)ctx;
    return len == 5 && memcmp(name, "alice", 5) == 0 &&
           ns_mschapv2_nt_hash(PASSWORD, strlen(PASSWORD), nt_hash) == 0;
}

/* The server's answer to the request in flight, into a. */
static void server_answer(struct backend *b, struct ns_eapb_answer *a)
{
    memset(a, 0, sizeof(*a));
    struct ns_writer w;
    ns_writer_init(&w, a->eap, sizeof(a->eap));
    if (b->mode == REJECT || b->mode == UNREACHABLE) {
        a->verdict = b->mode == REJECT ? NS_EAPB_REJECT : NS_EAPB_UNREACHABLE;
        snprintf(a->why, sizeof(a->why), "no RADIUS server answered (test)");
        return;
    }
    /* The server sees the State of its last answer again (RFC 2865 5.24). */
    assert_int_equal(b->state_len, b->sent_state ? 1 : 0);
    if (b->sent_state)
        assert_int_equal(b->state[0], b->sent_state);
    if (b->requests == 1) {
        /* The gateway asked the Identity itself: the server starts with
         * it, as a RADIUS server takes EAP-Response/Identity. */
        assert_int_equal(b->user_len, 5);
        assert_memory_equal(b->user, "alice", 5);
        uint8_t scratch[NS_EAP_OUT_MAX];
        struct ns_writer sw;
        ns_writer_init(&sw, scratch, sizeof(scratch));
        assert_int_equal(ns_eap_server_begin(&b->srv, "radius", &sw), NS_EAP_STEP_SEND);
        /* Like a RADIUS server, it goes on from the Identifier of the
         * Response it was given, so its first Request never repeats the
         * Identifier of the gateway's Identity Request (the client would
         * take it for a retransmission, RFC 3748 4.1). */
        b->srv.id = b->eap[1];
    }
    enum ns_eap_step st = ns_eap_server_input(&b->srv, b->eap, b->eap_len, find_user, NULL, &w);
    a->eap_len = ns_writer_len(&w);
    if (st == NS_EAP_STEP_SEND) {
        a->verdict = NS_EAPB_CHALLENGE;
        a->state[0] = b->sent_state = (uint8_t)(0x40 + b->requests);
        a->state_len = 1;
        return;
    }
    a->verdict = st == NS_EAP_STEP_SUCCESS ? NS_EAPB_ACCEPT : NS_EAPB_REJECT;
    if (st == NS_EAP_STEP_SUCCESS && b->mode != NO_KEYS) {
        memcpy(a->msk, b->srv.msk, 32); /* MS-MPPE-Recv-Key | Send-Key */
        a->msk_len = 32;
    }
    if (b->class_name)
        snprintf(a->class_name, sizeof(a->class_name), "%s", b->class_name);
    if (b->framed_ip) {
        struct ns_addr ip = test_addr(b->framed_ip);
        a->have_framed_ip = true;
        a->framed_ip = ns_addr_to_ipv4(&ip);
    }
}

/* Answers the request in flight, if any. */
static void serve(void)
{
    struct backend *b = &N->b;
    if (!b->have)
        return;
    b->have = false;
    struct ns_eapb_answer a;
    server_answer(b, &a);
    ns_ike_engine_eap_answer(N->node[0].e, b->sa_id, &a, N->net.now);
}

/* Runs the network for ms, the backend answering every 20 ms. */
static void run_serving(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 20) {
        ike_net_run_for(&N->net, 20);
        serve();
    }
}

static struct ike_node *new_node(const char *name, const char *a, int nat, const char *text)
{
    struct ns_ike_ops ops = ike_node_ops;
    ops.send = ops_send;
    ops.eap_backend = ops_eap_backend;
    ops.eap_backend_cancel = ops_eap_backend_cancel;
    struct ike_node *n = ike_net_add_node(&N->net, name, a, nat, IKE_SIM_MAX_SPIS, text);
    ike_net_node_start(&N->net, n, &ops);
    return n;
}

static struct ike_node *gateway(void)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 2\neap_backend = radius\n"
             "radius_server = 127.0.0.1\nradius_secret_file = %s\n%s\n"
             "[peer %%default]\nauth = eap-mschapv2\nsubnets = 192.0.2.0/24\n"
             "[peer narrow]\nauth = eap-mschapv2\nsubnets = 192.0.2.10/32\n"
             "[peer psk-only.example]\npsk = a long random passphrase for it\n"
             "subnets = 192.0.2.0/24\n",
             N->secret_path, cert_conf_lines("gw-ecdsa", "ca.pem"));
    return new_node("gateway", GW_ADDR, -1, text);
}

static struct ike_node *client(const char *password)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = laptop-17.corp.example\ngateway = " GW_ADDR
             "\nremote_id = vpn.corp.example\nretransmit_timeout = 1.0\nretransmit_tries = 2\n"
             "ca = %s\n[peer vpn.corp.example]\nauth = eap-mschapv2\neap_user = alice\n"
             "eap_password = %s\nsubnets = 192.0.2.0/24\n",
             cert_path("ca.pem"), password);
    return new_node("client", "192.168.1.10", 0, text);
}

static void start(struct ike_node *cl)
{
    ike_net_connect(&N->net, cl->e, &cl->addr);
}

static void assert_refused(const struct ike_node *gw, const struct ike_node *cl)
{
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_int_equal(gw->n_child_up, 0);
    assert_int_equal(ike_net_counters(gw->e).half_open, 0);
    ike_net_log_must_not_have(&N->net, PASSWORD);
}

static int setup(void **state)
{
    (void)state;
    N = calloc(1, sizeof(*N));
    if (!N)
        return -1;
    struct ike_net_opts o = {.now = T0,
                             .log_level = NS_LOG_DEBUG,
                             .guard = 100000,
                             .nat = "203.0.113.5",
                             .nat_first_port = 40000,
                             IKE_NET_NODES(N->node),
                             .owner = N};
    if (ike_net_open(&N->net, &o) != 0)
        return -1;
    snprintf(N->secret_path, sizeof(N->secret_path), "/tmp/natsec-eapb-secret.%d", (int)getpid());
    FILE *f = fopen(N->secret_path, "w");
    if (!f)
        return -1;
    fputs("test-secret\n", f);
    fclose(f);
    chmod(N->secret_path, 0600);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(N->secret_path);
    return ike_net_teardown(state);
}

/* ================= scenarios ================= */

/* The login waits while the backend does: the client retransmits, the
 * gateway stays silent and the SA where it was; then it goes on. X16 */
static void login_waits_for_the_backend(void **state)
{
    (void)state;
    struct ike_node *gw = gateway();
    struct ike_node *cl = client(PASSWORD);
    start(cl);
    ike_net_run_for(&N->net, 1000);
    assert_true(N->b.have); /* the Identity, at the backend */
    assert_int_equal(N->b.requests, 1);
    unsigned answers = N->auth_responses;
    struct ns_ike_counters before = ike_net_counters(gw->e);
    ike_net_run_for(&N->net, 2500); /* the client retransmits meanwhile */
    assert_int_equal(N->auth_responses, answers);
    assert_true(ike_net_counters(cl->e).retransmits >= 1);
    assert_true(ike_net_counters(gw->e).dropped_unexpected > before.dropped_unexpected);
    assert_int_equal(N->b.requests, 1); /* nothing relayed twice */
    assert_string_equal(ike_net_one_sa(gw->e).state, "EAP_SENT");
    run_serving(3000);
    assert_int_equal(ike_net_established(gw->e), 1);
    assert_int_equal(ike_net_established(cl->e), 1);
    assert_int_equal(cl->n_client_up, 1);
    assert_int_equal(gw->n_child_up, 1);
    /* Identity, MS-CHAPv2 Response, Success acknowledgement. */
    assert_int_equal(N->b.requests, 3);
    struct ns_addr want = test_addr("10.99.0.2");
    assert_true(ns_addr_equal(&cl->vip, &want)); /* no Framed-IP-Address: the pool */
    struct ns_ike_sa_status st = ike_net_one_sa(gw->e);
    assert_string_equal(st.peer_name, "%default");
    ike_net_log_must_have(&N->net,
                          "'laptop-17.corp.example' logs in with EAP on RADIUS ([peer %default])");
    ike_net_log_must_have(&N->net, "the RADIUS server accepted user 'alice'; its AUTH from the "
                                   "MSK is next");
    ike_net_log_must_have(&N->net, "user 'alice' authenticated by EAP on RADIUS (IDi "
                                   "'laptop-17.corp.example', [peer %default])");
    ike_net_log_must_have(&N->net, "logged in as user 'alice'");
    ike_net_log_must_not_have(&N->net, PASSWORD);
    assert_int_equal(ike_net_counters(gw->e).illegal_transitions, 0);
}

/* Framed-IP-Address is the virtual IP; Class moves the user to its
 * section, whose subnets the CHILD_SA gets. X16 R6 R9 R17 */
static void framed_ip_and_class(void **state)
{
    (void)state;
    N->b.framed_ip = "10.99.0.77";
    N->b.class_name = "narrow";
    struct ike_node *gw = gateway();
    struct ike_node *cl = client(PASSWORD);
    start(cl);
    run_serving(4000);
    assert_int_equal(ike_net_established(gw->e), 1);
    struct ns_addr want = test_addr("10.99.0.77");
    assert_true(ns_addr_equal(&cl->vip, &want));
    struct ns_ike_sa_status st = ike_net_one_sa(gw->e);
    assert_string_equal(st.peer_name, "narrow");
    assert_int_equal(st.n_child, 1);
    assert_int_equal(st.child[0].n_local_ts, 1);
    char ts[NS_TS_STRLEN];
    assert_non_null(strstr(ns_ts_str(&st.child[0].local_ts[0], ts), "192.0.2.10"));
    ike_net_log_must_have(&N->net, "the RADIUS server accepted user 'alice' with class 'narrow'");
}

static void refused_with(enum verdict_mode mode, const char *cls, const char *framed,
                         const char *log)
{
    N->b.mode = mode;
    N->b.class_name = cls;
    N->b.framed_ip = framed;
    struct ike_node *gw = gateway();
    struct ike_node *cl = client(PASSWORD);
    start(cl);
    run_serving(5000);
    assert_int_equal(ike_net_established(gw->e), 0);
    assert_int_equal(cl->n_client_up, 0);
    ike_net_log_must_have(&N->net, log);
    if (!framed)
        assert_refused(gw, cl);
}

static void access_reject(void **state) /* X16 */
{
    (void)state;
    refused_with(REJECT, NULL, NULL,
                 "authentication failed: EAP on RADIUS: user 'alice': the RADIUS server refused "
                 "the login (Access-Reject)");
}

static void no_server(void **state) /* X16 */
{
    (void)state;
    refused_with(UNREACHABLE, NULL, NULL,
                 "authentication failed: EAP on RADIUS: user 'alice': no RADIUS server answered "
                 "(test)");
}

static void accept_without_keys(void **state) /* X16 */
{
    (void)state;
    refused_with(NO_KEYS, NULL, NULL,
                 "authentication failed: EAP on RADIUS: user 'alice': Access-Accept without "
                 "MS-MPPE keys");
}

static void class_of_no_eap_section(void **state) /* X16 R9 */
{
    (void)state;
    refused_with(SERVE, "psk-only.example", NULL,
                 "user 'alice': the RADIUS server gives class 'psk-only.example', and no [peer] "
                 "section of that name says auth = eap-mschapv2");
}

static void framed_ip_outside_the_pool(void **state) /* X16 R6 */
{
    (void)state;
    refused_with(SERVE, NULL, "10.98.0.5",
                 "the RADIUS server assigns 10.98.0.5, which is not a free address of the pool");
    assert_int_equal(N->node[0].n_child_up, 0);
}

/* The SA goes (half-open timeout) while the backend is silent: its
 * request is cancelled, and a late answer finds nothing and changes
 * nothing. X16 R15 */
static void answer_after_the_sa_went(void **state)
{
    (void)state;
    struct ike_node *gw = gateway();
    struct ike_node *cl = client(PASSWORD);
    start(cl);
    ike_net_run_for(&N->net, 1000);
    assert_true(N->b.have);
    uint64_t sa_id = N->b.sa_id;
    ike_net_run_for(&N->net, 31000);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
    assert_int_equal(ike_net_counters(gw->e).half_open, 0);
    assert_int_equal(N->b.cancelled, 1);
    assert_false(N->b.have);
    unsigned answers = N->auth_responses;
    struct ns_eapb_answer a;
    memset(&a, 0, sizeof(a));
    a.verdict = NS_EAPB_REJECT;
    ns_ike_engine_eap_answer(gw->e, sa_id, &a, N->net.now);
    ike_net_run_for(&N->net, 1000);
    assert_int_equal(N->auth_responses, answers);
    assert_int_equal(ike_net_sas_of(gw->e).n, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(login_waits_for_the_backend),
        T(framed_ip_and_class),
        T(access_reject),
        T(no_server),
        T(accept_without_keys),
        T(class_of_no_eap_section),
        T(framed_ip_outside_the_pool),
        T(answer_after_the_sa_went),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
