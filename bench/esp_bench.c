/* Per-packet cost of natsec's ESP data path against bare OpenSSL AEAD.
 *
 * For each inner packet size (64, 512 and 1400 bytes, an IPv4/UDP packet
 * from a client's virtual IP to a corporate server), measures:
 *
 *   natsec: ns_esp_output (SPD lookup + encapsulation, AES-128-GCM-16,
 *           tunnel mode, as the gateway's TUN path calls it) followed by
 *           ns_esp_decap on the peer's SAD (SPI lookup, replay check,
 *           decryption, trailer and inner selector checks, R17);
 *   bare:   EVP AES-128-GCM seal then open of the same number of bytes in
 *           place, with the same key and salt, an 8-byte AAD and a 12-byte
 *           nonce made of the salt and a counter, as ESP does.
 *
 * Both run in place in one buffer, so neither copies the packet. Each size
 * runs about 2 x ESP_BENCH_SECONDS (env, default 1 s) in SLICES slices that
 * alternate natsec and bare AEAD, so that other work on a shared machine
 * hits both alike; reported are the median slice of each and the median of
 * the per-slice-pair ratios. Output: one
 * human line per size, then machine lines
 *   RESULT esp size=<n> natsec_ns=<x> aead_ns=<y> ratio=<x/y>
 * for bench/run.sh. Exit status 1 when a round trip fails (the numbers of a
 * broken path mean nothing). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "esp/esp.h"
#include "util/buf.h"
#include "util/time.h"

#define BUF_CAP 2048
#define SLICES 9
#define SPI_GW 0x1000a001u

static uint8_t key[20]; /* AES-128 key || 4-byte salt (RFC 4106) */

static void die(const char *what)
{
    fprintf(stderr, "esp_bench: %s\n", what);
    exit(1);
}

static struct ns_ts prefix_ts(const char *cidr)
{
    struct ns_ts t;
    if (ns_ts_from_prefix(&t, cidr) != 0)
        die("bad prefix");
    return t;
}

static struct ns_endpoint endpoint(const char *addr, uint16_t port)
{
    struct ns_endpoint e;
    memset(&e, 0, sizeof(e));
    if (ns_addr_parse(&e.addr, addr) != 0)
        die("bad address");
    e.port = port;
    return e;
}

/* One direction of the gateway-to-client CHILD_SA: the gateway's outbound
 * SA and the client's inbound SA share the SPI and key. */
static void spec_fill(struct ns_esp_sa_spec *s, enum ns_esp_dir dir)
{
    memset(s, 0, sizeof(*s));
    s->dir = dir;
    s->spi = SPI_GW;
    s->mode = NS_ESP_TUNNEL;
    s->encr = NS_ENCR_AES_GCM_16;
    s->key_bits = 128;
    s->integ = NS_INTEG_NONE;
    memcpy(s->encr_key, key, sizeof(key));
    s->encr_key_len = sizeof(key);
    s->udp_encap = true;
    s->ike_sa_id = 1;
    struct ns_ts corp = prefix_ts("192.0.2.0/24");
    struct ns_ts vip = prefix_ts("10.99.0.2/32");
    if (dir == NS_ESP_OUTBOUND) { /* the gateway */
        s->local_ts[0] = corp;
        s->remote_ts[0] = vip;
        s->local = endpoint("198.51.100.1", 4500);
        s->peer = endpoint("198.51.100.11", 4500);
    } else { /* the client */
        s->local_ts[0] = vip;
        s->remote_ts[0] = corp;
        s->local = endpoint("10.1.0.2", 4500);
        s->peer = endpoint("198.51.100.1", 4500);
    }
    s->n_local_ts = 1;
    s->n_remote_ts = 1;
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += ns_get_u16(p + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An IPv4/UDP packet of len bytes from 192.0.2.10:5201 to 10.99.0.2:40000. */
static void make_packet(uint8_t *p, size_t len)
{
    memset(p, 0, len);
    p[0] = 0x45;
    ns_put_u16(p + 2, (uint16_t)len);
    p[8] = 64;
    p[9] = 17;
    const uint8_t src[4] = {192, 0, 2, 10}, dst[4] = {10, 99, 0, 2};
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    ns_put_u16(p + 10, ip_csum(p, 20));
    ns_put_u16(p + 20, 5201);
    ns_put_u16(p + 22, 40000);
    ns_put_u16(p + 24, (uint16_t)(len - 20));
    for (size_t i = 28; i < len; i++)
        p[i] = (uint8_t)(i * 7);
}

struct esp_case {
    struct ns_sad *gw, *client;
    uint8_t buf[BUF_CAP];
    uint8_t ref[BUF_CAP];
    size_t len;
};

/* n round trips; returns 0, or -1 when one fails. */
static int esp_run(struct esp_case *c, uint64_t n)
{
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, c->buf, sizeof(c->buf));
    pkt.len = c->len;
    const size_t head = pkt.head;
    uint64_t now = ns_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        /* The daemon reads the clock once per batch of packets. */
        if ((i & 1023) == 0)
            now = ns_now_ns();
        struct ns_esp_sa *sa;
        if (ns_esp_output(c->gw, &pkt, now, &sa) != NS_ESP_OK)
            return -1;
        struct ns_esp_in_info info;
        if (ns_esp_decap(c->client, &pkt, NULL, NULL, true, now, &info) != NS_ESP_OK)
            return -1;
        /* In place both ways: the inner packet is back where it started. */
        if (pkt.head != head || pkt.len != c->len)
            return -1;
    }
    return 0;
}

