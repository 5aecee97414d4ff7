/* The IKEv2 SA engine: IKE_SA_INIT, IKE_AUTH (PSK, configuration payload,
 * the first CHILD_SA), CREATE_CHILD_SA (re-keying CHILD_SAs, with optional
 * PFS, and the IKE SA, started by either side at soft lifetimes in time and
 * bytes and before sequence numbers run out; simultaneous re-keys resolved
 * by the nonces, 2.8.1) and INFORMATIONAL for both roles, with NAT
 * detection and port floating (RFC 7296 2.23), COOKIE under load (2.6) and
 * a fair share of the half-open SAs per source address (ike/halfopen.h,
 * X13), message IDs,
 * retransmission and response caching, liveness, hard lifetimes, and
 * deletion.
 *
 * The engine does no I/O and reads no clock. The daemon feeds it datagrams
 * and the time, and the engine acts through the callbacks in struct
 * ns_ike_ops (send a datagram, reserve an SPI, install a CHILD_SA, ...). So
 * the whole control plane runs in one process in the unit tests, with
 * simulated time, a simulated network and a simulated NAT.
 *
 * Threading: none. One engine is used from one thread; callbacks are made
 * synchronously from inside the engine calls and must not call back into
 * the engine (except the read-only ns_ike_engine_foreach/_counters).
 *
 * Identifiers: every IKE SA is named by a uint64_t ike_sa_id, which is this
 * host's own IKE SPI for it (the initiator SPI on a client, the responder
 * SPI on a gateway). It never repeats while the engine lives, and it is
 * what the ESP layer carries in ns_esp_sa_spec.ike_sa_id. An IKE SA made
 * by a re-key (new SPIs) keeps the ike_sa_id of the one it replaced, so the
 * CHILD_SAs that move over to it keep theirs in the data plane.
 *
 * Time: all times are monotonic milliseconds (util/time.h ns_now_ms()). The
 * engine keeps one deadline heap over its SAs (O(log n) per change); it
 * tells the daemon its earliest deadline through ops->set_wakeup, and the
 * daemon calls ns_ike_engine_tick at or after that time. */
#ifndef NATSEC_IKE_ENGINE_H
#define NATSEC_IKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "crypto/cipher.h"
#include "crypto/proposal.h"
#include "eap/eap_backend.h"
#include "esp/sa_spec.h"
#include "ike/frag.h"
#include "util/addr.h"

/* No deadline pending (ops->set_wakeup and ns_ike_engine_next_wakeup). */
#define NS_IKE_NEVER UINT64_MAX

/* Why a client's connection went down (ops->client_down). The daemon's
 * reconnect policy (daemon/reconnect.c, X2) decides what to do with each. */
enum ns_ike_down_reason {
    NS_IKE_DOWN_LOCAL = 0,       /* ns_ike_engine_disconnect, or the engine was freed */
    NS_IKE_DOWN_PEER_DELETE = 1, /* the gateway deleted the IKE SA */
    NS_IKE_DOWN_TIMEOUT = 2,     /* a request went unanswered after every retransmission */
    NS_IKE_DOWN_AUTH_FAILED = 3, /* AUTHENTICATION_FAILED either way, or bad IDr */
    NS_IKE_DOWN_NEGOTIATION = 4, /* the authenticated peer refused: NO_PROPOSAL_CHOSEN,
                                    TS_UNACCEPTABLE, INTERNAL_ADDRESS_FAILURE; bad response,
                                    child install failure */
    NS_IKE_DOWN_EXPIRED = 5,     /* a hard lifetime ran out without a successful re-key */
    NS_IKE_DOWN_SETUP = 6,       /* client: no connection could be set up before the gateway
                                    proved itself (no SPI, no memory, no signature for what its
                                    unprotected IKE_SA_INIT answer announced) */
};
const char *ns_ike_down_reason_str(enum ns_ike_down_reason r);
/* Whether a client that went down for r tries again by itself (X2): not
 * after a local "down", nor after the gateway, authenticated, refused
 * (NEGOTIATION); yes otherwise, also after a failed authentication or
 * setup: on a client those come before the gateway proved anything, and
 * what is unauthenticated may be forged (RFC 7296 2.4, 2.21). */
bool ns_ike_down_retry(enum ns_ike_down_reason r);

