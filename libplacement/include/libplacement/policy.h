/*
 * libplacement — the policy of a context: numeric parameters (thresholds,
 * weights, estimates) and the runtime preference order of every class.
 * Names, defaults, ranges and meanings: docs/policy.md.
 *
 * Every function here needs a ctx: a NULL ctx gives LP_EINVAL with no
 * message.  On failure the policy and the outputs are unchanged.
 */
#ifndef LIBPLACEMENT_POLICY_H
#define LIBPLACEMENT_POLICY_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Set a numeric policy parameter by name, e.g. "max_parallel_ratio" (1.0),
 * "weight_headroom" (1.0), "weight_colocate" (1.0), "weight_spread" (0.5),
 * "cpu_busy_fraction" (0.6); lp_policy_param_name() lists them all.
 * @return LP_OK; LP_ENOTFOUND for an unknown name; LP_EINVAL for a NULL
 *         name or a value out of the parameter's range (the message names
 *         the range; NaN and infinities are never accepted).
 */
LP_EXPORT lp_status lp_ctx_set_param(lp_ctx *ctx, const char *name, double value);

/**
 * Read a numeric policy parameter by name into *value.
 * @return LP_OK, LP_ENOTFOUND (unknown name, named in the message), LP_EINVAL
 *         (NULL name or value).
 */
LP_EXPORT lp_status lp_ctx_get_param(lp_ctx *ctx, const char *name, double *value);

/**
 * Name of the i-th policy parameter (0-based), or NULL past the end, so that
 * callers can list them; lp_policy_param_help() gives its one-line help (NULL
 * past the end).  Both are static strings; they cannot fail.
 */
LP_EXPORT const char *lp_policy_param_name(size_t i);
LP_EXPORT const char *lp_policy_param_help(size_t i);

/**
 * Set the preference order of runtimes for a class, as a comma-separated
 * list of names ("unikernel,vm").  Each runtime at most once, 1 to 3 names.
 * @return LP_OK; LP_EINVAL (class out of range or LP_CLASS_AUTO, NULL or
 *         empty list, an empty entry, a runtime listed twice) or LP_ENOTFOUND
 *         (unknown name), with a message naming the entry.
 */
LP_EXPORT lp_status lp_ctx_set_runtime_order(lp_ctx *ctx, lp_class klass, const char *order);

/**
 * Write the preference order for a class into buf (len bytes, the caller's)
 * as "unikernel,vm", NUL-terminated.  32 bytes always suffice.
 * @return LP_OK, LP_EINVAL (NULL buf, class out of range), LP_ELIMIT (buf too
 *         small: buf is untouched).
 */
LP_EXPORT lp_status lp_ctx_get_runtime_order(lp_ctx *ctx, lp_class klass, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
