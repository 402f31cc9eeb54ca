/*
 * libFuzzer harness: lp_requests_parse() on arbitrary bytes.  What parses is
 * placed on a small fixed cluster and the plan written: the plan's JSON must
 * be valid with one placement per instance, and its text must carry each
 * instance's explanation from the JSON.
 */
#include <json-c/json.h>

#include "fuzz_util.h"

/* Place only small request lists: a count of 100000 is valid but slow to place. */
#define FUZZ_MAX_INSTANCES 256

static const char cluster_json[] =
    "{\"hosts\": ["
    "{\"host\": \"a\", \"cpu\": {\"cores\": 4, \"threads\": 8}, \"memory_mb\": 16384,"
    " \"runtimes\": [\"container\", \"unikernel\", \"vm\"]},"
    "{\"host\": \"b\", \"cpu\": {\"threads\": 2}, \"memory_mb\": 1024, \"runtimes\": [\"vm\"],"
    " \"load\": {\"demand\": 1.5}, \"workloads\": [{\"id\": \"w\", \"class\": \"net\","
    " \"group\": \"g\", \"demand\": 0.5}]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lp_ctx *ctx = NULL;
    lp_requests *rs = NULL;
    fuzz_require(lp_ctx_new(&ctx) == LP_OK, "setup", ctx);
    fuzz_require(lp_requests_new(ctx, &rs) == LP_OK, "setup", ctx);
    lp_status st = lp_requests_parse(ctx, rs, (const char *)data, size, "fuzz.json");
    if (st != LP_OK) {
        fuzz_check_failure(ctx, st, 0);
        fuzz_require(lp_requests_size(rs) == 0, "failed parse added requests", ctx);
        lp_requests_free(rs);
        lp_ctx_free(ctx);
        return 0;
    }
    size_t total = 0;
    for (size_t i = 0; i < lp_requests_size(rs); i++)
        total += lp_requests_get(rs, i)->count;
    if (total <= FUZZ_MAX_INSTANCES) {
        lp_cluster *c = NULL;
        lp_plan *p = NULL;
        char *text = NULL;
        size_t len = 0;
        fuzz_require(lp_cluster_new(ctx, &c) == LP_OK &&
                         lp_cluster_parse(ctx, c, cluster_json, sizeof cluster_json - 1, "c", 0) ==
                             LP_OK,
                     "fixed cluster", ctx);
        lp_place_options po;
        fuzz_require(lp_place_options_init(&po, LP_PLACE_OPTIONS_VERSION) == LP_OK, "options", ctx);
        po.keep_verdicts = 1;
        fuzz_require(lp_plan_new(ctx, c, rs, &po, &p) == LP_OK, "place", ctx);
        fuzz_require(lp_plan_write_json(ctx, p, c, rs, (size & 1) ? LP_JSON_PRETTY : 0, &text,
                                        &len) == LP_OK,
                     "plan write", ctx);
        /* strict JSON: one value, nothing after it, valid UTF-8 */
        json_tokener *tok = json_tokener_new();
        fuzz_require(tok != NULL, "tokener", ctx);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *o = json_tokener_parse_ex(tok, text, (int)len), *pl = NULL;
        fuzz_require(o && json_tokener_get_parse_end(tok) == len &&
                         json_object_object_get_ex(o, "placements", &pl) &&
                         json_object_array_length(pl) == total,
                     "plan is JSON with one placement per instance", ctx);
        json_tokener_free(tok);
        /* the text says what the JSON says: every instance's explanation or summary */
        char *plain = NULL;
        fuzz_require(lp_plan_write_text(ctx, p, c, rs, (size & 2) ? LP_TEXT_EVERY_HOST : 0, &plain,
                                        NULL) == LP_OK,
                     "plan write text", ctx);
        for (size_t i = 0; i < total; i++) {
            json_object *e = json_object_array_get_idx(pl, i), *ex = NULL;
            fuzz_require(json_object_object_get_ex(e, "explain", &ex) &&
                             strstr(plain, json_object_get_string(ex)),
                         "text has the JSON's explanation of every instance", ctx);
        }
        lp_free(plain);
        json_object_put(o);
        lp_free(text);
        lp_plan_free(p);
        lp_cluster_free(c);
    }
    lp_requests_free(rs);
    lp_ctx_free(ctx);
    return 0;
}
