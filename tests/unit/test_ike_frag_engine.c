/* IKE fragmentation (RFC 7383, X5) in the engine: a natsec client behind
 * a NAT and a natsec gateway on the simulated network of
 * tests/support/ike_sim, both with fragment_size = 576, authenticate with
 * RSA certificates (the client sends its intermediate along), so IKE_AUTH
 * goes in fragments both ways.
 *
 * Shown: IKEV2_FRAGMENTATION_SUPPORTED both ways in IKE_SA_INIT; every
 * fragment datagram within fragment_size with IP, UDP and the non-ESP
 * marker; lost fragments of the request and of the response repaired by
 * retransmission, which sends the very same fragment datagrams again; a
 * forged fragment in the middle of a reassembly dropped and counted; a
 * peer that does not offer fragmentation gets whole messages. */
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

#include "ike/engine.h"
#include "ike/msg.h"
#include "support/certs.h"
#include "support/ike_net.h"

#define GW_ADDR "198.51.100.1"
#define MAX_NODES 2
#define MAX_KEPT 128
#define T0 1000000u
#define FRAG_SIZE 576
/* What one IKE datagram may carry at FRAG_SIZE: IPv4 and UDP headers and
 * the non-ESP marker (the client is behind a NAT: port 4500) less. */
#define FRAG_MSG_MAX (FRAG_SIZE - 20 - 8 - 4)

/* An IKE_AUTH datagram a node sent (after IKE_SA_INIT). */
struct kept {
    int node;
    uint8_t data[IKE_SIM_PKT_MAX];
    size_t len;
};

struct net {
    struct ike_node node[MAX_NODES];
    struct ike_net net;
    struct kept auth[MAX_KEPT]; /* every IKE_AUTH datagram, in order */
    unsigned n_auth;
    bool init_notify[MAX_NODES]; /* its IKE_SA_INIT had the notify */
    /* Loss and forgery, by node: the IKE_AUTH fragment number to lose the
     * first time it is sent (0: none), and to send a forged copy of. */
    uint16_t lose[MAX_NODES], forge[MAX_NODES];
    bool lost[MAX_NODES], forged[MAX_NODES];
    bool lose_always; /* lose[] every time, not only the first */
    unsigned cl_tries; /* the client's retransmit_tries (0: 3) */
    const char *cl_cert, *cl_id; /* the client's certificate and identity (NULL: erin's) */
    /* The path drops IP fragments: every datagram that would need them at
     * fragment_size is lost. */
    bool drop_big;
};

static struct net *N;

/* The fragment number of an SKF message, or 0 for any other. */
static uint16_t frag_number(const uint8_t *msg, size_t len)
{
    if (len < NS_IKE_HEADER_LEN + 8 || msg[NS_IKE_HDR_NEXT_PAYLOAD_OFF] != NS_PL_SKF)
        return 0;
    return ns_get_u16(msg + NS_IKE_HEADER_LEN + 4);
}

static void ops_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                     const uint8_t *msg, size_t len, bool marker)
{
    int idx = ike_net_node_index(&N->net, ctx);
    uint8_t exchange = msg[NS_IKE_HDR_EXCHANGE_OFF];
    if (exchange == NS_IKE_SA_INIT) {
        struct ns_ike_header h;
        struct ns_ike_payloads pl;
        if (ns_ike_parse_message(msg, len, &h, &pl) == NS_IKE_OK &&
            ns_ike_find_notify(&pl, NS_N_IKEV2_FRAGMENTATION_SUPPORTED))
            N->init_notify[idx] = true;
    }
    uint16_t number = frag_number(msg, len);
    if (exchange == NS_IKE_AUTH) {
        assert_true(N->n_auth < MAX_KEPT);
        struct kept *k = &N->auth[N->n_auth++];
        k->node = idx;
        memcpy(k->data, msg, len);
        k->len = len;
        if (number && number == N->forge[idx] && !N->forged[idx]) {
            /* A forged copy goes first: one bit of its ICV changed. */
            uint8_t bad[IKE_SIM_PKT_MAX];
            memcpy(bad, msg, len);
            bad[len - 1] ^= 1;
            N->forged[idx] = true;
            ike_net_send(&N->net, idx, local, remote, bad, len);
        }
        if (number && number == N->lose[idx] && (!N->lost[idx] || N->lose_always)) {
            N->lost[idx] = true;
            return;
        }
    }
    if (N->drop_big && len > FRAG_MSG_MAX)
        return;
    ike_node_send(ctx, local, remote, msg, len, marker);
}

