/* Unit tests of the sampler (rates, merging of one workload seen by several
 * collectors, host demand over every task, class_since, resets), of CPU
 * lists and cgroup limits, and of the collectors' failure paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect_internal.h"
#include "libplacement.h"
#include "libplacement/collect.h"

#define SEC 1000000000LL

typedef struct fixture {
    lp_ctx *ctx;
    lp_sampler *s;
    lp_host_counters hc;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(lp_ctx_new(&f->ctx), LP_OK);
    assert_int_equal(lp_sampler_new(f->ctx, &f->s), LP_OK);
    f->hc.cpu_total_ticks = 1000;
    f->hc.run_ns = f->hc.wait_ns = -1;
    f->hc.loadavg1 = 0.5;
    for (int i = 0; i < 3; i++)
        f->hc.psi_some_us[i] = f->hc.psi_full_us[i] = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lp_sampler_free(f->s);
    lp_ctx_free(f->ctx);
    free(f);
    return 0;
}

static lp_counters *add(lp_sample *s, const char *id, int64_t run, int64_t wait)
{
    lp_counters *c = NULL;
    assert_int_equal(lp_sample_add(NULL, s, &c), LP_OK);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->run_ns = run;
    c->wait_ns = wait;
    c->threads = 4;
    return c;
}

static const lp_workload *find(const lp_host *h, const char *id)
{
    for (size_t i = 0; i < h->n_workloads; i++)
        if (!strcmp(h->workloads[i].id, id))
            return &h->workloads[i];
    return NULL;
}

/* Wall-clock time of a sweep at monotonic time t. */
#define WALL(t) (1.7e9 + (double)(t) / 1e9 + 0.25)

static void feed(fixture *f, int64_t t, lp_sample *s, lp_host *h)
{
    assert_int_equal(lp_sampler_feed(f->ctx, f->s, t, WALL(t), &f->hc, s), LP_OK);
    lp_host_init(h, LP_HOST_VERSION);
    assert_int_equal(lp_sampler_fill_host(f->ctx, f->s, h), LP_OK);
}

static void test_rates_from_two_sweeps(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    lp_host h;
    lp_counters *c = add(&s, "w", 10 * SEC, 5 * SEC);
    c->net_bytes = 1000;
    c->disk_bytes = 0;
    c->blkio_delay_ns = 0;
    feed(f, 100 * SEC, &s, &h);
    assert_int_equal(h.n_workloads, 1);
    /* first sweep: nothing to compare with */
    assert_true(h.workloads[0].demand < 0);
    assert_int_equal(h.workloads[0].klass, LP_CLASS_UNKNOWN);

    s.n = 0;
    c = add(&s, "w", 12 * SEC, 11 * SEC); /* over 2 s: run 1/s, wait 3/s */
    c->net_bytes = 5000;
    c->disk_bytes = 2000;
    c->blkio_delay_ns = SEC / 10; /* 0.05/s */
    f->hc.cpu_total_ticks = 1400;
    f->hc.cpu_busy_ticks = 200;
    feed(f, 102 * SEC, &s, &h);
    const lp_workload *w = find(&h, "w");
    assert_non_null(w);
    assert_float_equal(w->util, 1.0, 1e-9);
    assert_float_equal(w->demand, 4.0, 1e-9);
    assert_float_equal(w->wait_ratio, 3.0, 1e-9);
    assert_float_equal(w->iowait, 0.05 / 4.05, 1e-9);
    assert_float_equal(w->net_bps, 2000.0, 1e-9);
    assert_float_equal(w->disk_bps, 1000.0, 1e-9);
    assert_float_equal(w->threads, 4, 0);
    assert_int_equal(w->klass, LP_CLASS_CPU);
    /* no /proc/schedstat: host demand is the load average */
    assert_float_equal(h.load_demand, 0.5, 1e-9);
    lp_sample_clear(&s);
}

