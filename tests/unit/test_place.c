/* Filter, score and multi-instance placement: the acceptance, on the C API. */
#include "testutil.h"

#include <pthread.h>

#include <stdlib.h>

/* Place one request on a cluster; the caller frees the plan. */
static lp_plan *place_one(lp_ctx *ctx, const lp_cluster *c, const lp_request *r,
                          const lp_place_options *opts)
{
    lp_requests *rs = NULL;
    lp_plan *plan = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_add(ctx, rs, r));
    TU_OK(ctx, lp_plan_new(ctx, c, rs, opts, &plan));
    lp_requests_free(rs);
    return plan;
}

/* The Spark workers of the research: 2 vCPUs, parallelism 2, 2 GB, cpu class. */
static lp_request spark(unsigned count)
{
    lp_request r = tu_request("spark", LP_CLASS_CPU, count, 2, 2048);
    r.parallelism = 2;
    return r;
}

static void testbed_16_cpu_workers_4_per_host_unikernel(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 4);
    lp_request r = spark(16);
    lp_plan *plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_size(plan), 16);
    assert_int_equal(lp_plan_unplaced(plan), 0);
    int per_host[4] = {0};
    for (size_t i = 0; i < 16; i++) {
        const lp_assignment *a = lp_plan_get(plan, i);
        assert_non_null(a);
        assert_int_equal(a->request, 0);
        assert_int_equal(a->instance, i);
        assert_in_range(a->host, 0, 3);
        per_host[a->host]++;
        assert_int_equal(a->verdict.runtime, LP_RUNTIME_UNIKERNEL);
        assert_int_equal(a->verdict.klass, LP_CLASS_CPU);
        assert_null(a->hosts); /* verdicts only kept on request */
    }
    for (int h = 0; h < 4; h++)
        assert_int_equal(per_host[h], 4);
    assert_null(lp_plan_get(plan, 16));
    lp_plan_free(plan);
    lp_cluster_free(c);
}

static void testbed_17th_worker_refused_by_every_host_for_parallelism(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 4);
    lp_request r = spark(17);
    lp_plan *plan = place_one(ctx, c, &r, TU_KEEP_VERDICTS);
    assert_int_equal(lp_plan_size(plan), 17);
    assert_int_equal(lp_plan_unplaced(plan), 1);
    const lp_assignment *last = lp_plan_get(plan, 16);
    assert_int_equal(last->host, -1);
    assert_non_null(last->hosts);
    for (size_t h = 0; h < 4; h++) {
        assert_false(last->hosts[h].passes);
        assert_int_equal(last->hosts[h].reason, LP_REASON_PARALLELISM);
        assert_true(last->hosts[h].demand_before == 8.0);
        assert_true(last->hosts[h].demand_after == 10.0);
        assert_true(last->hosts[h].capacity == 8.0);
    }
    /* earlier instances kept their own verdicts: the first saw 4 empty hosts */
    const lp_assignment *first = lp_plan_get(plan, 0);
    for (size_t h = 0; h < 4; h++)
        assert_true(first->hosts[h].passes && first->hosts[h].demand_before == 0.0);
    lp_plan_free(plan);
    lp_cluster_free(c);
}

static void raising_the_ratio_admits_more_per_host(void **state)
{
    lp_ctx *ctx = *state;
    TU_OK(ctx, lp_ctx_set_param(ctx, "max_parallel_ratio", 1.5));
    lp_cluster *c = tu_testbed(ctx, 4);
    lp_request r = spark(25);
    lp_plan *plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_unplaced(plan), 1); /* 6 per host fit a cap of 12 */
    lp_plan_free(plan);
    lp_cluster_free(c);
}

/* The Tomcat servers of the research: net class, one group, measured 0.5 each. */
static lp_request tomcat(unsigned count, const char *group)
{
    lp_request r = tu_request("tomcat", LP_CLASS_NET, count, 2, 1024);
    r.demand = 0.5;
    r.group = group;
    return r;
}

static void net_group_colocates_on_one_host_as_containers(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 4);
    lp_request r = tomcat(6, "web");
    lp_plan *plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_unplaced(plan), 0);
    long host = lp_plan_get(plan, 0)->host;
    for (size_t i = 0; i < 6; i++) {
        const lp_assignment *a = lp_plan_get(plan, i);
        assert_int_equal(a->host, host);
        assert_int_equal(a->verdict.runtime, LP_RUNTIME_CONTAINER);
        assert_true(a->verdict.added == 0.5);
        /* from the second on, the bonus is what keeps them together */
        if (i > 0)
            assert_true(a->verdict.terms[LP_TERM_COLOCATE] > 0);
    }
    lp_plan_free(plan);

    /* without a group the same servers spread by headroom alone */
    r.group = NULL;
    plan = place_one(ctx, c, &r, NULL);
    assert_int_not_equal(lp_plan_get(plan, 0)->host, lp_plan_get(plan, 1)->host);
    lp_plan_free(plan);
    lp_cluster_free(c);
}

