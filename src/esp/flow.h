/* What the SPD looks at in a plaintext IP packet: addresses, protocol and
 * ports. Parsed with explicit bounds checks from untrusted bytes (a
 * decrypted inner packet may come from a misbehaving but authenticated
 * peer; an outbound one from any local application). */
#ifndef NATSEC_ESP_FLOW_H
#define NATSEC_ESP_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

struct ns_flow {
    struct ns_addr src, dst;
    uint8_t proto; /* upper-layer protocol (after IPv6 extension headers) */
    /* false when the protocol has ports but they are not in this packet (a
     * non-first fragment, or a truncated header): then only selectors
     * allowing every port match. */
    bool ports_known;
    uint16_t sport, dport;
};

/* Parses the IPv4 or IPv6 packet at pkt. Checks the version, header length
 * and total (or payload) length against len. Returns the packet's length
 * as its header states it (<= len; bytes after it are padding, e.g. RFC
 * 4303 TFC padding), or 0 when the packet is malformed. */
size_t ns_flow_parse(struct ns_flow *f, const uint8_t *pkt, size_t len);

/* Whether the packet must stay on the link it was sent on, so no tunnel may
 * carry it: a link-local or unspecified source (RFC 4291 2.5.2, 2.5.6;
 * 0.0.0.0 and 169.254/16, RFC 3927 2.7), a link-local destination, IPv6
 * multicast of interface- or link-local scope, IPv4 local network control
 * multicast 224.0.0/24 (RFC 5771) or the limited broadcast. What a host
 * sends on its own on a new interface (router solicitations, MLD reports,
 * mDNS) is such. */
bool ns_flow_link_scoped(const struct ns_flow *f);

/* Whether (a, proto, port) lies in any of the n selectors; with ports
 * unknown only a selector allowing all ports matches (RFC 4301 4.4.1.1's
 * OPAQUE handling, simplified). */
bool ns_ts_list_match(const struct ns_ts *ts, unsigned n, const struct ns_addr *a, uint8_t proto,
                      uint16_t port, bool ports_known);

/* Whether the flow is allowed on an SA whose selectors are local (this
 * side) and remote (the peer's side), in the direction given: outbound
 * needs src in local and dst in remote; inbound the reverse (R17). */
bool ns_flow_match(const struct ns_flow *f, bool inbound, const struct ns_ts *local,
                   unsigned n_local, const struct ns_ts *remote, unsigned n_remote);

#endif
