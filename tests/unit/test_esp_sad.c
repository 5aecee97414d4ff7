/* Unit tests for the ESP SA database: SPI allocation, inbound lookup by SPI,
 * the outbound SPD lookup, address updates and removal (src/esp/sad). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/sad.h"
#include "esp/spi.h"
#include "support/ike_sim.h"

static struct ns_addr A(const char *s) {
    struct ns_addr a;
    assert_int_equal(ns_addr_parse(&a, s), 0);
    return a;
}

static struct ns_ts
TS(const char *cidr) {
    struct ns_ts t;
    assert_int_equal(ns_ts_from_prefix(&t, cidr), 0);
    return t;
}

/* An AES-GCM-128 tunnel SA spec with one selector on each side. */
static struct ns_esp_sa_spec
spec(enum ns_esp_dir dir, uint32_t spi, uint64_t ike, const char *local, const char *remote)
{
    struct ns_esp_sa_spec s;
    memset(&s, 0, sizeof(s));
    s.dir = dir;
    s.spi = spi;
    s.mode = NS_ESP_TUNNEL;
    s.encr = NS_ENCR_AES_GCM_16;
    s.key_bits = 128;
    s.integ = NS_INTEG_NONE;
    s.encr_key_len = ns_encr_keymat_len(s.encr, s.key_bits);
    for (size_t i = 0; i < s.encr_key_len; i++)
        s.encr_key[i] = (uint8_t)(i * 7 + spi);
    s.local_ts[0] = TS(local);
    s.n_local_ts = 1;
    s.remote_ts[0] = TS(remote);
    s.n_remote_ts = 1;
    s.udp_encap = true;
    s.local.addr = A("192.0.2.1");
    s.local.port = 4500;
    s.peer.addr = A("198.51.100.1");
    s.peer.port = 4500;
    s.ike_sa_id = ike;
    return s;
}

