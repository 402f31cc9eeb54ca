/* The sampler: counters of two sweeps -> rates, demand, class; plus the
 * counter list helpers and the table of built-in collectors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_internal.h"

#define MAX_WAIT_RATIO 1000.0

void lp_counters_init(lp_counters *c)
{
    memset(c, 0, sizeof *c);
    c->memory_mb = -1;
    c->run_ns = c->wait_ns = c->blkio_delay_ns = c->net_bytes = c->disk_bytes = -1;
    c->timeslices = c->throttled_ns = c->cgroup_usage_ns = c->psi_cpu_some_us = -1;
}

lp_status lp_sample_add(lp_ctx *ctx, lp_sample *s, lp_counters **out)
{
    if (!s || !out)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_sample_add: %s is NULL", s ? "out" : "sample");
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 32;
        lp_counters *ni = realloc(s->items, nc * sizeof *ni);
        if (!ni)
            return lp_ctx_set_error(ctx, LP_ENOMEM, "out of memory for %zu sampled workloads", nc);
        s->items = ni;
        s->cap = nc;
    }
    lp_counters *c = &s->items[s->n++];
    lp_counters_init(c);
    *out = c;
    return LP_OK;
}

void lp_sample_clear(lp_sample *s)
{
    if (!s)
        return;
    free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

lp_status lp_collect_options_init(lp_collect_options *o, unsigned version)
{
    if (!o || version < 1 || version > LP_COLLECT_OPTIONS_VERSION)
        return LP_EINVAL;
    *o = (lp_collect_options){.version = version};
    return LP_OK;
}

lp_status lp_collect_version_check(lp_ctx *ctx, const char *where, const char *type,
                                   unsigned version, unsigned current)
{
    if (version > current)
        return lp_ctx_set_error(ctx, LP_EINVAL, "%s: %s version %u is newer than this library (%u)",
                                where, type, version, current);
    if (version < 1)
        return lp_ctx_set_error(ctx, LP_EINVAL, "%s: %s version 0 is not valid: initialise it "
                                "with %s_init()", where, type, type);
    return LP_OK;
}

lp_status lp_collect_options_check(lp_ctx *ctx, const char *collector, const lp_collect_options *o)
{
    char where[64];
    snprintf(where, sizeof where, "%s collector", collector);
    return o ? lp_collect_version_check(ctx, where, "lp_collect_options", o->version,
                                        LP_COLLECT_OPTIONS_VERSION)
             : LP_OK;
}

static const lp_collector_ops *const builtin[] = {
    &lp_collector_proc,
#ifdef LP_HAVE_LIBVIRT
    &lp_collector_libvirt,
#endif
#ifdef LP_HAVE_DOCKER
    &lp_collector_docker,
#endif
#ifdef LP_HAVE_LIBXL
    &lp_collector_libxl,
#endif
};

const lp_collector_ops *lp_collector_builtin(size_t i)
{
    return i < sizeof builtin / sizeof builtin[0] ? builtin[i] : NULL;
}

lp_status lp_collector_find(lp_ctx *ctx, const char *name, const lp_collector_ops **ops)
{
    if (!name || !ops)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_collector_find: %s is NULL", name ? "ops" : "name");
    char built[64] = "";
    for (size_t i = 0; lp_collector_builtin(i); i++) {
        if (strcmp(builtin[i]->name, name) == 0) {
            *ops = builtin[i];
            return LP_OK;
        }
        size_t used = strlen(built);
        snprintf(built + used, sizeof built - used, "%s%s", i ? ", " : "", builtin[i]->name);
    }
    return lp_ctx_set_error(ctx, LP_ENOTFOUND, "collector '%.60s' is not built in (built in: %s)",
                            name, built);
}

/* What the sampler keeps of a workload between sweeps. */
typedef struct wkeep {
    lp_class klass;
    double since;          /* wall time since which it has had klass */
} wkeep;

struct lp_sampler {
    lp_sample prev, cur;       /* merged workloads, sorted by id */
    wkeep *kprev, *kcur;       /* aligned with prev and cur */
    lp_counters host_prev, host_cur; /* whole_host entries; id "" when none */
    int64_t prev_t, cur_t;     /* 0 = none yet */
    double prev_wall, cur_wall;
    lp_host_counters hprev, hcur;
    lp_workload *w;            /* cur.n entries */
    lp_workload_extra *x;
    size_t nw;
    double load_demand, load_util, load_iowait, load_steal;
    double psi_some[3], psi_full[3];
};

