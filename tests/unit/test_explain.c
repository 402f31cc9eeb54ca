/* Explanations of verdicts, and the names of reasons and terms. */
#include "testutil.h"

#include <stdlib.h>

/* Filter one host for a request and explain the verdict. */
static void explain(lp_ctx *ctx, const lp_request *r, const lp_host_load *h, int with_host,
                    char *buf, size_t len)
{
    lp_verdict v;
    TU_OK(ctx, lp_request_filter_score(ctx, r, h, 1, &v));
    size_t need = 0;
    TU_OK(ctx, lp_verdict_explain(ctx, &v, with_host ? h : NULL, buf, len, &need));
    assert_int_equal(need, strlen(buf));
}

static lp_request worker(void)
{
    lp_request r = tu_request("spark", LP_CLASS_CPU, 1, 2, 2048);
    r.parallelism = 2;
    return r;
}

static void pass_shows_demand_runtime_and_terms(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load h = tu_load(8, 2);
    lp_request r = worker();
    char buf[256];
    explain(ctx, &r, &h, 1, buf, sizeof buf);
    assert_string_equal(buf, "pass: demand 2.00 + 2.00 = 4.00 <= cap 8.00; class cpu; runtime "
                             "unikernel; score 0.500 = headroom 0.500 + colocate 0.000 + spread "
                             "0.000");
    r.group = "g";
    h.group_members = 2;
    explain(ctx, &r, &h, 1, buf, sizeof buf);
    assert_non_null(strstr(buf, "score 0.250 = headroom 0.500 + colocate 0.000 - spread 0.250"));
}

static void parallelism_failure_shows_the_cap(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load h = tu_load(8, 7.5);
    lp_request r = worker();
    char buf[256];
    explain(ctx, &r, &h, 1, buf, sizeof buf);
    assert_string_equal(buf, "fail parallelism: demand 7.50 + 2.00 = 9.50 > cap 8.00 "
                             "(8 threads x 1.00) for class cpu");
    explain(ctx, &r, &h, 0, buf, sizeof buf);
    assert_string_equal(buf, "fail parallelism: demand 7.50 + 2.00 = 9.50 > cap 8.00 for class cpu");
    TU_OK(ctx, lp_ctx_set_param(ctx, "max_parallel_ratio", 0.5));
    h.demand = 3;
    explain(ctx, &r, &h, 1, buf, sizeof buf);
    assert_non_null(strstr(buf, "> cap 4.00 (8 threads x 0.50)"));
}

static void runtime_failure_names_what_the_host_offers(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load h = tu_load(8, 0);
    h.runtimes = LP_RUNTIME_CONTAINER;
    lp_request r = worker();
    r.allowed_runtimes = LP_RUNTIME_UNIKERNEL | LP_RUNTIME_VM;
    char buf[256];
    explain(ctx, &r, &h, 1, buf, sizeof buf);
    assert_string_equal(buf, "fail runtime: host offers container, none that class cpu may use "
                             "among the runtimes the request allows");
    h.runtimes = 0;
    explain(ctx, &r, &h, 1, buf, sizeof buf);
    assert_non_null(strstr(buf, "host offers none,"));
}

static void memory_failure_shows_need_and_free(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load h = tu_load(8, 0);
    h.memory_free_mb = 1024;
    lp_request r = worker();
    char buf[256];
    explain(ctx, &r, &h, 1, buf, sizeof buf);
    assert_string_equal(buf, "fail memory: needs 2048 MB, 1024 MB free");
}

