/* IKE_AUTH with certificates (X7) and the identity check against them (R3):
 * natsec clients and a natsec gateway in this process on the simulated
 * network of tests/support/ike_sim (a NAT in front of the clients), with
 * the certificates of tests/fixtures/certs.
 *
 * Shown: ECDSA and RSA (PKCS#1 v1.5 and PSS) both ways, P-384, a chain
 * with an intermediate, a DN identity, sections by identity beside
 * %default and PSK peers; SIGNATURE_HASH_ALGORITHMS both ways and CERTREQ
 * in IKE_SA_INIT; and every refusal with its log line: another CA, an
 * expired certificate, an identity not in the certificate, a key that is
 * not the certificate's, a gateway the client does not trust or whose
 * certificate lacks its identity, PSK against a certificate section.
 * One certificate lands in one section whichever of its names it claims,
 * however spelt (R9, R17). */
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

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/x509.h"
#include "ike/engine.h"
#include "ike/msg.h"
#include "support/certs.h"
#include "support/ike_net.h"
#include "support/test_addr.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 4
#define MAX_SENT 64
#define T0 1000000u

/* The IKE_SA_INIT messages sent, to look at their payloads. */
struct sent {
    int node;
    bool response;
    uint8_t data[IKE_SIM_PKT_MAX];
    size_t len;
};

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
    struct sent init[MAX_SENT];
    unsigned n_init;
    size_t longest; /* the longest datagram sent */
};

static struct net *N;

/* ---- the network ---- */

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    int idx = ike_net_node_index(&N->net, ctx);
    if (len > N->longest)
        N->longest = len;
    if (msg[18] == NS_IKE_SA_INIT && N->n_init < MAX_SENT) {
        struct sent *s = &N->init[N->n_init++];
        s->node = idx;
        s->response = msg[19] & NS_IKE_FLAG_RESPONSE;
        memcpy(s->data, msg, len);
        s->len = len;
    }
    ike_node_send(ctx, local, remote, msg, len, marker);
}

static void run_for(uint64_t ms)
{
    ike_net_run_for(&N->net, ms);
}

/* ---- nodes ---- */

static struct ike_node *new_node(const char *name, const char *a, int nat, const char *text)
{
    return ike_net_add_node(&N->net, name, a, nat, IKE_SIM_MAX_SPIS, text);
}

static void start(struct ike_node *n)
{
    ike_net_node_start(&N->net, n, NULL);
}

#define DEFAULT_PEERS "[peer %default]\nauth = pubkey\nsubnets = 192.0.2.0/24\n"

/* The gateway (node 0) with certificate NAME; peers: its [peer] sections;
 * extra: more [natsecd] lines. Started. */
static struct ike_node *gateway(const char *name, const char *extra, const char *peers)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 2\n%s%s\n%s",
             cert_conf_lines(name, "ca.pem"), extra ? extra : "", peers ? peers : DEFAULT_PEERS);
    struct ike_node *n = new_node("gateway", GW_ADDR, -1, text);
    start(n);
    return n;
}

/* A client behind the NAT with identity id and certificate NAME, trusting
 * ca; extra: more [natsecd] lines. Not started: a test may change its
 * configuration first. */
static struct ike_node *client_conf(const char *label, const char *id, const char *name,
                                    const char *ca, const char *extra)
{
    char text[8192], a[32];
    snprintf(a, sizeof(a), "192.168.1.%u", 10 + N->net.n_nodes);
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = %s\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\nretransmit_timeout = 1.0\nretransmit_tries = 2\n"
             "%s%s\n[peer vpn.corp.example]\nauth = pubkey\nsubnets = 192.0.2.0/24\n",
             id, cert_conf_lines(name, ca), extra ? extra : "");
    return new_node(label, a, 0, text);
}

static struct ike_node *client(const char *label, const char *id, const char *name,
                               const char *extra)
{
    struct ike_node *n = client_conf(label, id, name, "ca.pem", extra);
    start(n);
    return n;
}

/* A configuration's credentials replaced by files loaded without the
 * checks of the configuration (a broken peer). */
