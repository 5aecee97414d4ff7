#include "net/udpgso.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
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
            m->msg_namelen = ns_sockio_sockaddr(family, &g->peer, &to[k]);
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

/* ---- receive (UDP_GRO) ---- */

struct gro_msg {
    size_t len, seg, off;
    bool truncated;
    struct ns_endpoint peer, local;
    int ifindex;
};

struct ns_udp_gro {
    uint8_t *buf; /* NS_UDP_GRO_MSGS x NS_UDP_GRO_BUF */
    struct gro_msg m[NS_UDP_GRO_MSGS];
    unsigned cur, count; /* m[cur..count) still to hand out */
};

struct ns_udp_gro *ns_udp_gro_new(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) != 0)
        return NULL;
    struct ns_udp_gro *g = calloc(1, sizeof(*g));
    if (g)
        g->buf = malloc((size_t)NS_UDP_GRO_MSGS * NS_UDP_GRO_BUF);
    if (!g || !g->buf) {
        free(g);
        int zero = 0;
        setsockopt(fd, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero));
        return NULL;
    }
    return g;
}

void ns_udp_gro_free(struct ns_udp_gro *g)
{
    if (!g)
        return;
    free(g->buf);
    free(g);
}

bool ns_udp_gro_pending(const struct ns_udp_gro *g)
{
    return g && g->cur < g->count;
}

size_t ns_udp_gro_piece(size_t len, size_t seg, size_t off)
{
    if (off >= len)
        return 0;
    size_t rest = len - off;
    return seg == 0 || seg > rest ? rest : seg;
}

/* The segment size of a coalesced message, 0 when it is one datagram. */
static size_t gro_size(const struct msghdr *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c;
         c = CMSG_NXTHDR((struct msghdr *)m, c)) {
        if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
            c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof(v));
            return v > 0 ? (size_t)v : 0;
        }
    }
    return 0;
}

/* Fills g->m from the socket. Returns the count, 0 when none waits. */
static int gro_fill(int fd, struct ns_udp_gro *g, const struct ns_endpoint *local)
{
    struct mmsghdr mm[NS_UDP_GRO_MSGS];
    struct iovec iov[NS_UDP_GRO_MSGS];
    struct sockaddr_storage from[NS_UDP_GRO_MSGS];
    _Alignas(struct cmsghdr) unsigned char ctl[NS_UDP_GRO_MSGS][CTL_SPACE];
    memset(mm, 0, sizeof(mm));
    for (unsigned i = 0; i < NS_UDP_GRO_MSGS; i++) {
        iov[i].iov_base = g->buf + (size_t)i * NS_UDP_GRO_BUF;
        iov[i].iov_len = NS_UDP_GRO_BUF;
        struct msghdr *m = &mm[i].msg_hdr;
        m->msg_name = &from[i];
        m->msg_namelen = sizeof(from[i]);
        m->msg_iov = &iov[i];
        m->msg_iovlen = 1;
        m->msg_control = ctl[i];
        m->msg_controllen = sizeof(ctl[i]);
    }
    int r;
    do
        r = recvmmsg(fd, mm, NS_UDP_GRO_MSGS, MSG_DONTWAIT, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        NS_ERR("udp fd %d: recvmmsg: %s", fd, strerror(errno));
        return -1;
    }
    for (int i = 0; i < r; i++) {
        struct gro_msg *gm = &g->m[i];
        const struct msghdr *m = &mm[i].msg_hdr;
        gm->len = mm[i].msg_len < NS_UDP_GRO_BUF ? mm[i].msg_len : NS_UDP_GRO_BUF;
        gm->truncated = (m->msg_flags & MSG_TRUNC) != 0;
        gm->seg = gm->truncated ? 0 : gro_size(m);
        gm->off = 0;
        memset(&gm->peer, 0, sizeof(gm->peer));
        ns_endpoint_from_sockaddr(&gm->peer, (const struct sockaddr *)&from[i], m->msg_namelen);
        gm->local = *local;
        gm->ifindex = 0;
        ns_sockio_get_dst(m, &gm->local.addr, &gm->ifindex);
    }
    g->cur = 0;
    g->count = (unsigned)r;
    return r;
}

unsigned ns_udp_gro_split(const uint8_t *msg, size_t len, size_t seg, size_t *off,
                          struct ns_dgram *d, unsigned n)
{
    unsigned got = 0;
    while (got < n && (*off < len || (len == 0 && *off == 0))) {
        size_t piece = ns_udp_gro_piece(len, seg, *off);
        struct ns_dgram *o = &d[got++];
        o->truncated = piece > o->cap;
        o->len = piece > o->cap ? o->cap : piece;
        if (o->len)
            memcpy(o->data, msg + *off, o->len);
        *off += piece;
        if (len == 0) {
            *off = 1; /* an empty datagram is handed out once */
            break;
        }
    }
    return got;
}

/* Hands out what g holds into d[0..n). Returns the count. */
static unsigned gro_drain(struct ns_udp_gro *g, struct ns_dgram *d, unsigned n)
{
    unsigned got = 0;
    while (got < n && g->cur < g->count) {
        struct gro_msg *gm = &g->m[g->cur];
        const uint8_t *base = g->buf + (size_t)g->cur * NS_UDP_GRO_BUF;
        unsigned k = ns_udp_gro_split(base, gm->len, gm->seg, &gm->off, d + got, n - got);
        for (unsigned i = got; i < got + k; i++) {
            d[i].truncated |= gm->truncated;
            d[i].peer = gm->peer;
            d[i].local = gm->local;
            d[i].ifindex = gm->ifindex;
        }
        got += k;
        if (gm->off >= gm->len)
            g->cur++;
    }
    return got;
}

int ns_udp_gro_recv(int fd, struct ns_udp_gro *g, const struct ns_endpoint *local,
                    struct ns_dgram *d, unsigned n)
{
    unsigned got = 0;
    /* A call that starts with leftovers hands out only those: the
     * caller's loop, which must come back for them, then cannot keep
     * itself busy with new arrivals forever. */
    bool drained = g->cur < g->count;
    while (got < n) {
        if (g->cur == g->count) {
            if (drained)
                break;
            int r = gro_fill(fd, g, local);
            if (r < 0)
                return got ? (int)got : -1;
            if (r == 0)
                break;
            drained = r < NS_UDP_GRO_MSGS; /* nothing more waiting */
        }
        got += gro_drain(g, d + got, n - got);
    }
    return (int)got;
}
