/* The model: names, defaults, host validation and clusters. */
#include "testutil.h"

#include <stdlib.h>

#include "internal.h" /* lp_cluster_truncate */

static void class_names_round_trip(void **state)
{
    lp_ctx *ctx = *state;
    for (int i = 0; i < LP_CLASS_COUNT; i++) {
        lp_class k;
        TU_OK(ctx, lp_class_parse(ctx, lp_class_name((lp_class)i), &k));
        assert_int_equal(k, i);
    }
    assert_string_equal(lp_class_name(LP_CLASS_NET), "net");
    assert_string_equal(lp_class_name((lp_class)99), "?");
    lp_class k = LP_CLASS_CPU;
    TU_FAILS(ctx, lp_class_parse(ctx, "CPU", &k), LP_ENOTFOUND,
             "unknown class 'CPU' (expected cpu, net, io, mixed, idle, unknown, auto)");
    TU_FAILS(ctx, lp_class_parse(ctx, "", &k), LP_ENOTFOUND, "unknown class ''");
    assert_int_equal(k, LP_CLASS_CPU);
    TU_FAILS(ctx, lp_class_parse(ctx, NULL, &k), LP_EINVAL, "name is NULL");
    assert_int_equal(lp_class_parse(NULL, "cpu", NULL), LP_EINVAL);
    assert_int_equal(lp_class_parse(NULL, "nope", &k), LP_ENOTFOUND); /* message dropped */
}

static void runtime_names_round_trip(void **state)
{
    lp_ctx *ctx = *state;
    const lp_runtime all[] = {LP_RUNTIME_NONE, LP_RUNTIME_CONTAINER, LP_RUNTIME_UNIKERNEL,
                              LP_RUNTIME_VM, LP_RUNTIME_AUTO};
    for (size_t i = 0; i < 5; i++) {
        lp_runtime r;
        TU_OK(ctx, lp_runtime_parse(ctx, lp_runtime_name(all[i]), &r));
        assert_int_equal(r, all[i]);
    }
    assert_string_equal(lp_runtime_name(LP_RUNTIME_UNIKERNEL), "unikernel");
    assert_string_equal(lp_runtime_name((lp_runtime)(LP_RUNTIME_VM | LP_RUNTIME_CONTAINER)), "?");
    lp_runtime r;
    TU_FAILS(ctx, lp_runtime_parse(ctx, "docker", &r), LP_ENOTFOUND,
             "unknown runtime 'docker' (expected container, unikernel, vm, none, auto)");
    TU_FAILS(ctx, lp_runtime_parse(ctx, "vm", NULL), LP_EINVAL, "out is NULL");
}

static void init_fills_unknowns(void **state)
{
    (void)state;
    lp_workload w;
    memset(&w, 0x5a, sizeof w);
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    assert_string_equal(w.id, "");
    assert_null(w.group);
    assert_true(w.demand < 0 && w.util < 0 && w.net_bps < 0 && w.disk_bps < 0 && w.iowait < 0 &&
                w.wait_ratio < 0 && w.memory_mb < 0);
    assert_true(w.vcpus == 0 && w.threads == 0);
    assert_int_equal(w.klass, LP_CLASS_UNKNOWN);
    assert_int_equal(w.runtime, LP_RUNTIME_NONE);

    lp_host h;
    memset(&h, 0x5a, sizeof h);
    lp_host_init(&h, LP_HOST_VERSION);
    assert_int_equal(h.sockets, 1);
    assert_int_equal(h.cores, 1);
    assert_int_equal(h.threads, 1);
    assert_int_equal(h.runtimes, 0);
    assert_true(h.load_demand < 0 && h.memory_used_mb < 0);
    assert_null(h.workloads);
    assert_int_equal(h.n_workloads, 0);
    assert_int_equal(h.version, LP_HOST_VERSION);
    assert_int_equal(w.version, LP_WORKLOAD_VERSION);
    assert_int_equal(lp_workload_init(NULL, LP_WORKLOAD_VERSION), LP_EINVAL);
    assert_int_equal(lp_host_init(NULL, LP_HOST_VERSION), LP_EINVAL);
}

