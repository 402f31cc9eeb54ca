/* Classes learned per image and flavor from the measured running instances. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lp_status lp_learn_options_init(lp_learn_options *o, unsigned version)
{
    if (!o || version < 1 || version > LP_LEARN_OPTIONS_VERSION)
        return LP_EINVAL;
    *o = (lp_learn_options){
        .version = version,
        .min_instances = 3,
        .min_confidence = 0.7,
        .forget_s = 3600,
    };
    return LP_OK;
}

/* The latest observation of one instance (a workload id). */
typedef struct instance {
    char *id, *image, *flavor;
    lp_class klass;
    double confidence;
    double demand_per_vcpu; /* < 0 unknown */
    double seen;            /* unix time of the latest observation */
} instance;

/* An instance's image or flavor, sorted for lookup by key. */
typedef struct keyed {
    const char *key; /* borrowed from the instance */
    size_t item;
} keyed;

struct lp_learner {
    lp_learn_options o;
    instance *items; /* sorted by id, for lookup by binary search */
    size_t n;
    keyed *by_image, *by_flavor; /* sorted by key; rebuilt by every observation */
    size_t n_image, n_flavor;
};

static lp_status check_options(lp_ctx *ctx, const lp_learn_options *o)
{
    if (o->version < 1 || o->version > LP_LEARN_OPTIONS_VERSION)
        return lp_fail(ctx, LP_EINVAL, "lp_learn_options version %u is not known to this library "
                       "(1..%d)", o->version, LP_LEARN_OPTIONS_VERSION);
    if (o->min_instances < 1)
        return lp_fail(ctx, LP_EINVAL, "learn option min_instances must be >= 1");
    if (!isfinite(o->min_confidence) || o->min_confidence < 0 || o->min_confidence > 1)
        return lp_fail(ctx, LP_EINVAL, "learn option min_confidence (%g) must be in [0, 1]",
                       o->min_confidence);
    if (!isfinite(o->forget_s) || o->forget_s <= 0)
        return lp_fail(ctx, LP_EINVAL, "learn option forget_s (%g) must be a number > 0",
                       o->forget_s);
    return LP_OK;
}

lp_status lp_learner_new(lp_ctx *ctx, const lp_learn_options *opts, lp_learner **out)
{
    lp_status st;
    lp_learn_options defaults;
    if (!ctx)
        return LP_EINVAL;
    if (!out)
        return lp_fail(ctx, LP_EINVAL, "lp_learner_new: out is NULL");
    if (!opts) {
        lp_learn_options_init(&defaults, LP_LEARN_OPTIONS_VERSION);
        opts = &defaults;
    }
    if ((st = check_options(ctx, opts)))
        return st;
    lp_learner *l = calloc(1, sizeof *l);
    if (!l)
        return lp_fail(ctx, LP_ENOMEM, "out of memory creating a learner");
    l->o = *opts;
    *out = l;
    return LP_OK;
}

static void instance_release(instance *it)
{
    free(it->id);
    free(it->image);
    free(it->flavor);
}

void lp_learner_free(lp_learner *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        instance_release(&l->items[i]);
    free(l->items);
    free(l->by_image);
    free(l->by_flavor);
    free(l);
}

/* Index of id, or where it would go (*found 0). */
static size_t find(const lp_learner *l, const char *id, int *found)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->items[mid].id, id);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* Replace s (owned) by a copy of v, unless equal; 0 when out of memory. */
static int set_string(char **s, const char *v)
{
    if ((!*s && !v) || (*s && v && strcmp(*s, v) == 0))
        return 1;
    char *copy = NULL;
    if (v && !(copy = lp_strdup(v)))
        return 0;
    free(*s);
    *s = copy;
    return 1;
}

/* Set an instance from the workload's latest observation; 0 when out of memory. */
static int record(instance *it, const lp_workload *w, double now)
{
    if (!set_string(&it->image, w->image) || !set_string(&it->flavor, w->flavor))
        return 0;
    it->klass = w->klass;
    it->confidence = w->confidence;
    it->demand_per_vcpu = w->demand >= 0 && w->vcpus > 0 ? w->demand / w->vcpus : -1;
    it->seen = now;
    return 1;
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(const lp_workload *const *)a)->id, (*(const lp_workload *const *)b)->id);
}

static int by_key(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->item > y->item) - (x->item < y->item);
}

/*
 * Add the instances first seen now (sorted by id, distinct) by one merge
 * into the sorted array: O(n + m) whatever their ids, not a shift per new
 * instance.  On failure nothing is added.
 */
static int add_new(lp_learner *l, const lp_workload **fresh, size_t m, double now)
{
    instance *made = calloc(m ? m : 1, sizeof *made);
    instance *merged = calloc(l->n + m ? l->n + m : 1, sizeof *merged);
    int ok = made && merged;
    for (size_t j = 0; ok && j < m; j++)
        ok = (made[j].id = lp_strdup(fresh[j]->id)) && record(&made[j], fresh[j], now);
    if (!ok) {
        for (size_t j = 0; made && j < m; j++)
            instance_release(&made[j]);
        free(made);
        free(merged);
        return 0;
    }
    size_t i = 0, j = 0, k = 0;
    while (i < l->n || j < m)
        merged[k++] = j == m || (i < l->n && strcmp(l->items[i].id, made[j].id) < 0)
                          ? l->items[i++]
                          : made[j++];
    free(made);
    free(l->items);
    l->items = merged;
    l->n = k;
    return 1;
}

