/* Outbound ESP: SPD lookup and encapsulation (RFC 4303 3.3). */
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "esp/esp.h"
#include "esp/flow.h"
#include "esp/sa_priv.h"
#include "util/buf.h"
#include "util/inet.h"
#include "util/log.h"

size_t ns_esp_aad(uint8_t aad[12], uint32_t spi, uint64_t seq, bool esn)
{
    ns_put_u32(aad, spi);
    if (!esn) {
        ns_put_u32(aad + 4, (uint32_t)seq);
        return 8;
    }
    ns_put_u32(aad + 4, (uint32_t)(seq >> 32));
    ns_put_u32(aad + 8, (uint32_t)seq);
    return 12;
}

static enum ns_esp_result drop(struct ns_sad *sad, enum ns_esp_result r)
{
    ns_sad_count_drop(sad, NS_ESP_OUTBOUND, r);
    return r;
}

/* Where the ESP payload starts in data and how long it is, and its next
 * header: the whole packet in tunnel mode, what follows the IP header in
 * transport mode. Returns false for a packet ESP cannot carry. */
static bool payload_of(const struct ns_esp_sa *sa, const uint8_t *data, size_t len, size_t *off,
                       size_t *plen, uint8_t *nh)
{
    if (len < 1)
        return false;
    unsigned version = data[0] >> 4;
    if (sa->mode == NS_ESP_TUNNEL) {
        if (version != 4 && version != 6)
            return false;
        *off = 0;
        *plen = len;
        *nh = version == 4 ? NS_ESP_NH_IPV4 : NS_ESP_NH_IPV6;
        return true;
    }
    if (version == 4) {
        if (len < 20)
            return false;
        size_t ihl = ns_ipv4_hdr_len(data);
        size_t total = ns_get_u16(data + 2);
        /* A fragment cannot be rebuilt on the far side: the receiver
         * recreates an unfragmented header (RFC 4301 transport mode applies
         * to whole datagrams). */
        bool fragment = ns_ipv4_is_fragment(data);
        if (ihl < 20 || ihl > total || total > len || fragment)
            return false;
        *off = ihl;
        *plen = total - ihl;
        *nh = data[9];
        return true;
    }
    if (version == 6) {
        if (len < 40)
            return false;
        size_t plen6 = ns_get_u16(data + 4);
        if (40 + plen6 > len)
            return false;
        *off = 40;
        *plen = plen6;
        *nh = data[6];
        return true;
    }
    return false;
}

/* One packet of the budget of an unchecked path; false when it is spent.
 * A compare-and-swap: workers sealing on one SA never send more than it. */
