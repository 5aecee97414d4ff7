/* Unit tests for the certificate settings of the configuration (X7, R3):
 * cert, key, ca and rsa_pss in [natsecd], auth in [peer], the files
 * loaded at start, and every error a user can make with them, each with
 * its file and line: a missing key, a missing or unreadable file, a key
 * that is not the certificate's, an expired certificate, a local_id the
 * certificate does not hold, psk and pubkey in one section. Also the
 * identity check of conf/id_cert.h. Certificates: tests/fixtures/certs. */
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

#include "conf/conf.h"
#include "conf/id_cert.h"
#include "crypto/x509.h"
#include "support/certs.h"

/* A gateway whose [peer %default] takes any certificate of the test CA;
 * the %s are cert, key, ca (lines 4, 5, 6) and the extra lines. */
#define GW_FMT                                                                                     \
    "[natsecd]\n"                                                                                  \
    "role = gateway\n"                                                                             \
    "local_id = vpn.corp.example\n"                                                                \
    "%s"                                                                                           \
    "%s"                                                                                           \
    "%s"                                                                                           \
    "pool = 10.99.0.0/24\n"                                                                        \
    "%s"                                                                                           \
    "[peer %%default]\n"                                                                           \
    "auth = pubkey\n"                                                                              \
    "subnets = 192.0.2.0/24\n"

static char text[8192], err[1024];

static const char *line(const char *key, const char *file)
{
    static char slots[4][600];
    static unsigned next;
    char *s = slots[next++ % 4];
    if (!file)
        return "";
    snprintf(s, sizeof(slots[0]), "%s = %s\n", key, file[0] == '/' ? file : cert_path(file));
    return s;
}

static int load_gw(const char *cert, const char *key, const char *ca, const char *extra,
                   struct ns_conf *c)
{
    snprintf(text, sizeof(text), GW_FMT, line("cert", cert), line("key", key), line("ca", ca),
             extra ? extra : "");
    err[0] = '\0';
    return ns_conf_load_string(text, "gw.conf", c, err, sizeof(err));
}

/* Writes into path gw-ecdsa.pem (the leaf, whose key the tests load)
 * followed by n certificates of about 1,350 bytes DER each (24 long DNS
 * names; made with openssl, self-signed: the chain's size is what counts
 * here), the k-th from dir/big<k>.pem, made on first use. */
static void write_big_chain(const char *path, const char *dir, unsigned n, unsigned names)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "cat '%s' > '%s'", cert_path("gw-ecdsa.pem"), path);
    assert_int_equal(system(cmd), 0);
    for (unsigned k = 0; k < n; k++) {
        int off =
            snprintf(cmd, sizeof(cmd),
                     "[ -s '%s/big%u-%u.pem' ] || openssl req -x509 -newkey ec -pkeyopt "
                     "ec_paramgen_curve:P-256 -nodes -keyout '%s/big%u-%u.key' -subj /CN=big%u "
                     "-days 2 -out '%s/big%u-%u.pem' -addext 'subjectAltName=",
                     dir, k, names, dir, k, names, k, dir, k, names);
        for (unsigned i = 0; i < names; i++)
            off += snprintf(cmd + off, sizeof(cmd) - (size_t)off,
                            "%sDNS:host%03u.a-rather-long-name.corp.example", i ? "," : "", i);
        snprintf(cmd + off, sizeof(cmd) - (size_t)off,
                 "' 2>/dev/null && cat '%s/big%u-%u.pem' >> '%s'", dir, k, names, path);
        assert_true((size_t)off < sizeof(cmd) - 256);
        assert_int_equal(system(cmd), 0);
    }
}

static void expect_error(int rc, const char *want)
{
    assert_int_equal(rc, -1);
    if (!strstr(err, want))
        fail_msg("got \"%s\", want \"%s\"\n%s", err, want, text);
}

static void gateway_with_certificates(void **state) /* X7 */
{
    (void)state;
    struct ns_conf c;
    if (load_gw("gw-ecdsa.pem", "gw-ecdsa.key", "ca.pem", "rsa_pss = yes\n", &c) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.peers[0].auth, NS_CONF_AUTH_PUBKEY);
    assert_true(c.peers[0].is_default);
    assert_true(c.rsa_pss);
    assert_non_null(c.creds);
    assert_true(ns_x509_creds_has_cert(c.creds) && ns_x509_creds_has_key(c.creds) &&
                ns_x509_creds_has_ca(c.creds));
    assert_string_equal(c.ca, cert_path("ca.pem"));
    ns_conf_free(&c);
    assert_null(c.creds);
}

