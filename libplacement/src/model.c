/* The shared model: class and runtime names, hosts, workloads, clusters. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const class_names[LP_CLASS_COUNT] = {
    [LP_CLASS_UNKNOWN] = "unknown", [LP_CLASS_CPU] = "cpu",   [LP_CLASS_NET] = "net",
    [LP_CLASS_IO] = "io",           [LP_CLASS_MIXED] = "mixed", [LP_CLASS_IDLE] = "idle",
    [LP_CLASS_AUTO] = "auto",
};

const char *lp_class_name(lp_class c)
{
    return (unsigned)c < LP_CLASS_COUNT ? class_names[c] : "?";
}

lp_status lp_class_parse(lp_ctx *ctx, const char *name, lp_class *out)
{
    if (!name || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_class_parse: %s is NULL", name ? "out" : "name");
    for (int i = 0; i < LP_CLASS_COUNT; i++)
        if (strcmp(name, class_names[i]) == 0) {
            *out = (lp_class)i;
            return LP_OK;
        }
    return lp_fail(ctx, LP_ENOTFOUND,
                   "unknown class '%.100s' (expected cpu, net, io, mixed, idle, unknown, auto)", name);
}

const char *lp_runtime_name(lp_runtime r)
{
    switch (r) {
    case LP_RUNTIME_NONE: return "none";
    case LP_RUNTIME_CONTAINER: return "container";
    case LP_RUNTIME_UNIKERNEL: return "unikernel";
    case LP_RUNTIME_VM: return "vm";
    case LP_RUNTIME_AUTO: return "auto";
    }
    return "?";
}

lp_status lp_runtime_parse(lp_ctx *ctx, const char *name, lp_runtime *out)
{
    static const lp_runtime all[] = {LP_RUNTIME_NONE, LP_RUNTIME_CONTAINER, LP_RUNTIME_UNIKERNEL,
                                     LP_RUNTIME_VM, LP_RUNTIME_AUTO};
    if (!name || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_runtime_parse: %s is NULL", name ? "out" : "name");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, lp_runtime_name(all[i])) == 0) {
            *out = all[i];
            return LP_OK;
        }
    return lp_fail(ctx, LP_ENOTFOUND,
                   "unknown runtime '%.100s' (expected container, unikernel, vm, none, auto)", name);
}

lp_status lp_workload_init(lp_workload *w, unsigned version)
{
    if (!w || version < 1 || version > LP_WORKLOAD_VERSION)
        return LP_EINVAL;
    *w = (lp_workload){
        .version = version,
        .id = "",
        .runtime = LP_RUNTIME_NONE,
        .memory_mb = -1,
        .demand = -1,
        .util = -1,
        .wait_ratio = -1,
        .iowait = -1,
        .net_bps = -1,
        .disk_bps = -1,
        .klass = LP_CLASS_UNKNOWN,
    };
    return LP_OK;
}

lp_status lp_host_init(lp_host *h, unsigned version)
{
    if (!h || version < 1 || version > LP_HOST_VERSION)
        return LP_EINVAL;
    *h = (lp_host){
        .version = version,
        .name = "",
        .sockets = 1,
        .cores = 1,
        .threads = 1,
        .memory_used_mb = -1,
        .load_demand = -1,
        .load_util = -1,
        .load_iowait = -1,
        .load_steal = -1,
    };
    return LP_OK;
}

/* A number that may be unknown (negative) but must not be NaN or infinite. */
static lp_status check_opt(lp_ctx *ctx, const char *where, const char *field, double v)
{
    if (!isfinite(v))
        return lp_fail(ctx, LP_EINVAL, "%s: %s (%g) must be a finite number (negative = unknown)",
                       where, field, v);
    return LP_OK;
}

/* A number that must be finite and >= 0. */
static lp_status check_nonneg(lp_ctx *ctx, const char *where, const char *field, double v)
{
    if (!isfinite(v) || v < 0)
        return lp_fail(ctx, LP_EINVAL, "%s: %s (%g) must be a finite number >= 0", where, field, v);
    return LP_OK;
}

