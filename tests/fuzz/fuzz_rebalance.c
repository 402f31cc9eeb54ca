/*
 * libFuzzer harness: the rebalancing planner on every cluster that parses.
 * Invariants: it succeeds; no move leaves a host that was not acted on, or
 * lands on a host acted on; every host not acted on ends within its cap; a
 * host acted on never ends with more demand than it began with; the plan
 * writes as JSON.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lp_ctx *ctx = NULL;
    lp_cluster *c = NULL;
    fuzz_require(lp_ctx_new(&ctx) == LP_OK && lp_cluster_new(ctx, &c) == LP_OK, "setup", ctx);
    if (lp_cluster_parse(ctx, c, (const char *)data, size, "fuzz.json", 0) == LP_OK) {
        lp_rebalance_options o;
        lp_rebalance_options_init(&o, LP_REBALANCE_OPTIONS_VERSION);
        o.now = 1.7e9;
        o.overload_margin = 0;
        o.search_budget = 2000; /* keep each input fast */
        /* A host may keep up to its cap + the policy's cap_slack. */
        double slack = 0;
        fuzz_require(lp_ctx_get_param(ctx, "cap_slack", &slack) == LP_OK, "cap_slack", ctx);
        lp_rebalance *r = NULL;
        fuzz_require(lp_rebalance_new(ctx, c, &o, &r) == LP_OK, "rebalance succeeds", ctx);
        for (size_t i = 0; i < lp_rebalance_move_count(r); i++) {
            const lp_move *m = lp_rebalance_get_move(r, i);
            fuzz_require(lp_rebalance_get_host(r, m->from)->acted_on, "moves leave acted-on hosts",
                         ctx);
            fuzz_require(!lp_rebalance_get_host(r, m->to)->acted_on,
                         "moves land on hosts not acted on", ctx);
            fuzz_require(m->explain && m->explain[0], "every move is explained", ctx);
        }
        for (size_t i = 0; i < lp_cluster_size(c); i++) {
            const lp_host_outcome *h = lp_rebalance_get_host(r, i);
            if (!h->acted_on)
                fuzz_require(h->demand_after <= h->capacity + slack + 1e-6 ||
                                 h->demand_after <= h->demand_before + 1e-6,
                             "a host not acted on never goes over its cap", ctx);
            else
                fuzz_require(h->demand_after <= h->demand_before + 1e-6,
                             "a host acted on never gains demand", ctx);
            fuzz_require(!h->why == (h->demand_after <= h->capacity + slack + 1e-9),
                         "exactly the hosts still over their cap say why", ctx);
        }
        char *text = NULL;
        fuzz_require(lp_rebalance_write_json(ctx, r, c, 0, &text, NULL) == LP_OK, "plan writes",
                     ctx);
        lp_free(text);
        lp_rebalance_free(r);
    }
    lp_cluster_free(c);
    lp_ctx_free(ctx);
    return 0;
}
