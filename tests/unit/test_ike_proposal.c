/* Unit tests for proposal offer/selection/acceptance (src/ike/
 * proposal_select). X9: the proposals native clients send are accepted; R1:
 * AH is never chosen nor offered. Transform IDs are IANA's. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "ike/msg.h"
#include "ike/proposal_select.h"

/* IANA IDs as the peers put them on the wire: the legacy ones Windows
 * offers (natsec takes them only with legacy_proposals) and one natsec
 * does not implement (ECP-384). */
#define ENCR_3DES 3
#define PRF_HMAC_SHA1 2
#define AUTH_HMAC_SHA1_96 2
#define DH_MODP1024 2
#define DH_ECP384 20
#define PROTO_AH 2

/* ---- configured suites ---- */

static struct ns_proposal ike(enum ns_encr_alg e, unsigned bits, enum ns_integ_alg i,
                              enum ns_prf_alg prf, enum ns_dh_group dh)
{
    return (struct ns_proposal){
        .protocol = NS_PROTO_IKE, .encr = e, .key_bits = bits, .integ = i, .prf = prf, .dh = dh};
}

static struct ns_proposal esp(enum ns_encr_alg e, unsigned bits, enum ns_integ_alg i,
                              enum ns_dh_group dh, bool esn)
{
    return (struct ns_proposal){
        .protocol = NS_PROTO_ESP, .encr = e, .key_bits = bits, .integ = i, .dh = dh, .esn = esn};
}

/* aes256-sha256-modp2048 */
static struct ns_proposal ike_aes256_sha256_modp2048(void)
{
    return ike(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128, NS_PRF_HMAC_SHA2_256,
               NS_DH_MODP2048);
}

/* aes128gcm16-prfsha256-x25519 */
static struct ns_proposal ike_aes128gcm_x25519(void)
{
    return ike(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, NS_PRF_HMAC_SHA2_256, NS_DH_CURVE25519);
}

/* ---- peer SA payloads ---- */

static struct ns_ike_sa_proposal *prop(struct ns_ike_sa *sa, uint8_t protocol, uint8_t spi_len)
{
    struct ns_ike_sa_proposal *p = &sa->prop[sa->n++];
    memset(p, 0, sizeof(*p));
    p->num = (uint8_t)sa->n;
    p->protocol = protocol;
    p->spi_len = spi_len;
    for (uint8_t i = 0; i < spi_len; i++)
        p->spi[i] = (uint8_t)(0xa0 + i);
    return p;
}

static void tr(struct ns_ike_sa_proposal *p, uint8_t type, uint16_t id, uint16_t key_len)
{
    struct ns_ike_transform *t = &p->t[p->n_t++];
    memset(t, 0, sizeof(*t));
    t->type = type;
    t->id = id;
    t->key_len = key_len;
}

/* One non-AEAD IKE proposal, one algorithm per type. */
static void ike_prop(struct ns_ike_sa *sa, uint16_t encr, uint16_t kl, uint16_t prf, uint16_t integ,
                     uint16_t dh)
{
    struct ns_ike_sa_proposal *p = prop(sa, NS_PROTO_IKE, 0);
    tr(p, NS_TRANS_ENCR, encr, kl);
    tr(p, NS_TRANS_PRF, prf, 0);
    tr(p, NS_TRANS_INTEG, integ, 0);
    tr(p, NS_TRANS_DH, dh, 0);
}

/* Windows 10/11 built-in client, IKE_SA_INIT: one suite per proposal, 3DES
 * and SHA-1 first, then AES-256 with SHA-256, and (with the
 * NegotiateDH2048_AES256 registry setting) MODP-2048. */
static void windows_ike(struct ns_ike_sa *sa)
{
    memset(sa, 0, sizeof(*sa));
    ike_prop(sa, ENCR_3DES, 0, PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96, DH_MODP1024);
    ike_prop(sa, NS_ENCR_AES_CBC, 256, PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96, DH_MODP1024);
    ike_prop(sa, ENCR_3DES, 0, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128, DH_MODP1024);
    ike_prop(sa, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             DH_MODP1024);
    ike_prop(sa, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
}

/* macOS/iOS IKEv2 profile defaults (approximately): AES-256 with SHA-256
 * over ECP-256 and MODP-2048, then SHA-1/MODP-1024 fallbacks. */
static void macos_ike(struct ns_ike_sa *sa)
{
    memset(sa, 0, sizeof(*sa));
    ike_prop(sa, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_ECP256);
    ike_prop(sa, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    ike_prop(sa, NS_ENCR_AES_CBC, 256, PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96, DH_MODP1024);
    ike_prop(sa, NS_ENCR_AES_CBC, 128, PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96, DH_MODP1024);
}

/* strongSwan (charon, Android app) default IKE proposal: two proposals,
 * non-AEAD and AEAD, each with several algorithms per type. */
static void strongswan_ike(struct ns_ike_sa *sa)
{
    memset(sa, 0, sizeof(*sa));
    struct ns_ike_sa_proposal *p = prop(sa, NS_PROTO_IKE, 0);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_CBC, 128);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_CBC, 192);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_384_192, 0);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_512_256, 0);
    tr(p, NS_TRANS_PRF, NS_PRF_HMAC_SHA2_256, 0);
    tr(p, NS_TRANS_PRF, NS_PRF_HMAC_SHA2_384, 0);
    tr(p, NS_TRANS_PRF, NS_PRF_HMAC_SHA2_512, 0);
    tr(p, NS_TRANS_DH, NS_DH_CURVE25519, 0);
    tr(p, NS_TRANS_DH, NS_DH_ECP256, 0);
    tr(p, NS_TRANS_DH, DH_ECP384, 0);
    tr(p, NS_TRANS_DH, NS_DH_MODP2048, 0);
    p = prop(sa, NS_PROTO_IKE, 0);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 256);
    tr(p, NS_TRANS_ENCR, NS_ENCR_CHACHA20_POLY1305, 0);
    tr(p, NS_TRANS_PRF, NS_PRF_HMAC_SHA2_256, 0);
    tr(p, NS_TRANS_PRF, NS_PRF_HMAC_SHA2_384, 0);
    tr(p, NS_TRANS_DH, NS_DH_CURVE25519, 0);
    tr(p, NS_TRANS_DH, NS_DH_ECP256, 0);
    tr(p, NS_TRANS_DH, NS_DH_MODP2048, 0);
}

static const struct ns_ike_transform *find_t(const struct ns_ike_sa_proposal *p, uint8_t type)
{
    for (unsigned i = 0; i < p->n_t; i++)
        if (p->t[i].type == type)
            return &p->t[i];
    return NULL;
}

static void assert_t(const struct ns_ike_sa_proposal *p, uint8_t type, uint16_t id, uint16_t kl)
{
    const struct ns_ike_transform *t = find_t(p, type);
    assert_non_null(t);
    assert_int_equal(t->id, id);
    assert_int_equal(t->key_len, kl);
}