static int build_index(lp_learner *l)
{
    keyed *img = malloc((l->n ? l->n : 1) * sizeof *img);
    keyed *flv = malloc((l->n ? l->n : 1) * sizeof *flv);
    if (!img || !flv) {
        free(img);
        free(flv);
        return 0;
    }
    size_t ni = 0, nf = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].image)
            img[ni++] = (keyed){l->items[i].image, i};
        if (l->items[i].flavor)
            flv[nf++] = (keyed){l->items[i].flavor, i};
    }
    qsort(img, ni, sizeof *img, by_key);
    qsort(flv, nf, sizeof *flv, by_key);
    free(l->by_image);
    free(l->by_flavor);
    l->by_image = img, l->n_image = ni;
    l->by_flavor = flv, l->n_flavor = nf;
    return 1;
}

static void forget_old(lp_learner *l, double now)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (now - l->items[i].seen > l->o.forget_s)
            instance_release(&l->items[i]);
        else
            l->items[k++] = l->items[i];
    }
    l->n = k;
}

lp_status lp_learner_observe(lp_ctx *ctx, lp_learner *l, const lp_cluster *c, double now)
{
    if (!ctx)
        return LP_EINVAL;
    if (!l || !c)
        return lp_fail(ctx, LP_EINVAL, "lp_learner_observe: %s is NULL", l ? "cluster" : "learner");
    if (!isfinite(now) || now <= 0)
        return lp_fail(ctx, LP_EINVAL, "lp_learner_observe: now (%g) must be unix seconds > 0", now);
    size_t total = 0;
    for (size_t h = 0; h < lp_cluster_size(c); h++)
        total += lp_cluster_get_host(c, h)->n_workloads;
    const lp_workload **fresh = malloc((total ? total : 1) * sizeof *fresh);
    if (!fresh)
        return lp_fail(ctx, LP_ENOMEM, "out of memory learning from %zu workloads", total);
    /* Known instances are updated in place; new ones are merged in at once. */
    size_t m = 0;
    for (size_t h = 0; h < lp_cluster_size(c); h++) {
        const lp_host *host = lp_cluster_get_host(c, h);
        for (size_t j = 0; j < host->n_workloads; j++) {
            const lp_workload *w = &host->workloads[j];
            int found;
            if ((!w->image && !w->flavor) || w->klass == LP_CLASS_UNKNOWN)
                continue;
            size_t i = find(l, w->id, &found);
            if (!found)
                fresh[m++] = w;
            else if (!record(&l->items[i], w, now)) {
                free(fresh);
                return lp_fail(ctx, LP_ENOMEM, "out of memory learning from workload '%.100s'",
                               w->id);
            }
        }
    }
    /* A workload listed twice (a VM seen on both hosts of a live migration)
       is one instance. */
    qsort(fresh, m, sizeof *fresh, by_id);
    size_t distinct = 0;
    for (size_t j = 0; j < m; j++)
        if (!distinct || strcmp(fresh[distinct - 1]->id, fresh[j]->id) != 0)
            fresh[distinct++] = fresh[j];
    int ok = add_new(l, fresh, distinct, now);
    free(fresh);
    if (!ok)
        return lp_fail(ctx, LP_ENOMEM, "out of memory learning from %zu new workloads", distinct);
    forget_old(l, now);
    if (!build_index(l))
        return lp_fail(ctx, LP_ENOMEM, "out of memory indexing %zu instances", l->n);
    return LP_OK;
}

/* Tally of one key (an image or a flavor) over the live instances. */
typedef struct tally {
    unsigned instances;
    unsigned by_class[LP_CLASS_COUNT];
    double conf_sum[LP_CLASS_COUNT];
    double demand_sum[LP_CLASS_COUNT];
    unsigned demand_n[LP_CLASS_COUNT];
} tally;

