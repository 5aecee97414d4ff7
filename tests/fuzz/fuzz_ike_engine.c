/* libFuzzer target for the IKEv2 SA engine (src/ike/engine.h): a gateway
 * engine and a client engine in this process, a tiny simulated network
 * (with an optional NAT in front of the client), fake monotonic time, and
 * the fuzzer's bytes as a script of things that happen to them.
 *
 * Input: byte 0 is the setup, the rest a sequence of operations.
 *
 *   setup: bits 0-1 how far the real handshake goes before the script:
 *            0 nothing (the client is not even connecting),
 *            1 the client's IKE_SA_INIT request is out,
 *            2 IKE_SA_INIT done both sides (gateway half-open, client with
 *              its IKE_AUTH request out),
 *            3 established, with the CHILD_SA;
 *          in 1 and 2 the link is then down and what was in flight is lost
 *          (it stays in the record, see MUTATE); bit 2 the client is behind
 *          a NAT; bits 3-4 the IKE suite (AES-GCM, AES-CBC + HMAC,
 *          ChaCha20-Poly1305, AES-GCM-256 with ECP-256); bit 5 the client
 *          forces UDP encapsulation; bit 6 transport mode on both sides;
 *          bit 7 the client is carol@ (the gateway's %default section)
 *          instead of alice@, and the gateway's pool has one address.
 *
 *   op byte: bits 0-2 the kind, bits 3-7 its flags f0..f4.
 *     0 RAW     u16 len, bytes: a datagram to the gateway (f0: to the
 *               client) on port 500 (f1: 4500), from the peer's endpoint
 *               (f2: from a stranger); f3: the SPIs are replaced by those
 *               of the target's newest IKE SA (a zero SPIr of a client's
 *               SA in IKE_SA_INIT is left as given) and the length field
 *               by the datagram's, so the fuzzer gets past the SA lookup
 *               to the state and message ID checks. f4 ("framed"): the
 *               bytes are exch, hflags, msg id (u8), 16 SPI bytes and a
 *               payload list (below), which the harness builds into a
 *               message, so IKE_SA_INIT answers (COOKIE, INVALID_KE, ...)
 *               and requests are well formed whatever the mutation.
 *               Framed from a stranger to the gateway, hflags bits 0-2
 *               (reserved in IKEv2) are the harness's and go out as 0:
 *               bits 0-1 pick the stranger among four (two IPv4 addresses,
 *               two addresses of one IPv6 /64), bit 2 returns a COOKIE
 *               the gateway answers with, as a real initiator does, so
 *               requests from several real sources reach the fair share
 *               of half-open SAs (X13).
 *     1 SEALED  sel, exch, hflags, mid, first, [u32 msg id], u16 len, chain:
 *               an SK message to the gateway's IKE SA number sel (f0: to
 *               the client's), sealed with that SA's real keys as its peer
 *               would seal it, so the ICV verifies and the inner payloads,
 *               the exchanges and the state machine run. exch: bit 7 set,
 *               the byte itself, else IKE_AUTH, INFORMATIONAL,
 *               CREATE_CHILD_SA, INFORMATIONAL by bits 0-1. hflags bit 0
 *               response, bit 1 a wrong I flag; with the splice (f3),
 *               bit 2 a wrong AUTH value, bit 3 a wrong identity (an
 *               impostor gateway, or a client asking for another IDr),
 *               bit 4 (to the gateway) the client is bob@, whose section
 *               says auth = pubkey: IDi, his certificate and an RFC 7427
 *               RSA signature made with his key (X7). mid bits 0-1: the ID the
 *               SA expects next, that minus one (a retransmission), plus
 *               mid >> 2, or the u32 that follows. first: the type of the
 *               chain's first payload. f1 port 4500, f2 from a stranger;
 *               f4: the chain is a payload list (below); f3 ("splice"):
 *               while the SA is in IKE_AUTH, the harness
 *               puts a valid IDi+AUTH (to the gateway) or IDr+AUTH (to
 *               the client) in front of the chain, computed with the real
 *               PSK and the SA's own IKE_SA_INIT messages and keys, so
 *               fuzzed SA, TS, CP and notify payloads reach the CHILD_SA
 *               negotiation, the pool and child_up.
 *     2 MUTATE  idx, n, n x (u16 offset, u8 xor), [port]: the idx-th
 *               datagram the engines sent so far (the real handshake
 *               first) again, with bytes flipped, to whom it was for (f0:
 *               from a stranger at port 4000 + the last byte; f1: the other
 *               port; f2: the last byte dropped).
 *     3 TIME    u16 ms (f0: x 256): time passes; the engines' timers
 *               (retransmission, half-open expiry, liveness, linger) run
 *               in order, and the network carries what they send.
 *     4 LINK    f0 toggles the link (down: nothing sent arrives), f1 drops
 *               what is in flight, f2 duplicates it, f3 reverses it.
 *     5 API     f0-f3 select, f4 a variant: connect; disconnect; ESP seen
 *               by the gateway's (u16 port, f4 from a stranger) or the
 *               client's data plane, as after a NAT rebinding; ESP
 *               activity (f4 on the client); NAT rebinding; SPI exhaustion;
 *               child_up refusal and child_usage failure (f4 on the
 *               client); natsecctl rekey of the CHILD_SAs or the IKE SA,
 *               on the gateway or the client (f4 of every SA); traffic
 *               (u16 x 64 bytes) through every CHILD_SA for the byte
 *               lifetime and the re-key's switch-over (f4 both ways);
 *               shutdown of the gateway (f4 the client) at the end.
 *     6, 7 NEXT the earliest deadline, exactly (timer boundaries).
 *   A payload list is records of type, flags, length (u8, or u16 when
 *   flags bit 1 is set) and that many body bytes; flags bit 0 sets the
 *   critical bit. The harness writes the generic headers, so mutations of
 *   a body never break the chain around it.
 *   After every operation the network delivers what is in flight.
 *   An input has a budget of INPUT_BUDGET (256): one for each operation,
 *   datagram delivered and timer run. It ends where the budget runs out,
 *   in the middle of a TIME or NEXT too: a longer script only repeats
 *   what shorter ones reach (liveness checks and re-keys for hours of
 *   simulated time, up to 2 s of CPU an input). The seeds spend far less:
 *   about 100 at most (lifetimes; the seed writer prints each one's).
 *
 * Checked on every input, besides the sanitizers: the ops contract of
 * engine.h (every reserved SPI released exactly once and never while its
 * CHILD_SA is installed; child_up with a reserved SPI; child_down only
 * for an installed CHILD_SA, and all of them down when the engine is
 * freed; client_down exactly once per successful connect, and connect
 * refused while connected); what the engines send parses, carries the
 * marker exactly on the NAT-T port and the right I flag; responses go
 * exactly where their request came from (R4) and only while a request is
 * being handled; set_wakeup always tells the current earliest deadline,
 * and a tick leaves nothing due; distinct virtual IPs (R6); half-open
 * SAs within half_open_max (R15), and the gateway's count of them per
 * source consistent after every operation (X13).
 *
 * Determinism: OpenSSL's RAND is replaced by a counter-mode stream
 * restarted for every input, so SPIs, nonces, DH keys, IVs and the hash
 * keys are the same on every run of an input, and so is everything else.
 * The handshake of a setup therefore runs once; later inputs start from a
 * copy of its result (world_setup). And src/crypto's memo (fuzz builds
 * only, crypto/fuzz_memo.h) hands back the DH key pairs and secrets, PRF
 * outputs, signatures and keyed cipher contexts it made before for the
 * same inputs and state of the stream, instead of OpenSSL making them
 * again (FUZZ_IKE_ENGINE_NO_MEMO=1 turns it off).
 *
 * The seed corpus in tests/fuzz/corpus/ike_engine/ is written by this file
 * compiled as a program, which also runs every seed, from a copy of the
 * handshake with the memo on and from the handshake itself with it off,
 * checks that both send the same, and prints what it did (with a hash of
 * all that was sent: the same on every run). CTest runs it as
 * fuzz.ike_engine_seeds; to write the corpus:
 *   cmake --build build/clang-san --target fuzz_ike_engine_seeds &&
 *   build/clang-san/tests/fuzz/fuzz_ike_engine_seeds tests/fuzz/corpus/ike_engine
 * A finding replays with its log on stderr (FUZZ_IKE_ENGINE_NO_SNAPSHOT=1:
 * with the handshake run for it):
 *   FUZZ_IKE_ENGINE_LOG=1 build/clang-san/tests/fuzz/fuzz_ike_engine <file> */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: see rng_* */
#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "crypto/fuzz_memo.h"
#include "crypto/pubkey.h"
#include "crypto/x509.h"
#include "esp/spi.h"
#include "ike/auth.h"
#include "ike/engine.h"
/* Use of the engine's internals: the keys, nonces and IKE_SA_INIT
 * messages of an IKE SA, which a real peer has too, to seal messages as
 * that peer (read only); and in a copy of the handshake, the SK ciphers,
 * keyed again by the engine's own functions (world_setup). */
#include "ike/ike_sa.h"
#include "ike/msg.h"
#include "ike/proposal_select.h"
#include "util/log.h"

#include "heap_snapshot.h"

#define GW_ADDR "198.51.100.1"
#define CL_ADDR "203.0.113.20"  /* the client without a NAT */
#define CL_PRIV "192.168.1.10"  /* ... and behind one */
#define NAT_PUB "203.0.113.5"   /* the NAT's public address */
#define STRANGER "203.0.113.99" /* anyone else on the Internet */
#define T0 1000000u
#define MAX_REC 48       /* datagrams kept for MUTATE */
#define QLEN 64          /* datagrams in flight */
#define MAX_SPIS 256     /* reserved SPIs one engine may hold */
#define MAX_CHILDREN 64  /* installed CHILD_SAs one engine may hold */
#define MAX_IDS 16       /* IKE SAs of one engine the script can name */
#define PUMP_BUDGET 256  /* deliveries per operation */
#define MAX_REQ_TRACK 64 /* IKE SAs whose request message IDs are followed */
#define TIME_STEPS 256   /* timer rounds per TIME operation */
#define INPUT_BUDGET 256 /* operations, deliveries and timer runs per input */
#define GW_SPI_BASE 0x60000000u
#define CL_SPI_BASE 0xc0000000u

enum { GW = 0, CL = 1 };

/* The harness's own plumbing and checks: no coverage instrumentation, so
 * they give the fuzzer no features and cost no traced comparisons (what
 * they call of the engines is instrumented as usual). */
#define BOOKKEEPING __attribute__((no_sanitize("coverage")))

/* ---- deterministic randomness ---- */

/* A splitmix64 stream restarted for every input: not random at all, which
 * is what a reproducible fuzzer wants; the engine only needs the values
 * to be unique where it checks (SPIs), which it does itself. */
static uint64_t rng_state;

BOOKKEEPING static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

BOOKKEEPING static int rng_bytes(unsigned char *buf, int num)
{
    for (int i = 0; i < num; i += 8) {
        uint64_t v = rng_next();
        for (int k = 0; k < 8 && i + k < num; k++)
            buf[i + k] = (unsigned char)(v >> (8 * k));
    }
    return 1;
}

static int rng_status(void)
{
    return 1;
}

static const RAND_METHOD rng_method = {
    .bytes = rng_bytes, .pseudorand = rng_bytes, .status = rng_status};

/* The stream as src/crypto's memo sees it (fuzz_memo.h). */
static size_t rng_get(uint8_t state[NS_FUZZ_RNG_MAX])
{
    memcpy(state, &rng_state, sizeof(rng_state));
    return sizeof(rng_state);
}

static void rng_set(const uint8_t *state, size_t len)
{
    if (len == sizeof(rng_state))
        memcpy(&rng_state, state, len);
}

static const struct ns_fuzz_rng memo_rng = {.get = rng_get, .set = rng_set};

/* ---- the world ---- */

struct host {
    struct ns_ike_engine *e;
    const struct ns_conf *conf;
    uint32_t spi_base, spi_count;
    uint32_t spis[MAX_SPIS]; /* reserved and not released */
    unsigned n_spis;
    struct {
        uint32_t in, out;
        bool out_up; /* false: only the inbound half (child_in_up) */
        struct ns_ike_child_usage use;
    } child[MAX_CHILDREN]; /* installed */
    unsigned n_child;
    bool split; /* the ops have child_in_up/child_out_up */
    bool spi_fail, refuse_child, usage_fail;
    unsigned connects, client_downs, client_ups;
    uint64_t wakeup; /* as last told by set_wakeup */
    uint64_t ids[MAX_IDS];
    unsigned n_ids;
};

struct rec {
    int from;                    /* GW or CL */
    struct ns_endpoint src, dst; /* as sent, before the NAT */
    uint8_t data[NS_IKE_BUF];
    size_t len;
};

struct pkt {
    int to;
    struct ns_endpoint local, remote; /* as the receiver sees them */
    uint8_t data[NS_IKE_BUF];
    size_t len;
};

