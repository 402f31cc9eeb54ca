/*
 * Module `libplacement`: init, constants, exceptions, runtime_mask() and
 * parse_requests().
 */
#include <string.h>

#include "lp_py.h"

/* Exception types: created once at init, never changed afterwards. */
PyObject *lp_py_Error;
PyObject *lp_py_ParseError;

PyObject *lp_py_raise(lp_status st, const char *msg)
{
    if (st == LP_ENOMEM)
        return PyErr_NoMemory();
    PyObject *type = (st == LP_EPARSE || st == LP_ELIMIT) ? lp_py_ParseError : lp_py_Error;
    const char *text = (msg && *msg) ? msg : lp_status_str(st);
    /* The message may quote input bytes that are not UTF-8. */
    PyObject *str = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
    PyObject *exc = str ? PyObject_CallOneArg(type, str) : NULL;
    Py_XDECREF(str);
    if (!exc)
        return NULL;
    PyObject *status = PyUnicode_FromString(lp_status_str(st));
    PyObject *code = PyLong_FromLong((long)st);
    if (status && code && PyObject_SetAttrString(exc, "status", status) == 0 &&
        PyObject_SetAttrString(exc, "code", code) == 0)
        PyErr_SetObject(type, exc);
    Py_XDECREF(status);
    Py_XDECREF(code);
    Py_DECREF(exc);
    return NULL;
}

void lp_py_lock(PyThread_type_lock lock)
{
    if (PyThread_acquire_lock(lock, NOWAIT_LOCK))
        return;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(lock, WAIT_LOCK);
    Py_END_ALLOW_THREADS
}

PyDoc_STRVAR(runtime_mask_doc,
"runtime_mask(names) -> int\n\n"
"Bit mask of runtimes from names: a sequence such as ['container', 'vm'] or\n"
"a comma-separated string 'container,vm' (an int mask is returned checked).\n"
"Raises ValueError naming an unknown runtime.");

static PyObject *py_runtime_mask(PyObject *self, PyObject *arg)
{
    (void)self;
    unsigned mask;
    if (lp_py_parse_mask(arg, "runtime_mask() argument", &mask) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(mask);
}

PyDoc_STRVAR(parse_requests_doc,
"parse_requests(text, origin='<input>') -> list of request dicts\n\n"
"Parse a request file {\"requests\": [...]} (str or bytes).  Each request\n"
"comes back as a dict with every key that Context.filter_score() and\n"
"Context.place() accept.  Raises lp.ParseError with a message naming origin,\n"
"the position and the field.");

static PyObject *py_parse_requests(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"text", "origin", NULL};
    Py_buffer text;
    const char *origin = "<input>";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s*|s:parse_requests", kwlist, &text, &origin))
        return NULL;
    lp_ctx *ctx = NULL;
    lp_requests *rs = NULL;
    lp_status st = lp_ctx_new(&ctx);
    if (st == LP_OK)
        st = lp_requests_new(ctx, &rs);
    if (st == LP_OK) {
        Py_BEGIN_ALLOW_THREADS
        st = lp_requests_parse(ctx, rs, text.buf, (size_t)text.len, origin);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&text);
    PyObject *list = NULL;
    if (st != LP_OK) {
        lp_py_raise(st, ctx ? lp_ctx_last_error(ctx) : NULL);
        goto out;
    }
    size_t n = lp_requests_size(rs);
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *d = lp_py_request_to_dict(lp_requests_get(rs, i));
        if (!d)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
out:
    lp_requests_free(rs);
    lp_ctx_free(ctx);
    return list;
}

static PyMethodDef module_methods[] = {
    {"runtime_mask", py_runtime_mask, METH_O, runtime_mask_doc},
    {"parse_requests", LP_PY_METH(py_parse_requests), METH_VARARGS | METH_KEYWORDS,
     parse_requests_doc},
    {NULL, NULL, 0, NULL}};

PyDoc_STRVAR(module_doc,
"Parallelism-aware placement and runtime choice (libplacement C core).\n\n"
"Context holds the policy and does the work: classify(), choose_runtime(),\n"
"resolve(), filter_score() (all hosts in one call) and place() (many\n"
"instances over a Cluster).  Cluster holds host snapshots parsed from JSON.\n"
"C failures raise lp.Error (lp.ParseError for bad input text); bad Python\n"
"arguments raise TypeError or ValueError naming the argument or key.\n"
"See docs/python.md.");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "libplacement", module_doc, -1, module_methods, NULL, NULL, NULL, NULL};

