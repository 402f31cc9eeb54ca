/*
 * lp.Context: one lp_ctx (policy + last error) per object.  The GIL is
 * released during longer C work, so a PyThread lock serialises the C calls
 * made with the lp_ctx (the C API forbids using one lp_ctx from two threads).
 * Arguments are converted before the lock is taken: conversion may run
 * Python code, which must never wait on this lock.
 */
#include "lp_py.h"

/* Below this many hosts, releasing the GIL costs more than the C call. */
#define RELEASE_GIL_HOSTS 16

typedef struct {
    PyObject_HEAD
    lp_ctx *ctx;
    PyThread_type_lock lock;
} LpPy_Context;

/* Raise the C error stored in self->ctx, then release the lock. Returns NULL. */
static PyObject *fail_unlock(LpPy_Context *self, lp_status st)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", lp_ctx_last_error(self->ctx));
    lp_ctx_clear_error(self->ctx);
    PyThread_release_lock(self->lock);
    return lp_py_raise(st, msg);
}

static void Context_dealloc(LpPy_Context *self)
{
    lp_ctx_free(self->ctx);
    if (self->lock)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Context_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    LpPy_Context *self = (LpPy_Context *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    lp_status st = lp_ctx_new(&self->ctx);
    if (st != LP_OK) {
        Py_DECREF(self);
        return lp_py_raise(st, NULL);
    }
    if (!(self->lock = PyThread_allocate_lock())) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

/* Set one parameter; name and value are Python objects from the caller. */
static int set_param(LpPy_Context *self, PyObject *name, PyObject *value)
{
    const char *n = lp_py_utf8(name, "policy parameter name");
    if (!n)
        return -1;
    char what[128];
    snprintf(what, sizeof what, "policy parameter '%.80s'", n);
    double d;
    if (lp_py_double(value, what, &d) < 0)
        return -1;
    lp_py_lock(self->lock);
    lp_status st = lp_ctx_set_param(self->ctx, n, d);
    if (st != LP_OK) {
        fail_unlock(self, st);
        return -1;
    }
    PyThread_release_lock(self->lock);
    return 0;
}

static int Context_init(LpPy_Context *self, PyObject *args, PyObject *kw)
{
    if (PyTuple_GET_SIZE(args) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "Context() takes policy parameters by keyword only, e.g. "
                        "Context(max_parallel_ratio=1.0)");
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (kw && PyDict_Next(kw, &pos, &key, &value))
        if (set_param(self, key, value) < 0)
            return -1;
    return 0;
}

PyDoc_STRVAR(set_doc, "set(name, value)\n\n"
"Set a numeric policy parameter (see params() for the names).  lp.Error\n"
"names an unknown parameter or the allowed range; the policy is unchanged then.");

static PyObject *Context_set(LpPy_Context *self, PyObject *args)
{
    PyObject *name, *value;
    if (!PyArg_ParseTuple(args, "OO:set", &name, &value) || set_param(self, name, value) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(get_doc, "get(name) -> float\n\nValue of a policy parameter; lp.Error if unknown.");

static PyObject *Context_get(LpPy_Context *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s:get", &name))
        return NULL;
    double v;
    lp_py_lock(self->lock);
    lp_status st = lp_ctx_get_param(self->ctx, name, &v);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    return PyFloat_FromDouble(v);
}

PyDoc_STRVAR(params_doc, "params() -> dict\n\nEvery policy parameter: name -> current value.");

static PyObject *Context_params(LpPy_Context *self, PyObject *unused)
{
    (void)unused;
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && lp_policy_param_name(i); i++) {
        const char *name = lp_policy_param_name(i);
        double v = 0;
        lp_py_lock(self->lock);
        lp_status st = lp_ctx_get_param(self->ctx, name, &v);
        if (st != LP_OK) {
            Py_DECREF(d);
            return fail_unlock(self, st);
        }
        PyThread_release_lock(self->lock);
        PyObject *f = PyFloat_FromDouble(v);
        if (!f || PyDict_SetItemString(d, name, f) < 0)
            Py_CLEAR(d);
        Py_XDECREF(f);
    }
    return d;
}

PyDoc_STRVAR(set_runtime_order_doc, "set_runtime_order(klass, order)\n\n"
"Preference order of runtimes for a workload class, e.g.\n"
"set_runtime_order('cpu', 'unikernel,vm').  lp.Error names a bad entry.");

static PyObject *Context_set_runtime_order(LpPy_Context *self, PyObject *args)
{
    PyObject *ko;
    const char *order;
    lp_class k;
    if (!PyArg_ParseTuple(args, "Os:set_runtime_order", &ko, &order) ||
        lp_py_parse_class(ko, 0, "klass", &k) < 0)
        return NULL;
    lp_py_lock(self->lock);
    lp_status st = lp_ctx_set_runtime_order(self->ctx, k, order);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(get_runtime_order_doc, "get_runtime_order(klass) -> str\n\n"
"Preference order of runtimes for a class, e.g. 'unikernel,vm'.");

static PyObject *Context_get_runtime_order(LpPy_Context *self, PyObject *arg)
{
    lp_class k;
    if (lp_py_parse_class(arg, 0, "klass", &k) < 0)
        return NULL;
    char buf[64];
    lp_py_lock(self->lock);
    lp_status st = lp_ctx_get_runtime_order(self->ctx, k, buf, sizeof buf);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    return PyUnicode_FromString(buf);
}

PyDoc_STRVAR(classify_doc, "classify(metrics) -> (klass, confidence, reasons)\n\n"
"Workload class from measured behaviour.  metrics is a dict with any of\n"
"util, demand, threads, vcpus, wait_ratio, iowait, net_bps, disk_bps,\n"
"memory_mb (negative = unknown), and the snapshot workload keys id,\n"
"runtime, class, confidence, group.  Returns the class name, a confidence\n"
"0..1 and the reasons as text.");

static PyObject *Context_classify(LpPy_Context *self, PyObject *arg)
{
    lp_workload w;
    PyObject *id_ref = NULL, *group_ref = NULL;
    PyObject *result = NULL;
    if (lp_py_workload_from(arg, "metrics", &w, &id_ref, &group_ref) == 0) {
        lp_classification c;
        lp_py_lock(self->lock);
        lp_status st = lp_workload_classify(self->ctx, &w, &c);
        if (st != LP_OK) {
            fail_unlock(self, st);
        } else {
            PyThread_release_lock(self->lock);
            PyObject *k = lp_py_class_str(c.klass);
            result = Py_BuildValue("(Nds)", k, c.confidence, c.reasons);
        }
    }
    Py_XDECREF(id_ref);
    Py_XDECREF(group_ref);
    return result;
}

PyDoc_STRVAR(choose_runtime_doc,
"choose_runtime(klass, host_runtimes_mask, allowed_mask=RUNTIME_ALL) -> str or None\n\n"
"Runtime for a workload of class klass on a host offering\n"
"host_runtimes_mask, among those the image allows (masks as ints or runtime\n"
"names); None if none fits.");

static PyObject *Context_choose_runtime(LpPy_Context *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"klass", "host_runtimes_mask", "allowed_mask", NULL};
    PyObject *ko, *ho, *ao = NULL;
    lp_class k;
    unsigned host, allowed = LP_RUNTIME_ALL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:choose_runtime", kwlist, &ko, &ho, &ao) ||
        lp_py_parse_class(ko, 0, "klass", &k) < 0 ||
        lp_py_parse_mask(ho, "host_runtimes_mask", &host) < 0 ||
        (ao && lp_py_parse_mask(ao, "allowed_mask", &allowed) < 0))
        return NULL;
    lp_runtime r;
    lp_py_lock(self->lock);
    lp_status st = lp_runtime_choose(self->ctx, k, host, allowed, &r);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    return lp_py_runtime_str(r);
}

PyDoc_STRVAR(resolve_doc, "resolve(request) -> (klass, added)\n\n"
"The class a request gets ('auto' resolved from its metrics) and the demand\n"
"one instance adds to a host.");

static PyObject *Context_resolve(LpPy_Context *self, PyObject *arg)
{
    lp_py_request r;
    if (lp_py_request_from(arg, "request", &r) < 0)
        return NULL;
    lp_class k;
    double added;
    PyObject *result = NULL;
    lp_py_lock(self->lock);
    lp_status st = lp_request_resolve(self->ctx, &r.r, &k, &added);
    if (st != LP_OK) {
        fail_unlock(self, st);
    } else {
        PyThread_release_lock(self->lock);
        result = Py_BuildValue("(Nd)", lp_py_class_str(k), added);
    }
    lp_py_request_clear(&r);
    return result;
}

PyDoc_STRVAR(filter_score_doc, "filter_score(request, hosts) -> Verdicts\n\n"
"Filter and score every host for one instance of request, in one C call\n"
"with the GIL released.  hosts is a sequence of 5-tuples\n"
"(threads, demand, memory_free_mb, runtimes_mask, group_members);\n"
"memory_free_mb < 0 means unknown (not checked).");

static PyObject *Context_filter_score(LpPy_Context *self, PyObject *args)
{
    PyObject *ro, *ho;
    if (!PyArg_ParseTuple(args, "OO:filter_score", &ro, &ho))
        return NULL;
    lp_py_request r;
    if (lp_py_request_from(ro, "request", &r) < 0)
        return NULL;
    size_t n = 0;
    lp_verdict *v = NULL;
    lp_host_load *h = lp_py_host_loads_from(ho, &n);
    if (h && !(v = PyMem_Malloc((n ? n : 1) * sizeof *v)))
        PyErr_NoMemory();
    if (!v) {
        PyMem_Free(h);
        lp_py_request_clear(&r);
        return NULL;
    }
    lp_class k = LP_CLASS_UNKNOWN;
    double added = 0;
    lp_py_lock(self->lock);
    lp_status st;
    if (n >= RELEASE_GIL_HOSTS) {
        Py_BEGIN_ALLOW_THREADS
        st = lp_request_filter_score(self->ctx, &r.r, h, n, v);
        Py_END_ALLOW_THREADS
    } else {
        st = lp_request_filter_score(self->ctx, &r.r, h, n, v);
    }
    if (st == LP_OK && n == 0) /* no verdict to carry the class */
        st = lp_request_resolve(self->ctx, &r.r, &k, &added);
    lp_py_request_clear(&r);
    if (st != LP_OK) {
        PyMem_Free(h);
        PyMem_Free(v);
        return fail_unlock(self, st);
    }
    PyThread_release_lock(self->lock);
    if (n > 0) {
        k = v[0].klass;
        added = v[0].added;
    }
    return lp_py_verdicts_new(v, h, n, k, added);
}

/* d[key] as a float if it is a number (JSON writes whole numbers as ints). */
static int float_item(PyObject *d, const char *key)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v || !PyLong_Check(v))
        return 0;
    PyObject *f = PyNumber_Float(v);
    int rc = f ? PyDict_SetItemString(d, key, f) : -1;
    Py_XDECREF(f);
    return rc;
}

