/* Whether the published snapshot may be served: not before the first window
 * with rates, not once sweeps have stopped (docs/agent.md, "Readiness and
 * staleness"). */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "agent.h"

/* Unix seconds as an RFC 3339 UTC time with milliseconds. */
static void rfc3339(double t, char *out, size_t len)
{
    time_t secs = (time_t)t;
    struct tm tm;
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", gmtime_r(&secs, &tm));
    snprintf(out, len, "%s.%03dZ", base, (int)((t - (double)secs) * 1000));
}

int agent_freshness(const published *p, double now, char *why, size_t len, unsigned *retry_after)
{
    double interval = p->interval > 0 ? p->interval : 1;
    if (p->last_ok > 0 && now - p->last_ok > p->max_age) {
        char when[48];
        rfc3339(p->last_ok_wall, when, sizeof when);
        snprintf(why, len, "stale: no good sweep since %s (%.1f s ago, the limit is %.1f s)", when,
                 now - p->last_ok, p->max_age);
        *retry_after = (unsigned)ceil(interval);
        return AGENT_STALE;
    }
    if (!p->snapshot && now - p->started > p->max_age) {
        snprintf(why, len, "stale: no window with rates %.1f s after start (the limit is %.1f s)",
                 now - p->started, p->max_age);
        *retry_after = (unsigned)ceil(interval);
        return AGENT_STALE;
    }
    if (!p->snapshot) {
        double left = p->first_due - now;
        snprintf(why, len, "starting: no measurement window yet; the first ends in about %.1f s",
                 left > 0 ? left : 0);
        *retry_after = left > 1 ? (unsigned)ceil(left) : 1;
        return AGENT_STARTING;
    }
    snprintf(why, len, "ok");
    *retry_after = 0;
    return AGENT_FRESH;
}
