/* IKEv2 protocol numbers (RFC 7296 section 3 and the IANA registries). */
#ifndef NATSEC_IKE_WIRE_H
#define NATSEC_IKE_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#define NS_IKE_HEADER_LEN 28
/* Fields of the IKE header (3.1). */
#define NS_IKE_HDR_NEXT_PAYLOAD_OFF 16
#define NS_IKE_HDR_EXCHANGE_OFF 18
#define NS_IKE_HDR_LENGTH_OFF 24
#define NS_IKE_VERSION 0x20 /* major 2, minor 0 */
#define NS_IKE_MAX_MSG 65535

enum ns_ike_exchange {
    NS_IKE_SA_INIT = 34,
    NS_IKE_AUTH = 35,
    NS_CREATE_CHILD_SA = 36,
    NS_INFORMATIONAL = 37,
};

enum ns_ike_flag {
    NS_IKE_FLAG_INITIATOR = 0x08,
    NS_IKE_FLAG_VERSION = 0x10,
    NS_IKE_FLAG_RESPONSE = 0x20,
};

enum ns_ike_payload_type {
    NS_PL_NONE = 0,
    NS_PL_SA = 33,
    NS_PL_KE = 34,
    NS_PL_IDI = 35,
    NS_PL_IDR = 36,
    NS_PL_CERT = 37,
    NS_PL_CERTREQ = 38,
    NS_PL_AUTH = 39,
    NS_PL_NONCE = 40,
    NS_PL_NOTIFY = 41,
    NS_PL_DELETE = 42,
    NS_PL_VENDOR = 43,
    NS_PL_TSI = 44,
    NS_PL_TSR = 45,
    NS_PL_SK = 46,
    NS_PL_CP = 47,
    NS_PL_EAP = 48,
    NS_PL_SKF = 53,
};

enum ns_notify_type {
    /* errors */
    NS_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
    NS_N_INVALID_IKE_SPI = 4,
    NS_N_INVALID_MAJOR_VERSION = 5,
    NS_N_INVALID_SYNTAX = 7,
    NS_N_INVALID_MESSAGE_ID = 9,
    NS_N_INVALID_SPI = 11,
    NS_N_NO_PROPOSAL_CHOSEN = 14,
    NS_N_INVALID_KE_PAYLOAD = 17,
    NS_N_AUTHENTICATION_FAILED = 24,
    NS_N_SINGLE_PAIR_REQUIRED = 34,
    NS_N_NO_ADDITIONAL_SAS = 35,
    NS_N_INTERNAL_ADDRESS_FAILURE = 36,
    NS_N_FAILED_CP_REQUIRED = 37,
    NS_N_TS_UNACCEPTABLE = 38,
    NS_N_INVALID_SELECTORS = 39,
    NS_N_TEMPORARY_FAILURE = 43,
    NS_N_CHILD_SA_NOT_FOUND = 44,
    /* status: 16384 and above (3.10.1) */
    NS_N_INITIAL_CONTACT = 16384,
    NS_N_SET_WINDOW_SIZE = 16385,
    NS_N_ADDITIONAL_TS_POSSIBLE = 16386,
    NS_N_IPCOMP_SUPPORTED = 16387,
    NS_N_NAT_DETECTION_SOURCE_IP = 16388,
    NS_N_NAT_DETECTION_DESTINATION_IP = 16389,
    NS_N_COOKIE = 16390,
    NS_N_USE_TRANSPORT_MODE = 16391,
    NS_N_REKEY_SA = 16393,
    NS_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
    NS_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
    NS_N_MOBIKE_SUPPORTED = 16396,
    NS_N_ADDITIONAL_IP4_ADDRESS = 16397,
    NS_N_ADDITIONAL_IP6_ADDRESS = 16398,
    NS_N_NO_ADDITIONAL_ADDRESSES = 16399,
    NS_N_UPDATE_SA_ADDRESSES = 16400,
    NS_N_COOKIE2 = 16401,
    NS_N_MULTIPLE_AUTH_SUPPORTED = 16404, /* RFC 4739 */
    NS_N_REDIRECT_SUPPORTED = 16406,      /* RFC 5685 */
    NS_N_EAP_ONLY_AUTHENTICATION = 16417,
    NS_N_CHILDLESS_IKEV2_SUPPORTED = 16418,       /* RFC 6023 */
    NS_N_QCD_TOKEN = 16419,                       /* RFC 6290 */
    NS_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420, /* RFC 6311 */
    NS_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,
    NS_N_SIGNATURE_HASH_ALGORITHMS = 16431,
};

enum ns_transform_type {
    NS_TRANS_ENCR = 1,
    NS_TRANS_PRF = 2,
    NS_TRANS_INTEG = 3,
    NS_TRANS_DH = 4,
    NS_TRANS_ESN = 5,
};

#define NS_ATTR_KEY_LENGTH 14

enum ns_id_type {
    NS_ID_IPV4_ADDR = 1,
    NS_ID_FQDN = 2,
    NS_ID_RFC822_ADDR = 3,
    NS_ID_IPV6_ADDR = 5,
    NS_ID_DER_ASN1_DN = 9,
    NS_ID_KEY_ID = 11,
};

enum ns_auth_method {
    NS_AUTH_RSA_SIG = 1,
    NS_AUTH_SHARED_KEY_MIC = 2,
    NS_AUTH_ECDSA_256 = 9, /* RFC 4754: P-256 with SHA-256, r | s */
    NS_AUTH_ECDSA_384 = 10,
    NS_AUTH_ECDSA_521 = 11,
    NS_AUTH_DIGITAL_SIGNATURE = 14, /* RFC 7427 */
};

enum ns_ts_type {
    NS_TS_IPV4_ADDR_RANGE = 7,
    NS_TS_IPV6_ADDR_RANGE = 8,
};

/* CERT and CERTREQ encodings (3.6) natsec may meet. */
enum ns_cert_encoding {
    NS_CERT_X509_SIGNATURE = 4,
    NS_CERT_HASH_URL_X509 = 12,
};

enum ns_cp_type {
    NS_CFG_REQUEST = 1,
    NS_CFG_REPLY = 2,
    NS_CFG_SET = 3,
    NS_CFG_ACK = 4,
};

enum ns_cp_attr {
    NS_CP_INTERNAL_IP4_ADDRESS = 1,
    NS_CP_INTERNAL_IP4_NETMASK = 2,
    NS_CP_INTERNAL_IP4_DNS = 3,
    NS_CP_INTERNAL_IP6_ADDRESS = 8,
    NS_CP_INTERNAL_IP6_DNS = 10,
    NS_CP_INTERNAL_DNS_DOMAIN = 25, /* RFC 8598 split DNS */
};

/* Error notify types are 1 to 16383, status types 16384 and above (3.10.1). */
static inline bool ns_ike_notify_is_error(uint16_t type)
{
    return type != 0 && type < NS_N_INITIAL_CONTACT;
}

#endif
