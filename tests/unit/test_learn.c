/* Classes learned per image and flavor from measured running instances. */
#include "testutil.h"

#define NOW 1.7e9

/* A host running n instances of image/flavor, each of class k with demand d on 2 vCPUs. */
static void add_instances(lp_ctx *ctx, lp_cluster *c, const char *host, const char *prefix,
                          const char *image, const char *flavor, lp_class k, double d,
                          double confidence, size_t n)
{
    lp_workload ws[16];
    char ids[16][40];
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "%s-%zu", prefix, i);
        lp_workload_init(&ws[i], LP_WORKLOAD_VERSION);
        ws[i].id = ids[i];
        ws[i].image = image;
        ws[i].flavor = flavor;
        ws[i].klass = k;
        ws[i].confidence = confidence;
        ws[i].vcpus = 2;
        ws[i].demand = d;
        ws[i].runtime = LP_RUNTIME_VM;
    }
    lp_host h = tu_host(host);
    h.workloads = ws;
    h.n_workloads = n;
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &h));
}

static lp_learner *learner(lp_ctx *ctx)
{
    lp_learner *l = NULL;
    TU_OK(ctx, lp_learner_new(ctx, NULL, &l));
    return l;
}

static void five_web_servers_teach_net(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    add_instances(ctx, c, "pc1", "web", "3f2a9c", "m1.small", LP_CLASS_NET, 0.4, 0.9, 3);
    add_instances(ctx, c, "pc2", "web2", "3f2a9c", "m1.small", LP_CLASS_NET, 0.4, 0.9, 2);
    lp_learner *l = learner(ctx);
    TU_OK(ctx, lp_learner_observe(ctx, l, c, NOW));
    TU_OK(ctx, lp_learner_observe(ctx, l, c, NOW + 10)); /* seen again: still 5 instances */
    lp_learned out;
    TU_OK(ctx, lp_learner_lookup(ctx, l, "3f2a9c", NULL, NOW + 10, &out));
    assert_int_equal(out.klass, LP_CLASS_NET);
    assert_int_equal(out.instances, 5);
    assert_int_equal(out.agreeing, 5);
    TU_NEAR(out.confidence, 0.9, 1e-12);
    TU_NEAR(out.demand_per_vcpu, 0.2, 1e-12);
    assert_string_equal(out.source, "class net learned from 5 running instances of image 3f2a9c, "
                                    "confidence 0.90");
    /* The flavor says the same, if asked alone. */
    TU_OK(ctx, lp_learner_lookup(ctx, l, NULL, "m1.small", NOW + 10, &out));
    assert_non_null(strstr(out.source, "of flavor m1.small"));
    lp_learner_free(l);
    lp_cluster_free(c);
}

static void too_few_or_disagreeing_is_not_trusted(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    add_instances(ctx, c, "pc1", "a", "two", NULL, LP_CLASS_NET, 0.4, 0.95, 2);
    add_instances(ctx, c, "pc2", "b", "mixed", NULL, LP_CLASS_NET, 0.4, 0.9, 3);
    add_instances(ctx, c, "pc3", "c", "mixed", NULL, LP_CLASS_CPU, 2.0, 0.9, 2);
    lp_learner *l = learner(ctx);
    TU_OK(ctx, lp_learner_observe(ctx, l, c, NOW));
    lp_learned out;
    assert_int_equal(lp_learner_lookup(ctx, l, "two", NULL, NOW, &out), LP_ENOTFOUND);
    assert_int_equal(out.klass, LP_CLASS_UNKNOWN);
    assert_string_equal(out.source, "not trusted: 2 of 2 running instances of image two are net, "
                                    "confidence 0.95 (needs 3 instances, confidence 0.70)");
    assert_int_equal(lp_learner_lookup(ctx, l, "mixed", NULL, NOW, &out), LP_ENOTFOUND);
    assert_int_equal(out.agreeing, 3);
    assert_int_equal(out.instances, 5);
    TU_NEAR(out.confidence, 0.6 * 0.9, 1e-12);
    assert_int_equal(lp_learner_lookup(ctx, l, "never-seen", NULL, NOW, &out), LP_ENOTFOUND);
    assert_string_equal(out.source, "no running instance of image never-seen measured");
    assert_int_equal(lp_learner_lookup(ctx, l, NULL, NULL, NOW, &out), LP_ENOTFOUND);
    assert_string_equal(out.source, "no image or flavor known");
    lp_learner_free(l);
    lp_cluster_free(c);
}

