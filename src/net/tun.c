#include "net/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/gso.h"
#include "util/log.h"

/* if_tun.h of Linux 6.2; Debian 12's headers predate them. */
#define NS_TUN_F_USO4 0x20
#define NS_TUN_F_USO6 0x40

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
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
    memcpy(ifr.ifr_name, name, strlen(name));
    t->vnet = true;
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        /* A kernel without virtio headers: bare packets, no offloads. */
        ifr.ifr_flags &= ~IFF_VNET_HDR;
        t->vnet = false;
        if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
            NS_ERR("tun %s: TUNSETIFF: %s", name, strerror(errno));
            close(fd);
            return -1;
        }
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

int ns_tun_offload(struct ns_tun *t)
{
    if (!t->vnet)
        return -1;
    unsigned long f = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    /* The kernel accepts TUN_F_USO4/6 exactly when its virtio header code
     * knows GSO_UDP_L4 (both came in 6.2): the probe for USO writes. The
     * flags are then taken back, since they would also let the kernel hand
     * us UDP super-packets to read. */
    t->uso_write = ioctl(t->fd, TUNSETOFFLOAD, f | NS_TUN_F_USO4 | NS_TUN_F_USO6) == 0;
    if (ioctl(t->fd, TUNSETOFFLOAD, f) != 0) {
        NS_DBG("tun %s: TUNSETOFFLOAD: %s", t->name, strerror(errno));
        t->uso_write = false;
        return -1;
    }
    t->offload = true;
    return 0;
}

int ns_tun_read_vnet(struct ns_tun *t, uint8_t *buf, size_t cap, struct ns_vnet_hdr *h)
{
    memset(h, 0, sizeof(*h));
    uint8_t raw[NS_VNET_HDR_LEN];
    struct iovec iov[2] = {{raw, sizeof(raw)}, {buf, cap}};
    for (;;) {
        ssize_t r = t->vnet ? readv(t->fd, iov, 2) : read(t->fd, buf, cap);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            NS_ERR("tun %s: read: %s", t->name, strerror(errno));
            return -1;
        }
        if (!t->vnet)
            return (int)r;
        if ((size_t)r < sizeof(raw))
            continue; /* cannot happen: a header comes with every packet */
        ns_vnet_hdr_parse(raw, h);
        return (int)((size_t)r - sizeof(raw));
    }
}

int ns_tun_read_split(struct ns_tun *t, uint8_t *data, size_t cap, uint8_t *big, size_t big_cap,
                      struct ns_vnet_hdr *h)
{
    memset(h, 0, sizeof(*h));
    if (big_cap <= cap)
        return -1;
    /* The header lands in the NS_VNET_HDR_LEN bytes before data, so the
     * packet starts at data with no copy; what does not fit in cap goes on
     * at big + cap, where it follows the first cap bytes once the caller
     * copies them to big. */
    uint8_t *start = t->vnet ? data - NS_VNET_HDR_LEN : data;
    size_t hl = t->vnet ? NS_VNET_HDR_LEN : 0;
    struct iovec iov[2] = {{start, hl + cap}, {big + cap, big_cap - cap}};
    for (;;) {
        ssize_t r = readv(t->fd, iov, 2);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            NS_ERR("tun %s: read: %s", t->name, strerror(errno));
            return -1;
        }
        if (hl && (size_t)r <= hl)
            continue; /* cannot happen: a header comes with every packet */
        if (hl)
            ns_vnet_hdr_parse(start, h);
        return (int)((size_t)r - hl);
    }
}

/* One read with the header stripped; a packet that is not a plain one
 * (offload work left to us) is marked truncated, so the caller drops it:
 * ns_tun_read's callers never turn offloads on. */
static ssize_t read_one(struct ns_tun *t, struct ns_dgram *g)
{
    if (!t->vnet)
        return read(t->fd, g->data, g->cap);
    uint8_t raw[NS_VNET_HDR_LEN];
    struct iovec iov[2] = {{raw, sizeof(raw)}, {g->data, g->cap}};
    ssize_t r = readv(t->fd, iov, 2);
    if (r < 0)
        return r;
    if ((size_t)r < sizeof(raw))
        return (ssize_t)g->cap;
    struct ns_vnet_hdr h;
    ns_vnet_hdr_parse(raw, &h);
    if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE || (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        return (ssize_t)g->cap;
    return r - (ssize_t)sizeof(raw);
}

int ns_tun_read(struct ns_tun *t, struct ns_dgram *d, unsigned n)
{
    unsigned got = 0;
    while (got < n) {
        ssize_t r = read_one(t, &d[got]);
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
        /* An all-zero header: a finished packet, no offload asked. */
        static const uint8_t none[NS_VNET_HDR_LEN];
        struct iovec iov[2] = {{(void *)none, sizeof(none)}, {d[done].data, d[done].len}};
        ssize_t r = t->vnet ? writev(t->fd, iov, 2) : write(t->fd, d[done].data, d[done].len);
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

int ns_tun_write_vnet(struct ns_tun *t, const struct ns_vnet_hdr *h, const uint8_t *data,
                      size_t len)
{
    if (!t->vnet)
        return -1;
    uint8_t raw[NS_VNET_HDR_LEN];
    ns_vnet_hdr_write(h, raw);
    struct iovec iov[2] = {{raw, sizeof(raw)}, {(void *)data, len}};
    for (;;) {
        ssize_t r = writev(t->fd, iov, 2);
        if (r >= 0)
            return 1;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno == EBADF || errno == EFAULT || errno == EBADFD) {
            NS_ERR("tun %s: write: %s", t->name, strerror(errno));
            return -1;
        }
        NS_DBG("tun %s: write %zu bytes (offload): %s", t->name, len, strerror(errno));
        t->write_errors++;
        return 1;
    }
}
