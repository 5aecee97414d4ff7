/* libFuzzer target for inbound ESP (src/esp/esp_in.c) and the inner-packet
 * parsers behind it (src/esp/flow.c, src/esp/csum.c).
 *
 * The first input byte picks what the rest is:
 *   even: a raw ESP packet for a SAD holding a few SAs (fixed SPIs
 *         0x1000.. below); reaches SPI lookup, replay, length checks, ICV;
 *         with bit 1 set it arrives in UDP, the encapsulation no SA has;
 *   odd:  a plaintext ESP body (inner packet, padding, pad length, next
 *         header) for SA number (byte 1 % N_SAS); it is sealed here with
 *         that SA's keys first, so the fuzzer gets past the ICV into
 *         trailer, inner IP header, selector (R17) and transport-mode
 *         (R2) handling. Bytes 2..9 also go through the outbound path as
 *         a TUN packet with the rest.
 * Replay windows are reset for every input, so runs are reproducible. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp/esp.h"
#include "esp/sa_priv.h"
#include "util/buf.h"
#include "util/log.h"

#define BUF_SIZE 4096
#define MAX_INPUT (BUF_SIZE - NS_PKT_HEADROOM - NS_PKT_TAILROOM - 64)

struct fuzz_sa {
    enum ns_encr_alg encr;
    unsigned bits;
    enum ns_integ_alg integ;
    enum ns_esp_mode mode;
    bool esn;
};

static const struct fuzz_sa sas[] = {
    {NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, NS_ESP_TUNNEL, false},
    {NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA2_256_128, NS_ESP_TUNNEL, true},
    {NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_512_256, NS_ESP_TRANSPORT, false},
    {NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, NS_ESP_TRANSPORT, true},
    {NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA2_384_192, NS_ESP_TRANSPORT, false},
};
#define N_SAS (sizeof(sas) / sizeof(sas[0]))
#define SPI_BASE 0x1000u

static struct ns_sad *sad_in;  /* the receiver: inbound SAs */
static struct ns_sad *sad_out; /* a sender for the outbound path */
static struct ns_esp_sa *in_sa[N_SAS];
static struct ns_esp_sa_spec specs[N_SAS];
static struct ns_cipher *sealers[N_SAS];

static void add_ts(struct ns_ts *ts, unsigned *n, const char *cidr)
{
    if (ns_ts_from_prefix(&ts[*n], cidr) == 0)
        (*n)++;
}

static void setup(void)
{
    ns_log_set_level(NS_LOG_ERROR);
    sad_in = ns_sad_new();
    sad_out = ns_sad_new();
    if (!sad_in || !sad_out)
        abort();
    for (size_t i = 0; i < N_SAS; i++) {
        struct ns_esp_sa_spec *s = &specs[i];
        memset(s, 0, sizeof(*s));
        s->dir = NS_ESP_INBOUND;
        s->spi = SPI_BASE + (uint32_t)i;
        s->mode = sas[i].mode;
        s->esn = sas[i].esn;
        s->encr = sas[i].encr;
        s->key_bits = sas[i].bits;
        s->integ = sas[i].integ;
        s->encr_key_len = ns_encr_keymat_len(s->encr, s->key_bits);
        s->integ_key_len = ns_integ_key_len(s->integ);
        for (size_t k = 0; k < sizeof(s->encr_key); k++)
            s->encr_key[k] = (uint8_t)(k * 7 + i);
        for (size_t k = 0; k < sizeof(s->integ_key); k++)
            s->integ_key[k] = (uint8_t)(k * 11 + i);
        /* Selectors wide enough that the fuzzer finds both sides of them:
         * a /16 and an IPv6 /64 locally, a /32 and a port range remotely. */
        add_ts(s->local_ts, &s->n_local_ts, "10.1.0.0/16");
        add_ts(s->local_ts, &s->n_local_ts, "fd00:1::/64");
        add_ts(s->remote_ts, &s->n_remote_ts, "10.99.0.7/32");
        add_ts(s->remote_ts, &s->n_remote_ts, "fd00:99::7/128");
        add_ts(s->remote_ts, &s->n_remote_ts, "192.168.0.0/16");
        s->remote_ts[2].ip_proto = 17;
        s->remote_ts[2].port_lo = 1000;
        s->remote_ts[2].port_hi = 2000;
        ns_addr_parse(&s->local.addr, "192.0.2.1");
        ns_addr_parse(&s->peer.addr, "203.0.113.9");
        ns_addr_parse(&s->orig_src, "192.168.1.2");
        ns_addr_parse(&s->orig_dst, "192.0.2.1");
        s->ike_sa_id = i + 1;
        in_sa[i] = ns_sad_install(sad_in, s);
        sealers[i] = ns_cipher_new(s->encr, s->key_bits, s->integ, s->encr_key, s->encr_key_len,
                                   s->integ_key, s->integ_key_len);
        /* The mirror image, outbound, for the TUN-side path. */
        struct ns_esp_sa_spec o = *s;
        o.dir = NS_ESP_OUTBOUND;
        memcpy(o.local_ts, s->remote_ts, sizeof(o.local_ts));
        o.n_local_ts = s->n_remote_ts;
        memcpy(o.remote_ts, s->local_ts, sizeof(o.remote_ts));
        o.n_remote_ts = s->n_local_ts;
        if (!in_sa[i] || !sealers[i] || !ns_sad_install(sad_out, &o))
            abort();
    }
}

