/*
 * JSON codec, writing side: snapshots, cluster files and plans
 * (docs/formats.md).  Snapshots are written by the same field tables the
 * reader uses, fields still at their "unknown" default are left out, and
 * numbers are written in the shortest form that reads back exactly, so that
 * what is written parses back to an equal host.
 */
#include "codec_internal.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lp_codec_format_double(double d, char buf[32])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* A JSON number that prints exactly as lp_codec_format_double() (d finite). */
static json_object *new_number(double d)
{
    char text[32];
    lp_codec_format_double(d, text);
    return json_object_new_double_s(d, text);
}

/* Add key: val to o; val == NULL means allocation failed (so does the return). */
static int put(json_object *o, const char *key, json_object *val)
{
    if (!val)
        return -1;
    if (json_object_object_add(o, key, val) != 0) {
        json_object_put(val);
        return -1;
    }
    return 0;
}

/* Add key: null (json-c represents null as a NULL object). */
static int put_null(json_object *o, const char *key)
{
    return json_object_object_add(o, key, NULL);
}

static int append(json_object *arr, json_object *val)
{
    if (!val)
        return -1;
    if (json_object_array_add(arr, val) != 0) {
        json_object_put(val);
        return -1;
    }
    return 0;
}

static json_object *runtime_list(unsigned bits)
{
    static const lp_runtime all[] = {LP_RUNTIME_CONTAINER, LP_RUNTIME_UNIKERNEL, LP_RUNTIME_VM};
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < sizeof all / sizeof all[0]; i++)
        if ((bits & all[i]) && append(a, json_object_new_string(lp_runtime_name(all[i])))) {
            json_object_put(a);
            return NULL;
        }
    return a;
}

/* Why writing failed: a value that cannot be written, or no memory. */
typedef struct wctx {
    lp_ctx *ctx;
    lp_status st;
} wctx;

static int bad(wctx *w, const char *where, const char *field, const char *what)
{
    w->st = lp_fail(w->ctx, LP_EINVAL, "%s: %s %s", where, field, what);
    return -1;
}

/*
 * Add the members of set from base to o, leaving out optional members that
 * hold their default (def) or, for numbers whose default is "unknown" (< 0),
 * any negative value.  @return 0, or -1 with w->st set.
 */
static int write_fields(wctx *w, json_object *o, const lp_fieldset *set, const char *base,
                        const char *def, const char *where)
{
    for (size_t i = 0; i < set->n; i++) {
        const lp_field *f = &set->fields[i];
        const void *p = base + f->off, *d = def + f->off;
        int req = (f->flags & LP_FF_REQUIRED) != 0;
        json_object *v = NULL;
        switch (f->kind) {
        case LP_F_STRING: {
            const char *s = *(const char *const *)p;
            if (req && (!s || !s[0]))
                return bad(w, where, f->name, "is missing");
            if (!s || (!req && *(const char *const *)d && strcmp(s, *(const char *const *)d) == 0))
                continue;
            v = json_object_new_string(s);
            break;
        }
        case LP_F_UINT:
            if (!req && *(const unsigned *)p == *(const unsigned *)d)
                continue;
            v = json_object_new_int64(*(const unsigned *)p);
            break;
        case LP_F_INT64:
            if (!req && *(const int64_t *)p == *(const int64_t *)d)
                continue;
            v = json_object_new_int64(*(const int64_t *)p);
            break;
        case LP_F_NUMBER: {
            double x = *(const double *)p, dx = *(const double *)d;
            if (!isfinite(x))
                return bad(w, where, f->name, "is not a finite number");
            if (!req && (x == dx || (dx < 0 && x < 0)))
                continue;
            v = new_number(x);
            break;
        }
        case LP_F_CLASS:
            if (!req && *(const lp_class *)p == *(const lp_class *)d)
                continue;
            v = json_object_new_string(lp_class_name(*(const lp_class *)p));
            break;
        case LP_F_RUNTIME:
            if (!req && *(const lp_runtime *)p == *(const lp_runtime *)d)
                continue;
            v = json_object_new_string(lp_runtime_name(*(const lp_runtime *)p));
            break;
        case LP_F_RUNTIMES:
            if (!req && *(const unsigned *)p == *(const unsigned *)d)
                continue;
            v = runtime_list(*(const unsigned *)p);
            break;
        case LP_F_OBJECT:
            v = json_object_new_object();
            if (v && write_fields(w, v, f->sub, (const char *)p, (const char *)d, where)) {
                json_object_put(v);
                return -1;
            }
            if (v && !req && json_object_object_length(v) == 0) {
                json_object_put(v);
                continue;
            }
            break;
        }
        if (put(o, f->name, v)) {
            w->st = lp_fail(w->ctx, LP_ENOMEM, "out of memory writing JSON");
            return -1;
        }
    }
    return 0;
}

