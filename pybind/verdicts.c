/*
 * lp.Verdicts: the result of Context.filter_score() for all hosts.  Holds
 * the C verdicts and host loads; each list is built on first access and then
 * kept, so that v.scores[i] in a loop does not rebuild it.
 */
#include <string.h>

#include "lp_py.h"

enum { L_PASSES, L_SCORES, L_RUNTIMES, L_REASONS, L_COUNT };

typedef struct {
    PyObject_HEAD
    lp_verdict *v;
    lp_host_load *h;
    size_t n;
    lp_class klass;
    double added;
    PyObject *lists[L_COUNT]; /* built on demand */
} LpPy_Verdicts;

/* lp_verdict_explain() as a str. */
static PyObject *explain_str(const lp_verdict *v, const lp_host_load *h)
{
    char buf[512];
    size_t need;
    if (lp_verdict_explain(NULL, v, h, buf, sizeof buf, &need) == LP_OK)
        return PyUnicode_FromString(buf);
    char *big = PyMem_Malloc(need + 1);
    if (!big)
        return PyErr_NoMemory();
    lp_verdict_explain(NULL, v, h, big, need + 1, NULL);
    PyObject *s = PyUnicode_FromString(big);
    PyMem_Free(big);
    return s;
}

PyObject *lp_py_verdicts_new(lp_verdict *v, lp_host_load *h, size_t n, lp_class klass,
                             double added)
{
    LpPy_Verdicts *self = PyObject_GC_New(LpPy_Verdicts, &LpPy_VerdictsType);
    if (!self) {
        PyMem_Free(v);
        PyMem_Free(h);
        return NULL;
    }
    self->v = v;
    self->h = h;
    self->n = n;
    self->klass = klass;
    self->added = added;
    memset(self->lists, 0, sizeof self->lists);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

/* GC support: a cached list may be made to refer back to its Verdicts. */
static int Verdicts_traverse(LpPy_Verdicts *self, visitproc visit, void *arg)
{
    for (int i = 0; i < L_COUNT; i++)
        Py_VISIT(self->lists[i]);
    return 0;
}

static int Verdicts_clear(LpPy_Verdicts *self)
{
    for (int i = 0; i < L_COUNT; i++)
        Py_CLEAR(self->lists[i]);
    return 0;
}

static void Verdicts_dealloc(LpPy_Verdicts *self)
{
    PyObject_GC_UnTrack(self);
    Verdicts_clear(self);
    PyMem_Free(self->v);
    PyMem_Free(self->h);
    PyObject_GC_Del(self);
}

static Py_ssize_t Verdicts_len(LpPy_Verdicts *self)
{
    return (Py_ssize_t)self->n;
}

/* The list self->lists[which], one item per host made by item(verdict). */
static PyObject *map_list(LpPy_Verdicts *self, int which, PyObject *(*item)(const lp_verdict *))
{
    if (self->lists[which])
        return Py_NewRef(self->lists[which]);
    PyObject *list = PyList_New((Py_ssize_t)self->n);
    for (size_t i = 0; list && i < self->n; i++) {
        PyObject *o = item(&self->v[i]);
        if (!o)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, o);
    }
    self->lists[which] = Py_XNewRef(list);
    return list;
}

static PyObject *pass_of(const lp_verdict *v) { return PyBool_FromLong(v->passes); }
static PyObject *score_of(const lp_verdict *v) { return PyFloat_FromDouble(v->score); }
static PyObject *runtime_of(const lp_verdict *v) { return lp_py_runtime_str(v->runtime); }
static PyObject *reason_of(const lp_verdict *v) { return lp_py_reason_str(v->reason); }

