/* ike_flood: a bounded IKE_SA_INIT load generator for the R15 test.
 *
 * Sends COUNT well-formed IKE_SA_INIT requests (each with its own random
 * initiator SPI, X25519 KE value and nonce; proposal AES-GCM-16-128,
 * PRF-HMAC-SHA2-256, Curve25519) to DST:PORT as fast as the socket takes
 * them, in sendmmsg batches, from one UDP socket (-s: from SOCKETS sockets,
 * each its own source port, a batch each in turn). It reads the answers while
 * it sends and for a short while after, and reports how many were real
 * IKE_SA_INIT responses (with a KE payload) and how many were COOKIE
 * challenges. Bounded in count (-n) and in time (-t).
 *
 * -c makes it a host that receives at its address (X13): every COOKIE
 * challenge is answered at once with the same request (the KE value and
 * nonce are derived from the SPI, so nothing is kept per request) with the
 * COOKIE in front (RFC 7296 2.6), and it stops there: no IKE_AUTH, so each
 * request the gateway then accepts stays half-open until it expires. -r
 * sends at most RATE new requests per second (default: as fast as the
 * socket takes them), so a flood can hold the gateway's table for a while.
 * A COOKIE binds the source port (and the gateway keeps one half-open SA
 * per port that proved one), so a host that means to hold many half-open
 * SAs sends from many ports: -s. -x offers AES-GCM with a 12-byte ICV
 * instead, a proposal the gateway refuses (NO_PROPOSAL_CHOSEN): a flood of
 * refusals, for the bound on the gateway's log.
 *
 * usage: ike_flood -d DST [-p PORT] [-n COUNT] [-t SECONDS] [-b SRC_PORT] [-c] [-r RATE]
 *                  [-s SOCKETS] [-x]
 * (-b with -s: ports SRC_PORT, SRC_PORT + 1, ...)
 * prints: sent=N answers=N real=N cookie=N other=N seconds=F, and with -c
 * returned=N (COOKIEs sent back) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MSG_MAX 256
#define MAX_SOCKETS 1024

static bool refused_proposal; /* -x */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A small fast PRNG seeded from /dev/urandom: the values only have to be
 * distinct, not secret, and reading urandom per message would slow the
 * flood down. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng();
}

/* The bytes of a request that follow from its SPI (-c): splitmix64. */
static void fill_from(uint64_t *state, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        p[i] = (uint8_t)(z ^ (z >> 31));
    }
}

/* One transform substructure at p (RFC 7296 3.3.2): TYPE and ID, with a
 * key length attribute when KEY_BITS is not 0; returns its length. */
static size_t put_transform(uint8_t *p, bool last, unsigned type, unsigned id, unsigned key_bits)
{
    size_t len = key_bits ? 12 : 8;
    p[0] = last ? 0 : 3; /* 3: more transforms follow */
    p[1] = 0;
    put16(p + 2, (unsigned)len);
    p[4] = (uint8_t)type;
    p[5] = 0;
    put16(p + 6, id);
    if (key_bits) {
        put16(p + 8, 0x800e); /* TV attribute 14, key length */
        put16(p + 10, key_bits);
    }
    return len;
}

/* Builds one IKE_SA_INIT request; returns its length. With spi (-c) the
 * request of that SPIi, its KE value and nonce derived from it, with the
 * COOKIE (cookie_len bytes) first when cookie is not NULL; else a random
 * one. */
