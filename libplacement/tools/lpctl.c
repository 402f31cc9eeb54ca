/*
 * lpctl — drive libplacement on JSON files.
 *
 *   lpctl validate FILE...                      check snapshots, cluster and request files
 *   lpctl classify --cluster C [--json]         class of every workload in a cluster
 *   lpctl place --cluster C --requests R [--json] [--set NAME=VALUE]... [--order CLASS=LIST]...
 *   lpctl explain --cluster C --requests R      every host's verdict for every instance
 *   lpctl rebalance --cluster C [--history H]   moves back within every cap, runtime switches
 *   lpctl fetch --url-template T HOST...        the cluster as the scheduler sees it
 *   lpctl params                                the policy parameters and their defaults
 *   lpctl help [COMMAND]                        usage of lpctl or of one command
 *
 * Every option that takes a value is given as "--name VALUE" or "--name=VALUE".
 * Exit status: 0 success (all placed), 3 some instances unplaced, 2 bad input
 * or usage (with a message naming the file, position and field), 1 internal error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libplacement.h"
#include "lpctl_fetch.h"
#include "lpctl_opt.h"

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_BADINPUT = 2, EXIT_UNPLACED = 3 };

#define MAX_POLICY_ARGS 64

typedef struct options {
    const char *cluster;
    const char *requests;
    int json;
    int pretty;
    const char *set[MAX_POLICY_ARGS];
    size_t n_set;
    const char *order[MAX_POLICY_ARGS];
    size_t n_order;
    /* rebalance: option names and their text values, checked by cmd_rebalance */
    const char *history;
    const char *tuning[MAX_POLICY_ARGS][2];
    size_t n_tuning;
    const char *pin[MAX_POLICY_ARGS];
    size_t n_pin;
} options;

/* Options of rebalance that take a number (lp_rebalance_options fields). */
static const char *const rebalance_numbers[] = {
    "--now", "--margin", "--max-moves", "--cooldown", "--switch-confidence",
    "--switch-min-age", "--search-budget", NULL};

static const char *prog = "lpctl";

static void usage_main(FILE *out)
{
    fprintf(out,
            "usage: lpctl COMMAND [OPTIONS]\n"
            "\n"
            "Parallelism-aware placement and runtime choice (libplacement %s).\n"
            "\n"
            "commands:\n"
            "  validate FILE...     check snapshot, cluster and request files\n"
            "  classify             print the class of every workload in a cluster\n"
            "  place                place requests on a cluster\n"
            "  explain              place, and print every host's verdict per instance\n"
            "  rebalance            the fewest live migrations that bring every host within\n"
            "                       its cap, and runtime switches\n"
            "  fetch                fetch agents' snapshots: the cluster as the scheduler sees it\n"
            "  params               list the policy parameters and their defaults\n"
            "  help [COMMAND]       this text, or a command's options\n"
            "\n"
            "Run 'lpctl help COMMAND' (or 'lpctl COMMAND --help') for a command's options.\n"
            "Every option that takes a value accepts '--name VALUE' and '--name=VALUE'.\n"
            "Exit status: 0 ok, 3 some instances unplaced (place, explain) or some host\n"
            "over its cap (rebalance) or some host missing (fetch), 2 bad input or usage,\n"
            "1 internal error.  Formats: docs/formats.md; policy: docs/policy.md.\n",
            lp_version());
}

static void usage_place(FILE *out, const char *cmd)
{
    fprintf(out,
            "usage: lpctl %s --cluster FILE --requests FILE [--json [--pretty]]\n"
            "                 [--set NAME=VALUE]... [--order CLASS=RUNTIME,...]...\n"
            "\n"
            "Place every instance of every request, one after another (each sees the\n"
            "demand the earlier ones added), and print the host and why it passed:\n"
            "demand against the cap, class, runtime, score.  For every unplaced\n"
            "instance, a summary such as '0/4 hosts can take web#3: 4 parallelism'\n"
            "and the reason each host refused it.  Text and --json say the same.\n"
            "%s"
            "\n"
            "options:\n"
            "  --cluster FILE     cluster file {\"hosts\": [snapshot, ...]}\n"
            "  --requests FILE    request file {\"requests\": [...]}\n"
            "  --json             machine-readable output (docs/formats.md, \"plan\")\n"
            "  --pretty           indent JSON output\n"
            "  --set NAME=VALUE   set a policy parameter (see 'lpctl params')\n"
            "  --order CLASS=LIST runtime preference for a class, e.g. cpu=unikernel,vm\n"
            "\n"
            "Exit status: 0 all placed, 3 some unplaced, 2 bad input or usage,\n"
            "1 internal error (out of memory, cannot write the output).\n",
            cmd,
            strcmp(cmd, "explain") == 0
                ? "'explain' also prints every host's verdict for every instance\n"
                  "(the chosen host marked '*').\n"
                : "");
}