/* score and terms of a placement as floats, whatever the JSON spelling. */
static int floats_of(PyObject *d)
{
    PyObject *terms = PyDict_GetItemString(d, "terms");
    if (float_item(d, "score") < 0)
        return -1;
    for (int t = 0; terms && PyDict_Check(terms) && t < LP_TERM_COUNT; t++)
        if (float_item(terms, lp_term_name(t)) < 0)
            return -1;
    return 0;
}

/*
 * The plan as a list of dicts: the codec's plan JSON (lp_plan_write_json, the same
 * text lpctl prints) decoded, with each instance's refusals {host: why}
 * attached when kept (the codec lists them for unplaced instances only).
 */
static PyObject *plan_list(const char *text, size_t len, int keep)
{
    PyObject *doc = lp_py_json_loads(text, len);
    if (!doc)
        return NULL;
    PyObject *pl = PyDict_Check(doc) ? PyDict_GetItemString(doc, "placements") : NULL;
    PyObject *ref = PyDict_Check(doc) ? PyDict_GetItemString(doc, "refusals") : NULL;
    if (!pl || !PyList_Check(pl) || !ref || !PyList_Check(ref)) {
        Py_DECREF(doc);
        PyErr_SetString(lp_py_Error, "plan JSON lacks the placements or refusals list");
        return NULL;
    }
    Py_INCREF(pl);
    Py_ssize_t next = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(pl); i++) {
        PyObject *d = PyList_GET_ITEM(pl, i);
        if (floats_of(d) < 0) {
            Py_CLEAR(pl);
            break;
        }
        if (!keep)
            continue;
        PyObject *host = PyDict_GetItemString(d, "host");
        PyObject *hosts = NULL;
        if (host == Py_None && next < PyList_GET_SIZE(ref))
            hosts = PyDict_GetItemString(PyList_GET_ITEM(ref, next++), "hosts");
        PyObject *r = hosts ? Py_NewRef(hosts) : PyDict_New();
        if (!r || PyDict_SetItemString(d, "refusals", r) < 0)
            Py_CLEAR(pl);
        Py_XDECREF(r);
        if (!pl)
            break;
    }
    Py_DECREF(doc);
    return pl;
}

