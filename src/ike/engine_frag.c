/* IKE fragmentation in the engine (RFC 7383, X5): the notify of
 * IKE_SA_INIT, our SK messages cut into SKF fragments when they would not
 * fit fragment_size, and the peer's fragments put together per IKE SA, per
 * direction, bounded (ike/frag.h).
 *
 * Our fragments of one message are stored and sent as one buffer: the SKF
 * messages one after the other, each delimited by the length in its IKE
 * header (ns_eng_send cuts them apart). So a retransmission, and the
 * answer to a retransmitted request, send the very same fragment
 * datagrams again, and nothing else in the engine knows about them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ike/engine_frag.h"
#include "ike/ike_sa.h"

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40
#define UDP_HDR_LEN 8
#define NON_ESP_MARKER_LEN 4
#define MSG_ID_OFF 20 /* in the IKE header (RFC 7296 3.1) */

static const struct ns_frag_limits limits = {
    .max_frags = NS_FRAG_MAX_FRAGMENTS,
    .max_bytes = NS_FRAG_MAX_BYTES,
    .timeout_ms = NS_FRAG_TIMEOUT_MS,
};

void ns_eng_frag_init(struct ns_ike_engine *e)
{
    e->frag_pool[0] = (struct ns_frag_pool){.max_open = NS_FRAG_HALF_OPEN_MAX,
                                            .max_bytes = NS_FRAG_HALF_OPEN_BYTES};
    e->frag_pool[1] = (struct ns_frag_pool){.max_open = NS_FRAG_ESTABLISHED_MAX,
                                            .max_bytes = NS_FRAG_ESTABLISHED_BYTES};
}

/* The pool a reassembly of sa starts in: its peer authenticated or not. */
static struct ns_frag_pool *pool_of(struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    return &e->frag_pool[ns_ike_state_half_open(sa->state) ? 0 : 1];
}