static void usage_classify(FILE *out)
{
    fprintf(out, "usage: lpctl classify --cluster FILE [--json] [--set NAME=VALUE]...\n"
                 "\n"
                 "Classify every workload of every host from its metrics (cpu, net, io,\n"
                 "mixed, idle) and print the class, confidence and the reasons.\n"
                 "\n"
                 "options:\n"
                 "  --cluster FILE     cluster file {\"hosts\": [snapshot, ...]}\n"
                 "  --json             machine-readable output: {\"workloads\": [{host, id,\n"
                 "                     class, confidence, reasons}, ...]}\n"
                 "  --set NAME=VALUE   set a classification threshold (see 'lpctl params')\n"
                 "\n"
                 "Exit status: 0 ok, 2 bad input or usage, 1 internal error.\n");
}

static void usage_params(FILE *out)
{
    fprintf(out, "usage: lpctl params\n"
                 "\n"
                 "List the policy parameters (name, default, meaning) that --set changes,\n"
                 "and the runtime preference order per class that --order changes.\n");
}

static void usage_validate(FILE *out)
{
    fprintf(out, "usage: lpctl validate FILE...\n"
                 "\n"
                 "Check each file: a snapshot, a cluster file or a request file, told apart\n"
                 "by the first of the top-level keys \"schema\", \"hosts\" and \"requests\"\n"
                 "(no such key: a cluster file).  Prints 'FILE: ok (...)' or the\n"
                 "problem.  Exit status: 0 all valid, 2 some file invalid or unreadable,\n"
                 "1 internal error.\n");
}

static void usage_rebalance(FILE *out)
{
    fprintf(out,
            "usage: lpctl rebalance --cluster FILE [--history FILE] [--now UNIX-TIME]\n"
            "                       [--margin F] [--max-moves N] [--cooldown SEC]\n"
            "                       [--switch-confidence F] [--switch-min-age SEC]\n"
            "                       [--search-budget N] [--pin WORKLOAD]... [--json [--pretty]]\n"
            "                       [--set NAME=VALUE]... [--order CLASS=RUNTIME,...]...\n"
            "\n"
            "Plan the fewest live migrations that bring every host within its cap\n"
            "(threads x max_parallel_ratio), from the cluster as measured, and the\n"
            "runtime switches its confidently classified workloads call for.  Each\n"
            "move and switch is explained; hosts that stay over their cap say why.\n"
            "Rules: docs/rebalance.md.\n"
            "\n"
            "options:\n"
            "  --cluster FILE          cluster file {\"hosts\": [snapshot, ...]}\n"
            "  --history FILE          past moves and switches, one 'WORKLOAD UNIX-TIME'\n"
            "                          per line (# comments): cool-downs\n"
            "  --pin WORKLOAD          never move this workload (repeat for more)\n"
            "  --now UNIX-TIME         the time to judge cool-downs and class ages by\n"
            "                          (default: now)\n"
            "  --margin F              act on hosts over cap x (1 + F) (0.05)\n"
            "  --max-moves N           at most N moves, 0 = no limit (0)\n"
            "  --cooldown SEC          leave a moved workload alone this long (3600)\n"
            "  --switch-confidence F   class confidence a switch needs (0.8)\n"
            "  --switch-min-age SEC    how long the class must have held (1800)\n"
            "  --search-budget N       nodes of exact search, 0 = greedy only (200000)\n"
            "  --json                  machine-readable output (docs/rebalance.md)\n"
            "  --pretty                indent JSON output\n"
            "  --set NAME=VALUE        set a policy parameter (see 'lpctl params')\n"
            "  --order CLASS=LIST      runtime preference for a class\n"
            "\n"
            "Exit status: 0 every host ends within its cap, 3 some host stays over,\n"
            "2 bad input or usage, 1 internal error.\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(run 'lpctl --help' for usage)\n");
    return EXIT_BADINPUT;
}

