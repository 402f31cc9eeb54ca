/*
 * JSON codec, reading side: snapshots, cluster files and request files
 * (docs/formats.md).  Parsing is strict and all-or-nothing: every field is
 * checked against the tables below before anything is added to the caller's
 * cluster or request list, and every error names the origin, the position
 * (syntax errors) or the JSON path (semantic errors), what was expected and
 * what was found.
 */
#include "codec_internal.h"

#include <float.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- field tables (shared with codec_write.c) ----------------------------- */

#define NUM_MAX DBL_MAX
#define H(m) offsetof(lp_host, m)
#define W(m) offsetof(lp_workload, m)
#define R(m) offsetof(lp_request, m)

static const lp_field cpu_fields[] = {
    {"sockets", LP_F_UINT, H(sockets), 1, LP_JSON_MAX_CPUS, 0, NULL},
    {"cores", LP_F_UINT, H(cores), 1, LP_JSON_MAX_CPUS, 0, NULL},
    {"threads", LP_F_UINT, H(threads), 1, LP_JSON_MAX_CPUS, LP_FF_REQUIRED, NULL},
};
static const lp_fieldset cpu_set = {cpu_fields, sizeof cpu_fields / sizeof cpu_fields[0]};

static const lp_field load_fields[] = {
    {"demand", LP_F_NUMBER, H(load_demand), 0, NUM_MAX, 0, NULL},
    {"util", LP_F_NUMBER, H(load_util), 0, NUM_MAX, 0, NULL},
    {"iowait", LP_F_NUMBER, H(load_iowait), 0, 1, 0, NULL},
    {"steal", LP_F_NUMBER, H(load_steal), 0, 1, 0, NULL},
};
static const lp_fieldset load_set = {load_fields, sizeof load_fields / sizeof load_fields[0]};

static const lp_field host_fields[] = {
    {"host", LP_F_STRING, H(name), 0, 0, LP_FF_REQUIRED, NULL},
    {"time", LP_F_NUMBER, H(time), 0, LP_JSON_MAX_TIME, LP_FF_MILLIS, NULL},
    {"cpu", LP_F_OBJECT, 0, 0, 0, LP_FF_REQUIRED, &cpu_set},
    {"memory_mb", LP_F_NUMBER, H(memory_mb), 0, NUM_MAX, 0, NULL},
    {"memory_used_mb", LP_F_NUMBER, H(memory_used_mb), 0, NUM_MAX, 0, NULL},
    {"runtimes", LP_F_RUNTIMES, H(runtimes), 0, 0, 0, NULL},
    {"load", LP_F_OBJECT, 0, 0, 0, 0, &load_set},
};
const lp_fieldset lp_codec_host_fields = {host_fields, sizeof host_fields / sizeof host_fields[0]};

/* The metrics (vcpus .. disk_bps) are contiguous: a request's "metrics" uses that slice. */
#define METRICS_FIRST 2
#define METRICS_COUNT 9
static const lp_field workload_fields[] = {
    {"id", LP_F_STRING, W(id), 0, 0, LP_FF_REQUIRED, NULL},
    {"runtime", LP_F_RUNTIME, W(runtime), 0, 0, 0, NULL},
    {"vcpus", LP_F_NUMBER, W(vcpus), 0, NUM_MAX, 0, NULL},
    {"threads", LP_F_NUMBER, W(threads), 0, NUM_MAX, 0, NULL},
    {"memory_mb", LP_F_NUMBER, W(memory_mb), 0, NUM_MAX, 0, NULL},
    {"demand", LP_F_NUMBER, W(demand), 0, NUM_MAX, 0, NULL},
    {"util", LP_F_NUMBER, W(util), 0, NUM_MAX, 0, NULL},
    {"wait_ratio", LP_F_NUMBER, W(wait_ratio), 0, NUM_MAX, 0, NULL},
    {"iowait", LP_F_NUMBER, W(iowait), 0, 1, 0, NULL},
    {"net_bps", LP_F_NUMBER, W(net_bps), 0, NUM_MAX, 0, NULL},
    {"disk_bps", LP_F_NUMBER, W(disk_bps), 0, NUM_MAX, 0, NULL},
    {"class", LP_F_CLASS, W(klass), 0, 0, 0, NULL},
    {"confidence", LP_F_NUMBER, W(confidence), 0, 1, 0, NULL},
    {"group", LP_F_STRING, W(group), 0, 0, 0, NULL},
    {"image", LP_F_STRING, W(image), 0, 0, 0, NULL},
    {"flavor", LP_F_STRING, W(flavor), 0, 0, 0, NULL},
    {"class_since", LP_F_NUMBER, W(class_since), 0, LP_JSON_MAX_TIME, LP_FF_MILLIS, NULL},
};
const lp_fieldset lp_codec_workload_fields = {workload_fields,
                                              sizeof workload_fields / sizeof workload_fields[0]};
