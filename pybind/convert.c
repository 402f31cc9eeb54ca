/*
 * Conversions between Python objects and the C model: numbers, names, masks,
 * request and metrics dicts (table-driven, both ways) and host tuples.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lp_py.h"

/* Interned names, built once at init (never changed afterwards). */
static PyObject *class_strs[LP_CLASS_COUNT];
static PyObject *runtime_strs[4]; /* index: bit position of container, unikernel, vm, auto */
static PyObject *reason_strs[LP_REASON_MEMORY + 1];
static PyObject *json_loads;

int lp_py_convert_init(void)
{
    for (int i = 0; i < LP_CLASS_COUNT; i++)
        if (!class_strs[i] && !(class_strs[i] = PyUnicode_InternFromString(lp_class_name((lp_class)i))))
            return -1;
    for (int i = 0; i < 4; i++)
        if (!runtime_strs[i] &&
            !(runtime_strs[i] = PyUnicode_InternFromString(lp_runtime_name((lp_runtime)(1u << i)))))
            return -1;
    for (int i = 0; i <= LP_REASON_MEMORY; i++)
        if (!reason_strs[i] && !(reason_strs[i] = PyUnicode_InternFromString(lp_reason_name((lp_reason)i))))
            return -1;
    if (!json_loads) {
        PyObject *json = PyImport_ImportModule("json");
        if (!json)
            return -1;
        json_loads = PyObject_GetAttrString(json, "loads");
        Py_DECREF(json);
    }
    return json_loads ? 0 : -1;
}

PyObject *lp_py_class_str(lp_class c)
{
    if ((unsigned)c >= LP_CLASS_COUNT)
        c = LP_CLASS_UNKNOWN;
    return Py_NewRef(class_strs[c]);
}

PyObject *lp_py_runtime_str(lp_runtime r)
{
    for (int i = 0; i < 4; i++)
        if ((unsigned)r == 1u << i)
            return Py_NewRef(runtime_strs[i]);
    Py_RETURN_NONE;
}

PyObject *lp_py_reason_str(lp_reason r)
{
    if ((unsigned)r > LP_REASON_MEMORY)
        return PyUnicode_FromFormat("reason %d", (int)r);
    return Py_NewRef(reason_strs[r]);
}

PyObject *lp_py_json_loads(const char *text, size_t len)
{
    PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "strict");
    if (!s)
        return NULL;
    PyObject *r = PyObject_CallOneArg(json_loads, s);
    Py_DECREF(s);
    return r;
}

/* ---- scalars -------------------------------------------------------------- */

const char *lp_py_utf8(PyObject *o, const char *what)
{
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(o)->tp_name);
        return NULL;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(o, &len);
    if (s && strlen(s) != (size_t)len) {
        PyErr_Format(PyExc_ValueError, "%s must not contain NUL characters", what);
        return NULL;
    }
    return s;
}

int lp_py_double(PyObject *o, const char *what, double *out)
{
    double d;
    if (PyFloat_CheckExact(o)) {
        d = PyFloat_AS_DOUBLE(o);
    } else if (PyLong_CheckExact(o)) {
        d = PyLong_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred())
            return -1;
    } else if (PyUnicode_Check(o) || PyBytes_Check(o) || o == Py_None) {
        goto bad_type; /* never parse text or None as a number */
    } else {
        d = PyFloat_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError))
                return -1;
            PyErr_Clear();
            goto bad_type;
        }
    }
    if (!isfinite(d)) {
        PyErr_Format(PyExc_ValueError, "%s must be a finite number, not %R", what, o);
        return -1;
    }
    *out = d;
    return 0;
bad_type:
    PyErr_Format(PyExc_TypeError, "%s must be a number, not %.100s", what, Py_TYPE(o)->tp_name);
    return -1;
}

int lp_py_parse_class(PyObject *o, int allow_auto, const char *what, lp_class *out)
{
    const char *s = lp_py_utf8(o, what);
    if (!s)
        return -1;
    lp_class c;
    if (lp_class_parse(NULL, s, &c) != LP_OK || (c == LP_CLASS_AUTO && !allow_auto)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: unknown workload class '%s' (expected cpu, net, io, mixed, idle, unknown%s)",
                     what, s, allow_auto ? " or auto" : "");
        return -1;
    }
    *out = c;
    return 0;
}

