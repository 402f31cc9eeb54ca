/*
 * Rebalancing planner: the fewest live migrations that bring every host
 * within its cap (rules in rebalance.h and docs/rebalance.md).
 *
 * A greedy pass moves, from each host acted on, the unit that alone brings
 * it within its cap with the fewest workloads (else the one that lowers its
 * demand most per workload) to the destination with the most headroom that
 * can take it (a host already running the unit's net/io group first).  A
 * lower bound (per host, a fractional cover of its excess by its units)
 * proves the greedy plan optimal in the common case; when it does not, a
 * depth-first branch and bound over the units of the hosts acted on, within
 * a node budget, looks for a better plan.
 */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define NONE ((size_t)-1)
/* The exact search decides at most this many units (each of its nodes costs
   a pass over them); larger problems keep the greedy plan, unproven. */
#define EXACT_MAX_UNITS 48

lp_status lp_rebalance_options_init(lp_rebalance_options *o, unsigned version)
{
    if (!o || version < 1 || version > LP_REBALANCE_OPTIONS_VERSION)
        return LP_EINVAL;
    *o = (lp_rebalance_options){
        .version = version,
        .overload_margin = 0.05,
        .cooldown_s = 3600,
        .switch_confidence = 0.8,
        .switch_min_age_s = 1800,
        .search_budget = 200000,
    };
    return LP_OK;
}

/* ---- the plan (what callers read) ------------------------------------------ */

struct lp_rebalance {
    lp_move *moves;
    size_t nmoves;
    lp_switch *switches;
    size_t nswitches, switches_cap;
    lp_host_outcome *hosts;
    size_t nhosts;
    size_t over_before, over_after;
    int optimal;
};

void lp_rebalance_free(lp_rebalance *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nmoves; i++) {
        free((char *)r->moves[i].workload);
        free((char *)r->moves[i].group);
        free((char *)r->moves[i].explain);
    }
    for (size_t i = 0; i < r->nswitches; i++) {
        free((char *)r->switches[i].workload);
        free((char *)r->switches[i].explain);
    }
    for (size_t i = 0; i < r->nhosts; i++)
        free((char *)r->hosts[i].why);
    free(r->moves);
    free(r->switches);
    free(r->hosts);
    free(r);
}

size_t lp_rebalance_move_count(const lp_rebalance *r)
{
    return r ? r->nmoves : 0;
}

const lp_move *lp_rebalance_get_move(const lp_rebalance *r, size_t i)
{
    return r && i < r->nmoves ? &r->moves[i] : NULL;
}

size_t lp_rebalance_switch_count(const lp_rebalance *r)
{
    return r ? r->nswitches : 0;
}

const lp_switch *lp_rebalance_get_switch(const lp_rebalance *r, size_t i)
{
    return r && i < r->nswitches ? &r->switches[i] : NULL;
}

const lp_host_outcome *lp_rebalance_get_host(const lp_rebalance *r, size_t i)
{
    return r && i < r->nhosts ? &r->hosts[i] : NULL;
}

size_t lp_rebalance_hosts_over(const lp_rebalance *r, int after)
{
    return r ? (after ? r->over_after : r->over_before) : 0;
}

int lp_rebalance_optimal(const lp_rebalance *r)
{
    return r ? r->optimal : 0;
}

/* ---- the problem ------------------------------------------------------------ */

/* What moves as one decision: a workload, or the members of a net/io group on one host. */
typedef struct unit {
    size_t host;
    size_t first, n;     /* its workloads: members[first .. first+n-1] (indices in the host) */
    double reserved;     /* sum of the members' reservations */
    double measured;     /* sum of their measured demand (lowers the host's measured load) */
    double memory;       /* sum of their known memory */
    unsigned runtimes;   /* runtimes the destination must offer */
    size_t group;        /* group index, or NONE */
    int spread;          /* cpu/mixed group member: see glimit */
    int movable;         /* 0: in cool-down or pinned */
    int pinned;          /* 1: a member is pinned by the caller */
    size_t dest;         /* where it ends: host when it stays */
} unit;

/* A host's numbers as moves change them. */
typedef struct hstate {
    double cap;
    double limit;     /* cap + cap_slack: the most demand the host may keep */
    double load;      /* measured load demand (if load_known) */
    double reserved;  /* sum of its workloads' reservations */
    double mem_free;  /* if mem_known */
    unsigned runtimes;
    int load_known, mem_known;
    int acted_on;     /* over its cap by more than the margin at the start */
} hstate;

/* Members of a group per host: an open-addressing map (host, group) -> count. */
typedef struct gcount {
    unsigned long long *keys; /* (host << 32 | group) + 1; 0 = empty */
    size_t *counts;
    size_t cap;
} gcount;

/* The hosts each group has members on (may repeat; check the count). */
typedef struct ghosts {
    size_t *hosts;
    size_t n, cap;
} ghosts;

typedef struct problem {
    lp_ctx *ctx;
    const lp_cluster *c;
    const lp_rebalance_options *o;
    size_t nh;
    hstate *h;           /* current state */
    hstate *h0;          /* before any move */
    unit *u;
    size_t nu;
    size_t *members;     /* workload indices, grouped by unit */
    const char **groups; /* group names, borrowed from the cluster */
    size_t ng, gcap;
    ghosts *gh;
    size_t *glimit;      /* per group: most members a destination may end with (spread) */
    gcount gc;
    size_t *order;       /* destination order: hosts not acted on, most headroom first */
    size_t *pos;         /* pos[host] in order, NONE for hosts acted on */
    size_t norder;
    size_t *done;        /* units moved by the greedy pass, in order */
    size_t ndone;
    size_t nmoved;       /* workloads those units hold */
    size_t *scratch;     /* 2 x nu entries for bounds */
    unsigned long nodes; /* exact search */
    int budget_out;
    double best_excess;
    size_t best_moves;
    size_t *best_dest;   /* per unit */
    size_t *cand;        /* units the exact search decides, in order */
    size_t ncand;
} problem;

