#include "net/rawesp.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sockio.h"
#include "util/inet.h"
#include "util/log.h"

static int raw_open(int *out, const struct ns_addr *addr, uint32_t fwmark);

int ns_raw_esp_open(struct ns_raw_esp *s, const struct ns_addr *addr, uint32_t fwmark)
{
    memset(s, 0, sizeof(*s));
    s->fd = s->fd6 = -1;
    if (raw_open(&s->fd, addr, fwmark) != 0)
        return -1;
    s->family = addr->family;
    return 0;
}

int ns_raw_esp_open_dual(struct ns_raw_esp *s, uint32_t fwmark)
{
    memset(s, 0, sizeof(*s));
    s->fd = s->fd6 = -1;
    struct ns_addr any;
    memset(&any, 0, sizeof(any));
    any.family = AF_INET;
    if (raw_open(&s->fd, &any, fwmark) != 0)
        return -1;
    s->family = AF_INET;
    any.family = AF_INET6;
    int probe = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (probe < 0 && errno == EAFNOSUPPORT) {
        NS_WARN("raw esp: no IPv6 in this kernel, IPv4 only");
        return 0;
    }
    if (probe >= 0)
        close(probe);
    if (raw_open(&s->fd6, &any, fwmark) != 0) {
        ns_raw_esp_close(s);
        return -1;
    }
    return 0;
}

static int raw_open(int *out, const struct ns_addr *addr, uint32_t fwmark)
{
    int family = addr->family;
    if (family != AF_INET && family != AF_INET6) {
        NS_ERR("raw esp: open: no address family");
        return -1;
    }
    char as[NS_ADDR_STRLEN], what[NS_ADDR_STRLEN + 16];
    snprintf(what, sizeof(what), "raw esp %s", ns_addr_str(addr, as));
    int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
    if (fd < 0) {
        NS_ERR("%s: socket: %s", what, strerror(errno));
        return -1;
    }
    int rc = ns_sockio_set_mark(fd, fwmark, what) | ns_sockio_want_pktinfo(fd, family, what);
    if (rc == 0 && !ns_addr_is_any(addr)) {
        struct ns_endpoint ep = {.addr = *addr, .port = 0};
        struct sockaddr_storage ss;
        socklen_t len = ns_endpoint_to_sockaddr(&ep, &ss);
        if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
            NS_ERR("%s: bind: %s", what, strerror(errno));
            rc = -1;
        }
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    *out = fd;
    NS_DBG("%s: open, fd %d, mark 0x%x", what, fd, fwmark);
    return 0;
}

void ns_raw_esp_close(struct ns_raw_esp *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->fd6 >= 0)
        close(s->fd6);
    s->fd = s->fd6 = -1;
}

/* The filter of ns_raw_esp_steer. An IPv4 raw socket's packet starts with
 * the IP header (X = its length), an IPv6 one's with the ESP header (X =
 * 0). Accept, whole, when the 32-bit SPI at X modulo n is i; a packet with
 * no room for an SPI goes to worker 0. */
static int steer_fd(int fd, bool v4, unsigned n, unsigned i)
{
    uint32_t keep_short = i == 0 ? 0xffffffffu : 0;
    struct sock_filter code[] = {
        v4 ? (struct sock_filter)BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0)
           : (struct sock_filter)BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 0, 7), /* below 4 bytes: short */
        BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, 4),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 5), /* len - 4 < X: short */
        BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0),        /* the SPI */
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, i, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
        BPF_STMT(BPF_RET | BPF_K, 0),
        BPF_STMT(BPF_RET | BPF_K, keep_short),
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
        NS_ERR("raw esp fd %d: socket filter for worker %u of %u: %s", fd, i, n, strerror(errno));
        return -1;
    }
    return 0;
}

int ns_raw_esp_steer(struct ns_raw_esp *s, unsigned n, unsigned i)
{
    if (n == 0 || i >= n)
        return -1;
    if (steer_fd(s->fd, s->family == AF_INET, n, i) != 0)
        return -1;
    return s->fd6 >= 0 ? steer_fd(s->fd6, false, n, i) : 0;
}

/* IPv4 raw sockets deliver the IP header. It is read into a separate
 * buffer, so the ESP packet lands at the start of the caller's buffer; only
 * IP options (rare) need a move. */
static void strip_ipv4(struct ns_raw_esp *s, struct ns_dgram *g, const uint8_t *hdr, size_t total)
{
    size_t ihl = ns_ipv4_hdr_len(hdr);
    if (total < NS_IPV4_MIN_HDR || ns_ip_version(hdr) != 4 || ihl < NS_IPV4_MIN_HDR ||
        total < ihl || ihl - NS_IPV4_MIN_HDR > g->len) {
        s->bad_headers++;
        g->len = 0;
        g->truncated = true;
        return;
    }
    size_t opts = ihl - NS_IPV4_MIN_HDR;
    if (opts) {
        memmove(g->data, g->data + opts, g->len - opts);
        g->len -= opts;
    }
    memset(&g->peer, 0, sizeof(g->peer));
    g->peer.addr.family = AF_INET;
    memcpy(g->peer.addr.a, hdr + 12, 4);
    memset(&g->local, 0, sizeof(g->local));
    g->local.addr.family = AF_INET;
    memcpy(g->local.addr.a, hdr + 16, 4);
}

