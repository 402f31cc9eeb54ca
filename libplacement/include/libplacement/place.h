/*
 * libplacement — filtering, scoring and multi-instance placement.
 *
 * A host passes a request when, after placing one instance,
 *   demand + added <= threads x max_parallel_ratio,
 * it offers a runtime the request may use, and the memory fits.
 * added = parallelism for cpu/mixed/unknown classes; the measured (or
 * estimated) demand for net/io/idle classes.
 * Score (higher is better) = weight_headroom x (capacity - demand_after) / capacity
 *   + weight_colocate x [net/io class, group member already on host]
 *   - weight_spread x (group parallelism on host) / capacity   [cpu/mixed class]
 * (docs/policy.md gives every term).
 */
#ifndef LIBPLACEMENT_PLACE_H
#define LIBPLACEMENT_PLACE_H

#include "classify.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_REQUEST_VERSION 1

/**
 * What a workload asks for (one entry of a request file).  Versioned (see
 * common.h): fill it with lp_request_init() first.
 */
typedef struct lp_request {
    unsigned version;      /**< LP_REQUEST_VERSION: set by lp_request_init() */
    const char *id;        /**< name used in output; never NULL */
    unsigned count;        /**< instances (>= 1) */
    double vcpus;          /**< vCPUs per instance (> 0) */
    double memory_mb;      /**< memory per instance (>= 0) */
    lp_class klass;        /**< class, or LP_CLASS_AUTO (classify from metrics) */
    double parallelism;    /**< threads it keeps busy; 0 = vcpus */
    double demand;         /**< measured demand per instance, -1 = estimate */
    lp_runtime runtime;    /**< one runtime bit, or LP_RUNTIME_AUTO */
    unsigned allowed_runtimes; /**< runtimes the image supports (LP_RUNTIME_ALL) */
    const char *group;     /**< placement group or NULL */
    const char *image;     /**< image it starts from (Glance UUID, container image), NULL unknown */
    const char *flavor;    /**< Nova flavor name, NULL unknown */
    const lp_workload *metrics; /**< measured behaviour for LP_CLASS_AUTO, or NULL when
                                     nothing was measured (a pointer, so that lp_request
                                     and lp_workload can each grow by appending) */
} lp_request;

/**
 * Fill r with defaults for the given version (LP_REQUEST_VERSION): id "",
 * count 1, 1 vcpu, class auto, unknown demand, runtime auto, all runtimes,
 * no group, image, flavor or metrics.
 * @return LP_OK; LP_EINVAL for a NULL r or an unknown version (r untouched).
 */
LP_EXPORT lp_status lp_request_init(lp_request *r, unsigned version);

/** A list of requests, in the order they were added; only appended to. */
typedef struct lp_requests lp_requests;
/**
 * Create an empty request list.
 * @param out receives it; the caller frees it with lp_requests_free().
 * @return LP_OK, LP_EINVAL (NULL out), LP_ENOMEM.
 */
LP_EXPORT lp_status lp_requests_new(lp_ctx *ctx, lp_requests **out);
/** Free a request list and the copies it holds. NULL is allowed. */
LP_EXPORT void lp_requests_free(lp_requests *rs);
/**
 * Append a deep copy of r (its strings and metrics are copied).
 * @return LP_OK; LP_EINVAL if rs or r is NULL or r is invalid (message names
 *         the request and the field); LP_ENOMEM.  rs is unchanged on failure.
 *         Ids need not be unique here (the request-file parser checks that).
 */
LP_EXPORT lp_status lp_requests_add(lp_ctx *ctx, lp_requests *rs, const lp_request *r);
/** Number of requests (0 for NULL). */
LP_EXPORT size_t lp_requests_size(const lp_requests *rs);
/** The i-th request, borrowed: valid while rs lives; NULL if i is out of range. */
LP_EXPORT const lp_request *lp_requests_get(const lp_requests *rs, size_t i);

/**
 * The per-host numbers the filter and score need for one request: a flat
 * struct so that callers (e.g. a scheduler plugin) can fill arrays directly
 * (a fixed-layout struct, see common.h).
 */
typedef struct lp_host_load {
    double threads;         /**< hardware threads (> 0) */
    double demand;          /**< current demand (>= 0) */
    double memory_free_mb;  /**< memory still free; negative = unknown (not checked) */
    unsigned runtimes;      /**< LP_RUNTIME_* bits offered */
    double group_members;   /**< instances of the request's group already here */
} lp_host_load;

/**
 * Derive host loads from a cluster for a request's group (may be NULL):
 * demand = max(measured load demand, sum of what its workloads reserve), where
 * a cpu/mixed/unknown-class workload reserves max(measured demand, vcpus) (1
 * when neither is known) and the others their measured demand, else
 * estimate_<class> x max(vcpus, 1); thread counts never count (docs/model.md).
 * memory_free_mb = memory_mb - used (never below 0), or -1 when memory_mb is 0
 * (unknown total); group_members counts workloads whose group equals group.
 * Needs ctx.
 * @param out caller's array of n entries, all written; n must equal
 *        lp_cluster_size(c).
 * @return LP_OK, LP_EINVAL (NULL c or out, n differs from the cluster size).
 */
LP_EXPORT lp_status lp_cluster_get_loads(lp_ctx *ctx, const lp_cluster *c, const char *group,
                                         lp_host_load *out, size_t n);

/** Why a host was refused. */
typedef enum lp_reason {
    LP_REASON_OK = 0,
    LP_REASON_PARALLELISM,  /**< demand after placement would exceed the cap */
    LP_REASON_RUNTIME,      /**< no runtime that the request may use is offered */
    LP_REASON_MEMORY        /**< not enough free memory */
} lp_reason;
/** "ok", "parallelism", "runtime", "memory"; "?" out of range. Static. */
LP_EXPORT const char *lp_reason_name(lp_reason r);

