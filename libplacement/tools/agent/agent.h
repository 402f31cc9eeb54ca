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
    double window;          /* --once: seconds between its two sweeps */
    int once, pretty;
    char host_name[256];    /* "" = kernel host name */
    char token_file[512];   /* "" = /v1/snapshot open */
    char collectors[256];   /* comma-separated names */
    char runtimes[64];      /* runtimes offered; "" = from the collectors that are up */
    char libvirt_uri[256];
    char docker_socket[256];
    char cgroup_hierarchy[32];
    int include_root_cgroup;
    unsigned max_connections, per_ip_connections, connection_timeout;
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
    char *snapshot, *metrics;
    size_t snapshot_len, metrics_len;
    double last_ok;         /* monotonic seconds of the last good sweep, 0 = none */
    double max_age;         /* /healthz fails when the last good sweep is older */
    char token[256];        /* "" = no token needed */
} published;

struct MHD_Daemon;
/* Start/stop the HTTP server. */
struct MHD_Daemon *agent_http_start(const agent_config *c, published *p);
void agent_http_stop(struct MHD_Daemon *d);

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

#endif
