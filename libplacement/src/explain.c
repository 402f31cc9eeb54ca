/* One line of text per decision, for operators and logs. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

const char *lp_reason_name(lp_reason r)
{
    switch (r) {
    case LP_REASON_OK: return "ok";
    case LP_REASON_PARALLELISM: return "parallelism";
    case LP_REASON_RUNTIME: return "runtime";
    case LP_REASON_MEMORY: return "memory";
    }
    return "?";
}

const char *lp_term_name(int term)
{
    static const char *const names[LP_TERM_COUNT] = {"headroom", "colocate", "spread"};
    return term >= 0 && term < LP_TERM_COUNT ? names[term] : "?";
}

/* snprintf that keeps counting the full length once buf is full. */
typedef struct out {
    char *buf;
    size_t len, need;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->need < o->len ? o->len - o->need : 0;
    int k = vsnprintf(room ? o->buf + o->need : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->need += (size_t)k;
}

static void runtimes_text(out *o, unsigned bits)
{
    static const lp_runtime all[] = {LP_RUNTIME_CONTAINER, LP_RUNTIME_UNIKERNEL, LP_RUNTIME_VM};
    int any = 0;
    for (size_t i = 0; i < 3; i++)
        if (bits & all[i]) {
            put(o, "%s%s", any ? "|" : "", lp_runtime_name(all[i]));
            any = 1;
        }
    if (!any)
        put(o, "none");
}

lp_status lp_verdict_explain(lp_ctx *ctx, const lp_verdict *v, const lp_host_load *h, char *buf,
                             size_t len, size_t *needed)
{
    if (!v || (!buf && len))
        return lp_fail(ctx, LP_EINVAL, "lp_verdict_explain: %s is NULL", v ? "buf" : "verdict");
    out o = {buf, len, 0};
    if (o.len)
        buf[0] = '\0';
    double ratio = h && h->threads > 0 ? v->capacity / h->threads : 0;
    switch (v->reason) {
    case LP_REASON_OK:
        put(&o, "pass: demand %.2f + %.2f = %.2f <= cap %.2f; class %s; runtime %s; score %.3f =",
            v->demand_before, v->added, v->demand_after, v->capacity, lp_class_name(v->klass),
            lp_runtime_name(v->runtime), v->score);
        for (int t = 0; t < LP_TERM_COUNT; t++)
            put(&o, "%s %s %.3f", t ? (v->terms[t] < 0 ? " -" : " +") : "", lp_term_name(t),
                t && v->terms[t] < 0 ? -v->terms[t] : v->terms[t]);
        break;
    case LP_REASON_PARALLELISM:
        put(&o, "fail parallelism: demand %.2f + %.2f = %.2f > cap %.2f", v->demand_before,
            v->added, v->demand_after, v->capacity);
        if (h)
            put(&o, " (%g threads x %.2f)", h->threads, ratio);
        put(&o, " for class %s", lp_class_name(v->klass));
        break;
    case LP_REASON_RUNTIME:
        put(&o, "fail runtime: host offers ");
        if (h)
            runtimes_text(&o, h->runtimes);
        else
            put(&o, "no runtime");
        put(&o, ", none that class %s may use among the runtimes the request allows",
            lp_class_name(v->klass));
        break;
    case LP_REASON_MEMORY:
        put(&o, "fail memory: needs %.0f MB", v->memory_mb);
        if (h)
            put(&o, ", %.0f MB free", h->memory_free_mb);
        break;
    default:
        put(&o, "unknown reason %d", (int)v->reason);
        break;
    }
    if (needed)
        *needed = o.need;
    if (o.need >= len)
        return lp_fail(ctx, LP_ELIMIT, "lp_verdict_explain: the text needs %zu bytes, the buffer "
                       "has %zu", o.need + 1, len);
    return LP_OK;
}
