/* The tables of sa_state.h: which moves each state allows, and names. */
#include "ike/sa_state.h"

#include <stddef.h>
#include <stdlib.h>

#include "util/log.h"

#ifdef NDEBUG
static bool strict = false;
#else
static bool strict = true;
#endif

void ns_sa_state_set_strict(bool on)
{
    strict = on;
}

#define BIT(st) (1u << (st))

/* IKE SA: the states each state may move to.
 *   NEW -> INIT_SENT        client sends IKE_SA_INIT
 *   NEW -> INIT_DONE        gateway answers IKE_SA_INIT
 *   NEW -> ESTABLISHED      made by an IKE re-key (keys from the old SA)
 *   INIT_SENT -> AUTH_SENT  IKE_SA_INIT answered, IKE_AUTH sent
 *   INIT_DONE, AUTH_SENT -> ESTABLISHED   IKE_AUTH done
 *   INIT_DONE -> EAP_SENT   gateway: IKE_AUTH without AUTH answered with an EAP Request
 *   EAP_SENT -> EAP_DONE    gateway: EAP-Success sent (further rounds stay in EAP_SENT)
 *   EAP_DONE -> ESTABLISHED gateway: the client's AUTH from the MSK verified
 *   AUTH_SENT -> EAP_RESP_SENT  client: the gateway's AUTH verified, our EAP Response sent
 *   EAP_RESP_SENT -> EAP_AUTH_SENT  client: EAP-Success, our AUTH from the MSK sent
 *   EAP_AUTH_SENT -> ESTABLISHED    client: the gateway's AUTH from the MSK verified
 *   ESTABLISHED -> REKEYED  its CHILD_SAs moved to the IKE SA that re-keyed it
 *   ESTABLISHED -> REDUNDANT  the peer's losing half of a simultaneous re-key
 *   ESTABLISHED -> DELETING our DELETE sent (a REKEYED or REDUNDANT one keeps
 *                           its state while its DELETE is out)
 *   any -> DEAD             failure, expiry, the peer's DELETE, the answer to ours */
static const unsigned ike_moves[NS_IKE_ST_COUNT] = {
    [NS_IKE_ST_NEW] = BIT(NS_IKE_ST_INIT_SENT) | BIT(NS_IKE_ST_INIT_DONE) |
                      BIT(NS_IKE_ST_ESTABLISHED) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_INIT_SENT] = BIT(NS_IKE_ST_AUTH_SENT) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_INIT_DONE] =
        BIT(NS_IKE_ST_ESTABLISHED) | BIT(NS_IKE_ST_EAP_SENT) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_AUTH_SENT] =
        BIT(NS_IKE_ST_ESTABLISHED) | BIT(NS_IKE_ST_EAP_RESP_SENT) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_EAP_SENT] = BIT(NS_IKE_ST_EAP_DONE) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_EAP_RESP_SENT] = BIT(NS_IKE_ST_EAP_AUTH_SENT) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_EAP_DONE] = BIT(NS_IKE_ST_ESTABLISHED) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_EAP_AUTH_SENT] = BIT(NS_IKE_ST_ESTABLISHED) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_ESTABLISHED] = BIT(NS_IKE_ST_REKEYED) | BIT(NS_IKE_ST_REDUNDANT) |
                              BIT(NS_IKE_ST_DELETING) | BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_REKEYED] = BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_REDUNDANT] = BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_DELETING] = BIT(NS_IKE_ST_DEAD),
    [NS_IKE_ST_DEAD] = 0,
};

/* CHILD_SA:
 *   INSTALLED -> REKEYING             our re-key of it sent
 *   INSTALLED, REKEYING -> RETIRING   replaced, ours to delete
 *   INSTALLED, REKEYING -> REKEYED    replaced, the peer's to delete
 *   REKEYING -> INSTALLED             our re-key failed or was refused
 *   RETIRING <-> REKEYED              a simultaneous re-key decided later (2.8.1)
 *   RETIRING, REKEYED -> DELETING     our DELETE sent (grace over, or fallback)
 * A CHILD_SA leaves any state by being removed (hard lifetime, the
 * peer's DELETE, the answer to ours), which is not a move. */