/* Read a whole file, refusing more than LP_JSON_MAX_BYTES. */
static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: cannot open: %s\n", prog, path, strerror(errno));
        return EXIT_BADINPUT;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    int rc = EXIT_OK;
    while (buf) {
        if (n == cap) {
            /* One byte past the limit is enough to know the file is too large. */
            if (n > LP_JSON_MAX_BYTES) {
                fprintf(stderr, "%s: %s: larger than the %u-byte limit\n", prog, path,
                        LP_JSON_MAX_BYTES);
                rc = EXIT_BADINPUT;
                break;
            }
            size_t ncap = cap > LP_JSON_MAX_BYTES / 2 ? (size_t)LP_JSON_MAX_BYTES + 1 : cap * 2;
            char *grown = realloc(buf, ncap);
            if (!grown) {
                free(buf);
                buf = NULL; /* reported below: never parse a truncated read */
                break;
            }
            buf = grown;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "%s: %s: read error: %s\n", prog, path, strerror(errno));
                rc = EXIT_BADINPUT;
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: %s: out of memory\n", prog, path);
        return EXIT_INTERNAL;
    }
    if (rc != EXIT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return EXIT_OK;
}

/* Map a library status to an exit code, printing the context's message. */
static int report(lp_ctx *ctx, lp_status st)
{
    fprintf(stderr, "%s: %s\n", prog, lp_ctx_last_error(ctx));
    return st == LP_ENOMEM ? EXIT_INTERNAL : EXIT_BADINPUT;
}

static int load_cluster(lp_ctx *ctx, const char *path, lp_cluster **out)
{
    char *buf;
    size_t len;
    int rc = read_file(path, &buf, &len);
    if (rc != EXIT_OK)
        return rc;
    lp_cluster *c = NULL;
    lp_status st = lp_cluster_new(ctx, &c);
    if (st == LP_OK)
        st = lp_cluster_parse(ctx, c, buf, len, path, 0);
    free(buf);
    if (st != LP_OK) {
        lp_cluster_free(c);
        return report(ctx, st);
    }
    *out = c;
    return EXIT_OK;
}

static int load_requests(lp_ctx *ctx, const char *path, lp_requests **out)
{
    char *buf;
    size_t len;
    int rc = read_file(path, &buf, &len);
    if (rc != EXIT_OK)
        return rc;
    lp_requests *rs = NULL;
    lp_status st = lp_requests_new(ctx, &rs);
    if (st == LP_OK)
        st = lp_requests_parse(ctx, rs, buf, len, path);
    free(buf);
    if (st != LP_OK) {
        lp_requests_free(rs);
        return report(ctx, st);
    }
    *out = rs;
    return EXIT_OK;
}

/* Apply --set NAME=VALUE and --order CLASS=LIST to the policy. */
static int apply_policy(lp_ctx *ctx, const options *o)
{
    for (size_t i = 0; i < o->n_set; i++) {
        const char *eq = strchr(o->set[i], '=');
        char *end = NULL;
        if (!eq || eq == o->set[i])
            return bad_usage("--set '%s': expected NAME=VALUE", o->set[i]);
        char name[128];
        size_t nlen = (size_t)(eq - o->set[i]);
        if (nlen >= sizeof name)
            return bad_usage("--set '%s': name too long", o->set[i]);
        memcpy(name, o->set[i], nlen);
        name[nlen] = '\0';
        errno = 0;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end != '\0' || errno == ERANGE)
            return bad_usage("--set '%s': VALUE is not a number", o->set[i]);
        if (lp_ctx_set_param(ctx, name, v) != LP_OK) {
            fprintf(stderr, "%s: --set: %s\n", prog, lp_ctx_last_error(ctx));
            return EXIT_BADINPUT;
        }
    }
    for (size_t i = 0; i < o->n_order; i++) {
        const char *eq = strchr(o->order[i], '=');
        char cls[32];
        lp_class k;
        size_t nlen = eq ? (size_t)(eq - o->order[i]) : 0;
        if (!eq || nlen == 0 || nlen >= sizeof cls)
            return bad_usage("--order '%s': expected CLASS=RUNTIME,...", o->order[i]);
        memcpy(cls, o->order[i], nlen);
        cls[nlen] = '\0';
        if (lp_class_parse(ctx, cls, &k) != LP_OK)
            return bad_usage("--order '%s': %s", o->order[i], lp_ctx_last_error(ctx));
        if (lp_ctx_set_runtime_order(ctx, k, eq + 1) != LP_OK) {
            fprintf(stderr, "%s: --order: %s\n", prog, lp_ctx_last_error(ctx));
            return EXIT_BADINPUT;
        }
    }
    return EXIT_OK;
}

