/* Identities against certificates (R3): see id_cert.h. */
#include "conf/id_cert.h"

#include <string.h>

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
    if (ns_conf_id_match(a, b))
        return true;
    return a->type == NS_CONF_ID_DER_ASN1_DN && b->type == NS_CONF_ID_DER_ASN1_DN &&
           ns_x509_dn_equal(a->data, a->len, b->data, b->len);
}

/* The section written for id, never %default: the index, and for a DN
 * written differently a scan of the DN sections. */
static const struct ns_conf_peer *named_section(const struct ns_conf *c,
                                                const struct ns_conf_id *id)
{
    const struct ns_conf_peer *p = ns_conf_find_peer(c, id);
    if (p && !p->is_default)
        return p;
    if (id->type != NS_CONF_ID_DER_ASN1_DN)
        return NULL;
    for (unsigned i = 0; i < c->n_peers; i++)
        if (!c->peers[i].is_default && ns_conf_id_same(&c->peers[i].id, id))
            return &c->peers[i];
    return NULL;
}

const struct ns_conf_peer *ns_conf_find_peer_same(const struct ns_conf *c,
                                                  const struct ns_conf_id *id)
{
    const struct ns_conf_peer *p = named_section(c, id);
    return p ? p : ns_conf_find_peer(c, NULL);
}

struct cert_sections {
    const struct ns_conf *c;
    const struct ns_conf_peer *first;
};

static void section_of_name(void *ctx, enum ns_x509_name kind, const uint8_t *data, size_t len)
{
    struct cert_sections *cs = ctx;
    struct ns_conf_id id;
    static const uint8_t types[] = {
        [NS_X509_NAME_DN] = NS_CONF_ID_DER_ASN1_DN,
        [NS_X509_NAME_DNS] = NS_CONF_ID_FQDN,
        [NS_X509_NAME_EMAIL] = NS_CONF_ID_RFC822_ADDR,
        [NS_X509_NAME_KEYID] = NS_CONF_ID_KEY_ID,
    };
    if (len > sizeof(id.data))
        return;
    memset(&id, 0, sizeof(id));
    if (kind == NS_X509_NAME_IP)
        id.type = len == 4 ? NS_CONF_ID_IPV4_ADDR : len == 16 ? NS_CONF_ID_IPV6_ADDR : 0;
    else if ((size_t)kind < sizeof(types))
        id.type = types[kind];
    if (!id.type)
        return;
    memcpy(id.data, data, len);
    id.len = len;
    const struct ns_conf_peer *p = named_section(cs->c, &id);
    if (p && (!cs->first || p < cs->first))
        cs->first = p;
}

const struct ns_conf_peer *ns_conf_find_peer_by_cert(const struct ns_conf *c, const X509 *cert)
{
    struct cert_sections cs = {c, NULL};
    ns_x509_each_name(cert, section_of_name, &cs);
    return cs.first;
}
