/*
 * The snapshot fetcher against real HTTP agents on loopback (a forked child,
 * fetch_agents.h): parallel fetch, misbehaving agents, cache TTL, token,
 * host-name and option checks.
 */
#include "testutil.h"

#include <openssl/ssl.h>

#include "fetch_agents.h"

#define TEMPLATE "http://{host}/v1/snapshot"

static lp_fetcher *new_fetcher(lp_ctx *ctx, long timeout_ms, double ttl_s, const char *token)
{
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = TEMPLATE;
    o.timeout_ms = timeout_ms;
    o.connect_timeout_ms = timeout_ms < 300 ? timeout_ms : 300;
    o.max_bytes = 64 * 1024;
    o.ttl_s = ttl_s;
    o.token = token;
    o.max_parallel = 512;
    lp_fetcher *f = NULL;
    assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_OK);
    assert_non_null(f);
    return f;
}

static char **host_names(const int *ports, size_t n)
{
    char **h = calloc(n, sizeof *h);
    assert_non_null(h);
    for (size_t i = 0; i < n; i++) {
        h[i] = malloc(32);
        assert_non_null(h[i]);
        snprintf(h[i], 32, "127.0.0.1:%d", ports[i]);
    }
    return h;
}

static void free_names(char **h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(h[i]);
    free(h);
}

static void test_options_checked(void **state)
{
    (void)state;
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    lp_fetcher *f = NULL;
    lp_fetch_options o;
    struct {
        const char *tmpl;
        long timeout, connect;
        size_t max_bytes;
        unsigned par;
        const char *token;
        lp_status want;
        const char *says;
    } bad[] = {
        { NULL, 1000, 300, 1024, 8, NULL, LP_EINVAL, "url_template is required" },
        { "http://example.org/x", 1000, 300, 1024, 8, NULL, LP_EINVAL, "has no {host}" },
        { "ftp://{host}/x", 1000, 300, 1024, 8, NULL, LP_EINVAL, "http:// or https://" },
        { "http://{host}/a b", 1000, 300, 1024, 8, NULL, LP_EINVAL, "position 15" },
        { TEMPLATE, 0, 0, 1024, 8, NULL, LP_EINVAL, "timeout_ms 0" },
        { TEMPLATE, 1000, 2000, 1024, 8, NULL, LP_EINVAL, "connect_timeout_ms 2000" },
        { TEMPLATE, 1000, 300, 0, 8, NULL, LP_EINVAL, "max_bytes 0" },
        { TEMPLATE, 1000, 300, 1024, 0, NULL, LP_EINVAL, "max_parallel 0" },
        { TEMPLATE, 1000, 300, 1024, 8, "tok\r\nX-Evil: 1", LP_EINVAL, "token has a control" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
        o.url_template = bad[i].tmpl;
        o.timeout_ms = bad[i].timeout;
        o.connect_timeout_ms = bad[i].connect;
        o.max_bytes = bad[i].max_bytes;
        o.max_parallel = bad[i].par;
        o.token = bad[i].token;
        assert_int_equal(lp_fetcher_new(ctx, &o, &f), bad[i].want);
        assert_null(f);
        if (!strstr(lp_ctx_last_error(ctx), bad[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, lp_ctx_last_error(ctx), bad[i].says);
    }
    /* Templates longer than the limit. */
    char *big = malloc(LP_FETCH_MAX_URL + 64);
    assert_non_null(big);
    memset(big, 'a', LP_FETCH_MAX_URL + 63);
    memcpy(big, "http://{host}/", 14);
    big[LP_FETCH_MAX_URL + 63] = '\0';
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = big;
    assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_ELIMIT);
    free(big);
    /* The clock-skew allowance and the CA bundle. */
    const double skews[] = { -1, LP_FETCH_MAX_SKEW_S + 1, NAN };
    for (size_t i = 0; i < sizeof skews / sizeof skews[0]; i++) {
        lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
        o.url_template = TEMPLATE;
        o.max_skew_s = skews[i];
        assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_EINVAL);
        assert_non_null(strstr(lp_ctx_last_error(ctx), "max_skew_s"));
    }
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    assert_true(o.max_skew_s == 5 && o.ca_file == NULL);
    o.url_template = TEMPLATE;
    o.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_EINVAL);
    assert_null(f);
    assert_non_null(strstr(lp_ctx_last_error(ctx),
                           "fetch: ca_file '/nonexistent/ca.pem' cannot be read: No such file"));
    /* Options of an unknown version are never read. */
    assert_int_equal(lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION + 1), LP_EINVAL);
    assert_int_equal(lp_fetch_options_init(NULL, LP_FETCH_OPTIONS_VERSION), LP_EINVAL);
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = TEMPLATE;
    o.version = 4;
    assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_EINVAL);
    assert_null(f);
    assert_non_null(strstr(lp_ctx_last_error(ctx),
                           "fetch: lp_fetch_options version 4 is newer than this library (1)"));
    lp_ctx_free(ctx);
}

