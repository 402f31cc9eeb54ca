/* libFuzzer harness: lp_cluster_parse_snapshot() on arbitrary bytes, round trip of what parses. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lp_ctx *ctx = NULL;
    lp_cluster *c = NULL;
    fuzz_require(lp_ctx_new(&ctx) == LP_OK && lp_cluster_new(ctx, &c) == LP_OK, "setup", ctx);
    /* half the inputs as the fetcher reads agents' snapshots: unknown fields skipped */
    unsigned flags = (size & 1) ? LP_PARSE_IGNORE_UNKNOWN : 0;
    lp_status st = lp_cluster_parse_snapshot(ctx, c, (const char *)data, size, "fuzz.json", flags);
    if (st != LP_OK) {
        fuzz_check_failure(ctx, st, lp_cluster_size(c));
    } else {
        fuzz_require(lp_cluster_size(c) == 1, "a snapshot adds one host", ctx);
        /* the snapshot writer's text must parse back as a snapshot of an equal host */
        char *text = NULL, *again = NULL;
        size_t len = 0, alen = 0;
        lp_cluster *back = NULL;
        fuzz_require(lp_host_write_json(ctx, lp_cluster_get_host(c, 0), 0, &text, &len) == LP_OK,
                     "snapshot write", ctx);
        fuzz_require(lp_cluster_new(ctx, &back) == LP_OK, "cluster new", ctx);
        fuzz_require(lp_cluster_parse_snapshot(ctx, back, text, len, "round-trip", 0) == LP_OK,
                     "written snapshot parses back", ctx);
        fuzz_require(lp_host_write_json(ctx, lp_cluster_get_host(back, 0), 0, &again, &alen) ==
                         LP_OK,
                     "rewrite", ctx);
        fuzz_require(alen == len && memcmp(text, again, len) == 0, "round trip changed the host",
                     ctx);
        lp_free(text);
        lp_free(again);
        lp_cluster_free(back);
        fuzz_cluster_round_trip(ctx, c);
    }
    lp_cluster_free(c);
    lp_ctx_free(ctx);
    return 0;
}