/* The snapshot object of h; NULL with w->st set on failure. */
static json_object *host_object(wctx *w, const lp_host *h)
{
    lp_host hdef;
    lp_workload wdef;
    char where[160];
    lp_host_init(&hdef);
    lp_workload_init(&wdef);
    if ((w->st = lp_host_validate(w->ctx, h)))
        return NULL;
    snprintf(where, sizeof where, "host '%.100s'", h->name);
    json_object *o = json_object_new_object(), *ws = NULL;
    if (!o || put(o, "schema", json_object_new_string(LP_SNAPSHOT_SCHEMA)))
        goto nomem;
    if (write_fields(w, o, &lp_codec_host_fields, (const char *)h, (const char *)&hdef, where))
        goto fail;
    if (put(o, "workloads", ws = json_object_new_array()))
        goto nomem;
    for (size_t i = 0; i < h->n_workloads; i++) {
        char wwhere[200];
        json_object *wo = json_object_new_object();
        snprintf(wwhere, sizeof wwhere, "%s: workloads[%zu]", where, i);
        if (append(ws, wo))
            goto nomem;
        if (write_fields(w, wo, &lp_codec_workload_fields, (const char *)&h->workloads[i],
                         (const char *)&wdef, wwhere))
            goto fail;
    }
    return o;
nomem:
    w->st = lp_fail(w->ctx, LP_ENOMEM, "out of memory writing JSON");
fail:
    json_object_put(o);
    return NULL;
}

/* Serialize o (and put it) into a malloc'd string for the caller. */
static lp_status finish(wctx *w, json_object *o, int pretty, char **out, size_t *len)
{
    if (!o)
        return w->st ? w->st : lp_fail(w->ctx, LP_ENOMEM, "out of memory writing JSON");
    int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    size_t n = 0;
    const char *s = json_object_to_json_string_length(o, flags, &n);
    char *copy = s ? malloc(n + 1) : NULL;
    if (copy)
        memcpy(copy, s, n + 1);
    json_object_put(o);
    if (!copy)
        return lp_fail(w->ctx, LP_ENOMEM, "out of memory writing JSON");
    *out = copy;
    if (len)
        *len = n;
    return LP_OK;
}

