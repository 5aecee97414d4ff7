/* The layout of an SA, shared by the files of src/esp only (sad.c, esp_in.c,
 * esp_out.c); everything outside goes through sad.h and esp.h. */
#ifndef NATSEC_ESP_SA_PRIV_H
#define NATSEC_ESP_SA_PRIV_H

#include "crypto/cipher.h"
#include "esp/htab.h"
#include "esp/replay.h"
#include "esp/sad.h"

/* One remote selector of an outbound SA, linked either into the exact
 * address hash or into the list of wider selectors. */
struct ns_esp_out_link {
    struct ns_esp_hnode hnode;    /* in sad->out_exact, when exact */
    struct ns_esp_out_link *next; /* in sad->out_wide, when not */
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
    uint8_t iv_len, icv_len, block_len;
    struct ns_cipher *cipher;
    uint64_t seq_out; /* outbound: last sequence number used */
    struct ns_esp_sa_stats stats;

    struct ns_ts local_ts[NS_SA_MAX_TS];
    unsigned n_local_ts;
    struct ns_ts remote_ts[NS_SA_MAX_TS];
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
    struct ns_esp_out_link out[NS_SA_MAX_TS];

    struct ns_replay replay; /* inbound only */
};

/* Counts a drop (or discard) in the SAD's global counters. */
void ns_sad_count_drop(struct ns_sad *sad, enum ns_esp_result r);

#endif
