/* A limit on the log lines of one kind: those that packets from peers not
 * yet authenticated cause (refused proposals, bad COOKIEs, malformed
 * messages, failed authentications), so that a flood of them fills
 * neither the disk nor the journal (R15).
 *
 * Time is cut into windows of interval_ms; in each, the first burst lines
 * of the kind are logged and the rest are counted. The count is reported
 * in one line, "<kind>: N similar lines suppressed (at most B logged every
 * I ms)", at
 * the level of the most severe line it stands for: before the first line
 * of a later window, or by ns_ratelimit_flush once the window is over
 * (the owner calls it from a timer: ns_ratelimit_due says when). So a
 * sustained flood logs at most burst + 1 lines of each kind per window.
 *
 * Time is a parameter (monotonic milliseconds): no clock is read here.
 * Not thread-safe: one limiter belongs to one thread. */
#ifndef NATSEC_UTIL_RATELIMIT_H
#define NATSEC_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/log.h"

struct ns_ratelimit {
    const char *kind;     /* names the lines in the summary */
    unsigned burst;       /* lines logged per window */
    uint64_t interval_ms; /* the window */
    uint64_t start_ms;    /* when the current window began */
    bool started;         /* a window has begun */
    unsigned logged;      /* lines logged in it */
    uint64_t suppressed;  /* lines held back since the last summary */
    enum ns_log_level worst;
};

#define NS_RATELIMIT_NEVER UINT64_MAX

/* A limiter with nothing counted yet. */
void ns_ratelimit_init(struct ns_ratelimit *rl, const char *kind, unsigned burst,
                       uint64_t interval_ms);
/* Whether a line of the kind at level may be logged at now_ms; the
 * summary of an earlier window comes first. Counts the line either way. */
bool ns_ratelimit_allow(struct ns_ratelimit *rl, enum ns_log_level level, uint64_t now_ms);
/* Logs the summary when lines were suppressed and their window is over. */
void ns_ratelimit_flush(struct ns_ratelimit *rl, uint64_t now_ms);
/* When ns_ratelimit_flush has a summary to log: the end of the window of
 * suppressed lines, or NS_RATELIMIT_NEVER. */
uint64_t ns_ratelimit_due(const struct ns_ratelimit *rl);

/* Logs like ns_log, if rl lets a line at that level through at now_ms.
 * A line below the log level is neither logged nor counted. */
#define NS_LOG_LIMITED(rl, now_ms, level, ...)                                                     \
    do {                                                                                           \
        if (ns_log_get_level() >= (level) && ns_ratelimit_allow((rl), (level), (now_ms)))          \
            ns_log((level), __VA_ARGS__);                                                          \
    } while (0)

#endif
