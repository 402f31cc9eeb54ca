/* Host-wide counters (/proc/stat, /proc/schedstat, /proc/pressure) and the
 * host's static description (CPU topology, memory). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_internal.h"

static void read_psi(const char *proc_root, const char *res, int64_t *some, int64_t *full)
{
    char path[PATH_MAX], buf[512];
    *some = *full = -1;
    snprintf(path, sizeof path, "%s/pressure/%s", proc_root, res);
    if (lp_read_file(path, buf, sizeof buf) <= 0)
        return;
    for (char *line = buf; line && *line;) {
        const char *t = strstr(line, "total=");
        char *nl = strchr(line, '\n');
        if (t && (!nl || t < nl)) {
            if (strncmp(line, "some", 4) == 0)
                *some = strtoll(t + 6, NULL, 10);
            else if (strncmp(line, "full", 4) == 0)
                *full = strtoll(t + 6, NULL, 10);
        }
        line = nl ? nl + 1 : NULL;
    }
}

lp_status lp_host_counters_read(lp_ctx *ctx, const char *proc_root, lp_host_counters *out)
{
    char path[PATH_MAX], buf[4096];
    if (!out)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_host_counters_read: out is NULL");
    if (!proc_root)
        proc_root = "/proc";
    snprintf(path, sizeof path, "%s/stat", proc_root);
    long long v[10] = {0};
    if (lp_read_file(path, buf, sizeof buf) <= 0)
        return lp_ctx_set_error(ctx, LP_EIO, "%s: %s", path, strerror(errno));
    if (sscanf(buf, "cpu %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) < 8)
        return lp_ctx_set_error(ctx, LP_EIO, "%s: first line is not an aggregate \"cpu\" line", path);
    /* user nice system idle iowait irq softirq steal guest guest_nice; guest
     * time is already inside user. */
    out->cpu_total_ticks = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    out->cpu_busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
    out->cpu_iowait_ticks = v[4];
    out->cpu_steal_ticks = v[7];

    /* /proc/schedstat needs CONFIG_SCHEDSTATS: without it host demand is unknown. */
    out->run_ns = out->wait_ns = -1;
    snprintf(path, sizeof path, "%s/schedstat", proc_root);
    FILE *f = fopen(path, "re");
    if (f) {
        char line[512];
        int64_t run = 0, wait = 0;
        int cpus = 0;
        while (fgets(line, sizeof line, f)) {
            long long r, w;
            if (strncmp(line, "cpu", 3) == 0 &&
                sscanf(line, "cpu%*d %*d %*d %*d %*d %*d %*d %lld %lld", &r, &w) == 2) {
                run += r;
                wait += w;
                cpus++;
            }
        }
        fclose(f);
        if (cpus) {
            out->run_ns = run;
            out->wait_ns = wait;
        }
    }
    snprintf(path, sizeof path, "%s/loadavg", proc_root);
    out->loadavg1 = lp_read_file(path, buf, sizeof buf) > 0 ? strtod(buf, NULL) : -1;
    static const char *const res[3] = {"cpu", "io", "memory"};
    for (int i = 0; i < 3; i++)
        read_psi(proc_root, res[i], &out->psi_some_us[i], &out->psi_full_us[i]);
    return LP_OK;
}

lp_status lp_host_describe(lp_ctx *ctx, const char *host_name, const char *cpus, char *name_buf,
                           size_t len, lp_host *h)
{
    if (!name_buf || !len || !h)
        return lp_ctx_set_error(ctx, LP_EINVAL, "lp_host_describe: NULL argument");
    lp_status vst = lp_collect_version_check(ctx, "lp_host_describe", "lp_host", h->version,
                                             LP_HOST_VERSION);
    if (vst != LP_OK)
        return vst;
    lp_cpuset online, set;
    lp_cpuset_online(&online);
    set = online;
    if (cpus) {
        char err[160];
        if (lp_cpuset_parse(cpus, &set, err, sizeof err) < 0)
            return lp_ctx_set_error(ctx, LP_EINVAL, "cpus \"%s\": %s", cpus, err);
        lp_cpuset_and(&set, &online);
        if (!lp_cpuset_count(&set))
            return lp_ctx_set_error(ctx, LP_EINVAL, "cpus \"%s\": none of these CPUs is online", cpus);
    }
    if (host_name)
        snprintf(name_buf, len, "%s", host_name);
    else if (gethostname(name_buf, len) < 0)
        return lp_ctx_set_error(ctx, LP_EIO, "gethostname: %s", strerror(errno));
    name_buf[len - 1] = '\0';
    h->name = name_buf;

    /* Count distinct packages and (package, core) pairs over the CPUs. */
    unsigned threads = lp_cpuset_count(&set), sockets = 0, cores = 0, seen = 0;
    long pkg_seen[256];
    long core_seen[1024][2];
    for (unsigned cpu = 0; cpu < LP_CPUSET_MAX && seen < threads; cpu++) {
        if (!lp_cpuset_has(&set, cpu))
            continue;
        seen++;
        char path[128], buf[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%u/topology/physical_package_id", cpu);
        if (lp_read_file(path, buf, sizeof buf) <= 0)
            continue;
        long pkg = strtol(buf, NULL, 10);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%u/topology/core_id", cpu);
        long core = lp_read_file(path, buf, sizeof buf) > 0 ? strtol(buf, NULL, 10) : (long)cpu;
        unsigned i;
        for (i = 0; i < sockets && pkg_seen[i] != pkg; i++)
            ;
        if (i == sockets && sockets < 256)
            pkg_seen[sockets++] = pkg;
        for (i = 0; i < cores && !(core_seen[i][0] == pkg && core_seen[i][1] == core); i++)
            ;
        if (i == cores && cores < 1024) {
            core_seen[cores][0] = pkg;
            core_seen[cores][1] = core;
            cores++;
        }
    }
    /* Without sysfs topology, every CPU is a core of one socket. */
    h->threads = threads;
    h->cores = cores ? cores : threads;
    h->sockets = sockets ? sockets : 1;
    if (h->cores > h->threads)
        h->cores = h->threads;
    if (h->sockets > h->cores)
        h->sockets = h->cores;

    char buf[4096];
    if (lp_read_file("/proc/meminfo", buf, sizeof buf) <= 0)
        return lp_ctx_set_error(ctx, LP_EIO, "/proc/meminfo: %s", strerror(errno));
    int64_t kb = lp_kv_int(buf, "MemTotal:");
    if (kb <= 0)
        return lp_ctx_set_error(ctx, LP_EIO, "/proc/meminfo: no MemTotal line");
    h->memory_mb = (double)kb / 1024.0;
    return LP_OK;
}
