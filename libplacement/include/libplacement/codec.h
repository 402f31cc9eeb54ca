/*
 * libplacement — JSON codec for snapshots, cluster files, request files and
 * plans (docs/formats.md).
 *
 * Parsing is strict: the whole input must be one JSON value (trailing
 * garbage is rejected), nesting is limited to LP_JSON_MAX_DEPTH, input size to
 * LP_JSON_MAX_BYTES, types and ranges are checked (no NaN, no negative counts,
 * threads >= 1), unknown schema versions are refused.  Errors name the
 * origin (file name), the position (line:column for syntax errors) and the
 * JSON path of the field ("cluster.json: hosts[2].cpu.threads: ...").
 */
#ifndef LIBPLACEMENT_CODEC_H
#define LIBPLACEMENT_CODEC_H

#include "place.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_SNAPSHOT_SCHEMA "libplacement/snapshot/v1"
#define LP_JSON_MAX_DEPTH 16
#define LP_JSON_MAX_BYTES (64u * 1024u * 1024u)
#define LP_MAX_HOSTS 1000000u
#define LP_MAX_WORKLOADS 100000u
#define LP_MAX_REQUESTS 100000u
#define LP_MAX_COUNT 100000u

/**
 * Parse one snapshot (a JSON object) and append a copy of its host to c.
 * @param buf len bytes of JSON text (need not be NUL-terminated; the caller
 *        keeps it); may be NULL only when len is 0.
 * @param origin name for messages (file name, URL); may be NULL ("<input>").
 * @return LP_OK; LP_EPARSE, LP_ELIMIT (message in ctx); LP_EINVAL (NULL
 *         argument, or the host is already in c); LP_ENOMEM.
 *         c is unchanged on failure.
 */
LP_EXPORT lp_status lp_snapshot_parse(lp_ctx *ctx, lp_cluster *c, const char *buf, size_t len,
                                      const char *origin);

/**
 * Parse a cluster file {"hosts": [snapshot, ...]} and append copies of all
 * its hosts to c, in file order (all or nothing: c is unchanged on any
 * failure, running out of memory included).  @return as lp_snapshot_parse().
 */
LP_EXPORT lp_status lp_cluster_parse(lp_ctx *ctx, lp_cluster *c, const char *buf, size_t len,
                                     const char *origin);

/**
 * Parse a request file {"requests": [request, ...]} into a new list.
 * @param out receives the list (the caller frees it with lp_requests_free());
 *        untouched on failure.
 * @return as lp_snapshot_parse() (LP_EINVAL: NULL out).
 */
LP_EXPORT lp_status lp_requests_parse(lp_ctx *ctx, const char *buf, size_t len,
                                      const char *origin, lp_requests **out);

/**
 * Write a host as snapshot JSON (compact unless pretty).
 * @param out receives NUL-terminated text, freed with lp_free(); untouched on
 *        failure.  @param len receives its length (may be NULL).
 * @return LP_OK, LP_EINVAL (NULL argument; a host, field or name the reader
 *         would refuse: the message names the host and field), LP_ENOMEM.
 */
LP_EXPORT lp_status lp_snapshot_write(lp_ctx *ctx, const lp_host *h, int pretty, char **out,
                                      size_t *len);

/** Write a whole cluster as a cluster file. Same contract as lp_snapshot_write(). */
LP_EXPORT lp_status lp_cluster_write(lp_ctx *ctx, const lp_cluster *c, int pretty, char **out,
                                     size_t *len);

/**
 * Write a plan as JSON: {"placements": [{request, instance, host, runtime,
 * class, score, terms, reason, explain}], "placed": N, "unplaced": N,
 * "refusals": [...]} where
 * refusals list, for every unplaced instance, each host's reason (needs
 * LP_PLACE_KEEP_VERDICTS for per-host detail).  c and rs must be the cluster
 * and requests the plan was made from; ctx is needed (it resolves classes).
 * Same contract as above; LP_EINVAL also for a NULL ctx (no message) and for
 * a c or rs that does not match the plan.
 */
LP_EXPORT lp_status lp_plan_write(lp_ctx *ctx, const lp_plan *p, const lp_cluster *c,
                                  const lp_requests *rs, int pretty, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