static void broken_creds(struct ike_node *n, const char *cert, const char *key)
{
    char err[512];
    struct ns_x509_creds *c = ns_x509_creds_new();
    if (ns_x509_creds_load_cert(c, cert_path(cert), err, sizeof(err)) != 0 ||
        ns_x509_creds_load_key(c, cert_path(key), err, sizeof(err)) != 0 ||
        ns_x509_creds_load_ca(c, cert_path("ca.pem"), err, sizeof(err)) != 0 ||
        ns_x509_creds_check(c, NS_X509_UNCHECKED, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    ns_x509_creds_free(n->conf.creds);
    n->conf.creds = c;
}

static void connect_run(struct ike_node *cl)
{
    ike_net_connect(&N->net, cl->e, &cl->addr);
    run_for(3000);
}

/* ---- inspection ---- */

static unsigned established(const struct ike_node *n)
{
    return ike_net_established(n->e);
}

static uint64_t auth_failures(const struct ike_node *n)
{
    return ike_net_counters(n->e).auth_failures;
}

static void log_must_have(const char *needle)
{
    ike_net_log_must_have(&N->net, needle);
}

/* Both ends up, with one CHILD_SA each, paired. */
static void assert_up(const struct ike_node *gw, const struct ike_node *cl)
{
    assert_int_equal(established(cl), 1);
    assert_int_equal(cl->n_client_up, 1);
    assert_int_equal(cl->n_child_up, 1);
    bool paired = false;
    for (unsigned i = 0; i < gw->n_child_up; i++)
        paired |= ike_node_child(gw, i)->in.spi == cl->child[0].out.spi &&
                  ike_node_child(gw, i)->out.spi == cl->child[0].in.spi;
    assert_true(paired);
}

/* The client was refused: down for authentication, nothing left. */
static void assert_refused(const struct ike_node *gw, const struct ike_node *cl)
{
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_int_equal(cl->n_child_up, 0);
    assert_int_equal(ike_net_sas_of(cl->e).n, 0);
    assert_int_equal(established(gw), 0);
    assert_true(auth_failures(gw) >= 1);
}

/* The payloads of the first IKE_SA_INIT request (or response) node sent. */
static void init_payloads(int node, bool response, struct ns_ike_payloads *pl)
{
    for (unsigned i = 0; i < N->n_init; i++) {
        if (N->init[i].node == node && N->init[i].response == response) {
            struct ns_ike_header h;
            assert_int_equal(ns_ike_parse_message(N->init[i].data, N->init[i].len, &h, pl),
                             NS_IKE_OK);
            return;
        }
    }
    fail_msg("node %d sent no IKE_SA_INIT %s", node, response ? "response" : "request");
}

/* RFC 7427 4: SHA-256, SHA-384, SHA-512 (2, 3, 4) announced. */
static void assert_hash_notify(const struct ns_ike_payloads *pl)
{
    const struct ns_ike_payload *p = ns_ike_find_notify(pl, NS_N_SIGNATURE_HASH_ALGORITHMS);
    struct ns_ike_notify n;
    assert_non_null(p);
    assert_int_equal(ns_ike_parse_notify(p, &n), NS_IKE_OK);
    assert_int_equal(n.len, 6);
    assert_memory_equal(n.data, "\x00\x02\x00\x03\x00\x04", 6);
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_INFO, .guard = 100000, .send = ops_send,
                .nat = "203.0.113.5", .nat_first_port = 40000)

/* ================= scenarios ================= */

static void ecdsa_both_ways(void **state) /* X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    struct ike_node *cl = client("alice", "alice@corp.example", "alice-ecdsa", NULL);
    connect_run(cl);
    assert_up(gw, cl);
    log_must_have("'alice@corp.example' authenticated by certificate 'C=CH, O=Corp, CN=alice' "
                  "(issuer 'C=CH, O=natsec test, CN=natsec Test CA'), ECDSA P-256, "
                  "ecdsa-with-SHA256 (RFC 7427)");
    log_must_have("'vpn.corp.example' authenticated by certificate 'C=CH, O=Corp, "
                  "CN=vpn.corp.example' (issuer 'C=CH, O=natsec test, CN=natsec Test CA'), "
                  "ECDSA P-256, ecdsa-with-SHA256 (RFC 7427)");
    /* RFC 7427 4 both ways in IKE_SA_INIT; the gateway's answer asks for
     * a certificate from its CA (RFC 7296 3.7). */
    struct ns_ike_payloads req, resp;
    init_payloads(1, false, &req);
    init_payloads(0, true, &resp);
    assert_hash_notify(&req);
    assert_hash_notify(&resp);
    assert_null(ns_ike_find(&req, NS_PL_CERTREQ));
    const struct ns_ike_payload *cr = ns_ike_find(&resp, NS_PL_CERTREQ);
    struct ns_ike_cert c;
    assert_non_null(cr);
    assert_int_equal(ns_ike_parse_cert(cr, &c), NS_IKE_OK);
    assert_int_equal(c.encoding, NS_CERT_X509_SIGNATURE);
    size_t len;
    const uint8_t *want = ns_x509_creds_certreq(gw->conf.creds, &len);
    assert_int_equal(c.len, 20);
    assert_memory_equal(c.data, want, 20);
    struct ns_ike_sa_status st = ike_net_sas_of(gw->e).st[0];
    struct ns_conf_id alice;
    assert_int_equal(ns_conf_id_parse("alice@corp.example", &alice), 0);
    assert_true(ns_conf_id_equal(&st.remote_id, &alice));
    assert_string_equal(st.peer_name, "%default");
    assert_true(st.nat_remote);
}

static void rsa_both_ways(void **state) /* X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-rsa", NULL, NULL);
    struct ike_node *cl = client("bob", "bob@corp.example", "bob-rsa", NULL);
    connect_run(cl);
    assert_up(gw, cl);
    log_must_have("'bob@corp.example' authenticated by certificate 'C=CH, O=Corp, CN=bob' "
                  "(issuer 'C=CH, O=natsec test, CN=natsec Test CA'), RSA-2048, "
                  "sha256WithRSAEncryption (RFC 7427)");
    log_must_have("'vpn.corp.example' authenticated by certificate 'C=CH, O=Corp, "
                  "CN=vpn.corp.example' (issuer 'C=CH, O=natsec test, CN=natsec Test CA'), "
                  "RSA-2048, sha256WithRSAEncryption (RFC 7427)");
}

static void rsa_pss_both_ways(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-rsa", "rsa_pss = yes\n", NULL);
    struct ike_node *cl = client("bob", "bob@corp.example", "bob-rsa", "rsa_pss = yes\n");
    connect_run(cl);
    assert_up(gw, cl);
    log_must_have("'bob@corp.example' authenticated by certificate 'C=CH, O=Corp, CN=bob' "
                  "(issuer 'C=CH, O=natsec test, CN=natsec Test CA'), RSA-2048, "
                  "RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32) (RFC 7427)");
    log_must_have("'vpn.corp.example' authenticated by certificate 'C=CH, O=Corp, "
                  "CN=vpn.corp.example' (issuer 'C=CH, O=natsec test, CN=natsec Test CA'), "
                  "RSA-2048, RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32) (RFC 7427)");
}

/* Key types mixed: ECDSA P-384 to an RSA gateway, RSA to an ECDSA one;
 * each side signs with the hash that suits its own key. */
static void mixed_key_types(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-rsa", NULL, NULL);
    struct ike_node *carol = client("carol", "carol@corp.example", "carol-p384", NULL);
    connect_run(carol);
    assert_up(gw, carol);
    log_must_have("'carol@corp.example' authenticated by certificate 'C=CH, O=Corp, CN=carol' "
                  "(issuer 'C=CH, O=natsec test, CN=natsec Test CA'), ECDSA P-384, "
                  "ecdsa-with-SHA384 (RFC 7427)");
    log_must_have("RSA-2048, sha256WithRSAEncryption (RFC 7427)");
}

static void rsa_client_ecdsa_gateway(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    struct ike_node *bob = client("bob", "bob@corp.example", "bob-rsa", NULL);
    connect_run(bob);
    assert_up(gw, bob);
    log_must_have("'bob@corp.example' authenticated by certificate 'C=CH, O=Corp, CN=bob' "
                  "(issuer 'C=CH, O=natsec test, CN=natsec Test CA'), RSA-2048, "
                  "sha256WithRSAEncryption (RFC 7427)");
    log_must_have("ECDSA P-256, ecdsa-with-SHA256 (RFC 7427)");
}

/* The client's certificate comes from an intermediate CA that only the
 * client has: it sends it as a second CERT payload. */
static void intermediate_sent_along(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    struct ike_node *erin = client("erin", "erin@corp.example", "erin-sub", NULL);
    connect_run(erin);
    assert_up(gw, erin);
    log_must_have("'erin@corp.example' authenticated by certificate 'C=CH, O=Corp, CN=erin' "
                  "(issuer 'C=CH, O=natsec test, CN=natsec Test Sub CA')");
    assert_true(N->longest < IKE_SIM_PKT_MAX);
}

/* R3: a section by identity gives its own subnets; others with a
 * certificate of the CA fall to %default; a PSK peer on the same gateway
 * is unchanged. */
static void sections_by_identity(void **state) /* X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL,
                                  "[peer alice@corp.example]\nauth = pubkey\n"
                                  "subnets = 192.0.2.0/24\n"
                                  "[peer dave.home.example]\npsk = dave-secret-0123456789\n"
                                  "subnets = 192.0.2.10/32\n"
                                  "[peer %default]\nauth = pubkey\nsubnets = 192.0.2.80/32\n");
    struct ike_node *alice = client("alice", "alice@corp.example", "alice-ecdsa", NULL);
    struct ike_node *carol = client("carol", "carol@corp.example", "carol-p384", NULL);
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = dave.home.example\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\n[peer vpn.corp.example]\n"
             "psk = dave-secret-0123456789\nsubnets = 192.0.2.10/32\n");
    struct ike_node *dave = new_node("dave", "192.168.1.99", 0, text);
    start(dave);
    connect_run(alice);
    connect_run(carol);
    connect_run(dave);
    assert_up(gw, alice);
    assert_up(gw, carol);
    assert_up(gw, dave);
    assert_int_equal(established(gw), 3);
    struct ike_net_sas l = ike_net_sas_of(gw->e);
    unsigned seen = 0;
    for (unsigned i = 0; i < l.n; i++) {
        char id[NS_CONF_ID_STRLEN], ts[NS_TS_STRLEN];
        ns_conf_id_str(&l.st[i].remote_id, id);
        assert_int_equal(l.st[i].child[0].n_local_ts, 1);
        ns_ts_str(&l.st[i].child[0].local_ts[0], ts);
        if (strcmp(id, "alice@corp.example") == 0) {
            assert_string_equal(l.st[i].peer_name, "alice@corp.example");
            assert_string_equal(ts, "192.0.2.0/24");
            seen |= 1;
        } else if (strcmp(id, "carol@corp.example") == 0) {
            assert_string_equal(l.st[i].peer_name, "%default");
            assert_string_equal(ts, "192.0.2.80/32");
            seen |= 2;
        } else if (strcmp(id, "dave.home.example") == 0) {
            assert_string_equal(l.st[i].peer_name, "dave.home.example");
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    /* The PSK client's IKE_SA_INIT carries no certificate notify. */
    struct ns_ike_payloads req;
    init_payloads(3, false, &req);
    assert_null(ns_ike_find_notify(&req, NS_N_SIGNATURE_HASH_ALGORITHMS));
}

