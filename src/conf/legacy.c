/* legacy_proposals (X12): the weak algorithms (MODP-1024, the SHA-1 PRF and
 * IKE integrity, 3DES) that Windows 10/11 offers without a registry
 * change. Off by default: such an algorithm in any list is then a
 * configuration error naming the key. On: weak algorithms may be written in
 * any list, and the Windows suites are appended, least preferred, to the
 * default lists of [natsecd] (a written list stays as written, so that it
 * says exactly what is offered and taken). */
#include <stdio.h>
#include <string.h>

#include "conf/parse.h"
#include "conf/proposal_parse.h"

/* What Windows 10/11 proposes by default (IKE_SA_INIT and IKE_AUTH), in our
 * order of preference. */
static const char legacy_ike[] = "aes256-sha1-modp1024, 3des-sha1-modp1024";
static const char legacy_esp[] = "aes256-sha1, 3des-sha1";

unsigned ns_conf_legacy_suites(uint8_t protocol, struct ns_proposal *out, unsigned max)
{
    char err[256];
    int k = ns_proposal_list_parse(protocol == NS_PROTO_IKE ? legacy_ike : legacy_esp, protocol,
                                   out, max, err, sizeof(err));
    return k > 0 ? (unsigned)k : 0;
}

/* Appends the legacy suites of protocol that the default list[0..*n)
 * lacks; a list written under key is left alone. */
static void append_missing(struct ns_conf_parser *p, const char *key, uint8_t protocol,
                           struct ns_proposal *list, unsigned *n)
{
    if (ns_conf_p_key_line(p, key))
        return;
    struct ns_proposal add[NS_MAX_PROPOSALS];
    unsigned k = ns_conf_legacy_suites(protocol, add, NS_MAX_PROPOSALS);
    if (k == 0) {
        ns_conf_p_error(p, p->main_line, "internal: the legacy proposals do not parse");
        return;
    }
    for (unsigned i = 0; i < k; i++) {
        bool have = false;
        for (unsigned j = 0; j < *n && !have; j++)
            have = ns_proposal_same(&list[j], &add[i]);
        if (have)
            continue;
        if (*n == NS_MAX_PROPOSALS) {
            ns_conf_p_error(p, p->main_line,
                            "internal: no room for the legacy_proposals suites in the default %s",
                            key);
            return;
        }
        list[(*n)++] = add[i];
    }
}

/* The first suite of list that uses a weak algorithm: an error on line. */
static void refuse_weak(struct ns_conf_parser *p, int line, const char *key,
                        const struct ns_proposal *list, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        unsigned m = ns_proposal_legacy(&list[i]);
        if (!m)
            continue;
        char suite[128], names[160];
        ns_conf_p_error(p, line,
                        "%s: '%s' uses weak algorithms (%s), allowed only with "
                        "legacy_proposals = yes in [natsecd]",
                        key, ns_proposal_str(&list[i], suite, sizeof(suite)),
                        ns_proposal_legacy_str(m, names, sizeof(names)));
        return;
    }
}

void ns_conf_p_legacy(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    if (c->legacy_proposals) {
        append_missing(p, "ike_proposals", NS_PROTO_IKE, c->ike, &c->n_ike);
        append_missing(p, "esp_proposals", NS_PROTO_ESP, c->esp, &c->n_esp);
        return;
    }
    /* Defaults hold nothing weak, so a weak suite was written on the key's line. */
    refuse_weak(p, ns_conf_p_key_line(p, "ike_proposals"), "ike_proposals", c->ike, c->n_ike);
    refuse_weak(p, ns_conf_p_key_line(p, "esp_proposals"), "esp_proposals", c->esp, c->n_esp);
    for (unsigned i = 0; i < c->n_peers; i++) {
        const struct ns_conf_peer *peer = &c->peers[i];
        const struct ns_conf_p_peer_meta *m = &p->meta[i];
        if (m->key_line[NS_CONF_P_IKE])
            refuse_weak(p, m->key_line[NS_CONF_P_IKE], "ike_proposals", peer->ike, peer->n_ike);
        if (m->key_line[NS_CONF_P_ESP])
            refuse_weak(p, m->key_line[NS_CONF_P_ESP], "esp_proposals", peer->esp, peer->n_esp);
    }
}

static unsigned list_mask(const struct ns_proposal *list, unsigned n)
{
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++)
        m |= ns_proposal_legacy(&list[i]);
    return m;
}

unsigned ns_conf_legacy_in_use(const struct ns_conf *c)
{
    if (!c->legacy_proposals)
        return 0;
    unsigned m = list_mask(c->ike, c->n_ike) | list_mask(c->esp, c->n_esp);
    for (unsigned i = 0; i < c->n_peers; i++)
        m |= list_mask(c->peers[i].ike, c->peers[i].n_ike) |
             list_mask(c->peers[i].esp, c->peers[i].n_esp);
    return m;
}
