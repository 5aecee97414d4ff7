/* libFuzzer target for ike/cp_domain: any INTERNAL_DNS_DOMAIN value, twice
 * into one list; what is kept is printable without spaces inside a name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ike/cp_domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char list[NS_CP_DOMAINS_MAX] = "";
    size_t half = size / 2;
    (void)ns_cp_dns_domain_add(list, data, half);
    (void)ns_cp_dns_domain_add(list, data + half, size - half);
    size_t n = strlen(list);
    if (n >= NS_CP_DOMAINS_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (list[i] <= ' ' && list[i] != ' ')
            abort();
    return 0;
}
