/* Unit tests: the configuration leaves no copy of a PSK in memory it gives
 * back (R15: a secret that outlives its use in freed heap can come back
 * in a later allocation, a core dump or a swap page).
 *
 * This program is linked with --wrap=free and --wrap=realloc
 * (tests/CMakeLists.txt): every block natsec's own code frees, or that a
 * realloc moves away from, is searched for the PSK first. Memory freed
 * inside shared libraries (libinih's line buffer, libc's) is not seen
 * here; conf.c wipes libinih's buffer before it is freed. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "support/certs.h"

#define MARK "Wipe-Me-7f3a9c2e1b84d6c0"
/* What is searched: the first 16 bytes of MARK, so that an NT hash (16
 * bytes) can be the mark too. */
#define MARK_LEN 16

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t n);

static unsigned leaked; /* blocks given back with MARK in them */

static bool holds_mark(void *p)
{
    return p && memmem(p, malloc_usable_size(p), MARK, MARK_LEN) != NULL;
}

void __wrap_free(void *p)
{
    if (holds_mark(p))
        leaked++;
    __real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
    bool had = holds_mark(p);
    void *q = __real_realloc(p, n);
    if (q && q != p && had)
        leaked++;
    return q;
}

/* A gateway with n [peer] sections, each with the PSK MARK, then tail. */
static char *gateway_text(unsigned n, const char *tail)
{
    size_t cap = 512 + n * 128 + strlen(tail);
    char *t = malloc(cap);
    assert_non_null(t);
    size_t len = (size_t)snprintf(t, cap,
                                  "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
                                  "pool = 10.99.0.0/24\n");
    for (unsigned i = 0; i < n; i++)
        len += (size_t)snprintf(t + len, cap - len,
                                "[peer user%u@corp.example]\npsk = %s\nsubnets = 192.0.2.0/24\n", i,
                                MARK);
    snprintf(t + len, cap - len, "%s", tail);
    return t;
}

/* The test's own copy of the text goes without the wrapper's notice. */
static void drop_text(char *t)
{
    memset(t, 0, strlen(t));
    __real_free(t);
}

/* R15: 20 peers make the peers array grow twice; neither the blocks left
 * behind by the growth nor the array freed by ns_conf_free hold a PSK. */
static void peers_array_wiped(void **state)
{
    (void)state;
    char *text = gateway_text(20, "");
    struct ns_conf c;
    char err[512];
    leaked = 0;
    assert_int_equal(ns_conf_load_string(text, "t.conf", &c, err, sizeof(err)), 0);
    assert_int_equal(c.n_peers, 20);
    assert_memory_equal(c.peers[19].psk, MARK, strlen(MARK));
    ns_conf_free(&c);
    assert_int_equal(leaked, 0);
    drop_text(text);
}

/* R15: a file that fails to load (an error after the PSKs) leaves nothing
 * behind either. */
static void error_path_wiped(void **state)
{
    (void)state;
    char *text = gateway_text(10, "[natsecd]\n");
    struct ns_conf c;
    char err[512];
    leaked = 0;
    assert_int_equal(ns_conf_load_string(text, "t.conf", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "duplicate [natsecd]"));
    ns_conf_free(&c);
    assert_int_equal(leaked, 0);
    drop_text(text);
}

/* R15: the file's text, read into the heap, is wiped before it is freed. */
static void file_text_wiped(void **state)
{
    (void)state;
    char path[] = "/tmp/natsec-conf-secrets.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *text = gateway_text(3, "");
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    drop_text(text);
    struct ns_conf c;
    char err[512];
    leaked = 0;
    int rc = ns_conf_load(path, &c, err, sizeof(err));
    unlink(path);
    assert_int_equal(rc, 0);
    ns_conf_free(&c);
    assert_int_equal(leaked, 0);
}

/* R15: a PSK that does not parse is refused without being quoted in the
 * error, which goes to the terminal and the journal. */
static void bad_hex_psk_not_quoted(void **state)
{
    (void)state;
    const char *text = "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
                       "pool = 10.99.0.0/24\n[peer alice@corp.example]\n"
                       "psk = 0x00112233445566778899aabbccddeeffZ0\nsubnets = 192.0.2.0/24\n";
    struct ns_conf c;
    char err[512];
    assert_int_equal(ns_conf_load_string(text, "t.conf", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.conf:6: psk:"));
    assert_null(strstr(err, "00112233445566778899"));
    ns_conf_free(&c);
}

/* X12 R15: [user] sections make the users array grow twice; their NT
 * hashes (as good as the passwords) are in no block given back. */
static void user_hashes_wiped(void **state)
{
    (void)state;
    char hex[2 * MARK_LEN + 1], line[128];
    for (int i = 0; i < MARK_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)MARK[i]);
    char *text = gateway_text(1, "");
    size_t cap = strlen(text) + 20 * sizeof(line);
    char *all = malloc(cap);
    assert_non_null(all);
    size_t len = (size_t)snprintf(all, cap, "%s", text);
    for (unsigned i = 0; i < 20; i++) {
        snprintf(line, sizeof(line), "[user u%u]\nnt_hash = 0x%s\n", i, hex);
        len += (size_t)snprintf(all + len, cap - len, "%s", line);
    }
    drop_text(text);
    struct ns_conf c;
    char err[512];
    leaked = 0;
    if (ns_conf_load_string(all, "t.conf", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.n_users, 20);
    assert_memory_equal(c.users[19].nt_hash, MARK, MARK_LEN);
    ns_conf_free(&c);
    assert_int_equal(leaked, 0);
    drop_text(all);
}

/* X12 R15: a client's eap_password is turned into its hash and wiped. */
static void eap_password_wiped(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = a.corp.example\ngateway = 198.51.100.1\n"
             "remote_id = vpn.corp.example\nca = %s\n[peer vpn.corp.example]\n"
             "auth = eap-mschapv2\neap_user = alice\neap_password = %s\nsubnets = 192.0.2.0/24\n",
             cert_path("ca.pem"), MARK);
    struct ns_conf c;
    char err[512];
    leaked = 0;
    if (ns_conf_load_string(text, "t.conf", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    ns_conf_free(&c);
    assert_int_equal(leaked, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peers_array_wiped), cmocka_unit_test(error_path_wiped),
        cmocka_unit_test(file_text_wiped),   cmocka_unit_test(bad_hex_psk_not_quoted),
        cmocka_unit_test(user_hashes_wiped), cmocka_unit_test(eap_password_wiped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
