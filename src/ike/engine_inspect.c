/* What the engine shows of itself besides status and counters (engine.h,
 * "inspection"): the SK keys of an IKE SA, for packet trace decoders, and
 * a check of its own tables. */
#include <string.h>

#include "ike/ike_sa.h"

/* Our SPI is spi_i on the initiator, spi_r on the responder: the SA with
 * either, whose other SPI and role match too. */
static const struct ns_ikesa *find_spis(const struct ns_ike_engine *e, uint64_t spi_i,
                                        uint64_t spi_r)
{
    const struct ns_ikesa *sa = ns_eng_find_id(e, spi_i);
    if (sa && sa->initiator && sa->spi_r == spi_r)
        return sa;
    sa = ns_eng_find_id(e, spi_r);
    if (sa && !sa->initiator && sa->spi_i == spi_i)
        return sa;
    return NULL;
}

int ns_ike_engine_sa_keys(const struct ns_ike_engine *e, uint64_t spi_i, uint64_t spi_r,
                          struct ns_ike_sa_keys *out)
{
    const struct ns_ikesa *sa = find_spis(e, spi_i, spi_r);
    if (!sa || !ns_eng_sa_keyed(sa))
        return -1;
    const struct ns_ike_keys *k = &sa->keys;
    memset(out, 0, sizeof(*out));
    out->spi_i = sa->spi_i;
    out->spi_r = sa->spi_r;
    out->alg = sa->ike_alg;
    out->encr_len = k->encr_len;
    memcpy(out->sk_ei, k->sk_ei, k->encr_len);
    memcpy(out->sk_er, k->sk_er, k->encr_len);
    out->integ_len = k->integ_len;
    memcpy(out->sk_ai, k->sk_ai, k->integ_len);
    memcpy(out->sk_ar, k->sk_ar, k->integ_len);
    return 0;
}

bool ns_ike_engine_consistent(const struct ns_ike_engine *e)
{
    return ns_halfopen_consistent(&e->ho);
}
