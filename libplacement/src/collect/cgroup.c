/* cgroup v1 and v2: where the hierarchies are, and per-cgroup CPU counters
 * (usage, throttling, pressure) read from kept-open files. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_internal.h"

ssize_t lp_pread_all(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t r = pread(fd, buf + got, len - 1 - got, (off_t)got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

ssize_t lp_pread_once(int fd, char *buf, size_t len)
{
    ssize_t r;
    do
        r = pread(fd, buf, len - 1, 0);
    while (r < 0 && errno == EINTR);
    if (r >= 0)
        buf[r] = '\0';
    return r;
}

void *lp_dlopen(lp_ctx *ctx, const char *collector, const char *soname)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!lib)
        lp_ctx_set_error(ctx, LP_EUNAVAIL, "%s collector unavailable: cannot load %s: %s", collector, soname, dlerror());
    return lib;
}

void *lp_dlsym(lp_ctx *ctx, const char *collector, void *lib, const char *soname, const char *name)
{
    void *f = dlsym(lib, name);
    if (!f)
        lp_ctx_set_error(ctx, LP_EUNAVAIL, "%s collector unavailable: %s has no %s", collector, soname, name);
    return f;
}

ssize_t lp_read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = lp_pread_all(fd, buf, len);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

int64_t lp_kv_int(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && (p[kl] == ' ' || p[kl] == '\t' || p[kl] == '='))
            return strtoll(p + kl + 1, NULL, 10);
    }
    return -1;
}

/* Does the comma-separated list opts contain word? */
static int has_word(const char *opts, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = opts; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == wl && strncmp(p, word, wl) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

lp_status lp_cgroup_fs_init(lp_ctx *ctx, const char *proc_root, const char *hierarchy,
                            const char *cpus, lp_cgroup_fs *out)
{
    char path[PATH_MAX];
    memset(out, 0, sizeof *out);
    lp_cpuset_online(&out->workload_cpus);
    if (cpus) {
        char err[160];
        if (lp_cpuset_parse(cpus, &out->workload_cpus, err, sizeof err) < 0)
            return lp_ctx_set_error(ctx, LP_EINVAL, "cpus: %s", err);
    }
    snprintf(path, sizeof path, "%s/self/mountinfo", proc_root);
    FILE *f = fopen(path, "re");
    if (!f)
        return lp_ctx_set_error(ctx, LP_EUNAVAIL, "%s: %s", path, strerror(errno));
    char v2[PATH_MAX] = "", v1cpu[PATH_MAX] = "", v1acct[PATH_MAX] = "", v1want[PATH_MAX] = "",
         v1mem[PATH_MAX] = "", v1cpuset[PATH_MAX] = "";
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
        char mnt[PATH_MAX], fstype[64], super[512];
        const char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
            sscanf(sep + 3, "%63s %*s %511s", fstype, super) != 2)
            continue;
        if (strcmp(fstype, "cgroup2") == 0 && !v2[0])
            snprintf(v2, sizeof v2, "%s", mnt);
        else if (strcmp(fstype, "cgroup") == 0) {
            if (has_word(super, "cpu") && !v1cpu[0])
                snprintf(v1cpu, sizeof v1cpu, "%s", mnt);
            if (has_word(super, "cpuacct") && !v1acct[0])
                snprintf(v1acct, sizeof v1acct, "%s", mnt);
            if (has_word(super, "memory") && !v1mem[0])
                snprintf(v1mem, sizeof v1mem, "%s", mnt);
            if (has_word(super, "cpuset") && !v1cpuset[0])
                snprintf(v1cpuset, sizeof v1cpuset, "%s", mnt);
            if (hierarchy && strcmp(hierarchy, "unified") != 0 && has_word(super, hierarchy))
                snprintf(v1want, sizeof v1want, "%s", mnt);
        }
    }
    free(line);
    fclose(f);

    if (hierarchy && strcmp(hierarchy, "unified") == 0) {
        if (!v2[0])
            return lp_ctx_set_error(ctx, LP_EUNAVAIL, "cgroup_hierarchy unified: no cgroup2 mount");
        out->group_v2 = 1;
        snprintf(out->group_mount, sizeof out->group_mount, "%s", v2);
    } else if (hierarchy) {
        if (!v1want[0])
            return lp_ctx_set_error(ctx, LP_EUNAVAIL, "cgroup_hierarchy %s: no cgroup v1 mount with that controller",
                           hierarchy);
        snprintf(out->group_ctrl, sizeof out->group_ctrl, "%s", hierarchy);
        snprintf(out->group_mount, sizeof out->group_mount, "%s", v1want);
    } else if (v1cpu[0]) {
        /* Hybrid hosts keep the cpu controller on v1: group where CPU is controlled. */
        snprintf(out->group_ctrl, sizeof out->group_ctrl, "cpu");
        snprintf(out->group_mount, sizeof out->group_mount, "%s", v1cpu);
    } else if (v2[0]) {
        out->group_v2 = 1;
        snprintf(out->group_mount, sizeof out->group_mount, "%s", v2);
    } else {
        return lp_ctx_set_error(ctx, LP_EUNAVAIL, "%s/self/mountinfo: no cgroup file system mounted", proc_root);
    }
    if (!out->group_v2) {
        snprintf(out->cpuacct_mount, sizeof out->cpuacct_mount, "%s", v1acct);
        snprintf(out->memory_mount, sizeof out->memory_mount, "%s", v1mem);
        snprintf(out->cpuset_mount, sizeof out->cpuset_mount, "%s", v1cpuset);
    }
    return LP_OK;
}