static double demand_of(const hstate *s)
{
    return s->load_known && s->load > s->reserved ? s->load : s->reserved;
}

static double excess_of(const hstate *s)
{
    double d = demand_of(s) - s->limit;
    return d > EPS ? d : 0;
}

static int gc_init(gcount *g, size_t entries)
{
    size_t cap = 64;
    while (cap < 2 * entries + 1)
        cap *= 2;
    g->keys = calloc(cap, sizeof *g->keys);
    g->counts = calloc(cap, sizeof *g->counts);
    g->cap = cap;
    return g->keys && g->counts;
}

/* The count of (host, group); created at 0 when create is set (the map is
   sized for every (host, group) pair the cluster can hold, so it never fills). */
static size_t *gc_slot(const gcount *g, size_t host, size_t group, int create)
{
    unsigned long long key = (((unsigned long long)host << 32) | group) + 1;
    size_t mask = g->cap - 1;
    for (size_t s = (size_t)((key * 11400714819323198485ull) >> 17) & mask;; s = (s + 1) & mask) {
        if (g->keys[s] == key)
            return &g->counts[s];
        if (!g->keys[s]) {
            if (!create)
                return NULL;
            g->keys[s] = key;
            return &g->counts[s];
        }
    }
}

static size_t gc_get(const gcount *g, size_t host, size_t group)
{
    size_t *p = gc_slot(g, host, group, 0);
    return p ? *p : 0;
}

static int colocating(lp_class k)
{
    return k == LP_CLASS_NET || k == LP_CLASS_IO;
}

static int spreading(lp_class k)
{
    return k == LP_CLASS_CPU || k == LP_CLASS_MIXED;
}

/* Index of a group name, adding it; NONE when out of memory. */
static size_t group_index(problem *p, const char *name)
{
    for (size_t i = p->ng; i-- > 0;)
        if (strcmp(p->groups[i], name) == 0)
            return i;
    if (p->ng == p->gcap) {
        size_t ncap = p->gcap ? 2 * p->gcap : 16;
        const char **ng = realloc(p->groups, ncap * sizeof *ng);
        ghosts *ngh = realloc(p->gh, ncap * sizeof *ngh);
        if (ng)
            p->groups = ng;
        if (ngh)
            p->gh = ngh;
        if (!ng || !ngh)
            return NONE;
        p->gcap = ncap;
    }
    p->groups[p->ng] = name;
    p->gh[p->ng] = (ghosts){0};
    return p->ng++;
}

static int ghosts_add(ghosts *g, size_t host)
{
    if (g->n && g->hosts[g->n - 1] == host)
        return 1;
    if (g->n == g->cap) {
        size_t ncap = g->cap ? 2 * g->cap : 4;
        size_t *nh = realloc(g->hosts, ncap * sizeof *nh);
        if (!nh)
            return 0;
        g->hosts = nh;
        g->cap = ncap;
    }
    g->hosts[g->n++] = host;
    return 1;
}

static int is_pinned(const lp_rebalance_options *o, const char *id)
{
    for (size_t i = 0; i < o->n_pinned; i++)
        if (strcmp(o->pinned[i], id) == 0)
            return 1;
    return 0;
}

static int in_cooldown(const lp_rebalance_options *o, const char *id)
{
    for (size_t i = 0; i < o->n_history; i++) {
        const lp_history_entry *e = &o->history[i];
        if (e->workload && strcmp(e->workload, id) == 0 &&
            (o->now <= 0 || o->now - e->time < o->cooldown_s))
            return 1;
    }
    return 0;
}

static void problem_free(problem *p)
{
    for (size_t g = 0; g < p->ng; g++)
        free(p->gh[g].hosts);
    free(p->gh);
    free(p->glimit);
    free(p->groups);
    free(p->gc.keys);
    free(p->gc.counts);
    free(p->h);
    free(p->h0);
    free(p->u);
    free(p->members);
    free(p->order);
    free(p->pos);
    free(p->done);
    free(p->scratch);
    free(p->best_dest);
    free(p->cand);
}

/* Units of one host: a unit per workload, except that the net/io members of a
   group share one.  unit_of is scratch of at least n_workloads entries. */