static bool same_suite(const struct ns_proposal *a, const struct ns_proposal *b)
{
    return a->protocol == b->protocol && a->encr == b->encr && a->key_bits == b->key_bits &&
           a->integ == b->integ && a->prf == b->prf && a->dh == b->dh && a->esn == b->esn;
}

/* ---- offering ---- */

/* X9: the layout of our IKE offer. */
static void offer_ike_layout(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {ike_aes256_sha256_modp2048(), ike_aes128gcm_x25519()};
    struct ns_ike_sa sa;
    assert_int_equal(ns_sa_offer(ours, 2, NS_PROTO_IKE, NULL, 0, 0, &sa), NS_SA_OK);
    assert_int_equal(sa.n, 2);
    const struct ns_ike_sa_proposal *p = &sa.prop[0];
    assert_int_equal(p->num, 1);
    assert_int_equal(p->protocol, NS_PROTO_IKE);
    assert_int_equal(p->spi_len, 0);
    assert_int_equal(p->n_t, 4);
    assert_t(p, NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
    assert_t(p, NS_TRANS_PRF, NS_PRF_HMAC_SHA2_256, 0);
    assert_t(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    assert_t(p, NS_TRANS_DH, NS_DH_MODP2048, 0);
    p = &sa.prop[1];
    assert_int_equal(p->num, 2);
    assert_int_equal(p->n_t, 3); /* AEAD: no INTEG transform */
    assert_t(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    assert_null(find_t(p, NS_TRANS_INTEG));
    assert_t(p, NS_TRANS_DH, NS_DH_CURVE25519, 0);

    /* IKE re-key: 8-byte SPI in every proposal. */
    const uint8_t spi[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(ns_sa_offer(ours, 2, NS_PROTO_IKE, spi, 8, 0, &sa), NS_SA_OK);
    assert_int_equal(sa.prop[1].spi_len, 8);
    assert_memory_equal(sa.prop[1].spi, spi, 8);
}

/* X9: ESP offer: ESN always, DH only with PFS and not in IKE_AUTH,
 * ChaCha20 without a key length. */
static void offer_esp_layout(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {
        esp(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, 0, false),
        esp(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, NS_DH_MODP2048, true),
        esp(NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, 0, false),
        esp(NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA2_256_128, 0, false), /* R16 */
    };
    const uint8_t spi[4] = {0xc0, 0xff, 0xee, 0x01};
    struct ns_ike_sa sa;
    assert_int_equal(ns_sa_offer(ours, 4, NS_PROTO_ESP, spi, 4, 0, &sa), NS_SA_OK);
    assert_int_equal(sa.n, 4);
    assert_int_equal(sa.prop[0].protocol, NS_PROTO_ESP);
    assert_int_equal(sa.prop[0].spi_len, 4);
    assert_memory_equal(sa.prop[0].spi, spi, 4);
    assert_int_equal(sa.prop[0].n_t, 2);
    assert_t(&sa.prop[0], NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 256);
    assert_t(&sa.prop[0], NS_TRANS_ESN, 0, 0);
    assert_int_equal(sa.prop[1].n_t, 4);
    assert_t(&sa.prop[1], NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    assert_t(&sa.prop[1], NS_TRANS_DH, NS_DH_MODP2048, 0);
    assert_t(&sa.prop[1], NS_TRANS_ESN, 1, 0);
    assert_t(&sa.prop[2], NS_TRANS_ENCR, NS_ENCR_CHACHA20_POLY1305, 0);
    assert_t(&sa.prop[3], NS_TRANS_ENCR, NS_ENCR_NULL, 0);
    assert_t(&sa.prop[3], NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    for (unsigned i = 0; i < sa.n; i++)
        assert_null(find_t(&sa.prop[i], NS_TRANS_PRF));

    /* In IKE_AUTH there is no KE: the PFS group is left out. */
    assert_int_equal(ns_sa_offer(ours, 4, NS_PROTO_ESP, spi, 4, NS_SA_F_NO_DH, &sa), NS_SA_OK);
    assert_null(find_t(&sa.prop[1], NS_TRANS_DH));
    assert_int_equal(sa.prop[1].n_t, 3);
}

/* R1: AH is never offered; bad arguments are refused. */
static void offer_rejects_bad_input(void **state)
{
    (void)state;
    const uint8_t spi[8] = {0};
    struct ns_ike_sa sa;
    struct ns_proposal e = esp(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, 0, false);
    struct ns_proposal i = ike_aes256_sha256_modp2048();
    assert_int_equal(ns_sa_offer(&e, 1, PROTO_AH, spi, 4, 0, &sa), NS_SA_INVALID);
    struct ns_proposal ah = e;
    ah.protocol = PROTO_AH;
    assert_int_equal(ns_sa_offer(&ah, 1, NS_PROTO_ESP, spi, 4, 0, &sa), NS_SA_INVALID);
    struct ns_proposal mixed[] = {e, i};
    assert_int_equal(ns_sa_offer(mixed, 2, NS_PROTO_ESP, spi, 4, 0, &sa), NS_SA_INVALID);
    assert_int_equal(ns_sa_offer(&e, 0, NS_PROTO_ESP, spi, 4, 0, &sa), NS_SA_INVALID);
    assert_int_equal(ns_sa_offer(&e, 1, NS_PROTO_ESP, spi, 0, 0, &sa), NS_SA_INVALID);
    assert_int_equal(ns_sa_offer(&e, 1, NS_PROTO_ESP, spi, 8, 0, &sa), NS_SA_INVALID);
    assert_int_equal(ns_sa_offer(&i, 1, NS_PROTO_IKE, spi, 4, 0, &sa), NS_SA_INVALID);
    assert_int_equal(ns_sa_offer(&i, 1, NS_PROTO_IKE, NULL, 8, 0, &sa), NS_SA_INVALID);
    /* IKE without a DH group (NONE) is not IKE. */
    struct ns_proposal nodh = i;
    nodh.dh = 0;
    assert_int_equal(ns_sa_offer(&nodh, 1, NS_PROTO_IKE, NULL, 0, 0, &sa), NS_SA_INVALID);
    /* Non-AEAD without integrity. */
    struct ns_proposal noint = i;
    noint.integ = NS_INTEG_NONE;
    assert_int_equal(ns_sa_offer(&noint, 1, NS_PROTO_IKE, NULL, 0, 0, &sa), NS_SA_INVALID);
}

/* ---- selecting (responder) ---- */

/* X9: Windows: only its last proposal (AES-256, SHA-256, MODP-2048) is
 * acceptable; the response carries its proposal number. */
static void select_windows(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {ike_aes128gcm_x25519(), ike_aes256_sha256_modp2048()};
    struct ns_ike_sa peer;
    windows_ike(&peer);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, DH_MODP1024, 0, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[1]));
    assert_int_equal(c.peer_num, 5);
    assert_int_equal(c.spi_len, 0);
    /* Windows sent its KE for MODP-1024: ask for MODP-2048. */
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, DH_MODP1024), NS_DH_MODP2048);
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, NS_DH_MODP2048), 0);

    struct ns_ike_sa resp;
    assert_int_equal(ns_sa_response(&c, NULL, 0, 0, &resp), NS_SA_OK);
    assert_int_equal(resp.n, 1);
    assert_int_equal(resp.prop[0].num, 5);
    assert_int_equal(resp.prop[0].n_t, 4);
    assert_t(&resp.prop[0], NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
    assert_t(&resp.prop[0], NS_TRANS_PRF, NS_PRF_HMAC_SHA2_256, 0);
    assert_t(&resp.prop[0], NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    assert_t(&resp.prop[0], NS_TRANS_DH, NS_DH_MODP2048, 0);
}

/* X9: macOS/iOS: our preference order decides, not the peer's. */
static void select_macos_our_order(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {
        ike_aes256_sha256_modp2048(),
        ike(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128, NS_PRF_HMAC_SHA2_256, NS_DH_ECP256),
    };
    struct ns_ike_sa peer;
    macos_ike(&peer);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, 0, 0, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[0]));
    assert_int_equal(c.peer_num, 2);
    /* But with its KE already for ECP-256 we take our suite of that group
     * and spare the INVALID_KE_PAYLOAD round trip. */
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, NS_DH_ECP256, 0, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[1]));
    assert_int_equal(c.peer_num, 1);
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, NS_DH_ECP256), 0);
}