static const unsigned child_moves[NS_CHILD_ST_COUNT] = {
    [NS_CHILD_INSTALLED] = BIT(NS_CHILD_REKEYING) | BIT(NS_CHILD_RETIRING) | BIT(NS_CHILD_REKEYED),
    [NS_CHILD_REKEYING] = BIT(NS_CHILD_INSTALLED) | BIT(NS_CHILD_RETIRING) | BIT(NS_CHILD_REKEYED),
    [NS_CHILD_RETIRING] = BIT(NS_CHILD_REKEYED) | BIT(NS_CHILD_DELETING),
    [NS_CHILD_REKEYED] = BIT(NS_CHILD_RETIRING) | BIT(NS_CHILD_DELETING),
    [NS_CHILD_DELETING] = 0,
};

/* MOBIKE:
 *   OFF -> IDLE                       both said MOBIKE_SUPPORTED (IKE_AUTH, or inherited
 *                                     by the IKE SA a re-key made)
 *   OFF -> UPDATE_WAIT, CHECK_WAIT    inherited mid-update by the IKE SA a re-key made
 *   IDLE -> UPDATE_WAIT, UPDATE_SENT  client: our address changed (sent at once when the
 *                                     window is free)
 *   UPDATE_WAIT -> UPDATE_SENT        the window freed
 *   UPDATE_SENT -> IDLE               answered with the gateway's NAT detection
 *   UPDATE_SENT -> UPDATE_WAIT        the address changed again meanwhile
 *   IDLE -> CHECK_WAIT, CHECK_SENT    gateway: the peer moved to an address not checked yet
 *   CHECK_WAIT -> CHECK_SENT          the window freed
 *   CHECK_SENT -> IDLE                the COOKIE2 came back
 *   CHECK_SENT -> CHECK_WAIT          the peer moved again meanwhile
 * An unanswered request ends the IKE SA like any other (retransmit.c). */
static const unsigned mobike_moves[NS_MOBIKE_ST_COUNT] = {
    [NS_MOBIKE_OFF] =
        BIT(NS_MOBIKE_IDLE) | BIT(NS_MOBIKE_UPDATE_WAIT) | BIT(NS_MOBIKE_CHECK_WAIT),
    [NS_MOBIKE_IDLE] = BIT(NS_MOBIKE_UPDATE_WAIT) | BIT(NS_MOBIKE_UPDATE_SENT) |
                       BIT(NS_MOBIKE_CHECK_WAIT) | BIT(NS_MOBIKE_CHECK_SENT),
    [NS_MOBIKE_UPDATE_WAIT] = BIT(NS_MOBIKE_UPDATE_SENT),
    [NS_MOBIKE_UPDATE_SENT] = BIT(NS_MOBIKE_IDLE) | BIT(NS_MOBIKE_UPDATE_WAIT),
    [NS_MOBIKE_CHECK_WAIT] = BIT(NS_MOBIKE_CHECK_SENT),
    [NS_MOBIKE_CHECK_SENT] = BIT(NS_MOBIKE_IDLE) | BIT(NS_MOBIKE_CHECK_WAIT),
};

bool ns_mobike_state_move_ok(enum ns_mobike_state from, enum ns_mobike_state to)
{
    if ((unsigned)from >= NS_MOBIKE_ST_COUNT || (unsigned)to >= NS_MOBIKE_ST_COUNT)
        return false;
    return mobike_moves[from] & BIT(to);
}

const char *ns_mobike_state_name(enum ns_mobike_state st)
{
    static const char *const names[NS_MOBIKE_ST_COUNT] = {
        [NS_MOBIKE_OFF] = "OFF",
        [NS_MOBIKE_IDLE] = "IDLE",
        [NS_MOBIKE_UPDATE_WAIT] = "UPDATE_WAIT",
        [NS_MOBIKE_UPDATE_SENT] = "UPDATE_SENT",
        [NS_MOBIKE_CHECK_WAIT] = "CHECK_WAIT",
        [NS_MOBIKE_CHECK_SENT] = "CHECK_SENT",
    };
    return (unsigned)st < NS_MOBIKE_ST_COUNT ? names[st] : "?";
}

bool ns_mobike_state_move(enum ns_mobike_state *st, enum ns_mobike_state to, uint64_t id,
                          const char *why, uint64_t *illegal)
{
    if (!ns_mobike_state_move_ok(*st, to)) {
        (*illegal)++;
        NS_ERR("ike: IKE SA %016llx: illegal MOBIKE state change %s -> %s (%s) refused",
               (unsigned long long)id, ns_mobike_state_name(*st), ns_mobike_state_name(to), why);
        if (strict)
            abort();
        return false;
    }
    NS_DBG("ike: IKE SA %016llx: MOBIKE %s -> %s (%s)", (unsigned long long)id,
           ns_mobike_state_name(*st), ns_mobike_state_name(to), why);
    *st = to;
    return true;
}

