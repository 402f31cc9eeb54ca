/* The context: status texts, version, policy parameters, errors. */
#include "testutil.h"

#include <stdlib.h>

static void status_texts_are_distinct_and_never_null(void **state)
{
    (void)state;
    for (int a = LP_OK; a <= LP_ESTALE; a++) {
        assert_non_null(lp_status_str(a));
        for (int b = a + 1; b <= LP_ESTALE; b++)
            assert_string_not_equal(lp_status_str(a), lp_status_str(b));
    }
    assert_string_equal(lp_status_str(LP_EINVAL), "invalid argument");
    assert_string_equal(lp_status_str(LP_ESTALE), "stale data");
    assert_string_equal(lp_status_str((lp_status)99), "unknown status");
}

static void version_matches_the_header(void **state)
{
    (void)state;
    assert_string_equal(lp_version(), LP_VERSION_STRING);
}

static void defaults_are_the_documented_ones(void **state)
{
    lp_ctx *ctx = *state;
    const struct {
        const char *name;
        double value;
    } want[] = {{"cap_slack", 0.1},
                {"max_parallel_ratio", 1.0}, {"weight_headroom", 1.0},   {"weight_colocate", 1.0},
                {"weight_spread", 0.5},      {"estimate_net", 0.5},      {"estimate_io", 0.25},
                {"estimate_idle", 0.1},      {"cpu_busy_fraction", 0.6}, {"idle_util", 0.05},
                {"net_bps_threshold", 1e6},  {"disk_bps_threshold", 2e7}, {"iowait_threshold", 0.2},
                {"wait_ratio_threshold", 0.5}};
    size_t n = sizeof want / sizeof want[0];
    for (size_t i = 0; i < n; i++) {
        double v = -1;
        TU_OK(ctx, lp_ctx_get_param(ctx, want[i].name, &v));
        TU_NEAR(v, want[i].value, 0);
    }
    /* the list of names is exactly these */
    size_t count = 0;
    while (lp_policy_param_name(count))
        count++;
    assert_int_equal(count, n);
}

static void every_listed_parameter_has_help_and_can_be_read(void **state)
{
    lp_ctx *ctx = *state;
    for (size_t i = 0; lp_policy_param_name(i); i++) {
        double v;
        assert_non_null(lp_policy_param_help(i));
        assert_true(strlen(lp_policy_param_help(i)) > 10);
        TU_OK(ctx, lp_ctx_get_param(ctx, lp_policy_param_name(i), &v));
        TU_OK(ctx, lp_ctx_set_param(ctx, lp_policy_param_name(i), v)); /* the default is in range */
    }
    assert_null(lp_policy_param_name(1000));
    assert_null(lp_policy_param_help(1000));
}

static void set_then_get(void **state)
{
    lp_ctx *ctx = *state;
    double v;
    TU_OK(ctx, lp_ctx_set_param(ctx, "max_parallel_ratio", 1.5));
    TU_OK(ctx, lp_ctx_get_param(ctx, "max_parallel_ratio", &v));
    TU_NEAR(v, 1.5, 0);
    TU_OK(ctx, lp_ctx_set_param(ctx, "max_parallel_ratio", 16)); /* the top of the range is allowed */
    TU_OK(ctx, lp_ctx_set_param(ctx, "weight_spread", 0));       /* and so is 0 for weights */
    TU_OK(ctx, lp_ctx_get_param(ctx, "weight_spread", &v));
    TU_NEAR(v, 0, 0);
}

static void out_of_range_values_are_refused_and_change_nothing(void **state)
{
    lp_ctx *ctx = *state;
    double v;
    TU_FAILS(ctx, lp_ctx_set_param(ctx, "max_parallel_ratio", 0), LP_EINVAL, "(0, 16]");
    TU_FAILS(ctx, lp_ctx_set_param(ctx, "max_parallel_ratio", 16.5), LP_EINVAL, "max_parallel_ratio");
    TU_FAILS(ctx, lp_ctx_set_param(ctx, "max_parallel_ratio", NAN), LP_EINVAL, "out of range");
    TU_FAILS(ctx, lp_ctx_set_param(ctx, "weight_colocate", -0.1), LP_EINVAL, "[0,");
    TU_FAILS(ctx, lp_ctx_set_param(ctx, "estimate_net", 1.5), LP_EINVAL, "estimate_net");
    TU_FAILS(ctx, lp_ctx_set_param(ctx, "net_bps_threshold", INFINITY), LP_EINVAL, "net_bps_threshold");
    TU_OK(ctx, lp_ctx_get_param(ctx, "max_parallel_ratio", &v));
    TU_NEAR(v, 1.0, 0);
    TU_OK(ctx, lp_ctx_get_param(ctx, "estimate_net", &v));
    TU_NEAR(v, 0.5, 0);
}

