/* Text for operators and logs: one line per decision, and a whole plan. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
typedef struct line {
    char *buf;
    size_t len, need;
} line;

static void put(line *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(line *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->need < o->len ? o->len - o->need : 0;
    int k = vsnprintf(room ? o->buf + o->need : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->need += (size_t)k;
}

static void runtimes_text(line *o, unsigned bits)
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
    line o = {buf, len, 0};
    if (o.len)
        buf[0] = '\0';
    double ratio = h && h->threads > 0 ? v->capacity / h->threads : 0;
    switch (v->reason) {
    case LP_REASON_OK:
        put(&o, "pass: demand %.2f + %.2f = %.2f <= cap %.2f", v->demand_before, v->added,
            v->demand_after, v->capacity);
        if (v->demand_after > v->capacity)
            put(&o, " + slack %.2f", v->slack);
        put(&o, "; class %s; runtime %s; score %.3f =", lp_class_name(v->klass),
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

lp_reason lp_refusal_summary(const lp_request *r, unsigned instance, const lp_verdict *hosts,
                             size_t n, char buf[LP_SUMMARY_MAX])
{
    size_t count[LP_REASON_MEMORY + 1] = {0}, passed = 0;
    for (size_t i = 0; hosts && i < n; i++) {
        passed += hosts[i].passes != 0;
        if ((unsigned)hosts[i].reason <= LP_REASON_MEMORY)
            count[hosts[i].reason]++;
    }
    /* An id is cut at 255 bytes (request files allow no more; the C API
       does), so that the line always fits. */
    line o = {buf, LP_SUMMARY_MAX, 0};
    put(&o, "%zu/%zu hosts can take %.255s#%u", passed, n, r->id, instance);
    if (n == 0)
        put(&o, ": the cluster has no hosts");
    lp_reason most = LP_REASON_OK;
    for (int listed = 0;; listed++) {
        lp_reason next = LP_REASON_OK; /* the most frequent reason not listed yet */
        for (int k = LP_REASON_PARALLELISM; k <= LP_REASON_MEMORY; k++)
            if (count[k] && (next == LP_REASON_OK || count[k] > count[next]))
                next = (lp_reason)k;
        if (next == LP_REASON_OK)
            break;
        if (!listed)
            most = next;
        put(&o, "%s%zu %s", listed ? ", " : ": ", count[next], lp_reason_name(next));
        count[next] = 0;
    }
    return most;
}

/* ---- a plan as text ---------------------------------------------------------- */

/* A growing text buffer; running out of memory is sticky and reported at the end. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int nomem;
} text;

/* Make room for n more bytes. @return 0, or -1 when out of memory (sticky). */
static int reserve(text *t, size_t n)
{
    if (t->nomem)
        return -1;
    if (t->cap - t->len >= n)
        return 0;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap - t->len < n)
        cap *= 2;
    char *b = realloc(t->buf, cap);
    if (!b) {
        t->nomem = 1;
        return -1;
    }
    t->buf = b;
    t->cap = cap;
    return 0;
}

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || reserve(t, (size_t)k + 1))
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)k + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)k;
}

/* lp_verdict_explain() of v on h, then a newline. */
static void add_explanation(text *t, const lp_verdict *v, const lp_host_load *h)
{
    size_t need = 0;
    lp_verdict_explain(NULL, v, h, NULL, 0, &need); /* LP_ELIMIT: only the length */
    if (reserve(t, need + 2))
        return;
    lp_verdict_explain(NULL, v, h, t->buf + t->len, need + 1, NULL);
    t->len += need;
    add(t, "\n");
}

lp_status lp_plan_write_text(lp_ctx *ctx, const lp_plan *p, const lp_cluster *c,
                             const lp_requests *rs, unsigned flags, char **out, size_t *len)
{
    if (!ctx)
        return LP_EINVAL;
    if (!p || !c || !rs || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_plan_write_text: %s is NULL",
                       !p ? "plan" : !c ? "cluster" : !rs ? "requests" : "out");
    if (flags & ~(unsigned)LP_TEXT_EVERY_HOST)
        return lp_fail(ctx, LP_EINVAL, "lp_plan_write_text: unknown flags 0x%x", flags);
    lp_status st = lp_plan_check_match(ctx, "lp_plan_write_text", p, c, rs);
    if (st)
        return st;
    size_t n = lp_cluster_size(c), np = lp_plan_size(p);
    /* The loads each instance saw: what the earlier ones took (free memory). */
    lp_host_load *loads = calloc(n ? n : 1, sizeof *loads);
    if (!loads)
        return lp_fail(ctx, LP_ENOMEM, "out of memory writing the plan");
    if ((st = lp_cluster_get_loads(ctx, c, NULL, loads, n))) {
        free(loads);
        return st;
    }
    text t = {0};
    for (size_t i = 0; i < np; i++) {
        const lp_assignment *a = lp_plan_get(p, i);
        const lp_request *r = lp_requests_get(rs, a->request);
        if (a->host >= 0) {
            add(&t, "%s#%u -> %s  ", r->id, a->instance,
                lp_cluster_get_host(c, (size_t)a->host)->name);
            add_explanation(&t, &a->verdict, &loads[a->host]);
        } else {
            char summary[LP_SUMMARY_MAX];
            lp_refusal_summary(r, a->instance, a->hosts, n, summary);
            add(&t, "%s#%u -> UNPLACED  %s\n", r->id, a->instance, summary);
        }
        if (a->hosts && (a->host < 0 || (flags & LP_TEXT_EVERY_HOST)))
            for (size_t h = 0; h < n; h++) {
                add(&t, "  %c %-16s ", (long)h == a->host ? '*' : ' ',
                    lp_cluster_get_host(c, h)->name);
                add_explanation(&t, &a->hosts[h], &loads[h]);
            }
        if (a->host >= 0)
            lp_host_load_take(&loads[a->host], &a->verdict, r->group != NULL);
    }
    add(&t, "placed %zu of %zu instances\n", np - lp_plan_unplaced(p), np);
    free(loads);
    if (t.nomem) {
        free(t.buf);
        return lp_fail(ctx, LP_ENOMEM, "out of memory writing the plan");
    }
    *out = t.buf;
    if (len)
        *len = t.len;
    return LP_OK;
}
