/* Unit tests for the EAP state machines of src/eap/eap_auth.h (X12): the
 * authenticator (EAP-Identity, then EAP-MSCHAPv2) and the peer, first
 * talking to each other (the MSK the same on both sides), then each fed
 * what a broken or hostile other side sends: a wrong password, an unknown
 * user (run through a Challenge all the same), EAP-MD5 offered or asked
 * for, a Nak, Responses out of order and repeated Identifiers, too many
 * rounds, oversized and malformed packets, a gateway that does not know
 * the password, EAP-Success before the gateway proved itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <string.h>

#include "eap/eap_auth.h"
#include "eap/eap_mschapv2.h"

#define PASSWORD "clientPass"

static uint8_t alice_hash[NS_MSCHAPV2_HASH_LEN];

/* The authenticator's user table: alice only. */
static bool find_user(void *ctx, const uint8_t *name, size_t len,
                      uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN])
{
    unsigned *calls = ctx;
    (*calls)++;
    if (len != 5 || memcmp(name, "alice", 5) != 0)
        return false;
    memcpy(nt_hash, alice_hash, NS_MSCHAPV2_HASH_LEN);
    return true;
}

/* One packet, in a buffer of its own. */
struct pkt {
    uint8_t b[NS_EAP_OUT_MAX];
    size_t len;
};

struct run {
    struct ns_eap_server s;
    struct ns_eap_peer p;
    unsigned lookups;
    struct pkt req, resp; /* the last of each */
};

static int setup(void **state)
{
    (void)state;
    return ns_mschapv2_nt_hash(PASSWORD, strlen(PASSWORD), alice_hash);
}

static void expect_why(const char *why, const char *want)
{
    if (!strstr(why, want))
        fail_msg("why is \"%s\", want \"%s\"", why, want);
}

static enum ns_eap_step server_in(struct run *r, const uint8_t *b, size_t len)
{
    struct ns_writer w;
    ns_writer_init(&w, r->req.b, sizeof(r->req.b));
    enum ns_eap_step st = ns_eap_server_input(&r->s, b, len, find_user, &r->lookups, &w);
    r->req.len = ns_writer_len(&w);
    return st;
}

static enum ns_eap_step peer_in(struct run *r, const uint8_t *b, size_t len)
{
    struct ns_writer w;
    ns_writer_init(&w, r->resp.b, sizeof(r->resp.b));
    enum ns_eap_step st = ns_eap_peer_input(&r->p, b, len, &w);
    r->resp.len = ns_writer_len(&w);
    return st;
}

static void begin(struct run *r, const char *user, const char *password)
{
    uint8_t h[NS_MSCHAPV2_HASH_LEN];
    struct ns_writer w;
    memset(r, 0, sizeof(*r));
    assert_int_equal(ns_mschapv2_nt_hash(password, strlen(password), h), 0);
    assert_true(ns_eap_peer_init(&r->p, user, strlen(user), h));
    ns_writer_init(&w, r->req.b, sizeof(r->req.b));
    assert_int_equal(ns_eap_server_begin(&r->s, "vpn.corp.example", &w), NS_EAP_STEP_SEND);
    r->req.len = ns_writer_len(&w);
}

/* The peer answers the authenticator's last Request; the authenticator
 * takes the answer. */
static enum ns_eap_step round_trip(struct run *r)
{
    assert_int_equal(peer_in(r, r->req.b, r->req.len), NS_EAP_STEP_SEND);
    return server_in(r, r->resp.b, r->resp.len);
}

static struct ns_eap parsed(const struct pkt *k)
{
    struct ns_eap e;
    assert_int_equal(ns_eap_parse(k->b, k->len, &e), NS_EAP_OK);
    return e;
}

