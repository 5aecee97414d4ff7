/* Requests in flight, retransmission and failover: see radius_client.h. */
#include "eap/radius_client.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "util/log.h"

#define SLOTS 256

struct pending {
    bool used;
    uint64_t ike_sa_id;
    uint8_t req_auth[NS_RADIUS_AUTH_LEN];
    uint8_t *pkt; /* the request as sent, for the retries */
    size_t len;
    unsigned server;       /* where it goes now */
    unsigned tries;        /* sends to that server so far */
    unsigned servers_done; /* servers given up on */
    uint64_t due;          /* the next retry or failover */
};

struct ns_radius_client {
    struct ns_radius_client_cfg cfg;
    struct ns_radius_client_ops ops;
    uint8_t secret[NS_RADIUS_SECRET_MAX];
    char nas_id[NS_RADIUS_ATTR_MAX + 1];
    unsigned cur;
    unsigned next_id;
    unsigned in_flight;
    struct ns_radius_server_stats stats[NS_RADIUS_MAX_SERVERS];
    uint64_t gave_up;
    struct pending p[SLOTS];
};

struct ns_radius_client *ns_radius_client_new(const struct ns_radius_client_cfg *cfg,
                                              const struct ns_radius_client_ops *ops)
{
    if (!cfg || !ops || !ops->send || !ops->done || cfg->n_servers == 0 ||
        cfg->n_servers > NS_RADIUS_MAX_SERVERS || cfg->tries == 0 || cfg->timeout_ms == 0 ||
        cfg->secret_len == 0 || cfg->secret_len > NS_RADIUS_SECRET_MAX ||
        (cfg->nas_id && strlen(cfg->nas_id) > NS_RADIUS_ATTR_MAX))
        return NULL;
    struct ns_radius_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->ops = *ops;
    memcpy(c->secret, cfg->secret, cfg->secret_len);
    c->cfg.secret = c->secret;
    if (cfg->nas_id)
        snprintf(c->nas_id, sizeof(c->nas_id), "%s", cfg->nas_id);
    c->cfg.nas_id = c->nas_id;
    c->next_id = 0;
    return c;
}

static void release(struct ns_radius_client *c, struct pending *p)
{
    free(p->pkt);
    memset(p, 0, sizeof(*p));
    c->in_flight--;
}

void ns_radius_client_free(struct ns_radius_client *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < SLOTS; i++)
        if (c->p[i].used)
            release(c, &c->p[i]);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static struct pending *find(struct ns_radius_client *c, uint64_t ike_sa_id)
{
    for (unsigned i = 0; i < SLOTS; i++)
        if (c->p[i].used && c->p[i].ike_sa_id == ike_sa_id)
            return &c->p[i];
    return NULL;
}

void ns_radius_client_cancel(struct ns_radius_client *c, uint64_t ike_sa_id)
{
    struct pending *p = find(c, ike_sa_id);
    if (p)
        release(c, p);
}

/* A free Identifier, round robin so that a late answer to an old request
 * rarely meets a new one with its number; -1 when all are in use. */
static int free_id(struct ns_radius_client *c)
{
    for (unsigned k = 0; k < SLOTS; k++) {
        unsigned id = (c->next_id + k) % SLOTS;
        if (!c->p[id].used) {
            c->next_id = (id + 1) % SLOTS;
            return (int)id;
        }
    }
    return -1;
}

static void send_now(struct ns_radius_client *c, struct pending *p, uint64_t now_ms)
{
    p->tries++;
    p->due = now_ms + c->cfg.timeout_ms;
    c->stats[p->server].sent++;
    c->ops.send(c->ops.ctx, p->server, p->pkt, p->len);
}

int ns_radius_client_start(struct ns_radius_client *c, const struct ns_eapb_request *rq,
                           uint64_t now_ms)
{
    ns_radius_client_cancel(c, rq->ike_sa_id);
    /* 255 at most: one Identifier stays free, so an answer to a request
     * just given up cannot be taken for the next one at once. */
    int id = c->in_flight < SLOTS - 1 ? free_id(c) : -1;
    if (id < 0)
        return -1;
    struct pending *p = &c->p[id];
    uint8_t buf[NS_RADIUS_MAX_PACKET];
    struct ns_writer w;
    ns_writer_init(&w, buf, sizeof(buf));
    if (ns_random_bytes(p->req_auth, sizeof(p->req_auth)) != 0 ||
        ns_radius_build_request(&w, (uint8_t)id, p->req_auth, rq, c->nas_id, c->secret,
                                c->cfg.secret_len) != 0 ||
        !(p->pkt = malloc(ns_writer_len(&w)))) {
        memset(p, 0, sizeof(*p));
        return -1;
    }
    p->used = true;
    c->in_flight++;
    p->len = ns_writer_len(&w);
    memcpy(p->pkt, buf, p->len);
    p->ike_sa_id = rq->ike_sa_id;
    p->server = c->cur;
    p->tries = 0;
    p->servers_done = 0;
    send_now(c, p, now_ms);
    return 0;
}

