/*
 * lp.Cluster: hosts with their workloads, as snapshots describe them.  Each
 * object has its own lp_ctx (messages of its own calls) and a lock, since
 * parsing and placement read or grow the lp_cluster with the GIL released.
 */
#include "lp_py.h"

/* A new Cluster object around c (a new empty cluster when c is NULL); takes
 * ownership of c. */
static LpPy_Cluster *cluster_alloc(PyTypeObject *type, lp_cluster *c)
{
    LpPy_Cluster *self = (LpPy_Cluster *)type->tp_alloc(type, 0);
    if (!self) {
        lp_cluster_free(c);
        return NULL;
    }
    self->c = c;
    lp_status st = lp_ctx_new(&self->ctx);
    if (st == LP_OK && !self->c)
        st = lp_cluster_new(self->ctx, &self->c);
    if (st != LP_OK) {
        lp_py_raise(st, self->ctx ? lp_ctx_last_error(self->ctx) : NULL);
        Py_DECREF(self);
        return NULL;
    }
    if (!(self->lock = PyThread_allocate_lock())) {
        Py_DECREF(self);
        PyErr_NoMemory();
        return NULL;
    }
    return self;
}

PyObject *lp_py_cluster_wrap(lp_cluster *c)
{
    return (PyObject *)cluster_alloc(&LpPy_ClusterType, c);
}

static void Cluster_dealloc(LpPy_Cluster *self)
{
    lp_cluster_free(self->c);
    lp_ctx_free(self->ctx);
    if (self->lock)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Cluster_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if (kw && PyDict_GET_SIZE(kw) > 0) {
        PyErr_SetString(PyExc_TypeError, "Cluster() takes no arguments (use Cluster.from_json())");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, ":Cluster"))
        return NULL;
    return (PyObject *)cluster_alloc(type, NULL);
}

/* Raise the error stored in self->ctx and release the lock. Returns NULL. */
static PyObject *fail_unlock(LpPy_Cluster *self, lp_status st)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", lp_ctx_last_error(self->ctx));
    lp_ctx_clear_error(self->ctx);
    PyThread_release_lock(self->lock);
    return lp_py_raise(st, msg);
}

/* Parse text into self with parse() (cluster file or one snapshot). */
static PyObject *parse_into(LpPy_Cluster *self, PyObject *args, PyObject *kw, const char *fmt,
                            lp_status (*parse)(lp_ctx *, lp_cluster *, const char *, size_t,
                                               const char *, unsigned))
{
    static char *kwlist[] = {"text", "origin", NULL};
    Py_buffer text;
    const char *origin = "<input>";
    if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, &text, &origin))
        return NULL;
    lp_status st;
    lp_py_lock(self->lock);
    Py_BEGIN_ALLOW_THREADS
    st = parse(self->ctx, self->c, text.buf, (size_t)text.len, origin, 0);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&text);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(from_json_doc, "Cluster.from_json(text, origin='<input>') -> Cluster\n\n"
"A cluster from a cluster file {\"hosts\": [snapshot, ...]} (str or bytes).\n"
"lp.ParseError names origin, the position and the field of bad input.");

static PyObject *Cluster_from_json(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    LpPy_Cluster *self = cluster_alloc(type, NULL);
    if (!self)
        return NULL;
    PyObject *r = parse_into(self, args, kw, "s*|s:from_json", lp_cluster_parse);
    if (!r) {
        Py_DECREF(self);
        return NULL;
    }
    Py_DECREF(r);
    return (PyObject *)self;
}

PyDoc_STRVAR(add_snapshot_json_doc, "add_snapshot_json(text, origin='<input>')\n\n"
"Add the host of one snapshot (schema libplacement/snapshot/v1).  The\n"
"cluster is unchanged on error (lp.ParseError, or lp.Error for a host\n"
"name already present).");

static PyObject *Cluster_add_snapshot_json(LpPy_Cluster *self, PyObject *args, PyObject *kw)
{
    return parse_into(self, args, kw, "s*|s:add_snapshot_json", lp_cluster_parse_snapshot);
}

static Py_ssize_t Cluster_len(LpPy_Cluster *self)
{
    lp_py_lock(self->lock);
    size_t n = lp_cluster_size(self->c);
    PyThread_release_lock(self->lock);
    return (Py_ssize_t)n;
}

/* The cluster as JSON text (lp_cluster_write_json); a str, or json.loads() of it. */
static PyObject *cluster_json(LpPy_Cluster *self, int pretty, int decode)
{
    char *text = NULL;
    size_t len = 0;
    lp_py_lock(self->lock);
    lp_status st = lp_cluster_write_json(self->ctx, self->c, pretty ? LP_JSON_PRETTY : 0, &text,
                                         &len);
    if (st != LP_OK)
        return fail_unlock(self, st);
    PyThread_release_lock(self->lock);
    PyObject *r = decode ? lp_py_json_loads(text, len)
                         : PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "strict");
    lp_free(text);
    return r;
}

