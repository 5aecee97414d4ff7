/* Unit tests for the RADIUS codec and client of EAP pass-through
 * (src/eap/radius.c, radius_client.c; X12, X16, R9, R17): Access-Requests
 * as RFC 3579 lays them out, answers read back from what the codec's
 * server side writes, every answer that fails its Response Authenticator
 * or Message-Authenticator refused, the MS-MPPE key hiding of RFC 2548
 * against a vector computed outside natsec (Python's hashlib, from the
 * RFC's formulas), and retransmission and failover on a simulated clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "eap/radius.h"
#include "eap/radius_client.h"
#include "support/test_hex.h"

static const uint8_t SECRET[] = "testing123";
#define SECRET_LEN (sizeof(SECRET) - 1)

static void auth_0_15(uint8_t a[16])
{
    for (int i = 0; i < 16; i++)
        a[i] = (uint8_t)i;
}

/* RFC 2548 2.4.2 with secret "testing123", Request Authenticator 00..0f,
 * salt 0x8001 and the key 10..1f; the expected bytes come from a Python
 * implementation of the RFC's b(i) = MD5(S + c(i-1)) chain. X12 */
static void mppe_key_known_vector(void **state)
{
    (void)state;
    uint8_t req[16], key[16], out[64], want[64], back[NS_RADIUS_MPPE_KEY_MAX];
    auth_0_15(req);
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x10 + i);
    size_t want_len = test_unhex(
        "800122b4155f190e302ed83fa971a9a608ed19d3d06ebf9ed7bc4f3bb896f4201603", want, sizeof(want));
    int n = ns_radius_mppe_hide(key, 16, 0x0001, req, SECRET, SECRET_LEN, out, sizeof(out));
    assert_int_equal(n, (int)want_len);
    assert_memory_equal(out, want, want_len);
    assert_int_equal(ns_radius_mppe_unhide(want, want_len, req, SECRET, SECRET_LEN, back), 16);
    assert_memory_equal(back, key, 16);
    /* Another secret: the length byte comes out wrong, or the key does. */
    uint8_t other[] = "testing124";
    int m = ns_radius_mppe_unhide(want, want_len, req, other, sizeof(other) - 1, back);
    assert_true(m != 16 || memcmp(back, key, 16) != 0);
    /* A salt without its top bit, and a String not a multiple of 16. */
    want[0] &= 0x7f;
    assert_int_equal(ns_radius_mppe_unhide(want, want_len, req, SECRET, SECRET_LEN, back), -1);
    want[0] |= 0x80;
    assert_int_equal(ns_radius_mppe_unhide(want, want_len - 1, req, SECRET, SECRET_LEN, back), -1);
}

static size_t build_request(uint8_t *buf, size_t cap, size_t eap_len, const uint8_t *state,
                            size_t state_len, uint8_t req[16])
{
    static uint8_t eap[1000];
    eap[0] = 2;
    eap[1] = 9;
    eap[2] = (uint8_t)(eap_len >> 8);
    eap[3] = (uint8_t)eap_len;
    for (size_t i = 4; i < eap_len; i++)
        eap[i] = (uint8_t)i;
    struct ns_eapb_request rq = {.ike_sa_id = 1,
                                 .user = (const uint8_t *)"alice",
                                 .user_len = 5,
                                 .eap = eap,
                                 .eap_len = eap_len,
                                 .state = state,
                                 .state_len = state_len};
    struct ns_writer w;
    ns_writer_init(&w, buf, cap);
    auth_0_15(req);
    assert_int_equal(ns_radius_build_request(&w, 42, req, &rq, "vpn.example", SECRET, SECRET_LEN),
                     0);
    return ns_writer_len(&w);
}

/* RFC 3579 3.1-3.2: an EAP packet of 600 bytes in EAP-Message attributes
 * of 253, 253 and 94 bytes, in order; State echoed; a Message-
 * Authenticator that an independent HMAC-MD5 (OpenSSL's HMAC()) agrees
 * with. X12 */
