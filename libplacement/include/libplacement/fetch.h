/*
 * libplacement — the scheduler side of the agent channel: fetch the
 * snapshots (schema libplacement/snapshot/v1) of many hosts in parallel and
 * keep them in a cache while they are fresh (docs/fetch.md).
 *
 * One lp_fetcher_fetch() call runs one libcurl multi loop over all hosts
 * that have no fresh cached snapshot, at most max_parallel transfers at a
 * time, each with its own connect and total timeout and a response size cap.
 * Every response is checked (HTTP status 200, size, snapshot parse, and the
 * snapshot's age by its own time); valid snapshots are cached and appended
 * to the caller's cluster, and every host gets a result saying what
 * happened.  A host without a valid, fresh snapshot (refused, timed out, too
 * big, bad JSON, HTTP or TLS error, stale, bad name) is reported with a
 * reason: the caller falls back to the host's declared demand for it and logs
 * the reason.
 *
 * Freshness is judged by the snapshot's own time, whether it was fetched
 * now or comes from the cache: with age = now - time (the scheduler's wall
 * clock), a snapshot is used while -max_skew_s <= age <= ttl_s + max_skew_s,
 * and one without a time is never used.  Agent snapshots are parsed with
 * LP_PARSE_IGNORE_UNKNOWN: what a newer agent adds within v1 is skipped.
 *
 * Thread safety: an lp_fetcher, like an lp_ctx, must not be used by two
 * threads at once; different fetchers may run in parallel.  When libcurl
 * reports the CURL_VERSION_THREADSAFE feature (7.84 and later; Debian 12 has
 * 7.88), lp_fetcher_new() calls curl_global_init() and lp_fetcher_free()
 * curl_global_cleanup() (reference-counted, thread-safe).  With an older
 * libcurl the application must call curl_global_init() itself, once, before
 * it starts threads.  Linux only (the transfers are driven with epoll).
 */
#ifndef LIBPLACEMENT_FETCH_H
#define LIBPLACEMENT_FETCH_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest URL template and longest URL after substitution, in bytes. */
#define LP_FETCH_MAX_URL 2048
/**
 * Longest host name in bytes.  Host names come from outside (the scheduler's
 * host list), so they are checked: 1..LP_FETCH_MAX_HOST bytes of
 * [A-Za-z0-9._:-] only ("host", "host.example.org", "10.0.0.7:9180").
 * Anything else (spaces, '/', '@', '?', '#', '%', brackets) is refused, so
 * a host name can never change the URL's path, user or query.
 */
#define LP_FETCH_MAX_HOST 253
/** Length of the per-host message buffer in lp_fetch_result. */
#define LP_FETCH_MSG_LEN 512
/** Largest accepted values of the numeric options. */
#define LP_FETCH_MAX_TIMEOUT_MS 600000L
#define LP_FETCH_MAX_PARALLEL 4096u
#define LP_FETCH_MAX_SKEW_S 3600.0

#define LP_FETCH_OPTIONS_VERSION 1
/** Options of a fetcher.  Versioned (see common.h): fill it with lp_fetch_options_init() first. */
typedef struct lp_fetch_options {
    unsigned version;        /**< LP_FETCH_OPTIONS_VERSION: set by lp_fetch_options_init() */
    /**
     * URL with "{host}" where the host name goes (every occurrence is
     * replaced), e.g. "http://{host}:9180/v1/snapshot".  http:// or https://
     * only; no redirects are followed.  Required (no default).
     */
    const char *url_template;
    long timeout_ms;         /**< whole transfer of one host, 1..LP_FETCH_MAX_TIMEOUT_MS (1000) */
    long connect_timeout_ms; /**< TCP (+TLS) connect of one host, 1..timeout_ms (300) */
    size_t max_bytes;        /**< largest accepted body, 1..LP_JSON_MAX_BYTES (1 MiB) */
    double ttl_s;            /**< oldest snapshot used, by its own time, in s: >= 0 (60);
                                  keep it above the agents' sweep interval */
    const char *token;       /**< bearer token sent as "Authorization: Bearer ..", or NULL */
    unsigned max_parallel;   /**< transfers running at once, 1..LP_FETCH_MAX_PARALLEL (64) */
    const char *ca_file;     /**< PEM bundle of the CAs that https agents' certificates must
                                  chain to, or NULL for the system's (NULL) */
    double max_skew_s;       /**< clock difference allowed between agents and scheduler, in s:
                                  0..LP_FETCH_MAX_SKEW_S (5) */
    double refresh_s;        /**< a cached snapshot is reused, without asking its agent,
                                  while its age by its own time is at most this; older
                                  (but fresh) ones are fetched again: 0..ttl_s, 0 = ttl_s
                                  (reuse while fresh) (0) */
} lp_fetch_options;

