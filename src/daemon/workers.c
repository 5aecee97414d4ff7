/* Data-plane workers (workers > 1; docs/design.md, threads): N threads,
 * each with its own NAT-T socket of a SO_REUSEPORT group, its own raw ESP
 * sockets and its own queue of the multi-queue TUN device: inbound ESP
 * from its sockets to the next worker's queue (dataplane.c, nsd_rx_natt,
 * nsd_rx_raw) and outbound from its own queue to its socket
 * (dataplane_tx.c). The kernel picks the NAT-T socket by a hash of the
 * datagram's 4-tuple, so one client's ESP reaches one worker while the
 * group stays the same; every raw socket sees every plain ESP packet, and
 * a socket filter keeps for worker i those whose SPI modulo N is i
 * (ns_raw_esp_steer), so one SA's packets reach one worker. The kernel
 * picks the TUN queue of a flow's replies by the queue its packets were
 * written on: the next worker's, so a tunnel's two directions run on two
 * threads.
 *
 * What only the main thread may do (the IKE engine) reaches it through a
 * bounded queue: IKE datagrams that arrived on a worker's socket, and the
 * reports of authentic ESP (a peer's move, R4, and liveness at most once
 * a second per IKE SA and worker). A worker copies them in under the
 * queue's mutex and wakes the main loop with an eventfd when the queue was
 * empty; the main loop empties it holding sad_lock exclusive. Nothing of
 * it is per ESP packet. A worker that queued a move waits, holding no part
 * of sad_lock, until the main thread has made it, before the batch goes
 * to TUN: the reply to a packet from a new address must find its SA moved
 * (R4), as with workers = 1.
 *
 * Each worker holds its part of sad_lock (sadlock.c) shared per batch.
 * Worker 0 uses the descriptors natsecd opened (d->natt, d->tun), the
 * others open theirs here; all of them start with everything in place, and
 * the group of sockets does not change until they stop. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "daemon/tcp.h"
#include "util/log.h"
#include "util/time.h"

/* Messages waiting for the main thread: IKE that arrived on the workers'
 * sockets, reports at most one a second per IKE SA and worker (and a move
 * per NAT rebinding). The queue takes over what the NAT-T socket's buffer
 * would hold with workers = 1: in a restart storm the main thread is busy
 * with key exchanges for a while, and thousands of liveness checks and
 * IKE_AUTHs a second arrive meanwhile. So it holds up to HANDOFF_MAX
 * entries and HANDOFF_BYTES of IKE (each message copied to its own
 * allocation, freed once handled); beyond either it drops and counts
 * (IKE retransmits). */
#define HANDOFF_MAX 16384
#define HANDOFF_BYTES NSD_SOCK_BUFFER

enum handoff_kind { HANDOFF_IKE, HANDOFF_MOVE, HANDOFF_ACTIVITY };

struct handoff {
    enum handoff_kind kind;
    uint64_t ike_sa_id;
    struct ns_endpoint local, from;
    size_t len;
    uint8_t *buf; /* HANDOFF_IKE: len bytes of its own, freed once handled */
};

struct nsd_worker {
    struct nsd_workers *ws;
    unsigned id;
    pthread_t thread;
    bool running;
    int epfd;
    struct ns_tun tun;     /* its TUN queue; worker 0: d->tun's */
    struct ns_udp natt;    /* its socket; worker 0: d->natt's */
    struct ns_raw_esp raw; /* its raw ESP sockets, steered; worker 0: d->raw's */
    bool own_fds;          /* tun, natt and raw opened here */
    uint64_t move_ticket; /* ws->queued after its last move queued; 0: none */
    pthread_rwlock_t *lock;
    struct nsd_counters cnt;
    struct nsd_slot slot[NS_NET_BATCH_MAX];
    struct nsd_rx rx;
    struct nsd_tx *tx;
    struct ns_tun_writer tun_out;
};

