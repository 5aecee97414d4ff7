#include "net/tcp_sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sockio.h"
#include "util/log.h"

static int set_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int ns_tcp_listen(const struct ns_addr *addr, uint16_t port, uint32_t fwmark, int backlog,
                  bool dual)
{
    const char *what = "tcp listen";
    int fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        NS_ERR("%s: socket: %s", what, strerror(errno));
        return -1;
    }
    int one = 1;
    int rc = ns_sockio_set_mark(fd, fwmark, what);
    if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        rc = -1;
    int v6only = !dual;
    if (rc == 0 && addr->family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
        rc = -1;
    struct ns_endpoint ep = {.addr = *addr, .port = port};
    struct sockaddr_storage ss;
    socklen_t len = ns_endpoint_to_sockaddr(&ep, &ss);
    if (rc == 0 && bind(fd, (struct sockaddr *)&ss, len) != 0) {
        char e[NS_ENDPOINT_STRLEN];
        NS_ERR("%s: bind %s: %s", what, ns_endpoint_str(&ep, e), strerror(errno));
        rc = -1;
    }
    if (rc == 0 && listen(fd, backlog) != 0) {
        NS_ERR("%s: listen: %s", what, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int ns_tcp_endpoints(int fd, struct ns_endpoint *local, struct ns_endpoint *peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (local && (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
                  ns_endpoint_from_sockaddr(local, (struct sockaddr *)&ss, len) != 0))
        return -1;
    len = sizeof(ss);
    if (peer && (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
                 ns_endpoint_from_sockaddr(peer, (struct sockaddr *)&ss, len) != 0))
        return -1;
    return 0;
}

int ns_tcp_accept(int lfd, struct ns_endpoint *peer, struct ns_endpoint *local)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    if (ns_endpoint_from_sockaddr(peer, (struct sockaddr *)&ss, len) != 0 ||
        ns_tcp_endpoints(fd, local, NULL) != 0 || set_nodelay(fd) != 0) {
        close(fd);
        errno = EPROTO;
        return -1;
    }
    /* An IPv4 peer of a socket of both versions. */
    ns_addr_unmap(&peer->addr);
    ns_addr_unmap(&local->addr);
    return fd;
}

int ns_tcp_connect(const struct ns_endpoint *to, uint32_t fwmark)
{
    const char *what = "tcp connect";
    int fd = socket(to->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        NS_ERR("%s: socket: %s", what, strerror(errno));
        return -1;
    }
    if (ns_sockio_set_mark(fd, fwmark, what) != 0 || set_nodelay(fd) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = ns_endpoint_to_sockaddr(to, &ss);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        char e[NS_ENDPOINT_STRLEN];
        NS_WARN("%s %s: %s", what, ns_endpoint_str(to, e), strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int ns_tcp_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return errno;
    return err;
}
