/* The IPv4, IPv6, TCP and UDP header facts every layer that reads or
 * writes packets needs (RFC 791, RFC 8200, RFC 9293, RFC 768): protocol
 * numbers, header sizes, field offsets and flags, in one place. */
#ifndef NATSEC_UTIL_INET_H
#define NATSEC_UTIL_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* IP protocol numbers (IANA), also the IPv6 Next Header values. */
#define NS_IPPROTO_HOPOPTS 0
#define NS_IPPROTO_TCP 6
#define NS_IPPROTO_UDP 17
#define NS_IPPROTO_ROUTING 43
#define NS_IPPROTO_FRAGMENT 44
#define NS_IPPROTO_ESP 50
#define NS_IPPROTO_AH 51
#define NS_IPPROTO_ICMPV6 58
#define NS_IPPROTO_NONE 59
#define NS_IPPROTO_DSTOPTS 60
#define NS_IPPROTO_SCTP 132
#define NS_IPPROTO_UDPLITE 136

#define NS_IPV4_MIN_HDR 20 /* without options */
#define NS_IPV6_HDR 40
#define NS_TCP_MIN_HDR 20
#define NS_UDP_HDR 8

/* IPv4 header fields. */
#define NS_IPV4_TOTLEN_OFF 2
#define NS_IPV4_ID_OFF 4
#define NS_IPV4_FRAG_OFF 6
#define NS_IPV4_TTL_OFF 8
#define NS_IPV4_PROTO_OFF 9
#define NS_IPV4_CSUM_OFF 10
#define NS_IPV4_SRC_OFF 12
#define NS_IPV4_DST_OFF 16
/* IPv6 header fields. */
#define NS_IPV6_PLEN_OFF 4
#define NS_IPV6_NEXT_OFF 6
#define NS_IPV6_HLIM_OFF 7
#define NS_IPV6_SRC_OFF 8
#define NS_IPV6_DST_OFF 24

/* TCP flags (byte 13 of the header). */
#define NS_TCP_FIN 0x01
#define NS_TCP_SYN 0x02
#define NS_TCP_RST 0x04
#define NS_TCP_PSH 0x08
#define NS_TCP_ACK 0x10
#define NS_TCP_URG 0x20
#define NS_TCP_ECE 0x40
#define NS_TCP_CWR 0x80

static inline unsigned ns_ip_version(const uint8_t *pkt)
{
    return pkt[0] >> 4;
}

/* The IPv4 header length from its IHL field, in bytes. */
static inline size_t ns_ipv4_hdr_len(const uint8_t *pkt)
{
    return (size_t)(pkt[0] & 0x0f) * 4;
}

/* A fragment: MF set or a nonzero fragment offset. */
static inline bool ns_ipv4_is_fragment(const uint8_t *pkt)
{
    return (ns_get_u16(pkt + NS_IPV4_FRAG_OFF) & 0x3fff) != 0;
}

#endif
