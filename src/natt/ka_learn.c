/* Learning the keepalive interval from the NAT's mapping lifetime (X1). */
#include "natt/ka_learn.h"

static uint32_t clamp(const struct ns_ka_learn *l, uint32_t ms)
{
    return ms < l->floor_ms ? l->floor_ms : ms > l->cap_ms ? l->cap_ms : ms;
}

void ns_ka_learn_init(struct ns_ka_learn *l, uint32_t floor_ms, uint32_t cap_ms)
{
    *l = (struct ns_ka_learn){.floor_ms = floor_ms, .cap_ms = cap_ms, .interval_ms = cap_ms};
}

bool ns_ka_learn_check_due(const struct ns_ka_learn *l, uint32_t silence_ms, uint64_t now_ms)
{
    if (l->checks == 0 || now_ms - l->checked_ms >= NS_KA_CHECK_MS)
        return true;
    /* Only a silence as long as the interval tells whether it is safe. */
    return l->lived_ms < l->interval_ms && silence_ms >= l->interval_ms;
}

/* The mapping is gone after silence_ms at most: fall back to what is
 * known to survive, at least half that silence. */
static void lost(struct ns_ka_learn *l, uint32_t silence_ms, uint64_t now_ms)
{
    l->changes++;
    if (!l->lost_ms || silence_ms < l->lost_ms)
        l->lost_ms = silence_ms;
    l->lost_at_ms = now_ms;
    /* A survival as long as the loss says the NAT changed: forget it. */
    if (l->lived_ms >= l->lost_ms)
        l->lived_ms = 0;
    uint32_t iv = l->lost_ms / 2;
    if (l->lived_ms > NS_KA_SLACK_MS && l->lived_ms - NS_KA_SLACK_MS > iv)
        iv = l->lived_ms - NS_KA_SLACK_MS;
    l->interval_ms = clamp(l, iv);
}

void ns_ka_learn_result(struct ns_ka_learn *l, uint32_t silence_ms, bool changed, uint64_t now_ms)
{
    l->checks++;
    l->checked_ms = now_ms;
    if (l->lost_ms && now_ms - l->lost_at_ms >= NS_KA_HOLD_MS)
        l->lost_ms = 0; /* old news: the path may be another one by now */
    if (changed) {
        lost(l, silence_ms, now_ms);
        return;
    }
    if (silence_ms > l->lived_ms)
        l->lived_ms = silence_ms;
    if (l->lost_ms && l->lived_ms >= l->lost_ms)
        l->lost_ms = 0; /* it lives longer now than it did: the NAT changed */
    if (l->lost_ms || l->lived_ms < l->interval_ms)
        return; /* hold; or this interval is not proven yet */
    uint32_t step = l->interval_ms / 4 > 1000 ? l->interval_ms / 4 : 1000;
    l->interval_ms = clamp(l, l->interval_ms + step);
}
