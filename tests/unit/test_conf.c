/* Unit tests for the configuration (src/conf): natsecd's INI file, its
 * validation with file:line errors, identities (R3), proposals and the
 * refusal of AH (R1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/proposal_parse.h"
#include "ike/pool.h"

static const char gateway_conf[] =
    "# natsecd on the corporate gateway\n"
    "[natsecd]\n"
    "role = gateway\n"
    "local_id = vpn.corp.example      ; FQDN\n"
    "listen = 203.0.113.1\n"
    "ike_port = 1500\n"
    "natt_port = 14500\n"
    "control = /tmp/natsecd.sock\n"
    "log_level = debug\n"
    "ike_proposals = aes128gcm16-prfsha256-x25519, aes256gcm16-prfsha384-ecp256, "
    "aes256-sha256-modp2048\n"
    "esp_proposals = aes128gcm16, aes256gcm16, chacha20poly1305, aes256-sha256, null-sha256\n"
    "force_encap = yes\n"
    "keepalive = 25\n"
    "dpd = 40\n"
    "retransmit_timeout = 0.5\n"
    "retransmit_tries = 7\n"
    "half_open_max = 5000\n"
    "cookie_threshold = 200\n"
    "ike_lifetime = 7200\n"
    "child_lifetime = 1800\n"
    "child_lifetime_bytes = 1000000000\n"
    "tun = nsgw0\n"
    "mtu = 1380\n"
    "fwmark = 0x1234\n"
    "route_table = 100\n"
    "pool = 10.99.0.0/24\n"
    "dns = 192.0.2.53, 2001:db8::53\n"
    "\n"
    "[peer alice@corp.example]\n"
    "psk = 0x00112233445566778899aabbccddeeff\n"
    "subnets = 192.0.2.0/24, 198.51.100.0/28\n"
    "\n"
    "[peer contractor.example]\n"
    "psk = a long shared secret for the contractor\n"
    "subnets = 192.0.2.80/32\n"
    "mode = transport\n"
    "esp_proposals = null-sha384\n"
    "ike_proposals = aes256-sha512-x25519\n"
    "\n"
    "[peer %default]\n"
    "psk = the default secret, long enough\n"
    "subnets = 192.0.2.0/24\n";

static const char client_conf[] = "[natsecd]\n"
                                  "role = client\n"
                                  "local_id = alice@corp.example\n"
                                  "gateway = 198.51.100.1\n"
                                  "remote_id = vpn.corp.example\n"
                                  "keepalive = 0\n"
                                  "\n"
                                  "[peer vpn.corp.example]\n"
                                  "psk = 0x00112233445566778899aabbccddeeff\n"
                                  "subnets = 192.0.2.0/24\n";

static void load_ok(const char *text, struct ns_conf *c)
{
    char err[512] = "";
    int rc = ns_conf_load_string(text, "t.conf", c, err, sizeof(err));
    if (rc != 0)
        fail_msg("unexpected error: %s", err);
}

static void assert_addr(const struct ns_addr *a, const char *text)
{
    struct ns_addr want;
    assert_int_equal(ns_addr_parse(&want, text), 0);
    assert_true(ns_addr_equal(a, &want));
}

static void assert_ts(const struct ns_ts *ts, const char *lo, const char *hi)
{
    assert_int_equal(ts->ip_proto, 0);
    assert_int_equal(ts->port_lo, 0);
    assert_int_equal(ts->port_hi, 65535);
    assert_addr(&ts->lo, lo);
    assert_addr(&ts->hi, hi);
}

static void assert_id(const struct ns_conf_id *id, uint8_t type, const char *data)
{
    assert_int_equal(id->type, type);
    assert_int_equal(id->len, strlen(data));
    assert_memory_equal(id->data, data, id->len);
}

static void assert_proposal(const struct ns_proposal *p, const char *canonical)
{
    char buf[128];
    assert_string_equal(ns_proposal_str(p, buf, sizeof(buf)), canonical);
}

static void gateway_complete(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok(gateway_conf, &c);
    assert_int_equal(c.role, NS_CONF_GATEWAY);
    assert_id(&c.local_id, NS_CONF_ID_FQDN, "vpn.corp.example");
    assert_addr(&c.listen, "203.0.113.1");
    assert_int_equal(c.ike_port, 1500);
    assert_int_equal(c.natt_port, 14500);
    assert_string_equal(c.control, "/tmp/natsecd.sock");
    assert_int_equal(c.log_level, NS_LOG_DEBUG);
    assert_int_equal(c.n_ike, 3);
    assert_proposal(&c.ike[0], "aes128gcm16-prfsha256-x25519");
    assert_proposal(&c.ike[1], "aes256gcm16-prfsha384-ecp256");
    assert_proposal(&c.ike[2], "aes256-sha256-prfsha256-modp2048");
    assert_int_equal(c.n_esp, 5);
    assert_proposal(&c.esp[2], "chacha20poly1305");
    assert_proposal(&c.esp[4], "null-sha256");
    assert_true(c.force_encap);
    assert_int_equal(c.keepalive_s, 25);
    assert_int_equal(c.dpd_s, 40);
    assert_int_equal(c.retransmit_timeout_ms, 500);
    assert_int_equal(c.retransmit_tries, 7);
    assert_int_equal(c.half_open_max, 5000);
    assert_int_equal(c.cookie_threshold, 200);
    assert_int_equal(c.ike_lifetime_s, 7200);
    assert_int_equal(c.child_lifetime_s, 1800);
    assert_true(c.child_lifetime_bytes == 1000000000ull);
    assert_string_equal(c.tun, "nsgw0");
    assert_int_equal(c.mtu, 1380);
    assert_int_equal(c.fwmark, 0x1234);
    assert_int_equal(c.route_table, 100);
    assert_addr(&c.pool, "10.99.0.0");
    assert_int_equal(c.pool_prefix, 24);
    assert_int_equal(c.n_dns, 2);
    assert_addr(&c.dns[0], "192.0.2.53");
    assert_addr(&c.dns[1], "2001:db8::53");

    assert_int_equal(c.n_peers, 3);
    const struct ns_conf_peer *alice = &c.peers[0];
    assert_string_equal(alice->name, "alice@corp.example");
    assert_id(&alice->id, NS_CONF_ID_RFC822_ADDR, "alice@corp.example");
    assert_false(alice->is_default);
    assert_int_equal(alice->psk_len, 16);
    assert_int_equal(alice->psk[0], 0x00);
    assert_int_equal(alice->psk[15], 0xff);
    assert_int_equal(alice->n_subnets, 2);
    assert_ts(&alice->subnets[0], "192.0.2.0", "192.0.2.255");
    assert_ts(&alice->subnets[1], "198.51.100.0", "198.51.100.15");
    assert_int_equal(alice->mode, NS_ESP_TUNNEL);
    assert_int_equal(alice->line, 29);
    /* Without an override a peer carries the [natsecd] lists. */
    assert_int_equal(alice->n_ike, 3);
    assert_int_equal(alice->n_esp, 5);
    assert_proposal(&alice->esp[4], "null-sha256");

    const struct ns_conf_peer *contractor = &c.peers[1];
    assert_id(&contractor->id, NS_CONF_ID_FQDN, "contractor.example");
    assert_int_equal(contractor->psk_len, strlen("a long shared secret for the contractor"));
    assert_memory_equal(contractor->psk, "a long shared secret for the contractor",
                        contractor->psk_len);
    assert_ts(&contractor->subnets[0], "192.0.2.80", "192.0.2.80");
    assert_int_equal(contractor->mode, NS_ESP_TRANSPORT);
    assert_int_equal(contractor->n_esp, 1);
    assert_proposal(&contractor->esp[0], "null-sha384");
    assert_int_equal(contractor->n_ike, 1);
    assert_proposal(&contractor->ike[0], "aes256-sha512-prfsha512-x25519");

    assert_true(c.peers[2].is_default);
    assert_int_equal(c.peers[2].id.type, 0);
    ns_conf_free(&c);
}

