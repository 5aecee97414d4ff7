/* libFuzzer target for the RADIUS answer parser (src/eap/radius.c), what
 * natsec reads from a RADIUS server. The first input byte picks the mode:
 * even, the rest goes to the parser as it is (the authenticator checks
 * must refuse it without reading outside it); odd, the harness first signs
 * it as the server would (a correct Message-Authenticator where the input
 * has one, then the Response Authenticator), so the attribute parser
 * behind the checks is reached. Whatever parses must hold its bounds, and
 * its fields, written out again by the codec's server side, must read
 * back the same. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eap/radius.h"

static const uint8_t SECRET[] = "fuzz-secret";
#define SECRET_LEN (sizeof(SECRET) - 1)
static const uint8_t REQ_AUTH[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void sign(uint8_t *p, size_t len)
{
    if (len < NS_RADIUS_HDR_LEN)
        return;
    size_t plen = (size_t)p[2] << 8 | p[3];
    if (plen < NS_RADIUS_HDR_LEN || plen > len)
        return;
    memcpy(p + 4, REQ_AUTH, 16);
    for (size_t off = NS_RADIUS_HDR_LEN; off + 2 <= plen && p[off + 1] >= 2; off += p[off + 1]) {
        if (p[off] == NS_RADIUS_A_MESSAGE_AUTHENTICATOR && p[off + 1] == 18 && off + 18 <= plen) {
            unsigned n = 0;
            memset(p + off + 2, 0, 16);
            uint8_t mac[EVP_MAX_MD_SIZE];
            if (HMAC(EVP_md5(), SECRET, SECRET_LEN, p, plen, mac, &n))
                memcpy(p + off + 2, mac, 16);
            break;
        }
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, p, plen) == 1 && EVP_DigestUpdate(ctx, SECRET, SECRET_LEN) == 1 &&
        EVP_DigestFinal_ex(ctx, md, &n) == 1)
        memcpy(p + 4, md, 16);
    EVP_MD_CTX_free(ctx);
}

static void round_trip(uint8_t code, uint8_t id, const struct ns_eapb_answer *a)
{
    static uint8_t buf[NS_RADIUS_MAX_PACKET * 2];
    static struct ns_eapb_answer b;
    struct ns_eapb_answer c = *a;
    c.msk_len = 0; /* the server side writes only 16-byte keys */
    struct ns_writer w;
    ns_writer_init(&w, buf, sizeof(buf));
    if (ns_radius_build_answer(&w, code, id, REQ_AUTH, &c, 7, SECRET, SECRET_LEN) != 0)
        return; /* joined EAP-Message too long for one packet: fine */
    if (ns_radius_parse_answer(buf, ns_writer_len(&w), id, REQ_AUTH, SECRET, SECRET_LEN, &b) != 0)
        abort();
    if (b.verdict != a->verdict || b.eap_len != a->eap_len ||
        memcmp(b.eap, a->eap, a->eap_len) != 0 || b.state_len != a->state_len ||
        memcmp(b.state, a->state, a->state_len) != 0 || b.have_framed_ip != a->have_framed_ip ||
        b.framed_ip != a->framed_ip || strcmp(b.class_name, a->class_name) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pkt[NS_RADIUS_MAX_PACKET + 64];
    static struct ns_eapb_answer a;
    if (size < 1 || size - 1 > sizeof(pkt))
        return 0;
    size_t len = size - 1;
    memcpy(pkt, data + 1, len);
    if (data[0] & 1)
        sign(pkt, len);
    uint8_t id = len >= 2 ? pkt[1] : 0;
    if (ns_radius_parse_answer(pkt, len, id, REQ_AUTH, SECRET, SECRET_LEN, &a) != 0) {
        if (a.eap_len || a.msk_len || a.state_len || a.class_name[0] || a.have_framed_ip)
            abort(); /* a refused answer leaves nothing behind */
        return 0;
    }
    if (a.eap_len > sizeof(a.eap) || a.state_len > sizeof(a.state) || a.msk_len > sizeof(a.msk) ||
        strlen(a.class_name) > NS_EAPB_CLASS_MAX)
        abort();
    round_trip(pkt[0], id, &a);
    return 0;
}