static void test_host_names_checked(void **state)
{
    (void)state;
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    const char *good[] = { "compute1", "c-1.example.org", "10.0.0.7:9180", "node_7" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(lp_host_name_check(ctx, good[i]), LP_OK);
    const char *bad[] = { "", "a b", "evil/path", "user@host", "h?q=1", "h#f", "%41", "[::1]",
                          "h\nx" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(lp_host_name_check(ctx, bad[i]), LP_EINVAL);
        assert_non_null(strstr(lp_ctx_last_error(ctx), bad[i][0] ? "position" : "empty"));
    }
    char longname[LP_FETCH_MAX_HOST + 2];
    memset(longname, 'h', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(lp_host_name_check(ctx, longname), LP_EINVAL);
    assert_non_null(strstr(lp_ctx_last_error(ctx), "limit"));

    /* In a fetch: bad and duplicate names are refused per host, without any I/O. */
    lp_fetcher *f = new_fetcher(ctx, 500, 60, NULL);
    lp_cluster *c;
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    const char *hosts[] = { "a b", "x/../y", NULL };
    lp_fetch_result r[3];
    size_t ok = 99;
    assert_int_equal(lp_fetcher_fetch(ctx, f, hosts, 3, c, r, &ok), LP_OK);
    assert_int_equal(ok, 0);
    assert_int_equal(lp_cluster_size(c), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r[i].status, LP_EINVAL);
        assert_int_equal(r[i].http_code, 0);
    }
    assert_non_null(strstr(r[1].message, "byte 0x2f at position 1"));
    assert_non_null(strstr(r[2].message, "hosts[2] is NULL"));
    lp_cluster_free(c);
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
}

static void test_url_limit(void **state)
{
    (void)state;
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    /* A template just under the limit, with {host} twice: a long host name overflows it. */
    char *t = malloc(LP_FETCH_MAX_URL + 1);
    assert_non_null(t);
    memset(t, 'p', LP_FETCH_MAX_URL - 50);
    memcpy(t, "http://{host}/{host}/", 21);
    t[LP_FETCH_MAX_URL - 50] = '\0';
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = t;
    lp_fetcher *f = NULL;
    assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_OK);
    free(t); /* the fetcher keeps a copy */
    char host[LP_FETCH_MAX_HOST + 1];
    memset(host, 'h', LP_FETCH_MAX_HOST);
    host[LP_FETCH_MAX_HOST] = '\0';
    const char *hosts[] = { host };
    lp_fetch_result r;
    lp_cluster *c;
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_fetch(ctx, f, hosts, 1, c, &r, NULL), LP_OK);
    assert_int_equal(r.status, LP_EINVAL);
    if (!strstr(r.message, "longer than 2048"))
        fail_msg("message: %s", r.message);
    lp_cluster_free(c);
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
}