static void client_with_certificates(void **state) /* X7 */
{
    (void)state;
    struct ns_conf c;
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = alice@corp.example\ngateway = 198.51.100.1\n"
             "remote_id = vpn.corp.example\n%s%s%s"
             "[peer vpn.corp.example]\nauth = pubkey\nsubnets = 192.0.2.0/24\n",
             line("cert", "alice-ecdsa.pem"), line("key", "alice-ecdsa.key"), line("ca", "ca.pem"));
    if (ns_conf_load_string(text, "c.conf", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_false(c.rsa_pss);
    assert_int_equal(c.peers[0].auth, NS_CONF_AUTH_PUBKEY);
    assert_non_null(c.creds);
    ns_conf_free(&c);
}

static void psk_configurations_load_no_certificates(void **state) /* X7 */
{
    (void)state;
    struct ns_conf c;
    /* cert, key and ca without any auth = pubkey are not loaded (a warning
     * says they are unused): even a missing file is no error then. */
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "cert = /nonexistent/cert.pem\n"
             "[peer alice@corp.example]\npsk = a long enough pre-shared key\n"
             "subnets = 192.0.2.0/24\n");
    if (ns_conf_load_string(text, "p.conf", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_null(c.creds);
    assert_int_equal(c.peers[0].auth, NS_CONF_AUTH_PSK);
    ns_conf_free(&c);
}

static void certificate_errors_name_file_and_line(void **state) /* X7 */
{
    (void)state;
    struct ns_conf c;
    /* Each of the three is needed once a [peer] says auth = pubkey. */
    expect_error(load_gw(NULL, "gw-ecdsa.key", "ca.pem", NULL, &c),
                 "gw.conf:7: [peer %default] says auth = pubkey: [natsecd] needs 'cert'");
    expect_error(load_gw("gw-ecdsa.pem", NULL, "ca.pem", NULL, &c),
                 "gw.conf:7: [peer %default] says auth = pubkey: [natsecd] needs 'key'");
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.key", NULL, NULL, &c),
                 "gw.conf:7: [peer %default] says auth = pubkey: [natsecd] needs 'ca' (the CA");
    /* Files that are not there, or not what they should be. */
    expect_error(load_gw("/nonexistent/gw.pem", "gw-ecdsa.key", "ca.pem", NULL, &c),
                 "gw.conf:4: cert: cannot read '/nonexistent/gw.pem': No such file or directory");
    expect_error(load_gw("gw-ecdsa.key", "gw-ecdsa.key", "ca.pem", NULL, &c),
                 "gw.conf:4: cert: no PEM certificate in");
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.pem", "ca.pem", NULL, &c),
                 "gw.conf:5: key: no PEM private key in");
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.key", "/nonexistent/ca", NULL, &c),
                 "gw.conf:6: ca: cannot read '/nonexistent/ca'");
    /* A key that is not the certificate's; an expired certificate. */
    expect_error(load_gw("gw-ecdsa.pem", "gw-rsa.key", "ca.pem", NULL, &c),
                 "gw.conf:5: cert/key: the key is not the one of the certificate 'C=CH, O=Corp, "
                 "CN=vpn.corp.example'");
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = dave@corp.example\ngateway = 198.51.100.1\n"
             "remote_id = vpn.corp.example\n%s%s%s"
             "[peer vpn.corp.example]\nauth = pubkey\nsubnets = 192.0.2.0/24\n",
             line("cert", "dave-expired.pem"), line("key", "dave-expired.key"),
             line("ca", "ca.pem"));
    expect_error(ns_conf_load_string(text, "d.conf", &c, err, sizeof(err)),
                 "d.conf:7: cert/key: the certificate 'C=CH, O=Corp, CN=dave' expired on "
                 "2001-12-31 23:59:59 UTC");
    /* R3: our own certificate must hold local_id. */
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = bob@corp.example\ngateway = 198.51.100.1\n"
             "remote_id = vpn.corp.example\n%s%s%s"
             "[peer vpn.corp.example]\nauth = pubkey\nsubnets = 192.0.2.0/24\n",
             line("cert", "alice-ecdsa.pem"), line("key", "alice-ecdsa.key"), line("ca", "ca.pem"));
    expect_error(ns_conf_load_string(text, "b.conf", &c, err, sizeof(err)),
                 "b.conf:6: local_id 'bob@corp.example' (rfc822) is not in the certificate");
    assert_non_null(strstr(err, "(subject 'C=CH, O=Corp, CN=alice', subjectAltName "
                                "email:alice@corp.example)"));
    /* psk and pubkey in one section, and an unknown method. */
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.key", "ca.pem",
                         "[peer bob@corp.example]\nauth = pubkey\npsk = a long enough key 1234\n"
                         "subnets = 192.0.2.0/24\n",
                         &c),
                 "gw.conf:10: [peer bob@corp.example] says auth = pubkey: its psk would not be "
                 "used");
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.key", "ca.pem",
                         "[peer bob@corp.example]\nauth = certificate\nsubnets = 192.0.2.0/24\n",
                         &c),
                 "gw.conf:9: auth: 'certificate' is neither psk nor pubkey");
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.key", "ca.pem",
                         "[peer bob@corp.example]\nauth = psk\nsubnets = 192.0.2.0/24\n", &c),
                 "gw.conf:8: [peer bob@corp.example] needs 'psk' (or auth = pubkey)");
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.key", "ca.pem", "rsa_pss = maybe\n", &c),
                 "gw.conf:8: rsa_pss:");
    expect_error(load_gw("gw-ecdsa.pem", "gw-ecdsa.key", "ca.pem", "cert = /x\n", &c),
                 "gw.conf:8: 'cert' is set twice (first on line 4)");
    /* Chains too long for one IKE_AUTH message (X5): with IKE
     * fragmentation 32 KB of certificates fit (the 17.5 KB of an RSA-4096
     * end entity under three RSA-4096 intermediates easily), sent whole
     * 6 KB. */
    char dir[] = "/tmp/natsec-conf-chain-XXXXXX", chain[64], cmd[128];
    assert_non_null(mkdtemp(dir));
    snprintf(chain, sizeof(chain), "%s/chain.pem", dir);
    write_big_chain(chain, dir, 7, 110); /* about 35,000 bytes DER */
    expect_error(load_gw(chain, "gw-ecdsa.key", "ca.pem", NULL, &c),
                 "gw.conf:4: cert: the certificate chain (");
    assert_non_null(strstr(err, "take more than 32768 bytes of one IKE_AUTH message: use fewer"));
    write_big_chain(chain, dir, 7, 90); /* about 29,500 bytes */
    if (load_gw(chain, "gw-ecdsa.key", "ca.pem", NULL, &c) != 0)
        fail_msg("with IKE fragmentation: %s", err);
    ns_conf_free(&c);
    write_big_chain(chain, dir, 5, 24); /* about 7,200 bytes */
    if (load_gw(chain, "gw-ecdsa.key", "ca.pem", NULL, &c) != 0)
        fail_msg("with IKE fragmentation: %s", err);
    ns_conf_free(&c);
    expect_error(load_gw(chain, "gw-ecdsa.key", "ca.pem", "fragmentation = no\n", &c),
                 "gw.conf:4: cert: the certificate chain (");
    assert_non_null(strstr(err, "take more than 6144 bytes of one IKE_AUTH message sent whole "
                                "(fragmentation = no)"));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void identity_in_certificate(void **state) /* R3 */
{
    (void)state;
    struct ns_x509_creds *multi = ns_x509_creds_new();
    assert_int_equal(ns_x509_creds_load_cert(multi, cert_path("multi.pem"), err, sizeof(err)), 0);
    const X509 *x = ns_x509_creds_cert(multi);
    static const struct {
        const char *id;
        bool in;
    } cases[] = {
        {"multi.corp.example", true},         /* FQDN: a dNSName */
        {"Multi.Corp.Example", true},         /* case-insensitive */
        {"corp.example", false},              /* no suffix match */
        {"multi@corp.example", true},         /* RFC822: an rfc822Name */
        {"alice@corp.example", false},        /* not this one's */
        {"192.0.2.7", true},                  /* IPv4: an iPAddress */
        {"2001:db8::7", true},                /* IPv6 */
        {"192.0.2.8", false},                 /* another address */
        {"dn:C=CH, O=Corp, CN=multi", true},  /* the subject */
        {"dn:C=CH, O=Corp, CN=other", false}, /* another DN */
        {"dn:CN=multi, O=Corp, C=CH", false}, /* the RDNs in another order */
        {"keyid:not-the-key-identifier", false},
        {"@multi", false}, /* FQDN "multi" */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ns_conf_id id;
        assert_int_equal(ns_conf_id_parse(cases[i].id, &id), 0);
        if (ns_conf_id_in_cert(&id, x) != cases[i].in)
            fail_msg("%s: expected %s the certificate", cases[i].id, cases[i].in ? "in" : "not in");
    }
    /* A CN that reads like an FQDN is not a dNSName (RFC 4945 3.1.2): the
     * CA has CN "natsec Test CA" and no subjectAltName at all. */
    struct ns_x509_creds *ca = ns_x509_creds_new();
    assert_int_equal(ns_x509_creds_load_cert(ca, cert_path("gw-ecdsa.pem"), err, sizeof(err)), 0);
    struct ns_conf_id a, b;
    assert_int_equal(ns_conf_id_parse("dn:C=CH, O=Corp, CN=vpn.corp.example", &a), 0);
    assert_true(ns_conf_id_in_cert(&a, ns_x509_creds_cert(ca)));
    /* Two ways of writing one DN are the same identity; other types only
     * when equal. */
    assert_int_equal(ns_conf_id_parse("dn:C=CH/O=corp/CN=VPN.corp.example", &b), 0);
    assert_false(ns_conf_id_equal(&a, &b));
    assert_true(ns_conf_id_same(&a, &b));
    assert_int_equal(ns_conf_id_parse("vpn.corp.example", &b), 0);
    assert_false(ns_conf_id_same(&a, &b));
    assert_true(ns_conf_id_same(&b, &b));
    ns_x509_creds_free(ca);
    ns_x509_creds_free(multi);
}

