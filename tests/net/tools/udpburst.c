/* udpburst: runs of UDP datagrams sent back to back, each checkable on its
 * own, for the test of UDP super-packets written to TUN.
 *
 *   udpburst -c HOST -p PORT [-r RUNS] [-g GAP_US]
 *       sends RUNS runs (default 200) from one connected socket: run k has
 *       1..64 datagrams of one size between 16 and 1400 bytes, the last of
 *       the run as long or shorter (the sizes come from k alone), sent back
 *       to back; then GAP_US microseconds (default 2000) of pause. Prints
 *       sent=N runs=R.
 *   udpburst -c HOST -p PORT -S SRC -x SEQ [-r RUNS] [-g GAP_US]
 *       the same datagrams built whole (IPv4 from SRC, source port 40000,
 *       DF, IDs counting up as a connected socket's do) and sent through a
 *       raw socket, datagram SEQ with a UDP checksum that is deliberately
 *       wrong (the correct one plus 1), in the middle of a run it would
 *       otherwise belong to: the receiver's stack must count it in
 *       InCsumErrors, never deliver it.
 *   udpburst -l PORT [-r RUNS] [-t SECONDS]
 *       receives until every datagram of RUNS runs came, or SECONDS
 *       (default 30) passed, or 2 s went by without one after the first.
 *       Prints received=N of=COUNT bad=B dup=D; exits 0 only when all
 *       came intact.
 *   udpburst -l PORT -x SEQ ...: datagram SEQ must not come at all.
 *   udpburst -m [-r RUNS]: prints the sequence number of the middle
 *       datagram of the first run of at least 8 (a good SEQ for -x).
 *
 * A datagram holds its sequence number (4 bytes) and its length (2 bytes),
 * then bytes that are a function of both: a datagram that was cut, merged
 * with another or changed in any byte shows as bad. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 1400
#define MIN_SIZE 16
#define MAX_RUN 64
#define MAX_COUNT (1u << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t pattern(uint32_t seq, size_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

static void fill(uint8_t *b, uint32_t seq, size_t len)
{
    b[0] = (uint8_t)(seq >> 24);
    b[1] = (uint8_t)(seq >> 16);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[4] = (uint8_t)(len >> 8);
    b[5] = (uint8_t)len;
    for (size_t i = 6; i < len; i++)
        b[i] = pattern(seq, i);
}

/* The sequence number of an intact datagram b (len bytes), or -1. */
static long check(const uint8_t *b, size_t len)
{
    if (len < 6 || (((size_t)b[4] << 8) | b[5]) != len)
        return -1;
    uint32_t seq = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    for (size_t i = 6; i < len; i++)
        if (b[i] != pattern(seq, i))
            return -1;
    return (long)seq;
}

/* Run k: how many datagrams, their size, the last one's (a small LCG of k). */
static void run_shape(unsigned k, unsigned *count, size_t *size, size_t *last)
{
    uint32_t x = k * 2654435761u + 12345u;
    *count = 1 + (x >> 8) % MAX_RUN;
    *size = MIN_SIZE + (x >> 16) % (MAX_SIZE - MIN_SIZE + 1);
    *last = (x & 3) ? *size : MIN_SIZE + (x >> 4) % (*size - MIN_SIZE + 1);
}

static int usage(void)
{
    fprintf(stderr, "usage: udpburst -c HOST -p PORT [-r RUNS] [-g GAP_US]\n"
                    "       udpburst -c HOST -p PORT -S SRC -x SEQ [-r RUNS] [-g GAP_US]\n"
                    "       udpburst -l PORT [-r RUNS] [-t SECONDS] [-x SEQ]\n");
    return 2;
}

/* The raw sender's state: IPv4 + UDP headers built here. */
struct raw_tx {
    int fd;
    struct sockaddr_in dst;
    struct in_addr src;
    uint16_t id;
    long bad_seq;
};

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static int raw_send(struct raw_tx *r, uint32_t seq, const uint8_t *payload, size_t len)
{
    uint8_t p[20 + 8 + MAX_SIZE];
    size_t total = 28 + len;
    memset(p, 0, 28);
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    p[4] = (uint8_t)(r->id >> 8);
    p[5] = (uint8_t)r->id;
    r->id++;
    p[6] = 0x40; /* DF */
    p[8] = 64;
    p[9] = IPPROTO_UDP;
    memcpy(p + 12, &r->src, 4);
    memcpy(p + 16, &r->dst.sin_addr, 4);
    uint16_t hc = csum_fold(csum_add(0, p, 20));
    p[10] = (uint8_t)(hc >> 8);
    p[11] = (uint8_t)hc;
    uint8_t *u = p + 20;
    u[0] = 40000 >> 8;
    u[1] = 40000 & 0xff;
    memcpy(u + 2, &r->dst.sin_port, 2);
    u[4] = (uint8_t)((8 + len) >> 8);
    u[5] = (uint8_t)(8 + len);
    memcpy(u + 8, payload, len);
    uint32_t sum = csum_add(0, p + 12, 8) + IPPROTO_UDP + (uint32_t)(8 + len);
    uint16_t c = csum_fold(csum_add(sum, u, 8 + len));
    if (c == 0)
        c = 0xffff;
    if ((long)seq == r->bad_seq)
        c = (uint16_t)(c + 1 == 0 ? 1 : c + 1);
    u[6] = (uint8_t)(c >> 8);
    u[7] = (uint8_t)c;
    return sendto(r->fd, p, total, 0, (struct sockaddr *)&r->dst, sizeof(r->dst)) == (ssize_t)total
               ? 0
               : -1;
}

