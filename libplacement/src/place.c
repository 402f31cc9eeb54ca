/* Requests, host loads, batch filter + score, and multi-instance placement. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slack for float sums (0.5 x 16 must fit a cap of 8 exactly). */
#define LP_CAP_EPS 1e-9

lp_status lp_request_init(lp_request *r, unsigned version)
{
    if (!r || version < 1 || version > LP_REQUEST_VERSION)
        return LP_EINVAL;
    *r = (lp_request){
        .version = version,
        .id = "",
        .count = 1,
        .vcpus = 1,
        .klass = LP_CLASS_AUTO,
        .demand = -1,
        .runtime = LP_RUNTIME_AUTO,
        .allowed_runtimes = LP_RUNTIME_ALL,
    };
    return LP_OK;
}

static int one_runtime(unsigned r)
{
    return r == LP_RUNTIME_CONTAINER || r == LP_RUNTIME_UNIKERNEL || r == LP_RUNTIME_VM;
}

/* Check every field of a request; the message names the request and the field. */
static lp_status request_check(lp_ctx *ctx, const lp_request *r)
{
    lp_status st;
    if (!r)
        return lp_fail(ctx, LP_EINVAL, "request is NULL");
    if ((st = lp_version_check(ctx, NULL, "lp_request", r->version, LP_REQUEST_VERSION)))
        return st;
    if (!r->id)
        return lp_fail(ctx, LP_EINVAL, "request: id is NULL");
    char where[160];
    snprintf(where, sizeof where, "request '%.100s'", r->id);
    if (r->count < 1)
        return lp_fail(ctx, LP_EINVAL, "%s: count (%u) must be >= 1", where, r->count);
    if (r->count > LP_MAX_COUNT)
        return lp_fail(ctx, LP_EINVAL, "%s: count (%u) must be <= %u", where, r->count, LP_MAX_COUNT);
    if (!isfinite(r->vcpus) || r->vcpus <= 0)
        return lp_fail(ctx, LP_EINVAL, "%s: vcpus (%g) must be a finite number > 0", where, r->vcpus);
    if (!isfinite(r->memory_mb) || r->memory_mb < 0)
        return lp_fail(ctx, LP_EINVAL, "%s: memory_mb (%g) must be a finite number >= 0", where,
                       r->memory_mb);
    if ((unsigned)r->klass >= LP_CLASS_COUNT)
        return lp_fail(ctx, LP_EINVAL, "%s: class (%d) is not a workload class or auto", where,
                       (int)r->klass);
    if (!isfinite(r->parallelism) || r->parallelism < 0)
        return lp_fail(ctx, LP_EINVAL, "%s: parallelism (%g) must be a finite number >= 0 (0 = vcpus)",
                       where, r->parallelism);
    if (!isfinite(r->demand))
        return lp_fail(ctx, LP_EINVAL, "%s: demand (%g) must be finite (negative = estimate)", where,
                       r->demand);
    if (!r->allowed_runtimes || (r->allowed_runtimes & ~(unsigned)LP_RUNTIME_ALL))
        return lp_fail(ctx, LP_EINVAL,
                       "%s: allowed_runtimes (0x%x) must be a non-empty set of container, unikernel, vm",
                       where, r->allowed_runtimes);
    if (r->runtime != LP_RUNTIME_AUTO && !one_runtime(r->runtime))
        return lp_fail(ctx, LP_EINVAL, "%s: runtime (0x%x) must be one of container, unikernel, vm, auto",
                       where, (unsigned)r->runtime);
    if (r->runtime != LP_RUNTIME_AUTO && !(r->runtime & r->allowed_runtimes))
        return lp_fail(ctx, LP_EINVAL, "%s: runtime %s is not among its allowed_runtimes", where,
                       lp_runtime_name(r->runtime));
    if (!r->metrics)
        return LP_OK;
    char mwhere[180];
    snprintf(mwhere, sizeof mwhere, "%s: metrics", where);
    return lp_workload_check(ctx, r->metrics, mwhere);
}

/* ---- request lists -------------------------------------------------------- */

struct lp_requests {
    lp_request **items; /* separately allocated so that borrowed pointers stay valid */
    size_t n, cap;
};

/* A request as the list holds it: the copy and the metrics it points to. */
typedef struct held_request {
    lp_request r;
    lp_workload metrics;
} held_request;

