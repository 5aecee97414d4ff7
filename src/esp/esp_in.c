/* Inbound ESP: decapsulation (RFC 4303 3.4), inner selector check (R17)
 * and transport-mode delivery through a NAT (RFC 3948 3.1.2, R2). */
#include <string.h>

#include "esp/esp.h"
#include "esp/flow.h"
#include "esp/sa_priv.h"
#include "util/buf.h"
#include "util/csum.h"
#include "util/inet.h"

#define DEFAULT_TTL 64

static enum ns_esp_result drop(struct ns_sad *sad, enum ns_esp_result r)
{
    ns_sad_count_drop(sad, NS_ESP_INBOUND, r);
    return r;
}

/* Strips padding, pad length and next header from the decrypted body;
 * the padding must be the default 1, 2, 3, ... (RFC 4303 2.4). */
static bool strip_trailer(const uint8_t *body, size_t body_len, size_t *plen, uint8_t *nh)
{
    if (body_len < 2)
        return false;
    size_t pad = body[body_len - 2];
    if (pad + 2 > body_len)
        return false;
    *plen = body_len - 2 - pad;
    *nh = body[body_len - 1];
    for (size_t i = 0; i < pad; i++)
        if (body[*plen + i] != (uint8_t)(i + 1))
            return false;
    return true;
}

/* Tunnel mode: the payload is an IP packet of the version the next header
 * names, whose own lengths fit in the payload, between addresses the SA's
 * selectors allow. Returns the inner packet's length, or 0 with *why set. */
static size_t check_tunnel(const struct ns_esp_sa *sa, const uint8_t *inner, size_t plen,
                           uint8_t nh, enum ns_esp_result *why)
{
    *why = NS_ESP_MALFORMED;
    if (nh != NS_ESP_NH_IPV4 && nh != NS_ESP_NH_IPV6)
        return 0;
    struct ns_flow flow;
    size_t ip_len = ns_flow_parse(&flow, inner, plen);
    if (!ip_len)
        return 0;
    if ((nh == NS_ESP_NH_IPV4) != (flow.src.family == AF_INET))
        return 0;
    /* R17: the inner source must be the peer's (remote) side and the inner
     * destination ours, so a client cannot spoof another's address or reach
     * beyond what it was allowed. */
    if (!ns_flow_match(&flow, true, sa->local_ts, sa->n_local_ts, sa->remote_ts, sa->n_remote_ts)) {
        *why = NS_ESP_TS_MISMATCH;
        return 0;
    }
    return ip_len;
}

/* Whether any of the n selectors allows this protocol and port, whatever
 * its addresses. */
static bool proto_port_match(const struct ns_ts *ts, unsigned n, uint8_t proto, uint16_t port)
{
    for (unsigned i = 0; i < n; i++)
        if (ns_ts_contains(&ts[i], &ts[i].lo, proto, port))
            return true;
    return false;
}

/* Transport mode: puts an IP header from src to dst in front of the
 * payload at data[hdr_room..] and fixes the upper-layer checksum from the
 * addresses the peer used (R2). Returns the new start offset in data, or
 * -1 with *why set. */
static long rebuild_transport(struct ns_esp_sa *sa, uint8_t *data, size_t hdr_room, size_t plen,
                              uint8_t nh, const struct ns_addr *src, const struct ns_addr *dst,
                              enum ns_esp_result *why)
{
    *why = NS_ESP_MALFORMED;
    if (src->family != dst->family || (src->family != AF_INET && src->family != AF_INET6))
        return -1;
    uint8_t *seg = data + hdr_room;