static size_t build_init(uint8_t *m, const uint8_t *spi, const uint8_t *cookie, size_t cookie_len)
{
    size_t o = 0;
    uint64_t derive = 0;
    /* header */
    if (spi) {
        memcpy(m, spi, 8);
        for (int i = 0; i < 8; i++)
            derive = derive << 8 | spi[i];
    } else {
        fill_random(m, 8); /* SPIi */
    }
    memset(m + 8, 0, 8);
    m[16] = cookie ? 41 : 33; /* next: N(COOKIE), or SA */
    m[17] = 0x20;             /* version 2.0 */
    m[18] = 34;               /* IKE_SA_INIT */
    m[19] = 0x08;             /* initiator */
    put32(m + 20, 0);
    o = 28;
    if (cookie) {
        m[o] = 33; /* next: SA */
        m[o + 1] = 0;
        put16(m + o + 2, (unsigned)(8 + cookie_len));
        m[o + 4] = 0; /* protocol */
        m[o + 5] = 0; /* SPI size */
        put16(m + o + 6, 16390);
        memcpy(m + o + 8, cookie, cookie_len);
        o += 8 + cookie_len;
    }
    /* SA payload with one proposal of three transforms */
    size_t sa = o;
    m[o] = 34; /* next: KE */
    m[o + 1] = 0;
    o += 4;
    size_t prop = o;
    m[o] = 0; /* last proposal */
    m[o + 1] = 0;
    m[o + 4] = 1; /* proposal number */
    m[o + 5] = 1; /* protocol IKE */
    m[o + 6] = 0; /* SPI size */
    m[o + 7] = 3; /* transforms */
    o += 8;
    /* ENCR AES-GCM-16 (-x: AES-GCM-12), 128-bit key */
    o += put_transform(m + o, false, 1, refused_proposal ? 19 : 20, 128);
    o += put_transform(m + o, false, 2, 5, 0); /* PRF HMAC-SHA2-256 */
    o += put_transform(m + o, true, 4, 31, 0); /* DH Curve25519 */
    put16(m + prop + 2, (unsigned)(o - prop));
    put16(m + sa + 2, (unsigned)(o - sa));
    /* KE */
    m[o] = 40; /* next: Nonce */
    m[o + 1] = 0;
    put16(m + o + 2, 4 + 4 + 32);
    put16(m + o + 4, 31);
    put16(m + o + 6, 0);
    if (spi)
        fill_from(&derive, m + o + 8, 32);
    else
        fill_random(m + o + 8, 32);
    o += 40;
    /* Nonce */
    m[o] = 0;
    m[o + 1] = 0;
    put16(m + o + 2, 4 + 32);
    if (spi)
        fill_from(&derive, m + o + 4, 32);
    else
        fill_random(m + o + 4, 32);
    o += 36;
    put32(m + 24, (uint32_t)o);
    return o;
}

struct tally {
    unsigned long answers, real, cookie, other, returned;
};

/* -c: return COOKIEs to this gateway. */
static bool follow;
static struct sockaddr_in follow_to;

/* The request of SPIi m[0..7] again with the COOKIE (-c), from the socket
 * fd the COOKIE came to. */
static void return_cookie(int fd, const uint8_t *m, const uint8_t *cookie, size_t len,
                          struct tally *t)
{
    uint8_t req[MSG_MAX + 128];
    if (len == 0 || len > 64) /* 2.6: 1 to 64 bytes */
        return;
    size_t n = build_init(req, m, cookie, len);
    if (sendto(fd, req, n, 0, (struct sockaddr *)&follow_to, sizeof(follow_to)) == (ssize_t)n)
        t->returned++;
}

/* Classifies one answer (that came to socket fd) by walking its payload
 * chain (bounds-checked). */
static void classify(int fd, const uint8_t *m, size_t len, struct tally *t)
{
    t->answers++;
    if (len < 28 || m[18] != 34 || !(m[19] & 0x20)) {
        t->other++;
        return;
    }
    unsigned next = m[16];
    size_t o = 28;
    while (next != 0 && o + 4 <= len) {
        unsigned plen = ((unsigned)m[o + 2] << 8) | m[o + 3];
        if (plen < 4 || o + plen > len)
            break;
        if (next == 34) { /* KE: a real response */
            t->real++;
            return;
        }
        if (next == 41 && plen >= 8) {
            unsigned type = ((unsigned)m[o + 6] << 8) | m[o + 7];
            if (type == 16390) {
                t->cookie++;
                if (follow)
                    return_cookie(fd, m, m + o + 8, plen - 8, t);
                return;
            }
        }
        next = m[o];
        o += plen;
    }
    t->other++;
}

static void drain(int fd, struct tally *t)
{
    static uint8_t bufs[BATCH][2048];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
            msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            classify(fd, bufs[i], msgs[i].msg_len, t);
    }
}

static void drain_all(const int *fds, unsigned n_fds, struct tally *t)
{
    for (unsigned i = 0; i < n_fds; i++)
        drain(fds[i], t);
}

