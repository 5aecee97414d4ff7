#include "net/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sockio.h"
#include "net/udpgso.h"
#include "util/log.h"

static int set_int(int fd, int level, int name, int value, const char *what, const char *opt)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
        NS_ERR("%s: %s: %s", what, opt, strerror(errno));
        return -1;
    }
    return 0;
}

/* IP_MTU_DISCOVER (IPv6: IPV6_MTU_DISCOVER) DO with df, DONT without; a
 * socket of both versions needs both, its IPv4 datagrams follow the IPv4
 * option. */
static int set_pmtudisc(int fd, int family, bool dual, bool df, const char *what)
{
    int rc = 0;
    if (family == AF_INET || dual)
        rc |= set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT,
                      what, "IP_MTU_DISCOVER");
    if (family == AF_INET6)
        rc |= set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
                      df ? IPV6_PMTUDISC_DO : IPV6_PMTUDISC_DONT, what, "IPV6_MTU_DISCOVER");
    return rc;
}

static int udp_open(struct ns_udp *s, const struct ns_addr *addr, bool dual, uint16_t port,
                    uint32_t fwmark, bool group);

int ns_udp_open(struct ns_udp *s, const struct ns_addr *addr, uint16_t port, uint32_t fwmark)
{
    return udp_open(s, addr, false, port, fwmark, false);
}

/* The wildcard of both versions, or of IPv4 alone on a kernel without IPv6. */
static int open_dual(struct ns_udp *s, uint16_t port, uint32_t fwmark, bool group)
{
    struct ns_addr any;
    memset(&any, 0, sizeof(any));
    any.family = AF_INET6;
    int probe = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (probe < 0 && errno == EAFNOSUPPORT) {
        /* A kernel without IPv6 (ipv6.disable=1) still serves IPv4. */
        NS_WARN("udp port %u: no IPv6 in this kernel, IPv4 only", port);
        any.family = AF_INET;
        return udp_open(s, &any, false, port, fwmark, group);
    }
    if (probe >= 0)
        close(probe);
    return udp_open(s, &any, true, port, fwmark, group);
}

int ns_udp_open_dual(struct ns_udp *s, uint16_t port, uint32_t fwmark)
{
    return open_dual(s, port, fwmark, false);
}

int ns_udp_open_group(struct ns_udp *s, const struct ns_addr *addr, uint16_t port,
                      uint32_t fwmark)
{
    if (addr->family == 0)
        return open_dual(s, port, fwmark, true);
    return udp_open(s, addr, false, port, fwmark, true);
}

