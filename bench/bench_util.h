/* Helpers shared by the C benchmarks. */
#ifndef LP_BENCH_UTIL_H
#define LP_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "libplacement.h"

/* Milliseconds on the given clock (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID). */
static inline double bench_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A benchmark cannot go on: say what failed (with ctx's message) and exit 1. */
static inline void bench_die(lp_ctx *ctx, const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, ctx ? lp_ctx_last_error(ctx) : "failed");
    exit(1);
}

#endif