static lp_status build_host(problem *p, size_t i, size_t *unit_of, size_t *nm)
{
    const lp_host *host = lp_cluster_get_host(p->c, i);
    const lp_policy *pol = &p->ctx->policy;
    hstate *s = &p->h[i];
    size_t first_unit = p->nu;
    double mem_used = 0;
    *s = (hstate){
        .cap = host->threads * pol->max_parallel_ratio,
        .limit = host->threads * pol->max_parallel_ratio + pol->cap_slack,
        .load = host->load_demand,
        .load_known = host->load_demand >= 0,
        .runtimes = host->runtimes,
    };
    for (size_t j = 0; j < host->n_workloads; j++) {
        const lp_workload *w = &host->workloads[j];
        double r = lp_workload_reserved(pol, w);
        s->reserved += r;
        if (w->memory_mb > 0)
            mem_used += w->memory_mb;
        size_t g = NONE;
        if (w->group) {
            size_t *cnt;
            if ((g = group_index(p, w->group)) == NONE || !(cnt = gc_slot(&p->gc, i, g, 1)) ||
                !ghosts_add(&p->gh[g], i))
                return lp_fail(p->ctx, LP_ENOMEM, "out of memory planning groups");
            ++*cnt;
        }
        unit *u = NULL;
        if (g != NONE && colocating(w->klass))
            for (size_t k = first_unit; k < p->nu && !u; k++)
                if (p->u[k].group == g && !p->u[k].spread)
                    u = &p->u[k];
        if (!u) {
            u = &p->u[p->nu++];
            *u = (unit){.host = i, .group = g, .movable = 1, .dest = i,
                        .spread = g != NONE && spreading(w->klass)};
        }
        unit_of[j] = (size_t)(u - p->u);
        u->n++;
        u->reserved += r;
        if (w->demand > 0)
            u->measured += w->demand;
        if (w->memory_mb > 0)
            u->memory += w->memory_mb;
        u->runtimes |= (unsigned)w->runtime;
        if (is_pinned(p->o, w->id))
            u->movable = 0, u->pinned = 1;
        else if (in_cooldown(p->o, w->id))
            u->movable = 0;
    }
    /* Lay the members out unit by unit (counting sort by unit). */
    size_t at = *nm;
    for (size_t k = first_unit; k < p->nu; k++) {
        p->u[k].first = at;
        at += p->u[k].n;
        p->u[k].n = 0;
    }
    for (size_t j = 0; j < host->n_workloads; j++) {
        unit *u = &p->u[unit_of[j]];
        p->members[u->first + u->n++] = j;
    }
    *nm = at;
    if (host->memory_mb > 0) {
        double used = host->memory_used_mb >= 0 ? host->memory_used_mb : mem_used;
        s->mem_known = 1;
        s->mem_free = host->memory_mb > used ? host->memory_mb - used : 0;
    }
    s->acted_on = demand_of(s) > s->cap * (1 + p->o->overload_margin) + EPS;
    return LP_OK;
}

/* Destination order: most headroom first, then cluster order. */
static int dest_before(const problem *p, size_t a, size_t b)
{
    double ha = p->h[a].cap - demand_of(&p->h[a]);
    double hb = p->h[b].cap - demand_of(&p->h[b]);
    if (ha > hb + EPS)
        return 1;
    if (hb > ha + EPS)
        return 0;
    return a < b;
}

static lp_status build(problem *p)
{
    size_t nw = 0, maxw = 0, nm = 0;
    lp_status st = LP_OK;
    p->nh = lp_cluster_size(p->c);
    for (size_t i = 0; i < p->nh; i++) {
        size_t k = lp_cluster_get_host(p->c, i)->n_workloads;
        nw += k;
        maxw = k > maxw ? k : maxw;
    }
    size_t *unit_of = malloc((maxw ? maxw : 1) * sizeof *unit_of);
    p->h = calloc(p->nh ? p->nh : 1, sizeof *p->h);
    p->h0 = calloc(p->nh ? p->nh : 1, sizeof *p->h0);
    p->u = calloc(nw ? nw : 1, sizeof *p->u);
    p->members = calloc(nw ? nw : 1, sizeof *p->members);
    p->order = calloc(p->nh ? p->nh : 1, sizeof *p->order);
    p->pos = calloc(p->nh ? p->nh : 1, sizeof *p->pos);
    p->done = calloc(nw ? nw : 1, sizeof *p->done);
    p->scratch = calloc(nw ? 2 * nw : 2, sizeof *p->scratch);
    if (!unit_of || !p->h || !p->h0 || !p->u || !p->members || !p->order || !p->pos ||
        !p->done || !p->scratch || !gc_init(&p->gc, 2 * nw)) {
        free(unit_of);
        return lp_fail(p->ctx, LP_ENOMEM, "out of memory planning for %zu workloads on %zu hosts",
                       nw, p->nh);
    }
    for (size_t i = 0; i < p->nh && !st; i++)
        st = build_host(p, i, unit_of, &nm);
    free(unit_of);
    if (st)
        return st;
    /* A cpu/mixed group stays spread: a destination may end with fewer of its
       members than the most crowded host had before (and always with one). */
    if (!(p->glimit = calloc(p->ng ? p->ng : 1, sizeof *p->glimit)))
        return lp_fail(p->ctx, LP_ENOMEM, "out of memory planning groups");
    for (size_t g = 0; g < p->ng; g++) {
        size_t most = 0;
        for (size_t k = 0; k < p->gh[g].n; k++) {
            size_t n = gc_get(&p->gc, p->gh[g].hosts[k], g);
            most = n > most ? n : most;
        }
        p->glimit[g] = most > 2 ? most - 1 : 1;
    }
    memcpy(p->h0, p->h, p->nh * sizeof *p->h);
    for (size_t i = 0; i < p->nh; i++) {
        p->pos[i] = NONE;
        if (!p->h[i].acted_on)
            p->order[p->norder++] = i;
    }
    /* Binary insertion: O(n log n) compares, built once. */
    for (size_t k = 1; k < p->norder; k++) {
        size_t x = p->order[k], j;
        size_t lo = 0, hi = k;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (dest_before(p, x, p->order[mid]))
                hi = mid;
            else
                lo = mid + 1;
        }
        for (j = k; j > lo; j--)
            p->order[j] = p->order[j - 1];
        p->order[lo] = x;
    }
    for (size_t k = 0; k < p->norder; k++)
        p->pos[p->order[k]] = k;
    return LP_OK;
}

/* ---- moves ------------------------------------------------------------------- */

/* Why a destination cannot take a unit (first failing check), or 0. */
enum { FIT_OK = 0, FIT_SELF, FIT_ACTED, FIT_CAP, FIT_RUNTIME, FIT_MEMORY, FIT_GROUP };