struct nsd_workers {
    struct nsd *d;
    unsigned n;
    struct nsd_worker **w;
    atomic_bool stop;
    int stopfd; /* eventfd, written once by stop; in every worker's epoll */
    int wakefd; /* eventfd in the main loop: the queue has something */
    pthread_mutex_t qlock;
    struct handoff q[HANDOFF_MAX];
    unsigned head, count;
    size_t bytes;     /* of the IKE messages queued, under qlock */
    uint64_t dropped; /* under qlock */
    /* Entries ever queued and ever handled, under qlock; handled is
     * broadcast as the main thread finishes entries (nsd_worker_await). */
    uint64_t queued, done;
    pthread_cond_t handled;
    bool cond_ok; /* handled initialised */
};

unsigned nsd_workers_count(const struct ns_conf *c)
{
    return ns_conf_workers_resolve(c->workers, sysconf(_SC_NPROCESSORS_ONLN));
}

pthread_rwlock_t *nsd_worker_lock(struct nsd_worker *w)
{
    return w->lock;
}

/* ---- the queue to the main thread ---- */

/* An entry to fill in, with bytes of IKE counted, or NULL (counted) when
 * the queue is full. */
static struct handoff *queue_reserve(struct nsd_workers *ws, size_t bytes)
{
    pthread_mutex_lock(&ws->qlock);
    if (ws->count == HANDOFF_MAX || ws->bytes + bytes > HANDOFF_BYTES) {
        ws->dropped++;
        pthread_mutex_unlock(&ws->qlock);
        return NULL;
    }
    ws->bytes += bytes;
    return &ws->q[(ws->head + ws->count) % HANDOFF_MAX];
}

/* After queue_reserve's entry is filled in: it counts, and the main
 * thread is woken when it is the first. Returns the entry's ticket (the
 * number of entries queued with it). */
