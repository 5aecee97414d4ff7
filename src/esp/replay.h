/* ESP anti-replay window (RFC 4303 3.4.3) with extended sequence numbers
 * (RFC 4303 appendix A). The window is a ring of 64-bit words indexed by
 * sequence number (the scheme of RFC 6479): a check is one word read, an
 * advance clears only the words it passes, so both are O(1) whatever the
 * window size.
 *
 * Use: seq = ns_replay_infer(); if !ns_replay_check(seq) drop; verify the
 * ICV using seq's high half; only then ns_replay_update(seq), and drop the
 * packet when that says it was seen after all.
 *
 * Threads: several data-plane workers may open packets of one SA at once
 * (its packets reach whichever worker their outer 4-tuple hashes to, and
 * a NAT rebinding changes that). infer and check read the window without
 * a lock, with relaxed atomic loads: they only spare the decryption of a
 * packet that is surely a replay. update takes the window's own spin lock
 * and checks again under it, so of two copies of one number decrypted at
 * once exactly one is accepted; a check that read a word while an update
 * reused it for a newer range can only refuse a number that the newer top
 * left behind the window anyway (the ring holds a spare word). Uncontended,
 * the lock is one atomic exchange and one release store per packet. */
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
    unsigned char lock; /* util/spin.h, held by ns_replay_update */
};

/* What ns_replay_update made of an authenticated number. */
enum ns_replay_verdict {
    NS_REPLAY_SEEN,   /* another thread accepted it since the check: a replay */
    NS_REPLAY_INSIDE, /* recorded inside the window, behind the highest number */
    NS_REPLAY_NEWEST, /* recorded as the highest number: the packet is the newest */
};

void ns_replay_init(struct ns_replay *r);
/* The full 64-bit sequence number of a packet carrying seq_lo: with ESN the
 * high half is inferred from the window (RFC 4303 A2.1), without it is 0.
 * Returns 0 (never valid) when the inferred number would be below 1. */
uint64_t ns_replay_infer(const struct ns_replay *r, uint32_t seq_lo, bool esn);
/* Whether seq may be accepted: not 0, not left of the window, not seen. */
bool ns_replay_check(const struct ns_replay *r, uint64_t seq);
/* Records seq (which passed ns_replay_check and the ICV), checking it again
 * under the window's lock when shared (other threads may update it at
 * once; without, the caller promises none does). */
enum ns_replay_verdict ns_replay_update(struct ns_replay *r, uint64_t seq, bool shared);

#endif