/* Add o (a new reference, or NULL after an error) to m as name; steals o. */
static int add_object(PyObject *m, const char *name, PyObject *o)
{
    if (!o)
        return -1;
    int rc = PyModule_AddObjectRef(m, name, o);
    Py_DECREF(o);
    return rc;
}

/* A tuple of the names of values first..last-1 given by name(). */
static PyObject *names_tuple(int first, int last, const char *(*name)(int))
{
    PyObject *t = PyTuple_New(last - first);
    for (int i = first; t && i < last; i++) {
        PyObject *s = PyUnicode_InternFromString(name(i));
        if (!s)
            Py_CLEAR(t);
        else
            PyTuple_SET_ITEM(t, i - first, s);
    }
    return t;
}

/* Order of lp.CLASSES: the contract lists the concrete classes, unknown last. */
static const char *class_at(int i)
{
    static const lp_class order[] = {LP_CLASS_CPU,  LP_CLASS_NET,  LP_CLASS_IO,
                                     LP_CLASS_MIXED, LP_CLASS_IDLE, LP_CLASS_UNKNOWN};
    return lp_class_name(order[i]);
}

static const char *runtime_at(int i)
{
    return lp_runtime_name((lp_runtime)(1u << i));
}

static int add_constants(PyObject *m)
{
    if (PyModule_AddStringConstant(m, "__version__", lp_version()) < 0 ||
        PyModule_AddIntConstant(m, "RUNTIME_CONTAINER", LP_RUNTIME_CONTAINER) < 0 ||
        PyModule_AddIntConstant(m, "RUNTIME_UNIKERNEL", LP_RUNTIME_UNIKERNEL) < 0 ||
        PyModule_AddIntConstant(m, "RUNTIME_VM", LP_RUNTIME_VM) < 0 ||
        PyModule_AddIntConstant(m, "RUNTIME_ALL", LP_RUNTIME_ALL) < 0)
        return -1;
    if (add_object(m, "CLASSES", names_tuple(0, 6, class_at)) < 0)
        return -1;
    return add_object(m, "RUNTIMES", names_tuple(0, 3, runtime_at));
}

/* Exception classes carry status/code None unless raised by lp_py_raise(). */
static PyObject *new_exception(const char *name, const char *doc, PyObject *bases)
{
    PyObject *dict = Py_BuildValue("{sOsO}", "status", Py_None, "code", Py_None);
    if (!dict)
        return NULL;
    PyObject *e = PyErr_NewExceptionWithDoc(name, doc, bases, dict);
    Py_DECREF(dict);
    return e;
}

static int add_exceptions(PyObject *m)
{
    lp_py_Error = new_exception(
        "libplacement.Error",
        "A failure reported by the libplacement C library.\n\n"
        "str() is the C message; .status is the status text (e.g. 'invalid\n"
        "argument') and .code its number (lp_status).",
        NULL);
    if (!lp_py_Error || PyModule_AddObjectRef(m, "Error", lp_py_Error) < 0)
        return -1;
    PyObject *bases = PyTuple_Pack(2, lp_py_Error, PyExc_ValueError);
    if (!bases)
        return -1;
    lp_py_ParseError = new_exception(
        "libplacement.ParseError",
        "Input text (JSON) that is not valid: syntax, types, ranges or limits.\n\n"
        "Also a ValueError.  The message names the origin, position and field.",
        bases);
    Py_DECREF(bases);
    if (!lp_py_ParseError)
        return -1;
    return PyModule_AddObjectRef(m, "ParseError", lp_py_ParseError);
}

PyMODINIT_FUNC PyInit_libplacement(void);

PyMODINIT_FUNC PyInit_libplacement(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (lp_py_convert_init() < 0 || add_constants(m) < 0 || add_exceptions(m) < 0 ||
        lp_py_add_context(m) < 0 || lp_py_add_verdicts(m) < 0 || lp_py_add_cluster(m) < 0 ||
        lp_py_add_fetcher(m) < 0 || lp_py_add_learner(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