/* R3: a certificate DN as identity; the gateway's section names it with
 * another case and string type than the certificate and the client. */
static void dn_identity(void **state) /* X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL,
                                  "[peer dn:C=CH/O=corp/CN=ALICE]\nauth = pubkey\n"
                                  "subnets = 192.0.2.0/24\n");
    struct ike_node *cl = client("alice", "dn:C=CH, O=Corp, CN=alice", "alice-ecdsa", NULL);
    connect_run(cl);
    assert_up(gw, cl);
    assert_string_equal(ike_net_sas_of(gw->e).st[0].peer_name, "dn:C=CH/O=corp/CN=ALICE");
    log_must_have("'dn:C=CH, O=Corp, CN=alice' authenticated by certificate 'C=CH, O=Corp, "
                  "CN=alice'");
}

/* ---- refusals ---- */

static void other_ca_refused(void **state) /* X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    /* mallory's certificate names alice@corp.example, from another CA. */
    struct ike_node *m =
        client_conf("mallory", "alice@corp.example", "mallory-other", "ca.pem", NULL);
    start(m);
    connect_run(m);
    assert_refused(gw, m);
    log_must_have("IKE_AUTH from 203.0.113.5:40001: authentication failed: the certificate "
                  "'C=CH, O=Corp, CN=mallory' of 'alice@corp.example' is not trusted: unable to "
                  "get local issuer certificate (depth 0, 'C=CH, O=Corp, CN=mallory')");
    log_must_have("the gateway answered AUTHENTICATION_FAILED (does it trust our certificate's CA");
}