struct aead_case {
    EVP_CIPHER_CTX *enc, *dec;
    uint8_t buf[BUF_CAP];
    uint8_t ref[BUF_CAP];
    size_t len;
    uint64_t seq;
};

static int aead_run(struct aead_case *c, uint64_t n)
{
    uint8_t nonce[12], aad[8], tag[16];
    memcpy(nonce, key + 16, 4);
    int outl;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t seq = ++c->seq;
        ns_put_u32(nonce + 4, (uint32_t)(seq >> 32));
        ns_put_u32(nonce + 8, (uint32_t)seq);
        ns_put_u32(aad, SPI_GW);
        ns_put_u32(aad + 4, (uint32_t)seq);
        if (!EVP_EncryptInit_ex(c->enc, NULL, NULL, NULL, nonce) ||
            !EVP_EncryptUpdate(c->enc, NULL, &outl, aad, sizeof(aad)) ||
            !EVP_EncryptUpdate(c->enc, c->buf, &outl, c->buf, (int)c->len) ||
            !EVP_EncryptFinal_ex(c->enc, c->buf + outl, &outl) ||
            !EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_GET_TAG, 16, tag))
            return -1;
        if (!EVP_DecryptInit_ex(c->dec, NULL, NULL, NULL, nonce) ||
            !EVP_DecryptUpdate(c->dec, NULL, &outl, aad, sizeof(aad)) ||
            !EVP_DecryptUpdate(c->dec, c->buf, &outl, c->buf, (int)c->len) ||
            !EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_TAG, 16, tag) ||
            EVP_DecryptFinal_ex(c->dec, c->buf + outl, &outl) <= 0)
            return -1;
    }
    return 0;
}

typedef int (*run_fn)(void *c, uint64_t n);

static int esp_run_v(void *c, uint64_t n)
{
    return esp_run(c, n);
}