/* Index of a port that nobody listens on: bind one and close it. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_many_agents_and_misbehaving_ones(void **state)
{
    (void)state;
    enum { GOOD = 200 };
    const fa_mode odd[] = { FA_HUNG, FA_SLOW, FA_HUGE, FA_HUGE_CL, FA_GARBAGE, FA_ERROR, FA_LATE_OK };
    const lp_status want[] = { LP_ETIMEOUT, LP_ETIMEOUT, LP_ELIMIT, LP_ELIMIT,
                               LP_EPARSE,   LP_EIO,      LP_OK };
    const size_t nodd = sizeof odd / sizeof odd[0];
    const size_t n = GOOD + nodd + 1; /* + a closed port */
    fa_mode modes[GOOD + 8];
    int ports[GOOD + 8];
    for (size_t i = 0; i < GOOD; i++)
        modes[i] = FA_GOOD;
    memcpy(modes + GOOD, odd, sizeof odd);
    fa_raise_nofile();
    pid_t pid = fa_start(modes, n - 1, ports, NULL);
    assert_true(pid > 0);
    ports[n - 1] = closed_port();
    char **names = host_names(ports, n);

    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    /* Long enough that 200 good agents answer in time under ASan on a loaded
       2-core machine: only the hung and trickling agents may time out. */
    const long timeout_ms = 5000;
    lp_fetcher *f = new_fetcher(ctx, timeout_ms, 60, NULL);
    lp_cluster *c;
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    lp_fetch_result *r = calloc(n, sizeof *r);
    assert_non_null(r);
    size_t ok = 0;
    double t0 = fa_now();
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, n, c, r, &ok), LP_OK);
    double took_ms = (fa_now() - t0) * 1000.0;

    /* A hang guard, not a benchmark: the documented bound is one timeout per
       batch of max_parallel (64) transfers, plus generous slack for a loaded
       machine; the hung and trickling agents must not hold the call longer. */
    double bound_ms = (double)((n + 63) / 64) * timeout_ms + 30000;
    if (took_ms > bound_ms)
        fail_msg("fetch took %.0f ms, more than its bound %.0f ms", took_ms, bound_ms);
    for (size_t i = 0; i < GOOD; i++) {
        if (r[i].status != LP_OK)
            fail_msg("good agent %s: %s", names[i], r[i].message);
        assert_int_equal(r[i].http_code, 200);
        assert_int_equal(r[i].from_cache, 0);
        assert_true(r[i].elapsed_ms < timeout_ms);
        long k = tu_find(c, names[i]);
        assert_true(k >= 0);
        const lp_host *h = lp_cluster_get_host(c, (size_t)k);
        assert_int_equal(h->threads, 8);
        assert_true(h->load_demand == ports[i] % 8 + 0.5);
        assert_int_equal(h->n_workloads, 1);
    }
    for (size_t j = 0; j < nodd; j++) {
        const lp_fetch_result *x = &r[GOOD + j];
        if (x->status != want[j])
            fail_msg("agent mode %d: status %s, want %s (%s)", (int)odd[j], lp_status_str(x->status),
                     lp_status_str(want[j]), x->message);
        assert_int_equal(tu_find(c, names[GOOD + j]) >= 0, want[j] == LP_OK);
        if (want[j] != LP_OK)
            assert_non_null(strstr(x->message, names[GOOD + j]));
    }
    assert_int_equal(r[GOOD + 5].http_code, 500);
    assert_non_null(strstr(r[GOOD + 5].message, "HTTP status 500"));
    assert_non_null(strstr(r[GOOD + 2].message, "larger than max_bytes"));
    assert_int_equal(r[n - 1].status, LP_EIO);
    assert_int_equal(r[n - 1].http_code, 0);
    assert_int_equal(ok, GOOD + 1);
    assert_int_equal(lp_cluster_size(c), GOOD + 1);

    /* A second call takes the good ones from the cache and retries only the failed. */
    lp_cluster *c2;
    assert_int_equal(lp_cluster_new(ctx, &c2), LP_OK);
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, GOOD, c2, r, &ok), LP_OK);
    assert_int_equal(ok, GOOD);
    for (size_t i = 0; i < GOOD; i++)
        assert_int_equal(r[i].from_cache, 1);

    lp_cluster_free(c2);
    lp_cluster_free(c);
    free(r);
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
    free_names(names, n);
    fa_stop(pid);
}