static void client_complete(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok(client_conf, &c);
    assert_int_equal(c.role, NS_CONF_CLIENT);
    assert_id(&c.local_id, NS_CONF_ID_RFC822_ADDR, "alice@corp.example");
    assert_addr(&c.gateway, "198.51.100.1");
    assert_id(&c.remote_id, NS_CONF_ID_FQDN, "vpn.corp.example");
    assert_addr(&c.listen, "0.0.0.0");
    assert_int_equal(c.keepalive_s, 0);
    assert_int_equal(c.n_peers, 1);
    const struct ns_conf_peer *gw = ns_conf_find_peer(&c, &c.remote_id);
    assert_non_null(gw);
    assert_string_equal(gw->name, "vpn.corp.example");
    assert_ts(&gw->subnets[0], "192.0.2.0", "192.0.2.255");
    ns_conf_free(&c);
}

/* A gateway's configuration whose [natsecd] has key = value on line 5. */
static void gateway_with(char *text, size_t size, const char *key, const char *value)
{
    snprintf(text, size,
             "[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/24\n"
             "%s = %s\n[peer a@b.example]\npsk = 0123456789abcdef\n"
             "subnets = 192.0.2.0/24\n",
             key, value);
}

/* X1: keepalive = auto by default, learned up to 20 s; a fixed number of
 * seconds; 0 or off for none. */
static void keepalive_values(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool auto_;
        unsigned s;
    } ok[] = {{"auto", true, 20}, {"off", false, 0}, {"0", false, 0}, {"15", false, 15},
              {"3600", false, 3600}};
    struct ns_conf c;
    char text[512];
    gateway_with(text, sizeof(text), "dpd", "30");
    load_ok(text, &c);
    assert_true(c.keepalive_auto);
    assert_int_equal(c.keepalive_s, 20);
    ns_conf_free(&c);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        gateway_with(text, sizeof(text), "keepalive", ok[i].value);
        load_ok(text, &c);
        assert_int_equal(c.keepalive_auto, ok[i].auto_);
        assert_int_equal(c.keepalive_s, ok[i].s);
        ns_conf_free(&c);
    }
    static const char *const bad[] = {"sometimes", "3601", "-1", "auto5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512] = "";
        gateway_with(text, sizeof(text), "keepalive", bad[i]);
        assert_int_equal(ns_conf_load_string(text, "t.conf", &c, err, sizeof(err)), -1);
        char want[128];
        snprintf(want, sizeof(want), "t.conf:5: keepalive: '%s' is not auto, off", bad[i]);
        if (!strstr(err, want))
            fail_msg("error '%s' lacks '%s'", err, want);
    }
}

/* X14: where natsecd logs. */
static void log_target_values(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        enum ns_conf_log_target want;
    } cases[] = {
        {"stderr", NS_CONF_LOG_STDERR},
        {"syslog", NS_CONF_LOG_SYSLOG},
        {"auto", NS_CONF_LOG_AUTO},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        gateway_with(text, sizeof(text), "log_target", cases[i].value);
        struct ns_conf c;
        load_ok(text, &c);
        assert_int_equal(c.log_target, cases[i].want);
        ns_conf_free(&c);
    }
}

/* X14: the data path's offloads are operator switches, each on unless the
 * file says no. */
static void offload_keys(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok(client_conf, &c);
    assert_true(c.tun_offload);
    assert_true(c.tun_uso);
    assert_true(c.udp_gso);
    assert_true(c.udp_gro);
    ns_conf_free(&c);

    static const char *const keys[] = {"tun_offload", "tun_uso", "udp_gso", "udp_gro"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char text[512];
        gateway_with(text, sizeof(text), keys[i], "no");
        load_ok(text, &c);
        /* Only the key named turns off. */
        assert_int_equal(c.tun_offload, i != 0);
        assert_int_equal(c.tun_uso, i != 1);
        assert_int_equal(c.udp_gso, i != 2);
        assert_int_equal(c.udp_gro, i != 3);
        ns_conf_free(&c);

        char err[512] = "";
        gateway_with(text, sizeof(text), keys[i], "maybe");
        assert_int_equal(ns_conf_load_string(text, "t.conf", &c, err, sizeof(err)), -1);
        char want[128];
        snprintf(want, sizeof(want), "t.conf:5: %s: 'maybe' is not yes or no", keys[i]);
        if (!strstr(err, want))
            fail_msg("error '%s' lacks '%s'", err, want);
    }
}

/* R12: workers = auto by default (one data-plane thread per online CPU),
 * for a client and a gateway alike; a number of threads up to the limit. */
static void workers_key(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok(client_conf, &c);
    assert_int_equal(c.workers, NS_CONF_WORKERS_AUTO);
    ns_conf_free(&c);
    char gw[512];
    gateway_with(gw, sizeof(gw), "log_level", "info");
    load_ok(gw, &c);
    assert_int_equal(c.workers, NS_CONF_WORKERS_AUTO);
    ns_conf_free(&c);

    static const struct {
        const char *value;
        unsigned n;
    } ok[] = {{"auto", NS_CONF_WORKERS_AUTO}, {"1", 1}, {"2", 2}, {"64", NS_CONF_WORKERS_MAX}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[512];
        gateway_with(text, sizeof(text), "workers", ok[i].value);
        load_ok(text, &c);
        assert_int_equal(c.workers, ok[i].n);
        ns_conf_free(&c);
    }
    static const char *const bad[] = {"0", "65", "-1", "two"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512], err[512] = "", want[128];
        gateway_with(text, sizeof(text), "workers", bad[i]);
        assert_int_equal(ns_conf_load_string(text, "t.conf", &c, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "t.conf:5: workers: '%s' is not auto or a number", bad[i]);
        if (!strstr(err, want))
            fail_msg("error '%s' lacks '%s'", err, want);
    }
}

/* R12: auto is one worker per online CPU: on one CPU the single worker of
 * workers = 1 (the outbound thread beside the main one), never fewer than
 * one when the count is unknown, never more than the limit; a number is
 * taken as written whatever the CPUs. */