/* Options of classify, place, explain and rebalance: without a value, with one. */
static const char *const flag_options[] = {"--help", "-h", "--json", "--pretty", NULL};
static const char *const value_options[] = {"--cluster", "--requests", "--history", "--set",
                                            "--order", "--pin", NULL};

/*
 * Parse the options shared by classify, place, explain and rebalance, each
 * as "--name value" or "--name=value".  Which command accepts which is
 * checked by the command.
 */
static int parse_options(int argc, char **argv, options *o, int *help)
{
    memset(o, 0, sizeof *o);
    *help = 0;
    for (int i = 2; i < argc; i++) {
        lpctl_opt op;
        lpctl_opt_split(argv[i], &op);
        const char *n = op.name;
        if (lpctl_opt_find(n, flag_options)) {
            if (op.value)
                return bad_usage("option %s takes no value", n);
            if (strcmp(n, "--json") == 0)
                o->json = 1;
            else if (strcmp(n, "--pretty") == 0)
                o->pretty = 1;
            else
                *help = 1;
            continue;
        }
        const char *number = lpctl_opt_find(n, rebalance_numbers);
        if (!number && !lpctl_opt_find(n, value_options))
            return bad_usage("unknown argument '%s'", argv[i]);
        const char *v = lpctl_opt_value(&op, argc, argv, &i);
        if (!v)
            return bad_usage("option %s needs a value", n);
        if (strcmp(n, "--cluster") == 0) {
            o->cluster = v;
        } else if (strcmp(n, "--requests") == 0) {
            o->requests = v;
        } else if (strcmp(n, "--history") == 0) {
            o->history = v;
        } else if (strcmp(n, "--set") == 0) {
            if (o->n_set == MAX_POLICY_ARGS)
                return bad_usage("too many %s options", n);
            o->set[o->n_set++] = v;
        } else if (strcmp(n, "--order") == 0) {
            if (o->n_order == MAX_POLICY_ARGS)
                return bad_usage("too many %s options", n);
            o->order[o->n_order++] = v;
        } else if (strcmp(n, "--pin") == 0) {
            if (o->n_pin == MAX_POLICY_ARGS)
                return bad_usage("too many %s options (at most %d)", n, MAX_POLICY_ARGS);
            o->pin[o->n_pin++] = v;
        } else {
            if (o->n_tuning == MAX_POLICY_ARGS)
                return bad_usage("too many %s options", n);
            o->tuning[o->n_tuning][0] = number;
            o->tuning[o->n_tuning++][1] = v;
        }
    }
    return EXIT_OK;
}

/* What kind of document a file holds, judged by its first top-level key
 * among "requests", "hosts" and "schema" (the same words deeper down, as a
 * host name or a workload id, do not count). */
static const char *detect_kind(const char *buf, size_t len)
{
    /* A cheap scan of strings and nesting: the codec does the real, strict
     * parse afterwards and names whatever is wrong. */
    static const char *const keys[] = {"requests", "hosts", "schema"};
    static const char *const names[] = {"requests", "cluster", "snapshot"};
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '{' || buf[i] == '[') {
            depth++;
        } else if (buf[i] == '}' || buf[i] == ']') {
            depth--;
        } else if (buf[i] == '"') {
            size_t start = ++i;
            for (; i < len && buf[i] != '"'; i++)
                if (buf[i] == '\\')
                    i++;
            if (i >= len)
                return NULL;
            size_t klen = i - start, j = i + 1;
            while (j < len && (buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\n' || buf[j] == '\r'))
                j++;
            if (depth != 1 || j == len || buf[j] != ':')
                continue;
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
                if (klen == strlen(keys[k]) && memcmp(buf + start, keys[k], klen) == 0)
                    return names[k];
        }
    }
    return NULL;
}

