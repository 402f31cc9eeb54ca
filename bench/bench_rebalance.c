/*
 * Benchmark of the rebalancing planner: its time at 1,000 and
 * 10,000 hosts with 20 workloads each, as a ratio to one lp_plan_new() call
 * of one instance on the same cluster, measured in the same run.
 *
 * Prints, per cluster size N:
 *   bench rebalance hosts=N workloads=W over=K moves=M optimal=0|1 ms=X
 *         place_ms=P ratio=X/P
 * Every tenth host is over its cap (8 threads, 20 workloads of mixed
 * classes, some in groups); the others have room (make_cluster()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "libplacement.h"

#define PER_HOST 20

static unsigned next_rand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

/*
 * A cluster of n 8-thread hosts with PER_HOST workloads each: 10 net
 * (web servers), 4 cpu, 6 idle.  A host reserves about 4.3 threads; every
 * tenth host runs heavier work (about 11.3: over its cap by 3.3).  Groups
 * span 50 neighbouring hosts (net members co-located, cpu members spread).
 */
static lp_cluster *make_cluster(lp_ctx *ctx, size_t n, char (*ids)[24], char (*names)[24],
                                char (*groups)[24])
{
    lp_cluster *c = NULL;
    unsigned seed = 42;
    if (lp_cluster_new(ctx, &c) != LP_OK)
        bench_die(ctx, "lp_cluster_new");
    lp_workload ws[PER_HOST];
    for (size_t i = 0; i < n; i++) {
        lp_host h;
        lp_host_init(&h, LP_HOST_VERSION);
        snprintf(names[i], 24, "n%05zu", i);
        snprintf(groups[i], 24, "g%zu", i / 50);
        h.name = names[i];
        h.sockets = 1;
        h.cores = 4;
        h.threads = 8;
        h.memory_mb = 65536;
        h.runtimes = LP_RUNTIME_ALL;
        int over = i % 10 == 0;
        for (size_t j = 0; j < PER_HOST; j++) {
            lp_workload *w = &ws[j];
            lp_workload_init(w, LP_WORKLOAD_VERSION);
            snprintf(ids[i * PER_HOST + j], 24, "w%zu.%zu", i, j);
            w->id = ids[i * PER_HOST + j];
            w->memory_mb = 1024;
            w->confidence = 0.9;
            double jitter = 0.02 * (next_rand(&seed) % 5);
            if (j < 10) { /* web servers; half of them in their group */
                w->klass = LP_CLASS_NET;
                w->vcpus = 2;
                w->demand = (over ? 0.5 : 0.2) + jitter;
                w->runtime = LP_RUNTIME_CONTAINER;
                w->group = j < 5 ? groups[i] : NULL;
            } else if (j < 14) { /* parallel workers; one in its group */
                w->klass = LP_CLASS_CPU;
                w->vcpus = over ? 1.5 : 0.5;
                w->demand = w->vcpus * 0.9;
                w->runtime = LP_RUNTIME_VM;
                w->group = j == 10 ? groups[i] : NULL;
            } else {
                w->klass = LP_CLASS_IDLE;
                w->vcpus = 1;
                w->demand = 0.05;
                w->runtime = LP_RUNTIME_CONTAINER;
            }
        }
        h.workloads = ws;
        h.n_workloads = PER_HOST;
        if (lp_cluster_add_host(ctx, c, &h) != LP_OK)
            bench_die(ctx, "lp_cluster_add_host");
    }
    return c;
}

/* Median of k runs of fn, in ms. */
static double median_ms(int k, double (*fn)(void *), void *arg)
{
    double t[16];
    for (int i = 0; i < k; i++)
        t[i] = fn(arg);
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[k / 2];
}

typedef struct args {
    lp_ctx *ctx;
    lp_cluster *c;
    lp_requests *rs;
    size_t moves, over, optimal;
} args;

static double run_rebalance(void *p)
{
    args *a = p;
    lp_rebalance *r = NULL;
    lp_rebalance_options o;
    lp_rebalance_options_init(&o, LP_REBALANCE_OPTIONS_VERSION);
    o.now = 1.7e9;
    double t0 = bench_ms(CLOCK_MONOTONIC);
    if (lp_rebalance_new(a->ctx, a->c, &o, &r) != LP_OK)
        bench_die(a->ctx, "lp_rebalance_new");
    double t = bench_ms(CLOCK_MONOTONIC) - t0;
    a->moves = lp_rebalance_move_count(r);
    a->over = lp_rebalance_hosts_over(r, 0);
    a->optimal = (size_t)lp_rebalance_optimal(r);
    if (lp_rebalance_hosts_over(r, 1))
        bench_die(NULL, "benchmark cluster should end within every cap");
    lp_rebalance_free(r);
    return t;
}

static double run_place(void *p)
{
    args *a = p;
    lp_plan *plan = NULL;
    double t0 = bench_ms(CLOCK_MONOTONIC);
    if (lp_plan_new(a->ctx, a->c, a->rs, NULL, &plan) != LP_OK)
        bench_die(a->ctx, "lp_plan_new");
    double t = bench_ms(CLOCK_MONOTONIC) - t0;
    lp_plan_free(plan);
    return t;
}

int main(void)
{
    static const size_t sizes[] = {1000, 10000};
    lp_ctx *ctx = NULL;
    if (lp_ctx_new(&ctx) != LP_OK)
        bench_die(NULL, "lp_ctx_new");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        char (*ids)[24] = calloc(n * PER_HOST, sizeof *ids);
        char (*names)[24] = calloc(n, sizeof *names);
        char (*groups)[24] = calloc(n, sizeof *groups);
        if (!ids || !names || !groups)
            bench_die(NULL, "out of memory");
        args a = {.ctx = ctx, .c = make_cluster(ctx, n, ids, names, groups)};
        lp_request r;
        lp_request_init(&r, LP_REQUEST_VERSION);
        r.id = "one";
        r.klass = LP_CLASS_CPU;
        r.vcpus = 2;
        if (lp_requests_new(ctx, &a.rs) != LP_OK || lp_requests_add(ctx, a.rs, &r) != LP_OK)
            bench_die(ctx, "requests");
        double reb = median_ms(5, run_rebalance, &a);
        double place = median_ms(5, run_place, &a);
        printf("bench rebalance hosts=%zu workloads=%zu over=%zu moves=%zu optimal=%zu ms=%.2f "
               "place_ms=%.3f ratio=%.1f\n",
               n, n * PER_HOST, a.over, a.moves, a.optimal, reb, place, reb / place);
        lp_requests_free(a.rs);
        lp_cluster_free(a.c);
        free(ids);
        free(names);
        free(groups);
    }
    lp_ctx_free(ctx);
    return 0;
}