/* Builds SPI, sequence number, IV, sealed body and ICV at out. */
static size_t seal(size_t i, const uint8_t *body, size_t blen, uint8_t *out)
{
    struct ns_cipher *c = sealers[i];
    size_t ivl = ns_cipher_iv_len(c), icvl = ns_cipher_icv_len(c);
    const uint32_t seq = 1;
    ns_put_u32(out, specs[i].spi);
    ns_put_u32(out + 4, seq);
    memset(out + 8, 0, ivl);
    if (ivl)
        out[8 + ivl - 1] = 1;
    memcpy(out + 8 + ivl, body, blen);
    uint8_t aad[12], hi[4] = {0, 0, 0, 0};
    size_t aad_len = ns_esp_aad(aad, specs[i].spi, seq, specs[i].esn && ns_cipher_is_aead(c));
    const uint8_t *esn_hi = specs[i].esn && !ns_cipher_is_aead(c) ? hi : NULL;
    if (ns_cipher_seal(c, aad, aad_len, out + 8, out + 8 + ivl, blen, esn_hi,
                       out + 8 + ivl + blen) != 0)
        return 0;
    return 8 + ivl + blen + icvl;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size < 1 || size > MAX_INPUT)
        return 0;
    for (size_t i = 0; i < N_SAS; i++)
        ns_replay_init(in_sa[i]->replay);

    static uint8_t buf[BUF_SIZE];
    struct ns_pkt pkt;
    ns_pkt_init(&pkt, buf, sizeof(buf));
    struct ns_addr from, to;
    ns_addr_parse(&from, "203.0.113.9");
    ns_addr_parse(&to, "192.0.2.1");
    struct ns_esp_in_info info;

    if ((data[0] & 1) == 0) {
        memcpy(ns_pkt_data(&pkt), data + 1, size - 1);
        pkt.len = size - 1;
        ns_esp_decap(sad_in, &pkt, &from, &to, (data[0] & 2) != 0, 1, &info);
        return 0;
    }
    if (size < 2)
        return 0;
    size_t i = data[1] % N_SAS;
    const uint8_t *body = data + 2;
    size_t blen = size - 2;
    /* CBC takes whole blocks; cut the body down rather than reject it. */
    if (sas[i].encr == NS_ENCR_AES_CBC)
        blen -= blen % 16;
    pkt.len = seal(i, body, blen, ns_pkt_data(&pkt));
    if (pkt.len == 0)
        return 0;
    enum ns_esp_result r = ns_esp_decap(sad_in, &pkt, &from, &to, false, 1, &info);
    if (r == NS_ESP_OK && (pkt.len > BUF_SIZE || pkt.head > BUF_SIZE - pkt.len))
        abort(); /* the delivered packet must lie inside the buffer */

    /* The same bytes as a packet read from TUN, through the SPD and out. */
    ns_pkt_init(&pkt, buf, sizeof(buf));
    memcpy(ns_pkt_data(&pkt), data + 2, size - 2);
    pkt.len = size - 2;
    struct ns_esp_sa *sa;
    ns_esp_output(sad_out, &pkt, 1, &sa);
    return 0;
}
