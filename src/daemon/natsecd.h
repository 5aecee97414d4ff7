/* natsecd's private state, shared by the files of src/daemon: main.c
 * (arguments, configuration, process), wiring.c (creating the parts and
 * the engine's callbacks), dataplane.c (packets between TUN and the
 * sockets), keepalive.c (X1), routes.c (TUN addresses, routes, rule),
 * control.c (the UNIX control socket) and status.c (its JSON).
 *
 * Threads (docs/design.md): with workers = 1 (what the default, auto,
 * gives on one CPU) and tx_thread = yes (the default), the outbound data
 * path (TUN -> ESP encap -> send, dataplane_tx.c) runs on a worker thread
 * of its own and everything else (the event loop: IKE, inbound ESP,
 * timers, control, and start and stop) on the main thread; with workers
 * = N > 1, N data-plane threads (workers.c) each decrypt what their
 * NAT-T socket receives and seal what their TUN queue gives them, and the
 * main thread does the rest (IKE, plain ESP, timers, control). They
 * share the SAD, under sad_lock (sadlock.c), a reader-writer lock in one
 * part per data-plane thread:
 *   - a data-plane thread holds its part shared for each batch it reads
 *     from TUN or its socket, and touches nothing else of struct nsd but
 *     its own state (struct nsd_tx, struct nsd_worker: buffers, counters,
 *     its handles on the sockets and TUN queue) and what never changes
 *     after start (conf, the descriptors, the TUN device's offloads);
 *   - the main thread holds every part exclusive whenever it runs (from
 *     the threads' start on; the loop enters it before timers and
 *     callbacks, ns_loop_set_guard, and returns holding it, so shutdown and
 *     stop run under it too), so the engine, the SAD's changes and every
 *     read of SA or thread counters (status, keepalives, re-key decisions)
 *     exclude the data-plane threads; it leaves it while it waits in epoll,
 *     and holds nothing while it decrypts inbound ESP (on_natt, on_raw),
 *     which runs beside the other threads. The engine calls that inbound
 *     ESP causes (a peer's move, liveness) are collected during a batch and
 *     made after it, exclusive; the workers queue them (and the IKE they
 *     receive) for the main thread instead.
 * The SAD allows this because the data paths change no table and their
 * per-packet SA state is safe for several threads at once (esp/sad.h). With
 * workers = 1 and tx_thread = no there is no thread and no lock, and one
 * thread runs everything. */
#ifndef NATSEC_DAEMON_NATSECD_H
#define NATSEC_DAEMON_NATSECD_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/conf.h"
#include "esp/pkt.h"
#include "esp/sad.h"
#include "ike/engine.h"
#include "net/dgram.h"
#include "net/ifconf.h"
#include "net/loop.h"
#include "net/rawesp.h"
#include "net/timer.h"
#include "net/tun.h"
#include "net/tun_batch.h"
#include "net/udp.h"

/* Counters of the daemon's own, outside the engine and the SAD; the
 * outbound path keeps its own (struct nsd_tx_counters), status adds them. */
struct nsd_counters {
    uint64_t keepalives_rx;  /* 0xFF on natt_port and authentic ESP dummy packets: discarded */
    uint64_t keepalives_tx;  /* sent by us (X1): dummy packets, 0xFF, checks of the mapping */
    uint64_t natt_invalid;   /* port-4500 datagrams that are none of IKE, ESP, keepalive */
    uint64_t truncated;      /* datagrams larger than our buffers */
    uint64_t not_listened;   /* datagrams to an address listen does not name */
    uint64_t raw_bad_header; /* protocol-50 packets with a broken IP header */
    uint64_t tun_tx;         /* plaintext packets written to the TUN device */
    uint64_t esp_rx;         /* ESP packets received (UDP and raw) */
    uint64_t ike_rx, ike_tx; /* IKE datagrams received and sent */
    uint64_t send_blocked;   /* packets dropped because TUN's buffer was full */
    uint64_t tun_tcp_supers; /* TCP super-packets written to TUN (net/gso.h) */
    uint64_t tun_udp_supers; /* UDP super-packets written to TUN (net/tun_uso.h) */
};

