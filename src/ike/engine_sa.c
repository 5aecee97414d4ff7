/* The life of one IKE SA: creation with a fresh SPI, state changes (with
 * the half-open count), key derivation, authenticated endpoint updates, and
 * the teardown that gives every resource back exactly once. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "ike/auth_eap.h"
#include "ike/engine_frag.h"
#include "ike/ike_sa.h"

int ns_msgbuf_set(struct ns_msgbuf *m, const uint8_t *p, size_t len)
{
    uint8_t *n = malloc(len ? len : 1);
    if (!n)
        return -1;
    memcpy(n, p, len);
    free(m->p);
    m->p = n;
    m->len = len;
    return 0;
}

void ns_msgbuf_clear(struct ns_msgbuf *m)
{
    free(m->p);
    m->p = NULL;
    m->len = 0;
}

const char *ns_eng_id_str(const struct ns_conf_id *id, char buf[NS_CONF_ID_STRLEN])
{
    if (id->type == 0) {
        snprintf(buf, NS_CONF_ID_STRLEN, "(none)");
        return buf;
    }
    return ns_conf_id_str(id, buf);
}

/* A random nonzero SPI that no SA of ours has (2.6: unique per host), nor
 * a line of re-keyed SAs as its ike_sa_id. */
uint64_t ns_eng_fresh_spi(const struct ns_ike_engine *e)
{
    for (;;) {
        uint64_t spi = ns_random_u64();
        if (spi != 0 && !ns_eng_find_id(e, spi) && !ns_eng_find_ike_sa_id(e, spi))
            return spi;
    }
}

struct ns_ikesa *ns_eng_sa_new(struct ns_ike_engine *e, bool initiator)
{
    return ns_eng_sa_new_id(e, initiator, ns_eng_fresh_spi(e));
}

struct ns_ikesa *ns_eng_sa_new_id(struct ns_ike_engine *e, bool initiator, uint64_t id)
{
    struct ns_ikesa *sa = calloc(1, sizeof(*sa));
    if (!sa)
        return NULL;
    sa->id = id;
    sa->ike_sa_id = sa->id;
    sa->rekey_at = sa->expire_at = NS_IKE_NEVER;
    sa->initiator = initiator;
    if (initiator)
        sa->spi_i = sa->id;
    else
        sa->spi_r = sa->id;
    sa->state = NS_IKE_ST_NEW;
    sa->created_ms = sa->last_rx_ms = e->now;
    sa->heap_pos = SIZE_MAX;
    sa->due = NS_IKE_NEVER;
    sa->by_id.hash = ns_eng_hash_id(e, sa->id);
    ns_htab_add(&e->by_id, &sa->by_id);
    e->n_sas++;
    e->half_open++; /* NEW is unauthenticated */
    return sa;
}

bool ns_eng_sa_state(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_state st,
                     const char *why)
{
    enum ns_ike_state old = sa->state;
    if (!ns_ike_state_move(&sa->state, st, sa->id, why, &e->ctr.illegal_transitions))
        return false;
    if (ns_ike_state_half_open(old) && !ns_ike_state_half_open(st)) {
        e->half_open--;
        ns_halfopen_del(&e->ho, &sa->ho); /* authenticated or gone: its source's share shrinks */
        ns_eng_unindex_cookie(e, sa);
    }
    if (ns_ike_state_half_open(old) && st == NS_IKE_ST_ESTABLISHED) {
        /* Authenticated: the data plane may report on it, and it ages. */
        ns_eng_index_ike_sa_id(e, sa);
        ns_eng_life_ike_start(e, sa);
    }
    if (st == NS_IKE_ST_DEAD)
        e->n_dead++;
    ns_eng_sched(e, sa);
    return true;
}

bool ns_eng_child_state(struct ns_ike_engine *e, struct ns_ike_child *c, enum ns_child_state st,
                        const char *why)
{
    if (c->cstate == st)
        return true;
    return ns_child_state_move(&c->cstate, st, c->spi_in, why, &e->ctr.illegal_transitions);
}

int ns_eng_sa_derive(struct ns_ike_engine *e, struct ns_ikesa *sa, const uint8_t *peer_ke,
                     size_t peer_ke_len)
{
    (void)e;
    uint8_t shared[NS_DH_MAX_SHARED];
    size_t shared_len = ns_dh_shared_len(ns_dh_group_of(sa->dh));
    const struct ns_proposal *p = &sa->ike_alg;
    size_t encr_len = ns_encr_keymat_len(p->encr, p->key_bits);
    size_t integ_len = ns_integ_key_len(p->integ);
    int rc = -1;
    /* A value that is no group element leaves our key: the client may
     * still get the real answer (init_exchange.c). */
    if (ns_dh_derive(sa->dh, peer_ke, peer_ke_len, shared, shared_len) != 0) {
        OPENSSL_cleanse(shared, sizeof(shared));
        return -1;
    }
    if (ns_ike_derive_keys(p->prf, encr_len, integ_len, sa->ni, sa->ni_len, sa->nr, sa->nr_len,
                           shared, shared_len, sa->spi_i, sa->spi_r, &sa->keys) == 0)
        rc = 0;
    if (rc != 0)
        OPENSSL_cleanse(&sa->keys, sizeof(sa->keys)); /* ns_eng_sa_keyed: no keys */
    OPENSSL_cleanse(shared, sizeof(shared));
    ns_dh_free(sa->dh);
    sa->dh = NULL;
    return rc;
}