static void test_claimed_workload_is_merged_into_claimer(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    lp_host h;
    for (int round = 0; round < 2; round++) {
        s.n = 0;
        add(&s, "/docker/abc", (1 + round) * SEC, 0);
        lp_counters *d = add(&s, "abc", -1, -1);
        snprintf(d->claim, sizeof d->claim, "/docker/abc");
        snprintf(d->name, sizeof d->name, "web");
        d->runtime = LP_RUNTIME_CONTAINER;
        d->threads = 0;
        feed(f, (1 + round) * SEC, &s, &h);
    }
    assert_int_equal(h.n_workloads, 1);
    assert_string_equal(h.workloads[0].id, "abc");
    assert_int_equal(h.workloads[0].runtime, LP_RUNTIME_CONTAINER);
    assert_float_equal(h.workloads[0].util, 1.0, 1e-9);
    assert_float_equal(h.workloads[0].threads, 4, 0); /* taken from the cgroup's workload */
    assert_string_equal(lp_sampler_get_extra(f->s, 0)->name, "web");
    assert_null(lp_sampler_get_extra(f->s, 1));
    lp_sample_clear(&s);
}

static void test_counter_reset_gives_unknown(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    lp_host h;
    add(&s, "w", 50 * SEC, 0);
    feed(f, 1 * SEC, &s, &h);
    s.n = 0;
    add(&s, "w", 1 * SEC, 0); /* restarted */
    feed(f, 2 * SEC, &s, &h);
    assert_true(h.workloads[0].util < 0);
    assert_true(h.workloads[0].demand < 0);
    lp_sample_clear(&s);
}

static void test_cgroup_usage_gives_util_without_task_times(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    lp_host h;
    for (int round = 0; round < 2; round++) {
        s.n = 0;
        lp_counters *c = add(&s, "cg", -1, -1);
        c->cgroup_usage_ns = round * SEC / 2;
        feed(f, (1 + round) * SEC, &s, &h);
    }
    assert_float_equal(h.workloads[0].util, 0.5, 1e-9);
    assert_true(h.workloads[0].wait_ratio < 0);
    lp_sample_clear(&s);
}

static void test_time_must_increase(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    assert_false(lp_sampler_ready(f->s));
    assert_int_equal(lp_sampler_feed(f->ctx, f->s, 5 * SEC, 1e9, &f->hc, &s), LP_OK);
    assert_false(lp_sampler_ready(f->s));
    assert_int_equal(lp_sampler_feed(f->ctx, f->s, 5 * SEC, 1e9, &f->hc, &s), LP_EINVAL);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "not after the last sweep"));
    assert_int_equal(lp_sampler_feed(f->ctx, f->s, 6 * SEC, 1e9, NULL, &s), LP_EINVAL);
    assert_int_equal(lp_sampler_feed(f->ctx, f->s, 6 * SEC, -1, &f->hc, &s), LP_EINVAL);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "wall-clock"));
    assert_false(lp_sampler_ready(f->s));
    assert_int_equal(lp_sampler_feed(f->ctx, f->s, 6 * SEC, 1e9 + 1, &f->hc, &s), LP_OK);
    assert_true(lp_sampler_ready(f->s));
    assert_false(lp_sampler_ready(NULL));
}

/* The built-in collector called name, or NULL when it is not built in. */
static const lp_collector_ops *find_collector(const char *name)
{
    const lp_collector_ops *ops = NULL;
    return lp_collector_find(NULL, name, &ops) == LP_OK ? ops : NULL;
}

static void test_collector_table(void **state)
{
    fixture *f = *state;
    const lp_collector_ops *ops = NULL;
    assert_int_equal(lp_collector_find(f->ctx, "proc", &ops), LP_OK);
    assert_ptr_equal(ops, lp_collector_builtin(0));
    assert_int_equal(lp_collector_find(f->ctx, "nope", &ops), LP_ENOTFOUND);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "collector 'nope' is not built in (built in: proc"));
    assert_ptr_equal(ops, lp_collector_builtin(0)); /* untouched on failure */
    assert_int_equal(lp_collector_find(f->ctx, NULL, &ops), LP_EINVAL);
    assert_int_equal(lp_collector_find(f->ctx, "proc", NULL), LP_EINVAL);
    for (size_t i = 0; lp_collector_builtin(i); i++)
        assert_ptr_equal(find_collector(lp_collector_builtin(i)->name), lp_collector_builtin(i));
}

