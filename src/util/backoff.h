/* The reconnect back-off of a client (X2): the attempt-th wait after a
 * connection was lost or an attempt failed. It starts at about 1 s and
 * doubles up to 30 s, each wait drawn between half and all of it, so that
 * the thousands of clients of a gateway that restarts do not all come
 * back in the same instant. natsecd's client (daemon/reconnect.c) and the
 * clients natsec-load emulates (load/client.c) wait the same.
 *
 * The random value is a parameter: nothing is drawn here. */
#ifndef NATSEC_UTIL_BACKOFF_H
#define NATSEC_UTIL_BACKOFF_H

#include <stdint.h>

#define NS_BACKOFF_FIRST_MS 1000
#define NS_BACKOFF_MAX_MS 30000

/* The wait before attempt (0 for the first retry), in milliseconds:
 * between half and all of min(NS_BACKOFF_FIRST_MS * 2^attempt,
 * NS_BACKOFF_MAX_MS), chosen by rnd (any value, uniformly spread). */
uint64_t ns_backoff_ms(unsigned attempt, uint64_t rnd);

#endif
