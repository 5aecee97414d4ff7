/* The outbound data path: TUN -> SPD lookup + ESP encap -> UDP natt_port
 * (udp_encap) or raw ESP.
 *
 * With workers = 1 and tx_thread = yes it runs on a thread of its own, so
 * the two directions of a tunnel use two cores; with tx_thread = no, in the
 * main loop as on_tun; with workers > 1, one per worker (workers.c), on its
 * TUN queue and socket. The code is the same every way: tx_batch reads a
 * batch from TUN (ns_tun_batch_read, which cuts TCP super-packets when
 * tun_offload is on), seals each packet and sends them (ns_udp_send, which
 * uses UDP GSO where the kernel has it); no offload branch is here.
 *
 * Lock discipline (natsecd.h): a thread holds its part of sad_lock shared
 * for each batch, from the TUN reads to the last send, and writes only
 * this file's struct nsd_tx (its slots, TUN reader, counters, and its own
 * handles on the NAT-T and raw sockets, whose GSO state and error counts
 * are then its own) and the SAs' per-packet state (esp/sad.h). Everything
 * the main thread reads of those (status, keepalives, re-key decisions) it
 * reads holding sad_lock exclusive. Of struct nsd the thread reads only
 * what is fixed before it starts: conf, the TUN device's offloads, the
 * socket descriptors.
 *
 * Every wakeup moves whole batches (several TUN reads, one sendmmsg each
 * way) in buffers allocated at start: nothing is allocated per packet. */
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
#include "esp/esp.h"
#include "esp/mss.h"
#include "util/log.h"
#include "util/time.h"

/* Batches per wakeup before the loop (or the worker's stop check) has a
 * turn; epoll is level-triggered, so what is left is seen again at once. */
#define TX_ROUNDS 4

struct nsd_tx {
    struct nsd *d;
    struct ns_tun *tun;      /* d->tun, or a worker's queue of it */
    pthread_rwlock_t *lock;  /* its part of sad_lock, taken shared per batch; NULL: none */
    /* d->natt and d->raw with counts (and the NAT-T socket's GSO state) of
     * their own: the main thread sends IKE and keepalives on d->natt. */
    struct ns_udp natt;
    struct ns_raw_esp raw;
    struct nsd_tx_counters cnt;
    /* The slots a batch is read into: own[] with a worker, else d->slot,
     * which the main loop's callbacks share as they run one at a time. */
    struct nsd_slot *slot;
    struct nsd_slot own[NS_NET_BATCH_MAX];

    bool in_loop; /* on_tun in d->loop (no worker) */
    bool threaded;
    pthread_t thread;
    int epfd;   /* the worker's: tun.fd and stopfd */
    int stopfd; /* eventfd, written once by nsd_tx_stop */
    atomic_bool stop;

    /* TUN reads, with the super-packet being cut (tun_offload). */
    struct ns_tun_reader tun_in;
};

/* The thread's share of sad_lock for one batch; nothing without it. */
static void batch_begin(struct nsd_tx *t)
{
    if (t->lock)
        pthread_rwlock_rdlock(t->lock);
}

static void batch_end(struct nsd_tx *t)
{
    if (t->lock)
        pthread_rwlock_unlock(t->lock);
}

static void flush_out(struct nsd_tx *t, struct ns_dgram *udp, unsigned nu, struct ns_dgram *raw,
                      unsigned nr)
{
    if (nu) {
        int sent = ns_udp_send(&t->natt, udp, nu);
        if (sent < 0)
            sent = 0;
        t->cnt.esp_tx += (unsigned)sent;
        t->cnt.send_blocked += nu - (unsigned)sent;
    }
    if (nr) {
        int sent = ns_raw_esp_send(&t->raw, raw, nr);
        if (sent < 0)
            sent = 0;
        t->cnt.esp_tx += (unsigned)sent;
        t->cnt.send_blocked += nr - (unsigned)sent;
    }
}

