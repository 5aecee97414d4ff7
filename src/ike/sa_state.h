/* The life of an IKE SA and of each of its CHILD_SAs as explicit state
 * machines. States are listed in the order an SA lives through them; the
 * moves allowed between them are one table each (sa_state.c), and every
 * change of state goes through ns_eng_sa_state / ns_eng_child_state
 * (engine_sa.c), which refuse and count a move the table does not allow
 * (a debug build aborts) and log "old -> new (why)" at debug level. */
#ifndef NATSEC_IKE_SA_STATE_H
#define NATSEC_IKE_SA_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum ns_ike_state {
    NS_IKE_ST_NEW = 0,       /* made, nothing sent or answered yet */
    NS_IKE_ST_INIT_SENT = 1, /* client: IKE_SA_INIT request out, no keys yet */
    NS_IKE_ST_INIT_DONE = 2, /* gateway: IKE_SA_INIT answered, keys derived, IKE_AUTH awaited
                                (half-open: the peer is not authenticated) */
    NS_IKE_ST_AUTH_SENT = 3, /* client: IKE_AUTH request out */
    /* EAP in IKE_AUTH (RFC 7296 2.16), each round an IKE_AUTH exchange of
     * its own; the client is not authenticated until its AUTH from the MSK
     * verified, so all four are half-open. */
    NS_IKE_ST_EAP_SENT = 4,      /* gateway: an EAP Request went out in its IKE_AUTH answer;
                                    the client's IKE_AUTH with its EAP Response awaited */
    NS_IKE_ST_EAP_RESP_SENT = 5, /* client: IKE_AUTH with an EAP Response out */
    NS_IKE_ST_EAP_DONE = 6,      /* gateway: EAP-Success sent; the client's AUTH from the MSK
                                    awaited */
    NS_IKE_ST_EAP_AUTH_SENT = 7, /* client: EAP succeeded, IKE_AUTH with our AUTH from the MSK
                                    out */
    NS_IKE_ST_ESTABLISHED = 8,   /* both authenticated; INFORMATIONAL and CREATE_CHILD_SA both
                                    ways */
    NS_IKE_ST_REKEYED = 9,       /* replaced by a re-key: its CHILD_SAs are on the new IKE SA;
                                    only its DELETE is left (the re-key's initiator sends it) */
    NS_IKE_ST_REDUNDANT = 10,    /* the losing new IKE SA of a simultaneous IKE re-key (2.8.2):
                                    never carries anything, its initiator deletes it */
    NS_IKE_ST_DELETING = 11,     /* our DELETE of the IKE SA is out, its answer awaited */
    NS_IKE_ST_DEAD = 12,         /* out of service: lingers only to answer a retransmission of
                                    the request it answered last */
};
#define NS_IKE_ST_COUNT 13

enum ns_child_state {
    NS_CHILD_INSTALLED = 0, /* carries traffic; re-keyed at its soft lifetime */
    NS_CHILD_REKEYING = 1,  /* our CREATE_CHILD_SA re-keying it is out */
    NS_CHILD_RETIRING = 2,  /* replaced, and ours to delete: after its successor carried
                               inbound traffic, or a grace time */
    NS_CHILD_REKEYED = 3,   /* replaced, and the peer's to delete: we wait (with a fallback) */
    NS_CHILD_DELETING = 4,  /* our DELETE of it is out */
};
#define NS_CHILD_ST_COUNT 5

/* MOBIKE (RFC 4555, mobike.c) of an IKE SA: whether both sides said
 * MOBIKE_SUPPORTED, and the address update or return routability check
 * in progress. An IKE SA has one request out at a time (window size 1), so
 * the *_WAIT states hold work that waits for the window. */
enum ns_mobike_state {
    NS_MOBIKE_OFF = 0,         /* not negotiated (yet): addresses change only as RFC 7296 2.23 */
    NS_MOBIKE_IDLE = 1,        /* on; the endpoints in use are settled */
    NS_MOBIKE_UPDATE_WAIT = 2, /* client: our address changed, UPDATE_SA_ADDRESSES waits */
    NS_MOBIKE_UPDATE_SENT = 3, /* client: UPDATE_SA_ADDRESSES out, its NAT detection awaited */
    NS_MOBIKE_CHECK_WAIT = 4,  /* gateway: the peer moved, our COOKIE2 check of the new
                                  address waits (3.5, 3.10) */
    NS_MOBIKE_CHECK_SENT = 5,  /* gateway: the COOKIE2 check is out */
};
#define NS_MOBIKE_ST_COUNT 6

const char *ns_ike_state_name(enum ns_ike_state st);
const char *ns_mobike_state_name(enum ns_mobike_state st);
bool ns_mobike_state_move_ok(enum ns_mobike_state from, enum ns_mobike_state to);
/* As ns_ike_state_move, for the MOBIKE state of IKE SA id. */
bool ns_mobike_state_move(enum ns_mobike_state *st, enum ns_mobike_state to, uint64_t id,
                          const char *why, uint64_t *illegal);
const char *ns_child_state_name(enum ns_child_state st);

/* Whether the tables allow the move (a state to itself is no move and is
 * never allowed: callers change state only when it changes). */
bool ns_ike_state_move_ok(enum ns_ike_state from, enum ns_ike_state to);
bool ns_child_state_move_ok(enum ns_child_state from, enum ns_child_state to);

/* Moves *st to `to` when the table allows it and returns true. Otherwise
 * *st stays, *illegal is counted, an error line names the SA (its id, or
 * a CHILD_SA's inbound SPI) and both states, and in strict mode (the
 * default in builds without NDEBUG, so tests and fuzzers stop at the
 * first one) the process aborts. A move is logged "old -> new (why)" at
 * debug level. */
bool ns_ike_state_move(enum ns_ike_state *st, enum ns_ike_state to, uint64_t id, const char *why,
                       uint64_t *illegal);
bool ns_child_state_move(enum ns_child_state *st, enum ns_child_state to, uint32_t spi_in,
                         const char *why, uint64_t *illegal);
/* Strict mode on or off (tests of the refusal itself turn it off). */
void ns_sa_state_set_strict(bool strict);

/* The peer is not authenticated yet (the half-open states). */
bool ns_ike_state_half_open(enum ns_ike_state st);
/* The SA stands for a peer that authenticated and is not gone: it holds or
 * held CHILD_SAs (ESTABLISHED and the states after it but DEAD). */
bool ns_ike_state_authenticated(enum ns_ike_state st);

#endif