/* A fraction that may be unknown (negative) but otherwise is at most 1. */
static lp_status check_opt_fraction(lp_ctx *ctx, const char *where, const char *field, double v)
{
    if (!isfinite(v) || v > 1)
        return lp_fail(ctx, LP_EINVAL, "%s: %s (%g) must be a fraction <= 1 (negative = unknown)",
                       where, field, v);
    return LP_OK;
}

lp_status lp_workload_check(lp_ctx *ctx, const lp_workload *w, const char *where)
{
    lp_status st;
    if ((st = lp_version_check(ctx, where, "lp_workload", w->version, LP_WORKLOAD_VERSION)))
        return st;
    if (!w->id)
        return lp_fail(ctx, LP_EINVAL, "%s: id is NULL", where);
    if (w->runtime != LP_RUNTIME_NONE && w->runtime != LP_RUNTIME_CONTAINER &&
        w->runtime != LP_RUNTIME_UNIKERNEL && w->runtime != LP_RUNTIME_VM)
        return lp_fail(ctx, LP_EINVAL, "%s: runtime (0x%x) must be one of container, unikernel, vm",
                       where, (unsigned)w->runtime);
    if ((unsigned)w->klass >= LP_CLASS_AUTO)
        return lp_fail(ctx, LP_EINVAL, "%s: class (%d) must be one of cpu, net, io, mixed, idle, unknown",
                       where, (int)w->klass);
    if ((st = check_nonneg(ctx, where, "vcpus", w->vcpus)) ||
        (st = check_nonneg(ctx, where, "threads", w->threads)) ||
        (st = check_opt(ctx, where, "memory_mb", w->memory_mb)) ||
        (st = check_opt(ctx, where, "demand", w->demand)) ||
        (st = check_opt(ctx, where, "util", w->util)) ||
        (st = check_opt(ctx, where, "wait_ratio", w->wait_ratio)) ||
        (st = check_opt_fraction(ctx, where, "iowait", w->iowait)) ||
        (st = check_opt(ctx, where, "net_bps", w->net_bps)) ||
        (st = check_opt(ctx, where, "disk_bps", w->disk_bps)) ||
        (st = check_nonneg(ctx, where, "class_since", w->class_since)))
        return st;
    if (!isfinite(w->confidence) || w->confidence < 0 || w->confidence > 1)
        return lp_fail(ctx, LP_EINVAL, "%s: confidence (%g) must be in [0, 1]", where, w->confidence);
    return LP_OK;
}

lp_status lp_host_validate(lp_ctx *ctx, const lp_host *h)
{
    lp_status st;
    char where[160];
    if (!h)
        return lp_fail(ctx, LP_EINVAL, "host is NULL");
    if ((st = lp_version_check(ctx, NULL, "lp_host", h->version, LP_HOST_VERSION)))
        return st;
    if (!h->name || !h->name[0])
        return lp_fail(ctx, LP_EINVAL, "host: name must be a non-empty string");
    snprintf(where, sizeof where, "host '%.100s'", h->name);
    if ((st = check_nonneg(ctx, where, "time", h->time)))
        return st;
    if (h->sockets < 1)
        return lp_fail(ctx, LP_EINVAL, "%s: sockets (%u) must be >= 1", where, h->sockets);
    if (h->threads < 1)
        return lp_fail(ctx, LP_EINVAL, "%s: threads (%u) must be >= 1", where, h->threads);
    if (h->cores < h->sockets)
        return lp_fail(ctx, LP_EINVAL, "%s: cores (%u) must be >= sockets (%u)", where, h->cores,
                       h->sockets);
    if (h->threads < h->cores)
        return lp_fail(ctx, LP_EINVAL, "%s: threads (%u) must be >= cores (%u)", where, h->threads,
                       h->cores);
    if (h->runtimes & ~(unsigned)LP_RUNTIME_ALL)
        return lp_fail(ctx, LP_EINVAL,
                       "%s: runtimes has unknown bits 0x%x (allowed: container, unikernel, vm)",
                       where, h->runtimes & ~(unsigned)LP_RUNTIME_ALL);
    if ((st = check_nonneg(ctx, where, "memory_mb", h->memory_mb)) ||
        (st = check_opt(ctx, where, "memory_used_mb", h->memory_used_mb)) ||
        (st = check_opt(ctx, where, "load.demand", h->load_demand)) ||
        (st = check_opt(ctx, where, "load.util", h->load_util)) ||
        (st = check_opt_fraction(ctx, where, "load.iowait", h->load_iowait)) ||
        (st = check_opt_fraction(ctx, where, "load.steal", h->load_steal)))
        return st;
    if (h->n_workloads && !h->workloads)
        return lp_fail(ctx, LP_EINVAL, "%s: workloads is NULL but n_workloads is %zu", where,
                       h->n_workloads);
    for (size_t i = 0; i < h->n_workloads; i++) {
        char wwhere[200];
        const lp_workload *w = &h->workloads[i];
        snprintf(wwhere, sizeof wwhere, "%s: workloads[%zu] ('%.40s')", where, i, w->id ? w->id : "");
        if (w->version != h->version)
            return lp_fail(ctx, LP_EINVAL, "%s: lp_workload version %u differs from the host's (%u)",
                           wwhere, w->version, h->version);
        if ((st = lp_workload_check(ctx, w, wwhere)))
            return st;
    }
    return LP_OK;
}

