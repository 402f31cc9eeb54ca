/* Unit tests of the JSON codec: round trips, defaults, every class of malformed input. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#define SCHEMA "\"schema\": \"libplacement/snapshot/v1\""
/* A valid host body to splice into cluster files: {"host": NAME, HOST_REST} */
#define HOST_REST "\"cpu\": {\"sockets\": 1, \"cores\": 4, \"threads\": 8}, \"memory_mb\": 16384"

/* Two optional strings are equal: both NULL, or the same text. */
static void optional_string_equal(const char *a, const char *b)
{
    if (a || b) {
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
    }
}

static void workload_equal(const lp_workload *a, const lp_workload *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->runtime, b->runtime);
    assert_true(a->vcpus == b->vcpus && a->threads == b->threads && a->memory_mb == b->memory_mb);
    assert_true(a->demand == b->demand && a->util == b->util && a->wait_ratio == b->wait_ratio);
    assert_true(a->iowait == b->iowait && a->net_bps == b->net_bps && a->disk_bps == b->disk_bps);
    assert_int_equal(a->klass, b->klass);
    assert_true(a->confidence == b->confidence);
    optional_string_equal(a->group, b->group);
    optional_string_equal(a->image, b->image);
    optional_string_equal(a->flavor, b->flavor);
    assert_true(a->class_since == b->class_since);
}

static void host_equal(const lp_host *a, const lp_host *b)
{
    assert_string_equal(a->name, b->name);
    assert_true(a->time == b->time);
    assert_int_equal(a->sockets, b->sockets);
    assert_int_equal(a->cores, b->cores);
    assert_int_equal(a->threads, b->threads);
    assert_true(a->memory_mb == b->memory_mb && a->memory_used_mb == b->memory_used_mb);
    assert_int_equal(a->runtimes, b->runtimes);
    assert_true(a->load_demand == b->load_demand && a->load_util == b->load_util);
    assert_true(a->load_iowait == b->load_iowait && a->load_steal == b->load_steal);
    assert_int_equal(a->n_workloads, b->n_workloads);
    for (size_t i = 0; i < a->n_workloads; i++)
        workload_equal(&a->workloads[i], &b->workloads[i]);
}

/* A host with every field set to a value that is not its default. */
static lp_host full_host(lp_workload ws[2])
{
    lp_host h = tu_host("node-1.example.org");
    h.time = 1795680000.25; /* whole milliseconds: written exactly */
    h.sockets = 2;
    h.cores = 8;
    h.threads = 16;
    h.memory_mb = 65536.5;
    h.memory_used_mb = 1024;
    h.runtimes = LP_RUNTIME_CONTAINER | LP_RUNTIME_VM;
    h.load_demand = 3.25;
    h.load_util = 0.1;
    h.load_iowait = 0.3333333333333333;
    h.load_steal = 0;
    lp_workload_init(&ws[0], LP_WORKLOAD_VERSION);
    ws[0].id = "4f0c2a3e-9d5b-4c1e-8a59-0d3c6c0f9b11";
    ws[0].runtime = LP_RUNTIME_VM;
    ws[0].vcpus = 2;
    ws[0].threads = 37;
    ws[0].memory_mb = 2048;
    ws[0].demand = 1.9;
    ws[0].util = 1.85;
    ws[0].wait_ratio = 0.02;
    ws[0].iowait = 0.01;
    ws[0].net_bps = 1e6;
    ws[0].disk_bps = 123456789.125;
    ws[0].klass = LP_CLASS_CPU;
    ws[0].confidence = 0.875;
    ws[0].group = "spark \"pi\" / \u00e9";
    ws[0].image = "5c1a0e4e-6b83-4c1f-9a43-4a1d7f0b2e77";
    ws[0].flavor = "m1.large";
    ws[0].class_since = 1795679400.5;
    lp_workload_init(&ws[1], LP_WORKLOAD_VERSION); /* everything unknown */
    ws[1].id = "container\t\x01\\\"id\"/\x7f"; /* escapes must round-trip */
    h.workloads = ws;
    h.n_workloads = 2;
    return h;
}

static void test_snapshot_round_trip(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload ws[2];
    lp_host h = full_host(ws);
    for (int pretty = 0; pretty <= 1; pretty++) {
        char *text = NULL;
        size_t len = 0;
        TU_OK(ctx, lp_host_write_json(ctx, &h, pretty ? LP_JSON_PRETTY : 0, &text, &len));
        assert_int_equal(len, strlen(text));
        assert_int_equal(strchr(text, '\n') != NULL, pretty);
        assert_non_null(strstr(text, "\"schema\""));
        lp_cluster *c = tu_testbed(ctx, 0);
        TU_OK(ctx, lp_cluster_parse_snapshot(ctx, c, text, len, "rt.json", 0));
        assert_int_equal(lp_cluster_size(c), 1);
        host_equal(lp_cluster_get_host(c, 0), &h);
        lp_cluster_free(c);
        lp_free(text);
    }
}

/* Times are unix seconds, fractional on input, written to the millisecond. */
static void test_times_have_millisecond_precision(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = "vm-1";
    w.class_since = 1795679999.0004; /* below a millisecond: dropped */
    lp_host h = tu_host("a");
    h.time = 1795680000.123456;
    h.workloads = &w;
    h.n_workloads = 1;
    char *text = NULL;
    size_t len = 0;
    TU_OK(ctx, lp_host_write_json(ctx, &h, 0, &text, &len));
    assert_non_null(strstr(text, "\"time\":1795680000.123,"));
    assert_non_null(strstr(text, "\"class_since\":1795679999.0}"));
    lp_cluster *c = tu_testbed(ctx, 0);
    TU_OK(ctx, lp_cluster_parse_snapshot(ctx, c, text, len, "t.json", 0));
    TU_NEAR(lp_cluster_get_host(c, 0)->time, 1795680000.123, 1e-9);
    TU_NEAR(lp_cluster_get_host(c, 0)->workloads[0].class_since, 1795679999, 0);
    lp_free(text);
    /* whole seconds, as older agents send them, and fractions are read as they are */
    const char *in = "{" SCHEMA ", \"host\": \"b\", \"time\": 1795680001, \"cpu\": {\"threads\": 4},"
                     " \"workloads\": [{\"id\": \"w\", \"class_since\": 17.0625}]}";
    TU_OK(ctx, lp_cluster_parse_snapshot(ctx, c, in, strlen(in), "t.json", 0));
    TU_NEAR(lp_cluster_get_host(c, 1)->time, 1795680001, 0);
    TU_NEAR(lp_cluster_get_host(c, 1)->workloads[0].class_since, 17.0625, 0);
    /* a host whose time is unknown (0, declared) writes none */
    h.time = 0;
    TU_OK(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL));
    assert_null(strstr(text, "\"time\""));
    lp_free(text);
    h.time = NAN;
    TU_FAILS(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL), LP_EINVAL, "time");
    lp_cluster_free(c);
}

