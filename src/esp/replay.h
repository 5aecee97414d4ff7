/* ESP anti-replay window (RFC 4303 3.4.3) with extended sequence numbers
 * (RFC 4303 appendix A). The window is a ring of 64-bit words indexed by
 * sequence number (the scheme of RFC 6479): a check is one word read, an
 * advance clears only the words it passes, so both are O(1) whatever the
 * window size.
 *
 * Use: seq = ns_replay_infer(); if !ns_replay_check(seq) drop; verify the
 * ICV using seq's high half; only then ns_replay_update(seq). */
#ifndef NATSEC_ESP_REPLAY_H
#define NATSEC_ESP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/* Packets accepted behind the highest one seen: wide enough for reordering
 * by multi-queue NICs and multi-core senders at tens of Gbit/s. */
#define NS_REPLAY_WINDOW 4096u
/* One spare word so that the ring always holds a full window. */
#define NS_REPLAY_WORDS (NS_REPLAY_WINDOW / 64 + 1)

struct ns_replay {
    uint64_t top; /* highest authenticated sequence number; 0 = none yet */
    uint64_t bits[NS_REPLAY_WORDS];
};

void ns_replay_init(struct ns_replay *r);
/* The full 64-bit sequence number of a packet carrying seq_lo: with ESN the
 * high half is inferred from the window (RFC 4303 A2.1), without it is 0.
 * Returns 0 (never valid) when the inferred number would be below 1. */
uint64_t ns_replay_infer(const struct ns_replay *r, uint32_t seq_lo, bool esn);
/* Whether seq may be accepted: not 0, not left of the window, not seen. */
bool ns_replay_check(const struct ns_replay *r, uint64_t seq);
/* Records seq (which passed ns_replay_check and the ICV). Returns true when
 * it became the highest number seen, i.e. the packet is the newest. */
bool ns_replay_update(struct ns_replay *r, uint64_t seq);

#endif
