/* IKE fragmentation (RFC 7383): splitting an SK message into Encrypted
 * Fragment (SKF) messages, each protected on its own, and putting the
 * fragments of a message back together.
 *
 * An SKF payload (2.5) is the SK payload (RFC 7296 3.14) with two 16-bit
 * fields after its generic header, the Fragment Number (1..total) and
 * Total Fragments; they are inside the integrity (in the associated data
 * for an AEAD). Fragment 1's Next Payload names the first inner payload,
 * the others carry 0. The decrypted contents, in fragment order, are the
 * inner payload chain of the message.
 *
 * Reassembly (2.6) is bounded: at most lim->max_frags fragments and
 * lim->max_bytes of plaintext per message, abandoned lim->timeout_ms after
 * its first fragment. Every fragment is checked in this order, cheapest
 * first, and nothing changes before its ICV verified:
 *   numbers (0, above the total or the limit)     -> out_of_range
 *   total below the one being reassembled         -> wrong_total
 *   a number already held, same ICV               -> duplicate
 *   a number already held, another ICV            -> overlapping
 *   the ICV                                       -> forged
 * A verified fragment with a larger total restarts the reassembly (the
 * sender made smaller fragments, 2.5.2); one that would pass max_bytes
 * abandons it (too_big). So a forged or replayed fragment never changes a
 * reassembly in progress. The caller checks the message ID window first
 * (2.6: fragments of a message the SA does not expect are not kept).
 *
 * Reassemblies may also share a pool (struct ns_frag_pool) that bounds
 * how many of them are in progress and the plaintext they hold together:
 * a verified fragment that would start one more, or pass the pool's
 * bytes, is dropped (busy) and the reassembly in progress stays as it
 * was; the sender's retransmission brings it again. */
#ifndef NATSEC_IKE_FRAG_H
#define NATSEC_IKE_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cipher.h"
#include "ike/msg.h"

/* Fragment Number and Total Fragments, after the generic header. */
#define NS_FRAG_FIELDS_LEN 4
/* The engine's bounds (ike/engine_frag.c). One message: the largest
 * certificate chain the configuration takes (32768 bytes, conf/creds.c)
 * and the rest of an IKE_AUTH fit NS_FRAG_MAX_BYTES of plaintext, also in
 * fragments of the RFC's IPv4 minimum of 576 bytes (about 470 bytes of
 * plaintext each: at most 88 fragments). */
#define NS_FRAG_MAX_FRAGMENTS 128
#define NS_FRAG_MAX_BYTES 40960
#define NS_FRAG_TIMEOUT_MS 30000
/* The engine's two pools: reassemblies of IKE SAs whose peer is not
 * authenticated yet (IKE_AUTH in progress: R15), and of the others. */
#define NS_FRAG_HALF_OPEN_MAX 64
#define NS_FRAG_HALF_OPEN_BYTES (1u << 20)
#define NS_FRAG_ESTABLISHED_MAX 1024
#define NS_FRAG_ESTABLISHED_BYTES (8u << 20)

struct ns_frag_limits {
    unsigned max_frags; /* at most NS_FRAG_MAX_FRAGMENTS */
    size_t max_bytes;   /* of plaintext, per message */
    uint64_t timeout_ms;
};

struct ns_frag_counters {
    uint64_t sent;         /* fragments sent in new messages (not retransmissions) */
    uint64_t received;     /* fragments verified and kept */
    uint64_t reassembled;  /* messages put together */
    uint64_t out_of_range; /* number 0 or above the total, total 0 or above the limit */
    uint64_t wrong_total;  /* total below that of the reassembly in progress */
    uint64_t duplicate;    /* a fragment already held, again */
    uint64_t overlapping;  /* another fragment with the number of one held */
    uint64_t forged;       /* the ICV did not verify */
    uint64_t too_big;      /* reassemblies abandoned at max_bytes */
    uint64_t expired;      /* reassemblies abandoned at their deadline */
    uint64_t busy;         /* verified fragments refused: their pool was full */
};

/* What the reassemblies sharing it may hold at once: at most max_open in
 * progress, max_bytes of plaintext together. open and bytes count what
 * they hold; each reassembly is charged from its first fragment until it
 * is reset (taken, abandoned, expired). */
struct ns_frag_pool {
    unsigned max_open;
    size_t max_bytes;
    unsigned open;
    size_t bytes;
};

