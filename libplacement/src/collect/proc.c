/*
 * The proc/cgroup collector: one workload per cgroup that holds processes
 * (a container, a systemd unit), one per VM (a QEMU process, id = its -uuid),
 * counters summed over all threads of all its processes; and the host's
 * total over every task, root cgroup and kernel threads included (the
 * whole_host entry: host demand on kernels without /proc/schedstat).
 *
 * Cost is kept near one pread() per task per sweep (docs/agent.md, "Cost"):
 * every thread's schedstat stays open; a process's io (and stat) is read
 * only when one of its threads ran, came or went; new threads are looked for
 * per cgroup (its thread count against the threads held) and only then per
 * process (the link count of task/), whose task/ directory is listed again
 * only when that count changed or a thread went away; cgroup.procs and the
 * cgroup's counters are read once per cgroup.
 * A process is identified when first seen and again whenever it runs another
 * program (exec): a process seen between fork and exec (a shell, libvirt's
 * child before it execs QEMU) becomes what it execs.  Exec is done by a
 * running thread, so only processes that ran are looked at, in the main
 * thread's stat read with their io.
 * Counters are accumulated as deltas since the workload was first seen, so
 * processes and threads coming and going never make a total go backwards;
 * a task started since the last sweep counts from its start.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect_internal.h"

#define PF_KTHREAD 0x00200000u
#define MAX_CGROUP_DEPTH 16
/* From this many processes on, a cgroup's thread count (one file read) is
 * cheaper than asking each process (an fstat) whether it has new threads. */
#define PER_CGROUP_THREAD_CHECK 4

typedef struct thr {
    int tid, fd;
    int64_t run, wait, slices;
} thr;

typedef struct group group;

/* What an exec changes in the main thread's stat line: the command name and
 * where the program's code and its stack begin (placed anew by every exec,
 * at random under address space randomisation).  All zero ("unsettled")
 * while an exec is under way, so that the finished one differs. */
typedef struct program {
    char comm[16];
    int64_t start_code, start_stack;
} program;

typedef struct proc {
    int pid;
    unsigned long sweep; /* last sweep that saw it */
    int task_fd, io_fd;
    int stat_fd;         /* its main thread's stat (task/PID/stat), -1 for a kernel thread */
    program prog;        /* what it was last identified as running */
    thr *t;
    size_t nt, capt;
    int64_t io_bytes, blk_ticks;
    int kthread;         /* a kernel thread: counted for the host, never a workload */
    char uuid[40];       /* a QEMU process's -uuid, "" otherwise */
    char vm_name[64];    /* its -name guest=... */
    double vm_vcpus;     /* its -smp vCPUs, 0 unknown */
    int own_netns;       /* lives in a network namespace of its own (a container) */
    group *g;
} proc;

struct group {
    char key[LP_COUNTERS_ID_MAX];
    unsigned long sweep;
    lp_cgroup_files cg;
    int net_fd;          /* net/dev of a member in another network namespace, or -1 */
    lp_counters acc;     /* totals since first seen */
    double threads;
    double vm_vcpus;     /* a VM's vCPUs (its entitlement), 0 for other groups */
};

typedef struct cgdir {
    char rel[PATH_MAX];
    unsigned long sweep;
    group *g;            /* group of its non-QEMU processes, created on demand */
} cgdir;

/* A vector of pointers kept sorted by key; new entries wait in "fresh" until
 * the end of the sweep. */
typedef struct vec {
    void **v;
    size_t n, cap;
} vec;

typedef struct proc_state {
    char proc_root[256];
    lp_cgroup_fs fs;
    int include_root, delayacct;
    ino_t own_netns;
    long tick_ns;
    int64_t last_sweep_ticks; /* CLOCK_BOOTTIME at the last sweep's start, in clock ticks */
    unsigned long sweep;
    vec procs, fresh_procs, groups, fresh_groups, dirs, fresh_dirs;
    group *root;         /* root-cgroup processes and kernel threads: host only */
    lp_counters host;    /* every task's run, wait, timeslices since open */
    char *buf;           /* cgroup.procs text */
    size_t buflen;
} proc_state;

static int vec_push(vec *a, void *p)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        void **nv = realloc(a->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = p;
    return 0;
}

static int cmp_proc(const void *a, const void *b)
{
    int x = (*(proc *const *)a)->pid, y = (*(proc *const *)b)->pid;
    return (x > y) - (x < y);
}
static int cmp_group(const void *a, const void *b)
{
    return strcmp((*(group *const *)a)->key, (*(group *const *)b)->key);
}
static int cmp_dir(const void *a, const void *b)
{
    return strcmp((*(cgdir *const *)a)->rel, (*(cgdir *const *)b)->rel);
}

