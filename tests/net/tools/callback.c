/* callback: a protocol that embeds addresses (R8), in the manner of FTP's
 * PORT or SIP's Contact: the client tells the server, inside the payload,
 * the address and port to call back, and the server answers from a fresh
 * socket to exactly that address. Through a NAT this breaks (the embedded
 * private address is wrong, and the same for two homes); through a tunnel
 * with a virtual IP it works, since no NAT rewrites the inner addresses.
 *
 *   callback -l PORT [-n COUNT] [-t SECONDS]   serve COUNT requests (default 10)
 *   callback -c SERVER -p PORT -a MYADDR [-t SECONDS]
 *       binds MYADDR, sends "CALL MYADDR MYPORT TOKEN", waits for TOKEN back
 *
 * Prints what it did; exits 0 only when the client got its own token back. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: callback -l PORT [-n N] [-t S] | -c SERVER -p PORT -a MYADDR [-t S]\n");
    return 2;
}

static int serve(int port, int count)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("callback: bind");
        return 1;
    }
    for (int i = 0; i < count; i++) {
        char msg[256];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(s, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&from, &fl);
        if (r <= 0)
            return 1;
        msg[r] = '\0';
        char ip[64], token[128];
        int cport;
        if (sscanf(msg, "CALL %63s %d %127s", ip, &cport, token) != 3)
            continue;
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cport)};
        if (inet_pton(AF_INET, ip, &to.sin_addr) != 1)
            continue;
        char fs[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &from.sin_addr, fs, sizeof(fs));
        /* A new socket, as an FTP server's data connection would be. */
        int o = socket(AF_INET, SOCK_DGRAM, 0);
        sendto(o, token, strlen(token), 0, (struct sockaddr *)&to, sizeof(to));
        close(o);
        printf("request from %s:%u, calling back %s:%d with %s\n", fs, ntohs(from.sin_port), ip,
               cport, token);
        fflush(stdout);
    }
    return 0;
}

static int call(const char *server, int port, const char *myaddr)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, myaddr, &me.sin_addr) != 1 ||
        bind(s, (struct sockaddr *)&me, sizeof(me)) < 0) {
        perror("callback: bind");
        return 1;
    }
    socklen_t ml = sizeof(me);
    getsockname(s, (struct sockaddr *)&me, &ml);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, server, &to.sin_addr) != 1)
        return usage();
    unsigned rnd = 0;
    int ur = open("/dev/urandom", O_RDONLY);
    if (ur < 0 || read(ur, &rnd, sizeof(rnd)) != sizeof(rnd))
        return 1;
    close(ur);
    char token[64], msg[160];
    snprintf(token, sizeof(token), "token-%08x", rnd);
    snprintf(msg, sizeof(msg), "CALL %s %u %s", myaddr, ntohs(me.sin_port), token);
    struct timeval tv = {.tv_sec = 1};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int attempt = 0; attempt < 3; attempt++) {
        sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to));
        char got[128];
        ssize_t r = recv(s, got, sizeof(got) - 1, 0);
        if (r > 0) {
            got[r] = '\0';
            if (strcmp(got, token) == 0) {
                printf("called back at %s:%u with %s\n", myaddr, ntohs(me.sin_port), got);
                return 0;
            }
            printf("wrong token: %s\n", got);
            return 1;
        }
    }
    printf("no call back to %s:%u\n", myaddr, ntohs(me.sin_port));
    return 1;
}

int main(int argc, char **argv)
{
    const char *server = NULL, *myaddr = NULL;
    int lport = 0, port = 0, count = 10, secs = 30, opt;
    while ((opt = getopt(argc, argv, "l:c:p:a:n:t:")) != -1) {
        switch (opt) {
        case 'l':
            lport = atoi(optarg);
            break;
        case 'c':
            server = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'a':
            myaddr = optarg;
            break;
        case 'n':
            count = atoi(optarg);
            break;
        case 't':
            secs = atoi(optarg);
            break;
        default:
            return usage();
        }
    }
    if (secs <= 0 || count <= 0 || count > 1000)
        return usage();
    alarm((unsigned)secs);
    if (lport)
        return serve(lport, count);
    if (server && port && myaddr)
        return call(server, port, myaddr);
    return usage();
}