/* Identity, Challenge, Success, EAP-Success: one MSK on both sides. */
static void both_sides_agree(void **state) /* X12 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    struct ns_eap e = parsed(&r.req);
    assert_int_equal(e.code, NS_EAP_REQUEST);
    assert_int_equal(e.type, NS_EAP_T_IDENTITY);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND); /* Identity -> Challenge */
    assert_int_equal(r.lookups, 1);
    e = parsed(&r.req);
    assert_int_equal(e.type, NS_EAP_T_MSCHAPV2);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);    /* Response -> Success Request */
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SUCCESS); /* ack -> EAP-Success */
    e = parsed(&r.req);
    assert_int_equal(e.code, NS_EAP_SUCCESS);
    assert_int_equal(peer_in(&r, r.req.b, r.req.len), NS_EAP_STEP_SUCCESS);
    assert_memory_equal(r.s.msk, r.p.msk, NS_MSCHAPV2_MSK_LEN);
    static const uint8_t zero[32];
    assert_memory_not_equal(r.s.msk, zero, 32);
    assert_memory_equal(r.s.msk + 32, zero, 32); /* RFC 3079 keys, then 32 zero bytes */
    assert_int_equal(r.s.rounds, 3);
    /* Nothing more is taken. */
    assert_int_equal(server_in(&r, r.resp.b, r.resp.len), NS_EAP_STEP_FAILURE);
}

/* A domain before the user name is sent, and left out of the hash
 * (RFC 2759 4). */
static void domain_user(void **state) /* X12 */
{
    (void)state;
    struct run r;
    begin(&r, "CORP\\alice", PASSWORD);
    assert_int_equal(peer_in(&r, r.req.b, r.req.len), NS_EAP_STEP_SEND);
    struct ns_eap e = parsed(&r.resp);
    assert_int_equal(e.data_len, 10);
    assert_memory_equal(e.data, "CORP\\alice", 10);
}

static void wrong_password(void **state) /* X12 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", "not the password");
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_FAILURE);
    expect_why(r.s.why, "user 'alice': wrong password");
    assert_null(strstr(r.s.why, "not the password"));
    struct ns_eap e = parsed(&r.req);
    assert_int_equal(e.code, NS_EAP_FAILURE);
    assert_int_equal(e.id, parsed(&r.resp).id); /* answers the Response (RFC 3748 4.2) */
    assert_int_equal(peer_in(&r, r.req.b, r.req.len), NS_EAP_STEP_FAILURE);
    expect_why(r.p.why, "the gateway refused user 'alice' (EAP-Failure)");
}

/* An unknown user gets a Challenge like anyone (who has an account is not
 * told), and is refused at its Response. */
static void unknown_user(void **state) /* X12 */
{
    (void)state;
    struct run r;
    begin(&r, "mallory", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    struct ns_eap e = parsed(&r.req);
    assert_int_equal(e.type, NS_EAP_T_MSCHAPV2);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_FAILURE);
    expect_why(r.s.why, "unknown user 'mallory'");
    assert_int_equal(parsed(&r.req).code, NS_EAP_FAILURE);
}

/* The peer declines EAP-MD5 with a Nak for EAP-MSCHAPv2 (RFC 3748 5.3.1). */
static void peer_naks_md5(void **state) /* X12 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    static const uint8_t md5[] = {1, 9, 0, 22, NS_EAP_T_MD5, 16, 1,  2,  3,  4,  5,   6,
                                  7, 8, 9, 10, 11,           12, 13, 14, 15, 16, 'g', 'w'};
    assert_int_equal(peer_in(&r, md5, sizeof(md5)), NS_EAP_STEP_SEND);
    expect_why(r.p.why, "asks for EAP-MD5-Challenge (type 4): answered with a Nak");
    static const uint8_t nak[] = {2, 9, 0, 6, NS_EAP_T_NAK, NS_EAP_T_MSCHAPV2};
    assert_int_equal(r.resp.len, sizeof(nak));
    assert_memory_equal(r.resp.b, nak, sizeof(nak));
}

/* The authenticator refuses a Nak asking for EAP-MD5, and an answer of
 * another method, naming what was asked. */
static void server_refuses_md5(void **state) /* X12 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND); /* the Challenge is out */
    uint8_t id = parsed(&r.req).id;
    uint8_t nak[] = {2, id, 0, 6, NS_EAP_T_NAK, NS_EAP_T_MD5};
    assert_int_equal(server_in(&r, nak, sizeof(nak)), NS_EAP_STEP_FAILURE);
    expect_why(r.s.why, "refuses EAP-MSCHAPv2 and asks for EAP-MD5-Challenge (4)");
    assert_int_equal(parsed(&r.req).code, NS_EAP_FAILURE);

    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    id = parsed(&r.req).id;
    uint8_t md5[] = {2, id, 0, 23, NS_EAP_T_MD5, 16, 1,  2,  3,  4,  5,  6,
                     7, 8,  9, 10, 11,           12, 13, 14, 15, 16, 'a'};
    assert_int_equal(server_in(&r, md5, sizeof(md5)), NS_EAP_STEP_FAILURE);
    expect_why(r.s.why, "answers EAP-MSCHAPv2 with EAP-MD5-Challenge (type 4)");
}