static proc *find_proc(proc_state *s, int pid)
{
    proc key = {.pid = pid}, *kp = &key;
    proc **hit = s->procs.n ? bsearch(&kp, s->procs.v, s->procs.n, sizeof(void *), cmp_proc) : NULL;
    if (hit)
        return *hit;
    for (size_t i = 0; i < s->fresh_procs.n; i++)
        if (((proc *)s->fresh_procs.v[i])->pid == pid)
            return s->fresh_procs.v[i];
    return NULL;
}

static group *find_group(proc_state *s, const char *key)
{
    for (size_t i = 0; i < s->fresh_groups.n; i++)
        if (strcmp(((group *)s->fresh_groups.v[i])->key, key) == 0)
            return s->fresh_groups.v[i];
    if (!s->groups.n)
        return NULL;
    group k, *kp = &k;
    snprintf(k.key, sizeof k.key, "%s", key);
    group **hit = bsearch(&kp, s->groups.v, s->groups.n, sizeof(void *), cmp_group);
    return hit ? *hit : NULL;
}

static cgdir *find_dir(proc_state *s, const char *rel)
{
    if (!s->dirs.n)
        return NULL;
    cgdir k, *kp = &k;
    snprintf(k.rel, sizeof k.rel, "%s", rel);
    cgdir **hit = bsearch(&kp, s->dirs.v, s->dirs.n, sizeof(void *), cmp_dir);
    return hit ? *hit : NULL;
}

static void thr_close_all(proc *p)
{
    for (size_t i = 0; i < p->nt; i++)
        close(p->t[i].fd);
    p->nt = 0;
}

static void proc_free(proc *p)
{
    if (!p)
        return;
    thr_close_all(p);
    free(p->t);
    if (p->task_fd >= 0)
        close(p->task_fd);
    if (p->io_fd >= 0)
        close(p->io_fd);
    if (p->stat_fd >= 0)
        close(p->stat_fd);
    free(p);
}

static void group_free(group *g)
{
    if (!g)
        return;
    lp_cgroup_close(&g->cg);
    if (g->net_fd >= 0)
        close(g->net_fd);
    free(g);
}

/* "run wait slices\n"; parsed by hand: sscanf costs as much as the pread. */
static int read_schedstat(int fd, int64_t *run, int64_t *wait, int64_t *slices)
{
    char buf[96], *p = buf, *e;
    int64_t v[3];
    if (lp_pread_once(fd, buf, sizeof buf) <= 0)
        return -1;
    for (int i = 0; i < 3; i++, p = e) {
        v[i] = strtoll(p, &e, 10);
        if (e == p)
            return -1;
    }
    *run = v[0];
    *wait = v[1];
    *slices = v[2];
    return 0;
}

static int has_tid(const proc *p, int tid)
{
    for (size_t i = 0; i < p->nt; i++)
        if (p->t[i].tid == tid)
            return 1;
    return 0;
}

/* Field n (1-based, n >= 3) of a stat line, counted after the ")" of comm
 * (which may hold spaces), or -1. */
static int64_t stat_field(const char *buf, int n)
{
    const char *p = strrchr(buf, ')');
    /* the space before field N is the (N-2)th after ")" */
    for (int field = 3; field <= n && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoll(p + 1, NULL, 10) : -1;
}

/* Was the task whose stat line this is started since the last sweep
 * (field 22, start time in clock ticks since boot)?  Then all its counters
 * are new, not only what it does from now on. */
static int born_since_last_sweep(const proc_state *s, const char *stat)
{
    /* ">": a task started in the same tick as the last sweep may already
     * have been counted; missing up to one tick beats counting twice */
    return s->last_sweep_ticks && stat_field(stat, 22) > s->last_sweep_ticks;
}

/* comm, field 2 of a stat line (between "(" and the last ")"), into out
 * (truncated to len); "" when the line has none. */
static void stat_comm(const char *stat, char *out, size_t len)
{
    const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
    if (open && close && close > open)
        snprintf(out, len, "%.*s", (int)(close - open - 1), open + 1);
    else
        snprintf(out, len, "%s", "");
}

/* The program a stat line shows: comm, start_code (field 26) and
 * start_stack (28).  Unsettled while an exec is under way: the new address
 * space starts empty (start_code 0) and its arguments are set last
 * (arg_start and arg_end, fields 48 and 49), so until then its command line
 * reads empty.  An agent not allowed to look into the process reads
 * start_code 1 and no arguments: then comm alone tells programs apart. */
static program stat_program(const char *stat)
{
    program pr = {.start_code = 0};
    int64_t code = stat_field(stat, 26), arg_start = stat_field(stat, 48), arg_end = stat_field(stat, 49);
    if (code <= 0 || (code > 1 && arg_end >= 0 && arg_end <= arg_start))
        return pr;
    stat_comm(stat, pr.comm, sizeof pr.comm);
    pr.start_code = code;
    pr.start_stack = stat_field(stat, 28);
    return pr;
}

static int same_program(const program *a, const program *b)
{
    return a->start_code == b->start_code && a->start_stack == b->start_stack &&
           strcmp(a->comm, b->comm) == 0;
}

/* List task/ and open the schedstat of threads not yet held; their counters
 * count from now, or from their start if that was after the last sweep. */
static void rescan_threads(proc_state *s, proc *p)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%d/task", s->proc_root, p->pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int tid = atoi(e->d_name);
        if (tid <= 0 || has_tid(p, tid))
            continue;
        if (p->nt == p->capt) {
            size_t nc = p->capt ? p->capt * 2 : 4;
            thr *nt = realloc(p->t, nc * sizeof *nt);
            if (!nt)
                break;
            p->t = nt;
            p->capt = nc;
        }
        char sp[PATH_MAX];
        snprintf(sp, sizeof sp, "%s/%d/task/%d/schedstat", s->proc_root, p->pid, tid);
        thr *t = &p->t[p->nt];
        t->tid = tid;
        t->fd = open(sp, O_RDONLY | O_CLOEXEC);
        if (t->fd < 0)
            continue;
        if (read_schedstat(t->fd, &t->run, &t->wait, &t->slices) < 0) {
            close(t->fd);
            continue;
        }
        snprintf(sp, sizeof sp, "%s/%d/task/%d/stat", s->proc_root, p->pid, tid);
        char stat[1024];
        if (s->last_sweep_ticks && lp_read_file(sp, stat, sizeof stat) > 0 &&
            born_since_last_sweep(s, stat))
            t->run = t->wait = t->slices = 0;
        p->nt++;
    }
    closedir(d);
}

