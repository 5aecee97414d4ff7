/* Unit tests for ike/cp_domain (X8, RFC 8598): which INTERNAL_DNS_DOMAIN
 * values a client keeps for split DNS, and that nothing else (control
 * characters, spaces that would split the list, empty labels, overlong
 * names) reaches the resolver configuration. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ike/cp_domain.h"

static int add(char *list, const char *s, size_t len)
{
    return ns_cp_dns_domain_add(list, (const uint8_t *)s, len);
}

static void domains_kept_in_order(void **state) /* X8 */
{
    (void)state;
    char list[NS_CP_DOMAINS_MAX] = "";
    assert_int_equal(add(list, "corp.example", 12), 0);
    /* Trailing NUL octets (RFC 8598 4.1) and one trailing dot are not part of it. */
    assert_int_equal(add(list, "lab.corp.example.\0\0", 19), 0);
    assert_int_equal(add(list, "_sip.x-1.example", 16), 0);
    assert_string_equal(list, "corp.example lab.corp.example _sip.x-1.example");
}

static void bad_values_refused(void **state) /* X8 */
{
    (void)state;
    char list[NS_CP_DOMAINS_MAX] = "corp.example";
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"", 0},
        {"\0\0", 2},
        {".", 1},
        {"a..example", 10},
        {".example", 8},
        {"two words", 9},
        {"evil\nnameserver 6.6.6.6", 24},
        {"nul\0inside", 10},
        {"caf\xc3\xa9.example", 13},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(add(list, bad[i].s, bad[i].len), -1);
    char label[70];
    memset(label, 'a', 64);
    memcpy(label + 64, ".ex", 3);
    assert_int_equal(add(list, label, 67), -1); /* a 64-character label */
    char longname[260];
    for (size_t i = 0; i < sizeof(longname); i++)
        longname[i] = i % 10 == 9 ? '.' : 'a';
    assert_int_equal(add(list, longname, 255), -1); /* over 253 */
    assert_string_equal(list, "corp.example");
}

static void full_list_refuses(void **state) /* X8 */
{
    (void)state;
    char list[NS_CP_DOMAINS_MAX] = "";
    char name[64];
    memset(name, 'a', 63);
    unsigned kept = 0;
    while (add(list, name, 63) == 0)
        kept++;
    assert_int_equal(kept, 4); /* 4 * 64 = 256 with the NUL: the fifth does not fit */
    assert_true(strlen(list) < NS_CP_DOMAINS_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(domains_kept_in_order),
        cmocka_unit_test(bad_values_refused),
        cmocka_unit_test(full_list_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
