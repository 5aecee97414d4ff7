/* The ESP security association database of one host.
 *
 * Inbound SAs are found by SPI alone in O(1) (R7), in the same table that
 * reserves SPIs for negotiations in progress, so every inbound SPI is
 * unique, random and never reused while its SA or reservation lives.
 * Outbound SAs are found from a packet's addresses (the SPD lookup): a hash
 * on exact single-address remote selectors (a gateway's one SA per client,
 * keyed by the client's virtual IP /32) then a short list of wider
 * selectors ordered most specific first (a client's few remote subnets).
 * Every SA is also linked under its IKE SA, so an address update (R4) or a
 * teardown touches only that IKE SA's CHILD_SAs.
 *
 * The SAD's tables take no locks; the caller excludes threads. The data
 * paths (ns_esp_output/ns_esp_encap, ns_esp_decap) change no table and
 * write only per-packet state, each piece of which is safe for any number
 * of threads at once: the outbound sequence number is taken with an atomic
 * add, the replay window is checked again under its own spin lock when a
 * packet is recorded (esp/replay.h), an SA's cipher context is used under
 * its own spin lock, and the SA's counters and the drop counters are
 * relaxed atomic adds. So any number of threads may run both paths on any
 * SAs at once (natsecd's data-plane workers, daemon/natsecd.h), each
 * holding the caller's lock shared, provided everything else (install,
 * remove, update_peer, SPI reservations, and any read of the counters:
 * status, usage, ns_sad_drops) holds it exclusive. Pointers to SAs stay
 * valid until the SA is removed. A caller that runs each direction on one
 * thread at most says so (ns_sad_set_shared false) and the data paths then
 * use plain stores and take no spin lock. */
#ifndef NATSEC_ESP_SAD_H
#define NATSEC_ESP_SAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp/flow.h"
#include "esp/sa_spec.h"

struct ns_sad;
struct ns_esp_sa;

/* Outcome of ESP processing; every value but OK is a counted drop. */
enum ns_esp_result {
    NS_ESP_OK = 0,
    NS_ESP_NO_SA,        /* inbound SPI unknown (or only reserved) */
    NS_ESP_REPLAY,       /* sequence number seen or left of the window */
    NS_ESP_AUTH,         /* ICV did not verify */
    NS_ESP_MALFORMED,    /* bad length, padding, next header or inner header */
    NS_ESP_TS_MISMATCH,  /* inner addresses outside the SA's selectors (R17) */
    NS_ESP_NO_POLICY,    /* outbound packet that no SA covers */
    NS_ESP_SEQ_OVERFLOW, /* outbound SA used up its sequence numbers: rekey */
    NS_ESP_DUMMY,        /* authentic RFC 4303 2.6 dummy packet: discard */
    NS_ESP_NO_ROOM,      /* caller's buffer lacks head or tail room */
    NS_ESP_WRONG_ENCAP,  /* inbound in UDP for a plain-ESP SA, or the reverse */
    NS_ESP_LINK_LOCAL,   /* outbound packet that must stay on its link (the host's own) */
    /* outbound beyond the budget of a peer address not checked yet */
    NS_ESP_UNVERIFIED_PATH,
    NS_ESP_RESULT_COUNT
};

/* "ok", "no_sa", "replay", "auth", ... as used in counters and logs. */
const char *ns_esp_result_name(enum ns_esp_result r);

/* Per-SA counters, for liveness (X2), rekey decisions and status (X10). */
struct ns_esp_sa_stats {
    uint64_t packets;      /* processed successfully */
    uint64_t bytes;        /* inner (plaintext) bytes of those packets */
    uint64_t last_used_ns; /* ns_now_ns() of the last one; 0 = never */
    uint64_t replay_drops; /* inbound */
    uint64_t auth_drops;   /* inbound */
    /* Inbound transport mode through a NAT (R2): packets whose TCP/UDP
     * checksum was moved from the SA's original addresses to the ones they
     * were delivered with. Stays 0 when no NAT changed an address. */
    uint64_t csum_fixups;
};

/* A snapshot of one SA for status output. */
struct ns_esp_sa_info {
    uint32_t spi;
    enum ns_esp_dir dir;
    enum ns_esp_mode mode;
    enum ns_encr_alg encr;
    unsigned key_bits;
    enum ns_integ_alg integ;
    bool esn;
    bool udp_encap;
    struct ns_endpoint local, peer;
    /* Transport mode: the original addresses checksums are fixed from
     * (family 0: none, no NAT changed the addresses). */
    struct ns_addr orig_src, orig_dst;
    uint64_t ike_sa_id;
    uint32_t paired_spi;
    uint64_t seq; /* outbound: last sequence number sent; inbound: highest received */
    struct ns_esp_sa_stats stats;
};

struct ns_sad *ns_sad_new(void);
/* Frees every SA and reservation. */
void ns_sad_free(struct ns_sad *sad);

/* Reserves a fresh inbound SPI (random, >= 256, unique among live SAs and
 * reservations) for a negotiation; returns 0 on failure. Installing an
 * inbound SA with it consumes the reservation. */
uint32_t ns_sad_alloc_spi(struct ns_sad *sad);
/* Gives back a reservation never installed (negotiation failed); -1 when
 * spi is not a reservation (absent, or an installed SA's). */
int ns_sad_release_spi(struct ns_sad *sad, uint32_t spi);