static void workers_auto_resolves(void **state)
{
    (void)state;
    static const struct {
        unsigned workers;
        long online;
        unsigned n;
    } cases[] = {
        {NS_CONF_WORKERS_AUTO, 1, 1},
        {NS_CONF_WORKERS_AUTO, 2, 2},
        {NS_CONF_WORKERS_AUTO, 16, 16},
        {NS_CONF_WORKERS_AUTO, NS_CONF_WORKERS_MAX, NS_CONF_WORKERS_MAX},
        {NS_CONF_WORKERS_AUTO, NS_CONF_WORKERS_MAX + 1, NS_CONF_WORKERS_MAX},
        {NS_CONF_WORKERS_AUTO, 4096, NS_CONF_WORKERS_MAX},
        {NS_CONF_WORKERS_AUTO, 0, 1},
        {NS_CONF_WORKERS_AUTO, -1, 1},
        {1, 16, 1},
        {3, 1, 3},
        {NS_CONF_WORKERS_MAX, 2, NS_CONF_WORKERS_MAX},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (ns_conf_workers_resolve(cases[i].workers, cases[i].online) != cases[i].n)
            fail_msg("workers %u on %ld CPUs gives %u, not %u", cases[i].workers, cases[i].online,
                     ns_conf_workers_resolve(cases[i].workers, cases[i].online), cases[i].n);
}

static void defaults_are_documented_values(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok(client_conf, &c);
    assert_int_equal(c.ike_port, 500);
    assert_int_equal(c.natt_port, 4500);
    assert_string_equal(c.control, "/run/natsec/natsecd.sock");
    assert_int_equal(c.log_level, NS_LOG_INFO);
    assert_int_equal(c.log_target, NS_CONF_LOG_AUTO); /* X14 */
    assert_false(c.force_encap);
    assert_int_equal(c.dpd_s, 30);
    assert_int_equal(c.retransmit_timeout_ms, 1000);
    assert_int_equal(c.retransmit_tries, 5);
    assert_int_equal(c.half_open_max, 4000);
    assert_int_equal(c.cookie_threshold, 100);
    assert_int_equal(c.ike_lifetime_s, 14400);
    assert_int_equal(c.child_lifetime_s, 3600);
    assert_true(c.child_lifetime_bytes == 0);
    assert_string_equal(c.tun, "natsec0");
    assert_int_equal(c.mtu, 1400);
    assert_int_equal(c.fwmark, 0x4e53);
    assert_int_equal(c.route_table, 220);
    assert_true(c.initial_contact);
    assert_int_equal(c.ike_sas_per_id, 4); /* R15 */
    assert_int_equal(c.unique, NS_CONF_UNIQUE_NO);
    assert_int_equal(c.n_ike, 7);
    assert_proposal(&c.ike[0], "aes128gcm16-prfsha256-x25519");
    assert_int_equal(c.n_esp, 7);
    assert_proposal(&c.esp[0], "aes128gcm16");
    /* X9: Windows' ESP suites are taken at default settings. */
    assert_proposal(&c.esp[5], "aes256-sha1");
    assert_proposal(&c.esp[6], "aes128-sha1");
    /* ESP-null is available (R16) but never offered unless configured. */
    for (unsigned i = 0; i < c.n_esp; i++)
        assert_int_not_equal(c.esp[i].encr, NS_ENCR_NULL);
    ns_conf_free(&c);
}

static void client_listen_follows_ipv6_gateway(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok("[natsecd]\nrole=client\nlocal_id=a@b.example\ngateway=2001:db8::1\n"
            "remote_id=gw.example\n[peer gw.example]\npsk=0123456789abcdef\nsubnets=::/0\n",
            &c);
    assert_addr(&c.listen, "::");
    assert_ts(&c.peers[0].subnets[0], "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ns_conf_free(&c);
}

/* X8: a gateway listens on IPv4 and IPv6 at once unless told one address;
 * "0.0.0.0, ::" says the same, and a client may ask for it too. */
static void listen_both_versions(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok("[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/24\n"
            "[peer a@b.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n",
            &c);
    assert_true(c.listen_dual);
    assert_addr(&c.listen, "::");
    assert_int_equal(c.pool6.family, 0); /* no pool6 unless configured */
    ns_conf_free(&c);
    load_ok("[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/24\n"
            "pool6 = 2001:db8:99::/64\n"
            "[peer a@b.example]\npsk = 0123456789abcdef\nsubnets = 2001:db8:c0::/64\n",
            &c);
    assert_addr(&c.pool6, "2001:db8:99::");
    assert_int_equal(c.pool6_prefix, 64);
    ns_conf_free(&c);
    load_ok("[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/24\n"
            "listen = 198.51.100.1\n"
            "[peer a@b.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n",
            &c);
    assert_false(c.listen_dual);
    assert_addr(&c.listen, "198.51.100.1");
    assert_int_equal(c.n_listen_only, 0);
    ns_conf_free(&c);
    /* X8: one IPv4 and one IPv6 address: both versions' sockets, and only
     * what arrives at these two is taken. */
    load_ok("[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/24\n"
            "listen = 198.51.100.1, 2001:db8::1\n"
            "[peer a@b.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n",
            &c);
    assert_true(c.listen_dual);
    assert_addr(&c.listen, "::");
    assert_int_equal(c.n_listen_only, 2);
    assert_addr(&c.listen_only[0], "198.51.100.1");
    assert_addr(&c.listen_only[1], "2001:db8::1");
    ns_conf_free(&c);
    load_ok("[natsecd]\nrole=client\nlocal_id=a@b.example\ngateway=2001:db8::1\n"
            "listen = ::, 0.0.0.0\nremote_id=gw.example\n[peer gw.example]\n"
            "psk=0123456789abcdef\nsubnets=::/0\n",
            &c);
    assert_true(c.listen_dual);
    assert_addr(&c.listen, "::");
    ns_conf_free(&c);
    /* X8: a client's gateway by name, resolved at start to either version:
     * the client then listens on both. */
    load_ok("[natsecd]\nrole=client\nlocal_id=a@b.example\ngateway=vpn.corp.example\n"
            "remote_id=gw.example\n[peer gw.example]\npsk=0123456789abcdef\nsubnets=::/0\n",
            &c);
    assert_string_equal(c.gateway_name, "vpn.corp.example");
    assert_int_equal(c.gateway.family, 0);
    assert_true(c.listen_dual);
    ns_conf_free(&c);
}

static void comments_and_whitespace(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok("; leading comment\n"
            "# hash comment\n"
            "  [ natsecd ]   ; comment after a section\n"
            "  role   =   client   # inline hash comment\n"
            "\tlocal_id = alice@corp.example ; inline\n"
            "gateway = 198.51.100.1\n"
            "remote_id = vpn.corp.example\n"
            "\n\n"
            "[peer   vpn.corp.example  ]\n"
            "psk = pass;word-without-space-before-semicolon\n"
            "subnets = 192.0.2.0/24\r\n",
            &c);
    assert_int_equal(c.role, NS_CONF_CLIENT);
    assert_string_equal(c.peers[0].name, "vpn.corp.example");
    assert_int_equal(c.peers[0].psk_len, strlen("pass;word-without-space-before-semicolon"));
    ns_conf_free(&c);
}

static void file_load_and_missing_file(void **state)
{
    (void)state;
    char path[] = "/tmp/natsec-test-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, client_conf, strlen(client_conf)), (ssize_t)strlen(client_conf));
    close(fd);
    struct ns_conf c;
    char err[512];
    assert_int_equal(ns_conf_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c.role, NS_CONF_CLIENT);
    ns_conf_free(&c);

    /* An error in a file names the file. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[natsecd]\nrole = gateway\nbogus = 1\n", f);
    fclose(f);
    assert_int_equal(ns_conf_load(path, &c, err, sizeof(err)), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: unknown key 'bogus' in [natsecd]", path);
    assert_string_equal(err, want);
    unlink(path);

    assert_int_equal(ns_conf_load(path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:0: cannot open", path);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    ns_conf_free(&c); /* harmless after a failed load */
}

/* Each bad configuration gives exactly "t.conf:<line>: <reason>". */
struct bad_case {
    const char *text;
    int line;
    const char *reason; /* a substring of the reason */
};

#define GW_HEAD "[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/24\n"
#define GW_PEER "[peer a@b.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n"
#define CL_HEAD                                                                                    \
    "[natsecd]\nrole = client\nlocal_id = a@b.example\ngateway = 192.0.2.1\n"                      \
    "remote_id = gw.example\n"
#define CL_PEER "[peer gw.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n"

static const struct bad_case bad_cases[] = {
    {"[natsecd]\nrole = gateway\n[vpn]\nx = 1\n", 3, "unknown section [vpn]"},
    {GW_HEAD "colour = blue\n" GW_PEER, 5, "unknown key 'colour' in [natsecd]"},
    {GW_HEAD GW_PEER "colour = blue\n", 8, "unknown key 'colour' in [peer a@b.example]"},
    {"role = gateway\n[natsecd]\n", 1, "'role' is outside any section"},
    {"; nothing\n", 1, "no [natsecd] section"},
    {"\n\n[natsecd]\nlocal_id = gw.example\npool = 10.99.0.0/24\n" GW_PEER, 3,
     "[natsecd] needs 'role'"},
    {"[natsecd]\nrole = gateway\npool = 10.99.0.0/24\n" GW_PEER, 1, "needs 'local_id'"},
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\n" GW_PEER, 1, "needs 'pool'"},
    {"[natsecd]\nrole = client\nlocal_id = a@b.example\nremote_id = gw.example\n" CL_PEER, 1,
     "needs 'gateway'"},
    {"[natsecd]\nrole = client\nlocal_id = a@b.example\ngateway = 192.0.2.1\n" CL_PEER, 1,
     "needs 'remote_id'"},
    {GW_HEAD "\n[peer a@b.example]\nsubnets = 192.0.2.0/24\n", 6, "[peer a@b.example] needs 'psk'"},
    {GW_HEAD "[peer a@b.example]\npsk = 0123456789abcdef\n", 5, "needs 'subnets'"},
    {GW_HEAD GW_PEER "[peer a@b.example]\n", 8, "duplicate [peer a@b.example] (first on line 5)"},
    /* R3: e-mail and DNS names compare without case, as in certificates. */
    {GW_HEAD GW_PEER "[peer A@B.example]\n", 8, "duplicate [peer A@B.example] (first on line 5)"},
    {GW_HEAD "role = client\n" GW_PEER, 5, "'role' is set twice (first on line 2)"},
    {GW_HEAD "ike_port = fivehundred\n" GW_PEER, 5, "ike_port: 'fivehundred' is not a number"},
    {GW_HEAD "ike_port = 0\n" GW_PEER, 5, "ike_port: 0 is out of range [1, 65535]"},
    {GW_HEAD "natt_port = 70000\n" GW_PEER, 5, "natt_port: 70000 is out of range"},
    {GW_HEAD "natt_port = -1\n" GW_PEER, 5, "natt_port: '-1' is not a number"},
    {GW_HEAD "natt_port = 500\n" GW_PEER, 5, "ike_port and natt_port must differ"},
    {GW_HEAD "mtu = 1400x\n" GW_PEER, 5, "mtu: '1400x' is not a number"},
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.1/24\n" GW_PEER, 4,
     "pool: '10.99.0.1/24' has host bits set"},
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0\n" GW_PEER, 4,
     "pool: '10.99.0.0' is not a prefix"},
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/31\n" GW_PEER, 4,
     "pool: '10.99.0.0/31': pool prefix length must be /12 to /30"},
    /* R6: shorter than the pool supports (ike/pool.h): refused here, not
     * later by the engine. */
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.96.0.0/11\n" GW_PEER, 4,
     "pool: '10.96.0.0/11': pool prefix length must be /12 to /30"},
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.0.0.0/8\n" GW_PEER, 4,
     "pool prefix length must be /12 to /30"},
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.99.0.0/33\n" GW_PEER, 4,
     "bad prefix length"},
    {"[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = fd00::/64\n" GW_PEER, 4,
     "the pool is an IPv4 prefix"},
    {GW_HEAD "[peer a@b.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24, 10.1.2.3/8\n", 7,
     "subnets: '10.1.2.3/8' has host bits set"},
    {GW_HEAD "[peer a@b.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24,,10.0.0.0/8\n", 7,
     "subnets: empty item"},
    {GW_HEAD "[peer a@b.example]\npsk = 0x0123456789abcdefg0\nsubnets = 192.0.2.0/24\n", 6,
     "psk: 0x must be followed by an even number of hex digits, at most 256 bytes (the value is "
     "not shown: it is a secret)"},
    {GW_HEAD "ike_proposals = aes128-sha1-modp1024\n" GW_PEER, 5,
     "ike_proposals: 'aes128-sha1-prfsha1-modp1024' uses weak algorithms (MODP-1024 (DH group 2), "
     "the HMAC-SHA1 PRF, HMAC-SHA1-96 for IKE integrity), allowed only with legacy_proposals = "
     "yes"},
    /* X12: weak algorithms need legacy_proposals, in either section. */
    {GW_HEAD "esp_proposals = aes256-sha1, 3des-sha1\n" GW_PEER, 5,
     "esp_proposals: '3des-sha1' uses weak algorithms (3DES-CBC), allowed only with "
     "legacy_proposals = yes in [natsecd]"},
    {GW_HEAD "legacy_proposals = no\nesp_proposals = aes128-sha256-modp1024\n" GW_PEER, 6,
     "'aes128-sha256-modp1024' uses weak algorithms (MODP-1024 (DH group 2))"},
    {GW_HEAD GW_PEER "ike_proposals = aes256-sha256-prfsha1-modp2048\n", 8,
     "ike_proposals: 'aes256-sha256-prfsha1-modp2048' uses weak algorithms (the HMAC-SHA1 PRF)"},
    {GW_HEAD "legacy_proposals = maybe\n" GW_PEER, 5, "legacy_proposals: "},
    {GW_HEAD GW_PEER "esp_proposals = aes128gcm16, aes999\n", 8,
     "esp_proposals: unknown or unsupported algorithm 'aes999'"},
    {GW_HEAD "role = gateway\n" GW_PEER, 5, "set twice"},
    {GW_HEAD "this line has no equals sign\n" GW_PEER, 5, "expected 'key = value'"},
    {GW_HEAD "[natsecd\n" GW_PEER, 5, "expected 'key = value'"},
    {GW_HEAD "dpd =\n" GW_PEER, 5, "'dpd' has no value"},
    {GW_HEAD "cookie_threshold = 5000\n" GW_PEER, 5, "cookie_threshold (5000) is above"},
    {GW_HEAD "log_level = loud\n" GW_PEER, 5, "log_level: 'loud' is not one of"},
    /* X14 */
    {GW_HEAD "log_target = journal\n" GW_PEER, 5,
     "log_target: 'journal' is not one of stderr, syslog, auto"},
    {GW_HEAD "user = root!\n" GW_PEER, 5, "user: 'root!' is not a user name"},
    {GW_HEAD "seccomp = maybe\n" GW_PEER, 5, "seccomp: 'maybe' is not yes or no"},
    {GW_HEAD "force_encap = maybe\n" GW_PEER, 5, "force_encap: 'maybe' is not yes or no"},
    {"[natsecd]\nrole = router\n", 2, "role: 'router' is neither gateway nor client"},
    {GW_HEAD "route_table = 254\n" GW_PEER, 5, "route_table: table 254 is one of the kernel's"},
    {GW_HEAD "retransmit_timeout = soon\n" GW_PEER, 5, "'soon' is not a number of seconds"},
    {GW_HEAD "retransmit_timeout = 0.001\n" GW_PEER, 5, "out of range"},
    {GW_HEAD "tun = a/b\n" GW_PEER, 5, "tun: 'a/b' is not an interface name"},
    {GW_HEAD "tun = averyveryverylongname\n" GW_PEER, 5, "is not an interface name"},
    {GW_HEAD "control = relative.sock\n" GW_PEER, 5, "not an absolute path"},
    {GW_HEAD "listen = 300.1.1.1\n" GW_PEER, 5, "listen: '300.1.1.1' is not an IPv4 or IPv6"},
    {GW_HEAD "dns = 1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4, 9.9.9.9\n" GW_PEER, 5,
     "more than 4 DNS servers"},
    {GW_HEAD "gateway = 192.0.2.1\n" GW_PEER, 5, "'gateway' is not a gateway setting"},
    {CL_HEAD "pool = 10.99.0.0/24\n" CL_PEER, 6, "'pool' is not a client setting"},
    /* R15: the per-identity limit and unique-ID policy are a gateway's. */
    {GW_HEAD "unique = yes\n" GW_PEER, 5, "unique: 'yes' is not one of replace, keep, no"},
    {GW_HEAD "ike_sas_per_id = 0\n" GW_PEER, 5, "ike_sas_per_id:"},
    {GW_HEAD "initial_contact = no\n" GW_PEER, 5, "'initial_contact' is not a gateway setting"},
    {CL_HEAD "unique = keep\n" CL_PEER, 6, "'unique' is not a client setting"},
    /* X8: how a client applies its DNS servers; a gateway has none to apply. */
    {CL_HEAD "dns_apply = resolvconf\n" CL_PEER, 6,
     "dns_apply: 'resolvconf' is not one of auto, resolved, file, no"},
    {GW_HEAD "dns_apply = file\n" GW_PEER, 5, "'dns_apply' is not a gateway setting"},
    {CL_HEAD "dns_domains = corp.example\n" CL_PEER, 6, "'dns_domains' is not a client setting"},
    {GW_HEAD "dns_domains = corp.example, bad_name.example\n" GW_PEER, 5,
     "dns_domains: 'bad_name.example' is not a DNS name"},
    {CL_HEAD "ike_sas_per_id = 2\n" CL_PEER, 6, "'ike_sas_per_id' is not a client setting"},
    {CL_HEAD "[peer other.example]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n", 5,
     "no [peer ...] section for remote_id"},
    {CL_HEAD CL_PEER "[peer %default]\npsk = 0123456789abcdef\nsubnets = 10.0.0.0/8\n", 9,
     "[peer %default] is for a gateway only"},
    {GW_HEAD, 1, "a gateway needs at least one [peer"},
    {GW_HEAD "[peer]\npsk = x\n", 5, "[peer] needs an identity"},
    {GW_HEAD "[peer dn:XX=foo]\npsk = x\n", 5, "unknown DN attribute 'XX'"},
    {GW_HEAD GW_PEER "mode = tunnel\nmode = tunnel\n", 9, "'mode' is set twice"},
    {GW_HEAD GW_PEER "mode = beet\n", 8, "mode: 'beet' is neither tunnel nor transport"},
    {CL_HEAD "listen = ::\n" CL_PEER, 6, "listen and gateway are different IP versions"},
    {GW_HEAD "listen = 198.51.100.1, ::\n" GW_PEER, 5,
     "two addresses are one IPv4 and one IPv6 address, both specific or both wildcards"},
    {GW_HEAD "listen = 198.51.100.1, 198.51.100.2\n" GW_PEER, 5, "one IPv4 and one IPv6"},
    {GW_HEAD "listen = 0.0.0.0, 0.0.0.0\n" GW_PEER, 5, "one IPv4 and one IPv6"},
    {CL_HEAD "listen = 198.51.100.1, 2001:db8::1\n" CL_PEER, 6,
     "listen: a client listens on one address, or on the wildcards"},
    {GW_HEAD "listen = 0.0.0.0, ::, ::\n" GW_PEER, 5, "at most two addresses"},
    {"[natsecd]\nrole = client\nlocal_id = a@b.example\ngateway = 300.1.1.1\n", 4,
     "gateway: '300.1.1.1' is not an IPv4 or IPv6"},
    {"[natsecd]\nrole = client\nlocal_id = a@b.example\ngateway = -vpn.example\n", 4,
     "gateway: '-vpn.example' is not an IPv4 or IPv6"},
    {"[natsecd]\nrole = client\nlocal_id = a@b.example\ngateway = vpn..example\n", 4,
     "is not an IPv4 or IPv6"},
    /* X8: pool6 is an IPv6 prefix of a size the pool supports, a gateway's. */
    {GW_HEAD "pool6 = 10.0.0.0/24\n" GW_PEER, 5, "pool6 is an IPv6 prefix"},
    {GW_HEAD "pool6 = 2001:db8::/127\n" GW_PEER, 5, "pool6 prefix length must be /48 to /126"},
    {GW_HEAD "pool6 = 2001:db8::/32\n" GW_PEER, 5, "pool6 prefix length must be /48 to /126"},
    {GW_HEAD "pool6 = 2001:db8::1/64\n" GW_PEER, 5, "host bits set"},
    {CL_HEAD "pool6 = 2001:db8::/64\n" CL_PEER, 6, "'pool6' is not a client setting"},
};

