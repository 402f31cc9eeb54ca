/*
 * libplacement-agent: samples this host's workloads every interval and
 * serves the result over HTTP (docs/agent.md).
 *
 * Threads: the main thread samples and waits for signals (sigtimedwait, so
 * SIGTERM and SIGHUP are handled synchronously between sweeps); the HTTP
 * side's threads serve the texts the main thread publishes under a mutex.
 * The snapshot is published once the first window (--window, then every
 * --interval) has rates; /v1/snapshot refuses it once sweeps have stopped
 * (freshness.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "agent.h"

typedef struct agent {
    agent_config cfg;
    int argc;               /* read again on SIGHUP */
    char **argv;
    agent_token token;
    agent_tls tls;
    lp_ctx *ctx;
    lp_sampler *sampler;
    collector_slot slots[AGENT_MAX_COLLECTORS];
    size_t nslots;
    lp_collect_options ccfg;
    lp_sample sample;
    char host_name[256];
    char cpus[1024];        /* CPUs available to workloads */
    lp_host host;
    sweep_stats stats;
} agent;

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static double wall_s(void) { return (double)clock_ns(CLOCK_REALTIME) / 1e9; }

/* Open the configured collectors; those that are unavailable stay as "down". */
static int open_collectors(agent *a)
{
    char list[sizeof a->cfg.collectors];
    snprintf(list, sizeof list, "%s", a->cfg.collectors);
    char *save = NULL;
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        while (*name == ' ')
            name++;
        const lp_collector_ops *ops;
        if (lp_collector_find(NULL, name, &ops) != LP_OK) {
            static const char *const known[] = {"proc", "libvirt", "docker", "libxl"};
            int k = 0;
            for (int i = 0; i < 4; i++)
                k |= !strcmp(name, known[i]);
            if (!k) {
                agent_log(&a->cfg, LOG_ERR_, "collectors: unknown collector \"%s\" (proc, libvirt, docker, libxl)",
                          name);
                return -1;
            }
            agent_log(&a->cfg, LOG_WARN_, "collector %s: not built into this agent (its development "
                                          "package was missing at build time)", name);
            continue;
        }
        int dup = 0;
        for (size_t i = 0; i < a->nslots; i++)
            dup |= a->slots[i].ops == ops;
        if (dup || a->nslots == AGENT_MAX_COLLECTORS)
            continue;
        collector_slot *sl = &a->slots[a->nslots++];
        sl->ops = ops;
        lp_status st = ops->open(a->ctx, &a->ccfg, &sl->state);
        sl->up = st == LP_OK;
        if (st == LP_EINVAL) { /* a bad option: the operator must fix it */
            agent_log(&a->cfg, LOG_ERR_, "collector %s: %s", ops->name, lp_ctx_last_error(a->ctx));
            return -1;
        }
        if (!sl->up) {
            snprintf(sl->why, sizeof sl->why, "%s", lp_ctx_last_error(a->ctx));
            agent_log(&a->cfg, st == LP_EUNAVAIL ? LOG_INFO_ : LOG_WARN_, "collector %s unavailable: %s",
                      ops->name, sl->why);
        } else {
            agent_log(&a->cfg, LOG_INFO_, "collector %s: up", ops->name);
        }
    }
    return 0;
}

/* Runtimes a libvirt URI's driver starts, as Nova's [libplacement]
 * hypervisor_runtimes maps hypervisor types: LXC containers, else VMs, which
 * can boot unikernel images too. */
static unsigned libvirt_runtimes(const char *uri)
{
    const char *u = uri && uri[0] ? uri : "qemu:///system";
    return strncmp(u, "lxc", 3) == 0 ? LP_RUNTIME_CONTAINER : LP_RUNTIME_VM | LP_RUNTIME_UNIKERNEL;
}

static unsigned offered_runtimes(const agent *a)
{
    unsigned r = 0;
    if (a->cfg.runtimes[0]) {
        char list[sizeof a->cfg.runtimes];
        snprintf(list, sizeof list, "%s", a->cfg.runtimes);
        char *save = NULL;
        for (char *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
            lp_runtime rt;
            if (lp_runtime_parse(NULL, n, &rt) == LP_OK)
                r |= rt;
        }
        return r;
    }
    for (size_t i = 0; i < a->nslots; i++) {
        if (!a->slots[i].up)
            continue;
        if (!strcmp(a->slots[i].ops->name, "libvirt"))
            r |= libvirt_runtimes(a->cfg.libvirt_uri);
        if (!strcmp(a->slots[i].ops->name, "libxl"))
            r |= LP_RUNTIME_VM | LP_RUNTIME_UNIKERNEL;
        if (!strcmp(a->slots[i].ops->name, "docker"))
            r |= LP_RUNTIME_CONTAINER;
    }
    return r;
}

