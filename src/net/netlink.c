#include "net/netlink.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/log.h"

#define REPLY_TIMEOUT_S 5

/* One request being built: header, family-specific struct, attributes. */
struct req {
    _Alignas(struct nlmsghdr) uint8_t buf[512];
    size_t len;
};

static void *req_init(struct req *r, uint16_t type, uint16_t flags, size_t body)
{
    memset(r->buf, 0, sizeof(r->buf));
    struct nlmsghdr *h = (struct nlmsghdr *)r->buf;
    h->nlmsg_type = type;
    h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    r->len = NLMSG_SPACE(body);
    return NLMSG_DATA(h);
}

static void req_attr(struct req *r, uint16_t type, const void *data, size_t len)
{
    /* Requests are a few fixed attributes, far below the buffer size. */
    struct rtattr *a = (struct rtattr *)(r->buf + r->len);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->len += RTA_SPACE(len);
}

static void req_u32(struct req *r, uint16_t type, uint32_t v)
{
    req_attr(r, type, &v, sizeof(v));
}

int ns_nl_open(struct ns_nl *nl)
{
    nl->seq = 0;
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl->fd < 0) {
        NS_ERR("netlink: socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    /* Error messages in words, and acks without a copy of the request.
     * Older kernels lack them, which only costs the words. */
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    struct timeval tv = {.tv_sec = REPLY_TIMEOUT_S};
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        bind(nl->fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
        NS_ERR("netlink: setup: %s", strerror(errno));
        close(nl->fd);
        nl->fd = -1;
        return -1;
    }
    return 0;
}

void ns_nl_close(struct ns_nl *nl)
{
    if (nl->fd >= 0)
        close(nl->fd);
    nl->fd = -1;
}

/* The kernel's explanation in an extended ack, or "". */
static const char *ext_msg(const struct nlmsghdr *m, const struct nlmsgerr *e)
{
    if (!(m->nlmsg_flags & NLM_F_ACK_TLVS) || !(m->nlmsg_flags & NLM_F_CAPPED))
        return "";
    const uint8_t *p = (const uint8_t *)e + sizeof(*e);
    const uint8_t *end = (const uint8_t *)m + m->nlmsg_len;
    while (p + sizeof(struct nlattr) <= end) {
        struct nlattr a;
        memcpy(&a, p, sizeof(a));
        if (a.nla_len < sizeof(a) || p + a.nla_len > end)
            break;
        if (a.nla_type == NLMSGERR_ATTR_MSG && a.nla_len > sizeof(a) && p[a.nla_len - 1] == '\0')
            return (const char *)p + sizeof(a);
        p += NLA_ALIGN(a.nla_len);
    }
    return "";
}

/* Sends the request and waits for its ack. expected is the errno a caller
 * treats as success-like (EEXIST, ENOENT...), logged at debug only. */
static int talk(struct ns_nl *nl, struct req *r, const char *what, int expected1, int expected2)
{
    struct nlmsghdr *h = (struct nlmsghdr *)r->buf;
    h->nlmsg_len = (uint32_t)r->len;
    h->nlmsg_seq = ++nl->seq;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t s;
    do
        s = sendto(nl->fd, r->buf, r->len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
    while (s < 0 && errno == EINTR);
    if (s != (ssize_t)r->len) {
        NS_ERR("netlink: %s: send: %s", what, s < 0 ? strerror(errno) : "short write");
        return -1;
    }
    for (;;) {
        _Alignas(struct nlmsghdr) uint8_t rb[8192];
        ssize_t n = recv(nl->fd, rb, sizeof(rb), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            NS_ERR("netlink: %s: no answer: %s", what, strerror(err));
            errno = err;
            return -1;
        }
        /* NLMSG_OK/NLMSG_NEXT mix signed and unsigned lengths; this walk
         * checks each message against what is left, by hand. */
        size_t off = 0;
        while (off + sizeof(struct nlmsghdr) <= (size_t)n) {
            struct nlmsghdr *m = (struct nlmsghdr *)(rb + off);
            if (m->nlmsg_len < sizeof(*m) || m->nlmsg_len > (size_t)n - off)
                break;
            off += NLMSG_ALIGN(m->nlmsg_len);
            if (m->nlmsg_seq != h->nlmsg_seq)
                continue; /* a late answer to an earlier, timed-out request */
            if (m->nlmsg_type == NLMSG_DONE)
                return 0;
            if (m->nlmsg_type != NLMSG_ERROR)
                continue;
            if (m->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
                NS_ERR("netlink: %s: short error message", what);
                errno = EPROTO;
                return -1;
            }
            const struct nlmsgerr *e = NLMSG_DATA(m);
            if (e->error == 0)
                return 0;
            int err = -e->error;
            const char *why = ext_msg(m, e);
            if (err == expected1 || err == expected2)
                NS_DBG("netlink: %s: %s%s%s", what, strerror(err), *why ? ": " : "", why);
            else
                NS_ERR("netlink: %s: %s%s%s", what, strerror(err), *why ? ": " : "", why);
            errno = err;
            return -1;
        }
    }
}

int ns_nl_link_set(struct ns_nl *nl, int ifindex, bool up, unsigned mtu)
{
    struct req r;
    struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, 0, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = up ? IFF_UP : 0;
    ifi->ifi_change = IFF_UP;
    if (mtu)
        req_u32(&r, IFLA_MTU, mtu);
    char what[96];
    snprintf(what, sizeof(what), "set link %d %s mtu %u", ifindex, up ? "up" : "down", mtu);
    return talk(nl, &r, what, 0, 0);
}

int ns_nl_addr(struct ns_nl *nl, bool add, int ifindex, const struct ns_addr *a, unsigned plen)
{
    size_t alen = ns_addr_len(a);
    if (!alen || plen > alen * 8) {
        NS_ERR("netlink: address: bad address or prefix length %u", plen);
        errno = EINVAL;
        return -1;
    }
    struct req r;
    struct ifaddrmsg *ifa = req_init(&r, add ? RTM_NEWADDR : RTM_DELADDR,
                                     add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*ifa));
    ifa->ifa_family = a->family;
    ifa->ifa_prefixlen = (uint8_t)plen;
    /* No duplicate address detection on a point-to-point TUN: the
     * address is usable at once. */
    ifa->ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t)ifindex;
    req_attr(&r, IFA_LOCAL, a->a, alen);
    req_attr(&r, IFA_ADDRESS, a->a, alen);
    char as[NS_ADDR_STRLEN], what[128];
    snprintf(what, sizeof(what), "%s address %s/%u on link %d", add ? "add" : "delete",
             ns_addr_str(a, as), plen, ifindex);
    return talk(nl, &r, what, add ? EEXIST : EADDRNOTAVAIL, add ? EEXIST : ENOENT);
}

