/* The engine's IKE SA indexes: by our SPI (every lookup of a message after
 * IKE_SA_INIT), by (peer endpoint, SPIi) (to recognise a retransmitted
 * IKE_SA_INIT without creating a second half-open SA), by peer identity
 * (INITIAL_CONTACT), and by the endpoint of a half-open SA that proved a
 * COOKIE (one per endpoint). Each is a chained hash table that doubles when it is
 * full, so every lookup is O(1) with thousands of SAs (R12).
 *
 * Peers choose SPIi and their source port, so the hash is keyed (SipHash-2-4
 * with a random key): nobody outside can aim many SAs at one chain. */
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "ike/ike_sa.h"
#include "util/container.h"

/* ---- SipHash-2-4 (Aumasson, Bernstein) ---- */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

struct sip {
    uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void sip_block(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

static uint64_t siphash(const uint8_t key[16], const uint8_t *in, size_t len)
{
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    struct sip s = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                    k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8)
        sip_block(&s, le64(in + i));
    uint8_t last[8] = {0};
    memcpy(last, in + full, len - full);
    last[7] = (uint8_t)len;
    sip_block(&s, le64(last));
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- the hash table ---- */

int ns_htab_init(struct ns_htab *t, size_t nb)
{
    t->b = calloc(nb, sizeof(*t->b));
    t->nb = t->b ? nb : 0;
    t->n = 0;
    return t->b ? 0 : -1;
}

void ns_htab_free(struct ns_htab *t)
{
    free(t->b);
    memset(t, 0, sizeof(*t));
}

static void htab_grow(struct ns_htab *t)
{
    size_t nb = t->nb * 2;
    struct ns_hnode **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < t->nb; i++) {
        struct ns_hnode *n = t->b[i];
        while (n) {
            struct ns_hnode *next = n->next;
            size_t j = (size_t)(n->hash & (nb - 1));
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

void ns_htab_add(struct ns_htab *t, struct ns_hnode *n)
{
    if (t->n >= t->nb)
        htab_grow(t);
    size_t i = (size_t)(n->hash & (t->nb - 1));
    n->next = t->b[i];
    t->b[i] = n;
    t->n++;
}

void ns_htab_del(struct ns_htab *t, struct ns_hnode *n)
{
    struct ns_hnode **pp = &t->b[n->hash & (t->nb - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = n->next;
        t->n--;
    }
    n->next = NULL;
}

struct ns_hnode *ns_htab_chain(const struct ns_htab *t, uint64_t hash)
{
    return t->b[hash & (t->nb - 1)];
}

/* ---- the keys ---- */

uint64_t ns_eng_hash_id(const struct ns_ike_engine *e, uint64_t id)
{
    uint8_t in[8];
    memcpy(in, &id, 8);
    return siphash(e->hash_key, in, sizeof(in));
}

uint64_t ns_eng_hash_init(const struct ns_ike_engine *e, const struct ns_endpoint *ep,
                          uint64_t spi_i)
{
    uint8_t in[8 + 16 + 3];
    memcpy(in, &spi_i, 8);
    memcpy(in + 8, ep->addr.a, 16);
    in[24] = ep->addr.family;
    in[25] = (uint8_t)(ep->port >> 8);
    in[26] = (uint8_t)ep->port;
    return siphash(e->hash_key, in, sizeof(in));
}

uint64_t ns_eng_hash_source(const struct ns_ike_engine *e, const struct ns_addr *src)
{
    uint8_t in[1 + 16];
    in[0] = src->family;
    memcpy(in + 1, src->a, 16);
    return siphash(e->hash_key, in, sizeof(in));
}

uint64_t ns_eng_hash_ident(const struct ns_ike_engine *e, const struct ns_conf_id *id)
{
    uint8_t in[1 + NS_CONF_ID_MAX];
    size_t len = id->len < NS_CONF_ID_MAX ? id->len : NS_CONF_ID_MAX;
    in[0] = id->type;
    memcpy(in + 1, id->data, len);
    return siphash(e->hash_key, in, 1 + len);
}

/* ---- lookups ---- */

struct ns_ikesa *ns_eng_find_id(const struct ns_ike_engine *e, uint64_t id)
{
    uint64_t h = ns_eng_hash_id(e, id);
    for (struct ns_hnode *n = ns_htab_chain(&e->by_id, h); n; n = n->next) {
        struct ns_ikesa *sa = NS_CONTAINER_OF(n, struct ns_ikesa, by_id);
        if (n->hash == h && sa->id == id)
            return sa;
    }
    return NULL;
}

struct ns_ikesa *ns_eng_find_init(const struct ns_ike_engine *e, const struct ns_endpoint *ep,
                                  uint64_t spi_i)
{
    uint64_t h = ns_eng_hash_init(e, ep, spi_i);
    for (struct ns_hnode *n = ns_htab_chain(&e->by_init, h); n; n = n->next) {
        struct ns_ikesa *sa = NS_CONTAINER_OF(n, struct ns_ikesa, by_init);
        if (n->hash == h && sa->spi_i == spi_i && ns_endpoint_equal(&sa->init_remote, ep))
            return sa;
    }
    return NULL;
}

void ns_eng_index_init(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->by_init.hash = ns_eng_hash_init(e, &sa->init_remote, sa->spi_i);
    ns_htab_add(&e->by_init, &sa->by_init);
    sa->in_init_idx = true;
}

void ns_eng_index_ident(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->by_ident.hash = ns_eng_hash_ident(e, &sa->remote_id);
    ns_htab_add(&e->by_ident, &sa->by_ident);
    sa->in_ident_idx = true;
}

void ns_eng_index_cookie(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    sa->by_cookie.hash = ns_eng_hash_init(e, &sa->init_remote, 0);
    ns_htab_add(&e->by_cookie, &sa->by_cookie);
    sa->in_cookie_idx = true;
}

void ns_eng_unindex_cookie(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->in_cookie_idx)
        ns_htab_del(&e->by_cookie, &sa->by_cookie);
    sa->in_cookie_idx = false;
}

static struct ns_ikesa *cookie_ep_find(const struct ns_ike_engine *e,
                                        const struct ns_endpoint *ep)
{
    uint64_t h = ns_eng_hash_init(e, ep, 0);
    for (struct ns_hnode *n = ns_htab_chain(&e->by_cookie, h); n; n = n->next) {
        struct ns_ikesa *sa = NS_CONTAINER_OF(n, struct ns_ikesa, by_cookie);
        if (n->hash == h && ns_endpoint_equal(&sa->init_remote, ep))
            return sa;
    }
    return NULL;
}

bool ns_eng_cookie_ep_holds(const struct ns_ike_engine *e, const struct ns_endpoint *ep)
{
    return cookie_ep_find(e, ep) != NULL;
}

uint64_t ns_eng_cookie_ep_drop(struct ns_ike_engine *e, const struct ns_endpoint *ep)
{
    struct ns_ikesa *sa = cookie_ep_find(e, ep);
    if (!sa)
        return e->now;
    char a[NS_ENDPOINT_STRLEN];
    NS_ENG_LOG_LIMITED(e, NS_ENG_RL_HALF_OPEN, NS_LOG_DEBUG,
                       "ike: half-open IKE SA %016llx of %s replaced by a newer request from there",
                       (unsigned long long)sa->id, ns_endpoint_str(ep, a));
    e->ctr.cookie_replaced++;
    uint64_t since = sa->ho.since_ms;
    ns_eng_sa_kill(e, sa, NS_IKE_DOWN_LOCAL); /* unlinks it: at most one per endpoint */
    return since;
}

/* Drops the SA from the init, identity and cookie indexes (the id index
 * keeps it until it is freed, so a lingering DEAD SA is still found). */
void ns_eng_unindex(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    if (sa->in_init_idx)
        ns_htab_del(&e->by_init, &sa->by_init);
    if (sa->in_ident_idx)
        ns_htab_del(&e->by_ident, &sa->by_ident);
    sa->in_init_idx = sa->in_ident_idx = false;
    ns_eng_unindex_cookie(e, sa);
}

unsigned ns_eng_kill_same_identity(struct ns_ike_engine *e, struct ns_ikesa *keep)
{
    uint64_t h = ns_eng_hash_ident(e, &keep->remote_id);
    unsigned killed = 0;
    /* Killing unlinks the node, so restart the chain walk after each. */
    for (;;) {
        struct ns_ikesa *victim = NULL;
        for (struct ns_hnode *n = ns_htab_chain(&e->by_ident, h); n; n = n->next) {
            struct ns_ikesa *sa = NS_CONTAINER_OF(n, struct ns_ikesa, by_ident);
            if (n->hash == h && sa != keep && ns_conf_id_equal(&sa->remote_id, &keep->remote_id)) {
                victim = sa;
                break;
            }
        }
        if (!victim)
            return killed;
        ns_eng_sa_kill(e, victim, NS_IKE_DOWN_PEER_DELETE);
        killed++;
    }
}

uint64_t ns_eng_vip_owner(const struct ns_ike_engine *e, const struct ns_conf_id *id)
{
    uint64_t h = ns_eng_hash_ident(e, id);
    return h ? h : 1;
}

/* Whether other is another IKE SA of sa's identity. */
static bool same_identity(const struct ns_ikesa *sa, const struct ns_ikesa *other, uint64_t h)
{
    return other->by_ident.hash == h && other != sa &&
           ns_conf_id_equal(&other->remote_id, &sa->remote_id);
}

/* The IKE SAs of sa's identity (sa aside) that count for its limit:
 * established (a re-keyed or redundant one's line goes on in another) and
 * not being deleted. */
static unsigned identity_live(const struct ns_ike_engine *e, const struct ns_ikesa *sa)
{
    uint64_t h = ns_eng_hash_ident(e, &sa->remote_id);
    unsigned n = 0;
    for (struct ns_hnode *nd = ns_htab_chain(&e->by_ident, h); nd; nd = nd->next) {
        const struct ns_ikesa *other = NS_CONTAINER_OF(nd, struct ns_ikesa, by_ident);
        n += same_identity(sa, other, h) && other->state == NS_IKE_ST_ESTABLISHED &&
             !other->out.then_delete;
    }
    return n;
}

/* unique = replace: every other authenticated IKE SA of sa's identity is
 * deleted, with a DELETE to its peer (it may still be there: another
 * device of the same identity). */
static void identity_replace(struct ns_ike_engine *e, struct ns_ikesa *sa)
{
    uint64_t h = ns_eng_hash_ident(e, &sa->remote_id);
    size_t n = 0, k = 0;
    for (struct ns_hnode *nd = ns_htab_chain(&e->by_ident, h); nd; nd = nd->next)
        n += same_identity(sa, NS_CONTAINER_OF(nd, struct ns_ikesa, by_ident), h);
    if (n == 0)
        return;
    /* Listed first: a deletion may unlink its SA from the chain, and SA
     * pointers stay valid for the whole engine call (ike_sa.h). */
    struct ns_ikesa **victims = malloc(n * sizeof(*victims));
    for (struct ns_hnode *nd = ns_htab_chain(&e->by_ident, h); nd && victims; nd = nd->next) {
        struct ns_ikesa *other = NS_CONTAINER_OF(nd, struct ns_ikesa, by_ident);
        if (same_identity(sa, other, h))
            victims[k++] = other;
    }
    if (!victims) {
        /* No memory for the list: local deletion, which needs none. */
        ns_eng_kill_same_identity(e, sa);
        return;
    }
    for (size_t i = 0; i < k; i++)
        if (ns_ike_state_authenticated(victims[i]->state))
            ns_eng_delete_ike(e, victims[i], NS_IKE_DOWN_LOCAL);
    free(victims);
}

bool ns_eng_identity_admit(struct ns_ike_engine *e, struct ns_ikesa *sa, bool initial_contact,
                           char *why, size_t why_len)
{
    const struct ns_conf *c = e->conf;
    char id[NS_CONF_ID_STRLEN];
    ns_eng_id_str(&sa->remote_id, id);
    if (c->unique == NS_CONF_UNIQUE_REPLACE) {
        unsigned live = identity_live(e, sa);
        if (live) {
            NS_INFO("ike: unique = replace: deleting %u older IKE SA(s) of '%s'", live, id);
            e->ctr.identity_replaced += live;
        }
        identity_replace(e, sa);
        return true;
    }
    if (c->unique == NS_CONF_UNIQUE_NO && initial_contact) {
        unsigned n = ns_eng_kill_same_identity(e, sa);
        if (n)
            NS_INFO("ike: INITIAL_CONTACT from '%s': deleted %u older IKE SA(s)", id, n);
    }
    unsigned live = identity_live(e, sa);
    unsigned max = c->unique == NS_CONF_UNIQUE_KEEP ? 1 : c->ike_sas_per_id;
    if (live < max)
        return true;
    e->ctr.identity_refused++;
    if (c->unique == NS_CONF_UNIQUE_KEEP)
        snprintf(why, why_len, "'%s' already holds %u IKE SA(s) and unique = keep", id, live);
    else
        snprintf(why, why_len, "'%s' already holds %u IKE SA(s), the most ike_sas_per_id allows",
                 id, live);
    return false;
}
