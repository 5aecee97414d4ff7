/* Framing on the NAT-T port 4500 (RFC 3948 2 and 4): IKE, ESP and NAT
 * keepalives share one UDP port pair, told apart by their first bytes.
 *
 *   1 byte 0xFF                  NAT-keepalive: discard
 *   4 zero bytes, then IKE       non-ESP marker: strip it, hand to IKE
 *   a non-zero SPI, >= 8 bytes   ESP: hand to the ESP layer as is
 *
 * The same marker is put in front of every IKE message sent on 4500. */
#ifndef NATSEC_NATT_UDP_DEMUX_H
#define NATSEC_NATT_UDP_DEMUX_H

#include <stddef.h>
#include <stdint.h>

#define NS_NATT_PORT 4500
#define NS_NATT_MARKER_LEN 4
#define NS_NATT_KEEPALIVE_LEN 1
#define NS_NATT_KEEPALIVE_BYTE 0xFF
/* RFC 3948 4: the default keepalive interval is 20 s (X1). */
#define NS_NATT_KEEPALIVE_DEFAULT_S 20

enum ns_natt_kind {
    NS_NATT_KEEPALIVE, /* discard */
    NS_NATT_IKE,       /* body: the IKE message after the marker */
    NS_NATT_ESP,       /* body: the whole datagram, SPI first */
    NS_NATT_INVALID,   /* anything else: drop (and count) */
};

/* Classifies a datagram received on port 4500. On IKE and ESP, *body and
 * *body_len are set to what the next layer gets (within data); otherwise
 * to NULL and 0. A zero-length datagram, a lone byte other than 0xFF, a
 * marker with nothing after it and an ESP packet shorter than its SPI and
 * sequence number (8 bytes) are invalid. */
enum ns_natt_kind ns_natt_classify(const uint8_t *data, size_t len, const uint8_t **body,
                                   size_t *body_len);

/* Writes the one-byte NAT-keepalive into buf (cap >= 1); returns its length
 * (1), or 0 when cap is 0. */
size_t ns_natt_keepalive(uint8_t *buf, size_t cap);

/* Writes the non-ESP marker into the 4 bytes before an IKE message that
 * starts at msg (the caller keeps that headroom). Returns msg - 4. */
uint8_t *ns_natt_add_marker(uint8_t *msg);

const char *ns_natt_kind_name(enum ns_natt_kind k);

#endif
