/* Unit tests for src/eap (X12): the EAP packet codec (RFC 3748) with
 * Identity, Nak and MD5-Challenge (recognised, to be refused), and
 * EAP-MSCHAPv2's packets (draft-kamath-pppext-eap-mschapv2, RFC 2759)
 * against bytes written out by hand from those documents, both ways, and
 * every malformation the parsers refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <string.h>

#include "eap/eap.h"
#include "eap/eap_mschapv2.h"
#include "support/test_hex.h"

static struct ns_eap parse_ok(const uint8_t *buf, size_t len)
{
    struct ns_eap p;
    assert_int_equal(ns_eap_parse(buf, len, &p), NS_EAP_OK);
    return p;
}

static void assert_bad(const char *hex)
{
    uint8_t buf[300];
    size_t len = test_unhex(hex, buf, sizeof(buf));
    struct ns_eap p;
    if (ns_eap_parse(buf, len, &p) == NS_EAP_OK)
        fail_msg("accepted: %s", hex);
}

/* RFC 3748 4: the header, Length against the buffer, padding after it. */
static void header_codes_and_lengths(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = test_unhex("02 07 00 0a 01 61 6c 69 63 65", buf, sizeof(buf)); /* "alice" */
    struct ns_eap p = parse_ok(buf, len);
    assert_int_equal(p.code, NS_EAP_RESPONSE);
    assert_int_equal(p.id, 7);
    assert_int_equal(p.len, 10);
    assert_int_equal(p.type, NS_EAP_T_IDENTITY);
    assert_int_equal(p.data_len, 5);
    assert_memory_equal(p.data, "alice", 5);
    /* Link-layer padding after Length is ignored. */
    len = test_unhex("03 05 00 04 00 00 00", buf, sizeof(buf));
    p = parse_ok(buf, len);
    assert_int_equal(p.code, NS_EAP_SUCCESS);
    assert_int_equal(p.data_len, 0);
    p = parse_ok(buf, test_unhex("04 06 00 04", buf, sizeof(buf)));
    assert_int_equal(p.code, NS_EAP_FAILURE);
    assert_int_equal(p.id, 6);
    p = parse_ok(buf, test_unhex("01 00 00 05 01", buf, sizeof(buf))); /* Request/Identity */
    assert_int_equal(p.type, NS_EAP_T_IDENTITY);
    assert_int_equal(p.data_len, 0);

    assert_bad("");
    assert_bad("02 07 00");
    assert_bad("02 07 00 0b 01 61 6c 69 63 65"); /* Length beyond the buffer */
    assert_bad("02 07 00 03 01");                /* Length below the header */
    assert_bad("01 07 00 04");                   /* a Request without a Type */
    assert_bad("03 05 00 05 00");                /* a Success with data */
    assert_bad("05 01 00 04");                   /* no such code */
    assert_bad("00 01 00 04");
}

/* RFC 3748 5.1: an identity is not NUL-terminated and, here, at most 253
 * bytes (RADIUS' User-Name); empty is valid. Identity of another type
 * fails. */
