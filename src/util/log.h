/* Logging with levels to stderr (or a file). One line per event, with a
 * monotonic timestamp, so tests can grep for what happened. */
#ifndef NATSEC_UTIL_LOG_H
#define NATSEC_UTIL_LOG_H

#include <stdio.h>

enum ns_log_level {
    NS_LOG_ERROR = 0,
    NS_LOG_WARN = 1,
    NS_LOG_INFO = 2,
    NS_LOG_DEBUG = 3,
};

void ns_log_set_level(enum ns_log_level level);
enum ns_log_level ns_log_get_level(void);
/* Sets the stream lines go to (stderr by default). */
void ns_log_set_stream(FILE *stream);
/* Parses "error", "warn", "info" or "debug"; returns -1 when unknown. */
int ns_log_level_parse(const char *name);
/* "error", "warn", "info" or "debug". */
const char *ns_log_level_name(enum ns_log_level level);
void ns_log(enum ns_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define NS_ERR(...) ns_log(NS_LOG_ERROR, __VA_ARGS__)
#define NS_WARN(...) ns_log(NS_LOG_WARN, __VA_ARGS__)
#define NS_INFO(...) ns_log(NS_LOG_INFO, __VA_ARGS__)
#define NS_DBG(...)                                                                                \
    do {                                                                                           \
        if (ns_log_get_level() >= NS_LOG_DEBUG)                                                    \
            ns_log(NS_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
