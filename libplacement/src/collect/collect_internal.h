/* Internal definitions shared by the collectors. Not installed. */
#ifndef LP_COLLECT_INTERNAL_H
#define LP_COLLECT_INTERNAL_H

#include <limits.h>

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

/* Where the cgroup hierarchies are mounted, and which one groups processes. */
typedef struct lp_cgroup_fs {
    char group_mount[PATH_MAX]; /* mount point of the grouping hierarchy, "" if none */
    char group_ctrl[32];        /* v1 controller name, or "" for v2 */
    int group_v2;               /* grouping hierarchy is cgroup v2 */
    char cpuacct_mount[PATH_MAX]; /* v1 cpuacct mount, "" if none (or v2) */
    char memory_mount[PATH_MAX];  /* v1 memory mount, "" if none (or v2) */
} lp_cgroup_fs;

/* Find the mounts from proc_root/self/mountinfo. hierarchy: a v1 controller
 * name, "unified", or NULL for automatic. LP_EUNAVAIL when no cgroup fs. */
lp_status lp_cgroup_fs_init(lp_ctx *ctx, const char *proc_root, const char *hierarchy,
                            lp_cgroup_fs *out);

/* Kept-open files of one cgroup (fds are -1 when absent). */
typedef struct lp_cgroup_files {
    int usage_fd;    /* v1 cpuacct.usage (ns); v2 uses stat_fd */
    int stat_fd;     /* cpu.stat */
    int pressure_fd; /* v2 cpu.pressure */
    int memory_fd;   /* v2 memory.current, v1 memory.usage_in_bytes */
    int v2;
    double quota_cpus; /* cpu quota / period, 0 when unlimited */
} lp_cgroup_files;

/* Open the counters of the cgroup at rel (path inside the hierarchy). Never
 * fails: missing files are skipped. */
void lp_cgroup_open(const lp_cgroup_fs *fs, const char *rel, lp_cgroup_files *f);
/* Add the cgroup's counters to c (usage, throttling, PSI, memory). */
void lp_cgroup_read(const lp_cgroup_files *f, lp_counters *c);
void lp_cgroup_close(lp_cgroup_files *f);

/* The cgroup path of pid in the grouping hierarchy, from proc_root/PID/cgroup.
 * Returns 0, or -1 when the process is gone or not in that hierarchy. */
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
