/* Unit tests: who else may change or read the files natsecd trusts at
 * start (R15: no one but the administrator decides the peers, the keys
 * and the subnets). A configuration, key, certificate or CA file that
 * others may write is refused with file:line; its group or another owner,
 * and a PSK or key that others may read, get a warning with file:line.
 * The files are copies in a private temporary folder, their modes and
 * owners set here (the tests run as root). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "support/certs.h"
#include "util/log.h"

/* Lines: 5 is [peer alice@corp.example], the first with a psk. */
static const char gw_psk[] = "[natsecd]\n"
                             "role = gateway\n"
                             "local_id = vpn.corp.example\n"
                             "pool = 10.99.0.0/24\n"
                             "[peer alice@corp.example]\n"
                             "psk = alice-secret-0123456789\n"
                             "subnets = 192.0.2.0/24\n";

struct fixture {
    char dir[64];
    char path[128]; /* the configuration */
    char *log;      /* what natsec logged during the load */
    size_t log_len;
    FILE *log_f;
    char err[1024];
};

static struct fixture F;

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

/* A copy of fixture certs/<name> in the folder, with this mode. */
static const char *copy_cert(const char *name, mode_t mode, const char *sub)
{
    static char out[4][256];
    static unsigned next;
    char *dst = out[next++ % 4];
    snprintf(dst, sizeof(out[0]), "%s%s/%s", F.dir, sub ? sub : "", name);
    FILE *in = fopen(cert_path(name), "rb");
    assert_non_null(in);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, in);
    fclose(in);
    buf[n] = '\0';
    write_file(dst, buf, mode);
    return dst;
}

/* Loads F.path with the log captured; returns ns_conf_load's result. */
static int load(struct ns_conf *c)
{
    free(F.log);
    F.log = NULL;
    F.log_f = open_memstream(&F.log, &F.log_len);
    assert_non_null(F.log_f);
    ns_log_set_stream(F.log_f);
    F.err[0] = '\0';
    int rc = ns_conf_load(F.path, c, F.err, sizeof(F.err));
    ns_log_set_stream(NULL);
    fclose(F.log_f);
    return rc;
}

static bool logged(const char *needle)
{
    return F.log && strstr(F.log, needle);
}

static void expect_logged(const char *want)
{
    if (!logged(want))
        fail_msg("log \"%s\" lacks \"%s\"", F.log ? F.log : "", want);
}

static void expect_err(const char *want)
{
    if (!strstr(F.err, want))
        fail_msg("got \"%s\", want \"%s\"", F.err, want);
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    snprintf(F.dir, sizeof(F.dir), "/tmp/natsec-perm.XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.path, sizeof(F.path), "%s/natsecd.conf", F.dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
    free(F.log);
    return system(cmd) == 0 ? 0 : -1;
}

/* R15: a configuration others may write is refused before it is read. */
static void config_writable_by_others_refused(void **state)
{
    (void)state;
    struct ns_conf c;
    const mode_t modes[] = {0666, 0602, 0622};
    for (unsigned i = 0; i < 3; i++) {
        write_file(F.path, gw_psk, modes[i]);
        assert_int_equal(load(&c), -1);
        char want[256];
        snprintf(want, sizeof(want), "%s:0: refused: others may write it (mode %04o): chmod o-w",
                 F.path, (unsigned)modes[i]);
        expect_err(want);
        ns_conf_free(&c);
    }
}

/* A gateway with certificates, cert/key/ca on lines 5/6/7. */
static void write_cert_conf(const char *cert, const char *key, const char *ca)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "cert = %s\nkey = %s\nca = %s\n[peer %%default]\nauth = pubkey\n"
             "subnets = 192.0.2.0/24\n",
             cert, key, ca);
    write_file(F.path, text, 0600);
}

/* R15: a configuration holding a PSK that others may read loads with a
 * warning on the line of the first [peer] with a psk; 0600 and 0640 give
 * none, and neither does 0644 without a PSK. */
