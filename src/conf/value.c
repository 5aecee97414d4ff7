#include "conf/value.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int ns_conf_value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                       size_t errlen)
{
    int base = 10;
    const char *digits = s;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        digits = s + 2;
    }
    /* strtoull accepts a sign and leading spaces; a setting does not. */
    if (!isxdigit((unsigned char)digits[0]) || (base == 10 && !isdigit((unsigned char)s[0]))) {
        snprintf(err, errlen, "'%s' is not a number", s);
        return -1;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(digits, &end, base);
    if (*end != '\0') {
        snprintf(err, errlen, "'%s' is not a number", s);
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        snprintf(err, errlen, "%s is out of range [%" PRIu64 ", %" PRIu64 "]", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int ns_conf_value_bool(const char *s, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    snprintf(err, errlen, "'%s' is not yes or no", s);
    return -1;
}

int ns_conf_value_seconds_ms(const char *s, unsigned min_ms, unsigned max_ms, unsigned *out,
                             char *err, size_t errlen)
{
    /* Fixed point by hand: strtod would accept "nan", "1e3" and round. */
    uint64_t ms = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        goto bad;
    while (isdigit((unsigned char)*p)) {
        ms = ms * 10 + (uint64_t)(*p++ - '0');
        if (ms > UINT32_MAX)
            goto range;
    }
    ms *= 1000;
    if (*p == '.') {
        p++;
        unsigned scale = 100;
        if (!isdigit((unsigned char)*p))
            goto bad;
        while (isdigit((unsigned char)*p)) {
            if (scale == 0) {
                snprintf(err, errlen, "'%s' has more than three decimals", s);
                return -1;
            }
            ms += (uint64_t)(*p++ - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0')
        goto bad;
    if (ms < min_ms || ms > max_ms)
        goto range;
    *out = (unsigned)ms;
    return 0;
bad:
    snprintf(err, errlen, "'%s' is not a number of seconds", s);
    return -1;
range:
    snprintf(err, errlen, "%s s is out of range [%u.%03u, %u.%03u]", s, min_ms / 1000,
             min_ms % 1000, max_ms / 1000, max_ms % 1000);
    return -1;
}

int ns_conf_value_addr(const char *s, struct ns_addr *out, char *err, size_t errlen)
{
    if (ns_addr_parse(out, s) != 0) {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", s);
        return -1;
    }
    return 0;
}

int ns_conf_value_prefix(const char *s, bool bare_ok, struct ns_addr *net, unsigned *len, char *err,
                         size_t errlen)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr))
        goto bad;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (ns_addr_parse(net, addr) != 0)
        goto bad;
    unsigned max = (unsigned)ns_addr_len(net) * 8;
    if (!slash) {
        if (!bare_ok) {
            snprintf(err, errlen, "'%s' is not a prefix (address/length)", s);
            return -1;
        }
        *len = max;
        return 0;
    }
    const char *d = slash + 1;
    size_t nd = strspn(d, "0123456789");
    unsigned long v = nd > 0 && nd <= 3 && d[nd] == '\0' ? strtoul(d, NULL, 10) : ULONG_MAX;
    if (v > max) {
        snprintf(err, errlen, "'%s': bad prefix length (0 to %u)", s, max);
        return -1;
    }
    /* A set host bit usually means a typo ("10.0.0.1/24" for a pool or
     * "10.0.1.0/16"), so it is refused rather than silently masked. */
    for (unsigned bit = (unsigned)v; bit < max; bit++) {
        if (net->a[bit / 8] & (0x80u >> (bit % 8))) {
            snprintf(err, errlen, "'%s' has host bits set (not a network address)", s);
            return -1;
        }
    }
    *len = (unsigned)v;
    return 0;
bad:
    snprintf(err, errlen, "'%s' is not an address prefix", s);
    return -1;
}

int ns_conf_value_ts(const char *s, struct ns_ts *out, char *err, size_t errlen)
{
    struct ns_addr net;
    unsigned len;
    if (ns_conf_value_prefix(s, true, &net, &len, err, errlen) != 0)
        return -1;
    memset(out, 0, sizeof(*out));
    out->ip_proto = 0;
    out->port_lo = 0;
    out->port_hi = 65535;
    out->lo = net;
    out->hi = net;
    size_t n = ns_addr_len(&net);
    for (unsigned bit = len; bit < n * 8; bit++)
        out->hi.a[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int ns_conf_value_hex(const char *s, uint8_t *out, size_t max, size_t *len, char *err,
                      size_t errlen)
{
    size_t n = strlen(s);
    if (n == 0 || n % 2 != 0) {
        snprintf(err, errlen, "hex '%s' needs an even, non-zero number of digits", s);
        return -1;
    }
    if (n / 2 > max) {
        snprintf(err, errlen, "hex value is longer than %zu bytes", max);
        return -1;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "'%s' is not hex", s);
            return -1;
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

int ns_conf_value_list(const char *s, ns_conf_value_item_fn fn, void *ctx, char *err, size_t errlen)
{
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)p[n - 1]))
            n--;
        if (n == 0) {
            snprintf(err, errlen, "empty item in list '%s'", s);
            return -1;
        }
        char item[256];
        if (n >= sizeof(item)) {
            snprintf(err, errlen, "list item '%.40s...' is too long", p);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (fn(item, ctx, err, errlen) != 0)
            return -1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}
