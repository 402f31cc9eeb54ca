/* Workload classification from measured behaviour, and runtime choice. */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Append to a fixed buffer, truncating; keeps it NUL-terminated. */
static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/*
 * Confidence of one threshold decision: 0.5 right at the threshold, rising
 * linearly to 1 when the value is twice the threshold (or zero, for a
 * "below" decision).
 */
static double margin(double value, double threshold)
{
    double d = fabs(value - threshold) / threshold;
    return 0.5 + 0.5 * (d > 1 ? 1 : d);
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

lp_status lp_workload_classify(lp_ctx *ctx, const lp_workload *w, lp_classification *out)
{
    lp_status st;
    if (!ctx)
        return LP_EINVAL;
    if (!w || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_workload_classify: %s is NULL", w ? "out" : "workload");
    char where[120];
    snprintf(where, sizeof where, "workload '%.100s'", w->id ? w->id : "");
    if ((st = lp_workload_check(ctx, w, where)))
        return st;

    const lp_policy *p = &ctx->policy;
    lp_classification r = {.klass = LP_CLASS_UNKNOWN};
    int has_util = w->util >= 0, has_net = w->net_bps >= 0, has_disk = w->disk_bps >= 0,
        has_iowait = w->iowait >= 0, has_wait = w->wait_ratio >= 0;
    if (!has_util && !has_net && !has_disk && !has_iowait && !has_wait && w->demand < 0) {
        snprintf(r.reasons, sizeof r.reasons, "no metrics");
        *out = r;
        return LP_OK;
    }

    /*
     * The parallelism a workload could use: its vCPUs when declared; for a
     * process, its runnable threads (demand) bounded by its thread count, so
     * that a server with a big idle thread pool is not judged against it.
     */
    double par = w->vcpus;
    if (par <= 0) {
        par = w->threads > 0 ? w->threads : 1;
        if (w->demand >= 0 && w->demand < par)
            par = w->demand;
        if (par < 1)
            par = 1;
    }

    /* CPU: busy for its parallelism, or starved (waiting for a CPU more than running). */
    int cpu = 0;
    double cpu_conf = 0;
    if (has_util) {
        double busy = p->cpu_busy_fraction * par;
        cpu = w->util >= busy;
        cpu_conf = margin(w->util, busy);
        append(r.reasons, sizeof r.reasons, "util %.2f CPUs %s %.2g x %.3g parallel", w->util,
               cpu ? ">=" : "<", p->cpu_busy_fraction, par);
        if (!cpu && has_wait && w->util >= p->idle_util && w->wait_ratio >= p->wait_ratio_threshold) {
            cpu = 1;
            cpu_conf = margin(w->wait_ratio, p->wait_ratio_threshold);
        }
    }
    if (has_wait)
        append(r.reasons, sizeof r.reasons, "%swait/run %.2f %s %.2g", r.reasons[0] ? "; " : "",
               w->wait_ratio, w->wait_ratio >= p->wait_ratio_threshold ? ">=" : "<",
               p->wait_ratio_threshold);

    int net = has_net && w->net_bps >= p->net_bps_threshold;
    double net_conf = has_net ? margin(w->net_bps, p->net_bps_threshold) : 0;
    if (has_net)
        append(r.reasons, sizeof r.reasons, "%snet %.3g B/s %s %.3g", r.reasons[0] ? "; " : "",
               w->net_bps, net ? ">=" : "<", p->net_bps_threshold);

    /* I/O: heavy if any disk signal is past its threshold; the strongest decides. */
    int io_known = has_iowait || has_disk;
    double io_hi = 0, io_lo = 1;
    const struct {
        int known;
        const char *name, *unit;
        double v, t;
    } disk[] = {{has_iowait, "iowait", "", w->iowait, p->iowait_threshold},
                {has_disk, "disk", " B/s", w->disk_bps, p->disk_bps_threshold}};
    for (size_t i = 0; i < 2; i++) {
        if (!disk[i].known)
            continue;
        int heavy = disk[i].v >= disk[i].t;
        double c = margin(disk[i].v, disk[i].t);
        if (heavy && c > io_hi)
            io_hi = c;
        if (!heavy && c < io_lo)
            io_lo = c;
        append(r.reasons, sizeof r.reasons, "%s%s %.3g%s %s %.3g", r.reasons[0] ? "; " : "",
               disk[i].name, disk[i].v, disk[i].unit, heavy ? ">=" : "<", disk[i].t);
    }
    int io = io_hi > 0;
    double io_conf = io ? io_hi : io_lo;

    if (cpu && (net || io)) {
        r.klass = LP_CLASS_MIXED;
        r.confidence = min2(cpu_conf, net && (!io || net_conf > io_conf) ? net_conf : io_conf);
    } else if (cpu) {
        r.klass = LP_CLASS_CPU;
        r.confidence = cpu_conf;
        if (has_net)
            r.confidence = min2(r.confidence, net_conf);
        if (io_known)
            r.confidence = min2(r.confidence, io_conf);
        if (!has_net && !io_known)
            r.confidence *= 0.8; /* I/O not measured: it may still be I/O-bound */
    } else if (net || io) {
        /* both heavy: the one further past its threshold wins */
        r.klass = net && (!io || net_conf >= io_conf) ? LP_CLASS_NET : LP_CLASS_IO;
        r.confidence = r.klass == LP_CLASS_NET ? net_conf : io_conf;
        if (has_util)
            r.confidence = min2(r.confidence, cpu_conf);
    } else if (has_util && w->util < p->idle_util) {
        r.klass = LP_CLASS_IDLE;
        r.confidence = margin(w->util, p->idle_util);
        append(r.reasons, sizeof r.reasons, "; util %.3f < idle %.2g", w->util, p->idle_util);
    } else if (has_util) {
        /* Uses some CPU, nothing heavy: light CPU work; the low confidence says so. */
        r.klass = LP_CLASS_CPU;
        r.confidence = 0.5 * (1.5 - cpu_conf);
        append(r.reasons, sizeof r.reasons, "; light CPU work, no heavy I/O");
    } else {
        append(r.reasons, sizeof r.reasons, "%sCPU use not measured", r.reasons[0] ? "; " : "");
    }
    *out = r;
    return LP_OK;
}

lp_status lp_runtime_choose(lp_ctx *ctx, lp_class klass, unsigned host_runtimes,
                            unsigned allowed, lp_runtime *out)
{
    if (!ctx)
        return LP_EINVAL;
    if (!out)
        return lp_fail(ctx, LP_EINVAL, "lp_runtime_choose: out is NULL");
    if ((unsigned)klass >= LP_CLASS_COUNT)
        return lp_fail(ctx, LP_EINVAL, "lp_runtime_choose: class %d is not a workload class",
                       (int)klass);
    const lp_runtime *order = ctx->policy.order[klass];
    for (int i = 0; i < 4 && order[i] != LP_RUNTIME_NONE; i++)
        if (order[i] & host_runtimes & allowed) {
            *out = order[i];
            return LP_OK;
        }
    *out = LP_RUNTIME_NONE;
    return LP_OK;
}

lp_status lp_ctx_set_runtime_order(lp_ctx *ctx, lp_class klass, const char *order)
{
    if (!ctx)
        return LP_EINVAL;
    if ((unsigned)klass >= LP_CLASS_AUTO)
        return lp_fail(ctx, LP_EINVAL, "runtime order: class %d is not a workload class", (int)klass);
    if (!order || !order[0])
        return lp_fail(ctx, LP_EINVAL, "runtime order for class %s: the list is empty",
                       lp_class_name(klass));
    lp_runtime list[4] = {LP_RUNTIME_NONE};
    size_t n = 0;
    const char *s = order;
    for (;;) {
        size_t len = strcspn(s, ",");
        char name[16];
        if (len == 0 || len >= sizeof name)
            return lp_fail(ctx, len ? LP_ENOTFOUND : LP_EINVAL,
                           "runtime order for class %s: entry %zu of '%.60s' is %s",
                           lp_class_name(klass), n + 1, order, len ? "not a runtime" : "empty");
        memcpy(name, s, len);
        name[len] = '\0';
        lp_runtime rt;
        if (lp_runtime_parse(NULL, name, &rt) || !(rt & LP_RUNTIME_ALL))
            return lp_fail(ctx, LP_ENOTFOUND,
                           "runtime order for class %s: entry %zu '%s' is not one of container, "
                           "unikernel, vm", lp_class_name(klass), n + 1, name);
        for (size_t i = 0; i < n; i++)
            if (list[i] == rt)
                return lp_fail(ctx, LP_EINVAL, "runtime order for class %s: '%s' is listed twice",
                               lp_class_name(klass), name);
        list[n++] = rt; /* at most 3 distinct runtimes, so n < 4 here */
        if (!s[len])
            break;
        s += len + 1;
    }
    memcpy(ctx->policy.order[klass], list, sizeof list);
    return LP_OK;
}

lp_status lp_ctx_get_runtime_order(lp_ctx *ctx, lp_class klass, char *buf, size_t len)
{
    if (!ctx)
        return LP_EINVAL;
    if (!buf)
        return lp_fail(ctx, LP_EINVAL, "runtime order: buffer is NULL");
    if ((unsigned)klass >= LP_CLASS_COUNT)
        return lp_fail(ctx, LP_EINVAL, "runtime order: class %d is not a workload class", (int)klass);
    char tmp[64] = "";
    const lp_runtime *order = ctx->policy.order[klass];
    for (int i = 0; i < 4 && order[i] != LP_RUNTIME_NONE; i++)
        append(tmp, sizeof tmp, "%s%s", i ? "," : "", lp_runtime_name(order[i]));
    size_t n = strlen(tmp);
    if (n + 1 > len)
        return lp_fail(ctx, LP_ELIMIT, "runtime order for class %s: '%s' needs %zu bytes, the "
                       "buffer has %zu", lp_class_name(klass), tmp, n + 1, len);
    memcpy(buf, tmp, n + 1);
    return LP_OK;
}