static struct ns_flow flow(const char *src, const char *dst, uint8_t proto, uint16_t sport,
                           uint16_t dport)
{
    struct ns_flow f;
    memset(&f, 0, sizeof(f));
    f.src = A(src);
    f.dst = A(dst);
    f.proto = proto;
    f.sport = sport;
    f.dport = dport;
    f.ports_known = true;
    return f;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* R7: SPIs are random, non-zero, >= 256 and unique: 100000 reservations. */
static void spi_alloc_unique(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct ns_sad *sad = ns_sad_new();
    assert_non_null(sad);
    uint32_t *spis = malloc(N * sizeof(*spis));
    assert_non_null(spis);
    unsigned high_bit = 0;
    for (int i = 0; i < N; i++) {
        spis[i] = ns_sad_alloc_spi(sad);
        assert_true(spis[i] >= 256);
        high_bit += spis[i] >> 31;
    }
    /* Random: about half have the top bit set (a counter would not). */
    assert_true(high_bit > N * 45 / 100 && high_bit < N * 55 / 100);
    qsort(spis, N, sizeof(*spis), cmp_u32);
    for (int i = 1; i < N; i++)
        assert_true(spis[i] != spis[i - 1]);
    for (int i = 0; i < N; i++)
        assert_int_equal(ns_sad_release_spi(sad, spis[i]), 0);
    free(spis);
    ns_sad_free(sad);
}

/* R7: a reservation is consumed by installing its SA and can be given back
 * only while it is a reservation. */
static void spi_reservation_lifecycle(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    uint32_t spi = ns_sad_alloc_spi(sad);
    assert_int_equal(ns_sad_release_spi(sad, spi), 0);
    assert_int_equal(ns_sad_release_spi(sad, spi), -1);

    spi = ns_sad_alloc_spi(sad);
    assert_null(ns_sad_find_inbound(sad, spi)); /* reserved, no SA yet */
    struct ns_esp_sa_spec s = spec(NS_ESP_INBOUND, spi, 1, "10.99.0.1/32", "10.1.0.0/16");
    struct ns_esp_sa *sa = ns_sad_install(sad, &s);
    assert_non_null(sa);
    assert_ptr_equal(ns_sad_find_inbound(sad, spi), sa);
    assert_int_equal(ns_sad_release_spi(sad, spi), -1); /* live SA, not a reservation */
    /* A second SA with a live SPI is refused. */
    assert_null(ns_sad_install(sad, &s));
    assert_int_equal(ns_sad_count(sad), 1);
    assert_int_equal(ns_sad_remove_inbound(sad, spi), 0);
    assert_null(ns_sad_find_inbound(sad, spi));
    assert_int_equal(ns_sad_remove_inbound(sad, spi), -1);
    assert_int_equal(ns_sad_count(sad), 0);
    ns_sad_free(sad);
}

/* R7: while SAs live, no new allocation returns their SPIs, and no SPI is
 * found for another SA; after removal, lookups fail. */
static void spi_never_reused_while_alive(void **state)
{
    (void)state;
    enum { LIVE = 3000, MORE = 100000 };
    struct ns_sad *sad = ns_sad_new();
    uint32_t *live = malloc(LIVE * sizeof(*live));
    struct ns_esp_sa **sas = malloc(LIVE * sizeof(*sas));
    for (int i = 0; i < LIVE; i++) {
        live[i] = ns_sad_alloc_spi(sad);
        struct ns_esp_sa_spec s =
            spec(NS_ESP_INBOUND, live[i], (uint64_t)i, "10.0.0.0/8", "10.99.0.0/16");
        sas[i] = ns_sad_install(sad, &s);
        assert_non_null(sas[i]);
    }
    /* Remove every other SA; the rest stay live. */
    for (int i = 0; i < LIVE; i += 2)
        ns_sad_remove(sad, sas[i]);
    uint32_t *fresh = malloc(MORE * sizeof(*fresh));
    for (int i = 0; i < MORE; i++)
        fresh[i] = ns_sad_alloc_spi(sad);
    qsort(fresh, MORE, sizeof(*fresh), cmp_u32);
    for (int i = 1; i < LIVE; i += 2) {
        assert_null(bsearch(&live[i], fresh, MORE, sizeof(*fresh), cmp_u32));
        assert_ptr_equal(ns_sad_find_inbound(sad, live[i]), sas[i]);
        assert_int_equal(ns_esp_sa_spi(sas[i]), live[i]);
    }
    for (int i = 1; i < MORE; i++)
        assert_true(fresh[i] != fresh[i - 1]);
    for (int i = 0; i < LIVE; i += 2)
        assert_null(ns_sad_find_inbound(sad, live[i]));
    free(fresh);
    free(live);
    free(sas);
    ns_sad_free(sad); /* frees SAs and reservations alike (ASan checks) */
}

/* R7: the SPI table itself, including deletion from the middle of probe
 * clusters, against a plain array. */
static void spi_table_against_model(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct ns_spi_table t;
    assert_int_equal(ns_spi_table_init(&t), 0);
    uint32_t *spis = malloc(N * sizeof(*spis));
    char *in = calloc(N, 1);
    srand(99);
    for (int i = 0; i < N; i++)
        spis[i] = 256 + (uint32_t)i * 7919u; /* distinct, dense enough to collide */
    for (int round = 0; round < 200000; round++) {
        int i = rand() % N;
        if (in[i]) {
            assert_int_equal(ns_spi_release(&t, spis[i]), 0);
            in[i] = 0;
        } else if (rand() % 2) {
            assert_int_equal(ns_spi_reserve(&t, spis[i]), 0);
            in[i] = 1;
        } else {
            assert_int_equal(ns_spi_bind(&t, spis[i], &spis[i]), 0);
            in[i] = 2;
        }
        if (round % 1000 == 0) {
            for (int k = 0; k < N; k++) {
                assert_int_equal(ns_spi_present(&t, spis[k]), in[k] != 0);
                assert_ptr_equal(ns_spi_owner(&t, spis[k]), in[k] == 2 ? &spis[k] : NULL);
            }
        }
    }
    assert_int_equal(ns_spi_reserve(&t, 255), -1);
    assert_int_equal(ns_spi_reserve(&t, 0), -1);
    assert_int_equal(ns_spi_release(&t, 0), -1);
    free(in);
    free(spis);
    ns_spi_table_free(&t);
}

static void invalid_specs_are_refused(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    struct ns_esp_sa_spec s = spec(NS_ESP_INBOUND, 255, 1, "10.0.0.0/8", "10.99.0.0/16");
    assert_null(ns_sad_install(sad, &s)); /* SPIs 1..255 are reserved */
    s.spi = 0;
    assert_null(ns_sad_install(sad, &s));
    s = spec(NS_ESP_INBOUND, 1000, 1, "10.0.0.0/8", "10.99.0.0/16");
    s.integ = NS_INTEG_HMAC_SHA2_256_128; /* AEAD takes no integrity */
    assert_null(ns_sad_install(sad, &s));
    s = spec(NS_ESP_INBOUND, 1000, 1, "10.0.0.0/8", "10.99.0.0/16");
    s.encr_key_len = 16; /* salt missing */
    assert_null(ns_sad_install(sad, &s));
    s = spec(NS_ESP_INBOUND, 1000, 1, "10.0.0.0/8", "10.99.0.0/16");
    s.n_remote_ts = NS_SA_MAX_TS + 1;
    assert_null(ns_sad_install(sad, &s));
    s = spec(NS_ESP_INBOUND, 1000, 1, "10.0.0.0/8", "10.99.0.0/16");
    s.dir = (enum ns_esp_dir)7;
    assert_null(ns_sad_install(sad, &s));
    s = spec(NS_ESP_INBOUND, 1000, 1, "10.0.0.0/8", "10.99.0.0/16");
    s.encr = NS_ENCR_NULL; /* NULL encryption without integrity (R1, R16) */
    s.key_bits = 0;
    s.encr_key_len = 0;
    assert_null(ns_sad_install(sad, &s));
    assert_int_equal(ns_sad_count(sad), 0);
    /* ESP-NULL with an HMAC is fine (R16). */
    s.integ = NS_INTEG_HMAC_SHA2_256_128;
    s.integ_key_len = ns_integ_key_len(s.integ);
    assert_non_null(ns_sad_install(sad, &s));
    ns_sad_free(sad);
}

/* R12: a gateway with thousands of clients finds each client's outbound SA
 * by its virtual IP through the exact-address hash. */
static void gateway_outbound_by_virtual_ip(void **state)
{
    (void)state;
    enum { CLIENTS = 5000 };
    struct ns_sad *sad = ns_sad_new();
    struct ns_esp_sa **sas = malloc(CLIENTS * sizeof(*sas));
    for (int i = 0; i < CLIENTS; i++) {
        char vip[32];
        snprintf(vip, sizeof(vip), "10.99.%d.%d/32", i / 250, i % 250 + 1);
        struct ns_esp_sa_spec s =
            spec(NS_ESP_OUTBOUND, 0x1000 + (uint32_t)i, (uint64_t)i + 1, "10.1.0.0/16", vip);
        s.local_ts[1] = TS("10.2.0.0/16");
        s.n_local_ts = 2;
        sas[i] = ns_sad_install(sad, &s);
        assert_non_null(sas[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        char vip[32];
        snprintf(vip, sizeof(vip), "10.99.%d.%d", i / 250, i % 250 + 1);
        struct ns_flow f = flow("10.1.2.3", vip, 6, 443, 50000);
        assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), sas[i]);
        f.src = A("10.2.200.1");
        assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), sas[i]);
        /* R9: only from the subnets the client was allowed to reach. */
        f.src = A("10.3.0.1");
        assert_null(ns_sad_lookup_outbound(sad, &f));
    }
    struct ns_flow f = flow("10.1.2.3", "10.99.200.1", 17, 53, 53);
    assert_null(ns_sad_lookup_outbound(sad, &f));
    f = flow("10.1.2.3", "::1", 17, 53, 53);
    assert_null(ns_sad_lookup_outbound(sad, &f));
    free(sas);
    ns_sad_free(sad);
}

