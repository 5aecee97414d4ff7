/* From a negotiated CHILD_SA to the two ns_esp_sa_spec the data plane
 * installs (esp/sa_spec.h): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)
 * (RFC 7296 2.17; no PFS in IKE_AUTH, where the nonces are those of
 * IKE_SA_INIT) split as encr_i | integ_i | encr_r | integ_r, where the _i
 * keys protect what the initiator of the exchange sends. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "conf/proposal_parse.h"
#include "ike/ike_sa.h"

static void fill_common(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                        const struct ns_child_params *p, struct ns_esp_sa_spec *s)
{
    s->mode = p->mode;
    s->encr = p->alg.encr;
    s->key_bits = p->alg.key_bits;
    s->integ = p->alg.integ;
    s->esn = p->alg.esn;
    s->n_local_ts = p->n_local_ts < NS_SA_MAX_TS ? p->n_local_ts : NS_SA_MAX_TS;
    memcpy(s->local_ts, p->local_ts, s->n_local_ts * sizeof(struct ns_ts));
    s->n_remote_ts = p->n_remote_ts < NS_SA_MAX_TS ? p->n_remote_ts : NS_SA_MAX_TS;
    memcpy(s->remote_ts, p->remote_ts, s->n_remote_ts * sizeof(struct ns_ts));
    s->udp_encap = ns_eng_udp_encap(e, sa);
    s->local = sa->local;
    s->peer = sa->remote;
    if (p->mode == NS_ESP_TRANSPORT) {
        /* The addresses the peer computes its checksums over, from the
         * selectors before substitution (RFC 7296 2.23.1, RFC 3948 3.1.2). */
        s->orig_src = p->orig_src;
        s->orig_dst = p->orig_dst;
    }
    s->ike_sa_id = sa->ike_sa_id; /* kept across IKE re-keys (lifecycle.c) */
}

static void set_keys(struct ns_esp_sa_spec *s, const uint8_t *ek, size_t el, const uint8_t *ik,
                     size_t il)
{
    memcpy(s->encr_key, ek, el);
    s->encr_key_len = el;
    memcpy(s->integ_key, ik, il);
    s->integ_key_len = il;
}

int ns_eng_child_specs(const struct ns_ike_engine *e, const struct ns_ikesa *sa,
                       const struct ns_child_params *p, struct ns_esp_sa_spec *in,
                       struct ns_esp_sa_spec *out)
{
    size_t el = ns_encr_keymat_len(p->alg.encr, p->alg.key_bits);
    size_t il = ns_integ_key_len(p->alg.integ);
    uint8_t km[2 * (NS_CIPHER_MAX_ENCR_KEY + NS_CIPHER_MAX_INTEG_KEY)];
    if (el > NS_CIPHER_MAX_ENCR_KEY || il > NS_CIPHER_MAX_INTEG_KEY)
        return -1;
    /* IKE_AUTH: the IKE SA's nonces and roles; CREATE_CHILD_SA: its own. */
    bool own = p->ni != NULL;
    const uint8_t *ni = own ? p->ni : sa->ni, *nr = own ? p->nr : sa->nr;
    size_t ni_len = own ? p->ni_len : sa->ni_len, nr_len = own ? p->nr_len : sa->nr_len;
    bool initiator = own ? p->we_initiated : sa->initiator;
    if (ns_child_keymat(sa->ike_alg.prf, sa->keys.sk_d, sa->keys.d_len, p->g_ir, p->g_ir_len, ni,
                        ni_len, nr, nr_len, km, 2 * (el + il)) != 0)
        return -1;
    memset(in, 0, sizeof(*in));
    memset(out, 0, sizeof(*out));
    fill_common(e, sa, p, in);
    fill_common(e, sa, p, out);
    in->dir = NS_ESP_INBOUND;
    in->spi = p->spi_in;
    in->paired_spi = p->spi_out;
    out->dir = NS_ESP_OUTBOUND;
    out->spi = p->spi_out;
    out->paired_spi = p->spi_in;
    out->path_unverified = sa->mob.unchecked;
    const uint8_t *ei = km, *ai = km + el, *er = km + el + il, *ar = km + 2 * el + il;
    /* The initiator sends with the _i keys; the responder receives with them. */
    set_keys(initiator ? out : in, ei, el, ai, il);
    set_keys(initiator ? in : out, er, el, ar, il);
    OPENSSL_cleanse(km, sizeof(km));
    return 0;
}

