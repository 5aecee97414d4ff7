/* The one narrow interface between the control plane and the data plane:
 * everything the ESP layer needs to install one direction of a CHILD_SA.
 * The IKE layer fills it after a CHILD_SA is negotiated (IKE_AUTH or
 * CREATE_CHILD_SA); the daemon passes it to the ESP layer. It carries no IKE
 * message structure, only negotiated facts. */
#ifndef NATSEC_ESP_SA_SPEC_H
#define NATSEC_ESP_SA_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/cipher.h"
#include "util/addr.h"

#define NS_SA_MAX_TS 8

enum ns_esp_mode {
    NS_ESP_TUNNEL = 0,
    NS_ESP_TRANSPORT = 1,
};

enum ns_esp_dir {
    NS_ESP_INBOUND = 0,
    NS_ESP_OUTBOUND = 1,
};

struct ns_esp_sa_spec {
    enum ns_esp_dir dir;
    uint32_t spi; /* as carried in the packets of this direction, host order */
    enum ns_esp_mode mode;

    enum ns_encr_alg encr;
    unsigned key_bits;
    enum ns_integ_alg integ;
    uint8_t encr_key[NS_CIPHER_MAX_ENCR_KEY]; /* key || salt for AEAD */
    size_t encr_key_len;
    uint8_t integ_key[NS_CIPHER_MAX_INTEG_KEY];
    size_t integ_key_len;
    bool esn; /* 64-bit extended sequence numbers negotiated */

    /* Traffic selectors from this host's point of view: local_ts is this
     * side (the virtual IP for a client, the inside subnets for a
     * gateway), remote_ts the peer's side. Inbound packets must have their
     * inner source in remote_ts and inner destination in local_ts (R17);
     * outbound packets are chosen by inner destination in remote_ts. */
    struct ns_ts local_ts[NS_SA_MAX_TS];
    unsigned n_local_ts;
    struct ns_ts remote_ts[NS_SA_MAX_TS];
    unsigned n_remote_ts;

    /* Outer addressing. udp_encap: RFC 3948 on natt ports, else IP
     * protocol 50. peer is the address and port packets go to (the NAT's
     * public mapping for a client behind a NAT); local the address and port
     * this host sends from. */
    bool udp_encap;
    struct ns_endpoint local;
    struct ns_endpoint peer;
    /* Outbound: peer is an address whose return routability is not
     * checked yet (RFC 4555 3.10): the SA is bounded from the start, as
     * ns_sad_set_path_verified bounds the SAs installed before it. */
    bool path_unverified;

    /* Transport mode through a NAT (RFC 3948 3.1.2, R2): the addresses the
     * peer used as its own and ours in the negotiation (its traffic
     * selectors), from which checksums are fixed after decapsulation. */
    struct ns_addr orig_src;
    struct ns_addr orig_dst;

    /* Which IKE SA owns this CHILD_SA (for address updates and status). */
    uint64_t ike_sa_id;
    /* The SPI of the other direction of the same CHILD_SA (for status and
     * deletion as a pair). */
    uint32_t paired_spi;
};

#endif