static int fits(const problem *p, const unit *u, size_t d)
{
    const hstate *t = &p->h[d];
    if (d == u->host)
        return FIT_SELF;
    if (t->acted_on)
        return FIT_ACTED;
    double r = t->reserved + u->reserved;
    double l = t->load_known ? t->load + u->measured : 0;
    if ((r > l ? r : l) > t->limit + EPS)
        return FIT_CAP;
    if (u->runtimes & ~t->runtimes)
        return FIT_RUNTIME;
    if (t->mem_known && u->memory > t->mem_free + EPS)
        return FIT_MEMORY;
    if (u->spread && gc_get(&p->gc, d, u->group) + 1 > p->glimit[u->group])
        return FIT_GROUP;
    return FIT_OK;
}

/* Move unit u to d (sign 1) or back home from d (sign -1). */
static void shift(problem *p, unit *u, size_t d, int sign)
{
    hstate *s = &p->h[u->host], *t = &p->h[d];
    s->reserved -= sign * u->reserved;
    t->reserved += sign * u->reserved;
    if (s->load_known)
        s->load -= sign * u->measured;
    if (t->load_known)
        t->load += sign * u->measured;
    if (s->mem_known)
        s->mem_free += sign * u->memory;
    if (t->mem_known)
        t->mem_free -= sign * u->memory;
    if (u->group != NONE) {
        *gc_slot(&p->gc, u->host, u->group, 1) -= sign * u->n;
        *gc_slot(&p->gc, d, u->group, 1) += sign * u->n;
    }
    u->dest = sign > 0 ? d : u->host;
}

/* Keep the destination order after d lost headroom. */
static void resort(problem *p, size_t d)
{
    size_t k = p->pos[d];
    while (k + 1 < p->norder && dest_before(p, p->order[k + 1], d)) {
        p->order[k] = p->order[k + 1];
        p->pos[p->order[k]] = k;
        k++;
    }
    p->order[k] = d;
    p->pos[d] = k;
}

/* Greedy destination: a host already running the unit's net/io group, else
   the one with the most headroom; NONE if no host can take it. */
static size_t greedy_dest(const problem *p, const unit *u)
{
    if (u->group != NONE && !u->spread) {
        const ghosts *g = &p->gh[u->group];
        size_t best = NONE;
        for (size_t k = 0; k < g->n; k++) {
            size_t d = g->hosts[k];
            if (gc_get(&p->gc, d, u->group) && fits(p, u, d) == FIT_OK &&
                (best == NONE || dest_before(p, d, best)))
                best = d;
        }
        if (best != NONE)
            return best;
    }
    for (size_t k = 0; k < p->norder; k++) {
        size_t d = p->order[k];
        const hstate *t = &p->h[d];
        /* The order is by headroom, and taking u raises a host's demand by at
           least the smaller of its measured and reserved demand: stop there. */
        double least = t->load_known && u->measured < u->reserved ? u->measured : u->reserved;
        if (t->limit - demand_of(t) + EPS < least)
            return NONE;
        if (fits(p, u, d) == FIT_OK)
            return d;
    }
    return NONE;
}

/* Demand of u's host if u left it. */
static double demand_without(const problem *p, const unit *u)
{
    hstate s = p->h[u->host];
    s.reserved -= u->reserved;
    if (s.load_known)
        s.load -= u->measured;
    return demand_of(&s);
}

/* A candidate unit of the greedy pass, and the order that picks among them. */
typedef struct pick {
    size_t unit, dest;
    size_t estimate;      /* its workloads + the fewest more its host would then need;
                             SIZE_MAX when the host could not then be resolved */
    double per_workload;  /* demand removed per workload moved */
} pick;

/* The fewest estimated moves to resolve the host; among those the least
   demand moved (keeps the destinations' headroom); when nothing leads to a
   resolution, the most demand removed per workload; then unit order. */
static int pick_before(const problem *p, const pick *a, const pick *b)
{
    const unit *ua = &p->u[a->unit], *ub = &p->u[b->unit];
    if (a->estimate != b->estimate)
        return a->estimate < b->estimate;
    if (a->estimate == (size_t)-1) {
        if (fabs(a->per_workload - b->per_workload) > EPS)
            return a->per_workload > b->per_workload;
    } else if (fabs(ua->reserved - ub->reserved) > EPS) {
        return ua->reserved < ub->reserved;
    }
    return a->unit < b->unit;
}

static size_t host_bound(const problem *p, size_t i, const size_t *units, size_t n, size_t *idx);

/* Moves this unit costs plus the cover bound of its host after it left. */
static size_t estimate(problem *p, unit *u, size_t first_unit, size_t end_unit)
{
    size_t *units = p->scratch, *idx = p->scratch + p->nu;
    size_t n = 0;
    for (size_t k = first_unit; k < end_unit; k++)
        units[n++] = k;
    hstate s = p->h[u->host];
    p->h[u->host].reserved -= u->reserved;
    if (p->h[u->host].load_known)
        p->h[u->host].load -= u->measured;
    u->dest = NONE; /* not at home: the bound leaves it out */
    size_t more = host_bound(p, u->host, units, n, idx);
    u->dest = u->host;
    p->h[u->host] = s;
    return more == (size_t)-1 ? more : u->n + more;
}

static void greedy_host(problem *p, size_t i, size_t first_unit, size_t end_unit)
{
    hstate *s = &p->h[i];
    while (excess_of(s) > 0) {
        pick best = {.unit = NONE};
        double now = demand_of(s);
        for (size_t k = first_unit; k < end_unit; k++) {
            unit *u = &p->u[k];
            if (!u->movable || u->dest != u->host ||
                (p->o->max_moves && p->nmoved + u->n > p->o->max_moves))
                continue;
            double after = demand_without(p, u);
            if (now - after <= EPS)
                continue;
            pick c = {.unit = k, .estimate = estimate(p, u, first_unit, end_unit),
                      .per_workload = (now - after) / u->n};
            if (best.unit != NONE && !pick_before(p, &c, &best))
                continue;
            if ((c.dest = greedy_dest(p, u)) == NONE)
                continue;
            best = c;
        }
        if (best.unit == NONE)
            return;
        shift(p, &p->u[best.unit], best.dest, 1);
        resort(p, best.dest);
        p->done[p->ndone++] = best.unit;
        p->nmoved += p->u[best.unit].n;
    }
}

