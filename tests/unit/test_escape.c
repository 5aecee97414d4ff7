/* Unit tests for util/escape (R15): what a peer sends reaches a log line
 * as printable ASCII, never as a line of its own or a terminal sequence. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/escape.h"

static void printable_kept(void **state) /* R15 */
{
    (void)state;
    char out[64];
    static const char in[] = "dn:C=CH, O=Corp, CN=alice ~!";
    assert_string_equal(ns_escape(out, sizeof(out), in, strlen(in)), in);
}

/* A newline would start a forged line; ESC and the C1 CSI (U+009B, UTF-8
 * c2 9b) are terminal sequences; DEL, NUL and every byte above 0x7e go as
 * \xNN, a backslash doubled (so an escape cannot be forged either). */
static void everything_else_escaped(void **state) /* R15 */
{
    (void)state;
    char out[128];
    static const uint8_t in[] = "evil\n0.000 INFO forged\x1b[2J\xc2\x9b\x7f\\x0a\r";
    assert_string_equal(ns_escape(out, sizeof(out), in, sizeof(in)),
                        "evil\\x0a0.000 INFO forged\\x1b[2J\\xc2\\x9b\\x7f\\\\x0a\\x0d\\x00");
}

/* Every byte value, at the room NS_ESCAPE_CAP gives: printable ASCII out,
 * nothing cut. */
static void every_byte(void **state) /* R15 */
{
    (void)state;
    uint8_t in[256];
    char out[NS_ESCAPE_CAP(256)];
    for (unsigned i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    ns_escape(out, sizeof(out), in, sizeof(in));
    size_t n = strlen(out);
    /* 95 printable bytes (the backslash as 2), 161 others as 4. */
    assert_int_equal(n, 94 + 2 + 161 * 4);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i] >= 0x20 && out[i] <= 0x7e);
}

/* Too little room: cut between whole characters, always terminated. */
static void cut_between_characters(void **state) /* R15 */
{
    (void)state;
    char out[8];
    static const uint8_t in[] = "ab\ncd";
    memset(out, 'X', sizeof(out));
    assert_string_equal(ns_escape(out, 5, in, 5), "ab");      /* "\x0a" needs 4 more */
    assert_string_equal(ns_escape(out, 7, in, 5), "ab\\x0a"); /* and the NUL */
    assert_string_equal(ns_escape(out, 1, in, 5), "");
    out[0] = 'X';
    ns_escape(out, 0, in, 5);
    assert_int_equal(out[0], 'X'); /* no room: nothing written */
    assert_string_equal(ns_escape(out, sizeof(out), NULL, 0), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(printable_kept),
        cmocka_unit_test(everything_else_escaped),
        cmocka_unit_test(every_byte),
        cmocka_unit_test(cut_between_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
