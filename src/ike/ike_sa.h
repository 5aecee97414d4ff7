/* Internals of the IKEv2 SA engine (ike/engine.h), shared only by its own
 * files: engine.c (entry points, dispatch), engine_sa.c (SA life cycle and
 * keys), engine_msg.c (SK messages), engine_timer.c (deadline heap),
 * sa_table.c (indexes), retransmit.c, init_exchange.c, auth_exchange.c,
 * auth_child.c, info_exchange.c, child_keys.c and status.c. No other module includes it.
 *
 * Ownership: an SA is created by ns_eng_sa_new, taken out of service by
 * ns_eng_sa_kill (state DEAD: the data plane and the pool forget it at once)
 * and freed only by the timer after a short linger or by ns_ike_engine_free.
 * So an SA pointer stays valid for the whole of one engine call, even when
 * the SA dies during it. */
#ifndef NATSEC_IKE_IKE_SA_H
#define NATSEC_IKE_IKE_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "crypto/ikekeys.h"
#include "crypto/proposal.h"
#include "esp/sa_spec.h"
#include "ike/cookie.h"
#include "ike/cp_domain.h"
#include "ike/engine.h"
#include "ike/frag.h"
#include "ike/halfopen.h"
#include "ike/msg.h"
#include "ike/pool.h"
#include "ike/pool6.h"
#include "ike/sa_state.h"
#include "util/addr.h"
#include "util/ratelimit.h"

#define NS_IKE_NONCE_LEN 32  /* what we send (RFC 7296 2.10: at least half the PRF key size) */
#define NS_IKE_MAX_NONCE 256 /* what we accept (3.9) */
/* CHILD_SAs one IKE SA holds at once: the one of IKE_AUTH, and during a
 * re-key its successor, and in a simultaneous re-key the redundant one. */
#define NS_IKE_MAX_CHILD 4
/* Largest message we build, also once cut into fragments (frag.h): the
 * largest certificate chain the configuration takes (conf/creds.c) with
 * the rest of IKE_AUTH, and the headers of up to 88 fragments. */
#define NS_IKE_BUF 49152
#define NS_IKE_MAX_COOKIE 64 /* 2.6: a cookie is at most 64 bytes */
#define NS_IKE_MAX_INIT_RETRY 4   /* COOKIE / INVALID_KE round trips before giving up */
/* Re-keys (lifecycle.c): the side that deletes a replaced CHILD_SA waits
 * for inbound traffic on its successor at most NS_IKE_REKEY_GRACE_MS
 * (looking every NS_IKE_SUCCESSOR_POLL_MS); the other side waits
 * NS_IKE_PEER_DELETE_WAIT_MS for that DELETE before it deletes itself. */
#define NS_IKE_REKEY_GRACE_MS 2000
#define NS_IKE_SUCCESSOR_POLL_MS 200
#define NS_IKE_PEER_DELETE_WAIT_MS 30000

/* Log lines that packets of peers not yet authenticated cause are limited
 * per kind (util/ratelimit.h, R15): at most NS_ENG_RL_BURST of a kind
 * every NS_ENG_RL_INTERVAL_MS, then one line with the count held back. */
enum ns_eng_rl_kind {
    NS_ENG_RL_INIT = 0, /* IKE_SA_INIT requests refused or odd (proposal, KE group, NAT
                           detection) */
    NS_ENG_RL_HALF_OPEN, /* half-open SAs replaced or expired: a kind of their own, so
                            that the end of one flood hides no refusal of the next */
    NS_ENG_RL_COOKIE,   /* wrong or stale COOKIEs */
    NS_ENG_RL_DROP,     /* messages dropped as malformed, unexpected or unauthenticated */
    NS_ENG_RL_AUTH,     /* IKE_AUTH authentication failures */
    NS_ENG_RL_KINDS
};
#define NS_ENG_RL_BURST 10
#define NS_ENG_RL_INTERVAL_MS 10000
#define NS_ENG_LOG_LIMITED(e, kind, level, ...)                                                    \
    NS_LOG_LIMITED(&(e)->rl[kind], (e)->now, level, __VA_ARGS__)

/* What our outstanding request is, so the response is matched to it. */
enum ns_ike_req_kind {
    NS_REQ_NONE = 0,
    NS_REQ_INIT,          /* IKE_SA_INIT */
    NS_REQ_AUTH,          /* IKE_AUTH */
    NS_REQ_DELETE_IKE,    /* INFORMATIONAL with DELETE of the IKE SA */
    NS_REQ_DPD,           /* empty INFORMATIONAL (liveness) */
    NS_REQ_REKEY_CHILD,   /* CREATE_CHILD_SA with REKEY_SA (1.3.3) */
    NS_REQ_REKEY_IKE,     /* CREATE_CHILD_SA re-keying the IKE SA (1.3.2) */
    NS_REQ_DELETE_CHILD,  /* INFORMATIONAL with DELETE of CHILD_SAs */
    NS_REQ_MOBIKE_UPDATE, /* INFORMATIONAL with UPDATE_SA_ADDRESSES (RFC 4555 3.5) */
    NS_REQ_MOBIKE_CHECK,  /* INFORMATIONAL with COOKIE2: return routability (3.10) */
    NS_REQ_NATD_CHECK,    /* INFORMATIONAL with NAT detection (natd_check.c) */
};

/* Client behind a NAT: what the answers to our NAT detection checks said
 * (natd_check.c), for keepalive = auto. */