void ns_eng_frag_notify(const struct ns_ike_engine *e, struct ns_ike_builder *b)
{
    if (e->conf->fragmentation)
        ns_ike_add_notify(b, 0, NULL, 0, NS_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
}

bool ns_eng_frag_offered(const struct ns_ike_payloads *pl)
{
    return ns_ike_find_notify(pl, NS_N_IKEV2_FRAGMENTATION_SUPPORTED) != NULL;
}

/* What fragment_size leaves for one IKE message of the SA. */
static size_t datagram_room(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    /* 2.5.1: fragment_size is the whole IP datagram. */
    size_t over = (sa->remote.addr.family == AF_INET6 ? IPV6_HDR_LEN : IPV4_HDR_LEN) + UDP_HDR_LEN +
                  (sa->local.port == e->conf->natt_port ? NON_ESP_MARKER_LEN : 0);
    return e->conf->fragment_size > over ? e->conf->fragment_size - over : 0;
}

size_t ns_eng_frag_max_msg(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    return sa->frag ? datagram_room(e, sa) : 0;
}

int ns_eng_frag_seal(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_builder *b)
{
    size_t max = ns_eng_frag_max_msg(e, sa);
    if (!max || ns_frag_sealed_len(b, sa->sk_out) <= max)
        return 0;
    unsigned n;
    int len = ns_frag_split(b, sa->sk_out, max, e->frag_buf, sizeof(e->frag_buf), &n);
    if (len < 0)
        return len; /* the caller logs it */
    memcpy(e->buf, e->frag_buf, (size_t)len);
    e->ctr.frag.sent += n;
    NS_DBG("ike: IKE SA %016llx: message %u in %u fragments of at most %zu bytes",
           (unsigned long long)sa->id, ns_get_u32(e->buf + MSG_ID_OFF), n, max);
    return len;
}

/* A copy of the request answered last came in fragments: only fragment 1,
 * verified, sends the response again (2.6.1); the others are ignored, or
 * every fragment would send the whole response once more. */
static int again_fragment(struct ns_ike_engine *e, struct ns_ikesa *sa, uint8_t *msg, size_t len,
                          const struct ns_ike_payload *skf)
{
    struct ns_skf f;
    int rc = ns_frag_parse(msg, len, skf, &f);
    if (rc != NS_IKE_OK)
        return rc;
    if (f.number != 1)
        return NS_ENG_FRAG_WAIT;
    size_t off, n;
    rc = ns_frag_open(sa->sk_in, msg, &f, &off, &n);
    if (rc == NS_IKE_EAUTH)
        e->ctr.frag.forged++;
    return rc;
}

/* The inner payloads of a message put together, as ns_ike_sk_open gives
 * those of an SK payload. */
static int parse_whole(uint8_t first, const uint8_t *data, size_t len,
                       struct ns_ike_payloads *inner)
{
    int rc = ns_ike_parse_chain(first, data, len, inner);
    if (rc && rc != NS_IKE_ECRITICAL)
        return rc;
    for (unsigned i = 0; i < inner->n; i++)
        if (inner->p[i].type == NS_PL_SK || inner->p[i].type == NS_PL_SKF)
            return NS_IKE_ESYNTAX;
    return rc;
}

static void slot_free(struct ns_frag_reasm **slot)
{
    if (*slot) {
        ns_frag_reset(*slot);
        free(*slot);
        *slot = NULL;
    }
}

int ns_eng_frag_input(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_header *h,
                      const struct ns_ike_payload *skf, uint8_t *msg, size_t len, bool again,
                      struct ns_ike_payloads *inner, uint8_t **whole)
{
    *whole = NULL;
    inner->n = 0;
    inner->unsupported_critical = 0;
    if (again)
        return again_fragment(e, sa, msg, len, skf);
    struct ns_frag_reasm **slot = &sa->reasm[(h->flags & NS_IKE_FLAG_RESPONSE) ? 1 : 0];
    if (!*slot && !(*slot = calloc(1, sizeof(**slot))))
        return NS_IKE_ENOSPACE;
    int err;
    enum ns_frag_verdict v = ns_frag_add(*slot, &limits, pool_of(e, sa), &e->ctr.frag, sa->sk_in,
                                         h->msg_id, msg, len, skf, e->now, &err);
    if (!(*slot)->active)
        slot_free(slot);
    ns_eng_sched(e, sa); /* the reassembly's deadline */
    if (v == NS_FRAG_DROPPED) {
        if (err == NS_IKE_EAUTH)
            return err;
        NS_ENG_LOG_LIMITED(e, NS_ENG_RL_DROP, NS_LOG_DEBUG,
                           "ike: IKE SA %016llx: fragment of message %u dropped (%s)",
                           (unsigned long long)sa->id, h->msg_id, ns_ike_strerror(err));
        return NS_ENG_FRAG_WAIT;
    }
    if (v == NS_FRAG_HELD)
        return NS_ENG_FRAG_WAIT;
    uint8_t first;
    size_t n;
    *whole = ns_frag_take(*slot, &n, &first);
    slot_free(slot);
    ns_eng_sched(e, sa);
    if (!*whole)
        return NS_IKE_ENOSPACE;
    e->ctr.frag.reassembled++;
    NS_DBG("ike: IKE SA %016llx: message %u put together from its fragments (%zu bytes)",
           (unsigned long long)sa->id, h->msg_id, n);
    return parse_whole(first, *whole, n, inner);
}

uint64_t ns_eng_frag_due(const struct ns_ikesa *sa)
{
    uint64_t due = NS_IKE_NEVER;
    for (unsigned i = 0; i < 2; i++)
        if (sa->reasm[i] && sa->reasm[i]->active && sa->reasm[i]->deadline < due)
            due = sa->reasm[i]->deadline;
    return due;
}

void ns_eng_frag_expire(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    for (unsigned i = 0; i < 2; i++) {
        if (sa->reasm[i] && ns_frag_expire(sa->reasm[i], &e->ctr.frag, e->now)) {
            NS_DBG("ike: IKE SA %016llx: fragments of a %s abandoned after %u s",
                   (unsigned long long)sa->id, i ? "response" : "request",
                   (unsigned)(NS_FRAG_TIMEOUT_MS / 1000));
            slot_free(&sa->reasm[i]);
        }
    }
    ns_eng_sched(e, sa);
}

void ns_eng_frag_free(struct ns_ikesa *sa)
{
    slot_free(&sa->reasm[0]);
    slot_free(&sa->reasm[1]);
}

/* Why the SA does not fragment. */
static const char *why_whole(const struct ns_ike_engine *e)
{
    return e->conf->fragmentation ? "the peer did not offer it in IKE_SA_INIT"
                                  : "fragmentation = no here";
}

const char *ns_eng_frag_hint(const struct ns_ike_engine *e, const struct ns_ikesa *sa, size_t len,
                             char *buf, size_t buflen)
{
    if (sa->frag || sa->out.kind == NS_REQ_INIT || len <= datagram_room(e, sa))
        return NULL;
    snprintf(buf, buflen,
             "; it was %zu bytes, more than fragment_size %u allows, and went as IP fragments "
             "without IKE fragmentation (%s): a NAT or firewall on the way may drop them",
             len, e->conf->fragment_size, why_whole(e));
    return buf;
}

void ns_eng_frag_no_auth(struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    if (sa->frag)
        return;
    char ep[NS_ENDPOINT_STRLEN];
    NS_ENG_LOG_LIMITED(e, NS_ENG_RL_HALF_OPEN, NS_LOG_INFO,
                       "ike: IKE SA %016llx of %s: no IKE_AUTH came within %u s of IKE_SA_INIT; "
                       "without IKE fragmentation (%s) an IKE_AUTH larger than the path MTU "
                       "comes as IP fragments, which a NAT or firewall on the way may drop",
                       (unsigned long long)sa->id, ns_endpoint_str(&sa->remote, ep),
                       (unsigned)(NS_IKE_HALF_OPEN_MS / 1000), why_whole(e));
}
