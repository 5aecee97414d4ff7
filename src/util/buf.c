#include "util/buf.h"

#include <string.h>

void ns_reader_init(struct ns_reader *r, const void *data, size_t len)
{
    r->data = data;
    r->len = data ? len : 0;
    r->off = 0;
    r->failed = false;
}

bool ns_reader_ok(const struct ns_reader *r)
{
    return !r->failed;
}

size_t ns_reader_left(const struct ns_reader *r)
{
    return r->failed ? 0 : r->len - r->off;
}

const uint8_t *ns_reader_pos(const struct ns_reader *r)
{
    return r->data ? r->data + r->off : NULL;
}

/* The single place where a read is bounds-checked. */
static const uint8_t *take(struct ns_reader *r, size_t n)
{
    if (r->failed || n > r->len - r->off) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *p = r->data + r->off;
    r->off += n;
    return p;
}

uint8_t ns_read_u8(struct ns_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

uint16_t ns_read_u16(struct ns_reader *r)
{
    const uint8_t *p = take(r, 2);
    return p ? ns_get_u16(p) : 0;
}

uint32_t ns_read_u32(struct ns_reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? ns_get_u32(p) : 0;
}

uint64_t ns_read_u64(struct ns_reader *r)
{
    const uint8_t *p = take(r, 8);
    return p ? ((uint64_t)ns_get_u32(p) << 32) | ns_get_u32(p + 4) : 0;
}

const uint8_t *ns_read_bytes(struct ns_reader *r, size_t n)
{
    return take(r, n);
}

bool ns_read_copy(struct ns_reader *r, void *dst, size_t n)
{
    const uint8_t *p = take(r, n);
    if (!p)
        return false;
    if (n)
        memcpy(dst, p, n);
    return true;
}

bool ns_read_skip(struct ns_reader *r, size_t n)
{
    return take(r, n) != NULL;
}

struct ns_reader ns_read_sub(struct ns_reader *r, size_t n)
{
    struct ns_reader sub;
    const uint8_t *p = take(r, n);
    ns_reader_init(&sub, p, p ? n : 0);
    sub.failed = (p == NULL);
    return sub;
}

void ns_writer_init(struct ns_writer *w, void *buf, size_t cap)
{
    w->data = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->failed = false;
}

bool ns_writer_ok(const struct ns_writer *w)
{
    return !w->failed;
}

size_t ns_writer_len(const struct ns_writer *w)
{
    return w->len;
}

/* The single place where a write is bounds-checked. */
uint8_t *ns_write_reserve(struct ns_writer *w, size_t n)
{
    if (w->failed || n > w->cap - w->len) {
        w->failed = true;
        return NULL;
    }
    uint8_t *p = w->data + w->len;
    w->len += n;
    return p;
}

void ns_write_u8(struct ns_writer *w, uint8_t v)
{
    uint8_t *p = ns_write_reserve(w, 1);
    if (p)
        p[0] = v;
}

void ns_write_u16(struct ns_writer *w, uint16_t v)
{
    uint8_t *p = ns_write_reserve(w, 2);
    if (p)
        ns_put_u16(p, v);
}

void ns_write_u32(struct ns_writer *w, uint32_t v)
{
    uint8_t *p = ns_write_reserve(w, 4);
    if (p)
        ns_put_u32(p, v);
}

void ns_write_u64(struct ns_writer *w, uint64_t v)
{
    ns_write_u32(w, (uint32_t)(v >> 32));
    ns_write_u32(w, (uint32_t)v);
}

void ns_write_bytes(struct ns_writer *w, const void *src, size_t n)
{
    uint8_t *p = ns_write_reserve(w, n);
    if (p && n)
        memcpy(p, src, n);
}

void ns_write_zeros(struct ns_writer *w, size_t n)
{
    uint8_t *p = ns_write_reserve(w, n);
    if (p && n)
        memset(p, 0, n);
}

void ns_write_u16_at(struct ns_writer *w, size_t off, uint16_t v)
{
    if (w->failed || off > w->len || w->len - off < 2) {
        w->failed = true;
        return;
    }
    ns_put_u16(w->data + off, v);
}

void ns_write_u32_at(struct ns_writer *w, size_t off, uint32_t v)
{
    if (w->failed || off > w->len || w->len - off < 4) {
        w->failed = true;
        return;
    }
    ns_put_u32(w->data + off, v);
}