PyDoc_STRVAR(to_json_doc, "to_json(pretty=False) -> str\n\nThe cluster as a cluster file.");

static PyObject *Cluster_to_json(LpPy_Cluster *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"pretty", NULL};
    int pretty = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:to_json", kwlist, &pretty))
        return NULL;
    return cluster_json(self, pretty, 0);
}

PyDoc_STRVAR(hosts_doc, "hosts() -> list of dict\n\n"
"Every host as a snapshot-shaped dict (the JSON of to_json(), decoded).");

static PyObject *Cluster_hosts(LpPy_Cluster *self, PyObject *unused)
{
    (void)unused;
    PyObject *doc = cluster_json(self, 0, 1);
    if (!doc)
        return NULL;
    PyObject *hosts = PyDict_Check(doc) ? PyDict_GetItemString(doc, "hosts") : NULL;
    if (!hosts)
        PyErr_SetString(lp_py_Error, "cluster JSON has no 'hosts' list");
    Py_XINCREF(hosts);
    Py_DECREF(doc);
    return hosts;
}

PyDoc_STRVAR(names_doc, "names() -> list of str\n\nHost names, in the order of hosts() and loads().");

static PyObject *Cluster_names(LpPy_Cluster *self, PyObject *unused)
{
    (void)unused;
    /* Copy the name pointers under the lock, make objects after it: creating
     * a list may run the GC, and a finalizer could call into this Cluster.
     * Names stay valid: hosts are only ever appended. */
    lp_py_lock(self->lock);
    size_t n = lp_cluster_size(self->c);
    const char **names = PyMem_Malloc((n ? n : 1) * sizeof *names);
    for (size_t i = 0; names && i < n; i++)
        names[i] = lp_cluster_get_host(self->c, i)->name;
    PyThread_release_lock(self->lock);
    if (!names)
        return PyErr_NoMemory();
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (!s)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    PyMem_Free(names);
    return list;
}

PyDoc_STRVAR(loads_doc, "loads(group=None) -> list of 5-tuples\n\n"
"Host loads for Context.filter_score(), one per host in order:\n"
"(threads, demand, memory_free_mb, runtimes_mask, group_members), where\n"
"group_members counts the workloads of group already on the host.\n"
"Demand is the larger of the measured and the declared demand.");

static PyObject *Cluster_loads(LpPy_Cluster *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"group", NULL};
    const char *group = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z:loads", kwlist, &group))
        return NULL;
    lp_py_lock(self->lock);
    size_t n = lp_cluster_size(self->c);
    lp_host_load *h = PyMem_Malloc((n ? n : 1) * sizeof *h);
    if (!h) {
        PyThread_release_lock(self->lock);
        return PyErr_NoMemory();
    }
    lp_status st = lp_cluster_get_loads(self->ctx, self->c, group, h, n);
    if (st != LP_OK) {
        PyMem_Free(h);
        return fail_unlock(self, st);
    }
    PyThread_release_lock(self->lock);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = lp_py_host_load_tuple(&h[i]);
        if (!t)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    PyMem_Free(h);
    return list;
}

static PyMethodDef Cluster_methods[] = {
    {"from_json", LP_PY_METH(Cluster_from_json), METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     from_json_doc},
    {"add_snapshot_json", LP_PY_METH(Cluster_add_snapshot_json), METH_VARARGS | METH_KEYWORDS,
     add_snapshot_json_doc},
    {"hosts", (PyCFunction)Cluster_hosts, METH_NOARGS, hosts_doc},
    {"names", (PyCFunction)Cluster_names, METH_NOARGS, names_doc},
    {"loads", LP_PY_METH(Cluster_loads), METH_VARARGS | METH_KEYWORDS, loads_doc},
    {"to_json", LP_PY_METH(Cluster_to_json), METH_VARARGS | METH_KEYWORDS, to_json_doc},
    {NULL, NULL, 0, NULL}};

static PySequenceMethods Cluster_as_sequence = {
    .sq_length = (lenfunc)Cluster_len,
};

PyDoc_STRVAR(Cluster_doc, "Cluster()\n\n"
"Hosts and their workloads, as agent snapshots report them.  Cluster() is\n"
"empty; Cluster.from_json() reads a cluster file; add_snapshot_json() adds\n"
"one host.  len(c) is the number of hosts.  Safe to share between threads.");

PyTypeObject LpPy_ClusterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libplacement.Cluster",
    .tp_basicsize = sizeof(LpPy_Cluster),
    .tp_dealloc = (destructor)Cluster_dealloc,
    .tp_as_sequence = &Cluster_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = Cluster_doc,
    .tp_methods = Cluster_methods,
    .tp_new = Cluster_new,
};

int lp_py_add_cluster(PyObject *module)
{
    if (PyType_Ready(&LpPy_ClusterType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Cluster", (PyObject *)&LpPy_ClusterType);
}
