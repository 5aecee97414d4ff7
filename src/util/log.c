#include "util/log.h"

#include <stdarg.h>
#include <string.h>

#include "util/time.h"

static enum ns_log_level current_level = NS_LOG_INFO;
static FILE *log_stream;

void ns_log_set_level(enum ns_log_level level)
{
    current_level = level;
}

enum ns_log_level ns_log_get_level(void)
{
    return current_level;
}

void ns_log_set_stream(FILE *stream)
{
    log_stream = stream;
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
    if (level > current_level)
        return;
    FILE *out = log_stream ? log_stream : stderr;
    uint64_t ms = ns_now_ms();
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(out, "%llu.%03llu %s %s\n", (unsigned long long)(ms / 1000),
            (unsigned long long)(ms % 1000), tags[level], line);
    fflush(out);
}
