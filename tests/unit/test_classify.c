/* Classification from metrics, and runtime choice. */
#include "testutil.h"

/* A workload with nothing measured. */
static lp_workload blank(const char *id)
{
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = id;
    return w;
}

static lp_classification classify(lp_ctx *ctx, const lp_workload *w)
{
    lp_classification c;
    memset(&c, 0, sizeof c);
    TU_OK(ctx, lp_workload_classify(ctx, w, &c));
    assert_true(c.confidence >= 0 && c.confidence <= 1);
    assert_true(strlen(c.reasons) < sizeof c.reasons);
    return c;
}

static void spark_vm_is_cpu(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("spark");
    w.vcpus = 2;
    w.util = 1.9;
    w.net_bps = 1e4;
    w.disk_bps = 0;
    lp_classification c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_CPU);
    assert_true(c.confidence > 0.5);
    assert_non_null(strstr(c.reasons, "util 1.90 CPUs >= 0.6 x 2 parallel"));
    assert_non_null(strstr(c.reasons, "net 1e+04 B/s < 1e+06"));
}

static void busy_process_is_judged_by_its_runnable_threads(void **state)
{
    lp_ctx *ctx = *state;
    /* a JVM with 40 threads of which ~8 are runnable, using 7.5 CPUs */
    lp_workload w = blank("jvm");
    w.threads = 40;
    w.demand = 8;
    w.util = 7.5;
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_CPU);
}

static void starved_workload_is_cpu(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("starved");
    w.vcpus = 4;
    w.util = 1.0; /* only a quarter of its vCPUs ... */
    w.wait_ratio = 2.0; /* ... because it waits twice as long as it runs */
    lp_classification c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_CPU);
    assert_non_null(strstr(c.reasons, "wait/run 2.00 >= 0.5"));
}

static void web_server_is_net(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("tomcat");
    w.threads = 200; /* a big, mostly idle thread pool must not make it "not busy enough" */
    w.demand = 0.4;
    w.util = 0.3;
    w.net_bps = 5e7;
    w.disk_bps = 1e3;
    lp_classification c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_NET);
    assert_non_null(strstr(c.reasons, "net 5e+07 B/s >= 1e+06"));
}

static void disk_bound_is_io(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("db");
    w.vcpus = 2;
    w.util = 0.2;
    w.iowait = 0.45;
    lp_classification c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_IO);
    assert_non_null(strstr(c.reasons, "iowait 0.45 >= 0.2"));
    w.iowait = -1;
    w.disk_bps = 5e7;
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_IO);
}

static void net_and_disk_heavy_goes_to_the_stronger(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("both");
    w.util = 0.1;
    w.vcpus = 1;
    w.net_bps = 1.2e6;   /* just past */
    w.disk_bps = 1e8;    /* far past */
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_IO);
    w.net_bps = 1e8;
    w.disk_bps = 2.2e7;
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_NET);
}

static void cpu_and_io_is_mixed(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("etl");
    w.vcpus = 4;
    w.util = 3.8;
    w.disk_bps = 8e7;
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_MIXED);
    w.disk_bps = 0;
    w.net_bps = 3e6;
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_MIXED);
}

static void nearly_nothing_is_idle(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("cron");
    w.vcpus = 1;
    w.util = 0.01;
    w.net_bps = 100;
    w.disk_bps = 0;
    lp_classification c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_IDLE);
    assert_non_null(strstr(c.reasons, "idle"));
}

static void no_metrics_is_unknown(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("new");
    w.vcpus = 4; /* declared sizes are not behaviour */
    w.threads = 4;
    lp_classification c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_UNKNOWN);
    TU_NEAR(c.confidence, 0, 0);
    assert_string_equal(c.reasons, "no metrics");
    /* only I/O measured, and low: CPU use unknown, so no class */
    w.net_bps = 10;
    c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_UNKNOWN);
    assert_non_null(strstr(c.reasons, "CPU use not measured"));
}

static void confidence_grows_past_the_threshold(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("web");
    w.util = 0.1;
    w.vcpus = 1;
    w.net_bps = 1.1e6;
    lp_classification near = classify(ctx, &w);
    w.net_bps = 5e6;
    lp_classification far = classify(ctx, &w);
    assert_int_equal(near.klass, LP_CLASS_NET);
    assert_int_equal(far.klass, LP_CLASS_NET);
    assert_true(far.confidence > near.confidence);
}