static void identity(void **state)
{
    (void)state;
    uint8_t buf[300];
    const uint8_t *id;
    size_t len;
    struct ns_eap p = parse_ok(buf, test_unhex("02 07 00 0a 01 61 6c 69 63 65", buf, sizeof(buf)));
    assert_int_equal(ns_eap_identity(&p, &id, &len), NS_EAP_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(id, "alice", 5);
    p = parse_ok(buf, test_unhex("02 07 00 05 01", buf, sizeof(buf)));
    assert_int_equal(ns_eap_identity(&p, &id, &len), NS_EAP_OK);
    assert_int_equal(len, 0);
    p = parse_ok(buf, test_unhex("02 07 00 0a 01 61 6c 00 63 65", buf, sizeof(buf)));
    assert_int_equal(ns_eap_identity(&p, &id, &len), NS_EAP_BAD);
    p = parse_ok(buf, test_unhex("02 07 00 06 1a 03", buf, sizeof(buf)));
    assert_int_equal(ns_eap_identity(&p, &id, &len), NS_EAP_BAD);

    struct ns_writer w;
    uint8_t name[NS_EAP_IDENTITY_MAX + 1];
    memset(name, 'a', sizeof(name));
    ns_writer_init(&w, buf, sizeof(buf));
    ns_eap_build(&w, NS_EAP_RESPONSE, 9, NS_EAP_T_IDENTITY, name, NS_EAP_IDENTITY_MAX);
    assert_true(ns_writer_ok(&w));
    p = parse_ok(buf, ns_writer_len(&w));
    assert_int_equal(ns_eap_identity(&p, &id, &len), NS_EAP_OK);
    assert_int_equal(len, NS_EAP_IDENTITY_MAX);
    ns_writer_init(&w, buf, sizeof(buf));
    ns_eap_build(&w, NS_EAP_RESPONSE, 9, NS_EAP_T_IDENTITY, name, sizeof(name));
    p = parse_ok(buf, ns_writer_len(&w));
    assert_int_equal(ns_eap_identity(&p, &id, &len), NS_EAP_BAD);
}

/* RFC 3748 5.3.1 (Nak, Response only, at least one type) and 5.4
 * (MD5-Challenge: Value-Size, Value, Name), which the gateway recognises
 * in order to refuse it by name. */
static void nak_and_md5_challenge(void **state)
{
    (void)state;
    uint8_t buf[64];
    const uint8_t *types, *value, *name;
    size_t n, value_len, name_len;
    struct ns_eap p = parse_ok(buf, test_unhex("02 08 00 07 03 1a 04", buf, sizeof(buf)));
    assert_int_equal(ns_eap_nak(&p, &types, &n), NS_EAP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(types[0], NS_EAP_T_MSCHAPV2);
    assert_int_equal(types[1], NS_EAP_T_MD5);
    p = parse_ok(buf, test_unhex("02 08 00 05 03", buf, sizeof(buf)));
    assert_int_equal(ns_eap_nak(&p, &types, &n), NS_EAP_BAD);
    p = parse_ok(buf, test_unhex("01 08 00 06 03 1a", buf, sizeof(buf)));
    assert_int_equal(ns_eap_nak(&p, &types, &n), NS_EAP_BAD);

    uint8_t out[64];
    struct ns_writer w;
    ns_writer_init(&w, out, sizeof(out));
    const uint8_t want_types[] = {NS_EAP_T_MSCHAPV2};
    ns_eap_build_nak(&w, 8, want_types, 1);
    assert_true(ns_writer_ok(&w));
    assert_int_equal(ns_writer_len(&w), 6);
    assert_memory_equal(out, "\x02\x08\x00\x06\x03\x1a", 6);

    /* MD5-Challenge Request: 16-byte value, Name "gw" */
    p = parse_ok(buf, test_unhex("01 02 00 18 04 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e "
                                 "0f 67 77",
                                 buf, sizeof(buf)));
    assert_string_equal(ns_eap_type_name(p.type), "MD5-Challenge");
    assert_int_equal(ns_eap_md5(&p, &value, &value_len, &name, &name_len), NS_EAP_OK);
    assert_int_equal(value_len, 16);
    assert_int_equal(value[15], 0x0f);
    assert_int_equal(name_len, 2);
    assert_memory_equal(name, "gw", 2);
    p = parse_ok(buf, test_unhex("02 02 00 06 04 00", buf, sizeof(buf))); /* empty value */
    assert_int_equal(ns_eap_md5(&p, &value, &value_len, &name, &name_len), NS_EAP_BAD);
    p = parse_ok(buf, test_unhex("02 02 00 07 04 05 aa", buf, sizeof(buf))); /* past the end */
    assert_int_equal(ns_eap_md5(&p, &value, &value_len, &name, &name_len), NS_EAP_BAD);

    ns_writer_init(&w, out, sizeof(out));
    ns_eap_build_result(&w, NS_EAP_FAILURE, 3);
    assert_int_equal(ns_writer_len(&w), 4);
    assert_memory_equal(out, "\x04\x03\x00\x04", 4);
    assert_string_equal(ns_eap_code_name(NS_EAP_FAILURE), "Failure");
    assert_string_equal(ns_eap_code_name(9), "unknown");
    assert_string_equal(ns_eap_type_name(NS_EAP_T_MSCHAPV2), "MSCHAPv2");
    assert_string_equal(ns_eap_type_name(99), "unknown");
}

/* RFC 2759 9.2's values in the draft's packets. */
#define AUTH_CHALLENGE "5b5d7c7d7b3f2f3e3c2c602132262628"
#define PEER_CHALLENGE "21402324255e262a28295f2b3a337c7e"
#define NT_RESPONSE "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df"

/* X12: the gateway's Challenge and the client's Response, built and
 * compared with the bytes written out by hand (EAP header, type 26,
 * OpCode, MS-CHAPv2-ID, MS-Length, Value-Size, values, Name), parsed
 * back. */
static void challenge_and_response_bytes(void **state)
{
    /* X12 */
    (void)state;
    uint8_t ch[16], pc[16], nt[24], want[128], out[128];
    test_unhex(AUTH_CHALLENGE, ch, 16);
    test_unhex(PEER_CHALLENGE, pc, 16);
    test_unhex(NT_RESPONSE, nt, 24);
    struct ns_writer w;
    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_challenge(&w, 0x21, 0x21, ch, "gw", 2);
    assert_true(ns_writer_ok(&w));
    /* 4 + 1 + 4 + 1 + 16 + 2 = 28 bytes; MS-Length 23 */
    size_t n =
        test_unhex("01 21 00 1c 1a 01 21 00 17 10" AUTH_CHALLENGE "6777", want, sizeof(want));
    assert_int_equal(ns_writer_len(&w), n);
    assert_memory_equal(out, want, n);
    struct ns_eap p = parse_ok(out, n);
    struct ns_eap_mschapv2 m;
    assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_OK);
    assert_int_equal(m.op, NS_MSCHAPV2_CHALLENGE);
    assert_int_equal(m.ms_id, 0x21);
    assert_false(m.ack);
    assert_memory_equal(m.challenge, ch, 16);
    assert_int_equal(m.name_len, 2);
    assert_memory_equal(m.name, "gw", 2);

    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_response(&w, 0x21, 0x21, pc, nt, "User", 4);
    assert_true(ns_writer_ok(&w));
    /* 4 + 1 + 4 + 1 + 49 + 4 = 63 bytes; MS-Length 58 */
    n = test_unhex("02 21 00 3f 1a 02 21 00 3a 31" PEER_CHALLENGE "0000000000000000" NT_RESPONSE
                   "00 55736572",
                   want, sizeof(want));
    assert_int_equal(ns_writer_len(&w), n);
    assert_memory_equal(out, want, n);
    p = parse_ok(out, n);
    assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_OK);
    assert_int_equal(m.op, NS_MSCHAPV2_RESPONSE);
    assert_memory_equal(m.peer_challenge, pc, 16);
    assert_memory_equal(m.nt_response, nt, 24);
    assert_int_equal(m.flags, 0);
    assert_int_equal(m.name_len, 4);
    assert_memory_equal(m.name, "User", 4);
}

