/* Unit tests for the RADIUS settings of a gateway (X16): eap_backend =
 * radius with its servers in order (addresses, default port 1812), the
 * shared secret read from radius_secret_file, which is refused unless only
 * root and natsecd may read it, timeouts and tries, and every mistake with
 * its line, never showing the secret. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "support/certs.h"

/* Lines: 1 [natsecd] .. 7 pool, 8 eap_backend, then the extra main keys,
 * then [peer %default] with auth = eap-mschapv2. */
#define GW_FMT                                                                                     \
    "[natsecd]\n"                                                                                  \
    "role = gateway\n"                                                                             \
    "local_id = vpn.corp.example\n"                                                                \
    "cert = %s\n"                                                                                  \
    "key = %s\n"                                                                                   \
    "ca = %s\n"                                                                                    \
    "pool = 10.99.0.0/24\n"                                                                        \
    "%s"                                                                                           \
    "[peer %%default]\n"                                                                           \
    "auth = eap-mschapv2\n"                                                                        \
    "subnets = 192.0.2.0/24\n"

static char text[8192], err[1024], secret_path[64];
static const char SECRET[] = "s3cret-of-the-radius-servers";

static int load(const char *main_keys, struct ns_conf *c)
{
    snprintf(text, sizeof(text), GW_FMT, cert_path("gw-ecdsa.pem"), cert_path("gw-ecdsa.key"),
             cert_path("ca.pem"), main_keys);
    err[0] = '\0';
    return ns_conf_load_string(text, "gw.conf", c, err, sizeof(err));
}

static void write_secret(const char *content, mode_t mode)
{
    FILE *f = fopen(secret_path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    assert_int_equal(chmod(secret_path, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(secret_path, sizeof(secret_path), "/tmp/natsec-radius-secret.%d", (int)getpid());
    write_secret("s3cret-of-the-radius-servers\n", 0600);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(secret_path);
    return 0;
}

static void refused(const char *main_keys, const char *why_has)
{
    struct ns_conf c;
    if (load(main_keys, &c) == 0) {
        ns_conf_free(&c);
        fail_msg("accepted: %s", main_keys);
    }
    if (!strstr(err, why_has))
        fail_msg("error '%s' lacks '%s'", err, why_has);
    assert_null(strstr(err, SECRET));
}

/* X16: servers in order (a list, and radius_server lines add to it), the
 * secret from its file (first line), the timeouts; no [user] section
 * needed. */
static void radius_backend(void **state)
{
    (void)state;
    char keys[512];
    snprintf(keys, sizeof(keys),
             "eap_backend = radius\n"
             "radius_server = 127.0.0.1:18120, [2001:db8::5]:1645\n"
             "radius_server = 192.0.2.5\n"
             "radius_secret_file = %s\n"
             "radius_timeout = 0.5\n"
             "radius_tries = 2\n"
             "radius_nas_id = vpn-1\n",
             secret_path);
    struct ns_conf c;
    assert_int_equal(load(keys, &c), 0);
    assert_int_equal(c.eap_backend, NS_CONF_EAP_RADIUS);
    assert_int_equal(c.n_radius_server, 3);
    char a[NS_ENDPOINT_STRLEN];
    assert_string_equal(ns_endpoint_str(&c.radius_server[0], a), "127.0.0.1:18120");
    assert_string_equal(ns_endpoint_str(&c.radius_server[1], a), "[2001:db8::5]:1645");
    assert_string_equal(ns_endpoint_str(&c.radius_server[2], a), "192.0.2.5:1812");
    assert_int_equal(c.radius_secret_len, strlen(SECRET));
    assert_memory_equal(c.radius_secret, SECRET, strlen(SECRET));
    assert_int_equal(c.radius_timeout_ms, 500);
    assert_int_equal(c.radius_tries, 2);
    assert_string_equal(c.radius_nas_id, "vpn-1");
    assert_int_equal(c.n_users, 0);
    ns_conf_free(&c);
    assert_int_equal(c.radius_secret_len, 0);
    /* Defaults: 2 s, 3 tries. */
    snprintf(keys, sizeof(keys),
             "eap_backend = radius\nradius_server = 127.0.0.1\nradius_secret_file = %s\n",
             secret_path);
    assert_int_equal(load(keys, &c), 0);
    assert_int_equal(c.radius_timeout_ms, 2000);
    assert_int_equal(c.radius_tries, 3);
    ns_conf_free(&c);
}

/* X16: what is missing or wrong is named with its line. */
static void radius_mistakes(void **state)
{
    (void)state;
    char keys[512];
    refused("eap_backend = radius\nradius_server = 127.0.0.1\n",
            "gw.conf:8: eap_backend = radius needs radius_secret_file");
    snprintf(keys, sizeof(keys), "eap_backend = radius\nradius_secret_file = %s\n", secret_path);
    refused(keys, "needs radius_server");
    refused("eap_backend = ldap\n", "gw.conf:8: eap_backend: 'ldap' is neither local nor radius");
    refused("eap_backend = radius\neap_backend = radius\n",
            "gw.conf:9: 'eap_backend' is set twice");
    refused("eap_backend = radius\nradius_server = 127.0.0.1, 127.0.0.2, 127.0.0.3, 127.0.0.4\n"
            "radius_server = 127.0.0.5, 127.0.0.6, 127.0.0.7, 127.0.0.8, 127.0.0.9\n",
            "gw.conf:10: radius_server: more than 8 RADIUS servers");
    refused("eap_backend = radius\nradius_server = radius.corp.example:1812\n", "no host name");
    refused("radius_server = 127.0.0.1\n",
            "gw.conf:8: 'radius_server' is used only with eap_backend = radius");
    snprintf(keys, sizeof(keys),
             "eap_backend = radius\nradius_server = 127.0.0.1\nradius_secret_file = %s.none\n",
             secret_path);
    refused(keys, "gw.conf:10: radius_secret_file: cannot read");
    write_secret("\n", 0600);
    snprintf(keys, sizeof(keys),
             "eap_backend = radius\nradius_server = 127.0.0.1\nradius_secret_file = %s\n",
             secret_path);
    refused(keys, "must hold the secret on its first line");
}

/* X16: a secret others may read is refused at start. */
static void secret_file_private(void **state)
{
    (void)state;
    char keys[512];
    snprintf(keys, sizeof(keys),
             "eap_backend = radius\nradius_server = 127.0.0.1\nradius_secret_file = %s\n",
             secret_path);
    write_secret("s3cret-of-the-radius-servers\n", 0644);
    refused(keys, "must be readable by root and natsecd only");
    write_secret("s3cret-of-the-radius-servers\n", 0600);
    struct ns_conf c;
    assert_int_equal(load(keys, &c), 0);
    ns_conf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(radius_backend, setup, teardown),
        cmocka_unit_test_setup_teardown(radius_mistakes, setup, teardown),
        cmocka_unit_test_setup_teardown(secret_file_private, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