/* Encapsulates pkt[0..n) (inner IP packets) and sends them. */
static void encap_batch(struct nsd_tx *t, struct ns_pkt *pkt, unsigned n)
{
    struct nsd *d = t->d;
    struct ns_dgram udp[NS_NET_BATCH_MAX], raw[NS_NET_BATCH_MAX];
    uint64_t now_ns = ns_now_ns();
    unsigned nu = 0, nr = 0;
    struct nsd_tcp_batch tb;
    nsd_tcp_batch_init(&tb);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ip = ns_pkt_data(&pkt[i]);
        (void)ns_mss_clamp_mtu(ip, pkt[i].len,
                               nsd_tcp_clamp_mtu(d, nsd_tcp_out_over_tcp(d, ip, pkt[i].len))); /* X11 */
        struct ns_esp_sa *sa = NULL;
        if (ns_esp_output(d->sad, &pkt[i], now_ns, &sa) != NS_ESP_OK)
            continue; /* counted in the SAD by reason */
        if (nsd_tcp_batch_add(d, &tb, sa, ns_pkt_data(&pkt[i]), pkt[i].len))
            continue; /* RFC 8229: this SA's packets go on its TCP connection */
        bool encap = ns_esp_sa_udp_encap(sa);
        struct ns_dgram *o = encap ? &udp[nu++] : &raw[nr++];
        memset(o, 0, sizeof(*o));
        o->data = ns_pkt_data(&pkt[i]);
        o->len = pkt[i].len;
        o->peer = *ns_esp_sa_peer(sa);
        if (!encap)
            o->peer.port = 0;
        const struct ns_endpoint *local = ns_esp_sa_local(sa);
        if (!ns_addr_is_any(&local->addr))
            o->local.addr = local->addr;
    }
    flush_out(t, udp, nu, raw, nr);
    nsd_tcp_batch_flush(d, &tb);
}

_Static_assert(NS_PKT_HEADROOM >= NS_VNET_HDR_LEN, "a TUN read's virtio header fits the head room");

/* The outbound path, one batch: TUN read -> seal -> send. may_read false
 * only finishes a super-packet the last one left (net/tun_batch.h).
 * Returns false when TUN has no more. */
static bool tx_batch(struct nsd_tx *t, bool may_read)
{
    struct ns_dgram in[NS_NET_BATCH_MAX];
    struct ns_pkt pkt[NS_NET_BATCH_MAX];
    nsd_slots_prepare(t->slot, in, pkt);
    struct ns_tun_got got;
    unsigned n = ns_tun_batch_read(&t->tun_in, t->tun, in, NS_NET_BATCH_MAX, may_read, &got);
    t->cnt.tun_rx += got.read;
    t->cnt.truncated += got.truncated;
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (in[i].truncated)
            continue; /* counted by the reader */
        if (i != k)
            pkt[k] = pkt[i];
        pkt[k++].len = in[i].len;
    }
    encap_batch(t, pkt, k);
    return got.more;
}

void nsd_tx_run(struct nsd_tx *t)
{
    for (int round = 0; round < TX_ROUNDS || ns_tun_reader_pending(&t->tun_in); round++) {
        batch_begin(t);
        bool more = tx_batch(t, round < TX_ROUNDS);
        batch_end(t);
        if (!more)
            return;
    }
}

/* Without a worker: the main loop's callback. */
static void on_tun(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    nsd_tx_run(arg);
}

/* The worker: waits for TUN (or the stop event) and runs the batches. */
static void *tx_worker(void *arg)
{
    struct nsd_tx *t = arg;
    while (!atomic_load(&t->stop)) {
        struct epoll_event ev[2];
        int n = epoll_wait(t->epfd, ev, 2, -1);
        if (n < 0 && errno != EINTR) {
            NS_ERR("tx thread: epoll_wait: %s; outbound packets stop", strerror(errno));
            break;
        }
        if (n > 0 && !atomic_load(&t->stop))
            nsd_tx_run(t);
    }
    return NULL;
}

/* Buffers of its own, for a path on a thread of its own. */
static int own_slots(struct nsd_tx *t)
{
    if (nsd_slots_alloc(t->own, t->d->slot_cap, "the outbound path's") != 0)
        return -1;
    t->slot = t->own;
    return 0;
}