/* A client's few remote subnets: the most specific selector wins. */
static void client_outbound_most_specific(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    struct ns_esp_sa_spec s = spec(NS_ESP_OUTBOUND, 0x2001, 1, "10.99.0.7/32", "0.0.0.0/0");
    struct ns_esp_sa *all = ns_sad_install(sad, &s);
    s = spec(NS_ESP_OUTBOUND, 0x2003, 1, "10.99.0.7/32", "10.1.2.0/24");
    struct ns_esp_sa *c24 = ns_sad_install(sad, &s);
    s = spec(NS_ESP_OUTBOUND, 0x2002, 1, "10.99.0.7/32", "10.1.0.0/16");
    struct ns_esp_sa *b16 = ns_sad_install(sad, &s);
    s = spec(NS_ESP_OUTBOUND, 0x2004, 1, "10.99.0.7/32", "10.5.0.0/16");
    s.remote_ts[0].ip_proto = 6;
    s.remote_ts[0].port_lo = s.remote_ts[0].port_hi = 22;
    struct ns_esp_sa *ssh = ns_sad_install(sad, &s);
    assert_non_null(all);
    assert_non_null(c24);
    assert_non_null(b16);
    assert_non_null(ssh);

    struct ns_flow f = flow("10.99.0.7", "10.1.2.5", 6, 40000, 80);
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), c24);
    f.dst = A("10.1.3.5");
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), b16);
    f.dst = A("8.8.8.8");
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), all);
    /* Protocol and port selectors. */
    f = flow("10.99.0.7", "10.5.1.1", 6, 40000, 22);
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), ssh);
    f.dport = 23;
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), all);
    f.dport = 22;
    f.ports_known = false; /* a later fragment: the port selector cannot match */
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), all);
    /* Not from our virtual IP: no policy. */
    f = flow("192.168.1.10", "10.1.2.5", 6, 40000, 80);
    assert_null(ns_sad_lookup_outbound(sad, &f));
    ns_sad_free(sad);
}