/* An image nobody trusts falls back to the flavor; the answer says both. */
static void flavor_answers_when_the_image_cannot(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    add_instances(ctx, c, "pc1", "a", "img-a", "spark", LP_CLASS_CPU, 2.0, 0.9, 1);
    add_instances(ctx, c, "pc2", "b", "img-b", "spark", LP_CLASS_CPU, 2.0, 0.9, 3);
    lp_learner *l = learner(ctx);
    TU_OK(ctx, lp_learner_observe(ctx, l, c, NOW));
    lp_learned out;
    TU_OK(ctx, lp_learner_lookup(ctx, l, "img-a", "spark", NOW, &out));
    assert_int_equal(out.klass, LP_CLASS_CPU);
    assert_int_equal(out.instances, 4);
    assert_string_equal(out.source, "class cpu learned from 4 running instances of flavor spark, "
                                    "confidence 0.90");
    assert_int_equal(lp_learner_lookup(ctx, l, "img-a", "other", NOW, &out), LP_ENOTFOUND);
    assert_non_null(strstr(out.source, "not trusted: 1 of 1 running instances of image img-a"));
    assert_non_null(strstr(out.source, "; no running instance of flavor other measured"));
    lp_learner_free(l);
    lp_cluster_free(c);
}

/* The latest observation of an instance counts; old instances are forgotten. */
static void latest_observation_and_forgetting(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *as_cpu = NULL, *as_net = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &as_cpu));
    TU_OK(ctx, lp_cluster_new(ctx, &as_net));
    add_instances(ctx, as_cpu, "pc1", "x", "img", NULL, LP_CLASS_CPU, 2.0, 0.9, 4);
    add_instances(ctx, as_net, "pc1", "x", "img", NULL, LP_CLASS_NET, 0.2, 0.8, 4);
    lp_learn_options o;
    TU_OK(ctx, lp_learn_options_init(&o, LP_LEARN_OPTIONS_VERSION));
    o.forget_s = 600;
    lp_learner *l = NULL;
    TU_OK(ctx, lp_learner_new(ctx, &o, &l));
    TU_OK(ctx, lp_learner_observe(ctx, l, as_cpu, NOW));
    TU_OK(ctx, lp_learner_observe(ctx, l, as_net, NOW + 60));
    lp_learned out;
    TU_OK(ctx, lp_learner_lookup(ctx, l, "img", NULL, NOW + 60, &out));
    assert_int_equal(out.klass, LP_CLASS_NET);
    assert_int_equal(out.instances, 4);
    TU_NEAR(out.demand_per_vcpu, 0.1, 1e-12);
    assert_int_equal(lp_learner_lookup(ctx, l, "img", NULL, NOW + 60 + 601, &out), LP_ENOTFOUND);
    assert_int_equal(out.instances, 0);
    lp_learner_free(l);
    lp_cluster_free(as_cpu);
    lp_cluster_free(as_net);
}

/* An auto request of a known image gets the learned class and demand. */
static void resolve_uses_the_learned_class(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    add_instances(ctx, c, "pc1", "web", "3f2a9c", "m1.small", LP_CLASS_NET, 0.4, 0.9, 5);
    lp_learner *l = learner(ctx);
    TU_OK(ctx, lp_learner_observe(ctx, l, c, NOW));
    lp_request r = tu_request("new-web", LP_CLASS_AUTO, 1, 2, 0);
    r.image = "3f2a9c";
    lp_class k;
    double added;
    lp_learned how;
    TU_OK(ctx, lp_learner_resolve(ctx, l, &r, NOW, &k, &added, &how));
    assert_int_equal(k, LP_CLASS_NET);
    TU_NEAR(added, 0.4, 1e-12); /* 0.2 per vCPU x 2 */
    assert_non_null(strstr(how.source, "class net learned from 5 running instances of image"));
    /* Without the learner the same request is unknown and reserves its vCPUs. */
    TU_OK(ctx, lp_request_resolve(ctx, &r, &k, &added));
    assert_int_equal(k, LP_CLASS_UNKNOWN);
    TU_NEAR(added, 2, 1e-12);
    /* A class the request states is used as is. */
    r.klass = LP_CLASS_CPU;
    TU_OK(ctx, lp_learner_resolve(ctx, l, &r, NOW, &k, &added, &how));
    assert_int_equal(k, LP_CLASS_CPU);
    assert_string_equal(how.source, "class cpu given by the request");
    /* A learned cpu class reserves its full parallelism, not the learned
       demand (these instances ran at 2.2 per 2 vCPUs: 1.1 per vCPU x 4). */
    lp_cluster *cpu = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &cpu));
    add_instances(ctx, cpu, "pc2", "pi", "pi-img", NULL, LP_CLASS_CPU, 2.2, 0.9, 3);
    TU_OK(ctx, lp_learner_observe(ctx, l, cpu, NOW));
    lp_request big = tu_request("pi", LP_CLASS_AUTO, 1, 4, 0);
    big.image = "pi-img";
    TU_OK(ctx, lp_learner_resolve(ctx, l, &big, NOW, &k, &added, NULL));
    assert_int_equal(k, LP_CLASS_CPU);
    TU_NEAR(added, 4, 1e-12);
    lp_cluster_free(cpu);
    /* An unknown image stays unknown. */
    r.klass = LP_CLASS_AUTO;
    r.image = "other";
    TU_OK(ctx, lp_learner_resolve(ctx, l, &r, NOW, &k, &added, NULL));
    assert_int_equal(k, LP_CLASS_UNKNOWN);
    lp_learner_free(l);
    lp_cluster_free(c);
}

