/* X.509 certificates over OpenSSL 3 (X7): this host's credentials (its
 * certificate chain and private key, PEM), the trust anchors (a CA PEM
 * file or a directory of them), verification of a peer's end-entity
 * certificate with X509_verify_cert, and the names a certificate holds
 * (subject DN, subjectAltName, subjectKeyIdentifier) for the identity
 * check of R3. Nothing here knows IKE's ID payloads: the caller maps an
 * ID type to a name kind.
 *
 * Loading errors come back as text for the configuration's messages
 * ("file:line: cert: ..."): a missing or unreadable file, PEM without a
 * certificate, a key that does not match the certificate, a certificate
 * outside its validity. Nothing here aborts on bad input. */
#ifndef NATSEC_CRYPTO_X509_H
#define NATSEC_CRYPTO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define NS_X509_MAX_CHAIN 8 /* our chain, and the peer certificates looked at */
#define NS_X509_MAX_CAS 64  /* trust anchors in one CA file or directory */
#define NS_X509_STRLEN 256  /* printable subject or list of names */

struct ns_x509_creds;

/* ns_x509_creds_check flags. */
enum {
    /* For tests only: keep a key that does not match the certificate, or
     * a certificate outside its validity, to play a broken peer. */
    NS_X509_UNCHECKED = 1,
};

struct ns_x509_creds *ns_x509_creds_new(void);
void ns_x509_creds_free(struct ns_x509_creds *c);

/* Our certificate: the first one in the PEM file is ours, any further ones
 * are intermediates sent along with it. Returns 0 or -1 with a reason. */
int ns_x509_creds_load_cert(struct ns_x509_creds *c, const char *path, char *err, size_t errlen);
/* Our private key (PEM: PKCS#8, or traditional RSA / EC; not encrypted). */
int ns_x509_creds_load_key(struct ns_x509_creds *c, const char *path, char *err, size_t errlen);
/* Trust anchors: a PEM file with one or more CA certificates, or a
 * directory whose regular files are such PEM files (names do not matter;
 * at most NS_X509_MAX_CAS certificates in all). */
int ns_x509_creds_load_ca(struct ns_x509_creds *c, const char *path, char *err, size_t errlen);
/* After loading: the key is the certificate's, and the certificate is
 * within its validity now (unless NS_X509_UNCHECKED). 0 or -1. */
int ns_x509_creds_check(const struct ns_x509_creds *c, unsigned flags, char *err, size_t errlen);

bool ns_x509_creds_has_cert(const struct ns_x509_creds *c);
bool ns_x509_creds_has_key(const struct ns_x509_creds *c);
bool ns_x509_creds_has_ca(const struct ns_x509_creds *c);
/* Our certificate (NULL without one), and our chain as DER: entry 0 is our
 * certificate, then the intermediates. */
const X509 *ns_x509_creds_cert(const struct ns_x509_creds *c);
unsigned ns_x509_creds_chain_len(const struct ns_x509_creds *c);
const uint8_t *ns_x509_creds_chain_der(const struct ns_x509_creds *c, unsigned i, size_t *len);
EVP_PKEY *ns_x509_creds_key(const struct ns_x509_creds *c);
/* The Certification Authority field of a CERTREQ (RFC 7296 3.7): the SHA-1
 * of each trust anchor's SubjectPublicKeyInfo, concatenated (20 bytes
 * each). NULL and 0 without trust anchors. */
const uint8_t *ns_x509_creds_certreq(const struct ns_x509_creds *c, size_t *len);

/* A certificate from DER (exactly len bytes), or NULL. */
X509 *ns_x509_parse(const uint8_t *der, size_t len);
void ns_x509_free(X509 *x);
/* Verifies ee against the trust anchors, with up to n untrusted
 * intermediates, at the current time. Returns 0, or -1 with a reason
 * ("certificate has expired (depth 0, 'C=CH, O=Corp, CN=dave')"). */
int ns_x509_verify(const struct ns_x509_creds *c, X509 *ee, X509 *const *inter, unsigned n,
                   char *why, size_t whylen);
/* The certificate's public key (owned by the certificate). */
EVP_PKEY *ns_x509_pubkey(const X509 *x);

/* The kinds of name an identity is checked against. */
enum ns_x509_name {
    NS_X509_NAME_DN = 1,    /* data is a DER Name: equal to the subject */
    NS_X509_NAME_DNS = 2,   /* a dNSName entry of subjectAltName (case-insensitive) */
    NS_X509_NAME_EMAIL = 3, /* an rfc822Name entry (case-insensitive) */
    NS_X509_NAME_IP = 4,    /* an iPAddress entry (4 or 16 bytes) */
    NS_X509_NAME_KEYID = 5, /* the subjectKeyIdentifier */
};
bool ns_x509_has_name(const X509 *x, enum ns_x509_name kind, const uint8_t *data, size_t len);
/* Calls fn with each name of x that an identity can be: the subject (DER),
 * each dNSName, rfc822Name and iPAddress of subjectAltName, and the
 * subjectKeyIdentifier. data is valid during the call only. */
typedef void ns_x509_name_fn(void *ctx, enum ns_x509_name kind, const uint8_t *data, size_t len);
void ns_x509_each_name(const X509 *x, ns_x509_name_fn *fn, void *ctx);
/* Whether two DER Names are the same name (RFC 5280 7.1 comparison, as
 * X509_NAME_cmp: string types and case do not matter). */
bool ns_x509_dn_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* "C=CH, O=Corp, CN=alice" */
const char *ns_x509_subject_str(const X509 *x, char buf[NS_X509_STRLEN]);
const char *ns_x509_issuer_str(const X509 *x, char buf[NS_X509_STRLEN]);
/* "DNS:vpn.corp.example, email:alice@corp.example, IP:192.0.2.7", or
 * "none". */
const char *ns_x509_alt_names_str(const X509 *x, char buf[NS_X509_STRLEN]);

#endif
