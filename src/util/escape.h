/* Bytes a peer chose, made safe for a log line (R15): anything a peer
 * sends (identities, certificate names, ...) can hold a newline that
 * starts a forged line, or ESC / C1 sequences a terminal acts on. */
#ifndef NATSEC_UTIL_ESCAPE_H
#define NATSEC_UTIL_ESCAPE_H

#include <stddef.h>

/* The room that holds any len bytes escaped, with the NUL. */
#define NS_ESCAPE_CAP(len) (4 * (len) + 1)

/* in[0..len) into out as printable ASCII: 0x20..0x7e as it is but the
 * backslash, which is doubled; every other byte (control characters, DEL,
 * anything above 0x7e, UTF-8 included) as \xNN. At most cap bytes with
 * the NUL, cut only between whole characters; cap 0 writes nothing.
 * Returns out. */
const char *ns_escape(char *out, size_t cap, const void *in, size_t len);

#endif
