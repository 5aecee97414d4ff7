/* NAT detection for IKEv2 (RFC 7296 2.23).
 *
 * Each side puts in IKE_SA_INIT one or more NAT_DETECTION_SOURCE_IP notifies
 * (a hash of the address and port it believes it sends from) and one
 * NAT_DETECTION_DESTINATION_IP notify (a hash of the address and port it
 * sends to). The receiver recomputes the hashes from the datagram's real
 * addresses: a mismatch means a NAT rewrote that side of the packet.
 *
 * Everything here is pure (no I/O, no clock); the engine extracts the notify
 * data and passes the datagram's endpoints. */
#ifndef NATSEC_NATT_NATD_H
#define NATSEC_NATT_NATD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

#define NS_NATD_HASH_LEN 20 /* SHA-1 */

/* SHA-1(SPIi | SPIr | IP | Port): the SPIs of the header of the message
 * that carries the notify, in host order here and serialized big-endian as
 * in the header; IP is 4 or 16 bytes; Port is big-endian. So spi_r is 0 in
 * the IKE_SA_INIT request (and when checking it), and the responder's SPI
 * in the response. An endpoint without a family hashes as no address. */
void ns_natd_hash(uint64_t spi_i, uint64_t spi_r, const struct ns_endpoint *ep,
                  uint8_t out[NS_NATD_HASH_LEN]);

/* A hash that matches no endpoint, for NAT_DETECTION_SOURCE_IP when
 * encapsulation is forced by configuration (RFC 7296 2.23 allows it; the
 * peer then believes we are behind a NAT and both sides float to 4500 and
 * encapsulate ESP in UDP). It is random, as strongSwan does. Returns 0, or
 * -1 when the random generator fails. */
int ns_natd_hash_forced(uint8_t out[NS_NATD_HASH_LEN]);

struct ns_natd_result {
    bool peer_behind_nat;  /* no SOURCE_IP hash matched the datagram's source */
    bool local_behind_nat; /* the DESTINATION_IP hash did not match our endpoint */
};

/* Checks the NAT detection notifies of a received IKE_SA_INIT message.
 * src_hashes[0..n_src) with src_lens are the data of every
 * NAT_DETECTION_SOURCE_IP notify (a peer with several addresses may send
 * several); dst_hash/dst_len the NAT_DETECTION_DESTINATION_IP data. A hash
 * whose length is not 20 matches nothing. pkt_src is the datagram's source
 * (the peer as we see it), pkt_dst its destination (our local endpoint, the
 * address the packet arrived on). SPIs as in ns_natd_hash.
 * Returns 0 with *out filled, or -1 when n_src is 0 or dst_hash is NULL:
 * the peer did not send both kinds, so it does not do NAT traversal and no
 * NAT is assumed (*out is set to all false). */
int ns_natd_check(uint64_t spi_i, uint64_t spi_r, const uint8_t *const *src_hashes,
                  const size_t *src_lens, size_t n_src, const uint8_t *dst_hash, size_t dst_len,
                  const struct ns_endpoint *pkt_src, const struct ns_endpoint *pkt_dst,
                  struct ns_natd_result *out);

/* Whether either side is behind a NAT: then IKE floats to port 4500 and
 * ESP is encapsulated in UDP (RFC 3948). */
bool ns_natd_any(const struct ns_natd_result *r);

#endif
