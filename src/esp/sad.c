#include "esp/sad.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "esp/htab.h"
#include "esp/sa_priv.h"
#include "esp/spi.h"
#include "util/container.h"
#include "util/log.h"

struct ns_sad {
    struct ns_spi_table spis;         /* inbound SPI -> SA, and reservations */
    struct ns_esp_htab out_exact;     /* single-address remote selectors */
    struct ns_esp_out_link *out_wide; /* the others, most specific first */
    struct ns_esp_htab by_ike;        /* every SA, by ike_sa_id */
    struct ns_esp_sa *first, *last;   /* every SA, installation order */
    size_t count;
    uint64_t gen;
    uint64_t seed;
    /* Drops by direction: the outbound path and the inbound one may run on
     * two threads at once (natsecd's TX worker), each counting its own;
     * atomic adds when shared (several threads per direction). */
    uint64_t drops[2][NS_ESP_RESULT_COUNT];
    bool shared; /* ns_sad_set_shared; default true */
};

static const char *const result_names[NS_ESP_RESULT_COUNT] = {
    [NS_ESP_OK] = "ok",
    [NS_ESP_NO_SA] = "no_sa",
    [NS_ESP_REPLAY] = "replay",
    [NS_ESP_AUTH] = "auth",
    [NS_ESP_MALFORMED] = "malformed",
    [NS_ESP_TS_MISMATCH] = "ts_mismatch",
    [NS_ESP_NO_POLICY] = "no_policy",
    [NS_ESP_SEQ_OVERFLOW] = "seq_overflow",
    [NS_ESP_DUMMY] = "dummy",
    [NS_ESP_NO_ROOM] = "no_room",
    [NS_ESP_WRONG_ENCAP] = "wrong_encap",
    [NS_ESP_LINK_LOCAL] = "link_local",
    [NS_ESP_UNVERIFIED_PATH] = "unverified_path",
};

const char *ns_esp_result_name(enum ns_esp_result r)
{
    return (unsigned)r < NS_ESP_RESULT_COUNT ? result_names[r] : "unknown";
}

/* --- hashing ------------------------------------------------------------ */

static uint64_t addr_hash(const struct ns_sad *sad, const struct ns_addr *a)
{
    /* Only the address's own bytes: the rest of a[] may hold anything. */
    uint8_t b[16] = {0};
    memcpy(b, a->a, ns_addr_len(a));
    uint64_t w0, w1;
    memcpy(&w0, b, 8);
    memcpy(&w1, b + 8, 8);
    return ns_esp_mix64(ns_esp_mix64(sad->seed ^ a->family ^ w0) ^ w1);
}

static uint64_t ike_hash(const struct ns_sad *sad, uint64_t ike_sa_id)
{
    /* A bijection of the id: equal hashes mean equal ids. */
    return ns_esp_mix64(ike_sa_id ^ sad->seed);
}

/* --- lifetime ----------------------------------------------------------- */

struct ns_sad *ns_sad_new(void)
{
    struct ns_sad *sad = calloc(1, sizeof(*sad));
    if (!sad)
        return NULL;
    sad->shared = true;
    if (ns_spi_table_init(&sad->spis) != 0)
        goto fail_spis;
    if (ns_esp_htab_init(&sad->out_exact) != 0)
        goto fail_exact;
    if (ns_esp_htab_init(&sad->by_ike) != 0)
        goto fail_ike;
    if (ns_random_bytes(&sad->seed, sizeof(sad->seed)) != 0)
        goto fail_seed;
    return sad;
fail_seed:
    ns_esp_htab_free(&sad->by_ike);
fail_ike:
    ns_esp_htab_free(&sad->out_exact);
fail_exact:
    ns_spi_table_free(&sad->spis);
fail_spis:
    free(sad);
    return NULL;
}

static void free_sa(struct ns_esp_sa *sa)
{
    ns_cipher_free(sa->cipher);
    free(sa);
}