static void request_splits_eap_and_signs(void **state)
{
    (void)state;
    uint8_t buf[NS_RADIUS_MAX_PACKET], req[16], st[3] = {7, 8, 9};
    size_t len = build_request(buf, sizeof(buf), 600, st, 3, req);
    assert_int_equal(buf[0], NS_RADIUS_ACCESS_REQUEST);
    assert_int_equal(buf[1], 42);
    assert_int_equal(buf[2] << 8 | buf[3], len);
    assert_memory_equal(buf + 4, req, 16);
    size_t eap_parts[4], n_eap = 0, ma_at = 0, eap_total = 0;
    bool user = false, state_seen = false;
    for (size_t off = 20; off < len;) {
        uint8_t t = buf[off], l = buf[off + 1];
        assert_true(l >= 2 && off + l <= len);
        if (t == NS_RADIUS_A_EAP_MESSAGE) {
            assert_true(n_eap < 4);
            eap_parts[n_eap++] = l - 2u;
            for (size_t i = 0; i < l - 2u; i++, eap_total++)
                if (eap_total >= 4)
                    assert_int_equal(buf[off + 2 + i], (uint8_t)eap_total);
        }
        if (t == NS_RADIUS_A_USER_NAME)
            user = l == 7 && memcmp(buf + off + 2, "alice", 5) == 0;
        if (t == NS_RADIUS_A_STATE)
            state_seen = l == 5 && memcmp(buf + off + 2, st, 3) == 0;
        if (t == NS_RADIUS_A_MESSAGE_AUTHENTICATOR) {
            assert_int_equal(l, 18);
            ma_at = off + 2;
        }
        off += l;
    }
    assert_true(user);
    assert_true(state_seen);
    assert_int_equal(n_eap, 3);
    assert_int_equal(eap_parts[0], 253);
    assert_int_equal(eap_parts[1], 253);
    assert_int_equal(eap_parts[2], 94);
    assert_true(ma_at != 0);
    uint8_t got[16], copy[NS_RADIUS_MAX_PACKET], want[EVP_MAX_MD_SIZE];
    unsigned want_len = 0;
    memcpy(got, buf + ma_at, 16);
    memcpy(copy, buf, len);
    memset(copy + ma_at, 0, 16);
    assert_non_null(HMAC(EVP_md5(), SECRET, SECRET_LEN, copy, len, want, &want_len));
    assert_int_equal(want_len, 16);
    assert_memory_equal(got, want, 16);
}

static struct ns_eapb_answer accept_answer(void)
{
    struct ns_eapb_answer a;
    memset(&a, 0, sizeof(a));
    a.verdict = NS_EAPB_ACCEPT;
    a.eap[0] = 3;
    a.eap[1] = 9;
    a.eap[3] = 4;
    a.eap_len = 4;
    for (int i = 0; i < 32; i++)
        a.msk[i] = (uint8_t)(0xa0 + i);
    a.msk_len = 32;
    a.have_framed_ip = true;
    a.framed_ip = 0x0a630005; /* 10.99.0.5 */
    strcpy(a.class_name, "contractors");
    return a;
}

static size_t build_answer(uint8_t *buf, size_t cap, uint8_t code, const struct ns_eapb_answer *a,
                           const uint8_t req[16])
{
    struct ns_writer w;
    ns_writer_init(&w, buf, cap);
    assert_int_equal(ns_radius_build_answer(&w, code, 42, req, a, 0x1234, SECRET, SECRET_LEN), 0);
    return ns_writer_len(&w);
}

/* What the server side writes, the client reads back: EAP, State, the
 * MSK (Recv-Key | Send-Key), Framed-IP-Address and Class (R9, R17). */
static void answer_round_trip(void **state)
{
    (void)state;
    uint8_t buf[NS_RADIUS_MAX_PACKET], req[16];
    auth_0_15(req);
    struct ns_eapb_answer a = accept_answer(), b;
    size_t len = build_answer(buf, sizeof(buf), NS_RADIUS_ACCESS_ACCEPT, &a, req);
    assert_int_equal(ns_radius_parse_answer(buf, len, 42, req, SECRET, SECRET_LEN, &b), 0);
    assert_int_equal(b.verdict, NS_EAPB_ACCEPT);
    assert_int_equal(b.eap_len, 4);
    assert_memory_equal(b.eap, a.eap, 4);
    assert_int_equal(b.msk_len, 32);
    assert_memory_equal(b.msk, a.msk, 32);
    assert_true(b.have_framed_ip);
    assert_int_equal(b.framed_ip, 0x0a630005);
    assert_string_equal(b.class_name, "contractors");
    /* A challenge of 700 bytes comes back whole, with its State. */
    struct ns_eapb_answer c;
    memset(&c, 0, sizeof(c));
    c.eap_len = 700;
    for (size_t i = 0; i < 700; i++)
        c.eap[i] = (uint8_t)(i * 7);
    c.state_len = 16;
    memset(c.state, 0x5a, 16);
    len = build_answer(buf, sizeof(buf), NS_RADIUS_ACCESS_CHALLENGE, &c, req);
    assert_int_equal(ns_radius_parse_answer(buf, len, 42, req, SECRET, SECRET_LEN, &b), 0);
    assert_int_equal(b.verdict, NS_EAPB_CHALLENGE);
    assert_int_equal(b.eap_len, 700);
    assert_memory_equal(b.eap, c.eap, 700);
    assert_int_equal(b.state_len, 16);
    assert_memory_equal(b.state, c.state, 16);
    assert_int_equal(b.msk_len, 0);
    assert_false(b.have_framed_ip);
}

