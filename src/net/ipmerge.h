/* The IP layer of coalescing packets of one flow into one super-packet for
 * a TUN write, shared by TCP (net/gso.h, ns_gro) and UDP (net/tun_uso.h):
 * which packets the kernel's segmentation would give back byte for byte,
 * and the IP header of the super-packet. */
#ifndef NATSEC_NET_IPMERGE_H
#define NATSEC_NET_IPMERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The offset of the proto header of pkt (len bytes): IPv4 without options
 * or fragmentation, total length len, a correct header checksum not stored
 * as 0xffff (valid, the other form of 0 that RFC 1624 updates can leave,
 * but the kernel stores 0 when it recomputes it per segment), or IPv6 with
 * proto right after its header and payload length len - 40. 0 when not. */
size_t ns_ipmerge_l4(const uint8_t *pkt, size_t len, uint8_t proto, bool *v6);
/* Whether pkt continues the super-packet whose first header is first: the
 * same IP header but for lengths, checksum and (IPv4) an ID of next_id. */
bool ns_ipmerge_continues(const uint8_t *first, const uint8_t *pkt, bool v6, uint16_t next_id);
/* Sets the IP length fields (and the IPv4 header checksum) of the
 * super-packet p of len bytes with its proto header at l4; returns the
 * unfolded sum of its pseudo-header (addresses, proto, L4 length). */
uint32_t ns_ipmerge_finish(uint8_t *p, size_t len, size_t l4, bool v6, uint8_t proto);

#endif
