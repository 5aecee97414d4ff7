/* NAT detection hashes (RFC 7296 2.23): see natd.h. */
#include "natt/natd.h"

#include <string.h>

#include "crypto/hash.h"
#include "crypto/rand.h"
#include "util/log.h"

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static int natd_hash(uint64_t spi_i, uint64_t spi_r, const struct ns_endpoint *ep,
                     uint8_t out[NS_NATD_HASH_LEN])
{
    uint8_t spis[16], port[2];
    put_u64(spis, spi_i);
    put_u64(spis + 8, spi_r);
    port[0] = (uint8_t)(ep->port >> 8);
    port[1] = (uint8_t)ep->port;
    const uint8_t *parts[3] = {spis, ep->addr.a, port};
    const size_t lens[3] = {sizeof(spis), ns_addr_len(&ep->addr), sizeof(port)};
    return ns_sha1_parts(parts, lens, 3, out);
}

void ns_natd_hash(uint64_t spi_i, uint64_t spi_r, const struct ns_endpoint *ep,
                  uint8_t out[NS_NATD_HASH_LEN])
{
    if (natd_hash(spi_i, spi_r, ep, out) != 0) {
        /* Cannot happen short of OpenSSL failing; a random value then at
         * least never matches, so the peer sees a NAT and encapsulates,
         * which still works. */
        NS_ERR("natd: SHA-1 failed");
        if (ns_natd_hash_forced(out) != 0)
            memset(out, 0xff, NS_NATD_HASH_LEN);
    }
}

int ns_natd_hash_forced(uint8_t out[NS_NATD_HASH_LEN])
{
    return ns_random_bytes(out, NS_NATD_HASH_LEN);
}

/* Whether a received hash is the one expected for ep. A hash we cannot
 * compute is a mismatch: assuming a NAT only costs the UDP encapsulation,
 * assuming none could leave ESP unable to pass. */
static bool hash_matches(uint64_t spi_i, uint64_t spi_r, const struct ns_endpoint *ep,
                         const uint8_t *h, size_t len)
{
    uint8_t want[NS_NATD_HASH_LEN];
    if (!h || len != NS_NATD_HASH_LEN || natd_hash(spi_i, spi_r, ep, want) != 0)
        return false;
    return memcmp(want, h, NS_NATD_HASH_LEN) == 0;
}

int ns_natd_check(uint64_t spi_i, uint64_t spi_r, const uint8_t *const *src_hashes,
                  const size_t *src_lens, size_t n_src, const uint8_t *dst_hash, size_t dst_len,
                  const struct ns_endpoint *pkt_src, const struct ns_endpoint *pkt_dst,
                  struct ns_natd_result *out)
{
    out->peer_behind_nat = false;
    out->local_behind_nat = false;
    if (n_src == 0 || !dst_hash)
        return -1;
    /* A peer with several addresses sends one SOURCE_IP per address; any
     * one matching the datagram's source means no NAT on its side. */
    bool src_ok = false;
    for (size_t i = 0; i < n_src && !src_ok; i++)
        src_ok = hash_matches(spi_i, spi_r, pkt_src, src_hashes[i], src_lens[i]);
    out->peer_behind_nat = !src_ok;
    /* The peer hashed where it sent to; if that is not where the datagram
     * arrived, something in between rewrote our address: we are behind a
     * NAT and must send keepalives (X1). */
    out->local_behind_nat = !hash_matches(spi_i, spi_r, pkt_dst, dst_hash, dst_len);
    return 0;
}

bool ns_natd_any(const struct ns_natd_result *r)
{
    return r->peer_behind_nat || r->local_behind_nat;
}
