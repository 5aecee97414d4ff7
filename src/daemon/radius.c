/* natsecd's RADIUS I/O for EAP pass-through (eap_backend = radius, X16):
 * one connected UDP socket per configured server, polled by the event
 * loop like every other socket, and a timer at the RADIUS client's next
 * retry; nothing here waits. The engine hands a client's EAP packet out
 * through ops->eap_backend and gets the server's answer back through
 * ns_ike_engine_eap_answer, on a later round of the loop, so one slow or
 * dead server delays only the logins waiting for it. The policy (retries,
 * failover) is eap/radius_client.h's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "eap/radius_client.h"
#include "util/log.h"

struct nsd_radius {
    struct nsd *d;
    struct ns_radius_client *client;
    struct ns_udp sock[NS_CONF_MAX_RADIUS];
    unsigned n;
    struct ns_timer timer;
};

static void rearm(struct nsd_radius *r)
{
    uint64_t t = ns_radius_client_next_wakeup(r->client);
    if (t == NS_RADIUS_NEVER)
        ns_loop_timer_cancel(r->d->loop, &r->timer);
    else
        ns_loop_timer_arm_at(r->d->loop, &r->timer, t);
}

static void op_send(void *ctx, unsigned server, const uint8_t *pkt, size_t len)
{
    struct nsd_radius *r = ctx;
    if (send(r->sock[server].fd, pkt, len, 0) < 0)
        NS_DBG("radius: send to server %u: %s", server + 1, strerror(errno));
}

static void op_done(void *ctx, uint64_t ike_sa_id, const struct ns_eapb_answer *a)
{
    struct nsd_radius *r = ctx;
    ns_ike_engine_eap_answer(r->d->engine, ike_sa_id, a, ns_loop_now_ms(r->d->loop));
    nsd_engine_rearm(r->d);
}

static void on_timer(struct ns_timer *t, void *arg)
{
    (void)t;
    struct nsd_radius *r = arg;
    ns_radius_client_tick(r->client, ns_loop_now_ms(r->d->loop));
    rearm(r);
}

static void on_readable(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct nsd_radius *r = arg;
    unsigned server = 0;
    while (server < r->n && r->sock[server].fd != fd)
        server++;
    if (server == r->n)
        return;
    uint8_t buf[NS_RADIUS_MAX_PACKET];
    /* A bounded batch: a flood on this socket cannot hold the loop. */
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
        if (n < 0) {
            /* ECONNREFUSED: the server's port is closed (ICMP); the
             * request's timeout moves it on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                NS_DBG("radius: server %u: %s", server + 1, strerror(errno));
            if (errno != EINTR && errno != ECONNREFUSED)
                break;
            continue;
        }
        if ((size_t)n > sizeof(buf))
            continue; /* larger than RADIUS allows */
        ns_radius_client_input(r->client, server, buf, (size_t)n, ns_loop_now_ms(loop));
    }
    rearm(r);
}

int nsd_radius_eap_backend(void *ctx, const struct ns_eapb_request *rq)
{
    struct nsd *d = ctx;
    if (!d->radius)
        return -1;
    int rc = ns_radius_client_start(d->radius->client, rq, ns_loop_now_ms(d->loop));
    rearm(d->radius);
    return rc;
}

void nsd_radius_eap_cancel(void *ctx, uint64_t ike_sa_id)
{
    struct nsd *d = ctx;
    if (!d->radius)
        return;
    ns_radius_client_cancel(d->radius->client, ike_sa_id);
    rearm(d->radius);
}

static int open_server(struct nsd_radius *r, unsigned i)
{
    const struct ns_endpoint *ep = &r->d->conf.radius_server[i];
    struct ns_addr any = {.family = ep->addr.family};
    struct sockaddr_storage ss;
    char a[NS_ENDPOINT_STRLEN];
    if (ns_udp_open(&r->sock[i], &any, 0, r->d->conf.fwmark) != 0)
        return -1;
    socklen_t len = ns_endpoint_to_sockaddr(ep, &ss);
    if (connect(r->sock[i].fd, (struct sockaddr *)&ss, len) != 0 ||
        ns_loop_add(r->d->loop, r->sock[i].fd, EPOLLIN, on_readable, r) != 0) {
        NS_ERR("radius: server %u (%s): %s", i + 1, ns_endpoint_str(ep, a), strerror(errno));
        return -1;
    }
    return 0;
}