/* A client's tunnel as configured on the host (client_up), so that
 * client_down removes exactly that. */
#define NSD_MAX_ROUTES 64
struct nsd_client_net {
    bool up;
    uint64_t ike_sa_id;
    struct ns_addr vip;
    struct ns_addr vip6; /* family 0: none */
    struct ns_addr route_dst[NSD_MAX_ROUTES];
    unsigned route_plen[NSD_MAX_ROUTES];
    unsigned n_routes;
};

struct nsd_dns;
struct nsd_keepalive;
struct nsd_radius;
struct nsd_tcp;
struct nsd_transport;
struct nsd_tx;

/* The outbound path's counters (dataplane_tx.c), written only by it. */
struct nsd_tx_counters {
    uint64_t tun_rx;       /* plaintext packets read from TUN (segments of a super-packet) */
    uint64_t truncated;    /* TUN packets larger than our buffers */
    uint64_t esp_tx;       /* ESP packets sent (UDP and raw) */
    uint64_t send_blocked; /* dropped because a socket buffer was full */
    uint64_t send_errors;  /* refused by the kernel (its socket handles' counts) */
};

/* What the main thread holds of sad_lock (sadlock.c). */
enum nsd_hold {
    NSD_HOLD_NONE,
    NSD_HOLD_SHARED,    /* decrypting inbound ESP beside the worker */
    NSD_HOLD_EXCLUSIVE, /* anything else that runs on the main thread */
};

/* One rx/tx buffer and its datagram descriptor, allocated once at start. */
struct nsd_slot {
    uint8_t *buf;
    size_t cap;
};

struct nsd_worker;

/* An inbound path's own state (dataplane.c): the main thread's (nsd.rx),
 * or a data-plane worker's (workers.c), which hands what the engine must
 * hear to the main thread instead of telling it. */
struct nsd_rx {
    struct nsd *d;
    struct nsd_worker *worker; /* NULL: the main thread */
    struct ns_tun *tun;        /* where decrypted packets go */
    struct nsd_counters *cnt;
    struct nsd_slot *slot;         /* NS_NET_BATCH_MAX receive buffers */
    struct ns_tun_writer *tun_out; /* where its TUN writes merge runs */
    /* Liveness report rate limit (engine esp_activity): the last IKE SA
     * reported and when. */
    uint64_t act_id, act_ms;
    bool held; /* a worker: its share of sad_lock, per batch */
};

struct nsd_retired;

/* control.c: one connection of natsecctl's. */
#define NSD_CTL_MAX 16
#define NSD_CTL_LINE 1024 /* "disconnect " and the longest identity */
struct nsd_ctl_conn {
    struct nsd *d; /* NULL = a free entry */
    int fd;
    char in[NSD_CTL_LINE];
    size_t in_len;
    char *out; /* heap copy of the answer, or of its next part, while it is being written */
    size_t out_len, out_off, out_cap;
    /* The status is streamed (control_status.c): the keys of the IKE SAs
     * at the request, the next one to write, and the request's time. */
    uint64_t *keys;
    size_t n_keys, next_key;
    uint64_t now_ms;
    bool streaming; /* more parts of the status to come after out */
    bool wrote_sa;  /* an IKE SA written already: the next one after a comma */
};

/* reconnect.c: a client's reconnection with back-off (X2). */
struct nsd_reconnect {
    bool init;
    struct ns_timer timer;
    bool retrying;     /* lost the gateway: try until a connection is up */
    unsigned attempt;  /* connect attempts since the last connection that lasted */
    bool after_reload; /* the coming NS_IKE_DOWN_LOCAL is a reload's: reconnect */
    bool up;           /* a connection is up ... */
    uint64_t up_ms;    /* ... since then */
};

/* Socket buffers of the IKE, NAT-T and raw ESP sockets: bursts from
 * thousands of peers. */