/* One runtime name; allow_auto admits "auto". */
static int parse_runtime(PyObject *o, int allow_auto, const char *what, lp_runtime *out)
{
    const char *s = lp_py_utf8(o, what);
    if (!s)
        return -1;
    lp_runtime r;
    if (lp_runtime_parse(NULL, s, &r) != LP_OK || r == LP_RUNTIME_NONE ||
        (r == LP_RUNTIME_AUTO && !allow_auto)) {
        PyErr_Format(PyExc_ValueError, "%s: unknown runtime '%s' (expected container, unikernel, vm%s)",
                     what, s, allow_auto ? " or auto" : "");
        return -1;
    }
    *out = r;
    return 0;
}

/* "container,vm" -> mask. */
static int parse_mask_text(PyObject *o, const char *what, unsigned *out)
{
    PyObject *comma = PyUnicode_FromString(",");
    if (!comma)
        return -1;
    PyObject *parts = PyUnicode_Split(o, comma, -1);
    Py_DECREF(comma);
    if (!parts)
        return -1;
    unsigned mask = 0;
    int rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(parts); i++) {
        PyObject *name = PyObject_CallMethod(PyList_GET_ITEM(parts, i), "strip", NULL);
        lp_runtime r;
        if (!name)
            rc = -1;
        else if (PyUnicode_GET_LENGTH(name) == 0) /* "" is no runtime; "a,,b" tolerated */
            ;
        else if (parse_runtime(name, 0, what, &r) < 0)
            rc = -1;
        else
            mask |= (unsigned)r;
        Py_XDECREF(name);
    }
    Py_DECREF(parts);
    if (rc == 0)
        *out = mask;
    return rc;
}

int lp_py_parse_mask(PyObject *o, const char *what, unsigned *out)
{
    if (PyLong_Check(o)) {
        long v = PyLong_AsLong(o);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (v < 0 || v > (long)LP_RUNTIME_ALL) {
            PyErr_Format(PyExc_ValueError, "%s must be a runtime mask 0..%d, not %ld", what,
                         (int)LP_RUNTIME_ALL, v);
            return -1;
        }
        *out = (unsigned)v;
        return 0;
    }
    if (PyUnicode_Check(o))
        return parse_mask_text(o, what, out);
    PyObject *fast = PySequence_Fast(o, "");
    if (!fast) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be an int mask or a sequence of runtime names, not %.100s",
                     what, Py_TYPE(o)->tp_name);
        return -1;
    }
    unsigned mask = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        lp_runtime r;
        if (parse_runtime(PySequence_Fast_GET_ITEM(fast, i), 0, what, &r) < 0) {
            Py_DECREF(fast);
            return -1;
        }
        mask |= (unsigned)r;
    }
    Py_DECREF(fast);
    *out = mask;
    return 0;
}

/* ---- dicts: requests and metrics ------------------------------------------ */

enum kind {
    K_STR,      /* const char *, required str */
    K_STR_NONE, /* const char *, str or None */
    K_COUNT,    /* unsigned, int 1..LP_MAX_COUNT */
    K_DOUBLE,   /* double >= min (> min when excl) */
    K_OPT,      /* double, negative = unknown (stored as -1) */
    K_CLASS,    /* lp_class; AUTO allowed with F_AUTO */
    K_RUNTIME,  /* lp_runtime; AUTO allowed with F_AUTO; None = NONE without it */
    K_MASK,     /* unsigned runtime mask */
    K_METRICS   /* const lp_workload * of an lp_py_request, its storage in the same struct */
};
enum { F_AUTO = 1, F_EXCL = 2 };

typedef struct field {
    const char *name;
    enum kind kind;
    size_t off;
    int flags;
    double min;
    int ref; /* for strings: slot in the refs array */
} field;

#define W(m) offsetof(lp_workload, m)
static const field workload_fields[] = {
    {"id", K_STR, W(id), 0, 0, 0},
    {"runtime", K_RUNTIME, W(runtime), 0, 0, 0},
    {"vcpus", K_DOUBLE, W(vcpus), 0, 0, 0},
    {"threads", K_DOUBLE, W(threads), 0, 0, 0},
    {"memory_mb", K_OPT, W(memory_mb), 0, 0, 0},
    {"demand", K_OPT, W(demand), 0, 0, 0},
    {"util", K_OPT, W(util), 0, 0, 0},
    {"wait_ratio", K_OPT, W(wait_ratio), 0, 0, 0},
    {"iowait", K_OPT, W(iowait), 0, 0, 0},
    {"net_bps", K_OPT, W(net_bps), 0, 0, 0},
    {"disk_bps", K_OPT, W(disk_bps), 0, 0, 0},
    {"class", K_CLASS, W(klass), 0, 0, 0},
    {"confidence", K_DOUBLE, W(confidence), 0, 0, 0},
    {"group", K_STR_NONE, W(group), 0, 0, 1},
};
#undef W

