/* tcpxfer: one bounded TCP transfer with a SHA-256 of what went over it,
 * for the data-plane tests (R13).
 *
 *   tcpxfer -l PORT [-s FILE | -r] [-t SECONDS]   listen, take one connection
 *   tcpxfer -c HOST -p PORT [-s FILE | -r] [-t SECONDS]   connect
 *
 * HOST is an IPv4 or IPv6 address; -l takes both.
 *
 * -s FILE sends the file and closes; -r receives until the peer closes.
 * Prints: bytes=N sha256=HEX seconds=F (of the data phase). Exits non-zero
 * on any error or when -t (default 60 s) passes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: tcpxfer -l PORT | -c HOST -p PORT; -s FILE | -r; [-t SECONDS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = NULL, *file = NULL;
    int port = 0, listen_port = 0, recv_mode = 0, timeout = 60, opt;
    while ((opt = getopt(argc, argv, "l:c:p:s:rt:")) != -1) {
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
        case 's':
            file = optarg;
            break;
        case 'r':
            recv_mode = 1;
            break;
        case 't':
            timeout = atoi(optarg);
            break;
        default:
            return usage();
        }
    }
    if ((!listen_port && !(host && port)) || (!file == !recv_mode) || timeout <= 0)
        return usage();
    alarm((unsigned)timeout); /* the bound: SIGALRM ends a stuck transfer */

    int fd;
    if (listen_port) {
        /* IPv6 and IPv4 on one socket (IPv4-mapped), IPv4 alone where the
         * kernel has no IPv6. */
        int one = 1, zero = 0, ls = socket(AF_INET6, SOCK_STREAM, 0);
        struct sockaddr_storage ss;
        socklen_t len;
        memset(&ss, 0, sizeof(ss));
        if (ls >= 0) {
            setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)listen_port);
            len = sizeof(*a6);
        } else {
            ls = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)listen_port);
            len = sizeof(*a4);
        }
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(ls, (struct sockaddr *)&ss, len) < 0 || listen(ls, 1) < 0) {
            perror("tcpxfer: listen");
            return 1;
        }
        fprintf(stderr, "tcpxfer: listening on %d\n", listen_port);
        fd = accept(ls, NULL, NULL);
        close(ls);
    } else {
        struct sockaddr_storage ss;
        socklen_t len;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)port);
            len = sizeof(*a4);
        } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            len = sizeof(*a6);
        } else {
            return usage();
        }
        fd = socket(ss.ss_family, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
            perror("tcpxfer: connect");
            return 1;
        }
    }
    if (fd < 0) {
        perror("tcpxfer: accept");
        return 1;
    }

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    static unsigned char buf[1 << 16];
    unsigned long long total = 0;
    double t0 = now_s();
    if (file) {
        int in = open(file, O_RDONLY);
        if (in < 0) {
            perror("tcpxfer: open");
            return 1;
        }
        ssize_t r;
        while ((r = read(in, buf, sizeof(buf))) > 0) {
            EVP_DigestUpdate(md, buf, (size_t)r);
            for (ssize_t off = 0; off < r;) {
                ssize_t w = write(fd, buf + off, (size_t)(r - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    perror("tcpxfer: write");
                    return 1;
                }
                off += w;
            }
            total += (unsigned long long)r;
        }
        close(in);
        shutdown(fd, SHUT_WR);
        /* Wait for the peer to close, so "seconds" covers delivery. */
        while (read(fd, buf, sizeof(buf)) > 0)
            ;
    } else {
        ssize_t r;
        while ((r = read(fd, buf, sizeof(buf))) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                perror("tcpxfer: read");
                return 1;
            }
            EVP_DigestUpdate(md, buf, (size_t)r);
            total += (unsigned long long)r;
        }
    }
    double secs = now_s() - t0;
    close(fd);
    unsigned char h[32];
    unsigned hl = 0;
    EVP_DigestFinal_ex(md, h, &hl);
    EVP_MD_CTX_free(md);
    printf("bytes=%llu sha256=", total);
    for (unsigned i = 0; i < hl; i++)
        printf("%02x", h[i]);
    printf(" seconds=%.3f\n", secs);
    return 0;
}