static void test_host_counters(void **state)
{
    fixture *f = *state;
    lp_host_counters hc;
    assert_int_equal(lp_host_counters_read(f->ctx, NULL, &hc), LP_OK);
    assert_true(hc.cpu_total_ticks > 0);
    assert_true(hc.cpu_busy_ticks <= hc.cpu_total_ticks);
    assert_int_equal(lp_host_counters_read(f->ctx, "/nonexistent-proc", &hc), LP_EIO);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "/nonexistent-proc/stat"));
    lp_host h;
    char name[64];
    lp_host_init(&h, LP_HOST_VERSION);
    assert_int_equal(lp_host_describe(f->ctx, "h1", NULL, name, sizeof name, &h), LP_OK);
    assert_string_equal(h.name, "h1");
    assert_true(h.threads >= h.cores && h.cores >= h.sockets && h.sockets >= 1);
    assert_int_equal(h.threads, sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(h.memory_mb > 0);
    assert_int_equal(lp_host_validate(f->ctx, &h), LP_OK);
}

/* Options and hosts of a version this build does not know are refused, never read. */
static void test_unknown_versions_are_refused(void **state)
{
    fixture *f = *state;
    lp_collect_options o;
    assert_int_equal(lp_collect_options_init(&o, LP_COLLECT_OPTIONS_VERSION + 1), LP_EINVAL);
    assert_int_equal(lp_collect_options_init(NULL, LP_COLLECT_OPTIONS_VERSION), LP_EINVAL);
    assert_int_equal(lp_collect_options_init(&o, LP_COLLECT_OPTIONS_VERSION), LP_OK);
    assert_int_equal(o.version, LP_COLLECT_OPTIONS_VERSION);
    assert_null(o.proc_root);
    o.version = 5;
    for (size_t i = 0; lp_collector_builtin(i); i++) {
        const lp_collector_ops *ops = lp_collector_builtin(i);
        void *st = NULL;
        assert_int_equal(ops->open(f->ctx, &o, &st), LP_EINVAL);
        assert_null(st);
        assert_non_null(strstr(lp_ctx_last_error(f->ctx),
                               "collector: lp_collect_options version 5 is newer than this library"));
    }
    lp_host h;
    char name[64];
    lp_host_init(&h, LP_HOST_VERSION);
    h.version = 0;
    assert_int_equal(lp_host_describe(f->ctx, "h1", NULL, name, sizeof name, &h), LP_EINVAL);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "lp_host version 0 is not valid"));
    assert_int_equal(lp_sampler_fill_host(f->ctx, f->s, &h), LP_EINVAL);
    assert_null(h.workloads);
}

/* cpu.threads counts the CPUs available to workloads, not the host's. */
static void test_host_describe_cpu_set(void **state)
{
    fixture *f = *state;
    lp_host h;
    char name[64];
    lp_host_init(&h, LP_HOST_VERSION);
    assert_int_equal(lp_host_describe(f->ctx, "h1", "0", name, sizeof name, &h), LP_OK);
    assert_int_equal(h.threads, 1);
    assert_int_equal(h.cores, 1);
    assert_int_equal(h.sockets, 1);
    /* CPUs that are not online do not count; Nova's ^ excludes */
    assert_int_equal(lp_host_describe(f->ctx, "h1", "0,8000-8100", name, sizeof name, &h), LP_OK);
    assert_int_equal(h.threads, 1);
    assert_int_equal(lp_host_describe(f->ctx, "h1", "0-8191,^0", name, sizeof name, &h), LP_OK);
    assert_int_equal(h.threads, sysconf(_SC_NPROCESSORS_ONLN) - 1 > 0 ? sysconf(_SC_NPROCESSORS_ONLN) - 1 : 0);
    h.threads = 7;
    assert_int_equal(lp_host_describe(f->ctx, "h1", "8000", name, sizeof name, &h), LP_EINVAL);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "none of these CPUs is online"));
    assert_int_equal(lp_host_describe(f->ctx, "h1", "0-x", name, sizeof name, &h), LP_EINVAL);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "\"0-x\""));
    assert_int_equal(h.threads, 7); /* untouched on error */
}

