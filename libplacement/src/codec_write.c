/*
 * JSON codec, writing side: snapshots, cluster files and plans
 * (docs/formats.md; a plan as text is lp_plan_write_text() in explain.c).
 * Snapshots are written by the same field tables the
 * reader uses, fields still at their "unknown" default are left out, and
 * numbers are written in the shortest form that reads back exactly, so that
 * what is written parses back to an equal host.  The text is produced by a
 * small streaming writer rather than a json-c tree: building a tree costs
 * several allocations per value, and writing 10,000 hosts that way was 25x
 * slower (bench/bench_codec.c).
 */
#include "codec_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Shortest text that strtod() reads back as exactly d (d finite), with a
 * ".0" on whole numbers so that typed readers (Python's json) get a float.
 */
static void format_double(double d, char buf[32])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".e"))
        strcat(buf, ".0");
}

/* ---- a streaming JSON writer ---------------------------------------------- */

/*
 * JSON text is appended straight into one growing buffer: no tree of
 * objects, so writing costs a few appends per field.  Running out of memory
 * is sticky (later appends do nothing) and reported once at the end; a value
 * that cannot be written sets st.
 */
#define JW_MAX_DEPTH 16

typedef struct jw {
    lp_ctx *ctx;
    lp_status st;          /* first error (LP_EINVAL for an unwritable value) */
    char *buf;
    size_t len, cap;
    int nomem;
    int pretty;
    int depth;
    int first[JW_MAX_DEPTH]; /* no member/element written yet at this depth */
} jw;

static void jw_init(jw *w, lp_ctx *ctx, int pretty, int depth)
{
    *w = (jw){.ctx = ctx, .pretty = pretty, .depth = depth};
}

