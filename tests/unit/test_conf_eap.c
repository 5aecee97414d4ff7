/* Unit tests for the EAP-MSCHAPv2 settings of the configuration (X12):
 * auth = eap-mschapv2 in [peer], a gateway's [user <name>] sections with a
 * password or its NT hash, a client's eap_user and eap_password, the
 * certificate files each role then needs, and every mistake with its file
 * and line, never showing a password. A file with [user] sections is
 * refused at start unless only root may read it. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "crypto/mschapv2.h"
#include "support/certs.h"

/* Lines: 1 [natsecd] .. 7 pool, 8 [peer %default], 9 auth, 10 subnets,
 * 11 [user alice], 12 password, then the extra text. */
#define GW_FMT                                                                                     \
    "[natsecd]\n"                                                                                  \
    "role = gateway\n"                                                                             \
    "local_id = vpn.corp.example\n"                                                                \
    "cert = %s\n"                                                                                  \
    "key = %s\n"                                                                                   \
    "ca = %s\n"                                                                                    \
    "pool = 10.99.0.0/24\n"                                                                        \
    "[peer %%default]\n"                                                                           \
    "auth = eap-mschapv2\n"                                                                        \
    "subnets = 192.0.2.0/24\n"                                                                     \
    "[user alice]\n"                                                                               \
    "password = clientPass\n"                                                                      \
    "%s"

/* Lines: 1 [natsecd] .. 6 ca, 7 [peer vpn.corp.example], 8 auth, 9
 * subnets, then the extra text. */
#define CLIENT_FMT                                                                                 \
    "[natsecd]\n"                                                                                  \
    "role = client\n"                                                                              \
    "local_id = alice@corp.example\n"                                                              \
    "gateway = 198.51.100.1\n"                                                                     \
    "remote_id = vpn.corp.example\n"                                                               \
    "%s"                                                                                           \
    "[peer vpn.corp.example]\n"                                                                    \
    "auth = eap-mschapv2\n"                                                                        \
    "subnets = 192.0.2.0/24\n"                                                                     \
    "%s"

static char text[8192], err[1024];

static int load_gw(const char *extra, struct ns_conf *c)
{
    snprintf(text, sizeof(text), GW_FMT, cert_path("gw-ecdsa.pem"), cert_path("gw-ecdsa.key"),
             cert_path("ca.pem"), extra ? extra : "");
    err[0] = '\0';
    return ns_conf_load_string(text, "gw.conf", c, err, sizeof(err));
}

static int load_client(const char *main_extra, const char *peer_extra, struct ns_conf *c)
{
    char ca[600];
    const char *ca_file = cert_path("ca.pem");
    assert_non_null(ca_file);
    snprintf(ca, sizeof(ca), "ca = %s\n", ca_file);
    snprintf(text, sizeof(text), CLIENT_FMT, main_extra ? main_extra : ca,
             peer_extra ? peer_extra : "");
    err[0] = '\0';
    return ns_conf_load_string(text, "cl.conf", c, err, sizeof(err));
}

static void expect_error(int rc, const char *want)
{
    assert_int_equal(rc, -1);
    if (!strstr(err, want))
        fail_msg("got \"%s\", want \"%s\"\n%s", err, want, text);
}

static void nt_hash_of(const char *password, uint8_t out[NS_MSCHAPV2_HASH_LEN])
{
    assert_int_equal(ns_mschapv2_nt_hash(password, strlen(password), out), 0);
}

static void gateway_users(void **state) /* X12 */
{
    (void)state;
    struct ns_conf c;
    /* RFC 2759 9.2: the NT hash of "clientPass". */
    if (load_gw("[user CORP\\bob]\nnt_hash = 0x44EBBA8D5312B8D611474411F56989AE\n", &c) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.peers[0].auth, NS_CONF_AUTH_EAP_MSCHAPV2);
    assert_int_equal(c.n_users, 2);
    const struct ns_conf_user *a = ns_conf_find_user(&c, (const uint8_t *)"alice", 5);
    const struct ns_conf_user *b = ns_conf_find_user(&c, (const uint8_t *)"CORP\\bob", 8);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->line, 11);
    assert_int_equal(b->line, 13);
    uint8_t h[NS_MSCHAPV2_HASH_LEN];
    nt_hash_of("clientPass", h);
    assert_memory_equal(a->nt_hash, h, sizeof(h));
    assert_memory_equal(b->nt_hash, h, sizeof(h));
    /* Exactly the bytes: no case folding, no domain stripped. */
    assert_null(ns_conf_find_user(&c, (const uint8_t *)"Alice", 5));
    assert_null(ns_conf_find_user(&c, (const uint8_t *)"bob", 3));
    assert_non_null(c.creds);
    assert_string_equal(ns_conf_auth_name(c.peers[0].auth), "eap-mschapv2");
    ns_conf_free(&c);
}