/* Fewer slots than hosts: a hung agent holds one slot; the others go through the rest. */
static void test_queue_with_few_slots(void **state)
{
    (void)state;
    enum { N = 9 };
    fa_mode modes[N] = { FA_HUNG };
    for (size_t i = 1; i < N; i++)
        modes[i] = FA_GOOD;
    int ports[N];
    pid_t pid = fa_start(modes, N, ports, NULL);
    assert_true(pid > 0);
    char **names = host_names(ports, N);
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = TEMPLATE;
    o.timeout_ms = 3000; /* good agents answer in time even under load */
    o.max_parallel = 2;
    lp_fetcher *f;
    assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_OK);
    lp_cluster *c;
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    lp_fetch_result r[N];
    size_t ok = 0;
    double t0 = fa_now();
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, N, c, r, &ok), LP_OK);
    double took_ms = (fa_now() - t0) * 1000.0;
    assert_int_equal(r[0].status, LP_ETIMEOUT);
    assert_int_equal(ok, N - 1);
    /* Hang guard: at most one timeout per batch of 2 transfers, plus slack. */
    double bound_ms = (double)((N + 1) / 2) * o.timeout_ms + 30000;
    if (took_ms > bound_ms)
        fail_msg("fetch took %.0f ms, more than its bound %.0f ms", took_ms, bound_ms);
    /* NULL arguments are refused as a whole. */
    assert_int_equal(lp_fetcher_fetch(ctx, f, NULL, 1, c, r, NULL), LP_EINVAL);
    assert_int_equal(lp_fetcher_fetch(ctx, NULL, (const char *const *)names, 1, c, r, NULL),
                     LP_EINVAL);
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, 1, NULL, r, NULL),
                     LP_EINVAL);
    lp_cluster_free(c);
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
    free_names(names, N);
    fa_stop(pid);
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void test_cache_ttl(void **state)
{
    (void)state;
    fa_mode mode = FA_GOOD;
    int port;
    pid_t pid = fa_start(&mode, 1, &port, NULL);
    assert_true(pid > 0);
    char **names = host_names(&port, 1);
    const char *host = names[0];
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    /* The agent stamps its snapshot when it answers (to the millisecond); with
       no skew to speak of, the snapshot stays fresh for ttl seconds after that. */
    const double ttl = 2;
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = TEMPLATE;
    o.ttl_s = ttl;
    o.max_skew_s = 0.01;
    lp_fetcher *f = NULL;
    assert_int_equal(lp_fetcher_new(ctx, &o, &f), LP_OK);
    lp_cluster *c;
    lp_fetch_result r;
    double age = -1;

    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_get_cached(ctx, f, host, c, &age), LP_ENOTFOUND);
    assert_non_null(strstr(lp_ctx_last_error(ctx), "no cached snapshot"));
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, 1, c, &r, NULL), LP_OK);
    assert_int_equal(r.status, LP_OK);
    assert_int_equal(r.from_cache, 0);
    assert_true(r.age_s > -0.01 && r.age_s <= ttl); /* the agent rounds its time to ms */
    lp_cluster_free(c);

    /* The agent goes away: within the TTL the cache still answers. */
    fa_stop(pid);
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, 1, c, &r, NULL), LP_OK);
    assert_int_equal(r.status, LP_OK);
    assert_int_equal(r.from_cache, 1);
    assert_int_equal(lp_cluster_size(c), 1);
    lp_cluster_free(c);
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_get_cached(ctx, f, host, c, &age), LP_OK);
    assert_true(age > -0.01 && age < ttl);
    assert_string_equal(lp_cluster_get_host(c, 0)->name, host);
    /* ... and it refuses to add a host the cluster already has. */
    assert_int_equal(lp_fetcher_get_cached(ctx, f, host, c, NULL), LP_EINVAL);
    lp_cluster_free(c);

    /* Past the TTL the snapshot is stale: never used, the host is reported missing. */
    sleep_s(ttl + 0.3);
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_get_cached(ctx, f, host, c, &age), LP_ENOTFOUND);
    assert_non_null(strstr(lp_ctx_last_error(ctx), "s old by its time (ttl 2 s, clock skew "
                                                   "allowance 0.01 s)"));
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, 1, c, &r, NULL), LP_OK);
    assert_int_equal(r.status, LP_EIO);
    assert_int_equal(r.from_cache, 0);
    assert_true(r.age_s == -1);
    assert_int_equal(lp_cluster_size(c), 0);
    assert_int_equal(lp_fetcher_get_cached(ctx, f, host, c, &age), LP_ENOTFOUND);
    assert_non_null(strstr(lp_ctx_last_error(ctx), "no cached snapshot"));
    lp_cluster_free(c);

    lp_fetcher_free(f);
    lp_ctx_free(ctx);
    free_names(names, 1);
}

