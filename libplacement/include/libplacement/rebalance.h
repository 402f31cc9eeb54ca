/*
 * libplacement — rebalancing: the fewest live migrations that bring every
 * host within its cap, and runtime-switch recommendations (docs/rebalance.md).
 *
 * Input is a cluster as measured (agents' snapshots, or declared demand);
 * the planner never changes it.  The rules:
 *  - A host is acted on when its demand exceeds its cap by more than
 *    overload_margin x cap (hysteresis: noise around the cap moves nothing).
 *    Only workloads on such hosts move, each at most once, straight to its
 *    final host; hosts over their cap never receive.
 *  - A move never puts its destination over its cap, and needs the runtime
 *    the workload runs in, and its memory, on the destination.
 *  - The members of a net or io class group that sit on one host move
 *    together (one decision, one move per member) or not at all.  A cpu or
 *    mixed class group stays spread: its members only move to hosts that
 *    then hold fewer of them than the most crowded host held before the plan
 *    (and a host without any member may always take one).
 *  - A workload moved or switched within cooldown_s (history), or pinned by
 *    the caller (locked, excluded), is not touched.
 *  - Objective, in this order: the least total excess over the caps of the
 *    hosts acted on, then the fewest moves.  The greedy plan is proven
 *    optimal when it meets a lower bound; otherwise, when the hosts acted on
 *    hold at most 48 units (a workload, or a net/io group's members on one
 *    host), an exact branch-and-bound search runs within search_budget nodes
 *    and replaces it when it finds a better plan.  lp_rebalance_optimal()
 *    says whether the result is proven.
 *  - Runtime switches are recommended for workloads whose class has been
 *    measured with at least switch_confidence for at least switch_min_age_s
 *    and whose class's preferred runtime, among those the host offers,
 *    differs from the one they run in.
 * Everything is deterministic: the same input gives the same plan.
 */
#ifndef LIBPLACEMENT_REBALANCE_H
#define LIBPLACEMENT_REBALANCE_H

#include "place.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_REBALANCE_OPTIONS_VERSION 1

/** A past action on a workload (for cool-downs), read with the options' version. */
typedef struct lp_history_entry {
    const char *workload; /**< workload id */
    double time;          /**< unix seconds of the move or switch */
} lp_history_entry;

/** Options of lp_rebalance_new(); initialise with lp_rebalance_options_init(). */
typedef struct lp_rebalance_options {
    unsigned version;           /**< LP_REBALANCE_OPTIONS_VERSION */
    double now;                 /**< unix seconds "now", for cool-downs and class ages (0 = none
                                     given: cool-downs and switch ages cannot be judged, so no
                                     workload with history moves and no switch is recommended) */
    double overload_margin;     /**< act on hosts over cap x (1 + this); [0, 1] (0.05) */
    unsigned max_moves;         /**< stop after this many moves; 0 = no limit (0) */
    double cooldown_s;          /**< seconds a moved/switched workload is left alone, >= 0 (3600) */
    double switch_confidence;   /**< class confidence needed for a switch, [0, 1] (0.8) */
    double switch_min_age_s;    /**< seconds the class must have held, >= 0 (1800) */
    unsigned long search_budget; /**< nodes of exact search; 0 = greedy only (200000) */
    const lp_history_entry *history; /**< n_history past actions, or NULL */
    size_t n_history;
    const char *const *pinned;  /**< n_pinned workload ids that must not move (locked,
                                     excluded by the operator), or NULL */
    size_t n_pinned;
} lp_rebalance_options;

/**
 * Fill o with the defaults shown above.
 * @return LP_OK; LP_EINVAL for NULL or a version this library does not know.
 */
LP_EXPORT lp_status lp_rebalance_options_init(lp_rebalance_options *o, unsigned version);

/** One live migration of the plan (owned by the plan). */
typedef struct lp_move {
    const char *workload;   /**< workload id */
    size_t from, to;        /**< host indices in the cluster */
    size_t workload_index;  /**< index in the source host's workloads */
    double reserved;        /**< demand the workload carries (its reservation) */
    const char *group;      /**< its group, or NULL */
    const char *explain;    /**< one line: why this move, why this destination */
} lp_move;

/** A runtime-switch recommendation (owned by the plan). */
typedef struct lp_switch {
    const char *workload;   /**< workload id */
    size_t host;            /**< host index */
    size_t workload_index;  /**< index in the host's workloads */
    lp_runtime from, to;    /**< runtime it runs in, runtime its class prefers */
    lp_class klass;
    double confidence;
    double held_s;          /**< seconds its class has held */
    const char *explain;
} lp_switch;

/** A host's demand before and after the plan (owned by the plan). */
typedef struct lp_host_outcome {
    size_t host;            /**< host index */
    double capacity;        /**< threads x max_parallel_ratio */
    double demand_before;
    double demand_after;
    int acted_on;           /**< 1 if it was over cap x (1 + overload_margin) */
    const char *why;        /**< for a host still over its cap + cap_slack: why; else NULL */
} lp_host_outcome;

/** A rebalancing plan. Never modified once made: can be read from many threads. */
typedef struct lp_rebalance lp_rebalance;

/**
 * Plan the moves and switches for cluster c.
 * @param opts NULL = defaults.
 * @param out receives the plan (free it with lp_rebalance_free()); it refers
 *        to hosts by index and borrows nothing from c.
 * @return LP_OK (also when some host cannot be brought within its cap: see
 *         lp_rebalance_host()); LP_EINVAL (NULL ctx, c or out, bad options:
 *         the message names the option); LP_ENOMEM.
 */
LP_EXPORT lp_status lp_rebalance_new(lp_ctx *ctx, const lp_cluster *c,
                                     const lp_rebalance_options *opts, lp_rebalance **out);
/** Free a plan. NULL is allowed. */
LP_EXPORT void lp_rebalance_free(lp_rebalance *r);

/** Number of moves (0 for NULL); the i-th in execution order, NULL past the end. */
LP_EXPORT size_t lp_rebalance_move_count(const lp_rebalance *r);
LP_EXPORT const lp_move *lp_rebalance_get_move(const lp_rebalance *r, size_t i);
/** Number of runtime-switch recommendations; the i-th, NULL past the end. */
LP_EXPORT size_t lp_rebalance_switch_count(const lp_rebalance *r);
LP_EXPORT const lp_switch *lp_rebalance_get_switch(const lp_rebalance *r, size_t i);
/** Every host's outcome, in cluster order (lp_cluster_size() entries); NULL past the end. */
LP_EXPORT const lp_host_outcome *lp_rebalance_get_host(const lp_rebalance *r, size_t i);
/** Hosts over their cap before (after = 0) or after (after = 1) the plan. */
LP_EXPORT size_t lp_rebalance_hosts_over(const lp_rebalance *r, int after);
/** 1 if the plan is proven optimal for the objective above, else 0. */
LP_EXPORT int lp_rebalance_optimal(const lp_rebalance *r);

#ifdef __cplusplus
}
#endif
#endif
