/*
 * libplacement — explanations: one line of text per decision that an
 * operator can read in a log, and a whole plan as text.
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

/** Flags of lp_plan_write_text(). */
enum {
    /** Under every instance, every host's verdict (the chosen host marked
        '*'); without it, only under the instances that found no host. */
    LP_TEXT_EVERY_HOST = 1u << 0
};

/**
 * Write a plan as text for operators: one line per instance, in placement
 * order, then "placed N of M instances\n".
 *   "spark#0 -> pc1  pass: demand 0.00 + 2.00 = 2.00 <= cap 8.00; ..."
 *   "spark#16 -> UNPLACED  0/4 hosts can take spark#16: 4 parallelism"
 *   "    pc1              fail parallelism: demand 8.00 + 2.00 = 10.00 > cap 8.00
 *    (8 threads x 1.00) for class cpu"   (one per host, when the plan kept
 *                                          every verdict)
 * Every explanation is lp_verdict_explain() with the host's load as that
 * instance saw it (free memory after the earlier instances), and the line of
 * an unplaced instance is the summary the JSON plan carries: the text says
 * what lp_plan_write_json() says.  c and rs must be those the plan was made
 * with.  Needs ctx.
 * @param flags LP_TEXT_* bits.
 * @param out receives the NUL-terminated text (lp_free()); @param len its
 *        length without the NUL (may be NULL).
 * @return LP_OK; LP_EINVAL (NULL argument, unknown flags, c or rs do not
 *         match the plan); LP_ENOMEM.
 */
LP_EXPORT lp_status lp_plan_write_text(lp_ctx *ctx, const lp_plan *p, const lp_cluster *c,
                                       const lp_requests *rs, unsigned flags, char **out,
                                       size_t *len);

#ifdef __cplusplus
}
#endif
#endif
