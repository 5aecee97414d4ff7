/* Certificate authentication of IKE_AUTH (X7, R3), for the engine's
 * exchanges (auth_exchange.c and init_exchange.c call it); it reads only
 * the configuration and what struct ns_cert_sa gives of the IKE SA.
 *
 * Signatures: RFC 7427 Digital Signature (auth method 14) whenever the
 * peer announced SIGNATURE_HASH_ALGORITHMS in its IKE_SA_INIT, with the
 * hash the key suits best among those it announced (ECDSA P-256 SHA-256,
 * P-384 SHA-384, P-521 SHA-512; RSA SHA-256, as RSASSA-PSS with rsa_pss,
 * else PKCS#1 v1.5). A peer without RFC 7427 gets ECDSA as auth method
 * 9/10/11 (RFC 4754); an RSA key would need auth method 1, whose hash is
 * SHA-1 in practice: natsec does not send it and says why.
 *
 * Received: methods 14, 9, 10, 11 and 1. SHA-1 is refused in every one
 * (RFC 8247: not for signatures): in method 14 it is named by the
 * AlgorithmIdentifier; in method 1 (RSASSA-PKCS1-v1_5, hash not named
 * by the method) a signature that verifies only as SHA-1 is refused with
 * its own log line. The signed octets are those of PSK (RFC 7296 2.15,
 * ike/auth.h).
 *
 * Certificates: the peer's first CERT payload of encoding 4 (X.509
 * Signature) is its certificate, further ones are intermediates; it must
 * chain to a trust anchor (ca) and hold the identity of the ID payload
 * (conf/id_cert.h). We send our certificate and its chain always when we
 * authenticate with a certificate (natsec keeps no public keys of peers,
 * and a peer that sent no CERTREQ still needs ours), and CERTREQ with our
 * trust anchors' key hashes: the gateway in its IKE_SA_INIT answer, the
 * client in IKE_AUTH. */
#ifndef NATSEC_IKE_AUTH_CERT_H
#define NATSEC_IKE_AUTH_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "crypto/pubkey.h"
#include "ike/auth.h"
#include "ike/msg.h"

/* The largest AUTH payload body a signature method gives: the
 * AlgorithmIdentifier's length byte and DER, then the signature. */
#define NS_AUTH_DATA_MAX (1 + NS_SIG_ALGID_MAX + NS_SIG_MAX)

/* What certificate authentication reads of the IKE SA at hand. */
struct ns_cert_sa {
    const struct ns_conf *conf; /* ours: credentials, trust anchors, rsa_pss, sections */
    uint64_t id;                /* the IKE SA's, for the log */
    /* The peer's IKE_SA_INIT message (for the hashes it announced), or
     * NULL. */
    const uint8_t *peer_init;
    size_t peer_init_len;
};

/* IKE_SA_INIT (both roles): SIGNATURE_HASH_ALGORITHMS and, on the gateway,
 * CERTREQ, when this host uses certificates (a client with its gateway's
 * section peer, a gateway with any peer). Nothing for PSK only. */
void ns_eng_cert_init_payloads(const struct ns_conf *conf, const struct ns_conf_peer *peer,
                               struct ns_ike_builder *b);
/* IKE_AUTH: our CERT payloads (certificate, then its chain). */
void ns_eng_cert_add_certs(const struct ns_conf *conf, struct ns_ike_builder *b);
/* IKE_AUTH (client): CERTREQ with our trust anchors. */
void ns_eng_cert_add_certreq(const struct ns_conf *conf, struct ns_ike_builder *b);

/* Our AUTH by signature over the signed octets of in: the method into
 * *method and its data into out[0..*len). Returns 0, or -1 after logging
 * why (no common hash with an RSA key, a signing failure). */
int ns_eng_cert_sign(const struct ns_cert_sa *sa, const struct ns_auth_input *in, uint8_t *method,
                     uint8_t *out, size_t cap, size_t *len);
/* The peer's certificate (CERT payloads of in) chains to a trust anchor,
 * holds cid (R3), and auth is its signature over the signed octets of
 * signed_in. Returns true (and logs who authenticated with what), or false
 * with the reason in why, naming the identity and the certificate. With
 * proved (the gateway), true also gives the section the certificate's
 * names lead to (ns_conf_find_peer_by_cert, NULL for none). */
bool ns_eng_cert_verify(const struct ns_cert_sa *sa, const struct ns_ike_payloads *in,
                        const struct ns_conf_id *cid, const struct ns_auth_input *signed_in,
                        const struct ns_ike_auth *auth, const struct ns_conf_peer **proved,
                        char *why, size_t whylen);

#endif