void ns_sad_free(struct ns_sad *sad)
{
    if (!sad)
        return;
    struct ns_esp_sa *sa = sad->first;
    while (sa) {
        struct ns_esp_sa *next = sa->next;
        free_sa(sa);
        sa = next;
    }
    ns_spi_table_free(&sad->spis);
    ns_esp_htab_free(&sad->out_exact);
    ns_esp_htab_free(&sad->by_ike);
    free(sad);
}

/* --- SPIs ----------------------------------------------------------------- */

uint32_t ns_sad_alloc_spi(struct ns_sad *sad)
{
    return ns_spi_reserve_random(&sad->spis);
}

int ns_sad_release_spi(struct ns_sad *sad, uint32_t spi)
{
    if (!ns_spi_present(&sad->spis, spi) || ns_spi_owner(&sad->spis, spi))
        return -1;
    return ns_spi_release(&sad->spis, spi);
}

/* --- outbound index --------------------------------------------------------- */

static bool ts_is_single_address(const struct ns_ts *ts)
{
    return ns_addr_len(&ts->lo) != 0 && ns_addr_equal(&ts->lo, &ts->hi);
}

/* How many leading bits lo and hi share: 32 or 128 for one address, 24 for
 * a /24, and a range that is no prefix counts as its enclosing prefix. */
static unsigned ts_specificity(const struct ns_ts *ts)
{
    size_t n = ns_addr_len(&ts->lo);
    if (n == 0 || ts->lo.family != ts->hi.family)
        return 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = ts->lo.a[i] ^ ts->hi.a[i];
        if (x == 0) {
            bits += 8;
            continue;
        }
        while (!(x & 0x80)) {
            bits++;
            x = (uint8_t)(x << 1);
        }
        break;
    }
    return bits;
}

static void link_outbound(struct ns_sad *sad, struct ns_esp_sa *sa)
{
    for (unsigned i = 0; i < sa->n_remote_ts; i++) {
        struct ns_esp_out_link *l = &sa->out[i];
        l->sa = sa;
        l->ts = &sa->remote_ts[i];
        l->exact = ts_is_single_address(l->ts);
        l->specificity = ts_specificity(l->ts);
        l->linked = true;
        if (l->exact) {
            ns_esp_htab_insert(&sad->out_exact, &l->hnode, addr_hash(sad, &l->ts->lo));
            continue;
        }
        /* Before every selector as wide or wider: most specific first, and
         * among equals the newest (a rekeyed SA replaces its predecessor). */
        struct ns_esp_out_link **pp = &sad->out_wide;
        while (*pp && (*pp)->specificity > l->specificity)
            pp = &(*pp)->next;
        l->next = *pp;
        if (l->next)
            l->next->pprev = &l->next;
        l->pprev = pp;
        *pp = l;
    }
}

static void unlink_outbound(struct ns_sad *sad, struct ns_esp_sa *sa)
{
    for (unsigned i = 0; i < sa->n_remote_ts; i++) {
        struct ns_esp_out_link *l = &sa->out[i];
        if (!l->linked)
            continue;
        if (l->exact) {
            ns_esp_htab_remove(&sad->out_exact, &l->hnode);
        } else {
            *l->pprev = l->next;
            if (l->next)
                l->next->pprev = l->pprev;
        }
        l->linked = false;
    }
}

static bool local_match(const struct ns_esp_sa *sa, const struct ns_flow *f)
{
    return ns_ts_list_match(sa->local_ts, sa->n_local_ts, &f->src, f->proto, f->sport,
                            f->ports_known);
}

static bool remote_match(const struct ns_ts *ts, const struct ns_flow *f)
{
    return ns_ts_list_match(ts, 1, &f->dst, f->proto, f->dport, f->ports_known);
}

struct ns_esp_sa *ns_sad_lookup_outbound(const struct ns_sad *sad, const struct ns_flow *flow)
{
    struct ns_esp_sa *best = NULL;
    uint64_t h = addr_hash(sad, &flow->dst);
    for (struct ns_esp_hnode *n = ns_esp_htab_first(&sad->out_exact, h); n;
         n = ns_esp_htab_next(n)) {
        struct ns_esp_out_link *l = NS_CONTAINER_OF(n, struct ns_esp_out_link, hnode);
        if (!ns_addr_equal(&l->ts->lo, &flow->dst) || !remote_match(l->ts, flow) ||
            !local_match(l->sa, flow))
            continue;
        if (!best || l->sa->gen > best->gen)
            best = l->sa;
    }
    if (best)
        return best;
    for (const struct ns_esp_out_link *l = sad->out_wide; l; l = l->next)
        if (remote_match(l->ts, flow) && local_match(l->sa, flow))
            return l->sa;
    return NULL;
}

