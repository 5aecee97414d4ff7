/* Rate limit of log lines per kind: see ratelimit.h. */
#include "util/ratelimit.h"

void ns_ratelimit_init(struct ns_ratelimit *rl, const char *kind, unsigned burst,
                       uint64_t interval_ms)
{
    *rl = (struct ns_ratelimit){
        .kind = kind,
        .burst = burst,
        .interval_ms = interval_ms ? interval_ms : 1,
        .worst = NS_LOG_DEBUG,
    };
}

static bool window_over(const struct ns_ratelimit *rl, uint64_t now_ms)
{
    return now_ms < rl->start_ms || now_ms - rl->start_ms >= rl->interval_ms;
}

/* The summary of what was held back, reset. */
static void summarize(struct ns_ratelimit *rl)
{
    if (rl->suppressed == 0)
        return;
    ns_log(rl->worst, "%s: %llu similar lines suppressed (at most %u logged every %llu ms)",
           rl->kind, (unsigned long long)rl->suppressed, rl->burst,
           (unsigned long long)rl->interval_ms);
    rl->suppressed = 0;
    rl->worst = NS_LOG_DEBUG;
}

bool ns_ratelimit_allow(struct ns_ratelimit *rl, enum ns_log_level level, uint64_t now_ms)
{
    if (!rl->started || window_over(rl, now_ms)) {
        summarize(rl);
        rl->started = true;
        rl->start_ms = now_ms;
        rl->logged = 0;
    }
    if (rl->logged < rl->burst) {
        rl->logged++;
        return true;
    }
    rl->suppressed++;
    if (level < rl->worst)
        rl->worst = level;
    return false;
}

void ns_ratelimit_flush(struct ns_ratelimit *rl, uint64_t now_ms)
{
    if (rl->suppressed && window_over(rl, now_ms)) {
        summarize(rl);
        /* A new window with nothing in it: the next line is logged. */
        rl->started = false;
    }
}

uint64_t ns_ratelimit_due(const struct ns_ratelimit *rl)
{
    return rl->suppressed ? rl->start_ms + rl->interval_ms : NS_RATELIMIT_NEVER;
}