static void test_unknown_metrics_are_omitted(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = "w1";
    lp_host h = tu_host("a");
    h.workloads = &w;
    h.n_workloads = 1;
    char *text = NULL;
    TU_OK(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL));
    /* unknown host load, memory_used and every workload metric are left out */
    assert_null(strstr(text, "\"load\""));
    assert_null(strstr(text, "memory_used_mb"));
    assert_null(strstr(text, "demand"));
    assert_null(strstr(text, "iowait"));
    assert_non_null(strstr(text, "\"workloads\":[{\"id\":\"w1\"}]"));
    assert_non_null(strstr(text, "\"cpu\":{\"cores\":4,\"threads\":8}"));
    lp_free(text);
}

static void test_pretty_layout(void **state)
{
    lp_ctx *ctx = *state;
    lp_host h = tu_host("a");
    char *text = NULL;
    TU_OK(ctx, lp_host_write_json(ctx, &h, LP_JSON_PRETTY, &text, NULL));
    assert_string_equal(text, "{\n"
                              "  \"schema\": \"libplacement/snapshot/v1\",\n"
                              "  \"host\": \"a\",\n"
                              "  \"cpu\": {\n"
                              "    \"cores\": 4,\n"
                              "    \"threads\": 8\n"
                              "  },\n"
                              "  \"memory_mb\": 16384.0,\n"
                              "  \"runtimes\": [\n"
                              "    \"container\",\n"
                              "    \"unikernel\",\n"
                              "    \"vm\"\n"
                              "  ],\n"
                              "  \"workloads\": []\n"
                              "}");
    lp_free(text);
    TU_OK(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL));
    assert_string_equal(text, "{\"schema\":\"libplacement/snapshot/v1\",\"host\":\"a\","
                              "\"cpu\":{\"cores\":4,\"threads\":8},\"memory_mb\":16384.0,"
                              "\"runtimes\":[\"container\",\"unikernel\",\"vm\"],"
                              "\"workloads\":[]}");
    lp_free(text);
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = "q\"b\\n\n\x01";
    h.workloads = &w;
    h.n_workloads = 1;
    TU_OK(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL));
    assert_non_null(strstr(text, "\"workloads\":[{\"id\":\"q\\\"b\\\\n\\n\\u0001\"}]"));
    lp_free(text);
}

static void test_write_rejects_unwritable(void **state)
{
    lp_ctx *ctx = *state;
    lp_host h = tu_host("a");
    char *text = NULL;
    h.memory_mb = NAN;
    TU_FAILS(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL), LP_EINVAL, "memory_mb");
    assert_null(text);
    TU_FAILS(ctx, lp_host_write_json(ctx, NULL, 0, &text, NULL), LP_EINVAL, "host is NULL");
    /* what the reader would refuse is not written either */
    h = tu_host("a");
    h.threads = 2000000;
    TU_FAILS(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL), LP_EINVAL,
             "host 'a': cpu.threads is out of range");
    char name[300];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    h = tu_host(name);
    TU_FAILS(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL), LP_EINVAL,
             ": host is longer than 255 bytes");
    assert_null(text);
    /* an empty string is not written: the reader refuses "" (unknown is NULL) */
    lp_workload w;
    lp_workload_init(&w, LP_WORKLOAD_VERSION);
    w.id = "w";
    w.image = "";
    h = tu_host("a");
    h.workloads = &w;
    h.n_workloads = 1;
    TU_FAILS(ctx, lp_host_write_json(ctx, &h, 0, &text, NULL), LP_EINVAL,
             "host 'a': workloads[0].image is empty");
    assert_null(text);
    h = tu_host("a");
    TU_FAILS(ctx, lp_host_write_json(ctx, &h, 0x10, &text, NULL), LP_EINVAL,
             "lp_host_write_json: unknown flags 0x10");
    lp_cluster *c = tu_testbed(ctx, 1);
    TU_FAILS(ctx, lp_cluster_write_json(ctx, c, 0x10, &text, NULL), LP_EINVAL,
             "lp_cluster_write_json: unknown flags 0x10");
    assert_null(text);
    lp_cluster_free(c);
}

static void test_cluster_round_trip(void **state)
{
    lp_ctx *ctx = *state;
    lp_workload ws[2];
    lp_host full = full_host(ws);
    lp_cluster *c = tu_testbed(ctx, 3);
    TU_OK(ctx, lp_cluster_add_host(ctx, c, &full));
    char *text = NULL;
    size_t len;
    TU_OK(ctx, lp_cluster_write_json(ctx, c, LP_JSON_PRETTY, &text, &len));
    lp_cluster *back = tu_testbed(ctx, 0);
    TU_OK(ctx, lp_cluster_parse(ctx, back, text, len, "c.json", 0));
    assert_int_equal(lp_cluster_size(back), 4);
    for (size_t i = 0; i < 4; i++)
        host_equal(lp_cluster_get_host(back, i), lp_cluster_get_host(c, i));
    lp_free(text);
    lp_cluster_free(back);
    lp_cluster_free(c);
}

static void test_snapshot_defaults(void **state)
{
    lp_ctx *ctx = *state;
    const char *in = "{" SCHEMA ", \"host\": \"a\", \"cpu\": {\"threads\": 4},"
                     " \"workloads\": [{\"id\": \"w\", \"group\": null}]}";
    lp_cluster *c = tu_testbed(ctx, 0);
    TU_OK(ctx, lp_cluster_parse_snapshot(ctx, c, in, strlen(in), NULL, 0));
    lp_host want;
    lp_workload ww;
    lp_host_init(&want, LP_HOST_VERSION);
    lp_workload_init(&ww, LP_WORKLOAD_VERSION);
    want.name = "a";
    want.threads = 4;
    ww.id = "w";
    want.workloads = &ww;
    want.n_workloads = 1;
    host_equal(lp_cluster_get_host(c, 0), &want);
    lp_cluster_free(c);
}

static void test_cluster_values(void **state)
{
    lp_ctx *ctx = *state;
    const char *in =
        "{\"hosts\": [\n"
        "  {" SCHEMA ", \"host\": \"pc1\", \"time\": 12, \"cpu\": {\"sockets\": 1, \"cores\": 4, "
        "\"threads\": 8}, \"memory_mb\": 16384, \"runtimes\": [\"unikernel\", \"container\"],"
        " \"load\": {\"demand\": 7.5, \"iowait\": 1}, \"workloads\": []},\n"
        "  {\"host\": \"pc2\", \"cpu\": {\"threads\": 2}, \"workloads\": [{\"id\": \"x\", "
        "\"runtime\": \"container\", \"class\": \"net\", \"demand\": 0, \"threads\": 2.5}]}\n"
        "]}\n";
    lp_cluster *c = tu_testbed(ctx, 0);
    TU_OK(ctx, lp_cluster_parse(ctx, c, in, strlen(in), "c.json", 0));
    assert_int_equal(lp_cluster_size(c), 2);
    const lp_host *a = lp_cluster_get_host(c, 0), *b = lp_cluster_get_host(c, 1);
    assert_true(a->time == 12);
    assert_int_equal(a->runtimes, LP_RUNTIME_UNIKERNEL | LP_RUNTIME_CONTAINER);
    assert_true(a->load_demand == 7.5 && a->load_iowait == 1 && a->load_util == -1);
    assert_int_equal(b->threads, 2);
    assert_int_equal(b->n_workloads, 1);
    assert_int_equal(b->workloads[0].runtime, LP_RUNTIME_CONTAINER);
    assert_int_equal(b->workloads[0].klass, LP_CLASS_NET);
    assert_true(b->workloads[0].demand == 0 && b->workloads[0].threads == 2.5);
    assert_int_equal(tu_find(c, "pc2"), 1);
    lp_cluster_free(c);
}

