/* Unit tests for util/resolvconf (X8): the resolv.conf a client writes
 * names the VPN's DNS servers of both families, and the previous content
 * comes back byte for byte, also when it was longer than ours. */
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
#include <unistd.h>

#include "util/resolvconf.h"

static const char header[] = "# written by natsecd for its VPN connection; the previous content\n"
                             "# is put back when the connection goes down\n";

static void both_families_in_order(void **state) /* X8 */
{
    (void)state;
    struct ns_addr dns[2];
    assert_int_equal(ns_addr_parse(&dns[0], "192.0.2.53"), 0);
    assert_int_equal(ns_addr_parse(&dns[1], "2001:db8:c0::53"), 0);
    char out[512];
    ssize_t n = ns_resolvconf_render(out, sizeof(out), dns, 2, NULL, 0);
    char want[512];
    snprintf(want, sizeof(want), "%snameserver 192.0.2.53\nnameserver 2001:db8:c0::53\n", header);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_string_equal(out, want);
}

static void search_domains(void **state) /* X8 */
{
    (void)state;
    struct ns_addr dns;
    assert_int_equal(ns_addr_parse(&dns, "10.0.0.1"), 0);
    const char *dom[] = {"corp.example", "lab.corp.example"};
    char out[512];
    assert_true(ns_resolvconf_render(out, sizeof(out), &dns, 1, dom, 2) > 0);
    assert_non_null(strstr(out, "nameserver 10.0.0.1\nsearch corp.example lab.corp.example\n"));
}

/* Too small a buffer, or an unset address: nothing half-written is used. */
static void refuses_what_does_not_fit(void **state) /* X8 */
{
    (void)state;
    struct ns_addr dns;
    assert_int_equal(ns_addr_parse(&dns, "2001:db8::1"), 0);
    char out[sizeof(header) + 8];
    assert_int_equal(ns_resolvconf_render(out, sizeof(out), &dns, 1, NULL, 0), -1);
    struct ns_addr unset = {0};
    char big[512];
    assert_int_equal(ns_resolvconf_render(big, sizeof(big), &unset, 1, NULL, 0), -1);
}

/* Save, replace with ours (shorter than the original), restore: the
 * original bytes are back and nothing of ours is left after them. */
static void replace_and_restore(void **state) /* X8 */
{
    (void)state;
    char path[] = "/tmp/natsec-resolvconf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    static const char orig[] = "# host resolver\nnameserver 198.51.100.53\n"
                               "nameserver 198.51.100.54\noptions edns0 trust-ad\n"
                               "search home.example\n";
    assert_int_equal(write(fd, orig, strlen(orig)), (ssize_t)strlen(orig));

    size_t saved_len = 0;
    char *saved = ns_file_slurp(fd, 65536, &saved_len);
    assert_non_null(saved);
    assert_int_equal(saved_len, strlen(orig));
    assert_memory_equal(saved, orig, saved_len);

    static const char ours[] = "nameserver 192.0.2.53\n";
    assert_int_equal(ns_file_replace(fd, ours, strlen(ours)), 0);
    size_t len = 0;
    char *now = ns_file_slurp(fd, 65536, &len);
    assert_non_null(now);
    assert_string_equal(now, ours);
    free(now);

    assert_int_equal(ns_file_replace(fd, saved, saved_len), 0);
    now = ns_file_slurp(fd, 65536, &len);
    assert_non_null(now);
    assert_string_equal(now, orig);
    free(now);

    /* A file larger than the limit is refused rather than cut. */
    assert_null(ns_file_slurp(fd, 8, &len));
    free(saved);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_families_in_order),
        cmocka_unit_test(search_domains),
        cmocka_unit_test(refuses_what_does_not_fit),
        cmocka_unit_test(replace_and_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
