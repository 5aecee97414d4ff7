/* Private to the IKE_AUTH exchange (auth_exchange.c): the first CHILD_SA,
 * negotiated inside it (auth_child.c), both roles. Not for the rest of the
 * engine, which uses the ns_eng_auth_* entry points in ike_sa.h. */
#ifndef NATSEC_IKE_AUTH_CHILD_H
#define NATSEC_IKE_AUTH_CHILD_H

#include <stdbool.h>
#include <stdint.h>

#include "ike/ike_sa.h"
#include "ike/proposal_select.h"
#include "util/addr.h"

/* ---- client ---- */
/* The traffic selectors we ask for, into sa->prop (allocated here):
 * transport mode (sa->want_transport) our address to the gateway's, else
 * any address of IPv4, and of IPv6 when a subnet is IPv6 (X8), to the
 * configured subnets. -1: no memory. */
int ns_eng_auth_child_propose(const struct ns_ike_engine *e, struct ns_ikesa *sa);
/* What IPv6 the client asks for: 128 an address, shorter a prefix of
 * that length (its [peer] section's vip6_prefix). */
unsigned ns_eng_auth_child_want6(const struct ns_ikesa *sa);
/* Appends the CP request: an IPv4 address (hint, when it is one) and DNS;
 * with want6 (0: none, as ns_eng_auth_child_want6) an IPv6 address or
 * prefix (hint6 of length hint6_len, when it is one of that length) and
 * IPv6 DNS. */
void ns_eng_auth_child_add_cp_request(struct ns_ike_builder *b, const struct ns_addr *hint,
                                      const struct ns_addr *hint6, unsigned hint6_len,
                                      unsigned want6);
/* Checks the gateway's CHILD_SA answer in and installs the CHILD_SA (its
 * selectors into *tsi and *tsr). NULL, or the reason it is not acceptable. */
const char *ns_eng_auth_child_accept(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                     const struct ns_ike_payloads *in, struct ns_ike_ts_list *tsi,
                                     struct ns_ike_ts_list *tsr);

/* ---- gateway ---- */
/* The CHILD_SA the gateway grants, ready for the answer. */
struct ns_auth_gw_child {
    struct ns_sa_choice choice;
    uint32_t spi_in;
    bool transport;
    bool dns_asked;  /* INTERNAL_IP4_DNS in the request */
    bool dns6_asked; /* INTERNAL_IP6_DNS (X8) */
    bool domains_asked; /* INTERNAL_DNS_DOMAIN (RFC 8598) */
    struct ns_ts tsi[NS_SA_MAX_TS], tsr[NS_SA_MAX_TS];
    unsigned n_tsi, n_tsr;
    struct ns_addr orig_src, orig_dst; /* transport mode through a NAT (R2) */
};
/* Negotiates and installs the CHILD_SA of the client's request in into
 * *gc (zeroed by the caller): 0, or the error notify for the answer (the
 * virtual IP then released, the IKE SA kept). */
uint16_t ns_eng_auth_child_grant(struct ns_ike_engine *e, struct ns_ikesa *sa,
                                 const struct ns_ike_payloads *in, struct ns_auth_gw_child *gc);
/* Appends the CP reply: sa's virtual IP and, when asked, our DNS servers. */
void ns_eng_auth_child_add_cp_reply(struct ns_ike_engine *e, struct ns_ike_builder *b,
                                    const struct ns_ikesa *sa, const struct ns_auth_gw_child *gc);

#endif
