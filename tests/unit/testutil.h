/*
 * Small helpers shared by the cmocka unit tests: contexts, hosts, clusters
 * and requests built from a few numbers.  Header-only (static inline)
 * because the Makefile builds each test from one .c file.
 */
#ifndef LP_TESTUTIL_H
#define LP_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libplacement.h"

/* Assert that status st is LP_OK, printing ctx's last error if it is not. */
#define TU_OK(ctx, expr)                                                                      \
    do {                                                                                      \
        lp_status tu_st_ = (expr);                                                            \
        if (tu_st_ != LP_OK)                                                                  \
            fail_msg("%s -> %s: %s", #expr, lp_status_str(tu_st_), lp_ctx_last_error(ctx));   \
    } while (0)

/* Assert that expr fails with status want and that the message contains text. */
#define TU_FAILS(ctx, expr, want, text)                                                       \
    do {                                                                                      \
        lp_ctx_clear_error(ctx);                                                              \
        lp_status tu_st_ = (expr);                                                            \
        assert_int_equal(tu_st_, (want));                                                     \
        if (!strstr(lp_ctx_last_error(ctx), (text)))                                          \
            fail_msg("%s: message '%s' lacks '%s'", #expr, lp_ctx_last_error(ctx), (text));   \
    } while (0)

/* Assert |a - b| <= eps for doubles (cmocka 1.1 compares only floats). */
#define TU_NEAR(a, b, eps)                                                                    \
    do {                                                                                      \
        double tu_a_ = (a), tu_b_ = (b);                                                      \
        if (!(fabs(tu_a_ - tu_b_) <= (eps)))                                                  \
            fail_msg("%s = %.17g, expected %s = %.17g", #a, tu_a_, #b, tu_b_);               \
    } while (0)

/* cmocka setup/teardown that keep an lp_ctx in *state. */
static inline int tu_ctx_setup(void **state)
{
    lp_ctx *ctx = NULL;
    if (lp_ctx_new(&ctx) != LP_OK)
        return -1;
    *state = ctx;
    return 0;
}

static inline int tu_ctx_teardown(void **state)
{
    lp_ctx_free(*state);
    return 0;
}

/* A test that gets a fresh lp_ctx (default policy) in *state. */
#define TU_TEST(f) cmocka_unit_test_setup_teardown(f, tu_ctx_setup, tu_ctx_teardown)

/* A research-testbed host: 1 socket, 4 cores / 8 threads, 16384 MB, all runtimes, empty. */
static inline lp_host tu_host(const char *name)
{
    lp_host h;
    lp_host_init(&h, LP_HOST_VERSION);
    h.name = name;
    h.cores = 4;
    h.threads = 8;
    h.memory_mb = 16384;
    h.runtimes = LP_RUNTIME_ALL;
    return h;
}

/* A cluster of n testbed hosts named h0, h1, ... (n <= 100). */
static inline lp_cluster *tu_testbed(lp_ctx *ctx, size_t n)
{
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    for (size_t i = 0; i < n; i++) {
        char name[8];
        snprintf(name, sizeof name, "h%zu", i);
        lp_host h = tu_host(name);
        TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    }
    return c;
}

/* A request of an explicit class. */
static inline lp_request tu_request(const char *id, lp_class klass, unsigned count, double vcpus,
                                    double memory_mb)
{
    lp_request r;
    lp_request_init(&r, LP_REQUEST_VERSION);
    r.id = id;
    r.klass = klass;
    r.count = count;
    r.vcpus = vcpus;
    r.memory_mb = memory_mb;
    return r;
}

/* Index of the host called name in c, or -1 when there is none. */
static inline long tu_find(const lp_cluster *c, const char *name)
{
    size_t i;
    return lp_cluster_find(NULL, c, name, &i) == LP_OK ? (long)i : -1;
}

/* lp_plan_new() options that keep every host's verdict (NULL gives the defaults). */
#define TU_KEEP_VERDICTS                                                                      \
    (&(const lp_place_options){.version = LP_PLACE_OPTIONS_VERSION, .keep_verdicts = 1})

/* A host load with the given threads and demand, all runtimes, memory unchecked. */
static inline lp_host_load tu_load(double threads, double demand)
{
    lp_host_load l = {.threads = threads,
                      .demand = demand,
                      .memory_free_mb = -1,
                      .runtimes = LP_RUNTIME_ALL,
                      .group_members = 0};
    return l;
}

#endif
