/* TCP MSS clamping (X11). The tunnel's MTU (conf mtu, 1400 by default) is
 * smaller than the path's, and many paths drop the ICMP "fragmentation
 * needed" that path MTU discovery relies on (home routers, clouds). So the
 * data plane lowers the MSS option of every TCP SYN and SYN-ACK that goes
 * into or comes out of the tunnel to what fits the tunnel: both ends then
 * send segments that need no fragmentation, whatever ICMP does.
 *
 * Pure functions over one IP packet in place; every header length is
 * checked against the packet before it is used. */
#ifndef NATSEC_ESP_MSS_H
#define NATSEC_ESP_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IP and TCP headers without options: the MSS for an MTU is the MTU less
 * these (RFC 879, RFC 8200 8.3). */
#define NS_MSS_IPV4_OVERHEAD 40
#define NS_MSS_IPV6_OVERHEAD 60

/* Lowers the MSS option of a TCP segment with SYN set (a SYN or a SYN-ACK)
 * in ip_packet (an IPv4 or IPv6 packet, len bytes) to max_mss when it is
 * larger, and fixes the TCP checksum incrementally (RFC 1624), so a correct
 * checksum stays correct. Anything else is left byte for byte as it was:
 * not TCP, no SYN, an IP fragment, no MSS option, an MSS option no larger
 * than max_mss, and headers or options that do not parse. Returns true when
 * the packet was changed. */
bool ns_mss_clamp(uint8_t *ip_packet, size_t len, uint16_t max_mss);

/* Whether ip_packet (len bytes) is a TCP segment with SYN set whose
 * headers parse: one ns_mss_clamp may change. */
bool ns_mss_syn(const uint8_t *ip_packet, size_t len);

/* ns_mss_clamp with the limit for a tunnel whose MTU is mtu: mtu - 40 for
 * an IPv4 packet, mtu - 60 for an IPv6 one. */
bool ns_mss_clamp_mtu(uint8_t *ip_packet, size_t len, unsigned mtu);

#endif