struct ns_ike_natd_watch {
    uint8_t last[20]; /* the peer's NAT_DETECTION_DESTINATION_IP of the last answer */
    bool have;        /* last is set */
    unsigned answers; /* answers with NAT detection */
    unsigned changes; /* ... whose hash differed from the one before */
    unsigned without; /* answers without NAT detection (a peer that does not do it) */
};

#define NS_MOBIKE_COOKIE2_LEN 16 /* ours; RFC 4555 4.x allows 8 to 64 bytes */

/* MOBIKE of one IKE SA (mobike.c). */
struct ns_ike_mobike {
    enum ns_mobike_state st;                /* changes only through ns_eng_mobike_state */
    uint8_t cookie2[NS_MOBIKE_COOKIE2_LEN]; /* gateway: of our check in flight */
    /* Gateway: the peer endpoint a COOKIE2 check (or IKE_AUTH) proved
     * reachable; a move elsewhere is checked again. */
    struct ns_endpoint proven;
    /* Gateway: the data plane bounds the SA's outbound ESP, its path not
     * checked yet (ops->path_verified); CHILD_SAs installed meanwhile are
     * bounded too (ns_esp_sa_spec.path_unverified). */
    bool unchecked;
    unsigned updates; /* address updates taken (gateway) or made (client) */
    /* Gateway: an authenticated packet moved the SA (RFC 7296 2.23) since
     * the last update, which the next update then counts. */
    bool moved_since_update;
    uint64_t last_update_ms; /* 0: none yet */
};

/* RFC 6290 4.1: a QCD token is 16 to 128 bytes. */
#define NS_QCD_TOKEN_MIN 16
#define NS_QCD_TOKEN_MAX 128

/* The gateway's QCD token of one IKE SA, kept by a client (qcd.c). */
struct ns_qcd_token {
    uint64_t sa_id; /* the IKE SA it is for (ids never repeat in an engine) */
    uint8_t len;    /* 0: none */
    uint8_t tok[NS_QCD_TOKEN_MAX];
};

/* The crash answers' token bucket (qcd.c), in thousandths of an answer. */
struct ns_qcd_bucket {
    uint64_t level, at;
    bool started;
};

/* A heap copy of one message. */
struct ns_msgbuf {
    uint8_t *p;
    size_t len;
};

/* Our request in flight (window size 1, RFC 7296 2.3): what it is, the
 * message as sent (for retransmission), and what is to follow it. Kind
 * NS_REQ_NONE: no request is out. */
struct ns_ike_request {
    enum ns_ike_req_kind kind;
    struct ns_msgbuf msg;
    uint32_t id;
    unsigned sends; /* 0: held, first sent at due (a raced IKE_SA_INIT) */
    uint64_t due;
    bool then_delete; /* delete the IKE SA once this exchange is done */
    /* IKE_AUTH: the gateway said, unprotected, that it has no such IKE SA
     * (ns_eng_lost_sa_hint): given up at the next retransmission. */
    bool lost_hint;
};

/* Our CREATE_CHILD_SA in flight (create_child_exchange.c), and what a
 * simultaneous re-key by the peer left to resolve when it is answered. */
struct ns_create_child {
    bool ike;             /* re-keying the IKE SA, else a CHILD_SA */
    uint32_t old_spi_in;  /* CHILD: our inbound SPI of the child re-keyed */
    uint32_t new_spi_in;  /* CHILD: the new inbound SPI we reserved */
    uint64_t new_ike_spi; /* IKE: our SPI of the new IKE SA */
    struct ns_dh *dh;     /* our KE (IKE always; CHILD with PFS), NULL without */
    uint16_t ke_group;
    unsigned ke_retries; /* INVALID_KE_PAYLOAD rounds */
    bool delete_old;     /* IKE: the answer made a new IKE SA; we delete the old one */
    uint8_t ni[NS_IKE_NONCE_LEN];
    /* The peer's simultaneous re-key of the same SA, answered meanwhile:
     * the SA it made (CHILD: our inbound SPI; IKE: its id) and the lowest
     * nonce of that exchange. */
    uint32_t coll_spi_in;
    uint64_t coll_ike_id;
    uint8_t coll_nonce[NS_IKE_MAX_NONCE];
    size_t coll_nonce_len;
};

struct ns_ike_child {
    uint32_t spi_in, spi_out;
    enum ns_esp_mode mode;
    bool udp_encap;
    struct ns_proposal alg;
    struct ns_ts local_ts[NS_SA_MAX_TS];
    unsigned n_local_ts;
    struct ns_ts remote_ts[NS_SA_MAX_TS];
    unsigned n_remote_ts;
    struct ns_addr orig_src, orig_dst; /* transport mode: see ns_child_params */
    uint64_t created_ms;

    /* Life cycle (lifecycle.c). Times in ms, NS_IKE_NEVER when not armed.
     * The state changes only through ns_eng_child_state. */
    enum ns_child_state cstate;
    uint64_t rekey_at;  /* soft lifetime in time: re-key then */
    uint64_t expire_at; /* hard lifetime: deleted then */
    uint64_t retire_at; /* RETIRING: deleted by us then (grace); REKEYED: fallback */
    uint64_t poll_at;   /* next look at its traffic (byte lifetime, successor used) */
    uint64_t poll_bytes, poll_packets, poll_ms; /* traffic at the last look, for the rate */
    uint64_t soft_bytes;                        /* re-key when either direction carried this much */
    uint64_t soft_packets;                      /* ... or this many packets (0: ESN, no limit) */
    unsigned rekeys;                            /* re-keys of this CHILD_SA's line so far */
    uint32_t successor_spi; /* RETIRING, REKEYED: our inbound SPI of the one that replaced it */
    uint64_t install_seq;   /* installation order: the SAD sends on the newest */
    /* Responder of a re-key: the outbound direction is not installed yet
     * (ops->child_out_up); the two specs wait here (heap, keys: wiped). */
    struct ns_esp_sa_spec *pending;
    /* The lowest nonce of the exchange that created this child (0 bytes for
     * IKE_AUTH), for a simultaneous re-key found later (2.8.1). */
    uint8_t nonce_min[NS_IKE_MAX_NONCE];
    size_t nonce_min_len;
};