static void thresholds_come_from_the_policy(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w = blank("web");
    w.util = 0.1;
    w.vcpus = 1;
    w.net_bps = 5e6;
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_NET);
    TU_OK(ctx, lp_ctx_set_param(ctx, "net_bps_threshold", 1e7));
    lp_classification c = classify(ctx, &w);
    assert_int_equal(c.klass, LP_CLASS_CPU); /* uses some CPU, nothing heavy */
    assert_true(c.confidence <= 0.5);
    assert_non_null(strstr(c.reasons, "< 1e+07"));
    TU_OK(ctx, lp_ctx_set_param(ctx, "idle_util", 0.2));
    assert_int_equal(classify(ctx, &w).klass, LP_CLASS_IDLE);
}

static void bad_metrics_are_refused_naming_the_metric(void **state)
{
    lp_ctx *ctx = *state;
    lp_classification c;
    lp_workload w = blank("w1");
    w.iowait = NAN;
    TU_FAILS(ctx, lp_workload_classify(ctx, &w, &c), LP_EINVAL, "workload 'w1': iowait (nan)");
    w = blank("w1");
    w.net_bps = INFINITY;
    TU_FAILS(ctx, lp_workload_classify(ctx, &w, &c), LP_EINVAL, "net_bps");
    w = blank("w1");
    w.vcpus = -4;
    TU_FAILS(ctx, lp_workload_classify(ctx, &w, &c), LP_EINVAL, "vcpus (-4)");
    TU_FAILS(ctx, lp_workload_classify(ctx, NULL, &c), LP_EINVAL, "NULL");
    TU_FAILS(ctx, lp_workload_classify(ctx, &w, NULL), LP_EINVAL, "NULL");
    assert_int_equal(lp_workload_classify(NULL, &w, &c), LP_EINVAL);
}

static void default_runtime_choice(void **state)
{
    lp_ctx *ctx = *state;
    const struct {
        lp_class k;
        unsigned host;
        unsigned allowed;
        lp_runtime want;
    } cases[] = {
        {LP_CLASS_CPU, LP_RUNTIME_ALL, LP_RUNTIME_ALL, LP_RUNTIME_UNIKERNEL},
        {LP_CLASS_CPU, LP_RUNTIME_CONTAINER | LP_RUNTIME_VM, LP_RUNTIME_ALL, LP_RUNTIME_VM},
        {LP_CLASS_CPU, LP_RUNTIME_ALL, LP_RUNTIME_VM | LP_RUNTIME_CONTAINER, LP_RUNTIME_VM},
        {LP_CLASS_CPU, LP_RUNTIME_CONTAINER, LP_RUNTIME_ALL, LP_RUNTIME_NONE},
        {LP_CLASS_NET, LP_RUNTIME_ALL, LP_RUNTIME_ALL, LP_RUNTIME_CONTAINER},
        {LP_CLASS_NET, LP_RUNTIME_VM | LP_RUNTIME_UNIKERNEL, LP_RUNTIME_ALL, LP_RUNTIME_VM},
        {LP_CLASS_IO, LP_RUNTIME_ALL, LP_RUNTIME_ALL, LP_RUNTIME_CONTAINER},
        {LP_CLASS_IDLE, LP_RUNTIME_ALL, LP_RUNTIME_ALL, LP_RUNTIME_CONTAINER},
        {LP_CLASS_MIXED, LP_RUNTIME_ALL, LP_RUNTIME_ALL, LP_RUNTIME_VM},
        {LP_CLASS_UNKNOWN, LP_RUNTIME_ALL, LP_RUNTIME_ALL, LP_RUNTIME_VM},
        {LP_CLASS_UNKNOWN, LP_RUNTIME_CONTAINER, LP_RUNTIME_ALL, LP_RUNTIME_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lp_runtime got = LP_RUNTIME_AUTO;
        TU_OK(ctx, lp_runtime_choose(ctx, cases[i].k, cases[i].host, cases[i].allowed, &got));
        if (got != cases[i].want)
            fail_msg("case %zu: class %s got %s, want %s", i, lp_class_name(cases[i].k),
                     lp_runtime_name(got), lp_runtime_name(cases[i].want));
    }
    lp_runtime r;
    TU_FAILS(ctx, lp_runtime_choose(ctx, (lp_class)42, LP_RUNTIME_ALL, LP_RUNTIME_ALL, &r),
             LP_EINVAL, "class 42 is not a workload class");
    TU_FAILS(ctx, lp_runtime_choose(ctx, LP_CLASS_CPU, LP_RUNTIME_ALL, LP_RUNTIME_ALL, NULL),
             LP_EINVAL, "out is NULL");
    assert_int_equal(lp_runtime_choose(NULL, LP_CLASS_CPU, LP_RUNTIME_ALL, LP_RUNTIME_ALL, &r),
                     LP_EINVAL);
}

static void runtime_order_can_be_changed(void **state)
{
    lp_ctx *ctx = *state;
    char buf[32];
    TU_OK(ctx, lp_ctx_get_runtime_order(ctx, LP_CLASS_CPU, buf, sizeof buf));
    assert_string_equal(buf, "unikernel,vm");
    TU_OK(ctx, lp_ctx_get_runtime_order(ctx, LP_CLASS_NET, buf, sizeof buf));
    assert_string_equal(buf, "container,vm");
    TU_OK(ctx, lp_ctx_get_runtime_order(ctx, LP_CLASS_MIXED, buf, sizeof buf));
    assert_string_equal(buf, "vm");

    TU_OK(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_MIXED, "container,unikernel,vm"));
    TU_OK(ctx, lp_ctx_get_runtime_order(ctx, LP_CLASS_MIXED, buf, sizeof buf));
    assert_string_equal(buf, "container,unikernel,vm");
    lp_runtime r;
    TU_OK(ctx, lp_runtime_choose(ctx, LP_CLASS_MIXED, LP_RUNTIME_ALL, LP_RUNTIME_ALL, &r));
    assert_int_equal(r, LP_RUNTIME_CONTAINER);
    TU_OK(ctx, lp_runtime_choose(ctx, LP_CLASS_MIXED, LP_RUNTIME_UNIKERNEL | LP_RUNTIME_VM,
                                 LP_RUNTIME_ALL, &r));
    assert_int_equal(r, LP_RUNTIME_UNIKERNEL);
    TU_FAILS(ctx, lp_ctx_get_runtime_order(ctx, LP_CLASS_MIXED, buf, 10), LP_ELIMIT,
             "runtime order for class mixed: 'container,unikernel,vm' needs 23 bytes, the buffer "
             "has 10");
    assert_string_equal(buf, "container,unikernel,vm"); /* untouched */
}