static void net_group_colocation_stops_at_the_cap(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 2);
    lp_request r = tomcat(20, "web"); /* 16 x 0.5 fill one host's 8 threads */
    lp_plan *plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_unplaced(plan), 0);
    size_t on_first = 0;
    for (size_t i = 0; i < 20; i++)
        on_first += lp_plan_get(plan, i)->host == lp_plan_get(plan, 0)->host;
    assert_int_equal(on_first, 16);
    lp_plan_free(plan);
    lp_cluster_free(c);
}

static void busy_host_is_refused_for_a_parallel_request(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        lp_host h = tu_host(names[i]);
        if (i == 2)
            h.load_demand = 7.5;
        TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    }
    lp_host_load loads[4];
    lp_verdict v[4];
    TU_OK(ctx, lp_cluster_get_loads(ctx, c, NULL, loads, 4));
    lp_request r = spark(1);
    TU_OK(ctx, lp_request_filter_score(ctx, &r, loads, 4, v));
    for (int i = 0; i < 4; i++) {
        if (i == 2) {
            assert_false(v[i].passes);
            assert_int_equal(v[i].reason, LP_REASON_PARALLELISM);
            assert_true(v[i].demand_after == 9.5);
            assert_true(v[i].score == 0);
        } else {
            assert_true(v[i].passes);
            assert_int_equal(v[i].reason, LP_REASON_OK);
            assert_true(v[i].score > 0);
        }
    }
    /* a net-class request of measured 0.5 still fits there (7.5 + 0.5 = 8) */
    lp_request n = tomcat(1, NULL);
    TU_OK(ctx, lp_request_filter_score(ctx, &n, loads, 4, v));
    assert_true(v[2].passes);
    assert_true(v[2].terms[LP_TERM_HEADROOM] == 0);
    lp_cluster_free(c);
}

static void cpu_group_spreads_across_hosts(void **state)
{
    lp_ctx *ctx = *state;
    /* a big host (16 threads) first, a small one (8) second: headroom alone
       puts both instances on the big host; the spread term moves the second */
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    lp_host big = tu_host("big");
    big.cores = 8;
    big.threads = 16;
    lp_host small = tu_host("small");
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &big));
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &small));

    lp_request r = spark(2);
    lp_plan *plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_get(plan, 0)->host, 0);
    assert_int_equal(lp_plan_get(plan, 1)->host, 0);
    lp_plan_free(plan);

    r.group = "pi";
    plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_get(plan, 0)->host, 0);
    assert_int_equal(lp_plan_get(plan, 1)->host, 1);
    lp_plan_free(plan);

    /* with the spread weight at 0 the group no longer matters */
    TU_OK(ctx, lp_ctx_set_param(ctx, "weight_spread", 0));
    plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_get(plan, 1)->host, 0);
    lp_plan_free(plan);
    lp_cluster_free(c);
}

static void group_members_already_on_hosts_count(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    lp_host a = tu_host("a"), b = tu_host("b");
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = "tomcat-0";
    w.runtime = LP_RUNTIME_CONTAINER;
    w.klass = LP_CLASS_NET;
    w.demand = 0.5;
    w.group = "web";
    b.workloads = &w;
    b.n_workloads = 1;
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &a));
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &b));
    lp_request r = tomcat(1, "web");
    lp_plan *plan = place_one(ctx, c, &r, NULL);
    assert_int_equal(lp_plan_get(plan, 0)->host, 1); /* joins the running member */
    lp_plan_free(plan);
    lp_cluster_free(c);
}

static void memory_refusal(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load l[2] = {tu_load(8, 0), tu_load(8, 0)};
    l[0].memory_free_mb = 1024;
    l[1].memory_free_mb = -1; /* unknown: not checked */
    lp_request r = spark(1);
    lp_verdict v[2];
    TU_OK(ctx, lp_request_filter_score(ctx, &r, l, 2, v));
    assert_false(v[0].passes);
    assert_int_equal(v[0].reason, LP_REASON_MEMORY);
    assert_true(v[0].memory_mb == 2048);
    assert_true(v[1].passes);

    /* in a plan, each instance uses up memory for the next */
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    lp_host h = tu_host("h");
    h.cores = 16;
    h.threads = 32;
    h.memory_mb = 5000;
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    r.count = 3;
    lp_plan *plan = place_one(ctx, c, &r, TU_KEEP_VERDICTS);
    assert_int_equal(lp_plan_unplaced(plan), 1);
    assert_int_equal(lp_plan_get(plan, 2)->hosts[0].reason, LP_REASON_MEMORY);
    lp_plan_free(plan);
    lp_cluster_free(c);
}