static uint64_t queue_commit(struct nsd_workers *ws)
{
    bool first = ws->count++ == 0;
    uint64_t ticket = ++ws->queued;
    pthread_mutex_unlock(&ws->qlock);
    uint64_t one = 1;
    if (first && write(ws->wakefd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        NS_DBG("workers: cannot wake the main thread: %s", strerror(errno));
    return ticket;
}

void nsd_worker_ike(struct nsd_worker *w, const struct ns_endpoint *local,
                    const struct ns_endpoint *from, const uint8_t *msg, size_t len)
{
    struct nsd_workers *ws = w->ws;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        pthread_mutex_lock(&ws->qlock);
        ws->dropped++;
        pthread_mutex_unlock(&ws->qlock);
        return;
    }
    memcpy(copy, msg, len);
    struct handoff *h = queue_reserve(ws, len);
    if (!h) {
        free(copy);
        return;
    }
    h->kind = HANDOFF_IKE;
    h->local = *local;
    h->from = *from;
    h->len = len;
    h->buf = copy;
    (void)queue_commit(ws);
}

void nsd_worker_report(struct nsd_worker *w, uint64_t ike_sa_id, const struct ns_endpoint *local,
                       const struct ns_endpoint *from, bool move)
{
    struct handoff *h = queue_reserve(w->ws, 0);
    if (!h)
        return;
    h->kind = move ? HANDOFF_MOVE : HANDOFF_ACTIVITY;
    h->ike_sa_id = ike_sa_id;
    h->local = *local;
    h->from = *from;
    h->len = 0;
    uint64_t ticket = queue_commit(w->ws);
    if (move)
        w->move_ticket = ticket;
}

bool nsd_worker_await(struct nsd_worker *w)
{
    if (!w->move_ticket)
        return true;
    struct nsd_workers *ws = w->ws;
    pthread_mutex_lock(&ws->qlock);
    while (ws->done < w->move_ticket && !atomic_load(&ws->stop))
        pthread_cond_wait(&ws->handled, &ws->qlock);
    pthread_mutex_unlock(&ws->qlock);
    w->move_ticket = 0;
    return !atomic_load(&ws->stop);
}

/* The main loop's callback (guarded: sad_lock exclusive): what the workers
 * queued, oldest first. An entry stays reserved while it is handled, so
 * the workers go on queueing behind it. */
static void on_wake(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct nsd_workers *ws = arg;
    struct nsd *d = ws->d;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        NS_DBG("workers: eventfd read: %s", strerror(errno));
    uint64_t now_ms = ns_loop_now_ms(loop);
    bool engine_called = false;
    for (;;) {
        pthread_mutex_lock(&ws->qlock);
        struct handoff *h = ws->count ? &ws->q[ws->head] : NULL;
        pthread_mutex_unlock(&ws->qlock);
        if (!h)
            break;
        switch (h->kind) {
        case HANDOFF_IKE:
            if (!nsd_tcp_udp_ike(d, &h->local, &h->from, h->buf, h->len)) {
                ns_ike_engine_input(d->engine, &h->local, &h->from, h->buf, h->len, now_ms);
                engine_called = true;
            }
            break;
        case HANDOFF_MOVE:
            ns_ike_engine_esp_from(d->engine, h->ike_sa_id, &h->local, &h->from, now_ms);
            engine_called = true;
            break;
        case HANDOFF_ACTIVITY:
            ns_ike_engine_esp_activity(d->engine, h->ike_sa_id, now_ms);
            engine_called = true;
            break;
        }
        size_t bytes = 0;
        if (h->kind == HANDOFF_IKE) {
            bytes = h->len;
            free(h->buf);
            h->buf = NULL;
        }
        pthread_mutex_lock(&ws->qlock);
        ws->bytes -= bytes;
        ws->head = (ws->head + 1) % HANDOFF_MAX;
        ws->count--;
        ws->done++;
        pthread_cond_broadcast(&ws->handled);
        pthread_mutex_unlock(&ws->qlock);
    }
    if (engine_called)
        nsd_engine_rearm(d);
}

/* ---- the threads ---- */

enum { EV_TUN, EV_NATT, EV_RAW, EV_STOP };

static void *worker_main(void *arg)
{
    struct nsd_worker *w = arg;
    struct nsd_workers *ws = w->ws;
    while (!atomic_load(&ws->stop)) {
        struct epoll_event ev[5];
        int n = epoll_wait(w->epfd, ev, 5, -1);
        if (n < 0 && errno != EINTR) {
            NS_ERR("worker %u: epoll_wait: %s; its packets stop", w->id, strerror(errno));
            break;
        }
        for (int i = 0; i < n && !atomic_load(&ws->stop); i++) {
            if (ev[i].data.u32 == EV_NATT)
                nsd_rx_natt(&w->rx, &w->natt);
            else if (ev[i].data.u32 == EV_RAW)
                nsd_rx_raw(&w->rx, &w->raw);
            else if (ev[i].data.u32 == EV_TUN)
                nsd_tx_run(w->tx);
        }
    }
    return NULL;
}

/* Worker i's descriptors, buffers, paths and epoll; n workers in all. */
static int worker_setup(struct nsd_workers *ws, struct nsd_worker *w, unsigned i, unsigned n)
{
    struct nsd *d = ws->d;
    w->ws = ws;
    w->id = i;
    w->epfd = -1;
    w->lock = nsd_sad_lock_part(d, i);
    if (i == 0) {
        w->tun = d->tun;
        w->tun.write_errors = 0;
        w->natt = d->natt; /* its GRO state too: the main thread never receives on it */
        w->raw = d->raw;   /* to receive; the threads that send copy d->raw too */
        w->raw.bad_headers = 0;
    } else {
        struct ns_addr group =
            d->conf.listen_dual ? (struct ns_addr){0} : nsd_listen_addr(&d->conf);
        if (ns_tun_open(&w->tun, d->tun.name, true) != 0)
            return -1;
        w->own_fds = true;
        w->natt.fd = w->raw.fd = w->raw.fd6 = -1;
        w->tun.offload = d->tun.offload; /* the device's, set on queue 0 */
        w->tun.uso_write = d->tun.uso_write;
        if (ns_udp_open_group(&w->natt, &group, d->conf.natt_port, d->conf.fwmark) != 0)
            return -1;
        ns_sock_set_buffers(w->natt.fd, NSD_SOCK_BUFFER);
        nsd_natt_offloads(d, &w->natt);
        if (nsd_raw_open(d, &w->raw) != 0)
            return -1;
    }
    if (ns_raw_esp_steer(&w->raw, n, i) != 0)
        return -1;
    if (nsd_slots_alloc(w->slot, d->slot_cap, "a worker's") != 0)
        return -1;
    w->rx = (struct nsd_rx){.d = d,
                            .worker = w,
                            .tun = &w->tun,
                            .cnt = &w->cnt,
                            .slot = w->slot,
                            .tun_out = &w->tun_out};
    w->tx = nsd_tx_new(d, &w->tun, &w->natt, w->lock);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!w->tx || w->epfd < 0) {
        NS_ERR("worker %u: epoll: %s", i, strerror(errno));
        return -1;
    }
    struct epoll_event tun = {.events = EPOLLIN, .data.u32 = EV_TUN};
    struct epoll_event natt = {.events = EPOLLIN, .data.u32 = EV_NATT};
    struct epoll_event stop = {.events = EPOLLIN, .data.u32 = EV_STOP};
    struct epoll_event raw = {.events = EPOLLIN, .data.u32 = EV_RAW};
    struct epoll_event raw6 = raw;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tun.fd, &tun) != 0 ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->natt.fd, &natt) != 0 ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->raw.fd, &raw) != 0 ||
        (w->raw.fd6 >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->raw.fd6, &raw6) != 0) ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, ws->stopfd, &stop) != 0) {
        NS_ERR("worker %u: epoll_ctl: %s", i, strerror(errno));
        return -1;
    }
    return 0;
}