/* X12: the gateway's Success Request ("S=<auth> M=<text>") and Failure
 * Request ("E= R= C= V= M="), the client's one-byte acknowledgements, and
 * the fields a client reads from them. */
static void success_failure_and_acks(void **state)
{
    /* X12 */
    (void)state;
    static const char auth[] = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
    uint8_t out[256], want[256], ch[16];
    struct ns_writer w;
    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_success(&w, 0x22, 0x21, auth, "OK");
    assert_true(ns_writer_ok(&w));
    size_t n = test_unhex("01 22 00 38 1a 03 21 00 33", want, sizeof(want));
    memcpy(want + n, auth, 42);
    memcpy(want + n + 42, " M=OK", 5);
    n += 47;
    assert_int_equal(ns_writer_len(&w), n);
    assert_memory_equal(out, want, n);
    struct ns_eap p = parse_ok(out, n);
    struct ns_eap_mschapv2 m;
    assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_OK);
    assert_int_equal(m.op, NS_MSCHAPV2_SUCCESS);
    assert_int_equal(m.message_len, 47);
    const uint8_t *a;
    assert_int_equal(ns_eap_mschapv2_success_auth(m.message, m.message_len, &a), NS_EAP_OK);
    assert_memory_equal(a, auth, 42);
    assert_int_equal(ns_eap_mschapv2_success_auth(m.message, 42, &a), NS_EAP_OK);
    assert_int_equal(ns_eap_mschapv2_success_auth(m.message, 41, &a), NS_EAP_BAD);
    assert_int_equal(ns_eap_mschapv2_success_auth(m.message, 44, &a), NS_EAP_BAD); /* " M" */
    assert_int_equal(ns_eap_mschapv2_success_auth((const uint8_t *)"S=407A5589115FD0D6209F510FE9"
                                                                   "C04566932CDA5G",
                                                  42, &a),
                     NS_EAP_BAD);

    test_unhex("00112233445566778899aabbccddeeff", ch, 16);
    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_failure(&w, 0x23, 0x21, 691, false, ch, "Authentication failed");
    assert_true(ns_writer_ok(&w));
    static const char msg[] =
        "E=691 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=Authentication failed";
    n = test_unhex("01 23 00 51 1a 04 21 00 4c", want, sizeof(want));
    memcpy(want + n, msg, sizeof(msg) - 1);
    n += sizeof(msg) - 1;
    assert_int_equal(ns_writer_len(&w), n);
    assert_memory_equal(out, want, n);
    p = parse_ok(out, n);
    assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_OK);
    assert_int_equal(m.op, NS_MSCHAPV2_FAILURE);
    struct ns_mschapv2_failure f;
    assert_int_equal(ns_eap_mschapv2_failure_parse(m.message, m.message_len, &f), NS_EAP_OK);
    assert_int_equal(f.error, 691);
    assert_false(f.retry);
    assert_true(f.has_challenge);
    assert_memory_equal(f.challenge, ch, 16);
    assert_int_equal(f.version, 3);
    assert_int_equal(f.text_len, strlen("Authentication failed"));
    assert_memory_equal(f.text, "Authentication failed", f.text_len);
    static const char *const bad_failures[] = {
        "R=1 V=3",      /* no E= */
        "E=69x1",       /* not a number */
        "E=691 R=2",    /* retry is 0 or 1 */
        "E=691 C=0011", /* short challenge */
        "E=691 X=1",    /* no such field */
        "E=691 R",      /* no '=' */
        "E=1234567890", /* more than 9 digits */
    };
    for (size_t i = 0; i < sizeof(bad_failures) / sizeof(bad_failures[0]); i++)
        if (ns_eap_mschapv2_failure_parse((const uint8_t *)bad_failures[i], strlen(bad_failures[i]),
                                          &f) != NS_EAP_BAD)
            fail_msg("accepted failure message '%s'", bad_failures[i]);
    assert_int_equal(ns_eap_mschapv2_failure_parse((const uint8_t *)"E=646 R=1", 9, &f), NS_EAP_OK);
    assert_int_equal(f.error, 646);
    assert_true(f.retry);
    assert_false(f.has_challenge);
    /* Without a challenge the Failure Request has no C= field. */
    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_failure(&w, 0x23, 0x21, 691, true, NULL, NULL);
    p = parse_ok(out, ns_writer_len(&w));
    assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_OK);
    assert_int_equal(m.message_len, strlen("E=691 R=1 V=3"));
    assert_memory_equal(m.message, "E=691 R=1 V=3", m.message_len);

    /* The client's acknowledgements: the OpCode alone. */
    for (uint8_t op = NS_MSCHAPV2_SUCCESS; op <= NS_MSCHAPV2_FAILURE; op++) {
        ns_writer_init(&w, out, sizeof(out));
        ns_eap_mschapv2_build_ack(&w, 0x24, op);
        assert_int_equal(ns_writer_len(&w), 6);
        uint8_t ack[6] = {2, 0x24, 0, 6, 26, op};
        assert_memory_equal(out, ack, 6);
        p = parse_ok(out, 6);
        assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_OK);
        assert_true(m.ack);
        assert_int_equal(m.op, op);
    }
}