static void jw_raw(jw *w, const char *s, size_t n)
{
    if (w->nomem)
        return;
    if (w->cap - w->len < n + 1) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < n + 1)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
            w->nomem = 1;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void jw_str(jw *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

static void jw_newline(jw *w)
{
    static const char spaces[] = "                                ";
    if (!w->pretty)
        return;
    jw_raw(w, "\n", 1);
    jw_raw(w, spaces, (size_t)(2 * w->depth) < sizeof spaces - 1 ? (size_t)(2 * w->depth)
                                                                  : sizeof spaces - 1);
}

/* Separator before the next member or element at the current depth. */
static void jw_next(jw *w)
{
    if (!w->first[w->depth])
        jw_raw(w, ",", 1);
    w->first[w->depth] = 0;
    jw_newline(w);
}

static void jw_quoted(jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    jw_raw(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jw_raw(w, run, (size_t)(s - run));
        run = s + 1;
        char esc[6] = {'\\', (char)c, 0};
        size_t n = 2;
        switch (c) {
        case '"': case '\\': break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        jw_raw(w, esc, n);
    }
    jw_raw(w, run, (size_t)(s - run));
    jw_raw(w, "\"", 1);
}

/* Open '{' or '[' as the current value. */
static void jw_open(jw *w, char c)
{
    jw_raw(w, &c, 1);
    w->depth++; /* formats nest at most 5 deep: JW_MAX_DEPTH is never reached */
    w->first[w->depth] = 1;
}

static void jw_close(jw *w, char c)
{
    int empty = w->first[w->depth];
    w->depth--;
    if (!empty)
        jw_newline(w);
    jw_raw(w, &c, 1);
}

/* Start member key of the current object; its value follows. */
static void jw_key(jw *w, const char *key)
{
    jw_next(w);
    jw_quoted(w, key);
    jw_raw(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
}

static void jw_number(jw *w, double d)
{
    char text[32];
    format_double(d, text);
    jw_str(w, text);
}

static void jw_int(jw *w, int64_t i)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, i);
    jw_str(w, text);
}

static int bad(jw *w, const char *where, const char *field, const char *what)
{
    /* where ends in its separator: "host 'a': ", "host 'a': cpu.", ... */
    w->st = lp_fail(w->ctx, LP_EINVAL, "%s%s %s", where, field, what);
    return -1;
}

/* Hand the text to the caller, or report why there is none. */
static lp_status jw_finish(jw *w, char **out, size_t *len)
{
    if (w->st || w->nomem) {
        free(w->buf);
        return w->st ? w->st : lp_fail(w->ctx, LP_ENOMEM, "out of memory writing JSON");
    }
    *out = w->buf;
    if (len)
        *len = w->len;
    return LP_OK;
}

/* ---- snapshots and clusters ------------------------------------------------- */

static void runtime_list(jw *w, unsigned bits)
{
    static const lp_runtime all[] = {LP_RUNTIME_CONTAINER, LP_RUNTIME_UNIKERNEL, LP_RUNTIME_VM};
    jw_open(w, '[');
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (bits & all[i]) {
            jw_next(w);
            jw_quoted(w, lp_runtime_name(all[i]));
        }
    jw_close(w, ']');
}

/*
 * Write the members of set from base, leaving out optional members that
 * hold their default (def) or, for numbers whose default is "unknown" (< 0),
 * any negative value; and refusing values the reader would refuse.
 * @return 0, or -1 with w->st set.
 */
static int write_fields(jw *w, const lp_fieldset *set, const char *base, const char *def,
                        const char *where)
{
    for (size_t i = 0; i < set->n; i++) {
        const lp_field *f = &set->fields[i];
        const void *p = base + f->off, *d = def + f->off;
        int req = (f->flags & LP_FF_REQUIRED) != 0;
        switch (f->kind) {
        case LP_F_STRING: {
            const char *s = *(const char *const *)p;
            if (req && (!s || !s[0]))
                return bad(w, where, f->name, "is missing");
            if (!s || (!req && *(const char *const *)d && strcmp(s, *(const char *const *)d) == 0))
                continue;
            if (!s[0])
                return bad(w, where, f->name, "is empty (leave it NULL when unknown)");
            if (strlen(s) > LP_JSON_MAX_NAME)
                return bad(w, where, f->name, "is longer than 255 bytes");
            jw_key(w, f->name);
            jw_quoted(w, s);
            break;
        }
        case LP_F_UINT:
            if (!req && *(const unsigned *)p == *(const unsigned *)d)
                continue;
            if (!lp_field_in_range(f, *(const unsigned *)p))
                return bad(w, where, f->name, "is out of range");
            jw_key(w, f->name);
            jw_int(w, *(const unsigned *)p);
            break;
        case LP_F_NUMBER: {
            double x = *(const double *)p, dx = *(const double *)d;
            if (!isfinite(x))
                return bad(w, where, f->name, "is not a finite number");
            if (!req && (x == dx || (dx < 0 && x < 0)))
                continue;
            if (!lp_field_in_range(f, x))
                return bad(w, where, f->name, "is out of range");
            jw_key(w, f->name);
            /* ranges of times end on a whole second: rounding stays within */
            jw_number(w, (f->flags & LP_FF_MILLIS) ? round(x * 1000) / 1000 : x);
            break;
        }
        case LP_F_CLASS:
            if (!req && *(const lp_class *)p == *(const lp_class *)d)
                continue;
            jw_key(w, f->name);
            jw_quoted(w, lp_class_name(*(const lp_class *)p));
            break;
        case LP_F_RUNTIME:
            if (!req && *(const lp_runtime *)p == *(const lp_runtime *)d)
                continue;
            jw_key(w, f->name);
            jw_quoted(w, lp_runtime_name(*(const lp_runtime *)p));
            break;
        case LP_F_RUNTIMES:
            if (!req && *(const unsigned *)p == *(const unsigned *)d)
                continue;
            jw_key(w, f->name);
            runtime_list(w, *(const unsigned *)p);
            break;
        case LP_F_OBJECT: {
            /* written, then taken back if it stayed empty and is optional */
            size_t mark = w->len;
            int was_first = w->first[w->depth];
            char sub[256];
            snprintf(sub, sizeof sub, "%s%s.", where, f->name);
            jw_key(w, f->name);
            jw_open(w, '{');
            if (write_fields(w, f->sub, (const char *)p, (const char *)d, sub))
                return -1;
            int empty = w->first[w->depth];
            jw_close(w, '}');
            if (empty && !req && !w->nomem) {
                w->len = mark;
                w->buf[mark] = '\0';
                w->first[w->depth] = was_first;
            }
            break;
        }
        }
    }
    return 0;
}

/* The snapshot object of h as the current value. @return 0, or -1 with w->st set. */
static int host_object(jw *w, const lp_host *h)
{
    lp_host hdef;
    lp_workload wdef;
    char where[160];
    lp_host_init(&hdef, LP_HOST_VERSION);
    lp_workload_init(&wdef, LP_WORKLOAD_VERSION);
    if ((w->st = lp_host_validate(w->ctx, h)))
        return -1;
    snprintf(where, sizeof where, "host '%.100s': ", h->name);
    jw_open(w, '{');
    jw_key(w, "schema");
    jw_quoted(w, LP_SNAPSHOT_SCHEMA);
    if (write_fields(w, &lp_codec_host_fields, (const char *)h, (const char *)&hdef, where))
        return -1;
    jw_key(w, "workloads");
    jw_open(w, '[');
    for (size_t i = 0; i < h->n_workloads; i++) {
        char wwhere[200];
        snprintf(wwhere, sizeof wwhere, "%sworkloads[%zu].", where, i);
        jw_next(w);
        jw_open(w, '{');
        if (write_fields(w, &lp_codec_workload_fields, (const char *)&h->workloads[i],
                         (const char *)&wdef, wwhere))
            return -1;
        jw_close(w, '}');
    }
    jw_close(w, ']');
    jw_close(w, '}');
    return 0;
}

/* Refuse flags this library does not know. */
static lp_status check_flags(lp_ctx *ctx, const char *fn, unsigned flags)
{
    if (flags & ~(unsigned)LP_JSON_PRETTY)
        return lp_fail(ctx, LP_EINVAL, "%s: unknown flags 0x%x", fn, flags);
    return LP_OK;
}

lp_status lp_host_write_json(lp_ctx *ctx, const lp_host *h, unsigned flags, char **out,
                             size_t *len)
{
    jw w;
    if (!h || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_host_write_json: %s is NULL", !h ? "host" : "out");
    lp_status st = check_flags(ctx, "lp_host_write_json", flags);
    if (st)
        return st;
    jw_init(&w, ctx, (flags & LP_JSON_PRETTY) != 0, 0);
    host_object(&w, h);
    return jw_finish(&w, out, len);
}

lp_status lp_cluster_write_json(lp_ctx *ctx, const lp_cluster *c, unsigned flags, char **out,
                                size_t *len)
{
    jw w;
    if (!c || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_cluster_write_json: %s is NULL", !c ? "cluster" : "out");
    lp_status st = check_flags(ctx, "lp_cluster_write_json", flags);
    if (st)
        return st;
    jw_init(&w, ctx, (flags & LP_JSON_PRETTY) != 0, 0);
    jw_open(&w, '{');
    jw_key(&w, "hosts");
    jw_open(&w, '[');
    for (size_t i = 0; i < lp_cluster_size(c); i++) {
        jw_next(&w);
        if (host_object(&w, lp_cluster_get_host(c, i)))
            break;
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    return jw_finish(&w, out, len);
}

/* ---- plans ------------------------------------------------------------------ */

/* An explanation text (lp_verdict_explain() sizes it) as the current value. */
static void explain_string(jw *w, const lp_verdict *v, const lp_host_load *h)
{
    char small[256];
    size_t need;
    if (lp_verdict_explain(NULL, v, h, small, sizeof small, &need) == LP_OK) {
        jw_quoted(w, small);
        return;
    }
    char *big = malloc(need + 1);
    if (!big) {
        w->nomem = 1;
        return;
    }
    lp_verdict_explain(NULL, v, h, big, need + 1, NULL);
    jw_quoted(w, big);
    free(big);
}

static void key_string(jw *w, const char *key, const char *value)
{
    jw_key(w, key);
    if (value)
        jw_quoted(w, value);
    else
        jw_str(w, "null");
}

/* "placements" entry for assignment a; loads are the hosts as a saw them. */
static int placement_object(jw *w, const lp_assignment *a, const lp_request *r,
                            const lp_cluster *c, const lp_host_load *loads, size_t n)
{
    jw_next(w);
    jw_open(w, '{');
    key_string(w, "request", r->id);
    jw_key(w, "instance");
    jw_int(w, a->instance);
    if (a->host >= 0) {
        const lp_verdict *v = &a->verdict;
        key_string(w, "host", lp_cluster_get_host(c, (size_t)a->host)->name);
        key_string(w, "runtime", lp_runtime_name(v->runtime));
        key_string(w, "class", lp_class_name(v->klass));
        jw_key(w, "score");
        jw_number(w, v->score);
        jw_key(w, "terms");
        jw_open(w, '{');
        for (int t = 0; t < LP_TERM_COUNT; t++) {
            jw_key(w, lp_term_name(t));
            jw_number(w, v->terms[t]);
        }
        jw_close(w, '}');
        key_string(w, "reason", lp_reason_name(LP_REASON_OK));
        jw_key(w, "explain");
        explain_string(w, v, &loads[a->host]);
    } else {
        lp_class klass;
        double added;
        char summary[LP_SUMMARY_MAX];
        if ((w->st = lp_request_resolve(w->ctx, r, &klass, &added)))
            return -1;
        lp_reason why = lp_refusal_summary(r, a->instance, a->hosts, n, summary);
        key_string(w, "host", NULL);
        key_string(w, "runtime", NULL);
        key_string(w, "class", lp_class_name(klass));
        key_string(w, "score", NULL);
        key_string(w, "terms", NULL);
        key_string(w, "reason", why == LP_REASON_OK ? "unplaced" : lp_reason_name(why));
        key_string(w, "explain", summary);
    }
    jw_close(w, '}');
    return 0;
}

/* "refusals" entry for unplaced assignment a: the summary, and every host's
 * explanation when kept. */
static void refusal_object(jw *w, const lp_assignment *a, const lp_request *r,
                           const lp_cluster *c, const lp_host_load *loads, size_t n)
{
    char summary[LP_SUMMARY_MAX];
    lp_refusal_summary(r, a->instance, a->hosts, n, summary);
    jw_next(w);
    jw_open(w, '{');
    key_string(w, "request", r->id);
    jw_key(w, "instance");
    jw_int(w, a->instance);
    key_string(w, "summary", summary);
    if (a->hosts) {
        jw_key(w, "hosts");
        jw_open(w, '{');
        for (size_t i = 0; i < n; i++) {
            jw_key(w, lp_cluster_get_host(c, i)->name);
            explain_string(w, &a->hosts[i], &loads[i]);
        }
        jw_close(w, '}');
    }
    jw_close(w, '}');
}

lp_status lp_plan_write_json(lp_ctx *ctx, const lp_plan *p, const lp_cluster *c,
                             const lp_requests *rs, unsigned flags, char **out, size_t *len)
{
    if (!ctx)
        return LP_EINVAL;
    if (!p || !c || !rs || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_plan_write_json: %s is NULL",
                       !p ? "plan" : !c ? "cluster" : !rs ? "requests" : "out");
    lp_status st = check_flags(ctx, "lp_plan_write_json", flags);
    if (st)
        return st;
    if ((st = lp_plan_check_match(ctx, "lp_plan_write_json", p, c, rs)))
        return st;
    size_t n = lp_cluster_size(c), np = lp_plan_size(p);
    /* Explanations quote free memory: replay what earlier instances took, as lp_plan_new() did. */
    lp_host_load *loads = calloc(n ? n : 1, sizeof *loads);
    if (!loads)
        return lp_fail(ctx, LP_ENOMEM, "out of memory writing JSON");
    st = lp_cluster_get_loads(ctx, c, NULL, loads, n);
    if (st) {
        free(loads);
        return st;
    }
    /* Refusals go to their own buffer (at their final depth) while the loads are current. */
    int pretty = (flags & LP_JSON_PRETTY) != 0;
    jw w, ref;
    jw_init(&w, ctx, pretty, 0);
    jw_init(&ref, ctx, pretty, 1);
    jw_open(&w, '{');
    jw_key(&w, "placements");
    jw_open(&w, '[');
    jw_open(&ref, '[');
    for (size_t i = 0; i < np; i++) {
        const lp_assignment *a = lp_plan_get(p, i);
        const lp_request *r = lp_requests_get(rs, a->request);
        if (placement_object(&w, a, r, c, loads, n))
            break;
        if (a->host < 0)
            refusal_object(&ref, a, r, c, loads, n);
        else
            lp_host_load_take(&loads[a->host], &a->verdict, r->group != NULL);
    }
    free(loads);
    jw_close(&w, ']');
    jw_close(&ref, ']');
    jw_key(&w, "placed");
    jw_int(&w, (int64_t)(np - lp_plan_unplaced(p)));
    jw_key(&w, "unplaced");
    jw_int(&w, (int64_t)lp_plan_unplaced(p));
    jw_key(&w, "refusals");
    if (ref.nomem)
        w.nomem = 1;
    else
        jw_raw(&w, ref.buf, ref.len);
    free(ref.buf);
    jw_close(&w, '}');
    return jw_finish(&w, out, len);
}

/* ---- rebalancing plans ---------------------------------------------------------- */

static const char *host_name_at(const lp_cluster *c, size_t i)
{
    const lp_host *h = lp_cluster_get_host(c, i);
    return h ? h->name : "?";
}

lp_status lp_rebalance_write_json(lp_ctx *ctx, const lp_rebalance *r, const lp_cluster *c,
                                  unsigned flags, char **out, size_t *len)
{
    if (!r || !c || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_rebalance_write_json: %s is NULL",
                       !r ? "plan" : !c ? "cluster" : "out");
    lp_status st = check_flags(ctx, "lp_rebalance_write_json", flags);
    if (st)
        return st;
    size_t n = lp_cluster_size(c);
    int same_size = !lp_rebalance_get_host(r, n) && (n == 0 || lp_rebalance_get_host(r, n - 1));
    if (!same_size)
        return lp_fail(ctx, LP_EINVAL, "lp_rebalance_write_json: the plan was not made on this "
                                       "cluster (%zu hosts)", n);
    jw w;
    jw_init(&w, ctx, (flags & LP_JSON_PRETTY) != 0, 0);
    jw_open(&w, '{');
    jw_key(&w, "moves");
    jw_open(&w, '[');
    for (size_t i = 0; i < lp_rebalance_move_count(r); i++) {
        const lp_move *m = lp_rebalance_get_move(r, i);
        jw_next(&w);
        jw_open(&w, '{');
        key_string(&w, "workload", m->workload);
        key_string(&w, "source", host_name_at(c, m->from));
        key_string(&w, "destination", host_name_at(c, m->to));
        jw_key(&w, "reserved");
        jw_number(&w, m->reserved);
        key_string(&w, "group", m->group);
        key_string(&w, "explain", m->explain);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_key(&w, "switches");
    jw_open(&w, '[');
    for (size_t i = 0; i < lp_rebalance_switch_count(r); i++) {
        const lp_switch *s = lp_rebalance_get_switch(r, i);
        jw_next(&w);
        jw_open(&w, '{');
        key_string(&w, "workload", s->workload);
        key_string(&w, "host", host_name_at(c, s->host));
        key_string(&w, "from", lp_runtime_name(s->from));
        key_string(&w, "to", lp_runtime_name(s->to));
        key_string(&w, "class", lp_class_name(s->klass));
        jw_key(&w, "confidence");
        jw_number(&w, s->confidence);
        jw_key(&w, "held_s");
        jw_number(&w, s->held_s);
        key_string(&w, "explain", s->explain);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_key(&w, "hosts");
    jw_open(&w, '[');
    for (size_t i = 0; i < n; i++) {
        const lp_host_outcome *h = lp_rebalance_get_host(r, i);
        jw_next(&w);
        jw_open(&w, '{');
        key_string(&w, "host", host_name_at(c, h->host));
        jw_key(&w, "capacity");
        jw_number(&w, h->capacity);
        jw_key(&w, "demand_before");
        jw_number(&w, h->demand_before);
        jw_key(&w, "demand_after");
        jw_number(&w, h->demand_after);
        jw_key(&w, "acted_on");
        jw_str(&w, h->acted_on ? "true" : "false");
        key_string(&w, "why", h->why);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_key(&w, "hosts_over_before");
    jw_int(&w, (int64_t)lp_rebalance_hosts_over(r, 0));
    jw_key(&w, "hosts_over_after");
    jw_int(&w, (int64_t)lp_rebalance_hosts_over(r, 1));
    jw_key(&w, "optimal");
    jw_str(&w, lp_rebalance_optimal(r) ? "true" : "false");
    jw_close(&w, '}');
    return jw_finish(&w, out, len);
}