static const lp_fieldset metrics_set = {&workload_fields[METRICS_FIRST], METRICS_COUNT};

static const lp_field request_fields[] = {
    {"id", LP_F_STRING, R(id), 0, 0, LP_FF_REQUIRED, NULL},
    {"count", LP_F_UINT, R(count), 1, LP_MAX_COUNT, 0, NULL},
    {"vcpus", LP_F_NUMBER, R(vcpus), 0, NUM_MAX, LP_FF_MIN_OPEN, NULL},
    {"memory_mb", LP_F_NUMBER, R(memory_mb), 0, NUM_MAX, 0, NULL},
    {"class", LP_F_CLASS, R(klass), 0, 0, LP_FF_AUTO, NULL},
    {"parallelism", LP_F_NUMBER, R(parallelism), 0, NUM_MAX, 0, NULL},
    {"demand", LP_F_NUMBER, R(demand), 0, NUM_MAX, 0, NULL},
    {"runtime", LP_F_RUNTIME, R(runtime), 0, 0, LP_FF_AUTO, NULL},
    {"runtimes", LP_F_RUNTIMES, R(allowed_runtimes), 0, 0, LP_FF_NONEMPTY, NULL},
    {"group", LP_F_STRING, R(group), 0, 0, 0, NULL},
    {"image", LP_F_STRING, R(image), 0, 0, 0, NULL},
    {"flavor", LP_F_STRING, R(flavor), 0, 0, 0, NULL},
};
const lp_fieldset lp_codec_request_fields = {request_fields,
                                             sizeof request_fields / sizeof request_fields[0]};

/* ---- errors --------------------------------------------------------------- */

/* What the parse is working on: where messages go and what they are prefixed with. */
typedef struct pctx {
    lp_ctx *ctx;
    const char *origin;
    unsigned flags; /* LP_PARSE_* */
} pctx;

/* path + "." + name (either may be empty) into buf. */
static const char *join(char *buf, size_t len, const char *path, const char *name)
{
    snprintf(buf, len, "%s%s%s", path, (path[0] && name[0]) ? "." : "", name);
    return buf;
}

