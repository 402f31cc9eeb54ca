/* Flags and the config file ("key = value" lines, keys = long flag names). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

void agent_config_init(agent_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1");
    c->port = 9180;
    c->interval = 10;
    c->window = 1;
    snprintf(c->collectors, sizeof c->collectors, "proc,libvirt,docker,libxl");
    c->max_connections = 1024;
    c->per_ip_connections = 16;
    c->connection_timeout = 10;
    c->request_timeout = 10;
    c->log_level = LOG_INFO_;
}

static const char usage[] =
    "usage: libplacement-agent [options]\n"
    "Measures the workloads of this host and serves them as a libplacement\n"
    "snapshot (/v1/snapshot), Prometheus metrics (/metrics) and /healthz.\n\n"
    "  --config FILE            read \"key = value\" lines (keys = option names below)\n"
    "  --listen ADDR            bind address (default 127.0.0.1)\n"
    "  --port N                 TCP port (default 9180)\n"
    "  --interval SEC           seconds between sweeps (default 10)\n"
    "  --max-sweep-age SEC      the snapshot is stale (503) when the last good sweep is\n"
    "                           older (default 3 x interval + 5)\n"
    "  --once                   take two sweeps --window apart, print the snapshot, exit\n"
    "  --window SEC             the first window (and --once's): seconds between the\n"
    "                           first two sweeps (default 1; at most --interval)\n"
    "  --pretty                 --once: indent the JSON\n"
    "  --host-name NAME         host name in the snapshot (default: kernel host name,\n"
    "                           which must match Nova's compute host name)\n"
    "  --token-file FILE        require \"Authorization: Bearer <token>\" for /v1/snapshot\n"
    "                           and /metrics (mode 600, one line, at most 4096 bytes;\n"
    "                           SIGHUP reads it again)\n"
    "  --metrics-public         serve /metrics without token or client certificate\n"
    "  --tls-cert FILE          serve HTTPS with this PEM certificate (chain)...\n"
    "  --tls-key FILE           ...and its PEM private key (mode 600)\n"
    "  --tls-client-ca FILE     also require a client certificate signed by a CA in FILE\n"
    "  --collectors LIST        comma-separated: proc,libvirt,docker,libxl (default all)\n"
    "  --runtimes LIST          runtimes offered (container,unikernel,vm); default from\n"
    "                           the collectors that are up (libvirt with a qemu, kvm or\n"
    "                           xen URI and libxl: vm,unikernel; libvirt lxc, docker:\n"
    "                           container)\n"
    "  --cpus LIST              CPUs available to workloads, e.g. 2-7,10 (cpu.threads);\n"
    "                           default: Nova's [compute] cpu_shared_set and\n"
    "                           cpu_dedicated_set from --nova-conf, else the agent's\n"
    "                           CPU affinity\n"
    "  --nova-conf FILE         nova.conf to read the CPU sets from (default\n"
    "                           /etc/nova/nova.conf when it exists)\n"
    "  --libvirt-uri URI        read-only libvirt connection (default qemu:///system)\n"
    "  --docker-socket PATH     Docker Engine API socket (default /run/docker.sock)\n"
    "  --docker-runtimes MAP    runtime of a container by its Docker runtime, as zun.conf's\n"
    "                           [libplacement] docker_runtimes (default container:runc,\n"
    "                           unikernel:kata-runtime,vm:kata-runtime)\n"
    "  --cgroup-hierarchy NAME  v1 controller whose cgroups are workloads, or \"unified\"\n"
    "                           (default: cpu on v1/hybrid hosts, else unified)\n"
    "  --include-root-cgroup    also report processes of the root cgroup, one per pid\n"
    "  --max-connections N      concurrent HTTP connections (default 1024)\n"
    "  --per-ip-connections N   per client address (default 16, 0 = no limit)\n"
    "  --connection-timeout SEC idle connection timeout (default 10, 0 = none)\n"
    "  --request-timeout SEC    a connection must complete each request, counted from\n"
    "                           its start or its previous answer, within SEC (default 10,\n"
    "                           0 = none)\n"
    "  --log-level LEVEL        error, warning, info (default), debug\n"
    "  --help, --version\n";

static int parse_uint(const char *key, const char *v, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n > max) {
        fprintf(stderr, "libplacement-agent: %s: \"%s\" is not a whole number in 0..%u\n", key, v, max);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static int parse_secs(const char *key, const char *v, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d) || d < 0.01 || d > 86400) {
        fprintf(stderr, "libplacement-agent: %s: \"%s\" is not a number of seconds in 0.01..86400\n", key, v);
        return -1;
    }
    *out = d;
    return 0;
}

static int parse_bool(const char *key, const char *v, int *out)
{
    if (!v || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
        *out = 0;
    else {
        fprintf(stderr, "libplacement-agent: %s: \"%s\" is not true or false\n", key, v);
        return -1;
    }
    return 0;
}

static int set_str(const char *key, const char *v, char *dst, size_t len)
{
    if (strlen(v) >= len) {
        fprintf(stderr, "libplacement-agent: %s: value longer than %zu bytes\n", key, len - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* Apply one option. v is NULL for a flag given without value. */
