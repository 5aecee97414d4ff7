/* Stateless COOKIE for IKE_SA_INIT (RFC 7296 2.6, R15).
 *
 * Under half-open load the responder answers IKE_SA_INIT with a COOKIE
 * notify instead of creating state; the initiator repeats its request with
 * the cookie, which proves it receives at the address it claims.
 *
 *   Cookie = <VersionIDofSecret> | HMAC-SHA-256(<secret>, Ni | IPi | Porti | SPIi)
 *
 * (the RFC's Hash(Ni | IPi | SPIi | <secret>), as a keyed hash, with the
 * source port added). The secret is random and is replaced every
 * rotate_ms; the previous one is kept so that a cookie made just before a
 * rotation still verifies, and one older than that never does. Time is a
 * parameter (monotonic milliseconds), so no clock is read here.
 *
 * The port is bound too: without it one cookie would admit the same
 * request from every port of the address, each a half-open SA of its own
 * (they are told apart by endpoint and SPIi), and it proves only that the
 * sender receives at that address and port. A NAT keeps a client's mapping
 * between its two requests, so an honest client is not affected. */
#ifndef NATSEC_IKE_COOKIE_H
#define NATSEC_IKE_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

#define NS_COOKIE_SECRET_LEN 32
#define NS_COOKIE_LEN 36 /* 4-byte version + 32-byte HMAC-SHA-256 */
#define NS_COOKIE_DEFAULT_ROTATE_MS 120000

struct ns_cookie_secret {
    uint32_t version;
    bool valid;
    uint8_t key[NS_COOKIE_SECRET_LEN];
};

struct ns_cookie_ctx {
    struct ns_cookie_secret cur, prev;
    uint64_t made_ms;   /* when cur was made */
    uint64_t rotate_ms; /* lifetime of cur before it becomes prev */
};

/* A fresh random secret made at now_ms. rotate_ms 0 means the default.
 * Returns 0, or -1 when the random generator fails. */
int ns_cookie_init(struct ns_cookie_ctx *c, uint64_t now_ms, uint64_t rotate_ms);
/* Wipes the secrets. */
void ns_cookie_clear(struct ns_cookie_ctx *c);
/* Replaces the secret now (cur becomes prev). Returns 0 or -1. make and
 * verify rotate by themselves when rotate_ms has passed. */
int ns_cookie_rotate(struct ns_cookie_ctx *c, uint64_t now_ms);

/* Writes NS_COOKIE_LEN bytes for the initiator's nonce, endpoint (address
 * and port the request came from) and SPI. Returns 0, or -1 when a
 * rotation was due and the generator failed. */
int ns_cookie_make(struct ns_cookie_ctx *c, uint64_t now_ms, const uint8_t *ni, size_t ni_len,
                   const struct ns_endpoint *ep_i, uint64_t spi_i, uint8_t out[NS_COOKIE_LEN]);
/* The cookie ns_cookie_make made for these inputs with the current secret
 * (prev false) or the previous one (true), without rotating: what a
 * client may have received for a request. 0, or -1 when that secret is
 * not there. */
int ns_cookie_made(const struct ns_cookie_ctx *c, bool prev, const uint8_t *ni, size_t ni_len,
                   const struct ns_endpoint *ep_i, uint64_t spi_i, uint8_t out[NS_COOKIE_LEN]);
/* Whether cookie (the COOKIE notify data of the repeated request) was made
 * by ns_cookie_make for these inputs with the current or previous secret.
 * Compares in constant time. */
bool ns_cookie_verify(struct ns_cookie_ctx *c, uint64_t now_ms, const uint8_t *cookie,
                      size_t cookie_len, const uint8_t *ni, size_t ni_len,
                      const struct ns_endpoint *ep_i, uint64_t spi_i);

#endif
