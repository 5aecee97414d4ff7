/* The layout of an SA, shared by the files of src/esp only (sad.c, esp_in.c,
 * esp_out.c); everything outside goes through sad.h and esp.h. */
#ifndef NATSEC_ESP_SA_PRIV_H
#define NATSEC_ESP_SA_PRIV_H

#include "crypto/cipher.h"
#include "esp/esp.h"
#include "esp/htab.h"
#include "esp/replay.h"
#include "esp/sad.h"
#include "util/buf.h"
#include "util/spin.h"

/* One remote selector of an outbound SA, linked either into the exact
 * address hash or into the list of wider selectors. */
struct ns_esp_out_link {
    struct ns_esp_hnode hnode;    /* in sad->out_exact, when exact */
    struct ns_esp_out_link *next; /* in sad->out_wide, when not */
    /* The pointer that points at this link in sad->out_wide (the list's
     * head or the previous link's next), so removal is O(1): a gateway or
     * load process may hold many SAs with the same wide selector. */
    struct ns_esp_out_link **pprev;
    struct ns_esp_sa *sa;
    const struct ns_ts *ts; /* in sa->remote_ts */
    unsigned specificity;   /* leading bits lo and hi share: more = narrower */
    bool exact;
    bool linked;
};

struct ns_esp_sa {
    /* Per-packet fields first, to share cache lines. */
    uint32_t spi;
    enum ns_esp_dir dir;
    enum ns_esp_mode mode;
    bool esn;
    bool udp_encap;
    bool aead;
    /* Several threads may use this SA at once (ns_sad_set_shared): atomics
     * and spin locks for its per-packet state; false: plain stores. */
    bool shared;
    uint8_t iv_len, icv_len, block_len;
    struct ns_cipher *cipher;
    /* util/spin.h: held around every use of cipher, whose OpenSSL context
     * holds the packet's IV and state: workers on several cores may seal
     * (or open) on one SA at once. */
    unsigned char cipher_lock;
    /* Outbound: last sequence number used; taken with an atomic add, so
     * workers sealing on one SA at once never share a number. Past the
     * limit (rekey) it may run ahead of it by the packets refused. */
    uint64_t seq_out;
    /* Outbound: the peer address is not checked yet (ns_sad_set_path_verified);
     * unverified_left packets may still go there. Written under the SAD's
     * exclusive lock, counted down by the outbound paths (atomically). */
    bool path_unverified;
    uint32_t unverified_left;
    /* Written by the data paths with ns_esp_count/ns_esp_stamp, read under
     * the SAD's exclusive hold. */
    struct ns_esp_sa_stats stats;

    /* Selectors, and by direction the outbound index links or the replay
     * window, sit in the SA's own allocation right after the struct, sized
     * to what was negotiated (sad.c: sa_alloc): a gateway holds two SAs per
     * client (R12), most with one selector each way, and only the inbound
     * one needs a window. */
    struct ns_ts *local_ts; /* n_local_ts */
    unsigned n_local_ts;
    struct ns_ts *remote_ts; /* n_remote_ts */
    unsigned n_remote_ts;

    struct ns_endpoint local, peer;
    struct ns_addr orig_src, orig_dst;
    uint64_t ike_sa_id;
    uint32_t paired_spi;
    enum ns_encr_alg encr;
    unsigned key_bits;
    enum ns_integ_alg integ;
    uint64_t gen; /* installation order: the newest SA wins a lookup */

    struct ns_esp_sa *prev, *next; /* all SAs, installation order */
    struct ns_esp_hnode ike_node;  /* in sad->by_ike */

    union {
        struct ns_esp_out_link *out; /* outbound: n_remote_ts links */
        struct ns_replay *replay;    /* inbound */
    };
};

/* What the cipher authenticates besides the body, the same for sealing
 * and opening: the ESP header as on the wire; with ESN, for an AEAD the SPI
 * and the whole 64-bit sequence number instead (ns_esp_aad), for HMAC the
 * high 32 bits of the sequence number after the body (hi). aad points at
 * esp or into the struct, which must outlive its use. */
struct ns_esp_auth_data {
    uint8_t buf[12], esn_hi[4];
    const uint8_t *aad;
    size_t aad_len;
    const uint8_t *hi; /* NULL without ESN or with an AEAD */
};

/* A counter or time stamp of sa that data-plane workers on several cores
 * may write at once (sad.h: threads): relaxed atomics, never lost, ordered
 * by nothing, when sa is shared; whoever reads them holds the SAD
 * exclusively. */
static inline void ns_esp_count(const struct ns_esp_sa *sa, uint64_t *c, uint64_t n)
{
    if (sa->shared)
        __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
    else
        *c += n;
}

static inline void ns_esp_stamp(uint64_t *t, uint64_t v)
{
    __atomic_store_n(t, v, __ATOMIC_RELAXED); /* a plain store on every CPU natsec runs on */
}

/* Around every use of sa->cipher. */
static inline void ns_esp_cipher_lock(struct ns_esp_sa *sa)
{
    if (sa->shared)
        ns_spin_lock(&sa->cipher_lock);
}

static inline void ns_esp_cipher_unlock(struct ns_esp_sa *sa)
{
    if (sa->shared)
        ns_spin_unlock(&sa->cipher_lock);
}

/* Inline: it runs for every packet, on both paths. */
/* Padding after a payload of plen bytes so that payload, padding and the
 * 2-byte trailer fill whole cipher blocks (RFC 4303 2.4; block_len 4 for
 * stream and AEAD ciphers: the 4-byte alignment ESP asks for anyway). */
static inline size_t ns_esp_pad_len(const struct ns_esp_sa *sa, size_t plen)
{
    return (sa->block_len - (plen + 2) % sa->block_len) % sa->block_len;
}

static inline void ns_esp_auth_data_init(struct ns_esp_auth_data *ad, const struct ns_esp_sa *sa,
                                         const uint8_t *esp, uint32_t spi, uint64_t seq)
{
    ad->aad = esp;
    ad->aad_len = NS_ESP_HDR_LEN;
    ad->hi = NULL;
    if (sa->esn) {
        if (sa->aead) {
            ad->aad_len = ns_esp_aad(ad->buf, spi, seq, true);
            ad->aad = ad->buf;
        } else {
            ns_put_u32(ad->esn_hi, (uint32_t)(seq >> 32));
            ad->hi = ad->esn_hi;
        }
    }
}

/* Counts a drop (or discard) in the SAD's counters of that direction:
 * ns_esp_decap counts inbound, ns_esp_output/encap outbound, so the two
 * paths never write the same counter (sad.h: threads). */
void ns_sad_count_drop(struct ns_sad *sad, enum ns_esp_dir dir, enum ns_esp_result r);

#endif