static void config_psk_readable_warns(void **state)
{
    (void)state;
    struct ns_conf c;
    write_file(F.path, gw_psk, 0644);
    assert_int_equal(load(&c), 0);
    char want[256];
    snprintf(want, sizeof(want),
             "%s:5: it holds a secret and others may read it (mode 0644): chmod o-r", F.path);
    expect_logged(want);
    ns_conf_free(&c);

    const mode_t quiet[] = {0600, 0640, 0400};
    for (unsigned i = 0; i < 3; i++) {
        write_file(F.path, gw_psk, quiet[i]);
        assert_int_equal(load(&c), 0);
        assert_false(logged(F.path));
        ns_conf_free(&c);
    }
    write_cert_conf(copy_cert("gw-ecdsa.pem", 0644, NULL), copy_cert("gw-ecdsa.key", 0600, NULL),
                    copy_cert("ca.pem", 0644, NULL));
    assert_int_equal(chmod(F.path, 0644), 0); /* no PSK in it */
    assert_int_equal(load(&c), 0);
    assert_false(logged(F.path));
    ns_conf_free(&c);
}

/* R15: its group may write it, or a user other than root owns it: a
 * warning (on the line of the first psk, as the file holds one). */
static void config_group_or_owner_warns(void **state)
{
    (void)state;
    struct ns_conf c;
    write_file(F.path, gw_psk, 0660);
    assert_int_equal(load(&c), 0);
    char want[256];
    snprintf(want, sizeof(want), "%s:5: its group (0) may write it (mode 0660): chmod g-w", F.path);
    expect_logged(want);
    ns_conf_free(&c);

    write_file(F.path, gw_psk, 0600);
    assert_int_equal(chown(F.path, 4242, 4242), 0);
    assert_int_equal(load(&c), 0);
    snprintf(want, sizeof(want), "%s:5: user 4242 owns it and may change it: chown root", F.path);
    expect_logged(want);
    ns_conf_free(&c);
}

/* R15 X7: the private key, the certificate and the CA file or folder:
 * others may write one: refused at its key's line; others may read the
 * private key: a warning at its line. */
static void key_cert_ca_files(void **state)
{
    (void)state;
    struct ns_conf c;
    const char *cert = copy_cert("gw-ecdsa.pem", 0644, NULL);
    const char *ca = copy_cert("ca.pem", 0644, NULL);
    const char *key = copy_cert("gw-ecdsa.key", 0666, NULL);
    char want[512];

    write_cert_conf(cert, key, ca);
    assert_int_equal(load(&c), -1);
    snprintf(want, sizeof(want), "%s:6: key: %s refused: others may write it (mode 0666)", F.path,
             key);
    expect_err(want);
    ns_conf_free(&c);

    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(load(&c), 0);
    snprintf(want, sizeof(want),
             "%s:6: key: %s: it holds a secret and others may read it (mode 0644): chmod o-r",
             F.path, key);
    expect_logged(want);
    ns_conf_free(&c);

    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(chmod(cert, 0646), 0);
    assert_int_equal(load(&c), -1);
    snprintf(want, sizeof(want), "%s:5: cert: %s refused: others may write it", F.path, cert);
    expect_err(want);
    ns_conf_free(&c);

    assert_int_equal(chmod(cert, 0644), 0);
    assert_int_equal(chmod(ca, 0666), 0);
    assert_int_equal(load(&c), -1);
    snprintf(want, sizeof(want), "%s:7: ca: %s refused: others may write it", F.path, ca);
    expect_err(want);
    ns_conf_free(&c);

    assert_int_equal(chmod(ca, 0644), 0);
    assert_int_equal(load(&c), 0);
    assert_false(logged(F.path)); /* every file as it should be */
    ns_conf_free(&c);
}

/* R15 X7: a CA folder others may write (anyone could add a CA), or with a
 * CA file in it others may write: refused, naming the folder or file. */
