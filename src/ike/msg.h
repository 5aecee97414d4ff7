/* IKEv2 message codec (RFC 7296 section 3): parse and build the header and
 * the payloads natsec needs, and the SK payload (3.14).
 *
 * Parsing never allocates and never trusts a length: a message parses into
 * fixed-size arrays of views that point into the caller's buffer, so the
 * buffer must outlive the parsed structures. Every length is checked against
 * its enclosing length. Errors are NS_IKE_E* codes (negative).
 *
 * Building writes into a caller buffer through ns_writer; the builder chains
 * the "next payload" fields itself and patches lengths at the end. */
#ifndef NATSEC_IKE_MSG_H
#define NATSEC_IKE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cipher.h"
#include "ike/wire.h"
#include "util/addr.h"
#include "util/buf.h"

enum ns_ike_err {
    NS_IKE_OK = 0,
    NS_IKE_ETRUNC = -1,    /* a length runs past its enclosing data */
    NS_IKE_ELENGTH = -2,   /* a length field is impossible (too short, disagrees) */
    NS_IKE_EVERSION = -3,  /* major version is not 2 */
    NS_IKE_ETOOMANY = -4,  /* more payloads/proposals/... than natsec keeps */
    NS_IKE_ECRITICAL = -5, /* unknown payload with the critical bit */
    NS_IKE_ESYNTAX = -6,   /* a field has a value the RFC forbids */
    NS_IKE_EAUTH = -7,     /* the SK payload's ICV did not verify */
    NS_IKE_ENOSPACE = -8,  /* the output buffer is too small */
    NS_IKE_ECRYPTO = -9,   /* the cipher refused to seal (bad key or length) */
};
const char *ns_ike_strerror(int err);

struct ns_ike_header {
    uint64_t spi_i, spi_r;
    uint8_t next_payload;
    uint8_t version;
    uint8_t exchange;
    uint8_t flags;
    uint32_t msg_id;
    uint32_t length;
};

/* A generic payload as found in a chain. */
struct ns_ike_payload {
    uint8_t type;
    bool critical;
    /* This payload's Next Payload field; for SK (and SKF) it is the type of
     * the first payload inside the encryption (3.14). */
    uint8_t next_payload;
    const uint8_t *body; /* after the 4-byte generic header */
    uint16_t body_len;
};

#define NS_IKE_MAX_PAYLOADS 48

struct ns_ike_payloads {
    struct ns_ike_payload p[NS_IKE_MAX_PAYLOADS];
    unsigned n;
    /* The first unknown payload type that had the critical bit set, or 0;
     * the caller answers UNSUPPORTED_CRITICAL_PAYLOAD with it (3.2). When it
     * is set, parse returns NS_IKE_ECRITICAL. */
    uint8_t unsupported_critical;
};

/* ---- header and payload chain ---- */

/* Parses the 28-byte header and checks length against len (the datagram
 * without the non-ESP marker). The header's length must equal len exactly:
 * ETRUNC when the datagram is shorter, ELENGTH when it is longer (RFC 7296
 * 3.1 makes the field the total message length, so trailing bytes are not
 * IKE; refusing them keeps exactly one interpretation of a datagram). The
 * major version must be 2 (EVERSION otherwise); h is filled in even then,
 * so the caller can answer INVALID_MAJOR_VERSION. */
int ns_ike_parse_header(const uint8_t *msg, size_t len, struct ns_ike_header *h);
/* Walks a payload chain starting with type first over data[0..len); the
 * chain must end exactly at len. Payload types listed in wire.h are
 * recorded; unknown types without the critical bit are skipped (not
 * recorded); an unknown type with the critical bit sets unsupported_critical
 * (the first one) and the walk goes on, so that a structurally broken chain
 * still reports its structural error, and NS_IKE_ECRITICAL is returned only
 * for an otherwise well-formed chain. An SK or SKF payload must be the last
 * one: its Next Payload names the first inner payload, not a successor. */
int ns_ike_parse_chain(uint8_t first, const uint8_t *data, size_t len, struct ns_ike_payloads *out);
/* Header plus chain of an entire message. An SK payload, if present, must be
 * the last one; it appears in out as type NS_PL_SK. */
int ns_ike_parse_message(const uint8_t *msg, size_t len, struct ns_ike_header *h,
                         struct ns_ike_payloads *out);
/* The first payload of a type, or NULL. */
const struct ns_ike_payload *ns_ike_find(const struct ns_ike_payloads *pl, uint8_t type);
/* The first well-formed Notify payload of a notify type, or NULL. */
const struct ns_ike_payload *ns_ike_find_notify(const struct ns_ike_payloads *pl, uint16_t type);

/* ---- typed payload bodies ---- */

/* Transforms kept per proposal. strongSwan 5.9's `proposals = default`
 * (charon, the Android app) sends 34 and 36 in one IKE_SA_INIT; a proposal
 * with more than this makes the whole message ETOOMANY (dropped). */
#define NS_IKE_MAX_TRANSFORMS 64
#define NS_IKE_MAX_SA_PROPOSALS 16