lp_status lp_sampler_new(lp_ctx *ctx, lp_sampler **out)
{
    if (!out)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_sampler_new: out is NULL");
    lp_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return lp_ctx_set_error(ctx, LP_ENOMEM, "lp_sampler_new: out of memory");
    s->load_demand = s->load_util = s->load_iowait = s->load_steal = -1;
    for (int i = 0; i < 3; i++)
        s->psi_some[i] = s->psi_full[i] = -1;
    *out = s;
    return LP_OK;
}

void lp_sampler_free(lp_sampler *s)
{
    if (!s)
        return;
    lp_sample_clear(&s->prev);
    lp_sample_clear(&s->cur);
    free(s->kprev);
    free(s->kcur);
    free(s->w);
    free(s->x);
    free(s);
}

/* By id, then the highest precedence first. */
static int cmp_entry(const void *a, const void *b)
{
    const lp_counters *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (y->precedence > x->precedence) - (y->precedence < x->precedence);
}

/* The first entry of id in a sample sorted by id, or NULL. */
static const lp_counters *find_id(const lp_sample *s, const char *id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->items[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && strcmp(s->items[lo].id, id) == 0 ? &s->items[lo] : NULL;
}

static void copy_if_empty(char *dst, const char *src, size_t len)
{
    if (!dst[0])
        snprintf(dst, len, "%s", src);
}

/* Take what dst did not measure (or name) from src. */
static void merge_into(lp_counters *dst, const lp_counters *src)
{
    int64_t *d[] = {&dst->run_ns, &dst->wait_ns, &dst->blkio_delay_ns, &dst->net_bytes,
                    &dst->disk_bytes, &dst->timeslices, &dst->throttled_ns,
                    &dst->cgroup_usage_ns, &dst->psi_cpu_some_us};
    const int64_t s[] = {src->run_ns, src->wait_ns, src->blkio_delay_ns, src->net_bytes,
                         src->disk_bytes, src->timeslices, src->throttled_ns,
                         src->cgroup_usage_ns, src->psi_cpu_some_us};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (*d[i] < 0)
            *d[i] = s[i];
    if (dst->vcpus <= 0)
        dst->vcpus = src->vcpus;
    if (dst->threads <= 0)
        dst->threads = src->threads;
    if (dst->memory_mb < 0)
        dst->memory_mb = src->memory_mb;
    if (dst->runtime == LP_RUNTIME_NONE)
        dst->runtime = src->runtime;
    if (dst->read_ns <= 0)
        dst->read_ns = src->read_ns;
    copy_if_empty(dst->name, src->name, sizeof dst->name);
    copy_if_empty(dst->image, src->image, sizeof dst->image);
    copy_if_empty(dst->flavor, src->flavor, sizeof dst->flavor);
}

/* Rate per second of a counter between two sweeps; -1 when unknown or reset. */
static double rate(int64_t now, int64_t before, double secs)
{
    if (now < 0 || before < 0 || now < before || secs <= 0)
        return -1;
    return (double)(now - before) / secs;
}

static double frac(double r) { return r < 0 ? -1 : r; }

static void workload_rates(lp_ctx *ctx, const lp_counters *c, const lp_counters *p, double secs,
                           lp_workload *w, lp_workload_extra *x)
{
    lp_workload_init(w, LP_WORKLOAD_VERSION);
    w->id = c->id;
    w->runtime = c->runtime;
    w->vcpus = c->vcpus;
    w->threads = c->threads;
    w->memory_mb = c->memory_mb;
    w->image = c->image[0] ? c->image : NULL;
    w->flavor = c->flavor[0] ? c->flavor : NULL;
    x->name = c->name;
    x->timeslices_ps = x->throttled = x->psi_cpu_some = -1;
    if (!p)
        return;
    double run = rate(c->run_ns, p->run_ns, secs * 1e9);
    double wait = rate(c->wait_ns, p->wait_ns, secs * 1e9);
    double blk = rate(c->blkio_delay_ns, p->blkio_delay_ns, secs * 1e9);
    if (run < 0) /* no per-task times: the cgroup's CPU usage still gives util */
        run = rate(c->cgroup_usage_ns, p->cgroup_usage_ns, secs * 1e9);
    w->util = run;
    if (run >= 0)
        w->demand = wait >= 0 ? run + wait : run;
    if (run >= 0 && wait >= 0)
        w->wait_ratio = run > 0 ? fmin(wait / run, MAX_WAIT_RATIO) : (wait > 0 ? MAX_WAIT_RATIO : 0);
    if (blk >= 0 && run >= 0) {
        double active = run + (wait > 0 ? wait : 0) + blk;
        w->iowait = active > 0 ? blk / active : 0;
    }
    w->net_bps = rate(c->net_bytes, p->net_bytes, secs);
    w->disk_bps = rate(c->disk_bytes, p->disk_bytes, secs);
    x->timeslices_ps = rate(c->timeslices, p->timeslices, secs);
    x->throttled = frac(rate(c->throttled_ns, p->throttled_ns, secs * 1e9));
    x->psi_cpu_some = frac(rate(c->psi_cpu_some_us, p->psi_cpu_some_us, secs * 1e6));
    lp_classification cl;
    if (lp_workload_classify(ctx, w, &cl) == LP_OK) {
        w->klass = cl.klass;
        w->confidence = cl.confidence;
    }
}

/* Host demand: /proc/schedstat's Σ run + wait over CPUs.  Without it (no
 * CONFIG_SCHEDSTATS), Σ run + wait over every task (the whole_host entry),
 * with run at least the CPUs /proc/stat saw busy: the time of tasks that
 * exit between two sweeps is not seen per task (a build's compilers), but
 * /proc/stat has it.  Else the 1-minute load average, which trails by
 * minutes. */
static void host_rates(lp_sampler *s, double secs)
{
    const lp_host_counters *c = &s->hcur, *p = &s->hprev;
    double total = (double)(c->cpu_total_ticks - p->cpu_total_ticks);
    long hz = sysconf(_SC_CLK_TCK);
    if (total > 0 && secs > 0) {
        s->load_util = fmax(0, (double)(c->cpu_busy_ticks - p->cpu_busy_ticks) / (secs * (double)(hz > 0 ? hz : 100)));
        s->load_iowait = fmax(0, (double)(c->cpu_iowait_ticks - p->cpu_iowait_ticks) / total);
        s->load_steal = fmax(0, (double)(c->cpu_steal_ticks - p->cpu_steal_ticks) / total);
    }
    double run = rate(c->run_ns, p->run_ns, secs * 1e9), wait = rate(c->wait_ns, p->wait_ns, secs * 1e9);
    if ((run < 0 || wait < 0) && s->host_cur.id[0] && s->host_prev.id[0]) {
        const lp_counters *hc = &s->host_cur, *hp = &s->host_prev;
        double tsecs = secs;
        if (hc->read_ns > 0 && hp->read_ns > 0 && hc->read_ns > hp->read_ns)
            tsecs = (double)(hc->read_ns - hp->read_ns) / 1e9;
        run = fmax(rate(hc->run_ns, hp->run_ns, tsecs * 1e9), s->load_util);
        wait = rate(hc->wait_ns, hp->wait_ns, tsecs * 1e9);
    }
    s->load_demand = run >= 0 && wait >= 0 ? run + wait : c->loadavg1;
    for (int i = 0; i < 3; i++) {
        s->psi_some[i] = rate(c->psi_some_us[i], p->psi_some_us[i], secs * 1e6);
        s->psi_full[i] = rate(c->psi_full_us[i], p->psi_full_us[i], secs * 1e6);
    }
}

/* Merge sample into m (allocated by the caller with sample->n entries):
 * sorted by id, entries of one id folded into the one of highest
 * precedence, claimed entries into their claimers; the whole_host entry
 * taken out into *host (its id "" when there is none). */
static lp_status merge_sample(lp_ctx *ctx, const lp_sample *sample, lp_sample *m, lp_counters *host)
{
    lp_counters_init(host);
    host->id[0] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < sample->n; i++) {
        if (sample->items[i].whole_host)
            *host = sample->items[i];
        else
            m->items[n++] = sample->items[i];
    }
    qsort(m->items, n, sizeof *m->items, cmp_entry);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && strcmp(m->items[k - 1].id, m->items[i].id) == 0)
            merge_into(&m->items[k - 1], &m->items[i]);
        else
            m->items[k++] = m->items[i];
    }
    m->n = k;
    char *drop = k ? calloc(k, 1) : NULL;
    if (k && !drop)
        return lp_ctx_set_error(ctx, LP_ENOMEM, "lp_sampler_feed: out of memory");
    for (size_t i = 0; i < k; i++) {
        if (!m->items[i].claim[0] || strcmp(m->items[i].claim, m->items[i].id) == 0)
            continue;
        const lp_counters *cl = find_id(m, m->items[i].claim);
        if (cl) {
            merge_into(&m->items[i], cl);
            drop[cl - m->items] = 1;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < k; i++)
        if (!drop[i])
            m->items[kept++] = m->items[i];
    m->n = kept;
    free(drop);
    return LP_OK;
}