/* ---- cluster ------------------------------------------------------------ */

/* Hosts live in fixed blocks: borrowed pointers stay valid as the cluster
   grows, and a pass over all hosts reads memory in order. */
#define LP_BLOCK_HOSTS 256

struct lp_cluster {
    size_t n;
    lp_host **blocks; /* host i is blocks[i / LP_BLOCK_HOSTS][i % LP_BLOCK_HOSTS] */
    size_t nblocks, blocks_cap;
    size_t *index;    /* open-addressing hash of names: host index + 1, 0 = empty slot */
    size_t index_cap; /* power of two, at least 2 x n */
};

static lp_host *host_at(const lp_cluster *c, size_t i)
{
    return &c->blocks[i / LP_BLOCK_HOSTS][i % LP_BLOCK_HOSTS];
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Free what a host owns (not the host struct, which lives in a block). */
static void host_release(lp_host *h)
{
    lp_workload *ws = (lp_workload *)h->workloads;
    for (size_t i = 0; ws && i < h->n_workloads; i++) {
        free((char *)ws[i].id);
        free((char *)ws[i].group);
        free((char *)ws[i].image);
        free((char *)ws[i].flavor);
    }
    free(ws);
    free((char *)h->name);
    memset(h, 0, sizeof *h);
}

/* Deep-copy src into *h; on failure nothing is held and 0 is returned. */
static int host_copy(lp_host *h, const lp_host *src)
{
    *h = *src;
    h->version = LP_HOST_VERSION;
    h->workloads = NULL;
    h->n_workloads = 0;
    h->name = lp_strdup(src->name);
    if (!h->name)
        goto fail;
    if (src->n_workloads) {
        lp_workload *ws = calloc(src->n_workloads, sizeof *ws);
        if (!ws)
            goto fail;
        h->workloads = ws;
        for (size_t i = 0; i < src->n_workloads; i++) {
            const lp_workload *w = &src->workloads[i];
            ws[i] = *w;
            ws[i].version = LP_WORKLOAD_VERSION;
            ws[i].id = lp_strdup(w->id);
            ws[i].group = lp_strdup(w->group);
            ws[i].image = lp_strdup(w->image);
            ws[i].flavor = lp_strdup(w->flavor);
            h->n_workloads = i + 1; /* so that host_release frees what was copied */
            if (!ws[i].id || (w->group && !ws[i].group) || (w->image && !ws[i].image) ||
                (w->flavor && !ws[i].flavor))
                goto fail;
        }
    }
    return 1;
fail:
    host_release(h);
    return 0;
}

lp_status lp_cluster_new(lp_ctx *ctx, lp_cluster **out)
{
    if (!out)
        return lp_fail(ctx, LP_EINVAL, "lp_cluster_new: out is NULL");
    lp_cluster *c = calloc(1, sizeof *c);
    if (!c)
        return lp_fail(ctx, LP_ENOMEM, "out of memory creating a cluster");
    *out = c;
    return LP_OK;
}

void lp_cluster_free(lp_cluster *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        host_release(host_at(c, i));
    for (size_t b = 0; b < c->nblocks; b++)
        free(c->blocks[b]);
    free(c->blocks);
    free(c->index);
    free(c);
}

size_t lp_cluster_size(const lp_cluster *c)
{
    return c ? c->n : 0;
}

const lp_host *lp_cluster_get_host(const lp_cluster *c, size_t i)
{
    return c && i < c->n ? host_at(c, i) : NULL;
}

/* Position + 1 of the host called name, or 0 when there is none. */
static size_t index_get(const lp_cluster *c, const char *name)
{
    if (!c->index_cap)
        return 0;
    size_t mask = c->index_cap - 1;
    for (size_t s = (size_t)name_hash(name) & mask;; s = (s + 1) & mask) {
        size_t v = c->index[s];
        if (!v || strcmp(host_at(c, v - 1)->name, name) == 0)
            return v;
    }
}

int lp_cluster_has(const lp_cluster *c, const char *name)
{
    return index_get(c, name) != 0;
}

lp_status lp_cluster_find(lp_ctx *ctx, const lp_cluster *c, const char *name, size_t *index)
{
    if (!c || !name || !index)
        return lp_fail(ctx, LP_EINVAL, "lp_cluster_find: %s is NULL",
                       !c ? "cluster" : !name ? "name" : "index");
    size_t v = index_get(c, name);
    if (!v)
        return lp_fail(ctx, LP_ENOTFOUND, "host '%.100s' is not in the cluster", name);
    *index = v - 1;
    return LP_OK;
}

static void index_put(size_t *index, size_t cap, const char *name, size_t i)
{
    size_t mask = cap - 1;
    size_t s = (size_t)name_hash(name) & mask;
    while (index[s])
        s = (s + 1) & mask;
    index[s] = i + 1;
}

void lp_cluster_truncate(lp_cluster *c, size_t n)
{
    if (!c || n >= c->n)
        return;
    for (size_t i = n; i < c->n; i++)
        host_release(host_at(c, i));
    c->n = n;
    /* Rebuild the index in place rather than delete entries one by one:
       removing from a linear-probing table would need to re-seat later
       entries anyway, and this path only runs after a failure. */
    memset(c->index, 0, c->index_cap * sizeof *c->index);
    for (size_t i = 0; i < n; i++)
        index_put(c->index, c->index_cap, host_at(c, i)->name, i);
}

lp_status lp_cluster_add_host(lp_ctx *ctx, lp_cluster *c, const lp_host *h)
{
    lp_status st;
    if (!c)
        return lp_fail(ctx, LP_EINVAL, "lp_cluster_add_host: cluster is NULL");
    if ((st = lp_host_validate(ctx, h)))
        return st;
    if (index_get(c, h->name))
        return lp_fail(ctx, LP_EINVAL, "host '%.100s' is already in the cluster", h->name);

    /* Grow everything first so that nothing can fail once the host is in. */
    if (2 * (c->n + 1) > c->index_cap) {
        size_t ncap = c->index_cap ? 2 * c->index_cap : 32;
        size_t *ni = calloc(ncap, sizeof *ni);
        if (!ni)
            return lp_fail(ctx, LP_ENOMEM, "out of memory adding host '%.100s'", h->name);
        for (size_t i = 0; i < c->n; i++)
            index_put(ni, ncap, host_at(c, i)->name, i);
        free(c->index);
        c->index = ni;
        c->index_cap = ncap;
    }
    if (c->n == c->nblocks * LP_BLOCK_HOSTS) {
        if (c->nblocks == c->blocks_cap) {
            size_t ncap = c->blocks_cap ? 2 * c->blocks_cap : 4;
            lp_host **nb = realloc(c->blocks, ncap * sizeof *nb);
            if (!nb)
                return lp_fail(ctx, LP_ENOMEM, "out of memory adding host '%.100s'", h->name);
            c->blocks = nb;
            c->blocks_cap = ncap;
        }
        if (!(c->blocks[c->nblocks] = calloc(LP_BLOCK_HOSTS, sizeof(lp_host))))
            return lp_fail(ctx, LP_ENOMEM, "out of memory adding host '%.100s'", h->name);
        c->nblocks++;
    }
    lp_host *copy = host_at(c, c->n);
    if (!host_copy(copy, h))
        return lp_fail(ctx, LP_ENOMEM, "out of memory adding host '%.100s'", h->name);
    index_put(c->index, c->index_cap, copy->name, c->n);
    c->n++;
    return LP_OK;
}