int lp_cgroup_path(const char *proc_root, int pid, const char *controller, char *out, size_t len)
{
    char path[PATH_MAX], buf[4096];
    snprintf(path, sizeof path, "%s/%d/cgroup", proc_root, pid);
    if (lp_read_file(path, buf, sizeof buf) < 0)
        return -1;
    for (char *p = buf; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        /* "hierarchy-id:controllers:path" */
        char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2) {
            *c2 = '\0';
            int match = controller ? has_word(c1 + 1, controller)
                                   : (c1[1] == '\0' && strncmp(p, "0:", 2) == 0);
            if (match) {
                snprintf(out, len, "%s", c2 + 1);
                return 0;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return -1;
}

int lp_cgroup_of_pid(const lp_cgroup_fs *fs, const char *proc_root, int pid, char *out, size_t len)
{
    return lp_cgroup_path(proc_root, pid, fs->group_v2 ? NULL : fs->group_ctrl, out, len);
}

static int open_in(const char *mount, const char *rel, const char *file)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s/%s", mount, strcmp(rel, "/") == 0 ? "" : rel, file) >=
        (int)sizeof path)
        return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

void lp_cgroup_open(const lp_cgroup_fs *fs, const char *rel, const char *cpuset_rel,
                    lp_cgroup_files *f)
{
    f->v2 = fs->group_v2;
    f->usage_fd = f->stat_fd = f->pressure_fd = f->memory_fd = -1;
    f->quota_fd = f->period_fd = f->cpuset_fd = -1;
    if (!fs->group_mount[0])
        return;
    f->stat_fd = open_in(fs->group_mount, rel, "cpu.stat");
    if (f->v2) {
        f->pressure_fd = open_in(fs->group_mount, rel, "cpu.pressure");
        f->memory_fd = open_in(fs->group_mount, rel, "memory.current");
        f->quota_fd = open_in(fs->group_mount, rel, "cpu.max");
        f->cpuset_fd = open_in(fs->group_mount, rel, "cpuset.cpus.effective");
    } else {
        if (fs->cpuacct_mount[0])
            f->usage_fd = open_in(fs->cpuacct_mount, rel, "cpuacct.usage");
        /* the same path in the memory hierarchy, when the manager keeps them aligned */
        if (fs->memory_mount[0] && strcmp(rel, "/") != 0)
            f->memory_fd = open_in(fs->memory_mount, rel, "memory.usage_in_bytes");
        f->quota_fd = open_in(fs->group_mount, rel, "cpu.cfs_quota_us");
        f->period_fd = open_in(fs->group_mount, rel, "cpu.cfs_period_us");
        if (fs->cpuset_mount[0])
            f->cpuset_fd = open_in(fs->cpuset_mount, cpuset_rel ? cpuset_rel : rel, "cpuset.effective_cpus");
    }
}

/* CPUs the quota allows (quota / period), 0 when unlimited or unknown. */
static double quota_cpus(const lp_cgroup_files *f)
{
    char buf[128], b2[64];
    if (f->quota_fd < 0 || lp_pread_once(f->quota_fd, buf, sizeof buf) <= 0)
        return 0;
    long long q = 0, per = 0;
    if (f->v2) /* "max 100000" or "50000 100000" */
        return sscanf(buf, "%lld %lld", &q, &per) == 2 && q > 0 && per > 0 ? (double)q / (double)per : 0;
    if (f->period_fd < 0 || lp_pread_once(f->period_fd, b2, sizeof b2) <= 0)
        return 0;
    q = strtoll(buf, NULL, 10); /* -1 = no quota */
    per = strtoll(b2, NULL, 10);
    return q > 0 && per > 0 ? (double)q / (double)per : 0;
}

/* CPUs of the cgroup's cpuset when it leaves out some of the workload CPUs,
 * else 0 (no limit). */
static double cpuset_cpus(const lp_cgroup_fs *fs, const lp_cgroup_files *f)
{
    char buf[4096], err[128];
    lp_cpuset set;
    if (f->cpuset_fd < 0 || lp_pread_all(f->cpuset_fd, buf, sizeof buf) <= 0 ||
        lp_cpuset_parse(buf, &set, err, sizeof err) < 0 || lp_cpuset_count(&set) == 0 ||
        lp_cpuset_covers(&set, &fs->workload_cpus))
        return 0;
    return lp_cpuset_count(&set);
}

void lp_cgroup_read(const lp_cgroup_fs *fs, const lp_cgroup_files *f, lp_counters *c)
{
    char buf[1024];
    double quota = quota_cpus(f), cpuset = cpuset_cpus(fs, f);
    c->vcpus = quota > 0 && (cpuset == 0 || quota < cpuset) ? quota : cpuset;
    if (f->stat_fd >= 0 && lp_pread_once(f->stat_fd, buf, sizeof buf) > 0) {
        if (f->v2) {
            int64_t u = lp_kv_int(buf, "usage_usec"), t = lp_kv_int(buf, "throttled_usec");
            if (u >= 0)
                c->cgroup_usage_ns = u * 1000;
            if (t >= 0)
                c->throttled_ns = t * 1000;
        } else {
            c->throttled_ns = lp_kv_int(buf, "throttled_time");
        }
    }
    if (f->usage_fd >= 0 && lp_pread_once(f->usage_fd, buf, sizeof buf) > 0)
        c->cgroup_usage_ns = strtoll(buf, NULL, 10);
    if (f->memory_fd >= 0 && lp_pread_once(f->memory_fd, buf, sizeof buf) > 0)
        c->memory_mb = (double)strtoll(buf, NULL, 10) / (1024.0 * 1024.0);
    if (f->pressure_fd >= 0 && lp_pread_once(f->pressure_fd, buf, sizeof buf) > 0) {
        const char *t = strstr(buf, "total=");
        if (strncmp(buf, "some", 4) == 0 && t)
            c->psi_cpu_some_us = strtoll(t + 6, NULL, 10);
    }
}

void lp_cgroup_close(lp_cgroup_files *f)
{
    if (f->usage_fd >= 0)
        close(f->usage_fd);
    if (f->stat_fd >= 0)
        close(f->stat_fd);
    if (f->pressure_fd >= 0)
        close(f->pressure_fd);
    if (f->memory_fd >= 0)
        close(f->memory_fd);
    if (f->quota_fd >= 0)
        close(f->quota_fd);
    if (f->period_fd >= 0)
        close(f->period_fd);
    if (f->cpuset_fd >= 0)
        close(f->cpuset_fd);
    f->usage_fd = f->stat_fd = f->pressure_fd = f->memory_fd = -1;
    f->quota_fd = f->period_fd = f->cpuset_fd = -1;
}
