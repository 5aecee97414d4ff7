/* Unit tests for ns_gso_single (src/net/gso): a packet read from
 * TUN with offloads on but no segmentation asked is made ready where it
 * lies (the data plane reads it straight into its slot, no copy): a partial
 * checksum (NEEDS_CSUM) is completed, anything else is left byte for byte,
 * and a header that does not fit the packet or asks for TSO is refused.
 * R13: what leaves the tunnel is what the sender's stack meant to send.
 *
 * Checksums are verified from scratch by the naive RFC 1071 reference
 * below, which shares no code with src/net/gso.c or src/esp/csum.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/virtio_net.h>
#include <string.h>

#include "net/gso.h"

static uint8_t pkt[2048];
static uint8_t orig[2048];

static uint32_t ref_add(uint32_t acc, const uint8_t *p, size_t n)
{
    uint64_t a = acc;
    for (size_t i = 0; i + 1 < n; i += 2)
        a += (uint64_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        a += (uint64_t)p[n - 1] << 8;
    while (a >> 16)
        a = (a & 0xffff) + (a >> 16);
    return (uint32_t)a;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The pseudo-header sum of IP packet p for an L4 part of l4len bytes. */
static uint32_t ref_pseudo(const uint8_t *p, size_t l4len, uint8_t proto)
{
    uint8_t ph[40] = {0};
    if (p[0] >> 4 == 4) {
        memcpy(ph, p + 12, 8);
        ph[9] = proto;
        put16(ph + 10, (uint16_t)l4len);
        return ref_add(0, ph, 12);
    }
    memcpy(ph, p + 8, 32);
    put16(ph + 34, (uint16_t)l4len);
    ph[39] = proto;
    return ref_add(0, ph, 40);
}

/* UDP over IPv4 (v6 false) or TCP over IPv6 with payload bytes, the L4
 * checksum field holding the pseudo-header sum as the kernel leaves it.
 * Returns the length; *l4 and *field say where. */
static size_t build(bool v6, size_t payload, size_t *l4, size_t *field)
{
    memset(pkt, 0, sizeof(pkt));
    size_t ip = v6 ? 40 : 20, hl = v6 ? 20 : 8, len = ip + hl + payload;
    uint8_t proto = v6 ? 6 : 17;
    if (v6) {
        pkt[0] = 0x60;
        put16(pkt + 4, (uint16_t)(hl + payload));
        pkt[6] = proto;
        pkt[7] = 64;
        for (int i = 0; i < 32; i++)
            pkt[8 + i] = (uint8_t)(0x20 + i * 7);
        pkt[ip + 12] = 0x50;
        pkt[ip + 13] = 0x18;
        *field = ip + 16;
    } else {
        pkt[0] = 0x45;
        put16(pkt + 2, (uint16_t)len);
        pkt[8] = 64;
        pkt[9] = proto;
        const uint8_t s[4] = {10, 99, 0, 2}, d[4] = {192, 0, 2, 80};
        memcpy(pkt + 12, s, 4);
        memcpy(pkt + 16, d, 4);
        put16(pkt + 10, (uint16_t)~ref_add(0, pkt, 20));
        put16(pkt + ip + 4, (uint16_t)(hl + payload));
        *field = ip + 6;
    }
    put16(pkt + ip, 40000);
    put16(pkt + ip + 2, 5201);
    for (size_t i = 0; i < payload; i++)
        pkt[ip + hl + i] = (uint8_t)(0x5a ^ (i * 13));
    put16(pkt + *field, (uint16_t)ref_pseudo(pkt, hl + payload, proto));
    *l4 = ip;
    return len;
}

/* R13: partial checksums of 64-byte-class UDP/IPv4 and TCP/IPv6 packets
 * completed in place; nothing else changes. */
static void partial_checksum_completed_in_place(void **state)
{
    (void)state;
    for (int v6 = 0; v6 <= 1; v6++) {
        for (size_t payload = 0; payload < 1400; payload += payload < 80 ? 1 : 97) {
            size_t l4, field;
            size_t len = build(v6, payload, &l4, &field);
            memcpy(orig, pkt, len);
            struct ns_vnet_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                    .csum_start = (uint16_t)l4,
                                    .csum_offset = (uint16_t)(field - l4)};
            assert_int_equal(ns_gso_single(&h, pkt, len), 0);
            uint8_t proto = v6 ? 6 : 17;
            /* The complete checksum: pseudo-header + L4 part sums to 0xffff. */
            assert_int_equal(ref_add(ref_pseudo(pkt, len - l4, proto), pkt + l4, len - l4), 0xffff);
            assert_int_not_equal(pkt[field] | pkt[field + 1], 0); /* UDP: 0 means none */
            assert_memory_equal(pkt, orig, field);
            assert_memory_equal(pkt + field + 2, orig + field + 2, len - field - 2);
        }
    }
}

/* A packet with no offload work is left untouched. */
static void finished_packet_unchanged(void **state)
{
    (void)state;
    size_t l4, field;
    size_t len = build(false, 64, &l4, &field);
    memcpy(orig, pkt, len);
    struct ns_vnet_hdr h = {0};
    assert_int_equal(ns_gso_single(&h, pkt, len), 0);
    assert_memory_equal(pkt, orig, len);
}

/* Headers that do not fit: refused and the packet left alone. */
static void bad_headers_refused(void **state)
{
    (void)state;
    size_t l4, field;
    size_t len = build(true, 100, &l4, &field);
    memcpy(orig, pkt, len);
    struct ns_vnet_hdr tso = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                              .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
                              .gso_size = 50,
                              .hdr_len = 60,
                              .csum_start = 40,
                              .csum_offset = 16};
    assert_int_equal(ns_gso_single(&tso, pkt, len), -1);
    struct ns_vnet_hdr out = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = (uint16_t)len, .csum_offset = 0};
    assert_int_equal(ns_gso_single(&out, pkt, len), -1);
    struct ns_vnet_hdr edge = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = (uint16_t)(len - 1), .csum_offset = 0};
    assert_int_equal(ns_gso_single(&edge, pkt, len), -1);
    assert_int_equal(ns_gso_single(&(struct ns_vnet_hdr){0}, pkt, 0), -1);
    assert_memory_equal(pkt, orig, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(partial_checksum_completed_in_place),
        cmocka_unit_test(finished_packet_unchanged),
        cmocka_unit_test(bad_headers_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
