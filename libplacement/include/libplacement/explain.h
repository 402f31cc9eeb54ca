/*
 * libplacement — explanations: one line of text per decision that an
 * operator can read in a log.
 */
#ifndef LIBPLACEMENT_EXPLAIN_H
#define LIBPLACEMENT_EXPLAIN_H

#include "place.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Describe a verdict, e.g.
 *   "pass: demand 2.00 + 2.00 = 4.00 <= cap 8.00; class cpu; runtime unikernel;
 *    score 0.500 = headroom 0.500 + colocate 0.000 + spread 0.000"
 *   "fail parallelism: demand 7.50 + 2.00 = 9.50 > cap 8.00 (8 threads x 1.00) for class cpu"
 *   "fail runtime: host offers container, none that class cpu may use among the
 *    runtimes the request allows"
 *   "fail memory: needs 2048 MB, 1024 MB free"
 * h (may be NULL) adds the host's thread count, runtimes and free memory to
 * the text.  ctx may be NULL.
 * @param buf the caller's, len bytes; may be NULL when len is 0 (to ask for
 *        the length).  NUL-terminated whenever len > 0, also when truncated.
 * @param needed receives the length of the full text without its NUL (like
 *        snprintf's result); may be NULL.  Set also on LP_ELIMIT.
 * @return LP_OK; LP_ELIMIT when the text did not fit (buf holds what fits);
 *         LP_EINVAL (NULL v, NULL buf with len > 0).
 */
LP_EXPORT lp_status lp_verdict_explain(lp_ctx *ctx, const lp_verdict *v, const lp_host_load *h,
                                       char *buf, size_t len, size_t *needed);

#ifdef __cplusplus
}
#endif
#endif