static void request_free(lp_request *r)
{
    if (!r)
        return;
    held_request *h = (held_request *)r;
    free((char *)r->id);
    free((char *)r->group);
    free((char *)r->image);
    free((char *)r->flavor);
    free((char *)h->metrics.id);
    free((char *)h->metrics.group);
    free((char *)h->metrics.image);
    free((char *)h->metrics.flavor);
    free(h);
}

static lp_request *request_copy(const lp_request *src)
{
    held_request *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    lp_request *r = &h->r;
    *r = *src;
    r->version = LP_REQUEST_VERSION;
    r->id = lp_strdup(src->id);
    r->group = lp_strdup(src->group);
    r->image = lp_strdup(src->image);
    r->flavor = lp_strdup(src->flavor);
    r->metrics = NULL;
    int ok = r->id && (!src->group || r->group) && (!src->image || r->image) &&
             (!src->flavor || r->flavor);
    if (ok && src->metrics) {
        const lp_workload *m = src->metrics;
        h->metrics = *m;
        h->metrics.version = LP_WORKLOAD_VERSION;
        h->metrics.id = lp_strdup(m->id);
        h->metrics.group = lp_strdup(m->group);
        h->metrics.image = lp_strdup(m->image);
        h->metrics.flavor = lp_strdup(m->flavor);
        r->metrics = &h->metrics;
        ok = h->metrics.id && (!m->group || h->metrics.group) && (!m->image || h->metrics.image) &&
             (!m->flavor || h->metrics.flavor);
    }
    if (!ok) {
        request_free(r);
        return NULL;
    }
    return r;
}

lp_status lp_requests_new(lp_ctx *ctx, lp_requests **out)
{
    if (!out)
        return lp_fail(ctx, LP_EINVAL, "lp_requests_new: out is NULL");
    lp_requests *rs = calloc(1, sizeof *rs);
    if (!rs)
        return lp_fail(ctx, LP_ENOMEM, "out of memory creating a request list");
    *out = rs;
    return LP_OK;
}

void lp_requests_free(lp_requests *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        request_free(rs->items[i]);
    free(rs->items);
    free(rs);
}

lp_status lp_requests_add(lp_ctx *ctx, lp_requests *rs, const lp_request *r)
{
    lp_status st;
    if (!rs)
        return lp_fail(ctx, LP_EINVAL, "lp_requests_add: list is NULL");
    if ((st = request_check(ctx, r)))
        return st;
    if (rs->n == rs->cap) {
        size_t ncap = rs->cap ? 2 * rs->cap : 8;
        lp_request **ni = realloc(rs->items, ncap * sizeof *ni);
        if (!ni)
            return lp_fail(ctx, LP_ENOMEM, "out of memory adding request '%.100s'", r->id);
        rs->items = ni;
        rs->cap = ncap;
    }
    lp_request *copy = request_copy(r);
    if (!copy)
        return lp_fail(ctx, LP_ENOMEM, "out of memory adding request '%.100s'", r->id);
    rs->items[rs->n++] = copy;
    return LP_OK;
}

void lp_requests_truncate(lp_requests *rs, size_t n)
{
    while (rs && rs->n > n)
        request_free(rs->items[--rs->n]);
}

size_t lp_requests_size(const lp_requests *rs)
{
    return rs ? rs->n : 0;
}

const lp_request *lp_requests_get(const lp_requests *rs, size_t i)
{
    return rs && i < rs->n ? rs->items[i] : NULL;
}

/* ---- demand ------------------------------------------------------------- */

/* Demand per unit of parallelism assumed for a class whose demand was not measured. */
static double class_estimate(const lp_policy *p, lp_class k)
{
    switch (k) {
    case LP_CLASS_NET: return p->estimate_net;
    case LP_CLASS_IO: return p->estimate_io;
    case LP_CLASS_IDLE: return p->estimate_idle;
    default: return 1.0;
    }
}

/* Classes that may keep all their parallelism busy at any moment. */
static int full_parallel(lp_class k)
{
    return k == LP_CLASS_CPU || k == LP_CLASS_MIXED || k == LP_CLASS_UNKNOWN;
}

/*
 * The demand a request's instance counts for: full parallelism (or more, if
 * measured) for cpu/mixed/unknown, measured or estimated demand for others.
 */
