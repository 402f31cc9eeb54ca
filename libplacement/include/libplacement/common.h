/*
 * libplacement — common definitions: status codes, the context handle, policy.
 *
 * Conventions for the whole API (libcurl/libgit2 style):
 *  - Every function that can fail returns an lp_status; LP_OK is 0.
 *  - On failure the function leaves its outputs untouched (or NULL) and
 *    stores a message naming what was wrong in the lp_ctx it was given;
 *    read it with lp_ctx_last_error().  Nothing already stored in a handle is
 *    lost on failure: operations that add data are all-or-nothing.
 *  - Handles are opaque and come in _new/_free pairs.  _free(NULL) is a no-op.
 *  - Strings passed in are copied; strings returned are owned by the handle
 *    they came from and live as long as it does, unless documented otherwise.
 *  - Functions that read the policy need a ctx and return LP_EINVAL, with no
 *    message, when it is NULL: lp_ctx_get/set, lp_classify, the runtime
 *    choice and order, lp_cluster_loads, lp_request_resolve, lp_filter_score,
 *    lp_place and lp_plan_write.  The others (model, request lists, the rest
 *    of the codec) accept a NULL ctx: they fail the same way, but the message
 *    is dropped.
 *  - There is no global mutable state.  An lp_ctx must not be used by two
 *    threads at once (give each thread its own, lp_ctx_dup()).  Data handles
 *    (lp_cluster, lp_requests) only grow by appending; once built they are
 *    not modified and can be read from many threads at once, as can an
 *    lp_plan (never modified).
 */
#ifndef LIBPLACEMENT_COMMON_H
#define LIBPLACEMENT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LP_EXPORT __attribute__((visibility("default")))
#else
#define LP_EXPORT
#endif

#define LP_VERSION_MAJOR 1
#define LP_VERSION_MINOR 0
#define LP_VERSION_PATCH 0
#define LP_VERSION_STRING "1.0.0"

/** Status codes. */
typedef enum lp_status {
    LP_OK = 0,
    LP_EINVAL = 1,      /**< an argument was invalid (NULL, out of range) */
    LP_ENOMEM = 2,      /**< out of memory */
    LP_EPARSE = 3,      /**< input text is not valid (syntax, type, range) */
    LP_ELIMIT = 4,      /**< input exceeds a size, depth or count limit */
    LP_ENOTFOUND = 5,   /**< a named thing does not exist */
    LP_EIO = 6,         /**< an I/O or system call failed */
    LP_ETIMEOUT = 7,    /**< an operation ran out of time */
    LP_EUNAVAIL = 8     /**< a facility is not available on this system */
} lp_status;

/** Short static text for a status ("invalid argument", ...); "unknown status" for values outside the enum. Never NULL. */
LP_EXPORT const char *lp_status_str(lp_status st);

/** Library version string, e.g. "1.0.0" (static; the run-time LP_VERSION_STRING). */
LP_EXPORT const char *lp_version(void);

/**
 * A context: policy (thresholds, weights, runtime preferences) and the
 * message of the last error of calls made with it.
 */
typedef struct lp_ctx lp_ctx;

/**
 * Create a context with the documented default policy (docs/policy.md).
 * @param out receives the new context; the caller frees it with lp_ctx_free().
 * @return LP_OK, LP_EINVAL if out is NULL, LP_ENOMEM.
 */
LP_EXPORT lp_status lp_ctx_new(lp_ctx **out);

/**
 * Copy a context's policy into a new context (the error message is not copied).
 * @param out receives the copy; the caller frees it with lp_ctx_free().
 * @return LP_OK, LP_EINVAL (ctx or out NULL), LP_ENOMEM.
 */
LP_EXPORT lp_status lp_ctx_dup(const lp_ctx *ctx, lp_ctx **out);

/** Free a context. NULL is allowed. */
LP_EXPORT void lp_ctx_free(lp_ctx *ctx);

/**
 * The message of the last failed call made with ctx ("" if none, or if ctx
 * is NULL).  Owned by ctx; valid until the next call that uses ctx.  A
 * successful call does not clear it: check the returned status first.
 */
LP_EXPORT const char *lp_ctx_last_error(const lp_ctx *ctx);

/** Forget the last error. NULL is allowed. */
LP_EXPORT void lp_ctx_clear_error(lp_ctx *ctx);

/**
 * Set a numeric policy parameter by name.  Names and defaults are listed in
 * docs/policy.md and by lp_policy_param_name(); examples:
 * "max_parallel_ratio" (1.0), "weight_headroom" (1.0), "weight_colocate" (1.0),
 * "weight_spread" (0.5), "cpu_busy_fraction" (0.6), ...
 * @return LP_OK; LP_ENOTFOUND for an unknown name; LP_EINVAL for a NULL ctx
 *         or name, or a value out of the parameter's range (message names the
 *         range).  The policy is unchanged on failure.
 */
LP_EXPORT lp_status lp_ctx_set(lp_ctx *ctx, const char *name, double value);

/**
 * Read a numeric policy parameter by name into *value.
 * @return LP_OK, LP_ENOTFOUND, LP_EINVAL (NULL argument).  No message is
 *         stored (ctx is const); *value is untouched on failure.
 */
LP_EXPORT lp_status lp_ctx_get(const lp_ctx *ctx, const char *name, double *value);

/**
 * Name of the i-th policy parameter (0-based), or NULL past the end, so that
 * callers can list them; lp_policy_param_help() gives its one-line help (NULL
 * past the end).  Both are static strings.
 */
LP_EXPORT const char *lp_policy_param_name(size_t i);
LP_EXPORT const char *lp_policy_param_help(size_t i);

/**
 * Release memory that the library allocated and handed to the caller
 * (e.g. JSON text from the codec).  NULL is allowed.
 */
LP_EXPORT void lp_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
