/* Escaping for log lines: see escape.h. */
#include "util/escape.h"

#include <stdint.h>

const char *ns_escape(char *out, size_t cap, const void *in, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = in;
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        char e[4];
        size_t n;
        if (c >= 0x20 && c <= 0x7e && c != '\\') {
            e[0] = (char)c;
            n = 1;
        } else if (c == '\\') {
            e[0] = e[1] = '\\';
            n = 2;
        } else {
            e[0] = '\\';
            e[1] = 'x';
            e[2] = hex[c >> 4];
            e[3] = hex[c & 15];
            n = 4;
        }
        if (o + n >= cap)
            break;
        for (size_t k = 0; k < n; k++)
            out[o++] = e[k];
    }
    out[o] = '\0';
    return out;
}