/* "<origin>: <path>.<name>: <message>" (path and name may be empty). */
__attribute__((format(printf, 5, 6)))
static lp_status fail_at(const pctx *pc, lp_status st, const char *path, const char *name,
                         const char *fmt, ...)
{
    char where[256], msg[LP_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    join(where, sizeof where, path, name);
    return lp_fail(pc->ctx, st, "%s: %s%s%s", pc->origin, where, where[0] ? ": " : "", msg);
}

/* A short rendering of a JSON value for "(got ...)". */
static const char *describe(json_object *v, char *buf, size_t len)
{
    switch (json_object_get_type(v)) {
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_null: return "null";
    default: break;
    }
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    if (strlen(s) > 60)
        snprintf(buf, len, "%.50s...", s);
    else
        snprintf(buf, len, "%s", s);
    return buf;
}

/* ---- the JSON text -------------------------------------------------------- */

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Line and column (1-based, columns in bytes) of byte offset off. */
static void position(const char *buf, size_t off, unsigned long *line, unsigned long *col)
{
    size_t bol = 0;
    *line = 1;
    for (size_t i = 0; i < off; i++)
        if (buf[i] == '\n') {
            (*line)++;
            bol = i + 1;
        }
    *col = (unsigned long)(off - bol) + 1;
}

__attribute__((format(printf, 5, 6)))
static lp_status fail_pos(const pctx *pc, lp_status st, const char *buf, size_t off,
                          const char *fmt, ...)
{
    char msg[LP_ERRMSG_LEN];
    unsigned long line, col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    position(buf, off, &line, &col);
    return lp_fail(pc->ctx, st, "%s: line %lu, column %lu: %s", pc->origin, line, col, msg);
}

/*
 * Run the tokener over buf[0, len) and then a NUL, which tells json-c that
 * the input ended (a bare number is otherwise never finished).  *end gets the
 * offset where parsing stopped (len if it needed more input).
 */
static json_object *tokenize(json_tokener *tok, const char *buf, size_t len, size_t *end)
{
    json_object *v = json_tokener_parse_ex(tok, buf, (int)len);
    *end = json_tokener_get_parse_end(tok);
    if (!v && json_tokener_get_error(tok) == json_tokener_continue) {
        v = json_tokener_parse_ex(tok, "", 1);
        *end = len;
    }
    return v;
}

/* buf[0, end) alone is one complete JSON value (so what follows is trailing data). */
static int complete_prefix(const char *buf, size_t end)
{
    json_tokener *tok = json_tokener_new_ex(LP_JSON_MAX_DEPTH);
    if (!tok)
        return 0;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    size_t e;
    json_object *v = tokenize(tok, buf, end, &e);
    json_tokener_free(tok);
    json_object_put(v);
    return v != NULL;
}

/* Parse the whole text into one JSON object (*out, caller puts it). */
static lp_status parse_text(const pctx *pc, const char *buf, size_t len, json_object **out)
{
    if (!buf && len)
        return lp_fail(pc->ctx, LP_EINVAL, "%s: input buffer is NULL", pc->origin);
    if (len > LP_JSON_MAX_BYTES)
        return lp_fail(pc->ctx, LP_ELIMIT, "%s: input is %zu bytes, over the limit of %u bytes",
                       pc->origin, len, LP_JSON_MAX_BYTES);
    size_t i = 0;
    while (i < len && is_ws(buf[i]))
        i++;
    if (i == len)
        return fail_pos(pc, LP_EPARSE, buf, i, "empty input (expected a JSON object)");
    const char *nul = memchr(buf, '\0', len);
    if (nul)
        return fail_pos(pc, LP_EPARSE, buf, (size_t)(nul - buf), "NUL byte in the input");

    json_tokener *tok = json_tokener_new_ex(LP_JSON_MAX_DEPTH);
    if (!tok)
        return lp_fail(pc->ctx, LP_ENOMEM, "%s: out of memory", pc->origin);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    size_t end;
    json_object *v = tokenize(tok, buf, len, &end);
    enum json_tokener_error err = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (end > len)
        end = len;
    if (!v) {
        if (err == json_tokener_error_depth)
            return fail_pos(pc, LP_ELIMIT, buf, end, "%s (the limit is %d levels)",
                            json_tokener_error_desc(err), LP_JSON_MAX_DEPTH);
        /* json-c's strict mode reports trailing data as an unexpected character */
        if (err == json_tokener_error_parse_unexpected && complete_prefix(buf, end))
            return fail_pos(pc, LP_EPARSE, buf, end, "trailing data after the JSON value");
        return fail_pos(pc, LP_EPARSE, buf, end, "%s", json_tokener_error_desc(err));
    }
    while (end < len && is_ws(buf[end]))
        end++;
    if (end < len) {
        json_object_put(v);
        return fail_pos(pc, LP_EPARSE, buf, end, "trailing data after the JSON value");
    }
    if (!json_object_is_type(v, json_type_object)) {
        char got[64];
        lp_status st = lp_fail(pc->ctx, LP_EPARSE,
                               "%s: the top level must be a JSON object (got %s)", pc->origin,
                               describe(v, got, sizeof got));
        json_object_put(v);
        return st;
    }
    *out = v;
    return LP_OK;
}

/* ---- values ----------------------------------------------------------------- */

/* "an integer >= 1", "a number in [0, 1]", "a number > 0", ... */
static const char *expect_text(const lp_field *f, char *buf, size_t len)
{
    const char *what = f->kind == LP_F_NUMBER ? "a number" : "an integer";
    if (f->max < NUM_MAX)
        snprintf(buf, len, "%s in %c%.15g, %.15g]", what, (f->flags & LP_FF_MIN_OPEN) ? '(' : '[',
                 f->min, f->max);
    else
        snprintf(buf, len, "%s %s %.15g", what, (f->flags & LP_FF_MIN_OPEN) ? ">" : ">=", f->min);
    return buf;
}

static lp_status parse_string(const pctx *pc, const char *path, const char *name, json_object *v,
                              const char **out)
{
    char got[64];
    if (!json_object_is_type(v, json_type_string))
        return fail_at(pc, LP_EPARSE, path, name, "must be a string (got %s)",
                       describe(v, got, sizeof got));
    size_t n = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (n == 0)
        return fail_at(pc, LP_EPARSE, path, name, "must not be empty");
    if (n > LP_JSON_MAX_NAME)
        return fail_at(pc, LP_ELIMIT, path, name, "is %zu bytes long, over the limit of %d", n,
                       LP_JSON_MAX_NAME);
    if (strlen(s) != n)
        return fail_at(pc, LP_EPARSE, path, name, "must not contain NUL characters (\\u0000)");
    *out = s;
    return LP_OK;
}

/* One runtime name; "auto" only with LP_FF_AUTO, "none" never (omit the field instead). */
static lp_status parse_runtime(const pctx *pc, const char *path, const char *name,
                               json_object *v, unsigned flags, lp_runtime *out)
{
    char got[64];
    const char *expect = (flags & LP_FF_AUTO) ? "container, unikernel, vm, auto"
                                              : "container, unikernel, vm";
    if (!json_object_is_type(v, json_type_string))
        return fail_at(pc, LP_EPARSE, path, name, "must be a runtime name: one of %s (got %s)",
                       expect, describe(v, got, sizeof got));
    lp_runtime r;
    if (lp_runtime_parse(NULL, json_object_get_string(v), &r) != LP_OK || r == LP_RUNTIME_NONE ||
        (r == LP_RUNTIME_AUTO && !(flags & LP_FF_AUTO)))
        return fail_at(pc, LP_EPARSE, path, name, "unknown runtime %s (expected one of %s)",
                       describe(v, got, sizeof got), expect);
    *out = r;
    return LP_OK;
}

static lp_status parse_runtimes(const pctx *pc, const char *path, const lp_field *f,
                                json_object *v, unsigned *out)
{
    char got[64], item[64];
    if (!json_object_is_type(v, json_type_array))
        return fail_at(pc, LP_EPARSE, path, f->name,
                       "must be a list of runtime names (container, unikernel, vm) (got %s)",
                       describe(v, got, sizeof got));
    size_t n = json_object_array_length(v);
    if (n == 0 && (f->flags & LP_FF_NONEMPTY))
        return fail_at(pc, LP_EPARSE, path, f->name, "must name at least one runtime");
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        lp_runtime r;
        snprintf(item, sizeof item, "%s[%zu]", f->name, i);
        lp_status st = parse_runtime(pc, path, item, json_object_array_get_idx(v, i), 0, &r);
        if (st)
            return st;
        if (bits & (unsigned)r)
            return fail_at(pc, LP_EPARSE, path, item, "runtime \"%s\" is listed twice",
                           lp_runtime_name(r));
        bits |= (unsigned)r;
    }
    *out = bits;
    return LP_OK;
}