static void runtime_refusal(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load l[2] = {tu_load(8, 0), tu_load(8, 0)};
    l[0].runtimes = LP_RUNTIME_CONTAINER;
    l[1].runtimes = LP_RUNTIME_CONTAINER | LP_RUNTIME_VM;
    lp_request r = spark(1);
    r.allowed_runtimes = LP_RUNTIME_UNIKERNEL | LP_RUNTIME_VM;
    lp_verdict v[2];
    TU_OK(ctx, lp_request_filter_score(ctx, &r, l, 2, v));
    assert_false(v[0].passes);
    assert_int_equal(v[0].reason, LP_REASON_RUNTIME);
    assert_int_equal(v[0].runtime, LP_RUNTIME_NONE);
    assert_true(v[1].passes);
    assert_int_equal(v[1].runtime, LP_RUNTIME_VM); /* no unikernel there: next preference */

    /* an explicit runtime is taken as is, where offered */
    r.runtime = LP_RUNTIME_VM;
    l[0].runtimes = LP_RUNTIME_ALL;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, l, 2, v));
    assert_int_equal(v[0].runtime, LP_RUNTIME_VM);
    assert_int_equal(v[1].runtime, LP_RUNTIME_VM);
}

static void checks_run_in_order_parallelism_runtime_memory(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load l = tu_load(8, 7.5);
    l.runtimes = LP_RUNTIME_NONE;
    l.memory_free_mb = 0;
    lp_request r = spark(1);
    lp_verdict v;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v));
    assert_int_equal(v.reason, LP_REASON_PARALLELISM);
    l.demand = 0;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v));
    assert_int_equal(v.reason, LP_REASON_RUNTIME);
    l.runtimes = LP_RUNTIME_ALL;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v));
    assert_int_equal(v.reason, LP_REASON_MEMORY);
}

static void score_terms_follow_the_formula(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load l = tu_load(8, 2);
    l.group_members = 1;
    lp_request r = spark(1);
    r.group = "g";
    lp_verdict v;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v));
    TU_NEAR(v.terms[LP_TERM_HEADROOM], (8.0 - 4.0) / 8.0, 1e-12);
    TU_NEAR(v.terms[LP_TERM_COLOCATE], 0, 0);
    TU_NEAR(v.terms[LP_TERM_SPREAD], -0.5 * 1 * 2 / 8.0, 1e-12);
    TU_NEAR(v.score, 0.5 - 0.125, 1e-12);

    lp_request n = tomcat(1, "g");
    TU_OK(ctx, lp_request_filter_score(ctx, &n, &l, 1, &v));
    TU_NEAR(v.terms[LP_TERM_HEADROOM], (8.0 - 2.5) / 8.0, 1e-12);
    TU_NEAR(v.terms[LP_TERM_COLOCATE], 1.0, 0);
    TU_NEAR(v.terms[LP_TERM_SPREAD], 0, 0);
}

static void best_prefers_highest_score_then_lowest_index(void **state)
{
    lp_ctx *ctx = *state;
    lp_verdict v[4] = {{.passes = 0, .score = 9}, {.passes = 1, .score = 0.5},
                       {.passes = 1, .score = 0.7}, {.passes = 1, .score = 0.7}};
    size_t best = 99;
    TU_OK(ctx, lp_verdicts_best(ctx, v, 4, &best));
    assert_int_equal(best, 2);
    TU_FAILS(ctx, lp_verdicts_best(ctx, v, 1, &best), LP_ENOTFOUND, "no host passed among 1 hosts");
    TU_FAILS(ctx, lp_verdicts_best(ctx, v, 0, &best), LP_ENOTFOUND, "among 0 hosts");
    assert_int_equal(best, 2); /* untouched on failure */
    TU_FAILS(ctx, lp_verdicts_best(ctx, NULL, 3, &best), LP_EINVAL, "verdicts is NULL");
    TU_FAILS(ctx, lp_verdicts_best(ctx, v, 4, NULL), LP_EINVAL, "index is NULL");
    assert_int_equal(lp_verdicts_best(NULL, v, 1, &best), LP_ENOTFOUND);
}

