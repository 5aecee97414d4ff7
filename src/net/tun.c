#include "net/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/log.h"

int ns_tun_open(struct ns_tun *t, const char *name, bool multi_queue)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    if (strlen(name) >= IF_NAMESIZE) {
        NS_ERR("tun: name '%s' is longer than %d characters", name, IF_NAMESIZE - 1);
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        NS_ERR("tun %s: open /dev/net/tun: %s", name, strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0);
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        NS_ERR("tun %s: TUNSETIFF: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    memcpy(t->name, ifr.ifr_name, IF_NAMESIZE);
    t->name[IF_NAMESIZE - 1] = '\0';
    t->ifindex = (int)if_nametoindex(t->name);
    if (t->ifindex == 0) {
        NS_ERR("tun %s: if_nametoindex: %s", t->name, strerror(errno));
        close(fd);
        return -1;
    }
    t->fd = fd;
    NS_DBG("tun %s: open, index %d, fd %d", t->name, t->ifindex, fd);
    return 0;
}

void ns_tun_close(struct ns_tun *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

int ns_tun_read(struct ns_tun *t, struct ns_dgram *d, unsigned n)
{
    unsigned got = 0;
    while (got < n) {
        ssize_t r = read(t->fd, d[got].data, d[got].cap);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            NS_ERR("tun %s: read: %s", t->name, strerror(errno));
            return got ? (int)got : -1;
        }
        struct ns_dgram *g = &d[got++];
        g->len = (size_t)r;
        g->truncated = (size_t)r >= g->cap;
        memset(&g->peer, 0, sizeof(g->peer));
        memset(&g->local, 0, sizeof(g->local));
        g->ifindex = t->ifindex;
    }
    return (int)got;
}

int ns_tun_write(struct ns_tun *t, const struct ns_dgram *d, unsigned n)
{
    unsigned done = 0;
    while (done < n) {
        ssize_t r = write(t->fd, d[done].data, d[done].len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EBADF || errno == EFAULT || errno == EBADFD) {
                NS_ERR("tun %s: write: %s", t->name, strerror(errno));
                return -1;
            }
            /* e.g. EINVAL for a packet that is not IP: drop just it. */
            NS_DBG("tun %s: write %zu bytes: %s", t->name, d[done].len, strerror(errno));
            t->write_errors++;
        }
        done++;
    }
    return (int)done;
}