static lp_status parse_fields(const pctx *pc, json_object *o, const lp_fieldset *set, char *base,
                              const char *path, const char *const *extra);

/* One member's value into base + f->off. */
static lp_status parse_value(const pctx *pc, const lp_field *f, json_object *v, char *base,
                             const char *path)
{
    char got[64], expect[96];
    void *p = base + f->off;
    switch (f->kind) {
    case LP_F_STRING:
        return parse_string(pc, path, f->name, v, (const char **)p);
    case LP_F_UINT: {
        /* json-c saturates integers beyond int64 range, which the ranges then reject */
        if (!json_object_is_type(v, json_type_int))
            return fail_at(pc, LP_EPARSE, path, f->name, "must be %s (got %s)",
                           expect_text(f, expect, sizeof expect), describe(v, got, sizeof got));
        int64_t i = json_object_get_int64(v);
        if (!lp_field_in_range(f, (double)i))
            return fail_at(pc, LP_EPARSE, path, f->name, "must be %s (got %s)",
                           expect_text(f, expect, sizeof expect), describe(v, got, sizeof got));
        *(unsigned *)p = (unsigned)i;
        return LP_OK;
    }
    case LP_F_NUMBER: {
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
            return fail_at(pc, LP_EPARSE, path, f->name, "must be %s (got %s)",
                           expect_text(f, expect, sizeof expect), describe(v, got, sizeof got));
        double d = json_object_get_double(v);
        if (!isfinite(d) || !lp_field_in_range(f, d))
            return fail_at(pc, LP_EPARSE, path, f->name, "must be %s%s (got %s)",
                           isfinite(d) ? "" : "finite: ", expect_text(f, expect, sizeof expect),
                           describe(v, got, sizeof got));
        *(double *)p = d;
        return LP_OK;
    }
    case LP_F_CLASS: {
        const char *names = (f->flags & LP_FF_AUTO) ? "cpu, net, io, mixed, idle, unknown, auto"
                                                    : "cpu, net, io, mixed, idle, unknown";
        lp_class k;
        if (!json_object_is_type(v, json_type_string))
            return fail_at(pc, LP_EPARSE, path, f->name, "must be a class name: one of %s (got %s)",
                           names, describe(v, got, sizeof got));
        if (lp_class_parse(NULL, json_object_get_string(v), &k) != LP_OK ||
            (k == LP_CLASS_AUTO && !(f->flags & LP_FF_AUTO)))
            return fail_at(pc, LP_EPARSE, path, f->name, "unknown class %s (expected one of %s)",
                           describe(v, got, sizeof got), names);
        *(lp_class *)p = k;
        return LP_OK;
    }
    case LP_F_RUNTIME:
        return parse_runtime(pc, path, f->name, v, f->flags, (lp_runtime *)p);
    case LP_F_RUNTIMES:
        return parse_runtimes(pc, path, f, v, (unsigned *)p);
    case LP_F_OBJECT: {
        char sub[256];
        join(sub, sizeof sub, path, f->name);
        if (!json_object_is_type(v, json_type_object))
            return fail_at(pc, LP_EPARSE, sub, "", "must be an object (got %s)",
                           describe(v, got, sizeof got));
        return parse_fields(pc, v, f->sub, (char *)p, sub, NULL);
    }
    }
    return fail_at(pc, LP_EINVAL, path, f->name, "internal error: unknown field kind");
}

