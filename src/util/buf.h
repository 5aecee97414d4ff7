/* Bounds-checked reading and writing of byte buffers.
 *
 * Every parser that touches network input goes through ns_reader: no read
 * can go past the end of the buffer. A failed read returns zero (or NULL),
 * latches the error, and every later read fails too, so a parser reads a
 * whole structure and checks ns_reader_ok() once. ns_writer is the mirror
 * image for building messages into a caller-owned buffer. Multi-byte
 * integers are in network byte order. */
#ifndef NATSEC_UTIL_BUF_H
#define NATSEC_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ns_reader {
    const uint8_t *data;
    size_t len;
    size_t off;
    bool failed;
};

void ns_reader_init(struct ns_reader *r, const void *data, size_t len);
bool ns_reader_ok(const struct ns_reader *r);
size_t ns_reader_left(const struct ns_reader *r);
/* Pointer to the next unread byte (valid for ns_reader_left() bytes). */
const uint8_t *ns_reader_pos(const struct ns_reader *r);

uint8_t ns_read_u8(struct ns_reader *r);
uint16_t ns_read_u16(struct ns_reader *r);
uint32_t ns_read_u32(struct ns_reader *r);
uint64_t ns_read_u64(struct ns_reader *r);
/* Returns a pointer to n bytes inside the buffer and advances, or NULL. */
const uint8_t *ns_read_bytes(struct ns_reader *r, size_t n);
bool ns_read_copy(struct ns_reader *r, void *dst, size_t n);
bool ns_read_skip(struct ns_reader *r, size_t n);
/* A reader over the next n bytes, and advance past them. If fewer than n
 * bytes remain, both readers fail. */
struct ns_reader ns_read_sub(struct ns_reader *r, size_t n);

struct ns_writer {
    uint8_t *data;
    size_t cap;
    size_t len;
    bool failed;
};

void ns_writer_init(struct ns_writer *w, void *buf, size_t cap);
bool ns_writer_ok(const struct ns_writer *w);
size_t ns_writer_len(const struct ns_writer *w);

void ns_write_u8(struct ns_writer *w, uint8_t v);
void ns_write_u16(struct ns_writer *w, uint16_t v);
void ns_write_u32(struct ns_writer *w, uint32_t v);
void ns_write_u64(struct ns_writer *w, uint64_t v);
void ns_write_bytes(struct ns_writer *w, const void *src, size_t n);
void ns_write_zeros(struct ns_writer *w, size_t n);
/* Reserves n bytes and returns where they start, or NULL when full. */
uint8_t *ns_write_reserve(struct ns_writer *w, size_t n);
/* Overwrites a 16-bit or 32-bit value already written at offset off (for
 * length fields known only at the end); fails the writer if out of range. */
void ns_write_u16_at(struct ns_writer *w, size_t off, uint16_t v);
void ns_write_u32_at(struct ns_writer *w, size_t off, uint32_t v);

/* Unchecked helpers for fixed-size fields the caller has bounds-checked. */
static inline uint16_t ns_get_u16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t ns_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t ns_get_u64(const uint8_t *p)
{
    return ((uint64_t)ns_get_u32(p) << 32) | ns_get_u32(p + 4);
}
static inline void ns_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void ns_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void ns_put_u64(uint8_t *p, uint64_t v)
{
    ns_put_u32(p, (uint32_t)(v >> 32));
    ns_put_u32(p + 4, (uint32_t)v);
}

#endif