/* --- install and remove ----------------------------------------------------- */

static bool spec_valid(const struct ns_esp_sa_spec *spec)
{
    if (spec->dir != NS_ESP_INBOUND && spec->dir != NS_ESP_OUTBOUND)
        return false;
    if (spec->mode != NS_ESP_TUNNEL && spec->mode != NS_ESP_TRANSPORT)
        return false;
    if (spec->spi < NS_SPI_MIN)
        return false;
    if (spec->n_local_ts > NS_SA_MAX_TS || spec->n_remote_ts > NS_SA_MAX_TS)
        return false;
    if (spec->encr_key_len > sizeof(spec->encr_key) ||
        spec->integ_key_len > sizeof(spec->integ_key))
        return false;
    return true;
}

/* One zeroed allocation for the SA and what it holds by spec: the struct,
 * then the replay window (inbound) or one index link per remote selector
 * (outbound), then the selectors (sa_priv.h). Each part starts aligned for
 * what it holds, and freeing the SA frees them all. */
static struct ns_esp_sa *sa_alloc(const struct ns_esp_sa_spec *spec)
{
    size_t head = sizeof(struct ns_esp_sa);
    size_t mid = spec->dir == NS_ESP_INBOUND ? sizeof(struct ns_replay)
                                             : spec->n_remote_ts * sizeof(struct ns_esp_out_link);
    size_t ts = (spec->n_local_ts + spec->n_remote_ts) * sizeof(struct ns_ts);
    _Static_assert(sizeof(struct ns_esp_sa) % _Alignof(struct ns_replay) == 0 &&
                       sizeof(struct ns_esp_sa) % _Alignof(struct ns_esp_out_link) == 0 &&
                       sizeof(struct ns_replay) % _Alignof(struct ns_ts) == 0 &&
                       sizeof(struct ns_esp_out_link) % _Alignof(struct ns_ts) == 0,
                   "the parts of an SA's allocation stay aligned");
    uint8_t *p = calloc(1, head + mid + ts);
    if (!p)
        return NULL;
    struct ns_esp_sa *sa = (struct ns_esp_sa *)p;
    if (spec->dir == NS_ESP_INBOUND)
        sa->replay = (struct ns_replay *)(p + head);
    else
        sa->out = (struct ns_esp_out_link *)(p + head);
    sa->local_ts = (struct ns_ts *)(p + head + mid);
    sa->remote_ts = sa->local_ts + spec->n_local_ts;
    sa->n_local_ts = spec->n_local_ts;
    sa->n_remote_ts = spec->n_remote_ts;
    return sa;
}

/* What an outbound SA of the IKE SA installed to an unchecked path may
 * still send: the least left to the IKE SA's bounded outbound SAs (its
 * predecessor's, during a re-key), else the whole budget. */
static uint32_t unverified_left(const struct ns_sad *sad, uint64_t ike_sa_id)
{
    uint32_t left = NS_SAD_UNVERIFIED_BUDGET;
    for (struct ns_esp_hnode *node = ns_esp_htab_first(&sad->by_ike, ike_hash(sad, ike_sa_id));
         node; node = ns_esp_htab_next(node)) {
        const struct ns_esp_sa *o = NS_CONTAINER_OF(node, struct ns_esp_sa, ike_node);
        if (o->ike_sa_id == ike_sa_id && o->dir == NS_ESP_OUTBOUND && o->path_unverified &&
            o->unverified_left < left)
            left = o->unverified_left;
    }
    return left;
}

