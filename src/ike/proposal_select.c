/* Proposal offer, selection and acceptance: see proposal_select.h. */
#include "ike/proposal_select.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/proposal_parse.h"

#define PROTO_AH 2
#define ESN_NO 0
#define ESN_YES 1

/* The KEY_LENGTH attribute a suite's encryption carries: AES (CBC and GCM)
 * has variable key sizes and needs it (RFC 7296 3.3.5, RFC 5282); NULL and
 * ChaCha20-Poly1305 (RFC 7634 2) have a fixed size and must not have it. */
static uint16_t key_attr(const struct ns_proposal *p)
{
    switch (p->encr) {
    case NS_ENCR_AES_CBC:
    case NS_ENCR_AES_GCM_16:
        return (uint16_t)p->key_bits;
    default:
        return 0;
    }
}

/* Whether the suite's ESP carries a DH transform: PFS configured, and not
 * in IKE_AUTH (which has no KE payload, RFC 7296 1.2). */
static bool esp_has_dh(const struct ns_proposal *p, unsigned flags)
{
    return p->dh != 0 && !(flags & NS_SA_F_NO_DH);
}

static bool spi_len_ok(uint8_t protocol, uint8_t spi_len)
{
    return protocol == NS_PROTO_ESP ? spi_len == 4 : (spi_len == 0 || spi_len == 8);
}

/* Transform types a proposal of this protocol may hold (3.3.3). A proposal
 * with any other type is unacceptable (3.3.6). */
static bool type_known(uint8_t protocol, uint8_t type)
{
    switch (type) {
    case NS_TRANS_ENCR:
    case NS_TRANS_INTEG:
    case NS_TRANS_DH:
        return true;
    case NS_TRANS_PRF:
        return protocol == NS_PROTO_IKE;
    case NS_TRANS_ESN:
        return protocol == NS_PROTO_ESP;
    default:
        return false;
    }
}

static void add_transform(struct ns_ike_sa_proposal *sp, uint8_t type, uint16_t id,
                          uint16_t key_len)
{
    struct ns_ike_transform *t = &sp->t[sp->n_t++];
    memset(t, 0, sizeof(*t));
    t->type = type;
    t->id = id;
    t->key_len = key_len;
}

/* One SA proposal with exactly one transform per type the suite needs. */
static void put_suite(const struct ns_proposal *p, unsigned flags, uint8_t num, const uint8_t *spi,
                      uint8_t spi_len, struct ns_ike_sa_proposal *sp)
{
    memset(sp, 0, sizeof(*sp));
    sp->num = num;
    sp->protocol = p->protocol;
    sp->spi_len = spi_len;
    if (spi_len)
        memcpy(sp->spi, spi, spi_len);
    add_transform(sp, NS_TRANS_ENCR, (uint16_t)p->encr, key_attr(p));
    if (p->protocol == NS_PROTO_IKE)
        add_transform(sp, NS_TRANS_PRF, (uint16_t)p->prf, 0);
    if (!ns_encr_is_aead(p->encr))
        add_transform(sp, NS_TRANS_INTEG, (uint16_t)p->integ, 0);
    if (p->protocol == NS_PROTO_IKE || esp_has_dh(p, flags))
        add_transform(sp, NS_TRANS_DH, (uint16_t)p->dh, 0);
    if (p->protocol == NS_PROTO_ESP)
        add_transform(sp, NS_TRANS_ESN, p->esn ? ESN_YES : ESN_NO, 0);
}

/* A configured suite we can put on the wire for this protocol. */
static bool suite_ok(const struct ns_proposal *p, uint8_t protocol)
{
    if (p->protocol != protocol)
        return false;
    if (protocol == NS_PROTO_IKE && (p->dh == 0 || p->prf == 0))
        return false; /* IKE needs a DH group (never NONE) and a PRF */
    if (!ns_encr_is_aead(p->encr) && p->integ == NS_INTEG_NONE)
        return false;
    return true;
}