static int apply(agent_config *c, const char *key, const char *v)
{
    static const char *const boolean[] = {"once", "pretty", "include-root-cgroup", "metrics-public"};
    int *bools[] = {&c->once, &c->pretty, &c->include_root_cgroup, &c->metrics_public};
    for (size_t i = 0; i < sizeof boolean / sizeof boolean[0]; i++)
        if (!strcmp(key, boolean[i]))
            return parse_bool(key, v, bools[i]);
    static const char *const valued[] = {
        "listen", "port", "interval", "window", "host-name", "token-file", "collectors", "runtimes",
        "libvirt-uri", "docker-socket", "docker-runtimes", "cgroup-hierarchy", "max-connections",
        "per-ip-connections",
        "connection-timeout", "request-timeout", "log-level", "tls-cert", "tls-key", "tls-client-ca",
        "cpus", "nova-conf", "max-sweep-age"};
    int known = 0;
    for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++)
        known |= !strcmp(key, valued[i]);
    if (!known) {
        fprintf(stderr, "libplacement-agent: unknown option \"%s\" (see --help)\n", key);
        return -1;
    }
    if (!v) {
        fprintf(stderr, "libplacement-agent: %s needs a value\n", key);
        return -1;
    }
    if (!strcmp(key, "listen"))
        return set_str(key, v, c->listen, sizeof c->listen);
    if (!strcmp(key, "port"))
        return parse_uint(key, v, 65535, &c->port);
    if (!strcmp(key, "interval"))
        return parse_secs(key, v, &c->interval);
    if (!strcmp(key, "window"))
        return parse_secs(key, v, &c->window);
    if (!strcmp(key, "max-sweep-age"))
        return parse_secs(key, v, &c->max_sweep_age);
    if (!strcmp(key, "cpus"))
        return set_str(key, v, c->cpus, sizeof c->cpus);
    if (!strcmp(key, "nova-conf"))
        return set_str(key, v, c->nova_conf, sizeof c->nova_conf);
    if (!strcmp(key, "host-name"))
        return set_str(key, v, c->host_name, sizeof c->host_name);
    if (!strcmp(key, "token-file"))
        return set_str(key, v, c->token_file, sizeof c->token_file);
    if (!strcmp(key, "tls-cert"))
        return set_str(key, v, c->tls_cert, sizeof c->tls_cert);
    if (!strcmp(key, "tls-key"))
        return set_str(key, v, c->tls_key, sizeof c->tls_key);
    if (!strcmp(key, "tls-client-ca"))
        return set_str(key, v, c->tls_client_ca, sizeof c->tls_client_ca);
    if (!strcmp(key, "collectors"))
        return set_str(key, v, c->collectors, sizeof c->collectors);
    if (!strcmp(key, "runtimes")) {
        char list[sizeof c->runtimes], *save = NULL;
        if (set_str(key, v, list, sizeof list) < 0)
            return -1;
        for (char *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
            lp_runtime rt;
            if (lp_runtime_parse(NULL, n, &rt) != LP_OK || !(rt & LP_RUNTIME_ALL)) {
                fprintf(stderr, "libplacement-agent: runtimes: \"%s\" is not container, unikernel or vm\n", n);
                return -1;
            }
        }
        return set_str(key, v, c->runtimes, sizeof c->runtimes);
    }
    if (!strcmp(key, "libvirt-uri"))
        return set_str(key, v, c->libvirt_uri, sizeof c->libvirt_uri);
    if (!strcmp(key, "docker-socket"))
        return set_str(key, v, c->docker_socket, sizeof c->docker_socket);
    if (!strcmp(key, "docker-runtimes"))
        return set_str(key, v, c->docker_runtimes, sizeof c->docker_runtimes);
    if (!strcmp(key, "cgroup-hierarchy"))
        return set_str(key, v, c->cgroup_hierarchy, sizeof c->cgroup_hierarchy);
    if (!strcmp(key, "max-connections"))
        return parse_uint(key, v, 1000000, &c->max_connections);
    if (!strcmp(key, "per-ip-connections"))
        return parse_uint(key, v, 1000000, &c->per_ip_connections);
    if (!strcmp(key, "connection-timeout"))
        return parse_uint(key, v, 3600, &c->connection_timeout);
    if (!strcmp(key, "request-timeout"))
        return parse_uint(key, v, 3600, &c->request_timeout);
    if (!strcmp(key, "log-level")) {
        static const char *const lv[] = {"error", "warning", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(v, lv[i])) {
                c->log_level = i;
                return 0;
            }
        fprintf(stderr, "libplacement-agent: log-level: \"%s\" is not error, warning, info or debug\n", v);
        return -1;
    }
    fprintf(stderr, "libplacement-agent: unknown option \"%s\" (see --help)\n", key);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int read_config(agent_config *c, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "libplacement-agent: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "libplacement-agent: %s:%d: expected \"key = value\"\n", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!strcmp(key, "config") || !strcmp(key, "help") || !strcmp(key, "version")) {
            fprintf(stderr, "libplacement-agent: %s:%d: \"%s\" is not allowed in a config file\n", path,
                    lineno, key);
            rc = -1;
        } else if (apply(c, key, val) < 0) {
            fprintf(stderr, "libplacement-agent: (in %s:%d)\n", path, lineno);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int agent_config_parse(agent_config *c, int argc, char **argv)
{
    /* The config file first, so that flags override it. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("libplacement-agent %s\n", lp_version());
            return 1;
        }
        if (!strncmp(argv[i], "--config", 8)) {
            const char *v = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[i + 1] : NULL);
            if (!v) {
                fprintf(stderr, "libplacement-agent: --config needs a file\n");
                return -1;
            }
            if (read_config(c, v) < 0)
                return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "libplacement-agent: unexpected argument \"%s\" (see --help)\n", a);
            return -1;
        }
        char key[64];
        const char *eq = strchr(a, '='), *v = NULL;
        size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (kl >= sizeof key) {
            fprintf(stderr, "libplacement-agent: unknown option \"%s\"\n", a);
            return -1;
        }
        memcpy(key, a + 2, kl);
        key[kl] = '\0';
        int is_bool = !strcmp(key, "once") || !strcmp(key, "pretty") || !strcmp(key, "include-root-cgroup") ||
                      !strcmp(key, "metrics-public");
        if (eq)
            v = eq + 1;
        else if (!is_bool && i + 1 < argc)
            v = argv[++i];
        if (!strcmp(key, "config"))
            continue;
        if (apply(c, key, v) < 0)
            return -1;
    }
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        fprintf(stderr, "libplacement-agent: tls-cert and tls-key go together (one is set, not the other)\n");
        return -1;
    }
    if (c->tls_client_ca[0] && !c->tls_cert[0]) {
        fprintf(stderr, "libplacement-agent: tls-client-ca needs tls-cert and tls-key\n");
        return -1;
    }
    return 0;
}

void agent_log(const agent_config *c, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    agent_vlog(c ? c->log_level : LOG_DEBUG_, level, fmt, ap);
    va_end(ap);
}

void agent_vlog(int max_level, int level, const char *fmt, va_list ap)
{
    static const char *const name[] = {"error", "warning", "info", "debug"};
    static const int prio[] = {3, 4, 6, 7};
    if (level > max_level)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* journald reads "<N>" as the priority; a terminal gets a time stamp. */
    if (getenv("JOURNAL_STREAM"))
        fprintf(stderr, "<%d>%s: %s\n", prio[level], name[level], msg);
    else {
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        fprintf(stderr, "%s libplacement-agent %s: %s\n", ts, name[level], msg);
    }
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap ? b->cap : 4096;
        while (nc <= b->len + (size_t)n)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

void sb_free(sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
