#include "util/resolvconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct out {
    char *p;
    size_t cap, len;
    bool full;
};

static void put(struct out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->full = true;
    else
        o->len += (size_t)n;
}

ssize_t ns_resolvconf_render(char *out, size_t cap, const struct ns_addr *dns, unsigned n,
                             const char *const *domains, unsigned n_domains)
{
    if (cap == 0)
        return -1;
    struct out o = {.p = out, .cap = cap};
    /* The marker tells a reader whose file this is and that it goes back. */
    put(&o, "# written by natsecd for its VPN connection; the previous content\n"
            "# is put back when the connection goes down\n");
    for (unsigned i = 0; i < n; i++) {
        char a[NS_ADDR_STRLEN];
        if (dns[i].family != AF_INET && dns[i].family != AF_INET6)
            return -1;
        put(&o, "nameserver %s\n", ns_addr_str(&dns[i], a));
    }
    if (n_domains > 0) {
        put(&o, "search");
        for (unsigned i = 0; i < n_domains; i++)
            put(&o, " %s", domains[i]);
        put(&o, "\n");
    }
    return o.full ? -1 : (ssize_t)o.len;
}

int ns_file_replace(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = pwrite(fd, data + off, len - off, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return ftruncate(fd, (off_t)len);
}

char *ns_file_slurp(int fd, size_t max, size_t *len)
{
    char *buf = malloc(max + 1);
    if (!buf)
        return NULL;
    size_t got = 0;
    for (;;) {
        if (got == max + 1)
            break;
        ssize_t r = pread(fd, buf + got, max + 1 - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}