static int aead_run_v(void *c, uint64_t n)
{
    return aead_run(c, n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Round trips of fn in about 20 ms (at least 1000), and ns per round trip. */
static uint64_t calibrate(run_fn fn, void *c, double *per)
{
    uint64_t n = 1000;
    for (;;) {
        uint64_t t0 = ns_now_ns();
        if (fn(c, n) != 0)
            die("round trip failed");
        uint64_t dt = ns_now_ns() - t0;
        if (dt >= 20000000ull) {
            *per = (double)dt / (double)n;
            return n;
        }
        n *= 4;
    }
}

static double slice(run_fn fn, void *c, uint64_t n)
{
    uint64_t t0 = ns_now_ns();
    if (fn(c, n) != 0)
        die("round trip failed");
    return (double)(ns_now_ns() - t0) / (double)n;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return v[n / 2];
}

/* Alternating slices of a and b, about seconds each in all: medians of the
 * ns per round trip of each and of the ratios a/b of each pair of slices. */
static void measure_pair(run_fn fa, void *ca, run_fn fb, void *cb, double seconds, double *a_ns,
                         double *b_ns, double *ratio)
{
    double pa, pb;
    calibrate(fa, ca, &pa);
    calibrate(fb, cb, &pb);
    uint64_t na = (uint64_t)(seconds / SLICES * 1e9 / pa);
    uint64_t nb = (uint64_t)(seconds / SLICES * 1e9 / pb);
    na = na < 1000 ? 1000 : na;
    nb = nb < 1000 ? 1000 : nb;
    double ra[SLICES], rb[SLICES], rr[SLICES];
    for (int s = 0; s < SLICES; s++) {
        ra[s] = slice(fa, ca, na);
        rb[s] = slice(fb, cb, nb);
        rr[s] = ra[s] / rb[s];
    }
    *a_ns = median(ra, SLICES);
    *b_ns = median(rb, SLICES);
    *ratio = median(rr, SLICES);
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    const char *env = getenv("ESP_BENCH_SECONDS");
    if (env && atof(env) > 0)
        seconds = atof(env);
    static const size_t sizes_default[] = {64, 512, 1400};
    size_t sizes[16];
    size_t n_sizes = 0;
    for (int i = 1; i < argc && n_sizes < 16; i++) {
        long v = atol(argv[i]);
        if (v < 28 || v > 1500)
            die("sizes must be 28..1500 bytes");
        sizes[n_sizes++] = (size_t)v;
    }
    if (n_sizes == 0) {
        memcpy(sizes, sizes_default, sizeof(sizes_default));
        n_sizes = 3;
    }
    if (ns_random_bytes(key, sizeof(key)) != 0)
        die("no random bytes");

    static struct esp_case ec;
    static struct aead_case ac;
    ec.gw = ns_sad_new();
    ec.client = ns_sad_new();
    if (!ec.gw || !ec.client)
        die("no memory");
    /* natsecd's default (workers = 1) uses each direction on one thread;
     * ESP_BENCH_SHARED=1 measures the SA state of workers > 1 (atomics,
     * spin locks: docs/design.md). */
    const char *shared = getenv("ESP_BENCH_SHARED");
    ns_sad_set_shared(ec.gw, shared && strcmp(shared, "1") == 0);
    ns_sad_set_shared(ec.client, shared && strcmp(shared, "1") == 0);
    struct ns_esp_sa_spec spec;
    spec_fill(&spec, NS_ESP_OUTBOUND);
    if (!ns_sad_install(ec.gw, &spec))
        die("cannot install the outbound SA");
    spec_fill(&spec, NS_ESP_INBOUND);
    if (!ns_sad_install(ec.client, &spec))
        die("cannot install the inbound SA");

    ac.enc = EVP_CIPHER_CTX_new();
    ac.dec = EVP_CIPHER_CTX_new();
    if (!ac.enc || !ac.dec || !EVP_EncryptInit_ex(ac.enc, EVP_aes_128_gcm(), NULL, key, NULL) ||
        !EVP_DecryptInit_ex(ac.dec, EVP_aes_128_gcm(), NULL, key, NULL))
        die("OpenSSL AES-128-GCM setup failed");

    printf("%-6s %14s %14s %7s\n", "bytes", "natsec ns/pkt", "EVP ns/pkt", "ratio");
    double ratio[16], esp_ns[16], aead_ns[16];
    for (size_t i = 0; i < n_sizes; i++) {
        size_t len = sizes[i];
        ec.len = len;
        ac.len = len;
        make_packet(ec.buf + NS_PKT_HEADROOM, len);
        memcpy(ec.ref, ec.buf + NS_PKT_HEADROOM, len);
        make_packet(ac.buf, len);
        memcpy(ac.ref, ac.buf, len);
        measure_pair(esp_run_v, &ec, aead_run_v, &ac, seconds, &esp_ns[i], &aead_ns[i], &ratio[i]);
        /* Both paths must have given back exactly the original packet. */
        if (memcmp(ec.ref, ec.buf + NS_PKT_HEADROOM, len) != 0 || memcmp(ac.ref, ac.buf, len))
            die("a round trip changed the packet");
        printf("%-6zu %14.1f %14.1f %6.2fx\n", len, esp_ns[i], aead_ns[i], ratio[i]);
        fflush(stdout);
    }
    for (size_t i = 0; i < n_sizes; i++)
        printf("RESULT esp size=%zu natsec_ns=%.1f aead_ns=%.1f ratio=%.3f\n", sizes[i], esp_ns[i],
               aead_ns[i], ratio[i]);

    EVP_CIPHER_CTX_free(ac.enc);
    EVP_CIPHER_CTX_free(ac.dec);
    ns_sad_free(ec.gw);
    ns_sad_free(ec.client);
    return 0;
}
