/* A client's automatic reconnection (X2): when the gateway stopped
 * answering (a liveness check or any request given up: it crashed or
 * restarted, or the path is gone), when the gateway deleted the IKE SA (it
 * was stopped or restarted gracefully, or an administrator there closed
 * the connection), when a lifetime ran out without a re-key, or when the
 * connect at start-up could not even start, the client tries again after a
 * back-off that starts at about 1 s and doubles up to 30 s, each delay
 * drawn at random between half and all of it (util/backoff.h), so that
 * thousands of clients of a gateway that restarts do not all come back in
 * the same instant; it keeps trying, whatever the attempts end with, until a
 * connection is up or an administrator says "down". A gateway that proved
 * itself (its AUTH verified) and then refuses (the CHILD_SA, a re-key)
 * means it: no retry then. A refusal it did not authenticate (an
 * unprotected IKE_SA_INIT answer, AUTHENTICATION_FAILED without its AUTH)
 * may be forged, and is retried (ns_ike_down_retry).
 *
 * The back-off starts again at 1 s only after a connection that lasted
 * RECONNECT_STABLE_MS: a gateway that accepts and then deletes at once
 * (two clients sharing an identity that it replaces in turn) sees this
 * client at most every 15-30 s, not every second.
 *
 * The engine's client_down hook may not call back into the engine, so it
 * only arms this timer; the connect happens from the event loop. The
 * state is struct nsd_reconnect (natsecd.h). */
#include "crypto/rand.h"
#include "daemon/natsecd.h"
#include "util/backoff.h"
#include "util/log.h"

#define RECONNECT_STABLE_MS 30000 /* a connection this long resets the back-off */

static bool has_connection(const struct nsd *d)
{
    struct ns_ike_counters c;
    ns_ike_engine_counters(d->engine, &c);
    return c.ike_sas > 0;
}

static void on_timer(struct ns_timer *t, void *arg)
{
    (void)t;
    struct nsd *d = arg;
    const struct nsd_reconnect *rc = &d->reconnect;
    if (!d->engine || has_connection(d))
        return; /* connected meanwhile ("natsecctl up") */
    NS_INFO("reconnect: attempt %u", rc->attempt);
    if (nsd_client_connect(d) != 0 && !has_connection(d))
        nsd_reconnect_schedule(d); /* no route yet, no SPI: later */
}

void nsd_reconnect_schedule(struct nsd *d)
{
    struct nsd_reconnect *rc = &d->reconnect;
    if (d->conf.role != NS_CONF_CLIENT || !d->loop)
        return;
    if (!rc->init) {
        ns_timer_init(&rc->timer, on_timer, d);
        rc->init = true;
    }
    rc->retrying = true;
    uint64_t ms = ns_backoff_ms(rc->attempt, ns_random_u64());
    rc->attempt++;
    NS_INFO("reconnect: next attempt in %llu ms", (unsigned long long)ms);
    ns_loop_timer_arm(d->loop, &rc->timer, ms);
}

void nsd_reconnect_down(struct nsd *d, enum ns_ike_down_reason why)
{
    struct nsd_reconnect *rc = &d->reconnect;
    if (why == NS_IKE_DOWN_LOCAL && rc->after_reload) {
        rc->after_reload = false;
        rc->attempt = 0;
        rc->up = false;
        NS_INFO("reconnect: with the reloaded configuration");
        nsd_reconnect_schedule(d);
        return;
    }
    if (why == NS_IKE_DOWN_LOCAL) {
        nsd_reconnect_stop(d); /* an administrator's "down", or the daemon stopping */
        return;
    }
    if (rc->up && d->loop && ns_loop_now_ms(d->loop) - rc->up_ms >= RECONNECT_STABLE_MS)
        rc->attempt = 0;
    rc->up = false;
    if (ns_ike_down_retry(why) || rc->retrying) {
        nsd_reconnect_schedule(d);
        return;
    }
    NS_INFO("reconnect: not trying again (%s); 'natsecctl up' does", ns_ike_down_reason_str(why));
}

void nsd_reconnect_up(struct nsd *d)
{
    struct nsd_reconnect *rc = &d->reconnect;
    rc->retrying = false;
    rc->up = true;
    rc->up_ms = d->loop ? ns_loop_now_ms(d->loop) : 0;
}

void nsd_reconnect_stop(struct nsd *d)
{
    struct nsd_reconnect *rc = &d->reconnect;
    if (rc->init && d->loop)
        ns_loop_timer_cancel(d->loop, &rc->timer);
    rc->attempt = 0;
    rc->retrying = false;
    rc->up = false;
}

void nsd_reconnect_after_reload(struct nsd *d)
{
    d->reconnect.after_reload = true;
}