static double demand_of(const lp_policy *p, lp_class k, double parallelism, double measured)
{
    if (full_parallel(k))
        return measured > parallelism ? measured : parallelism;
    return measured >= 0 ? measured : class_estimate(p, k) * parallelism;
}

/*
 * What a running workload reserves on its host (docs/model.md): from what it
 * is entitled to (vcpus: declared, or the CPUs its cgroup is limited to) and
 * what it was measured to demand, never from its thread count, which says
 * nothing about how many of those threads run (a 200-thread server may keep
 * a fraction of one CPU busy).
 */
double lp_workload_reserved(const lp_policy *p, const lp_workload *w)
{
    double entitled = w->vcpus > 0 ? w->vcpus : 0;
    int measured = w->demand >= 0;
    if (full_parallel(w->klass)) {
        if (!measured && entitled == 0)
            return 1; /* nothing known: one thread, never zero */
        return measured && w->demand > entitled ? w->demand : entitled;
    }
    return measured ? w->demand : class_estimate(p, w->klass) * (entitled > 1 ? entitled : 1);
}

static double host_group_members(const lp_host *h, const char *group)
{
    double n = 0;
    for (size_t j = 0; j < h->n_workloads; j++)
        if (h->workloads[j].group && strcmp(h->workloads[j].group, group) == 0)
            n++;
    return n;
}

lp_status lp_cluster_get_loads(lp_ctx *ctx, const lp_cluster *c, const char *group,
                               lp_host_load *out, size_t n)
{
    if (!ctx)
        return LP_EINVAL;
    if (!c || (!out && n))
        return lp_fail(ctx, LP_EINVAL, "lp_cluster_get_loads: %s is NULL", c ? "out" : "cluster");
    if (n != lp_cluster_size(c))
        return lp_fail(ctx, LP_EINVAL,
                       "lp_cluster_get_loads: out has %zu entries, the cluster %zu hosts", n,
                       lp_cluster_size(c));
    for (size_t i = 0; i < n; i++) {
        const lp_host *h = lp_cluster_get_host(c, i);
        double reserved = 0, mem_used = 0;
        for (size_t j = 0; j < h->n_workloads; j++) {
            const lp_workload *w = &h->workloads[j];
            reserved += lp_workload_reserved(&ctx->policy, w);
            if (w->memory_mb > 0)
                mem_used += w->memory_mb;
        }
        if (h->memory_used_mb >= 0)
            mem_used = h->memory_used_mb;
        lp_host_load *l = &out[i];
        l->threads = h->threads;
        l->demand = h->load_demand > reserved ? h->load_demand : reserved;
        /* memory_mb 0 means the total is unknown: do not check memory then */
        l->memory_free_mb = h->memory_mb > 0 ? (h->memory_mb > mem_used ? h->memory_mb - mem_used : 0)
                                             : -1;
        l->runtimes = h->runtimes;
        l->group_members = group ? host_group_members(h, group) : 0;
    }
    return LP_OK;
}

/* ---- filter + score -------------------------------------------------------- */

/* A request resolved once per call, so that the per-host loop does only arithmetic. */
typedef struct lp_prep {
    lp_class klass;
    double added;
    double memory;
    double ratio;
    double slack;
    double w_headroom;
    double w_colocate;    /* 0 unless net/io class in a group */
    double spread_unit;   /* weight_spread x added for cpu/mixed class in a group, else 0 */
    lp_runtime rt[8];     /* runtime chosen for each possible set of host runtimes */
} lp_prep;

lp_status lp_request_resolve(lp_ctx *ctx, const lp_request *r, lp_class *klass, double *added)
{
    lp_status st;
    if (!ctx)
        return LP_EINVAL;
    if (!klass || !added)
        return lp_fail(ctx, LP_EINVAL, "lp_request_resolve: output is NULL");
    if ((st = request_check(ctx, r)))
        return st;
    lp_class k = r->klass;
    double measured = r->demand;
    if (k == LP_CLASS_AUTO && !r->metrics) {
        k = LP_CLASS_UNKNOWN;
    } else if (k == LP_CLASS_AUTO) {
        lp_classification cl;
        if ((st = lp_workload_classify(ctx, r->metrics, &cl)))
            return st;
        k = cl.klass;
        if (measured < 0)
            measured = r->metrics->demand;
    }
    double par = r->parallelism > 0 ? r->parallelism : r->vcpus;
    *klass = k;
    *added = demand_of(&ctx->policy, k, par, measured);
    return LP_OK;
}