    /* Only the selectors' protocol and ports can be checked: through a NAT
     * the addresses in them are the peer's private ones, not in the packet. */
    uint16_t sport = 0, dport = 0;
    if (nh == NS_IPPROTO_TCP || nh == NS_IPPROTO_UDP || nh == NS_IPPROTO_SCTP ||
        nh == NS_IPPROTO_UDPLITE) {
        if (plen < 4)
            return -1;
        sport = ns_get_u16(seg);
        dport = ns_get_u16(seg + 2);
    }
    if (!proto_port_match(sa->remote_ts, sa->n_remote_ts, nh, sport) ||
        !proto_port_match(sa->local_ts, sa->n_local_ts, nh, dport)) {
        *why = NS_ESP_TS_MISMATCH;
        return -1;
    }

    /* The fixup is needed only when a NAT changed an address: the IKE
     * layer leaves orig_* unset without one, and a packet delivered with
     * the very addresses its checksum was computed over is left alone. */
    int off = ns_csum_field_offset(nh);
    if (off >= 0 && ns_addr_len(&sa->orig_src) && ns_addr_len(&sa->orig_dst) &&
        (!ns_addr_equal(&sa->orig_src, src) || !ns_addr_equal(&sa->orig_dst, dst))) {
        /* A UDP checksum of zero (none, RFC 768) stays zero: nothing moved. */
        bool none = nh == NS_IPPROTO_UDP && plen >= NS_UDP_HDR && ns_get_u16(seg + 6) == 0;
        if (ns_csum_fix_transport(nh, seg, plen, &sa->orig_src, &sa->orig_dst, src, dst) != 0)
            return -1;
        if (!none)
            ns_esp_count(sa, &sa->stats.csum_fixups, 1);
    }

    if (src->family == AF_INET) {
        if (hdr_room < NS_IPV4_MIN_HDR) {
            *why = NS_ESP_NO_ROOM;
            return -1;
        }
        if (plen > 65535 - NS_IPV4_MIN_HDR)
            return -1;
        uint8_t *ip = seg - NS_IPV4_MIN_HDR;
        memset(ip, 0, NS_IPV4_MIN_HDR);
        ip[0] = 0x45;
        ns_put_u16(ip + 2, (uint16_t)(NS_IPV4_MIN_HDR + plen));
        ip[6] = 0x40; /* DF: an atomic datagram, ID 0 (RFC 6864) */
        ip[8] = DEFAULT_TTL;
        ip[9] = nh;
        memcpy(ip + 12, src->a, 4);
        memcpy(ip + 16, dst->a, 4);
        ns_put_u16(ip + 10, ns_csum_ipv4_header(ip, NS_IPV4_MIN_HDR));
        return (long)(hdr_room - NS_IPV4_MIN_HDR);
    }
    if (hdr_room < NS_IPV6_HDR) {
        *why = NS_ESP_NO_ROOM;
        return -1;
    }
    if (plen > 65535)
        return -1;
    uint8_t *ip = seg - NS_IPV6_HDR;
    memset(ip, 0, NS_IPV6_HDR);
    ip[0] = 0x60;
    ns_put_u16(ip + 4, (uint16_t)plen);
    ip[6] = nh;
    ip[7] = DEFAULT_TTL;
    memcpy(ip + 8, src->a, 16);
    memcpy(ip + 24, dst->a, 16);
    return (long)(hdr_room - NS_IPV6_HDR);
}