/* Structs the caller fills carry the version of the header they were built
   with: an unknown one is refused, never read. */
static void unknown_versions_are_refused(void **state)
{
    lp_ctx *ctx = *state;
    lp_host h;
    memset(&h, 0x5a, sizeof h);
    assert_int_equal(lp_host_init(&h, 0), LP_EINVAL);
    assert_int_equal(lp_host_init(&h, LP_HOST_VERSION + 1), LP_EINVAL);
    assert_int_equal(h.sockets, 0x5a5a5a5a); /* untouched */
    lp_workload w;
    assert_int_equal(lp_workload_init(&w, LP_WORKLOAD_VERSION + 1), LP_EINVAL);
    TU_OK(ctx, lp_workload_init(&w, LP_WORKLOAD_VERSION));
    w.id = "vm-1";

    lp_cluster *c = tu_testbed(ctx, 0);
    h = tu_host("h1");
    h.version = 7; /* as a newer caller would have filled it */
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL,
             "lp_host version 7 is newer than this library (1)");
    TU_FAILS(ctx, lp_cluster_add_host(ctx, c, &h), LP_EINVAL, "lp_host version 7");
    h.version = 0; /* never initialised */
    TU_FAILS(ctx, lp_cluster_add_host(ctx, c, &h), LP_EINVAL,
             "lp_host version 0 is not valid: initialise it with lp_host_init()");
    h = tu_host("h1");
    h.workloads = &w;
    h.n_workloads = 1;
    w.version = 2;
    TU_FAILS(ctx, lp_cluster_add_host(ctx, c, &h), LP_EINVAL,
             "host 'h1': workloads[0] ('vm-1'): lp_workload version 2 differs from the host's (1)");
    assert_int_equal(lp_cluster_size(c), 0);
    w.version = LP_WORKLOAD_VERSION;
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    assert_int_equal(lp_cluster_get_host(c, 0)->version, LP_HOST_VERSION);
    assert_int_equal(lp_cluster_get_host(c, 0)->workloads[0].version, LP_WORKLOAD_VERSION);
    char *text = NULL;
    h.version = 3;
    TU_FAILS(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL), LP_EINVAL, "lp_host version 3");
    assert_null(text);
    lp_cluster_free(c);
}

static void host_validation_names_the_field(void **state)
{
    lp_ctx *ctx = *state;
    lp_host h = tu_host("h1");
    TU_OK(ctx, lp_host_validate(ctx, &h));
    h.threads = 0;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "host 'h1': threads (0) must be >= 1");
    h = tu_host("h1");
    h.cores = 16;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "threads (8) must be >= cores (16)");
    h = tu_host("h1");
    h.sockets = 0;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "sockets (0)");
    h = tu_host("h1");
    h.memory_mb = NAN;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "host 'h1': memory_mb (nan)");
    h = tu_host("h1");
    h.memory_mb = -1;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "memory_mb (-1)");
    h = tu_host("h1");
    h.load_demand = INFINITY;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "load.demand");
    h = tu_host("h1");
    h.load_iowait = 1.5;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "load.iowait (1.5)");
    h = tu_host("h1");
    h.runtimes = LP_RUNTIME_ALL | LP_RUNTIME_AUTO;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "runtimes has unknown bits 0x8");
    h = tu_host("h1");
    h.time = -3;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "host 'h1': time (-3) must be a finite number >= 0");
    h.time = NAN;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "time (nan)");
    h = tu_host(NULL);
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "name");
    h = tu_host("");
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "name");
    TU_FAILS(ctx, lp_host_validate(ctx, NULL), LP_EINVAL, "NULL");
    h = tu_host("h1");
    h.n_workloads = 2;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "workloads is NULL");
}

