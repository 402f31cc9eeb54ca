/*
 * libplacement — JSON codec for snapshots, cluster files, request files and
 * plans (docs/formats.md).
 *
 * Parsing is strict: the whole input must be one JSON value (trailing
 * garbage is rejected), nesting is limited to LP_JSON_MAX_DEPTH, input size to
 * LP_JSON_MAX_BYTES, types and ranges are checked (no NaN, no negative counts,
 * threads >= 1), unknown schema versions are refused, and so are unknown
 * object members unless LP_PARSE_IGNORE_UNKNOWN is given.  Errors name the
 * origin (file name), the position (line:column for syntax errors) and the
 * JSON path of the field ("cluster.json: hosts[2].cpu.threads: ...").
 * Parsing appends to the caller's cluster or request list, all or nothing.
 * The codec accepts a NULL ctx (messages dropped) except lp_plan_write_json().
 */
#ifndef LIBPLACEMENT_CODEC_H
#define LIBPLACEMENT_CODEC_H

#include "place.h"
#include "rebalance.h"

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

/** Flags of the parsers. */
enum {
    /**
     * Skip object members this library does not know instead of refusing
     * them: what a newer agent adds to a libplacement/snapshot/v1 snapshot
     * (additive fields within v1, docs/formats.md).  Known members are still
     * checked strictly, and an unknown schema is still refused.  For agent
     * snapshots (the fetcher uses it); operator files stay strict.
     */
    LP_PARSE_IGNORE_UNKNOWN = 1u << 0
};

/** Flags of the writers. */
enum {
    LP_JSON_PRETTY = 1u << 0 /**< indent the output (default: compact, one line) */
};

/**
 * Parse one snapshot (a JSON object) and append a copy of its host to c.
 * @param buf len bytes of JSON text (need not be NUL-terminated; the caller
 *        keeps it); may be NULL only when len is 0.
 * @param origin name for messages (file name, URL); may be NULL ("<input>").
 * @param flags LP_PARSE_* bits.
 * @return LP_OK; LP_EPARSE, LP_ELIMIT (message in ctx); LP_EINVAL (NULL
 *         argument, unknown flag, or the host is already in c); LP_ENOMEM.
 *         c is unchanged on failure.
 */
LP_EXPORT lp_status lp_cluster_parse_snapshot(lp_ctx *ctx, lp_cluster *c, const char *buf,
                                              size_t len, const char *origin, unsigned flags);

/**
 * Parse a cluster file {"hosts": [snapshot, ...]} and append copies of all
 * its hosts to c, in file order (all or nothing: c is unchanged on any
 * failure, running out of memory included).
 * @return as lp_cluster_parse_snapshot().
 */
LP_EXPORT lp_status lp_cluster_parse(lp_ctx *ctx, lp_cluster *c, const char *buf, size_t len,
                                     const char *origin, unsigned flags);

/**
 * Parse a request file {"requests": [request, ...]} (strictly) and append
 * copies of its requests to rs, in file order (all or nothing, like
 * lp_cluster_parse()).  Ids must be unique within the file and must not be
 * in rs already.
 * @return as lp_cluster_parse_snapshot() (LP_EINVAL: NULL rs).
 */
LP_EXPORT lp_status lp_requests_parse(lp_ctx *ctx, lp_requests *rs, const char *buf, size_t len,
                                      const char *origin);

/**
 * Write a host as snapshot JSON.
 * @param flags LP_JSON_* bits.
 * @param out receives NUL-terminated text, freed with lp_free(); untouched on
 *        failure.  @param len receives its length (may be NULL).
 * @return LP_OK, LP_EINVAL (NULL argument, unknown flag; a host, field or
 *         name the reader would refuse: the message names the host and
 *         field), LP_ENOMEM.
 */
LP_EXPORT lp_status lp_host_write_json(lp_ctx *ctx, const lp_host *h, unsigned flags, char **out,
                                       size_t *len);

/** Write a whole cluster as a cluster file. Same contract as lp_host_write_json(). */
LP_EXPORT lp_status lp_cluster_write_json(lp_ctx *ctx, const lp_cluster *c, unsigned flags,
                                          char **out, size_t *len);

/**
 * Write a plan as JSON: {"placements": [{request, instance, host, runtime,
 * class, score, terms, reason, explain}], "placed": N, "unplaced": N,
 * "refusals": [...]} where refusals list, for every unplaced instance, each
 * host's reason (needs keep_verdicts for per-host detail).  c and rs must be
 * the cluster and requests the plan was made from.  Needs ctx (it resolves
 * classes).  Same contract as lp_host_write_json(); LP_EINVAL also for a c
 * or rs that does not match the plan.
 */
LP_EXPORT lp_status lp_plan_write_json(lp_ctx *ctx, const lp_plan *p, const lp_cluster *c,
                                       const lp_requests *rs, unsigned flags, char **out,
                                       size_t *len);

/**
 * Write a rebalancing plan as JSON: {"moves": [{workload, source,
 * destination, reserved, group, explain}], "switches": [{workload, host,
 * from, to, class, confidence, held_s, explain}], "hosts": [{host, capacity,
 * demand_before, demand_after, acted_on, why}], "hosts_over_before": N,
 * "hosts_over_after": N, "optimal": bool} (docs/rebalance.md).  c must be the
 * cluster the plan was made on (hosts are named from it).  Same contract as
 * lp_host_write_json(); LP_EINVAL also when c has another number of hosts
 * than the plan.
 */
LP_EXPORT lp_status lp_rebalance_write_json(lp_ctx *ctx, const lp_rebalance *r,
                                            const lp_cluster *c, unsigned flags, char **out,
                                            size_t *len);

#ifdef __cplusplus
}
#endif
#endif