#define R(m) offsetof(lp_request, m)
static const field request_fields[] = {
    {"id", K_STR, R(id), 0, 0, 0},
    {"count", K_COUNT, R(count), 0, 0, 0},
    {"vcpus", K_DOUBLE, R(vcpus), F_EXCL, 0, 0},
    {"memory_mb", K_DOUBLE, R(memory_mb), 0, 0, 0},
    {"workload", K_CLASS, R(klass), F_AUTO, 0, 0},
    {"parallelism", K_DOUBLE, R(parallelism), 0, 0, 0},
    {"demand", K_OPT, R(demand), 0, 0, 0},
    {"runtime", K_RUNTIME, R(runtime), F_AUTO, 0, 0},
    {"allowed_runtimes", K_MASK, R(allowed_runtimes), 0, 0, 0},
    {"group", K_STR_NONE, R(group), 0, 0, 1},
    {"image", K_STR_NONE, R(image), 0, 0, 4},
    {"flavor", K_STR_NONE, R(flavor), 0, 0, 5},
    {"metrics", K_METRICS, R(metrics), 0, 0, 2}, /* its strings use refs 2 and 3 */
};
#undef R

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define AT(base, f, type) ((type *)(void *)((char *)(base) + (f)->off))

static int fields_from(PyObject *dict, const field *tab, size_t ntab, void *base,
                       const char *what, PyObject **refs);

/* Store one value; name is "what['key']" for messages (or what, on the fast
 * path that has not failed yet). */
static int field_from(const field *f, PyObject *v, void *base, const char *name, PyObject **refs)
{
    switch (f->kind) {
    case K_STR_NONE:
        if (v == Py_None) {
            *AT(base, f, const char *) = NULL;
            return 0;
        }
        /* fall through */
    case K_STR: {
        const char *s = lp_py_utf8(v, name);
        if (!s)
            return -1;
        Py_XSETREF(refs[f->ref], Py_NewRef(v));
        *AT(base, f, const char *) = s;
        return 0;
    }
    case K_COUNT: {
        if (!PyLong_Check(v) || PyBool_Check(v)) {
            PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", name, Py_TYPE(v)->tp_name);
            return -1;
        }
        long n = PyLong_AsLong(v);
        if (n == -1 && PyErr_Occurred())
            return -1;
        if (n < 1 || n > (long)LP_MAX_COUNT) {
            PyErr_Format(PyExc_ValueError, "%s must be 1..%u, not %ld", name, LP_MAX_COUNT, n);
            return -1;
        }
        *AT(base, f, unsigned) = (unsigned)n;
        return 0;
    }
    case K_DOUBLE:
    case K_OPT: {
        double d;
        if (lp_py_double(v, name, &d) < 0)
            return -1;
        if (f->kind == K_OPT && d < 0) {
            d = -1; /* unknown / estimate */
        } else if (d < f->min || ((f->flags & F_EXCL) && d == f->min)) {
            char min[32]; /* PyErr_Format() has no %g */
            snprintf(min, sizeof min, "%g", f->min);
            PyErr_Format(PyExc_ValueError, "%s must be %s %s, not %R", name,
                         (f->flags & F_EXCL) ? ">" : ">=", min, v);
            return -1;
        }
        *AT(base, f, double) = d;
        return 0;
    }
    case K_CLASS:
        return lp_py_parse_class(v, f->flags & F_AUTO, name, AT(base, f, lp_class));
    case K_RUNTIME:
        if (v == Py_None && !(f->flags & F_AUTO)) {
            *AT(base, f, lp_runtime) = LP_RUNTIME_NONE;
            return 0;
        }
        return parse_runtime(v, f->flags & F_AUTO, name, AT(base, f, lp_runtime));
    case K_MASK:
        return lp_py_parse_mask(v, name, AT(base, f, unsigned));
    case K_METRICS: {
        /* base is the r of an lp_py_request: the metrics are stored beside it */
        lp_workload *m = &((lp_py_request *)base)->metrics;
        *AT(base, f, const lp_workload *) = NULL;
        if (v == Py_None)
            return 0;
        lp_workload_init(m, LP_WORKLOAD_VERSION);
        if (fields_from(v, workload_fields, NFIELDS(workload_fields), m, name, refs + f->ref) < 0)
            return -1;
        *AT(base, f, const lp_workload *) = m;
        return 0;
    }
    }
    return 0;
}