int ns_nl_route(struct ns_nl *nl, bool add, int ifindex, const struct ns_addr *dst, unsigned plen,
                uint32_t table, const struct ns_addr *src)
{
    size_t alen = ns_addr_len(dst);
    if (!alen || plen > alen * 8 || (src && src->family != dst->family)) {
        NS_ERR("netlink: route: bad destination, prefix length %u or source", plen);
        errno = EINVAL;
        return -1;
    }
    struct req r;
    struct rtmsg *rt = req_init(&r, add ? RTM_NEWROUTE : RTM_DELROUTE,
                                add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*rt));
    rt->rtm_family = dst->family;
    rt->rtm_dst_len = (uint8_t)plen;
    rt->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    rt->rtm_protocol = RTPROT_STATIC;
    /* Delete matches any scope, as "ip route del" does. */
    rt->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
    rt->rtm_type = RTN_UNICAST;
    req_attr(&r, RTA_DST, dst->a, alen);
    req_u32(&r, RTA_OIF, (uint32_t)ifindex);
    req_u32(&r, RTA_TABLE, table);
    if (src)
        req_attr(&r, RTA_PREFSRC, src->a, alen);
    char as[NS_ADDR_STRLEN], what[128];
    snprintf(what, sizeof(what), "%s route %s/%u dev %d table %u", add ? "add" : "delete",
             ns_addr_str(dst, as), plen, ifindex, table);
    return talk(nl, &r, what, add ? EEXIST : ESRCH, add ? EEXIST : ENOENT);
}

int ns_nl_rule(struct ns_nl *nl, bool add, int family, uint32_t fwmark, uint32_t table,
               uint32_t priority)
{
    if (family != AF_INET && family != AF_INET6) {
        NS_ERR("netlink: rule: bad family %d", family);
        errno = EINVAL;
        return -1;
    }
    struct req r;
    struct fib_rule_hdr *fr = req_init(&r, add ? RTM_NEWRULE : RTM_DELRULE,
                                       add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*fr));
    fr->family = (uint8_t)family;
    fr->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    fr->action = FR_ACT_TO_TBL;
    fr->flags = FIB_RULE_INVERT; /* "not fwmark" */
    req_u32(&r, FRA_FWMARK, fwmark);
    req_u32(&r, FRA_FWMASK, 0xffffffffu);
    req_u32(&r, FRA_TABLE, table);
    req_u32(&r, FRA_PRIORITY, priority);
    char what[128];
    snprintf(what, sizeof(what), "%s rule %u: %s not fwmark 0x%x lookup %u", add ? "add" : "delete",
             priority, family == AF_INET ? "ipv4" : "ipv6", fwmark, table);
    return talk(nl, &r, what, add ? EEXIST : ENOENT, add ? EEXIST : ESRCH);
}
