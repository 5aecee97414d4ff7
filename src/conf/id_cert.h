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
/* Whether two identities are the same: equal bytes, or two DNs that are the
 * same name written differently. */
bool ns_conf_id_same(const struct ns_conf_id *a, const struct ns_conf_id *b);

#endif