int ns_sa_offer(const struct ns_proposal *props, unsigned n, uint8_t protocol, const uint8_t *spi,
                uint8_t spi_len, unsigned flags, struct ns_ike_sa *out)
{
    /* AH (R1) and anything but IKE or ESP is never offered. */
    if (protocol != NS_PROTO_IKE && protocol != NS_PROTO_ESP)
        return NS_SA_INVALID;
    if (n == 0 || n > NS_IKE_MAX_SA_PROPOSALS || !spi_len_ok(protocol, spi_len) ||
        (spi_len && !spi))
        return NS_SA_INVALID;
    for (unsigned i = 0; i < n; i++)
        if (!suite_ok(&props[i], protocol))
            return NS_SA_INVALID;
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < n; i++)
        put_suite(&props[i], flags, (uint8_t)(i + 1), spi, spi_len, &out->prop[i]);
    out->n = n;
    return NS_SA_OK;
}

/* Whether the peer's proposal lists (type, id) with exactly this key
 * length attribute. A transform with an attribute we do not know is never
 * chosen (3.3.6). */
static bool offers(const struct ns_ike_sa_proposal *pp, uint8_t type, uint16_t id, uint16_t key_len)
{
    for (unsigned i = 0; i < pp->n_t; i++) {
        const struct ns_ike_transform *t = &pp->t[i];
        if (t->type == type && t->id == id && t->key_len == key_len && !t->unknown_attr)
            return true;
    }
    return false;
}

static bool has_type(const struct ns_ike_sa_proposal *pp, uint8_t type)
{
    for (unsigned i = 0; i < pp->n_t; i++)
        if (pp->t[i].type == type)
            return true;
    return false;
}

/* A type the suite does not use: the peer must not list it, or list NONE
 * (0) among its choices (RFC 5282 8 for INTEG with an AEAD; a DH of NONE for
 * ESP without PFS; ESN 0 as "no ESN", absent read the same way). */
static bool offers_none(const struct ns_ike_sa_proposal *pp, uint8_t type)
{
    return !has_type(pp, type) || offers(pp, type, 0, 0);
}

/* Whether the peer proposal pp can carry our suite p. strict (for a
 * response) also demands that in IKE_AUTH no DH other than NONE appears;
 * a responder just ignores DH transforms there, as strongSwan does. */
static bool suite_matches(const struct ns_proposal *p, const struct ns_ike_sa_proposal *pp,
                          unsigned flags, bool strict)
{
    if (pp->protocol != p->protocol || !spi_len_ok(pp->protocol, pp->spi_len))
        return false;
    for (unsigned i = 0; i < pp->n_t; i++)
        if (!type_known(pp->protocol, pp->t[i].type))
            return false;
    if (!offers(pp, NS_TRANS_ENCR, (uint16_t)p->encr, key_attr(p)))
        return false;
    if (p->protocol == NS_PROTO_IKE && !offers(pp, NS_TRANS_PRF, (uint16_t)p->prf, 0))
        return false;
    if (ns_encr_is_aead(p->encr) ? !offers_none(pp, NS_TRANS_INTEG)
                                 : !offers(pp, NS_TRANS_INTEG, (uint16_t)p->integ, 0))
        return false;
    if (p->protocol == NS_PROTO_IKE) {
        if (!offers(pp, NS_TRANS_DH, (uint16_t)p->dh, 0))
            return false;
    } else if (esp_has_dh(p, flags)) {
        if (!offers(pp, NS_TRANS_DH, (uint16_t)p->dh, 0))
            return false;
    } else if (!(flags & NS_SA_F_NO_DH) || strict) {
        if (!offers_none(pp, NS_TRANS_DH))
            return false;
    }
    if (p->protocol == NS_PROTO_ESP &&
        !(p->esn ? offers(pp, NS_TRANS_ESN, ESN_YES, 0) : offers_none(pp, NS_TRANS_ESN)))
        return false;
    return true;
}