static void ca_folder(void **state)
{
    (void)state;
    struct ns_conf c;
    char cas[160], want[512];
    snprintf(cas, sizeof(cas), "%s/cas", F.dir);
    assert_int_equal(mkdir(cas, 0755), 0);
    const char *ca = copy_cert("ca.pem", 0644, "/cas");
    write_cert_conf(copy_cert("gw-ecdsa.pem", 0644, NULL), copy_cert("gw-ecdsa.key", 0600, NULL),
                    cas);
    assert_int_equal(load(&c), 0);
    ns_conf_free(&c);

    assert_int_equal(chmod(cas, 0777), 0);
    assert_int_equal(load(&c), -1);
    snprintf(want, sizeof(want), "%s:7: ca: %s refused: others may write it (mode 0777)", F.path,
             cas);
    expect_err(want);
    ns_conf_free(&c);

    assert_int_equal(chmod(cas, 0755), 0);
    assert_int_equal(chmod(ca, 0666), 0);
    assert_int_equal(load(&c), -1);
    snprintf(want, sizeof(want), "%s:7: ca: %s refused: %s: others may write it", F.path, cas, ca);
    expect_err(want);
    ns_conf_free(&c);
}

/* The QCD secret (RFC 6290, X2): made once with mode 0600 and read back
 * the same at the next start; refused with file:line when others or
 * another group may read or write it, or it is not 32 bytes (R15: whoever
 * reads it can end every client's IKE SA). */
static void write_qcd_conf(const char *secret, const char *extra)
{
    char text[512];
    /* Line 5 sets qcd_secret_file. */
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "qcd_secret_file = %s\n%s[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
             "subnets = 192.0.2.0/24\n",
             secret, extra);
    write_file(F.path, text, 0600);
}

static void qcd_secret_file(void **state)
{
    (void)state;
    char secret[192], want[512];
    snprintf(secret, sizeof(secret), "%s/state/qcd_secret", F.dir);
    write_qcd_conf(secret, "");
    struct ns_conf c;
    assert_int_equal(load(&c), 0);
    assert_int_equal(ns_conf_qcd_secret(&c, F.path, F.err, sizeof(F.err)), 0);
    assert_true(c.qcd_secret_set);
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 32);
    uint8_t first[32];
    memcpy(first, c.qcd_secret, sizeof(first));
    ns_conf_free(&c);

    /* A restart reads the same secret. */
    assert_int_equal(load(&c), 0);
    assert_int_equal(ns_conf_qcd_secret(&c, F.path, F.err, sizeof(F.err)), 0);
    assert_memory_equal(c.qcd_secret, first, sizeof(first));
    ns_conf_free(&c);

    const mode_t bad[] = {0602, 0604, 0660};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(chmod(secret, bad[i]), 0);
        assert_int_equal(load(&c), 0);
        assert_int_equal(ns_conf_qcd_secret(&c, F.path, F.err, sizeof(F.err)), -1);
        assert_false(c.qcd_secret_set);
        snprintf(want, sizeof(want), "%s:5: qcd_secret_file: refused: %s holds the secret", F.path,
                 secret);
        expect_err(want);
        ns_conf_free(&c);
    }
    write_file(secret, "short", 0600);
    assert_int_equal(load(&c), 0);
    assert_int_equal(ns_conf_qcd_secret(&c, F.path, F.err, sizeof(F.err)), -1);
    snprintf(want, sizeof(want), "%s:5: qcd_secret_file: %s must be a file of exactly 32 bytes",
             F.path, secret);
    expect_err(want);
    ns_conf_free(&c);

    /* qcd = no: nothing read, nothing made. */
    assert_int_equal(unlink(secret), 0);
    write_qcd_conf(secret, "qcd = no\n");
    assert_int_equal(load(&c), 0);
    assert_int_equal(ns_conf_qcd_secret(&c, F.path, F.err, sizeof(F.err)), 0);
    assert_false(c.qcd_secret_set);
    assert_int_equal(stat(secret, &st), -1);
    ns_conf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(config_writable_by_others_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(config_psk_readable_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(config_group_or_owner_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(key_cert_ca_files, setup, teardown),
        cmocka_unit_test_setup_teardown(ca_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(qcd_secret_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