static int do_send(const char *host, int port, const char *src, long bad_seq, unsigned runs,
                   unsigned gap_us)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return usage();
    struct raw_tx raw = {.fd = -1, .dst = sa, .id = 1, .bad_seq = bad_seq};
    int fd = -1;
    if (src) {
        if (inet_pton(AF_INET, src, &raw.src) != 1)
            return usage();
        raw.fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IP_HDRINCL implied */
        if (raw.fd < 0) {
            perror("udpburst: raw socket");
            return 1;
        }
    } else {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            perror("udpburst: socket");
            return 1;
        }
    }
    uint8_t b[MAX_SIZE];
    uint32_t seq = 0;
    for (unsigned k = 0; k < runs; k++) {
        unsigned count;
        size_t size, last;
        run_shape(k, &count, &size, &last);
        for (unsigned i = 0; i < count; i++) {
            size_t len = i + 1 == count ? last : size;
            fill(b, seq, len);
            int ok =
                src ? raw_send(&raw, seq, b, len) : (send(fd, b, len, 0) == (ssize_t)len ? 0 : -1);
            if (ok != 0) {
                perror("udpburst: send");
                return 1;
            }
            seq++;
        }
        usleep(gap_us);
    }
    printf("sent=%u runs=%u\n", seq, runs);
    if (fd >= 0)
        close(fd);
    if (raw.fd >= 0)
        close(raw.fd);
    return 0;
}

static int do_recv(int port, unsigned runs, double secs, long missing)
{
    unsigned count = 0;
    for (unsigned k = 0; k < runs && count <= MAX_COUNT; k++) {
        unsigned c;
        size_t size, last;
        run_shape(k, &c, &size, &last);
        count += c;
    }
    if (count == 0 || count > MAX_COUNT)
        return usage();
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("udpburst: bind");
        return 1;
    }
    uint8_t *seen = calloc(count, 1);
    if (!seen)
        return 1;
    unsigned got = 0, bad = 0, dup = 0;
    unsigned want = missing >= 0 && (unsigned long)missing < count ? count - 1 : count;
    double end = now_s() + secs, last = 0;
    while (got < want) {
        double t = now_s();
        if (t >= end || (last > 0 && t - last > 2.0))
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        uint8_t b[MAX_SIZE + 64];
        ssize_t n = recv(fd, b, sizeof(b), 0);
        if (n < 0)
            continue;
        last = now_s();
        long seq = check(b, (size_t)n);
        if (seq < 0 || (unsigned long)seq >= count || seq == missing)
            bad++;
        else if (seen[seq])
            dup++;
        else {
            seen[seq] = 1;
            got++;
        }
    }
    printf("received=%u of=%u bad=%u dup=%u\n", got, want, bad, dup);
    free(seen);
    close(fd);
    return got == want && bad == 0 && dup == 0 ? 0 : 1;
}

static int print_middle(unsigned runs)
{
    uint32_t seq = 0;
    for (unsigned k = 0; k < runs; k++) {
        unsigned count;
        size_t size, last;
        run_shape(k, &count, &size, &last);
        if (count >= 8) {
            printf("%u\n", seq + count / 2);
            return 0;
        }
        seq += count;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *host = NULL, *src = NULL;
    long bad_seq = -1;
    int middle = 0;
    int port = 0, listen_port = 0, opt;
    unsigned runs = 200, gap_us = 2000;
    double secs = 30;
    while ((opt = getopt(argc, argv, "c:p:r:g:l:t:S:x:m")) != -1) {
        switch (opt) {
        case 'c':
            host = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'r':
            runs = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'g':
            gap_us = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'S':
            src = optarg;
            break;
        case 'x':
            bad_seq = atol(optarg);
            break;
        case 'm':
            middle = 1;
            break;
        case 'l':
            listen_port = atoi(optarg);
            break;
        case 't':
            secs = atof(optarg);
            break;
        default:
            return usage();
        }
    }
    if (middle)
        return print_middle(runs);
    if (listen_port > 0)
        return do_recv(listen_port, runs, secs, bad_seq);
    if (host && port > 0 && (src == NULL) == (bad_seq < 0))
        return do_send(host, port, src, bad_seq, runs, gap_us);
    return usage();
}