/* The gateway (node 0, gw-rsa) and the client (node 1, erin-sub with its
 * intermediate, behind the NAT); extra: more [natsecd] lines each. */
static void nodes(const char *gw_extra, const char *cl_extra)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\npool = 10.99.0.0/24\n"
             "retransmit_timeout = 1.0\nretransmit_tries = 3\nfragment_size = %d\n%s%s\n"
             "[peer %%default]\nauth = pubkey\nsubnets = 192.0.2.0/24\n",
             FRAG_SIZE, cert_conf_lines("gw-rsa", "ca.pem"), gw_extra ? gw_extra : "");
    ike_net_add_started_node(&N->net, "gateway", GW_ADDR, -1, IKE_SIM_MAX_SPIS, text, NULL);
    snprintf(text, sizeof(text),
             "[natsecd]\nrole = client\nlocal_id = %s\ngateway = " GW_ADDR "\n"
             "remote_id = vpn.corp.example\nretransmit_timeout = 1.0\nretransmit_tries = %u\n"
             "fragment_size = %d\n%s%s\n[peer vpn.corp.example]\nauth = pubkey\n"
             "subnets = 192.0.2.0/24\n",
             N->cl_id ? N->cl_id : "erin@corp.example", N->cl_tries ? N->cl_tries : 3, FRAG_SIZE,
             cert_conf_lines(N->cl_cert ? N->cl_cert : "erin-sub", "ca.pem"),
             cl_extra ? cl_extra : "");
    ike_net_add_started_node(&N->net, "erin", "192.168.1.10", 0, IKE_SIM_MAX_SPIS, text, NULL);
}

static void connect_run(uint64_t ms)
{
    struct ike_node *cl = &N->node[1];
    ike_net_connect(&N->net, cl->e, &cl->addr);
    ike_net_run_for(&N->net, ms);
}

static void assert_up(void)
{
    const struct ike_node *gw = &N->node[0], *cl = &N->node[1];
    assert_true(ike_net_one_established(cl->e));
    assert_true(ike_net_one_established(gw->e));
    assert_int_equal(cl->n_client_up, 1);
    assert_int_equal(cl->n_child_up, 1);
    assert_int_equal(gw->n_child_up, 1);
    assert_int_equal(gw->child[0].in.spi, cl->child[0].out.spi);
    assert_int_equal(gw->child[0].out.spi, cl->child[0].in.spi);
}

static struct ns_frag_counters frag_ctr(int node)
{
    return ike_net_counters(N->node[node].e).frag;
}

/* The IKE_AUTH datagrams node sent with fragment number `number`, in
 * order: indexes into N->auth, at most max. */
static unsigned sent_fragments(int node, uint16_t number, unsigned *idx, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < N->n_auth && n < max; i++)
        if (N->auth[i].node == node && frag_number(N->auth[i].data, N->auth[i].len) == number)
            idx[n++] = i;
    return n;
}

/* ---- fixture ---- */

IKE_NET_FIXTURE(.now = T0, .log_level = NS_LOG_DEBUG, .guard = 100000, .send = ops_send,
                .nat = "203.0.113.5", .nat_first_port = 40000)

/* ================= scenarios ================= */

static void fragmented_both_ways(void **state) /* X5 X7 */
{
    (void)state;
    nodes(NULL, NULL);
    connect_run(3000);
    assert_up();
    assert_true(N->init_notify[0]);
    assert_true(N->init_notify[1]);
    /* Every IKE_AUTH datagram is a fragment, and fits fragment_size. */
    unsigned per_node[2] = {0, 0};
    for (unsigned i = 0; i < N->n_auth; i++) {
        const struct kept *k = &N->auth[i];
        assert_true(frag_number(k->data, k->len) >= 1);
        assert_true(k->len <= FRAG_MSG_MAX);
        per_node[k->node]++;
    }
    assert_true(per_node[0] >= 3); /* a 2048-bit certificate and signature */
    assert_true(per_node[1] >= 4); /* and the intermediate */
    for (int n = 0; n < 2; n++) {
        struct ns_frag_counters c = frag_ctr(n);
        assert_int_equal(c.sent, per_node[n]);
        assert_int_equal(c.received, per_node[1 - n]);
        assert_int_equal(c.reassembled, 1);
        assert_int_equal(c.duplicate + c.forged + c.out_of_range + c.overlapping + c.wrong_total,
                         0);
        assert_true(ike_net_one_sa(N->node[n].e).fragmentation);
    }
    ike_net_log_must_have(&N->net, "'erin@corp.example' authenticated by certificate");
    ike_net_log_must_have(&N->net, "put together from its fragments");
}

