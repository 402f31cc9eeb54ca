/*
 * libplacement — classification of a workload from its measured behaviour,
 * and the choice of runtime for a class.
 *
 * Thresholds and runtime preference orders are the policy of the lp_ctx
 * (policy.h, docs/policy.md): both functions need a ctx.
 */
#ifndef LIBPLACEMENT_CLASSIFY_H
#define LIBPLACEMENT_CLASSIFY_H

#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Result of a classification (a fixed-layout struct, see common.h). */
typedef struct lp_classification {
    lp_class klass;     /**< never LP_CLASS_AUTO; LP_CLASS_UNKNOWN without metrics */
    double confidence;  /**< 0..1: how far the deciding metrics are past their thresholds */
    char reasons[256];  /**< human text, e.g. "util 1.9 CPUs >= 0.6 x 2 parallel; net 0 B/s < 1e+06" */
} lp_classification;

/**
 * Classify a workload from its metrics (util, demand, wait_ratio, iowait,
 * net_bps, disk_bps, threads, vcpus).  Unknown metrics (-1) are ignored;
 * with no usable metric the class is LP_CLASS_UNKNOWN, confidence 0.
 * Needs ctx.
 * @param out receives the result (caller's storage; nothing to free).
 * @return LP_OK; LP_EINVAL for NULL arguments or an invalid workload
 *         (NaN/infinite metrics: the message names the metric).
 */
LP_EXPORT lp_status lp_workload_classify(lp_ctx *ctx, const lp_workload *w, lp_classification *out);

/**
 * Choose the runtime for a workload of class klass on a host offering
 * host_runtimes, among the runtimes the image allows (allowed; LP_RUNTIME_ALL
 * for any).  The policy's preference order for the class is tried in turn
 * (defaults: cpu -> unikernel, vm; net, io, idle -> container, vm;
 * mixed, unknown -> vm).  Needs ctx.
 * @param out receives one LP_RUNTIME_* bit, or LP_RUNTIME_NONE if none fits.
 * @return LP_OK (also when none fits), LP_EINVAL for a NULL out or a class
 *         out of range (named in the message).
 */
LP_EXPORT lp_status lp_runtime_choose(lp_ctx *ctx, lp_class klass, unsigned host_runtimes,
                                      unsigned allowed, lp_runtime *out);

#ifdef __cplusplus
}
#endif
#endif
