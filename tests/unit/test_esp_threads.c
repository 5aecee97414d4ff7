/* Several data-plane workers on one SA at once (docs/design.md, threads):
 * threads sealing on one outbound SA never share a sequence number and
 * every packet they make opens; threads opening copies of the same packets
 * on one inbound SA accept each number exactly once (no replay gets
 * through), and the SA's counters add up. R7 (replay protection), R12
 * (many clients on one gateway, served by several cores). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "esp/esp.h"
#include "util/buf.h"
#include "util/csum.h"

#define THREADS 4
#define PER_THREAD 3000 /* sealed by each thread */
#define COPIES 4000     /* opened by every thread: fewer than the window */
#define CAP 512
#define INNER 100

static struct ns_addr A(const char *s)
{
    struct ns_addr a;
    assert_int_equal(ns_addr_parse(&a, s), 0);
    return a;
}

static struct ns_ts TS(const char *cidr)
{
    struct ns_ts t;
    assert_int_equal(ns_ts_from_prefix(&t, cidr), 0);
    return t;
}

struct pair {
    struct ns_sad *client, *gw;
    struct ns_esp_sa *out, *in;
};

/* A client's outbound SA (AES-GCM, with ESN) and the gateway's inbound
 * twin, in SADs shared between threads or not. */
static void pair_setup_shared(struct pair *p, bool shared)
{
    p->client = ns_sad_new();
    p->gw = ns_sad_new();
    assert_non_null(p->client);
    assert_non_null(p->gw);
    ns_sad_set_shared(p->client, shared);
    ns_sad_set_shared(p->gw, shared);
    struct ns_esp_sa_spec s;
    memset(&s, 0, sizeof(s));
    s.dir = NS_ESP_OUTBOUND;
    s.spi = ns_sad_alloc_spi(p->gw);
    s.mode = NS_ESP_TUNNEL;
    s.esn = true;
    s.encr = NS_ENCR_AES_GCM_16;
    s.key_bits = 128;
    s.integ = NS_INTEG_NONE;
    s.encr_key_len = ns_encr_keymat_len(s.encr, s.key_bits);
    for (size_t i = 0; i < sizeof(s.encr_key); i++)
        s.encr_key[i] = (uint8_t)(0x40 + i * 13);
    s.local_ts[0] = TS("10.99.0.7/32");
    s.n_local_ts = 1;
    s.remote_ts[0] = TS("10.1.0.0/16");
    s.n_remote_ts = 1;
    s.udp_encap = true;
    s.local.addr = A("192.168.1.2");
    s.local.port = 4500;
    s.peer.addr = A("192.0.2.1");
    s.peer.port = 4500;
    s.ike_sa_id = 1;
    p->out = ns_sad_install(p->client, &s);
    struct ns_esp_sa_spec in = s;
    in.dir = NS_ESP_INBOUND;
    in.local_ts[0] = s.remote_ts[0];
    in.remote_ts[0] = s.local_ts[0];
    in.local = s.peer;
    in.peer = s.local;
    p->in = ns_sad_install(p->gw, &in);
    assert_non_null(p->out);
    assert_non_null(p->in);
}

static void pair_setup(struct pair *p)
{
    pair_setup_shared(p, true);
}

static void pair_free(struct pair *p)
{
    ns_sad_free(p->client);
    ns_sad_free(p->gw);
}

/* A UDP packet from the client's address into the corporate network. */
static size_t inner_packet(uint8_t *out, uint16_t sport)
{
    struct ns_addr s = A("10.99.0.7"), d = A("10.1.2.3");
    size_t l4_len = 8 + INNER;
    memset(out, 0, 20 + l4_len);
    out[0] = 0x45;
    ns_put_u16(out + 2, (uint16_t)(20 + l4_len));
    out[8] = 64;
    out[9] = 17;
    memcpy(out + 12, s.a, 4);
    memcpy(out + 16, d.a, 4);
    ns_put_u16(out + 10, ns_csum_ipv4_header(out, 20));
    uint8_t *l4 = out + 20;
    ns_put_u16(l4, sport);
    ns_put_u16(l4 + 2, 9);
    ns_put_u16(l4 + 4, (uint16_t)l4_len);
    for (size_t i = 0; i < INNER; i++)
        l4[8 + i] = (uint8_t)(i * 31 + sport);
    ns_put_u16(l4 + 6, ns_csum_pseudo(17, l4, l4_len, &s, &d));
    return 20 + l4_len;
}

/* One sealed ESP packet and its sequence number (low 32 bits on the wire;
 * far below 2^32 here, so that is the whole number). */
struct wire {
    uint8_t data[CAP];
    size_t len;
    uint32_t seq;
};

struct sealer {
    pthread_t th;
    struct pair *p;
    unsigned id;
    struct wire *w; /* n */
    unsigned n;
    unsigned failed;
};

static void *seal_run(void *arg)
{
    struct sealer *s = arg;
    for (unsigned i = 0; i < s->n; i++) {
        uint8_t buf[CAP];
        struct ns_pkt pkt;
        ns_pkt_init(&pkt, buf, sizeof(buf));
        pkt.len = inner_packet(ns_pkt_data(&pkt), (uint16_t)(1000 + s->id));
        struct ns_esp_sa *sa;
        if (ns_esp_output(s->p->client, &pkt, 1, &sa) != NS_ESP_OK || sa != s->p->out) {
            s->failed++;
            continue;
        }
        struct wire *w = &s->w[i];
        memcpy(w->data, ns_pkt_data(&pkt), pkt.len);
        w->len = pkt.len;
        w->seq = ns_get_u32(w->data + 4);
    }
    return NULL;
}

