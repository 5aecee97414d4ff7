/* INTERNAL_DNS_DOMAIN (RFC 8598 4.1): the domains a gateway's DNS servers
 * answer for, which a client resolves through them (split DNS). */
#ifndef NATSEC_IKE_CP_DOMAIN_H
#define NATSEC_IKE_CP_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

/* The domains a client keeps, space-separated, and its NUL. */
#define NS_CP_DOMAINS_MAX 256

/* Appends the domain of an attribute's value data[0..len) to list (space
 * separated, NUL-terminated, at most NS_CP_DOMAINS_MAX bytes with it):
 * presentation format (RFC 8598: A-labels), trailing NUL octets and one
 * trailing dot ignored; labels of 1-63 letters, digits, '-' or '_', at
 * most 253 characters. 0, or -1 (list unchanged) for anything else or
 * when the list is full. */
int ns_cp_dns_domain_add(char list[NS_CP_DOMAINS_MAX], const uint8_t *data, size_t len);

#endif