/* The two examples of docs/config.md's Certificates section load, with the
 * fixture certificates in place of the files under /etc/natsec. */
static void doc_examples_load(void **state) /* X7 */
{
    (void)state;
    const char *src = getenv("NATSEC_SRC");
    assert_non_null(src); /* set by CTest */
    char path[4096];
    snprintf(path, sizeof(path), "%s/docs/config.md", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char doc[131072];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    char *p = strstr(doc, "## Certificates (X7)");
    assert_non_null(p);
    static const struct {
        const char *from, *to;
    } files[] = {{"/etc/natsec/gw.pem", "gw-ecdsa.pem"},
                 {"/etc/natsec/gw.key", "gw-ecdsa.key"},
                 {"/etc/natsec/alice.pem", "alice-ecdsa.pem"},
                 {"/etc/natsec/alice.key", "alice-ecdsa.key"},
                 {"/etc/natsec/ca.pem", "ca.pem"}};
    for (int k = 0; k < 2; k++) {
        p = strstr(p, "```\n");
        assert_non_null(p);
        p += 4;
        char *end = strstr(p, "```");
        assert_non_null(end);
        /* The block with the paths replaced. */
        size_t o = 0;
        for (char *q = p; q < end;) {
            bool replaced = false;
            for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                size_t fl = strlen(files[i].from);
                if (strncmp(q, files[i].from, fl) == 0) {
                    o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", cert_path(files[i].to));
                    q += fl;
                    replaced = true;
                }
            }
            if (!replaced && o + 1 < sizeof(text))
                text[o++] = *q++;
        }
        text[o] = '\0';
        struct ns_conf c;
        if (ns_conf_load_string(text, "doc.conf", &c, err, sizeof(err)) != 0)
            fail_msg("%s\n%s", err, text);
        assert_int_equal(c.role, k == 0 ? NS_CONF_GATEWAY : NS_CONF_CLIENT);
        assert_non_null(c.creds);
        ns_conf_free(&c);
        p = end + 3;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gateway_with_certificates),
        cmocka_unit_test(client_with_certificates),
        cmocka_unit_test(psk_configurations_load_no_certificates),
        cmocka_unit_test(certificate_errors_name_file_and_line),
        cmocka_unit_test(identity_in_certificate),
        cmocka_unit_test(doc_examples_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
