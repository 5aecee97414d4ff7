/* natsec's RADIUS client for EAP pass-through: Access-Requests in flight,
 * their retransmission and the failover between servers. No I/O and no
 * clock: the caller (the daemon) sends what ops->send gives it to the
 * numbered server, feeds each datagram a server sends back into
 * ns_radius_client_input, and calls ns_radius_client_tick at
 * ns_radius_client_next_wakeup; so the whole of it runs on a simulated
 * clock in the unit tests.
 *
 * Policy: a request goes to the current server (the first configured one
 * at start, then the last one that answered); without an answer after
 * timeout_ms it is sent again, the same bytes (RFC 5080 2.2.1), tries
 * times in all, then to the next server in the configured order, which
 * becomes the current one. When every server was tried, ops->done gets
 * NS_EAPB_UNREACHABLE: a login takes at most n_servers * tries *
 * timeout_ms. An answer that fails its checks (radius.h) is dropped and the
 * request waits on: it may be forged. At most 255 requests are in flight
 * (the Identifier is one byte); one more is refused. */
#ifndef NATSEC_EAP_RADIUS_CLIENT_H
#define NATSEC_EAP_RADIUS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eap/eap_backend.h"
#include "eap/radius.h"

#define NS_RADIUS_MAX_SERVERS 8
#define NS_RADIUS_NEVER UINT64_MAX

struct ns_radius_client_cfg {
    unsigned n_servers;  /* 1 .. NS_RADIUS_MAX_SERVERS */
    uint64_t timeout_ms; /* per try */
    unsigned tries;      /* per server, at least 1 */
    const uint8_t *secret;
    size_t secret_len;  /* 1 .. NS_RADIUS_SECRET_MAX; copied */
    const char *nas_id; /* NAS-Identifier; copied */
};

struct ns_radius_client_ops {
    void *ctx;
    /* One datagram for server number server (0 .. n_servers-1). */
    void (*send)(void *ctx, unsigned server, const uint8_t *pkt, size_t len);
    /* The end of a request: a verified answer, or UNREACHABLE. a is only
     * valid during the call; the callback may start new requests. */
    void (*done)(void *ctx, uint64_t ike_sa_id, const struct ns_eapb_answer *a);
};

struct ns_radius_client;

/* NULL on bad configuration or no memory. */
struct ns_radius_client *ns_radius_client_new(const struct ns_radius_client_cfg *cfg,
                                              const struct ns_radius_client_ops *ops);
void ns_radius_client_free(struct ns_radius_client *c);

/* Sends rq (an earlier request of the same ike_sa_id is dropped). Returns
 * 0, or -1 when 255 are in flight or the request cannot be built. */
int ns_radius_client_start(struct ns_radius_client *c, const struct ns_eapb_request *rq,
                           uint64_t now_ms);
/* Forgets the request of ike_sa_id, if any (its SA is gone). */
void ns_radius_client_cancel(struct ns_radius_client *c, uint64_t ike_sa_id);
/* A datagram from server number server. */
void ns_radius_client_input(struct ns_radius_client *c, unsigned server, const uint8_t *pkt,
                            size_t len, uint64_t now_ms);
/* Retransmits, fails over, gives up: whatever is due at now_ms. */
void ns_radius_client_tick(struct ns_radius_client *c, uint64_t now_ms);
uint64_t ns_radius_client_next_wakeup(const struct ns_radius_client *c);

/* What one server did, for natsecctl status: datagrams sent to it (each
 * try), verified answers, tries that ran out without one, answers dropped
 * by their checks. */
struct ns_radius_server_stats {
    uint64_t sent, answers, timeouts, dropped;
};
void ns_radius_client_stats(const struct ns_radius_client *c, unsigned server,
                            struct ns_radius_server_stats *out);
/* Requests no server answered (ops->done got UNREACHABLE). */
uint64_t ns_radius_client_gave_up(const struct ns_radius_client *c);

/* The server new requests go to first, and how many requests are in
 * flight (status and tests). */
unsigned ns_radius_client_current(const struct ns_radius_client *c);
unsigned ns_radius_client_in_flight(const struct ns_radius_client *c);

#endif