/* Convert every request dict; on failure nothing is left to clear. */
static lp_py_request *requests_from(PyObject *seq, size_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "requests must be a sequence of request dicts");
    if (!fast)
        return NULL;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    lp_py_request *rq = PyMem_Calloc((size_t)(len > 0 ? len : 1), sizeof *rq);
    if (!rq) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    Py_ssize_t i;
    for (i = 0; i < len && i < PySequence_Fast_GET_SIZE(fast); i++) {
        char what[48];
        snprintf(what, sizeof what, "requests[%zd]", i);
        PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(fast, i));
        int rc = lp_py_request_from(item, what, &rq[i]);
        Py_DECREF(item);
        if (rc < 0)
            break;
    }
    if (i == len) {
        Py_DECREF(fast);
        *n = (size_t)len;
        return rq;
    }
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "requests changed size during conversion");
    while (i-- > 0)
        lp_py_request_clear(&rq[i]);
    PyMem_Free(rq);
    Py_DECREF(fast);
    return NULL;
}

PyDoc_STRVAR(place_doc, "place(cluster, requests, keep_verdicts=False) -> list of dicts\n\n"
"Place every instance of every request (dicts as for filter_score) on the\n"
"cluster, in order; each instance sees what the earlier ones added.  One\n"
"dict per instance: request, instance, host, runtime, class, score, terms\n"
"{headroom, colocate, spread}, reason, explain (host, runtime, score and\n"
"terms are None when unplaced; reason then tells the most common refusal),\n"
"and with keep_verdicts=True refusals {host: why it refused} (empty for\n"
"placed instances).  The cluster is not modified.  Runs with the GIL\n"
"released.");

