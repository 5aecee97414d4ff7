/* Logging with levels to stderr (or a file) or to syslog. One line per
 * event; on stderr with a monotonic timestamp, so tests can grep for what
 * happened. Every line carries its level, and the peer it is about while
 * a log context is set (the IKE engine sets one per IKE SA it works on). */
#ifndef NATSEC_UTIL_LOG_H
#define NATSEC_UTIL_LOG_H

#include <stddef.h>
#include <stdio.h>

enum ns_log_level {
    NS_LOG_ERROR = 0,
    NS_LOG_WARN = 1,
    NS_LOG_INFO = 2,
    NS_LOG_DEBUG = 3,
};

enum ns_log_target {
    NS_LOG_TARGET_STDERR = 0, /* the default; or the stream of ns_log_set_stream */
    NS_LOG_TARGET_SYSLOG = 1, /* syslog(3), facility daemon: journald takes it under systemd */
};

void ns_log_set_level(enum ns_log_level level);
enum ns_log_level ns_log_get_level(void);
/* Sets the stream lines go to (stderr by default). */
void ns_log_set_stream(FILE *stream);
/* Sends lines to target; ident names the program in syslog. */
void ns_log_set_target(enum ns_log_target target, const char *ident);
enum ns_log_target ns_log_get_target(void);
/* Parses "error", "warn", "info" or "debug"; returns -1 when unknown. */
int ns_log_level_parse(const char *name);
/* "error", "warn", "info" or "debug". */
const char *ns_log_level_name(enum ns_log_level level);

/* The calling thread's log context: while fn is set, each line gets
 * " [<what fn writes>]" appended (nothing when it writes ""). fn runs only
 * for lines that are logged. ns_log_context(NULL, NULL) clears it. */
typedef void (*ns_log_context_fn)(const void *arg, char *buf, size_t len);
void ns_log_context(ns_log_context_fn fn, const void *arg);

void ns_log(enum ns_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define NS_ERR(...) ns_log(NS_LOG_ERROR, __VA_ARGS__)
#define NS_WARN(...) ns_log(NS_LOG_WARN, __VA_ARGS__)
#define NS_INFO(...) ns_log(NS_LOG_INFO, __VA_ARGS__)
#define NS_DBG(...)                                                                                \
    do {                                                                                           \
        if (ns_log_get_level() >= NS_LOG_DEBUG)                                                    \
            ns_log(NS_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