static void test_requests(void **state)
{
    lp_ctx *ctx = *state;
    const char *in =
        "{\"requests\": [{\"id\": \"web\", \"count\": 6, \"vcpus\": 2, \"memory_mb\": 2048.5,"
        " \"class\": \"net\", \"parallelism\": 4, \"demand\": 0.5, \"runtime\": \"container\","
        " \"runtimes\": [\"container\", \"vm\"], \"group\": \"g\", \"image\": \"tomcat:9\","
        " \"flavor\": \"m1.small\"},"
        " {\"id\": \"auto\", \"metrics\": {\"util\": 1.9, \"net_bps\": 5000, \"threads\": 2}},"
        " {\"id\": \"minimal\"}]}";
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_parse(ctx, rs, in, strlen(in), "r.json"));
    assert_int_equal(lp_requests_size(rs), 3);
    const lp_request *r = lp_requests_get(rs, 0);
    assert_string_equal(r->id, "web");
    assert_int_equal(r->count, 6);
    assert_true(r->vcpus == 2 && r->memory_mb == 2048.5 && r->parallelism == 4 && r->demand == 0.5);
    assert_int_equal(r->klass, LP_CLASS_NET);
    assert_int_equal(r->runtime, LP_RUNTIME_CONTAINER);
    assert_int_equal(r->allowed_runtimes, LP_RUNTIME_CONTAINER | LP_RUNTIME_VM);
    assert_string_equal(r->group, "g");
    assert_string_equal(r->image, "tomcat:9");
    assert_string_equal(r->flavor, "m1.small");
    r = lp_requests_get(rs, 1);
    assert_null(r->image);
    assert_null(r->flavor);
    assert_int_equal(r->klass, LP_CLASS_AUTO);
    assert_non_null(r->metrics);
    assert_true(r->metrics->util == 1.9 && r->metrics->net_bps == 5000 && r->metrics->threads == 2);
    assert_true(r->metrics->demand == -1 && r->metrics->iowait == -1);
    assert_null(lp_requests_get(rs, 0)->metrics); /* none given */
    lp_request def;
    lp_request_init(&def, LP_REQUEST_VERSION);
    r = lp_requests_get(rs, 2);
    assert_int_equal(r->count, def.count);
    assert_true(r->vcpus == def.vcpus && r->demand == def.demand);
    assert_int_equal(r->runtime, def.runtime);
    assert_int_equal(r->allowed_runtimes, def.allowed_runtimes);
    assert_null(r->group);
    lp_requests_free(rs);
}

/* ---- malformed input: one table row per class of error ---------------------- */

enum { SNAPSHOT, CLUSTER, REQUESTS };

typedef struct bad_case {
    int kind;
    const char *text;
    lp_status want;
    const char *msg; /* must appear in the message (which also names the origin) */
} bad_case;