/*
 * Every member of o must be in set (or extra, handled by the caller): catches
 * typos.  With LP_PARSE_IGNORE_UNKNOWN the others are skipped instead (what a
 * newer writer added).
 */
static lp_status check_known(const pctx *pc, json_object *o, const lp_fieldset *set,
                             const char *path, const char *const *extra)
{
    if (pc->flags & LP_PARSE_IGNORE_UNKNOWN)
        return LP_OK;
    json_object_object_foreach(o, key, val) {
        (void)val;
        int known = 0;
        for (size_t i = 0; i < set->n && !known; i++)
            known = strcmp(key, set->fields[i].name) == 0;
        for (size_t i = 0; extra && extra[i] && !known; i++)
            known = strcmp(key, extra[i]) == 0;
        if (known)
            continue;
        char list[256];
        size_t off = 0;
        list[0] = '\0';
        for (size_t i = 0; i < set->n && off < sizeof list; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "",
                                    set->fields[i].name);
        for (size_t i = 0; extra && extra[i] && off < sizeof list; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "",
                                    extra[i]);
        char shown[80];
        snprintf(shown, sizeof shown, "%.60s%s", key, strlen(key) > 60 ? "..." : "");
        for (char *p = shown; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == '"')
                *p = '?'; /* keep the message on one line and its quotes balanced */
        return fail_at(pc, LP_EPARSE, path, "", "unknown field \"%s\" (known fields: %s)", shown,
                       list);
    }
    return LP_OK;
}

/* Parse the members of o described by set into base; null or absent = default. */
static lp_status parse_fields(const pctx *pc, json_object *o, const lp_fieldset *set, char *base,
                              const char *path, const char *const *extra)
{
    lp_status st = check_known(pc, o, set, path, extra);
    if (st)
        return st;
    for (size_t i = 0; i < set->n; i++) {
        const lp_field *f = &set->fields[i];
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, f->name, &v) || !v) {
            if (f->flags & LP_FF_REQUIRED)
                return fail_at(pc, LP_EPARSE, path, f->name, "missing (this field is required)");
            continue;
        }
        if ((st = parse_value(pc, f, v, base, path)))
            return st;
    }
    return LP_OK;
}

/* A member that must be an array of at most max entries; absent or null -> NULL. */
static lp_status get_array(const pctx *pc, json_object *o, const char *path, const char *name,
                           size_t max, int required, json_object **out, size_t *n)
{
    char got[64];
    json_object *v = NULL;
    *out = NULL;
    *n = 0;
    if (!json_object_object_get_ex(o, name, &v) || !v) {
        if (required)
            return fail_at(pc, LP_EPARSE, path, name, "missing (this field is required)");
        return LP_OK;
    }
    if (!json_object_is_type(v, json_type_array))
        return fail_at(pc, LP_EPARSE, path, name, "must be a list (got %s)",
                       describe(v, got, sizeof got));
    *n = json_object_array_length(v);
    if (*n > max)
        return fail_at(pc, LP_ELIMIT, path, name, "has %zu entries, over the limit of %zu", *n,
                       max);
    *out = v;
    return LP_OK;
}