static PyObject *Context_place(LpPy_Context *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"cluster", "requests", "keep_verdicts", NULL};
    LpPy_Cluster *cl;
    PyObject *ro;
    int keep = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O|p:place", kwlist, &LpPy_ClusterType, &cl,
                                     &ro, &keep))
        return NULL;
    size_t n = 0;
    lp_py_request *rq = requests_from(ro, &n);
    if (!rq)
        return NULL;
    lp_requests *rs = NULL;
    lp_plan *plan = NULL;
    lp_py_lock(self->lock);
    lp_status st = lp_requests_new(self->ctx, &rs);
    for (size_t i = 0; i < n; i++) {
        if (st == LP_OK)
            st = lp_requests_add(self->ctx, rs, &rq[i].r);
        lp_py_request_clear(&rq[i]); /* lp_requests_add copied it */
    }
    PyMem_Free(rq);
    if (st != LP_OK) {
        lp_requests_free(rs);
        return fail_unlock(self, st);
    }
    /* Lock order: context, then cluster. */
    lp_place_options po;
    lp_place_options_init(&po, LP_PLACE_OPTIONS_VERSION);
    po.keep_verdicts = keep;
    lp_py_lock(cl->lock);
    Py_BEGIN_ALLOW_THREADS
    st = lp_plan_new(self->ctx, cl->c, rs, &po, &plan);
    Py_END_ALLOW_THREADS
    if (st != LP_OK) {
        PyThread_release_lock(cl->lock);
        lp_requests_free(rs);
        return fail_unlock(self, st);
    }
    char *text = NULL;
    size_t len = 0;
    st = lp_plan_write_json(self->ctx, plan, cl->c, rs, 0, &text, &len);
    PyThread_release_lock(cl->lock);
    lp_plan_free(plan);
    lp_requests_free(rs);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    PyObject *result = plan_list(text, len, keep);
    lp_free(text);
    return result;
}

