/* Internal definitions shared by the library's source files. Not installed. */
#ifndef LP_INTERNAL_H
#define LP_INTERNAL_H

#include "libplacement.h"

#define LP_ERRMSG_LEN 512

/* Numeric policy parameters; the table in ctx.c gives names, defaults, ranges and help. */
typedef struct lp_policy {
    double max_parallel_ratio;   /* cap = threads x ratio */
    double weight_headroom;
    double weight_colocate;
    double weight_spread;
    double estimate_net;         /* demand per parallel thread assumed for net class when not measured */
    double estimate_io;
    double estimate_idle;
    double cpu_busy_fraction;    /* util / parallelism at or above this is CPU-busy */
    double idle_util;            /* CPUs below this (and little I/O) is idle */
    double net_bps_threshold;    /* network bytes/s at or above this is network-heavy */
    double disk_bps_threshold;   /* disk bytes/s at or above this is disk-heavy */
    double iowait_threshold;     /* iowait fraction at or above this is I/O-bound */
    double wait_ratio_threshold; /* wait/run at or above this means starved for CPU */
    /* preference order of runtimes per class, terminated by LP_RUNTIME_NONE */
    lp_runtime order[LP_CLASS_COUNT][4];
} lp_policy;

struct lp_ctx {
    lp_policy policy;
    char errmsg[LP_ERRMSG_LEN];
};

/* The library's own short name for lp_ctx_set_error(): store a
   printf-formatted message in ctx (if not NULL) and return st. */
#define lp_fail lp_ctx_set_error

/*
 * Check the version of a struct the caller filled (type names it, e.g.
 * "lp_request"; where, if not NULL, prefixes the message): 1..current is
 * known.  @return LP_OK, or LP_EINVAL with a message ("lp_request version 7
 * is newer than this library (1)").
 */
lp_status lp_version_check(lp_ctx *ctx, const char *where, const char *type, unsigned version,
                           unsigned current);

/* strdup that returns NULL on NULL input. */
char *lp_strdup(const char *s);

/*
 * Check a workload's numbers (finite; counts >= 0; known runtime and class;
 * confidence in [0, 1]).  where prefixes the message, e.g. "host 'h1':
 * workloads[2]".  @return LP_OK or LP_EINVAL.
 */
lp_status lp_workload_check(lp_ctx *ctx, const lp_workload *w, const char *where);

/*
 * Remove the hosts at positions n and later (the ones added last), freeing
 * their copies and dropping them from the name index; the rest keep their
 * positions.  Used to undo a batch of lp_cluster_add_host() calls that ran out
 * of memory midway.  Cannot fail: it allocates nothing.  No-op if n >= size.
 */
void lp_cluster_truncate(lp_cluster *c, size_t n);

/* Remove the requests at positions n and later (the ones added last): undoes
   a batch of lp_requests_add() calls.  Cannot fail.  No-op if n >= size. */
void lp_requests_truncate(lp_requests *rs, size_t n);

/* 1 if c holds a host called name (no message either way). */
int lp_cluster_has(const lp_cluster *c, const char *name);

/* Size of the cluster a plan was made on (its verdict rows have this many
 * entries); 0 for NULL. */
size_t lp_plan_hosts(const lp_plan *p);

/*
 * What a running workload reserves on its host (docs/model.md): the one rule
 * that host demand (lp_cluster_get_loads) and the rebalancing planner share.
 */
double lp_workload_reserved(const lp_policy *p, const lp_workload *w);

#endif