static lp_status prepare(lp_ctx *ctx, const lp_request *r, lp_prep *p)
{
    lp_status st;
    if ((st = lp_request_resolve(ctx, r, &p->klass, &p->added)))
        return st;
    const lp_policy *pol = &ctx->policy;
    int grouped = r->group != NULL;
    p->memory = r->memory_mb;
    p->ratio = pol->max_parallel_ratio;
    p->slack = pol->cap_slack;
    p->w_headroom = pol->weight_headroom;
    p->w_colocate =
        grouped && (p->klass == LP_CLASS_NET || p->klass == LP_CLASS_IO) ? pol->weight_colocate : 0;
    p->spread_unit = grouped && (p->klass == LP_CLASS_CPU || p->klass == LP_CLASS_MIXED)
                         ? pol->weight_spread * p->added
                         : 0;
    for (unsigned m = 0; m < 8; m++) {
        if (r->runtime != LP_RUNTIME_AUTO)
            p->rt[m] = (m & r->runtime) ? r->runtime : LP_RUNTIME_NONE;
        else
            lp_runtime_choose(ctx, p->klass, m, r->allowed_runtimes, &p->rt[m]);
    }
    return LP_OK;
}

static lp_status check_loads(lp_ctx *ctx, const lp_host_load *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *field = NULL;
        double v = 0;
        if (!isfinite(h[i].threads) || h[i].threads <= 0)
            field = "threads", v = h[i].threads;
        else if (!isfinite(h[i].demand) || h[i].demand < 0)
            field = "demand", v = h[i].demand;
        else if (!isfinite(h[i].memory_free_mb))
            field = "memory_free_mb", v = h[i].memory_free_mb;
        else if (!isfinite(h[i].group_members) || h[i].group_members < 0)
            field = "group_members", v = h[i].group_members;
        if (field)
            return lp_fail(ctx, LP_EINVAL, "host load [%zu]: %s (%g) is not valid", i, field, v);
        if (h[i].runtimes & ~(unsigned)LP_RUNTIME_ALL)
            return lp_fail(ctx, LP_EINVAL, "host load [%zu]: runtimes has unknown bits 0x%x", i,
                           h[i].runtimes & ~(unsigned)LP_RUNTIME_ALL);
    }
    return LP_OK;
}

/* One host's verdict: arithmetic and one division, no allocation, no strings. */
static inline void judge(const lp_prep *p, const lp_host_load *h, lp_verdict *v)
{
    double cap = h->threads * p->ratio;
    double after = h->demand + p->added;
    lp_runtime rt = p->rt[h->runtimes & 7u];
    lp_reason reason = LP_REASON_OK;
    if (after > cap + p->slack + LP_CAP_EPS)
        reason = LP_REASON_PARALLELISM;
    else if (rt == LP_RUNTIME_NONE)
        reason = LP_REASON_RUNTIME;
    else if (h->memory_free_mb >= 0 && h->memory_free_mb < p->memory)
        reason = LP_REASON_MEMORY;
    v->passes = reason == LP_REASON_OK;
    v->reason = reason;
    v->klass = p->klass;
    v->runtime = rt;
    v->added = p->added;
    v->demand_before = h->demand;
    v->demand_after = after;
    v->capacity = cap;
    v->slack = p->slack;
    v->memory_mb = p->memory;
    if (v->passes) {
        double inv = 1.0 / cap;
        /* within the slack but over the cap: no headroom left, not less */
        v->terms[LP_TERM_HEADROOM] = after < cap ? p->w_headroom * (cap - after) * inv : 0;
        v->terms[LP_TERM_COLOCATE] = h->group_members > 0 ? p->w_colocate : 0;
        /* 0.0 - x, not -x: no "-0" in output when there is no penalty */
        v->terms[LP_TERM_SPREAD] = 0.0 - p->spread_unit * h->group_members * inv;
        v->score = v->terms[LP_TERM_HEADROOM] + v->terms[LP_TERM_COLOCATE] +
                   v->terms[LP_TERM_SPREAD];
    } else {
        v->terms[LP_TERM_HEADROOM] = v->terms[LP_TERM_COLOCATE] = v->terms[LP_TERM_SPREAD] = 0;
        v->score = 0;
    }
}

