/* SA payload body: proposals, transforms and transform attributes (RFC 7296
 * 3.3). Three levels of nested lengths; each level reads through a reader
 * confined to its own length, so an inner length can never reach into the
 * next structure, and each level's end must be reached exactly. */
#include "ike/msg.h"

#define PROPOSAL_MORE 2  /* "Last Substruc" of a proposal with a successor */
#define TRANSFORM_MORE 3 /* ... of a transform with a successor */
#define ATTR_TV 0x8000   /* Attribute Format bit: type/value, no length */

/* Attributes fill the rest of a transform (3.3.5). Only KEY_LENGTH means
 * something to natsec; the others are skipped by their own length and
 * flagged so the engine can refuse the transform (3.3.6). */
static int parse_attrs(struct ns_reader *r, struct ns_ike_transform *t)
{
    bool have_key_len = false;
    while (ns_reader_left(r) > 0) {
        if (ns_reader_left(r) < 4)
            return NS_IKE_ETRUNC;
        uint16_t type = ns_read_u16(r);
        uint16_t value = ns_read_u16(r); /* TV: the value; TLV: the length */
        bool tv = (type & ATTR_TV) != 0;
        type &= (uint16_t)~ATTR_TV;
        if (type == NS_ATTR_KEY_LENGTH) {
            /* KEY_LENGTH is TV only; a zero or repeated one is ambiguous. */
            if (!tv || have_key_len || value == 0)
                return NS_IKE_ESYNTAX;
            t->key_len = value;
            have_key_len = true;
            continue;
        }
        t->unknown_attr = true;
        if (!tv && !ns_read_skip(r, value))
            return NS_IKE_ETRUNC;
    }
    return NS_IKE_OK;
}

/* The header every proposal and transform substructure starts with (3.3.1,
 * 3.3.2): *last (0, or MORE when a successor follows) and the rest of the
 * substructure as a reader confined to its length. */
static int read_substructure(struct ns_reader *r, uint8_t more, uint8_t *last,
                             struct ns_reader *body)
{
    if (ns_reader_left(r) < 8)
        return NS_IKE_ETRUNC;
    *last = ns_read_u8(r);
    ns_read_skip(r, 1); /* reserved */
    uint16_t len = ns_read_u16(r);
    if (*last != 0 && *last != more)
        return NS_IKE_ESYNTAX;
    if (len < 8)
        return NS_IKE_ELENGTH;
    if (len - 4u > ns_reader_left(r))
        return NS_IKE_ETRUNC;
    *body = ns_read_sub(r, len - 4u);
    return NS_IKE_OK;
}

static int parse_transform(struct ns_reader *r, bool is_last, struct ns_ike_transform *t)
{
    uint8_t last;
    struct ns_reader body;
    int err = read_substructure(r, TRANSFORM_MORE, &last, &body);
    if (err)
        return err;
    t->type = ns_read_u8(&body);
    ns_read_skip(&body, 1); /* reserved */
    t->id = ns_read_u16(&body);
    t->key_len = 0;
    t->unknown_attr = false;
    err = parse_attrs(&body, t);
    if (err)
        return err;
    /* The redundant "last" marker must agree with the transform count. */
    if ((last == 0) != is_last)
        return NS_IKE_ESYNTAX;
    return NS_IKE_OK;
}

static int parse_proposal(struct ns_reader *r, struct ns_ike_sa_proposal *pr, uint8_t *last)
{
    struct ns_reader body;
    int err = read_substructure(r, PROPOSAL_MORE, last, &body);
    if (err)
        return err;
    pr->num = ns_read_u8(&body);
    pr->protocol = ns_read_u8(&body);
    pr->spi_len = ns_read_u8(&body);
    uint8_t n_t = ns_read_u8(&body);
    /* 3.3.1: 0 for an initial IKE SA, 8 for a rekeyed one, 4 for ESP/AH. */
    if (pr->spi_len != 0 && pr->spi_len != 4 && pr->spi_len != 8)
        return NS_IKE_ESYNTAX;
    if (!ns_read_copy(&body, pr->spi, pr->spi_len))
        return NS_IKE_ELENGTH;
    if (n_t > NS_IKE_MAX_TRANSFORMS)
        return NS_IKE_ETOOMANY;
    pr->n_t = 0;
    for (unsigned i = 0; i < n_t; i++) {
        if (ns_reader_left(&body) == 0)
            return NS_IKE_ELENGTH; /* the count promises more than the length holds */
        err = parse_transform(&body, i + 1 == n_t, &pr->t[i]);
        if (err)
            return err;
        pr->n_t = i + 1;
    }
    if (ns_reader_left(&body) != 0)
        return NS_IKE_ELENGTH; /* bytes beyond the counted transforms */
    return NS_IKE_OK;
}

int ns_ike_parse_sa(const struct ns_ike_payload *p, struct ns_ike_sa *out)
{
    if (p->type != NS_PL_SA)
        return NS_IKE_ESYNTAX;
    struct ns_reader r;
    ns_reader_init(&r, p->body, p->body_len);
    out->n = 0;
    if (ns_reader_left(&r) == 0)
        return NS_IKE_ESYNTAX; /* 3.3: an SA payload carries at least one proposal */
    while (ns_reader_left(&r) > 0) {
        if (out->n >= NS_IKE_MAX_SA_PROPOSALS)
            return NS_IKE_ETOOMANY;
        uint8_t last;
        int err = parse_proposal(&r, &out->prop[out->n], &last);
        if (err)
            return err;
        out->n++;
        bool more = ns_reader_left(&r) > 0;
        if (last == 0 && more)
            return NS_IKE_ELENGTH; /* "last" proposal, yet the SA length goes on */
        if (last == PROPOSAL_MORE && !more)
            return NS_IKE_ETRUNC; /* a successor is announced but absent */
    }
    return NS_IKE_OK;
}
