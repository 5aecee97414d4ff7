/* Unit tests for the bounds-checked reader and writer (src/util/buf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"

static void reader_reads_network_order(void **state)
{
    (void)state;
    const uint8_t data[] = {1, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 1, 2, 3, 4, 5, 6, 7, 8};
    struct ns_reader r;
    ns_reader_init(&r, data, sizeof(data));
    assert_int_equal(ns_read_u8(&r), 1);
    assert_int_equal(ns_read_u16(&r), 0x0203);
    assert_int_equal(ns_read_u32(&r), 0x04050607);
    assert_true(ns_read_u64(&r) == 0x0102030405060708ull);
    assert_true(ns_reader_ok(&r));
    assert_int_equal(ns_reader_left(&r), 0);
}

static void reader_latches_failure(void **state)
{
    (void)state;
    const uint8_t data[] = {0xaa, 0xbb, 0xcc};
    struct ns_reader r;
    ns_reader_init(&r, data, sizeof(data));
    assert_int_equal(ns_read_u32(&r), 0); /* too short */
    assert_false(ns_reader_ok(&r));
    /* Once failed, even a read that would fit fails: the caller checks once. */
    assert_int_equal(ns_read_u8(&r), 0);
    assert_null(ns_read_bytes(&r, 1));
    assert_int_equal(ns_reader_left(&r), 0);
}

static void reader_huge_length_does_not_wrap(void **state)
{
    (void)state;
    const uint8_t data[4] = {0};
    struct ns_reader r;
    ns_reader_init(&r, data, sizeof(data));
    assert_true(ns_read_skip(&r, 2));
    assert_null(ns_read_bytes(&r, SIZE_MAX));
    assert_false(ns_reader_ok(&r));
}

static void sub_reader_is_confined(void **state)
{
    (void)state;
    const uint8_t data[] = {1, 2, 3, 4, 5};
    struct ns_reader r;
    ns_reader_init(&r, data, sizeof(data));
    struct ns_reader sub = ns_read_sub(&r, 2);
    assert_true(ns_reader_ok(&sub));
    assert_int_equal(ns_read_u16(&sub), 0x0102);
    assert_int_equal(ns_read_u8(&sub), 0); /* past the sub-range */
    assert_false(ns_reader_ok(&sub));
    assert_true(ns_reader_ok(&r));
    assert_int_equal(ns_read_u8(&r), 3);
    struct ns_reader bad = ns_read_sub(&r, 3); /* only 2 left */
    assert_false(ns_reader_ok(&bad));
    assert_false(ns_reader_ok(&r));
}

static void writer_stops_at_capacity(void **state)
{
    (void)state;
    uint8_t buf[7];
    struct ns_writer w;
    ns_writer_init(&w, buf, sizeof(buf));
    ns_write_u16(&w, 0x0102);
    ns_write_u32(&w, 0x03040506);
    assert_true(ns_writer_ok(&w));
    ns_write_u16(&w, 0xffff); /* one byte short */
    assert_false(ns_writer_ok(&w));
    assert_int_equal(ns_writer_len(&w), 6);
    assert_null(ns_write_reserve(&w, 1));
    assert_memory_equal(buf, ((uint8_t[]){1, 2, 3, 4, 5, 6}), 6);
}

static void writer_patches_lengths(void **state)
{
    (void)state;
    uint8_t buf[8];
    struct ns_writer w;
    ns_writer_init(&w, buf, sizeof(buf));
    ns_write_u32(&w, 0);
    ns_write_u16(&w, 0xabcd);
    ns_write_u32_at(&w, 0, 6);
    assert_true(ns_writer_ok(&w));
    assert_int_equal(ns_get_u32(buf), 6);
    ns_write_u16_at(&w, 5, 1); /* would cross the written end */
    assert_false(ns_writer_ok(&w));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_reads_network_order),
        cmocka_unit_test(reader_latches_failure),
        cmocka_unit_test(reader_huge_length_does_not_wrap),
        cmocka_unit_test(sub_reader_is_confined),
        cmocka_unit_test(writer_stops_at_capacity),
        cmocka_unit_test(writer_patches_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