/* ---- lower bound and exact search ---------------------------------------------------- */

/*
 * Fewest workloads that can remove `need` of value from a host when unit k
 * offers value v[k] for n[k] workloads: a fractional cover by value per
 * workload (an LP relaxation), rounded up.  SIZE_MAX when even all units
 * together cannot.  idx is scratch sorted here.
 */
static size_t cover_bound(const problem *p, const size_t *units, size_t nunits, int by_measured,
                          double need, size_t *idx)
{
    if (need <= EPS)
        return 0;
    size_t m = 0;
    for (size_t k = 0; k < nunits; k++) {
        const unit *u = &p->u[units[k]];
        double v = by_measured ? u->measured : u->reserved;
        if (u->movable && u->dest == u->host && v > EPS) {
            /* insertion by value per workload, descending */
            size_t j = m++;
            for (; j > 0; j--) {
                const unit *w = &p->u[idx[j - 1]];
                double wv = (by_measured ? w->measured : w->reserved) / w->n;
                if (wv >= v / u->n)
                    break;
                idx[j] = idx[j - 1];
            }
            idx[j] = units[k];
        }
    }
    double got = 0, moves = 0;
    for (size_t j = 0; j < m; j++) {
        const unit *u = &p->u[idx[j]];
        double v = by_measured ? u->measured : u->reserved;
        if (got + v >= need - EPS) {
            moves += u->n * (need - got) / v;
            return (size_t)ceil(moves - 1e-9);
        }
        got += v;
        moves += u->n;
    }
    return (size_t)-1;
}

/* Units still undecided on acted-on host i (the exact search's suffix). */
static size_t host_bound(const problem *p, size_t i, const size_t *units, size_t n, size_t *idx)
{
    const hstate *s = &p->h[i];
    size_t a = cover_bound(p, units, n, 0, s->reserved - s->limit, idx);
    size_t b = s->load_known ? cover_bound(p, units, n, 1, s->load - s->limit, idx) : 0;
    return a > b ? a : b;
}

typedef struct bound {
    double excess;  /* least total excess any completion can reach */
    size_t moves;   /* fewest further moves for that (when excess is 0) */
} bound;

/* Bound of the exact search at depth k (units cand[k..] undecided). */
static bound search_bound(const problem *p, size_t k, size_t *idx)
{
    bound b = {0, 0};
    for (size_t c = 0; c < p->ncand;) {
        size_t i = p->u[p->cand[c]].host, e = c;
        while (e < p->ncand && p->u[p->cand[e]].host == i)
            e++;
        size_t from = c > k ? c : k;
        const hstate *s = &p->h[i];
        /* if every undecided unit of i left: */
        double r = s->reserved, l = s->load;
        for (size_t j = from; j < e; j++) {
            const unit *u = &p->u[p->cand[j]];
            if (u->movable) {
                r -= u->reserved;
                l -= u->measured;
            }
        }
        double d = (s->load_known && l > r ? l : r) - s->limit;
        if (d > EPS) {
            b.excess += d;
        } else if (excess_of(s) > 0) {
            size_t m = host_bound(p, i, p->cand + from, e - from, idx);
            b.moves += m == (size_t)-1 ? 0 : m;
        }
        c = e;
    }
    return b;
}

static double total_excess(const problem *p)
{
    double e = 0;
    for (size_t i = 0; i < p->nh; i++)
        if (p->h[i].acted_on)
            e += excess_of(&p->h[i]);
    return e;
}

/* (ea, ma) better than (eb, mb): less excess, then fewer moves. */
static int better(double ea, size_t ma, double eb, size_t mb)
{
    if (ea < eb - 1e-7)
        return 1;
    if (ea > eb + 1e-7)
        return 0;
    return ma < mb;
}

static void search(problem *p, size_t k, size_t moves, size_t *idx)
{
    if (p->budget_out)
        return;
    if (++p->nodes > p->o->search_budget) {
        p->budget_out = 1;
        return;
    }
    if (k == p->ncand) {
        double e = total_excess(p);
        if (better(e, moves, p->best_excess, p->best_moves)) {
            p->best_excess = e;
            p->best_moves = moves;
            for (size_t j = 0; j < p->nu; j++)
                p->best_dest[j] = p->u[j].dest;
        }
        return;
    }
    bound b = search_bound(p, k, idx);
    if (!better(b.excess, moves + b.moves, p->best_excess, p->best_moves))
        return;
    unit *u = &p->u[p->cand[k]];
    search(p, k + 1, moves, idx); /* it stays */
    if (!u->movable || (p->o->max_moves && moves + u->n > p->o->max_moves))
        return;
    for (size_t d = 0; d < p->nh && !p->budget_out; d++) {
        if (fits(p, u, d) != FIT_OK)
            continue;
        shift(p, u, d, 1);
        search(p, k + 1, moves + u->n, idx);
        shift(p, u, d, -1);
    }
}

/* Units of acted-on hosts, host by host (most excess first), biggest first. */
static lp_status collect_candidates(problem *p)
{
    p->cand = malloc((p->nu ? p->nu : 1) * sizeof *p->cand);
    p->best_dest = malloc((p->nu ? p->nu : 1) * sizeof *p->best_dest);
    if (!p->cand || !p->best_dest)
        return lp_fail(p->ctx, LP_ENOMEM, "out of memory planning");
    p->ncand = 0;
    for (size_t k = 0; k < p->nu; k++)
        if (p->h[p->u[k].host].acted_on)
            p->cand[p->ncand++] = k;
    return LP_OK;
}

