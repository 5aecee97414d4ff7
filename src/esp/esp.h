/* ESP packet processing (RFC 4303), in place in a struct ns_pkt: no sockets,
 * no allocation, no copies.
 *
 * Output is the ESP packet from SPI to ICV. The caller sends it on the UDP
 * NAT-T socket when ns_esp_sa_udp_encap(sa) (the kernel adds the 8-byte UDP
 * header, RFC 3948 2.1), else on a raw IPPROTO_ESP socket (the kernel adds
 * the IP header), to ns_esp_sa_peer(sa).
 *
 * Outbound (from TUN): ns_pkt_init, read the inner IP packet at
 * ns_pkt_data(), set len, then ns_esp_output() (SPD lookup + encap), or
 * ns_esp_encap() with an SA the caller chose.
 *
 * Inbound (from UDP 4500 after ns_natt_classify() said ESP, or from the raw
 * ESP socket with the IP header skipped): put the ESP packet at
 * ns_pkt_data(), then ns_esp_decap(). On NS_ESP_OK the inner packet (tunnel
 * mode) or the rebuilt IP packet (transport mode) is at ns_pkt_data(): write
 * it to TUN. Then, if info.newest and the outer source endpoint differs from
 * ns_esp_sa_peer(info.sa), call ns_sad_update_peer() (R4). */
#ifndef NATSEC_ESP_ESP_H
#define NATSEC_ESP_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp/pkt.h"
#include "esp/sad.h"

#define NS_ESP_HDR_LEN 8 /* SPI and low 32 bits of the sequence number */
#define NS_ESP_NH_IPV4 4
#define NS_ESP_NH_IPV6 41
#define NS_ESP_NH_NONE 59 /* dummy packet (RFC 4303 2.6) */

/* SPD lookup by the inner packet's addresses, protocol and ports, then
 * ns_esp_encap. *sa_out is the SA used (NULL when none matched). Drops:
 * malformed (not an IP packet), link_local (ns_flow_link_scoped: it must
 * not leave its link), no_policy, and those of ns_esp_encap. */
enum ns_esp_result ns_esp_output(struct ns_sad *sad, struct ns_pkt *pkt, uint64_t now_ns,
                                 struct ns_esp_sa **sa_out);

/* Encapsulates the IP packet in pkt on outbound sa. Tunnel mode: the whole
 * packet, next header 4 or 41. Transport mode: the IP header is replaced by
 * the ESP header (IPv4 without fragmentation; IPv6 with its extension
 * headers carried inside), next header = its protocol. The sequence number
 * is never wrapped: at 2^32 - 1 (or 2^64 - 1 with ESN) this returns
 * NS_ESP_SEQ_OVERFLOW until the SA is replaced. AEAD IVs are the 64-bit
 * sequence number (unique per key, RFC 4106 3.1), CBC IVs random. */
enum ns_esp_result ns_esp_encap(struct ns_sad *sad, struct ns_esp_sa *sa, struct ns_pkt *pkt,
                                uint64_t now_ns);

/* An RFC 4303 2.6 dummy packet on outbound sa in pkt (whose data is
 * replaced): no payload, next header 59, a sequence number and ICV like
 * any other, so the peer authenticates it, may follow a NAT's new mapping
 * on it (R4), and discards it. For the side behind a NAT, an
 * authenticated keepalive (X1). Not counted as traffic in the SA's
 * statistics. Results as ns_esp_encap. */
enum ns_esp_result ns_esp_encap_dummy(struct ns_sad *sad, struct ns_esp_sa *sa, struct ns_pkt *pkt);

struct ns_esp_in_info {
    /* The SA the packet authenticated on; NULL when it did not (no_sa,
     * replay, auth, or too short to try). Set for later drops as well. */
    struct ns_esp_sa *sa;
    /* The packet carried the highest sequence number seen on sa so far:
     * only such a packet may move the SA to a new peer address (R4), so a
     * delayed or replayed-in-window packet cannot pull it back. */
    bool newest;
    uint8_t next_header;
};

/* Decapsulates the ESP packet in pkt, checking in this order: SPI known
 * (no_sa), the encapsulation it came in (via_udp: in UDP on the NAT-T port;
 * false: IP protocol 50) the SA's (wrong_encap), sequence number in window
 * (replay), ICV (auth), then the window
 * is updated, then padding and next header (malformed), then the inner
 * packet: IPv4/IPv6 header lengths within the payload (malformed) and inner
 * source in the SA's remote selectors and inner destination in its local
 * ones (ts_mismatch, R17). Transport mode rebuilds an IP header from
 * outer_src to outer_dst (NULL: the SA's peer and local addresses) and fixes
 * TCP/UDP checksums from the SA's orig_src/orig_dst (R2). A dummy packet
 * returns NS_ESP_DUMMY. Every outcome but OK is counted in the SAD. */
enum ns_esp_result ns_esp_decap(struct ns_sad *sad, struct ns_pkt *pkt,
                                const struct ns_addr *outer_src, const struct ns_addr *outer_dst,
                                bool via_udp, uint64_t now_ns, struct ns_esp_in_info *info);

/* The AEAD associated data of an ESP packet (RFC 4106 5, RFC 7634 2.1):
 * SPI || seq low (8 bytes), or SPI || seq high || seq low with ESN (12).
 * Returns its length. */
size_t ns_esp_aad(uint8_t aad[12], uint32_t spi, uint64_t seq, bool esn);

#endif
