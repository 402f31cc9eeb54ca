/*
 * lpctl fetch --url-template T [options] HOST... | --hosts-file F
 *
 * Fetch every host's agent snapshot with the scheduler's fetcher and print
 * the cluster as the scheduler sees it; the hosts it could not get are listed
 * with the reason (the scheduler uses their declared demand instead).
 */
#include "lpctl_fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libplacement.h"
#include "lpctl_opt.h"

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_BADINPUT = 2, EXIT_MISSING = 3 };

#define TOKEN_FILE_MAX 4096

static const char *prog = "lpctl fetch";

static const char *const flag_options[] = {"--help", "-h", "--json", "--pretty", NULL};
static const char *const value_options[] = {
    "--url-template", "--hosts-file", "--token-file", "--ca-file",      "--ttl-s",
    "--max-skew-s",   "--timeout-ms", "--connect-timeout-ms", "--max-bytes", "--max-parallel",
    NULL};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lpctl fetch --url-template URL [--timeout-ms N] [--connect-timeout-ms N]\n"
            "                   [--max-bytes N] [--max-parallel N] [--token-file FILE]\n"
            "                   [--ca-file FILE] [--ttl-s S] [--max-skew-s S]\n"
            "                   [--json [--pretty]] (HOST... | --hosts-file FILE)\n"
            "\n"
            "Fetch the snapshot of every host from its libplacement agent, in parallel,\n"
            "exactly as the scheduler does, and print the cluster it sees: per host the\n"
            "hardware threads, measured demand and workloads per class (or, with --json,\n"
            "a cluster file for 'lpctl place --cluster').  Hosts without a valid snapshot\n"
            "are listed on stderr with the reason; the scheduler falls back to their\n"
            "declared demand.\n"
            "\n"
            "options:\n"
            "  --url-template URL     agent URL with {host}, e.g. http://{host}:9180/v1/snapshot\n"
            "  --timeout-ms N         per-host time limit (default 1000)\n"
            "  --connect-timeout-ms N per-host connect limit (default 300, at most the timeout)\n"
            "  --max-bytes N          largest accepted snapshot (default 1048576)\n"
            "  --max-parallel N       transfers at once (default 64)\n"
            "  --token-file FILE      send the bearer token in FILE (first line)\n"
            "  --ca-file FILE         CAs (PEM) that https agents' certificates must chain to\n"
            "                         (default: the system's)\n"
            "  --ttl-s S              oldest snapshot used, by its own time (default 60)\n"
            "  --max-skew-s S         clock difference allowed with the agents (default 5)\n"
            "  --hosts-file FILE      host names, one per line ('#' comments; '-' = stdin)\n"
            "  --json                 print the cluster file; --pretty indents it\n"
            "\n"
            "Host names: 1..%d bytes of A-Z a-z 0-9 . _ : - (a port may follow ':').\n"
            "Exit status: 0 every host fetched, 3 some missing, 2 bad input or usage.\n",
            LP_FETCH_MAX_HOST);
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s%s\n(run 'lpctl fetch --help' for usage)\n", prog, what, arg);
    return EXIT_BADINPUT;
}

/* A whole decimal number in lo..hi. @return 0, or -1 after printing what is wrong. */
static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "%s: %s '%s': expected a whole number in %ld..%ld\n", prog, opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* A number of seconds in lo..hi. @return 0, or -1 after printing what is wrong. */
static int parse_seconds(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "%s: %s '%s': expected seconds in %g..%g\n", prog, opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* The list of host names (argument strings, or lines of the hosts file). */
typedef struct hostlist {
    char **names;
    size_t n, cap;
    int owned; /* names were allocated here (hosts file) */
} hostlist;

static int hostlist_add(hostlist *l, char *name)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        char **g = realloc(l->names, ncap * sizeof *g);
        if (!g)
            return -1;
        l->names = g;
        l->cap = ncap;
    }
    l->names[l->n++] = name;
    return 0;
}

static void hostlist_free(hostlist *l)
{
    if (l->owned)
        for (size_t i = 0; i < l->n; i++)
            free(l->names[i]);
    free(l->names);
}