/* A VM listed by both hosts of a live migration is one instance; many new
   instances at once (a scheduler's first fetch) are all learned. */
static void duplicates_and_many_new_instances(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = NULL;
    TU_OK(ctx, lp_cluster_new(ctx, &c));
    add_instances(ctx, c, "src", "vm", "img", NULL, LP_CLASS_NET, 0.4, 0.9, 3);
    add_instances(ctx, c, "dst", "vm", "img", NULL, LP_CLASS_NET, 0.4, 0.9, 1); /* vm-0 again */
    enum { HOSTS = 200, PER = 16 };
    static char ids[HOSTS][PER][24];
    static lp_workload ws[PER];
    for (int h = 0; h < HOSTS; h++) {
        for (int j = 0; j < PER; j++) {
            snprintf(ids[h][j], sizeof ids[h][j], "z%03d-%02d", HOSTS - h, j); /* descending */
            lp_workload_init(&ws[j], LP_WORKLOAD_VERSION);
            ws[j].id = ids[h][j];
            ws[j].image = h % 2 ? "odd" : "even";
            ws[j].klass = h % 2 ? LP_CLASS_CPU : LP_CLASS_IDLE;
            ws[j].confidence = 1;
        }
        char name[16];
        snprintf(name, sizeof name, "n%d", h);
        lp_host host = tu_host(name);
        host.workloads = ws;
        host.n_workloads = PER;
        TU_OK(ctx, lp_cluster_add_host(ctx, c, &host));
    }
    lp_learner *l = learner(ctx);
    TU_OK(ctx, lp_learner_observe(ctx, l, c, NOW));
    lp_learned out;
    TU_OK(ctx, lp_learner_lookup(ctx, l, "img", NULL, NOW, &out));
    assert_int_equal(out.instances, 3);
    TU_OK(ctx, lp_learner_lookup(ctx, l, "odd", NULL, NOW, &out));
    assert_int_equal(out.klass, LP_CLASS_CPU);
    assert_int_equal(out.instances, HOSTS / 2 * PER);
    TU_OK(ctx, lp_learner_lookup(ctx, l, "even", NULL, NOW, &out));
    assert_int_equal(out.klass, LP_CLASS_IDLE);
    assert_int_equal(out.instances, HOSTS / 2 * PER);
    /* Observed again: still the same instances. */
    TU_OK(ctx, lp_learner_observe(ctx, l, c, NOW + 1));
    TU_OK(ctx, lp_learner_lookup(ctx, l, "odd", NULL, NOW + 1, &out));
    assert_int_equal(out.instances, HOSTS / 2 * PER);
    lp_learner_free(l);
    lp_cluster_free(c);
}

static void bad_arguments(void **state)
{
    lp_ctx *ctx = *state;
    lp_learner *l = NULL;
    lp_learn_options o;
    TU_OK(ctx, lp_learn_options_init(&o, LP_LEARN_OPTIONS_VERSION));
    assert_int_equal(lp_learn_options_init(&o, 2), LP_EINVAL);
    o.min_instances = 0;
    TU_FAILS(ctx, lp_learner_new(ctx, &o, &l), LP_EINVAL, "min_instances");
    TU_OK(ctx, lp_learn_options_init(&o, LP_LEARN_OPTIONS_VERSION));
    o.forget_s = 0;
    TU_FAILS(ctx, lp_learner_new(ctx, &o, &l), LP_EINVAL, "forget_s (0)");
    TU_OK(ctx, lp_learn_options_init(&o, LP_LEARN_OPTIONS_VERSION));
    o.version = 5;
    TU_FAILS(ctx, lp_learner_new(ctx, &o, &l), LP_EINVAL, "version 5");
    assert_null(l);
    assert_int_equal(lp_learner_new(NULL, NULL, &l), LP_EINVAL);
    l = learner(ctx);
    lp_cluster *c = tu_testbed(ctx, 1);
    TU_FAILS(ctx, lp_learner_observe(ctx, l, c, 0), LP_EINVAL, "now (0)");
    TU_FAILS(ctx, lp_learner_observe(ctx, l, NULL, NOW), LP_EINVAL, "cluster is NULL");
    lp_learned out;
    TU_FAILS(ctx, lp_learner_lookup(ctx, l, "x", NULL, NOW, NULL), LP_EINVAL, "out is NULL");
    lp_request r = tu_request("r", LP_CLASS_AUTO, 1, 0, 0); /* vcpus 0: invalid */
    lp_class k;
    double a;
    TU_FAILS(ctx, lp_learner_resolve(ctx, l, &r, NOW, &k, &a, &out), LP_EINVAL, "vcpus (0)");
    lp_learner_free(l);
    lp_learner_free(NULL);
    lp_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(five_web_servers_teach_net),
        TU_TEST(too_few_or_disagreeing_is_not_trusted),
        TU_TEST(flavor_answers_when_the_image_cannot),
        TU_TEST(latest_observation_and_forgetting),
        TU_TEST(resolve_uses_the_learned_class),
        TU_TEST(duplicates_and_many_new_instances),
        TU_TEST(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