static void assert_ms_bad(const char *hex)
{
    uint8_t buf[300];
    size_t len = test_unhex(hex, buf, sizeof(buf));
    struct ns_eap p;
    struct ns_eap_mschapv2 m;
    assert_int_equal(ns_eap_parse(buf, len, &p), NS_EAP_OK);
    if (ns_eap_mschapv2_parse(&p, &m) != NS_EAP_BAD)
        fail_msg("accepted: %s", hex);
}

/* Every malformation: a packet in the wrong direction, MS-Length other
 * than the type-data, Value-Size other than 16 or 49, Reserved or Flags
 * not zero, an acknowledgement with more bytes, Change-Password and
 * unknown OpCodes, another EAP type, a Name over 253 bytes. */
static void mschapv2_malformations(void **state)
{
    (void)state;
    /* a Challenge as a Response, a Response as a Request */
    assert_ms_bad("02 21 00 1c 1a 01 21 00 17 10" AUTH_CHALLENGE "6777");
    assert_ms_bad("01 21 00 3f 1a 02 21 00 3a 31" PEER_CHALLENGE "0000000000000000" NT_RESPONSE
                  "00 55736572");
    /* MS-Length one off either way */
    assert_ms_bad("01 21 00 1c 1a 01 21 00 16 10" AUTH_CHALLENGE "6777");
    assert_ms_bad("01 21 00 1c 1a 01 21 00 18 10" AUTH_CHALLENGE "6777");
    /* Value-Size 15, and a challenge cut short */
    assert_ms_bad("01 21 00 1c 1a 01 21 00 17 0f" AUTH_CHALLENGE "6777");
    assert_ms_bad("01 21 00 10 1a 01 21 00 0b 10 5b5d7c7d7b3f");
    /* Reserved not zero; Flags not zero; Value-Size 48 */
    assert_ms_bad("02 21 00 3f 1a 02 21 00 3a 31" PEER_CHALLENGE "0000000000000001" NT_RESPONSE
                  "00 55736572");
    assert_ms_bad("02 21 00 3f 1a 02 21 00 3a 31" PEER_CHALLENGE "0000000000000000" NT_RESPONSE
                  "01 55736572");
    assert_ms_bad("02 21 00 3f 1a 02 21 00 3a 30" PEER_CHALLENGE "0000000000000000" NT_RESPONSE
                  "00 55736572");
    /* an acknowledgement with an MS header after it */
    assert_ms_bad("02 24 00 09 1a 03 21 00 04");
    /* Change-Password, an unknown OpCode, no OpCode */
    assert_ms_bad("02 24 00 09 1a 07 21 00 04");
    assert_ms_bad("01 24 00 09 1a 09 21 00 04");
    assert_ms_bad("01 24 00 05 1a");
    /* not type 26; not a Request or Response */
    assert_ms_bad("01 21 00 1c 04 01 21 00 17 10" AUTH_CHALLENGE "6777");
    assert_ms_bad("03 21 00 04");

    uint8_t out[400], ch[16] = {0}, name[NS_EAP_MSCHAPV2_NAME_MAX + 1];
    memset(name, 'n', sizeof(name));
    struct ns_writer w;
    struct ns_eap p;
    struct ns_eap_mschapv2 m;
    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_challenge(&w, 1, 1, ch, name, NS_EAP_MSCHAPV2_NAME_MAX);
    p = parse_ok(out, ns_writer_len(&w));
    assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_OK);
    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_challenge(&w, 1, 1, ch, name, sizeof(name));
    p = parse_ok(out, ns_writer_len(&w));
    assert_int_equal(ns_eap_mschapv2_parse(&p, &m), NS_EAP_BAD);
}

/* A writer too small fails and says so; nothing is half-reported as
 * written. */
static void small_writer_fails(void **state)
{
    (void)state;
    uint8_t out[20], ch[16] = {0};
    struct ns_writer w;
    ns_writer_init(&w, out, sizeof(out));
    ns_eap_mschapv2_build_challenge(&w, 1, 1, ch, "gw", 2);
    assert_false(ns_writer_ok(&w));
    ns_writer_init(&w, out, 3);
    ns_eap_build_result(&w, NS_EAP_SUCCESS, 1);
    assert_false(ns_writer_ok(&w));
    ns_writer_init(&w, out, 5);
    ns_eap_build(&w, NS_EAP_RESPONSE, 1, NS_EAP_T_IDENTITY, "a", 1);
    assert_false(ns_writer_ok(&w));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_codes_and_lengths), cmocka_unit_test(identity),
        cmocka_unit_test(nak_and_md5_challenge),    cmocka_unit_test(challenge_and_response_bytes),
        cmocka_unit_test(success_failure_and_acks), cmocka_unit_test(mschapv2_malformations),
        cmocka_unit_test(small_writer_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