/* One sweep: every collector, then the sampler. */
static int sweep(agent *a)
{
    int64_t t0 = mono_ns(), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    lp_host_counters hc;
    a->sample.n = 0;
    if (lp_host_counters_read(a->ctx, NULL, &hc) != LP_OK) {
        agent_log(&a->cfg, LOG_ERR_, "host counters: %s", lp_ctx_last_error(a->ctx));
        a->stats.errors++;
        return -1;
    }
    for (size_t i = 0; i < a->nslots; i++) {
        collector_slot *sl = &a->slots[i];
        if (!sl->up)
            continue;
        if (sl->ops->sample(a->ctx, sl->state, &a->sample) != LP_OK) {
            a->stats.errors++;
            agent_log(&a->cfg, LOG_WARN_, "collector %s: %s", sl->ops->name, lp_ctx_last_error(a->ctx));
        }
    }
    /* the snapshot's time is this sweep's */
    if (lp_sampler_feed(a->ctx, a->sampler, mono_ns(), wall_s(), &hc, &a->sample) != LP_OK ||
        lp_sampler_fill_host(a->ctx, a->sampler, &a->host) != LP_OK) {
        agent_log(&a->cfg, LOG_ERR_, "sampler: %s", lp_ctx_last_error(a->ctx));
        a->stats.errors++;
        return -1;
    }
    a->host.runtimes = offered_runtimes(a);
    a->stats.sweeps++;
    a->stats.seconds = (double)(mono_ns() - t0) / 1e9;
    a->stats.total_seconds += a->stats.seconds;
    a->stats.cpu_seconds += (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e9;
    agent_log(&a->cfg, LOG_DEBUG_, "sweep %lu: %zu workloads in %.3f ms", a->stats.sweeps, a->host.n_workloads,
              a->stats.seconds * 1e3);
    return 0;
}

/* Build the texts and swap them into what the HTTP side serves: the
 * metrics after every sweep, the snapshot once it has a window with rates. */
static void publish(agent *a, published *p)
{
    char *json = NULL;
    size_t jlen = 0;
    if (lp_sampler_ready(a->sampler) && lp_host_write_json(a->ctx, &a->host, 0, &json, &jlen) != LP_OK) {
        agent_log(&a->cfg, LOG_ERR_, "snapshot: %s", lp_ctx_last_error(a->ctx));
        a->stats.errors++;
        return;
    }
    sbuf m = {0};
    agent_metrics(&m, &a->host, a->sampler, a->slots, a->nslots, &a->stats);
    if (m.oom) {
        lp_free(json);
        sb_free(&m);
        agent_log(&a->cfg, LOG_ERR_, "metrics: out of memory");
        return;
    }
    pthread_mutex_lock(&p->lock);
    char *old_json = p->snapshot, *old_m = p->metrics;
    p->snapshot = json;
    p->snapshot_len = jlen;
    p->metrics = m.s;
    p->metrics_len = m.len;
    p->last_ok = (double)mono_ns() / 1e9;
    p->last_ok_wall = a->host.time;
    pthread_mutex_unlock(&p->lock);
    lp_free(old_json);
    free(old_m);
}

static int is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* The token and TLS files, checked before anything starts (docs/agent.md,
 * "Exposing the agent"). */
static int load_secrets(agent *a)
{
    char err[1024];
    if ((a->cfg.token_file[0] && agent_token_load(a->cfg.token_file, &a->token, err, sizeof err) < 0) ||
        agent_tls_load(&a->cfg, &a->tls, err, sizeof err) < 0) {
        agent_log(&a->cfg, LOG_ERR_, "%s", err);
        return -1;
    }
    if (!is_loopback(a->cfg.listen) && !a->token.set)
        agent_log(&a->cfg, LOG_WARN_, "listening on %s without token-file: whoever reaches port %u reads "
                  "the instances and containers of this host", a->cfg.listen, a->cfg.port);
    else if (!is_loopback(a->cfg.listen) && !a->tls.cert)
        agent_log(&a->cfg, LOG_WARN_, "listening on %s without tls-cert: the bearer token crosses the "
                  "network in clear", a->cfg.listen);
    return 0;
}

/* SIGHUP: read the options and the token file again. The token, /metrics
 * access, log level, interval and request timeout change now; the rest needs
 * a restart, and a change to it is reported and ignored. A configuration
 * that does not parse, or a token file that is refused, changes nothing. */
/* Seconds after the last good sweep when the snapshot is stale. */
static double max_sweep_age(const agent_config *c)
{
    return c->max_sweep_age > 0 ? c->max_sweep_age : 3 * c->interval + 5;
}

static void reload(agent *a, published *pub, agent_http *h, int64_t *next_sweep)
{
    static const struct {
        const char *name;
        size_t off, size;
        int is_string;
    } restart_only[] = {
#define OPT(name, field, str) {name, offsetof(agent_config, field), sizeof((agent_config *)0)->field, str}
        OPT("listen", listen, 1), OPT("port", port, 0), OPT("host-name", host_name, 1),
        OPT("collectors", collectors, 1), OPT("runtimes", runtimes, 1), OPT("libvirt-uri", libvirt_uri, 1),
        OPT("docker-socket", docker_socket, 1), OPT("docker-runtimes", docker_runtimes, 1),
        OPT("cgroup-hierarchy", cgroup_hierarchy, 1),
        OPT("include-root-cgroup", include_root_cgroup, 0), OPT("max-connections", max_connections, 0),
        OPT("per-ip-connections", per_ip_connections, 0), OPT("connection-timeout", connection_timeout, 0),
        OPT("tls-cert", tls_cert, 1), OPT("tls-key", tls_key, 1), OPT("tls-client-ca", tls_client_ca, 1),
        OPT("cpus", cpus, 1), OPT("nova-conf", nova_conf, 1),
#undef OPT
    };
    agent_config nc;
    agent_token t = {0};
    char err[1024];
    agent_config_init(&nc);
    if (agent_config_parse(&nc, a->argc, a->argv) != 0) {
        agent_log(&a->cfg, LOG_ERR_, "SIGHUP: the configuration is refused (see above); nothing changed");
        return;
    }
    if (nc.token_file[0] && agent_token_load(nc.token_file, &t, err, sizeof err) < 0) {
        agent_log(&a->cfg, LOG_ERR_, "SIGHUP: %s; nothing changed", err);
        return;
    }
    for (size_t i = 0; i < sizeof restart_only / sizeof restart_only[0]; i++) {
        const char *was = (const char *)&a->cfg + restart_only[i].off;
        const char *now = (const char *)&nc + restart_only[i].off;
        if (restart_only[i].is_string ? strcmp(was, now) != 0 : memcmp(was, now, restart_only[i].size) != 0)
            agent_log(&a->cfg, LOG_WARN_, "SIGHUP: %s changed: takes effect at the next restart",
                      restart_only[i].name);
    }
    memcpy(a->cfg.token_file, nc.token_file, sizeof nc.token_file);
    a->cfg.metrics_public = nc.metrics_public;
    a->cfg.request_timeout = nc.request_timeout;
    a->cfg.log_level = nc.log_level;
    a->cfg.interval = nc.interval;
    a->cfg.max_sweep_age = nc.max_sweep_age;
    a->token = t;
    agent_http_reload(h, &a->cfg, &a->token);
    pthread_mutex_lock(&pub->lock);
    pub->max_age = max_sweep_age(&a->cfg);
    pub->interval = a->cfg.interval;
    pthread_mutex_unlock(&pub->lock);
    int64_t sooner = mono_ns() + (int64_t)(a->cfg.interval * 1e9);
    if (sooner < *next_sweep)
        *next_sweep = sooner;
    agent_log(&a->cfg, LOG_INFO_, "SIGHUP: reloaded: %s, interval %.3g s, request timeout %u s",
              t.set ? "token read again" : "no token", a->cfg.interval, a->cfg.request_timeout);
}

static void close_all(agent *a)
{
    for (size_t i = 0; i < a->nslots; i++)
        if (a->slots[i].up)
            a->slots[i].ops->close(a->slots[i].state);
    lp_sample_clear(&a->sample);
    lp_sampler_free(a->sampler);
    lp_ctx_free(a->ctx);
    agent_tls_free(&a->tls);
}

static int run_once(agent *a)
{
    struct timespec ts = {(time_t)a->cfg.window, (long)(fmod(a->cfg.window, 1.0) * 1e9)};
    if (sweep(a) < 0)
        return 1;
    nanosleep(&ts, NULL);
    if (sweep(a) < 0)
        return 1;
    char *json = NULL;
    if (lp_host_write_json(a->ctx, &a->host, a->cfg.pretty ? LP_JSON_PRETTY : 0, &json, NULL) != LP_OK) {
        agent_log(&a->cfg, LOG_ERR_, "snapshot: %s", lp_ctx_last_error(a->ctx));
        return 1;
    }
    fputs(json, stdout);
    fputc('\n', stdout);
    lp_free(json);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int run_daemon(agent *a)
{
    published pub;
    memset(&pub, 0, sizeof pub);
    pthread_mutex_init(&pub.lock, NULL);
    pub.max_age = max_sweep_age(&a->cfg);
    pub.interval = a->cfg.interval;
    /* the first window is --window long (short: ready soon), then --interval */
    double first = a->cfg.window < a->cfg.interval ? a->cfg.window : a->cfg.interval;
    pub.started = (double)mono_ns() / 1e9;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before the HTTP thread starts so that only sigtimedwait sees them. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (sweep(a) == 0)
        publish(a, &pub);
    pub.first_due = (double)mono_ns() / 1e9 + first;
    agent_http *h = agent_http_start(&a->cfg, &pub, &a->token, &a->tls);
    if (!h) {
        lp_free(pub.snapshot);
        free(pub.metrics);
        pthread_mutex_destroy(&pub.lock);
        return 1;
    }
    agent_log(&a->cfg, LOG_INFO_, "serving on %s port %u, sweep every %.3g s", a->cfg.listen, a->cfg.port,
              a->cfg.interval);
    int64_t next = (int64_t)(pub.first_due * 1e9);
    int rc = 0;
    for (;;) {
        int64_t left = next - mono_ns();
        if (left < 0)
            left = 0;
        struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            agent_log(&a->cfg, LOG_INFO_, "signal %d: stopping", sig);
            break;
        }
        if (sig == SIGHUP) {
            reload(a, &pub, h, &next);
            continue;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            agent_log(&a->cfg, LOG_ERR_, "sigtimedwait: %s", strerror(errno));
            rc = 1;
            break;
        }
        if (mono_ns() < next)
            continue;
        next += (int64_t)(a->cfg.interval * 1e9);
        if (next < mono_ns()) /* a sweep overran: do not try to catch up */
            next = mono_ns() + (int64_t)(a->cfg.interval * 1e9);
        if (sweep(a) == 0)
            publish(a, &pub);
    }
    agent_http_stop(h);
    lp_free(pub.snapshot);
    free(pub.metrics);
    pthread_mutex_destroy(&pub.lock);
    return rc;
}

int main(int argc, char **argv)
{
    agent *a = calloc(1, sizeof *a);
    if (!a) {
        fputs("libplacement-agent: out of memory\n", stderr);
        return 1;
    }
    agent_config_init(&a->cfg);
    a->argc = argc;
    a->argv = argv;
    int pr = agent_config_parse(&a->cfg, argc, argv);
    if (pr != 0 || (!a->cfg.once && load_secrets(a) < 0)) {
        free(a);
        return pr > 0 ? 0 : 2;
    }
    /* One kept-open fd per task: allow as many as the hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (lp_ctx_new(&a->ctx) != LP_OK || lp_sampler_new(a->ctx, &a->sampler) != LP_OK) {
        agent_log(&a->cfg, LOG_ERR_, "out of memory");
        close_all(a);
        free(a);
        return 1;
    }
    lp_collect_options_init(&a->ccfg, LP_COLLECT_OPTIONS_VERSION);
    a->ccfg.cgroup_hierarchy = a->cfg.cgroup_hierarchy[0] ? a->cfg.cgroup_hierarchy : NULL;
    a->ccfg.include_root_cgroup = a->cfg.include_root_cgroup;
    a->ccfg.libvirt_uri = a->cfg.libvirt_uri[0] ? a->cfg.libvirt_uri : NULL;
    a->ccfg.docker_socket = a->cfg.docker_socket[0] ? a->cfg.docker_socket : NULL;
    a->ccfg.docker_runtimes = a->cfg.docker_runtimes[0] ? a->cfg.docker_runtimes : NULL;
    char from[600];
    if (agent_workload_cpus(&a->cfg, a->cpus, sizeof a->cpus, from, sizeof from) < 0) {
        close_all(a);
        free(a);
        return 2;
    }
    a->ccfg.cpus = a->cpus;
    lp_host_init(&a->host, LP_HOST_VERSION);
    lp_status st = lp_host_describe(a->ctx, a->cfg.host_name[0] ? a->cfg.host_name : NULL, a->cpus,
                                    a->host_name, sizeof a->host_name, &a->host);
    if (st != LP_OK) {
        agent_log(&a->cfg, LOG_ERR_, "%s%s", st == LP_EINVAL ? "" : "host: ", lp_ctx_last_error(a->ctx));
        close_all(a);
        free(a);
        return st == LP_EINVAL ? 2 : 1;
    }
    agent_log(&a->cfg, LOG_INFO_, "CPUs for workloads: %s (from %s): %u threads, %u cores, %u sockets", a->cpus,
              from, a->host.threads, a->host.cores, a->host.sockets);
    if (open_collectors(a) < 0) {
        close_all(a);
        free(a);
        return 2;
    }
    int rc = a->cfg.once ? run_once(a) : run_daemon(a);
    close_all(a);
    free(a);
    return rc;
}