static void text_is_truncated_like_snprintf(void **state)
{
    lp_ctx *ctx = *state;
    lp_host_load h = tu_load(8, 7.5);
    lp_request r = worker();
    lp_verdict v;
    TU_OK(ctx, lp_request_filter_score(ctx, &r, &h, 1, &v));
    char full[256], small[11];
    size_t need = 0, got = 0;
    TU_OK(ctx, lp_verdict_explain(ctx, &v, &h, full, sizeof full, &need));
    assert_int_equal(need, strlen(full));
    memset(small, 'x', sizeof small);
    TU_FAILS(ctx, lp_verdict_explain(ctx, &v, &h, small, sizeof small, &got), LP_ELIMIT,
             "needs");
    assert_int_equal(got, need);
    assert_string_equal(small, "fail paral"); /* cut, and still NUL-terminated */
    got = 0;
    assert_int_equal(lp_verdict_explain(ctx, &v, &h, NULL, 0, &got), LP_ELIMIT);
    assert_int_equal(got, need);
    char one = 'x';
    assert_int_equal(lp_verdict_explain(NULL, &v, &h, &one, 1, NULL), LP_ELIMIT);
    assert_int_equal(one, '\0');
    /* exactly the length plus its NUL fits */
    char *exact = malloc(need + 1);
    assert_non_null(exact);
    TU_OK(ctx, lp_verdict_explain(ctx, &v, &h, exact, need + 1, NULL));
    assert_string_equal(exact, full);
    free(exact);
    TU_FAILS(ctx, lp_verdict_explain(ctx, NULL, &h, full, sizeof full, &got), LP_EINVAL,
             "verdict is NULL");
    TU_FAILS(ctx, lp_verdict_explain(ctx, &v, &h, NULL, 5, &got), LP_EINVAL, "buf is NULL");
}

static void reason_and_term_names(void **state)
{
    (void)state;
    assert_string_equal(lp_reason_name(LP_REASON_OK), "ok");
    assert_string_equal(lp_reason_name(LP_REASON_PARALLELISM), "parallelism");
    assert_string_equal(lp_reason_name(LP_REASON_RUNTIME), "runtime");
    assert_string_equal(lp_reason_name(LP_REASON_MEMORY), "memory");
    assert_string_equal(lp_reason_name((lp_reason)17), "?");
    assert_string_equal(lp_term_name(LP_TERM_HEADROOM), "headroom");
    assert_string_equal(lp_term_name(LP_TERM_COLOCATE), "colocate");
    assert_string_equal(lp_term_name(LP_TERM_SPREAD), "spread");
    assert_string_equal(lp_term_name(LP_TERM_COUNT), "?");
    assert_string_equal(lp_term_name(-1), "?");
}

/* A plan of r on c, written as text with flags. */
static char *plan_text(lp_ctx *ctx, const lp_cluster *c, const lp_request *r,
                       const lp_place_options *opts, unsigned flags)
{
    lp_requests *rs = NULL;
    lp_plan *p = NULL;
    char *text = NULL;
    size_t len = 0;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_add(ctx, rs, r));
    TU_OK(ctx, lp_plan_new(ctx, c, rs, opts, &p));
    TU_OK(ctx, lp_plan_write_text(ctx, p, c, rs, flags, &text, &len));
    assert_int_equal(len, strlen(text));
    lp_plan_free(p);
    lp_requests_free(rs);
    return text;
}

static void plan_text_lists_instances_and_refusals(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 2);
    lp_request r = worker();
    r.count = 9; /* 2 hosts of 8 threads take 8 two-thread workers */
    char *text = plan_text(ctx, c, &r, TU_KEEP_VERDICTS, 0);
    assert_non_null(strstr(text, "spark#0 -> h0  pass: demand 0.00 + 2.00 = 2.00 <= cap 8.00; "
                                 "class cpu; runtime unikernel; score 0.750 = headroom 0.750 + "
                                 "colocate 0.000 + spread 0.000\n"
                                 "spark#1 -> h1  pass: "));
    assert_non_null(strstr(text, "\nspark#8 -> UNPLACED  0/2 hosts can take spark#8: "
                                 "2 parallelism\n"
                                 "    h0               fail parallelism: demand 8.00 + 2.00 = "
                                 "10.00 > cap 8.00 (8 threads x 1.00) for class cpu\n"
                                 "    h1               fail parallelism: "));
    assert_non_null(strstr(text, " for class cpu\nplaced 8 of 9 instances\n"));
    assert_null(strstr(text, "  * ")); /* verdicts of placed instances only with the flag */
    lp_free(text);

    /* every host under every instance, the chosen one marked */
    text = plan_text(ctx, c, &r, TU_KEEP_VERDICTS, LP_TEXT_EVERY_HOST);
    assert_non_null(strstr(text, "spark#0 -> h0  pass: demand 0.00 + 2.00 = 2.00 <= cap 8.00; "));
    assert_non_null(strstr(text, "\n  * h0               pass: demand 0.00 + 2.00 = 2.00 <= cap "
                                 "8.00; class cpu; runtime unikernel; score 0.750 = headroom 0.750 "
                                 "+ colocate 0.000 + spread 0.000\n"
                                 "    h1               pass: demand 0.00 + 2.00 = 2.00"));
    assert_non_null(strstr(text, "spark#1 -> h1  pass: demand 0.00 + 2.00"));
    assert_non_null(strstr(text, "\n    h0               pass: demand 2.00 + 2.00 = 4.00"));
    assert_non_null(strstr(text, "\n  * h1               pass: demand 0.00 + 2.00 = 2.00"));
    lp_free(text);

    /* without kept verdicts: the count alone, no per-host lines */
    text = plan_text(ctx, c, &r, NULL, LP_TEXT_EVERY_HOST);
    assert_non_null(strstr(text, "\nspark#8 -> UNPLACED  0/2 hosts can take spark#8\n"
                                 "placed 8 of 9 instances\n"));
    assert_null(strstr(text, "    h0"));
    lp_free(text);
    lp_cluster_free(c);

    /* an empty cluster says so */
    c = tu_testbed(ctx, 0);
    r.count = 1;
    text = plan_text(ctx, c, &r, TU_KEEP_VERDICTS, 0);
    assert_string_equal(text, "spark#0 -> UNPLACED  0/0 hosts can take spark#0: the cluster has "
                              "no hosts\nplaced 0 of 1 instances\n");
    lp_free(text);
    lp_cluster_free(c);
}