enum ns_esp_result ns_esp_decap(struct ns_sad *sad, struct ns_pkt *pkt,
                                const struct ns_addr *outer_src, const struct ns_addr *outer_dst,
                                bool via_udp, uint64_t now_ns, struct ns_esp_in_info *info)
{
    memset(info, 0, sizeof(*info));
    if (!ns_pkt_valid(pkt))
        return drop(sad, NS_ESP_NO_ROOM);
    const uint8_t *esp = ns_pkt_data(pkt);
    const size_t len = pkt->len;
    if (len < NS_ESP_HDR_LEN)
        return drop(sad, NS_ESP_MALFORMED);

    /* 1. SPI. */
    uint32_t spi = ns_get_u32(esp);
    struct ns_esp_sa *sa = ns_sad_find_inbound(sad, spi);
    if (!sa)
        return drop(sad, NS_ESP_NO_SA);
    /* Each SA has one encapsulation, both peers agreed on it: a packet in
     * the other one is not the peer's (nor one to move the SA for), and is
     * refused before it can touch the replay window. */
    if (sa->udp_encap != via_udp)
        return drop(sad, NS_ESP_WRONG_ENCAP);

    /* Lengths the ICV check itself needs. */
    const size_t hdr_len = NS_ESP_HDR_LEN + sa->iv_len;
    if (len < hdr_len + 2 + sa->icv_len)
        return drop(sad, NS_ESP_MALFORMED);
    const size_t body_len = len - hdr_len - sa->icv_len;
    if (!sa->aead && sa->iv_len && body_len % sa->block_len != 0)
        return drop(sad, NS_ESP_MALFORMED);

    /* 2. Replay, before spending a decryption on it. */
    uint64_t seq = ns_replay_infer(sa->replay, ns_get_u32(esp + 4), sa->esn);
    if (!ns_replay_check(sa->replay, seq)) {
        ns_esp_count(sa, &sa->stats.replay_drops, 1);
        return drop(sad, NS_ESP_REPLAY);
    }

    /* 3. Integrity and decryption, in place. */
    uint8_t *body = ns_pkt_data(pkt) + hdr_len;
    struct ns_esp_auth_data ad;
    ns_esp_auth_data_init(&ad, sa, esp, spi, seq);
    ns_esp_cipher_lock(sa);
    int rc = ns_cipher_open(sa->cipher, ad.aad, ad.aad_len, esp + NS_ESP_HDR_LEN, body, body_len,
                            ad.hi, body + body_len);
    ns_esp_cipher_unlock(sa);
    if (rc != 0) {
        ns_esp_count(sa, &sa->stats.auth_drops, 1);
        return drop(sad, NS_ESP_AUTH);
    }

    /* 4. Only an authentic packet moves the window; a copy that another
     * worker accepted while this one decrypted is a replay all the same. */
    enum ns_replay_verdict v = ns_replay_update(sa->replay, seq, sa->shared);
    if (v == NS_REPLAY_SEEN) {
        ns_esp_count(sa, &sa->stats.replay_drops, 1);
        return drop(sad, NS_ESP_REPLAY);
    }
    info->newest = v == NS_REPLAY_NEWEST;
    info->sa = sa;

    /* 5. Trailer. */
    size_t plen;
    uint8_t nh;
    if (!strip_trailer(body, body_len, &plen, &nh))
        return drop(sad, NS_ESP_MALFORMED);
    info->next_header = nh;
    if (nh == NS_ESP_NH_NONE) {
        ns_esp_stamp(&sa->stats.last_used_ns, now_ns); /* the peer is alive all the same */
        return drop(sad, NS_ESP_DUMMY);
    }

    /* 6. The inner packet. */
    enum ns_esp_result why;
    if (sa->mode == NS_ESP_TUNNEL) {
        size_t ip_len = check_tunnel(sa, body, plen, nh, &why);
        if (!ip_len)
            return drop(sad, why);
        pkt->head += hdr_len;
        pkt->len = ip_len;
    } else {
        const struct ns_addr *src = outer_src ? outer_src : &sa->peer.addr;
        const struct ns_addr *dst = outer_dst ? outer_dst : &sa->local.addr;
        size_t room = pkt->head + hdr_len; /* bytes before the payload */
        long start = rebuild_transport(sa, pkt->buf, room, plen, nh, src, dst, &why);
        if (start < 0)
            return drop(sad, why);
        pkt->head = (size_t)start;
        pkt->len = room - (size_t)start + plen;
    }
    ns_esp_count(sa, &sa->stats.packets, 1);
    ns_esp_count(sa, &sa->stats.bytes, sa->mode == NS_ESP_TUNNEL ? pkt->len : plen);
    ns_esp_stamp(&sa->stats.last_used_ns, now_ns);
    return NS_ESP_OK;
}