#define H1 "{\"host\": \"a\", " HOST_REST
static const bad_case bad_cases[] = {
    /* syntax */
    {CLUSTER, "", LP_EPARSE, "bad.json: line 1, column 1: empty input"},
    {CLUSTER, " \n\t ", LP_EPARSE, "line 2, column 3: empty input"},
    {CLUSTER, "{\"hosts\": [" H1 "}]} xyz", LP_EPARSE,
     "column 97: trailing data after the JSON value"},
    {CLUSTER, "{\"hosts\": []}\n\n  {}", LP_EPARSE, "line 3, column 3: trailing data"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"cpu\": {\"thr", LP_EPARSE, "unexpected end of data"},
    {CLUSTER, "{\"hosts\": [\n  {\"host\": \"a\",,}]}", LP_EPARSE,
     "line 2, column 16: quoted object property name expected"},
    {CLUSTER, "{\"hosts\": [1,]}", LP_EPARSE, "line 1, column 14"},
    {CLUSTER, "{\"hosts\": [/* c */]}", LP_EPARSE, "line 1, column 12"},
    {CLUSTER, "{\"hosts\": [01]}", LP_EPARSE, "line 1, column"},
    {CLUSTER, "{\"hosts\": [\"\xff\"]}", LP_EPARSE, "invalid utf-8"},
    {CLUSTER, "[1, 2]", LP_EPARSE, "bad.json: the top level must be a JSON object (got an array)"},
    {CLUSTER, "42", LP_EPARSE, "must be a JSON object (got 42)"},
    {CLUSTER, "{\"hosts\": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}", LP_ELIMIT,
     "nesting too deep (the limit is 16 levels)"},
    /* structure */
    {CLUSTER, "{}", LP_EPARSE, "bad.json: hosts: missing"},
    {CLUSTER, "{\"hosts\": {}}", LP_EPARSE, "hosts: must be a list (got an object)"},
    {CLUSTER, "{\"hosts\": [], \"a\\n\\\"b\": 1}", LP_EPARSE, "unknown field \"a??b\""},
    {CLUSTER, "{\"hosts\": [], \"hostz\": 1}", LP_EPARSE,
     "unknown field \"hostz\" (known fields: hosts)"},
    {CLUSTER, "{\"hosts\": [3]}", LP_EPARSE, "hosts[0]: must be a snapshot object (got 3)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"memroy_mb\": 1}]}", LP_EPARSE,
     "hosts[0]: unknown field \"memroy_mb\""},
    {CLUSTER, "{\"hosts\": [" H1 ", \"load\": {\"demnd\": 1}}]}", LP_EPARSE,
     "hosts[0].load: unknown field \"demnd\" (known fields: demand, util, iowait, steal)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"workloads\": [{\"id\": \"w\", \"cls\": \"cpu\"}]}]}",
     LP_EPARSE, "hosts[0].workloads[0]: unknown field \"cls\""},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\"}]}", LP_EPARSE, "hosts[0].cpu: missing"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {}}]}", LP_EPARSE,
     "hosts[0].cpu.threads: missing"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": 8}]}", LP_EPARSE,
     "hosts[0].cpu: must be an object (got 8)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"workloads\": [{}]}]}", LP_EPARSE,
     "hosts[0].workloads[0].id: missing"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"workloads\": 1}]}", LP_EPARSE,
     "hosts[0].workloads: must be a list"},
    /* types and ranges */
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": \"eight\"}}]}", LP_EPARSE,
     "bad.json: hosts[0].cpu.threads: must be an integer in [1, 1048576] (got \"eight\")"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": -3}}]}", LP_EPARSE,
     "hosts[0].cpu.threads: must be an integer in [1, 1048576] (got -3)"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 0}}]}", LP_EPARSE,
     "cpu.threads: must be an integer in [1, 1048576] (got 0)"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 4.0}}]}", LP_EPARSE,
     "cpu.threads: must be an integer in [1, 1048576] (got 4.0)"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 99999999999999999999}}]}",
     LP_EPARSE, "cpu.threads: must be an integer"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"cores\": 8, \"threads\": 4}}]}",
     LP_EPARSE, "hosts[0].cpu.cores: must be <= cpu.threads (got 8 > 4)"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"sockets\": 2, \"threads\": 4}}]}",
     LP_EPARSE, "hosts[0].cpu.sockets: must be <= cpu.cores (got 2 > 1)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"time\": -1}]}", LP_EPARSE,
     "hosts[0].time: must be a number in [0, 253402300799] (got -1)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"time\": 1e12}]}", LP_EPARSE,
     "hosts[0].time: must be a number in [0, 253402300799]"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"time\": \"now\"}]}", LP_EPARSE,
     "hosts[0].time: must be a number in [0, 253402300799] (got \"now\")"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"memory_used_mb\": -1}]}", LP_EPARSE,
     "hosts[0].memory_used_mb: must be a number >= 0 (got -1)"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 1}, \"memory_mb\": NaN}]}",
     LP_EPARSE, "hosts[0].memory_mb: must be finite: a number >= 0 (got NaN)"},
    {CLUSTER,
     "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 1}, \"memory_mb\": Infinity}]}",
     LP_EPARSE, "memory_mb: must be finite"},
    {CLUSTER,
     "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 1}, \"memory_mb\": -Infinity}]}",
     LP_EPARSE, "memory_mb: must be finite"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 1}, \"memory_mb\": 1e999}]}",
     LP_EPARSE, "memory_mb: must be finite: a number >= 0 (got 1e999)"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\", \"cpu\": {\"threads\": 1}, \"memory_mb\": \"1\"}]}",
     LP_EPARSE, "memory_mb: must be a number >= 0 (got \"1\")"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"load\": {\"demand\": -2.5}}]}", LP_EPARSE,
     "hosts[0].load.demand: must be a number >= 0 (got -2.5)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"load\": {\"steal\": 1.5}}]}", LP_EPARSE,
     "hosts[0].load.steal: must be a number in [0, 1] (got 1.5)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"load\": {\"util\": true}}]}", LP_EPARSE,
     "load.util: must be a number >= 0 (got true)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"workloads\": [{\"id\": \"w\", \"confidence\": 2}]}]}",
     LP_EPARSE, "hosts[0].workloads[0].confidence: must be a number in [0, 1] (got 2)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"workloads\": [{\"id\": \"w\", \"vcpus\": -2}]}]}", LP_EPARSE,
     "workloads[0].vcpus: must be a number >= 0 (got -2)"},
    /* strings */
    {CLUSTER, "{\"hosts\": [{\"host\": 7, " HOST_REST "}]}", LP_EPARSE,
     "hosts[0].host: must be a string (got 7)"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"\", " HOST_REST "}]}", LP_EPARSE,
     "hosts[0].host: must not be empty"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"a\\u0000b\", " HOST_REST "}]}", LP_EPARSE,
     "hosts[0].host: must not contain NUL characters"},
    /* enums */
    {CLUSTER, "{\"hosts\": [" H1 ", \"runtimes\": [\"vm\", \"jail\"]}]}", LP_EPARSE,
     "hosts[0].runtimes[1]: unknown runtime \"jail\" (expected one of container, unikernel, vm)"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"runtimes\": [\"auto\"]}]}", LP_EPARSE,
     "runtimes[0]: unknown runtime \"auto\""},
    {CLUSTER, "{\"hosts\": [" H1 ", \"runtimes\": [\"vm\", \"vm\"]}]}", LP_EPARSE,
     "runtimes[1]: runtime \"vm\" is listed twice"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"runtimes\": \"vm\"}]}", LP_EPARSE,
     "runtimes: must be a list of runtime names"},
    {CLUSTER, "{\"hosts\": [" H1 ", \"workloads\": [{\"id\": \"w\", \"runtime\": \"none\"}]}]}",
     LP_EPARSE, "workloads[0].runtime: unknown runtime \"none\""},
    {CLUSTER, "{\"hosts\": [" H1 ", \"workloads\": [{\"id\": \"w\", \"class\": \"auto\"}]}]}",
     LP_EPARSE,
     "workloads[0].class: unknown class \"auto\" (expected one of cpu, net, io, mixed, idle, "
     "unknown)"},
    /* schema and names */
    {CLUSTER,
     "{\"hosts\": [{\"schema\": \"libplacement/snapshot/v9\", " HOST_REST ", \"host\": \"a\"}]}",
     LP_EPARSE,
     "hosts[0].schema: unknown schema \"libplacement/snapshot/v9\" (expected "
     "\"libplacement/snapshot/v1\")"},
    {SNAPSHOT, "{\"host\": \"a\", " HOST_REST "}", LP_EPARSE,
     "bad.json: schema: missing (expected \"libplacement/snapshot/v1\")"},
    {SNAPSHOT, "{" SCHEMA ", \"host\": \"a\", " HOST_REST ", \"extra\": 1}", LP_EPARSE,
     "bad.json: unknown field \"extra\""},
    {CLUSTER, "{\"hosts\": [" H1 "}, {\"host\": \"b\", " HOST_REST "}, " H1 "}]}", LP_EPARSE,
     "hosts[2].host: duplicate host name \"a\" (also hosts[0])"},
    {CLUSTER, "{\"hosts\": [{\"host\": \"existing\", " HOST_REST "}]}", LP_EINVAL,
     "hosts[0].host: host \"existing\" is already in the cluster"},
    /* requests */
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"count\": 0}]}", LP_EPARSE,
     "bad.json: requests[0].count: must be an integer in [1, 100000] (got 0)"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"count\": -1}]}", LP_EPARSE,
     "requests[0].count: must be an integer"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"count\": 2.5}]}", LP_EPARSE,
     "requests[0].count: must be an integer in [1, 100000] (got 2.5)"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"count\": 100001}]}", LP_EPARSE, "(got 100001)"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"vcpus\": 0}]}", LP_EPARSE,
     "requests[0].vcpus: must be a number > 0 (got 0)"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"vcpus\": -2}]}", LP_EPARSE,
     "requests[0].vcpus: must be a number > 0 (got -2)"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"class\": \"bogus\"}]}", LP_EPARSE,
     "requests[0].class: unknown class \"bogus\" (expected one of cpu, net, io, mixed, idle, "
     "unknown, auto)"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"runtime\": \"jail\"}]}", LP_EPARSE,
     "requests[0].runtime: unknown runtime \"jail\" (expected one of container, unikernel, vm, "
     "auto)"},
    {REQUESTS,
     "{\"requests\": [{\"id\": \"x\", \"runtime\": \"vm\", \"runtimes\": [\"container\"]}]}",
     LP_EPARSE, "requests[0].runtime: \"vm\" is not one of the request's runtimes"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"runtimes\": []}]}", LP_EPARSE,
     "requests[0].runtimes: must name at least one runtime"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"metrics\": {\"util\": -1}}]}", LP_EPARSE,
     "requests[0].metrics.util: must be a number >= 0 (got -1)"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"metrics\": {\"id\": \"y\"}}]}", LP_EPARSE,
     "requests[0].metrics: unknown field \"id\""},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"workload\": \"cpu\"}]}", LP_EPARSE,
     "requests[0]: unknown field \"workload\""},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\"}, {\"id\": \"x\"}]}", LP_EPARSE,
     "requests[1].id: duplicate request id \"x\" (also requests[0])"},
    {REQUESTS, "{\"requests\": [{\"count\": 1}]}", LP_EPARSE, "requests[0].id: missing"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"group\": \"\"}]}", LP_EPARSE,
     "requests[0].group: must not be empty"},
    {REQUESTS, "{\"requests\": [{\"id\": \"x\", \"image\": 7}]}", LP_EPARSE,
     "requests[0].image: must be a string (got 7)"},
    {SNAPSHOT, "{" SCHEMA ", \"host\": \"a\", \"cpu\": {\"threads\": 1}, \"workloads\": [{\"id\": \"w\","
               " \"class_since\": -1}]}", LP_EPARSE,
     "workloads[0].class_since: must be a number in [0, 253402300799] (got -1)"},
    {SNAPSHOT, "{" SCHEMA ", \"host\": \"a\", \"cpu\": {\"threads\": 1}, \"workloads\": [{\"id\": \"w\","
               " \"flavor\": \"\"}]}", LP_EPARSE, "workloads[0].flavor: must not be empty"},
    {REQUESTS, "{\"requests\": 1}", LP_EPARSE, "requests: must be a list (got 1)"},
    {REQUESTS, "{\"requests\": [], \"hosts\": []}", LP_EPARSE,
     "unknown field \"hosts\" (known fields: requests)"},
};