/* X9: strongSwan's multi-algorithm proposals. */
static void select_strongswan_multi_algorithm(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {ike_aes128gcm_x25519(), ike_aes256_sha256_modp2048()};
    struct ns_ike_sa peer;
    strongswan_ike(&peer);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, NS_DH_CURVE25519, 0, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[0]));
    assert_int_equal(c.peer_num, 2);
    struct ns_ike_sa resp;
    assert_int_equal(ns_sa_response(&c, NULL, 0, 0, &resp), NS_SA_OK);
    assert_int_equal(resp.prop[0].num, 2);
    assert_int_equal(resp.prop[0].n_t, 3); /* one per type, no INTEG */
    assert_t(&resp.prop[0], NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    assert_t(&resp.prop[0], NS_TRANS_PRF, NS_PRF_HMAC_SHA2_256, 0);
    assert_t(&resp.prop[0], NS_TRANS_DH, NS_DH_CURVE25519, 0);

    /* KE for MODP-2048: our second suite, from its first proposal. */
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, NS_DH_MODP2048, 0, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[1]));
    assert_int_equal(c.peer_num, 1);
    /* KE for a group none of ours has: our first match, then INVALID_KE. */
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, DH_ECP384, 0, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[0]));
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, DH_ECP384), NS_DH_CURVE25519);
}

/* strongSwan 5.9.8's IKE_SA_INIT request with `proposals = default` (what
 * charon and the Android app send unless configured otherwise), captured on
 * the internet bridge of tests/interop/test_sw_client.sh's topology: two
 * proposals of 34 (CBC/CTR, 13 ENCR, 4 INTEG, 4 PRF, 13 DH) and 36 (AEAD)
 * transforms, KE X25519. */
static const char sw_default_init_hex[] =
    "3ec5666587b87b44000000000000000021202208000000000000037c220002bc"
    "02000148010100220300000c0100000c800e00800300000c0100000c800e00c0"
    "0300000c0100000c800e01000300000c0100000d800e00800300000c0100000d"
    "800e00c00300000c0100000d800e01000300000c01000017800e00800300000c"
    "01000017800e00c00300000c01000017800e01000300000c01000018800e0080"
    "0300000c01000018800e00c00300000c01000018800e01000300000801000003"
    "030000080300000c030000080300000d030000080300000e0300000803000002"
    "0300000802000005030000080200000603000008020000070300000802000002"
    "030000080400001f030000080400002003000008040000130300000804000014"
    "0300000804000015030000080400001c030000080400001d030000080400001e"
    "030000080400000f030000080400001003000008040000110300000804000012"
    "000000080400000e00000170020100240300000c01000014800e00800300000c"
    "01000014800e00c00300000c01000014800e01000300000c01000010800e0080"
    "0300000c01000010800e00c00300000c01000010800e0100030000080100001c"
    "0300000c01000013800e00800300000c01000013800e00c00300000c01000013"
    "800e01000300000c01000012800e00800300000c01000012800e00c00300000c"
    "01000012800e01000300000c0100000f800e00800300000c0100000f800e00c0"
    "0300000c0100000f800e01000300000c0100000e800e00800300000c0100000e"
    "800e00c00300000c0100000e800e010003000008020000050300000802000006"
    "03000008020000070300000802000002030000080400001f0300000804000020"
    "030000080400001303000008040000140300000804000015030000080400001c"
    "030000080400001d030000080400001e030000080400000f0300000804000010"
    "03000008040000110300000804000012000000080400000e28000028001f0000"
    "180dccabee668416bd02b33890a34a50fc8acf8f2d87d3d9ad669b0bf4c62d37"
    "2900002401f24479742410a4ac5b29625845d928b212bef5db462c6383bf4586"
    "cb4d299a2900001c000040047bc2ba965263882ab7789804ba72586461522b20"
    "2900001c000040052deb2ab4fe088399ba496d3f17422ef19fc7ee9929000008"
    "0000402e290000100000402f00020003000400050000000800004016";

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* X9, R14: the real message parses (natsec once dropped it: more than 32
 * transforms in a proposal) and natsec's default first suite is found in
 * its AEAD proposal with the X25519 KE, no INVALID_KE round trip. */
static void select_strongswan_default_real(void **state)
{
    (void)state;
    static uint8_t msg[1024];
    static struct ns_ike_payloads pl;
    static struct ns_ike_sa peer;
    struct ns_ike_header h;
    size_t len = unhex(sw_default_init_hex, msg, sizeof(msg));
    assert_int_equal(ns_ike_parse_message(msg, len, &h, &pl), NS_IKE_OK);
    const struct ns_ike_payload *sa = ns_ike_find(&pl, NS_PL_SA);
    const struct ns_ike_payload *ke_pl = ns_ike_find(&pl, NS_PL_KE);
    assert_non_null(sa);
    assert_non_null(ke_pl);
    assert_int_equal(ns_ike_parse_sa(sa, &peer), NS_IKE_OK);
    assert_int_equal(peer.n, 2);
    assert_int_equal(peer.prop[0].n_t, 34);
    assert_int_equal(peer.prop[1].n_t, 36);
    struct ns_ike_ke ke;
    assert_int_equal(ns_ike_parse_ke(ke_pl, &ke), NS_IKE_OK);
    assert_int_equal(ke.group, NS_DH_CURVE25519);
    struct ns_proposal ours[] = {ike_aes128gcm_x25519(), ike_aes256_sha256_modp2048()};
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, ke.group, 0, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[0]));
    assert_int_equal(c.peer_num, 2);
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, ke.group), 0);
    /* aes256-sha256-modp2048 alone (Windows/macOS-style gateway): from the
     * first proposal, then INVALID_KE asking for MODP-2048. */
    assert_int_equal(ns_sa_select(&ours[1], 1, NS_PROTO_IKE, &peer, ke.group, 0, &c), NS_SA_OK);
    assert_int_equal(c.peer_num, 1);
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, ke.group), NS_DH_MODP2048);
}

