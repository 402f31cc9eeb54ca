/*
 * libplacement — the shared model: workload classes, runtimes, hosts and
 * their workloads (what a snapshot says), and clusters of hosts.
 *
 * Meanings (docs/model.md):
 *  - threads: a host's hardware threads (logical CPUs) = its parallelism supply.
 *  - demand: the average number of runnable threads wanting a CPU over the
 *    sample window (run + wait time per second).
 */
#ifndef LIBPLACEMENT_MODEL_H
#define LIBPLACEMENT_MODEL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Workload class. LP_CLASS_AUTO in a request means "decide from metrics". */
typedef enum lp_class {
    LP_CLASS_UNKNOWN = 0, /**< not classified (no metrics) */
    LP_CLASS_CPU,         /**< CPU-bound, parallel */
    LP_CLASS_NET,         /**< network-I/O-bound */
    LP_CLASS_IO,          /**< disk-I/O-bound */
    LP_CLASS_MIXED,       /**< CPU-bound and I/O-bound at once */
    LP_CLASS_IDLE,        /**< does almost nothing */
    LP_CLASS_AUTO         /**< requests only: classify from metrics */
} lp_class;
#define LP_CLASS_COUNT 7

/** Runtimes, as bits so that a host can offer several. */
typedef enum lp_runtime {
    LP_RUNTIME_NONE = 0,
    LP_RUNTIME_CONTAINER = 1u << 0, /**< OS container (Docker, runc) */
    LP_RUNTIME_UNIKERNEL = 1u << 1, /**< lightweight-OS VM (OSv, ...) */
    LP_RUNTIME_VM = 1u << 2,        /**< full VM with a general-purpose guest */
    LP_RUNTIME_AUTO = 1u << 3       /**< requests only: let the library choose */
} lp_runtime;
#define LP_RUNTIME_ALL (LP_RUNTIME_CONTAINER | LP_RUNTIME_UNIKERNEL | LP_RUNTIME_VM)

/** "cpu", "net", "io", "mixed", "idle", "unknown", "auto"; "?" out of range. Static, never NULL. */
LP_EXPORT const char *lp_class_name(lp_class c);
/**
 * Parse a class name (exact, lower case; "auto" included) into *out.
 * @return LP_OK; LP_ENOTFOUND ("unknown class 'x' (expected cpu, net, io,
 *         mixed, idle, unknown, auto)"); LP_EINVAL (NULL name or out).
 *         ctx may be NULL.
 */
LP_EXPORT lp_status lp_class_parse(lp_ctx *ctx, const char *name, lp_class *out);
/** "container", "unikernel", "vm", "auto", "none" for one bit; "?" otherwise. Static. */
LP_EXPORT const char *lp_runtime_name(lp_runtime r);
/**
 * Parse one runtime name, including "none" and "auto", into *out.
 * @return as lp_class_parse() ("unknown runtime 'x' (expected container,
 *         unikernel, vm, none, auto)").
 */
LP_EXPORT lp_status lp_runtime_parse(lp_ctx *ctx, const char *name, lp_runtime *out);

#define LP_WORKLOAD_VERSION 1

/**
 * One workload on a host, as a snapshot reports it.  Numbers that were not
 * measured are negative (-1), except vcpus/threads which are 0 when unknown.
 * Versioned (see common.h): fill it with lp_workload_init() first.
 */
typedef struct lp_workload {
    unsigned version;      /**< LP_WORKLOAD_VERSION: set by lp_workload_init() */
    const char *id;        /**< Nova instance UUID / container id; never NULL */
    lp_runtime runtime;    /**< one bit, or LP_RUNTIME_NONE if unknown */
    double vcpus;          /**< declared vCPUs (0 = unknown) */
    double threads;        /**< thread count (0 = unknown) */
    double memory_mb;      /**< memory it holds (-1 = unknown) */
    double demand;         /**< measured demand (runnable threads), -1 unknown */
    double util;           /**< CPUs used (run time per second), -1 unknown */
    double wait_ratio;     /**< scheduling wait / run time, -1 unknown */
    double iowait;         /**< fraction of time blocked on block I/O, -1 unknown */
    double net_bps;        /**< network bytes per second (rx+tx), -1 unknown */
    double disk_bps;       /**< disk bytes per second (read+write), -1 unknown */
    lp_class klass;        /**< class, LP_CLASS_UNKNOWN if not classified */
    double confidence;     /**< 0..1 */
    const char *group;     /**< placement group, or NULL */
    const char *image;     /**< image it runs: Glance image UUID or container image, NULL unknown */
    const char *flavor;    /**< Nova flavor name, NULL unknown */
    double class_since;    /**< unix seconds since which it has had its current class
                                continuously, 0 unknown */
} lp_workload;