static void workload_validation_names_host_index_and_field(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w[2];
    lp_workload_init(&w[0], LP_WORKLOAD_VERSION);
    lp_workload_init(&w[1], LP_WORKLOAD_VERSION);
    w[0].id = "ok";
    w[1].id = "bad";
    lp_host h = tu_host("h1");
    h.workloads = w;
    h.n_workloads = 2;
    TU_OK(ctx, lp_host_validate(ctx, &h));
    w[1].util = NAN;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "host 'h1': workloads[1] ('bad'): util");
    w[1].util = -1;
    w[1].vcpus = -2;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "vcpus (-2)");
    w[1].vcpus = 2;
    w[1].runtime = LP_RUNTIME_AUTO;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "runtime (0x8)");
    w[1].runtime = LP_RUNTIME_VM;
    w[1].klass = LP_CLASS_AUTO;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "class (6)");
    w[1].klass = LP_CLASS_CPU;
    w[1].confidence = 1.5;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "confidence (1.5)");
    w[1].confidence = 1;
    w[1].class_since = -5;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "workloads[1] ('bad'): class_since (-5)");
    w[1].class_since = 0;
    w[1].id = NULL;
    TU_FAILS(ctx, lp_host_validate(ctx, &h), LP_EINVAL, "id is NULL");
}

static void cluster_copies_hosts_deeply(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    char name[] = "node-1", wid[] = "uuid-1", grp[] = "web", img[] = "img-1", flv[] = "m1.small";
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = wid;
    w.group = grp;
    w.image = img;
    w.flavor = flv;
    w.class_since = 1795679000.5;
    w.demand = 0.5;
    lp_host h = tu_host(name);
    h.time = 1795680000.75;
    h.workloads = &w;
    h.n_workloads = 1;
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    name[0] = wid[0] = grp[0] = img[0] = flv[0] = 'X';
    w.demand = 9;
    const lp_host *got = lp_cluster_get_host(c, 0);
    assert_non_null(got);
    assert_string_equal(got->name, "node-1");
    assert_int_equal(got->n_workloads, 1);
    assert_string_equal(got->workloads[0].id, "uuid-1");
    assert_string_equal(got->workloads[0].group, "web");
    assert_string_equal(got->workloads[0].image, "img-1");
    assert_string_equal(got->workloads[0].flavor, "m1.small");
    TU_NEAR(got->workloads[0].class_since, 1795679000.5, 0);
    TU_NEAR(got->time, 1795680000.75, 0);
    TU_NEAR(got->workloads[0].demand, 0.5, 0);
    assert_int_equal(got->threads, 8);
    assert_int_equal(tu_find(c, "node-1"), 0);
    assert_int_equal(tu_find(c, "Xode-1"), -1);
    assert_null(lp_cluster_get_host(c, 1));
    lp_cluster_free(c);
}

static void cluster_refuses_duplicates_and_invalid_hosts_unchanged(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 3);
    lp_host h = tu_host("h1");
    TU_FAILS(ctx, lp_cluster_add_host(ctx, c, &h), LP_EINVAL, "host 'h1' is already in the cluster");
    h = tu_host("h9");
    h.threads = 0;
    TU_FAILS(ctx, lp_cluster_add_host(ctx, c, &h), LP_EINVAL, "threads (0)");
    assert_int_equal(lp_cluster_size(c), 3);
    assert_int_equal(tu_find(c, "h9"), -1);
    TU_FAILS(ctx, lp_cluster_add_host(ctx, NULL, &h), LP_EINVAL, "NULL");
    assert_int_equal(lp_cluster_new(ctx, NULL), LP_EINVAL);
    assert_int_equal(lp_cluster_size(NULL), 0);
    assert_null(lp_cluster_get_host(NULL, 0));
    size_t i = 7;
    TU_FAILS(ctx, lp_cluster_find(ctx, NULL, "h1", &i), LP_EINVAL, "cluster is NULL");
    TU_FAILS(ctx, lp_cluster_find(ctx, c, NULL, &i), LP_EINVAL, "name is NULL");
    TU_FAILS(ctx, lp_cluster_find(ctx, c, "h1", NULL), LP_EINVAL, "index is NULL");
    TU_FAILS(ctx, lp_cluster_find(ctx, c, "h9", &i), LP_ENOTFOUND, "host 'h9' is not in the cluster");
    assert_int_equal(i, 7); /* untouched on failure */
    TU_OK(ctx, lp_cluster_find(ctx, c, "h2", &i));
    assert_int_equal(i, 2);
    lp_cluster_free(c);
    lp_cluster_free(NULL);
}