/* R15: the unique-ID policy's three values and the per-identity limit on
 * a gateway; initial_contact on a client. */
static void identity_policy_keys(void **state)
{
    (void)state;
    static const char *const values[] = {"no", "replace", "keep"};
    static const enum ns_conf_unique want[] = {NS_CONF_UNIQUE_NO, NS_CONF_UNIQUE_REPLACE,
                                               NS_CONF_UNIQUE_KEEP};
    for (unsigned i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof(text), GW_HEAD "unique = %s\nike_sas_per_id = 2\n" GW_PEER,
                 values[i]);
        struct ns_conf c;
        load_ok(text, &c);
        assert_int_equal(c.unique, want[i]);
        assert_int_equal(c.ike_sas_per_id, 2);
        ns_conf_free(&c);
    }
    struct ns_conf c;
    load_ok(CL_HEAD "initial_contact = no\n" CL_PEER, &c);
    assert_false(c.initial_contact);
    ns_conf_free(&c);
}

/* X8: dns_apply's four values on a client, auto by default. */
static void dns_apply_values(void **state)
{
    (void)state;
    static const char *const values[] = {"auto", "resolved", "file", "no"};
    static const enum ns_conf_dns_apply want[] = {NS_CONF_DNS_AUTO, NS_CONF_DNS_RESOLVED,
                                                  NS_CONF_DNS_FILE, NS_CONF_DNS_NO};
    for (unsigned i = 0; i < 4; i++) {
        char text[512];
        snprintf(text, sizeof(text), CL_HEAD "dns_apply = %s\n" CL_PEER, values[i]);
        struct ns_conf c;
        load_ok(text, &c);
        assert_int_equal(c.dns_apply, want[i]);
        ns_conf_free(&c);
    }
    struct ns_conf c;
    load_ok(CL_HEAD CL_PEER, &c);
    assert_int_equal(c.dns_apply, NS_CONF_DNS_AUTO);
    ns_conf_free(&c);
}

