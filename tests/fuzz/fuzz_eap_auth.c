/* libFuzzer target for the EAP state machines (src/eap/eap_auth.h), which
 * take what a client sends in IKE_AUTH's EAP payload (the authenticator)
 * and what a gateway sends (the peer): any sequence of packets, fuzzed or
 * the other side's own answers, is handled within bounds; every packet
 * either side sends parses as EAP of the right code and fits its buffer;
 * neither takes more than NS_EAP_MAX_ROUNDS packets; nothing is taken
 * after the end; and the peer reaches SUCCESS only with the MSK the
 * authenticator holds (no packet sequence makes it accept a gateway that
 * does not know the password).
 *
 * Input: a sequence of steps, each one byte: 0 the authenticator gets the
 * next fuzzed packet, 1 the peer does (a length byte, then the packet), 2
 * the peer gets the authenticator's last packet, 3 the authenticator gets
 * the peer's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eap/eap_auth.h"

static uint8_t alice_hash[NS_MSCHAPV2_HASH_LEN];
/* The MSK the authenticator computed, kept past a later failure (which
 * wipes its own copy). */
static uint8_t server_msk[NS_MSCHAPV2_MSK_LEN];

static bool find_user(void *ctx, const uint8_t *name, size_t len,
                      uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN])
{
    (void)ctx;
    if (len != 5 || memcmp(name, "alice", 5) != 0)
        return false;
    memcpy(nt_hash, alice_hash, NS_MSCHAPV2_HASH_LEN);
    return true;
}

struct side {
    uint8_t out[NS_EAP_OUT_MAX];
    size_t len;
    bool over;
    unsigned taken;
};

/* What a side built must be one EAP packet of the code it sends. */
static void check_out(const struct side *s, enum ns_eap_step st, bool server)
{
    struct ns_eap e;
    if (s->len == 0) {
        if (server || st == NS_EAP_STEP_SEND)
            abort(); /* the authenticator always answers; a peer's SEND has a packet */
        return;
    }
    if (ns_eap_parse(s->out, s->len, &e) != NS_EAP_OK || e.len != s->len)
        abort();
    if (server && st == NS_EAP_STEP_SEND && e.code != NS_EAP_REQUEST)
        abort();
    if (server && st == NS_EAP_STEP_SUCCESS && e.code != NS_EAP_SUCCESS)
        abort();
    if (server && st == NS_EAP_STEP_FAILURE && s->len && e.code != NS_EAP_FAILURE)
        abort();
    if (!server && e.code != NS_EAP_RESPONSE)
        abort();
}

static void step(struct side *s, bool server, struct ns_eap_server *as, struct ns_eap_peer *ps,
                 const uint8_t *pkt, size_t len)
{
    struct ns_writer w;
    ns_writer_init(&w, s->out, sizeof(s->out));
    enum ns_eap_step st = server ? ns_eap_server_input(as, pkt, len, find_user, NULL, &w)
                                 : ns_eap_peer_input(ps, pkt, len, &w);
    s->len = ns_writer_len(&w);
    if (s->over && st != NS_EAP_STEP_FAILURE)
        abort(); /* nothing is taken after the end */
    if (!s->over && ++s->taken > NS_EAP_MAX_ROUNDS && st != NS_EAP_STEP_FAILURE)
        abort();
    check_out(s, st, server);
    static const uint8_t zero[NS_MSCHAPV2_MSK_LEN];
    if (server && memcmp(as->msk, zero, sizeof(zero)) != 0)
        memcpy(server_msk, as->msk, sizeof(server_msk));
    if (!server && st == NS_EAP_STEP_SUCCESS &&
        memcmp(ps->msk, server_msk, NS_MSCHAPV2_MSK_LEN) != 0)
        abort(); /* the peer accepted someone who does not share its password */
    s->over |= st != NS_EAP_STEP_SEND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        if (ns_mschapv2_nt_hash("clientPass", 10, alice_hash) != 0)
            abort();
        init = true;
    }
    struct ns_eap_server as;
    struct ns_eap_peer ps;
    struct side srv = {0}, peer = {0};
    struct ns_writer w;
    memset(server_msk, 0, sizeof(server_msk));
    ns_writer_init(&w, srv.out, sizeof(srv.out));
    if (ns_eap_server_begin(&as, "gw", &w) != NS_EAP_STEP_SEND ||
        !ns_eap_peer_init(&ps, "alice", 5, alice_hash))
        abort();
    srv.len = ns_writer_len(&w);
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++] & 3;
        if (op <= 1) {
            if (i >= size)
                break;
            size_t len = data[i++];
            len = len < size - i ? len : size - i;
            /* A copy of exactly len bytes, so ASan flags any read past it. */
            uint8_t *pkt = malloc(len ? len : 1);
            if (!pkt)
                break;
            memcpy(pkt, data + i, len);
            i += len;
            if (op == 0)
                step(&srv, true, &as, &ps, pkt, len);
            else
                step(&peer, false, &as, &ps, pkt, len);
            free(pkt);
        } else if (op == 2) {
            uint8_t pkt[NS_EAP_OUT_MAX];
            size_t len = srv.len;
            memcpy(pkt, srv.out, len);
            step(&peer, false, &as, &ps, pkt, len);
        } else {
            uint8_t pkt[NS_EAP_OUT_MAX];
            size_t len = peer.len;
            memcpy(pkt, peer.out, len);
            step(&srv, true, &as, &ps, pkt, len);
        }
    }
    ns_eap_server_wipe(&as);
    ns_eap_peer_wipe(&ps);
    return 0;
}
