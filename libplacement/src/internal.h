/* Internal definitions shared by the library's source files. Not installed. */
#ifndef LP_INTERNAL_H
#define LP_INTERNAL_H

#include "libplacement.h"

#define LP_ERRMSG_LEN 512

/* Numeric policy parameters; the table in ctx.c gives names, defaults, ranges and help. */
typedef struct lp_policy {
    double max_parallel_ratio;   /* cap = threads x ratio */
    double cap_slack;            /* threads over the cap still accepted: measurement noise */
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
 * Check that plan p (not NULL) was made on c and rs as far as its writers
 * can tell: the same number of hosts, and every entry's request and host in
 * range.  fn names the caller in the message.  @return LP_OK or LP_EINVAL.
 */
lp_status lp_plan_check_match(lp_ctx *ctx, const char *fn, const lp_plan *p, const lp_cluster *c,
                              const lp_requests *rs);

/*
 * What placing one instance (its verdict v on host l) takes from the host:
 * v->added demand, v->memory_mb of known free memory (never below 0), and one
 * group member when the request has a group.  lp_plan_new() and the plan
 * writers (which replay a plan to quote the free memory each instance saw)
 * use this one rule.
 */
void lp_host_load_take(lp_host_load *l, const lp_verdict *v, int group_member);

/* Longest one-line summary of an unplaced instance, with its NUL. */
#define LP_SUMMARY_MAX 512

/*
 * One line on why instance `instance` of r found no host, in the manner of
 * kube-scheduler's "0/4 nodes are available: 4 Insufficient cpu":
 *   "0/4 hosts can take spark#16: 3 parallelism, 1 memory"
 *   "0/0 hosts can take spark#16: the cluster has no hosts"
 * hosts: the instance's n verdicts, or NULL when they were not kept (the
 * reasons are then left out).  Reasons are listed most frequent first.
 * buf: LP_SUMMARY_MAX bytes.  @return the most frequent reason, or
 * LP_REASON_OK when no verdicts are known (NULL hosts, or n 0).
 */
lp_reason lp_refusal_summary(const lp_request *r, unsigned instance, const lp_verdict *hosts,
                             size_t n, char buf[LP_SUMMARY_MAX]);

/*
 * What a running workload reserves on its host (docs/model.md): the one rule
 * that host demand (lp_cluster_get_loads) and the rebalancing planner share.
 */
double lp_workload_reserved(const lp_policy *p, const lp_workload *w);

#endif