bool ns_ike_state_move_ok(enum ns_ike_state from, enum ns_ike_state to)
{
    if ((unsigned)from >= NS_IKE_ST_COUNT || (unsigned)to >= NS_IKE_ST_COUNT)
        return false;
    return ike_moves[from] & BIT(to);
}

bool ns_child_state_move_ok(enum ns_child_state from, enum ns_child_state to)
{
    if ((unsigned)from >= NS_CHILD_ST_COUNT || (unsigned)to >= NS_CHILD_ST_COUNT)
        return false;
    return child_moves[from] & BIT(to);
}

bool ns_ike_state_half_open(enum ns_ike_state st)
{
    return st < NS_IKE_ST_ESTABLISHED;
}

bool ns_ike_state_authenticated(enum ns_ike_state st)
{
    return st >= NS_IKE_ST_ESTABLISHED && st != NS_IKE_ST_DEAD;
}

const char *ns_ike_state_name(enum ns_ike_state st)
{
    static const char *const names[NS_IKE_ST_COUNT] = {
        [NS_IKE_ST_NEW] = "NEW",
        [NS_IKE_ST_INIT_SENT] = "INIT_SENT",
        [NS_IKE_ST_INIT_DONE] = "INIT_DONE",
        [NS_IKE_ST_AUTH_SENT] = "AUTH_SENT",
        [NS_IKE_ST_EAP_SENT] = "EAP_SENT",
        [NS_IKE_ST_EAP_RESP_SENT] = "EAP_RESP_SENT",
        [NS_IKE_ST_EAP_DONE] = "EAP_DONE",
        [NS_IKE_ST_EAP_AUTH_SENT] = "EAP_AUTH_SENT",
        [NS_IKE_ST_ESTABLISHED] = "ESTABLISHED",
        [NS_IKE_ST_REKEYED] = "REKEYED",
        [NS_IKE_ST_REDUNDANT] = "REDUNDANT",
        [NS_IKE_ST_DELETING] = "DELETING",
        [NS_IKE_ST_DEAD] = "DEAD",
    };
    return (unsigned)st < NS_IKE_ST_COUNT ? names[st] : "?";
}

const char *ns_child_state_name(enum ns_child_state st)
{
    static const char *const names[NS_CHILD_ST_COUNT] = {
        [NS_CHILD_INSTALLED] = "INSTALLED", [NS_CHILD_REKEYING] = "REKEYING",
        [NS_CHILD_RETIRING] = "RETIRING",   [NS_CHILD_REKEYED] = "REKEYED",
        [NS_CHILD_DELETING] = "DELETING",
    };
    return (unsigned)st < NS_CHILD_ST_COUNT ? names[st] : "?";
}

bool ns_ike_state_move(enum ns_ike_state *st, enum ns_ike_state to, uint64_t id, const char *why,
                       uint64_t *illegal)
{
    if (!ns_ike_state_move_ok(*st, to)) {
        (*illegal)++;
        NS_ERR("ike: IKE SA %016llx: illegal state change %s -> %s (%s) refused",
               (unsigned long long)id, ns_ike_state_name(*st), ns_ike_state_name(to), why);
        if (strict)
            abort();
        return false;
    }
    NS_DBG("ike: IKE SA %016llx: %s -> %s (%s)", (unsigned long long)id, ns_ike_state_name(*st),
           ns_ike_state_name(to), why);
    *st = to;
    return true;
}

bool ns_child_state_move(enum ns_child_state *st, enum ns_child_state to, uint32_t spi_in,
                         const char *why, uint64_t *illegal)
{
    if (!ns_child_state_move_ok(*st, to)) {
        (*illegal)++;
        NS_ERR("ike: CHILD SA in 0x%08x: illegal state change %s -> %s (%s) refused",
               (unsigned)spi_in, ns_child_state_name(*st), ns_child_state_name(to), why);
        if (strict)
            abort();
        return false;
    }
    NS_DBG("ike: CHILD SA in 0x%08x: %s -> %s (%s)", (unsigned)spi_in, ns_child_state_name(*st),
           ns_child_state_name(to), why);
    *st = to;
    return true;
}
