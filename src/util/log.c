#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <syslog.h>

#include "util/time.h"

/* Atomic: natsecctl log-level changes it while the outbound worker logs. */
static atomic_int current_level = NS_LOG_INFO;
static FILE *log_stream;
static enum ns_log_target current_target = NS_LOG_TARGET_STDERR;

/* Per thread: the outbound worker logs beside the main thread's engine. */
static _Thread_local ns_log_context_fn context_fn;
static _Thread_local const void *context_arg;

void ns_log_set_level(enum ns_log_level level)
{
    atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

enum ns_log_level ns_log_get_level(void)
{
    return (enum ns_log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

void ns_log_set_stream(FILE *stream)
{
    log_stream = stream;
}

void ns_log_set_target(enum ns_log_target target, const char *ident)
{
    if (target == current_target)
        return; /* a reload keeps the connection to syslog it has */
    if (current_target == NS_LOG_TARGET_SYSLOG)
        closelog();
    current_target = target;
    /* LOG_NDELAY: the socket to the syslog daemon is made now, while
     * natsecd may still open files, not at the first line. */
    if (target == NS_LOG_TARGET_SYSLOG)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

enum ns_log_target ns_log_get_target(void)
{
    return current_target;
}

void ns_log_context(ns_log_context_fn fn, const void *arg)
{
    context_fn = fn;
    context_arg = fn ? arg : NULL;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int ns_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *ns_log_level_name(enum ns_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "unknown";
}

void ns_log(enum ns_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    if (level > ns_log_get_level())
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (context_fn && n >= 0 && (size_t)n < sizeof(line) - 4) {
        char ctx[600];
        context_fn(context_arg, ctx, sizeof(ctx));
        if (ctx[0])
            snprintf(line + n, sizeof(line) - (size_t)n, " [%s]", ctx);
    }
    if (current_target == NS_LOG_TARGET_SYSLOG) {
        /* The level word too: journalctl -o cat and plain files drop the
         * priority, and every line must say how bad it is. */
        syslog(priorities[level], "%s %s", tags[level], line);
        return;
    }
    FILE *out = log_stream ? log_stream : stderr;
    uint64_t ms = ns_now_ms();
    fprintf(out, "%llu.%03llu %s %s\n", (unsigned long long)(ms / 1000),
            (unsigned long long)(ms % 1000), tags[level], line);
    fflush(out);
}
