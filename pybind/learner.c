/*
 * lp.Learner: classes learned per image and flavor from measured running
 * instances (lp_learner, docs/learn.md).  A lock guards the C handle; the
 * GIL is released while it observes a cluster.
 */
#include "lp_py.h"

static void Learner_dealloc(LpPy_Learner *self)
{
    lp_learner_free(self->l);
    lp_ctx_free(self->ctx);
    if (self->lock)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Raise ctx's error, then release the lock.  Returns NULL. */
static PyObject *fail_unlock(LpPy_Learner *self, lp_status st)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", lp_ctx_last_error(self->ctx));
    lp_ctx_clear_error(self->ctx);
    PyThread_release_lock(self->lock);
    return lp_py_raise(st, msg);
}

static int Learner_init(LpPy_Learner *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"min_instances", "min_confidence", "forget_s", NULL};
    lp_learn_options o;
    lp_learn_options_init(&o, LP_LEARN_OPTIONS_VERSION);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Idd:Learner", kwlist, &o.min_instances,
                                     &o.min_confidence, &o.forget_s))
        return -1;
    if (self->l) {
        PyErr_SetString(PyExc_RuntimeError, "Learner is already initialised");
        return -1;
    }
    if (!self->lock && !(self->lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        return -1;
    }
    lp_status st = self->ctx ? LP_OK : lp_ctx_new(&self->ctx);
    if (st == LP_OK)
        st = lp_learner_new(self->ctx, &o, &self->l);
    if (st != LP_OK) {
        /* lp_learner_new's messages name the option: a bad value is a ValueError. */
        if (st == LP_EINVAL)
            PyErr_SetString(PyExc_ValueError, lp_ctx_last_error(self->ctx));
        else
            lp_py_raise(st, self->ctx ? lp_ctx_last_error(self->ctx) : NULL);
        return -1;
    }
    return 0;
}

/* A unix time from a number or None (None: now). */
static int unix_time(PyObject *o, double *out)
{
    if (o == NULL || o == Py_None) {
        PyObject *time = PyImport_ImportModule("time");
        PyObject *now = time ? PyObject_CallMethod(time, "time", NULL) : NULL;
        Py_XDECREF(time);
        if (!now)
            return -1;
        *out = PyFloat_AsDouble(now);
        Py_DECREF(now);
        return PyErr_Occurred() ? -1 : 0;
    }
    return lp_py_double(o, "now", out);
}

PyDoc_STRVAR(observe_doc, "observe(cluster, now=None)\n\n"
"Record what every workload of cluster (an lp.Cluster, e.g. the agents'\n"
"snapshots from Fetcher.fetch) that has an image or a flavor and a known\n"
"class was measured to be, as seen at unix time now (default: the current\n"
"time).  An instance counts once, by its latest observation; instances not\n"
"observed for forget_s are forgotten.");

static PyObject *Learner_observe(LpPy_Learner *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"cluster", "now", NULL};
    LpPy_Cluster *cl;
    PyObject *now_o = NULL;
    double now;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|O:observe", kwlist, &LpPy_ClusterType, &cl,
                                     &now_o) ||
        unix_time(now_o, &now) < 0)
        return NULL;
    if (!self->l) {
        PyErr_SetString(PyExc_RuntimeError, "Learner is not initialised");
        return NULL;
    }
    lp_status st;
    /* Lock order: learner, then cluster. */
    lp_py_lock(self->lock);
    lp_py_lock(cl->lock);
    Py_BEGIN_ALLOW_THREADS
    st = lp_learner_observe(self->ctx, self->l, cl->c, now);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(cl->lock);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

/* The dict of an answer. */
static PyObject *learned_dict(const lp_learned *a, int trusted)
{
    return Py_BuildValue("{s:N,s:d,s:N,s:I,s:I,s:s,s:O}", "class", lp_py_class_str(a->klass),
                         "confidence", a->confidence, "demand_per_vcpu",
                         a->demand_per_vcpu >= 0 ? PyFloat_FromDouble(a->demand_per_vcpu)
                                                 : Py_NewRef(Py_None),
                         "instances", a->instances, "agreeing", a->agreeing, "source", a->source,
                         "trusted", trusted ? Py_True : Py_False);
}

PyDoc_STRVAR(lookup_doc, "lookup(image=None, flavor=None, now=None) -> dict\n\n"
"What an image (tried first) or a flavor was learned to be: {class,\n"
"confidence, demand_per_vcpu (None if not measured), instances, agreeing,\n"
"source, trusted}.  When nothing is trusted, class is 'unknown', trusted\n"
"False and source says why (too few instances, too little agreement).");

static PyObject *Learner_lookup(LpPy_Learner *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"image", "flavor", "now", NULL};
    const char *image = NULL, *flavor = NULL;
    PyObject *now_o = NULL;
    double now;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|zzO:lookup", kwlist, &image, &flavor, &now_o) ||
        unix_time(now_o, &now) < 0)
        return NULL;
    if (!self->l) {
        PyErr_SetString(PyExc_RuntimeError, "Learner is not initialised");
        return NULL;
    }
    lp_learned out;
    lp_py_lock(self->lock);
    lp_status st = lp_learner_lookup(self->ctx, self->l, image, flavor, now, &out);
    if (st != LP_OK && st != LP_ENOTFOUND)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    return learned_dict(&out, st == LP_OK);
}

int lp_py_learner_resolve(LpPy_Learner *self, lp_ctx *ctx, const lp_request *r, double now,
                          lp_class *klass, double *added, lp_learned *how)
{
    lp_py_lock(self->lock);
    lp_status st = lp_learner_resolve(ctx, self->l, r, now, klass, added, how);
    PyThread_release_lock(self->lock);
    return st;
}

int lp_py_unix_time(PyObject *o, double *out)
{
    return unix_time(o, out);
}

static PyMethodDef Learner_methods[] = {
    {"observe", LP_PY_METH(Learner_observe), METH_VARARGS | METH_KEYWORDS, observe_doc},
    {"lookup", LP_PY_METH(Learner_lookup), METH_VARARGS | METH_KEYWORDS, lookup_doc},
    {NULL, NULL, 0, NULL}};

PyDoc_STRVAR(Learner_doc, "Learner(min_instances=3, min_confidence=0.7, forget_s=3600)\n\n"
"Classes learned per image and per flavor from what their running\n"
"instances were measured to be (docs/learn.md): feed it the agents'\n"
"snapshots with observe(), ask it with lookup() or Context.resolve_learned().\n"
"A request of class auto then takes the learned class once min_instances\n"
"distinct instances agree with at least min_confidence.  Calls on one\n"
"Learner are serialised.");

PyTypeObject LpPy_LearnerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libplacement.Learner",
    .tp_basicsize = sizeof(LpPy_Learner),
    .tp_dealloc = (destructor)Learner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = Learner_doc,
    .tp_methods = Learner_methods,
    .tp_init = (initproc)Learner_init,
    .tp_new = PyType_GenericNew,
};

int lp_py_add_learner(PyObject *module)
{
    if (PyType_Ready(&LpPy_LearnerType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Learner", (PyObject *)&LpPy_LearnerType);
}