PyDoc_STRVAR(resolve_learned_doc, "resolve_learned(request, learner, now=None) -> (klass, added, source)\n\n"
"As resolve(), but a request of workload 'auto' that its own metrics cannot\n"
"classify takes the class its image (request['image']) or flavor\n"
"(request['flavor']) was learned to be by learner (an lp.Learner), and for\n"
"net, io and idle classes the learned demand.  source says where the class\n"
"came from, e.g. 'class net learned from 5 running instances of image\n"
"3f2a..., confidence 0.90', or why the learner could not say.");

static PyObject *Context_resolve_learned(LpPy_Context *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"request", "learner", "now", NULL};
    PyObject *ro, *now_o = NULL;
    LpPy_Learner *learner;
    double now;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO!|O:resolve_learned", kwlist, &ro,
                                     &LpPy_LearnerType, &learner, &now_o) ||
        lp_py_unix_time(now_o, &now) < 0)
        return NULL;
    if (!learner->l) {
        PyErr_SetString(PyExc_RuntimeError, "Learner is not initialised");
        return NULL;
    }
    lp_py_request r;
    if (lp_py_request_from(ro, "request", &r) < 0)
        return NULL;
    lp_class k;
    double added;
    lp_learned how;
    PyObject *result = NULL;
    /* Lock order: context, then learner. */
    lp_py_lock(self->lock);
    lp_status st = lp_py_learner_resolve(learner, self->ctx, &r.r, now, &k, &added, &how);
    if (st != LP_OK) {
        fail_unlock(self, st);
    } else {
        PyThread_release_lock(self->lock);
        result = Py_BuildValue("(Nds)", lp_py_class_str(k), added, how.source);
    }
    lp_py_request_clear(&r);
    return result;
}

/* History for lp_rebalance: a mapping {workload: unix time} or an iterable
 * of (workload, unix time) pairs.  Entries point into refs' str objects. */
