/* EAP packets (RFC 3748), as IKEv2 carries them in its EAP payload (RFC
 * 7296 3.16) and RADIUS in EAP-Message (RFC 3579): the header, and the
 * type-data of Identity, Nak (legacy) and MD5-Challenge (recognised so
 * that it can be refused by name). EAP-MSCHAPv2's type-data is in
 * eap/eap_mschapv2.h.
 *
 * Parsing reads through util/buf.h and never copies: the results point
 * into the caller's buffer. Building writes into a caller's ns_writer and
 * fills in the Length field at the end; a writer too small fails (latched
 * in the writer), nothing else can. */
#ifndef NATSEC_EAP_EAP_H
#define NATSEC_EAP_EAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum ns_eap_code {
    NS_EAP_REQUEST = 1,
    NS_EAP_RESPONSE = 2,
    NS_EAP_SUCCESS = 3,
    NS_EAP_FAILURE = 4,
};

/* IANA "Method Types". */
enum ns_eap_type {
    NS_EAP_T_IDENTITY = 1,
    NS_EAP_T_NOTIFICATION = 2,
    NS_EAP_T_NAK = 3, /* legacy Nak: Response only */
    NS_EAP_T_MD5 = 4, /* MD5-Challenge: never accepted (X12) */
    NS_EAP_T_MSCHAPV2 = 26,
    NS_EAP_T_EXPANDED = 254,
};

#define NS_EAP_HDR_LEN 4 /* Code, Identifier, Length */
/* An identity longer than this is refused: it names a [user] section or
 * goes into RADIUS' User-Name (253 bytes), never more. */
#define NS_EAP_IDENTITY_MAX 253

enum ns_eap_result {
    NS_EAP_OK = 0,
    NS_EAP_BAD = -1, /* malformed: drop it (RFC 3748 4: silently discarded) */
};

/* One EAP packet. type, data and data_len are set for Request and
 * Response only (0 and empty for Success and Failure). */
struct ns_eap {
    uint8_t code; /* enum ns_eap_code */
    uint8_t id;
    uint16_t len; /* the Length field: header and type-data */
    uint8_t type; /* enum ns_eap_type */
    const uint8_t *data;
    size_t data_len;
};

/* Parses buf[0..len). The Length field may be less than len (what follows
 * is link-layer padding, RFC 3748 4) but not more; Request and Response
 * need a Type, Success and Failure are exactly 4 bytes; other codes are
 * NS_EAP_BAD. */
int ns_eap_parse(const uint8_t *buf, size_t len, struct ns_eap *out);

/* Identity (RFC 3748 5.1): the identity bytes of a Response (a Request may
 * carry a displayable prompt, also returned). At most NS_EAP_IDENTITY_MAX
 * bytes and no NUL in them (RFC 3748: not NUL-terminated), else
 * NS_EAP_BAD; an empty identity is valid. */
int ns_eap_identity(const struct ns_eap *p, const uint8_t **id, size_t *len);

/* Nak (RFC 3748 5.3.1), Response only: the types the peer would rather
 * use, at least one (0 alone means none). */
int ns_eap_nak(const struct ns_eap *p, const uint8_t **types, size_t *n);

/* MD5-Challenge (RFC 3748 5.4): Value-Size, Value (at least one byte),
 * Name. */
int ns_eap_md5(const struct ns_eap *p, const uint8_t **value, size_t *value_len,
               const uint8_t **name, size_t *name_len);

/* A Request or Response of type with type-data data[0..len). */
void ns_eap_build(struct ns_writer *w, uint8_t code, uint8_t id, uint8_t type, const void *data,
                  size_t len);
/* Success or Failure: the 4-byte header only. */
void ns_eap_build_result(struct ns_writer *w, uint8_t code, uint8_t id);
/* The Nak a peer answers a method it will not run with: types[0..n). */
void ns_eap_build_nak(struct ns_writer *w, uint8_t id, const uint8_t *types, size_t n);

/* An identity or MS-CHAPv2 Name for a log line: printable ASCII as it is,
 * other bytes as \xHH; at most NS_EAP_IDENTITY_MAX bytes. */
#define NS_EAP_NAME_STRLEN (4 * NS_EAP_IDENTITY_MAX + 1)
const char *ns_eap_name_str(const uint8_t *name, size_t len, char out[NS_EAP_NAME_STRLEN]);

/* For log lines: "Request", "Identity", "MSCHAPv2", ...; "unknown" else. */
const char *ns_eap_code_name(uint8_t code);
const char *ns_eap_type_name(uint8_t type);

#endif