/* A gateway that takes EAP clients only shows its certificate: no ca. */
static void gateway_without_ca(void **state) /* X12 X7 */
{
    (void)state;
    struct ns_conf c;
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\ncert = %s\nkey = %s\n"
             "pool = 10.99.0.0/24\n[peer %%default]\nauth = eap-mschapv2\n"
             "subnets = 192.0.2.0/24\n[user alice]\npassword = clientPass\n",
             cert_path("gw-ecdsa.pem"), cert_path("gw-ecdsa.key"));
    if (ns_conf_load_string(text, "gw.conf", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    ns_conf_free(&c);
    /* Without its certificate it has nothing to show. */
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "[peer %%default]\nauth = eap-mschapv2\nsubnets = 192.0.2.0/24\n"
             "[user alice]\npassword = clientPass\n");
    expect_error(ns_conf_load_string(text, "gw.conf", &c, err, sizeof(err)),
                 "gw.conf:5: [peer %default] says auth = eap-mschapv2: [natsecd] needs 'cert'");
}

static void gateway_mistakes(void **state) /* X12 */
{
    (void)state;
    struct ns_conf c;
    expect_error(load_gw("[user bob]\n", &c), "gw.conf:13: [user bob] needs 'password'");
    expect_error(
        load_gw("[user bob]\npassword = a\nnt_hash = 0x00112233445566778899aabbccddeeff\n", &c),
        "gw.conf:15: [user bob] has its password already (line 14)");
    expect_error(load_gw("[user bob]\nnt_hash = 0x0011\n", &c),
                 "gw.conf:14: nt_hash: not 0x and 32 hex digits");
    expect_error(load_gw("[user alice]\npassword = again\n", &c),
                 "gw.conf:13: duplicate [user alice] (first on line 11)");
    expect_error(load_gw("[user bob]\nshell = /bin/sh\n", &c),
                 "gw.conf:14: unknown key 'shell' in [user bob]");
    expect_error(load_gw("[user]\n", &c), "gw.conf:13: [user] needs a name");
    expect_error(load_gw("[peer carol@corp.example]\nauth = eap-mschapv2\npsk = 0123456789abcdef\n"
                         "subnets = 192.0.2.0/24\n",
                         &c),
                 "gw.conf:15: [peer carol@corp.example] says auth = eap-mschapv2: its psk would "
                 "not be used");
    expect_error(load_gw("[peer carol@corp.example]\nauth = eap-mschapv2\neap_user = carol\n"
                         "subnets = 192.0.2.0/24\n",
                         &c),
                 "gw.conf:15: [peer carol@corp.example]: eap_user and eap_password are a "
                 "client's");
    /* An EAP section with nobody to log in. */
    snprintf(text, sizeof(text), GW_FMT, cert_path("gw-ecdsa.pem"), cert_path("gw-ecdsa.key"),
             cert_path("ca.pem"), "");
    char *u = strstr(text, "[user alice]");
    *u = '\0';
    expect_error(ns_conf_load_string(text, "gw.conf", &c, err, sizeof(err)),
                 "gw.conf:8: [peer %default] says auth = eap-mschapv2: no [user <name>] section");
    /* A password is never shown, not even a broken one. */
    expect_error(load_gw("[user bob]\npassword = \xff\xfe-hunter2\n", &c),
                 "gw.conf:14: password: not UTF-8 text");
    assert_null(strstr(err, "hunter2"));
}

static void client_login(void **state) /* X12 */
{
    (void)state;
    struct ns_conf c;
    if (load_client(NULL, "eap_user = alice\neap_password = clientPass\n", &c) != 0)
        fail_msg("%s", err);
    const struct ns_conf_peer *gw = &c.peers[0];
    assert_int_equal(gw->auth, NS_CONF_AUTH_EAP_MSCHAPV2);
    assert_int_equal(gw->eap_user_len, 5);
    assert_string_equal(gw->eap_user, "alice");
    uint8_t h[NS_MSCHAPV2_HASH_LEN];
    nt_hash_of("clientPass", h);
    assert_memory_equal(gw->eap_nt_hash, h, sizeof(h));
    assert_non_null(c.creds); /* the CA, to check the gateway */
    ns_conf_free(&c);
}