static lp_history_entry *history_from(PyObject *o, size_t *n, PyObject **refs)
{
    *n = 0;
    *refs = NULL;
    if (o == NULL || o == Py_None)
        return PyMem_Malloc(1);
    PyObject *items = PyDict_Check(o) ? PyDict_Items(o) : PySequence_List(o);
    if (!items) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "history must be a dict {workload: unix time} or "
                                             "a sequence of (workload, unix time) pairs");
        }
        return NULL;
    }
    Py_ssize_t len = PyList_GET_SIZE(items);
    lp_history_entry *h = PyMem_Malloc((size_t)(len > 0 ? len : 1) * sizeof *h);
    if (!h) {
        Py_DECREF(items);
        return (lp_history_entry *)PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        char what[160];
        snprintf(what, sizeof what, "history[%zd]", i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_Format(PyExc_TypeError, "%s must be a (workload, unix time) pair", what);
            goto fail;
        }
        const char *id = lp_py_utf8(PyTuple_GET_ITEM(pair, 0), what);
        if (!id)
            goto fail;
        snprintf(what, sizeof what, "history['%.100s'] (its unix time)", id);
        if (lp_py_double(PyTuple_GET_ITEM(pair, 1), what, &h[i].time) < 0)
            goto fail;
        h[i].workload = id;
    }
    *n = (size_t)len;
    *refs = items; /* keeps the str objects (and so the UTF-8 buffers) alive */
    return h;
fail:
    PyMem_Free(h);
    Py_DECREF(items);
    return NULL;
}

/* Pinned workload ids from an iterable of str; the pointers live in refs. */
static const char **pinned_from(PyObject *o, size_t *n, PyObject **refs)
{
    *n = 0;
    *refs = NULL;
    if (o == NULL || o == Py_None)
        return PyMem_Malloc(sizeof(char *));
    PyObject *items = PySequence_List(o);
    if (!items) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "pinned must be a sequence of workload ids");
        }
        return NULL;
    }
    Py_ssize_t len = PyList_GET_SIZE(items);
    const char **ids = PyMem_Malloc((size_t)(len > 0 ? len : 1) * sizeof *ids);
    if (!ids) {
        Py_DECREF(items);
        return (const char **)PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        char what[32];
        snprintf(what, sizeof what, "pinned[%zd]", i);
        if (!(ids[i] = lp_py_utf8(PyList_GET_ITEM(items, i), what))) {
            PyMem_Free(ids);
            Py_DECREF(items);
            return NULL;
        }
    }
    *n = (size_t)len;
    *refs = items;
    return ids;
}

PyDoc_STRVAR(rebalance_doc, "rebalance(cluster, now=None, history=None, overload_margin=0.05,\n"
"          max_moves=0, cooldown_s=3600, switch_confidence=0.8,\n"
"          switch_min_age_s=1800, search_budget=200000, pinned=None) -> dict\n\n"
"Plan the fewest live migrations that bring every host of cluster within\n"
"its cap, and the runtime switches its confidently classified workloads\n"
"call for (docs/rebalance.md).  history maps workload ids to the unix time\n"
"they were last moved or switched (cool-downs); pinned lists workload ids\n"
"that must not move (locked, excluded); now defaults to the\n"
"current time.  Returns {moves: [{workload, source, destination, reserved,\n"
"group, explain}], switches: [{workload, host, from, to, class, confidence,\n"
"held_s, explain}], hosts: [{host, capacity, demand_before, demand_after,\n"
"acted_on, why}], hosts_over_before, hosts_over_after, optimal}.  Runs with\n"
"the GIL released.");