/* Free memory in the refusals is what the earlier instances of the plan left. */
static void plan_text_quotes_memory_left_by_earlier_instances(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 2); /* 16384 MB each */
    lp_request r = tu_request("db", LP_CLASS_IO, 3, 1, 10000);
    char *text = plan_text(ctx, c, &r, TU_KEEP_VERDICTS, 0);
    assert_non_null(strstr(text, "db#2 -> UNPLACED  0/2 hosts can take db#2: 2 memory\n"
                                 "    h0               fail memory: needs 10000 MB, "
                                 "6384 MB free\n"
                                 "    h1               fail memory: needs 10000 MB, "
                                 "6384 MB free\n"));
    lp_free(text);
    lp_cluster_free(c);
}

static void plan_text_refuses_bad_arguments(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 2), *other = tu_testbed(ctx, 3);
    lp_request r = worker();
    lp_requests *rs = NULL;
    lp_plan *p = NULL;
    char *text = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_add(ctx, rs, &r));
    TU_OK(ctx, lp_plan_new(ctx, c, rs, NULL, &p));
    assert_int_equal(lp_plan_write_text(NULL, p, c, rs, 0, &text, NULL), LP_EINVAL);
    TU_FAILS(ctx, lp_plan_write_text(ctx, NULL, c, rs, 0, &text, NULL), LP_EINVAL, "plan is NULL");
    TU_FAILS(ctx, lp_plan_write_text(ctx, p, c, NULL, 0, &text, NULL), LP_EINVAL,
             "requests is NULL");
    TU_FAILS(ctx, lp_plan_write_text(ctx, p, c, rs, 0, NULL, NULL), LP_EINVAL, "out is NULL");
    TU_FAILS(ctx, lp_plan_write_text(ctx, p, c, rs, 0x10, &text, NULL), LP_EINVAL,
             "unknown flags 0x10");
    TU_FAILS(ctx, lp_plan_write_text(ctx, p, other, rs, 0, &text, NULL), LP_EINVAL,
             "made on 2 hosts, the cluster has 3");
    assert_null(text);
    lp_plan_free(p);
    lp_requests_free(rs);
    lp_cluster_free(c);
    lp_cluster_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(pass_shows_demand_runtime_and_terms),
        TU_TEST(parallelism_failure_shows_the_cap),
        TU_TEST(runtime_failure_names_what_the_host_offers),
        TU_TEST(memory_failure_shows_need_and_free),
        TU_TEST(text_is_truncated_like_snprintf),
        TU_TEST(reason_and_term_names),
        TU_TEST(plan_text_lists_instances_and_refusals),
        TU_TEST(plan_text_quotes_memory_left_by_earlier_instances),
        TU_TEST(plan_text_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