static int open_pid_file(const proc_state *s, int pid, const char *name, int flags)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%d/%s", s->proc_root, pid, name);
    return open(path, flags | O_CLOEXEC);
}

static int64_t read_io_bytes(int fd)
{
    char buf[512];
    if (fd < 0 || lp_pread_once(fd, buf, sizeof buf) <= 0)
        return -1;
    int64_t r = lp_kv_int(buf, "read_bytes:"), w = lp_kv_int(buf, "write_bytes:");
    return r < 0 || w < 0 ? -1 : r + w;
}

/* The value of key=... in a QEMU option's comma-separated list, or NULL. */
static const char *qemu_opt(const char *opts, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    for (const char *p = opts; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t n = strcspn(p + kl + 1, ",");
            snprintf(out, len, "%.*s", (int)n, p + kl + 1);
            return out;
        }
    }
    return NULL;
}

/* vCPUs of a -smp value: "N[,...]" or "cpus=N,...", else the product of
 * sockets, dies, clusters, cores and threads given; 0 when none is. */
static double smp_vcpus(const char *v)
{
    char num[32];
    if (isdigit((unsigned char)v[0]))
        return strtod(v, NULL);
    if (qemu_opt(v, "cpus", num, sizeof num))
        return strtod(num, NULL);
    static const char *const parts[] = {"sockets", "dies", "clusters", "cores", "threads"};
    double n = 1;
    int any = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (qemu_opt(v, parts[i], num, sizeof num)) {
            n *= strtod(num, NULL);
            any = 1;
        }
    return any ? n : 0;
}

/* A QEMU process's identity from its command line: -uuid (the VM's id,
 * which libvirt sets to the domain's = Nova's instance UUID), -name and
 * -smp (its vCPUs: what it is entitled to; QEMU's default is 1). */
static void qemu_identity(proc_state *s, proc *p)
{
    char path[320], buf[32768];
    snprintf(path, sizeof path, "%s/%d/cmdline", s->proc_root, p->pid);
    ssize_t n = lp_read_file(path, buf, sizeof buf);
    p->vm_vcpus = 1;
    for (ssize_t i = 0; i + 1 < n; i += (ssize_t)strlen(buf + i) + 1) {
        const char *arg = buf + i, *val = arg + strlen(arg) + 1;
        if (val >= buf + n)
            break;
        if (strcmp(arg, "-uuid") == 0)
            snprintf(p->uuid, sizeof p->uuid, "%s", val);
        else if (strcmp(arg, "-name") == 0 && !qemu_opt(val, "guest", p->vm_name, sizeof p->vm_name))
            snprintf(p->vm_name, sizeof p->vm_name, "%.*s", (int)strcspn(val, ","), val);
        else if (strcmp(arg, "-smp") == 0 && smp_vcpus(val) > 0)
            p->vm_vcpus = smp_vcpus(val);
    }
}

/* Is pid in another network namespace than the agent? Then its net/dev
 * counts its own traffic (a container's). */
static int foreign_netns(const proc_state *s, int pid)
{
    char path[320];
    struct stat st;
    snprintf(path, sizeof path, "%s/%d/ns/net", s->proc_root, pid);
    return stat(path, &st) == 0 && st.st_ino != s->own_netns;
}

/* What a user process runs, from its main thread's stat line: its program
 * and, for a QEMU process (command qemu* or kvm), the VM from its command
 * line; anything else is its cgroup's. */