static void cluster_loads_use_max_of_measured_and_reserved(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    lp_workload w[3];
    for (int i = 0; i < 3; i++)
        lp_workload_init(&w[i], LP_WORKLOAD_VERSION);
    w[0].id = "vm-cpu"; /* measured 1 of 4 vCPUs, but may use all 4 any time */
    w[0].klass = LP_CLASS_CPU;
    w[0].vcpus = 4;
    w[0].demand = 1;
    w[0].memory_mb = 4096;
    w[0].group = "pi";
    w[1].id = "ct-net"; /* measured */
    w[1].klass = LP_CLASS_NET;
    w[1].threads = 50;
    w[1].demand = 0.5;
    w[1].memory_mb = 512;
    w[1].group = "web";
    w[2].id = "ct-io"; /* not measured: estimate_io x the 2 CPUs it is limited to */
    w[2].klass = LP_CLASS_IO;
    w[2].vcpus = 2;
    w[2].threads = 64; /* threads count for nothing */
    w[2].group = "pi";
    lp_host a = tu_host("a");
    a.workloads = w;
    a.n_workloads = 3;
    a.load_demand = 3; /* less than what is reserved */
    lp_host b = tu_host("b");
    b.load_demand = 6.25; /* measured more than declared */
    b.memory_used_mb = 20000; /* more than the total: none free, not "unknown" */
    lp_host d = tu_host("d");
    d.memory_mb = 0; /* total unknown */
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &a));
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &b));
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &d));
    lp_host_load l[3];
    TU_OK(ctx, lp_cluster_get_loads(ctx, c, "pi", l, 3));
    TU_NEAR(l[0].demand, 4 + 0.5 + 0.25 * 2, 1e-12);
    TU_NEAR(l[0].memory_free_mb, 16384 - 4096 - 512, 0);
    TU_NEAR(l[0].group_members, 2, 0);
    TU_NEAR(l[0].threads, 8, 0);
    assert_int_equal(l[0].runtimes, LP_RUNTIME_ALL);
    TU_NEAR(l[1].demand, 6.25, 0);
    TU_NEAR(l[1].memory_free_mb, 0, 0);
    TU_NEAR(l[1].group_members, 0, 0);
    TU_NEAR(l[2].demand, 0, 0);
    assert_true(l[2].memory_free_mb < 0);

    TU_OK(ctx, lp_cluster_get_loads(ctx, c, NULL, l, 3));
    TU_NEAR(l[0].group_members, 0, 0);
    TU_FAILS(ctx, lp_cluster_get_loads(ctx, c, NULL, l, 2), LP_EINVAL, "3 hosts");
    lp_cluster_free(c);
}

/* The demand an 8-thread host counts with w as its only workload. */
static double reserved_alone(lp_ctx *ctx, const lp_workload *w)
{
    lp_cluster *c = tu_testbed(ctx, 0);
    lp_host h = tu_host("h");
    h.workloads = w;
    h.n_workloads = 1;
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    lp_host_load l;
    TU_OK(ctx, lp_cluster_get_loads(ctx, c, NULL, &l, 1));
    lp_cluster_free(c);
    return l.demand;
}

/* A workload as an agent reports it. */
static lp_workload observed(const char *id, lp_class k, double vcpus, double threads, double demand)
{
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = id;
    w.klass = k;
    w.vcpus = vcpus;
    w.threads = threads;
    w.demand = demand;
    return w;
}