/* What ops->child_usage reports: bytes are inner (plaintext) bytes. */
struct ns_ike_child_usage {
    uint64_t bytes_in, packets_in;
    uint64_t bytes_out, packets_out;
};

/* Everything the engine does to the outside world. ctx is passed back to
 * every callback. Callbacks marked optional may be NULL. */
struct ns_ike_ops {
    void *ctx;

    /* Sends one IKE message from local (address and port, the socket to use
     * is the one bound to local->port) to remote. natt_marker: the message
     * goes on the NAT-T port and needs the 4-byte zero non-ESP marker in
     * front (RFC 3948 2.2); it is true exactly when local->port is the
     * configured natt_port. msg is only valid during the call. */
    void (*send)(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                 const uint8_t *msg, size_t len, bool natt_marker);

    /* Optional. The engine's earliest deadline changed: call
     * ns_ike_engine_tick(e, t) at some t >= when_ms (NS_IKE_NEVER: nothing
     * pending). A daemon may instead poll ns_ike_engine_next_wakeup after
     * every engine call. */
    void (*set_wakeup)(void *ctx, uint64_t when_ms);

    /* Reserves an inbound ESP SPI that is random, nonzero, unique across
     * every SA of this host and not reused while reserved (R7). Returns 0
     * when none can be had. The engine releases every SPI it reserved,
     * through release_spi, exactly once: on CHILD_SA deletion after
     * child_down, or at once when the negotiation fails before child_up. */
    uint32_t (*alloc_spi)(void *ctx);
    void (*release_spi)(void *ctx, uint32_t spi);

    /* Installs both directions of a negotiated CHILD_SA in the data plane.
     * in->spi is the SPI alloc_spi gave, out->spi the peer's. Returns 0, or
     * -1 when it cannot (the negotiation then fails and nothing is
     * installed). Keys are wiped by the engine after the call. */
    int (*child_up)(void *ctx, const struct ns_esp_sa_spec *in, const struct ns_esp_sa_spec *out);
    /* Removes a CHILD_SA installed by child_up (both directions). */
    void (*child_down)(void *ctx, uint32_t in_spi, uint32_t out_spi);

    /* Optional. The address or port of an established IKE SA changed after
     * an integrity-verified packet arrived from a new one (R4): every
     * CHILD_SA of ike_sa_id must now send from local to peer. */
    void (*peer_moved)(void *ctx, uint64_t ike_sa_id, const struct ns_endpoint *local,
                       const struct ns_endpoint *peer);

    /* Optional. MOBIKE (RFC 4555) moved IKE SA ike_sa_id: every CHILD_SA
     * of it now sends from local to peer, in UDP on the NAT-T port when
     * udp_encap, else as IP protocol 50, and takes inbound ESP only in that
     * encapsulation. Without it peer_moved is called (the encapsulation
     * then cannot change). */
    void (*path_changed)(void *ctx, uint64_t ike_sa_id, const struct ns_endpoint *local,
                         const struct ns_endpoint *peer, bool udp_encap);
    /* Optional, gateway. Whether MOBIKE's return routability check
     * (RFC 4555 3.10) has proven the peer address of IKE SA ike_sa_id:
     * false right after path_changed moved it to an address not checked
     * (send it only a little ESP), true when the COOKIE2 came back. */
    void (*path_verified)(void *ctx, uint64_t ike_sa_id, bool verified);
    /* Optional, client. This host's addresses of family that may reach
     * the gateway (up, not the tunnel's), at most max into out; how many.
     * With MOBIKE, when a request goes unanswered, its retransmissions go
     * from each of them too (RFC 4555 3.9, path testing), and an answer
     * through one moves the IKE SA there. */
    unsigned (*local_addrs)(void *ctx, int family, struct ns_addr *out, unsigned max);