lp_status lp_snapshot_write(lp_ctx *ctx, const lp_host *h, int pretty, char **out, size_t *len)
{
    wctx w = {ctx, LP_OK};
    if (!h || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_snapshot_write: %s is NULL", !h ? "host" : "out");
    return finish(&w, host_object(&w, h), pretty, out, len);
}

lp_status lp_cluster_write(lp_ctx *ctx, const lp_cluster *c, int pretty, char **out, size_t *len)
{
    wctx w = {ctx, LP_OK};
    if (!c || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_cluster_write: %s is NULL", !c ? "cluster" : "out");
    json_object *o = json_object_new_object(), *hosts = json_object_new_array();
    if (!o || put(o, "hosts", hosts)) {
        json_object_put(o);
        return lp_fail(ctx, LP_ENOMEM, "out of memory writing JSON");
    }
    for (size_t i = 0; i < lp_cluster_size(c); i++) {
        json_object *ho = host_object(&w, lp_cluster_host(c, i));
        if (!ho || append(hosts, ho)) {
            json_object_put(o);
            return w.st ? w.st : lp_fail(ctx, LP_ENOMEM, "out of memory writing JSON");
        }
    }
    return finish(&w, o, pretty, out, len);
}

/* ---- plans ---------------------------------------------------------------- */

/* An explanation text as a JSON string (lp_explain_verdict() sizes it). */
static json_object *explain_string(const lp_verdict *v, const lp_host_load *h)
{
    char small[256];
    size_t need = lp_explain_verdict(v, h, small, sizeof small);
    if (need < sizeof small)
        return json_object_new_string(small);
    char *big = malloc(need + 1);
    if (!big)
        return NULL;
    lp_explain_verdict(v, h, big, need + 1);
    json_object *s = json_object_new_string(big);
    free(big);
    return s;
}

/* The most common refusal reason among n verdicts (LP_REASON_OK if n == 0). */
static lp_reason main_reason(const lp_verdict *v, size_t n)
{
    size_t count[LP_REASON_MEMORY + 1] = {0};
    lp_reason best = LP_REASON_OK;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)v[i].reason <= LP_REASON_MEMORY)
            count[v[i].reason]++;
    for (int r = LP_REASON_PARALLELISM; r <= LP_REASON_MEMORY; r++)
        if (count[r] > count[best] || (best == LP_REASON_OK && count[r]))
            best = (lp_reason)r;
    return best;
}

/* "placements" entry for assignment a; loads are the hosts as a saw them. */
static json_object *placement_object(wctx *w, const lp_assignment *a, const lp_request *r,
                                     const lp_cluster *c, const lp_host_load *loads, size_t n)
{
    json_object *o = json_object_new_object();
    if (!o || put(o, "request", json_object_new_string(r->id)) ||
        put(o, "instance", json_object_new_int64(a->instance)))
        goto nomem;
    if (a->host >= 0) {
        const lp_verdict *v = &a->verdict;
        json_object *terms = json_object_new_object();
        if (put(o, "host", json_object_new_string(lp_cluster_host(c, (size_t)a->host)->name)) ||
            put(o, "runtime", json_object_new_string(lp_runtime_name(v->runtime))) ||
            put(o, "class", json_object_new_string(lp_class_name(v->klass))) ||
            put(o, "score", new_number(v->score)) || put(o, "terms", terms))
            goto nomem;
        for (int t = 0; t < LP_TERM_COUNT; t++)
            if (put(terms, lp_term_name(t), new_number(v->terms[t])))
                goto nomem;
        if (put(o, "reason", json_object_new_string(lp_reason_name(LP_REASON_OK))) ||
            put(o, "explain", explain_string(v, &loads[a->host])))
            goto nomem;
        return o;
    }
    lp_class klass;
    double added;
    if ((w->st = lp_request_resolve(w->ctx, r, &klass, &added))) {
        json_object_put(o);
        return NULL;
    }
    char text[96];
    lp_reason why = a->hosts ? main_reason(a->hosts, n) : LP_REASON_OK;
    if (n == 0)
        snprintf(text, sizeof text, "no host passed: the cluster is empty");
    else if (a->hosts)
        snprintf(text, sizeof text, "no host passed: most of the %zu hosts failed on %s", n,
                 lp_reason_name(why));
    else
        snprintf(text, sizeof text, "no host passed among %zu hosts", n);
    if (put_null(o, "host") || put_null(o, "runtime") ||
        put(o, "class", json_object_new_string(lp_class_name(klass))) || put_null(o, "score") ||
        put_null(o, "terms") ||
        put(o, "reason", json_object_new_string(why == LP_REASON_OK ? "unplaced" : lp_reason_name(why))) ||
        put(o, "explain", json_object_new_string(text)))
        goto nomem;
    return o;
nomem:
    json_object_put(o);
    w->st = lp_fail(w->ctx, LP_ENOMEM, "out of memory writing JSON");
    return NULL;
}