/* Strip leading/trailing blanks (and a '#' comment) in place. */
static char *trim(char *s)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int read_hosts_file(lp_ctx *ctx, const char *path, hostlist *l)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s: cannot open: %s\n", prog, path, strerror(errno));
        return EXIT_BADINPUT;
    }
    l->owned = 1;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    int rc = EXIT_OK;
    while (rc == EXIT_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *h = trim(line);
        if (!*h)
            continue;
        if (l->n >= LP_MAX_HOSTS) {
            fprintf(stderr, "%s: %s: more than %u hosts\n", prog, path, LP_MAX_HOSTS);
            rc = EXIT_BADINPUT;
        } else if (lp_host_name_check(ctx, h) != LP_OK) {
            fprintf(stderr, "%s: %s:%zu: %s\n", prog, path, lineno, lp_ctx_last_error(ctx));
            rc = EXIT_BADINPUT;
        } else {
            char *copy = strdup(h);
            if (!copy || hostlist_add(l, copy) != 0) {
                free(copy);
                fprintf(stderr, "%s: out of memory\n", prog);
                rc = EXIT_INTERNAL;
            }
        }
    }
    if (rc == EXIT_OK && ferror(f)) {
        fprintf(stderr, "%s: %s: read error: %s\n", prog, path, strerror(errno));
        rc = EXIT_BADINPUT;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* The token: the file's first line without its line end. */
static int read_token(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s: cannot open: %s\n", prog, path, strerror(errno));
        return EXIT_BADINPUT;
    }
    int ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    size_t n = ok ? strcspn(buf, "\r\n") : 0;
    if (ok && buf[n] == '\0' && n == len - 1) {
        fprintf(stderr, "%s: %s: token longer than %zu bytes\n", prog, path, len - 2);
        return EXIT_BADINPUT;
    }
    if (n == 0) {
        fprintf(stderr, "%s: %s: no token on the first line\n", prog, path);
        return EXIT_BADINPUT;
    }
    buf[n] = '\0';
    return EXIT_OK;
}

static void print_table(const lp_cluster *c, const lp_fetch_result *res, char **names, size_t n)
{
    static const lp_class cols[] = {LP_CLASS_CPU,  LP_CLASS_NET,  LP_CLASS_IO,
                                    LP_CLASS_MIXED, LP_CLASS_IDLE, LP_CLASS_UNKNOWN};
    printf("%-24s %7s %7s %5s %5s %5s %5s %5s %5s  %s\n", "HOST", "THREADS", "DEMAND", "cpu",
           "net", "io", "mixed", "idle", "unkn", "SOURCE");
    for (size_t i = 0; i < n; i++) {
        size_t k;
        if (res[i].status != LP_OK || lp_cluster_find(NULL, c, names[i], &k) != LP_OK)
            continue;
        const lp_host *h = lp_cluster_get_host(c, k);
        size_t count[sizeof cols / sizeof cols[0]] = {0};
        for (size_t w = 0; w < h->n_workloads; w++)
            for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++)
                if (h->workloads[w].klass == cols[j])
                    count[j]++;
        char demand[32];
        if (h->load_demand >= 0)
            snprintf(demand, sizeof demand, "%.2f", h->load_demand);
        else
            snprintf(demand, sizeof demand, "-");
        printf("%-24s %7u %7s %5zu %5zu %5zu %5zu %5zu %5zu  ", h->name, h->threads, demand,
               count[0], count[1], count[2], count[3], count[4], count[5]);
        if (res[i].from_cache)
            printf("cache\n");
        else
            printf("HTTP %ld, %.0f ms\n", res[i].http_code, res[i].elapsed_ms);
    }
}