struct ns_esp_sa *ns_sad_install(struct ns_sad *sad, const struct ns_esp_sa_spec *spec)
{
    if (!spec_valid(spec)) {
        NS_WARN("esp: refusing SA spi=0x%08x: invalid spec", spec->spi);
        return NULL;
    }
    if (spec->dir == NS_ESP_OUTBOUND && ns_sad_find_outbound(sad, spec->ike_sa_id, spec->spi)) {
        NS_WARN("esp: refusing outbound SA spi=0x%08x: already installed", spec->spi);
        return NULL;
    }
    struct ns_esp_sa *sa = sa_alloc(spec);
    if (!sa)
        return NULL;
    sa->cipher = ns_cipher_new_oneway(spec->dir == NS_ESP_INBOUND ? NS_CIPHER_OPEN : NS_CIPHER_SEAL,
                                      spec->encr, spec->key_bits, spec->integ, spec->encr_key,
                                      spec->encr_key_len, spec->integ_key, spec->integ_key_len);
    if (!sa->cipher) {
        NS_WARN("esp: refusing SA spi=0x%08x: unsupported algorithms or key lengths "
                "(encr %d/%u, integ %d)",
                spec->spi, (int)spec->encr, spec->key_bits, (int)spec->integ);
        free(sa);
        return NULL;
    }
    sa->spi = spec->spi;
    sa->dir = spec->dir;
    sa->mode = spec->mode;
    sa->esn = spec->esn;
    sa->udp_encap = spec->udp_encap;
    sa->aead = ns_cipher_is_aead(sa->cipher);
    sa->shared = sad->shared;
    sa->iv_len = (uint8_t)ns_cipher_iv_len(sa->cipher);
    sa->icv_len = (uint8_t)ns_cipher_icv_len(sa->cipher);
    sa->block_len = (uint8_t)ns_cipher_block_len(sa->cipher);
    memcpy(sa->local_ts, spec->local_ts, spec->n_local_ts * sizeof(*sa->local_ts));
    memcpy(sa->remote_ts, spec->remote_ts, spec->n_remote_ts * sizeof(*sa->remote_ts));
    sa->local = spec->local;
    sa->peer = spec->peer;
    sa->orig_src = spec->orig_src;
    sa->orig_dst = spec->orig_dst;
    sa->ike_sa_id = spec->ike_sa_id;
    sa->paired_spi = spec->paired_spi;
    sa->encr = spec->encr;
    sa->key_bits = spec->key_bits;
    sa->integ = spec->integ;

    if (sa->dir == NS_ESP_INBOUND) {
        ns_replay_init(sa->replay);
        if (ns_spi_bind(&sad->spis, sa->spi, sa) != 0) {
            NS_WARN("esp: refusing inbound SA spi=0x%08x: SPI in use", sa->spi);
            free_sa(sa);
            return NULL;
        }
    } else {
        if (spec->path_unverified) {
            sa->unverified_left = unverified_left(sad, sa->ike_sa_id);
            sa->path_unverified = true;
        }
        link_outbound(sad, sa);
    }
    ns_esp_htab_insert(&sad->by_ike, &sa->ike_node, ike_hash(sad, sa->ike_sa_id));
    sa->gen = ++sad->gen;
    sa->prev = sad->last;
    if (sad->last)
        sad->last->next = sa;
    else
        sad->first = sa;
    sad->last = sa;
    sad->count++;
    NS_DBG("esp: installed %s SA spi=0x%08x (IKE SA %016llx)",
           sa->dir == NS_ESP_INBOUND ? "inbound" : "outbound", sa->spi,
           (unsigned long long)sa->ike_sa_id);
    return sa;
}

void ns_sad_remove(struct ns_sad *sad, struct ns_esp_sa *sa)
{
    if (sa->dir == NS_ESP_INBOUND)
        ns_spi_release(&sad->spis, sa->spi);
    else
        unlink_outbound(sad, sa);
    ns_esp_htab_remove(&sad->by_ike, &sa->ike_node);
    if (sa->prev)
        sa->prev->next = sa->next;
    else
        sad->first = sa->next;
    if (sa->next)
        sa->next->prev = sa->prev;
    else
        sad->last = sa->prev;
    sad->count--;
    NS_DBG("esp: removed %s SA spi=0x%08x", sa->dir == NS_ESP_INBOUND ? "inbound" : "outbound",
           sa->spi);
    free_sa(sa);
}