static int cmd_validate(lp_ctx *ctx, int argc, char **argv)
{
    if (argc < 3)
        return bad_usage("%s: no file given", "validate");
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage_validate(stdout);
            return EXIT_OK;
        }
    int worst = EXIT_OK;
    for (int i = 2; i < argc; i++) {
        char *buf;
        size_t len;
        int rc = read_file(argv[i], &buf, &len);
        if (rc != EXIT_OK) {
            worst = rc > worst ? rc : worst;
            continue;
        }
        const char *kind = detect_kind(buf, len);
        lp_status st = LP_OK;
        char what[96] = "";
        lp_cluster *c = NULL;
        if (kind && strcmp(kind, "requests") == 0) {
            lp_requests *rs = NULL;
            st = lp_requests_new(ctx, &rs);
            if (st == LP_OK)
                st = lp_requests_parse(ctx, rs, buf, len, argv[i]);
            if (st == LP_OK)
                snprintf(what, sizeof what, "request file, %zu request%s", lp_requests_size(rs),
                         lp_requests_size(rs) == 1 ? "" : "s");
            lp_requests_free(rs);
        } else if ((st = lp_cluster_new(ctx, &c)) == LP_OK) {
            /* Without a "schema" key it is taken as a cluster file, so that the
             * codec names what is missing or wrong. */
            int snapshot = kind && strcmp(kind, "snapshot") == 0;
            st = snapshot ? lp_cluster_parse_snapshot(ctx, c, buf, len, argv[i], 0)
                          : lp_cluster_parse(ctx, c, buf, len, argv[i], 0);
            if (st == LP_OK)
                snprintf(what, sizeof what, "%s, %zu host%s", snapshot ? "snapshot" : "cluster file",
                         lp_cluster_size(c), lp_cluster_size(c) == 1 ? "" : "s");
        }
        lp_cluster_free(c);
        free(buf);
        if (st != LP_OK) {
            rc = report(ctx, st);
            worst = rc > worst ? rc : worst;
        } else {
            printf("%s: ok (%s)\n", argv[i], what);
        }
    }
    return worst;
}

/* Print s as a JSON string literal. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static int cmd_classify(lp_ctx *ctx, int argc, char **argv)
{
    options o;
    int help, rc = parse_options(argc, argv, &o, &help);
    if (rc != EXIT_OK)
        return rc;
    if (help) {
        usage_classify(stdout);
        return EXIT_OK;
    }
    if (!o.cluster)
        return bad_usage("%s: --cluster FILE is required", "classify");
    if (o.requests || o.n_order)
        return bad_usage("classify: %s belongs to place and explain, not classify",
                         o.requests ? "--requests" : "--order");
    if ((rc = apply_policy(ctx, &o)) != EXIT_OK)
        return rc;
    lp_cluster *c;
    if ((rc = load_cluster(ctx, o.cluster, &c)) != EXIT_OK)
        return rc;
    if (o.json)
        printf("{\"workloads\": [");
    else
        printf("%-16s %-38s %-7s %-4s  %s\n", "HOST", "WORKLOAD", "CLASS", "CONF", "REASONS");
    int first = 1;
    for (size_t h = 0; h < lp_cluster_size(c); h++) {
        const lp_host *host = lp_cluster_get_host(c, h);
        for (size_t w = 0; w < host->n_workloads; w++) {
            lp_classification cl;
            if (lp_workload_classify(ctx, &host->workloads[w], &cl) != LP_OK) {
                rc = report(ctx, LP_EINVAL);
                goto out;
            }
            if (o.json) {
                printf("%s\n  {\"host\": ", first ? "" : ",");
                print_json_string(host->name);
                printf(", \"id\": ");
                print_json_string(host->workloads[w].id);
                printf(", \"class\": \"%s\", \"confidence\": %.3f, \"reasons\": ",
                       lp_class_name(cl.klass), cl.confidence);
                print_json_string(cl.reasons);
                printf("}");
            } else {
                printf("%-16s %-38s %-7s %.2f  %s\n", host->name, host->workloads[w].id,
                       lp_class_name(cl.klass), cl.confidence, cl.reasons);
            }
            first = 0;
        }
    }
    if (o.json)
        printf("\n]}\n");
    else if (first && lp_cluster_size(c) == 0)
        printf("(no workloads: the cluster has no hosts)\n");
    else if (first)
        printf("(no workloads on the %zu host%s)\n", lp_cluster_size(c),
               lp_cluster_size(c) == 1 ? "" : "s");
out:
    lp_cluster_free(c);
    return rc;
}

static int cmd_place(lp_ctx *ctx, int argc, char **argv, int explain)
{
    const char *cmd = explain ? "explain" : "place";
    options o;
    int help, rc = parse_options(argc, argv, &o, &help);
    if (rc != EXIT_OK)
        return rc;
    if (help) {
        usage_place(stdout, cmd);
        return EXIT_OK;
    }
    if (!o.cluster || !o.requests)
        return bad_usage("%s: --cluster FILE and --requests FILE are required", cmd);
    if ((rc = apply_policy(ctx, &o)) != EXIT_OK)
        return rc;
    lp_cluster *c = NULL;
    lp_requests *rs = NULL;
    lp_plan *plan = NULL;
    if ((rc = load_cluster(ctx, o.cluster, &c)) != EXIT_OK)
        goto out;
    if ((rc = load_requests(ctx, o.requests, &rs)) != EXIT_OK)
        goto out;
    lp_place_options po;
    lp_place_options_init(&po, LP_PLACE_OPTIONS_VERSION);
    po.keep_verdicts = 1;
    lp_status st = lp_plan_new(ctx, c, rs, &po, &plan);
    if (st != LP_OK) {
        rc = report(ctx, st);
        goto out;
    }
    /* One writer per format, both the library's: text and JSON say the same. */
    char *text;
    st = o.json ? lp_plan_write_json(ctx, plan, c, rs, o.pretty ? LP_JSON_PRETTY : 0, &text, NULL)
                : lp_plan_write_text(ctx, plan, c, rs, explain ? LP_TEXT_EVERY_HOST : 0, &text,
                                     NULL);
    if (st != LP_OK) {
        rc = report(ctx, st);
        goto out;
    }
    fputs(text, stdout);
    if (o.json)
        putchar('\n');
    lp_free(text);
    rc = lp_plan_unplaced(plan) ? EXIT_UNPLACED : EXIT_OK;