/* ---- writing the plan ------------------------------------------------------------------ */

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static const lp_workload *workload_of(const problem *p, const unit *u, size_t m)
{
    return &lp_cluster_get_host(p->c, u->host)->workloads[p->members[u->first + m]];
}

/* Append the moves of unit u (now applied on p->h) to r. before_src and
   before_dst are the source and destination states before the unit moved. */
static lp_status add_moves(problem *p, lp_rebalance *r, const unit *u, const hstate *src,
                           const hstate *dst)
{
    const lp_policy *pol = &p->ctx->policy;
    const lp_host *from = lp_cluster_get_host(p->c, u->host);
    const lp_host *to = lp_cluster_get_host(p->c, u->dest);
    for (size_t m = 0; m < u->n; m++) {
        const lp_workload *w = workload_of(p, u, m);
        lp_move *mv = &r->moves[r->nmoves];
        double rw = lp_workload_reserved(pol, w);
        char together[160] = "";
        if (u->n > 1)
            snprintf(together, sizeof together, "; with the %zu %s members of group '%.60s' here",
                     u->n, lp_class_name(w->klass), w->group);
        *mv = (lp_move){
            .from = u->host,
            .to = u->dest,
            .workload_index = p->members[u->first + m],
            .reserved = rw,
        };
        mv->workload = lp_strdup(w->id);
        mv->group = lp_strdup(w->group);
        mv->explain = format(
            "move %s (class %s, reserves %.2f) from %s (demand %.2f > cap %.2f) to %s: demand "
            "%.2f + %.2f = %.2f <= cap %.2f%s",
            w->id, lp_class_name(w->klass), rw, from->name, demand_of(src), src->cap, to->name,
            demand_of(dst), u->reserved, demand_of(dst) + u->reserved, dst->cap, together);
        r->nmoves++;
        if (!mv->workload || !mv->explain || (w->group && !mv->group))
            return lp_fail(p->ctx, LP_ENOMEM, "out of memory writing the plan");
    }
    return LP_OK;
}

/* Why host i is still over its cap: what was left to move and why no host took it. */
static char *why_over(problem *p, size_t i, size_t moved, size_t moved_total)
{
    const hstate *s = &p->h[i];
    size_t biggest = NONE, cooling = 0, pinned = 0, left = 0;
    double unattributed = 0;
    for (size_t k = 0; k < p->nu; k++) {
        const unit *u = &p->u[k];
        if (u->host != i || u->dest != i)
            continue;
        left++;
        if (u->pinned)
            pinned += u->n;
        else if (!u->movable)
            cooling += u->n;
        else if (biggest == NONE || u->reserved > p->u[biggest].reserved)
            biggest = k;
    }
    if (s->load_known && s->load > s->reserved)
        unattributed = s->load - s->reserved;
    char detail[320] = "";
    if (p->o->max_moves && moved_total >= p->o->max_moves)
        snprintf(detail, sizeof detail, "max_moves (%u) reached", p->o->max_moves);
    else if (biggest != NONE) {
        const unit *u = &p->u[biggest];
        size_t why[FIT_GROUP + 1] = {0};
        size_t roomiest = NONE;
        for (size_t d = 0; d < p->nh; d++) {
            int f = fits(p, u, d);
            why[f]++;
            if (f != FIT_SELF && f != FIT_ACTED &&
                (roomiest == NONE || dest_before(p, d, roomiest)))
                roomiest = d;
        }
        const lp_workload *w = workload_of(p, u, 0);
        char room[120] = "";
        if (roomiest != NONE)
            snprintf(room, sizeof room, " (most free: %s, %.2f)",
                     lp_cluster_get_host(p->c, roomiest)->name,
                     p->h[roomiest].cap - demand_of(&p->h[roomiest]));
        snprintf(detail, sizeof detail,
                 "no host can take %s%s (class %s, reserves %.2f): %zu lack room%s, %zu lack its "
                 "runtime, %zu lack memory, %zu run its group, %zu are over their cap",
                 w->id, u->n > 1 ? " and its group" : "", lp_class_name(w->klass), u->reserved,
                 why[FIT_CAP], room, why[FIT_RUNTIME], why[FIT_MEMORY], why[FIT_GROUP],
                 why[FIT_ACTED]);
    } else if (cooling || pinned)
        snprintf(detail, sizeof detail, "of its remaining workloads %zu are in cool-down and %zu "
                 "are pinned", cooling, pinned);
    else
        snprintf(detail, sizeof detail, "%s",
                 left ? "moving what is left would not lower its demand" : "no workload to move");
    char extra[120] = "";
    if (unattributed > EPS)
        snprintf(extra, sizeof extra, "; %.2f of its measured load belongs to no workload",
                 unattributed);
    return format("still over its cap after %zu moves: demand %.2f > cap %.2f; %s%s", moved,
                  demand_of(s), s->cap, detail, extra);
}

