/* Parsing of single configuration values, shared by the files of src/conf
 * only (not part of the public surface). Every function returns 0, or -1
 * with a reason in err that names the offending text. */
#ifndef NATSEC_CONF_VALUE_H
#define NATSEC_CONF_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "util/addr.h"

/* Decimal, or hexadecimal with 0x, in [min, max]. */
int ns_conf_value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                       size_t errlen);
/* yes/no, true/false, on/off, 1/0. */
int ns_conf_value_bool(const char *s, bool *out, char *err, size_t errlen);
/* Seconds with up to three decimals ("1", "0.5", "1.250") to milliseconds,
 * in [min_ms, max_ms]. */
int ns_conf_value_seconds_ms(const char *s, unsigned min_ms, unsigned max_ms, unsigned *out,
                             char *err, size_t errlen);
/* An IPv4 or IPv6 literal. */
int ns_conf_value_addr(const char *s, struct ns_addr *out, char *err, size_t errlen);
/* "addr/len" with no host bits set, or a bare address (a full-length
 * prefix) when bare_ok. */
int ns_conf_value_prefix(const char *s, bool bare_ok, struct ns_addr *net, unsigned *len, char *err,
                         size_t errlen);
/* A prefix as an any-protocol, any-port traffic selector. */
int ns_conf_value_ts(const char *s, struct ns_ts *out, char *err, size_t errlen);
/* Hex digits (no prefix, even count) to at most max bytes. */
int ns_conf_value_hex(const char *s, uint8_t *out, size_t max, size_t *len, char *err,
                      size_t errlen);

/* Calls fn for every comma-separated, whitespace-trimmed item; an empty
 * item is an error. Stops at the first item fn refuses. */
typedef int (*ns_conf_value_item_fn)(const char *item, void *ctx, char *err, size_t errlen);
int ns_conf_value_list(const char *s, ns_conf_value_item_fn fn, void *ctx, char *err,
                       size_t errlen);

/* ns_conf_id_parse with a reason. */
int ns_conf_id_parse_err(const char *s, struct ns_conf_id *out, char *err, size_t errlen);

#endif