/* "refusals" entry for unplaced assignment a: every host's explanation when kept. */
static json_object *refusal_object(wctx *w, const lp_assignment *a, const lp_request *r,
                                   const lp_cluster *c, const lp_host_load *loads, size_t n)
{
    json_object *o = json_object_new_object(), *hosts = NULL;
    if (!o || put(o, "request", json_object_new_string(r->id)) ||
        put(o, "instance", json_object_new_int64(a->instance)))
        goto nomem;
    if (!a->hosts)
        return o;
    if (put(o, "hosts", hosts = json_object_new_object()))
        goto nomem;
    for (size_t i = 0; i < n; i++)
        if (put(hosts, lp_cluster_host(c, i)->name, explain_string(&a->hosts[i], &loads[i])))
            goto nomem;
    return o;
nomem:
    json_object_put(o);
    w->st = lp_fail(w->ctx, LP_ENOMEM, "out of memory writing JSON");
    return NULL;
}

lp_status lp_plan_write(lp_ctx *ctx, const lp_plan *p, const lp_cluster *c, const lp_requests *rs,
                        int pretty, char **out, size_t *len)
{
    wctx w = {ctx, LP_OK};
    if (!p || !c || !rs || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_plan_write: %s is NULL",
                       !p ? "plan" : !c ? "cluster" : !rs ? "requests" : "out");
    size_t n = lp_cluster_size(c), np = lp_plan_size(p);
    for (size_t i = 0; i < np; i++) {
        const lp_assignment *a = lp_plan_get(p, i);
        if (a->request >= lp_requests_size(rs) || (a->host >= 0 && (size_t)a->host >= n))
            return lp_fail(ctx, LP_EINVAL,
                           "lp_plan_write: plan entry %zu does not match the cluster and requests", i);
    }
    /* Explanations quote free memory: replay what earlier instances took, as lp_place() did. */
    lp_host_load *loads = calloc(n ? n : 1, sizeof *loads);
    if (!loads)
        return lp_fail(ctx, LP_ENOMEM, "out of memory writing JSON");
    lp_status st = lp_cluster_loads(ctx, c, NULL, loads, n);
    if (st) {
        free(loads);
        return st;
    }
    json_object *o = json_object_new_object(), *pl = NULL, *ref = NULL;
    if (!o || put(o, "placements", pl = json_object_new_array()) ||
        put(o, "placed", json_object_new_int64((int64_t)(np - lp_plan_unplaced(p)))) ||
        put(o, "unplaced", json_object_new_int64((int64_t)lp_plan_unplaced(p))) ||
        put(o, "refusals", ref = json_object_new_array())) {
        json_object_put(o);
        free(loads);
        return lp_fail(ctx, LP_ENOMEM, "out of memory writing JSON");
    }
    for (size_t i = 0; i < np; i++) {
        const lp_assignment *a = lp_plan_get(p, i);
        const lp_request *r = lp_requests_get(rs, a->request);
        if (append(pl, placement_object(&w, a, r, c, loads, n)) ||
            (a->host < 0 && append(ref, refusal_object(&w, a, r, c, loads, n)))) {
            json_object_put(o);
            free(loads);
            return w.st ? w.st : lp_fail(ctx, LP_ENOMEM, "out of memory writing JSON");
        }
        if (a->host >= 0 && loads[a->host].memory_free_mb >= 0) {
            double *m = &loads[a->host].memory_free_mb;
            *m = *m > r->memory_mb ? *m - r->memory_mb : 0;
        }
    }
    free(loads);
    return finish(&w, o, pretty, out, len);
}