/* X8: a gateway's split DNS domains, in order (RFC 8598). */
static void dns_domains_list(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok(GW_HEAD "dns_domains = corp.example, lab.corp.example\n" GW_PEER, &c);
    assert_int_equal(c.n_dns_domains, 2);
    assert_string_equal(c.dns_domains[0], "corp.example");
    assert_string_equal(c.dns_domains[1], "lab.corp.example");
    ns_conf_free(&c);
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        struct ns_conf c;
        char err[512] = "";
        int rc = ns_conf_load_string(bc->text, "t.conf", &c, err, sizeof(err));
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "t.conf:%d: ", bc->line);
        if (rc != -1 || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, bc->reason))
            fail_msg("case %zu: rc %d, got \"%s\", want \"%s...%s\"", i, rc, err, prefix,
                     bc->reason);
        assert_null(c.peers);
        ns_conf_free(&c);
    }
}

/* R6: every pool length the configuration accepts makes a pool, and every
 * other one is refused with file:line (no gateway that loads its
 * configuration and then fails to start on the pool). */
static void pool_range_matches_the_pool(void **state)
{
    (void)state;
    for (unsigned len = 0; len <= 32; len++) {
        char text[512], err[512] = "";
        snprintf(text, sizeof(text),
                 "[natsecd]\nrole = gateway\nlocal_id = gw.example\npool = 10.0.0.0/%u\n" GW_PEER,
                 len);
        struct ns_conf c;
        int rc = ns_conf_load_string(text, "t.conf", &c, err, sizeof(err));
        bool want = len >= NS_POOL_MIN_PREFIX && len <= NS_POOL_MAX_PREFIX;
        if (!want) {
            assert_int_equal(rc, -1);
            assert_true(strncmp(err, "t.conf:4: pool", 14) == 0);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(c.pool_prefix, len);
        struct ns_pool *p = ns_pool_new(&c.pool, c.pool_prefix);
        assert_non_null(p);
        ns_pool_free(p);
        ns_conf_free(&c);
    }
    assert_int_equal(NS_POOL_MIN_PREFIX, 12); /* a /12: a million clients */
}

/* X12: legacy_proposals = yes appends the suites Windows offers without a
 * registry change to [natsecd]'s default lists, once each; written lists,
 * in [natsecd] or a [peer], may hold weak algorithms and stay as written. */
static void legacy_proposals_append_windows_suites(void **state)
{
    /* X12 */
    (void)state;
    struct ns_conf c;
    load_ok(GW_HEAD GW_PEER, &c);
    assert_false(c.legacy_proposals);
    assert_int_equal(ns_conf_legacy_in_use(&c), 0);
    ns_conf_free(&c);

    load_ok(GW_HEAD "legacy_proposals = yes\n" GW_PEER, &c);
    assert_true(c.legacy_proposals);
    assert_int_equal(c.n_ike, 9);
    assert_proposal(&c.ike[6], "aes128-sha256-prfsha256-modp2048");
    assert_proposal(&c.ike[7], "aes256-sha1-prfsha1-modp1024");
    assert_proposal(&c.ike[8], "3des-sha1-prfsha1-modp1024");
    assert_int_equal(c.n_esp, 8); /* aes256-sha1 is a default already */
    assert_proposal(&c.esp[5], "aes256-sha1");
    assert_proposal(&c.esp[7], "3des-sha1");
    /* The peer without its own lists takes [natsecd]'s. */
    assert_int_equal(c.peers[0].n_ike, 9);
    assert_int_equal(c.peers[0].n_esp, 8);
    assert_int_equal(ns_conf_legacy_in_use(&c),
                     NS_LEGACY_MODP1024 | NS_LEGACY_PRF_SHA1 | NS_LEGACY_IKE_SHA1 | NS_LEGACY_3DES);
    char names[160];
    assert_string_equal(ns_proposal_legacy_str(ns_conf_legacy_in_use(&c), names, sizeof(names)),
                        "MODP-1024 (DH group 2), the HMAC-SHA1 PRF, HMAC-SHA1-96 for IKE "
                        "integrity, 3DES-CBC");
    ns_conf_free(&c);

    /* Written lists stay as written, weak algorithms allowed in them. */
    load_ok(GW_HEAD "ike_proposals = aes128gcm16-prfsha256-x25519, 3des-sha1-modp1024\n"
                    "esp_proposals = aes128gcm16\nlegacy_proposals = yes\n" GW_PEER
                    "esp_proposals = 3des-sha1\n",
            &c);
    assert_int_equal(c.n_ike, 2);
    assert_proposal(&c.ike[1], "3des-sha1-prfsha1-modp1024");
    assert_int_equal(c.n_esp, 1);
    assert_int_equal(c.peers[0].n_esp, 1);
    assert_proposal(&c.peers[0].esp[0], "3des-sha1");
    assert_int_equal(ns_conf_legacy_in_use(&c),
                     NS_LEGACY_MODP1024 | NS_LEGACY_PRF_SHA1 | NS_LEGACY_IKE_SHA1 | NS_LEGACY_3DES);
    ns_conf_free(&c);
}

static void long_lines(void **state)
{
    (void)state;
    /* A long proposal list, well past libinih's 200-character default. */
    char text[8192];
    int n = snprintf(text, sizeof(text),
                     GW_HEAD "esp_proposals = aes128gcm16, aes256gcm16, chacha20poly1305, "
                             "aes128-sha256, aes128-sha384, aes128-sha512, aes256-sha256, "
                             "aes256-sha384, aes256-sha512, null-sha256, null-sha384, null-sha512, "
                             "aes128gcm16-x25519, aes128gcm16-ecp256, aes128gcm16-modp2048, "
                             "aes128gcm16-esn\n" GW_PEER);
    assert_true(n > 300);
    struct ns_conf c;
    load_ok(text, &c);
    assert_int_equal(c.n_esp, 16);
    assert_proposal(&c.esp[15], "aes128gcm16-esn");
    ns_conf_free(&c);

    /* A line beyond the limit is refused with its line, not truncated. */
    char *big = malloc(10000);
    assert_non_null(big);
    n = snprintf(big, 10000, GW_HEAD "local_id = ");
    memset(big + n, 'a', 5000);
    snprintf(big + n + 5000, 10000 - (size_t)n - 5000, "\n" GW_PEER);
    char err[512];
    assert_int_equal(ns_conf_load_string(big, "t.conf", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.conf:5: line is longer than"));
    free(big);
}

static void long_section_names(void **state)
{
    (void)state;
    /* libinih cuts section names at 50 characters; identities are longer. */
    const char *id = "a.very.long.user.name.for.testing@subdomain.department.corp.example";
    char text[1024];
    snprintf(text, sizeof(text),
             GW_HEAD "[peer %s]\npsk = 0123456789abcdef\nsubnets = 192.0.2.0/24\n", id);
    struct ns_conf c;
    load_ok(text, &c);
    assert_string_equal(c.peers[0].name, id);
    assert_id(&c.peers[0].id, NS_CONF_ID_RFC822_ADDR, id);
    ns_conf_free(&c);
}

/* R1: AH is never offered; asking for it is a clear configuration error. */
static void ah_is_refused(void **state)
{
    (void)state;
    /* R1 */
    static const struct bad_case ah[] = {
        {GW_HEAD "ah_proposals = sha256\n" GW_PEER, 5, "ah_proposals: AH is never offered (R1"},
        {GW_HEAD GW_PEER "ah_proposals = sha256\n", 8, "ah_proposals: AH is never offered (R1"},
        {GW_HEAD "esp_proposals = aes128gcm16, ah-sha256\n" GW_PEER, 5,
         "esp_proposals: AH is never offered"},
        {GW_HEAD "ike_proposals = ah\n" GW_PEER, 5, "ike_proposals: AH is never offered"},
        {GW_HEAD GW_PEER "esp_proposals = sha256-AH\n", 8, "null-sha256"},
    };
    for (size_t i = 0; i < sizeof(ah) / sizeof(ah[0]); i++) {
        struct ns_conf c;
        char err[512] = "";
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "t.conf:%d: ", ah[i].line);
        int rc = ns_conf_load_string(ah[i].text, "t.conf", &c, err, sizeof(err));
        if (rc != -1 || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, ah[i].reason))
            fail_msg("AH case %zu: got \"%s\"", i, err);
    }
    struct ns_proposal p;
    char err[256];
    assert_int_equal(ns_proposal_parse("ah-sha256", NS_PROTO_ESP, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "AH is never offered"));
    /* The integrity-only alternative (R16) is accepted. */
    assert_int_equal(ns_proposal_parse("null-sha256", NS_PROTO_ESP, &p, err, sizeof(err)), 0);
    assert_int_equal(p.encr, NS_ENCR_NULL);
    assert_int_equal(p.integ, NS_INTEG_HMAC_SHA2_256_128);
}

/* R3: identities are FQDN, user FQDN, key ID or DN; the type is inferred. */
static void identity_types(void **state)
{
    (void)state;
    /* R3 */
    struct ns_conf_id id;
    char buf[NS_CONF_ID_STRLEN];

    assert_int_equal(ns_conf_id_parse("vpn.corp.example", &id), 0);
    assert_id(&id, NS_CONF_ID_FQDN, "vpn.corp.example");
    assert_string_equal(ns_conf_id_str(&id, buf), "vpn.corp.example");

    assert_int_equal(ns_conf_id_parse("alice@corp.example", &id), 0);
    assert_id(&id, NS_CONF_ID_RFC822_ADDR, "alice@corp.example");
    assert_string_equal(ns_conf_id_str(&id, buf), "alice@corp.example");

    /* strongSwan's "@name" forces an FQDN. */
    assert_int_equal(ns_conf_id_parse("@gw", &id), 0);
    assert_id(&id, NS_CONF_ID_FQDN, "gw");

    assert_int_equal(ns_conf_id_parse("keyid:laptop-17", &id), 0);
    assert_id(&id, NS_CONF_ID_KEY_ID, "laptop-17");
    assert_string_equal(ns_conf_id_str(&id, buf), "keyid:laptop-17");

    assert_int_equal(ns_conf_id_parse("keyid:0x0a0B00ff", &id), 0);
    assert_int_equal(id.type, NS_CONF_ID_KEY_ID);
    assert_int_equal(id.len, 4);
    assert_memory_equal(id.data, "\x0a\x0b\x00\xff", 4);
    assert_string_equal(ns_conf_id_str(&id, buf), "keyid:0x0a0b00ff");

    assert_int_equal(ns_conf_id_parse("192.0.2.7", &id), 0);
    assert_int_equal(id.type, NS_CONF_ID_IPV4_ADDR);
    assert_int_equal(id.len, 4);
    assert_memory_equal(id.data, "\xc0\x00\x02\x07", 4);
    assert_string_equal(ns_conf_id_str(&id, buf), "192.0.2.7");

    assert_int_equal(ns_conf_id_parse("2001:db8::7", &id), 0);
    assert_int_equal(id.type, NS_CONF_ID_IPV6_ADDR);
    assert_int_equal(id.len, 16);
    assert_string_equal(ns_conf_id_str(&id, buf), "2001:db8::7");

    /* A DN becomes DER: SEQUENCE of SETs of (OID, string). */
    assert_int_equal(ns_conf_id_parse("dn:C=CH, O=Example Corp, CN=vpn.corp.example", &id), 0);
    assert_int_equal(id.type, NS_CONF_ID_DER_ASN1_DN);
    assert_true(id.len > 20);
    assert_int_equal(id.data[0], 0x30);
    assert_string_equal(ns_conf_id_str(&id, buf), "dn:C=CH, O=Example Corp, CN=vpn.corp.example");
    struct ns_conf_id id2;
    assert_int_equal(ns_conf_id_parse("dn:/C=CH/O=Example Corp/CN=vpn.corp.example", &id2), 0);
    assert_true(ns_conf_id_equal(&id, &id2));

    assert_int_equal(ns_conf_id_parse("", &id), -1);
    assert_int_equal(ns_conf_id_parse("two words", &id), -1);
    assert_int_equal(ns_conf_id_parse("keyid:", &id), -1);
    assert_int_equal(ns_conf_id_parse("keyid:0x123", &id), -1);
    assert_int_equal(ns_conf_id_parse("dn:nonsense", &id), -1);
    char longid[300];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(ns_conf_id_parse(longid, &id), -1);

    /* The same inference names peer sections; [peer <ip>] is an address ID
     * (possible, never required). */
    struct ns_conf c;
    load_ok(GW_HEAD "[peer 192.0.2.7]\npsk=0123456789abcdef\nsubnets=10.1.0.0/16\n"
                    "[peer keyid:0x0102]\npsk=0123456789abcdef\nsubnets=10.2.0.0/16\n"
                    "[peer dn:CN=carol]\npsk=0123456789abcdef\nsubnets=10.3.0.0/16\n",
            &c);
    assert_int_equal(c.peers[0].id.type, NS_CONF_ID_IPV4_ADDR);
    assert_int_equal(c.peers[1].id.type, NS_CONF_ID_KEY_ID);
    assert_int_equal(c.peers[2].id.type, NS_CONF_ID_DER_ASN1_DN);
    assert_string_equal(ns_conf_id_type_name(c.peers[2].id.type), "dn");
    ns_conf_free(&c);
}

static void find_peer_exact_then_default(void **state)
{
    (void)state;
    struct ns_conf c;
    load_ok(gateway_conf, &c);
    struct ns_conf_id id;
    assert_int_equal(ns_conf_id_parse("alice@corp.example", &id), 0);
    const struct ns_conf_peer *p = ns_conf_find_peer(&c, &id);
    assert_ptr_equal(p, &c.peers[0]);
    /* Same bytes, other type: not the same identity. */
    id.type = NS_CONF_ID_FQDN;
    assert_ptr_equal(ns_conf_find_peer(&c, &id), &c.peers[2]);
    /* An e-mail or DNS identity is found however its letters are cased, as
     * a certificate holds it (R3). */
    assert_int_equal(ns_conf_id_parse("Alice@CORP.example", &id), 0);
    assert_ptr_equal(ns_conf_find_peer(&c, &id), &c.peers[0]);
    assert_int_equal(ns_conf_id_parse("stranger@else.example", &id), 0);
    p = ns_conf_find_peer(&c, &id);
    assert_non_null(p);
    assert_true(p->is_default);
    ns_conf_free(&c);

    load_ok(client_conf, &c);
    assert_null(ns_conf_find_peer(&c, &id));
    ns_conf_free(&c);
}

static void many_peers(void **state)
{
    (void)state;
    /* Thousands of identities (R12): each found, none confused. */
    enum { N = 3000 };
    size_t cap = 128 + N * 96;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, GW_HEAD);
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "[peer user%d@corp.example]\npsk = secret-%08d-padding\n"
                              "subnets = 192.0.2.0/24\n",
                              i, i);
    struct ns_conf c;
    load_ok(text, &c);
    free(text);
    assert_int_equal(c.n_peers, N);
    for (int i = 0; i < N; i++) {
        char name[64], psk[64];
        snprintf(name, sizeof(name), "user%d@corp.example", i);
        snprintf(psk, sizeof(psk), "secret-%08d-padding", i);
        struct ns_conf_id id;
        assert_int_equal(ns_conf_id_parse(name, &id), 0);
        const struct ns_conf_peer *p = ns_conf_find_peer(&c, &id);
        assert_non_null(p);
        assert_memory_equal(p->psk, psk, strlen(psk));
    }
    struct ns_conf_id id;
    assert_int_equal(ns_conf_id_parse("user3000@corp.example", &id), 0);
    assert_null(ns_conf_find_peer(&c, &id));
    ns_conf_free(&c);
}