int ns_sad_remove_inbound(struct ns_sad *sad, uint32_t spi)
{
    struct ns_esp_sa *sa = ns_sad_find_inbound(sad, spi);
    if (!sa)
        return -1;
    ns_sad_remove(sad, sa);
    return 0;
}

int ns_sad_remove_outbound(struct ns_sad *sad, uint64_t ike_sa_id, uint32_t spi)
{
    struct ns_esp_sa *sa = ns_sad_find_outbound(sad, ike_sa_id, spi);
    if (!sa)
        return -1;
    ns_sad_remove(sad, sa);
    return 0;
}

size_t ns_sad_remove_ike(struct ns_sad *sad, uint64_t ike_sa_id)
{
    size_t n = 0;
    struct ns_esp_hnode *node;
    while ((node = ns_esp_htab_first(&sad->by_ike, ike_hash(sad, ike_sa_id))) != NULL) {
        ns_sad_remove(sad, NS_CONTAINER_OF(node, struct ns_esp_sa, ike_node));
        n++;
    }
    return n;
}

/* --- lookups -------------------------------------------------------------- */

struct ns_esp_sa *ns_sad_find_inbound(const struct ns_sad *sad, uint32_t spi)
{
    return ns_spi_owner(&sad->spis, spi);
}

struct ns_esp_sa *ns_sad_find_outbound(const struct ns_sad *sad, uint64_t ike_sa_id, uint32_t spi)
{
    for (struct ns_esp_hnode *n = ns_esp_htab_first(&sad->by_ike, ike_hash(sad, ike_sa_id)); n;
         n = ns_esp_htab_next(n)) {
        struct ns_esp_sa *sa = NS_CONTAINER_OF(n, struct ns_esp_sa, ike_node);
        if (sa->dir == NS_ESP_OUTBOUND && sa->spi == spi)
            return sa;
    }
    return NULL;
}

size_t ns_sad_update_peer(struct ns_sad *sad, uint64_t ike_sa_id,
                          const struct ns_endpoint *new_peer)
{
    size_t n = 0;
    for (struct ns_esp_hnode *node = ns_esp_htab_first(&sad->by_ike, ike_hash(sad, ike_sa_id));
         node; node = ns_esp_htab_next(node)) {
        struct ns_esp_sa *sa = NS_CONTAINER_OF(node, struct ns_esp_sa, ike_node);
        if (ns_endpoint_equal(&sa->peer, new_peer))
            continue;
        sa->peer = *new_peer;
        n++;
    }
    if (n) {
        char buf[NS_ENDPOINT_STRLEN];
        NS_INFO("esp: %zu SA(s) of IKE SA %016llx moved to %s", n, (unsigned long long)ike_sa_id,
                ns_endpoint_str(new_peer, buf));
    }
    return n;
}

size_t ns_sad_update_path(struct ns_sad *sad, uint64_t ike_sa_id, const struct ns_endpoint *local,
                          const struct ns_endpoint *peer, bool udp_encap)
{
    size_t n = 0;
    for (struct ns_esp_hnode *node = ns_esp_htab_first(&sad->by_ike, ike_hash(sad, ike_sa_id));
         node; node = ns_esp_htab_next(node)) {
        struct ns_esp_sa *sa = NS_CONTAINER_OF(node, struct ns_esp_sa, ike_node);
        if (sa->ike_sa_id != ike_sa_id)
            continue;
        if (ns_endpoint_equal(&sa->peer, peer) && ns_endpoint_equal(&sa->local, local) &&
            sa->udp_encap == udp_encap)
            continue;
        sa->peer = *peer;
        sa->local = *local;
        sa->udp_encap = udp_encap;
        n++;
    }
    return n;
}