/* X3: during a rekey the new outbound SA takes over; removing it (or the
 * old one) leaves the other in charge. */
static void rekey_newest_wins(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    struct ns_esp_sa_spec s = spec(NS_ESP_OUTBOUND, 0x3001, 1, "10.1.0.0/16", "10.99.0.9/32");
    struct ns_esp_sa *old_exact = ns_sad_install(sad, &s);
    s.spi = 0x3002;
    struct ns_esp_sa *new_exact = ns_sad_install(sad, &s);
    s = spec(NS_ESP_OUTBOUND, 0x3003, 2, "10.99.0.7/32", "10.0.0.0/8");
    struct ns_esp_sa *old_wide = ns_sad_install(sad, &s);
    s.spi = 0x3004;
    struct ns_esp_sa *new_wide = ns_sad_install(sad, &s);

    struct ns_flow f = flow("10.1.0.1", "10.99.0.9", 1, 0, 0);
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), new_exact);
    struct ns_flow g = flow("10.99.0.7", "10.2.3.4", 1, 0, 0);
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &g), new_wide);

    assert_int_equal(ns_sad_remove_outbound(sad, 1, 0x3002), 0);
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), old_exact);
    ns_sad_remove(sad, old_wide);
    assert_ptr_equal(ns_sad_lookup_outbound(sad, &g), new_wide);
    ns_sad_remove(sad, new_wide);
    assert_null(ns_sad_lookup_outbound(sad, &g));
    ns_sad_free(sad);
}