int lpctl_fetch_main(int argc, char **argv)
{
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    const char *hosts_file = NULL, *token_file = NULL;
    int json = 0, pretty = 0, connect_given = 0;
    hostlist hosts = {0};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        lpctl_opt op; /* "--name value" or "--name=value" */
        lpctl_opt_split(arg, &op);
        const char *a = op.name;
        long v = 0; /* set by parse_long; unused when it fails */
        if (lpctl_opt_find(a, flag_options) && op.value) {
            hostlist_free(&hosts);
            return bad_usage("this option takes no value: ", a);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            hostlist_free(&hosts);
            return EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--pretty") == 0) {
            pretty = 1;
        } else if (a[0] == '-' && !lpctl_opt_find(a, value_options)) {
            hostlist_free(&hosts);
            return bad_usage("unknown option ", arg);
        } else if (a[0] == '-') {
            const char *val = lpctl_opt_value(&op, argc, argv, &i);
            if (!val) {
                hostlist_free(&hosts);
                return bad_usage("missing value after ", a);
            }
            int bad = 0;
            if (strcmp(a, "--url-template") == 0) {
                o.url_template = val;
            } else if (strcmp(a, "--hosts-file") == 0) {
                hosts_file = val;
            } else if (strcmp(a, "--token-file") == 0) {
                token_file = val;
            } else if (strcmp(a, "--ca-file") == 0) {
                o.ca_file = val;
            } else if (strcmp(a, "--ttl-s") == 0) {
                bad = parse_seconds(a, val, 0, 1e9, &o.ttl_s);
            } else if (strcmp(a, "--max-skew-s") == 0) {
                bad = parse_seconds(a, val, 0, LP_FETCH_MAX_SKEW_S, &o.max_skew_s);
            } else if (strcmp(a, "--timeout-ms") == 0) {
                bad = parse_long(a, val, 1, LP_FETCH_MAX_TIMEOUT_MS, &v);
                o.timeout_ms = v;
            } else if (strcmp(a, "--connect-timeout-ms") == 0) {
                bad = parse_long(a, val, 1, LP_FETCH_MAX_TIMEOUT_MS, &v);
                o.connect_timeout_ms = v;
                connect_given = 1;
            } else if (strcmp(a, "--max-bytes") == 0) {
                bad = parse_long(a, val, 1, (long)LP_JSON_MAX_BYTES, &v);
                o.max_bytes = (size_t)v;
            } else { /* --max-parallel */
                bad = parse_long(a, val, 1, LP_FETCH_MAX_PARALLEL, &v);
                o.max_parallel = (unsigned)v;
            }
            if (bad) {
                hostlist_free(&hosts);
                return EXIT_BADINPUT;
            }
        } else if (hostlist_add(&hosts, argv[i]) != 0) {
            hostlist_free(&hosts);
            fprintf(stderr, "%s: out of memory\n", prog);
            return EXIT_INTERNAL;
        }
    }
    if (!o.url_template) {
        hostlist_free(&hosts);
        return bad_usage("--url-template is required", "");
    }
    if ((hosts_file != NULL) == (hosts.n > 0)) {
        hostlist_free(&hosts);
        return bad_usage("give host names or --hosts-file (one of them)", "");
    }
    /* A short --timeout-ms alone also bounds the connect. */
    if (!connect_given && o.connect_timeout_ms > o.timeout_ms)
        o.connect_timeout_ms = o.timeout_ms;

    lp_ctx *ctx = NULL;
    lp_fetcher *f = NULL;
    lp_cluster *c = NULL;
    lp_fetch_result *res = NULL;
    char token[TOKEN_FILE_MAX + 2];
    int rc = EXIT_OK;
    if (lp_ctx_new(&ctx) != LP_OK) {
        fprintf(stderr, "%s: out of memory\n", prog);
        rc = EXIT_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < hosts.n && rc == EXIT_OK; i++) {
        if (lp_host_name_check(ctx, hosts.names[i]) != LP_OK) {
            fprintf(stderr, "%s: argument %zu: %s\n", prog, i + 1, lp_ctx_last_error(ctx));
            rc = EXIT_BADINPUT;
        }
    }
    if (rc == EXIT_OK && hosts_file)
        rc = read_hosts_file(ctx, hosts_file, &hosts);
    if (rc == EXIT_OK && hosts.n == 0) {
        fprintf(stderr, "%s: %s: no host names\n", prog, hosts_file);
        rc = EXIT_BADINPUT;
    }
    if (rc == EXIT_OK && token_file) {
        rc = read_token(token_file, token, sizeof token);
        o.token = token;
    }
    if (rc != EXIT_OK)
        goto out;
    lp_status st = lp_fetcher_new(ctx, &o, &f);
    if (st == LP_OK)
        st = lp_cluster_new(ctx, &c);
    if (st == LP_OK && !(res = calloc(hosts.n, sizeof *res)))
        st = LP_ENOMEM;
    size_t ok = 0;
    if (st == LP_OK)
        st = lp_fetcher_fetch(ctx, f, (const char *const *)hosts.names, hosts.n, c, res, &ok);
    if (st != LP_OK) {
        fprintf(stderr, "%s: %s\n", prog, st == LP_ENOMEM ? "out of memory" : lp_ctx_last_error(ctx));
        rc = st == LP_EINVAL || st == LP_ELIMIT ? EXIT_BADINPUT : EXIT_INTERNAL;
        goto out;
    }
    if (json) {
        char *text = NULL;
        if ((st = lp_cluster_write_json(ctx, c, pretty ? LP_JSON_PRETTY : 0, &text, NULL)) != LP_OK) {
            fprintf(stderr, "%s: %s\n", prog, lp_ctx_last_error(ctx));
            rc = EXIT_INTERNAL;
            goto out;
        }
        printf("%s\n", text);
        lp_free(text);
    } else {
        print_table(c, res, hosts.names, hosts.n);
    }
    int bad_input = 0;
    size_t missing = 0;
    for (size_t i = 0; i < hosts.n; i++) {
        if (res[i].status == LP_OK)
            continue;
        /* A host listed twice is present once: bad input, not missing. */
        size_t k;
        int present = lp_cluster_find(NULL, c, hosts.names[i], &k) == LP_OK;
        missing += !present;
        fprintf(stderr, "%s: %s%s\n", prog, present ? "" : "missing ", res[i].message);
        bad_input |= res[i].status == LP_EINVAL;
    }
    fprintf(stderr, "%s: %zu of %zu hosts fetched%s\n", prog, ok, ok + missing,
            missing ? "; the scheduler uses the declared demand of the missing ones" : "");
    rc = bad_input ? EXIT_BADINPUT : missing ? EXIT_MISSING : EXIT_OK;
out:
    if (token_file)
        memset(token, 0, sizeof token);
    free(res);
    lp_cluster_free(c);
    lp_fetcher_free(f);
    lp_ctx_free(ctx);
    hostlist_free(&hosts);
    return rc;
}