struct world {
    struct host h[2];
    uint64_t now;
    bool nat;
    uint16_t nat_base; /* public port = nat_base + private port */
    struct ns_addr gw, cl, nat_pub, stranger;
    struct ns_addr strangers[4]; /* framed requests' sources (RAW f4 from a stranger) */
    /* The last COOKIE the gateway asked for, to return it (RAW f4). */
    uint8_t cookie[NS_IKE_MAX_COOKIE];
    size_t cookie_len;
    bool link_up;
    unsigned qn, n_rec; /* in q, rec (below) */
    /* The datagram an engine is handling now (R4 check). */
    int delivering;   /* GW, CL, or -1 */
    bool tampered;    /* it is not a real message byte for byte (RAW, edited MUTATE) */
    uint64_t qcd_accepted; /* the receiver's crash answers taken before it */
    bool shutdown[2]; /* end with ns_ike_engine_shutdown before the free */
    unsigned spent;   /* of INPUT_BUDGET, by the script so far */
    struct ns_endpoint cur_local, cur_remote;
    struct ns_ike_header cur_hdr; /* its header (zero when it has none) */
    /* The last request each engine sent on each IKE SA (by SPIs). */
    struct {
        int from;
        uint64_t spi_i, spi_r;
        uint32_t id;
        uint64_t hash;
    } req[MAX_REQ_TRACK];
    unsigned n_req;
    /* The big buffers last: a copy of the handshake (snap_take) keeps what
     * is above and only the used part of these. */
    struct pkt q[QLEN];
    struct rec rec[MAX_REC];
};

static struct world W;

/* Copies of a datagram in flight or recorded: the used bytes of its
 * buffer only (NS_IKE_BUF each, mostly unused). */
BOOKKEEPING static void pkt_copy(struct pkt *d, const struct pkt *s)
{
    memcpy(d, s, offsetof(struct pkt, data) + s->len);
    d->len = s->len;
}

BOOKKEEPING static void rec_copy(struct rec *d, const struct rec *s)
{
    memcpy(d, s, offsetof(struct rec, data) + s->len);
    d->len = s->len;
}

/* Takes the first datagram in flight off the queue, into p. */
BOOKKEEPING static void dequeue(struct pkt *p)
{
    pkt_copy(p, &W.q[0]);
    for (unsigned i = 1; i < W.qn; i++)
        pkt_copy(&W.q[i - 1], &W.q[i]);
    W.qn--;
}

BOOKKEEPING static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_ike_engine: invariant broken: %s\n", what);
        abort();
    }
}

static struct ns_addr addr_of(const char *s)
{
    struct ns_addr a;
    if (ns_addr_parse(&a, s) != 0)
        abort();
    return a;
}

static struct ns_endpoint ep(struct ns_addr a, uint16_t port)
{
    return (struct ns_endpoint){.addr = a, .port = port};
}

/* The client's own address (private behind the NAT). */
static struct ns_addr client_addr(void)
{
    return W.nat ? addr_of(CL_PRIV) : W.cl;
}

/* Where a datagram sent by `from` from src to dst arrives, as the
 * receiver sees it; -1 when it reaches neither engine. */
BOOKKEEPING static int route(int from, const struct ns_endpoint *src, const struct ns_endpoint *dst,
                             struct ns_endpoint *local, struct ns_endpoint *remote)
{
    if (from == CL) {
        if (!ns_addr_equal(&dst->addr, &W.gw) || (dst->port != 500 && dst->port != 4500))
            return -1;
        *local = *dst;
        *remote = *src;
        if (W.nat)
            *remote = ep(W.nat_pub, (uint16_t)(W.nat_base + src->port));
        return GW;
    }
    uint16_t port = dst->port;
    if (W.nat) {
        if (!ns_addr_equal(&dst->addr, &W.nat_pub))
            return -1;
        port = (uint16_t)(dst->port - W.nat_base);
    } else if (!ns_addr_equal(&dst->addr, &W.cl)) {
        return -1;
    }
    if (port != 500 && port != 4500)
        return -1;
    *local = ep(client_addr(), port);
    *remote = *src;
    return CL;
}

BOOKKEEPING static void enqueue(int to, const struct ns_endpoint *local,
                                const struct ns_endpoint *remote, const uint8_t *msg, size_t len)
{
    if (W.qn == QLEN || len > NS_IKE_BUF)
        return; /* a full network loses packets */
    struct pkt *p = &W.q[W.qn++];
    p->to = to;
    p->local = *local;
    p->remote = *remote;
    memcpy(p->data, msg, len);
    p->len = len;
}

BOOKKEEPING static void check_wakeup(int i)
{
    struct host *h = &W.h[i];
    check(h->wakeup == ns_ike_engine_next_wakeup(h->e), "set_wakeup tells the earliest deadline");
}

/* Hands one datagram to an engine. */
BOOKKEEPING static void deliver(int to, const struct ns_endpoint *local,
                                const struct ns_endpoint *remote, uint8_t *msg, size_t len)
{
    W.delivering = to;
    W.spent++;
    W.cur_local = *local;
    W.cur_remote = *remote;
    memset(&W.cur_hdr, 0, sizeof(W.cur_hdr));
    if (len >= NS_IKE_HEADER_LEN) {
        W.cur_hdr.spi_i = (uint64_t)ns_get_u32(msg) << 32 | ns_get_u32(msg + 4);
        W.cur_hdr.exchange = msg[18];
        W.cur_hdr.msg_id = ns_get_u32(msg + 20);
    }
    if (W.tampered) {
        struct ns_ike_counters ctr;
        ns_ike_engine_counters(W.h[to].e, &ctr);
        W.qcd_accepted = ctr.qcd_replies_accepted;
    }
    ns_ike_engine_input(W.h[to].e, local, remote, msg, len, W.now);
    W.delivering = -1;
    check_wakeup(to);
}

BOOKKEEPING static void pump(void)
{
    static struct pkt p;
    for (unsigned n = 0; W.qn && n < PUMP_BUDGET; n++) {
        dequeue(&p);
        deliver(p.to, &p.local, &p.remote, p.data, p.len);
    }
}

/* ---- ops ---- */

BOOKKEEPING static int host_index(const struct host *h)
{
    return h == &W.h[GW] ? GW : CL;
}

BOOKKEEPING static void note_id(struct host *h, uint64_t id)
{
    for (unsigned i = 0; i < h->n_ids; i++)
        if (h->ids[i] == id)
            return;
    if (id && h->n_ids < MAX_IDS)
        h->ids[h->n_ids++] = id;
}

/* 2.1, 2.2: a request goes out again byte for byte, or a new one has the
 * next message ID (window size 1). IKE_SA_INIT is left out: it is repeated
 * with ID 0 and new contents after a COOKIE or INVALID_KE. */
BOOKKEEPING static void check_request_id(int from, const struct ns_ike_header *hd,
                                         const uint8_t *msg, size_t len)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ msg[i]) * 0x100000001b3ull;
    for (unsigned i = 0; i < W.n_req; i++) {
        if (W.req[i].from != from || W.req[i].spi_i != hd->spi_i || W.req[i].spi_r != hd->spi_r)
            continue;
        if (hd->msg_id == W.req[i].id)
            check(hash == W.req[i].hash, "a request's message ID is not reused");
        else
            check(hd->msg_id == W.req[i].id + 1, "request message IDs go up by one");
        W.req[i].id = hd->msg_id;
        W.req[i].hash = hash;
        return;
    }
    if (W.n_req < MAX_REQ_TRACK) {
        W.req[W.n_req].from = from;
        W.req[W.n_req].spi_i = hd->spi_i;
        W.req[W.n_req].spi_r = hd->spi_r;
        W.req[W.n_req].id = hd->msg_id;
        W.req[W.n_req++].hash = hash;
    }
}

BOOKKEEPING static void ops_send(void *ctx, const struct ns_endpoint *local,
                                 const struct ns_endpoint *remote, const uint8_t *msg, size_t len,
                                 bool marker)
{
    struct host *h = ctx;
    int from = host_index(h);
    struct ns_ike_header hd;
    static struct ns_ike_payloads pl;
    check(len <= NS_IKE_BUF, "a message within the engine's buffer");
    check(ns_ike_parse_message(msg, len, &hd, &pl) == NS_IKE_OK, "what an engine sends parses");
    check(marker == (local->port == h->conf->natt_port), "the marker exactly on the NAT-T port");
    /* The client is the original initiator of every IKE SA it makes; after
     * an IKE SA re-key the side that re-keyed is (3.1), so the I flag is
     * checked only where there has been none. */
    if (hd.exchange == NS_IKE_SA_INIT || hd.exchange == NS_IKE_AUTH)
        check(!!(hd.flags & NS_IKE_FLAG_INITIATOR) == (from == CL),
              "the I flag names the initiator");
    if (hd.flags & NS_IKE_FLAG_RESPONSE) {
        /* R4: a response goes exactly back where its request came from,
         * and there is no response without a request. */
        check(W.delivering == from, "a response only while handling a request");
        check(ns_endpoint_equal(local, &W.cur_local) && ns_endpoint_equal(remote, &W.cur_remote),
              "a response goes back where the request came from");
        /* 2.2: it answers the request in hand: its exchange, its ID. */
        check(hd.exchange == W.cur_hdr.exchange && hd.msg_id == W.cur_hdr.msg_id &&
                  hd.spi_i == W.cur_hdr.spi_i,
              "a response carries its request's exchange, message ID and SPIi");
    } else if (hd.exchange != NS_IKE_SA_INIT) {
        check_request_id(from, &hd, msg, len);
    }
    if (hd.exchange == NS_IKE_SA_INIT)
        note_id(h, from == GW ? hd.spi_r : hd.spi_i);
    const struct ns_ike_payload *cp = ns_ike_find_notify(&pl, NS_N_COOKIE);
    struct ns_ike_notify cn;
    if (from == GW && hd.exchange == NS_IKE_SA_INIT && (hd.flags & NS_IKE_FLAG_RESPONSE) && cp &&
        ns_ike_parse_notify(cp, &cn) == NS_IKE_OK && cn.len <= sizeof(W.cookie)) {
        memcpy(W.cookie, cn.data, cn.len);
        W.cookie_len = cn.len;
    }
    if (W.n_rec < MAX_REC) {
        struct rec *r = &W.rec[W.n_rec++];
        r->from = from;
        r->src = *local;
        r->dst = *remote;
        memcpy(r->data, msg, len);
        r->len = len;
    }
    if (!W.link_up)
        return;
    struct ns_endpoint l, rm;
    int to = route(from, local, remote, &l, &rm);
    if (to >= 0)
        enqueue(to, &l, &rm, msg, len);
}

static void ops_set_wakeup(void *ctx, uint64_t when)
{
    ((struct host *)ctx)->wakeup = when;
}

BOOKKEEPING static int find_spi(const struct host *h, uint32_t spi)
{
    for (unsigned i = 0; i < h->n_spis; i++)
        if (h->spis[i] == spi)
            return (int)i;
    return -1;
}

BOOKKEEPING static int find_child(const struct host *h, uint32_t in)
{
    for (unsigned i = 0; i < h->n_child; i++)
        if (h->child[i].in == in)
            return (int)i;
    return -1;
}

static uint32_t ops_alloc_spi(void *ctx)
{
    struct host *h = ctx;
    if (h->spi_fail || h->n_spis == MAX_SPIS)
        return 0;
    uint32_t spi = h->spi_base + ++h->spi_count;
    h->spis[h->n_spis++] = spi;
    return spi;
}

static void ops_release_spi(void *ctx, uint32_t spi)
{
    struct host *h = ctx;
    int i = find_spi(h, spi);
    check(i >= 0, "release_spi of a reserved SPI, once");
    check(find_child(h, spi) < 0, "no release_spi while its CHILD_SA is installed");
    h->spis[i] = h->spis[--h->n_spis];
}

/* R15: a datagram that is no real message (a fuzzed one, or a real one
 * with bytes changed) can pass no SK check, so it changes no CHILD_SA and
 * moves no SA. (Unprotected IKE_SA_INIT may still fail a connect.) */
static void check_authenticated(const char *what)
{
    check(!W.tampered, what);
}

/* The same for a CHILD_SA's end, but for one exception: a crash answer
 * (RFC 6290) is unprotected and proven by its token, which the engine
 * checks, so a copy that differs only where the receiver must ignore the
 * bytes (RESERVED bits, the critical flag of a known payload, RFC 7296
 * 3.2) ends the SA as the answer does. */
static void check_authenticated_or_crash_answer(const char *what)
{
    if (!W.tampered || W.delivering < 0)
        return;
    struct ns_ike_counters ctr;
    ns_ike_engine_counters(W.h[W.delivering].e, &ctr);
    check(ctr.qcd_replies_accepted > W.qcd_accepted, what);
}

static int ops_child_up(void *ctx, const struct ns_esp_sa_spec *in,
                        const struct ns_esp_sa_spec *out)
{
    struct host *h = ctx;
    check_authenticated("no child_up from an unauthenticated datagram (R15)");
    check(in->dir == NS_ESP_INBOUND && out->dir == NS_ESP_OUTBOUND, "child_up directions");
    check(in->paired_spi == out->spi && out->paired_spi == in->spi, "child_up pairs the SPIs");
    check(find_spi(h, in->spi) >= 0, "child_up with a reserved inbound SPI");
    check(find_child(h, in->spi) < 0, "child_up once per inbound SPI");
    check(in->encr_key_len <= sizeof(in->encr_key) && in->integ_key_len <= sizeof(in->integ_key),
          "child key lengths");
    /* The SAD refuses reserved SPIs (a peer's 0..255) like this. */
    if (h->refuse_child || h->n_child == MAX_CHILDREN || out->spi < NS_SPI_MIN)
        return -1;
    memset(&h->child[h->n_child], 0, sizeof(h->child[0]));
    h->child[h->n_child].in = in->spi;
    h->child[h->n_child].out = out->spi;
    h->child[h->n_child++].out_up = true;
    return 0;
}