/* Reservations come from entitlement (vcpus) and measurement, never from thread counts. */
static void reservations_come_from_measurement_not_threads(void **state)
{
    lp_ctx *ctx = *state;
    /* big thread pools that keep little busy: what was measured */
    lp_workload java200 = observed("java-200", LP_CLASS_CPU, 0, 200, 0.3);
    lp_workload java46 = observed("java-46", LP_CLASS_MIXED, 0, 46, 1.2);
    TU_NEAR(reserved_alone(ctx, &java200), 0.3, 1e-12);
    TU_NEAR(reserved_alone(ctx, &java46), 1.2, 1e-12);
    /* a VM measured below its vCPUs keeps them: it may wake up at any moment */
    lp_workload vm = observed("vm-4", LP_CLASS_CPU, 4, 4, 1);
    vm.runtime = LP_RUNTIME_VM;
    TU_NEAR(reserved_alone(ctx, &vm), 4, 0);
    vm.demand = 5.5; /* measured above them (emulator threads, steal): the measurement */
    TU_NEAR(reserved_alone(ctx, &vm), 5.5, 0);
    /* a container limited to 2 CPUs (agents report the limit in vcpus) */
    lp_workload ct = observed("ct-2", LP_CLASS_CPU, 2, 30, 0.5);
    ct.runtime = LP_RUNTIME_CONTAINER;
    TU_NEAR(reserved_alone(ctx, &ct), 2, 0);
    ct.klass = LP_CLASS_NET;
    TU_NEAR(reserved_alone(ctx, &ct), 0.5, 0);
    ct.demand = -1; /* not measured: estimate_net x its 2 CPUs */
    TU_NEAR(reserved_alone(ctx, &ct), 0.5 * 2, 1e-12);
    /* nothing known but its threads: one thread's worth, never zero, never 12 */
    lp_workload unknown = observed("new", LP_CLASS_UNKNOWN, 0, 12, -1);
    TU_NEAR(reserved_alone(ctx, &unknown), 1, 0);
    lp_workload quiet = observed("quiet", LP_CLASS_CPU, 0, 0, 0); /* measured idle */
    TU_NEAR(reserved_alone(ctx, &quiet), 0, 0);
    lp_workload cron = observed("cron", LP_CLASS_IDLE, 0, 80, -1);
    TU_NEAR(reserved_alone(ctx, &cron), 0.1 * 1, 1e-12); /* estimate_idle x 1 */
    lp_workload db = observed("db", LP_CLASS_IO, 4, 90, 0.05);
    TU_NEAR(reserved_alone(ctx, &db), 0.05, 1e-12);

    /* The 200-thread service on an 8-thread host leaves 7.7 threads: a cpu
       request of 7.7 fits, one of 7.8 does not. */
    lp_cluster *c = tu_testbed(ctx, 0);
    lp_workload all[] = {java200, java46, vm, ct, unknown, cron, db};
    lp_host h = tu_host("busy");
    h.threads = h.cores = 64;
    h.workloads = all;
    h.n_workloads = sizeof all / sizeof all[0];
    lp_host lone = tu_host("lone");
    lone.workloads = &java200;
    lone.n_workloads = 1;
    lone.load_demand = 0.2; /* measured less than reserved: the reservation */
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &lone));
    lp_host_load l[2];
    TU_OK(ctx, lp_cluster_get_loads(ctx, c, NULL, l, 2));
    TU_NEAR(l[0].demand, 0.3 + 1.2 + 5.5 + 1 + 1 + 0.1 + 0.05, 1e-9);
    TU_NEAR(l[1].demand, 0.3, 1e-12);
    lp_request r = tu_request("job", LP_CLASS_CPU, 1, 7.7, 0);
    lp_verdict v;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &l[1], 1, &v));
    assert_true(v.passes);
    r.vcpus = 7.9; /* 8.2 > cap 8 + slack 0.1 */
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &l[1], 1, &v));
    assert_int_equal(v.reason, LP_REASON_PARALLELISM);
    lp_cluster_free(c);
}

/* A host's demand may exceed its cap by cap_slack (measurement noise: the
   agent itself, host daemons) and still take work; the explanation says so. */
static void cap_slack_absorbs_measurement_noise(void **state)
{
    lp_ctx *ctx = *state;
    lp_request r = tu_request("w", LP_CLASS_CPU, 1, 2, 0);
    lp_host_load noisy = tu_load(8, 6.05); /* 3 workers and 0.05 of daemons */
    lp_verdict v;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &noisy, 1, &v));
    assert_true(v.passes);
    TU_NEAR(v.terms[LP_TERM_HEADROOM], 0, 0); /* full, not negative */
    char line[256];
    TU_OK(ctx, lp_verdict_explain(ctx, &v, &noisy, line, sizeof line, NULL));
    assert_non_null(strstr(line, "pass: demand 6.05 + 2.00 = 8.05 <= cap 8.00 + slack 0.10"));
    TU_OK(ctx, lp_ctx_set_param(ctx, "cap_slack", 0));
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &noisy, 1, &v));
    assert_int_equal(v.reason, LP_REASON_PARALLELISM);
    lp_host_load busy = tu_load(8, 6.2); /* more than noise */
    TU_OK(ctx, lp_ctx_set_param(ctx, "cap_slack", 0.1));
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &busy, 1, &v));
    assert_int_equal(v.reason, LP_REASON_PARALLELISM);
}

static void resolve_classifies_auto_requests(void **state)
{
    lp_ctx *ctx = *state;
    lp_request r = tu_request("web", LP_CLASS_AUTO, 1, 4, 0);
    lp_workload m;
    TU_OK(ctx, lp_workload_init(&m, LP_WORKLOAD_VERSION));
    m.util = 0.3;
    m.vcpus = 4;
    m.net_bps = 5e7;
    r.metrics = &m;
    lp_class k;
    double added;
    TU_OK(ctx, lp_request_resolve(ctx, &r, &k, &added));
    assert_int_equal(k, LP_CLASS_NET);
    TU_NEAR(added, 0.5 * 4, 1e-12); /* estimate_net x parallelism */
    m.demand = 0.7;
    TU_OK(ctx, lp_request_resolve(ctx, &r, &k, &added));
    TU_NEAR(added, 0.7, 0);
    r.demand = 0.9; /* the request's own measurement wins */
    TU_OK(ctx, lp_request_resolve(ctx, &r, &k, &added));
    TU_NEAR(added, 0.9, 0);

    lp_request u = tu_request("x", LP_CLASS_AUTO, 1, 3, 0); /* nothing known */
    TU_OK(ctx, lp_request_resolve(ctx, &u, &k, &added));
    assert_int_equal(k, LP_CLASS_UNKNOWN);
    TU_NEAR(added, 3, 0);
    u.parallelism = 5;
    u.demand = 6.5; /* a cpu-like class counts measured demand above its parallelism */
    TU_OK(ctx, lp_request_resolve(ctx, &u, &k, &added));
    TU_NEAR(added, 6.5, 0);
}