static void identify(proc_state *s, proc *p, const char *stat)
{
    char comm[sizeof p->prog.comm];
    stat_comm(stat, comm, sizeof comm);
    p->prog = stat_program(stat);
    p->uuid[0] = p->vm_name[0] = '\0';
    p->vm_vcpus = 0;
    if (strncmp(comm, "qemu", 4) == 0 || strcmp(comm, "kvm") == 0)
        qemu_identity(s, p);
}

/* Block-I/O delay ticks (field 42 of the main thread's stat) when delay
 * accounting is on, else -1 (unknown). */
static int64_t stat_blk_ticks(const proc_state *s, const char *stat)
{
    return s->delayacct ? stat_field(stat, 42) : -1;
}

static proc *proc_new(proc_state *s, int pid)
{
    proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->pid = pid;
    p->io_fd = p->stat_fd = -1;
    p->task_fd = open_pid_file(s, pid, "task", O_RDONLY | O_DIRECTORY);
    if (p->task_fd < 0)
        return p; /* gone: kept (without files) so that it is not looked at again */
    char name[64], stat[1024];
    snprintf(name, sizeof name, "task/%d/stat", pid);
    p->stat_fd = open_pid_file(s, pid, name, O_RDONLY);
    int64_t flags = p->stat_fd >= 0 && lp_pread_once(p->stat_fd, stat, sizeof stat) > 0 ? stat_field(stat, 9) : -1;
    p->kthread = flags < 0 || ((uint64_t)flags & PF_KTHREAD) != 0;
    if (p->kthread) {
        if (p->stat_fd >= 0)
            close(p->stat_fd);
        p->stat_fd = -1;
    } else {
        identify(s, p, stat);
        p->own_netns = foreign_netns(s, pid);
        p->io_fd = open_pid_file(s, pid, "io", O_RDONLY);
    }
    int born = !p->kthread && born_since_last_sweep(s, stat);
    p->io_bytes = born ? 0 : read_io_bytes(p->io_fd);
    p->blk_ticks = p->kthread ? -1 : born ? 0 : stat_blk_ticks(s, stat);
    rescan_threads(s, p);
    return p;
}

/* The cgroup whose limits and memory are a VM's: libvirt's machine cgroup,
 * of which vcpuN, emulator and iothreadN hold the QEMU threads (cgroup v1). */
static void machine_cgroup(const char *rel, char *out, size_t len)
{
    snprintf(out, len, "%s", rel);
    char *last = strrchr(out, '/');
    if (!last || last == out)
        return;
    const char *leaf = last + 1;
    size_t digits = strspn(leaf + strcspn(leaf, "0123456789"), "0123456789");
    if (strcmp(leaf, "emulator") == 0 ||
        ((strncmp(leaf, "vcpu", 4) == 0 || strncmp(leaf, "iothread", 8) == 0) && digits > 0 &&
         leaf[strcspn(leaf, "0123456789") + digits] == '\0'))
        *last = '\0';
}

/* A new group's counters start at 0; its cgroup files are those of cg_rel
 * (NULL: none, for the processes of the root cgroup, whose counters are
 * the host's), its v1 cpuset found from its first member, pid. */
static group *group_new(proc_state *s, const char *key, const char *cg_rel, int pid)
{
    group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    snprintf(g->key, sizeof g->key, "%s", key);
    lp_counters_init(&g->acc);
    g->acc.run_ns = g->acc.wait_ns = g->acc.timeslices = 0;
    g->net_fd = -1;
    g->cg = (lp_cgroup_files){.usage_fd = -1, .stat_fd = -1, .pressure_fd = -1, .memory_fd = -1,
                              .quota_fd = -1, .period_fd = -1, .cpuset_fd = -1};
    if (cg_rel) {
        char cpuset[PATH_MAX];
        int has_cpuset = s->fs.cpuset_mount[0] && lp_cgroup_path(s->proc_root, pid, "cpuset", cpuset, sizeof cpuset) == 0;
        lp_cgroup_open(&s->fs, cg_rel, has_cpuset ? cpuset : NULL, &g->cg);
    }
    return g;
}

static group *group_get(proc_state *s, const char *key, const char *cg_rel, int pid)
{
    group *g = find_group(s, key);
    if (g)
        return g;
    g = group_new(s, key, cg_rel, pid);
    if (g && vec_push(&s->fresh_groups, g) < 0) {
        group_free(g);
        return NULL;
    }
    return g;
}

static int64_t read_net_bytes(int fd)
{
    char buf[8192];
    if (lp_pread_all(fd, buf, sizeof buf) <= 0)
        return -1;
    int64_t sum = 0;
    char *line = strchr(buf, '\n');
    line = line ? strchr(line + 1, '\n') : NULL; /* two header lines */
    while (line && *++line) {
        char ifn[64];
        long long rx, tx;
        if (sscanf(line, " %63[^:]: %lld %*d %*d %*d %*d %*d %*d %*d %lld", ifn, &rx, &tx) == 3 &&
            strcmp(ifn, "lo") != 0)
            sum += rx + tx;
        line = strchr(line, '\n');
    }
    return sum;
}

