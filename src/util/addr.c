#include "util/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ns_addr_len(const struct ns_addr *a)
{
    switch (a->family) {
    case AF_INET:
        return 4;
    case AF_INET6:
        return 16;
    default:
        return 0;
    }
}

bool ns_addr_equal(const struct ns_addr *x, const struct ns_addr *y)
{
    return x->family == y->family && memcmp(x->a, y->a, ns_addr_len(x)) == 0;
}

bool ns_addr_is_any(const struct ns_addr *a)
{
    static const uint8_t zero[16];
    return a->family == 0 || memcmp(a->a, zero, ns_addr_len(a)) == 0;
}

int ns_addr_cmp(const struct ns_addr *x, const struct ns_addr *y)
{
    /* AF_INET (2) < AF_INET6 (10), and unset (0) sorts before both. */
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    int c = memcmp(x->a, y->a, ns_addr_len(x));
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

void ns_addr_from_ipv4(struct ns_addr *a, uint32_t host_order)
{
    memset(a, 0, sizeof(*a));
    a->family = AF_INET;
    a->a[0] = (uint8_t)(host_order >> 24);
    a->a[1] = (uint8_t)(host_order >> 16);
    a->a[2] = (uint8_t)(host_order >> 8);
    a->a[3] = (uint8_t)host_order;
}

uint32_t ns_addr_to_ipv4(const struct ns_addr *a)
{
    if (a->family != AF_INET)
        return 0;
    return ((uint32_t)a->a[0] << 24) | ((uint32_t)a->a[1] << 16) | ((uint32_t)a->a[2] << 8) |
           a->a[3];
}

int ns_addr_parse(struct ns_addr *a, const char *s)
{
    struct ns_addr tmp;
    memset(&tmp, 0, sizeof(tmp));
    if (!s)
        return -1;
    if (inet_pton(AF_INET, s, tmp.a) == 1) {
        tmp.family = AF_INET;
    } else if (inet_pton(AF_INET6, s, tmp.a) == 1) {
        tmp.family = AF_INET6;
    } else {
        return -1;
    }
    *a = tmp;
    return 0;
}

const char *ns_addr_str(const struct ns_addr *a, char buf[NS_ADDR_STRLEN])
{
    if ((a->family != AF_INET && a->family != AF_INET6) ||
        !inet_ntop(a->family, a->a, buf, NS_ADDR_STRLEN))
        snprintf(buf, NS_ADDR_STRLEN, "(none)");
    return buf;
}

bool ns_endpoint_equal(const struct ns_endpoint *x, const struct ns_endpoint *y)
{
    return x->port == y->port && ns_addr_equal(&x->addr, &y->addr);
}

const char *ns_endpoint_str(const struct ns_endpoint *e, char buf[NS_ENDPOINT_STRLEN])
{
    char a[NS_ADDR_STRLEN];
    ns_addr_str(&e->addr, a);
    /* Brackets only where the address itself contains colons. */
    if (e->addr.family == AF_INET6)
        snprintf(buf, NS_ENDPOINT_STRLEN, "[%s]:%u", a, (unsigned)e->port);
    else
        snprintf(buf, NS_ENDPOINT_STRLEN, "%s:%u", a, (unsigned)e->port);
    return buf;
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void ns_addr_unmap(struct ns_addr *a)
{
    if (a->family != AF_INET6 || memcmp(a->a, v4mapped_prefix, sizeof(v4mapped_prefix)) != 0)
        return;
    memmove(a->a, a->a + 12, 4);
    memset(a->a + 4, 0, 12);
    a->family = AF_INET;
}

void ns_addr_map_v6(struct ns_addr *a)
{
    if (a->family != AF_INET)
        return;
    memmove(a->a + 12, a->a, 4);
    memcpy(a->a, v4mapped_prefix, sizeof(v4mapped_prefix));
    a->family = AF_INET6;
}

socklen_t ns_endpoint_to_sockaddr(const struct ns_endpoint *e, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (e->addr.family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(e->port);
        memcpy(&sin->sin_addr, e->addr.a, 4);
        return sizeof(*sin);
    }
    if (e->addr.family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(e->port);
        memcpy(&sin6->sin6_addr, e->addr.a, 16);
        return sizeof(*sin6);
    }
    return 0;
}

int ns_endpoint_from_sockaddr(struct ns_endpoint *e, const struct sockaddr *sa, socklen_t len)
{
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return -1;
    struct ns_endpoint tmp;
    memset(&tmp, 0, sizeof(tmp));
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin)); /* sa may be a less aligned buffer */
        tmp.addr.family = AF_INET;
        memcpy(tmp.addr.a, &sin.sin_addr, 4);
        tmp.port = ntohs(sin.sin_port);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        tmp.addr.family = AF_INET6;
        memcpy(tmp.addr.a, &sin6.sin6_addr, 16);
        tmp.port = ntohs(sin6.sin6_port);
        ns_addr_unmap(&tmp.addr);
    } else {
        return -1;
    }
    *e = tmp;
    return 0;
}