static lp_status parse_kind(lp_ctx *ctx, int kind, lp_cluster *c, const char *text, size_t len,
                            lp_requests *rs)
{
    switch (kind) {
    case SNAPSHOT: return lp_cluster_parse_snapshot(ctx, c, text, len, "bad.json", 0);
    case CLUSTER: return lp_cluster_parse(ctx, c, text, len, "bad.json", 0);
    default: return lp_requests_parse(ctx, rs, text, len, "bad.json");
    }
}

static void test_bad_inputs(void **state)
{
    lp_ctx *ctx = *state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *b = &bad_cases[i];
        lp_cluster *c = tu_testbed(ctx, 0);
        lp_host existing = tu_host("existing");
        TU_OK(ctx, lp_cluster_add_host(ctx, c, &existing));
        lp_requests *rs = NULL;
        lp_request r = tu_request("existing", LP_CLASS_CPU, 1, 1, 0);
        TU_OK(ctx, lp_requests_new(ctx, &rs));
        TU_OK(ctx, lp_requests_add(ctx, rs, &r));
        lp_ctx_clear_error(ctx);
        lp_status st = parse_kind(ctx, b->kind, c, b->text, strlen(b->text), rs);
        if (st != b->want || !strstr(lp_ctx_last_error(ctx), b->msg))
            fail_msg("case %zu (%s): got %s '%s', wanted %s with '%s'", i, b->text,
                     lp_status_str(st), lp_ctx_last_error(ctx), lp_status_str(b->want), b->msg);
        /* all or nothing: the cluster and the list still hold only their one entry */
        assert_int_equal(lp_cluster_size(c), 1);
        assert_int_equal(lp_requests_size(rs), 1);
        lp_requests_free(rs);
        lp_cluster_free(c);
    }
}

/* What a newer agent adds within v1 is skipped with LP_PARSE_IGNORE_UNKNOWN
   (the fetcher's parse) and refused without it (operator files); another
   schema is refused either way. */
static void test_ignore_unknown_fields(void **state)
{
    lp_ctx *ctx = *state;
    const char *newer =
        "{" SCHEMA ", \"host\": \"a\", \"agent_version\": \"1.4\", \"numa\": [{\"node\": 0}],"
        " \"cpu\": {\"threads\": 8, \"smt\": true}, \"load\": {\"demand\": 2, \"psi\": {\"cpu\": 1}},"
        " \"workloads\": [{\"id\": \"w\", \"demand\": 0.5, \"cgroup\": \"/x\"}]}";
    lp_cluster *c = tu_testbed(ctx, 0);
    TU_FAILS(ctx, lp_cluster_parse_snapshot(ctx, c, newer, strlen(newer), "n.json", 0), LP_EPARSE,
             "n.json: unknown field \"");
    TU_OK(ctx, lp_cluster_parse_snapshot(ctx, c, newer, strlen(newer), "n.json",
                                         LP_PARSE_IGNORE_UNKNOWN));
    const lp_host *h = lp_cluster_get_host(c, 0);
    assert_int_equal(h->threads, 8);
    TU_NEAR(h->load_demand, 2, 0);
    TU_NEAR(h->workloads[0].demand, 0.5, 0);
    /* known fields stay strict */
    const char *bad = "{" SCHEMA ", \"host\": \"b\", \"extra\": 1, \"cpu\": {\"threads\": 0}}";
    TU_FAILS(ctx, lp_cluster_parse_snapshot(ctx, c, bad, strlen(bad), "b.json",
                                            LP_PARSE_IGNORE_UNKNOWN),
             LP_EPARSE, "b.json: cpu.threads: must be an integer in [1, 1048576] (got 0)");
    const char *v2 = "{\"schema\": \"libplacement/snapshot/v2\", \"host\": \"c\","
                     " \"cpu\": {\"threads\": 4}}";
    TU_FAILS(ctx, lp_cluster_parse_snapshot(ctx, c, v2, strlen(v2), "v2.json",
                                            LP_PARSE_IGNORE_UNKNOWN),
             LP_EPARSE, "v2.json: schema: unknown schema \"libplacement/snapshot/v2\"");
    /* cluster files too (lpctl validate and place keep them strict) */
    char file[1024];
    snprintf(file, sizeof file, "{\"hosts\": [%s], \"generator\": \"x\"}", newer);
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, file, strlen(file), "c.json", 0), LP_EPARSE,
             "unknown field");
    lp_cluster *c2 = tu_testbed(ctx, 0);
    TU_OK(ctx, lp_cluster_parse(ctx, c2, file, strlen(file), "c.json", LP_PARSE_IGNORE_UNKNOWN));
    assert_int_equal(lp_cluster_size(c2), 1);
    assert_int_equal(lp_cluster_size(c), 1);
    lp_cluster_free(c2);
    lp_cluster_free(c);
}

/* A request file appends to the list it is given, all or nothing, and ids
   stay unique across the files. */
static void test_requests_append(void **state)
{
    lp_ctx *ctx = *state;
    const char *first = "{\"requests\": [{\"id\": \"web\", \"count\": 6, \"class\": \"net\"},"
                        " {\"id\": \"db\", \"class\": \"io\"}]}";
    const char *second = "{\"requests\": [{\"id\": \"spark\", \"count\": 16, \"vcpus\": 2}]}";
    const char *clash = "{\"requests\": [{\"id\": \"etl\"}, {\"id\": \"db\"}]}";
    const char *bad = "{\"requests\": [{\"id\": \"etl\"}, {\"id\": \"x\", \"vcpus\": 0}]}";
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_parse(ctx, rs, first, strlen(first), "a.json"));
    TU_OK(ctx, lp_requests_parse(ctx, rs, second, strlen(second), "b.json"));
    assert_int_equal(lp_requests_size(rs), 3);
    assert_string_equal(lp_requests_get(rs, 2)->id, "spark");
    assert_int_equal(lp_requests_get(rs, 2)->count, 16);
    TU_FAILS(ctx, lp_requests_parse(ctx, rs, clash, strlen(clash), "c.json"), LP_EINVAL,
             "c.json: requests[1].id: request id \"db\" is already in the request list");
    TU_FAILS(ctx, lp_requests_parse(ctx, rs, bad, strlen(bad), "d.json"), LP_EPARSE,
             "d.json: requests[1].vcpus");
    assert_int_equal(lp_requests_size(rs), 3); /* "etl" of both files was taken out again */
    assert_string_equal(lp_requests_get(rs, 1)->id, "db");
    assert_null(lp_requests_get(rs, 3));
    lp_requests_free(rs);
}