static void expired_refused(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    /* The configuration would refuse dave's expired certificate at start:
     * it is put in after loading, as a careless peer would have it. */
    struct ike_node *d = client_conf("dave", "alice@corp.example", "alice-ecdsa", "ca.pem", NULL);
    broken_creds(d, "dave-expired.pem", "dave-expired.key");
    assert_int_equal(ns_conf_id_parse("dave@corp.example", &d->conf.local_id), 0);
    start(d);
    connect_run(d);
    assert_refused(gw, d);
    log_must_have("authentication failed: the certificate 'C=CH, O=Corp, CN=dave' of "
                  "'dave@corp.example' is not trusted: certificate has expired (depth 0, 'C=CH, "
                  "O=Corp, CN=dave')");
}

static void identity_not_in_certificate(void **state) /* X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    /* bob claims alice's identity with his own (valid) certificate. */
    struct ike_node *b = client_conf("bob", "bob@corp.example", "bob-rsa", "ca.pem", NULL);
    assert_int_equal(ns_conf_id_parse("alice@corp.example", &b->conf.local_id), 0);
    start(b);
    connect_run(b);
    assert_refused(gw, b);
    log_must_have("authentication failed: identity 'alice@corp.example' (rfc822) is not in its "
                  "certificate (subject 'C=CH, O=Corp, CN=bob', subjectAltName "
                  "email:bob@corp.example) (R3)");
}