/* A fetcher for TEMPLATE with the given ttl and clock-skew allowance. */
static lp_fetcher *fresh_fetcher(lp_ctx *ctx, double ttl_s, double max_skew_s)
{
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = TEMPLATE;
    o.ttl_s = ttl_s;
    o.max_skew_s = max_skew_s;
    lp_fetcher *f = NULL;
    TU_OK(ctx, lp_fetcher_new(ctx, &o, &f));
    return f;
}

/* A snapshot is judged by its own time, whatever the HTTP status said. */
static void test_freshness_by_snapshot_time(void **state)
{
    (void)state;
    const fa_mode modes[] = { FA_GOOD, FA_OLD, FA_FUTURE, FA_NO_TIME };
    enum { N = 4 };
    int ports[N];
    pid_t pid = fa_start(modes, N, ports, NULL);
    assert_true(pid > 0);
    char **names = host_names(ports, N);
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    lp_cluster *c;
    lp_fetch_result r[N];

    lp_fetcher *f = fresh_fetcher(ctx, 60, 5);
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, N, c, r, NULL), LP_OK);
    assert_int_equal(r[0].status, LP_OK);
    assert_true(r[0].age_s > -0.01 && r[0].age_s < 60);
    for (size_t i = 1; i < N; i++) {
        if (r[i].status != LP_ESTALE)
            fail_msg("%s: status %s (%s)", names[i], lp_status_str(r[i].status), r[i].message);
        assert_int_equal(r[i].http_code, 200);
        assert_true(r[i].age_s == -1);
        assert_int_equal(tu_find(c, names[i]), -1);
        assert_true(strncmp(r[i].message, names[i], strlen(names[i])) == 0);
    }
    if (!strstr(r[1].message, ": snapshot is 95.") ||
        !strstr(r[1].message, " s old by its time (ttl 60 s, clock skew allowance 5 s)"))
        fail_msg("old: %s", r[1].message);
    if (!strstr(r[2].message, ": snapshot is 60.0 s in the future by its time (clock skew "
                              "allowance 5 s)") &&
        !strstr(r[2].message, ": snapshot is 59.9 s in the future"))
        fail_msg("future: %s", r[2].message);
    assert_non_null(strstr(r[3].message, "snapshot has no time, so its age is unknown"));
    assert_int_equal(lp_cluster_size(c), 1);
    /* nothing stale was cached */
    lp_cluster *none;
    assert_int_equal(lp_cluster_new(ctx, &none), LP_OK);
    assert_int_equal(lp_fetcher_get_cached(ctx, f, names[1], none, NULL), LP_ENOTFOUND);
    assert_non_null(strstr(lp_ctx_last_error(ctx), "no cached snapshot"));
    lp_cluster_free(none);
    lp_cluster_free(c);
    lp_fetcher_free(f);

    /* A larger clock-skew allowance takes the old and the early one; a snapshot
       without a time is never used. */
    f = fresh_fetcher(ctx, 60, 100);
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, N, c, r, NULL), LP_OK);
    assert_int_equal(r[1].status, LP_OK);
    assert_true(r[1].age_s >= 95 && r[1].age_s < 155);
    assert_int_equal(r[2].status, LP_OK);
    assert_true(r[2].age_s <= -59 && r[2].age_s > -61);
    assert_int_equal(r[3].status, LP_ESTALE);
    lp_cluster_free(c);
    lp_fetcher_free(f);

    /* The cache keeps a snapshot while it is fresh by its own time, not for
       ttl seconds after it was fetched: the 95 s old one, with ttl 97, is
       taken from the cache at once and fetched again 2 s later. */
    f = fresh_fetcher(ctx, 97, 0.01);
    const char *old[] = { names[1] };
    for (int round = 0; round < 3; round++) {
        if (round == 2)
            sleep_s(2.1);
        assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
        assert_int_equal(lp_fetcher_fetch(ctx, f, old, 1, c, r, NULL), LP_OK);
        if (r[0].status != LP_OK)
            fail_msg("round %d: %s", round, r[0].message);
        assert_int_equal(r[0].from_cache, round == 1);
        lp_cluster_free(c);
    }
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
    free_names(names, N);
    fa_stop(pid);
}