static void test_all_or_nothing(void **state)
{
    lp_ctx *ctx = *state;
    /* the first two hosts are valid; the third is not: nothing is added */
    const char *in = "{\"hosts\": [" H1 "}, {\"host\": \"b\", " HOST_REST "},"
                     " {\"host\": \"c\", \"cpu\": {\"threads\": -1}}]}";
    lp_cluster *c = tu_testbed(ctx, 2);
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, in, strlen(in), "x.json", 0), LP_EPARSE,
             "hosts[2].cpu.threads");
    assert_int_equal(lp_cluster_size(c), 2);
    assert_int_equal(tu_find(c, "a"), -1);
    /* and the same file without the bad host adds both */
    const char *good = "{\"hosts\": [" H1 "}, {\"host\": \"b\", " HOST_REST "}]}";
    TU_OK(ctx, lp_cluster_parse(ctx, c, good, strlen(good), "x.json", 0));
    assert_int_equal(lp_cluster_size(c), 4);
    lp_cluster_free(c);
}

static void test_embedded_nul_and_origin(void **state)
{
    lp_ctx *ctx = *state;
    static const char in[] = "{\"hosts\":\n [\0]}";
    lp_cluster *c = tu_testbed(ctx, 0);
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, in, sizeof in - 1, "n.json", 0), LP_EPARSE,
             "n.json: line 2, column 3: NUL byte in the input");
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, "[]", 2, NULL, 0), LP_EPARSE, "<input>: the top level");
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, NULL, 5, "x", 0), LP_EINVAL, "x: input buffer is NULL");
    TU_FAILS(ctx, lp_cluster_parse(ctx, NULL, "{}", 2, "x", 0), LP_EINVAL, "cluster is NULL");
    TU_FAILS(ctx, lp_requests_parse(ctx, NULL, "{}", 2, "x"), LP_EINVAL, "x: request list is NULL");
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, "{}", 2, "x", 0x80), LP_EINVAL, "x: unknown parse flags 0x80");
    lp_cluster_free(c);
}

/* A buffer of n bytes: prefix, then copies of item separated by commas, then suffix. */
static char *repeat(const char *prefix, const char *item, size_t n, const char *suffix, size_t *len)
{
    size_t pl = strlen(prefix), il = strlen(item), sl = strlen(suffix);
    char *buf = malloc(pl + n * (il + 1) + sl + 1), *p = buf;
    assert_non_null(buf);
    memcpy(p, prefix, pl);
    p += pl;
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        memcpy(p, item, il);
        p += il;
    }
    memcpy(p, suffix, sl + 1);
    *len = (size_t)(p - buf) + sl;
    return buf;
}

static void test_limits(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 0);
    lp_requests *rs = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    size_t len;
    char *buf =
        repeat("{\"hosts\": [" H1 ", \"workloads\": [", "0", LP_MAX_WORKLOADS + 1, "]}]}", &len);
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, buf, len, "w.json", 0), LP_ELIMIT,
             "w.json: hosts[0].workloads: has 100001 entries, over the limit of 100000");
    free(buf);
    buf = repeat("{\"requests\": [", "0", LP_MAX_REQUESTS + 1, "]}", &len);
    TU_FAILS(ctx, lp_requests_parse(ctx, rs, buf, len, "r.json"), LP_ELIMIT,
             "requests: has 100001 entries, over the limit of 100000");
    assert_int_equal(lp_requests_size(rs), 0);
    free(buf);
    char name[257]; /* names are limited to 255 bytes (docs/formats.md) */
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char text[512];
    snprintf(text, sizeof text, "{\"requests\": [{\"id\": \"%s\"}]}", name);
    TU_FAILS(ctx, lp_requests_parse(ctx, rs, text, strlen(text), "r.json"), LP_ELIMIT,
             "requests[0].id: is 256 bytes long, over the limit of 255");
    lp_requests_free(rs);
    /* over LP_JSON_MAX_BYTES: refused before it is read */
    size_t big = (size_t)LP_JSON_MAX_BYTES + 1;
    buf = malloc(big);
    assert_non_null(buf);
    memset(buf, ' ', big);
    TU_FAILS(ctx, lp_cluster_parse(ctx, c, buf, big, "big.json", 0), LP_ELIMIT,
             "big.json: input is 67108865 bytes, over the limit of 67108864 bytes");
    free(buf);
    assert_int_equal(lp_cluster_size(c), 0);
    lp_cluster_free(c);
}

static void test_ten_thousand_hosts(void **state)
{
    lp_ctx *ctx = *state;
    enum { N = 10000 };
    lp_cluster *src = tu_testbed(ctx, 0);
    for (size_t i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "node%05zu", i);
        lp_host h = tu_host(name);
        h.load_demand = (double)(i % 9);
        TU_OK(ctx, lp_cluster_add_host(ctx, src, &h));
    }
    char *text;
    size_t len;
    TU_OK(ctx, lp_cluster_write_json(ctx, src, 0, &text, &len));
    lp_cluster *c = tu_testbed(ctx, 0);
    TU_OK(ctx, lp_cluster_parse(ctx, c, text, len, "big.json", 0));
    assert_int_equal(lp_cluster_size(c), N);
    assert_int_equal(tu_find(c, "node09999"), N - 1);
    host_equal(lp_cluster_get_host(c, 4321), lp_cluster_get_host(src, 4321));
    lp_free(text);
    lp_cluster_free(c);
    lp_cluster_free(src);
}

/* ---- plans ------------------------------------------------------------------ */

static json_object *plan_json(lp_ctx *ctx, lp_cluster *c, const char *reqs,
                              const lp_place_options *opts)
{
    lp_requests *rs = NULL;
    lp_plan *p = NULL;
    char *text = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_parse(ctx, rs, reqs, strlen(reqs), "r.json"));
    TU_OK(ctx, lp_plan_new(ctx, c, rs, opts, &p));
    TU_OK(ctx, lp_plan_write_json(ctx, p, c, rs, LP_JSON_PRETTY, &text, NULL));
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    lp_free(text);
    lp_plan_free(p);
    lp_requests_free(rs);
    return o;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no member '%s' in %s", key, json_object_to_json_string(o));
    return v;
}

