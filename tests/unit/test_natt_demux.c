/* Unit tests for the port-4500 demultiplexer and NAT keepalives
 * (src/natt/udp_demux; RFC 3948 2 and 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "natt/udp_demux.h"

/* X1: the keepalive is exactly one 0xFF byte (RFC 3948 2.3). */
static void keepalive_is_one_ff_byte(void **state)
{
    (void)state;
    uint8_t buf[4] = {0};
    assert_int_equal(ns_natt_keepalive(buf, sizeof(buf)), 1);
    assert_int_equal(buf[0], 0xff);
    assert_int_equal(ns_natt_keepalive(buf, 0), 0);
    assert_int_equal(NS_NATT_KEEPALIVE_DEFAULT_S, 20);

    const uint8_t *body;
    size_t blen;
    assert_int_equal(ns_natt_classify(buf, 1, &body, &blen), NS_NATT_KEEPALIVE);
    assert_null(body);
    assert_int_equal(blen, 0);
}

/* X1: a received keepalive is recognised and discarded; other one-byte
 * datagrams are not keepalives. */
static void one_byte_datagrams(void **state)
{
    (void)state;
    const uint8_t *body;
    size_t blen;
    for (unsigned b = 0; b < 256; b++) {
        uint8_t d = (uint8_t)b;
        enum ns_natt_kind k = ns_natt_classify(&d, 1, &body, &blen);
        assert_int_equal(k, b == 0xff ? NS_NATT_KEEPALIVE : NS_NATT_INVALID);
    }
}

/* R4: IKE on port 4500 carries the non-ESP marker, which is stripped. */
static void ike_after_marker(void **state)
{
    (void)state;
    uint8_t d[4 + 28];
    memset(d, 0, 4);
    for (size_t i = 4; i < sizeof(d); i++)
        d[i] = (uint8_t)i;
    const uint8_t *body;
    size_t blen;
    assert_int_equal(ns_natt_classify(d, sizeof(d), &body, &blen), NS_NATT_IKE);
    assert_ptr_equal(body, d + 4);
    assert_int_equal(blen, 28);
    /* Even a short IKE message goes to the IKE parser, which rejects it. */
    assert_int_equal(ns_natt_classify(d, 5, &body, &blen), NS_NATT_IKE);
    assert_int_equal(blen, 1);
    /* A marker with nothing after it is nothing. */
    assert_int_equal(ns_natt_classify(d, 4, &body, &blen), NS_NATT_INVALID);
    assert_null(body);
}

static void esp_with_nonzero_spi(void **state)
{
    (void)state;
    uint8_t d[40] = {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1};
    const uint8_t *body;
    size_t blen;
    assert_int_equal(ns_natt_classify(d, sizeof(d), &body, &blen), NS_NATT_ESP);
    assert_ptr_equal(body, d);
    assert_int_equal(blen, sizeof(d));
    assert_int_equal(ns_natt_classify(d, 8, &body, &blen), NS_NATT_ESP);
    /* SPI and sequence number are the least an ESP packet has. */
    for (size_t n = 2; n < 8; n++)
        assert_int_equal(ns_natt_classify(d, n, &body, &blen), NS_NATT_INVALID);
    /* Any non-zero first byte of the SPI, including 0xff with more bytes. */
    d[0] = 0xff;
    assert_int_equal(ns_natt_classify(d, sizeof(d), &body, &blen), NS_NATT_ESP);
    d[0] = 0;
    d[3] = 1; /* SPI 0x00345601: still not the marker */
    d[1] = d[2] = 0;
    assert_int_equal(ns_natt_classify(d, sizeof(d), &body, &blen), NS_NATT_ESP);
}

static void empty_and_null(void **state)
{
    (void)state;
    const uint8_t *body = (const uint8_t *)"x";
    size_t blen = 99;
    assert_int_equal(ns_natt_classify(NULL, 0, &body, &blen), NS_NATT_INVALID);
    assert_null(body);
    assert_int_equal(blen, 0);
    uint8_t d[1] = {0};
    assert_int_equal(ns_natt_classify(d, 0, &body, &blen), NS_NATT_INVALID);
}

static void marker_is_prepended_in_place(void **state)
{
    (void)state;
    uint8_t buf[16];
    memset(buf, 0xaa, sizeof(buf));
    uint8_t *msg = buf + 8;
    uint8_t *out = ns_natt_add_marker(msg);
    assert_ptr_equal(out, buf + 4);
    assert_memory_equal(out, ((uint8_t[]){0, 0, 0, 0}), 4);
    assert_int_equal(buf[3], 0xaa);
    assert_int_equal(buf[8], 0xaa);
    /* What we send is what we classify as IKE. */
    const uint8_t *body;
    size_t blen;
    assert_int_equal(ns_natt_classify(out, 12, &body, &blen), NS_NATT_IKE);
    assert_ptr_equal(body, msg);
}

static void kind_names(void **state)
{
    (void)state;
    assert_string_equal(ns_natt_kind_name(NS_NATT_KEEPALIVE), "keepalive");
    assert_string_equal(ns_natt_kind_name(NS_NATT_IKE), "ike");
    assert_string_equal(ns_natt_kind_name(NS_NATT_ESP), "esp");
    assert_string_equal(ns_natt_kind_name(NS_NATT_INVALID), "invalid");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keepalive_is_one_ff_byte),
        cmocka_unit_test(one_byte_datagrams),
        cmocka_unit_test(ike_after_marker),
        cmocka_unit_test(esp_with_nonzero_spi),
        cmocka_unit_test(empty_and_null),
        cmocka_unit_test(marker_is_prepended_in_place),
        cmocka_unit_test(kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