/* The client's request loses fragment 2 and the gateway's answer fragment
 * 3, each once: the client retransmits the same fragments (byte for byte),
 * the gateway completes the request with the missing one, counting the
 * others as duplicates, and answers; the next retransmission's fragment 1
 * makes it send the same answer fragments again, and the client is up. */
static void lost_fragments_retransmitted(void **state) /* X5 */
{
    (void)state;
    nodes(NULL, NULL);
    N->lose[1] = 2;
    N->lose[0] = 3;
    connect_run(10000);
    assert_up();
    assert_true(N->lost[0] && N->lost[1]);
    struct ns_ike_counters gw = ike_net_counters(N->node[0].e);
    struct ns_ike_counters cl = ike_net_counters(N->node[1].e);
    assert_int_equal(cl.retransmits, 2);
    assert_int_equal(gw.responses_resent, 1); /* fragment 1 of the second copy only */
    /* Each fragment of the request went three times, of the answer twice,
     * the same datagram each time. */
    for (int node = 0; node < 2; node++) {
        unsigned total = node ? frag_ctr(1).sent : frag_ctr(0).sent;
        for (uint16_t f = 1; f <= total; f++) {
            unsigned idx[4];
            unsigned n = sent_fragments(node, f, idx, 4);
            assert_int_equal(n, node ? 3 : 2);
            for (unsigned i = 1; i < n; i++) {
                assert_int_equal(N->auth[idx[i]].len, N->auth[idx[0]].len);
                assert_memory_equal(N->auth[idx[i]].data, N->auth[idx[0]].data,
                                    N->auth[idx[0]].len);
            }
        }
    }
    /* The gateway kept all but fragment 2 of the first copy; of the
     * second, fragment 1 was a duplicate and fragment 2 completed the
     * request; the rest of it, and all of the third copy but its fragment
     * 1, came for a request answered already and were ignored. The client
     * likewise: fragments 1 and 2 of the second answer were duplicates. */
    struct ns_frag_counters g = frag_ctr(0), c = frag_ctr(1);
    assert_int_equal(g.received, frag_ctr(1).sent);
    assert_int_equal(g.duplicate, 1);
    assert_int_equal(g.reassembled, 1);
    assert_int_equal(c.received, frag_ctr(0).sent);
    assert_int_equal(c.duplicate, 2);
    assert_int_equal(c.reassembled, 1);
}

/* A forged fragment 2 (its ICV changed) before the genuine one, each way:
 * dropped and counted, the exchange goes through at once. */
static void forged_fragment_dropped(void **state) /* X5 R15 */
{
    (void)state;
    nodes(NULL, NULL);
    N->forge[1] = 2;
    N->forge[0] = 2;
    connect_run(3000);
    assert_up();
    for (int n = 0; n < 2; n++) {
        assert_true(N->forged[n]);
        struct ns_ike_counters c = ike_net_counters(N->node[n].e);
        assert_int_equal(c.frag.forged, 1);
        assert_int_equal(c.dropped_unauth, 1);
        assert_int_equal(c.frag.reassembled, 1);
        assert_int_equal(c.retransmits, 0);
    }
}

/* A client with fragmentation = no offers nothing: the gateway does not
 * offer it back (RFC 7383 2.3) and both send IKE_AUTH whole, larger than
 * fragment_size (IP fragments on a real path). */
static void peer_without_fragmentation(void **state) /* X5 */
{
    (void)state;
    nodes(NULL, "fragmentation = no\n");
    connect_run(3000);
    assert_up();
    assert_false(N->init_notify[1]);
    assert_false(N->init_notify[0]);
    unsigned big = 0;
    for (unsigned i = 0; i < N->n_auth; i++) {
        assert_int_equal(frag_number(N->auth[i].data, N->auth[i].len), 0);
        big += N->auth[i].len > FRAG_MSG_MAX;
    }
    assert_int_equal(N->n_auth, 2);
    assert_int_equal(big, 2);
    for (int n = 0; n < 2; n++) {
        assert_int_equal(frag_ctr(n).sent, 0);
        assert_false(ike_net_one_sa(N->node[n].e).fragmentation);
    }
}