static void test_plan_write(void **state)
{
    lp_ctx *ctx = *state;
    lp_cluster *c = tu_testbed(ctx, 2);
    /* 2 hosts of 8 threads take 8 parallel workers; the 9th is refused everywhere */
    const char *reqs = "{\"requests\": [{\"id\": \"pi\", \"count\": 9, \"vcpus\": 2,"
                       " \"class\": \"cpu\", \"group\": \"g\"}]}";
    json_object *o = plan_json(ctx, c, reqs, TU_KEEP_VERDICTS);
    assert_int_equal(json_object_get_int(get(o, "placed")), 8);
    assert_int_equal(json_object_get_int(get(o, "unplaced")), 1);
    json_object *pl = get(o, "placements");
    assert_int_equal(json_object_array_length(pl), 9);
    json_object *first = json_object_array_get_idx(pl, 0);
    assert_string_equal(json_object_get_string(get(first, "request")), "pi");
    assert_int_equal(json_object_get_int(get(first, "instance")), 0);
    assert_string_equal(json_object_get_string(get(first, "runtime")), "unikernel");
    assert_string_equal(json_object_get_string(get(first, "class")), "cpu");
    assert_string_equal(json_object_get_string(get(first, "reason")), "ok");
    assert_non_null(strstr(json_object_get_string(get(first, "explain")), "pass: demand"));
    json_object *terms = get(first, "terms");
    double sum = 0;
    for (int t = 0; t < LP_TERM_COUNT; t++)
        sum += json_object_get_double(get(terms, lp_term_name(t)));
    assert_true(fabs(sum - json_object_get_double(get(first, "score"))) < 1e-9);
    const char *h = json_object_get_string(get(first, "host"));
    assert_true(strcmp(h, "h0") == 0 || strcmp(h, "h1") == 0);

    json_object *last = json_object_array_get_idx(pl, 8);
    assert_true(json_object_is_type(get(last, "host"), json_type_null));
    assert_true(json_object_is_type(get(last, "runtime"), json_type_null));
    assert_true(json_object_is_type(get(last, "score"), json_type_null));
    assert_string_equal(json_object_get_string(get(last, "reason")), "parallelism");
    assert_string_equal(json_object_get_string(get(last, "class")), "cpu");
    assert_string_equal(json_object_get_string(get(last, "explain")),
                        "0/2 hosts can take pi#8: 2 parallelism");

    json_object *ref = get(o, "refusals");
    assert_int_equal(json_object_array_length(ref), 1);
    json_object *r0 = json_object_array_get_idx(ref, 0);
    assert_int_equal(json_object_get_int(get(r0, "instance")), 8);
    assert_string_equal(json_object_get_string(get(r0, "summary")),
                        "0/2 hosts can take pi#8: 2 parallelism");
    json_object *hosts = get(r0, "hosts");
    assert_int_equal(json_object_object_length(hosts), 2);
    assert_non_null(strstr(json_object_get_string(get(hosts, "h1")), "fail parallelism"));
    json_object_put(o);

    /* without kept verdicts: the refusal has no per-host detail */
    o = plan_json(ctx, c, reqs, NULL);
    r0 = json_object_array_get_idx(get(o, "refusals"), 0);
    assert_false(json_object_object_get_ex(r0, "hosts", NULL));
    last = json_object_array_get_idx(get(o, "placements"), 8);
    assert_string_equal(json_object_get_string(get(last, "reason")), "unplaced");
    assert_string_equal(json_object_get_string(get(last, "explain")), "0/2 hosts can take pi#8");
    assert_string_equal(json_object_get_string(get(r0, "summary")), "0/2 hosts can take pi#8");
    json_object_put(o);

    /* memory refusals quote the memory left after earlier instances */
    const char *mem = "{\"requests\": [{\"id\": \"m\", \"count\": 3, \"vcpus\": 1,"
                      " \"memory_mb\": 10000, \"class\": \"net\"}]}";
    o = plan_json(ctx, c, mem, TU_KEEP_VERDICTS);
    assert_int_equal(json_object_get_int(get(o, "unplaced")), 1);
    r0 = json_object_array_get_idx(get(o, "refusals"), 0);
    assert_non_null(strstr(json_object_get_string(get(get(r0, "hosts"), "h0")), "6384 MB free"));
    json_object_put(o);
    lp_cluster_free(c);
}

/*
 * The one-line summary of an unplaced instance: how many hosts could take it,
 * the reasons of the others most frequent first, and the empty cluster.
 */
static void test_plan_refusal_summary(void **state)
{
    lp_ctx *ctx = *state;
    /* h0 is full, h1 offers containers only, h2 and h3 have 1 GB free */
    const char *cluster =
        "{\"hosts\": ["
        "{\"host\": \"h0\", \"cpu\": {\"threads\": 8}, \"memory_mb\": 16384,"
        " \"runtimes\": [\"vm\"], \"load\": {\"demand\": 8}},"
        "{\"host\": \"h1\", \"cpu\": {\"threads\": 8}, \"memory_mb\": 16384,"
        " \"runtimes\": [\"container\"]},"
        "{\"host\": \"h2\", \"cpu\": {\"threads\": 8}, \"memory_mb\": 1024,"
        " \"runtimes\": [\"vm\"]},"
        "{\"host\": \"h3\", \"cpu\": {\"threads\": 8}, \"memory_mb\": 1024,"
        " \"runtimes\": [\"vm\"]}]}";
    const char *reqs = "{\"requests\": [{\"id\": \"db\", \"vcpus\": 2, \"memory_mb\": 4096,"
                       " \"class\": \"cpu\"}]}";
    lp_cluster *c = tu_testbed(ctx, 0);
    TU_OK(ctx, lp_cluster_parse(ctx, c, cluster, strlen(cluster), "c.json", 0));
    json_object *o = plan_json(ctx, c, reqs, TU_KEEP_VERDICTS);
    json_object *pl = json_object_array_get_idx(get(o, "placements"), 0);
    assert_string_equal(json_object_get_string(get(pl, "explain")),
                        "0/4 hosts can take db#0: 2 memory, 1 parallelism, 1 runtime");
    assert_string_equal(json_object_get_string(get(pl, "reason")), "memory");
    json_object_put(o);
    lp_cluster_free(c);

    c = tu_testbed(ctx, 0);
    o = plan_json(ctx, c, reqs, TU_KEEP_VERDICTS);
    pl = json_object_array_get_idx(get(o, "placements"), 0);
    assert_string_equal(json_object_get_string(get(pl, "explain")),
                        "0/0 hosts can take db#0: the cluster has no hosts");
    assert_string_equal(json_object_get_string(get(pl, "reason")), "unplaced");
    json_object_put(o);
    lp_cluster_free(c);
}

/* Next line of *text (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **text)
{
    char *line = *text, *nl = line ? strchr(line, '\n') : NULL;
    if (!nl)
        return NULL;
    *nl = '\0';
    *text = nl + 1;
    return line;
}

/*
 * What lp_plan_write_text() says of every instance is what
 * lp_plan_write_json() says: the same explanation for a placed instance, the
 * same summary and the same per-host refusals (with the hosts' threads,
 * runtimes and the memory the earlier instances left) for an unplaced one.
 */
