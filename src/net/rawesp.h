/* Raw sockets for IP protocol 50: plain ESP when no NAT is in the path
 * (R14). The kernel builds the IP header on send; on receive the IPv4
 * header is stripped here, and its addresses are reported. No ports:
 * peer.port and local.port are 0. Marked with the fwmark like the UDP
 * sockets. */
#ifndef NATSEC_NET_RAWESP_H
#define NATSEC_NET_RAWESP_H

#include <stdint.h>

#include "net/dgram.h"
#include "util/addr.h"

struct ns_raw_esp {
    int fd; /* -1 when closed */
    int family;
    int fd6; /* the IPv6 socket beside an IPv4 fd (ns_raw_esp_open_dual), else -1 */
    uint64_t send_errors; /* packets the kernel refused */
    uint64_t bad_headers; /* received packets with a malformed IP header (each is also handed
                             back with len 0 and truncated, where natsecd counts it) */
};

/* Opens a raw ESP socket of addr's family, bound to addr unless it is the
 * wildcard. Returns 0, or -1 with the reason logged. */
int ns_raw_esp_open(struct ns_raw_esp *s, const struct ns_addr *addr, uint32_t fwmark);
/* Both IP versions: an IPv4 socket (fd) and an IPv6 one (fd6), neither
 * bound to an address; a kernel without IPv6 gets the IPv4 one alone (with
 * a warning). Receiving reads both, sending picks by each peer's family. */
int ns_raw_esp_open_dual(struct ns_raw_esp *s, uint32_t fwmark);
void ns_raw_esp_close(struct ns_raw_esp *s);
/* Data-plane workers: the kernel hands every raw socket of protocol 50 a
 * copy of each packet, so each worker's sockets keep only the packets
 * whose SPI modulo n is i (a socket filter); a packet too short for an SPI
 * is kept by worker 0's, which counts it. Every packet of one SA thus
 * reaches one worker. Returns 0, or -1 with the reason logged. */
int ns_raw_esp_steer(struct ns_raw_esp *s, unsigned n, unsigned i);

/* Receives up to n packets; each d[i].data holds the ESP packet (from the
 * SPI on), peer.addr its source, local.addr its destination. A packet with
 * a malformed header comes back with len 0 and truncated set. Returns the
 * count (0 when none waits) or -1 (logged). */
int ns_raw_esp_recv(struct ns_raw_esp *s, struct ns_dgram *d, unsigned n);
/* Sends ESP packets to peer.addr, from local.addr when set. Same contract
 * as ns_udp_send. */
int ns_raw_esp_send(struct ns_raw_esp *s, const struct ns_dgram *d, unsigned n);

#endif