/* Fixes the Response Authenticator of a changed answer, so that only its
 * Message-Authenticator can tell. */
static void resign_response(uint8_t *buf, size_t len, const uint8_t req[16])
{
    uint8_t copy[NS_RADIUS_MAX_PACKET];
    memcpy(copy, buf, len);
    memcpy(copy + 4, req, 16);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_md5(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, copy, len), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, SECRET, SECRET_LEN), 1);
    assert_int_equal(EVP_DigestFinal_ex(ctx, buf + 4, &n), 1);
    EVP_MD_CTX_free(ctx);
}

static size_t find_attr(const uint8_t *buf, size_t len, uint8_t type)
{
    for (size_t off = 20; off + 2 <= len; off += buf[off + 1])
        if (buf[off] == type)
            return off;
    fail_msg("attribute %u not found", type);
    return 0;
}

static void refused(const uint8_t *buf, size_t len, uint8_t id, const uint8_t req[16],
                    const char *why_has)
{
    struct ns_eapb_answer b;
    assert_int_equal(ns_radius_parse_answer(buf, len, id, req, SECRET, SECRET_LEN, &b), -1);
    if (!strstr(b.why, why_has))
        fail_msg("why '%s' lacks '%s'", b.why, why_has);
    assert_int_equal(b.msk_len, 0);
    assert_int_equal(b.eap_len, 0);
}

/* RFC 3579 3.2, RFC 2865 3: a tampered answer is refused by its Response
 * Authenticator; one tampered and re-signed (MD5 fixed) by its
 * Message-Authenticator; one without Message-Authenticator, with the
 * wrong Identifier, or under another secret, refused too. X12 */
static void tampered_answers_refused(void **state)
{
    (void)state;
    uint8_t buf[NS_RADIUS_MAX_PACKET], orig[NS_RADIUS_MAX_PACKET], req[16];
    auth_0_15(req);
    struct ns_eapb_answer a = accept_answer();
    size_t len = build_answer(orig, sizeof(orig), NS_RADIUS_ACCESS_ACCEPT, &a, req);
    size_t fip = find_attr(orig, len, NS_RADIUS_A_FRAMED_IP_ADDRESS);

    memcpy(buf, orig, len);
    buf[fip + 5] ^= 1; /* another Framed-IP-Address */
    refused(buf, len, 42, req, "Response Authenticator");

    resign_response(buf, len, req);
    refused(buf, len, 42, req, "Message-Authenticator");

    /* The Message-Authenticator turned into an unknown attribute. */
    memcpy(buf, orig, len);
    buf[find_attr(buf, len, NS_RADIUS_A_MESSAGE_AUTHENTICATOR)] = 200;
    resign_response(buf, len, req);
    refused(buf, len, 42, req, "no Message-Authenticator");

    memcpy(buf, orig, len);
    refused(buf, len, 43, req, "Identifier");
    struct ns_eapb_answer b;
    const uint8_t other[] = "testing124";
    assert_int_equal(ns_radius_parse_answer(orig, len, 42, req, other, sizeof(other) - 1, &b), -1);
    /* Another request's authenticator (a replayed answer). */
    uint8_t req2[16];
    memcpy(req2, req, 16);
    req2[0] ^= 1;
    refused(orig, len, 42, req2, "Response Authenticator");
    /* Length beyond the datagram, and a truncated attribute. */
    refused(orig, len - 1, 42, req, "not a RADIUS packet");
    memcpy(buf, orig, len);
    buf[21] = 250;
    resign_response(buf, len, req);
    refused(buf, len, 42, req, "");
    /* The untouched answer still passes. */
    assert_int_equal(ns_radius_parse_answer(orig, len, 42, req, SECRET, SECRET_LEN, &b), 0);
}

