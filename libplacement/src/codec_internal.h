/*
 * Internal to the JSON codec: the field tables that codec_read.c parses by
 * and codec_write.c writes by, so that both sides of every format agree on
 * names, types, ranges and defaults (docs/formats.md is written from these).
 */
#ifndef LP_CODEC_INTERNAL_H
#define LP_CODEC_INTERNAL_H

#include "internal.h"

/* Longest host name, workload/request id or group name, in bytes. */
#define LP_JSON_MAX_NAME 255
/* Largest sockets/cores/threads count a host may report. */
#define LP_JSON_MAX_CPUS 1048576
/* Latest snapshot time accepted (9999-12-31T23:59:59Z). */
#define LP_JSON_MAX_TIME 253402300799.0

typedef enum lp_fkind {
    LP_F_STRING,   /* const char *; non-empty, no NUL, <= LP_JSON_MAX_NAME bytes */
    LP_F_UINT,     /* unsigned from a JSON integer */
    LP_F_NUMBER,   /* double from a JSON integer or number; finite */
    LP_F_CLASS,    /* lp_class from its name */
    LP_F_RUNTIME,  /* lp_runtime from one name */
    LP_F_RUNTIMES, /* unsigned LP_RUNTIME_* bits from a list of names */
    LP_F_OBJECT    /* a nested object whose fields live in the same struct */
} lp_fkind;

enum {
    LP_FF_REQUIRED = 1u << 0,  /* must be present (not null) */
    LP_FF_MIN_OPEN = 1u << 1,  /* the minimum itself is not allowed (> min) */
    LP_FF_AUTO = 1u << 2,      /* class/runtime: "auto" is allowed */
    LP_FF_NONEMPTY = 1u << 3,  /* runtimes list: at least one name */
    LP_FF_MILLIS = 1u << 4     /* number (unix seconds): written with millisecond precision */
};

typedef struct lp_fieldset lp_fieldset;

/* One JSON member <-> one struct member (at base + off). */
typedef struct lp_field {
    const char *name;
    lp_fkind kind;
    size_t off;               /* LP_F_OBJECT: offset of the sub-struct the sub fields index */
    double min, max;          /* numbers and integers */
    unsigned flags;           /* LP_FF_* */
    const lp_fieldset *sub;   /* LP_F_OBJECT */
} lp_field;

struct lp_fieldset {
    const lp_field *fields;
    size_t n;
};

/* Snapshot host members except "schema" and "workloads" (handled by hand). */
extern const lp_fieldset lp_codec_host_fields;
/* Workload members. */
extern const lp_fieldset lp_codec_workload_fields;
/* Request members. */
extern const lp_fieldset lp_codec_request_fields;

/* d is within f's range (min, or above it with LP_FF_MIN_OPEN, up to max). */
static inline int lp_field_in_range(const lp_field *f, double d)
{
    if ((f->flags & LP_FF_MIN_OPEN) ? d <= f->min : d < f->min)
        return 0;
    return d <= f->max;
}

#endif