    /* Client only (optional on a gateway). The tunnel is up: configure the
     * TUN device with vip and vip6 (either may be of family 0: none),
     * route the n remote subnets into it, use the
     * n_dns DNS servers (may be 0). Called after child_up. */
    void (*client_up)(void *ctx, uint64_t ike_sa_id, const struct ns_addr *vip,
                      const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n,
                      const struct ns_addr *dns, unsigned n_dns);
    /* Client only (optional on a gateway). The connection is down (after
     * child_down for its CHILD_SAs), or a connect attempt failed. This is
     * the hook for the reconnect policy: it may not call back into the
     * engine, but it may arm a daemon timer that later calls
     * ns_ike_engine_connect. */
    void (*client_down)(void *ctx, enum ns_ike_down_reason reason);
    /* Client only (optional). A connect attempt raced over two paths
     * (ns_ike_engine_connect_race): the second path, from local to
     * gateway, now carries the connection (its IKE_SA_INIT was answered
     * first, or the first attempt failed). May not call back into the
     * engine. */
    void (*client_path)(void *ctx, const struct ns_addr *local, const struct ns_addr *gateway);

    /* Optional. The traffic a CHILD_SA has carried so far (the SAD's
     * per-SA stats). The engine asks for it to apply child_lifetime_bytes
     * and, without ESN, to re-key before the 2^32 sequence numbers (one a
     * packet) run out (at a pace that follows the traffic: often when close
     * to a limit, every 10 s, or 60 s with only the packet limit, when
     * idle) and, after a re-key, to see that the new
     * CHILD_SA carries traffic before the old one goes. Returns 0, or -1
     * when the SA is unknown. */
    int (*child_usage)(void *ctx, uint64_t ike_sa_id, uint32_t in_spi, uint32_t out_spi,
                       struct ns_ike_child_usage *out);

    /* Optional, both or neither. The responder of a CHILD_SA re-key
     * installs the new CHILD_SA's inbound direction with child_in_up when
     * it answers, and its outbound direction with child_out_up (in again
     * for reference, already installed) only once the initiator showed it
     * has the new SA: traffic came in on it (child_usage), or the old
     * CHILD_SA goes (the initiator's DELETE). Until then this side keeps
     * sending on the old one, which the initiator still has, so no packet
     * goes out that the peer cannot decrypt yet (also when the answer is
     * lost and retransmitted). Without them child_up installs both at once.
     * child_down removes whatever of the two directions is installed. Each
     * returns 0 or -1. */
    int (*child_in_up)(void *ctx, const struct ns_esp_sa_spec *in);
    int (*child_out_up)(void *ctx, const struct ns_esp_sa_spec *in,
                        const struct ns_esp_sa_spec *out);

    /* Gateway with eap_backend = radius (X16): hands one EAP packet of a
     * client to the EAP backend (eap/eap_backend.h). The client's IKE_AUTH
     * request waits unanswered (its retransmissions are dropped) until
     * the daemon gives the backend's answer to ns_ike_engine_eap_answer,
     * on a later call. Returns 0, or -1 when it cannot be sent (the login
     * is refused at once). */
    int (*eap_backend)(void *ctx, const struct ns_eapb_request *rq);
    /* Optional. The IKE SA whose request went to the backend is gone
     * before the answer came: the backend may forget that request. */
    void (*eap_backend_cancel)(void *ctx, uint64_t ike_sa_id);
};

struct ns_ike_engine;

/* A new engine for conf's role. conf must outlive the engine (it is read,
 * not copied). ops is copied. Returns NULL on bad arguments (no send,
 * alloc_spi, release_spi, child_up or child_down; a role other than gateway
 * or client; a client without peers) or no memory. */
struct ns_ike_engine *ns_ike_engine_new(const struct ns_conf *conf, const struct ns_ike_ops *ops,
                                        uint64_t now_ms);
/* Tears every SA down locally (child_down, release_spi, client_down with
 * NS_IKE_DOWN_LOCAL on a client with a connection), sends nothing, frees. */
void ns_ike_engine_free(struct ns_ike_engine *e);
/* For a daemon that stops (SIGTERM): sends every peer that authenticated an
 * INFORMATIONAL DELETE of its IKE SA, once, without waiting for answers,
 * then tears every SA down locally as ns_ike_engine_free does. The engine
 * must still be freed. Returns how many DELETEs went to ops->send. */
unsigned ns_ike_engine_shutdown(struct ns_ike_engine *e, uint64_t now_ms);

/* One UDP datagram that arrived on local (the address it was sent to and
 * the port it arrived on: conf's ike_port or natt_port) from remote. On the
 * NAT-T port the daemon has checked and stripped the non-ESP marker (a
 * datagram without it is ESP, not for the engine). msg is writable: the SK
 * payload is decrypted in place. Malformed, unexpected or unauthenticated
 * input is dropped and counted; it never changes an SA. */