/** Score terms, in lp_verdict.terms. */
enum { LP_TERM_HEADROOM = 0, LP_TERM_COLOCATE, LP_TERM_SPREAD, LP_TERM_COUNT };
/** "headroom", "colocate", "spread" for LP_TERM_*; "?" out of range. Static. */
LP_EXPORT const char *lp_term_name(int term);

/** The decision for one host (a fixed-layout struct, see common.h). */
typedef struct lp_verdict {
    int passes;             /**< 1 if the host can take the instance */
    lp_reason reason;       /**< LP_REASON_OK when it passes; else the first failing check */
    lp_class klass;         /**< the class used (AUTO resolved) */
    lp_runtime runtime;     /**< runtime it would run in (NONE if refused for runtime) */
    double added;           /**< demand this instance adds */
    double demand_before;
    double demand_after;
    double capacity;        /**< threads x max_parallel_ratio */
    double score;           /**< sum of terms; 0 for refused hosts */
    double terms[LP_TERM_COUNT];
    double memory_mb;       /**< memory this instance needs (for explanations) */
    double slack;           /**< cap_slack: demand_after may exceed capacity by this */
} lp_verdict;

/**
 * Resolve a request's class (LP_CLASS_AUTO -> lp_workload_classify() on its
 * metrics; LP_CLASS_UNKNOWN when nothing is known) and the demand one
 * instance adds.  Needs ctx.
 * @param klass receives the class (never LP_CLASS_AUTO); @param added the demand.
 * @return LP_OK, LP_EINVAL (NULL argument, invalid request: the message names
 *         the field).
 */
LP_EXPORT lp_status lp_request_resolve(lp_ctx *ctx, const lp_request *r, lp_class *klass,
                                       double *added);

/**
 * Filter and score n hosts for one instance of r in one call.  Needs ctx.
 * @param hosts n host loads; @param out caller's array of n verdicts (written
 *        for every host).  n may be 0.
 * @return LP_OK; LP_EINVAL (NULL arrays with n > 0, invalid request or host
 *         numbers: the message names the host index and field); out is
 *         untouched on failure.
 */
LP_EXPORT lp_status lp_request_filter_score(lp_ctx *ctx, const lp_request *r,
                                            const lp_host_load *hosts, size_t n,
                                            lp_verdict *out);

/**
 * The best passing verdict: highest score, lowest index on ties.
 * @param index receives its position in v.
 * @return LP_OK; LP_ENOTFOUND when no verdict passes (also for n 0);
 *         LP_EINVAL (NULL v with n > 0, NULL index).  ctx may be NULL.
 */
LP_EXPORT lp_status lp_verdicts_best(lp_ctx *ctx, const lp_verdict *v, size_t n, size_t *index);

/** One placed (or refused) instance (a fixed-layout struct, see common.h). */
typedef struct lp_assignment {
    size_t request;       /**< index in the request list */
    unsigned instance;    /**< 0 .. count-1 */
    long host;            /**< index in the cluster, or -1 if no host passed */
    lp_verdict verdict;   /**< the chosen host's verdict (if placed) */
    const lp_verdict *hosts; /**< every host's verdict, lp_cluster_size() entries in cluster
                                  order (keep_verdicts), or NULL; owned by the plan */
} lp_assignment;

#define LP_PLACE_OPTIONS_VERSION 1

/** Options of lp_plan_new() (versioned, see common.h). */
typedef struct lp_place_options {
    unsigned version;   /**< LP_PLACE_OPTIONS_VERSION (set by lp_place_options_init()) */
    int keep_verdicts;  /**< 1: keep every host's verdict per instance, for explanations
                             (lp_assignment.hosts); 0 (default): only the chosen host's */
} lp_place_options;

/**
 * Fill o with the defaults for the given version (LP_PLACE_OPTIONS_VERSION).
 * @return LP_OK; LP_EINVAL for a NULL o or a version this library does not
 *         know (o untouched).
 */
LP_EXPORT lp_status lp_place_options_init(lp_place_options *o, unsigned version);

/** The result of lp_plan_new(). Never modified: can be read from many threads. */
typedef struct lp_plan lp_plan;

/**
 * Place every instance of every request in order; each instance sees the
 * demand, memory and group members that the earlier ones added.  The cluster
 * is not modified.  Needs ctx.
 * The plan refers to hosts and requests by index: keep c and rs to read it.
 * @param opts options, or NULL for the defaults.
 * @param out receives the plan (lp_plan_free()).
 * @return LP_OK (also when some instances were not placed, or the cluster is
 *         empty: see lp_plan_unplaced()); LP_EINVAL (NULL argument, options
 *         of an unknown version, invalid request); LP_ELIMIT (keep_verdicts
 *         with more instances x hosts verdicts than memory can address);
 *         LP_ENOMEM.
 */
LP_EXPORT lp_status lp_plan_new(lp_ctx *ctx, const lp_cluster *c, const lp_requests *rs,
                                const lp_place_options *opts, lp_plan **out);
/** Free a plan and the verdicts it holds. NULL is allowed. */
LP_EXPORT void lp_plan_free(lp_plan *p);
/** Number of assignments (sum of counts; 0 for NULL). */
LP_EXPORT size_t lp_plan_size(const lp_plan *p);
/** The i-th assignment, in placement order; borrowed: valid while p lives; NULL out of range. */
LP_EXPORT const lp_assignment *lp_plan_get(const lp_plan *p, size_t i);
/** Number of instances that found no host (0 for NULL). */
LP_EXPORT size_t lp_plan_unplaced(const lp_plan *p);

#ifdef __cplusplus
}
#endif
#endif