struct ns_ike_transform {
    uint8_t type; /* NS_TRANS_* */
    uint16_t id;
    uint16_t key_len; /* the KEY_LENGTH attribute in bits, 0 if absent */
    /* An attribute other than KEY_LENGTH was present (and skipped): 3.3.6
     * lets a responder choose only transforms whose attributes it knows. */
    bool unknown_attr;
};

struct ns_ike_sa_proposal {
    uint8_t num;
    uint8_t protocol; /* 1 IKE, 3 ESP (2 AH is parsed so it can be refused) */
    uint8_t spi_len;  /* 0, 4 or 8 */
    uint8_t spi[8];
    struct ns_ike_transform t[NS_IKE_MAX_TRANSFORMS];
    unsigned n_t;
};

struct ns_ike_sa {
    struct ns_ike_sa_proposal prop[NS_IKE_MAX_SA_PROPOSALS];
    unsigned n;
};

struct ns_ike_ke {
    uint16_t group;
    const uint8_t *data;
    size_t len;
};

struct ns_ike_notify {
    uint8_t protocol;
    uint8_t spi_len;
    const uint8_t *spi;
    uint16_t type;
    const uint8_t *data;
    size_t len;
};

/* IDi / IDr. rest/rest_len is "RestOfIDPayload" (type, reserved and data),
 * what the AUTH computation (2.15) signs. */
struct ns_ike_id {
    uint8_t type;
    const uint8_t *data;
    size_t len;
    const uint8_t *rest;
    size_t rest_len;
};

struct ns_ike_auth {
    uint8_t method;
    const uint8_t *data;
    size_t len;
};

#define NS_IKE_MAX_TS 16
struct ns_ike_ts_list {
    struct ns_ts ts[NS_IKE_MAX_TS];
    unsigned n;
    /* Selectors of a type other than IPv4/IPv6 address range: their length
     * was checked, then they were left out (which only narrows, 2.9). */
    unsigned n_skipped;
};

#define NS_IKE_MAX_CP_ATTRS 32
struct ns_ike_cp_attr {
    uint16_t type;
    const uint8_t *data;
    uint16_t len;
};
struct ns_ike_cp {
    uint8_t type; /* NS_CFG_* */
    struct ns_ike_cp_attr attr[NS_IKE_MAX_CP_ATTRS];
    unsigned n;
};

struct ns_ike_delete {
    uint8_t protocol;
    uint8_t spi_len;
    uint16_t n_spi;
    const uint8_t *spis; /* n_spi * spi_len bytes */
};

/* CERT and CERTREQ: encoding and data. */
struct ns_ike_cert {
    uint8_t encoding;
    const uint8_t *data;
    size_t len;
};

/* Vendor ID and Nonce have only data: use payload body directly; the Nonce
 * parser checks the RFC's 16..256 byte bounds (ELENGTH outside them).
 * Each parser returns NS_IKE_OK or a negative NS_IKE_E* code and checks
 * that p has the type it parses (ESYNTAX otherwise). */
int ns_ike_parse_sa(const struct ns_ike_payload *p, struct ns_ike_sa *out);
int ns_ike_parse_ke(const struct ns_ike_payload *p, struct ns_ike_ke *out);
int ns_ike_parse_nonce(const struct ns_ike_payload *p, const uint8_t **nonce, size_t *len);
int ns_ike_parse_notify(const struct ns_ike_payload *p, struct ns_ike_notify *out);
/* The type of the first well-formed Notify payload of an error type, with
 * its body in *out when out is not NULL; 0 when there is none. */
uint16_t ns_ike_first_error_notify(const struct ns_ike_payloads *pl, struct ns_ike_notify *out);
int ns_ike_parse_id(const struct ns_ike_payload *p, struct ns_ike_id *out);
int ns_ike_parse_auth(const struct ns_ike_payload *p, struct ns_ike_auth *out);
int ns_ike_parse_ts(const struct ns_ike_payload *p, struct ns_ike_ts_list *out);
int ns_ike_parse_cp(const struct ns_ike_payload *p, struct ns_ike_cp *out);
/* INTERNAL_IP6_ADDRESS: an address and a prefix length (RFC 7296 3.15.1). */
#define NS_IKE_CP_IP6_ADDR_LEN 17
/* The prefix length an INTERNAL_IP6_ADDRESS value (NS_IKE_CP_IP6_ADDR_LEN
 * bytes) names a prefix of, or 128 for an address. A prefix is a length
 * below 128 with every address bit after it zero: ::/64 asks for any /64,
 * 2001:db8:0:8000::/64 for that one again. An address with a shorter
 * length is an address: strongSwan sends every address it asks for and
 * gives as address/64. */
unsigned ns_ike_cp_ip6_prefix_len(const uint8_t *v);
int ns_ike_parse_delete(const struct ns_ike_payload *p, struct ns_ike_delete *out);
int ns_ike_parse_cert(const struct ns_ike_payload *p, struct ns_ike_cert *out);

/* ---- SK payload (3.14) ---- */