void ns_ike_engine_input(struct ns_ike_engine *e, const struct ns_endpoint *local,
                         const struct ns_endpoint *remote, uint8_t *msg, size_t len,
                         uint64_t now_ms);

/* Runs every deadline that is due (retransmissions, half-open expiry,
 * liveness checks, linger of deleted SAs). Cheap when nothing is due. */
void ns_ike_engine_tick(struct ns_ike_engine *e, uint64_t now_ms);
/* The earliest pending deadline, or NS_IKE_NEVER. */
uint64_t ns_ike_engine_next_wakeup(const struct ns_ike_engine *e);

/* Gateway: the EAP backend's answer to ops->eap_backend for IKE SA
 * ike_sa_id: the client's waiting IKE_AUTH request is answered now (the
 * next EAP Request, EAP-Success, or EAP-Failure and AUTHENTICATION_FAILED).
 * Ignored when that SA is gone or waits for no answer. */
void ns_ike_engine_eap_answer(struct ns_ike_engine *e, uint64_t ike_sa_id,
                              const struct ns_eapb_answer *a, uint64_t now_ms);

/* Client: starts IKE_SA_INIT towards conf->gateway (port conf->ike_port),
 * from local_addr port conf->ike_port. local_addr is the source address
 * the kernel uses towards the gateway (the daemon learns it with a
 * connect()ed UDP socket and getsockname); the NAT detection hash is
 * computed over it, so it must be the real one, not a wildcard. Returns 0,
 * or -1 when not a client, already connecting or connected, or a resource
 * is missing. */
int ns_ike_engine_connect(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                          uint64_t now_ms);
/* A half-open SA that sees no IKE_AUTH this long after its IKE_SA_INIT
 * is dropped (R15), on either side. */
#define NS_IKE_HALF_OPEN_MS 30000

/* Client: as ns_ike_engine_connect, racing a second path as happy eyeballs
 * does (RFC 8305 5): when the IKE_SA_INIT to conf->gateway has no answer
 * after delay_ms, a second one goes from alt_local to alt_gateway (at
 * once when the first attempt fails before). The first valid answer wins
 * and the other attempt is dropped: never sent when it was still held,
 * else no longer retransmitted (what reached the gateway goes there as
 * any half-open SA does, NS_IKE_HALF_OPEN_MS after it came). Returns as
 * ns_ike_engine_connect. */
int ns_ike_engine_connect_race(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                               const struct ns_addr *alt_local, const struct ns_addr *alt_gateway,
                               unsigned delay_ms, uint64_t now_ms);
/* Client: the virtual IP its next IKE_AUTH asks for in the CP request
 * (the gateway decides what it gives, R6). The engine asks again for the
 * one it received last by itself; a daemon that restarts may hand it the
 * one it had before. vip NULL or of family 0: none. Returns 0, or -1 when
 * not a client. */
int ns_ike_engine_ask_vip(struct ns_ike_engine *e, const struct ns_addr *vip);
/* Client: deletes the IKE SA (INFORMATIONAL DELETE to the gateway; the
 * CHILD_SAs go at once with child_down, client_down follows with
 * NS_IKE_DOWN_LOCAL). Returns 0, or -1 when there is no connection. */
int ns_ike_engine_disconnect(struct ns_ike_engine *e, uint64_t now_ms);

/* Client: a liveness check (an empty INFORMATIONAL) of its established
 * IKE SA now, unless a request is outstanding already. What a client that
 * opened a new TCP connection sends on it (RFC 8229), so the gateway
 * moves the SA there at once. Returns 0, or -1 without an established
 * IKE SA. */
int ns_ike_engine_liveness(struct ns_ike_engine *e, uint64_t now_ms);

/* The data plane decrypted and verified an ESP packet of an SA of
 * ike_sa_id that arrived on local from `from` (R4): counts as liveness for
 * DPD and, when `from` or local differ from the SA's current endpoints,
 * moves the IKE SA there (ops->peer_moved follows) when its peer is behind
 * a NAT; never a peer without one. O(1); the data plane
 * may call it for every packet, or only when the address differs from the
 * SA's and otherwise at most about once a second for liveness. Unknown ids
 * are ignored. */
