/* Internal definitions shared by the collectors. Not installed. */
#ifndef LP_COLLECT_INTERNAL_H
#define LP_COLLECT_INTERNAL_H

#include <limits.h>
#include <stdint.h>

#include "libplacement.h"
#include "libplacement/collect.h"

/* Read a whole small file (or pread a kept-open fd from offset 0) into buf,
 * NUL-terminated. Returns the length, or -1 with errno set. */
ssize_t lp_read_file(const char *path, char *buf, size_t len);
ssize_t lp_pread_all(int fd, char *buf, size_t len);
/* One pread() from offset 0: for files far smaller than a page, which the
 * kernel hands over whole in one read (schedstat, io, cpu.stat); half the
 * syscalls of lp_pread_all(), which must read on to see the end. */
ssize_t lp_pread_once(int fd, char *buf, size_t len);

/* Optional libraries of a collector, loaded when it opens (not linked, so
 * that an agent without it does not map them).  lp_dlopen: soname, never
 * unmapped (these libraries keep thread-local data and handlers); NULL with
 * LP_EUNAVAIL "<collector> collector unavailable: cannot load ..." in ctx.
 * lp_dlsym: the symbol name of lib, or NULL with LP_EUNAVAIL naming it. */
void *lp_dlopen(lp_ctx *ctx, const char *collector, const char *soname);
void *lp_dlsym(lp_ctx *ctx, const char *collector, void *lib, const char *soname, const char *name);

/* A set of CPU numbers below LP_CPUSET_MAX (the kernel's NR_CPUS limit). */
#define LP_CPUSET_MAX 8192
typedef struct lp_cpuset {
    uint64_t bits[LP_CPUSET_MAX / 64];
} lp_cpuset;

/* Parse a CPU list: elements "N", "N-M" separated by commas, and (Nova's
 * syntax) "^N" or "^N-M" removing CPUs from what the list includes; white
 * space around elements and empty elements are allowed.  The kernel's lists (cpuset.cpus,
 * .../cpu/online) are a subset.  Returns 0, or -1 with a message naming the
 * bad element in err (errlen bytes). */
int lp_cpuset_parse(const char *text, lp_cpuset *out, char *err, size_t errlen);
unsigned lp_cpuset_count(const lp_cpuset *s);
int lp_cpuset_has(const lp_cpuset *s, unsigned cpu);
/* Does a hold every CPU of b? */
int lp_cpuset_covers(const lp_cpuset *a, const lp_cpuset *b);
/* a &= b */
void lp_cpuset_and(lp_cpuset *a, const lp_cpuset *b);
/* The online CPUs (/sys/devices/system/cpu/online; every CPU below
 * sysconf(_SC_NPROCESSORS_ONLN) when that cannot be read). */
void lp_cpuset_online(lp_cpuset *out);

/* Where the cgroup hierarchies are mounted, and which one groups processes. */
typedef struct lp_cgroup_fs {
    char group_mount[PATH_MAX]; /* mount point of the grouping hierarchy, "" if none */
    char group_ctrl[32];        /* v1 controller name, or "" for v2 */
    int group_v2;               /* grouping hierarchy is cgroup v2 */
    char cpuacct_mount[PATH_MAX]; /* v1 cpuacct mount, "" if none (or v2) */
    char memory_mount[PATH_MAX];  /* v1 memory mount, "" if none (or v2) */
    char cpuset_mount[PATH_MAX];  /* v1 cpuset mount, "" if none (or v2) */
    lp_cpuset workload_cpus;      /* CPUs available to workloads: a cpuset covering
                                     them all is no limit */
} lp_cgroup_fs;

/* Find the mounts from proc_root/self/mountinfo. hierarchy: a v1 controller
 * name, "unified", or NULL for automatic; cpus: lp_collect_config.cpus.
 * LP_EUNAVAIL when no cgroup fs, LP_EINVAL for a bad cpus list. */
lp_status lp_cgroup_fs_init(lp_ctx *ctx, const char *proc_root, const char *hierarchy,
                            const char *cpus, lp_cgroup_fs *out);

/* Kept-open files of one cgroup (fds are -1 when absent). */
typedef struct lp_cgroup_files {
    int usage_fd;    /* v1 cpuacct.usage (ns); v2 uses stat_fd */
    int stat_fd;     /* cpu.stat */
    int pressure_fd; /* v2 cpu.pressure */
    int memory_fd;   /* v2 memory.current, v1 memory.usage_in_bytes */
    int quota_fd;    /* v2 cpu.max ("quota period" or "max period"), v1 cpu.cfs_quota_us */
    int period_fd;   /* v1 cpu.cfs_period_us */
    int cpuset_fd;   /* v2 cpuset.cpus.effective, v1 cpuset.effective_cpus */
    int v2;
} lp_cgroup_files;

/* Open the counters and limits of the cgroup at rel (path inside the
 * grouping hierarchy); cpuset_rel: its path in the v1 cpuset hierarchy
 * (NULL: rel). Never fails: missing files are skipped. */
void lp_cgroup_open(const lp_cgroup_fs *fs, const char *rel, const char *cpuset_rel,
                    lp_cgroup_files *f);
/* Add the cgroup's counters to c (usage, throttling, PSI, memory) and set
 * c->vcpus to its CPU limit: quota / period, or the size of its cpuset when
 * that does not cover fs->workload_cpus, the smaller of the two; 0 when
 * unlimited. Limits are read each time: they change (docker update). */
void lp_cgroup_read(const lp_cgroup_fs *fs, const lp_cgroup_files *f, lp_counters *c);
void lp_cgroup_close(lp_cgroup_files *f);

/* The cgroup path of pid in the v1 hierarchy of controller (NULL: the v2
 * hierarchy), from proc_root/PID/cgroup.  Returns 0, or -1 when the process
 * is gone or not in that hierarchy. */
int lp_cgroup_path(const char *proc_root, int pid, const char *controller, char *out, size_t len);
/* The same in the grouping hierarchy of fs. */
int lp_cgroup_of_pid(const lp_cgroup_fs *fs, const char *proc_root, int pid, char *out,
                     size_t len);

/* Parse "key value" lines: the value after key (at line start) as int64, or -1. */
int64_t lp_kv_int(const char *text, const char *key);

/* The version of a struct the caller filled (type names it, where prefixes
 * the message): 1..current is known.  @return LP_OK, or LP_EINVAL. */
lp_status lp_collect_version_check(lp_ctx *ctx, const char *where, const char *type,
                                   unsigned version, unsigned current);
/* The version of the options a collector's open() got (NULL: the defaults). */
lp_status lp_collect_options_check(lp_ctx *ctx, const char *collector, const lp_collect_options *o);

/* Collector ops tables. */
extern const lp_collector_ops lp_collector_proc;
extern const lp_collector_ops lp_collector_libvirt;
extern const lp_collector_ops lp_collector_docker;
extern const lp_collector_ops lp_collector_libxl;

#endif
