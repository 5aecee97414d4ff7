/* Per-source fair share of the half-open IKE SAs (X13, R15).
 *
 * The gateway keeps at most half_open_max IKE SAs that have answered
 * IKE_SA_INIT but not seen IKE_AUTH yet. A COOKIE (RFC 7296 2.6) only
 * proves that a request's source address is real; a host that receives and
 * returns cookies can still fill the whole table by never sending IKE_AUTH,
 * and then every other client would be refused until those time out. A
 * small cap per address (strongSwan's answer) refuses instead the honest
 * crowd behind one carrier-grade NAT, which shares one public address.
 *
 * So there is no cap per source. This table counts the half-open SAs each
 * source holds, and when the table is full the engine asks it for a victim:
 * a new request from a source that holds at least two fewer than the
 * largest holder takes the place of that holder's oldest half-open SA
 * (afterwards it still holds no more than the holder keeps); a request from
 * the largest holder, or from one as large but for one, is refused as
 * before. One heavy source can therefore never starve the others, while a
 * thousand clients behind one address are refused only when they alone
 * fill the table. Among sources of equal share nothing is evicted, so a
 * crowd of distinct clients reconnecting at once (a gateway restart) sees
 * the plain limit and no handshake work is thrown away; a newcomer is thus
 * refused only when every source in the table holds at most one (at least
 * half_open_max distinct real sources, or half_open_max 1).
 *
 * A source is the outer IPv4 address, or the /64 prefix of an IPv6 one
 * (one host commonly holds a whole /64, and every address in it returns
 * cookies; RFC 8019 makes the same point for per-address limits).
 *
 * Every operation is O(1): sources are found through a hash table (the
 * caller supplies a keyed hash: peers choose their addresses), and the
 * largest holder through lists of the sources holding each count, whose
 * maximum moves by at most one per change. Memory: one small entry per
 * source with half-open SAs, allocated when its first half-open SA is made
 * and freed when its last one goes; the hash and count arrays grow (by
 * doubling) to the most sources and the largest count seen, both bounded
 * by the number of half-open SAs. Nothing is allocated otherwise. */
#ifndef NATSEC_IKE_HALFOPEN_H
#define NATSEC_IKE_HALFOPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

struct ns_halfopen_src;

/* Embedded in each half-open SA: its place in its source's list. */
struct ns_halfopen_link {
    struct ns_halfopen_link *prev, *next; /* the source's half-open SAs, oldest first */
    struct ns_halfopen_src *src;          /* NULL: not counted here */
    uint64_t since_ms; /* the engine's: when its endpoint's handshake became half-open */
};

struct ns_halfopen_table {
    struct ns_halfopen_src **hb; /* hash chains, a power of two of them */
    size_t nb;
    size_t n_src;                  /* sources holding at least one half-open SA */
    size_t n_links;                /* half-open SAs counted */
    struct ns_halfopen_src **by_n; /* by_n[c]: the sources holding exactly c (c >= 1) */
    size_t n_by_n;                 /* entries of by_n */
    unsigned max;                  /* the largest count held, 0 when empty */
};

/* The source an address counts for: the address itself for IPv4, its /64
 * prefix (the rest zero) for IPv6. */
void ns_halfopen_source_of(const struct ns_addr *addr, struct ns_addr *src);

/* An empty table; 0, or -1 without memory. */
int ns_halfopen_init(struct ns_halfopen_table *t);
/* Frees the table. Links still in it are forgotten (their src pointers
 * dangle): unlink every SA first. */
void ns_halfopen_free(struct ns_halfopen_table *t);

/* How many half-open SAs source src (from ns_halfopen_source_of, with the hash
 * the caller computes over it) holds now. */
unsigned ns_halfopen_count(const struct ns_halfopen_table *t, const struct ns_addr *src,
                           uint64_t hash);
/* Counts link as src's newest half-open SA. 0, or -1 without memory (the
 * link is then not counted). link must not be counted already. */
int ns_halfopen_add(struct ns_halfopen_table *t, struct ns_halfopen_link *link,
                    const struct ns_addr *src, uint64_t hash);
/* Stops counting link; nothing when it is not counted. A source whose
 * count drops to 0 is freed. */
void ns_halfopen_del(struct ns_halfopen_table *t, struct ns_halfopen_link *link);

/* For a full table: the half-open SA a new request from a source holding
 * newcomer_count should replace (the oldest of a largest holder), or NULL
 * when the request is to be refused (that source holds within one of the
 * largest count). */
struct ns_halfopen_link *ns_halfopen_victim(const struct ns_halfopen_table *t,
                                            unsigned newcomer_count);

size_t ns_halfopen_sources(const struct ns_halfopen_table *t);
unsigned ns_halfopen_largest(const struct ns_halfopen_table *t);

/* Walks everything (O(n), for tests and fuzzing): every count equals its
 * list's length, every source is in the list of its count and in its hash
 * chain, max is the largest count, the totals add up. */
bool ns_halfopen_consistent(const struct ns_halfopen_table *t);

#endif
