#include "net/udpgso.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#include "net/sockio.h"
#include "util/log.h"

/* Packet-info and UDP_SEGMENT together. */
#define CTL_SPACE (NS_SOCKIO_CTL_SPACE + 32)
_Static_assert(CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t)) <= CTL_SPACE,
               "control buffer fits packet-info and UDP_SEGMENT");

static bool same_path(const struct ns_dgram *a, const struct ns_dgram *b)
{
    return ns_endpoint_equal(&a->peer, &b->peer) && ns_addr_equal(&a->local.addr, &b->local.addr);
}

unsigned ns_udp_gso_run(const struct ns_dgram *d, unsigned n)
{
    if (n == 0)
        return 0;
    size_t size = d[0].len, total = d[0].len;
    if (size == 0)
        return 1;
    unsigned k = 1;
    while (k < n && k < NS_UDP_GSO_MAX_SEGS && d[k].len > 0 && d[k].len <= size &&
           total + d[k].len <= NS_UDP_GSO_MAX_BYTES && same_path(&d[0], &d[k])) {
        total += d[k].len;
        if (d[k++].len < size)
            break; /* a short one ends the run */
    }
    return k;
}

bool ns_udp_gso_probe(int fd)
{
    int zero = 0;
    return setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
}

static void put_segment(struct msghdr *m, void *ctl, uint16_t size)
{
    /* After the packet-info ns_sockio_put_src may have put at ctl. */
    size_t used = m->msg_controllen;
    if (!m->msg_control) {
        memset(ctl, 0, CTL_SPACE);
        m->msg_control = ctl;
    }
    m->msg_controllen = used + CMSG_SPACE(sizeof(size));
    struct cmsghdr *c = (struct cmsghdr *)((unsigned char *)ctl + used);
    memset(c, 0, CMSG_SPACE(sizeof(size)));
    c->cmsg_level = IPPROTO_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(size));
    memcpy(CMSG_DATA(c), &size, sizeof(size));
}

static bool unsupported(int err)
{
    return err == EIO || err == ENOPROTOOPT || err == EOPNOTSUPP || err == EINVAL;
}

int ns_udp_gso_send(int fd, int family, const struct ns_dgram *d, unsigned n, const char *what,
                    uint64_t *errors, bool *gso, unsigned *refusals)
{
    struct mmsghdr mm[NS_NET_BATCH_MAX];
    struct iovec iov[NS_NET_BATCH_MAX];
    struct sockaddr_storage to[NS_NET_BATCH_MAX];
    unsigned first[NS_NET_BATCH_MAX], count[NS_NET_BATCH_MAX];
    _Alignas(struct cmsghdr) unsigned char ctl[NS_NET_BATCH_MAX][CTL_SPACE];
    unsigned done = 0;
    while (done < n) {
        if (!*gso)
            break;
        /* One message per run; iov[] holds every datagram in order. */
        unsigned k = 0, used = 0;
        memset(mm, 0, sizeof(mm));
        while (done + used < n && used < NS_NET_BATCH_MAX) {
            const struct ns_dgram *g = &d[done + used];
            unsigned run = ns_udp_gso_run(g, n - done - used);
            if (run > NS_NET_BATCH_MAX - used)
                run = NS_NET_BATCH_MAX - used;
            for (unsigned j = 0; j < run; j++) {
                iov[used + j].iov_base = g[j].data;
                iov[used + j].iov_len = g[j].len;
            }
            struct msghdr *m = &mm[k].msg_hdr;
            m->msg_name = &to[k];
            m->msg_namelen = ns_endpoint_to_sockaddr(&g->peer, &to[k]);
            m->msg_iov = &iov[used];
            m->msg_iovlen = run;
            ns_sockio_put_src(m, family, ctl[k], &g->local.addr);
            if (run > 1)
                put_segment(m, ctl[k], (uint16_t)g->len);
            first[k] = done + used;
            count[k] = run;
            used += run;
            k++;
        }
        int r = sendmmsg(fd, mm, k, MSG_DONTWAIT);
        if (r > 0) {
            for (int i = 0; i < r; i++)
                done += count[i];
            *refusals = 0;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r < 0 && (errno == EBADF || errno == ENOTSOCK || errno == EFAULT)) {
            NS_ERR("%s: sendmmsg: %s", what, strerror(errno));
            return -1;
        }
        /* The first message was refused: a single datagram is dropped
         * as ns_sockio_send would; a run goes out one by one (where each
         * gets its own verdict), and GSO ends after too many refusals. */
        int err = r < 0 ? errno : EIO;
        if (count[0] > 1) {
            NS_DBG("%s: UDP GSO send of %u x %zu bytes: %s", what, count[0], d[first[0]].len,
                   strerror(err));
            if (unsupported(err) && ++*refusals >= NS_UDP_GSO_GIVE_UP) {
                NS_INFO("%s: UDP segmentation offload refused %u times, off", what, *refusals);
                *gso = false;
            }
            int s = ns_sockio_send(fd, family, &d[first[0]], count[0], what, errors);
            if (s < 0)
                return -1;
            done += (unsigned)s;
            if ((unsigned)s < count[0])
                break;
            continue;
        }
        char ep[NS_ENDPOINT_STRLEN];
        NS_DBG("%s: send %zu bytes to %s: %s", what, d[done].len,
               ns_endpoint_str(&d[done].peer, ep), strerror(err));
        if (errors)
            (*errors)++;
        done++;
    }
    if (done < n && !*gso) {
        int s = ns_sockio_send(fd, family, &d[done], n - done, what, errors);
        if (s < 0)
            return -1;
        done += (unsigned)s;
    }
    return (int)done;
}