/* Many SAs sharing wide remote selectors, as a load process or a gateway
 * with many subnet peers holds them: removed in a scrambled order (the
 * list's head, middle and tail, among two specificities), every SA left is
 * still found for its flow and no removed one is. */
static void wide_selectors_removed_in_any_order(void **state)
{
    (void)state;
    enum { N = 64 };
    struct ns_sad *sad = ns_sad_new();
    struct ns_esp_sa *sa[N];
    char local[32];
    for (unsigned i = 0; i < N; i++) {
        snprintf(local, sizeof(local), "10.99.0.%u/32", i + 1);
        struct ns_esp_sa_spec s = spec(NS_ESP_OUTBOUND, 0x4000 + i, 100 + i, local,
                                       i % 3 ? "10.1.0.0/16" : "10.0.0.0/8");
        sa[i] = ns_sad_install(sad, &s);
        assert_non_null(sa[i]);
    }
    bool gone[N] = {false};
    for (unsigned k = 0; k < N; k++) {
        unsigned victim = (k * 37 + 11) % N; /* 37 is prime to N: each once */
        ns_sad_remove(sad, sa[victim]);
        gone[victim] = true;
        for (unsigned i = 0; i < N; i++) {
            char src[32];
            snprintf(src, sizeof(src), "10.99.0.%u", i + 1);
            struct ns_flow f = flow(src, "10.1.2.3", 17, 4000, 53);
            if (gone[i])
                assert_null(ns_sad_lookup_outbound(sad, &f));
            else
                assert_ptr_equal(ns_sad_lookup_outbound(sad, &f), sa[i]);
        }
    }
    ns_sad_free(sad);
}

/* Outbound SPIs are chosen by peers and may coincide across IKE SAs. */
static void outbound_spi_scoped_by_ike_sa(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    struct ns_esp_sa_spec s = spec(NS_ESP_OUTBOUND, 0xc0ffee, 1, "10.1.0.0/16", "10.99.0.1/32");
    struct ns_esp_sa *a = ns_sad_install(sad, &s);
    assert_null(ns_sad_install(sad, &s)); /* same IKE SA, same SPI */
    s = spec(NS_ESP_OUTBOUND, 0xc0ffee, 2, "10.1.0.0/16", "10.99.0.2/32");
    struct ns_esp_sa *b = ns_sad_install(sad, &s);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_equal(ns_sad_find_outbound(sad, 1, 0xc0ffee), a);
    assert_ptr_equal(ns_sad_find_outbound(sad, 2, 0xc0ffee), b);
    assert_null(ns_sad_find_outbound(sad, 3, 0xc0ffee));
    assert_null(ns_sad_find_inbound(sad, 0xc0ffee)); /* outbound SPIs are not inbound */
    assert_int_equal(ns_sad_remove_outbound(sad, 2, 0xc0ffee), 0);
    assert_ptr_equal(ns_sad_find_outbound(sad, 1, 0xc0ffee), a);
    assert_int_equal(ns_sad_remove_outbound(sad, 2, 0xc0ffee), -1);
    ns_sad_free(sad);
}