out:
    lp_plan_free(plan);
    lp_requests_free(rs);
    lp_cluster_free(c);
    return rc;
}

/* A finite number from text, or -1 with a message naming the option. */
static int parse_number(const char *option, const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !(v >= min && v <= max)) {
        bad_usage("%s '%s': expected a number from %g to %g", option, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Set the rebalance options given as text. */
static int rebalance_tuning(const options *o, lp_rebalance_options *ro)
{
    for (size_t i = 0; i < o->n_tuning; i++) {
        const char *name = o->tuning[i][0], *text = o->tuning[i][1];
        double v;
        if (strcmp(name, "--now") == 0) {
            if (parse_number(name, text, 1, 253402300799.0, &v))
                return EXIT_BADINPUT;
            ro->now = v;
        } else if (strcmp(name, "--margin") == 0) {
            if (parse_number(name, text, 0, 1, &v))
                return EXIT_BADINPUT;
            ro->overload_margin = v;
        } else if (strcmp(name, "--max-moves") == 0) {
            if (parse_number(name, text, 0, 4294967295.0, &v) || v != (unsigned)v)
                return v != (unsigned)v ? bad_usage("--max-moves '%s': expected a whole number",
                                                    text)
                                        : EXIT_BADINPUT;
            ro->max_moves = (unsigned)v;
        } else if (strcmp(name, "--cooldown") == 0) {
            if (parse_number(name, text, 0, 1e9, &v))
                return EXIT_BADINPUT;
            ro->cooldown_s = v;
        } else if (strcmp(name, "--switch-confidence") == 0) {
            if (parse_number(name, text, 0, 1, &v))
                return EXIT_BADINPUT;
            ro->switch_confidence = v;
        } else if (strcmp(name, "--switch-min-age") == 0) {
            if (parse_number(name, text, 0, 1e9, &v))
                return EXIT_BADINPUT;
            ro->switch_min_age_s = v;
        } else { /* --search-budget */
            if (parse_number(name, text, 0, 1e12, &v) || v != (unsigned long)v)
                return v != (unsigned long)v
                           ? bad_usage("--search-budget '%s': expected a whole number", text)
                           : EXIT_BADINPUT;
            ro->search_budget = (unsigned long)v;
        }
    }
    return EXIT_OK;
}

/* A history file: "WORKLOAD UNIX-TIME" per line, # comments.  The entries
 * point into *text, which the caller frees with the entries. */
static int load_history(const char *path, char **text, lp_history_entry **out, size_t *n)
{
    size_t len, cap = 0;
    int rc = read_file(path, text, &len);
    if (rc != EXIT_OK)
        return rc;
    *out = NULL;
    *n = 0;
    /* read_file does not terminate the text: make it a string (a NUL inside
       ends it, which the line check below then reports). */
    char *grown = realloc(*text, len + 1);
    if (!grown) {
        fprintf(stderr, "%s: out of memory reading %s\n", prog, path);
        return EXIT_INTERNAL;
    }
    *text = grown;
    grown[len] = '\0';
    char *line = *text;
    for (unsigned lineno = 1; line && *line; lineno++) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        char *id = strtok_r(line, " \t\r", &save);
        char *when = id ? strtok_r(NULL, " \t\r", &save) : NULL;
        char *extra = when ? strtok_r(NULL, " \t\r", &save) : NULL;
        if (id) {
            char *end = NULL;
            double t = when ? strtod(when, &end) : 0;
            if (!when || extra || end == when || *end || !(t >= 0 && t < 253402300800.0)) {
                fprintf(stderr, "%s: %s: line %u: expected 'WORKLOAD UNIX-TIME'\n", prog, path,
                        lineno);
                return EXIT_BADINPUT;
            }
            if (*n == cap) {
                cap = cap ? 2 * cap : 64;
                lp_history_entry *more = realloc(*out, cap * sizeof *more);
                if (!more) {
                    fprintf(stderr, "%s: out of memory reading %s\n", prog, path);
                    return EXIT_INTERNAL;
                }
                *out = more;
            }
            (*out)[(*n)++] = (lp_history_entry){.workload = id, .time = t};
        }
        line = next;
    }
    return EXIT_OK;
}

static void print_rebalance(const lp_rebalance *r, const lp_cluster *c)
{
    size_t nm = lp_rebalance_move_count(r), ns = lp_rebalance_switch_count(r);
    printf("rebalance: %zu host%s over cap before, %zu after; %zu move%s (%s); "
           "%zu runtime switch%s\n",
           lp_rebalance_hosts_over(r, 0), lp_rebalance_hosts_over(r, 0) == 1 ? "" : "s",
           lp_rebalance_hosts_over(r, 1), nm, nm == 1 ? "" : "s",
           lp_rebalance_optimal(r) ? "optimal" : "not proven optimal", ns, ns == 1 ? "" : "es");
    for (size_t i = 0; i < nm; i++) {
        const lp_move *m = lp_rebalance_get_move(r, i);
        printf("move %zu: %s %s -> %s\n  %s\n", i + 1, m->workload,
               lp_cluster_get_host(c, m->from)->name, lp_cluster_get_host(c, m->to)->name,
               m->explain);
    }
    for (size_t i = 0; i < ns; i++) {
        const lp_switch *sw = lp_rebalance_get_switch(r, i);
        printf("switch: %s on %s %s -> %s\n  %s\n", sw->workload,
               lp_cluster_get_host(c, sw->host)->name, lp_runtime_name(sw->from),
               lp_runtime_name(sw->to), sw->explain);
    }
    for (size_t i = 0; lp_rebalance_get_host(r, i); i++) {
        const lp_host_outcome *h = lp_rebalance_get_host(r, i);
        if (h->why)
            printf("over: %s\n  %s\n", lp_cluster_get_host(c, h->host)->name, h->why);
    }
}

static int cmd_rebalance(lp_ctx *ctx, int argc, char **argv)
{
    options o;
    int help, rc = parse_options(argc, argv, &o, &help);
    if (rc != EXIT_OK)
        return rc;
    if (help) {
        usage_rebalance(stdout);
        return EXIT_OK;
    }
    if (!o.cluster)
        return bad_usage("rebalance: --cluster FILE is required");
    if (o.requests)
        return bad_usage("rebalance: --requests belongs to place and explain, not rebalance");
    lp_rebalance_options ro;
    lp_rebalance_options_init(&ro, LP_REBALANCE_OPTIONS_VERSION);
    ro.now = (double)time(NULL);
    if ((rc = rebalance_tuning(&o, &ro)) != EXIT_OK || (rc = apply_policy(ctx, &o)) != EXIT_OK)
        return rc;
    lp_cluster *c = NULL;
    lp_rebalance *r = NULL;
    char *history_text = NULL;
    lp_history_entry *history = NULL;
    if ((rc = load_cluster(ctx, o.cluster, &c)) != EXIT_OK)
        goto out;
    if (o.history &&
        (rc = load_history(o.history, &history_text, &history, &ro.n_history)) != EXIT_OK)
        goto out;
    ro.history = history;
    ro.pinned = o.pin;
    ro.n_pinned = o.n_pin;
    lp_status st = lp_rebalance_new(ctx, c, &ro, &r);
    if (st != LP_OK) {
        rc = report(ctx, st);
        goto out;
    }
    if (o.json) {
        char *text;
        if ((st = lp_rebalance_write_json(ctx, r, c, o.pretty ? LP_JSON_PRETTY : 0, &text,
                                          NULL)) != LP_OK) {
            rc = report(ctx, st);
            goto out;
        }
        printf("%s\n", text);
        lp_free(text);
    } else {
        print_rebalance(r, c);
    }
    rc = lp_rebalance_hosts_over(r, 1) ? EXIT_UNPLACED : EXIT_OK;
out:
    lp_rebalance_free(r);
    free(history);
    free(history_text);
    lp_cluster_free(c);
    return rc;
}

static int cmd_params(lp_ctx *ctx, int argc, char **argv)
{
    if (argc > 2) {
        if (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
            usage_params(stdout);
            return EXIT_OK;
        }
        return bad_usage("params: unknown argument '%s'", argv[2]);
    }
    for (size_t i = 0; lp_policy_param_name(i); i++) {
        double v = 0;
        lp_ctx_get_param(ctx, lp_policy_param_name(i), &v);
        printf("%-22s %-10g %s\n", lp_policy_param_name(i), v, lp_policy_param_help(i));
    }
    for (lp_class k = LP_CLASS_UNKNOWN; k < LP_CLASS_AUTO; k++) {
        char order[64];
        if (lp_ctx_get_runtime_order(ctx, k, order, sizeof order) == LP_OK)
            printf("order %-16s %s\n", lp_class_name(k), order);
    }
    return EXIT_OK;
}

/* A result that did not reach stdout (full disk, closed pipe) is a failure,
 * not a success: check once, at the end, what every printf left behind. */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the output: %s\n", prog, strerror(errno));
        return EXIT_INTERNAL;
    }
    return rc;
}

