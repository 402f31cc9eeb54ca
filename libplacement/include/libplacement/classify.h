/*
 * libplacement — classification of a workload from its measured behaviour,
 * and the choice of runtime for a class.
 *
 * Thresholds are policy parameters of the lp_ctx (docs/policy.md).
 */
#ifndef LIBPLACEMENT_CLASSIFY_H
#define LIBPLACEMENT_CLASSIFY_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Result of a classification. */
typedef struct lp_classification {
    lp_class klass;     /**< never LP_CLASS_AUTO; LP_CLASS_UNKNOWN without metrics */
    double confidence;  /**< 0..1: how far the deciding metrics are past their thresholds */
    char reasons[256];  /**< human text, e.g. "util 1.9 CPUs >= 0.6 x 2 parallel; net 0 B/s < 1e+06" */
} lp_classification;

/**
 * Classify a workload from its metrics (util, demand, wait_ratio, iowait,
 * net_bps, disk_bps, threads, vcpus).  Unknown metrics (-1) are ignored;
 * with no usable metric the class is LP_CLASS_UNKNOWN, confidence 0.
 * @param out receives the result (caller's storage; nothing to free).
 * @return LP_OK; LP_EINVAL for NULL arguments or NaN/infinite metrics (message
 *         names the metric).
 */
LP_EXPORT lp_status lp_classify(lp_ctx *ctx, const lp_workload *w, lp_classification *out);

/**
 * Choose the runtime for a workload of class klass on a host offering
 * host_runtimes, among the runtimes the image allows (allowed; LP_RUNTIME_ALL
 * for any).  The policy's preference order for the class is tried in turn
 * (defaults: cpu -> unikernel, vm; net, io, idle -> container, vm;
 * mixed, unknown -> vm).
 * @param out receives one LP_RUNTIME_* bit, or LP_RUNTIME_NONE if none fits.
 * @return LP_OK (also when none fits), LP_EINVAL for a NULL ctx or out or a
 *         class out of range (no message: ctx is const).
 */
LP_EXPORT lp_status lp_choose_runtime(const lp_ctx *ctx, lp_class klass, unsigned host_runtimes,
                                      unsigned allowed, lp_runtime *out);

/**
 * Set the preference order of runtimes for a class, as a comma-separated
 * list of names ("unikernel,vm").  Each runtime at most once, 1 to 3 names.
 * @return LP_OK; LP_EINVAL (NULL ctx, class out of range or LP_CLASS_AUTO,
 *         empty list or entry, a runtime listed twice) or LP_ENOTFOUND
 *         (unknown name), with a message naming the entry.  Unchanged on failure.
 */
LP_EXPORT lp_status lp_ctx_set_runtime_order(lp_ctx *ctx, lp_class klass, const char *order);

/**
 * Write the preference order for a class into buf (len bytes, caller's) as
 * "unikernel,vm", NUL-terminated.
 * @return LP_OK, LP_EINVAL (NULL ctx or buf, class out of range), LP_ELIMIT
 *         (buf too small).  No message is stored (ctx is const).
 */
LP_EXPORT lp_status lp_ctx_get_runtime_order(const lp_ctx *ctx, lp_class klass, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