#define NSD_SOCK_BUFFER (8 << 20)

struct nsd {
    const char *conf_path;
    struct ns_conf conf;
    bool foreground, debug; /* -f, -d */
    uid_t run_uid;          /* privileges.c: the uid and gid of conf.user */
    gid_t run_gid;
    struct nsd_retired *retired; /* reload.c: sections replaced by a reload, still in use */
    uint64_t start_ms;

    struct ns_loop *loop;
    struct ns_udp ike;  /* conf.ike_port */
    struct ns_udp natt; /* conf.natt_port: IKE with marker, ESP in UDP, keepalives */
    struct ns_raw_esp raw;
    struct ns_tun tun;
    struct ns_ifconf ifc; /* addresses, routes and rule of the TUN device */
    bool ifc_open;
    bool forwarding_was; /* gateway: net.ipv4.ip_forward before us */
    bool forwarding_set;
    bool forwarding6_was; /* gateway with pool6: net.ipv6.conf.all.forwarding before us */
    bool forwarding6_set;

    bool dataplane_on; /* the sockets and TUN are in the loop */
    struct ns_sad *sad;
    struct ns_ike_engine *engine;
    struct ns_timer engine_timer; /* fires at the engine's earliest deadline */
    struct ns_timer keepalive_timer;
    struct nsd_keepalive *ka; /* keepalive.c's per-IKE-SA records */

    /* Buffers: NS_NET_BATCH_MAX slots, reused by every receive path of
     * the main thread (the loop runs one callback at a time, and each
     * finishes its batch); the outbound path too when it has no thread. */
    struct nsd_slot slot[NS_NET_BATCH_MAX];
    size_t slot_cap;
    uint8_t *ike_out; /* one IKE message with room for the non-ESP marker */
    size_t ike_out_cap;


    struct nsd_client_net client;
    struct nsd_transport *transport; /* transport.c: transport-mode peers and routes */
    struct nsd_radius *radius;       /* radius.c: eap_backend = radius only */
    struct nsd_dns *dns;             /* dns.c: client with dns_apply; NULL: none */

    int control_fd;
    struct nsd_ctl_conn ctl_conns[NSD_CTL_MAX];
    struct nsd_counters cnt;

    struct nsd_reconnect reconnect; /* client only */
    /* gateway_name.c: a client's gateway given by name, its addresses
     * (IPv6 first) and the one in use (copied to conf.gateway). */
    struct ns_addr gw_cand[2];
    unsigned n_gw_cand, gw_cur;
    /* netwatch.c, client only: rtnetlink events, and the timer that lets a
     * burst of them settle before the route to the gateway is looked up. */
    struct nsd_netwatch {
        bool on;
        int fd;
        struct ns_timer settle;
        /* The source address of the route to the gateway as last seen: the
         * tunnel moves when it changes, not merely because it differs from
         * the address in use (path testing may have left that one). */
        struct ns_addr route_src;
    } netwatch;
    struct nsd_tcp *tcp;            /* daemon/tcp.h: IKE and ESP over TCP (RFC 8229) */
    /* service.c: systemd's watchdog keep-alives; interval 0: none. */
    struct ns_timer watchdog_timer;
    uint64_t watchdog_interval_ms;
    /* wiring.c, shutting down (nsd_shutdown): until this time (ns_now_ms)
     * an IKE send that finds its socket buffer full waits for room instead
     * of dropping the message; 0 otherwise. */
    uint64_t goodbye_deadline_ms;
    /* dataplane.c: the main thread's inbound writes to TUN, where a run of
     * decrypted packets merges into one super-packet. */
    struct ns_tun_writer tun_out;

    struct nsd_rx rx; /* the main thread's inbound path */

    /* The outbound path (dataplane_tx.c) with workers = 1; with more, the
     * workers (workers.c), each with both paths. sad_lock and sad_hold
     * only with a thread besides the main one (sad_locking). */
    struct nsd_tx *tx;
    struct nsd_workers *workers;
    bool sad_locking;
    struct nsd_sad_lock *sad_locks; /* sadlock.c: one per thread beside the main one */
    unsigned n_sad_locks;
    enum nsd_hold sad_hold;
};

