/* pktsend: sends hand-made datagrams for the malformed-input, replay and
 * bad-input tests: each argument is one packet, given as hex ("0a0b..",
 * spaces and colons allowed) or as "rand:LEN" (LEN random bytes). Packets go
 * over UDP to DST:PORT (from SRC_PORT with -b), or with -r as raw IP
 * protocol 50 (ESP) to DST. With -x PREFIX_HEX every packet is prefixed
 * (for example the 4-byte non-ESP marker on 4500). -c COUNT repeats the
 * whole list (bounded to 100000 packets in all).
 *
 * usage: pktsend -d DST [-p PORT] [-b SRC_PORT] [-r] [-x HEX] [-c N] PACKET...
 * prints: sent=N */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PKT_MAX 65507

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Appends the bytes of a hex string or "rand:LEN" to buf; returns the new
 * length, or -1. */
static long parse_packet(const char *s, uint8_t *buf, size_t len, int urandom)
{
    if (strncmp(s, "rand:", 5) == 0) {
        long n = atol(s + 5);
        if (n <= 0 || (size_t)n > PKT_MAX - len)
            return -1;
        if (read(urandom, buf + len, (size_t)n) != n)
            return -1;
        return (long)len + n;
    }
    int hi = -1;
    for (; *s; s++) {
        if (*s == ' ' || *s == ':' || *s == '\n' || *s == '\t')
            continue;
        int v = hexval((unsigned char)*s);
        if (v < 0 || len >= PKT_MAX)
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            buf[len++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)len : -1;
}

int main(int argc, char **argv)
{
    const char *dst = NULL, *prefix = "";
    unsigned port = 0, src_port = 0;
    int raw = 0;
    long count = 1;
    int opt;
    while ((opt = getopt(argc, argv, "d:p:b:rx:c:")) != -1) {
        switch (opt) {
        case 'd':
            dst = optarg;
            break;
        case 'p':
            port = (unsigned)atoi(optarg);
            break;
        case 'b':
            src_port = (unsigned)atoi(optarg);
            break;
        case 'r':
            raw = 1;
            break;
        case 'x':
            prefix = optarg;
            break;
        case 'c':
            count = atol(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (!dst || optind >= argc || (!raw && port == 0) || count < 1 ||
        count * (argc - optind) > 100000)
        goto usage;

    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(raw ? 0 : port))};
    if (inet_pton(AF_INET, dst, &to.sin_addr) != 1)
        goto usage;
    int fd = raw ? socket(AF_INET, SOCK_RAW, IPPROTO_ESP) : socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    if (src_port && !raw) {
        struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)src_port)};
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
            perror("bind");
            return 1;
        }
    }
    int urandom = open("/dev/urandom", O_RDONLY);
    if (urandom < 0)
        return 1;
    static uint8_t buf[PKT_MAX];
    long sent = 0;
    for (long c = 0; c < count; c++) {
        for (int i = optind; i < argc; i++) {
            long plen = parse_packet(prefix, buf, 0, urandom);
            if (plen >= 0)
                plen = parse_packet(argv[i], buf, (size_t)plen, urandom);
            if (plen < 0) {
                fprintf(stderr, "pktsend: bad packet argument: %.40s\n", argv[i]);
                return 2;
            }
            if (sendto(fd, buf, (size_t)plen, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
                perror("sendto");
                return 1;
            }
            sent++;
            /* Pace a little so the receiver's socket buffer never overflows:
             * the test counts drops and needs every packet to arrive. */
            if (sent % 64 == 0)
                usleep(1000);
        }
    }
    printf("sent=%ld\n", sent);
    return 0;
usage:
    fprintf(stderr,
            "usage: pktsend -d DST [-p PORT] [-b SRC_PORT] [-r] [-x HEX] [-c N] PACKET...\n");
    return 2;
}