int main(int argc, char **argv)
{
    const char *dst = NULL;
    unsigned port = 500, src_port = 0, n_fds = 1;
    unsigned long count = 10000;
    double limit = 30, rate = 0;
    int opt;
    while ((opt = getopt(argc, argv, "d:p:n:t:b:cr:s:x")) != -1) {
        switch (opt) {
        case 'd':
            dst = optarg;
            break;
        case 'p':
            port = (unsigned)atoi(optarg);
            break;
        case 'n':
            count = strtoul(optarg, NULL, 10);
            break;
        case 't':
            limit = atof(optarg);
            break;
        case 'b':
            src_port = (unsigned)atoi(optarg);
            break;
        case 'c':
            follow = true;
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 's':
            n_fds = (unsigned)atoi(optarg);
            break;
        case 'x':
            refused_proposal = true;
            break;
        default:
            fprintf(stderr, "usage: ike_flood -d DST [-p PORT] [-n COUNT] [-t SECONDS] [-b SRC] "
                            "[-c] [-r RATE] [-s SOCKETS] [-x]\n");
            return 2;
        }
    }
    if (!dst || count == 0 || count > 1000000 || limit <= 0 || limit > 600 || rate < 0 ||
        n_fds == 0 || n_fds > MAX_SOCKETS || (src_port && src_port + n_fds - 1 > 65535)) {
        fprintf(stderr,
                "ike_flood: need -d DST, 0 < COUNT <= 1000000, 0 < SECONDS <= 600, "
                "RATE >= 0, 0 < SOCKETS <= %d\n",
                MAX_SOCKETS);
        return 2;
    }
    int ur = open("/dev/urandom", O_RDONLY);
    if (ur < 0 || read(ur, &rng_state, sizeof(rng_state)) != sizeof(rng_state))
        return 1;
    close(ur);
    rng_state |= 1;

    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, dst, &to.sin_addr) != 1) {
        fprintf(stderr, "ike_flood: bad address %s\n", dst);
        return 2;
    }
    static int fds[MAX_SOCKETS];
    for (unsigned k = 0; k < n_fds; k++) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0) {
            perror("socket");
            return 1;
        }
        int big = (n_fds > 1 ? 256 : 4096) << 10;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        /* Bound at once (an ephemeral port without -b), so that answers
         * find it before its first request leaves. */
        struct sockaddr_in me = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)(src_port ? src_port + k : 0))};
        if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
            perror("bind");
            return 1;
        }
        fds[k] = fd;
    }
    follow_to = to;
    unsigned cur = 0; /* the socket of the next batch */

    static uint8_t msgs_buf[BATCH][MSG_MAX];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct tally t = {0};
    unsigned long sent = 0;
    double start = now_s(), deadline = start + limit;
    while (sent < count && now_s() < deadline) {
        unsigned n = count - sent < BATCH ? (unsigned)(count - sent) : BATCH;
        if (rate > 0) {
            /* Paced: what is due by now, in small batches; answers (and
             * the COOKIEs to return) are read while waiting. */
            unsigned long due = (unsigned long)((now_s() - start) * rate) + 1;
            if (due <= sent) {
                drain_all(fds, n_fds, &t);
                usleep(2000);
                continue;
            }
            if (due - sent < n)
                n = (unsigned)(due - sent);
        }
        for (unsigned i = 0; i < n; i++) {
            uint8_t spi[8];
            if (follow) /* what the request with the COOKIE will carry too */
                fill_random(spi, sizeof(spi));
            iov[i] =
                (struct iovec){msgs_buf[i], build_init(msgs_buf[i], follow ? spi : NULL, NULL, 0)};
            msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &to,
                                                   .msg_namelen = sizeof(to),
                                                   .msg_iov = &iov[i],
                                                   .msg_iovlen = 1}};
        }
        int r = sendmmsg(fds[cur], msgs, n, 0);
        if (r < 0) {
            if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
                continue;
            perror("sendmmsg");
            return 1;
        }
        sent += (unsigned long)r;
        cur = (cur + 1) % n_fds;
        drain_all(fds, n_fds, &t);
    }
    double send_end = now_s();
    /* Answers still in flight: collect them for up to two seconds. */
    double tail = send_end + 2;
    while (now_s() < tail && now_s() < deadline + 2) {
        drain_all(fds, n_fds, &t);
        usleep(10000);
    }
    printf("sent=%lu answers=%lu real=%lu cookie=%lu other=%lu seconds=%.3f", sent, t.answers,
           t.real, t.cookie, t.other, send_end - start);
    if (follow)
        printf(" returned=%lu", t.returned);
    printf("\n");
    for (unsigned k = 0; k < n_fds; k++)
        close(fds[k]);
    return sent == count ? 0 : 1;
}