/* One SKF payload of a message, parsed (not yet verified). */
struct ns_skf {
    uint16_t number, total;
    uint8_t next_payload;
    size_t aad_len; /* the message up to the IV: header, generic header, numbers */
    size_t body_len; /* IV | ciphertext | ICV */
};

/* Parses the SKF payload skf found in msg[0..len) (it must lie in msg and
 * reach its end, as the last payload). NS_IKE_OK, ESYNTAX or ELENGTH. */
int ns_frag_parse(const uint8_t *msg, size_t len, const struct ns_ike_payload *skf,
                  struct ns_skf *out);
/* Verifies and decrypts the fragment in place; its content (padding
 * removed) is then msg[*pt_off .. *pt_off + *pt_len). NS_IKE_OK, EAUTH,
 * ELENGTH (a body too short, CBC not block aligned) or ESYNTAX (padding). */
int ns_frag_open(struct ns_cipher *c, uint8_t *msg, const struct ns_skf *f, size_t *pt_off,
                 size_t *pt_len);

/* ---- splitting ---- */

/* The sealed length the SK message open in b would have with cipher c. */
size_t ns_frag_sealed_len(const struct ns_ike_builder *b, const struct ns_cipher *c);
/* Seals the SK message open in b (after ns_ike_sk_begin and its inner
 * payloads, instead of ns_ike_sk_seal) as SKF messages of at most max_msg
 * bytes each, written one after the other into out[0..cap) (each starts
 * with its IKE header, whose length field delimits it). A fresh random IV
 * for each. Returns the bytes written, or a negative NS_IKE_E* code
 * (ENOSPACE: out is too small; ELENGTH: max_msg leaves no room, or more
 * than NS_FRAG_MAX_FRAGMENTS fragments). n_frags gets the count. */
int ns_frag_split(struct ns_ike_builder *b, struct ns_cipher *c, size_t max_msg, uint8_t *out,
                  size_t cap, unsigned *n_frags);

/* ---- reassembly ---- */

struct ns_frag_piece {
    uint8_t *data; /* heap; NULL: not received */
    size_t len;
    uint8_t icv[NS_CIPHER_MAX_ICV];
    size_t icv_len;
};

/* One message being put together: the state of one direction (requests
 * of the peer, or responses to ours) of one IKE SA. Zeroed: idle. */
struct ns_frag_reasm {
    bool active;
    uint32_t msg_id;
    uint16_t total, have;
    uint8_t first_payload; /* fragment 1's Next Payload */
    size_t bytes;
    uint64_t deadline;
    struct ns_frag_pool *pool; /* charged to while active; NULL: none */
    struct ns_frag_piece piece[NS_FRAG_MAX_FRAGMENTS];
};

enum ns_frag_verdict {
    NS_FRAG_DROPPED = 0,  /* counted in ctr; *ike_err says why as an NS_IKE_E* code */
    NS_FRAG_HELD = 1,     /* kept, more to come */
    NS_FRAG_COMPLETE = 2, /* every fragment is here: ns_frag_take */
};

/* Takes one fragment of message msg_id (the caller checked the window):
 * msg[0..len) holds the parsed SKF payload skf. c is the inbound SK
 * cipher. pool (NULL: none) is charged for a reassembly this fragment
 * starts. *ike_err gets EAUTH for a forged fragment, ENOSPACE for one the
 * pool has no room for, another NS_IKE_E* code for a malformed one,
 * NS_IKE_OK otherwise. */
enum ns_frag_verdict ns_frag_add(struct ns_frag_reasm *r, const struct ns_frag_limits *lim,
                                 struct ns_frag_pool *pool, struct ns_frag_counters *ctr,
                                 struct ns_cipher *c, uint32_t msg_id, uint8_t *msg, size_t len,
                                 const struct ns_ike_payload *skf, uint64_t now_ms, int *ike_err);
/* The complete message's inner payload chain (heap: the caller frees it)
 * and its first payload type; the reassembly is idle again. NULL when it
 * is not complete or no memory (then also idle). */
uint8_t *ns_frag_take(struct ns_frag_reasm *r, size_t *len, uint8_t *first_payload);
/* Abandons a reassembly (frees what it holds); idle again. */
void ns_frag_reset(struct ns_frag_reasm *r);
/* Abandons it when its deadline passed (counted in ctr->expired); true then. */
bool ns_frag_expire(struct ns_frag_reasm *r, struct ns_frag_counters *ctr, uint64_t now_ms);

#endif