static void fill_choice(const struct ns_proposal *p, const struct ns_ike_sa_proposal *pp,
                        unsigned flags, struct ns_sa_choice *out)
{
    memset(out, 0, sizeof(*out));
    out->chosen = *p;
    if (p->protocol == NS_PROTO_ESP && !esp_has_dh(p, flags))
        out->chosen.dh = 0;
    out->peer_num = pp->num;
    out->spi_len = pp->spi_len;
    memcpy(out->spi, pp->spi, pp->spi_len);
}

/* Our first suite (in our order) that some peer proposal carries; with
 * want_group, only suites of that DH group. */
static bool find_match(const struct ns_proposal *ours, unsigned n_ours, uint8_t protocol,
                       const struct ns_ike_sa *peer, uint16_t want_group, unsigned flags,
                       struct ns_sa_choice *out)
{
    for (unsigned i = 0; i < n_ours; i++) {
        const struct ns_proposal *p = &ours[i];
        if (!suite_ok(p, protocol) || (want_group && p->dh != want_group))
            continue;
        for (unsigned j = 0; j < peer->n; j++) {
            const struct ns_ike_sa_proposal *pp = &peer->prop[j];
            /* AH is never chosen (R1): suite_ok already limits us to IKE
             * or ESP, and the protocols must be equal. */
            if (pp->protocol == PROTO_AH || !suite_matches(p, pp, flags, false))
                continue;
            fill_choice(p, pp, flags, out);
            return true;
        }
    }
    return false;
}

int ns_sa_select(const struct ns_proposal *ours, unsigned n_ours, uint8_t protocol,
                 const struct ns_ike_sa *peer, uint16_t ke_group, unsigned flags,
                 struct ns_sa_choice *out)
{
    if (protocol != NS_PROTO_IKE && protocol != NS_PROTO_ESP)
        return NS_SA_NO_PROPOSAL_CHOSEN;
    bool dh_matters = protocol == NS_PROTO_IKE || !(flags & NS_SA_F_NO_DH);
    /* A suite of the group the peer already sent a KE for saves the
     * INVALID_KE_PAYLOAD round trip (strongSwan promotes that group too). */
    if (ke_group && dh_matters && find_match(ours, n_ours, protocol, peer, ke_group, flags, out))
        return NS_SA_OK;
    if (find_match(ours, n_ours, protocol, peer, 0, flags, out))
        return NS_SA_OK;
    return NS_SA_NO_PROPOSAL_CHOSEN;
}

int ns_sa_response(const struct ns_sa_choice *choice, const uint8_t *our_spi, uint8_t spi_len,
                   unsigned flags, struct ns_ike_sa *out)
{
    const struct ns_proposal *p = &choice->chosen;
    if (!suite_ok(p, p->protocol) || !spi_len_ok(p->protocol, spi_len) || (spi_len && !our_spi))
        return NS_SA_INVALID;
    memset(out, 0, sizeof(*out));
    put_suite(p, flags, choice->peer_num, our_spi, spi_len, &out->prop[0]);
    out->n = 1;
    return NS_SA_OK;
}

int ns_sa_accept(const struct ns_proposal *offered, unsigned n_offered, uint8_t protocol,
                 const struct ns_ike_sa *resp, unsigned flags, struct ns_sa_choice *out)
{
    if (resp->n != 1)
        return NS_SA_INVALID;
    const struct ns_ike_sa_proposal *pp = &resp->prop[0];
    if (pp->protocol != protocol || protocol == PROTO_AH)
        return NS_SA_INVALID;
    /* One transform per type: the responder chose, it does not offer. */
    for (unsigned i = 0; i < pp->n_t; i++)
        for (unsigned k = i + 1; k < pp->n_t; k++)
            if (pp->t[i].type == pp->t[k].type)
                return NS_SA_INVALID;
    for (unsigned i = 0; i < n_offered; i++) {
        if (suite_ok(&offered[i], protocol) && suite_matches(&offered[i], pp, flags, true)) {
            fill_choice(&offered[i], pp, flags, out);
            return NS_SA_OK;
        }
    }
    return NS_SA_INVALID;
}