static void invalid_requests_are_refused_naming_the_field(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load l = tu_load(8, 0);
    lp_verdict v;
    lp_request r = spark(1);
    r.vcpus = NAN;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "request 'spark': vcpus");
    r = spark(1);
    r.memory_mb = -5;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "memory_mb (-5)");
    r = spark(1);
    r.parallelism = -1;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "parallelism");
    r = spark(1);
    r.count = 0;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "count (0)");
    r = spark(1);
    r.allowed_runtimes = LP_RUNTIME_ALL | 0x10;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "allowed_runtimes");
    r = spark(1);
    r.runtime = LP_RUNTIME_VM | LP_RUNTIME_CONTAINER;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "runtime (0x5)");
    r = spark(1);
    r.runtime = LP_RUNTIME_VM;
    r.allowed_runtimes = LP_RUNTIME_CONTAINER;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "not among its allowed");
    r = spark(1);
    r.klass = (lp_class)42;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "class (42)");
    r = spark(1);
    lp_workload m;
    TU_OK(ctx, lp_workload_init(&m, LP_WORKLOAD_VERSION));
    m.net_bps = INFINITY;
    r.metrics = &m;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "metrics: net_bps");
    m.net_bps = -1;
    m.version = 0;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL,
             "request 'spark': metrics: lp_workload version 0 is not valid");
    r = spark(1);
    r.version = 9;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL,
             "lp_request version 9 is newer than this library (1)");
    lp_class k;
    double added;
    TU_FAILS(ctx, lp_request_resolve(ctx, &r, &k, &added), LP_EINVAL, "lp_request version 9");
    assert_int_equal(lp_request_init(&r, 9), LP_EINVAL);
    assert_int_equal(lp_request_init(NULL, LP_REQUEST_VERSION), LP_EINVAL);
    r = spark(1);
    r.id = NULL;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, &l, 1, &v), LP_EINVAL, "id is NULL");
    TU_FAILS(ctx, lp_request_filter_score(ctx, NULL, &l, 1, &v), LP_EINVAL, "request is NULL");
    r = spark(1);
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, NULL, 1, &v), LP_EINVAL, "hosts is NULL");
    TU_OK(ctx, lp_request_filter_score(ctx, &r, NULL, 0, NULL));
    assert_int_equal(lp_request_filter_score(NULL, &r, &l, 1, &v), LP_EINVAL);
}

static void invalid_host_loads_are_refused_naming_index_and_field(void **state)
{
    lp_ctx *ctx = *state;
    lp_request r = spark(1);
    lp_verdict v[3] = {{.score = 42}};
    lp_host_load l[3] = {tu_load(8, 0), tu_load(8, NAN), tu_load(8, 0)};
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, l, 3, v), LP_EINVAL, "host load [1]: demand");
    assert_true(v[0].score == 42); /* outputs untouched on failure */
    l[1] = tu_load(0, 0);
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, l, 3, v), LP_EINVAL, "host load [1]: threads");
    l[1] = tu_load(8, -1);
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, l, 3, v), LP_EINVAL, "demand (-1)");
    l[1] = tu_load(8, 0);
    l[2].runtimes = 0x20;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, l, 3, v), LP_EINVAL, "host load [2]: runtimes");
    l[2] = tu_load(8, 0);
    l[2].memory_free_mb = NAN;
    TU_FAILS(ctx, lp_request_filter_score(ctx, &r, l, 3, v), LP_EINVAL, "memory_free_mb");
}