/* wiring.c */
int nsd_start(struct nsd *d);
/* SIGTERM/SIGINT, before nsd_stop: an IKE DELETE to every peer (X2), sent
 * without waiting for answers, flushed for at most about a second. */
void nsd_shutdown(struct nsd *d);
void nsd_stop(struct nsd *d);
/* After any engine call: re-arm the engine timer at its next deadline. */
void nsd_engine_rearm(struct nsd *d);
/* The address natsecd listens on: listen, or the IPv4 wildcard when unset
 * (listen_dual: both versions, which the callers handle). */
struct ns_addr nsd_listen_addr(const struct ns_conf *c);
/* Raw protocol-50 socket(s) as the configuration listens (both IP
 * versions, or listen's), with natsecd's buffer size. 0 or -1 (logged). */
int nsd_raw_open(const struct nsd *d, struct ns_raw_esp *raw);
/* Client: (re)start the connection to the gateway ("up"). 0 or -1. */
int nsd_client_connect(struct nsd *d);
/* The source address the kernel uses towards gw outside the tunnel. 0, or
 * -1 without a route (logged as an error unless quiet). */
int nsd_local_addr_towards(struct nsd *d, const struct ns_addr *gw, struct ns_addr *out,
                           bool quiet);

/* netwatch.c: a client with MOBIKE watches its addresses, routes and links
 * (rtnetlink) and moves its IKE SA when the way to the gateway changes
 * source address. start: 0, or -1 (logged; natsecd runs on without). */
int nsd_netwatch_start(struct nsd *d);
void nsd_netwatch_stop(struct nsd *d);
/* The connection starts from local (the route's source then). */
void nsd_netwatch_connected(struct nsd *d, const struct ns_addr *local);
/* ops->local_addrs: this host's addresses of family on interfaces that are
 * up and running, other than loopback and the TUN device. */
unsigned nsd_netwatch_local_addrs(void *ctx, int family, struct ns_addr *out, unsigned max);

/* dataplane.c: the inbound paths and the IKE port; starts and stops the
 * outbound one. */
int nsd_dataplane_start(struct nsd *d);
void nsd_dataplane_stop(struct nsd *d);
/* ESP that came in frames of a TCP connection (daemon/tcp_conn.c):
 * pkt[0..n) (n <= NS_NET_BATCH_MAX) decrypted and written to TUN as
 * on_natt does; local and from are the connection's ends (from NULL: each
 * SA's own peer, for the client's connection to its gateway). Main
 * thread, sad_lock exclusive. Returns how many were authentic. */
unsigned nsd_esp_in_stream(struct nsd *d, struct ns_pkt *pkt, unsigned n,
                           const struct ns_endpoint *local, const struct ns_endpoint *from);
/* UDP GSO and GRO on a NAT-T socket, as the configuration asks. */
void nsd_natt_offloads(struct nsd *d, struct ns_udp *s);
/* NS_NET_BATCH_MAX slots of cap bytes each (freed by the caller, NULL
 * where allocation failed); -1 when memory ran out (logged, with whose). */
int nsd_slots_alloc(struct nsd_slot *slot, size_t cap, const char *whose);
/* Points each datagram descriptor at one of the slots, leaving the ESP
 * head room. */
void nsd_slots_prepare(const struct nsd_slot *slot, struct ns_dgram *dg, struct ns_pkt *pkt);

/* dataplane_tx.c: TUN -> ESP. start: with conf.tx_thread on a worker
 * thread (sad_locking from then on; the main thread holds sad_lock
 * exclusive on return), else in d->loop; -1 on failure (logged). stop:
 * stops and joins the worker (letting go of sad_lock for it to finish its
 * batch), removes the lock, frees everything; safe to call twice. */