static void unknown_names_and_null_arguments(void **state)
{
    lp_ctx *ctx = *state;
    double v;
    TU_FAILS(ctx, lp_ctx_set_param(ctx, "max_paralel_ratio", 1), LP_ENOTFOUND, "'max_paralel_ratio'");
    TU_FAILS(ctx, lp_ctx_set_param(ctx, NULL, 1), LP_EINVAL, "NULL");
    TU_FAILS(ctx, lp_ctx_get_param(ctx, "nope", &v), LP_ENOTFOUND,
             "unknown policy parameter 'nope'");
    TU_FAILS(ctx, lp_ctx_get_param(ctx, NULL, &v), LP_EINVAL, "name is NULL");
    TU_FAILS(ctx, lp_ctx_get_param(ctx, "idle_util", NULL), LP_EINVAL, "value is NULL");
    assert_int_equal(lp_ctx_set_param(NULL, "idle_util", 1), LP_EINVAL);
    assert_int_equal(lp_ctx_get_param(NULL, "idle_util", &v), LP_EINVAL);
    assert_int_equal(lp_ctx_new(NULL), LP_EINVAL);
    assert_int_equal(lp_ctx_dup(NULL, &ctx), LP_EINVAL);
    TU_FAILS(ctx, lp_ctx_dup(ctx, NULL), LP_EINVAL, "out is NULL");
    assert_string_equal(lp_ctx_last_error(NULL), "");
    lp_ctx_clear_error(NULL);
    lp_ctx_free(NULL);
    lp_free(NULL);
}

static void errors_stay_until_cleared(void **state)
{
    lp_ctx *ctx = *state;
    lp_ctx_clear_error(ctx);
    assert_string_equal(lp_ctx_last_error(ctx), "");
    assert_int_equal(lp_ctx_set_param(ctx, "bogus", 1), LP_ENOTFOUND);
    assert_non_null(strstr(lp_ctx_last_error(ctx), "bogus"));
    lp_ctx_clear_error(ctx);
    assert_string_equal(lp_ctx_last_error(ctx), "");
}

static void dup_copies_policy_but_not_the_error(void **state)
{
    lp_ctx *ctx = *state;
    TU_OK(ctx, lp_ctx_set_param(ctx, "weight_headroom", 3));
    TU_OK(ctx, lp_ctx_set_runtime_order(ctx, LP_CLASS_CPU, "vm"));
    assert_int_equal(lp_ctx_set_param(ctx, "bogus", 1), LP_ENOTFOUND);
    lp_ctx *copy = NULL;
    TU_OK(ctx, lp_ctx_dup(ctx, &copy));
    double v;
    TU_OK(copy, lp_ctx_get_param(copy, "weight_headroom", &v));
    TU_NEAR(v, 3, 0);
    char order[32];
    TU_OK(copy, lp_ctx_get_runtime_order(copy, LP_CLASS_CPU, order, sizeof order));
    assert_string_equal(order, "vm");
    assert_string_equal(lp_ctx_last_error(copy), "");
    /* the two are independent */
    TU_OK(copy, lp_ctx_set_param(copy, "weight_headroom", 2));
    TU_OK(ctx, lp_ctx_get_param(ctx, "weight_headroom", &v));
    TU_NEAR(v, 3, 0);
    lp_ctx_free(copy);
}

/* What plug-ins (collectors) report errors with. */
static void set_error_formats_and_returns_the_status(void **state)
{
    lp_ctx *ctx = *state;
    assert_int_equal(lp_ctx_set_error(ctx, LP_EIO, "%s: %d", "/proc/stat", 5), LP_EIO);
    assert_string_equal(lp_ctx_last_error(ctx), "/proc/stat: 5");
    /* the last message itself may be an argument */
    assert_int_equal(lp_ctx_set_error(ctx, LP_EUNAVAIL, "down: %s", lp_ctx_last_error(ctx)),
                     LP_EUNAVAIL);
    assert_string_equal(lp_ctx_last_error(ctx), "down: /proc/stat: 5");
    assert_int_equal(lp_ctx_set_error(NULL, LP_ENOMEM, "dropped"), LP_ENOMEM);
    char big[2000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(lp_ctx_set_error(ctx, LP_EINVAL, "%s", big), LP_EINVAL);
    assert_int_equal(strlen(lp_ctx_last_error(ctx)), 511);
}

static void long_messages_are_truncated_safely(void **state)
{
    lp_ctx *ctx = *state;
    char name[2000];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(lp_ctx_set_param(ctx, name, 1), LP_ENOTFOUND);
    size_t len = strlen(lp_ctx_last_error(ctx));
    assert_true(len > 100 && len < 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(status_texts_are_distinct_and_never_null),
        TU_TEST(version_matches_the_header),
        TU_TEST(defaults_are_the_documented_ones),
        TU_TEST(every_listed_parameter_has_help_and_can_be_read),
        TU_TEST(set_then_get),
        TU_TEST(out_of_range_values_are_refused_and_change_nothing),
        TU_TEST(unknown_names_and_null_arguments),
        TU_TEST(errors_stay_until_cleared),
        TU_TEST(dup_copies_policy_but_not_the_error),
        TU_TEST(set_error_formats_and_returns_the_status),
        TU_TEST(long_messages_are_truncated_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
