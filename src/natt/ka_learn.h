/* How often the side behind a NAT sends a keepalive (X1, keepalive =
 * auto): learned from whether the NAT's UDP mapping survived the silences
 * between our packets. Pure: no I/O, no clock; the caller passes the time
 * and what it measured.
 *
 * The caller sends a keepalive after interval_ms without any packet to or
 * from the peer. Now and then that keepalive is a check of the mapping
 * (ns_ka_learn_check_due): an exchange whose answer says whether the
 * public address and port the peer sees changed since the previous check
 * (natsecd: an IKE liveness check with NAT detection). The caller then
 * reports the longest silence since the previous check (a lower bound:
 * no packet went either way for at least that long) and whether the
 * mapping changed (ns_ka_learn_result):
 *
 *   - changed: the NAT forgot the mapping after at most that silence
 *     (lost_ms). The interval drops to the longest silence known to have
 *     survived, less the caller's timer slack, or half of lost_ms if that
 *     is longer, never below floor_ms; the lost bound is trusted for
 *     NS_KA_HOLD_MS, during which the interval does not grow.
 *   - unchanged: the mapping survived that silence (lived_ms). With no
 *     trusted lost bound, the interval grows by a quarter (at least 1 s)
 *     up to cap_ms; each step is checked by the next keepalive.
 *
 * So a NAT that forgets after L seconds costs one silence longer than L
 * per hold time at most (while the interval probes upwards), and the
 * interval settles just below L. A NAT that keeps its mappings longer
 * than cap_ms is refreshed every cap_ms, the fixed default of RFC 3948. */
#ifndef NATSEC_NATT_KA_LEARN_H
#define NATSEC_NATT_KA_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#define NS_KA_FLOOR_MS 5000u   /* never more often: 5 s covers the shortest NAT timers seen */
#define NS_KA_CAP_MS 20000u    /* RFC 3948 4's default, and the start */
#define NS_KA_HOLD_MS 600000u  /* a lost bound is trusted this long (10 min) */
#define NS_KA_CHECK_MS 120000u /* a check at least this often (2 min) */
#define NS_KA_SLACK_MS 1000u   /* how late the caller's timer may send */

struct ns_ka_learn {
    uint32_t floor_ms, cap_ms;
    uint32_t interval_ms; /* send a keepalive after this much silence */
    uint32_t lived_ms;    /* longest silence a mapping survived; 0: none seen */
    uint32_t lost_ms;     /* shortest silence after which it changed; 0: none trusted */
    uint64_t lost_at_ms;  /* when lost_ms was learned */
    uint64_t checked_ms;  /* time of the last result; 0: none yet */
    unsigned changes;     /* mappings found changed */
    unsigned checks;      /* results reported */
};

/* Starts at cap_ms with nothing known. floor_ms <= cap_ms, both > 0. */
void ns_ka_learn_init(struct ns_ka_learn *l, uint32_t floor_ms, uint32_t cap_ms);

/* Whether the keepalive due now, after silence_ms without a packet either
 * way, should be a check of the mapping: there was none yet, the last one
 * is NS_KA_CHECK_MS old, or the interval in use has not been seen to
 * survive yet and this silence is as long as the interval. */
bool ns_ka_learn_check_due(const struct ns_ka_learn *l, uint32_t silence_ms, uint64_t now_ms);

/* A check's answer: silence_ms the longest silence since the previous
 * check, changed whether the mapping changed meanwhile. */
void ns_ka_learn_result(struct ns_ka_learn *l, uint32_t silence_ms, bool changed, uint64_t now_ms);

#endif