/* Verifies and decrypts the SK payload of a parsed message in place (msg is
 * writable: the ciphertext becomes plaintext) and parses the inner chain
 * into inner. sk must be the SK payload found in the message's payloads;
 * msg/len the whole message from the IKE header on. Checks the padding.
 * EAUTH when the ICV does not verify (then msg is unspecified), ELENGTH when
 * the SK body cannot hold IV, a pad-length byte and ICV (or CBC ciphertext
 * is not block aligned), ESYNTAX when the pad length runs past the
 * plaintext or the inner chain holds another SK/SKF; inner chain errors as
 * for ns_ike_parse_chain. */
int ns_ike_sk_open(struct ns_cipher *c, uint8_t *msg, size_t len, const struct ns_ike_payload *sk,
                   struct ns_ike_payloads *inner);

/* ---- building ---- */

struct ns_ike_builder {
    struct ns_writer w;
    size_t np_off;   /* where the "next payload" byte of the last payload (or header) is */
    size_t pl_start; /* start of the payload being built, for its length */
    size_t sk_start; /* start of an open SK payload, or 0 */
    size_t sk_body;  /* where its plaintext begins (after the IV) */
    int err;         /* first error other than running out of space, or 0 */
    bool open;       /* a payload is open (between build_open and build_close) */
    bool sealed;     /* the SK payload was sealed: nothing more may be added */
};

/* Starts a message: writes the header (length patched by finish). The
 * header's next_payload and length are ignored (the builder fills them);
 * version 0 means NS_IKE_VERSION. Errors are latched in the builder and
 * reported once by ns_ike_build_finish, like ns_writer's. */
void ns_ike_build_begin(struct ns_ike_builder *b, uint8_t *buf, size_t cap,
                        const struct ns_ike_header *h);
/* Low-level: opens a payload of a type, the body is written with b->w, and
 * ns_ike_build_close closes it (patches the length). Payloads do not nest,
 * except that payloads are opened and closed inside an SK payload between
 * ns_ike_sk_begin and ns_ike_sk_seal. */
void ns_ike_build_open(struct ns_ike_builder *b, uint8_t type, bool critical);
void ns_ike_build_close(struct ns_ike_builder *b);

/* Proposal numbers are taken from sa (0 means position + 1); a transform
 * gets a KEY_LENGTH attribute when key_len is not 0. */
void ns_ike_add_sa(struct ns_ike_builder *b, const struct ns_ike_sa *sa);
void ns_ike_add_ke(struct ns_ike_builder *b, uint16_t group, const uint8_t *data, size_t len);
void ns_ike_add_nonce(struct ns_ike_builder *b, const uint8_t *nonce, size_t len);
void ns_ike_add_notify(struct ns_ike_builder *b, uint8_t protocol, const uint8_t *spi,
                       uint8_t spi_len, uint16_t type, const uint8_t *data, size_t len);
void ns_ike_add_id(struct ns_ike_builder *b, uint8_t payload_type /* IDI or IDR */, uint8_t id_type,
                   const uint8_t *data, size_t len);
void ns_ike_add_auth(struct ns_ike_builder *b, uint8_t method, const uint8_t *data, size_t len);
void ns_ike_add_ts(struct ns_ike_builder *b, uint8_t payload_type /* TSI or TSR */,
                   const struct ns_ts *ts, unsigned n);
void ns_ike_add_cp(struct ns_ike_builder *b, const struct ns_ike_cp *cp);
void ns_ike_add_delete(struct ns_ike_builder *b, uint8_t protocol, uint8_t spi_len,
                       const uint8_t *spis, uint16_t n_spi);
void ns_ike_add_vendor(struct ns_ike_builder *b, const uint8_t *data, size_t len);
/* EAP (3.16): the body is one EAP packet, as eap/eap.h builds it. */
void ns_ike_add_eap(struct ns_ike_builder *b, const uint8_t *data, size_t len);
void ns_ike_add_cert(struct ns_ike_builder *b, uint8_t payload_type /* CERT or CERTREQ */,
                     uint8_t encoding, const uint8_t *data, size_t len);

/* Opens an SK payload: the payloads added until ns_ike_sk_seal are its
 * plaintext. iv has ns_cipher_iv_len(c) bytes (the caller makes it unique:
 * random for CBC, a counter or random for AEAD). */
void ns_ike_sk_begin(struct ns_ike_builder *b, const struct ns_cipher *c, const uint8_t *iv);
/* Pads (to ns_cipher_block_len: 16 for CBC, 4 otherwise), encrypts and
 * appends the ICV; nothing may be added after it. It
 * patches the header's length first, since the integrity covers the whole
 * message from the IKE header on (the AAD for an AEAD). Must be followed by
 * finish. */
void ns_ike_sk_seal(struct ns_ike_builder *b, struct ns_cipher *c);
/* Patches the header length; returns the message length, or a negative
 * NS_IKE_E* code (ENOSPACE when the buffer was too small). */
int ns_ike_build_finish(struct ns_ike_builder *b);

#endif