static PyObject *Verdicts_passes(LpPy_Verdicts *self, void *c) { (void)c; return map_list(self, L_PASSES, pass_of); }
static PyObject *Verdicts_scores(LpPy_Verdicts *self, void *c) { (void)c; return map_list(self, L_SCORES, score_of); }
static PyObject *Verdicts_runtimes(LpPy_Verdicts *self, void *c) { (void)c; return map_list(self, L_RUNTIMES, runtime_of); }
static PyObject *Verdicts_reasons(LpPy_Verdicts *self, void *c) { (void)c; return map_list(self, L_REASONS, reason_of); }
static PyObject *Verdicts_klass(LpPy_Verdicts *self, void *c) { (void)c; return lp_py_class_str(self->klass); }
static PyObject *Verdicts_added(LpPy_Verdicts *self, void *c) { (void)c; return PyFloat_FromDouble(self->added); }

static PyGetSetDef Verdicts_getset[] = {
    {"passes", (getter)Verdicts_passes, NULL, "list of bool: host i can take the instance", NULL},
    {"scores", (getter)Verdicts_scores, NULL, "list of float: score of host i (0 if refused; higher is better)", NULL},
    {"runtimes", (getter)Verdicts_runtimes, NULL, "list of str or None: runtime the instance would run in on host i", NULL},
    {"reasons", (getter)Verdicts_reasons, NULL, "list of str: 'ok', 'parallelism', 'runtime' or 'memory'", NULL},
    {"klass", (getter)Verdicts_klass, NULL, "str: the request's class ('auto' resolved)", NULL},
    {"added", (getter)Verdicts_added, NULL, "float: demand one instance adds to a host", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyDoc_STRVAR(explain_doc, "explain(i) -> str\n\n"
"One line for host i: pass or fail, why, and the score terms.  Negative i\n"
"counts from the end; IndexError when out of range.");

static PyObject *Verdicts_explain(LpPy_Verdicts *self, PyObject *arg)
{
    Py_ssize_t i = PyNumber_AsSsize_t(arg, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (i < 0)
        i += (Py_ssize_t)self->n;
    if (i < 0 || (size_t)i >= self->n) {
        PyErr_Format(PyExc_IndexError, "host index %R out of range for %zu hosts", arg, self->n);
        return NULL;
    }
    return explain_str(&self->v[i], &self->h[i]);
}

PyDoc_STRVAR(best_doc, "best() -> int\n\n"
"Index of the best passing host (highest score, lowest index on ties), or -1.");

static PyObject *Verdicts_best(LpPy_Verdicts *self, PyObject *unused)
{
    (void)unused;
    size_t best;
    if (lp_verdicts_best(NULL, self->v, self->n, &best) != LP_OK)
        return PyLong_FromLong(-1);
    return PyLong_FromSize_t(best);
}

static PyMethodDef Verdicts_methods[] = {
    {"explain", (PyCFunction)Verdicts_explain, METH_O, explain_doc},
    {"best", (PyCFunction)Verdicts_best, METH_NOARGS, best_doc},
    {NULL, NULL, 0, NULL}};

static PySequenceMethods Verdicts_as_sequence = {
    .sq_length = (lenfunc)Verdicts_len,
};

PyDoc_STRVAR(Verdicts_doc, "Verdicts of Context.filter_score(): one per host, in the\n"
"order of the hosts given.  len(v); v.passes, v.scores, v.runtimes,\n"
"v.reasons (lists, built once and shared: do not modify them); v.klass,\n"
"v.added; v.explain(i); v.best().\n"
"Created only by filter_score().");

PyTypeObject LpPy_VerdictsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libplacement.Verdicts",
    .tp_basicsize = sizeof(LpPy_Verdicts),
    .tp_dealloc = (destructor)Verdicts_dealloc,
    .tp_as_sequence = &Verdicts_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Verdicts_traverse,
    .tp_clear = (inquiry)Verdicts_clear,
    .tp_doc = Verdicts_doc,
    .tp_methods = Verdicts_methods,
    .tp_getset = Verdicts_getset,
};

int lp_py_add_verdicts(PyObject *module)
{
    if (PyType_Ready(&LpPy_VerdictsType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Verdicts", (PyObject *)&LpPy_VerdictsType);
}
