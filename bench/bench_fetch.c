/*
 * Benchmark of the snapshot fetcher over loopback: N agents (one forked
 * epoll server on N ports, tests/unit/fetch_agents.h) fetched in one
 * lp_fetcher_fetch() call with the default options.
 *
 * Prints, per N:
 *   bench fetch hosts=N ms=X cpu_ms=C warm_ms=Y max_parallel=P
 * X: median over runs of a call on a new fetcher (new connections: what a
 * scheduler pays after start or after agents closed their connections), wall
 * time; C: the fetching process's CPU time in that call (the agents run in
 * another process), which says more than X on a loaded machine;
 * Y: median of calls on one fetcher with ttl 0 (every host fetched again;
 * connections are reused for up to 4 x max_parallel hosts, beyond that the
 * fetcher keeps no more idle connections).  Target: 1,000 hosts in <= 500 ms.
 */
#include "fetch_agents.h"
#include "bench_util.h"
#include "libplacement.h"

#define RUNS 5


static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}


/* One fetch of all hosts; fails the benchmark unless every host arrived. */
static double fetch_ms(lp_ctx *ctx, lp_fetcher *f, char **names, size_t n, lp_fetch_result *r)
{
    lp_cluster *c;
    size_t ok = 0;
    if (lp_cluster_new(ctx, &c) != LP_OK)
        bench_die(ctx, "cluster");
    double t0 = fa_now();
    if (lp_fetcher_fetch(ctx, f, (const char *const *)names, n, c, r, &ok) != LP_OK)
        bench_die(ctx, "fetch");
    double ms = (fa_now() - t0) * 1000.0;
    if (ok != n) {
        for (size_t i = 0; i < n; i++)
            if (r[i].status != LP_OK) {
                fprintf(stderr, "bench fetch: %s\n", r[i].message);
                break;
            }
        bench_die(NULL, "some hosts were not fetched");
    }
    lp_cluster_free(c);
    return ms;
}

static void bench(size_t n)
{
    fa_mode *modes = calloc(n, sizeof *modes);
    int *ports = calloc(n, sizeof *ports);
    char **names = calloc(n, sizeof *names);
    lp_fetch_result *r = calloc(n, sizeof *r);
    if (!modes || !ports || !names || !r)
        bench_die(NULL, "out of memory");
    pid_t pid = fa_start(modes, n, ports, NULL); /* all FA_GOOD (0) */
    if (pid < 0)
        bench_die(NULL, "cannot start the agents");
    for (size_t i = 0; i < n; i++) {
        names[i] = malloc(32);
        if (!names[i])
            bench_die(NULL, "out of memory");
        snprintf(names[i], 32, "127.0.0.1:%d", ports[i]);
    }
    lp_ctx *ctx;
    if (lp_ctx_new(&ctx) != LP_OK)
        bench_die(NULL, "out of memory");
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = "http://{host}/v1/snapshot";
    o.ttl_s = 0; /* every call fetches every host */

    double cold[RUNS], warm[RUNS], cpu[RUNS];
    for (int k = 0; k < RUNS; k++) {
        lp_fetcher *f;
        if (lp_fetcher_new(ctx, &o, &f) != LP_OK)
            bench_die(ctx, "fetcher");
        double c0 = bench_ms(CLOCK_PROCESS_CPUTIME_ID);
        cold[k] = fetch_ms(ctx, f, names, n, r);
        cpu[k] = bench_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
        lp_fetcher_free(f);
    }
    lp_fetcher *f;
    if (lp_fetcher_new(ctx, &o, &f) != LP_OK)
        bench_die(ctx, "fetcher");
    fetch_ms(ctx, f, names, n, r); /* opens the connections */
    for (int k = 0; k < RUNS; k++)
        warm[k] = fetch_ms(ctx, f, names, n, r);
    lp_fetcher_free(f);
    qsort(cold, RUNS, sizeof cold[0], cmp_double);
    qsort(warm, RUNS, sizeof warm[0], cmp_double);
    qsort(cpu, RUNS, sizeof cpu[0], cmp_double);
    printf("bench fetch hosts=%zu ms=%.1f cpu_ms=%.1f warm_ms=%.1f max_parallel=%u\n", n,
           cold[RUNS / 2], cpu[RUNS / 2], warm[RUNS / 2], o.max_parallel);
    fflush(stdout);

    lp_ctx_free(ctx);
    fa_stop(pid);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(r);
    free(ports);
    free(modes);
}

int main(void)
{
    fa_raise_nofile();
    bench(200);
    bench(1000);
    return 0;
}