/* ---- hosts ------------------------------------------------------------------ */

/*
 * One snapshot object into h; strings borrow from o.  *wl receives the
 * workload array (caller frees).  need_schema: "schema" must be present.
 */
static lp_status parse_host(const pctx *pc, json_object *o, const char *path, int need_schema,
                            lp_host *h, lp_workload **wl)
{
    static const char *const extra[] = {"schema", "workloads", NULL};
    char got[64], sub[256];
    lp_status st;
    json_object *v;

    *wl = NULL;
    lp_host_init(h, LP_HOST_VERSION);
    if (!json_object_is_type(o, json_type_object))
        return fail_at(pc, LP_EPARSE, path, "", "must be a snapshot object (got %s)",
                       describe(o, got, sizeof got));
    if (json_object_object_get_ex(o, "schema", &v) && v) {
        if (!json_object_is_type(v, json_type_string) ||
            strcmp(json_object_get_string(v), LP_SNAPSHOT_SCHEMA) != 0)
            return fail_at(pc, LP_EPARSE, path, "schema",
                           "unknown schema %s (expected \"" LP_SNAPSHOT_SCHEMA "\")",
                           describe(v, got, sizeof got));
    } else if (need_schema) {
        return fail_at(pc, LP_EPARSE, path, "schema",
                       "missing (expected \"" LP_SNAPSHOT_SCHEMA "\")");
    }
    if ((st = parse_fields(pc, o, &lp_codec_host_fields, (char *)h, path, extra)))
        return st;
    join(sub, sizeof sub, path, "cpu");
    if (h->cores > h->threads)
        return fail_at(pc, LP_EPARSE, sub, "cores", "must be <= cpu.threads (got %u > %u)",
                       h->cores, h->threads);
    if (h->sockets > h->cores)
        return fail_at(pc, LP_EPARSE, sub, "sockets", "must be <= cpu.cores (got %u > %u)",
                       h->sockets, h->cores);

    json_object *arr;
    size_t n;
    if ((st = get_array(pc, o, path, "workloads", LP_MAX_WORKLOADS, 0, &arr, &n)) || n == 0)
        return st;
    lp_workload *ws = calloc(n, sizeof *ws);
    if (!ws)
        return fail_at(pc, LP_ENOMEM, path, "workloads", "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        snprintf(sub, sizeof sub, "%s%sworkloads[%zu]", path, path[0] ? "." : "", i);
        lp_workload_init(&ws[i], LP_WORKLOAD_VERSION);
        if (!json_object_is_type(e, json_type_object))
            st = fail_at(pc, LP_EPARSE, sub, "", "must be a workload object (got %s)",
                         describe(e, got, sizeof got));
        else
            st = parse_fields(pc, e, &lp_codec_workload_fields, (char *)&ws[i], sub, NULL);
        if (st) {
            free(ws);
            return st;
        }
    }
    h->workloads = ws;
    h->n_workloads = n;
    *wl = ws;
    return LP_OK;
}

/* Add hosts[0, n) to c once each passed lp_host_validate() (message prefixed with its path). */
static lp_status add_hosts(const pctx *pc, lp_cluster *c, const lp_host *hosts, size_t n,
                           const char *list)
{
    char path[64];
    for (size_t i = 0; i < n; i++) {
        if (list)
            snprintf(path, sizeof path, "%s[%zu]", list, i);
        else
            path[0] = '\0';
        if (lp_cluster_has(c, hosts[i].name))
            return fail_at(pc, LP_EINVAL, path, "host", "host \"%s\" is already in the cluster",
                           hosts[i].name);
        if (lp_host_validate(pc->ctx, &hosts[i]) != LP_OK) {
            char why[LP_ERRMSG_LEN];
            snprintf(why, sizeof why, "%s", lp_ctx_last_error(pc->ctx));
            return fail_at(pc, LP_EPARSE, path, "", "%s", why);
        }
    }
    /* Everything is checked: only running out of memory can fail from here,
       and then the hosts added so far are taken out again (all or nothing). */
    size_t before = lp_cluster_size(c);
    for (size_t i = 0; i < n; i++) {
        lp_status st = lp_cluster_add_host(pc->ctx, c, &hosts[i]);
        if (st) {
            char why[LP_ERRMSG_LEN];
            snprintf(why, sizeof why, "%s", lp_ctx_last_error(pc->ctx));
            lp_cluster_truncate(c, before);
            return lp_fail(pc->ctx, st, "%s: %s", pc->origin, why);
        }
    }
    return LP_OK;
}

