/* Internet checksums (RFC 1071) and their incremental update (RFC 1624),
 * for transport-mode ESP through a NAT (RFC 3948 3.1.2, R2): the peer
 * computed its TCP/UDP checksum over a pseudo-header holding the addresses
 * it knew (its private one, and ours as it saw it); the segment is delivered
 * with the addresses as they arrived, so the checksum is moved from the old
 * pseudo-header addresses to the new ones without reading the payload. */
#ifndef NATSEC_UTIL_CSUM_H
#define NATSEC_UTIL_CSUM_H

#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

/* Adds the big-endian 16-bit words of data (an odd last byte padded with
 * zero) to a running 32-bit sum; chain calls, then ns_csum_fold. Each call
 * except the last must cover an even number of bytes. */
uint32_t ns_csum_add(uint32_t sum, const void *data, size_t len);
/* Folds the carries and complements: the checksum to put in a header. */
uint16_t ns_csum_fold(uint32_t sum);

/* RFC 1624 equation 3, HC' = ~(~HC + ~m + m'), for the 16-bit words of
 * old_words replaced by new_words (both len bytes, len even). */
uint16_t ns_csum_replace(uint16_t hc, const uint8_t *old_words, const uint8_t *new_words,
                         size_t len);

/* The checksum of an IPv4 header of len bytes whose checksum field is 0. */
uint16_t ns_csum_ipv4_header(const uint8_t *hdr, size_t len);

/* The full checksum of a TCP, UDP or ICMPv6 segment with the pseudo-header
 * of src and dst (RFC 793, RFC 768, RFC 8200 8.1), computed with the
 * segment's checksum field as it is: 0 over a segment whose field is
 * correct, the value to store over one whose field is 0. */
uint16_t ns_csum_pseudo(uint8_t proto, const uint8_t *seg, size_t len, const struct ns_addr *src,
                        const struct ns_addr *dst);

/* Offset of the checksum field in a segment of this protocol whose checksum
 * covers a pseudo-header (TCP 16, UDP and UDP-Lite 6, ICMPv6 2), or -1. */
int ns_csum_field_offset(uint8_t proto);

/* Moves the checksum of a TCP, UDP, UDP-Lite or ICMPv6 segment from the
 * pseudo-header addresses (osrc, odst) to (nsrc, ndst). A zero UDP checksum
 * means "none" and stays zero; a result of zero is sent as 0xffff for UDP.
 * Other protocols are left alone. Returns 0, or -1 when the segment is too
 * short to hold its checksum field or an address is unset. */
int ns_csum_fix_transport(uint8_t proto, uint8_t *seg, size_t len, const struct ns_addr *osrc,
                          const struct ns_addr *odst, const struct ns_addr *nsrc,
                          const struct ns_addr *ndst);

#endif
