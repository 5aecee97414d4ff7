/* Transport-mode traffic selectors through a NAT: see ts_transport.h. */
#include "ike/ts_transport.h"

#include <string.h>

#include "ike/ts_narrow.h"

bool ns_ts_transport_addr(const struct ns_ts *ts, unsigned n, struct ns_addr *out)
{
    if (n == 0)
        return false;
    for (unsigned i = 0; i < n; i++) {
        if (ns_addr_len(&ts[i].lo) == 0 || !ns_addr_equal(&ts[i].lo, &ts[i].hi) ||
            !ns_addr_equal(&ts[i].lo, &ts[0].lo))
            return false;
    }
    *out = ts[0].lo;
    return true;
}

/* Copies the n selectors with their address replaced by a (protocol and
 * ports kept), duplicates removed. Returns how many. */
static unsigned pin(const struct ns_ts *in, unsigned n, const struct ns_addr *a, struct ns_ts *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && k < NS_SA_MAX_TS; i++) {
        struct ns_ts t = in[i];
        t.lo = t.hi = *a;
        bool dup = false;
        for (unsigned j = 0; j < k && !dup; j++)
            dup = ns_ts_within(&t, &out[j]);
        if (!dup)
            out[k++] = t;
    }
    return k;
}

/* The substituted address of one side: what we see when a NAT is in the
 * way, else what was claimed, which must then be what we see. */
static bool substitute(const struct ns_addr *claimed, const struct ns_addr *seen, bool nat,
                       struct ns_addr *out)
{
    if (ns_addr_len(seen) == 0 || seen->family != claimed->family)
        return false;
    if (!nat && !ns_addr_equal(claimed, seen))
        return false;
    *out = *seen;
    return true;
}

/* Fills out from the selectors as received and the two substituted
 * addresses. peer_own/peer_sees_us: the addresses the peer's checksums are
 * over; deliver_src/deliver_dst: the ones its packets arrive with. */
static void finish(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr, unsigned n_tsr,
                   const struct ns_addr *new_i, const struct ns_addr *new_r,
                   const struct ns_addr *peer_own, const struct ns_addr *peer_sees_us,
                   const struct ns_addr *deliver_src, const struct ns_addr *deliver_dst,
                   struct ns_ts_transport *out)
{
    out->n_tsi = pin(tsi, n_tsi, new_i, out->tsi);
    out->n_tsr = pin(tsr, n_tsr, new_r, out->tsr);
    if (!ns_addr_equal(peer_own, deliver_src) || !ns_addr_equal(peer_sees_us, deliver_dst)) {
        out->orig_src = *peer_own;
        out->orig_dst = *peer_sees_us;
    }
}

bool ns_ts_transport_responder(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr,
                               unsigned n_tsr, const struct ns_ts_transport_view *v,
                               struct ns_ts_transport *out)
{
    memset(out, 0, sizeof(*out));
    struct ns_addr ip1, ipn2, new_i, new_r;
    if (n_tsi > NS_SA_MAX_TS || n_tsr > NS_SA_MAX_TS || !ns_ts_transport_addr(tsi, n_tsi, &ip1) ||
        !ns_ts_transport_addr(tsr, n_tsr, &ipn2))
        return false;
    /* 2.23.1: "If the client is behind a NAT, substitute the IP address in
     * the TSi entries with the remote address of the IKE SA"; likewise TSr
     * with our own address when we are behind one. */
    if (!substitute(&ip1, &v->remote, v->nat_remote, &new_i) ||
        !substitute(&ipn2, &v->local, v->nat_local, &new_r))
        return false;
    /* The initiator's packets: checksums over IP1 -> IPN2, delivered from
     * where they come (its IKE address) to us. */
    finish(tsi, n_tsi, tsr, n_tsr, &new_i, &new_r, &ip1, &ipn2, &new_i, &new_r, out);
    return true;
}

bool ns_ts_transport_initiator(const struct ns_ts *tsi, unsigned n_tsi, const struct ns_ts *tsr,
                               unsigned n_tsr, const struct ns_ts_transport_view *v,
                               struct ns_ts_transport *out)
{
    memset(out, 0, sizeof(*out));
    struct ns_addr ipn1, ip2, new_i, new_r;
    if (n_tsi > NS_SA_MAX_TS || n_tsr > NS_SA_MAX_TS || !ns_ts_transport_addr(tsi, n_tsi, &ipn1) ||
        !ns_ts_transport_addr(tsr, n_tsr, &ip2))
        return false;
    if (ipn1.family != v->local.family || ip2.family != v->remote.family)
        return false;
    /* 2.23.1: "replace IPN1 with IP1 and IP2 with IPN2", each only where a
     * NAT is; elsewhere the answer stays as it is and the caller's
     * narrowing check decides whether it is what we asked. */
    new_i = v->nat_local ? v->local : ipn1;
    new_r = v->nat_remote ? v->remote : ip2;
    /* The responder's packets: checksums over IP2 -> IPN1, delivered from
     * the responder's address as we see it to ours. */
    finish(tsi, n_tsi, tsr, n_tsr, &new_i, &new_r, &ip2, &ipn1, &new_r, &new_i, out);
    return true;
}