/* Set up pc for one call; refuses flags this library does not know. */
static lp_status pctx_init(pctx *pc, lp_ctx *ctx, const char *origin, unsigned flags)
{
    pc->ctx = ctx;
    pc->origin = origin ? origin : "<input>";
    pc->flags = flags;
    if (flags & ~(unsigned)LP_PARSE_IGNORE_UNKNOWN)
        return lp_fail(ctx, LP_EINVAL, "%s: unknown parse flags 0x%x", pc->origin, flags);
    return LP_OK;
}

lp_status lp_cluster_parse_snapshot(lp_ctx *ctx, lp_cluster *c, const char *buf, size_t len,
                                    const char *origin, unsigned flags)
{
    pctx pc;
    lp_status st = pctx_init(&pc, ctx, origin, flags);
    if (st)
        return st;
    if (!c)
        return lp_fail(ctx, LP_EINVAL, "%s: cluster is NULL", pc.origin);
    json_object *root;
    if ((st = parse_text(&pc, buf, len, &root)))
        return st;
    lp_host h;
    lp_workload *ws;
    if (!(st = parse_host(&pc, root, "", 1, &h, &ws))) {
        st = add_hosts(&pc, c, &h, 1, NULL);
        free(ws);
    }
    json_object_put(root);
    return st;
}

lp_status lp_cluster_parse(lp_ctx *ctx, lp_cluster *c, const char *buf, size_t len,
                           const char *origin, unsigned flags)
{
    static const lp_fieldset none = {NULL, 0};
    static const char *const top[] = {"hosts", NULL};
    pctx pc;
    lp_status st = pctx_init(&pc, ctx, origin, flags);
    if (st)
        return st;
    if (!c)
        return lp_fail(ctx, LP_EINVAL, "%s: cluster is NULL", pc.origin);
    json_object *root, *arr;
    size_t n = 0, done = 0;
    if ((st = parse_text(&pc, buf, len, &root)))
        return st;
    lp_host *hosts = NULL;
    lp_workload **wls = NULL;
    struct lh_table *names = NULL;
    if ((st = check_known(&pc, root, &none, "", top)) ||
        (st = get_array(&pc, root, "", "hosts", LP_MAX_HOSTS, 1, &arr, &n)) || n == 0)
        goto out;
    hosts = calloc(n, sizeof *hosts);
    wls = calloc(n, sizeof *wls);
    /* name -> index, to report duplicates in O(1) each; keys borrow from the JSON tree */
    names = lh_kchar_table_new(n < 16 ? 16 : (int)(2 * n), NULL);
    if (!hosts || !wls || !names) {
        st = lp_fail(ctx, LP_ENOMEM, "%s: out of memory", pc.origin);
        goto out;
    }
    for (; done < n; done++) {
        char path[48];
        snprintf(path, sizeof path, "hosts[%zu]", done);
        if ((st = parse_host(&pc, json_object_array_get_idx(arr, done), path, 0, &hosts[done],
                             &wls[done])))
            goto out;
        void *prev;
        if (lh_table_lookup_ex(names, hosts[done].name, &prev)) {
            st = fail_at(&pc, LP_EPARSE, path, "host",
                         "duplicate host name \"%s\" (also hosts[%zu])", hosts[done].name,
                         (size_t)(uintptr_t)prev);
            done++;
            goto out;
        }
        if (lh_table_insert(names, hosts[done].name, (void *)(uintptr_t)done) != 0) {
            st = lp_fail(ctx, LP_ENOMEM, "%s: out of memory", pc.origin);
            done++;
            goto out;
        }
    }
    st = add_hosts(&pc, c, hosts, n, "hosts");
out:
    for (size_t i = 0; wls && i < done; i++)
        free(wls[i]);
    free(wls);
    free(hosts);
    if (names)
        lh_table_free(names);
    json_object_put(root);
    return st;
}

/* ---- requests ----------------------------------------------------------------- */

