/*
 * libplacement — classes learned from what runs (docs/learn.md).
 *
 * A request of class `auto` has no measurements of its own when it is
 * scheduled.  A learner remembers, per image and per flavor, what the
 * running instances started from them were measured to be (agents report
 * each workload's image and flavor), and answers for a new request once
 * enough distinct instances agree with enough confidence.  The image wins
 * over the flavor (an image says more about the software than a size).
 * Until then the request stays `unknown` (full parallelism, runtime vm).
 *
 * A learner must not be used by two threads at once.
 */
#ifndef LIBPLACEMENT_LEARN_H
#define LIBPLACEMENT_LEARN_H

#include "place.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_LEARN_OPTIONS_VERSION 1

/** Options of a learner; initialise with lp_learn_options_init(). */
typedef struct lp_learn_options {
    unsigned version;        /**< LP_LEARN_OPTIONS_VERSION */
    unsigned min_instances;  /**< distinct running instances needed, >= 1 (3) */
    double min_confidence;   /**< confidence of the answer needed, [0, 1] (0.7) */
    double forget_s;         /**< an instance not observed for this long is forgotten, > 0 (3600) */
} lp_learn_options;

/**
 * Fill o with the defaults shown above.
 * @return LP_OK; LP_EINVAL for NULL or a version this library does not know.
 */
LP_EXPORT lp_status lp_learn_options_init(lp_learn_options *o, unsigned version);

/** What a learner knows. */
typedef struct lp_learner lp_learner;

/**
 * Create a learner.  @param opts NULL = defaults.
 * @param out receives it; free with lp_learner_free().
 * @return LP_OK; LP_EINVAL (NULL ctx or out, bad options: the message names
 *         the option); LP_ENOMEM.
 */
LP_EXPORT lp_status lp_learner_new(lp_ctx *ctx, const lp_learn_options *opts, lp_learner **out);
/** Free a learner. NULL is allowed. */
LP_EXPORT void lp_learner_free(lp_learner *l);

/**
 * Record what every workload of c that has an image or a flavor and a known
 * class was measured to be, as observed at unix time now (> 0).  A workload
 * is one instance, whatever the number of observations: its latest one
 * counts.  Instances not observed for forget_s are forgotten.
 * @return LP_OK; LP_EINVAL (NULL argument, now not finite and > 0); LP_ENOMEM
 *         (what was learned before is kept).
 */
LP_EXPORT lp_status lp_learner_observe(lp_ctx *ctx, lp_learner *l, const lp_cluster *c,
                                       double now);

/** An answer of the learner (caller's storage; a frozen-layout output struct). */
typedef struct lp_learned {
    lp_class klass;          /**< the learned class; LP_CLASS_UNKNOWN when nothing is trusted */
    double confidence;       /**< share of agreeing instances x their mean confidence */
    double demand_per_vcpu;  /**< mean measured demand per vCPU of the agreeing instances,
                                  -1 when none was measured */
    unsigned instances;      /**< distinct instances seen (of the key that answered) */
    unsigned agreeing;       /**< of which had klass */
    char source[256];        /**< "class net learned from 5 running instances of image
                                  3f2a..., confidence 0.90", or why nothing is trusted */
} lp_learned;

/**
 * What an image (tried first) or a flavor was learned to be at time now.
 * Either key may be NULL.
 * @param out always filled (source says why when nothing is trusted).
 * @return LP_OK when trusted; LP_ENOTFOUND when not (too few instances, too
 *         little agreement or confidence, nothing seen); LP_EINVAL (NULL ctx,
 *         l or out).
 */
LP_EXPORT lp_status lp_learner_lookup(lp_ctx *ctx, const lp_learner *l, const char *image,
                                      const char *flavor, double now, lp_learned *out);

/**
 * Resolve a request like lp_request_resolve(), but a request of class auto
 * that its own metrics cannot classify takes the learned class of its image
 * or flavor: its class, and for net, io and idle classes its demand
 * (demand_per_vcpu x vcpus) when the request gives none.
 * @param how receives where the class came from (may be NULL); its source
 *        names the request's own class or metrics when the learner was not
 *        used.
 * @return as lp_request_resolve().
 */
LP_EXPORT lp_status lp_learner_resolve(lp_ctx *ctx, const lp_learner *l, const lp_request *r,
                                       double now, lp_class *klass, double *added,
                                       lp_learned *how);

#ifdef __cplusplus
}
#endif
#endif