static void key_not_the_certificates(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    /* alice's certificate with another P-256 key: the signature is made,
     * but not by the certificate's key. */
    struct ike_node *a = client_conf("alice", "alice@corp.example", "alice-ecdsa", "ca.pem", NULL);
    broken_creds(a, "alice-ecdsa.pem", "gw-ecdsa.key");
    start(a);
    connect_run(a);
    assert_refused(gw, a);
    log_must_have("authentication failed: 'alice@corp.example' (certificate 'C=CH, O=Corp, "
                  "CN=alice'): its AUTH signature (ecdsa-with-SHA256) does not verify with its "
                  "certificate's key");
}

static void key_of_another_type(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    struct ike_node *a = client_conf("alice", "alice@corp.example", "alice-ecdsa", "ca.pem", NULL);
    broken_creds(a, "alice-ecdsa.pem", "bob-rsa.key");
    start(a);
    connect_run(a);
    assert_refused(gw, a);
    log_must_have("its signature algorithm sha256WithRSAEncryption does not fit its "
                  "certificate's ECDSA P-256 key");
}

/* The client checks the gateway the same way. */
static void gateway_not_trusted(void **state) /* X7 R3 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL, NULL);
    struct ike_node *cl =
        client_conf("alice", "alice@corp.example", "alice-ecdsa", "other-ca.pem", NULL);
    start(cl);
    connect_run(cl);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    assert_int_equal(cl->n_child_up, 0);
    assert_int_equal(auth_failures(cl), 1);
    log_must_have("authentication with gateway 198.51.100.1:4500 failed: the certificate 'C=CH, "
                  "O=Corp, CN=vpn.corp.example' of 'vpn.corp.example' is not trusted: unable to "
                  "get local issuer certificate");
    /* The gateway hears of it (AUTHENTICATION_FAILED) and lets the SA go. */
    run_for(1000);
    assert_int_equal(established(gw), 0);
}

static void gateway_identity_not_in_certificate(void **state) /* X7 R3 */
{
    (void)state;
    /* A gateway that presents a certificate without its identity. */
    char text[4096];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = multi.corp.example\npool = 10.99.0.0/24\n"
             "%s\n%s",
             cert_conf_lines("multi", "ca.pem"), DEFAULT_PEERS);
    struct ike_node *gw = new_node("gateway", GW_ADDR, -1, text);
    assert_int_equal(ns_conf_id_parse("vpn.corp.example", &gw->conf.local_id), 0);
    start(gw);
    struct ike_node *cl = client("alice", "alice@corp.example", "alice-ecdsa", NULL);
    connect_run(cl);
    assert_int_equal(cl->n_client_down, 1);
    assert_int_equal(cl->down_reason, NS_IKE_DOWN_AUTH_FAILED);
    log_must_have("authentication with gateway 198.51.100.1:4500 failed: identity "
                  "'vpn.corp.example' (fqdn) is not in its certificate (subject 'C=CH, O=Corp, "
                  "CN=multi', subjectAltName DNS:multi.corp.example, email:multi@corp.example, "
                  "IP:192.0.2.7, IP:2001:db8::7) (R3)");
}