/* ---- the client on a simulated clock ---- */

struct sent {
    unsigned server;
    uint8_t pkt[NS_RADIUS_MAX_PACKET];
    size_t len;
};

struct sim {
    struct sent sent[32];
    unsigned n_sent;
    unsigned n_done;
    uint64_t done_id;
    struct ns_eapb_answer done;
};

static void sim_send(void *ctx, unsigned server, const uint8_t *pkt, size_t len)
{
    struct sim *s = ctx;
    assert_true(s->n_sent < 32);
    s->sent[s->n_sent].server = server;
    memcpy(s->sent[s->n_sent].pkt, pkt, len);
    s->sent[s->n_sent].len = len;
    s->n_sent++;
}

static void sim_done(void *ctx, uint64_t ike_sa_id, const struct ns_eapb_answer *a)
{
    struct sim *s = ctx;
    s->n_done++;
    s->done_id = ike_sa_id;
    s->done = *a;
}

static struct ns_radius_client *sim_client(struct sim *s, unsigned servers)
{
    memset(s, 0, sizeof(*s));
    struct ns_radius_client_cfg cfg = {.n_servers = servers,
                                       .timeout_ms = 1000,
                                       .tries = 2,
                                       .secret = SECRET,
                                       .secret_len = SECRET_LEN,
                                       .nas_id = "vpn.example"};
    struct ns_radius_client_ops ops = {.ctx = s, .send = sim_send, .done = sim_done};
    struct ns_radius_client *c = ns_radius_client_new(&cfg, &ops);
    assert_non_null(c);
    return c;
}