/* The message being handled, passed down explicitly from the engine's
 * entry point: where it came from and where it arrived, and its message
 * ID. A response goes exactly back to where its request came from (R4),
 * whatever the SA's endpoints are. */
struct ns_ike_rx {
    struct ns_endpoint local, remote;
    uint32_t msg_id;
};

/* The traffic selectors a client asked for in IKE_AUTH (auth_child.c). */
struct ns_ike_prop_ts {
    struct ns_ts tsi[2], tsr[NS_CONF_MAX_SUBNETS]; /* tsi: IPv4, then IPv6 when asked (X8) */
    unsigned n_tsi, n_tsr;
};

/* An intrusive hash chain link (sa_table.c). */
struct ns_hnode {
    struct ns_hnode *next;
    uint64_t hash;
};

struct ns_ikesa {
    uint64_t id; /* our SPI: spi_i on the initiator, spi_r on the responder */
    uint64_t spi_i, spi_r;
    bool initiator;
    enum ns_ike_state state;             /* changes only through ns_eng_sa_state */
    enum ns_ike_down_reason down_reason; /* client: reported by client_down at kill */

    const struct ns_conf_peer *peer; /* client: the gateway's section; gateway: after IDi */
    struct ns_conf_id remote_id;     /* authenticated peer identity (type 0 before) */

    /* Endpoints as used now: requests go from local to remote, and both
     * change only after an integrity-verified message (R4, R15). */
    struct ns_endpoint local, remote;
    struct ns_endpoint init_remote; /* gateway: where IKE_SA_INIT came from (index key) */
    bool nat_local, nat_remote;
    struct ns_ike_mobike mob;
    /* client behind a NAT: from its first NAT detection check (heap);
     * NULL on a gateway, which holds an SA per client (R12). */
    struct ns_ike_natd_watch *natd;
    /* Both sides sent IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 2.3): our
     * messages above fragment_size go as SKF fragments (engine_frag.c). */
    bool frag;
    /* The peer sent a QCD token (RFC 6290, qcd.c): ours go to it. */
    bool qcd_peer;
    /* Fragments being put together (heap, NULL when none): [0] of a
     * request of the peer, [1] of a response to ours. */
    struct ns_frag_reasm *reasm[2];

    struct ns_proposal ike_alg;
    struct ns_dh *dh;  /* until the keys are derived */
    uint16_t ke_group; /* client: the group of our KE payload */
    uint8_t ni[NS_IKE_MAX_NONCE], nr[NS_IKE_MAX_NONCE];
    size_t ni_len, nr_len;
    /* The IKE_SA_INIT messages as sent: the AUTH payloads sign them (2.15),
     * and the gateway resends init_resp to a retransmitted init_req. */
    struct ns_msgbuf init_req, init_resp;
    uint8_t cookie[NS_IKE_MAX_COOKIE]; /* client: the gateway's COOKIE to echo */
    size_t cookie_len;
    unsigned init_retries; /* client: COOKIE / INVALID_KE round trips so far */
    /* client: why the last unprotected IKE_SA_INIT answer was not taken
     * (enum ns_init_hint, init_exchange.c), and its number (a notify
     * type, a DH group), for the log when the request times out. */
    uint8_t init_hint;
    uint16_t init_hint_arg;

    struct ns_ike_keys keys;          /* all zero until derived (ns_eng_sa_keyed) */
    struct ns_cipher *sk_in, *sk_out; /* SK payloads we receive / send: NULL but in use */

    /* Message IDs (2.2): one window each way. */
    uint32_t next_req_id;      /* the ID of our next request */
    uint32_t peer_req_id;      /* the ID the peer's next request must carry */
    struct ns_ike_request out; /* our request in flight */
    /* Our last response, for a retransmission of its request. */
    struct ns_msgbuf resp;
    uint32_t resp_id;

    /* Configuration payload. */
    struct ns_addr vip;  /* gateway: taken from the pool (given back by
                            ns_eng_vip_release); client: received */
    struct ns_addr vip6; /* the same from pool6 (X8); family 0 = none */
    /* 128: vip6 is an address; shorter: a delegated prefix (RFC 7296
     * 3.15.1), vip6 its first address. */
    uint8_t vip6_len;
    struct ns_addr dns[NS_CONF_MAX_DNS];
    unsigned n_dns;
    char dns_domains[NS_CP_DOMAINS_MAX]; /* client: INTERNAL_DNS_DOMAIN, space-separated */
    bool want_transport;                 /* client: USE_TRANSPORT_MODE asked */
    unsigned hold_ms;     /* client: its first IKE_SA_INIT waits this long (race.c) */
    uint32_t pending_spi; /* client: inbound SPI offered in IKE_AUTH, not yet
                             installed */
    /* client: the selectors we asked for (heap, from IKE_AUTH on); NULL on
     * a gateway, which asks for none and holds an SA per client (R12). */
    struct ns_ike_prop_ts *prop;