static int ops_child_in_up(void *ctx, const struct ns_esp_sa_spec *in)
{
    struct host *h = ctx;
    check_authenticated("no child_in_up from an unauthenticated datagram (R15)");
    check(h->split, "child_in_up only when given");
    check(in->dir == NS_ESP_INBOUND, "child_in_up direction");
    check(find_spi(h, in->spi) >= 0, "child_in_up with a reserved inbound SPI");
    check(find_child(h, in->spi) < 0, "child_in_up once per inbound SPI");
    if (h->refuse_child || h->n_child == MAX_CHILDREN)
        return -1;
    memset(&h->child[h->n_child], 0, sizeof(h->child[0]));
    h->child[h->n_child++].in = in->spi;
    return 0;
}

static int ops_child_out_up(void *ctx, const struct ns_esp_sa_spec *in,
                            const struct ns_esp_sa_spec *out)
{
    struct host *h = ctx;
    check_authenticated("no child_out_up from an unauthenticated datagram (R15)");
    int i = find_child(h, in->spi);
    check(i >= 0 && !h->child[i].out_up, "child_out_up after child_in_up, once");
    check(out->dir == NS_ESP_OUTBOUND && out->paired_spi == in->spi && in->paired_spi == out->spi,
          "child_out_up pairs the SPIs");
    if (h->refuse_child || out->spi < NS_SPI_MIN)
        return -1;
    h->child[i].out = out->spi;
    h->child[i].out_up = true;
    return 0;
}

static int ops_child_usage(void *ctx, uint64_t id, uint32_t in_spi, uint32_t out_spi,
                           struct ns_ike_child_usage *out)
{
    struct host *h = ctx;
    (void)id;
    (void)out_spi;
    int i = find_child(h, in_spi);
    check(i >= 0, "child_usage of an installed CHILD_SA");
    if (h->usage_fail)
        return -1;
    *out = h->child[i].use;
    return 0;
}

static void ops_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    struct host *h = ctx;
    check_authenticated_or_crash_answer("no child_down from an unauthenticated datagram (R15)");
    int i = find_child(h, in_spi);
    check(i >= 0 && (!h->child[i].out_up || h->child[i].out == out_spi),
          "child_down of an installed CHILD_SA");
    h->child[i] = h->child[--h->n_child];
}

static void ops_peer_moved(void *ctx, uint64_t id, const struct ns_endpoint *local,
                           const struct ns_endpoint *peer)
{
    (void)ctx;
    (void)id;
    check_authenticated("no move after an unauthenticated datagram (R4, R15)");
    check(local->port && peer->port, "peer_moved to real endpoints");
}

static void ops_client_up(void *ctx, uint64_t id, const struct ns_addr *vip,
                          const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n,
                          const struct ns_addr *dns, unsigned n_dns)
{
    (void)vip6;
    struct host *h = ctx;
    (void)id;
    (void)remote;
    (void)dns;
    check(host_index(h) == CL, "client_up on the client");
    check_authenticated("no client_up from an unauthenticated datagram (R15)");
    /* No virtual IP (family 0) in transport mode: host to host. */
    check((vip->family == AF_INET || vip->family == 0) && n <= NS_SA_MAX_TS &&
              n_dns <= NS_CONF_MAX_DNS,
          "client_up arguments");
    check(h->n_child > 0, "client_up after child_up");
    h->client_ups++;
}

static void ops_client_down(void *ctx, enum ns_ike_down_reason why)
{
    struct host *h = ctx;
    check(ns_ike_down_reason_str(why) != NULL, "a down reason");
    h->client_downs++;
    check(h->client_downs <= h->connects, "client_down once per connect");
}

/* ---- configurations ---- */

static const char *const suites[4] = {
    "aes128gcm16-prfsha256-x25519",
    "aes256-sha256-x25519",
    "chacha20poly1305-prfsha512-x25519",
    "aes256gcm16-prfsha384-ecp256",
};

/* A second client proposal the gateway does not accept, with another DH
 * group: only a forged INVALID_KE_PAYLOAD makes the client use it. */
static const char *const other_group[4] = {
    "aes128-sha512-ecp256",
    "aes128-sha512-ecp256",
    "aes128-sha512-ecp256",
    "aes128-sha512-x25519",
};

/* Short timers and small limits so that a few script steps reach them:
 * a /29 pool (5 clients; a /30 of one client with carol, so that a second
 * IKE SA finds it exhausted), cookies from 3 half-open SAs, at most 6, the
 * short lifetimes in time and bytes (re-keys), PFS on re-keys with the
 * ChaCha20 suite's client. */
static const char gw_fmt[] =
    "[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
    "ike_proposals = %s, %s, %s, %s\n"
    "esp_proposals = aes128gcm16, aes256-sha256, chacha20poly1305, null-sha256, "
    "aes128gcm16-x25519\n"
    "pool = %s\ndns = 192.0.2.53, 192.0.2.54\n"
    "retransmit_timeout = 0.5\nretransmit_tries = 2\ndpd = 5\n"
    "half_open_max = 6\ncookie_threshold = 3\n"
    "ike_lifetime = 40\nchild_lifetime = 20\nchild_lifetime_bytes = 1000000\n"
    "%s"
    "[peer alice@corp.example]\npsk = alice-secret-0123456789\n"
    "subnets = 192.0.2.0/24, 198.18.0.0/16\n%s"
    "[peer bob@corp.example]\nauth = pubkey\nsubnets = 192.0.2.0/24\n%s"
    "[peer %%default]\npsk = common-secret-0123456789\nsubnets = 192.0.2.80/32\n%s";

/* tests/fixtures, absolute from CMake (tests/fuzz/CMakeLists.txt), so the
 * target runs from any folder; the seed writer runs from the top of the
 * tree. (Not this file's __FILE__: ccache with CCACHE_BASEDIR makes it
 * relative to the build folder.) */
#ifndef FUZZ_FIXTURES_DIR
#define FUZZ_FIXTURES_DIR "tests/fixtures"
#endif

/* tests/fixtures/certs/NAME. */
static const char *fixture(const char *name)
{
    static char slots[4][1024];
    static unsigned next;
    char *s = slots[next++ % 4];
    snprintf(s, sizeof(slots[0]), "%s/certs/%s", FUZZ_FIXTURES_DIR, name);
    return s;
}

/* bob's certificate and key, to sign as bob (hflags bit 4). */
static struct ns_x509_creds *bob_creds;

static const char cl_fmt[] = "[natsecd]\nrole = client\nlocal_id = %s\ngateway = " GW_ADDR "\n"
                             "remote_id = vpn.corp.example\nike_proposals = %s, %s\n"
                             "retransmit_timeout = 0.5\nretransmit_tries = 2\ndpd = 5\n"
                             "force_encap = %s\nike_lifetime = 40\nchild_lifetime = 20\n"
                             "child_lifetime_bytes = 1000000\n%s"
                             "[peer vpn.corp.example]\npsk = %s\nsubnets = %s\n%s";

/* Indexed by the setup bits that matter to each role. */
static struct ns_conf gw_conf[4];  /* bits 6-7 */
static struct ns_conf cl_conf[32]; /* bits 3-7 */
static bool gw_loaded[4], cl_loaded[32];

static void load(const char *text, const char *name, struct ns_conf *c)
{
    char err[512];
    if (ns_conf_load_string(text, name, c, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_ike_engine: %s\n", err);
        abort();
    }
    /* Quick crash detection (RFC 6290) on both sides: tokens in IKE_AUTH
     * and IKE re-keys, crash answers, and the client's check of them. */
    memset(c->qcd_secret, name[0], sizeof(c->qcd_secret));
    c->qcd_secret_set = true;
}

static const struct ns_conf *gateway_conf(unsigned setup)
{
    unsigned k = (setup >> 6) & 3;
    if (!gw_loaded[k]) {
        char text[8192], certs[3200];
        const char *mode = (k & 1) ? "mode = transport\n" : "";
        snprintf(certs, sizeof(certs), "cert = %s\nkey = %s\nca = %s\n", fixture("gw-ecdsa.pem"),
                 fixture("gw-ecdsa.key"), fixture("ca.pem"));
        snprintf(text, sizeof(text), gw_fmt, suites[0], suites[1], suites[2], suites[3],
                 (k & 2) ? "10.99.0.0/30" : "10.99.0.0/29", certs, mode, mode, mode);
        load(text, "gateway.conf", &gw_conf[k]);
        gw_loaded[k] = true;
    }
    return &gw_conf[k];
}

static const struct ns_conf *client_conf(unsigned setup)
{
    unsigned k = (setup >> 3) & 31;
    if (!cl_loaded[k]) {
        char text[2048];
        bool carol = setup & 0x80;
        snprintf(
            text, sizeof(text), cl_fmt, carol ? "carol@corp.example" : "alice@corp.example",
            suites[(setup >> 3) & 3], other_group[(setup >> 3) & 3], (setup & 0x20) ? "yes" : "no",
            ((setup >> 3) & 3) == 2 ? "esp_proposals = aes128gcm16-x25519\n" : "",
            carol ? "common-secret-0123456789" : "alice-secret-0123456789",
            carol ? "192.0.2.80/32" : "192.0.2.0/24", (setup & 0x40) ? "mode = transport\n" : "");
        load(text, "client.conf", &cl_conf[k]);
        cl_loaded[k] = true;
    }
    return &cl_conf[k];
}

/* ---- input reading ---- */

struct in {
    const uint8_t *p;
    size_t n;
};

static uint8_t u8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint16_t u16(struct in *in)
{
    uint16_t lo = u8(in);
    return (uint16_t)(lo | u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
    uint32_t lo = u16(in);
    return lo | (uint32_t)u16(in) << 16;
}

/* Up to len bytes (fewer when the input ends). */
static const uint8_t *bytes(struct in *in, size_t *len)
{
    if (*len > in->n)
        *len = in->n;
    const uint8_t *p = in->p;
    in->p += *len;
    in->n -= *len;
    return p;
}

/* ---- the operations ---- */

/* The endpoint a message from the peer of `to` comes from. */
static struct ns_endpoint peer_endpoint(int to, bool natt, bool stranger, uint16_t sport)
{
    uint16_t port = natt ? 4500 : 500;
    if (stranger)
        return ep(W.stranger, sport ? sport : 7777);
    if (to == CL)
        return ep(W.gw, port);
    return W.nat ? ep(W.nat_pub, (uint16_t)(W.nat_base + port)) : ep(W.cl, port);
}

static struct ns_endpoint own_endpoint(int to, bool natt)
{
    uint16_t port = natt ? 4500 : 500;
    return to == GW ? ep(W.gw, port) : ep(client_addr(), port);
}

/* The IKE SA an id names now: after an IKE SA re-key the new one, which
 * keeps the data-plane id (engine.h), else the SA with that SPI. */
static struct ns_ikesa *sa_by_id(int to, uint64_t id)
{
    struct ns_ikesa *sa = ns_eng_find_ike_sa_id(W.h[to].e, id);
    return sa ? sa : ns_eng_find_id(W.h[to].e, id);
}

static struct ns_ikesa *target_sa(int to, unsigned sel)
{
    struct host *h = &W.h[to];
    return h->n_ids ? sa_by_id(to, h->ids[sel % h->n_ids]) : NULL;
}

/* A payload list (see the top) into the builder. */
static void add_payload_list(struct ns_ike_builder *b, struct in *in)
{
    while (in->n >= 3) {
        uint8_t type = u8(in), fl = u8(in);
        size_t len = (fl & 2) ? u16(in) : u8(in);
        const uint8_t *body = bytes(in, &len);
        ns_ike_build_open(b, type, fl & 1);
        ns_write_bytes(&b->w, body, len);
        ns_ike_build_close(b);
    }
}

/* The SA whose SPIs a RAW operation borrows: the target's newest. */
static struct ns_ikesa *newest_sa(int to)
{
    struct host *h = &W.h[to];
    return h->n_ids ? sa_by_id(to, h->ids[h->n_ids - 1]) : NULL;
}

static void patch_spis(uint8_t *msg, int to)
{
    struct ns_ikesa *sa = newest_sa(to);
    if (!sa)
        return;
    ns_put_u32(msg, (uint32_t)(sa->spi_i >> 32));
    ns_put_u32(msg + 4, (uint32_t)sa->spi_i);
    if (sa->spi_r) {
        ns_put_u32(msg + 8, (uint32_t)(sa->spi_r >> 32));
        ns_put_u32(msg + 12, (uint32_t)sa->spi_r);
    }
}

/* RAW with f4: a message framed by the harness, with cookie (cookie_len
 * bytes, unless NULL) in front as a COOKIE notify. With ctl, hflags bits
 * 0-2 are the harness's: they go there and out of the header. */
static size_t framed_message(struct in *in, unsigned f, int to, uint8_t *msg, size_t cap,
                             uint8_t *ctl, const uint8_t *cookie, size_t cookie_len)
{
    uint8_t spis[16];
    struct ns_ike_header h = {.version = NS_IKE_VERSION};
    h.exchange = u8(in);
    h.flags = u8(in);
    if (ctl) {
        *ctl = h.flags & 7;
        h.flags &= (uint8_t)~7u;
    }
    h.msg_id = u8(in);
    for (size_t i = 0; i < sizeof(spis); i++)
        spis[i] = u8(in);
    if (f & 8)
        patch_spis(spis, to);
    h.spi_i = (uint64_t)ns_get_u32(spis) << 32 | ns_get_u32(spis + 4);
    h.spi_r = (uint64_t)ns_get_u32(spis + 8) << 32 | ns_get_u32(spis + 12);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, msg, cap, &h);
    if (cookie)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE, cookie, cookie_len);
    add_payload_list(&b, in);
    int n = ns_ike_build_finish(&b);
    return n > 0 ? (size_t)n : 0;
}

