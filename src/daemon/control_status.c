/* The status answer streamed over a control connection (control.c):
 * with 100,000 IKE SAs the JSON is some 150 MB and takes seconds to
 * build, so it is written in parts of NSD_CTL_STEP SAs, and control.c
 * returns to the event loop after each part (the loop is level-triggered:
 * a connection that can take more is called again on the next round,
 * after every other ready socket). The IKE thread serves between the parts
 * and the memory held is one part's, whatever the number of SAs.
 *
 * The answer is the same JSON object as one built at once: the head's
 * members, "ike_sas": [ ... ], then the tail's (counters, tcp, radius).
 * The SAs are those that existed at the request and still exist at their
 * turn (ns_ike_engine_sa_refs); the counters are those of the end. */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"

/* Appends len bytes to c->out, growing it. */
static int put(struct nsd_ctl_conn *c, const char *s, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 65536;
        while (cap < c->out_len + len)
            cap *= 2;
        char *b = realloc(c->out, cap);
        if (!b)
            return -1;
        c->out = b;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, len);
    c->out_len += len;
    return 0;
}

/* Appends o's JSON text without its first (skip_open) or last
 * (!skip_open) brace, and drops o. */
static int put_members(struct nsd_ctl_conn *c, json_object *o, bool skip_open)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(s);
    int rc = len >= 2 ? put(c, skip_open ? s + 1 : s, len - 1) : -1;
    json_object_put(o);
    return rc;
}

static void put_sa(void *arg, const struct ns_ike_sa_status *st)
{
    struct nsd_ctl_conn *c = arg;
    json_object *o = nsd_status_sa_json(c->d, st, c->now_ms);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if ((c->wrote_sa && put(c, ",", 1) != 0) || put(c, s, strlen(s)) != 0)
        c->streaming = false; /* nsd_ctl_status_next reports it */
    c->wrote_sa = true;
    json_object_put(o);
}

int nsd_ctl_status_start(struct nsd_ctl_conn *c)
{
    struct nsd *d = c->d;
    c->out_len = c->out_off = 0;
    c->wrote_sa = false;
    c->next_key = 0;
    c->now_ms = ns_loop_now_ms(d->loop);
    if (ns_ike_engine_sa_refs(d->engine, &c->keys, &c->n_keys) != 0)
        return -1;
    c->streaming = true;
    json_object *head = nsd_status_head(d);
    if (put_members(c, head, false) != 0)
        return -1;
    static const char list[] = ",\"ike_sas\":[";
    return put(c, list, sizeof(list) - 1);
}

int nsd_ctl_status_next(struct nsd_ctl_conn *c)
{
    c->out_len = c->out_off = 0;
    size_t end = c->next_key + NSD_CTL_STEP;
    for (; c->next_key < c->n_keys && c->next_key < end && c->streaming; c->next_key++)
        ns_ike_engine_sa_status(c->d->engine, c->keys[c->next_key], put_sa, c);
    if (!c->streaming)
        return -1;
    if (c->next_key < c->n_keys)
        return 0;
    nsd_ctl_status_end(c);
    if (put(c, "],", 2) != 0 || put_members(c, nsd_status_tail(c->d), true) != 0 ||
        put(c, "\n", 1) != 0)
        return -1;
    return 0;
}

void nsd_ctl_status_end(struct nsd_ctl_conn *c)
{
    free(c->keys);
    c->keys = NULL;
    c->n_keys = c->next_key = 0;
    c->streaming = false;
}
