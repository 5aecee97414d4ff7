/* udpx: a bounded UDP exchange, and single packets with a wrong checksum,
 * for the transport-mode tests (R2, R13).
 *
 *   udpx -l PORT [-n COUNT] [-z] [-t SECONDS]
 *       echo every datagram back to its sender; exit after COUNT (default
 *       100) or when -t (default 30 s) passes.
 *   udpx -c HOST -p PORT [-n COUNT] [-s SIZE] [-z] [-t SECONDS]
 *       send COUNT datagrams of SIZE (default 1000) random bytes, one at a
 *       time, each waiting up to 1 s for its echo (sent again at most 3
 *       times). Prints: sent=N echoed=M matched=K; exits 0 only when every
 *       datagram came back unchanged.
 *   udpx -b udp|tcp -S SRC -c HOST -p PORT
 *       send one IPv4 UDP datagram or TCP SYN from SRC to HOST:PORT through
 *       a raw socket, with a checksum that is deliberately wrong (the
 *       correct one plus 1): the receiver must count it in InCsumErrors.
 *
 * -z sends with no UDP checksum (SO_NO_CHECK: checksum field 0, RFC 768). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 8192

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: udpx -l PORT | -c HOST -p PORT [-s SIZE] | -b udp|tcp -S SRC -c HOST "
                    "-p PORT; [-n COUNT] [-z] [-t SECONDS]\n");
    return 2;
}

static int open_udp(int no_check)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("udpx: socket");
        return -1;
    }
    if (no_check) {
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)) != 0) {
            perror("udpx: SO_NO_CHECK");
            close(fd);
            return -1;
        }
    }
    return fd;
}

static int serve(int port, long count, int no_check, int timeout)
{
    int fd = open_udp(no_check);
    if (fd < 0)
        return 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        perror("udpx: bind");
        return 1;
    }
    double deadline = now_s() + timeout;
    static uint8_t buf[MAX_SIZE];
    long n = 0;
    while (n < count) {
        int left = (int)((deadline - now_s()) * 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            fprintf(stderr, "udpx: timeout after %ld datagrams\n", n);
            printf("echoed=%ld\n", n);
            return 1;
        }
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (r < 0)
            continue;
        if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl) == r)
            n++;
    }
    printf("echoed=%ld\n", n);
    return 0;
}

static int client(const char *host, int port, long count, size_t size, int no_check, int timeout)
{
    int fd = open_udp(no_check);
    if (fd < 0)
        return 1;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
        fprintf(stderr, "udpx: cannot use %s:%d\n", host, port);
        return 1;
    }
    int ur = open("/dev/urandom", O_RDONLY);
    if (ur < 0)
        return 1;
    static uint8_t out[MAX_SIZE], in[MAX_SIZE];
    long sent = 0, echoed = 0, matched = 0;
    double deadline = now_s() + timeout;
    for (long i = 0; i < count && now_s() < deadline; i++) {
        if (read(ur, out, size) != (ssize_t)size)
            return 1;
        memcpy(out, &i, sizeof(i) <= size ? sizeof(i) : size); /* a sequence number first */
        for (int attempt = 0; attempt < 4; attempt++) {
            if (send(fd, out, size, 0) != (ssize_t)size)
                continue;
            sent++;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            ssize_t r = -1;
            while (poll(&p, 1, 1000) > 0) {
                r = recv(fd, in, sizeof(in), 0);
                if (r < 0)
                    continue;
                echoed++;
                /* A late echo of an earlier datagram is skipped. */
                if (r == (ssize_t)size && memcmp(in, out, size) == 0)
                    break;
                r = -1;
            }
            if (r >= 0) {
                matched++;
                break;
            }
        }
    }
    close(ur);
    printf("sent=%ld echoed=%ld matched=%ld\n", sent, echoed, matched);
    return matched == count ? 0 : 1;
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* One IPv4 packet with a wrong transport checksum, through IP_HDRINCL. */
static int bad(const char *kind, const char *src, const char *host, int port)
{
    int tcp = strcmp(kind, "tcp") == 0;
    if (!tcp && strcmp(kind, "udp") != 0)
        return usage();
    struct in_addr s, d;
    if (inet_pton(AF_INET, src, &s) != 1 || inet_pton(AF_INET, host, &d) != 1)
        return usage();
    uint8_t pkt[20 + 20 + 16];
    memset(pkt, 0, sizeof(pkt));
    size_t l4 = tcp ? 20 : 8 + 16;
    size_t total = 20 + l4;
    uint8_t *ip = pkt, *t = pkt + 20;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8);
    ip[3] = (uint8_t)total;
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = tcp ? 6 : 17;
    memcpy(ip + 12, &s, 4);
    memcpy(ip + 16, &d, 4);
    t[0] = 0xc3; /* source port 50000 */
    t[1] = 0x50;
    t[2] = (uint8_t)(port >> 8);
    t[3] = (uint8_t)port;
    int field;
    if (tcp) {
        t[4] = 0x12; /* sequence number */
        t[12] = 5 << 4;
        t[13] = 0x02; /* SYN */
        t[14] = 0xff;
        t[15] = 0xff;
        field = 16;
    } else {
        t[4] = (uint8_t)(l4 >> 8);
        t[5] = (uint8_t)l4;
        memcpy(t + 8, "bad checksum 123", 16);
        field = 6;
    }
    uint8_t ph[12];
    memcpy(ph, &s, 4);
    memcpy(ph + 4, &d, 4);
    ph[8] = 0;
    ph[9] = ip[9];
    ph[10] = (uint8_t)(l4 >> 8);
    ph[11] = (uint8_t)l4;
    uint32_t sum = (uint16_t)~csum(ph, sizeof(ph), 0);
    uint16_t good = csum(t, l4, sum);
    uint16_t wrong = (uint16_t)(good + 1);
    if (wrong == 0 || wrong == 0xffff)
        wrong = 0x1234;
    t[field] = (uint8_t)(wrong >> 8);
    t[field + 1] = (uint8_t)wrong;
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        perror("udpx: raw socket");
        return 1;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = d};
    if (sendto(fd, pkt, total, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)total) {
        perror("udpx: sendto");
        return 1;
    }
    printf("sent=1 checksum=0x%04x correct=0x%04x\n", wrong, good);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = NULL, *kind = NULL, *src = NULL;
    int port = 0, listen_port = 0, no_check = 0, timeout = 30, opt;
    long count = 100;
    size_t size = 1000;
    while ((opt = getopt(argc, argv, "l:c:p:n:s:zt:b:S:")) != -1) {
        switch (opt) {
        case 'l':
            listen_port = atoi(optarg);
            break;
        case 'c':
            host = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 's':
            size = (size_t)atol(optarg);
            break;
        case 'z':
            no_check = 1;
            break;
        case 't':
            timeout = atoi(optarg);
            break;
        case 'b':
            kind = optarg;
            break;
        case 'S':
            src = optarg;
            break;
        default:
            return usage();
        }
    }
    if (count < 1 || count > 100000 || size < 8 || size > MAX_SIZE || timeout < 1 || timeout > 600)
        return usage();
    if (kind) {
        if (!src || !host || port <= 0 || port > 65535)
            return usage();
        return bad(kind, src, host, port);
    }
    if (listen_port > 0 && listen_port <= 65535)
        return serve(listen_port, count, no_check, timeout);
    if (host && port > 0 && port <= 65535)
        return client(host, port, count, size, no_check, timeout);
    return usage();
}