static void op_raw(struct in *in, unsigned f)
{
    static uint8_t msg[NS_IKE_BUF];
    int to = (f & 1) ? CL : GW;
    size_t len, n = 0;
    const uint8_t *p = NULL;
    /* A framed request from a stranger to the gateway: hflags bits 0-2 say
     * which stranger, and whether it returns a COOKIE (see the top). */
    uint8_t ctl = 0;
    bool ctl_bits = (f & 16) && (f & 4) && to == GW;
    if (f & 16) {
        n = u16(in);
        p = bytes(in, &n);
        struct in sub = {p, n};
        len = framed_message(&sub, f, to, msg, sizeof(msg), ctl_bits ? &ctl : NULL, NULL, 0);
        if (!len)
            return;
    } else {
        len = u16(in) % (NS_IKE_BUF + 1);
        const uint8_t *p = bytes(in, &len);
        memcpy(msg, p, len);
        if ((f & 8) && len >= NS_IKE_HEADER_LEN) {
            patch_spis(msg, to);
            ns_put_u32(msg + 24, (uint32_t)len);
        }
    }
    struct ns_endpoint local = own_endpoint(to, f & 2);
    struct ns_endpoint remote = peer_endpoint(to, f & 2, f & 4, 0);
    if (ctl_bits)
        remote.addr = W.strangers[ctl & 3];
    W.tampered = true;
    W.cookie_len = 0;
    deliver(to, &local, &remote, msg, len);
    if ((ctl & 4) && W.cookie_len) {
        struct in sub = {p, n};
        len = framed_message(&sub, f, to, msg, sizeof(msg), &ctl, W.cookie, W.cookie_len);
        if (len)
            deliver(to, &local, &remote, msg, len);
    }
    W.tampered = false;
}

/* RestOfIDPayload of an identity. */
static size_t id_rest(const struct ns_conf_id *id, uint8_t *out)
{
    out[0] = id->type;
    out[1] = out[2] = out[3] = 0;
    memcpy(out + 4, id->data, id->len);
    return 4 + id->len;
}

/* bob's IDi, certificate and AUTH (RFC 7427, sha256WithRSAEncryption) to
 * the gateway, signed over what ai says (hfl bit 2: a wrong signature). */
static bool add_cert_auth(struct ns_ike_builder *b, struct ns_auth_input *ai, uint8_t hfl)
{
    struct ns_conf_id id;
    uint8_t rest[4 + NS_CONF_ID_MAX], mac[NS_PRF_MAX_LEN], auth[1 + NS_SIG_ALGID_MAX + NS_SIG_MAX];
    const uint8_t *parts[3];
    size_t lens[3], alen, slen;
    const struct ns_sig_scheme s = {NS_SIG_RSA_PKCS1, NS_HASH_SHA256, 0, 0};
    if (ns_conf_id_parse("bob@corp.example", &id) != 0)
        abort();
    ai->id_rest = rest;
    ai->id_rest_len = id_rest(&id, rest);
    /* RSA blinding draws random bytes, and how many depends on the key's
     * past use (OpenSSL renews the blinding now and then): the peer's
     * signature must not move the engines' random stream, or an input
     * would not run the same twice. */
    uint64_t rng_before = rng_state;
    bool signed_ok = ns_auth_signed_parts(ai, mac, parts, lens) == 0 &&
                     ns_sig_algid_encode(&s, auth + 1, &alen) == 0 &&
                     ns_pkey_sign(ns_x509_creds_key(bob_creds), &s, false, parts, lens, 3,
                                  auth + 1 + alen, sizeof(auth) - 1 - alen, &slen) == 0;
    rng_state = rng_before;
    if (!signed_ok)
        return false;
    auth[0] = (uint8_t)alen;
    if (hfl & 4)
        auth[alen + slen] ^= 1;
    ns_ike_add_id(b, NS_PL_IDI, id.type, id.data, id.len);
    size_t n;
    const uint8_t *der = ns_x509_creds_chain_der(bob_creds, 0, &n);
    ns_ike_add_cert(b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, der, n);
    ns_ike_add_auth(b, NS_AUTH_DIGITAL_SIGNATURE, auth, 1 + alen + slen);
    return true;
}

/* The ID and AUTH payloads the peer of sa would send in IKE_AUTH: computed
 * as RFC 7296 2.15 says, from sa's IKE_SA_INIT messages, nonces and keys
 * and the real PSK (or bob's certificate). False when sa is past IKE_AUTH
 * (the messages are gone). */
static bool add_peer_auth(struct ns_ike_builder *b, const struct ns_ikesa *sa, int to, uint8_t hfl)
{
    if (!sa->init_req.p || !sa->init_resp.p || !ns_eng_sa_keyed(sa))
        return false;
    if (to == GW && (hfl & 16)) {
        struct ns_auth_input ai = {
            .prf = sa->ike_alg.prf,
            .real_msg = sa->init_req.p,
            .real_msg_len = sa->init_req.len,
            .peer_nonce = sa->nr,
            .peer_nonce_len = sa->nr_len,
            .sk_p = sa->keys.sk_pi,
            .sk_p_len = sa->keys.d_len,
        };
        return add_cert_auth(b, &ai, hfl);
    }
    const struct ns_conf *cc = W.h[CL].conf;
    /* The peer signs its own first message, our nonce, its SK_p, its ID. */
    const struct ns_conf_id *id = to == GW ? &cc->local_id : &W.h[GW].conf->local_id;
    struct ns_conf_id impostor;
    if (to == CL && (hfl & 8)) {
        /* A gateway that is not the one the client wants, with a right
         * AUTH for its own identity. */
        if (ns_conf_id_parse("impostor.example", &impostor) != 0)
            abort();
        id = &impostor;
    }
    const struct ns_conf_peer *peer =
        to == GW ? ns_conf_find_peer(W.h[GW].conf, id) : &cc->peers[0];
    if (!peer)
        return false;
    uint8_t rest[4 + NS_CONF_ID_MAX], auth[NS_PRF_MAX_LEN];
    size_t auth_len;
    const struct ns_msgbuf *m = to == GW ? &sa->init_req : &sa->init_resp;
    struct ns_auth_input ai = {
        .prf = sa->ike_alg.prf,
        .real_msg = m->p,
        .real_msg_len = m->len,
        .peer_nonce = to == GW ? sa->nr : sa->ni,
        .peer_nonce_len = to == GW ? sa->nr_len : sa->ni_len,
        .sk_p = to == GW ? sa->keys.sk_pi : sa->keys.sk_pr,
        .sk_p_len = sa->keys.d_len,
        .id_rest = rest,
        .id_rest_len = id_rest(id, rest),
    };
    if (ns_auth_psk_compute(&ai, peer->psk, peer->psk_len, auth, &auth_len) != 0)
        return false;
    if (hfl & 4)
        auth[auth_len - 1] ^= 1; /* a wrong PSK, as far as the receiver can tell */
    ns_ike_add_id(b, to == GW ? NS_PL_IDI : NS_PL_IDR, id->type, id->data, id->len);
    if (to == GW && (hfl & 8)) {
        /* The client asks for a gateway identity that is not this one. */
        static const char other[] = "other.example";
        ns_ike_add_id(b, NS_PL_IDR, NS_CONF_ID_FQDN, (const uint8_t *)other, sizeof(other) - 1);
    }
    ns_ike_add_auth(b, NS_AUTH_SHARED_KEY_MIC, auth, auth_len);
    return true;
}

static void op_sealed(struct in *in, unsigned f)
{
    static const uint8_t exchanges[4] = {NS_IKE_AUTH, NS_INFORMATIONAL, NS_CREATE_CHILD_SA,
                                         NS_INFORMATIONAL};
    static uint8_t msg[NS_IKE_BUF];
    int to = (f & 1) ? CL : GW;
    unsigned sel = u8(in);
    uint8_t x = u8(in);
    uint8_t hfl = u8(in);
    uint8_t mid = u8(in);
    uint8_t first = u8(in);
    uint32_t raw_id = (mid & 3) == 3 ? u32(in) : 0;
    size_t len = u16(in) % NS_IKE_BUF;
    const uint8_t *chain = bytes(in, &len);

    struct ns_ikesa *sa = target_sa(to, sel);
    if (!sa || !ns_eng_sa_keyed(sa))
        return;
    bool response = hfl & 1;
    uint32_t expected = response ? sa->out.id : sa->peer_req_id;
    uint32_t id = (mid & 3) == 0   ? expected
                  : (mid & 3) == 1 ? expected - 1
                  : (mid & 3) == 2 ? expected + (mid >> 2)
                                   : raw_id;
    /* The peer seals with the keys of its own direction. */
    const struct ns_ike_keys *k = &sa->keys;
    const struct ns_proposal *pr = &sa->ike_alg;
    struct ns_cipher *c =
        ns_cipher_new(pr->encr, pr->key_bits, pr->integ, sa->initiator ? k->sk_er : k->sk_ei,
                      k->encr_len, sa->initiator ? k->sk_ar : k->sk_ai, k->integ_len);
    if (!c)
        abort();
    bool from_initiator = !sa->initiator;
    struct ns_ike_header h = {
        .spi_i = sa->spi_i,
        .spi_r = sa->spi_r,
        .version = NS_IKE_VERSION,
        .exchange = (x & 0x80) ? x : exchanges[x & 3],
        .flags = (uint8_t)(((from_initiator ^ !!(hfl & 2)) ? NS_IKE_FLAG_INITIATOR : 0) |
                           (response ? NS_IKE_FLAG_RESPONSE : 0)),
        .msg_id = id,
    };
    uint8_t iv[NS_CIPHER_MAX_IV];
    for (size_t i = 0; i < sizeof(iv); i++)
        iv[i] = (uint8_t)(sel + i);
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, msg, sizeof(msg), &h);
    ns_ike_sk_begin(&b, c, iv);
    if (f & 8)
        add_peer_auth(&b, sa, to, hfl);
    if (f & 16) {
        struct in list = {chain, len};
        add_payload_list(&b, &list);
    } else if (len && ns_writer_ok(&b.w)) {
        /* The fuzzer's chain, raw: its first type goes in the Next Payload
         * field before it (the SK's, or the last added payload's). */
        b.w.data[b.np_off] = first;
        ns_write_bytes(&b.w, chain, len);
    }
    ns_ike_sk_seal(&b, c);
    int n = ns_ike_build_finish(&b);
    ns_cipher_free(c);
    if (n < 0)
        return;
    struct ns_endpoint local = own_endpoint(to, f & 2);
    struct ns_endpoint remote = peer_endpoint(to, f & 2, f & 4, 0);
    deliver(to, &local, &remote, msg, (size_t)n);
}

static void op_mutate(struct in *in, unsigned f)
{
    static uint8_t msg[NS_IKE_BUF];
    unsigned idx = u8(in), n = u8(in) % 32;
    if (!W.n_rec) {
        for (unsigned i = 0; i < n; i++)
            (void)u16(in), (void)u8(in);
        if (f & 1)
            (void)u8(in);
        return;
    }
    const struct rec *r = &W.rec[idx % W.n_rec];
    size_t len = r->len;
    memcpy(msg, r->data, len);
    for (unsigned i = 0; i < n; i++) {
        uint16_t off = u16(in);
        uint8_t v = u8(in);
        if (len)
            msg[off % len] ^= v;
    }
    if ((f & 4) && len)
        len--;
    struct ns_endpoint local, remote, src = r->src, dst = r->dst;
    if (f & 2) {
        src.port = src.port == 500 ? 4500 : 500;
        dst.port = dst.port == 500 ? 4500 : 500;
    }
    int to = route(r->from, &src, &dst, &local, &remote);
    if (to < 0) {
        /* Sent somewhere else (a stranger): to the other engine anyway. */
        to = r->from == GW ? CL : GW;
        local = own_endpoint(to, dst.port == 4500);
        remote = src;
    }
    if (f & 1)
        remote = peer_endpoint(to, false, true, (uint16_t)(4000 + u8(in)));
    W.tampered = len != r->len || memcmp(msg, r->data, len) != 0;
    deliver(to, &local, &remote, msg, len);
    W.tampered = false;
}

static void tick(int i)
{
    struct host *h = &W.h[i];
    W.spent++;
    ns_ike_engine_tick(h->e, W.now);
    check_wakeup(i);
    check(h->wakeup > W.now, "a tick leaves nothing due");
}

/* Runs the timers up to `until`, in order, with the network carrying what
 * they send. The deadlines are what set_wakeup last told: check_wakeup
 * proved each equal to the engine's after every call into it. */
static void run_until(uint64_t until)
{
    for (unsigned s = 0; s < TIME_STEPS; s++) {
        if (W.spent >= INPUT_BUDGET)
            return; /* where the input ends (run) */
        pump();
        uint64_t a = W.h[GW].wakeup, b = W.h[CL].wakeup;
        uint64_t next = a < b ? a : b;
        if (next > until)
            break;
        if (next > W.now)
            W.now = next;
        for (int i = 0; i < 2; i++)
            if (W.h[i].wakeup <= W.now)
                tick(i);
    }
    if (until > W.now)
        W.now = until;
}

static void op_link(unsigned f)
{
    if (f & 1)
        W.link_up = !W.link_up;
    if (f & 2)
        W.qn = 0;
    if (f & 4) {
        unsigned n = W.qn;
        for (unsigned i = 0; i < n && W.qn < QLEN; i++)
            pkt_copy(&W.q[W.qn++], &W.q[i]);
    }
    if (f & 8) {
        for (unsigned i = 0; i < W.qn / 2; i++) {
            static struct pkt t;
            pkt_copy(&t, &W.q[i]);
            pkt_copy(&W.q[i], &W.q[W.qn - 1 - i]);
            pkt_copy(&W.q[W.qn - 1 - i], &t);
        }
    }
}