int nsd_radius_start(struct nsd *d)
{
    const struct ns_conf *c = &d->conf;
    if (c->eap_backend != NS_CONF_EAP_RADIUS)
        return 0;
    struct nsd_radius *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    d->radius = r;
    r->d = d;
    for (unsigned i = 0; i < NS_CONF_MAX_RADIUS; i++)
        r->sock[i].fd = -1;
    char nas[NS_CONF_ID_STRLEN];
    struct ns_radius_client_cfg cfg = {
        .n_servers = c->n_radius_server,
        .timeout_ms = c->radius_timeout_ms,
        .tries = c->radius_tries,
        .secret = c->radius_secret,
        .secret_len = c->radius_secret_len,
        .nas_id = c->radius_nas_id[0] ? c->radius_nas_id : ns_conf_id_str(&c->local_id, nas),
    };
    struct ns_radius_client_ops ops = {.ctx = r, .send = op_send, .done = op_done};
    r->client = ns_radius_client_new(&cfg, &ops);
    if (!r->client) {
        NS_ERR("radius: cannot set up the RADIUS client");
        return -1;
    }
    ns_timer_init(&r->timer, on_timer, r);
    for (r->n = 0; r->n < c->n_radius_server; r->n++)
        if (open_server(r, r->n) != 0)
            return -1;
    char a[NS_ENDPOINT_STRLEN];
    NS_INFO("radius: EAP goes to %u RADIUS server(s), first %s, %u tries of %u ms each", r->n,
            ns_endpoint_str(&c->radius_server[0], a), c->radius_tries, c->radius_timeout_ms);
    return 0;
}

void nsd_radius_stop(struct nsd *d)
{
    struct nsd_radius *r = d->radius;
    if (!r)
        return;
    if (d->loop)
        ns_loop_timer_cancel(d->loop, &r->timer);
    for (unsigned i = 0; i < NS_CONF_MAX_RADIUS; i++)
        if (r->sock[i].fd >= 0) {
            if (d->loop)
                ns_loop_remove(d->loop, r->sock[i].fd);
            ns_udp_close(&r->sock[i]);
        }
    ns_radius_client_free(r->client);
    free(r);
    d->radius = NULL;
}

json_object *nsd_radius_status_json(struct nsd *d)
{
    struct nsd_radius *r = d->radius;
    if (!r)
        return NULL;
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    for (unsigned i = 0; i < r->n; i++) {
        struct ns_radius_server_stats st;
        char a[NS_ENDPOINT_STRLEN];
        ns_radius_client_stats(r->client, i, &st);
        json_object *s = json_object_new_object();
        json_object_object_add(
            s, "address", json_object_new_string(ns_endpoint_str(&d->conf.radius_server[i], a)));
        json_object_object_add(s, "sent", json_object_new_uint64(st.sent));
        json_object_object_add(s, "answers", json_object_new_uint64(st.answers));
        json_object_object_add(s, "timeouts", json_object_new_uint64(st.timeouts));
        json_object_object_add(s, "dropped", json_object_new_uint64(st.dropped));
        json_object_array_add(list, s);
    }
    json_object_object_add(o, "servers", list);
    json_object_object_add(o, "current",
                           json_object_new_int((int)ns_radius_client_current(r->client) + 1));
    json_object_object_add(o, "in_flight",
                           json_object_new_int((int)ns_radius_client_in_flight(r->client)));
    json_object_object_add(o, "gave_up",
                           json_object_new_uint64(ns_radius_client_gave_up(r->client)));
    return o;
}