/* Nothing acceptable: a clear NO_PROPOSAL_CHOSEN. */
static void select_nothing_acceptable(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {ike_aes128gcm_x25519(), ike_aes256_sha256_modp2048()};
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    ike_prop(&peer, ENCR_3DES, 0, PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96, DH_MODP1024);
    ike_prop(&peer, NS_ENCR_AES_CBC, 256, PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96, DH_MODP1024);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, DH_MODP1024, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    memset(&peer, 0, sizeof(peer));
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    windows_ike(&peer);
    assert_int_equal(ns_sa_select(ours, 0, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    /* An IKE SA payload is not an ESP one. */
    struct ns_proposal e = esp(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128, 0, false);
    assert_int_equal(ns_sa_select(&e, 1, NS_PROTO_ESP, &peer, 0, 0, &c), NS_SA_NO_PROPOSAL_CHOSEN);
}

/* X9: AES-128 and AES-256 are different algorithms; a missing KEY_LENGTH
 * on AES matches neither; ChaCha20 must not carry one. */
static void key_length_respected(void **state)
{
    (void)state;
    struct ns_proposal ours =
        ike(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, NS_PRF_HMAC_SHA2_256, NS_DH_MODP2048);
    struct ns_ike_sa peer;
    struct ns_sa_choice c;
    memset(&peer, 0, sizeof(peer));
    ike_prop(&peer, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    ike_prop(&peer, NS_ENCR_AES_CBC, 0, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    ike_prop(&peer, NS_ENCR_AES_CBC, 128, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c), NS_SA_OK);
    assert_int_equal(c.peer_num, 3);
    assert_int_equal(c.chosen.key_bits, 128);

    /* The same for GCM in ESP. */
    struct ns_proposal g256 = esp(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, 0, false);
    memset(&peer, 0, sizeof(peer));
    struct ns_ike_sa_proposal *p = prop(&peer, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    tr(p, NS_TRANS_ESN, 0, 0);
    assert_int_equal(ns_sa_select(&g256, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 256);
    assert_int_equal(ns_sa_select(&g256, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);

    /* ChaCha20-Poly1305 has no key length attribute (RFC 7634). */
    struct ns_proposal cc = esp(NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, 0, false);
    memset(&peer, 0, sizeof(peer));
    p = prop(&peer, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_CHACHA20_POLY1305, 256);
    assert_int_equal(ns_sa_select(&cc, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    p->t[0].key_len = 0;
    assert_int_equal(ns_sa_select(&cc, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);
}

/* R1: AH proposals are never chosen, whatever else they hold. */
static void ah_never_chosen(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {
        esp(NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA2_256_128, 0, false),
        esp(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, 0, false),
    };
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    struct ns_ike_sa_proposal *p = prop(&peer, PROTO_AH, 4);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    tr(p, NS_TRANS_ESN, 0, 0);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    assert_int_equal(ns_sa_select(ours, 2, PROTO_AH, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    /* A suite wrongly labelled AH on our side is never chosen either. */
    struct ns_proposal ah = ours[0];
    ah.protocol = PROTO_AH;
    assert_int_equal(ns_sa_select(&ah, 1, PROTO_AH, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);

    /* AH first, ESP with NULL encryption second: ESP-NULL is taken (R16). */
    p = prop(&peer, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_NULL, 0);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    tr(p, NS_TRANS_ESN, 0, 0);
    assert_int_equal(ns_sa_select(ours, 2, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);
    assert_int_equal(c.chosen.protocol, NS_PROTO_ESP);
    assert_int_equal(c.chosen.encr, NS_ENCR_NULL);
    assert_int_equal(c.peer_num, 2);
}

/* X9: ESP proposals with ESN: the peer offers both values, or only one. */
static void esp_esn_choice(void **state)
{
    (void)state;
    struct ns_proposal noesn = esp(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, 0, false);
    struct ns_proposal withesn = esp(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, 0, true);
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    struct ns_ike_sa_proposal *p = prop(&peer, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    tr(p, NS_TRANS_ESN, 1, 0);
    tr(p, NS_TRANS_ESN, 0, 0);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(&withesn, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_OK);
    assert_true(c.chosen.esn);
    struct ns_ike_sa resp;
    const uint8_t our_spi[4] = {0x11, 0x22, 0x33, 0x44};
    assert_int_equal(ns_sa_response(&c, our_spi, 4, NS_SA_F_NO_DH, &resp), NS_SA_OK);
    assert_int_equal(resp.prop[0].n_t, 2);
    assert_t(&resp.prop[0], NS_TRANS_ESN, 1, 0);
    assert_int_equal(ns_sa_select(&noesn, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);
    assert_false(c.chosen.esn);

    /* ESN only: our no-ESN suite does not match; without an ESN transform
     * at all it reads as "no ESN". */
    p->n_t = 2;
    assert_int_equal(ns_sa_select(&noesn, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    p->n_t = 1;
    assert_int_equal(ns_sa_select(&noesn, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);
    assert_int_equal(ns_sa_select(&withesn, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
}

/* Windows' ESP offer in IKE_AUTH (no DH): AES-256 then AES-128, each with
 * HMAC-SHA1-96, then 3DES with HMAC-SHA1-96; no ESN transform choice. */
static void windows_esp(struct ns_ike_sa *sa)
{
    memset(sa, 0, sizeof(*sa));
    static const struct {
        uint16_t encr, kl;
    } encrs[] = {{NS_ENCR_AES_CBC, 256}, {NS_ENCR_AES_CBC, 128}, {ENCR_3DES, 0}};
    for (size_t i = 0; i < sizeof(encrs) / sizeof(encrs[0]); i++) {
        struct ns_ike_sa_proposal *p = prop(sa, NS_PROTO_ESP, 4);
        tr(p, NS_TRANS_ENCR, encrs[i].encr, encrs[i].kl);
        tr(p, NS_TRANS_INTEG, AUTH_HMAC_SHA1_96, 0);
        tr(p, NS_TRANS_ESN, 0, 0);
    }
}

/* X9 (RFC 8221: HMAC-SHA1-96 is a MUST- for ESP): a gateway at default
 * settings takes a Windows client with the AES-256/MODP-2048 registry
 * setting: its IKE suite aes256-sha256-modp2048 and its ESP aes256-sha1. */
static void windows_modp2048_with_esp_sha1_at_default_settings(void **state)
{
    /* X9 */
    (void)state;
    struct ns_conf conf;
    ns_conf_defaults(&conf);
    struct ns_ike_sa peer;
    windows_ike(&peer);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(conf.ike, conf.n_ike, NS_PROTO_IKE, &peer, NS_DH_MODP2048, 0, &c),
                     NS_SA_OK);
    assert_int_equal(c.peer_num, 5);
    assert_true(same_suite(&c.chosen, &(struct ns_proposal){.protocol = NS_PROTO_IKE,
                                                            .encr = NS_ENCR_AES_CBC,
                                                            .key_bits = 256,
                                                            .integ = NS_INTEG_HMAC_SHA2_256_128,
                                                            .prf = NS_PRF_HMAC_SHA2_256,
                                                            .dh = NS_DH_MODP2048}));

    windows_esp(&peer);
    assert_int_equal(ns_sa_select(conf.esp, conf.n_esp, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_OK);
    assert_int_equal(c.peer_num, 1);
    assert_int_equal(c.chosen.encr, NS_ENCR_AES_CBC);
    assert_int_equal(c.chosen.key_bits, 256);
    assert_int_equal(c.chosen.integ, NS_INTEG_HMAC_SHA1_96);
    assert_int_equal(c.chosen.dh, 0);
    assert_false(c.chosen.esn);
    struct ns_ike_sa resp;
    const uint8_t our_spi[4] = {0xc1, 0xc2, 0xc3, 0xc4};
    assert_int_equal(ns_sa_response(&c, our_spi, 4, NS_SA_F_NO_DH, &resp), NS_SA_OK);
    assert_int_equal(resp.prop[0].n_t, 3);
    assert_t(&resp.prop[0], NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
    assert_t(&resp.prop[0], NS_TRANS_INTEG, AUTH_HMAC_SHA1_96, 0);
    assert_t(&resp.prop[0], NS_TRANS_ESN, 0, 0);

    /* Only AES-128/SHA-1 offered: also taken at default settings. */
    peer.prop[0] = peer.prop[1];
    peer.n = 1;
    assert_int_equal(ns_sa_select(conf.esp, conf.n_esp, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_OK);
    assert_int_equal(c.chosen.key_bits, 128);
    assert_int_equal(c.chosen.integ, NS_INTEG_HMAC_SHA1_96);
    ns_conf_free(&conf);
}

/* A gateway configured with legacy_proposals = yes and nothing else. */
static void load_legacy_gateway(struct ns_conf *conf)
{
    char err[256];
    if (ns_conf_load_string("[natsecd]\nrole = gateway\nlocal_id = vpn.corp.example\n"
                            "pool = 10.99.0.0/24\nlegacy_proposals = yes\n"
                            "[peer %default]\npsk = a long enough secret\nsubnets = 10.1.0.0/16\n",
                            "legacy.conf", conf, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

/* X12: Windows 10/11 without the registry setting offers only MODP-1024
 * suites with 3DES or SHA-1: NO_PROPOSAL_CHOSEN at default settings; with
 * legacy_proposals = yes the gateway takes aes256-sha1-prfsha1-modp1024
 * (its number 2) and, for ESP, aes256-sha1, or 3des-sha1 when that is all
 * that is offered. */
static void windows_default_needs_legacy_proposals(void **state)
{
    /* X12 */
    (void)state;
    struct ns_ike_sa peer;
    windows_ike(&peer);
    peer.n = 4; /* without its last, registry-enabled MODP-2048 proposal */
    struct ns_sa_choice c;
    struct ns_conf def, legacy;
    ns_conf_defaults(&def);
    assert_int_equal(ns_sa_select(def.ike, def.n_ike, NS_PROTO_IKE, &peer, DH_MODP1024, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    load_legacy_gateway(&legacy);
    assert_int_equal(
        ns_sa_select(legacy.ike, legacy.n_ike, NS_PROTO_IKE, &peer, DH_MODP1024, 0, &c), NS_SA_OK);
    assert_int_equal(c.peer_num, 2);
    assert_true(same_suite(&c.chosen, &(struct ns_proposal){.protocol = NS_PROTO_IKE,
                                                            .encr = NS_ENCR_AES_CBC,
                                                            .key_bits = 256,
                                                            .integ = NS_INTEG_HMAC_SHA1_96,
                                                            .prf = NS_PRF_HMAC_SHA1,
                                                            .dh = NS_DH_MODP1024}));
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, DH_MODP1024), 0);
    struct ns_ike_sa resp;
    assert_int_equal(ns_sa_response(&c, NULL, 0, 0, &resp), NS_SA_OK);
    assert_t(&resp.prop[0], NS_TRANS_PRF, PRF_HMAC_SHA1, 0);
    assert_t(&resp.prop[0], NS_TRANS_INTEG, AUTH_HMAC_SHA1_96, 0);
    assert_t(&resp.prop[0], NS_TRANS_DH, DH_MODP1024, 0);

    /* Only 3DES: taken with legacy_proposals, without a KEY_LENGTH. */
    peer.prop[0].num = 1;
    peer.n = 1;
    assert_int_equal(
        ns_sa_select(legacy.ike, legacy.n_ike, NS_PROTO_IKE, &peer, DH_MODP1024, 0, &c), NS_SA_OK);
    assert_int_equal(c.chosen.encr, NS_ENCR_3DES);
    assert_int_equal(ns_sa_response(&c, NULL, 0, 0, &resp), NS_SA_OK);
    assert_t(&resp.prop[0], NS_TRANS_ENCR, ENCR_3DES, 0);
    /* 3DES with a KEY_LENGTH attribute is not the 3DES we know. */
    peer.prop[0].t[0].key_len = 192;
    assert_int_equal(
        ns_sa_select(legacy.ike, legacy.n_ike, NS_PROTO_IKE, &peer, DH_MODP1024, 0, &c),
        NS_SA_NO_PROPOSAL_CHOSEN);

    windows_esp(&peer);
    assert_int_equal(
        ns_sa_select(legacy.esp, legacy.n_esp, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
        NS_SA_OK);
    assert_int_equal(c.chosen.encr, NS_ENCR_AES_CBC);
    assert_int_equal(c.chosen.integ, NS_INTEG_HMAC_SHA1_96);
    peer.prop[0] = peer.prop[2]; /* 3des-sha1 alone */
    peer.prop[0].num = 1;
    peer.n = 1;
    assert_int_equal(ns_sa_select(def.esp, def.n_esp, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    assert_int_equal(
        ns_sa_select(legacy.esp, legacy.n_esp, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
        NS_SA_OK);
    assert_int_equal(c.chosen.encr, NS_ENCR_3DES);
    assert_int_equal(c.chosen.integ, NS_INTEG_HMAC_SHA1_96);
    ns_conf_free(&def);
    ns_conf_free(&legacy);
}

/* X12: a refusal's log line names what the peer offered, in natsec's
 * proposal syntax (several algorithms of a kind joined by '/', those
 * natsec has no name for by number), and says when only the
 * legacy_proposals suites would have matched. */
static void offer_text_and_legacy_hint(void **state)
{
    /* X12 */
    (void)state;
    struct ns_ike_sa peer;
    char buf[512];
    windows_ike(&peer);
    assert_string_equal(ns_sa_offer_str(&peer, buf, sizeof(buf)),
                        "3des-sha1-prfsha1-modp1024, aes256-sha1-prfsha1-modp1024, "
                        "3des-sha256-prfsha256-modp1024, aes256-sha256-prfsha256-modp1024, "
                        "aes256-sha256-prfsha256-modp2048");
    assert_true(ns_sa_legacy_would_match(&peer, NS_PROTO_IKE, 0));
    strongswan_ike(&peer);
    assert_string_equal(ns_sa_offer_str(&peer, buf, sizeof(buf)),
                        "aes128/encr12:192/aes256-sha256/sha384/sha512-prfsha256/prfsha384/"
                        "prfsha512-x25519/ecp256/dh20/modp2048, "
                        "aes128gcm16/aes256gcm16/chacha20poly1305-prfsha256/prfsha384-x25519/"
                        "ecp256/modp2048");
    assert_false(ns_sa_legacy_would_match(&peer, NS_PROTO_IKE, 0));
    /* A full buffer ends in "...", always terminated. */
    char small[24];
    assert_string_equal(ns_sa_offer_str(&peer, small, sizeof(small)), "aes128/encr12:192/ae...");
    windows_esp(&peer);
    assert_string_equal(ns_sa_offer_str(&peer, buf, sizeof(buf)),
                        "aes256-sha1, aes128-sha1, 3des-sha1");
    assert_true(ns_sa_legacy_would_match(&peer, NS_PROTO_ESP, NS_SA_F_NO_DH));
    memset(&peer, 0, sizeof(peer));
    assert_string_equal(ns_sa_offer_str(&peer, buf, sizeof(buf)), "");
}

/* An initiator offering aes256-sha1 for ESP accepts the answer that picks
 * it, and refuses an answer that picks SHA-1 with a cipher it did not offer. */
static void esp_sha1_offer_and_accept(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {
        esp(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, 0, false),
        esp(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA1_96, 0, false),
    };
    const uint8_t spi[4] = {1, 2, 3, 4};
    struct ns_ike_sa offer, resp;
    assert_int_equal(ns_sa_offer(ours, 2, NS_PROTO_ESP, spi, 4, NS_SA_F_NO_DH, &offer), NS_SA_OK);
    assert_t(&offer.prop[1], NS_TRANS_INTEG, AUTH_HMAC_SHA1_96, 0);
    memset(&resp, 0, sizeof(resp));
    resp.n = 1;
    resp.prop[0] = offer.prop[1];
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_accept(ours, 2, NS_PROTO_ESP, &resp, NS_SA_F_NO_DH, &c), NS_SA_OK);
    assert_true(same_suite(&c.chosen, &ours[1]));
    resp.prop[0].t[0].key_len = 128; /* AES-128: not offered with SHA-1 */
    assert_int_equal(ns_sa_accept(ours, 2, NS_PROTO_ESP, &resp, NS_SA_F_NO_DH, &c), NS_SA_INVALID);
}

/* ESP SPIs: the choice carries the peer's, the response ours. */
static void esp_spis_and_numbers(void **state)
{
    (void)state;
    struct ns_proposal ours = esp(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128, 0, false);
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    /* Windows ESP: AES-256/SHA-1 first, AES-256/SHA-256 second. */
    struct ns_ike_sa_proposal *p = prop(&peer, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
    tr(p, NS_TRANS_INTEG, AUTH_HMAC_SHA1_96, 0);
    tr(p, NS_TRANS_ESN, 0, 0);
    p = prop(&peer, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    tr(p, NS_TRANS_ESN, 0, 0);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);
    assert_int_equal(c.peer_num, 2);
    assert_int_equal(c.spi_len, 4);
    const uint8_t peer_spi[4] = {0xa0, 0xa1, 0xa2, 0xa3};
    assert_memory_equal(c.spi, peer_spi, 4);
    struct ns_ike_sa resp;
    const uint8_t our_spi[4] = {0xde, 0xad, 0xbe, 0xef};
    assert_int_equal(ns_sa_response(&c, our_spi, 4, NS_SA_F_NO_DH, &resp), NS_SA_OK);
    assert_int_equal(resp.prop[0].num, 2);
    assert_memory_equal(resp.prop[0].spi, our_spi, 4);
    assert_int_equal(ns_sa_response(&c, our_spi, 8, NS_SA_F_NO_DH, &resp), NS_SA_INVALID);

    /* A peer ESP proposal with a wrong SPI size is not taken. */
    peer.prop[1].spi_len = 8;
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
}

/* PFS: needed in CREATE_CHILD_SA, ignored in IKE_AUTH (no KE there). */
static void esp_pfs(void **state)
{
    (void)state;
    struct ns_proposal pfs =
        esp(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, NS_DH_MODP2048, false);
    struct ns_proposal nopfs = esp(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, 0, false);
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    struct ns_ike_sa_proposal *p = prop(&peer, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_CBC, 128);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    tr(p, NS_TRANS_ESN, 0, 0);
    struct ns_sa_choice c;
    /* CREATE_CHILD_SA without a group offered: no PFS, not acceptable. */
    assert_int_equal(ns_sa_select(&pfs, 1, NS_PROTO_ESP, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    assert_int_equal(ns_sa_select(&nopfs, 1, NS_PROTO_ESP, &peer, 0, 0, &c), NS_SA_OK);
    /* IKE_AUTH: the PFS suite matches without DH, and its response has none. */
    assert_int_equal(ns_sa_select(&pfs, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);
    assert_int_equal(c.chosen.dh, 0);
    /* The peer lists a group: fine with PFS, and NONE also allows none. */
    tr(p, NS_TRANS_DH, NS_DH_MODP2048, 0);
    assert_int_equal(ns_sa_select(&pfs, 1, NS_PROTO_ESP, &peer, NS_DH_MODP2048, 0, &c), NS_SA_OK);
    assert_int_equal(c.chosen.dh, NS_DH_MODP2048);
    assert_int_equal(ns_sa_select(&nopfs, 1, NS_PROTO_ESP, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    tr(p, NS_TRANS_DH, 0, 0);
    assert_int_equal(ns_sa_select(&nopfs, 1, NS_PROTO_ESP, &peer, 0, 0, &c), NS_SA_OK);
    assert_int_equal(ns_sa_ke_group_to_request(&c.chosen, 0), 0);
    /* In IKE_AUTH a DH transform the peer put in anyway is ignored. */
    assert_int_equal(ns_sa_select(&pfs, 1, NS_PROTO_ESP, &peer, 0, NS_SA_F_NO_DH, &c), NS_SA_OK);
}

/* RFC 5282 8: an AEAD takes no integrity, or NONE. */
static void aead_integrity_none(void **state)
{
    (void)state;
    struct ns_proposal g = ike_aes128gcm_x25519();
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    struct ns_ike_sa_proposal *p = prop(&peer, NS_PROTO_IKE, 0);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    tr(p, NS_TRANS_PRF, NS_PRF_HMAC_SHA2_256, 0);
    tr(p, NS_TRANS_DH, NS_DH_CURVE25519, 0);
    tr(p, NS_TRANS_INTEG, NS_INTEG_HMAC_SHA2_256_128, 0);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(&g, 1, NS_PROTO_IKE, &peer, 0, 0, &c), NS_SA_NO_PROPOSAL_CHOSEN);
    tr(p, NS_TRANS_INTEG, NS_INTEG_NONE, 0);
    assert_int_equal(ns_sa_select(&g, 1, NS_PROTO_IKE, &peer, 0, 0, &c), NS_SA_OK);
}

/* 3.3.6: a proposal with a transform type we do not know is unacceptable;
 * an IKE proposal whose only DH is NONE is never chosen. */
static void unknown_type_and_dh_none(void **state)
{
    (void)state;
    struct ns_proposal ours = ike_aes256_sha256_modp2048();
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    ike_prop(&peer, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    tr(&peer.prop[0], 6 /* ADDKE1, RFC 9370 */, 31, 0);
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    /* ESN is not an IKE transform. */
    peer.prop[0].t[4].type = NS_TRANS_ESN;
    peer.prop[0].t[4].id = 0;
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    peer.prop[0].n_t = 4;
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c), NS_SA_OK);

    /* DH NONE in IKE. */
    memset(&peer, 0, sizeof(peer));
    ike_prop(&peer, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128, 0);
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    struct ns_proposal nodh = ours;
    nodh.dh = 0;
    assert_int_equal(ns_sa_select(&nodh, 1, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
}

/* 3.3.6: a transform with an attribute we do not know is never chosen;
 * another transform of the same proposal still can be. */
static void unknown_attribute_not_chosen(void **state)
{
    (void)state;
    struct ns_proposal ours = ike_aes256_sha256_modp2048();
    struct ns_ike_sa peer;
    memset(&peer, 0, sizeof(peer));
    ike_prop(&peer, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    peer.prop[0].t[0].unknown_attr = true;
    struct ns_sa_choice c;
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c),
                     NS_SA_NO_PROPOSAL_CHOSEN);
    tr(&peer.prop[0], NS_TRANS_ENCR, NS_ENCR_AES_CBC, 256);
    assert_int_equal(ns_sa_select(&ours, 1, NS_PROTO_IKE, &peer, 0, 0, &c), NS_SA_OK);
}

/* ---- accepting (initiator) ---- */

/* The whole round: offer, responder selects, response, initiator accepts. */
static void round_trip(void **state)
{
    (void)state;
    struct ns_proposal client[] = {ike_aes128gcm_x25519(), ike_aes256_sha256_modp2048()};
    struct ns_proposal gateway[] = {ike_aes256_sha256_modp2048(), ike_aes128gcm_x25519()};
    struct ns_ike_sa offer, resp;
    struct ns_sa_choice gc, cc;
    assert_int_equal(ns_sa_offer(client, 2, NS_PROTO_IKE, NULL, 0, 0, &offer), NS_SA_OK);
    assert_int_equal(ns_sa_select(gateway, 2, NS_PROTO_IKE, &offer, NS_DH_CURVE25519, 0, &gc),
                     NS_SA_OK);
    assert_true(same_suite(&gc.chosen, &gateway[1])); /* KE group preferred */
    assert_int_equal(gc.peer_num, 1);
    assert_int_equal(ns_sa_response(&gc, NULL, 0, 0, &resp), NS_SA_OK);
    assert_int_equal(ns_sa_accept(client, 2, NS_PROTO_IKE, &resp, 0, &cc), NS_SA_OK);
    assert_true(same_suite(&cc.chosen, &client[0]));

    /* ESP in IKE_AUTH, with SPIs both ways. */
    struct ns_proposal e[] = {
        esp(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, NS_DH_CURVE25519, true),
        esp(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, 0, false),
    };
    const uint8_t ispi[4] = {1, 1, 1, 1}, rspi[4] = {2, 2, 2, 2};
    assert_int_equal(ns_sa_offer(e, 2, NS_PROTO_ESP, ispi, 4, NS_SA_F_NO_DH, &offer), NS_SA_OK);
    assert_int_equal(ns_sa_select(&e[1], 1, NS_PROTO_ESP, &offer, 0, NS_SA_F_NO_DH, &gc), NS_SA_OK);
    assert_memory_equal(gc.spi, ispi, 4);
    assert_int_equal(ns_sa_response(&gc, rspi, 4, NS_SA_F_NO_DH, &resp), NS_SA_OK);
    assert_int_equal(ns_sa_accept(e, 2, NS_PROTO_ESP, &resp, NS_SA_F_NO_DH, &cc), NS_SA_OK);
    assert_true(same_suite(&cc.chosen, &e[1]));
    assert_int_equal(cc.spi_len, 4);
    assert_memory_equal(cc.spi, rspi, 4);
}

/* An SA payload through the real codec: build, parse. */
static void through_wire(const struct ns_ike_sa *in, struct ns_ike_sa *out)
{
    static uint8_t buf[4096];
    struct ns_ike_header h = {.spi_i = 0x1122334455667788ull, .exchange = NS_IKE_SA_INIT};
    struct ns_ike_builder b;
    ns_ike_build_begin(&b, buf, sizeof(buf), &h);
    ns_ike_add_sa(&b, in);
    int len = ns_ike_build_finish(&b);
    assert_true(len > 0);
    struct ns_ike_header ph;
    struct ns_ike_payloads pl;
    assert_int_equal(ns_ike_parse_message(buf, (size_t)len, &ph, &pl), NS_IKE_OK);
    const struct ns_ike_payload *sa = ns_ike_find(&pl, NS_PL_SA);
    assert_non_null(sa);
    assert_int_equal(ns_ike_parse_sa(sa, out), NS_IKE_OK);
}

/* X9: the same round over the wire format, so the KEY_LENGTH attribute,
 * proposal numbers and SPIs survive encoding. */
static void round_trip_through_codec(void **state)
{
    (void)state;
    struct ns_proposal client[] = {
        ike(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, NS_PRF_HMAC_SHA2_256, NS_DH_MODP2048),
        ike_aes256_sha256_modp2048(),
        ike(NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, NS_PRF_HMAC_SHA2_512, NS_DH_ECP256),
    };
    struct ns_proposal gateway[] = {client[2], ike_aes256_sha256_modp2048()};
    struct ns_ike_sa offer, wire, resp, resp_wire;
    struct ns_sa_choice gc, cc;
    assert_int_equal(ns_sa_offer(client, 3, NS_PROTO_IKE, NULL, 0, 0, &offer), NS_SA_OK);
    through_wire(&offer, &wire);
    assert_int_equal(wire.n, 3);
    assert_t(&wire.prop[0], NS_TRANS_ENCR, NS_ENCR_AES_CBC, 128);
    assert_t(&wire.prop[2], NS_TRANS_ENCR, NS_ENCR_CHACHA20_POLY1305, 0);
    /* The gateway's first choice (ChaCha20) needs ECP-256, the KE was for
     * MODP-2048: it takes AES-256 without a round trip. */
    assert_int_equal(ns_sa_select(gateway, 2, NS_PROTO_IKE, &wire, NS_DH_MODP2048, 0, &gc),
                     NS_SA_OK);
    assert_true(same_suite(&gc.chosen, &gateway[1]));
    assert_int_equal(gc.peer_num, 2);
    assert_int_equal(ns_sa_response(&gc, NULL, 0, 0, &resp), NS_SA_OK);
    through_wire(&resp, &resp_wire);
    assert_int_equal(resp_wire.prop[0].num, 2);
    assert_int_equal(ns_sa_accept(client, 3, NS_PROTO_IKE, &resp_wire, 0, &cc), NS_SA_OK);
    assert_true(same_suite(&cc.chosen, &client[1]));

    /* ESP with an SPI and ESN. */
    struct ns_proposal e = esp(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, 0, true);
    const uint8_t spi[4] = {0xca, 0xfe, 0xba, 0xbe};
    assert_int_equal(ns_sa_offer(&e, 1, NS_PROTO_ESP, spi, 4, NS_SA_F_NO_DH, &offer), NS_SA_OK);
    through_wire(&offer, &wire);
    assert_int_equal(ns_sa_select(&e, 1, NS_PROTO_ESP, &wire, 0, NS_SA_F_NO_DH, &gc), NS_SA_OK);
    assert_int_equal(gc.spi_len, 4);
    assert_memory_equal(gc.spi, spi, 4);
    assert_true(gc.chosen.esn);
}

/* The initiator refuses responses that are not one of its suites. */
static void accept_rejects_bad_responses(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {ike_aes256_sha256_modp2048()};
    struct ns_ike_sa resp;
    struct ns_sa_choice c;
    /* Two proposals. */
    memset(&resp, 0, sizeof(resp));
    ike_prop(&resp, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    assert_int_equal(ns_sa_accept(ours, 1, NS_PROTO_IKE, &resp, 0, &c), NS_SA_OK);
    ike_prop(&resp, NS_ENCR_AES_CBC, 256, NS_PRF_HMAC_SHA2_256, NS_INTEG_HMAC_SHA2_256_128,
             NS_DH_MODP2048);
    assert_int_equal(ns_sa_accept(ours, 1, NS_PROTO_IKE, &resp, 0, &c), NS_SA_INVALID);
    /* Zero proposals. */
    resp.n = 0;
    assert_int_equal(ns_sa_accept(ours, 1, NS_PROTO_IKE, &resp, 0, &c), NS_SA_INVALID);
    /* Two transforms of one type (the responder offered instead of chose). */
    resp.n = 1;
    tr(&resp.prop[0], NS_TRANS_DH, NS_DH_CURVE25519, 0);
    assert_int_equal(ns_sa_accept(ours, 1, NS_PROTO_IKE, &resp, 0, &c), NS_SA_INVALID);
    /* Not offered: AES-128 where we offered AES-256. */
    resp.prop[0].n_t = 4;
    resp.prop[0].t[0].key_len = 128;
    assert_int_equal(ns_sa_accept(ours, 1, NS_PROTO_IKE, &resp, 0, &c), NS_SA_INVALID);
    resp.prop[0].t[0].key_len = 256;
    /* A type missing. */
    resp.prop[0].n_t = 3;
    assert_int_equal(ns_sa_accept(ours, 1, NS_PROTO_IKE, &resp, 0, &c), NS_SA_INVALID);
    resp.prop[0].n_t = 4;
    /* Wrong protocol. */
    assert_int_equal(ns_sa_accept(ours, 1, NS_PROTO_ESP, &resp, 0, &c), NS_SA_INVALID);
    resp.prop[0].protocol = PROTO_AH;
    assert_int_equal(ns_sa_accept(ours, 1, PROTO_AH, &resp, 0, &c), NS_SA_INVALID);

    /* ESP in IKE_AUTH: a DH group in the response is wrong. */
    struct ns_proposal e = esp(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, NS_DH_MODP2048, false);
    memset(&resp, 0, sizeof(resp));
    struct ns_ike_sa_proposal *p = prop(&resp, NS_PROTO_ESP, 4);
    tr(p, NS_TRANS_ENCR, NS_ENCR_AES_GCM_16, 128);
    tr(p, NS_TRANS_ESN, 0, 0);
    assert_int_equal(ns_sa_accept(&e, 1, NS_PROTO_ESP, &resp, NS_SA_F_NO_DH, &c), NS_SA_OK);
    tr(p, NS_TRANS_DH, NS_DH_MODP2048, 0);
    assert_int_equal(ns_sa_accept(&e, 1, NS_PROTO_ESP, &resp, NS_SA_F_NO_DH, &c), NS_SA_INVALID);
    /* In CREATE_CHILD_SA the same response is what PFS needs. */
    assert_int_equal(ns_sa_accept(&e, 1, NS_PROTO_ESP, &resp, 0, &c), NS_SA_OK);
    assert_int_equal(c.chosen.dh, NS_DH_MODP2048);
}

/* 2.7: the initiator only switches to a group it offered. */
static void invalid_ke_helpers(void **state)
{
    (void)state;
    struct ns_proposal ours[] = {ike_aes128gcm_x25519(), ike_aes256_sha256_modp2048()};
    assert_true(ns_sa_offers_group(ours, 2, NS_DH_MODP2048));
    assert_true(ns_sa_offers_group(ours, 2, NS_DH_CURVE25519));
    assert_false(ns_sa_offers_group(ours, 2, NS_DH_ECP256));
    assert_false(ns_sa_offers_group(ours, 2, 0));
    assert_int_equal(ns_sa_ke_group_to_request(&ours[0], NS_DH_CURVE25519), 0);
    assert_int_equal(ns_sa_ke_group_to_request(&ours[0], NS_DH_MODP2048), NS_DH_CURVE25519);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offer_ike_layout),
        cmocka_unit_test(offer_esp_layout),
        cmocka_unit_test(offer_rejects_bad_input),
        cmocka_unit_test(select_windows),
        cmocka_unit_test(select_macos_our_order),
        cmocka_unit_test(select_strongswan_multi_algorithm),
        cmocka_unit_test(select_nothing_acceptable),
        cmocka_unit_test(key_length_respected),
        cmocka_unit_test(ah_never_chosen),
        cmocka_unit_test(esp_esn_choice),
        cmocka_unit_test(esp_spis_and_numbers),
        cmocka_unit_test(windows_modp2048_with_esp_sha1_at_default_settings),
        cmocka_unit_test(esp_sha1_offer_and_accept),
        cmocka_unit_test(windows_default_needs_legacy_proposals),
        cmocka_unit_test(offer_text_and_legacy_hint),
        cmocka_unit_test(esp_pfs),
        cmocka_unit_test(aead_integrity_none),
        cmocka_unit_test(unknown_type_and_dh_none),
        cmocka_unit_test(unknown_attribute_not_chosen),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(round_trip_through_codec),
        cmocka_unit_test(accept_rejects_bad_responses),
        cmocka_unit_test(invalid_ke_helpers),
        cmocka_unit_test(select_strongswan_default_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