/**
 * Fill o with the defaults shown above for the given version
 * (LP_FETCH_OPTIONS_VERSION); url_template, token and ca_file NULL.
 * @return LP_OK; LP_EINVAL for a NULL o or an unknown version (o untouched).
 */
LP_EXPORT lp_status lp_fetch_options_init(lp_fetch_options *o, unsigned version);

/** What happened to one host in lp_fetcher_fetch() (a fixed-layout struct, see common.h). */
typedef struct lp_fetch_result {
    /**
     * LP_OK: a valid snapshot was appended to the cluster (fetched now, or
     * from the cache when from_cache is set).  Otherwise the host has no
     * snapshot and message says why:
     *   LP_EINVAL   the host name is refused (characters, length, duplicate)
     *   LP_ETIMEOUT connect or transfer timeout
     *   LP_ELIMIT   the response is larger than max_bytes
     *   LP_EIO      connection or TLS failed, or the HTTP status is not 200
     *   LP_EPARSE   the body is not a valid snapshot
     *   LP_ESTALE   the snapshot is too old or too far in the future by its
     *               own time, or has none (whatever the HTTP status)
     *   LP_ENOMEM   out of memory for this host
     */
    lp_status status;
    long http_code;        /**< HTTP status received, 0 if none */
    int from_cache;        /**< 1 if the snapshot came from the cache (no I/O) */
    double elapsed_ms;     /**< time of this host's transfer, 0 from the cache */
    double age_s;          /**< age of the snapshot used, by its own time (s); -1 when none */
    char message[LP_FETCH_MSG_LEN]; /**< "" on success; else the reason, naming the host */
} lp_fetch_result;

/**
 * A fetcher: options, the cache and a libcurl multi handle, which keeps up to
 * 4 x max_parallel idle connections open between calls.
 */
typedef struct lp_fetcher lp_fetcher;

/**
 * Create a fetcher.  The options are checked and copied.
 * @param out receives the fetcher; free it with lp_fetcher_free().
 * @return LP_OK; LP_EINVAL (NULL argument, options of an unknown version,
 *         missing or bad URL template, an option out of range: the message
 *         names it); LP_ELIMIT (template
 *         longer than LP_FETCH_MAX_URL); LP_EUNAVAIL (libcurl could not be
 *         initialised); LP_ENOMEM.
 */
LP_EXPORT lp_status lp_fetcher_new(lp_ctx *ctx, const lp_fetch_options *opts, lp_fetcher **out);

/** Free a fetcher, its cache and its connections.  NULL is allowed. */
LP_EXPORT void lp_fetcher_free(lp_fetcher *f);

/**
 * Get a snapshot for each of hosts[0..n-1] and append every valid one to
 * into (named as in hosts[], whatever name the agent gives itself).
 * Hosts with a fresh cached snapshot are taken from the cache; the others
 * are fetched, all in one parallel run, and the cache is updated with every
 * valid, fresh snapshot received (a stale cached one is dropped).
 * The call returns after at most about ceil(fetched / max_parallel) x
 * timeout_ms, however the agents behave.
 *
 * @param results n entries filled with each host's outcome (required).
 * @param n_ok    receives the number of hosts appended to into (may be NULL).
 * @return LP_OK when the run completed, even if some hosts failed (see
 *         results); LP_EINVAL for NULL arguments or n > LP_MAX_HOSTS;
 *         LP_ENOMEM or LP_EIO (libcurl multi failure) if the run itself
 *         failed, in which case into is unchanged.
 */
LP_EXPORT lp_status lp_fetcher_fetch(lp_ctx *ctx, lp_fetcher *f, const char *const *hosts,
                                     size_t n, lp_cluster *into, lp_fetch_result *results,
                                     size_t *n_ok);

/**
 * Append host's cached snapshot to into, without any I/O.
 * @param age_s receives the snapshot's age by its own time, in seconds (may
 *        be NULL).
 * @return LP_OK; LP_ENOTFOUND if there is no cached snapshot or it is not
 *         fresh any more (the message gives its age); LP_EINVAL (NULL
 *         argument; a host already in into); LP_ENOMEM.
 */
LP_EXPORT lp_status lp_fetcher_get_cached(lp_ctx *ctx, lp_fetcher *f, const char *host,
                                          lp_cluster *into, double *age_s);

/**
 * Check a host name against the rules of LP_FETCH_MAX_HOST.  ctx may be NULL.
 * @return LP_OK, or LP_EINVAL with a message naming the bad character and its position.
 */
LP_EXPORT lp_status lp_host_name_check(lp_ctx *ctx, const char *name);

#ifdef __cplusplus
}
#endif
#endif