static void request_lists_copy_and_stay_unchanged_on_failure(void **state)
{
    lp_ctx *ctx = *state;
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    char id[] = "job", group[] = "grp", mid[] = "m1", mgroup[] = "mg";
    lp_request r = spark(2);
    lp_workload m;
    TU_OK(ctx, lp_workload_init(&m, LP_WORKLOAD_VERSION));
    m.id = mid;
    m.group = mgroup;
    m.util = 1.5;
    char image[] = "spark-3.5", flavor[] = "c2.large";
    r.id = id;
    r.group = group;
    r.image = image;
    r.flavor = flavor;
    r.metrics = &m;
    TU_OK(ctx, lp_requests_add(ctx, rs, &r));
    id[0] = group[0] = mid[0] = mgroup[0] = image[0] = flavor[0] = 'X'; /* the list holds copies */
    m.util = 7;
    const lp_request *got = lp_requests_get(rs, 0);
    assert_string_equal(got->id, "job");
    assert_string_equal(got->group, "grp");
    assert_string_equal(got->image, "spark-3.5");
    assert_string_equal(got->flavor, "c2.large");
    assert_ptr_not_equal(got->metrics, &m);
    assert_string_equal(got->metrics->id, "m1");
    assert_string_equal(got->metrics->group, "mg");
    TU_NEAR(got->metrics->util, 1.5, 0);
    assert_int_equal(got->count, 2);
    r.vcpus = -1;
    TU_FAILS(ctx, lp_requests_add(ctx, rs, &r), LP_EINVAL, "vcpus (-1)");
    assert_int_equal(lp_requests_size(rs), 1);
    for (int i = 0; i < 40; i++) { /* growth keeps borrowed pointers valid */
        lp_request more = spark(1);
        TU_OK(ctx, lp_requests_add(ctx, rs, &more));
    }
    assert_ptr_equal(lp_requests_get(rs, 0), got);
    assert_int_equal(lp_requests_size(rs), 41);
    assert_null(lp_requests_get(rs, 41));
    lp_requests_free(rs);
    lp_requests_free(NULL);
    assert_int_equal(lp_requests_size(NULL), 0);
}

static void several_requests_share_the_cluster_state(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 4);
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    lp_request a = spark(12), b = tomcat(6, "web"), d = spark(5);
    TU_OK(ctx, lp_requests_add(ctx, rs, &a));
    TU_OK(ctx, lp_requests_add(ctx, rs, &b));
    TU_OK(ctx, lp_requests_add(ctx, rs, &d));
    lp_plan *plan = NULL;
    TU_OK(ctx, lp_plan_new(ctx, c, rs, NULL, &plan));
    assert_int_equal(lp_plan_size(plan), 23);
    /* 12 workers: 3 per host, demand 6 each.  The 6 servers join each other
       on h0 until it is full (4 x 0.5), then gather on h1.  Of 5 more
       workers only 2 find 2 free threads (h2, h3). */
    const long want[23] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, /* workers */
                           0, 0, 0, 0, 1, 1,                   /* servers */
                           2, 3, -1, -1, -1};                  /* more workers */
    for (size_t i = 0; i < 23; i++)
        assert_int_equal(lp_plan_get(plan, i)->host, want[i]);
    assert_int_equal(lp_plan_get(plan, 12)->request, 1);
    assert_int_equal(lp_plan_get(plan, 12)->instance, 0);
    assert_int_equal(lp_plan_unplaced(plan), 3);
    lp_plan_free(plan);
    lp_requests_free(rs);
    lp_cluster_free(c);
}

static void kept_verdicts_do_not_change_decisions(void **state)
{
    lp_ctx *ctx = *state;
    /* hosts of different sizes, loads and runtimes, and mixed requests */
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    for (unsigned i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%u", i);
        lp_host h = tu_host(name);
        h.threads = 8u << (i % 3);
        h.cores = h.threads / 2;
        h.load_demand = (double)(i * 37 % 11);
        h.memory_mb = 4096.0 * (1 + i % 5);
        h.runtimes = i % 4 == 0 ? LP_RUNTIME_CONTAINER : LP_RUNTIME_ALL;
        TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
    }
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    lp_request a = spark(30), b = tomcat(25, "web"), d = spark(20);
    d.group = "pi";
    TU_OK(ctx, lp_requests_add(ctx, rs, &a));
    TU_OK(ctx, lp_requests_add(ctx, rs, &b));
    TU_OK(ctx, lp_requests_add(ctx, rs, &d));
    lp_plan *fast = NULL, *kept = NULL;
    TU_OK(ctx, lp_plan_new(ctx, c, rs, NULL, &fast));
    TU_OK(ctx, lp_plan_new(ctx, c, rs, TU_KEEP_VERDICTS, &kept));
    assert_int_equal(lp_plan_size(fast), 75);
    assert_int_equal(lp_plan_size(kept), 75);
    assert_int_equal(lp_plan_unplaced(fast), lp_plan_unplaced(kept));
    for (size_t i = 0; i < 75; i++) {
        const lp_assignment *x = lp_plan_get(fast, i), *y = lp_plan_get(kept, i);
        assert_int_equal(x->host, y->host);
        assert_memory_equal(&x->verdict, &y->verdict, sizeof x->verdict);
        if (y->host >= 0)
            assert_memory_equal(&y->verdict, &y->hosts[y->host], sizeof y->verdict);
    }
    lp_plan_free(fast);
    lp_plan_free(kept);
    lp_requests_free(rs);
    lp_cluster_free(c);
}