/* The SK cipher of one direction from the derived keys, when it is not
 * keyed already. */
static int sa_cipher(struct ns_ikesa *sa, bool out)
{
    struct ns_cipher **c = out ? &sa->sk_out : &sa->sk_in;
    if (*c)
        return 0;
    if (!ns_eng_sa_keyed(sa))
        return -1;
    const struct ns_proposal *p = &sa->ike_alg;
    const struct ns_ike_keys *k = &sa->keys;
    /* The initiator sends with SK_ei/SK_ai and receives with SK_er/SK_ar. */
    bool ei = sa->initiator == out;
    *c = ns_cipher_new(p->encr, p->key_bits, p->integ, ei ? k->sk_ei : k->sk_er, k->encr_len,
                       ei ? k->sk_ai : k->sk_ar, k->integ_len);
    return *c ? 0 : -1;
}

int ns_eng_sa_cipher_in(struct ns_ikesa *sa)
{
    return sa_cipher(sa, false);
}

int ns_eng_sa_cipher_out(struct ns_ikesa *sa)
{
    return sa_cipher(sa, true);
}

int ns_eng_sa_ciphers(struct ns_ikesa *sa)
{
    return sa_cipher(sa, true) == 0 && sa_cipher(sa, false) == 0 ? 0 : -1;
}

void ns_eng_sa_cipher_drop(struct ns_ikesa *sa, bool out)
{
    struct ns_cipher **c = out ? &sa->sk_out : &sa->sk_in;
    ns_cipher_free(*c);
    *c = NULL;
}

bool ns_eng_udp_encap(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    return sa->nat_local || sa->nat_remote || e->conf->force_encap;
}

void ns_eng_follow_peer(struct ns_ike_engine *e, struct ns_ikesa *sa,
                        const struct ns_endpoint *local, const struct ns_endpoint *remote)
{
    sa->last_rx_ms = e->now;
    if (ns_endpoint_equal(&sa->local, local) && ns_endpoint_equal(&sa->remote, remote))
        return;
    /* A peer behind a NAT may come from a new address or port at any time
     * (its NAT rebinds); any peer switches once from the IKE port to the
     * NAT-T port (floating). A peer not behind a NAT has no reason to move,
     * and answers go where requests come from anyway (2.23). */
    uint16_t natt = e->conf->natt_port;
    bool floating = local->port == natt && sa->local.port != natt;
    if (!sa->nat_remote && !floating)
        return;
    char a[NS_ENDPOINT_STRLEN], b[NS_ENDPOINT_STRLEN];
    ns_endpoint_str(&sa->remote, a);
    bool new_local = !ns_addr_equal(&sa->local.addr, &local->addr);
    sa->local = *local;
    sa->remote = *remote;
    if (sa->n_child == 0) {
        /* Floating during IKE_AUTH: nothing installed yet. */
        NS_DBG("ike: IKE SA %016llx: peer now at %s (was %s)", (unsigned long long)sa->id,
               ns_endpoint_str(remote, b), a);
        return;
    }
    NS_INFO("ike: IKE SA %016llx: peer moved from %s to %s (authenticated)",
            (unsigned long long)sa->id, a, ns_endpoint_str(remote, b));
    e->ctr.peer_moves++;
    sa->mob.moved_since_update = sa->mob.st != NS_MOBIKE_OFF;
    /* The data plane knows the CHILD_SAs by the line's id, which an IKE
     * SA made by a re-key inherits (lifecycle.c), not by this SA's own.
     * A peer that came to another of our addresses (MOBIKE from an IPv4
     * path to an IPv6 one) needs ESP sent from that one too. */
    if (new_local && e->ops.path_changed)
        e->ops.path_changed(e->ops.ctx, sa->ike_sa_id, &sa->local, &sa->remote,
                            ns_eng_udp_encap(e, sa));
    else if (e->ops.peer_moved)
        e->ops.peer_moved(e->ops.ctx, sa->ike_sa_id, &sa->local, &sa->remote);
}