static void do_connect(void)
{
    struct host *h = &W.h[CL];
    bool connected = h->connects != h->client_downs;
    struct ns_addr a = client_addr();
    int rc = ns_ike_engine_connect(h->e, &a, W.now);
    check(!(connected && rc == 0), "connect refused while connected");
    if (rc == 0)
        h->connects++;
    check_wakeup(CL);
}

static uint64_t newest_id(const struct host *h)
{
    return h->n_ids ? h->ids[h->n_ids - 1] : 0;
}

static void traffic(struct host *h, uint64_t bytes, bool both)
{
    for (unsigned i = 0; i < h->n_child; i++) {
        h->child[i].use.bytes_in += bytes;
        h->child[i].use.packets_in += bytes / 1000 + 1;
        if (both && h->child[i].out_up) {
            h->child[i].use.bytes_out += bytes;
            h->child[i].use.packets_out += bytes / 1000 + 1;
        }
    }
}

static void op_api(struct in *in, unsigned f)
{
    struct host *g = &W.h[GW], *c = &W.h[CL];
    bool alt = f & 16;
    switch (f & 15) {
    case 0:
        do_connect();
        break;
    case 1:
        ns_ike_engine_disconnect(c->e, W.now);
        check_wakeup(CL);
        break;
    case 2: /* a data plane saw ESP from the peer, maybe from elsewhere */
    case 3: {
        int to = (f & 15) == 2 ? GW : CL;
        uint16_t port = u16(in);
        struct ns_endpoint from = peer_endpoint(to, true, alt, port);
        struct ns_endpoint local = own_endpoint(to, true);
        ns_ike_engine_esp_from(W.h[to].e, newest_id(&W.h[to]), &local, &from, W.now);
        check_wakeup(to);
        break;
    }
    case 4:
        ns_ike_engine_esp_activity((alt ? c : g)->e, newest_id(alt ? c : g), W.now);
        check_wakeup(alt ? CL : GW);
        break;
    case 5:
        W.nat_base = W.nat_base >= 59000 ? 40000 : (uint16_t)(W.nat_base + 1000);
        break;
    case 6:
        g->spi_fail = !g->spi_fail;
        c->spi_fail = !c->spi_fail;
        break;
    case 7:
        (alt ? c : g)->refuse_child = !(alt ? c : g)->refuse_child;
        break;
    case 8:
        (alt ? c : g)->usage_fail = !(alt ? c : g)->usage_fail;
        break;
    case 9: /* natsecctl rekey: CHILD_SAs or the IKE SA, one or (alt) all */
    case 10:
    case 11:
    case 12: {
        int to = (f & 15) <= 10 ? GW : CL;
        bool ike = (f & 15) == 10 || (f & 15) == 12;
        ns_ike_engine_rekey(W.h[to].e, alt ? 0 : newest_id(&W.h[to]), ike, W.now);
        check_wakeup(to);
        break;
    }
    case 15: /* the daemon stops (SIGTERM): at the end of the input */
        W.shutdown[alt ? CL : GW] = true;
        break;
    default: /* traffic through every CHILD_SA: u16 x 64 bytes */
        traffic((f & 1) ? c : g, (uint64_t)u16(in) * 64, alt);
        break;
    }
}

static void op_next(void)
{
    uint64_t a = W.h[GW].wakeup, b = W.h[CL].wakeup;
    uint64_t next = a < b ? a : b;
    if (next != NS_IKE_NEVER)
        run_until(next > W.now ? next : W.now);
}

/* ---- set-up and the end of an input ---- */

static void host_init(int i, const struct ns_conf *conf, uint32_t spi_base, bool split)
{
    struct host *h = &W.h[i];
    memset(h, 0, sizeof(*h));
    h->conf = conf;
    h->spi_base = spi_base;
    h->wakeup = NS_IKE_NEVER;
    h->split = split;
    struct ns_ike_ops ops = {.ctx = h,
                             .send = ops_send,
                             .set_wakeup = ops_set_wakeup,
                             .alloc_spi = ops_alloc_spi,
                             .release_spi = ops_release_spi,
                             .child_up = ops_child_up,
                             .child_down = ops_child_down,
                             .peer_moved = ops_peer_moved,
                             .client_up = ops_client_up,
                             .client_down = ops_client_down,
                             .child_usage = ops_child_usage};
    if (split) {
        ops.child_in_up = ops_child_in_up;
        ops.child_out_up = ops_child_out_up;
    }
    h->e = ns_ike_engine_new(conf, &ops, W.now);
    if (!h->e)
        abort();
}

/* Delivers n datagrams in flight (the rest stay queued). */
BOOKKEEPING static void pump_n(unsigned n)
{
    static struct pkt p;
    while (n-- && W.qn) {
        dequeue(&p);
        deliver(p.to, &p.local, &p.remote, p.data, p.len);
    }
}

/* Every IKE SA of an engine, from its SA table, as ns_ike_engine_free
 * walks it. */
BOOKKEEPING static void each_sa(struct ns_ike_engine *e, void (*fn)(struct ns_ikesa *sa, void *arg),
                                void *arg)
{
    for (size_t b = 0; b < e->by_id.nb; b++)
        for (struct ns_hnode *x = e->by_id.b[b], *next; x; x = next) {
            next = x->next;
            fn((void *)((char *)x - offsetof(struct ns_ikesa, by_id)), arg);
        }
}

static void world_reset(unsigned setup)
{
    W.qn = 0;
    W.n_rec = 0;
    W.n_req = 0;
    W.tampered = false;
    W.shutdown[GW] = W.shutdown[CL] = false;
    W.now = T0;
    W.delivering = -1;
    W.nat = setup & 4;
    W.nat_base = 40000;
    W.gw = addr_of(GW_ADDR);
    W.cl = addr_of(CL_ADDR);
    W.nat_pub = addr_of(NAT_PUB);
    W.stranger = addr_of(STRANGER);
    W.strangers[0] = W.stranger;
    W.strangers[1] = addr_of("203.0.113.98");
    W.strangers[2] = addr_of("2001:db8:99::1");
    W.strangers[3] = addr_of("2001:db8:99::2"); /* the same /64: the same source (X13) */
    W.link_up = true;
}

/* The engines, and the real handshake as far as the setup's stage. */
static void handshake(unsigned setup)
{
    /* The two ways a re-key responder may install (engine.h): split with
     * the AES-CBC and ECP-256 suites, all at once with the others. */
    bool split = setup & 0x08;
    host_init(GW, gateway_conf(setup), GW_SPI_BASE, split);
    host_init(CL, client_conf(setup), CL_SPI_BASE, split);
    unsigned stage = setup & 3;
    if (stage == 0)
        return;
    do_connect();
    if (stage == 2)
        pump_n(2); /* IKE_SA_INIT there and back: the IKE_AUTH request is out */
    if (stage == 3) {
        pump();
        check(W.h[CL].client_ups == 1, "the real handshake establishes");
    }
    if (stage < 3) {
        W.link_up = false;
        W.qn = 0;
    }
}

/* ---- the handshake once per setup ----
 *
 * The handshake is most of what an input that does little else costs
 * (X25519 or ECDH, the gateway's ECDSA signature and the client's
 * certificate checks, every message through both engines under the
 * sanitizers), and it is the same every time: the RNG restarts for every
 * input. So the first input with a setup byte runs it with the engines'
 * allocations watched (heap_snapshot.h) and keeps a copy of the result:
 * the engines' heap blocks, the harness's world and the RNG's state. Every
 * input with that setup, the first included, then runs on a fresh copy,
 * with the handshake's real keys, nonces and messages. The copy's blocks
 * are allocated once and rewritten for every input (hs_restore), so a
 * restore costs copies of warm memory, not allocations; the engines free
 * them as any other block, and world_end checks that they did (hs_live),
 * as LeakSanitizer does not see them. The SK ciphers hold
 * OpenSSL contexts, which cannot be copied: the engine keys them again
 * from the SA's keys (ns_eng_sa_cipher_in/out). An IKE SA's DH key pair
 * (stage 1: the client's) is an OpenSSL key too: the copy of it holds the
 * handshake's key pair again, a reference taken (ns_dh_fuzz_share), which
 * is what ns_dh_new makes from the same random stream. A setup whose
 * engines hold other OpenSSL objects is run every time.
 * With FUZZ_IKE_ENGINE_NO_SNAPSHOT set every handshake runs (the seed
 * writer checks that both ways send the same). */

#define MAX_SNAP_CIPHERS 64
#define MAX_SNAP_DH 8

struct snap {
    struct hs_snapshot *heap;
    uintptr_t e[2]; /* ~the engines when taken (see heap_snapshot.c) */
    struct {
        uintptr_t old;     /* ~an IKE SA's key pair when taken */
        struct ns_dh *key; /* holding the same key */
    } dh[MAX_SNAP_DH];
    size_t n_dh;
    uint64_t rng;
    uint8_t *world; /* W up to q, the engine pointers zero */
    struct pkt *q;
    struct rec *rec;
};

static struct snap *snaps[256];
static bool unsnapped[256]; /* the setup cannot be copied: run it every time */
static bool no_snapshots;
static struct snap *restored; /* the copy this input runs on, or NULL */

struct ciphers {
    void *c[MAX_SNAP_CIPHERS];
    size_t n;
};

static void note_ciphers(struct ns_ikesa *sa, void *arg)
{
    struct ciphers *cs = arg;
    struct ns_cipher *c[2] = {sa->sk_in, sa->sk_out};
    for (int i = 0; i < 2; i++)
        if (c[i] && cs->n < MAX_SNAP_CIPHERS)
            cs->c[cs->n++] = c[i];
}

/* The IKE SAs' key pairs (after the ciphers in the same list). */
static void note_dh(struct ns_ikesa *sa, void *arg)
{
    struct ciphers *cs = arg;
    if (sa->dh && cs->n < MAX_SNAP_CIPHERS)
        cs->c[cs->n++] = sa->dh;
}

static void renew_ciphers(struct ns_ikesa *sa, void *arg)
{
    (void)arg;
    if (sa->sk_in) {
        ns_cipher_free(sa->sk_in); /* the copy: zero, no OpenSSL context */
        sa->sk_in = NULL;
        check(ns_eng_sa_cipher_in(sa) == 0, "an SK cipher keyed again");
    }
    if (sa->sk_out) {
        ns_cipher_free(sa->sk_out);
        sa->sk_out = NULL;
        check(ns_eng_sa_cipher_out(sa) == 0, "an SK cipher keyed again");
    }
}

/* After the handshake of the window: the copy, or NULL when the engines
 * hold what cannot be copied. */
static struct snap *snap_take(void)
{
    static struct ciphers cs;
    cs.n = 0;
    each_sa(W.h[GW].e, note_ciphers, &cs);
    each_sa(W.h[CL].e, note_ciphers, &cs);
    size_t first_dh = cs.n;
    each_sa(W.h[GW].e, note_dh, &cs);
    each_sa(W.h[CL].e, note_dh, &cs);
    struct hs_snapshot *heap = hs_take(cs.c, cs.n);
    if (!heap || cs.n == MAX_SNAP_CIPHERS || cs.n - first_dh > MAX_SNAP_DH) {
        hs_free(heap);
        return NULL;
    }
    struct snap *sn = calloc(1, sizeof(*sn));
    size_t head = offsetof(struct world, q);
    if (!sn || !(sn->world = malloc(head)) || !(sn->q = calloc(W.qn + 1, sizeof(W.q[0]))) ||
        !(sn->rec = calloc(W.n_rec + 1, sizeof(W.rec[0]))))
        abort();
    sn->heap = heap;
    sn->rng = rng_state;
    for (size_t i = first_dh; i < cs.n; i++) {
        sn->dh[sn->n_dh].old = ~(uintptr_t)cs.c[i];
        if (!(sn->dh[sn->n_dh++].key = ns_dh_fuzz_dup(cs.c[i])))
            abort();
    }
    memcpy(sn->world, &W, head);
    for (int i = 0; i < 2; i++) {
        sn->e[i] = ~(uintptr_t)W.h[i].e;
        memset(sn->world + offsetof(struct world, h) + (size_t)i * sizeof(struct host) +
                   offsetof(struct host, e),
               0, sizeof(W.h[i].e));
    }
    for (unsigned i = 0; i < W.qn; i++)
        pkt_copy(&sn->q[i], &W.q[i]);
    for (unsigned i = 0; i < W.n_rec; i++)
        rec_copy(&sn->rec[i], &W.rec[i]);
    return sn;
}

static void snap_restore(struct snap *sn)
{
    if (hs_restore(sn->heap) != 0)
        abort();
    memcpy(&W, sn->world, offsetof(struct world, q));
    for (unsigned i = 0; i < W.qn; i++)
        pkt_copy(&W.q[i], &sn->q[i]);
    for (unsigned i = 0; i < W.n_rec; i++)
        rec_copy(&W.rec[i], &sn->rec[i]);
    rng_state = sn->rng;
    for (size_t i = 0; i < sn->n_dh; i++)
        ns_dh_fuzz_share(hs_moved(sn->heap, (const void *)~sn->dh[i].old), sn->dh[i].key);
    for (int i = 0; i < 2; i++) {
        W.h[i].e = hs_moved(sn->heap, (const void *)~sn->e[i]);
        each_sa(W.h[i].e, renew_ciphers, NULL);
    }
}

static void world_setup(unsigned setup)
{
    restored = NULL;
    world_reset(setup);
    /* Loaded once and kept: never part of a copy. */
    (void)gateway_conf(setup);
    (void)client_conf(setup);
    if (no_snapshots || unsnapped[setup]) {
        handshake(setup);
        return;
    }
    if (!snaps[setup]) {
        hs_window_open();
        handshake(setup);
        snaps[setup] = snap_take();
        if (!snaps[setup]) {
            unsnapped[setup] = true;
            return; /* go on with this one */
        }
        /* The first input runs on a copy too, as every later one does. */
        for (int i = 0; i < 2; i++)
            ns_ike_engine_free(W.h[i].e);
    }
    snap_restore(snaps[setup]);
    restored = snaps[setup];
}