int nsd_tx_start(struct nsd *d);
void nsd_tx_stop(struct nsd *d);
/* The outbound paths' counters so far, added up (main thread, sad_lock
 * exclusive). */
void nsd_tx_counters(const struct nsd *d, struct nsd_tx_counters *c);
/* For workers.c: an outbound path of its own, reading the TUN queue tun
 * and sending on its own copy of natt and d->raw, taking lock shared per
 * batch (NULL: the main thread's, in d->slot). new: NULL on failure
 * (logged). run: the batches waiting now. add_counters: adds its own. */
struct nsd_tx *nsd_tx_new(struct nsd *d, struct ns_tun *tun, const struct ns_udp *natt,
                          pthread_rwlock_t *lock);
void nsd_tx_run(struct nsd_tx *t);
void nsd_tx_free(struct nsd_tx *t);
void nsd_tx_add_counters(const struct nsd_tx *t, struct nsd_tx_counters *c);

/* workers.c: workers > 1 data-plane threads, each with its own NAT-T
 * socket (SO_REUSEPORT) and TUN queue (IFF_MULTI_QUEUE), running both
 * paths; IKE and the engine's reports reach the main thread through a
 * queue. count: the number conf.workers asks for (auto: online CPUs;
 * nsd_start makes conf.workers that number).
 * start: after the sockets' and TUN's offloads are set; the main thread
 * holds sad_lock exclusive on return; -1 on failure (logged). stop: stops
 * and joins them, closes what they opened; safe to call twice. */
unsigned nsd_workers_count(const struct ns_conf *c);
int nsd_workers_start(struct nsd *d);
void nsd_workers_stop(struct nsd *d);
/* Adds the workers' counters to c (main thread, sad_lock exclusive). */
void nsd_workers_rx_counters(const struct nsd *d, struct nsd_counters *c);
void nsd_workers_tx_counters(const struct nsd *d, struct nsd_tx_counters *c);
/* The workers' TUN queues' refused writes. */
uint64_t nsd_workers_tun_write_errors(const struct nsd *d);
/* How many workers run (0: none, workers = 1), worker i's own counters,
 * and the messages for the main thread that a full queue dropped. */
unsigned nsd_workers_n(const struct nsd *d);
void nsd_worker_counters(const struct nsd *d, unsigned i, struct nsd_counters *rx,
                         struct nsd_tx_counters *tx);
uint64_t nsd_workers_handoff_dropped(struct nsd *d);
/* A worker's inbound ESP and IKE on its NAT-T socket (dataplane.c), and the
 * queue to the main thread (workers.c): an IKE datagram, and a report of
 * authentic ESP (a move when move, else liveness); dropped and counted
 * when the queue is full. */
void nsd_rx_natt(struct nsd_rx *p, struct ns_udp *sock);
/* ... and plain ESP on its raw sockets (the packets of its SPIs). */
void nsd_rx_raw(struct nsd_rx *p, struct ns_raw_esp *sock);
void nsd_worker_ike(struct nsd_worker *w, const struct ns_endpoint *local,
                    const struct ns_endpoint *from, const uint8_t *msg, size_t len);
void nsd_worker_report(struct nsd_worker *w, uint64_t ike_sa_id, const struct ns_endpoint *local,
                       const struct ns_endpoint *from, bool move);
/* Waits until the main thread has made the last move w queued since the
 * previous call (at once when none); the caller holds no part of
 * sad_lock. false: the workers are stopping (the batch is dropped). */
bool nsd_worker_await(struct nsd_worker *w);
/* The worker's part of sad_lock. */
pthread_rwlock_t *nsd_worker_lock(struct nsd_worker *w);

/* sadlock.c: sad_lock, a reader-writer lock of n parts, one per thread
 * beside the main one, each on its own cache line: a thread takes its own
 * part shared per batch (touching no line another core writes), the main
 * thread all of them to hold the lock exclusive. init: made, held
 * exclusive by the calling (main) thread, entered by d->loop as its guard.
 * fini: released and destroyed, the guard removed (no worker may run).
 * hold: the main thread moves to holding want; no-op without sad_locking.
 * part: thread i's part, for it to take shared. */