static lp_status add_switches(problem *p, lp_rebalance *r)
{
    const lp_rebalance_options *o = p->o;
    if (o->now <= 0)
        return LP_OK;
    for (size_t k = 0; k < p->nu; k++) {
        const unit *u = &p->u[k];
        const lp_host *where = lp_cluster_get_host(p->c, u->dest);
        for (size_t m = 0; m < u->n; m++) {
            const lp_workload *w = workload_of(p, u, m);
            if (w->klass == LP_CLASS_UNKNOWN || w->runtime == LP_RUNTIME_NONE ||
                w->confidence < o->switch_confidence || w->class_since <= 0 ||
                o->now - w->class_since < o->switch_min_age_s || !u->movable)
                continue;
            lp_runtime to = LP_RUNTIME_NONE;
            if (lp_runtime_choose(p->ctx, w->klass, where->runtimes, LP_RUNTIME_ALL, &to) ||
                to == LP_RUNTIME_NONE || to == w->runtime)
                continue;
            if (r->nswitches == r->switches_cap) {
                size_t ncap = r->switches_cap ? 2 * r->switches_cap : 8;
                lp_switch *ns = realloc(r->switches, ncap * sizeof *ns);
                if (!ns)
                    return lp_fail(p->ctx, LP_ENOMEM, "out of memory writing the plan");
                r->switches = ns;
                r->switches_cap = ncap;
            }
            lp_switch *sw = &r->switches[r->nswitches++];
            double held = o->now - w->class_since;
            char order[64] = "";
            lp_ctx_get_runtime_order(p->ctx, w->klass, order, sizeof order);
            *sw = (lp_switch){
                .host = u->dest,
                .workload_index = p->members[u->first + m],
                .from = w->runtime,
                .to = to,
                .klass = w->klass,
                .confidence = w->confidence,
                .held_s = held,
            };
            sw->workload = lp_strdup(w->id);
            sw->explain = format("switch %s on %s from %s to %s: class %s (confidence %.2f >= "
                                 "%.2f) for %.0f s >= %.0f s; preferred order for %s: %s",
                                 w->id, where->name, lp_runtime_name(w->runtime),
                                 lp_runtime_name(to), lp_class_name(w->klass), w->confidence,
                                 o->switch_confidence, held, o->switch_min_age_s,
                                 lp_class_name(w->klass), order);
            if (!sw->workload || !sw->explain)
                return lp_fail(p->ctx, LP_ENOMEM, "out of memory writing the plan");
        }
    }
    return LP_OK;
}

/* Apply units[k] -> dests[k] in order from the start state, writing every
   move, then every host's outcome and the switches. */
static lp_status write_plan(problem *p, lp_rebalance *r, const size_t *units,
                            const size_t *dests, size_t nunits)
{
    size_t total = 0;
    for (size_t k = 0; k < nunits; k++)
        total += p->u[units[k]].n;
    r->moves = calloc(total ? total : 1, sizeof *r->moves);
    r->hosts = calloc(p->nh ? p->nh : 1, sizeof *r->hosts);
    size_t *moved = calloc(p->nh ? p->nh : 1, sizeof *moved);
    lp_status st = LP_OK;
    if (!r->moves || !r->hosts || !moved)
        st = lp_fail(p->ctx, LP_ENOMEM, "out of memory writing the plan");
    r->nhosts = st ? 0 : p->nh;
    for (size_t k = 0; k < nunits && !st; k++) {
        unit *u = &p->u[units[k]];
        hstate src = p->h[u->host], dst = p->h[dests[k]];
        shift(p, u, dests[k], 1);
        moved[u->host] += u->n;
        st = add_moves(p, r, u, &src, &dst);
    }
    for (size_t i = 0; i < r->nhosts && !st; i++) {
        lp_host_outcome *o = &r->hosts[i];
        *o = (lp_host_outcome){
            .host = i,
            .capacity = p->h[i].cap,
            .demand_before = demand_of(&p->h0[i]),
            .demand_after = demand_of(&p->h[i]),
            .acted_on = p->h[i].acted_on,
        };
        r->over_before += excess_of(&p->h0[i]) > 0;
        if (excess_of(&p->h[i]) > 0) {
            r->over_after++;
            if (!(o->why = why_over(p, i, moved[i], total)))
                st = lp_fail(p->ctx, LP_ENOMEM, "out of memory writing the plan");
        }
    }
    free(moved);
    return st ? st : add_switches(p, r);
}

/* Undo every applied move: back to the start state (exactly, from h0). */
static void reset(problem *p)
{
    for (size_t k = 0; k < p->nu; k++)
        if (p->u[k].dest != p->u[k].host)
            shift(p, &p->u[k], p->u[k].dest, -1);
    memcpy(p->h, p->h0, p->nh * sizeof *p->h);
}