/* The batch loop: every host's verdict into out. */
static void run(const lp_prep *p, const lp_host_load *hosts, size_t n, lp_verdict *out)
{
    for (size_t i = 0; i < n; i++)
        judge(p, &hosts[i], &out[i]);
}

/* Index of the best passing verdict (highest score, lowest index on ties), or -1. */
static long best_of(const lp_verdict *v, size_t n)
{
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if (v[i].passes && (best < 0 || v[i].score > v[best].score))
            best = (long)i;
    return best;
}

/*
 * The same decisions when only the winner matters (lp_plan_new without
 * keep_verdicts): no verdict array to write and read back.
 * Returns best_of()'s index, with its verdict in *best.
 */
static long run_best(const lp_prep *p, const lp_host_load *hosts, size_t n, lp_verdict *best)
{
    long bi = -1;
    for (size_t i = 0; i < n; i++) {
        lp_verdict v;
        judge(p, &hosts[i], &v);
        if (v.passes && (bi < 0 || v.score > best->score)) {
            *best = v;
            bi = (long)i;
        }
    }
    return bi;
}

lp_status lp_request_filter_score(lp_ctx *ctx, const lp_request *r, const lp_host_load *hosts,
                                  size_t n, lp_verdict *out)
{
    lp_status st;
    lp_prep p;
    if (!ctx)
        return LP_EINVAL;
    if (n && (!hosts || !out))
        return lp_fail(ctx, LP_EINVAL, "lp_request_filter_score: %s is NULL",
                       hosts ? "out" : "hosts");
    if ((st = prepare(ctx, r, &p)) || (st = check_loads(ctx, hosts, n)))
        return st;
    run(&p, hosts, n, out);
    return LP_OK;
}

lp_status lp_verdicts_best(lp_ctx *ctx, const lp_verdict *v, size_t n, size_t *index)
{
    if ((!v && n) || !index)
        return lp_fail(ctx, LP_EINVAL, "lp_verdicts_best: %s is NULL", index ? "verdicts" : "index");
    long best = best_of(v, n);
    if (best < 0)
        return lp_fail(ctx, LP_ENOTFOUND, "no host passed among %zu hosts", n);
    *index = (size_t)best;
    return LP_OK;
}

/* ---- multi-instance placement ---------------------------------------------- */

struct lp_plan {
    lp_assignment *a;
    size_t n;
    size_t unplaced;
    lp_verdict *verdicts; /* n x hosts with keep_verdicts, else NULL */
    size_t hosts;         /* size of the cluster it was made on */
};

size_t lp_plan_hosts(const lp_plan *p)
{
    return p ? p->hosts : 0;
}

lp_status lp_plan_check_match(lp_ctx *ctx, const char *fn, const lp_plan *p, const lp_cluster *c,
                              const lp_requests *rs)
{
    size_t n = lp_cluster_size(c);
    if (n != p->hosts)
        return lp_fail(ctx, LP_EINVAL, "%s: the plan was made on %zu hosts, the cluster has %zu",
                       fn, p->hosts, n);
    for (size_t i = 0; i < p->n; i++)
        if (p->a[i].request >= lp_requests_size(rs) ||
            (p->a[i].host >= 0 && (size_t)p->a[i].host >= n))
            return lp_fail(ctx, LP_EINVAL, "%s: plan entry %zu does not match the cluster and "
                                           "requests", fn, i);
    return LP_OK;
}

void lp_host_load_take(lp_host_load *l, const lp_verdict *v, int group_member)
{
    l->demand += v->added;
    if (l->memory_free_mb >= 0)
        l->memory_free_mb = l->memory_free_mb > v->memory_mb ? l->memory_free_mb - v->memory_mb : 0;
    if (group_member)
        l->group_members++;
}

void lp_plan_free(lp_plan *p)
{
    if (!p)
        return;
    free(p->a);
    free(p->verdicts);
    free(p);
}

size_t lp_plan_size(const lp_plan *p)
{
    return p ? p->n : 0;
}