    struct ns_ike_child *child; /* heap: n_child records (NULL with none) */
    unsigned n_child;

    /* EAP in IKE_AUTH (ike/auth_eap.h): heap, from the first EAP round
     * until the SA is established or dies; NULL otherwise. */
    struct ns_eng_eap *eap;

    /* What the outside (the data plane, natsecctl) knows this IKE SA by
     * (ike/engine.h): its id, or for one made by a re-key the ike_sa_id of
     * the one it replaced, so the ESP SAs that move over keep theirs. */
    uint64_t ike_sa_id;
    struct ns_hnode by_ike_sa_id;
    bool in_ike_sa_id_idx;
    uint64_t rekey_at, expire_at; /* soft and hard lifetime; REKEYED, REDUNDANT: give-up time */
    uint64_t retry_at;            /* no new re-key request before (TEMPORARY_FAILURE) */
    unsigned rekeys;              /* IKE re-keys of this line so far */
    uint64_t rekey_of;            /* made by a re-key: the id of the IKE SA it re-keys */
    struct ns_create_child *create_child; /* our CREATE_CHILD_SA in flight, or NULL */
    uint32_t del_spis[NS_IKE_MAX_CHILD];  /* our inbound SPIs of children to tell the peer gone */
    unsigned n_del;
    uint8_t nonce_min[NS_IKE_MAX_NONCE]; /* lowest nonce of the re-key that made it (2.8.2) */
    size_t nonce_min_len;

    uint64_t created_ms, established_ms, last_rx_ms, dead_until;

    /* Engine indexes and timer. by_cookie: a half-open SA whose request
     * proved a COOKIE, by init_remote (one per endpoint). */
    struct ns_hnode by_id, by_init, by_ident, by_cookie;
    bool in_init_idx, in_ident_idx, in_cookie_idx;
    /* Gateway: counted for the source of its IKE_SA_INIT while it is
     * half-open (ike/halfopen.h, X13). */
    struct ns_halfopen_link ho;
    size_t heap_pos; /* SIZE_MAX when not in the heap */
    uint64_t due;
};

/* One hash index (sa_table.c): chains of ns_hnode, doubled when full. */
struct ns_htab {
    struct ns_hnode **b;
    size_t nb, n;
};

struct ns_ike_engine {
    const struct ns_conf *conf;
    struct ns_ike_ops ops;
    uint64_t now; /* the time passed to the current engine call */

    struct ns_htab by_id;        /* our SPI -> SA */
    struct ns_htab by_init;      /* (peer endpoint, SPIi) -> half-open SA (gateway) */
    struct ns_htab by_ident;     /* authenticated peer identity -> SAs (INITIAL_CONTACT) */
    struct ns_htab by_ike_sa_id; /* ike_sa_id -> the IKE SA holding its CHILD_SAs now */
    struct ns_htab by_cookie;    /* endpoint -> its half-open SA that proved a COOKIE (gateway) */
    uint8_t hash_key[16];        /* SipHash key: peers choose SPIs and ports */
    size_t n_sas;                /* in by_id, DEAD ones included */
    size_t n_dead;               /* lingering DEAD ones */

    struct ns_ikesa **heap; /* min-heap on sa->due */
    size_t heap_n, heap_cap;
    uint64_t reported_wakeup;

    struct ns_ike_counters ctr;
    /* Reassemblies of IKE fragments (engine_frag.c): [0] of half-open IKE
     * SAs, [1] of the others. */
    struct ns_frag_pool frag_pool[2];
    struct ns_ratelimit rl[NS_ENG_RL_KINDS]; /* log lines unauthenticated peers cause */
    struct ns_qcd_bucket qcd_bucket;         /* crash answers sent (qcd.c) */
    /* Client: the gateway's QCD token of its IKE SA (qcd.c); here, not in
     * the SA, which a gateway holds one of per client (R12). */
    struct ns_qcd_token qcd_token;
    unsigned half_open;
    struct ns_halfopen_table ho; /* the half-open SAs by source (X13) */

    struct ns_cookie_ctx cookie; /* gateway */
    struct ns_pool *pool;        /* gateway */
    struct ns_pool6 *pool6;      /* gateway with pool6, else NULL */

    /* Client: the one connection, and the peer section of the gateway. */
    struct ns_ikesa *client_sa;
    /* Client: the second attempt of a raced connect (race.c), until one
     * of the two wins; NULL otherwise. */
    struct ns_ikesa *race_sa;
    const struct ns_conf_peer *gw_peer;
    /* Client: the virtual IP received last, asked for again when it
     * reconnects (family 0: none; the gateway decides, R6). */
    struct ns_addr client_vip_hint;
    struct ns_addr client_vip6_hint; /* the same for the IPv6 virtual IP */
    /* Its prefix length (128: an address). */
    uint8_t client_vip6_hint_len;

    uint64_t child_seq; /* CHILD_SAs installed so far (ns_ike_child.install_seq) */

    uint8_t buf[NS_IKE_BUF];      /* the message being built */
    uint8_t frag_buf[NS_IKE_BUF]; /* its fragments, before they go back to buf */
};

/* ---- sa_table.c ---- */
int ns_htab_init(struct ns_htab *t, size_t nb);
void ns_htab_free(struct ns_htab *t);
uint64_t ns_eng_hash_id(const struct ns_ike_engine *e, uint64_t id);
uint64_t ns_eng_hash_init(const struct ns_ike_engine *e, const struct ns_endpoint *ep,
                          uint64_t spi_i);