/* Sets hi to lo with every bit after the first plen bits set, and clears
 * those bits in lo, so "10.0.0.1/24" means the whole 10.0.0.0/24. */
static void prefix_range(struct ns_addr *lo, struct ns_addr *hi, unsigned plen)
{
    size_t n = ns_addr_len(lo);
    *hi = *lo;
    for (size_t i = 0; i < n; i++) {
        unsigned bits_before = (unsigned)i * 8;
        uint8_t keep;
        if (plen >= bits_before + 8)
            keep = 0xff;
        else if (plen <= bits_before)
            keep = 0;
        else
            keep = (uint8_t)(0xff << (8 - (plen - bits_before)));
        lo->a[i] &= keep;
        hi->a[i] |= (uint8_t)~keep;
    }
}

static void ts_any(struct ns_ts *ts)
{
    memset(ts, 0, sizeof(*ts));
    ts->ip_proto = 0;
    ts->port_lo = 0;
    ts->port_hi = 65535;
}

int ns_ts_from_prefix(struct ns_ts *ts, const char *cidr)
{
    char tmp[NS_ADDR_STRLEN + 8];
    if (!cidr || strlen(cidr) >= sizeof(tmp))
        return -1;
    strcpy(tmp, cidr);
    char *slash = strchr(tmp, '/');
    long plen = -1;
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        /* Digits only: strtol alone would accept "+8", " 8" or "". */
        if (*p == '\0' || strlen(p) > 3)
            return -1;
        for (const char *q = p; *q; q++)
            if (*q < '0' || *q > '9')
                return -1;
        plen = strtol(p, NULL, 10);
    }
    struct ns_addr a;
    if (ns_addr_parse(&a, tmp) != 0)
        return -1;
    long max = (long)ns_addr_len(&a) * 8;
    if (plen < 0)
        plen = max;
    if (plen > max)
        return -1;
    struct ns_ts out;
    ts_any(&out);
    out.lo = a;
    prefix_range(&out.lo, &out.hi, (unsigned)plen);
    *ts = out;
    return 0;
}

void ns_ts_from_addr(struct ns_ts *ts, const struct ns_addr *a)
{
    ts_any(ts);
    ts->lo = *a;
    ts->hi = *a;
}

bool ns_ts_contains_addr(const struct ns_ts *ts, const struct ns_addr *a)
{
    if (a->family == 0 || a->family != ts->lo.family || a->family != ts->hi.family)
        return false;
    return ns_addr_cmp(&ts->lo, a) <= 0 && ns_addr_cmp(a, &ts->hi) <= 0;
}

static bool proto_has_ports(uint8_t proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == 132 /* SCTP */ ||
           proto == 136 /* UDP-Lite */;
}

bool ns_ts_contains(const struct ns_ts *ts, const struct ns_addr *a, uint8_t proto, uint16_t port)
{
    if (!ns_ts_contains_addr(ts, a))
        return false;
    if (ts->ip_proto != 0 && ts->ip_proto != proto)
        return false;
    if (proto_has_ports(proto) && (port < ts->port_lo || port > ts->port_hi))
        return false;
    return true;
}