/* R4: an address update moves all SAs of one IKE SA, and only those. */
static void update_peer_moves_one_ike_sa(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    struct ns_esp_sa *mine[4], *other[2];
    for (int i = 0; i < 4; i++) {
        struct ns_esp_sa_spec s =
            spec(i % 2 ? NS_ESP_OUTBOUND : NS_ESP_INBOUND, 0x5000 + (uint32_t)i, 77,
                 i % 2 ? "10.1.0.0/16" : "10.99.0.3/32", i % 2 ? "10.99.0.3/32" : "10.1.0.0/16");
        mine[i] = ns_sad_install(sad, &s);
        assert_non_null(mine[i]);
    }
    for (int i = 0; i < 2; i++) {
        struct ns_esp_sa_spec s = spec(i ? NS_ESP_OUTBOUND : NS_ESP_INBOUND, 0x6000 + (uint32_t)i,
                                       78, "10.1.0.0/16", "10.99.0.4/32");
        other[i] = ns_sad_install(sad, &s);
        assert_non_null(other[i]);
    }
    struct ns_endpoint np = {.addr = A("203.0.113.50"), .port = 61234};
    assert_int_equal(ns_sad_update_peer(sad, 77, &np), 4);
    for (int i = 0; i < 4; i++)
        assert_true(ns_endpoint_equal(ns_esp_sa_peer(mine[i]), &np));
    struct ns_endpoint old = {.addr = A("198.51.100.1"), .port = 4500};
    for (int i = 0; i < 2; i++)
        assert_true(ns_endpoint_equal(ns_esp_sa_peer(other[i]), &old));
    /* Already there: nothing to do. */
    assert_int_equal(ns_sad_update_peer(sad, 77, &np), 0);
    assert_int_equal(ns_sad_update_peer(sad, 12345, &np), 0);
    ns_sad_free(sad);
}

/* R4, X10: the lines an address update and an installation log name the
 * IKE SA as natsecctl status and the engine do, 16 hex digits, never in
 * decimal. */
static void logs_name_the_ike_sa_in_hex(void **state)
{
    (void)state;
    struct ike_sim_log log;
    assert_int_equal(ike_sim_log_open(&log, NS_LOG_DEBUG), 0);
    struct ns_sad *sad = ns_sad_new();
    const uint64_t id = 0x5d38a1c2e4f60789ull;
    struct ns_esp_sa_spec s = spec(NS_ESP_OUTBOUND, 0x5000, id, "10.1.0.0/16", "10.99.0.3/32");
    assert_non_null(ns_sad_install(sad, &s));
    struct ns_endpoint np = {.addr = A("203.0.113.50"), .port = 61234};
    assert_int_equal(ns_sad_update_peer(sad, id, &np), 1);
    bool hex = ike_sim_log_has(&log, "IKE SA 5d38a1c2e4f60789 moved to 203.0.113.50:61234");
    bool installed_hex = ike_sim_log_has(&log, "installed outbound SA spi=0x00005000 (IKE SA "
                                               "5d38a1c2e4f60789)");
    char dec[24];
    snprintf(dec, sizeof(dec), "%llu", (unsigned long long)id);
    bool decimal = ike_sim_log_has(&log, dec);
    ns_sad_free(sad);
    ike_sim_log_close(&log);
    assert_true(hex);
    assert_true(installed_hex);
    assert_false(decimal);
}

static void remove_ike_and_foreach(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    uint32_t in_spi = ns_sad_alloc_spi(sad);
    struct ns_esp_sa_spec s = spec(NS_ESP_INBOUND, in_spi, 5, "10.99.0.3/32", "10.1.0.0/16");
    s.paired_spi = 0x7001;
    assert_non_null(ns_sad_install(sad, &s));
    s = spec(NS_ESP_OUTBOUND, 0x7001, 5, "10.1.0.0/16", "10.99.0.3/32");
    s.paired_spi = in_spi;
    assert_non_null(ns_sad_install(sad, &s));
    s = spec(NS_ESP_OUTBOUND, 0x7002, 6, "10.1.0.0/16", "10.99.0.4/32");
    struct ns_esp_sa *keep = ns_sad_install(sad, &s);
    assert_int_equal(ns_sad_count(sad), 3);

    struct ns_esp_sa_info info;
    ns_esp_sa_get_info(ns_sad_find_inbound(sad, in_spi), &info);
    assert_int_equal(info.spi, in_spi);
    assert_int_equal(info.dir, NS_ESP_INBOUND);
    assert_int_equal(info.paired_spi, 0x7001);
    assert_int_equal(info.ike_sa_id, 5);
    assert_int_equal(info.encr, NS_ENCR_AES_GCM_16);
    assert_int_equal(info.key_bits, 128);
    assert_true(info.udp_encap);
    assert_int_equal(info.seq, 0);
    assert_int_equal(info.stats.packets, 0);

    assert_int_equal(ns_sad_remove_ike(sad, 5), 2);
    assert_int_equal(ns_sad_count(sad), 1);
    assert_null(ns_sad_find_inbound(sad, in_spi));
    assert_null(ns_sad_find_outbound(sad, 5, 0x7001));
    assert_ptr_equal(ns_sad_find_outbound(sad, 6, 0x7002), keep);
    struct ns_flow f = flow("10.1.0.1", "10.99.0.3", 1, 0, 0);
    assert_null(ns_sad_lookup_outbound(sad, &f));
    assert_int_equal(ns_sad_remove_ike(sad, 5), 0);
    ns_sad_free(sad);
}

