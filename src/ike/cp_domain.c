#include "ike/cp_domain.h"

#include <stdbool.h>
#include <string.h>

#include "util/buf.h"

#define DOMAIN_MAX 253 /* RFC 1035 in presentation format, no trailing dot */
#define LABEL_MAX 63

static bool label_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int ns_cp_dns_domain_add(char list[NS_CP_DOMAINS_MAX], const uint8_t *data, size_t len)
{
    while (len > 0 && data[len - 1] == 0)
        len--;
    if (len > 0 && data[len - 1] == '.')
        len--;
    if (len == 0 || len > DOMAIN_MAX)
        return -1;
    char name[DOMAIN_MAX + 1];
    struct ns_reader r;
    ns_reader_init(&r, data, len);
    size_t n = 0, label = 0;
    while (ns_reader_left(&r) > 0) {
        uint8_t c = ns_read_u8(&r);
        if (c == '.') {
            if (label == 0)
                return -1;
            label = 0;
        } else if (label_char(c) && label < LABEL_MAX) {
            label++;
        } else {
            return -1;
        }
        name[n++] = (char)c;
    }
    if (!ns_reader_ok(&r) || label == 0)
        return -1;
    name[n] = '\0';
    size_t used = strlen(list);
    size_t need = (used ? 1 : 0) + n + 1;
    if (used + need > NS_CP_DOMAINS_MAX)
        return -1;
    if (used)
        list[used++] = ' ';
    memcpy(list + used, name, n + 1);
    return 0;
}
