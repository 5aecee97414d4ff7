/* EAP on a backend server (RFC 3579): the gateway relays the client's EAP
 * packets to an authentication server (RADIUS, eap/radius.h) and its
 * answers back, so it runs whatever EAP method that server runs. What
 * travels between the IKE engine and the daemon's RADIUS client: one
 * request per EAP packet of the client, one answer per request. Both are
 * plain data, so the engine (no I/O) can hand a request out, wait, and
 * take the answer later, on another call. */
#ifndef NATSEC_EAP_EAP_BACKEND_H
#define NATSEC_EAP_EAP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eap/eap.h"
#include "util/addr.h"

/* The largest EAP packet relayed either way: a RADIUS packet is at most
 * 4096 bytes, its EAP-Message attributes less. */
#define NS_EAPB_EAP_MAX 4096
/* RADIUS' State and Class: one attribute's value, at most 253 bytes. */
#define NS_EAPB_STATE_MAX 253
#define NS_EAPB_CLASS_MAX 253
/* The MSK (RFC 3748 7.10: at least 64 bytes; RADIUS gives it as
 * MS-MPPE-Recv-Key | MS-MPPE-Send-Key, 32 bytes each at most here). */
#define NS_EAPB_MSK_MAX 64
#define NS_EAPB_WHY_MAX 160

/* One EAP packet of the client for the backend. */
struct ns_eapb_request {
    uint64_t ike_sa_id;  /* whose: the answer names it again */
    const uint8_t *user; /* the EAP identity the client gave (User-Name) */
    size_t user_len;
    const uint8_t *eap; /* the EAP packet, as the client sent it */
    size_t eap_len;
    const uint8_t *state; /* the server's State of its last answer (0 bytes: none yet) */
    size_t state_len;
    struct ns_endpoint client; /* the client's outer address (Calling-Station-Id) */
};

enum ns_eapb_verdict {
    NS_EAPB_CHALLENGE = 0,   /* eap holds the next EAP Request for the client */
    NS_EAPB_ACCEPT = 1,      /* eap holds EAP-Success; msk, framed_ip and class are set */
    NS_EAPB_REJECT = 2,      /* eap holds EAP-Failure (or is empty) */
    NS_EAPB_UNREACHABLE = 3, /* no server answered (why says which were tried) */
};

struct ns_eapb_answer {
    enum ns_eapb_verdict verdict;
    uint8_t eap[NS_EAPB_EAP_MAX];
    size_t eap_len;
    uint8_t state[NS_EAPB_STATE_MAX];
    size_t state_len;
    uint8_t msk[NS_EAPB_MSK_MAX]; /* Recv-Key | Send-Key, zero-padded to 64 */
    size_t msk_len;               /* 0: the server sent no keys */
    bool have_framed_ip;
    uint32_t framed_ip; /* Framed-IP-Address, host order */
    /* Class, else Filter-Id, as text (NUL-terminated); empty: none. */
    char class_name[NS_EAPB_CLASS_MAX + 1];
    char why[NS_EAPB_WHY_MAX]; /* UNREACHABLE, or what was wrong with an answer */
};

#endif
