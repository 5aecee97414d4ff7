/* Diffie-Hellman for IKEv2: groups 31 (Curve25519, RFC 8031), 19 (ECP-256
 * with the RFC 5903 encoding x | y), 14 (MODP-2048, RFC 3526) and, for
 * legacy_proposals only, 2 (MODP-1024, RFC 2409 6.2). Peer
 * public values are validated: off-curve points, MODP values outside
 * [2, p-2], and an all-zero X25519 result are rejected. */
#ifndef NATSEC_CRYPTO_DH_H
#define NATSEC_CRYPTO_DH_H

#include <stddef.h>
#include <stdint.h>

enum ns_dh_group {
    NS_DH_MODP1024 = 2, /* legacy: about 80-bit strength */
    NS_DH_MODP2048 = 14,
    NS_DH_ECP256 = 19,
    NS_DH_CURVE25519 = 31,
};

#define NS_DH_MAX_PUBLIC 256
#define NS_DH_MAX_SHARED 256

struct ns_dh;

/* 0 when the group is not one natsec implements. */
size_t ns_dh_public_len(enum ns_dh_group group); /* 128, 256, 64, 32 */
size_t ns_dh_shared_len(enum ns_dh_group group); /* 128, 256, 32, 32 */

/* A fresh key pair, or NULL. */
struct ns_dh *ns_dh_new(enum ns_dh_group group);
/* A key pair from a known private value (for test vectors), or NULL. */
struct ns_dh *ns_dh_new_from_private(enum ns_dh_group group, const uint8_t *priv, size_t priv_len);
void ns_dh_free(struct ns_dh *dh);
enum ns_dh_group ns_dh_group_of(const struct ns_dh *dh);

/* Writes ns_dh_public_len() bytes. Returns 0 or -1. */
int ns_dh_public(const struct ns_dh *dh, uint8_t *out, size_t out_len);
/* Computes the shared secret, ns_dh_shared_len() bytes (MODP left-padded
 * with zeros to the prime's length). Returns 0, or -1 when the peer's value is invalid. */
int ns_dh_derive(struct ns_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *shared,
                 size_t shared_len);

#ifdef NATSEC_FUZZ
/* Fuzz builds only (tests/fuzz/fuzz_ike_engine.c, which runs inputs on
 * copies of an engine's heap): a key pair whose struct is a copy with
 * nothing in it is made to hold src's key again, a reference taken, as
 * ns_dh_new would have made it for the same random stream. _dup gives a
 * new struct holding src's key the same way, to keep as that source. */
void ns_dh_fuzz_share(struct ns_dh *dst, const struct ns_dh *src);
struct ns_dh *ns_dh_fuzz_dup(const struct ns_dh *src);
#endif

#endif