/* Installs one direction of a CHILD_SA and keys its cipher once. Returns the
 * SA, or NULL when the spec is invalid (unsupported algorithms, bad key
 * lengths, SPI < 256, too many selectors, an inbound SPI already used by
 * another SA) or memory runs out. For an outbound SA whose remote
 * selectors overlap an older one (a rekey), the newer one wins lookups.
 * An outbound spec with path_unverified is bounded at once, with what is
 * left to the IKE SA's bounded outbound SAs (the least of them; the whole
 * NS_SAD_UNVERIFIED_BUDGET when none is): a re-key during a MOBIKE check
 * lets no more through. Call it with the SAD held exclusively. */
struct ns_esp_sa *ns_sad_install(struct ns_sad *sad, const struct ns_esp_sa_spec *spec);
/* Removes and frees sa (its inbound SPI becomes free). */
void ns_sad_remove(struct ns_sad *sad, struct ns_esp_sa *sa);
/* Removes the inbound SA with this SPI; -1 when there is none. */
int ns_sad_remove_inbound(struct ns_sad *sad, uint32_t spi);
/* Removes the outbound SA of this IKE SA with this (peer-chosen) SPI; -1
 * when there is none. Outbound SPIs are unique only per peer. */
int ns_sad_remove_outbound(struct ns_sad *sad, uint64_t ike_sa_id, uint32_t spi);
/* Removes every SA of an IKE SA; returns how many. */
size_t ns_sad_remove_ike(struct ns_sad *sad, uint64_t ike_sa_id);

/* The inbound SA with this SPI, or NULL. O(1). */
struct ns_esp_sa *ns_sad_find_inbound(const struct ns_sad *sad, uint32_t spi);
/* The outbound SA of this IKE SA with this SPI, or NULL. */
struct ns_esp_sa *ns_sad_find_outbound(const struct ns_sad *sad, uint64_t ike_sa_id, uint32_t spi);
/* The SPD lookup: the outbound SA whose remote selectors hold the flow's
 * destination (and port) and whose local selectors hold its source; the
 * newest of several. NULL when none does. */
struct ns_esp_sa *ns_sad_lookup_outbound(const struct ns_sad *sad, const struct ns_flow *flow);

/* Moves every SA of an IKE SA to a new peer address and port (R4): call it
 * after an authenticated packet (ESP that decrypted as the newest, or a
 * verified IKE message) came from another endpoint. O(SAs of that IKE SA).
 * Returns how many SAs changed. */
size_t ns_sad_update_peer(struct ns_sad *sad, uint64_t ike_sa_id,
                          const struct ns_endpoint *new_peer);

/* Moves every SA of an IKE SA to a new path (MOBIKE, RFC 4555): its local
 * and peer endpoints, and ESP in UDP (udp_encap) or as IP protocol 50;
 * inbound SAs then take packets only in the new encapsulation. Call it
 * with the SAD held exclusively. Returns how many SAs changed. */
size_t ns_sad_update_path(struct ns_sad *sad, uint64_t ike_sa_id, const struct ns_endpoint *local,
                          const struct ns_endpoint *peer, bool udp_encap);

/* Outbound packets an SA may send to a peer address whose return
 * routability is not checked yet (RFC 4555 3.10): enough for the traffic
 * of the round trip the check takes, too few to make the SA a flooding
 * tool against an address the peer merely claimed. */
#define NS_SAD_UNVERIFIED_BUDGET 32u

/* Marks every outbound SA of an IKE SA as sending to a path not checked
 * (verified false: at most NS_SAD_UNVERIFIED_BUDGET more packets, then
 * drops counted as unverified_path) or checked (verified true: no bound).
 * Call it with the SAD held exclusively. Returns how many SAs it marked. */
size_t ns_sad_set_path_verified(struct ns_sad *sad, uint64_t ike_sa_id, bool verified);

/* Calls fn for every SA, in installation order. fn must not remove SAs. */
void ns_sad_foreach(const struct ns_sad *sad, void (*fn)(const struct ns_esp_sa *sa, void *arg),
                    void *arg);
/* Whether several threads may run one direction's data path at once (true,
 * the default) or at most one each (false: cheaper). Before the first
 * install: each SA keeps what the SAD said when it was installed. */
void ns_sad_set_shared(struct ns_sad *sad, bool shared);
size_t ns_sad_count(const struct ns_sad *sad);
/* Packets dropped (or discarded) for reason r since the SAD was made. */
uint64_t ns_sad_drops(const struct ns_sad *sad, enum ns_esp_result r);

/* Accessors for the data path and status. */
uint32_t ns_esp_sa_spi(const struct ns_esp_sa *sa);
enum ns_esp_dir ns_esp_sa_dir(const struct ns_esp_sa *sa);
uint64_t ns_esp_sa_ike_sa_id(const struct ns_esp_sa *sa);
uint32_t ns_esp_sa_paired_spi(const struct ns_esp_sa *sa);
/* Where packets of the SA go (outbound) or come from (inbound). */
const struct ns_endpoint *ns_esp_sa_peer(const struct ns_esp_sa *sa);
const struct ns_endpoint *ns_esp_sa_local(const struct ns_esp_sa *sa);
/* true: send in UDP on the NAT-T port (RFC 3948); false: IP protocol 50. */
bool ns_esp_sa_udp_encap(const struct ns_esp_sa *sa);
const struct ns_esp_sa_stats *ns_esp_sa_stats(const struct ns_esp_sa *sa);
void ns_esp_sa_get_info(const struct ns_esp_sa *sa, struct ns_esp_sa_info *info);
/* Bytes ESP adds to an inner packet of inner_len bytes on this SA (header,
 * IV, padding, trailer, ICV), for the tunnel MTU (X11). */
size_t ns_esp_sa_overhead(const struct ns_esp_sa *sa, size_t inner_len);

#endif