/* Has the process more or fewer threads than held (the link count of its
 * task/ directory)? */
static int threads_changed(const proc *p)
{
    struct stat st;
    return fstat(p->task_fd, &st) == 0 && (size_t)st.st_nlink != p->nt + 2;
}

/* Read the threads from index "from" on and add what they did since the last
 * read to the group and the host; drop those that have gone.  Returns LOST
 * if any had, RAN if any ran since its last read. */
enum { RAN = 1, LOST = 2 };
static int account_threads(proc_state *s, proc *p, size_t from)
{
    group *g = p->g;
    lp_counters *h = &s->host;
    size_t live = from;
    int what = 0;
    for (size_t i = from; i < p->nt; i++) {
        thr *t = &p->t[i];
        int64_t run, wait, slices;
        if (read_schedstat(t->fd, &run, &wait, &slices) < 0) {
            close(t->fd);
            what |= LOST;
            continue;
        }
        if (run != t->run || slices != t->slices)
            what |= RAN;
        if (run >= t->run && wait >= t->wait) {
            g->acc.run_ns += run - t->run;
            g->acc.wait_ns += wait - t->wait;
            g->acc.timeslices += slices - t->slices;
            h->run_ns += run - t->run;
            h->wait_ns += wait - t->wait;
            h->timeslices += slices - t->slices;
        }
        t->run = run;
        t->wait = wait;
        t->slices = slices;
        p->t[live++] = *t;
    }
    p->nt = live;
    return what;
}

/* Add the process's storage bytes and block-I/O delay since the last read,
 * and see whether it runs another program than the one it was identified
 * by: then identify it again and return 1.  A program still being exec'd
 * (or a main thread that has exited, leaving no address space) is not one. */
static int account_io(proc_state *s, proc *p)
{
    group *g = p->g;
    int64_t io = read_io_bytes(p->io_fd);
    if (io >= 0) {
        if (g->acc.disk_bytes < 0)
            g->acc.disk_bytes = 0;
        if (p->io_bytes >= 0 && io >= p->io_bytes)
            g->acc.disk_bytes += io - p->io_bytes;
        p->io_bytes = io;
    }
    char stat[1024];
    if (p->stat_fd < 0 || lp_pread_once(p->stat_fd, stat, sizeof stat) <= 0)
        return 0;
    int64_t blk = stat_blk_ticks(s, stat);
    if (blk >= 0) {
        if (g->acc.blkio_delay_ns < 0)
            g->acc.blkio_delay_ns = 0;
        if (p->blk_ticks >= 0 && blk >= p->blk_ticks)
            g->acc.blkio_delay_ns += (blk - p->blk_ticks) * s->tick_ns;
        p->blk_ticks = blk;
    }
    program now = stat_program(stat);
    if (!now.start_code || same_program(&now, &p->prog))
        return 0;
    identify(s, p, stat);
    return 1;
}

/* A process in a network namespace of its own gives its group's network
 * counters (its net/dev), unless another member already does. */
static void open_net(const proc_state *s, proc *p)
{
    if (p->g->net_fd < 0 && p->own_netns)
        p->g->net_fd = open_pid_file(s, p->pid, "net/dev", O_RDONLY);
}

/* Threads started since the process was last listed: hold and count them.
 * Returns 1 when the process was identified again (account_io). */
static int add_new_threads(proc_state *s, proc *p)
{
    size_t old = p->nt;
    rescan_threads(s, p);
    account_threads(s, p, old);
    p->g->threads += (double)(p->nt - old);
    return p->nt != old ? account_io(s, p) : 0;
}

/* Read one process and add what it did since last sweep to its group.
 * check_threads: look for new threads here (else the caller checks the
 * cgroup's thread count).  Returns 1 when it was identified again: it
 * exec'd since its last read. */
static int proc_account(proc_state *s, proc *p, int check_threads)
{
    group *g = p->g;
    size_t held = p->nt;
    if (check_threads && threads_changed(p))
        rescan_threads(s, p);
    int what = account_threads(s, p, 0);
    if (what & LOST) {
        /* a thread went: others may have come; the new ones count from
         * their start (or from now), read again at the next sweep */
        rescan_threads(s, p);
    }
    g->threads += (double)p->nt;
    /* I/O is accounted in the context of the task doing it (and of exiting
     * threads into the process's totals), and a program is exec'd by one
     * of its threads: a process none of whose threads ran, came or went
     * has the same io and stat as at its last read, and the same program.
     * A new group's totals start known (0) with its first members' reads. */
    int execd = 0;
    if (what || p->nt != held || (g->acc.disk_bytes < 0 && p->io_fd >= 0) ||
        (s->delayacct && g->acc.blkio_delay_ns < 0 && p->stat_fd >= 0))
        execd = account_io(s, p);
    open_net(s, p);
    return execd;
}

