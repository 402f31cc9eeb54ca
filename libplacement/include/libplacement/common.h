/*
 * libplacement — common definitions: status codes, the context handle and
 * its error message.  docs/api.md states the conventions of the whole API;
 * in short:
 *
 *  - Errors: every function that can fail returns an lp_status (LP_OK is 0)
 *    and takes the lp_ctx as its first parameter.  On failure it stores a
 *    message naming what was wrong, and where, in the ctx (read it with
 *    lp_ctx_last_error()) and leaves its outputs untouched; operations that
 *    add data are all-or-nothing.  Functions that need the policy (marked
 *    "needs ctx") return LP_EINVAL for a NULL ctx, with no message; the
 *    others accept a NULL ctx and drop the message.  No function signals an
 *    error with -1 or NULL.  What cannot fail (name tables, accessors by
 *    index that return NULL past the end, _free) returns its value directly.
 *  - Ownership: handles are opaque and come in _new/_free pairs; _free(NULL)
 *    is a no-op.  Strings and structs passed in are copied; what a handle
 *    returns is borrowed from it and lives as long as it does, unless
 *    documented otherwise; text the library allocates for the caller is
 *    released with lp_free().
 *  - Threads: there is no global mutable state.  An lp_ctx must not be used
 *    by two threads at once (give each thread its own, lp_ctx_dup()).  Data
 *    handles (lp_cluster, lp_requests) only grow by appending; once built
 *    they can be read from many threads at once, as can an lp_plan.
 *  - Names: lp_<noun>_<verb>; parameters are ctx, inputs, then outputs.
 *  - Versions: a struct that the caller allocates and the library reads
 *    (lp_host, lp_workload, lp_request, lp_place_options, lp_fetch_options,
 *    lp_collect_options) has `unsigned version` as its first member, set by
 *    lp_<name>_init(x, LP_<NAME>_VERSION) together with the defaults; every
 *    function that reads one refuses a version it does not know (LP_EINVAL).
 *    Later versions only append members.  Fixed-layout structs, written or
 *    read in arrays on the hot path, carry no version and are frozen for
 *    SONAME 1 (new data comes in new structs and functions): lp_host_load,
 *    lp_verdict, lp_assignment, lp_classification, lp_fetch_result,
 *    lp_counters, lp_host_counters, lp_workload_extra.
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
    LP_ELIMIT = 4,      /**< a size, depth or count limit was hit (input too big, buffer too small) */
    LP_ENOTFOUND = 5,   /**< a named thing does not exist */
    LP_EIO = 6,         /**< an I/O or system call failed */
    LP_ETIMEOUT = 7,    /**< an operation ran out of time */
    LP_EUNAVAIL = 8,    /**< a facility is not available on this system */
    LP_ESTALE = 9       /**< data is too old (or from the future) to be used */
} lp_status;

/** Short static text for a status ("invalid argument", ...); "unknown status" for values outside the enum. Never NULL. */
LP_EXPORT const char *lp_status_str(lp_status st);

/** Library version string, e.g. "1.0.0" (static; the run-time LP_VERSION_STRING). */
LP_EXPORT const char *lp_version(void);

/**
 * A context: policy (thresholds, weights, runtime preferences, policy.h) and
 * the message of the last error of calls made with it.
 */
typedef struct lp_ctx lp_ctx;

/**
 * Create a context with the documented default policy (docs/policy.md).
 * @param out receives the new context; the caller frees it with lp_ctx_free().
 * @return LP_OK, LP_EINVAL if out is NULL, LP_ENOMEM (no ctx to hold a
 *         message yet).
 */
LP_EXPORT lp_status lp_ctx_new(lp_ctx **out);

/**
 * Copy a context's policy into a new context (the error message is not copied).
 * @param out receives the copy; the caller frees it with lp_ctx_free().
 * @return LP_OK, LP_EINVAL (NULL ctx: no message; NULL out), LP_ENOMEM.
 */
LP_EXPORT lp_status lp_ctx_dup(lp_ctx *ctx, lp_ctx **out);

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

#if defined(__GNUC__)
#define LP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LP_PRINTF(fmt, args)
#endif

/**
 * Store a printf-formatted message as ctx's last error (truncated to 511
 * bytes) and return st, for plug-ins such as collectors that report errors
 * the library's way: `return lp_ctx_set_error(ctx, LP_EIO, "%s: %s", path,
 * strerror(errno));`.  A NULL ctx or fmt stores nothing.
 * @return st, unchanged.
 */
LP_EXPORT lp_status lp_ctx_set_error(lp_ctx *ctx, lp_status st, const char *fmt, ...)
    LP_PRINTF(3, 4);

/**
 * Release memory that the library allocated and handed to the caller
 * (e.g. JSON text from the codec).  NULL is allowed.
 */
LP_EXPORT void lp_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