/* natsecctl status of every SA, whatever its state. */
BOOKKEEPING static void status_visit(void *arg, const struct ns_ike_sa_status *st)
{
    (*(unsigned *)arg)++;
    check(st->state != NULL && st->n_child <= NS_IKE_STATUS_MAX_CHILD, "a status snapshot");
    for (unsigned i = 0; i < st->n_child; i++)
        check(st->child[i].n_local_ts <= NS_SA_MAX_TS && st->child[i].n_remote_ts <= NS_SA_MAX_TS,
              "a CHILD_SA's status");
}

/* What decides the code paths of natsecctl status (status.c): each SA's
 * ids, state, peer section, algorithms (set or not) and re-key in flight,
 * and each CHILD_SA's SPIs and state. The rest it shows (times, counts)
 * only changes values. */
BOOKKEEPING static void status_shape(struct ns_ikesa *sa, void *arg)
{
    uint64_t *h = arg;
    uint64_t v[] = {sa->id,
                    sa->ike_sa_id,
                    sa->state,
                    (uintptr_t)sa->peer,
                    sa->ike_alg.protocol,
                    sa->create_child != NULL,
                    sa->n_child};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        *h = (*h ^ v[i]) * 0x100000001b3ull;
    for (unsigned i = 0; i < sa->n_child; i++)
        *h = (*h ^ ((uint64_t)sa->child[i].spi_in << 32 | sa->child[i].spi_out) ^
              (uint64_t)sa->child[i].cstate << 17) *
             0x100000001b3ull;
}

/* The shape status last ran on in this input (0: none yet). */
static uint64_t status_checked;

/* natsecctl status of both engines, after an operation that changed the
 * shape of what it shows (status_shape): one that did not would run the
 * same code on the same kinds of values. */
BOOKKEEPING static void check_status(void)
{
    uint64_t shape = 0xcbf29ce484222325ull;
    each_sa(W.h[GW].e, status_shape, &shape);
    shape ^= 0x9e3779b97f4a7c15ull;
    each_sa(W.h[CL].e, status_shape, &shape);
    if (shape == status_checked)
        return;
    status_checked = shape;
    for (int i = 0; i < 2; i++) {
        unsigned n = 0;
        struct ns_ike_counters ctr;
        ns_ike_engine_foreach(W.h[i].e, status_visit, &n);
        ns_ike_engine_counters(W.h[i].e, &ctr);
        check(n <= ctr.ike_sas, "status lists the SAs in the table");
    }
}

struct vips {
    const struct ns_pool *pool;
    struct ns_addr a[64];
    unsigned n;
};

BOOKKEEPING static void check_vip(struct ns_ikesa *sa, void *arg)
{
    struct vips *v = arg;
    if (!sa->vip.family) /* the gateway's SAs hold pool addresses only */
        return;
    check(ns_pool_is_allocated(v->pool, &sa->vip), "an owned virtual IP is the pool's");
    for (unsigned i = 0; i < v->n && i < 64; i++)
        check(!ns_addr_equal(&v->a[i], &sa->vip), "distinct virtual IPs (R6)");
    if (v->n < 64)
        v->a[v->n] = sa->vip;
    v->n++;
}

/* R6, after every operation: the gateway's IKE SAs that own a virtual IP
 * (given by the pool; an IKE SA re-key hands it on to the new SA, while the
 * one it replaced may still show it in the status until it goes) own
 * distinct ones, each given out by the pool, and the pool has given out no
 * other. Read from the SA table. */
BOOKKEEPING static void check_vips(void)
{
    static struct vips v;
    v.pool = W.h[GW].e->pool;
    v.n = 0;
    each_sa(W.h[GW].e, check_vip, &v);
    check(v.n == ns_pool_in_use(v.pool), "the pool gave out exactly the owned virtual IPs (R6)");
}

/* R15, X13, after every operation: the gateway's half-open SAs within
 * half_open_max, and its count of them per source consistent (read from
 * the engine, as check_vips does). */
BOOKKEEPING static void check_half_open(void)
{
    const struct ns_ike_engine *e = W.h[GW].e;
    struct ns_ike_counters ctr;
    ns_ike_engine_counters(e, &ctr);
    check(ctr.half_open <= e->conf->half_open_max, "half-open SAs bounded (R15)");
    check(ns_halfopen_consistent(&e->ho), "the half-open SAs per source add up (X13)");
    check(ctr.half_open_sources <= ctr.half_open && ctr.half_open_largest <= ctr.half_open,
          "sources of half-open SAs hold half-open SAs (X13)");
    check((ctr.half_open_sources == 0) == (ctr.half_open_largest == 0),
          "a source with half-open SAs holds one at least (X13)");
}

/* What the last input did, for the seed writer's report. */
static struct {
    struct ns_ike_counters gw, cl;
    unsigned client_ups, gw_children, cl_children;
} last;

static void world_end(void)
{
    check_vips();
    struct ns_ike_counters ctr;
    ns_ike_engine_counters(W.h[GW].e, &ctr);
    check(ctr.half_open <= W.h[GW].conf->half_open_max, "half-open SAs bounded (R15)");
    check(ctr.half_open <= ctr.ike_sas, "half-open SAs are SAs");
    last.gw = ctr;
    ns_ike_engine_counters(W.h[CL].e, &last.cl);
    last.client_ups = W.h[CL].client_ups;
    last.gw_children = W.h[GW].n_child;
    last.cl_children = W.h[CL].n_child;
    for (int i = 0; i < 2; i++) {
        struct host *h = &W.h[i];
        if (!W.shutdown[i])
            continue;
        /* The client holds two IKE SAs for one connect while the peer's
         * DELETE of the one it re-keyed is due. */
        unsigned deletes = ns_ike_engine_shutdown(h->e, W.now);
        check(deletes <= (i == GW ? ctr.ike_sas : last.cl.ike_sas), "a DELETE per IKE SA at most");
        check(h->n_child == 0 && h->n_spis == 0, "shutdown tears everything down");
        check(i == GW || h->client_downs == h->connects, "shutdown: client_down once per connect");
        pump(); /* the DELETEs reach the other engine */
    }
    for (int i = 0; i < 2; i++) {
        struct host *h = &W.h[i];
        ns_ike_engine_free(h->e);
        h->e = NULL;
        check(h->n_child == 0, "every CHILD_SA down when the engine is freed");
        check(h->n_spis == 0, "every SPI released when the engine is freed");
    }
    /* The copy's blocks are kept for the next input (heap_snapshot.h), out
     * of LeakSanitizer's sight: the engines must have freed every one. */
    check(!restored || hs_live(restored->heap) == 0, "every block of the copy freed (no leak)");
    check(W.h[CL].client_downs == W.h[CL].connects, "client_down once per connect");
}

static void run(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    rng_state = 0x6e61747365632121ull; /* the same stream for every input */
    world_setup(u8(&in));
    W.spent = 0;
    status_checked = 0;
    while (in.n && W.spent < INPUT_BUDGET) {
        uint8_t op = u8(&in);
        unsigned f = op >> 3;
        W.spent++;
        switch (op & 7) {
        case 0:
            op_raw(&in, f);
            break;
        case 1:
            op_sealed(&in, f);
            break;
        case 2:
            op_mutate(&in, f);
            break;
        case 3: {
            uint64_t ms = u16(&in);
            run_until(W.now + ((f & 1) ? ms << 8 : ms));
            break;
        }
        case 4:
            op_link(f);
            break;
        case 5:
            op_api(&in, f);
            break;
        default:
            op_next();
            break;
        }
        pump();
        check_vips();
        check_status();
        check_half_open();
    }
    world_end();
}

static ssize_t discard(void *cookie, const char *buf, size_t len)
{
    (void)cookie;
    (void)buf;
    return (ssize_t)len;
}

static void init_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    if (RAND_set_rand_method(&rng_method) != 1)
        abort();
    char err[512];
    bob_creds = ns_x509_creds_new();
    if (!bob_creds ||
        ns_x509_creds_load_cert(bob_creds, fixture("bob-rsa.pem"), err, sizeof(err)) != 0 ||
        ns_x509_creds_load_key(bob_creds, fixture("bob-rsa.key"), err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_ike_engine: %s\n", err);
        abort();
    }
    no_snapshots = getenv("FUZZ_IKE_ENGINE_NO_SNAPSHOT") != NULL;
    if (!getenv("FUZZ_IKE_ENGINE_NO_MEMO"))
        ns_fuzz_memo_enable(&memo_rng);
    ns_log_set_level(NS_LOG_DEBUG); /* every log line is formatted: they are code too */
    if (getenv("FUZZ_IKE_ENGINE_LOG"))
        return; /* to stderr: FUZZ_IKE_ENGINE_LOG=1 <target> <crash file> */
    /* Formatted, then dropped: a stream that writes nowhere, since ns_log
     * flushes every line (to /dev/null that was a system call each). */
    FILE *null = fopencookie(NULL, "w", (cookie_io_functions_t){.write = discard});
    if (null)
        ns_log_set_stream(null);
    else
        ns_log_set_level(NS_LOG_ERROR);
}

#ifndef FUZZ_IKE_ENGINE_SEEDGEN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size < 1 || size > 8192)
        return 0;
    run(data, size);
    return 0;
}

#else /* the seed corpus writer */

static uint8_t seed[8192];
static size_t seed_len;

static void s8(unsigned v)
{
    seed[seed_len++] = (uint8_t)v;
}

static void s16(unsigned v)
{
    s8(v & 0xff);
    s8(v >> 8);
}

static void sbytes(const uint8_t *p, size_t n)
{
    memcpy(seed + seed_len, p, n);
    seed_len += n;
}

static const char *out_dir;

/* What the last run did: a hash of everything sent, and the counters. */
static void seed_report(const char *name, char *out, size_t cap)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < W.n_rec; i++)
        for (size_t k = 0; k < W.rec[i].len; k++)
            hash = (hash ^ W.rec[i].data[k]) * 0x100000001b3ull;
    snprintf(out, cap,
             "%-32s %016llx %2u sent, spent %3u; gw: est %llu children %llu (now %u) auth_fail "
             "%llu cookies %llu dropped %llu/%llu/%llu/%llu; cl: est %llu up %u children %u",
             name, (unsigned long long)hash, W.n_rec, W.spent,
             (unsigned long long)last.gw.ike_established,
             (unsigned long long)last.gw.children_installed, last.gw_children,
             (unsigned long long)last.gw.auth_failures, (unsigned long long)last.gw.cookies_sent,
             (unsigned long long)last.gw.dropped_malformed,
             (unsigned long long)last.gw.dropped_unexpected,
             (unsigned long long)last.gw.dropped_unknown_spi,
             (unsigned long long)last.gw.dropped_unauth,
             (unsigned long long)last.cl.ike_established, last.client_ups, last.cl_children);
}

static void seed_write(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(seed, 1, seed_len, f) != seed_len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    /* Each seed must run cleanly through the target itself; the hash of
     * everything sent shows that a run is reproducible, and that a copy of
     * the handshake (world_setup) does just what the handshake does. */
    char copied[512], real[512];
    run(seed, seed_len);
    seed_report(name, copied, sizeof(copied));
    no_snapshots = true;
    ns_fuzz_memo_enable(NULL);
    run(seed, seed_len);
    seed_report(name, real, sizeof(real));
    no_snapshots = false;
    ns_fuzz_memo_enable(&memo_rng);
    if (strcmp(copied, real) != 0) {
        fprintf(stderr, "from a copy of the handshake:\n%s\nfrom the handshake:\n%s\n", copied,
                real);
        exit(1);
    }
    printf("%s\n", real);
    seed_len = 0;
}

/* An inner chain built with the builder: its first type and bytes. */
struct chain {
    uint8_t first;
    uint8_t data[2048];
    size_t len;
};

static uint8_t chain_buf[4096];

static void chain_begin(struct ns_ike_builder *b)
{
    struct ns_ike_header h = {.exchange = NS_IKE_AUTH};
    ns_ike_build_begin(b, chain_buf, sizeof(chain_buf), &h);
}

static void chain_end(struct ns_ike_builder *b, struct chain *c)
{
    int n = ns_ike_build_finish(b);
    if (n < NS_IKE_HEADER_LEN)
        abort();
    c->first = chain_buf[16];
    c->len = (size_t)n - NS_IKE_HEADER_LEN;
    memcpy(c->data, chain_buf + NS_IKE_HEADER_LEN, c->len);
}

/* A chain as a payload list (see the top). */
static size_t chain_to_list(const struct chain *c, uint8_t *out)
{
    size_t o = 0, n = 0;
    uint8_t type = c->first;
    while (o + 4 <= c->len) {
        uint8_t next = c->data[o];
        bool crit = c->data[o + 1] & 0x80;
        size_t blen = ns_get_u16(c->data + o + 2) - 4;
        out[n++] = type;
        out[n++] = (uint8_t)((crit ? 1 : 0) | (blen > 255 ? 2 : 0));
        out[n++] = (uint8_t)blen;
        if (blen > 255)
            out[n++] = (uint8_t)(blen >> 8);
        memcpy(out + n, c->data + o + 4, blen);
        n += blen;
        o += 4 + blen;
        type = next;
    }
    return n;
}

static unsigned seed_sel;

