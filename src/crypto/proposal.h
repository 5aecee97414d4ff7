/* One cryptographic suite, for an IKE SA or a CHILD_SA (ESP), as configured
 * locally or as chosen from a peer's SA payload. Algorithm numbers are the
 * IKEv2 transform IDs, so the same values go on the wire. */
#ifndef NATSEC_CRYPTO_PROPOSAL_H
#define NATSEC_CRYPTO_PROPOSAL_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "crypto/prf.h"

#define NS_PROTO_IKE 1
#define NS_PROTO_ESP 3

struct ns_proposal {
    uint8_t protocol; /* NS_PROTO_IKE or NS_PROTO_ESP */
    enum ns_encr_alg encr;
    unsigned key_bits;        /* 128/256 for AES, 256 for ChaCha20, 0 for NULL */
    enum ns_integ_alg integ;  /* NS_INTEG_NONE with an AEAD */
    enum ns_prf_alg prf;      /* IKE only */
    enum ns_dh_group dh;      /* IKE: required; ESP: 0 = no PFS */
    bool esn;                 /* ESP only: extended sequence numbers */
};

#define NS_MAX_PROPOSALS 16

#endif