lp_status lp_sampler_feed(lp_ctx *ctx, lp_sampler *s, int64_t now_ns, double wall_s, const lp_host_counters *host,
                          const lp_sample *sample)
{
    if (!s || !host || !sample)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_sampler_feed: NULL argument");
    if (s->cur_t && now_ns <= s->cur_t)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_sampler_feed: time %lld ns is not after the last sweep (%lld ns)",
                       (long long)now_ns, (long long)s->cur_t);
    if (!isfinite(wall_s) || wall_s < 0)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_sampler_feed: wall-clock time %g is not a finite number >= 0", wall_s);
    size_t cap = sample->n ? sample->n : 1;
    lp_sample m = {.items = malloc(cap * sizeof *m.items), .cap = cap};
    lp_workload *w = malloc(cap * sizeof *w);
    lp_workload_extra *x = malloc(cap * sizeof *x);
    wkeep *keep = malloc(cap * sizeof *keep);
    lp_counters whole;
    lp_status st = m.items && w && x && keep ? merge_sample(ctx, sample, &m, &whole)
                                             : lp_ctx_set_error(ctx, LP_ENOMEM, "lp_sampler_feed: out of memory for %zu workloads",
                                                       sample->n);
    if (st != LP_OK) {
        lp_sample_clear(&m);
        free(w);
        free(x);
        free(keep);
        return st;
    }
    lp_sample_clear(&s->prev);
    free(s->kprev);
    s->prev = s->cur;
    s->kprev = s->kcur;
    s->cur = m;
    s->kcur = keep;
    s->host_prev = s->host_cur;
    s->host_cur = whole;
    s->prev_t = s->cur_t;
    s->cur_t = now_ns;
    s->prev_wall = s->cur_wall;
    s->cur_wall = wall_s;
    s->hprev = s->hcur;
    s->hcur = *host;
    free(s->w);
    free(s->x);
    s->w = w;
    s->x = x;
    s->nw = m.n;
    double secs = s->prev_t ? (double)(s->cur_t - s->prev_t) / 1e9 : 0;
    for (size_t i = 0; i < m.n; i++) {
        const lp_counters *c = &m.items[i], *p = s->prev_t ? find_id(&s->prev, c->id) : NULL;
        double wsecs = secs;
        if (p && c->read_ns > 0 && p->read_ns > 0 && c->read_ns > p->read_ns)
            wsecs = (double)(c->read_ns - p->read_ns) / 1e9;
        workload_rates(ctx, c, p, wsecs, &w[i], &x[i]);
        /* A class holds since the start of the first window that measured it;
         * a new workload is unknown since it was first seen. */
        const wkeep *k = p ? &s->kprev[p - s->prev.items] : NULL;
        keep[i].klass = w[i].klass;
        keep[i].since = !k ? wall_s : k->klass == w[i].klass ? k->since : s->prev_wall;
        w[i].class_since = keep[i].since;
    }
    if (s->prev_t)
        host_rates(s, secs);
    return LP_OK;
}