static void count(const lp_learner *l, int by_image, const char *key, double now, tally *t)
{
    memset(t, 0, sizeof *t);
    const keyed *ix = by_image ? l->by_image : l->by_flavor;
    size_t n = by_image ? l->n_image : l->n_flavor, lo = 0, hi = n;
    while (lo < hi) { /* the first entry with this key */
        size_t mid = (lo + hi) / 2;
        if (strcmp(ix[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t e = lo; e < n && strcmp(ix[e].key, key) == 0; e++) {
        const instance *it = &l->items[ix[e].item];
        if (now - it->seen > l->o.forget_s)
            continue;
        t->instances++;
        t->by_class[it->klass]++;
        t->conf_sum[it->klass] += it->confidence;
        if (it->demand_per_vcpu >= 0) {
            t->demand_sum[it->klass] += it->demand_per_vcpu;
            t->demand_n[it->klass]++;
        }
    }
}

/* Judge one key; 1 when trusted.  out is filled either way. */
static int judge(const lp_learner *l, int by_image, const char *key, double now, lp_learned *out)
{
    tally t;
    const char *kind = by_image ? "image" : "flavor";
    count(l, by_image, key, now, &t);
    *out = (lp_learned){.klass = LP_CLASS_UNKNOWN, .demand_per_vcpu = -1};
    if (!t.instances) {
        snprintf(out->source, sizeof out->source, "no running instance of %s %.120s measured",
                 kind, key);
        return 0;
    }
    /* The most frequent class (unknown is never observed); ties: enum order. */
    lp_class best = LP_CLASS_UNKNOWN;
    for (int k = 0; k < LP_CLASS_AUTO; k++)
        if (t.by_class[k] > t.by_class[best])
            best = (lp_class)k;
    unsigned agree = t.by_class[best];
    double conf = (double)agree / t.instances * (t.conf_sum[best] / agree);
    out->klass = best;
    out->confidence = conf;
    out->instances = t.instances;
    out->agreeing = agree;
    out->demand_per_vcpu = t.demand_n[best] ? t.demand_sum[best] / t.demand_n[best] : -1;
    if (t.instances < l->o.min_instances || conf < l->o.min_confidence) {
        snprintf(out->source, sizeof out->source,
                 "not trusted: %u of %u running instances of %s %.100s are %s, confidence %.2f "
                 "(needs %u instances, confidence %.2f)",
                 agree, t.instances, kind, key, lp_class_name(best), conf, l->o.min_instances,
                 l->o.min_confidence);
        out->klass = LP_CLASS_UNKNOWN;
        return 0;
    }
    snprintf(out->source, sizeof out->source,
             "class %s learned from %u running instances of %s %.100s, confidence %.2f",
             lp_class_name(best), agree, kind, key, conf);
    return 1;
}

lp_status lp_learner_lookup(lp_ctx *ctx, const lp_learner *l, const char *image,
                            const char *flavor, double now, lp_learned *out)
{
    if (!ctx)
        return LP_EINVAL;
    if (!l || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_learner_lookup: %s is NULL", l ? "out" : "learner");
    lp_learned by_image;
    if (image && judge(l, 1, image, now, &by_image)) {
        *out = by_image;
        return LP_OK;
    }
    if (flavor && judge(l, 0, flavor, now, out))
        return LP_OK;
    if (image) {
        /* Say why the image did not answer, and the flavor too if any. */
        char flavor_why[256];
        snprintf(flavor_why, sizeof flavor_why, "%s", flavor ? out->source : "");
        *out = by_image;
        if (flavor) {
            size_t n = strlen(out->source);
            snprintf(out->source + n, sizeof out->source - n, "; %s", flavor_why);
        }
    } else if (!flavor) {
        *out = (lp_learned){.klass = LP_CLASS_UNKNOWN, .demand_per_vcpu = -1};
        snprintf(out->source, sizeof out->source, "no image or flavor known");
    }
    return LP_ENOTFOUND;
}

lp_status lp_learner_resolve(lp_ctx *ctx, const lp_learner *l, const lp_request *r, double now,
                             lp_class *klass, double *added, lp_learned *how)
{
    lp_status st;
    lp_class k;
    double a;
    if (!ctx)
        return LP_EINVAL;
    if (!l || !klass || !added)
        return lp_fail(ctx, LP_EINVAL, "lp_learner_resolve: %s is NULL",
                       !l ? "learner" : "output");
    if ((st = lp_request_resolve(ctx, r, &k, &a)))
        return st;
    lp_learned learned = {.klass = k, .confidence = 1, .demand_per_vcpu = -1};
    snprintf(learned.source, sizeof learned.source, "class %s %s", lp_class_name(k),
             r->klass == LP_CLASS_AUTO ? "from the request's metrics" : "given by the request");
    if (r->klass == LP_CLASS_AUTO && k == LP_CLASS_UNKNOWN) {
        st = lp_learner_lookup(ctx, l, r->image, r->flavor, now, &learned);
        if (st == LP_OK) {
            lp_request copy = *r;
            copy.klass = learned.klass;
            /* A learned demand only stands for classes reserved by demand:
               cpu and mixed work reserves its full parallelism (docs/model.md). */
            int by_demand = learned.klass == LP_CLASS_NET || learned.klass == LP_CLASS_IO ||
                            learned.klass == LP_CLASS_IDLE;
            if (by_demand && copy.demand < 0 && learned.demand_per_vcpu >= 0)
                copy.demand = learned.demand_per_vcpu * r->vcpus;
            if ((st = lp_request_resolve(ctx, &copy, &k, &a)))
                return st;
        } else if (st != LP_ENOTFOUND) {
            return st;
        }
    }
    *klass = k;
    *added = a;
    if (how)
        *how = learned;
    return LP_OK;
}
