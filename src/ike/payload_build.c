/* Building the structured payload bodies: SA with its nested proposals and
 * transforms (RFC 7296 3.3), traffic selectors (3.13) and configuration
 * attributes (3.15). Nested lengths are patched once each substructure is
 * written, the same way the builder patches payload lengths. */
#include "ike/msg.h"

#define PROPOSAL_MORE 2
#define TRANSFORM_MORE 3
#define ATTR_TV 0x8000
#define SUBSTRUCT_MAX 65535

static void fail(struct ns_ike_builder *b, int err)
{
    if (!b->err)
        b->err = err;
}

/* Patches the 16-bit length at start + 2 with the bytes written since. */
static void patch_len(struct ns_ike_builder *b, size_t start)
{
    if (!ns_writer_ok(&b->w))
        return;
    size_t len = ns_writer_len(&b->w) - start;
    if (len > SUBSTRUCT_MAX) {
        fail(b, NS_IKE_ELENGTH);
        return;
    }
    ns_write_u16_at(&b->w, start + 2, (uint16_t)len);
}

static void add_transform(struct ns_ike_builder *b, const struct ns_ike_transform *t, bool last)
{
    size_t start = ns_writer_len(&b->w);
    ns_write_u8(&b->w, last ? 0 : TRANSFORM_MORE);
    ns_write_u8(&b->w, 0);
    ns_write_u16(&b->w, 0);
    ns_write_u8(&b->w, t->type);
    ns_write_u8(&b->w, 0);
    ns_write_u16(&b->w, t->id);
    if (t->key_len) {
        ns_write_u16(&b->w, ATTR_TV | NS_ATTR_KEY_LENGTH);
        ns_write_u16(&b->w, t->key_len);
    }
    patch_len(b, start);
}

static void add_proposal(struct ns_ike_builder *b, const struct ns_ike_sa_proposal *pr,
                         unsigned index, bool last)
{
    if (pr->n_t > NS_IKE_MAX_TRANSFORMS ||
        (pr->spi_len != 0 && pr->spi_len != 4 && pr->spi_len != 8)) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    size_t start = ns_writer_len(&b->w);
    ns_write_u8(&b->w, last ? 0 : PROPOSAL_MORE);
    ns_write_u8(&b->w, 0);
    ns_write_u16(&b->w, 0);
    ns_write_u8(&b->w, pr->num ? pr->num : (uint8_t)(index + 1));
    ns_write_u8(&b->w, pr->protocol);
    ns_write_u8(&b->w, pr->spi_len);
    ns_write_u8(&b->w, (uint8_t)pr->n_t);
    if (pr->spi_len)
        ns_write_bytes(&b->w, pr->spi, pr->spi_len);
    for (unsigned i = 0; i < pr->n_t; i++)
        add_transform(b, &pr->t[i], i + 1 == pr->n_t);
    patch_len(b, start);
}

void ns_ike_add_sa(struct ns_ike_builder *b, const struct ns_ike_sa *sa)
{
    if (sa->n == 0 || sa->n > NS_IKE_MAX_SA_PROPOSALS) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    ns_ike_build_open(b, NS_PL_SA, false);
    for (unsigned i = 0; i < sa->n; i++)
        add_proposal(b, &sa->prop[i], i, i + 1 == sa->n);
    ns_ike_build_close(b);
}

void ns_ike_add_ts(struct ns_ike_builder *b, uint8_t payload_type, const struct ns_ts *ts,
                   unsigned n)
{
    if ((payload_type != NS_PL_TSI && payload_type != NS_PL_TSR) || n > 255) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t f = ts[i].lo.family;
        if ((f != AF_INET && f != AF_INET6) || ts[i].hi.family != f) {
            fail(b, NS_IKE_ESYNTAX);
            return;
        }
    }
    ns_ike_build_open(b, payload_type, false);
    ns_write_u8(&b->w, (uint8_t)n);
    ns_write_zeros(&b->w, 3);
    for (unsigned i = 0; i < n; i++) {
        bool v4 = ts[i].lo.family == AF_INET;
        size_t alen = v4 ? 4 : 16;
        ns_write_u8(&b->w, v4 ? NS_TS_IPV4_ADDR_RANGE : NS_TS_IPV6_ADDR_RANGE);
        ns_write_u8(&b->w, ts[i].ip_proto);
        ns_write_u16(&b->w, (uint16_t)(8 + 2 * alen));
        ns_write_u16(&b->w, ts[i].port_lo);
        ns_write_u16(&b->w, ts[i].port_hi);
        ns_write_bytes(&b->w, ts[i].lo.a, alen);
        ns_write_bytes(&b->w, ts[i].hi.a, alen);
    }
    ns_ike_build_close(b);
}

void ns_ike_add_cp(struct ns_ike_builder *b, const struct ns_ike_cp *cp)
{
    if (cp->n > NS_IKE_MAX_CP_ATTRS) {
        fail(b, NS_IKE_ESYNTAX);
        return;
    }
    ns_ike_build_open(b, NS_PL_CP, false);
    ns_write_u8(&b->w, cp->type);
    ns_write_zeros(&b->w, 3);
    for (unsigned i = 0; i < cp->n; i++) {
        const struct ns_ike_cp_attr *a = &cp->attr[i];
        ns_write_u16(&b->w, a->type & (uint16_t)~ATTR_TV); /* the R bit is reserved: 0 */
        ns_write_u16(&b->w, a->len);
        if (a->len)
            ns_write_bytes(&b->w, a->data, a->len);
    }
    ns_ike_build_close(b);
}
