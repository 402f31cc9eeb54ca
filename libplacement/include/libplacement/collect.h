/*
 * libplacement — collectors: what the host agent measures (docs/agent.md).
 *
 * A collector reads cumulative per-workload counters (CPU run and wait time,
 * bytes, ...) from one source: /proc and cgroups, libvirt, libxl, Docker.
 * An lp_sampler turns the counters of two consecutive sweeps into rates
 * (demand, util, wait_ratio, iowait, net_bps, disk_bps), classifies every
 * workload with lp_workload_classify() and fills an lp_host snapshot.
 *
 * Not part of libplacement.so: these live in libplacement-collect.a, which
 * the agent links together with libplacement.so.  The collectors are
 * plug-ins written against libplacement's public API only (errors through
 * lp_ctx_set_error()), as any third-party collector would be.  Linux only.
 *
 * Conventions are those of common.h: lp_status results, messages in the
 * lp_ctx, _open/_close pairs, no global state.  One lp_sampler (and its
 * collectors) must not be used by two threads at once.
 */
#ifndef LIBPLACEMENT_COLLECT_H
#define LIBPLACEMENT_COLLECT_H

#include "classify.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_COUNTERS_ID_MAX 192

/**
 * Cumulative counters of one workload at one instant.  Counters only grow
 * while the workload lives; -1 means "not measured by this collector".
 * A fixed-layout struct (see common.h).
 *
 * One workload may be seen by several collectors (a VM by libvirt and, through
 * its QEMU process, by the proc collector; a container by Docker and through
 * its cgroup): entries with the same id are merged into one workload, each
 * counter taken from the entry of highest precedence that measured it; an
 * entry with a claim takes over the entry it claims the same way.
 */
typedef struct lp_counters {
    char id[LP_COUNTERS_ID_MAX];    /**< workload id: VM UUID, container id, cgroup path */
    char claim[LP_COUNTERS_ID_MAX]; /**< id of another entry this one replaces (a
                                         container's cgroup path), or "" */
    char name[64];                  /**< human name (domain or container name), or "" */
    char image[LP_COUNTERS_ID_MAX]; /**< what it was started from: Nova's root image
                                         UUID, a container's image; "" unknown */
    char flavor[LP_COUNTERS_ID_MAX]; /**< Nova flavor name, or "" */
    int precedence;                 /**< among entries of the same id, higher wins: 0 for
                                         what the proc collector infers, 1 for a
                                         hypervisor's or container engine's own entry */
    int whole_host;                 /**< 1: counters of every task of the host (not a
                                         workload): the host's demand when the kernel
                                         has no /proc/schedstat */
    lp_runtime runtime;             /**< one bit or LP_RUNTIME_NONE */
    double vcpus;                   /**< CPUs it is entitled to: a VM's vCPUs, a cgroup's
                                         CPU limit; 0 = unlimited or unknown */
    double threads;                 /**< threads (or vCPUs of a VM), 0 = unknown;
                                         informative, not an entitlement */
    double memory_mb;               /**< memory held, -1 = unknown */
    int64_t run_ns;                 /**< CPU time used */
    int64_t wait_ns;                /**< time runnable but waiting for a CPU */
    int64_t blkio_delay_ns;         /**< time blocked on block I/O (delay accounting) */
    int64_t net_bytes;              /**< network bytes received + sent */
    int64_t disk_bytes;             /**< storage bytes read + written */
    int64_t timeslices;             /**< times scheduled onto a CPU (context switches in) */
    int64_t throttled_ns;           /**< cgroup CPU throttled time */
    int64_t cgroup_usage_ns;        /**< cgroup CPU usage (cpuacct / cpu.stat) */
    int64_t psi_cpu_some_us;        /**< cgroup v2 cpu.pressure "some" total */
    int64_t read_ns;                /**< CLOCK_MONOTONIC when read, 0 = at the sweep's time:
                                         rates use it so that a slow or preempted sweep
                                         does not skew short windows */
} lp_counters;

/** Set every counter of c to "not measured" and its strings to "". */
LP_EXPORT void lp_counters_init(lp_counters *c);

/**
 * A growable list of counters filled by one sweep of the collectors.
 * Zero-initialise it ({0}) before first use; free with lp_sample_clear().
 */
typedef struct lp_sample {
    lp_counters *items;
    size_t n, cap;
} lp_sample;

/**
 * Append one entry, lp_counters_init()ed.
 * @param out receives it; valid until the next append.
 * @return LP_OK, LP_EINVAL (NULL s or out), LP_ENOMEM (s unchanged).
 *         ctx may be NULL.
 */