static void count_foreach(const struct ns_esp_sa *sa, void *arg)
{
    uint32_t **p = arg;
    *(*p)++ = ns_esp_sa_spi(sa);
}

static void foreach_in_install_order(void **state)
{
    (void)state;
    struct ns_sad *sad = ns_sad_new();
    uint32_t want[5];
    for (int i = 0; i < 5; i++) {
        want[i] = 0x8000 + (uint32_t)(i * 3 % 5);
        struct ns_esp_sa_spec s = spec(NS_ESP_INBOUND, want[i], 1, "10.0.0.0/8", "10.9.0.0/16");
        assert_non_null(ns_sad_install(sad, &s));
    }
    uint32_t got[5], *p = got;
    ns_sad_foreach(sad, count_foreach, &p);
    assert_int_equal(p - got, 5);
    assert_memory_equal(got, want, sizeof(want));
    ns_sad_free(sad);
}

static void result_names(void **state)
{
    (void)state;
    assert_string_equal(ns_esp_result_name(NS_ESP_OK), "ok");
    assert_string_equal(ns_esp_result_name(NS_ESP_NO_SA), "no_sa");
    assert_string_equal(ns_esp_result_name(NS_ESP_REPLAY), "replay");
    assert_string_equal(ns_esp_result_name(NS_ESP_AUTH), "auth");
    assert_string_equal(ns_esp_result_name(NS_ESP_MALFORMED), "malformed");
    assert_string_equal(ns_esp_result_name(NS_ESP_TS_MISMATCH), "ts_mismatch");
    assert_string_equal(ns_esp_result_name(NS_ESP_NO_POLICY), "no_policy");
    assert_string_equal(ns_esp_result_name(NS_ESP_SEQ_OVERFLOW), "seq_overflow");
    assert_string_equal(ns_esp_result_name(NS_ESP_RESULT_COUNT), "unknown");
    struct ns_sad *sad = ns_sad_new();
    for (int r = 0; r < NS_ESP_RESULT_COUNT; r++)
        assert_int_equal(ns_sad_drops(sad, (enum ns_esp_result)r), 0);
    ns_sad_free(sad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spi_alloc_unique),
        cmocka_unit_test(spi_reservation_lifecycle),
        cmocka_unit_test(spi_never_reused_while_alive),
        cmocka_unit_test(spi_table_against_model),
        cmocka_unit_test(invalid_specs_are_refused),
        cmocka_unit_test(gateway_outbound_by_virtual_ip),
        cmocka_unit_test(client_outbound_most_specific),
        cmocka_unit_test(rekey_newest_wins),
        cmocka_unit_test(wide_selectors_removed_in_any_order),
        cmocka_unit_test(outbound_spi_scoped_by_ike_sa),
        cmocka_unit_test(update_peer_moves_one_ike_sa),
        cmocka_unit_test(logs_name_the_ike_sa_in_hex),
        cmocka_unit_test(remove_ike_and_foreach),
        cmocka_unit_test(foreach_in_install_order),
        cmocka_unit_test(result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