/* The worker's own slots, epoll and stop event. */
static int worker_setup(struct nsd_tx *t)
{
    const struct nsd *d = t->d;
    if (own_slots(t) != 0)
        return -1;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->epfd < 0 || t->stopfd < 0) {
        NS_ERR("tx thread: epoll or eventfd: %s", strerror(errno));
        return -1;
    }
    struct epoll_event tun = {.events = EPOLLIN, .data.fd = d->tun.fd};
    struct epoll_event stop = {.events = EPOLLIN, .data.fd = t->stopfd};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, d->tun.fd, &tun) != 0 ||
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->stopfd, &stop) != 0) {
        NS_ERR("tx thread: epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Starts the worker with every signal blocked: SIGTERM and SIGINT must
 * reach the main loop's signalfd, never end the process from here. */
static int worker_start(struct nsd_tx *t)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    t->threaded = true; /* before: the worker reads it */
    int rc = pthread_create(&t->thread, NULL, tx_worker, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        t->threaded = false;
        NS_ERR("cannot start the tx thread: %s", strerror(rc));
        return -1;
    }
    /* So top -H, perf and the tests tell it from the main thread. */
    (void)pthread_setname_np(t->thread, "natsecd-tx");
    return 0;
}

struct nsd_tx *nsd_tx_new(struct nsd *d, struct ns_tun *tun, const struct ns_udp *natt,
                          pthread_rwlock_t *lock)
{
    struct nsd_tx *t = calloc(1, sizeof(*t));
    if (!t) {
        NS_ERR("out of memory for the outbound data path");
        return NULL;
    }
    t->d = d;
    t->tun = tun;
    t->lock = lock;
    t->epfd = t->stopfd = -1;
    atomic_init(&t->stop, false);
    /* After the GSO probe (nsd_dataplane_start): the copy keeps its result. */
    t->natt = *natt;
    t->natt.gro = NULL; /* receiving is someone else's */
    t->natt.send_errors = 0;
    t->raw = d->raw;
    t->raw.send_errors = 0;
    t->slot = d->slot;
    if (lock && own_slots(t) != 0) {
        nsd_tx_free(t);
        return NULL;
    }
    return t;
}

int nsd_tx_start(struct nsd *d)
{
    struct nsd_tx *t = nsd_tx_new(d, &d->tun, &d->natt, NULL);
    if (!t)
        return -1;
    d->tx = t;
    if (!d->conf.tx_thread) {
        if (ns_loop_add(d->loop, d->tun.fd, EPOLLIN, on_tun, t) != 0)
            return -1;
        t->in_loop = true;
        return 0;
    }
    if (worker_setup(t) != 0 || nsd_sad_lock_init(d, 1) != 0)
        return -1;
    t->lock = nsd_sad_lock_part(d, 0);
    if (worker_start(t) != 0) {
        nsd_sad_lock_fini(d);
        return -1;
    }
    NS_DBG("tun %s: outbound packets on their own thread", d->tun.name);
    return 0;
}

void nsd_tx_stop(struct nsd *d)
{
    struct nsd_tx *t = d->tx;
    if (!t)
        return;
    if (t->threaded) {
        atomic_store(&t->stop, true);
        uint64_t one = 1;
        if (write(t->stopfd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            NS_ERR("tx thread: cannot signal stop: %s", strerror(errno));
        /* A batch waiting for sad_lock finishes; then the worker sees stop. */
        nsd_sad_hold(d, NSD_HOLD_NONE);
        pthread_join(t->thread, NULL);
        t->threaded = false;
    } else if (t->in_loop) {
        ns_loop_remove(d->loop, d->tun.fd);
    }
    nsd_sad_lock_fini(d);
    nsd_tx_free(t);
    d->tx = NULL;
}

void nsd_tx_free(struct nsd_tx *t)
{
    if (!t)
        return;
    if (t->epfd >= 0)
        close(t->epfd);
    if (t->stopfd >= 0)
        close(t->stopfd);
    for (unsigned i = 0; i < NS_NET_BATCH_MAX; i++)
        free(t->own[i].buf);
    free(t);
}

void nsd_tx_add_counters(const struct nsd_tx *t, struct nsd_tx_counters *c)
{
    c->tun_rx += t->cnt.tun_rx;
    c->truncated += t->cnt.truncated;
    c->esp_tx += t->cnt.esp_tx;
    c->send_blocked += t->cnt.send_blocked;
    c->send_errors += t->natt.send_errors + t->raw.send_errors;
}

void nsd_tx_counters(const struct nsd *d, struct nsd_tx_counters *c)
{
    memset(c, 0, sizeof(*c));
    if (d->tx)
        nsd_tx_add_counters(d->tx, c);
    nsd_workers_tx_counters(d, c);
}