static lp_status check_options(lp_ctx *ctx, const lp_rebalance_options *o)
{
    if (o->version < 1 || o->version > LP_REBALANCE_OPTIONS_VERSION)
        return lp_fail(ctx, LP_EINVAL, "lp_rebalance_options version %u is not known to this "
                       "library (1..%d)", o->version, LP_REBALANCE_OPTIONS_VERSION);
    /* name, value, lowest, highest (a number range for each option) */
    const struct {
        const char *name;
        double v, lo, hi;
    } ranges[] = {
        {"now", o->now, 0, HUGE_VAL},
        {"overload_margin", o->overload_margin, 0, 1},
        {"cooldown_s", o->cooldown_s, 0, HUGE_VAL},
        {"switch_confidence", o->switch_confidence, 0, 1},
        {"switch_min_age_s", o->switch_min_age_s, 0, HUGE_VAL},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (!isfinite(ranges[i].v) || ranges[i].v < ranges[i].lo || ranges[i].v > ranges[i].hi)
            return lp_fail(ctx, LP_EINVAL, "rebalance option %s (%g) must be a number in [%g, %g]",
                           ranges[i].name, ranges[i].v, ranges[i].lo, ranges[i].hi);
    if (o->n_history && !o->history)
        return lp_fail(ctx, LP_EINVAL, "rebalance option history is NULL but n_history is %zu",
                       o->n_history);
    if (o->n_pinned && !o->pinned)
        return lp_fail(ctx, LP_EINVAL, "rebalance option pinned is NULL but n_pinned is %zu",
                       o->n_pinned);
    for (size_t i = 0; i < o->n_pinned; i++)
        if (!o->pinned[i])
            return lp_fail(ctx, LP_EINVAL, "rebalance pinned[%zu] is NULL", i);
    for (size_t i = 0; i < o->n_history; i++)
        if (!o->history[i].workload || !isfinite(o->history[i].time))
            return lp_fail(ctx, LP_EINVAL, "rebalance history[%zu]: %s", i,
                           o->history[i].workload ? "time must be a finite number"
                                                  : "workload is NULL");
    return LP_OK;
}

/* Acted-on hosts, most excess first (then cluster order). */
static size_t *acted_hosts(const problem *p, size_t *n)
{
    size_t *a = malloc((p->nh ? p->nh : 1) * sizeof *a);
    if (!a)
        return NULL;
    *n = 0;
    for (size_t i = 0; i < p->nh; i++) {
        if (!p->h[i].acted_on)
            continue;
        size_t j = (*n)++;
        double e = excess_of(&p->h[i]);
        for (; j > 0 && excess_of(&p->h[a[j - 1]]) < e - EPS; j--)
            a[j] = a[j - 1];
        a[j] = i;
    }
    return a;
}

/* Lower bound on the moves of the plan: every host acted on needs at least
   its own cover bound.  0 in *finite when some host cannot be resolved. */
static size_t moves_bound(problem *p, const size_t *acted, size_t nacted, const size_t *first,
                          size_t *ulist, size_t *idx, int *finite)
{
    size_t lb = 0;
    *finite = 1;
    for (size_t a = 0; a < nacted; a++) {
        size_t i = acted[a], n = first[i + 1] - first[i];
        for (size_t k = 0; k < n; k++)
            ulist[k] = first[i] + k;
        size_t b = host_bound(p, i, ulist, n, idx);
        if (b == (size_t)-1)
            *finite = 0;
        else
            lb += b;
    }
    return lb;
}

/*
 * The plan's units and their destinations: the greedy pass, kept when it
 * meets the lower bound, else improved by the exact search when it finds
 * better within the budget.  Leaves p at the start state.
 */
static lp_status plan(problem *p, lp_rebalance *r, size_t **units, size_t **dests, size_t *n)
{
    size_t nacted = 0, *acted = acted_hosts(p, &nacted);
    size_t *first = malloc((p->nh + 1) * sizeof *first);
    size_t *ulist = malloc((p->nu ? p->nu : 1) * sizeof *ulist);
    size_t *idx = malloc((p->nu ? p->nu : 1) * sizeof *idx);
    *units = malloc((p->nu ? p->nu : 1) * sizeof **units);
    *dests = malloc((p->nu ? p->nu : 1) * sizeof **dests);
    lp_status st = LP_OK;
    if (!acted || !first || !ulist || !idx || !*units || !*dests) {
        st = lp_fail(p->ctx, LP_ENOMEM, "out of memory planning");
        goto done;
    }
    /* Units were built host by host: host i owns units first[i] .. first[i+1]-1. */
    for (size_t i = 0, k = 0; i <= p->nh; i++) {
        while (k < p->nu && p->u[k].host < i)
            k++;
        first[i] = k;
    }
    int finite;
    size_t lb = moves_bound(p, acted, nacted, first, ulist, idx, &finite);
    for (size_t a = 0; a < nacted; a++)
        greedy_host(p, acted[a], first[acted[a]], first[acted[a] + 1]);
    double greedy_excess = total_excess(p);
    r->optimal = greedy_excess <= 0 && finite && p->nmoved == lb;
    *n = p->ndone;
    for (size_t k = 0; k < p->ndone; k++) {
        (*units)[k] = p->done[k];
        (*dests)[k] = p->u[p->done[k]].dest;
    }
    if (r->optimal || !p->o->search_budget || !nacted) {
        reset(p);
        goto done;
    }
    if ((st = collect_candidates(p)))
        goto done;
    if (p->ncand > EXACT_MAX_UNITS) {
        reset(p);
        goto done;
    }
    for (size_t k = 0; k < p->nu; k++)
        p->best_dest[k] = p->u[k].dest;
    p->best_excess = greedy_excess;
    p->best_moves = p->nmoved;
    reset(p);
    search(p, 0, 0, idx);
    r->optimal = !p->budget_out;
    if (better(p->best_excess, p->best_moves, greedy_excess, p->nmoved)) {
        *n = 0;
        for (size_t c = 0; c < p->ncand; c++) {
            size_t k = p->cand[c];
            if (p->best_dest[k] != p->u[k].host) {
                (*units)[*n] = k;
                (*dests)[(*n)++] = p->best_dest[k];
            }
        }
    }
done:
    free(acted);
    free(first);
    free(ulist);
    free(idx);
    return st;
}

lp_status lp_rebalance_new(lp_ctx *ctx, const lp_cluster *c, const lp_rebalance_options *opts,
                           lp_rebalance **out)
{
    lp_status st;
    lp_rebalance_options defaults;
    if (!ctx)
        return LP_EINVAL;
    if (!c || !out)
        return lp_fail(ctx, LP_EINVAL, "lp_rebalance_new: %s is NULL", c ? "out" : "cluster");
    if (!opts) {
        lp_rebalance_options_init(&defaults, LP_REBALANCE_OPTIONS_VERSION);
        opts = &defaults;
    }
    if ((st = check_options(ctx, opts)))
        return st;
    problem p = {.ctx = ctx, .c = c, .o = opts};
    size_t *units = NULL, *dests = NULL, n = 0;
    lp_rebalance *r = calloc(1, sizeof *r);
    if (!r)
        st = lp_fail(ctx, LP_ENOMEM, "out of memory planning");
    if (!st)
        st = build(&p);
    if (!st)
        st = plan(&p, r, &units, &dests, &n);
    if (!st)
        st = write_plan(&p, r, units, dests, n);
    free(units);
    free(dests);
    problem_free(&p);
    if (st) {
        lp_rebalance_free(r);
        return st;
    }
    *out = r;
    return LP_OK;
}