/* Rolling upgrades: a newer agent's additional v1 fields are skipped; another
   schema is refused. */
static void test_newer_agents_fields_are_skipped(void **state)
{
    (void)state;
    const fa_mode modes[] = { FA_NEWER, FA_V2 };
    int ports[2];
    pid_t pid = fa_start(modes, 2, ports, NULL);
    assert_true(pid > 0);
    char **names = host_names(ports, 2);
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    lp_fetcher *f = fresh_fetcher(ctx, 60, 5);
    lp_cluster *c;
    lp_fetch_result r[2];
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, 2, c, r, NULL), LP_OK);
    if (r[0].status != LP_OK)
        fail_msg("newer agent: %s", r[0].message);
    const lp_host *h = lp_cluster_get_host(c, 0);
    assert_int_equal(h->threads, 8);
    TU_NEAR(h->load_demand, 2.5, 0);
    assert_int_equal(h->n_workloads, 1);
    assert_int_equal(h->workloads[0].klass, LP_CLASS_NET);
    assert_int_equal(r[1].status, LP_EPARSE);
    assert_non_null(strstr(r[1].message, "unknown schema \"libplacement/snapshot/v2\""));
    assert_int_equal(lp_cluster_size(c), 1);
    lp_cluster_free(c);
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
    free_names(names, 2);
    fa_stop(pid);
}

/* Run a shell command (test setup); fails the test when it does not succeed. */
static void run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("'%s' exited with %d", cmd, rc);
}

/* An HTTPS agent (certificate cert, key key) on a fresh loopback port: one
   connection at a time, each answered with a fresh snapshot.  @return its pid. */
static pid_t tls_agent_start(const char *cert, const char *key, int *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        close(lfd);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
    SSL_CTX *tls = SSL_CTX_new(TLS_server_method());
    if (!tls || SSL_CTX_use_certificate_file(tls, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls, key, SSL_FILETYPE_PEM) != 1)
        _exit(1);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        SSL *s = SSL_new(tls);
        SSL_set_fd(s, fd);
        char in[4096];
        size_t n = 0;
        if (SSL_accept(s) == 1) {
            int k;
            while (n < sizeof in - 1 && (k = SSL_read(s, in + n, (int)(sizeof in - 1 - n))) > 0) {
                n += (size_t)k;
                in[n] = '\0';
                if (strstr(in, "\r\n\r\n"))
                    break;
            }
            char body[2048], out[4096];
            int bl = fa_snapshot(*port, fa_wall(), body, sizeof body);
            int ol = snprintf(out, sizeof out,
                              "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                              bl, body);
            SSL_write(s, out, ol);
            SSL_shutdown(s);
        }
        SSL_free(s);
        close(fd);
    }
}

/* https agents: their certificate is checked against ca_file; a failed check is a
   clear per-host TLS error. */
static void test_https_with_ca_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/lp-api-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1024], cert[64], key[64], other[64], otherkey[64];
    snprintf(cert, sizeof cert, "%s/agent.pem", dir);
    snprintf(key, sizeof key, "%s/agent.key", dir);
    snprintf(other, sizeof other, "%s/other.pem", dir);
    snprintf(otherkey, sizeof otherkey, "%s/other.key", dir);
    /* Self-signed certificates: the agent's is its own CA; another CA signed nothing here. */
#define REQ "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 " \
            "-keyout %s -out %s -subj /CN=%s -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1"
    snprintf(cmd, sizeof cmd, REQ, key, cert, "127.0.0.1");
    run(cmd);
    snprintf(cmd, sizeof cmd, REQ, otherkey, other, "other-ca");
    run(cmd);