/* A PSK client meets a section that wants a certificate, and a
 * certificate client a section that wants a PSK. */
static void method_must_match_the_section(void **state) /* X7 */
{
    (void)state;
    struct ike_node *gw = gateway("gw-ecdsa", NULL,
                                  "[peer bob@corp.example]\npsk = bob-secret-0123456789\n"
                                  "subnets = 192.0.2.0/24\n" DEFAULT_PEERS);
    char text[1024];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = carol@corp.example\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\nretransmit_tries = 2\n[peer vpn.corp.example]\n"
             "psk = carol-secret-0123456789\nsubnets = 192.0.2.0/24\n");
    struct ike_node *carol = new_node("carol", "192.168.1.50", 0, text);
    start(carol);
    connect_run(carol);
    assert_refused(gw, carol);
    log_must_have("authentication failed: 'carol@corp.example' authenticates with a pre-shared "
                  "key (AUTH method 2), its [peer %default] says auth = pubkey");
    struct ike_node *bob = client("bob", "bob@corp.example", "bob-rsa", NULL);
    connect_run(bob);
    assert_int_equal(bob->n_client_down, 1);
    log_must_have("authentication failed: 'bob@corp.example' authenticates with a signature "
                  "(AUTH method 14), its [peer bob@corp.example] says auth = psk");
}

/* ---- one certificate, one section (R9, R17) ---- */

/* The gateway's view of the one client with identity id and certificate
 * cert: the section it landed in and the one destination it may reach;
 * "refused" when it did not get in. The log must say said (unless NULL).
 * A fresh network each time. */
struct landing {
    char section[NS_CONF_NAME_MAX];
    char reach[NS_TS_STRLEN];
};

static struct landing land_saying(const char *peers, const char *id, const char *cert,
                                  const char *said)
{
    struct landing l;
    memset(&l, 0, sizeof(l));
    struct ike_node *gw = gateway("gw-ecdsa", NULL, peers);
    struct ike_node *cl = client_conf("client", id, cert, "ca.pem", NULL);
    start(cl);
    connect_run(cl);
    if (established(gw) == 1 && cl->n_client_up == 1) {
        struct ns_ike_sa_status st = ike_net_one_sa(gw->e);
        snprintf(l.section, sizeof(l.section), "%s", st.peer_name);
        assert_int_equal(st.child[0].n_local_ts, 1);
        ns_ts_str(&st.child[0].local_ts[0], l.reach);
    } else {
        snprintf(l.section, sizeof(l.section), "refused");
    }
    if (said)
        log_must_have(said);
    teardown(NULL);
    assert_int_equal(setup(NULL), 0);
    return l;
}

static struct landing land(const char *peers, const char *id, const char *cert)
{
    return land_saying(peers, id, cert, NULL);
}

/* Certificate cert claiming each of ids[0..n) lands in [peer section]
 * reaching only reach; every one that does not is printed before the test
 * fails. */