static int by_seq(const void *a, const void *b)
{
    const struct wire *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static enum ns_esp_result open_copy(struct pair *p, const struct wire *w)
{
    uint8_t buf[CAP];
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, buf, sizeof(buf));
    memcpy(ns_pkt_data(&pkt), w->data, w->len);
    pkt.len = w->len;
    struct ns_esp_in_info info;
    return ns_esp_decap(p->gw, &pkt, NULL, NULL, true, 2, &info);
}

static void sealing_threads_never_share_a_number(void **state)
{
    (void)state;
    struct pair p;
    pair_setup(&p);
    struct wire *all = calloc(THREADS * PER_THREAD, sizeof(*all));
    assert_non_null(all);
    struct sealer s[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        s[t] = (struct sealer){.p = &p, .id = t, .w = all + t * PER_THREAD, .n = PER_THREAD};
        assert_int_equal(pthread_create(&s[t].th, NULL, seal_run, &s[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(s[t].th, NULL), 0);
        assert_int_equal(s[t].failed, 0);
    }
    /* Numbers 1 .. THREADS * PER_THREAD, each once. */
    qsort(all, THREADS * PER_THREAD, sizeof(*all), by_seq);
    for (unsigned i = 0; i < THREADS * PER_THREAD; i++)
        assert_int_equal(all[i].seq, i + 1);
    assert_int_equal(ns_esp_sa_stats(p.out)->packets, THREADS * PER_THREAD);
    struct ns_esp_sa_info info;
    ns_esp_sa_get_info(p.out, &info);
    assert_int_equal(info.seq, THREADS * PER_THREAD);
    /* Every packet opens: no seal ran over another's cipher state. */
    for (unsigned i = 0; i < THREADS * PER_THREAD; i++)
        assert_int_equal(open_copy(&p, &all[i]), NS_ESP_OK);
    assert_int_equal(ns_esp_sa_stats(p.in)->packets, THREADS * PER_THREAD);
    free(all);
    pair_free(&p);
}

struct opener {
    pthread_t th;
    struct pair *p;
    const struct wire *w; /* COPIES */
    unsigned id;
    unsigned ok, replay, other;
};

static void *open_run(void *arg)
{
    struct opener *o = arg;
    /* Each thread its own order: a different stride through the copies. */
    static const unsigned stride[THREADS] = {1, 7, 13, 3999};
    for (unsigned i = 0; i < COPIES; i++) {
        unsigned k = (i * stride[o->id] + o->id * 997) % COPIES;
        switch (open_copy(o->p, &o->w[k])) {
        case NS_ESP_OK:
            o->ok++;
            break;
        case NS_ESP_REPLAY:
            o->replay++;
            break;
        default:
            o->other++;
            break;
        }
    }
    return NULL;
}

static void opening_threads_accept_each_number_once(void **state)
{
    (void)state;
    struct pair p;
    pair_setup(&p);
    struct wire *w = calloc(COPIES, sizeof(*w));
    assert_non_null(w);
    struct sealer one = {.p = &p, .w = w, .n = COPIES};
    seal_run(&one);
    assert_int_equal(one.failed, 0);
    struct opener o[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        o[t] = (struct opener){.p = &p, .w = w, .id = t};
        assert_int_equal(pthread_create(&o[t].th, NULL, open_run, &o[t]), 0);
    }
    unsigned ok = 0, replay = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(o[t].th, NULL), 0);
        assert_int_equal(o[t].other, 0); /* no ICV failure from a shared cipher */
        ok += o[t].ok;
        replay += o[t].replay;
    }
    assert_int_equal(ok, COPIES);
    assert_int_equal(replay, (THREADS - 1) * COPIES);
    const struct ns_esp_sa_stats *st = ns_esp_sa_stats(p.in);
    assert_int_equal(st->packets, COPIES);
    assert_int_equal(st->replay_drops, (THREADS - 1) * COPIES);
    assert_int_equal(ns_sad_drops(p.gw, NS_ESP_REPLAY), (THREADS - 1) * COPIES);
    free(w);
    pair_free(&p);
}

/* A SAD whose directions each run on one thread (natsecd with workers =
 * 1) keeps the same results with plain stores: numbers in order, each
 * accepted once, a copy refused as a replay, the counters right. */
static void unshared_sad_same_results(void **state)
{
    (void)state;
    struct pair p;
    pair_setup_shared(&p, false);
    struct wire *w = calloc(100, sizeof(*w));
    assert_non_null(w);
    struct sealer one = {.p = &p, .w = w, .n = 100};
    seal_run(&one);
    assert_int_equal(one.failed, 0);
    for (unsigned i = 0; i < 100; i++) {
        assert_int_equal(w[i].seq, i + 1);
        assert_int_equal(open_copy(&p, &w[i]), NS_ESP_OK);
    }
    assert_int_equal(open_copy(&p, &w[50]), NS_ESP_REPLAY);
    assert_int_equal(ns_esp_sa_stats(p.out)->packets, 100);
    assert_int_equal(ns_esp_sa_stats(p.in)->packets, 100);
    assert_int_equal(ns_esp_sa_stats(p.in)->replay_drops, 1);
    assert_int_equal(ns_sad_drops(p.gw, NS_ESP_REPLAY), 1);
    free(w);
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sealing_threads_never_share_a_number),
        cmocka_unit_test(opening_threads_accept_each_number_once),
        cmocka_unit_test(unshared_sad_same_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