static void cluster_finds_every_host_among_many(void **state)
{
    lp_ctx *ctx = *state;
    enum { N = 20000 };
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    char name[32];
    const lp_host *first = NULL;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "compute-%05d.example.org", i);
        lp_host h = tu_host(name);
        TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
        if (i == 0)
            first = lp_cluster_get_host(c, 0);
    }
    assert_int_equal(lp_cluster_size(c), N);
    assert_ptr_equal(lp_cluster_get_host(c, 0), first); /* borrowed pointers survive growth */
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "compute-%05d.example.org", i);
        assert_int_equal(tu_find(c, name), i);
    }
    assert_int_equal(tu_find(c, "compute-99999.example.org"), -1);
    assert_int_equal(tu_find(c, ""), -1);
    lp_cluster_free(c);
}

/* Adds host name with one workload (so that a leak of what a host owns shows). */
static void add_named(lp_ctx *ctx, lp_cluster *c, const char *name)
{
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = "w";
    w.group = "g";
    lp_host h = tu_host(name);
    h.workloads = &w;
    h.n_workloads = 1;
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
}

/* The codec's undo after running out of memory midway (all or nothing). */
static void cluster_truncate_drops_the_last_hosts_from_the_index(void **state)
{
    lp_ctx *ctx = *state;
    enum { N = 600, KEEP = 300 }; /* more than two blocks of hosts */
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "n%d", i);
        add_named(ctx, c, name);
    }
    const lp_host *first = lp_cluster_get_host(c, 0);
    lp_cluster_truncate(c, N); /* nothing after position N: no-op */
    assert_int_equal(lp_cluster_size(c), N);
    lp_cluster_truncate(c, KEEP);
    assert_int_equal(lp_cluster_size(c), KEEP);
    assert_null(lp_cluster_get_host(c, KEEP));
    assert_ptr_equal(lp_cluster_get_host(c, 0), first);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(tu_find(c, name), i < KEEP ? i : -1);
    }
    /* A removed name can be added again and takes the next position. */
    add_named(ctx, c, "n599");
    assert_int_equal(tu_find(c, "n599"), KEEP);
    assert_string_equal(lp_cluster_get_host(c, KEEP)->workloads[0].id, "w");
    lp_cluster_truncate(c, 0);
    assert_int_equal(lp_cluster_size(c), 0);
    assert_int_equal(tu_find(c, "n0"), -1);
    assert_int_equal(tu_find(c, "n599"), -1);
    add_named(ctx, c, "n0");
    assert_int_equal(tu_find(c, "n0"), 0);
    lp_cluster_truncate(NULL, 0);
    lp_cluster_free(c);
}

static void empty_cluster(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 0);
    assert_int_equal(lp_cluster_size(c), 0);
    assert_int_equal(tu_find(c, "h0"), -1);
    assert_null(lp_cluster_get_host(c, 0));
    lp_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(class_names_round_trip),
        TU_TEST(runtime_names_round_trip),
        TU_TEST(init_fills_unknowns),
        TU_TEST(unknown_versions_are_refused),
        TU_TEST(host_validation_names_the_field),
        TU_TEST(workload_validation_names_host_index_and_field),
        TU_TEST(cluster_copies_hosts_deeply),
        TU_TEST(cluster_refuses_duplicates_and_invalid_hosts_unchanged),
        TU_TEST(cluster_finds_every_host_among_many),
        TU_TEST(cluster_truncate_drops_the_last_hosts_from_the_index),
        TU_TEST(empty_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