/* SEALED op: to the gateway (or the client), flags, exchange, hflags, mid;
 * the chain raw, or as a payload list (framed). */
static void s_sealed_as(bool to_client, bool natt, bool splice, bool framed, unsigned exch,
                        unsigned hfl, unsigned mid, const struct chain *c)
{
    s8(1u | (to_client ? 1u : 0) << 3 | (natt ? 1u : 0) << 4 | (splice ? 1u : 0) << 6 |
       (framed ? 1u : 0) << 7);
    s8(seed_sel); /* the first IKE SA, unless a seed says otherwise */
    s8(exch);
    s8(hfl);
    s8(mid);
    s8(c ? c->first : 0);
    if (!c) {
        s16(0);
    } else if (framed) {
        static uint8_t list[4096];
        size_t n = chain_to_list(c, list);
        s16((unsigned)n);
        sbytes(list, n);
    } else {
        s16((unsigned)c->len);
        sbytes(c->data, c->len);
    }
}

static void s_sealed(bool to_client, bool natt, bool splice, unsigned exch, unsigned hfl,
                     unsigned mid, const struct chain *c)
{
    s_sealed_as(to_client, natt, splice, false, exch, hfl, mid, c);
}

/* RAW framed (f4) with the target's SPIs (f3): header and payload list. */
static void s_framed(bool to_client, bool stranger, unsigned exch, unsigned hfl,
                     const struct chain *c)
{
    static uint8_t list[4096];
    size_t n = c ? chain_to_list(c, list) : 0;
    s8(0u | (to_client ? 1u : 0) << 3 | (stranger ? 1u : 0) << 5 | 1u << 6 | 1u << 7);
    s16((unsigned)(3 + 16 + n));
    s8(exch);
    s8(hfl);
    s8(0);
    for (int i = 0; i < 16; i++)
        s8(i < 8 ? 0x11 : 0); /* replaced by the SA's SPIs; SPIr 0 kept */
    sbytes(list, n);
}

/* RAW framed IKE_SA_INIT request c from a stranger to the gateway, SPIi
 * 0x<spi>42424242424242; ctl: the harness's hflags bits (see the top). */
static void s_init_from_stranger(const struct chain *c, unsigned ctl, unsigned spi)
{
    s8(0u | 1u << 5 | 1u << 7); /* framed, from a stranger, no SPI patch */
    size_t n = chain_to_list(c, seed + seed_len + 2 + 19);
    s16((unsigned)(19 + n));
    s8(NS_IKE_SA_INIT);
    s8(NS_IKE_FLAG_INITIATOR | ctl);
    s8(0);
    for (int i = 0; i < 16; i++)
        s8(i == 0 ? spi : i < 8 ? 0x42 : 0);
    seed_len += n;
}

static void s_time(unsigned ms, bool x256)
{
    s8(3u | (x256 ? 1u : 0) << 3);
    s16(ms);
}

static void put32(uint8_t *p, uint32_t v)
{
    ns_put_u32(p, v);
}

/* What a client asks for in IKE_AUTH after ID and AUTH. */
static bool seed_no_initial_contact;

static void add_request_payloads(struct ns_ike_builder *bp, bool transport, const char *tsr)
{
    const struct ns_conf *gc = gateway_conf(0);
    struct ns_ike_builder b = *bp;
    if (!seed_no_initial_contact)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INITIAL_CONTACT, NULL, 0);
    struct ns_ike_cp cp = {.type = NS_CFG_REQUEST, .n = 2};
    cp.attr[0].type = NS_CP_INTERNAL_IP4_ADDRESS;
    cp.attr[1].type = NS_CP_INTERNAL_IP4_DNS;
    ns_ike_add_cp(&b, &cp);
    if (transport)
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_USE_TRANSPORT_MODE, NULL, 0);
    uint8_t spi[4];
    put32(spi, 0x0badcafe);
    struct ns_ike_sa offer;
    if (ns_sa_offer(gc->esp, gc->n_esp, NS_PROTO_ESP, spi, 4, NS_SA_F_NO_DH, &offer) != NS_SA_OK)
        abort();
    ns_ike_add_sa(&b, &offer);
    struct ns_ts any, r;
    ns_ts_from_prefix(&any, "0.0.0.0/0");
    ns_ts_from_prefix(&r, tsr);
    ns_ike_add_ts(&b, NS_PL_TSI, &any, 1);
    ns_ike_add_ts(&b, NS_PL_TSR, &r, 1);
    *bp = b;
}

static void client_request_chain(struct chain *out, bool transport, const char *tsr)
{
    struct ns_ike_builder b;
    chain_begin(&b);
    add_request_payloads(&b, transport, tsr);
    chain_end(&b, out);
}

/* bob's IKE_AUTH request with his certificate and an AUTH whose signature
 * is no signature: the fuzzer's way to the certificate checks (X7). */
static void cert_request_chain(struct chain *out)
{
    struct ns_ike_builder b;
    uint8_t auth[1 + 15 + 256] = {15,   0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                  0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
    size_t n;
    const uint8_t *der = ns_x509_creds_chain_der(bob_creds, 0, &n);
    chain_begin(&b);
    ns_ike_add_id(&b, NS_PL_IDI, NS_CONF_ID_RFC822_ADDR, (const uint8_t *)"bob@corp.example", 16);
    ns_ike_add_cert(&b, NS_PL_CERT, NS_CERT_X509_SIGNATURE, der, n);
    ns_ike_add_auth(&b, NS_AUTH_DIGITAL_SIGNATURE, auth, sizeof(auth));
    add_request_payloads(&b, false, "192.0.2.0/24");
    chain_end(&b, out);
}

/* What a gateway answers in IKE_AUTH after ID and AUTH. */
static void gateway_response_chain(struct chain *out, const char *vip, const char *tsr)
{
    const struct ns_conf *gc = gateway_conf(0);
    struct ns_ike_builder b;
    chain_begin(&b);
    uint8_t a[4], d[4];
    struct ns_addr v = addr_of(vip);
    put32(a, ns_addr_to_ipv4(&v));
    put32(d, 0xc0000235);
    struct ns_ike_cp cp = {.type = NS_CFG_REPLY, .n = 2};
    cp.attr[0] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_ADDRESS, a, 4};
    cp.attr[1] = (struct ns_ike_cp_attr){NS_CP_INTERNAL_IP4_DNS, d, 4};
    ns_ike_add_cp(&b, &cp);
    uint8_t spi[4];
    put32(spi, GW_SPI_BASE + 7);
    struct ns_ike_sa offer;
    if (ns_sa_offer(gc->esp, 1, NS_PROTO_ESP, spi, 4, NS_SA_F_NO_DH, &offer) != NS_SA_OK)
        abort();
    ns_ike_add_sa(&b, &offer);
    struct ns_ts i, r;
    char p[64];
    snprintf(p, sizeof(p), "%s/32", vip);
    ns_ts_from_prefix(&i, p);
    ns_ts_from_prefix(&r, tsr);
    ns_ike_add_ts(&b, NS_PL_TSI, &i, 1);
    ns_ike_add_ts(&b, NS_PL_TSR, &r, 1);
    chain_end(&b, out);
}

static void delete_chain(struct chain *out, uint8_t protocol, uint32_t spi)
{
    struct ns_ike_builder b;
    chain_begin(&b);
    uint8_t s[4];
    put32(s, spi);
    if (protocol == NS_PROTO_IKE)
        ns_ike_add_delete(&b, NS_PROTO_IKE, 0, NULL, 0);
    else
        ns_ike_add_delete(&b, NS_PROTO_ESP, 4, s, 1);
    chain_end(&b, out);
}

