/* Unit tests for what a reload may change (conf/reload.c, X14): the
 * [peer] sections (a section is unchanged when its name and every key as
 * written stay, in any order), log_level and log_target; any other
 * [natsecd] key, every one keys.c knows, is refused with the new file's
 * line. */
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

#include "conf/conf.h"
#include "conf/parse.h"

#define HEAD "[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/24\n"
#define ALICE "[peer alice@example.net]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n"
#define BOB "[peer bob@example.net]\npsk = fedcba9876543210\nsubnets = 192.0.2.0/24\n"

static struct ns_conf old_c, new_c;

static void load(const char *text, struct ns_conf *c)
{
    char err[512] = "";
    if (ns_conf_load_string(text, "n.conf", c, err, sizeof(err)) != 0)
        fail_msg("unexpected error: %s", err);
}

static const struct ns_conf_peer *section(const struct ns_conf *c, const char *name)
{
    for (unsigned i = 0; i < c->n_peers; i++)
        if (strcmp(c->peers[i].name, name) == 0)
            return &c->peers[i];
    fail_msg("no section %s", name);
    return NULL;
}

static int teardown(void **state)
{
    (void)state;
    ns_conf_free(&old_c);
    ns_conf_free(&new_c);
    return 0;
}

/* X14: the same file reloads cleanly and keeps every section. */
static void same_file_keeps_everything(void **state)
{
    (void)state;
    load(HEAD ALICE BOB, &old_c);
    load(HEAD ALICE BOB, &new_c);
    char err[256];
    assert_int_equal(ns_conf_reload_check(&old_c, &new_c, "n.conf", err, sizeof(err)), 0);
    for (unsigned i = 0; i < old_c.n_peers; i++)
        assert_ptr_equal(ns_conf_same_peer(&new_c, &old_c.peers[i]), &new_c.peers[i]);
}

/* X14: keys in another order, comments and spaces: still the same
 * section; a changed PSK or narrowed subnets: another one. */
static void sections_compared_as_written(void **state)
{
    (void)state;
    load(HEAD ALICE BOB
         "[peer carol@example.net]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n",
         &old_c);
    load(HEAD "[peer alice@example.net] ; reordered\nsubnets   =   192.0.2.0/24\n"
              "psk = 0123456789abcdef\n"
              "[peer bob@example.net]\npsk = fedcba9876543211\nsubnets = 192.0.2.0/24\n"
              "[peer carol@example.net]\npsk = 0123456789abcdef\nsubnets = 192.0.2.10/32\n",
         &new_c);
    char err[256];
    assert_int_equal(ns_conf_reload_check(&old_c, &new_c, "n.conf", err, sizeof(err)), 0);
    assert_ptr_equal(ns_conf_same_peer(&new_c, section(&old_c, "alice@example.net")),
                     section(&new_c, "alice@example.net"));
    assert_null(ns_conf_same_peer(&new_c, section(&old_c, "bob@example.net")));
    assert_null(ns_conf_same_peer(&new_c, section(&old_c, "carol@example.net")));
}

/* X14: a removed section is not replaced by %default, and %default is
 * compared as a section of its own. */
static void removed_section_and_default(void **state)
{
    (void)state;
    const char *dflt = "[peer %default]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n";
    char text[1024];
    snprintf(text, sizeof(text), "%s%s%s%s", HEAD, ALICE, BOB, dflt);
    load(text, &old_c);
    snprintf(text, sizeof(text), "%s%s%s", HEAD, ALICE, dflt);
    load(text, &new_c);
    assert_null(ns_conf_same_peer(&new_c, section(&old_c, "bob@example.net")));
    assert_ptr_equal(ns_conf_same_peer(&new_c, section(&old_c, "%default")),
                     section(&new_c, "%default"));
    ns_conf_free(&new_c);
    load(HEAD ALICE "[peer %default]\npsk = 0123456789abcdef\nsubnets = 192.0.2.10/32\n", &new_c);
    assert_null(ns_conf_same_peer(&new_c, section(&old_c, "%default")));
}

/* X14: log_level and log_target may change; tun may not, and the refusal
 * names the new file's line and both values. */
static void main_keys_refused_with_line(void **state)
{
    (void)state;
    load(HEAD "tun = vpn0\nlog_level = info\n" ALICE, &old_c);
    load(HEAD "log_level = debug\nlog_target = syslog\n" ALICE, &new_c);
    char err[256];
    assert_int_equal(ns_conf_reload_check(&old_c, &new_c, "n.conf", err, sizeof(err)), -1);
    assert_string_equal(err, "n.conf:1: tun cannot change without a restart (was 'vpn0', now the "
                             "default)");
    ns_conf_free(&new_c);
    load(HEAD "log_level = debug\nlog_target = syslog\ntun = vpn1\n" ALICE, &new_c);
    assert_int_equal(ns_conf_reload_check(&old_c, &new_c, "n.conf", err, sizeof(err)), -1);
    assert_string_equal(err,
                        "n.conf:7: tun cannot change without a restart (was 'vpn0', now 'vpn1')");
    ns_conf_free(&new_c);
    load(HEAD "tun = vpn0\nlog_level = debug\nlog_target = syslog\n" ALICE, &new_c);
    assert_int_equal(ns_conf_reload_check(&old_c, &new_c, "n.conf", err, sizeof(err)), 0);
}

/* X14: every [natsecd] key keys.c knows, other than log_level and
 * log_target, is refused when its value changes: a key added later is
 * covered without an edit of reload.c. */
static void every_main_key_is_compared(void **state)
{
    (void)state;
    unsigned n = 0;
    for (unsigned i = 0; ns_conf_p_main_key_name(i); i++, n++) {
        const char *key = ns_conf_p_main_key_name(i);
        struct ns_conf a, b;
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        a.main_value[i] = (char *)"one";
        a.main_value_line[i] = 3;
        b.main_value[i] = (char *)"two";
        b.main_value_line[i] = 4;
        char err[256] = "";
        int rc = ns_conf_reload_check(&a, &b, "n.conf", err, sizeof(err));
        if (strcmp(key, "log_level") == 0 || strcmp(key, "log_target") == 0) {
            assert_int_equal(rc, 0);
            continue;
        }
        if (rc != -1)
            fail_msg("a change of %s is not refused", key);
        char want[128];
        snprintf(want, sizeof(want), "n.conf:4: %s cannot change", key);
        assert_non_null(strstr(err, want));
        b.main_value[i] = (char *)"one";
        assert_int_equal(ns_conf_reload_check(&a, &b, "n.conf", err, sizeof(err)), 0);
    }
    assert_true(n >= 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(same_file_keeps_everything, teardown),
        cmocka_unit_test_teardown(sections_compared_as_written, teardown),
        cmocka_unit_test_teardown(removed_section_and_default, teardown),
        cmocka_unit_test_teardown(main_keys_refused_with_line, teardown),
        cmocka_unit_test(every_main_key_is_compared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