LP_EXPORT lp_status lp_sample_add(lp_ctx *ctx, lp_sample *s, lp_counters **out);
/** Free the list's memory and empty it. NULL is allowed. */
LP_EXPORT void lp_sample_clear(lp_sample *s);

/** Host-wide cumulative counters (from /proc/stat, /proc/schedstat, /proc/pressure);
 *  a fixed-layout struct (see common.h). */
typedef struct lp_host_counters {
    int64_t cpu_total_ticks, cpu_busy_ticks, cpu_iowait_ticks, cpu_steal_ticks;
    int64_t run_ns, wait_ns;            /**< Σ over CPUs of /proc/schedstat run and wait,
                                             -1 without CONFIG_SCHEDSTATS */
    double loadavg1;                    /**< 1-minute load average: demand when run_ns is -1 */
    int64_t psi_some_us[3];             /**< cpu, io, memory "some" totals, -1 if absent */
    int64_t psi_full_us[3];             /**< cpu, io, memory "full" totals, -1 if absent */
} lp_host_counters;

#define LP_COLLECT_OPTIONS_VERSION 1

/**
 * Options common to all collectors (from the agent's configuration).
 * Versioned (see common.h): fill it with lp_collect_options_init() first.
 */
typedef struct lp_collect_options {
    unsigned version;             /**< LP_COLLECT_OPTIONS_VERSION (lp_collect_options_init()) */
    const char *proc_root;        /**< NULL = "/proc"; another root for tests */
    const char *cgroup_hierarchy; /**< v1 controller whose paths group processes ("cpu"),
                                       or "unified" for cgroup v2; NULL = auto */
    int include_root_cgroup;      /**< also report processes of the root cgroup, one per pid */
    const char *libvirt_uri;      /**< NULL = "qemu:///system" */
    const char *docker_socket;    /**< NULL = "/run/docker.sock" */
    const char *docker_runtimes;  /**< which runtime a container runs in, from its Docker
                                       runtime, as zun.conf's [libplacement] docker_runtimes:
                                       "container:runc,unikernel:kata-runtime,vm:kata-runtime";
                                       a Docker runtime is the first runtime that names it,
                                       one no entry names is a container; NULL = that
                                       default */
    const char *cpus;             /**< CPUs available to workloads, a CPU list such as
                                       "2-7,10" (lp_host_describe()); a cgroup whose
                                       cpuset covers them all is not limited by it.
                                       NULL = all online CPUs */
} lp_collect_options;

/**
 * Fill o with the defaults (every member NULL or 0) for the given version
 * (LP_COLLECT_OPTIONS_VERSION).
 * @return LP_OK; LP_EINVAL for a NULL o or an unknown version (o untouched).
 */
LP_EXPORT lp_status lp_collect_options_init(lp_collect_options *o, unsigned version);

/**
 * A collector: a source of per-workload counters.  open() may fail with
 * LP_EUNAVAIL when its source does not exist on this host (no libvirtd, no
 * Xen): the agent then reports the collector as down and runs on.
 */
typedef struct lp_collector_ops {
    const char *name; /**< "proc", "libvirt", "docker", "libxl" */
    /**
     * Create the collector's state in *state (set only on success; release it
     * with close()).  @return LP_OK, LP_EUNAVAIL, LP_ENOMEM, LP_EIO; LP_EINVAL
     * for options of an unknown version.
     */
    lp_status (*open)(lp_ctx *ctx, const lp_collect_options *opts, void **state);
    /**
     * Append the counters of every workload it sees now to out.
     * @return LP_OK, or an error (out then holds what was appended before it).
     */
    lp_status (*sample)(lp_ctx *ctx, void *state, lp_sample *out);
    /** Release the state. NULL is allowed. */
    void (*close)(void *state);
} lp_collector_ops;

/** The built-in collectors; NULL past the end.  Their names are the ops' names. */
LP_EXPORT const lp_collector_ops *lp_collector_builtin(size_t i);
/**
 * The built-in collector called name.
 * @param ops receives it (static).
 * @return LP_OK; LP_ENOTFOUND (not built in: the message lists those that
 *         are); LP_EINVAL (NULL name or ops).  ctx may be NULL.
 */
LP_EXPORT lp_status lp_collector_find(lp_ctx *ctx, const char *name, const lp_collector_ops **ops);

/**
 * Read the host-wide counters from proc_root (NULL = "/proc").  Files other
 * than stat are optional: what they give is -1 when absent.
 * @return LP_OK, LP_EINVAL (out NULL), LP_EIO (message names the file) when
 *         stat cannot be read.
 */
LP_EXPORT lp_status lp_host_counters_read(lp_ctx *ctx, const char *proc_root, lp_host_counters *out);