static int recv_fd(struct ns_raw_esp *s, int fd, bool v4, struct ns_dgram *d, unsigned n)
{
    struct mmsghdr mm[NS_NET_BATCH_MAX];
    struct iovec iov[NS_NET_BATCH_MAX][2];
    uint8_t hdr[NS_NET_BATCH_MAX][NS_IPV4_MIN_HDR];
    struct sockaddr_storage from[NS_NET_BATCH_MAX];
    _Alignas(struct cmsghdr) unsigned char ctl[NS_NET_BATCH_MAX][NS_SOCKIO_CTL_SPACE];
    unsigned got = 0;
    while (got < n) {
        unsigned k = n - got < NS_NET_BATCH_MAX ? n - got : NS_NET_BATCH_MAX;
        memset(mm, 0, k * sizeof(mm[0]));
        for (unsigned i = 0; i < k; i++) {
            struct msghdr *m = &mm[i].msg_hdr;
            unsigned v = 0;
            if (v4) {
                iov[i][v].iov_base = hdr[i];
                iov[i][v++].iov_len = NS_IPV4_MIN_HDR;
            }
            iov[i][v].iov_base = d[got + i].data;
            iov[i][v++].iov_len = d[got + i].cap;
            m->msg_name = &from[i];
            m->msg_namelen = sizeof(from[i]);
            m->msg_iov = iov[i];
            m->msg_iovlen = v;
            m->msg_control = ctl[i];
            m->msg_controllen = sizeof(ctl[i]);
        }
        int r = recvmmsg(fd, mm, k, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            NS_ERR("raw esp fd %d: recvmmsg: %s", fd, strerror(errno));
            return got ? (int)got : -1;
        }
        for (int i = 0; i < r; i++) {
            struct ns_dgram *g = &d[got + (unsigned)i];
            const struct msghdr *m = &mm[i].msg_hdr;
            size_t total = mm[i].msg_len;
            size_t head = v4 ? NS_IPV4_MIN_HDR : 0;
            g->len = total > head ? total - head : 0;
            if (g->len > g->cap)
                g->len = g->cap;
            g->truncated = (m->msg_flags & MSG_TRUNC) != 0;
            g->ifindex = 0;
            if (v4) {
                strip_ipv4(s, g, hdr[i], total);
                int ifindex = 0;
                struct ns_addr dst;
                ns_sockio_get_dst(m, &dst, &ifindex);
                g->ifindex = ifindex;
            } else {
                memset(&g->peer, 0, sizeof(g->peer));
                ns_endpoint_from_sockaddr(&g->peer, (const struct sockaddr *)&from[i],
                                          m->msg_namelen);
                g->peer.port = 0; /* sin6_port holds the protocol for raw IPv6 */
                memset(&g->local, 0, sizeof(g->local));
                ns_sockio_get_dst(m, &g->local.addr, &g->ifindex);
            }
        }
        got += (unsigned)r;
        if ((unsigned)r < k)
            break;
    }
    return (int)got;
}

int ns_raw_esp_recv(struct ns_raw_esp *s, struct ns_dgram *d, unsigned n)
{
    int got = recv_fd(s, s->fd, s->family == AF_INET, d, n);
    if (got < 0 || s->fd6 < 0 || (unsigned)got == n)
        return got;
    int more = recv_fd(s, s->fd6, false, d + got, n - (unsigned)got);
    return more < 0 ? (got ? got : -1) : got + more;
}

int ns_raw_esp_send(struct ns_raw_esp *s, const struct ns_dgram *d, unsigned n)
{
    if (s->fd6 < 0)
        return ns_sockio_send(s->fd, s->family, d, n, "raw esp", &s->send_errors);
    /* Runs of one IP version, each on its own socket, in order. */
    unsigned done = 0;
    while (done < n) {
        int family = d[done].peer.addr.family;
        unsigned run = 1;
        while (done + run < n && d[done + run].peer.addr.family == family)
            run++;
        int fd = family == AF_INET6 ? s->fd6 : s->fd;
        int sent = ns_sockio_send(fd, family == AF_INET6 ? AF_INET6 : AF_INET, d + done, run,
                                  "raw esp", &s->send_errors);
        if (sent < 0)
            return done ? (int)done : -1;
        done += (unsigned)sent;
        if ((unsigned)sent < run)
            break; /* a socket buffer is full: the caller keeps the rest */
    }
    return (int)done;
}
