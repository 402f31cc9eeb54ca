/* The context: status texts, version, policy parameters and the last error. */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lp_status_str(lp_status st)
{
    switch (st) {
    case LP_OK: return "ok";
    case LP_EINVAL: return "invalid argument";
    case LP_ENOMEM: return "out of memory";
    case LP_EPARSE: return "parse error";
    case LP_ELIMIT: return "limit exceeded";
    case LP_ENOTFOUND: return "not found";
    case LP_EIO: return "I/O error";
    case LP_ETIMEOUT: return "timed out";
    case LP_EUNAVAIL: return "not available";
    case LP_ESTALE: return "stale data";
    }
    return "unknown status";
}

const char *lp_version(void)
{
    return LP_VERSION_STRING;
}

/* One numeric policy parameter: where it lives in lp_policy and what it may be. */
typedef struct lp_param {
    const char *name;
    size_t offset;
    double def;
    double min, max;
    int min_open; /* 1: the minimum itself is not allowed */
    const char *help;
} lp_param;

#define P(field) offsetof(lp_policy, field)
static const lp_param lp_params[] = {
    {"cap_slack", P(cap_slack), 0.1, 0.0, 16.0, 0,
     "threads a host's demand may exceed its cap by and still pass: room for measurement "
     "noise (host daemons, the agent itself), not for work"},
    {"max_parallel_ratio", P(max_parallel_ratio), 1.0, 0.0, 16.0, 1,
     "a host passes while its demand after placement is <= threads x this"},
    {"weight_headroom", P(weight_headroom), 1.0, 0.0, 1e6, 0,
     "weight of the free-parallelism term of the score"},
    {"weight_colocate", P(weight_colocate), 1.0, 0.0, 1e6, 0,
     "bonus for a net/io-class group member on a host that already runs the group"},
    {"weight_spread", P(weight_spread), 0.5, 0.0, 1e6, 0,
     "penalty per unit of a cpu/mixed-class group's parallelism already on the host, per capacity"},
    {"estimate_net", P(estimate_net), 0.5, 0.0, 1.0, 0,
     "demand per unit of parallelism assumed for net-class work that has no measured demand"},
    {"estimate_io", P(estimate_io), 0.25, 0.0, 1.0, 0,
     "demand per unit of parallelism assumed for io-class work that has no measured demand"},
    {"estimate_idle", P(estimate_idle), 0.1, 0.0, 1.0, 0,
     "demand per unit of parallelism assumed for idle-class work that has no measured demand"},
    {"cpu_busy_fraction", P(cpu_busy_fraction), 0.6, 0.0, 1.0, 1,
     "a workload using at least this fraction of its parallelism in CPUs is CPU-busy"},
    {"idle_util", P(idle_util), 0.05, 0.0, 1024.0, 1,
     "a workload using fewer CPUs than this, with little I/O, is idle"},
    {"net_bps_threshold", P(net_bps_threshold), 1e6, 0.0, 1e15, 1,
     "network bytes per second (rx+tx) at or above which a workload is network-heavy"},
    {"disk_bps_threshold", P(disk_bps_threshold), 2e7, 0.0, 1e15, 1,
     "disk bytes per second (read+write) at or above which a workload is disk-heavy"},
    {"iowait_threshold", P(iowait_threshold), 0.2, 0.0, 1.0, 1,
     "fraction of time blocked on block I/O at or above which a workload is I/O-bound"},
    {"wait_ratio_threshold", P(wait_ratio_threshold), 0.5, 0.0, 1e6, 1,
     "scheduling wait / run time at or above which a busy workload is starved for CPU"},
};
#undef P
#define LP_NPARAMS (sizeof lp_params / sizeof lp_params[0])

const char *lp_policy_param_name(size_t i)
{
    return i < LP_NPARAMS ? lp_params[i].name : NULL;
}

const char *lp_policy_param_help(size_t i)
{
    return i < LP_NPARAMS ? lp_params[i].help : NULL;
}

static double *param_ptr(lp_policy *p, const lp_param *d)
{
    return (double *)((char *)p + d->offset);
}

static const lp_param *param_find(const char *name)
{
    for (size_t i = 0; i < LP_NPARAMS; i++)
        if (strcmp(lp_params[i].name, name) == 0)
            return &lp_params[i];
    return NULL;
}