/* The gateway's answer loses fragment 2 every time: the client holds the
 * rest, gets them again with every retransmission (duplicates), and
 * abandons the reassembly at its deadline, 30 s after its first fragment,
 * through the engine's timer; the next copy starts another. */
static void reassembly_expires(void **state) /* X5 R15 */
{
    (void)state;
    N->cl_tries = 5; /* sends at 0, 1, 3, 7, 15 and 31 s */
    nodes(NULL, NULL);
    N->lose[0] = 2;
    N->lose_always = true;
    connect_run(29000);
    struct ns_frag_counters c = frag_ctr(1);
    assert_int_equal(c.expired, 0);
    assert_true(c.received >= 1);
    assert_true(c.duplicate >= 3); /* fragment 1 again at 1, 3, 7 and 15 s */
    ike_net_run_for(&N->net, 1500);
    assert_int_equal(frag_ctr(1).expired, 1);
    assert_int_equal(frag_ctr(1).reassembled, 0);
    assert_int_equal(ike_net_established(N->node[1].e), 0);
    ike_net_log_must_have(&N->net, "fragments of a response abandoned after 30 s");
}

/* The same through a path that drops IP fragments: the client gives up
 * and the gateway's half-open SA expires, each with a line that says
 * why. */
/* frank's chain: an RSA-4096 end entity naming 400 devices under three
 * RSA-4096 intermediates, 17.5 KB of DER (tests/fixtures/certs/make.sh):
 * more than fits a natsec peer's receive buffer whole (9216 bytes). In
 * fragments of 576 bytes it goes through; the gateway counts the
 * reassembly of the half-open SA while fragment 3 is missing, and holds
 * nothing once the retransmission completed it. */
static void big_chain_in_fragments(void **state) /* X5 X7 R15 */
{
    (void)state;
    N->cl_cert = "frank-big";
    N->cl_id = "frank@corp.example";
    nodes(NULL, NULL);
    N->lose[1] = 3;
    connect_run(500);
    struct ns_ike_counters g = ike_net_counters(N->node[0].e);
    assert_int_equal(g.frag_reassembling_half_open, 1);
    assert_int_equal(g.frag_reassembling, 1);
    assert_true(g.frag_held > 15000);
    ike_net_run_for(&N->net, 3000);
    assert_up();
    struct ns_frag_counters cl = frag_ctr(1), gw = frag_ctr(0);
    assert_true(cl.sent >= 38); /* 17.5 KB and the rest of IKE_AUTH, about 470 bytes each */
    assert_int_equal(gw.reassembled, 1);
    assert_int_equal(gw.busy + gw.too_big + gw.out_of_range + gw.forged, 0);
    for (unsigned i = 0; i < N->n_auth; i++)
        assert_true(N->auth[i].len <= FRAG_MSG_MAX);
    g = ike_net_counters(N->node[0].e);
    assert_int_equal(g.frag_reassembling, 0);
    assert_int_equal(g.frag_held, 0);
    ike_net_log_must_have(&N->net, "'frank@corp.example' authenticated by certificate");
}

static void ip_fragments_dropped_said(void **state) /* X5 */
{
    (void)state;
    nodes(NULL, "fragmentation = no\n");
    N->drop_big = true;
    connect_run(40000);
    assert_int_equal(ike_net_established(N->node[1].e), 0);
    assert_int_equal(ike_net_counters(N->node[0].e).half_open, 0);
    ike_net_log_must_have(&N->net, "no answer from 198.51.100.1:4500 to IKE_AUTH after 4 sends, "
                                   "giving up; it was ");
    ike_net_log_must_have(&N->net, "bytes, more than fragment_size 576 allows, and went as IP "
                                   "fragments without IKE fragmentation (fragmentation = no here)");
    ike_net_log_must_have(&N->net, "no IKE_AUTH came within 30 s of IKE_SA_INIT; without IKE "
                                   "fragmentation (the peer did not offer it in IKE_SA_INIT) an "
                                   "IKE_AUTH larger than the path MTU comes as IP fragments");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(fragmented_both_ways),
        T(lost_fragments_retransmitted),
        T(forged_fragment_dropped),
        T(peer_without_fragmentation),
        T(reassembly_expires),
        T(ip_fragments_dropped_said),
        T(big_chain_in_fragments),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