int nsd_sad_lock_init(struct nsd *d, unsigned n);
void nsd_sad_lock_fini(struct nsd *d);
void nsd_sad_hold(struct nsd *d, enum nsd_hold want);
pthread_rwlock_t *nsd_sad_lock_part(struct nsd *d, unsigned i);

/* radius.c: EAP on RADIUS servers (eap_backend = radius, X16). start:
 * their sockets in the loop (0 when not configured; -1 logged). stop:
 * closes them, drops the requests in flight. eap_backend, eap_cancel: the
 * engine's ops->eap_backend and eap_backend_cancel. */
int nsd_radius_start(struct nsd *d);
void nsd_radius_stop(struct nsd *d);
int nsd_radius_eap_backend(void *ctx, const struct ns_eapb_request *rq);
void nsd_radius_eap_cancel(void *ctx, uint64_t ike_sa_id);
/* status.c's "radius": each server's counters, the one used first (from
 * 1), requests in flight, logins no server answered; NULL without. */
json_object *nsd_radius_status_json(struct nsd *d);

/* keepalive.c */
void nsd_keepalive_start(struct nsd *d);
void nsd_keepalive_stop(struct nsd *d);
/* The keepalive of an IKE SA behind a NAT for its status (mode, the
 * interval in use, what keepalive = auto learned), a new reference; NULL
 * when it sends none. */
json_object *nsd_keepalive_json(struct nsd *d, uint64_t ike_sa_id);

/* gateway_name.c */
/* Resolves conf.gateway_name (if set) into gw_cand and conf.gateway; 0, or
 * -1 (logged) when it does not resolve. */
int nsd_gateway_resolve(struct nsd *d);
/* Moves conf.gateway to the name's other address; false when it has one. */
bool nsd_gateway_next(struct nsd *d);
/* The name's other address than conf.gateway, and this host's address
 * towards it: the second path a connect races (happy eyeballs). false
 * when there is none, or no route to it. */
bool nsd_gateway_alt(struct nsd *d, struct ns_addr *gw, struct ns_addr *local);
/* The raced connect goes on over gw (one of the name's addresses): it is
 * conf.gateway from now on. */
void nsd_gateway_use(struct nsd *d, const struct ns_addr *gw);

/* routes.c */
int nsd_routes_gateway(struct nsd *d);
void nsd_routes_gateway_down(struct nsd *d);
void nsd_routes_client_up(struct nsd *d, uint64_t ike_sa_id, const struct ns_addr *vip,
                          const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n);
void nsd_routes_client_down(struct nsd *d);

/* transport.c: host-to-host transport mode (R2, R13). child_up: before
 * installing a transport-mode CHILD_SA (others are ignored), route the
 * peer's address into the TUN device, or refuse (-1) a second host behind
 * the same NAT. child_down: after its removal. client_up: true when the
 * client's connection is in transport mode (then no tunnel routes). */
int nsd_transport_child_up(struct nsd *d, const struct ns_esp_sa_spec *in,
                           const struct ns_esp_sa_spec *out);
void nsd_transport_child_down(struct nsd *d, uint32_t in_spi);
bool nsd_transport_client_up(struct nsd *d, uint64_t ike_sa_id);
/* Adds "transport" (original addresses, fixup count) to a CHILD_SA's JSON. */
void nsd_transport_child_json(struct nsd *d, json_object *o, uint32_t spi_in);
void nsd_transport_free(struct nsd *d);

/* reconnect.c: a client's automatic reconnection with back-off (X2). */
void nsd_reconnect_schedule(struct nsd *d);
void nsd_reconnect_down(struct nsd *d, enum ns_ike_down_reason why); /* from client_down */
void nsd_reconnect_up(struct nsd *d);                                /* from client_up */
void nsd_reconnect_stop(struct nsd *d);
/* A reload deleted the client's connection (its gateway's section
 * changed): reconnect once it is down, with the new section. */
