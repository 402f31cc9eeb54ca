/*
 * Benchmark of the C core: batch filter+score, and multi-instance placement.
 *
 * Prints, per cluster size N:
 *   bench filter_score hosts=N ns_per_host=X floor_ns_per_host=F ratio=X/F
 *   bench place16 hosts=N ns_per_host=X ns_per_host_instance=Y
 * where the floor is a plain pass over the same host array that only sums a
 * field (what reading the input alone costs), measured in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "libplacement.h"


/* Deterministic pseudo-random numbers, so runs are comparable. */
static unsigned next_rand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

/* Call fn(arg) until at least min_ns have passed; return ns per call. */
static double time_loop(double min_ns, void (*fn)(void *), void *arg)
{
    double t0 = bench_ms(CLOCK_MONOTONIC) * 1e6, t;
    long reps = 0;
    do {
        fn(arg);
        reps++;
    } while ((t = bench_ms(CLOCK_MONOTONIC) * 1e6) - t0 < min_ns);
    return (t - t0) / (double)reps;
}

static volatile double sink;

typedef struct filter_args {
    lp_ctx *ctx;
    const lp_request *r;
    const lp_host_load *hosts;
    lp_verdict *out;
    size_t n;
} filter_args;

static void run_filter_score(void *arg)
{
    filter_args *a = arg;
    if (lp_request_filter_score(a->ctx, a->r, a->hosts, a->n, a->out) != LP_OK)
        bench_die(a->ctx, "lp_request_filter_score");
    sink = a->out[a->n / 2].score;
}

/* The floor: a pass that only reads one field of every host. */
static void run_floor(void *arg)
{
    filter_args *a = arg;
    double s = 0;
    for (size_t i = 0; i < a->n; i++)
        s += a->hosts[i].demand;
    sink = s;
}

typedef struct place_args {
    lp_ctx *ctx;
    const lp_cluster *c;
    const lp_requests *rs;
} place_args;

static void run_place(void *arg)
{
    place_args *a = arg;
    lp_plan *p;
    if (lp_plan_new(a->ctx, a->c, a->rs, NULL, &p) != LP_OK)
        bench_die(a->ctx, "lp_plan_new");
    if (lp_plan_unplaced(p) != 0)
        bench_die(NULL, "benchmark cluster should take all 16 instances");
    lp_plan_free(p);
}

static void bench_filter_score(lp_ctx *ctx, size_t n)
{
    lp_host_load *hosts = calloc(n, sizeof *hosts);
    lp_verdict *out = calloc(n, sizeof *out);
    if (!hosts || !out)
        bench_die(NULL, "out of memory");
    unsigned seed = 42;
    for (size_t i = 0; i < n; i++) {
        hosts[i].threads = 8 << (next_rand(&seed) % 3);
        hosts[i].demand = (double)(next_rand(&seed) % 1000) / 1000.0 * hosts[i].threads;
        hosts[i].memory_free_mb = (double)(next_rand(&seed) % 65536);
        hosts[i].runtimes = LP_RUNTIME_ALL;
        hosts[i].group_members = next_rand(&seed) % 4 == 0 ? 1 : 0;
    }
    lp_request r;
    lp_request_init(&r, LP_REQUEST_VERSION);
    r.id = "bench";
    r.vcpus = 2;
    r.parallelism = 2;
    r.memory_mb = 2048;
    r.klass = LP_CLASS_CPU;
    r.group = "g";

    filter_args args = {ctx, &r, hosts, out, n};
    double per_call = time_loop(3e8, run_filter_score, &args);
    double floor_call = time_loop(3e8, run_floor, &args);
    size_t passing = 0;
    for (size_t i = 0; i < n; i++)
        passing += out[i].passes != 0;
    printf("bench filter_score hosts=%zu ns_per_host=%.1f floor_ns_per_host=%.2f ratio=%.1f "
           "passing=%zu\n",
           n, per_call / (double)n, floor_call / (double)n, per_call / floor_call, passing);
    free(hosts);
    free(out);
}

static void bench_place16(lp_ctx *ctx, size_t n)
{
    lp_cluster *c;
    lp_requests *rs;
    if (lp_cluster_new(ctx, &c) != LP_OK || lp_requests_new(ctx, &rs) != LP_OK)
        bench_die(ctx, "new");
    unsigned seed = 7;
    lp_host h;
    char name[32];
    for (size_t i = 0; i < n; i++) {
        lp_host_init(&h, LP_HOST_VERSION);
        snprintf(name, sizeof name, "host-%06zu", i);
        h.name = name;
        h.sockets = 1;
        h.cores = 4;
        h.threads = 8;
        h.memory_mb = 16384;
        h.runtimes = LP_RUNTIME_ALL;
        h.load_demand = (double)(next_rand(&seed) % 800) / 100.0;
        if (lp_cluster_add_host(ctx, c, &h) != LP_OK)
            bench_die(ctx, "lp_cluster_add_host");
    }
    lp_request r;
    lp_request_init(&r, LP_REQUEST_VERSION);
    r.id = "spark";
    r.count = 16;
    r.vcpus = 2;
    r.parallelism = 2;
    r.memory_mb = 2048;
    r.klass = LP_CLASS_CPU;
    r.group = "spark";
    if (lp_requests_add(ctx, rs, &r) != LP_OK)
        bench_die(ctx, "lp_requests_add");
    place_args args = {ctx, c, rs};
    double per_call = time_loop(3e8, run_place, &args);
    printf("bench place16 hosts=%zu ns_per_host=%.1f ns_per_host_instance=%.1f\n", n,
           per_call / (double)n, per_call / (double)n / 16.0);
    lp_requests_free(rs);
    lp_cluster_free(c);
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {1000, 10000, 100000};
    lp_ctx *ctx;
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: bench_place\nBenchmarks lp_request_filter_score and lp_plan_new at "
               "1k/10k/100k hosts.\n");
        return 0;
    }
    if (lp_ctx_new(&ctx) != LP_OK)
        bench_die(NULL, "lp_ctx_new");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        bench_filter_score(ctx, sizes[i]);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        bench_place16(ctx, sizes[i]);
    lp_ctx_free(ctx);
    return 0;
}