static void bad_runtime_orders_are_refused_unchanged(void **state)
{
    lp_ctx *ctx = *state;
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, ""), LP_EINVAL, "empty");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, NULL), LP_EINVAL, "empty");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "vm,docker"), LP_ENOTFOUND,
             "entry 2 'docker'");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "vm,,container"), LP_EINVAL,
             "entry 2");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "vm,"), LP_EINVAL, "empty");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "vm,container,vm"), LP_EINVAL,
             "'vm' is listed twice");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "auto"), LP_ENOTFOUND, "'auto'");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "none"), LP_ENOTFOUND, "'none'");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "averyveryverylongname"),
             LP_ENOTFOUND, "not a runtime");
    TU_FAILS(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_AUTO, "vm"), LP_EINVAL, "class");
    char buf[32];
    TU_OK(ctx, lp_ctx_get_runtime_order(ctx, LP_CLASS_CPU, buf, sizeof buf));
    assert_string_equal(buf, "unikernel,vm");
    TU_FAILS(ctx, lp_ctx_get_runtime_order(ctx, LP_CLASS_CPU, NULL, 4), LP_EINVAL, "buffer is NULL");
    TU_FAILS(ctx, lp_ctx_get_runtime_order(ctx, (lp_class)9, buf, sizeof buf), LP_EINVAL,
             "class 9 is not a workload class");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(spark_vm_is_cpu),
        TU_TEST(busy_process_is_judged_by_its_runnable_threads),
        TU_TEST(starved_workload_is_cpu),
        TU_TEST(web_server_is_net),
        TU_TEST(disk_bound_is_io),
        TU_TEST(net_and_disk_heavy_goes_to_the_stronger),
        TU_TEST(cpu_and_io_is_mixed),
        TU_TEST(nearly_nothing_is_idle),
        TU_TEST(no_metrics_is_unknown),
        TU_TEST(confidence_grows_past_the_threshold),
        TU_TEST(thresholds_come_from_the_policy),
        TU_TEST(bad_metrics_are_refused_naming_the_metric),
        TU_TEST(default_runtime_choice),
        TU_TEST(runtime_order_can_be_changed),
        TU_TEST(bad_runtime_orders_are_refused_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