void nsd_reconnect_after_reload(struct nsd *d);

/* service.c: systemd notifications (sd_notify; no-ops without
 * NOTIFY_SOCKET). ready: READY=1, and the watchdog keep-alives from the
 * event loop when WatchdogSec is set. status: one notification as is
 * ("RELOADING=1", "STOPPING=1", "READY=1"). stop: no more keep-alives. */
void nsd_service_ready(struct nsd *d);
void nsd_service_status(const char *state);
void nsd_service_stop(struct nsd *d);

/* service.c: where log lines go for log_target (auto: syslog in the
 * background or under systemd, else stderr). */
enum ns_log_target nsd_log_target(enum ns_conf_log_target conf, bool foreground);

/* reload.c: SIGHUP and natsecctl reload. start: SIGHUP reloads. reload:
 * 0 with a summary in msg, or -1 with why it was refused (the running
 * configuration stays). free: the replaced sections, after nsd_stop. */
int nsd_reload_start(struct nsd *d);
int nsd_reload(struct nsd *d, char *msg, size_t len);
void nsd_reload_free(struct nsd *d);

/* privileges.c (libcap-ng). prepare, before anything is set up: looks
 * conf.user up, and refuses (-1, logged) when natsecd lacks a capability
 * it needs, naming each and why. drop, after set-up: becomes conf.user
 * when root, keeps only CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE,
 * sets no_new_privs; -1 when that fails. */
/* dns.c (X8): a client applies its gateway's DNS servers (dns_apply).
 * prepare, before the privilege drop: opens what apply needs (0, or -1
 * when the mode asked for cannot work); up applies dns[0..n) and the
 * split DNS domains of IKE SA ike_sa_id (and logs them), down puts back what was there, close does
 * down and frees. */
int nsd_dns_prepare(struct nsd *d);
void nsd_dns_up(struct nsd *d, uint64_t ike_sa_id, const struct ns_addr *dns, unsigned n);
void nsd_dns_down(struct nsd *d);
void nsd_dns_close(struct nsd *d);

int nsd_privileges_prepare(struct nsd *d);
int nsd_privileges_drop(struct nsd *d);

/* seccomp.c (libseccomp): the system call allow-list on every thread,
 * after set-up; unlisted calls fail with EPERM. -1 when it cannot be
 * installed (logged). */
int nsd_seccomp_install(void);

/* control.c */
int nsd_control_start(struct nsd *d);
void nsd_control_stop(struct nsd *d);

/* status.c: the parts of the answer to "status" (new references): the
 * head (who answers), one IKE SA, the tail (counters); and the summary
 * (head and tail, without the IKE SAs: O(1) in their number). */
json_object *nsd_status_head(struct nsd *d);
json_object *nsd_status_sa_json(struct nsd *d, const struct ns_ike_sa_status *st, uint64_t now_ms);
json_object *nsd_status_tail(struct nsd *d);
json_object *nsd_status_summary_json(struct nsd *d);

/* control_status.c: streams the status over control connection c in
 * parts of at most NSD_CTL_STEP IKE SAs, the event loop serving IKE and
 * ESP between them (100,000 SAs are some 150 MB of JSON).
 * nsd_ctl_status_start takes the IKE SAs' keys and sets out to the head;
 * nsd_ctl_status_next sets out to the next part, once out is written.
 * 0, or -1 when out of memory. */
#define NSD_CTL_STEP 64
int nsd_ctl_status_start(struct nsd_ctl_conn *c);
int nsd_ctl_status_next(struct nsd_ctl_conn *c);
/* Frees what a stream holds (the keys). */
void nsd_ctl_status_end(struct nsd_ctl_conn *c);

/* disconnect.c: natsecctl disconnect WHAT (an IKE SA id, a peer identity,
 * or an outer address with or without port): deletes every IKE SA it
 * names; the answer (a new reference) says how many, or is an error. */
json_object *nsd_disconnect(struct nsd *d, const char *what);

#endif