/**
 * Fill w with "unknown" values (id "", group, image and flavor NULL) for the given version
 * (LP_WORKLOAD_VERSION).
 * @return LP_OK; LP_EINVAL for a NULL w or a version this library does not
 *         know (w untouched).
 */
LP_EXPORT lp_status lp_workload_init(lp_workload *w, unsigned version);

#define LP_HOST_VERSION 1

/**
 * A host, as one snapshot (schema libplacement/snapshot/v1) reports it.
 * Versioned (see common.h): fill it with lp_host_init() first.
 */
typedef struct lp_host {
    unsigned version;      /**< LP_HOST_VERSION: set by lp_host_init() */
    const char *name;      /**< host name (Nova's compute host); never NULL */
    double time;           /**< unix seconds the snapshot was taken, fractional (0 = declared,
                                not measured) */
    unsigned sockets;      /**< CPU sockets (>= 1) */
    unsigned cores;        /**< physical cores in all (>= 1) */
    unsigned threads;      /**< hardware threads = logical CPUs (>= 1) */
    double memory_mb;      /**< total memory in MiB (0 = unknown: memory is not checked) */
    double memory_used_mb; /**< memory in use by workloads, -1 = sum of workloads' memory_mb */
    unsigned runtimes;     /**< LP_RUNTIME_* bits offered */
    double load_demand;    /**< measured host demand, -1 unknown */
    double load_util;      /**< CPUs busy, -1 unknown */
    double load_iowait;    /**< fraction, -1 unknown */
    double load_steal;     /**< fraction, -1 unknown */
    const lp_workload *workloads; /**< n_workloads entries of the host's version; owned by
                                       whoever filled the struct (the cluster, for
                                       lp_cluster_get_host()) */
    size_t n_workloads;
} lp_host;

/**
 * Fill h with defaults for the given version (LP_HOST_VERSION): name "",
 * 1 socket/core/thread, no runtimes, no workloads, unknown load.
 * @return LP_OK; LP_EINVAL for a NULL h or an unknown version (h untouched).
 */
LP_EXPORT lp_status lp_host_init(lp_host *h, unsigned version);

/**
 * Check a host for consistency (a known version, its workloads of the same
 * version, threads >= cores >= sockets >= 1, finite non-negative numbers,
 * known runtimes, ...).
 * @return LP_OK, or LP_EINVAL (also for a NULL h) with a message naming the
 *         host and the field in ctx (ctx may be NULL).
 */
LP_EXPORT lp_status lp_host_validate(lp_ctx *ctx, const lp_host *h);

/**
 * A set of hosts with their workloads, in the order they were added.  Hosts
 * are only appended, never changed or removed: once built it can be read
 * from many threads.
 */
typedef struct lp_cluster lp_cluster;

/**
 * Create an empty cluster.
 * @param out receives it; the caller frees it with lp_cluster_free().
 * @return LP_OK, LP_EINVAL (NULL out), LP_ENOMEM.
 */
LP_EXPORT lp_status lp_cluster_new(lp_ctx *ctx, lp_cluster **out);
/** Free a cluster and every host, workload and string it holds. NULL is allowed. */
LP_EXPORT void lp_cluster_free(lp_cluster *c);

/**
 * Append a deep copy of h (strings and workloads are copied: h's memory stays
 * the caller's and may be reused at once).
 * @return LP_OK; LP_EINVAL if c is NULL, h fails lp_host_validate() or a host
 *         of the same name is already in c; LP_ENOMEM. c is unchanged on failure.
 */
LP_EXPORT lp_status lp_cluster_add_host(lp_ctx *ctx, lp_cluster *c, const lp_host *h);

/** Number of hosts (0 for NULL). */
LP_EXPORT size_t lp_cluster_size(const lp_cluster *c);

/**
 * The i-th host (borrowed, valid while c lives, also after more hosts are
 * added), or NULL if i is out of range (or c is NULL).
 */
LP_EXPORT const lp_host *lp_cluster_get_host(const lp_cluster *c, size_t i);

/**
 * Look a host up by name: O(1) on average (a hash index).
 * @param index receives its position (for lp_cluster_get_host()).
 * @return LP_OK; LP_ENOTFOUND (no such host: named in the message);
 *         LP_EINVAL (NULL c, name or index).  ctx may be NULL.
 */
LP_EXPORT lp_status lp_cluster_find(lp_ctx *ctx, const lp_cluster *c, const char *name,
                                    size_t *index);

#ifdef __cplusplus
}
#endif
#endif