static bool take_unverified(struct ns_esp_sa *sa)
{
    if (!sa->shared) {
        if (sa->unverified_left == 0)
            return false;
        sa->unverified_left--;
        return true;
    }
    uint32_t left = __atomic_load_n(&sa->unverified_left, __ATOMIC_RELAXED);
    while (left > 0)
        if (__atomic_compare_exchange_n(&sa->unverified_left, &left, left - 1, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return true;
    return false;
}

/* Seals the payload at data + off, plen bytes, with next header nh into
 * an ESP packet in place (pkt then holds it). */
static enum ns_esp_result seal(struct ns_sad *sad, struct ns_esp_sa *sa, struct ns_pkt *pkt,
                               size_t off, size_t plen, uint8_t nh)
{
    uint8_t *data = ns_pkt_data(pkt);
    const size_t hdr_len = NS_ESP_HDR_LEN + sa->iv_len;
    const size_t pad = ns_esp_pad_len(sa, plen);
    const size_t body = plen + pad + 2; /* what gets encrypted */
    if (pkt->head + off < hdr_len || pkt->cap - (pkt->head + off) < body + sa->icv_len)
        return drop(sad, NS_ESP_NO_ROOM);

    if (sa->path_unverified && !take_unverified(sa))
        return drop(sad, NS_ESP_UNVERIFIED_PATH);

    /* Never wrap (RFC 4303 3.3.3): the SA must be rekeyed before this. The
     * check before the add keeps seq_out from wrapping itself with ESN. */
    uint64_t limit = sa->esn ? UINT64_MAX : UINT32_MAX;
    if (__atomic_load_n(&sa->seq_out, __ATOMIC_RELAXED) >= limit)
        return drop(sad, NS_ESP_SEQ_OVERFLOW);
    uint64_t seq = sa->shared ? __atomic_add_fetch(&sa->seq_out, 1, __ATOMIC_RELAXED)
                              : ++sa->seq_out;
    if (seq > limit || seq == 0)
        return drop(sad, NS_ESP_SEQ_OVERFLOW);

    uint8_t *payload = data + off;
    uint8_t *esp = payload - hdr_len;
    uint8_t *iv = esp + NS_ESP_HDR_LEN;
    ns_put_u32(esp, sa->spi);
    ns_put_u32(esp + 4, (uint32_t)seq);
    if (sa->aead) {
        /* The sequence number is unique per key, which is all GCM and
         * ChaCha20-Poly1305 ask of their explicit IV (RFC 4106 3.1). */
        ns_put_u32(iv, (uint32_t)(seq >> 32));
        ns_put_u32(iv + 4, (uint32_t)seq);
    } else if (sa->iv_len) {
        /* CBC needs an unpredictable IV (RFC 3602 2.3). Without randomness
         * nothing safe can be sent; the daemon stops like rand.c does. */
        if (ns_random_bytes(iv, sa->iv_len) != 0) {
            NS_ERR("esp: random generator failed");
            abort();
        }
    }

    /* Self-describing padding 1, 2, 3, ... (RFC 4303 2.4), then the trailer. */
    uint8_t *trailer = payload + plen;
    for (size_t i = 0; i < pad; i++)
        trailer[i] = (uint8_t)(i + 1);
    trailer[pad] = (uint8_t)pad;
    trailer[pad + 1] = nh;

    struct ns_esp_auth_data ad;
    ns_esp_auth_data_init(&ad, sa, esp, sa->spi, seq);
    ns_esp_cipher_lock(sa);
    int rc = ns_cipher_seal(sa->cipher, ad.aad, ad.aad_len, iv, payload, body, ad.hi, payload + body);
    ns_esp_cipher_unlock(sa);
    if (rc != 0)
        return drop(sad, NS_ESP_MALFORMED);

    pkt->head = (size_t)(esp - pkt->buf);
    pkt->len = hdr_len + body + sa->icv_len;
    return NS_ESP_OK;
}

enum ns_esp_result ns_esp_encap(struct ns_sad *sad, struct ns_esp_sa *sa, struct ns_pkt *pkt,
                                uint64_t now_ns)
{
    if (sa->dir != NS_ESP_OUTBOUND)
        return drop(sad, NS_ESP_NO_POLICY);
    if (!ns_pkt_valid(pkt))
        return drop(sad, NS_ESP_NO_ROOM);
    size_t off, plen;
    uint8_t nh;
    if (!payload_of(sa, ns_pkt_data(pkt), pkt->len, &off, &plen, &nh))
        return drop(sad, NS_ESP_MALFORMED);
    enum ns_esp_result r = seal(sad, sa, pkt, off, plen, nh);
    if (r != NS_ESP_OK)
        return r;
    ns_esp_count(sa, &sa->stats.packets, 1);
    ns_esp_count(sa, &sa->stats.bytes, plen);
    ns_esp_stamp(&sa->stats.last_used_ns, now_ns);
    return NS_ESP_OK;
}

enum ns_esp_result ns_esp_encap_dummy(struct ns_sad *sad, struct ns_esp_sa *sa, struct ns_pkt *pkt)
{
    if (sa->dir != NS_ESP_OUTBOUND)
        return drop(sad, NS_ESP_NO_POLICY);
    if (!ns_pkt_valid(pkt))
        return drop(sad, NS_ESP_NO_ROOM);
    pkt->len = 0;
    return seal(sad, sa, pkt, 0, 0, NS_ESP_NH_NONE);
}

enum ns_esp_result ns_esp_output(struct ns_sad *sad, struct ns_pkt *pkt, uint64_t now_ns,
                                 struct ns_esp_sa **sa_out)
{
    *sa_out = NULL;
    if (!ns_pkt_valid(pkt))
        return drop(sad, NS_ESP_NO_ROOM);
    struct ns_flow flow;
    size_t ip_len = ns_flow_parse(&flow, ns_pkt_data(pkt), pkt->len);
    if (!ip_len)
        return drop(sad, NS_ESP_MALFORMED);
    pkt->len = ip_len; /* anything after the IP packet is not ours to send */
    /* The host's own link noise on the TUN device: not a packet any policy
     * is for, whatever its selectors cover. */
    if (ns_flow_link_scoped(&flow))
        return drop(sad, NS_ESP_LINK_LOCAL);
    struct ns_esp_sa *sa = ns_sad_lookup_outbound(sad, &flow);
    if (!sa)
        return drop(sad, NS_ESP_NO_POLICY);
    *sa_out = sa;
    return ns_esp_encap(sad, sa, pkt, now_ns);
}