static void test_cpu_lists(void **state)
{
    (void)state;
    lp_cpuset a, b;
    char err[160];
    assert_int_equal(lp_cpuset_parse("2-7,10", &a, err, sizeof err), 0);
    assert_int_equal(lp_cpuset_count(&a), 7);
    assert_true(lp_cpuset_has(&a, 2) && lp_cpuset_has(&a, 7) && lp_cpuset_has(&a, 10));
    assert_false(lp_cpuset_has(&a, 8) || lp_cpuset_has(&a, 1));
    /* Nova's syntax: exclusions, spaces, empty elements */
    assert_int_equal(lp_cpuset_parse(" 4-12, ^8 ,15,,^10-11", &b, err, sizeof err), 0);
    assert_int_equal(lp_cpuset_count(&b), 7); /* 4-7, 9, 12, 15 */
    assert_false(lp_cpuset_has(&b, 8) || lp_cpuset_has(&b, 10) || lp_cpuset_has(&b, 11));
    /* the kernel's files end in a newline; an empty cpuset is empty */
    assert_int_equal(lp_cpuset_parse("0-1\n", &a, err, sizeof err), 0);
    assert_int_equal(lp_cpuset_count(&a), 2);
    assert_int_equal(lp_cpuset_parse("\n", &a, err, sizeof err), 0);
    assert_int_equal(lp_cpuset_count(&a), 0);
    assert_int_equal(lp_cpuset_parse("0-3", &a, err, sizeof err), 0);
    assert_int_equal(lp_cpuset_parse("1,2", &b, err, sizeof err), 0);
    assert_true(lp_cpuset_covers(&a, &b));
    assert_false(lp_cpuset_covers(&b, &a));
    static const char *const bad[] = {"a", "3-1", "1-", "-1", "1-2-3", "^", "8192", "1 2", "0x1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(lp_cpuset_parse(bad[i], &a, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i]));
    }
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A cgroup's CPU limit as vcpus: the quota, the size of a cpuset that leaves
 * out some of the workload CPUs, the smaller of the two; 0 when unlimited.
 * cgroup v2's cpu controller cannot be enabled on this hybrid host, so its
 * files are laid out in a directory standing for the v2 mount. */
static void test_cgroup_limits(void **state)
{
    (void)state;
    char dir[] = "/tmp/lp-agent-cg-XXXXXX", sub[64];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/svc", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    lp_cgroup_fs fs;
    memset(&fs, 0, sizeof fs);
    snprintf(fs.group_mount, sizeof fs.group_mount, "%s", dir);
    fs.group_v2 = 1;
    char err[128];
    assert_int_equal(lp_cpuset_parse("0-7", &fs.workload_cpus, err, sizeof err), 0);
    static const struct {
        const char *max, *cpuset;
        double vcpus;
    } cases[] = {
        {"max 100000\n", "0-7\n", 0},      /* unlimited */
        {"150000 100000\n", "0-7\n", 1.5}, /* quota */
        {"max 100000\n", "2-3\n", 2},      /* cpuset leaving out workload CPUs */
        {"max 100000\n", "0-15\n", 0},     /* a cpuset covering them all */
        {"50000 100000\n", "2-3\n", 0.5},  /* the smaller */
        {"400000 100000\n", "2-3\n", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(sub, "cpu.max", cases[i].max);
        write_file(sub, "cpuset.cpus.effective", cases[i].cpuset);
        lp_cgroup_files cg;
        lp_cgroup_open(&fs, "/svc", NULL, &cg);
        lp_counters c;
        lp_counters_init(&c);
        lp_cgroup_read(&fs, &cg, &c);
        assert_float_equal(c.vcpus, cases[i].vcpus, 1e-9);
        /* limits are read again each sweep (docker update changes them) */
        write_file(sub, "cpu.max", "max 100000\n");
        write_file(sub, "cpuset.cpus.effective", "0-7\n");
        lp_cgroup_read(&fs, &cg, &c);
        assert_float_equal(c.vcpus, 0, 0);
        lp_cgroup_close(&cg);
    }
    static const char *const files[] = {"cpu.max", "cpuset.cpus.effective"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", sub, files[i]);
        unlink(path);
    }
    rmdir(sub);
    rmdir(dir);
}

/* One VM seen by libvirt (precedence 1) and by the proc collector through
 * its QEMU process (same id): one workload, libvirt's counters first, what
 * only the process gives (disk bytes, memory) taken from it. */
static void test_same_id_entries_merge_by_precedence(void **state)
{
    fixture *f = *state;
    const char *uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    for (int libvirt_first = 0; libvirt_first < 2; libvirt_first++) {
        lp_sampler *sp;
        assert_int_equal(lp_sampler_new(f->ctx, &sp), LP_OK);
        lp_sample s = {0};
        lp_host h;
        for (int round = 0; round < 2; round++) {
            s.n = 0;
            for (int k = 0; k < 2; k++) {
                if (k == libvirt_first) { /* libvirt: vCPU time 1 CPU + delay 0.25 */
                    lp_counters *v = add(&s, uuid, (5 + 2 * round) * SEC, round * SEC / 2);
                    v->precedence = 1;
                    v->vcpus = v->threads = 2;
                    v->runtime = LP_RUNTIME_VM;
                    snprintf(v->name, sizeof v->name, "instance-00000001");
                    snprintf(v->flavor, sizeof v->flavor, "m1.small");
                    snprintf(v->image, sizeof v->image, "155d900f-4e14-4e4c-a73d-069cbf4541e6");
                } else { /* its QEMU process: 1.5 CPUs over all its threads */
                    lp_counters *q = add(&s, uuid, (10 + 3 * round) * SEC, 0);
                    q->threads = 40;
                    q->vcpus = 4;
                    q->disk_bytes = round * 1000;
                    q->memory_mb = 512;
                    q->runtime = LP_RUNTIME_VM;
                }
            }
            assert_int_equal(lp_sampler_feed(f->ctx, sp, (1 + 2 * round) * SEC, 1e9, &f->hc, &s), LP_OK);
        }
        lp_host_init(&h, LP_HOST_VERSION);
        assert_int_equal(lp_sampler_fill_host(f->ctx, sp, &h), LP_OK);
        assert_int_equal(h.n_workloads, 1);
        const lp_workload *w = find(&h, uuid);
        assert_non_null(w);
        assert_float_equal(w->util, 1.0, 1e-9);
        assert_float_equal(w->demand, 1.25, 1e-9);
        assert_float_equal(w->vcpus, 2, 0);
        assert_float_equal(w->threads, 2, 0);
        assert_float_equal(w->disk_bps, 500, 1e-9);
        assert_float_equal(w->memory_mb, 512, 0);
        assert_string_equal(lp_sampler_get_extra(sp, 0)->name, "instance-00000001");
        lp_sample_clear(&s);
        lp_sampler_free(sp);
    }
}

/* The whole_host entry is not a workload: it gives host demand as the run
 * time (at least what /proc/stat saw busy) plus the wait time of every
 * task, where the load average would trail by minutes. */
static void test_whole_host_entry_gives_host_demand(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    lp_host h;
    f->hc.loadavg1 = 0.2;
    for (int round = 0; round < 2; round++) {
        s.n = 0;
        add(&s, "/svc", round * SEC, 0);
        lp_counters *all = add(&s, "/", round * 3 * SEC / 2, round * 2 * SEC); /* 1.5 run + 2 wait */
        all->whole_host = 1;
        all->threads = 130;
        f->hc.cpu_total_ticks = 1000 + round * 200;
        f->hc.cpu_busy_ticks = 500 + round * (long)sysconf(_SC_CLK_TCK); /* 1 CPU busy per /proc/stat */
        feed(f, (1 + round) * SEC, &s, &h);
    }
    assert_int_equal(h.n_workloads, 1);
    assert_string_equal(h.workloads[0].id, "/svc");
    assert_float_equal(h.load_demand, 3.5, 1e-9);
    assert_float_equal(lp_sampler_get_tasks(f->s), 130, 0);
    /* tasks that exited between the sweeps: /proc/stat saw more run time */
    s.n = 0;
    lp_counters *all = add(&s, "/", 3 * SEC + SEC / 2, 4 * SEC); /* +0.5 run, +2 wait */
    all->whole_host = 1;
    f->hc.cpu_total_ticks += 200;
    f->hc.cpu_busy_ticks += 2 * sysconf(_SC_CLK_TCK); /* 2 CPUs busy */
    feed(f, 3 * SEC, &s, &h);
    assert_float_equal(h.load_demand, 4.0, 1e-9);
    /* /proc/schedstat, when the kernel has it, is complete: it wins */
    s.n = 0;
    all = add(&s, "/", 5 * SEC, 6 * SEC);
    all->whole_host = 1;
    f->hc.run_ns = 0;
    f->hc.wait_ns = 0;
    feed(f, 4 * SEC, &s, &h);
    s.n = 0;
    all = add(&s, "/", 6 * SEC, 7 * SEC);
    all->whole_host = 1;
    f->hc.run_ns = SEC / 2;
    f->hc.wait_ns = SEC / 4;
    feed(f, 5 * SEC, &s, &h);
    assert_float_equal(h.load_demand, 0.75, 1e-9);
    lp_sample_clear(&s);
}

/* The snapshot's time is the wall-clock time of the sweep it comes from. */
static void test_time_is_the_sweeps(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    lp_host h;
    feed(f, 7 * SEC, &s, &h);
    feed(f, 9 * SEC, &s, &h);
    assert_float_equal(h.time, WALL(9 * SEC), 1e-9);
}

/* class_since: since when a workload has had its class without a break —
 * the start of the first window that measured it in that class; a new
 * workload is unknown since it was first seen. */
static void test_class_since(void **state)
{
    fixture *f = *state;
    lp_sample s = {0};
    lp_host h;
    static const struct {
        int64_t run_per_s; /* -1: not measured */
        lp_class klass;
        int since_sweep;
    } rounds[] = {
        {-1, LP_CLASS_UNKNOWN, 1}, /* first seen at sweep 1 */
        {1, LP_CLASS_CPU, 1},      /* measured cpu over sweeps 1..2 */
        {1, LP_CLASS_CPU, 1},
        {0, LP_CLASS_IDLE, 3},     /* idle over 3..4 */
        {0, LP_CLASS_IDLE, 3},
        {1, LP_CLASS_CPU, 5},
    };
    int64_t run = 0;
    for (size_t i = 0; i < sizeof rounds / sizeof rounds[0]; i++) {
        s.n = 0;
        run += rounds[i].run_per_s > 0 ? rounds[i].run_per_s * SEC : 0;
        lp_counters *c = add(&s, "w", run, 0);
        c->threads = 1;
        feed(f, (int64_t)(i + 1) * SEC, &s, &h);
        const lp_workload *w = find(&h, "w");
        assert_int_equal(w->klass, rounds[i].klass);
        assert_float_equal(w->class_since, WALL(rounds[i].since_sweep * SEC), 1e-9);
    }
    lp_sample_clear(&s);
}

/* An unavailable source is LP_EUNAVAIL with a message, never a crash. */
static void test_unavailable_sources(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/lp-agent-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char xen[64];
    snprintf(xen, sizeof xen, "%s/xen", dir);
    assert_int_equal(mkdir(xen, 0755), 0);
    lp_collect_options cfg;
    assert_int_equal(lp_collect_options_init(&cfg, LP_COLLECT_OPTIONS_VERSION), LP_OK);
    cfg.proc_root = dir;
    cfg.libvirt_uri = "qemu:///system?socket=/nonexistent/sock";
    cfg.docker_socket = "/nonexistent/docker.sock";
    static const char *const names[] = {"libvirt", "docker", "libxl"};
    for (size_t i = 0; i < 3; i++) {
        const lp_collector_ops *ops = find_collector(names[i]);
        if (!ops)
            continue; /* not built in */
        void *st = NULL;
        /* libxl: /proc/xen "exists" here but there is no hypervisor */
        assert_int_equal(ops->open(f->ctx, &cfg, &st), LP_EUNAVAIL);
        assert_null(st);
        assert_true(strlen(lp_ctx_last_error(f->ctx)) > 0);
    }
    /* docker on the real /proc: a socket path that exists (libcurl is
     * loaded) but takes no connection, and one that does not exist */
    const lp_collector_ops *docker = find_collector("docker");
    const char *const socks[] = {xen, "/nonexistent/docker.sock"};
    for (size_t i = 0; docker && i < 2; i++) {
        void *st = NULL;
        lp_collect_options dcfg;
        assert_int_equal(lp_collect_options_init(&dcfg, LP_COLLECT_OPTIONS_VERSION), LP_OK);
        dcfg.docker_socket = socks[i];
        assert_int_equal(docker->open(f->ctx, &dcfg, &st), LP_EUNAVAIL);
        assert_null(st);
        assert_non_null(strstr(lp_ctx_last_error(f->ctx), socks[i]));
    }
    rmdir(xen);
    rmdir(dir);
    const lp_collector_ops *proc = find_collector("proc");
    void *st = NULL;
    assert_int_equal(proc->open(f->ctx, &cfg, &st), LP_EUNAVAIL);
    assert_non_null(strstr(lp_ctx_last_error(f->ctx), "mountinfo"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rates_from_two_sweeps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claimed_workload_is_merged_into_claimer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_reset_gives_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cgroup_usage_gives_util_without_task_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_must_increase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collector_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_versions_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_describe_cpu_set, setup, teardown),
        cmocka_unit_test(test_cpu_lists),
        cmocka_unit_test(test_cgroup_limits),
        cmocka_unit_test_setup_teardown(test_same_id_entries_merge_by_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_host_entry_gives_host_demand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_is_the_sweeps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unavailable_sources, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