static void client_mistakes(void **state) /* X12 */
{
    (void)state;
    struct ns_conf c;
    expect_error(load_client(NULL, "eap_password = clientPass\n", &c),
                 "cl.conf:7: [peer vpn.corp.example] says auth = eap-mschapv2: it needs "
                 "'eap_user'");
    expect_error(load_client(NULL, "eap_user = alice\n", &c),
                 "cl.conf:7: [peer vpn.corp.example] says auth = eap-mschapv2: it needs "
                 "'eap_password'");
    /* The gateway's certificate must be checked against a CA. */
    expect_error(load_client("", "eap_user = alice\neap_password = x\n", &c),
                 "cl.conf:6: [peer vpn.corp.example] says auth = eap-mschapv2: [natsecd] needs "
                 "'ca'");
    expect_error(
        load_client(NULL, "eap_user = alice\neap_password = x\n[user bob]\npassword = y\n", &c),
        "cl.conf:12: [user bob]: [user] sections are a gateway's");
    /* eap_user without EAP. */
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = a@b.example\ngateway = 198.51.100.1\n"
             "remote_id = vpn.corp.example\n[peer vpn.corp.example]\npsk = 0123456789abcdef\n"
             "eap_user = alice\nsubnets = 192.0.2.0/24\n");
    expect_error(ns_conf_load_string(text, "cl.conf", &c, err, sizeof(err)),
                 "cl.conf:8: [peer vpn.corp.example]: eap_user and eap_password need auth = "
                 "eap-mschapv2");
}

/* ---- the file's permissions ---- */

static char dir[64];

static int perm_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/natsec-conf-eap-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int perm_teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/gw.conf", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* The gateway's text; with_user: natsecd becomes nobody once set up. */
static void file_text(bool with_user)
{
    snprintf(text, sizeof(text), GW_FMT, cert_path("gw-ecdsa.pem"), cert_path("gw-ecdsa.key"),
             cert_path("ca.pem"), "");
    if (with_user) {
        static const char line[] = "user = nobody\n";
        size_t head = strlen("[natsecd]\n"), n = strlen(text);
        assert_true(n + sizeof(line) < sizeof(text));
        memmove(text + head + sizeof(line) - 1, text + head, n - head + 1);
        memcpy(text + head, line, sizeof(line) - 1);
    }
}

static int load_file(bool with_user, mode_t mode, uid_t owner, gid_t group, struct ns_conf *c,
                     char *path, size_t len)
{
    snprintf(path, len, "%s/gw.conf", dir);
    file_text(with_user);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    assert_int_equal(chown(path, owner, group), 0);
    err[0] = '\0';
    return ns_conf_load(path, c, err, sizeof(err));
}

/* Root and natsecd only: natsecd that stays root needs no group, one that
 * becomes `user` once set up reads the file again at a reload through
 * that user's group. */
static void users_file_root_only(void **state) /* X12 R15 */
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct ns_conf c;
    char path[128], want[512];
    if (load_file(false, 0600, 0, 0, &c, path, sizeof(path)) != 0)
        fail_msg("%s", err);
    ns_conf_free(&c);
    snprintf(want, sizeof(want),
             "%s:11: [user alice]: refused: a file with user passwords must be readable by "
             "root and natsecd only, but its group 0 may use it (mode 0640): chmod 600, or "
             "chmod 640 with the group natsecd runs as",
             path);
    expect_error(load_file(false, 0640, 0, 0, &c, path, sizeof(path)), want);
    expect_error(load_file(false, 0604, 0, 0, &c, path, sizeof(path)),
                 "others may use it (mode 0604): chmod o-rwx");
    snprintf(want, sizeof(want),
             "%s:11: [user alice]: refused: a file with user passwords must be readable by "
             "root and natsecd only, but user 1000 owns it: chown root",
             path);
    expect_error(load_file(false, 0600, 1000, 0, &c, path, sizeof(path)), want);
    assert_null(strstr(err, "clientPass"));

    /* natsecd becomes nobody: nobody's group may read, not write. */
    const struct passwd *pw = getpwnam("nobody");
    assert_non_null(pw);
    gid_t nogroup = pw->pw_gid;
    if (load_file(true, 0640, 0, nogroup, &c, path, sizeof(path)) != 0)
        fail_msg("%s", err);
    ns_conf_free(&c);
    expect_error(load_file(true, 0660, 0, nogroup, &c, path, sizeof(path)), "(mode 0660)");
    expect_error(load_file(true, 0640, 0, 0, &c, path, sizeof(path)), "its group 0 may use it");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gateway_users),
        cmocka_unit_test(gateway_without_ca),
        cmocka_unit_test(gateway_mistakes),
        cmocka_unit_test(client_login),
        cmocka_unit_test(client_mistakes),
        cmocka_unit_test_setup_teardown(users_file_root_only, perm_setup, perm_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
