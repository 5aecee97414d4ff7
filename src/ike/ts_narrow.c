/* Traffic selector narrowing: see ts_narrow.h. */
#include "ike/ts_narrow.h"

#include <string.h>

bool ns_ts_is_placeholder(const struct ns_ts *ts)
{
    size_t n = ns_addr_len(&ts->lo);
    if (n == 0 || ts->hi.family != ts->lo.family)
        return false;
    static const uint8_t zero[16];
    return memcmp(ts->lo.a, zero, n) == 0 && memcmp(ts->hi.a, zero, n) == 0;
}

bool ns_ts_within(const struct ns_ts *inner, const struct ns_ts *outer)
{
    if (inner->lo.family == 0 || inner->lo.family != inner->hi.family ||
        inner->lo.family != outer->lo.family || outer->lo.family != outer->hi.family)
        return false;
    if (outer->ip_proto != 0 && inner->ip_proto != outer->ip_proto)
        return false;
    if (inner->port_lo < outer->port_lo || inner->port_hi > outer->port_hi)
        return false;
    return ns_addr_cmp(&outer->lo, &inner->lo) <= 0 && ns_addr_cmp(&inner->hi, &outer->hi) <= 0;
}

/* Appends t unless a selector already in out covers it (the union stays
 * the same; this removes exact duplicates too). Returns the new count. */
static unsigned add_unique(struct ns_ts *out, unsigned n, unsigned max, const struct ns_ts *t)
{
    for (unsigned k = 0; k < n; k++)
        if (ns_ts_within(t, &out[k]))
            return n;
    if (n >= max)
        return n;
    out[n] = *t;
    return n + 1;
}

unsigned ns_ts_narrow_list(const struct ns_ts *offered, unsigned n_offered,
                           const struct ns_ts *policy, unsigned n_policy, struct ns_ts *out,
                           unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < n_offered; i++) {
        for (unsigned j = 0; j < n_policy; j++) {
            struct ns_ts t;
            if (ns_ts_intersect(&offered[i], &policy[j], &t))
                n = add_unique(out, n, max, &t);
        }
    }
    return n;
}

/* Appends to out the client's selectors narrowed to vip/len: exactly its
 * virtual IP or delegated prefix, whatever it asked for (any, or a
 * placeholder), keeping its protocol/port limits. A selector that does not
 * meet it (its pre-NAT private address, say) gives nothing. */
static unsigned narrow_to_vip(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_addr *vip,
                              unsigned len, struct ns_ts *out, unsigned n, unsigned max)
{
    struct ns_ts vip_ts;
    ns_ts_from_addr(&vip_ts, vip);
    for (unsigned bit = len; bit < 8 * ns_addr_len(vip); bit++)
        vip_ts.hi.a[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
    for (unsigned i = 0; i < n_tsi; i++) {
        struct ns_ts t;
        if (ns_ts_is_placeholder(&tsi[i]) && tsi[i].lo.family == vip->family) {
            t = tsi[i];
            t.lo = vip_ts.lo;
            t.hi = vip_ts.hi;
        } else if (!ns_ts_intersect(&tsi[i], &vip_ts, &t)) {
            continue;
        }
        n = add_unique(out, n, max, &t);
    }
    return n;
}

int ns_ts_narrow_gateway(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr,
                         unsigned n_tsr, const struct ns_addr *vip, const struct ns_addr *vip6,
                         unsigned vip6_len, const struct ns_ts *allowed, unsigned n_allowed,
                         struct ns_ts *out_tsi, unsigned *n_out_tsi, struct ns_ts *out_tsr,
                         unsigned *n_out_tsr, unsigned max)
{
    *n_out_tsi = 0;
    *n_out_tsr = 0;
    bool have4 = vip && vip->family, have6 = vip6 && vip6->family;
    if (!have4 && !have6)
        return NS_TS_UNACCEPTABLE;

    unsigned ni = have4 ? narrow_to_vip(tsi, n_tsi, vip, 32, out_tsi, 0, max) : 0;
    if (have6)
        ni = narrow_to_vip(tsi, n_tsi, vip6, vip6_len ? vip6_len : 128, out_tsi, ni, max);

    /* TSr: only what both the client asked for and its identity may reach,
     * and only of a family TSi kept: the SA could not carry the rest. */
    struct ns_ts r[NS_TS_NARROW_MAX];
    unsigned cap = max < NS_TS_NARROW_MAX ? max : NS_TS_NARROW_MAX;
    unsigned nn = ns_ts_narrow_list(tsr, n_tsr, allowed, n_allowed, r, cap), nr = 0;
    for (unsigned k = 0; k < nn; k++) {
        bool kept = false;
        for (unsigned i = 0; i < ni && !kept; i++)
            kept = out_tsi[i].lo.family == r[k].lo.family;
        if (kept)
            out_tsr[nr++] = r[k];
    }
    if (ni == 0 || nr == 0)
        return NS_TS_UNACCEPTABLE;
    *n_out_tsi = ni;
    *n_out_tsr = nr;
    return NS_TS_OK;
}

bool ns_ts_check_narrowed(const struct ns_ts *proposed, unsigned n_proposed,
                          const struct ns_ts *got, unsigned n_got, const struct ns_addr *assigned)
{
    if (n_got == 0)
        return false;
    bool have_assigned = assigned && assigned->family != 0;
    for (unsigned g = 0; g < n_got; g++) {
        bool ok = false;
        for (unsigned p = 0; p < n_proposed && !ok; p++) {
            struct ns_ts outer = proposed[p];
            if (have_assigned && ns_ts_is_placeholder(&outer) &&
                outer.lo.family == assigned->family)
                outer.lo = outer.hi = *assigned;
            ok = ns_ts_within(&got[g], &outer);
        }
        if (!ok)
            return false;
    }
    return true;
}