struct proposal_case {
    uint8_t protocol;
    const char *text;
    enum ns_encr_alg encr;
    unsigned key_bits;
    enum ns_integ_alg integ;
    enum ns_prf_alg prf;
    int dh;
    bool esn;
    const char *canonical;
};

#define IKE NS_PROTO_IKE
#define ESP NS_PROTO_ESP
#define GCM NS_ENCR_AES_GCM_16
#define CBC NS_ENCR_AES_CBC
#define CHACHA NS_ENCR_CHACHA20_POLY1305
#define I256 NS_INTEG_HMAC_SHA2_256_128
#define I384 NS_INTEG_HMAC_SHA2_384_192
#define I512 NS_INTEG_HMAC_SHA2_512_256
#define ISHA1 NS_INTEG_HMAC_SHA1_96
#define PSHA1 NS_PRF_HMAC_SHA1
#define P256 NS_PRF_HMAC_SHA2_256
#define P384 NS_PRF_HMAC_SHA2_384
#define P512 NS_PRF_HMAC_SHA2_512

/* Every token at least once, for both protocols. */
static const struct proposal_case proposal_cases[] = {
    {IKE, "aes128gcm16-prfsha256-x25519", GCM, 128, 0, P256, 31, false, NULL},
    {IKE, "aes256gcm16-prfsha384-ecp256", GCM, 256, 0, P384, 19, false, NULL},
    {IKE, "aes128gcm-prfsha512-modp2048", GCM, 128, 0, P512, 14, false,
     "aes128gcm16-prfsha512-modp2048"},
    {IKE, "aes256gcm-curve25519", GCM, 256, 0, P256, 31, false, "aes256gcm16-prfsha256-x25519"},
    {IKE, "chacha20poly1305-prfsha256-x25519", CHACHA, 256, 0, P256, 31, false, NULL},
    {IKE, "aes128-sha256-modp2048", CBC, 128, I256, P256, 14, false,
     "aes128-sha256-prfsha256-modp2048"},
    {IKE, "aes256-sha384-ecp256", CBC, 256, I384, P384, 19, false,
     "aes256-sha384-prfsha384-ecp256"},
    {IKE, "aes256-sha512-x25519", CBC, 256, I512, P512, 31, false,
     "aes256-sha512-prfsha512-x25519"},
    {IKE, "aes256-sha256-prfsha512-x25519", CBC, 256, I256, P512, 31, false, NULL},
    {IKE, "AES256-SHA2_256-MODP2048", CBC, 256, I256, P256, 14, false,
     "aes256-sha256-prfsha256-modp2048"},
    {IKE, "x25519-prfsha256-aes128gcm16", GCM, 128, 0, P256, 31, false,
     "aes128gcm16-prfsha256-x25519"},
    {ESP, "aes128gcm16", GCM, 128, 0, 0, 0, false, NULL},
    {ESP, "aes256gcm16-esn", GCM, 256, 0, 0, 0, true, NULL},
    {ESP, "aes128gcm-noesn", GCM, 128, 0, 0, 0, false, "aes128gcm16"},
    {ESP, "aes256gcm-x25519", GCM, 256, 0, 0, 31, false, "aes256gcm16-x25519"},
    {ESP, "chacha20poly1305-ecp256-esn", CHACHA, 256, 0, 0, 19, true, NULL},
    {ESP, "aes128-sha256", CBC, 128, I256, 0, 0, false, NULL},
    {ESP, "aes256-sha384-modp2048", CBC, 256, I384, 0, 14, false, NULL},
    {ESP, "aes256-sha512", CBC, 256, I512, 0, 0, false, NULL},
    {ESP, "null-sha256", NS_ENCR_NULL, 0, I256, 0, 0, false, NULL},
    {ESP, "null-sha2_384", NS_ENCR_NULL, 0, I384, 0, 0, false, "null-sha384"},
    {ESP, "null-sha2_512-esn", NS_ENCR_NULL, 0, I512, 0, 0, true, "null-sha512-esn"},
    /* X9: HMAC-SHA1-96 for ESP (RFC 8221 MUST-), as Windows offers it. */
    {ESP, "aes256-sha1", CBC, 256, ISHA1, 0, 0, false, NULL},
    {ESP, "aes128-sha-esn", CBC, 128, ISHA1, 0, 0, true, "aes128-sha1-esn"},
    {ESP, "null-sha1", NS_ENCR_NULL, 0, ISHA1, 0, 0, false, NULL},
    /* X12: the legacy algorithms parse; legacy_proposals decides if they
     * may be used. */
    {IKE, "aes256-sha1-modp1024", CBC, 256, ISHA1, PSHA1, 2, false, "aes256-sha1-prfsha1-modp1024"},
    {IKE, "3des-sha1-modp1024", NS_ENCR_3DES, 192, ISHA1, PSHA1, 2, false,
     "3des-sha1-prfsha1-modp1024"},
    {IKE, "aes256-sha256-prfsha1-modp2048", CBC, 256, I256, PSHA1, 14, false, NULL},
    {ESP, "3des-sha1", NS_ENCR_3DES, 192, ISHA1, 0, 0, false, NULL},
    {ESP, "aes128-sha256-modp1024", CBC, 128, I256, 0, 2, false, NULL},
};

