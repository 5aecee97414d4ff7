/* Unit tests for X.509 credentials, verification and names
 * (src/crypto/x509, X7 and R3) on the certificates of tests/fixtures/certs:
 * loading and every loading error, the CERTREQ value against the openssl
 * CLI's SHA-1 of each CA's SubjectPublicKeyInfo (RFC 7296 3.7), chains
 * (expired, another CA, an intermediate sent along or missing), and the
 * names a certificate holds. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "conf/conf.h"
#include "crypto/x509.h"
#include "support/certs.h"

static char err[1024];

static struct ns_x509_creds *creds(const char *cert, const char *key, const char *ca)
{
    struct ns_x509_creds *c = ns_x509_creds_new();
    assert_non_null(c);
    if ((cert && ns_x509_creds_load_cert(c, cert_path(cert), err, sizeof(err)) != 0) ||
        (key && ns_x509_creds_load_key(c, cert_path(key), err, sizeof(err)) != 0) ||
        (ca && ns_x509_creds_load_ca(c, cert_path(ca), err, sizeof(err)) != 0))
        fail_msg("%s", err);
    return c;
}

/* The first line a shell command prints. */
static void run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    assert_non_null(fgets(out, (int)cap, p));
    assert_int_equal(pclose(p), 0);
    out[strcspn(out, " \n")] = '\0';
}

