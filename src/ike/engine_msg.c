/* Building and sending the engine's messages: the SK envelope (RFC 7296
 * 3.14) with a random IV, sealed with an SK cipher keyed for that message
 * only, and the one place that hands bytes to ops->send, which decides the
 * non-ESP marker from the port (RFC 3948 2.2); and our KE payload, which
 * IKE_SA_INIT and CREATE_CHILD_SA both send. */
#include <string.h>

#include "crypto/rand.h"
#include "ike/engine_frag.h"
#include "ike/ike_sa.h"

void ns_eng_send(struct ns_ike_engine *e, const struct ns_endpoint *local,
                 const struct ns_endpoint *remote, const uint8_t *msg, size_t len)
{
    bool marker = local->port == e->conf->natt_port;
    /* A message in fragments is its SKF messages one after the other
     * (engine_frag.c), each a datagram of its own as long as its header
     * says; any other message is one whose header says len. */
    size_t off = 0;
    while (off < len) {
        size_t one = len - off;
        if (one >= NS_IKE_HEADER_LEN) {
            size_t said = ns_get_u32(msg + off + NS_IKE_HDR_LENGTH_OFF);
            if (said >= NS_IKE_HEADER_LEN && said < one)
                one = said;
        }
        e->ops.send(e->ops.ctx, local, remote, msg + off, one, marker);
        off += one;
    }
}

int ns_eng_sk_begin(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_builder *b,
                    uint8_t exchange, bool response, uint32_t msg_id)
{
    struct ns_ike_header h;
    memset(&h, 0, sizeof(h));
    h.spi_i = sa->spi_i;
    h.spi_r = sa->spi_r;
    h.version = NS_IKE_VERSION;
    h.exchange = exchange;
    /* The I flag names the original initiator of the IKE SA, whatever the
     * direction of this exchange (3.1). */
    h.flags = (uint8_t)((sa->initiator ? NS_IKE_FLAG_INITIATOR : 0) |
                        (response ? NS_IKE_FLAG_RESPONSE : 0));
    h.msg_id = msg_id;
    if (ns_eng_sa_cipher_out(sa) != 0)
        return -1;
    uint8_t iv[NS_CIPHER_MAX_IV];
    size_t iv_len = ns_cipher_iv_len(sa->sk_out);
    if (ns_random_bytes(iv, iv_len) != 0)
        return -1;
    ns_ike_build_begin(b, e->buf, sizeof(e->buf), &h);
    ns_ike_sk_begin(b, sa->sk_out, iv);
    return 0;
}

int ns_eng_sk_end(struct ns_ike_engine *e, struct ns_ikesa *sa, struct ns_ike_builder *b)
{
    /* Too large for one datagram of an SA that fragments: SKF fragments
     * (RFC 7383), else one SK payload. */
    int len = ns_eng_frag_seal(e, sa, b);
    if (len == 0) {
        ns_ike_sk_seal(b, sa->sk_out);
        len = ns_ike_build_finish(b);
    }
    ns_eng_sa_cipher_drop(sa, true); /* keyed again for the next message (ike_sa.h) */
    if (len < 0) {
        NS_ERR("ike: IKE SA %016llx: cannot build a message: %s", (unsigned long long)sa->id,
               ns_ike_strerror(len));
        return -1;
    }
    return len;
}

int ns_eng_respond_notify(struct ns_ike_engine *e, struct ns_ikesa *sa, const struct ns_ike_rx *rx,
                          uint8_t exchange, uint16_t notify, const uint8_t *data, size_t len)
{
    struct ns_ike_builder b;
    if (ns_eng_sk_begin(e, sa, &b, exchange, true, rx->msg_id) != 0)
        return -1;
    if (notify)
        ns_ike_add_notify(&b, 0, NULL, 0, notify, data, len);
    int n = ns_eng_sk_end(e, sa, &b);
    if (n < 0)
        return -1;
    ns_eng_respond(e, sa, rx, e->buf, (size_t)n);
    return 0;
}

int ns_eng_add_ke(struct ns_ike_builder *b, const struct ns_dh *dh)
{
    uint8_t pub[NS_DH_MAX_PUBLIC];
    enum ns_dh_group g = ns_dh_group_of(dh);
    size_t len = ns_dh_public_len(g);
    if (ns_dh_public(dh, pub, len) != 0)
        return -1;
    ns_ike_add_ke(b, (uint16_t)g, pub, len);
    return 0;
}