void ns_ike_engine_esp_from(struct ns_ike_engine *e, uint64_t ike_sa_id,
                            const struct ns_endpoint *local, const struct ns_endpoint *from,
                            uint64_t now_ms);
/* Liveness only (no address): the same as esp_from without the move. */
void ns_ike_engine_esp_activity(struct ns_ike_engine *e, uint64_t ike_sa_id, uint64_t now_ms);

/* Client, MOBIKE (RFC 4555 3.5): this host's address towards the gateway
 * is now local_addr (the route changed: another uplink, address, link).
 * The IKE SA and its CHILD_SAs move to it at once (ops->path_changed),
 * and an INFORMATIONAL UPDATE_SA_ADDRESSES with NAT detection goes from
 * it on the NAT-T port as soon as no other request is out; its answer
 * settles whether ESP goes in UDP or as protocol 50. Returns 0, 1 when
 * the address is the one in use already, or -1 when there is no
 * established IKE SA with MOBIKE on (the caller may reconnect). */
int ns_ike_engine_mobike_move(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                              uint64_t now_ms);
/* The same, to another address of the gateway as well (X8: from an IPv4
 * path to an IPv6 one and back, the gateway's address of the new family;
 * RFC 4555 3.5 lets the initiator change both). gateway NULL: the one in
 * use. */
int ns_ike_engine_mobike_move_to(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                                 const struct ns_addr *gateway, uint64_t now_ms);
/* Client, MOBIKE (RFC 4555 3.5, RFC 8229 7): the path to the gateway
 * changed under the same addresses (the daemon moved the IKE SA's
 * messages and ESP from a TCP connection back to UDP): an INFORMATIONAL
 * UPDATE_SA_ADDRESSES with NAT detection goes as soon as no other
 * request is out, so the gateway moves the IKE SA and its CHILD_SAs to
 * where it came from and both sides settle the encapsulation from its
 * NAT detection. Returns 0, or -1 when there is no established IKE SA
 * with MOBIKE on (the caller falls back to ns_ike_engine_liveness). */
int ns_ike_engine_mobike_update(struct ns_ike_engine *e, uint64_t now_ms);
/* Client: the local address the IKE SA uses now (family 0: none). */
struct ns_addr ns_ike_engine_client_local(const struct ns_ike_engine *e);
/* Checks the NAT mapping (keepalive = auto, X1): an INFORMATIONAL liveness
 * check with NAT_DETECTION_SOURCE_IP and _DESTINATION_IP on the
 * established IKE SA ike_sa_id of a client behind a NAT. The gateway
 * answers with its NAT detection over the address and port it saw the
 * check come from; when that differs from the previous answer's, the NAT
 * gave us a new mapping meanwhile (the status counters say so). An
 * authenticated request like any other, it moves the IKE SA and its
 * CHILD_SAs to that mapping on the gateway (R4). Returns 0 when sent, -1
 * when not (no such SA, not behind a NAT, another exchange in flight). */
int ns_ike_engine_natd_check(struct ns_ike_engine *e, uint64_t ike_sa_id, uint64_t now_ms);

/* Re-keys now (natsecctl rekey): the IKE SA (ike true) or its CHILD_SAs,
 * of the IKE SA ike_sa_id or, with 0, of every established one, as if
 * their soft lifetime had come (queued behind an exchange in progress).
 * Returns how many re-keys were started or queued. */
unsigned ns_ike_engine_rekey(struct ns_ike_engine *e, uint64_t ike_sa_id, bool ike,
                             uint64_t now_ms);

/* Deletes the IKE SA ike_sa_id now (natsecctl disconnect, engine_admin.c):
 * an established one with an INFORMATIONAL DELETE to the peer (its
 * CHILD_SAs go at once), one still negotiating locally. A client's
 * connection goes down with NS_IKE_DOWN_LOCAL (no reconnect). Returns 0,
 * or -1 when there is no such IKE SA or it is already being deleted. */
int ns_ike_engine_delete_sa(struct ns_ike_engine *e, uint64_t ike_sa_id, uint64_t now_ms);

