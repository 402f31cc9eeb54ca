/*
 * lp.Fetcher: the snapshots of many hosts' agents, fetched in parallel by the
 * C core (lp_fetcher, libcurl multi) with the GIL released, and cached with a
 * TTL (docs/fetch.md).  Each object has its own lp_ctx and a lock: one fetch
 * at a time per Fetcher, other Python threads run meanwhile.
 */
#include "lp_py.h"

#include <structmember.h>

typedef struct LpPy_Fetcher {
    PyObject_HEAD
    lp_fetcher *f;
    lp_ctx *ctx;
    PyThread_type_lock lock;
    /* The options, read-only for callers (the token is not exposed). */
    PyObject *url_template;
    long timeout_ms;
    long connect_timeout_ms;
    Py_ssize_t max_bytes;
    double ttl_s;
    unsigned int max_parallel;
    PyObject *ca_file; /* str or None */
    double max_skew_s;
    double refresh_s;
} LpPy_Fetcher;

static void Fetcher_dealloc(LpPy_Fetcher *self)
{
    lp_fetcher_free(self->f);
    lp_ctx_free(self->ctx);
    if (self->lock)
        PyThread_free_lock(self->lock);
    Py_XDECREF(self->url_template);
    Py_XDECREF(self->ca_file);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Fetcher_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"url_template", "timeout_ms", "connect_timeout_ms", "max_bytes",
                             "ttl_s",        "token",      "max_parallel",       "ca_file",
                             "max_skew_s",   "refresh_s",  NULL};
    PyObject *tmpl, *ca = Py_None;
    long timeout_ms = 1000, connect_ms = -1, max_parallel = 64;
    Py_ssize_t max_bytes = 1024 * 1024;
    double ttl_s = 60, max_skew_s = 5, refresh_s = 0;
    const char *token = NULL, *ca_file = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$llndzlOdd:Fetcher", kwlist, &tmpl,
                                     &timeout_ms, &connect_ms, &max_bytes, &ttl_s, &token,
                                     &max_parallel, &ca, &max_skew_s, &refresh_s))
        return NULL;
    if (ca != Py_None && !(ca_file = lp_py_utf8(ca, "ca_file")))
        return NULL;
    if (max_bytes < 1) {
        PyErr_Format(PyExc_ValueError, "max_bytes must be >= 1, not %zd", max_bytes);
        return NULL;
    }
    if (max_parallel < 1 || max_parallel > (long)LP_FETCH_MAX_PARALLEL) {
        PyErr_Format(PyExc_ValueError, "max_parallel must be in 1..%u, not %ld",
                     LP_FETCH_MAX_PARALLEL, max_parallel);
        return NULL;
    }
    /* Not given: 300 ms, but never more than the whole timeout. */
    if (connect_ms == -1)
        connect_ms = timeout_ms < 300 ? timeout_ms : 300;
    const char *t = PyUnicode_AsUTF8(tmpl);
    if (!t)
        return NULL;
    LpPy_Fetcher *self = (LpPy_Fetcher *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->timeout_ms = timeout_ms;
    self->connect_timeout_ms = connect_ms;
    self->max_bytes = max_bytes;
    self->ttl_s = ttl_s;
    self->max_parallel = (unsigned)max_parallel;
    self->max_skew_s = max_skew_s;
    self->refresh_s = refresh_s;
    Py_INCREF(tmpl);
    self->url_template = tmpl;
    Py_INCREF(ca);
    self->ca_file = ca;
    if (!(self->lock = PyThread_allocate_lock())) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    lp_fetch_options o;
    lp_fetch_options_init(&o, LP_FETCH_OPTIONS_VERSION);
    o.url_template = t;
    o.timeout_ms = timeout_ms;
    o.connect_timeout_ms = connect_ms;
    o.max_bytes = (size_t)max_bytes;
    o.ttl_s = ttl_s;
    o.token = token;
    o.max_parallel = (unsigned)max_parallel;
    o.ca_file = ca_file;
    o.max_skew_s = max_skew_s;
    o.refresh_s = refresh_s;
    lp_status st = lp_ctx_new(&self->ctx);
    if (st == LP_OK)
        st = lp_fetcher_new(self->ctx, &o, &self->f);
    if (st != LP_OK) {
        /* Bad options are the caller's values: ValueError, with the C message. */
        if (st == LP_EINVAL || st == LP_ELIMIT)
            PyErr_SetString(PyExc_ValueError, lp_ctx_last_error(self->ctx));
        else
            lp_py_raise(st, self->ctx ? lp_ctx_last_error(self->ctx) : NULL);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* Stands for a host name with an embedded NUL, which is reported here, not fetched. */
static const char nul_host[] = "";

/* The message of a host name the C layer cannot even see (embedded NUL). */
static PyObject *nul_message(PyObject *name, Py_ssize_t at)
{
    return PyUnicode_FromFormat("%U: host name has byte 0x00 at position %zd; only A-Z a-z 0-9 "
                                ". _ : - are allowed",
                                name, at);
}

PyDoc_STRVAR(fetch_doc,
"fetch(hosts) -> (fresh, errors)\n\n"
"Get the snapshot of every host in hosts (an iterable of str) from its agent\n"
"at url_template with {host} replaced: one parallel run for all hosts, each\n"
"with its own timeout, the GIL released meanwhile.  Hosts with a cached\n"
"snapshot that is still fresh by its own time are not fetched again.\n\n"
"fresh is an lp.Cluster of every host with a valid snapshot (named as in\n"
"hosts); errors maps each other host to the reason it has none (timeout,\n"
"too big, bad JSON, HTTP or TLS error, stale by its time, refused host\n"
"name).  Fall back to the\n"
"declared demand of the hosts in errors, and log the reasons.");

static PyObject *Fetcher_fetch(LpPy_Fetcher *self, PyObject *hosts_arg)
{
    /* A tuple keeps every str alive while the GIL is released, even if the caller's list changes. */
    PyObject *hosts = PySequence_Tuple(hosts_arg);
    if (!hosts)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(hosts);
    const char **names = PyMem_Calloc((size_t)(n ? n : 1), sizeof *names);
    lp_fetch_result *res = PyMem_Calloc((size_t)(n ? n : 1), sizeof *res);
    PyObject *errors = PyDict_New();
    PyObject *fresh = NULL, *ret = NULL;
    lp_cluster *c = NULL;
    if (!names || !res || !errors) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *h = PyTuple_GET_ITEM(hosts, i);
        Py_ssize_t len;
        if (!PyUnicode_Check(h)) {
            PyErr_Format(PyExc_TypeError, "hosts[%zd] must be str, not %.100s", i,
                         Py_TYPE(h)->tp_name);
            goto out;
        }
        if (!(names[i] = PyUnicode_AsUTF8AndSize(h, &len)))
            goto out;
        if ((Py_ssize_t)strlen(names[i]) != len) {
            PyObject *msg = nul_message(h, (Py_ssize_t)strlen(names[i]));
            if (!msg || PyDict_SetItem(errors, h, msg) < 0) {
                Py_XDECREF(msg);
                goto out;
            }
            Py_DECREF(msg);
            names[i] = nul_host;
        }
    }
    lp_status st;
    size_t ok = 0;
    char msg[1024];
    lp_py_lock(self->lock);
    Py_BEGIN_ALLOW_THREADS
    st = lp_cluster_new(self->ctx, &c);
    if (st == LP_OK)
        st = lp_fetcher_fetch(self->ctx, self->f, names, (size_t)n, c, res, &ok);
    Py_END_ALLOW_THREADS
    snprintf(msg, sizeof msg, "%s", lp_ctx_last_error(self->ctx));
    lp_ctx_clear_error(self->ctx);
    PyThread_release_lock(self->lock);
    if (st != LP_OK) {
        lp_py_raise(st, msg);
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *h = PyTuple_GET_ITEM(hosts, i);
        /* A host listed twice is refused once but present: not an error. */
        size_t k;
        if (res[i].status == LP_OK || names[i] == nul_host ||
            lp_cluster_find(NULL, c, names[i], &k) == LP_OK)
            continue;
        PyObject *m = PyUnicode_DecodeUTF8(res[i].message, (Py_ssize_t)strlen(res[i].message),
                                           "replace");
        if (!m || PyDict_SetItem(errors, h, m) < 0) {
            Py_XDECREF(m);
            goto out;
        }
        Py_DECREF(m);
    }
    fresh = lp_py_cluster_wrap(c);
    c = NULL; /* owned by fresh (freed by it on failure) */
    if (fresh)
        ret = PyTuple_Pack(2, fresh, errors);
out:
    lp_cluster_free(c);
    Py_XDECREF(fresh);
    Py_XDECREF(errors);
    PyMem_Free(res);
    PyMem_Free(names);
    Py_DECREF(hosts);
    return ret;
}

PyDoc_STRVAR(cached_doc,
"cached(host) -> dict or None\n\n"
"host's cached snapshot as a dict (the snapshot JSON, host named as asked),\n"
"without any I/O; None when there is none or it is no longer fresh.");

static PyObject *Fetcher_cached(LpPy_Fetcher *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "host must be str, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    Py_ssize_t len;
    const char *host = PyUnicode_AsUTF8AndSize(arg, &len);
    if (!host)
        return NULL;
    if ((Py_ssize_t)strlen(host) != len)
        Py_RETURN_NONE; /* such a name is never fetched, so never cached */
    lp_cluster *c = NULL;
    char *text = NULL;
    size_t tlen = 0;
    char msg[1024] = "";
    lp_py_lock(self->lock);
    lp_status st = lp_cluster_new(self->ctx, &c);
    if (st == LP_OK)
        st = lp_fetcher_get_cached(self->ctx, self->f, host, c, NULL);
    if (st == LP_OK)
        st = lp_host_write_json(self->ctx, lp_cluster_get_host(c, 0), 0, &text, &tlen);
    if (st != LP_OK)
        snprintf(msg, sizeof msg, "%s", lp_ctx_last_error(self->ctx));
    lp_ctx_clear_error(self->ctx);
    PyThread_release_lock(self->lock);
    lp_cluster_free(c);
    if (st == LP_ENOTFOUND)
        Py_RETURN_NONE;
    if (st != LP_OK)
        return lp_py_raise(st, msg);
    PyObject *d = lp_py_json_loads(text, tlen);
    lp_free(text);
    return d;
}

static PyObject *Fetcher_repr(LpPy_Fetcher *self)
{
    PyObject *ttl = PyFloat_FromDouble(self->ttl_s);
    if (!ttl)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("<libplacement.Fetcher url_template=%R timeout_ms=%ld ttl_s=%S>",
                                       self->url_template, self->timeout_ms, ttl);
    Py_DECREF(ttl);
    return r;
}

static PyMethodDef Fetcher_methods[] = {
    {"fetch", (PyCFunction)Fetcher_fetch, METH_O, fetch_doc},
    {"cached", (PyCFunction)Fetcher_cached, METH_O, cached_doc},
    {NULL, NULL, 0, NULL}};

static PyMemberDef Fetcher_members[] = {
    {"url_template", T_OBJECT, offsetof(LpPy_Fetcher, url_template), READONLY,
     "URL of a host's snapshot, {host} replaced by its name."},
    {"timeout_ms", T_LONG, offsetof(LpPy_Fetcher, timeout_ms), READONLY,
     "Time limit of one host's whole transfer (ms)."},
    {"connect_timeout_ms", T_LONG, offsetof(LpPy_Fetcher, connect_timeout_ms), READONLY,
     "Time limit of one host's connect (ms)."},
    {"max_bytes", T_PYSSIZET, offsetof(LpPy_Fetcher, max_bytes), READONLY,
     "Largest accepted snapshot (bytes)."},
    {"ttl_s", T_DOUBLE, offsetof(LpPy_Fetcher, ttl_s), READONLY,
     "Oldest snapshot used, by its own time (s)."},
    {"max_parallel", T_UINT, offsetof(LpPy_Fetcher, max_parallel), READONLY,
     "Transfers running at once."},
    {"ca_file", T_OBJECT, offsetof(LpPy_Fetcher, ca_file), READONLY,
     "PEM bundle of the CAs for https agents, or None for the system's."},
    {"max_skew_s", T_DOUBLE, offsetof(LpPy_Fetcher, max_skew_s), READONLY,
     "Clock difference allowed between agents and scheduler (s)."},
    {"refresh_s", T_DOUBLE, offsetof(LpPy_Fetcher, refresh_s), READONLY,
     "Age (by its time) up to which a cached snapshot is reused without I/O; 0 = ttl_s."},
    {NULL, 0, 0, 0, NULL}};

PyDoc_STRVAR(Fetcher_doc,
"Fetcher(url_template, *, timeout_ms=1000, connect_timeout_ms=min(300, timeout_ms),\n"
"        max_bytes=1048576, ttl_s=60, token=None, max_parallel=64, ca_file=None,\n"
"        max_skew_s=5, refresh_s=0)\n\n"
"Fetches libplacement agents' snapshots (schema libplacement/snapshot/v1)\n"
"in parallel and uses them while they are at most ttl_s seconds old by\n"
"their own time (max_skew_s of clock difference allowed).  url_template is an\n"
"http:// or https:// URL with {host}, e.g.\n"
"'http://{host}:9180/v1/snapshot'; token, when given, is sent as a bearer\n"
"token; ca_file names the CAs that https agents' certificates must chain to.\n"
"Host names must be 1..253 bytes of A-Z a-z 0-9 . _ : - (others are\n"
"reported in fetch()'s errors).  Bad options raise ValueError.  Safe to\n"
"share between threads (one fetch runs at a time per Fetcher).");

static PyTypeObject LpPy_FetcherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libplacement.Fetcher",
    .tp_basicsize = sizeof(LpPy_Fetcher),
    .tp_dealloc = (destructor)Fetcher_dealloc,
    .tp_repr = (reprfunc)Fetcher_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = Fetcher_doc,
    .tp_methods = Fetcher_methods,
    .tp_members = Fetcher_members,
    .tp_new = Fetcher_new,
};

int lp_py_add_fetcher(PyObject *module)
{
    if (PyType_Ready(&LpPy_FetcherType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Fetcher", (PyObject *)&LpPy_FetcherType);
}