/* Fill base from dict by the table; unknown keys are refused. */
static int fields_from(PyObject *dict, const field *tab, size_t ntab, void *base,
                       const char *what, PyObject **refs)
{
    if (!PyDict_Check(dict)) {
        PyErr_Format(PyExc_TypeError, "%s must be a dict, not %.100s", what, Py_TYPE(dict)->tp_name);
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!k) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: keys must be str, not %R", what, key);
            return -1;
        }
        size_t i = 0;
        while (i < ntab && strcmp(tab[i].name, k) != 0)
            i++;
        if (i == ntab) {
            PyErr_Format(PyExc_ValueError, "%s: unknown key '%s'", what, k);
            return -1;
        }
        /* Hold the value: converting it may run Python code (__float__). */
        Py_INCREF(value);
        int rc = field_from(&tab[i], value, base, what, refs);
        if (rc < 0 && (PyErr_ExceptionMatches(PyExc_TypeError) ||
                       PyErr_ExceptionMatches(PyExc_ValueError))) {
            /* Convert again for a message naming the key: formatting the
             * name for every key would cost more than the conversion. */
            char name[160];
            snprintf(name, sizeof name, "%.100s['%s']", what, k);
            PyErr_Clear();
            rc = field_from(&tab[i], value, base, name, refs);
        }
        Py_DECREF(value);
        if (rc < 0)
            return -1;
    }
    return 0;
}

void lp_py_request_clear(lp_py_request *r)
{
    for (size_t i = 0; i < sizeof r->refs / sizeof r->refs[0]; i++)
        Py_CLEAR(r->refs[i]);
}

int lp_py_request_from(PyObject *dict, const char *what, lp_py_request *out)
{
    memset(out->refs, 0, sizeof out->refs);
    lp_request_init(&out->r, LP_REQUEST_VERSION);
    out->r.vcpus = -1; /* marks "missing": a given value must be > 0 */
    if (fields_from(dict, request_fields, NFIELDS(request_fields), &out->r, what, out->refs) < 0)
        goto fail;
    if (out->r.vcpus == -1) {
        PyErr_Format(PyExc_ValueError, "%s: missing required key 'vcpus'", what);
        goto fail;
    }
    if (!out->r.id)
        out->r.id = "";
    return 0;
fail:
    lp_py_request_clear(out);
    return -1;
}

int lp_py_workload_from(PyObject *dict, const char *what, lp_workload *out, PyObject **id_ref,
                        PyObject **group_ref)
{
    PyObject *refs[2] = {NULL, NULL};
    lp_workload_init(out, LP_WORKLOAD_VERSION);
    int rc = fields_from(dict, workload_fields, NFIELDS(workload_fields), out, what, refs);
    *id_ref = refs[0];
    *group_ref = refs[1];
    return rc;
}

static PyObject *to_dict(const field *tab, size_t ntab, const void *base, int omit_unknown);

/* One field as a Python value, or NULL without an exception to omit it. */
static PyObject *field_to(const field *f, const void *base, int omit_unknown)
{
    void *b = (void *)(uintptr_t)base;
    switch (f->kind) {
    case K_STR:
    case K_STR_NONE: {
        const char *s = *AT(b, f, const char *);
        if (omit_unknown && (!s || !*s))
            return NULL;
        if (!s)
            Py_RETURN_NONE;
        return PyUnicode_FromString(s);
    }
    case K_COUNT:
        return PyLong_FromUnsignedLong(*AT(b, f, unsigned));
    case K_DOUBLE:
    case K_OPT: {
        double d = *AT(b, f, double);
        if (omit_unknown && (f->kind == K_OPT ? d < 0 : d == 0))
            return NULL;
        return PyFloat_FromDouble(d);
    }
    case K_CLASS: {
        lp_class c = *AT(b, f, lp_class);
        if (omit_unknown && c == LP_CLASS_UNKNOWN)
            return NULL;
        return lp_py_class_str(c);
    }
    case K_RUNTIME: {
        lp_runtime r = *AT(b, f, lp_runtime);
        if (omit_unknown && r == LP_RUNTIME_NONE)
            return NULL;
        return lp_py_runtime_str(r);
    }
    case K_MASK:
        return PyLong_FromUnsignedLong(*AT(b, f, unsigned));
    case K_METRICS: {
        const lp_workload *m = *AT(b, f, const lp_workload *);
        return m ? to_dict(workload_fields, NFIELDS(workload_fields), m, 1) : PyDict_New();
    }
    }
    return NULL;
}

