/* libFuzzer harness: lp_cluster_parse() on arbitrary bytes, round trip of what parses. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lp_ctx *ctx = NULL;
    lp_cluster *c = NULL;
    fuzz_require(lp_ctx_new(&ctx) == LP_OK && lp_cluster_new(ctx, &c) == LP_OK, "setup", ctx);
    unsigned flags = (size & 1) ? LP_PARSE_IGNORE_UNKNOWN : 0; /* half of them lenient */
    lp_status st = lp_cluster_parse(ctx, c, (const char *)data, size, "fuzz.json", flags);
    if (st != LP_OK)
        fuzz_check_failure(ctx, st, lp_cluster_size(c));
    else
        fuzz_cluster_round_trip(ctx, c);
    lp_cluster_free(c);
    lp_ctx_free(ctx);
    return 0;
}