uint64_t ns_eng_hash_ident(const struct ns_ike_engine *e, const struct ns_conf_id *id);
/* The source of a half-open SA (ike/halfopen.h, from ns_halfopen_source_of). */
uint64_t ns_eng_hash_source(const struct ns_ike_engine *e, const struct ns_addr *src);
/* Adds a node with its hash set; grows the table when it is full (growth
 * failure only makes chains longer). */
void ns_htab_add(struct ns_htab *t, struct ns_hnode *n);
void ns_htab_del(struct ns_htab *t, struct ns_hnode *n);
/* The first node of the chain a hash falls in (compare hash and key). */
struct ns_hnode *ns_htab_chain(const struct ns_htab *t, uint64_t hash);

struct ns_ikesa *ns_eng_find_id(const struct ns_ike_engine *e, uint64_t id);
struct ns_ikesa *ns_eng_find_init(const struct ns_ike_engine *e, const struct ns_endpoint *ep,
                                  uint64_t spi_i);
void ns_eng_index_init(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_index_ident(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* At most one half-open SA per endpoint (address and port) that proved a
 * COOKIE (R15): a cookie costs its sender one round trip, so without this
 * one host could hold any number of them from one port, each with another
 * SPIi. A new request with a valid cookie first drops the endpoint's older
 * one (its sender moved on: a restart, a new attempt), counted in
 * cookie_replaced; the new SA is then indexed. The index holds an SA only
 * while it is half-open. Returns when the dropped one became half-open
 * (ns_halfopen_link.since_ms), or e->now when there was none. */
uint64_t ns_eng_cookie_ep_drop(struct ns_ike_engine *e, const struct ns_endpoint *ep);
/* Whether ep holds such a half-open SA (which its next proven request
 * would replace). */
bool ns_eng_cookie_ep_holds(const struct ns_ike_engine *e, const struct ns_endpoint *ep);
void ns_eng_index_cookie(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_unindex_cookie(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_unindex(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Kills every live SA other than keep with keep's authenticated identity
 * (INITIAL_CONTACT, 2.4). Returns how many. */
unsigned ns_eng_kill_same_identity(struct ns_ike_engine *e, struct ns_ikesa *keep);
/* The gateway's unique-ID policy and per-identity limit (conf unique and
 * ike_sas_per_id, R15) for sa, whose peer has just proved sa->remote_id
 * (not yet indexed). unique = replace deletes the identity's other IKE SAs;
 * keep refuses sa when the identity holds one; no lets INITIAL_CONTACT
 * kill the older ones (2.4), then refuses sa when the identity still holds
 * ike_sas_per_id. Counted are established IKE SAs not replaced by a
 * re-key. Returns true when sa may go on, else false with the reason in
 * why (the caller answers AUTHENTICATION_FAILED). */
/* The tag the pool keeps of the identity an address was given to (R6):
 * a keyed hash of it, never 0. */
uint64_t ns_eng_vip_owner(const struct ns_ike_engine *e, const struct ns_conf_id *id);
bool ns_eng_identity_admit(struct ns_ike_engine *e, struct ns_ikesa *sa, bool initial_contact,
                           char *why, size_t why_len);

/* ---- log_peer.c: the peer every log line of an engine call names ----
 * Set at the entry points for the SA (or the sender) being handled,
 * cleared before they return; an SA in the context is never freed while
 * it is set (only ns_ike_engine_tick frees, outside it). */
void ns_eng_log_sa(const struct ns_ikesa *sa);
void ns_eng_log_from(const struct ns_endpoint *from);
void ns_eng_log_done(void);

/* ---- engine_sa.c ---- */
struct ns_ikesa *ns_eng_sa_new(struct ns_ike_engine *e, bool initiator);
/* The same with a given id (a fresh SPI from ns_eng_fresh_spi). */
struct ns_ikesa *ns_eng_sa_new_id(struct ns_ike_engine *e, bool initiator, uint64_t id);
/* A random nonzero IKE SPI no SA of ours has, nor a line of re-keyed SAs. */
uint64_t ns_eng_fresh_spi(const struct ns_ike_engine *e);
/* The one way an IKE SA changes state (sa_state.h): checked against the
 * table, an illegal move refused and counted (ctr.illegal_transitions);
 * keeps the half-open count, the data-plane index and the deadline in
 * step. why says what caused it, for the debug log. Returns false when
 * refused. */
bool ns_eng_sa_state(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_state st,
                     const char *why);
/* The same for a CHILD_SA; a move to the state it has is no move and is
 * accepted. */
bool ns_eng_child_state(struct ns_ike_engine *e, struct ns_ike_child *c, enum ns_child_state st,
                        const char *why);
/* A gateway's virtual IPs go back to their pools and the SA holds none. */
void ns_eng_vip_release(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Keys derived (after IKE_SA_INIT, or from the IKE SA a re-key replaced). */
static inline bool ns_eng_sa_keyed(const struct ns_ikesa *sa)
{
    return sa->keys.d_len != 0;
}
/* Takes the SA out of service: CHILD_SAs down, SPIs and virtual IP
 * released, indexes dropped, client_down on the client; the SA lingers in
 * state DEAD to answer a retransmission of the request it answered last. */
void ns_eng_sa_kill(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_down_reason why);
void ns_eng_sa_free(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Derives SKEYSEED and the SK_* keys from the peer's KE and frees our DH
 * key. Returns 0, or -1: a KE value that is no group element (our DH key
 * kept), a crypto failure (freed). */
int ns_eng_sa_derive(struct ns_ike_engine *e, struct ns_ikesa *sa, const uint8_t *peer_ke,
                     size_t peer_ke_len);
/* Keys the SK ciphers for our role from the derived keys (both, or the
 * inbound / outbound one; idempotent). Returns 0 or -1. They live only
 * while they are used: sk_in is keyed for the SK message being opened and
 * freed after it, sk_out by ns_eng_sk_begin and freed by ns_eng_sk_end.
 * An established SA exchanges a message only every liveness interval or
 * re-key, and the two OpenSSL contexts would be about a third of the
 * memory a connected client costs the gateway (R12, R15); the keys stay
 * in sa->keys (wiped when the SA is freed). */
int ns_eng_sa_ciphers(struct ns_ikesa *sa);
int ns_eng_sa_cipher_in(struct ns_ikesa *sa);
int ns_eng_sa_cipher_out(struct ns_ikesa *sa);
/* Frees the outbound (out) or inbound SK cipher, if keyed. */
void ns_eng_sa_cipher_drop(struct ns_ikesa *sa, bool out);
/* After an integrity-verified message from remote on local: moves the SA
 * when the endpoints differ and the peer may move (it is behind a NAT, or
 * the SA is floating to the NAT-T port). Calls ops->peer_moved for an SA
 * with CHILD_SAs. */
void ns_eng_follow_peer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                        const struct ns_endpoint *local, const struct ns_endpoint *remote);
/* Removes CHILD_SA i (child_down, release_spi), or all of them and a
 * pending SPI. */
void ns_eng_child_remove(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i);
void ns_eng_children_down(struct ns_ike_engine *e, struct ns_ikesa *sa);
bool ns_eng_udp_encap(const struct ns_ike_engine *e, const struct ns_ikesa *sa);
int ns_msgbuf_set(struct ns_msgbuf *m, const uint8_t *p, size_t len);
void ns_msgbuf_clear(struct ns_msgbuf *m);
const char *ns_eng_id_str(const struct ns_conf_id *id, char buf[NS_CONF_ID_STRLEN]);

/* ---- engine_msg.c ---- */
/* Starts an SK-protected message of the SA into e->buf. */
int ns_eng_sk_begin(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_builder *b,
                    uint8_t exchange, bool response, uint32_t msg_id);
/* Seals and finishes it: the message length, or -1. */
int ns_eng_sk_end(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_builder *b);
/* Builds and sends an SK response holding at most one notify (type 0: an
 * empty one), cached for retransmissions. Returns 0 or -1. */
int ns_eng_respond_notify(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                          uint8_t exchange, uint16_t notify, const uint8_t *data, size_t len);
/* Appends our KE payload (RFC 7296 3.4) for dh. 0 or -1. */
int ns_eng_add_ke(struct ns_ike_builder *b, const struct ns_dh *dh);
/* Sends an unprotected message through ops->send from local to remote. */
void ns_eng_send(struct ns_ike_engine *e, const struct ns_endpoint *local,
                 const struct ns_endpoint *remote, const uint8_t *msg, size_t len);

/* ---- retransmit.c ---- */
/* Sends a new request of the SA (kept for retransmission, timer armed). */
int ns_eng_request(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_req_kind kind,
                   uint32_t msg_id, const uint8_t *msg, size_t len);
/* The outstanding request was answered. */
void ns_eng_request_done(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* The request timer fired: retransmit, or give the SA up. */
void ns_eng_request_timeout(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Sends our response to the peer's request rx back to where it came from
 * (R4) and caches it. */
void ns_eng_respond(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                    const uint8_t *msg, size_t len);
/* A request with the ID we answered last came again (verified): resend. */
void ns_eng_resend_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                            const struct ns_endpoint *local, const struct ns_endpoint *remote);

/* ---- engine_timer.c ---- */
/* Recomputes the SA's deadline from its state and timers, and its heap
 * position. */
void ns_eng_sched(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_heap_remove(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Tells ops->set_wakeup when the earliest deadline changed. */
void ns_eng_report_wakeup(struct ns_ike_engine *e);

/* ---- engine.c ---- */
/* Client: a new IKE SA from local_addr to gateway with its IKE_SA_INIT
 * sent, or held hold_ms first (race.c); NULL on failure. */
struct ns_ikesa *ns_eng_client_start(struct ns_ike_engine *e, const struct ns_addr *local_addr,
                                     const struct ns_addr *gateway, unsigned hold_ms);

/* ---- race.c: happy eyeballs (RFC 8305) for a client's connect ---- */
/* sa's IKE_SA_INIT was answered: when a race runs, sa wins it and the
 * other attempt is dropped. */
void ns_eng_race_won(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* client_sa is going away (why): the second attempt takes its place, sent
 * at once if it was held. true when it did (then no client_down). */
bool ns_eng_race_promote(struct ns_ike_engine *e, enum ns_ike_down_reason why);
/* Drops the second attempt, if any (an administrator's disconnect). */
void ns_eng_race_drop(struct ns_ike_engine *e);

/* ---- init_exchange.c ---- */
int ns_eng_init_start(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* A gateway's SA made from an IKE_SA_INIT request without a COOKIE: that
 * request as its client would have repeated it with the COOKIE we answered
 * an earlier copy with (prev: made with the previous secret), into out.
 * 0, or -1 when the request had a COOKIE, or there is no such secret or
 * room. */
int ns_eng_init_req_cookied(const struct ns_ike_engine *e, const struct ns_ikesa *sa, bool prev,
                            uint8_t *out, size_t cap, size_t *len);
void ns_eng_init_request(struct ns_ike_engine *e, const struct ns_ike_rx *rx, const uint8_t *msg,
                         size_t len, const struct ns_ike_header *h,
                         const struct ns_ike_payloads *pl);
void ns_eng_init_response(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                          const struct ns_ike_header *h, const uint8_t *msg, size_t len,
                          const struct ns_ike_payloads *pl);
/* Why the client's last unprotected IKE_SA_INIT answer was not taken, or
 * NULL when none came. */
const char *ns_eng_init_hint_str(const struct ns_ikesa *sa, char *buf, size_t len);

/* ---- auth_exchange.c ---- */
int ns_eng_auth_start(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_auth_request(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_payloads *inner);
void ns_eng_auth_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                          const struct ns_ike_payloads *inner);
/* The parts of IKE_AUTH the EAP rounds (auth_eap_*.c) share with it. */
/* Our AUTH (method and value, out of NS_AUTH_DATA_MAX bytes): from the MSK
 * once EAP succeeded, else with the PSK or our certificate. 0 or -1. */
int ns_eng_our_auth(const struct ns_ike_engine *e, const struct ns_ikesa *sa, uint8_t *method,
                    uint8_t *out, size_t *out_len);
/* Whether the peer's AUTH is right for its ID payload id (cid as an
 * identity): with the section's PSK, the MSK after EAP, or the
 * certificate in pl's CERT payloads (*proved as ns_eng_cert_verify gives
 * it, when proved is not NULL). false with the reason in why. */
bool ns_eng_peer_auth_ok(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                         const struct ns_conf_peer *peer, const struct ns_ike_payloads *pl,
                         const struct ns_ike_id *id, const struct ns_conf_id *cid,
                         const struct ns_ike_auth *auth, const struct ns_conf_peer **proved,
                         char *why, size_t whylen);
/* Gateway: a refused IKE_AUTH: the log line, AUTHENTICATION_FAILED, the SA
 * killed. */
void ns_eng_auth_gw_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                           const char *why);
/* Gateway: the client authenticated as sa->remote_id under sa->peer; the
 * identity rules, the CHILD_SA of in (its first IKE_AUTH request), the
 * answer with our AUTH, established. */
void ns_eng_auth_gw_finish(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                           const struct ns_ike_payloads *in);
/* Client: the gateway's IDr (into *idr, pointing into in, when not NULL)
 * and its AUTH; false after failing the SA. */
bool ns_eng_auth_client_gateway(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                const struct ns_ike_payloads *in, struct ns_ike_id *idr);
/* Client: the CHILD_SA of the last IKE_AUTH answer in, established. */
void ns_eng_auth_client_finish(struct ns_ike_engine *e, struct ns_ikesa *sa,
                               const struct ns_ike_payloads *in);
/* Client: authentication failed: the log line, AUTHENTICATION_FAILED to
 * the gateway when tell_peer, the SA killed. */
void ns_eng_auth_client_failed(struct ns_ike_engine *e, struct ns_ikesa *sa, const char *why,
                               bool tell_peer);

/* ---- info_exchange.c ---- */
void ns_eng_info_request(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                         const struct ns_ike_payloads *inner);
void ns_eng_info_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                          const struct ns_ike_payloads *inner);
/* Starts the deletion of the IKE SA (or queues it behind the outstanding
 * request). */
void ns_eng_delete_ike(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_down_reason why);
/* Sends an empty INFORMATIONAL request (liveness check). */
void ns_eng_dpd(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Tells the peer something failed in a one-shot INFORMATIONAL (2.21.2). */
void ns_eng_info_notify_once(struct ns_ike_engine *e, struct ns_ikesa *sa, uint16_t notify);

/* ---- child_keys.c ---- */
/* What a negotiated CHILD_SA needs besides keys. */
struct ns_child_params {
    struct ns_proposal alg;
    enum ns_esp_mode mode;
    uint32_t spi_in, spi_out;
    const struct ns_ts *local_ts, *remote_ts; /* from this host's point of view */
    unsigned n_local_ts, n_remote_ts;
    /* Transport mode through a NAT (RFC 7296 2.23.1, R2): the addresses the
     * peer's packets carry in their checksums (its own address and ours as
     * it knows them), from the selectors before address substitution.
     * Family 0: no NAT changed them, no checksum fixup. */
    struct ns_addr orig_src, orig_dst;
    /* CREATE_CHILD_SA (2.17): the exchange's nonces, its PFS shared secret
     * (NULL without), whether we initiated it, and the re-key line it
     * continues. Unset (ni NULL): the IKE SA's own nonces and roles, as for
     * the CHILD_SA of IKE_AUTH. */
    const uint8_t *ni, *nr;
    size_t ni_len, nr_len;
    const uint8_t *g_ir;
    size_t g_ir_len;
    bool we_initiated;
    unsigned rekeys;
    /* A re-key we answer: the outbound direction waits for the initiator
     * (ops->child_in_up / child_out_up, when the daemon has them). */
    bool defer_out;
};
/* Derives KEYMAT (2.17, with the PFS secret when given) and fills both
 * directions. Returns 0 or -1; on success the caller must wipe the specs
 * after use. */
int ns_eng_child_specs(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                       const struct ns_child_params *p, struct ns_esp_sa_spec *in,
                       struct ns_esp_sa_spec *out);
/* Installs a negotiated CHILD_SA: specs, ops->child_up, record, log.
 * Returns 0 or -1 (nothing installed; spi_in is still the caller's). */
int ns_eng_child_install(struct ns_ike_engine *e, struct ns_ikesa *sa,
                         const struct ns_child_params *p);

/* ---- lifecycle.c ---- */
/* Soft and hard lifetimes of an IKE SA that became ESTABLISHED, and of a
 * CHILD_SA just installed: the soft one with random jitter (10-20 % before
 * the hard one) so that thousands of clients do not re-key together. */
void ns_eng_life_ike_start(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_life_child_start(struct ns_ike_engine *e, struct ns_ike_child *c);
/* The earliest life-cycle deadline of an established SA (NS_IKE_NEVER):
 * only local work (hard expiry, traffic polls) while a request is out. */
uint64_t ns_eng_life_due(const struct ns_ike_engine *e, const struct ns_ikesa *sa);
/* Does the life-cycle work that is due (hard lifetimes, polls), then, when
 * no request is out, starts the most urgent one (DELETE of children,
 * re-key of the IKE SA, re-key of a CHILD_SA). Safe to call any time. */
void ns_eng_life_run(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* The index of the child with this inbound / outbound SPI, or -1. */
int ns_eng_child_by_in(const struct ns_ikesa *sa, uint32_t spi);
int ns_eng_child_by_out(const struct ns_ikesa *sa, uint32_t spi);
/* The ike_sa_id index (ike/engine.h esp_from). */
void ns_eng_index_ike_sa_id(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_unindex_ike_sa_id(struct ns_ike_engine *e, struct ns_ikesa *sa);
struct ns_ikesa *ns_eng_find_ike_sa_id(const struct ns_ike_engine *e, uint64_t ike_sa_id);
/* A re-key of the IKE SA completed: its CHILD_SAs, virtual IP, data-plane
 * id and client role move from old to fresh (RFC 7296 2.18). */
void ns_eng_ike_move(struct ns_ike_engine *e, struct ns_ikesa *old, struct ns_ikesa *fresh);
/* The lower of two nonces (2.8.1: compared as byte strings, a prefix
 * first), copied to out. */
void ns_eng_nonce_min(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out,
                      size_t *out_len);
int ns_eng_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);
/* The peer deletes IKE SA sa (its answer is out): in a simultaneous IKE
 * re-key, the CHILD_SAs go to the surviving new IKE SA first (2.8.2). */
void ns_eng_life_ike_deleted(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* No re-key request before a random 1-3 s from now (TEMPORARY_FAILURE). */
void ns_eng_life_retry_later(struct ns_ike_engine *e, struct ns_ikesa *sa);
/* Installs the outbound direction of child i that waited for the
 * initiator of its re-key. 0, or -1 (the child then expires at once). */
int ns_eng_child_activate(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i);
/* Takes child i out of the data plane and queues the DELETE that tells the
 * peer (its inbound SPI goes in the next DELETE request). */
void ns_eng_child_drop_and_tell(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i);

/* ---- create_child_exchange.c, create_child_rekey_{child,ike}.c ---- */
/* Starts our CREATE_CHILD_SA re-keying child i, or the IKE SA. 0, or -1
 * (nothing sent; the caller retries later). */
int ns_eng_create_child_rekey_child(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i);
int ns_eng_create_child_rekey_ike(struct ns_ike_engine *e, struct ns_ikesa *sa);
void ns_eng_create_child_request(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_rx *rx, const struct ns_ike_payloads *inner);
void ns_eng_create_child_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                  const struct ns_ike_payloads *inner);
/* Frees a CREATE_CHILD_SA in flight (SPIs reserved for it go back). */
void ns_eng_create_child_drop(struct ns_ike_engine *e, struct ns_ikesa *sa);

/* ---- info_exchange.c (life cycle) ---- */
/* Sends a DELETE of the children queued in sa->del_spis. 0 or -1. */
int ns_eng_delete_children(struct ns_ike_engine *e, struct ns_ikesa *sa);

/* ---- init_exchange.c: NAT detection, shared with mobike.c ---- */
/* Evaluates the peer's NAT_DETECTION_* notifies in pl (SPIs: sa->spi_i and
 * spi_r, as in that message's header): pkt_src is the peer as we see it,
 * pkt_dst our own endpoint as the peer addressed it. Sets sa->nat_*. */
void ns_eng_natd_eval(struct ns_ike_engine *e, struct ns_ikesa *sa,
                      const struct ns_ike_payloads *pl, uint64_t spi_r,
                      const struct ns_endpoint *pkt_src, const struct ns_endpoint *pkt_dst);
/* Our NAT_DETECTION_SOURCE_IP (over local, or one that matches nothing
 * with force_encap) and _DESTINATION_IP (over remote). 0 or -1. */
int ns_eng_add_natd(struct ns_ike_engine *e, struct ns_ike_builder *b, uint64_t spi_i,
                    uint64_t spi_r, const struct ns_endpoint *local,
                    const struct ns_endpoint *remote);

/* ---- natd_check.c: liveness checks with NAT detection ---- */
/* Responder: when the INFORMATIONAL request in carries NAT detection, adds
 * ours to its answer b, over the endpoints the request really came from
 * and arrived on (rx). 0 or -1. */
int ns_eng_natd_check_answer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                             const struct ns_ike_rx *rx, const struct ns_ike_payloads *in,
                             struct ns_ike_builder *b);
/* Initiator: the answer to our NS_REQ_NATD_CHECK (sa->natd). */
void ns_eng_natd_check_response(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                const struct ns_ike_payloads *in);

/* ---- status.c ---- */
const char *ns_eng_notify_name(uint16_t type);
void ns_eng_log_established(const struct ns_ike_engine *e, const struct ns_ikesa *sa);

#endif