static void all_land(const char *peers, const char *cert, const char *const *ids, size_t n,
                     const char *section, const char *reach)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct landing l = land(peers, ids[i], cert);
        if (strcmp(l.section, section) != 0 || strcmp(l.reach, reach) != 0) {
            print_message("%s as '%s' landed in [peer %s] reaching %s\n", cert, ids[i], l.section,
                          l.reach);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The narrow section of alice beside a wider %default: whatever name of
 * her certificate alice claims, and however she spells it, she lands in
 * her own section, never in %default (the names of a certificate compare
 * as the identity check compares them: DNS and e-mail without case, a DN
 * as a name). */
static void certificate_lands_in_its_section(void **state) /* X7 R3 R9 R17 */
{
    (void)state;
    static const char peers[] = "[peer alice@corp.example]\nauth = pubkey\n"
                                "subnets = 192.0.2.10/32\n"
                                "[peer %default]\nauth = pubkey\nsubnets = 192.0.2.0/24\n";
    static const char *const spellings[] = {
        "alice@corp.example",        "Alice@corp.example",      "ALICE@CORP.EXAMPLE",
        "dn:C=CH, O=Corp, CN=alice", "dn:C=CH/O=CORP/CN=Alice",
    };
    all_land(peers, "alice-ecdsa", spellings, sizeof(spellings) / sizeof(spellings[0]),
             "alice@corp.example", "192.0.2.10/32");
    land_saying(peers, "dn:C=CH, O=Corp, CN=alice", "alice-ecdsa",
                "'dn:C=CH, O=Corp, CN=alice' has [peer alice@corp.example] by the names of its "
                "certificate");
    /* carol, whose certificate names no section, still gets %default. */
    struct landing c = land(peers, "carol@corp.example", "carol-p384");
    assert_string_equal(c.section, "%default");
    assert_string_equal(c.reach, "192.0.2.0/24");
}

/* Every kind of name a certificate holds leads to the same section: DNS,
 * e-mail, both IP addresses, the key ID and the DN of multi's. */
static void every_name_of_the_certificate(void **state) /* X7 R3 R9 R17 */
{
    (void)state;
    static const char peers[] = "[peer multi@corp.example]\nauth = pubkey\n"
                                "subnets = 192.0.2.20/32\n"
                                "[peer %default]\nauth = pubkey\nsubnets = 192.0.2.0/24\n";
    char keyid[NS_CONF_ID_STRLEN] = "keyid:0x";
    FILE *f = fopen(cert_path("multi.pem"), "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    assert_non_null(ski);
    for (int i = 0; i < ASN1_STRING_length(ski); i++)
        snprintf(keyid + strlen(keyid), sizeof(keyid) - strlen(keyid), "%02x",
                 ASN1_STRING_get0_data(ski)[i]);
    X509_free(x);
    const char *const spellings[] = {
        "multi@corp.example",
        "Multi@Corp.Example",
        "multi.corp.example",
        "MULTI.corp.example",
        "192.0.2.7",
        "2001:db8::7",
        keyid,
        "dn:C=CH, O=Corp, CN=multi",
    };
    all_land(peers, "multi", spellings, sizeof(spellings) / sizeof(spellings[0]),
             "multi@corp.example", "192.0.2.20/32");
}

/* A certificate that names two sections lands in the one written first,
 * whichever name it claims. */
static void two_sections_first_wins(void **state) /* X7 R9 R17 */
{
    (void)state;
    static const char peers[] = "[peer multi.corp.example]\nauth = pubkey\n"
                                "subnets = 192.0.2.30/32\n"
                                "[peer multi@corp.example]\nauth = pubkey\n"
                                "subnets = 192.0.2.20/32\n"
                                "[peer %default]\nauth = pubkey\nsubnets = 192.0.2.0/24\n";
    static const char *const spellings[] = {"multi@corp.example", "multi.corp.example",
                                            "192.0.2.7"};
    all_land(peers, "multi", spellings, sizeof(spellings) / sizeof(spellings[0]),
             "multi.corp.example", "192.0.2.30/32");
}

/* A certificate whose name has a PSK section: the identity belongs to that
 * section, so a certificate for it is refused under any claimed name
 * rather than taken by %default. */
static void certificate_of_a_psk_section(void **state) /* X7 R3 R9 */
{
    (void)state;
    static const char peers[] = "[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
                                "subnets = 192.0.2.10/32\n"
                                "[peer %default]\nauth = pubkey\nsubnets = 192.0.2.0/24\n";
    struct landing l =
        land_saying(peers, "dn:C=CH, O=Corp, CN=alice", "alice-ecdsa",
                    "authentication failed: the certificate of 'dn:C=CH, O=Corp, CN=alice' names "
                    "[peer alice@corp.example], which says auth = psk");
    assert_string_equal(l.section, "refused");
    l = land_saying(peers, "Alice@corp.example", "alice-ecdsa",
                    "authentication failed: 'Alice@corp.example' authenticates with a signature "
                    "(AUTH method 14), its [peer alice@corp.example] says auth = psk");
    assert_string_equal(l.section, "refused");
}

/* ---- what a peer sends, in the log ---- */

/* The log is lines that each start with a timestamp, of printable ASCII
 * only: no byte a peer sent starts a line of its own or reaches a
 * terminal as a control sequence (R15). */
static void assert_log_clean(void)
{
    const unsigned char *b = (const unsigned char *)N->net.log.buf;
    for (size_t i = 0; b && i < N->net.log.len; i++) {
        bool line_start = i == 0 || b[i - 1] == '\n';
        if ((line_start && (b[i] < '0' || b[i] > '9')) ||
            (b[i] != '\n' && (b[i] < 0x20 || b[i] > 0x7e))) {
            fprintf(stderr, "--- log:\n%.*s---\n", (int)N->net.log.len, N->net.log.buf);
            fail_msg("byte 0x%02x at %zu of the log (%s)", b[i], i,
                     line_start ? "a line that is no log line" : "not printable");
        }
    }
}

/* evil-cn's certificate subject as an identity (DN), claimed by node n. */
static void claim_subject(struct ike_node *n)
{
    FILE *f = fopen(cert_path("evil-cn.pem"), "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    unsigned char *der = NULL;
    int len = i2d_X509_NAME(X509_get_subject_name(x), &der);
    X509_free(x);
    assert_true(len > 0 && (size_t)len <= sizeof(n->conf.local_id.data));
    n->conf.local_id.type = NS_CONF_ID_DER_ASN1_DN;
    memcpy(n->conf.local_id.data, der, (size_t)len);
    n->conf.local_id.len = (size_t)len;
    OPENSSL_free(der);
}

#define EVIL_CN "CN=evil\\x0a0.000 INFO forged line \\x1b[2J\\x1b[31m\\xc3\\x82\\xc2\\x9b"

/* Its identity, sent before it is authenticated, and its certificate's
 * names hold a newline and a forged log line, ESC sequences and a C1 CSI
 * (tests/fixtures/certs/evil-cn.pem): every one is escaped (\xNN). */
static void peer_strings_escaped_in_log(void **state) /* R15 X7 */
{
    (void)state;
    /* A gateway that does not know it: refused before authentication. */
    struct ike_node *gw = gateway("gw-ecdsa", NULL,
                                  "[peer alice@corp.example]\nauth = pubkey\n"
                                  "subnets = 192.0.2.0/24\n");
    struct ike_node *cl = client_conf("evil", "evil@corp.example", "evil-cn", "ca.pem", NULL);
    claim_subject(cl);
    start(cl);
    connect_run(cl);
    assert_int_equal(established(gw), 0);
    assert_log_clean();
    log_must_have("unknown identity 'dn:C=CH, O=Corp, " EVIL_CN "'");

    /* One that takes it: authenticated, named in every line after. */
    teardown(NULL);
    assert_int_equal(setup(NULL), 0);
    gw = gateway("gw-ecdsa", NULL, NULL);
    cl = client_conf("evil", "evil@corp.example", "evil-cn", "ca.pem", NULL);
    claim_subject(cl);
    start(cl);
    connect_run(cl);
    assert_up(gw, cl);
    assert_log_clean();
    log_must_have("'dn:C=CH, O=Corp, " EVIL_CN
                  "' authenticated by certificate 'C=CH, O=Corp, " EVIL_CN "'");

    /* Its certificate without the identity it claims: the refusal names
     * the subject. */
    teardown(NULL);
    assert_int_equal(setup(NULL), 0);
    gw = gateway("gw-ecdsa", NULL, NULL);
    cl = client_conf("evil", "evil@corp.example", "evil-cn", "ca.pem", NULL);
    assert_int_equal(ns_conf_id_parse("alice@corp.example", &cl->conf.local_id), 0);
    start(cl);
    connect_run(cl);
    assert_refused(gw, cl);
    assert_log_clean();
    log_must_have("(subject 'C=CH, O=Corp, " EVIL_CN "', subjectAltName email:evil@corp.example)");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(ecdsa_both_ways),
        T(rsa_both_ways),
        T(rsa_pss_both_ways),
        T(mixed_key_types),
        T(rsa_client_ecdsa_gateway),
        T(intermediate_sent_along),
        T(sections_by_identity),
        T(dn_identity),
        T(other_ca_refused),
        T(expired_refused),
        T(identity_not_in_certificate),
        T(key_not_the_certificates),
        T(key_of_another_type),
        T(gateway_not_trusted),
        T(gateway_identity_not_in_certificate),
        T(method_must_match_the_section),
        T(certificate_lands_in_its_section),
        T(every_name_of_the_certificate),
        T(two_sections_first_wins),
        T(certificate_of_a_psk_section),
        T(peer_strings_escaped_in_log),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