static PyObject *Context_rebalance(LpPy_Context *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"cluster", "now", "history", "overload_margin", "max_moves",
                             "cooldown_s", "switch_confidence", "switch_min_age_s",
                             "search_budget", "pinned", NULL};
    LpPy_Cluster *cl;
    PyObject *now_o = NULL, *hist_o = NULL, *refs = NULL, *pin_o = NULL, *pin_refs = NULL;
    lp_rebalance_options o;
    lp_rebalance_options_init(&o, LP_REBALANCE_OPTIONS_VERSION);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|$OOdIdddkO:rebalance", kwlist,
                                     &LpPy_ClusterType, &cl, &now_o, &hist_o,
                                     &o.overload_margin, &o.max_moves, &o.cooldown_s,
                                     &o.switch_confidence, &o.switch_min_age_s,
                                     &o.search_budget, &pin_o) ||
        lp_py_unix_time(now_o, &o.now) < 0)
        return NULL;
    const char **pinned = pinned_from(pin_o, &o.n_pinned, &pin_refs);
    if (!pinned)
        return NULL;
    lp_history_entry *hist = history_from(hist_o, &o.n_history, &refs);
    if (!hist) {
        PyMem_Free(pinned);
        Py_XDECREF(pin_refs);
        return NULL;
    }
    o.history = hist;
    o.pinned = pinned;
    lp_rebalance *r = NULL;
    char *text = NULL;
    size_t len = 0;
    /* Lock order: context, then cluster. */
    lp_py_lock(self->lock);
    lp_py_lock(cl->lock);
    lp_status st;
    Py_BEGIN_ALLOW_THREADS
    st = lp_rebalance_new(self->ctx, cl->c, &o, &r);
    if (st == LP_OK)
        st = lp_rebalance_write_json(self->ctx, r, cl->c, 0, &text, &len);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(cl->lock);
    lp_rebalance_free(r);
    PyMem_Free(hist);
    PyMem_Free(pinned);
    Py_XDECREF(refs);
    Py_XDECREF(pin_refs);
    if (st != LP_OK) {
        /* Bad options are the caller's values: ValueError naming them. */
        if (st == LP_EINVAL) {
            PyErr_SetString(PyExc_ValueError, lp_ctx_last_error(self->ctx));
            lp_ctx_clear_error(self->ctx);
            PyThread_release_lock(self->lock);
            return NULL;
        }
        return fail_unlock(self, st);
    }
    PyThread_release_lock(self->lock);
    PyObject *result = lp_py_json_loads(text, len);
    lp_free(text);
    return result;
}

static PyMethodDef Context_methods[] = {
    {"set", (PyCFunction)Context_set, METH_VARARGS, set_doc},
    {"get", (PyCFunction)Context_get, METH_VARARGS, get_doc},
    {"params", (PyCFunction)Context_params, METH_NOARGS, params_doc},
    {"set_runtime_order", (PyCFunction)Context_set_runtime_order, METH_VARARGS,
     set_runtime_order_doc},
    {"get_runtime_order", (PyCFunction)Context_get_runtime_order, METH_O, get_runtime_order_doc},
    {"classify", (PyCFunction)Context_classify, METH_O, classify_doc},
    {"choose_runtime", LP_PY_METH(Context_choose_runtime), METH_VARARGS | METH_KEYWORDS,
     choose_runtime_doc},
    {"resolve", (PyCFunction)Context_resolve, METH_O, resolve_doc},
    {"resolve_learned", LP_PY_METH(Context_resolve_learned), METH_VARARGS | METH_KEYWORDS,
     resolve_learned_doc},
    {"rebalance", LP_PY_METH(Context_rebalance), METH_VARARGS | METH_KEYWORDS, rebalance_doc},
    {"filter_score", (PyCFunction)Context_filter_score, METH_VARARGS, filter_score_doc},
    {"place", LP_PY_METH(Context_place), METH_VARARGS | METH_KEYWORDS, place_doc},
    {NULL, NULL, 0, NULL}};

PyDoc_STRVAR(Context_doc, "Context(**params)\n\n"
"Placement policy (thresholds, weights, runtime preferences) and the entry\n"
"point for classification, filtering, scoring and placement.  Keyword\n"
"arguments set policy parameters by name, e.g.\n"
"Context(max_parallel_ratio=1.0, weight_colocate=2.0).  Safe to share\n"
"between threads: calls on one Context are serialised.");

PyTypeObject LpPy_ContextType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libplacement.Context",
    .tp_basicsize = sizeof(LpPy_Context),
    .tp_dealloc = (destructor)Context_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = Context_doc,
    .tp_methods = Context_methods,
    .tp_init = (initproc)Context_init,
    .tp_new = Context_new,
};

int lp_py_add_context(PyObject *module)
{
    if (PyType_Ready(&LpPy_ContextType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Context", (PyObject *)&LpPy_ContextType);
}