static void test_plan_text_says_what_json_says(void **state)
{
    lp_ctx *ctx = *state;
    /* pc1 runs containers only; pc3 is busy; every host has 16 GB */
    const char *cluster =
        "{\"hosts\": ["
        "{\"host\": \"pc1\", \"cpu\": {\"cores\": 4, \"threads\": 8}, \"memory_mb\": 16384,"
        " \"runtimes\": [\"container\"]},"
        "{\"host\": \"pc2\", \"cpu\": {\"cores\": 4, \"threads\": 8}, \"memory_mb\": 16384,"
        " \"runtimes\": [\"container\", \"unikernel\", \"vm\"]},"
        "{\"host\": \"pc3\", \"cpu\": {\"cores\": 4, \"threads\": 8}, \"memory_mb\": 16384,"
        " \"runtimes\": [\"container\", \"unikernel\", \"vm\"], \"load\": {\"demand\": 7.5},"
        " \"workloads\": [{\"id\": \"batch\", \"vcpus\": 6, \"class\": \"cpu\","
        " \"memory_mb\": 4096}]}]}";
    /* the container-only cpu image finds no runtime its class may use; spark
       fills pc2; web takes pc1's memory in 6 GB steps, then pc3's threads */
    const char *reqs =
        "{\"requests\": ["
        "{\"id\": \"solver\", \"vcpus\": 1, \"class\": \"cpu\","
        " \"runtimes\": [\"container\"]},"
        "{\"id\": \"spark\", \"count\": 5, \"vcpus\": 2, \"memory_mb\": 2048,"
        " \"class\": \"cpu\", \"group\": \"spark\"},"
        "{\"id\": \"web\", \"count\": 5, \"vcpus\": 1, \"memory_mb\": 6144,"
        " \"class\": \"net\", \"demand\": 0.25, \"group\": \"web\"}]}";
    lp_cluster *c = tu_testbed(ctx, 0);
    lp_requests *rs = NULL;
    lp_plan *p = NULL;
    TU_OK(ctx, lp_cluster_parse(ctx, c, cluster, strlen(cluster), "c.json", 0));
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_parse(ctx, rs, reqs, strlen(reqs), "r.json"));
    TU_OK(ctx, lp_plan_new(ctx, c, rs, TU_KEEP_VERDICTS, &p));
    char *json, *text;
    TU_OK(ctx, lp_plan_write_json(ctx, p, c, rs, 0, &json, NULL));
    TU_OK(ctx, lp_plan_write_text(ctx, p, c, rs, 0, &text, NULL));
    json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    json_object *pl = get(o, "placements"), *ref = get(o, "refusals");
    size_t n = json_object_array_length(pl), unplaced = 0, memory_refusals = 0;
    assert_int_equal(n, 11);
    char *rest = text;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(pl, i);
        char head[64];
        snprintf(head, sizeof head, "%s#%d -> ", json_object_get_string(get(e, "request")),
                 json_object_get_int(get(e, "instance")));
        char *line = next_line(&rest);
        assert_non_null(line);
        assert_memory_equal(line, head, strlen(head));
        line += strlen(head);
        json_object *host = get(e, "host");
        int placed = !json_object_is_type(host, json_type_null);
        const char *where = placed ? json_object_get_string(host) : "UNPLACED";
        assert_memory_equal(line, where, strlen(where));
        assert_memory_equal(line + strlen(where), "  ", 2);
        assert_string_equal(line + strlen(where) + 2, json_object_get_string(get(e, "explain")));
        if (placed)
            continue;
        /* under an unplaced instance: each host's refusal, as in "refusals" */
        json_object *r = json_object_array_get_idx(ref, unplaced++);
        assert_string_equal(json_object_get_string(get(r, "summary")),
                            json_object_get_string(get(e, "explain")));
        json_object *hosts = get(r, "hosts");
        assert_int_equal(json_object_object_length(hosts), 3);
        for (size_t h = 0; h < 3; h++) {
            char *hl = next_line(&rest), name[32];
            assert_non_null(hl);
            int off = 0;
            assert_int_equal(sscanf(hl, "    %31s %n", name, &off), 1);
            assert_int_equal(strcmp(name, lp_cluster_get_host(c, h)->name), 0);
            assert_string_equal(hl + off, json_object_get_string(get(hosts, name)));
            memory_refusals += strstr(hl, "MB free") != NULL;
        }
    }
    assert_string_equal(next_line(&rest), "placed 8 of 11 instances");
    assert_null(next_line(&rest));
    assert_int_equal(unplaced, 3);
    assert_true(memory_refusals > 0);
    /* what the operator reads: the host's runtimes, threads and free memory */
    json_object *solver = get(json_object_array_get_idx(ref, 0), "hosts");
    assert_string_equal(json_object_get_string(get(solver, "pc2")),
                        "fail runtime: host offers container|unikernel|vm, none that class cpu "
                        "may use among the runtimes the request allows");
    json_object *web = json_object_array_get_idx(ref, 2);
    assert_string_equal(json_object_get_string(get(web, "summary")),
                        "0/3 hosts can take web#4: 2 parallelism, 1 memory");
    assert_string_equal(json_object_get_string(get(get(web, "hosts"), "pc1")),
                        "fail memory: needs 6144 MB, 4096 MB free");
    assert_string_equal(json_object_get_string(get(get(web, "hosts"), "pc3")),
                        "fail parallelism: demand 8.00 + 0.25 = 8.25 > cap 8.00 "
                        "(8 threads x 1.00) for class net");
    json_object_put(o);
    lp_free(json);
    lp_free(text);
    lp_plan_free(p);
    lp_requests_free(rs);
    lp_cluster_free(c);
}

static void test_plan_write_args(void **state)
{
    lp_ctx *ctx = *state;
    char *text = NULL;
    TU_FAILS(ctx, lp_plan_write_json(ctx, NULL, NULL, NULL, 0, &text, NULL), LP_EINVAL,
             "plan is NULL");
    assert_null(text);
}

/* A plan keeps one verdict per host of the cluster it was made on: writing it
   with another cluster, even one whose indices all fit, is refused. */
static void test_plan_write_other_cluster(void **state)
{
    lp_ctx *ctx = *state;
    const char *reqs = "{\"requests\": [{\"id\": \"big\", \"vcpus\": 64, \"class\": \"cpu\"}]}";
    lp_cluster *small = tu_testbed(ctx, 2), *large = tu_testbed(ctx, 3);
    lp_requests *rs = NULL;
    lp_plan *p = NULL;
    char *text = NULL;
    TU_OK(ctx, lp_requests_new(ctx, &rs));
    TU_OK(ctx, lp_requests_parse(ctx, rs, reqs, strlen(reqs), "r.json"));
    TU_OK(ctx, lp_plan_new(ctx, small, rs, TU_KEEP_VERDICTS, &p));
    assert_int_equal(lp_plan_unplaced(p), 1);
    TU_FAILS(ctx, lp_plan_write_json(ctx, p, large, rs, 0, &text, NULL), LP_EINVAL,
             "made on 2 hosts, the cluster has 3");
    assert_null(text);
    TU_OK(ctx, lp_plan_write_json(ctx, p, small, rs, 0, &text, NULL));
    lp_free(text);
    lp_plan_free(p);
    lp_requests_free(rs);
    lp_cluster_free(small);
    lp_cluster_free(large);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_round_trip, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_times_have_millisecond_precision, tu_ctx_setup,
                                        tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_metrics_are_omitted, tu_ctx_setup,
                                        tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_pretty_layout, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_write_rejects_unwritable, tu_ctx_setup,
                                        tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_round_trip, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_defaults, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_values, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_requests, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ignore_unknown_fields, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_requests_append, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_embedded_nul_and_origin, tu_ctx_setup,
                                        tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_limits, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ten_thousand_hosts, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_plan_write, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_plan_write_other_cluster, tu_ctx_setup,
                                        tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_plan_write_args, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_plan_refusal_summary, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_plan_text_says_what_json_says, tu_ctx_setup,
                                        tu_ctx_teardown),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