static const char *const commands[] = {"validate", "classify", "place",  "explain",
                                       "rebalance", "fetch",   "params", NULL};

int main(int argc, char **argv)
{
    char help_flag[] = "--help";
    char *help_argv[] = {argv[0], NULL, help_flag, NULL};
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        if (argc > 3)
            return finish(bad_usage("help takes one command: lpctl help COMMAND"));
        if (argc == 3 && !lpctl_opt_find(argv[2], commands))
            return finish(bad_usage("help: unknown command '%s'", argv[2]));
        if (argc == 2) {
            usage_main(stdout);
            return finish(EXIT_OK);
        }
        /* 'lpctl help COMMAND' is 'lpctl COMMAND --help' */
        help_argv[1] = argv[2];
        argc = 3;
        argv = help_argv;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_main(argc < 2 ? stderr : stdout);
        return finish(argc < 2 ? EXIT_BADINPUT : EXIT_OK);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("lpctl %s\n", lp_version());
        return finish(EXIT_OK);
    }
    if (strcmp(argv[1], "fetch") == 0)
        return finish(lpctl_fetch_main(argc - 1, argv + 1));
    lp_ctx *ctx;
    if (lp_ctx_new(&ctx) != LP_OK) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return EXIT_INTERNAL;
    }
    int rc;
    const char *cmd = argv[1];
    if (strcmp(cmd, "validate") == 0)
        rc = cmd_validate(ctx, argc, argv);
    else if (strcmp(cmd, "classify") == 0)
        rc = cmd_classify(ctx, argc, argv);
    else if (strcmp(cmd, "place") == 0)
        rc = cmd_place(ctx, argc, argv, 0);
    else if (strcmp(cmd, "explain") == 0)
        rc = cmd_place(ctx, argc, argv, 1);
    else if (strcmp(cmd, "rebalance") == 0)
        rc = cmd_rebalance(ctx, argc, argv);
    else if (strcmp(cmd, "params") == 0)
        rc = cmd_params(ctx, argc, argv);
    else
        rc = bad_usage("unknown command '%s'", cmd);
    lp_ctx_free(ctx);
    return finish(rc);
}