static void worker_free(struct nsd_worker *w)
{
    if (!w)
        return;
    nsd_tx_free(w->tx);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->own_fds) {
        ns_tun_close(&w->tun);
        ns_udp_close(&w->natt);
        ns_raw_esp_close(&w->raw);
    }
    for (unsigned k = 0; k < NS_NET_BATCH_MAX; k++)
        free(w->slot[k].buf);
    free(w);
}

/* Starts worker w with every signal blocked: SIGTERM and SIGINT must reach
 * the main loop's signalfd. */
static int worker_start(struct nsd_worker *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        NS_ERR("cannot start worker %u: %s", w->id, strerror(rc));
        return -1;
    }
    w->running = true;
    char name[16];
    snprintf(name, sizeof(name), "natsecd-w%u", w->id);
    (void)pthread_setname_np(w->thread, name);
    return 0;
}

static int queue_setup(struct nsd_workers *ws)
{
    int rc = pthread_mutex_init(&ws->qlock, NULL);
    if (rc != 0) {
        NS_ERR("workers: mutex: %s", strerror(rc));
        return -1;
    }
    rc = pthread_cond_init(&ws->handled, NULL);
    if (rc != 0) {
        NS_ERR("workers: condition variable: %s", strerror(rc));
        return -1;
    }
    ws->cond_ok = true;
    ws->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ws->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ws->stopfd < 0 || ws->wakefd < 0) {
        NS_ERR("workers: eventfd: %s", strerror(errno));
        return -1;
    }
    return ns_loop_add(ws->d->loop, ws->wakefd, EPOLLIN, on_wake, ws);
}

int nsd_workers_start(struct nsd *d)
{
    unsigned n = nsd_workers_count(&d->conf);
    struct nsd_workers *ws = calloc(1, sizeof(*ws));
    if (!ws || !(ws->w = calloc(n, sizeof(*ws->w)))) {
        free(ws);
        NS_ERR("out of memory for the data-plane workers");
        return -1;
    }
    ws->d = d;
    ws->stopfd = ws->wakefd = -1;
    atomic_init(&ws->stop, false);
    d->workers = ws;
    if (queue_setup(ws) != 0 || nsd_sad_lock_init(d, n) != 0)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        ws->w[i] = calloc(1, sizeof(*ws->w[i]));
        if (!ws->w[i]) {
            NS_ERR("out of memory for worker %u", i);
            return -1;
        }
        ws->n = i + 1;
        if (worker_setup(ws, ws->w[i], i, n) != 0)
            return -1;
    }
    /* Worker i writes what it decrypts to the next worker's TUN queue. The
     * kernel sends a flow's replies to the queue its packets were last
     * written on, so the outbound direction of a tunnel runs on worker
     * i + 1 while the inbound one runs on worker i: one tunnel uses two
     * cores, as with workers = 1 (the outbound thread beside the main
     * one), instead of running both directions on one. Each queue's
     * struct is thus written by one worker only (its write_errors). */
    for (unsigned i = 0; i < n; i++)
        ws->w[i]->rx.tun = &ws->w[(i + 1) % n]->tun;
    for (unsigned i = 0; i < n; i++)
        if (worker_start(ws->w[i]) != 0)
            return -1;
    NS_INFO("data plane: %u workers, each with its own NAT-T socket, raw ESP sockets and TUN queue",
            n);
    return 0;
}