/* Reload (engine_admin.c): the configuration the engine reads (conf of
 * ns_ike_engine_new) got new [peer] sections in place of the old ones,
 * which the caller keeps. map(arg, old) is the new section that stands
 * for an old one unchanged, or NULL when it was removed or changed: every
 * IKE SA of such a section is deleted (a DELETE to the peer, which, if a
 * client, reconnects with the new section; locally when still
 * negotiating), every other one moves to the new section and keeps its
 * CHILD_SAs and traffic. A client looks its gateway's section up again.
 * Returns how many IKE SAs were deleted. */
typedef const struct ns_conf_peer *(*ns_ike_peer_map_fn)(void *arg, const struct ns_conf_peer *old);
unsigned ns_ike_engine_repeer(struct ns_ike_engine *e, ns_ike_peer_map_fn map, void *arg,
                              uint64_t now_ms);
/* Whether any IKE SA (deleting or lingering ones included) still uses a
 * section of peers[0..n): until not, those must stay allocated. */
bool ns_ike_engine_refers_to(const struct ns_ike_engine *e, const struct ns_conf_peer *peers,
                             unsigned n);

/* ---- status (natsecctl, X10) ---- */

#define NS_IKE_STATUS_MAX_CHILD 4
#define NS_IKE_ALG_STRLEN 96

struct ns_ike_child_status {
    uint32_t spi_in, spi_out;
    enum ns_esp_mode mode;
    bool udp_encap;
    struct ns_proposal alg;          /* the chosen ESP suite */
    char alg_str[NS_IKE_ALG_STRLEN]; /* the same as text, "aes256gcm16" */
    struct ns_ts local_ts[NS_SA_MAX_TS];
    unsigned n_local_ts;
    struct ns_ts remote_ts[NS_SA_MAX_TS];
    unsigned n_remote_ts;
    uint64_t created_ms;
    const char *state;  /* "INSTALLED", "REKEYING", "REKEYED" (being replaced), "DELETING" */
    uint64_t rekey_ms;  /* when its re-key is due (NS_IKE_NEVER: none pending) */
    uint64_t expire_ms; /* its hard lifetime */
    unsigned rekeys;    /* re-keys of this CHILD_SA's line so far */
};

/* A snapshot of one IKE SA, valid only during the foreach callback. */
struct ns_ike_sa_status {
    uint64_t id;           /* ike_sa_id */
    uint64_t spi_i, spi_r; /* IKE SPIs (spi_r 0 before the response) */
    bool initiator;        /* this host initiated the IKE SA */
    const char *state;     /* "INIT_SENT", "AUTH_SENT", "ESTABLISHED", ... */
    struct ns_conf_id local_id;
    struct ns_conf_id remote_id;      /* type 0 before IKE_AUTH */
    const char *peer_name;            /* the [peer ...] section in use, or "" */
    struct ns_endpoint local, remote; /* as used now (after NAT and floating) */
    bool nat_local;                   /* this host is behind a NAT */
    bool nat_remote;                  /* the peer is behind a NAT */
    bool fragmentation;               /* both offered IKE fragmentation (RFC 7383) */
    bool udp_encap;                   /* ESP in UDP: a NAT either side, or forced */
    bool forced_encap;
    struct ns_addr vip;  /* the virtual IP (assigned or received); family 0 = none */
    struct ns_addr vip6; /* the IPv6 one (X8); family 0 = none */
    /* 128, or a delegated prefix's length (vip6 its first address). */
    unsigned vip6_len;
    const char *dns_domains; /* client: split DNS domains received, space-separated, or "" */
    struct ns_proposal ike_alg;
    char ike_alg_str[NS_IKE_ALG_STRLEN];
    struct ns_ike_child_status child[NS_IKE_STATUS_MAX_CHILD];
    unsigned n_child;
    uint64_t created_ms;
    uint64_t established_ms; /* 0 until ESTABLISHED */
    uint64_t last_rx_ms;     /* last authenticated IKE or ESP activity */
    uint64_t rekey_ms;       /* when its re-key is due (NS_IKE_NEVER: none pending) */
    uint64_t expire_ms;      /* its hard lifetime (NS_IKE_NEVER before ESTABLISHED) */
    unsigned rekeys;         /* IKE re-keys of this line so far */
    bool mobike;             /* MOBIKE (RFC 4555) on: both sides said MOBIKE_SUPPORTED */
    const char *mobike_state; /* "OFF", "IDLE", "UPDATE_SENT", "CHECK_SENT", ... */
    unsigned addr_updates;    /* MOBIKE address updates taken or made */
    uint64_t last_update_ms;  /* the last one (0: none) */
    /* Client behind a NAT: answers to ns_ike_engine_natd_check with NAT
     * detection, how many of them showed our public address or port
     * changed since the answer before, and answers without any. Counted
     * per IKE SA: an IKE re-key starts again at 0. */
    unsigned natd_answers, natd_changes, natd_without;
};