/* Defaults of the runtime preference order, one row per lp_class. */
static void default_orders(lp_policy *p)
{
    static const lp_runtime def[LP_CLASS_COUNT][4] = {
        [LP_CLASS_UNKNOWN] = {LP_RUNTIME_VM},
        [LP_CLASS_CPU] = {LP_RUNTIME_UNIKERNEL, LP_RUNTIME_VM},
        [LP_CLASS_NET] = {LP_RUNTIME_CONTAINER, LP_RUNTIME_VM},
        [LP_CLASS_IO] = {LP_RUNTIME_CONTAINER, LP_RUNTIME_VM},
        [LP_CLASS_MIXED] = {LP_RUNTIME_VM},
        [LP_CLASS_IDLE] = {LP_RUNTIME_CONTAINER, LP_RUNTIME_VM},
        [LP_CLASS_AUTO] = {LP_RUNTIME_VM},
    };
    memcpy(p->order, def, sizeof def);
}

lp_status lp_ctx_new(lp_ctx **out)
{
    if (!out)
        return LP_EINVAL;
    lp_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return LP_ENOMEM;
    for (size_t i = 0; i < LP_NPARAMS; i++)
        *param_ptr(&ctx->policy, &lp_params[i]) = lp_params[i].def;
    default_orders(&ctx->policy);
    *out = ctx;
    return LP_OK;
}

lp_status lp_ctx_dup(lp_ctx *ctx, lp_ctx **out)
{
    if (!ctx)
        return LP_EINVAL;
    if (!out)
        return lp_fail(ctx, LP_EINVAL, "lp_ctx_dup: out is NULL");
    lp_ctx *n = calloc(1, sizeof *n);
    if (!n)
        return lp_fail(ctx, LP_ENOMEM, "out of memory copying a context");
    n->policy = ctx->policy;
    *out = n;
    return LP_OK;
}

void lp_ctx_free(lp_ctx *ctx)
{
    free(ctx);
}

const char *lp_ctx_last_error(const lp_ctx *ctx)
{
    return ctx ? ctx->errmsg : "";
}

void lp_ctx_clear_error(lp_ctx *ctx)
{
    if (ctx)
        ctx->errmsg[0] = '\0';
}

lp_status lp_ctx_set_param(lp_ctx *ctx, const char *name, double value)
{
    if (!ctx)
        return LP_EINVAL;
    if (!name)
        return lp_fail(ctx, LP_EINVAL, "policy parameter name is NULL");
    const lp_param *d = param_find(name);
    if (!d)
        return lp_fail(ctx, LP_ENOTFOUND, "unknown policy parameter '%s'", name);
    if (!isfinite(value) || value > d->max || value < d->min || (d->min_open && value == d->min))
        return lp_fail(ctx, LP_EINVAL, "policy parameter %s: %g is out of range %c%g, %g]", name,
                       value, d->min_open ? '(' : '[', d->min, d->max);
    *param_ptr(&ctx->policy, d) = value;
    return LP_OK;
}

lp_status lp_ctx_get_param(lp_ctx *ctx, const char *name, double *value)
{
    if (!ctx)
        return LP_EINVAL;
    if (!name || !value)
        return lp_fail(ctx, LP_EINVAL, "lp_ctx_get_param: %s is NULL", name ? "value" : "name");
    const lp_param *d = param_find(name);
    if (!d)
        return lp_fail(ctx, LP_ENOTFOUND, "unknown policy parameter '%s'", name);
    *value = *(const double *)((const char *)&ctx->policy + d->offset);
    return LP_OK;
}

lp_status lp_ctx_set_error(lp_ctx *ctx, lp_status st, const char *fmt, ...)
{
    if (ctx && fmt) {
        /* Formatted aside first: an argument may be the last message itself. */
        char msg[LP_ERRMSG_LEN];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        memcpy(ctx->errmsg, msg, strlen(msg) + 1);
    }
    return st;
}

lp_status lp_version_check(lp_ctx *ctx, const char *where, const char *type, unsigned version,
                           unsigned current)
{
    const char *sep = where ? ": " : "";
    if (!where)
        where = "";
    if (version > current)
        return lp_fail(ctx, LP_EINVAL, "%s%s%s version %u is newer than this library (%u)", where,
                       sep, type, version, current);
    if (version < 1)
        return lp_fail(ctx, LP_EINVAL,
                       "%s%s%s version 0 is not valid: initialise it with %s_init()", where, sep,
                       type, type);
    return LP_OK;
}

char *lp_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void lp_free(void *p)
{
    free(p);
}