/* A Response with an earlier Identifier gets the outstanding Request
 * again, byte for byte; the peer answers a repeated Request with the same
 * Response. */
static void repeated_identifiers(void **state) /* X12 R15 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    struct pkt identity = r.resp, challenge = r.req;
    assert_int_equal(server_in(&r, identity.b, identity.len), NS_EAP_STEP_SEND);
    expect_why(r.s.why, "our Request again");
    assert_int_equal(r.req.len, challenge.len);
    assert_memory_equal(r.req.b, challenge.b, challenge.len);
    assert_int_equal(r.lookups, 1); /* the identity is not taken twice */

    assert_int_equal(peer_in(&r, challenge.b, challenge.len), NS_EAP_STEP_SEND);
    struct pkt response = r.resp;
    assert_int_equal(peer_in(&r, challenge.b, challenge.len), NS_EAP_STEP_SEND);
    expect_why(r.p.why, "our Response again");
    assert_int_equal(r.resp.len, response.len);
    assert_memory_equal(r.resp.b, response.b, response.len);
    /* And the exchange still completes. */
    assert_int_equal(server_in(&r, response.b, response.len), NS_EAP_STEP_SEND);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SUCCESS);
}

static void too_many_rounds(void **state) /* X12 R15 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    struct pkt old = r.resp;
    unsigned sends = 1;
    while (server_in(&r, old.b, old.len) == NS_EAP_STEP_SEND)
        sends++;
    assert_int_equal(sends, NS_EAP_MAX_ROUNDS);
    expect_why(r.s.why, "more than 8 EAP rounds");

    /* The peer too stops after as many Requests. */
    begin(&r, "alice", PASSWORD);
    uint8_t note[] = {1, 0, 0, 5, NS_EAP_T_NOTIFICATION};
    unsigned answered = 0;
    for (;; note[1]++) {
        if (peer_in(&r, note, sizeof(note)) != NS_EAP_STEP_SEND)
            break;
        answered++;
    }
    assert_int_equal(answered, NS_EAP_MAX_ROUNDS);
    expect_why(r.p.why, "more than 8 EAP rounds");
}

static void oversized_and_malformed(void **state) /* X12 R15 */
{
    (void)state;
    struct run r;
    static uint8_t big[NS_EAP_MAX_PACKET + 1];
    begin(&r, "alice", PASSWORD);
    big[0] = NS_EAP_RESPONSE;
    big[1] = parsed(&r.req).id;
    big[2] = (NS_EAP_MAX_PACKET + 1) >> 8;
    big[3] = (NS_EAP_MAX_PACKET + 1) & 0xff;
    big[4] = NS_EAP_T_IDENTITY;
    memset(big + 5, 'a', sizeof(big) - 5);
    assert_int_equal(server_in(&r, big, sizeof(big)), NS_EAP_STEP_FAILURE);
    expect_why(r.s.why, "an EAP message of 1025 bytes (natsec takes at most 1024)");

    begin(&r, "alice", PASSWORD);
    static const uint8_t truncated[] = {2, 0, 0, 9, 1, 'a'};
    assert_int_equal(server_in(&r, truncated, sizeof(truncated)), NS_EAP_STEP_FAILURE);
    expect_why(r.s.why, "malformed");
    /* A Request where a Response is due. */
    begin(&r, "alice", PASSWORD);
    assert_int_equal(server_in(&r, r.req.b, r.req.len), NS_EAP_STEP_FAILURE);

    begin(&r, "alice", PASSWORD);
    big[0] = NS_EAP_REQUEST;
    assert_int_equal(peer_in(&r, big, sizeof(big)), NS_EAP_STEP_FAILURE);
    expect_why(r.p.why, "oversized");
    /* An empty identity is no identity. */
    begin(&r, "alice", PASSWORD);
    uint8_t empty[] = {2, parsed(&r.req).id, 0, 5, NS_EAP_T_IDENTITY};
    assert_int_equal(server_in(&r, empty, sizeof(empty)), NS_EAP_STEP_FAILURE);
    assert_int_equal(r.lookups, 0);
}