const lp_assignment *lp_plan_get(const lp_plan *p, size_t i)
{
    return p && i < p->n ? &p->a[i] : NULL;
}

size_t lp_plan_unplaced(const lp_plan *p)
{
    return p ? p->unplaced : 0;
}

/* Group members of rs[ri]'s group: those in the cluster plus those placed so far. */
static void count_members(const lp_cluster *c, const lp_requests *rs, size_t ri,
                          const lp_assignment *done, size_t ndone, lp_host_load *loads, size_t n)
{
    const char *group = rs->items[ri]->group;
    for (size_t i = 0; i < n; i++)
        loads[i].group_members = group ? host_group_members(lp_cluster_get_host(c, i), group) : 0;
    if (!group)
        return;
    for (size_t k = 0; k < ndone; k++) {
        const char *g = rs->items[done[k].request]->group;
        if (done[k].host >= 0 && g && strcmp(g, group) == 0)
            loads[done[k].host].group_members++;
    }
}

lp_status lp_place_options_init(lp_place_options *o, unsigned version)
{
    if (!o || version < 1 || version > LP_PLACE_OPTIONS_VERSION)
        return LP_EINVAL;
    *o = (lp_place_options){.version = version};
    return LP_OK;
}

lp_status lp_plan_new(lp_ctx *ctx, const lp_cluster *c, const lp_requests *rs,
                      const lp_place_options *opts, lp_plan **out)
{
    lp_status st;
    lp_place_options defaults;
    if (!ctx)
        return LP_EINVAL;
    if (!c || !rs || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_plan_new: %s is NULL",
                       !c ? "cluster" : !rs ? "requests" : "out");
    if (!opts) {
        lp_place_options_init(&defaults, LP_PLACE_OPTIONS_VERSION);
        opts = &defaults;
    }
    if ((st = lp_version_check(ctx, NULL, "lp_place_options", opts->version, LP_PLACE_OPTIONS_VERSION)))
        return st;
    size_t n = lp_cluster_size(c), total = 0;
    for (size_t ri = 0; ri < rs->n; ri++)
        total += rs->items[ri]->count; /* each count <= LP_MAX_COUNT: cannot overflow in practice */
    int keep = opts->keep_verdicts != 0;
    if (keep && n && total > SIZE_MAX / sizeof(lp_verdict) / n)
        return lp_fail(ctx, LP_ELIMIT,
                       "lp_plan_new: %zu instances x %zu hosts of verdicts is too many", total, n);

    lp_plan *plan = calloc(1, sizeof *plan);
    lp_host_load *loads = malloc((n ? n : 1) * sizeof *loads);
    lp_verdict *verd = keep ? malloc((n && total ? n * total : 1) * sizeof *verd) : NULL;
    if (plan)
        plan->a = calloc(total ? total : 1, sizeof *plan->a);
    if (!plan || !loads || (keep && !verd) || !plan->a) {
        st = lp_fail(ctx, LP_ENOMEM, "out of memory placing %zu instances on %zu hosts", total, n);
        goto fail;
    }
    if ((st = lp_cluster_get_loads(ctx, c, NULL, loads, n)))
        goto fail;

    for (size_t ri = 0; ri < rs->n; ri++) {
        const lp_request *r = rs->items[ri];
        lp_prep p;
        if ((st = prepare(ctx, r, &p)))
            goto fail;
        count_members(c, rs, ri, plan->a, plan->n, loads, n);
        for (unsigned k = 0; k < r->count; k++) {
            lp_assignment *a = &plan->a[plan->n];
            long best;
            if (keep) {
                lp_verdict *v = verd + plan->n * n;
                run(&p, loads, n, v);
                best = best_of(v, n);
                a->hosts = v;
                if (best >= 0)
                    a->verdict = v[best];
            } else {
                best = run_best(&p, loads, n, &a->verdict);
            }
            plan->n++;
            a->request = ri;
            a->instance = k;
            a->host = best;
            if (best < 0) {
                plan->unplaced++;
                continue;
            }
            lp_host_load_take(&loads[best], &a->verdict, r->group != NULL);
        }
    }
    free(loads);
    plan->verdicts = verd;
    plan->hosts = n;
    *out = plan;
    return LP_OK;
fail:
    free(loads);
    free(verd);
    lp_plan_free(plan);
    return st;
}
