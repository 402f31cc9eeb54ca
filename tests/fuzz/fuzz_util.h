/*
 * Shared by the codec fuzzers: invariants every input must keep.  A parser
 * either fails (leaving its output untouched, with a message) or succeeds,
 * and what succeeds must write out and parse back to the same text.
 */
#ifndef LP_FUZZ_UTIL_H
#define LP_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libplacement.h"

/* Abort (which libFuzzer reports with the input) unless ok. */
static inline void fuzz_require(int ok, const char *what, const lp_ctx *ctx)
{
    if (!ok) {
        fprintf(stderr, "fuzz invariant broken: %s (last error: %s)\n", what,
                ctx ? lp_ctx_last_error(ctx) : "");
        abort();
    }
}

/* A failed parse must leave a message and must not have added anything. */
static inline void fuzz_check_failure(const lp_ctx *ctx, lp_status st, size_t size_after)
{
    fuzz_require(st == LP_EPARSE || st == LP_ELIMIT || st == LP_EINVAL || st == LP_ENOMEM,
                 "unexpected status", ctx);
    fuzz_require(lp_ctx_last_error(ctx)[0] != '\0', "failure without a message", ctx);
    fuzz_require(size_after == 0, "failed parse changed the cluster", ctx);
}

/* Write c (compact and pretty), parse both back, write again: the texts must agree. */
static inline void fuzz_cluster_round_trip(lp_ctx *ctx, const lp_cluster *c)
{
    char *text = NULL, *again = NULL, *pretty = NULL;
    size_t len = 0, alen = 0, plen = 0;
    lp_cluster *back = NULL, *pback = NULL;
    fuzz_require(lp_cluster_write_json(ctx, c, 0, &text, &len) == LP_OK, "cluster write", ctx);
    fuzz_require(lp_cluster_write_json(ctx, c, LP_JSON_PRETTY, &pretty, &plen) == LP_OK,
                 "pretty cluster write", ctx);
    fuzz_require(lp_cluster_new(ctx, &back) == LP_OK && lp_cluster_new(ctx, &pback) == LP_OK,
                 "cluster new", ctx);
    fuzz_require(lp_cluster_parse(ctx, back, text, len, "round-trip", 0) == LP_OK,
                 "written cluster parses back", ctx);
    fuzz_require(lp_cluster_parse(ctx, pback, pretty, plen, "round-trip", 0) == LP_OK,
                 "pretty cluster parses back", ctx);
    fuzz_require(lp_cluster_size(back) == lp_cluster_size(c), "round trip keeps every host", ctx);
    fuzz_require(lp_cluster_write_json(ctx, back, 0, &again, &alen) == LP_OK, "rewrite", ctx);
    fuzz_require(alen == len && memcmp(text, again, len) == 0, "round trip changed the hosts", ctx);
    lp_free(text);
    lp_free(again);
    lp_free(pretty);
    lp_cluster_free(back);
    lp_cluster_free(pback);
}

#endif