/* The MS-CHAPv2 Name must be the identity the user was looked up by. */
static void name_is_the_identity(void **state) /* X12 R3 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    /* bob answers the Challenge issued to alice. */
    uint8_t h[NS_MSCHAPV2_HASH_LEN];
    assert_int_equal(ns_mschapv2_nt_hash(PASSWORD, strlen(PASSWORD), h), 0);
    assert_true(ns_eap_peer_init(&r.p, "bob", 3, h));
    assert_int_equal(round_trip(&r), NS_EAP_STEP_FAILURE);
    expect_why(r.s.why, "user 'alice' answers the MS-CHAPv2 Challenge as 'bob'");
}

/* The peer takes nothing from a gateway that does not know its password:
 * a wrong authenticator response, or EAP-Success before it. */
static void gateway_must_prove_itself(void **state) /* X12 R3 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    assert_int_equal(peer_in(&r, r.req.b, r.req.len), NS_EAP_STEP_SEND); /* our Response */
    uint8_t id = parsed(&r.req).id;
    struct ns_writer w;
    uint8_t forged[128];
    ns_writer_init(&w, forged, sizeof(forged));
    ns_eap_mschapv2_build_success(&w, id + 1, id, "S=0123456789ABCDEF0123456789ABCDEF01234567",
                                  NULL);
    assert_int_equal(peer_in(&r, forged, ns_writer_len(&w)), NS_EAP_STEP_FAILURE);
    expect_why(r.p.why, "authenticator response is wrong: it does not know the password of user "
                        "'alice'");

    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    assert_int_equal(peer_in(&r, r.req.b, r.req.len), NS_EAP_STEP_SEND);
    uint8_t success[] = {NS_EAP_SUCCESS, (uint8_t)(id + 1), 0, 4};
    assert_int_equal(peer_in(&r, success, sizeof(success)), NS_EAP_STEP_FAILURE);
    expect_why(r.p.why, "EAP-Success before the gateway proved it knows the password");
}

/* An MS-CHAPv2 Failure (a strongSwan gateway's answer to a wrong password)
 * is acknowledged, and the EAP-Failure after it names the error. */
static void mschapv2_failure(void **state) /* X12 */
{
    (void)state;
    struct run r;
    begin(&r, "alice", PASSWORD);
    assert_int_equal(round_trip(&r), NS_EAP_STEP_SEND);
    assert_int_equal(peer_in(&r, r.req.b, r.req.len), NS_EAP_STEP_SEND);
    uint8_t id = parsed(&r.req).id;
    struct ns_writer w;
    uint8_t f[128];
    ns_writer_init(&w, f, sizeof(f));
    ns_eap_mschapv2_build_failure(&w, id + 1, id, 691, false, NULL, "bad");
    assert_int_equal(peer_in(&r, f, ns_writer_len(&w)), NS_EAP_STEP_SEND);
    static const uint8_t ack_head[] = {NS_EAP_RESPONSE,    0, 0, 6, NS_EAP_T_MSCHAPV2,
                                       NS_MSCHAPV2_FAILURE};
    assert_int_equal(r.resp.len, 6);
    assert_memory_equal(r.resp.b + 2, ack_head + 2, 4);
    uint8_t failure[] = {NS_EAP_FAILURE, (uint8_t)(id + 1), 0, 4};
    assert_int_equal(peer_in(&r, failure, sizeof(failure)), NS_EAP_STEP_FAILURE);
    expect_why(r.p.why, "refused user 'alice' (EAP-Failure, MS-CHAPv2 error 691: wrong user name "
                        "or password)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_sides_agree),
        cmocka_unit_test(domain_user),
        cmocka_unit_test(wrong_password),
        cmocka_unit_test(unknown_user),
        cmocka_unit_test(peer_naks_md5),
        cmocka_unit_test(server_refuses_md5),
        cmocka_unit_test(repeated_identifiers),
        cmocka_unit_test(too_many_rounds),
        cmocka_unit_test(oversized_and_malformed),
        cmocka_unit_test(name_is_the_identity),
        cmocka_unit_test(gateway_must_prove_itself),
        cmocka_unit_test(mschapv2_failure),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
