/* Stateless COOKIE: see cookie.h. */
#include "ike/cookie.h"

#include <openssl/crypto.h>
#include <string.h>

#include "crypto/prf.h"
#include "crypto/rand.h"

#define MAC_LEN (NS_COOKIE_LEN - 4)
#define MAX_NONCE 256 /* RFC 7296 3.9 */

static int new_secret(struct ns_cookie_secret *s, uint32_t version)
{
    if (ns_random_bytes(s->key, sizeof(s->key)) != 0) {
        s->valid = false;
        return -1;
    }
    s->version = version;
    s->valid = true;
    return 0;
}

static void wipe(struct ns_cookie_secret *s)
{
    OPENSSL_cleanse(s, sizeof(*s));
}

int ns_cookie_init(struct ns_cookie_ctx *c, uint64_t now_ms, uint64_t rotate_ms)
{
    memset(c, 0, sizeof(*c));
    c->rotate_ms = rotate_ms ? rotate_ms : NS_COOKIE_DEFAULT_ROTATE_MS;
    c->made_ms = now_ms;
    /* A random first version makes versions of different daemon runs
     * unlikely to collide (a collision would only fail the hash anyway). */
    uint32_t v;
    if (ns_random_bytes(&v, sizeof(v)) != 0)
        return -1;
    return new_secret(&c->cur, v);
}

void ns_cookie_clear(struct ns_cookie_ctx *c)
{
    wipe(&c->cur);
    wipe(&c->prev);
}

int ns_cookie_rotate(struct ns_cookie_ctx *c, uint64_t now_ms)
{
    struct ns_cookie_secret next;
    if (new_secret(&next, c->cur.version + 1) != 0)
        return -1;
    wipe(&c->prev);
    c->prev = c->cur;
    c->cur = next;
    wipe(&next);
    c->made_ms = now_ms;
    return 0;
}

/* Rotates when cur has lived rotate_ms. After two lifetimes without a
 * rotation (an idle responder) cur is too old even to be "previous", so
 * both go: a cookie never outlives two lifetimes of its secret. */
static int rotate_if_due(struct ns_cookie_ctx *c, uint64_t now_ms)
{
    if (now_ms < c->made_ms || now_ms - c->made_ms < c->rotate_ms)
        return 0;
    bool both = now_ms - c->made_ms - c->rotate_ms >= c->rotate_ms;
    if (ns_cookie_rotate(c, now_ms) != 0)
        return -1;
    if (both)
        wipe(&c->prev);
    return 0;
}

/* HMAC-SHA-256(secret, Ni | IPi | Porti | SPIi), port and SPI big-endian
 * as on the wire. */
static int cookie_mac(const struct ns_cookie_secret *s, const uint8_t *ni, size_t ni_len,
                      const struct ns_endpoint *ep_i, uint64_t spi_i, uint8_t out[MAC_LEN])
{
    size_t alen = ns_addr_len(&ep_i->addr);
    if (ni_len > MAX_NONCE || alen == 0 || (ni_len && !ni))
        return -1;
    uint8_t data[MAX_NONCE + 16 + 2 + 8];
    size_t n = 0;
    if (ni_len)
        memcpy(data, ni, ni_len);
    n += ni_len;
    memcpy(data + n, ep_i->addr.a, alen);
    n += alen;
    data[n++] = (uint8_t)(ep_i->port >> 8);
    data[n++] = (uint8_t)ep_i->port;
    for (int i = 7; i >= 0; i--)
        data[n++] = (uint8_t)(spi_i >> (8 * i));
    uint8_t full[NS_PRF_MAX_LEN];
    if (ns_prf(NS_PRF_HMAC_SHA2_256, s->key, sizeof(s->key), data, n, full) != 0)
        return -1;
    memcpy(out, full, MAC_LEN);
    return 0;
}

int ns_cookie_made(const struct ns_cookie_ctx *c, bool prev, const uint8_t *ni, size_t ni_len,
                   const struct ns_endpoint *ep_i, uint64_t spi_i, uint8_t out[NS_COOKIE_LEN])
{
    const struct ns_cookie_secret *s = prev ? &c->prev : &c->cur;
    if (!s->valid)
        return -1;
    out[0] = (uint8_t)(s->version >> 24);
    out[1] = (uint8_t)(s->version >> 16);
    out[2] = (uint8_t)(s->version >> 8);
    out[3] = (uint8_t)s->version;
    return cookie_mac(s, ni, ni_len, ep_i, spi_i, out + 4);
}

int ns_cookie_make(struct ns_cookie_ctx *c, uint64_t now_ms, const uint8_t *ni, size_t ni_len,
                   const struct ns_endpoint *ep_i, uint64_t spi_i, uint8_t out[NS_COOKIE_LEN])
{
    if (rotate_if_due(c, now_ms) != 0)
        return -1;
    return ns_cookie_made(c, false, ni, ni_len, ep_i, spi_i, out);
}

bool ns_cookie_verify(struct ns_cookie_ctx *c, uint64_t now_ms, const uint8_t *cookie,
                      size_t cookie_len, const uint8_t *ni, size_t ni_len,
                      const struct ns_endpoint *ep_i, uint64_t spi_i)
{
    if (rotate_if_due(c, now_ms) != 0 || !cookie || cookie_len != NS_COOKIE_LEN)
        return false;
    uint32_t version = ((uint32_t)cookie[0] << 24) | ((uint32_t)cookie[1] << 16) |
                       ((uint32_t)cookie[2] << 8) | cookie[3];
    const struct ns_cookie_secret *s = NULL;
    if (c->cur.valid && c->cur.version == version)
        s = &c->cur;
    else if (c->prev.valid && c->prev.version == version)
        s = &c->prev;
    if (!s)
        return false;
    uint8_t mac[MAC_LEN];
    if (cookie_mac(s, ni, ni_len, ep_i, spi_i, mac) != 0)
        return false;
    /* Constant time: the time taken says nothing about where a forged
     * cookie first differs. */
    return CRYPTO_memcmp(mac, cookie + 4, MAC_LEN) == 0;
}