static void notify_chain(struct chain *out, uint16_t type)
{
    struct ns_ike_builder b;
    chain_begin(&b);
    ns_ike_add_notify(&b, 0, NULL, 0, type, NULL, 0);
    chain_end(&b, out);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    init_once();
    struct chain c;

    /* Each stage and option alone, nothing else. */
    for (unsigned setup = 0; setup < 4; setup++) {
        s8(setup);
        char name[64];
        snprintf(name, sizeof(name), "stage%u", setup);
        seed_write(name);
    }
    s8(3 | 4);
    seed_write("nat-established");
    s8(3 | 4 | 0x08);
    seed_write("nat-cbc-established");
    s8(3 | 0x10 | 0x20);
    seed_write("chacha-forced-encap");
    s8(3 | 0x18 | 0x40 | 0x80);
    seed_write("ecp256-transport-default-peer");

    /* Stage 2: IKE_AUTH with a valid AUTH from the harness and fuzzable
     * child payloads, both ways. */
    client_request_chain(&c, false, "192.0.2.0/24");
    s8(2);
    s_sealed(false, false, true, 0, 0, 0, &c);
    seed_write("auth-request-spliced");
    s8(2 | 4);
    s_sealed(false, true, true, 0, 0, 0, &c);
    seed_write("nat-auth-request-spliced");
    client_request_chain(&c, true, "192.0.2.80/32");
    s8(2 | 0x40 | 0x80);
    s_sealed(false, false, true, 0, 0, 0, &c);
    seed_write("transport-auth-request-spliced");
    /* X7: bob with his certificate, a right and a wrong signature; and his
     * certificate and AUTH as payloads for the fuzzer to change. */
    client_request_chain(&c, false, "192.0.2.0/24");
    s8(2 | 4);
    s_sealed(false, true, true, 0, 16, 0, &c);
    seed_write("auth-request-certificate");
    s8(2);
    s_sealed(false, false, true, 0, 16 | 4, 0, &c);
    seed_write("auth-request-certificate-wrong-signature");
    cert_request_chain(&c);
    s8(2);
    s_sealed_as(false, false, false, true, 0, 0, 0, &c);
    seed_write("auth-request-certificate-framed");
    gateway_response_chain(&c, "10.99.0.2", "192.0.2.0/24");
    s8(2);
    s_sealed(true, false, true, 0, 1, 0, &c);
    seed_write("auth-response-spliced");
    gateway_response_chain(&c, "10.99.0.5", "192.0.2.128/25");
    s8(2 | 4);
    s_sealed(true, true, true, 0, 1, 0, &c);
    seed_write("nat-auth-response-narrowed");
    /* The same as payload lists. */
    client_request_chain(&c, false, "192.0.2.0/24");
    s8(2);
    s_sealed_as(false, false, true, true, 0, 0, 0, &c);
    seed_write("auth-request-spliced-framed");
    gateway_response_chain(&c, "10.99.0.2", "192.0.2.0/24");
    s8(2);
    s_sealed_as(true, false, true, true, 0, 1, 0, &c);
    seed_write("auth-response-spliced-framed");
    delete_chain(&c, NS_PROTO_ESP, GW_SPI_BASE + 1);
    s8(3);
    s_sealed_as(true, false, false, true, 1, 0, 0, &c);
    seed_write("gateway-deletes-child-framed");

    /* Forged IKE_SA_INIT answers to the client (framed): COOKIE,
     * INVALID_KE_PAYLOAD for its other group, NO_PROPOSAL_CHOSEN. */
    {
        static const uint8_t cookie[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        static const uint8_t ecp256[2] = {0, 19};
        struct ns_ike_builder b;
        chain_begin(&b);
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE, cookie, sizeof(cookie));
        chain_end(&b, &c);
        s8(1);
        s_framed(true, false, NS_IKE_SA_INIT, NS_IKE_FLAG_RESPONSE, &c);
        s8(4 | 1 << 3); /* link up: the repeated request is answered */
        s_time(1000, false);
        seed_write("init-forged-cookie");
        chain_begin(&b);
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INVALID_KE_PAYLOAD, ecp256, sizeof(ecp256));
        chain_end(&b, &c);
        s8(1);
        s8(4 | 1 << 3);
        s_framed(true, false, NS_IKE_SA_INIT, NS_IKE_FLAG_RESPONSE, &c);
        s_time(3000, false);
        seed_write("init-forged-invalid-ke");
        s8(1);
        for (int i = 0; i < 6; i++) { /* more rounds than allowed */
            chain_begin(&b);
            ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE, cookie, sizeof(cookie) - (size_t)i);
            chain_end(&b, &c);
            s_framed(true, false, NS_IKE_SA_INIT, NS_IKE_FLAG_RESPONSE, &c);
        }
        seed_write("init-forged-cookies-too-many");
        chain_begin(&b);
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_COOKIE, NULL, 0);
        chain_end(&b, &c);
        s8(1);
        s_framed(true, false, NS_IKE_SA_INIT, NS_IKE_FLAG_RESPONSE, &c);
        seed_write("init-forged-cookie-empty");
        static const uint8_t modp2048[2] = {0, 14};
        chain_begin(&b);
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INVALID_KE_PAYLOAD, modp2048, sizeof(modp2048));
        chain_end(&b, &c);
        s8(1);
        s_framed(true, false, NS_IKE_SA_INIT, NS_IKE_FLAG_RESPONSE, &c);
        seed_write("init-forged-invalid-ke-unoffered");
        notify_chain(&c, NS_N_NO_PROPOSAL_CHOSEN);
        s8(1);
        s_framed(true, false, NS_IKE_SA_INIT, NS_IKE_FLAG_RESPONSE, &c);
        seed_write("init-forged-no-proposal");
        /* An IKE_SA_INIT request from a stranger: SA, KE, Ni. */
        const struct ns_conf *gc = gateway_conf(0);
        struct ns_ike_sa offer;
        uint8_t ke[32], nonce[32];
        for (int i = 0; i < 32; i++)
            ke[i] = (uint8_t)(9 + i), nonce[i] = (uint8_t)(100 + i);
        if (ns_sa_offer(gc->ike, 1, NS_PROTO_IKE, NULL, 0, 0, &offer) != NS_SA_OK)
            abort();
        chain_begin(&b);
        ns_ike_add_sa(&b, &offer);
        ns_ike_add_ke(&b, 31, ke, sizeof(ke));
        ns_ike_add_nonce(&b, nonce, sizeof(nonce));
        chain_end(&b, &c);
        s8(0);
        s8(0u | 1u << 5 | 1u << 7); /* framed, from a stranger, no SPI patch */
        size_t n = chain_to_list(&c, seed + seed_len + 2 + 19);
        s16((unsigned)(19 + n));
        s8(NS_IKE_SA_INIT);
        s8(NS_IKE_FLAG_INITIATOR);
        s8(0);
        for (int i = 0; i < 16; i++)
            s8(i < 8 ? 0x42 : 0);
        seed_len += n;
        seed_write("init-request-from-stranger");
        /* X13: one stranger fills the table (6), three from the COOKIE
         * threshold on returning the gateway's COOKIE; two addresses of one
         * IPv6 /64 take the place of its oldest two, its own next request
         * is refused, a third source takes another; then they expire. */
        s8(0);
        for (unsigned i = 1; i <= 6; i++)
            s_init_from_stranger(&c, i > 3 ? 4 : 0, i);
        s_init_from_stranger(&c, 4 | 2, 7);
        s_init_from_stranger(&c, 4 | 3, 8);
        s_init_from_stranger(&c, 4, 9);
        s_init_from_stranger(&c, 4 | 1, 10);
        s_time(120, true);
        seed_write("init-fair-share");
    }

    /* Without the splice, or with a wrong AUTH or identity spliced in:
     * authentication failures both ways. */
    client_request_chain(&c, false, "192.0.2.0/24");
    s8(2);
    s_sealed(false, false, false, 0, 0, 0, &c);
    seed_write("auth-request-no-auth");
    s8(2);
    s_sealed(false, false, true, 0, 4, 0, &c);
    seed_write("auth-request-wrong-auth");
    s8(2);
    s_sealed(false, false, true, 0, 8, 0, &c);
    seed_write("auth-request-wrong-idr");
    client_request_chain(&c, true, "192.0.2.0/24");
    s8(2);
    s_sealed(false, false, true, 0, 0, 0, &c);
    seed_write("auth-request-transport-not-allowed");
    gateway_response_chain(&c, "10.99.0.2", "192.0.2.0/24");
    s8(2);
    s_sealed(true, false, true, 0, 1 | 4, 0, &c);
    seed_write("auth-response-wrong-auth");
    s8(2);
    s_sealed(true, false, true, 0, 1 | 8, 0, &c);
    seed_write("auth-response-impostor");

    /* A second IKE SA for carol (the replayed IKE_SA_INIT from elsewhere,
     * no INITIAL_CONTACT) while the first holds the /30's one address. */
    seed_no_initial_contact = true;
    client_request_chain(&c, false, "192.0.2.80/32");
    seed_no_initial_contact = false;
    s8(3 | 0x80);
    s8(2 | 1 << 3); /* MUTATE from a stranger */
    s8(0);
    s8(0);
    s8(7);
    seed_sel = 1;
    s_sealed(false, false, true, 0, 0, 0, &c);
    seed_sel = 0;
    seed_write("pool-exhausted");

    /* Stage 3: INFORMATIONAL both ways. */
    delete_chain(&c, NS_PROTO_IKE, 0);
    s8(3);
    s_sealed(false, false, false, 1, 0, 0, &c);
    seed_write("client-deletes-ike");
    s8(3);
    s_sealed(true, false, false, 1, 0, 0, &c);
    seed_write("gateway-deletes-ike");
    delete_chain(&c, NS_PROTO_ESP, CL_SPI_BASE + 1);
    s8(3);
    s_sealed(false, false, false, 1, 0, 0, &c);
    seed_write("client-deletes-child");
    delete_chain(&c, NS_PROTO_ESP, GW_SPI_BASE + 1);
    s8(3 | 4);
    s_sealed(true, true, false, 1, 0, 0, &c);
    seed_write("nat-gateway-deletes-child");
    s8(3);
    s_sealed(false, false, false, 1, 0, 0, NULL);
    s_sealed(false, false, false, 1, 0, 1, NULL); /* the same ID again */
    seed_write("liveness-and-retransmission");
    s8(3);
    s_sealed(false, false, false, 1, 0, 1, NULL); /* IKE_AUTH's ID, as INFORMATIONAL */
    seed_write("stale-id-other-exchange");
    notify_chain(&c, NS_N_AUTHENTICATION_FAILED);
    s8(3);
    s_sealed(true, false, false, 1, 0, 0, &c);
    seed_write("authentication-failed-notify");
    s8(3);
    s_sealed(false, false, false, 2, 0, 0, NULL);
    seed_write("create-child-sa");
    s8(3);
    s_sealed(true, false, false, 1, 1, 0, NULL);
    seed_write("unsolicited-response");

    /* Timers: liveness, retransmission and give-up with the link down,
     * half-open expiry, NAT rebinding with ESP and IKE from new ports. */
    s8(3);
    s_time(6000, false);
    seed_write("dpd");
    s8(3);
    s8(4 | 1 << 3); /* link down */
    s_time(200, true);
    seed_write("dpd-timeout");
    s8(2);
    s_time(200, true);
    seed_write("half-open-expiry");
    s8(1);
    s_time(3000, false);
    seed_write("init-retransmit-give-up");
    s8(3 | 4);
    s8(5 | 5 << 3); /* NAT rebinding */
    s8(5 | 2 << 3); /* ESP from the client's new port */
    s16(45500);
    s_sealed(false, true, false, 1, 0, 0, NULL);
    seed_write("nat-rebinding");
    s8(3);
    s8(5 | 1 << 3); /* disconnect */
    s_time(100, false);
    s8(5); /* connect again */
    s_time(1000, false);
    seed_write("disconnect-reconnect");
    s8(3);
    s8(5 | 6 << 3); /* no SPIs */
    s8(5 | 1 << 3);
    s_time(100, false);
    s8(5);
    s_time(1000, false);
    seed_write("reconnect-without-spis");
    s8(3);
    s8(5 | 7 << 3); /* the gateway's data plane refuses */
    s8(5 | 1 << 3);
    s_time(100, false);
    s8(5);
    s_time(1000, false);
    seed_write("reconnect-child-refused");

    /* Life cycle: re-keys asked for on either side (CHILD_SAs, the IKE
     * SA, both at once: a collision), at the soft lifetime with traffic,
     * at the byte lifetime, and a hard lifetime with the link down. */
    for (unsigned k = 0; k < 4; k++) {
        static const char *const names[4] = {"rekey-child-gateway", "rekey-ike-gateway",
                                             "rekey-child-client", "rekey-ike-client"};
        s8(3 | (k & 1 ? 0x08 : 0)); /* split install for odd ones */
        s8(5 | (9 + k) << 3);       /* natsecctl rekey */
        s_time(2000, false);
        s8(5 | 13 << 3 | 0x80); /* traffic both ways on the client */
        s16(100);
        s8(5 | 14 << 3 | 0x80); /* and on the gateway */
        s16(100);
        s_time(5000, false);
        seed_write(names[k]);
    }
    s8(3);
    s8(5 | 9 << 3);
    s8(5 | 11 << 3); /* both at once */
    s_time(3000, false);
    seed_write("rekey-child-collision");
    s8(3 | 0x08);
    s8(5 | 10 << 3);
    s8(5 | 12 << 3);
    s_time(3000, false);
    seed_write("rekey-ike-collision");
    s8(3 | 0x10);
    for (int i = 0; i < 10; i++) {
        s8(5 | 13 << 3 | 0x80);
        s16(1500); /* 96 kB a time: the soft byte limit before the hard one */
        s8(5 | 14 << 3 | 0x80);
        s16(1500);
        s_time(1000, false);
    }
    seed_write("rekey-bytes-pfs");
    s8(3);
    s_time(200, true); /* 51 s: soft and hard lifetimes, DPD on the way */
    seed_write("lifetimes");
    s8(3 | 0x08);
    s8(4 | 1 << 3); /* link down: every re-key fails */
    s_time(200, true);
    seed_write("lifetimes-link-down");
    s8(3);
    s8(5 | 15 << 3); /* SIGTERM on the gateway */
    seed_write("shutdown-gateway");
    s8(3 | 4);
    s8(5 | 15 << 3 | 0x80); /* and on the client, behind a NAT */
    s_time(1000, false);
    seed_write("shutdown-client");
    /* The client answered an IKE SA re-key whose answer never arrived: it
     * holds the new IKE SA and the old one, re-keyed, until the gateway's
     * DELETE, and its shutdown deletes both. */
    s8(3 | 4);
    s8(5 | 5 << 3);         /* NAT rebinding: the gateway's next request is lost */
    s8(5 | 10 << 3 | 0x80); /* natsecctl rekey of the gateway's IKE SA */
    s8(2 | 1 << 3);         /* that request (the 5th datagram) from a stranger */
    s8(4);
    s8(0);
    s8(0xd5);
    s8(5 | 15 << 3 | 0x80); /* SIGTERM on the client */
    seed_write("rekey-ike-answer-lost-shutdown-client");
    /* Lifetimes with the link going down and up: the client re-keys the
     * CHILD_SA that its last re-key made, and that child then turns out to
     * be the redundant one of a simultaneous re-key of its predecessor
     * (2.8.1) before the answer to its own re-key arrives. */
    s8(3 | 4 | 3 << 3 | 0x20 | 0x40 | 0x80); /* carol, transport, ECP-256 */
    s8(3 | 12 << 3);
    s16(31089);
    s8(7), s8(7);
    s8(4 | 23 << 3); /* link down, in flight dropped */
    s8(7), s8(7);
    s8(4 | 23 << 3); /* up again */
    s8(6);
    s8(4 | 23 << 3);
    s8(5 | 11 << 3); /* natsecctl rekey of the client's CHILD_SAs */
    s8(4 | 23 << 3);
    s8(7), s8(7), s8(7);
    seed_write("rekey-child-of-redundant-child");
    {
        /* The gateway gives up an IKE SA whose DELETE goes unanswered; the
         * client's next request gets its QCD answer, and a copy of that
         * answer with the RESERVED bits and the critical flag of its first
         * payload set (ignored on receipt, RFC 7296 3.2) ends the client's
         * SA as the answer itself does. (A fuzzer's finding, minimized.) */
        static const uint8_t qcd_copy[] = {
            0x03, 0xcd, 0xdc, 0xff, 0xff, 0xff, 0xff, 0x27, 0xff, 0xff, 0xff, 0x03,
            0xe8, 0x03, 0xd2, 0x00, 0x00, 0x27, 0xff, 0xff, 0xff, 0x03, 0xe8, 0x03,
            0xd2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2,
            0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0x9d, 0x9d, 0x2f, 0x9d};
        sbytes(qcd_copy, sizeof(qcd_copy));
        seed_write("qcd-answer-reserved-bits");
    }

    /* The recorded handshake again: replays, floods from strangers,
     * corrupted copies. */
    s8(3);
    for (unsigned i = 0; i < 4; i++) {
        s8(2);
        s8(i);
        s8(0);
    }
    seed_write("replay-handshake");
    s8(1);
    for (unsigned i = 0; i < 5; i++) {
        s8(2 | 1 << 3); /* from a stranger */
        s8(0);
        s8(1);
        s16(i); /* a different SPIi each */
        s8(1);
        s8(i); /* and a different port */
    }
    seed_write("init-flood-cookies");
    s8(1);
    s8(4 | 1 << 3); /* link up: the answer arrives */
    s8(2);
    s8(0);
    s8(0);
    seed_write("init-delivered-late");
    s8(3);
    s8(2);
    s8(3);
    s8(1);
    s16(40);
    s8(0x80);
    seed_write("auth-response-corrupt");

    /* Raw datagrams with the real SPIs: the checks before the SK. */
    s8(3);
    uint8_t raw[64] = {0};
    raw[16] = NS_PL_SK;
    raw[17] = 0x20;
    raw[18] = NS_INFORMATIONAL;
    raw[19] = NS_IKE_FLAG_INITIATOR;
    raw[23] = 2;
    raw[27] = 64;
    raw[29] = 0;
    raw[31] = 36;
    s8(0 | 8 << 3);
    s16(sizeof(raw));
    sbytes(raw, sizeof(raw));
    seed_write("raw-with-spis");

    /* Quick crash detection (RFC 6290): a protected INFORMATIONAL request
     * for IKE SPIs the gateway has no SA of gets the crash answer; the
     * client, its liveness check out (link down), is sent an unprotected
     * INVALID_IKE_SPI with a QCD token that is not its own. */
    s8(3);
    for (int i = 0; i < 16; i++)
        raw[i] = (uint8_t)(0xa0 + i);
    s8(0);
    s16(sizeof(raw));
    sbytes(raw, sizeof(raw));
    seed_write("qcd-unknown-spi");
    s8(3);
    s8(4 | 1 << 3); /* link down */
    s_time(6000, false);
    {
        struct ns_ike_builder b;
        uint8_t tok[32];
        memset(tok, 0x5c, sizeof(tok));
        chain_begin(&b);
        ns_ike_add_notify(&b, 0, NULL, 0, NS_N_INVALID_IKE_SPI, NULL, 0);
        ns_ike_add_notify(&b, NS_PROTO_IKE, NULL, 0, NS_N_QCD_TOKEN, tok, sizeof(tok));
        chain_end(&b, &c);
    }
    s_framed(true, false, NS_INFORMATIONAL, NS_IKE_FLAG_RESPONSE, &c);
    seed_write("qcd-crash-answer");
    return 0;
}

#endif
