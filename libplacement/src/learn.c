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

struct lp_learner {
    lp_learn_options o;
    instance *items; /* sorted by id, for lookup by binary search */
    size_t n, cap;
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

static int observe_one(lp_learner *l, const lp_workload *w, double now)
{
    int found;
    size_t i = find(l, w->id, &found);
    if (!found) {
        if (l->n == l->cap) {
            size_t ncap = l->cap ? 2 * l->cap : 64;
            instance *ni = realloc(l->items, ncap * sizeof *ni);
            if (!ni)
                return 0;
            l->items = ni;
            l->cap = ncap;
        }
        char *id = lp_strdup(w->id);
        if (!id)
            return 0;
        memmove(&l->items[i + 1], &l->items[i], (l->n - i) * sizeof *l->items);
        l->items[i] = (instance){.id = id};
        l->n++;
    }
    instance *it = &l->items[i];
    if (!set_string(&it->image, w->image) || !set_string(&it->flavor, w->flavor))
        return 0;
    it->klass = w->klass;
    it->confidence = w->confidence;
    it->demand_per_vcpu = w->demand >= 0 && w->vcpus > 0 ? w->demand / w->vcpus : -1;
    it->seen = now;
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
    for (size_t h = 0; h < lp_cluster_size(c); h++) {
        const lp_host *host = lp_cluster_get_host(c, h);
        for (size_t j = 0; j < host->n_workloads; j++) {
            const lp_workload *w = &host->workloads[j];
            if ((!w->image && !w->flavor) || w->klass == LP_CLASS_UNKNOWN)
                continue;
            if (!observe_one(l, w, now))
                return lp_fail(ctx, LP_ENOMEM, "out of memory learning from workload '%.100s'",
                               w->id);
        }
    }
    forget_old(l, now);
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
    for (size_t i = 0; i < l->n; i++) {
        const instance *it = &l->items[i];
        const char *k = by_image ? it->image : it->flavor;
        if (!k || strcmp(k, key) != 0 || now - it->seen > l->o.forget_s)
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
