/* libplacement-agent: shared definitions of the daemon's parts. */
#ifndef LP_AGENT_H
#define LP_AGENT_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

#include "libplacement.h"
#include "libplacement/collect.h"

#define AGENT_MAX_COLLECTORS 8

/* Everything that flags and the config file can set (docs/agent.md). */
typedef struct agent_config {
    char listen[64];        /* bind address */
    unsigned port;
    double interval;        /* seconds between sweeps */
    double max_sweep_age;   /* seconds after the last good sweep when the snapshot is
                               stale; 0 = 3 x interval + 5 */
    double window;          /* --once: seconds between its two sweeps */
    int once, pretty;
    char host_name[256];    /* "" = kernel host name */
    char token_file[512];   /* "" = /v1/snapshot open */
    int metrics_public;     /* /metrics open even with a token */
    char tls_cert[512], tls_key[512]; /* "" = plain HTTP */
    char tls_client_ca[512];          /* "" = no client certificates asked */
    char collectors[256];   /* comma-separated names */
    char runtimes[64];      /* runtimes offered; "" = from the collectors that are up */
    char cpus[256];         /* CPUs available to workloads; "" = from nova_conf or affinity */
    char nova_conf[512];    /* "" = /etc/nova/nova.conf when it exists */
    char libvirt_uri[256];
    char docker_socket[256];
    char docker_runtimes[1024];
    char cgroup_hierarchy[32];
    int include_root_cgroup;
    unsigned max_connections, per_ip_connections, connection_timeout;
    unsigned request_timeout; /* seconds for a whole request, from connecting or the last answer; 0 = none */
    int log_level;          /* 0 error, 1 warning, 2 info, 3 debug */
} agent_config;

/* Defaults. */
void agent_config_init(agent_config *c);
/* Parse argv (after reading --config FILE if given). Returns 0 to run, 1 when
 * --help/--version was printed, -1 on error (message printed). */
int agent_config_parse(agent_config *c, int argc, char **argv);

enum { LOG_ERR_ = 0, LOG_WARN_ = 1, LOG_INFO_ = 2, LOG_DEBUG_ = 3 };
/* Log one line to stderr (with a journald priority prefix under systemd). */
void agent_log(const agent_config *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for a thread that holds the log level, not the config: lines above max_level are dropped. */
void agent_vlog(int max_level, int level, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* A growable NUL-terminated text buffer. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(sbuf *b);

/* What the HTTP side serves: the latest texts, swapped in under the lock. */
typedef struct published {
    pthread_mutex_t lock;
    char *snapshot, *metrics; /* snapshot: NULL until a window with rates */
    size_t snapshot_len, metrics_len;
    double started;         /* monotonic seconds when the agent started */
    double first_due;       /* monotonic seconds when the first window should end */
    double last_ok;         /* monotonic seconds of the last good sweep, 0 = none */
    double last_ok_wall;    /* its wall-clock time (the snapshot's time) */
    double max_age;         /* the snapshot is stale when the last good sweep is older */
    double interval;
} published;

/* Is the published snapshot servable at monotonic time now?  FRESH, or
 * STARTING (no window with rates yet) or STALE (no good sweep for
 * max_age), with a one-line reason for operators in why and the seconds a
 * client should wait in *retry_after.  The caller holds p->lock. */
enum { AGENT_FRESH = 0, AGENT_STARTING = 1, AGENT_STALE = 2 };
int agent_freshness(const published *p, double now, char *why, size_t len, unsigned *retry_after);

/* Secret files (auth.c): a regular file of at most max bytes, owned by root or
 * the agent's user, with no access for group or others (like ssh's keys).
 * On success *buf is a malloc()ed copy, NUL-terminated after its *len bytes,
 * to be released with agent_secret_free(), which wipes it. On failure returns
 * -1 with a message naming what and path in err. */
int agent_secret_read(const char *what, const char *path, size_t max, char **buf, size_t *len, char *err,
                      size_t errlen);
void agent_secret_free(char *buf, size_t len);

/* A bearer token, kept only as its SHA-256. */
#define AGENT_TOKEN_MAX 4096
typedef struct agent_token {
    int set;                /* 0 = no token needed */
    unsigned char sha256[32];
} agent_token;
/* Read the token from a secret file: one line of token68 (RFC 7235), at most
 * AGENT_TOKEN_MAX bytes, one line end stripped; anything else is refused.
 * Returns 0, or -1 with a message in err (t untouched). */
int agent_token_load(const char *path, agent_token *t, char *err, size_t errlen);
/* 1 when the Authorization header value (len bytes, NULL = absent) is
 * "Bearer <token>" (scheme in any case) and nothing else, or when no token is
 * set; compared in constant time. */
int agent_token_check(const agent_token *t, const char *value, size_t len);

/* TLS files as PEM texts, NUL-terminated (tls.c). */
typedef struct agent_tls {
    char *cert, *key, *client_ca; /* NULL = not configured */
    size_t key_len;
} agent_tls;
/* Read and check --tls-cert/--tls-key/--tls-client-ca: certificates parse,
 * the key is the certificate's. Nothing to do without --tls-cert. Returns 0,
 * or -1 with a message in err. */
int agent_tls_load(const agent_config *c, agent_tls *t, char *err, size_t errlen);
void agent_tls_free(agent_tls *t);
/* 1 when the gnutls session's client sent a certificate that the trust list
 * (--tls-client-ca) verifies. */
int agent_tls_peer_verified(void *gnutls_session);

/* The HTTP server (http.c). Start: NULL on failure (logged). Reload: the
 * settings that can change while it runs (token, /metrics access, log level,
 * request timeout). Stop: closes every connection, then frees. */
typedef struct agent_http agent_http;
agent_http *agent_http_start(const agent_config *c, published *p, const agent_token *t, const agent_tls *tls);
void agent_http_reload(agent_http *h, const agent_config *c, const agent_token *t);
void agent_http_stop(agent_http *h);

/* Collector state for one sweep to /metrics text. */
typedef struct collector_slot {
    const lp_collector_ops *ops;
    void *state;
    int up;
    char why[256];          /* reason when down */
} collector_slot;

typedef struct sweep_stats {
    double seconds;         /* duration of the last sweep */
    double total_seconds;   /* of all sweeps */
    double cpu_seconds;     /* CPU time of all sweeps (wall time includes waiting for a CPU) */
    unsigned long sweeps, errors;
} sweep_stats;

/* Prometheus text exposition of a host and its workloads. */
void agent_metrics(sbuf *b, const lp_host *h, const lp_sampler *s, const collector_slot *slots,
                   size_t nslots, const sweep_stats *st);
/* The gauges that depend on when they are read (readiness, age of the last
 * good sweep), appended to the published text at each scrape.  The caller
 * holds p->lock. */
void agent_metrics_freshness(sbuf *b, const published *p, double now);

/* The CPUs available to workloads as a CPU list in out (docs/agent.md, "CPU
 * set"): --cpus, else Nova's [compute] cpu_shared_set and cpu_dedicated_set
 * (or [DEFAULT] vcpu_pin_set) from --nova-conf, else the agent's CPU
 * affinity; from names the source.  Returns 0, or -1 with the error logged. */
int agent_workload_cpus(const agent_config *c, char *out, size_t len, char *from, size_t flen);

#endif