/* One request object into r; strings borrow from o, r->metrics points to *m when given. */
static lp_status parse_request(const pctx *pc, json_object *o, const char *path, lp_request *r,
                               lp_workload *m)
{
    static const char *const extra[] = {"metrics", NULL};
    char got[64];
    lp_status st;
    json_object *v;
    lp_request_init(r, LP_REQUEST_VERSION);
    if (!json_object_is_type(o, json_type_object))
        return fail_at(pc, LP_EPARSE, path, "", "must be a request object (got %s)",
                       describe(o, got, sizeof got));
    if ((st = parse_fields(pc, o, &lp_codec_request_fields, (char *)r, path, extra)))
        return st;
    if (json_object_object_get_ex(o, "metrics", &v) && v) {
        char sub[256];
        join(sub, sizeof sub, path, "metrics");
        if (!json_object_is_type(v, json_type_object))
            return fail_at(pc, LP_EPARSE, sub, "", "must be an object (got %s)",
                           describe(v, got, sizeof got));
        lp_workload_init(m, LP_WORKLOAD_VERSION);
        if ((st = parse_fields(pc, v, &metrics_set, (char *)m, sub, NULL)))
            return st;
        r->metrics = m;
    }
    if (r->runtime != LP_RUNTIME_AUTO && !(r->allowed_runtimes & (unsigned)r->runtime))
        return fail_at(pc, LP_EPARSE, path, "runtime",
                       "\"%s\" is not one of the request's runtimes", lp_runtime_name(r->runtime));
    return LP_OK;
}

/* Marks, in the id table of lp_requests_parse(), the ids of requests already in the list. */
#define IN_LIST UINTPTR_MAX

lp_status lp_requests_parse(lp_ctx *ctx, lp_requests *rs, const char *buf, size_t len,
                            const char *origin)
{
    static const lp_fieldset none = {NULL, 0};
    static const char *const top[] = {"requests", NULL};
    pctx pc;
    lp_status st = pctx_init(&pc, ctx, origin, 0);
    if (st)
        return st;
    if (!rs)
        return lp_fail(ctx, LP_EINVAL, "%s: request list is NULL", pc.origin);
    json_object *root, *arr;
    size_t n = 0, before = lp_requests_size(rs);
    if ((st = parse_text(&pc, buf, len, &root)))
        return st;
    struct lh_table *ids = NULL;
    if ((st = check_known(&pc, root, &none, "", top)) ||
        (st = get_array(&pc, root, "", "requests", LP_MAX_REQUESTS, 1, &arr, &n)))
        goto out;
    /* id -> index in the file (IN_LIST for those already in rs), to report
       duplicates in O(1) each; keys borrow from the JSON tree and from rs */
    ids = lh_kchar_table_new(n + before < 16 ? 16 : (int)(2 * (n + before)), NULL);
    for (size_t k = 0; ids && k < before; k++)
        if (lh_table_insert(ids, lp_requests_get(rs, k)->id, (void *)IN_LIST) != 0) {
            lh_table_free(ids);
            ids = NULL;
        }
    if (!ids) {
        st = lp_fail(ctx, LP_ENOMEM, "%s: out of memory", pc.origin);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char path[48];
        lp_request r;
        lp_workload metrics;
        void *prev;
        snprintf(path, sizeof path, "requests[%zu]", i);
        if ((st = parse_request(&pc, json_object_array_get_idx(arr, i), path, &r, &metrics)))
            goto out;
        if (lh_table_lookup_ex(ids, r.id, &prev)) {
            if ((uintptr_t)prev == IN_LIST)
                st = fail_at(&pc, LP_EINVAL, path, "id",
                             "request id \"%s\" is already in the request list", r.id);
            else
                st = fail_at(&pc, LP_EPARSE, path, "id",
                             "duplicate request id \"%s\" (also requests[%zu])", r.id,
                             (size_t)(uintptr_t)prev);
            goto out;
        }
        if (lh_table_insert(ids, r.id, (void *)(uintptr_t)i) != 0) {
            st = lp_fail(ctx, LP_ENOMEM, "%s: out of memory", pc.origin);
            goto out;
        }
        if ((st = lp_requests_add(ctx, rs, &r))) {
            char why[LP_ERRMSG_LEN];
            snprintf(why, sizeof why, "%s", lp_ctx_last_error(ctx));
            st = fail_at(&pc, st == LP_EINVAL ? LP_EPARSE : st, path, "", "%s", why);
            goto out;
        }
    }
out:
    if (st)
        lp_requests_truncate(rs, before); /* all or nothing */
    if (ids)
        lh_table_free(ids);
    json_object_put(root);
    return st;
}