static int udp_open(struct ns_udp *s, const struct ns_addr *addr, bool dual, uint16_t port,
                    uint32_t fwmark, bool group)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    struct ns_endpoint ep = {.addr = *addr, .port = port};
    char eps[NS_ENDPOINT_STRLEN], what[NS_ENDPOINT_STRLEN + 8];
    snprintf(what, sizeof(what), "udp %s", ns_endpoint_str(&ep, eps));
    int family = addr->family;
    if (family != AF_INET && family != AF_INET6) {
        NS_ERR("udp: open: no address family");
        return -1;
    }
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) {
        NS_ERR("%s: socket: %s", what, strerror(errno));
        return -1;
    }
    int rc = ns_sockio_set_mark(fd, fwmark, what) | ns_sockio_want_pktinfo(fd, family, what);
    /* IPv6-only unless it serves both versions, so that an IPv4 socket
     * can take the same port. */
    if (family == AF_INET6)
        rc |= set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? 0 : 1, what, "IPV6_V6ONLY");
    rc |= set_pmtudisc(fd, family, dual, true, what);
    if (group)
        rc |= set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, what, "SO_REUSEPORT");
    struct sockaddr_storage ss;
    socklen_t len = ns_endpoint_to_sockaddr(&ep, &ss);
    if (rc == 0 && bind(fd, (struct sockaddr *)&ss, len) != 0) {
        NS_ERR("%s: bind: %s", what, strerror(errno));
        rc = -1;
    }
    len = sizeof(ss);
    if (rc == 0 && (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
                    ns_endpoint_from_sockaddr(&s->local, (struct sockaddr *)&ss, len) != 0)) {
        NS_ERR("%s: getsockname: %s", what, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    s->fd = fd;
    s->df = true;
    s->dual = dual;
    NS_DBG("%s: open%s, fd %d, mark 0x%x", what, dual ? " for IPv4 and IPv6" : "", fd, fwmark);
    return 0;
}

void ns_udp_close(struct ns_udp *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    ns_udp_gro_free(s->gro);
    s->gro = NULL;
}

int ns_udp_enable_gro(struct ns_udp *s)
{
    if (!s->gro)
        s->gro = ns_udp_gro_new(s->fd);
    return s->gro ? 0 : -1;
}

bool ns_udp_pending(const struct ns_udp *s)
{
    return ns_udp_gro_pending(s->gro);
}

int ns_udp_recv(struct ns_udp *s, struct ns_dgram *d, unsigned n)
{
    if (s->gro)
        return ns_udp_gro_recv(s->fd, s->gro, &s->local, d, n);
    struct mmsghdr mm[NS_NET_BATCH_MAX];
    struct iovec iov[NS_NET_BATCH_MAX];
    struct sockaddr_storage from[NS_NET_BATCH_MAX];
    _Alignas(struct cmsghdr) unsigned char ctl[NS_NET_BATCH_MAX][NS_SOCKIO_CTL_SPACE];
    unsigned got = 0;
    while (got < n) {
        unsigned k = n - got < NS_NET_BATCH_MAX ? n - got : NS_NET_BATCH_MAX;
        memset(mm, 0, k * sizeof(mm[0]));
        for (unsigned i = 0; i < k; i++) {
            iov[i].iov_base = d[got + i].data;
            iov[i].iov_len = d[got + i].cap;
            struct msghdr *m = &mm[i].msg_hdr;
            m->msg_name = &from[i];
            m->msg_namelen = sizeof(from[i]);
            m->msg_iov = &iov[i];
            m->msg_iovlen = 1;
            m->msg_control = ctl[i];
            m->msg_controllen = sizeof(ctl[i]);
        }
        int r = recvmmsg(s->fd, mm, k, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            NS_ERR("udp fd %d: recvmmsg: %s", s->fd, strerror(errno));
            return got ? (int)got : -1;
        }
        for (int i = 0; i < r; i++) {
            struct ns_dgram *g = &d[got + (unsigned)i];
            const struct msghdr *m = &mm[i].msg_hdr;
            g->len = mm[i].msg_len;
            g->truncated = (m->msg_flags & MSG_TRUNC) != 0;
            if (g->len > g->cap)
                g->len = g->cap;
            memset(&g->peer, 0, sizeof(g->peer));
            ns_endpoint_from_sockaddr(&g->peer, (const struct sockaddr *)&from[i], m->msg_namelen);
            g->local = s->local;
            g->ifindex = 0;
            ns_sockio_get_dst(m, &g->local.addr, &g->ifindex);
        }
        got += (unsigned)r;
        if ((unsigned)r < k)
            break; /* nothing more waiting */
    }
    return (int)got;
}

int ns_udp_enable_gso(struct ns_udp *s)
{
    s->gso = ns_udp_gso_probe(s->fd);
    s->gso_refusals = 0;
    return s->gso ? 0 : -1;
}

int ns_udp_send(struct ns_udp *s, const struct ns_dgram *d, unsigned n)
{
    if (s->gso)
        return ns_udp_gso_send(s->fd, s->local.addr.family, d, n, "udp", &s->send_errors, &s->gso,
                               &s->gso_refusals);
    return ns_sockio_send(s->fd, s->local.addr.family, d, n, "udp", &s->send_errors);
}

int ns_udp_sendto(struct ns_udp *s, const struct ns_addr *from, const struct ns_endpoint *to,
                  const void *data, size_t len)
{
    struct sockaddr_storage ss;
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    _Alignas(struct cmsghdr) unsigned char ctl[NS_SOCKIO_CTL_SPACE];
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_name = &ss;
    m.msg_namelen = ns_sockio_sockaddr(s->local.addr.family, to, &ss);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    ns_sockio_put_src(&m, s->local.addr.family, ctl, from);
    ssize_t r;
    do
        r = sendmsg(s->fd, &m, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)len)
        return 0;
    int err = r < 0 ? errno : EMSGSIZE;
    char ep[NS_ENDPOINT_STRLEN];
    if (err == EAGAIN || err == EWOULDBLOCK)
        NS_DBG("udp: send %zu bytes to %s: socket buffer full", len, ns_endpoint_str(to, ep));
    else
        NS_WARN("udp: send %zu bytes to %s: %s", len, ns_endpoint_str(to, ep), strerror(err));
    s->send_errors++;
    errno = err;
    return -1;
}

int ns_udp_set_df(struct ns_udp *s, bool df)
{
    if (set_pmtudisc(s->fd, s->local.addr.family, s->dual, df, "udp") != 0)
        return -1;
    s->df = df;
    return 0;
}

int ns_udp_sendto_fragmentable(struct ns_udp *s, const struct ns_addr *from,
                               const struct ns_endpoint *to, const void *data, size_t len)
{
    bool lift = s->df;
    if (lift && ns_udp_set_df(s, false) != 0)
        return -1;
    int rc = ns_udp_sendto(s, from, to, data, len);
    int err = errno;
    if (lift)
        (void)ns_udp_set_df(s, true);
    errno = err;
    return rc;
}

int ns_sock_set_buffers(int fd, int bytes)
{
    int rc = 0;
    /* The FORCE variants pass rmem_max/wmem_max with CAP_NET_ADMIN. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0) {
        NS_ERR("fd %d: SO_RCVBUF %d: %s", fd, bytes, strerror(errno));
        rc = -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) != 0) {
        NS_ERR("fd %d: SO_SNDBUF %d: %s", fd, bytes, strerror(errno));
        rc = -1;
    }
    return rc;
}