typedef void (*ns_ike_status_fn)(void *arg, const struct ns_ike_sa_status *st);
/* Calls fn once per IKE SA (half-open ones included), in no set order. */
void ns_ike_engine_foreach(const struct ns_ike_engine *e, ns_ike_status_fn fn, void *arg);
/* A walk over the IKE SAs in steps, with other work between the steps
 * (natsecd's status with 100,000 SAs must not hold the IKE thread for
 * seconds): the keys of every IKE SA now (half-open ones included) into a
 * heap array *keys the caller frees, their number in *n; 0, or -1 when out
 * of memory. Then ns_ike_engine_sa_status on each key, at any later time,
 * reports that SA if it is still there: a walk sees every SA that exists
 * from its start to its turn exactly once, none created after the start,
 * none deleted before its turn. */
int ns_ike_engine_sa_refs(const struct ns_ike_engine *e, uint64_t **keys, size_t *n);
/* Calls fn once with the status of the IKE SA of key (from
 * ns_ike_engine_sa_refs) and returns true; false, without calling fn, when
 * it is gone. O(1). */
bool ns_ike_engine_sa_status(const struct ns_ike_engine *e, uint64_t key, ns_ike_status_fn fn,
                             void *arg);

struct ns_ike_counters {
    uint64_t dropped_malformed;   /* did not parse, bad SK, wrong sizes */
    uint64_t dropped_unexpected;  /* parsed, but invalid for the SA's state or message ID */
    uint64_t dropped_unknown_spi; /* no IKE SA with that SPI */
    uint64_t dropped_unauth;      /* the SK payload did not verify */
    uint64_t auth_failures;       /* AUTHENTICATION_FAILED sent or received */
    uint64_t identity_refused;    /* IKE_AUTH refused: the identity holds ike_sas_per_id IKE
                                     SAs, or one with unique = keep (also in auth_failures) */
    uint64_t identity_replaced;   /* IKE SAs deleted for a newer one of their identity
                                     (unique = replace) */
    uint64_t cookies_sent;
    uint64_t cookies_rejected;  /* IKE_SA_INIT with a wrong or stale cookie */
    uint64_t half_open_refused; /* half_open_max reached, nothing answered */
    uint64_t half_open_evicted; /* at half_open_max: the largest holder's oldest half-open
                                   SA replaced by a request from a source holding fewer
                                   (ike/halfopen.h, X13) */
    uint64_t cookie_replaced;   /* a half-open SA replaced by a newer request with a valid
                                   COOKIE from the same address and port (one per endpoint) */
    uint64_t invalid_ke_sent;
    uint64_t no_proposal_sent;
    uint64_t retransmits;      /* requests sent again by the timer */
    uint64_t responses_resent; /* cached responses sent for retransmitted requests */
    uint64_t ike_established;
    uint64_t ike_deleted;
    uint64_t children_installed;
    uint64_t peer_moves;          /* authenticated address/port changes (R4) */
    uint64_t ike_rekeys;          /* IKE SAs re-keyed (either side initiating) */
    uint64_t child_rekeys;        /* CHILD_SAs re-keyed (either side initiating) */
    uint64_t rekey_collisions;    /* simultaneous re-keys resolved by the nonces (2.8.1) */
    uint64_t rekey_failures;      /* re-keys refused or failed (retried until the hard lifetime) */
    uint64_t expired;             /* SAs deleted at their hard lifetime */
    uint64_t illegal_transitions; /* state changes the state machines refused (sa_state.h) */
    uint64_t mobike_updates;      /* MOBIKE address updates taken (gateway) or made (client) */
    uint64_t mobike_refused;      /* UPDATE_SA_ADDRESSES not taken: MOBIKE off, or sent by
                                     the original responder */
    uint64_t mobike_checks;       /* return routability checks (COOKIE2) passed */
    uint64_t mobike_check_failed; /* answers to them without our COOKIE2 */
    struct ns_frag_counters frag; /* IKE fragments sent, kept and dropped (RFC 7383) */
    uint64_t mobike_path_probes;  /* client: retransmissions sent from another address */
    uint64_t mobike_path_switches; /* client: answers through another address, taken */
    /* Quick crash detection (RFC 6290, ike/qcd.c). */
    uint64_t qcd_tokens_sent;       /* our tokens handed out (IKE_AUTH, IKE re-keys) */
    uint64_t qcd_tokens_taken;      /* client: the gateway's tokens kept */
    uint64_t qcd_replies_sent;      /* crash answers sent: INVALID_IKE_SPI with the token */
    uint64_t qcd_replies_limited;   /* ... not sent: over qcd_rate */
    uint64_t qcd_replies_accepted;  /* client: crash answers with our token: IKE SA dropped */
    uint64_t qcd_replies_bad_token; /* client: crash answers with a wrong token, ignored */
    uint64_t qcd_replies_ignored;   /* client: unprotected INVALID_IKE_SPI ignored otherwise: no
                                       token kept, another sender, no request of ours, none */
    /* An IKE_AUTH for a half-open IKE SA the gateway no longer has
     * (restarted, or evicted for the fair share; RFC 7296 2.21.4). */
    uint64_t lost_sa_answers;       /* gateway: unprotected INVALID_IKE_SPI sent to one */
    uint64_t lost_sa_hints;         /* client: such answers taken: the attempt ends at the next
                                       retransmission unless a real answer comes first */
    uint64_t lost_sa_hints_ignored; /* client: ... not taken: another sender, no such request */
    unsigned half_open;           /* now: IKE SAs not yet authenticated */
    unsigned half_open_sources;   /* now: source addresses (IPv6: /64) holding half-open SAs */
    unsigned half_open_largest;   /* now: the most half-open SAs one source holds */
    unsigned ike_sas;             /* now: every IKE SA in the table */
    unsigned frag_reassembling;   /* now: messages being put together from fragments */
    unsigned frag_reassembling_half_open; /* ... of them, of IKE SAs not authenticated yet */
    uint64_t frag_held;           /* now: bytes they hold */
};
void ns_ike_engine_counters(const struct ns_ike_engine *e, struct ns_ike_counters *out);

