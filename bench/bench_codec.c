/*
 * Benchmark of the JSON codec: parsing and writing cluster files.
 *
 * Prints, per cluster size N and workloads per host W:
 *   bench codec_parse hosts=N workloads=W bytes=B ms=X us_per_host=Y floor_ms=F ratio=X/F
 *   bench codec_write hosts=N workloads=W bytes=B ms=X us_per_host=Y
 * where the floor is json-c alone tokenizing the same text into a tree and
 * freeing it (what any json-c reader pays), measured in the same run; the
 * rest of X is checking every field and copying the hosts into the cluster.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "libplacement.h"


/* A cluster of n hosts (16 cores / 32 threads) with w measured workloads each. */
static lp_cluster *make_cluster(lp_ctx *ctx, size_t n, size_t w)
{
    lp_cluster *c = NULL;
    lp_workload ws[8];
    char ids[8][40];
    if (lp_cluster_new(ctx, &c) != LP_OK)
        bench_die(ctx, "cluster");
    for (size_t j = 0; j < w; j++) {
        lp_workload_init(&ws[j], LP_WORKLOAD_VERSION);
        snprintf(ids[j], sizeof ids[j], "4f0c2a3e-9d5b-4c1e-8a59-%012zu", j);
        ws[j].id = ids[j];
        ws[j].runtime = LP_RUNTIME_VM;
        ws[j].vcpus = 2;
        ws[j].threads = 2;
        ws[j].memory_mb = 2048;
        ws[j].demand = 1.5 + 0.125 * (double)j;
        ws[j].util = 1.4;
        ws[j].wait_ratio = 0.05;
        ws[j].klass = LP_CLASS_CPU;
        ws[j].confidence = 0.8;
    }
    for (size_t i = 0; i < n; i++) {
        char name[48];
        lp_host h;
        lp_host_init(&h, LP_HOST_VERSION);
        snprintf(name, sizeof name, "compute-%06zu.example.org", i);
        h.name = name;
        h.time = 1795680000;
        h.cores = 16;
        h.threads = 32;
        h.memory_mb = 131072;
        h.runtimes = LP_RUNTIME_ALL;
        h.load_demand = (double)(i % 29);
        h.load_util = (double)(i % 23);
        h.workloads = ws;
        h.n_workloads = w;
        if (lp_cluster_add_host(ctx, c, &h) != LP_OK)
            bench_die(ctx, "add host");
    }
    return c;
}

static void run(lp_ctx *ctx, size_t n, size_t w)
{
    lp_cluster *c = make_cluster(ctx, n, w);
    char *text = NULL;
    size_t len = 0;
    double t0 = bench_ms(CLOCK_MONOTONIC);
    if (lp_cluster_write_json(ctx, c, 0, &text, &len) != LP_OK)
        bench_die(ctx, "write");
    double write_ms = bench_ms(CLOCK_MONOTONIC) - t0;

    /* best of 3 runs each, to damp the noise of a shared machine */
    double parse_ms = 1e300, floor_ms = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        lp_cluster *back = NULL;
        if (lp_cluster_new(ctx, &back) != LP_OK)
            bench_die(ctx, "cluster");
        t0 = bench_ms(CLOCK_MONOTONIC);
        if (lp_cluster_parse(ctx, back, text, len, "bench", 0) != LP_OK)
            bench_die(ctx, "parse");
        double t = bench_ms(CLOCK_MONOTONIC) - t0;
        parse_ms = t < parse_ms ? t : parse_ms;
        if (lp_cluster_size(back) != n)
            bench_die(NULL, "parse lost hosts");
        lp_cluster_free(back);

        t0 = bench_ms(CLOCK_MONOTONIC);
        json_tokener *tok = json_tokener_new_ex(LP_JSON_MAX_DEPTH);
        json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
        if (!o)
            bench_die(NULL, "json-c parse");
        json_object_put(o);
        json_tokener_free(tok);
        t = bench_ms(CLOCK_MONOTONIC) - t0;
        floor_ms = t < floor_ms ? t : floor_ms;
    }
    printf("bench codec_parse hosts=%zu workloads=%zu bytes=%zu ms=%.1f us_per_host=%.2f "
           "floor_ms=%.1f ratio=%.2f\n",
           n, w, len, parse_ms, parse_ms * 1e3 / (double)n, floor_ms, parse_ms / floor_ms);
    printf("bench codec_write hosts=%zu workloads=%zu bytes=%zu ms=%.1f us_per_host=%.2f\n", n, w,
           len, write_ms, write_ms * 1e3 / (double)n);
    lp_free(text);
    lp_cluster_free(c);
}

int main(void)
{
    lp_ctx *ctx = NULL;
    if (lp_ctx_new(&ctx) != LP_OK)
        bench_die(NULL, "context");
    static const size_t sizes[] = {1000, 10000};
    static const size_t workloads[] = {0, 4};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t j = 0; j < sizeof workloads / sizeof workloads[0]; j++)
            run(ctx, sizes[i], workloads[j]);
    lp_ctx_free(ctx);
    return 0;
}
