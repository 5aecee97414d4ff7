/* Monotonic time: every timer and timeout in natsec uses it, never the
 * wall clock, so a clock step cannot expire or extend an SA. */
#ifndef NATSEC_UTIL_TIME_H
#define NATSEC_UTIL_TIME_H

#include <stdint.h>

uint64_t ns_now_ns(void);
uint64_t ns_now_ms(void);

#endif