static void hex_of(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void loads_credentials_and_certreq(void **state) /* X7 */
{
    (void)state;
    struct ns_x509_creds *c = creds("gw-ecdsa.pem", "gw-ecdsa.key", "ca.pem");
    assert_int_equal(ns_x509_creds_check(c, 0, err, sizeof(err)), 0);
    assert_true(ns_x509_creds_has_cert(c) && ns_x509_creds_has_key(c) && ns_x509_creds_has_ca(c));
    assert_int_equal(ns_x509_creds_chain_len(c), 1);
    size_t len;
    const uint8_t *der = ns_x509_creds_chain_der(c, 0, &len);
    X509 *again = ns_x509_parse(der, len);
    assert_non_null(again);
    char subj[NS_X509_STRLEN];
    assert_string_equal(ns_x509_subject_str(again, subj), "C=CH, O=Corp, CN=vpn.corp.example");
    assert_string_equal(ns_x509_issuer_str(again, subj), "C=CH, O=natsec test, CN=natsec Test CA");
    ns_x509_free(again);
    /* RFC 7296 3.7: SHA-1 of the CA's SubjectPublicKeyInfo, as the openssl
     * CLI computes it. */
    char cmd[1024], want[128], got[128];
    snprintf(cmd, sizeof(cmd),
             "openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER | "
             "openssl dgst -sha1 -r",
             cert_path("ca.pem"));
    run(cmd, want, sizeof(want));
    const uint8_t *req = ns_x509_creds_certreq(c, &len);
    assert_int_equal(len, 20);
    hex_of(req, len, got);
    assert_string_equal(got, want);
    ns_x509_creds_free(c);

    /* A chain file: the certificate, then its intermediate to send. */
    c = creds("erin-sub.pem", "erin-sub.key", NULL);
    assert_int_equal(ns_x509_creds_check(c, 0, err, sizeof(err)), 0);
    assert_int_equal(ns_x509_creds_chain_len(c), 2);
    assert_null(ns_x509_creds_certreq(c, &len));
    assert_int_equal(len, 0);
    ns_x509_creds_free(c);
}

static void ca_directory(void **state) /* X7 */
{
    (void)state;
    char dir[] = "/tmp/natsec-x509-XXXXXX", cmd[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' '%s' && echo 'not a certificate' > '%s/README'",
             cert_path("ca.pem"), cert_path("other-ca.pem"), dir, dir);
    assert_int_equal(system(cmd), 0);
    struct ns_x509_creds *c = ns_x509_creds_new();
    assert_int_equal(ns_x509_creds_load_ca(c, dir, err, sizeof(err)), 0);
    size_t len;
    assert_non_null(ns_x509_creds_certreq(c, &len));
    assert_int_equal(len, 40); /* both CAs; the README is skipped */
    /* Each of them is a trust anchor now. */
    for (const char *const *n = (const char *const[]){"alice-ecdsa.pem", "mallory-other.pem", NULL};
         *n; n++) {
        struct ns_x509_creds *ee = creds(*n, NULL, NULL);
        X509 *x = (X509 *)ns_x509_creds_cert(ee);
        assert_int_equal(ns_x509_verify(c, x, NULL, 0, err, sizeof(err)), 0);
        ns_x509_creds_free(ee);
    }
    ns_x509_creds_free(c);
    /* A directory without any certificate is an error. */
    snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.pem", dir);
    assert_int_equal(system(cmd), 0);
    c = ns_x509_creds_new();
    assert_int_equal(ns_x509_creds_load_ca(c, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no PEM CA certificate in directory"));
    ns_x509_creds_free(c);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void expect_error(int rc, const char *needle)
{
    assert_int_equal(rc, -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not say '%s'", err, needle);
}

static void loading_errors_are_clear(void **state) /* X7 */
{
    (void)state;
    struct ns_x509_creds *c = ns_x509_creds_new();
    expect_error(ns_x509_creds_load_cert(c, "/nonexistent/cert.pem", err, sizeof(err)),
                 "cannot read '/nonexistent/cert.pem': No such file or directory");
    expect_error(ns_x509_creds_load_cert(c, cert_path("alice-ecdsa.key"), err, sizeof(err)),
                 "no PEM certificate in");
    expect_error(ns_x509_creds_load_key(c, cert_path("alice-ecdsa.pem"), err, sizeof(err)),
                 "no PEM private key in");
    expect_error(ns_x509_creds_load_ca(c, "/nonexistent", err, sizeof(err)), "cannot read");
    expect_error(ns_x509_creds_load_cert(c, "/tmp", err, sizeof(err)), "is not a regular file");
    /* A certificate without its key, and the key of someone else. */
    assert_int_equal(ns_x509_creds_load_cert(c, cert_path("alice-ecdsa.pem"), err, sizeof(err)), 0);
    expect_error(ns_x509_creds_check(c, 0, err, sizeof(err)), "needs its key");
    assert_int_equal(ns_x509_creds_load_key(c, cert_path("bob-rsa.key"), err, sizeof(err)), 0);
    expect_error(ns_x509_creds_check(c, 0, err, sizeof(err)),
                 "the key is not the one of the certificate 'C=CH, O=Corp, CN=alice'");
    assert_int_equal(ns_x509_creds_check(c, NS_X509_UNCHECKED, err, sizeof(err)), 0);
    ns_x509_creds_free(c);
    /* An expired certificate. */
    c = creds("dave-expired.pem", "dave-expired.key", NULL);
    expect_error(ns_x509_creds_check(c, 0, err, sizeof(err)),
                 "the certificate 'C=CH, O=Corp, CN=dave' expired on 2001-12-31 23:59:59 UTC");
    ns_x509_creds_free(c);
    /* An encrypted key: refused, never a passphrase prompt. */
    char path[] = "/tmp/natsec-x509-key-XXXXXX", cmd[1024];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof(cmd),
             "openssl pkey -in '%s' -aes256 -passout pass:secret -out '%s' </dev/null",
             cert_path("alice-ecdsa.key"), path);
    assert_int_equal(system(cmd), 0);
    c = ns_x509_creds_new();
    expect_error(ns_x509_creds_load_key(c, path, err, sizeof(err)), "an encrypted one");
    ns_x509_creds_free(c);
    unlink(path);
}

static X509 *cert_of(struct ns_x509_creds *c)
{
    return (X509 *)ns_x509_creds_cert(c);
}

static void verification(void **state) /* X7 */
{
    (void)state;
    struct ns_x509_creds *anchors = creds(NULL, NULL, "ca.pem");
    struct ns_x509_creds *alice = creds("alice-ecdsa.pem", NULL, NULL);
    struct ns_x509_creds *bob = creds("bob-rsa.pem", NULL, NULL);
    struct ns_x509_creds *dave = creds("dave-expired.pem", NULL, NULL);
    struct ns_x509_creds *mallory = creds("mallory-other.pem", NULL, NULL);
    struct ns_x509_creds *erin = creds("erin-sub.pem", NULL, NULL);
    assert_int_equal(ns_x509_verify(anchors, cert_of(alice), NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(ns_x509_verify(anchors, cert_of(bob), NULL, 0, err, sizeof(err)), 0);
    expect_error(ns_x509_verify(anchors, cert_of(dave), NULL, 0, err, sizeof(err)),
                 "certificate has expired (depth 0, 'C=CH, O=Corp, CN=dave')");
    expect_error(ns_x509_verify(anchors, cert_of(mallory), NULL, 0, err, sizeof(err)),
                 "unable to get local issuer certificate (depth 0, 'C=CH, O=Corp, CN=mallory')");
    /* erin's issuer is an intermediate: only with it does the chain close. */
    expect_error(ns_x509_verify(anchors, cert_of(erin), NULL, 0, err, sizeof(err)),
                 "unable to get local issuer certificate");
    size_t len;
    const uint8_t *der = ns_x509_creds_chain_der(erin, 1, &len);
    X509 *sub = ns_x509_parse(der, len);
    assert_non_null(sub);
    assert_int_equal(ns_x509_verify(anchors, cert_of(erin), &sub, 1, err, sizeof(err)), 0);
    /* An intermediate configured as trust anchor ends the chain itself. */
    struct ns_x509_creds *sub_anchor = creds(NULL, NULL, "sub-ca.pem");
    assert_int_equal(ns_x509_verify(sub_anchor, cert_of(erin), NULL, 0, err, sizeof(err)), 0);
    expect_error(ns_x509_verify(sub_anchor, cert_of(alice), NULL, 0, err, sizeof(err)),
                 "unable to get local issuer certificate");
    /* Without trust anchors nothing verifies. */
    expect_error(ns_x509_verify(alice, cert_of(alice), NULL, 0, err, sizeof(err)),
                 "no trust anchors");
    ns_x509_free(sub);
    struct ns_x509_creds *all[] = {anchors, alice, bob, dave, mallory, erin, sub_anchor};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ns_x509_creds_free(all[i]);
}

static void parse_takes_exactly_one_certificate(void **state) /* X7 */
{
    (void)state;
    struct ns_x509_creds *c = creds("multi.pem", NULL, NULL);
    size_t len;
    const uint8_t *der = ns_x509_creds_chain_der(c, 0, &len);
    uint8_t buf[4096];
    assert_true(len < sizeof(buf) - 1);
    memcpy(buf, der, len);
    buf[len] = 0;
    X509 *x = ns_x509_parse(buf, len);
    assert_non_null(x);
    ns_x509_free(x);
    assert_null(ns_x509_parse(buf, len + 1)); /* a trailing byte */
    assert_null(ns_x509_parse(buf, len - 1)); /* truncated */
    assert_null(ns_x509_parse(buf, 0));
    buf[1] ^= 0x40; /* the outer length */
    assert_null(ns_x509_parse(buf, len));
    ns_x509_creds_free(c);
}

static void names_of_a_certificate(void **state) /* R3 */
{
    (void)state;
    struct ns_x509_creds *c = creds("multi.pem", NULL, NULL);
    const X509 *x = ns_x509_creds_cert(c);
    char buf[NS_X509_STRLEN];
    assert_string_equal(ns_x509_alt_names_str(x, buf),
                        "DNS:multi.corp.example, email:multi@corp.example, IP:192.0.2.7, "
                        "IP:2001:db8::7");
    const uint8_t *dns = (const uint8_t *)"MULTI.corp.example";
    assert_true(ns_x509_has_name(x, NS_X509_NAME_DNS, dns, 18));
    assert_false(ns_x509_has_name(x, NS_X509_NAME_DNS, dns, 17));
    assert_false(ns_x509_has_name(x, NS_X509_NAME_EMAIL, dns, 18)); /* the kind matters */
    assert_true(ns_x509_has_name(x, NS_X509_NAME_EMAIL, (const uint8_t *)"multi@corp.example", 18));
    assert_false(ns_x509_has_name(x, NS_X509_NAME_EMAIL, (const uint8_t *)"multi@corp.exampl", 17));
    uint8_t ip4[4], ip6[16];
    inet_pton(AF_INET, "192.0.2.7", ip4);
    inet_pton(AF_INET6, "2001:db8::7", ip6);
    assert_true(ns_x509_has_name(x, NS_X509_NAME_IP, ip4, 4));
    assert_true(ns_x509_has_name(x, NS_X509_NAME_IP, ip6, 16));
    ip4[3] = 8;
    assert_false(ns_x509_has_name(x, NS_X509_NAME_IP, ip4, 4));
    /* The subject, written with another case and string type than the
     * certificate's (natsec's dn: identities are UTF8String). */
    struct ns_conf_id dn, other;
    assert_int_equal(ns_conf_id_parse("dn:C=CH, O=corp, CN=MULTI", &dn), 0);
    assert_true(ns_x509_has_name(x, NS_X509_NAME_DN, dn.data, dn.len));
    assert_int_equal(ns_conf_id_parse("dn:C=CH, O=Corp, CN=multi2", &other), 0);
    assert_false(ns_x509_has_name(x, NS_X509_NAME_DN, other.data, other.len));
    assert_false(ns_x509_has_name(x, NS_X509_NAME_DN, dn.data, dn.len - 1));
    assert_true(ns_x509_dn_equal(dn.data, dn.len, dn.data, dn.len));
    assert_false(ns_x509_dn_equal(dn.data, dn.len, other.data, other.len));
    /* The subjectKeyIdentifier, as the openssl CLI prints it. */
    char cmd[512], want[256];
    snprintf(cmd, sizeof(cmd),
             "openssl x509 -in '%s' -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :'",
             cert_path("multi.pem"));
    run(cmd, want, sizeof(want));
    struct ns_conf_id kid;
    char idtext[300];
    snprintf(idtext, sizeof(idtext), "keyid:0x%s", want);
    assert_int_equal(ns_conf_id_parse(idtext, &kid), 0);
    assert_int_equal(kid.len, 20);
    assert_true(ns_x509_has_name(x, NS_X509_NAME_KEYID, kid.data, kid.len));
    kid.data[0] ^= 1;
    assert_false(ns_x509_has_name(x, NS_X509_NAME_KEYID, kid.data, kid.len));
    ns_x509_creds_free(c);
    /* A certificate without subjectAltName. */
    c = creds("ca.pem", NULL, NULL);
    assert_string_equal(ns_x509_alt_names_str(ns_x509_creds_cert(c), buf), "none");
    assert_false(ns_x509_has_name(ns_x509_creds_cert(c), NS_X509_NAME_DNS, dns, 18));
    ns_x509_creds_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_credentials_and_certreq),
        cmocka_unit_test(ca_directory),
        cmocka_unit_test(loading_errors_are_clear),
        cmocka_unit_test(verification),
        cmocka_unit_test(parse_takes_exactly_one_certificate),
        cmocka_unit_test(names_of_a_certificate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
