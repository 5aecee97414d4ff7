/* Identities against certificates (R3): see id_cert.h. */
#include "conf/id_cert.h"

#include "crypto/x509.h"

bool ns_conf_id_in_cert(const struct ns_conf_id *id, const X509 *cert)
{
    enum ns_x509_name kind;
    switch (id->type) {
    case NS_CONF_ID_DER_ASN1_DN:
        kind = NS_X509_NAME_DN;
        break;
    case NS_CONF_ID_FQDN:
        kind = NS_X509_NAME_DNS;
        break;
    case NS_CONF_ID_RFC822_ADDR:
        kind = NS_X509_NAME_EMAIL;
        break;
    case NS_CONF_ID_IPV4_ADDR:
    case NS_CONF_ID_IPV6_ADDR:
        if (id->len != (id->type == NS_CONF_ID_IPV4_ADDR ? 4u : 16u))
            return false;
        kind = NS_X509_NAME_IP;
        break;
    case NS_CONF_ID_KEY_ID:
        kind = NS_X509_NAME_KEYID;
        break;
    default:
        return false;
    }
    return ns_x509_has_name(cert, kind, id->data, id->len);
}

bool ns_conf_id_same(const struct ns_conf_id *a, const struct ns_conf_id *b)
{
    if (ns_conf_id_equal(a, b))
        return true;
    return a->type == NS_CONF_ID_DER_ASN1_DN && b->type == NS_CONF_ID_DER_ASN1_DN &&
           ns_x509_dn_equal(a->data, a->len, b->data, b->len);
}