/* Number of threads in the cgroup (v1 tasks, v2 cgroup.threads), or -1. */
static long cgroup_threads(const proc_state *s, const cgdir *d)
{
    char path[2 * PATH_MAX + 16], buf[8192];
    snprintf(path, sizeof path, "%s%s/%s", s->fs.group_mount, strcmp(d->rel, "/") == 0 ? "" : d->rel,
             s->fs.group_v2 ? "cgroup.threads" : "tasks");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long lines = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (const char *c = buf; (c = memchr(c, '\n', (size_t)(buf + r - c))); c++)
            lines++;
    close(fd);
    return r < 0 ? -1 : lines;
}

/* Read the next pid of a cgroup.procs listing (one per line) at *p and move
 * past it.  @return 1, or 0 at the end of the list. */
static int next_pid(const char **p, long *pid)
{
    char *end;
    if (!**p)
        return 0;
    *pid = strtol(*p, &end, 10);
    if (end == *p)
        return 0;
    *p = *end ? end + 1 : end;
    return 1;
}

static void dir_free(cgdir *d)
{
    free(d);
}

/* The group of process pr listed in cgroup d: its VM's (a QEMU process,
 * wherever its threads sit), the host's (a kernel thread, or a process of
 * the root cgroup), one of its own (a root-cgroup process with
 * include_root), else the cgroup's.  NULL on ENOMEM. */
static group *group_of(proc_state *s, cgdir *d, proc *pr, int is_root)
{
    if (pr->kthread || (is_root && !s->include_root && !pr->uuid[0]))
        return s->root;
    if (!pr->uuid[0] && !is_root && pr->g && pr->g == d->g)
        return pr->g; /* still in this cgroup's group: no key to build */
    char key[LP_COUNTERS_ID_MAX], cg[PATH_MAX];
    if (pr->uuid[0])
        snprintf(key, sizeof key, "%s", pr->uuid);
    else if (is_root)
        snprintf(key, sizeof key, "pid:%d", pr->pid);
    else
        snprintf(key, sizeof key, "%.191s", d->rel);
    if (pr->g && strcmp(pr->g->key, key) == 0)
        return pr->g;
    if (!pr->uuid[0] && !is_root && d->g)
        return pr->g = d->g;
    if (pr->uuid[0])
        machine_cgroup(d->rel, cg, sizeof cg);
    group *g = group_get(s, key, is_root ? NULL : pr->uuid[0] ? cg : d->rel, pr->pid);
    if (g && pr->uuid[0]) {
        g->vm_vcpus = pr->vm_vcpus;
        snprintf(g->acc.name, sizeof g->acc.name, "%s", pr->vm_name);
        g->acc.runtime = LP_RUNTIME_VM;
    } else if (g && !is_root) {
        d->g = g;
    }
    return g;
}

/* A group's first member this sweep: its counters are read from now (one
 * clock read per group: it may be a syscall in a VM). */
static void group_enter(proc_state *s, group *g)
{
    if (g->sweep == s->sweep)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    g->acc.read_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    g->sweep = s->sweep;
    g->threads = 0;
}

/* Process pr, listed in cgroup d, has been identified again (it exec'd):
 * from now on it counts for the group of what it is now — a VM's that is
 * new starts its counters at 0 — while what it did up to this sweep's read
 * stays with the group it was in. */
static void regroup(proc_state *s, cgdir *d, proc *pr, int is_root)
{
    group *old = pr->g, *g = group_of(s, d, pr, is_root);
    if (!g || g == old) {
        pr->g = old;
        return;
    }
    old->threads -= (double)pr->nt;
    pr->g = g;
    group_enter(s, g);
    g->threads += (double)pr->nt;
    /* its io and stat were read just now: a new group's totals start here */
    if (g->acc.disk_bytes < 0 && pr->io_bytes >= 0)
        g->acc.disk_bytes = 0;
    if (g->acc.blkio_delay_ns < 0 && pr->blk_ticks >= 0)
        g->acc.blkio_delay_ns = 0;
    open_net(s, pr);
}

/* The cgroup d holds threads not held yet (or a process whose threads are
 * counted elsewhere): ask every process listed in s->buf that was counted
 * this sweep. */
static void find_new_threads(proc_state *s, cgdir *d, int is_root)
{
    const char *p = s->buf;
    long pid;
    while (next_pid(&p, &pid)) {
        proc *pr = find_proc(s, (int)pid);
        if (pr && pr->sweep == s->sweep && pr->g && pr->g->sweep == s->sweep && pr->nt &&
            threads_changed(pr) && add_new_threads(s, pr))
            regroup(s, d, pr, is_root);
    }
}

/* Visit the processes listed in one cgroup directory.  cgroup.procs is
 * opened afresh: a kept-open one, read again from offset 0, can return
 * processes that have already left (its task iterator keeps its place). */