int lp_sampler_ready(const lp_sampler *s)
{
    return s && s->prev_t != 0;
}

lp_status lp_sampler_fill_host(lp_ctx *ctx, const lp_sampler *s, lp_host *h)
{
    if (!s || !h)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_sampler_fill_host: NULL argument");
    lp_status vst = lp_collect_version_check(ctx, "lp_sampler_fill_host", "lp_host", h->version,
                                             LP_HOST_VERSION);
    if (vst != LP_OK)
        return vst;
    h->time = s->cur_wall;
    h->load_demand = s->load_demand;
    h->load_util = s->load_util;
    h->load_iowait = s->load_iowait;
    h->load_steal = s->load_steal;
    h->workloads = s->w;
    h->n_workloads = s->nw;
    return LP_OK;
}

const lp_workload_extra *lp_sampler_get_extra(const lp_sampler *s, size_t i)
{
    return s && i < s->nw ? &s->x[i] : NULL;
}

void lp_sampler_get_psi(const lp_sampler *s, double some[3], double full[3])
{
    for (int i = 0; i < 3; i++) {
        some[i] = s ? s->psi_some[i] : -1;
        full[i] = s ? s->psi_full[i] : -1;
    }
}

double lp_sampler_get_tasks(const lp_sampler *s)
{
    return s && s->host_cur.id[0] ? s->host_cur.threads : 0;
}