static PyObject *to_dict(const field *tab, size_t ntab, const void *base, int omit_unknown)
{
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < ntab; i++) {
        PyObject *v = field_to(&tab[i], base, omit_unknown);
        if (!v) {
            if (PyErr_Occurred())
                Py_CLEAR(d);
            continue;
        }
        if (PyDict_SetItemString(d, tab[i].name, v) < 0)
            Py_CLEAR(d);
        Py_DECREF(v);
    }
    return d;
}

PyObject *lp_py_request_to_dict(const lp_request *r)
{
    return to_dict(request_fields, NFIELDS(request_fields), r, 0);
}

/* ---- host tuples ------------------------------------------------------------ */

static const char *const host_field_names[5] = {"threads", "demand", "memory_free_mb",
                                                "runtimes_mask", "group_members"};

/* Exact float or int without calling Python code; 0, or -1 to take the slow path. */
static inline int fast_double(PyObject *o, double *out)
{
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    if (PyLong_CheckExact(o)) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(o, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return -1;
        }
        *out = (double)v;
        return 0;
    }
    return -1;
}

/* One host tuple's fields (a tuple: immutable while we read it). */
static int host_load_from(PyObject *t, Py_ssize_t i, lp_host_load *h)
{
    if (PyTuple_GET_SIZE(t) != 5) {
        PyErr_Format(PyExc_ValueError,
                     "hosts[%zd] must have 5 fields (threads, demand, memory_free_mb, "
                     "runtimes_mask, group_members), not %zd",
                     i, PyTuple_GET_SIZE(t));
        return -1;
    }
    PyObject **f = &PyTuple_GET_ITEM(t, 0);
    double mask;
    if (fast_double(f[0], &h->threads) == 0 && fast_double(f[1], &h->demand) == 0 &&
        fast_double(f[2], &h->memory_free_mb) == 0 && PyLong_CheckExact(f[3]) &&
        fast_double(f[3], &mask) == 0 && fast_double(f[4], &h->group_members) == 0 &&
        mask >= 0 && mask <= LP_RUNTIME_ALL && isfinite(h->threads) && isfinite(h->demand) &&
        isfinite(h->memory_free_mb) && isfinite(h->group_members)) {
        h->runtimes = (unsigned)mask;
        return 0;
    }
    /* Slow path: other number types, or an error to report with its place. */
    char name[96];
    double *dst[5] = {&h->threads, &h->demand, &h->memory_free_mb, NULL, &h->group_members};
    for (int j = 0; j < 5; j++) {
        snprintf(name, sizeof name, "hosts[%zd] field %d (%s)", i, j, host_field_names[j]);
        if (j == 3) {
            if (!PyLong_Check(f[j])) {
                PyErr_Format(PyExc_TypeError, "%s must be an int mask, not %.100s", name,
                             Py_TYPE(f[j])->tp_name);
                return -1;
            }
            if (lp_py_parse_mask(f[j], name, &h->runtimes) < 0)
                return -1;
        } else if (lp_py_double(f[j], name, dst[j]) < 0) {
            return -1;
        }
    }
    return 0;
}

lp_host_load *lp_py_host_loads_from(PyObject *seq, size_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "hosts must be a sequence of 5-tuples");
    if (!fast)
        return NULL;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    lp_host_load *out = PyMem_Malloc((size_t)(len > 0 ? len : 1) * sizeof *out);
    if (!out) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    /* Re-read size and item each time: a __float__ called on the slow path may
     * change a list. */
    Py_ssize_t i;
    for (i = 0; i < len && i < PySequence_Fast_GET_SIZE(fast); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        PyObject *t;
        if (PyTuple_Check(item)) {
            t = Py_NewRef(item);
        } else if (PyUnicode_Check(item) || PyBytes_Check(item) || !PySequence_Check(item)) {
            PyErr_Format(PyExc_TypeError, "hosts[%zd] must be a 5-tuple, not %.100s", i,
                         Py_TYPE(item)->tp_name);
            goto fail;
        } else if (!(t = PySequence_Tuple(item))) {
            goto fail;
        }
        int rc = host_load_from(t, i, &out[i]);
        Py_DECREF(t);
        if (rc < 0)
            goto fail;
    }
    if (i != len) {
        PyErr_SetString(PyExc_RuntimeError, "hosts changed size during conversion");
        goto fail;
    }
    Py_DECREF(fast);
    *n = (size_t)len;
    return out;
fail:
    Py_DECREF(fast);
    PyMem_Free(out);
    return NULL;
}

PyObject *lp_py_host_load_tuple(const lp_host_load *h)
{
    return Py_BuildValue("(dddId)", h->threads, h->demand, h->memory_free_mb, h->runtimes,
                         h->group_members);
}