static void proposals_parse_every_token(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(proposal_cases) / sizeof(proposal_cases[0]); i++) {
        const struct proposal_case *pc = &proposal_cases[i];
        struct ns_proposal p;
        char err[256] = "";
        if (ns_proposal_parse(pc->text, pc->protocol, &p, err, sizeof(err)) != 0)
            fail_msg("'%s': %s", pc->text, err);
        assert_int_equal(p.protocol, pc->protocol);
        assert_int_equal(p.encr, pc->encr);
        assert_int_equal(p.key_bits, pc->key_bits);
        assert_int_equal(p.integ, pc->integ);
        assert_int_equal(p.prf, pc->prf);
        assert_int_equal(p.dh, pc->dh);
        assert_int_equal(p.esn, pc->esn);
        char buf[128];
        assert_string_equal(ns_proposal_str(&p, buf, sizeof(buf)),
                            pc->canonical ? pc->canonical : pc->text);
        /* The canonical string parses back to the same suite. */
        struct ns_proposal q;
        assert_int_equal(ns_proposal_parse(buf, pc->protocol, &q, err, sizeof(err)), 0);
        assert_int_equal(q.encr, p.encr);
        assert_int_equal(q.key_bits, p.key_bits);
        assert_int_equal(q.integ, p.integ);
        assert_int_equal(q.prf, p.prf);
        assert_int_equal(q.dh, p.dh);
        assert_int_equal(q.esn, p.esn);
    }
}