static void log_child(const struct ns_ikesa *sa, const struct ns_ike_child *c)
{
    char alg[NS_IKE_ALG_STRLEN], l[NS_TS_STRLEN], r[NS_TS_STRLEN];
    ns_proposal_str(&c->alg, alg, sizeof(alg));
    NS_INFO("ike: CHILD SA installed: SPIs in 0x%08x out 0x%08x, %s, %s%s, %s%s "
            "=== %s%s "
            "(IKE SA %016llx)",
            c->spi_in, c->spi_out, alg, c->mode == NS_ESP_TRANSPORT ? "transport" : "tunnel",
            c->udp_encap ? ", UDP-encapsulated" : "", ns_ts_str(&c->local_ts[0], l),
            c->n_local_ts > 1 ? " ..." : "", ns_ts_str(&c->remote_ts[0], r),
            c->n_remote_ts > 1 ? " ..." : "", (unsigned long long)sa->id);
}

int ns_eng_child_install(struct ns_ike_engine *e, struct ns_ikesa *sa,
                         const struct ns_child_params *p)
{
    struct ns_esp_sa_spec in, out;
    if (sa->n_child >= NS_IKE_MAX_CHILD || p->n_local_ts == 0 || p->n_remote_ts == 0)
        return -1;
    /* One record per CHILD_SA, grown here and shrunk by ns_eng_child_remove:
     * a telecommuter has one, two only during a re-key, and a half-open SA
     * none (R12). Callers keep indexes or copies, never pointers, across an
     * install. */
    struct ns_ike_child *grown = realloc(sa->child, (sa->n_child + 1) * sizeof(*sa->child));
    if (!grown)
        return -1;
    sa->child = grown;
    if (ns_eng_child_specs(e, sa, p, &in, &out) != 0)
        return -1;
    /* A re-key we answer: inbound now, outbound once the initiator has it. */
    struct ns_esp_sa_spec *pending = NULL;
    bool defer = p->defer_out && e->ops.child_in_up && e->ops.child_out_up;
    if (defer && (pending = malloc(2 * sizeof(*pending))) != NULL) {
        pending[0] = in;
        pending[1] = out;
    }
    int rc = pending ? e->ops.child_in_up(e->ops.ctx, &in) : e->ops.child_up(e->ops.ctx, &in, &out);
    OPENSSL_cleanse(&in, sizeof(in));
    OPENSSL_cleanse(&out, sizeof(out));
    if (rc != 0 && pending) {
        OPENSSL_cleanse(pending, 2 * sizeof(*pending));
        free(pending);
    }
    if (rc != 0) {
        NS_ERR("ike: IKE SA %016llx: the data plane refused the CHILD SA (SPI 0x%08x)",
               (unsigned long long)sa->id, p->spi_in);
        return -1;
    }
    struct ns_ike_child *c = &sa->child[sa->n_child++];
    memset(c, 0, sizeof(*c));
    c->spi_in = p->spi_in;
    c->spi_out = p->spi_out;
    c->mode = p->mode;
    c->udp_encap = ns_eng_udp_encap(e, sa);
    c->alg = p->alg;
    c->n_local_ts = p->n_local_ts < NS_SA_MAX_TS ? p->n_local_ts : NS_SA_MAX_TS;
    memcpy(c->local_ts, p->local_ts, c->n_local_ts * sizeof(struct ns_ts));
    c->n_remote_ts = p->n_remote_ts < NS_SA_MAX_TS ? p->n_remote_ts : NS_SA_MAX_TS;
    memcpy(c->remote_ts, p->remote_ts, c->n_remote_ts * sizeof(struct ns_ts));
    c->orig_src = p->orig_src;
    c->orig_dst = p->orig_dst;
    c->created_ms = e->now;
    c->rekeys = p->rekeys;
    if (p->ni)
        ns_eng_nonce_min(p->ni, p->ni_len, p->nr, p->nr_len, c->nonce_min, &c->nonce_min_len);
    ns_eng_life_child_start(e, c);
    c->pending = pending;
    if (pending && e->ops.child_usage && c->poll_at > e->now + NS_IKE_SUCCESSOR_POLL_MS)
        c->poll_at = e->now + NS_IKE_SUCCESSOR_POLL_MS; /* has the initiator sent on it? */
    e->ctr.children_installed++;
    log_child(sa, c);
    return 0;
}
