/*
 * The CPython extension module `libplacement`: declarations shared by its
 * source files (module.c, convert.c, context.c, verdicts.c, cluster.c,
 * fetcher.c, learner.c).  Contract: docs/python.md and the Python API brief.
 *
 * Error convention: every function returning PyObject * returns a new
 * reference, or NULL with a Python exception set; functions returning int
 * return 0 on success, -1 with an exception set.
 */
#ifndef LP_PY_H
#define LP_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include "libplacement.h"

/* Cast a METH_VARARGS|METH_KEYWORDS function for a PyMethodDef without
 * -Wcast-function-type (GCC exempts casts through void (*)(void)). */
#define LP_PY_METH(f) ((PyCFunction)(void (*)(void))(f))

/* ---- module.c: exceptions ---------------------------------------------- */

/* lp.Error and lp.ParseError (set once at module init). */
extern PyObject *lp_py_Error;
extern PyObject *lp_py_ParseError;

/*
 * Raise the exception for a failed C call: MemoryError for LP_ENOMEM,
 * lp.ParseError for LP_EPARSE and LP_ELIMIT, lp.Error otherwise; str() is
 * msg (or the status text when msg is empty), .status the status text
 * (lp_status_str) and .code the number.  Always returns NULL.
 */
PyObject *lp_py_raise(lp_status st, const char *msg);

/* ---- module.c: locks ---------------------------------------------------- */

/*
 * Acquire lock with the GIL held: tries without blocking first, else waits
 * with the GIL released so the thread holding the lock can finish.
 */
void lp_py_lock(PyThread_type_lock lock);

/* ---- convert.c: Python <-> C --------------------------------------------- */

/* Name of a class / runtime bit as an interned str (new reference), or None
 * for LP_RUNTIME_NONE. */
PyObject *lp_py_class_str(lp_class c);
PyObject *lp_py_runtime_str(lp_runtime r);
/* Interned reason name. */
PyObject *lp_py_reason_str(lp_reason r);
/* Build the interned string tables (module init). */
int lp_py_convert_init(void);

/* A class name ("cpu", ..., "auto" when allow_auto) -> lp_class; what names
 * the argument in messages.  TypeError/ValueError on failure. */
int lp_py_parse_class(PyObject *o, int allow_auto, const char *what, lp_class *out);

/* A runtime mask: int 0..LP_RUNTIME_ALL, or a sequence of runtime names or
 * a "container,vm" string.  TypeError/ValueError naming what. */
int lp_py_parse_mask(PyObject *o, const char *what, unsigned *out);

/* A number (int, float, or anything with __float__ except str, bytes and
 * None) -> double; TypeError naming what.  NaN and infinities are refused
 * with ValueError. */
int lp_py_double(PyObject *o, const char *what, double *out);

/* UTF-8 of a str (borrowed from it); TypeError naming what if o is not a
 * str, ValueError if it contains NUL characters. */
const char *lp_py_utf8(PyObject *o, const char *what);

/*
 * A request dict converted to an lp_request.  Strings point into str
 * objects that refs keeps alive until lp_py_request_clear(), so that the C
 * call can run with the GIL released even if the caller mutates the dict.
 */
typedef struct lp_py_request {
    lp_request r;       /* first: the converter finds metrics from &r */
    lp_workload metrics; /* what r.metrics points to when the dict has metrics */
    PyObject *refs[6]; /* id, group, metrics id, metrics group, image, flavor */
} lp_py_request;

/* Convert a request dict (keys per docs/python.md).  Unknown key -> ValueError
 * naming it; wrong type -> TypeError naming it; out of range -> ValueError.
 * what names the request in messages ("request", "requests[3]").
 * On failure nothing needs clearing. */
int lp_py_request_from(PyObject *dict, const char *what, lp_py_request *out);
void lp_py_request_clear(lp_py_request *r);
/* An lp_request as a dict with every key (the inverse of lp_py_request_from). */
PyObject *lp_py_request_to_dict(const lp_request *r);

/* A metrics dict (util, threads, net_bps, ...) -> lp_workload (unknown where
 * absent).  *id_ref and *group_ref receive new references (or NULL) to the
 * str objects the strings point into: Py_XDECREF them after use, also after
 * a failure. */
int lp_py_workload_from(PyObject *dict, const char *what, lp_workload *out, PyObject **id_ref,
                        PyObject **group_ref);

/*
 * Host tuples (threads, demand, memory_free_mb, runtimes_mask, group_members)
 * -> a new PyMem_Malloc'ed array of *n entries (at least one allocated;
 * PyMem_Free it).  Any sequence of sequences; TypeError/ValueError naming
 * hosts[i] and the field.  Fast path for tuples of exact floats and ints.
 */
lp_host_load *lp_py_host_loads_from(PyObject *seq, size_t *n);

/* One host load as a 5-tuple. */
PyObject *lp_py_host_load_tuple(const lp_host_load *h);

/* json.loads(text) (used to turn the codec's JSON into dicts). */
PyObject *lp_py_json_loads(const char *text, size_t len);

/* ---- context.c / verdicts.c / cluster.c: types ------------------------- */

extern PyTypeObject LpPy_ContextType;
extern PyTypeObject LpPy_VerdictsType;
extern PyTypeObject LpPy_ClusterType;

/*
 * A lp.Cluster.  ctx is private to the object (messages of its own calls);
 * lock guards c and ctx: C calls on them may run with the GIL released.
 */
typedef struct LpPy_Cluster {
    PyObject_HEAD
    lp_cluster *c;
    lp_ctx *ctx;
    PyThread_type_lock lock;
} LpPy_Cluster;

/* Wrap a cluster in a new lp.Cluster, taking ownership of c (freed also on
 * failure). */
PyObject *lp_py_cluster_wrap(lp_cluster *c);

/* Verdicts over n hosts: takes ownership of v and h (PyMem_Malloc'ed; freed
 * also on failure). */
PyObject *lp_py_verdicts_new(lp_verdict *v, lp_host_load *h, size_t n, lp_class klass,
                             double added);

/* Type registration (module init). */
int lp_py_add_context(PyObject *module);
int lp_py_add_verdicts(PyObject *module);
int lp_py_add_cluster(PyObject *module);

/* ---- fetcher.c ------------------------------------------------------------ */
int lp_py_add_fetcher(PyObject *module);

/* ---- learner.c ------------------------------------------------------------ */

/* A lp.Learner: lock guards l and ctx (the messages of its own calls). */
typedef struct LpPy_Learner {
    PyObject_HEAD
    lp_learner *l;
    lp_ctx *ctx;
    PyThread_type_lock lock;
} LpPy_Learner;

extern PyTypeObject LpPy_LearnerType;
int lp_py_add_learner(PyObject *module);
/* lp_learner_resolve() under the learner's lock; messages go to ctx (the
 * caller holds the lock of ctx's owner).  Returns the lp_status. */
int lp_py_learner_resolve(LpPy_Learner *self, lp_ctx *ctx, const lp_request *r, double now,
                          lp_class *klass, double *added, lp_learned *how);
/* Unix time from a number, or the current time for NULL or None. */
int lp_py_unix_time(PyObject *o, double *out);

#endif
