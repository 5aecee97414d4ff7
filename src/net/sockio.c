#include "net/sockio.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "util/log.h"

_Static_assert(CMSG_SPACE(sizeof(struct in6_pktinfo)) <= NS_SOCKIO_CTL_SPACE &&
                   CMSG_SPACE(sizeof(struct in_pktinfo)) <= NS_SOCKIO_CTL_SPACE,
               "control buffer fits one packet-info message");

int ns_sockio_set_mark(int fd, uint32_t mark, const char *what)
{
    if (mark == 0)
        return 0;
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
        NS_ERR("%s: SO_MARK 0x%x: %s", what, mark, strerror(errno));
        return -1;
    }
    return 0;
}

int ns_sockio_want_pktinfo(int fd, int family, const char *what)
{
    int one = 1;
    int rc = family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one))
                                : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    if (rc != 0) {
        NS_ERR("%s: packet info: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

socklen_t ns_sockio_sockaddr(int family, const struct ns_endpoint *e, struct sockaddr_storage *ss)
{
    struct ns_endpoint to = *e;
    if (family == AF_INET6)
        ns_addr_map_v6(&to.addr);
    return ns_endpoint_to_sockaddr(&to, ss);
}

void ns_sockio_put_src(struct msghdr *m, int family, void *ctl, const struct ns_addr *src)
{
    m->msg_control = NULL;
    m->msg_controllen = 0;
    if (!src || !src->family || (src->family != family && family != AF_INET6))
        return;
    struct ns_addr mapped = *src;
    if (family == AF_INET6)
        ns_addr_map_v6(&mapped);
    src = &mapped;
    memset(ctl, 0, NS_SOCKIO_CTL_SPACE);
    m->msg_control = ctl;
    if (family == AF_INET) {
        struct in_pktinfo pi;
        memset(&pi, 0, sizeof(pi));
        memcpy(&pi.ipi_spec_dst, src->a, 4);
        m->msg_controllen = CMSG_SPACE(sizeof(pi));
        struct cmsghdr *c = CMSG_FIRSTHDR(m);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    } else {
        struct in6_pktinfo pi;
        memset(&pi, 0, sizeof(pi));
        memcpy(&pi.ipi6_addr, src->a, 16);
        m->msg_controllen = CMSG_SPACE(sizeof(pi));
        struct cmsghdr *c = CMSG_FIRSTHDR(m);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    }
}

void ns_sockio_get_dst(const struct msghdr *m, struct ns_addr *dst, int *ifindex)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c;
         c = CMSG_NXTHDR((struct msghdr *)m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            memset(dst, 0, sizeof(*dst));
            dst->family = AF_INET;
            memcpy(dst->a, &pi.ipi_addr, 4); /* the header's destination */
            *ifindex = pi.ipi_ifindex;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
                   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            memset(dst, 0, sizeof(*dst));
            dst->family = AF_INET6;
            memcpy(dst->a, &pi.ipi6_addr, 16);
            ns_addr_unmap(dst); /* an IPv4 datagram on a socket of both versions */
            *ifindex = (int)pi.ipi6_ifindex;
        }
    }
}

/* Errors that say the socket, not one datagram, is broken. */
static bool fatal(int err)
{
    return err == EBADF || err == ENOTSOCK || err == EFAULT;
}

int ns_sockio_send(int fd, int family, const struct ns_dgram *d, unsigned n, const char *what,
                   uint64_t *errors)
{
    struct mmsghdr mm[NS_NET_BATCH_MAX];
    struct iovec iov[NS_NET_BATCH_MAX];
    struct sockaddr_storage to[NS_NET_BATCH_MAX];
    _Alignas(struct cmsghdr) unsigned char ctl[NS_NET_BATCH_MAX][NS_SOCKIO_CTL_SPACE];
    unsigned done = 0;
    while (done < n) {
        unsigned k = n - done < NS_NET_BATCH_MAX ? n - done : NS_NET_BATCH_MAX;
        memset(mm, 0, k * sizeof(mm[0]));
        for (unsigned i = 0; i < k; i++) {
            const struct ns_dgram *g = &d[done + i];
            iov[i].iov_base = g->data;
            iov[i].iov_len = g->len;
            struct msghdr *m = &mm[i].msg_hdr;
            m->msg_name = &to[i];
            m->msg_namelen = ns_sockio_sockaddr(family, &g->peer, &to[i]);
            m->msg_iov = &iov[i];
            m->msg_iovlen = 1;
            ns_sockio_put_src(m, family, ctl[i], &g->local.addr);
        }
        int r = sendmmsg(fd, mm, k, MSG_DONTWAIT);
        if (r > 0) {
            done += (unsigned)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break; /* full: the caller keeps the rest */
        if (r < 0 && fatal(errno)) {
            NS_ERR("%s: sendmmsg: %s", what, strerror(errno));
            return -1;
        }
        /* sendmmsg reports an error only for the first datagram of the
         * call; drop that one and go on with the rest. */
        int err = r < 0 ? errno : EIO;
        char ep[NS_ENDPOINT_STRLEN];
        NS_DBG("%s: send %zu bytes to %s: %s", what, d[done].len,
               ns_endpoint_str(&d[done].peer, ep), strerror(err));
        if (errors)
            (*errors)++;
        done++;
    }
    return (int)done;
}