void ns_radius_client_input(struct ns_radius_client *c, unsigned server, const uint8_t *pkt,
                            size_t len, uint64_t now_ms)
{
    (void)now_ms;
    int id = ns_radius_answer_id(pkt, len);
    if (server >= c->cfg.n_servers)
        return;
    if (id < 0 || !c->p[id].used) {
        c->stats[server].dropped++;
        NS_DBG("radius: dropped a datagram from server %u: no request of ours", server + 1);
        return;
    }
    struct pending *p = &c->p[id];
    struct ns_eapb_answer a;
    if (ns_radius_parse_answer(pkt, len, (uint8_t)id, p->req_auth, c->secret, c->cfg.secret_len,
                               &a) != 0) {
        c->stats[server].dropped++;
        NS_WARN("radius: dropped an answer from server %u: %s", server + 1, a.why);
        OPENSSL_cleanse(&a, sizeof(a));
        return;
    }
    uint64_t ike_sa_id = p->ike_sa_id;
    c->stats[server].answers++;
    c->cur = server;
    release(c, p);
    c->ops.done(c->ops.ctx, ike_sa_id, &a);
    OPENSSL_cleanse(&a, sizeof(a));
}

/* A request that waited long enough at its server: once more, the next
 * server, or the end. */
static void expire(struct ns_radius_client *c, struct pending *p, uint64_t now_ms)
{
    c->stats[p->server].timeouts++;
    if (p->tries < c->cfg.tries) {
        send_now(c, p, now_ms);
        return;
    }
    unsigned gone = p->server;
    if (c->cur == gone)
        c->cur = (gone + 1) % c->cfg.n_servers;
    if (++p->servers_done < c->cfg.n_servers) {
        NS_WARN("radius: server %u did not answer %u tries of %llu ms; trying server %u", gone + 1,
                p->tries, (unsigned long long)c->cfg.timeout_ms, (gone + 1) % c->cfg.n_servers + 1);
        p->server = (gone + 1) % c->cfg.n_servers;
        p->tries = 0;
        send_now(c, p, now_ms);
        return;
    }
    struct ns_eapb_answer a;
    memset(&a, 0, sizeof(a));
    a.verdict = NS_EAPB_UNREACHABLE;
    snprintf(a.why, sizeof(a.why), "no RADIUS server answered (%u tried, %u tries of %llu ms each)",
             c->cfg.n_servers, c->cfg.tries, (unsigned long long)c->cfg.timeout_ms);
    uint64_t ike_sa_id = p->ike_sa_id;
    release(c, p);
    c->gave_up++;
    c->ops.done(c->ops.ctx, ike_sa_id, &a);
}

void ns_radius_client_tick(struct ns_radius_client *c, uint64_t now_ms)
{
    for (unsigned i = 0; i < SLOTS; i++)
        if (c->p[i].used && c->p[i].due <= now_ms)
            expire(c, &c->p[i], now_ms);
}

uint64_t ns_radius_client_next_wakeup(const struct ns_radius_client *c)
{
    uint64_t t = NS_RADIUS_NEVER;
    for (unsigned i = 0; i < SLOTS && c->in_flight; i++)
        if (c->p[i].used && c->p[i].due < t)
            t = c->p[i].due;
    return t;
}

unsigned ns_radius_client_current(const struct ns_radius_client *c)
{
    return c->cur;
}

unsigned ns_radius_client_in_flight(const struct ns_radius_client *c)
{
    return c->in_flight;
}

void ns_radius_client_stats(const struct ns_radius_client *c, unsigned server,
                            struct ns_radius_server_stats *out)
{
    static const struct ns_radius_server_stats none;
    *out = server < c->cfg.n_servers ? c->stats[server] : none;
}

uint64_t ns_radius_client_gave_up(const struct ns_radius_client *c)
{
    return c->gave_up;
}