void ns_eng_child_remove(struct ns_ike_engine *e, struct ns_ikesa *sa, unsigned i)
{
    if (sa->child[i].cstate != NS_CHILD_INSTALLED && sa->state == NS_IKE_ST_ESTABLISHED) {
        /* A replaced one goes: its successor must send now, if it waited
         * for the re-key's initiator (the initiator's DELETE of the old one
         * says it has the new one). */
        int s = ns_eng_child_by_in(sa, sa->child[i].successor_spi);
        if (s >= 0 && sa->child[s].pending)
            (void)ns_eng_child_activate(e, sa, (unsigned)s); /* no removal: i stays valid */
    }
    if (sa->child[i].pending) {
        OPENSSL_cleanse(sa->child[i].pending, 2 * sizeof(*sa->child[i].pending));
        free(sa->child[i].pending);
        sa->child[i].pending = NULL;
    }
    struct ns_ike_child c = sa->child[i];
    sa->child[i] = sa->child[--sa->n_child];
    if (sa->n_child == 0) {
        free(sa->child);
        sa->child = NULL;
    } else {
        /* Sized to what it holds (child_keys.c); a failed shrink keeps it. */
        struct ns_ike_child *shrunk = realloc(sa->child, sa->n_child * sizeof(*sa->child));
        if (shrunk)
            sa->child = shrunk;
    }
    e->ops.child_down(e->ops.ctx, c.spi_in, c.spi_out);
    e->ops.release_spi(e->ops.ctx, c.spi_in);
    NS_INFO("ike: CHILD SA removed: SPIs in 0x%08x out 0x%08x (IKE SA %016llx)", c.spi_in,
            c.spi_out, (unsigned long long)sa->id);
}

void ns_eng_children_down(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    /* All of them go: no outbound half waiting for a re-key's initiator
     * is to be installed on the way out. */
    for (unsigned i = 0; i < sa->n_child; i++) {
        if (sa->child[i].pending) {
            OPENSSL_cleanse(sa->child[i].pending, 2 * sizeof(*sa->child[i].pending));
            free(sa->child[i].pending);
            sa->child[i].pending = NULL;
        }
    }
    while (sa->n_child)
        ns_eng_child_remove(e, sa, sa->n_child - 1);
    if (sa->pending_spi) {
        e->ops.release_spi(e->ops.ctx, sa->pending_spi);
        sa->pending_spi = 0;
    }
}

void ns_eng_vip_release(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    /* Only a gateway has a pool, and its SAs' addresses come from it. */
    if (e->pool && sa->vip.family)
        ns_pool_release(e->pool, &sa->vip);
    if (e->pool6 && sa->vip6.family)
        ns_pool6_release(e->pool6, &sa->vip6);
    memset(&sa->vip, 0, sizeof(sa->vip));
    memset(&sa->vip6, 0, sizeof(sa->vip6));
}

void ns_eng_sa_kill(struct ns_ike_engine *e, struct ns_ikesa *sa, enum ns_ike_down_reason why)
{
    if (sa->state == NS_IKE_ST_DEAD)
        return;
    bool was_up = ns_ike_state_authenticated(sa->state);
    bool replaced = sa->state == NS_IKE_ST_REKEYED || sa->state == NS_IKE_ST_REDUNDANT;
    ns_eng_create_child_drop(e, sa);
    ns_eng_children_down(e, sa);
    ns_eng_unindex_ike_sa_id(e, sa);
    sa->n_del = 0;
    ns_eng_vip_release(e, sa);
    ns_eng_unindex(e, sa);
    ns_msgbuf_clear(&sa->out.msg);
    sa->out.kind = NS_REQ_NONE;
    ns_msgbuf_clear(&sa->init_req);
    ns_msgbuf_clear(&sa->init_resp);
    ns_eng_eap_cancel(e, sa);
    ns_eng_eap_free(sa);
    ns_eng_frag_free(sa);
    if (replaced) {
        NS_INFO("ike: IKE SA %016llx closed: re-keyed", (unsigned long long)sa->id);
    } else if (was_up) {
        e->ctr.ike_deleted++;
        NS_INFO("ike: IKE SA %016llx deleted (%s)", (unsigned long long)sa->id,
                ns_ike_down_reason_str(why));
    }
    /* Linger long enough to answer a retransmission of the request we
     * answered last (its sender retries for about this long); with no
     * answer to repeat (a half-open SA), go at the next tick. */
    unsigned shift = e->conf->retransmit_tries < 5 ? e->conf->retransmit_tries : 5;
    sa->dead_until = e->now;
    if (sa->resp.p)
        sa->dead_until += (uint64_t)e->conf->retransmit_timeout_ms << shift;
    ns_eng_sa_state(e, sa, NS_IKE_ST_DEAD, ns_ike_down_reason_str(why));
    if (e->race_sa == sa)
        e->race_sa = NULL;
    if (e->client_sa == sa) {
        e->client_sa = NULL;
        if (ns_eng_race_promote(e, why))
            return;
        if (e->ops.client_down)
            e->ops.client_down(e->ops.ctx, why);
    }
}

void ns_eng_sa_free(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->state != NS_IKE_ST_DEAD)
        ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL);
    ns_eng_heap_remove(e, sa);
    ns_htab_del(&e->by_id, &sa->by_id);
    e->n_sas--;
    e->n_dead--;
    ns_msgbuf_clear(&sa->resp);
    free(sa->child);
    free(sa->prop);
    free(sa->natd);
    ns_dh_free(sa->dh);
    ns_cipher_free(sa->sk_in);
    ns_cipher_free(sa->sk_out);
    OPENSSL_cleanse(&sa->keys, sizeof(sa->keys));
    free(sa);
}