static void sim_start(struct ns_radius_client *c, uint64_t id, uint64_t now)
{
    static const uint8_t eap[] = {2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'};
    struct ns_eapb_request rq = {.ike_sa_id = id,
                                 .user = (const uint8_t *)"alice",
                                 .user_len = 5,
                                 .eap = eap,
                                 .eap_len = sizeof(eap)};
    assert_int_equal(ns_radius_client_start(c, &rq, now), 0);
}

/* The server's answer to sent packet k: its Identifier and Request
 * Authenticator, an Access-Challenge. */
static size_t sim_answer(const struct sent *k, uint8_t *buf, size_t cap)
{
    struct ns_eapb_answer a;
    memset(&a, 0, sizeof(a));
    a.eap[0] = 1;
    a.eap[1] = 2;
    a.eap[3] = 6;
    a.eap[4] = 26;
    a.eap[5] = 1;
    a.eap_len = 6;
    struct ns_writer w;
    ns_writer_init(&w, buf, cap);
    assert_int_equal(ns_radius_build_answer(&w, NS_RADIUS_ACCESS_CHALLENGE, k->pkt[1], k->pkt + 4,
                                            &a, 1, SECRET, SECRET_LEN),
                     0);
    return ns_writer_len(&w);
}

/* X16: tries per server at timeout_ms each, then the next server, which
 * stays the current one after it answered. */
static void failover_to_second_server(void **state)
{
    (void)state;
    struct sim s;
    struct ns_radius_client *c = sim_client(&s, 2);
    sim_start(c, 77, 0);
    assert_int_equal(s.n_sent, 1);
    assert_int_equal(s.sent[0].server, 0);
    assert_int_equal(ns_radius_client_next_wakeup(c), 1000);
    ns_radius_client_tick(c, 999);
    assert_int_equal(s.n_sent, 1);
    ns_radius_client_tick(c, 1000);
    assert_int_equal(s.n_sent, 2); /* the same bytes again, same server */
    assert_int_equal(s.sent[1].server, 0);
    assert_int_equal(s.sent[1].len, s.sent[0].len);
    assert_memory_equal(s.sent[1].pkt, s.sent[0].pkt, s.sent[0].len);
    ns_radius_client_tick(c, 2000);
    assert_int_equal(s.n_sent, 3);
    assert_int_equal(s.sent[2].server, 1);
    assert_int_equal(ns_radius_client_current(c), 1);
    uint8_t ans[NS_RADIUS_MAX_PACKET];
    size_t n = sim_answer(&s.sent[2], ans, sizeof(ans));
    /* A forged copy (one bit off) is dropped and the request waits on. */
    ans[n - 1] ^= 1;
    ns_radius_client_input(c, 1, ans, n, 2100);
    assert_int_equal(s.n_done, 0);
    assert_int_equal(ns_radius_client_in_flight(c), 1);
    ans[n - 1] ^= 1;
    ns_radius_client_input(c, 1, ans, n, 2100);
    assert_int_equal(s.n_done, 1);
    assert_int_equal(s.done_id, 77);
    assert_int_equal(s.done.verdict, NS_EAPB_CHALLENGE);
    assert_int_equal(ns_radius_client_in_flight(c), 0);
    assert_int_equal(ns_radius_client_next_wakeup(c), NS_RADIUS_NEVER);
    struct ns_radius_server_stats s0, s1;
    ns_radius_client_stats(c, 0, &s0);
    ns_radius_client_stats(c, 1, &s1);
    assert_int_equal(s0.sent, 2);
    assert_int_equal(s0.timeouts, 2);
    assert_int_equal(s0.answers, 0);
    assert_int_equal(s1.sent, 1);
    assert_int_equal(s1.answers, 1);
    assert_int_equal(s1.dropped, 1); /* the forged copy */
    assert_int_equal(ns_radius_client_gave_up(c), 0);
    /* The next login goes to the server that answered. */
    sim_start(c, 78, 3000);
    assert_int_equal(s.sent[3].server, 1);
    /* The same answer again (a duplicate) finds no request. */
    ns_radius_client_input(c, 1, ans, n, 3001);
    assert_int_equal(s.n_done, 1);
    ns_radius_client_free(c);
}

/* X16: no server answers: UNREACHABLE after servers * tries * timeout,
 * not before; an SA that goes away takes its request along. */
static void all_servers_down(void **state)
{
    (void)state;
    struct sim s;
    struct ns_radius_client *c = sim_client(&s, 2);
    sim_start(c, 5, 0);
    for (uint64_t t = 0; t < 4000; t += 100)
        ns_radius_client_tick(c, t);
    assert_int_equal(s.n_done, 0);
    ns_radius_client_tick(c, 4000);
    assert_int_equal(s.n_done, 1);
    assert_int_equal(s.done.verdict, NS_EAPB_UNREACHABLE);
    assert_non_null(strstr(s.done.why, "no RADIUS server answered"));
    assert_int_equal(s.n_sent, 4);
    assert_int_equal(ns_radius_client_gave_up(c), 1);
    sim_start(c, 6, 5000);
    assert_int_equal(ns_radius_client_in_flight(c), 1);
    ns_radius_client_cancel(c, 6);
    assert_int_equal(ns_radius_client_in_flight(c), 0);
    ns_radius_client_tick(c, 99999);
    assert_int_equal(s.n_done, 1);
    ns_radius_client_free(c);
}

/* 255 in flight at most: the Identifier is one byte. */
static void identifiers_run_out(void **state)
{
    (void)state;
    struct sim s;
    struct ns_radius_client *c = sim_client(&s, 1);
    static const uint8_t eap[] = {2, 1, 0, 5, 1};
    struct ns_eapb_request rq = {
        .user = (const uint8_t *)"u", .user_len = 1, .eap = eap, .eap_len = sizeof(eap)};
    bool ids[256] = {false};
    for (unsigned i = 0; i < 255; i++) {
        rq.ike_sa_id = 1000 + i;
        s.n_sent = 0;
        assert_int_equal(ns_radius_client_start(c, &rq, 0), 0);
        assert_false(ids[s.sent[0].pkt[1]]);
        ids[s.sent[0].pkt[1]] = true;
    }
    rq.ike_sa_id = 5000;
    assert_int_equal(ns_radius_client_start(c, &rq, 0), -1);
    ns_radius_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mppe_key_known_vector),     cmocka_unit_test(request_splits_eap_and_signs),
        cmocka_unit_test(answer_round_trip),         cmocka_unit_test(tampered_answers_refused),
        cmocka_unit_test(failover_to_second_server), cmocka_unit_test(all_servers_down),
        cmocka_unit_test(identifiers_run_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