/* One thread's share of the concurrency test: its own context, shared data. */
typedef struct placer {
    lp_ctx *ctx;
    const lp_cluster *c;
    const lp_requests *rs;
    lp_plan *plan;
    lp_status st;
} placer;

static void *place_thread(void *arg)
{
    placer *p = arg;
    p->st = lp_plan_new(p->ctx, p->c, p->rs, TU_KEEP_VERDICTS, &p->plan);
    return NULL;
}

static void threads_share_a_cluster_with_own_contexts(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 50);
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    lp_request a = spark(120), b = tomcat(40, "web");
    TU_OK(ctx, lp_requests_add(ctx, rs, &a));
    TU_OK(ctx, lp_requests_add(ctx, rs, &b));
    enum { T = 4 };
    placer p[T];
    pthread_t tid[T];
    for (int i = 0; i < T; i++) {
        p[i] = (placer){.c = c, .rs = rs};
        TU_OK(ctx, lp_ctx_dup(ctx, &p[i].ctx));
        assert_int_equal(pthread_create(&tid[i], NULL, place_thread, &p[i]), 0);
    }
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    for (int i = 0; i < T; i++) {
        assert_int_equal(p[i].st, LP_OK);
        assert_int_equal(lp_plan_size(p[i].plan), 160);
        for (size_t k = 0; k < 160; k++)
            assert_int_equal(lp_plan_get(p[i].plan, k)->host, lp_plan_get(p[0].plan, k)->host);
    }
    for (int i = 0; i < T; i++) {
        lp_plan_free(p[i].plan);
        lp_ctx_free(p[i].ctx);
    }
    lp_requests_free(rs);
    lp_cluster_free(c);
}

static void placing_on_no_hosts_leaves_all_unplaced(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 0);
    lp_request r = spark(3);
    lp_plan *plan = place_one(ctx, c, &r, TU_KEEP_VERDICTS);
    assert_int_equal(lp_plan_size(plan), 3);
    assert_int_equal(lp_plan_unplaced(plan), 3);
    lp_plan_free(plan);
    lp_plan_free(NULL);
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    lp_place_options o;
    assert_int_equal(lp_place_options_init(&o, 7), LP_EINVAL);
    assert_int_equal(lp_place_options_init(NULL, LP_PLACE_OPTIONS_VERSION), LP_EINVAL);
    TU_OK(ctx, lp_place_options_init(&o, LP_PLACE_OPTIONS_VERSION));
    assert_int_equal(o.version, LP_PLACE_OPTIONS_VERSION);
    assert_int_equal(o.keep_verdicts, 0);
    o.version = 7; /* as a newer caller would fill it */
    TU_FAILS(ctx, lp_plan_new(ctx, c, rs, &o, &plan), LP_EINVAL,
             "lp_place_options version 7 is newer than this library (1)");
    o.version = 0;
    TU_FAILS(ctx, lp_plan_new(ctx, c, rs, &o, &plan), LP_EINVAL,
             "lp_place_options version 0 is not valid: initialise it with lp_place_options_init()");
    TU_FAILS(ctx, lp_plan_new(ctx, NULL, rs, NULL, &plan), LP_EINVAL, "cluster");
    lp_requests_free(rs);
    lp_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(testbed_16_cpu_workers_4_per_host_unikernel),
        TU_TEST(testbed_17th_worker_refused_by_every_host_for_parallelism),
        TU_TEST(raising_the_ratio_admits_more_per_host),
        TU_TEST(net_group_colocates_on_one_host_as_containers),
        TU_TEST(net_group_colocation_stops_at_the_cap),
        TU_TEST(busy_host_is_refused_for_a_parallel_request),
        TU_TEST(cpu_group_spreads_across_hosts),
        TU_TEST(group_members_already_on_hosts_count),
        TU_TEST(memory_refusal),
        TU_TEST(runtime_refusal),
        TU_TEST(checks_run_in_order_parallelism_runtime_memory),
        TU_TEST(score_terms_follow_the_formula),
        TU_TEST(best_prefers_highest_score_then_lowest_index),
        TU_TEST(cluster_loads_use_max_of_measured_and_reserved),
        TU_TEST(reservations_come_from_measurement_not_threads),
        TU_TEST(cap_slack_absorbs_measurement_noise),
        TU_TEST(resolve_classifies_auto_requests),
        TU_TEST(invalid_requests_are_refused_naming_the_field),
        TU_TEST(invalid_host_loads_are_refused_naming_index_and_field),
        TU_TEST(request_lists_copy_and_stay_unchanged_on_failure),
        TU_TEST(several_requests_share_the_cluster_state),
        TU_TEST(kept_verdicts_do_not_change_decisions),
        TU_TEST(threads_share_a_cluster_with_own_contexts),
        TU_TEST(placing_on_no_hosts_leaves_all_unplaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