void nsd_workers_stop(struct nsd *d)
{
    struct nsd_workers *ws = d->workers;
    if (!ws)
        return;
    atomic_store(&ws->stop, true);
    uint64_t one = 1;
    if (ws->stopfd >= 0 && write(ws->stopfd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        NS_ERR("workers: cannot signal stop: %s", strerror(errno));
    if (ws->cond_ok) { /* a worker waiting for a move it queued */
        pthread_mutex_lock(&ws->qlock);
        pthread_cond_broadcast(&ws->handled);
        pthread_mutex_unlock(&ws->qlock);
    }
    /* A batch waiting for its part of sad_lock finishes; then they stop. */
    nsd_sad_hold(d, NSD_HOLD_NONE);
    for (unsigned i = 0; i < ws->n; i++)
        if (ws->w[i]->running)
            pthread_join(ws->w[i]->thread, NULL);
    nsd_sad_lock_fini(d);
    for (unsigned i = 0; i < ws->n; i++)
        worker_free(ws->w[i]);
    free(ws->w);
    if (ws->wakefd >= 0) {
        ns_loop_remove(d->loop, ws->wakefd);
        close(ws->wakefd);
    }
    if (ws->stopfd >= 0)
        close(ws->stopfd);
    if (ws->cond_ok)
        pthread_cond_destroy(&ws->handled);
    pthread_mutex_destroy(&ws->qlock);
    for (unsigned i = 0; i < HANDOFF_MAX; i++)
        free(ws->q[i].buf); /* entries still queued at stop */
    free(ws);
    d->workers = NULL;
}

/* ---- counters ---- */

void nsd_workers_rx_counters(const struct nsd *d, struct nsd_counters *c)
{
    const struct nsd_workers *ws = d->workers;
    for (unsigned i = 0; ws && i < ws->n; i++) {
        const struct nsd_counters *w = &ws->w[i]->cnt;
        c->keepalives_rx += w->keepalives_rx;
        c->natt_invalid += w->natt_invalid;
        c->not_listened += w->not_listened;
        c->truncated += w->truncated;
        c->raw_bad_header += w->raw_bad_header;
        c->tun_tx += w->tun_tx;
        c->esp_rx += w->esp_rx;
        c->ike_rx += w->ike_rx;
        c->send_blocked += w->send_blocked;
        c->tun_tcp_supers += w->tun_tcp_supers;
        c->tun_udp_supers += w->tun_udp_supers;
    }
}

void nsd_workers_tx_counters(const struct nsd *d, struct nsd_tx_counters *c)
{
    const struct nsd_workers *ws = d->workers;
    for (unsigned i = 0; ws && i < ws->n; i++)
        if (ws->w[i]->tx)
            nsd_tx_add_counters(ws->w[i]->tx, c);
}

uint64_t nsd_workers_tun_write_errors(const struct nsd *d)
{
    const struct nsd_workers *ws = d->workers;
    uint64_t n = 0;
    for (unsigned i = 0; ws && i < ws->n; i++)
        n += ws->w[i]->tun.write_errors;
    return n;
}

unsigned nsd_workers_n(const struct nsd *d)
{
    return d->workers ? d->workers->n : 0;
}

void nsd_worker_counters(const struct nsd *d, unsigned i, struct nsd_counters *rx,
                         struct nsd_tx_counters *tx)
{
    const struct nsd_worker *w = d->workers->w[i];
    *rx = w->cnt;
    memset(tx, 0, sizeof(*tx));
    if (w->tx)
        nsd_tx_add_counters(w->tx, tx);
}

uint64_t nsd_workers_handoff_dropped(struct nsd *d)
{
    struct nsd_workers *ws = d->workers;
    if (!ws)
        return 0;
    pthread_mutex_lock(&ws->qlock);
    uint64_t n = ws->dropped;
    pthread_mutex_unlock(&ws->qlock);
    return n;
}