uint16_t ns_sa_ke_group_to_request(const struct ns_proposal *chosen, uint16_t ke_group)
{
    if (chosen->dh == 0 || ke_group == (uint16_t)chosen->dh)
        return 0;
    return (uint16_t)chosen->dh;
}

bool ns_sa_offers_group(const struct ns_proposal *offered, unsigned n_offered, uint16_t group)
{
    if (group == 0)
        return false;
    for (unsigned i = 0; i < n_offered; i++)
        if ((uint16_t)offered[i].dh == group)
            return true;
    return false;
}

/* A string built piece by piece into a fixed buffer, "..." at its end once
 * a piece no longer fits. */
struct text {
    char *buf;
    size_t len, off;
    bool full;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    if (t->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->off, t->len - t->off, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < t->len - t->off) {
        t->off += (size_t)n;
        return;
    }
    t->full = true;
    t->off = t->len > 4 ? t->len - 4 : 0;
    snprintf(t->buf + t->off, t->len - t->off, "...");
}

static const char *transform_name(const struct ns_ike_transform *tr)
{
    switch (tr->type) {
    case NS_TRANS_ENCR:
        return ns_proposal_encr_name((enum ns_encr_alg)tr->id, tr->key_len);
    case NS_TRANS_INTEG:
        return ns_proposal_integ_name((enum ns_integ_alg)tr->id);
    case NS_TRANS_PRF:
        return ns_proposal_prf_name((enum ns_prf_alg)tr->id);
    case NS_TRANS_DH:
        return ns_proposal_dh_name((enum ns_dh_group)tr->id);
    default:
        return NULL;
    }
}

const char *ns_sa_offer_str(const struct ns_ike_sa *sa, char *buf, size_t len)
{
    static const struct {
        uint8_t type;
        const char *prefix;
    } kinds[] = {{NS_TRANS_ENCR, "encr"},
                 {NS_TRANS_INTEG, "integ"},
                 {NS_TRANS_PRF, "prf"},
                 {NS_TRANS_DH, "dh"}};
    struct text t = {buf, len, 0, len == 0};
    if (len != 0)
        buf[0] = '\0';
    for (unsigned i = 0; i < sa->n; i++) {
        const struct ns_ike_sa_proposal *pp = &sa->prop[i];
        put(&t, "%s", i ? ", " : "");
        bool first_kind = true;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            bool first = true;
            for (unsigned j = 0; j < pp->n_t; j++) {
                const struct ns_ike_transform *tr = &pp->t[j];
                /* NONE (an AEAD's integrity, ESP without PFS) says nothing */
                if (tr->type != kinds[k].type ||
                    (tr->id == 0 && (tr->type == NS_TRANS_INTEG || tr->type == NS_TRANS_DH)))
                    continue;
                const char *name = transform_name(tr);
                put(&t, "%s", first ? (first_kind ? "" : "-") : "/");
                if (name != NULL)
                    put(&t, "%s", name);
                else if (tr->key_len != 0)
                    put(&t, "%s%u:%u", kinds[k].prefix, tr->id, tr->key_len);
                else
                    put(&t, "%s%u", kinds[k].prefix, tr->id);
                first = first_kind = false;
            }
        }
    }
    return buf;
}

bool ns_sa_legacy_would_match(const struct ns_ike_sa *peer, uint8_t protocol, unsigned flags)
{
    struct ns_proposal legacy[NS_MAX_PROPOSALS];
    struct ns_sa_choice ch;
    unsigned n = ns_conf_legacy_suites(protocol, legacy, NS_MAX_PROPOSALS);
    return n != 0 && find_match(legacy, n, protocol, peer, 0, flags, &ch);
}