/**
 * Fill the static part of h (initialised with lp_host_init()): name
 * (host_name, or the kernel host name when NULL), threads, cores and
 * sockets, and memory_mb.  threads are the CPUs available to workloads: the
 * online CPUs of the list cpus ("2-7,10", ranges and single CPUs separated
 * by commas, "^N" or "^N-M" excluding what an earlier element included, as
 * Nova's cpu_shared_set), or every online CPU when cpus is NULL; cores and
 * sockets are the distinct cores and packages those CPUs belong to.  h->name
 * points into name_buf (len bytes, the caller's).  Other fields are
 * untouched.
 * @return LP_OK; LP_EINVAL (NULL argument, h of an unknown version, cpus not
 *         a CPU list or naming no online CPU: the message says which);
 *         LP_EIO (message names the file).
 */
LP_EXPORT lp_status lp_host_describe(lp_ctx *ctx, const char *host_name, const char *cpus,
                                     char *name_buf, size_t len, lp_host *h);

/** Turns consecutive sweeps into a snapshot. */
typedef struct lp_sampler lp_sampler;

/** @return LP_OK, LP_EINVAL, LP_ENOMEM.  Free with lp_sampler_free(). */
LP_EXPORT lp_status lp_sampler_new(lp_ctx *ctx, lp_sampler **out);
LP_EXPORT void lp_sampler_free(lp_sampler *s);

/**
 * Feed one sweep taken at monotonic time now_ns and wall-clock time wall_s
 * (unix seconds, the snapshot's time): host counters and the workloads'
 * counters (all collectors together).  Entries of the same id are merged,
 * and claimed entries into their claimers (see lp_counters); entries with
 * whole_host set give the host's demand and are not workloads.  Rates are
 * computed against the previous sweep; a workload seen for the first time,
 * or whose counters went backwards, has unknown (-1) rates until the next
 * sweep.  Every workload with rates is classified with
 * lp_workload_classify() under ctx's policy (without a ctx its class stays
 * unknown); the sampler keeps since when each has had its class.
 * The sampler takes nothing from sample (it copies what it keeps).
 * @return LP_OK, LP_EINVAL (NULL, monotonic time not increasing, wall_s not
 *         a finite number >= 0), LP_ENOMEM (the sampler keeps its previous
 *         state).
 */
LP_EXPORT lp_status lp_sampler_feed(lp_ctx *ctx, lp_sampler *s, int64_t now_ns, double wall_s,
                                    const lp_host_counters *host, const lp_sample *sample);

/**
 * Has the sampler a window: two sweeps fed, so that the host and the
 * workloads seen in both have rates?  A snapshot should not be published
 * before (its workloads would all be unmeasured).  0 for a NULL s.
 */
LP_EXPORT int lp_sampler_ready(const lp_sampler *s);

/**
 * Fill h's time (the wall-clock time of the last sweep), load and workloads
 * from the last two sweeps (h's static fields are left as they are).
 * h->workloads points into the sampler and stays valid until the next
 * lp_sampler_feed() or lp_sampler_free(); they are of LP_WORKLOAD_VERSION.
 * Host demand: Σ (run + wait) over CPUs from /proc/schedstat when the kernel
 * has it, else over every task (the whole_host entry), else the 1-minute
 * load average.  ctx may be NULL.
 * @return LP_OK, LP_EINVAL (NULL argument, h of an unknown version).
 */
LP_EXPORT lp_status lp_sampler_fill_host(lp_ctx *ctx, const lp_sampler *s, lp_host *h);

/**
 * Extra per-workload rates that the snapshot does not carry (for /metrics),
 * aligned with the workloads lp_sampler_fill_host() gives.  -1 when unknown.
 * A fixed-layout struct (see common.h).
 */
typedef struct lp_workload_extra {
    const char *name;        /**< "" if none */
    double timeslices_ps;    /**< context switches in per second */
    double throttled;        /**< fraction of time throttled by the cgroup */
    double psi_cpu_some;     /**< fraction of time some task waited for CPU (v2) */
} lp_workload_extra;

/** The i-th workload's extras, or NULL when i is out of range. Borrowed like workloads. */
LP_EXPORT const lp_workload_extra *lp_sampler_get_extra(const lp_sampler *s, size_t i);

/** Host pressure (fractions over the last window; -1 unknown): cpu, io, memory
 *  "some" and "full".  Cannot fail (a NULL s gives -1 everywhere). */
LP_EXPORT void lp_sampler_get_psi(const lp_sampler *s, double some[3], double full[3]);

/** Tasks (threads) the last sweep counted host-wide (its whole_host entry), 0 if none. */
LP_EXPORT double lp_sampler_get_tasks(const lp_sampler *s);

#ifdef __cplusplus
}
#endif
#endif