bool ns_ts_intersect(const struct ns_ts *x, const struct ns_ts *y, struct ns_ts *out)
{
    if (x->lo.family == 0 || x->lo.family != y->lo.family)
        return false;
    if (x->ip_proto != 0 && y->ip_proto != 0 && x->ip_proto != y->ip_proto)
        return false;
    struct ns_ts r;
    memset(&r, 0, sizeof(r));
    r.ip_proto = x->ip_proto ? x->ip_proto : y->ip_proto;
    r.port_lo = x->port_lo > y->port_lo ? x->port_lo : y->port_lo;
    r.port_hi = x->port_hi < y->port_hi ? x->port_hi : y->port_hi;
    if (r.port_lo > r.port_hi)
        return false;
    r.lo = ns_addr_cmp(&x->lo, &y->lo) >= 0 ? x->lo : y->lo;
    r.hi = ns_addr_cmp(&x->hi, &y->hi) <= 0 ? x->hi : y->hi;
    if (ns_addr_cmp(&r.lo, &r.hi) > 0)
        return false;
    *out = r;
    return true;
}

/* The prefix length when [lo, hi] is exactly one prefix, else -1: the
 * bits lo and hi share up to their first difference, then lo all zeros
 * and hi all ones. One pass over the bytes, as every logged selector
 * comes here. */
static int range_prefix_len(const struct ns_addr *lo, const struct ns_addr *hi)
{
    size_t n = ns_addr_len(lo);
    if (n == 0 || lo->family != hi->family)
        return -1;
    size_t i = 0;
    while (i < n && lo->a[i] == hi->a[i])
        i++;
    if (i == n)
        return (int)(n * 8);
    unsigned shared = (unsigned)__builtin_clz((unsigned)(lo->a[i] ^ hi->a[i])) - 24;
    uint8_t rest = (uint8_t)(0xff >> shared);
    if ((lo->a[i] & rest) != 0 || (hi->a[i] & rest) != rest)
        return -1;
    for (size_t k = i + 1; k < n; k++)
        if (lo->a[k] != 0 || hi->a[k] != 0xff)
            return -1;
    return (int)(i * 8 + shared);
}

static const char *proto_name(uint8_t proto, char buf[8])
{
    switch (proto) {
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_ICMPV6:
        return "ipv6-icmp";
    default:
        snprintf(buf, 8, "%u", (unsigned)proto);
        return buf;
    }
}

const char *ns_ts_str(const struct ns_ts *ts, char buf[NS_TS_STRLEN])
{
    char lo[NS_ADDR_STRLEN], hi[NS_ADDR_STRLEN];
    ns_addr_str(&ts->lo, lo);
    int plen = range_prefix_len(&ts->lo, &ts->hi);
    int n;
    if (plen >= 0)
        n = snprintf(buf, NS_TS_STRLEN, "%s/%d", lo, plen);
    else
        n = snprintf(buf, NS_TS_STRLEN, "%s..%s", lo, ns_addr_str(&ts->hi, hi));
    if (n < 0 || n >= NS_TS_STRLEN)
        return buf;
    bool all_ports = ts->port_lo == 0 && ts->port_hi == 65535;
    if (ts->ip_proto == 0 && all_ports)
        return buf;
    /* strongSwan's notation, so logs from both sides read alike. */
    char pbuf[8];
    const char *p = ts->ip_proto ? proto_name(ts->ip_proto, pbuf) : "any";
    if (all_ports)
        snprintf(buf + n, NS_TS_STRLEN - (size_t)n, "[%s]", p);
    else if (ts->port_lo == ts->port_hi)
        snprintf(buf + n, NS_TS_STRLEN - (size_t)n, "[%s/%u]", p, (unsigned)ts->port_lo);
    else
        snprintf(buf + n, NS_TS_STRLEN - (size_t)n, "[%s/%u-%u]", p, (unsigned)ts->port_lo,
                 (unsigned)ts->port_hi);
    return buf;
}