/* ---- inspection (packet trace decoders, tests) ---- */

/* The keys that protect the SK payloads of one IKE SA (RFC 7296 2.14):
 * what a decoder of a packet trace needs to read its IKE messages (the
 * rows of Wireshark's IKEv2 decryption table are these), and what the
 * unit tests use to read what the engines sent and to play a peer.
 * Messages the original initiator sends are sealed with sk_ei and sk_ai,
 * those of the original responder with sk_er and sk_ar. Secret: the
 * caller wipes them (OPENSSL_cleanse) once used. */
struct ns_ike_sa_keys {
    uint64_t spi_i, spi_r;
    struct ns_proposal alg; /* the IKE suite: encr, key_bits, integ */
    uint8_t sk_ei[NS_CIPHER_MAX_ENCR_KEY], sk_er[NS_CIPHER_MAX_ENCR_KEY];
    size_t encr_len; /* key and salt for AEAD */
    uint8_t sk_ai[NS_CIPHER_MAX_INTEG_KEY], sk_ar[NS_CIPHER_MAX_INTEG_KEY];
    size_t integ_len; /* 0 for AEAD */
};
/* The keys of this engine's IKE SA with these SPIs (one lingering after
 * its deletion included). Returns 0, or -1 when there is no such IKE SA
 * or its keys are not derived yet (before IKE_SA_INIT is done). */
int ns_ike_engine_sa_keys(const struct ns_ike_engine *e, uint64_t spi_i, uint64_t spi_r,
                          struct ns_ike_sa_keys *out);

/* Walks the engine's count of half-open SAs per source (ike/halfopen.h,
 * X13) and tells whether it adds up: every source's count is the length
 * of its list, the largest count is right, the totals agree. O(n): for
 * tests, fuzzers and a debug self-check, not for every packet. */
bool ns_ike_engine_consistent(const struct ns_ike_engine *e);

#endif
