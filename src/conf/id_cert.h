/* Whether an identity is one of a certificate's names (R3): the check that
 * a peer's claimed ID (and at start our own local_id) matches the
 * certificate that proves it.
 *
 *   DER_ASN1_DN         the subject (compared as names: string type and
 *                       case do not matter, RFC 5280 7.1)
 *   FQDN                a dNSName of subjectAltName (case-insensitive)
 *   RFC822_ADDR         an rfc822Name of subjectAltName (case-insensitive)
 *   IPV4_ADDR/IPV6_ADDR an iPAddress of subjectAltName
 *   KEY_ID              the subjectKeyIdentifier
 *
 * A CN that looks like the FQDN is not enough (RFC 4945 3.1.2), and no
 * wildcard matches. */
#ifndef NATSEC_CONF_ID_CERT_H
#define NATSEC_CONF_ID_CERT_H

#include <stdbool.h>

#include <openssl/types.h>

#include "conf/conf.h"

bool ns_conf_id_in_cert(const struct ns_conf_id *id, const X509 *cert);
/* Whether two identities are the same: ns_conf_id_match, or two DNs that
 * are the same name written differently. */
bool ns_conf_id_same(const struct ns_conf_id *a, const struct ns_conf_id *b);

/* The peer section of an identity as ns_conf_find_peer finds it, and for
 * a DN that has no section written with the same bytes, the section of
 * the same DN written differently, before %default. */
const struct ns_conf_peer *ns_conf_find_peer_same(const struct ns_conf *c,
                                                  const struct ns_conf_id *id);
/* The section a certificate proves (R3, R9): of the non-%default sections
 * whose identity is one of cert's names (subject, subjectAltName entries,
 * key ID, each compared as ns_conf_id_same compares), the one written
 * first; NULL when it names none. A certificate lands in the same section
 * whichever of its names the peer claims. */
const struct ns_conf_peer *ns_conf_find_peer_by_cert(const struct ns_conf *c, const X509 *cert);

#endif