static void proposals_refuse_bad_combinations(void **state)
{
    (void)state;
    static const struct {
        uint8_t protocol;
        const char *text;
        const char *reason;
    } bad[] = {
        {IKE, "aes128gcm16-prfsha256", "needs a DH group"},
        {IKE, "null-sha256-x25519", "IKE must be encrypted"},
        {IKE, "aes128gcm16-sha256-x25519", "AEAD cipher takes no separate integrity"},
        {ESP, "aes128-x25519", "needs an integrity algorithm"},
        {ESP, "null", "needs an integrity algorithm"},
        {ESP, "aes128gcm16-prfsha256", "only IKE proposals have"},
        {IKE, "aes128gcm16-x25519-esn", "ESP proposals only"},
        {IKE, "aes128-aes256-sha256-x25519", "more than one encryption"},
        {ESP, "aes128-sha256-sha384", "more than one integrity"},
        {ESP, "aes128gcm16-x25519-ecp256", "more than one DH group"},
        {ESP, "sha256", "no encryption algorithm"},
        {ESP, "des-sha1", "unknown or unsupported algorithm 'des'"},
        {ESP, "aes128gcm16--esn", "malformed"},
        {ESP, "", "malformed"},
        {ESP, "aes128gcm16-", "malformed"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ns_proposal p;
        char err[256] = "";
        if (ns_proposal_parse(bad[i].text, bad[i].protocol, &p, err, sizeof(err)) != -1 ||
            !strstr(err, bad[i].reason))
            fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].text, err, bad[i].reason);
    }
    struct ns_proposal list[2];
    char err[256];
    assert_int_equal(ns_proposal_list_parse("aes128gcm16, aes256gcm16, chacha20poly1305",
                                            NS_PROTO_ESP, list, 2, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "more than 2 proposals"));
    assert_int_equal(
        ns_proposal_list_parse("aes128gcm16, aes128gcm", NS_PROTO_ESP, list, 2, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "listed twice"));
}

/* The two complete examples in docs/config.md load as documented. */
static void doc_examples_parse(void **state)
{
    (void)state;
    const char *src = getenv("NATSEC_SRC");
    assert_non_null(src); /* set by CTest */
    char path[4096];
    snprintf(path, sizeof(path), "%s/docs/config.md", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    int found = 0;
    for (char *p = strstr(doc, "```ini\n"); p; p = strstr(p, "```ini\n")) {
        p += strlen("```ini\n");
        char *end = strstr(p, "```");
        assert_non_null(end);
        *end = '\0';
        struct ns_conf c;
        load_ok(p, &c);
        assert_int_equal(c.role, found == 0 ? NS_CONF_GATEWAY : NS_CONF_CLIENT);
        assert_true(c.n_peers >= 1);
        ns_conf_free(&c);
        found++;
        p = end + 1;
    }
    assert_int_equal(found, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gateway_complete),
        cmocka_unit_test(client_complete),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(offload_keys),
        cmocka_unit_test(workers_key),
        cmocka_unit_test(workers_auto_resolves),
        cmocka_unit_test(keepalive_values),
        cmocka_unit_test(log_target_values),
        cmocka_unit_test(dns_apply_values),
        cmocka_unit_test(dns_domains_list),
        cmocka_unit_test(client_listen_follows_ipv6_gateway),
        cmocka_unit_test(listen_both_versions),
        cmocka_unit_test(identity_policy_keys),
        cmocka_unit_test(comments_and_whitespace),
        cmocka_unit_test(file_load_and_missing_file),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(pool_range_matches_the_pool),
        cmocka_unit_test(legacy_proposals_append_windows_suites),
        cmocka_unit_test(long_lines),
        cmocka_unit_test(long_section_names),
        cmocka_unit_test(ah_is_refused),
        cmocka_unit_test(identity_types),
        cmocka_unit_test(find_peer_exact_then_default),
        cmocka_unit_test(many_peers),
        cmocka_unit_test(proposals_parse_every_token),
        cmocka_unit_test(proposals_refuse_bad_combinations),
        cmocka_unit_test(doc_examples_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