#undef REQ
    int port;
    pid_t pid = tls_agent_start(cert, key, &port);
    char **names = host_names(&port, 1);
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = "https://{host}/v1/snapshot";
    o.timeout_ms = 5000;
    o.connect_timeout_ms = 5000; /* a hang guard: TLS handshakes on a loaded machine */
    const char *const cas[] = { cert, other, NULL };
    for (size_t i = 0; i < 3; i++) {
        o.ca_file = cas[i];
        lp_fetcher *f = NULL;
        TU_OK(ctx, lp_fetcher_new(ctx, &o, &f));
        lp_cluster *c;
        lp_fetch_result r;
        assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
        assert_int_equal(lp_fetcher_fetch(ctx, f, (const char *const *)names, 1, c, &r, NULL),
                         LP_OK);
        if (i == 0) {
            if (r.status != LP_OK)
                fail_msg("with the agent's CA: %s", r.message);
            assert_int_equal(lp_cluster_size(c), 1);
            assert_int_equal(lp_cluster_get_host(c, 0)->threads, 8);
        } else {
            /* the wrong CA, and the system's bundle, which does not know this one */
            assert_int_equal(r.status, LP_EIO);
            assert_int_equal(lp_cluster_size(c), 0);
            if (!strstr(r.message, "TLS failed: ") ||
                !strstr(r.message, i == 1 ? other : "the system's bundle"))
                fail_msg("case %zu: %s", i, r.message);
        }
        lp_cluster_free(c);
        lp_fetcher_free(f);
    }
    fa_stop(pid);
    free_names(names, 1);
    lp_ctx_free(ctx);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    run(cmd);
}

static void test_token_and_duplicates(void **state)
{
    (void)state;
    fa_mode mode = FA_GOOD;
    int port;
    pid_t pid = fa_start(&mode, 1, &port, "s3cret");
    assert_true(pid > 0);
    char **names = host_names(&port, 1);
    lp_ctx *ctx;
    assert_int_equal(lp_ctx_new(&ctx), LP_OK);
    lp_cluster *c;
    lp_fetch_result r[2];

    lp_fetcher *anon = new_fetcher(ctx, 1000, 60, NULL);
    assert_int_equal(lp_cluster_new(ctx, &c), LP_OK);
    assert_int_equal(lp_fetcher_fetch(ctx, anon, (const char *const *)names, 1, c, r, NULL), LP_OK);
    assert_int_equal(r[0].status, LP_EIO);
    assert_int_equal(r[0].http_code, 401);
    lp_fetcher_free(anon);

    lp_fetcher *f = new_fetcher(ctx, 1000, 60, "s3cret");
    const char *twice[] = { names[0], names[0] };
    assert_int_equal(lp_fetcher_fetch(ctx, f, twice, 2, c, r, NULL), LP_OK);
    assert_int_equal(r[0].status, LP_OK);
    assert_int_equal(r[0].http_code, 200);
    assert_int_equal(r[1].status, LP_EINVAL);
    assert_non_null(strstr(r[1].message, "listed twice"));
    assert_int_equal(lp_cluster_size(c), 1);
    /* The cluster already has the host: the cached snapshot is not added again. */
    assert_int_equal(lp_fetcher_fetch(ctx, f, twice, 1, c, r, NULL), LP_OK);
    assert_int_equal(r[0].from_cache, 1);
    assert_int_equal(r[0].status, LP_EINVAL);
    assert_int_equal(lp_cluster_size(c), 1);

    lp_cluster_free(c);
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
    free_names(names, 1);
    fa_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_checked),
        cmocka_unit_test(test_host_names_checked),
        cmocka_unit_test(test_url_limit),
        cmocka_unit_test(test_many_agents_and_misbehaving_ones),
        cmocka_unit_test(test_queue_with_few_slots),
        cmocka_unit_test(test_cache_ttl),
        cmocka_unit_test(test_freshness_by_snapshot_time),
        cmocka_unit_test(test_newer_agents_fields_are_skipped),
        cmocka_unit_test(test_https_with_ca_file),
        cmocka_unit_test(test_token_and_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