size_t ns_sad_set_path_verified(struct ns_sad *sad, uint64_t ike_sa_id, bool verified)
{
    size_t n = 0;
    for (struct ns_esp_hnode *node = ns_esp_htab_first(&sad->by_ike, ike_hash(sad, ike_sa_id));
         node; node = ns_esp_htab_next(node)) {
        struct ns_esp_sa *sa = NS_CONTAINER_OF(node, struct ns_esp_sa, ike_node);
        if (sa->ike_sa_id != ike_sa_id || sa->dir != NS_ESP_OUTBOUND)
            continue;
        sa->path_unverified = !verified;
        sa->unverified_left = verified ? 0 : NS_SAD_UNVERIFIED_BUDGET;
        n++;
    }
    return n;
}

void ns_sad_foreach(const struct ns_sad *sad, void (*fn)(const struct ns_esp_sa *sa, void *arg),
                    void *arg)
{
    for (const struct ns_esp_sa *sa = sad->first; sa; sa = sa->next)
        fn(sa, arg);
}

void ns_sad_set_shared(struct ns_sad *sad, bool shared)
{
    sad->shared = shared;
}

size_t ns_sad_count(const struct ns_sad *sad)
{
    return sad->count;
}

uint64_t ns_sad_drops(const struct ns_sad *sad, enum ns_esp_result r)
{
    if ((unsigned)r >= NS_ESP_RESULT_COUNT)
        return 0;
    return sad->drops[NS_ESP_INBOUND][r] + sad->drops[NS_ESP_OUTBOUND][r];
}

void ns_sad_count_drop(struct ns_sad *sad, enum ns_esp_dir dir, enum ns_esp_result r)
{
    if ((unsigned)r >= NS_ESP_RESULT_COUNT || (dir != NS_ESP_INBOUND && dir != NS_ESP_OUTBOUND))
        return;
    if (sad->shared)
        __atomic_fetch_add(&sad->drops[dir][r], 1, __ATOMIC_RELAXED); /* workers at once */
    else
        sad->drops[dir][r]++;
}

/* --- SA accessors ----------------------------------------------------------- */

uint32_t ns_esp_sa_spi(const struct ns_esp_sa *sa)
{
    return sa->spi;
}

enum ns_esp_dir ns_esp_sa_dir(const struct ns_esp_sa *sa)
{
    return sa->dir;
}

uint64_t ns_esp_sa_ike_sa_id(const struct ns_esp_sa *sa)
{
    return sa->ike_sa_id;
}

uint32_t ns_esp_sa_paired_spi(const struct ns_esp_sa *sa)
{
    return sa->paired_spi;
}

const struct ns_endpoint *ns_esp_sa_peer(const struct ns_esp_sa *sa)
{
    return &sa->peer;
}

const struct ns_endpoint *ns_esp_sa_local(const struct ns_esp_sa *sa)
{
    return &sa->local;
}

bool ns_esp_sa_udp_encap(const struct ns_esp_sa *sa)
{
    return sa->udp_encap;
}

const struct ns_esp_sa_stats *ns_esp_sa_stats(const struct ns_esp_sa *sa)
{
    return &sa->stats;
}

void ns_esp_sa_get_info(const struct ns_esp_sa *sa, struct ns_esp_sa_info *info)
{
    memset(info, 0, sizeof(*info));
    info->spi = sa->spi;
    info->dir = sa->dir;
    info->mode = sa->mode;
    info->encr = sa->encr;
    info->key_bits = sa->key_bits;
    info->integ = sa->integ;
    info->esn = sa->esn;
    info->udp_encap = sa->udp_encap;
    info->local = sa->local;
    info->peer = sa->peer;
    info->orig_src = sa->orig_src;
    info->orig_dst = sa->orig_dst;
    info->ike_sa_id = sa->ike_sa_id;
    info->paired_spi = sa->paired_spi;
    uint64_t limit = sa->esn ? UINT64_MAX : UINT32_MAX;
    /* seq_out runs past the limit by the packets refused there. */
    info->seq = sa->dir == NS_ESP_OUTBOUND ? (sa->seq_out < limit ? sa->seq_out : limit)
                                           : sa->replay->top;
    info->stats = sa->stats;
}

size_t ns_esp_sa_overhead(const struct ns_esp_sa *sa, size_t inner_len)
{
    return NS_ESP_HDR_LEN + sa->iv_len + ns_esp_pad_len(sa, inner_len) + 2 + sa->icv_len;
}