static void visit_dir(proc_state *s, cgdir *d)
{
    char path[2 * PATH_MAX + 16];
    snprintf(path, sizeof path, "%s%s/cgroup.procs", s->fs.group_mount, strcmp(d->rel, "/") == 0 ? "" : d->rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n;
    for (;;) {
        n = lp_pread_all(fd, s->buf, s->buflen);
        if (n < 0 || (size_t)n + 1 < s->buflen)
            break;
        char *nb = realloc(s->buf, s->buflen * 2);
        if (!nb)
            break;
        s->buf = nb;
        s->buflen *= 2;
    }
    close(fd);
    if (n <= 0)
        return;
    int is_root = strcmp(d->rel, "/") == 0;
    /* New threads: with a few processes, ask each (an fstat); with more,
     * compare the cgroup's thread count with the threads held (one file). */
    size_t npids = 0;
    for (const char *c = s->buf; (c = strchr(c, '\n')); c++)
        npids++;
    int per_proc = npids < PER_CGROUP_THREAD_CHECK;
    size_t held = 0;
    const char *p = s->buf;
    long pid;
    while (next_pid(&p, &pid)) {
        proc *pr = find_proc(s, (int)pid);
        if (!pr) {
            pr = proc_new(s, (int)pid);
            if (!pr || vec_push(&s->fresh_procs, pr) < 0) {
                proc_free(pr);
                continue;
            }
        }
        if (pr->sweep == s->sweep)
            continue; /* v1: a process whose threads sit in several cgroups */
        pr->sweep = s->sweep;
        if (pr->task_fd < 0 || !pr->nt)
            continue;
        if (!(pr->g = group_of(s, d, pr, is_root)))
            continue;
        group_enter(s, pr->g);
        if (proc_account(s, pr, per_proc))
            regroup(s, d, pr, is_root);
        held += pr->nt;
    }
    if (!per_proc && cgroup_threads(s, d) != (long)held)
        find_new_threads(s, d, is_root);
}

static void walk(proc_state *s, const char *rel, int depth)
{
    cgdir *d = find_dir(s, rel);
    if (!d) {
        for (size_t i = 0; i < s->fresh_dirs.n && !d; i++)
            if (strcmp(((cgdir *)s->fresh_dirs.v[i])->rel, rel) == 0)
                d = s->fresh_dirs.v[i];
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s", s->fs.group_mount, strcmp(rel, "/") == 0 ? "" : rel);
    if (!d) {
        d = calloc(1, sizeof *d);
        if (!d || vec_push(&s->fresh_dirs, d) < 0) {
            free(d);
            return;
        }
        snprintf(d->rel, sizeof d->rel, "%s", rel);
    }
    d->sweep = s->sweep;
    /* The root last: on cgroup v1 it also lists a process of which only
     * some threads are in it; such a process belongs to its other cgroup. */
    int is_root = strcmp(rel, "/") == 0;
    if (!is_root)
        visit_dir(s, d);
    DIR *dir = depth < MAX_CGROUP_DEPTH ? opendir(path) : NULL;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", is_root ? "" : rel, e->d_name) < (int)sizeof sub)
            walk(s, sub, depth + 1);
    }
    if (dir)
        closedir(dir);
    if (is_root)
        visit_dir(s, d);
}

/* Drop entries not seen this sweep, take in the fresh ones, sort. */
static void settle(vec *all, vec *fresh, unsigned long sweep, size_t sweep_off,
                   void (*freefn)(void *), int (*cmp)(const void *, const void *))
{
    size_t k = 0;
    for (size_t i = 0; i < all->n; i++) {
        unsigned long seen = *(unsigned long *)((char *)all->v[i] + sweep_off);
        if (seen == sweep)
            all->v[k++] = all->v[i];
        else
            freefn(all->v[i]);
    }
    all->n = k;
    for (size_t i = 0; i < fresh->n; i++) {
        unsigned long seen = *(unsigned long *)((char *)fresh->v[i] + sweep_off);
        if (seen != sweep || vec_push(all, fresh->v[i]) < 0)
            freefn(fresh->v[i]);
    }
    fresh->n = 0;
    if (all->n > 1)
        qsort(all->v, all->n, sizeof(void *), cmp);
}

static void proc_free_v(void *p) { proc_free(p); }
static void group_free_v(void *p) { group_free(p); }
static void dir_free_v(void *p) { dir_free(p); }

static void proc_close(void *state)
{
    proc_state *s = state;
    if (!s)
        return;
    s->sweep++; /* nothing carries this mark: settle frees everything */
    settle(&s->procs, &s->fresh_procs, s->sweep + 1, offsetof(proc, sweep), proc_free_v, cmp_proc);
    settle(&s->groups, &s->fresh_groups, s->sweep + 1, offsetof(group, sweep), group_free_v, cmp_group);
    settle(&s->dirs, &s->fresh_dirs, s->sweep + 1, offsetof(cgdir, sweep), dir_free_v, cmp_dir);
    free(s->procs.v);
    free(s->fresh_procs.v);
    free(s->groups.v);
    free(s->fresh_groups.v);
    free(s->dirs.v);
    free(s->fresh_dirs.v);
    group_free(s->root);
    free(s->buf);
    free(s);
}

static lp_status proc_open(lp_ctx *ctx, const lp_collect_options *cfg, void **state)
{
    if (lp_collect_options_check(ctx, "proc", cfg) != LP_OK)
        return LP_EINVAL;
    proc_state *s = calloc(1, sizeof *s);
    if (!s)
        return lp_ctx_set_error(ctx, LP_ENOMEM, "proc collector: out of memory");
    snprintf(s->proc_root, sizeof s->proc_root, "%s", cfg && cfg->proc_root ? cfg->proc_root : "/proc");
    lp_status st = lp_cgroup_fs_init(ctx, s->proc_root, cfg ? cfg->cgroup_hierarchy : NULL,
                                     cfg ? cfg->cpus : NULL, &s->fs);
    if (st != LP_OK) {
        free(s);
        return st;
    }
    s->include_root = cfg ? cfg->include_root_cgroup : 0;
    char buf[32], path[PATH_MAX];
    snprintf(path, sizeof path, "%s/sys/kernel/task_delayacct", s->proc_root);
    s->delayacct = lp_read_file(path, buf, sizeof buf) > 0 && buf[0] == '1';
    struct stat st_ns;
    snprintf(path, sizeof path, "%s/self/ns/net", s->proc_root);
    s->own_netns = stat(path, &st_ns) == 0 ? st_ns.st_ino : 0;
    long hz = sysconf(_SC_CLK_TCK);
    s->tick_ns = hz > 0 ? 1000000000L / hz : 10000000L;
    lp_counters_init(&s->host);
    s->host.run_ns = s->host.wait_ns = s->host.timeslices = 0;
    s->buflen = 16384;
    s->buf = malloc(s->buflen);
    s->root = group_new(s, "/", NULL, 0);
    if (!s->buf || !s->root) {
        free(s->buf);
        group_free(s->root);
        free(s);
        return lp_ctx_set_error(ctx, LP_ENOMEM, "proc collector: out of memory");
    }
    *state = s;
    return LP_OK;
}

static lp_status proc_sample(lp_ctx *ctx, void *state, lp_sample *out)
{
    proc_state *s = state;
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    int64_t now_ticks = ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec) / s->tick_ns;
    s->sweep++;
    walk(s, "/", 0);
    s->last_sweep_ticks = now_ticks;
    /* forget groups that had no member this sweep before they are freed */
    for (int pass = 0; pass < 2; pass++) {
        vec *v = pass ? &s->dirs : &s->fresh_dirs;
        for (size_t i = 0; i < v->n; i++) {
            cgdir *d = v->v[i];
            if (d->g && d->g->sweep != s->sweep)
                d->g = NULL;
        }
        v = pass ? &s->procs : &s->fresh_procs;
        for (size_t i = 0; i < v->n; i++) {
            proc *p = v->v[i];
            if (p->g && p->g->sweep != s->sweep)
                p->g = NULL;
        }
    }
    settle(&s->procs, &s->fresh_procs, s->sweep, offsetof(proc, sweep), proc_free_v, cmp_proc);
    settle(&s->groups, &s->fresh_groups, s->sweep, offsetof(group, sweep), group_free_v, cmp_group);
    settle(&s->dirs, &s->fresh_dirs, s->sweep, offsetof(cgdir, sweep), dir_free_v, cmp_dir);
    double tasks = s->root->sweep == s->sweep ? s->root->threads : 0;
    for (size_t i = 0; i < s->groups.n; i++) {
        group *g = s->groups.v[i];
        lp_counters *c;
        lp_status st = lp_sample_add(ctx, out, &c);
        if (st != LP_OK)
            return st;
        *c = g->acc;
        lp_cgroup_read(&s->fs, &g->cg, c);
        if (g->net_fd >= 0) {
            int64_t nb = read_net_bytes(g->net_fd);
            c->net_bytes = nb;
            if (nb < 0) {
                close(g->net_fd);
                g->net_fd = -1;
            }
        }
        c->threads = g->threads;
        if (g->vm_vcpus > 0)
            c->vcpus = g->vm_vcpus;
        snprintf(c->id, sizeof c->id, "%s", g->key);
        tasks += g->threads;
    }
    lp_counters *h;
    lp_status st = lp_sample_add(ctx, out, &h);
    if (st != LP_OK)
        return st;
    *h = s->host;
    snprintf(h->id, sizeof h->id, "/");
    h->whole_host = 1;
    h->threads = tasks;
    return LP_OK;
}

const lp_collector_ops lp_collector_proc = {"proc", proc_open, proc_sample, proc_close};
