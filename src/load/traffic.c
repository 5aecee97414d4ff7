/* natsec-load's hold-phase traffic: one NAT keepalive per client (RFC 3948
 * 4) and an ICMP echo through its CHILD_SA, whose decrypted reply is
 * checked and counted. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "esp/esp.h"
#include "esp/pkt.h"
#include "load.h"
#include "natt/udp_demux.h"
#include "util/buf.h"

/* ---- ESP: an ICMP echo through the client's CHILD_SA ---- */

static uint16_t csum16(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += ns_get_u16(p + i);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

#define ECHO_LEN 64 /* IPv4 20 + ICMP 8 + 36 bytes of data */

/* An IPv4 header of len bytes, protocol proto, from the client's virtual
 * IP to the address it pings, at p (zeroed by the caller). */
static void put_ipv4_header(uint8_t *p, const struct client *c, size_t len, uint8_t proto)
{
    p[0] = 0x45;
    ns_put_u16(p + 2, (uint16_t)len);
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, c->vip.a, 4);
    memcpy(p + 16, G.ping.a, 4);
    ns_put_u16(p + 10, csum16(p, 20));
}

/* Seals pkt on the client's outbound SA and sends it to the SA's peer;
 * false (counted) when either fails. */
static bool seal_and_send(struct client *c, struct ns_pkt *pkt, uint64_t now_ns)
{
    if (ns_esp_encap(G.sad, c->sa_out, pkt, now_ns) != NS_ESP_OK) {
        G.esp_bad++;
        return false;
    }
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(ns_esp_sa_peer(c->sa_out), &ss);
    if (sendto(c->fd[1], ns_pkt_data(pkt), pkt->len, 0, (struct sockaddr *)&ss, sl) < 0) {
        G.tx_err++;
        return false;
    }
    return true;
}

void load_send_echo(struct client *c, unsigned idx, uint64_t now_ns)
{
    if (!c->sa_out || !c->vip_set || c->vip.family != AF_INET)
        return;
    uint8_t buf[RX_BUF];
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, buf, sizeof(buf));
    uint8_t *p = ns_pkt_data(&pkt);
    memset(p, 0, ECHO_LEN);
    put_ipv4_header(p, c, ECHO_LEN, 1 /* ICMP */);
    uint8_t *icmp = p + 20;
    icmp[0] = 8; /* echo request */
    ns_put_u16(icmp + 4, (uint16_t)idx);
    ns_put_u16(icmp + 6, ++c->echo_seq);
    memcpy(icmp + 8, "natsec-load", 11);
    ns_put_u16(icmp + 2, csum16(icmp, ECHO_LEN - 20));
    pkt.len = ECHO_LEN;
    if (!seal_and_send(c, &pkt, now_ns))
        return;
    c->echo_sent = true;
    c->echo_tries++;
    G.esp_sent++;
}

void load_send_flood(struct client *c, uint64_t now_ns)
{
    if (!c->sa_out || !c->vip_set || c->vip.family != AF_INET)
        return;
    uint8_t buf[RX_BUF];
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, buf, sizeof(buf));
    uint8_t *p = ns_pkt_data(&pkt);
    size_t len = 28 + G.flood;
    memset(p, 0, len);
    put_ipv4_header(p, c, len, 17 /* UDP, no checksum (RFC 768) */);
    ns_put_u16(p + 20, 9);
    ns_put_u16(p + 22, 9);
    ns_put_u16(p + 24, (uint16_t)(len - 20));
    pkt.len = len;
    if (!seal_and_send(c, &pkt, now_ns))
        return;
    G.flood_pkts++;
    G.flood_bytes += len;
}

void load_send_keepalive(struct client *c)
{
    uint8_t b[1];
    size_t n = ns_natt_keepalive(b, sizeof(b));
    struct sockaddr_storage ss;
    socklen_t sl = ns_endpoint_to_sockaddr(&G.gw_natt, &ss);
    if (sendto(c->fd[1], b, n, 0, (struct sockaddr *)&ss, sl) < 0) {
        G.tx_err++;
        return;
    }
    c->keepalive_sent = true;
    G.keepalives++;
}

void load_esp_input(struct client *c, unsigned idx, uint8_t *buf, size_t cap, size_t len,
                    uint64_t now_ns)
{
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, buf, cap);
    pkt.len = len;
    struct ns_esp_in_info info;
    if (ns_esp_decap(G.sad, &pkt, NULL, NULL, true, now_ns, &info) != NS_ESP_OK) {
        G.esp_bad++;
        return;
    }
    /* An authentic packet that is not the reply to this client's own echo
     * (another client's SA, another virtual IP, another echo) is one that
     * reached the wrong client (R6): counted apart from undecryptable ones. */
    const uint8_t *p = ns_pkt_data(&pkt);
    if (info.sa != ns_sad_find_inbound(G.sad, c->spi_in) || pkt.len < 28 || p[9] != 1 ||
        p[20] != 0 || memcmp(p + 12, G.ping.a, 4) != 0 || memcmp(p + 16, c->vip.a, 4) != 0 ||
        ns_get_u16(p + 24) != (uint16_t)idx) {
        G.esp_foreign++;
        return;
    }
    if (!c->echo_ok)
        G.esp_replies++;
    c->echo_ok = true;
}
